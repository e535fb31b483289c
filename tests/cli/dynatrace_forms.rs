//! Every `sli.yaml` query form, placeholder, reduction rule, batching rule, fault and exit code of
//! `slogate eval` against the Dynatrace simulator (tools/dtsim), checked on the report *and* on
//! the requests the simulator recorded.
//!
//! Fixtures: `tests/fixtures/dynatrace/<case>/` are config roots; `scenario.json` there is the
//! simulated environment (fixed "now" 2026-11-17T12:00:00Z, no noise, so every value is exact).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dtsim::{BlockingSim, FailPath, Faults, RecordedRequest, start_blocking};
use serde_json::Value;

use crate::support::{Output, Slogate, data_requests, fixtures};

/// 09:00–10:00, well inside the scenario's data.
const WINDOW: (&str, &str) = ("2026-11-17T09:00:00Z", "2026-11-17T10:00:00Z");
const FROM_MS: &str = "1794906000000";
const TO_MS: &str = "1794909600000";

const METRICS_QUERY: &str = "/api/v2/metrics/query";
const DQL_EXECUTE: &str = "/platform/storage/query/v1/query:execute";
const DQL_POLL: &str = "/platform/storage/query/v1/query:poll";

/// The entity selector most fixtures use, as the request carries it.
const CHECKOUT_PROD: &str = "type(SERVICE),tag(keptn_service:checkout),tag(keptn_stage:production)";

fn dir() -> PathBuf {
    fixtures("dynatrace")
}

fn scenario_text() -> String {
    std::fs::read_to_string(dir().join("scenario.json")).unwrap()
}

/// The scenario's classic API token (`platform: false`) or its platform token.
fn token(platform: bool) -> String {
    let v: Value = serde_json::from_str(&scenario_text()).unwrap();
    v["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["platform"].as_bool().unwrap_or(false) == platform)
        .and_then(|t| t["token"].as_str())
        .unwrap()
        .to_string()
}

fn api_token() -> String {
    token(false)
}

fn platform_token() -> String {
    token(true)
}

fn sim() -> BlockingSim {
    start_blocking(dtsim::scenario_from_json(&scenario_text()).unwrap()).unwrap()
}

/// `slogate eval --config <case> --from .. --to .. --format json`, with the URL and no token.
fn eval_without_tokens(url: &str, case: &str, window: (&str, &str)) -> Slogate {
    Slogate::new()
        .args([
            "eval", "--config", case, "--from", window.0, "--to", window.1,
        ])
        .args(["--format", "json"])
        .current_dir(dir())
        .env("DT_URL", url)
}

/// The same with both of the scenario's tokens.
fn eval(url: &str, case: &str, window: (&str, &str)) -> Slogate {
    eval_without_tokens(url, case, window)
        .env("DT_API_TOKEN", api_token())
        .env("DT_PLATFORM_TOKEN", platform_token())
}

/// The indicator result named `name`.
#[track_caller]
fn indicator<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["indicatorResults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["value"]["metric"] == name)
        .unwrap_or_else(|| panic!("no indicator {name} in {report:#}"))
}

/// A successful indicator's value.
#[track_caller]
fn value_of(report: &Value, name: &str) -> f64 {
    let r = indicator(report, name);
    assert_eq!(r["value"]["success"], true, "{name} failed: {r:#}");
    assert_eq!(r["value"]["message"], "", "{r:#}");
    r["value"]["value"].as_f64().unwrap()
}

#[track_caller]
fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0),
        "{actual} != {expected}"
    );
}

/// An unsuccessful indicator: value 0, `success: false`, and its message.
#[track_caller]
fn failure_of(report: &Value, name: &str) -> String {
    let r = indicator(report, name);
    assert_eq!(r["value"]["success"], false, "{name} should fail: {r:#}");
    assert_eq!(r["value"]["value"].as_f64(), Some(0.0), "{r:#}");
    assert_ne!(r["status"], "pass", "{r:#}");
    r["value"]["message"].as_str().unwrap().to_string()
}

/// The `query` field of an indicator.
#[track_caller]
fn query_of(report: &Value, name: &str) -> String {
    indicator(report, name)["query"]
        .as_str()
        .unwrap_or_else(|| panic!("{name} has no query: {report:#}"))
        .to_string()
}

/// A recorded request as the report's `query` field writes it: `GET /path?query`.
fn shown(r: &RecordedRequest) -> String {
    match &r.query {
        Some(q) => format!("{} {}?{}", r.method, r.path, q),
        None => format!("{} {}", r.method, r.path),
    }
}

fn on_path(sim: &BlockingSim, path: &str) -> Vec<RecordedRequest> {
    data_requests(sim)
        .into_iter()
        .filter(|r| r.path == path)
        .collect()
}

/// The metrics queries whose `metricSelector` is exactly `sel`.
fn with_selector(sim: &BlockingSim, sel: &str) -> Vec<RecordedRequest> {
    on_path(sim, METRICS_QUERY)
        .into_iter()
        .filter(|r| r.param("metricSelector").as_deref() == Some(sel))
        .collect()
}

/// The expressions of a batched `metricSelector`: split on commas outside parentheses and quotes.
fn expressions(sel: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let (mut depth, mut quoted) = (0, false);
    for c in sel.chars() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(String::new());
                continue;
            }
            _ => {}
        }
        out.last_mut().unwrap().push(c);
    }
    out
}

/// The classic token, in the header.
#[track_caller]
fn assert_classic(r: &RecordedRequest) {
    let expected = format!("Api-Token {}", api_token());
    assert_eq!(r.header("authorization"), Some(expected.as_str()), "{r:?}");
}

#[track_caller]
fn assert_window(r: &RecordedRequest) {
    assert_eq!(r.param("from").as_deref(), Some(FROM_MS), "{r:?}");
    assert_eq!(r.param("to").as_deref(), Some(TO_MS), "{r:?}");
}

