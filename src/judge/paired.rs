//! Canary against control over the same minutes (`gate --control-service`, `--control-label`):
//! the interval of the change canary ÷ control from per-minute paired ratios. Load, drift,
//! seasonality and incidents reach both sides in the same minute, so they cancel in each
//! minute's ratio; what is left is the sampling noise of both sides and whatever only the canary
//! does. The point is Keptn's own ratio of the two window values (both over the same window),
//! the width comes from the per-minute differences (docs/judge.md, "Canary against control").

use super::estimate::{self, Shape};
use super::{Comparison, Interval, Minutes, Settings, Statistic, per_minute, prepare};

/// Per-minute paired terms of the log ratio canary ÷ control: for a level (percentile) the
/// difference of the per-minute logs; for a ratio of sums (average, rate, total) the linearised
/// residuals of both sides, `(y − R·x)/(R·x̄)`, canary minus control, whose mean the log ratio of
/// the two window ratios follows (delta method). Also the per-minute terms of the difference
/// canary − control (residuals not divided by R), for `+N` criteria; and the paired minutes.
/// Minutes where either side has no data are left out of both.
pub(crate) struct Paired {
    pub(crate) log_terms: Vec<f64>,
    pub(crate) diff_terms: Vec<f64>,
    pub(crate) minutes: usize,
}

/// The paired terms of two aligned series of (y, x) per minute (see [`Paired`]).
pub(crate) fn paired_terms(
    shape: Shape,
    control: (&[Option<f64>], &[Option<f64>]),
    canary: (&[Option<f64>], &[Option<f64>]),
) -> Paired {
    let n = control.0.len().min(canary.0.len());
    let mut rows: Vec<(f64, f64, f64, f64)> = Vec::new();
    for i in 0..n {
        let at = |s: &[Option<f64>]| s.get(i).copied().flatten();
        if let (Some(yk), Some(xk), Some(yc), Some(xc)) =
            (at(control.0), at(control.1), at(canary.0), at(canary.1))
            && xk > 0.0
            && xc > 0.0
            && (shape == Shape::RatioOfSums || (yk > 0.0 && yc > 0.0))
        {
            rows.push((yk, xk, yc, xc));
        }
    }
    let m = rows.len();
    match shape {
        Shape::Level => Paired {
            log_terms: rows.iter().map(|r| r.2.ln() - r.0.ln()).collect(),
            diff_terms: rows.iter().map(|r| r.2 - r.0).collect(),
            minutes: m,
        },
        Shape::RatioOfSums => {
            let sum = |f: fn(&(f64, f64, f64, f64)) -> f64| rows.iter().map(f).sum::<f64>();
            let (syk, sxk, syc, sxc) = (sum(|r| r.0), sum(|r| r.1), sum(|r| r.2), sum(|r| r.3));
            let (rk, rc) = (
                syk / sxk.max(f64::MIN_POSITIVE),
                syc / sxc.max(f64::MIN_POSITIVE),
            );
            let (mk, mc) = (sxk / m.max(1) as f64, sxc / m.max(1) as f64);
            let log_terms = if rk > 0.0 && rc > 0.0 {
                rows.iter()
                    .map(|r| (r.2 - rc * r.3) / (rc * mc) - (r.0 - rk * r.1) / (rk * mk))
                    .collect()
            } else {
                Vec::new()
            };
            Paired {
                log_terms,
                diff_terms: rows
                    .iter()
                    .map(|r| (r.2 - rc * r.3) / mc - (r.0 - rk * r.1) / mk)
                    .collect(),
                minutes: m,
            }
        }
    }
}

/// The variance of the mean of `terms`, corrected for their persistence (τ, [`estimate::persistence`]).
/// Returns (variance, τ, lag-1 autocorrelation).
pub(crate) fn mean_variance(terms: &[f64]) -> (f64, f64, f64) {
    let n = terms.len();
    if n < 2 {
        return (f64::INFINITY, 1.0, 0.0);
    }
    let (tau, rho, _) = estimate::persistence(&[terms], n as f64);
    let (_, s2) = estimate::mean_var(terms);
    (s2 * tau.max(1.0) / n as f64, tau, rho)
}

