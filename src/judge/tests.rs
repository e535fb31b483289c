use super::estimate::normal_quantile;
use super::*;

fn flat(n: usize, v: f64) -> Vec<Option<f64>> {
    vec![Some(v); n]
}

/// A rate window: `errors` spread as evenly as whole counts allow over `n` minutes of `rpm`.
fn rate_window(n: usize, rpm: f64, errors: usize) -> Minutes {
    let ev: Vec<Option<f64>> = (0..n)
        .map(|i| Some(((i + 1) * errors / n - i * errors / n) as f64))
        .collect();
    Minutes {
        values: ev.iter().map(|e| e.map(|e| e / rpm * 100.0)).collect(),
        requests: Some(flat(n, rpm)),
        events: Some(ev),
    }
}

#[test]
fn ratio_of_two_poisson_rates_is_the_textbook_interval() {
    // 9 errors before, 14 after, in the same number of requests: the log rate ratio has
    // variance 1/9 + 1/14 (Rothman & Greenland, Modern Epidemiology, ch. 14; Wald interval).
    let s = Settings {
        min_events: 5.0,
        ..Settings::default()
    };
    let b = rate_window(30, 100.0, 9);
    let a = rate_window(30, 100.0, 14);
    let (vb, va) = (9.0 / 3000.0 * 100.0, 14.0 / 3000.0 * 100.0);
    let c = compare(Statistic::Rate, &b, &a, None, vb, va, &s);
    let i = c.change_percent.unwrap();
    let l = (14.0f64 / 9.0).ln();
    let se = (1.0 / 9.0 + 1.0 / 14.0f64).sqrt();
    let z = normal_quantile(0.975);
    assert!((i.point - (14.0 / 9.0 - 1.0) * 100.0).abs() < 1e-9);
    assert!(
        (i.low - ((l - z * se).exp() - 1.0) * 100.0).abs() < 1e-6,
        "{i:?}"
    );
    assert!(
        (i.high - ((l + z * se).exp() - 1.0) * 100.0).abs() < 1e-6,
        "{i:?}"
    );
    assert_eq!(c.events_before, Some(9.0));
    assert_eq!(c.events_after, Some(14.0));
    // +56 % is beyond +50 %, but 9 and 14 errors cannot tell: inconclusive, never violated.
    let crit = Criterion::parse("<=+50%").unwrap();
    assert_eq!(decide(&crit, vb, va, &c), Decision::Inconclusive);
}

#[test]
fn too_few_errors_is_inconclusive_with_the_reason() {
    let b = rate_window(30, 60.0, 9);
    let a = rate_window(30, 60.0, 14);
    let (vb, va) = (9.0 / 1800.0 * 100.0, 14.0 / 1800.0 * 100.0);
    let mut c = compare(Statistic::Rate, &b, &a, None, vb, va, &Settings::default());
    assert_eq!(
        c.too_little.as_deref(),
        Some("9 errors before, 14 after: too few to judge (at least 10 a window)")
    );
    let crit = Criterion::parse("<=+50%").unwrap();
    let d = decide(&crit, vb, va, &c);
    assert_eq!(d, Decision::Inconclusive);
    describe(&mut c, "error_rate", &[(crit, d)]);
    assert!(
        c.summary.starts_with("error_rate +55.6 % (95 % CI "),
        "{}",
        c.summary
    );
    assert!(
        c.summary
            .ends_with("beyond +50 % but 9 errors before, 14 after: too few to judge (at least 10 a window): inconclusive"),
        "{}",
        c.summary
    );
}

#[test]
fn many_errors_make_a_doubling_a_violation() {
    let b = rate_window(30, 600.0, 90);
    let a = rate_window(30, 600.0, 200);
    let (vb, va) = (90.0 / 18000.0 * 100.0, 200.0 / 18000.0 * 100.0);
    let c = compare(Statistic::Rate, &b, &a, None, vb, va, &Settings::default());
    assert_eq!(c.too_little, None);
    let crit = Criterion::parse("<=+50%").unwrap();
    assert_eq!(decide(&crit, vb, va, &c), Decision::Violated);
    // and a rate that fell is within the margin whatever the evidence
    assert_eq!(decide(&crit, va, vb, &c), Decision::Satisfied);
}

#[test]
fn a_baseline_of_zero_is_never_a_violation() {
    let b = rate_window(30, 600.0, 0);
    let a = rate_window(30, 600.0, 20);
    let c = compare(
        Statistic::Rate,
        &b,
        &a,
        None,
        0.0,
        0.1,
        &Settings::default(),
    );
    let crit = Criterion::parse("<=+50%").unwrap();
    assert_eq!(decide(&crit, 0.0, 0.1, &c), Decision::Inconclusive);
    assert!(c.too_little.is_some());
}

#[test]
fn absolute_criteria_are_never_judged() {
    let b = rate_window(30, 600.0, 90);
    let c = compare(
        Statistic::Rate,
        &b,
        &b,
        None,
        0.5,
        0.5,
        &Settings::default(),
    );
    let crit = Criterion::parse("<0.4").unwrap();
    assert_eq!(decide(&crit, 0.5, 0.5, &c), Decision::Violated);
}

