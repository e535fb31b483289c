//! Earlier verdicts that relative criteria compare with: the history store or Dynatrace events.

use super::inputs::Inputs;
use super::windows::{event_error, service_selector};
use super::{BaselineMode, Job, Stop};
use crate::eval::previous;
use crate::history::{self, HistoryLocation};
use crate::plan::Plan;
use crate::source::events::{self};
use crate::source::http::Client;
use crate::ui::Ui;
use chrono::{DateTime, Duration, Utc};
use futures_util::future::join_all;
use std::path::Path;

/// Earlier verdicts of each service from the CUSTOM_INFO events `--push-result` wrote, newest
/// first, selected as Keptn would.
pub(crate) async fn verdicts_from_dynatrace(
    client: &Client,
    plans: &[Plan],
    now: DateTime<Utc>,
) -> Result<Vec<Vec<previous::PreviousEvaluation>>, String> {
    const LOOKBACK_DAYS: i64 = 30;
    let from = (now - Duration::days(LOOKBACK_DAYS)).timestamp_millis();
    let jobs = plans.iter().map(|p| async move {
        let selector = service_selector(p)?;
        let found = events::find(
            client,
            "CUSTOM_INFO",
            &selector,
            from,
            now.timestamp_millis(),
        )
        .await
        .map_err(|e| event_error(&e, "events.read"))?;
        // One record per window (the newest run), invalidations applied, newest first.
        let records = history::dynatrace::records(&found);
        let all = history::dynatrace::previous(
            &records,
            p.project.as_deref().unwrap_or(""),
            p.stage.as_deref().unwrap_or(""),
            p.service.as_deref().unwrap_or(""),
        );
        Ok::<_, String>(
            previous::select(&all, &p.slo.effective_comparison())
                .into_iter()
                .cloned()
                .collect(),
        )
    });
    join_all(jobs).await.into_iter().collect()
}

/// Where earlier verdicts live for this run, and the store when it is a local one.
pub(crate) struct Earlier {
    /// The verdicts are Dynatrace events (`--history dynatrace`): recording means pushing.
    pub(crate) dynatrace: bool,
    /// Relative criteria read earlier verdicts from the history (no `--previous` files given).
    pub(crate) reads_history: bool,
    pub(crate) store: Option<history::Store>,
}

/// Opens the history when this run reads or records verdicts. A store that cannot be opened
/// stops here (exit 3), before anything is fetched.
pub(crate) fn open(job: &Job, inputs: &Inputs, ui: &Ui) -> Result<Earlier, Stop> {
    let location = history::resolve_path(
        job.output.history.as_deref(),
        &inputs.env,
        inputs.plans[0]
            .settings
            .history
            .as_ref()
            .map(|h| h.value.as_str()),
        &job.select.config,
    );
    let dynatrace = matches!(location, HistoryLocation::Dynatrace);
    let reads_history = job.baseline == BaselineMode::History && inputs.previous_files.is_empty();
    let mut store = None;
    if !dynatrace && (job.record || (reads_history && location.path().is_some_and(Path::exists))) {
        match location.open() {
            Some(Ok(s)) => store = Some(s),
            Some(Err(e)) => {
                ui.problems(&[e.problem()]);
                return Err(Stop::CouldNot(format!(
                    "the history store cannot be used: {}",
                    e.problem().message
                )));
            }
            None => {}
        }
    }
    Ok(Earlier {
        dynatrace,
        reads_history,
        store,
    })
}

/// The earlier verdicts of each plan: `--previous` files, else the history.
pub(crate) async fn verdicts(
    inputs: &Inputs,
    earlier: &Earlier,
    ui: &Ui,
    now: DateTime<Utc>,
) -> Result<Vec<Vec<previous::PreviousEvaluation>>, Stop> {
    let plans = &inputs.plans;
    if !earlier.reads_history {
        return Ok(plans
            .iter()
            .map(|_| inputs.previous_files.clone())
            .collect());
    }
    if earlier.dynatrace {
        return verdicts_from_dynatrace(&inputs.client, plans, now)
            .await
            .map_err(|m| Stop::CouldNot(format!("reading earlier verdicts from Dynatrace: {m}")));
    }
    let mut all = Vec::new();
    for p in plans {
        let found = match &earlier.store {
            Some(s) => s.previous(
                p.project.as_deref().unwrap_or(""),
                p.stage.as_deref().unwrap_or(""),
                p.service.as_deref().unwrap_or(""),
                &p.slo.effective_comparison(),
            ),
            None => Ok(Vec::new()),
        };
        match found {
            Ok(f) => all.push(f),
            Err(e) => {
                ui.problems(&[e.problem()]);
                return Err(Stop::CouldNot(format!(
                    "the history store cannot be read: {}",
                    e.problem().message
                )));
            }
        }
    }
    Ok(all)
}
