//! `eval` and `gate` against a real Prometheus (the Debian package's server, backfilled by
//! `promtool`; see `prom_server`), on `slo-examples/prometheus`: upstream's values for a
//! historic window, the backfilled regression caught, the clean release passed, and an
//! unreachable server reported as "could not evaluate".

use crate::prom_server::{END, JOB, PromServer, REGRESSION, START};
use crate::support::{Slogate, examples};

fn rfc3339(unix: i64) -> String {
    chrono_like(unix)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for the test data's day (no date crate among the test's dependencies
/// is needed for one day).
fn chrono_like(unix: i64) -> String {
    let day = START - START % 86_400;
    assert!((day..day + 86_400).contains(&unix));
    let s = unix - day;
    format!(
        "2026-11-17T{:02}:{:02}:{:02}Z",
        s / 3600,
        (s % 3600) / 60,
        s % 60
    )
}

fn on(server: &PromServer) -> Slogate {
    Slogate::new()
        .current_dir(examples())
        .env("PROMETHEUS_URL", server.url.clone())
}

fn values(report: &serde_json::Value) -> Vec<(String, f64, bool)> {
    report["indicatorResults"]
        .as_array()
        .expect("indicatorResults")
        .iter()
        .map(|r| {
            (
                r["value"]["metric"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                r["value"]["value"].as_f64().unwrap_or(f64::NAN),
                r["value"]["success"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn openmetrics_backfill_is_in_time_order_and_ends_with_eof() {
    let om = crate::prom_server::openmetrics();
    assert!(om.ends_with("# EOF\n"));
    // 481 samples per series (10:00 to 12:00 every 15 s), 2 + 6 + 1 series.
    assert_eq!(om.lines().filter(|l| !l.starts_with('#')).count(), 481 * 9);
    assert!(om.contains(&format!("job=\"{JOB}\",status=\"500\"}} 15 {}", START + 15)));
    assert!(om.contains(&format!("status=\"200\"}} 97200 {END}")));
}

#[test]
fn eval_of_a_historic_window_gives_upstreams_values() {
    let Some(server) = PromServer::start() else {
        return;
    };
    // The reference's values for [30m] at 11:00 and 12:00 (keptn-prometheus-sli §9), asked
    // through the built-in SLIs of a project without any sli.yaml.
    let root = server.dir().join("builtin");
    std::fs::create_dir_all(root.join("production/checkout")).unwrap();
    std::fs::write(
        root.join("slogate.yaml"),
        format!(
            "spec_version: \"1\"\nprometheus:\n  url: {}\ndefaults: {{project: shop, stage: production, service: checkout}}\n",
            server.url
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("production/checkout/slo.yaml"),
        "objectives:\n  - sli: throughput\n  - sli: error_rate\n  - sli: response_time_p50\n  - sli: response_time_p95\ntotal_score: {pass: \"90%\"}\n",
    )
    .unwrap();
    for (from, to, want) in [
        (
            REGRESSION - 1800,
            REGRESSION,
            [10.0, 0.1, 87.5, 387.49999999999983],
        ),
        (END - 1800, END, [20.0, 0.1, 200.0, 750.0]),
        (
            START,
            END,
            [15.0, 0.1, 155.55555555555554, 659.090909090909],
        ),
    ] {
        let out = Slogate::new()
            .args(["eval", "--config"])
            .arg(&root)
            .args(["--from", &rfc3339(from), "--to", &rfc3339(to)])
            .args(["--format", "json"])
            .run();
        out.assert_code(0);
        let got = values(&out.json());
        let names = [
            "throughput",
            "error_rate",
            "response_time_p50",
            "response_time_p95",
        ];
        for ((name, want), (metric, value, success)) in names.iter().zip(want).zip(&got) {
            assert_eq!(metric, name);
            assert!(success, "{name} failed\n{out:?}");
            assert!(close(*value, want), "{name}: {value} != {want}\n{out:?}");
        }
        // Each entry names its source and the request behind it.
        let r = &out.json()["indicatorResults"][0];
        assert_eq!(r["source"], "prometheus");
        assert_eq!(
            r["query"],
            format!(
                "POST /api/v1/query?query=sum%28rate%28http_requests_total%7Bjob%3D%27checkout-shop-production-canary%27%7D%5B{}s%5D%29%29&time={to}",
                to - from
            ),
        );
    }
}

#[test]
fn gate_catches_the_backfilled_regression() {
    let Some(server) = PromServer::start() else {
        return;
    };
    let out = on(&server)
        .args(["gate", "--config", "prometheus", "--timeframe", "30m"])
        .args([
            "--deployment-time",
            &rfc3339(REGRESSION),
            "--format",
            "json",
        ])
        .run();
    out.assert_code(1);
    let report = out.json();
    assert_eq!(report["result"], "fail", "{out:?}");
    let rt = &report["indicatorResults"][0];
    assert_eq!(rt["value"]["metric"], "response_time_p95");
    assert_eq!(rt["status"], "fail");
    assert!(close(rt["value"]["value"].as_f64().unwrap(), 750.0));
    // The baseline is the same query at the end of the window before the deployment.
    assert!(close(
        rt["baselineValue"].as_f64().unwrap(),
        387.49999999999983
    ));
    assert_eq!(report["indicatorResults"][1]["status"], "pass");
}

#[test]
fn gate_passes_the_clean_release() {
    let Some(server) = PromServer::start() else {
        return;
    };
    let out = on(&server)
        .args(["gate", "--config", "prometheus", "--timeframe", "30m"])
        .args(["--deployment-time", &rfc3339(REGRESSION - 1800)])
        .args(["--format", "json"])
        .run();
    out.assert_code(0);
    assert_eq!(out.json()["result"], "pass", "{out:?}");
}

#[test]
fn basic_auth_is_sent_and_the_password_never_printed() {
    let Some(server) = PromServer::start() else {
        return;
    };
    // Prometheus without auth ignores the header; the run must work and never echo it.
    let out = on(&server)
        .env("PROMETHEUS_USER", "keptn")
        .env("PROMETHEUS_PASSWORD", "pa ss w0rd!")
        .args(["gate", "--config", "prometheus", "--timeframe", "30m"])
        .args(["--deployment-time", &rfc3339(REGRESSION)])
        .run();
    out.assert_code(1);
    assert!(
        !out.stdout.contains("pa ss w0rd!") && !out.stderr.contains("pa ss w0rd!"),
        "{out:?}"
    );
}

#[test]
fn an_unreachable_prometheus_is_could_not_evaluate() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let outputs = dir.path().join("github_output");
    let reports = dir.path().join("reports");
    let out = Slogate::new()
        .current_dir(examples())
        .env("PROMETHEUS_URL", format!("http://127.0.0.1:{port}"))
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", outputs.to_str().unwrap())
        .args(["eval", "--config", "prometheus"])
        .args([
            "--from",
            &rfc3339(REGRESSION - 1800),
            "--to",
            &rfc3339(REGRESSION),
            "--report-dir",
            reports.to_str().unwrap(),
        ])
        .run();
    out.assert_code(3)
        .assert_stderr_contains("could not evaluate")
        .assert_stderr_contains("PROMETHEUS_URL");
    // Every output tells the same outcome: error, never fail.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["result"], "error", "{report:#}");
    let junit = std::fs::read_to_string(reports.join("junit.xml")).unwrap();
    assert!(
        junit.contains("<error") && !junit.contains("<failure"),
        "{junit}"
    );
    let vars = std::fs::read_to_string(&outputs).unwrap();
    assert!(vars.lines().any(|l| l == "result=error"), "{vars}");
    assert!(out.stdout.contains("::error"), "{}", out.stdout);
}

#[test]
fn prometheus_slis_without_a_server_are_invalid_input() {
    let out = Slogate::new()
        .current_dir(examples())
        .args(["eval", "--config", "prometheus", "--timeframe", "30m"])
        .run();
    out.assert_code(2)
        .assert_stderr_contains("no Prometheus server is configured");
}

#[test]
fn the_example_lints_clean_and_says_where_each_sli_comes_from() {
    let out = Slogate::new()
        .current_dir(examples())
        .args(["lint", "prometheus"])
        .run();
    out.assert_code(0)
        .assert_stderr_contains("0 errors, 0 warnings");
    let json = Slogate::new()
        .current_dir(examples())
        .args(["lint", "prometheus", "--format", "json"])
        .run();
    let slis = &json.json()["sources"][0]["slis"];
    assert_eq!(
        slis[1],
        serde_json::json!({"name": "error_rate", "source": "prometheus", "from": "prometheus/prometheus/sli.yaml:5:15"})
    );
    assert_eq!(
        slis[2],
        serde_json::json!({"name": "throughput", "source": "prometheus", "from": "built-in"})
    );
}

#[test]
fn explain_shows_the_prometheus_request() {
    let out = Slogate::new()
        .current_dir(examples())
        .env("PROMETHEUS_URL", "http://127.0.0.1:9")
        .args(["explain", "--config", "prometheus", "--format", "json"])
        .args([
            "--from",
            "2026-11-17T10:30:00.250Z",
            "--to",
            "2026-11-17T11:00:00.750Z",
        ])
        .run();
    out.assert_code(0);
    let doc = out.json();
    assert_eq!(doc["prometheusUrl"], "http://127.0.0.1:9");
    let tp = doc["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "throughput")
        .unwrap();
    assert_eq!(tp["source"], "prometheus");
    // $DURATION_SECONDS rounded up (1800.5 s), the time with its milliseconds.
    assert_eq!(
        tp["query"],
        "POST /api/v1/query?query=sum%28rate%28http_requests_total%7Bjob%3D%27checkout-shop-production-canary%27%7D%5B1801s%5D%29%29&time=1794913200.75"
    );
}

#[test]
fn dynatrace_and_prometheus_slis_in_one_evaluation() {
    let Some(server) = PromServer::start() else {
        return;
    };
    let scenario = std::fs::read_to_string(examples().join("dynatrace/scenario.json")).unwrap();
    let sim = dtsim::start_blocking(dtsim::scenario_from_json(&scenario).unwrap()).unwrap();
    let root = server.dir().join("mixed");
    std::fs::create_dir_all(root.join("dynatrace")).unwrap();
    std::fs::create_dir_all(root.join("prometheus")).unwrap();
    std::fs::write(
        root.join("slogate.yaml"),
        "defaults: {project: shop, stage: production, service: checkout}\n",
    )
    .unwrap();
    std::fs::write(
        root.join("dynatrace/sli.yaml"),
        "indicators:\n  dt_throughput: \"metricSelector=builtin:service.requestCount.total:merge(\\\"dt.entity.service\\\"):sum&entitySelector=type(SERVICE),tag(keptn_service:$SERVICE)\"\n",
    )
    .unwrap();
    std::fs::write(
        root.join("prometheus/sli.yaml"),
        "indicators:\n  prom_p95: histogram_quantile(0.95, sum by (le) (rate(http_response_time_milliseconds_bucket{job=\"$SERVICE-$PROJECT-$STAGE-canary\"}[$DURATION_SECONDS])))\n",
    )
    .unwrap();
    std::fs::write(
        root.join("slo.yaml"),
        "objectives:\n  - sli: dt_throughput\n  - sli: prom_p95\n    pass: [{criteria: [\"<600\"]}]\ntotal_score: {pass: \"90%\"}\n",
    )
    .unwrap();
    let out = Slogate::new()
        .env("DT_URL", sim.url())
        .env("DT_API_TOKEN", "dt0c01.SIMULATOR.TOKEN")
        .env("PROMETHEUS_URL", server.url.clone())
        .args(["eval", "--config"])
        .arg(&root)
        .args([
            "--from",
            &rfc3339(REGRESSION - 1800),
            "--to",
            &rfc3339(REGRESSION),
        ])
        .args(["--format", "json"])
        .run();
    out.assert_code(0);
    let report = out.json();
    let results = report["indicatorResults"].as_array().unwrap();
    let by = |n: &str| results.iter().find(|r| r["value"]["metric"] == n).unwrap();
    assert_eq!(by("dt_throughput")["source"], "dynatrace");
    assert_eq!(by("dt_throughput")["value"]["success"], true, "{out:?}");
    assert!(
        by("dt_throughput")["query"]
            .as_str()
            .unwrap()
            .starts_with("GET /api/v2/metrics/query?")
    );
    assert_eq!(by("prom_p95")["source"], "prometheus");
    assert!(close(
        by("prom_p95")["value"]["value"].as_f64().unwrap(),
        387.49999999999983
    ));
    assert_eq!(report["source"]["kind"], "dynatrace, prometheus");
    // lint names both sources
    let lint = Slogate::new().arg("lint").arg(&root).run();
    lint.assert_code(0)
        .assert_stderr_contains("dt_throughput: dynatrace (")
        .assert_stderr_contains("prom_p95: prometheus (");
}

#[test]
fn since_deployment_without_dynatrace_points_at_deployment_time() {
    let out = Slogate::new()
        .current_dir(examples())
        .env("PROMETHEUS_URL", "http://127.0.0.1:9")
        .args(["gate", "--config", "prometheus", "--since-deployment"])
        .run();
    out.assert_code(2)
        .assert_stderr_contains("no Dynatrace environment configured")
        .assert_stderr_contains("--deployment-time");
}

#[test]
fn config_shows_the_prometheus_slis_with_their_origin() {
    let out = Slogate::new()
        .current_dir(examples())
        .args(["config", "--config", "prometheus", "--format", "json"])
        .run();
    out.assert_code(0);
    let doc = out.json();
    assert_eq!(
        doc["prometheus"]["indicators"]["error_rate"]["from"],
        "prometheus/prometheus/sli.yaml:5:15"
    );
}

#[test]
fn deployment_labels_and_filters_fill_the_placeholders() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("prod/cart/prometheus")).unwrap();
    std::fs::write(
        root.join("prod/cart/prometheus/sli.yaml"),
        "indicators:\n  custom: sum(up{job=\"$SERVICE-$DEPLOYMENT\",ns=\"$LABEL.namespace\",h=\"$handler\"}[$DURATION_SECONDS])\n",
    )
    .unwrap();
    std::fs::write(
        root.join("prod/cart/slo.yaml"),
        "filter:\n  handler: \"'ItemsController'\"\n  method: \"!=\\\"GET\\\"\"\nobjectives:\n  - sli: custom\n  - sli: throughput\ntotal_score: {pass: \"90%\"}\n",
    )
    .unwrap();
    let explain = |extra: &[&str]| {
        let out = Slogate::new()
            .env("PROMETHEUS_URL", "http://127.0.0.1:9")
            .args(["explain", "--config"])
            .arg(root)
            .args(["--project", "shop", "--stage", "prod", "--service", "cart"])
            .args([
                "--from",
                "2026-11-17T10:00:00Z",
                "--to",
                "2026-11-17T10:30:00Z",
            ])
            .args(["--format", "json"])
            .args(extra)
            .run();
        out.assert_code(0);
        let doc = out.json();
        let sli = |i: usize| doc["indicators"][i]["sli"].as_str().unwrap().to_string();
        (sli(0), sli(1))
    };
    let (custom, throughput) = explain(&["--label", "namespace=shop-prod"]);
    assert_eq!(
        custom,
        "sum(up{job=\"cart-primary\",ns=\"shop-prod\",h=\"ItemsController\"}[$DURATION_SECONDS])"
    );
    // The built-in query: the job matcher, then the filters in file order.
    assert_eq!(
        throughput,
        "sum(rate(http_requests_total{job='cart-shop-prod-canary',handler='ItemsController',method!='GET'}[$DURATION_SECONDS]))"
    );
    let (custom, _) = explain(&["--deployment", "canary"]);
    assert!(custom.starts_with("sum(up{job=\"cart-canary\""), "{custom}");
    let (custom, _) = explain(&["--deployment", "canary", "--label", "deployment=blue"]);
    assert!(custom.starts_with("sum(up{job=\"cart-blue\""), "{custom}");
}

/// A canned HTTP server on 127.0.0.1: answers each request with the next of `answers` (the last
/// one repeats), records method, target, the Authorization header and the body, and stops after
/// 20 requests or 20 s.
struct Canned {
    url: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<Seen>>>,
}

/// Method, target, Authorization header, body.
type Seen = (String, String, Option<String>, String);

fn canned(answers: Vec<(u16, &'static str)>) -> Canned {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut n = 0usize;
        while n < 20 && std::time::Instant::now() < deadline {
            let Ok((stream, _)) = listener.accept() else {
                std::thread::sleep(std::time::Duration::from_millis(10));
                continue;
            };
            stream.set_nonblocking(false).unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut parts = line.split_whitespace();
            let (method, target) = (
                parts.next().unwrap_or("").to_string(),
                parts.next().unwrap_or("").to_string(),
            );
            let (mut auth, mut len) = (None, 0usize);
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    match k.to_ascii_lowercase().as_str() {
                        "authorization" => auth = Some(v.trim().to_string()),
                        "content-length" => len = v.trim().parse().unwrap_or(0),
                        _ => {}
                    }
                }
            }
            let mut body = vec![0u8; len];
            reader.read_exact(&mut body).unwrap();
            log.lock().unwrap().push((
                method,
                target,
                auth,
                String::from_utf8_lossy(&body).into_owned(),
            ));
            let (status, text) = answers[n.min(answers.len() - 1)];
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
            n += 1;
        }
    });
    Canned { url, seen }
}

const ONE: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1794913200,"6"]}]}}"#;

