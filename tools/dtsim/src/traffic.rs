//! Request-level traffic: a service's requests simulated one by one, so the built-in service
//! metrics behave as real ones do. Latencies are heavy-tailed (log-normal body, Pareto tail)
//! around a level that drifts from minute to minute (an AR(1) in log space); the request rate
//! ramps between two values; each request fails with a fixed probability. Window values are
//! computed over the window's requests (a true p95 of all requests, not a mean of minutes).
//!
//! Served keys: `builtin:service.response.time` (µs), `builtin:service.requestCount.total`,
//! `builtin:service.errors.total.count`, `builtin:service.errors.total.rate` (%). Regressions
//! on `builtin:service.response.time` multiply latencies; on `builtin:service.errors.total.count`
//! the error probability.

use serde::Deserialize;

use crate::common::Hash;
use crate::time::MINUTE;

pub const RESPONSE_TIME: &str = "builtin:service.response.time";
pub const REQUESTS: &str = "builtin:service.requestCount.total";
pub const ERRORS: &str = "builtin:service.errors.total.count";
pub const ERROR_RATE: &str = "builtin:service.errors.total.rate";

/// One service's traffic (`traffic[]` in the scenario).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct TrafficDef {
    /// Service name or id; absent: every service.
    pub service: Option<String>,
    /// Requests per minute at the bottom and the top of the ramp.
    pub requests_per_minute: [f64; 2],
    /// Minutes from bottom to top (then back down: a triangle wave anchored at epoch 0).
    pub ramp_minutes: i64,
    /// Median latency in µs.
    pub median_us: f64,
    /// Log-normal shape of the body.
    pub sigma: f64,
    /// Share of requests from the Pareto tail (starting at 3× the median).
    pub tail_share: f64,
    /// Pareto index of the tail (smaller: heavier).
    pub tail_alpha: f64,
    /// Probability that a request fails.
    pub error_rate: f64,
    /// Stationary standard deviation of the log latency level.
    pub drift_sd: f64,
    /// Minute-to-minute autocorrelation of the level.
    pub drift_rho: f64,
    /// Latency follows load: the level is multiplied by (rate / top rate)^load_exponent.
    pub load_exponent: f64,
    /// Shifts the ramp's triangle wave by this many minutes (where in the ramp a time falls).
    pub ramp_offset_minutes: i64,
    /// Probability that an error burst starts in a minute.
    pub error_burst_share: f64,
    /// Minutes a burst lasts.
    pub error_burst_minutes: i64,
    /// The error probability is multiplied by this during a burst.
    pub error_burst_factor: f64,
    /// Services with the same key share their latency drift and error bursts (a canary and
    /// its control, running side by side); absent: the service's own.
    pub shared_noise: Option<String>,
}

impl Default for TrafficDef {
    fn default() -> Self {
        TrafficDef {
            service: None,
            requests_per_minute: [60.0, 600.0],
            ramp_minutes: 120,
            median_us: 100_000.0,
            sigma: 0.5,
            tail_share: 0.02,
            tail_alpha: 2.5,
            error_rate: 0.005,
            drift_sd: 0.0,
            drift_rho: 0.9,
            load_exponent: 0.0,
            ramp_offset_minutes: 0,
            error_burst_share: 0.0,
            error_burst_minutes: 1,
            error_burst_factor: 1.0,
            shared_noise: None,
        }
    }
}

impl TrafficDef {
    pub fn validate(&self, i: usize) -> Result<(), String> {
        let bad = |m: &str| Err(format!("traffic[{i}]: {m}"));
        let [lo, hi] = self.requests_per_minute;
        if !(lo >= 0.0 && hi >= lo && hi <= 100_000.0) {
            return bad("requests_per_minute must be [low, high] with 0 ≤ low ≤ high ≤ 100000");
        }
        if self.median_us <= 0.0 || self.sigma < 0.0 || self.tail_alpha <= 1.0 {
            return bad("median_us > 0, sigma ≥ 0 and tail_alpha > 1 are required");
        }
        if !(0.0..=1.0).contains(&self.error_rate) || !(0.0..=1.0).contains(&self.tail_share) {
            return bad("error_rate and tail_share are probabilities");
        }
        if self.drift_sd < 0.0 || !(0.0..0.999).contains(&self.drift_rho) {
            return bad("drift_sd ≥ 0 and 0 ≤ drift_rho < 0.999 are required");
        }
        if !(0.0..=1.0).contains(&self.error_burst_share)
            || !(1..=1440).contains(&self.error_burst_minutes)
            || self.error_burst_factor < 0.0
            || !self.load_exponent.is_finite()
        {
            return bad(
                "error_burst_share is a probability, 1 ≤ error_burst_minutes ≤ 1440, error_burst_factor ≥ 0, load_exponent finite",
            );
        }
        Ok(())
    }
}

