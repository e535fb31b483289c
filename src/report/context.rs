//! The context sections every people-facing renderer shows (problems in the windows, other
//! changes, what the problem policy did), as plain parts each renderer formats its own way.
//! The strings come from a report that went through [`crate::report::for_people`].

use crate::context::{Context, ProblemInfo};

/// One listed problem or change.
pub(crate) struct Item {
    /// `P-12` or `feature flag change`; the link's text when there is a link.
    pub lead: String,
    /// What changed (`new-checkout-flow=on`), shown as code.
    pub what: Option<String>,
    pub rest: String,
    pub link: Option<String>,
    /// A problem that started after the deployment: the one the policy is about.
    pub new: bool,
}

pub(crate) struct Section {
    pub title: String,
    /// `none in the windows` or `not checked: why`, when there are no items.
    pub status: Option<String>,
    pub items: Vec<Item>,
}

/// `2026-11-17T10:42:00Z` → `2026-11-17 10:42 UTC`.
pub(crate) fn when(t: &str) -> String {
    match (t.get(..10), t.get(11..16)) {
        (Some(d), Some(hm)) if t.ends_with('Z') => format!("{d} {hm} UTC"),
        _ => t.to_string(),
    }
}

fn problem(p: &ProblemInfo) -> Item {
    let mut rest = format!("{} ({}, {}", p.title, p.severity, p.status);
    match &p.end {
        Some(end) => rest.push_str(&format!(", {} to {}", when(&p.start), when(end))),
        None => rest.push_str(&format!(", since {}", when(&p.start))),
    }
    rest.push(')');
    if p.started_after_deployment {
        rest.push_str(", started after the deployment");
    }
    if let Some(kind) = &p.on_related {
        rest.push_str(&format!(", on a related {kind} (not the service itself)"));
    }
    let windows = match p.windows.as_slice() {
        [one] => format!(", in the {one} window"),
        _ => ", in both windows".into(),
    };
    rest.push_str(&windows);
    if let Some(rc) = &p.root_cause {
        rest.push_str(&format!(", root cause {rc}"));
    }
    Item {
        lead: p.display_id.clone(),
        what: None,
        rest,
        link: p.link.clone(),
        new: p.started_after_deployment,
    }
}

/// The sections of a report's context, in order: problems (unless ignored), then changes.
pub(crate) fn sections(c: &Context) -> Vec<Section> {
    let mut out = Vec::new();
    if c.problem_policy != crate::context::ProblemPolicy::Ignore {
        out.push(Section {
            title: format!(
                "Problems in the windows (policy: {})",
                c.problem_policy.as_str()
            ),
            status: match (&c.problems_not_checked, c.problems.is_empty()) {
                (Some(why), _) => Some(format!("not checked: {why}")),
                (None, true) => Some(match &c.related_not_checked {
                    Some(why) => format!("none on the service's entities; not checked: {why}"),
                    None => "none on the service's entities".into(),
                }),
                (None, false) => None,
            },
            items: c
                .problems
                .iter()
                .map(problem)
                .chain(
                    c.related_not_checked
                        .iter()
                        .filter(|_| !c.problems.is_empty())
                        .map(|why| Item {
                            lead: "not checked".into(),
                            what: None,
                            rest: why.clone(),
                            link: None,
                            new: false,
                        }),
                )
                .collect(),
        });
    }
    let changes_checked = !c.changes.is_empty() || c.changes_not_checked.is_some();
    if changes_checked || c.problems_not_checked.is_none() {
        let maintenance = c
            .maintenance_not_checked
            .as_ref()
            .map(|why| format!("maintenance windows not checked: {why}"));
        let mut items: Vec<Item> = c
            .changes
            .iter()
            .map(|ch| Item {
                lead: ch.kind.clone(),
                what: Some(ch.what.clone()),
                rest: format!(
                    "{} {} {} the {} window{}",
                    if ch.kind == "maintenance window" {
                        "from"
                    } else {
                        "at"
                    },
                    when(&ch.time),
                    if ch.kind == "maintenance window" {
                        "overlapping"
                    } else {
                        "inside"
                    },
                    ch.window,
                    ch.entity
                        .as_ref()
                        .map(|e| format!(" (on {e})"))
                        .unwrap_or_default()
                ),
                link: ch.link.clone(),
                new: false,
            })
            .collect();
        let status = match (&c.changes_not_checked, items.is_empty()) {
            (Some(why), _) => Some(format!("not checked: {why}")),
            (None, true) => Some(match &maintenance {
                Some(m) => format!("none on the service's entities; {m}"),
                None => "none on the service's entities".into(),
            }),
            (None, false) => None,
        };
        if let (None, Some(m)) = (&status, maintenance) {
            items.push(Item {
                lead: m,
                what: None,
                rest: String::new(),
                link: None,
                new: false,
            });
        }
        out.push(Section {
            title: "Other changes in the windows".into(),
            status,
            items,
        });
    }
    out
}

/// `The problem policy changed the outcome from pass to fail: why`.
pub(crate) fn policy_line(c: &Context) -> Option<String> {
    c.policy_changed.as_ref().map(|p| {
        format!(
            "The problem policy changed the outcome from {} to {}: {}",
            p.from.as_str(),
            p.to.as_str(),
            p.reason
        )
    })
}

/// One item as a plain line: `P-12 Failure rate increase (…)`, ``feature flag change `x=on` at …``.
pub(crate) fn plain(i: &Item) -> String {
    match &i.what {
        Some(w) => format!("{} `{w}` {}", i.lead, i.rest),
        None if i.rest.is_empty() => i.lead.clone(),
        None => format!("{} {}", i.lead, i.rest),
    }
}

/// Every line of the context as plain text (JUnit, annotations): the policy first.
pub(crate) fn plain_lines(c: &Context) -> Vec<String> {
    let mut out: Vec<String> = policy_line(c).into_iter().collect();
    for s in sections(c) {
        match &s.status {
            Some(st) => out.push(format!("{}: {st}", s.title)),
            None => {
                out.push(format!("{}:", s.title));
                out.extend(s.items.iter().map(|i| format!("  {}", plain(i))));
            }
        }
    }
    out
}
