//! Odd but well-formed answers (issue 18, §3 and §4): partial data, numbers beyond range, a
//! before-window that fails on a gate with only absolute criteria, redirects that would drop the
//! query, dashboards that are no dashboards. None may give a false pass or a false fail.

use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::support::{Slogate, examples};

/// One request as the stand-in saw it: method, target (`path?query`), body.
type Seen = (String, String, String);

/// A stand-in server on 127.0.0.1: `reply` answers each request (method, target, body) with raw
/// HTTP bytes. It stops after `max` requests or 60 s.
struct Stand {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Stand {
    fn start(max: usize, reply: impl Fn(&Seen) -> Vec<u8> + Send + 'static) -> Stand {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            let mut n = 0usize;
            while n < max && std::time::Instant::now() < deadline {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                };
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or("").to_string();
                let target = parts.next().unwrap_or("").to_string();
                let mut len = 0usize;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 {
                        break;
                    }
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0u8; len];
                let _ = reader.read_exact(&mut body);
                let req = (method, target, String::from_utf8_lossy(&body).into_owned());
                let answer = reply(&req);
                log.lock().unwrap().push(req);
                let mut stream = stream;
                let _ = stream.write_all(&answer);
                let _ = stream.flush();
                n += 1;
            }
        });
        Stand { url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn http(status: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r.push_str(body);
    r.into_bytes()
}

fn vector(value: &str, extra: &str) -> String {
    format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1794913200,"{value}"]}}]}}{extra}}}"#
    )
}

/// The query and time of a Prometheus request, from its URL or its form body.
fn form_of(req: &Seen) -> String {
    if req.0 == "POST" {
        req.2.clone()
    } else {
        req.1
            .split_once('?')
            .map(|(_, q)| q.to_string())
            .unwrap_or_default()
    }
}

