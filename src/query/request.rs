//! `SliQuery` → the HTTP request Keptn would send (reference §2 table), plus the follow-up
//! requests: metric descriptor and single-value retry, Grail polling, and batching of metrics
//! queries. Paths are relative to the environment URL; `Request::path_and_query` gives the exact
//! string that Keptn reported as an indicator's `query`.

use serde_json::{Value, json};

use super::encode::path_escape;
use super::reduce::Descriptor;
use super::{Method, MetricsQuery, Request, SliQuery, SloField, Window};

const METRICS_QUERY_PATH: &str = "/api/v2/metrics/query";
const DQL_EXECUTE_PATH: &str = "/platform/storage/query/v1/query:execute";
const DQL_POLL_PATH: &str = "/platform/storage/query/v1/query:poll";
/// How long Grail may hold one execute or poll call open before answering `RUNNING`.
pub const DQL_REQUEST_TIMEOUT_MS: u32 = 10_000;
/// One record is expected; more than this is surely a mistake and need not be transferred.
const DQL_MAX_RESULT_RECORDS: u32 = 1000;
/// Dynatrace accepts at most ten expressions in one `metricSelector`.
pub const MAX_BATCH: usize = 10;

fn get(path: String, query: Vec<(String, String)>) -> Request {
    Request {
        method: Method::Get,
        path,
        query,
        body: None,
    }
}

/// Query parameters; `None` values are left out (Keptn never sent empty ones).
fn params(list: &[(&str, Option<&str>)]) -> Vec<(String, String)> {
    list.iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v.to_string())))
        .collect()
}

/// The first request for `q` over `w`, exactly as Keptn sent it.
pub fn build(q: &SliQuery, w: Window) -> Request {
    let from = w.from_ms.to_string();
    let to = w.to_ms.to_string();
    match q {
        SliQuery::Metrics(m) | SliQuery::Mv2 { metrics: m, .. } => {
            metrics(m, &m.metric_selector, w)
        }
        SliQuery::Slo {
            id,
            field: SloField::EvaluatedPercentage,
        } => get(
            format!("/api/v2/slo/{}", path_escape(id)),
            params(&[
                ("from", Some(&from)),
                ("timeFrame", Some("GTF")),
                ("to", Some(&to)),
            ]),
        ),
        // The budget left and its burn rate mean something only over the SLO's own timeframe
        // (30 days, say), not over the evaluated window: ask for it as it is now.
        SliQuery::Slo { id, .. } => get(
            format!("/api/v2/slo/{}", path_escape(id)),
            params(&[("timeFrame", Some("CURRENT"))]),
        ),
        SliQuery::Problems {
            problem_selector,
            entity_selector,
        } => get(
            "/api/v2/problems".to_string(),
            params(&[
                ("entitySelector", entity_selector.as_deref()),
                ("from", Some(&from)),
                ("problemSelector", problem_selector.as_deref()),
                ("to", Some(&to)),
            ]),
        ),
        SliQuery::SecurityProblems {
            security_problem_selector,
        } => get(
            "/api/v2/securityProblems".to_string(),
            params(&[
                ("from", Some(&from)),
                (
                    "securityProblemSelector",
                    security_problem_selector.as_deref(),
                ),
                ("to", Some(&to)),
            ]),
        ),
        SliQuery::Usql { query, .. } => get(
            "/api/v1/userSessionQueryLanguage/table".to_string(),
            params(&[
                ("addDeepLinkFields", Some("false")),
                ("endTimestamp", Some(&to)),
                ("explain", Some("false")),
                ("query", Some(query)),
                ("startTimestamp", Some(&from)),
            ]),
        ),
        SliQuery::Dql { query } => Request {
            method: Method::Post,
            path: DQL_EXECUTE_PATH.to_string(),
            query: Vec::new(),
            body: Some(json!({
                "query": query,
                "defaultTimeframeStart": rfc3339_ms(w.from_ms),
                "defaultTimeframeEnd": rfc3339_ms(w.to_ms),
                "timezone": "UTC",
                "requestTimeoutMilliseconds": DQL_REQUEST_TIMEOUT_MS,
                "maxResultRecords": DQL_MAX_RESULT_RECORDS,
            })),
        },
        // The instant query at the window's end, its form written as a query string.
        // The first of its four requests; `burn_requests` lists them all.
        SliQuery::Burn(b) => burn_requests(b, w).swap_remove(0),
        SliQuery::Promql { query } => {
            use crate::query::promql as api;
            Request {
                method: Method::Post,
                path: api::QUERY_PATH.to_string(),
                query: api::instant_form(&api::fill_duration(query, w), w),
                body: None,
            }
        }
    }
}

