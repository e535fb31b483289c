//! Step 2 and 3: the windows of every service (anchoring may ask Dynatrace for the deployment),
//! and the visible wait until they are complete and settled.

use super::{BaselineMode, Job, Stop, When, usage};
use crate::clock::Clock;
use crate::context::AnchorKind;
use crate::plan::Plan;
use crate::report::json::DeploymentInfo;
use crate::shell::selectors;
use crate::source::events::{self, EventError};
use crate::source::http::{Client, SendError};
use crate::ui::stderr;
use crate::window::{self, TimeWindow};
use chrono::{DateTime, Duration, TimeZone, Utc};
use futures_util::future::join_all;
use std::io::IsTerminal;
use std::time::Duration as StdDuration;

/// The windows of one service.
pub(crate) struct Windows {
    pub(crate) eval: TimeWindow,
    pub(crate) baseline: Option<TimeWindow>,
    pub(crate) deployment: Option<DeploymentInfo>,
}

pub(crate) fn human(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", (s + 59) / 60),
        7200..=172_799 => format!("{:.1} h", s as f64 / 3600.0),
        _ => format!("{} d", (s + 43_199) / 86_400),
    }
}

/// A service whose windows could not be anchored (no deployment event): it is evaluated no
/// further, and its report says why (`error`), while the other services go on.
pub(crate) struct Unanchored {
    /// Its position among the selected services.
    pub(crate) index: usize,
    pub(crate) plan: Plan,
    pub(crate) cause: String,
}

/// Takes the services without windows out of `plans` (and their earlier verdicts out of
/// `previous`), so that every later step sees only services it can evaluate. When no service
/// is left, the run stops: nothing could be evaluated.
pub(crate) fn anchored<T>(
    found: Vec<Result<Windows, String>>,
    plans: &mut Vec<Plan>,
    previous: &mut Vec<T>,
) -> Result<(Vec<Windows>, Vec<Unanchored>), Stop> {
    if found.iter().all(Result::is_err) {
        let causes: Vec<String> = found.into_iter().filter_map(Result::err).collect();
        return Err(Stop::CouldNot(causes.join("; ")));
    }
    let mut windows = Vec::new();
    let mut unanchored = Vec::new();
    let mut kept_plans = Vec::new();
    let mut kept_previous = Vec::new();
    let mut previous_all = std::mem::take(previous).into_iter();
    for (index, (w, plan)) in found.into_iter().zip(plans.drain(..)).enumerate() {
        let prev = previous_all.next();
        match w {
            Ok(w) => {
                windows.push(w);
                kept_plans.push(plan);
                kept_previous.extend(prev);
            }
            Err(cause) => unanchored.push(Unanchored { index, plan, cause }),
        }
    }
    *plans = kept_plans;
    *previous = kept_previous;
    Ok((windows, unanchored))
}

