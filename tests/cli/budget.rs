//! Error budgets and burn rates (docs/pre-deployment-check.md, docs/slo-reference.md#burn-rates):
//! the recipe's `gate` against the simulator, block = fail (1), cannot tell = error (3).

use dtsim::{BlockingSim, start_blocking};
use serde_json::{Value, json};

use crate::support::{Slogate, data_requests, fixtures};

const TOKEN: &str = "dt0c01.BUDGETTEST.APITOKENSECRET";
const SLO_ID: &str = "7d07efde-b714-3e6e-ad95-08490e2540c4";

/// A simulator on the real clock with one service, an error count and a request count (one
/// error in a thousand requests a minute: a burn rate of 1 for 99.9 %), the SLO `slo` and the
/// regressions given.
fn sim(slo: Value, regressions: Value) -> BlockingSim {
    let scenario = json!({
        "seed": 1,
        "tokens": [{"token": TOKEN, "scopes": ["metrics.read", "slo.read"]}],
        "services": [{"id": "SERVICE-2000000000000001", "name": "checkout",
            "tags": ["keptn_stage:production", "keptn_service:checkout"]}],
        "metrics": {
            "builtin:service.errors.server.count": {"unit": "Count", "default_aggregation": "sum",
                "aggregation_types": ["auto", "value", "count", "sum"], "baseline": {"sum": 1}},
            "builtin:service.requestCount.server": {"unit": "Count", "default_aggregation": "sum",
                "aggregation_types": ["auto", "value", "count", "sum"], "baseline": {"sum": 1000}}
        },
        "regressions": regressions,
        "slos": [slo],
    });
    start_blocking(dtsim::scenario_from_json(&scenario.to_string()).unwrap()).unwrap()
}

fn slo(evaluated: Option<f64>, burn: Option<f64>) -> Value {
    json!({"id": SLO_ID, "name": "checkout availability", "evaluated_percentage": evaluated,
        "target": 99.0, "warning": 99.5, "timeframe": "-30d", "burn_rate": burn})
}

/// The recipe's command: the window ending now, at once.
fn gate(sim: &BlockingSim, config: &str) -> crate::support::Output {
    Slogate::new()
        .args([
            "gate",
            "--config",
            config,
            "--stage",
            "production",
            "--service",
            "checkout",
        ])
        .args(["--timeframe", "2h", "--settle", "0s", "--format", "json"])
        .current_dir(fixtures("budget"))
        .env("DT_URL", sim.url())
        .env("DT_API_TOKEN", TOKEN)
        .run()
}

fn value<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["indicatorResults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["value"]["metric"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report:#}"))
}

#[test]
fn budget_left_and_slow_burn_let_the_release_go() {
    let sim = sim(slo(Some(99.6), Some(0.8)), json!([]));
    let out = gate(&sim, "slo-precheck");
    out.assert_code(0);
    let report = out.json();
    assert_eq!(report["result"], "pass");
    // normalized budget: (99.6 − 99)/(100 − 99)·100
    let left = value(&report, "budget_left")["value"]["value"]
        .as_f64()
        .unwrap();
    assert!((left - 60.0).abs() < 1e-9, "{left}");
    assert_eq!(value(&report, "burn_rate")["value"]["value"], 0.8);
    // Both fields from one request over the SLO's own timeframe, not the gate's window.
    let reqs = data_requests(&sim);
    assert_eq!(reqs.len(), 1, "{reqs:#?}");
    assert_eq!(reqs[0].path, format!("/api/v2/slo/{SLO_ID}"));
    assert_eq!(reqs[0].param("timeFrame").as_deref(), Some("CURRENT"));
    assert_eq!(reqs[0].param("from"), None);
}

#[test]
fn an_exhausted_budget_blocks() {
    let sim = sim(slo(Some(98.5), Some(0.5)), json!([]));
    let out = gate(&sim, "slo-precheck");
    out.assert_code(1);
    let report = out.json();
    assert_eq!(report["result"], "fail");
    assert_eq!(value(&report, "budget_left")["status"], "fail");
    assert_eq!(value(&report, "budget_left")["value"]["value"], -50.0);
}

#[test]
fn a_fast_burn_blocks() {
    let sim = sim(slo(Some(99.8), Some(12.0)), json!([]));
    let out = gate(&sim, "slo-precheck");
    out.assert_code(1);
    let report = out.json();
    assert_eq!(value(&report, "budget_left")["status"], "pass");
    assert_eq!(value(&report, "burn_rate")["status"], "fail");
}

#[test]
fn cannot_tell_is_an_error_not_a_verdict() {
    // Burn rates not enabled on the SLO: Dynatrace answers without a value.
    let sim1 = sim(slo(Some(99.8), None), json!([]));
    let out = gate(&sim1, "slo-precheck");
    out.assert_code(3);
    let report = out.json();
    assert_eq!(report["result"], "error");
    let msg = value(&report, "burn_rate")["value"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("burn rate visualization"), "{msg}");
    // Not evaluated (-1): no budget to read.
    let sim2 = sim(slo(None, Some(1.0)), json!([]));
    gate(&sim2, "slo-precheck").assert_code(3);
}

