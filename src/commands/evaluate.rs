//! `slogate eval` and `slogate gate`: fetch the SLIs of the selected services for a window (and,
//! for "before vs after", the window before the deployment), score them, and report.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, TimeZone, Utc};
use futures_util::future::join_all;

use crate::ci::{self, CiKind};
use crate::cli::{BaselineArg, EvalArgs, GateArgs, OutputArgs, SelectArgs, SourceArgs};
use crate::clock::{Clock, SystemClock};
use crate::commands::emit;
use crate::commands::{Exit, Ui, stderr};
use crate::diag::Problem;
use crate::eval::{self, BaselineKind, MissingBaseline, Retrieval, Verdict, previous};
use crate::event;
use crate::history::{self, HistoryLocation};
use crate::input;
use crate::plan::{self, Plan};
use crate::report::json::{DeploymentInfo, Series, WindowInfo};
use crate::report::{Report, json};
use crate::shell::{ci_kind, client_for, environment, runtime, selectors};
use crate::source::dynatrace::{self, Failure, Fatal, Fetched};
use crate::source::events::{self, EventError};
use crate::source::http::{Client, SendError};
use crate::source::preflight;
use crate::spec::criteria::Criterion;
use crate::spec::load;
use crate::window::{self, TimeWindow};

/// Which window is evaluated.
enum When {
    Fixed(TimeWindow),
    /// The given length, ending now.
    EndingNow(Duration),
    /// After a deployment: found in Dynatrace (`lookback`) or given.
    Anchored {
        deployment: Option<DateTime<Utc>>,
        lookback: Duration,
        delay: Duration,
        length: Duration,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BaselineMode {
    History,
    Window,
}

struct Job<'a> {
    /// Store the evaluation in the history.
    record: bool,
    select: &'a SelectArgs,
    source: &'a SourceArgs,
    output: &'a OutputArgs,
    when: When,
    /// `--wait`: the longest slogate may wait for the window to complete.
    wait: Option<Duration>,
    baseline: BaselineMode,
}

pub fn run_eval(args: &EvalArgs, ui: &Ui) -> Exit {
    let clock = SystemClock;
    let when = match window::resolve(
        args.from.as_deref(),
        args.to.as_deref(),
        args.timeframe.as_deref(),
        clock.now(),
    ) {
        Ok(w) => When::Fixed(w),
        Err(m) => {
            return invalid(
                ui,
                &args.output,
                m,
                "e.g. --from 2026-11-17T10:00:00Z --to 2026-11-17T11:00:00Z, or --timeframe 30m",
            );
        }
    };
    let job = Job {
        record: args.record,
        select: &args.select,
        source: &args.source,
        output: &args.output,
        when,
        wait: None,
        baseline: BaselineMode::History,
    };
    run(job, ui, &clock)
}

pub fn run_gate(args: &GateArgs, ui: &Ui) -> Exit {
    let clock = SystemClock;
    let parse = |s: &str, flag: &str| {
        window::parse_duration(s).map_err(|m| (m, format!("e.g. --{flag} 30m")))
    };
    let durations = (|| {
        let length = parse(&args.timeframe, "timeframe")?;
        let delay = parse(&args.delay, "delay")?;
        let lookback = parse(&args.lookback, "lookback")?;
        let wait = args.wait.as_deref().map(|w| parse(w, "wait")).transpose()?;
        Ok::<_, (String, String)>((length, delay, lookback, wait))
    })();
    let (length, delay, lookback, wait) = match durations {
        Ok(d) => d,
        Err((m, h)) => return invalid(ui, &args.output, m, &h),
    };
    if length <= Duration::zero() {
        return invalid(
            ui,
            &args.output,
            "--timeframe must be longer than 0".into(),
            "e.g. --timeframe 30m",
        );
    }
    let deployment = match &args.deployment_time {
        Some(t) => match window::parse_time(t, clock.now()) {
            Ok(t) => Some(t),
            Err(m) => {
                return invalid(
                    ui,
                    &args.output,
                    m,
                    "e.g. --deployment-time 2026-11-17T10:00:00Z",
                );
            }
        },
        None => None,
    };
    let anchored = args.since_deployment || deployment.is_some();
    let when = if anchored {
        When::Anchored {
            deployment,
            lookback,
            delay,
            length,
        }
    } else {
        When::EndingNow(length)
    };
    let baseline = match args.baseline {
        Some(BaselineArg::Window) => BaselineMode::Window,
        Some(BaselineArg::History) => BaselineMode::History,
        None if anchored => BaselineMode::Window,
        None => BaselineMode::History,
    };
    let job = Job {
        record: true,
        select: &args.select,
        source: &args.source,
        output: &args.output,
        when,
        wait,
        baseline,
    };
    run(job, ui, &clock)
}

fn invalid(ui: &Ui, output: &OutputArgs, message: String, help: &str) -> Exit {
    stop(ui, output, Stop::Invalid(usage(message, help)))
}

/// A run that ends before any report: the diagnostics or the cause on stderr, and the outcome
/// (`invalid` or `error`) in the CI's variables with one annotation naming the reason.
fn stop(ui: &Ui, output: &OutputArgs, stop: Stop) -> Exit {
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

fn usage(message: impl Into<String>, help: &str) -> Vec<Problem> {
    vec![Problem::file("slogate::usage", "command line", message).help(help.to_string())]
}

fn run(job: Job, ui: &Ui, clock: &dyn Clock) -> Exit {
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

/// The windows of one service.
struct Windows {
    eval: TimeWindow,
    baseline: Option<TimeWindow>,
    deployment: Option<DeploymentInfo>,
}

/// What a service's evaluation fetched.
struct Fetch {
    values: Vec<Fetched>,
    baseline: Option<Vec<Fetched>>,
    series: Vec<Series>,
}

fn evaluate(job: &Job, ui: &Ui, clock: &dyn Clock) -> Result<Exit, Stop> {
    let source = job.source;
    let output = job.output;
    let settle =
        window::parse_duration(&source.settle).map_err(|m| usage(m, "e.g. --settle 120s"))?;
    let request_timeout = window::parse_duration(&source.request_timeout)
        .map_err(|m| usage(m, "e.g. --request-timeout 30s"))?
        .to_std()
        .unwrap_or(StdDuration::from_secs(30));
    if source.concurrency == 0 {
        return Err(Stop::Invalid(usage(
            "--concurrency must be at least 1",
            "e.g. --concurrency 8",
        )));
    }
    let env = environment();
    let plans = resolve_all(job.select, &env)?;
    let mut findings: Vec<Problem> = plans
        .iter()
        .flat_map(|p| p.findings.iter().cloned())
        .collect();
    dedupe(&mut findings);
    // An error in a file stops here, before anything is fetched: no verdict from a broken SLO.
    if findings.iter().any(Problem::is_error) {
        return Err(Stop::Invalid(findings));
    }
    ui.problems(&findings);
    let previous_files = read_previous(&output.previous)?;
    let ci = ci_kind(output.ci, &env);
    emit::check_format(output, plans.len())?;
    let mut conn = plan::connection(&plans[0].settings, &env).map_err(|p| vec![p])?;
    if let Some(t) = &conn.token {
        let (t, changed) = preflight::trimmed(t);
        if changed {
            stderr(&format!(
                "warning: the token in {} has spaces or a line break around it; slogate ignores them (store the secret without them)\n",
                conn.token_env
            ));
        }
        conn.token = Some(t);
    }
    let needs_api_token = matches!(
        job.when,
        When::Anchored {
            deployment: None,
            ..
        }
    ) || output.push_result
        || plans.iter().flat_map(|p| &p.slis).any(|s| {
            s.parsed
                .as_ref()
                .is_ok_and(|q| !matches!(q, crate::query::SliQuery::Dql { .. }))
        });
    if conn.token.is_none() && needs_api_token {
        return Err(Stop::Invalid(usage(
            format!(
                "no Dynatrace API token: the environment variable {} is not set",
                conn.token_env
            ),
            "store the token as a secret and expose it as that variable; see docs/token-scopes.md for the scopes",
        )));
    }
    let client = client_for(&conn, request_timeout, source.concurrency)
        .map_err(|m| Stop::Invalid(usage(m, "this is a bug if it happens")))?;
    let rt = runtime()?;

    // Earlier verdicts: from --previous files, else from the history when relative criteria need
    // them. A history that cannot be opened stops here (exit 3), before anything is fetched.
    let location = history::resolve_path(
        output.history.as_deref(),
        &env,
        plans[0].settings.history.as_ref().map(|h| h.value.as_str()),
        &job.select.config,
    );
    let dynatrace_history = matches!(location, HistoryLocation::Dynatrace);
    let reads_history = job.baseline == BaselineMode::History && previous_files.is_empty();
    let mut store = None;
    if !dynatrace_history
        && (job.record || (reads_history && location.path().is_some_and(Path::exists)))
    {
        match location.open() {
            Some(Ok(s)) => store = Some(s),
            Some(Err(e)) => {
                ui.problems(&[e.problem()]);
                return Err(Stop::CouldNot(format!(
                    "the history store cannot be used: {}",
                    e.problem().message
                )));
            }
            None => {}
        }
    }
    // URL, token and scopes, before any wait: a wrong one ends the run in seconds.
    let dynatrace_history_planned = matches!(
        history::resolve_path(
            output.history.as_deref(),
            &env,
            plans[0].settings.history.as_ref().map(|h| h.value.as_str()),
            &job.select.config,
        ),
        HistoryLocation::Dynatrace
    );
    let scopes = needed_scopes(job, &plans, dynatrace_history_planned);
    let preflight = || async {
        match &conn.token {
            Some(token) if !scopes.is_empty() => {
                preflight::check(&client, token, &conn.token_env, &conn.url, &scopes)
                    .await
                    .map_err(|r| Stop::CouldNot(r.message().to_string()))
            }
            _ => Ok(preflight::Checked::default()),
        }
    };
    // A historic window that has settled needs no wait and no lookup before the fetch: the
    // check then runs beside the fetch (one round trip in all) and still decides first.
    let nothing_before_fetch = matches!(&job.when, When::Fixed(w) if w.to + settle <= clock.now())
        && !(dynatrace_history_planned && job.baseline == BaselineMode::History);
    let checked = if nothing_before_fetch {
        None
    } else {
        Some(rt.block_on(preflight())?)
    };

    let previous_by_plan: Vec<Vec<previous::PreviousEvaluation>> = if !reads_history {
        plans.iter().map(|_| previous_files.clone()).collect()
    } else if dynatrace_history {
        match rt.block_on(verdicts_from_dynatrace(&client, &plans, clock.now())) {
            Ok(v) => v,
            Err(message) => {
                return Err(Stop::CouldNot(format!(
                    "reading earlier verdicts from Dynatrace: {message}"
                )));
            }
        }
    } else {
        let mut all = Vec::new();
        for p in &plans {
            let found = match &store {
                Some(s) => s.previous(
                    p.project.as_deref().unwrap_or(""),
                    p.stage.as_deref().unwrap_or(""),
                    p.service.as_deref().unwrap_or(""),
                    &p.slo.effective_comparison(),
                ),
                None => Ok(Vec::new()),
            };
            match found {
                Ok(f) => all.push(f),
                Err(e) => {
                    ui.problems(&[e.problem()]);
                    return Err(Stop::CouldNot(format!(
                        "the history store cannot be read: {}",
                        e.problem().message
                    )));
                }
            }
        }
        all
    };

    // The windows of every service; anchoring may ask Dynatrace for the deployment.
    let windows = windows(job, &plans, &client, &rt, clock.now())?;

    // Wait until every evaluation window is complete and settled, visibly; never evaluate early.
    let last_end = windows
        .iter()
        .map(|w| w.eval.to)
        .max()
        .unwrap_or_else(|| clock.now());
    let now = clock.now();
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

    let charts = emit::wants_charts(output);
    let started = Instant::now();
    let (fetched, checked) = rt.block_on(async {
        let check = async {
            match checked {
                Some(c) => Ok(c),
                None => preflight().await,
            }
        };
        // Units where the query does not state them, from the descriptors: asked along with the
        // chart series (a report folder or HTML), so a plain gate sends no extra request.
        let units = async {
            if conn.token.is_none() || !charts {
                return BTreeMap::new();
            }
            let selectors: Vec<String> = plans
                .iter()
                .flat_map(|p| &p.slis)
                .filter_map(|s| s.parsed.as_ref().ok())
                .filter(|q| crate::query::stated_unit(q).is_none())
                .filter_map(metric_selector_of)
                .collect();
            dynatrace::units(&client, &selectors).await
        };
        let (fetched, checked, units) =
            tokio::join!(fetch_all(&client, &plans, &windows, charts), check, units);
        ((fetched, units), checked)
    });
    let (fetched, units) = fetched;
    // The check's verdict on URL and token comes before whatever the data requests met.
    let checked = checked?;
    let pushes = output.push_result || (dynatrace_history_planned && job.record);
    if pushes && !checked.allows(preflight::EVENTS_INGEST) {
        stderr(&format!(
            "warning: the token in {} lacks events.ingest: the verdict will be evaluated but cannot be sent to Dynatrace\n",
            conn.token_env
        ));
    }
    let fetched = match fetched {
        Ok(f) => f,
        Err(fatal @ Fatal::Auth { .. }) => {
            return Err(Stop::CouldNot(fatal_message(&fatal, &conn)));
        }
        Err(Fatal::MissingToken(m)) => {
            return Err(Stop::Invalid(usage(m, "see docs/token-scopes.md")));
        }
    };
    let fetch_millis = started.elapsed().as_millis() as u64;

    // "No such service" or "no traffic"? Asked only when a query returned no series at all.
    let diagnoses = if conn.token.is_some() && checked.allows(preflight::ENTITIES) {
        rt.block_on(diagnose_empty(&client, &plans, &windows, &fetched))
    } else {
        plans.iter().map(|_| BTreeMap::new()).collect()
    };

    let pipeline = ci.map(|k| ci::pipeline(k, &env));
    let mut reports: Vec<Report> = plans
        .iter()
        .zip(&windows)
        .zip(&fetched)
        .zip(&previous_by_plan)
        .zip(&diagnoses)
        .map(|((((plan, w), f), prev), diagnosis)| {
            let mut r = build_report(
                plan,
                w,
                settle,
                waited,
                f,
                diagnosis,
                &units,
                prev,
                output,
                job.baseline,
                &client,
                &conn.url,
                fetch_millis,
            );
            r.pipeline = pipeline.clone();
            r
        })
        .collect();

    // An SLO that Keptn's scoring itself refuses (e.g. a `total_score` that does not parse) gives
    // no verdict either: stop as for any invalid input, with no report.
    if let Some(r) = reports
        .iter()
        .find(|r| r.evaluation.result == Verdict::Invalid)
    {
        return Err(Stop::Invalid(vec![
            Problem::file(
                "slogate::not-scorable",
                &r.slo.files.join(", "),
                r.evaluation
                    .invalid_input
                    .clone()
                    .unwrap_or_else(|| r.evaluation.message.clone()),
            )
            .help("fix the SLO file; `slogate lint` shows where"),
        ]));
    }

    // Side effects (pushing the verdict, recording it) never change the outcome: a failure is
    // reported on stderr and as a CI warning, and a fail still exits 1.
    let mut side_effects: Vec<String> = Vec::new();
    // The Dynatrace history is the verdict events: recording there means pushing.
    let push = output.push_result || (dynatrace_history && job.record);
    if push && let Err(message) = push_results(&rt, &client, &plans, &mut reports, ci, &env) {
        side_effects.push(format!(
            "could not send the verdict to Dynatrace: {message}"
        ));
    }
    // A run that could not evaluate is no baseline for later runs.
    if let Some(store) = store.as_mut()
        && job.record
    {
        for r in reports
            .iter()
            .filter(|r| r.evaluation.result != Verdict::Error)
        {
            if let Err(e) = store.record(r, clock.now()) {
                side_effects.push(format!(
                    "could not record the verdict in the history: {}",
                    e.problem().message
                ));
                break;
            }
        }
    }
    for s in &side_effects {
        stderr(&format!("warning: {s}\n"));
    }

    emit::emit(&reports, output, ci, &env, &side_effects).map_err(|p| vec![p])?;

    for r in reports
        .iter()
        .filter(|r| r.evaluation.result == Verdict::Error)
    {
        let who = r
            .service
            .as_deref()
            .map(|s| format!("{s}: "))
            .unwrap_or_default();
        stderr(&format!(
            "could not evaluate: {who}{}\n",
            r.evaluation.error.as_deref().unwrap_or("")
        ));
    }
    // The worst outcome across services decides.
    let worst =
        Verdict::worst(reports.iter().map(|r| r.evaluation.result)).unwrap_or(Verdict::Error);
    Ok(Exit::of(worst, output.fail_on))
}

enum Stop {
    Invalid(Vec<Problem>),
    CouldNot(String),
}

fn human(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", (s + 59) / 60),
        7200..=172_799 => format!("{:.1} h", s as f64 / 3600.0),
        _ => format!("{} d", (s + 43_199) / 86_400),
    }
}

fn windows(
    job: &Job,
    plans: &[Plan],
    client: &Client,
    rt: &tokio::runtime::Runtime,
    now: DateTime<Utc>,
) -> Result<Vec<Windows>, Stop> {
    let invalid = |m: String, h: &str| Stop::Invalid(usage(m, h));
    let before = |w: &TimeWindow| TimeWindow::new(w.from - w.length(), w.from).ok();
    match &job.when {
        When::Fixed(w) => {
            if job.baseline == BaselineMode::Window {
                return Err(invalid(
                    "--baseline window needs a deployment".into(),
                    "use gate --since-deployment or --deployment-time",
                ));
            }
            Ok(plans
                .iter()
                .map(|_| Windows {
                    eval: *w,
                    baseline: None,
                    deployment: None,
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
                .map(|_| Windows {
                    eval: w,
                    baseline,
                    deployment: None,
                })
                .collect())
        }
        When::Anchored {
            deployment,
            lookback,
            delay,
            length,
        } => {
            let found: Vec<DeploymentInfo> = match deployment {
                Some(t) => plans
                    .iter()
                    .map(|_| DeploymentInfo {
                        time: window::rfc3339(*t),
                        source: "flag".into(),
                        event_id: None,
                        title: None,
                        version: None,
                    })
                    .collect(),
                None => rt.block_on(find_deployments(client, plans, now, *lookback))?,
            };
            found
                .into_iter()
                .map(|d| {
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
                    Ok(Windows {
                        eval,
                        baseline,
                        deployment: Some(d),
                    })
                })
                .collect()
        }
    }
}

/// The latest CUSTOM_DEPLOYMENT event of each service.
async fn find_deployments(
    client: &Client,
    plans: &[Plan],
    now: DateTime<Utc>,
    lookback: Duration,
) -> Result<Vec<DeploymentInfo>, Stop> {
    let targets: Vec<String> = plans
        .iter()
        .map(service_selector)
        .collect::<Result<_, _>>()
        .map_err(|m| Stop::Invalid(usage(m, "pass --service (and --stage, --project)")))?;
    let from = (now - lookback).timestamp_millis();
    let to = now.timestamp_millis();
    let results = join_all(
        targets
            .iter()
            .map(|sel| events::find(client, "CUSTOM_DEPLOYMENT", sel, from, to)),
    )
    .await;
    let mut out = Vec::new();
    for (sel, r) in targets.iter().zip(results) {
        let found = r.map_err(|e| Stop::CouldNot(event_error(&e, "events.read")))?;
        // An event without a usable start time anchors nothing: never a 1970 window, never "now".
        for e in found.iter().filter(|e| e.start_ms.is_none()) {
            stderr(&format!(
                "warning: skipped deployment event {} for {sel}: it has no usable startTime\n",
                e.event_id
            ));
        }
        let latest = events::latest(&found);
        let Some((latest, t)) = latest.and_then(|e| {
            let t = Utc.timestamp_millis_opt(e.start_ms?).single()?;
            Some((e, t))
        }) else {
            return Err(Stop::CouldNot(format!(
                "no deployment found: no CUSTOM_DEPLOYMENT event with a usable start time for {sel} in the last {}; mark deployments with `slogate mark`, or pass --deployment-time",
                human(lookback)
            )));
        };
        out.push(DeploymentInfo {
            time: window::rfc3339(t),
            source: "event".into(),
            event_id: Some(latest.event_id.clone()),
            title: Some(latest.title.clone()).filter(|t| !t.is_empty()),
            version: latest
                .property("dt.event.deployment.version")
                .map(str::to_string),
        });
    }
    Ok(out)
}

fn event_error(e: &EventError, scope: &str) -> String {
    match e {
        EventError::Send(SendError::Auth { status, message }) => {
            format!("Dynatrace refused the token ({status}): {message}; it needs the scope {scope}")
        }
        other => other.to_string(),
    }
}

/// Values, baseline values and chart series of every service, all at once.
async fn fetch_all(
    client: &Client,
    plans: &[Plan],
    windows: &[Windows],
    charts: bool,
) -> Result<Vec<Fetch>, Fatal> {
    let jobs = plans.iter().zip(windows).map(|(plan, w)| async move {
        let values = dynatrace::fetch(client, &plan.slis, w.eval.as_query_window());
        let baseline = async {
            match &w.baseline {
                Some(b) => dynatrace::fetch(client, &plan.slis, b.as_query_window())
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        let series = async {
            if !charts {
                return Ok(Vec::new());
            }
            let from = w.baseline.map(|b| b.from).unwrap_or(w.eval.from);
            let span = TimeWindow {
                from,
                to: w.eval.to,
            }
            .as_query_window();
            let res = dynatrace::chart_resolution(span);
            Ok(dynatrace::fetch_series(client, &plan.slis, span, &res)
                .await?
                .into_iter()
                .flatten()
                .collect())
        };
        let (values, baseline, series) = tokio::join!(values, baseline, series);
        Ok::<Fetch, Fatal>(Fetch {
            values: values?,
            baseline: baseline?,
            series: series?,
        })
    });
    join_all(jobs).await.into_iter().collect()
}

/// The entity selector of a plan's service, from slogate.yaml's template (Keptn's tags by default).
fn service_selector(p: &Plan) -> Result<String, String> {
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

/// Earlier verdicts of each service from the CUSTOM_INFO events `--push-result` wrote, newest
/// first, selected as Keptn would.
async fn verdicts_from_dynatrace(
    client: &Client,
    plans: &[Plan],
    now: DateTime<Utc>,
) -> Result<Vec<Vec<previous::PreviousEvaluation>>, String> {
    const LOOKBACK_DAYS: i64 = 30;
    let from = (now - Duration::days(LOOKBACK_DAYS)).timestamp_millis();
    let jobs = plans.iter().map(|p| async move {
        let selector = service_selector(p)?;
        let found = events::find(
            client,
            "CUSTOM_INFO",
            &selector,
            from,
            now.timestamp_millis(),
        )
        .await
        .map_err(|e| event_error(&e, "events.read"))?;
        let mut verdicts: Vec<(String, previous::PreviousEvaluation)> = found
            .iter()
            .filter(|e| {
                e.property("slogate.result").is_some()
                    && e.property("slogate.project") == p.project.as_deref()
                    && e.property("slogate.stage") == p.stage.as_deref()
                    && e.property("slogate.service") == p.service.as_deref()
            })
            .filter_map(|e| {
                let end = e
                    .property("slogate.time_end")
                    .unwrap_or_default()
                    .to_string();
                event::verdict_from_properties(&e.event_id, &e.properties).map(|v| (end, v))
            })
            .collect();
        // Newest first by window end (RFC 3339 in UTC sorts as text).
        verdicts.sort_by(|a, b| b.0.cmp(&a.0));
        let all: Vec<previous::PreviousEvaluation> = verdicts.into_iter().map(|(_, v)| v).collect();
        Ok::<_, String>(
            previous::select(&all, &p.slo.effective_comparison())
                .into_iter()
                .cloned()
                .collect(),
        )
    });
    join_all(jobs).await.into_iter().collect()
}

/// Sends one CUSTOM_INFO event per service with its verdict.
fn push_results(
    rt: &tokio::runtime::Runtime,
    client: &Client,
    plans: &[Plan],
    reports: &mut [Report],
    ci: Option<CiKind>,
    env: &BTreeMap<String, String>,
) -> Result<(), String> {
    let run_url = ci.and_then(|k| ci::run_url(k, env));
    let mut bodies = Vec::new();
    for (plan, report) in plans.iter().zip(reports.iter()) {
        let selector = service_selector(plan)?;
        bodies.push(event::verdict_payload(
            &selector,
            report,
            run_url.as_deref(),
        ));
    }
    let results = rt.block_on(join_all(bodies.iter().map(|b| events::ingest(client, b))));
    for (report, r) in reports.iter_mut().zip(results) {
        match r {
            Ok(rs) if rs.is_empty() => {
                return Err(format!("no entity matched {}", bodies[0]["entitySelector"]));
            }
            Ok(rs) => report.result_event = rs.first().map(|r| r.correlation_id.clone()),
            Err(e) => return Err(event_error(&e, "events.ingest")),
        }
    }
    Ok(())
}

/// One plan per selected service (`--service` repeated), or one for the default.
fn resolve_all(
    select: &SelectArgs,
    env: &BTreeMap<String, String>,
) -> Result<Vec<Plan>, Vec<Problem>> {
    if select.service.is_empty() {
        return Ok(vec![plan::resolve(select, None, env)?]);
    }
    let mut plans = Vec::new();
    let mut problems = Vec::new();
    for service in &select.service {
        match plan::resolve(select, Some(service), env) {
            Ok(p) => plans.push(p),
            Err(p) => problems.extend(p),
        }
    }
    if problems.iter().any(Problem::is_error) {
        dedupe(&mut problems);
        return Err(problems);
    }
    Ok(plans)
}

/// Files shared by several services would report the same finding once per service.
fn dedupe(problems: &mut Vec<Problem>) {
    let mut seen = std::collections::HashSet::new();
    problems.retain(|p| {
        seen.insert((
            p.code,
            p.file_name.clone(),
            p.origin.as_ref().map(|o| o.span.clone()),
            p.message.clone(),
        ))
    });
}

fn read_previous(
    paths: &[std::path::PathBuf],
) -> Result<Vec<previous::PreviousEvaluation>, Vec<Problem>> {
    let mut all = Vec::new();
    for path in paths {
        let (file, problems) = load::read_text(path).map_err(|p| vec![p])?;
        if problems.iter().any(Problem::is_error) {
            return Err(problems);
        }
        all.extend(input::previous(&file).map_err(|p| vec![p])?);
    }
    Ok(all)
}

/// 401/403: say which token, and which scope it lacks when Dynatrace says so.
fn fatal_message(f: &Fatal, conn: &plan::Connection) -> String {
    match f {
        Fatal::Auth { status, message } => {
            let scope = message
                .split("Use one of:")
                .nth(1)
                .map(|s| format!(" Give the token the scope{}.", s.trim_end_matches('.')))
                .unwrap_or_default();
            format!(
                "could not evaluate: Dynatrace at {} refused the token in {} ({status}): {message}.{scope} See docs/token-scopes.md.\n",
                conn.url, conn.token_env
            )
        }
        Fatal::MissingToken(m) => format!("{m}\n"),
    }
}

/// Keptn's get-sli message: indicators grouped by error, `a, b: msg1; c: msg2`.
fn retrieval(fetched: &[Fetched]) -> Retrieval {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for f in fetched.iter().filter(|f| {
        matches!(
            f.failure,
            Some(Failure::Query | Failure::Unavailable | Failure::Missing)
        )
    }) {
        match groups.iter_mut().find(|(m, _)| *m == f.value.message) {
            Some((_, names)) => names.push(&f.value.metric),
            None => groups.push((f.value.message.clone(), vec![&f.value.metric])),
        }
    }
    if groups.is_empty() {
        return Retrieval::Ok;
    }
    Retrieval::Failed(
        groups
            .iter()
            .map(|(m, n)| format!("{}: {m}", n.join(", ")))
            .collect::<Vec<_>>()
            .join("; "),
    )
}

#[allow(clippy::too_many_arguments)]
fn build_report(
    plan: &Plan,
    w: &Windows,
    settle: Duration,
    waited: Duration,
    fetched: &Fetch,
    diagnosis: &BTreeMap<String, Diagnosis>,
    units: &BTreeMap<String, String>,
    previous_evaluations: &[previous::PreviousEvaluation],
    output: &OutputArgs,
    mode: BaselineMode,
    client: &Client,
    url: &str,
    fetch_millis: u64,
) -> Report {
    let comparison = plan.slo.effective_comparison();
    let default_policy = match mode {
        BaselineMode::Window => MissingBaseline::Warn,
        BaselineMode::History => MissingBaseline::Pass,
    };
    let policy = plan::policy(output.on_missing_baseline, &plan.settings, default_policy);
    // Fetched once, scored by every objective on the SLI (Keptn asked once per objective).
    let once: Vec<eval::SliValue> = fetched.values.iter().map(|f| f.value.clone()).collect();
    let values = eval::per_objective(&plan.slo, &once);
    let retrieval = retrieval(&fetched.values);
    let mut evaluation = match (mode, &fetched.baseline, &w.baseline) {
        (BaselineMode::Window, Some(base), Some(bw)) => {
            // The window before the deployment acts as the one previous evaluation.
            let pseudo = previous::PreviousEvaluation {
                id: format!(
                    "baseline window {}/{}",
                    window::rfc3339(bw.from),
                    window::rfc3339(bw.to)
                ),
                result: "pass".into(),
                score: None,
                indicators: base.iter().map(|f| f.value.clone()).collect(),
                invalidated: false,
            };
            eval::evaluate_with(
                &plan.slo,
                &retrieval,
                &values,
                &[&pseudo],
                policy,
                BaselineKind::Window,
            )
        }
        _ => {
            let selected = previous::select(previous_evaluations, &comparison);
            eval::evaluate(&plan.slo, &retrieval, &values, &selected, policy)
        }
    };
    for r in &mut evaluation.indicator_results {
        let value = fetched
            .values
            .iter()
            .find(|f| f.value.metric == r.value.metric);
        r.query = value.and_then(|f| f.query.clone());
        r.value.query = r.query.clone();
        let parsed = plan
            .slis
            .iter()
            .find(|s| s.name == r.value.metric)
            .and_then(|s| s.parsed.as_ref().ok());
        r.unit = parsed.and_then(|q| {
            crate::query::stated_unit(q)
                .or_else(|| metric_selector_of(q).and_then(|m| units.get(&m).cloned()))
        });
        let base = fetched
            .baseline
            .iter()
            .flatten()
            .find(|f| f.value.metric == r.value.metric);
        r.error = indicator_error(r, value, base);
        match diagnosis.get(&r.value.metric) {
            Some(Diagnosis::NoEntity { selector, closest }) if r.error.is_none() => {
                let mut e = format!(
                    "no entity matches {selector}: the selection is wrong (check --service, --stage and the tags), the release is not judged"
                );
                if !closest.is_empty() {
                    e.push_str(&format!("; did you mean {}?", closest.join(" or ")));
                }
                r.error = Some(e);
            }
            Some(Diagnosis::NoData) => r
                .notes
                .push("the entity exists but sent no data in the window (no traffic?)".into()),
            _ => {}
        }
        if r.error.is_none()
            && let Some(b) = base
            && !b.value.success
        {
            r.notes.push(format!(
                "the baseline window had no value: {}",
                b.value.message
            ));
        }
    }
    let errored: Vec<&eval::IndicatorResult> = evaluation
        .indicator_results
        .iter()
        .filter(|r| r.error.is_some())
        .collect();
    if let Some(first) = errored.first()
        && evaluation.invalid_input.is_none()
    {
        evaluation.error = Some(format!(
            "{} of {} objectives could not be evaluated ({url}); {}: {}",
            errored.len(),
            evaluation.indicator_results.len(),
            first.value.metric,
            first.error.as_deref().unwrap_or_default()
        ));
        evaluation.result = Verdict::Error;
    }
    use std::sync::atomic::Ordering;
    Report {
        id: Some(json::new_id()),
        report_version: json::REPORT_VERSION,
        tool: json::Tool::current(),
        project: plan.project.clone(),
        stage: plan.stage.clone(),
        service: plan.service.clone(),
        labels: plan.labels.clone(),
        time_start: Some(window::rfc3339(w.eval.from)),
        time_end: Some(window::rfc3339(w.eval.to)),
        slo: json::SloInfo {
            files: plan.slo_files.clone(),
            hash: plan.slo.hash(),
            comparison,
            pass_threshold: plan
                .slo
                .total_score
                .as_ref()
                .and_then(|t| t.pass.as_ref())
                .map(|p| p.value.clone()),
            warning_threshold: plan
                .slo
                .total_score
                .as_ref()
                .and_then(|t| t.warning.as_ref())
                .map(|w| w.value.clone()),
        },
        policy: json::Policy {
            on_missing_baseline: policy,
        },
        source: Some(json::SourceInfo {
            kind: "dynatrace".into(),
            url: url.to_string(),
            requests: client.stats.requests.load(Ordering::Relaxed),
            retries: client.stats.retries.load(Ordering::Relaxed),
            fetch_millis,
        }),
        settle: Some(json::SettleInfo {
            seconds: settle.num_seconds(),
            waited_seconds: (waited.num_milliseconds().max(0) + 999) / 1000,
        }),
        deployment: w.deployment.clone(),
        baseline_window: w.baseline.map(|b| WindowInfo {
            time_start: window::rfc3339(b.from),
            time_end: window::rfc3339(b.to),
        }),
        pipeline: None,
        series: fetched.series.clone(),
        result_event: None,
        evaluation,
    }
}

/// The classic token scopes this run will use (none when it sends no classic request).
fn needed_scopes(job: &Job, plans: &[Plan], dynatrace_history: bool) -> Vec<&'static str> {
    use crate::query::SliQuery;
    let mut out: Vec<&'static str> = Vec::new();
    let mut add = |s: &'static str| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    for q in plans
        .iter()
        .flat_map(|p| &p.slis)
        .filter_map(|s| s.parsed.as_ref().ok())
    {
        match q {
            SliQuery::Metrics(_) | SliQuery::Mv2 { .. } => add(preflight::METRICS),
            SliQuery::Slo { .. } => add("slo.read"),
            SliQuery::Problems { .. } => add("problems.read"),
            SliQuery::SecurityProblems { .. } => add("securityProblems.read"),
            SliQuery::Usql { .. } => add("DTAQLAccess"),
            SliQuery::Dql { .. } => {}
        }
    }
    let finds_deployment = matches!(
        job.when,
        When::Anchored {
            deployment: None,
            ..
        }
    );
    let reads_verdicts = dynatrace_history && job.baseline == BaselineMode::History;
    if finds_deployment || reads_verdicts {
        add(preflight::EVENTS_READ);
    }
    // Pushing the verdict is a side effect: a token without events.ingest is warned about
    // (see `evaluate`), never a reason to withhold the verdict.
    out
}

/// The metric selector of a metrics query (the plain, MV2 and legacy forms).
fn metric_selector_of(q: &crate::query::SliQuery) -> Option<String> {
    use crate::query::SliQuery;
    match q {
        SliQuery::Metrics(m) | SliQuery::Mv2 { metrics: m, .. } => Some(m.metric_selector.clone()),
        _ => None,
    }
}

/// What the entities API said about an SLI whose query returned no series.
enum Diagnosis {
    /// Nothing matches the selector: a wrong selection, not a verdict.
    NoEntity {
        selector: String,
        closest: Vec<String>,
    },
    /// The entity exists; it sent no data in the window.
    NoData,
}

/// For each plan, the SLIs whose metric query returned no series, with what the entities API
/// says about their entity selector (one request per distinct selector, concurrently).
async fn diagnose_empty(
    client: &Client,
    plans: &[Plan],
    windows: &[Windows],
    fetched: &[Fetch],
) -> Vec<BTreeMap<String, Diagnosis>> {
    use crate::query::SliQuery;
    use crate::source::entities::{self, Matched};
    let jobs = plans
        .iter()
        .zip(windows)
        .zip(fetched)
        .map(|((plan, w), f)| async move {
            let mut asked: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for v in &f.values {
                let empty = v.failure == Some(Failure::NoData)
                    && v.value.message.contains("returned zero metric series");
                let sli = plan.slis.iter().find(|s| s.name == v.value.metric);
                let selector = sli.and_then(|s| match &s.parsed {
                    Ok(SliQuery::Metrics(m) | SliQuery::Mv2 { metrics: m, .. }) => {
                        m.entity_selector.clone()
                    }
                    _ => None,
                });
                if let (true, Some(sel)) = (empty, selector) {
                    asked.entry(sel).or_default().push(v.value.metric.clone());
                }
            }
            let q = w.eval.as_query_window();
            let answers = join_all(asked.keys().map(|sel| {
                entities::matched(client, sel, plan.service.as_deref(), q.from_ms, q.to_ms)
            }))
            .await;
            let mut out = BTreeMap::new();
            for ((sel, names), answer) in asked.iter().zip(answers) {
                for name in names {
                    let d = match &answer {
                        Matched::Some => Diagnosis::NoData,
                        Matched::None { closest } => Diagnosis::NoEntity {
                            selector: sel.clone(),
                            closest: closest.clone(),
                        },
                        Matched::Unknown => continue,
                    };
                    out.insert(name.clone(), d);
                }
            }
            out
        });
    join_all(jobs).await
}

/// Why an objective could not be evaluated: its value, or (for a relative criterion) its
/// baseline, could not be fetched. `None` when both are there or simply had no data.
fn indicator_error(
    r: &eval::IndicatorResult,
    value: Option<&Fetched>,
    base: Option<&Fetched>,
) -> Option<String> {
    let unavailable =
        |f: &Fetched| matches!(f.failure, Some(Failure::Unavailable | Failure::Missing));
    if let Some(v) = value.filter(|f| unavailable(f)) {
        return Some(v.value.message.clone());
    }
    let relative = r
        .pass_targets
        .iter()
        .chain(&r.warning_targets)
        .flatten()
        .any(|t| Criterion::parse(&t.criteria).is_ok_and(|c| c.is_relative()));
    base.filter(|b| relative && unavailable(b)).map(|b| {
        format!(
            "the baseline window could not be fetched: {}",
            b.value.message
        )
    })
}

/// Waits for `wait`, with a countdown on a terminal and a line a minute in CI logs.
fn wait_visibly(clock: &dyn Clock, wait: Duration, end: DateTime<Utc>) {
    let total_ms = wait.num_milliseconds().max(0);
    // Whole seconds, rounded up, for the display; the sleep itself is exact.
    let total = (total_ms + 999) / 1000;
    let terminal = std::io::stderr().is_terminal();
    if clock.now() < end {
        stderr(&format!(
            "waiting {total} s for the evaluation window to end (at {}) and Dynatrace data to settle\n",
            window::rfc3339(end)
        ));
    } else {
        stderr(&format!(
            "waiting {total} s for Dynatrace data to settle (the window ends at {}; --settle changes this)\n",
            window::rfc3339(end)
        ));
    }
    let mut left_ms = total_ms;
    while left_ms > 0 {
        let left = (left_ms + 999) / 1000;
        if terminal {
            stderr(&format!("\r  {:02}:{:02} left ", left / 60, left % 60));
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
        stderr("\r              \r");
    }
}