/// Per-minute latency series: a level following an AR(1) in log space, per-minute values with
/// sampling noise, `factor` applied to the second window.
fn latency_pair(rng: &mut fastrand::Rng, rho: f64, sd: f64, factor: f64) -> (Minutes, Minutes) {
    let level = estimate_tests::ar1(rng, 60, rho, sd, 100);
    let mk = |range: std::ops::Range<usize>, f: f64, rng: &mut fastrand::Rng| Minutes {
        values: range
            .map(|i| Some(200.0 * f * (level[i] + 0.05 * estimate_tests::gauss(rng)).exp()))
            .collect(),
        requests: Some(flat(30, 300.0)),
        events: None,
    };
    let b = mk(0..30, 1.0, rng);
    let a = mk(30..60, factor, rng);
    (b, a)
}

fn geo_mean(m: &Minutes) -> f64 {
    let v: Vec<f64> = m.values.iter().flatten().map(|v| v.ln()).collect();
    (v.iter().sum::<f64>() / v.len() as f64).exp()
}

/// Coverage of the true ratio (the level's mean step between windows is not part of the
/// truth: an unchanged release has ratio 1 in expectation).
fn coverage(rho: f64, sd: f64, runs: usize, seed: u64) -> (f64, f64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut covered = 0;
    let mut false_fail = 0;
    let s = Settings::default();
    let crit = Criterion::parse("<=+10%").unwrap();
    for _ in 0..runs {
        let (b, a) = latency_pair(&mut rng, rho, sd, 1.0);
        let (vb, va) = (geo_mean(&b), geo_mean(&a));
        let c = compare(Statistic::Percentile(95.0), &b, &a, None, vb, va, &s);
        let i = c.change_percent.unwrap();
        if i.low <= 0.0 && 0.0 <= i.high {
            covered += 1;
        }
        if decide(&crit, vb, va, &c) == Decision::Violated {
            false_fail += 1;
        }
    }
    (
        covered as f64 / runs as f64,
        false_fail as f64 / runs as f64,
    )
}

#[test]
fn independent_minutes_are_covered_95_percent() {
    let (cov, ff) = coverage(0.0, 0.05, 1000, 11);
    assert!((0.92..=0.985).contains(&cov), "coverage {cov}");
    assert!(ff <= 0.01, "false fails {ff}");
}

#[test]
fn drifting_minutes_keep_their_coverage() {
    // A drifting level (ρ = 0.8): naive independence would cover far less than 95 %.
    let (cov, ff) = coverage(0.8, 0.03, 1000, 12);
    assert!(cov >= 0.88, "coverage {cov}");
    assert!(ff <= 0.01, "false fails {ff}");
    // What treating the minutes as independent would give, for contrast.
    let mut rng = fastrand::Rng::with_seed(12);
    let mut covered = 0;
    for _ in 0..1000 {
        let (b, a) = latency_pair(&mut rng, 0.8, 0.03, 1.0);
        let logs =
            |m: &Minutes| -> Vec<f64> { m.values.iter().flatten().map(|v| v.ln()).collect() };
        let (mb, vb) = estimate::mean_var(&logs(&b));
        let (ma, va) = estimate::mean_var(&logs(&a));
        let se = (vb / 30.0 + va / 30.0).sqrt();
        if (ma - mb).abs() <= 1.96 * se {
            covered += 1;
        }
    }
    assert!((covered as f64) / 1000.0 < 0.8, "naive coverage {covered}");
}

#[test]
fn a_clear_regression_is_violated_and_a_small_one_is_not() {
    let mut rng = fastrand::Rng::with_seed(5);
    let crit = Criterion::parse("<=+10%").unwrap();
    let mut violated_50 = 0;
    let mut violated_3 = 0;
    for _ in 0..200 {
        let (b, a) = latency_pair(&mut rng, 0.8, 0.03, 1.5);
        let c = compare(
            Statistic::Percentile(95.0),
            &b,
            &a,
            None,
            geo_mean(&b),
            geo_mean(&a),
            &Settings::default(),
        );
        if decide(&crit, geo_mean(&b), geo_mean(&a), &c) == Decision::Violated {
            violated_50 += 1;
        }
        let (b, a) = latency_pair(&mut rng, 0.8, 0.03, 1.03);
        let c = compare(
            Statistic::Percentile(95.0),
            &b,
            &a,
            None,
            geo_mean(&b),
            geo_mean(&a),
            &Settings::default(),
        );
        if decide(&crit, geo_mean(&b), geo_mean(&a), &c) == Decision::Violated {
            violated_3 += 1;
        }
    }
    assert!(violated_50 >= 190, "+50 %: {violated_50}/200");
    assert!(violated_3 <= 2, "+3 %: {violated_3}/200");
}

#[test]
fn same_input_same_interval() {
    let mut rng = fastrand::Rng::with_seed(9);
    let (b, a) = latency_pair(&mut rng, 0.5, 0.03, 1.1);
    let s = Settings::default();
    let c1 = compare(Statistic::Average, &b, &a, None, 1.0, 1.1, &s);
    let c2 = compare(Statistic::Average, &b, &a, None, 1.0, 1.1, &s);
    assert_eq!(c1, c2);
}

