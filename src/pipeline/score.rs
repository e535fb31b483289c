//! Step 5: fetched values → a scored report per service (Keptn's lighthouse via `eval`), with
//! each indicator's query, unit and why it could not be evaluated.

use super::fetch::{Diagnosis, Fetch, Gathered, metric_selector_of};
use super::inputs::Inputs;
use super::windows::Windows;
use super::{BaselineMode, Job, Stop};
use crate::ci;
use crate::cli::OutputArgs;
use crate::diag::Problem;
use crate::eval::{self, BaselineKind, MissingBaseline, Retrieval, Verdict, previous};
use crate::plan::{self, Plan};
use crate::report::json::WindowInfo;
use crate::report::{Report, json};
use crate::source::SourceKind;
use crate::source::dynatrace::{Failure, Fetched};
use crate::source::http::Client;
use crate::window::{self};
use chrono::Duration;
use std::collections::BTreeMap;

/// The missing-baseline policy when neither flag nor slogate.yaml sets one: "I could not see
/// before" must not read as "nothing got worse" in a before/after gate; Keptn's `pass` with
/// history baselines.
fn default_policy(mode: BaselineMode) -> MissingBaseline {
    match mode {
        BaselineMode::Window => MissingBaseline::Warn,
        BaselineMode::History => MissingBaseline::Pass,
    }
}

