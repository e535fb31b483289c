//! Reading the documents the store keeps and imports: slogate reports, Keptn events and the
//! minimal form, into the columns the store indexes; and writing them back out as export lines.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::eval::SliValue;
use crate::eval::previous;
use crate::report::Report;

/// The history fields an export line adds beside `result` (at the top of a report, in `data` of
/// a Keptn event); they are stripped again on import, so the stored document stays the original.
pub const META_KEYS: &[&str] = &[
    "recordedAt",
    "invalidated",
    "invalidatedAt",
    "invalidatedReason",
    "runs",
    "earlierRunIds",
];

/// What kind of document an evaluation was stored from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DocumentKind {
    /// A slogate JSON report (`gate`, `eval --record`, or an imported `--output` file).
    Slogate,
    /// A Keptn `sh.keptn.event.evaluation.finished` event, or its `data` object.
    Keptn,
    /// `{"result", "score", "indicatorResults"}` and little else.
    Minimal,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Slogate => "slogate",
            DocumentKind::Keptn => "keptn",
            DocumentKind::Minimal => "minimal",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "slogate" => DocumentKind::Slogate,
            "keptn" => DocumentKind::Keptn,
            _ => DocumentKind::Minimal,
        }
    }
}

/// One evaluation ready to be stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub id: String,
    pub kind: DocumentKind,
    pub triggered_id: Option<String>,
    pub project: String,
    pub stage: String,
    pub service: String,
    pub labels: BTreeMap<String, String>,
    pub time_start: Option<String>,
    pub time_end: Option<String>,
    /// Window end, else recording time, in epoch milliseconds: "newest first" sorts on it.
    pub sort_ms: i64,
    pub result: String,
    pub score: Option<f64>,
    pub tool: Option<String>,
    pub indicators: Vec<SliValue>,
    /// The document as it was given, without [`META_KEYS`] (and without `id` outside Keptn's
    /// envelope).
    pub document: Value,
    pub recorded_at: String,
    /// `(when, reason)` when the document says it is invalidated (an export line).
    pub invalidated: Option<(String, Option<String>)>,
    /// How many runs of this window the document stands for (1, or an export line's `runs`).
    pub runs: i64,
    /// The ids of the earlier runs it replaced (an export line's `earlierRunIds`).
    pub earlier_run_ids: Vec<String>,
}

impl Row {
    /// Service, stage and window: a rerun of the same key replaces the record. `None` without
    /// a window (such documents are never merged).
    pub fn window_key(&self) -> Option<(&str, &str)> {
        Some((self.time_start.as_deref()?, self.time_end.as_deref()?))
    }
}

/// A Keptn `evaluation.invalidated` event: the evaluation sharing its `triggeredid` is ignored
/// for comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Invalidation {
    pub triggered_id: String,
    pub reason: Option<String>,
    pub at: String,
    pub document: Value,
}

/// What one imported document is.
#[derive(Clone, Debug, PartialEq)]
pub enum Parsed {
    Evaluation(Box<Row>),
    Invalidation(Invalidation),
}

/// RFC 3339 with milliseconds and `Z`, the form the store writes every time in.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_time(s: &str, what: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{what}` is not an RFC 3339 time (`{s}`: {e})"))
}

/// A stable id for a document that carries none: a UUID (version 8, RFC 9562) made of the
/// SHA-256 of its JSON text, so importing the same file twice finds the same id.
pub fn content_id(doc: &Value) -> String {
    let text = serde_json::to_string(doc).unwrap_or_default();
    let hash = Sha256::digest(text.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&hash[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn str_field<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("`{key}` must be a string")),
    }
}

/// Splits a file's text into documents: one JSON document, a JSON list, JSON lines, or Keptn's
/// event-list answer `{"events": [...]}`.
pub fn documents(text: &str) -> Result<Vec<Value>, String> {
    if text.trim().is_empty() {
        return Err("the file is empty".into());
    }
    let docs = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items,
        Ok(Value::Object(mut obj)) if matches!(obj.get("events"), Some(Value::Array(_))) => {
            match obj.shift_remove("events") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            }
        }
        Ok(v) => vec![v],
        Err(whole) => {
            // JSON lines: one document per non-empty line.
            let mut docs = Vec::new();
            for (n, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str(line) {
                    Ok(v) => docs.push(v),
                    // Not JSON lines either: the error of the whole text says most.
                    Err(_) if docs.is_empty() => return Err(format!("not JSON: {whole}")),
                    Err(e) => return Err(format!("line {}: not JSON: {e}", n + 1)),
                }
            }
            docs
        }
    };
    Ok(docs)
}