/// A non-zero exit, and a report (if any) whose result is `fail`.
#[track_caller]
fn assert_nothing_passes(out: &Output) {
    assert_ne!(out.code, 0, "{out:?}");
    if !out.stdout.trim().is_empty() {
        let result = out.json()["result"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            ["fail", "error", "invalid"].contains(&result.as_str()),
            "{result}: {out:?}"
        );
        // The exit code and the report tell the same outcome.
        let code = match result.as_str() {
            "fail" => 1,
            "invalid" => 2,
            _ => 3,
        };
        assert_eq!(out.code, code, "{out:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Query forms
// ---------------------------------------------------------------------------------------------

#[test]
fn metrics_key_value_form_with_and_without_resolution_and_with_mz_selector() {
    let sim = sim();
    let out = eval(&sim.url(), "metrics-kv", WINDOW).run();
    out.assert_code(0);
    let report = out.json();
    assert_eq!(report["result"], "pass");
    assert_close(value_of(&report, "rt_avg"), 250_000.0);
    assert_close(value_of(&report, "rt_p95"), 480_000.0);
    // keptn_service:checkout also matches checkout-staging: only the zone makes it one series
    assert_close(value_of(&report, "errors_prod"), 0.5);

    let reqs = on_path(&sim, METRICS_QUERY);
    assert_eq!(data_requests(&sim).len(), 2, "{reqs:#?}");
    for r in &reqs {
        assert_classic(r);
        assert_window(r);
        // no resolution given: Inf up front; `resolution=Inf` given: sent as is
        assert_eq!(r.param("resolution").as_deref(), Some("Inf"), "{r:?}");
    }
    // rt_avg and rt_p95 share entity selector and resolution: one request
    let shared = reqs
        .iter()
        .find(|r| r.param("entitySelector").as_deref() == Some(CHECKOUT_PROD))
        .unwrap();
    let mut sels = expressions(&shared.param("metricSelector").unwrap());
    sels.sort();
    assert_eq!(
        sels,
        [
            "builtin:service.response.time:merge(\"dt.entity.service\"):avg",
            "builtin:service.response.time:merge(\"dt.entity.service\"):percentile(95)"
        ]
    );
    assert!(shared.param("mzSelector").is_none());
    let zoned = reqs
        .iter()
        .find(|r| r.param("mzSelector").is_some())
        .unwrap();
    assert_eq!(
        zoned.param("mzSelector").as_deref(),
        Some("mzName(\"prod\")")
    );
    assert_eq!(
        zoned.param("entitySelector").as_deref(),
        Some("type(SERVICE),tag(keptn_service:checkout)")
    );
    assert_eq!(
        zoned.param("metricSelector").as_deref(),
        Some("builtin:service.errors.total.rate:avg")
    );
    // the report shows each SLI's own request, reproducible with curl
    assert_eq!(query_of(&report, "errors_prod"), shown(zoned));
    assert_eq!(
        query_of(&report, "rt_avg"),
        format!(
            "GET /api/v2/metrics/query?entitySelector=type%28SERVICE%29%2Ctag%28keptn_service%3Acheckout%29\
             %2Ctag%28keptn_stage%3Aproduction%29&from={FROM_MS}&metricSelector=builtin%3Aservice.response.time\
             %3Amerge%28%22dt.entity.service%22%29%3Aavg&resolution=Inf&to={TO_MS}"
        )
    );
}

#[test]
fn legacy_scope_form_gets_type_service_and_resolution_inf() {
    let sim = sim();
    let out = eval(&sim.url(), "legacy", WINDOW).run();
    out.assert_code(0);
    let report = out.json();
    assert_close(value_of(&report, "rt_legacy"), 250_000.0);
    assert_close(value_of(&report, "p95_legacy"), 480_000.0);

    let sel = "builtin:service.response.time:merge(\"dt.entity.service\"):avg";
    let reqs = with_selector(&sim, sel);
    assert_eq!(reqs.len(), 1, "{:#?}", data_requests(&sim));
    assert_eq!(
        reqs[0].param("entitySelector").as_deref(),
        Some("tag(keptn_service:checkout),tag(keptn_stage:production),type(SERVICE)")
    );
    assert_eq!(reqs[0].param("resolution").as_deref(), Some("Inf"));
    assert_window(&reqs[0]);
    // a scope that already names type(SERVICE) does not get it twice
    let sel = "builtin:service.response.time:merge(\"dt.entity.service\"):percentile(95)";
    let reqs = with_selector(&sim, sel);
    assert_eq!(reqs.len(), 1, "{:#?}", data_requests(&sim));
    assert_eq!(
        reqs[0].param("entitySelector").as_deref(),
        Some(CHECKOUT_PROD)
    );
    assert_eq!(reqs[0].param("resolution").as_deref(), Some("Inf"));
    assert_eq!(data_requests(&sim).len(), 2);
}

#[test]
fn mv2_scales_the_value_and_to_unit_is_passed_verbatim() {
    let sim = sim();
    let out = eval(&sim.url(), "mv2", WINDOW).run();
    out.assert_code(0);
    let report = out.json();
    // MV2;MicroSecond: µs / 1000
    assert_close(value_of(&report, "rt_ms"), 250.0);
    // the same metrics query without MV2 keeps µs, although both share one selector
    assert_close(value_of(&report, "rt_us"), 250_000.0);
    // MV2;Count, as older dashboard exports wrote it: the value as is (older dynatrace-service)
    assert_close(value_of(&report, "rt_count"), 250_000.0);
    // MV2;Byte: bytes / 1024
    assert_close(value_of(&report, "payload_kib"), 3.0);
    // :toUnit converts in Dynatrace; slogate does not scale again
    assert_close(value_of(&report, "p95_to_unit"), 480.0);

    let reqs = on_path(&sim, METRICS_QUERY);
    assert_eq!(reqs.len(), 1, "{reqs:#?}");
    let sel = reqs[0].param("metricSelector").unwrap();
    // five SLIs, three distinct selectors
    assert_eq!(expressions(&sel).len(), 3, "{sel}");
    assert!(
        sel.contains(
            "builtin:service.response.time:merge(\"dt.entity.service\"):percentile(95):toUnit(MicroSecond,MilliSecond)"
        ),
        "{sel}"
    );
    // the response-time selector is sent once for rt_ms, rt_us and rt_count, without any unit change
    assert_eq!(
        sel.matches("builtin:service.response.time:merge(\"dt.entity.service\"):avg")
            .count(),
        1,
        "{sel}"
    );
    assert_eq!(sel.matches("toUnit").count(), 1, "{sel}");
    assert!(
        sel.contains("custom:payload.size:merge(\"dt.entity.service\"):avg"),
        "{sel}"
    );
    assert!(!sel.contains("MV2"), "{sel}");
    assert_eq!(query_of(&report, "rt_ms"), query_of(&report, "rt_us"));
}

#[test]
fn slo_form_value_error_and_unknown_id() {
    let sim = sim();
    let out = eval(&sim.url(), "slo", WINDOW).run();
    // The unknown SLO id (404) is a wrong selection: could not evaluate, not a failed release.
    out.assert_code(3);
    let report = out.json();
    assert_eq!(report["result"], "error");
    assert_eq!(report["evaluationResult"], "fail");
    assert_close(value_of(&report, "availability"), 99.95);
    // 200 with error != NONE: Keptn's failure
    assert_eq!(
        failure_of(&report, "cart_availability"),
        "error querying Service level objectives API: dynatrace API returned an error: NO_DATA"
    );
    let missing = "/api/v2/slo/00000000-0000-4000-8000-0000000000ff";
    assert_eq!(
        failure_of(&report, "missing_slo"),
        format!(
            "error querying Service level objectives API: Dynatrace API error (404): \
             SLO with ID '00000000-0000-4000-8000-0000000000ff' not found. \
             - URL: {missing}?from={FROM_MS}&timeFrame=GTF&to={TO_MS}"
        )
    );
    let reqs = data_requests(&sim);
    assert_eq!(reqs.len(), 3, "{reqs:#?}");
    for r in &reqs {
        assert!(r.path.starts_with("/api/v2/slo/"), "{r:?}");
        assert_classic(r);
        assert_window(r);
        assert_eq!(r.param("timeFrame").as_deref(), Some("GTF"));
    }
    let r404 = reqs.iter().find(|r| r.path == missing).unwrap();
    assert_eq!(r404.status, 404);
    // an API error keeps the query
    assert_eq!(query_of(&report, "missing_slo"), shown(r404));
    assert!(
        report["message"]
            .as_str()
            .unwrap()
            .contains("cart_availability: error querying Service level objectives API"),
        "{report:#}"
    );
}

#[test]
fn problems_v2_counts_the_problems_overlapping_the_window() {
    let sim = sim();
    // (window, all, on checkout, open now)
    let cases = [
        // P-2 (cart, 09:00–10:45) only
        (WINDOW, 1.0, 0.0, 0.0),
        // P-2 and P-1 (checkout, open since 11:20)
        (
            ("2026-11-17T10:30:00Z", "2026-11-17T11:30:00Z"),
            2.0,
            1.0,
            1.0,
        ),
        // between the two
        (
            ("2026-11-17T10:50:00Z", "2026-11-17T11:10:00Z"),
            0.0,
            0.0,
            0.0,
        ),
    ];
    for (window, all, checkout, open) in cases {
        sim.clear_requests();
        let out = eval(&sim.url(), "problems", window).run();
        out.assert_code(0);
        let report = out.json();
        assert_eq!(value_of(&report, "all_problems"), all, "{window:?}");
        assert_eq!(
            value_of(&report, "checkout_problems"),
            checkout,
            "{window:?}"
        );
        assert_eq!(value_of(&report, "open_problems"), open, "{window:?}");
        let reqs = on_path(&sim, "/api/v2/problems");
        assert_eq!(reqs.len(), 3, "{reqs:#?}");
        let from = chrono_ms(window.0);
        for r in &reqs {
            assert_classic(r);
            assert_eq!(r.param("from"), Some(from.clone()));
        }
        assert!(reqs.iter().any(
            |r| r.query.as_deref() == Some(&*format!("from={from}&to={}", chrono_ms(window.1)))
        ));
        assert!(reqs.iter().any(|r| r.param("entitySelector").as_deref()
            == Some("type(SERVICE),tag(keptn_service:checkout)")
            && r.param("problemSelector").is_none()));
        assert!(reqs.iter().any(|r| r.param("problemSelector").as_deref()
            == Some("status(\"open\")")
            && r.param("entitySelector").is_none()));
    }
}

/// Epoch milliseconds of an RFC 3339 instant, as the requests carry it.
fn chrono_ms(t: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(t)
        .unwrap()
        .timestamp_millis()
        .to_string()
}

#[test]
fn security_problems_v2_total_count() {
    let sim = sim();
    let out = eval(&sim.url(), "security", WINDOW).run();
    // one critical vulnerability violates `<=0`
    out.assert_code(1);
    let report = out.json();
    assert_eq!(value_of(&report, "all_vulnerabilities"), 3.0);
    assert_eq!(value_of(&report, "open_vulnerabilities"), 2.0);
    assert_eq!(value_of(&report, "critical_vulnerabilities"), 1.0);
    assert_eq!(
        indicator(&report, "critical_vulnerabilities")["status"],
        "fail"
    );
    let reqs = on_path(&sim, "/api/v2/securityProblems");
    assert_eq!(reqs.len(), 3, "{reqs:#?}");
    for r in &reqs {
        assert_classic(r);
        assert_window(r);
    }
    let selectors: Vec<Option<String>> = reqs
        .iter()
        .map(|r| r.param("securityProblemSelector"))
        .collect();
    assert!(selectors.contains(&None));
    assert!(selectors.contains(&Some("status(\"OPEN\")".into())));
    assert!(selectors.contains(&Some("status(\"OPEN\"),riskLevel(\"CRITICAL\")".into())));
}

#[test]
fn usql_single_value_table_and_pie_chart() {
    let sim = sim();
    let out = eval(&sim.url(), "usql", WINDOW).run();
    out.assert_code(0);
    let report = out.json();
    assert_eq!(value_of(&report, "sessions"), 4711.0);
    // TABLE: last column of the Desktop row
    assert_eq!(value_of(&report, "desktop_sessions"), 340.0);
    // PIE_CHART: column 1 of the iPad mini row
    assert_close(value_of(&report, "ipad_duration"), 2300.5);

    let reqs = on_path(&sim, "/api/v1/userSessionQueryLanguage/table");
    assert_eq!(reqs.len(), 3, "{reqs:#?}");
    for r in &reqs {
        assert_classic(r);
        assert_eq!(r.param("startTimestamp").as_deref(), Some(FROM_MS));
        assert_eq!(r.param("endTimestamp").as_deref(), Some(TO_MS));
        assert_eq!(r.param("addDeepLinkFields").as_deref(), Some("false"));
        assert_eq!(r.param("explain").as_deref(), Some("false"));
    }
    let queries: Vec<String> = reqs.iter().filter_map(|r| r.param("query")).collect();
    assert!(queries.contains(&"SELECT count(*) FROM usersession".to_string()));
    assert!(queries.contains(
        &"SELECT device, AVG(duration), COUNT(*) FROM usersession GROUP BY device".to_string()
    ));
    assert_eq!(
        query_of(&report, "sessions"),
        format!(
            "GET /api/v1/userSessionQueryLanguage/table?addDeepLinkFields=false&endTimestamp={TO_MS}\
             &explain=false&query=SELECT+count%28%2A%29+FROM+usersession&startTimestamp={FROM_MS}"
        )
    );
}

#[test]
fn usql_slis_sharing_a_query_keep_their_own_type_and_dimension() {
    let sim = sim();
    let out = eval(&sim.url(), "usql-shared-query", WINDOW).run();
    let report = out.json();
    // TABLE Desktop: the last column
    assert_eq!(value_of(&report, "desktop_sessions"), 340.0);
    // PIE_CHART iPad mini: column 1
    assert_close(value_of(&report, "ipad_duration"), 2300.5);
    // COLUMN_CHART Smart TV: no such row
    assert!(
        failure_of(&report, "tv_duration")
            .contains("could not find dimension name 'Smart TV' in result"),
        "{report:#}"
    );
    // sending the query once is fine; more than once per SLI is not
    assert!(on_path(&sim, "/api/v1/userSessionQueryLanguage/table").len() <= 3);
}

#[test]
fn dql_with_a_platform_token_answers_synchronously() {
    let sim = sim();
    let out = eval(&sim.url(), "dql", WINDOW).run();
    out.assert_code(0);
    let report = out.json();
    assert_eq!(value_of(&report, "log_lines"), 1234.0);
    assert_eq!(value_of(&report, "error_logs"), 17.0);

    let reqs = data_requests(&sim);
    assert_eq!(reqs.len(), 2, "{reqs:#?}");
    let bearer = format!("Bearer {}", platform_token());
    let mut queries = Vec::new();
    for r in &reqs {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, DQL_EXECUTE);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("authorization"), Some(bearer.as_str()));
        let body = r.json().unwrap();
        assert_eq!(body["defaultTimeframeStart"], "2026-11-17T09:00:00.000Z");
        assert_eq!(body["defaultTimeframeEnd"], "2026-11-17T10:00:00.000Z");
        queries.push(body["query"].as_str().unwrap().to_string());
    }
    queries.sort();
    assert_eq!(
        queries,
        [
            "fetch logs | filter loglevel == \"ERROR\" | summarize errors = count()",
            "fetch logs | summarize count()"
        ]
    );
    assert!(
        query_of(&report, "log_lines")
            .starts_with("POST /platform/storage/query/v1/query:execute {\"query\":\"fetch logs | summarize count()\"")
    );
}

#[test]
fn dql_running_queries_are_polled_until_they_succeed() {
    let sim = sim();
    sim.set_faults(Faults {
        dql_async_every: 1,
        dql_running_polls: 2,
        ..Faults::default()
    });
    let out = eval(&sim.url(), "dql", WINDOW).run();
    out.assert_code(0);
    let report = out.json();
    assert_eq!(value_of(&report, "log_lines"), 1234.0);
    assert_eq!(value_of(&report, "error_logs"), 17.0);

    let executes = on_path(&sim, DQL_EXECUTE);
    assert_eq!(executes.len(), 2, "{:#?}", data_requests(&sim));
    assert!(executes.iter().all(|r| r.status == 202), "{executes:#?}");
    // two RUNNING answers, then the result: three polls per query
    let polls = on_path(&sim, DQL_POLL);
    assert_eq!(polls.len(), 6, "{polls:#?}");
    let bearer = format!("Bearer {}", platform_token());
    let mut tokens: Vec<String> = Vec::new();
    for p in &polls {
        assert_eq!(p.method, "GET");
        assert_eq!(p.status, 200, "{p:?}");
        assert_eq!(p.header("authorization"), Some(bearer.as_str()));
        tokens.push(p.param("request-token").unwrap());
    }
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 2, "one request token per query: {tokens:?}");
}

