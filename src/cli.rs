//! Command-line flags as the user typed them; commands turn them into plans.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::window::{MAX_DURATION_SECS, MIN_WINDOW_SECS, parse_duration_in};

// Range checks at parse time (exit 2 with the allowed range), so that no later arithmetic on
// these values can overflow. The values stay text: the commands parse them again.

fn duration_arg(s: &str, flag: &str, min: i64, max: i64) -> Result<String, String> {
    parse_duration_in(s, flag, min, max).map(|_| s.to_string())
}

const DAY: i64 = 86_400;

/// At least one data point (1m), at most ten years.
fn timeframe_arg(s: &str) -> Result<String, String> {
    duration_arg(s, "timeframe", MIN_WINDOW_SECS, MAX_DURATION_SECS)
}

fn settle_arg(s: &str) -> Result<String, String> {
    duration_arg(s, "settle", 0, DAY)
}

/// Up to an hour: a gate must not hang on an event that never comes.
fn event_wait_arg(s: &str) -> Result<String, String> {
    duration_arg(s, "event-wait", 0, 3600)
}

fn delay_arg(s: &str) -> Result<String, String> {
    duration_arg(s, "delay", 0, 7 * DAY)
}

/// Dynatrace keeps events for a year at most.
fn lookback_arg(s: &str) -> Result<String, String> {
    duration_arg(s, "lookback", 60, 366 * DAY)
}

fn wait_arg(s: &str) -> Result<String, String> {
    duration_arg(s, "wait", 0, DAY)
}

fn request_timeout_arg(s: &str) -> Result<String, String> {
    duration_arg(s, "request-timeout", 1, 600)
}

/// Far beyond any speed-up (Dynatrace rate-limits per token) and it bounds the tasks in flight.
pub const MAX_CONCURRENCY: usize = 64;

fn concurrency_arg(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_CONCURRENCY).contains(&n) => Ok(n),
        _ => Err(format!(
            "--concurrency {s} is out of range: allowed 1 to {MAX_CONCURRENCY}"
        )),
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "slogate",
    version = VERSION,
    about = "Decide with numbers whether a release made a service worse (Keptn-compatible SLO gates)",
    after_help = "Exit codes: 0 pass (or warning), 1 fail, 2 invalid input, 3 could not evaluate."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// When to color diagnostics.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,

    /// Show on stderr each request sent (method, path and query, status, time taken) and each
    /// step left out, with why.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Score indicator values against an slo.yaml, exactly as Keptn's lighthouse (no network).
    Score(ScoreArgs),
    /// Check SLO files: every problem at once, with file, line and a fix.
    Lint(LintArgs),
    /// Show the merged SLI/SLO configuration of a service and where each value comes from.
    Config(ConfigArgs),
    /// Evaluate a historic timeframe with data from Dynatrace and/or Prometheus.
    Eval(EvalArgs),
    /// Evaluate the window ending now, or the window after a deployment against the one before it
    /// (the release-pipeline form).
    Gate(GateArgs),
    /// Show the exact request behind every SLI, without sending anything.
    Explain(ExplainArgs),
    /// Mark a deployment (or a configuration change) on the services in Dynatrace.
    Mark(MarkArgs),
    /// Dashboard mode: export a Dynatrace dashboard's SLIs and objectives as sli.yaml/slo.yaml.
    Dashboard(DashboardArgs),
    /// Earlier verdicts kept for relative criteria: list, show, invalidate, export, import.
    History(crate::commands::history::HistoryArgs),
    /// Convert objectives from OpenSLO, Sloth or Keptn Lifecycle Toolkit files into sli.yaml and
    /// slo.yaml (docs/interop.md).
    Import(crate::commands::interop::ImportArgs),
    /// Write a config root's objectives as OpenSLO, Sloth or Keptn Lifecycle Toolkit files
    /// (docs/interop.md).
    Export(crate::commands::interop::ExportArgs),
    /// Fleets of Dynatrace environments: merge the shards' reports (docs/fleets.md).
    #[command(subcommand)]
    Fleet(FleetCommand),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) to stdout.
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout, or write one page per command into a folder.
    Man(ManArgs),
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  slogate completions bash > ~/.local/share/bash-completion/completions/slogate
  slogate completions zsh > \"${fpath[1]}/_slogate\"
  slogate completions fish > ~/.config/fish/completions/slogate.fish
  slogate completions powershell | Out-String | Invoke-Expression")]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Subcommand, Debug)]