/// Reads one document into a row (or an invalidation). `now` is the recording time of documents
/// that do not say when they were recorded.
/// Every named document parsed (both stores import through this), or the first that is not one,
/// by its name (file and position).
pub fn parse_named(
    docs: &[(String, Value)],
    now: DateTime<Utc>,
) -> Result<Vec<Parsed>, super::HistoryError> {
    docs.iter()
        .map(|(what, doc)| {
            parse(doc, now).map_err(|reason| super::HistoryError::BadDocument {
                what: what.clone(),
                reason,
            })
        })
        .collect()
}

pub fn parse(doc: &Value, now: DateTime<Utc>) -> Result<Parsed, String> {
    let obj = doc.as_object().ok_or(
        "expected a JSON object (a slogate report, a Keptn evaluation.finished event, or its data)",
    )?;
    let event_type = str_field(obj, "type")?;
    if let Some(t) = event_type {
        if t.ends_with("evaluation.invalidated") {
            return invalidation(obj, now).map(Parsed::Invalidation);
        }
        if !t.ends_with("evaluation.finished") {
            return Err(format!(
                "a Keptn `{t}` event is not an evaluation (expected sh.keptn.event.evaluation.finished or .invalidated)"
            ));
        }
    }
    let envelope = event_type.is_some() || matches!(obj.get("data"), Some(Value::Object(_)));

    // The stored document: the original without history fields.
    let mut document = doc.clone();
    let meta = strip(&mut document, envelope);
    let data = if envelope {
        document["data"].as_object().cloned().unwrap_or_default()
    } else {
        document.as_object().cloned().unwrap_or_default()
    };

    let kind = if envelope || matches!(data.get("evaluation"), Some(Value::Object(_))) {
        DocumentKind::Keptn
    } else if data.contains_key("reportVersion") {
        DocumentKind::Slogate
    } else {
        DocumentKind::Minimal
    };
    let tool = match kind {
        DocumentKind::Slogate => {
            let report: Report = serde_json::from_value(document.clone())
                .map_err(|e| format!("not a valid slogate report: {e}"))?;
            Some(format!("{} {}", report.tool.name, report.tool.version))
        }
        _ => str_field(obj, "source")?.map(str::to_string),
    };

    let id = match obj.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        None | Some(Value::Null) => content_id(&document),
        Some(_) => return Err("`id` must be a non-empty string".into()),
    };
    // Result, score and indicator values exactly as `--previous` reads them.
    let prev = previous::from_json(&document, &id)?;
    let result = prev.result.clone();
    if !matches!(result.as_str(), "pass" | "warning" | "fail") {
        return Err(format!(
            "`result` is `{result}`; expected pass, warning or fail"
        ));
    }

    let details = match data.get("evaluation") {
        Some(Value::Object(e)) => e.clone(),
        _ => Map::new(),
    };
    let time = |key: &str| -> Result<Option<String>, String> {
        match str_field(&data, key)? {
            Some(s) => Ok(Some(s.to_string())),
            None => Ok(str_field(&details, key)?.map(str::to_string)),
        }
    };
    let time_start = time("timeStart")?;
    let time_end = time("timeEnd")?;
    if let Some(s) = &time_start {
        parse_time(s, "timeStart")?;
    }
    let recorded_at = match (&meta.recorded_at, str_field(obj, "time")?) {
        (Some(t), _) => timestamp(parse_time(t, "recordedAt")?),
        (None, Some(t)) if envelope => timestamp(parse_time(t, "time")?),
        _ => timestamp(now),
    };
    let sort_ms = match &time_end {
        Some(t) => parse_time(t, "timeEnd")?.timestamp_millis(),
        None => parse_time(&recorded_at, "recordedAt")?.timestamp_millis(),
    };

    let mut labels = BTreeMap::new();
    match data.get("labels") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                labels.insert(k.clone(), v);
            }
        }
        Some(_) => return Err("`labels` must be an object".into()),
    }
    let text = |key: &str| -> Result<String, String> {
        Ok(str_field(&data, key)?.unwrap_or_default().to_string())
    };
    let invalidated = if meta.invalidated || prev.invalidated {
        Some((
            match &meta.invalidated_at {
                Some(t) => timestamp(parse_time(t, "invalidatedAt")?),
                None => recorded_at.clone(),
            },
            meta.reason.clone(),
        ))
    } else {
        None
    };
    Ok(Parsed::Evaluation(Box::new(Row {
        id,
        kind,
        triggered_id: if envelope {
            str_field(obj, "triggeredid")?.map(str::to_string)
        } else {
            None
        },
        project: text("project")?,
        stage: text("stage")?,
        service: text("service")?,
        labels,
        time_start,
        time_end,
        sort_ms,
        result,
        score: prev.score,
        tool,
        indicators: prev.indicators,
        document,
        recorded_at,
        invalidated,
        runs: meta.runs.max(1),
        earlier_run_ids: meta.earlier_run_ids,
    })))
}

