//! The statistics behind the judge, pure: how uncertain is a window's statistic, given the
//! per-minute series it was made of?
//!
//! Minutes are not independent (a latency level drifts), so every variance here is a variance of
//! a mean of per-minute terms over an effective number of minutes, `n_eff = n/τ`: the AR(1)
//! effective sample size `n·(1−ρ)/(1+ρ)` (Bayley & Hammersley 1946; Bretherton et al. 1999,
//! eq. 31) in its ARMA(1,1) form ([`persistence`]), with the autocorrelations pooled over both
//! windows and corrected for their small-sample bias (Kendall 1954). A drift slower than a window
//! is measured on the stretch before the deployment ([`between_windows`], overlapping batch
//! means, Meketon & Schmeiser 1984). Nothing is random: the same series give the same interval.
//! See docs/decisions.md ("Statistical judge") and docs/judge.md.

/// The highest lag-1 autocorrelation (and decay) the estimator believes: τ stays at most 19, so
/// a 30-minute window keeps at least 1.6 effective minutes; slower drift is left to
/// [`between_windows`].
pub const RHO_CAP: f64 = 0.9;

/// How a window's statistic is made from its minutes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shape {
    /// A percentile (or any level with no counts behind it): the window's value moves with the
    /// mean of the per-minute logarithms.
    Level,
    /// A ratio of sums Σy/Σx: an average latency (y = requests·avg, x = requests), a rate
    /// (y = errors, x = requests), a plain mean (x = 1).
    RatioOfSums,
}

/// The uncertainty of one window's statistic.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowSpread {
    /// Variance of the natural log of the window's statistic.
    pub log_var: f64,
    /// Minutes with data.
    pub minutes: usize,
    /// Effective number of independent minutes.
    pub n_eff: f64,
    /// The Poisson floor set the variance: it is known, not estimated from the minutes.
    pub floored: bool,
}

/// Sample mean and (n−1) variance.
pub fn mean_var(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    if x.is_empty() {
        return (0.0, 0.0);
    }
    let m = x.iter().sum::<f64>() / n;
    if x.len() < 2 {
        return (m, 0.0);
    }
    let v = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0);
    (m, v)
}

/// Lag-`k` autocorrelation pooled over several series, each about its own mean (so a step
/// between the windows, the regression itself, does not look like persistence).
pub fn pooled_lag(series: &[&[f64]], k: usize) -> f64 {
    let mut num = 0.0;
    let mut den = 0.0;
    for s in series {
        let (m, _) = mean_var(s);
        for i in k..s.len() {
            num += (s[i - k] - m) * (s[i] - m);
        }
        den += s.iter().map(|v| (v - m) * (v - m)).sum::<f64>();
    }
    if den <= 0.0 { 0.0 } else { num / den }
}

/// The persistence of the minutes: how many times larger the variance of a window's mean is
/// than for independent minutes, `τ = 1 + 2·Σ r_k` with autocorrelations decaying
/// geometrically from lag 1 (`r_k = r₁·φ^(k−1)`, so `τ = 1 + 2·r₁/(1−φ)`, φ = r₂/r₁). This is
/// the ARMA(1,1) form: an AR(1) level seen through per-minute sampling noise, which lowers r₁
/// but not the decay; a plain AR(1) has φ = r₁ and `τ = (1+ρ)/(1−ρ)`. Sample autocorrelations
/// of short demeaned series are biased low by about τ/n (Kendall 1954; Bartlett 1946), so the
/// correction is applied and τ solved by a few fixed-point steps. Returns (τ, corrected r₁, φ).
pub fn persistence(series: &[&[f64]], n: f64) -> (f64, f64, f64) {
    let (r1_raw, r2_raw) = (pooled_lag(series, 1), pooled_lag(series, 2));
    if n < 4.0 {
        return (1.0, 0.0, 0.0);
    }
    let mut tau = 1.0;
    let (mut r1, mut phi) = (0.0, 0.0);
    for _ in 0..8 {
        r1 = (r1_raw + tau / n).min(RHO_CAP);
        if r1 <= 0.0 {
            return (1.0, 0.0, 0.0);
        }
        let r2 = r2_raw + tau / n;
        phi = (r2 / r1).clamp(0.0, RHO_CAP);
        tau = (1.0 + 2.0 * r1 / (1.0 - phi)).min(n);
    }
    (tau, r1, phi)
}

