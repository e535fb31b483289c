//! `slogate history`: list, show, invalidate, export and import stored evaluations, in the
//! SQLite store or the Dynatrace history. The work is in `history::manage`; this turns flags
//! into its calls and opens the store.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

use crate::clock::{Clock, SystemClock};
use crate::diag::Problem;
use crate::history::dynatrace::{EventHistory, EventSink};
use crate::history::manage::{self, Format};
use crate::history::{self, History, HistoryError, HistoryLocation, ListFilter, Store};
use crate::ui::{Exit, Ui, stdout};

/// `slogate history [--history PATH|dynatrace] [--config DIR] <list|show|invalidate|export|import>`.
#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// The history store: a SQLite file, or `dynatrace` for the verdict events in Dynatrace
    /// (DT_URL, DT_API_TOKEN) [default: $SLOGATE_HISTORY, else slogate.yaml `history:`, else
    /// <config root>/.slogate/history.sqlite].
    #[arg(long, value_name = "PATH", global = true)]
    pub history: Option<PathBuf>,

    /// The config root whose `.slogate/history.sqlite` is the default store.
    #[arg(long, value_name = "DIR", default_value = "slo", global = true)]
    pub config: PathBuf,

    /// With `--history dynatrace`: the environment under `environments:` in slogate.yaml whose
    /// verdict events to read (docs/fleets.md). A fleet's SQLite files are named per environment
    /// (`history.<env>.sqlite`): pass that file with --history instead.
    #[arg(long, value_name = "NAME", global = true)]
    pub environment: Option<String>,

    #[command(subcommand)]
    pub command: HistoryCommand,
}

