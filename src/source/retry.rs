//! The one retry policy for every HTTP call (pure: the caller supplies jitter and elapsed time).

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
    /// No retry starts after this much time since the first attempt.
    pub deadline: Duration,
    /// Attempts answered 429 that do not count against `max_attempts`: throttling is the
    /// adaptive limit finding the environment's capacity, not a failing request. The deadline
    /// still bounds them.
    pub max_throttled: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(10),
            deadline: Duration::from_secs(60),
            max_throttled: 20,
        }
    }
}

/// What one attempt ended with, as far as retrying is concerned.
#[derive(Clone, Debug, PartialEq)]
pub enum Attempt {
    /// An HTTP status (with `Retry-After` in seconds when the server sent one).
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// Connection refused, reset, timed out, or a body that could not be read.
    Transport,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Done: a success, or an error that another attempt cannot fix (400, 401, 403, 404, ...).
    Stop,
    /// Try again after this delay.
    RetryAfter(Duration),
    /// Would retry, but the attempts or the deadline are used up.
    GiveUp,
}

impl RetryPolicy {
    /// The attempt number to judge (`decide`'s `attempt`): attempts so far (this one
    /// included) less those answered 429, up to `max_throttled` of them.
    pub fn counted(&self, attempts: u32, throttled: u32) -> u32 {
        attempts
            .saturating_sub(throttled.min(self.max_throttled))
            .max(1)
    }

    /// `attempt` counts from 1; `jitter` in [0, 1) spreads concurrent retries apart.
    pub fn decide(
        &self,
        attempt: u32,
        outcome: &Attempt,
        elapsed: Duration,
        jitter: f64,
    ) -> Action {
        let retryable = match outcome {
            Attempt::Transport => true,
            Attempt::Status { status, .. } => matches!(status, 429 | 500 | 502 | 503 | 504),
        };
        if !retryable {
            return Action::Stop;
        }
        if attempt >= self.max_attempts {
            return Action::GiveUp;
        }
        let delay = match outcome {
            // The server said when; a little jitter still avoids a thundering herd. A wait past
            // the deadline is cut to it (then given up below): a hostile `Retry-After` of
            // 2^64-1 seconds must neither overflow nor hang.
            Attempt::Status {
                status: 429 | 503,
                retry_after: Some(ra),
            } => {
                let ra = (*ra).min(self.deadline.saturating_add(Duration::from_secs(1)));
                ra.saturating_add(self.base.mul_f64(jitter.clamp(0.0, 1.0)))
                    .min(self.cap.max(ra))
            }
            _ => self.backoff(attempt, jitter),
        };
        if elapsed.saturating_add(delay) > self.deadline {
            return Action::GiveUp;
        }
        Action::RetryAfter(delay)
    }

    /// Capped exponential backoff with "equal jitter": half fixed, half random.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let d = exp.min(self.cap);
        d / 2 + (d / 2).mul_f64(jitter.clamp(0.0, 1.0))
    }
}

/// The wait until `X-RateLimit-Reset` (the Dynatrace Cluster API's rate limit: the time the
/// quota resets, in microseconds since the epoch; milliseconds and seconds are recognised by
/// size). `now` is the time since the epoch. A reset in the past or unreadable: `None`.
pub fn rate_limit_reset(value: &str, now: Duration) -> Option<Duration> {
    let n = value.trim().parse::<u64>().ok()?;
    let at = if n >= 100_000_000_000_000 {
        Duration::from_micros(n)
    } else if n >= 100_000_000_000 {
        Duration::from_millis(n)
    } else {
        Duration::from_secs(n)
    };
    at.checked_sub(now).filter(|d| !d.is_zero())
}

