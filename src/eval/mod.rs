//! Keptn lighthouse scoring, pure: SLO + indicator values + previous evaluations → verdict.
//!
//! Follows `shared/reference/keptn-lighthouse.md` (Keptn 1.4.5) rule by rule; section numbers in
//! comments refer to it. Nothing here reads files, the network or the clock.

pub mod baseline;
pub mod gofmt;
pub mod previous;

use serde::{Deserialize, Serialize};

use crate::model::criteria::{CriteriaError, Criterion};
use crate::model::slo::{EffectiveComparison, Group, Objective, Slo};
use gofmt::{go_f, go_v};

/// One indicator value as an SLI provider delivers it (Keptn's `SLIResult`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct SliValue {
    pub metric: String,
    pub value: Option<f64>,
    #[serde(default)]
    pub success: bool,
    #[serde(default)]
    pub message: String,
}

/// What the SLI provider said about the retrieval as a whole (reference §6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Retrieval {
    /// Values arrived (some may still be unsuccessful).
    Ok,
    /// The provider reported result `fail` with this message; values are still scored.
    Failed(String),
    /// The provider errored; nothing can be scored.
    Errored(String),
    /// The retrieval was aborted.
    Aborted,
}

/// What to do with a relative criterion that has no baseline value (Keptn: pass).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub enum MissingBaseline {
    #[default]
    Pass,
    Warn,
    Fail,
}

impl MissingBaseline {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pass" => Some(Self::Pass),
            "warn" => Some(Self::Warn),
            "fail" => Some(Self::Fail),
            _ => None,
        }
    }
}

/// The outcome of a run, one word in every output (JSON `result`, headlines, JUnit, CI
/// variables, exit code). Keptn's own view (`evaluationResult`) is only ever pass, warning or
/// fail; `error` and `invalid` are slogate's: no verdict about the release was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub enum Verdict {
    Pass,
    Warning,
    /// The objectives say the release is worse.
    Fail,
    /// Could not evaluate: the data source was unavailable, or the selection matched nothing.
    Error,
    /// The configuration or the flags are wrong; nothing was scored.
    Invalid,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warning => "warning",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
            Verdict::Invalid => "invalid",
        }
    }

    /// Which of several outcomes (one per service) speaks for the run: invalid input stops
    /// everything; a known regression is never hidden behind another service's outage, so
    /// `fail` outranks `error`, which outranks the verdicts that let a release through.
    pub fn severity(self) -> u8 {
        match self {
            Verdict::Pass => 0,
            Verdict::Warning => 1,
            Verdict::Error => 2,
            Verdict::Fail => 3,
            Verdict::Invalid => 4,
        }
    }

    /// The worst of several outcomes ([`Verdict::severity`]); `None` for none.
    pub fn worst(all: impl IntoIterator<Item = Verdict>) -> Option<Verdict> {
        all.into_iter().max_by_key(|v| v.severity())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub enum Status {
    Pass,
    Warning,
    Fail,
    Info,
}

/// `{criteria, targetValue, violated}` as Keptn reports each criterion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct TargetResult {
    pub criteria: String,
    pub target_value: f64,
    pub violated: bool,
}

/// The value block of an indicator result: Keptn's SLIResult plus `comparedValue`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct ResultValue {
    pub metric: String,
    pub value: Option<f64>,
    pub compared_value: f64,
    pub success: bool,
    #[serde(default)]
    pub message: String,
    /// The request behind the value, as Keptn's `SLIResult.query` carried it, so scripts written
    /// for `evaluation.finished` events find it here too; the same as the indicator's `query`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

/// Where the baseline of an objective came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub enum BaselineKind {
    /// Aggregated from previous evaluations (Keptn's way).
    History,
    /// The same SLI over the window right before the deployment ("before vs after").
    Window,
    /// The control's value over the same window (a canary gate: `gate --control-service`).
    Control,
    /// No usable previous value: relative criteria fell back to the missing-baseline policy.
    None,
}

