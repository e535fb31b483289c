//! Earlier verdicts that relative criteria compare with: the history store or Dynatrace events.

use super::inputs::Inputs;
use super::windows::{event_error, service_selector};
use super::{BaselineMode, Job, Stop};
use crate::eval::previous;
use crate::history::{self, HistoryLocation};
use crate::model::slo::EffectiveComparison;
use crate::plan::Plan;
use crate::report::json::BaselineSelection;
use crate::source::events::{self};
use crate::source::http::Client;
use crate::ui::Ui;
use chrono::{DateTime, Duration, Utc};
use futures_util::future::join_all;
use std::path::Path;

/// Earlier verdicts of each service from the CUSTOM_INFO events `--push-result` wrote, newest
/// first, selected as Keptn would (or the pinned one).
pub(crate) async fn verdicts_from_dynatrace(
    client: &Client,
    plans: &[Plan],
    pinned_flag: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Baseline>, String> {
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
        let (project, stage, service) = names(p);
        if let Some(b) = pinned_baseline(p, pinned_flag, || {
            Ok(history::dynatrace::pinned(&records, project, stage, service).cloned())
        })? {
            return Ok(b);
        }
        let all = history::dynatrace::previous(&records, project, stage, service);
        Ok::<_, String>(Baseline::history(
            previous::select(&all, &p.slo.effective_comparison())
                .into_iter()
                .cloned()
                .collect(),
        ))
    });
    join_all(jobs).await.into_iter().collect()
}

/// The earlier evaluations one service is compared with.
pub(crate) struct Baseline {
    pub(crate) previous: Vec<previous::PreviousEvaluation>,
    /// `previous` is the pinned evaluation (or empty for lack of one): used as it is, without
    /// Keptn's filter by result.
    pub(crate) pinned: bool,
    /// Read from the history (not `--previous` files): the report says which and why.
    pub(crate) from_history: bool,
    /// Why there is no pinned evaluation to compare with, when there is none.
    pub(crate) missing_pin: Option<String>,
    /// When and why the evaluation was pinned: `pinned 2026-11-20T08:00:00.000Z: release 1.4`.
    pub(crate) pin_note: String,
}

impl Baseline {
    fn history(previous: Vec<previous::PreviousEvaluation>) -> Self {
        Baseline {
            previous,
            pinned: false,
            from_history: true,
            missing_pin: None,
            pin_note: String::new(),
        }
    }

    fn files(previous: Vec<previous::PreviousEvaluation>) -> Self {
        Baseline {
            previous,
            pinned: false,
            from_history: false,
            missing_pin: None,
            pin_note: String::new(),
        }
    }

    /// What the report says: which evaluations were the baseline, and why.
    pub(crate) fn selection(
        &self,
        compared: &[String],
        comparison: &EffectiveComparison,
        service: &str,
    ) -> Option<BaselineSelection> {
        if !self.from_history {
            return None;
        }
        let keptn = format!(
            "compare_with: {}, include_result_with_score: {}",
            comparison.compare_with, comparison.include_result_with_score
        );
        if self.pinned {
            let reason = match (self.previous.first(), &self.missing_pin) {
                (Some(p), _) => format!(
                    "the pinned evaluation {} ({}, score {}), because of `comparison: pinned`{}",
                    p.id,
                    p.result,
                    p.score
                        .map(crate::eval::gofmt::go_v)
                        .unwrap_or_else(|| "-".into()),
                    self.pin_reason()
                ),
                (None, Some(why)) => format!("none: {why}, with `comparison: pinned`"),
                (None, None) => "none".into(),
            };
            return Some(BaselineSelection {
                mode: "pinned".into(),
                evaluations: compared.to_vec(),
                reason,
            });
        }
        let mut reason = match compared {
            [] => format!(
                "none: no stored evaluation of {service} matches Keptn's selection ({keptn})"
            ),
            [one] => format!("evaluation {one}, the newest Keptn's selection allows ({keptn})"),
            many => format!(
                "{} of evaluations {}, the newest {} Keptn's selection allows ({keptn})",
                comparison.aggregate_function,
                many.join(", "),
                many.len()
            ),
        };
        if let Some(why) = &self.missing_pin {
            reason.push_str(&format!("; {why}"));
        }
        Some(BaselineSelection {
            mode: "previous".into(),
            evaluations: compared.to_vec(),
            reason,
        })
    }

