//! The verdict in context, against the simulator: problems opened after the deployment, the
//! problem policy, a feature flag flipped inside the after window, a token without
//! problems.read, and the links into Dynatrace.

use dtsim::BlockingSim;
use serde_json::json;

use crate::pipeline::{mark, sim_with, slogate};
use crate::support::examples;

/// A clean release (no regression) on which Davis opens a problem after the deployment, with a
/// flag flipped inside the after window and a configuration change before the deployment; a
/// problem on another service must not show.
fn eventful() -> BlockingSim {
    sim_with(|v| {
        v["regressions"] = json!([]);
        v["problems"] = json!([
            {"display_id": "P-9", "title": "Failure rate increase", "service": "checkout",
             "severity": "ERROR", "start": "now-20m", "end": null, "root_cause": "checkout"},
            {"display_id": "P-8", "title": "Long garbage-collection time", "service": "checkout",
             "severity": "RESOURCE_CONTENTION", "start": "now-50m", "end": "now-40m"},
            {"display_id": "P-7", "title": "Elsewhere", "service": "cart",
             "start": "now-20m", "end": null}
        ]);
        v["events"] = json!([
            {"eventType": "CUSTOM_INFO", "title": "flag flipped", "startTime": "now-15m",
             "entitySelector": "type(SERVICE),tag(\"app:checkout\")",
             "properties": {"feature_flag.key": "new-checkout-flow", "feature_flag.variant": "on"}},
            {"eventType": "CUSTOM_CONFIGURATION", "title": "pool size 20 -> 40", "startTime": "now-45m",
             "entitySelector": "type(SERVICE),tag(\"app:checkout\")"}
        ]);
        v["tokens"].as_array_mut().unwrap().push(json!({
            "token": "dt0c01.NOPROBLEMS.TOKEN",
            "scopes": ["metrics.read", "events.ingest", "events.read", "entities.read"]
        }));
    })
}

