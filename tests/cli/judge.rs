//! `gate --judge statistical` against dtsim's request-level traffic: inconclusive changes become
//! warnings with their interval, clear regressions still fail, and without the flag nothing of
//! the judge appears.

use crate::support::Slogate;
use serde_json::{Value, json};
use std::path::Path;

const TOKEN: &str = "dt0c01.JUDGE.TEST";
const DEPLOYED: &str = "2026-01-05T10:00:00Z";

/// One service per (name, requests a minute, latency factor, error factor) after `DEPLOYED`.
fn sim(services: &[(&str, f64, f64, f64)]) -> dtsim::BlockingSim {
    let metric = |unit: &str, agg: &str| json!({"unit": unit, "baseline": {agg: 1}});
    let mut regressions = Vec::new();
    for (name, _, lat, err) in services {
        regressions.push(json!({"service": name, "metric": "builtin:service.response.time", "from": DEPLOYED, "factor": lat}));
        regressions.push(json!({"service": name, "metric": "builtin:service.errors.total.count", "from": DEPLOYED, "factor": err}));
    }
    let scenario = json!({
        "seed": 3,
        "tokens": [{"token": TOKEN, "scopes": ["metrics.read", "entities.read"]}],
        "services": services.iter().enumerate().map(|(i, (name, ..))| json!({
            "id": format!("SERVICE-{i:016}"), "name": name,
            "tags": ["keptn_project:shop", "keptn_stage:prod", format!("keptn_service:{name}")]
        })).collect::<Vec<_>>(),
        "metrics": {
            "builtin:service.response.time": metric("MicroSecond", "avg"),
            "builtin:service.requestCount.total": metric("Count", "sum"),
            "builtin:service.errors.total.count": metric("Count", "sum"),
            "builtin:service.errors.total.rate": metric("Percent", "avg"),
        },
        "traffic": services.iter().map(|(name, rpm, ..)| json!({
            "service": name, "requests_per_minute": [rpm, rpm], "drift_sd": 0.03, "drift_rho": 0.9
        })).collect::<Vec<_>>(),
        "regressions": regressions,
    });
    dtsim::start_blocking(dtsim::scenario_from_json(&scenario.to_string()).unwrap()).unwrap()
}

fn config(dir: &Path, url: &str, judge_yaml: &str) {
    let sel = "type(SERVICE),tag(keptn_project:$PROJECT),tag(keptn_stage:$STAGE),tag(keptn_service:$SERVICE)";
    let rt = "builtin:service.response.time:merge(\\\"dt.entity.service\\\")";
    let er = "builtin:service.errors.total.rate:merge(\\\"dt.entity.service\\\")";
    std::fs::write(
        dir.join("sli.yaml"),
        format!(
            "spec_version: \"1.0\"\nindicators:\n  response_time_p95: \"metricSelector={rt}:percentile(95)&entitySelector={sel}\"\n  error_rate: \"metricSelector={er}:avg&entitySelector={sel}\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("slo.yaml"),
        "spec_version: \"1.0\"\nobjectives:\n  - sli: response_time_p95\n    pass:\n      - criteria: [\"<=+10%\"]\n  - sli: error_rate\n    pass:\n      - criteria: [\"<=+50%\"]\ntotal_score:\n  pass: \"90%\"\n  warning: \"75%\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("slogate.yaml"),
        format!(
            "dynatrace:\n  url: {url}\n  token_env: JUDGE_TOKEN\ndefaults:\n  project: shop\n  stage: prod\n{judge_yaml}"
        ),
    )
    .unwrap();
}

fn gate(dir: &Path, service: &str, extra: &[&str]) -> crate::support::Output {
    Slogate::new()
        .current_dir(dir)
        .env("JUDGE_TOKEN", TOKEN)
        .args([
            "gate",
            "--config",
            ".",
            "--service",
            service,
            "--deployment-time",
            DEPLOYED,
            "--timeframe",
            "30m",
            "--settle",
            "0s",
            "--format",
            "json",
        ])
        .args(extra)
        .run()
}

fn indicator<'a>(report: &'a Value, sli: &str) -> &'a Value {
    report["indicatorResults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["value"]["metric"] == sli)
        .unwrap()
}