/// A config with one Prometheus SLI `rt` and the given objective criteria.
fn prom_config(dir: &Path, url: &str, criteria: &str, settings: &str) {
    std::fs::create_dir_all(dir.join("prometheus")).unwrap();
    std::fs::write(
        dir.join("slogate.yaml"),
        format!(
            "spec_version: \"1\"\nprometheus: {{url: \"{url}\"}}\ndefaults:\n  project: shop\n  stage: production\n  service: checkout\n{settings}"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("prometheus/sli.yaml"),
        "spec_version: '1.0'\nindicators:\n  rt: sum(rate(x[$DURATION_SECONDS]))\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("slo.yaml"),
        format!(
            "spec_version: \"1.0\"\nobjectives:\n  - sli: rt\n    pass:\n      - criteria: [{criteria}]\ntotal_score:\n  pass: \"90%\"\n  warning: \"75%\"\n"
        ),
    )
    .unwrap();
}

/// 2026-11-17T11:00:00Z, a settled historic deployment time.
const DEPLOYED: &str = "2026-11-17T11:00:00Z";
/// The end of the before-window (the deployment), as Prometheus' `time`.
const BEFORE_TIME: &str = "time=1794913200";

fn gate(dir: &Path) -> Slogate {
    gate_as(dir, "json")
}

fn gate_as(dir: &Path, format: &str) -> Slogate {
    Slogate::new().current_dir(dir).args([
        "gate",
        "--config",
        ".",
        "--deployment-time",
        DEPLOYED,
        "--timeframe",
        "30m",
        "--format",
        format,
        "--ci",
        "none",
    ])
}

fn first(report: &serde_json::Value) -> &serde_json::Value {
    &report["indicatorResults"][0]
}

// --- §3: partial data ------------------------------------------------------------------------

const PARTIAL: &str = r#","warnings":["partial response: store eu-1 unavailable"]"#;

#[test]
fn a_partial_prometheus_answer_is_a_note_and_with_strict_data_an_error() {
    let server = Stand::start(20, |_| http("200 OK", &[], &vector("5", PARTIAL)));
    let dir = tempfile::tempdir().unwrap();
    prom_config(dir.path(), &server.url, "\"<600\"", "");
    let out = gate(dir.path()).run();
    out.assert_no_panic().assert_code(0);
    let r = out.json();
    let notes = first(&r)["notes"].to_string();
    assert!(
        notes.contains("warnings") && notes.contains("partial response: store eu-1 unavailable"),
        "{out:?}"
    );
    // The text report shows the note too.
    let text = gate_as(dir.path(), "text").run();
    assert!(text.stdout.contains("partial response"), "{text:?}");
    // Strict: the flag, and the setting.
    let strict = gate(dir.path()).arg("--strict-data").run();
    strict.assert_code(3);
    let r = strict.json();
    assert_eq!(r["result"], "error", "{strict:?}");
    assert!(
        r["error"].as_str().unwrap().contains("partial response"),
        "{strict:?}"
    );
    prom_config(dir.path(), &server.url, "\"<600\"", "  strict_data: true\n");
    gate(dir.path()).run().assert_code(3);
}

#[test]
fn a_hundred_warnings_are_counted_not_listed() {
    let many: Vec<String> = (0..100).map(|i| format!("\"w{i}\"")).collect();
    let body = vector("5", &format!(r#","warnings":[{}]"#, many.join(",")));
    let server = Stand::start(10, move |_| http("200 OK", &[], &body));
    let dir = tempfile::tempdir().unwrap();
    prom_config(dir.path(), &server.url, "\"<600\"", "");
    let out = gate(dir.path()).run();
    out.assert_code(0);
    let notes = first(&out.json())["notes"].to_string();
    assert!(
        notes.contains("w4") && !notes.contains("w5,") && notes.contains("and 95 more"),
        "{notes}"
    );
}

// --- §3: numbers beyond range ------------------------------------------------------------------

#[test]
fn a_change_beyond_the_range_of_numbers_is_not_satisfied_and_is_recorded() {
    // Before: 1e307; after: 1.7e308. `<=+10%` of 1e307 overflows to +Inf: Keptn passed it.
    let server = Stand::start(40, |req| {
        let v = if form_of(req).contains(BEFORE_TIME) {
            "1e307"
        } else {
            "1.7e308"
        };
        http("200 OK", &[], &vector(v, ""))
    });
    for judge in ["keptn", "statistical"] {
        let dir = tempfile::tempdir().unwrap();
        prom_config(dir.path(), &server.url, "\"<=+10%\"", "");
        let history = dir.path().join("history.db");
        let out = gate(dir.path())
            .args(["--judge", judge, "--history", history.to_str().unwrap()])
            .run();
        out.assert_no_panic().assert_code(1);
        let r = out.json();
        assert_eq!(r["result"], "fail", "{out:?}");
        let ir = first(&r);
        assert_eq!(ir["status"], "fail", "{out:?}");
        assert_eq!(ir["passTargets"][0]["violated"], true, "{out:?}");
        assert!(
            ir["notes"].to_string().contains("cannot be computed"),
            "{out:?}"
        );
        assert!(
            !out.stderr.contains("history") || !out.stderr.contains("warning"),
            "the history write failed: {out:?}"
        );
        // The verdict was recorded and reads back.
        let list = Slogate::new()
            .current_dir(dir.path())
            .args([
                "history",
                "list",
                "--history",
                history.to_str().unwrap(),
                "--format",
                "json",
            ])
            .run();
        list.assert_code(0);
        assert!(list.stdout.contains("fail"), "{list:?}");
    }
}

// --- §3: a before-window that cannot be fetched ------------------------------------------------

#[test]
fn an_unfetchable_before_window_is_error_with_absolute_criteria_prometheus() {
    let server = Stand::start(40, |req| {
        if form_of(req).contains(BEFORE_TIME) {
            http("503 Service Unavailable", &[], "busy")
        } else {
            http("200 OK", &[], &vector("5", ""))
        }
    });
    let dir = tempfile::tempdir().unwrap();
    prom_config(dir.path(), &server.url, "\"<600\"", "");
    let out = gate(dir.path()).run();
    out.assert_no_panic().assert_code(3);
    let r = out.json();
    assert_eq!(r["result"], "error", "{out:?}");
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("the baseline window could not be fetched"),
        "{out:?}"
    );
}

#[test]
fn an_unfetchable_before_window_is_error_with_absolute_criteria_dynatrace() {
    use crate::pipeline::{TOKEN, sim_with};
    let sim = sim_with(|_| {});
    let dir = demo_absolute();
    let (deployed, ms) = deployed_30m_ago();
    let run = || {
        Slogate::new()
            .current_dir(dir.path())
            .env("DT_URL", sim.url())
            .env("DT_API_TOKEN", TOKEN)
            .args(["gate", "--config", ".", "--deployment-time", &deployed])
            .args(["--timeframe", "25m", "--format", "json", "--ci", "none"])
            .run()
    };
    // Without the fault the gate passes: the absolute criterion holds.
    run().assert_code(0);
    sim.set_faults(dtsim::Faults {
        fail_paths: vec![dtsim::FailPath {
            prefix: "/api/v2/metrics/query".into(),
            status: 503,
            times: None,
            method: None,
            query: Some(format!("to={ms}")),
        }],
        ..dtsim::Faults::default()
    });
    let out = run();
    out.assert_no_panic().assert_code(3);
    assert_eq!(out.json()["result"], "error", "{out:?}");
}

/// The demo config with one absolute objective (it holds for the simulator's response times).
fn demo_absolute() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["sli.yaml", "slogate.yaml"] {
        std::fs::copy(examples().join("demo").join(f), dir.path().join(f)).unwrap();
    }
    std::fs::write(
        dir.path().join("slo.yaml"),
        "spec_version: \"1.0\"\nobjectives:\n  - sli: response_time_avg\n    pass:\n      - criteria: [\"<1000000\"]\ntotal_score:\n  pass: \"90%\"\n  warning: \"75%\"\n",
    )
    .unwrap();
    dir
}

/// A deployment 30 minutes ago on a whole minute (RFC 3339), and its epoch milliseconds: the
/// end of the before-window in Dynatrace's `to`.
fn deployed_30m_ago() -> (String, i64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let ms = (now - 30 * 60_000) / 60_000 * 60_000;
    let deployed = chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    (deployed, ms)
}

// --- §4: redirects -----------------------------------------------------------------------------

#[test]
fn a_same_origin_301_or_302_to_the_query_post_keeps_the_query() {
    for status in ["301 Moved Permanently", "302 Found", "303 See Other"] {
        let server = Stand::start(20, move |req| {
            if req.1 == "/api/v1/query" {
                http(status, &[("location", "/api/v1/query/")], "")
            } else if form_of(req).contains("query=") {
                http("200 OK", &[], &vector("5", ""))
            } else {
                // What Prometheus says to a request without its form.
                http(
                    "400 Bad Request",
                    &[],
                    r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": no expression found"}"#,
                )
            }
        });
        let dir = tempfile::tempdir().unwrap();
        prom_config(dir.path(), &server.url, "\"<600\"", "");
        let out = Slogate::new()
            .current_dir(dir.path())
            .args(["eval", "--config", ".", "--format", "json", "--ci", "none"])
            .args([
                "--from",
                "2026-11-17T10:30:00Z",
                "--to",
                "2026-11-17T11:00:00Z",
            ])
            .run();
        out.assert_no_panic().assert_code(0);
        let seen = server.seen();
        let again: Vec<&Seen> = seen.iter().filter(|s| s.1 == "/api/v1/query/").collect();
        assert_eq!(again.len(), 1, "{status}: {seen:?}");
        assert_eq!(again[0].0, "POST", "{status}: {seen:?}");
        assert!(again[0].2.contains("query=sum"), "{status}: {seen:?}");
        assert_eq!(first(&out.json())["value"]["value"], 5.0, "{out:?}");
    }
}