/// The windows of a `BURN;` query, both ending at the evaluation's end: short, then long.
pub fn burn_windows(b: &super::burn::DynatraceBurn, w: Window) -> [Window; 2] {
    let at = |secs: i64| Window {
        from_ms: w.to_ms - secs * 1000,
        to_ms: w.to_ms,
    };
    [at(b.burn.short.1), at(b.burn.long.1)]
}

/// The requests of a `BURN;` query: events and total per window (short, then long), each a
/// total over its window (`resolution=Inf` unless the query gives one).
pub fn burn_requests(b: &super::burn::DynatraceBurn, w: Window) -> Vec<Request> {
    let inf = |m: &MetricsQuery| match m.resolution {
        Some(_) => m.clone(),
        None => with_resolution_inf(m),
    };
    burn_windows(b, w)
        .into_iter()
        .flat_map(|w| {
            [&b.events, &b.total].map(|m| {
                let m = inf(m);
                metrics(&m, &m.metric_selector, w)
            })
        })
        .collect()
}

/// `GET /api/v2/metrics/query` with `metric_selector` in place of `m`'s own selector.
fn metrics(m: &MetricsQuery, metric_selector: &str, w: Window) -> Request {
    let from = w.from_ms.to_string();
    let to = w.to_ms.to_string();
    get(
        METRICS_QUERY_PATH.to_string(),
        params(&[
            ("entitySelector", m.entity_selector.as_deref()),
            ("from", Some(&from)),
            ("metricSelector", Some(metric_selector)),
            ("mzSelector", m.mz_selector.as_deref()),
            ("resolution", m.resolution.as_deref()),
            ("to", Some(&to)),
        ]),
    )
}

/// The name Keptn used for the API of `q` in `error querying <api>: …`.
pub fn api_name(q: &SliQuery) -> &'static str {
    match q {
        SliQuery::Metrics(_) | SliQuery::Mv2 { .. } | SliQuery::Burn(_) => "Metrics API v2",
        SliQuery::Slo { .. } => "Service level objectives API",
        SliQuery::Problems { .. } => "Problems API v2",
        SliQuery::SecurityProblems { .. } => "Security problems API",
        SliQuery::Usql { .. } => "User sessions API",
        SliQuery::Dql { .. } => "Grail query API",
        SliQuery::Promql { .. } => "Prometheus query API",
    }
}

/// The metric descriptor of the whole selector (transformations included), fetched before the
/// single-value retry.
pub fn descriptor(metric_selector: &str) -> Request {
    get(
        format!("/api/v2/metrics/{}", path_escape(metric_selector)),
        Vec::new(),
    )
}

/// `GET /api/v2/metrics?metricSelector=k1,k2&fields=unit`: the units of several metric keys in
/// one request.
pub fn units(keys: &[&str]) -> Request {
    get(
        "/api/v2/metrics".to_string(),
        vec![
            ("metricSelector".into(), keys.join(",")),
            ("fields".into(), "unit".into()),
            ("pageSize".into(), "500".into()),
        ],
    )
}

/// `m` with `resolution=Inf`: one value per series.
pub fn with_resolution_inf(m: &MetricsQuery) -> MetricsQuery {
    MetricsQuery {
        resolution: Some("Inf".to_string()),
        ..m.clone()
    }
}

/// `m` with its selector wrapped as `(<sel>):fold`.
pub fn with_fold(m: &MetricsQuery) -> MetricsQuery {
    MetricsQuery {
        metric_selector: format!("({}):fold", m.metric_selector),
        ..m.clone()
    }
}

/// Keptn's text when neither retry is possible (a *failure*).
pub const FOLD_ON_VALUE_AGGREGATION: &str =
    "unable to apply ':fold' to the metric selector as the default aggregation type is 'value'";

