//! The work of `slogate history`, whatever the store: listing, showing, invalidating, exporting
//! and importing evaluations through the [`History`] trait, and the text the command prints.
//! The command only turns flags into these calls.

use std::io::Write;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    History, HistoryError, ImportSummary, Imported, ListFilter, Lookup, StoredEvaluation, Summary,
};
use crate::report;

/// How `list` and `show` print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

fn input(code: &'static str, _what: &str, message: String, help: &str) -> HistoryError {
    HistoryError::Input {
        code,
        message,
        help: help.to_string(),
    }
}

/// `list`: the records matching `filter`; no store yet is an empty list.
pub fn list(
    store: Option<&dyn History>,
    filter: &ListFilter,
    format: Format,
) -> Result<String, HistoryError> {
    let found = match store {
        Some(s) => s.list(filter)?,
        None => Vec::new(),
    };
    Ok(match format {
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&found).unwrap_or_else(|_| "[]".into())
        ),
        Format::Text => list_text(&found),
    })
}

/// The full id of `id` (an id, an earlier run's id or a unique prefix) in `store`, which is
/// `place` in messages.
fn find(store: Option<&dyn History>, id: &str, place: &str) -> Result<String, HistoryError> {
    let Some(store) = store else {
        return Err(input(
            "slogate::unknown-evaluation",
            "",
            format!(
                "no stored evaluation has the id `{id}`: the history store {place} does not exist yet"
            ),
            "check --history, $SLOGATE_HISTORY and --config; `gate` creates the store on its first run",
        ));
    };
    match store.lookup(id)? {
        Lookup::Found(id) => Ok(id),
        Lookup::Unknown => Err(unknown_id(id, place)),
        Lookup::Ambiguous(ids) => Err(input(
            "slogate::unknown-evaluation",
            "",
            format!("`{id}` is the start of several ids: {}", ids.join(", ")),
            "give more characters of the id",
        )),
    }
}

fn unknown_id(id: &str, place: &str) -> HistoryError {
    input(
        "slogate::unknown-evaluation",
        "",
        format!("no stored evaluation has the id `{id}` in {place}"),
        "`slogate history list` shows the ids (check --history if the list is empty)",
    )
}

/// `show`: one record in full.
pub fn show(
    store: Option<&dyn History>,
    id: &str,
    place: &str,
    format: Format,
) -> Result<String, HistoryError> {
    let full = find(store, id, place)?;
    let Some(found) = store.map(|s| s.show(&full)).transpose()?.flatten() else {
        return Err(unknown_id(id, place));
    };
    Ok(match format {
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&found.export_line()).unwrap_or_default()
        ),
        Format::Text => show_text(&found),
    })
}

/// `invalidate`: marks a record "ignore for comparison".
pub fn invalidate(
    store: Option<&mut dyn History>,
    id: &str,
    reason: Option<&str>,
    place: &str,
    now: DateTime<Utc>,
) -> Result<String, HistoryError> {
    let full = find(store.as_deref(), id, place)?;
    let reason = reason.filter(|r| !r.trim().is_empty());
    let done = match store {
        Some(s) => s.invalidate(&full, reason, now)?,
        None => false,
    };
    if !done {
        return Err(unknown_id(id, place));
    }
    Ok(format!(
        "invalidated {full}: later evaluations no longer compare with it\n"
    ))
}

/// `pin`: marks a record as the known-good baseline of its service (`comparison: pinned`); an
/// invalidated record cannot be pinned.
pub fn pin(
    store: Option<&mut dyn History>,
    id: &str,
    reason: Option<&str>,
    place: &str,
    now: DateTime<Utc>,
) -> Result<String, HistoryError> {
    let full = find(store.as_deref(), id, place)?;
    let Some(store) = store else {
        return Err(unknown_id(id, place));
    };
    let Some(found) = store.show(&full)? else {
        return Err(unknown_id(id, place));
    };
    if found.summary.invalidated {
        return Err(input(
            "slogate::invalidated-evaluation",
            "",
            format!("{full} is invalidated (ignored for comparison): it cannot be the baseline"),
            "pin another evaluation (`slogate history list` shows them)",
        ));
    }
    let reason = reason.filter(|r| !r.trim().is_empty());
    if !store.pin(&full, reason, now)? {
        return Err(unknown_id(id, place));
    }
    let s = &found.summary;
    Ok(format!(
        "pinned {full} ({}, {}) as the known-good baseline of {}: `comparison: pinned` in slogate.yaml or `gate --baseline pinned` compares with it\n",
        s.result,
        s.time_end.as_deref().unwrap_or(&s.recorded_at),
        service_name(s)
    ))
}

