//! `slogate eval` and `slogate gate`: fetch the SLIs of one service for a window, score them.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use futures_util::future::join_all;

use crate::cli::{EvalArgs, GateArgs, OutputArgs, ReportFormat, SelectArgs, SourceArgs};
use crate::clock::{Clock, SystemClock};
use crate::commands::score::exit_for;
use crate::commands::{Exit, Ui, stderr, stdout};
use crate::diag::Problem;
use crate::eval::{self, Retrieval, Verdict, previous};
use crate::input;
use crate::plan::{self, Plan};
use crate::report::{self, Report, json};
use crate::source::dynatrace::{self, Failure, Fatal, Fetched};
use crate::source::http::{Client, ClientConfig, Credentials};
use crate::source::retry::RetryPolicy;
use crate::spec::load;
use crate::window::{self, TimeWindow};

pub fn run_eval(args: &EvalArgs, ui: &Ui) -> Exit {
    let clock = SystemClock;
    let window = window::resolve(
        args.from.as_deref(),
        args.to.as_deref(),
        args.timeframe.as_deref(),
        clock.now(),
    );
    run(&args.select, window, &args.source, &args.output, ui, &clock)
}

pub fn run_gate(args: &GateArgs, ui: &Ui) -> Exit {
    let clock = SystemClock;
    let window = window::resolve(None, None, Some(&args.timeframe), clock.now());
    run(&args.select, window, &args.source, &args.output, ui, &clock)
}

fn usage(message: impl Into<String>, help: &str) -> Vec<Problem> {
    vec![Problem::file("slogate::usage", "command line", message).help(help.to_string())]
}

/// The process environment, read once here at the edge.
pub fn environment() -> BTreeMap<String, String> {
    std::env::vars().collect()
}

fn run(
    select: &SelectArgs,
    window: Result<TimeWindow, String>,
    source: &SourceArgs,
    output: &OutputArgs,
    ui: &Ui,
    clock: &dyn Clock,
) -> Exit {
    match evaluate(select, window, source, output, ui, clock) {
        Ok(exit) => exit,
        Err(problems) => {
            ui.problems(&problems);
            Exit::Invalid
        }
    }
}

fn evaluate(
    select: &SelectArgs,
    window: Result<TimeWindow, String>,
    source: &SourceArgs,
    output: &OutputArgs,
    ui: &Ui,
    clock: &dyn Clock,
) -> Result<Exit, Vec<Problem>> {
    let window = window.map_err(|m| {
        usage(
            m,
            "e.g. --from 2026-11-17T10:00:00Z --to 2026-11-17T11:00:00Z, or --timeframe 30m",
        )
    })?;
    let settle =
        window::parse_duration(&source.settle).map_err(|m| usage(m, "e.g. --settle 120s"))?;
    let request_timeout = window::parse_duration(&source.request_timeout)
        .map_err(|m| usage(m, "e.g. --request-timeout 30s"))?
        .to_std()
        .unwrap_or(StdDuration::from_secs(30));
    if source.concurrency == 0 {
        return Err(usage(
            "--concurrency must be at least 1",
            "e.g. --concurrency 8",
        ));
    }
    let env = environment();
    let plans = resolve_all(select, &env)?;
    let mut findings: Vec<Problem> = plans
        .iter()
        .flat_map(|p| p.findings.iter().cloned())
        .collect();
    dedupe(&mut findings);
    ui.problems(&findings);
    let previous_evaluations = read_previous(&output.previous)?;
    let conn = plan::connection(&plans[0].settings, &env).map_err(|p| vec![p])?;
    let needs_api_token = plans.iter().flat_map(|p| &p.slis).any(|s| {
        s.parsed
            .as_ref()
            .is_ok_and(|q| !matches!(q, crate::query::SliQuery::Dql { .. }))
    });
    if conn.token.is_none() && needs_api_token {
        return Err(usage(
            format!(
                "no Dynatrace API token: the environment variable {} is not set",
                conn.token_env
            ),
            "store the token as a secret and expose it as that variable; see docs/token-scopes.md for the scopes",
        ));
    }

    // Wait for the data to settle, visibly; never evaluate early.
    let wait = window.settle_wait(clock.now(), settle);
    if wait > Duration::zero() {
        wait_visibly(clock, wait, &window);
    }

    let client = Client::new(ClientConfig {
        base_url: conn.url.clone(),
        credentials: Credentials {
            api_token: conn.token.clone(),
            api_token_env: conn.token_env.clone(),
            platform_token: conn.platform_token.clone(),
            platform_token_env: conn.platform_token_env.clone(),
        },
        request_timeout,
        retry: RetryPolicy::default(),
        concurrency: source.concurrency,
    })
    .map_err(|m| usage(m, "this is a bug if it happens; please report it"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            usage(
                format!("cannot start the async runtime: {e}"),
                "check the system's thread and file limits",
            )
        })?;
    let started = Instant::now();
    // Every service at once; the client's limit bounds the requests in flight.
    let qwindow = window.as_query_window();
    let fetched = runtime.block_on(join_all(
        plans
            .iter()
            .map(|p| dynatrace::fetch(&client, &p.slis, qwindow)),
    ));
    let fetch_millis = started.elapsed().as_millis() as u64;
    let mut all_fetched = Vec::with_capacity(fetched.len());
    for f in fetched {
        match f {
            Ok(f) => all_fetched.push(f),
            Err(fatal) => {
                stderr(&fatal_message(&fatal, &conn));
                return Ok(match fatal {
                    Fatal::Auth { .. } => Exit::CouldNotEvaluate,
                    Fatal::MissingToken(_) => Exit::Invalid,
                });
            }
        }
    }
    let reports: Vec<Report> = plans
        .iter()
        .zip(&all_fetched)
        .map(|(plan, fetched)| {
            build_report(
                plan,
                &window,
                settle,
                wait,
                fetched,
                &previous_evaluations,
                output,
                &client,
                &conn.url,
                fetch_millis,
            )
        })
        .collect();
    let json_text = if reports.len() == 1 {
        report::json::render(&reports[0])
    } else {
        format!(
            "{}\n",
            serde_json::to_string_pretty(&reports).unwrap_or_default()
        )
    };
    if let Some(path) = &output.output
        && let Err(e) = std::fs::write(path, &json_text)
    {
        return Err(vec![
            Problem::file(
                "slogate::io",
                &path.display().to_string(),
                format!("cannot write the report: {e}"),
            )
            .help("check that the directory exists and is writable"),
        ]);
    }
    match output.format {
        ReportFormat::Json => stdout(&json_text),
        ReportFormat::Text => {
            let texts: Vec<String> = reports.iter().map(report::text::render).collect();
            let mut text = texts.join("\n");
            if reports.len() > 1 {
                text.push_str(&summary(&reports));
            }
            stdout(&text);
        }
    }
    let unavailable: Vec<&Fetched> = all_fetched
        .iter()
        .flatten()
        .filter(|f| f.failure == Some(Failure::Unavailable))
        .collect();
    if !unavailable.is_empty() {
        stderr(&format!(
            "could not evaluate: {} of {} SLIs could not be fetched from {}; the first error: {}\n",
            unavailable.len(),
            all_fetched.iter().map(Vec::len).sum::<usize>(),
            conn.url,
            unavailable[0].value.message
        ));
        return Ok(Exit::CouldNotEvaluate);
    }
    // The worst outcome decides: invalid input, then fail, then pass.
    Ok(reports
        .iter()
        .map(|r| exit_for(&r.evaluation))
        .max_by_key(|e| match e {
            Exit::Invalid => 3,
            Exit::Fail => 2,
            Exit::CouldNotEvaluate => 4,
            Exit::Pass => 0,
        })
        .unwrap_or(Exit::Pass))
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

/// The last lines of a multi-service text report.
fn summary(reports: &[Report]) -> String {
    let count = |v: Verdict| reports.iter().filter(|r| r.evaluation.result == v).count();
    format!(
        "\n{} services: {} pass, {} warning, {} fail\n",
        reports.len(),
        count(Verdict::Pass),
        count(Verdict::Warning),
        count(Verdict::Fail)
    )
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
        Fatal::MissingToken(m) => format!("could not evaluate: {m}\n"),
    }
}