/// How an objective's `error` begins when its SLI is wrong (a typo, a query its source refused
/// as malformed), not its data missing: reports then say `invalid`, not `error`.
pub const CONFIGURATION_ERROR: &str = "configuration error: ";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct IndicatorResult {
    pub score: f64,
    pub status: Status,
    pub display_name: String,
    pub key_sli: bool,
    pub value: ResultValue,
    pub pass_targets: Option<Vec<TargetResult>>,
    pub warning_targets: Option<Vec<TargetResult>>,
    // slogate's own fields.
    /// `history`, `window`, `control` or `none`: which baseline the relative criteria used.
    pub baseline: BaselineKind,
    /// The aggregation applied to the baseline values (`avg`, `p90`, ...).
    pub baseline_aggregate: String,
    /// How many previous values formed the baseline.
    pub baseline_count: usize,
    /// The weight the objective counts with (after Keptn's 0 → 1 default).
    pub weight: i64,
    /// The change of the value against the baseline in percent, when both exist and A ≠ 0.
    pub change_percent: Option<f64>,
    /// The baseline A itself when previous values exist, also where Keptn's `comparedValue`
    /// stays 0 (objectives that were not evaluated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_value: Option<f64>,
    /// Explanations slogate adds where Keptn's result may surprise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The unit of the value where the query makes it known (`:toUnit(…,MilliSecond)`, `MV2;`),
    /// in Dynatrace's spelling; shown next to values in the human reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Set when this objective could not be evaluated: its value (or its baseline) could not be
    /// fetched. Its `status` is then Keptn's, but it is no verdict about the release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The exact API request behind the value (`GET /api/v2/...`), when it was fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The statistical judge's view (`--judge statistical`): the change with its interval and
    /// the decision per relative criterion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<crate::judge::Comparison>,
    /// With `--judge statistical`: why the judge did not judge this objective (no relative
    /// criterion, no window baseline, its per-minute series could not be fetched, ...); Keptn's
    /// comparison alone decided it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_judged: Option<String>,
    /// The data source the value came from (`dynatrace`, `prometheus`), when it was fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Dashboard mode: the tile the SLI and objective came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tile: Option<Tile>,
}

/// A dashboard tile: its position in the dashboard's `tiles` (from 0), title and type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Tile {
    pub index: usize,
    pub title: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl Tile {
    /// `tile 3 "Response time;sli=rt;pass=<600" (DATA_EXPLORER)`, for the human reports.
    pub fn describe(&self) -> String {
        format!(
            "tile {} \"{}\" ({})",
            self.index,
            self.title.replace('\n', " "),
            self.kind
        )
    }
}

/// One scored evaluation: Keptn's `evaluation.finished` data, minus the event envelope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Evaluation {
    /// The outcome: Keptn's `data.result` (pass / warning / fail) when a verdict was reached,
    /// else `error` (could not evaluate) or `invalid` (the SLO cannot be scored). This decides
    /// the exit code.
    pub result: Verdict,
    /// Keptn's `evaluation.result`, which differs from `result` when retrieval failed (§6).
    pub evaluation_result: Verdict,
    /// `succeeded` or `errored`, as Keptn's `data.status`.
    pub status: String,
    pub score: f64,
    pub message: String,
    pub indicator_results: Vec<IndicatorResult>,
    pub compared_events: Vec<String>,
    /// Set when the SLO itself made scoring impossible (a bad pass criterion, a missing or
    /// unparsable total_score): the result is Keptn's, but the input needs fixing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_input: Option<String>,
    /// Why the run could not evaluate (`result` = `error`), the cause first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl IndicatorResult {
    /// The statistical judge held this objective inconclusive: a warning, not a failure.
    pub fn is_inconclusive(&self) -> bool {
        self.status == Status::Warning
            && self.judge.as_ref().and_then(|j| j.decision)
                == Some(crate::judge::Decision::Inconclusive)
    }

    /// `query`, or `query (prometheus)` when the source is known: a gate may mix sources.
    pub fn query_label(&self) -> String {
        match &self.source {
            Some(s) => format!("query ({s})"),
            None => "query".into(),
        }
    }

    /// The baseline to show next to the value: A, whether or not Keptn reported it.
    pub fn baseline_shown(&self) -> f64 {
        self.baseline_value.unwrap_or(self.value.compared_value)
    }
}

/// Previous values of one SLI, already selected per §8.
pub struct Pool {
    pub values: Vec<f64>,
}

/// One value per objective, in SLO order, from values that arrived once per SLI (a fetch, or
/// `score`'s `{"name": value}` form). Keptn's lighthouse asked its SLI provider for one indicator
/// per objective and every provider answered each, so each objective on a shared SLI got the
/// value; §4.1's consumption then hands these copies out one by one. Values that no objective
/// names follow unchanged (they become Keptn's "additional SLIs" message).
pub fn per_objective(slo: &Slo, values: &[SliValue]) -> Vec<SliValue> {
    let mut out: Vec<SliValue> = slo
        .objectives
        .iter()
        .filter_map(|o| values.iter().find(|v| v.metric == o.sli.value).cloned())
        .collect();
    out.extend(
        values
            .iter()
            .filter(|v| !slo.objectives.iter().any(|o| o.sli.value == v.metric))
            .cloned(),
    );
    out
}