/// The workbook's rule over metrics: both the hour and the last five minutes must burn at
/// 14.4 or more to block; a short spike alone does not.
#[test]
fn multi_window_burn_rate_from_an_error_and_a_request_count() {
    let errors = "builtin:service.errors.server.count";
    // healthy: one error per thousand requests is a burn rate of 1
    let healthy = sim(slo(Some(99.9), None), json!([]));
    let out = gate(&healthy, "slo-burn");
    out.assert_code(0);
    let report = out.json();
    let rate = value(&report, "burn_fast")["value"]["value"]
        .as_f64()
        .unwrap();
    assert!((rate - 1.0).abs() < 1e-6, "{rate}");
    // Errors and requests over 5 minutes and over the hour: one batched request per window.
    let reqs = data_requests(&healthy);
    assert_eq!(reqs.len(), 2, "{reqs:#?}");
    for r in &reqs {
        let sel = r.param("metricSelector").unwrap();
        assert!(
            sel.contains(errors) && sel.contains("requestCount"),
            "{sel}"
        );
    }
    let spans: Vec<i64> = reqs
        .iter()
        .map(|r| {
            let p = |k: &str| r.param(k).unwrap().parse::<i64>().unwrap();
            p("to") - p("from")
        })
        .collect();
    assert!(
        spans.contains(&300_000) && spans.contains(&3_600_000),
        "{spans:?}"
    );
    let query = value(&report, "burn_fast")["value"]["query"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        query.matches("GET /api/v2/metrics/query").count(),
        4,
        "{query}"
    );

    // 20 errors per thousand for the last two hours: both windows burn at 20.
    let burning = sim(
        slo(Some(99.9), None),
        json!([{"metric": errors, "from": "now-2h", "factor": 20.0}]),
    );
    let out = gate(&burning, "slo-burn");
    out.assert_code(1);
    let rate = value(&out.json(), "burn_fast")["value"]["value"]
        .as_f64()
        .unwrap();
    assert!((rate - 20.0).abs() < 0.5, "{rate}");

    // A spike in the last three minutes: the short window burns fast, the hour does not.
    let spike = sim(
        slo(Some(99.9), None),
        json!([{"metric": errors, "from": "now-3m", "factor": 50.0}]),
    );
    let out = gate(&spike, "slo-burn");
    out.assert_code(0);
    let rate = value(&out.json(), "burn_fast")["value"]["value"]
        .as_f64()
        .unwrap();
    assert!(rate > 1.0 && rate < 14.4, "{rate}");
}

#[test]
fn burn_queries_lint_and_explain() {
    Slogate::new()
        .args(["lint", "slo-burn", "slo-precheck"])
        .current_dir(fixtures("budget"))
        .run()
        .assert_code(0);
    let out = Slogate::new()
        .args([
            "explain",
            "--config",
            "slo-burn",
            "--stage",
            "production",
            "--service",
            "checkout",
        ])
        .args([
            "--from",
            "2026-11-17T09:00:00Z",
            "--to",
            "2026-11-17T10:00:00Z",
        ])
        .current_dir(fixtures("budget"))
        .env("DT_URL", "http://127.0.0.1:9")
        .run();
    out.assert_code(0);
    out.assert_stdout_contains("from=1794909300000");
    out.assert_stdout_contains("to=1794909600000");
    out.assert_stdout_contains("2 requests");
}

/// Prometheus: `BURN;` is one PromQL query over both windows, which explain shows and lint
/// parses.
#[test]
fn prometheus_burn_is_one_promql_query() {
    Slogate::new()
        .args(["lint", "slo-burn-prom"])
        .current_dir(fixtures("budget"))
        .run()
        .assert_code(0);
    let out = Slogate::new()
        .args([
            "explain",
            "--config",
            "slo-burn-prom",
            "--stage",
            "production",
        ])
        .args(["--service", "checkout", "--format", "json"])
        .args([
            "--from",
            "2026-11-17T09:00:00Z",
            "--to",
            "2026-11-17T10:00:00Z",
        ])
        .current_dir(fixtures("budget"))
        .env("PROMETHEUS_URL", "http://127.0.0.1:9")
        .run();
    out.assert_code(0);
    let report = out.json();
    let q = report["indicators"][0]["query"].as_str().unwrap();
    // Both windows' ranges, in the form's encoding, and no BURN text sent to Prometheus.
    assert!(q.contains("%5B300s%5D") && q.contains("%5B3600s%5D"), "{q}");
    assert!(
        q.starts_with("POST /api/v1/query?query=min%28") && !q.contains("BURN"),
        "{q}"
    );
    assert_eq!(report["requests"], 1);
}