/// Keptn's get-sli message: indicators grouped by error, `a, b: msg1; c: msg2`.
fn retrieval(fetched: &[Fetched]) -> Retrieval {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for f in fetched
        .iter()
        .filter(|f| matches!(f.failure, Some(Failure::Query | Failure::Unavailable)))
    {
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
    window: &TimeWindow,
    settle: Duration,
    waited: Duration,
    fetched: &[Fetched],
    previous_evaluations: &[previous::PreviousEvaluation],
    output: &OutputArgs,
    client: &Client,
    url: &str,
    fetch_millis: u64,
) -> Report {
    let comparison = plan.slo.effective_comparison();
    let selected = previous::select(previous_evaluations, &comparison);
    let policy = plan::policy(output.on_missing_baseline, &plan.settings);
    let values: Vec<eval::SliValue> = fetched.iter().map(|f| f.value.clone()).collect();
    let mut evaluation = eval::evaluate(&plan.slo, &retrieval(fetched), &values, &selected, policy);
    for r in &mut evaluation.indicator_results {
        r.query = fetched
            .iter()
            .find(|f| f.value.metric == r.value.metric)
            .and_then(|f| f.query.clone());
    }
    use std::sync::atomic::Ordering;
    Report {
        report_version: json::REPORT_VERSION,
        tool: json::Tool::current(),
        project: plan.project.clone(),
        stage: plan.stage.clone(),
        service: plan.service.clone(),
        labels: plan.labels.clone(),
        time_start: Some(window::rfc3339(window.from)),
        time_end: Some(window::rfc3339(window.to)),
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
        deployment: None,
        baseline_window: None,
        pipeline: None,
        series: Vec::new(),
        result_event: None,
        evaluation,
    }
}

/// Waits for `wait`, with a countdown on a terminal and a line a minute in CI logs.
fn wait_visibly(clock: &dyn Clock, wait: Duration, window: &TimeWindow) {
    let total_ms = wait.num_milliseconds().max(0);
    // Whole seconds, rounded up, for the display; the sleep itself is exact.
    let total = (total_ms + 999) / 1000;
    let terminal = std::io::stderr().is_terminal();
    stderr(&format!(
        "waiting {total} s for Dynatrace data to settle (the window ends at {}; --settle changes this)\n",
        window::rfc3339(window.to)
    ));
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