#[test]
fn dql_without_a_platform_token_names_the_variable() {
    let sim = sim();
    let out = eval_without_tokens(&sim.url(), "dql", WINDOW)
        .env("DT_API_TOKEN", api_token())
        .run();
    out.assert_no_panic();
    assert_ne!(out.code, 0, "{out:?}");
    out.assert_stderr_contains("DT_PLATFORM_TOKEN");
    assert_nothing_passes(&out);
    // nothing is sent without the token
    assert!(
        on_path(&sim, DQL_EXECUTE).is_empty(),
        "{:#?}",
        data_requests(&sim)
    );
}

// ---------------------------------------------------------------------------------------------
// Placeholders
// ---------------------------------------------------------------------------------------------

#[test]
fn placeholders_reach_the_requests() {
    let sim = sim();
    let out = eval(&sim.url(), "placeholders", WINDOW)
        .args(["--deployment", "primary", "--context", "ctx-42"])
        .args(["--label", "zone=prod"])
        .env("SLOGATE_FORMS_APP", "checkout")
        .run();
    out.assert_code(0);
    let report = out.json();
    assert_close(value_of(&report, "tagged"), 250_000.0);
    assert_close(value_of(&report, "by_app"), 0.5);
    assert_eq!(value_of(&report, "context_problems"), 0.0);
    assert_eq!(value_of(&report, "by_filter"), 72_000.0);

    let reqs = data_requests(&sim);
    assert_eq!(reqs.len(), 4, "{reqs:#?}");
    for r in &reqs {
        assert!(
            !r.query.as_deref().unwrap_or("").contains('$')
                && !r.query.as_deref().unwrap_or("").contains("%24"),
            "a placeholder was left: {r:?}"
        );
    }
    // $PROJECT $STAGE $SERVICE $DEPLOYMENT, and $LABEL.zone
    let tagged = with_selector(
        &sim,
        "builtin:service.response.time:merge(\"dt.entity.service\"):avg",
    );
    assert_eq!(tagged.len(), 1);
    assert_eq!(
        tagged[0].param("entitySelector").as_deref(),
        Some(
            "type(SERVICE),tag(keptn_project:shop),tag(keptn_stage:production),tag(keptn_service:checkout),tag(keptn_deployment:primary)"
        )
    );
    assert_eq!(
        tagged[0].param("mzSelector").as_deref(),
        Some("mzName(\"prod\")")
    );
    // $ENV.SLOGATE_FORMS_APP
    let by_app = with_selector(&sim, "builtin:service.errors.total.rate:avg");
    assert_eq!(
        by_app[0].param("entitySelector").as_deref(),
        Some("type(SERVICE),tag(app:checkout),tag(keptn_stage:production)")
    );
    // $CONTEXT
    let problems = on_path(&sim, "/api/v2/problems");
    assert_eq!(
        problems[0].param("problemSelector").as_deref(),
        Some("text(\"ctx-42\")")
    );
}

