//! Beside the fetch (step 4): the problems and change events on each service's entities over
//! its windows, asked in the same concurrent step as the metrics; after the scoring (step 5):
//! the context put into each report and the problem policy applied (docs/context.md).

use super::inputs::Inputs;
use super::windows::{Windows, service_selector};
use crate::context::{self, Context, RawEvent, RawMaintenance, RawProblem, Span};
use crate::plan::Plan;
use crate::report::Report;
use crate::source::preflight::Checked;
use crate::ui::stderr;

pub(crate) const PROBLEMS_READ: &str = "problems.read";
pub(crate) const SETTINGS_READ: &str = "settings.read";

/// The problems of a service, and why those of its related process groups and hosts were not
/// read.
type Problems = (Vec<RawProblem>, Option<String>);

/// What was asked for one service: each list, or why it was not read (`None`: not asked).
pub(crate) struct Asked {
    /// The problems, and why those of the related process groups and hosts were not read.
    problems: Option<Result<Problems, String>>,
    changes: Option<Result<Vec<RawEvent>, String>>,
}

/// What was asked for the run: per service, and the environment's maintenance windows (once).
pub(crate) struct Found {
    per_plan: Vec<Asked>,
    maintenance: Option<Result<Vec<RawMaintenance>, String>>,
}

impl Found {
    /// The Davis problems of service `k` (its own and its related entities') that were over by
    /// `by_ms`: the judge leaves their minutes out of the baseline. Empty when not asked.
    pub(crate) fn incidents_before(&self, k: usize, by_ms: i64) -> Vec<(i64, i64, String)> {
        let Some(Asked {
            problems: Some(Ok((problems, _))),
            ..
        }) = self.per_plan.get(k)
        else {
            return Vec::new();
        };
        problems
            .iter()
            .filter_map(|p| {
                let end = p.end_ms.filter(|e| *e <= by_ms && *e > p.start_ms)?;
                let on = p
                    .on_related
                    .as_deref()
                    .map(|r| format!(", on a related {r}"))
                    .unwrap_or_default();
                Some((
                    p.start_ms,
                    end,
                    format!("{} ({}{on})", p.display_id, p.title),
                ))
            })
            .collect()
    }
}

/// The span a service's context covers.
fn span(w: &Windows) -> Span {
    let ms = |t: chrono::DateTime<chrono::Utc>| t.timestamp_millis();
    Span {
        before: w.baseline.map(|b| (ms(b.from), ms(b.to))),
        after: (ms(w.eval.from), ms(w.eval.to)),
        deployment_ms: w
            .deployment
            .as_ref()
            .and_then(|d| chrono::DateTime::parse_from_rfc3339(&d.time).ok())
            .map(|t| t.timestamp_millis()),
    }
}

/// The problems and change events of every service, beside the metrics. At most
/// `--concurrency` services are asked at a time, and a request the token check has meanwhile
/// shown to lack its scope is not sent: a fleet with a metrics-only token costs a handful of
/// refused requests, not two per service. Until the token check has answered, only as many
/// services as fill the adaptive limit's start ask (the others would queue in the limit and go
/// out after the answer that makes them pointless); after it, all of them. A run without a Dynatrace token asks nothing (its
/// reports then say "not checked" where a policy needs the problems).
pub(crate) async fn fetch(
    inputs: &Inputs,
    windows: &[Windows],
    known: &std::sync::OnceLock<Checked>,
    concurrency: usize,
) -> Found {
    use futures_util::stream::{self, StreamExt};
    let client = &inputs.client;
    let connected = inputs.conn.token.is_some();
    let lacks = move |scope: &str| {
        known
            .get()
            .filter(|c| !c.allows(scope))
            .map(|_| format!("the token lacks the scope {scope} (docs/token-scopes.md)"))
    };
    // Four services (their problems and events) before the token check answers: enough to fill
    // a small gate's first round trip, few enough that a metrics-only token's refusals do not
    // queue in the limit ahead of the metrics.
    let before_check = tokio::sync::Semaphore::new(concurrency.clamp(1, 4));
    let gate = &before_check;
    let jobs = inputs
        .plans
        .iter()
        .zip(windows)
        .map(|(plan, w)| async move {
            let c = &plan.settings.context;
            let wants_problems = c.problem_policy() != context::ProblemPolicy::Ignore;
            let wants_changes = c.lists_changes();
            if !connected || !(wants_problems || wants_changes) {
                return Asked {
                    problems: None,
                    changes: None,
                };
            }
            let _pass = match known.get() {
                Some(_) => None,
                // The check may answer while this waits: then the pass is not needed.
                None => gate.acquire().await.ok().filter(|_| known.get().is_none()),
            };
            let selector = service_selector(plan);
            let (from, to) = span(w).whole();
            let problems = async {
                match (&selector, wants_problems) {
                    (_, false) => None,
                    (Err(m), true) => Some(Err(m.clone())),
                    (Ok(sel), true) => Some(match lacks(PROBLEMS_READ) {
                        Some(why) => Err(why),
                        None => {
                            crate::source::context::problems_with_related(client, sel, from, to)
                                .await
                        }
                    }),
                }
            };
            let changes = async {
                match (&selector, wants_changes) {
                    (_, false) => None,
                    (Err(m), true) => Some(Err(m.clone())),
                    (Ok(sel), true) => Some(match lacks(crate::source::preflight::EVENTS_READ) {
                        Some(why) => Err(why),
                        None => crate::source::context::events(client, sel, from, to).await,
                    }),
                }
            };
            let (problems, changes) = tokio::join!(problems, changes);
            Asked { problems, changes }
        });
    let per_plan = stream::iter(jobs).buffered(concurrency.max(1)).collect();
    // Maintenance windows are the environment's: asked once, whatever the number of services.
    let maintenance = async {
        if !connected
            || !inputs
                .plans
                .iter()
                .any(|p| p.settings.context.lists_maintenance())
        {
            return None;
        }
        Some(match lacks(SETTINGS_READ) {
            Some(why) => Err(why),
            None => crate::source::context::maintenance(client).await,
        })
    };
    let (per_plan, maintenance) = tokio::join!(per_plan, maintenance);
    Found {
        per_plan,
        maintenance,
    }
}

