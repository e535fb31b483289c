//! Many environments under `/e/<id>`: own tokens and data, concurrency limits (429 +
//! Retry-After), latency, environments that are down, generated environments.

use std::time::{Duration, Instant};

use crate::client::*;

const SLO: &str = "/api/v2/slo/7d07efde-b714-3e6e-ad95-08490e2540c4";

async fn get_as(base: &str, target: &str, token: &str) -> Resp {
    send(
        base,
        "GET",
        target,
        &[("Authorization", &format!("Api-Token {token}"))],
        None,
    )
    .await
}

/// The example's data at the root plus listed and generated environments.
fn fleet(extra: &str) -> dtsim::Scenario {
    let mut v: serde_json::Value =
        serde_json::from_str(include_str!("../../scenarios/checkout-regression.json")).unwrap();
    let envs: serde_json::Value = serde_json::from_str(extra).unwrap();
    v["environments"] = envs;
    dtsim::scenario_from_json(&v.to_string()).unwrap()
}

#[tokio::test]
async fn each_environment_has_its_own_tokens_and_the_root_stays() {
    let sc = fleet(
        r#"{"list":[{"id":"eu","tokens":[{"token":"dt0c01.EU.T","scopes":["slo.read"]}]},
                    {"id":"us","tokens":[{"token":"dt0c01.US.T","scopes":["metrics.read"]}]}]}"#,
    );
    let sim = dtsim::Sim::start(sc).await.unwrap();
    let u = sim.url();
    // The root keeps its own token and data, as without environments.
    assert_eq!(get(&u, SLO).await.status, 200);
    let eu = format!("/e/eu{SLO}");
    assert_eq!(get_as(&u, &eu, "dt0c01.EU.T").await.status, 200);
    // Another environment's token, or the root's, is refused here.
    assert_eq!(get_as(&u, &eu, "dt0c01.US.T").await.status, 401);
    assert_eq!(get(&u, &eu).await.status, 401);
    // Scopes are per token: us may read metrics but not SLOs.
    assert_eq!(
        get_as(&u, &format!("/e/us{SLO}"), "dt0c01.US.T")
            .await
            .status,
        403
    );
    // An environment the scenario does not define.
    let r = get(&u, &format!("/e/nope{SLO}")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], 404);
    assert_eq!(sim.env_url("eu"), format!("{u}/e/eu"));
    assert_eq!(sim.env_stats("eu").unwrap().requests, 3);
    assert!(sim.env_stats("nope").is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn without_environments_any_env_path_is_the_root() {
    let sim = dtsim::Sim::start(example()).await.unwrap();
    let r = get(&sim.url(), &format!("/e/whatever{SLO}")).await;
    assert_eq!(r.status, 200);
    assert!(sim.env_stats("whatever").is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn own_data_per_environment() {
    let sc = fleet(
        r#"{"list":[{"id":"small","tokens":[{"token":"t1","scopes":["slo.read","entities.read"]}],
                     "data":{"services":[{"id":"SERVICE-1","name":"only"}],
                             "slos":[{"id":"s1","name":"mine","evaluated_percentage":97}]}}]}"#,
    );
    let sim = dtsim::Sim::start(sc).await.unwrap();
    let u = sim.url();
    let r = get_as(&u, "/e/small/api/v2/slo/s1", "t1").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["name"], "mine");
    // The root's SLO is not in this environment.
    assert_eq!(
        get_as(&u, &format!("/e/small{SLO}"), "t1").await.status,
        404
    );
    let r = get_as(
        &u,
        "/e/small/api/v2/entities?entitySelector=type(SERVICE)",
        "t1",
    )
    .await;
    assert_eq!(r.json()["totalCount"], 1, "{}", r.body);
    sim.shutdown().await;
}