#[test]
fn slo_filter_keys_replace_their_placeholders() {
    let sim = sim();
    let out = eval(&sim.url(), "placeholders", WINDOW)
        .args(["--deployment", "primary", "--context", "ctx-42"])
        .args(["--label", "zone=prod"])
        .env("SLOGATE_FORMS_APP", "checkout")
        .run();
    out.assert_code(0);
    let report = out.json();
    // filter: {svc_id: SERVICE-1000000000000001} turns $svc_id into the id
    assert_eq!(value_of(&report, "by_filter"), 72_000.0);
    let reqs = with_selector(&sim, "builtin:service.requestCount.total:sum");
    assert_eq!(reqs.len(), 1, "{:#?}", data_requests(&sim));
    assert_eq!(
        reqs[0].param("entitySelector").as_deref(),
        Some("entityId(\"SERVICE-1000000000000001\")")
    );
    assert_eq!(query_of(&report, "by_filter"), shown(&reqs[0]));
}

#[test]
fn an_unset_env_placeholder_fails_only_that_sli() {
    let sim = sim();
    let out = eval(&sim.url(), "unset-env", WINDOW).run();
    // A variable the query needs is configuration: invalid, not a failed release.
    out.assert_code(2);
    let report = out.json();
    assert_eq!(report["result"], "invalid");
    assert_close(value_of(&report, "fine"), 0.5);
    let msg = failure_of(&report, "needs_env");
    assert!(msg.contains("SLOGATE_FORMS_UNSET_APP"), "{msg}");
    assert_eq!(indicator(&report, "needs_env")["status"], "fail");
    // the broken query is never sent
    let reqs = data_requests(&sim);
    assert_eq!(reqs.len(), 1, "{reqs:#?}");
    assert!(!reqs[0].query.as_deref().unwrap().contains("ENV"));
    assert!(
        indicator(&report, "needs_env")["query"].is_null(),
        "{report:#}"
    );
}

// ---------------------------------------------------------------------------------------------
// Default SLIs
// ---------------------------------------------------------------------------------------------

/// Reference §5, with `$PROJECT`… already filled in.
fn default_entity_selector(deployment: &str) -> String {
    format!(
        "type(SERVICE),tag(keptn_project:shop),tag(keptn_stage:production),tag(keptn_service:checkout),tag(keptn_deployment:{deployment})"
    )
}

const DEFAULT_THROUGHPUT: &str =
    "builtin:service.requestCount.total:merge(\"dt.entity.service\"):sum";
const DEFAULT_ERROR_RATE: &str =
    "builtin:service.errors.total.rate:merge(\"dt.entity.service\"):avg";
const DEFAULT_P95: &str =
    "builtin:service.response.time:merge(\"dt.entity.service\"):percentile(95)";