/// The context requests an evaluation of `plan` over `[from, to]` sends beside its metric
/// queries, as `explain` shows them: what each asks for, and the request.
pub(crate) fn requests(plan: &Plan, from_ms: i64, to_ms: i64) -> Vec<(&'static str, String)> {
    use crate::source::context::{events_request, maintenance_request, problems_request};
    let c = &plan.settings.context;
    let Ok(sel) = service_selector(plan) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if c.problem_policy() != context::ProblemPolicy::Ignore {
        out.push(("problems", problems_request(&sel, from_ms, to_ms).display()));
        for (kind, related) in context::related_selectors(&sel) {
            out.push((
                match kind {
                    "host" => "problems of its hosts",
                    _ => "problems of its process groups",
                },
                problems_request(&related, from_ms, to_ms).display(),
            ));
        }
    }
    if c.lists_changes() {
        out.push(("changes", events_request(&sel, from_ms, to_ms).display()));
    }
    if c.lists_maintenance() {
        out.push(("maintenance windows", maintenance_request().display()));
    }
    out
}

/// The preflight's word on the context scopes: a token known to lack one is named before the
/// reports say "not checked". Policies that decide the outcome need the scope (see
/// [`needed`]); the preflight has refused the token then.
pub(crate) fn preflight_notes(checked: &Checked, plans: &[Plan], token_env: &str) {
    let any = |f: fn(&Plan) -> bool| plans.iter().any(f);
    if any(|p| p.settings.context.problem_policy() == context::ProblemPolicy::Note)
        && !checked.allows(PROBLEMS_READ)
    {
        stderr(&format!(
            "warning: the token in {token_env} lacks problems.read: the problems in the windows are not checked (docs/context.md)\n"
        ));
    }
    if any(|p| p.settings.context.lists_changes())
        && !checked.allows(crate::source::preflight::EVENTS_READ)
    {
        stderr(&format!(
            "warning: the token in {token_env} lacks events.read: other changes in the windows are not checked (docs/context.md)\n"
        ));
    }
    if any(|p| p.settings.context.lists_maintenance()) && !checked.allows(SETTINGS_READ) {
        stderr(&format!(
            "warning: the token in {token_env} lacks settings.read: maintenance windows are not checked (docs/context.md)\n"
        ));
    }
}

/// The scope a run needs because a problem policy decides its outcome.
pub(crate) fn needed(plans: &[Plan]) -> Option<&'static str> {
    plans
        .iter()
        .any(|p| p.settings.context.problem_policy().decides())
        .then_some(PROBLEMS_READ)
}