pub enum FleetCommand {
    /// Combine the JSON reports of `--shard I/N` runs into the report one run would have written.
    Merge(FleetMergeArgs),
}

#[derive(Args, Debug)]
pub struct FleetMergeArgs {
    /// Shard reports: JSON files, or folders whose *.json files are read.
    #[arg(required = true, value_name = "DIR|FILE")]
    pub paths: Vec<PathBuf>,

    /// What goes to stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    /// Also write the merged JSON report to this file.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Also write the merged report in every format (fleet.json, fleet.md, fleet.html,
    /// junit.xml) into this folder.
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,

    /// Which CI gets the outcome as variables and annotations.
    #[arg(long, value_enum, default_value_t = CiArg::Auto)]
    pub ci: CiArg,

    /// Which outcome makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Fail)]
    pub fail_on: FailOn,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write slogate.1 and one slogate-<command>.1 per subcommand into this folder instead of
    /// printing slogate.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CiArg {
    /// Detect from the environment (TF_BUILD, GITHUB_ACTIONS, GITLAB_CI).
    Auto,
    Azure,
    Github,
    Gitlab,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EventTypeArg {
    /// CUSTOM_DEPLOYMENT
    Deployment,
    /// CUSTOM_CONFIGURATION: feature flags and configuration changes
    Configuration,
    /// CUSTOM_INFO
    Info,
    /// CUSTOM_ANNOTATION
    Annotation,
}

#[derive(Args, Debug)]
pub struct MarkArgs {
    /// The config root whose slogate.yaml gives the URL, defaults and the selector template.
    #[arg(long, value_name = "DIR", default_value = "slo")]
    pub config: PathBuf,

    /// The project, for the entity selector and the event (default: slogate.yaml `defaults.project`).
    #[arg(long)]
    pub project: Option<String>,

    /// The stage, for the entity selector and the event (default: slogate.yaml `defaults.stage`).
    #[arg(long)]
    pub stage: Option<String>,

    /// The Dynatrace environment: a name under `environments:` in slogate.yaml (default: the
    /// one `stages:` names for the stage, else `dynatrace:` / DT_URL). See docs/fleets.md.
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,

    /// A service the release touches; repeat it for several (one event each).
    #[arg(long)]
    pub service: Vec<String>,

    /// Send one event to exactly these entities instead (e.g. a shared release tag).
    #[arg(long, value_name = "SELECTOR", conflicts_with = "service")]
    pub entity_selector: Option<String>,

    /// The kind of event.
    #[arg(long = "type", value_enum, default_value_t = EventTypeArg::Deployment)]
    pub event_type: EventTypeArg,

    /// Event title [default: e.g. "checkout 1.4.0 deployed to production"].
    #[arg(long)]
    pub title: Option<String>,

    /// The version deployed.
    #[arg(long)]
    pub version: Option<String>,

    /// A feature flag or setting that changed, NAME=VALUE; repeatable (use with --type configuration).
    #[arg(long = "flag", value_name = "NAME=VALUE")]
    pub flags: Vec<String>,

    /// An extra event property, KEY=VALUE; repeatable.
    #[arg(long = "property", value_name = "KEY=VALUE")]
    pub properties: Vec<String>,

    /// When it happened [default: now]: RFC 3339, epoch milliseconds, or now-5m.
    #[arg(long)]
    pub time: Option<String>,

    /// Print the events instead of sending them.
    #[arg(long)]
    pub dry_run: bool,

    /// Make an event that cannot be read back (not visible in Dynatrace within --event-wait) an error, exit 3; without it, a warning.
    #[arg(long, conflicts_with = "dry_run")]
    pub verify: bool,

    /// How long to keep reading the events back while Dynatrace does not show them yet (its ingest delay); 0s: read once, do not wait.
    #[arg(long, value_parser = event_wait_arg, value_name = "DURATION", default_value = "3m")]
    pub event_wait: String,

    /// What goes to stdout: a line per event, or the events and Dynatrace's answers as JSON.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,

    /// Which CI's metadata to attach.
    #[arg(long, value_enum, default_value_t = CiArg::Auto)]
    pub ci: CiArg,