/// The windows of each service, or why it has none (no deployment event for it: one service
/// without one must not hide another's verdict).
pub(crate) fn of(
    job: &Job<'_>,
    plans: &[Plan],
    client: &Client,
    rt: &tokio::runtime::Runtime,
    clock: &dyn Clock,
) -> Result<Vec<Result<Windows, String>>, Stop> {
    let now = clock.now();
    let invalid = |m: String, h: &str| Stop::Invalid(usage(m, h));
    let before = |w: &TimeWindow| TimeWindow::new(w.from - w.length(), w.from).ok();
    match &job.when {
        When::Fixed(w) => {
            if job.baseline == BaselineMode::Window && job.control.is_none() {
                return Err(invalid(
                    "--baseline window needs a deployment".into(),
                    "use gate --since-deployment or --deployment-time",
                ));
            }
            Ok(plans
                .iter()
                .map(|_| {
                    Ok(Windows {
                        eval: *w,
                        baseline: None,
                        deployment: None,
                    })
                })
                .collect())
        }
        When::EndingNow(length) => {
            let w = TimeWindow::new(now - *length, now)
                .map_err(|m| invalid(m, "e.g. --timeframe 30m"))?;
            let baseline = (job.baseline == BaselineMode::Window)
                .then(|| before(&w))
                .flatten();
            Ok(plans
                .iter()
                .map(|_| {
                    Ok(Windows {
                        eval: w,
                        baseline,
                        deployment: None,
                    })
                })
                .collect())
        }
        When::Anchored {
            deployment,
            kind,
            event_wait,
            lookback,
            delay,
            length,
        } => {
            let found: Vec<Result<DeploymentInfo, String>> = match deployment {
                Some(t) => plans
                    .iter()
                    .map(|_| {
                        Ok(DeploymentInfo {
                            time: window::rfc3339(*t),
                            source: "flag".into(),
                            event_id: None,
                            title: None,
                            version: None,
                            event_type: None,
                        })
                    })
                    .collect(),
                None => find_waiting(client, plans, rt, clock, *kind, *lookback, *event_wait)?,
            };
            found
                .into_iter()
                .map(|d| {
                    let d = match d {
                        Ok(d) => d,
                        Err(cause) => return Ok(Err(cause)),
                    };
                    let t = window::parse_time(&d.time, now).map_err(|m| invalid(m, ""))?;
                    let start = t + *delay;
                    let eval =
                        TimeWindow::new(start, start + *length).map_err(|m| invalid(m, ""))?;
                    let baseline = match job.baseline {
                        BaselineMode::Window => {
                            Some(TimeWindow::new(t - *length, t).map_err(|m| invalid(m, ""))?)
                        }
                        BaselineMode::History => None,
                    };
                    Ok(Ok(Windows {
                        eval,
                        baseline,
                        deployment: Some(d),
                    }))
                })
                .collect()
        }
    }
}

/// How often to ask again while an event is not visible yet: a tenth of the wait, between 1 s
/// and 10 s (a modest load on the events API, a short wait in tests).
pub(crate) fn poll_interval(wait: Duration) -> Duration {
    (wait / 10).clamp(Duration::seconds(1), Duration::seconds(10))
}

/// [`find_anchors`], asked again for the services without one until `wait` is over: Dynatrace
/// shows an event only minutes after its ingest, and a gate right after `slogate mark` must not
/// fail for that. The loop is bounded by the number of polls too, whatever the clock does.
pub(crate) fn find_waiting(
    client: &Client,
    plans: &[Plan],
    rt: &tokio::runtime::Runtime,
    clock: &dyn Clock,
    kind: AnchorKind,
    lookback: Duration,
    wait: Duration,
) -> Result<Vec<Result<DeploymentInfo, String>>, Stop> {
    let started = clock.now();
    let all: Vec<&Plan> = plans.iter().collect();
    let mut found = rt.block_on(find_anchors(client, &all, started, lookback, kind))?;
    let poll = poll_interval(wait);
    let max_polls = wait.num_milliseconds().max(0) / poll.num_milliseconds() + 1;
    // A misspelled stage or service selects no entity: no event is on its way, so no waiting.
    let hopeless: Vec<bool> = plans
        .iter()
        .map(|p| {
            crate::hint::selection(
                &p.root,
                &p.settings,
                p.stage.as_deref(),
                p.service.as_deref(),
            )
            .is_some()
        })
        .collect();
    for _ in 0..max_polls {
        let missing: Vec<usize> = (0..found.len())
            .filter(|&i| found[i].is_err() && !hopeless[i])
            .collect();
        let waited = clock.now() - started;
        if missing.is_empty() || waited >= wait {
            break;
        }
        stderr(&format!(
            "waiting for the {} event to become visible in Dynatrace… {} of {} (--event-wait)\n",
            kind.noun(),
            human(waited),
            human(wait)
        ));
        clock.sleep((poll.min(wait - waited)).to_std().unwrap_or_default());
        let again: Vec<&Plan> = missing.iter().map(|&i| &plans[i]).collect();
        let now = clock.now();
        let more = rt.block_on(find_anchors(client, &again, now, lookback, kind))?;
        for (i, r) in missing.into_iter().zip(more) {
            found[i] = r;
        }
    }
    if wait > Duration::zero() {
        for (r, _) in found.iter_mut().zip(&hopeless).filter(|(_, h)| !**h) {
            if let Err(cause) = r {
                cause.push_str(&format!(
                    " (waited {} for it to become visible; --event-wait changes this)",
                    human(wait)
                ));
            }
        }
    }
    Ok(found)
}

