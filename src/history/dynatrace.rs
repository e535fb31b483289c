//! The history kept in Dynatrace (`--history dynatrace`): the CUSTOM_INFO verdict events that
//! `gate` sends, read back into records like the SQLite store's. Events cannot be changed, so
//! the rules are applied when reading: the runs of one service, stage and window make one
//! record (the newest run wins, the others count), and an invalidation is another event naming
//! the record (`slogate.invalidates`). Pure apart from the [`EventSink`] that sends new events.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::document::{self, DocumentKind};
use super::{HistoryError, Imported, ListFilter, Lookup, StoredEvaluation, Summary};
use crate::eval::SliValue;
use crate::eval::previous::PreviousEvaluation;
use crate::source::events::FoundEvent;

/// How far back the Dynatrace history reaches (the events API keeps CUSTOM_INFO events for
/// about a month).
pub const LOOKBACK_DAYS: i64 = 30;

/// The property that makes a CUSTOM_INFO event an invalidation of the record with this id.
pub const INVALIDATES: &str = "slogate.invalidates";

/// The property that pins the record with this id as its service's known-good baseline.
pub const PINS: &str = "slogate.pins";

/// The property that removes the pin of the record with this id.
pub const UNPINS: &str = "slogate.unpins";

/// Sends one event to Dynatrace (the IO edge of this store).
pub trait EventSink {
    /// Sends `body` to the events ingest API; `Err` says why it was not stored.
    fn send(&mut self, body: &Value) -> Result<(), String>;
    /// The entity selector of a service, from slogate.yaml's template.
    fn selector(&self, project: &str, stage: &str, service: &str) -> Result<String, String>;
}

fn prop<'a>(e: &'a FoundEvent, key: &str) -> Option<&'a str> {
    e.property(key).filter(|v| !v.is_empty())
}

fn recorded_at(e: &FoundEvent) -> String {
    if let Some(t) = prop(e, "slogate.recorded_at") {
        return t.to_string();
    }
    e.start_ms
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .map(document::timestamp)
        .unwrap_or_default()
}

/// One verdict event as a record of one run.
fn run(e: &FoundEvent) -> Option<StoredEvaluation> {
    let result = prop(e, "slogate.result")?.to_string();
    if !matches!(result.as_str(), "pass" | "warning" | "fail") {
        return None;
    }
    let raw: Vec<Value> = prop(e, "slogate.indicators")
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    // Only entries with a metric: `indicators` and `raw` stay aligned.
    let raw: Vec<Value> = raw
        .into_iter()
        .filter(|i| i.get("metric").and_then(Value::as_str).is_some())
        .collect();
    let indicators: Vec<SliValue> = raw
        .iter()
        .filter_map(|i| {
            Some(SliValue {
                metric: i.get("metric")?.as_str()?.to_string(),
                value: i.get("value").and_then(Value::as_f64),
                success: i.get("success").and_then(Value::as_bool).unwrap_or(false),
                message: String::new(),
            })
        })
        .collect();
    let text = |k: &str| prop(e, k).unwrap_or_default().to_string();
    let score = prop(e, "slogate.score").and_then(|s| s.parse::<f64>().ok());
    let time_start = prop(e, "slogate.time_start").map(str::to_string);
    let time_end = prop(e, "slogate.time_end").map(str::to_string);
    // The minimal document: what `import` into a file store and `--previous` read.
    let document = json!({
        "result": result,
        "score": score,
        "project": text("slogate.project"),
        "stage": text("slogate.stage"),
        "service": text("slogate.service"),
        "timeStart": time_start,
        "timeEnd": time_end,
        "message": text("slogate.message"),
        // Each objective's status, as the verdict event holds it: the history page colours
        // its cells by it.
        "indicatorResults": indicators.iter().zip(&raw).map(|(i, r)| {
            let mut one = json!({"value": {"metric": i.metric, "value": i.value, "success": i.success}});
            if let Some(st) = r.get("status").and_then(Value::as_str) {
                one["status"] = Value::String(st.to_string());
            }
            one
        }).collect::<Vec<_>>(),
    });
    let mut document = document;
    if let Some(id) = prop(e, "slogate.imported_id") {
        document["importedId"] = Value::String(id.to_string());
    }
    let invalidated_at = prop(e, "slogate.invalidated_at").map(str::to_string);
    Some(StoredEvaluation {
        summary: Summary {
            id: e.event_id.clone(),
            kind: DocumentKind::Minimal,
            project: text("slogate.project"),
            stage: text("slogate.stage"),
            service: text("slogate.service"),
            labels: BTreeMap::new(),
            time_start,
            time_end,
            result,
            score,
            tool: prop(e, "slogate.version").map(|v| format!("slogate {v}")),
            recorded_at: recorded_at(e),
            invalidated: invalidated_at.is_some(),
            invalidated_reason: invalidated_at
                .as_ref()
                .and(prop(e, "slogate.invalidated_reason").map(str::to_string)),
            invalidated_at,
            runs: 1,
            pinned_at: None,
            pinned_reason: None,
        },
        indicators,
        document,
        earlier_run_ids: Vec::new(),
    })
}

