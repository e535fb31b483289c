//! Fleets: one `eval` or `gate` over many Dynatrace environments (docs/fleets.md).
//!
//! The environments come from slogate.yaml's `environments:`; `--environments PATTERN|all` picks
//! them, `--shard I/N` keeps a stable 1/N of them. Each environment is one ordinary pipeline run
//! (its own connection, token, limits, history) on a worker thread with its own small runtime; a
//! fixed number of workers bounds what is in flight. Each run's reports shrink to summary rows at
//! once ([`report::Row`]), so memory stays flat however many environments there are; with
//! `--format jsonl` every row is written as its environment finishes. A problem in one
//! environment (token refused, URL unreachable, variable unset) is that environment's `error`,
//! never the run's end.

pub mod merge;
pub mod report;
pub mod shard;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use crate::ci::CiKind;
use crate::cli::{CiArg, FailOn, FleetArgs, OutputFormat};
use crate::diag::Problem;
use crate::eval::Verdict;
use crate::history::HistoryLocation;
use crate::pipeline::{Job, Stop, stop, usage};
use crate::report::annotations::{self, Ci};
use crate::shell::{ci_kind, environment};
use crate::ui::{Exit, Ui, ci_commands, stderr, stderr_terminal, stdout};
use report::{FleetReport, Row, ShardInfo};

/// Requests in flight at once an environment of a fleet starts with (its adaptive limit rises
/// from there): a fleet's width comes from many environments, and a modest start does not have
/// hundreds of tenants throttle their first burst at once.
pub const START_CONCURRENCY: usize = 4;

/// Whether `name` matches a glob: `*` any run of characters, `?` one character.
pub fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The names `--environments` selects, in name order: `all`, or globs separated by commas.
pub fn select<'a>(pattern: &str, names: impl IntoIterator<Item = &'a String>) -> Vec<&'a str> {
    let globs: Vec<&str> = pattern
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .collect();
    names
        .into_iter()
        .filter(|n| {
            globs
                .iter()
                .any(|g| g.eq_ignore_ascii_case("all") || glob(g, n))
        })
        .map(String::as_str)
        .collect()
}

/// A history file of one environment: `history.sqlite` → `history.<env>.sqlite`, so tenants
/// never compare with each other's verdicts.
pub fn history_of(path: &Path, environment: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "history".into());
    let name = match path.extension() {
        Some(ext) => format!("{stem}.{environment}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{environment}"),
    };
    path.with_file_name(name)
}

/// The cause of a run that stopped before any report, in one line.
fn cause_of(s: Stop) -> String {
    match s {
        Stop::CouldNot(m) => m.trim_start_matches("could not evaluate: ").to_string(),
        Stop::Invalid(problems) => problems
            .iter()
            .find(|p| p.is_error())
            .or(problems.first())
            .map(|p| match &p.origin {
                Some(_) => format!("{} ({})", p.message, p.file_name),
                None if p.file_name != "command line" => format!("{}: {}", p.file_name, p.message),
                None => p.message.clone(),
            })
            .unwrap_or_else(|| "could not evaluate".into()),
    }
}

/// Where the fleet report goes: the same flags as one run's.
pub struct Publish<'a> {
    pub format: OutputFormat,
    pub output: Option<&'a Path>,
    pub report_dir: Option<&'a Path>,
    pub ci: Option<CiKind>,
    pub fail_on: FailOn,
}

