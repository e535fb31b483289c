//! Events slogate sends to Dynatrace (Events API v2): deployment and configuration markers, and
//! verdicts. Pure: payloads and selectors are built here, sent by `source::events`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::report::Report;

/// The default entity selector of a service, from Keptn's `keptn_*` tags. `{project}`,
/// `{stage}`, `{service}` are filled in; terms whose placeholder has no value are left out.
pub const DEFAULT_SELECTOR_TEMPLATE: &str = "type(SERVICE),tag(keptn_project:{project}),tag(keptn_stage:{stage}),tag(keptn_service:{service})";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Deployment,
    Configuration,
    Info,
    Annotation,
}

impl EventKind {
    pub fn event_type(self) -> &'static str {
        match self {
            EventKind::Deployment => "CUSTOM_DEPLOYMENT",
            EventKind::Configuration => "CUSTOM_CONFIGURATION",
            EventKind::Info => "CUSTOM_INFO",
            EventKind::Annotation => "CUSTOM_ANNOTATION",
        }
    }
}

/// Who is selected: the values for the template.
#[derive(Clone, Debug, Default)]
pub struct Target {
    pub project: Option<String>,
    pub stage: Option<String>,
    pub service: Option<String>,
}

/// Fills a selector template. Top-level terms (split at commas outside parentheses and quotes)
/// whose placeholders have no value are dropped; `Err` when no term narrows the selection.
pub fn selector(template: &str, target: &Target) -> Result<String, String> {
    let mut terms = Vec::new();
    for term in split_top_level(template) {
        let mut t = term.trim().to_string();
        let mut missing = false;
        for (name, value) in [
            ("project", &target.project),
            ("stage", &target.stage),
            ("service", &target.service),
        ] {
            let ph = format!("{{{name}}}");
            if t.contains(&ph) {
                match value {
                    Some(v) if !v.is_empty() => t = t.replace(&ph, v),
                    _ => missing = true,
                }
            }
        }
        if !missing && !t.is_empty() {
            terms.push(t);
        }
    }
    let narrowed = terms.iter().any(|t| !t.starts_with("type("));
    if !narrowed {
        return Err(format!(
            "the entity selector template `{template}` selects every entity without --project, --stage or --service"
        ));
    }
    Ok(terms.join(","))
}

fn split_top_level(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, false, 0);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quote = !quote,
            '(' if !quote => depth += 1,
            ')' if !quote => depth -= 1,
            ',' if !quote && depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// What `slogate mark` sends.
#[derive(Clone, Debug, Default)]
pub struct Mark {
    pub title: String,
    pub version: Option<String>,
    pub project: Option<String>,
    pub stage: Option<String>,
    pub service: Option<String>,
    /// `--flag name=value` (configuration events).
    pub flags: Vec<(String, String)>,
    /// `--property k=v`.
    pub properties: Vec<(String, String)>,
    /// CI metadata (`ci::properties`).
    pub ci: BTreeMap<String, String>,
    pub run_url: Option<String>,
    /// Event start in epoch ms; `None` is "now" at Dynatrace.
    pub start_ms: Option<i64>,
}

/// The ingest body for one event.
pub fn payload(kind: EventKind, entity_selector: &str, m: &Mark) -> Value {
    let mut props: BTreeMap<String, String> = m.ci.clone();
    if kind == EventKind::Deployment {
        props.insert("dt.event.deployment.name".into(), m.title.clone());
        if let Some(v) = &m.version {
            props.insert("dt.event.deployment.version".into(), v.clone());
        }
        if let Some(s) = &m.stage {
            props.insert("dt.event.deployment.release_stage".into(), s.clone());
        }
        if let Some(s) = &m.service {
            props.insert("dt.event.deployment.release_product".into(), s.clone());
        }
        if let Some(p) = &m.project {
            props.insert("dt.event.deployment.project".into(), p.clone());
        }
        if let Some(u) = &m.run_url {
            props.insert("dt.event.deployment.ci_back_link".into(), u.clone());
        }
        if let Some(b) =
            m.ci.get("azure.build_number")
                .or_else(|| m.ci.get("github.run_id"))
        {
            props.insert(
                "dt.event.deployment.release_build_version".into(),
                b.clone(),
            );
        }
    } else if let Some(v) = &m.version {
        props.insert("version".into(), v.clone());
    }
    for (k, v) in &m.flags {
        props.insert(format!("flag.{k}"), v.clone());
    }
    for (k, v) in &m.properties {
        props.insert(k.clone(), v.clone());
    }
    props.insert("slogate.version".into(), env!("CARGO_PKG_VERSION").into());
    let mut body = json!({
        "eventType": kind.event_type(),
        "title": m.title,
        "entitySelector": entity_selector,
        "properties": props,
    });
    if let Some(start) = m.start_ms {
        body["startTime"] = json!(start);
    }
    body
}

