//! How many requests one client keeps in flight: an adaptive limit per environment (additive
//! increase, multiplicative decrease, as TCP and Netflix's concurrency-limits do) under a
//! process-wide cap. docs/performance.md, "Adaptive request rate", describes it for users.
//!
//! [`Aimd`] is the algorithm alone, a state machine fed with one [`Sample`] per finished
//! request; it knows no clock and no tokio, so its unit tests replay known sequences.
//! [`AdaptiveLimit`] (one per client) and [`GlobalLimit`] (one per process) are the async edge.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// Requests in flight when a client starts: a one-service gate sends about ten at once (the
/// token check, metric batches, units, problems of the service and of what it runs on, events),
/// and they must go out in one round trip; twice the old fixed default of 8.
pub const INITIAL_LIMIT: usize = 16;

/// 503/504, timeouts and refused connections halve the limit no lower than this
/// ([`LimitConfig::overload_floor`]).
pub const OVERLOAD_FLOOR: usize = 4;

/// The default hard ceiling per environment (`--concurrency`).
pub const DEFAULT_MAX: usize = 64;

/// The default cap on requests in flight in the whole process, over all environments.
pub const DEFAULT_GLOBAL_CAP: usize = 256;

/// What environments on one host have taught: about how many requests they admit at once. A
/// Managed cluster serves its tenants on one host (`/e/<id>`) with the same limits, so a fleet's
/// later environments there start at what the first ones learnt instead of each being throttled
/// (and made to wait for `Retry-After`) once. Only ever lowers a client's starting limit.
static HOST_CEILINGS: Mutex<Option<std::collections::HashMap<String, usize>>> = Mutex::new(None);

/// The ceiling learnt for `host` (`host:port`), if a 429 there taught one.
pub fn learned(host: &str) -> Option<usize> {
    HOST_CEILINGS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .and_then(|m| m.get(host).copied())
}

fn learn(host: &str, ceiling: usize) {
    let mut m = HOST_CEILINGS.lock().unwrap_or_else(|e| e.into_inner());
    let m = m.get_or_insert_with(std::collections::HashMap::new);
    let c = m.entry(host.to_string()).or_insert(ceiling);
    *c = (*c).min(ceiling).max(1);
}

/// The limit's settings; [`LimitConfig::with_max`] gives the defaults under a ceiling.
#[derive(Clone, Debug, PartialEq)]
pub struct LimitConfig {
    /// The limit at start (lowered to `max` when that is smaller).
    pub initial: usize,
    /// Never below this.
    pub min: usize,
    /// Never above this: `--concurrency`.
    pub max: usize,
    /// A latency rise: the recent latency above `tolerance` × the long-run latency...
    pub tolerance: f64,
    /// ...and above it by more than this (smaller rises are noise).
    pub rise_floor: Duration,
    /// Latency samples before a rise is judged at all.
    pub warmup: u32,
    /// 503/504, timeouts and refused connections halve the limit no lower than this: an
    /// environment that does not answer says nothing about how many requests it takes, and
    /// queueing every retry behind one slot only delays the `error` (each attempt waits out
    /// its timeout in turn). A 429 or a latency rise still goes down to `min`.
    pub overload_floor: usize,
    /// What the environment is known to admit before the first request (what other
    /// environments on its host taught, [`learned`]): the limit never climbs past it.
    pub ceiling: Option<usize>,
    /// Slow start (+1 per answer) until the first decrease; without it +1 per round trip from
    /// the start.
    pub slow_start: bool,
}

impl LimitConfig {
    pub fn with_max(max: usize) -> LimitConfig {
        let max = max.max(1);
        LimitConfig {
            initial: INITIAL_LIMIT.min(max),
            min: 1,
            max,
            tolerance: 2.0,
            rise_floor: Duration::from_millis(25),
            warmup: 8,
            overload_floor: OVERLOAD_FLOOR.min(max),
            ceiling: None,
            slow_start: true,
        }
    }
}

/// How a request ended, as far as the limit is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// An answer that says nothing about load (2xx, and 4xx but 429): its latency counts.
    Answered,
    /// 429: the environment refused it for load.
    Throttled,
    /// 503, 504, a timeout or a connection failure: the environment is overloaded or unwell.
    Overloaded,
    /// Neither (e.g. a 500 from a bad query): no change, no latency sample.
    Ignored,
}