    /// Timeout of one HTTP request.
    #[arg(long, value_parser = request_timeout_arg, value_name = "DURATION", default_value = "30s")]
    pub request_timeout: String,
}

/// Which service to evaluate; the values fill the SLI placeholders.
#[derive(Args, Debug, Clone)]
pub struct SelectArgs {
    /// The config root (ROOT/, ROOT/<stage>/, ROOT/<stage>/<service>/).
    #[arg(long, value_name = "DIR", default_value = "slo")]
    pub config: PathBuf,

    /// $PROJECT (default: slogate.yaml `defaults.project`).
    #[arg(long)]
    pub project: Option<String>,

    /// $STAGE and the stage folder (default: slogate.yaml `defaults.stage`).
    #[arg(long)]
    pub stage: Option<String>,

    /// $SERVICE and the service folder (default: slogate.yaml `defaults.service`). Repeat it to
    /// evaluate several services in one run, concurrently.
    #[arg(long)]
    pub service: Vec<String>,

    /// $DEPLOYMENT.
    #[arg(long)]
    pub deployment: Option<String>,

    /// $CONTEXT.
    #[arg(long)]
    pub context: Option<String>,

    /// $LABEL.<key>; repeatable.
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,

    /// Take SLIs and objectives from a Dynatrace dashboard instead of sli.yaml/slo.yaml: its ID,
    /// or `query` for the one named `KQG;project=…;stage=…;service=…` (default: `dashboard:` in
    /// dynatrace/dynatrace.conf.yaml or slogate.yaml). See docs/dashboards.md.
    #[arg(long, value_name = "ID|query")]
    pub dashboard: Option<String>,

    /// The Dynatrace environment: a name under `environments:` in slogate.yaml (default: the
    /// one `stages:` names for the stage, else `dynatrace:` / DT_URL). See docs/fleets.md.
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,
}

/// One run over many Dynatrace environments (docs/fleets.md).
#[derive(Args, Debug, Clone, Default)]
pub struct FleetArgs {
    /// Evaluate in every environment whose name matches: `all`, a glob (`prod-*`, `tenant-0??`),
    /// or several separated by commas. Prints a fleet report; the worst outcome is the exit code.
    #[arg(long, value_name = "PATTERN|all", conflicts_with = "environment")]
    pub environments: Option<String>,

    /// Evaluate only shard I of N (1-based) of the matching environments, chosen by a stable hash
    /// of each name; `slogate fleet merge` combines the shards' JSON reports.
    #[arg(long, value_name = "I/N", value_parser = crate::fleet::shard::parse, requires = "environments")]
    pub shard: Option<crate::fleet::shard::Shard>,

    /// --shard's I counts from 0 (Kubernetes' JOB_COMPLETION_INDEX), not from 1.
    #[arg(long, requires = "shard")]
    pub shard_from_zero: bool,

    /// Environments evaluated at once (each with its own connection and limits; all share the
    /// process-wide cap on requests in flight).
    #[arg(long, value_name = "N", default_value_t = 128, value_parser = clap::value_parser!(u16).range(1..=1024), requires = "environments")]
    pub parallel: u16,
}

impl SelectArgs {
    /// The core's view of these flags.
    pub fn scope(&self) -> crate::plan::Scope {
        crate::plan::Scope {
            config: self.config.clone(),
            project: self.project.clone(),
            stage: self.stage.clone(),
            services: self.service.clone(),
            deployment: self.deployment.clone(),
            context: self.context.clone(),
            labels: self.labels.clone(),
            dashboard: self.dashboard.clone(),
            environment: self.environment.clone(),
        }
    }
}

/// How to talk to the data source.
#[derive(Args, Debug, Clone)]
pub struct SourceArgs {
    /// Most requests in flight at once per server (Dynatrace environment, Prometheus); below
    /// it the rate adapts: starts at 16 (or N if lower), grows while latency stays flat, halves on 429/503.
    #[arg(long, value_parser = concurrency_arg, value_name = "N", default_value_t = crate::source::limit::DEFAULT_MAX)]
    pub concurrency: usize,

    /// Timeout of one HTTP request.
    #[arg(long, value_parser = request_timeout_arg, value_name = "DURATION", default_value = "30s")]
    pub request_timeout: String,