/// The records the events stand for, newest first by window end: one per service, stage and
/// window (the newest run, by when it was recorded, with the runs counted), invalidations
/// applied (the first one's reason is kept).
pub fn records(events: &[FoundEvent]) -> Vec<StoredEvaluation> {
    let mut runs: Vec<StoredEvaluation> = events.iter().filter_map(run).collect();
    // Oldest first, so each group's last run is its newest.
    runs.sort_by(|a, b| {
        (&a.summary.recorded_at, &a.summary.id).cmp(&(&b.summary.recorded_at, &b.summary.id))
    });
    let mut out: Vec<StoredEvaluation> = Vec::new();
    let mut by_window: BTreeMap<(String, String, String, String, String), usize> = BTreeMap::new();
    for r in runs {
        let s = &r.summary;
        let key = match (&s.time_start, &s.time_end) {
            (Some(a), Some(b)) => Some((
                s.project.clone(),
                s.stage.clone(),
                s.service.clone(),
                a.clone(),
                b.clone(),
            )),
            _ => None,
        };
        match key.as_ref().and_then(|k| by_window.get(k)) {
            Some(&i) => {
                let old = std::mem::replace(&mut out[i], r);
                let new = &mut out[i];
                new.earlier_run_ids = old.earlier_run_ids;
                new.earlier_run_ids.push(old.summary.id);
                new.summary.runs = old.summary.runs + 1;
                if old.summary.invalidated && !new.summary.invalidated {
                    new.summary.invalidated = true;
                    new.summary.invalidated_at = old.summary.invalidated_at;
                    new.summary.invalidated_reason = old.summary.invalidated_reason;
                }
            }
            None => {
                if let Some(k) = key {
                    by_window.insert(k, out.len());
                }
                out.push(r);
            }
        }
    }
    // Invalidation events, oldest first: the first reason stays.
    let mut invalidations: Vec<&FoundEvent> = events
        .iter()
        .filter(|e| prop(e, INVALIDATES).is_some())
        .collect();
    invalidations.sort_by_key(|e| recorded_at(e));
    for inv in invalidations {
        let target = prop(inv, INVALIDATES).unwrap_or_default();
        if let Some(r) = out
            .iter_mut()
            .find(|r| r.summary.id == target || r.earlier_run_ids.iter().any(|i| i == target))
            && !r.summary.invalidated
        {
            r.summary.invalidated = true;
            r.summary.invalidated_at = Some(recorded_at(inv));
            r.summary.invalidated_reason = prop(inv, "slogate.invalidated_reason")
                .map(str::to_string)
                .or_else(|| Some("invalidated with slogate history invalidate".into()));
        }
    }
    // Pins and unpins, oldest first: the newest word on a service holds, one pin per service.
    let mut pins: Vec<&FoundEvent> = events
        .iter()
        .filter(|e| prop(e, PINS).is_some() || prop(e, UNPINS).is_some())
        .collect();
    pins.sort_by_key(|e| recorded_at(e));
    for ev in pins {
        let (target, pin) = match (prop(ev, PINS), prop(ev, UNPINS)) {
            (Some(t), _) => (t, true),
            (None, Some(t)) => (t, false),
            (None, None) => continue,
        };
        let Some(i) = out
            .iter()
            .position(|r| r.summary.id == target || r.earlier_run_ids.iter().any(|i| i == target))
        else {
            continue;
        };
        if pin {
            let (p, st, sv) = {
                let s = &out[i].summary;
                (s.project.clone(), s.stage.clone(), s.service.clone())
            };
            for r in out.iter_mut() {
                let s = &mut r.summary;
                if s.project == p && s.stage == st && s.service == sv {
                    s.pinned_at = None;
                    s.pinned_reason = None;
                }
            }
            out[i].summary.pinned_at = Some(recorded_at(ev));
            out[i].summary.pinned_reason = prop(ev, "slogate.pinned_reason").map(str::to_string);
        } else {
            out[i].summary.pinned_at = None;
            out[i].summary.pinned_reason = None;
        }
    }
    out.sort_by(|a, b| {
        let end = |r: &StoredEvaluation| {
            r.summary
                .time_end
                .clone()
                .unwrap_or_else(|| r.summary.recorded_at.clone())
        };
        end(b).cmp(&end(a))
    });
    out
}