#[test]
fn too_few_errors_warn_where_keptn_fails() {
    // 40 requests a minute, errors up 80 %: about 6 errors before and 11 after.
    let sim = sim(&[("quiet", 40.0, 1.0, 1.8)]);
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &sim.url(), "");

    let keptn = gate(dir.path(), "quiet", &[]);
    keptn.assert_no_panic().assert_code(1);
    let k = keptn.json();
    assert_eq!(k["result"], "fail");
    assert!(indicator(&k, "error_rate").get("judge").is_none());
    assert!(
        k.to_string().find("\"judge\"").is_none(),
        "no judge without --judge"
    );

    let judged = gate(dir.path(), "quiet", &["--judge", "statistical"]);
    judged.assert_no_panic().assert_code(0);
    let j = judged.json();
    assert_eq!(j["result"], "warning");
    let er = indicator(&j, "error_rate");
    assert_eq!(er["status"], "warning");
    assert_eq!(er["judge"]["decision"], "inconclusive");
    let summary = er["judge"]["summary"].as_str().unwrap();
    assert!(summary.contains("too few to judge"), "{summary}");
    assert!(summary.contains("errors before"), "{summary}");
    assert!(
        j["message"]
            .as_str()
            .unwrap()
            .contains("1 objective is inconclusive")
    );
    // The per-minute data came in one more batched request over both windows and the stretch
    // before them (the values and the baseline took one each).
    let minute = sim
        .requests()
        .into_iter()
        .filter(|r| r.param("resolution").as_deref() == Some("1m"))
        .count();
    assert_eq!(minute, 1);
}

#[test]
fn a_clear_regression_still_fails_with_its_interval() {
    let sim = sim(&[("busy", 400.0, 1.5, 1.0)]);
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &sim.url(), "judge:\n  mode: statistical\n");
    let out = gate(dir.path(), "busy", &[]);
    out.assert_no_panic().assert_code(1);
    let r = out.json();
    assert_eq!(r["result"], "fail");
    let p95 = indicator(&r, "response_time_p95");
    assert_eq!(p95["status"], "fail");
    assert_eq!(p95["judge"]["decision"], "violated");
    let ci = &p95["judge"]["changePercent"];
    assert!(ci["low"].as_f64().unwrap() > 10.0, "{ci}");
    let summary = p95["judge"]["summary"].as_str().unwrap();
    assert!(summary.starts_with("response_time_p95 +"), "{summary}");
    assert!(summary.contains("(95 % CI "), "{summary}");
    assert!(
        summary.ends_with("beyond +10 % with 95 % confidence"),
        "{summary}"
    );
    // --judge keptn overrides slogate.yaml
    let k = gate(dir.path(), "busy", &["--judge", "keptn"]).json();
    assert!(indicator(&k, "response_time_p95").get("judge").is_none());
}

#[test]
fn the_text_report_says_it_in_plain_words() {
    let sim = sim(&[("steady", 300.0, 1.0, 1.0)]);
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &sim.url(), "");
    let out = Slogate::new()
        .current_dir(dir.path())
        .env("JUDGE_TOKEN", TOKEN)
        .args([
            "gate",
            "--config",
            ".",
            "--service",
            "steady",
            "--deployment-time",
            DEPLOYED,
            "--timeframe",
            "30m",
            "--settle",
            "0s",
            "--judge",
            "statistical",
        ])
        .run();
    out.assert_no_panic();
    out.assert_stdout_contains("statistical judge, 95 % intervals:");
    out.assert_stdout_contains("  response_time_p95 ");
    out.assert_stdout_contains("(95 % CI ");
}

#[test]
fn a_bad_judge_in_slogate_yaml_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    config(
        dir.path(),
        "http://127.0.0.1:9",
        "judge:\n  mode: bayesian\n",
    );
    let out = gate(dir.path(), "x", &[]);
    out.assert_no_panic().assert_code(2);
    out.assert_stderr_contains("unknown judge `bayesian`");
}

/// The shipped demo (slo-examples/demo) under the judge, with its scenario as given or changed.
fn demo(scenario: impl FnOnce(&mut Value), extra: &[&str]) -> crate::support::Output {
    let path = crate::support::examples().join("demo/scenario.json");
    let mut s: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    scenario(&mut s);
    let sim = dtsim::start_blocking(dtsim::scenario_from_json(&s.to_string()).unwrap()).unwrap();
    Slogate::new()
        .current_dir(crate::support::examples())
        .env("DT_URL", sim.url())
        .env("DT_API_TOKEN", "dt0c01.SIMULATOR.TOKEN")
        .args([
            "gate",
            "--config",
            "demo",
            "--deployment-time",
            "now-30m",
            "--timeframe",
            "25m",
            "--settle",
            "0s",
            "--judge",
            "statistical",
        ])
        .args(extra)
        .run()
}

