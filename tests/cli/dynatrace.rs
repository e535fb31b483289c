//! `eval`, `gate` and `explain` against the Dynatrace simulator (tools/dtsim) on loopback.

use dtsim::{BlockingSim, FailPath, Faults, start_blocking};

use crate::support::{Slogate, data_requests, examples};

const TOKEN: &str = "dt0c01.SIMULATOR.TOKEN";

fn scenario_text() -> String {
    std::fs::read_to_string(examples().join("dynatrace/scenario.json")).unwrap()
}

fn sim() -> BlockingSim {
    start_blocking(dtsim::scenario_from_json(&scenario_text()).unwrap()).unwrap()
}

/// The scenario with the real clock instead of its fixed "now", for windows that end now.
fn live_sim() -> BlockingSim {
    let mut v: serde_json::Value = serde_json::from_str(&scenario_text()).unwrap();
    v.as_object_mut().unwrap().remove("now");
    start_blocking(dtsim::scenario_from_json(&v.to_string()).unwrap()).unwrap()
}

fn eval(sim: &BlockingSim, window: (&str, &str)) -> Slogate {
    Slogate::new()
        .args([
            "eval",
            "--config",
            "dynatrace",
            "--from",
            window.0,
            "--to",
            window.1,
        ])
        .current_dir(examples())
        .env("DT_URL", sim.url())
        .env("DT_API_TOKEN", TOKEN)
}

const BEFORE: (&str, &str) = ("2026-11-17T09:00:00Z", "2026-11-17T10:00:00Z");
const AFTER: (&str, &str) = ("2026-11-17T10:00:00Z", "2026-11-17T11:00:00Z");

#[test]
fn a_clean_window_passes_and_a_regression_fails_against_it() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("before.json");
    let out = eval(&sim, BEFORE).arg("--output").arg(&before).run();
    out.assert_code(0).assert_stdout_contains("PASS  score 100");

    let out = eval(&sim, AFTER)
        .arg("--previous")
        .arg(&before)
        .arg("--format")
        .arg("json")
        .run();
    out.assert_code(1);
    let report = out.json();
    assert_eq!(report["result"], "fail");
    let by_name = |n: &str| {
        report["indicatorResults"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["value"]["metric"] == n)
            .unwrap()
            .clone()
    };
    // the injected +40% shows on the response times, nowhere else
    assert_eq!(by_name("response_time_p95")["status"], "warning");
    assert_eq!(by_name("response_time_avg")["status"], "fail");
    assert_eq!(by_name("error_rate")["status"], "pass");
    let change = by_name("response_time_avg")["changePercent"]
        .as_f64()
        .unwrap();
    assert!((35.0..45.0).contains(&change), "{change}");
    assert_eq!(by_name("response_time_p95")["baseline"], "history");
    assert_eq!(report["comparedEvents"].as_array().unwrap().len(), 1);
    // every indicator explains its request
    for r in report["indicatorResults"].as_array().unwrap() {
        assert!(
            r["query"].as_str().unwrap().starts_with("GET /api/v"),
            "{r}"
        );
        assert_eq!(r["source"], "dynatrace", "{r}");
    }
    assert_eq!(report["timeStart"], "2026-11-17T10:00:00Z");
    assert_eq!(report["settle"]["waitedSeconds"], 0);
}

#[test]
fn metric_queries_are_batched_and_sent_once() {
    let sim = sim();
    eval(&sim, BEFORE).run().assert_code(0);
    let requests = data_requests(&sim);
    let metrics: Vec<_> = requests
        .iter()
        .filter(|r| r.path.ends_with("/metrics/query"))
        .collect();
    // four metric SLIs share one entity selector: one request, resolution=Inf up front
    assert_eq!(metrics.len(), 1, "{requests:#?}");
    let sel = metrics[0].param("metricSelector").unwrap();
    assert_eq!(sel.matches("builtin:service.").count(), 4, "{sel}");
    assert_eq!(metrics[0].param("resolution").as_deref(), Some("Inf"));
    // SLO, problems and security problems: one request each; seven SLIs, four requests
    assert_eq!(requests.len(), 4, "{requests:#?}");
    for r in &requests {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Api-Token {TOKEN}").as_str())
        );
        assert_eq!(r.param("from").as_deref(), Some("1794906000000"));
    }
}

#[test]
fn explain_sends_nothing_and_shows_the_requests() {
    let sim = sim();
    let out = Slogate::new()
        .args([
            "explain",
            "--config",
            "dynatrace",
            "--from",
            BEFORE.0,
            "--to",
            BEFORE.1,
        ])
        .current_dir(examples())
        .env("DT_URL", "https://abc12345.live.dynatrace.com")
        .run();
    out.assert_code(0);
    insta::assert_snapshot!(out.stdout);
    assert!(sim.requests().is_empty());
}

#[test]
fn a_refused_token_is_exit_3_naming_the_variable() {
    let sim = sim();
    let out = eval(&sim, BEFORE)
        .env("DT_API_TOKEN", "dt0c01.WRONG.TOKEN")
        .run();
    out.assert_code(3)
        .assert_stderr_contains("DT_API_TOKEN")
        .assert_stderr_contains("(401)");
    assert!(
        !out.stderr.contains("WRONG"),
        "the token must never be printed\n{out:?}"
    );
    assert!(!out.stdout.contains("PASS"));
}