/// One finished request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// The number [`Aimd::on_send`] gave the request.
    pub seq: u64,
    /// This client's requests on the wire when it finished, itself included.
    pub in_flight: usize,
    pub latency: Duration,
    pub signal: Signal,
}

/// Why the limit went down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    Throttled,
    Overloaded,
    LatencyRise,
}

/// What a sample changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    None,
    Raised {
        to: usize,
    },
    Lowered {
        from: usize,
        to: usize,
        cause: Cause,
    },
}

/// The algorithm. Slow start: +1 per answered request (the limit doubles per round trip) while
/// nothing went wrong; after the first decrease, and from the start for a client whose start
/// was chosen for it (a fleet's environments, [`LimitConfig::slow_start`]), +1/limit per
/// answered request (+1 per round trip). Increases only while the limit is in use (half of it on the wire), so an idle client
/// does not grow a limit it never tested. A 429, 503/504/timeout or latency rise halves the
/// limit, at most once per round trip: only requests sent after the last decrease can cause
/// the next. A 429 also teaches a ceiling: the client's other requests still on the wire when
/// it came back were admitted, so the environment admits about that many; the limit never
/// climbs past it again (that is why throttling stops after the first back-off).
#[derive(Clone, Debug)]
pub struct Aimd {
    cfg: LimitConfig,
    limit: f64,
    /// What the environment admits, learnt from 429s.
    ceiling: Option<usize>,
    slow_start: bool,
    /// Exponentially weighted latency, ms: recent (α 0.5) and long-run (α 0.1).
    recent: f64,
    long: f64,
    samples: u32,
    next_seq: u64,
    /// Samples of requests sent before this number cannot lower the limit again.
    recovery_seq: u64,
}

impl Aimd {
    pub fn new(cfg: LimitConfig) -> Aimd {
        let ceiling = cfg.ceiling.map(|c| c.max(cfg.min.max(1)));
        let top = ceiling.map_or(cfg.max, |c| c.min(cfg.max)).max(1);
        let limit = cfg.initial.clamp(cfg.min.max(1), top.max(cfg.min.max(1))) as f64;
        let slow_start = cfg.slow_start;
        Aimd {
            cfg,
            limit,
            ceiling,
            slow_start,
            recent: 0.0,
            long: 0.0,
            samples: 0,
            next_seq: 0,
            recovery_seq: 0,
        }
    }

    /// Requests allowed in flight now.
    pub fn limit(&self) -> usize {
        // The epsilon keeps 17 × (1/17) from flooring to 16.
        ((self.limit + 1e-9).floor() as usize).clamp(self.cfg.min.max(1), self.top())
    }

    /// What the environment was found to admit (from 429s), if anything.
    pub fn ceiling(&self) -> Option<usize> {
        self.ceiling
    }

    fn top(&self) -> usize {
        let max = self.cfg.max.max(1);
        self.ceiling
            .map_or(max, |c| c.min(max))
            .max(self.cfg.min.max(1))
    }