/// The terms whose mean the statistic follows, one per minute with data: logs for a level,
/// linearised residuals `y − R·x` for a ratio of sums (R = Σy/Σx). Also returns R (the level's
/// geometric mean for a level).
pub fn terms(shape: Shape, y: &[f64], x: &[f64]) -> (Vec<f64>, f64) {
    match shape {
        Shape::Level => {
            let logs: Vec<f64> = y.iter().filter(|v| **v > 0.0).map(|v| v.ln()).collect();
            let (m, _) = mean_var(&logs);
            (logs, m.exp())
        }
        Shape::RatioOfSums => {
            let sy: f64 = y.iter().sum();
            let sx: f64 = x.iter().sum();
            let r = if sx > 0.0 { sy / sx } else { 0.0 };
            (y.iter().zip(x).map(|(y, x)| y - r * x).collect(), r)
        }
    }
}

/// The spread of one window's statistic from its terms (see [`terms`]) and the pooled
/// persistence τ ([`persistence`]): `n_eff = n/τ`.
/// `events`: the count behind a rate or a total; its Poisson variance 1/events is a floor, so a
/// window with 9 errors is never judged surer than 9 errors allow.
pub fn window_spread(
    shape: Shape,
    terms: &[f64],
    x: &[f64],
    ratio: f64,
    tau: f64,
    events: Option<f64>,
) -> WindowSpread {
    let n = terms.len();
    let ne = (n as f64 / tau.max(1.0)).max(1.0);
    let (_, s2) = mean_var(terms);
    let mut log_var = match shape {
        Shape::Level => s2 / ne,
        Shape::RatioOfSums => {
            // Var(Σz) ≈ n²·s²/n_eff; Var(R) = Var(Σz)/(Σx)²; Var(ln R) = Var(R)/R².
            let sx: f64 = x.iter().sum();
            if sx > 0.0 && ratio > 0.0 {
                (n as f64).powi(2) * s2 / ne / (sx * sx) / (ratio * ratio)
            } else {
                f64::INFINITY
            }
        }
    };
    let mut floored = false;
    if let Some(e) = events {
        let poisson = if e > 0.0 { 1.0 / e } else { f64::INFINITY };
        if poisson >= log_var {
            log_var = poisson;
            floored = true;
        }
    }
    WindowSpread {
        log_var,
        minutes: n,
        n_eff: ne,
        floored,
    }
}

/// The variance of the log change between two adjacent windows of `len` minutes when nothing
/// changed, measured on a longer stretch before the deployment: the overlapping-batch-means
/// idea (Meketon & Schmeiser 1984) applied to window pairs. Every start minute s gives one
/// pair, [s, s+len) against [s+len, s+2·len); the variance of the log changes over all pairs is the
/// estimate. It sees what no single window can: a level drifting more slowly than a window is
/// long. When the changes share a clear mean (a steady ramp moves every pair alike) they are
/// centred on it: a ramp is no noise.
/// `y`/`x` per minute as in [`terms`] (`None` = no data); a block needs half its minutes.
/// Returns the variance and the number of pairs, `None` without a full pair.
pub fn between_windows(
    shape: Shape,
    y: &[Option<f64>],
    x: &[Option<f64>],
    len: usize,
) -> Option<(f64, usize)> {
    if len == 0 || y.len() < 2 * len + 1 {
        return None;
    }
    // Prefix sums of what a block's statistic needs.
    let n = y.len();
    let (mut sy, mut sx, mut cnt) = (vec![0.0; n + 1], vec![0.0; n + 1], vec![0usize; n + 1]);
    for i in 0..n {
        let (a, b, c) = match (shape, y[i], x.get(i).copied().flatten()) {
            (Shape::Level, Some(v), _) if v > 0.0 => (v.ln(), 1.0, 1),
            (Shape::RatioOfSums, Some(v), Some(w)) if w > 0.0 => (v, w, 1),
            _ => (0.0, 0.0, 0),
        };
        sy[i + 1] = sy[i] + a;
        sx[i + 1] = sx[i] + b;
        cnt[i + 1] = cnt[i] + c;
    }
    let stat = |from: usize, to: usize| -> Option<f64> {
        let c = cnt[to] - cnt[from];
        if c * 2 < len {
            return None;
        }
        let (a, b) = (sy[to] - sy[from], sx[to] - sx[from]);
        match shape {
            Shape::Level => Some(a / b),
            // Half an event of continuity keeps a block without errors finite.
            Shape::RatioOfSums => (b > 0.0).then(|| ((a + 0.5) / b).ln()),
        }
    };
    let d: Vec<f64> = (0..=(n - 2 * len))
        .filter_map(|s| Some(stat(s + len, s + 2 * len)? - stat(s, s + len)?))
        .collect();
    let pairs = d.len();
    if pairs == 0 {
        return None;
    }
    let mean = d.iter().sum::<f64>() / pairs as f64;
    let raw = d.iter().map(|x| x * x).sum::<f64>() / pairs as f64;
    // A steady ramp moves every pair alike and is no noise: centred on the mean change when
    // that mean stands out. Overlapping pairs share minutes, so the mean rests on only about
    // n/(2·len) independent pairs; a mean within 2 of its own standard errors is left in (on
    // a short stretch centring would otherwise take about half the drift away).
    let centred = raw - mean * mean;
    let independent = (n as f64 / (2 * len) as f64).max(1.0);
    if mean * mean > 4.0 * centred / independent {
        Some((centred, pairs))
    } else {
        Some((raw, pairs))
    }
}