#[tokio::test]
async fn events_are_per_environment() {
    let sc = fleet(r#"{"generate":{"count":3,"prefix":"t","token_prefix":"dt0c01.G."}}"#);
    let sim = dtsim::Sim::start(sc).await.unwrap();
    let u = sim.url();
    let body = r#"{"eventType":"CUSTOM_INFO","title":"only in t1"}"#;
    let r = send(
        &u,
        "POST",
        "/e/t1/api/v2/events/ingest",
        &[
            ("Authorization", "Api-Token dt0c01.G.t1"),
            ("Content-Type", "application/json"),
        ],
        Some(body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let sel = format!(
        "/api/v2/events?eventSelector={}",
        enc("eventType(\"CUSTOM_INFO\")")
    );
    let n = |r: Resp| r.json()["totalCount"].as_u64().unwrap();
    let before = n(get(&u, &sel).await);
    assert_eq!(
        n(get_as(&u, &format!("/e/t1{sel}"), "dt0c01.G.t1").await),
        before + 1
    );
    assert_eq!(
        n(get_as(&u, &format!("/e/t2{sel}"), "dt0c01.G.t2").await),
        before
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_concurrency_limit_answers_429_with_retry_after() {
    let sc = fleet(
        r#"{"list":[{"id":"small","tokens":[{"token":"t","scopes":["slo.read"]}],
                     "concurrency":2,"retry_after_s":3,"latency_ms":300}]}"#,
    );
    let sim = dtsim::Sim::start(sc).await.unwrap();
    let u = sim.url();
    let path = format!("/e/small{SLO}");
    let t0 = Instant::now();
    let all = futures_join(&u, &path, "t", 5).await;
    let mut statuses: Vec<u16> = all.iter().map(|r| r.status).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 200, 429, 429, 429]);
    let throttled = all.iter().find(|r| r.status == 429).unwrap();
    assert_eq!(throttled.header("retry-after"), Some("3"));
    assert_eq!(throttled.json()["error"]["code"], 429);
    // Every answer took the environment's latency.
    assert!(t0.elapsed() >= Duration::from_millis(300));
    let st = sim.env_stats("small").unwrap();
    assert_eq!((st.requests, st.throttled, st.peak_in_flight), (5, 3, 2));
    // Slots are given back: two more fit again.
    let again = futures_join(&u, &path, "t", 2).await;
    assert!(again.iter().all(|r| r.status == 200));
    assert_eq!(sim.fleet_stats().requests, 7);
    sim.shutdown().await;
}

async fn futures_join(u: &str, path: &str, token: &str, n: usize) -> Vec<Resp> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (u, path, token) = (u.to_string(), path.to_string(), token.to_string());
        tasks.push(tokio::spawn(async move { get_as(&u, &path, &token).await }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_down_environment_answers_503() {
    let sc = fleet(
        r#"{"list":[{"id":"gone","tokens":[{"token":"t","scopes":["slo.read"]}],"down":true}]}"#,
    );
    let sim = dtsim::Sim::start(sc).await.unwrap();
    let r = get_as(&sim.url(), &format!("/e/gone{SLO}"), "t").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["error"]["code"], 503);
    assert_eq!(sim.requests()[0].status, 503);
    sim.shutdown().await;
}

#[tokio::test]
async fn ten_thousand_generated_environments_cost_only_what_is_used() {
    let sc = fleet(
        r#"{"generate":{"count":10000,"prefix":"env","token_prefix":"dt0c01.FLEET.","latency_ms":20,"concurrency":4}}"#,
    );
    let sim = dtsim::Sim::start(sc).await.unwrap();
    let u = sim.url();
    for id in ["env00001", "env05000", "env10000"] {
        let r = get_as(&u, &format!("/e/{id}{SLO}"), &format!("dt0c01.FLEET.{id}")).await;
        assert_eq!(r.status, 200, "{id}: {}", r.body);
    }
    // Out of range, wrong width, another environment's token.
    assert_eq!(
        get_as(&u, &format!("/e/env10001{SLO}"), "dt0c01.FLEET.env10001")
            .await
            .status,
        404
    );
    assert_eq!(
        get_as(&u, &format!("/e/env1{SLO}"), "dt0c01.FLEET.env1")
            .await
            .status,
        404
    );
    assert_eq!(
        get_as(&u, &format!("/e/env00002{SLO}"), "dt0c01.FLEET.env00001")
            .await
            .status,
        401
    );
    assert_eq!(sim.env_stats("env00002").unwrap().requests, 1);
    assert_eq!(sim.env_stats("env00003"), Some(dtsim::EnvStats::default()));
    sim.shutdown().await;
}

#[test]
fn invalid_environments_are_refused() {
    for bad in [
        r#"{"environments":{"list":[{"id":"a"},{"id":"a"}]}}"#,
        r#"{"environments":{"list":[{"id":"a","data":{"environments":{"list":[{"id":"b"}]}}}]}}"#,
        r#"{"environments":{"list":[{"id":"a","data":{"regressions":[{"service":"x","from":0}]}}]}}"#,
        r#"{"environments":{"generate":{"count":2,"concurrency":0}}}"#,
    ] {
        let e = dtsim::scenario_from_json(bad).unwrap_err();
        assert!(e.contains("environments"), "{bad}: {e}");
    }
}
