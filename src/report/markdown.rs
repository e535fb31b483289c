//! The Markdown summary a CI run shows on its summary page: GitHub's `$GITHUB_STEP_SUMMARY` and
//! Azure DevOps' `##vso[task.uploadsummary]`. GitHub-flavoured Markdown: verdict heading, context,
//! one table row per objective, then why the failing ones failed.
//!
//! The wording shared by every renderer (names, values, baselines, violated targets) lives at the
//! end of this file so JUnit, HTML and the CI annotations explain a verdict the same way.

use chrono::{DateTime, Utc};

use crate::eval::gofmt::go_v;
use crate::eval::{BaselineKind, IndicatorResult, Status, TargetResult, Verdict};
use crate::model::criteria::Criterion;
use crate::report::Report;

/// Renders the summary. Deterministic; ends with a newline.
pub fn render(report: &Report) -> String {
    // Foreign text made safe, long decimals rounded: once, here.
    let report = &crate::report::for_people(report);
    let e = &report.evaluation;
    let mut out = match e.result {
        // No verdict: the cause comes first, a score would suggest one.
        Verdict::Error | Verdict::Invalid => format!("## slogate: {}\n\n", verdict_word(e.result)),
        _ => format!(
            "## slogate: {} — score {} / 100{}\n\n",
            verdict_word(e.result),
            num(e.score),
            crate::report::inconclusive_headline(&e.indicator_results)
                .map(|h| format!(" — {h}"))
                .unwrap_or_default()
        ),
    };
    if let Some(cause) = &e.error {
        out.push_str(&format!("**Cause:** {}\n\n", text(cause)));
    }
    // Keptn's message scores data that was not there: kept in the JSON only.
    if !e.message.is_empty() && e.result != Verdict::Error {
        out.push_str(&format!("> {}\n\n", text(&e.message)));
    }
    if let Some(invalid) = &e.invalid_input
        && invalid != &e.message
    {
        out.push_str(&format!("**Invalid input:** {}\n\n", text(invalid)));
    }
    let context = context_lines(report);
    if !context.is_empty() {
        for (label, value) in &context {
            out.push_str(&format!("- **{label}:** {value}\n"));
        }
        out.push('\n');
    }
    if !e.indicator_results.is_empty() {
        out.push_str(
            "| Objective | Status | Value | Baseline | Change | Pass | Warning | Score |\n",
        );
        out.push_str("| --- | --- | ---: | --- | ---: | --- | --- | ---: |\n");
        for r in &e.indicator_results {
            let cells = [
                objective_cell(r),
                match r.status {
                    _ if r.error.is_some() => {
                        format!("**{}**", no_verdict(r).map_or("error", |n| n.0))
                    }
                    Status::Fail | Status::Warning => format!("**{}**", status_word(r.status)),
                    _ => status_word(r.status).into(),
                },
                value_text(r),
                baseline_text(r),
                change_text(r).unwrap_or_else(|| "-".into()),
                targets_cell(r.pass_targets.as_deref(), r.error.is_none()),
                targets_cell(r.warning_targets.as_deref(), r.error.is_none()),
                score_text(r),
            ];
            out.push('|');
            for c in cells {
                out.push_str(&format!(" {} |", cell(&c)));
            }
            out.push('\n');
        }
        out.push('\n');
    }
    let flagged: Vec<&IndicatorResult> = e
        .indicator_results
        .iter()
        .filter(|r| r.error.is_some() || matches!(r.status, Status::Fail | Status::Warning))
        .collect();
    if !flagged.is_empty() {
        out.push_str("### Why\n\n");
        for r in flagged {
            if let Some((_, lead, error)) = no_verdict(r) {
                out.push_str(&format!(
                    "- **{}** ({}): {lead}: {}\n",
                    text(objective_name(r)),
                    code(&r.value.metric),
                    text(error)
                ));
                if let Some(q) = &r.query {
                    out.push_str(&format!("  - {}: {}\n", r.query_label(), code(q)));
                }
                if let Some(t) = &r.tile {
                    out.push_str(&format!("  - from {}\n", text(&t.describe())));
                }
                continue;
            }
            out.push_str(&format!(
                "- **{}** ({}{}): {}",
                text(objective_name(r)),
                code(&r.value.metric),
                if r.key_sli { ", key SLI" } else { "" },
                status_word(r.status),
            ));
            if r.value.success && r.value.value.is_some() {
                out.push_str(&format!(", value {}", value_text(r)));
            }
            if r.baseline != BaselineKind::None {
                out.push_str(&format!(", baseline {}", baseline_text(r)));
            }
            if let Some(c) = change_text(r) {
                out.push_str(&format!(", change {c}"));
            }
            out.push('\n');
            for reason in reasons(r) {
                let line = match reason {
                    Reason::NoValue(_) => text(&reason.plain(r)),
                    Reason::Violated {
                        kind,
                        criteria,
                        target,
                    } => match target {
                        Some(t) => format!(
                            "{kind} criterion {} violated: value {} vs target {}",
                            code(criteria),
                            value_text(r),
                            num(t)
                        ),
                        None => format!(
                            "{kind} criterion {} violated: no baseline to compare with",
                            code(criteria)
                        ),
                    },
                };
                out.push_str(&format!("  - {line}\n"));
            }
            for n in &r.notes {
                out.push_str(&format!("  - note: {}\n", text(n)));
            }
            if let Some(q) = &r.query {
                out.push_str(&format!("  - {}: {}\n", r.query_label(), code(q)));
            }
            if let Some(t) = &r.tile {
                out.push_str(&format!("  - from {}\n", text(&t.describe())));
            }
        }
        out.push('\n');
    }
    if let Some(h) = crate::report::judge_heading(&e.indicator_results) {
        let mut h = h;
        if let Some(first) = h.get(0..1) {
            h = first.to_uppercase() + &h[1..];
        }
        out.push_str(&format!("### {h}\n\n"));
        for l in crate::report::judge_lines(&e.indicator_results) {
            out.push_str(&format!("- {}\n", text(&l)));
        }
        out.push('\n');
    }
    let noted = crate::report::noted(&e.indicator_results);
    if !noted.is_empty() {
        out.push_str("### Notes\n\n");
        for r in noted {
            for n in &r.notes {
                out.push_str(&format!(
                    "- **{}** ({}): {}\n",
                    text(objective_name(r)),
                    code(&r.value.metric),
                    text(n)
                ));
            }
        }
        out.push('\n');
    }
    if let Some(c) = &report.context {
        out.push_str(&in_the_windows(c));
    }
    out.push_str(&format!(
        "Evaluated by {} {} with {}",
        text(&report.tool.name),
        text(&report.tool.version),
        report
            .slo
            .files
            .iter()
            .map(|f| code(f))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    if let Some(s) = &report.source {
        out.push_str(&format!(" against {}", text(&s.url)));
    }
    out.push_str(".\n");
    out
}

/// `(label, already-escaped Markdown)` lines: who, when, against what.
fn context_lines(report: &Report) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    if let Some(s) = &report.service {
        let mut v = text(s);
        if let Some(st) = &report.stage {
            v.push_str(&format!(" · stage {}", text(st)));
        }
        if let Some(p) = &report.project {
            v.push_str(&format!(" · project {}", text(p)));
        }
        lines.push(("Service", v));
    }
    if let (Some(a), Some(b)) = (&report.time_start, &report.time_end) {
        lines.push(("Window", text(&span(a, b))));
    }
    if let Some(d) = &report.deployment {
        lines.push((anchor_label(d), text(&deployment_text(d))));
    }
    if let Some(b) = baseline_line(report) {
        lines.push(("Baseline", text(&b)));
    }
    let t = thresholds(report);
    if !t.is_empty() {
        lines.push(("Thresholds", text(&t.join(", "))));
    }
    if let Some(p) = &report.pipeline {
        let name = p.name.clone().unwrap_or_else(|| format!("{} run", p.ci));
        let mut v = match p.url.as_deref().filter(|u| is_web_url(u)) {
            Some(u) => format!(
                "[{}]({})",
                text(&name),
                u.replace('(', "%28").replace(')', "%29")
            ),
            None => text(&name),
        };
        if let Some(c) = &p.commit {
            v.push_str(&format!(" · commit {}", code(c)));
        }
        lines.push(("Pipeline", v));
    }
    if let Some(d) = &report.release_dashboard {
        let v = match d.link.as_deref().filter(|u| is_web_url(u)) {
            Some(u) => format!("[{}]({})", text(&d.name), link_url(u)),
            None => text(&d.name),
        };
        lines.push(("Dashboard", v));
    }
    lines
}

fn objective_cell(r: &IndicatorResult) -> String {
    let mut s = text(objective_name(r));
    if r.key_sli {
        s.push_str(" (key)");
    }
    s
}

fn targets_cell(targets: Option<&[TargetResult]>, evaluated: bool) -> String {
    match targets {
        None | Some([]) => "-".into(),
        Some(list) => list
            .iter()
            .map(|t| {
                format!(
                    "{} {}",
                    code(&t.criteria),
                    match (evaluated, t.violated) {
                        (false, _) => "(not evaluated)",
                        (true, true) => "✗",
                        (true, false) => "✓",
                    }
                )
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Problems and other changes in the windows, with links into Dynatrace.
fn in_the_windows(c: &crate::context::Context) -> String {
    use crate::report::context::{policy_line, sections};
    let mut out = String::new();
    if let Some(p) = policy_line(c) {
        out.push_str(&format!("> **{}**\n\n", text(&p)));
    }
    for s in sections(c) {
        out.push_str(&format!("### {}\n\n", text(&s.title)));
        if let Some(st) = &s.status {
            out.push_str(&format!("{}.\n\n", text(st)));
            continue;
        }
        for i in &s.items {
            let lead = match &i.link {
                Some(l) => format!("[{}]({})", text(&i.lead), link_url(l)),
                None => text(&i.lead),
            };
            let what = i
                .what
                .as_ref()
                .map(|w| format!(" {}", code(w)))
                .unwrap_or_default();
            let new = if i.new { "**new** " } else { "" };
            out.push_str(&format!("- {new}{lead}{what} {}\n", text(&i.rest)));
        }
        out.push('\n');
    }
    if let Some(l) = &c.service_link {
        out.push_str(&format!(
            "[The service in Dynatrace]({}) over both windows.\n\n",
            link_url(l)
        ));
    }
    out
}

/// A URL inside `(...)`: characters that would end or break the link destination are
/// percent-encoded.
pub(crate) fn link_url(u: &str) -> String {
    let mut out = String::with_capacity(u.len());
    for c in u.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '"' => out.push_str("%22"),
            '\\' => out.push_str("%5C"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A table cell: pipes escaped (GFM splits cells before it parses code spans), no line breaks.
pub(crate) fn cell(s: &str) -> String {
    s.replace(['\r', '\n'], " ").replace('|', "\\|")
}

/// Plain text as Markdown: characters that could start emphasis, links, HTML or strike-through
/// are backslash-escaped; line breaks become spaces.
pub(crate) fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '~' | '&' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A code span that holds `s` verbatim, whatever backticks it contains.
pub(crate) fn code(s: &str) -> String {
    let s = s.replace(['\r', '\n'], " ");
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = s.starts_with('`') || s.ends_with('`') || (s.starts_with(' ') && s.ends_with(' '));
    if pad {
        format!("{fence} {s} {fence}")
    } else {
        format!("{fence}{s}{fence}")
    }
}

// ---- Wording shared by the renderers ----------------------------------------------------------

/// `PASS`, `WARNING`, `FAIL`.
pub(crate) fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Warning => "WARNING",
        Verdict::Fail => "FAIL",
        Verdict::Error => "COULD NOT EVALUATE",
        Verdict::Invalid => "INVALID INPUT",
    }
}

pub(crate) fn status_word(s: Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::Warning => "warning",
        Status::Fail => "fail",
        Status::Info => "info",
    }
}

/// An objective without a verdict: `("invalid", "configuration error", cause)` for a typo or a
/// query its source refused as malformed, `("error", "could not evaluate", cause)` when its data
/// could not be fetched; `None` for a scored objective.
pub(crate) fn no_verdict(r: &IndicatorResult) -> Option<(&'static str, &'static str, &str)> {
    let e = r.error.as_deref()?;
    Some(match e.strip_prefix(crate::eval::CONFIGURATION_ERROR) {
        Some(cause) => ("invalid", "configuration error", cause),
        None => ("error", "could not evaluate", e),
    })
}

/// The objective's display name, or its SLI when it has none.
pub(crate) fn objective_name(r: &IndicatorResult) -> &str {
    if r.display_name.is_empty() {
        &r.value.metric
    } else {
        &r.display_name
    }
}

/// A number for people: at most 4 decimals, Go's `%v` form (reports keep full precision).
pub(crate) fn num(v: f64) -> String {
    go_v(round_for_people(v))
}

/// Rounds for display only (the JSON report keeps full precision): 4 significant digits, but
/// never into the integer part (12345.6 shows as 12346, not 12350).
pub(crate) fn round_for_people(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() || v.abs() >= 1e15 {
        return v;
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(0, 12);
    let scale = 10f64.powi(decimals);
    let r = (v * scale).round() / scale;
    if r.is_finite() { r } else { v }
}

/// Every decimal number in `text` with five or more digits after the point (`66.66666666666666`,
/// `400000.000000`) rounded as [`num`] does; other numbers (versions, ids, times, `0.5`) as
/// they are.
pub(crate) fn round_numbers(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        let starts =
            b[i].is_ascii_digit() && (i == 0 || !(b[i - 1].is_ascii_digit() || b[i - 1] == b'.'));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let int_end = j;
        if j + 1 < b.len() && b[j] == b'.' && b[j + 1].is_ascii_digit() {
            j += 1;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
        }
        let decimals = j.saturating_sub(int_end + 1);
        // Part of a dotted sequence (1.2.3, an address): left alone.
        let dotted = j + 1 < b.len() && b[j] == b'.' && b[j + 1].is_ascii_digit();
        if decimals >= 5
            && !dotted
            && let Ok(v) = text[i..j].parse::<f64>()
        {
            out.push_str(&text[copied..i]);
            out.push_str(&num(v));
            copied = j;
        }
        i = j.max(i + 1);
    }
    out.push_str(&text[copied..]);
    out
}

/// The measured value, or `no value` when the provider delivered none (or an unsuccessful one).
pub(crate) fn value_text(r: &IndicatorResult) -> String {
    match (r.value.success, r.value.value) {
        (true, Some(v)) => format!("{}{}{}", num(v), unit_suffix(r), readable(r, v)),
        _ => "no value".into(),
    }
}

/// ` (349.2 ms)` after a value of `349181 µs`: Dynatrace's charts scale microseconds to
/// milliseconds, so a dashboard tile's people think in ms. Scoring keeps the metric's unit.
fn readable(r: &IndicatorResult, v: f64) -> String {
    match r.unit.as_deref() {
        Some("MicroSecond") if v.abs() >= 1000.0 => format!(" ({} ms)", num(v / 1000.0)),
        _ => String::new(),
    }
}

/// ` ms`, `%` (no space before a percent sign), or nothing.
pub(crate) fn unit_suffix(r: &IndicatorResult) -> String {
    match r.unit.as_deref().and_then(crate::query::unit_symbol) {
        Some("%") => "%".into(),
        Some(u) => format!(" {u}"),
        None => String::new(),
    }
}

/// `540 (avg of 3)`, `500 (before)`, `500 (control)` or `none`.
pub(crate) fn baseline_text(r: &IndicatorResult) -> String {
    match r.baseline {
        BaselineKind::History => format!(
            "{}{} ({} of {})",
            num(r.baseline_shown()),
            unit_suffix(r),
            r.baseline_aggregate,
            r.baseline_count
        ),
        BaselineKind::Window => format!("{}{} (before)", num(r.baseline_shown()), unit_suffix(r)),
        BaselineKind::Control => format!("{}{} (control)", num(r.baseline_shown()), unit_suffix(r)),
        BaselineKind::None => "none".into(),
    }
}

/// `+50.4%`, one decimal, when there is a change.
pub(crate) fn change_text(r: &IndicatorResult) -> Option<String> {
    r.change_percent.map(|c| {
        format!(
            "{}{}%",
            if c >= 0.0 { "+" } else { "" },
            go_v((c * 100.0).round() / 100.0)
        )
    })
}

/// `0.5/1`, or `-` for an informational objective.
pub(crate) fn score_text(r: &IndicatorResult) -> String {
    if r.error.is_some() {
        // Keptn scores it 0, but nothing was measured: "0/2" would read as violated.
        "not evaluated".into()
    } else if r.status == Status::Info {
        "-".into()
    } else {
        format!("{}/{}", num(r.score), r.weight)
    }
}

/// `pass ≥ 90%`, `warning ≥ 75%` as the SLO wrote them.
pub(crate) fn thresholds(report: &Report) -> Vec<String> {
    let mut t = Vec::new();
    if let Some(p) = &report.slo.pass_threshold {
        t.push(format!("pass ≥ {p}"));
    }
    if let Some(w) = &report.slo.warning_threshold {
        t.push(format!("warning ≥ {w}"));
    }
    t
}

/// Why an objective is not `pass`, one reason per violated target.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Reason<'a> {
    /// The provider delivered no (successful) value; its message.
    NoValue(&'a str),
    /// A violated criterion: `kind` is `pass` or `warning`; `target` is `None` for a relative
    /// criterion that had no baseline to be computed from.
    Violated {
        kind: &'static str,
        criteria: &'a str,
        target: Option<f64>,
    },
}

impl Reason<'_> {
    /// The reason as one line of plain text.
    pub(crate) fn plain(&self, r: &IndicatorResult) -> String {
        match self {
            Reason::NoValue("") => "no value received".into(),
            Reason::NoValue(m) => format!("no value: {m}"),
            Reason::Violated {
                kind,
                criteria,
                target: Some(t),
            } => format!(
                "{kind} criterion {criteria} violated: value {} vs target {}",
                value_text(r),
                num(*t)
            ),
            Reason::Violated { kind, criteria, .. } => {
                format!("{kind} criterion {criteria} violated: no baseline to compare with")
            }
        }
    }
}

/// The reasons of a `fail` or `warning` objective (none for `pass` and `info`): no value, or
/// the violated pass criteria and, for `fail`, the violated warning criteria.
pub(crate) fn reasons(r: &IndicatorResult) -> Vec<Reason<'_>> {
    if !matches!(r.status, Status::Fail | Status::Warning) {
        return Vec::new();
    }
    if !r.value.success || r.value.value.is_none() {
        return vec![Reason::NoValue(&r.value.message)];
    }
    let mut out = violated(r, "pass", r.pass_targets.as_deref());
    if r.status == Status::Fail {
        out.extend(violated(r, "warning", r.warning_targets.as_deref()));
    }
    out
}

fn violated<'a>(
    r: &'a IndicatorResult,
    kind: &'static str,
    targets: Option<&'a [TargetResult]>,
) -> Vec<Reason<'a>> {
    let relative = |t: &TargetResult| Criterion::parse(&t.criteria).is_ok_and(|c| c.is_relative());
    targets
        .unwrap_or_default()
        .iter()
        .filter(|t| t.violated)
        .map(|t| Reason::Violated {
            kind,
            criteria: &t.criteria,
            target: (r.baseline != BaselineKind::None || !relative(t)).then_some(t.target_value),
        })
        .collect()
}