    /// A request goes out: its sequence number.
    pub fn on_send(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    pub fn on_sample(&mut self, s: Sample) -> Change {
        let before = self.limit();
        let cause = match s.signal {
            Signal::Ignored => return Change::None,
            Signal::Throttled => {
                // The others on the wire were admitted: the environment takes about that many.
                let admitted = s.in_flight.saturating_sub(1).max(self.cfg.min.max(1));
                self.ceiling = Some(self.ceiling.map_or(admitted, |c| c.min(admitted)));
                Some(Cause::Throttled)
            }
            Signal::Overloaded => Some(Cause::Overloaded),
            Signal::Answered => {
                let ms = s.latency.as_secs_f64() * 1000.0;
                if self.samples == 0 {
                    (self.recent, self.long) = (ms, ms);
                } else {
                    self.recent += 0.5 * (ms - self.recent);
                    self.long += 0.1 * (ms - self.long);
                }
                self.samples = self.samples.saturating_add(1);
                let floor = self.cfg.rise_floor.as_secs_f64() * 1000.0;
                let rise = self.samples >= self.cfg.warmup
                    && self.recent > self.long * self.cfg.tolerance
                    && self.recent - self.long > floor;
                rise.then_some(Cause::LatencyRise)
            }
        };
        match cause {
            Some(c) if s.seq > self.recovery_seq => {
                let floor = match c {
                    Cause::Overloaded => self.cfg.overload_floor.max(self.cfg.min),
                    _ => self.cfg.min,
                }
                .max(1) as f64;
                // Halving never raises a limit already below the floor.
                self.limit = (self.limit / 2.0).max(floor.min(self.limit));
                self.slow_start = false;
                self.recovery_seq = self.next_seq;
            }
            Some(_) => {}
            None => {
                // Grow only a limit that is being used.
                if s.in_flight * 2 >= before {
                    self.limit += if self.slow_start {
                        1.0
                    } else {
                        // Whole steps: a round trip of `limit` answers adds exactly one.
                        1.0 / self.limit.floor().max(1.0)
                    };
                }
            }
        }
        // A ceiling or the hard maximum also bounds the limit itself, so it never runs ahead.
        self.limit = self.limit.min(self.top() as f64 + 0.999);
        let after = self.limit();
        match after.cmp(&before) {
            std::cmp::Ordering::Less => Change::Lowered {
                from: before,
                to: after,
                // Only a signal (and the ceiling a 429 teaches) ever lowers it.
                cause: cause.unwrap_or(Cause::Throttled),
            },
            std::cmp::Ordering::Greater => Change::Raised { to: after },
            std::cmp::Ordering::Equal => Change::None,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The cap on requests in flight in the whole process, shared by every client (every
/// environment of a fleet run). Cloning shares it.
///
/// ```
/// use slogate::source::limit::GlobalLimit;
/// // A fleet runner: one cap for all its environments' clients.
/// let cap = GlobalLimit::new(128);
/// assert_eq!(cap.capacity(), 128);
/// // Each client then takes it: `Client::new(config)?.with_global_limit(cap.clone())`.
/// // Without that, clients share `GlobalLimit::process()` (cap `DEFAULT_GLOBAL_CAP`).
/// ```
#[derive(Clone, Debug)]
pub struct GlobalLimit {
    permits: Arc<Semaphore>,
    capacity: usize,
}

impl GlobalLimit {
    /// A new cap of `capacity` requests in flight (at least 1).
    pub fn new(capacity: usize) -> GlobalLimit {
        let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS);
        GlobalLimit {
            permits: Arc::new(Semaphore::new(capacity)),
            capacity,
        }
    }

    /// The process-wide cap every client uses unless given another ([`DEFAULT_GLOBAL_CAP`]).
    pub fn process() -> GlobalLimit {
        static PROCESS: OnceLock<GlobalLimit> = OnceLock::new();
        PROCESS
            .get_or_init(|| GlobalLimit::new(DEFAULT_GLOBAL_CAP))
            .clone()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Requests this cap lets through right now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    async fn acquire(&self) -> Option<OwnedSemaphorePermit> {
        // The semaphore is never closed; `None` would only mean no global wait.
        self.permits.clone().acquire_owned().await.ok()
    }
}

struct Shared {
    aimd: Aimd,
    /// Permits handed out (queued for the global cap or on the wire).
    held: usize,
    /// Requests on the wire.
    sent: usize,
}

/// One client's adaptive limit. [`AdaptiveLimit::acquire`] waits for room under the client's
/// limit, then under the global cap; the [`Permit`] reports how the request ended.
pub struct AdaptiveLimit {
    shared: Mutex<Shared>,
    room: Notify,
    global: GlobalLimit,
    /// For verbose notes: which environment.
    host: String,
}

impl AdaptiveLimit {
    pub fn new(cfg: LimitConfig, global: GlobalLimit, host: String) -> AdaptiveLimit {
        AdaptiveLimit {
            shared: Mutex::new(Shared {
                aimd: Aimd::new(cfg),
                held: 0,
                sent: 0,
            }),
            room: Notify::new(),
            global,
            host,
        }
    }

    /// The limit now (for tests and messages).
    pub fn limit(&self) -> usize {
        lock(&self.shared).aimd.limit()
    }

    pub fn set_global(&mut self, global: GlobalLimit) {
        self.global = global;
    }

    /// Waits for room, then marks the request as sent.
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            // Created before the check, so a release between the check and the wait wakes it.
            let notified = self.room.notified();
            {
                let mut s = lock(&self.shared);
                if s.held < s.aimd.limit() {
                    s.held += 1;
                    break;
                }
            }
            notified.await;
        }
        // Built before the global wait: if that wait is cancelled, its drop gives the room back.
        let mut permit = Permit {
            limit: self,
            global: None,
            seq: 0,
            sent: None,
            released: false,
        };
        permit.global = self.global.acquire().await;
        let mut s = lock(&self.shared);
        s.sent += 1;
        permit.seq = s.aimd.on_send();
        permit.sent = Some(Instant::now());
        permit
    }

    fn release(&self, sample: Option<(u64, Duration, Signal)>, was_sent: bool) {
        let change = {
            let mut s = lock(&self.shared);
            let in_flight = s.sent;
            s.held = s.held.saturating_sub(1);
            if was_sent {
                s.sent = s.sent.saturating_sub(1);
            }
            sample.map(|(seq, latency, signal)| {
                s.aimd.on_sample(Sample {
                    seq,
                    in_flight,
                    latency,
                    signal,
                })
            })
        };
        if let Some(Change::Lowered { from, to, cause }) = change {
            let ceiling = lock(&self.shared).aimd.ceiling();
            if let Some(c) = ceiling {
                learn(&self.host, c);
            }
            crate::verbose::note(|| {
                let why = match cause {
                    Cause::Throttled => "throttled (429)",
                    Cause::Overloaded => "overloaded (503/504 or no answer)",
                    Cause::LatencyRise => "latency rose",
                };
                format!(
                    "{}: {why}: backing off, requests in flight at once {from} -> {to}",
                    self.host
                )
            });
        }
        self.room.notify_waiters();
    }
}

/// Room for one request. Say how it ended with [`Permit::done`]; dropped without that (the
/// request was cancelled), it only gives the room back.
pub struct Permit<'a> {
    limit: &'a AdaptiveLimit,
    global: Option<OwnedSemaphorePermit>,
    seq: u64,
    sent: Option<Instant>,
    released: bool,
}

impl Permit<'_> {
    /// The request ended with `signal`; its latency is the time since the permit was granted.
    pub fn done(mut self, signal: Signal) {
        let sent = self.sent;
        self.released = true;
        self.global.take();
        let latency = sent.map(|t| t.elapsed()).unwrap_or_default();
        self.limit
            .release(Some((self.seq, latency, signal)), sent.is_some());
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.released {
            self.global.take();
            self.limit.release(None, self.sent.is_some());
        }
    }
}

/// The signal of an HTTP status.
pub fn signal_of_status(status: u16) -> Signal {
    match status {
        429 => Signal::Throttled,
        503 | 504 => Signal::Overloaded,
        500..=599 => Signal::Ignored,
        _ => Signal::Answered,
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_host_remembers_the_least_its_environments_admitted() {
        let host = "fleet.example:1";
        assert_eq!(learned(host), None);
        learn(host, 6);
        learn(host, 4);
        learn(host, 9);
        assert_eq!(learned(host), Some(4));
        assert_eq!(learned("other.example:1"), None);
    }

    use super::*;

    /// The algorithm's cases below start at 8 (the sequences are easier to follow); the
    /// client's real start is [`INITIAL_LIMIT`].
    fn cfg(max: usize) -> LimitConfig {
        LimitConfig {
            initial: 8.min(max),
            ..LimitConfig::with_max(max)
        }
    }

    #[test]
    fn a_client_starts_high_enough_for_a_one_service_gate_in_one_round_trip() {
        assert_eq!(Aimd::new(LimitConfig::with_max(64)).limit(), 16);
        assert_eq!(Aimd::new(LimitConfig::with_max(8)).limit(), 8);
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Sends `n` requests and answers them all with `signal` at `latency`; the client keeps
    /// `n` on the wire (it sends the next as each answer comes).
    #[test]
    fn a_learnt_ceiling_holds_from_the_first_request() {
        // What other environments on the host admitted (4) caps this one from its start: no
        // probe past it, however flat the latency.
        let mut a = Aimd::new(LimitConfig {
            initial: 4,
            ceiling: Some(4),
            ..LimitConfig::with_max(64)
        });
        for _ in 0..20 {
            round(&mut a, 4, 50, Signal::Answered);
        }
        assert_eq!(a.limit(), 4);
        assert_eq!(a.ceiling(), Some(4));
        // A start above the ceiling starts at it.
        let a = Aimd::new(LimitConfig {
            initial: 16,
            ceiling: Some(6),
            ..LimitConfig::with_max(64)
        });
        assert_eq!(a.limit(), 6);
    }

    #[test]
    fn without_slow_start_the_limit_grows_by_one_a_round_trip() {
        // A fleet's environment: 4 at start, +1 after each full round of answers (slow start
        // would double it: 4, 8, 16).
        let mut a = Aimd::new(LimitConfig {
            initial: 4,
            slow_start: false,
            ..LimitConfig::with_max(64)
        });
        round(&mut a, 4, 50, Signal::Answered);
        assert_eq!(a.limit(), 5);
        round(&mut a, 5, 50, Signal::Answered);
        assert_eq!(a.limit(), 6);
        // Within a round the answers of a short run never raise it: 6 requests at limit 4 go
        // out as 4 and 2, the second pair after the first answers, still at 4 in flight or
        // fewer.
        let mut b = Aimd::new(LimitConfig {
            initial: 4,
            slow_start: false,
            ..LimitConfig::with_max(64)
        });
        let first = b.on_send();
        b.on_sample(Sample {
            seq: first,
            in_flight: 4,
            latency: ms(50),
            signal: Signal::Answered,
        });
        assert_eq!(b.limit(), 4);
    }

    fn round(a: &mut Aimd, n: usize, latency: u64, signal: Signal) -> Vec<Change> {
        let seqs: Vec<u64> = (0..n).map(|_| a.on_send()).collect();
        seqs.iter()
            .map(|&seq| {
                a.on_sample(Sample {
                    seq,
                    in_flight: n,
                    latency: ms(latency),
                    signal,
                })
            })
            .collect()
    }

    /// Full rounds at the current limit: the limits seen at the start of each.
    fn rounds(a: &mut Aimd, count: usize, latency: u64) -> Vec<usize> {
        (0..count)
            .map(|_| {
                let l = a.limit();
                round(a, l, latency, Signal::Answered);
                l
            })
            .collect()
    }

    #[test]
    fn slow_start_doubles_per_round_trip_up_to_the_ceiling() {
        let mut a = Aimd::new(cfg(64));
        assert_eq!(a.limit(), 8);
        assert_eq!(rounds(&mut a, 5, 50), [8, 16, 32, 64, 64]);
        let mut small = Aimd::new(cfg(5));
        assert_eq!(small.limit(), 5);
        assert_eq!(rounds(&mut small, 3, 50), [5, 5, 5]);
    }

    #[test]
    fn an_idle_client_does_not_grow_its_limit() {
        let mut a = Aimd::new(cfg(64));
        for _ in 0..100 {
            let seq = a.on_send();
            a.on_sample(Sample {
                seq,
                in_flight: 1,
                latency: ms(50),
                signal: Signal::Answered,
            });
        }
        assert_eq!(a.limit(), 8);
    }

    #[test]
    fn a_429_halves_once_and_teaches_the_ceiling() {
        // 8 sent at once to an environment that admits 4: four 429s come back at once (the
        // four admitted still on the wire), then the four answers.
        let mut a = Aimd::new(cfg(64));
        let seqs: Vec<u64> = (0..8).map(|_| a.on_send()).collect();
        let mut changes = Vec::new();
        for (i, &seq) in seqs[4..].iter().enumerate() {
            changes.push(a.on_sample(Sample {
                seq,
                in_flight: 8 - i,
                latency: ms(1),
                signal: Signal::Throttled,
            }));
        }
        assert_eq!(
            changes[0],
            Change::Lowered {
                from: 8,
                to: 4,
                cause: Cause::Throttled
            }
        );
        // The others of the same round lower the ceiling, not the limit again.
        assert!(
            changes[1..].iter().all(|c| *c == Change::None),
            "{changes:?}"
        );
        assert_eq!(a.ceiling(), Some(4));
        for (i, &seq) in seqs[..4].iter().enumerate() {
            a.on_sample(Sample {
                seq,
                in_flight: 4 - i,
                latency: ms(50),
                signal: Signal::Answered,
            });
        }
        // Flat latency, many rounds: it stays at what the environment admits.
        assert_eq!(rounds(&mut a, 20, 50), [4; 20]);
    }

    #[test]
    fn after_a_decrease_growth_is_one_per_round_trip() {
        let mut a = Aimd::new(cfg(64));
        rounds(&mut a, 2, 50); // 8 -> 16 -> 32
        let c = round(&mut a, 1, 50, Signal::Overloaded);
        assert_eq!(
            c[0],
            Change::Lowered {
                from: 32,
                to: 16,
                cause: Cause::Overloaded
            }
        );
        // No ceiling from a 503: additive increase all the way up.
        assert_eq!(a.ceiling(), None);
        assert_eq!(rounds(&mut a, 4, 50), [16, 17, 18, 19]);
    }

    #[test]
    fn a_latency_rise_halves_and_flat_latency_does_not() {
        let mut a = Aimd::new(cfg(64));
        assert_eq!(rounds(&mut a, 3, 50), [8, 16, 32]);
        // Latency jumps from 50 ms to 400 ms: one halving for this round trip.
        let c = round(&mut a, 64, 400, Signal::Answered);
        let lowered: Vec<_> = c
            .iter()
            .filter(|c| matches!(c, Change::Lowered { .. }))
            .collect();
        assert_eq!(
            lowered,
            [&Change::Lowered {
                from: 64,
                to: 32,
                cause: Cause::LatencyRise
            }]
        );
        // Small wobbles are not a rise.
        let mut b = Aimd::new(cfg(64));
        rounds(&mut b, 3, 2);
        round(&mut b, 64, 5, Signal::Answered);
        assert_eq!(b.limit(), 64);
    }

    #[test]
    fn no_answer_at_all_halves_only_down_to_the_overload_floor() {
        // A dead environment: every request times out. Serialising the retries would only
        // make the `error` later.
        let mut a = Aimd::new(cfg(64));
        for _ in 0..10 {
            round(&mut a, 1, 10, Signal::Overloaded);
        }
        assert_eq!(a.limit(), 4);
        // A 429 still goes lower: the environment said how many it takes.
        for _ in 0..10 {
            round(&mut a, 1, 10, Signal::Throttled);
        }
        assert_eq!(a.limit(), 1);
        // The floor never exceeds --concurrency.
        let mut b = Aimd::new(cfg(2));
        round(&mut b, 1, 10, Signal::Overloaded);
        assert_eq!(b.limit(), 2);
    }

    #[test]
    fn never_below_the_minimum_nor_above_the_maximum() {
        let mut a = Aimd::new(cfg(3));
        for _ in 0..10 {
            round(&mut a, 1, 10, Signal::Throttled);
        }
        assert_eq!(a.limit(), 1);
        let mut b = Aimd::new(cfg(3));
        let seq = b.on_send();
        b.on_sample(Sample {
            seq,
            in_flight: 1,
            latency: ms(1),
            signal: Signal::Throttled,
        });
        assert_eq!((b.limit(), b.ceiling()), (1, Some(1)));
    }

    #[test]
    fn statuses() {
        assert_eq!(signal_of_status(200), Signal::Answered);
        assert_eq!(signal_of_status(404), Signal::Answered);
        assert_eq!(signal_of_status(429), Signal::Throttled);
        assert_eq!(signal_of_status(503), Signal::Overloaded);
        assert_eq!(signal_of_status(500), Signal::Ignored);
    }

    #[tokio::test]
    async fn the_async_limit_holds_its_limit_and_the_global_cap() {
        let global = GlobalLimit::new(3);
        let a = AdaptiveLimit::new(cfg(2), global.clone(), "a".into());
        let b = AdaptiveLimit::new(cfg(8), global.clone(), "b".into());
        let p1 = a.acquire().await;
        let p2 = a.acquire().await;
        // `a` is at its limit of 2.
        assert!(
            tokio::time::timeout(ms(20), a.acquire()).await.is_err(),
            "a third permit under a limit of 2"
        );
        let q1 = b.acquire().await;
        // The global cap of 3 is used up.
        assert_eq!(global.available(), 0);
        assert!(tokio::time::timeout(ms(20), b.acquire()).await.is_err());
        p1.done(Signal::Answered);
        let q2 = tokio::time::timeout(ms(500), b.acquire()).await.unwrap();
        drop((p2, q1, q2));
        assert_eq!(global.available(), 3);
    }
}
