//! The statistical judge (`--judge statistical`), pure: from the per-minute series of the
//! baseline window and the evaluation window, an interval for the change of a window statistic,
//! and per relative criterion a decision that respects it:
//!
//! - **violated**: the whole interval lies beyond the criterion;
//! - **inconclusive**: the point is beyond it and the data show it got worse (one-sided);
//! - **satisfied**: otherwise: within the criterion, or no change is as consistent.
//!
//! Without `--judge` none of this runs and every score is Keptn's. Method and citations:
//! [`estimate`], docs/judge.md, docs/decisions.md.

pub mod companion;
pub mod estimate;
pub mod paired;

use serde::{Deserialize, Serialize};

use crate::model::criteria::{Criterion, Operator, Target};
use estimate::Shape;

/// Who decides relative criteria against a window baseline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub enum JudgeMode {
    /// Keptn's comparison of two point values.
    #[default]
    Keptn,
    /// Point values plus an interval; see the module docs.
    Statistical,
}

impl JudgeMode {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "keptn" => Some(Self::Keptn),
            "statistical" => Some(Self::Statistical),
            _ => None,
        }
    }
}

/// The judge's knobs (`judge_confidence`, `judge_min_events`, `judge_min_minutes`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// Two-sided confidence of the interval.
    pub confidence: f64,
    /// Fewest events a window needs: errors for a rate, requests for an average, requests in
    /// the tail for a percentile (p95: 5 % of the requests), the count for a total.
    pub min_events: f64,
    /// Fewest minutes with data a window needs.
    pub min_minutes: usize,
    /// Minutes after the deployment left out of the evaluation window (warm-up).
    pub warm_up_minutes: usize,
}

/// Minutes after a deployment the judge leaves out by default: caches, JIT compilation and
/// connection pools settle within a few minutes; 5 of a 30-minute window cost a sixth of the
/// evaluation minutes.
pub const DEFAULT_WARM_UP_MINUTES: usize = 5;

impl Default for Settings {
    fn default() -> Self {
        // 10 events: the Poisson interval of a rate is then within a factor of about 2 either
        // way. benches/judge gives identical verdicts with 0, 10 and 30 (the Poisson floor
        // already widens such intervals); the rule names the reason. 10 minutes give the
        // autocorrelation estimate something to stand on.
        Settings {
            confidence: 0.95,
            min_events: 10.0,
            min_minutes: 10,
            warm_up_minutes: DEFAULT_WARM_UP_MINUTES,
        }
    }
}

/// What the window statistic of an SLI is, which decides its estimator.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "p")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub enum Statistic {
    /// A percentile of request latencies (`percentile(95)`, `median`).
    Percentile(f64),
    /// A mean over requests (`avg`).
    Average,
    /// A share of requests (error rate): counts per minute when they can be had.
    Rate,
    /// A count summed over the window (`sum`, `count`).
    Total,
    /// Anything else: a level followed through its per-minute values.
    Level,
}

impl Statistic {
    pub fn name(self) -> String {
        match self {
            Statistic::Percentile(50.0) => "median".into(),
            Statistic::Percentile(p) => format!("p{}", crate::eval::gofmt::go_v(p)),
            Statistic::Average => "average".into(),
            Statistic::Rate => "rate".into(),
            Statistic::Total => "total".into(),
            Statistic::Level => "level".into(),
        }
    }
}

/// The per-minute data of one window, aligned by minute (`None` = no data that minute).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Minutes {
    /// The SLI itself per minute.
    pub values: Vec<Option<f64>>,
    /// Requests per minute (the denominator of a rate, the weight of an average).
    pub requests: Option<Vec<Option<f64>>>,
    /// Events per minute behind a rate (errors).
    pub events: Option<Vec<Option<f64>>>,
}

/// The three outcomes of a criterion under the judge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub enum Decision {
    Satisfied,
    Inconclusive,
    Violated,
}

/// An interval with its point estimate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Interval {
    pub point: f64,
    pub low: f64,
    pub high: f64,
}

impl Interval {
    /// A change in percent from its log `l` (`None`: fell to 0, −100 %) with standard error
    /// `se`, at the normal quantile `q`.
    pub fn percent_from_log(l: Option<f64>, q: f64, se: f64) -> Interval {
        let pct = |v: f64| (v.exp() - 1.0) * 100.0;
        match l {
            Some(l) => Interval {
                point: pct(l),
                low: pct(l - q * se),
                high: pct(l + q * se),
            },
            None => Interval {
                point: -100.0,
                low: -100.0,
                high: pct(q * se),
            },
        }
    }
}

/// The judge's view of one objective: the change, its interval, and the evidence behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Comparison {
    pub statistic: Statistic,
    /// How the interval was made, in words.
    pub method: String,
    /// Two-sided confidence of the intervals (0.95).
    pub confidence: f64,
    /// The change in percent (after/before − 1), with its interval; `None` when the baseline
    /// is not positive.
    pub change_percent: Option<Interval>,
    /// The difference after − before, with its interval (for `+N` criteria).
    pub difference: Option<Interval>,
    pub minutes_before: usize,
    pub minutes_after: usize,
    /// Effective independent minutes per window after the autocorrelation correction.
    pub effective_minutes_before: f64,
    pub effective_minutes_after: f64,
    /// The lag-1 autocorrelation of the minutes the correction used.
    pub autocorrelation: f64,
    /// How much a window's statistic moved against the next before the deployment (sd of the
    /// log change, in percent), when the minutes before the baseline window were there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub between_windows_percent: Option<f64>,
    /// The events behind the statistic per window (errors, requests), when counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_before: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_after: Option<f64>,
    /// What the events are called ("errors", "requests", "requests above p95").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_name: Option<String>,
    /// Set when a window holds too little to judge: no criterion is then violated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub too_little: Option<String>,
    /// The judge's decision for the objective (its pass criteria).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// Per objective, in plain words: "p95 +3.1 % (95 % CI −1.2 % … +7.6 %): within +10 %".
    #[serde(default)]
    pub summary: String,
    /// The margin this service's noise can resolve, in percent, when a criterion's margin is
    /// below it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolvable_percent: Option<f64>,
    /// Each relative criterion (pass, then warning) with the judge's decision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub criteria: Vec<JudgedCriterion>,
    /// What the change was compared with: "median of 4 windows of 30 minutes before the
    /// deployment" or "the window before the deployment".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// Minutes the judge left out, in words (warm-up, outlier minutes with their offsets from
    /// the deployment).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<String>,
    /// The traffic change (percent) the comparison was adjusted for, when the SLI follows load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_adjusted_percent: Option<f64>,
    /// The fitted exponent of the SLI against the request rate (`SLI ∝ requests^slope`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_slope: Option<f64>,
    /// Standard error of the log change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_se: Option<f64>,
    /// The decision the objectives moving the same way gave together (see [`combination`]),
    /// when it is firmer than this objective's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combined: Option<Decision>,
}

