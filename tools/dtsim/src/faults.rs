//! Injected faults: latency, error responses, rate limiting, malformed bodies, held responses,
//! per-path failures and asynchronous DQL. Deterministic for a given `seed` and request order.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::common::{ApiError, Hash};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Added to every response.
    pub latency_ms: u64,
    /// Fraction of requests answered with `error_status`.
    pub error_rate: f64,
    pub error_status: u16,
    /// Every Nth request (1-based, counted since the faults were set) gets 429.
    pub rate_limit_every: u64,
    pub retry_after_s: u64,
    /// Fraction of requests answered 200 with a truncated JSON body.
    pub malformed_rate: f64,
    /// Fraction of requests whose response is held for `timeout_ms` (default 30 s).
    pub timeout_rate: f64,
    pub timeout_ms: u64,
    pub seed: u64,
    /// Path prefixes that always fail.
    pub fail_paths: Vec<FailPath>,
    /// Every Nth DQL `query:execute` answers 202 and must be polled.
    pub dql_async_every: u64,
    /// How many polls of such a query answer RUNNING before it succeeds.
    pub dql_running_polls: u32,
    /// Metrics queries list `result` in reverse order (each entry keeps its `metricId`): a
    /// client must match results by `metricId`, not by position.
    pub reverse_results: bool,
    /// Metrics queries answer with this `metricId` on every result: a client must not take
    /// any of them for a selector it did not send.
    pub rename_metric_ids: Option<String>,
    /// Metrics queries answer with these collection `warnings` (partial data): a client must
    /// not take such a value silently.
    pub metric_warnings: Vec<String>,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            latency_ms: 0,
            error_rate: 0.0,
            error_status: 503,
            rate_limit_every: 0,
            retry_after_s: 1,
            malformed_rate: 0.0,
            timeout_rate: 0.0,
            timeout_ms: 30_000,
            seed: 1,
            fail_paths: Vec::new(),
            dql_async_every: 0,
            dql_running_polls: 0,
            reverse_results: false,
            rename_metric_ids: None,
            metric_warnings: Vec::new(),
        }
    }
}

/// Requests whose path starts with `prefix` (raw path, or the path with the `/e/{env}` or
/// `/platform/classic/environment-api/v2` prefix mapped to `/api/v2`) answer `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailPath {
    pub prefix: String,
    pub status: u16,
    /// Only the first N matching requests fail; absent: all.
    #[serde(default)]
    pub times: Option<u64>,
    /// Only this method (e.g. `POST`); absent: all.
    #[serde(default)]
    pub method: Option<String>,
    /// Only requests whose raw query string contains this text (e.g. `to=1794909600000`, to
    /// fail one time window and not another); absent: all.
    #[serde(default)]
    pub query: Option<String>,
}

/// What to do with one request.
#[derive(Debug, Clone, Default)]
pub struct Decision {
    /// Answer this instead of the real response.
    pub early: Option<ApiError>,
    /// Hold the response this long.
    pub hold_ms: u64,
    pub malformed: bool,
    pub latency_ms: u64,
}

#[derive(Debug, Default)]
pub struct FaultState {
    pub faults: Faults,
    counter: u64,
    hits: Vec<u64>,
}

pub fn status_text(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        429 => "Too many requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Simulated failure",
    }
}

/// The 429 answer: JSON envelope and `Retry-After`; platform paths add the gateway header and
/// `error.retryAfterSeconds`.
pub fn rate_limited(retry_after_s: u64, platform: bool) -> ApiError {
    let mut e = ApiError::new(429, "Too many requests")
        .with_header("retry-after", retry_after_s.to_string());
    if platform {
        e.extra
            .push(("retryAfterSeconds".into(), json!(retry_after_s)));
        e = e.with_header("dynatrace-response-source", "API Gateway");
    }
    e
}

/// A simulated 5xx (or other) failure; on platform paths it comes from the "gateway".
pub fn failure(status: u16, retry_after_s: u64, platform: bool) -> ApiError {
    if status == 429 {
        return rate_limited(retry_after_s, platform);
    }
    let e = ApiError::new(status, status_text(status));
    if platform {
        e.with_header("dynatrace-response-source", "API Gateway")
    } else {
        e
    }
}

