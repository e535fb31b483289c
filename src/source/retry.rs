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
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(10),
            deadline: Duration::from_secs(60),
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
    fn retry_after_header() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