/// The requests of one minute: latencies (µs) and how many failed.
#[derive(Clone, Debug, PartialEq)]
pub struct Minute {
    pub latencies: Vec<f64>,
    pub errors: u64,
}

/// A small deterministic generator (splitmix64) seeded from a hash.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn gauss(&mut self) -> f64 {
        let (u1, u2) = (self.unit(), self.unit());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

fn gauss_at(h: Hash) -> f64 {
    Rng(h.value()).gauss()
}

/// The traffic of one service.
pub struct TrafficGen {
    def: TrafficDef,
    hash: Hash,
    /// Drift and bursts: the service's own hash, or the shared one (`shared_noise`).
    shared: Hash,
    /// (from, to, latency factor, error factor) of the matching regressions.
    regs: Vec<(i64, Option<i64>, f64, f64)>,
}

impl TrafficGen {
    pub fn new(
        def: &TrafficDef,
        seed: u64,
        service_id: &str,
        regs: Vec<(i64, Option<i64>, f64, f64)>,
    ) -> Self {
        let noise = def.shared_noise.as_deref().unwrap_or(service_id);
        TrafficGen {
            def: def.clone(),
            hash: Hash::new(seed).str(service_id).str("traffic"),
            shared: Hash::new(seed).str(noise).str("traffic"),
            regs,
        }
    }

    /// What the cache keys on besides the minute: seed, service and every parameter.
    fn identity(&self) -> u64 {
        let d = &self.def;
        [
            d.requests_per_minute[0],
            d.requests_per_minute[1],
            d.median_us,
            d.sigma,
            d.tail_share,
            d.tail_alpha,
            d.error_rate,
            d.drift_sd,
            d.drift_rho,
            d.load_exponent,
            d.ramp_offset_minutes as f64,
            d.error_burst_share,
            d.error_burst_minutes as f64,
            d.error_burst_factor,
        ]
        .iter()
        .fold(
            self.hash
                .num(d.ramp_minutes as u64)
                .num(self.shared.value()),
            |h, v| h.num(v.to_bits()),
        )
        .value()
    }

    /// The log latency level at minute index `m`: an exponentially weighted sum of past shocks,
    /// i.e. a stationary AR(1) with the given ρ and sd, computable for any minute on its own.
    fn level(&self, m: i64) -> f64 {
        let (sd, rho) = (self.def.drift_sd, self.def.drift_rho);
        if sd == 0.0 {
            return 0.0;
        }
        let k = if rho > 0.0 {
            ((1e-4f64).ln() / rho.ln()).ceil().clamp(1.0, 5000.0) as i64
        } else {
            1
        };
        let innovation = sd * (1.0 - rho * rho).sqrt();
        let mut sum = 0.0;
        let mut w = 1.0;
        for j in 0..k {
            sum += w * gauss_at(self.shared.str("drift").num((m - j) as u64));
            w *= rho;
        }
        innovation * sum
    }

    /// Whether minute `m` lies in an error burst (one started within the last burst length).
    fn in_burst(&self, m: i64) -> bool {
        let d = &self.def;
        d.error_burst_share > 0.0
            && (0..d.error_burst_minutes).any(|j| {
                Rng(self.shared.str("burst").num((m - j) as u64).value()).unit()
                    < d.error_burst_share
            })
    }

    fn rate(&self, m: i64) -> f64 {
        let [lo, hi] = self.def.requests_per_minute;
        let r = self.def.ramp_minutes.max(1);
        let phase = (m + self.def.ramp_offset_minutes).rem_euclid(2 * r);
        let up = if phase < r { phase } else { 2 * r - phase };
        lo + (hi - lo) * up as f64 / r as f64
    }

