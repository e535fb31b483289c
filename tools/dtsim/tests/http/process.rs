//! The `dtsim` binary and the blocking handle.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::client::*;

#[test]
fn binary_prints_the_url_serves_and_stops_by_itself() {
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/checkout-regression.json"
    );
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dtsim"))
        .args(["--scenario", scenario, "--port", "0", "--max-seconds", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let r = send_blocking(
        &url,
        "GET",
        &format!("/api/v2/slo?Api-Token={TOKEN}"),
        &[],
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["totalCount"], 3);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "dtsim did not stop after --max-seconds"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn binary_rejects_bad_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_dtsim"))
        .args(["--port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_dtsim"))
        .args(["--scenario", "x.json", "--host", "0.0.0.0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}

#[test]
fn blocking_sim_serves_and_stops_on_drop() {
    let sim = dtsim::start_blocking(example()).unwrap();
    let url = sim.url();
    let r = send_blocking(
        &url,
        "GET",
        "/api/v2/problems",
        &[("Authorization", &format!("Api-Token {TOKEN}"))],
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["totalCount"], 2);
    let body = r#"{"eventType":"CUSTOM_INFO","title":"from a sync test"}"#;
    let r = send_blocking(
        &url,
        "POST",
        "/api/v2/events/ingest",
        &[
            ("Authorization", &format!("Api-Token {TOKEN}")),
            ("Content-Type", "application/json"),
        ],
        Some(body),
    );
    assert_eq!(r.status, 201);
    assert_eq!(sim.events().len(), 1);
    assert_eq!(sim.requests().len(), 2);
    sim.set_faults(dtsim::Faults {
        rate_limit_every: 1,
        ..dtsim::Faults::default()
    });
    let r = send_blocking(&url, "GET", "/api/v2/problems", &[], None);
    assert_eq!(r.status, 429);
    let addr = sim.addr();
    drop(sim);
    assert!(
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err(),
        "stopped listening"
    );
}
