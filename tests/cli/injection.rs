//! Nothing a server or a file says can steer the pipeline (issue 18): hostile stand-in servers on
//! 127.0.0.1 put CI logging commands, control characters and echoed credentials into error
//! messages, series labels and tile titles; no line of slogate's output but its own commands may
//! be read as a command by Azure DevOps, GitHub or GitLab, and no credential appears in any
//! encoding.

use dtsim::start_blocking;
use serde_json::Value;

use crate::support::{Output, Script, Slogate, examples, response};

/// What an Azure agent, a GitHub runner or GitLab would act on, other than slogate's own
/// commands, in every line of stdout and stderr (a bare `\r` is a line break for Azure).
#[track_caller]
pub(crate) fn assert_only_own_commands(out: &Output) {
    const OWN_AZURE: [&str; 4] = [
        "##vso[task.logissue type=",
        "##vso[task.setvariable variable=SLOGATE_",
        "##vso[task.uploadsummary]",
        "##vso[task.complete result=SucceededWithIssues;]",
    ];
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        for line in text.split(['\n', '\r']) {
            let lower = line.to_ascii_lowercase();
            if lower.contains("##vso[") {
                assert!(
                    stream == "stdout"
                        && OWN_AZURE.iter().any(|p| line.starts_with(p))
                        && lower.matches("##vso[").count() == 1,
                    "{stream} carries a foreign Azure command: {line:?}\n{out:?}"
                );
            }
            assert!(!line.contains("##["), "{stream}: {line:?}");
            if line.trim_start().starts_with("::") {
                assert!(
                    stream == "stdout"
                        && (line.starts_with("::error title=slogate")
                            || line.starts_with("::warning title=slogate")
                            || line.starts_with("::notice title=slogate")),
                    "{stream} carries a foreign GitHub command: {line:?}"
                );
            }
            assert!(!line.contains('\u{1b}'), "{stream} carries ESC: {line:?}");
        }
    }
}

/// Azure's `SLOGATE_RESULT` lines on stdout.
fn azure_results(out: &Output) -> Vec<String> {
    out.stdout
        .lines()
        .filter(|l| l.starts_with("##vso[task.setvariable variable=SLOGATE_RESULT"))
        .map(str::to_string)
        .collect()
}

const HOSTILE: &str = "bad\n##vso[task.setvariable variable=SLOGATE_RESULT;isreadonly=true]pass\r##vso[task.prependpath]/tmp/evil\n::add-mask::x\n::stop-commands::tok\n##[error]forged\u{1b}]0;t\u{7}\u{1b}[2K";

fn prometheus_gate(url: &str) -> Slogate {
    Slogate::new()
        .current_dir(examples())
        .env("PROMETHEUS_URL", url)
        .args(["gate", "--config", "prometheus", "--timeframe", "30m"])
        .args(["--deployment-time", "2026-11-17T10:00:00Z"])
}

#[test]
fn a_prometheus_error_cannot_set_the_result_on_azure() {
    let body = serde_json::json!({"status": "error", "errorType": "execution", "error": HOSTILE})
        .to_string();
    let server = Script::start(200, move |_, _| {
        response(
            "422 Unprocessable Entity",
            &[("content-type", "application/json")],
            &body,
        )
    });
    let out = prometheus_gate(&server.url()).env("TF_BUILD", "True").run();
    out.assert_no_panic();
    assert_only_own_commands(&out);
    let results = azure_results(&out);
    assert_eq!(results.len(), 1, "{results:?}");
    assert!(!results[0].ends_with("]pass"), "{results:?}");
    // Still readable: the server's words are there, escaped.
    assert!(out.stdout.contains("task.prependpath"), "{out:?}");
}

