//! The history page as one self-contained HTML file: Keptn Bridge's heatmap (SLIs down,
//! evaluations across), the score line with its thresholds and each SLI's sparkline. No scripts,
//! no external assets: the page carries a Content-Security-Policy that allows nothing but its one
//! `<style>` element (by its SHA-256), so it opens from a CI artifact, offline, and under any
//! stricter policy a server adds. Details of a cell show on hover and on keyboard focus (each
//! cell is a tab stop) with CSS alone. Deterministic.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::page::{Cell, Column, Outcome, Page, ServicePage, SliRow, criteria_text, num};
use crate::report::html::esc;

pub const STYLE: &str = r#"
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #ffffff;
  --soft: #f6f8fa; --pass: #1a7f37; --warn: #9a6700; --fail: #cf222e; --err: #59636e;
  --none: #eff2f5; --pin: #6e40c9; --accent: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 20px 40px; }
h1 { font-size: 24px; margin: 0; }
h2 { font-size: 20px; margin: 40px 0 8px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 24px 0 8px; }
a { color: var(--accent); }
.muted { color: var(--muted); }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--soft);
  padding: 1px 5px; border-radius: 4px; }
table { border-collapse: collapse; font-size: 14px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; font-size: 12px; font-weight: 600; padding: 0 7px; border-radius: 999px;
  color: #ffffff; white-space: nowrap; }
.badge.pass { background: var(--pass); } .badge.warning { background: var(--warn); }
.badge.fail { background: var(--fail); } .badge.error { background: var(--err); }
.badge.none { background: var(--none); color: var(--muted); }
.legend { display: flex; flex-wrap: wrap; gap: 6px 14px; margin: 8px 0; font-size: 13px; }
.wrap { overflow-x: auto; padding-bottom: 150px; margin-bottom: -140px; }
table.heat { font-size: 12px; }
table.heat th, table.heat td { padding: 3px 4px; border: 1px solid #ffffff; }
table.heat thead th { vertical-align: bottom; font-weight: normal; white-space: nowrap; min-width: 52px; }
table.heat thead th.sli { min-width: 14em; }
table.heat tbody th { white-space: nowrap; font-weight: 600; }
table.heat .unit { color: var(--muted); font-weight: normal; }
table.heat th.x .when { text-decoration: line-through; }
table.heat th.pin { box-shadow: inset 0 0 0 2px var(--pin); }
.pinmark { color: var(--pin); font-weight: 700; }
table.heat td { text-align: right; color: #ffffff; font-variant-numeric: tabular-nums;
  cursor: default; min-width: 52px; }
table.heat td.pass { background: var(--pass); } table.heat td.warning { background: var(--warn); }
table.heat td.fail { background: var(--fail); } table.heat td.error { background: var(--err); }
table.heat td.none { background: var(--none); color: var(--muted); }
table.heat td.x { text-decoration: line-through; background-image: repeating-linear-gradient(135deg,
  transparent 0 6px, rgba(255, 255, 255, .35) 6px 8px); }
table.heat td:focus { outline: 3px solid var(--accent); outline-offset: -1px; z-index: 3; }
table.heat td i { display: none; position: absolute; z-index: 4; margin: 1.6em 0 0 -10em; width: 20em;
  padding: 8px 10px; text-align: left; white-space: pre-line; text-decoration: none; font-size: 12px;
  font-style: normal; color: var(--fg); background: #ffffff; border: 1px solid var(--line);
  border-radius: 6px; box-shadow: 0 4px 12px rgba(0, 0, 0, .15); }
table.heat td:hover i, table.heat td:focus i, table.heat td:focus-within i { display: block; }
figure { margin: 0 0 16px; }
figcaption { font-weight: 600; font-size: 14px; }
.sparks { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 12px 20px; }
.sparks figure { border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; margin: 0; }
svg { width: 100%; height: auto; display: block; font-size: 11px;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
svg .grid { stroke: #e6eaef; } svg .tick { fill: var(--muted); }
svg .line { fill: none; stroke: var(--accent); stroke-width: 2; stroke-linejoin: round; }
svg .spark { fill: none; stroke: var(--accent); stroke-width: 1.5; stroke-linejoin: round; stroke-linecap: round; }
svg .t-pass, svg .t-warning, svg .spark { vector-effect: non-scaling-stroke; }
svg .t-pass { fill: none; stroke: var(--pass); stroke-width: 1.2; stroke-dasharray: 5 3; }
svg .t-warning { fill: none; stroke: var(--warn); stroke-width: 1.2; stroke-dasharray: 2 3; }
svg .l-pass { fill: var(--pass); } svg .l-warning { fill: var(--warn); }
svg .p-pass { fill: var(--pass); } svg .p-warning { fill: var(--warn); }
svg .p-fail { fill: var(--fail); } svg .p-error, svg .p-none { fill: var(--err); }
svg .p-x { fill: #ffffff; stroke: var(--err); stroke-width: 1.5; }
svg .p-pin { stroke: var(--pin); stroke-width: 3; }
footer { margin-top: 180px; color: var(--muted); font-size: 13px; }
"#;

/// The Content-Security-Policy the page declares: nothing is allowed but its own style element.
pub fn content_security_policy() -> String {
    let hash = crate::source::secret::base64(&Sha256::digest(STYLE.as_bytes()));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; img-src 'none'; base-uri 'none'; form-action 'none'"
    )
}

/// Renders the page. Deterministic; ends with a newline.
pub fn render(page: &Page) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let evaluations: usize = page.services.iter().map(|s| s.columns.len()).sum();
    let title = match page.services.as_slice() {
        [one] => format!("slogate history — {}", one.title()),
        _ => "slogate history".to_string(),
    };
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
        content_security_policy()
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = write!(
        out,
        "<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        esc(&title)
    );
    let _ = write!(
        out,
        "<header>\n<h1>Evaluation history</h1>\n<p class=\"muted\">{} evaluation{} of {} service{} from {}</p>\n</header>\n",
        evaluations,
        plural(evaluations),
        page.services.len(),
        plural(page.services.len()),
        esc(&page.source)
    );
    if page.services.is_empty() {
        out.push_str("<p>No stored evaluations match.</p>\n");
    }
    if page.services.len() > 1 {
        summary_table(&mut out, page);
    }
    for (i, s) in page.services.iter().enumerate() {
        section(&mut out, s, i);
    }
    let _ = write!(
        out,
        "<footer>Written by slogate {}. Cells show their value, baseline and criteria on hover and on keyboard focus (Tab).</footer>\n</main>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn score_text(s: Option<f64>) -> String {
    s.map(num).unwrap_or_else(|| "–".into())
}

fn summary_table(out: &mut String, page: &Page) {
    out.push_str("<h2>Services</h2>\n<div class=\"wrap-plain\"><table class=\"summary\">\n<thead><tr><th scope=\"col\">Service</th><th scope=\"col\">Stage</th><th scope=\"col\">Project</th><th scope=\"col\">Evaluations</th><th scope=\"col\">Newest</th><th scope=\"col\">Score</th><th scope=\"col\">Pass</th><th scope=\"col\">Warning</th><th scope=\"col\">Fail</th><th scope=\"col\">Pinned</th></tr></thead>\n<tbody>\n");
    for (i, s) in page.services.iter().enumerate() {
        let newest = s.newest();
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#{}\">{}</a></td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            ServicePage::anchor(i),
            esc(or_dash(&s.service)),
            esc(or_dash(&s.stage)),
            esc(or_dash(&s.project)),
            s.columns.len(),
            newest
                .map(|c| format!(
                    "<span class=\"badge {}\">{}</span> {}",
                    c.result.as_str(),
                    c.result.label(),
                    esc(&c.when())
                ))
                .unwrap_or_default(),
            score_text(newest.and_then(|c| c.score)),
            s.count(Outcome::Pass),
            s.count(Outcome::Warning),
            s.count(Outcome::Fail),
            s.pinned()
                .map(|c| format!("<code>{}</code>", esc(c.short_id())))
                .unwrap_or_else(|| "–".into())
        );
    }
    out.push_str("</tbody>\n</table></div>\n");
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "–" } else { s }
}

fn section(out: &mut String, s: &ServicePage, index: usize) {
    let a = ServicePage::anchor(index);
    let _ = writeln!(
        out,
        "<section id=\"{a}\" aria-labelledby=\"{a}-h\">\n<h2 id=\"{a}-h\">{}</h2>",
        esc(&s.title())
    );
    let mut facts = vec![if s.total > s.columns.len() {
        format!("the newest {} of {} evaluations", s.columns.len(), s.total)
    } else {
        format!("{} evaluation{}", s.columns.len(), plural(s.columns.len()))
    }];
    if let Some(c) = s.newest() {
        facts.push(format!(
            "newest <span class=\"badge {}\">{}</span> score {}",
            c.result.as_str(),
            c.result.label(),
            score_text(c.score)
        ));
    }
    match s.pinned() {
        Some(c) => facts.push(format!(
            "<span class=\"pinmark\">pinned</span> baseline <code>{}</code> of {}{}",
            esc(c.short_id()),
            esc(&c.when()),
            reason(c.pinned.as_deref())
        )),
        None => facts.push("no pinned baseline".into()),
    }
    let _ = writeln!(out, "<p>{}</p>", facts.join(" · "));
    if s.columns.is_empty() {
        return;
    }
    out.push_str("<h3>Total score</h3>\n");
    score_chart(out, s, &a);
    out.push_str("<h3>Heatmap</h3>\n");
    heatmap(out, s, &a);
    if !s.rows.is_empty() {
        out.push_str("<h3>Each SLI over time</h3>\n<div class=\"sparks\">\n");
        for (i, r) in s.rows.iter().enumerate() {
            sparkline(out, r, &format!("{a}-k{i}"));
        }
        out.push_str("</div>\n");
    }
    out.push_str("</section>\n");
}

fn reason(r: Option<&str>) -> String {
    match r {
        Some(r) if !r.is_empty() => format!(" ({})", esc(r)),
        _ => String::new(),
    }
}

fn legend(out: &mut String) {
    out.push_str("<div class=\"legend\">");
    for o in [
        Outcome::Pass,
        Outcome::Warning,
        Outcome::Fail,
        Outcome::Error,
        Outcome::None,
    ] {
        let _ = write!(
            out,
            "<span><span class=\"badge {}\">{}</span></span>",
            o.as_str(),
            o.label()
        );
    }
    out.push_str("<span><s>struck through</s>: invalidated (ignored for comparison)</span><span><span class=\"pinmark\">pinned</span>: the known-good baseline</span></div>\n");
}

fn column_head(out: &mut String, c: &Column) {
    let mut class = vec![c.result.as_str()];
    if c.invalidated.is_some() {
        class.push("x");
    }
    if c.pinned.is_some() {
        class.push("pin");
    }
    let _ = write!(
        out,
        "<th scope=\"col\" class=\"{}\" title=\"{}\">",
        class.join(" "),
        esc(&column_title(c))
    );
    let when = esc(&c.when());
    match &c.report_link {
        Some(l) => {
            let _ = write!(out, "<a class=\"when\" href=\"{}\">{when}</a>", esc(l));
        }
        None => {
            let _ = write!(out, "<span class=\"when\">{when}</span>");
        }
    }
    if let Some(l) = &c.label {
        let _ = write!(out, "<br>{}", esc(l));
    }
    let _ = write!(
        out,
        "<br><span class=\"badge {}\">{} {}</span>",
        c.result.as_str(),
        c.result.label(),
        score_text(c.score)
    );
    if let Some(l) = &c.pipeline_link {
        let _ = write!(
            out,
            "<br><a href=\"{}\">{}</a>",
            esc(l),
            esc(c.pipeline_name.as_deref().unwrap_or("pipeline run"))
        );
    }
    if c.pinned.is_some() {
        out.push_str("<br><span class=\"pinmark\">pinned</span>");
    }
    if c.invalidated.is_some() {
        out.push_str("<br><del>invalidated</del>");
    }
    out.push_str("</th>");
}

/// The header's hover text: id, window end, outcome, and why it is pinned or invalidated.
fn column_title(c: &Column) -> String {
    let mut t = format!("evaluation {} · {}", c.id, c.time);
    if c.runs > 1 {
        t.push_str(&format!(" · {} runs", c.runs));
    }
    if let Some(r) = &c.invalidated {
        t.push_str(" · invalidated");
        if !r.is_empty() {
            t.push_str(&format!(": {r}"));
        }
    }
    if let Some(r) = &c.pinned {
        t.push_str(" · pinned");
        if !r.is_empty() {
            t.push_str(&format!(": {r}"));
        }
    }
    t
}

fn heatmap(out: &mut String, s: &ServicePage, a: &str) {
    legend(out);
    let _ = write!(
        out,
        "<div class=\"wrap\">\n<table class=\"heat\" id=\"{a}-heat\">\n<caption class=\"muted\">SLIs of {} across {} evaluation{}, oldest first</caption>\n<thead><tr><th scope=\"col\" class=\"sli\">SLI</th>",
        esc(&s.title()),
        s.columns.len(),
        plural(s.columns.len())
    );
    for c in &s.columns {
        column_head(out, c);
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in &s.rows {
        let _ = write!(out, "<tr><th scope=\"row\">{}", esc(&r.name));
        let unit = super::page::unit_suffix(r.unit.as_deref());
        if !unit.trim().is_empty() {
            let _ = write!(out, " <span class=\"unit\">{}</span>", esc(unit.trim()));
        }
        out.push_str("</th>");
        for (cell, c) in r.cells.iter().zip(&s.columns) {
            heat_cell(out, cell, c);
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</div>\n");
}

/// One cell: its value, and the details (value, baseline, criteria) that show on hover and on
/// focus, in an `<i>` (the cell's only child element). Kept short: a page of 500 evaluations ×
/// 30 SLIs stays under 2 MB. The unit is in the row's header.
fn heat_cell(out: &mut String, cell: &Cell, c: &Column) {
    let o = cell.outcome();
    let x = if c.invalidated.is_some() { " x" } else { "" };
    let shown = match (o, cell.value) {
        (Outcome::Error, _) => "–".to_string(),
        (_, Some(v)) => num(v),
        (_, None) => String::new(),
    };
    let class = o.as_str();
    if x.is_empty() {
        let _ = write!(out, "<td tabindex=0 class={class}>{shown}<i>{}", o.label());
    } else {
        let _ = write!(
            out,
            "<td tabindex=0 class=\"{class}{x}\">{shown}<i>{}",
            o.label()
        );
    }
    // The value is the cell's text; line breaks are newlines (`white-space: pre-line`).
    if cell.value.is_none() && !cell.message.is_empty() {
        let _ = write!(out, "\nno value: {}", esc(&cell.message));
    }
    if let Some(b) = cell.baseline {
        let _ = write!(out, "\nbaseline {}", num(b));
    }
    if !cell.pass.is_empty() {
        let _ = write!(out, "\npass: {}", esc(&criteria_text(&cell.pass)));
    }
    if !cell.warning.is_empty() {
        let _ = write!(out, "\nwarning: {}", esc(&criteria_text(&cell.warning)));
    }
    out.push_str("</i></td>");
}

const W: f64 = 760.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = W - 16.0;

fn xs(n: usize) -> impl Fn(usize) -> f64 {
    move |i| {
        if n <= 1 {
            (LEFT + RIGHT) / 2.0
        } else {
            LEFT + (RIGHT - LEFT) * i as f64 / (n - 1) as f64
        }
    }
}

fn f(v: f64) -> String {
    format!("{:.1}", v)
}

/// The total score per evaluation (0–100) with the pass and warning thresholds.
fn score_chart(out: &mut String, s: &ServicePage, a: &str) {
    const H: f64 = 200.0;
    const TOP: f64 = 14.0;
    const BOTTOM: f64 = H - 22.0;
    let x = xs(s.columns.len());
    let y = |v: f64| BOTTOM - (BOTTOM - TOP) * v.clamp(0.0, 100.0) / 100.0;
    let mut desc = format!(
        "Total score of {} evaluations, from {} to {}",
        s.columns.len(),
        s.columns.first().map(|c| c.when()).unwrap_or_default(),
        s.columns.last().map(|c| c.when()).unwrap_or_default()
    );
    if let Some(p) = s.pass_threshold {
        desc.push_str(&format!("; pass at {}", num(p)));
    }
    if let Some(w) = s.warning_threshold {
        desc.push_str(&format!("; warning at {}", num(w)));
    }
    let _ = write!(
        out,
        "<figure class=\"score\"><svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-labelledby=\"{a}-st\" id=\"{a}-score\"><title id=\"{a}-st\">{}</title>",
        esc(&desc)
    );
    for v in [0.0, 50.0, 100.0] {
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{RIGHT}\" y1=\"{0}\" y2=\"{0}\"/><text class=\"tick\" x=\"{1}\" y=\"{2}\" text-anchor=\"end\">{3}</text>",
            f(y(v)),
            f(LEFT - 6.0),
            f(y(v) + 4.0),
            v
        );
    }
    for (t, class, word) in [
        (s.pass_threshold, "pass", "pass"),
        (s.warning_threshold, "warning", "warning"),
    ] {
        if let Some(t) = t {
            let _ = write!(
                out,
                "<line class=\"t-{class}\" x1=\"{LEFT}\" x2=\"{RIGHT}\" y1=\"{0}\" y2=\"{0}\"/><text class=\"l-{class}\" x=\"{1}\" y=\"{2}\" text-anchor=\"end\">{word} {3}</text>",
                f(y(t)),
                f(RIGHT),
                f(y(t) - 3.0),
                num(t)
            );
        }
    }
    let points: Vec<(usize, f64)> = s
        .columns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.score.map(|v| (i, v)))
        .collect();
    if points.len() > 1 {
        let d: Vec<String> = points
            .iter()
            .enumerate()
            .map(|(k, (i, v))| {
                format!(
                    "{}{} {}",
                    if k == 0 { "M" } else { "L" },
                    f(x(*i)),
                    f(y(*v))
                )
            })
            .collect();
        let _ = write!(out, "<path class=\"line\" d=\"{}\"/>", d.join(""));
    }
    // Points only while they stay apart; hundreds of them are the line itself.
    if s.columns.len() <= 120 {
        for (i, v) in &points {
            let c = &s.columns[*i];
            let mut class = format!("p-{}", c.result.as_str());
            if c.invalidated.is_some() {
                class = "p-x".into();
            }
            if c.pinned.is_some() {
                class.push_str(" p-pin");
            }
            let _ = write!(
                out,
                "<circle class=\"{class}\" cx=\"{}\" cy=\"{}\" r=\"4\"><title>{} · {} {}</title></circle>",
                f(x(*i)),
                f(y(*v)),
                esc(&c.when()),
                c.result.label(),
                num(*v)
            );
        }
    }
    out.push_str("</svg></figure>\n");
}

/// One SLI's values as a small line, with its first pass and warning targets per evaluation.
fn sparkline(out: &mut String, r: &SliRow, id: &str) {
    const SW: f64 = 260.0;
    const SH: f64 = 56.0;
    const PAD: f64 = 4.0;
    let n = r.cells.len();
    let values: Vec<Option<f64>> = r.cells.iter().map(|c| c.value).collect();
    let pass: Vec<Option<f64>> = r.cells.iter().map(Cell::pass_target).collect();
    let warn: Vec<Option<f64>> = r.cells.iter().map(Cell::warning_target).collect();
    let all: Vec<f64> = values
        .iter()
        .chain(&pass)
        .chain(&warn)
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let unit = super::page::unit_suffix(r.unit.as_deref());
    let last = values.iter().rev().flatten().next();
    let _ = write!(
        out,
        "<figure><figcaption>{} <span class=\"muted\">{}</span></figcaption>",
        esc(&r.name),
        last.map(|v| format!("newest {}{}", num(*v), esc(&unit)))
            .unwrap_or_else(|| "no value".into())
    );
    let (lo, hi) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    let (lo, hi) = if all.is_empty() {
        (0.0, 1.0)
    } else if hi - lo < 1e-12 {
        (lo - 1.0, hi + 1.0)
    } else {
        (lo, hi)
    };
    let x = |i: usize| {
        if n <= 1 {
            SW / 2.0
        } else {
            PAD + (SW - 2.0 * PAD) * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: f64| SH - PAD - (SH - 2.0 * PAD) * (v - lo) / (hi - lo);
    let mut desc = format!("{} over {} evaluation{}", r.name, n, plural(n));
    if let (Some(min), Some(max)) = (
        values.iter().flatten().copied().reduce(f64::min),
        values.iter().flatten().copied().reduce(f64::max),
    ) {
        desc.push_str(&format!(": from {}{unit} to {}{unit}", num(min), num(max)));
    }
    if let Some(p) = pass.iter().rev().flatten().next() {
        desc.push_str(&format!("; pass target {}{unit}", num(*p)));
    }
    if let Some(w) = warn.iter().rev().flatten().next() {
        desc.push_str(&format!("; warning target {}{unit}", num(*w)));
    }
    let _ = write!(
        out,
        "<svg viewBox=\"0 0 {SW} {SH}\" role=\"img\" aria-labelledby=\"{id}\" class=\"sparkline\"><title id=\"{id}\">{}</title>",
        esc(&desc)
    );
    for (series, class) in [(&pass, "t-pass"), (&warn, "t-warning"), (&values, "spark")] {
        let d = path(series, &x, &y);
        if !d.is_empty() {
            let _ = write!(out, "<path class=\"{class}\" d=\"{d}\"/>");
        }
    }
    out.push_str("</svg></figure>\n");
}

/// `M x y L x y ...` through the evaluations that have a value (a missing one is skipped, so
/// the line stays one line); a lone value gets a dot.
fn path(series: &[Option<f64>], x: &impl Fn(usize) -> f64, y: &impl Fn(f64) -> f64) -> String {
    let mut d = String::new();
    let points: Vec<(usize, f64)> = series
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.filter(|v| v.is_finite()).map(|v| (i, v)))
        .collect();
    // Points between two of the same height add nothing to the line (a constant threshold is
    // two points, not five hundred).
    let keep = |k: usize| {
        let same = |a: usize, b: usize| (points[a].1 - points[b].1).abs() < 1e-12;
        k == 0 || k + 1 == points.len() || !(same(k - 1, k) && same(k, k + 1))
    };
    for (k, (i, v)) in points.iter().enumerate() {
        if !keep(k) {
            continue;
        }
        let _ = write!(
            d,
            "{}{} {}",
            if k == 0 { "M" } else { "L" },
            f(x(*i)),
            f(y(*v))
        );
    }
    if points.len() == 1 {
        // A zero-length segment with round caps draws a dot.
        d.push_str("h0.01");
    }
    d
}