    /// How old the window's end must be before it is evaluated (Dynatrace data settles).
    #[arg(long, value_parser = settle_arg, value_name = "DURATION", default_value = "120s")]
    pub settle: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    Junit,
    Markdown,
    Html,
    /// One JSON line per environment as it finishes (with --environments).
    Jsonl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Exit 1 only on fail (a warning passes).
    Fail,
    /// Exit 1 on warning too.
    Warning,
}

/// What to produce, and where the verdict goes.
#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// What goes to stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    /// Also write the JSON report to this file.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write every report (report.json, report.txt, junit.xml, summary.md, report.html) here.
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,

    /// Earlier evaluations for relative criteria, newest first. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub previous: Vec<PathBuf>,

    /// What a relative criterion does when there is no baseline [default: slogate.yaml, else pass].
    #[arg(long, value_enum)]
    pub on_missing_baseline: Option<OnMissingBaseline>,

    /// A value the source answered with warnings (partial data) is an error, not a note [default: slogate.yaml `defaults.strict_data`, else off].
    #[arg(long)]
    pub strict_data: bool,

    /// Which verdict fails the step (exit 1).
    #[arg(long, value_enum, default_value_t = FailOn::Fail)]
    pub fail_on: FailOn,

    /// Which CI's annotations, summary and outputs to write.
    #[arg(long, value_enum, default_value_t = CiArg::Auto)]
    pub ci: CiArg,

    /// Send the verdict to the service's timeline in Dynatrace (a CUSTOM_INFO event).
    #[arg(long)]
    pub push_result: bool,

    /// Where earlier verdicts are kept: an SQLite file, or `dynatrace` (the verdict events of
    /// --push-result) [default: $SLOGATE_HISTORY, slogate.yaml `history`, <config>/.slogate/history.sqlite].
    #[arg(long, value_name = "PATH|dynatrace")]
    pub history: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    #[command(flatten)]
    pub select: SelectArgs,

    #[command(flatten)]
    pub fleet: FleetArgs,

    /// Store this evaluation in the history (gate always does).
    #[arg(long)]
    pub record: bool,

    /// Start: RFC 3339, epoch milliseconds, or `now-2h`.
    #[arg(long)]
    pub from: Option<String>,

    /// End: RFC 3339, epoch milliseconds, or `now-1h`.
    #[arg(long)]
    pub to: Option<String>,

    /// Length of the window, ending at --to (or now), or starting at --from.
    #[arg(long, value_parser = timeframe_arg, value_name = "DURATION")]
    pub timeframe: Option<String>,

    #[command(flatten)]
    pub source: SourceArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum JudgeArg {
    /// Keptn's comparison of two point values.
    Keptn,
    /// An interval from the per-minute series: fails only a change shown beyond its margin,
    /// warns on one shown worse but not beyond it (docs/judge.md).
    Statistical,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BaselineArg {
    /// The same SLIs over the window right before the deployment.
    Window,
    /// Previous evaluations (Keptn's way).
    History,
    /// The evaluation pinned with `slogate history pin`, for `compare_with: single_result`
    /// (as `comparison: pinned` in slogate.yaml).
    Pinned,
}

/// `gate --since-event`: which change events anchor the windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SinceEventArg {
    Deployment,
    Configuration,
    Any,
}

#[derive(Args, Debug)]
pub struct GateArgs {
    #[command(flatten)]
    pub select: SelectArgs,

    #[command(flatten)]
    pub fleet: FleetArgs,

    /// Length of the evaluation window (and of the baseline window before a deployment).
    #[arg(long, value_parser = timeframe_arg, value_name = "DURATION", default_value = "30m")]
    pub timeframe: String,

    /// Anchor on the latest CUSTOM_DEPLOYMENT event of the selected service(s).
    #[arg(long, conflicts_with = "deployment_time")]
    pub since_deployment: bool,

    /// Anchor on the latest event of this kind: deployment (as --since-deployment), configuration (CUSTOM_CONFIGURATION, or CUSTOM_INFO with feature-flag properties, as `slogate mark --type configuration --flag` sends) or any.
    #[arg(long, value_enum, value_name = "KIND", conflicts_with_all = ["deployment_time", "since_deployment"])]
    pub since_event: Option<SinceEventArg>,

