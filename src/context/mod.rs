//! The verdict in context: what else happened on the service's entities during the windows —
//! Davis problems and other changes (deployments, configuration changes, feature-flag flips) —
//! and the links into Dynatrace. Pure: the answers of the Problems and Events APIs arrive as
//! parsed values, the windows and the policy as arguments.
//!
//! The problem policy (`context.problems` in slogate.yaml) decides what a problem that started
//! after the deployment does to slogate's outcome. The default, `note`, lists it and changes
//! nothing, so the outcome stays Keptn's; Keptn's own view (`evaluationResult`) is never touched.

pub mod links;
pub mod schedule;

use serde::{Deserialize, Serialize};

use crate::eval::Verdict;

/// What a new problem on the deployed service does to the outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub enum ProblemPolicy {
    /// Not asked for, not listed.
    Ignore,
    /// Listed; the outcome is unchanged (Keptn parity).
    #[default]
    Note,
    /// A pass becomes a warning.
    Warning,
    /// A pass or a warning becomes a fail.
    Fail,
}

pub const PROBLEM_POLICIES: &[&str] = &["ignore", "note", "warning", "fail"];
pub const CHANGE_POLICIES: &[&str] = &["ignore", "note"];

impl ProblemPolicy {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ignore" => Some(Self::Ignore),
            "note" => Some(Self::Note),
            "warning" => Some(Self::Warning),
            "fail" => Some(Self::Fail),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ignore => "ignore",
            Self::Note => "note",
            Self::Warning => "warning",
            Self::Fail => "fail",
        }
    }

    /// Whether the outcome depends on the problems: then they must be checked, and a token
    /// without `problems.read` cannot run the gate.
    pub fn decides(self) -> bool {
        matches!(self, Self::Warning | Self::Fail)
    }
}

/// What else happened in the windows of one evaluation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Context {
    /// The problem policy that was applied.
    pub problem_policy: ProblemPolicy,
    /// Problems on the service's entities whose lifetime overlaps the windows, oldest first.
    #[serde(default)]
    pub problems: Vec<ProblemInfo>,
    /// Set when the problems were not checked, with the reason: the list is then not "none".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problems_not_checked: Option<String>,
    /// Set when the problems of the process groups and hosts the service runs on could not be
    /// read (the service's own were).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_not_checked: Option<String>,
    /// Deployments, configuration changes and feature-flag changes on the same entities inside
    /// either window, other than the deployment the windows are anchored on, oldest first.
    #[serde(default)]
    pub changes: Vec<ChangeInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes_not_checked: Option<String>,
    /// Set when the maintenance windows (Settings API, `settings.read`) were not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_not_checked: Option<String>,
    /// Set when the problem policy changed the outcome: from what, to what, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_changed: Option<PolicyChange>,
    /// The service in Dynatrace over both windows (the deployment is on its timeline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_link: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct PolicyChange {
    pub from: Verdict,
    pub to: Verdict,
    pub reason: String,
}

/// One Davis problem, reduced to what a reader of the verdict needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct ProblemInfo {
    pub problem_id: String,
    /// `P-…` as the UI shows it.
    pub display_id: String,
    pub title: String,
    /// `severityLevel`: AVAILABILITY, ERROR, PERFORMANCE, …
    pub severity: String,
    /// OPEN or CLOSED.
    pub status: String,
    /// RFC 3339.
    pub start: String,
    /// RFC 3339; absent while open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// The root-cause entity's name (or id), when Davis found one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_cause: Option<String>,
    /// Which windows its lifetime overlaps: `before`, `after`, or both.
    pub windows: Vec<String>,
    /// It started at or after the deployment (or, without one, inside the evaluated window):
    /// the problems the policy is about.
    pub started_after_deployment: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Set when the problem is not on the service but on a process group or host it runs on
    /// (`process group`, `host`): listed, never held against the release by the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_related: Option<String>,
}

/// One change event inside a window: a confounder of the before/after comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct ChangeInfo {
    /// `deployment`, `configuration change` or `feature flag change`.
    pub kind: String,
    pub event_type: String,
    /// What changed: `new-checkout-flow=on` for a flag, else the event's title.
    pub what: String,
    /// RFC 3339 start of the event.
    pub time: String,
    /// `before` or `after`.
    pub window: String,
    /// The entity the event is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// A problem as the Problems API v2 answers it.