/// `unpin`: removes the pin of a record.
pub fn unpin(
    store: Option<&mut dyn History>,
    id: &str,
    place: &str,
    now: DateTime<Utc>,
) -> Result<String, HistoryError> {
    let full = find(store.as_deref(), id, place)?;
    let done = match store {
        Some(s) => s.unpin(&full, now)?,
        None => false,
    };
    Ok(if done {
        format!("unpinned {full}: its service has no pinned baseline now\n")
    } else {
        format!("{full} was not pinned: nothing changed\n")
    })
}

/// `service checkout, stage production, project shop` (what is set).
pub fn service_name(s: &Summary) -> String {
    let mut sel = Vec::new();
    for (what, v) in [
        ("service", &s.service),
        ("stage", &s.stage),
        ("project", &s.project),
    ] {
        if !v.is_empty() {
            sel.push(format!("{what} {v}"));
        }
    }
    if sel.is_empty() {
        "evaluations without service".into()
    } else {
        sel.join(", ")
    }
}

/// `export`: every record as JSON lines, oldest first; nothing without a store.
pub fn export(store: Option<&dyn History>, out: &mut dyn Write) -> Result<usize, HistoryError> {
    match store {
        Some(s) => s.export(out),
        None => Ok(0),
    }
}

/// `import`: adds the documents; the line that says what happened.
pub fn import(
    store: &mut dyn History,
    docs: &[(String, Value)],
    place: &str,
    now: DateTime<Utc>,
) -> Result<String, HistoryError> {
    let outcomes = store.import_all(docs, now)?;
    Ok(import_line(&outcomes, place))
}

/// "imported 2 evaluations into PLACE; 1 rerun of a stored window; 1 already stored; ...".
pub fn import_line(outcomes: &[Imported], place: &str) -> String {
    let mut sum = ImportSummary::default();
    let mut waiting = 0;
    for o in outcomes {
        match o {
            Imported::Added(_) => sum.added += 1,
            Imported::Existing(_) => sum.existing += 1,
            Imported::Rerun { .. } => sum.reruns += 1,
            Imported::Invalidation { matched, .. } => {
                sum.invalidations += 1;
                if *matched == 0 {
                    waiting += 1;
                }
            }
        }
    }
    let mut line = format!(
        "imported {} evaluation{} into {place}",
        sum.added,
        plural(sum.added)
    );
    if sum.reruns > 0 {
        line.push_str(&format!(
            "; {} rerun{} of a stored window (merged into its record)",
            sum.reruns,
            plural(sum.reruns)
        ));
    }
    if sum.existing > 0 {
        line.push_str(&format!("; {} already stored", sum.existing));
    }
    if sum.invalidations > 0 {
        line.push_str(&format!(
            "; {} invalidation{}",
            sum.invalidations,
            plural(sum.invalidations)
        ));
        if waiting > 0 {
            line.push_str(&format!(" ({waiting} for evaluations not imported yet)"));
        }
    }
    line.push('\n');
    line
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Every document of every file, named `FILE` or `FILE#N` for messages.
pub fn read_documents(files: &[PathBuf]) -> Result<Vec<(String, Value)>, HistoryError> {
    let mut out = Vec::new();
    for path in files {
        let name = path.display().to_string();
        // Read through a limit: /dev/zero or a runaway pipe must not fill the memory. A Keptn
        // export of 10 000 evaluations is about 50 MiB.
        const MAX_IMPORT_BYTES: u64 = 256 * 1024 * 1024;
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|f| {
                std::io::Read::read_to_string(
                    &mut std::io::Read::take(f, MAX_IMPORT_BYTES + 1),
                    &mut text,
                )
            })
            .map_err(|e| {
                input(
                    "slogate::io",
                    "import",
                    format!("cannot read {name}: {e}"),
                    "give slogate JSON reports, `slogate history export` output, or Keptn events",
                )
            })?;
        if text.len() as u64 > MAX_IMPORT_BYTES {
            return Err(input(
                "slogate::file-too-large",
                "import",
                format!(
                    "{name} is larger than {} MiB",
                    MAX_IMPORT_BYTES / (1024 * 1024)
                ),
                "split the export into several files",
            ));
        }
        let docs = super::documents(&text).map_err(|reason| {
            input(
                "slogate::bad-history-input",
                "import",
                format!("{name}: {reason}"),
                "give one JSON document, a JSON list, JSON lines, or Keptn's {\"events\": [...]}",
            )
        })?;
        let many = docs.len() > 1;
        for (i, doc) in docs.into_iter().enumerate() {
            let what = if many {
                format!("{name}#{}", i + 1)
            } else {
                name.clone()
            };
            out.push((what, doc));
        }
    }
    Ok(out)
}

