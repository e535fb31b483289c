//! Previous evaluations: reading them from the forms users have, and Keptn's selection (§8).

use serde_json::Value;

use super::SliValue;
use crate::model::slo::EffectiveComparison;

/// One earlier evaluation, reduced to what the comparison needs.
#[derive(Clone, Debug, PartialEq)]
pub struct PreviousEvaluation {
    pub id: String,
    /// The overall result (`pass`, `warning`, `fail`), Keptn's `data.result`.
    pub result: String,
    pub score: Option<f64>,
    pub indicators: Vec<SliValue>,
    /// Marked "ignore for comparison" (Keptn's `evaluation.invalidated`).
    pub invalidated: bool,
}

/// Reads one previous evaluation from slogate's JSON report, the minimal form
/// `{result, score, indicatorResults: [{value: {...}}]}`, a Keptn `evaluation.finished` event,
/// or its `data` object. `fallback_id` names it when the document carries no id.
pub fn from_json(doc: &Value, fallback_id: &str) -> Result<PreviousEvaluation, String> {
    let obj = doc.as_object().ok_or(
        "expected a JSON object (an evaluation report or a Keptn evaluation.finished event)",
    )?;
    // Keptn event envelope: {id, type, data: {...}}.
    let (data, id) = match obj.get("data") {
        Some(Value::Object(data)) => (data, obj.get("id").and_then(Value::as_str)),
        _ => (obj, obj.get("id").and_then(Value::as_str)),
    };
    let id = id
        .map(str::to_string)
        .or_else(|| data.get("id").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| fallback_id.to_string());
    // Keptn keeps score and indicatorResults under `evaluation`; slogate and the minimal form
    // keep them at the top.
    let details = match data.get("evaluation") {
        Some(Value::Object(e)) => e,
        _ => data,
    };
    let result = data
        .get("result")
        .and_then(Value::as_str)
        .or_else(|| details.get("result").and_then(Value::as_str))
        .ok_or("missing `result` (pass, warning or fail)")?
        .to_string();
    let score = details.get("score").and_then(Value::as_f64);
    let mut indicators = Vec::new();
    match details.get("indicatorResults") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let v = item
                    .get("value")
                    .ok_or_else(|| format!("indicatorResults[{i}] has no `value`"))?;
                let metric = v
                    .get("metric")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("indicatorResults[{i}].value has no `metric`"))?;
                indicators.push(SliValue {
                    metric: metric.to_string(),
                    value: v.get("value").and_then(Value::as_f64),
                    success: v.get("success").and_then(Value::as_bool).unwrap_or(false),
                    message: v
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                });
            }
        }
        Some(_) => return Err("`indicatorResults` must be a list".into()),
    }
    let invalidated = data
        .get("invalidated")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(PreviousEvaluation {
        id,
        result,
        score,
        indicators,
        invalidated,
    })
}

/// Keptn's choice of comparison evaluations from `all` (newest first): invalidated ones are
/// skipped, the overall result is filtered per `include_result_with_score`, and the first N
/// per `compare_with` are taken.
pub fn select<'a>(
    all: &'a [PreviousEvaluation],
    comparison: &EffectiveComparison,
) -> Vec<&'a PreviousEvaluation> {
    let wanted = |result: &str| match comparison.include_result_with_score.as_str() {
        "pass" => result == "pass",
        "pass_or_warn" => result == "pass" || result == "warning",
        // Anything else, `pass_or_warning` included, means all (Keptn).
        _ => true,
    };
    all.iter()
        .filter(|p| !p.invalidated && wanted(&p.result))
        .take(comparison.previous_count())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cmp(compare_with: &str, include: &str, n: i64) -> EffectiveComparison {
        EffectiveComparison {
            compare_with: compare_with.into(),
            include_result_with_score: include.into(),
            number_of_comparison_results: n,
            aggregate_function: "avg".into(),
        }
    }

    fn prev(id: &str, result: &str) -> PreviousEvaluation {
        PreviousEvaluation {
            id: id.into(),
            result: result.into(),
            score: None,
            indicators: vec![],
            invalidated: false,
        }
    }

    #[test]
    fn reads_every_form() {
        let minimal = json!({"result": "pass", "score": 100, "indicatorResults": [{"value": {"metric": "rt", "value": 400, "success": true}}]});
        let p = from_json(&minimal, "f.json").unwrap();
        assert_eq!((p.id.as_str(), p.result.as_str()), ("f.json", "pass"));
        assert_eq!(p.indicators[0].value, Some(400.0));

        let data = json!({"project": "p", "result": "warning", "evaluation": {"result": "warning", "score": 80,
            "indicatorResults": [{"value": {"metric": "rt", "value": 1.5, "success": false, "message": "x"}}]}});
        let p = from_json(&data, "d").unwrap();
        assert_eq!(p.result, "warning");
        assert_eq!(p.score, Some(80.0));
        assert!(!p.indicators[0].success);

        let event =
            json!({"id": "ev-1", "type": "sh.keptn.event.evaluation.finished", "data": data});
        assert_eq!(from_json(&event, "x").unwrap().id, "ev-1");

        // Keptn's data.result and evaluation.result differ after an errored retrieval: data wins.
        let errored = json!({"result": "fail", "evaluation": {"result": "pass", "score": 0}});
        assert_eq!(from_json(&errored, "e").unwrap().result, "fail");
        assert!(from_json(&json!([1]), "x").is_err());
        assert!(from_json(&json!({"score": 1}), "x").is_err());
    }

    #[test]
    fn selection_follows_section_8() {
        let all = vec![
            prev("1", "fail"),
            prev("2", "warning"),
            prev("3", "pass"),
            prev("4", "pass"),
            prev("5", "pass"),
        ];
        let ids = |v: Vec<&PreviousEvaluation>| v.iter().map(|p| p.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(select(&all, &cmp("single_result", "all", 1))), ["1"]);
        assert_eq!(ids(select(&all, &cmp("single_result", "pass", 1))), ["3"]);
        assert_eq!(
            ids(select(&all, &cmp("several_results", "pass_or_warn", 2))),
            ["2", "3"]
        );
        assert_eq!(
            ids(select(&all, &cmp("several_results", "pass", 5))),
            ["3", "4", "5"]
        );
        // unknown include value means all; missing compare_with means 3
        assert_eq!(
            ids(select(&all, &cmp("", "pass_or_warning", 10))),
            ["1", "2", "3"]
        );
        let mut inv = all.clone();
        inv[0].invalidated = true;
        assert_eq!(ids(select(&inv, &cmp("single_result", "all", 1))), ["2"]);
    }
}