#[test]
fn without_sli_yaml_keptns_default_queries_are_used() {
    assert!(!dir().join("defaults/sli.yaml").exists());
    let sim = sim();
    let out = eval(&sim.url(), "defaults", WINDOW)
        .args(["--deployment", "primary"])
        .run();
    out.assert_code(0);
    let report = out.json();
    assert_eq!(value_of(&report, "throughput"), 72_000.0);
    assert_close(value_of(&report, "error_rate"), 0.5);
    // µs: no unit conversion since dynatrace-service 0.24
    assert_close(value_of(&report, "response_time_p95"), 480_000.0);

    let reqs = on_path(&sim, METRICS_QUERY);
    assert_eq!(reqs.len(), 1, "{reqs:#?}");
    let r = &reqs[0];
    assert_eq!(
        r.param("entitySelector"),
        Some(default_entity_selector("primary"))
    );
    // the three defaults the objectives name, in one request; p50 and p90 are not fetched
    let mut sent = expressions(&r.param("metricSelector").unwrap());
    sent.sort();
    let mut expected = [DEFAULT_THROUGHPUT, DEFAULT_ERROR_RATE, DEFAULT_P95];
    expected.sort();
    assert_eq!(sent, expected);
    // each indicator shows the request it would make alone: exactly Keptn's default query
    let one = |m: &str| {
        let mut q: Vec<(String, String)> = [
            ("entitySelector", default_entity_selector("primary")),
            ("from", FROM_MS.to_string()),
            ("metricSelector", m.to_string()),
            ("resolution", "Inf".to_string()),
            ("to", TO_MS.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        q.sort();
        q
    };
    for (name, m) in [
        ("throughput", DEFAULT_THROUGHPUT),
        ("error_rate", DEFAULT_ERROR_RATE),
        ("response_time_p95", DEFAULT_P95),
    ] {
        assert_eq!(decode_query(&query_of(&report, name)), one(m), "{name}");
    }
}

#[test]
fn default_queries_without_deployment_keep_keptns_empty_tag() {
    let sim = sim();
    let out = eval(&sim.url(), "defaults", WINDOW).run();
    // Keptn's empty deployment tag matches no entity: no verdict, the selection is wrong.
    out.assert_code(3);
    assert_eq!(out.json()["result"], "error");
    let report = out.json();
    let reqs = on_path(&sim, METRICS_QUERY);
    assert_eq!(reqs.len(), 1, "{reqs:#?}");
    assert_eq!(
        reqs[0].param("entitySelector"),
        Some(default_entity_selector(""))
    );
    for name in ["throughput", "error_rate", "response_time_p95"] {
        assert_eq!(
            failure_of(&report, name),
            "could not process metrics query: Metrics API v2 returned zero metric series"
        );
    }
}

/// `GET /path?a=1&b=2` → sorted decoded pairs (keys must be unique).
fn decode_query(shown: &str) -> Vec<(String, String)> {
    let q = shown.split_once('?').unwrap().1;
    let mut out: Vec<(String, String)> = q
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_string(), percent_decode(v))
        })
        .collect();
    out.sort();
    out
}

/// Decodes `+` and `%XX` (the report's query strings are ASCII).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Reduction rules
// ---------------------------------------------------------------------------------------------

#[test]
fn several_series_are_never_aggregated() {
    let sim = sim();
    let out = eval(&sim.url(), "several-series", WINDOW).run();
    out.assert_code(1);
    let report = out.json();
    assert_eq!(
        failure_of(&report, "rt_two_services"),
        "could not process metrics query: Metrics API v2 returned 2 metric series but only one is supported"
    );
    assert_eq!(indicator(&report, "rt_two_services")["status"], "fail");
    // no retry for several series: one request, no descriptor
    let reqs = data_requests(&sim);
    assert_eq!(reqs.len(), 1, "{reqs:#?}");
    assert_eq!(query_of(&report, "rt_two_services"), shown(&reqs[0]));
}

#[test]
fn zero_series_is_unsuccessful() {
    let sim = sim();
    // cart has no error-rate data in 11:00–11:10; no service has keptn_service:nosuchservice
    let out = eval(
        &sim.url(),
        "zero-series",
        ("2026-11-17T11:00:00Z", "2026-11-17T11:10:00Z"),
    )
    .run();
    let report = out.json();
    for name in ["cart_errors", "nobody"] {
        assert_eq!(
            failure_of(&report, name),
            "could not process metrics query: Metrics API v2 returned zero metric series"
        );
    }
    // cart exists but sent no errors in the window: the objective fails as in Keptn, and says so.
    let cart = indicator(&report, "cart_errors");
    assert_eq!(cart["status"], "fail");
    assert!(cart.get("error").is_none(), "{cart}");
    assert!(
        cart["notes"]
            .to_string()
            .contains("the entity exists but sent no data"),
        "{cart}"
    );
    // Nobody has the tag: no such service is no verdict about a release.
    let nobody = indicator(&report, "nobody");
    assert!(
        nobody["error"]
            .as_str()
            .is_some_and(|e| e.contains("no entity matches")),
        "{nobody}"
    );
    out.assert_code(3);
    assert_eq!(report["result"], "error");
    assert_eq!(data_requests(&sim).len(), 2, "{:#?}", data_requests(&sim));
    // The entities API was asked about each empty selector once.
    let asked: Vec<String> = sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/api/v2/entities"))
        .filter_map(|r| r.param("entitySelector"))
        .collect();
    assert!(
        asked.iter().any(|s| s.contains("nosuchservice")),
        "{asked:?}"
    );
}

/// A stand-in for Dynatrace answering every request 200 with `body`: dtsim never returns a
/// series whose only value is `null` (a series without any value is left out). Returns the URL
/// and the request heads it saw.
pub(crate) fn canned_server(body: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Ok(read_half) = stream.try_clone() else {
                continue;
            };
            let mut reader = BufReader::new(read_half);
            let mut head = Vec::new();
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if line == "\r\n" => break,
                    Ok(_) => head.push(line.trim_end().to_string()),
                }
            }
            log.lock().unwrap().push(head.join("\n"));
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    (url, seen)
}

#[test]
fn a_null_value_is_unsuccessful_with_the_warnings() {
    let (url, seen) = canned_server(
        r#"{"totalCount":1,"nextPageKey":null,"resolution":"Inf","result":[{"metricId":"builtin:service.response.time:merge(\"dt.entity.service\"):avg","warnings":["The result is incomplete"],"data":[{"dimensions":[],"dimensionMap":{},"timestamps":[1794909600000],"values":[null]}]}]}"#,
    );
    let out = eval(&url, "null-value", WINDOW).run();
    out.assert_code(1);
    let report = out.json();
    assert_eq!(
        failure_of(&report, "rt_null"),
        "could not process metrics query: Metrics API v2 returned 'null' as value. Warnings: The result is incomplete"
    );
    assert_eq!(indicator(&report, "rt_null")["status"], "fail");
    // one value, even null, is not "several": no descriptor to split it, no retry (the unit's
    // descriptor, asked for every gate, aside)
    let seen: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|r| !r.starts_with("POST /api/v2/apiTokens/lookup"))
        .filter(|r| !(r.starts_with("GET /api/v2/metrics") && r.contains("fields=unit")))
        // the problems and events in the window (docs/context.md)
        .filter(|r| {
            !r.starts_with("GET /api/v2/problems?") && !r.starts_with("GET /api/v2/events?")
        })
        .cloned()
        .collect();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert!(
        seen[0].starts_with("GET /api/v2/metrics/query?"),
        "{seen:#?}"
    );
    assert!(seen[0].contains("resolution=Inf"), "{seen:#?}");
}

