//! The release comparison dashboard (docs/release-dashboard.md): a classic Dynatrace dashboard,
//! one per project/stage/service, with a section per release — response time, failure rate,
//! throughput (and Apdex where an SLI measures it) over the before and the after window side by
//! side, and Markdown tiles with the verdict and what else happened.
//!
//! Pure: the report, the service's entity selector and the dashboard as Dynatrace holds it now
//! arrive as arguments; the HTTP edge is `source::release_dashboard`. A rerun rebuilds the
//! newest section and keeps the older ones (moved down, the oldest dropped past
//! `keep_releases`), so the same dashboard is updated, never duplicated.

use serde_json::{Value, json};

use crate::report::Report;
use crate::report::markdown::{
    code, is_web_url, link_url, objective_name, span, text, value_text, verdict_word, when,
};

/// The tag slogate's release dashboards carry: with the name, how a rerun finds its dashboard.
pub const TAG: &str = "slogate-release-comparison";

/// Every section starts with a header tile whose name starts with this.
const SECTION: &str = "Release ";

/// Dynatrace's classic grid is 38 px.
const GRID: i64 = 38;
const MARKDOWN_WIDTH: i64 = 12 * GRID;
const CHART_WIDTH: i64 = 11 * GRID;
const CHART_HEIGHT: i64 = 4 * GRID;
/// A classic Markdown tile holds at most 1,000 characters.
const MARKDOWN_MAX: usize = 1000;

/// How the dashboard is kept and shared (`dashboard:` in slogate.yaml, `--keep-releases`).
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Release sections kept, the newest included (at least 1).
    pub keep_releases: usize,
    /// Shared with the environment's users (`dashboardMetadata.shared`).
    pub shared: bool,
    /// `dashboardMetadata.owner`; `None`: the existing dashboard's, else `slogate`.
    pub owner: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            keep_releases: 5,
            shared: true,
            owner: None,
        }
    }
}

/// `slogate · shop/production/checkout`: the name a rerun looks the dashboard up by.
pub fn name(report: &Report) -> String {
    let part = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    format!(
        "slogate · {}/{}/{}",
        part(&report.project),
        part(&report.stage),
        part(&report.service)
    )
}

