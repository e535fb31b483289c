//! SLOs (§7), problems and security problems (§8), entities, USQL.

use serde_json::{Value, json};

use crate::client::*;

const NOW: i64 = 1_794_916_800_000;
const AVAIL: &str = "7d07efde-b714-3e6e-ad95-08490e2540c4";

#[tokio::test]
async fn slo_status_and_errors() {
    let sim = dtsim::Sim::start(example()).await.unwrap();
    let u = sim.url();
    let r = get(
        &u,
        &format!(
            "/api/v2/slo/{AVAIL}?from={}&to={}&timeFrame=GTF",
            NOW - 86_400_000,
            NOW
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["id"], AVAIL);
    assert_eq!(v["evaluatedPercentage"], 99.95);
    assert_eq!(v["status"], "SUCCESS");
    assert_eq!(v["error"], "NONE");
    assert_eq!(v["target"], 99.9);
    assert_eq!(v["warning"], 99.95);
    assert_eq!(v["timeframe"], format!("{} to {NOW}", NOW - 86_400_000));
    let budget = v["errorBudget"].as_f64().unwrap();
    assert!(
        (budget - 50.0).abs() < 1e-6,
        "normalized: (99.95-99.9)/(0.1)*100 = 50, got {budget}"
    );
    let v = get(
        &u,
        "/api/v2/slo/3b4d1c2a-0000-4000-8000-000000000002?timeFrame=GTF",
    )
    .await
    .json();
    assert_eq!(v["status"], "FAILURE");
    let v = get(&u, "/api/v2/slo/3b4d1c2a-0000-4000-8000-000000000003")
        .await
        .json();
    assert_eq!(v["evaluatedPercentage"], -1.0);
    assert_eq!(v["errorBudget"], -1.0);
    assert_eq!(v["error"], "NO_DATA");
    let r = get(&u, "/api/v2/slo/00000000-0000-4000-8000-000000000000").await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        json!({"error": {"code": 404, "message": "SLO with ID '00000000-0000-4000-8000-000000000000' not found."}})
    );
    let r = get(&u, "/api/v2/slo/not-a-uuid").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["error"]["constraintViolations"][0]["parameterLocation"],
        "PATH"
    );
    assert_eq!(
        get(
            &u,
            &format!("/api/v2/slo/{AVAIL}?timeFrame=GTF&from=now&to=now-1d")
        )
        .await
        .status,
        400
    );
    // A warning band, and the difference error-budget mode.
    let mut sc = example();
    sc.slos[0].evaluated_percentage = Some(99.92);
    sc.slo_error_budget = dtsim::scenario::ErrorBudgetMode::Difference;
    let other = dtsim::Sim::start(sc).await.unwrap();
    let v = get(
        &other.url(),
        &format!("/api/v2/slo/{AVAIL}?timeFrame=GTF&from=now-1d"),
    )
    .await
    .json();
    assert_eq!(v["status"], "WARNING");
    assert!((v["errorBudget"].as_f64().unwrap() - 0.02).abs() < 1e-9);
    other.shutdown().await;
    // List with sloSelector; unevaluated unless evaluate=true.
    let v = get(
        &u,
        &format!(
            "/api/v2/slo?sloSelector={}",
            enc("name(\"checkout availability\")")
        ),
    )
    .await
    .json();
    assert_eq!(v["totalCount"], 1);
    assert_eq!(v["slo"][0]["evaluatedPercentage"], -1.0);
    let v = get(
        &u,
        &format!(
            "/api/v2/slo?sloSelector={}&evaluate=true&timeFrame=GTF&from=now-1d",
            enc("text(\"CHECKOUT\")")
        ),
    )
    .await
    .json();
    assert_eq!(v["totalCount"], 2);
    assert_eq!(v["slo"][0]["evaluatedPercentage"], 99.95);
    let v = get(&u, "/api/v2/slo?pageSize=2").await.json();
    assert_eq!(v["totalCount"], 3);
    let key = v["nextPageKey"].as_str().unwrap().to_string();
    let v = get(&u, &format!("/api/v2/slo?nextPageKey={key}"))
        .await
        .json();
    assert_eq!(v["slo"].as_array().unwrap().len(), 1);
    assert_eq!(v["nextPageKey"], Value::Null);
    sim.shutdown().await;
}