fn eval_custom(url: &str) -> Slogate {
    Slogate::new()
        .current_dir(examples())
        .env("PROMETHEUS_URL", url)
        .args(["eval", "--config", "prometheus", "--format", "json"])
        .args([
            "--from",
            &rfc3339(REGRESSION - 1800),
            "--to",
            &rfc3339(REGRESSION),
        ])
}

#[test]
fn a_password_with_a_space_is_sent_exactly() {
    let server = canned(vec![(200, ONE)]);
    let out = eval_custom(&server.url)
        .env("PROMETHEUS_USER", "keptn")
        .env("PROMETHEUS_PASSWORD", "pa ss")
        .run();
    out.assert_no_panic();
    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.len(), 3, "{seen:?}");
    for (method, target, auth, body) in seen.iter() {
        assert_eq!(
            (method.as_str(), target.as_str()),
            ("POST", "/api/v1/query")
        );
        // base64("keptn:pa ss"): upstream sent `pa+ss`.
        assert_eq!(auth.as_deref(), Some("Basic a2VwdG46cGEgc3M="));
        assert!(body.ends_with("&time=1794913200"), "{body}");
    }
}

#[test]
fn a_server_refusing_post_is_asked_with_get() {
    let server = canned(vec![(405, "Method Not Allowed"), (200, ONE)]);
    let out = eval_custom(&server.url).run();
    out.assert_no_panic();
    let seen = server.seen.lock().unwrap();
    // The first request (a POST) was refused; its query came again as GET, in the URL.
    assert_eq!(seen[0].0, "POST");
    let gets: Vec<_> = seen.iter().filter(|s| s.0 == "GET").collect();
    assert_eq!(gets.len(), 1, "{seen:?}");
    assert!(gets[0].1.starts_with("/api/v1/query?query="), "{seen:?}");
    assert!(gets[0].1.ends_with("&time=1794913200"), "{seen:?}");
    assert_eq!(seen.len(), 4, "{seen:?}");
    let report = out.json();
    let shown: Vec<&str> = report["indicatorResults"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["query"].as_str())
        .filter(|q| q.starts_with("GET /api/v1/query?"))
        .collect();
    assert_eq!(shown.len(), 1, "{out:?}");
    assert!(
        report["indicatorResults"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["value"]["success"] == true),
        "{out:?}"
    );
}