/// The dashboard to send: the release of `report` as the newest section, then the sections of
/// `existing` (the dashboard as Dynatrace returned it, if there is one) other than the same
/// release, up to `keep_releases` in all. `selector` is the service's entity selector, the
/// charts' filter.
pub fn build(report: &Report, selector: &str, opts: &Options, existing: Option<&Value>) -> Value {
    let r = crate::report::for_people(report);
    let header = header_name(&r);
    let mut tiles = section(&r, selector, &header);
    let height = bottom(&tiles);
    let mut top = height;
    let older = existing.map(sections).unwrap_or_default();
    for old in older
        .into_iter()
        .filter(|s| s.header != header)
        .take(opts.keep_releases.max(1) - 1)
    {
        let shift = top - old.top;
        for mut t in old.tiles {
            if let Some(b) = t.pointer_mut("/bounds/top")
                && let Some(v) = b.as_i64()
            {
                *b = json!(v + shift);
            }
            tiles.push(t);
        }
        top += old.height;
    }
    let owner = opts
        .owner
        .clone()
        .or_else(|| {
            existing
                .and_then(|d| d.pointer("/dashboardMetadata/owner"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| "slogate".into());
    let mut d = json!({
        "dashboardMetadata": {
            "name": name(&r),
            "shared": opts.shared,
            "owner": owner,
            "tags": [TAG],
            "preset": false,
            "dashboardFilter": {"timeframe": ""},
        },
        "tiles": tiles,
    });
    if let Some(id) = existing.and_then(|e| e.get("id")).and_then(Value::as_str) {
        d["id"] = json!(id);
    }
    d
}

/// The header of a release section: what was released and when.
fn header_name(r: &Report) -> String {
    let what = r
        .deployment
        .as_ref()
        .and_then(|d| d.version.clone().or_else(|| d.title.clone()))
        .unwrap_or_else(|| "evaluation".into());
    let at = match (&r.deployment, &r.time_start) {
        (Some(d), _) => format!("deployed {}", when(&d.time)),
        (None, Some(t)) => format!("evaluated from {}", when(t)),
        (None, None) => "no window".into(),
    };
    // Server and config text: one line, no grid-breaking length.
    format!("{SECTION}{what} · {at}")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

/// One release section at the top of the dashboard.
fn section(r: &Report, selector: &str, header: &str) -> Vec<Value> {
    let mut tiles = vec![json!({
        "name": header,
        "tileType": "HEADER",
        "configured": true,
        "bounds": {"top": 0, "left": 0, "width": MARKDOWN_WIDTH + 2 * CHART_WIDTH, "height": GRID},
        "tileFilter": {},
    })];
    let windows = [
        (
            "before",
            r.baseline_window
                .as_ref()
                .map(|w| (w.time_start.clone(), w.time_end.clone())),
        ),
        ("after", r.time_start.clone().zip(r.time_end.clone())),
    ];
    let charts = charts(r, selector);
    for (row, (title, metric_selector)) in charts.iter().enumerate() {
        for (col, (label, window)) in windows.iter().enumerate() {
            let Some((from, to)) = window else { continue };
            let deployed = (*label == "after")
                .then(|| r.deployment.as_ref().map(|d| when(&d.time)))
                .flatten()
                .map(|t| format!(", deployed {t}"))
                .unwrap_or_default();
            tiles.push(json!({
                "name": "Data explorer results",
                "tileType": "DATA_EXPLORER",
                "configured": true,
                "customName": format!("{title} · {label} ({}{deployed})", span(from, to)),
                "bounds": {
                    "top": GRID + row as i64 * CHART_HEIGHT,
                    "left": MARKDOWN_WIDTH + col as i64 * CHART_WIDTH,
                    "width": CHART_WIDTH,
                    "height": CHART_HEIGHT,
                },
                "tileFilter": {"timeframe": timeframe(from, to)},
                "queries": [{
                    "id": "A",
                    "metricSelector": metric_selector,
                    "timeAggregation": "DEFAULT",
                    "enabled": true,
                }],
                "visualConfig": {"type": "GRAPH_CHART"},
                "metricExpressions": [format!("resolution=null&{metric_selector}")],
            }));
        }
    }
    let rows = (charts.len() as i64).max(3);
    let verdict_height = 7 * GRID;
    tiles.push(markdown(
        &verdict_markdown(r),
        GRID,
        verdict_height.min(rows * CHART_HEIGHT),
    ));
    tiles.push(markdown(
        &context_markdown(r),
        GRID + verdict_height,
        (rows * CHART_HEIGHT - verdict_height).max(2 * GRID),
    ));
    tiles
}

fn markdown(md: &str, top: i64, height: i64) -> Value {
    json!({
        "name": "Markdown",
        "tileType": "MARKDOWN",
        "configured": true,
        "bounds": {"top": top, "left": 0, "width": MARKDOWN_WIDTH, "height": height},
        "tileFilter": {},
        "markdown": md,
    })
}

/// `2026-11-17 09:30 to 2026-11-17 10:00`: the absolute form of a tile's timeframe (UTC).
fn timeframe(from: &str, to: &str) -> String {
    let t = |s: &str| {
        crate::report::markdown::parse_time(s)
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    };
    format!("{} to {}", t(from), t(to))
}

/// `in("dt.entity.service",entitySelector("…"))` with Dynatrace's `~` escaping.
fn service_filter(selector: &str) -> String {
    format!(
        "filter(in(\"dt.entity.service\",entitySelector({})))",
        crate::dashboard::tiles::quoted(selector)
    )
}

/// The charted metrics: title and metric selector. Apdex only where an SLI measures it (its
/// own selector, as the SLI asks for it).
fn charts(r: &Report, selector: &str) -> Vec<(String, String)> {
    let f = service_filter(selector);
    let mut out = vec![
        (
            "Response time".to_string(),
            format!("builtin:service.response.time:{f}:splitBy():avg"),
        ),
        (
            "Failure rate".into(),
            format!("builtin:service.errors.total.rate:{f}:splitBy():avg"),
        ),
        (
            "Throughput".into(),
            format!("builtin:service.requestCount.total:{f}:splitBy():sum"),
        ),
    ];
    if let Some(apdex) = r
        .evaluation
        .indicator_results
        .iter()
        .filter(|i| {
            i.value.metric.to_ascii_lowercase().contains("apdex")
                || i.display_name.to_ascii_lowercase().contains("apdex")
        })
        .find_map(|i| i.query.as_deref().and_then(metric_selector_of))
    {
        out.push(("Apdex".into(), apdex));
    }
    out
}

/// The `metricSelector` of a recorded request (`GET /api/v2/metrics/query?…`), decoded.
fn metric_selector_of(query: &str) -> Option<String> {
    let q = query.split_once('?')?.1;
    let raw = q
        .split('&')
        .find_map(|p| p.strip_prefix("metricSelector="))?;
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let h = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
                out.push(u8::from_str_radix(h, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok().filter(|s| !s.trim().is_empty())
}

/// Lines joined until the tile's limit; what does not fit is named, not cut mid-line.
fn fit(lines: Vec<String>) -> String {
    let mut out = String::new();
    let total = lines.len();
    for (n, l) in lines.into_iter().enumerate() {
        let more = format!("\n… {} more line(s) in the report", total - n);
        if out.len() + l.len() + 1 + more.len() > MARKDOWN_MAX {
            out.push_str(&more);
            return out;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&l);
    }
    out
}

/// The verdict tile: outcome, score, failed objectives, the windows, the pipeline run.
fn verdict_markdown(r: &Report) -> String {
    let e = &r.evaluation;
    let mut lines = vec![format!(
        "## {} · score {}",
        verdict_word(e.result),
        crate::report::markdown::num(e.score)
    )];
    if let Some(d) = &r.deployment {
        lines.push(format!(
            "**Deployment** {}",
            text(&crate::report::markdown::deployment_text(d))
        ));
    }
    if let Some(w) = &r.baseline_window {
        lines.push(format!(
            "Before: {}",
            text(&span(&w.time_start, &w.time_end))
        ));
    }
    if let (Some(a), Some(b)) = (&r.time_start, &r.time_end) {
        lines.push(format!("After: {}", text(&span(a, b))));
    }
    if let Some(c) = r.context.as_ref().and_then(|c| c.policy_changed.as_ref()) {
        lines.push(format!("**{}**", text(&c.reason)));
    }
    if let Some(err) = &e.error {
        lines.push(format!("Could not evaluate: {}", text(err)));
    }
    let failed: Vec<String> = e
        .indicator_results
        .iter()
        .filter(|i| {
            matches!(
                i.status,
                crate::eval::Status::Fail | crate::eval::Status::Warning
            )
        })
        .map(|i| {
            format!(
                "- {} {}: {}",
                crate::report::markdown::status_word(i.status),
                text(objective_name(i)),
                text(&value_text(i))
            )
        })
        .collect();
    if failed.is_empty() {
        lines.push("No objective failed.".into());
    } else {
        lines.push("**Objectives that failed or warned:**".into());
        lines.extend(failed);
    }
    if let Some(url) = r
        .pipeline
        .as_ref()
        .and_then(|p| p.url.as_deref())
        .filter(|u| is_web_url(u))
    {
        lines.push(format!("[Pipeline run]({})", link_url(url)));
    }
    fit(lines)
}

/// The context tile: problems and other changes in the windows, and the service's page.
fn context_markdown(r: &Report) -> String {
    let Some(c) = &r.context else {
        return "Problems and other changes in the windows were not asked for.".into();
    };
    let mut lines = Vec::new();
    for s in crate::report::context::sections(c) {
        lines.push(format!("**{}**", text(&s.title)));
        if let Some(st) = &s.status {
            lines.push(text(st));
            continue;
        }
        for i in &s.items {
            let lead = match i.link.as_deref().filter(|l| is_web_url(l)) {
                Some(l) => format!("[{}]({})", text(&i.lead), link_url(l)),
                None => text(&i.lead),
            };
            let what = i
                .what
                .as_ref()
                .map(|w| format!(" {}", code(w)))
                .unwrap_or_default();
            let new = if i.new { "**new** " } else { "" };
            lines.push(format!("- {new}{lead}{what} {}", text(&i.rest)));
        }
    }
    if let Some(l) = c.service_link.as_deref().filter(|l| is_web_url(l)) {
        lines.push(format!("[The service in Dynatrace]({})", link_url(l)));
    }
    fit(lines)
}

/// The lowest edge of a set of tiles.
fn bottom(tiles: &[Value]) -> i64 {
    tiles
        .iter()
        .filter_map(|t| {
            Some(t.pointer("/bounds/top")?.as_i64()? + t.pointer("/bounds/height")?.as_i64()?)
        })
        .max()
        .unwrap_or(0)
}

/// A release section of an existing dashboard: its header's name, where it starts, how tall it
/// is, and its tiles.
struct Old {
    header: String,
    top: i64,
    height: i64,
    tiles: Vec<Value>,
}

/// The release sections of a dashboard, top first. Tiles above the first section header are
/// not slogate's sections and are left out.
fn sections(d: &Value) -> Vec<Old> {
    let mut tiles: Vec<Value> = d
        .get("tiles")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let top = |t: &Value| {
        t.pointer("/bounds/top")
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    tiles.sort_by_key(|t| (top(t), t.pointer("/bounds/left").and_then(Value::as_i64)));
    let is_header = |t: &Value| {
        t.get("tileType").and_then(Value::as_str) == Some("HEADER")
            && t.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.starts_with(SECTION))
    };
    let mut out: Vec<Old> = Vec::new();
    for t in tiles {
        if is_header(&t) {
            out.push(Old {
                header: t["name"].as_str().unwrap_or_default().to_string(),
                top: top(&t),
                height: 0,
                tiles: vec![t],
            });
        } else if let Some(s) = out.last_mut() {
            s.tiles.push(t);
        }
    }
    for s in &mut out {
        s.height = bottom(&s.tiles) - s.top;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;
    use crate::report::json::{DeploymentInfo, PipelineInfo, WindowInfo};

    const SEL: &str = "type(SERVICE),tag(\"app:checkout\")";

    fn release(version: &str, at: &str) -> Report {
        let mut r = fixtures::passing();
        r.project = Some("shop".into());
        r.stage = Some("production".into());
        r.service = Some("checkout".into());
        r.deployment = Some(DeploymentInfo {
            time: at.into(),
            source: "event".into(),
            event_id: None,
            title: None,
            version: Some(version.into()),
            event_type: None,
        });
        r.baseline_window = Some(WindowInfo {
            time_start: "2026-11-17T09:30:00Z".into(),
            time_end: "2026-11-17T10:00:00Z".into(),
        });
        r.time_start = Some("2026-11-17T10:00:00Z".into());
        r.time_end = Some("2026-11-17T10:30:00Z".into());
        r.pipeline = Some(PipelineInfo {
            ci: "github".into(),
            url: Some("https://github.com/shop/checkout/actions/runs/42".into()),
            name: None,
            commit: None,
        });
        r
    }

    fn headers(d: &Value) -> Vec<String> {
        let mut h: Vec<(i64, String)> = d["tiles"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["tileType"] == "HEADER")
            .map(|t| {
                (
                    t["bounds"]["top"].as_i64().unwrap(),
                    t["name"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        h.sort();
        h.into_iter().map(|(_, n)| n).collect()
    }

    #[test]
    fn a_release_is_a_header_charts_before_and_after_and_the_verdict() {
        let d = build(
            &release("1.4.0", "2026-11-17T10:00:00Z"),
            SEL,
            &Options::default(),
            None,
        );
        assert_eq!(
            d["dashboardMetadata"]["name"],
            "slogate · shop/production/checkout"
        );
        assert_eq!(d["dashboardMetadata"]["tags"], json!([TAG]));
        assert_eq!(d["dashboardMetadata"]["owner"], "slogate");
        assert!(d.get("id").is_none(), "a new dashboard has no id");
        let charts: Vec<&Value> = d["tiles"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["tileType"] == "DATA_EXPLORER")
            .collect();
        // Response time, failure rate, throughput: before and after each.
        assert_eq!(charts.len(), 6);
        assert_eq!(
            charts[0]["tileFilter"]["timeframe"],
            "2026-11-17 09:30 to 2026-11-17 10:00"
        );
        assert_eq!(
            charts[1]["tileFilter"]["timeframe"],
            "2026-11-17 10:00 to 2026-11-17 10:30"
        );
        let sel = charts[0]["queries"][0]["metricSelector"].as_str().unwrap();
        assert_eq!(
            sel,
            "builtin:service.response.time:filter(in(\"dt.entity.service\",entitySelector(\"type(SERVICE),tag(~\"app:checkout~\")\"))):splitBy():avg"
        );
        assert!(
            charts[1]["customName"]
                .as_str()
                .unwrap()
                .contains("deployed 2026-11-17 10:00 UTC")
        );
        let md: Vec<&str> = d["tiles"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["markdown"].as_str())
            .collect();
        assert!(md[0].starts_with("## PASS · score"), "{}", md[0]);
        assert!(
            md[0].contains("[Pipeline run](https://github.com/shop/checkout/actions/runs/42)"),
            "{}",
            md[0]
        );
        assert!(md.iter().all(|m| m.len() <= MARKDOWN_MAX));
    }

    #[test]
    fn a_rerun_keeps_the_id_puts_the_new_release_on_top_and_drops_the_oldest() {
        let opts = Options {
            keep_releases: 2,
            ..Options::default()
        };
        let mut d = build(&release("1.0", "2026-11-15T10:00:00Z"), SEL, &opts, None);
        d["id"] = json!("dash-1");
        let d = build(
            &release("1.1", "2026-11-16T10:00:00Z"),
            SEL,
            &opts,
            Some(&d),
        );
        assert_eq!(d["id"], "dash-1");
        assert_eq!(
            headers(&d),
            [
                "Release 1.1 · deployed 2026-11-16 10:00 UTC",
                "Release 1.0 · deployed 2026-11-15 10:00 UTC"
            ]
        );
        let d = build(
            &release("1.2", "2026-11-17T10:00:00Z"),
            SEL,
            &opts,
            Some(&d),
        );
        assert_eq!(
            headers(&d),
            [
                "Release 1.2 · deployed 2026-11-17 10:00 UTC",
                "Release 1.1 · deployed 2026-11-16 10:00 UTC"
            ]
        );
        // The same release again replaces its section.
        let again = build(
            &release("1.2", "2026-11-17T10:00:00Z"),
            SEL,
            &opts,
            Some(&d),
        );
        assert_eq!(headers(&again), headers(&d));
        assert_eq!(
            again["tiles"].as_array().unwrap().len(),
            d["tiles"].as_array().unwrap().len()
        );
        // No two tiles overlap: sections are stacked.
        let tiles = d["tiles"].as_array().unwrap();
        for (i, a) in tiles.iter().enumerate() {
            for b in &tiles[i + 1..] {
                let r = |t: &Value, k: &str| t["bounds"][k].as_i64().unwrap();
                let apart = r(a, "left") + r(a, "width") <= r(b, "left")
                    || r(b, "left") + r(b, "width") <= r(a, "left")
                    || r(a, "top") + r(a, "height") <= r(b, "top")
                    || r(b, "top") + r(b, "height") <= r(a, "top");
                assert!(apart, "{a} overlaps {b}");
            }
        }
    }

    #[test]
    fn apdex_is_charted_where_an_sli_measures_it() {
        let mut r = release("1.4.0", "2026-11-17T10:00:00Z");
        let mut apdex = r.evaluation.indicator_results[0].clone();
        apdex.value.metric = "apdex".into();
        apdex.query = Some(
            "GET /api/v2/metrics/query?metricSelector=builtin%3Aapps.web.apdex.userType%3AsplitBy%28%29&from=1".into(),
        );
        r.evaluation.indicator_results.push(apdex);
        let d = build(&r, SEL, &Options::default(), None);
        let titles: Vec<&str> = d["tiles"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["customName"].as_str())
            .collect();
        assert_eq!(titles.len(), 8);
        let apdex = d["tiles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| {
                t["customName"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("Apdex"))
            })
            .unwrap();
        assert_eq!(
            apdex["queries"][0]["metricSelector"],
            "builtin:apps.web.apdex.userType:splitBy()"
        );
    }

    #[test]
    fn server_text_is_sanitised_and_cannot_break_the_markdown() {
        let mut r = release("1.4.0", "2026-11-17T10:00:00Z");
        r.evaluation.result = crate::eval::Verdict::Fail;
        r.evaluation.indicator_results[0].status = crate::eval::Status::Fail;
        r.evaluation.indicator_results[0].value.metric =
            "rt](javascript:alert(1)) ##vso[task.setvariable variable=x]1".into();
        r.evaluation.indicator_results[0].display_name = String::new();
        r.pipeline.as_mut().unwrap().url = Some("javascript:alert(1)".into());
        let d = build(&r, SEL, &Options::default(), None);
        let md = d["tiles"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|t| t["markdown"].as_str())
            .unwrap();
        // The link text's `]` is escaped: no link to the script.
        assert!(!md.replace("\\]", "").contains("](javascript"), "{md}");
        assert!(!md.contains("##vso["), "{md}");
        assert!(!md.contains("Pipeline run"), "{md}");
    }

    #[test]
    fn long_lists_end_with_how_many_lines_were_left_out() {
        let lines: Vec<String> = (0..200).map(|i| format!("- line {i}")).collect();
        let s = fit(lines);
        assert!(s.len() <= MARKDOWN_MAX);
        assert!(s.ends_with("more line(s) in the report"), "{s}");
    }

    #[test]
    fn snapshot() {
        let mut existing = build(
            &release("1.3.9", "2026-11-16T10:00:00Z"),
            SEL,
            &Options::default(),
            None,
        );
        existing["id"] = json!("4b3b7b1e-0000-4000-8000-000000000001");
        let mut r = fixtures::in_context();
        r.project = Some("shop".into());
        r.stage = Some("production".into());
        r.service = Some("checkout".into());
        r.pipeline = release("x", "2026-11-17T10:00:00Z").pipeline;
        let d = build(&r, SEL, &Options::default(), Some(&existing));
        insta::assert_snapshot!(
            "release_dashboard",
            serde_json::to_string_pretty(&d).unwrap()
        );
    }
}