impl FaultState {
    pub fn new(faults: Faults) -> FaultState {
        let n = faults.fail_paths.len();
        FaultState {
            faults,
            counter: 0,
            hits: vec![0; n],
        }
    }

    /// Replaces the faults and restarts the request count.
    pub fn set(&mut self, faults: Faults) {
        *self = FaultState::new(faults);
    }

    fn roll(&self, n: u64, stream: &str) -> f64 {
        Hash::new(self.faults.seed).str(stream).num(n).unit()
    }

    pub fn decide(
        &mut self,
        method: &str,
        raw_path: &str,
        raw_query: &str,
        api_path: &str,
        platform: bool,
    ) -> Decision {
        self.counter += 1;
        let n = self.counter;
        let f = &self.faults;
        let mut d = Decision {
            latency_ms: f.latency_ms,
            ..Decision::default()
        };
        for (i, fp) in f.fail_paths.iter().enumerate() {
            let path_ok = raw_path.starts_with(&fp.prefix) || api_path.starts_with(&fp.prefix);
            let method_ok = fp
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method));
            let query_ok = fp.query.as_deref().is_none_or(|q| raw_query.contains(q));
            if path_ok && method_ok && query_ok && fp.times.is_none_or(|t| self.hits[i] < t) {
                self.hits[i] += 1;
                d.early = Some(failure(fp.status, f.retry_after_s, platform));
                return d;
            }
        }
        if f.rate_limit_every > 0 && n.is_multiple_of(f.rate_limit_every) {
            d.early = Some(rate_limited(f.retry_after_s, platform));
            return d;
        }
        if f.error_rate > 0.0 && self.roll(n, "error") < f.error_rate {
            d.early = Some(failure(f.error_status, f.retry_after_s, platform));
            return d;
        }
        if f.timeout_rate > 0.0 && self.roll(n, "timeout") < f.timeout_rate {
            d.hold_ms = f.timeout_ms;
        }
        if f.malformed_rate > 0.0 && self.roll(n, "malformed") < f.malformed_rate {
            d.malformed = true;
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_every_third() {
        let mut s = FaultState::new(Faults {
            rate_limit_every: 3,
            retry_after_s: 7,
            ..Faults::default()
        });
        let codes: Vec<Option<u16>> = (0..6)
            .map(|_| {
                s.decide("GET", "/api/v2/slo", "", "/api/v2/slo", false)
                    .early
                    .map(|e| e.status)
            })
            .collect();
        assert_eq!(codes, [None, None, Some(429), None, None, Some(429)]);
        let e = rate_limited(7, false);
        assert_eq!(
            e.body(),
            json!({"error":{"code":429,"message":"Too many requests"}})
        );
        assert_eq!(e.headers, [("retry-after".to_string(), "7".to_string())]);
    }

    #[test]
    fn fail_paths_with_times() {
        let mut s = FaultState::new(Faults {
            fail_paths: vec![FailPath {
                prefix: "/api/v2/slo".into(),
                status: 500,
                times: Some(2),
                method: None,
                query: None,
            }],
            ..Faults::default()
        });
        let mut d = || {
            s.decide("GET", "/e/x/api/v2/slo/1", "", "/api/v2/slo/1", false)
                .early
                .map(|e| e.status)
        };
        assert_eq!(d(), Some(500));
        assert_eq!(d(), Some(500));
        assert_eq!(d(), None);
    }

    #[test]
    fn rates_are_deterministic_and_roughly_right() {
        let f = Faults {
            error_rate: 0.3,
            seed: 9,
            ..Faults::default()
        };
        let run = || {
            let mut s = FaultState::new(f.clone());
            (0..1000)
                .map(|_| s.decide("GET", "/", "", "/", false).early.is_some())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let hits = a.iter().filter(|x| **x).count();
        assert!((200..400).contains(&hits), "{hits}");
    }
}