/// The demo's metric SLIs (no problem or security SLI, which would need their own scopes) with
/// `extra` appended to its slogate.yaml.
fn config(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let demo = examples().join("demo");
    let sli = std::fs::read_to_string(demo.join("sli.yaml")).unwrap();
    let sli: String = sli
        .lines()
        .filter(|l| !l.contains("SLO;") && !l.contains("PV2;"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.path().join("sli.yaml"), sli).unwrap();
    std::fs::write(
        dir.path().join("slo.yaml"),
        "spec_version: \"1.0\"\nobjectives:\n  - sli: response_time_p95\n    pass:\n      - criteria: [\"<=+10%\", \"<600\"]\n  - sli: error_rate\n    pass:\n      - criteria: [\"<=+50%\", \"<=1\"]\ntotal_score: {pass: \"90%\", warning: \"75%\"}\n",
    )
    .unwrap();
    let mut settings = std::fs::read_to_string(demo.join("slogate.yaml")).unwrap();
    settings.push_str(extra);
    std::fs::write(dir.path().join("slogate.yaml"), settings).unwrap();
    dir
}

fn gate(sim: &BlockingSim, dir: &tempfile::TempDir, extra: &[&str]) -> crate::support::Output {
    slogate(sim)
        .arg("gate")
        .arg("--config")
        .arg(dir.path())
        .args(["--since-deployment", "--timeframe", "25m", "--ci", "none"])
        .args(extra)
        .run()
}

#[test]
fn problems_and_changes_in_the_windows_are_listed_and_note_changes_nothing() {
    let sim = eventful();
    mark(&sim);
    let dir = config("");
    let r = gate(&sim, &dir, &["--format", "json"]);
    r.assert_code(0);
    let r = r.json();
    assert_eq!(r["result"], "pass");
    assert_eq!(r["evaluationResult"], "pass");
    let c = &r["context"];
    assert_eq!(c["problemPolicy"], "note");
    let problems = c["problems"].as_array().unwrap();
    let ids: Vec<&str> = problems
        .iter()
        .map(|p| p["displayId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["P-8", "P-9"], "{c}");
    assert_eq!(problems[0]["windows"], json!(["before"]));
    assert_eq!(problems[0]["startedAfterDeployment"], false);
    assert_eq!(problems[1]["startedAfterDeployment"], true);
    assert_eq!(problems[1]["status"], "OPEN");
    assert_eq!(problems[1]["rootCause"], "checkout");
    let link = problems[1]["link"].as_str().unwrap();
    assert!(
        link.starts_with(&format!("{}/#problems/problemdetails;pid=", sim.url())),
        "{link}"
    );
    let changes = c["changes"].as_array().unwrap();
    let what: Vec<(&str, &str)> = changes
        .iter()
        .map(|c| (c["what"].as_str().unwrap(), c["window"].as_str().unwrap()))
        .collect();
    // The anchoring deployment is no confounder; the flag and the configuration change are.
    assert_eq!(
        what,
        [
            ("pool size 20 -> 40", "before"),
            ("new-checkout-flow=on", "after")
        ]
    );
    assert_eq!(changes[1]["kind"], "feature flag change");
    assert!(c.get("policyChanged").is_none());
    assert!(
        c["serviceLink"]
            .as_str()
            .unwrap()
            .contains("serviceOverview;id=SERVICE-0000000000000001;gtf=c_")
    );
    // Asked beside the metrics, once per service over both windows.
    let asked = |p: &str| sim.requests().iter().filter(|r| r.path == p).count();
    // The service's, its process groups' and their hosts' (docs/context.md).
    assert_eq!(asked("/api/v2/problems"), 3);
    // `mark` read its event back by correlation id: not the gate's.
    let gate_events = sim
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v2/events")
        .filter(|r| {
            !r.param("eventSelector")
                .is_some_and(|s| s.starts_with("correlationId"))
        })
        .count();
    assert_eq!(gate_events, 2, "the deployment lookup and the changes");

    // The people's report says the same.
    let text = gate(&sim, &dir, &[]);
    text.assert_code(0)
        .assert_stdout_contains("Problems in the windows (policy: note):")
        .assert_stdout_contains("new: P-9 Failure rate increase (ERROR, OPEN, since")
        .assert_stdout_contains("started after the deployment, in the after window")
        .assert_stdout_contains("feature flag change `new-checkout-flow=on` at")
        .assert_stdout_contains("inside the after window (on checkout)");
    assert!(!text.stdout.contains("P-7"), "{}", text.stdout);
}

#[test]
fn the_problem_policy_fails_or_caps_a_clean_release_and_says_so() {
    let sim = eventful();
    mark(&sim);
    let dir = config("context:\n  problems: fail\n");
    let out = gate(&sim, &dir, &["--format", "json"]);
    out.assert_code(1);
    let r = out.json();
    assert_eq!(r["result"], "fail");
    // Keptn's view stays Keptn's.
    assert_eq!(r["evaluationResult"], "pass");
    let change = &r["context"]["policyChanged"];
    assert_eq!(change["from"], "pass");
    assert_eq!(change["to"], "fail");
    assert!(
        change["reason"].as_str().unwrap().contains("P-9"),
        "{change}"
    );
    gate(&sim, &dir, &[])
        .assert_code(1)
        .assert_stdout_contains("The problem policy changed the outcome from pass to fail");

    let dir = config("context:\n  problems: warning\n");
    let r = gate(&sim, &dir, &["--format", "json"]);
    r.assert_code(0);
    assert_eq!(r.json()["result"], "warning");
    let r = gate(&sim, &dir, &["--format", "json", "--fail-on", "warning"]);
    r.assert_code(1);
}

#[test]
fn without_problems_read_the_problems_are_not_checked_never_silently_empty() {
    let sim = eventful();
    mark(&sim);
    let dir = config("");
    let out = slogate(&sim)
        .env("DT_API_TOKEN", "dt0c01.NOPROBLEMS.TOKEN")
        .arg("gate")
        .arg("--config")
        .arg(dir.path())
        .args([
            "--since-deployment",
            "--timeframe",
            "25m",
            "--ci",
            "none",
            "--format",
            "json",
        ])
        .run()
        .assert_code(0)
        .assert_stderr_contains("lacks problems.read: the problems in the windows are not checked")
        .json();
    let c = &out["context"];
    assert!(
        c["problemsNotChecked"]
            .as_str()
            .unwrap()
            .contains("problems.read"),
        "{c}"
    );
    assert_eq!(c["problems"], json!([]));
    // A policy that decides the outcome needs the scope: the preflight names it, before any wait.
    let dir = config("context:\n  problems: fail\n");
    slogate(&sim)
        .env("DT_API_TOKEN", "dt0c01.NOPROBLEMS.TOKEN")
        .arg("gate")
        .arg("--config")
        .arg(dir.path())
        .args(["--since-deployment", "--timeframe", "25m", "--ci", "none"])
        .run()
        .assert_code(3)
        .assert_stderr_contains("lacks the scope problems.read");
}

#[test]
fn ignore_asks_nothing() {
    let sim = eventful();
    mark(&sim);
    let dir = config("context:\n  problems: ignore\n  changes: ignore\n");
    let r = gate(&sim, &dir, &["--format", "json"]);
    r.assert_code(0);
    assert!(r.json().get("context").is_none());
    assert!(!sim.requests().iter().any(|r| r.path == "/api/v2/problems"));
}

#[test]
fn the_statistical_judge_names_a_window_that_holds_another_change() {
    let sim = eventful();
    mark(&sim);
    let dir = config("");
    let r = gate(&sim, &dir, &["--format", "json", "--judge", "statistical"]);
    r.assert_code(0);
    let r = r.json();
    let judged: Vec<&str> = r["indicatorResults"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["judge"]["summary"].as_str())
        .collect();
    assert!(!judged.is_empty(), "{r:#}");
    for s in judged {
        assert!(
            s.contains("the before window contains another change (configuration change pool size 20 -> 40 at")
                && s.contains("the after window contains another change (feature flag change new-checkout-flow=on at"),
            "{s}"
        );
    }
}

#[test]
fn maintenance_windows_on_the_service_are_changes_when_asked_for() {
    let at = |minutes_ago: i64| {
        (chrono::Utc::now() - chrono::Duration::minutes(minutes_ago))
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string()
    };
    let window = |name: &str, tag: &str, from: i64, to: i64| {
        json!({"enabled": true,
               "generalProperties": {"name": name, "maintenanceType": "PLANNED",
                                     "suppression": "DETECT_PROBLEMS_AND_ALERT"},
               "schedule": {"scheduleType": "ONCE",
                            "onceRecurrence": {"startTime": at(from), "endTime": at(to), "timeZone": "UTC"}},
               "filters": [{"entityType": "SERVICE", "entityTags": [tag]}]})
    };
    let (mine, other) = (
        window("db failover", "keptn_service:checkout", 12, 8),
        window("cart upgrade", "keptn_service:cart", 12, 8),
    );
    // A daily window in Kolkata time (UTC+5:30) from 20 to 16 minutes ago, and one whose zone
    // does not exist.
    let kolkata =
        |minutes_ago: i64| chrono::Utc::now() + chrono::Duration::minutes(330 - minutes_ago);
    let daily = |name: &str, zone: &str| {
        json!({"enabled": true,
               "generalProperties": {"name": name, "maintenanceType": "PLANNED",
                                     "suppression": "DETECT_PROBLEMS_AND_ALERT"},
               "schedule": {"scheduleType": "DAILY", "dailyRecurrence": {
                   "timeWindow": {"startTime": kolkata(20).format("%H:%M:00").to_string(),
                                  "endTime": kolkata(16).format("%H:%M:00").to_string(),
                                  "timeZone": zone},
                   "recurrenceRange": {
                       "scheduleStartDate": (kolkata(0) - chrono::Duration::days(2)).format("%Y-%m-%d").to_string(),
                       "scheduleEndDate": (kolkata(0) + chrono::Duration::days(2)).format("%Y-%m-%d").to_string()}}},
               "filters": [{"entityType": "SERVICE", "entityTags": ["keptn_service:checkout"]}]})
    };
    let (nightly, lost) = (
        daily("nightly job", "Asia/Kolkata"),
        daily("lost", "Mars/Olympus"),
    );
    let sim = sim_with(move |v| {
        v["regressions"] = json!([]);
        v["maintenance_windows"] = json!([mine, other, nightly, lost]);
        v["tokens"].as_array_mut().unwrap().push(json!({
            "token": "dt0c01.SETTINGS.TOKEN",
            "scopes": ["metrics.read", "events.ingest", "events.read", "problems.read",
                       "entities.read", "settings.read"]
        }));
    });
    mark(&sim);
    let dir = config("context:\n  maintenance: note\n");
    let out = slogate(&sim)
        .env("DT_API_TOKEN", "dt0c01.SETTINGS.TOKEN")
        .arg("gate")
        .arg("--config")
        .arg(dir.path())
        .args([
            "--since-deployment",
            "--timeframe",
            "25m",
            "--ci",
            "none",
            "--format",
            "json",
        ])
        .run();
    out.assert_code(0);
    let c = &out.json()["context"];
    let changes: Vec<(&str, &str, &str)> = c["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap(),
                c["what"].as_str().unwrap(),
                c["window"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("maintenance window", "nightly job", "after"),
            ("maintenance window", "db failover", "after")
        ],
        "{c}"
    );
    assert!(
        c["maintenanceNotChecked"]
            .as_str()
            .unwrap()
            .contains("`lost`: unknown time zone \"Mars/Olympus\""),
        "{c}"
    );
    // Asked once for the run, not per service.
    let asked = sim
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v2/settings/objects")
        .count();
    assert_eq!(asked, 1);
    // Without settings.read: named, and not checked.
    let out = gate(&sim, &dir, &["--format", "json"]);
    out.assert_code(0)
        .assert_stderr_contains("lacks settings.read: maintenance windows are not checked");
    assert!(
        out.json()["context"]["maintenanceNotChecked"]
            .as_str()
            .unwrap()
            .contains("settings.read")
    );
}

#[test]
fn hostile_problem_titles_and_flag_values_stay_text_in_every_ci() {
    let hostile = "x\n##vso[task.setvariable variable=SLOGATE_RESULT]pass\r::error::owned\u{1b}[2J";
    let sim = sim_with(move |v| {
        v["regressions"] = json!([]);
        v["problems"] = json!([{"display_id": "P-1", "title": hostile, "service": "checkout",
                                "start": "now-20m", "end": null, "root_cause": "checkout"}]);
        v["events"] = json!([{"eventType": "CUSTOM_INFO", "title": hostile, "startTime": "now-15m",
            "entitySelector": "type(SERVICE),tag(\"app:checkout\")",
            "properties": {"feature_flag.key": hostile, "feature_flag.variant": "on"}}]);
    });
    mark(&sim);
    let dir = config("context:\n  problems: warning\n");
    for ci in ["TF_BUILD", "GITHUB_ACTIONS"] {
        let reports = tempfile::tempdir().unwrap();
        let out = slogate(&sim)
            .arg("gate")
            .arg("--config")
            .arg(dir.path())
            .args(["--since-deployment", "--timeframe", "25m"])
            .arg("--report-dir")
            .arg(reports.path())
            .env(ci, "true")
            .run();
        out.assert_code(0).assert_stdout_contains("P-1");
        crate::injection::assert_only_own_commands(&out);
        for f in std::fs::read_dir(reports.path()).unwrap() {
            let text = std::fs::read_to_string(f.unwrap().path()).unwrap_or_default();
            assert!(!text.to_ascii_lowercase().contains("##vso["), "{text}");
            assert!(!text.contains('\u{1b}'));
        }
    }
}

#[test]
fn problems_on_the_process_group_and_host_the_service_runs_on_are_listed_as_related() {
    let sim = sim_with(|v| {
        v["regressions"] = json!([]);
        let services = v["services"].as_array_mut().unwrap();
        services[0]["runs_on"] = json!(["PROCESS_GROUP-00000000000000A1"]);
        services.push(
            json!({"id": "PROCESS_GROUP-00000000000000A1", "name": "checkout-jvm",
            "entity_type": "PROCESS_GROUP", "runs_on": ["HOST-00000000000000B1"]}),
        );
        services.push(json!({"id": "HOST-00000000000000B1", "name": "node-1",
            "entity_type": "HOST"}));
        services.push(json!({"id": "HOST-00000000000000B2", "name": "node-2",
            "entity_type": "HOST"}));
        v["problems"] = json!([
            {"display_id": "P-21", "title": "CPU saturation", "service": "node-1",
             "severity": "RESOURCE_CONTENTION", "start": "now-20m", "end": null},
            {"display_id": "P-22", "title": "Memory saturation", "service": "checkout-jvm",
             "severity": "RESOURCE_CONTENTION", "start": "now-50m", "end": "now-40m"},
            {"display_id": "P-23", "title": "Another host", "service": "node-2",
             "start": "now-20m", "end": null}
        ]);
    });
    mark(&sim);
    // A related problem is listed, never held against the release: `fail` still passes.
    let dir = config("context:\n  problems: fail\n");
    let r = gate(&sim, &dir, &["--format", "json"]);
    r.assert_code(0);
    let r = r.json();
    assert_eq!(r["result"], "pass");
    let problems = r["context"]["problems"].as_array().unwrap();
    let got: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| {
            (
                p["displayId"].as_str().unwrap(),
                p["onRelated"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [("P-22", "process group"), ("P-21", "host")]);
    let out = gate(&sim, &dir, &[]);
    out.assert_code(0)
        .assert_stdout_contains("P-21 CPU saturation")
        .assert_stdout_contains("on a related host (not the service itself)")
        .assert_stdout_contains("on a related process group");
    assert!(!out.stdout.contains("P-23"), "{}", out.stdout);
}

#[test]
fn explain_lists_the_context_requests_as_the_settings_ask_for_them() {
    let sim = eventful();
    let dir = config("context:\n  problems: ignore\n  maintenance: note\n");
    let out = slogate(&sim)
        .arg("explain")
        .arg("--config")
        .arg(dir.path())
        .args(["--format", "json", "--timeframe", "30m"])
        .run();
    out.assert_code(0);
    let doc = out.json();
    let what: Vec<&str> = doc["contextRequests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["what"].as_str().unwrap())
        .collect();
    assert_eq!(what, ["changes", "maintenance windows"], "{doc}");
    assert!(
        doc["contextRequests"][1]["query"]
            .as_str()
            .unwrap()
            .starts_with("GET /api/v2/settings/objects?"),
        "{doc}"
    );
    assert!(sim.requests().is_empty(), "explain sends nothing");
}
