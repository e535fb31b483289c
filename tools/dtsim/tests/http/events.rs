//! Event ingest (§5) and read-back (§6).

use serde_json::{Value, json};

use crate::client::*;

const NOW: i64 = 1_794_916_800_000;

fn deployment(selector: &str) -> String {
    json!({
        "eventType": "CUSTOM_DEPLOYMENT",
        "title": "checkout 1.4.2",
        "entitySelector": selector,
        "timeout": 15,
        "startTime": NOW - 60_000,
        "properties": {
            "dt.event.deployment.name": "checkout 1.4.2",
            "dt.event.deployment.version": "1.4.2",
            "dt.event.deployment.release_stage": "production",
            "dt.event.deployment.ci_back_link": "https://ci/123",
            "dt.event.is_rootcause_relevant": true,
            "gitcommit": "e5a6bac",
            "build": 123
        },
        "someUnknownField": {"ignored": true}
    })
    .to_string()
}

#[tokio::test]
async fn ingest_and_read_back() {
    let sim = dtsim::Sim::start(example()).await.unwrap();
    let u = sim.url();
    let r = post_json(
        &u,
        "/api/v2/events/ingest",
        &deployment("type(SERVICE),tag(\"app:checkout\"),mzName(\"prod\")"),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let v = r.json();
    assert_eq!(v["reportCount"], 1);
    let res = v["eventIngestResults"].as_array().unwrap();
    assert_eq!(res.len(), 1);
    assert_eq!(res[0]["status"], "OK");
    let corr = res[0]["correlationId"].as_str().unwrap().to_string();
    assert_eq!(corr.len(), 16);
    // Readable at once.
    let sel =
        enc("eventType(\"CUSTOM_DEPLOYMENT\"),property.dt.event.deployment.version(\"1.4.2\")");
    let r = get(
        &u,
        &format!("/api/v2/events?eventSelector={sel}&from=now-1h"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["totalCount"], 1);
    assert_eq!(v["nextPageKey"], Value::Null);
    let e = &v["events"][0];
    assert_eq!(e["eventType"], "CUSTOM_DEPLOYMENT");
    assert_eq!(e["title"], "checkout 1.4.2");
    assert_eq!(e["startTime"], NOW - 60_000);
    assert_eq!(e["endTime"], NOW - 60_000 + 15 * 60_000);
    assert_eq!(e["status"], "OPEN");
    assert_eq!(e["correlationId"], corr.as_str());
    assert_eq!(
        e["entityId"],
        json!({"entityId": {"id": "SERVICE-0000000000000001", "type": "SERVICE"}, "name": "checkout"})
    );
    assert!(
        e["eventId"]
            .as_str()
            .unwrap()
            .ends_with(&format!("_{}", NOW - 60_000))
    );
    let props = e["properties"].as_array().unwrap();
    assert!(props.contains(&json!({"key": "dt.event.is_rootcause_relevant", "value": "true"})));
    assert!(props.contains(&json!({"key": "build", "value": "123"})));
    assert!(props.contains(&json!({"key": "dt.event.deployment.version", "value": "1.4.2"})));
    // By id, by correlation id, by entity.
    let id = e["eventId"].as_str().unwrap();
    let r = get(&u, &format!("/api/v2/events/{id}")).await;
    assert_eq!(r.json()["eventId"], id);
    assert_eq!(get(&u, "/api/v2/events/123_456").await.status, 404);
    let r = get(
        &u,
        &format!(
            "/api/v2/events?eventSelector={}&from=now-1h",
            enc(&format!("correlationId(\"{corr}\")"))
        ),
    )
    .await;
    assert_eq!(r.json()["totalCount"], 1);
    let r = get(
        &u,
        &format!(
            "/api/v2/events?entitySelector={}&from=now-1h",
            enc("type(SERVICE),entityName.equals(\"cart\")")
        ),
    )
    .await;
    assert_eq!(r.json()["totalCount"], 0);
    // The scenario's pre-existing event (11:00 - 2h45m ago? no: 09:00) is outside now-1h but inside now-6h.
    let r = get(
        &u,
        &format!(
            "/api/v2/events?eventSelector={}&from=now-6h",
            enc("eventType(\"CUSTOM_DEPLOYMENT\")")
        ),
    )
    .await;
    assert_eq!(r.json()["totalCount"], 2);
    // The handle sees only API-ingested events.
    let evs = sim.events();
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["title"], "checkout 1.4.2");
    assert_eq!(evs[0]["properties"].as_array().unwrap().len(), 7);
    sim.shutdown().await;
}

#[tokio::test]
async fn per_result_statuses_and_no_match() {
    let sim = dtsim::Sim::start(example()).await.unwrap();
    let u = sim.url();
    // Two services match: two results, one correlation id.
    let r = post_json(
        &u,
        "/api/v2/events/ingest",
        &deployment("type(SERVICE),tag(\"keptn_service:checkout\")"),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["reportCount"], 2);
    // Nothing matches: still 201.
    let r = post_json(
        &u,
        "/api/v2/events/ingest",
        &deployment("type(SERVICE),tag(\"app:nothing\")"),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        r.json(),
        json!({"reportCount": 0, "eventIngestResults": []})
    );
    // No selector: the environment.
    let r = post_json(
        &u,
        "/api/v2/events/ingest",
        r#"{"eventType":"CUSTOM_INFO","title":"hello"}"#,
    )
    .await;
    assert_eq!(r.json()["reportCount"], 1);
    // A reserved property: INVALID_METADATA, still 201, not stored.
    let body = json!({"eventType": "CUSTOM_INFO", "title": "x", "entitySelector": "type(SERVICE),entityName.equals(\"cart\")",
                      "properties": {"dt.reserved": "x"}}).to_string();
    let r = post_json(&u, "/api/v2/events/ingest", &body).await;
    assert_eq!(r.status, 201);
    assert_eq!(
        r.json()["eventIngestResults"][0]["status"],
        "INVALID_METADATA"
    );
    // Too old for a problem-opening event: INVALID_TIMESTAMPS.
    let body = json!({"eventType": "ERROR_EVENT", "title": "x", "startTime": NOW - 7 * 3_600_000,
                      "entitySelector": "type(SERVICE),entityName.equals(\"cart\")"})
    .to_string();
    let r = post_json(&u, "/api/v2/events/ingest", &body).await;
    assert_eq!(r.status, 201);
    assert_eq!(
        r.json()["eventIngestResults"][0]["status"],
        "INVALID_TIMESTAMPS"
    );
    // Invalid bodies: 400.
    for bad in [
        "not json",
        "[]",
        r#"{"title":"x"}"#,
        r#"{"eventType":"DEPLOYMENT","title":"x"}"#,
        r#"{"eventType":"CUSTOM_INFO"}"#,
        r#"{"eventType":"CUSTOM_INFO","title":"x","properties":{"a":[1]}}"#,
    ] {
        let r = post_json(&u, "/api/v2/events/ingest", bad).await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.json()["error"]["code"], 400);
    }
    assert_eq!(sim.events().len(), 3);
    // Nothing answered 207.
    assert!(sim.requests().iter().all(|r| r.status != 207));
    sim.shutdown().await;
}