#[test]
fn a_missing_scope_is_named() {
    let sim = sim();
    let out = eval(&sim, BEFORE)
        .env("DT_API_TOKEN", "dt0c01.METRICSONLY.TOKEN")
        .run();
    // Every missing scope is named at once (for a settled historic window the check runs beside
    // the data requests; its answer still comes first).
    out.assert_code(3)
        .assert_stderr_contains("lacks the scopes slo.read, problems.read, securityProblems.read");
    assert!(!out.stderr.contains("(403)"), "{out:?}");
    assert!(out.stdout.is_empty(), "no report: {out:?}");
}

#[test]
fn no_token_or_url_is_invalid_input() {
    let sim = sim();
    let out = Slogate::new()
        .args([
            "eval",
            "--config",
            "dynatrace",
            "--from",
            BEFORE.0,
            "--to",
            BEFORE.1,
        ])
        .current_dir(examples())
        .env("DT_URL", sim.url())
        .run();
    out.assert_code(2).assert_stderr_contains("DT_API_TOKEN");
    let out = Slogate::new()
        .args([
            "eval",
            "--config",
            "dynatrace",
            "--from",
            BEFORE.0,
            "--to",
            BEFORE.1,
        ])
        .current_dir(examples())
        .env("DT_API_TOKEN", TOKEN)
        .run();
    out.assert_code(2).assert_stderr_contains("DT_URL");
    let out = eval(&sim, BEFORE)
        .env("DT_URL", "http://abc12345.live.dynatrace.com")
        .run();
    out.assert_code(2).assert_stderr_contains("plain http");
    assert!(sim.requests().is_empty());
}

#[test]
fn rate_limits_are_retried_honouring_retry_after() {
    let sim = sim();
    sim.set_faults(Faults {
        rate_limit_every: 2,
        retry_after_s: 1,
        ..Faults::default()
    });
    let started = std::time::Instant::now();
    let out = eval(&sim, BEFORE).arg("--format").arg("json").run();
    out.assert_code(0);
    let report = out.json();
    assert!(
        report["source"]["retries"].as_u64().unwrap() >= 1,
        "{report}"
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    assert!(sim.requests().iter().any(|r| r.status == 429));
}

#[test]
fn server_errors_are_retried_then_exit_3() {
    let sim = sim();
    sim.set_faults(Faults {
        error_rate: 1.0,
        error_status: 503,
        ..Faults::default()
    });
    let out = eval(&sim, BEFORE).run();
    out.assert_code(3)
        .assert_stderr_contains("could not evaluate");
    // 4 requests, each tried 5 times
    assert_eq!(data_requests(&sim).len(), 20);
}

#[test]
fn one_flaky_error_is_retried_transparently() {
    let sim = sim();
    sim.set_faults(Faults {
        fail_paths: vec![FailPath {
            prefix: "/api/v2/slo".into(),
            status: 502,
            times: Some(1),
            method: None,
            query: None,
        }],
        ..Faults::default()
    });
    eval(&sim, BEFORE).run().assert_code(0);
}

#[test]
fn an_unreachable_environment_is_exit_3() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = Slogate::new()
        .args([
            "eval",
            "--config",
            "dynatrace",
            "--from",
            BEFORE.0,
            "--to",
            BEFORE.1,
        ])
        .current_dir(examples())
        .env("DT_URL", format!("http://127.0.0.1:{port}"))
        .env("DT_API_TOKEN", TOKEN)
        .run();
    out.assert_code(3)
        .assert_stderr_contains(&format!("connection refused by 127.0.0.1:{port}"));
}

#[test]
fn a_gap_in_the_data_never_passes() {
    let sim = sim();
    // cart has no error-rate data from 11:00 to 11:10
    let out = Slogate::new()
        .args([
            "eval",
            "--config",
            "dynatrace",
            "--service",
            "cart",
            "--from",
            "2026-11-17T11:00:00Z",
            "--to",
            "2026-11-17T11:10:00Z",
        ])
        .args(["--format", "json"])
        .current_dir(examples())
        .env("DT_URL", sim.url())
        .env("DT_API_TOKEN", TOKEN)
        .run();
    let report = out.json();
    assert_ne!(report["result"], "pass");
    let err = report["indicatorResults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["value"]["metric"] == "error_rate")
        .unwrap();
    assert_eq!(err["status"], "fail");
    assert_eq!(err["value"]["success"], false);
    assert!(
        err["value"]["message"]
            .as_str()
            .unwrap()
            .contains("could not process metrics query"),
        "{err}"
    );
}

#[test]
fn gate_waits_for_the_window_to_settle() {
    let sim = live_sim();
    let started = std::time::Instant::now();
    let out = Slogate::new()
        .args([
            "gate",
            "--config",
            "dynatrace",
            "--timeframe",
            "30m",
            "--settle",
            "2s",
            "--format",
            "json",
        ])
        .current_dir(examples())
        .env("DT_URL", sim.url())
        .env("DT_API_TOKEN", TOKEN)
        .run();
    // the window ends at now truncated to the second, so the wait is between 1 and 2 s
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    out.assert_stderr_contains("waiting 2 s for the data to settle");
    let report = out.json();
    assert_eq!(report["settle"]["waitedSeconds"], 2);
    assert_eq!(report["settle"]["seconds"], 2);
}
