//! JSON inputs of `score`: indicator values and previous evaluations, with positioned errors.

use std::sync::Arc;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::diag::{Origin, Problem, SourceFile};
use crate::eval::SliValue;
use crate::eval::previous::{self, PreviousEvaluation};
use crate::model::slo::Slo;

/// A value as written in a values file; Keptn's SLIResult fields, nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ValueIn {
    metric: String,
    value: Option<f64>,
    success: Option<bool>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    #[allow(dead_code)]
    compared_value: Option<f64>,
}

/// Turns a serde_json error into a problem at its line and column.
fn json_problem(file: &Arc<SourceFile>, err: &serde_json::Error, help: &str) -> Problem {
    let offset = offset_of(&file.text, err.line(), err.column());
    let end = file.text[offset..]
        .chars()
        .next()
        .map(|c| offset + c.len_utf8())
        .unwrap_or(offset);
    let msg = err.to_string();
    // serde_json appends " at line L column C"; the diagnostic shows the place itself.
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    Problem::error("slogate::bad-json", &Origin::new(file, offset..end), msg)
        .label("here")
        .help(help.to_string())
}

/// Byte offset of a 1-based line and column (serde_json counts columns in bytes).
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    if line == 0 {
        return 0;
    }
    let start: usize = text
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    let mut off = (start + column.saturating_sub(1)).min(text.len());
    while !text.is_char_boundary(off) {
        off -= 1;
    }
    off
}

const VALUES_HELP: &str = "write a list `[{\"metric\": \"rt\", \"value\": 512.3, \"success\": true}]` or an object `{\"rt\": 512.3}`";

/// The two forms of a values file.
#[derive(Debug, PartialEq)]
pub enum Values {
    /// Keptn's SLI results as a provider sent them: each entry feeds one objective (§4.1).
    Results(Vec<SliValue>),
    /// `{"name": number}`: one value per SLI, for every objective on that SLI.
    PerSli(Vec<SliValue>),
}

impl Values {
    /// The values to score `slo` with.
    pub fn for_slo(self, slo: &Slo) -> Vec<SliValue> {
        match self {
            Values::Results(v) => v,
            Values::PerSli(v) => crate::eval::per_objective(slo, &v),
        }
    }
}

/// Reads a values file: a list of Keptn SLI results or an object of name → number (or null).
/// `success` may be omitted: it then means "the value is present".
pub fn values(file: &Arc<SourceFile>) -> Result<Values, Problem> {
    let trimmed = file.text.trim_start();
    if trimmed.starts_with('[') {
        let list: Vec<ValueIn> =
            serde_json::from_str(&file.text).map_err(|e| json_problem(file, &e, VALUES_HELP))?;
        Ok(Values::Results(
            list.into_iter()
                .map(|v| SliValue {
                    success: v.success.unwrap_or(v.value.is_some()),
                    metric: v.metric,
                    value: v.value,
                    message: v.message,
                })
                .collect(),
        ))
    } else if trimmed.starts_with('{') {
        let map: IndexMap<String, Option<f64>> =
            serde_json::from_str(&file.text).map_err(|e| json_problem(file, &e, VALUES_HELP))?;
        Ok(Values::PerSli(
            map.into_iter()
                .map(|(metric, value)| SliValue {
                    success: value.is_some(),
                    message: if value.is_some() {
                        String::new()
                    } else {
                        "no value".into()
                    },
                    metric,
                    value,
                })
                .collect(),
        ))
    } else {
        Err(Problem::error(
            "slogate::bad-json",
            &Origin::new(file, 0..trimmed.len().min(1)),
            "expected a JSON list or object of indicator values",
        )
        .label("not JSON")
        .help(VALUES_HELP))
    }
}

/// Reads a previous-evaluation file: one report or event, a JSON list of them (newest first),
/// or JSON lines.
pub fn previous(file: &Arc<SourceFile>) -> Result<Vec<PreviousEvaluation>, Problem> {
    if file.text.trim().is_empty() {
        return Err(Problem::error("slogate::bad-previous", &Origin::new(file, 0..0), "the previous-evaluation file is empty")
            .help("an empty file is not zero evaluations (a failed download would silently remove the baseline); pass a report, or leave out --previous"));
    }
    let help = "give a slogate JSON report, a Keptn evaluation.finished event (or its data), or `{\"result\": \"pass\", \"indicatorResults\": [{\"value\": {\"metric\": \"rt\", \"value\": 400, \"success\": true}}]}`";
    let docs: Vec<(serde_json::Value, usize)> =
        match serde_json::from_str::<serde_json::Value>(&file.text) {
            Ok(serde_json::Value::Array(items)) => items.into_iter().map(|v| (v, 0)).collect(),
            Ok(v) => vec![(v, 0)],
            Err(first_err) => {
                // JSON lines: one document per non-empty line.
                let mut docs = Vec::new();
                let mut offset = 0;
                for line in file.text.split_inclusive('\n') {
                    if !line.trim().is_empty() {
                        match serde_json::from_str(line) {
                            Ok(v) => docs.push((v, offset)),
                            Err(_) => return Err(json_problem(file, &first_err, help)),
                        }
                    }
                    offset += line.len();
                }
                docs
            }
        };
    let many = docs.len() > 1;
    docs.into_iter()
        .enumerate()
        .map(|(i, (doc, at))| {
            let fallback = if many {
                format!("{}#{}", file.name, i + 1)
            } else {
                file.name.clone()
            };
            previous::from_json(&doc, &fallback).map_err(|msg| {
                Problem::error(
                    "slogate::bad-previous",
                    &Origin::new(file, at..at),
                    format!("not an evaluation: {msg}"),
                )
                .help(help)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_in_both_forms() {
        let f = SourceFile::new(
            "v.json",
            r#"[{"metric": "rt", "value": 512.3, "success": true, "message": ""}, {"metric": "e", "value": null}]"#,
        );
        let Values::Results(v) = values(&f).unwrap() else {
            panic!("a list is Keptn's SLI results")
        };
        assert_eq!(v[0].value, Some(512.3));
        assert!(!v[1].success);
        let f = SourceFile::new("v.json", r#"{"rt": 512.3, "err": null}"#);
        let Values::PerSli(v) = values(&f).unwrap() else {
            panic!("an object holds one value per SLI")
        };
        assert_eq!(
            (v[0].metric.as_str(), v[0].success, v[1].success),
            ("rt", true, false)
        );
    }

    #[test]
    fn value_errors_have_positions() {
        let f = SourceFile::new("v.json", "[\n  {\"metric\": \"rt\", \"vlaue\": 1}\n]");
        let p = values(&f).unwrap_err();
        assert_eq!(p.line_col().unwrap().0, 2);
        assert!(p.message.contains("vlaue"), "{}", p.message);
        let f = SourceFile::new("v.json", "{\"rt\": \"fast\"}");
        assert!(values(&f).unwrap_err().message.contains("invalid type"));
        assert!(values(&SourceFile::new("v.json", "")).is_err());
    }

    #[test]
    fn previous_as_list_and_lines() {
        let one = r#"{"result": "pass", "indicatorResults": []}"#;
        let f = SourceFile::new("p.json", format!("[{one}, {one}]"));
        let p = previous(&f).unwrap();
        assert_eq!(p[1].id, "p.json#2");
        let f = SourceFile::new("p.jsonl", format!("{one}\n{one}\n"));
        assert_eq!(previous(&f).unwrap().len(), 2);
        assert!(previous(&SourceFile::new("p.json", "{\"x\": 1}")).is_err());
    }
}
