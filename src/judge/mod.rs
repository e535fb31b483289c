//! The statistical judge (`--judge statistical`), pure: from the per-minute series of the
//! baseline window and the evaluation window, an interval for the change of a window statistic,
//! and per relative criterion a decision that respects it:
//!
//! - **satisfied**: the point estimate meets the criterion (exactly Keptn's decision);
//! - **inconclusive**: it does not, but the interval reaches back to where it would;
//! - **violated**: the whole interval lies beyond the criterion.
//!
//! Without `--judge` none of this runs and every score is Keptn's. Method and citations:
//! [`estimate`], docs/judge.md, docs/decisions.md.

pub mod companion;
pub mod estimate;

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
}

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
}

/// A relative criterion and what the judge decided about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct JudgedCriterion {
    pub criteria: String,
    pub decision: Decision,
}

/// The interval of the change between two windows. `before` and `after` are the windows'
/// point values as fetched (Keptn's A and value): the interval is centred on them, its width
/// comes from the minutes.
///
/// `history`: the minutes before the deployment, ending with the baseline window, longer than
/// two windows: how much one window's statistic moves against the next when nothing changed.
/// The interval is the wider of that and the within-window estimate.
pub fn compare(
    statistic: Statistic,
    before_minutes: &Minutes,
    after_minutes: &Minutes,
    history: Option<&Minutes>,
    before: f64,
    after: f64,
    settings: &Settings,
) -> Comparison {
    let prepared = [before_minutes, after_minutes].map(|m| prepare(statistic, m));
    let shape = prepared[0].shape;
    let (tb, rb) = estimate::terms(shape, &prepared[0].y, &prepared[0].x);
    let (ta, ra) = estimate::terms(shape, &prepared[1].y, &prepared[1].x);
    let n_mean = (tb.len() + ta.len()) as f64 / 2.0;
    let (tau, rho, _) = estimate::persistence(&[&tb, &ta], n_mean);
    let sb = estimate::window_spread(shape, &tb, &prepared[0].x, rb, tau, prepared[0].floor);
    let sa = estimate::window_spread(shape, &ta, &prepared[1].x, ra, tau, prepared[1].floor);
    // The normal quantile: with a handful of effective minutes a t quantile on n_eff − 1
    // degrees of freedom made +50 % regressions look uncertain (docs/decisions.md).
    let q = estimate::normal_quantile(0.5 + settings.confidence / 2.0);
    let within = sb.log_var + sa.log_var;
    let len = before_minutes.values.len().max(after_minutes.values.len());
    let between = history.and_then(|h| {
        let (y, x) = per_minute(statistic, h);
        estimate::between_windows(shape, &y, &x, len)
    });
    let se = between.map_or(within, |(v, _)| within.max(v)).sqrt();

    let change_percent = (before > 0.0 && after >= 0.0 && se.is_finite()).then(|| {
        let ratio = after / before;
        if after > 0.0 {
            let l = ratio.ln();
            Interval {
                point: (ratio - 1.0) * 100.0,
                low: ((l - q * se).exp() - 1.0) * 100.0,
                high: ((l + q * se).exp() - 1.0) * 100.0,
            }
        } else {
            Interval {
                point: -100.0,
                low: -100.0,
                high: ((q * se).exp() - 1.0) * 100.0,
            }
        }
    });
    let difference = se.is_finite().then(|| {
        // Delta method: sd of each value = value · sd of its log.
        let sd = (before * before * sb.log_var + after * after * sa.log_var).sqrt();
        let d = after - before;
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
    }
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
/// (Keptn's), as Keptn would have held it (`holds`) and as the interval allows.
pub fn decide(c: &Criterion, a: f64, measured: f64, cmp: &Comparison) -> Decision {
    let target = c.target_value(a);
    if c.op.holds(measured, target) {
        return Decision::Satisfied;
    }
    if cmp.too_little.is_some() {
        return Decision::Inconclusive;
    }
    // The interval of the measured value implied by the change's interval.
    let range = match c.target {
        Target::Relative { percent: true, .. } => cmp
            .change_percent
            .map(|i| (a * (1.0 + i.low / 100.0), a * (1.0 + i.high / 100.0))),
        Target::Relative { percent: false, .. } => cmp.difference.map(|i| (a + i.low, a + i.high)),
        Target::Absolute(_) => return Decision::Violated,
    };
    let Some((lo, hi)) = range else {
        // No interval (a baseline of 0): too little to judge, never a violation.
        return Decision::Inconclusive;
    };
    let reaches = match c.op {
        Operator::Lt | Operator::Le => c.op.holds(lo, target),
        Operator::Gt | Operator::Ge => c.op.holds(hi, target),
        Operator::Eq => lo <= target && target <= hi,
    };
    if reaches {
        Decision::Inconclusive
    } else {
        Decision::Violated
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
    let verdict = match (first, decision) {
        (Some(c), Some(Decision::Satisfied)) => format!("within {}", margin_text(&c)),
        (Some(c), Some(Decision::Inconclusive)) => match &cmp.too_little {
            Some(why) => format!("beyond {} but {why}: inconclusive", margin_text(&c)),
            None => format!(
                "beyond {} but the interval reaches back inside it: inconclusive",
                margin_text(&c)
            ),
        },
        (Some(c), Some(Decision::Violated)) => {
            format!("beyond {} with {conf} confidence", margin_text(&c))
        }
        _ => String::new(),
    };
    cmp.summary = if verdict.is_empty() {
        format!("{label} {change}")
    } else {
        format!("{label} {change}: {verdict}")
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