struct Meta {
    recorded_at: Option<String>,
    invalidated: bool,
    invalidated_at: Option<String>,
    reason: Option<String>,
    runs: i64,
    earlier_run_ids: Vec<String>,
}

/// Removes the history fields (and the top-level `id` of a non-envelope document) and returns
/// what they said.
fn strip(document: &mut Value, envelope: bool) -> Meta {
    let mut meta = Meta {
        recorded_at: None,
        invalidated: false,
        invalidated_at: None,
        reason: None,
        runs: 1,
        earlier_run_ids: Vec::new(),
    };
    let target = if envelope {
        document.get_mut("data")
    } else {
        Some(&mut *document)
    };
    let Some(Value::Object(m)) = target else {
        return meta;
    };
    let take = |m: &mut Map<String, Value>, k: &str| match m.shift_remove(k) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    meta.recorded_at = take(m, "recordedAt");
    meta.invalidated_at = take(m, "invalidatedAt");
    meta.reason = take(m, "invalidatedReason");
    meta.invalidated = matches!(m.shift_remove("invalidated"), Some(Value::Bool(true)));
    if let Some(n) = m.shift_remove("runs").and_then(|v| v.as_i64()) {
        meta.runs = n.clamp(1, 1_000_000);
    }
    if let Some(Value::Array(ids)) = m.shift_remove("earlierRunIds") {
        meta.earlier_run_ids = ids
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
    }
    if !envelope {
        m.shift_remove("id");
    }
    meta
}

fn invalidation(obj: &Map<String, Value>, now: DateTime<Utc>) -> Result<Invalidation, String> {
    let triggered_id = str_field(obj, "triggeredid")?
        .filter(|s| !s.is_empty())
        .ok_or("an evaluation.invalidated event needs `triggeredid` (the evaluation it ignores)")?
        .to_string();
    let data = match obj.get("data") {
        Some(Value::Object(d)) => d.clone(),
        _ => Map::new(),
    };
    let reason = str_field(&data, "message")?
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or_else(|| Some("Keptn evaluation.invalidated event".into()));
    let at = match str_field(obj, "time")? {
        Some(t) => timestamp(parse_time(t, "time")?),
        None => timestamp(now),
    };
    Ok(Invalidation {
        triggered_id,
        reason,
        at,
        document: Value::Object(obj.clone()),
    })
}

/// The export line of a stored document: the document with `id` and the history fields beside
/// `result`, so `import` reads it back losslessly and `--previous` reads it as well.
pub fn export_line(
    document: &Value,
    id: &str,
    recorded_at: &str,
    invalidated: Option<(&str, Option<&str>)>,
) -> Value {
    export_line_with_runs(document, id, recorded_at, invalidated, 1, &[])
}

/// [`export_line`] of a record that stands for several runs of its window: `runs` and
/// `earlierRunIds` are added beside `recordedAt` when there was more than one.
pub fn export_line_with_runs(
    document: &Value,
    id: &str,
    recorded_at: &str,
    invalidated: Option<(&str, Option<&str>)>,
    runs: i64,
    earlier_run_ids: &[String],
) -> Value {
    let mut line = document.clone();
    let envelope = matches!(line.get("data"), Some(Value::Object(_)))
        || line.get("type").is_some_and(Value::is_string);
    let mut meta = Map::new();
    meta.insert("recordedAt".into(), Value::String(recorded_at.into()));
    meta.insert("invalidated".into(), Value::Bool(invalidated.is_some()));
    if let Some((at, reason)) = invalidated {
        meta.insert("invalidatedAt".into(), Value::String(at.into()));
        if let Some(r) = reason {
            meta.insert("invalidatedReason".into(), Value::String(r.into()));
        }
    }
    if runs > 1 {
        meta.insert("runs".into(), Value::from(runs));
        meta.insert(
            "earlierRunIds".into(),
            Value::Array(earlier_run_ids.iter().cloned().map(Value::String).collect()),
        );
    }
    if envelope {
        if let Value::Object(o) = &mut line {
            o.insert("id".into(), Value::String(id.into()));
        }
        if let Some(Value::Object(data)) = line.get_mut("data") {
            data.extend(meta);
        }
        line
    } else {
        let mut out = Map::new();
        out.insert("id".into(), Value::String(id.into()));
        if let Value::Object(o) = line {
            out.extend(o);
        }
        out.extend(meta);
        Value::Object(out)
    }
}
