//! The terminal report: verdict and score first, then one row per objective, then what failed.

use crate::eval::gofmt::go_v;
use crate::eval::{BaselineKind, IndicatorResult, Status, TargetResult, Verdict};
use crate::model::criteria::Criterion;
use crate::report::Report;
use crate::report::markdown::verdict_word;

pub fn render(report: &Report) -> String {
    // Foreign text made safe, long decimals rounded: once, here.
    let report = &crate::report::for_people(report);
    let e = &report.evaluation;
    let mut out = String::new();
    let verdict = verdict_word(e.result);
    let mut thresholds = Vec::new();
    if let Some(p) = &report.slo.pass_threshold {
        thresholds.push(format!("pass ≥ {p}"));
    }
    if let Some(w) = &report.slo.warning_threshold {
        thresholds.push(format!("warning ≥ {w}"));
    }
    match e.result {
        // No verdict: the cause comes first, a score would suggest one.
        Verdict::Error | Verdict::Invalid => {
            out.push_str(verdict);
            if let Some(cause) = e.error.as_ref().or(e.invalid_input.as_ref()) {
                out.push_str(&format!(": {cause}"));
            }
        }
        _ => {
            out.push_str(&format!("{verdict}  score {}", go_v(round(e.score))));
            if !thresholds.is_empty() {
                out.push_str(&format!("  ({})", thresholds.join(", ")));
            }
            if let Some(h) = crate::report::inconclusive_headline(&e.indicator_results) {
                out.push_str(&format!("  {h}"));
            }
        }
    }
    out.push('\n');
    if let Some(s) = &report.service {
        let mut sel = vec![format!("service {s}")];
        if let Some(st) = &report.stage {
            sel.push(format!("stage {st}"));
        }
        if let Some(p) = &report.project {
            sel.push(format!("project {p}"));
        }
        out.push_str(&sel.join(", "));
        out.push('\n');
    }
    // Keptn's message scores data that was not there: kept in the JSON only.
    if !e.message.is_empty() && e.result != Verdict::Error {
        out.push_str(&e.message);
        out.push('\n');
    }
    // Only a change that is not a deployment gets a line: which event anchored the windows.
    if let Some(d) = report.deployment.as_ref().filter(|d| {
        d.event_type
            .as_deref()
            .is_some_and(|t| t != "CUSTOM_DEPLOYMENT")
    }) {
        out.push_str(&format!(
            "anchored on: {}\n",
            crate::report::markdown::deployment_text(d)
        ));
    }
    if let Some(b) = &report.baseline_selection {
        out.push_str(&format!("baseline: {}\n", b.reason));
    }
    if e.indicator_results.is_empty() {
        return out;
    }
    out.push('\n');
    let header = [
        "STATUS",
        "OBJECTIVE",
        "VALUE",
        "BASELINE",
        "CHANGE",
        "PASS",
        "WARNING",
        "SCORE",
    ];
    let rows: Vec<[String; 8]> = e.indicator_results.iter().map(row).collect();
    let mut widths = header.map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let mut s = String::from(" ");
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            s.push(' ');
            s.push_str(c);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(w - c.chars().count()));
            }
        }
        s.push('\n');
        s
    };
    out.push_str(&line(&header.map(String::from)));
    for r in &rows {
        out.push_str(&line(r));
    }
    if let Some(h) = crate::report::judge_heading(&e.indicator_results) {
        out.push_str(&format!("\n{h}:\n"));
        for l in crate::report::judge_lines(&e.indicator_results) {
            out.push_str(&format!("  {l}\n"));
        }
    }
    let failing: Vec<&IndicatorResult> = e
        .indicator_results
        .iter()
        .filter(|r| r.error.is_some() || matches!(r.status, Status::Fail | Status::Warning))
        .collect();
    if !failing.is_empty() {
        out.push('\n');
        for r in failing {
            let name = if r.display_name.is_empty() {
                &r.value.metric
            } else {
                &r.display_name
            };
            if let Some((_, lead, error)) = crate::report::markdown::no_verdict(r) {
                out.push_str(&format!("{lead}: {name} ({}): {error}\n", r.value.metric));
                if let Some(t) = &r.tile {
                    out.push_str(&format!("  from {}\n", t.describe()));
                }
                continue;
            }
            let status = if r.status == Status::Fail {
                "failed"
            } else {
                "warning"
            };
            out.push_str(&format!("{status}: {name} ({})", r.value.metric));
            if !r.value.message.is_empty() {
                out.push_str(&format!(": {}", r.value.message));
            }
            out.push('\n');
            if r.value.success {
                for t in violated(r) {
                    let relative = Criterion::parse(&t.criteria).is_ok_and(|c| c.is_relative());
                    if relative && r.baseline == BaselineKind::None {
                        out.push_str(&format!(
                            "  {} violated: no baseline to compare with\n",
                            t.criteria
                        ));
                    } else {
                        out.push_str(&format!(
                            "  {} violated: value {} vs target {}\n",
                            t.criteria,
                            value(r),
                            go_v(round(t.target_value))
                        ));
                    }
                }
            }
            for n in &r.notes {
                out.push_str(&format!("  note: {n}\n"));
            }
            if let Some(t) = &r.tile {
                out.push_str(&format!("  from {}\n", t.describe()));
            }
        }
    }
    let noted = crate::report::noted(&e.indicator_results);
    for r in noted {
        for n in &r.notes {
            out.push_str(&format!("note: {}: {n}\n", r.value.metric));
        }
    }
    if let Some(c) = &report.context {
        out.push_str(&context(c));
    }
    if let Some(d) = &report.release_dashboard {
        out.push_str(&format!(
            "release dashboard: {}\n",
            d.link.as_deref().unwrap_or(&d.name)
        ));
    }
    out
}