#[derive(Subcommand, Debug)]
pub enum HistoryCommand {
    /// Stored evaluations, newest first (by the end of their window), one per window with its
    /// number of runs.
    List(ListArgs),
    /// One stored evaluation in full.
    Show(ShowArgs),
    /// Ignore an evaluation when later ones compare with earlier results (Keptn's "ignore for
    /// comparison").
    Invalidate(InvalidateArgs),
    /// Every stored evaluation as JSON lines on stdout, oldest first (`import` reads them back).
    Export,
    /// Add slogate JSON reports, `export` lines, and Keptn evaluation.finished /
    /// evaluation.invalidated events.
    Import(ImportArgs),
    /// One self-contained HTML page (or a Markdown table) of the stored evaluations: the
    /// heatmap of SLIs × evaluations, the score line and each SLI's trend, per service.
    Report(ReportArgs),
    /// Mark an evaluation as the known-good baseline of its service (`comparison: pinned`).
    Pin(PinArgs),
    /// Remove the pin of an evaluation.
    Unpin(UnpinArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PageFormat {
    Html,
    Markdown,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Only evaluations of this service.
    #[arg(long)]
    pub service: Option<String>,

    /// Only evaluations of this stage.
    #[arg(long)]
    pub stage: Option<String>,

    /// Only evaluations of this project.
    #[arg(long)]
    pub project: Option<String>,

    /// At most the newest N evaluations per service [default: all for html, 10 for markdown].
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,

    /// Only evaluations whose window ended at or after this time: RFC 3339, epoch
    /// milliseconds, or `now-7d`.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// `html`: one self-contained page; `markdown`: the last evaluations as a compact table.
    #[arg(long, value_enum, default_value_t = PageFormat::Html)]
    pub format: PageFormat,

    /// Write the page to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Link each evaluation to its own report: `{id}` becomes its id, e.g.
    /// `https://ci.example/artifacts/{id}/report.html` or `reports/{id}.html`.
    #[arg(long, value_name = "TEMPLATE")]
    pub report_link: Option<String>,
}

#[derive(Args, Debug)]
pub struct PinArgs {
    /// The evaluation's id, an earlier run's id, or a unique prefix (at least 4 characters).
    #[arg(value_name = "ID")]
    pub id: String,

    /// Why it is the known-good baseline (shown by `list`, `show` and the reports).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Args, Debug)]
pub struct UnpinArgs {
    /// The pinned evaluation's id or a unique prefix.
    #[arg(value_name = "ID")]
    pub id: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ResultFilter {
    Pass,
    Warning,
    Fail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Only evaluations of this service.
    #[arg(long)]
    pub service: Option<String>,

    /// Only evaluations of this stage.
    #[arg(long)]
    pub stage: Option<String>,

    /// Only evaluations of this project.
    #[arg(long)]
    pub project: Option<String>,

    /// Only evaluations with this overall result.
    #[arg(long, value_enum)]
    pub result: Option<ResultFilter>,

    /// At most this many (0: all).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,

    /// `json` prints the records with their fields (`runs` included).
    #[arg(long, value_enum, default_value_t = HistoryFormat::Text)]
    pub format: HistoryFormat,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The evaluation's id, an earlier run's id, or a unique prefix (at least 4 characters).
    #[arg(value_name = "ID")]
    pub id: String,

    /// `json` prints the stored report or event with its id and history fields.
    #[arg(long, value_enum, default_value_t = HistoryFormat::Text)]
    pub format: HistoryFormat,
}

#[derive(Args, Debug)]
pub struct InvalidateArgs {
    /// The evaluation's id, an earlier run's id, or a unique prefix (at least 4 characters).
    #[arg(value_name = "ID")]
    pub id: String,

    /// Why it must not serve as a baseline (shown by `list` and `show`).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Files holding one JSON document, a JSON list, JSON lines, or Keptn's `{"events": [...]}`.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

pub fn run(args: &HistoryArgs, ui: &Ui) -> Exit {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    // slogate.yaml's `history:`; a broken slogate.yaml is reported by the commands that need it.
    let settings = crate::shell::settings_of(&args.config).ok();
    let setting = settings
        .as_ref()
        .and_then(|s| s.history.as_ref().map(|h| h.value.clone()));
    let location = history::resolve_path(
        args.history.as_deref(),
        &env,
        setting.as_deref(),
        &args.config,
    );
    let done = match (&location, &args.environment) {
        (HistoryLocation::Dynatrace, name) => {
            let mut settings = settings.unwrap_or_default();
            match name.as_deref().map(|n| settings.select_environment(n)) {
                Some(Err(m)) => Err(usage(
                    m,
                    "name one of slogate.yaml's `environments:` (docs/fleets.md)",
                )),
                _ => in_dynatrace(args, &env, &settings, &SystemClock),
            }
        }
        (HistoryLocation::File(p) | HistoryLocation::Default(p), Some(name)) => Err(usage(
            format!(
                "--environment {name} picks a Dynatrace environment; this history is the file {}",
                p.display()
            ),
            &format!(
                "a fleet keeps each environment's verdicts in its own file: pass --history {}",
                crate::fleet::history_of(p, name).display()
            ),
        )),
        _ => execute(args, &env, setting.as_deref(), &SystemClock),
    };
    match done {
        Ok(exit) => exit,
        Err((exit, problems)) => {
            ui.problems(&problems);
            exit
        }
    }
}

type Failure = (Exit, Vec<Problem>);

fn failure(e: HistoryError) -> Failure {
    let exit = if e.exit_code() == 2 {
        Exit::Invalid
    } else {
        Exit::CouldNotEvaluate
    };
    (exit, vec![e.problem()])
}

fn usage(message: String, help: &str) -> Failure {
    (
        Exit::Invalid,
        vec![
            Problem::file("slogate::usage", history::PROBLEM_FILE, message).help(help.to_string()),
        ],
    )
}

fn format(f: HistoryFormat) -> Format {
    match f {
        HistoryFormat::Text => Format::Text,
        HistoryFormat::Json => Format::Json,
    }
}

fn filter(a: &ListArgs) -> ListFilter {
    ListFilter {
        project: a.project.clone(),
        stage: a.stage.clone(),
        service: a.service.clone(),
        result: a.result.map(|r| {
            match r {
                ResultFilter::Pass => "pass",
                ResultFilter::Warning => "warning",
                ResultFilter::Fail => "fail",
            }
            .to_string()
        }),
        limit: (a.limit > 0).then_some(a.limit),
    }
}

/// The subcommand against a store (`None`: a SQLite file that does not exist yet; reading
/// commands do not create it). `open` creates the store for `import`.
fn dispatch(
    command: &HistoryCommand,
    store: Option<&mut dyn History>,
    open: &mut dyn FnMut() -> Result<Box<dyn History>, HistoryError>,
    place: &str,
    clock: &dyn Clock,
) -> Result<Exit, Failure> {
    let text = match command {
        HistoryCommand::List(a) => manage::list(store.as_deref(), &filter(a), format(a.format)),
        HistoryCommand::Show(a) => manage::show(store.as_deref(), &a.id, place, format(a.format)),
        HistoryCommand::Invalidate(a) => {
            manage::invalidate(store, &a.id, a.reason.as_deref(), place, clock.now())
        }
        HistoryCommand::Export => {
            let mut out = PipeOut {
                inner: std::io::stdout().lock(),
                closed: false,
            };
            return match manage::export(store.as_deref(), &mut out) {
                Ok(_) => Ok(Exit::Pass),
                // A closed pipe (`export | head`) is not an error.
                Err(_) if out.closed => Ok(Exit::Pass),
                Err(e) => Err(failure(e)),
            };
        }
        HistoryCommand::Import(a) => {
            let docs = manage::read_documents(&a.files).map_err(failure)?;
            let mut created;
            let target: &mut dyn History = match store {
                Some(s) => s,
                None => {
                    created = open().map_err(failure)?;
                    created.as_mut()
                }
            };
            manage::import(target, &docs, place, clock.now())
        }
        HistoryCommand::Pin(a) => {
            manage::pin(store, &a.id, a.reason.as_deref(), place, clock.now())
        }
        HistoryCommand::Unpin(a) => manage::unpin(store, &a.id, place, clock.now()),
        HistoryCommand::Report(a) => return page(a, store.as_deref(), place, clock),
    };
    stdout(&text.map_err(failure)?);
    Ok(Exit::Pass)
}

/// `report`: the page of the stored evaluations, to stdout or `--output`.
fn page(
    a: &ReportArgs,
    store: Option<&dyn History>,
    place: &str,
    clock: &dyn Clock,
) -> Result<Exit, Failure> {
    let since = match &a.since {
        Some(t) => Some(crate::window::parse_time(t, clock.now()).map_err(|m| {
            usage(
                format!("--since {t}: {m}"),
                "e.g. --since 2026-11-01T00:00:00Z or --since now-7d",
            )
        })?),
        None => None,
    };
    if a.last == Some(0) {
        return Err(usage(
            "--last 0 shows nothing".into(),
            "give at least 1, or leave --last out for every evaluation",
        ));
    }
    let report_link = match &a.report_link {
        Some(t) if t.contains(':') && !crate::report::markdown::is_web_url(t) => {
            return Err(usage(
                format!("--report-link {t}: only http(s) links and relative paths are linked"),
                "e.g. --report-link 'https://ci.example/artifacts/{id}/report.html' or 'reports/{id}.html'",
            ));
        }
        t => t.clone(),
    };
    let options = history::page::Options {
        last: a.last.or(match a.format {
            PageFormat::Markdown => Some(history::page_md::DEFAULT_ROWS),
            PageFormat::Html => None,
        }),
        since,
        report_link,
    };
    let filter = ListFilter {
        project: a.project.clone(),
        stage: a.stage.clone(),
        service: a.service.clone(),
        result: None,
        limit: None,
    };
    let records = match store {
        Some(s) => s.evaluations(&filter).map_err(failure)?,
        None => Vec::new(),
    };
    let built = history::page::build(&records, &options, place);
    let text = match a.format {
        PageFormat::Html => history::page_html::render(&built),
        PageFormat::Markdown => history::page_md::render(&built),
    };
    match &a.output {
        Some(path) => {
            // Through the same guards as stdout: no token, no CI logging command.
            let safe = crate::source::secret::redact(&text);
            std::fs::write(path, &*crate::report::sanitize::guard(&safe)).map_err(|e| {
                (
                    Exit::CouldNotEvaluate,
                    vec![
                        Problem::file(
                            "slogate::io",
                            &path.display().to_string(),
                            format!("cannot write: {e}"),
                        )
                        .help("check that the folder exists and is writable"),
                    ],
                )
            })?;
        }
        None => stdout(&text),
    }
    Ok(Exit::Pass)
}

/// The command on a SQLite store, with its inputs made explicit: the environment, slogate.yaml's
/// `history:` value and the clock.
pub fn execute(
    args: &HistoryArgs,
    env: &BTreeMap<String, String>,
    setting: Option<&str>,
    clock: &dyn Clock,
) -> Result<Exit, Failure> {
    let location = history::resolve_path(args.history.as_deref(), env, setting, &args.config);
    let Some(path) = location.path().map(Path::to_path_buf) else {
        return Err(usage(
            "the Dynatrace history is not a file".into(),
            "give --history PATH",
        ));
    };
    let mut store = match path.exists() {
        true => Some(Store::open(&path).map_err(failure)?),
        false => None,
    };
    let mut open = || -> Result<Box<dyn History>, HistoryError> {
        match location.open() {
            Some(s) => Ok(Box::new(s?)),
            None => Err(HistoryError::Remote {
                reason: "not a file".into(),
            }),
        }
    };
    let place = path.display().to_string();
    dispatch(
        &args.command,
        store.as_mut().map(|s| s as &mut dyn History),
        &mut open,
        &place,
        clock,
    )
}

/// The Dynatrace side: the verdict events of the last days, read once; new events sent through
/// the same client.
struct Events<'a> {
    rt: &'a tokio::runtime::Runtime,
    client: &'a crate::source::http::Client,
    settings: &'a crate::model::settings::Settings,
}

impl EventSink for Events<'_> {
    fn send(&mut self, body: &Value) -> Result<(), String> {
        match self
            .rt
            .block_on(crate::source::events::ingest(self.client, body))
        {
            Ok(r) if r.is_empty() => Err(format!("no entity matched {}", body["entitySelector"])),
            Ok(_) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn selector(&self, project: &str, stage: &str, service: &str) -> Result<String, String> {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        crate::shell::selectors(
            self.settings,
            None,
            some(project).as_deref(),
            some(stage).as_deref(),
            &[some(service)],
        )
        .map_err(|p| p.first().map(|p| p.message.clone()).unwrap_or_default())
        .map(|mut v| v.remove(0).1)
    }
}

/// The command on the Dynatrace history (`--history dynatrace`).
fn in_dynatrace(
    args: &HistoryArgs,
    env: &BTreeMap<String, String>,
    settings: &crate::model::settings::Settings,
    clock: &dyn Clock,
) -> Result<Exit, Failure> {
    let conn = crate::plan::connection(settings, env).map_err(|p| (Exit::Invalid, vec![p]))?;
    if conn.token.is_none() {
        return Err(usage(
            format!(
                "no Dynatrace API token: the environment variable {} is not set",
                conn.token_env
            ),
            "the Dynatrace history needs a token with events.read (and events.ingest to invalidate or import); see docs/token-scopes.md",
        ));
    }
    let client = crate::shell::client_for(&conn, std::time::Duration::from_secs(30), 4)
        .map_err(|e| (Exit::Invalid, vec![e.problem()]))?;
    let rt = crate::shell::runtime().map_err(|p| (Exit::Invalid, p))?;
    let now = clock.now();
    let from = now - chrono::Duration::days(history::dynatrace::LOOKBACK_DAYS);
    let events = rt
        .block_on(crate::source::events::find(
            &client,
            "CUSTOM_INFO",
            "",
            from.timestamp_millis(),
            now.timestamp_millis(),
        ))
        .map_err(|e| {
            failure(HistoryError::Remote {
                reason: format!("cannot read the verdict events at {}: {e}", conn.url),
            })
        })?;
    let mut sink = Events {
        rt: &rt,
        client: &client,
        settings,
    };
    let mut store = EventHistory::new(&events, &mut sink);
    let place = format!("the Dynatrace history at {}", conn.url);
    let mut open = || -> Result<Box<dyn History>, HistoryError> {
        Err(HistoryError::Remote {
            reason: "already open".into(),
        })
    };
    dispatch(&args.command, Some(&mut store), &mut open, &place, clock)
}

/// stdout that remembers whether the reader went away.
struct PipeOut<W: Write> {
    inner: W,
    closed: bool,
}

impl<W: Write> Write for PipeOut<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf).inspect_err(|e| {
            self.closed |= e.kind() == std::io::ErrorKind::BrokenPipe;
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush().inspect_err(|e| {
            self.closed |= e.kind() == std::io::ErrorKind::BrokenPipe;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Imported;
    use crate::history::manage::{list_text, show_text};
    use clap::{CommandFactory, Parser};

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        history: HistoryArgs,
    }

    struct FixedClock;

    impl Clock for FixedClock {
        fn now(&self) -> chrono::DateTime<chrono::Utc> {
            "2026-11-20T08:00:00Z".parse().unwrap()
        }

        fn sleep(&self, _: std::time::Duration) {}
    }

    fn fixture(name: &str) -> String {
        format!(
            "{}/tests/fixtures/history/{name}",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    fn run_in(dir: &Path, args: &[&str]) -> Exit {
        let store = dir.join("h.sqlite");
        let mut argv = vec!["slogate-history", "--history", store.to_str().unwrap()];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(argv).unwrap();
        match execute(&cli.history, &BTreeMap::new(), None, &FixedClock) {
            Ok(exit) => exit,
            Err((exit, problems)) => {
                assert!(!problems.is_empty());
                exit
            }
        }
    }

    fn failure(dir: &Path, args: &[&str]) -> Failure {
        let store = dir.join("h.sqlite");
        let mut argv = vec!["slogate-history", "--history", store.to_str().unwrap()];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(argv).unwrap();
        execute(&cli.history, &BTreeMap::new(), None, &FixedClock).unwrap_err()
    }

    #[test]
    fn the_clap_definition_is_valid() {
        Cli::command().debug_assert();
        // --history and --config are accepted after the subcommand too.
        let cli = Cli::try_parse_from([
            "x",
            "list",
            "--history",
            "h.sqlite",
            "--config",
            "c",
            "--result",
            "pass",
            "--limit",
            "0",
        ])
        .unwrap();
        assert_eq!(cli.history.history.as_deref(), Some(Path::new("h.sqlite")));
        assert_eq!(cli.history.config, Path::new("c"));
        let HistoryCommand::List(l) = &cli.history.command else {
            panic!()
        };
        assert_eq!((l.result, l.limit), (Some(ResultFilter::Pass), 0));
        assert!(
            Cli::try_parse_from(["x", "show"]).is_err(),
            "ID is required"
        );
        assert!(
            Cli::try_parse_from(["x", "import"]).is_err(),
            "FILE is required"
        );
        let cli =
            Cli::try_parse_from(["x", "invalidate", "abcd", "--reason", "load test"]).unwrap();
        let HistoryCommand::Invalidate(i) = &cli.history.command else {
            panic!()
        };
        assert_eq!(
            (i.id.as_str(), i.reason.as_deref()),
            ("abcd", Some("load test"))
        );
        assert_eq!(cli.history.config, Path::new("slo"));
    }

    #[test]
    fn import_invalidate_and_their_exit_codes() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (events, report, invalidated) = (
            fixture("keptn-events.json"),
            fixture("report.json"),
            fixture("keptn-invalidated.json"),
        );
        assert_eq!(run_in(d, &["import", &events, &report]), Exit::Pass);
        assert_eq!(run_in(d, &["import", &invalidated, &events]), Exit::Pass);
        let store = Store::open(&d.join("h.sqlite")).unwrap();
        assert_eq!(store.count().unwrap(), 4);
        let list = store.list(&ListFilter::default()).unwrap();
        assert_eq!(list.iter().filter(|s| s.invalidated).count(), 1);
        let id = list[0].id.clone();
        drop(store);

        // A unique prefix works; an unknown id is bad input (2).
        assert_eq!(
            run_in(d, &["invalidate", &id[..8], "--reason", "load test"]),
            Exit::Pass
        );
        let s = Store::open(&d.join("h.sqlite"))
            .unwrap()
            .show(&id)
            .unwrap()
            .unwrap()
            .summary;
        assert_eq!(s.invalidated_reason.as_deref(), Some("load test"));
        let (exit, problems) = failure(d, &["invalidate", "no-such-id"]);
        assert_eq!(exit, Exit::Invalid);
        assert_eq!(problems[0].code, "slogate::unknown-evaluation");
        assert!(problems[0].message.contains("`no-such-id`"));
        let (exit, _) = failure(d, &["show", "no-such-id"]);
        assert_eq!(exit, Exit::Invalid);

        // A bad document: 2, naming the file and the document, and nothing is added.
        let bad = d.join("bad.json");
        std::fs::write(&bad, "{\"result\": \"pass\"}\n{\"score\": 3}\n").unwrap();
        let (exit, problems) = failure(d, &["import", bad.to_str().unwrap()]);
        assert_eq!(exit, Exit::Invalid);
        assert!(problems[0].message.contains("bad.json#2: missing `result`"));
        assert_eq!(
            Store::open(&d.join("h.sqlite")).unwrap().count().unwrap(),
            4
        );
        let (exit, problems) = failure(d, &["import", d.join("missing.json").to_str().unwrap()]);
        assert_eq!(exit, Exit::Invalid);
        assert_eq!(problems[0].code, "slogate::io");
    }

    #[test]
    fn reading_commands_do_not_create_a_store() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(run_in(d, &["list", "--format", "json"]), Exit::Pass);
        assert_eq!(run_in(d, &["export"]), Exit::Pass);
        let (exit, problems) = failure(d, &["show", "abcd"]);
        assert_eq!(exit, Exit::Invalid);
        assert!(problems[0].message.contains("does not exist yet"));
        assert_eq!(failure(d, &["invalidate", "abcd"]).0, Exit::Invalid);
        assert!(!d.join("h.sqlite").exists());
    }

    #[test]
    fn an_unusable_store_exits_3_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("h.sqlite")).unwrap();
        for args in [
            &["list"][..],
            &["export"],
            &["import", &fixture("report.json")],
        ] {
            let (exit, problems) = failure(d, args);
            assert_eq!(exit, Exit::CouldNotEvaluate, "{args:?}");
            assert_eq!(problems[0].code, "slogate::history");
            let store = d.join("h.sqlite").display().to_string();
            assert!(
                problems[0].message.contains(&store),
                "{}",
                problems[0].message
            );
            assert!(problems[0].message.contains("is a directory"));
        }
        std::fs::remove_dir(d.join("h.sqlite")).unwrap();
        std::fs::write(d.join("h.sqlite"), "not sqlite, just text ".repeat(100)).unwrap();
        let (exit, problems) = failure(d, &["list"]);
        assert_eq!(exit, Exit::CouldNotEvaluate);
        assert!(problems[0].message.contains("not a database"));
    }

    #[test]
    fn execute_works_on_files_the_dynatrace_history_elsewhere() {
        let cli = Cli::try_parse_from(["x", "--history", "dynatrace", "list"]).unwrap();
        let (exit, _) = execute(&cli.history, &BTreeMap::new(), None, &FixedClock).unwrap_err();
        assert_eq!(exit, Exit::Invalid);
    }

    #[test]
    fn list_and_show_text() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("h.sqlite")).unwrap();
        let now = FixedClock.now();
        for doc in
            history::documents(&std::fs::read_to_string(fixture("keptn-events.json")).unwrap())
                .unwrap()
        {
            store.import(&doc, now).unwrap();
        }
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(fixture("report.json")).unwrap())
                .unwrap();
        let Imported::Added(rid) = store.import(&report, now).unwrap() else {
            panic!()
        };
        store
            .invalidate(
                "4c8d2e3f-0000-4000-8000-0000000000e2",
                Some("load test"),
                now,
            )
            .unwrap();
        let text = list_text(&store.list(&ListFilter::default()).unwrap());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        let words = |i: usize| lines[i].split_whitespace().collect::<Vec<_>>();
        assert_eq!(
            words(0),
            [
                "ID", "WINDOW", "END", "PROJECT", "STAGE", "SERVICE", "RESULT", "SCORE", "RUNS"
            ]
        );
        assert_eq!(
            words(1),
            [
                rid.as_str(),
                "2026-11-17T10:30:00Z",
                "shop",
                "production",
                "checkout",
                "warning",
                "80",
                "1"
            ]
        );
        assert_eq!(words(2)[5..], ["fail", "0", "1"]);
        assert_eq!(words(3)[5..], ["pass", "(invalidated)", "100", "1"]);
        // Columns line up.
        let col = lines[0].find("RESULT").unwrap();
        assert!(lines.iter().skip(1).all(|l| l[col..].starts_with("pass")
            || l[col..].starts_with("fail")
            || l[col..].starts_with("warning")));
        assert_eq!(list_text(&[]), "no stored evaluations\n");

        let keptn = store
            .show("4c8d2e3f-0000-4000-8000-0000000000e2")
            .unwrap()
            .unwrap();
        let text = show_text(&keptn);
        assert!(
            text.starts_with("evaluation 4c8d2e3f-0000-4000-8000-0000000000e2\n"),
            "{text}"
        );
        assert!(text.contains("recorded   2024-03-02T08:00:00.000Z by lighthouse-service\n"));
        assert!(
            text.contains("INVALIDATED 2026-11-20T08:00:00.000Z (load test)"),
            "{text}"
        );
        assert!(
            text.contains("PASS  score 100\nservice checkout, stage production, project shop\n")
        );
        assert!(text.contains("response_time_p95  455\n"), "{text}");
        let slogate = store.show(&rid).unwrap().unwrap();
        let text = show_text(&slogate);
        assert!(text.contains("labels     buildId=412\n"), "{text}");
        assert!(text.contains("WARNING  score 80"), "{text}");
    }
}
