//! The history page's model (`slogate history report`): stored evaluations turned into one
//! section per service, with a heatmap of SLIs × evaluations, the score line and each SLI's
//! values over time. Pure: built from records the caller read, rendered by
//! [`super::page_html`] and [`super::page_md`]. Every foreign string (SLI names, labels,
//! messages, ids from stored documents) is made safe here with [`sanitize::text`]; renderers
//! only escape for their format.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::StoredEvaluation;
use crate::report::sanitize;

/// What to show.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// At most this many evaluations per service, the newest.
    pub last: Option<usize>,
    /// Only evaluations whose window ended (or, without a window, that were recorded) at or
    /// after this time.
    pub since: Option<DateTime<Utc>>,
    /// Link from each column to that run's own report: `{id}` becomes the evaluation's id.
    pub report_link: Option<String>,
}

/// The whole page: one section per service.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    /// Where the evaluations were read (a file path or the Dynatrace URL).
    pub source: String,
    pub services: Vec<ServicePage>,
}

/// The outcome of an evaluation, or of one SLI in it: a cell's colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Pass,
    Warning,
    Fail,
    /// No value (the SLI could not be fetched).
    Error,
    /// Not evaluated: informational, or the SLI is not part of this evaluation.
    None,
}

impl Outcome {
    /// The CSS class and the word people read.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Warning => "warning",
            Outcome::Fail => "fail",
            Outcome::Error => "error",
            Outcome::None => "none",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Warning => "warning",
            Outcome::Fail => "fail",
            Outcome::Error => "no value",
            Outcome::None => "not evaluated",
        }
    }

    fn parse(s: &str) -> Outcome {
        match s {
            "pass" => Outcome::Pass,
            "warning" => Outcome::Warning,
            "fail" => Outcome::Fail,
            "error" | "errored" => Outcome::Error,
            _ => Outcome::None,
        }
    }
}

/// One service's history, oldest evaluation first.
#[derive(Clone, Debug, PartialEq)]
pub struct ServicePage {
    pub project: String,
    pub stage: String,
    pub service: String,
    /// How many evaluations the store holds in the range before `--last` cut them.
    pub total: usize,
    pub columns: Vec<Column>,
    pub rows: Vec<SliRow>,
    /// The total_score thresholds (percent) of the newest evaluation that states them.
    pub pass_threshold: Option<f64>,
    pub warning_threshold: Option<f64>,
}

impl ServicePage {
    /// `checkout · production · shop`, or what is set.
    pub fn title(&self) -> String {
        let parts: Vec<&str> = [&self.service, &self.stage, &self.project]
            .into_iter()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect();
        if parts.is_empty() {
            "(no service)".into()
        } else {
            parts.join(" · ")
        }
    }

    /// An id for links within the page: `s1`, `s2`, ...
    pub fn anchor(index: usize) -> String {
        format!("s{}", index + 1)
    }

    pub fn pinned(&self) -> Option<&Column> {
        self.columns.iter().find(|c| c.pinned.is_some())
    }

    pub fn newest(&self) -> Option<&Column> {
        self.columns.last()
    }

    /// How many evaluations had each overall outcome.
    pub fn count(&self, o: Outcome) -> usize {
        self.columns.iter().filter(|c| c.result == o).count()
    }
}

/// One evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub id: String,
    /// The end of the window (or when it was recorded), RFC 3339.
    pub time: String,
    /// The version or deployment label: `version 1.4.2`, `buildId 412`.
    pub label: Option<String>,
    pub result: Outcome,
    pub score: Option<f64>,
    /// Why it is ignored for comparison, when invalidated (empty: no reason given).
    pub invalidated: Option<String>,
    /// Why it is the pinned baseline, when pinned (empty: no reason given).
    pub pinned: Option<String>,
    pub runs: i64,
    pub report_link: Option<String>,
    /// The pipeline run: its link and name.
    pub pipeline_link: Option<String>,
    pub pipeline_name: Option<String>,
}

impl Column {
    /// The first 8 characters of the id.
    pub fn short_id(&self) -> &str {
        let end = self
            .id
            .char_indices()
            .nth(8)
            .map(|(i, _)| i)
            .unwrap_or(self.id.len());
        &self.id[..end]
    }

    /// `2026-11-17 10:30` (UTC).
    pub fn when(&self) -> String {
        match DateTime::parse_from_rfc3339(&self.time) {
            Ok(t) => t.with_timezone(&Utc).format("%Y-%m-%d %H:%M").to_string(),
            Err(_) => self.time.clone(),
        }
    }
}

/// One SLI across the evaluations.
#[derive(Clone, Debug, PartialEq)]
pub struct SliRow {
    pub metric: String,
    /// The display name, else the metric.
    pub name: String,
    pub unit: Option<String>,
    /// One per column.
    pub cells: Vec<Cell>,
}