/// Drops the first `skip` minutes of every series of `m` (warm-up).
fn after_warm_up(m: &Minutes, skip: usize) -> Minutes {
    let cut = |v: &Vec<Option<f64>>| v.iter().skip(skip).copied().collect::<Vec<_>>();
    Minutes {
        values: cut(&m.values),
        requests: m.requests.as_ref().map(cut),
        events: m.events.as_ref().map(cut),
    }
}

/// The judge's comparison of the canary with its control over the same window. `control_value`
/// and `canary_value` are the two windows' values as fetched (Keptn's baseline and value);
/// `control` names the control in reports. The first `settings.warm_up_minutes` are left out of
/// both sides (the pairs stay aligned).
pub fn paired(
    statistic: Statistic,
    control_minutes: &Minutes,
    canary_minutes: &Minutes,
    control_value: f64,
    canary_value: f64,
    settings: &Settings,
    control: &str,
) -> Comparison {
    let len = control_minutes
        .values
        .len()
        .min(canary_minutes.values.len());
    let skip = settings
        .warm_up_minutes
        .min(len.saturating_sub(settings.min_minutes.max(1)));
    let k = after_warm_up(control_minutes, skip);
    let c = after_warm_up(canary_minutes, skip);
    let shape = prepare(statistic, &k).shape;
    let (ky, kx) = per_minute(statistic, &k);
    let (cy, cx) = per_minute(statistic, &c);
    let p = paired_terms(shape, (&ky, &kx), (&cy, &cx));
    // Only the paired minutes count as evidence on either side.
    let keep = |m: &Minutes,
                y: &[Option<f64>],
                x: &[Option<f64>],
                other: (&[Option<f64>], &[Option<f64>])| {
        let both = |i: usize| {
            y.get(i).copied().flatten().is_some()
                && x.get(i).copied().flatten().is_some_and(|v| v > 0.0)
                && other.0.get(i).copied().flatten().is_some()
                && other.1.get(i).copied().flatten().is_some_and(|v| v > 0.0)
        };
        let f = |v: &Vec<Option<f64>>| {
            v.iter()
                .enumerate()
                .map(|(i, x)| x.filter(|_| both(i)))
                .collect::<Vec<_>>()
        };
        Minutes {
            values: f(&m.values),
            requests: m.requests.as_ref().map(f),
            events: m.events.as_ref().map(f),
        }
    };
    let prepared = [
        prepare(statistic, &keep(&k, &ky, &kx, (&cy, &cx))),
        prepare(statistic, &keep(&c, &cy, &cx, (&ky, &kx))),
    ];
    let (mut log_var, tau, rho) = mean_variance(&p.log_terms);
    // A rate's or a total's interval is never narrower than its counts allow.
    if let (Some(ek), Some(ec)) = (prepared[0].floor, prepared[1].floor) {
        let poisson = if ek > 0.0 && ec > 0.0 {
            1.0 / ek + 1.0 / ec
        } else {
            f64::INFINITY
        };
        log_var = log_var.max(poisson);
    }
    let (diff_var, _, _) = mean_variance(&p.diff_terms);
    let q = estimate::normal_quantile(0.5 + settings.confidence / 2.0);
    let se = log_var.sqrt();
    let change_percent =
        (control_value > 0.0 && canary_value >= 0.0 && se.is_finite()).then(|| {
            let l = (canary_value > 0.0).then(|| (canary_value / control_value).ln());
            Interval::percent_from_log(l, q, se)
        });
    // The difference canary − control: for a level by the delta method on the log ratio (the
    // control's own noise is what the pairs share); for a ratio of sums from its own terms.
    let diff_sd = match shape {
        Shape::Level => canary_value.abs() * se,
        Shape::RatioOfSums => diff_var.sqrt(),
    };
    let difference = diff_sd.is_finite().then(|| {
        let d = canary_value - control_value;
        Interval {
            point: d,
            low: d - q * diff_sd,
            high: d + q * diff_sd,
        }
    });
    let n_eff = p.minutes as f64 / tau.max(1.0);
    let too_little = if let (Some(b), Some(a), Some(name)) = (
        prepared[0].events,
        prepared[1].events,
        &prepared[0].events_name,
    ) && (b < settings.min_events || a < settings.min_events)
    {
        Some(format!(
            "{} {name} in the control, {} in the canary: too few to judge (at least {} a side)",
            super::count(b),
            super::count(a),
            super::count(settings.min_events)
        ))
    } else if p.minutes < settings.min_minutes {
        Some(format!(
            "{} minutes with data on both sides: too few to judge (at least {})",
            p.minutes, settings.min_minutes
        ))
    } else {
        None
    };
    let mut method =
        "per-minute paired ratios canary ÷ control over the same minutes, AR(1)-corrected"
            .to_string();
    if prepared[0].floor.is_some() {
        method.push_str(", Poisson floor");
    }
    let mut left_out = Vec::new();
    if skip > 0 {
        left_out.push(format!("the first {skip} minutes of both sides (warm-up)"));
    }
    Comparison {
        statistic,
        method,
        confidence: settings.confidence,
        change_percent,
        difference,
        minutes_before: p.minutes,
        minutes_after: p.minutes,
        effective_minutes_before: n_eff,
        effective_minutes_after: n_eff,
        autocorrelation: rho,
        between_windows_percent: None,
        events_before: prepared[0].events,
        events_after: prepared[1].events,
        events_name: prepared[0].events_name.clone(),
        too_little,
        decision: None,
        summary: String::new(),
        resolvable_percent: None,
        criteria: Vec::new(),
        baseline: Some(control_text(control)),
        left_out,
        load_adjusted_percent: None,
        load_slope: None,
        log_se: se.is_finite().then_some(se),
        combined: None,
    }
}