/// The default title: `checkout 1.4.0 deployed to production`, `checkout: checkout-v2=on`, ...
pub fn default_title(kind: EventKind, m: &Mark) -> String {
    let who = m
        .service
        .clone()
        .or_else(|| m.project.clone())
        .unwrap_or_else(|| "release".into());
    match kind {
        EventKind::Deployment => {
            let mut t = who;
            if let Some(v) = &m.version {
                t.push(' ');
                t.push_str(v);
            }
            if let Some(s) = &m.stage {
                t.push_str(&format!(" deployed to {s}"));
            }
            t
        }
        EventKind::Configuration if !m.flags.is_empty() => {
            let flags: Vec<String> = m.flags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{who}: {}", flags.join(", "))
        }
        EventKind::Configuration => format!("{who}: configuration change"),
        EventKind::Info | EventKind::Annotation => format!("{who}: note from the pipeline"),
    }
}

/// The CUSTOM_INFO event that carries a verdict to the service's timeline (`--push-result`).
/// It also holds what a later `--history dynatrace` needs to use it as a previous evaluation.
pub fn verdict_payload(entity_selector: &str, report: &Report, run_url: Option<&str>) -> Value {
    let e = &report.evaluation;
    let who = report.service.clone().unwrap_or_else(|| "service".into());
    let title = format!(
        "slogate: {} {} (score {})",
        who,
        e.result.as_str().to_uppercase(),
        crate::eval::gofmt::go_v((e.score * 100.0).round() / 100.0)
    );
    let mut props: BTreeMap<String, String> = BTreeMap::new();
    props.insert("slogate.result".into(), e.result.as_str().into());
    props.insert("slogate.score".into(), crate::eval::gofmt::go_v(e.score));
    props.insert("slogate.message".into(), truncate(&e.message, 4000));
    for (k, v) in [
        ("slogate.project", &report.project),
        ("slogate.stage", &report.stage),
        ("slogate.service", &report.service),
    ] {
        if let Some(v) = v {
            props.insert(k.into(), v.clone());
        }
    }
    if let Some(t) = &report.time_start {
        props.insert("slogate.time_start".into(), t.clone());
    }
    if let Some(t) = &report.time_end {
        props.insert("slogate.time_end".into(), t.clone());
    }
    props.insert("slogate.slo_hash".into(), report.slo.hash.clone());
    if let Some(u) = run_url {
        props.insert("slogate.pipeline_url".into(), u.to_string());
    }
    // Values for people (one property each) and for machines (one JSON list).
    let mut indicators = Vec::new();
    for r in &e.indicator_results {
        let shown = match (r.value.success, r.value.value) {
            (true, Some(v)) => format!(
                "{} ({})",
                crate::eval::gofmt::go_v(v),
                status_word(r.status)
            ),
            _ => format!("no value ({})", status_word(r.status)),
        };
        if props.len() < 90 {
            props.insert(format!("sli.{}", r.value.metric), truncate(&shown, 200));
        }
        indicators.push(json!({"metric": r.value.metric, "value": r.value.value, "success": r.value.success, "status": r.status}));
    }
    // Dynatrace caps a property at 4096 characters: keep as many indicators as fit.
    while !indicators.is_empty() && Value::Array(indicators.clone()).to_string().len() > 4000 {
        indicators.pop();
    }
    props.insert(
        "slogate.indicators".into(),
        Value::Array(indicators).to_string(),
    );
    json!({
        "eventType": EventKind::Info.event_type(),
        "title": title,
        "entitySelector": entity_selector,
        "properties": props,
    })
}