    /// The requests of the minute starting at `start` (epoch ms), from a small process-wide
    /// cache: a gate asks for the same minutes in several series and requests.
    pub fn minute(&self, start: i64) -> std::sync::Arc<Minute> {
        use std::collections::HashMap;
        use std::sync::{Arc, Mutex, OnceLock};
        type Cache = Mutex<HashMap<(u64, i64, u64), Arc<Minute>>>;
        static CACHE: OnceLock<Cache> = OnceLock::new();
        let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
        let (lf, ef) = self.factors(start);
        let key = (
            self.identity(),
            start,
            lf.to_bits() ^ ef.to_bits().rotate_left(1),
        );
        if let Some(m) = cache.lock().map(|c| c.get(&key).cloned()).ok().flatten() {
            return m;
        }
        let m = Arc::new(self.generate(start));
        if let Ok(mut c) = cache.lock() {
            // Bounded: a few gates' worth of minutes, then start over.
            if c.len() >= 4096 {
                c.clear();
            }
            c.insert(key, m.clone());
        }
        m
    }

    /// Latency and error factors of the regressions in force at `start`.
    fn factors(&self, start: i64) -> (f64, f64) {
        let (mut lat_f, mut err_f) = (1.0, 1.0);
        for (from, to, lf, ef) in &self.regs {
            if start >= *from && to.is_none_or(|t| start < t) {
                lat_f *= lf;
                err_f *= ef;
            }
        }
        (lat_f, err_f)
    }

    fn generate(&self, start: i64) -> Minute {
        let m = start.div_euclid(MINUTE);
        let mut rng = Rng(self.hash.num(m as u64).value());
        let lambda = self.rate(m);
        // Poisson count (normal approximation above 30, inversion below).
        let n = if lambda > 30.0 {
            (lambda + lambda.sqrt() * rng.gauss()).round().max(0.0) as usize
        } else {
            let (l, mut k, mut p) = ((-lambda).exp(), 0usize, 1.0);
            loop {
                p *= rng.unit();
                if p <= l {
                    break k;
                }
                k += 1;
            }
        };
        let (lat_f, err_f) = self.factors(start);
        let load = if self.def.load_exponent != 0.0 && self.def.requests_per_minute[1] > 0.0 {
            (lambda / self.def.requests_per_minute[1]).powf(self.def.load_exponent)
        } else {
            1.0
        };
        let level = self.def.median_us * self.level(m).exp() * lat_f * load;
        let burst = if self.in_burst(m) {
            self.def.error_burst_factor
        } else {
            1.0
        };
        let p_err = (self.def.error_rate * err_f * burst).min(1.0);
        let mut latencies = Vec::with_capacity(n);
        let mut errors = 0;
        for _ in 0..n {
            let v = if rng.unit() < self.def.tail_share {
                3.0 * level * rng.unit().powf(-1.0 / self.def.tail_alpha)
            } else {
                level * (self.def.sigma * rng.gauss()).exp()
            };
            latencies.push(v);
            if rng.unit() < p_err {
                errors += 1;
            }
        }
        Minute { latencies, errors }
    }
}