#[test]
fn an_explicit_resolution_with_several_values_is_retried_with_fold() {
    let sim = sim();
    let window = ("2026-11-17T11:05:00Z", "2026-11-17T11:15:00Z");
    let out = eval(&sim.url(), "resolution-fold", window).run();
    out.assert_code(0);
    let report = out.json();
    assert_close(value_of(&report, "rt_10m"), 250_000.0);
    // [null, 0.5] counts as two values: folded too, not "null"
    assert_close(value_of(&report, "cart_errors_5m"), 0.5);

    for (sel, resolution, descriptor) in [
        (
            "builtin:service.response.time:merge(\"dt.entity.service\"):avg",
            "10m",
            "/api/v2/metrics/builtin:service.response.time:merge%28%22dt.entity.service%22%29:avg",
        ),
        (
            "builtin:service.errors.total.rate:avg",
            "5m",
            "/api/v2/metrics/builtin:service.errors.total.rate:avg",
        ),
    ] {
        // the resolution as given, not Inf
        let first = with_selector(&sim, sel);
        assert_eq!(first.len(), 1, "{:#?}", data_requests(&sim));
        assert_eq!(first[0].param("resolution").as_deref(), Some(resolution));
        assert_eq!(first[0].status, 200);
        // the descriptor of the whole selector
        let d = on_path(&sim, descriptor);
        assert_eq!(d.len(), 1, "{descriptor}: {:#?}", data_requests(&sim));
        assert_eq!(d[0].method, "GET");
        assert_eq!(d[0].status, 200);
        assert_classic(&d[0]);
        // the resolution given is kept: `:fold`, not resolution=Inf
        let folded = with_selector(&sim, &format!("({sel}):fold"));
        assert_eq!(folded.len(), 1, "{:#?}", data_requests(&sim));
        assert_eq!(folded[0].param("resolution"), first[0].param("resolution"));
        assert_eq!(
            folded[0].param("entitySelector"),
            first[0].param("entitySelector")
        );
    }
    // the report shows the final (fold) request
    let folded = with_selector(
        &sim,
        "(builtin:service.response.time:merge(\"dt.entity.service\"):avg):fold",
    );
    assert_eq!(query_of(&report, "rt_10m"), shown(&folded[0]));
    assert!(query_of(&report, "rt_10m").contains("%3Afold&resolution=10m"));
    assert_eq!(data_requests(&sim).len(), 6, "{:#?}", data_requests(&sim));
}

#[test]
fn no_resolution_inf_and_value_aggregation_follow_keptns_retry() {
    let sim = sim();
    let out = eval(&sim.url(), "no-inf", WINDOW).run();
    out.assert_code(1);
    let report = out.json();
    // descriptor: resolutionInfSupported false, defaultAggregation value → Keptn's failure
    let msg = failure_of(&report, "queue_depth");
    assert!(
        msg.contains(
            "unable to apply ':fold' to the metric selector as the default aggregation type is 'value'"
        ),
        "{msg}"
    );
    let queue = with_selector(&sim, "custom:queue.depth");
    // resolution=Inf is refused (400), then Keptn's own first request (no resolution)
    let statuses: Vec<(Option<String>, u16)> = queue
        .iter()
        .map(|r| (r.param("resolution"), r.status))
        .collect();
    assert_eq!(
        statuses,
        [(Some("Inf".to_string()), 400), (None, 200)],
        "{queue:#?}"
    );
    assert_eq!(on_path(&sim, "/api/v2/metrics/custom:queue.depth").len(), 1);
    assert!(with_selector(&sim, "(custom:queue.depth):fold").is_empty());
    // on failure the report keeps Keptn's original request
    assert_eq!(query_of(&report, "queue_depth"), shown(&queue[1]));

    // resolutionInfSupported false, avg: folded
    assert_close(value_of(&report, "pool_usage"), 61.5);
    let pool = with_selector(&sim, "custom:pool.usage");
    assert_eq!(pool.len(), 2, "{pool:#?}");
    assert_eq!(on_path(&sim, "/api/v2/metrics/custom:pool.usage").len(), 1);
    let folded = with_selector(&sim, "(custom:pool.usage):fold");
    assert_eq!(folded.len(), 1, "{:#?}", data_requests(&sim));
    assert_eq!(folded[0].param("resolution"), None);
    assert_eq!(query_of(&report, "pool_usage"), shown(&folded[0]));
}

// ---------------------------------------------------------------------------------------------
// Batching
// ---------------------------------------------------------------------------------------------

#[test]
fn different_entity_selectors_or_zones_go_in_different_requests() {
    let sim = sim();
    let out = eval(&sim.url(), "batch-by-selector", WINDOW).run();
    out.assert_code(0);
    let report = out.json();
    assert_close(value_of(&report, "checkout_rt"), 250_000.0);
    assert_close(value_of(&report, "checkout_errors"), 0.5);
    // cart's response time is doubled in the scenario
    assert_close(value_of(&report, "cart_rt"), 500_000.0);
    assert_close(value_of(&report, "checkout_rt_in_zone"), 480_000.0);

    let reqs = on_path(&sim, METRICS_QUERY);
    assert_eq!(reqs.len(), 3, "{reqs:#?}");
    let key = |r: &RecordedRequest| (r.param("entitySelector"), r.param("mzSelector"));
    let mut keys: Vec<_> = reqs.iter().map(key).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 3, "{reqs:#?}");
    let shared = reqs
        .iter()
        .find(|r| r.param("entitySelector").as_deref() == Some(CHECKOUT_PROD))
        .unwrap();
    let mut sels = expressions(&shared.param("metricSelector").unwrap());
    sels.sort();
    assert_eq!(
        sels,
        [
            "builtin:service.errors.total.rate:merge(\"dt.entity.service\"):avg",
            "builtin:service.response.time:merge(\"dt.entity.service\"):avg"
        ]
    );
    assert!(shared.param("mzSelector").is_none());
    for r in &reqs {
        assert_eq!(r.param("resolution").as_deref(), Some("Inf"));
        assert_window(r);
    }
}

#[test]
fn more_than_ten_selectors_take_two_requests() {
    let sim = sim();
    let out = eval(&sim.url(), "batch-twelve", WINDOW).run();
    out.assert_code(0);
    let report = out.json();
    let expected = [
        ("rt_01", 250_000.0),
        ("rt_02", 100_000.0),
        ("rt_03", 900_000.0),
        ("rt_04", 200_000.0),
        ("rt_05", 200_000.0),
        ("rt_06", 400_000.0),
        ("rt_07", 480_000.0),
        ("err_11", 0.5),
    ];
    for (name, v) in expected {
        assert_close(value_of(&report, name), v);
    }
    for name in ["rt_08", "rt_09", "rt_10", "err_12"] {
        value_of(&report, name);
    }

    let reqs = on_path(&sim, METRICS_QUERY);
    assert_eq!(reqs.len(), 2, "{reqs:#?}");
    let mut sizes: Vec<usize> = Vec::new();
    let mut sent: Vec<String> = Vec::new();
    for r in &reqs {
        assert_eq!(r.status, 200);
        assert_eq!(r.param("entitySelector").as_deref(), Some(CHECKOUT_PROD));
        assert_eq!(r.param("resolution").as_deref(), Some("Inf"));
        let sel = r.param("metricSelector").unwrap();
        sizes.push(expressions(&sel).len());
        sent.extend(expressions(&sel));
    }
    sizes.sort();
    assert_eq!(sizes, [2, 10]);
    // every selector exactly once
    let merged = ":merge(\"dt.entity.service\"):";
    let mut expected: Vec<String> = [
        "avg",
        "min",
        "max",
        "median",
        "percentile(50)",
        "percentile(90)",
        "percentile(95)",
        "percentile(99)",
        "count",
        "sum",
    ]
    .iter()
    .map(|a| format!("builtin:service.response.time{merged}{a}"))
    .chain(
        ["avg", "max"]
            .iter()
            .map(|a| format!("builtin:service.errors.total.rate{merged}{a}")),
    )
    .collect();
    expected.sort();
    sent.sort();
    assert_eq!(sent, expected);
}