/// Files, CI variables and annotations of a fleet report. stdout is the caller's (jsonl streams).
pub fn publish(
    f: &FleetReport,
    p: &Publish,
    env: &BTreeMap<String, String>,
) -> Result<(), Problem> {
    use crate::pipeline::emit::{append, write};
    if let Some(path) = p.output {
        write(path, &report::json(f))?;
    }
    if let Some(dir) = p.report_dir {
        write(&dir.join("fleet.json"), &report::json(f))?;
        write(&dir.join("fleet.md"), &report::markdown(f))?;
        write(&dir.join("fleet.html"), &report::html(f))?;
        write(&dir.join("junit.xml"), &report::junit(f))?;
    }
    let summary = f.summary();
    let headline = report::headline(f);
    let mut lines = String::new();
    let issue = |ci: Ci| match f.result {
        Verdict::Pass => String::new(),
        Verdict::Warning => annotations::warning(&headline, ci),
        _ => annotations::stopped(
            &annotations::RunSummary {
                cause: Some(match &summary.cause {
                    Some(c) => format!("{headline}; first: {c}"),
                    None => headline.clone(),
                }),
                ..summary.clone()
            },
            ci,
        ),
    };
    match p.ci {
        Some(CiKind::Azure) => {
            lines.push_str(&issue(Ci::Azure));
            lines.push_str(&annotations::variables(
                &summary,
                Ci::Azure,
                p.fail_on != FailOn::Warning,
            ));
        }
        Some(CiKind::GitHub) => {
            lines.push_str(&issue(Ci::GitHub));
            if let Some(path) = env.get("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
                append(Path::new(path), &report::markdown(f))?;
            }
            if let Some(path) = env.get("GITHUB_OUTPUT").filter(|p| !p.is_empty()) {
                append(Path::new(path), &annotations::github_output(&summary))?;
            }
        }
        Some(CiKind::GitLab) => {
            let dir = p.report_dir.unwrap_or(Path::new("slogate-report"));
            write(&dir.join("junit.xml"), &report::junit(f))?;
            write(&dir.join("slogate.env"), &annotations::dotenv(&summary))?;
        }
        None => {}
    }
    ci_commands(&lines);
    Ok(())
}

/// The whole report on stdout in `format` (jsonl: only the closing line; the rows were
/// streamed).
pub fn render(f: &FleetReport, format: OutputFormat) -> String {
    match format {
        OutputFormat::Text => report::text(f),
        OutputFormat::Json => report::json(f),
        OutputFormat::Markdown => report::markdown(f),
        OutputFormat::Html => report::html(f),
        OutputFormat::Junit => report::junit(f),
        OutputFormat::Jsonl => report::jsonl_end(f),
    }
}