#[test]
fn difference_criteria_use_the_difference_interval() {
    let mut rng = fastrand::Rng::with_seed(3);
    let (b, a) = latency_pair(&mut rng, 0.0, 0.01, 1.0);
    let (vb, va) = (geo_mean(&b), geo_mean(&a));
    let c = compare(
        Statistic::Level,
        &b,
        &a,
        None,
        vb,
        va + 30.0,
        &Settings::default(),
    );
    let d = c.difference.unwrap();
    assert!(d.low < d.point && d.point < d.high);
    // +30 over a margin of +5, with an interval of a few units: violated
    let crit = Criterion::parse("<=+5").unwrap();
    assert_eq!(decide(&crit, vb, va + 30.0, &c), Decision::Violated);
    // ≥ −5 % on a value that rose is satisfied
    let crit = Criterion::parse(">=-5%").unwrap();
    assert_eq!(decide(&crit, vb, va + 30.0, &c), Decision::Satisfied);
}

#[test]
fn summary_and_resolution_note() {
    let c0 = Comparison {
        statistic: Statistic::Percentile(95.0),
        method: String::new(),
        confidence: 0.95,
        change_percent: Some(Interval {
            point: 3.1,
            low: -1.2,
            high: 7.6,
        }),
        difference: None,
        minutes_before: 30,
        minutes_after: 30,
        effective_minutes_before: 10.0,
        effective_minutes_after: 10.0,
        autocorrelation: 0.5,
        between_windows_percent: None,
        events_before: None,
        events_after: None,
        events_name: None,
        too_little: None,
        decision: None,
        summary: String::new(),
        resolvable_percent: None,
        criteria: Vec::new(),
    };
    let mut c = c0.clone();
    let crit = Criterion::parse("<=+10%").unwrap();
    describe(&mut c, "p95", &[(crit, Decision::Satisfied)]);
    assert_eq!(
        c.summary,
        "p95 +3.1 % (95 % CI −1.2 % … +7.6 %): within +10 %"
    );
    assert_eq!(c.resolvable_percent, None);
    // A ±15 % interval cannot resolve +10 %.
    let mut c = c0;
    c.change_percent = Some(Interval {
        point: 14.0,
        low: -1.0,
        high: 29.0,
    });
    describe(&mut c, "p95", &[(crit, Decision::Inconclusive)]);
    assert_eq!(
        c.summary,
        "p95 +14.0 % (95 % CI −1.0 % … +29.0 %): beyond +10 % but the interval reaches back inside it: inconclusive"
    );
    assert_eq!(c.resolvable_percent, Some(15.0));
    assert_eq!(
        resolution_note(&c, "+10 %").unwrap(),
        "the margin +10 % cannot be resolved on this service's noise: the interval is ±15 % wide; a margin of about +15 % could be judged"
    );
}

#[test]
fn slow_drift_is_seen_in_the_history_before_the_baseline() {
    // A level drifting more slowly than a window is long (ρ = 0.97 a minute): the two windows
    // alone miss much of it; 90 minutes before the baseline window show it.
    let runs = 400;
    let mut rng = fastrand::Rng::with_seed(21);
    let crit = Criterion::parse("<=+10%").unwrap();
    let (mut cov_alone, mut cov_hist, mut fail_alone, mut fail_hist) = (0, 0, 0, 0);
    for _ in 0..runs {
        let level = estimate_tests::ar1(&mut rng, 150, 0.97, 0.03, 300);
        let mut mk = |r: std::ops::Range<usize>| Minutes {
            values: r
                .map(|i| Some(200.0 * (level[i] + 0.03 * estimate_tests::gauss(&mut rng)).exp()))
                .collect(),
            requests: None,
            events: None,
        };
        let history = mk(0..120);
        let before = Minutes {
            values: history.values[90..].to_vec(),
            ..Minutes::default()
        };
        let after = mk(120..150);
        let (vb, va) = (geo_mean(&before), geo_mean(&after));
        let s = Settings::default();
        for (h, cov, fail) in [
            (None, &mut cov_alone, &mut fail_alone),
            (Some(&history), &mut cov_hist, &mut fail_hist),
        ] {
            let c = compare(Statistic::Level, &before, &after, h, vb, va, &s);
            let i = c.change_percent.unwrap();
            // The truth: no change.
            if i.low <= 0.0 && 0.0 <= i.high {
                *cov += 1;
            }
            if decide(&crit, vb, va, &c) == Decision::Violated {
                *fail += 1;
            }
        }
    }
    let pct = |v: i32| v as f64 / runs as f64;
    assert!(pct(cov_hist) >= 0.9, "with history {}", pct(cov_hist));
    assert!(
        pct(cov_hist) > pct(cov_alone) + 0.05,
        "{} vs {}",
        pct(cov_hist),
        pct(cov_alone)
    );
    assert!(pct(fail_hist) <= 0.01, "{}", pct(fail_hist));
    assert!(fail_hist <= fail_alone);
}

use super::estimate::tests as estimate_tests;
