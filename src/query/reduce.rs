//! Dynatrace responses → one SLI value, or the message the indicator reports instead.
//!
//! The rules and texts are Keptn's (reference §2–§3) so that a result reads the same as in a
//! `get-sli.finished` event. Every message returned here is complete and shown as is, except
//! `Metrics::Problem`, which the caller prefixes with `METRICS_PROBLEM_PREFIX` as Keptn did.
//! Keptn rated some of them *warnings* (the query ran but the data did not fit: metrics shape,
//! USQL shape) and the others *failures*; each function says which.

use serde_json::{Map, Value};

use super::{Mv2Unit, SloField, UsqlType};

/// What a metrics response means for one SLI.
#[derive(Clone, Debug, PartialEq)]
pub enum Metrics {
    /// Exactly one value. `warnings` are the collection's warnings, for the report.
    Value { value: f64, warnings: Vec<String> },
    /// One series with several values: retry with `request::single_value_retry` (Keptn fetched
    /// the metric descriptor, then asked again with `resolution=Inf` or `:fold`).
    Several,
    /// No usable value; Keptn reported this as a *warning* (value 0) with the message
    /// `METRICS_PROBLEM_PREFIX` + this text, e.g. `Metrics API v2 returned zero metric series`.
    Problem(String),
}

/// Keptn's prefix for `Metrics::Problem` texts (its `MetricsQueryProcessingError`).
pub const METRICS_PROBLEM_PREFIX: &str = "could not process metrics query: ";

/// Reduces a `/api/v2/metrics/query` response with one expression (reference §3 steps 1–3):
/// exactly one collection, one series, one non-null value.
pub fn metrics(body: &Value) -> Metrics {
    reduce_metrics(body, true)
}

/// Like `metrics`, for the response to the retry: several values are now a problem
/// (`Metrics API v2 returned N values but only one is supported`), as in Keptn.
pub fn metrics_retried(body: &Value) -> Metrics {
    reduce_metrics(body, false)
}

fn reduce_metrics(body: &Value, several_allowed: bool) -> Metrics {
    let problem = Metrics::Problem;
    let malformed = |what: &str| {
        problem(format!(
            "Metrics API v2 returned a malformed response: {what}"
        ))
    };

    let Some(obj) = body.as_object() else {
        return malformed("the body is not a JSON object");
    };
    // A missing or null list counts as empty, like Go's decoding into a nil slice.
    let collections = match list(obj, "result") {
        Ok(c) => c,
        Err(()) => return malformed("'result' is not a list"),
    };
    match collections.len() {
        1 => {}
        0 => return problem("Metrics API v2 returned zero metric series collections".into()),
        n => {
            return problem(format!(
                "Metrics API v2 returned {n} metric series collections"
            ));
        }
    }
    let Some(collection) = collections[0].as_object() else {
        return malformed("'result[0]' is not an object");
    };
    let warnings = strings(collection.get("warnings"));
    let with_warnings = |text: String| problem(append_warnings(text, &warnings));

    let series = match list(collection, "data") {
        Ok(s) => s,
        Err(()) => return malformed("'result[0].data' is not a list"),
    };
    match series.len() {
        1 => {}
        0 => return with_warnings("Metrics API v2 returned zero metric series".into()),
        n => {
            return with_warnings(format!(
                "Metrics API v2 returned {n} metric series but only one is supported"
            ));
        }
    }
    let Some(series) = series[0].as_object() else {
        return malformed("'result[0].data[0]' is not an object");
    };
    let values = match list(series, "values") {
        Ok(v) => v,
        Err(()) => return malformed("'result[0].data[0].values' is not a list"),
    };
    // Keptn checks the count before null-ness: `[null, 1]` is "several", not "null".
    match values.len() {
        1 => {}
        0 => return with_warnings("Metrics API v2 returned zero values".into()),
        _ if several_allowed => return Metrics::Several,
        n => {
            return with_warnings(format!(
                "Metrics API v2 returned {n} values but only one is supported"
            ));
        }
    }
    match &values[0] {
        Value::Null => with_warnings("Metrics API v2 returned 'null' as value".into()),
        Value::Number(n) => match n.as_f64() {
            Some(value) => Metrics::Value { value, warnings },
            None => malformed("the value is not a number"),
        },
        _ => malformed("the value is not a number"),
    }
}

/// `obj[key]` as a list; missing or null is empty, anything else is an error.
fn list<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<&'a [Value], ()> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(()),
    }
}

/// The strings of a JSON list (other entries are skipped: warnings are informational).
fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|w| w.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn append_warnings(text: String, warnings: &[String]) -> String {
    if warnings.is_empty() {
        text
    } else {
        format!("{text}. Warnings: {}", warnings.join(", "))
    }
}