#[test]
fn the_demo_judges_every_relative_objective_and_says_why_not_for_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().to_str().unwrap();
    let out = demo(|_| {}, &["--format", "json", "--report-dir", reports]);
    out.assert_no_panic().assert_code(1);
    let r = out.json();
    // The simulator serves every series the judge asks for: each relative objective is judged.
    for sli in [
        "response_time_p95",
        "response_time_avg",
        "error_rate",
        "throughput",
    ] {
        let i = indicator(&r, sli);
        assert!(i["judge"].is_object(), "{sli} not judged: {i}");
        assert!(i.get("notJudged").is_none(), "{i}");
    }
    let er = &indicator(&r, "error_rate")["judge"];
    assert!(
        !er["method"].as_str().unwrap().contains("judged without"),
        "{er}"
    );
    // The others say why not.
    for sli in ["availability", "open_problems", "critical_vulnerabilities"] {
        let why = indicator(&r, sli)["notJudged"].as_str().unwrap();
        assert_eq!(
            why, "no relative criterion (absolute criteria are compared as Keptn does)",
            "{sli}"
        );
    }
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
    let line = "Availability SLO (%): not judged: no relative criterion";
    assert!(read("report.txt").contains(line));
    assert!(read("summary.md").contains(line), "{}", read("summary.md"));
    assert!(read("report.html").contains(line));
    assert!(read("junit.xml").contains("judge: not judged: no relative criterion"));
}

#[test]
fn a_series_the_simulator_lacks_costs_only_its_own_part_and_says_so() {
    // The demo as it shipped before: no error counts per minute (404 for that metric).
    let out = demo(
        |s| {
            s["metrics"]
                .as_object_mut()
                .unwrap()
                .shift_remove("builtin:service.errors.total.count");
        },
        &["--format", "json"],
    );
    out.assert_no_panic().assert_code(1);
    let r = out.json();
    for sli in ["response_time_p95", "response_time_avg", "throughput"] {
        assert!(indicator(&r, sli)["judge"].is_object(), "{sli}");
    }
    // The error rate is judged on its own per-minute values, and says what it lacked.
    let method = indicator(&r, "error_rate")["judge"]["method"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        method.contains("judged without errors per minute (builtin:service.errors.total.count"),
        "{method}"
    );
    assert!(method.contains("404"), "{method}");
}

#[test]
fn a_history_baseline_is_not_judged_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("h.sqlite");
    let out = demo(
        |_| {},
        &[
            "--baseline",
            "history",
            "--history",
            store.to_str().unwrap(),
        ],
    );
    out.assert_no_panic();
    out.assert_stdout_contains("statistical judge (no objective judged):");
    out.assert_stdout_contains(
        "Response time P95 (ms): not judged: the baseline is earlier evaluations, not a window before the deployment",
    );
}

/// Minute `m` from the deployment, as RFC 3339.
fn at(m: i64) -> String {
    (chrono::DateTime::parse_from_rfc3339(DEPLOYED).unwrap() + chrono::Duration::minutes(m))
        .to_rfc3339()
}

/// Service `inc` at 400 requests a minute: 10 minutes of 2.5× latency from 25 minutes before
/// the deployment, then a +25 % release; `problems` are the Davis problems dtsim serves.
fn incident_scenario(problems: serde_json::Value) -> serde_json::Value {
    let metric = |unit: &str, agg: &str| json!({"unit": unit, "baseline": {agg: 1}});
    let rt = "builtin:service.response.time";
    json!({
        "seed": 5,
        "tokens": [{"token": TOKEN, "scopes": ["metrics.read", "entities.read", "problems.read"]}],
        "services": [{"id": "SERVICE-0000000000000001", "name": "inc",
                      "tags": ["keptn_project:shop", "keptn_stage:prod", "keptn_service:inc"]}],
        "metrics": {
            rt: metric("MicroSecond", "avg"),
            "builtin:service.requestCount.total": metric("Count", "sum"),
            "builtin:service.errors.total.count": metric("Count", "sum"),
            "builtin:service.errors.total.rate": metric("Percent", "avg"),
        },
        "traffic": [{"service": "inc", "requests_per_minute": [400, 400], "drift_sd": 0.02}],
        "regressions": [
            {"service": "inc", "metric": rt, "from": at(-25), "to": at(-15), "factor": 2.5},
            {"service": "inc", "metric": rt, "from": DEPLOYED, "factor": 1.25},
        ],
        "problems": problems,
    })
}