#[derive(Clone, Debug, PartialEq)]
pub struct RawProblem {
    pub problem_id: String,
    pub display_id: String,
    pub title: String,
    pub severity: String,
    pub status: String,
    pub start_ms: i64,
    /// `None` while open (`endTime` -1).
    pub end_ms: Option<i64>,
    pub root_cause: Option<String>,
    /// The ids of the affected entities.
    pub affected: Vec<String>,
    /// `process group` or `host` when found through the service's related entities.
    pub on_related: Option<String>,
}

/// The entities the service runs on, as selectors of the Problems API: its process groups
/// (`runsOn` from the service) and their hosts (`runsOn` from the process groups). Dynatrace
/// resolves the relationships, so no entity lookup comes first: the requests go out beside the
/// service's own, in the same round trip.
pub fn related_selectors(service_selector: &str) -> [(&'static str, String); 2] {
    let pg = format!("type(PROCESS_GROUP),toRelationships.runsOn({service_selector})");
    let host = format!("type(HOST),toRelationships.runsOn({pg})");
    [("process group", pg), ("host", host)]
}

/// An event as the Events API v2 answers it.
#[derive(Clone, Debug, PartialEq)]
pub struct RawEvent {
    pub event_id: String,
    pub event_type: String,
    pub title: String,
    pub start_ms: i64,
    pub entity_id: Option<String>,
    pub entity_name: Option<String>,
    pub properties: Vec<(String, String)>,
}

/// A maintenance window as the Settings API (`builtin:alerting.maintenance-window`) holds it:
/// its schedule (one-time or recurring, in its time zone) and filters.
#[derive(Clone, Debug, PartialEq)]
pub struct RawMaintenance {
    pub name: String,
    /// Why the schedule cannot be placed in time, when it cannot (an unknown zone or type).
    pub schedule: Result<schedule::Schedule, String>,
    pub filters: Vec<MaintenanceFilter>,
}

/// One filter of a maintenance window; a window applies where any filter matches (no filter:
/// the whole environment).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MaintenanceFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub entity_tags: Vec<String>,
    pub management_zones: Vec<String>,
}

impl MaintenanceFilter {
    /// Whether it covers the service `id` selected by `selector`. Tags are compared with the
    /// selector's `tag(...)` terms; a management-zone condition cannot be checked here and is
    /// taken to match (a possible confounder is listed rather than hidden).
    fn covers(&self, id: Option<&str>, selector: &str) -> bool {
        if let Some(want) = &self.entity_id {
            return id == Some(want.as_str());
        }
        if self
            .entity_type
            .as_ref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("SERVICE"))
        {
            return false;
        }
        let tags = selector_tags(selector);
        self.entity_tags.iter().all(|t| tags.contains(t))
    }
}

/// The `tag(...)` terms of an entity selector, without quotes.
fn selector_tags(selector: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = selector;
    while let Some(i) = rest.find("tag(") {
        rest = &rest[i + 4..];
        let Some(end) = rest.find(')') else { break };
        out.push(rest[..end].trim().trim_matches('"').to_string());
        rest = &rest[end..];
    }
    out
}

/// The maintenance windows on the service that overlap the windows, as changes: one per
/// occurrence of a recurring window (`window`: the first window it overlaps), oldest first.
pub fn maintenance(
    raw: &[RawMaintenance],
    span: &Span,
    service_id: Option<&str>,
    selector: &str,
) -> Vec<ChangeInfo> {
    let (from, to) = span.whole();
    let mut out: Vec<(i64, ChangeInfo)> = raw
        .iter()
        .filter(|m| {
            m.filters.is_empty() || m.filters.iter().any(|f| f.covers(service_id, selector))
        })
        .filter_map(|m| Some((m, m.schedule.as_ref().ok()?)))
        .flat_map(|(m, s)| {
            s.occurrences(from, to)
                .into_iter()
                .filter_map(move |(start, end)| {
                    let window = span.overlapped(start, Some(end)).into_iter().next()?;
                    Some((
                        start,
                        ChangeInfo {
                            kind: "maintenance window".into(),
                            event_type: "MAINTENANCE_WINDOW".into(),
                            what: m.name.clone(),
                            time: rfc3339(start),
                            window,
                            entity: None,
                            link: None,
                        },
                    ))
                })
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.what.cmp(&b.1.what)));
    out.into_iter().map(|(_, c)| c).collect()
}