    /// With --since-deployment / --since-event: how long to keep asking while the event is not yet visible (Dynatrace shows events a few minutes after ingest); 0s: do not wait.
    #[arg(long, value_parser = event_wait_arg, value_name = "DURATION", default_value = "3m")]
    pub event_wait: String,

    /// Anchor on this deployment time (RFC 3339, epoch ms, now-10m).
    #[arg(long, value_name = "TIME")]
    pub deployment_time: Option<String>,

    /// Start the evaluation window this long after the deployment.
    #[arg(long, value_parser = delay_arg, value_name = "DURATION", default_value = "0s")]
    pub delay: String,

    /// How far back to look for the deployment event.
    #[arg(long, value_parser = lookback_arg, value_name = "DURATION", default_value = "7d")]
    pub lookback: String,

    /// Wait until the evaluation window is complete and settled (at most this long).
    #[arg(long, value_parser = wait_arg, value_name = "MAX", num_args = 0..=1, default_missing_value = "2h")]
    pub wait: Option<String>,

    /// Where relative criteria get their baseline [default: window when anchored on a deployment, else history].
    #[arg(long, value_enum)]
    pub baseline: Option<BaselineArg>,

    /// Who decides relative criteria against a window baseline [default: slogate.yaml's `judge.mode`, else keptn].
    #[arg(long, value_enum, value_name = "JUDGE")]
    pub judge: Option<JudgeArg>,

    /// With --judge statistical: minutes after the deployment left out as warm-up, 0 for none [default: slogate.yaml's `judge.warm_up_minutes`, else 5].
    #[arg(long, value_name = "MINUTES")]
    pub warm_up_minutes: Option<usize>,

    /// Create or update the service's release comparison dashboard in Dynatrace (token scopes ReadConfig and WriteConfig; docs/release-dashboard.md). A failure to publish is a warning: the exit code stays the verdict's.
    #[arg(long)]
    pub publish_dashboard: bool,

    /// With --publish-dashboard: how many releases the dashboard keeps [default: slogate.yaml `dashboard.keep_releases`, else 5].
    #[arg(long, value_name = "N", requires = "publish_dashboard", value_parser = clap::value_parser!(u16).range(1..=50))]
    pub keep_releases: Option<u16>,

    /// Canary against control: compare the service with this one over the same window, minute by minute (implies --judge statistical; docs/judge.md).
    #[arg(long, value_name = "SERVICE", conflicts_with = "control_label")]
    pub control_service: Option<String>,

    /// Canary against control: the control is the same service with this label, KEY=VALUE filling the SLIs' `$LABEL.KEY` (the canary's comes from --label; implies --judge statistical).
    #[arg(long, value_name = "KEY=VALUE")]
    pub control_label: Option<String>,

    #[command(flatten)]
    pub source: SourceArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub select: SelectArgs,

    /// Start of the window the requests would cover (default: --timeframe before --to).
    #[arg(long)]
    pub from: Option<String>,

    /// End of the window (default: now): RFC 3339, epoch milliseconds, or `now-1h`.
    #[arg(long)]
    pub to: Option<String>,

    /// Length of the window, ending at --to (or now) [default: 30m].
    #[arg(long, value_parser = timeframe_arg, value_name = "DURATION")]
    pub timeframe: Option<String>,