/// `eval`/`gate --environments`: every selected environment, `parallel` at a time.
pub(crate) fn run(job: Job, fleet: &FleetArgs, ui: &Ui) -> Exit {
    let env = environment();
    let pattern = fleet.environments.clone().unwrap_or_default();
    // The files are read and checked once: an error in them is the run's `invalid`.
    let plans = match crate::pipeline::resolve_checked(&job, ui, &env) {
        Ok(p) => p,
        Err(s) => return stop(ui, job.output, s),
    };
    crate::shell::return_freed_memory();
    let settings = &plans[0].settings;
    let mut names = select(&pattern, settings.environments.keys());
    if names.is_empty() {
        let known: Vec<&str> = settings.environments.keys().map(String::as_str).collect();
        let help = if known.is_empty() {
            "add `environments:` to slogate.yaml (docs/fleets.md)".to_string()
        } else {
            format!("known environments: {}", known.join(", "))
        };
        return stop(
            ui,
            job.output,
            Stop::Invalid(usage(
                format!("--environments {pattern} matches no environment"),
                &help,
            )),
        );
    }
    let shard = match fleet.shard.map(|s| s.numbered(fleet.shard_from_zero)) {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(m)) => {
            return stop(
                ui,
                job.output,
                Stop::Invalid(usage(
                    m,
                    "e.g. --shard 2/4, or --shard-from-zero --shard 0/4",
                )),
            );
        }
    };
    if let Some(s) = shard {
        names.retain(|n| s.holds(n));
    }
    let history = crate::history::resolve_path(
        job.output.history.as_deref(),
        &env,
        settings.history.as_ref().map(|h| h.value.as_str()),
        &job.select.config,
    );
    // An environment that stops before any report has one `error` row per selected service.
    let services: Vec<Option<String>> = plans.iter().map(|p| p.service.clone()).collect();
    // The process environment, once for every environment's run: shared, never copied per
    // environment, and without the tenants' token variables (each run reads its own from the
    // process, `inputs::gather`): thousands of tokens held twice would only grow the memory.
    let tokens: std::collections::HashSet<&str> = settings
        .environments
        .values()
        .filter_map(|e| e.token_env.as_ref().map(|t| t.value.as_str()))
        .collect();
    let env: BTreeMap<String, String> = env
        .into_iter()
        .filter(|(k, _)| !tokens.contains(k.as_str()))
        .collect();
    let env = std::sync::Arc::new(env);
    let shared = Shared {
        plans: &plans,
        env: &env,
        services: &services,
        history: &history,
    };

    // Each environment's run renders nothing itself: JSON, no files, no CI output.
    let mut quiet_output = job.output.clone();
    quiet_output.format = OutputFormat::Json;
    quiet_output.output = None;
    quiet_output.report_dir = None;
    quiet_output.ci = CiArg::None;
    let quiet_ui = Ui {
        color: false,
        width: ui.width,
        quiet: true,
    };
    let total = names.len();
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<Vec<Row>>();
    let workers = usize::from(fleet.parallel).min(total).max(1);
    let terminal = std::io::stderr().is_terminal();
    let format = job.output.format;
    // jsonl streams the rows; they are kept only for what is written at the end from them
    // (files, a GitHub step summary, GitLab's JUnit). Otherwise the counts and the worst row
    // are all the end needs, and memory stays flat however many environments there are.
    let keep_rows = format != OutputFormat::Jsonl
        || job.output.output.is_some()
        || job.output.report_dir.is_some()
        || matches!(
            ci_kind(job.output.ci, &env),
            Some(CiKind::GitHub | CiKind::GitLab)
        );
    let mut tally = report::Counts::default();
    // One row per environment and service, sized once: growing by doubling would hold half
    // again as much, and twice that while it moves.
    let mut rows: Vec<Row> = if keep_rows {
        Vec::with_capacity(total * services.len().max(1))
    } else {
        Vec::new()
    };
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (names, next, job, quiet_output, quiet_ui, shared) =
                (&names, &next, &job, &quiet_output, &quiet_ui, &shared);
            std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn_scoped(scope, move || {
                    crate::shell::fleet_worker();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(name) = names.get(i) else { break };
                        let out = one(job, quiet_output, quiet_ui, shared, name);
                        if tx.send(out).is_err() {
                            break;
                        }
                    }
                    crate::shell::end_fleet_worker();
                })
                .expect("a worker thread starts");
        }
        drop(tx);
        let (mut done, mut failing) = (0usize, 0usize);
        for got in rx {
            done += 1;
            if got
                .iter()
                .any(|r| r.result.severity() >= Verdict::Error.severity())
            {
                failing += 1;
            }
            if format == OutputFormat::Jsonl {
                let lines: String = got.iter().map(report::jsonl).collect();
                stdout(&lines);
            }
            if terminal {
                stderr_terminal(&format!(
                    "\r{done}/{total} environments done, {} left, {failing} failing or not evaluated ",
                    total - done
                ));
            }
            // jsonl keeps nothing but the outcomes: the rows are out already.
            if format != OutputFormat::Jsonl {
                rows.extend(got);
            } else {
                got.iter().for_each(|r| tally.add(r.result));
                let got = got.into_iter().map(|mut r| {
                    r.failed.clear();
                    r.cause = None;
                    r
                });
                if keep_rows {
                    rows.extend(got);
                } else {
                    // The row `FleetReport::summary` would pick from all of them: the worst,
                    // the last in name order among equals.
                    fn key(r: &Row) -> (u8, &str, Option<&str>) {
                        (r.result.severity(), &r.environment, r.service.as_deref())
                    }
                    for r in got {
                        if rows.first().is_none_or(|w| key(&r) > key(w)) {
                            rows = vec![r];
                        }
                    }
                }
            }
        }
    });
    if terminal {
        stderr_terminal("\r\x1b[2K");
    }
    let shard = shard.map(|s| ShardInfo {
        index: s.index,
        total: s.total,
    });
    let mut report = FleetReport::new(&pattern, shard, rows);
    if !keep_rows {
        // Only the worst row was kept: the counts are the tally's.
        report.counts = tally;
        report.environments = total;
    }
    finish(&report, &job, &env, ui)
}

