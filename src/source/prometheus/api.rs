//! Prometheus' HTTP query API as prometheus-service 0.9.1 used it (reference §4–§5), pure:
//! the instant query for a window, the range query for charts, and what an answer means.
//!
//! Upstream's client is reproduced in its decisions (which status is an error, which body is
//! inconsistent, when a value is no value) and in its readable messages; where its texts were
//! garbled (json-iterator's decoder errors) slogate says plainly what was wrong
//! (docs/decisions.md).

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::query::Window;
use crate::source::dynatrace::Failure;

// The instant query's form is built in the pure query layer (it is part of an SLI's request).
pub use crate::query::promql::{QUERY_PATH, duration, fill_duration, instant_form, unix_seconds};

pub const RANGE_PATH: &str = "/api/v1/query_range";

/// Points a chart aims for over its span (as the Dynatrace charts).
pub const CHART_POINTS: i64 = 60;

/// The chart's step: about [`CHART_POINTS`] points over the span, at least a second.
pub fn chart_step(span: Window) -> i64 {
    let secs = ((span.to_ms - span.from_ms).max(0) + 999) / 1000;
    ((secs + CHART_POINTS - 1) / CHART_POINTS).max(1)
}

/// The form of the range query over `span`.
pub fn range_form(query: &str, span: Window) -> Vec<(String, String)> {
    vec![
        ("query".into(), query.to_string()),
        ("start".into(), unix_seconds(span.from_ms)),
        ("end".into(), unix_seconds(span.to_ms)),
        ("step".into(), format!("{}s", chart_step(span))),
    ]
}

/// `POST /api/v1/query?query=…&time=…`: the request in one line, as `explain` and reports show
/// it (the form travels in the body; written as a query string it can be pasted into curl).
pub fn display(method: &str, path: &str, form: &[(String, String)]) -> String {
    format!(
        "{method} {path}?{}",
        crate::query::encode::query_string(form)
    )
}

/// The value of an instant query, or why there is none.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// The value, and the warnings Prometheus answered beside it (`partial response: …`).
    Value(f64, Vec<String>),
    Failed {
        message: String,
        failure: Failure,
    },
}

fn failed(message: impl Into<String>, failure: Failure) -> Answer {
    Answer::Failed {
        message: message.into(),
        failure,
    }
}

const API: &str = "unable to query prometheus api";

/// A JSON list of which only the first `K` elements are kept; the others are skipped unparsed and
/// only counted. An answer of 290,000 series costs what its first few cost, not a tree of all of
/// them (docs/performance.md). Anything but a list reads as
/// an empty one.
#[derive(Debug)]
struct Counted<T, const K: usize> {
    kept: Vec<T>,
    total: usize,
}

impl<T, const K: usize> Default for Counted<T, K> {
    fn default() -> Self {
        Counted {
            kept: Vec::new(),
            total: 0,
        }
    }
}

impl<'de, T: Deserialize<'de>, const K: usize> Deserialize<'de> for Counted<T, K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T, const K: usize>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const K: usize> Visitor<'de> for V<T, K> {
            type Value = Counted<T, K>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Counted {
                    kept: Vec::new(),
                    total: 0,
                };
                while out.kept.len() < K {
                    match seq.next_element::<T>()? {
                        Some(t) => out.kept.push(t),
                        None => break,
                    }
                }
                out.total = out.kept.len();
                if out.total == K {
                    while seq.next_element::<IgnoredAny>()?.is_some() {
                        out.total += 1;
                    }
                }
                Ok(out)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Counted::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Counted::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Counted::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Counted::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Counted::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Counted::default())
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Counted::default())
            }
        }
        d.deserialize_any(V::<T, K>(std::marker::PhantomData))
    }
}

/// Points of one stream kept: enough for a chart (about [`CHART_POINTS`]) with a wide margin.
const CHART_KEEP: usize = 4096;
/// Series kept of a result: one more than the matrix message shows, so it can say "more".
const SERIES_KEEP: usize = MATRIX_LINES + 1;