fn score_text(score: Option<f64>) -> String {
    match score {
        None => "-".into(),
        Some(s) => {
            let t = format!("{s:.2}");
            t.trim_end_matches('0').trim_end_matches('.').to_string()
        }
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

/// One row per evaluation under a header; invalidated ones say so after their result.
pub fn list_text(list: &[Summary]) -> String {
    if list.is_empty() {
        return "no stored evaluations\n".into();
    }
    let header = [
        "ID",
        "WINDOW END",
        "PROJECT",
        "STAGE",
        "SERVICE",
        "RESULT",
        "SCORE",
        "RUNS",
    ]
    .map(String::from);
    let rows: Vec<[String; 8]> = list
        .iter()
        .map(|s| {
            [
                s.id.clone(),
                s.time_end.clone().unwrap_or_else(|| "-".into()),
                or_dash(&s.project).into(),
                or_dash(&s.stage).into(),
                or_dash(&s.service).into(),
                match (s.invalidated, s.pinned()) {
                    (true, true) => format!("{} (invalidated, pinned)", s.result),
                    (true, false) => format!("{} (invalidated)", s.result),
                    (false, true) => format!("{} (pinned)", s.result),
                    (false, false) => s.result.clone(),
                },
                score_text(s.score),
                s.runs.to_string(),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The history fields, then the report as `score`/`gate` print it (or a Keptn event's values).
pub fn show_text(found: &StoredEvaluation) -> String {
    let s = &found.summary;
    let mut out = format!("evaluation {}\n", s.id);
    out.push_str(&format!("recorded   {}", s.recorded_at));
    if let Some(tool) = &s.tool {
        out.push_str(&format!(" by {tool}"));
    }
    out.push('\n');
    if s.runs > 1 {
        out.push_str(&format!(
            "runs       {} of this window (the newest is shown; earlier: {})\n",
            s.runs,
            if found.earlier_run_ids.is_empty() {
                "-".to_string()
            } else {
                found.earlier_run_ids.join(", ")
            }
        ));
    }
    if s.time_start.is_some() || s.time_end.is_some() {
        out.push_str(&format!(
            "window     {} to {}\n",
            s.time_start.as_deref().unwrap_or("?"),
            s.time_end.as_deref().unwrap_or("?")
        ));
    }
    if !s.labels.is_empty() {
        let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out.push_str(&format!("labels     {}\n", labels.join(", ")));
    }
    if let Some(at) = &s.invalidated_at {
        out.push_str(&format!(
            "INVALIDATED {at}{}: not used for comparison\n",
            s.invalidated_reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ));
    }
    if let Some(at) = &s.pinned_at {
        out.push_str(&format!(
            "PINNED     {at}{}: the baseline of `comparison: pinned`\n",
            s.pinned_reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ));
    }
    out.push('\n');
    if let Some(report) = found.report() {
        out.push_str(&report::text::render(&report));
        return out;
    }
    out.push_str(&format!(
        "{}  score {}\n",
        s.result.to_uppercase(),
        score_text(s.score)
    ));
    let mut sel = Vec::new();
    for (what, v) in [
        ("service", &s.service),
        ("stage", &s.stage),
        ("project", &s.project),
    ] {
        if !v.is_empty() {
            sel.push(format!("{what} {v}"));
        }
    }
    if !sel.is_empty() {
        out.push_str(&sel.join(", "));
        out.push('\n');
    }
    if !found.indicators.is_empty() {
        out.push('\n');
        let width = found
            .indicators
            .iter()
            .map(|i| i.metric.chars().count())
            .max()
            .unwrap_or(0)
            .max("METRIC".len());
        out.push_str(&format!("{:<width$}  VALUE\n", "METRIC"));
        for i in &found.indicators {
            let value = match (i.value, i.success) {
                (Some(v), true) => crate::eval::gofmt::go_v(v),
                (_, _) if !i.message.is_empty() => format!("no value: {}", i.message),
                _ => "no value".into(),
            };
            out.push_str(&format!("{:<width$}  {value}\n", i.metric));
        }
    }
    out
}