/// Scores `values` against `slo`. `previous` holds the selected previous evaluations (§8),
/// newest first, with their ids.
pub fn evaluate(
    slo: &Slo,
    retrieval: &Retrieval,
    values: &[SliValue],
    previous: &[&previous::PreviousEvaluation],
    policy: MissingBaseline,
) -> Evaluation {
    evaluate_with(
        slo,
        retrieval,
        values,
        previous,
        policy,
        BaselineKind::History,
    )
}

/// [`evaluate`], saying where `previous` came from: earlier evaluations (`History`) or the
/// baseline window before a deployment (`Window`, one pseudo-evaluation of that window's values).
pub fn evaluate_with(
    slo: &Slo,
    retrieval: &Retrieval,
    values: &[SliValue],
    previous: &[&previous::PreviousEvaluation],
    policy: MissingBaseline,
    source: BaselineKind,
) -> Evaluation {
    evaluate_judged(slo, retrieval, values, previous, policy, source, None)
}

/// The statistical judge's hook: for an objective, its baseline A and its measured value, the
/// interval of the change (`None`: no per-minute data, Keptn decides alone).
pub type JudgeFn<'a> = &'a dyn Fn(&Objective, f64, f64) -> Option<crate::judge::Comparison>;

/// [`evaluate_with`] with the statistical judge deciding relative criteria against a window
/// baseline (see [`crate::judge`]); `None` is exactly Keptn. The objectives are judged twice:
/// alone, then with the evidence of all of them combined ([`crate::judge::combination`]).
pub fn evaluate_judged(
    slo: &Slo,
    retrieval: &Retrieval,
    values: &[SliValue],
    previous: &[&previous::PreviousEvaluation],
    policy: MissingBaseline,
    source: BaselineKind,
    judge: Option<JudgeFn>,
) -> Evaluation {
    let first = evaluate_once(slo, retrieval, values, previous, policy, source, judge);
    let Some(j) = judge else {
        return first;
    };
    let mut items = Vec::new();
    let mut at = Vec::new();
    let mut confidence = 0.95;
    for (k, (r, o)) in first
        .indicator_results
        .iter()
        .zip(&slo.objectives)
        .enumerate()
    {
        let first_relative = o
            .pass
            .iter()
            .flat_map(|g| &g.criteria)
            .filter_map(|c| Criterion::parse(&c.value).ok())
            .find(|c| c.is_relative());
        if let (Some(cmp), Some(c)) = (&r.judge, first_relative)
            && let Some((worse, beyond)) = crate::judge::scores(&c, cmp)
        {
            confidence = cmp.confidence;
            items.push((crate::judge::group(cmp.statistic), worse, beyond));
            at.push(k);
        }
    }
    let decisions = crate::judge::combination(&items, confidence);
    if decisions.iter().all(Option::is_none) {
        return first;
    }
    let mut combined = vec![None; slo.objectives.len()];
    for (k, d) in at.into_iter().zip(decisions) {
        combined[k] = d;
    }
    let wrapped = |o: &Objective, a: f64, m: f64| {
        let mut c = j(o, a, m)?;
        let k = slo.objectives.iter().position(|x| std::ptr::eq(x, o))?;
        c.combined = combined[k];
        Some(c)
    };
    evaluate_once(
        slo,
        retrieval,
        values,
        previous,
        policy,
        source,
        Some(&wrapped),
    )
}