#[test]
fn hostile_series_labels_reach_no_output_as_commands_on_any_ci() {
    let label = HOSTILE.to_string();
    let server = Script::start(200, move |_, _| {
        // A matrix answer: its message quotes every series' labels.
        let body =
            serde_json::json!({"status": "success", "data": {"resultType": "matrix", "result": [
                {"metric": {"pod": label.clone()}, "values": [[1763373600, "1"]]},
                {"metric": {"pod": "b"}, "values": [[1763373600, "2"]]},
            ]}})
            .to_string();
        response("200 OK", &[("content-type", "application/json")], &body)
    });
    for (var, value) in [
        ("TF_BUILD", "True"),
        ("GITHUB_ACTIONS", "true"),
        ("GITLAB_CI", "true"),
        ("NOTHING", "1"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = prometheus_gate(&server.url())
            .env(var, value)
            .arg("--report-dir")
            .arg(dir.path().join("r"))
            .run();
        out.assert_no_panic();
        assert_only_own_commands(&out);
        // The files a later step may print are as clean, and the JSON reads back.
        for f in [
            "report.txt",
            "summary.md",
            "junit.xml",
            "report.html",
            "report.json",
        ] {
            let text = std::fs::read_to_string(dir.path().join("r").join(f)).unwrap();
            assert!(!text.contains("##vso["), "{f}: {text}");
            assert!(!text.contains('\u{1b}'), "{f}");
            if f == "report.json" {
                serde_json::from_str::<Value>(&text).unwrap();
            }
        }
    }
}

#[test]
fn json_on_stdout_stays_json_and_keeps_the_servers_words() {
    let body = serde_json::json!({"status": "error", "errorType": "bad_data", "error": HOSTILE})
        .to_string();
    let server = Script::start(200, move |_, _| {
        response(
            "422 Unprocessable Entity",
            &[("content-type", "application/json")],
            &body,
        )
    });
    let out = prometheus_gate(&server.url())
        .args(["--format", "json"])
        .env("TF_BUILD", "True")
        .run();
    assert_only_own_commands(&out);
    let json_part: String = out
        .stdout
        .lines()
        .take_while(|l| !l.starts_with("##vso["))
        .collect::<Vec<_>>()
        .join("\n");
    let report: Value = serde_json::from_str(&json_part).unwrap();
    // Decoded, the JSON holds exactly what the server said.
    assert!(
        report.to_string().contains("task.prependpath"),
        "{report:#}"
    );
}

#[test]
fn a_tile_title_with_escape_sequences_exports_yaml_a_strict_parser_reads() {
    let text = std::fs::read_to_string(examples().join("dashboard/scenario.json")).unwrap();
    let mut scenario: Value = serde_json::from_str(&text).unwrap();
    let mut changed = 0;
    for d in scenario["dashboards"].as_array_mut().into_iter().flatten() {
        for t in d["tiles"].as_array_mut().into_iter().flatten() {
            if let Some(name) = t["name"].as_str() {
                t["name"] = Value::String(format!("\u{1b}[31m##vso[task.prependpath]x\n{name}"));
                changed += 1;
            }
        }
    }
    assert!(changed > 0, "the scenario has no named tiles");
    let sim = start_blocking(dtsim::scenario_from_json(&scenario.to_string()).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = Slogate::new()
        .args(["dashboard", "export", "--from", "2026-11-17T09:00:00Z"])
        .args(["--to", "2026-11-17T10:00:00Z", "--config"])
        .arg(examples().join("dashboard"))
        .arg("--out")
        .arg(dir.path())
        .env("DT_URL", sim.url())
        .env("DT_API_TOKEN", "dt0c01.SIMULATOR.TOKEN")
        .env("TF_BUILD", "True")
        .run();
    out.assert_no_panic();
    assert_only_own_commands(&out);
    let mut files = Vec::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                files.push(e.path());
            }
        }
    }
    assert!(!files.is_empty(), "{out:?}");
    for f in files {
        let yaml = std::fs::read_to_string(&f).unwrap();
        assert!(
            !yaml.contains('\u{1b}') && !yaml.contains("##vso["),
            "{yaml}"
        );
        // A strict YAML parser reads the whole file.
        let mut parser = saphyr_parser::Parser::new_from_str(&yaml);
        loop {
            match parser.next() {
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("{}: {e}\n{yaml}", f.display()),
                None => break,
            }
        }
    }
}

// --- credentials in any encoding ------------------------------------------------------------