#[test]
fn a_post_redirect_to_another_origin_is_refused() {
    let server = Stand::start(20, |_| {
        http(
            "302 Found",
            &[("location", "http://127.0.0.2:9/api/v1/query")],
            "",
        )
    });
    let dir = tempfile::tempdir().unwrap();
    prom_config(dir.path(), &server.url, "\"<600\"", "");
    let out = Slogate::new()
        .current_dir(dir.path())
        .args(["eval", "--config", ".", "--format", "json", "--ci", "none"])
        .args([
            "--from",
            "2026-11-17T10:30:00Z",
            "--to",
            "2026-11-17T11:00:00Z",
        ])
        .run();
    out.assert_no_panic().assert_code(3);
    assert!(out.stdout.contains("another origin"), "{out:?}");
}

// --- §4: dashboards that are no dashboards -----------------------------------------------------

#[test]
fn a_dashboard_file_that_is_no_dashboard_is_invalid_input() {
    for (name, text) in [
        ("list.json", "[1,2,3]"),
        ("oops.json", r#"{"tiles": "oops"}"#),
        ("none.json", r#"{"dashboardMetadata": {}}"#),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), text).unwrap();
        std::fs::write(
            dir.path().join("slogate.yaml"),
            "spec_version: \"1\"\ndefaults:\n  project: shop\n  stage: production\n  service: checkout\n",
        )
        .unwrap();
        let out = Slogate::new()
            .current_dir(dir.path())
            .env("DT_URL", "http://127.0.0.1:9")
            .env("DT_API_TOKEN", crate::pipeline::TOKEN)
            .args(["eval", "--config", ".", "--dashboard", name, "--ci", "none"])
            .args([
                "--from",
                "2026-11-17T10:30:00Z",
                "--to",
                "2026-11-17T11:00:00Z",
            ])
            .run();
        out.assert_no_panic().assert_code(2);
        assert!(
            out.stderr.contains(name) && out.stderr.contains("not a classic dashboard"),
            "{out:?}"
        );
        assert!(!out.stdout.contains("FAIL"), "{out:?}");
    }
}

#[test]
fn lint_and_eval_share_the_dashboard_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let big = format!(
        r#"{{"tiles": [], "pad": "{}"}}"#,
        "x".repeat(1024 * 1024 + 10)
    );
    std::fs::write(dir.path().join("big.json"), big).unwrap();
    std::fs::write(
        dir.path().join("slogate.yaml"),
        "spec_version: \"1\"\ndefaults:\n  project: shop\n  stage: production\n  service: checkout\n",
    )
    .unwrap();
    let lint = Slogate::new()
        .current_dir(dir.path())
        .args(["lint", "--dashboard", "big.json"])
        .run();
    lint.assert_code(2);
    assert!(lint.stderr.contains("limit"), "{lint:?}");
    let eval = Slogate::new()
        .current_dir(dir.path())
        .env("DT_URL", "http://127.0.0.1:9")
        .env("DT_API_TOKEN", crate::pipeline::TOKEN)
        .args([
            "eval",
            "--config",
            ".",
            "--dashboard",
            "big.json",
            "--ci",
            "none",
        ])
        .args([
            "--from",
            "2026-11-17T10:30:00Z",
            "--to",
            "2026-11-17T11:00:00Z",
        ])
        .run();
    eval.assert_no_panic().assert_code(2);
    assert!(eval.stderr.contains("limit"), "{eval:?}");
}

// --- §4: a huge answer -------------------------------------------------------------------------

#[test]
fn an_answer_of_many_series_is_read_without_holding_them() {
    // 60,000 series (about 6 MB): "multiple values" as upstream, quickly and without a tree of
    // them; the memory figures of the 30 MB case are in docs/performance.md.
    let mut body = String::from(r#"{"status":"success","data":{"resultType":"vector","result":["#);
    for i in 0..60_000 {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!(
            r#"{{"metric":{{"__name__":"x","pod":"pod-{i}","namespace":"shop"}},"value":[1794913200,"{i}"]}}"#
        ));
    }
    body.push_str("]}}");
    let server = Stand::start(10, move |_| http("200 OK", &[], &body));
    let dir = tempfile::tempdir().unwrap();
    prom_config(dir.path(), &server.url, "\"<600\"", "");
    let out = Slogate::new()
        .current_dir(dir.path())
        .args(["eval", "--config", ".", "--format", "json", "--ci", "none"])
        .args([
            "--from",
            "2026-11-17T10:30:00Z",
            "--to",
            "2026-11-17T11:00:00Z",
        ])
        .run();
    out.assert_no_panic().assert_code(1);
    assert_eq!(
        first(&out.json())["value"]["message"],
        "query did return multiple values",
        "{out:?}"
    );
}

#[test]
fn a_dynatrace_answer_with_warnings_is_a_note_and_with_strict_data_an_error() {
    use crate::pipeline::{TOKEN, sim_with};
    let sim = sim_with(|_| {});
    let (deployed, _) = deployed_30m_ago();
    sim.set_faults(dtsim::Faults {
        metric_warnings: vec!["The result is partial: a cluster node did not answer".into()],
        ..dtsim::Faults::default()
    });
    let dir = demo_absolute();
    let run = |extra: &[&str]| {
        Slogate::new()
            .current_dir(dir.path())
            .env("DT_URL", sim.url())
            .env("DT_API_TOKEN", TOKEN)
            .args(["gate", "--config", ".", "--deployment-time", &deployed])
            .args(["--timeframe", "25m", "--format", "json", "--ci", "none"])
            .args(extra)
            .run()
    };
    let out = run(&[]);
    out.assert_no_panic().assert_code(0);
    let notes = first(&out.json())["notes"].to_string();
    assert!(notes.contains("a cluster node did not answer"), "{out:?}");
    let strict = run(&["--strict-data"]);
    strict.assert_code(3);
    assert_eq!(strict.json()["result"], "error", "{strict:?}");
}