/// What reports say the canary was compared with.
pub fn control_text(control: &str) -> String {
    format!("against control `{control}`, same window")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::estimate::normal_quantile;
    use crate::judge::estimate::tests::{ar1, gauss};
    use crate::judge::{Decision, decide};
    use crate::model::criteria::Criterion;

    fn plain() -> Settings {
        Settings {
            warm_up_minutes: 0,
            ..Settings::default()
        }
    }

    fn series(v: &[f64]) -> Vec<Option<f64>> {
        v.iter().map(|x| Some(*x)).collect()
    }

    #[test]
    fn known_log_ratios_give_the_textbook_interval() {
        // A level: per-minute log ratios alternating ln 1.1 ± 0.1 over 20 minutes; the control
        // constant. Mean ln 1.1, sample variance 0.01·20/19, negative lag-1 correlation, so no
        // persistence correction (τ = 1): se = √(0.01·20/19/20).
        let d: Vec<f64> = (0..20)
            .map(|i| 1.1f64.ln() + if i % 2 == 0 { 0.1 } else { -0.1 })
            .collect();
        let control = Minutes {
            values: vec![Some(100.0); 20],
            ..Minutes::default()
        };
        let canary = Minutes {
            values: series(&d.iter().map(|l| 100.0 * l.exp()).collect::<Vec<_>>()),
            ..Minutes::default()
        };
        let c = paired(
            Statistic::Percentile(95.0),
            &control,
            &canary,
            100.0,
            110.0,
            &plain(),
            "checkout",
        );
        let se = (0.01f64 * 20.0 / 19.0 / 20.0).sqrt();
        let z = normal_quantile(0.975);
        let i = c.change_percent.unwrap();
        assert!((i.point - 10.0).abs() < 1e-9, "{i:?}");
        assert!((c.log_se.unwrap() - se).abs() < 1e-9, "{:?}", c.log_se);
        assert!((i.low - ((1.1f64.ln() - z * se).exp() - 1.0) * 100.0).abs() < 1e-6);
        assert!((i.high - ((1.1f64.ln() + z * se).exp() - 1.0) * 100.0).abs() < 1e-6);
        assert_eq!(c.minutes_before, 20);
        assert_eq!(
            c.baseline.as_deref(),
            Some("against control `checkout`, same window")
        );
    }

    #[test]
    fn shared_noise_cancels_in_the_pairs() {
        // Both sides follow the same load-driven latency (×1 … ×3 over the window) and the same
        // drift; the canary is exactly 1.5× the control every minute: the pairs hold no noise
        // at all, and a +50 % canary is violated against `<=+10%` however large the shared swing.
        let shared: Vec<f64> = (0..30)
            .map(|i| 100.0 * (1.0 + 2.0 * i as f64 / 29.0) * (0.2 * (i as f64).sin()).exp())
            .collect();
        let control = Minutes {
            values: series(&shared),
            ..Minutes::default()
        };
        let canary = Minutes {
            values: series(&shared.iter().map(|v| v * 1.5).collect::<Vec<_>>()),
            ..Minutes::default()
        };
        let (vk, vc) = (200.0, 300.0);
        let c = paired(
            Statistic::Percentile(95.0),
            &control,
            &canary,
            vk,
            vc,
            &plain(),
            "checkout",
        );
        assert!(c.log_se.unwrap() < 1e-9, "{c:?}");
        let crit = Criterion::parse("<=+10%").unwrap();
        assert_eq!(decide(&crit, vk, vc, &c), Decision::Violated);
        // Equal sides: satisfied, the interval is the single point 0.
        let c = paired(
            Statistic::Percentile(95.0),
            &control,
            &control,
            vk,
            vk,
            &plain(),
            "checkout",
        );
        assert_eq!(decide(&crit, vk, vk, &c), Decision::Satisfied);
        assert_eq!(c.change_percent.unwrap().point, 0.0);
    }

    #[test]
    fn error_counts_keep_the_poisson_floor() {
        // 9 errors in the control, 14 in the canary, equal requests every minute: the log rate
        // ratio's variance is at least 1/9 + 1/14, as for two independent Poisson counts.
        let spread = |e: usize| -> Vec<Option<f64>> {
            (0..30)
                .map(|i| Some(((i + 1) * e / 30 - i * e / 30) as f64))
                .collect()
        };
        let side = |e: usize| Minutes {
            values: vec![Some(0.0); 30],
            requests: Some(vec![Some(100.0); 30]),
            events: Some(spread(e)),
        };
        let s = Settings {
            min_events: 5.0,
            ..plain()
        };
        let (vk, vc) = (0.3, 14.0 / 30.0);
        let c = paired(Statistic::Rate, &side(9), &side(14), vk, vc, &s, "v=stable");
        let se = c.log_se.unwrap();
        assert!(se >= (1.0 / 9.0 + 1.0 / 14.0f64).sqrt() - 1e-12, "{se}");
        assert_eq!(c.events_before, Some(9.0));
        assert_eq!(c.events_after, Some(14.0));
        // +56 % beyond +50 %, but as consistent with no change: satisfied.
        let crit = Criterion::parse("<=+50%").unwrap();
        assert_eq!(decide(&crit, vk, vc, &c), Decision::Satisfied);
        // Too few errors on a side say so.
        let c = paired(Statistic::Rate, &side(9), &side(14), vk, vc, &plain(), "x");
        assert!(
            c.too_little
                .as_deref()
                .unwrap()
                .contains("9 errors in the control")
        );
    }

    #[test]
    fn minutes_missing_on_one_side_are_left_out_of_both() {
        let control = Minutes {
            values: vec![Some(100.0), None, Some(100.0), Some(100.0)],
            ..Minutes::default()
        };
        let canary = Minutes {
            values: vec![Some(110.0), Some(500.0), None, Some(110.0)],
            ..Minutes::default()
        };
        let (k, kx) = per_minute(Statistic::Level, &control);
        let (c, cx) = per_minute(Statistic::Level, &canary);
        let p = paired_terms(Shape::Level, (&k, &kx), (&c, &cx));
        assert_eq!(p.minutes, 2);
        assert!(p.log_terms.iter().all(|d| (d - 1.1f64.ln()).abs() < 1e-12));
        // Too few paired minutes to judge.
        let cmp = paired(
            Statistic::Level,
            &control,
            &canary,
            100.0,
            110.0,
            &plain(),
            "x",
        );
        assert!(cmp.too_little.is_some());
    }

    #[test]
    fn averages_pair_their_request_weighted_residuals() {
        // Both sides' averages follow the same load: v = 100·(r/300) per minute, the canary
        // taking a fifth of the requests and 1.2× slower. The paired residuals cancel exactly.
        let rc: Vec<f64> = (0..30).map(|i| 60.0 + 2.0 * i as f64).collect();
        let rk: Vec<f64> = rc.iter().map(|r| 4.0 * r).collect();
        let lat = |r: f64| 100.0 * r / 300.0;
        let control = Minutes {
            values: series(&rk.iter().map(|r| lat(r / 4.0)).collect::<Vec<_>>()),
            requests: Some(series(&rk)),
            events: None,
        };
        let canary = Minutes {
            values: series(&rc.iter().map(|r| 1.2 * lat(*r)).collect::<Vec<_>>()),
            requests: Some(series(&rc)),
            events: None,
        };
        let w = |m: &Minutes| {
            let (y, x) = per_minute(Statistic::Average, m);
            let sy: f64 = y.iter().flatten().sum();
            let sx: f64 = x.iter().flatten().sum();
            sy / sx
        };
        let (vk, vc) = (w(&control), w(&canary));
        let c = paired(Statistic::Average, &control, &canary, vk, vc, &plain(), "x");
        assert!((c.change_percent.unwrap().point - 20.0).abs() < 1e-9);
        assert!(c.log_se.unwrap() < 1e-9, "{:?}", c.log_se);
    }

    /// Coverage on simulated pairs: a shared AR(1) level (drift) and a shared load swing, each
    /// side with its own per-minute sampling noise (the canary, with a fifth of the requests,
    /// √5 times noisier). An unchanged canary's interval holds 0 about 95 % of the time.
    #[test]
    fn unchanged_canaries_are_covered_95_percent() {
        let mut rng = fastrand::Rng::with_seed(20);
        let runs = 1000;
        let (mut covered, mut inconclusive, mut violated) = (0, 0, 0);
        let crit = Criterion::parse("<=+10%").unwrap();
        for _ in 0..runs {
            let level = ar1(&mut rng, 30, 0.95, 0.08, 200);
            let side = |noise: f64, rng: &mut fastrand::Rng| Minutes {
                values: (0..30)
                    .map(|i| {
                        let load = 0.3 * (i as f64 / 10.0).sin();
                        Some(200.0 * (level[i] + load + noise * gauss(rng)).exp())
                    })
                    .collect(),
                ..Minutes::default()
            };
            let control = side(0.03, &mut rng);
            let canary = side(0.03 * 5f64.sqrt(), &mut rng);
            let gm = |m: &Minutes| {
                let l: Vec<f64> = m.values.iter().flatten().map(|v| v.ln()).collect();
                (l.iter().sum::<f64>() / l.len() as f64).exp()
            };
            let (vk, vc) = (gm(&control), gm(&canary));
            let c = paired(
                Statistic::Percentile(95.0),
                &control,
                &canary,
                vk,
                vc,
                &plain(),
                "x",
            );
            let i = c.change_percent.unwrap();
            if i.low <= 0.0 && 0.0 <= i.high {
                covered += 1;
            }
            match decide(&crit, vk, vc, &c) {
                Decision::Inconclusive => inconclusive += 1,
                Decision::Violated => violated += 1,
                Decision::Satisfied => {}
            }
        }
        let cov = covered as f64 / runs as f64;
        assert!((0.92..=0.98).contains(&cov), "coverage {cov}");
        // The decision rule: false warnings at most (1 − 0.95)/2 plus sampling, no failures.
        assert!(inconclusive as f64 / runs as f64 <= 0.04, "{inconclusive}");
        assert_eq!(violated, 0);
    }
}