/// The parts of a metric descriptor (`GET /api/v2/metrics/<selector>`) that decide the retry.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Descriptor {
    pub resolution_inf_supported: bool,
    /// `defaultAggregation.type`, e.g. `avg`; `value` forbids `:fold`.
    pub default_aggregation: Option<String>,
    pub unit: Option<String>,
}

/// Reads a metric descriptor. Missing fields are defaults (Go's zero values); only a body that is
/// not a JSON object fails (a *failure*).
pub fn descriptor(body: &Value) -> Result<Descriptor, String> {
    let obj = body.as_object().ok_or_else(|| {
        "could not read the metric descriptor: the body is not a JSON object".to_string()
    })?;
    Ok(Descriptor {
        resolution_inf_supported: obj
            .get("resolutionInfSupported")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        default_aggregation: obj
            .get("defaultAggregation")
            .and_then(|a| a.get("type"))
            .and_then(Value::as_str)
            .map(str::to_string),
        unit: obj.get("unit").and_then(Value::as_str).map(str::to_string),
    })
}

/// `MV2;` scaling: µs → ms (÷1000), byte → KiB (÷1024).
pub fn mv2(value: f64, unit: Mv2Unit) -> f64 {
    match unit {
        Mv2Unit::MicroSecond => value / 1000.0,
        Mv2Unit::Byte => value / 1024.0,
        Mv2Unit::Unscaled => value,
    }
}

const SLO_API: &str = "error querying Service level objectives API: ";

/// The number of an SLO (`GET /api/v2/slo/<id>`) that `field` names. Dynatrace answers 200 even
/// when it could not evaluate the SLO, with `error` ≠ `"NONE"` and `-1` as the value, so that is a
/// *failure*: `error querying Service level objectives API: dynatrace API returned an error: <e>`.
///
/// - `evaluatedPercentage` (Keptn's `SLO;<id>`);
/// - `errorBudget`, the budget left as Dynatrace reports it (`-1` for an SLO it did not evaluate
///   is refused, not read as "overspent");
/// - `errorBudgetBurnRate.burnRateValue`, present only where the SLO has burn rates enabled.
pub fn slo(body: &Value, field: SloField) -> Result<f64, String> {
    let obj = body
        .as_object()
        .ok_or_else(|| format!("{SLO_API}the body is not a JSON object"))?;
    match obj.get("error").and_then(Value::as_str) {
        Some("NONE") => {}
        Some(e) => return Err(format!("{SLO_API}dynatrace API returned an error: {e}")),
        None => {
            return Err(format!(
                "{SLO_API}dynatrace API returned an error: (the response has no 'error' field)"
            ));
        }
    }
    let number = |k: &str| {
        obj.get(k)
            .and_then(Value::as_f64)
            .ok_or_else(|| format!("{SLO_API}the response has no numeric '{k}'"))
    };
    match field {
        SloField::EvaluatedPercentage => number("evaluatedPercentage"),
        SloField::ErrorBudget => {
            if number("evaluatedPercentage")? < 0.0 {
                return Err(format!(
                    "{SLO_API}Dynatrace did not evaluate the SLO (evaluatedPercentage -1): its error budget is unknown"
                ));
            }
            number("errorBudget")
        }
        SloField::BurnRate => {
            let rate = obj.get("errorBudgetBurnRate");
            let enabled = rate
                .and_then(|r| r.get("burnRateVisualizationEnabled"))
                .and_then(Value::as_bool);
            match rate
                .and_then(|r| r.get("burnRateValue"))
                .and_then(Value::as_f64)
            {
                Some(v) if enabled != Some(false) => Ok(v),
                _ => Err(format!(
                    "{SLO_API}the SLO has no burn rate (errorBudgetBurnRate.burnRateValue): enable \"burn rate visualization\" in the SLO's settings in Dynatrace"
                )),
            }
        }
    }
}

/// `totalCount` of a problems or security problems list (all matches, not the page size).
/// Keptn read a missing count as 0, which would pass a gate; here it is a *failure*.
pub fn total_count(body: &Value) -> Result<f64, String> {
    body.get("totalCount")
        .and_then(Value::as_f64)
        .ok_or_else(|| "Dynatrace returned no numeric 'totalCount'".to_string())
}

