//! The evaluation engine behind `eval` and `gate`, as one-way steps: inputs (flags and files →
//! plans) → windows → wait → fetch (each source) → score → publish (push, record, reports and CI
//! output). Commands only build a [`Job`] from their flags and call [`run`].

mod context;
pub(crate) use context::requests as context_requests;
pub(crate) use windows::{human, poll_interval};
mod earlier;
pub mod emit;
mod fetch;
mod inputs;
mod minutes;
mod publish;
pub(crate) mod release_dashboard;
mod score;
mod windows;

use crate::cli::{OutputArgs, SourceArgs};
use crate::clock::Clock;
use crate::diag::Problem;
use crate::eval::Verdict;
use crate::shell::{ci_kind, environment};
use crate::ui::{Exit, Ui, stderr};
use crate::window::TimeWindow;
use chrono::{DateTime, Duration, Utc};
use inputs::needed_scopes;
pub(crate) use inputs::resolve_checked;

/// Which window is evaluated.
#[derive(Clone)]
pub(crate) enum When {
    Fixed(TimeWindow),
    /// The given length, ending now.
    EndingNow(Duration),
    /// After a deployment: found in Dynatrace (`lookback`) or given.
    Anchored {
        deployment: Option<DateTime<Utc>>,
        /// Which events may anchor when none is given (`--since-event`).
        kind: crate::context::AnchorKind,
        /// `--event-wait`: how long to retry while the event is not yet visible.
        event_wait: Duration,
        lookback: Duration,
        delay: Duration,
        length: Duration,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum BaselineMode {
    History,
    Window,
}

pub(crate) struct Job<'a> {
    /// Store the evaluation in the history.
    pub(crate) record: bool,
    /// What was selected (the core's form of the flags).
    pub(crate) select: crate::plan::Scope,
    pub(crate) source: &'a SourceArgs,
    pub(crate) output: &'a OutputArgs,
    pub(crate) when: When,
    /// `--wait`: the longest slogate may wait for the window to complete.
    pub(crate) wait: Option<Duration>,
    pub(crate) baseline: BaselineMode,
    /// `--baseline pinned`: history baselines are the pinned evaluation, whatever slogate.yaml's
    /// `comparison:` says.
    pub(crate) pinned: bool,
    /// `--judge`; `None`: slogate.yaml's `judge.mode`, else Keptn.
    pub(crate) judge: Option<crate::judge::JudgeMode>,
    /// `--warm-up-minutes`; `None`: slogate.yaml's `judge.warm_up_minutes`, else the default.
    pub(crate) warm_up_minutes: Option<usize>,
    /// `--publish-dashboard`: each verdict onto its release comparison dashboard.
    pub(crate) dashboard: Option<release_dashboard::Publish>,
    /// `--control-service` / `--control-label`: the canary is compared with this control over
    /// the same window (docs/judge.md).
    pub(crate) control: Option<crate::plan::Control>,
    /// One environment of a fleet (`crate::fleet`): its plans, read once for all, and the
    /// environment variables.
    pub(crate) fleet: Option<FleetMember>,
}

pub(crate) struct FleetMember {
    pub(crate) plans: Vec<crate::plan::Plan>,
    /// The process environment, read once for the whole fleet: shared, never copied per
    /// environment (a CI's hundreds of variables, a fleet's thousands of tokens).
    pub(crate) env: std::sync::Arc<std::collections::BTreeMap<String, String>>,
}

impl Job<'_> {
    /// The judge of a plan: the flag, else its slogate.yaml, else Keptn.
    pub(crate) fn judge_of(&self, plan: &crate::plan::Plan) -> crate::judge::JudgeMode {
        self.judge
            .or_else(|| {
                plan.settings
                    .judge
                    .mode
                    .as_ref()
                    .and_then(|m| crate::judge::JudgeMode::parse(&m.value))
            })
            .unwrap_or_default()
    }
}

/// A run that ends before any report: the diagnostics or the cause on stderr, and the outcome
/// (`invalid` or `error`) in the CI's variables with one annotation naming the reason.
pub(crate) fn stop(ui: &Ui, output: &OutputArgs, stop: Stop) -> Exit {
    let env = environment();
    let ci = ci_kind(output.ci, &env);
    let (result, cause, exit) = match stop {
        Stop::Invalid(problems) => {
            ui.problems(&problems);
            let first = problems
                .iter()
                .find(|p| p.is_error())
                .or(problems.first())
                .map(|p| match &p.origin {
                    Some(_) => format!("{} ({})", p.message, p.file_name),
                    None => p.message.clone(),
                })
                .unwrap_or_else(|| "invalid input".into());
            (Verdict::Invalid, first, Exit::Invalid)
        }
        Stop::CouldNot(message) => {
            stderr(&format!("could not evaluate: {message}\n"));
            (Verdict::Error, message, Exit::CouldNotEvaluate)
        }
    };
    if let Err(p) = emit::stopped(result, &cause, output.report_dir.as_deref(), ci, &env) {
        ui.problems(&[p]);
    }
    exit
}