/// A relative criterion and what the judge decided about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct JudgedCriterion {
    pub criteria: String,
    pub decision: Decision,
}

/// The interval of the change between two windows. `before` and `after` are the windows'
/// point values as fetched (Keptn's A and value): the interval is centred on them, corrected
/// for what the per-minute series show besides the release, its width comes from the minutes.
///
/// `history`: the minutes before the deployment, ending with the baseline window, longer than
/// two windows. From it: the baseline (the median of the windows of the same length before the
/// deployment, outlier minutes left out), how much one window's statistic moves against the
/// next when nothing changed (the interval is the wider of that and the within-window
/// estimate), and for latencies the relation with load (compared at matched load). The first
/// `settings.warm_up_minutes` of the evaluation window are left out.
pub fn compare(
    statistic: Statistic,
    before_minutes: &Minutes,
    after_minutes: &Minutes,
    history: Option<&Minutes>,
    before: f64,
    after: f64,
    settings: &Settings,
) -> Comparison {
    compare_around(
        statistic,
        before_minutes,
        after_minutes,
        history,
        before,
        after,
        settings,
        &[],
    )
}

/// Minutes of the stretch before the deployment inside a known incident (a Davis problem that
/// was over by the deployment): `from..to` as indices of the stretch (`history`, or the
/// baseline window without it), and what it was.
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    pub from: usize,
    pub to: usize,
    pub what: String,
}

/// The stretch indices `[from, to)` of the minutes of a stretch of `n` minutes ending at
/// `end_ms` that overlap `[start_ms, stop_ms)`; `None` when none do.
pub fn minutes_within(
    n: usize,
    end_ms: i64,
    start_ms: i64,
    stop_ms: i64,
) -> Option<(usize, usize)> {
    const MINUTE: i64 = 60_000;
    let first = end_ms - n as i64 * MINUTE;
    let from = (start_ms - first).div_euclid(MINUTE).clamp(0, n as i64);
    // A minute overlaps when it starts before the stop.
    let to = (stop_ms - first + MINUTE - 1)
        .div_euclid(MINUTE)
        .clamp(0, n as i64);
    (from < to).then_some((from as usize, to as usize))
}