/// The query to retry with after `reduce::Metrics::Several` (reference §3): `resolution=Inf` if
/// no resolution was given and the metric supports it; otherwise `:fold`, unless the metric's
/// default aggregation is `value`.
pub fn single_value_retry(m: &MetricsQuery, d: &Descriptor) -> Result<MetricsQuery, String> {
    if m.resolution.is_none() && d.resolution_inf_supported {
        Ok(with_resolution_inf(m))
    } else if d.default_aggregation.as_deref() == Some("value") {
        Err(FOLD_ON_VALUE_AGGREGATION.to_string())
    } else {
        Ok(with_fold(m))
    }
}

/// Polls a running Grail query.
pub fn dql_poll(token: &str) -> Request {
    get(
        DQL_POLL_PATH.to_string(),
        params(&[
            ("request-token", Some(token)),
            (
                "request-timeout-milliseconds",
                Some(&DQL_REQUEST_TIMEOUT_MS.to_string()),
            ),
        ]),
    )
}

/// Metrics queries with equal keys (entitySelector, mzSelector, resolution) over the same
/// window can share one request.
pub fn batch_key(m: &MetricsQuery) -> (Option<String>, Option<String>, Option<String>) {
    (
        m.entity_selector.clone(),
        m.mz_selector.clone(),
        m.resolution.clone(),
    )
}

/// Whether `m` may join a batch: its selector must be one expression (no top-level comma,
/// outside parentheses and quotes), or the response entries would not line up with the queries.
pub fn batchable(m: &MetricsQuery) -> bool {
    let mut depth: i64 = 0;
    let mut top_level_comma = false;
    let open_quote = scan_quotes(&m.metric_selector, |c, outside| match c {
        '(' if outside => depth += 1,
        ')' if outside => depth -= 1,
        ',' if outside && depth <= 0 => top_level_comma = true,
        _ => {}
    });
    !m.metric_selector.trim().is_empty() && depth == 0 && !open_quote && !top_level_comma
}

