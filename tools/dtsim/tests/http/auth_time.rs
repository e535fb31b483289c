//! Authentication (§1) and time parameters (§2).

use serde_json::json;

use crate::client::*;

const Q: &str = "/api/v2/metrics/query?metricSelector=builtin:service.response.time&resolution=Inf";

#[tokio::test]
async fn all_token_forms_are_accepted() {
    let sim = dtsim::Sim::start(example()).await.unwrap();
    let u = sim.url();
    for scheme in ["Api-Token", "api-token", "API-TOKEN"] {
        let r = send(
            &u,
            "GET",
            Q,
            &[("Authorization", &format!("{scheme} {TOKEN}"))],
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{scheme}: {}", r.body);
    }
    // Header name in another case (HTTP headers are case-insensitive anyway).
    let r = send(
        &u,
        "GET",
        Q,
        &[("AUTHORIZATION", &format!("Api-Token {TOKEN}"))],
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    for name in ["api-token", "Api-Token", "API-TOKEN"] {
        let r = send(&u, "GET", &format!("{Q}&{name}={TOKEN}"), &[], None).await;
        assert_eq!(r.status, 200, "{name}: {}", r.body);
    }
    // Managed prefix.
    let r = send(
        &u,
        "GET",
        &format!("/e/abc123{Q}&Api-Token={TOKEN}"),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    // Platform prefix with a Bearer platform token.
    let r = send(
        &u,
        "GET",
        &format!("/platform/classic/environment-api/v2{}", &Q[7..]),
        &[("Authorization", &format!("Bearer {PLATFORM}"))],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["result"][0]["metricId"],
        "builtin:service.response.time"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn auth_failures_have_the_documented_texts() {
    let sim = dtsim::Sim::start(example()).await.unwrap();
    let u = sim.url();
    let r = send(&u, "GET", Q, &[], None).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        json!({"error": {"code": 401, "message": "Missing authorization parameter."}})
    );
    let r = send(
        &u,
        "GET",
        Q,
        &[("Authorization", "Api-Token dt0c01.WRONG")],
        None,
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["message"], "Token Authentication failed");
    // A platform token on a classic path, a classic token on a platform path.
    let r = send(
        &u,
        "GET",
        Q,
        &[("Authorization", &format!("Bearer {PLATFORM}"))],
        None,
    )
    .await;
    assert_eq!(r.status, 401);
    let r = send(
        &u,
        "GET",
        "/platform/classic/environment-api/v2/problems",
        &[("Authorization", &format!("Bearer {TOKEN}"))],
        None,
    )
    .await;
    assert_eq!(r.status, 401);
    // Missing scope: 403 with the scope and its display name.
    let r = send(
        &u,
        "GET",
        "/api/v2/problems",
        &[("Authorization", "Api-Token dt0c01.METRICSONLY.TOKEN")],
        None,
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json(),
        json!({"error": {"code": 403, "message": "Token is missing required scope. Use one of: problems.read (Read problems)"}})
    );
    let r = send(
        &u,
        "POST",
        "/api/v2/events/ingest",
        &[("Authorization", "Api-Token dt0c01.METRICSONLY.TOKEN")],
        Some("{}"),
    )
    .await;
    assert_eq!(
        r.json()["error"]["message"],
        "Token is missing required scope. Use one of: events.ingest (Ingest events)"
    );
    // Platform: missingScopes in details.
    let r = send(
        &u,
        "GET",
        "/platform/classic/environment-api/v2/securityProblems",
        &[("Authorization", &format!("Bearer {PLATFORM}"))],
        None,
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["error"]["details"]["missingScopes"],
        json!(["environment-api:security-problems:read"])
    );
    // Unknown paths: 404 with the envelope.
    let r = get(&u, "/api/v2/nothing").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn oauth_client_credentials_issue_a_bearer_token() {
    let sim = dtsim::Sim::start(example()).await.unwrap();
    let u = sim.url();
    let form = "grant_type=client_credentials&client_id=dt0s02.SIMCLIENT&client_secret=dt0s02.SIMCLIENT.SECRET&scope=storage%3Abuckets%3Aread+environment-api%3Ametrics%3Aread";
    let r = send(
        &u,
        "POST",
        "/sso/oauth2/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(form),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(
        v["scope"],
        "storage:buckets:read environment-api:metrics:read"
    );
    let tok = v["access_token"].as_str().unwrap().to_string();
    let r = send(
        &u,
        "GET",
        "/platform/classic/environment-api/v2/metrics/query?metricSelector=builtin:service.response.time",
        &[("Authorization", &format!("Bearer {tok}"))],
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    let bad = "grant_type=client_credentials&client_id=dt0s02.SIMCLIENT&client_secret=nope";
    let r = send(&u, "POST", "/sso/oauth2/token", &[], Some(bad)).await;
    assert_eq!(r.status, 401);
    sim.shutdown().await;
}

#[tokio::test]
async fn time_formats_defaults_and_errors() {
    let sim = dtsim::Sim::start(example()).await.unwrap();
    let u = sim.url();
    let base = "/api/v2/metrics/query?metricSelector=builtin:service.response.time&resolution=Inf";
    let to_of = |v: serde_json::Value| v["result"][0]["data"][0]["timestamps"][0].as_i64().unwrap();
    const NOW: i64 = 1_794_916_800_000;
    // Default to = now; Inf is stamped `to`.
    assert_eq!(to_of(get(&u, base).await.json()), NOW);
    for (to, want) in [
        ("1794913200000", NOW - 3_600_000),
        ("2026-11-17T11:00:00Z", NOW - 3_600_000),
        ("2026-11-17T12:00:00%2B01:00", NOW - 3_600_000),
        ("2026-11-17T12:00:00+01:00", NOW - 3_600_000),
        ("2026-11-17%2011:00", NOW - 3_600_000),
        ("2026-11-17T11:00:00.000", NOW - 3_600_000),
        ("now-1h", NOW - 3_600_000),
        ("now-1h/h", NOW - 3_600_000),
    ] {
        let r = get(&u, &format!("{base}&from=now-1d&to={to}")).await;
        assert_eq!(r.status, 200, "{to}: {}", r.body);
        assert_eq!(to_of(r.json()), want, "{to}");
    }
    let r = get(&u, &format!("{base}&from=now&to=now-1h")).await;
    assert_eq!(r.status, 400);
    let v = r.json();
    assert_eq!(v["error"]["code"], 400);
    assert_eq!(
        v["error"]["constraintViolations"][0]["parameterLocation"],
        "QUERY"
    );
    assert_eq!(
        get(&u, &format!("{base}&from=now-1h&to=now-1h"))
            .await
            .status,
        400
    );
    assert_eq!(get(&u, &format!("{base}&from=yesterday")).await.status, 400);
    assert_eq!(get(&u, &format!("{base}&from=now-3x")).await.status, 400);
    // Unknown parameters are ignored (slo-generator sends end, aggregation, includeData).
    let r = get(
        &u,
        &format!("{base}&end=1&aggregation=SUM&includeData=True"),
    )
    .await;
    assert_eq!(r.status, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn requests_are_recorded_with_headers_query_and_status() {
    let sim = dtsim::Sim::start(example()).await.unwrap();
    let u = sim.url();
    get(
        &u,
        "/api/v2/slo/7d07efde-b714-3e6e-ad95-08490e2540c4?timeFrame=GTF",
    )
    .await;
    send(&u, "GET", "/api/v2/slo", &[], None).await;
    let reqs = sim.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(
        reqs[0].path,
        "/api/v2/slo/7d07efde-b714-3e6e-ad95-08490e2540c4"
    );
    assert_eq!(reqs[0].query.as_deref(), Some("timeFrame=GTF"));
    assert_eq!(
        reqs[0].header("authorization"),
        Some(format!("Api-Token {TOKEN}").as_str())
    );
    assert!(reqs[0].headers.iter().all(|(k, _)| *k == k.to_lowercase()));
    assert_eq!(reqs[0].status, 200);
    assert_eq!(reqs[0].param("timeFrame").as_deref(), Some("GTF"));
    assert_eq!(reqs[1].status, 401);
    sim.clear_requests();
    assert!(sim.requests().is_empty());
    sim.shutdown().await;
}
