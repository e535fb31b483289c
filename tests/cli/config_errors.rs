//! A typo never rolls back a release: an objective whose SLI is defined nowhere, a metric
//! selector Dynatrace refuses and a PromQL query Prometheus cannot parse are `invalid` (exit 2)
//! in every output, while the JSON report keeps Keptn's own view of the evaluation.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use crate::pipeline::{TOKEN, sim_with};
use crate::support::{Output, Slogate, examples};

/// The demo config copied into a fresh folder, with `edit` applied to one of its files.
fn demo_with(file: &str, from: &str, to: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("slo");
    std::fs::create_dir_all(&cfg).unwrap();
    for f in ["sli.yaml", "slo.yaml", "slogate.yaml"] {
        let text = std::fs::read_to_string(examples().join("demo").join(f)).unwrap();
        let text = if f == file {
            assert!(text.contains(from), "{from} not in {f}");
            text.replacen(from, to, 1)
        } else {
            text
        };
        std::fs::write(cfg.join(f), text).unwrap();
    }
    dir
}

/// A gate in GitHub Actions with every report, as a pipeline runs it.
fn gate(dir: &Path, url: &str) -> Output {
    Slogate::new()
        .current_dir(dir)
        .env("DT_URL", url)
        .env("DT_API_TOKEN", TOKEN)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", dir.join("github_output").to_str().unwrap())
        .args([
            "gate",
            "--config",
            "slo",
            "--deployment-time",
            "now-30m",
            "--timeframe",
            "25m",
            "--output",
            "report.json",
            "--report-dir",
            "reports",
        ])
        .run()
}

/// The outcome as every output tells it: JSON `result`, the text headline, JUnit, the GitHub
/// step output and the run's error annotation.
fn assert_invalid_everywhere(dir: &Path, out: &Output) -> serde_json::Value {
    out.assert_no_panic().assert_code(2);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["result"], "invalid", "{report:#}");
    let text = std::fs::read_to_string(dir.join("reports/report.txt")).unwrap();
    assert!(text.starts_with("INVALID INPUT: "), "{text}");
    let junit = std::fs::read_to_string(dir.join("reports/junit.xml")).unwrap();
    assert!(junit.contains("<error"), "{junit}");
    let outputs = std::fs::read_to_string(dir.join("github_output")).unwrap();
    assert!(outputs.lines().any(|l| l == "result=invalid"), "{outputs}");
    assert!(!outputs.lines().any(|l| l == "result=fail"), "{outputs}");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("::error title=slogate") && l.contains("::INVALID INPUT: ")),
        "{}",
        out.stdout
    );
    report
}

fn indicator<'a>(report: &'a serde_json::Value, sli: &str) -> &'a serde_json::Value {
    report["indicatorResults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["value"]["metric"] == sli)
        .unwrap()
}

#[test]
fn an_objective_on_an_undefined_sli_is_invalid_with_the_line_and_the_name_meant() {
    let sim = sim_with(|_| {});
    let dir = demo_with("slo.yaml", "  - sli: error_rate", "  - sli: eror_rate");
    let out = gate(dir.path(), &sim.url());
    // Said at plan time, where it is written, with the SLI meant.
    out.assert_stderr_contains("slo.yaml:18:10")
        .assert_stderr_contains("did you mean `error_rate`?");
    let report = assert_invalid_everywhere(dir.path(), &out);
    assert!(
        report["invalidInput"]
            .as_str()
            .unwrap()
            .contains("eror_rate: SLI definition for 'eror_rate' was not found"),
        "{report:#}"
    );
    // Keptn's view stays: the objective failed as Keptn scored it, the evaluation is Keptn's.
    let ir = indicator(&report, "eror_rate");
    assert_eq!(ir["status"], "fail");
    assert_eq!(ir["score"], 0.0);
    assert_eq!(ir["value"]["success"], false);
    assert!(
        ["pass", "warning", "fail"].contains(&report["evaluationResult"].as_str().unwrap()),
        "{report:#}"
    );
}

#[test]
fn a_metric_selector_typo_is_found_by_lint_and_is_invalid_when_dynatrace_refuses_it() {
    let dir = demo_with(
        "sli.yaml",
        "requestCount.total:merge(\\\"dt.entity.service\\\"):sum&",
        "requestCount.total:merge(\\\"dt.entity.service\\\"):summ&",
    );
    // Lint first: the exact place, and the transformation meant.
    let lint = Slogate::new()
        .current_dir(dir.path())
        .args(["lint", "--color", "never", "slo"])
        .run();
    lint.assert_no_panic()
        .assert_code(2)
        .assert_stderr_contains("slogate::bad-selector")
        .assert_stderr_contains("unknown transformation `summ`")
        .assert_stderr_contains("sli.yaml:8:95")
        .assert_stderr_contains("did you mean `sum`?");
    // The gate: Dynatrace answers 400 "Metric selector parse error": invalid, not fail.
    let sim = sim_with(|_| {});
    let out = gate(dir.path(), &sim.url());
    let report = assert_invalid_everywhere(dir.path(), &out);
    let ir = indicator(&report, "throughput");
    assert!(
        ir["error"]
            .as_str()
            .unwrap()
            .contains("Metric selector parse error"),
        "{ir:#}"
    );
    assert_eq!(ir["status"], "fail", "Keptn's view of the objective");
}

/// A stand-in Prometheus answering every query 400 `bad_data` (a parse error), for at most 10
/// requests or 20 seconds.
fn prometheus_refusing_every_query() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut served = 0;
        while served < 10 && std::time::Instant::now() < deadline {
            let Ok((stream, _)) = listener.accept() else {
                std::thread::sleep(std::time::Duration::from_millis(10));
                continue;
            };
            served += 1;
            stream.set_nonblocking(false).unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 {
                    break;
                }
                let h = h.trim_end().to_ascii_lowercase();
                if h.is_empty() {
                    break;
                }
                if let Some(v) = h.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            let answer = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:6: parse error: unexpected end of input"}"#;
            let mut stream = stream;
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                )
                .as_bytes(),
            );
        }
    });
    url
}

#[test]
fn a_promql_parse_error_is_invalid_not_fail() {
    let dir = tempfile::tempdir().unwrap();
    let root: PathBuf = dir.path().join("slo");
    std::fs::create_dir_all(root.join("prometheus")).unwrap();
    std::fs::write(
        root.join("prometheus/sli.yaml"),
        "indicators:\n  errors: \"sum(rate(http_requests_total{status=~\\\"5..\\\"}[$DURATION_SECONDS])\"\n",
    )
    .unwrap();
    std::fs::write(
        root.join("slo.yaml"),
        "objectives:\n  - sli: errors\n    pass: [{criteria: [\"<5\"]}]\ntotal_score: {pass: \"90%\"}\n",
    )
    .unwrap();
    let out = Slogate::new()
        .current_dir(dir.path())
        .env("PROMETHEUS_URL", prometheus_refusing_every_query())
        .args([
            "eval",
            "--config",
            "slo",
            "--from",
            "2026-11-17T10:00:00Z",
            "--to",
            "2026-11-17T10:30:00Z",
            "--format",
            "json",
            "--ci",
            "none",
        ])
        .run();
    out.assert_no_panic().assert_code(2);
    let report = out.json();
    assert_eq!(report["result"], "invalid", "{report:#}");
    assert_eq!(report["evaluationResult"], "fail", "Keptn's view");
    let ir = indicator(&report, "errors");
    assert_eq!(ir["status"], "fail");
    assert!(
        ir["value"]["message"]
            .as_str()
            .unwrap()
            .contains("bad_data: invalid parameter"),
        "{ir:#}"
    );
}