/// Calls `f` with each character of a selector and whether it stands outside double quotes
/// (quote marks themselves count as inside; Dynatrace escapes a quote inside quotes with `~`).
/// Returns whether a quote is left open.
fn scan_quotes(selector: &str, mut f: impl FnMut(char, bool)) -> bool {
    let mut quoted = false;
    let mut escaped = false;
    for c in selector.chars() {
        if quoted {
            match c {
                _ if escaped => escaped = false,
                '~' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
            f(c, false);
        } else if c == '"' {
            quoted = true;
            f(c, false);
        } else {
            f(c, true);
        }
    }
    quoted
}

/// One request for several metrics queries, their selectors joined with `,`. The caller
/// passes at most `MAX_BATCH` `batchable` queries with one `batch_key`; the other parameters are
/// taken from the first query. Split the answer with `split_batch`.
pub fn build_batch(ms: &[&MetricsQuery], w: Window) -> Request {
    let selector = ms
        .iter()
        .map(|m| m.metric_selector.as_str())
        .collect::<Vec<_>>()
        .join(",");
    match ms.first() {
        Some(first) => metrics(first, &selector, w),
        None => metrics(
            &MetricsQuery {
                metric_selector: String::new(),
                entity_selector: None,
                resolution: None,
                mz_selector: None,
            },
            "",
            w,
        ),
    }
}

/// Splits the response to `build_batch` into one body per selector, as if each query had been
/// sent alone: the same top-level fields with `result: [entry]`, where `entry` is the result whose
/// `metricId` is that selector (Dynatrace echoes the expression as sent). Matching by `metricId`
/// rather than by position means a reordered answer can never put one SLI's value on another.
/// A selector with no matching entry, or with several, gets `None` (the caller then asks for it
/// alone); the whole answer is `None` when it has no `result` list.
pub fn split_batch(body: &Value, selectors: &[&str]) -> Option<Vec<Option<Value>>> {
    let obj = body.as_object()?;
    let entries = obj.get("result")?.as_array()?;
    let mut rest = obj.clone();
    // Emptied first so that the copies do not each clone the whole list.
    rest.insert("result".to_string(), Value::Array(Vec::new()));
    let id_of = |e: &Value| e.get("metricId").and_then(Value::as_str).map(squash);
    let ids: Vec<Option<String>> = entries.iter().map(id_of).collect();
    Some(
        selectors
            .iter()
            .map(|sel| {
                let want = squash(sel);
                let mut found = ids
                    .iter()
                    .enumerate()
                    .filter(|(_, id)| id.as_deref() == Some(want.as_str()));
                match (found.next(), found.next()) {
                    (Some((i, _)), None) => {
                        let mut one = rest.clone();
                        one.insert("result".to_string(), Value::Array(vec![entries[i].clone()]));
                        Some(Value::Object(one))
                    }
                    _ => None,
                }
            })
            .collect(),
    )
}

/// A selector without whitespace: Dynatrace may echo `a:avg, b` without the blank it was sent
/// with, and whitespace never changes what a selector means outside quotes.
fn squash(selector: &str) -> String {
    let mut out = String::with_capacity(selector.len());
    scan_quotes(selector, |c, outside| {
        if !(outside && c.is_whitespace()) {
            out.push(c);
        }
    });
    out
}

/// `2022-09-28T00:00:00.000Z` for epoch milliseconds, computed without a clock or time zone
/// database (proleptic Gregorian calendar, UTC).
pub fn rfc3339_ms(ms: i64) -> String {
    const DAY_MS: i64 = 86_400_000;
    let days = ms.div_euclid(DAY_MS);
    let in_day = ms.rem_euclid(DAY_MS);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 → (year, month, day). Exact for
/// every `i64` millisecond input (days stay far from overflow).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::{Mv2Unit, UsqlType, Vars, parse::parse, placeholder::substitute};

    const W: Window = Window {
        from_ms: 1_664_323_200_000,
        to_ms: 1_664_409_600_000,
    };

    fn m(sel: &str, ent: Option<&str>, res: Option<&str>, mz: Option<&str>) -> MetricsQuery {
        MetricsQuery {
            metric_selector: sel.into(),
            entity_selector: ent.map(Into::into),
            resolution: res.map(Into::into),
            mz_selector: mz.map(Into::into),
        }
    }

    #[test]
    fn reference_example_end_to_end() {
        let vars = Vars {
            project: "sockshop".into(),
            ..Vars::default()
        };
        let text = substitute(
            "metricSelector=builtin:service.response.time:splitBy():percentile(95)&entitySelector=type(SERVICE),tag(keptn_project:$PROJECT)",
            &vars,
        )
        .text;
        let q = parse(&text).expect("parses");
        let r = build(&q, W);
        assert_eq!(r.method, Method::Get);
        assert_eq!(r.body, None);
        assert_eq!(
            r.path_and_query(),
            "/api/v2/metrics/query?entitySelector=type%28SERVICE%29%2Ctag%28keptn_project%3Asockshop%29\
             &from=1664323200000&metricSelector=builtin%3Aservice.response.time%3AsplitBy%28%29%3Apercentile%2895%29\
             &to=1664409600000"
        );
    }

    #[test]
    fn metrics_sends_only_the_given_parameters() {
        let r = build(&SliQuery::Metrics(m("a", None, None, None)), W);
        assert_eq!(
            r.path_and_query(),
            "/api/v2/metrics/query?from=1664323200000&metricSelector=a&to=1664409600000"
        );
        let r = build(
            &SliQuery::Metrics(m("a", Some("e"), Some("10m"), Some("mzId(1)"))),
            W,
        );
        assert_eq!(
            r.path_and_query(),
            "/api/v2/metrics/query?entitySelector=e&from=1664323200000&metricSelector=a\
             &mzSelector=mzId%281%29&resolution=10m&to=1664409600000"
        );
    }

    #[test]
    fn legacy_and_mv2_send_metrics_requests() {
        let legacy = parse("builtin:x?scope=tag(a)").expect("legacy");
        assert_eq!(
            build(&legacy, W).path_and_query(),
            "/api/v2/metrics/query?entitySelector=tag%28a%29%2Ctype%28SERVICE%29&from=1664323200000\
             &metricSelector=builtin%3Ax&resolution=Inf&to=1664409600000"
        );
        let mv2 = SliQuery::Mv2 {
            unit: Mv2Unit::Byte,
            metrics: m("a", None, None, None),
        };
        assert_eq!(
            build(&mv2, W),
            build(&SliQuery::Metrics(m("a", None, None, None)), W)
        );
    }

    #[test]
    fn slo_request() {
        let r = build(
            &SliQuery::Slo {
                id: "7d07efde-b714-3e6e-ad95-08490e2540c4".into(),
                field: SloField::EvaluatedPercentage,
            },
            W,
        );
        assert_eq!(
            r.path_and_query(),
            "/api/v2/slo/7d07efde-b714-3e6e-ad95-08490e2540c4?from=1664323200000&timeFrame=GTF&to=1664409600000"
        );
        for field in [SloField::ErrorBudget, SloField::BurnRate] {
            let r = build(
                &SliQuery::Slo {
                    id: "x".into(),
                    field,
                },
                W,
            );
            assert_eq!(r.path_and_query(), "/api/v2/slo/x?timeFrame=CURRENT");
        }
        let r = build(
            &SliQuery::Slo {
                id: "a/b c?".into(),
                field: Default::default(),
            },
            W,
        );
        assert_eq!(r.path, "/api/v2/slo/a%2Fb%20c%3F");
    }

    #[test]
    fn problems_requests() {
        let r = build(
            &SliQuery::Problems {
                problem_selector: Some("status(open)".into()),
                entity_selector: Some("type(SERVICE)".into()),
            },
            W,
        );
        assert_eq!(
            r.path_and_query(),
            "/api/v2/problems?entitySelector=type%28SERVICE%29&from=1664323200000\
             &problemSelector=status%28open%29&to=1664409600000"
        );
        let r = build(
            &SliQuery::Problems {
                problem_selector: None,
                entity_selector: None,
            },
            W,
        );
        assert_eq!(
            r.path_and_query(),
            "/api/v2/problems?from=1664323200000&to=1664409600000"
        );
        let r = build(
            &SliQuery::SecurityProblems {
                security_problem_selector: Some("status(\"OPEN\")".into()),
            },
            W,
        );
        assert_eq!(
            r.path_and_query(),
            "/api/v2/securityProblems?from=1664323200000&securityProblemSelector=status%28%22OPEN%22%29&to=1664409600000"
        );
        let r = build(
            &SliQuery::SecurityProblems {
                security_problem_selector: None,
            },
            W,
        );
        assert_eq!(
            r.path_and_query(),
            "/api/v2/securityProblems?from=1664323200000&to=1664409600000"
        );
    }

    #[test]
    fn usql_request() {
        let r = build(
            &SliQuery::Usql {
                result_type: UsqlType::ColumnChart,
                dimension: "iPad mini".into(),
                query: "SELECT device, AVG(duration) FROM usersession GROUP BY device".into(),
            },
            W,
        );
        assert_eq!(
            r.path_and_query(),
            "/api/v1/userSessionQueryLanguage/table?addDeepLinkFields=false&endTimestamp=1664409600000\
             &explain=false&query=SELECT+device%2C+AVG%28duration%29+FROM+usersession+GROUP+BY+device\
             &startTimestamp=1664323200000"
        );
    }

    #[test]
    fn dql_request() {
        let r = build(
            &SliQuery::Dql {
                query: "fetch logs | summarize count()".into(),
            },
            W,
        );
        assert_eq!(r.method, Method::Post);
        assert_eq!(
            r.path_and_query(),
            "/platform/storage/query/v1/query:execute"
        );
        assert_eq!(
            r.body.as_ref().map(ToString::to_string).as_deref(),
            Some(
                r#"{"query":"fetch logs | summarize count()","defaultTimeframeStart":"2022-09-28T00:00:00.000Z","defaultTimeframeEnd":"2022-09-29T00:00:00.000Z","timezone":"UTC","requestTimeoutMilliseconds":10000,"maxResultRecords":1000}"#
            )
        );
        assert!(
            r.display()
                .starts_with("POST /platform/storage/query/v1/query:execute {\"query\"")
        );
    }

    #[test]
    fn dql_poll_request() {
        assert_eq!(
            dql_poll("a b/c").path_and_query(),
            "/platform/storage/query/v1/query:poll?request-timeout-milliseconds=10000&request-token=a+b%2Fc"
        );
    }

    #[test]
    fn api_names() {
        assert_eq!(
            api_name(&SliQuery::Metrics(m("a", None, None, None))),
            "Metrics API v2"
        );
        assert_eq!(
            api_name(&SliQuery::Slo {
                id: "x".into(),
                field: Default::default()
            }),
            "Service level objectives API"
        );
        assert_eq!(
            api_name(&SliQuery::Dql { query: "x".into() }),
            "Grail query API"
        );
    }

    #[test]
    fn descriptor_request_escapes_the_whole_selector() {
        assert_eq!(
            descriptor("builtin:service.response.time:merge(\"dt.entity.service\"):percentile(95)")
                .path_and_query(),
            "/api/v2/metrics/builtin:service.response.time:merge%28%22dt.entity.service%22%29:percentile%2895%29"
        );
    }

    #[test]
    fn retry_modifiers() {
        let q = m("a:avg", Some("e"), None, None);
        assert_eq!(
            with_resolution_inf(&q),
            m("a:avg", Some("e"), Some("Inf"), None)
        );
        assert_eq!(with_fold(&q), m("(a:avg):fold", Some("e"), None, None));
    }

    #[test]
    fn single_value_retry_rules() {
        let inf = Descriptor {
            resolution_inf_supported: true,
            default_aggregation: Some("avg".into()),
            unit: None,
        };
        let no_inf = Descriptor {
            resolution_inf_supported: false,
            ..inf.clone()
        };
        let value = Descriptor {
            resolution_inf_supported: false,
            default_aggregation: Some("value".into()),
            unit: None,
        };
        let plain = m("a", None, None, None);
        let with_res = m("a", None, Some("10m"), None);
        assert_eq!(
            single_value_retry(&plain, &inf),
            Ok(m("a", None, Some("Inf"), None))
        );
        // A resolution the user gave is never replaced: fold instead.
        assert_eq!(
            single_value_retry(&with_res, &inf),
            Ok(m("(a):fold", None, Some("10m"), None))
        );
        assert_eq!(
            single_value_retry(&plain, &no_inf),
            Ok(m("(a):fold", None, None, None))
        );
        assert_eq!(
            single_value_retry(&plain, &value),
            Err(FOLD_ON_VALUE_AGGREGATION.to_string())
        );
        assert_eq!(
            FOLD_ON_VALUE_AGGREGATION,
            "unable to apply ':fold' to the metric selector as the default aggregation type is 'value'"
        );
    }

    #[test]
    fn batching() {
        let a = m("a:avg", Some("type(SERVICE)"), None, None);
        let b = m(
            "b:filter(eq(\"k\",\"x,y\")):sum",
            Some("type(SERVICE)"),
            None,
            None,
        );
        assert_eq!(batch_key(&a), batch_key(&b));
        assert_ne!(
            batch_key(&a),
            batch_key(&m("a", Some("type(HOST)"), None, None))
        );
        assert_eq!(
            batch_key(&m("a", Some("e"), Some("r"), Some("z"))),
            (Some("e".into()), Some("z".into()), Some("r".into()))
        );
        let r = build_batch(&[&a, &b], W);
        assert_eq!(
            r.query
                .iter()
                .find(|(k, _)| k == "metricSelector")
                .map(|(_, v)| v.as_str()),
            Some("a:avg,b:filter(eq(\"k\",\"x,y\")):sum")
        );
        assert_eq!(
            build_batch(&[&a], W),
            build(&SliQuery::Metrics(a.clone()), W)
        );
        assert_eq!(build_batch(&[], W).path, "/api/v2/metrics/query");
    }

    #[test]
    fn batchable_selectors() {
        for (sel, ok) in [
            ("a:avg", true),
            ("a:filter(and(eq(x,1),eq(y,2))):sum", true),
            ("a:filter(eq(\"k\",\"a,b\"))", true),
            ("a:filter(eq(\"k\",\"a~\",b\"))", true),
            ("a,b", false),
            ("(a),(b)", false),
            ("a:filter(eq(\"k\",\"a", false),
            ("a)", false),
            ("a(", false),
            ("", false),
            ("  ", false),
        ] {
            assert_eq!(batchable(&m(sel, None, None, None)), ok, "{sel}");
        }
    }

    #[test]
    fn split_batch_gives_single_expression_bodies() {
        let body = json!({"totalCount": 2, "nextPageKey": null, "resolution": "Inf", "warnings": ["top"],
            "result": [{"metricId": "a", "data": [{"values": [1]}]}, {"metricId": "b", "data": []}]});
        let parts = split_batch(&body, &["a", "b"]).expect("two parts");
        assert_eq!(
            parts[0],
            Some(
                json!({"totalCount": 2, "nextPageKey": null, "resolution": "Inf", "warnings": ["top"],
                "result": [{"metricId": "a", "data": [{"values": [1]}]}]})
            )
        );
        assert_eq!(
            parts[1].as_ref().map(|p| p["result"].clone()),
            Some(json!([{"metricId": "b", "data": []}]))
        );
        // Field order is kept.
        assert_eq!(
            parts[1]
                .as_ref()
                .and_then(Value::as_object)
                .map(|o| o.keys().cloned().collect::<Vec<_>>()),
            Some(vec![
                "totalCount".into(),
                "nextPageKey".into(),
                "resolution".into(),
                "warnings".into(),
                "result".into()
            ])
        );
        assert_eq!(split_batch(&json!({"result": null}), &[]), None);
        assert_eq!(split_batch(&json!([]), &[]), None);
        assert_eq!(split_batch(&json!({"result": []}), &[]), Some(vec![]));
    }

    #[test]
    fn split_batch_matches_by_metric_id_never_by_position() {
        // Results in another order: each still goes to its own selector.
        let body = json!({"result": [
            {"metricId": "builtin:service.errors.total.rate:avg", "data": [{"values": [150.0]}]},
            {"metricId": "builtin:service.response.time:avg", "data": [{"values": [120.0]}]}]});
        let parts = split_batch(
            &body,
            &[
                "builtin:service.response.time:avg",
                "builtin:service.errors.total.rate:avg",
            ],
        )
        .expect("parts");
        let value = |p: &Option<Value>| {
            p.as_ref()
                .map(|p| p["result"][0]["data"][0]["values"][0].clone())
        };
        assert_eq!(value(&parts[0]), Some(json!(120.0)));
        assert_eq!(value(&parts[1]), Some(json!(150.0)));
        // Unknown, missing, duplicated metricIds: no match, never a neighbour's value.
        let body = json!({"result": [
            {"metricId": "x", "data": []}, {"data": []},
            {"metricId": "b", "data": []}, {"metricId": "b", "data": []}]});
        assert_eq!(split_batch(&body, &["a", "b"]), Some(vec![None, None]));
        // Fewer results than selectors: the ones present still match.
        let body = json!({"result": [{"metricId": "b", "data": []}]});
        let parts = split_batch(&body, &["a", "b"]).expect("parts");
        assert!(parts[0].is_none() && parts[1].is_some());
        // Whitespace outside quotes is not significant; inside quotes it is.
        let body = json!({"result": [{"metricId": "a:filter(eq(\"k\",\"x y\")):avg", "data": []}]});
        let parts = split_batch(
            &body,
            &[
                "a:filter( eq(\"k\", \"x y\") ):avg",
                "a:filter(eq(\"k\",\"xy\")):avg",
            ],
        )
        .expect("parts");
        assert!(parts[0].is_some() && parts[1].is_none());
    }

    #[test]
    fn rfc3339_by_hand() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_664_323_200_000), "2022-09-28T00:00:00.000Z");
        assert_eq!(rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(rfc3339_ms(1_719_368_872_123), "2024-06-26T02:27:52.123Z");
        // No panic at the extremes.
        let _ = rfc3339_ms(i64::MIN);
        let _ = rfc3339_ms(i64::MAX);
    }

    #[test]
    fn rfc3339_matches_chrono() {
        // Walk ~1100 years in irregular steps, crossing leap days and centuries.
        let mut ms: i64 = -12_000_000_000_000;
        while ms < 25_000_000_000_000 {
            let want = chrono::DateTime::from_timestamp_millis(ms)
                .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
            assert_eq!(Some(rfc3339_ms(ms)), want, "{ms}");
            ms += 3_137_777_777;
        }
    }

    #[test]
    fn odd_queries_build_without_panic() {
        for text in [
            "",
            "é",
            "SLO;\u{0}",
            "USQL;TABLE;d;\u{1F600}",
            "DQL;\"",
            "PV2;",
            "MV2;Byte;metricSelector=é",
        ] {
            if let Ok(q) = parse(text) {
                let r = build(
                    &q,
                    Window {
                        from_ms: i64::MIN,
                        to_ms: i64::MAX,
                    },
                );
                let _ = r.display();
            }
        }
    }
}
