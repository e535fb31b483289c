//! Broken servers and hostile input (issue 13): a reordered or mislabelled answer, redirects,
//! proxies, tokens in echoed text, huge bodies and numbers, never a false pass, a leaked token
//! or a panic. Servers are dtsim or a tiny scripted one on 127.0.0.1 (`script`), both stop by
//! themselves.

use dtsim::{BlockingSim, Faults, start_blocking};

use crate::support::{Script, Slogate, examples, response};

const TOKEN: &str = "dt0c01.SIMULATOR.TOKEN";

fn sim() -> BlockingSim {
    let text = std::fs::read_to_string(examples().join("dynatrace/scenario.json")).unwrap();
    start_blocking(dtsim::scenario_from_json(&text).unwrap()).unwrap()
}

fn eval_json(url: &str) -> Slogate {
    Slogate::new()
        .args([
            "eval",
            "--config",
            "dynatrace",
            "--from",
            "2026-11-17T09:00:00Z",
            "--to",
            "2026-11-17T10:00:00Z",
            "--format",
            "json",
        ])
        .current_dir(examples())
        .env("DT_URL", url)
        .env("DT_API_TOKEN", TOKEN)
}

/// `name -> (value, success)` of a report.
fn values(report: &serde_json::Value) -> Vec<(String, serde_json::Value, serde_json::Value)> {
    let mut v: Vec<_> = report["indicatorResults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["value"]["metric"].as_str().unwrap().to_string(),
                r["value"]["value"].clone(),
                r["value"]["success"].clone(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn batched_results_in_another_order_keep_their_own_sli() {
    let sim = sim();
    let straight = eval_json(&sim.url()).run();
    straight.assert_code(0);
    sim.set_faults(Faults {
        reverse_results: true,
        ..Faults::default()
    });
    let reversed = eval_json(&sim.url()).run();
    reversed.assert_code(0);
    assert_eq!(values(&straight.json()), values(&reversed.json()));
}

#[test]
fn batched_results_with_foreign_metric_ids_are_asked_for_alone() {
    let sim = sim();
    let straight = eval_json(&sim.url()).run();
    straight.assert_code(0);
    sim.clear_requests();
    sim.set_faults(Faults {
        rename_metric_ids: Some("builtin:service.errors.total.rate:avg".into()),
        ..Faults::default()
    });
    let renamed = eval_json(&sim.url()).run();
    assert_eq!(values(&straight.json()), values(&renamed.json()));
    // Every metric selector was asked for on its own after the batch could not be matched.
    let singles = sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/metrics/query"))
        .count();
    assert!(singles > 1, "{:?}", sim.requests().len());
}

/// No ten characters in a row of `token` appear in the output.
#[track_caller]
fn assert_no_token(out: &crate::support::Output, token: &str) {
    let all = format!("{}\n{}", out.stdout, out.stderr);
    let chars: Vec<char> = token.chars().collect();
    for w in chars.windows(10) {
        let piece: String = w.iter().collect();
        assert!(
            !all.contains(&piece),
            "the output shows {piece:?} of the token\n{out:?}"
        );
    }
}

// --- B: redirects and proxies -------------------------------------------------------------

#[test]
fn a_redirect_to_another_origin_is_refused_and_names_the_target() {
    let sim = sim();
    let target = sim.url();
    let redirect = Script::start(40, move |_, head| {
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
        response("302 Found", &[("location", &format!("{target}{path}"))], "")
    });
    let out = eval_json(&redirect.url()).run();
    out.assert_code(3)
        .assert_stderr_contains(&format!("redirected to {}/api/v2/", sim.url()));
    // The other server's data was never asked for (and never scored).
    assert!(sim.requests().is_empty(), "{:?}", sim.requests().len());
    // Refused at once: not retried (the data requests, the units, the token check and the
    // context requests, once each).
    assert!(
        redirect.requests().len() <= 10,
        "{}",
        redirect.requests().len()
    );
}

#[test]
fn a_redirect_to_plain_http_elsewhere_is_refused() {
    let redirect = Script::start(40, |_, _| {
        response(
            "301 Moved",
            &[("location", "http://10.255.255.1/api/v2/metrics/query")],
            "",
        )
    });
    let out = eval_json(&redirect.url()).run();
    out.assert_code(3)
        .assert_stderr_contains("redirected to http://10.255.255.1/api/v2/metrics/query");
}

#[test]
fn same_origin_redirects_are_followed_a_few_hops_only() {
    let redirect = Script::start(100, |n, _| {
        response(
            "307 Temporary Redirect",
            &[("location", &format!("/loop/{n}"))],
            "",
        )
    });
    let out = eval_json(&redirect.url()).run();
    out.assert_code(3)
        .assert_stderr_contains("redirected more than 3 times");
}

#[test]
fn a_same_origin_redirect_is_followed_with_the_token() {
    let server = Script::start(40, |_, head| {
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
        if path.starts_with("/moved") {
            response(
                "401 Unauthorized",
                &[("content-type", "application/json")],
                r#"{"error":{"code":401,"message":"Token Authentication failed"}}"#,
            )
        } else {
            response(
                "307 Temporary Redirect",
                &[("location", &format!("/moved{path}"))],
                "",
            )
        }
    });
    let out = eval_json(&server.url()).run();
    out.assert_code(3)
        .assert_stderr_contains("Token Authentication failed");
    let moved: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("GET /moved/api/v2/"))
        .collect();
    assert!(!moved.is_empty(), "{:?}", server.requests());
    assert!(
        moved
            .iter()
            .all(|r| r.to_ascii_lowercase().contains("authorization: api-token")),
        "{moved:?}"
    );
}

#[test]
fn a_loopback_environment_never_goes_through_the_proxy() {
    let sim = sim();
    let proxy = Script::start(40, |_, _| response("502 Bad Gateway", &[], "proxy"));
    let out = eval_json(&sim.url())
        .env("HTTP_PROXY", proxy.url())
        .env("http_proxy", proxy.url())
        .env("ALL_PROXY", proxy.url())
        .run();
    out.assert_code(0);
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
}

#[test]
fn no_proxy_is_honoured() {
    let proxy = Script::start(40, |_, _| response("502 Bad Gateway", &[], "proxy"));
    let run = |no_proxy: Option<&str>| {
        let mut s = eval_json("https://slogate-test.invalid")
            .env("HTTPS_PROXY", proxy.url())
            .arg("--request-timeout")
            .arg("5s");
        if let Some(n) = no_proxy {
            s = s.env("NO_PROXY", n);
        }
        s.run()
    };
    // Listed: straight to the (unresolvable) host, the proxy never sees it.
    let out = run(Some("localhost,.invalid"));
    out.assert_code(3)
        .assert_stderr_contains("name not resolved: slogate-test.invalid");
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
    // Not listed: through the proxy.
    run(Some("example.com")).assert_code(3);
    assert!(
        proxy
            .requests()
            .iter()
            .any(|r| r.starts_with("CONNECT slogate-test.invalid:443")),
        "{:?}",
        proxy.requests()
    );
}

// --- C: secrets are hidden by value ------------------------------------------------------

const LONG_TOKEN: &str = "dt0c01.ABCDEFGHIJKLMNOPQRSTUVWX.0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01";

#[test]
fn a_refusal_page_quoting_the_token_across_the_cut_shows_none_of_it() {
    let page = format!(
        "{}token {LONG_TOKEN} is not valid here {}",
        "x".repeat(270),
        "y".repeat(200)
    );
    let server = Script::start(40, move |_, _| {
        response("401 Unauthorized", &[("content-type", "text/plain")], &page)
    });
    let out = eval_json(&server.url())
        .env("DT_API_TOKEN", LONG_TOKEN)
        .run();
    out.assert_code(3);
    assert_no_token(&out, LONG_TOKEN);
}

fn env_config(dir: &std::path::Path) {
    std::fs::write(
        dir.join("sli.yaml"),
        "spec_version: \"1.0\"\nindicators:\n  rt: \"metricSelector=builtin:service.response.time:avg&entitySelector=tag($ENV.OTHER)\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("slo.yaml"),
        "spec_version: \"1.0\"\ncomparison: {compare_with: single_result, include_result_with_score: pass, number_of_comparison_results: 1, aggregate_function: avg}\nobjectives:\n  - sli: rt\n    pass: [{criteria: [\"<600\"]}]\ntotal_score: {pass: \"90%\", warning: \"75%\"}\n",
    )
    .unwrap();
}

#[test]
fn a_token_under_another_variable_name_never_reaches_a_query() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    env_config(dir.path());
    let report_dir = dir.path().join("report");
    let out = Slogate::new()
        .args([
            "eval",
            "--config",
            ".",
            "--from",
            "2026-11-17T09:00:00Z",
            "--to",
            "2026-11-17T10:00:00Z",
            "--format",
            "json",
        ])
        .arg("--report-dir")
        .arg(&report_dir)
        .current_dir(dir.path())
        .env("DT_URL", sim.url())
        .env("DT_API_TOKEN", TOKEN)
        .env("OTHER", TOKEN)
        .run();
    assert_no_token(&out, TOKEN);
    assert!(
        out.stdout.contains("$ENV.OTHER holds a Dynatrace token"),
        "{out:?}"
    );
    for entry in std::fs::read_dir(&report_dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains(TOKEN));
    }
    // Nothing was sent with the token in a selector either.
    assert!(
        sim.requests()
            .iter()
            .all(|r| !r.query.clone().unwrap_or_default().contains("SIMULATOR"))
    );
    let out = Slogate::new()
        .args(["explain", "--config", ".", "--timeframe", "30m"])
        .current_dir(dir.path())
        .env("DT_URL", sim.url())
        .env("DT_API_TOKEN", TOKEN)
        .env("OTHER", TOKEN)
        .run();
    assert_no_token(&out, TOKEN);
}

