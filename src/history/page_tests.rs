use super::*;
use crate::history::{DocumentKind, Summary};
use serde_json::json;

fn record(id: &str, service: &str, end: &str, result: &str, doc: Value) -> StoredEvaluation {
    StoredEvaluation {
        summary: Summary {
            id: id.into(),
            kind: DocumentKind::Slogate,
            project: "shop".into(),
            stage: "production".into(),
            service: service.into(),
            labels: BTreeMap::from([("version".to_string(), format!("1.{id}"))]),
            time_start: None,
            time_end: Some(end.into()),
            result: result.into(),
            score: Some(if result == "pass" { 100.0 } else { 50.0 }),
            tool: None,
            recorded_at: end.into(),
            invalidated: false,
            invalidated_at: None,
            invalidated_reason: None,
            runs: 1,
            pinned_at: None,
            pinned_reason: None,
        },
        indicators: Vec::new(),
        document: doc,
        earlier_run_ids: Vec::new(),
    }
}

fn doc(status: &str, value: f64, name: &str) -> Value {
    json!({
        "slo": {"passThreshold": "90%", "warningThreshold": "75"},
        "pipeline": {"ci": "github", "url": "javascript:alert(1)", "name": "run"},
        "indicatorResults": [
            {"displayName": name, "status": status, "unit": "MilliSecond",
             "value": {"metric": "rt", "value": value, "comparedValue": 400.0, "success": true},
             "passTargets": [{"criteria": "<=+10%", "targetValue": 440.0, "violated": status != "pass"}],
             "warningTargets": [{"criteria": "<=800", "targetValue": 800.0, "violated": false}]},
            {"value": {"metric": "err", "value": null, "success": false, "message": "no data\u{1b}[31m"}}
        ]
    })
}

fn fixture() -> Vec<StoredEvaluation> {
    let mut a = record(
        "a1",
        "checkout",
        "2026-11-01T10:00:00Z",
        "pass",
        doc("pass", 400.0, "Response time"),
    );
    a.summary.pinned_at = Some("2026-11-02T00:00:00Z".into());
    a.summary.pinned_reason = Some("known good".into());
    let mut b = record(
        "b2",
        "checkout",
        "2026-11-02T10:00:00Z",
        "fail",
        doc("fail", 900.0, "Response <time>"),
    );
    b.summary.invalidated = true;
    b.summary.invalidated_reason = Some("load test".into());
    let c = record(
        "c3",
        "checkout",
        "2026-11-03T10:00:00Z",
        "warning",
        doc("warning", 450.0, "Response time"),
    );
    let d = record(
        "d4",
        "cart",
        "2026-11-03T10:00:00Z",
        "pass",
        json!({"indicatorResults": []}),
    );
    // Any order in, oldest first out.
    vec![c, a, d, b]
}

#[test]
fn the_model_groups_orders_and_keeps_what_people_see() {
    let page = build(&fixture(), &Options::default(), "h.sqlite");
    assert_eq!(page.services.len(), 2);
    assert_eq!(page.services[0].service, "cart");
    let s = &page.services[1];
    assert_eq!(s.title(), "checkout · production · shop");
    let ids: Vec<&str> = s.columns.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["a1", "b2", "c3"]);
    assert_eq!(s.pinned().map(|c| c.id.as_str()), Some("a1"));
    assert_eq!(s.columns[0].pinned.as_deref(), Some("known good"));
    assert_eq!(s.columns[1].invalidated.as_deref(), Some("load test"));
    assert_eq!(s.columns[2].label.as_deref(), Some("version 1.c3"));
    assert_eq!(s.columns[0].pipeline_link, None, "only web links");
    assert_eq!(
        (s.pass_threshold, s.warning_threshold),
        (Some(90.0), Some(75.0))
    );
    // Rows: the newest evaluation's names; a cell per column.
    assert_eq!(s.rows.len(), 2);
    assert_eq!(s.rows[0].name, "Response time");
    let outcomes: Vec<Outcome> = s.rows[0].cells.iter().map(Cell::outcome).collect();
    assert_eq!(outcomes, [Outcome::Pass, Outcome::Fail, Outcome::Warning]);
    assert_eq!(s.rows[0].cells[1].baseline, Some(400.0));
    assert_eq!(s.rows[1].cells[0].outcome(), Outcome::Error);
    assert!(
        !s.rows[1].cells[0].message.contains('\u{1b}'),
        "foreign text is made safe"
    );
    assert_eq!(criteria_text(&s.rows[0].cells[1].pass), "<=+10% (440) ✗");
    assert_eq!(criteria_text(&s.rows[0].cells[1].warning), "<=800");
}

#[test]
fn last_and_since_cut_per_service() {
    let last = build(
        &fixture(),
        &Options {
            last: Some(1),
            ..Options::default()
        },
        "x",
    );
    assert_eq!(last.services[1].columns.len(), 1);
    assert_eq!(last.services[1].columns[0].id, "c3");
    assert_eq!(last.services[1].total, 3);
    let since = build(
        &fixture(),
        &Options {
            since: Some("2026-11-02T00:00:00Z".parse().unwrap()),
            ..Options::default()
        },
        "x",
    );
    let ids: Vec<&str> = since.services[1]
        .columns
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(ids, ["b2", "c3"]);
    let linked = build(
        &fixture(),
        &Options {
            report_link: Some("reports/{id}.html".into()),
            ..Options::default()
        },
        "x",
    );
    assert_eq!(
        linked.services[0].columns[0].report_link.as_deref(),
        Some("reports/d4.html")
    );
}

#[test]
fn snapshots_of_the_html_and_markdown() {
    let page = build(
        &fixture(),
        &Options {
            report_link: Some("reports/{id}.html".into()),
            ..Options::default()
        },
        "h.sqlite",
    );
    let html = super::super::page_html::render(&page);
    assert!(!html.contains("<script"));
    assert!(html.contains("Response &lt;time&gt;") || !html.contains("<time>"));
    insta::assert_snapshot!("history_page_html", html);
    insta::assert_snapshot!(
        "history_page_markdown",
        super::super::page_md::render(&page)
    );
}

#[test]
fn the_policy_allows_exactly_the_style() {
    let csp = super::super::page_html::content_security_policy();
    assert!(csp.starts_with("default-src 'none'; style-src 'sha256-"));
    assert!(!csp.contains("unsafe-inline") && !csp.contains("script-src"));
}