/// One element of `data.result`: a series (`metric` with `value` or `values`) in a vector or
/// matrix, or a plain JSON value in a scalar or string result (`[time, "value"]`).
#[derive(Debug)]
enum Element {
    Series {
        metric: Value,
        value: Option<Value>,
        values: Counted<Value, CHART_KEEP>,
    },
    Plain(Value),
}

impl<'de> Deserialize<'de> for Element {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Element;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a series or a value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Element, A::Error> {
                let (mut metric, mut value, mut values) = (Value::Null, None, Counted::default());
                while let Some(k) = map.next_key::<String>()? {
                    match k.as_str() {
                        "metric" => metric = map.next_value()?,
                        "value" => value = Some(map.next_value()?),
                        "values" => values = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Element::Series {
                    metric,
                    value,
                    values,
                })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Element::Plain(Value::Null))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Element, E> {
                Ok(Element::Plain(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Element, E> {
                Ok(Element::Plain(Value::from(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Element, E> {
                Ok(Element::Plain(Value::from(v)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Element, E> {
                Ok(Element::Plain(Value::from(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Element, E> {
                Ok(Element::Plain(Value::from(v)))
            }
            fn visit_unit<E>(self) -> Result<Element, E> {
                Ok(Element::Plain(Value::Null))
            }
        }
        d.deserialize_any(V)
    }
}

/// What slogate reads of `data`; `object: false` when `data` is no JSON object.
#[derive(Debug, Default)]
struct Data {
    object: bool,
    result_type: String,
    result: Counted<Element, SERIES_KEEP>,
}

impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Data;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Data, A::Error> {
                let mut data = Data {
                    object: true,
                    ..Data::default()
                };
                while let Some(k) = map.next_key::<String>()? {
                    match k.as_str() {
                        "resultType" => {
                            if let Value::String(t) = map.next_value()? {
                                data.result_type = t;
                            }
                        }
                        "result" => data.result = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(data)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Data, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Data::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<Data, E> {
                Ok(Data::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Data, E> {
                Ok(Data::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Data, E> {
                Ok(Data::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Data, E> {
                Ok(Data::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<Data, E> {
                Ok(Data::default())
            }
            fn visit_unit<E>(self) -> Result<Data, E> {
                Ok(Data::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// Warnings shown at most; the rest are counted.
const WARNINGS_KEEP: usize = 5;

/// The response, read in one pass without building a tree of what is not kept.
#[derive(Debug, serde::Deserialize)]
struct Envelope {
    #[serde(default)]
    status: Option<Value>,
    #[serde(rename = "errorType", default)]
    error_type: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    warnings: Option<Counted<Value, WARNINGS_KEEP>>,
}

fn text_of(v: &Option<Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

/// Prometheus' `warnings` as texts (`partial response: …`), the ones not kept counted.
fn warnings_of(w: Option<Counted<Value, WARNINGS_KEEP>>) -> Vec<String> {
    let Some(w) = w else {
        return Vec::new();
    };
    let mut out: Vec<String> = w
        .kept
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    if w.total > w.kept.len() {
        out.push(format!("and {} more", w.total - w.kept.len()));
    }
    out
}

/// The `data` of a response and its warnings, or the failure the client reported
/// (client_golang's `Do`).
fn data_of(status: u16, body: &str) -> Result<(Data, Vec<String>), Answer> {
    // 400 and 422 carry Prometheus' error body; any other non-2xx is only its status.
    let api_error = status == 400 || status == 422;
    if !(200..300).contains(&status) && !api_error {
        let (kind, msg, failure) = match status {
            400..=499 => (
                "client_error",
                format!("client error: {status}"),
                Failure::Unavailable,
            ),
            500..=599 => (
                "server_error",
                format!("server error: {status}"),
                Failure::Unavailable,
            ),
            _ => (
                "bad_response",
                format!("bad response code {status}"),
                Failure::Unavailable,
            ),
        };
        return Err(failed(format!("{API}: {kind}: {msg}"), failure));
    }
    let envelope: Envelope = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(_) => {
            let start: String = body.trim_start().chars().take(40).collect();
            return Err(failed(
                format!(
                    "{API}: bad_response: the answer is not JSON (it starts with `{start}`); is the URL that of the Prometheus API?"
                ),
                Failure::Unavailable,
            ));
        }
    };
    if text_of(&envelope.status) == "error" {
        let kind = text_of(&envelope.error_type);
        // A wrong query, or one Prometheus cannot run, is the SLI's fault; a timeout or an
        // overloaded server is not.
        // A query Prometheus cannot parse is a configuration error (`invalid`).
        let failure = match kind.as_str() {
            "bad_data" => Failure::Invalid,
            "execution" => Failure::Query,
            _ => Failure::Unavailable,
        };
        return Err(failed(
            format!("{API}: {kind}: {}", text_of(&envelope.error)),
            failure,
        ));
    }
    if api_error {
        return Err(failed(
            format!("{API}: bad_response: inconsistent body for response code"),
            Failure::Unavailable,
        ));
    }
    match envelope.data {
        Some(d) if d.object => Ok((d, warnings_of(envelope.warnings))),
        _ => Err(failed(
            format!("{API}: bad_response: the answer has no `data` object"),
            Failure::Unavailable,
        )),
    }
}

/// A sample value as Prometheus writes it (`"1.5"`, `"NaN"`, `"+Inf"`).
fn sample_value(v: &Value) -> Option<f64> {
    let s = v.as_str()?;
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok().filter(|f: &f64| f.is_finite()),
    }
}

/// Go's `FormatFloat(v, 'f', -1, 64)` (model.SampleValue's text).
fn go_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

fn go_time(t: &Value) -> String {
    match t.as_f64() {
        Some(f) => go_float(f),
        None => t.to_string(),
    }
}

/// `name{a="x", b="y"}` as client_golang prints a metric (labels sorted, name first).
fn metric_text(m: &Value) -> String {
    let Some(map) = m.as_object() else {
        return "{}".into();
    };
    let name = map.get("__name__").and_then(Value::as_str);
    let mut labels: Vec<String> = map
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| {
            format!(
                "{k}={}",
                serde_json::to_string(v.as_str().unwrap_or_default()).unwrap_or_default()
            )
        })
        .collect();
    labels.sort();
    match (name, labels.is_empty()) {
        (Some(n), true) => n.to_string(),
        (None, true) => "{}".into(),
        (n, false) => format!("{}{{{}}}", n.unwrap_or_default(), labels.join(", ")),
    }
}

fn pair_text(p: &Value) -> String {
    let ts = p.get(0).map(go_time).unwrap_or_default();
    let v = p
        .get(1)
        .and_then(sample_value)
        .map(go_float)
        .unwrap_or_default();
    format!("{v} @[{ts}]")
}

/// Lines of a matrix answer shown at most in a message; a month of raw samples would not fit a
/// report line.
const MATRIX_LINES: usize = 12;

/// What an instant query's answer means for the SLI (prometheus-service's `GetSLIValue`).
pub fn reduce(status: u16, body: &str) -> Answer {
    let (data, warnings) = match data_of(status, body) {
        Ok(d) => d,
        Err(a) => return a,
    };
    let not_vector = "prometheus api response is not a Vector";
    let result = data.result;
    match data.result_type.as_str() {
        "vector" => match (result.total, result.kept.first()) {
            (0, _) => failed("query did not return any values", Failure::NoData),
            (1, Some(Element::Series { value, .. })) => {
                match value.as_ref().and_then(|p| p.get(1)).and_then(sample_value) {
                    None => failed(
                        format!("{API}: bad_response: the sample has no numeric value"),
                        Failure::Unavailable,
                    ),
                    Some(v) if v.is_nan() => {
                        failed("query did not return valid values", Failure::NoData)
                    }
                    Some(v) if v.is_infinite() => failed(
                        format!(
                            "query returned {} (a division by zero?), which is no value to score; Keptn could not report it at all",
                            go_float(v)
                        ),
                        Failure::NoData,
                    ),
                    Some(v) => Answer::Value(v, warnings),
                }
            }
            (1, _) => failed(
                format!("{API}: bad_response: the sample has no numeric value"),
                Failure::Unavailable,
            ),
            // Upstream's text (conformance); the series beyond the first few were never parsed.
            _ => failed("query did return multiple values", Failure::NoData),
        },
        "scalar" => {
            let pair: Vec<Value> = result
                .kept
                .into_iter()
                .map(|e| match e {
                    Element::Plain(v) => v,
                    Element::Series { .. } => Value::Null,
                })
                .collect();
            failed(
                format!("{not_vector}: scalar: {}", pair_text(&Value::Array(pair))),
                Failure::Query,
            )
        }
        "matrix" => {
            let mut lines: Vec<String> = Vec::new();
            let mut known = true;
            let mut all = 0usize;
            for e in &result.kept {
                let Element::Series { metric, values, .. } = e else {
                    continue;
                };
                lines.push(format!("{} =>", metric_text(metric)));
                lines.extend(values.kept.iter().take(SERIES_KEEP).map(pair_text));
                all += 1 + values.total;
            }
            if result.total > result.kept.len() {
                known = false;
            }
            let shown = lines.len().min(MATRIX_LINES);
            lines.truncate(shown);
            if !known {
                lines.push(format!("… more lines ({} series in all)", result.total));
            } else if all > shown {
                lines.push(format!("… {} more lines", all - shown));
            }
            failed(
                format!(
                    "{not_vector}: {} (a range selector such as [5m] needs a function such as rate() around it)",
                    lines.join("\n")
                ),
                Failure::Query,
            )
        }
        other => failed(
            format!(
                "{API}: the query returned a {} result; an SLI needs a single-sample vector",
                if other.is_empty() { "typeless" } else { other }
            ),
            Failure::Query,
        ),
    }
}

/// One series of a range query's answer, for a chart: timestamps in milliseconds, values (`None`
/// where not a finite number). `None` unless the answer is a matrix of exactly one series (of at
/// most [`CHART_KEEP`] points).
pub fn series(status: u16, body: &str) -> Option<(Vec<i64>, Vec<Option<f64>>)> {
    let (data, _) = data_of(status, body).ok()?;
    if data.result_type != "matrix" || data.result.total != 1 {
        return None;
    }
    let Some(Element::Series { values, .. }) = data.result.kept.first() else {
        return None;
    };
    if values.total > values.kept.len() {
        return None;
    }
    let mut ts = Vec::new();
    let mut vs = Vec::new();
    for p in &values.kept {
        let t = p.get(0)?.as_f64()?;
        ts.push((t * 1000.0).round() as i64);
        vs.push(p.get(1).and_then(sample_value).filter(|v| v.is_finite()));
    }
    Some((ts, vs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(from_ms: i64, to_ms: i64) -> Window {
        Window { from_ms, to_ms }
    }

    #[test]
    fn duration_rounds_up_and_time_keeps_the_fraction() {
        let t = 1_664_361_000_000;
        assert_eq!(duration(w(t - 1_800_000, t)), "1800s");
        assert_eq!(duration(w(t - 1_800_000, t + 500)), "1801s");
        assert_eq!(duration(w(t - 7_200_000, t)), "7200s");
        assert_eq!(duration(w(t, t)), "0s");
        assert_eq!(unix_seconds(t), "1664361000");
        assert_eq!(unix_seconds(1_649_255_779_667), "1649255779.667");
        assert_eq!(unix_seconds(1_664_361_000_500), "1664361000.5");
        assert_eq!(
            fill_duration("rate(x[$DURATION_SECONDS:1s])", w(t - 75_905, t)),
            "rate(x[76s:1s])"
        );
    }

    #[test]
    fn chart_step_gives_about_sixty_points() {
        let t = 1_664_361_000_000;
        assert_eq!(chart_step(w(t - 3_600_000, t)), 60);
        assert_eq!(chart_step(w(t - 7_200_000, t)), 120);
        assert_eq!(chart_step(w(t - 30_000, t)), 1);
        let f = range_form("up", w(t - 3_600_000, t));
        assert_eq!(f[3], ("step".to_string(), "60s".to_string()));
    }

    fn vector(samples: &str) -> String {
        format!(r#"{{"status":"success","data":{{"resultType":"vector","result":[{samples}]}}}}"#)
    }

    #[test]
    fn one_sample_is_the_value() {
        let one = vector(r#"{"metric":{"job":"a"},"value":[1664361000,"1e-05"]}"#);
        assert_eq!(reduce(200, &one), Answer::Value(0.00001, Vec::new()));
        let zero = vector(r#"{"metric":{},"value":[1664361000,"0"]}"#);
        assert_eq!(reduce(200, &zero), Answer::Value(0.0, Vec::new()));
    }

    #[test]
    fn vectors_that_are_no_value() {
        let msg = |a: Answer| match a {
            Answer::Failed { message, failure } => (message, failure),
            Answer::Value(v, _) => panic!("value {v}"),
        };
        assert_eq!(
            msg(reduce(200, &vector(""))),
            ("query did not return any values".into(), Failure::NoData)
        );
        let two =
            vector(r#"{"metric":{"a":"1"},"value":[1,"1"]},{"metric":{"a":"2"},"value":[1,"2"]}"#);
        assert_eq!(msg(reduce(200, &two)).0, "query did return multiple values");
        let nan = vector(r#"{"metric":{},"value":[1,"NaN"]}"#);
        assert_eq!(
            msg(reduce(200, &nan)).0,
            "query did not return valid values"
        );
        let inf = vector(r#"{"metric":{},"value":[1,"+Inf"]}"#);
        let (m, f) = msg(reduce(200, &inf));
        assert!(m.starts_with("query returned +Inf"), "{m}");
        assert_eq!(f, Failure::NoData);
        let minus = vector(r#"{"metric":{},"value":[1,"-Inf"]}"#);
        assert!(
            msg(reduce(200, &minus))
                .0
                .starts_with("query returned -Inf")
        );
    }

    #[test]
    fn other_result_types_fail_with_upstreams_text() {
        let scalar =
            r#"{"status":"success","data":{"resultType":"scalar","result":[1664361000,"10"]}}"#;
        assert_eq!(
            reduce(200, scalar),
            failed(
                "prometheus api response is not a Vector: scalar: 10 @[1664361000]",
                Failure::Query
            )
        );
        let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"http_requests_total","status":"500","job":"carts"},"values":[[1664360940,"3540"],[1664361000,"3600"]]}]}}"#;
        match reduce(200, matrix) {
            Answer::Failed { message, .. } => assert!(
                message.starts_with("prometheus api response is not a Vector: http_requests_total{job=\"carts\", status=\"500\"} =>\n3540 @[1664360940]\n3600 @[1664361000]"),
                "{message}"
            ),
            a => panic!("{a:?}"),
        }
        let string =
            r#"{"status":"success","data":{"resultType":"string","result":[1664361000,"abc"]}}"#;
        assert!(matches!(
            reduce(200, string),
            Answer::Failed {
                failure: Failure::Query,
                ..
            }
        ));
    }

    #[test]
    fn errors_as_the_client_reported_them() {
        let bad = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:11: parse error"}"#;
        assert_eq!(
            reduce(400, bad),
            failed(
                "unable to query prometheus api: bad_data: invalid parameter \"query\": 1:11: parse error",
                Failure::Invalid
            )
        );
        let timeout = r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#;
        assert_eq!(
            reduce(200, timeout),
            failed(
                "unable to query prometheus api: timeout: query timed out in expression evaluation",
                Failure::Unavailable
            )
        );
        assert_eq!(
            reduce(400, &vector("")),
            failed(
                "unable to query prometheus api: bad_response: inconsistent body for response code",
                Failure::Unavailable
            )
        );
        assert_eq!(
            reduce(503, "<html>busy</html>"),
            failed(
                "unable to query prometheus api: server_error: server error: 503",
                Failure::Unavailable
            )
        );
        assert_eq!(
            reduce(401, ""),
            failed(
                "unable to query prometheus api: client_error: client error: 401",
                Failure::Unavailable
            )
        );
        match reduce(200, "<html>login</html>") {
            Answer::Failed { message, failure } => {
                assert!(message.contains("not JSON"), "{message}");
                assert_eq!(failure, Failure::Unavailable);
            }
            a => panic!("{a:?}"),
        }
    }

    #[test]
    fn a_range_answer_becomes_a_chart_series() {
        let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1664360940,"1.5"],[1664361000,"NaN"]]}]}}"#;
        assert_eq!(
            series(200, matrix),
            Some((
                vec![1_664_360_940_000, 1_664_361_000_000],
                vec![Some(1.5), None]
            ))
        );
        assert_eq!(series(200, &vector("")), None);
    }

    #[test]
    fn warnings_come_with_the_value() {
        let partial = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"5"]}]},"warnings":["partial response: store eu-1 unavailable"]}"#;
        assert_eq!(
            reduce(200, partial),
            Answer::Value(5.0, vec!["partial response: store eu-1 unavailable".into()])
        );
        let many: Vec<String> = (0..8).map(|i| format!("\"w{i}\"")).collect();
        let body = format!(
            r#"{{"warnings":[{}],"status":"success","data":{{"result":[{{"value":[1,"5"]}}],"resultType":"vector"}}}}"#,
            many.join(",")
        );
        match reduce(200, &body) {
            Answer::Value(v, w) => {
                assert_eq!(v, 5.0);
                assert_eq!(w, ["w0", "w1", "w2", "w3", "w4", "and 3 more"]);
            }
            a => panic!("{a:?}"),
        }
    }

    #[test]
    fn only_the_first_series_are_kept() {
        let series: Vec<String> = (0..1000)
            .map(|i| format!(r#"{{"metric":{{"i":"{i}"}},"value":[1,"{i}"]}}"#))
            .collect();
        let body = vector(&series.join(","));
        let (data, _) = data_of(200, &body).map_err(|_| ()).unwrap();
        assert_eq!(data.result.total, 1000);
        assert_eq!(data.result.kept.len(), SERIES_KEEP);
        assert_eq!(
            reduce(200, &body),
            failed("query did return multiple values", Failure::NoData)
        );
        // A matrix of many series says how many there were.
        let streams: Vec<String> = (0..100)
            .map(|i| format!(r#"{{"metric":{{"i":"{i}"}},"values":[[1,"1"],[2,"2"]]}}"#))
            .collect();
        let matrix = format!(
            r#"{{"status":"success","data":{{"resultType":"matrix","result":[{}]}}}}"#,
            streams.join(",")
        );
        match reduce(200, &matrix) {
            Answer::Failed { message, .. } => {
                assert!(message.contains("(100 series in all)"), "{message}");
                assert_eq!(message.lines().count(), MATRIX_LINES + 1, "{message}");
            }
            a => panic!("{a:?}"),
        }
        // Odd shapes are still read as before: `data` not an object, `result` not a list.
        assert!(matches!(
            reduce(200, r#"{"status":"success","data":[1]}"#),
            Answer::Failed { message, .. } if message.contains("no `data` object")
        ));
        assert_eq!(
            reduce(
                200,
                r#"{"status":"success","data":{"resultType":"vector","result":"x"}}"#
            ),
            failed("query did not return any values", Failure::NoData)
        );
    }
}
