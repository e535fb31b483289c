//! Step 6: side effects after scoring — the verdict sent to Dynatrace — which never change the
//! outcome.

use super::earlier::Earlier;
use super::emit;
use super::inputs::Inputs;
use super::windows::{event_error, service_selector};
use super::{Job, Stop};
use crate::ci::{self, CiKind};
use crate::cli::OutputArgs;
use crate::clock::Clock;
use crate::eval::Verdict;
use crate::event;
use crate::plan::Plan;
use crate::report::Report;
use crate::source::events::{self};
use crate::source::http::Client;
use crate::ui::{Exit, stderr};
use futures_util::future::join_all;
use std::collections::BTreeMap;

/// Sends one CUSTOM_INFO event per service with its verdict.
pub(crate) fn push_results(
    rt: &tokio::runtime::Runtime,
    client: &Client,
    plans: &[Plan],
    reports: &mut [Report],
    ci: Option<CiKind>,
    env: &BTreeMap<String, String>,
) -> Result<(), String> {
    let run_url = ci.and_then(|k| ci::run_url(k, env));
    let mut bodies = Vec::new();
    for (plan, report) in plans.iter().zip(reports.iter()) {
        let selector = service_selector(plan)?;
        bodies.push(event::verdict_payload(
            &selector,
            report,
            run_url.as_deref(),
        ));
    }
    let results = rt.block_on(join_all(bodies.iter().map(|b| events::ingest(client, b))));
    for (report, r) in reports.iter_mut().zip(results) {
        match r {
            Ok(rs) if rs.is_empty() => {
                return Err(format!("no entity matched {}", bodies[0]["entitySelector"]));
            }
            Ok(rs) => report.result_event = rs.first().map(|r| r.correlation_id.clone()),
            Err(e) => return Err(event_error(&e, "events.ingest")),
        }
    }
    Ok(())
}

/// Pushes and records the verdicts. Side effects never change the outcome: each failure is
/// returned as a warning (stderr and a CI warning), and a fail still exits 1.
pub(crate) fn side_effects(
    job: &Job<'_>,
    inputs: &Inputs,
    earlier: &mut Earlier,
    push: bool,
    reports: &mut [Report],
    rt: &tokio::runtime::Runtime,
    clock: &dyn Clock,
) -> Vec<String> {
    let mut out = Vec::new();
    if push
        && let Err(message) = push_results(
            rt,
            &inputs.client,
            &inputs.plans,
            reports,
            inputs.ci,
            &inputs.env,
        )
    {
        out.push(format!(
            "could not send the verdict to Dynatrace: {message}"
        ));
    }
    // A run that could not evaluate, or whose configuration is wrong, is no baseline for later
    // runs.
    if let Some(store) = earlier.store.as_mut()
        && job.record
    {
        for r in reports
            .iter()
            .filter(|r| !matches!(r.evaluation.result, Verdict::Error | Verdict::Invalid))
        {
            if let Err(e) = store.record(r, clock.now()) {
                out.push(format!(
                    "could not record the verdict in the history: {}",
                    e.problem().message
                ));
                break;
            }
        }
    }
    if let Some(p) = job.dashboard {
        out.extend(super::release_dashboard::publish(rt, inputs, reports, p));
    }
    for s in &out {
        stderr(&format!("warning: {s}\n"));
    }
    out
}

/// Reports and CI output, then the exit code: the worst outcome across services decides.
pub(crate) fn finish(
    reports: &[Report],
    inputs: &Inputs,
    output: &OutputArgs,
    side_effects: &[String],
) -> Result<Exit, Stop> {
    emit::emit(reports, output, inputs.ci, &inputs.env, side_effects).map_err(|p| vec![p])?;
    for r in reports
        .iter()
        .filter(|r| r.evaluation.result == Verdict::Error)
    {
        let who = r
            .service
            .as_deref()
            .map(|s| format!("{s}: "))
            .unwrap_or_default();
        stderr(&format!(
            "could not evaluate: {who}{}\n",
            r.evaluation.error.as_deref().unwrap_or("")
        ));
    }
    let worst =
        Verdict::worst(reports.iter().map(|r| r.evaluation.result)).unwrap_or(Verdict::Error);
    Ok(Exit::of(worst, output.fail_on))
}