/// How far (in robust standard deviations) a minute must lie from its window's typical minute
/// to be left out as an outlier. 5: a normal minute gets there about once in 1.7 million, an
/// incident (latency ×2 on a few % of per-minute noise) at once.
pub const OUTLIER_Z: f64 = 5.0;

/// One window's per-minute (y, x), `None` where missing.
pub type Window<'a> = (&'a [Option<f64>], &'a [Option<f64>]);

/// Which minutes of several windows are outliers (one `Vec` per window). `counts`: `y` are
/// event counts out of `x` requests (a rate): a minute is an outlier when its count lies more
/// than `z` Poisson standard deviations above what its window's rate (without outliers, two
/// passes) predicts. Otherwise `y/x` is a level (x = 1 for a plain level): an outlier lies more
/// than `z` robust standard deviations from its window's median in log space, either way, the
/// robust standard deviation (1.4826·MAD of every minute from its window's median) pooled over
/// the windows: an incident filling a third of one window does not hide itself by widening
/// that window's spread, and a window that moved as a whole (a regression) keeps its minutes.
/// Minutes without data are never outliers.
pub fn outliers_pooled(counts: bool, windows: &[Window<'_>], z: f64) -> Vec<Vec<bool>> {
    if counts {
        return windows
            .iter()
            .map(|(y, x)| count_outliers(y, x, z))
            .collect();
    }
    let logs: Vec<Vec<Option<f64>>> = windows
        .iter()
        .map(|(y, x)| {
            (0..y.len())
                .map(|i| match (y[i], x.get(i).copied().flatten()) {
                    (Some(v), Some(w)) if v > 0.0 && w > 0.0 => Some((v / w).ln()),
                    _ => None,
                })
                .collect()
        })
        .collect();
    let centres: Vec<Option<f64>> = logs
        .iter()
        .map(|u| {
            let mut v: Vec<f64> = u.iter().flatten().copied().collect();
            (v.len() >= 5).then(|| median(&mut v))
        })
        .collect();
    let mut dev: Vec<f64> = logs
        .iter()
        .zip(&centres)
        .filter_map(|(u, c)| c.map(|c| u.iter().flatten().map(move |v| (v - c).abs())))
        .flatten()
        .collect();
    let scale = 1.4826 * median(&mut dev);
    logs.iter()
        .zip(&centres)
        .map(|(u, c)| {
            u.iter()
                .map(|v| match (v, c) {
                    (Some(v), Some(c)) if scale > 0.0 => (v - c).abs() > z * scale,
                    _ => false,
                })
                .collect()
        })
        .collect()
}

/// [`outliers_pooled`] for a single window.
pub fn outliers(counts: bool, y: &[Option<f64>], x: &[Option<f64>], z: f64) -> Vec<bool> {
    outliers_pooled(counts, &[(y, x)], z).remove(0)
}

fn count_outliers(y: &[Option<f64>], x: &[Option<f64>], z: f64) -> Vec<bool> {
    let n = y.len();
    let mut out = vec![false; n];
    let xi = |i: usize| x.get(i).copied().flatten();
    for _ in 0..2 {
        let (mut se, mut sr) = (0.0, 0.0);
        for i in 0..n {
            if let (Some(e), Some(r), false) = (y[i], xi(i), out[i]) {
                se += e;
                sr += r;
            }
        }
        if sr <= 0.0 {
            return out;
        }
        let rate = se / sr;
        for i in 0..n {
            if let (Some(e), Some(r)) = (y[i], xi(i)) {
                let expected = rate * r;
                out[i] = (e - expected) / (expected + 1.0).sqrt() > z;
            }
        }
    }
    out
}

/// The median (sorts `v`); 0 for an empty slice.
pub fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// A per-minute relation of the log statistic with the log request rate: `u = a + slope·ln r`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoadFit {
    pub slope: f64,
    /// Standard error of the slope, inflated by the persistence of the residuals.
    pub se: f64,
    pub minutes: usize,
}