/// The maintenance windows on the service whose schedule could not be placed in time, with why:
/// "not checked" rather than silently left out.
pub fn unplaced(raw: &[RawMaintenance], service_id: Option<&str>, selector: &str) -> Vec<String> {
    raw.iter()
        .filter(|m| {
            m.filters.is_empty() || m.filters.iter().any(|f| f.covers(service_id, selector))
        })
        .filter_map(|m| {
            m.schedule
                .as_ref()
                .err()
                .map(|why| format!("`{}`: {why}", m.name))
        })
        .collect()
}

/// The windows, in epoch ms, the problems and changes are placed in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Span {
    /// The window before the deployment, when the baseline is a window.
    pub before: Option<(i64, i64)>,
    /// The evaluated window.
    pub after: (i64, i64),
    /// The deployment the windows are anchored on.
    pub deployment_ms: Option<i64>,
}

impl Span {
    /// Everything that is asked for: from the start of the first window to the end of the last.
    pub fn whole(&self) -> (i64, i64) {
        (self.before.map_or(self.after.0, |b| b.0), self.after.1)
    }

    /// When "new" starts: the deployment, else the start of the evaluated window.
    fn anchor(&self) -> i64 {
        self.deployment_ms.unwrap_or(self.after.0)
    }

    /// The windows a lifetime `[start, end]` overlaps (end `None` = still open).
    fn overlapped(&self, start: i64, end: Option<i64>) -> Vec<String> {
        let end = end.unwrap_or(i64::MAX);
        let mut out = Vec::new();
        if let Some((f, t)) = self.before
            && start < t
            && end >= f
        {
            out.push("before".to_string());
        }
        if start < self.after.1 && end >= self.after.0 {
            out.push("after".to_string());
        }
        out
    }

    /// The window holding the instant `t`, if any.
    fn holding(&self, t: i64) -> Option<&'static str> {
        if let Some((f, to)) = self.before
            && (f..to).contains(&t)
        {
            return Some("before");
        }
        (self.after.0..self.after.1).contains(&t).then_some("after")
    }
}

fn rfc3339(ms: i64) -> String {
    crate::query::request::rfc3339_ms(ms)
}

/// The problems that overlap the windows, oldest first, each placed in its windows and marked
/// when it started after the deployment.
pub fn problems(raw: &[RawProblem], span: &Span, ui: Option<&str>) -> Vec<ProblemInfo> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out: Vec<(i64, ProblemInfo)> = raw
        .iter()
        .filter(|p| seen.insert(p.problem_id.clone()))
        .filter_map(|p| {
            let windows = span.overlapped(p.start_ms, p.end_ms);
            if windows.is_empty() {
                return None;
            }
            let info = ProblemInfo {
                problem_id: p.problem_id.clone(),
                display_id: p.display_id.clone(),
                title: p.title.clone(),
                severity: p.severity.clone(),
                status: p.status.clone(),
                start: rfc3339(p.start_ms),
                end: p.end_ms.map(rfc3339),
                root_cause: p.root_cause.clone(),
                windows,
                started_after_deployment: p.start_ms >= span.anchor() && p.start_ms < span.after.1,
                link: ui.map(|u| links::problem(u, &p.problem_id)),
                on_related: p.on_related.clone(),
            };
            Some((p.start_ms, info))
        })
        .collect();
    out.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.display_id.cmp(&b.1.display_id))
    });
    out.into_iter().map(|(_, p)| p).collect()
}

/// Which change events may anchor the windows of `gate --since-event`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnchorKind {
    /// CUSTOM_DEPLOYMENT (`--since-deployment`).
    Deployment,
    /// CUSTOM_CONFIGURATION, and CUSTOM_INFO carrying feature-flag properties.
    Configuration,
    /// Any of those.
    Any,
}