pub(crate) fn usage(message: impl Into<String>, help: &str) -> Vec<Problem> {
    vec![Problem::file("slogate::usage", "command line", message).help(help.to_string())]
}

pub(crate) fn run(job: Job, ui: &Ui, clock: &dyn Clock) -> Exit {
    match evaluate(&job, ui, clock) {
        Ok(exit) => exit,
        Err(s) => stop(ui, job.output, s),
    }
}

impl From<Vec<Problem>> for Stop {
    fn from(problems: Vec<Problem>) -> Self {
        Stop::Invalid(problems)
    }
}

pub(crate) enum Stop {
    Invalid(Vec<Problem>),
    CouldNot(String),
}

fn dashboard_stop(s: crate::dashboard::engine::Stopped, inputs: &inputs::Inputs) -> Stop {
    use crate::dashboard::engine::Stopped;
    match s {
        Stopped::Invalid(p) => Stop::Invalid(vec![p]),
        Stopped::CouldNot(m) => Stop::CouldNot(m),
        Stopped::Fatal(f @ crate::source::Fatal::Auth { .. }) => {
            Stop::CouldNot(inputs::fatal_message(&f, &inputs.conn))
        }
        Stopped::Fatal(crate::source::Fatal::MissingToken(m)) => {
            Stop::Invalid(usage(m, "see docs/token-scopes.md"))
        }
    }
}

/// The steps, in order; each takes what the earlier ones produced.
pub(crate) fn evaluate(job: &Job, ui: &Ui, clock: &dyn Clock) -> Result<Exit, Stop> {
    let (reports, inputs, side_effects) = evaluated(job, ui, clock)?;
    publish::finish(&reports, &inputs, job.output, &side_effects)
}

/// The reports of one environment, for a fleet (`crate::fleet`), which renders them itself.
pub(crate) fn reports(
    job: &Job,
    ui: &Ui,
    clock: &dyn Clock,
) -> Result<Vec<crate::report::Report>, Stop> {
    evaluated(job, ui, clock).map(|(reports, _, _)| reports)
}

/// Every step but the last: the reports, before they are rendered and decide the exit code.
fn evaluated(
    job: &Job,
    ui: &Ui,
    clock: &dyn Clock,
) -> Result<(Vec<crate::report::Report>, inputs::Inputs, Vec<String>), Stop> {
    let mut inputs = inputs::gather(job, ui)?;
    let rt = crate::shell::run_runtime()?;
    // Dashboard mode: the dashboard and its scoring settings, before earlier verdicts are read.
    rt.block_on(crate::dashboard::engine::load(
        &mut inputs.plans,
        &inputs.client,
    ))
    .map_err(|s| dashboard_stop(s, &inputs))?;
    let mut earlier = earlier::open(job, &inputs, ui)?;
    let scopes = needed_scopes(job, &inputs.plans, earlier.dynatrace);
    // A historic window that has settled needs no wait and no lookup before the fetch: the
    // token check then runs beside the fetch (one round trip in all) and still decides first.
    // Publishing the dashboard needs its scopes checked before any metric is fetched.
    let nothing_before_fetch = matches!(&job.when, When::Fixed(w) if w.to + inputs.settle <= clock.now())
        && !(earlier.dynatrace && job.baseline == BaselineMode::History)
        && job.dashboard.is_none();
    let checked = if nothing_before_fetch {
        None
    } else {
        Some(rt.block_on(inputs::check_token(&inputs, &scopes))?)
    };
    let mut previous = rt.block_on(earlier::verdicts(
        &inputs,
        &earlier,
        job.pinned,
        ui,
        clock.now(),
    ))?;
    let found = windows::of(job, &inputs.plans, &inputs.client, &rt, clock)?;
    // A service without a deployment event leaves the run with an `error` report of its own.
    let (mut windows, unanchored) = windows::anchored(found, &mut inputs.plans, &mut previous)?;
    // A canary gate compares with its control over the evaluation window itself.
    if job.control.is_some() {
        for w in &mut windows {
            w.baseline = Some(w.eval);
        }
    }
    let waited = windows::wait(job, &windows, inputs.settle, clock)?;
    // Dashboard mode: the tiles become the plan's SLIs and objectives for the evaluation window.
    let evals: Vec<_> = windows.iter().map(|w| w.eval.as_query_window()).collect();
    rt.block_on(crate::dashboard::engine::expand(
        &mut inputs.plans,
        &inputs.client,
        &evals,
    ))
    .map_err(|s| dashboard_stop(s, &inputs))?;
    // The Dynatrace history is the verdict events: recording there means pushing.
    let pushes = job.output.push_result || (earlier.dynatrace && job.record);
    let fetched = fetch::everything(job, &inputs, &windows, &scopes, checked, pushes, &rt)?;
    let mut reports = score::reports(job, &inputs, &windows, &fetched, &previous, waited)?;
    context::apply(&inputs, &windows, fetched.context, &mut reports);
    let side_effects =
        publish::side_effects(job, &inputs, &mut earlier, pushes, &mut reports, &rt, clock);
    score::unanchored(job, &inputs, unanchored, &mut reports);
    Ok((reports, inputs, side_effects))
}