/// The value of a USQL table (`/api/v1/userSessionQueryLanguage/table`), Keptn's rules:
/// `SINGLE_VALUE` needs one column and one row; the other types need two columns and take the
/// first row whose first cell equals `dimension`, then column 1 (charts) or the last column
/// (`TABLE`). Every error is a *warning* in Keptn, with its text.
pub fn usql(body: &Value, result_type: UsqlType, dimension: &str) -> Result<f64, String> {
    let columns = body
        .get("columnNames")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let rows: &[Value] = body
        .get("values")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let number = |cell: Option<&Value>| {
        cell.and_then(Value::as_f64)
            .ok_or_else(|| "dimension value should be a number".to_string())
    };

    if result_type == UsqlType::SingleValue {
        let single = || {
            format!(
                "USQL result type {} should only return a single result",
                result_type.as_str()
            )
        };
        if columns != 1 || rows.len() != 1 {
            return Err(single());
        }
        // Keptn indexed `values[0][0]` blindly; an empty or non-list row is not a single result.
        let row = rows[0]
            .as_array()
            .filter(|r| !r.is_empty())
            .ok_or_else(single)?;
        return number(row.first());
    }

    if columns < 2 {
        return Err(format!(
            "USQL result type {} should at least have two columns",
            result_type.as_str()
        ));
    }
    for row in rows {
        let cells: &[Value] = row.as_array().map_or(&[], Vec::as_slice);
        let value = if result_type == UsqlType::Table {
            cells.last()
        } else {
            cells.get(1)
        };
        // As in Keptn, a row whose name is not a string stops the search.
        let name = cells
            .first()
            .and_then(Value::as_str)
            .ok_or_else(|| "dimension name should be a string".to_string())?;
        if name == dimension {
            return number(value);
        }
    }
    Err(format!(
        "could not find dimension name '{dimension}' in result"
    ))
}

const DQL_NEEDS: &str = "the SLI needs exactly one record with one numeric field";

/// The value of a finished Grail query (`query:execute` 200 or `query:poll`): `state` must be
/// `SUCCEEDED` and `result.records` exactly one non-null record with exactly one field holding a
/// number or a numeric string (DQL sends longs as strings). Anything else is a *failure* that
/// says what was found.
pub fn dql(body: &Value) -> Result<f64, String> {
    match body.get("state").and_then(Value::as_str) {
        Some("SUCCEEDED") => {}
        Some(state) => {
            return Err(format!(
                "DQL query ended in state {state}; the SLI needs a SUCCEEDED query"
            ));
        }
        None => return Err("the DQL response has no 'state'".to_string()),
    }
    let records = body
        .get("result")
        .and_then(|r| r.get("records"))
        .and_then(Value::as_array)
        .ok_or_else(|| "the DQL response has no 'result.records' list".to_string())?;
    if records.len() != 1 {
        return Err(format!(
            "DQL query returned {} records; {DQL_NEEDS}",
            records.len()
        ));
    }
    let record = match &records[0] {
        Value::Object(o) => o,
        Value::Null => {
            return Err(format!(
                "DQL query returned one record that is null; {DQL_NEEDS}"
            ));
        }
        other => {
            return Err(format!(
                "DQL query returned a record that is not an object ({}); {DQL_NEEDS}",
                short(&other.to_string())
            ));
        }
    };
    if record.len() != 1 {
        let names: Vec<&str> = record.keys().map(String::as_str).collect();
        let listed = if names.is_empty() {
            String::new()
        } else {
            format!(" ({})", short(&names.join(", ")))
        };
        return Err(format!(
            "DQL query returned a record with {} fields{listed}; {DQL_NEEDS}",
            record.len()
        ));
    }
    let Some((field, value)) = record.iter().next() else {
        return Err(format!(
            "DQL query returned a record with 0 fields; {DQL_NEEDS}"
        ));
    };
    dql_number(value).ok_or_else(|| {
        format!(
            "DQL query returned field '{field}' = {}, which is not a number; {DQL_NEEDS}",
            short(&value.to_string())
        )
    })
}

/// A JSON number, or a string holding a finite decimal number (longs, durations in ns).
fn dql_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            // Rust also parses "inf" and "NaN"; a DQL number never looks like that.
            let looks_numeric = !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
            s.parse::<f64>()
                .ok()
                .filter(|x| looks_numeric && x.is_finite())
        }
        _ => None,
    }
}

/// The request token of a Grail query that is still running (`202` from `query:execute`, or a
/// poll answer in state `NOT_STARTED`/`RUNNING`): poll again with `request::dql_poll`.
pub fn dql_pending(body: &Value) -> Option<String> {
    match body.get("state").and_then(Value::as_str) {
        Some("RUNNING" | "NOT_STARTED") => body
            .get("requestToken")
            .and_then(Value::as_str)
            .map(str::to_string),
        _ => None,
    }
}

/// Keptn's message for an HTTP error of the query `api` (a *failure*):
/// `error querying Metrics API v2: Dynatrace API error (400): Constraints violated. [path: p - msg: m] - URL: <url>`.
/// `api` is one of `request::api_name`'s names.
pub fn api_error(api: &str, status: u16, body: &str, url: &str) -> String {
    format!(
        "error querying {api}: {}",
        dynatrace_error(status, body, url)
    )
}

