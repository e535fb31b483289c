//! One outcome, told the same way everywhere: exit code, JSON `result`, CI variables and
//! annotations for Azure DevOps, GitHub and GitLab, and JUnit. An outage is never a failed
//! release; a broken setup is found in seconds.

use std::path::Path;
use std::time::{Duration, Instant};

use dtsim::{BlockingSim, Faults};

use crate::pipeline::{TOKEN, mark, sim_with};
use crate::support::{Output, Slogate, examples};

/// Which CI the run pretends to be in.
#[derive(Clone, Copy, Debug)]
enum Ci {
    Azure,
    GitHub,
    GitLab,
}

const ALL: [Ci; 3] = [Ci::Azure, Ci::GitHub, Ci::GitLab];

/// What a pipeline saw of one run.
struct Seen {
    out: Output,
    /// SLOGATE_RESULT as the CI's variables carry it (each time it was set).
    results: Vec<String>,
    /// The error / warning annotations.
    annotations: Vec<String>,
    junit: Option<String>,
}

/// A gate on the demo config in `ci`, with `dir` as the working folder (GitLab's artifacts and
/// GitHub's files go there).
fn gate_in(ci: Ci, dir: &Path, url: &str, token: &str, args: &[&str]) -> Seen {
    let config = examples().join("demo");
    let outputs = dir.join("github_output");
    let summary = dir.join("step_summary");
    let mut cmd = Slogate::new()
        .current_dir(dir)
        .env("DT_URL", url)
        .env("DT_API_TOKEN", token)
        .arg("gate")
        .args(args);
    if !args.contains(&"--config") {
        cmd = cmd.args(["--config", config.to_str().unwrap()]);
    }
    cmd = match ci {
        Ci::Azure => cmd
            .env("TF_BUILD", "True")
            .env("AGENT_TEMPDIRECTORY", dir.to_str().unwrap()),
        Ci::GitHub => cmd
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", outputs.to_str().unwrap())
            .env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        Ci::GitLab => cmd.env("GITLAB_CI", "true"),
    };
    let out = cmd.run();
    let results = match ci {
        Ci::Azure => out
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix("##vso[task.setvariable variable=SLOGATE_RESULT]"))
            .map(str::to_string)
            .collect(),
        Ci::GitHub => std::fs::read_to_string(&outputs)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("result="))
            .map(str::to_string)
            .collect(),
        Ci::GitLab => std::fs::read_to_string(dir.join("slogate-report/slogate.env"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("SLOGATE_RESULT="))
            .map(str::to_string)
            .collect(),
    };
    let annotations = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("##vso[task.logissue") || l.starts_with("::"))
        .map(str::to_string)
        .collect();
    let junit = std::fs::read_to_string(dir.join("slogate-report/junit.xml")).ok();
    Seen {
        out,
        results,
        annotations,
        junit,
    }
}