fn evaluate_once(
    slo: &Slo,
    retrieval: &Retrieval,
    values: &[SliValue],
    previous: &[&previous::PreviousEvaluation],
    policy: MissingBaseline,
    source: BaselineKind,
    judge: Option<JudgeFn>,
) -> Evaluation {
    let compared_events: Vec<String> = previous.iter().map(|p| p.id.clone()).collect();
    let comparison = slo.effective_comparison();
    let aborted = |message: String, status: &str, evaluation_result: Verdict| Evaluation {
        result: Verdict::Fail,
        evaluation_result,
        status: status.into(),
        score: 0.0,
        message,
        indicator_results: Vec::new(),
        compared_events: compared_events.clone(),
        invalid_input: None,
        error: None,
    };
    // §6 rows 1 and 2: nothing to score.
    match retrieval {
        // Nothing was scored: could not evaluate, never a fail (Keptn's data.result was fail).
        Retrieval::Aborted => {
            let mut e = aborted(
                "evaluation performed by lighthouse was aborted".into(),
                "errored",
                Verdict::Pass,
            );
            e.result = Verdict::Error;
            e.error = Some("the SLI retrieval was aborted".into());
            return e;
        }
        Retrieval::Errored(msg) => {
            let mut e = aborted(
                format!("evaluation performed by lighthouse received an unexpected error: {msg}"),
                "errored",
                Verdict::Pass,
            );
            e.result = Verdict::Error;
            e.error = Some(format!("the SLI provider errored: {msg}"));
            return e;
        }
        _ => {}
    }
    // §6 row 5 (#9198).
    if slo.objectives.is_empty() {
        let mut e = aborted(
            "lighthouse failed because no SLO objective was provided".into(),
            "succeeded",
            Verdict::Fail,
        );
        e.invalid_input = Some(e.message.clone());
        e.result = Verdict::Invalid;
        return e;
    }

    let mut consumed = vec![false; values.len()];
    let mut results = Vec::with_capacity(slo.objectives.len());
    let mut maximum = 0.0;
    let mut key_failure: Option<String> = None;

    for objective in &slo.objectives {
        let weight = objective.effective_weight();
        if !objective.pass.is_empty() {
            maximum += weight as f64;
        }
        // §4.1: the first value of this metric that no earlier objective consumed.
        let value = values
            .iter()
            .enumerate()
            .find(|(i, v)| !consumed[*i] && v.metric == objective.sli.value)
            .map(|(i, v)| {
                consumed[i] = true;
                v.clone()
            });
        let pool = baseline::pool(previous, &objective.sli.value);
        let a = baseline::aggregate(&pool, &comparison.aggregate_function);
        let base = Base {
            a,
            has_pool: !pool.is_empty(),
            count: pool.len(),
            comparison: &comparison,
            source,
        };

        match objective_result(objective, weight, value, &base, policy, judge) {
            Ok((result, key_msg)) => {
                if let Some(m) = key_msg
                    && key_failure.is_none()
                {
                    key_failure = Some(format!(
                        "Evaluation failed due to key_sli objective '{}': {m}",
                        objective.display_name()
                    ));
                }
                results.push(result);
            }
            Err(err) => {
                // §4.4 / §6 row 4: a bad pass criterion aborts the whole evaluation.
                let mut e = aborted(
                    format!("error with {}: {err}", objective.label()),
                    "succeeded",
                    Verdict::Fail,
                );
                e.invalid_input = Some(e.message.clone());
                e.result = Verdict::Invalid;
                return e;
            }
        }
    }

    // SLI values no objective consumed.
    let extra: Vec<&str> = values
        .iter()
        .zip(&consumed)
        .filter(|(_, c)| !**c)
        .map(|(v, _)| v.metric.as_str())
        .collect();
    let mut message = String::new();
    if !extra.is_empty() {
        message = format!(
            "Lighthouse received additional SLIs, which are not specified as SLO: {} . Please consider using them as an SLO.",
            extra.join(", ")
        );
    }

    let mut evaluation = Evaluation {
        result: Verdict::Fail,
        evaluation_result: Verdict::Fail,
        status: "succeeded".into(),
        score: 0.0,
        message,
        indicator_results: results,
        compared_events,
        invalid_input: None,
        error: None,
    };
    if let Err(msg) = total_score(slo, maximum, key_failure, &mut evaluation) {
        return Evaluation {
            result: Verdict::Invalid,
            evaluation_result: Verdict::Fail,
            status: "errored".into(),
            score: 0.0,
            message: msg.clone(),
            indicator_results: Vec::new(),
            compared_events: evaluation.compared_events,
            invalid_input: Some(msg),
            error: None,
        };
    }
    // The judge: a pass reached with inconclusive objectives is a warning that says so.
    let open = evaluation
        .indicator_results
        .iter()
        .filter(|r| r.is_inconclusive())
        .count();
    if judge.is_some() && open > 0 && evaluation.result == Verdict::Pass {
        evaluation.result = Verdict::Warning;
        evaluation.evaluation_result = Verdict::Warning;
        evaluation.message = format!(
            "Evaluation returned a warning: {} inconclusive (--judge statistical): worse than before, but not shown to be beyond the margin",
            if open == 1 {
                "1 objective is".to_string()
            } else {
                format!("{open} objectives are")
            }
        );
    }
    // §6 row 7: the provider said `fail`; the verdict fails, Keptn's evaluation.result stays.
    if let Retrieval::Failed(msg) = retrieval {
        evaluation.result = Verdict::Fail;
        evaluation.message = format!("lighthouse failed because SLI failed with message {msg}");
    }
    evaluation
}