/// A verdict event read back as a previous evaluation (`--history dynatrace`); `None` when the
/// event lacks slogate's properties.
pub fn verdict_from_properties(
    id: &str,
    props: &[(String, String)],
) -> Option<crate::eval::previous::PreviousEvaluation> {
    let get = |k: &str| {
        props
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let result = get("slogate.result")?.to_string();
    let indicators: Vec<Value> = serde_json::from_str(get("slogate.indicators")?).ok()?;
    Some(crate::eval::previous::PreviousEvaluation {
        id: id.to_string(),
        result,
        score: get("slogate.score").and_then(|s| s.parse().ok()),
        indicators: indicators
            .iter()
            .filter_map(|i| {
                Some(crate::eval::SliValue {
                    metric: i.get("metric")?.as_str()?.to_string(),
                    value: i.get("value").and_then(Value::as_f64),
                    success: i.get("success").and_then(Value::as_bool).unwrap_or(false),
                    message: String::new(),
                })
            })
            .collect(),
        invalidated: false,
    })
}

fn status_word(s: crate::eval::Status) -> &'static str {
    match s {
        crate::eval::Status::Pass => "pass",
        crate::eval::Status::Warning => "warning",
        crate::eval::Status::Fail => "fail",
        crate::eval::Status::Info => "info",
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(p: Option<&str>, st: Option<&str>, sv: Option<&str>) -> Target {
        Target {
            project: p.map(Into::into),
            stage: st.map(Into::into),
            service: sv.map(Into::into),
        }
    }

    #[test]
    fn selectors_from_the_template() {
        let t = target(Some("shop"), Some("production"), Some("checkout"));
        assert_eq!(
            selector(DEFAULT_SELECTOR_TEMPLATE, &t).unwrap(),
            "type(SERVICE),tag(keptn_project:shop),tag(keptn_stage:production),tag(keptn_service:checkout)"
        );
        let t = target(None, Some("production"), Some("checkout"));
        assert_eq!(
            selector(DEFAULT_SELECTOR_TEMPLATE, &t).unwrap(),
            "type(SERVICE),tag(keptn_stage:production),tag(keptn_service:checkout)"
        );
        assert!(selector(DEFAULT_SELECTOR_TEMPLATE, &Target::default()).is_err());
        let custom = "type(\"SERVICE\"),tag(\"app:{service}\"),mzName(\"{stage}, EU\")";
        assert_eq!(
            selector(custom, &target(None, Some("prod"), Some("cart"))).unwrap(),
            "type(\"SERVICE\"),tag(\"app:cart\"),mzName(\"prod, EU\")"
        );
    }

    #[test]
    fn deployment_payload() {
        let m = Mark {
            title: "checkout 1.4.0 deployed to production".into(),
            version: Some("1.4.0".into()),
            project: Some("shop".into()),
            stage: Some("production".into()),
            service: Some("checkout".into()),
            properties: vec![("gitcommit".into(), "e5a6bac".into())],
            run_url: Some("https://ci/1".into()),
            ..Mark::default()
        };
        assert_eq!(
            default_title(EventKind::Deployment, &m),
            "checkout 1.4.0 deployed to production"
        );
        let p = payload(EventKind::Deployment, "type(SERVICE),tag(app:checkout)", &m);
        assert_eq!(p["eventType"], "CUSTOM_DEPLOYMENT");
        assert_eq!(p["properties"]["dt.event.deployment.version"], "1.4.0");
        assert_eq!(
            p["properties"]["dt.event.deployment.release_stage"],
            "production"
        );
        assert_eq!(
            p["properties"]["dt.event.deployment.ci_back_link"],
            "https://ci/1"
        );
        assert_eq!(p["properties"]["gitcommit"], "e5a6bac");
        assert!(p.get("startTime").is_none());
    }

    #[test]
    fn configuration_payload() {
        let m = Mark {
            service: Some("checkout".into()),
            flags: vec![("checkout-v2".into(), "on".into())],
            ..Mark::default()
        };
        assert_eq!(
            default_title(EventKind::Configuration, &m),
            "checkout: checkout-v2=on"
        );
        let p = payload(
            EventKind::Configuration,
            "type(SERVICE)",
            &Mark {
                title: "t".into(),
                ..m
            },
        );
        assert_eq!(p["eventType"], "CUSTOM_CONFIGURATION");
        assert_eq!(p["properties"]["flag.checkout-v2"], "on");
    }

    #[test]
    fn truncation_keeps_char_boundaries() {
        assert_eq!(truncate("äääää", 3), "ä…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