fn finish(f: &FleetReport, job: &Job, env: &BTreeMap<String, String>, ui: &Ui) -> Exit {
    let output = job.output;
    let p = Publish {
        format: output.format,
        output: output.output.as_deref(),
        report_dir: output.report_dir.as_deref(),
        ci: ci_kind(output.ci, env),
        fail_on: output.fail_on,
    };
    // jsonl: the rows were cut down to their outcomes; a file wants the whole report.
    if output.format == OutputFormat::Jsonl && (p.output.is_some() || p.report_dir.is_some()) {
        stderr(
            "warning: with --format jsonl the rows are on stdout; --output and --report-dir hold outcomes only\n",
        );
    }
    stdout(&render(f, output.format));
    if let Err(problem) = publish(f, &p, env) {
        ui.problems(&[problem]);
    }
    if output.format != OutputFormat::Text {
        stderr(&format!("{}\n", report::headline(f)));
    }
    Exit::of(f.result, output.fail_on)
}

/// What the environments' runs share, read once.
struct Shared<'a> {
    /// Resolved without an environment; each run takes a copy pointed at its own.
    plans: &'a [crate::plan::Plan],
    /// The process environment.
    env: &'a std::sync::Arc<BTreeMap<String, String>>,
    services: &'a [Option<String>],
    history: &'a HistoryLocation,
}

/// One environment: an ordinary run against it, its reports cut down to rows.
fn one(
    job: &Job,
    output: &crate::cli::OutputArgs,
    ui: &Ui,
    shared: &Shared,
    name: &str,
) -> Vec<Row> {
    let services = shared.services;
    let mut select = job.select.clone();
    select.environment = Some(name.to_string());
    let mut plans = shared.plans.to_vec();
    for p in &mut plans {
        if let Err(m) = p.settings.select_environment(name) {
            return vec![Row::error(name, None, &m)];
        }
    }
    let env = shared.env.clone();
    let mut output = output.clone();
    match shared.history {
        HistoryLocation::Dynatrace => {}
        HistoryLocation::File(p) | HistoryLocation::Default(p) => {
            let own = history_of(p, name);
            if job.record
                && let Some(dir) = own.parent()
            {
                let _ = std::fs::create_dir_all(dir);
            }
            output.history = Some(own);
        }
    }
    let job = Job {
        record: job.record,
        select,
        source: job.source,
        output: &output,
        when: job.when.clone(),
        wait: job.wait,
        baseline: job.baseline,
        pinned: job.pinned,
        judge: job.judge,
        warm_up_minutes: job.warm_up_minutes,
        dashboard: job.dashboard,
        control: job.control.clone(),
        fleet: Some(crate::pipeline::FleetMember { plans, env }),
    };
    match crate::pipeline::reports(&job, ui, &crate::clock::SystemClock) {
        Ok(reports) if !reports.is_empty() => reports.iter().map(|r| Row::of(name, r)).collect(),
        stopped => {
            let cause = match stopped {
                Err(s) => cause_of(s),
                Ok(_) => "nothing was evaluated".into(),
            };
            services
                .iter()
                .map(|s| Row::error(name, s.as_deref(), &cause))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("prod-*", "prod-eu"));
        assert!(glob("*", ""));
        assert!(glob("t-0??", "t-042"));
        assert!(!glob("t-0??", "t-0420"));
        assert!(glob("*-eu*", "prod-eu-2"));
        assert!(!glob("prod-*", "staging-eu"));
    }

    #[test]
    fn selection_is_in_name_order() {
        let names: Vec<String> = ["b-eu", "a-eu", "c-us"].map(String::from).to_vec();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(select("*-eu", &sorted), ["a-eu", "b-eu"]);
        assert_eq!(select("all", &sorted).len(), 3);
        assert_eq!(select("c-*, a-eu", &sorted), ["a-eu", "c-us"]);
        assert!(select("x*", &sorted).is_empty());
    }

    #[test]
    fn each_environment_has_its_own_history_file() {
        assert_eq!(
            history_of(Path::new("slo/.slogate/history.sqlite"), "prod-eu"),
            Path::new("slo/.slogate/history.prod-eu.sqlite")
        );
    }
}