struct Base<'a> {
    a: f64,
    has_pool: bool,
    count: usize,
    comparison: &'a EffectiveComparison,
    source: BaselineKind,
}

/// §4 steps 2–6 for one objective. Returns the result and, for a failed key SLI, the message
/// the gate fails with; `Err` for a pass criterion that does not parse.
fn objective_result(
    objective: &Objective,
    weight: i64,
    value: Option<SliValue>,
    base: &Base,
    policy: MissingBaseline,
    judge: Option<JudgeFn>,
) -> Result<(IndicatorResult, Option<String>), CriteriaError> {
    let mut result = IndicatorResult {
        score: 0.0,
        status: Status::Fail,
        display_name: objective.display_name().to_string(),
        key_sli: objective.is_key(),
        value: ResultValue {
            metric: objective.sli.value.clone(),
            value: None,
            compared_value: base.a,
            success: false,
            message: String::new(),
            query: None,
        },
        pass_targets: None,
        warning_targets: None,
        baseline: if base.has_pool {
            base.source
        } else {
            BaselineKind::None
        },
        baseline_aggregate: base.comparison.aggregate_function.clone(),
        baseline_count: base.count,
        weight,
        change_percent: None,
        baseline_value: base.has_pool.then_some(base.a),
        source: None,
        notes: Vec::new(),
        query: None,
        unit: None,
        error: None,
        judge: None,
        not_judged: None,
        tile: None,
    };

    let value = match value {
        Some(v) => v,
        // §4.2: an informational objective reports the value as received, here none.
        None if objective.pass.is_empty() => SliValue {
            metric: objective.sli.value.clone(),
            value: None,
            success: false,
            message: String::new(),
        },
        None => SliValue {
            metric: objective.sli.value.clone(),
            value: Some(0.0),
            success: false,
            message: "no value received from SLI provider".into(),
        },
    };
    result.value.value = value.value;
    result.value.success = value.success;
    result.value.message = value.message.clone();
    // §4.2 / §4.3: an objective that is not evaluated reports the value as received, whose
    // comparedValue Keptn never filled in (cases 069, 070); its relative targets still show A.
    let evaluated = !objective.pass.is_empty() && value.success && value.value.is_some();
    if !evaluated {
        result.value.compared_value = 0.0;
    }
    if let (Some(v), true, true) = (value.value, value.success, base.has_pool)
        && base.a != 0.0
    {
        result.change_percent = Some((v - base.a) / base.a * 100.0).filter(|p| p.is_finite());
    }
    // A baseline beyond the range of numbers (the mean of values near 1.8e308) is no number to
    // show or compare with; its relative targets cannot be computed either (below).
    if !base.a.is_finite() {
        result.value.compared_value = 0.0;
        result.baseline_value = None;
    }
    if evaluated && base.has_pool {
        let uncomputable: Vec<&str> = objective
            .pass
            .iter()
            .chain(&objective.warning)
            .flat_map(|g| &g.criteria)
            .filter(|raw| {
                Criterion::parse(&raw.value)
                    .is_ok_and(|c| c.is_relative() && relative_target(&c, base.a).is_none())
            })
            .map(|raw| raw.value.as_str())
            .collect();
        if !uncomputable.is_empty() {
            result.notes.push(format!(
                "{} cannot be computed against the baseline {}: the target is beyond the range of numbers, so the criterion is not satisfied",
                uncomputable.join(", "),
                go_v(base.a)
            ));
        }
    }

    // §4.2: informational objective.
    if objective.pass.is_empty() {
        result.status = Status::Info;
        result.key_sli = false;
        result.pass_targets = Some(Vec::new());
        result.warning_targets = Some(empty_targets(&objective.warning, base.a));
        if !objective.warning.is_empty() {
            result
                .notes
                .push("warning criteria without pass criteria are not scored (Keptn #2231)".into());
        }
        return Ok((result, None));
    }
    // §4.3: no value, or an unsuccessful one.
    let measured = match value.value {
        Some(v) if value.success => v,
        _ => {
            result.status = Status::Fail;
            result.key_sli = false;
            result.pass_targets = Some(empty_targets(&objective.pass, base.a));
            result.warning_targets = Some(empty_targets(&objective.warning, base.a));
            let key = objective.is_key().then(|| value.message.clone());
            return Ok((result, key));
        }
    };

    // §4.4: pass groups. Evaluated twice when a relative criterion lacks a baseline, so the
    // policy can tell "passed on its own" from "passed only because the baseline was missing".
    let lenient = groups(&objective.pass, measured, base, true)?;
    let strict = if base.has_pool {
        None
    } else {
        Some(groups(&objective.pass, measured, base, false)?)
    };
    let passed_strictly = strict.as_ref().map_or(lenient.0, |s| s.0);
    let mut passed = lenient.0;
    let mut downgrade = false;
    if lenient.0 && !passed_strictly {
        match policy {
            MissingBaseline::Pass => result.notes.push(
                "a relative criterion passed without a baseline (no previous value): Keptn's behaviour; \
                 --on-missing-baseline changes it"
                    .into(),
            ),
            MissingBaseline::Warn => {
                downgrade = true;
                result
                    .notes
                    .push("passed only because the baseline is missing: downgraded to warning (--on-missing-baseline warn)".into());
            }
            MissingBaseline::Fail => {
                passed = false;
                result
                    .notes
                    .push("a relative criterion has no baseline: not passed (--on-missing-baseline fail)".into());
            }
        }
    }
    // Targets as reported: under the fail policy, the strict evaluation is the one that counted.
    result.pass_targets = Some(match (&strict, policy) {
        (Some(s), MissingBaseline::Fail) => s.1.clone(),
        _ => lenient.1,
    });

    // §4.5: warning groups are evaluated and listed whenever they exist, also for an objective
    // that passed (case 061); a criterion error there means "not a warning" with no targets.
    let mut warned = false;
    if !objective.warning.is_empty() {
        let lenient_w = policy != MissingBaseline::Fail;
        match groups(&objective.warning, measured, base, lenient_w) {
            Ok((held, targets)) => {
                warned = held;
                result.warning_targets = Some(targets);
            }
            Err(_) => result.warning_targets = Some(Vec::new()),
        }
    }
    // The statistical judge, against a window baseline only, decides the objective from the
    // interval (crate::judge::decide): satisfied pass criteria pass, inconclusive ones warn with
    // the score they were not shown to lose, violated ones fall to the warning criteria.
    // `Some(Ok(full))`: inconclusive, keeping the full score or a warning's half;
    // `Some(Err(status))`: the judge's pass, warning or fail.
    let mut judged_outcome: Option<Result<bool, Status>> = None;
    if let Some(j) = judge
        && base.has_pool
        && base.source == BaselineKind::Window
        && let Some(mut cmp) = j(objective, base.a, measured)
    {
        use crate::judge::Decision;
        let rank = |d: Decision| match d {
            Decision::Satisfied => 0,
            Decision::Inconclusive => 1,
            Decision::Violated => 2,
        };
        let (mut pass_d, mut listed) = judged(&objective.pass, measured, base.a, &cmp)?;
        // The objectives moving the same way, together (crate::judge::combination).
        if let Some(c) = cmp.combined
            && rank(c) > rank(pass_d)
        {
            pass_d = c;
            for (_, _, d) in listed.iter_mut() {
                if rank(*d) < rank(c) {
                    *d = c;
                }
            }
        } else {
            cmp.combined = None;
        }
        let (warn_d, warn_listed) = judged(&objective.warning, measured, base.a, &cmp)
            .unwrap_or((Decision::Violated, Vec::new()));
        judged_outcome = Some(match pass_d {
            Decision::Satisfied => Err(Status::Pass),
            Decision::Inconclusive => Ok(true),
            Decision::Violated if objective.warning.is_empty() => Err(Status::Fail),
            Decision::Violated => match warn_d {
                Decision::Satisfied => Err(Status::Warning),
                Decision::Inconclusive => Ok(false),
                Decision::Violated => Err(Status::Fail),
            },
        });
        let relative: Vec<_> = listed.iter().map(|(c, _, d)| (*c, *d)).collect();
        crate::judge::describe(&mut cmp, objective.label(), &relative);
        cmp.decision = Some(match judged_outcome {
            Some(Ok(_)) => Decision::Inconclusive,
            _ => pass_d,
        });
        listed.extend(warn_listed);
        cmp.criteria = listed
            .into_iter()
            .map(|(_, raw, d)| crate::judge::JudgedCriterion {
                criteria: raw,
                decision: d,
            })
            .collect();
        let keptn = if passed && !downgrade {
            Status::Pass
        } else if downgrade || warned {
            Status::Warning
        } else {
            Status::Fail
        };
        let judged_status = match judged_outcome {
            Some(Ok(_)) => Status::Warning,
            Some(Err(s)) => s,
            None => keptn,
        };
        if matches!(judged_outcome, Some(Ok(_))) {
            result.notes.push(format!(
                "{}; a warning, not a failure (--judge statistical)",
                cmp.summary
            ));
        } else if judged_status != keptn {
            result.notes.push(format!(
                "{}; {} by the statistical judge, {} by Keptn's comparison",
                cmp.summary,
                status_word(judged_status),
                status_word(keptn)
            ));
        }
        if let (Some(c), Some(_)) = (relative.first(), cmp.resolvable_percent)
            && let Some(note) =
                crate::judge::resolution_note(&cmp, &crate::judge::margin_text(&c.0))
        {
            result.notes.push(note);
        }
        result.judge = Some(cmp);
    }
    match judged_outcome {
        Some(Ok(full)) => {
            // Worse, not shown beyond the margin: a warning that keeps the score it has not
            // been shown to lose, so inconclusive objectives alone never fail the total
            // (docs/judge.md).
            result.status = Status::Warning;
            result.score = if full { 1.0 } else { 0.5 } * weight as f64;
            return Ok((result, None));
        }
        Some(Err(Status::Pass)) => {
            result.status = Status::Pass;
            result.score = weight as f64;
            return Ok((result, None));
        }
        Some(Err(Status::Warning)) => {
            result.status = Status::Warning;
            result.score = 0.5 * weight as f64;
            return Ok((result, None));
        }
        _ => {}
    }
    if judged_outcome.is_none() {
        if passed && !downgrade {
            result.status = Status::Pass;
            result.score = weight as f64;
            return Ok((result, None));
        }
        if downgrade || warned {
            result.status = Status::Warning;
            result.score = 0.5 * weight as f64;
            return Ok((result, None));
        }
    }
    // §4.6
    result.status = Status::Fail;
    result.score = 0.0;
    let key = objective
        .is_key()
        .then(|| format!("failed evaluation with score {}", go_f(result.score)));
    Ok((result, key))
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Pass => "a pass",
        Status::Warning => "a warning",
        Status::Fail => "a failure",
        Status::Info => "information",
    }
}