/// The JSON report of a run (written with --output).
fn report(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

fn closed_port_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

fn deployed_sim() -> BlockingSim {
    let sim = sim_with(|_| {});
    mark(&sim);
    sim
}

const WINDOW: &[&str] = &["--deployment-time", "now-30m", "--timeframe", "25m"];

#[test]
fn dynatrace_down_is_error_never_fail_in_every_ci() {
    let url = closed_port_url();
    for ci in ALL {
        let dir = tempfile::tempdir().unwrap();
        let seen = gate_in(ci, dir.path(), &url, TOKEN, WINDOW);
        seen.out
            .assert_no_panic()
            .assert_code(3)
            .assert_stderr_contains("cannot be reached")
            .assert_stderr_contains("127.0.0.1");
        assert_eq!(seen.results, ["error"], "{ci:?}: {:?}", seen.out);
        assert!(!seen.out.stdout.contains("FAIL"), "{ci:?}: {:?}", seen.out);
        match ci {
            Ci::GitLab => {
                let junit = seen.junit.expect("GitLab gets a JUnit file");
                assert!(
                    junit.contains("<error") && !junit.contains("<failure"),
                    "{junit}"
                );
            }
            _ => {
                assert_eq!(seen.annotations.len(), 1, "{ci:?}: {:?}", seen.annotations);
                assert!(
                    seen.annotations[0].contains("COULD NOT EVALUATE"),
                    "{:?}",
                    seen.annotations
                );
            }
        }
    }
}

#[test]
fn dynatrace_answering_5xx_is_error_in_report_junit_and_variables() {
    let sim = deployed_sim();
    sim.set_faults(Faults {
        error_rate: 1.0,
        error_status: 503,
        ..Faults::default()
    });
    for ci in ALL {
        let dir = tempfile::tempdir().unwrap();
        let mut args = WINDOW.to_vec();
        args.extend(["--output", "report.json", "--report-dir", "slogate-report"]);
        let seen = gate_in(ci, dir.path(), &sim.url(), TOKEN, &args);
        seen.out.assert_no_panic().assert_code(3);
        let r = report(dir.path());
        assert_eq!(r["result"], "error");
        assert!(
            r["error"].as_str().unwrap().contains("503"),
            "{}",
            r["error"]
        );
        assert_eq!(seen.results, ["error"], "{ci:?}");
        let junit = seen.junit.unwrap();
        assert!(!junit.contains("<failure"), "{junit}");
        assert!(
            junit.contains("<error message=\"could not evaluate"),
            "{junit}"
        );
        let text = std::fs::read_to_string(dir.path().join("slogate-report/report.txt")).unwrap();
        assert!(text.starts_with("COULD NOT EVALUATE: "), "{text}");
        if !matches!(ci, Ci::GitLab) {
            // One error naming the cause, no "objective failed" for data that was not there.
            assert_eq!(seen.annotations.len(), 1, "{:?}", seen.annotations);
            assert!(
                !seen.annotations[0].contains("failed:"),
                "{:?}",
                seen.annotations
            );
        }
    }
}

#[test]
fn an_invalid_criterion_is_invalid_with_no_verdict_and_nothing_fetched() {
    let sim = deployed_sim();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad");
    std::fs::create_dir(&config).unwrap();
    for f in ["sli.yaml", "slogate.yaml"] {
        std::fs::copy(examples().join("demo").join(f), config.join(f)).unwrap();
    }
    let slo = std::fs::read_to_string(examples().join("demo/slo.yaml"))
        .unwrap()
        .replace("\"<=+10%\", \"<600\"", "\"<=+10 percent\", \"<600\"");
    std::fs::write(config.join("slo.yaml"), slo).unwrap();
    for ci in ALL {
        sim.clear_requests();
        let work = tempfile::tempdir().unwrap();
        let mut args = vec!["--config", config.to_str().unwrap()];
        args.extend(WINDOW);
        args.extend(["--output", "report.json"]);
        let seen = gate_in(ci, work.path(), &sim.url(), TOKEN, &args);
        seen.out
            .assert_no_panic()
            .assert_code(2)
            .assert_stderr_contains("slogate::bad-criteria");
        assert!(sim.requests().is_empty(), "{ci:?}: nothing is fetched");
        assert!(
            !work.path().join("report.json").exists(),
            "no verdict report"
        );
        assert_eq!(seen.results, ["invalid"], "{ci:?}");
        if !matches!(ci, Ci::GitLab) {
            assert_eq!(seen.annotations.len(), 1, "{:?}", seen.annotations);
            assert!(
                seen.annotations[0].contains("INVALID INPUT"),
                "{:?}",
                seen.annotations
            );
        }
    }
}

#[test]
fn fail_and_pass_across_services_is_fail_once_with_services_named() {
    let sim = deployed_sim();
    for ci in ALL {
        let dir = tempfile::tempdir().unwrap();
        let mut args = WINDOW.to_vec();
        // fail first, then pass: the last one must not win
        args.extend(["--service", "checkout", "--service", "cart"]);
        let seen = gate_in(ci, dir.path(), &sim.url(), TOKEN, &args);
        seen.out.assert_no_panic().assert_code(1);
        assert_eq!(seen.results, ["fail"], "{ci:?}: set once, the worst");
        if !matches!(ci, Ci::GitLab) {
            assert!(!seen.annotations.is_empty());
            for a in &seen.annotations {
                assert!(a.contains("(checkout)"), "{ci:?}: {a}");
            }
        }
    }
}

#[test]
fn a_refused_push_never_hides_a_fail() {
    let sim = deployed_sim();
    // The push endpoint fails; the verdict does not change.
    sim.set_faults(Faults {
        fail_paths: vec![dtsim::FailPath {
            prefix: "/api/v2/events/ingest".into(),
            status: 403,
            times: None,
            method: None,
            query: None,
        }],
        ..Faults::default()
    });
    for ci in [Ci::Azure, Ci::GitHub] {
        let dir = tempfile::tempdir().unwrap();
        let mut args = WINDOW.to_vec();
        args.push("--push-result");
        let seen = gate_in(ci, dir.path(), &sim.url(), TOKEN, &args);
        seen.out
            .assert_no_panic()
            .assert_code(1)
            .assert_stderr_contains("could not send the verdict");
        assert_eq!(seen.results, ["fail"]);
        assert!(
            seen.annotations
                .iter()
                .any(|a| a.contains("warning") && a.contains("could not send the verdict")),
            "{:?}",
            seen.annotations
        );
    }
}

#[test]
fn a_misspelled_service_is_error_with_a_suggestion() {
    let sim = deployed_sim();
    let dir = tempfile::tempdir().unwrap();
    let mut args = WINDOW.to_vec();
    args.extend(["--service", "chekout", "--output", "report.json"]);
    let seen = gate_in(Ci::GitHub, dir.path(), &sim.url(), TOKEN, &args);
    seen.out.assert_no_panic().assert_code(3);
    let r = report(dir.path());
    assert_eq!(r["result"], "error");
    let e = r["error"].as_str().unwrap();
    assert!(e.contains("no entity matches"), "{e}");
    assert!(e.contains("did you mean checkout"), "{e}");
    assert_eq!(seen.results, ["error"]);
}

#[test]
fn a_wrong_token_with_a_long_wait_ends_in_seconds() {
    let sim = deployed_sim();
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    // The window ends in 40 minutes: without the preflight this would wait.
    let seen = gate_in(
        Ci::Azure,
        dir.path(),
        &sim.url(),
        "dt0c01.WRONG.TOKEN",
        &[
            "--deployment-time",
            "now",
            "--timeframe",
            "40m",
            "--wait",
            "45m",
        ],
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    seen.out
        .assert_no_panic()
        .assert_code(3)
        .assert_stderr_contains("refused the token in DT_API_TOKEN (401)");
    assert!(
        !seen.out.stderr.contains("WRONG"),
        "the token is never printed"
    );
    assert_eq!(seen.results, ["error"]);
}

#[test]
fn a_token_with_a_trailing_line_break_still_works() {
    let sim = deployed_sim();
    let dir = tempfile::tempdir().unwrap();
    let token = format!("{TOKEN}\n");
    let seen = gate_in(Ci::GitLab, dir.path(), &sim.url(), &token, WINDOW);
    seen.out
        .assert_no_panic()
        .assert_code(1)
        .assert_stderr_contains("line break");
    assert_eq!(seen.results, ["fail"]);
}

#[test]
fn flags_clap_refuses_still_set_the_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let out = Slogate::new()
        .current_dir(dir.path())
        .env("TF_BUILD", "True")
        .args(["gate", "--no-such-flag"])
        .run();
    out.assert_no_panic().assert_code(2);
    assert!(
        out.stdout
            .contains("##vso[task.setvariable variable=SLOGATE_RESULT]invalid"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("##vso[task.logissue type=error]slogate: INVALID INPUT: unexpected argument"),
        "{out:?}"
    );
}

/// The deployment time as the gate gets it, a whole minute 30 minutes ago, and in epoch ms.
fn deployment_minute() -> (String, i64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let ms = (now - 30 * 60_000) / 60_000 * 60_000;
    let t = chrono::DateTime::from_timestamp_millis(ms).unwrap();
    (t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), ms)
}

#[test]
fn a_baseline_window_that_answers_503_is_error_not_pass() {
    // The regression is there, but the window before the deployment cannot be fetched:
    // Keptn would pass the relative criteria; the outcome must be "could not evaluate".
    let sim = sim_with(|_| {});
    let (deployed, ms) = deployment_minute();
    sim.set_faults(Faults {
        fail_paths: vec![dtsim::FailPath {
            prefix: "/api/v2/metrics/query".into(),
            status: 503,
            times: None,
            method: None,
            query: Some(format!("to={ms}")),
        }],
        ..Faults::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let seen = gate_in(
        Ci::GitHub,
        dir.path(),
        &sim.url(),
        TOKEN,
        &[
            "--deployment-time",
            &deployed,
            "--timeframe",
            "25m",
            "--report-dir",
            "slogate-report",
            "--output",
            "report.json",
        ],
    );
    seen.out.assert_no_panic().assert_code(3);
    let r = report(dir.path());
    assert_eq!(r["result"], "error", "{r:#}");
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("the baseline window could not be fetched"),
        "{}",
        r["error"]
    );
    assert_eq!(seen.results, ["error"]);
    let read =
        |f: &str| std::fs::read_to_string(dir.path().join("slogate-report").join(f)).unwrap();
    assert!(read("report.txt").starts_with("COULD NOT EVALUATE: "));
    assert!(read("summary.md").starts_with("## slogate: COULD NOT EVALUATE\n"));
    let junit = read("junit.xml");
    assert!(
        junit.contains("<property name=\"result\" value=\"error\"/>"),
        "{junit}"
    );
    assert!(!junit.contains("<failure"), "{junit}");
}

#[test]
fn a_deployment_event_without_a_usable_start_time_anchors_nothing() {
    let (url, _) = crate::dynatrace_forms::canned_server(
        r#"{"totalCount":2,"pageSize":1000,"nextPageKey":null,"events":[{"eventId":"e1","eventType":"CUSTOM_DEPLOYMENT","title":"no start"},{"eventId":"e2","eventType":"CUSTOM_DEPLOYMENT","title":"text start","startTime":"yesterday"}]}"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let seen = gate_in(
        Ci::GitLab,
        dir.path(),
        &url,
        TOKEN,
        &[
            "--since-deployment",
            "--event-wait",
            "0s",
            "--timeframe",
            "25m",
        ],
    );
    seen.out
        .assert_no_panic()
        .assert_code(3)
        .assert_stderr_contains("skipped deployment event e1")
        .assert_stderr_contains("skipped deployment event e2")
        .assert_stderr_contains("no deployment found");
    assert!(!seen.out.stdout.contains("1970"), "{:?}", seen.out);
    assert_eq!(seen.results, ["error"]);
}
#[test]
fn a_bare_number_is_no_duration_and_a_sub_minute_window_is_refused() {
    for (flag, value, says) in [
        ("--timeframe", "30", "30m"),
        ("--timeframe", "30s", "allowed 1m"),
    ] {
        let out = Slogate::new()
            .current_dir(examples())
            .env("DT_URL", "http://127.0.0.1:9")
            .env("DT_API_TOKEN", TOKEN)
            .args([
                "gate",
                "--config",
                "demo",
                "--deployment-time",
                "now-30m",
                flag,
                value,
            ])
            .run();
        out.assert_no_panic()
            .assert_code(2)
            .assert_stderr_contains(says);
    }
}

#[test]
fn reports_show_units_from_the_query_or_the_descriptor() {
    let sim = deployed_sim();
    let dir = tempfile::tempdir().unwrap();
    let mut args = WINDOW.to_vec();
    args.extend(["--report-dir", "slogate-report", "--output", "report.json"]);
    let seen = gate_in(Ci::GitLab, dir.path(), &sim.url(), TOKEN, &args);
    seen.out.assert_no_panic().assert_code(1);
    let r = report(dir.path());
    let unit = |m: &str| {
        r["indicatorResults"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["value"]["metric"] == m)
            .map(|i| i["unit"].clone())
            .unwrap()
    };
    // `:toUnit(MicroSecond,MilliSecond)` and `MV2;MicroSecond` state it; the error rate's
    // descriptor says Percent.
    assert_eq!(unit("response_time_p95"), "MilliSecond");
    assert_eq!(unit("response_time_avg"), "MilliSecond");
    assert_eq!(unit("error_rate"), "Percent");
    let md = std::fs::read_to_string(dir.path().join("slogate-report/summary.md")).unwrap();
    assert!(md.contains(" ms | "), "{md}");
    assert!(md.contains("% | "), "{md}");
}