#[tokio::test]
async fn problems_open_closed_selectors_and_paging() {
    let sim = dtsim::Sim::start(example()).await.unwrap();
    let u = sim.url();
    // Default window now-2h: P-1 (open since 11:20) and P-2 (09:00–10:45) overlap it.
    let v = get(&u, "/api/v2/problems").await.json();
    assert_eq!(v["totalCount"], 2);
    let p1 = &v["problems"][0];
    assert_eq!(p1["displayId"], "P-1");
    assert_eq!(p1["status"], "OPEN");
    assert_eq!(p1["endTime"], -1);
    assert!(p1["problemId"].as_str().unwrap().ends_with("V2"));
    assert_eq!(
        p1["affectedEntities"][0]["entityId"],
        json!({"id": "SERVICE-0000000000000001", "type": "SERVICE"})
    );
    assert_eq!(p1["managementZones"][0]["name"], "prod");
    let p2 = &v["problems"][1];
    assert_eq!(p2["status"], "CLOSED");
    assert_eq!(
        p2["endTime"],
        dtsim::time::parse_iso("2026-11-17T10:45:00Z").unwrap()
    );
    // Window overlap.
    assert_eq!(
        get(&u, "/api/v2/problems?from=now-1h").await.json()["totalCount"],
        1
    );
    // Selectors.
    let cases = [
        ("status(\"open\")", 1),
        ("status(\"CLOSED\")", 1),
        ("severityLevel(\"ERROR\",\"AVAILABILITY\")", 1),
        ("impactLevel(\"SERVICES\")", 2),
        ("affectedEntities(\"SERVICE-0000000000000002\")", 1),
        ("entityTags(\"app:checkout\")", 1),
        ("entityTags(\"keptn_project:shop\")", 2),
        ("managementZones(\"prod\")", 2),
        ("managementZones(\"staging\")", 0),
        ("displayId(\"P-2\")", 1),
        ("status(\"open\"),entityTags(\"app:cart\")", 0),
    ];
    for (sel, n) in cases {
        let r = get(
            &u,
            &format!("/api/v2/problems?problemSelector={}", enc(sel)),
        )
        .await;
        assert_eq!(r.status, 200, "{sel}: {}", r.body);
        assert_eq!(r.json()["totalCount"], n, "{sel}");
    }
    let r = get(
        &u,
        &format!(
            "/api/v2/problems?entitySelector={}",
            enc("type(SERVICE),tag(\"app:cart\")")
        ),
    )
    .await;
    assert_eq!(r.json()["totalCount"], 1);
    assert_eq!(
        get(
            &u,
            &format!("/api/v2/problems?problemSelector={}", enc("bogus(\"x\")"))
        )
        .await
        .status,
        400
    );
    // fields adds the sections.
    let v = get(
        &u,
        "/api/v2/problems?fields=%2BevidenceDetails,impactAnalysis",
    )
    .await
    .json();
    assert!(v["problems"][0]["evidenceDetails"].is_object());
    assert!(v["problems"][0]["impactAnalysis"].is_object());
    // Paging: only nextPageKey (and fields) with it.
    let v = get(&u, "/api/v2/problems?pageSize=1&sort=%2BstartTime")
        .await
        .json();
    assert_eq!(v["problems"][0]["displayId"], "P-2");
    let key = v["nextPageKey"].as_str().unwrap().to_string();
    let r = get(
        &u,
        &format!("/api/v2/problems?nextPageKey={key}&problemSelector=status(\"open\")"),
    )
    .await;
    assert_eq!(r.status, 400);
    let v = get(
        &u,
        &format!("/api/v2/problems?nextPageKey={key}&fields=evidenceDetails"),
    )
    .await
    .json();
    assert_eq!(v["problems"][0]["displayId"], "P-1");
    assert_eq!(v["nextPageKey"], Value::Null);
    // By id.
    let id = p1["problemId"].as_str().unwrap();
    assert_eq!(
        get(&u, &format!("/api/v2/problems/{id}")).await.json()["displayId"],
        "P-1"
    );
    assert_eq!(get(&u, "/api/v2/problems/nope").await.status, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn security_problems_entities_and_usql() {
    let sim = dtsim::Sim::start(example()).await.unwrap();
    let u = sim.url();
    let v = get(&u, "/api/v2/securityProblems?fields=%2BriskAssessment")
        .await
        .json();
    assert_eq!(v["totalCount"], 2);
    let sel = enc("status(\"OPEN\"),riskLevel(\"CRITICAL\"),minRiskScore(\"7.0\")");
    let v = get(
        &u,
        &format!("/api/v2/securityProblems?securityProblemSelector={sel}"),
    )
    .await
    .json();
    assert_eq!(v["totalCount"], 1);
    let s = &v["securityProblems"][0];
    assert_eq!(s["displayId"], "S-1");
    assert_eq!(s["riskAssessment"]["riskLevel"], "CRITICAL");
    assert_eq!(s["riskAssessment"]["riskScore"], 10.0);
    assert_eq!(s["cveIds"], json!(["CVE-2021-44228"]));
    let v = get(
        &u,
        &format!(
            "/api/v2/securityProblems?securityProblemSelector={}",
            enc("minRiskScore(\"10.5\")")
        ),
    )
    .await
    .json();
    assert_eq!(
        v,
        json!({"totalCount": 0, "pageSize": 0, "securityProblems": []})
    );
    let id = s["securityProblemId"].as_str().unwrap();
    assert_eq!(
        get(&u, &format!("/api/v2/securityProblems/{id}"))
            .await
            .json()["displayId"],
        "S-1"
    );
    // Entities.
    let v = get(
        &u,
        &format!(
            "/api/v2/entities?entitySelector={}",
            enc("type(\"SERVICE\"),tag(\"keptn_service:checkout\")")
        ),
    )
    .await
    .json();
    assert_eq!(v["totalCount"], 2);
    assert_eq!(v["entities"][0]["displayName"], "checkout");
    assert_eq!(
        v["entities"][0]["tags"][0],
        json!({"context": "CONTEXTLESS", "key": "keptn_project", "value": "shop", "stringRepresentation": "keptn_project:shop"})
    );
    assert_eq!(
        get(&u, "/api/v2/entities/SERVICE-0000000000000002")
            .await
            .json()["displayName"],
        "cart"
    );
    assert_eq!(get(&u, "/api/v2/entities/SERVICE-X").await.status, 404);
    assert_eq!(get(&u, "/api/v2/entities").await.status, 400);
    // USQL.
    let r = get(
        &u,
        &format!(
            "/api/v1/userSessionQueryLanguage/table?query={}",
            enc("SELECT  count(*) FROM usersession")
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["columnNames"], json!(["count(*)"]));
    assert_eq!(r.json()["values"], json!([[4711]]));
    let r = get(
        &u,
        &format!(
            "/api/v1/userSessionQueryLanguage/table?query={}",
            enc("SELECT * FROM useraction")
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn dashboards_are_created_updated_and_read_back() {
    let mut sc = example();
    sc.tokens.push(dtsim::scenario::TokenDef {
        token: "dt0c01.WRITER.TOKEN".into(),
        scopes: vec!["ReadConfig".into(), "WriteConfig".into()],
        ..Default::default()
    });
    let sim = dtsim::Sim::start(sc).await.unwrap();
    let u = sim.url();
    let auth = [
        ("Authorization", "Api-Token dt0c01.WRITER.TOKEN"),
        ("Content-Type", "application/json"),
    ];
    let meta =
        json!({"name": "release", "owner": "slogate", "tags": ["slogate-release-comparison"]});
    let body = json!({"dashboardMetadata": meta, "tiles": []}).to_string();
    let r = send(&u, "POST", "/api/config/v1/dashboards", &auth, Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    let bounds = json!({"top": 0, "left": 0, "width": 38, "height": 38});
    let changed = json!({"id": id, "dashboardMetadata": meta,
        "tiles": [{"tileType": "MARKDOWN", "bounds": bounds}]})
    .to_string();
    let path = format!("/api/config/v1/dashboards/{id}");
    let r = send(&u, "PUT", &path, &auth, Some(&changed)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = send(&u, "GET", &path, &auth, None).await;
    assert_eq!(r.json()["tiles"][0]["tileType"], "MARKDOWN");
    // The list narrowed by tag finds it; another tag finds nothing.
    let tagged = "/api/config/v1/dashboards?tags=slogate-release-comparison";
    let r = send(&u, "GET", tagged, &auth, None).await;
    assert_eq!(r.json()["dashboards"][0]["id"], id.as_str());
    let r = send(
        &u,
        "GET",
        "/api/config/v1/dashboards?tags=other",
        &auth,
        None,
    )
    .await;
    assert_eq!(r.json()["dashboards"], json!([]));
    // A POST with an id, a tile without bounds, a dashboard without an owner.
    for bad in [
        json!({"id": "x", "dashboardMetadata": meta, "tiles": []}),
        json!({"dashboardMetadata": meta, "tiles": [{"tileType": "MARKDOWN"}]}),
        json!({"dashboardMetadata": {"name": "release"}, "tiles": []}),
    ] {
        let r = send(
            &u,
            "POST",
            "/api/config/v1/dashboards",
            &auth,
            Some(&bad.to_string()),
        )
        .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    // Unknown id, a body without a name, a token without WriteConfig.
    let r = send(
        &u,
        "PUT",
        "/api/config/v1/dashboards/nope",
        &auth,
        Some(&changed),
    )
    .await;
    assert_eq!(r.status, 400, "the ids differ: {}", r.body);
    let r = send(
        &u,
        "POST",
        "/api/config/v1/dashboards",
        &auth,
        Some("{\"tiles\": []}"),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = send(
        &u,
        "POST",
        "/api/config/v1/dashboards",
        &[("Authorization", &format!("Api-Token {TOKEN}"))],
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(sim.dashboards().len(), 1);
}