#[test]
fn refused_credentials_are_could_not_evaluate() {
    let server = canned(vec![(401, "")]);
    let out = eval_custom(&server.url)
        .env("PROMETHEUS_USER", "keptn")
        .env("PROMETHEUS_PASSWORD", "wrong-password")
        .run();
    out.assert_code(3)
        .assert_stderr_contains("PROMETHEUS_USER and PROMETHEUS_PASSWORD");
    assert!(!out.stdout.contains("wrong-password") && !out.stderr.contains("wrong-password"));
}

#[test]
fn infinity_fails_the_sli_with_a_message() {
    let inf = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1794913200,"+Inf"]}]}}"#;
    let server = canned(vec![(200, inf)]);
    let out = eval_custom(&server.url).run();
    out.assert_code(1);
    let report = out.json();
    let first = &report["indicatorResults"][0]["value"];
    assert_eq!(first["success"], false);
    assert!(
        first["message"]
            .as_str()
            .unwrap()
            .starts_with("query returned +Inf"),
        "{out:?}"
    );
}

#[test]
fn the_examples_generator_writes_the_test_data() {
    let Ok(out) = std::process::Command::new("python3")
        .arg(examples().join("prometheus/openmetrics.py"))
        .output()
    else {
        eprintln!("SKIPPED: python3 is needed to run slo-examples/prometheus/openmetrics.py");
        return;
    };
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout) == crate::prom_server::openmetrics(),
        "slo-examples/prometheus/openmetrics.py and tests/cli/prom_server.rs must write the same data"
    );
}

