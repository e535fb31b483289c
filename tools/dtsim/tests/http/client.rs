//! A minimal HTTP/1.1 client (async and blocking) for the simulator tests: no extra crates.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const TOKEN: &str = "dt0c01.SIMULATOR.TOKEN";
pub const PLATFORM: &str = "dt0s16.PLATFORM.TOKEN";

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn host_of(base: &str) -> String {
    base.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

fn build(
    base: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Vec<u8> {
    let mut s = format!(
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        host_of(base)
    );
    for (k, v) in headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() || method == "POST" {
        s.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    s.push_str("\r\n");
    s.push_str(body);
    s.into_bytes()
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&b[..i]).unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + size]);
        b = &b[i + 2 + size + 2..];
    }
    out
}

fn parse(raw: &[u8]) -> Resp {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// Async request; `target` is the path with query.
pub async fn send(
    base: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Resp {
    send_timeout(base, method, target, headers, body, Duration::from_secs(20))
        .await
        .expect("request timed out")
}

pub async fn send_timeout(
    base: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    limit: Duration,
) -> Option<Resp> {
    let req = build(base, method, target, headers, body);
    let fut = async {
        let mut s = tokio::net::TcpStream::connect(host_of(base)).await.unwrap();
        s.write_all(&req).await.unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.unwrap();
        parse(&buf)
    };
    tokio::time::timeout(limit, fut).await.ok()
}

/// GET with the classic token header.
pub async fn get(base: &str, target: &str) -> Resp {
    send(
        base,
        "GET",
        target,
        &[("Authorization", &format!("Api-Token {TOKEN}"))],
        None,
    )
    .await
}

pub async fn post_json(base: &str, target: &str, body: &str) -> Resp {
    send(
        base,
        "POST",
        target,
        &[
            ("Authorization", &format!("Api-Token {TOKEN}")),
            ("Content-Type", "application/json"),
        ],
        Some(body),
    )
    .await
}

pub async fn dql(base: &str, body: &str) -> Resp {
    send(
        base,
        "POST",
        "/platform/storage/query/v1/query:execute",
        &[
            ("Authorization", &format!("Bearer {PLATFORM}")),
            ("Content-Type", "application/json"),
        ],
        Some(body),
    )
    .await
}

/// Blocking request (for `BlockingSim` and the binary).
pub fn send_blocking(
    base: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Resp {
    let mut s = std::net::TcpStream::connect(host_of(base)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(&build(base, method, target, headers, body))
        .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    parse(&buf)
}

pub fn example() -> dtsim::Scenario {
    dtsim::scenario_from_json(include_str!("../../scenarios/checkout-regression.json")).unwrap()
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    dtsim::common::percent_encode(s)
}