/// One SLI in one evaluation.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Cell {
    pub outcome: Option<Outcome>,
    pub value: Option<f64>,
    /// The value the relative criteria compared with.
    pub baseline: Option<f64>,
    /// The pass criteria with their target values: `<=+10% (440) violated`.
    pub pass: Vec<Criterion>,
    pub warning: Vec<Criterion>,
    /// Why there is no value.
    pub message: String,
}

impl Cell {
    pub fn outcome(&self) -> Outcome {
        self.outcome.unwrap_or(Outcome::None)
    }

    /// The first pass target: the line of the sparkline.
    pub fn pass_target(&self) -> Option<f64> {
        self.pass.first().and_then(|c| c.target)
    }

    pub fn warning_target(&self) -> Option<f64> {
        self.warning.first().and_then(|c| c.target)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Criterion {
    pub criteria: String,
    pub target: Option<f64>,
    pub violated: bool,
}

fn clean(s: &str) -> String {
    sanitize::text(s).into_owned()
}

/// The evaluation's details: Keptn keeps them under `data.evaluation`, slogate and the minimal
/// form at the top.
fn details(doc: &Value) -> &Value {
    let data = match doc.get("data") {
        Some(d @ Value::Object(_)) => d,
        _ => doc,
    };
    match data.get("evaluation") {
        Some(e @ Value::Object(_)) if data.get("indicatorResults").is_none() => e,
        _ => data,
    }
}

/// `version 1.4.2`: the label people know a release by.
fn release_label(e: &StoredEvaluation) -> Option<String> {
    const KEYS: &[&str] = &[
        "version",
        "deploymentVersion",
        "releaseVersion",
        "release",
        "buildId",
        "build",
    ];
    let labels = &e.summary.labels;
    for k in KEYS {
        if let Some(v) = labels.get(*k).filter(|v| !v.is_empty()) {
            return Some(clean(&format!("{k} {v}")));
        }
    }
    if let Some(v) = e
        .document
        .pointer("/deployment/version")
        .and_then(Value::as_str)
    {
        return Some(clean(&format!("version {v}")));
    }
    labels
        .iter()
        .next()
        .map(|(k, v)| clean(&format!("{k} {v}")))
}

fn percent(v: Option<&Value>) -> Option<f64> {
    let s = v?.as_str()?;
    s.trim().trim_end_matches('%').trim().parse().ok()
}

fn criteria(v: Option<&Value>) -> Vec<Criterion> {
    v.and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|t| Criterion {
                    criteria: clean(t.get("criteria").and_then(Value::as_str).unwrap_or("")),
                    target: t.get("targetValue").and_then(Value::as_f64),
                    violated: t.get("violated").and_then(Value::as_bool).unwrap_or(false),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `report-{id}.html` with `{id}` filled in, percent-encoding what is not safe in a link.
fn link(template: &str, id: &str) -> String {
    let mut enc = String::new();
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    template.replace("{id}", &enc)
}

/// One evaluation's SLIs, in its order: (metric, name, unit, cell).
/// One SLI of one evaluation: metric, name, unit, cell.
type Sli = (String, String, Option<String>, Cell);

fn cells(e: &StoredEvaluation) -> Vec<Sli> {
    let d = details(&e.document);
    let mut out = Vec::new();
    if let Some(items) = d.get("indicatorResults").and_then(Value::as_array) {
        for item in items {
            let v = item.get("value").unwrap_or(&Value::Null);
            let Some(metric) = v.get("metric").and_then(Value::as_str) else {
                continue;
            };
            let success = v.get("success").and_then(Value::as_bool).unwrap_or(false);
            let error = item.get("error").and_then(Value::as_str);
            let outcome = if !success || error.is_some() {
                Some(Outcome::Error)
            } else {
                item.get("status")
                    .and_then(Value::as_str)
                    .map(Outcome::parse)
            };
            let name = item
                .get("displayName")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .unwrap_or(metric);
            let message = error
                .or_else(|| v.get("message").and_then(Value::as_str))
                .unwrap_or("");
            out.push((
                clean(metric),
                clean(name),
                item.get("unit").and_then(Value::as_str).map(clean),
                Cell {
                    outcome,
                    value: v.get("value").and_then(Value::as_f64).filter(|_| success),
                    baseline: v.get("comparedValue").and_then(Value::as_f64),
                    pass: criteria(item.get("passTargets")),
                    warning: criteria(item.get("warningTargets")),
                    message: clean(message),
                },
            ));
        }
    }
    if out.is_empty() {
        // A record with values only (the Dynatrace history): no statuses to show.
        for i in &e.indicators {
            out.push((
                clean(&i.metric),
                clean(&i.metric),
                None,
                Cell {
                    outcome: (!i.success).then_some(Outcome::Error),
                    value: i.value.filter(|_| i.success),
                    message: clean(&i.message),
                    ..Cell::default()
                },
            ));
        }
    }
    out
}

fn time_of(e: &StoredEvaluation) -> String {
    e.summary
        .time_end
        .clone()
        .unwrap_or_else(|| e.summary.recorded_at.clone())
}

fn column(e: &StoredEvaluation, options: &Options) -> Column {
    let s = &e.summary;
    // Keptn reports an errored evaluation as `fail` with no indicator values.
    let errored = e.document.pointer("/data/status").and_then(Value::as_str) == Some("errored")
        || e.document.get("result").and_then(Value::as_str) == Some("error");
    let pipeline = e.document.get("pipeline");
    let pipeline_link = pipeline
        .and_then(|p| p.get("url"))
        .and_then(Value::as_str)
        .filter(|u| crate::report::markdown::is_web_url(u))
        .map(clean);
    Column {
        id: clean(&s.id),
        time: clean(&time_of(e)),
        label: release_label(e),
        result: if errored {
            Outcome::Error
        } else {
            Outcome::parse(&s.result)
        },
        score: s.score,
        invalidated: s
            .invalidated
            .then(|| clean(s.invalidated_reason.as_deref().unwrap_or(""))),
        pinned: s
            .pinned_at
            .as_ref()
            .map(|_| clean(s.pinned_reason.as_deref().unwrap_or(""))),
        runs: s.runs,
        report_link: options.report_link.as_deref().map(|t| link(t, &s.id)),
        pipeline_name: pipeline
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .map(clean),
        pipeline_link,
    }
}

/// Builds the page from records (any order), grouped by project, stage and service.
pub fn build(records: &[StoredEvaluation], options: &Options, source: &str) -> Page {
    let mut groups: BTreeMap<(String, String, String), Vec<&StoredEvaluation>> = BTreeMap::new();
    for r in records {
        if let Some(since) = options.since {
            let at = DateTime::parse_from_rfc3339(&time_of(r)).map(|t| t.with_timezone(&Utc));
            if at.is_ok_and(|t| t < since) {
                continue;
            }
        }
        let s = &r.summary;
        groups
            .entry((s.project.clone(), s.stage.clone(), s.service.clone()))
            .or_default()
            .push(r);
    }
    let services = groups
        .into_iter()
        .map(|((project, stage, service), mut evals)| {
            // Oldest first by window end, then by when it was recorded.
            evals.sort_by(|a, b| {
                (time_of(a), &a.summary.recorded_at).cmp(&(time_of(b), &b.summary.recorded_at))
            });
            let total = evals.len();
            if let Some(n) = options.last {
                evals.drain(..evals.len().saturating_sub(n));
            }
            service_page(project, stage, service, total, &evals, options)
        })
        .collect();
    Page {
        source: clean(source),
        services,
    }
}

fn service_page(
    project: String,
    stage: String,
    service: String,
    total: usize,
    evals: &[&StoredEvaluation],
    options: &Options,
) -> ServicePage {
    let columns: Vec<Column> = evals.iter().map(|e| column(e, options)).collect();
    let per_eval: Vec<Vec<Sli>> = evals.iter().map(|e| cells(e)).collect();
    // Rows in the newest evaluation's order, then SLIs only older ones had (newest first).
    let mut order: Vec<String> = Vec::new();
    let mut names: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
    for list in per_eval.iter().rev() {
        for (metric, name, unit, _) in list {
            if !names.contains_key(metric) {
                order.push(metric.clone());
                names.insert(metric.clone(), (name.clone(), unit.clone()));
            }
        }
    }
    let rows = order
        .into_iter()
        .map(|metric| {
            let (name, unit) = names.remove(&metric).unwrap_or_default();
            let cells = per_eval
                .iter()
                .map(|list| {
                    list.iter()
                        .find(|(m, ..)| *m == metric)
                        .map(|(.., c)| c.clone())
                        .unwrap_or_default()
                })
                .collect();
            SliRow {
                metric,
                name,
                unit,
                cells,
            }
        })
        .collect();
    let threshold = |key: &str| {
        evals
            .iter()
            .rev()
            .find_map(|e| percent(e.document.pointer(&format!("/slo/{key}"))))
    };
    ServicePage {
        project: clean(&project),
        stage: clean(&stage),
        service: clean(&service),
        total,
        columns,
        rows,
        pass_threshold: threshold("passThreshold"),
        warning_threshold: threshold("warningThreshold"),
    }
}

/// A number for people (at most 4 significant decimals).
pub fn num(v: f64) -> String {
    crate::report::markdown::num(v)
}

/// `ms`, `%` or the unit as stored, for after a value.
pub fn unit_suffix(unit: Option<&str>) -> String {
    match unit.and_then(crate::query::unit_symbol) {
        Some("%") => "%".into(),
        Some(u) => format!(" {u}"),
        None => String::new(),
    }
}

/// `<=+10% (440) ✗, <600`: criteria, with the target value where it is not written in the
/// criterion (relative ones), violated ones marked ✗.
pub fn criteria_text(list: &[Criterion]) -> String {
    list.iter()
        .map(|c| {
            let mut s = c.criteria.clone();
            if let Some(t) = c.target
                && (c.criteria.contains('%') || !c.criteria.contains(&num(t)))
            {
                s.push_str(&format!(" ({})", num(t)));
            }
            if c.violated {
                s.push_str(" ✗");
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[path = "page_tests.rs"]
mod tests;