/// OR over groups, AND within a group, every criterion evaluated (§2). `lenient`: a relative
/// criterion without baseline is satisfied (Keptn), else violated.
fn groups(
    groups: &[Group],
    measured: f64,
    base: &Base,
    lenient: bool,
) -> Result<(bool, Vec<TargetResult>), CriteriaError> {
    let mut any = false;
    let mut targets = Vec::new();
    for group in groups {
        let mut all = true;
        for raw in &group.criteria {
            let c = Criterion::parse(&raw.value)?;
            let (ok, target_value) = if c.is_relative() && !base.has_pool {
                (lenient, 0.0)
            } else if c.is_relative() {
                // A change that cannot be computed is never satisfied.
                match relative_target(&c, base.a) {
                    Some(t) => (c.op.holds(measured, t), t),
                    None => (false, 0.0),
                }
            } else {
                let t = c.target_value(base.a);
                (c.op.holds(measured, t), t)
            };
            all &= ok;
            targets.push(TargetResult {
                criteria: raw.value.clone(),
                target_value,
                violated: !ok,
            });
        }
        any |= all;
    }
    Ok((any, targets))
}

/// The judge's decision over groups (OR over groups, AND within one): the best group's worst
/// criterion. Also lists every relative criterion with its decision.
#[allow(clippy::type_complexity)]
fn judged(
    groups: &[Group],
    measured: f64,
    a: f64,
    cmp: &crate::judge::Comparison,
) -> Result<
    (
        crate::judge::Decision,
        Vec<(Criterion, String, crate::judge::Decision)>,
    ),
    CriteriaError,