/// The `Dynatrace API error (…)` part alone. Keptn showed it without prefix when fetching the
/// metric descriptor for the retry failed.
///
/// From the error envelope it takes `code`, `message` and each constraint violation; Grail's
/// `details.errorMessage` and `details.missingScopes` are added. A body that is not the envelope
/// is quoted, shortened, with the HTTP status.
pub fn dynatrace_error(status: u16, body: &str, url: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let envelope = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(Value::as_object);
    let Some(error) = envelope else {
        return format!(
            "Dynatrace API error ({status}): {} - URL: {url}",
            short(body)
        );
    };
    let code = error
        .get("code")
        .and_then(Value::as_i64)
        .unwrap_or(i64::from(status));
    let mut text = match error.get("message").and_then(Value::as_str) {
        Some(m) => format!("Dynatrace API error ({code}): {m}"),
        None => format!("Dynatrace API error ({code}): {}", short(body)),
    };
    let violations: Vec<String> = error
        .get("constraintViolations")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .map(|v| {
            let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
            format!("[path: {} - msg: {}]", field("path"), field("message"))
        })
        .collect();
    // Keptn always printed the (maybe empty) list after a space; an empty one is left out here.
    if !violations.is_empty() {
        text.push(' ');
        text.push_str(&violations.join(", "));
    }
    let details = error.get("details");
    if let Some(m) = details
        .and_then(|d| d.get("errorMessage"))
        .and_then(Value::as_str)
    {
        text.push_str(": ");
        text.push_str(m);
    }
    let scopes = strings(details.and_then(|d| d.get("missingScopes")));
    if !scopes.is_empty() {
        text.push_str(&format!(" (missing scopes: {})", scopes.join(", ")));
    }
    format!("{text} - URL: {url}")
}