#[test]
fn identical_queries_are_sent_once() {
    let sim = sim();
    let out = eval(&sim.url(), "identical", WINDOW).run();
    out.assert_code(0);
    let report = out.json();
    assert_close(value_of(&report, "rt_a"), 250_000.0);
    assert_close(value_of(&report, "rt_b"), 250_000.0);
    assert_close(value_of(&report, "availability_a"), 99.95);
    assert_close(value_of(&report, "availability_b"), 99.95);
    let reqs = data_requests(&sim);
    assert_eq!(reqs.len(), 2, "{reqs:#?}");
    let metrics = on_path(&sim, METRICS_QUERY);
    assert_eq!(
        metrics[0].param("metricSelector").as_deref(),
        Some("builtin:service.response.time:merge(\"dt.entity.service\"):avg")
    );
    assert_eq!(query_of(&report, "rt_a"), query_of(&report, "rt_b"));
    assert_eq!(query_of(&report, "rt_a"), shown(&metrics[0]));
    assert_eq!(
        on_path(&sim, "/api/v2/slo/7d07efde-b714-3e6e-ad95-08490e2540c4").len(),
        1
    );
    // two data requests, the unit of the one metric, the preflight token lookup, and the
    // problems (the service's, its process groups', their hosts') and events in the window
    // (docs/context.md)
    assert_eq!(report["source"]["requests"], 8);
}