    fn pin_reason(&self) -> String {
        if self.pin_note.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.pin_note)
        }
    }
}

fn names(p: &Plan) -> (&str, &str, &str) {
    (
        p.project.as_deref().unwrap_or(""),
        p.stage.as_deref().unwrap_or(""),
        p.service.as_deref().unwrap_or(""),
    )
}

/// `comparison: pinned` (or `--baseline pinned`) with `compare_with: single_result`: the pinned
/// evaluation, none when it is missing or invalidated (the report says which). `None` when the
/// plan compares with Keptn's selection; with several_results the pin does not apply and
/// Keptn's selection is used, saying so.
fn pinned_baseline(
    p: &Plan,
    flag: bool,
    find: impl FnOnce() -> Result<Option<history::StoredEvaluation>, String>,
) -> Result<Option<Baseline>, String> {
    let wanted = flag
        || p.settings
            .comparison
            .as_ref()
            .is_some_and(|c| c.value == "pinned");
    if !wanted {
        return Ok(None);
    }
    let comparison = p.slo.effective_comparison();
    if comparison.compare_with != "single_result" {
        return Ok(None);
    }
    let service = p.service.as_deref().unwrap_or("the service");
    let found = find()?;
    let pin_note = found
        .as_ref()
        .and_then(|e| {
            let s = &e.summary;
            let at = s.pinned_at.as_deref()?;
            Some(match s.pinned_reason.as_deref().filter(|r| !r.is_empty()) {
                Some(r) => format!("pinned {at}: {r}"),
                None => format!("pinned {at}"),
            })
        })
        .unwrap_or_default();
    let (previous, missing) = match found {
        Some(e) if e.summary.invalidated => (
            Vec::new(),
            Some(format!(
                "the pinned evaluation {} of {service} is invalidated",
                e.summary.id
            )),
        ),
        Some(e) => (
            vec![previous::PreviousEvaluation {
                id: e.summary.id.clone(),
                result: e.summary.result.clone(),
                score: e.summary.score,
                indicators: e.indicators.clone(),
                invalidated: false,
            }],
            None,
        ),
        None => (
            Vec::new(),
            Some(format!(
                "no evaluation of {service} is pinned (`slogate history pin ID`)"
            )),
        ),
    };
    Ok(Some(Baseline {
        previous,
        pinned: true,
        from_history: true,
        missing_pin: missing,
        pin_note,
    }))
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

/// The earlier verdicts of each plan: `--previous` files, else the history (Keptn's selection,
/// or the pinned evaluation with `comparison: pinned` / `--baseline pinned`).
pub(crate) async fn verdicts(
    inputs: &Inputs,
    earlier: &Earlier,
    pinned_flag: bool,
    ui: &Ui,
    now: DateTime<Utc>,
) -> Result<Vec<Baseline>, Stop> {
    let plans = &inputs.plans;
    if !earlier.reads_history {
        return Ok(plans
            .iter()
            .map(|_| Baseline::files(inputs.previous_files.clone()))
            .collect());
    }
    if earlier.dynatrace {
        return verdicts_from_dynatrace(&inputs.client, plans, pinned_flag, now)
            .await
            .map_err(|m| Stop::CouldNot(format!("reading earlier verdicts from Dynatrace: {m}")));
    }
    let mut all = Vec::new();
    let unreadable = |e: history::HistoryError| {
        ui.problems(&[e.problem()]);
        Stop::CouldNot(format!(
            "the history store cannot be read: {}",
            e.problem().message
        ))
    };
    for p in plans {
        let (project, stage, service) = names(p);
        let Some(store) = &earlier.store else {
            let pinned = pinned_baseline(p, pinned_flag, || Ok(None)).map_err(Stop::CouldNot)?;
            all.push(pinned.unwrap_or_else(|| Baseline::history(Vec::new())));
            continue;
        };
        let mut failed = None;
        let pinned = pinned_baseline(p, pinned_flag, || {
            store.pinned(project, stage, service).map_err(|e| {
                let m = e.problem().message;
                failed = Some(e);
                m
            })
        });
        if let Some(e) = failed {
            return Err(unreadable(e));
        }
        if let Some(b) = pinned.map_err(Stop::CouldNot)? {
            all.push(b);
            continue;
        }
        let found = store
            .previous(project, stage, service, &p.slo.effective_comparison())
            .map_err(unreadable)?;
        all.push(Baseline::history(found));
    }
    Ok(all)
}