/// [`compare`], with the minutes of known incidents before the deployment left out of the
/// baseline like outlier minutes (as long as the baseline window keeps enough minutes).
#[allow(clippy::too_many_arguments)]
pub fn compare_around(
    statistic: Statistic,
    before_minutes: &Minutes,
    after_minutes: &Minutes,
    history: Option<&Minutes>,
    before: f64,
    after: f64,
    settings: &Settings,
    incidents: &[Incident],
) -> Comparison {
    let len = before_minutes.values.len();
    let stretch = history
        .filter(|h| h.values.len() >= len && len > 0)
        .unwrap_or(before_minutes);
    let n = stretch.values.len();
    let shape = prepare(statistic, before_minutes).shape;
    let counts = statistic == Statistic::Rate
        && stretch.events.is_some()
        && stretch.requests.is_some()
        && after_minutes.events.is_some();
    let (hy, hx) = per_minute(statistic, stretch);
    let (ay, ax) = per_minute(statistic, after_minutes);

    // Warm-up: the first minutes after the deployment, as long as enough minutes remain.
    let skip = settings
        .warm_up_minutes
        .min(ay.len().saturating_sub(settings.min_minutes.max(1)));
    // Outlier minutes, per window of the stretch (from its end) and in the evaluation window.
    let judge_outliers = statistic != Statistic::Total;
    let mut keep_h = vec![true; n];
    let mut keep_a: Vec<bool> = (0..ay.len()).map(|i| i >= skip).collect();
    // Known incidents first: their minutes are left out whatever the outlier rule says, as
    // long as the baseline window keeps enough minutes to judge (else they stay, and the
    // outlier rule and the median of windows are what guards the baseline).
    let mut in_incident = vec![false; n];
    let mut incident_text = Vec::new();
    for inc in incidents {
        let (from, to) = (inc.from.min(n), inc.to.min(n));
        let minutes: Vec<usize> = (from..to).filter(|i| hy[*i].is_some()).collect();
        if minutes.is_empty() {
            continue;
        }
        for i in &minutes {
            in_incident[*i] = true;
        }
        let offsets: Vec<i64> = minutes.iter().map(|i| *i as i64 - n as i64).collect();
        incident_text.push(format!(
            "{} before the deployment, inside Davis problem {}",
            minute_ranges(&offsets),
            inc.what
        ));
    }
    let base_start = n - len.min(n);
    let base_left = (base_start..n)
        .filter(|i| hy[*i].is_some() && !in_incident[*i])
        .count();
    let incidents_left_out =
        !incident_text.is_empty() && base_left >= settings.min_minutes.max(len / 2);
    if incidents_left_out {
        for (k, out) in in_incident.iter().enumerate() {
            keep_h[k] = !out;
        }
    }
    if judge_outliers && len > 0 {
        // Windows of the stretch from its end (whole windows only), and the evaluation window.
        let starts: Vec<usize> = (1..=n / len).map(|k| n - k * len).collect();
        let mut windows: Vec<estimate::Window> = starts
            .iter()
            .map(|s| (&hy[*s..*s + len], &hx[*s..*s + len]))
            .collect();
        windows.push((&ay[skip..], &ax[skip..]));
        let flagged = estimate::outliers_pooled(counts, &windows, estimate::OUTLIER_Z);
        for (s, o) in starts.iter().zip(&flagged) {
            for (i, out) in o.iter().enumerate() {
                keep_h[s + i] &= !out;
            }
        }
        if let Some(o) = flagged.last() {
            for (i, out) in o.iter().enumerate() {
                keep_a[skip + i] &= !out;
            }
        }
    }

    // Load: latency against the request rate, fitted on the clean minutes before.
    let hr = requests_of(stretch);
    let ar = requests_of(after_minutes);
    let base_from = base_start;
    let mean_log = |r: &[Option<f64>], keep: &[bool], from: usize| {
        let l: Vec<f64> = (from..r.len())
            .filter(|i| keep[*i])
            .filter_map(|i| r[i].filter(|v| *v > 0.0).map(f64::ln))
            .collect();
        (!l.is_empty()).then(|| estimate::mean_var(&l).0)
    };
    let mut load: Option<(estimate::LoadFit, f64, f64)> = None;
    if let (Statistic::Percentile(_) | Statistic::Average, Some(_), Some(_)) =
        (statistic, &stretch.requests, &after_minutes.requests)
    {
        // Per-minute percentiles of few requests sit lower the fewer there are: only minutes
        // with enough requests (above the percentile) show the load relation, not that.
        let need = match statistic {
            Statistic::Percentile(p) => settings.min_events.max(1.0) / (1.0 - p / 100.0).max(1e-6),
            _ => settings.min_events.max(1.0),
        };
        let (mut u, mut l) = (Vec::new(), Vec::new());
        for i in 0..n {
            if let (true, Some(y), Some(x), Some(r)) = (keep_h[i], hy[i], hx[i], hr[i])
                && y > 0.0
                && x > 0.0
                && r >= need
            {
                u.push((y / x).ln());
                l.push(r.ln());
            }
        }
        if let (Some(fit), Some(lref), Some(lafter)) = (
            estimate::load_fit(&u, &l).filter(|_| u.len() >= settings.min_minutes),
            mean_log(&hr, &keep_h, base_from),
            mean_log(&ar, &keep_a, 0),
        ) && fit.slope.abs() >= 2.0 * fit.se
        {
            load = Some((fit, lref, lafter));
        }
    }
    // Errors against load: error shares that rise with traffic (queues, timeouts) are compared
    // at matched load too, by a Poisson regression of the clean minutes' error counts.
    if statistic == Statistic::Rate && counts {
        let (mut e, mut r) = (Vec::new(), Vec::new());
        for i in 0..n {
            if let (true, Some(y), Some(x)) = (keep_h[i], hy[i], hx[i])
                && x > 0.0
            {
                e.push(y);
                r.push(x);
            }
        }
        if let (Some(fit), Some(lref), Some(lafter)) = (
            estimate::poisson_load_fit(&e, &r).filter(|_| e.len() >= settings.min_minutes),
            mean_log(&hr, &keep_h, base_from),
            mean_log(&ar, &keep_a, 0),
        ) && fit.slope.abs() >= 2.0 * fit.se
        {
            load = Some((fit, lref, lafter));
        }
    }
    let factor = |r: Option<f64>| match (load, r) {
        (Some((fit, lref, _)), Some(r)) if r > 0.0 => (-fit.slope * (r.ln() - lref)).exp(),
        _ => 1.0,
    };
    // A minute left out is left out of every series (a rate is made of its counts).
    let kept = |s: &Option<Vec<Option<f64>>>, keep: &[bool]| {
        s.as_ref().map(|v| {
            v.iter()
                .enumerate()
                .map(|(i, x)| x.filter(|_| keep.get(i).copied().unwrap_or(true)))
                .collect()
        })
    };
    let adjusted = |m: &Minutes, keep: &[bool], r: &[Option<f64>]| Minutes {
        values: m
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| v.filter(|_| keep[i]).map(|v| v * factor(r[i])))
            .collect(),
        requests: kept(&m.requests, keep),
        // A rate is made of its counts: the errors are what load moves.
        events: kept(&m.events, keep).map(|v: Vec<Option<f64>>| {
            v.iter()
                .enumerate()
                .map(|(i, x)| x.map(|x| x * factor(r.get(i).copied().flatten())))
                .collect()
        }),
    };
    let clean_stretch = adjusted(stretch, &keep_h, &hr);
    let clean_after = adjusted(after_minutes, &keep_a, &ar);
    let clean_before = Minutes {
        values: clean_stretch.values[base_from..].to_vec(),
        requests: clean_stretch
            .requests
            .as_ref()
            .map(|v| v.iter().skip(base_from).copied().collect()),
        events: clean_stretch
            .events
            .as_ref()
            .map(|v| v.iter().skip(base_from).copied().collect()),
    };

    // The windows' statistics (log), per-minute estimator: raw as Keptn's windows, and clean.
    let stat = |m: &Minutes, from: usize, to: usize| -> Option<f64> {
        let (y, x) = per_minute(statistic, m);
        window_log_stat(shape, &y[from..to], &x[from..to])
    };
    let s_before_raw = stat(before_minutes, 0, len);
    let s_after_raw = stat(after_minutes, 0, after_minutes.values.len());
    let s_after = stat(&clean_after, 0, after_minutes.values.len());
    let mut window_stats = Vec::new();
    let mut end = n;
    while end >= len && len > 0 {
        let kept = (end - len..end)
            .filter(|i| keep_h[*i] && clean_stretch.values[*i].is_some())
            .count();
        if kept >= settings.min_minutes.max(len / 2)
            && let Some(v) = stat(&clean_stretch, end - len, end)
        {
            window_stats.push(v);
        }
        end -= len;
    }
    let prepared = [&clean_before, &clean_after].map(|m| prepare(statistic, m));
    let (tb, rb) = estimate::terms(shape, &prepared[0].y, &prepared[0].x);
    let (ta, ra) = estimate::terms(shape, &prepared[1].y, &prepared[1].x);
    let n_mean = (tb.len() + ta.len()) as f64 / 2.0;
    let (tau, rho, _) = estimate::persistence(&[&tb, &ta], n_mean);
    let sb = estimate::window_spread(shape, &tb, &prepared[0].x, rb, tau, prepared[0].floor);
    let sa = estimate::window_spread(shape, &ta, &prepared[1].x, ra, tau, prepared[1].floor);
    let s_window = stat(&clean_before, 0, clean_before.values.len());
    let q = estimate::normal_quantile(0.5 + settings.confidence / 2.0);
    let wlen = len.max(after_minutes.values.len());
    let between = history.and_then(|_| {
        let (y, x) = per_minute(statistic, &clean_stretch);
        estimate::between_windows(shape, &y, &x, wlen)
    });
    // The robust baseline: the median of the windows before the deployment replaces the window
    // before when that window, outlier minutes left out, still stands apart from the median
    // of the earlier ones by more than 4 standard deviations of a window-to-window change among
    // the earlier ones (a longer or milder incident than single minutes show). Otherwise the window before stays:
    // under a drifting level it is the closest to the release.
    let earlier_between = (n > len).then(|| {
        let (y, x) = per_minute(statistic, &clean_stretch);
        estimate::between_windows(shape, &y[..n - len], &x[..n - len], len)
    });
    // A steady ramp (traffic that latency follows, where no load relation could be fitted)
    // moves every window alike: the earlier windows' median lags behind it. When their
    // window-to-window steps share a clear mean (more than 2 of its standard errors), the
    // median is carried along that trend to the window before, both for the test and as the
    // baseline.
    let trend = {
        let steps: Vec<f64> = window_stats
            .get(1..)
            .unwrap_or_default()
            .windows(2)
            .map(|p| p[0] - p[1])
            .collect();
        let (m, v) = estimate::mean_var(&steps);
        (steps.len() >= 2 && m.abs() > 2.0 * (v / steps.len() as f64).sqrt()).then_some(m)
    };
    let stands_apart = match (s_window, earlier_between.flatten(), window_stats.len()) {
        (Some(w), Some((v, _)), k) if k >= 3 && window_stats[0] == w => {
            let mut earlier = window_stats[1..].to_vec();
            // The median of k−1 earlier windows sits k/2 windows before the window before.
            let expected = estimate::median(&mut earlier) + trend.unwrap_or(0.0) * k as f64 / 2.0;
            // The within-window variance of two windows is a floor: 90 minutes hold too few
            // independent pairs for their spread alone to be trusted.
            let v = v.max(2.0 * sb.log_var);
            ((w - expected).abs() > 4.0 * v.sqrt()).then_some(expected)
        }
        _ => None,
    };
    let (s_base, baseline_text) = match (stands_apart, trend) {
        (Some(expected), Some(_)) => (
            Some(expected),
            format!(
                "median of {} earlier windows of {len} minutes, along their trend",
                window_stats.len() - 1
            ),
        ),
        (Some(_), None) => {
            let k = window_stats.len();
            (
                Some(estimate::median(&mut window_stats)),
                format!("median of {k} windows of {len} minutes before the deployment"),
            )
        }
        (None, _) => (s_window, "the window before the deployment".to_string()),
    };
    // The change is the per-minute estimate on the clean minutes (the robust baseline; warm-up
    // and outliers left out; matched load): for averages and rates with counts it is Keptn's
    // own change when nothing was left out; for a percentile the mean of per-minute logs,
    // which an incident's minutes move less than the p95 of a whole window. Kept as a
    // correction to Keptn's log change; 0 when a window has no statistic.
    let correction = match (s_before_raw, s_after_raw, s_after, s_base) {
        (Some(br), Some(ar_), Some(a), Some(b))
            if [br, ar_, a, b].iter().all(|v| v.is_finite()) && before > 0.0 && after > 0.0 =>
        {
            (a - b) - (after / before).ln()
        }
        _ => 0.0,
    };

    // The normal quantile (q above): with a handful of effective minutes a t quantile on
    // n_eff − 1 degrees of freedom made +50 % regressions look uncertain (docs/decisions.md).
    let within = sb.log_var + sa.log_var;
    let load_var = load.map_or(0.0, |(fit, lref, lafter)| {
        (lafter - lref).powi(2) * fit.se * fit.se
    });
    // With the stretch before the deployment, its window-to-window spread is the variance of
    // the change itself, drift and sampling noise included (and the shared drift of adjacent
    // windows, which the within-window sum counts twice); the sampling noise of independent
    // minutes is its floor. Without it, the within-window estimate.
    let sampling = {
        let ib = estimate::window_spread(shape, &tb, &prepared[0].x, rb, 1.0, prepared[0].floor);
        let ia = estimate::window_spread(shape, &ta, &prepared[1].x, ra, 1.0, prepared[1].floor);
        ib.log_var + ia.log_var
    };
    let var = between.map_or(within, |(v, _)| sampling.max(v)) + load_var;
    let se = var.sqrt();

    let change_percent = (before > 0.0 && after >= 0.0 && se.is_finite()).then(|| {
        let l = (after > 0.0).then(|| (after / before).ln() + correction);
        Interval::percent_from_log(l, q, se)
    });
    // For `+N` criteria: the clean baseline in Keptn's units, and the clean change on it.
    let split = |c: f64| match (s_before_raw, s_base, s_after) {
        (Some(br), Some(b), Some(a)) if c != 0.0 => {
            let base = before * (b - br).exp();
            (base, base * (a - b).exp())
        }
        _ => (before, after),
    };
    let (b_adj, a_adj) = split(correction);
    let difference = se.is_finite().then(|| {
        // Delta method: sd of each value = value · sd of its log.
        let sd = (b_adj * b_adj * sb.log_var + a_adj * a_adj * (sa.log_var + load_var)).sqrt();
        let d = a_adj - b_adj;
        Interval {
            point: d,
            low: d - q * sd,
            high: d + q * sd,
        }
    });

    let too_little = shortfall(statistic, &prepared, [&sb, &sa], settings);
    let mut method = prepared[0].method.clone();
    if let Some((_, pairs)) = between {
        method.push_str(&format!(
            "; at least the spread of {pairs} overlapping window pairs before the deployment"
        ));
    }
    let mut left_out = Vec::new();
    if skip > 0 {
        left_out.push(format!(
            "the first {skip} minutes after the deployment (warm-up)"
        ));
    }
    if incidents_left_out {
        left_out.extend(incident_text);
    } else if !incident_text.is_empty() {
        method.push_str(&format!(
            "; kept, as the baseline window would hold too few minutes without them: {}",
            incident_text.join("; ")
        ));
    }
    let before_out: Vec<i64> = (0..n)
        .filter(|i| !keep_h[*i] && hy[*i].is_some() && !(incidents_left_out && in_incident[*i]))
        .map(|i| i as i64 - n as i64)
        .collect();
    let after_out: Vec<i64> = (skip..ay.len())
        .filter(|i| !keep_a[*i] && ay[*i].is_some())
        .map(|i| i as i64)
        .collect();
    for (out, when) in [(&before_out, "before"), (&after_out, "after")] {
        if !out.is_empty() {
            left_out.push(format!(
                "{} outlier minute{} {when} the deployment ({})",
                out.len(),
                if out.len() == 1 { "" } else { "s" },
                minute_ranges(out)
            ));
        }
    }
    let traffic = match (load, &stretch.requests, &after_minutes.requests) {
        (Some((_, lref, lafter)), _, _) => Some(((lafter - lref).exp() - 1.0) * 100.0),
        _ => None,
    };
    Comparison {
        statistic,
        method,
        between_windows_percent: between.map(|(v, _)| v.sqrt() * 100.0),
        confidence: settings.confidence,
        change_percent,
        difference,
        minutes_before: sb.minutes,
        minutes_after: sa.minutes,
        effective_minutes_before: sb.n_eff,
        effective_minutes_after: sa.n_eff,
        autocorrelation: rho,
        events_before: prepared[0].events,
        events_after: prepared[1].events,
        events_name: prepared[0].events_name.clone(),
        too_little,
        decision: None,
        summary: String::new(),
        resolvable_percent: None,
        criteria: Vec::new(),
        baseline: Some(baseline_text),
        left_out,
        load_adjusted_percent: traffic,
        load_slope: load.map(|(f, _, _)| f.slope),
        log_se: se.is_finite().then_some(se),
        combined: None,
    }
}

