//! The release loop against the simulator: mark, gate after vs before, reports, CI output.

use dtsim::{BlockingSim, start_blocking};

use crate::support::{Slogate, examples};

pub(crate) const TOKEN: &str = "dt0c01.SIMULATOR.TOKEN";

/// The demo scenario on the real clock; `edit` changes it (no regression, gaps, ...).
pub(crate) fn sim_with(edit: impl FnOnce(&mut serde_json::Value)) -> BlockingSim {
    let text = std::fs::read_to_string(examples().join("demo/scenario.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    edit(&mut v);
    start_blocking(dtsim::scenario_from_json(&v.to_string()).unwrap()).unwrap()
}

pub(crate) fn slogate(sim: &BlockingSim) -> Slogate {
    Slogate::new()
        .current_dir(examples())
        .env("DT_URL", sim.url())
        .env("DT_API_TOKEN", TOKEN)
}

pub(crate) fn mark(sim: &BlockingSim) {
    slogate(sim)
        .args([
            "mark",
            "--config",
            "demo",
            "--version",
            "2.0.0",
            "--time",
            "now-30m",
        ])
        .run()
        .assert_code(0);
}

fn gate(sim: &BlockingSim, extra: &[&str]) -> crate::support::Output {
    slogate(sim)
        .args([
            "gate",
            "--config",
            "demo",
            "--since-deployment",
            "--timeframe",
            "25m",
            "--ci",
            "none",
        ])
        .args(extra)
        .run()
}

pub(crate) fn by_metric<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["indicatorResults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["value"]["metric"] == name)
        .unwrap()
}

#[test]
fn mark_sends_a_deployment_event_with_ci_metadata() {
    let sim = sim_with(|_| {});
    let out = slogate(&sim)
        .args([
            "mark",
            "--config",
            "demo",
            "--version",
            "2.0.0",
            "--property",
            "gitcommit=e5a6bac",
            "--ci",
            "auto",
        ])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_RUN_ID", "99")
        .env("GITHUB_SHA", "e5a6bac")
        .env("GITHUB_ACTOR", "jane")
        .run();
    out.assert_code(0)
        .assert_stdout_contains("sent to 1 entity");
    let events = sim.events();
    assert_eq!(events.len(), 1, "{events:#?}");
    let e = &events[0];
    assert_eq!(e["eventType"], "CUSTOM_DEPLOYMENT");
    let props: std::collections::BTreeMap<String, String> = e["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["key"].as_str().unwrap().to_string(),
                p["value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(props["dt.event.deployment.version"], "2.0.0");
    assert_eq!(props["dt.event.deployment.release_stage"], "production");
    assert_eq!(
        props["dt.event.deployment.ci_back_link"],
        "https://github.com/acme/shop/actions/runs/99"
    );
    assert_eq!(props["github.actor"], "jane");
    assert_eq!(props["gitcommit"], "e5a6bac");
    let ingest = sim
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/events/ingest"))
        .unwrap();
    let body = ingest.json().unwrap();
    assert_eq!(
        body["entitySelector"],
        "type(SERVICE),tag(keptn_project:shop),tag(keptn_stage:production),tag(keptn_service:checkout)"
    );
}

#[test]
fn mark_covers_every_service_and_reports_unmatched_selectors() {
    let sim = sim_with(|_| {});
    let out = slogate(&sim)
        .args([
            "mark",
            "--config",
            "demo",
            "--service",
            "checkout",
            "--service",
            "cart",
            "--version",
            "7",
            "--ci",
            "none",
        ])
        .run();
    out.assert_code(0);
    assert_eq!(sim.events().len(), 2);
    let out = slogate(&sim)
        .args([
            "mark",
            "--config",
            "demo",
            "--service",
            "nosuch",
            "--ci",
            "none",
        ])
        .run();
    out.assert_code(3)
        .assert_stdout_contains("no entity matched");
    let out = slogate(&sim)
        .args([
            "mark",
            "--config",
            "demo",
            "--type",
            "configuration",
            "--flag",
            "checkout-v2=on",
            "--dry-run",
            "--ci",
            "none",
        ])
        .run();
    out.assert_code(0)
        .assert_stdout_contains("\"flag.checkout-v2\": \"on\"")
        .assert_stdout_contains("CUSTOM_CONFIGURATION");
    assert_eq!(sim.events().len(), 2, "a dry run sends nothing");
}

#[test]
fn a_regressed_release_fails_naming_the_objectives() {
    let sim = sim_with(|_| {});
    mark(&sim);
    let out = gate(&sim, &["--format", "json"]);
    out.assert_code(1);
    let r = out.json();
    assert_eq!(r["result"], "fail");
    assert_eq!(r["deployment"]["source"], "event");
    assert_eq!(r["deployment"]["version"], "2.0.0");
    assert!(r["baselineWindow"]["timeEnd"] == r["deployment"]["time"]);
    let rt = by_metric(&r, "response_time_avg");
    assert_eq!(rt["status"], "fail");
    assert_eq!(rt["baseline"], "window");
    assert!(rt["changePercent"].as_f64().unwrap() > 30.0);
    assert_eq!(by_metric(&r, "error_rate")["status"], "pass");
}

#[test]
fn a_clean_release_passes() {
    let sim = sim_with(|v| {
        v["regressions"] = serde_json::json!([]);
    });
    mark(&sim);
    let out = gate(&sim, &[]);
    out.assert_code(0).assert_stdout_contains("PASS");
}

#[test]
fn no_data_after_the_deployment_never_passes() {
    let sim = sim_with(|v| {
        v["regressions"] = serde_json::json!([]);
        let metrics = [
            "builtin:service.response.time",
            "builtin:service.errors.total.rate",
            "builtin:service.requestCount.total",
        ];
        v["gaps"] = metrics
            .iter()
            .map(|m| serde_json::json!({"service": "checkout", "metric": m, "from": "now-31m", "to": "now"}))
            .collect();
    });
    mark(&sim);
    let out = gate(&sim, &["--format", "json"]);
    assert_ne!(out.code, 0, "{out:?}");
    let r = out.json();
    assert_eq!(r["result"], "fail");
    assert_eq!(
        by_metric(&r, "response_time_p95")["value"]["success"],
        false
    );
}

#[test]
fn a_missing_baseline_is_reported_and_follows_the_policy() {
    // no data before the deployment, data after
    let sim = sim_with(|v| {
        v["regressions"] = serde_json::json!([]);
        v["gaps"] = serde_json::json!([{"service": "checkout", "metric": "builtin:service.response.time", "from": "now-60m", "to": "now-30m"}]);
    });
    mark(&sim);
    let r = gate(&sim, &["--format", "json"]).json();
    let rt = by_metric(&r, "response_time_avg");
    assert_eq!(rt["baseline"], "none");
    assert!(
        rt["notes"]
            .to_string()
            .contains("baseline window had no value"),
        "{rt}"
    );
    // Before vs after: "I could not see before" is no "nothing got worse": a warning that says so.
    assert_eq!(rt["status"], "warning", "{rt}");
    assert!(
        rt["notes"].to_string().contains("downgraded to warning"),
        "{rt}"
    );
    assert_eq!(r["policy"]["onMissingBaseline"], "warn");
    let r = gate(&sim, &["--format", "json", "--on-missing-baseline", "fail"]).json();
    assert_eq!(by_metric(&r, "response_time_avg")["status"], "fail");
    // Keptn's behaviour stays one flag away.
    let r = gate(&sim, &["--format", "json", "--on-missing-baseline", "pass"]).json();
    assert_eq!(by_metric(&r, "response_time_avg")["status"], "pass");
}

#[test]
fn deployment_time_flag_and_waiting() {
    let sim = sim_with(|_| {});
    // The window [now-30m, now-5m] from the flag: no event lookup.
    let out = slogate(&sim)
        .args([
            "gate",
            "--config",
            "demo",
            "--deployment-time",
            "now-30m",
            "--timeframe",
            "25m",
            "--ci",
            "none",
            "--format",
            "json",
        ])
        .run();
    out.assert_code(1);
    assert_eq!(out.json()["deployment"]["source"], "flag");
    assert!(
        !sim.requests()
            .iter()
            .any(|r| r.path.ends_with("/api/v2/events") && !crate::support::is_context_request(r))
    );
    // A window that ends in the future needs --wait.
    let out = slogate(&sim)
        .args([
            "gate",
            "--config",
            "demo",
            "--deployment-time",
            "now-1m",
            "--timeframe",
            "30m",
            "--ci",
            "none",
        ])
        .run();
    out.assert_code(2).assert_stderr_contains("--wait");
    let out = slogate(&sim)
        .args([
            "gate",
            "--config",
            "demo",
            "--deployment-time",
            "now-1m",
            "--timeframe",
            "30m",
            "--wait",
            "5m",
            "--ci",
            "none",
        ])
        .run();
    out.assert_code(2)
        .assert_stderr_contains("longer than --wait");
}

#[test]
fn no_deployment_event_is_could_not_evaluate() {
    let sim = sim_with(|_| {});
    // No event is on its way: do not wait for one (tests/cli/anchoring.rs waits).
    gate(&sim, &["--event-wait", "0s"])
        .assert_code(3)
        .assert_stderr_contains("slogate mark");
}

#[test]
fn report_dir_holds_every_format() {
    let sim = sim_with(|_| {});
    mark(&sim);
    let dir = tempfile::tempdir().unwrap();
    gate(&sim, &["--report-dir", dir.path().to_str().unwrap()]).assert_code(1);
    for f in [
        "report.json",
        "report.txt",
        "junit.xml",
        "summary.md",
        "report.html",
        "slogate.env",
    ] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(
        html.contains("<svg") && html.contains("deployment"),
        "the HTML report has charts"
    );
    assert!(
        !html.contains("http://") || !html.contains("<script src"),
        "self-contained"
    );
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    assert!(junit.contains("<failure"));
    // Each objective names the source of its value next to the request.
    assert!(junit.contains("query (dynatrace): GET /api/v2/"), "{junit}");
}

#[test]
fn azure_devops_gets_logging_commands() {
    let sim = sim_with(|_| {});
    mark(&sim);
    let dir = tempfile::tempdir().unwrap();
    let out = slogate(&sim)
        .args([
            "gate",
            "--config",
            "demo",
            "--since-deployment",
            "--timeframe",
            "25m",
        ])
        .args(["--report-dir", dir.path().to_str().unwrap()])
        .env("TF_BUILD", "True")
        .run();
    out.assert_code(1);
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("##vso["))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("##vso[task.logissue type=error]")),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&"##vso[task.setvariable variable=SLOGATE_RESULT]fail"),
        "{lines:#?}"
    );
    let summary = lines
        .iter()
        .find(|l| l.starts_with("##vso[task.uploadsummary]"))
        .unwrap();
    assert!(summary.ends_with("summary.md"));
    assert!(
        !lines.iter().any(|l| l.contains("task.complete")),
        "only a warning completes with issues"
    );
}