/// One line, at most 300 chars: error bodies can be whole HTML pages.
fn short(s: &str) -> String {
    const MAX: usize = 300;
    let line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.is_empty() {
        return "(empty response body)".to_string();
    }
    if line.chars().count() <= MAX {
        return line;
    }
    let mut cut: String = line.chars().take(MAX).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(collections: Value) -> Value {
        json!({"totalCount": 1, "nextPageKey": null, "resolution": "Inf", "result": collections})
    }

    fn one(values: Value, warnings: Value) -> Value {
        body(json!([{"metricId": "m", "warnings": warnings, "data": [
            {"dimensions": [], "dimensionMap": {}, "timestamps": [1], "values": values}
        ]}]))
    }

    fn problem(m: Metrics) -> String {
        match m {
            Metrics::Problem(p) => p,
            other => panic!("expected a problem, got {other:?}"),
        }
    }

    // --- metrics ---

    #[test]
    fn metrics_single_value() {
        assert_eq!(
            metrics(&one(json!([276845.99]), json!(["w1"]))),
            Metrics::Value {
                value: 276845.99,
                warnings: vec!["w1".into()]
            }
        );
        assert_eq!(
            metrics(&one(json!([3]), Value::Null)),
            Metrics::Value {
                value: 3.0,
                warnings: vec![]
            }
        );
    }

    #[test]
    fn metrics_problem_prefix_is_keptns() {
        assert_eq!(METRICS_PROBLEM_PREFIX, "could not process metrics query: ");
    }

    #[test]
    fn metrics_collection_count() {
        assert_eq!(
            problem(metrics(&body(json!([])))),
            "Metrics API v2 returned zero metric series collections"
        );
        assert_eq!(
            problem(metrics(&json!({"warnings": []}))),
            "Metrics API v2 returned zero metric series collections"
        );
        assert_eq!(
            problem(metrics(&body(json!([{"data": []}, {"data": []}])))),
            "Metrics API v2 returned 2 metric series collections"
        );
    }

    #[test]
    fn metrics_series_count_with_warnings() {
        assert_eq!(
            problem(metrics(&body(
                json!([{"warnings": ["a", "b"], "data": []}])
            ))),
            "Metrics API v2 returned zero metric series. Warnings: a, b"
        );
        assert_eq!(
            problem(metrics(&body(
                json!([{"data": [{"values": [1]}, {"values": [2]}, {"values": [3]}]}])
            ))),
            "Metrics API v2 returned 3 metric series but only one is supported"
        );
        assert_eq!(
            problem(metrics(&body(
                json!([{"warnings": ["x"], "data": [{"values": [1]}, {"values": [2]}]}])
            ))),
            "Metrics API v2 returned 2 metric series but only one is supported. Warnings: x"
        );
    }

    #[test]
    fn metrics_values() {
        assert_eq!(
            problem(metrics(&one(json!([]), json!([])))),
            "Metrics API v2 returned zero values"
        );
        assert_eq!(
            problem(metrics(&one(json!([null]), json!(["late data"])))),
            "Metrics API v2 returned 'null' as value. Warnings: late data"
        );
        assert_eq!(metrics(&one(json!([1, 2]), json!([]))), Metrics::Several);
        // Count before null-ness.
        assert_eq!(
            metrics(&one(json!([null, null]), json!([]))),
            Metrics::Several
        );
    }

    #[test]
    fn metrics_after_the_retry() {
        assert_eq!(
            problem(metrics_retried(&one(json!([1, 2]), json!(["w"])))),
            "Metrics API v2 returned 2 values but only one is supported. Warnings: w"
        );
        assert_eq!(
            metrics_retried(&one(json!([5]), json!([]))),
            Metrics::Value {
                value: 5.0,
                warnings: vec![]
            }
        );
    }

    #[test]
    fn metrics_malformed_bodies() {
        for (b, what) in [
            (json!([1]), "the body is not a JSON object"),
            (json!({"result": 1}), "'result' is not a list"),
            (json!({"result": [1]}), "'result[0]' is not an object"),
            (
                json!({"result": [{"data": {}}]}),
                "'result[0].data' is not a list",
            ),
            (
                json!({"result": [{"data": ["x"]}]}),
                "'result[0].data[0]' is not an object",
            ),
            (
                json!({"result": [{"data": [{"values": "1"}]}]}),
                "'result[0].data[0].values' is not a list",
            ),
            (
                json!({"result": [{"data": [{"values": ["1"]}]}]}),
                "the value is not a number",
            ),
        ] {
            assert_eq!(
                problem(metrics(&b)),
                format!("Metrics API v2 returned a malformed response: {what}")
            );
        }
        // Missing `data`/`values` read as empty lists, like Go.
        assert_eq!(
            problem(metrics(&json!({"result": [{}]}))),
            "Metrics API v2 returned zero metric series"
        );
        assert_eq!(
            problem(metrics(&json!({"result": [{"data": [{}]}]}))),
            "Metrics API v2 returned zero values"
        );
    }

    // --- descriptor, mv2 ---

    #[test]
    fn descriptor_fields() {
        let d = descriptor(
            &json!({"metricId": "builtin:service.response.time", "unit": "MicroSecond",
            "defaultAggregation": {"type": "avg"}, "resolutionInfSupported": true}),
        );
        assert_eq!(
            d,
            Ok(Descriptor {
                resolution_inf_supported: true,
                default_aggregation: Some("avg".into()),
                unit: Some("MicroSecond".into())
            })
        );
        assert_eq!(descriptor(&json!({})), Ok(Descriptor::default()));
        assert_eq!(
            descriptor(&json!("x")),
            Err("could not read the metric descriptor: the body is not a JSON object".into())
        );
    }

    #[test]
    fn mv2_scaling() {
        assert_eq!(mv2(276845.99, Mv2Unit::MicroSecond), 276.84599);
        assert_eq!(mv2(2048.0, Mv2Unit::Byte), 2.0);
        assert_eq!(mv2(42.5, Mv2Unit::Unscaled), 42.5);
    }

    // --- SLO, totalCount ---

    #[test]
    fn slo_error_budget_and_burn_rate() {
        let body = json!({"evaluatedPercentage": 99.95, "errorBudget": 50.0, "error": "NONE",
            "errorBudgetBurnRate": {"burnRateVisualizationEnabled": true, "fastBurnThreshold": 10.0,
                "burnRateValue": 2.5, "burnRateType": "SLOW"}});
        assert_eq!(slo(&body, SloField::ErrorBudget), Ok(50.0));
        assert_eq!(slo(&body, SloField::BurnRate), Ok(2.5));
        // An overspent budget is a number like any other.
        let over = json!({"evaluatedPercentage": 99.0, "errorBudget": -900.0, "error": "NONE"});
        assert_eq!(slo(&over, SloField::ErrorBudget), Ok(-900.0));
        // Not evaluated: -1 is no budget.
        let unevaluated =
            json!({"evaluatedPercentage": -1.0, "errorBudget": -1.0, "error": "NONE"});
        assert!(
            slo(&unevaluated, SloField::ErrorBudget)
                .unwrap_err()
                .contains("did not evaluate")
        );
        // Burn rates off: the real answer keeps only the flag.
        let off = json!({"evaluatedPercentage": 99.0, "errorBudget": 1.0, "error": "NONE",
            "errorBudgetBurnRate": {"burnRateVisualizationEnabled": false}});
        assert!(
            slo(&off, SloField::BurnRate)
                .unwrap_err()
                .contains("burn rate visualization")
        );
        let stale = json!({"evaluatedPercentage": 99.0, "error": "NONE",
            "errorBudgetBurnRate": {"burnRateVisualizationEnabled": false, "burnRateValue": 3.0}});
        assert!(slo(&stale, SloField::BurnRate).is_err());
        assert!(
            slo(
                &json!({"evaluatedPercentage": 99.0, "error": "NONE"}),
                SloField::BurnRate
            )
            .is_err()
        );
    }

    #[test]
    fn slo_value_and_errors() {
        let ok = json!({"id": "7d07efde", "evaluatedPercentage": 95.0, "error": "NONE", "status": "SUCCESS"});
        assert_eq!(slo(&ok, SloField::EvaluatedPercentage), Ok(95.0));
        assert_eq!(
            slo(&json!({"evaluatedPercentage": -1.0, "error": "Metric selector parse error"}), SloField::BurnRate),
            Err("error querying Service level objectives API: dynatrace API returned an error: Metric selector parse error".into())
        );
        assert_eq!(
            slo(&json!({"evaluatedPercentage": 1.0}), SloField::ErrorBudget),
            Err("error querying Service level objectives API: dynatrace API returned an error: (the response has no 'error' field)".into())
        );
        assert_eq!(
            slo(&json!({"error": "NONE"}), SloField::EvaluatedPercentage),
            Err("error querying Service level objectives API: the response has no numeric 'evaluatedPercentage'".into())
        );
        assert_eq!(
            slo(&json!(null), SloField::EvaluatedPercentage),
            Err(
                "error querying Service level objectives API: the body is not a JSON object".into()
            )
        );
    }

    #[test]
    fn total_count_of_problems() {
        assert_eq!(
            total_count(&json!({"totalCount": 177, "pageSize": 100, "securityProblems": []})),
            Ok(177.0)
        );
        assert_eq!(
            total_count(&json!({"totalCount": 0, "problems": []})),
            Ok(0.0)
        );
        assert_eq!(
            total_count(&json!({"problems": []})),
            Err("Dynatrace returned no numeric 'totalCount'".into())
        );
        assert!(total_count(&json!({"totalCount": "3"})).is_err());
    }

    // --- USQL ---

    fn table(columns: &[&str], rows: Value) -> Value {
        json!({"extrapolationLevel": 1, "columnNames": columns, "values": rows})
    }

    #[test]
    fn usql_single_value() {
        assert_eq!(
            usql(&table(&["avg"], json!([[12.5]])), UsqlType::SingleValue, ""),
            Ok(12.5)
        );
        let single =
            Err("USQL result type SINGLE_VALUE should only return a single result".to_string());
        assert_eq!(
            usql(
                &table(&["a", "b"], json!([[1, 2]])),
                UsqlType::SingleValue,
                ""
            ),
            single
        );
        assert_eq!(
            usql(&table(&["a"], json!([[1], [2]])), UsqlType::SingleValue, ""),
            single
        );
        assert_eq!(
            usql(&table(&["a"], json!([])), UsqlType::SingleValue, ""),
            single
        );
        assert_eq!(
            usql(&table(&["a"], json!([[]])), UsqlType::SingleValue, ""),
            single
        );
        assert_eq!(
            usql(&table(&["a"], json!([["x"]])), UsqlType::SingleValue, ""),
            Err("dimension value should be a number".into())
        );
    }

    #[test]
    fn usql_charts_use_column_one() {
        let t = table(
            &["device", "avg", "count"],
            json!([["iPad mini", 10, 100], ["Desktop", 20, 200]]),
        );
        for ty in [
            UsqlType::PieChart,
            UsqlType::ColumnChart,
            UsqlType::LineChart,
        ] {
            assert_eq!(usql(&t, ty, "Desktop"), Ok(20.0));
        }
    }

    #[test]
    fn usql_table_uses_the_last_column() {
        let t = table(
            &["device", "avg", "count"],
            json!([["iPad mini", 10, 100], ["Desktop", 20, 200]]),
        );
        assert_eq!(usql(&t, UsqlType::Table, "iPad mini"), Ok(100.0));
    }

    #[test]
    fn usql_warnings() {
        assert_eq!(
            usql(
                &table(&["device"], json!([["x"]])),
                UsqlType::ColumnChart,
                "x"
            ),
            Err("USQL result type COLUMN_CHART should at least have two columns".into())
        );
        assert_eq!(
            usql(&table(&["a", "b"], json!([["x", 1]])), UsqlType::Table, "y"),
            Err("could not find dimension name 'y' in result".into())
        );
        assert_eq!(
            usql(
                &table(&["a", "b"], json!([[1, 1], ["y", 2]])),
                UsqlType::PieChart,
                "y"
            ),
            Err("dimension name should be a string".into())
        );
        assert_eq!(
            usql(
                &table(&["a", "b"], json!([["y", "2"]])),
                UsqlType::PieChart,
                "y"
            ),
            Err("dimension value should be a number".into())
        );
        // A short row: no column 1.
        assert_eq!(
            usql(
                &table(&["a", "b"], json!([["y"]])),
                UsqlType::LineChart,
                "y"
            ),
            Err("dimension value should be a number".into())
        );
        assert_eq!(
            usql(&table(&["a", "b"], json!([])), UsqlType::Table, "y"),
            Err("could not find dimension name 'y' in result".into())
        );
    }

    // --- DQL ---

    fn grail(records: Value) -> Value {
        json!({"state": "SUCCEEDED", "progress": 100, "ttlSeconds": 500, "result": {"records": records, "types": []}})
    }

    #[test]
    fn dql_numbers_and_numeric_strings() {
        assert_eq!(
            dql(&grail(json!([{"count()": "194414758"}]))),
            Ok(194414758.0)
        );
        assert_eq!(dql(&grail(json!([{"avg": 12.5}]))), Ok(12.5));
        assert_eq!(dql(&grail(json!([{"d": "-1.5e3"}]))), Ok(-1500.0));
    }

    #[test]
    fn dql_shapes_that_fail() {
        let needs = "the SLI needs exactly one record with one numeric field";
        assert_eq!(
            dql(&grail(json!([{"a": 1}, {"a": 2}, {"a": 3}]))),
            Err(format!("DQL query returned 3 records; {needs}"))
        );
        assert_eq!(
            dql(&grail(json!([]))),
            Err(format!("DQL query returned 0 records; {needs}"))
        );
        assert_eq!(
            dql(&grail(json!([null]))),
            Err(format!(
                "DQL query returned one record that is null; {needs}"
            ))
        );
        assert_eq!(
            dql(&grail(json!([[1]]))),
            Err(format!(
                "DQL query returned a record that is not an object ([1]); {needs}"
            ))
        );
        assert_eq!(
            dql(&grail(json!([{"a": 1, "b": 2}]))),
            Err(format!(
                "DQL query returned a record with 2 fields (a, b); {needs}"
            ))
        );
        assert_eq!(
            dql(&grail(json!([{}]))),
            Err(format!(
                "DQL query returned a record with 0 fields; {needs}"
            ))
        );
        for (v, shown) in [
            (json!(true), "true"),
            (json!(null), "null"),
            (json!("abc"), "\"abc\""),
            (json!("NaN"), "\"NaN\""),
            (json!("inf"), "\"inf\""),
            (json!(""), "\"\""),
            (json!([1]), "[1]"),
        ] {
            assert_eq!(
                dql(&grail(json!([{"x": v}]))),
                Err(format!(
                    "DQL query returned field 'x' = {shown}, which is not a number; {needs}"
                ))
            );
        }
    }

    #[test]
    fn dql_state_and_envelope() {
        assert_eq!(
            dql(&json!({"state": "FAILED"})),
            Err("DQL query ended in state FAILED; the SLI needs a SUCCEEDED query".into())
        );
        assert_eq!(
            dql(&json!({})),
            Err("the DQL response has no 'state'".into())
        );
        assert_eq!(
            dql(&json!({"state": "SUCCEEDED", "result": {}})),
            Err("the DQL response has no 'result.records' list".into())
        );
    }

    #[test]
    fn dql_pending_token() {
        assert_eq!(
            dql_pending(&json!({"state": "RUNNING", "requestToken": "tok", "ttlSeconds": 399})),
            Some("tok".into())
        );
        assert_eq!(
            dql_pending(&json!({"state": "NOT_STARTED", "requestToken": "t2"})),
            Some("t2".into())
        );
        assert_eq!(
            dql_pending(&json!({"state": "SUCCEEDED", "requestToken": "t"})),
            None
        );
        assert_eq!(dql_pending(&json!({"state": "RUNNING"})), None);
    }

    // --- API errors ---

    #[test]
    fn api_error_with_constraint_violations() {
        let b = r#"{"error":{"code":400,"message":"Constraints violated.","constraintViolations":[
            {"path":"p","message":"m","parameterLocation":"QUERY","location":null},
            {"path":"id","message":"Not a valid UUID.","parameterLocation":"PATH"}]}}"#;
        assert_eq!(
            api_error(
                "Metrics API v2",
                400,
                b,
                "https://x.live.dynatrace.com/api/v2/metrics/query?a=b"
            ),
            "error querying Metrics API v2: Dynatrace API error (400): Constraints violated. \
             [path: p - msg: m], [path: id - msg: Not a valid UUID.] - URL: https://x.live.dynatrace.com/api/v2/metrics/query?a=b"
        );
    }

    #[test]
    fn api_error_without_violations() {
        let b = r#"{"error":{"code":404,"message":"SLO with ID 'x' not found."}}"#;
        assert_eq!(
            api_error("Service level objectives API", 404, b, "u"),
            "error querying Service level objectives API: Dynatrace API error (404): SLO with ID 'x' not found. - URL: u"
        );
        let b = r#"{"error":{"code":403,"message":"Token is missing required scope. Use one of: problems.read (Read problems)"}}"#;
        assert_eq!(
            api_error("Problems API v2", 403, b, "u"),
            "error querying Problems API v2: Dynatrace API error (403): Token is missing required scope. \
             Use one of: problems.read (Read problems) - URL: u"
        );
    }

    #[test]
    fn api_error_uses_the_body_code_like_keptn() {
        let b = r#"{"error":{"code":429,"message":"Too many requests"}}"#;
        assert_eq!(
            api_error("Security problems API", 503, b, "u"),
            "error querying Security problems API: Dynatrace API error (429): Too many requests - URL: u"
        );
        // No code in the envelope: the HTTP status.
        assert_eq!(
            api_error(
                "User sessions API",
                500,
                r#"{"error":{"message":"boom"}}"#,
                "u"
            ),
            "error querying User sessions API: Dynatrace API error (500): boom - URL: u"
        );
    }

    #[test]
    fn api_error_for_grail() {
        let b = r#"{"error":{"code":400,"message":"PARSE_ERROR","details":{"errorType":"PARSE_ERROR",
            "errorMessage":"Unexpected token at line 1","syntaxErrorPosition":{"start":{"line":1,"column":32}}}}}"#;
        assert_eq!(
            api_error("Grail query API", 400, b, "u"),
            "error querying Grail query API: Dynatrace API error (400): PARSE_ERROR: Unexpected token at line 1 - URL: u"
        );
        let b = r#"{"error":{"code":403,"message":"Forbidden","details":{"missingScopes":["storage:logs:read","storage:buckets:read"]}}}"#;
        assert_eq!(
            api_error("Grail query API", 403, b, "u"),
            "error querying Grail query API: Dynatrace API error (403): Forbidden \
             (missing scopes: storage:logs:read, storage:buckets:read) - URL: u"
        );
    }

    #[test]
    fn api_error_tolerates_other_bodies() {
        assert_eq!(
            api_error(
                "Metrics API v2",
                502,
                "<html>\n  <body>Bad   gateway</body>\n</html>",
                "u"
            ),
            "error querying Metrics API v2: Dynatrace API error (502): <html> <body>Bad gateway</body> </html> - URL: u"
        );
        assert_eq!(
            api_error("Metrics API v2", 503, "", "u"),
            "error querying Metrics API v2: Dynatrace API error (503): (empty response body) - URL: u"
        );
        assert_eq!(
            api_error("Metrics API v2", 500, r#"{"error":"text"}"#, "u"),
            r#"error querying Metrics API v2: Dynatrace API error (500): {"error":"text"} - URL: u"#
        );
        let long = "é".repeat(1000);
        let e = api_error("Metrics API v2", 500, &long, "u");
        assert!(e.ends_with("é… - URL: u"), "{e}");
        assert!(e.chars().count() < 400);
        assert_eq!(
            dynatrace_error(404, "not found", "u"),
            "Dynatrace API error (404): not found - URL: u"
        );
    }

    #[test]
    fn odd_bodies_never_panic() {
        let bodies = [
            json!(null),
            json!(1),
            json!("s"),
            json!([]),
            json!({}),
            json!({"result": null}),
            json!({"result": [null]}),
            json!({"result": [{"data": [null]}]}),
            json!({"result": [{"data": [{"values": [null, "x"]}]}], "warnings": 5}),
            json!({"result": [{"warnings": [1, null, "w"], "data": [{"values": [1e308]}]}]}),
            json!({"columnNames": 1, "values": [[], null, 1, "x"]}),
            json!({"columnNames": ["a", "b"], "values": [[], null, 1, "x"]}),
            json!({"state": 1, "result": {"records": [{"": ""}]}}),
            json!({"state": "SUCCEEDED", "result": {"records": [{"": "-"}]}}),
            json!({"error": {"code": "x", "message": 1, "constraintViolations": [null, 1], "details": 3}}),
        ];
        for b in &bodies {
            let _ = metrics(b);
            let _ = metrics_retried(b);
            let _ = descriptor(b);
            let _ = slo(b, SloField::BurnRate);
            let _ = total_count(b);
            for t in [UsqlType::SingleValue, UsqlType::PieChart, UsqlType::Table] {
                let _ = usql(b, t, "");
            }
            let _ = dql(b);
            let _ = dql_pending(b);
            let _ = api_error("Metrics API v2", 0, &b.to_string(), "");
        }
        for raw in [
            "",
            "{",
            "\u{0}",
            "{\"error\":{}}",
            "{\"error\":{\"details\":{\"errorMessage\":5}}}",
        ] {
            let _ = dynatrace_error(u16::MAX, raw, "");
        }
    }
}
