//! Fault injection: 429 + Retry-After, errors, malformed bodies, held responses, latency,
//! per-path failures, run-time changes.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::client::*;

const SLO: &str = "/api/v2/slo/7d07efde-b714-3e6e-ad95-08490e2540c4";

#[tokio::test]
async fn rate_limit_every_nth_request() {
    let mut sc = example();
    sc.faults.rate_limit_every = 2;
    sc.faults.retry_after_s = 3;
    let sim = dtsim::Sim::start(sc).await.unwrap();
    let u = sim.url();
    let r1 = get(&u, SLO).await;
    let r2 = get(&u, SLO).await;
    let r3 = get(&u, SLO).await;
    assert_eq!((r1.status, r2.status, r3.status), (200, 429, 200));
    assert_eq!(r2.header("retry-after"), Some("3"));
    assert_eq!(
        r2.json(),
        json!({"error": {"code": 429, "message": "Too many requests"}})
    );
    assert!(
        r2.headers
            .iter()
            .all(|(k, _)| !k.starts_with("x-ratelimit"))
    );
    // Platform paths carry the gateway header and retryAfterSeconds.
    let r = send(
        &u,
        "GET",
        "/platform/classic/environment-api/v2/slo",
        &[("Authorization", &format!("Bearer {PLATFORM}"))],
        None,
    )
    .await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("dynatrace-response-source"), Some("API Gateway"));
    assert_eq!(r.json()["error"]["retryAfterSeconds"], 3);
    let statuses: Vec<u16> = sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 429, 200, 429]);
    sim.shutdown().await;
}

#[tokio::test]
async fn error_rate_and_malformed_and_fail_paths() {
    let sim = dtsim::Sim::start(example()).await.unwrap();
    let u = sim.url();
    sim.set_faults(dtsim::Faults {
        error_rate: 1.0,
        ..dtsim::Faults::default()
    });
    let r = get(&u, SLO).await;
    assert_eq!(r.status, 503);
    assert_eq!(
        r.json(),
        json!({"error": {"code": 503, "message": "Service Unavailable"}})
    );
    sim.set_faults(dtsim::Faults {
        error_rate: 1.0,
        error_status: 500,
        ..dtsim::Faults::default()
    });
    assert_eq!(get(&u, SLO).await.json()["error"]["code"], 500);
    sim.set_faults(dtsim::Faults {
        malformed_rate: 1.0,
        ..dtsim::Faults::default()
    });
    let r = get(&u, SLO).await;
    assert_eq!(r.status, 200);
    assert!(
        serde_json::from_str::<serde_json::Value>(&r.body).is_err(),
        "truncated: {}",
        r.body
    );
    assert!(r.body.starts_with("{\"id\""));
    // Partial rates are deterministic with the seed.
    let f = dtsim::Faults {
        error_rate: 0.5,
        seed: 7,
        ..dtsim::Faults::default()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        sim.set_faults(f.clone());
        let mut s = Vec::new();
        for _ in 0..12 {
            s.push(get(&u, SLO).await.status);
        }
        runs.push(s);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&200) && runs[0].contains(&503),
        "{:?}",
        runs[0]
    );
    // fail_paths: prefix match on the canonical path, limited times.
    sim.set_faults(dtsim::Faults {
        fail_paths: vec![dtsim::FailPath {
            prefix: "/api/v2/slo".into(),
            status: 500,
            times: Some(2),
            method: None,
            query: None,
        }],
        ..dtsim::Faults::default()
    });
    assert_eq!(get(&u, "/api/v2/problems").await.status, 200);
    assert_eq!(get(&u, &format!("/e/env1{SLO}")).await.status, 500);
    assert_eq!(get(&u, SLO).await.status, 500);
    assert_eq!(get(&u, SLO).await.status, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn latency_and_held_responses() {
    let mut sc = example();
    sc.faults.latency_ms = 150;
    let sim = dtsim::Sim::start(sc).await.unwrap();
    let u = sim.url();
    let t = Instant::now();
    assert_eq!(get(&u, SLO).await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(150));
    sim.set_faults(dtsim::Faults {
        timeout_rate: 1.0,
        ..dtsim::Faults::default()
    });
    let auth = format!("Api-Token {TOKEN}");
    let t = Instant::now();
    let r = send_timeout(
        &u,
        "GET",
        SLO,
        &[("Authorization", &auth)],
        None,
        Duration::from_millis(300),
    )
    .await;
    assert!(r.is_none(), "held for 30 s");
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(
        sim.requests().last().unwrap().status,
        200,
        "recorded with the status it will send"
    );
    // Shutting down releases held responses at once.
    let t = Instant::now();
    sim.shutdown().await;
    assert!(t.elapsed() < Duration::from_secs(5));
}