/// Least squares of `u` on `l` (the log request rate), minute by minute. Residuals of a level
/// that drifts are persistent, so the slope's variance `s²/Sxx` is multiplied by their τ
/// ([`persistence`]): a slow drift that happens to run with the load is not taken for a load
/// relation. `None` with fewer than 10 minutes or no spread in the load.
pub fn load_fit(u: &[f64], l: &[f64]) -> Option<LoadFit> {
    let n = u.len().min(l.len());
    if n < 10 {
        return None;
    }
    let (mu, _) = mean_var(&u[..n]);
    let (ml, _) = mean_var(&l[..n]);
    let sxx: f64 = l[..n].iter().map(|v| (v - ml) * (v - ml)).sum();
    if sxx <= 1e-9 {
        return None;
    }
    let sxy: f64 = (0..n).map(|i| (l[i] - ml) * (u[i] - mu)).sum();
    let slope = sxy / sxx;
    let resid: Vec<f64> = (0..n).map(|i| u[i] - mu - slope * (l[i] - ml)).collect();
    let s2 = resid.iter().map(|r| r * r).sum::<f64>() / (n as f64 - 2.0);
    let (tau, _, _) = persistence(&[&resid], n as f64);
    Some(LoadFit {
        slope,
        se: (s2 * tau / sxx).sqrt(),
        minutes: n,
    })
}