/// The requests per minute of a series, `None` where missing.
fn requests_of(m: &Minutes) -> Vec<Option<f64>> {
    (0..m.values.len())
        .map(|i| {
            m.requests
                .as_ref()
                .and_then(|r| r.get(i).copied().flatten())
        })
        .collect()
}

/// The log of a window's statistic by the per-minute estimator: the mean log for a level, the
/// log of Σy/Σx for a ratio of sums. `None` without data (or without events).
fn window_log_stat(shape: Shape, y: &[Option<f64>], x: &[Option<f64>]) -> Option<f64> {
    match shape {
        Shape::Level => {
            let l: Vec<f64> = y
                .iter()
                .flatten()
                .filter(|v| **v > 0.0)
                .map(|v| v.ln())
                .collect();
            (!l.is_empty()).then(|| estimate::mean_var(&l).0)
        }
        Shape::RatioOfSums => {
            let (mut sy, mut sx) = (0.0, 0.0);
            for (y, x) in y.iter().zip(x) {
                if let (Some(y), Some(x)) = (y, x)
                    && *x > 0.0
                {
                    sy += y;
                    sx += x;
                }
            }
            (sy > 0.0 && sx > 0.0).then(|| (sy / sx).ln())
        }
    }
}

/// Minute offsets from the deployment as ranges: `−25 … −16, −3`, `+12`.
fn minute_ranges(offsets: &[i64]) -> String {
    let sign = |v: i64| {
        if v < 0 {
            format!("−{}", -v)
        } else {
            format!("+{v}")
        }
    };
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < offsets.len() {
        let mut j = i;
        while j + 1 < offsets.len() && offsets[j + 1] == offsets[j] + 1 {
            j += 1;
        }
        out.push(if j == i {
            format!("minute {}", sign(offsets[i]))
        } else {
            format!("minutes {} … {}", sign(offsets[i]), sign(offsets[j]))
        });
        i = j + 1;
    }
    out.join(", ")
}