/// `2026-11-17 10:00 UTC` from RFC 3339 (seconds shown when not zero); the input as is when it
/// does not parse.
pub(crate) fn when(s: &str) -> String {
    match parse_time(s) {
        Some(t) if t.timestamp() % 60 == 0 => t.format("%Y-%m-%d %H:%M UTC").to_string(),
        Some(t) => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        None => s.to_string(),
    }
}

/// `2026-11-17 10:00 → 10:30 UTC`; both dates when they differ.
pub(crate) fn span(from: &str, to: &str) -> String {
    match (parse_time(from), parse_time(to)) {
        (Some(a), Some(b)) => {
            let clock = |t: DateTime<Utc>| {
                if t.timestamp() % 60 == 0 {
                    t.format("%H:%M").to_string()
                } else {
                    t.format("%H:%M:%S").to_string()
                }
            };
            if a.date_naive() == b.date_naive() {
                format!("{} {} → {} UTC", a.format("%Y-%m-%d"), clock(a), clock(b))
            } else {
                format!(
                    "{} {} → {} {} UTC",
                    a.format("%Y-%m-%d"),
                    clock(a),
                    b.format("%Y-%m-%d"),
                    clock(b)
                )
            }
        }
        _ => format!("{from} → {to}"),
    }
}

pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `2026-11-17 10:00 UTC · version 1.4.2 · Deploy checkout 1.4.2 (Dynatrace event)`.
pub(crate) fn deployment_text(d: &crate::report::json::DeploymentInfo) -> String {
    let mut s = when(&d.time);
    if let Some(v) = &d.version {
        s.push_str(&format!(" · version {v}"));
    }
    if let Some(t) = &d.title {
        s.push_str(&format!(" · {t}"));
    }
    match (d.source.as_str(), d.event_type.as_deref()) {
        // A flag flip or configuration change anchored the windows: say which kind of event.
        ("event", Some(t)) if t != "CUSTOM_DEPLOYMENT" => {
            s.push_str(&format!(" (Dynatrace {t} event)"))
        }
        ("event", _) => s.push_str(" (Dynatrace event)"),
        ("flag", _) => s.push_str(" (--deployment-time)"),
        _ => {}
    }
    s
}