#[test]
fn github_actions_gets_annotations_summary_and_outputs() {
    let sim = sim_with(|_| {});
    mark(&sim);
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let outputs = dir.path().join("outputs");
    let out = slogate(&sim)
        .args([
            "gate",
            "--config",
            "demo",
            "--since-deployment",
            "--timeframe",
            "25m",
        ])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())
        .env("GITHUB_OUTPUT", outputs.to_str().unwrap())
        .run();
    out.assert_code(1);
    assert!(
        out.stdout.lines().any(|l| l.starts_with("::error title=")),
        "{}",
        out.stdout
    );
    assert!(std::fs::read_to_string(&summary).unwrap().contains("FAIL"));
    let o = std::fs::read_to_string(&outputs).unwrap();
    assert!(o.lines().any(|l| l == "result=fail"), "{o}");
}

#[test]
fn gitlab_gets_junit_and_dotenv() {
    let sim = sim_with(|_| {});
    mark(&sim);
    let dir = tempfile::tempdir().unwrap();
    let config = examples().join("demo");
    let out = Slogate::new()
        .current_dir(dir.path())
        .env("DT_URL", sim.url())
        .env("DT_API_TOKEN", TOKEN)
        .env("GITLAB_CI", "true")
        .args([
            "gate",
            "--config",
            config.to_str().unwrap(),
            "--since-deployment",
            "--timeframe",
            "25m",
        ])
        .run();
    out.assert_code(1);
    let env = std::fs::read_to_string(dir.path().join("slogate-report/slogate.env")).unwrap();
    assert!(env.lines().any(|l| l == "SLOGATE_RESULT=fail"), "{env}");
    assert!(dir.path().join("slogate-report/junit.xml").is_file());
}