/// Per-minute (y, x) of a stretch for [`estimate::between_windows`], `None` where missing.
#[allow(clippy::type_complexity)]
fn per_minute(statistic: Statistic, m: &Minutes) -> (Vec<Option<f64>>, Vec<Option<f64>>) {
    let at = |s: &Option<Vec<Option<f64>>>, i: usize| {
        s.as_ref().and_then(|v| v.get(i).copied().flatten())
    };
    let counted = m.requests.is_some();
    (0..m.values.len())
        .map(|i| match statistic {
            Statistic::Rate if counted && m.events.is_some() => {
                (at(&m.events, i), at(&m.requests, i))
            }
            Statistic::Average if counted => (
                m.values[i].zip(at(&m.requests, i)).map(|(v, r)| v * r),
                at(&m.requests, i),
            ),
            _ => (m.values[i], m.values[i].map(|_| 1.0)),
        })
        .unzip()
}

/// One window's series in the form its estimator takes.
struct Prepared {
    shape: Shape,
    y: Vec<f64>,
    x: Vec<f64>,
    /// The Poisson floor's count (rates and totals).
    floor: Option<f64>,
    /// The evidence counted against the minimum.
    events: Option<f64>,
    events_name: Option<String>,
    method: String,
}

fn prepare(statistic: Statistic, m: &Minutes) -> Prepared {
    let at = |s: &Option<Vec<Option<f64>>>, i: usize| {
        s.as_ref().and_then(|v| v.get(i).copied().flatten())
    };
    let mut y = Vec::new();
    let mut x = Vec::new();
    let mut requests = 0.0;
    let mut events = 0.0;
    let counted = m.requests.is_some();
    let counted_events = m.events.is_some() && counted;
    for (i, v) in m.values.iter().enumerate() {
        let r = at(&m.requests, i);
        match statistic {
            Statistic::Rate if counted_events => {
                // Minutes with requests count, whatever the rate series says.
                if let (Some(e), Some(r)) = (at(&m.events, i), r)
                    && r > 0.0
                {
                    y.push(e);
                    x.push(r);
                    requests += r;
                    events += e;
                }
            }
            Statistic::Average if counted => {
                if let (Some(v), Some(r)) = (v, r)
                    && r > 0.0
                {
                    y.push(v * r);
                    x.push(r);
                    requests += r;
                }
            }
            _ => {
                if let Some(v) = v {
                    y.push(*v);
                    x.push(1.0);
                    requests += r.unwrap_or(0.0);
                }
            }
        }
    }
    let (shape, floor, ev, name, method) = match statistic {
        Statistic::Rate if counted_events => (
            Shape::RatioOfSums,
            Some(events),
            Some(events),
            Some("errors".to_string()),
            "ratio of error counts to request counts per minute, AR(1)-corrected, Poisson floor"
                .to_string(),
        ),
        Statistic::Average if counted => (
            Shape::RatioOfSums,
            None,
            Some(requests),
            Some("requests".into()),
            "request-weighted mean of per-minute averages, AR(1)-corrected".into(),
        ),
        Statistic::Total => {
            let total: f64 = y.iter().sum();
            (
                Shape::RatioOfSums,
                Some(total),
                Some(total),
                Some("counted".into()),
                "sum of per-minute counts, AR(1)-corrected, Poisson floor".into(),
            )
        }
        Statistic::Percentile(p) => (
            Shape::Level,
            None,
            counted.then(|| requests * (1.0 - p / 100.0)),
            counted.then(|| format!("requests above {}", statistic.name())),
            "mean of log per-minute values, AR(1)-corrected".into(),
        ),
        Statistic::Rate | Statistic::Average => (
            Shape::RatioOfSums,
            None,
            None,
            None,
            "mean of per-minute values (no counts available), AR(1)-corrected".into(),
        ),
        Statistic::Level => (
            Shape::Level,
            None,
            None,
            None,
            "mean of log per-minute values, AR(1)-corrected".into(),
        ),
    };
    Prepared {
        shape,
        y,
        x,
        floor,
        events: ev,
        events_name: name,
        method,
    }
}