> {
    use crate::judge::Decision;
    let rank = |d: Decision| match d {
        Decision::Satisfied => 0,
        Decision::Inconclusive => 1,
        Decision::Violated => 2,
    };
    let mut best = Decision::Violated;
    let mut listed = Vec::new();
    for group in groups {
        let mut worst = Decision::Satisfied;
        for raw in &group.criteria {
            let c = Criterion::parse(&raw.value)?;
            let d = if c.is_relative() {
                let d = match relative_target(&c, a) {
                    Some(_) => crate::judge::decide(&c, a, measured, cmp),
                    None => Decision::Violated,
                };
                listed.push((c, raw.value.clone(), d));
                d
            } else if c.op.holds(measured, c.target_value(a)) {
                Decision::Satisfied
            } else {
                Decision::Violated
            };
            if rank(d) > rank(worst) {
                worst = d;
            }
        }
        if rank(worst) < rank(best) {
            best = worst;
        }
    }
    Ok((best, listed))
}

/// The target of a relative criterion against baseline `a`, `None` when it is not a finite
/// number (`<=+10%` of 1e307 overflows to +Inf; Keptn compared with +Inf and passed).
fn relative_target(c: &Criterion, a: f64) -> Option<f64> {
    Some(c.target_value(a)).filter(|t| a.is_finite() && t.is_finite())
}