    /// `json`: the requests and each indicator's query for machines.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

impl From<OnMissingBaseline> for crate::eval::MissingBaseline {
    fn from(f: OnMissingBaseline) -> Self {
        match f {
            OnMissingBaseline::Pass => crate::eval::MissingBaseline::Pass,
            OnMissingBaseline::Warn => crate::eval::MissingBaseline::Warn,
            OnMissingBaseline::Fail => crate::eval::MissingBaseline::Fail,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnMissingBaseline {
    /// Keptn: a relative criterion without baseline is satisfied.
    Pass,
    /// An objective that passes only for lack of a baseline becomes a warning.
    Warn,
    /// A relative criterion without baseline is violated.
    Fail,
}

#[derive(Args, Debug)]
pub struct ScoreArgs {
    /// The slo.yaml to score against.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "config",
        conflicts_with = "config"
    )]
    pub slo: Option<PathBuf>,

    /// Or: a config root whose project/stage/service levels are merged (see `slogate config`).
    #[arg(long, value_name = "DIR")]
    pub config: Option<PathBuf>,

    /// The stage folder under the config root.
    #[arg(long, requires = "config")]
    pub stage: Option<String>,

    /// The service folder under the stage folder.
    #[arg(long, requires = "stage")]
    pub service: Option<String>,

    /// Indicator values: `[{"metric": "rt", "value": 512.3, "success": true}]` or `{"rt": 512.3}`.
    #[arg(long, value_name = "FILE")]
    pub values: PathBuf,

    /// Earlier evaluations, newest first (slogate reports, Keptn evaluation.finished events, or
    /// the minimal `{"result", "score", "indicatorResults"}` form). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub previous: Vec<PathBuf>,

    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,

    /// Also write the JSON report to this file.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// What a relative criterion does when there is no baseline [default: slogate.yaml's
    /// `defaults.on_missing_baseline`, else pass, as Keptn].
    #[arg(long, value_enum)]
    pub on_missing_baseline: Option<OnMissingBaseline>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct DashboardArgs {
    #[command(subcommand)]
    pub command: DashboardCommand,
}

#[derive(Subcommand, Debug)]
pub enum DashboardCommand {
    /// Print the SLO a dashboard gives (as Keptn stored it), or write sli.yaml + slo.yaml with
    /// --out: the way from a dashboard to files under version control.
    #[command(after_help = "Examples:
  slogate dashboard export --dashboard query --project sockshop --stage staging --service carts --timeframe 1h
  slogate dashboard export --dashboard 12345678-1111-4444-8888-123456789012 --stage staging --service carts --timeframe 1h --out slo/")]
    Export(DashboardExportArgs),
    /// Create or update the release comparison dashboard of each report in a JSON report of
    /// `slogate gate` (docs/release-dashboard.md).
    #[command(after_help = "Examples:
  slogate dashboard publish report.json
  slogate dashboard publish reports/report.json --keep-releases 10")]
    Publish(DashboardPublishArgs),
}

#[derive(Args, Debug)]
pub struct DashboardPublishArgs {
    /// The JSON report (`--output FILE`, or report.json in `--report-dir`).
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,

    /// How many releases the dashboard keeps [default: slogate.yaml `dashboard.keep_releases`, else 5].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=50))]
    pub keep_releases: Option<u16>,

    #[command(flatten)]
    pub select: SelectArgs,

    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Yaml,
    Json,
}

#[derive(Args, Debug)]
pub struct DashboardExportArgs {
    #[command(flatten)]
    pub select: SelectArgs,

    /// Start of the window the tiles are queried for (series and rows decide the SLIs).
    #[arg(long)]
    pub from: Option<String>,

    /// End of the window.
    #[arg(long)]
    pub to: Option<String>,

    /// Length of the window, ending at --to (or now).
    #[arg(long, value_parser = timeframe_arg, value_name = "DURATION")]
    pub timeframe: Option<String>,

    /// `yaml`: the slo.yaml text; `json`: `{objectives, total_score, comparison}` for machines.
    #[arg(long, value_enum, default_value_t = ExportFormat::Yaml)]
    pub format: ExportFormat,

    /// Write sli.yaml and slo.yaml into DIR/<stage>/<service>/ (Keptn's layout).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Args, Debug)]
pub struct LintArgs {
    /// Files or config roots to check (default: ./slo).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// `json`: every problem with file, line, column, code and help (docs/lint.md).
    #[arg(long, value_enum, default_value_t = LintFormat::Text)]
    pub format: LintFormat,

    /// Treat warnings as errors (exit 2).
    #[arg(long)]
    pub deny_warnings: bool,

    /// Also check a Dynatrace dashboard for dashboard mode: a saved dashboard JSON file, or a
    /// dashboard ID read from the environment in DT_URL with DT_API_TOKEN (scope ReadConfig).
    #[arg(long, value_name = "ID|FILE")]
    pub dashboard: Option<String>,
}

#[derive(Args, Debug)]
pub struct ConfigArgs {
    /// The config root (ROOT/, ROOT/<stage>/, ROOT/<stage>/<service>/).
    #[arg(long, value_name = "DIR", default_value = "slo")]
    pub config: PathBuf,

    /// The stage folder under the config root (default: slogate.yaml `defaults.stage`).
    #[arg(long)]
    pub stage: Option<String>,

    /// The service folder under the stage folder (default: slogate.yaml `defaults.service`).
    #[arg(long)]
    pub service: Option<String>,

    /// `text`: YAML with each value's file and line; `json`: the same for machines.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// What `--version` prints after the name: the crate version, the commit it was built from and
/// the build date (both set by `build.rs`; `unknown` outside a git checkout).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SLOGATE_COMMIT"),
    ", built ",
    env!("SLOGATE_BUILD_DATE"),
    ")"
);

/// An environment variable a command reads, for `--help` and the man pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvVar {
    pub name: &'static str,
    pub about: &'static str,
}

const fn var(name: &'static str, about: &'static str) -> EnvVar {
    EnvVar { name, about }
}

const DT_URL: EnvVar = var(
    "DT_URL",
    "The Dynatrace environment, e.g. https://abc12345.live.dynatrace.com (slogate.yaml's `dynatrace.url` wins).",
);
const DT_TENANT: EnvVar = var(
    "DT_TENANT",
    "Keptn's name for DT_URL, read when DT_URL is not set.",
);
const DT_API_TOKEN: EnvVar = var(
    "DT_API_TOKEN",
    "The Dynatrace API token (or the variable slogate.yaml's `dynatrace.token_env` names).",
);
const DT_PLATFORM_TOKEN: EnvVar = var(
    "DT_PLATFORM_TOKEN",
    "The platform token for DQL queries (or the variable `dynatrace.platform_token_env` names).",
);
const PROMETHEUS_URL: EnvVar = var(
    "PROMETHEUS_URL",
    "The Prometheus server, e.g. http://prometheus.monitoring:9090 (slogate.yaml's `prometheus.url` wins).",
);
const PROMETHEUS_USER: EnvVar = var(
    "PROMETHEUS_USER",
    "With PROMETHEUS_PASSWORD: basic auth for a Prometheus behind a proxy.",
);
const PROMETHEUS_PASSWORD: EnvVar = var("PROMETHEUS_PASSWORD", "The basic-auth password.");
const ENV_PLACEHOLDERS: EnvVar = var(
    "$ENV.<NAME>",
    "Any variable an SLI query names as $ENV.<NAME> (never the token variables).",
);
const SLOGATE_HISTORY: EnvVar = var(
    "SLOGATE_HISTORY",
    "Where earlier verdicts are kept when --history is not given: a SQLite file or `dynatrace`.",
);
const PROXIES: EnvVar = var(
    "HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY",
    "The proxy for requests (lower case first; never for 127.0.0.1 or localhost).",
);
const CI_DETECTION: EnvVar = var(
    "TF_BUILD, GITHUB_ACTIONS, GITLAB_CI",
    "Which CI runs slogate (--ci auto): Azure DevOps (also SYSTEM_TEAMFOUNDATIONCOLLECTIONURI), GitHub, GitLab.",
);
const CI_METADATA: EnvVar = var(
    "BUILD_*, RELEASE_*, SYSTEM_*, GITHUB_*, CI_*",
    "The CI's run metadata (build id, commit, run URL) for the report and the events sent to Dynatrace.",
);
const CI_OUTPUTS: EnvVar = var(
    "GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, AGENT_TEMPDIRECTORY",
    "Where the GitHub outputs and summary are written; Azure's folder for the summary file.",
);
const NO_COLOR: EnvVar = var(
    "NO_COLOR",
    "Set: no colors in diagnostics (with --color auto).",
);

/// The environment a command reads, by its path (`["gate"]`, `["history", "list"]`).
pub fn environment_of(path: &[&str]) -> Vec<EnvVar> {
    let dynatrace = [DT_URL, DT_TENANT, DT_API_TOKEN];
    let prometheus = [PROMETHEUS_URL, PROMETHEUS_USER, PROMETHEUS_PASSWORD];
    let mut out: Vec<EnvVar> = match path.first().copied() {
        Some("eval" | "gate") => [
            &dynatrace[..],
            &[DT_PLATFORM_TOKEN],
            &prometheus,
            &[
                ENV_PLACEHOLDERS,
                SLOGATE_HISTORY,
                CI_DETECTION,
                CI_METADATA,
                CI_OUTPUTS,
                PROXIES,
            ],
        ]
        .concat(),
        Some("explain") => vec![DT_URL, DT_TENANT, PROMETHEUS_URL, ENV_PLACEHOLDERS],
        Some("mark") => [&dynatrace[..], &[CI_DETECTION, CI_METADATA, PROXIES]].concat(),
        Some("dashboard") => [&dynatrace[..], &[ENV_PLACEHOLDERS, PROXIES]].concat(),
        Some("history") => [&[SLOGATE_HISTORY], &dynatrace[..], &[PROXIES]].concat(),
        Some("lint") => [&dynatrace[..], &[PROXIES]].concat(),
        Some("score" | "config") => Vec::new(),
        Some(_) => return Vec::new(),
        None => vec![DT_URL, DT_API_TOKEN, PROMETHEUS_URL, SLOGATE_HISTORY],
    };
    out.push(NO_COLOR);
    out
}

/// The `Environment:` section of a command's help.
fn environment_help(path: &[&str]) -> Option<String> {
    let vars = environment_of(path);
    if vars.is_empty() {
        return None;
    }
    let mut text = String::from("Environment:\n");
    for v in &vars {
        text.push_str(&format!("  {}\n          {}\n", v.name, v.about));
    }
    if path.is_empty() {
        text.push_str("  (each command's --help lists all it reads)\n");
    }
    Some(text.trim_end().to_string())
}

/// The command-line interface with each command's environment added to its help. `main`, the
/// completions and the man pages all take it from here.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    with_environment(Cli::command(), &[])
}

fn with_environment(cmd: clap::Command, path: &[&str]) -> clap::Command {
    let mut cmd = match environment_help(path) {
        Some(env) => {
            let text = match cmd.get_after_help() {
                Some(before) => format!("{before}\n\n{env}"),
                None => env,
            };
            cmd.after_help(text)
        }
        None => cmd,
    };
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        let mut sub_path: Vec<&str> = path.to_vec();
        sub_path.push(&name);
        cmd = cmd.mut_subcommand(&name, |s| with_environment(s, &sub_path));
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
        for a in cmd.get_arguments() {
            let id = a.get_id().as_str();
            if id == "help" || id == "version" || a.is_hide_set() {
                continue;
            }
            if a.get_help().is_none() && a.get_long_help().is_none() {
                out.push(format!("{path} --{id}"));
            }
        }
        for s in cmd.get_subcommands() {
            walk(s, &format!("{path} {}", s.get_name()), out);
        }
    }