/// Each report gets its context, and the problem policy its say over `result` (never over
/// Keptn's `evaluationResult`).
pub(crate) fn apply(inputs: &Inputs, windows: &[Windows], found: Found, reports: &mut [Report]) {
    let ui = context::links::ui_base(
        &inputs.conn.url,
        inputs.plans[0]
            .settings
            .dynatrace
            .as_ref()
            .and_then(|d| d.ui_url.as_ref())
            .map(|u| u.value.as_str()),
    );
    let ui = ui.as_deref();
    for (((plan, w), asked), report) in inputs
        .plans
        .iter()
        .zip(windows)
        .zip(found.per_plan)
        .zip(reports)
    {
        let policy = plan.settings.context.problem_policy();
        let span = span(w);
        let none_asked = asked.problems.is_none() && asked.changes.is_none();
        if none_asked && !policy.decides() {
            continue;
        }
        let anchor = w.deployment.as_ref().and_then(|d| d.event_id.as_deref());
        let mut c = Context {
            problem_policy: policy,
            ..Context::default()
        };
        // The service's page over both windows: the entity id comes from what Dynatrace
        // answered about it (an event or a problem on it, the anchoring deployment first).
        let entity = service_entity(&asked);
        match asked.problems {
            Some(Ok((raw, related))) => {
                c.problems = context::problems(&raw, &span, ui);
                c.related_not_checked = related;
            }
            Some(Err(why)) => c.problems_not_checked = Some(why),
            None if policy == context::ProblemPolicy::Ignore => {}
            None => c.problems_not_checked = Some("no Dynatrace token is configured".into()),
        }
        match asked.changes {
            Some(Ok(raw)) => c.changes = context::changes(&raw, &span, anchor, ui),
            Some(Err(why)) => c.changes_not_checked = Some(why),
            None => {}
        }
        if plan.settings.context.lists_maintenance() {
            match (&found.maintenance, service_selector(plan)) {
                (Some(Ok(raw)), Ok(sel)) => {
                    c.changes
                        .extend(context::maintenance(raw, &span, entity.as_deref(), &sel));
                    let unplaced = context::unplaced(raw, entity.as_deref(), &sel);
                    if !unplaced.is_empty() {
                        c.maintenance_not_checked = Some(format!(
                            "the schedule of {} cannot be placed in time",
                            unplaced.join(", ")
                        ));
                    }
                    // Oldest first; RFC 3339 in UTC sorts as time.
                    c.changes.sort_by(|a, b| a.time.cmp(&b.time));
                }
                (Some(Err(why)), _) => c.maintenance_not_checked = Some(why.clone()),
                _ => {}
            }
        }
        if let (Some(u), Some(id)) = (ui, &entity) {
            let (from, to) = span.whole();
            c.service_link = Some(context::links::entity(u, id, from, to));
        }
        let e = &mut report.evaluation;
        c.policy_changed = context::apply(
            policy,
            &c.problems,
            c.problems_not_checked.as_deref(),
            e.result,
        );
        if let Some(change) = &c.policy_changed {
            e.result = change.to;
            if change.to == crate::eval::Verdict::Error && e.error.is_none() {
                e.error = Some(change.reason.clone());
            }
        }
        name_changes_in_judged(&c, report);
        report.context = Some(c);
    }
}

/// `--judge statistical`: an interval over a window that holds another change says so, since
/// that change, not the release, may explain the difference.
fn name_changes_in_judged(c: &Context, report: &mut Report) {
    let mut said = Vec::new();
    for w in ["before", "after"] {
        let inside: Vec<String> = c
            .changes
            .iter()
            .filter(|ch| ch.window == w)
            .map(|ch| {
                format!(
                    "{} {} at {}",
                    ch.kind,
                    ch.what,
                    crate::report::context::when(&ch.time)
                )
            })
            .collect();
        if !inside.is_empty() {
            said.push(format!(
                "the {w} window contains another change ({})",
                inside.join(", ")
            ));
        }
    }
    if said.is_empty() {
        return;
    }
    for r in &mut report.evaluation.indicator_results {
        if let Some(j) = r.judge.as_mut().filter(|j| !j.summary.is_empty()) {
            j.summary.push_str(&format!("; {}", said.join("; ")));
        }
    }
}

/// The first SERVICE entity named by the events or problems found.
fn service_entity(asked: &Asked) -> Option<String> {
    let service = |id: &&String| id.starts_with("SERVICE-");
    let events = asked.changes.iter().flatten().flatten();
    let problems = asked.problems.iter().flatten().flat_map(|(p, _)| p);
    events
        .filter_map(|e| e.entity_id.as_ref())
        .find(service)
        .or_else(|| problems.flat_map(|p| &p.affected).find(service))
        .cloned()
}