/// Targets of an objective that was not evaluated: each parseable criterion, violated, with the
/// literal (absolute) or the baseline itself (relative) as target (§4).
fn empty_targets(groups: &[Group], a: f64) -> Vec<TargetResult> {
    groups
        .iter()
        .flat_map(|g| &g.criteria)
        .filter_map(|raw| {
            let c = Criterion::parse(&raw.value).ok()?;
            Some(TargetResult {
                criteria: raw.value.clone(),
                target_value: if c.is_relative() {
                    if a.is_finite() { a } else { 0.0 }
                } else {
                    c.target_value(a)
                },
                violated: true,
            })
        })
        .collect()
}

/// §5: the total score and the verdict. `Err` carries Keptn's message for a missing or
/// unparsable threshold.
fn total_score(
    slo: &Slo,
    maximum: f64,
    key_failure: Option<String>,
    e: &mut Evaluation,
) -> Result<(), String> {
    if maximum == 0.0 {
        e.result = Verdict::Pass;
        e.evaluation_result = Verdict::Pass;
        e.score = 100.0;
        return Ok(());
    }
    let achieved: f64 = e
        .indicator_results
        .iter()
        .filter(|r| r.pass_targets.as_ref().is_some_and(|t| !t.is_empty()))
        .map(|r| r.score)
        // From +0.0 as Keptn's `totalScore := 0.0`: an empty float `sum()` is -0.0, printed "-0".
        .fold(0.0, |total, s| total + s);
    let score = 100.0 * (achieved / maximum);
    e.score = score;
    let ts = slo.total_score.as_ref();
    let pass = ts
        .and_then(|t| t.pass.as_ref())
        .map(|p| p.value.as_str())
        .filter(|p| !p.is_empty())
        .ok_or_else(|| "no target score defined".to_string())?;
    let pass = parse_percentage(pass)
        .ok_or_else(|| "could not parse pass target percentage".to_string())?;
    let warning = ts
        .and_then(|t| t.warning.as_ref())
        .map(|w| w.value.as_str())
        .filter(|w| !w.is_empty());
    let verdict = if score >= pass && key_failure.is_none() {
        Verdict::Pass
    } else if let (Some(w), None) = (warning, &key_failure) {
        let w = parse_percentage(w)
            .ok_or_else(|| "could not parse warning target percentage".to_string())?;
        if score >= w {
            e.message = format!(
                "Evaluation returned a warning: the calculated score of {} is close to the warning target value of {}",
                go_v(score),
                go_v(w)
            );
            Verdict::Warning
        } else {
            e.message = format!(
                "Evaluation failed since the calculated score of {} is below the warning value of {}",
                go_v(score),
                go_v(w)
            );
            Verdict::Fail
        }
    } else if let Some(k) = key_failure {
        e.message = k;
        Verdict::Fail
    } else {
        e.message = format!(
            "Evaluation failed since the calculated score of {} is below the target value of {}",
            go_v(score),
            go_v(pass)
        );
        Verdict::Fail
    };
    e.result = verdict;
    e.evaluation_result = verdict;
    Ok(())
}

/// A `total_score` threshold: one trailing `%` removed, then Go's ParseFloat.
pub fn parse_percentage(s: &str) -> Option<f64> {
    crate::model::criteria::go_parse_float(s.strip_suffix('%').unwrap_or(s))
}

#[cfg(test)]
mod tests;