    #[test]
    fn every_flag_has_a_help_text() {
        let mut cmd = command();
        cmd.build();
        let mut missing = Vec::new();
        walk(&cmd, "slogate", &mut missing);
        assert!(missing.is_empty(), "flags without help: {missing:#?}");
    }

    #[test]
    fn each_command_lists_the_environment_it_reads() {
        let mut cmd = command();
        cmd.build();
        let help = |path: &[&str]| {
            let mut c = cmd.clone();
            for p in path {
                c = c.find_subcommand(p).expect("subcommand").clone();
            }
            c.render_long_help().to_string()
        };
        for (path, vars) in [
            (
                &["gate"][..],
                &[
                    "DT_URL",
                    "DT_API_TOKEN",
                    "PROMETHEUS_URL",
                    "PROMETHEUS_USER",
                    "PROMETHEUS_PASSWORD",
                    "SLOGATE_HISTORY",
                    "NO_COLOR",
                    "GITHUB_OUTPUT",
                ][..],
            ),
            (&["eval"], &["DT_URL", "DT_API_TOKEN", "PROMETHEUS_URL"]),
            (&["mark"], &["DT_URL", "DT_API_TOKEN", "TF_BUILD"]),
            (&["history", "list"], &["SLOGATE_HISTORY", "DT_URL"]),
            (&["dashboard", "export"], &["DT_URL", "DT_API_TOKEN"]),
            (&["lint"], &["DT_URL", "DT_API_TOKEN"]),
            (&["explain"], &["DT_URL", "PROMETHEUS_URL"]),
            (&["score"], &["NO_COLOR"]),
        ] {
            let text = help(path);
            let env = text
                .split_once("Environment:")
                .map(|(_, e)| e)
                .unwrap_or_else(|| panic!("{path:?}: no Environment section:\n{text}"));
            for v in vars {
                assert!(env.contains(v), "{path:?} does not list {v}:\n{env}");
            }
        }
        assert!(!help(&["score"]).contains("DT_URL"));
    }
}