/// Reads `Retry-After` as seconds (the HTTP-date form is rare for APIs and is ignored).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(s: u16) -> Attempt {
        Attempt::Status {
            status: s,
            retry_after: None,
        }
    }

    #[test]
    fn what_is_retried() {
        let p = RetryPolicy::default();
        let z = Duration::ZERO;
        for s in [400, 401, 403, 404, 410, 200, 201] {
            assert_eq!(p.decide(1, &status(s), z, 0.0), Action::Stop, "{s}");
        }
        for s in [429, 500, 502, 503, 504] {
            assert!(
                matches!(p.decide(1, &status(s), z, 0.0), Action::RetryAfter(_)),
                "{s}"
            );
        }
        assert!(matches!(
            p.decide(1, &Attempt::Transport, z, 0.0),
            Action::RetryAfter(_)
        ));
    }

    #[test]
    fn retry_after_is_honoured() {
        let p = RetryPolicy::default();
        let a = Attempt::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(3)),
        };
        assert_eq!(
            p.decide(1, &a, Duration::ZERO, 0.0),
            Action::RetryAfter(Duration::from_secs(3))
        );
        let Action::RetryAfter(d) = p.decide(1, &a, Duration::ZERO, 0.5) else {
            panic!()
        };
        assert!(d >= Duration::from_secs(3) && d <= Duration::from_secs(4));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1, 0.0), Duration::from_millis(100));
        assert_eq!(p.backoff(1, 1.0), Duration::from_millis(200));
        assert_eq!(p.backoff(3, 1.0), Duration::from_millis(800));
        assert_eq!(p.backoff(30, 1.0), Duration::from_secs(10));
    }

    #[test]
    fn attempts_and_deadline_end_retries() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(5, &status(503), Duration::ZERO, 0.0),
            Action::GiveUp
        );
        assert_eq!(
            p.decide(1, &status(503), Duration::from_secs(60), 0.0),
            Action::GiveUp
        );
        let long = Attempt::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(120)),
        };
        assert_eq!(p.decide(1, &long, Duration::ZERO, 0.0), Action::GiveUp);
    }

    #[test]
    fn a_huge_retry_after_gives_up_without_overflow() {
        let p = RetryPolicy::default();
        let huge = Attempt::Status {
            status: 429,
            retry_after: parse_retry_after("18446744073709551615"),
        };
        // A second after the first attempt, as observed; also at the very start and the end.
        for elapsed in [Duration::ZERO, Duration::from_secs(1), Duration::MAX] {
            for jitter in [0.0, 0.99] {
                assert_eq!(p.decide(1, &huge, elapsed, jitter), Action::GiveUp);
            }
        }
        assert_eq!(
            p.decide(1, &status(503), Duration::MAX, 0.5),
            Action::GiveUp
        );
    }

    #[test]
    fn throttled_attempts_do_not_use_up_the_attempts() {
        let p = RetryPolicy::default();
        let t = Attempt::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(1)),
        };
        // Five 429s in a row: still retried (the attempts count as one).
        assert_eq!(p.counted(5, 5), 1);
        assert!(matches!(
            p.decide(p.counted(5, 5), &t, Duration::ZERO, 0.0),
            Action::RetryAfter(_)
        ));
        // Past `max_throttled`, 429s count again, and the deadline holds throughout.
        assert_eq!(p.counted(30, 25), 10);
        assert_eq!(
            p.decide(p.counted(30, 25), &t, Duration::ZERO, 0.0),
            Action::GiveUp
        );
        assert_eq!(
            p.decide(p.counted(5, 5), &t, Duration::from_secs(60), 0.0),
            Action::GiveUp
        );
        // Other failures count as before.
        assert_eq!(p.counted(4, 0), 4);
    }

    #[test]
    fn rate_limit_reset_header() {
        let now = Duration::from_secs(1_800_000_000);
        let in_3s = Duration::from_secs(3);
        for v in ["1800000003000000", "1800000003000", "1800000003"] {
            assert_eq!(rate_limit_reset(v, now), Some(in_3s), "{v}");
        }
        assert_eq!(rate_limit_reset("1700000000", now), None);
        assert_eq!(rate_limit_reset("soon", now), None);
    }

    #[test]
    fn retry_after_header() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