#[test]
fn push_result_puts_the_verdict_on_the_timeline() {
    let sim = sim_with(|_| {});
    mark(&sim);
    let out = gate(&sim, &["--push-result", "--format", "json"]);
    out.assert_code(1);
    let r = out.json();
    assert!(r["resultEvent"].is_string());
    let info: Vec<_> = sim
        .events()
        .into_iter()
        .filter(|e| e["eventType"] == "CUSTOM_INFO")
        .collect();
    assert_eq!(info.len(), 1);
    let text = info[0].to_string();
    assert!(
        text.contains("slogate.result") && text.contains("\"fail\""),
        "{text}"
    );
}

#[test]
fn fail_on_warning() {
    // Only the p95 objective regresses mildly: 1.12 puts it between pass and warning.
    let sim = sim_with(|v| {
        v["regressions"][0]["factor"] = serde_json::json!(1.12);
    });
    mark(&sim);
    let out = gate(&sim, &["--format", "json"]);
    let result = out.json()["result"].as_str().unwrap().to_string();
    if result == "warning" {
        out.assert_code(0);
        gate(&sim, &["--fail-on", "warning"]).assert_code(1);
    } else {
        // the noise may tip it either way; the flag must never turn a fail into a pass
        assert_eq!(result, "fail");
        gate(&sim, &["--fail-on", "warning"]).assert_code(1);
    }
}