/// The label of the anchor line: `Deployment`, or `Anchor` when a configuration change or flag
/// flip anchored the windows.
pub(crate) fn anchor_label(d: &crate::report::json::DeploymentInfo) -> &'static str {
    match d.event_type.as_deref() {
        Some(t) if t != "CUSTOM_DEPLOYMENT" => "Anchor",
        _ => "Deployment",
    }
}

/// What the relative criteria compared with, when anything.
pub(crate) fn baseline_line(report: &Report) -> Option<String> {
    if let Some(b) = &report.baseline_selection {
        return Some(b.reason.clone());
    }
    if let Some(w) = &report.baseline_window {
        return Some(format!(
            "{}, the window before the deployment",
            span(&w.time_start, &w.time_end)
        ));
    }
    let n = report.evaluation.compared_events.len();
    (n > 0).then(|| {
        format!(
            "{} of {n} previous evaluation{}",
            report.slo.comparison.aggregate_function,
            if n == 1 { "" } else { "s" }
        )
    })
}

/// Only `http(s)` links are rendered as links (a report could carry `javascript:`).
pub(crate) fn is_web_url(u: &str) -> bool {
    (u.starts_with("https://") || u.starts_with("http://"))
        && !u.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn microseconds_also_read_as_milliseconds() {
        let mut r = fixtures::passing().evaluation.indicator_results[0].clone();
        r.value.value = Some(349181.0);
        r.value.success = true;
        r.unit = Some("MicroSecond".into());
        assert_eq!(value_text(&r), "349181 µs (349.2 ms)");
        r.value.value = Some(999.0);
        assert_eq!(value_text(&r), "999 µs");
    }

    #[test]
    fn long_decimals_in_messages_are_rounded_for_people() {
        for (text, want) in [
            (
                "the calculated score of 66.66666666666666 is below",
                "the calculated score of 66.67 is below",
            ),
            ("85.71428571428571 is close to 90", "85.71 is close to 90"),
            (">=0.000000 <400000.000000", ">=0 <400000"),
            ("<=+10.000000%", "<=+10%"),
            (
                "v1.2.34567 at 10.0.0.1 score 0.5 id 123456",
                "v1.2.34567 at 10.0.0.1 score 0.5 id 123456",
            ),
            ("-0.123456789", "-0.1235"),
        ] {
            assert_eq!(round_numbers(text), want, "{text}");
        }
    }

    #[test]
    fn snapshots() {
        for (name, report) in fixtures::all() {
            insta::assert_snapshot!(format!("markdown_{name}"), render(&report));
        }
    }

    #[test]
    fn table_cells_escape_pipes_everywhere() {
        assert_eq!(cell("a|b"), "a\\|b");
        // inside a code span too: GFM splits the row first
        assert_eq!(cell(&code("x|y")), "`x\\|y`");
        let md = render(&fixtures::failing_key());
        let row = md
            .lines()
            .find(|l| l.contains("timeouts"))
            .expect("the row of the escaped objective");
        assert!(
            row.contains("Errors \\<5xx\\> \\& \"timeouts\" \\| 'all'"),
            "{row}"
        );
        // 8 cells: 9 unescaped pipes
        let unescaped = row
            .match_indices('|')
            .filter(|(i, _)| *i == 0 || &row[i - 1..*i] != "\\");
        assert_eq!(unescaped.count(), 9, "{row}");
    }

    #[test]
    fn code_spans_hold_backticks() {
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`a"), "`` `a ``");
        assert_eq!(code("x\ny"), "`x y`");
    }

    #[test]
    fn heading_says_verdict_and_score() {
        let md = render(&fixtures::relative_window());
        assert!(
            md.starts_with("## slogate: FAIL — score 66.67 / 100\n"),
            "{md}"
        );
    }
}