/// The minimum-evidence rule: why a window holds too little to judge, if it does.
fn shortfall(
    statistic: Statistic,
    p: &[Prepared; 2],
    s: [&estimate::WindowSpread; 2],
    settings: &Settings,
) -> Option<String> {
    if let (Some(b), Some(a), Some(name)) = (p[0].events, p[1].events, &p[0].events_name)
        && (b < settings.min_events || a < settings.min_events)
    {
        let _ = statistic;
        return Some(format!(
            "{} {name} before, {} after: too few to judge (at least {} a window)",
            count(b),
            count(a),
            count(settings.min_events)
        ));
    }
    if s[0].minutes < settings.min_minutes || s[1].minutes < settings.min_minutes {
        return Some(format!(
            "{} minutes with data before, {} after: too few to judge (at least {} a window)",
            s[0].minutes, s[1].minutes, settings.min_minutes
        ));
    }
    None
}

fn count(v: f64) -> String {
    format!("{}", v.round() as i64)
}

/// The judge's decision for one relative criterion given the baseline `a` and the measured value
/// (Keptn's), from the interval of the change (centred on the judge's corrected point):
///
/// - **violated**: the whole interval lies beyond the margin (and both windows hold enough
///   evidence): a regression beyond the margin, with the chosen confidence;
/// - **inconclusive**: the point is beyond the margin and the one-sided bound at the confidence
///   lies on the worse side of no change: the release made it worse, by how much is not certain;
/// - **satisfied**: otherwise: the point is within the margin, or no change at all is
///   consistent with the data.
///
/// For an unchanged release each criterion is inconclusive with probability at most
/// 1 − confidence (a one-sided test of "worse") and violated far more rarely (the two-sided
/// interval must leave out the margin as well); docs/judge.md.
pub fn decide(c: &Criterion, a: f64, measured: f64, cmp: &Comparison) -> Decision {
    let (percent, amount, increase) = match c.target {
        Target::Relative {
            percent,
            amount,
            increase,
        } => (percent, amount, increase),
        Target::Absolute(_) => {
            return if c.op.holds(measured, c.target_value(a)) {
                Decision::Satisfied
            } else {
                Decision::Violated
            };
        }
    };
    let margin = if increase { amount } else { -amount };
    // The criterion on the change: `<=+10%` holds when change ≤ +10; in percent or absolute.
    let interval = if percent {
        cmp.change_percent
    } else {
        cmp.difference
    };
    let Some(i) = interval.or_else(|| {
        // A baseline of 0 has no percent change: its difference says whether it got worse.
        cmp.difference.map(|d| Interval {
            point: if d.point > 0.0 { f64::INFINITY } else { 0.0 },
            low: if d.low > 0.0 { f64::INFINITY } else { d.low },
            high: d.high,
        })
    }) else {
        return if c.op.holds(measured, c.target_value(a)) {
            Decision::Satisfied
        } else {
            Decision::Inconclusive
        };
    };
    let holds = |v: f64| c.op.holds(v, margin);
    if holds(i.point) {
        return Decision::Satisfied;
    }
    // "Worse" is a one-sided question: the one-sided bound at the confidence (z = 1.645 at
    // 95 %), nearer the point than the two-sided interval's (1.96), which "beyond" keeps.
    let q = estimate::normal_quantile(0.5 + cmp.confidence / 2.0);
    let (low, high) = one_sided(i, percent, q, estimate::normal_quantile(cmp.confidence));
    let (beyond, worse) = match c.op {
        Operator::Lt | Operator::Le => (!holds(i.low), low > 0.0),
        Operator::Gt | Operator::Ge => (!holds(i.high), high < 0.0),
        // `=`: beyond when the margin is outside the interval; any shown change is worse.
        Operator::Eq => (
            !(i.low <= margin && margin <= i.high),
            i.low > 0.0 || i.high < 0.0,
        ),
    };
    if beyond && cmp.too_little.is_none() {
        Decision::Violated
    } else if worse || beyond {
        Decision::Inconclusive
    } else {
        Decision::Satisfied
    }
}