impl AnchorKind {
    /// The event types to ask Dynatrace for (its event selector takes one type per query).
    pub fn event_types(self) -> &'static [&'static str] {
        match self {
            AnchorKind::Deployment => &["CUSTOM_DEPLOYMENT"],
            AnchorKind::Configuration => &["CUSTOM_CONFIGURATION", "CUSTOM_INFO"],
            AnchorKind::Any => CHANGE_TYPES,
        }
    }

    /// Whether an event may anchor: a CUSTOM_INFO event only when it is a flag change (other
    /// info events, slogate's own verdicts among them, change nothing).
    pub fn anchors(self, event_type: &str, properties: &[(String, String)]) -> bool {
        self.event_types().contains(&event_type)
            && (event_type != "CUSTOM_INFO" || flag(properties).is_some())
    }

    /// What was not found, for the error: `deployment` or `configuration change`.
    pub fn noun(self) -> &'static str {
        match self {
            AnchorKind::Deployment => "deployment",
            AnchorKind::Configuration => "configuration change",
            AnchorKind::Any => "deployment or configuration change",
        }
    }

    /// The events looked for, for the error.
    pub fn looked_for(self) -> &'static str {
        match self {
            AnchorKind::Deployment => "CUSTOM_DEPLOYMENT event",
            AnchorKind::Configuration => {
                "CUSTOM_CONFIGURATION event (or CUSTOM_INFO event with feature-flag properties)"
            }
            AnchorKind::Any => {
                "CUSTOM_DEPLOYMENT or CUSTOM_CONFIGURATION event (or CUSTOM_INFO event with feature-flag properties)"
            }
        }
    }
}

/// Event types that change what the service does.
const CHANGE_TYPES: &[&str] = &["CUSTOM_DEPLOYMENT", "CUSTOM_CONFIGURATION", "CUSTOM_INFO"];

/// The flag and its new value of a feature-flag event: OpenTelemetry's `feature_flag.*`
/// attributes, else any property whose key names a flag.
fn flag(properties: &[(String, String)]) -> Option<String> {
    let get = |keys: &[&str]| {
        keys.iter().find_map(|k| {
            properties
                .iter()
                .find(|(p, _)| p.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
        })
    };
    let key = get(&[
        "feature_flag.key",
        "feature_flag.name",
        "featureflag.key",
        "flag.key",
        "flag",
        "feature_flag",
    ]);
    let value = get(&[
        "feature_flag.result.variant",
        "feature_flag.variant",
        "feature_flag.result.value",
        "feature_flag.value",
        "flag.value",
        "flag.variant",
        "value",
        "variant",
    ]);
    match (key, value) {
        (Some(k), Some(v)) => Some(format!("{k}={v}")),
        (Some(k), None) => Some(k),
        (None, _) => properties
            .iter()
            .find(|(k, _)| k.to_ascii_lowercase().contains("flag"))
            .map(|(k, v)| format!("{k}={v}")),
    }
}

/// The change events inside the windows, oldest first: deployments, configuration changes and
/// CUSTOM_INFO events that carry flag properties. The anchoring deployment (`anchor_event`) and
/// slogate's own verdict events are not changes.
pub fn changes(
    raw: &[RawEvent],
    span: &Span,
    anchor_event: Option<&str>,
    ui: Option<&str>,
) -> Vec<ChangeInfo> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out: Vec<(i64, ChangeInfo)> = raw
        .iter()
        .filter(|e| CHANGE_TYPES.contains(&e.event_type.as_str()))
        .filter(|e| Some(e.event_id.as_str()) != anchor_event)
        .filter(|e| seen.insert((e.event_id.clone(), e.entity_id.clone())))
        .filter_map(|e| {
            let window = span.holding(e.start_ms)?;
            let flagged = flag(&e.properties);
            let (kind, what) = match (e.event_type.as_str(), flagged) {
                ("CUSTOM_INFO", Some(f)) => ("feature flag change", f),
                ("CUSTOM_INFO", None) => return None,
                ("CUSTOM_CONFIGURATION", Some(f)) => ("configuration change", f),
                ("CUSTOM_CONFIGURATION", None) => ("configuration change", e.title.clone()),
                _ => ("deployment", e.title.clone()),
            };
            let info = ChangeInfo {
                kind: kind.into(),
                event_type: e.event_type.clone(),
                what,
                time: rfc3339(e.start_ms),
                window: window.into(),
                entity: e.entity_name.clone().or_else(|| e.entity_id.clone()),
                link: match (ui, &e.entity_id) {
                    (Some(u), Some(id)) => Some(links::entity(
                        u,
                        id,
                        e.start_ms - 30 * 60_000,
                        e.start_ms + 30 * 60_000,
                    )),
                    _ => None,
                },
            };
            Some((e.start_ms, info))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.what.cmp(&b.1.what)));
    out.into_iter().map(|(_, c)| c).collect()
}