/// Errors against load: a Poisson regression of the per-minute error counts `e` on the requests
/// `n`, `E[e] = n·exp(a + slope·ln n)` (the error share ∝ requests^slope), by Newton's method.
/// Zero-error minutes count as they are (no log of a count). The slope's variance from the
/// Fisher information is multiplied by the overdispersion (Pearson χ²/df, at least 1: bursts
/// and drift make errors more variable than Poisson) and by the persistence τ of the Pearson
/// residuals ([`persistence`]). `None` with fewer than 10 minutes or 10 errors, no spread in the
/// load, or no convergence.
pub fn poisson_load_fit(e: &[f64], n: &[f64]) -> Option<LoadFit> {
    let m = e.len().min(n.len());
    let total: f64 = e[..m].iter().sum();
    let requests: f64 = n[..m].iter().sum();
    if m < 10 || total < 10.0 || requests <= 0.0 || n[..m].iter().any(|v| *v <= 0.0) {
        return None;
    }
    let x: Vec<f64> = n[..m].iter().map(|v| v.ln()).collect();
    let (xm, _) = mean_var(&x);
    let xc: Vec<f64> = x.iter().map(|v| v - xm).collect();
    if xc.iter().map(|v| v * v).sum::<f64>() <= 1e-9 {
        return None;
    }
    let (mut a, mut b) = ((total / requests).ln(), 0.0);
    let mu =
        |a: f64, b: f64| -> Vec<f64> { (0..m).map(|i| n[i] * (a + b * xc[i]).exp()).collect() };
    let mut converged = false;
    for _ in 0..50 {
        let u = mu(a, b);
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for i in 0..m {
            let r = e[i] - u[i];
            ga += r;
            gb += r * xc[i];
            haa += u[i];
            hab += u[i] * xc[i];
            hbb += u[i] * xc[i] * xc[i];
        }
        let det = haa * hbb - hab * hab;
        if det.is_nan() || det <= 0.0 {
            return None;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a += da;
        b += db;
        if !a.is_finite() || !b.is_finite() {
            return None;
        }
        if da.abs() < 1e-10 && db.abs() < 1e-10 {
            converged = true;
            break;
        }
    }
    if !converged {
        return None;
    }
    let u = mu(a, b);
    let (haa, hab, hbb) = (0..m).fold((0.0, 0.0, 0.0), |(p, q, r), i| {
        (p + u[i], q + u[i] * xc[i], r + u[i] * xc[i] * xc[i])
    });
    let var_b = haa / (haa * hbb - hab * hab);
    let pearson: Vec<f64> = (0..m)
        .map(|i| (e[i] - u[i]) / u[i].sqrt().max(1e-12))
        .collect();
    let dispersion = (pearson.iter().map(|r| r * r).sum::<f64>() / (m as f64 - 2.0)).max(1.0);
    let (tau, _, _) = persistence(&[&pearson], m as f64);
    Some(LoadFit {
        slope: b,
        se: (var_b * dispersion * tau).sqrt(),
        minutes: m,
    })
}

/// Stouffer's combination for objectives in groups: within a group (measures of the same
/// requests, e.g. a p95 and an average latency, whose dependence is unknown) the mean of the
/// z-scores, which is never more than standard normal under any dependence (Var(mean) ≤ 1);
/// across groups (latency, errors: taken as independent) their sum over √groups. Under the
/// null every z is at most standard normal, so `P(combined ≥ q) ≤ P(N(0,1) ≥ q)`.
/// `items`: (group, z). `None` without items.
pub fn combine(items: &[(usize, f64)]) -> Option<f64> {
    let mut groups: Vec<(usize, f64, usize)> = Vec::new();
    for (g, z) in items {
        if !z.is_finite() {
            continue;
        }
        match groups.iter_mut().find(|(k, _, _)| k == g) {
            Some(e) => {
                e.1 += z;
                e.2 += 1;
            }
            None => groups.push((*g, *z, 1)),
        }
    }
    if groups.is_empty() {
        return None;
    }
    let sum: f64 = groups.iter().map(|(_, s, c)| s / *c as f64).sum();
    Some(sum / (groups.len() as f64).sqrt())
}

/// The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn normal_quantiles_match_tables() {
        assert!(close(normal_quantile(0.975), 1.959_963_985, 1e-8));
        assert!(close(normal_quantile(0.5), 0.0, 1e-12));
        assert!(close(normal_quantile(0.95), 1.644_853_627, 1e-8));
        assert!(close(normal_quantile(0.995), 2.575_829_304, 1e-8));
        assert!(close(normal_quantile(0.001), -3.090_232_306, 1e-8));
    }

    #[test]
    fn sample_variance_textbook() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population variance 4, sample variance 32/7.
        let (m, v) = mean_var(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(m, 5.0);
        assert!(close(v, 32.0 / 7.0, 1e-12));
    }

    #[test]
    fn effective_minutes_from_persistence() {
        // τ = 3: a third of the minutes count; never fewer than one.
        let terms: Vec<f64> = (0..30).map(|i| f64::from(i % 2)).collect();
        let s = window_spread(Shape::Level, &terms, &[], 1.0, 3.0, None);
        assert!(close(s.n_eff, 10.0, 1e-12));
        let s = window_spread(Shape::Level, &terms, &[], 1.0, 100.0, None);
        assert_eq!(s.n_eff, 1.0);
    }

    #[test]
    fn lag1_of_alternating_and_trending_series() {
        // An alternating series is negatively autocorrelated; the judge treats it as independent.
        let alt = [1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0];
        assert!(pooled_lag(&[&alt], 1) < -0.8);
        assert_eq!(persistence(&[&alt], 8.0).0, 1.0);
        // A ramp is strongly persistent.
        let ramp: Vec<f64> = (0..30).map(f64::from).collect();
        assert!(pooled_lag(&[&ramp], 1) > 0.85);
        // Each series is centred on its own mean: two flat windows at different levels show no
        // persistence at all.
        assert_eq!(pooled_lag(&[&[1.0; 10], &[2.0; 10]], 1), 0.0);
    }

    #[test]
    fn ratio_terms_vanish_for_a_constant_ratio() {
        let x = [10.0, 20.0, 30.0];
        let y = [1.0, 2.0, 3.0];
        let (z, r) = terms(Shape::RatioOfSums, &y, &x);
        assert!(close(r, 0.1, 1e-12));
        assert!(z.iter().all(|z| z.abs() < 1e-12));
    }

    #[test]
    fn poisson_floor_for_few_events() {
        // 9 errors spread evenly: the minutes alone would claim certainty; the floor says 1/9.
        let x = [100.0; 9];
        let y = [1.0; 9];
        let (z, r) = terms(Shape::RatioOfSums, &y, &x);
        let s = window_spread(Shape::RatioOfSums, &z, &x, r, 1.0, Some(9.0));
        assert!(close(s.log_var, 1.0 / 9.0, 1e-12));
    }

    /// An AR(1) series of log levels with known ρ and innovation sd, seeded.
    pub(crate) fn ar1(
        rng: &mut fastrand::Rng,
        n: usize,
        rho: f64,
        sd: f64,
        burn: usize,
    ) -> Vec<f64> {
        let mut x = 0.0;
        let mut out = Vec::with_capacity(n);
        for i in 0..n + burn {
            x = rho * x + sd * gauss(rng);
            if i >= burn {
                out.push(x);
            }
        }
        out
    }

    pub(crate) fn gauss(rng: &mut fastrand::Rng) -> f64 {
        // Box–Muller.
        let u1 = rng.f64().max(1e-300);
        let u2 = rng.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    #[test]
    fn between_windows_of_a_known_process() {
        // Independent minutes with sd 0.1: the difference of two 10-minute means has variance
        // 2·0.01/10 = 0.002.
        let mut rng = fastrand::Rng::with_seed(4);
        let y: Vec<Option<f64>> = (0..4000)
            .map(|_| Some((0.1 * gauss(&mut rng)).exp()))
            .collect();
        let (v, pairs) = between_windows(Shape::Level, &y, &[], 10).unwrap();
        assert_eq!(pairs, 4000 - 20 + 1);
        assert!((v / 0.002 - 1.0).abs() < 0.15, "{v}");
        // A step inside the stretch shows up; too short a stretch gives nothing.
        assert_eq!(between_windows(Shape::Level, &y[..20], &[], 10), None);
        // A constant rate of 1 in 100: the pairs differ by nothing.
        let e = vec![Some(1.0); 60];
        let r = vec![Some(100.0); 60];
        let (v, _) = between_windows(Shape::RatioOfSums, &e, &r, 10).unwrap();
        assert!(v < 1e-12);
    }

    #[test]
    fn persistence_of_known_processes() {
        // Independent minutes: τ ≈ 1. An AR(1) with ρ = 0.6: τ = (1+ρ)/(1−ρ) = 4. Median over
        // seeded series of two 30-minute windows.
        let mut rng = fastrand::Rng::with_seed(7);
        let mut median = |rho: f64| {
            let mut taus: Vec<f64> = (0..401)
                .map(|_| {
                    let s = ar1(&mut rng, 60, rho, 0.05, 100);
                    persistence(&[&s[..30], &s[30..]], 30.0).0
                })
                .collect();
            taus.sort_by(f64::total_cmp);
            taus[200]
        };
        let iid = median(0.0);
        assert!((1.0..1.6).contains(&iid), "{iid}");
        let ar = median(0.6);
        assert!((3.0..5.5).contains(&ar), "{ar}");
    }

    #[test]
    fn level_interval_is_calibrated_on_ar1_series() {
        // Known answer: the difference of two windows' means of a stationary AR(1) is 0 in
        // expectation; the 95 % interval should hold it about 95 % of the time.
        let mut rng = fastrand::Rng::with_seed(7);
        let z = normal_quantile(0.975);
        let mut covered = 0;
        for _ in 0..2000 {
            let s = ar1(&mut rng, 60, 0.6, 0.05, 100);
            let (tau, _, _) = persistence(&[&s[..30], &s[30..]], 30.0);
            let spread = |w: &[f64]| {
                let exp: Vec<f64> = w.iter().map(|v| v.exp()).collect();
                let (t, _) = terms(Shape::Level, &exp, &[]);
                window_spread(Shape::Level, &t, &[], 1.0, tau, None).log_var
            };
            let se = (spread(&s[..30]) + spread(&s[30..])).sqrt();
            let d = mean_var(&s[30..]).0 - mean_var(&s[..30]).0;
            if d.abs() <= z * se {
                covered += 1;
            }
        }
        let cov = covered as f64 / 2000.0;
        assert!((0.91..=0.98).contains(&cov), "coverage {cov}");
    }

    #[test]
    fn outlier_minutes_of_a_level_and_of_counts() {
        // 30 minutes at 100 ± 2 %, three at 250: those three, nothing else.
        let mut rng = fastrand::Rng::with_seed(41);
        let y: Vec<Option<f64>> = (0..30)
            .map(|i| {
                let base = if (10..13).contains(&i) { 250.0 } else { 100.0 };
                Some(base * (0.02 * gauss(&mut rng)).exp())
            })
            .collect();
        let x = vec![Some(1.0); 30];
        let o = outliers(false, &y, &x, OUTLIER_Z);
        let flagged: Vec<usize> = (0..30).filter(|i| o[*i]).collect();
        assert_eq!(flagged, [10, 11, 12]);
        // Counts: 300 requests a minute at 0.5 % (1.5 errors), one minute with 30 errors.
        let e: Vec<Option<f64>> = (0..30)
            .map(|i| Some(if i == 7 { 30.0 } else { f64::from(i % 3) }))
            .collect();
        let r = vec![Some(300.0); 30];
        let o = outliers(true, &e, &r, OUTLIER_Z);
        assert_eq!((0..30).filter(|i| o[*i]).collect::<Vec<_>>(), [7]);
        // Nothing flagged in a window without spread or without data.
        assert!(!outliers(false, &[Some(5.0); 10], &[Some(1.0); 10], 5.0).contains(&true));
        assert!(!outliers(true, &[None; 10], &[None; 10], 5.0).contains(&true));
    }

    #[test]
    fn medians() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&mut []), 0.0);
    }

    #[test]
    fn load_fit_finds_a_known_slope() {
        // u = 0.8·l + independent noise sd 0.05, l spread over ln 100 … ln 400 in 120 minutes:
        // slope 0.8, its standard error sd/√Sxx.
        let mut rng = fastrand::Rng::with_seed(42);
        let l: Vec<f64> = (0..120).map(|i| (100.0 + 2.5 * i as f64).ln()).collect();
        let u: Vec<f64> = l.iter().map(|l| 0.8 * l + 0.05 * gauss(&mut rng)).collect();
        let f = load_fit(&u, &l).unwrap();
        let (ml, _) = mean_var(&l);
        let sxx: f64 = l.iter().map(|v| (v - ml) * (v - ml)).sum();
        assert!((f.slope - 0.8).abs() < 3.0 * 0.05 / sxx.sqrt(), "{f:?}");
        assert!((f.se / (0.05 / sxx.sqrt()) - 1.0).abs() < 0.3, "{f:?}");
        assert_eq!(f.minutes, 120);
        // No spread in load, or too few minutes: no fit.
        assert_eq!(load_fit(&u, &[1.0; 120]), None);
        assert_eq!(load_fit(&u[..5], &l[..5]), None);
    }

    #[test]
    fn stouffer_within_and_across_groups() {
        // Group 0: z 1 and 3 (mean 2); group 1: z 2. (2 + 2)/√2.
        let z = combine(&[(0, 1.0), (0, 3.0), (1, 2.0)]).unwrap();
        assert!((z - 4.0 / 2f64.sqrt()).abs() < 1e-12);
        // One group: the mean, never more than its largest member.
        assert_eq!(combine(&[(0, 1.0), (0, 2.0)]), Some(1.5));
        assert_eq!(combine(&[]), None);
    }

    #[test]
    fn between_windows_centres_a_steady_ramp() {
        // A level rising 0.5 % a minute, no noise: every pair of 10-minute windows differs by
        // the same 5 %: a ramp, not noise.
        let y: Vec<Option<f64>> = (0..60).map(|i| Some((0.005 * i as f64).exp())).collect();
        let (v, _) = between_windows(Shape::Level, &y, &[], 10).unwrap();
        assert!(v < 1e-12, "{v}");
        // Noise around a flat level: the mean change is no ramp and is left in.
        let mut rng = fastrand::Rng::with_seed(43);
        let y: Vec<Option<f64>> = (0..60)
            .map(|_| Some((0.1 * gauss(&mut rng)).exp()))
            .collect();
        let (v, _) = between_windows(Shape::Level, &y, &[], 10).unwrap();
        assert!(v > 0.0005, "{v}");
    }
}