/// `BURN;` over the real server: one error in ten against a 99 % objective burns the budget ten
/// times too fast, in the last five minutes and in the last hour alike.
#[test]
fn burn_rate_of_the_backfilled_errors() {
    let Some(server) = PromServer::start() else {
        return;
    };
    let root = server.dir().join("burn");
    std::fs::create_dir_all(root.join("prometheus")).unwrap();
    std::fs::write(
        root.join("slogate.yaml"),
        format!(
            "spec_version: \"1\"\nprometheus:\n  url: {}\ndefaults: {{project: shop, stage: production, service: checkout}}\n",
            server.url
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("prometheus/sli.yaml"),
        format!(
            "indicators:\n  burn: 'BURN;target=99;short=5m;long=1h;bad=sum(rate(http_requests_total{{job=\"{JOB}\",status=\"500\"}}[$DURATION_SECONDS]));total=sum(rate(http_requests_total{{job=\"{JOB}\"}}[$DURATION_SECONDS]))'\n"
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("slo.yaml"),
        "objectives:\n  - sli: burn\n    pass: [{criteria: [\"<14.4\"]}]\ntotal_score: {pass: \"90%\"}\n",
    )
    .unwrap();
    let out = Slogate::new()
        .args(["eval", "--config"])
        .arg(&root)
        .args(["--from", &rfc3339(END - 3600), "--to", &rfc3339(END)])
        .args(["--format", "json"])
        .run();
    out.assert_code(0);
    let v = &out.json()["indicatorResults"][0]["value"];
    assert_eq!(v["success"], true, "{out:?}");
    assert!(close(v["value"].as_f64().unwrap(), 10.0), "{out:?}");
}