/// The earlier verdicts of one service as `gate` compares with them: newest first, not
/// invalidated, one per window.
pub fn previous(
    records: &[StoredEvaluation],
    project: &str,
    stage: &str,
    service: &str,
) -> Vec<PreviousEvaluation> {
    records
        .iter()
        .map(|r| &r.summary)
        .zip(records)
        .filter(|(s, _)| {
            s.project == project && s.stage == stage && s.service == service && !s.invalidated
        })
        .map(|(s, r)| PreviousEvaluation {
            id: s.id.clone(),
            result: s.result.clone(),
            score: s.score,
            indicators: r.indicators.clone(),
            invalidated: false,
        })
        .collect()
}

/// The history in Dynatrace, read once when opened.
pub struct EventHistory<'a> {
    records: Vec<StoredEvaluation>,
    sink: &'a mut dyn EventSink,
}

impl<'a> EventHistory<'a> {
    pub fn new(events: &[FoundEvent], sink: &'a mut dyn EventSink) -> Self {
        EventHistory {
            records: records(events),
            sink,
        }
    }

    fn find(&self, id: &str) -> Option<&StoredEvaluation> {
        self.records
            .iter()
            .find(|r| r.summary.id == id || r.earlier_run_ids.iter().any(|i| i == id))
    }

    fn sent(&mut self, body: &Value) -> Result<(), HistoryError> {
        self.sink.send(body).map_err(|reason| HistoryError::Remote {
            reason: format!("cannot send the event: {reason}"),
        })
    }
}

fn selector_failure(reason: String) -> HistoryError {
    HistoryError::Remote {
        reason: format!("no entity selector for the event: {reason}"),
    }
}

