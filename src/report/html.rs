//! A single self-contained HTML page to attach to a pipeline run: verdict, objectives, why, and
//! for every SLI with a time series a chart of before vs after the deployment. No scripts, no
//! external assets, no fonts to fetch: inline CSS and inline SVG drawn here, so the file opens
//! anywhere, offline, years later. Deterministic (no random ids, no clock).

use crate::eval::{BaselineKind, IndicatorResult, Status, TargetResult, Verdict};
use crate::model::criteria::Criterion;
use crate::report::Report;
use crate::report::json::Series;
use crate::report::markdown::{
    Reason, baseline_line, baseline_text, change_text, deployment_text, is_web_url, no_verdict,
    num, objective_name, parse_time, reasons, score_text, span, status_word, thresholds,
    unit_suffix, value_text, verdict_word,
};

const STYLE: &str = r#"
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #ffffff;
  --soft: #f6f8fa; --pass: #1a7f37; --pass-bg: #dafbe1; --warn: #9a6700; --warn-bg: #fff8c5;
  --fail: #cf222e; --fail-bg: #ffebe9; --info: #59636e; --info-bg: #eff2f5; --accent: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 20px 40px; }
h1 { font-size: 24px; margin: 0; }
h2 { font-size: 18px; margin: 32px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--soft);
  padding: 1px 5px; border-radius: 4px; overflow-wrap: anywhere; }
.muted { color: var(--muted); font-weight: normal; }
.hero { display: flex; gap: 20px; align-items: center; padding: 20px; border-radius: 10px;
  border: 1px solid var(--line); border-left-width: 8px; }