/// Whether `key` is served from traffic.
pub fn serves(key: &str) -> bool {
    matches!(key, RESPONSE_TIME | REQUESTS | ERRORS | ERROR_RATE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_at_the_configured_rates() {
        let def = TrafficDef {
            requests_per_minute: [300.0, 300.0],
            drift_sd: 0.05,
            ..TrafficDef::default()
        };
        let g = TrafficGen::new(&def, 1, "SERVICE-1", Vec::new());
        let a = g.minute(600_000);
        let b = g.minute(600_000);
        assert_eq!(a.latencies, b.latencies);
        let (mut n, mut e) = (0usize, 0u64);
        for m in 0..200 {
            let x = g.minute(m * MINUTE);
            n += x.latencies.len();
            e += x.errors;
        }
        let per_min = n as f64 / 200.0;
        assert!((290.0..310.0).contains(&per_min), "{per_min}");
        let rate = e as f64 / n as f64;
        assert!((0.004..0.006).contains(&rate), "{rate}");
    }

    #[test]
    fn drift_has_the_configured_spread() {
        let def = TrafficDef {
            drift_sd: 0.1,
            drift_rho: 0.9,
            ..TrafficDef::default()
        };
        let g = TrafficGen::new(&def, 3, "S", Vec::new());
        let levels: Vec<f64> = (0..3000).map(|m| g.level(m)).collect();
        let mean = levels.iter().sum::<f64>() / levels.len() as f64;
        let sd =
            (levels.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / levels.len() as f64).sqrt();
        assert!((0.08..0.12).contains(&sd), "{sd}");
        let lag1 = levels
            .windows(2)
            .map(|w| (w[0] - mean) * (w[1] - mean))
            .sum::<f64>()
            / levels.iter().map(|l| (l - mean).powi(2)).sum::<f64>();
        assert!((0.85..0.95).contains(&lag1), "{lag1}");
    }

    #[test]
    fn a_shared_noise_key_shares_drift_and_bursts_only() {
        let def = TrafficDef {
            drift_sd: 0.1,
            error_burst_share: 0.05,
            shared_noise: Some("checkout".into()),
            ..TrafficDef::default()
        };
        let canary = TrafficGen::new(&def, 3, "SERVICE-A", Vec::new());
        let control = TrafficGen::new(&def, 3, "SERVICE-B", Vec::new());
        let own = TrafficGen::new(
            &TrafficDef {
                shared_noise: None,
                ..def.clone()
            },
            3,
            "SERVICE-A",
            Vec::new(),
        );
        assert!((0..50).all(|m| canary.level(m) == control.level(m)));
        assert!((0..500).all(|m| canary.in_burst(m) == control.in_burst(m)));
        assert!((0..50).any(|m| canary.level(m) != own.level(m)));
        // Each side still samples its own requests.
        assert_ne!(
            canary.minute(MINUTE).latencies,
            control.minute(MINUTE).latencies
        );
    }

    #[test]
    fn regressions_scale_latency() {
        let def = TrafficDef {
            requests_per_minute: [1000.0, 1000.0],
            tail_share: 0.0,
            ..TrafficDef::default()
        };
        let base = TrafficGen::new(&def, 1, "S", Vec::new());
        let slow = TrafficGen::new(&def, 1, "S", vec![(0, None, 1.5, 1.0)]);
        let a = base.minute(MINUTE);
        let b = slow.minute(MINUTE);
        assert!((b.latencies[0] / a.latencies[0] - 1.5).abs() < 1e-9);
    }

    #[test]
    fn latency_follows_load_and_errors_come_in_bursts() {
        // Exponent 1: at the bottom of a 100 → 400 ramp the level is a quarter of the top's.
        let def = TrafficDef {
            requests_per_minute: [100.0, 400.0],
            ramp_minutes: 10,
            tail_share: 0.0,
            sigma: 0.0,
            load_exponent: 1.0,
            ..TrafficDef::default()
        };
        let g = TrafficGen::new(&def, 1, "S", Vec::new());
        let bottom = g.minute(0).latencies[0];
        let top = g.minute(10 * MINUTE).latencies[0];
        assert!((top / bottom - 4.0).abs() < 1e-9, "{top} {bottom}");
        // The offset moves where a time falls in the ramp.
        let shifted = TrafficGen::new(
            &TrafficDef {
                ramp_offset_minutes: 10,
                ..def.clone()
            },
            1,
            "S",
            Vec::new(),
        );
        assert!((shifted.minute(0).latencies[0] - top).abs() < 1e-9);
        // Bursts: about the configured share of minutes starts one, each lasting its length.
        let def = TrafficDef {
            requests_per_minute: [100.0, 100.0],
            error_burst_share: 0.05,
            error_burst_minutes: 2,
            error_burst_factor: 50.0,
            ..TrafficDef::default()
        };
        let g = TrafficGen::new(&def, 1, "S", Vec::new());
        let bursty = (0..4000).filter(|m| g.in_burst(*m)).count() as f64 / 4000.0;
        // P(in a burst) = 1 − 0.95² = 0.0975.
        assert!((bursty - 0.0975).abs() < 0.015, "{bursty}");
        let m = (0..4000).find(|m| g.in_burst(*m)).unwrap();
        assert!(g.minute(m * MINUTE).errors >= 10);
    }
}