#[test]
fn a_url_with_userinfo_is_refused_without_printing_it() {
    for url in [
        format!("https://user:{LONG_TOKEN}@abc.live.dynatrace.com"),
        format!("http://{LONG_TOKEN}@127.0.0.1:9"),
    ] {
        let out = eval_json(&url).run();
        out.assert_code(2)
            .assert_stderr_contains("user name or password");
        assert_no_token(&out, LONG_TOKEN);
    }
}

// --- D: bounded numbers, durations, times, bodies, files ---------------------------------

#[test]
fn huge_flag_values_are_invalid_input_not_a_panic() {
    let cases: &[&[&str]] = &[
        &["eval", "--timeframe", "9223372036854775807"],
        &["eval", "--timeframe", "2147483647w"],
        &["eval", "--from", "now-106751991d"],
        &["eval", "--from", "now+21474836473685"],
        &[
            "eval",
            "--from",
            "2026-11-17T09:00:00Z",
            "--to",
            "2026-11-17T10:00:00Z",
            "--request-timeout",
            "9223372036854775807",
        ],
        &[
            "eval",
            "--from",
            "2026-11-17T09:00:00Z",
            "--to",
            "2026-11-17T10:00:00Z",
            "--concurrency",
            "2305843009213693952",
        ],
        &[
            "eval",
            "--from",
            "2026-11-17T09:00:00Z",
            "--to",
            "2026-11-17T10:00:00Z",
            "--settle",
            "2147483647w",
        ],
        &["gate", "--settle", "2147483647w"],
        &[
            "gate",
            "--delay",
            "2147483647w",
            "--deployment-time",
            "now-1h",
        ],
        &["gate", "--lookback", "2147483647w", "--since-deployment"],
        &["gate", "--timeframe", "2147483647w"],
        &["gate", "--request-timeout", "9223372036854775807"],
        &["mark", "--time", "now-2147483647w", "--dry-run"],
    ];
    for args in cases {
        let out = Slogate::new()
            .args(*args)
            .args(["--config", "dynatrace"])
            .current_dir(examples())
            .env("DT_URL", "http://127.0.0.1:9")
            .env("DT_API_TOKEN", TOKEN)
            .run();
        out.assert_no_panic().assert_code(2);
        assert!(
            out.stderr.contains("out of range")
                || out.stderr.contains("3660 days")
                || out.stderr.contains("no unit")
                || out.stderr.contains("1970-01-01 to 9999-12-31"),
            "no range named for {args:?}\n{out:?}"
        );
    }
}