#[track_caller]
fn assert_hidden(out: &Output, needles: &[&str]) {
    let all = format!("{}\n{}", out.stdout, out.stderr);
    for n in needles {
        assert!(!all.contains(n), "the output shows {n:?}\n{out:?}");
    }
}

#[test]
fn a_prometheus_error_quoting_the_authorization_header_shows_no_credential() {
    let server = Script::start(200, move |_, head| {
        let auth = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
            .unwrap_or("")
            .to_string();
        let body = serde_json::json!({"status": "error", "errorType": "bad_data",
            "error": format!("refused request with {auth} (password s3cr3t! decoded)")})
        .to_string();
        response(
            "400 Bad Request",
            &[("content-type", "application/json")],
            &body,
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let out = prometheus_gate(&server.url())
        .env("PROMETHEUS_USER", "keptn")
        .env("PROMETHEUS_PASSWORD", "s3cr3t!")
        .arg("--report-dir")
        .arg(dir.path())
        .run();
    out.assert_no_panic();
    // base64("keptn:s3cr3t!") and the 7-character password itself.
    let b64 = "a2VwdG46czNjcjN0IQ";
    assert_hidden(&out, &[b64, "s3cr3t!"]);
    for e in std::fs::read_dir(dir.path()).unwrap().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        assert!(
            !text.contains(b64) && !text.contains("s3cr3t!"),
            "{}",
            e.path().display()
        );
    }
    assert!(server.requests().iter().any(|r| r.contains(b64)));
}

#[test]
fn a_page_starting_with_the_basic_credential_shows_none_of_it() {
    let server = Script::start(200, move |_, _| {
        response(
            "200 OK",
            &[("content-type", "text/plain")],
            "a2VwdG46czNjcjN0IQ== is what you sent; this is not JSON",
        )
    });
    let out = prometheus_gate(&server.url())
        .env("PROMETHEUS_USER", "keptn")
        .env("PROMETHEUS_PASSWORD", "s3cr3t!")
        .run();
    out.assert_no_panic();
    assert_hidden(&out, &["a2VwdG46", "czNjcjN0"]);
}

#[test]
fn a_password_too_short_to_hide_is_named_at_start_up() {
    let server = Script::start(200, move |_, _| {
        response(
            "503 Service Unavailable",
            &[("content-type", "text/plain")],
            "down",
        )
    });
    let out = prometheus_gate(&server.url())
        .env("PROMETHEUS_USER", "keptn")
        .env("PROMETHEUS_PASSWORD", "abc")
        .run();
    out.assert_no_panic();
    out.assert_stderr_contains("the password in PROMETHEUS_PASSWORD is 3 characters long");
}

#[test]
fn hostile_entity_names_and_metric_units_from_dynatrace_stay_text() {
    let text = std::fs::read_to_string(examples().join("dynatrace/scenario.json")).unwrap();
    let mut scenario: Value = serde_json::from_str(&text).unwrap();
    scenario["services"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "id": "SERVICE-0000000000000009",
            "name": format!("checkou\n{HOSTILE}"),
            "tags": ["app:other"],
            "management_zones": ["prod"],
        }));
    for (_, m) in scenario["metrics"].as_object_mut().unwrap() {
        m["unit"] =
            Value::String("MicroSecond\n::add-mask::##vso[task.complete result=Succeeded]".into());
    }
    let sim = start_blocking(dtsim::scenario_from_json(&scenario.to_string()).unwrap()).unwrap();
    for service in ["checkout", "checkoutt"] {
        for ci in ["TF_BUILD", "GITHUB_ACTIONS"] {
            let dir = tempfile::tempdir().unwrap();
            let out = Slogate::new()
                .current_dir(examples())
                .args(["eval", "--config", "dynatrace", "--service", service])
                .args([
                    "--from",
                    "2026-11-17T09:00:00Z",
                    "--to",
                    "2026-11-17T10:00:00Z",
                ])
                .arg("--report-dir")
                .arg(dir.path())
                .env("DT_URL", sim.url())
                .env("DT_API_TOKEN", "dt0c01.SIMULATOR.TOKEN")
                .env(ci, "true")
                .run();
            out.assert_no_panic();
            assert_only_own_commands(&out);
        }
    }
}