/// The latest anchoring event (`kind`) of each service, or why a service has none. A failure of
/// the events API itself stops the run.
pub(crate) async fn find_anchors(
    client: &Client,
    plans: &[&Plan],
    now: DateTime<Utc>,
    lookback: Duration,
    kind: AnchorKind,
) -> Result<Vec<Result<DeploymentInfo, String>>, Stop> {
    let targets: Vec<String> = plans
        .iter()
        .map(|p| service_selector(p))
        .collect::<Result<_, _>>()
        .map_err(|m| Stop::Invalid(usage(m, "pass --service (and --stage, --project)")))?;
    let from = (now - lookback).timestamp_millis();
    let to = now.timestamp_millis();
    let types = kind.event_types();
    let queries = targets
        .iter()
        .flat_map(|sel| types.iter().map(move |t| (sel, *t)));
    let results = join_all(queries.map(|(sel, t)| async move {
        events::find(client, t, sel, from, to)
            .await
            .map(|found| found.into_iter().map(|e| (t, e)).collect::<Vec<_>>())
    }))
    .await;
    let mut results = results.into_iter();
    let mut out = Vec::new();
    for (sel, plan) in targets.iter().zip(plans) {
        let mut found: Vec<(&str, events::FoundEvent)> = Vec::new();
        for r in results.by_ref().take(types.len()) {
            found.extend(r.map_err(|e| Stop::CouldNot(event_error(&e, "events.read")))?);
        }
        found.retain(|(t, e)| kind.anchors(t, &e.properties));
        // An event without a usable start time anchors nothing: never a 1970 window, never "now".
        for (t, e) in found.iter().filter(|(_, e)| e.start_ms.is_none()) {
            let what = match *t {
                "CUSTOM_DEPLOYMENT" => "deployment",
                other => other,
            };
            stderr(&format!(
                "warning: skipped {what} event {} for {sel}: it has no usable startTime\n",
                e.event_id
            ));
        }
        let events: Vec<events::FoundEvent> = found.iter().map(|(_, e)| e.clone()).collect();
        let latest = events::latest(&events).and_then(|l| {
            let (t, e) = found.iter().find(|(_, e)| e == l)?;
            let at = Utc.timestamp_millis_opt(e.start_ms?).single()?;
            Some((*t, e, at))
        });
        let Some((event_type, latest, t)) = latest else {
            // A misspelled stage or service selects no entity, so no event either: say which.
            let hint = crate::hint::selection(
                &plan.root,
                &plan.settings,
                plan.stage.as_deref(),
                plan.service.as_deref(),
            )
            .map(|h| format!("; {h}"))
            .unwrap_or_default();
            let how = match kind {
                AnchorKind::Deployment => {
                    "mark deployments with `slogate mark`, or pass --deployment-time"
                }
                _ => {
                    "mark changes with `slogate mark --type configuration --flag NAME=VALUE`, or pass --deployment-time"
                }
            };
            out.push(Err(format!(
                "no {} found: no {} with a usable start time for {sel} in the last {}{hint}; {how}",
                kind.noun(),
                kind.looked_for(),
                human(lookback)
            )));
            continue;
        };
        out.push(Ok(DeploymentInfo {
            time: window::rfc3339(t),
            source: "event".into(),
            event_id: Some(latest.event_id.clone()),
            title: Some(latest.title.clone()).filter(|t| !t.is_empty()),
            version: latest
                .property("dt.event.deployment.version")
                .map(str::to_string),
            event_type: Some(event_type.to_string()),
        }));
    }
    Ok(out)
}