/// The one-sided bounds (low, high) at quantile `z1` of an interval made with quantile `q`
/// around its point: symmetric in log space for a percent change, linear for a difference.
fn one_sided(i: Interval, percent: bool, q: f64, z1: f64) -> (f64, f64) {
    if q.is_nan() || q <= 0.0 || !i.low.is_finite() || !i.high.is_finite() {
        return (i.low, i.high);
    }
    if percent {
        if i.low <= -100.0 {
            return (i.low, i.high);
        }
        let log = |v: f64| (1.0 + v / 100.0).ln();
        let (l, half) = (log(i.point), (log(i.high) - log(i.low)) / 2.0);
        let back = |v: f64| (v.exp() - 1.0) * 100.0;
        (back(l - z1 / q * half), back(l + z1 / q * half))
    } else {
        let half = (i.high - i.low) / 2.0;
        (i.point - z1 / q * half, i.point + z1 / q * half)
    }
}

/// The z-scores of an objective's change under its first relative pass criterion `c`: against
/// no change (`worse`, positive when it got worse) and against the margin (`beyond`, positive
/// beyond it). `None` without an interval.
pub fn scores(c: &Criterion, cmp: &Comparison) -> Option<(f64, f64)> {
    let Target::Relative {
        percent,
        amount,
        increase,
    } = c.target
    else {
        return None;
    };
    let q = estimate::normal_quantile(0.5 + cmp.confidence / 2.0);
    let bad = match c.op {
        Operator::Gt | Operator::Ge => -1.0,
        _ => 1.0,
    };
    let margin = if increase { amount } else { -amount };
    if percent {
        let i = cmp.change_percent?;
        let se = cmp.log_se.filter(|s| *s > 0.0)?;
        if i.point <= -100.0 {
            return None;
        }
        let l = (1.0 + i.point / 100.0).ln();
        let m = (1.0 + margin / 100.0).max(1e-9).ln();
        Some((bad * l / se, bad * (l - m) / se))
    } else {
        let i = cmp.difference?;
        let sd = (i.high - i.low) / (2.0 * q);
        (sd > 0.0).then(|| (bad * i.point / sd, bad * (i.point - margin) / sd))
    }
}

/// Evidence that adds up: the objectives of one gate judged together. Each judged objective
/// gives its z-scores ([`scores`]) and a group (latency statistics in one, counts in another);
/// [`estimate::combine`] averages within a group and sums over √groups. When the combination
/// against the margins reaches the confidence, every objective whose point is beyond its margin
/// is violated; when the combination against no change does, each such objective is at least
/// inconclusive. Under the null every combined score is at most standard normal whatever the
/// dependence within a group, so each adds at most (1 − confidence)/2 to the false alarms.
/// `items`: (group, worse, beyond); returns per item the decision the combination gives it.
pub fn combination(items: &[(usize, f64, f64)], confidence: f64) -> Vec<Option<Decision>> {
    let q = estimate::normal_quantile(0.5 + confidence / 2.0);
    // As in `decide`: "worse" one-sided, "beyond" at the two-sided quantile.
    let q1 = estimate::normal_quantile(confidence);
    let worse = estimate::combine(&items.iter().map(|(g, w, _)| (*g, *w)).collect::<Vec<_>>());
    let beyond = estimate::combine(&items.iter().map(|(g, _, b)| (*g, *b)).collect::<Vec<_>>());
    let firm = if items.len() < 2 {
        None
    } else if beyond.is_some_and(|z| z >= q) {
        Some(Decision::Violated)
    } else if worse.is_some_and(|z| z >= q1) {
        Some(Decision::Inconclusive)
    } else {
        None
    };
    items
        .iter()
        .map(|(_, _, b)| firm.filter(|_| *b > 0.0))
        .collect()
}