#[test]
fn every_objective_on_one_sli_gets_the_value_fetched_once() {
    let sim = sim();
    let out = eval(&sim.url(), "several-objectives", WINDOW).run();
    out.assert_code(0);
    let report = out.json();
    let results = report["indicatorResults"].as_array().unwrap();
    let got: Vec<(&str, &str)> = results
        .iter()
        .map(|r| {
            (
                r["displayName"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("absolute", "pass"),
            ("relative", "pass"),
            ("for the record", "info")
        ]
    );
    let metrics = on_path(&sim, METRICS_QUERY);
    assert_eq!(metrics.len(), 1, "{metrics:#?}");
    for r in results {
        assert_close(r["value"]["value"].as_f64().unwrap(), 250_000.0);
        assert_eq!(r["value"]["success"], true);
        // Keptn's SLIResult.query: the request, inside `value` too.
        assert_eq!(r["value"]["query"], r["query"], "{r:#}");
        assert_eq!(r["query"].as_str().unwrap(), shown(&metrics[0]));
    }
    assert_eq!(report["score"], 100.0);
    // The key Keptn ignored is named, with its line, and does not stop the evaluation.
    out.assert_stderr_contains("unknown key `fail` in an objective")
        .assert_stderr_contains("several-objectives/slo.yaml:15:5");
}

#[test]
fn one_unknown_metric_does_not_spoil_its_batch() {
    let sim = sim();
    let out = eval(&sim.url(), "batch-bad-selector", WINDOW).run();
    // A metric key that does not exist (404) is a wrong selection: could not evaluate.
    out.assert_code(3);
    assert_eq!(out.json()["result"], "error");
    let report = out.json();
    assert_close(value_of(&report, "rt"), 250_000.0);
    assert_close(value_of(&report, "errors"), 0.5);
    let bad = "builtin:service.reponse.time:merge(\"dt.entity.service\"):avg";
    let msg = failure_of(&report, "typo");
    let typo_query = query_of(&report, "typo");
    assert_eq!(
        msg,
        format!(
            "error querying Metrics API v2: Dynatrace API error (404): Metric with key \
             'builtin:service.reponse.time' not found. - URL: {}",
            typo_query.strip_prefix("GET ").unwrap()
        )
    );
    assert_eq!(indicator(&report, "typo")["status"], "fail");
    // the batch answered 404; every selector was then asked alone
    let reqs = on_path(&sim, METRICS_QUERY);
    let batch: Vec<_> = reqs
        .iter()
        .filter(|r| expressions(&r.param("metricSelector").unwrap()).len() > 1)
        .collect();
    assert_eq!(batch.len(), 1, "{reqs:#?}");
    assert_eq!(batch[0].status, 404);
    let alone = with_selector(&sim, bad);
    assert!(
        !alone.is_empty() && alone.iter().all(|r| r.status == 404),
        "{alone:#?}"
    );
    assert!(alone.iter().any(|r| shown(r) == typo_query), "{alone:#?}");
    for good in [
        "builtin:service.response.time:merge(\"dt.entity.service\"):avg",
        "builtin:service.errors.total.rate:merge(\"dt.entity.service\"):avg",
    ] {
        let r = with_selector(&sim, good);
        assert_eq!(r.len(), 1, "{reqs:#?}");
        assert_eq!(r[0].status, 200);
    }
}

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

#[test]
fn malformed_json_is_exit_3() {
    let sim = sim();
    sim.set_faults(Faults {
        malformed_rate: 1.0,
        ..Faults::default()
    });
    let out = eval(&sim.url(), "mixed", WINDOW).run();
    out.assert_no_panic().assert_code(3);
    out.assert_stderr_contains("could not evaluate")
        .assert_stderr_contains("not valid JSON");
    let report = out.json();
    assert_ne!(report["result"], "pass");
    for name in ["rt", "availability"] {
        let msg = failure_of(&report, name);
        assert!(msg.contains("the response is not valid JSON"), "{msg}");
    }
    assert!(data_requests(&sim).iter().all(|r| r.status == 200));
}

#[test]
fn timeouts_are_exit_3_within_bounded_time() {
    let sim = sim();
    sim.set_faults(Faults {
        timeout_rate: 1.0,
        timeout_ms: 20_000,
        ..Faults::default()
    });
    let started = Instant::now();
    let out = eval(&sim.url(), "mixed", WINDOW)
        .args(["--request-timeout", "1s"])
        .run();
    let took = started.elapsed();
    out.assert_no_panic().assert_code(3);
    out.assert_stderr_contains("could not evaluate")
        .assert_stderr_contains("timed out");
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert_nothing_passes(&out);
    // A settled historic window: the check runs beside the two data requests, each retried
    // five times; the check's message comes first.
    assert_eq!(data_requests(&sim).len(), 10, "{:#?}", data_requests(&sim));
    out.assert_stderr_contains("cannot be reached");
}

#[test]
fn rate_limits_are_waited_out_then_the_evaluation_recovers() {
    let sim = sim();
    // the first eight GET requests (of seven sent at once: two data requests, a unit, the
    // problems of the service, its process groups and hosts, and the events in the window) get
    // 429 with `Retry-After: 1`: two rounds of waiting
    sim.set_faults(Faults {
        fail_paths: vec![FailPath {
            prefix: "/".into(),
            status: 429,
            times: Some(8),
            method: Some("GET".into()),
            query: None,
        }],
        retry_after_s: 1,
        ..Faults::default()
    });
    let started = Instant::now();
    let out = eval(&sim.url(), "mixed", WINDOW).run();
    let took = started.elapsed();
    out.assert_code(0);
    let report = out.json();
    assert_close(value_of(&report, "rt"), 250_000.0);
    assert_close(value_of(&report, "availability"), 99.95);
    assert_eq!(report["source"]["retries"], 8, "{:#}", report["source"]);
    // the preflight token lookup, its retries, the two data requests, the unit of the one
    // metric selector without a stated unit, and the problems (three) and events in the window
    assert_eq!(report["source"]["requests"], 16, "{:#}", report["source"]);
    // two rounds of Retry-After: 1
    assert!(
        took >= Duration::from_secs(2),
        "Retry-After ignored: {took:?}"
    );
    for path in [
        METRICS_QUERY,
        "/api/v2/slo/7d07efde-b714-3e6e-ad95-08490e2540c4",
    ] {
        // The four 429s fall on these and the unit's descriptor, in whatever order the
        // concurrent requests arrive; each path ends with its answer.
        let statuses: Vec<u16> = on_path(&sim, path).iter().map(|r| r.status).collect();
        assert_eq!(statuses.first(), Some(&429), "{path}: {statuses:?}");
        assert_eq!(statuses.last(), Some(&200), "{path}: {statuses:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------------

#[test]
fn every_request_carries_its_token_and_no_output_shows_it() {
    let sim = sim();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("report.json");
    let out = eval(&sim.url(), "auth", WINDOW)
        .arg("--output")
        .arg(&file)
        .run();
    // A metric key or SLO id that does not exist (404) is a wrong selection, not a verdict; a
    // query Dynatrace refuses as malformed (400: bad_dql) is a configuration error, which
    // outranks it (docs/outcomes.md).
    out.assert_code(2);
    let report = out.json();
    assert_eq!(report["result"], "invalid");
    // every API was used, and errors echo URLs
    let reqs = data_requests(&sim);
    for prefix in [
        "/api/v2/metrics/query",
        "/api/v2/slo/",
        "/api/v2/problems",
        "/api/v2/securityProblems",
        "/api/v1/userSessionQueryLanguage/table",
        DQL_EXECUTE,
    ] {
        assert!(reqs.iter().any(|r| r.path.starts_with(prefix)), "{prefix}");
    }
    for name in ["typo", "missing_slo", "unknown_usql"] {
        assert!(
            failure_of(&report, name).contains(" - URL: /api/"),
            "{name}"
        );
    }
    failure_of(&report, "bad_dql");
    assert_close(value_of(&report, "log_lines"), 1234.0);

    let api = format!("Api-Token {}", api_token());
    let bearer = format!("Bearer {}", platform_token());
    for r in &reqs {
        let expected = if r.path.starts_with("/platform/") {
            &bearer
        } else {
            &api
        };
        assert_eq!(r.header("authorization"), Some(expected.as_str()), "{r:?}");
        // never as a query parameter
        let q = r.query.as_deref().unwrap_or("").to_ascii_lowercase();
        assert!(
            !q.contains("api-token") && !q.contains("formstest"),
            "{r:?}"
        );
    }
    let written = std::fs::read_to_string(&file).unwrap();
    for secret in [api_token(), platform_token()] {
        for (what, text) in [
            ("stdout", &out.stdout),
            ("stderr", &out.stderr),
            ("report file", &written),
        ] {
            assert!(!text.contains(&secret), "{what} shows a token");
        }
    }
}

#[test]
fn a_token_placeholder_never_reaches_the_output() {
    let sim = sim();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("report.json");
    let out = eval(&sim.url(), "token-in-query", WINDOW)
        .arg("--output")
        .arg(&file)
        .run();
    out.assert_no_panic();
    assert_nothing_passes(&out);
    let written = std::fs::read_to_string(&file).unwrap_or_default();
    let secret = api_token();
    for (what, text) in [
        ("stdout", &out.stdout),
        ("stderr", &out.stderr),
        ("report file", &written),
    ] {
        assert!(!text.contains(&secret), "{what} shows the token:\n{text}");
    }
    // nor does it travel in a URL
    for r in data_requests(&sim) {
        assert!(!shown(&r).contains(&secret), "{r:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Exit codes
// ---------------------------------------------------------------------------------------------

#[test]
fn exit_codes_follow_the_docs() {
    let sim = sim();
    // 0: pass
    let out = eval(&sim.url(), "mixed", WINDOW).run();
    out.assert_code(0);
    assert_eq!(out.json()["result"], "pass");
    // 0: warning
    let out = eval(&sim.url(), "warning", WINDOW).run();
    out.assert_code(0);
    assert_eq!(out.json()["result"], "warning");
    assert_eq!(indicator(&out.json(), "rt")["status"], "warning");
    // 1: fail
    let out = eval(&sim.url(), "failing", WINDOW).run();
    out.assert_code(1);
    assert_eq!(out.json()["result"], "fail");
    // 2: invalid SLO file
    let out = eval(&sim.url(), "invalid", WINDOW).run();
    out.assert_code(2).assert_stderr_contains("<=banana");
    assert_nothing_passes(&out);
    // 2: invalid flag, nothing sent
    sim.clear_requests();
    let out = eval(&sim.url(), "mixed", ("yesterday", WINDOW.1)).run();
    out.assert_code(2);
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(sim.requests().is_empty());
    // 2: no token
    let out = eval_without_tokens(&sim.url(), "mixed", WINDOW).run();
    out.assert_code(2).assert_stderr_contains("DT_API_TOKEN");
    assert!(sim.requests().is_empty());
    // 3: Dynatrace stays unavailable past the retries
    sim.set_faults(Faults {
        error_rate: 1.0,
        error_status: 503,
        ..Faults::default()
    });
    let out = eval(&sim.url(), "mixed", WINDOW).run();
    out.assert_code(3)
        .assert_stderr_contains("could not evaluate");
    assert_nothing_passes(&out);
    // An outage is no failed release: `error`, with Keptn's own view kept beside it.
    assert_eq!(out.json()["result"], "error");
    assert_eq!(out.json()["evaluationResult"], "fail");
    assert!(
        out.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("(503)")),
        "{out:?}"
    );
    // 3: the token is refused
    sim.set_faults(Faults::default());
    let out = eval(&sim.url(), "mixed", WINDOW)
        .env("DT_API_TOKEN", "dt0c01.NOT.THE.RIGHT.TOKEN")
        .run();
    out.assert_code(3)
        .assert_stderr_contains("DT_API_TOKEN")
        .assert_stderr_contains("(401)");
    assert!(!out.stderr.contains("NOT.THE.RIGHT"), "{out:?}");
}