#[tokio::test]
async fn paging_with_next_page_key() {
    let sim = dtsim::Sim::start(example()).await.unwrap();
    let u = sim.url();
    for i in 0..5 {
        let body = json!({"eventType": "CUSTOM_ANNOTATION", "title": format!("note {i}"), "startTime": NOW - 60_000 * (i + 1)}).to_string();
        assert_eq!(
            post_json(&u, "/api/v2/events/ingest", &body).await.status,
            201
        );
    }
    let sel = enc("eventType(\"CUSTOM_ANNOTATION\")");
    let v = get(
        &u,
        &format!("/api/v2/events?eventSelector={sel}&pageSize=2"),
    )
    .await
    .json();
    assert_eq!(v["totalCount"], 5);
    assert_eq!(v["pageSize"], 2);
    let mut titles: Vec<String> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap().to_string())
        .collect();
    let mut key = v["nextPageKey"].as_str().unwrap().to_string();
    // Another parameter with nextPageKey: 400.
    assert_eq!(
        get(&u, &format!("/api/v2/events?nextPageKey={key}&pageSize=2"))
            .await
            .status,
        400
    );
    loop {
        let v = get(&u, &format!("/api/v2/events?nextPageKey={key}"))
            .await
            .json();
        titles.extend(
            v["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["title"].as_str().unwrap().to_string()),
        );
        match v["nextPageKey"].as_str() {
            Some(k) => key = k.to_string(),
            None => break,
        }
    }
    assert_eq!(titles, ["note 0", "note 1", "note 2", "note 3", "note 4"]);
    assert_eq!(
        get(&u, "/api/v2/events?nextPageKey=garbage").await.status,
        400
    );
    assert_eq!(get(&u, "/api/v2/events?pageSize=1001").await.status, 400);
    assert_eq!(
        get(
            &u,
            &format!(
                "/api/v2/events?eventSelector={}",
                enc("eventType(\"A\",\"B\")")
            )
        )
        .await
        .status,
        400
    );
    assert_eq!(
        get(
            &u,
            &format!("/api/v2/events?eventSelector={}", enc("bogus(\"A\")"))
        )
        .await
        .status,
        400
    );
    // status("OPEN") / status("CLOSED") with a later now.
    sim.set_now(Some(NOW + 3_600_000));
    let v = get(
        &u,
        &format!(
            "/api/v2/events?eventSelector={}&from=now-3h",
            enc("status(\"CLOSED\"),eventType(\"CUSTOM_ANNOTATION\")")
        ),
    )
    .await
    .json();
    assert_eq!(v["totalCount"], 5);
    sim.shutdown().await;
}