/// What the policy makes of the outcome `result`, given the problems (or why they were not
/// checked). `None`: unchanged. Only pass and warning are ever changed: a fail stays a fail,
/// and an outcome without a verdict (error, invalid) is not made into one.
pub fn apply(
    policy: ProblemPolicy,
    problems: &[ProblemInfo],
    not_checked: Option<&str>,
    result: Verdict,
) -> Option<PolicyChange> {
    if !policy.decides() || !matches!(result, Verdict::Pass | Verdict::Warning) {
        return None;
    }
    if let Some(why) = not_checked {
        return Some(PolicyChange {
            from: result,
            to: Verdict::Error,
            reason: format!(
                "the problem policy is `{}`, but the problems could not be checked: {why}",
                policy.as_str()
            ),
        });
    }
    // The policy is about the deployed service: a problem on a host or process group it runs
    // on is listed, not held against the release.
    let new: Vec<&ProblemInfo> = problems
        .iter()
        .filter(|p| p.started_after_deployment && p.on_related.is_none())
        .collect();
    if new.is_empty() {
        return None;
    }
    let to = match policy {
        ProblemPolicy::Warning if result == Verdict::Pass => Verdict::Warning,
        ProblemPolicy::Fail => Verdict::Fail,
        _ => return None,
    };
    let names: Vec<String> = new
        .iter()
        .map(|p| format!("{} {}", p.display_id, p.title))
        .collect();
    Some(PolicyChange {
        from: result,
        to,
        reason: format!(
            "{} problem{} started after the deployment ({}); the problem policy `{}` makes a {} a {}",
            new.len(),
            if new.len() == 1 { "" } else { "s" },
            names.join(", "),
            policy.as_str(),
            result.as_str(),
            to.as_str()
        ),
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn anchor_kinds_pick_their_events() {
        let flag = [("feature_flag.key".to_string(), "checkout".to_string())];
        let note = [("note".to_string(), "hello".to_string())];
        let d = AnchorKind::Deployment;
        assert!(d.anchors("CUSTOM_DEPLOYMENT", &[]));
        assert!(!d.anchors("CUSTOM_CONFIGURATION", &[]));
        assert!(!d.anchors("CUSTOM_INFO", &flag));
        let c = AnchorKind::Configuration;
        assert!(c.anchors("CUSTOM_CONFIGURATION", &[]));
        assert!(c.anchors("CUSTOM_INFO", &flag));
        assert!(!c.anchors("CUSTOM_INFO", &note));
        assert!(!c.anchors("CUSTOM_DEPLOYMENT", &[]));
        let a = AnchorKind::Any;
        assert!(a.anchors("CUSTOM_DEPLOYMENT", &[]));
        assert!(a.anchors("CUSTOM_INFO", &flag));
        assert!(!a.anchors("CUSTOM_INFO", &[]));
        assert!(!a.anchors("CUSTOM_ANNOTATION", &flag));
    }
    use super::*;

    const MIN: i64 = 60_000;
    const T0: i64 = 1_795_000_000_000;

    fn span() -> Span {
        Span {
            before: Some((T0 - 30 * MIN, T0)),
            after: (T0 + 5 * MIN, T0 + 35 * MIN),
            deployment_ms: Some(T0),
        }
    }

    fn problem(id: &str, start: i64, end: Option<i64>) -> RawProblem {
        RawProblem {
            problem_id: format!("{id}_V2"),
            display_id: id.into(),
            title: format!("{id} title"),
            severity: "ERROR".into(),
            status: if end.is_some() { "CLOSED" } else { "OPEN" }.into(),
            start_ms: start,
            end_ms: end,
            root_cause: None,
            affected: vec!["SERVICE-1".into()],
            on_related: None,
        }
    }

    #[test]
    fn related_entities_are_the_process_groups_and_hosts_the_service_runs_on() {
        let [(pg_kind, pg), (host_kind, host)] =
            related_selectors("type(SERVICE),tag(\"app:checkout\")");
        assert_eq!((pg_kind, host_kind), ("process group", "host"));
        assert_eq!(
            pg,
            "type(PROCESS_GROUP),toRelationships.runsOn(type(SERVICE),tag(\"app:checkout\"))"
        );
        assert_eq!(
            host,
            "type(HOST),toRelationships.runsOn(type(PROCESS_GROUP),toRelationships.runsOn(type(SERVICE),tag(\"app:checkout\")))"
        );
    }

    #[test]
    fn a_problem_on_a_related_host_is_listed_and_not_held_against_the_release() {
        let mut on_host = problem("P-5", T0 + MIN, None);
        on_host.on_related = Some("host".into());
        let p = problems(&[on_host], &span(), None);
        assert_eq!(p[0].on_related.as_deref(), Some("host"));
        assert!(p[0].started_after_deployment);
        assert_eq!(apply(ProblemPolicy::Fail, &p, None, Verdict::Pass), None);
    }

    #[test]
    fn problems_are_placed_in_their_windows_and_new_ones_marked() {
        let raw = [
            problem("P-3", T0 + 10 * MIN, None),
            problem("P-1", T0 - 90 * MIN, Some(T0 - 60 * MIN)),
            problem("P-2", T0 - 10 * MIN, None),
            problem("P-4", T0 + 40 * MIN, None),
            problem("P-3", T0 + 10 * MIN, None),
        ];
        let p = problems(&raw, &span(), Some("https://abc.live.dynatrace.com"));
        let ids: Vec<&str> = p.iter().map(|p| p.display_id.as_str()).collect();
        // P-1 ended before the windows, P-4 started after them; P-3 is listed once.
        assert_eq!(ids, ["P-2", "P-3"]);
        assert_eq!(p[0].windows, ["before", "after"]);
        assert!(!p[0].started_after_deployment);
        assert_eq!(p[1].windows, ["after"]);
        assert!(p[1].started_after_deployment);
        assert_eq!(
            p[1].link.as_deref(),
            Some("https://abc.live.dynatrace.com/#problems/problemdetails;pid=P-3_V2")
        );
        assert_eq!(p[1].end, None);
    }

    #[test]
    fn without_a_deployment_new_means_inside_the_evaluated_window() {
        let s = Span {
            before: None,
            after: (T0, T0 + 30 * MIN),
            deployment_ms: None,
        };
        let p = problems(
            &[
                problem("P-1", T0 - MIN, None),
                problem("P-2", T0 + MIN, None),
            ],
            &s,
            None,
        );
        assert!(!p[0].started_after_deployment);
        assert!(p[1].started_after_deployment);
        assert_eq!(p[1].link, None);
    }

    fn event(id: &str, ty: &str, at: i64, props: &[(&str, &str)]) -> RawEvent {
        RawEvent {
            event_id: id.into(),
            event_type: ty.into(),
            title: format!("{id} title"),
            start_ms: at,
            entity_id: Some("SERVICE-1".into()),
            entity_name: Some("checkout".into()),
            properties: props
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn changes_are_deployments_configurations_and_flag_flips_in_the_windows() {
        let raw = [
            event("anchor", "CUSTOM_DEPLOYMENT", T0, &[]),
            event(
                "flag",
                "CUSTOM_INFO",
                T0 + 12 * MIN,
                &[
                    ("feature_flag.key", "new-checkout-flow"),
                    ("feature_flag.variant", "on"),
                ],
            ),
            event(
                "verdict",
                "CUSTOM_INFO",
                T0 + 36 * MIN,
                &[("slogate.result", "pass")],
            ),
            event("info", "CUSTOM_INFO", T0 + 13 * MIN, &[("note", "hello")]),
            event("conf", "CUSTOM_CONFIGURATION", T0 - 20 * MIN, &[]),
            event("dep", "CUSTOM_DEPLOYMENT", T0 + 20 * MIN, &[]),
            event("late", "CUSTOM_DEPLOYMENT", T0 + 50 * MIN, &[]),
            event("alert", "ERROR_EVENT", T0 + 20 * MIN, &[]),
        ];
        let c = changes(&raw, &span(), Some("anchor"), None);
        let got: Vec<(&str, &str, &str)> = c
            .iter()
            .map(|c| (c.kind.as_str(), c.what.as_str(), c.window.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("configuration change", "conf title", "before"),
                ("feature flag change", "new-checkout-flow=on", "after"),
                ("deployment", "dep title", "after"),
            ]
        );
        assert_eq!(c[0].entity.as_deref(), Some("checkout"));
    }

    #[test]
    fn maintenance_windows_on_the_service_inside_the_windows() {
        let sel = "type(SERVICE),tag(keptn_stage:production),tag(\"app:checkout\")";
        let utc = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .unwrap()
                .naive_utc()
        };
        let mw = |name: &str, start: i64, filters: Vec<MaintenanceFilter>| RawMaintenance {
            name: name.into(),
            schedule: Ok(schedule::Schedule::Once {
                start: utc(start),
                end: utc(start + 10 * MIN),
                zone: chrono_tz::UTC,
            }),
            filters,
        };
        let tag = |t: &str| MaintenanceFilter {
            entity_tags: vec![t.into()],
            ..Default::default()
        };
        let id = |t: &str| MaintenanceFilter {
            entity_id: Some(t.into()),
            ..Default::default()
        };
        let raw = [
            mw("everywhere", T0 + 10 * MIN, vec![]),
            mw("by tag", T0 - 20 * MIN, vec![tag("app:checkout")]),
            mw("other tag", T0 + 10 * MIN, vec![tag("app:cart")]),
            mw("by id", T0 + 10 * MIN, vec![id("SERVICE-1")]),
            mw("other id", T0 + 10 * MIN, vec![id("SERVICE-2")]),
            mw("too late", T0 + 60 * MIN, vec![]),
            RawMaintenance {
                schedule: Err("unknown time zone".into()),
                ..mw("unplaceable", T0, vec![])
            },
        ];
        let got: Vec<(String, String)> = maintenance(&raw, &span(), Some("SERVICE-1"), sel)
            .into_iter()
            .map(|c| (c.what, c.window))
            .collect();
        assert_eq!(
            got,
            [
                ("by tag".to_string(), "before".to_string()),
                ("by id".into(), "after".into()),
                ("everywhere".into(), "after".into()),
            ]
        );
    }

    #[test]
    fn note_changes_nothing_warning_caps_a_pass_fail_fails() {
        let p = problems(&[problem("P-9", T0 + MIN, None)], &span(), None);
        let old = problems(&[problem("P-8", T0 - MIN, None)], &span(), None);
        assert_eq!(apply(ProblemPolicy::Note, &p, None, Verdict::Pass), None);
        assert_eq!(apply(ProblemPolicy::Ignore, &p, None, Verdict::Pass), None);
        let w = apply(ProblemPolicy::Warning, &p, None, Verdict::Pass).unwrap();
        assert_eq!((w.from, w.to), (Verdict::Pass, Verdict::Warning));
        assert!(w.reason.contains("P-9"), "{}", w.reason);
        assert_eq!(
            apply(ProblemPolicy::Warning, &p, None, Verdict::Warning),
            None
        );
        let f = apply(ProblemPolicy::Fail, &p, None, Verdict::Warning).unwrap();
        assert_eq!(f.to, Verdict::Fail);
        // A problem that was there before the deployment is not the release's.
        assert_eq!(apply(ProblemPolicy::Fail, &old, None, Verdict::Pass), None);
        // Never a verdict out of an error, and a fail stays a fail.
        assert_eq!(apply(ProblemPolicy::Fail, &p, None, Verdict::Error), None);
        assert_eq!(apply(ProblemPolicy::Fail, &p, None, Verdict::Fail), None);
    }

    #[test]
    fn a_deciding_policy_without_problems_is_no_verdict() {
        let c = apply(
            ProblemPolicy::Fail,
            &[],
            Some("the token lacks problems.read"),
            Verdict::Pass,
        )
        .unwrap();
        assert_eq!(c.to, Verdict::Error);
        assert!(c.reason.contains("problems.read"));
        assert_eq!(
            apply(ProblemPolicy::Note, &[], Some("x"), Verdict::Pass),
            None
        );
    }
}
