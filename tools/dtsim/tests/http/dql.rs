//! DQL query API (§10): sync, async + poll, 410, cancel, errors.

use serde_json::json;

use crate::client::*;

const PROBLEMS: &str = r#"fetch events, from:now()-24h | filter event.kind == "DAVIS_PROBLEM" | filter event.status == "ACTIVE" | fields event.id, display_id, event.name, event.category"#;

fn body(query: &str, timeout: u64) -> String {
    json!({"query": query, "requestTimeoutMilliseconds": timeout, "maxResultRecords": 1000, "timezone": "UTC"}).to_string()
}

async fn poll(u: &str, token: &str) -> Resp {
    send(
        u,
        "GET",
        &format!("/platform/storage/query/v1/query:poll?request-token={token}&request-timeout-milliseconds=200"),
        &[("Authorization", &format!("Bearer {PLATFORM}"))],
        None,
    )
    .await
}

#[tokio::test]
async fn sync_query_succeeds_with_longs_as_strings() {
    let sim = dtsim::Sim::start(example()).await.unwrap();
    let u = sim.url();
    let r = dql(&u, &body(PROBLEMS, 1000)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["state"], "SUCCEEDED");
    assert_eq!(v["progress"], 100);
    let recs = v["result"]["records"].as_array().unwrap();
    let ids: Vec<&str> = recs
        .iter()
        .map(|r| r["display_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["P-1", "P-2"]);
    assert_eq!(recs[1]["event.category"], "SLOWDOWN");
    assert_eq!(v["result"]["types"][0]["indexRange"], json!([0, 1]));
    assert_eq!(v["result"]["metadata"]["grail"]["query"], PROBLEMS);
    // Open problems: no CLOSED record for the display id.
    let q = r#"fetch events, from:now()-24h | filter event.kind == "DAVIS_PROBLEM" and event.status_transition == "CLOSED" | fields display_id, timestamp, event.end"#;
    let v = dql(&u, &body(q, 1000)).await.json();
    assert_eq!(
        v["result"]["records"],
        json!([{"display_id": "P-2", "timestamp": "2026-11-17T10:45:00.000000000Z", "event.end": "2026-11-17T10:45:00.000000000Z"}])
    );
    // summarize: longs as strings.
    let v = dql(
        &u,
        &body(
            "fetch events, from:now()-24h | summarize count(), by:{event.kind}",
            1000,
        ),
    )
    .await
    .json();
    assert_eq!(
        v["result"]["records"],
        json!([{"event.kind": "DAVIS_PROBLEM", "count()": "3"}, {"event.kind": "DAVIS_EVENT", "count()": "1"}])
    );
    assert_eq!(
        v["result"]["types"][0]["mappings"]["count()"]["type"],
        "long"
    );
    // Canned: exact query (whitespace-insensitive), integers become long strings.
    let v = dql(&u, &body("fetch logs |  summarize count()", 1000))
        .await
        .json();
    assert_eq!(v["result"]["records"], json!([{"count()": "1234"}]));
    // Ingested events show up.
    post_json(&u, "/api/v2/events/ingest", r#"{"eventType":"CUSTOM_DEPLOYMENT","title":"d","entitySelector":"type(SERVICE),entityName.equals(\"cart\")","properties":{"version":"2"}}"#).await;
    let q = r#"fetch events | filter event.type == "CUSTOM_DEPLOYMENT" and dt.entity.service == "SERVICE-0000000000000002" | fields event.name, version"#;
    let v = dql(&u, &body(q, 1000)).await.json();
    assert_eq!(
        v["result"]["records"],
        json!([{"event.name": "d", "version": "2"}])
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn async_queries_poll_and_410() {
    let mut sc = example();
    sc.faults.dql_async_every = 2;
    sc.faults.dql_running_polls = 1;
    let sim = dtsim::Sim::start(sc).await.unwrap();
    let u = sim.url();
    assert_eq!(
        dql(&u, &body(PROBLEMS, 1000)).await.status,
        200,
        "1st: sync"
    );
    let r = dql(&u, &body(PROBLEMS, 1000)).await;
    assert_eq!(r.status, 202, "2nd: async");
    let v = r.json();
    assert_eq!(v["state"], "RUNNING");
    let token = v["requestToken"].as_str().unwrap().to_string();
    assert!(v["ttlSeconds"].as_u64().unwrap() > 0);
    let r = poll(&u, &token).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["state"], "RUNNING");
    assert!(r.json().get("result").is_none());
    let r = poll(&u, &token).await;
    assert_eq!(r.json()["state"], "SUCCEEDED");
    assert_eq!(r.json()["result"]["records"].as_array().unwrap().len(), 2);
    // The result is gone after it was delivered; unknown tokens too.
    let r = poll(&u, &token).await;
    assert_eq!(r.status, 410);
    assert_eq!(r.json()["error"]["code"], 410);
    assert_eq!(poll(&u, "nope").await.status, 410);
    // Cancel a running query.
    assert_eq!(dql(&u, &body(PROBLEMS, 1000)).await.status, 200);
    let token = dql(&u, &body(PROBLEMS, 1000)).await.json()["requestToken"]
        .as_str()
        .unwrap()
        .to_string();
    let cancel = format!("/platform/storage/query/v1/query:cancel?request-token={token}");
    let auth = format!("Bearer {PLATFORM}");
    let r = send(&u, "POST", &cancel, &[("Authorization", &auth)], None).await;
    assert_eq!(r.status, 202);
    assert_eq!(
        send(&u, "POST", &cancel, &[("Authorization", &auth)], None)
            .await
            .status,
        410
    );
    assert_eq!(poll(&u, &token).await.status, 410);
    // set_faults at run time switches it off.
    sim.set_faults(dtsim::Faults::default());
    for _ in 0..3 {
        assert_eq!(dql(&u, &body(PROBLEMS, 1000)).await.status, 200);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn slow_canned_query_goes_async_after_the_request_timeout() {
    let mut sc = example();
    sc.dql.push(dtsim::scenario::DqlCanned {
        query: "fetch logs | limit 1".into(),
        records: vec![json!({"content": "x", "timestamp": "2026-11-17T11:00:00Z"})],
        types: None,
        duration_ms: 300,
    });
    let sim = dtsim::Sim::start(sc).await.unwrap();
    let u = sim.url();
    let r = dql(&u, &body("fetch logs | limit 1", 50)).await;
    assert_eq!(r.status, 202);
    let token = r.json()["requestToken"].as_str().unwrap().to_string();
    let mut state = String::new();
    for _ in 0..10 {
        let v = poll(&u, &token).await.json();
        state = v["state"].as_str().unwrap().to_string();
        if state == "SUCCEEDED" {
            assert_eq!(
                v["result"]["records"][0]["timestamp"],
                "2026-11-17T11:00:00.000000000Z"
            );
            assert_eq!(
                v["result"]["types"][0]["mappings"]["timestamp"]["type"],
                "timestamp"
            );
            break;
        }
    }
    assert_eq!(state, "SUCCEEDED");
    // With a longer timeout the same query answers 200 directly.
    assert_eq!(
        dql(&u, &body("fetch logs | limit 1", 2000)).await.status,
        200
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn dql_errors() {
    let sim = dtsim::Sim::start(example()).await.unwrap();
    let u = sim.url();
    let r = dql(&u, &body("fetch events | makeTimeseries count()", 1000)).await;
    assert_eq!(r.status, 400);
    let v = r.json();
    assert_eq!(v["error"]["code"], 400);
    assert_eq!(v["error"]["message"], "PARSE_ERROR");
    assert_eq!(v["error"]["details"]["errorType"], "PARSE_ERROR");
    assert_eq!(
        v["error"]["details"]["syntaxErrorPosition"]["start"],
        json!({"line": 1, "column": 16})
    );
    assert_eq!(dql(&u, r#"{"nope": 1}"#).await.status, 400);
    assert_eq!(dql(&u, "not json").await.status, 400);
    // Scopes: spans are not granted to the platform token.
    let r = dql(&u, &body("fetch spans", 1000)).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["error"]["details"]["missingScopes"],
        json!(["storage:spans:read"])
    );
    // Classic tokens do not work on DQL; missing token.
    let path = "/platform/storage/query/v1/query:execute";
    let r = send(
        &u,
        "POST",
        path,
        &[("Authorization", &format!("Api-Token {TOKEN}"))],
        Some(&body("fetch logs", 100)),
    )
    .await;
    assert_eq!(r.status, 401);
    let r = send(&u, "POST", path, &[], Some(&body("fetch logs", 100))).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json()["error"]["message"],
        "Missing authorization parameter."
    );
    // Percent-encoded colon in the path.
    let r = send(
        &u,
        "POST",
        "/platform/storage/query/v1/query%3Aexecute",
        &[("Authorization", &format!("Bearer {PLATFORM}"))],
        Some(&body("fetch logs", 100)),
    )
    .await;
    assert_eq!(r.status, 200);
    sim.shutdown().await;
}