/// Problems and other changes in the windows, and what the problem policy did.
fn context(c: &crate::context::Context) -> String {
    use crate::report::context::{plain, policy_line, sections};
    let mut out = String::from("\n");
    if let Some(p) = policy_line(c) {
        out.push_str(&format!("{p}\n"));
    }
    for s in sections(c) {
        match &s.status {
            Some(st) => out.push_str(&format!("{}: {st}\n", s.title)),
            None => {
                out.push_str(&format!("{}:\n", s.title));
                for i in &s.items {
                    out.push_str(&format!(
                        "  {}{}\n",
                        if i.new { "new: " } else { "" },
                        plain(i)
                    ));
                    if let Some(l) = &i.link {
                        out.push_str(&format!("    {l}\n"));
                    }
                }
            }
        }
    }
    if let Some(l) = &c.service_link {
        out.push_str(&format!("service in Dynatrace: {l}\n"));
    }
    out
}

fn violated(r: &IndicatorResult) -> impl Iterator<Item = &TargetResult> {
    r.pass_targets.iter().flatten().filter(|t| t.violated)
}

fn value(r: &IndicatorResult) -> String {
    match (r.value.success, r.value.value) {
        (true, Some(v)) => format!(
            "{}{}",
            go_v(round(v)),
            crate::report::markdown::unit_suffix(r)
        ),
        _ => "no value".into(),
    }
}

fn targets(t: &Option<Vec<TargetResult>>, evaluated: bool) -> String {
    match t {
        None => "-".into(),
        Some(list) if list.is_empty() => "-".into(),
        Some(list) => list
            .iter()
            .map(|t| {
                format!(
                    "{}{}",
                    t.criteria.replace(' ', ""),
                    match (evaluated, t.violated) {
                        (false, _) => "",
                        (true, true) => "✗",
                        (true, false) => "✓",
                    }
                )
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

fn row(r: &IndicatorResult) -> [String; 8] {
    let status = match r.status {
        _ if r.error.is_some() => crate::report::markdown::no_verdict(r).map_or("error", |n| n.0),
        Status::Pass => "pass",
        Status::Warning => "warning",
        Status::Fail => "fail",
        Status::Info => "info",
    };
    let key = if r.key_sli { " (key)" } else { "" };
    let name = if r.display_name.is_empty() {
        r.value.metric.clone()
    } else {
        r.display_name.clone()
    };
    let baseline = match r.baseline {
        BaselineKind::History => format!(
            "{}{} ({} of {})",
            go_v(round(r.baseline_shown())),
            crate::report::markdown::unit_suffix(r),
            r.baseline_aggregate,
            r.baseline_count
        ),
        BaselineKind::Window => format!(
            "{}{} (before)",
            go_v(round(r.baseline_shown())),
            crate::report::markdown::unit_suffix(r)
        ),
        BaselineKind::Control => format!(
            "{}{} (control)",
            go_v(round(r.baseline_shown())),
            crate::report::markdown::unit_suffix(r)
        ),
        BaselineKind::None => "none".into(),
    };
    let change = r
        .change_percent
        .map(|c| {
            format!(
                "{}{}%",
                if c >= 0.0 { "+" } else { "" },
                go_v((c * 100.0).round() / 100.0)
            )
        })
        .unwrap_or_else(|| "-".into());
    let score = crate::report::markdown::score_text(r);
    [
        format!("{status}{key}"),
        name,
        value(r),
        baseline,
        change,
        targets(&r.pass_targets, r.error.is_none()),
        targets(&r.warning_targets, r.error.is_none()),
        score,
    ]
}

use crate::report::markdown::round_for_people as round;