/// The group an objective's statistic belongs to for [`combination`].
pub fn group(statistic: Statistic) -> usize {
    match statistic {
        Statistic::Rate | Statistic::Total => 1,
        _ => 0,
    }
}

/// The margin of a relative criterion in words and in percent: `+10 %`, `+5`.
pub fn margin_text(c: &Criterion) -> String {
    match c.target {
        Target::Relative {
            increase,
            percent,
            amount,
        } => format!(
            "{}{}{}",
            if increase { "+" } else { "−" },
            crate::eval::gofmt::go_v(amount),
            if percent { " %" } else { "" }
        ),
        Target::Absolute(v) => crate::eval::gofmt::go_v(v),
    }
}

/// A signed percentage for reports: `+3.1 %`, `−1.2 %`.
pub fn signed_percent(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r < 0.0 {
        format!("−{:.1} %", -r)
    } else {
        format!("+{r:.1} %")
    }
}

/// A signed number for difference intervals.
pub fn signed(v: f64) -> String {
    let r = (v * 1000.0).round() / 1000.0;
    let s = crate::eval::gofmt::go_v(r.abs());
    if r < 0.0 {
        format!("−{s}")
    } else {
        format!("+{s}")
    }
}

/// Fills in the decision, the plain-words summary and the resolution note of `cmp` for an
/// objective whose relative criteria are `criteria` (the pass criteria first), named `label`.
pub fn describe(cmp: &mut Comparison, label: &str, criteria: &[(Criterion, Decision)]) {
    let decision = criteria.iter().map(|(_, d)| *d).max_by_key(|d| match d {
        Decision::Satisfied => 0,
        Decision::Inconclusive => 1,
        Decision::Violated => 2,
    });
    cmp.decision = decision;
    let conf = format!("{} %", crate::eval::gofmt::go_v(cmp.confidence * 100.0));
    let first = criteria.first().map(|(c, _)| *c);
    let percent = first.is_none_or(|c| matches!(c.target, Target::Relative { percent: true, .. }));
    let change = if percent {
        cmp.change_percent.map(|i| {
            format!(
                "{} ({conf} CI {} … {})",
                signed_percent(i.point),
                signed_percent(i.low),
                signed_percent(i.high)
            )
        })
    } else {
        cmp.difference.map(|i| {
            format!(
                "{} ({conf} CI {} … {})",
                signed(i.point),
                signed(i.low),
                signed(i.high)
            )
        })
    };
    let change = change.unwrap_or_else(|| "no interval (baseline of 0)".into());
    let point_beyond = first.is_some_and(|c| {
        let i = if percent {
            cmp.change_percent
        } else {
            cmp.difference
        };
        match (c.target, i) {
            (
                Target::Relative {
                    amount, increase, ..
                },
                Some(i),
            ) => !c.op.holds(i.point, if increase { amount } else { -amount }),
            _ => false,
        }
    });
    let together = if cmp.combined.is_some() {
        " (together with the objectives moving the same way)"
    } else {
        ""
    };
    let verdict = match (first, decision) {
        (Some(c), Some(Decision::Satisfied)) if point_beyond => format!(
            "beyond {} but no change is as consistent with the data: satisfied",
            margin_text(&c)
        ),
        (Some(c), Some(Decision::Satisfied)) => format!("within {}", margin_text(&c)),
        (Some(c), Some(Decision::Inconclusive)) => match &cmp.too_little {
            Some(why) => format!("beyond {} but {why}: inconclusive", margin_text(&c)),
            None => format!(
                "worse{together}, but not shown to be beyond {}: inconclusive",
                margin_text(&c)
            ),
        },
        (Some(c), Some(Decision::Violated)) => {
            format!(
                "beyond {} with {conf} confidence{together}",
                margin_text(&c)
            )
        }
        _ => String::new(),
    };
    let mut context = Vec::new();
    if let Some(t) = cmp.load_adjusted_percent {
        context.push(format!("adjusted for {} traffic", signed_percent(t)));
    }
    if let Some(b) = &cmp.baseline
        && (b.starts_with("median") || b.starts_with("against control"))
    {
        context.push(if b.starts_with("against") {
            b.clone()
        } else {
            format!("baseline: {b}")
        });
    }
    if !cmp.left_out.is_empty() {
        context.push(format!("left out: {}", cmp.left_out.join("; ")));
    }
    let context = if context.is_empty() {
        String::new()
    } else {
        format!(" [{}]", context.join("; "))
    };
    cmp.summary = if verdict.is_empty() {
        format!("{label} {change}{context}")
    } else {
        format!("{label} {change}{context}: {verdict}")
    };
    // The resolution note: the interval's half-width against the tightest percent margin.
    if let Some(i) = cmp.change_percent {
        let half = (i.high - i.low) / 2.0;
        let tightest = criteria
            .iter()
            .filter_map(|(c, _)| match c.target {
                Target::Relative {
                    percent: true,
                    amount,
                    ..
                } => Some(amount),
                _ => None,
            })
            .fold(f64::INFINITY, f64::min);
        if tightest.is_finite() && half > tightest {
            cmp.resolvable_percent = Some(half.ceil());
        }
    }
}

/// The note a report shows when the margin is below what the data resolve.
pub fn resolution_note(cmp: &Comparison, margin: &str) -> Option<String> {
    cmp.resolvable_percent.map(|r| {
        format!(
            "the margin {margin} cannot be resolved on this service's noise: the interval is ±{} % wide; a margin of about +{} % could be judged",
            crate::eval::gofmt::go_v(r),
            crate::eval::gofmt::go_v(r)
        )
    })
}

#[cfg(test)]
mod tests;