/// Keptn's get-sli message: indicators grouped by error, `a, b: msg1; c: msg2`.
pub(crate) fn retrieval(fetched: &[Fetched]) -> Retrieval {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for f in fetched.iter().filter(|f| {
        matches!(
            f.failure,
            Some(Failure::Query | Failure::Invalid | Failure::Unavailable | Failure::Missing)
        )
    }) {
        match groups.iter_mut().find(|(m, _)| *m == f.value.message) {
            Some((_, names)) => names.push(&f.value.metric),
            None => groups.push((f.value.message.clone(), vec![&f.value.metric])),
        }
    }
    if groups.is_empty() {
        return Retrieval::Ok;
    }
    Retrieval::Failed(
        groups
            .iter()
            .map(|(m, n)| format!("{}: {m}", n.join(", ")))
            .collect::<Vec<_>>()
            .join("; "),
    )
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn build_report(
    plan: &Plan,
    w: &Windows,
    settle: Duration,
    waited: Duration,
    fetched: &Fetch,
    diagnosis: &BTreeMap<String, Diagnosis>,
    units: &BTreeMap<String, String>,
    previous_evaluations: &[previous::PreviousEvaluation],
    pinned: bool,
    output: &OutputArgs,
    mode: BaselineMode,
    sources: &[(SourceKind, &str, &Client)],
    fetch_millis: u64,
    judge: crate::judge::JudgeMode,
    warm_up_minutes: Option<usize>,
    incidents: &[(i64, i64, String)],
) -> Report {
    // The sources this plan asked, in `SourceKind` order (one entry when a single one).
    let used: Vec<&(SourceKind, &str, &Client)> = sources
        .iter()
        .filter(|(k, _, _)| plan.slis.iter().any(|s| s.source == *k))
        .collect();
    let used = if used.is_empty() {
        sources.iter().take(1).collect()
    } else {
        used
    };
    let url = used
        .iter()
        .map(|(_, u, _)| *u)
        .collect::<Vec<_>>()
        .join(", ");
    let url = url.as_str();
    let comparison = plan.slo.effective_comparison();
    let policy = plan::policy(
        output.on_missing_baseline.map(Into::into),
        &plan.settings,
        default_policy(mode),
    );
    let strict_data =
        output.strict_data || plan.settings.strict_data.as_ref().is_some_and(|s| s.value);
    // Fetched once, scored by every objective on the SLI (Keptn asked once per objective).
    let once: Vec<eval::SliValue> = fetched.values.iter().map(|f| f.value.clone()).collect();
    let values = eval::per_objective(&plan.slo, &once);
    let retrieval = retrieval(&fetched.values);
    let mut evaluation = match (mode, &fetched.baseline, &w.baseline) {
        (BaselineMode::Window, Some(base), Some(bw)) => {
            // The window before the deployment acts as the one previous evaluation.
            let pseudo = previous::PreviousEvaluation {
                id: match &plan.control {
                    Some(c) => format!(
                        "control {} {}/{}",
                        c.name,
                        window::rfc3339(bw.from),
                        window::rfc3339(bw.to)
                    ),
                    None => format!(
                        "baseline window {}/{}",
                        window::rfc3339(bw.from),
                        window::rfc3339(bw.to)
                    ),
                },
                result: "pass".into(),
                score: None,
                indicators: base.iter().map(|f| f.value.clone()).collect(),
                invalidated: false,
            };
            let mut settings = plan.settings.judge.settings();
            if let Some(m) = warm_up_minutes {
                settings.warm_up_minutes = m;
            }
            // The warm-up counts from the deployment (the baseline window's end); an evaluation
            // window starting later has already left some of it out.
            let late = (w.eval.from - bw.to).num_minutes().max(0) as usize;
            settings.warm_up_minutes = settings.warm_up_minutes.saturating_sub(late);
            if plan.control.is_some() {
                // A canary gate warms up from its deployment; without one there is nothing to
                // leave out.
                let deployed = w.deployment.as_ref().and_then(|d| {
                    chrono::DateTime::parse_from_rfc3339(&d.time)
                        .ok()
                        .map(|t| t.with_timezone(&chrono::Utc))
                });
                settings.warm_up_minutes = match deployed {
                    Some(t) => settings
                        .warm_up_minutes
                        .saturating_sub((w.eval.from - t).num_minutes().max(0) as usize),
                    None => 0,
                };
            }
            let hook = |o: &crate::model::slo::Objective, a: f64, measured: f64| {
                let m = fetched.minutes.get(&o.sli.value)?;
                if let Some(c) = &plan.control {
                    let mut cmp = crate::judge::paired::paired(
                        m.statistic,
                        &m.before,
                        &m.after,
                        a,
                        measured,
                        &settings,
                        &c.name,
                    );
                    if let Some(lacking) = fetched.minutes.partial(&o.sli.value) {
                        cmp.method.push_str(&format!("; judged without {lacking}"));
                    }
                    return Some(cmp);
                }
                // Davis problems over before the deployment, as minutes of the stretch (it
                // ends with the baseline window).
                let n = m.history.values.len();
                let end_ms = bw.to.timestamp_millis();
                let incidents: Vec<crate::judge::Incident> = incidents
                    .iter()
                    .filter_map(|(from, to, what)| {
                        let (from, to) = crate::judge::minutes_within(n, end_ms, *from, *to)?;
                        Some(crate::judge::Incident {
                            from,
                            to,
                            what: what.clone(),
                        })
                    })
                    .collect();
                let mut cmp = crate::judge::compare_around(
                    m.statistic,
                    &m.before,
                    &m.after,
                    Some(&m.history),
                    a,
                    measured,
                    &settings,
                    &incidents,
                );
                if let Some(lacking) = fetched.minutes.partial(&o.sli.value) {
                    cmp.method.push_str(&format!("; judged without {lacking}"));
                }
                Some(cmp)
            };
            let judged: Option<eval::JudgeFn> =
                (judge == crate::judge::JudgeMode::Statistical).then_some(&hook);
            eval::evaluate_judged(
                &plan.slo,
                &retrieval,
                &values,
                &[&pseudo],
                policy,
                BaselineKind::Window,
                judged,
            )
        }
        _ => {
            // A pinned evaluation is the baseline because someone chose it: no filter by result.
            let selected = if pinned {
                previous_evaluations.iter().collect()
            } else {
                previous::select(previous_evaluations, &comparison)
            };
            eval::evaluate(&plan.slo, &retrieval, &values, &selected, policy)
        }
    };
    for r in &mut evaluation.indicator_results {
        let value = fetched
            .values
            .iter()
            .find(|f| f.value.metric == r.value.metric);
        r.query = value.and_then(|f| f.query.clone());
        r.value.query = r.query.clone();
        let sli = plan.slis.iter().find(|s| s.name == r.value.metric);
        r.source = sli.map(|s| s.source.as_str().to_string());
        let parsed = sli.and_then(|s| s.parsed.as_ref().ok());
        r.unit = parsed.and_then(|q| {
            crate::query::stated_unit(q)
                .or_else(|| metric_selector_of(q).and_then(|m| units.get(&m).cloned()))
        });
        let base = fetched
            .baseline
            .iter()
            .flatten()
            .find(|f| f.value.metric == r.value.metric);
        r.error = indicator_error(value, base);
        if let (Some(c), None) = (&plan.control, &r.error) {
            // A canary gate without its control's value has nothing to compare with: never a
            // pass, never a fail.
            match base {
                Some(b) if !b.value.success => {
                    r.error = Some(format!(
                        "the control `{}` had no value: {}",
                        c.name, b.value.message
                    ));
                }
                None => {
                    r.error = Some(format!("the control `{}` was not fetched", c.name));
                }
                _ => {}
            }
        }
        flag_warnings(r, value, base, strict_data);
        match diagnosis.get(&r.value.metric) {
            Some(Diagnosis::NoEntity { selector, closest }) if r.error.is_none() => {
                let mut e = format!(
                    "no entity matches {selector}: the selection is wrong (check --service, --stage and the tags), the release is not judged"
                );
                if !closest.is_empty() {
                    e.push_str(&format!("; did you mean {}?", closest.join(" or ")));
                }
                r.error = Some(e);
            }
            Some(Diagnosis::NoData) => r
                .notes
                .push("the entity exists but sent no data in the window (no traffic?)".into()),
            _ => {}
        }
        if r.error.is_none()
            && let Some(b) = base
            && !b.value.success
        {
            r.notes.push(format!(
                "the baseline window had no value: {}",
                b.value.message
            ));
        }
    }
    // A canary gate's baseline is its control, in the same window.
    if plan.control.is_some() {
        for r in &mut evaluation.indicator_results {
            if r.baseline == BaselineKind::Window {
                r.baseline = BaselineKind::Control;
            }
        }
    }
    // The judge says, per objective, whether it judged it and if not, why: never silently.
    if judge == crate::judge::JudgeMode::Statistical {
        let window_baseline = mode == BaselineMode::Window && w.baseline.is_some();
        for (r, o) in evaluation
            .indicator_results
            .iter_mut()
            .zip(&plan.slo.objectives)
        {
            r.not_judged =
                super::minutes::not_judged(plan, &fetched.minutes, window_baseline, o, r);
        }
    }
    // A typo is no verdict: an objective whose SLI is defined nowhere, does not parse or was
    // rejected as malformed makes the outcome `invalid`, whatever the scores say. Keptn's view
    // (`evaluationResult`, statuses, scores) stays as Keptn computed it. Dashboard tiles are
    // the exception: their queries come from Dynatrace's own editors, and a refused one stays
    // the failed SLI Keptn reported (docs/outcomes.md).
    let rejected = |f: &Fetched| plan.dashboard.is_none() && f.failure == Some(Failure::Invalid);
    for r in &mut evaluation.indicator_results {
        let own = fetched
            .values
            .iter()
            .find(|f| f.value.metric == r.value.metric)
            .filter(|f| rejected(f));
        if let Some(f) = own {
            r.error = Some(format!(
                "{}{} (fix the SLI; no verdict about the release)",
                eval::CONFIGURATION_ERROR,
                f.value.message
            ));
        }
    }
    let invalid: Vec<&eval::IndicatorResult> = evaluation
        .indicator_results
        .iter()
        .filter(|r| {
            fetched
                .values
                .iter()
                .any(|f| f.value.metric == r.value.metric && rejected(f))
        })
        .collect();
    if let Some(first) = invalid.first()
        && evaluation.invalid_input.is_none()
    {
        evaluation.invalid_input = Some(format!(
            "{} of {} objectives cannot be evaluated as configured; {}: {}",
            invalid.len(),
            evaluation.indicator_results.len(),
            first.value.metric,
            first.value.message
        ));
        evaluation.result = Verdict::Invalid;
    }
    let errored: Vec<&eval::IndicatorResult> = evaluation
        .indicator_results
        .iter()
        .filter(|r| r.error.is_some())
        .collect();
    if let Some(first) = errored.first()
        && evaluation.invalid_input.is_none()
        && evaluation.result != Verdict::Invalid
    {
        evaluation.error = Some(format!(
            "{} of {} objectives could not be evaluated ({url}); {}: {}",
            errored.len(),
            evaluation.indicator_results.len(),
            first.value.metric,
            first.error.as_deref().unwrap_or_default()
        ));
        evaluation.result = Verdict::Error;
    }
    use std::sync::atomic::Ordering;
    Report {
        id: Some(json::new_id()),
        report_version: json::REPORT_VERSION,
        tool: json::Tool::current(),
        project: plan.project.clone(),
        stage: plan.stage.clone(),
        service: plan.service.clone(),
        labels: plan.labels.clone(),
        time_start: Some(window::rfc3339(w.eval.from)),
        time_end: Some(window::rfc3339(w.eval.to)),
        slo: json::SloInfo::of(&plan.slo, plan.slo_files.clone()),
        policy: json::Policy {
            on_missing_baseline: policy,
        },
        source: Some(json::SourceInfo {
            kind: used
                .iter()
                .map(|(k, _, _)| k.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            url: url.to_string(),
            requests: used
                .iter()
                .map(|(_, _, c)| c.stats.requests.load(Ordering::Relaxed))
                .sum(),
            retries: used
                .iter()
                .map(|(_, _, c)| c.stats.retries.load(Ordering::Relaxed))
                .sum(),
            fetch_millis,
        }),
        settle: Some(json::SettleInfo {
            seconds: settle.num_seconds(),
            waited_seconds: (waited.num_milliseconds().max(0) + 999) / 1000,
        }),
        deployment: w.deployment.clone(),
        baseline_window: w.baseline.map(|b| WindowInfo {
            time_start: window::rfc3339(b.from),
            time_end: window::rfc3339(b.to),
        }),
        pipeline: None,
        series: fetched.series.clone(),
        result_event: None,
        baseline_selection: None,
        context: None,
        release_dashboard: None,
        evaluation,
    }
}

/// Why an objective could not be evaluated: its value, or its baseline, could not be fetched.
/// `None` when both are there or simply had no data. A before-window that could not be fetched
/// is an error also for absolute criteria (docs/outcomes.md): the source failed during the run,
/// so nothing it answered is trusted for a verdict.
pub(crate) fn indicator_error(value: Option<&Fetched>, base: Option<&Fetched>) -> Option<String> {
    let unavailable =
        |f: &Fetched| matches!(f.failure, Some(Failure::Unavailable | Failure::Missing));
    if let Some(v) = value.filter(|f| unavailable(f)) {
        return Some(v.value.message.clone());
    }
    base.filter(|b| unavailable(b)).map(|b| {
        format!(
            "the baseline window could not be fetched: {}",
            b.value.message
        )
    })
}

/// Keptn's lighthouse refused the SLO itself (no objectives, a pass criterion or `total_score`
/// that does not parse): it stops before scoring any objective. An SLO that was scored but
/// names a wrong SLI keeps its objectives and its report.
fn scoring_refused(e: &eval::Evaluation) -> bool {
    e.result == Verdict::Invalid && e.indicator_results.is_empty()
}

/// A value (or baseline) the source answered with warnings, such as Prometheus' `partial
/// response`, is never a silent pass: a note on the objective, or with `--strict-data` /
/// `strict_data: true` an objective that could not be evaluated (docs/outcomes.md).
pub(crate) fn flag_warnings(
    r: &mut eval::IndicatorResult,
    value: Option<&Fetched>,
    base: Option<&Fetched>,
    strict: bool,
) {
    for (what, f) in [("the value", value), ("the baseline window", base)] {
        let Some(w) = f.and_then(|f| crate::source::warnings_of(&f.value)) else {
            continue;
        };
        let text = format!(
            "the data source answered {what} with warnings, it may rest on partial data: {w}"
        );
        if strict && r.error.is_none() {
            r.error = Some(format!("{text} (--strict-data)"));
        } else if !strict {
            r.notes.push(text);
        }
    }
}

/// One scored report per service. An SLO that Keptn's scoring itself refuses (e.g. a
/// `total_score` that does not parse) gives no verdict: it stops as any invalid input, with no
/// report.
pub(crate) fn reports(
    job: &Job<'_>,
    inputs: &Inputs,
    windows: &[Windows],
    fetched: &Gathered,
    previous: &[super::earlier::Baseline],
    waited: Duration,
) -> Result<Vec<Report>, Stop> {
    let pipeline = inputs.ci.map(|k| ci::pipeline(k, &inputs.env));
    let mut sources: Vec<(SourceKind, &str, &Client)> = vec![(
        SourceKind::Dynatrace,
        inputs.conn.url.as_str(),
        &inputs.client,
    )];
    if let Some((c, client)) = &inputs.prometheus {
        sources.push((SourceKind::Prometheus, c.url.as_str(), client));
    }
    let reports: Vec<Report> = inputs
        .plans
        .iter()
        .zip(windows)
        .zip(&fetched.per_plan)
        .zip(previous)
        .zip(&fetched.diagnoses)
        .enumerate()
        .map(|(k, ((((plan, w), f), prev), diagnosis))| {
            // Problems over before the deployment, for the judge's baseline.
            let incidents = match (&w.baseline, job.judge_of(plan), &plan.control) {
                (Some(bw), crate::judge::JudgeMode::Statistical, None) => fetched
                    .context
                    .incidents_before(k, bw.to.timestamp_millis()),
                _ => Vec::new(),
            };
            let mut r = build_report(
                plan,
                w,
                inputs.settle,
                waited,
                f,
                diagnosis,
                &fetched.units,
                &prev.previous,
                prev.pinned,
                job.output,
                job.baseline,
                &sources,
                fetched.millis,
                job.judge_of(plan),
                job.warm_up_minutes,
                &incidents,
            );
            r.pipeline = pipeline.clone();
            if let Some(c) = &plan.control {
                // No window before: the control's values are from the evaluation window itself
                // (charts would otherwise shade it twice).
                r.baseline_window = None;
                // What every report says the canary was compared with.
                r.baseline_selection = Some(json::BaselineSelection {
                    mode: "control".into(),
                    evaluations: Vec::new(),
                    reason: crate::judge::paired::control_text(&c.name),
                });
            } else if job.baseline == BaselineMode::History {
                r.baseline_selection = prev.selection(
                    &r.evaluation.compared_events,
                    &plan.slo.effective_comparison(),
                    plan.service.as_deref().unwrap_or("this service"),
                );
            }
            if let Some((_, p)) = plan.dashboard.as_ref().and_then(|d| d.processed.as_ref()) {
                for ir in &mut r.evaluation.indicator_results {
                    ir.tile = p
                        .indicators
                        .iter()
                        .find(|i| i.objective.sli == ir.value.metric)
                        .map(|i| crate::eval::Tile {
                            index: i.tile.index,
                            title: i.tile.title.clone(),
                            kind: i.tile.kind.clone(),
                        });
                }
            }
            // A dashboard without SLI tiles gives an SLO without objectives: Keptn's lighthouse
            // failed it (score 0), a verdict on the dashboard rather than an unreadable file.
            if plan.dashboard.is_some()
                && plan.slo.objectives.is_empty()
                && r.evaluation.result == Verdict::Invalid
            {
                r.evaluation.result = Verdict::Fail;
                r.evaluation.invalid_input = None;
            }
            r
        })
        .collect();
    if let Some(r) = reports.iter().find(|r| scoring_refused(&r.evaluation)) {
        return Err(Stop::Invalid(vec![
            Problem::file(
                "slogate::not-scorable",
                &r.slo.files.join(", "),
                r.evaluation
                    .invalid_input
                    .clone()
                    .unwrap_or_else(|| r.evaluation.message.clone()),
            )
            .help("fix the SLO file; `slogate lint` shows where"),
        ]));
    }
    Ok(reports)
}

/// The reports of the services that could not be anchored (no deployment event): `error` with
/// the cause and no score, each put back at its place among the selected services, so that
/// every output names it while the others keep their verdicts.
pub(crate) fn unanchored(
    job: &Job<'_>,
    inputs: &Inputs,
    services: Vec<super::windows::Unanchored>,
    reports: &mut Vec<Report>,
) {
    let pipeline = inputs.ci.map(|k| ci::pipeline(k, &inputs.env));
    for u in services {
        let plan = &u.plan;
        let policy = plan::policy(
            job.output.on_missing_baseline.map(Into::into),
            &plan.settings,
            default_policy(job.baseline),
        );
        // Keptn's view of an SLI retrieval that errored; slogate's outcome is `error`.
        let mut evaluation = eval::evaluate(
            &plan.slo,
            &Retrieval::Errored(u.cause.clone()),
            &[],
            &[],
            policy,
        );
        evaluation.error = Some(u.cause);
        let report = Report {
            id: Some(json::new_id()),
            report_version: json::REPORT_VERSION,
            tool: json::Tool::current(),
            project: plan.project.clone(),
            stage: plan.stage.clone(),
            service: plan.service.clone(),
            labels: plan.labels.clone(),
            time_start: None,
            time_end: None,
            slo: json::SloInfo::of(&plan.slo, plan.slo_files.clone()),
            policy: json::Policy {
                on_missing_baseline: policy,
            },
            source: None,
            settle: None,
            deployment: None,
            baseline_window: None,
            pipeline: pipeline.clone(),
            series: Vec::new(),
            result_event: None,
            baseline_selection: None,
            context: None,
            release_dashboard: None,
            evaluation,
        };
        reports.insert(u.index.min(reports.len()), report);
    }
}