pub(crate) fn event_error(e: &EventError, scope: &str) -> String {
    match e {
        EventError::Send(SendError::Auth { status, message }) => {
            format!("Dynatrace refused the token ({status}): {message}; it needs the scope {scope}")
        }
        other => other.to_string(),
    }
}

/// The entity selector of a plan's service, from slogate.yaml's template (Keptn's tags by default).
pub(crate) fn service_selector(p: &Plan) -> Result<String, String> {
    let sel = selectors(
        &p.settings,
        None,
        p.project.as_deref(),
        p.stage.as_deref(),
        std::slice::from_ref(&p.service),
    )
    .map_err(|e| e.first().map(|p| p.message.clone()).unwrap_or_default())?;
    Ok(sel.into_iter().next().map(|(_, s)| s).unwrap_or_default())
}

/// Waits for `wait`, with a countdown on a terminal and a line a minute in CI logs.
pub(crate) fn wait_visibly(clock: &dyn Clock, wait: Duration, end: DateTime<Utc>) {
    let total_ms = wait.num_milliseconds().max(0);
    // Whole seconds, rounded up, for the display; the sleep itself is exact.
    let total = (total_ms + 999) / 1000;
    let terminal = std::io::stderr().is_terminal();
    if clock.now() < end {
        stderr(&format!(
            "waiting {total} s for the evaluation window to end (at {}) and its data to settle\n",
            window::rfc3339(end)
        ));
    } else {
        stderr(&format!(
            "waiting {total} s for the data to settle (the window ends at {}; --settle changes this)\n",
            window::rfc3339(end)
        ));
    }
    let mut left_ms = total_ms;
    while left_ms > 0 {
        let left = (left_ms + 999) / 1000;
        if terminal {
            crate::ui::stderr_terminal(&format!("\r  {:02}:{:02} left ", left / 60, left % 60));
        } else if left != total && left % 60 == 0 {
            stderr(&format!("  {left} s left\n"));
        }
        // The first step takes the fraction, so the rest lands on whole seconds.
        let step = match left_ms % 1000 {
            0 => 1000,
            r => r,
        };
        clock.sleep(StdDuration::from_millis(step as u64));
        left_ms -= step;
    }
    if terminal {
        crate::ui::stderr_terminal("\r              \r");
    }
}

/// Waits until every evaluation window is complete and settled, visibly; never evaluates early.
/// Returns how long it waited.
pub(crate) fn wait(
    job: &Job<'_>,
    windows: &[Windows],
    settle: Duration,
    clock: &dyn Clock,
) -> Result<Duration, Stop> {
    let now = clock.now();
    let last_end = windows.iter().map(|w| w.eval.to).max().unwrap_or(now);
    if last_end > now && job.wait.is_none() {
        return Err(Stop::Invalid(usage(
            format!(
                "the evaluation window ends at {}, {} from now",
                window::rfc3339(last_end),
                human(last_end - now)
            ),
            "pass --wait (e.g. --wait 45m) to wait for it, or anchor earlier",
        )));
    }
    let needed = (last_end + settle) - now;
    if let Some(max) = job.wait
        && needed > max
    {
        return Err(Stop::Invalid(usage(
            format!(
                "the evaluation window is complete and settled in {}, longer than --wait {}",
                human(needed),
                human(max)
            ),
            "raise --wait, or shorten --delay / --timeframe",
        )));
    }
    let waited = needed.max(Duration::zero());
    if waited > Duration::zero() {
        wait_visibly(clock, waited, last_end);
    }
    Ok(waited)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_a_tenth_of_the_wait_between_one_and_ten_seconds() {
        assert_eq!(poll_interval(Duration::minutes(3)), Duration::seconds(10));
        assert_eq!(poll_interval(Duration::seconds(30)), Duration::seconds(3));
        assert_eq!(poll_interval(Duration::seconds(2)), Duration::seconds(1));
        assert_eq!(poll_interval(Duration::zero()), Duration::seconds(1));
    }
}