#[test]
fn an_incident_before_and_the_warm_up_are_left_out_and_said() {
    // 10 minutes of 2.5× latency inside the baseline window, then a +25 % release: Keptn
    // compares with the inflated baseline and passes; the judge leaves the incident out.
    let scenario = incident_scenario(json!([]));
    let sim =
        dtsim::start_blocking(dtsim::scenario_from_json(&scenario.to_string()).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &sim.url(), "");
    let k = gate(dir.path(), "inc", &[]).json();
    assert_eq!(k["result"], "pass");

    let out = gate(dir.path(), "inc", &["--judge", "statistical"]);
    out.assert_no_panic().assert_code(1);
    let j = out.json();
    assert_eq!(j["result"], "fail");
    let p95 = &indicator(&j, "response_time_p95")["judge"];
    let left: Vec<&str> = p95["leftOut"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        left[0],
        "the first 5 minutes after the deployment (warm-up)"
    );
    assert_eq!(
        left[1],
        "10 outlier minutes before the deployment (minutes −25 … −16)"
    );
    assert!(
        p95["summary"].as_str().unwrap().contains(
            "[left out: the first 5 minutes after the deployment (warm-up); 10 outlier minutes"
        ),
        "{}",
        p95["summary"]
    );
    assert_eq!(p95["decision"], "violated");
    // --warm-up-minutes 0 turns the warm-up off; slogate.yaml sets it too.
    let j = gate(
        dir.path(),
        "inc",
        &["--judge", "statistical", "--warm-up-minutes", "0"],
    )
    .json();
    let left = indicator(&j, "response_time_p95")["judge"]["leftOut"].to_string();
    assert!(!left.contains("warm-up"), "{left}");
    config(dir.path(), &sim.url(), "judge:\n  warm_up_minutes: 3\n");
    let j = gate(dir.path(), "inc", &["--judge", "statistical"]).json();
    let left = indicator(&j, "response_time_p95")["judge"]["leftOut"].to_string();
    assert!(left.contains("the first 3 minutes"), "{left}");
}

#[test]
fn a_davis_problem_before_the_deployment_leaves_its_minutes_out_of_the_baseline() {
    // The incident of the test above, this time with the Davis problem Dynatrace opened for
    // it: its minutes are left out as the problem's (said with its id), not as outliers; a
    // problem still open at the deployment and one covering the whole baseline window leave
    // nothing out.
    let left_out = |problems: serde_json::Value| {
        let sim = dtsim::start_blocking(
            dtsim::scenario_from_json(&incident_scenario(problems).to_string()).unwrap(),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        config(dir.path(), &sim.url(), "");
        let out = gate(dir.path(), "inc", &["--judge", "statistical"]);
        out.assert_no_panic().assert_code(1);
        let j = out.json();
        let p95 = indicator(&j, "response_time_p95")["judge"].clone();
        assert_eq!(p95["decision"], "violated", "{p95}");
        p95
    };
    let p95 = left_out(json!([
        {"display_id": "P-31", "title": "Response time degradation", "service": "inc",
         "severity": "PERFORMANCE", "start": at(-25), "end": at(-15)}
    ]));
    let left: Vec<&str> = p95["leftOut"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        left,
        [
            "the first 5 minutes after the deployment (warm-up)",
            "minutes −25 … −16 before the deployment, inside Davis problem P-31 (Response time degradation)",
        ],
        "{p95}"
    );
    assert!(
        p95["summary"]
            .as_str()
            .unwrap()
            .contains("inside Davis problem P-31"),
        "{p95}"
    );
    // Open at the deployment: not an incident of the baseline; the outlier rule still finds
    // the minutes.
    let p95 = left_out(json!([
        {"display_id": "P-32", "title": "Still open", "service": "inc",
         "start": at(-25), "end": null}
    ]));
    let left = p95["leftOut"].to_string();
    assert!(!left.contains("P-32"), "{left}");
    assert!(
        left.contains("10 outlier minutes before the deployment"),
        "{left}"
    );
    // Over the whole baseline window: the window would keep too few minutes; kept, and said.
    let p95 = left_out(json!([
        {"display_id": "P-33", "title": "Long one", "service": "inc",
         "start": at(-40), "end": at(-1)}
    ]));
    assert!(!p95["leftOut"].to_string().contains("P-33"), "{p95}");
    let method = p95["method"].as_str().unwrap();
    assert!(
        method.contains("kept, as the baseline window would hold too few minutes without them: minutes −40 … −2 before the deployment, inside Davis problem P-33 (Long one)"),
        "{method}"
    );
}