/// The CUSTOM_INFO event that marks a record "ignore for comparison".
pub fn invalidation_payload(
    selector: &str,
    record: &Summary,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Value {
    let mut props = BTreeMap::from([
        (INVALIDATES.to_string(), record.id.clone()),
        ("slogate.recorded_at".to_string(), document::timestamp(now)),
        ("slogate.project".to_string(), record.project.clone()),
        ("slogate.stage".to_string(), record.stage.clone()),
        ("slogate.service".to_string(), record.service.clone()),
        (
            "slogate.version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
    ]);
    if let Some(r) = reason {
        props.insert("slogate.invalidated_reason".into(), r.to_string());
    }
    json!({
        "eventType": "CUSTOM_INFO",
        "title": format!("slogate: evaluation {} ignored for comparison", record.id),
        "entitySelector": selector,
        "properties": props,
    })
}

/// The CUSTOM_INFO event that pins a record (`pin`) or removes its pin.
pub fn pin_payload(
    selector: &str,
    record: &Summary,
    pin: bool,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Value {
    let mut props = BTreeMap::from([
        (
            if pin { PINS } else { UNPINS }.to_string(),
            record.id.clone(),
        ),
        ("slogate.recorded_at".to_string(), document::timestamp(now)),
        ("slogate.project".to_string(), record.project.clone()),
        ("slogate.stage".to_string(), record.stage.clone()),
        ("slogate.service".to_string(), record.service.clone()),
        (
            "slogate.version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
    ]);
    if let (true, Some(r)) = (pin, reason) {
        props.insert("slogate.pinned_reason".into(), r.to_string());
    }
    json!({
        "eventType": "CUSTOM_INFO",
        "title": if pin {
            format!("slogate: evaluation {} pinned as the known-good baseline", record.id)
        } else {
            format!("slogate: evaluation {} no longer pinned", record.id)
        },
        "entitySelector": selector,
        "properties": props,
    })
}

/// The pinned record of a service, if any.
pub fn pinned<'a>(
    records: &'a [StoredEvaluation],
    project: &str,
    stage: &str,
    service: &str,
) -> Option<&'a StoredEvaluation> {
    records.iter().find(|r| {
        let s = &r.summary;
        s.pinned() && s.project == project && s.stage == stage && s.service == service
    })
}

/// The verdict event of an imported evaluation (the properties `gate` sends, from the row).
pub fn import_payload(selector: &str, row: &document::Row) -> Value {
    let mut props = BTreeMap::from([
        ("slogate.result".to_string(), row.result.clone()),
        ("slogate.project".to_string(), row.project.clone()),
        ("slogate.stage".to_string(), row.stage.clone()),
        ("slogate.service".to_string(), row.service.clone()),
        ("slogate.recorded_at".to_string(), row.recorded_at.clone()),
        ("slogate.imported_id".to_string(), row.id.clone()),
        (
            "slogate.version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
    ]);
    if let Some(s) = row.score {
        props.insert("slogate.score".into(), crate::eval::gofmt::go_v(s));
    }
    for (k, v) in [
        ("slogate.time_start", &row.time_start),
        ("slogate.time_end", &row.time_end),
    ] {
        if let Some(v) = v {
            props.insert(k.into(), v.clone());
        }
    }
    if let Some((at, reason)) = &row.invalidated {
        props.insert("slogate.invalidated_at".into(), at.clone());
        if let Some(r) = reason {
            props.insert("slogate.invalidated_reason".into(), r.clone());
        }
    }
    let mut indicators: Vec<Value> = row
        .indicators
        .iter()
        .map(|i| json!({"metric": i.metric, "value": i.value, "success": i.success}))
        .collect();
    // Dynatrace caps a property at 4096 characters.
    while !indicators.is_empty() && Value::Array(indicators.clone()).to_string().len() > 4000 {
        indicators.pop();
    }
    props.insert(
        "slogate.indicators".into(),
        Value::Array(indicators).to_string(),
    );
    json!({
        "eventType": "CUSTOM_INFO",
        "title": format!("slogate: {} {} (imported)", if row.service.is_empty() { "service" } else { &row.service }, row.result.to_uppercase()),
        "entitySelector": selector,
        "properties": props,
    })
}

impl super::History for EventHistory<'_> {
    fn list(&self, filter: &ListFilter) -> Result<Vec<Summary>, HistoryError> {
        let matches = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        let found = self.records.iter().map(|r| &r.summary).filter(|s| {
            matches(&filter.project, &s.project)
                && matches(&filter.stage, &s.stage)
                && matches(&filter.service, &s.service)
                && matches(&filter.result, &s.result)
        });
        Ok(found
            .take(filter.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect())
    }

    fn lookup(&self, id: &str) -> Result<Lookup, HistoryError> {
        if let Some(r) = self.find(id) {
            return Ok(Lookup::Found(r.summary.id.clone()));
        }
        if id.chars().count() < 4 {
            return Ok(Lookup::Unknown);
        }
        let mut ids: Vec<String> = self
            .records
            .iter()
            .filter(|r| r.summary.id.starts_with(id))
            .map(|r| r.summary.id.clone())
            .collect();
        ids.sort();
        ids.truncate(6);
        Ok(match ids.len() {
            0 => Lookup::Unknown,
            1 => Lookup::Found(ids.remove(0)),
            _ => Lookup::Ambiguous(ids),
        })
    }

    fn show(&self, id: &str) -> Result<Option<StoredEvaluation>, HistoryError> {
        Ok(self.find(id).cloned())
    }

    fn invalidate(
        &mut self,
        id: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, HistoryError> {
        let Some(record) = self.find(id).map(|r| r.summary.clone()) else {
            return Ok(false);
        };
        if record.invalidated {
            return Ok(true);
        }
        let selector = self
            .sink
            .selector(&record.project, &record.stage, &record.service)
            .map_err(selector_failure)?;
        self.sent(&invalidation_payload(&selector, &record, reason, now))?;
        Ok(true)
    }

    fn pin(
        &mut self,
        id: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, HistoryError> {
        let Some(record) = self.find(id).map(|r| r.summary.clone()) else {
            return Ok(false);
        };
        let selector = self
            .sink
            .selector(&record.project, &record.stage, &record.service)
            .map_err(selector_failure)?;
        self.sent(&pin_payload(&selector, &record, true, reason, now))?;
        Ok(true)
    }

    fn unpin(&mut self, id: &str, now: DateTime<Utc>) -> Result<bool, HistoryError> {
        let Some(record) = self.find(id).map(|r| r.summary.clone()) else {
            return Ok(false);
        };
        if !record.pinned() {
            return Ok(false);
        }
        let selector = self
            .sink
            .selector(&record.project, &record.stage, &record.service)
            .map_err(selector_failure)?;
        self.sent(&pin_payload(&selector, &record, false, None, now))?;
        Ok(true)
    }

    fn evaluations(&self, filter: &ListFilter) -> Result<Vec<StoredEvaluation>, HistoryError> {
        let ids: std::collections::BTreeSet<String> =
            self.list(filter)?.into_iter().map(|s| s.id).collect();
        Ok(self
            .records
            .iter()
            .filter(|r| ids.contains(&r.summary.id))
            .cloned()
            .collect())
    }

    fn export(&self, out: &mut dyn Write) -> Result<usize, HistoryError> {
        let mut lines = 0;
        for r in self.records.iter().rev() {
            writeln!(out, "{}", r.export_line()).map_err(|e| HistoryError::Remote {
                reason: format!("cannot write the export: {e}"),
            })?;
            lines += 1;
        }
        Ok(lines)
    }

    fn import_all(
        &mut self,
        docs: &[(String, Value)],
        now: DateTime<Utc>,
    ) -> Result<Vec<Imported>, HistoryError> {
        let parsed = document::parse_named(docs, now)?;
        // Keptn invalidations travel with their evaluation (events cannot be changed later).
        let invalidated: BTreeMap<&str, &document::Invalidation> = parsed
            .iter()
            .filter_map(|p| match p {
                document::Parsed::Invalidation(i) => Some((i.triggered_id.as_str(), i)),
                _ => None,
            })
            .collect();
        // Every selector first: a document without service makes the whole import fail, before
        // anything was sent.
        let mut bodies = Vec::new();
        let mut out = Vec::new();
        for p in &parsed {
            match p {
                document::Parsed::Evaluation(row) => {
                    let known = self.find(&row.id).is_some()
                        || self.records.iter().any(|r| {
                            r.document.get("importedId").and_then(Value::as_str)
                                == Some(row.id.as_str())
                        });
                    if known {
                        out.push(Imported::Existing(row.id.clone()));
                        continue;
                    }
                    let mut row = (**row).clone();
                    if let Some(i) = row.triggered_id.as_deref().and_then(|t| invalidated.get(t))
                        && row.invalidated.is_none()
                    {
                        row.invalidated = Some((i.at.clone(), i.reason.clone()));
                    }
                    let selector = self
                        .sink
                        .selector(&row.project, &row.stage, &row.service)
                        .map_err(selector_failure)?;
                    let rerun = row.window_key().and_then(|(a, b)| {
                        self.records.iter().find(|r| {
                            let s = &r.summary;
                            s.project == row.project
                                && s.stage == row.stage
                                && s.service == row.service
                                && s.time_start.as_deref() == Some(a)
                                && s.time_end.as_deref() == Some(b)
                        })
                    });
                    out.push(match rerun {
                        Some(r) => Imported::Rerun {
                            id: r.summary.id.clone(),
                            runs: r.summary.runs + 1,
                        },
                        None => Imported::Added(row.id.clone()),
                    });
                    bodies.push(import_payload(&selector, &row));
                }
                document::Parsed::Invalidation(i) => out.push(Imported::Invalidation {
                    triggered_id: i.triggered_id.clone(),
                    matched: parsed
                        .iter()
                        .filter(|p| matches!(p, document::Parsed::Evaluation(r) if r.triggered_id.as_deref() == Some(i.triggered_id.as_str())))
                        .count(),
                }),
            }
        }
        for b in &bodies {
            self.sent(b)?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(id: &str, end: &str, recorded: &str, result: &str) -> FoundEvent {
        let props = [
            ("slogate.result", result),
            ("slogate.score", "90"),
            ("slogate.project", "shop"),
            ("slogate.stage", "prod"),
            ("slogate.service", "checkout"),
            ("slogate.time_start", "2026-11-17T09:00:00Z"),
            ("slogate.time_end", end),
            ("slogate.recorded_at", recorded),
            (
                "slogate.indicators",
                r#"[{"metric":"rt","value":400,"success":true,"status":"warning"},{"value":1},{"metric":"er","value":1,"success":true,"status":"pass"}]"#,
            ),
        ];
        FoundEvent {
            event_id: id.into(),
            title: String::new(),
            start_ms: Some(1_800_000_000_000),
            properties: props
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn each_objectives_status_reaches_the_record() {
        let r = records(&[verdict(
            "a",
            "2026-11-17T10:00:00Z",
            "2026-11-17T10:01:00.000Z",
            "warning",
        )]);
        let items = r[0].document["indicatorResults"].as_array().unwrap();
        let got: Vec<(&str, &str)> = items
            .iter()
            .map(|i| {
                (
                    i["value"]["metric"].as_str().unwrap(),
                    i["status"].as_str().unwrap(),
                )
            })
            .collect();
        // The entry without a metric is left out; the others keep their own status.
        assert_eq!(got, [("rt", "warning"), ("er", "pass")]);
    }

    #[test]
    fn reruns_of_a_window_make_one_record_with_the_newest_run() {
        let events = [
            verdict(
                "a",
                "2026-11-17T10:00:00Z",
                "2026-11-17T10:01:00.000Z",
                "fail",
            ),
            verdict(
                "c",
                "2026-11-17T10:00:00Z",
                "2026-11-17T10:09:00.000Z",
                "pass",
            ),
            verdict(
                "b",
                "2026-11-17T10:00:00Z",
                "2026-11-17T10:05:00.000Z",
                "warning",
            ),
            verdict(
                "d",
                "2026-11-17T11:00:00Z",
                "2026-11-17T11:01:00.000Z",
                "pass",
            ),
        ];
        let r = records(&events);
        assert_eq!(r.len(), 2);
        // Newest window first.
        assert_eq!(r[0].summary.id, "d");
        assert_eq!(r[1].summary.id, "c");
        assert_eq!(r[1].summary.result, "pass");
        assert_eq!(r[1].summary.runs, 3);
        assert_eq!(r[1].earlier_run_ids, ["a", "b"]);
        assert_eq!(r[1].indicators[0].value, Some(400.0));
        let p = previous(&r, "shop", "prod", "checkout");
        assert_eq!(p.len(), 2);
        assert!(previous(&r, "shop", "prod", "cart").is_empty());
    }

    #[test]
    fn an_invalidation_event_names_any_run_of_the_record() {
        let mut inv = FoundEvent {
            event_id: "x".into(),
            title: String::new(),
            start_ms: Some(1_800_000_000_000),
            properties: vec![
                (INVALIDATES.into(), "a".into()),
                ("slogate.invalidated_reason".into(), "load test".into()),
            ],
        };
        let events = [
            verdict(
                "a",
                "2026-11-17T10:00:00Z",
                "2026-11-17T10:01:00.000Z",
                "pass",
            ),
            verdict(
                "b",
                "2026-11-17T10:00:00Z",
                "2026-11-17T10:05:00.000Z",
                "pass",
            ),
            inv.clone(),
        ];
        let r = records(&events);
        assert_eq!(r.len(), 1);
        assert!(r[0].summary.invalidated);
        assert_eq!(
            r[0].summary.invalidated_reason.as_deref(),
            Some("load test")
        );
        assert!(previous(&r, "shop", "prod", "checkout").is_empty());
        // An invalidation of an unknown id changes nothing.
        inv.properties[0].1 = "zzz".into();
        let r = records(&[events[0].clone(), inv]);
        assert!(!r[0].summary.invalidated);
    }

    #[test]
    fn events_without_a_verdict_are_no_records() {
        let mut e = verdict(
            "a",
            "2026-11-17T10:00:00Z",
            "2026-11-17T10:01:00.000Z",
            "pass",
        );
        e.properties.retain(|(k, _)| k != "slogate.result");
        assert!(records(&[e]).is_empty());
        let e = verdict("a", "2026-11-17T10:00:00Z", "x", "error");
        assert!(records(&[e]).is_empty());
    }
}