#[test]
fn a_duration_without_unit_is_refused() {
    let out = Slogate::new()
        .args(["eval", "--config", "dynatrace", "--timeframe", "30"])
        .current_dir(examples())
        .run();
    out.assert_code(2)
        .assert_stderr_contains("write 30m or 30s");
}

#[test]
fn a_window_shorter_than_the_resolution_is_refused() {
    let out = Slogate::new()
        .args([
            "eval",
            "--config",
            "dynatrace",
            "--from",
            "2026-11-17T09:00:00Z",
            "--to",
            "2026-11-17T09:00:30Z",
        ])
        .current_dir(examples())
        .env("DT_URL", "http://127.0.0.1:9")
        .env("DT_API_TOKEN", TOKEN)
        .run();
    out.assert_code(2)
        .assert_stderr_contains("1-minute resolution");
    let out = Slogate::new()
        .args(["gate", "--config", "dynatrace", "--timeframe", "30s"])
        .current_dir(examples())
        .run();
    out.assert_code(2)
        .assert_stderr_contains("allowed 1m to 3660d");
}

#[test]
fn a_retry_after_of_2_to_the_64_gives_up_at_once() {
    let server = Script::start(40, |n, _| {
        if n == 0 {
            response("503 Service Unavailable", &[], "{}")
        } else {
            std::thread::sleep(std::time::Duration::from_millis(200));
            response(
                "429 Too Many Requests",
                &[("retry-after", "18446744073709551615")],
                "{}",
            )
        }
    });
    let started = std::time::Instant::now();
    let out = eval_json(&server.url()).run();
    out.assert_no_panic().assert_code(3);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn a_body_over_the_cap_is_refused() {
    const MIB: usize = 1024 * 1024;
    // Announced by Content-Length, and streamed until the connection closes.
    for announced in [true, false] {
        let server = Script::start(20, move |_, _| {
            let body = "[".repeat(33 * MIB);
            let mut r =
                b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: application/json\r\n"
                    .to_vec();
            if announced {
                r.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
            }
            r.extend_from_slice(b"\r\n");
            r.extend_from_slice(body.as_bytes());
            r
        });
        let out = eval_json(&server.url()).run();
        out.assert_code(3)
            .assert_stderr_contains("response larger than 32 MiB");
    }
}

#[test]
fn input_files_are_read_through_the_limit() {
    let out = Slogate::new()
        .args([
            "score",
            "--slo",
            "web-service/slo.yaml",
            "--values",
            "/dev/zero",
        ])
        .current_dir(examples())
        .run();
    out.assert_no_panic().assert_code(2);
    assert!(
        out.codes().contains(&"slogate::file-too-large".to_string()),
        "{out:?}"
    );
}

// --- F: which connection problem ---------------------------------------------------------

#[test]
fn an_unknown_host_says_so() {
    let out = eval_json("https://slogate-test.invalid")
        .arg("--request-timeout")
        .arg("5s")
        .run();
    out.assert_code(3)
        .assert_stderr_contains("name not resolved: slogate-test.invalid");
}

#[test]
fn tls_against_a_plain_server_says_tls() {
    let server = Script::start(20, |_, _| response("400 Bad Request", &[], "plain http"));
    let url = format!("https://localhost:{}", server.port);
    let out = eval_json(&url).run();
    out.assert_code(3).assert_stderr_contains(&format!(
        "TLS: the secure connection to localhost:{}",
        server.port
    ));
}

#[test]
fn a_silent_server_is_a_timeout() {
    let server = Script::start(20, |_, _| {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        Vec::new()
    });
    let out = eval_json(&server.url())
        .arg("--request-timeout")
        .arg("1s")
        .run();
    out.assert_code(3)
        .assert_stderr_contains(&format!("timed out waiting for 127.0.0.1:{}", server.port));
}

#[test]
fn an_api_path_in_the_url_is_refused_with_the_fix() {
    let out = eval_json("https://abc.live.dynatrace.com/e/env1/api/v2").run();
    out.assert_code(2)
        .assert_stderr_contains("https://abc.live.dynatrace.com/e/env1 (slogate adds");
}