.hero.pass { border-left-color: var(--pass); } .hero.warning { border-left-color: var(--warn); }
.hero.fail { border-left-color: var(--fail); }
.hero.error, .hero.invalid { border-left-color: var(--info); }
.verdict { font-size: 22px; font-weight: 700; letter-spacing: .04em; padding: 8px 16px; border-radius: 8px; }
.score { font-size: 16px; margin: 4px 0 0; }
.score strong { font-size: 22px; }
.message { margin: 8px 0 0; }
.badge { display: inline-block; font-size: 12px; font-weight: 600; padding: 1px 8px; border-radius: 999px; white-space: nowrap; }
.pass .verdict, .badge.pass { color: var(--pass); background: var(--pass-bg); }
.warning .verdict, .badge.warning { color: var(--warn); background: var(--warn-bg); }
.fail .verdict, .badge.fail { color: var(--fail); background: var(--fail-bg); }
.badge.info { color: var(--info); background: var(--info-bg); }
.error .verdict, .invalid .verdict, .badge.error, .badge.invalid { color: var(--info); background: var(--info-bg); }
/* Long unbroken text (a query, a URL) may break anywhere; words and names only between words. */
.message, li, td { overflow-wrap: break-word; word-break: normal; hyphens: none; }
td:first-child { min-width: 12em; }
.key { font-size: 11px; color: var(--muted); border: 1px solid var(--line); border-radius: 4px; padding: 0 4px; margin-left: 4px; }
dl.context { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 20px 0 0; }
dl.context dt { color: var(--muted); } dl.context dd { margin: 0; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; white-space: nowrap; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.ok { color: var(--pass); } .violated { color: var(--fail); font-weight: 600; }
.crit { white-space: nowrap; margin-right: 8px; }
ul.why > li { margin-bottom: 10px; } ul.why ul { margin: 4px 0 0; padding-left: 20px; }
figure.chart { margin: 0 0 28px; padding: 16px; border: 1px solid var(--line); border-radius: 10px; }
figure.chart figcaption { font-weight: 600; margin-bottom: 8px; }
svg { width: 100%; height: auto; display: block; font-size: 11px;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
svg .win-before { fill: #eef1f5; } svg .win-after { fill: #fff4e0; }
svg .ci { fill: #1f6feb; fill-opacity: 0.18; stroke: #1f6feb; stroke-opacity: 0.5; stroke-dasharray: 3 2; }
svg .ci-label { fill: #1f6feb; font-size: 11px; }
p.judge { margin: .25rem 0 0; font-size: .9rem; }
svg .win-label { fill: var(--muted); font-size: 12px; font-weight: 600; }
svg .grid { stroke: #e6eaef; stroke-width: 1; } svg .axis { stroke: #8c959f; stroke-width: 1; }
svg .tick { fill: var(--muted); }
svg .series { fill: none; stroke: var(--accent); stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
svg .point { fill: var(--accent); }
svg .level { stroke: var(--accent); stroke-width: 6; stroke-opacity: .22; stroke-linecap: butt; }
svg .level-label { fill: var(--accent); }
svg .target-pass { stroke: var(--pass); stroke-width: 1.5; stroke-dasharray: 6 4; }
svg .target-warning { stroke: var(--warn); stroke-width: 1.5; stroke-dasharray: 2 3; }
svg .label-pass { fill: var(--pass); } svg .label-warning { fill: var(--warn); }
svg .level-label, svg .label-pass, svg .label-warning, svg .deploy-label {
  paint-order: stroke; stroke: #ffffff; stroke-width: 3px; stroke-linejoin: round; }
svg .deploy { stroke: #6e40c9; stroke-width: 1.5; stroke-dasharray: 4 3; } svg .deploy-label { fill: #6e40c9; font-weight: 600; }
p.summary { margin: 8px 0 0; color: var(--muted); font-size: 13px; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
"#;

/// Renders the page. Deterministic; ends with a newline.
pub fn render(report: &Report) -> String {
    // Foreign text made safe, long decimals rounded: once, here.
    let report = &crate::report::for_people(report);
    let e = &report.evaluation;
    let verdict = verdict_word(e.result);
    let class = e.result.as_str();
    let subject = report
        .service
        .clone()
        .or_else(|| report.slo.files.last().cloned())
        .unwrap_or_else(|| "evaluation".into());
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!(
        "<title>slogate {verdict} — {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        esc(&subject)
    ));

    // Verdict.
    out.push_str(&format!(
        "<header class=\"hero {class}\">\n<div class=\"verdict\">{verdict}</div>\n<div>\n"
    ));
    let mut selector = Vec::new();
    if let Some(s) = &report.stage {
        selector.push(format!("stage {s}"));
    }
    if let Some(p) = &report.project {
        selector.push(format!("project {p}"));
    }
    out.push_str(&format!("<h1>{}", esc(&subject)));
    if !selector.is_empty() {
        out.push_str(&format!(
            " <span class=\"muted\">{}</span>",
            esc(&selector.join(" · "))
        ));
    }
    out.push_str("</h1>\n");
    if let Some(cause) = &e.error {
        // No verdict: the cause first, and no score that would suggest one.
        out.push_str(&format!(
            "<p class=\"message\"><strong>Cause:</strong> {}</p>\n",
            lines(cause)
        ));
    } else if e.result != Verdict::Invalid {
        out.push_str(&format!(
            "<p class=\"score\">score <strong>{}</strong> / 100",
            num(e.score)
        ));
        if let Some(h) = crate::report::inconclusive_headline(&e.indicator_results) {
            out.push_str(&format!(
                " · <strong class=\"inconclusive\">{}</strong>",
                esc(&h)
            ));
        }
        let t = thresholds(report);
        if !t.is_empty() {
            out.push_str(&format!(
                " <span class=\"muted\">({})</span>",
                esc(&t.join(", "))
            ));
        }
        out.push_str("</p>\n");
    }
    // Keptn's message scores data that was not there: kept in the JSON only.
    if !e.message.is_empty() && e.result != Verdict::Error {
        out.push_str(&format!("<p class=\"message\">{}</p>\n", lines(&e.message)));
    }
    if let Some(i) = &e.invalid_input
        && i != &e.message
    {
        out.push_str(&format!(
            "<p class=\"message\"><strong>Invalid input:</strong> {}</p>\n",
            esc(i)
        ));
    }
    out.push_str("</div>\n</header>\n");
    out.push_str(&context(report));

    // Objectives.
    if !e.indicator_results.is_empty() {
        out.push_str("<h2>Objectives</h2>\n<div class=\"table-wrap\">\n<table>\n<thead><tr><th>Objective</th><th>Status</th><th>Value</th><th>Baseline</th><th>Change</th><th>Pass</th><th>Warning</th><th>Score</th></tr></thead>\n<tbody>\n");
        for r in &e.indicator_results {
            out.push_str(&row(r));
        }
        out.push_str("</tbody>\n</table>\n</div>\n");
    }
    out.push_str(&why(report));
    if let Some(h) = crate::report::judge_heading(&e.indicator_results) {
        let h = h[..1].to_uppercase() + &h[1..];
        out.push_str(&format!("<h2>{}</h2>\n<ul class=\"judge\">\n", esc(&h)));
        for l in crate::report::judge_lines(&e.indicator_results) {
            out.push_str(&format!("<li>{}</li>\n", esc(&l)));
        }
        out.push_str("</ul>\n");
    }

    if let Some(c) = &report.context {
        out.push_str(&context_sections(c));
    }

    // Charts.
    let charts: Vec<String> = e
        .indicator_results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let s = report.series.iter().find(|s| s.metric == r.value.metric)?;
            Some(chart(report, r, s, i))
        })
        .collect();
    if !charts.is_empty() {
        out.push_str("<h2>Over time</h2>\n");
        for c in charts {
            out.push_str(&c);
        }
    }

    out.push_str(&format!(
        "<footer>Evaluated by {} {} with {} <span class=\"muted\">({})</span>",
        esc(&report.tool.name),
        esc(&report.tool.version),
        report
            .slo
            .files
            .iter()
            .map(|f| format!("<code>{}</code>", esc(f)))
            .collect::<Vec<_>>()
            .join(", "),
        esc(&report.slo.hash)
    ));
    if let Some(s) = &report.source {
        out.push_str(&format!(
            " against {} ({} request{}, {} retr{}).",
            esc(&s.url),
            s.requests,
            if s.requests == 1 { "" } else { "s" },
            s.retries,
            if s.retries == 1 { "y" } else { "ies" }
        ));
    } else {
        out.push('.');
    }
    out.push_str("</footer>\n</main>\n</body>\n</html>\n");
    out
}

fn context(report: &Report) -> String {
    let mut items: Vec<(&str, String)> = Vec::new();
    if let (Some(a), Some(b)) = (&report.time_start, &report.time_end) {
        items.push(("Window", esc(&span(a, b))));
    }
    if let Some(d) = &report.deployment {
        items.push((
            crate::report::markdown::anchor_label(d),
            esc(&deployment_text(d)),
        ));
    }
    if let Some(b) = baseline_line(report) {
        items.push(("Baseline", esc(&b)));
    }
    if let Some(p) = &report.pipeline {
        let name = p.name.clone().unwrap_or_else(|| format!("{} run", p.ci));
        let mut v = match p.url.as_deref().filter(|u| is_web_url(u)) {
            Some(u) => format!("<a href=\"{}\">{}</a>", esc(u), esc(&name)),
            None => esc(&name),
        };
        if let Some(c) = &p.commit {
            v.push_str(&format!(" · commit <code>{}</code>", esc(c)));
        }
        items.push(("Pipeline", v));
    }
    if let Some(id) = &report.result_event {
        items.push(("Result event", format!("<code>{}</code>", esc(id))));
    }
    if let Some(d) = &report.release_dashboard {
        let v = match d
            .link
            .as_deref()
            .filter(|u| crate::report::markdown::is_web_url(u))
        {
            Some(u) => format!(
                "<a href=\"{}\">{}</a>",
                esc(&crate::report::markdown::link_url(u)),
                esc(&d.name)
            ),
            None => esc(&d.name),
        };
        items.push(("Dashboard", v));
    }
    if items.is_empty() {
        return String::new();
    }
    let mut out = String::from("<dl class=\"context\">\n");
    for (k, v) in items {
        out.push_str(&format!("<dt>{k}</dt><dd>{v}</dd>\n"));
    }
    out.push_str("</dl>\n");
    out
}

fn badge(r: &IndicatorResult) -> String {
    let s = if let Some((word, ..)) = no_verdict(r) {
        word
    } else {
        status_word(r.status)
    };
    format!("<span class=\"badge {s}\">{s}</span>")
}

fn targets_cell(targets: Option<&[TargetResult]>, evaluated: bool) -> String {
    match targets {
        None | Some([]) => "-".into(),
        Some(list) => list
            .iter()
            .map(|t| {
                let (class, mark, title) = match (evaluated, t.violated) {
                    (false, _) => ("muted", "not evaluated", "not evaluated"),
                    (true, true) => ("violated", "✗", "violated"),
                    (true, false) => ("ok", "✓", "met"),
                };
                format!(
                    "<span class=\"crit\" title=\"{title}, target {}\"><code>{}</code> <span class=\"{class}\">{mark}</span></span>",
                    num(t.target_value),
                    esc(&t.criteria)
                )
            })
            .collect::<Vec<_>>()
            .join(""),
    }
}

fn row(r: &IndicatorResult) -> String {
    let mut name = esc(objective_name(r));
    if r.key_sli {
        name.push_str("<span class=\"key\">key</span>");
    }
    if !r.display_name.is_empty() && r.display_name != r.value.metric {
        name.push_str(&format!(
            "<br><span class=\"muted\"><code>{}</code></span>",
            esc(&r.value.metric)
        ));
    }
    format!(
        "<tr><td>{name}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>\n",
        badge(r),
        esc(&value_text(r)),
        esc(&baseline_text(r)),
        esc(&change_text(r).unwrap_or_else(|| "-".into())),
        targets_cell(r.pass_targets.as_deref(), r.error.is_none()),
        targets_cell(r.warning_targets.as_deref(), r.error.is_none()),
        esc(&score_text(r))
    )
}

/// Failing and warning objectives with their violated criteria, notes and query; then the notes
/// of the others.
fn why(report: &Report) -> String {
    let results = &report.evaluation.indicator_results;
    let mut out = String::new();
    let flagged: Vec<&IndicatorResult> = results
        .iter()
        .filter(|r| r.error.is_some() || matches!(r.status, Status::Fail | Status::Warning))
        .collect();
    if !flagged.is_empty() {
        out.push_str("<h2>Why</h2>\n<ul class=\"why\">\n");
        for r in flagged {
            if let Some((_, lead, error)) = no_verdict(r) {
                out.push_str(&format!(
                    "<li>{} <strong>{}</strong> <code>{}</code>: {lead}: {}\n<ul>\n",
                    badge(r),
                    esc(objective_name(r)),
                    esc(&r.value.metric),
                    lines(error)
                ));
                if let Some(q) = &r.query {
                    out.push_str(&format!(
                        "<li>{}: <code>{}</code></li>\n",
                        r.query_label(),
                        esc(q)
                    ));
                }
                if let Some(t) = &r.tile {
                    out.push_str(&format!("<li>from {}</li>\n", esc(&t.describe())));
                }
                out.push_str("</ul>\n</li>\n");
                continue;
            }
            let mut facts = Vec::new();
            if r.value.success && r.value.value.is_some() {
                facts.push(format!("value {}", esc(&value_text(r))));
            }
            if r.baseline != BaselineKind::None {
                facts.push(format!("baseline {}", esc(&baseline_text(r))));
            }
            out.push_str(&format!(
                "<li>{} <strong>{}</strong> <code>{}</code>{}{}{}",
                badge(r),
                esc(objective_name(r)),
                esc(&r.value.metric),
                if r.key_sli {
                    " <span class=\"key\">key</span>"
                } else {
                    ""
                },
                if facts.is_empty() { "" } else { ": " },
                facts.join(", ")
            ));
            if let Some(c) = change_text(r) {
                out.push_str(&format!(", change {}", esc(&c)));
            }
            out.push_str("\n<ul>\n");
            for reason in reasons(r) {
                let line = match &reason {
                    Reason::Violated {
                        kind,
                        criteria,
                        target,
                    } => match target {
                        Some(t) => format!(
                            "{kind} criterion <code>{}</code> violated: value {} vs target {}",
                            esc(criteria),
                            esc(&value_text(r)),
                            num(*t)
                        ),
                        None => format!(
                            "{kind} criterion <code>{}</code> violated: no baseline to compare with",
                            esc(criteria)
                        ),
                    },
                    Reason::NoValue(_) => lines(&reason.plain(r)),
                };
                out.push_str(&format!("<li>{line}</li>\n"));
            }
            for n in &r.notes {
                out.push_str(&format!("<li>note: {}</li>\n", lines(n)));
            }
            if let Some(q) = &r.query {
                out.push_str(&format!(
                    "<li>{}: <code>{}</code></li>\n",
                    r.query_label(),
                    esc(q)
                ));
            }
            if let Some(t) = &r.tile {
                out.push_str(&format!("<li>from {}</li>\n", esc(&t.describe())));
            }
            out.push_str("</ul>\n</li>\n");
        }
        out.push_str("</ul>\n");
    }
    let noted = crate::report::noted(results);
    if !noted.is_empty() {
        out.push_str("<h2>Notes</h2>\n<ul>\n");
        for r in noted {
            for n in &r.notes {
                out.push_str(&format!(
                    "<li><strong>{}</strong> <code>{}</code>: {}</li>\n",
                    esc(objective_name(r)),
                    esc(&r.value.metric),
                    esc(n)
                ));
            }
        }
        out.push_str("</ul>\n");
    }
    out
}

// ---- Charts -----------------------------------------------------------------------------------

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = WIDTH - 24.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = HEIGHT - 40.0;

/// A window of the chart: `(from, to)` in epoch milliseconds.
type Span = (i64, i64);

struct Windows {
    before: Option<Span>,
    after: Option<Span>,
    deployment: Option<i64>,
}

fn windows(report: &Report) -> Windows {
    let ms = |s: &str| parse_time(s).map(|t| t.timestamp_millis());
    let pair = |a: Option<&String>, b: Option<&String>| match (
        a.and_then(|a| ms(a)),
        b.and_then(|b| ms(b)),
    ) {
        (Some(a), Some(b)) if a < b => Some((a, b)),
        _ => None,
    };
    Windows {
        before: report
            .baseline_window
            .as_ref()
            .and_then(|w| pair(Some(&w.time_start), Some(&w.time_end))),
        after: pair(report.time_start.as_ref(), report.time_end.as_ref()),
        deployment: report.deployment.as_ref().and_then(|d| ms(&d.time)),
    }
}

/// A horizontal line: a pass or warning target, labelled with its criterion.
struct Rule {
    class: &'static str,
    label: String,
    value: f64,
}

/// The targets worth drawing: those with a real target value (not a relative criterion without
/// baseline, not the placeholders of an objective without value), each criterion once.
fn rules(r: &IndicatorResult) -> Vec<Rule> {
    if !r.value.success || r.value.value.is_none() {
        return Vec::new();
    }
    let mut out: Vec<Rule> = Vec::new();
    for (kind, targets) in [("pass", &r.pass_targets), ("warning", &r.warning_targets)] {
        for t in targets.iter().flatten() {
            let relative = Criterion::parse(&t.criteria).is_ok_and(|c| c.is_relative());
            if (relative && r.baseline == BaselineKind::None) || !t.target_value.is_finite() {
                continue;
            }
            let label = format!(
                "{kind} {} → {}{}",
                t.criteria,
                num(t.target_value),
                unit_suffix(r)
            );
            if out.iter().any(|o| o.label == label) {
                continue;
            }
            out.push(Rule {
                class: kind,
                label,
                value: t.target_value,
            });
        }
    }
    out
}

/// Min, average and max of the values whose slot ends in `(from, to]` (all when `None`), with
/// how many slots had no value.
fn stats(series: &Series, within: Option<Span>) -> Option<(f64, f64, f64, usize, usize)> {
    let mut vals = Vec::new();
    let mut missing = 0;
    for (t, v) in series.timestamps.iter().zip(&series.values) {
        if within.is_some_and(|(a, b)| *t <= a || *t > b) {
            continue;
        }
        match v {
            Some(v) if v.is_finite() => vals.push(*v),
            _ => missing += 1,
        }
    }
    if vals.is_empty() {
        return None;
    }
    let min = vals.iter().copied().fold(f64::INFINITY, f64::min);
    let max = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let avg = vals.iter().sum::<f64>() / vals.len() as f64;
    Some((min, avg, max, vals.len(), missing))
}

/// The text alternative of a chart: min/avg/max before and after.
/// For a total (`:sum`, `:count`): the running total within each window, starting again at each
/// window's start, so the last point of a window is that window's value and can be read
/// against the target. Points outside every window are left out. Timestamps are slot ends.
fn running_totals(
    points: &[(i64, Option<f64>)],
    windows: &[Option<Span>],
) -> Vec<(i64, Option<f64>)> {
    let mut out = Vec::new();
    for (a, b) in windows.iter().flatten() {
        let mut sum = 0.0;
        for (t, v) in points.iter().filter(|(t, _)| *t > *a && *t <= *b) {
            sum += v.unwrap_or(0.0);
            out.push((*t, Some(sum)));
        }
        // A gap after each window: the next one starts again at zero, not from this total.
        out.push((*b, None));
    }
    out.sort_by_key(|p| (p.0, p.1.is_none()));
    out
}

fn summary(series: &Series, w: &Windows) -> String {
    let describe = |label: &str, within: Option<Span>| -> String {
        let when = within
            .map(|(a, b)| format!(" ({})", span(&rfc3339(a), &rfc3339(b))))
            .unwrap_or_default();
        match stats(series, within) {
            Some((min, avg, max, n, missing)) => {
                let mut s = format!(
                    "{label}{when}: min {}, avg {}, max {} over {n} value{}",
                    num(min),
                    num(avg),
                    num(max),
                    if n == 1 { "" } else { "s" }
                );
                if missing > 0 {
                    s.push_str(&format!(", {missing} missing"));
                }
                s
            }
            None => format!("{label}{when}: no values"),
        }
    };
    match (w.before, w.after) {
        (Some(b), Some(a)) => format!(
            "{}. {}.",
            describe("Before", Some(b)),
            describe("After", Some(a))
        ),
        (None, Some(a)) => format!("{}.", describe("Evaluation window", Some(a))),
        (Some(b), None) => format!("{}.", describe("Before", Some(b))),
        (None, None) => format!("{}.", describe("Values", None)),
    }
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// Round, "nice" value ticks (1, 2 or 5 × 10ⁿ apart) covering `lo..=hi`.
fn value_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (lo, hi) = if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - pad, hi + pad)
    } else {
        (lo, hi)
    };
    let raw = (hi - lo) / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = match raw / mag {
        n if n <= 1.5 => mag,
        n if n <= 3.0 => 2.0 * mag,
        n if n <= 7.0 => 5.0 * mag,
        _ => 10.0 * mag,
    };
    let first = (lo / step).floor() as i64;
    let last = (hi / step).ceil() as i64;
    let decimals = (-step.log10().floor()).max(0.0) as i32;
    let scale = 10f64.powi(decimals);
    (first..=last)
        .map(|i| ((i as f64 * step) * scale).round() / scale)
        .collect()
}

/// Time ticks at round UTC minutes or hours, at most 7.
fn time_ticks(t0: i64, t1: i64) -> (Vec<i64>, &'static str) {
    const MINUTE: i64 = 60_000;
    let steps = [
        1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080,
    ];
    let step = steps
        .iter()
        .map(|m| m * MINUTE)
        .find(|s| (t1 - t0) / s <= 6)
        .unwrap_or(10080 * MINUTE);
    let format = if step >= 1440 * MINUTE {
        "%m-%d"
    } else if t1 - t0 > 1440 * MINUTE {
        "%m-%d %H:%M"
    } else {
        "%H:%M"
    };
    let first = t0.div_euclid(step) * step + if t0.rem_euclid(step) == 0 { 0 } else { step };
    let ticks = (0..)
        .map(|i| first + i * step)
        .take_while(|t| *t <= t1)
        .collect();
    (ticks, format)
}

fn f(v: f64) -> String {
    format!("{v:.1}")
}

fn chart(report: &Report, r: &IndicatorResult, series: &Series, index: usize) -> String {
    let w = windows(report);
    let mut points: Vec<(i64, Option<f64>)> = series
        .timestamps
        .iter()
        .zip(&series.values)
        .map(|(t, v)| (*t, v.filter(|v| v.is_finite())))
        .collect();
    if series.total {
        points = running_totals(&points, &[w.before, w.after]);
    }
    let rules = rules(r);
    let value = match (r.value.success, r.value.value) {
        (true, Some(v)) if v.is_finite() => Some(v),
        _ => None,
    };
    let baseline = (matches!(r.baseline, BaselineKind::Window | BaselineKind::Control)
        && r.baseline_shown().is_finite())
    .then_some(r.baseline_shown());

    // Domains.
    let mut times: Vec<i64> = points.iter().map(|p| p.0).collect();
    times.extend(w.before.iter().chain(&w.after).flat_map(|(a, b)| [*a, *b]));
    times.extend(w.deployment);
    let (mut t0, mut t1) = (
        times.iter().copied().min().unwrap_or(0),
        times.iter().copied().max().unwrap_or(0),
    );
    if t1 <= t0 {
        t0 -= 60_000;
        t1 += 60_000;
    }
    let mut vals: Vec<f64> = points.iter().filter_map(|p| p.1).collect();
    vals.extend(rules.iter().map(|r| r.value));
    vals.extend(interval(r).into_iter().flat_map(|(lo, hi, _)| [lo, hi]));
    vals.extend(value);
    vals.extend(baseline.filter(|_| w.before.is_some()));
    let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let ticks = value_ticks(lo, hi);
    let (v0, v1) = (
        ticks.first().copied().unwrap_or(lo),
        ticks.last().copied().unwrap_or(hi),
    );
    let x = |t: i64| LEFT + (t - t0) as f64 / (t1 - t0) as f64 * (RIGHT - LEFT);
    let y = |v: f64| BOTTOM - (v - v0) / (v1 - v0) * (BOTTOM - TOP);

    let id = format!("chart-{index}");
    let name = objective_name(r);
    let mut text = summary(series, &w);
    if series.total {
        text.push_str(
            " (per minute). The line is the running total within each window: its last point is the window's value, compared with the targets.",
        );
    }
    let mut svg = format!(
        "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\">\n<title id=\"{id}-title\">{} over time</title>\n<desc id=\"{id}-desc\">{}</desc>\n",
        esc(name),
        esc(&text)
    );

    // Windows, shaded, with their labels above the plot: the window and the value compared.
    let labelled = w.before.is_some();
    let unit = unit_suffix(r);
    let before_label = match baseline {
        Some(b) => format!("before: baseline {}{unit}", num(b)),
        None => "before".into(),
    };
    let after_name = if labelled {
        "after"
    } else {
        "evaluation window"
    };
    let after_label = match value {
        Some(v) => format!("{after_name}: value {}{unit}", num(v)),
        None => after_name.into(),
    };
    for (win, class, label) in [
        (w.before, "win-before", before_label),
        (w.after, "win-after", after_label),
    ] {
        if let Some((a, b)) = win {
            let (xa, xb) = (x(a).max(LEFT), x(b).min(RIGHT));
            svg.push_str(&format!(
                "<rect class=\"{class}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>\n<text class=\"win-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{label}</text>\n",
                f(xa),
                f(TOP),
                f((xb - xa).max(0.0)),
                f(BOTTOM - TOP),
                f((xa + xb) / 2.0),
                f(TOP - 10.0),
                label = esc(&label)
            ));
        }
    }
    // The unit of the value axis, once, above its labels.
    if !unit.trim().is_empty() {
        svg.push_str(&format!(
            "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
            f(LEFT - 8.0),
            f(TOP - 10.0),
            esc(unit.trim())
        ));
    }

    // Value grid and labels.
    for v in &ticks {
        svg.push_str(&format!(
            "<line class=\"grid\" x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\"/>\n<text class=\"tick\" x=\"{3}\" y=\"{4}\" text-anchor=\"end\">{5}</text>\n",
            f(LEFT),
            f(RIGHT),
            f(y(*v)),
            f(LEFT - 8.0),
            f(y(*v) + 4.0),
            esc(&num(*v))
        ));
    }
    // Time axis.
    let (tticks, format) = time_ticks(t0, t1);
    svg.push_str(&format!(
        "<line class=\"axis\" x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\"/>\n",
        f(LEFT),
        f(RIGHT),
        f(BOTTOM)
    ));
    for t in tticks {
        let label = chrono::DateTime::from_timestamp_millis(t)
            .map(|d| d.format(format).to_string())
            .unwrap_or_default();
        svg.push_str(&format!(
            "<line class=\"axis\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>\n<text class=\"tick\" x=\"{0}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
            f(x(t)),
            f(BOTTOM),
            f(BOTTOM + 5.0),
            f(BOTTOM + 18.0),
            esc(&label)
        ));
    }
    svg.push_str(&format!(
        "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">UTC</text>\n",
        f(RIGHT),
        f(BOTTOM + 34.0)
    ));

    // The aggregated values that were compared: baseline over the before window, value over the
    // evaluation window, as bands; their numbers are in the window labels above the plot, where
    // no data line runs under them.
    let mut levels = Vec::new();
    if let (Some(b), Some(win)) = (baseline.filter(|_| labelled), w.before) {
        levels.push((b, win));
    }
    if let (Some(v), Some(win)) = (value, w.after) {
        levels.push((v, win));
    }
    for (v, (a, b)) in levels {
        let (xa, xb) = (x(a).max(LEFT), x(b).min(RIGHT));
        svg.push_str(&format!(
            "<line class=\"level\" x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\"/>\n",
            f(xa),
            f(xb),
            f(y(v)),
        ));
    }

    // The judge's interval for the value, shaded over the evaluation window.
    if let Some((lo, hi, label)) = interval(r)
        && let Some((a, b)) = w.after
    {
        let (xa, xb) = (x(a).max(LEFT), x(b).min(RIGHT));
        let (ya, yb) = (y(hi.min(v1)).max(TOP), y(lo.max(v0)).min(BOTTOM));
        svg.push_str(&format!(
            "<rect class=\"ci\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}</title></rect>\n",
            f(xa),
            f(ya),
            f((xb - xa).max(0.0)),
            f((yb - ya).max(0.0)),
            esc(&label)
        ));
        svg.push_str(&format!(
            "<text class=\"ci-label\" x=\"{}\" y=\"{}\">{} % interval</text>\n",
            f(xa + 4.0),
            f((ya + 12.0).min(BOTTOM - 4.0)),
            r.judge
                .as_ref()
                .map(|j| crate::eval::gofmt::go_v(j.confidence * 100.0))
                .unwrap_or_default()
        ));
    }

    // Targets, labels pushed apart so none overlaps the one above it.
    let mut placed: Vec<(f64, &Rule)> = rules.iter().map(|r| (y(r.value), r)).collect();
    placed.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.label.cmp(&b.1.label)));
    let mut last_label = f64::NEG_INFINITY;
    for (py, rule) in placed {
        // above the line, or below it when that would leave the plot
        let above = if py - 4.0 < TOP + 10.0 {
            py + 13.0
        } else {
            py - 4.0
        };
        let ly = above.max(last_label + 12.0);
        last_label = ly;
        svg.push_str(&format!(
            "<line class=\"target-{0}\" x1=\"{1}\" y1=\"{3}\" x2=\"{2}\" y2=\"{3}\"/>\n<text class=\"label-{0}\" x=\"{4}\" y=\"{5}\" text-anchor=\"end\">{6}</text>\n",
            rule.class,
            f(LEFT),
            f(RIGHT),
            f(py),
            f(RIGHT - 4.0),
            f(ly),
            esc(&rule.label)
        ));
    }

    // Deployment.
    if let Some(d) = w.deployment.filter(|d| (t0..=t1).contains(d)) {
        svg.push_str(&format!(
            "<line class=\"deploy\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>\n<text class=\"deploy-label\" x=\"{3}\" y=\"{4}\">deployment</text>\n",
            f(x(d)),
            f(TOP - 4.0),
            f(BOTTOM),
            f(x(d) + 4.0),
            f(TOP + 12.0)
        ));
    }

    // The series: one path, a new segment after every gap; dots where there are few points or
    // a value stands alone between gaps.
    let mut d = String::new();
    let mut pen_down = false;
    for (t, v) in &points {
        match v {
            Some(v) => {
                d.push_str(&format!(
                    "{}{} {} ",
                    if pen_down { "L" } else { "M" },
                    f(x(*t)),
                    f(y(*v))
                ));
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    if !d.is_empty() {
        svg.push_str(&format!(
            "<path class=\"series\" d=\"{}\"/>\n",
            d.trim_end()
        ));
    }
    let few = points.len() <= 120;
    for (i, (t, v)) in points.iter().enumerate() {
        let Some(v) = v else { continue };
        let alone = (i == 0 || points[i - 1].1.is_none())
            && points.get(i + 1).is_none_or(|p| p.1.is_none());
        if few || alone {
            svg.push_str(&format!(
                "<circle class=\"point\" cx=\"{}\" cy=\"{}\" r=\"{}\"/>\n",
                f(x(*t)),
                f(y(*v)),
                if alone { "3" } else { "2" }
            ));
        }
    }
    svg.push_str("</svg>\n");

    let judged = r
        .judge
        .as_ref()
        .filter(|j| !j.summary.is_empty())
        .map(|j| format!("<p class=\"judge\">{}</p>\n", esc(&j.summary)))
        .unwrap_or_default();
    format!(
        "<figure class=\"chart\" id=\"{id}\">\n<figcaption>{} <code>{}</code> {}</figcaption>\n{svg}<p class=\"summary\">{}</p>\n{judged}</figure>\n",
        esc(name),
        esc(&series.metric),
        badge(r),
        esc(&text)
    )
}

/// The judge's interval for the measured value (the change's interval applied to the baseline),
/// with its label, when the objective was judged.
fn interval(r: &IndicatorResult) -> Option<(f64, f64, String)> {
    let j = r.judge.as_ref()?;
    let a = matches!(r.baseline, BaselineKind::Window | BaselineKind::Control)
        .then(|| r.baseline_shown())?;
    let i = j.change_percent?;
    let (lo, hi) = (a * (1.0 + i.low / 100.0), a * (1.0 + i.high / 100.0));
    (lo.is_finite() && hi.is_finite()).then(|| {
        (
            lo,
            hi,
            format!(
                "{} % interval of the value: {} … {}",
                crate::eval::gofmt::go_v(j.confidence * 100.0),
                num(lo),
                num(hi)
            ),
        )
    })
}

/// Problems and other changes in the windows, with links into Dynatrace.
fn context_sections(c: &crate::context::Context) -> String {
    use crate::report::context::{policy_line, sections};
    let mut out = String::new();
    if let Some(p) = policy_line(c) {
        out.push_str(&format!(
            "<p class=\"policy\"><strong>{}</strong></p>\n",
            esc(&p)
        ));
    }
    let href = |l: &str| esc(&crate::report::markdown::link_url(l));
    for s in sections(c) {
        out.push_str(&format!("<h2>{}</h2>\n", esc(&s.title)));
        if let Some(st) = &s.status {
            out.push_str(&format!("<p class=\"muted\">{}</p>\n", esc(st)));
            continue;
        }
        out.push_str("<ul class=\"context\">\n");
        for i in &s.items {
            let lead = match &i.link {
                Some(l) => format!("<a href=\"{}\">{}</a>", href(l), esc(&i.lead)),
                None => esc(&i.lead),
            };
            let what = i
                .what
                .as_ref()
                .map(|w| format!(" <code>{}</code>", esc(w)))
                .unwrap_or_default();
            let new = if i.new { "<strong>new</strong> " } else { "" };
            out.push_str(&format!("<li>{new}{lead}{what} {}</li>\n", esc(&i.rest)));
        }
        out.push_str("</ul>\n");
    }
    if let Some(l) = &c.service_link {
        out.push_str(&format!(
            "<p><a href=\"{}\">The service in Dynatrace</a> over both windows.</p>\n",
            href(l)
        ));
    }
    out
}

/// [`esc`], with line breaks kept as `<br>`.
fn lines(s: &str) -> String {
    esc(s).replace("\r\n", "\n").replace(['\r', '\n'], "<br>")
}

/// Escapes text for HTML content and double- or single-quoted attributes.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn snapshots() {
        for (name, report) in fixtures::all() {
            insta::assert_snapshot!(format!("html_{name}"), render(&report));
        }
    }

    #[test]
    fn self_contained() {
        for (name, report) in fixtures::all() {
            let html = render(&report);
            for banned in [
                "<script", "<link", "@import", "url(", "src=", "<img", "<iframe",
            ] {
                assert!(!html.contains(banned), "{name}: {banned}");
            }
            // the only links are the pipeline's and those into Dynatrace
            let dynatrace = report.context.as_ref().map_or(0, |c| {
                c.problems.iter().filter(|p| p.link.is_some()).count()
                    + c.changes.iter().filter(|p| p.link.is_some()).count()
                    + usize::from(c.service_link.is_some())
            }) + usize::from(report.release_dashboard.is_some());
            assert!(html.matches("href=").count() <= 1 + dynatrace, "{name}");
            assert_eq!(
                html.matches("href=\"https://").count(),
                html.matches("href=").count(),
                "{name}"
            );
        }
    }

    #[test]
    fn text_is_escaped() {
        let html = render(&fixtures::failing_key());
        assert!(html.contains("Errors &lt;5xx&gt; &amp; &quot;timeouts&quot; | &#39;all&#39;"));
        assert!(html.contains("<code>&lt;=600</code>"));
        assert!(html.contains("&amp;from=1763373600000"));
        assert!(!html.contains("<=600"));
        assert!(!html.contains("<5xx>"));
    }

    #[test]
    fn totals_are_charted_as_running_totals_per_window() {
        let m = 60_000;
        let points: Vec<(i64, Option<f64>)> =
            (1..=6).map(|i| (i * m, Some(10.0 * i as f64))).collect();
        let before = Some((0, 3 * m));
        let after = Some((3 * m, 6 * m));
        let got = running_totals(&points, &[before, after]);
        assert_eq!(
            got,
            [
                (m, Some(10.0)),
                (2 * m, Some(30.0)),
                (3 * m, Some(60.0)),
                (3 * m, None),
                (4 * m, Some(40.0)),
                (5 * m, Some(90.0)),
                (6 * m, Some(150.0)),
                (6 * m, None),
            ]
        );
    }

    #[test]
    fn chart_per_sli_with_series() {
        let html = render(&fixtures::with_series());
        assert_eq!(html.matches("<svg ").count(), 2);
        assert_eq!(html.matches(">before: baseline ").count(), 2);
        assert_eq!(html.matches(">after: value ").count(), 2);
        // units on the value axis, the targets and the compared values
        assert!(html.contains(">before: baseline 500 ms</text>"));
        assert!(html.contains("text-anchor=\"end\">ms</text>"));
        assert_eq!(html.matches(">deployment</text>").count(), 2);
        // the relative criterion's target line, labelled with its criterion
        assert!(html.contains(">pass &lt;=+10% → 550 ms</text>"));
        assert!(html.contains(">warning &lt;=+50% → 1.8</text>"));
        // gaps: the error rate's path has a second `M` after its two missing slots
        let err = html.split("id=\"chart-1\"").nth(1).unwrap();
        let path = err.split("class=\"series\" d=\"").nth(1).unwrap();
        let path = &path[..path.find('"').unwrap()];
        assert_eq!(path.matches('M').count(), 2, "{path}");
        assert!(html.contains("<p class=\"summary\">Before (2026-11-17 09:30 → 10:00 UTC): min"));
        // no chart without series
        assert!(!render(&fixtures::relative_window()).contains("<svg"));
    }

    #[test]
    fn only_web_links() {
        let mut report = fixtures::with_series();
        if let Some(p) = report.pipeline.as_mut() {
            p.url = Some("javascript:alert(1)".into());
        }
        let html = render(&report);
        assert!(!html.contains("href="));
        assert!(!html.contains("javascript:"));
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(
            value_ticks(480.0, 800.0),
            vec![450.0, 500.0, 550.0, 600.0, 650.0, 700.0, 750.0, 800.0]
        );
        assert_eq!(
            value_ticks(1.0, 2.4),
            vec![1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.4]
        );
        assert_eq!(
            value_ticks(5.0, 5.0),
            vec![4.4, 4.6, 4.8, 5.0, 5.2, 5.4, 5.6]
        );
        let (t, fmt) = time_ticks(0, 3_600_000);
        assert_eq!(fmt, "%H:%M");
        assert_eq!(t, (0..=6).map(|i| i * 600_000).collect::<Vec<_>>());
    }
}
