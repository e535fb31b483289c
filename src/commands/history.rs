//! `slogate history`: list, show, invalidate, export and import stored evaluations.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

use crate::clock::{Clock, SystemClock};
use crate::diag::Problem;
use crate::history::{
    self, HistoryError, HistoryLocation, ImportSummary, Imported, ListFilter, Lookup, Store,
    StoredEvaluation, Summary,
};
use crate::report;
use crate::ui::{Exit, Ui, stdout};

/// `slogate history [--history PATH] [--config DIR] <list|show|invalidate|export|import>`.
#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// The history store: a SQLite file [default: $SLOGATE_HISTORY, else slogate.yaml
    /// `history:`, else <config root>/.slogate/history.sqlite].
    #[arg(long, value_name = "PATH", global = true)]
    pub history: Option<PathBuf>,

    /// The config root whose `.slogate/history.sqlite` is the default store.
    #[arg(long, value_name = "DIR", default_value = "slo", global = true)]
    pub config: PathBuf,

    #[command(subcommand)]
    pub command: HistoryCommand,
}

#[derive(Subcommand, Debug)]
pub enum HistoryCommand {
    /// Stored evaluations, newest first (by the end of their window).
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

    /// `json`: one object per evaluation, for machines.
    #[arg(long, value_enum, default_value_t = HistoryFormat::Text)]
    pub format: HistoryFormat,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The evaluation's id, or a unique prefix of it (at least 4 characters).
    #[arg(value_name = "ID")]
    pub id: String,

    /// `json` prints the stored report or event with its id and history fields.
    #[arg(long, value_enum, default_value_t = HistoryFormat::Text)]
    pub format: HistoryFormat,
}

#[derive(Args, Debug)]
pub struct InvalidateArgs {
    /// The evaluation's id, or a unique prefix of it (at least 4 characters).
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
    let setting = crate::shell::settings_of(&args.config)
        .ok()
        .and_then(|s| s.history.map(|h| h.value));
    match execute(args, &env, setting.as_deref(), &SystemClock) {
        Ok(exit) => exit,
        Err((exit, problems)) => {
            ui.problems(&problems);
            exit
        }
    }
}

type Failure = (Exit, Vec<Problem>);

fn store_failure(e: &HistoryError) -> Failure {
    let exit = if e.exit_code() == 2 {
        Exit::Invalid
    } else {
        Exit::CouldNotEvaluate
    };
    (exit, vec![e.problem()])
}

fn invalid(code: &'static str, what: &str, message: String, help: &str) -> Failure {
    (
        Exit::Invalid,
        vec![Problem::file(code, what, message).help(help.to_string())],
    )
}

/// The command with its inputs made explicit: the environment, slogate.yaml's `history:` value
/// and the clock.
pub fn execute(
    args: &HistoryArgs,
    env: &BTreeMap<String, String>,
    setting: Option<&str>,
    clock: &dyn Clock,
) -> Result<Exit, Failure> {
    let location = history::resolve_path(args.history.as_deref(), env, setting, &args.config);
    let path = match &location {
        HistoryLocation::Dynatrace => {
            return Err(invalid(
                "slogate::usage",
                history::PROBLEM_FILE,
                "`slogate history` manages a SQLite history file; `dynatrace` is the history of CUSTOM_INFO events that `--push-result` writes, read by `gate` and `eval`".into(),
                "give --history PATH (or unset $SLOGATE_HISTORY) to work with a history file",
            ));
        }
        HistoryLocation::File(p) | HistoryLocation::Default(p) => p.clone(),
    };
    match &args.command {
        HistoryCommand::List(a) => {
            let Some(store) = existing(&path)? else {
                print_list(&[], a.format);
                return Ok(Exit::Pass);
            };
            let filter = ListFilter {
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
            };
            let list = store.list(&filter).map_err(|e| store_failure(&e))?;
            print_list(&list, a.format);
            Ok(Exit::Pass)
        }
        HistoryCommand::Show(a) => {
            let store = existing(&path)?;
            let id = find(store.as_ref(), &a.id, &path)?;
            let store = store.expect("an id was found, so the store exists");
            let Some(found) = store.show(&id).map_err(|e| store_failure(&e))? else {
                return Err(unknown_id(&a.id, &path));
            };
            match a.format {
                HistoryFormat::Json => stdout(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&found.export_line()).unwrap_or_default()
                )),
                HistoryFormat::Text => stdout(&show_text(&found)),
            }
            Ok(Exit::Pass)
        }
        HistoryCommand::Invalidate(a) => {
            let store = existing(&path)?;
            let id = find(store.as_ref(), &a.id, &path)?;
            let mut store = store.expect("an id was found, so the store exists");
            let reason = a.reason.as_deref().filter(|r| !r.trim().is_empty());
            if !store
                .invalidate(&id, reason, clock.now())
                .map_err(|e| store_failure(&e))?
            {
                return Err(unknown_id(&a.id, &path));
            }
            stdout(&format!(
                "invalidated {id}: later evaluations no longer compare with it\n"
            ));
            Ok(Exit::Pass)
        }
        HistoryCommand::Export => {
            let Some(store) = existing(&path)? else {
                return Ok(Exit::Pass);
            };
            let mut out = PipeOut {
                inner: std::io::stdout().lock(),
                closed: false,
            };
            match store.export(&mut out) {
                Ok(_) => Ok(Exit::Pass),
                // A closed pipe (`export | head`) is not an error.
                Err(_) if out.closed => Ok(Exit::Pass),
                Err(e) => Err(store_failure(&e)),
            }
        }
        HistoryCommand::Import(a) => {
            let docs = read_documents(&a.files)?;
            let mut store = location
                .open()
                .expect("a file location")
                .map_err(|e| store_failure(&e))?;
            let outcomes = store
                .import_all(&docs, clock.now())
                .map_err(|e| store_failure(&e))?;
            let mut sum = ImportSummary::default();
            let mut waiting = 0;
            for o in &outcomes {
                match o {
                    Imported::Added(_) => sum.added += 1,
                    Imported::Existing(_) => sum.existing += 1,
                    Imported::Invalidation { matched, .. } => {
                        sum.invalidations += 1;
                        if *matched == 0 {
                            waiting += 1;
                        }
                    }
                }
            }
            let mut line = format!(
                "imported {} evaluation{} into {}",
                sum.added,
                plural(sum.added),
                path.display()
            );
            if sum.existing > 0 {
                line.push_str(&format!("; {} already stored", sum.existing));
            }
            if sum.invalidations > 0 {
                line.push_str(&format!(
                    "; {} invalidation{}",
                    sum.invalidations,
                    plural(sum.invalidations)
                ));
                if waiting > 0 {
                    line.push_str(&format!(" ({waiting} for evaluations not imported yet)"));
                }
            }
            stdout(&format!("{line}\n"));
            Ok(Exit::Pass)
        }
    }
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

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Opens the store for reading commands; `None` when nothing was ever recorded there (reading
/// does not create it).
fn existing(path: &Path) -> Result<Option<Store>, Failure> {
    if !path.exists() {
        return Ok(None);
    }
    Store::open(path).map(Some).map_err(|e| store_failure(&e))
}

fn unknown_id(id: &str, path: &Path) -> Failure {
    invalid(
        "slogate::unknown-evaluation",
        history::PROBLEM_FILE,
        format!(
            "no stored evaluation has the id `{id}` in {}",
            path.display()
        ),
        "`slogate history list` shows the ids (check --history if the list is empty)",
    )
}

fn find(store: Option<&Store>, id: &str, path: &Path) -> Result<String, Failure> {
    let Some(store) = store else {
        return Err(invalid(
            "slogate::unknown-evaluation",
            history::PROBLEM_FILE,
            format!(
                "no stored evaluation has the id `{id}`: the history store {} does not exist yet",
                path.display()
            ),
            "check --history, $SLOGATE_HISTORY and --config; `gate` creates the store on its first run",
        ));
    };
    match store.lookup(id).map_err(|e| store_failure(&e))? {
        Lookup::Found(id) => Ok(id),
        Lookup::Unknown => Err(unknown_id(id, path)),
        Lookup::Ambiguous(ids) => Err(invalid(
            "slogate::unknown-evaluation",
            history::PROBLEM_FILE,
            format!("`{id}` is the start of several ids: {}", ids.join(", ")),
            "give more characters of the id",
        )),
    }
}

/// Every document of every file, named `FILE` or `FILE#N` for messages.
fn read_documents(files: &[PathBuf]) -> Result<Vec<(String, Value)>, Failure> {
    let mut out = Vec::new();
    for path in files {
        let name = path.display().to_string();
        // Read through a limit: /dev/zero or a runaway pipe must not fill the memory. A Keptn
        // export of 10 000 evaluations is about 50 MiB.
        const MAX_IMPORT_BYTES: u64 = 256 * 1024 * 1024;
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|f| {
                std::io::Read::read_to_string(
                    &mut std::io::Read::take(f, MAX_IMPORT_BYTES + 1),
                    &mut text,
                )
            })
            .map_err(|e| {
                invalid(
                    "slogate::io",
                    "import",
                    format!("cannot read {name}: {e}"),
                    "give slogate JSON reports, `slogate history export` output, or Keptn events",
                )
            })?;
        if text.len() as u64 > MAX_IMPORT_BYTES {
            return Err(invalid(
                "slogate::file-too-large",
                "import",
                format!(
                    "{name} is larger than {} MiB",
                    MAX_IMPORT_BYTES / (1024 * 1024)
                ),
                "split the export into several files",
            ));
        }
        let docs = history::documents(&text).map_err(|reason| {
            invalid(
                "slogate::bad-history-input",
                "import",
                format!("{name}: {reason}"),
                "give one JSON document, a JSON list, JSON lines, or Keptn's {\"events\": [...]}",
            )
        })?;
        let many = docs.len() > 1;
        for (i, doc) in docs.into_iter().enumerate() {
            let what = if many {
                format!("{name}#{}", i + 1)
            } else {
                name.clone()
            };
            out.push((what, doc));
        }
    }
    Ok(out)
}

fn score_text(score: Option<f64>) -> String {
    match score {
        None => "-".into(),
        Some(s) => {
            let t = format!("{s:.2}");
            t.trim_end_matches('0').trim_end_matches('.').to_string()
        }
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

fn print_list(list: &[Summary], format: HistoryFormat) {
    match format {
        HistoryFormat::Json => stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(list).unwrap_or_else(|_| "[]".into())
        )),
        HistoryFormat::Text => stdout(&list_text(list)),
    }
}

/// One row per evaluation under a header; invalidated ones say so after their result.
pub fn list_text(list: &[Summary]) -> String {
    if list.is_empty() {
        return "no stored evaluations\n".into();
    }
    let header = [
        "ID",
        "WINDOW END",
        "PROJECT",
        "STAGE",
        "SERVICE",
        "RESULT",
        "SCORE",
    ]
    .map(String::from);
    let rows: Vec<[String; 7]> = list
        .iter()
        .map(|s| {
            [
                s.id.clone(),
                s.time_end.clone().unwrap_or_else(|| "-".into()),
                or_dash(&s.project).into(),
                or_dash(&s.stage).into(),
                or_dash(&s.service).into(),
                if s.invalidated {
                    format!("{} (invalidated)", s.result)
                } else {
                    s.result.clone()
                },
                score_text(s.score),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The history fields, then the report as `score`/`gate` print it (or a Keptn event's values).
pub fn show_text(found: &StoredEvaluation) -> String {
    let s = &found.summary;
    let mut out = format!("evaluation {}\n", s.id);
    out.push_str(&format!("recorded   {}", s.recorded_at));
    if let Some(tool) = &s.tool {
        out.push_str(&format!(" by {tool}"));
    }
    out.push('\n');
    if s.time_start.is_some() || s.time_end.is_some() {
        out.push_str(&format!(
            "window     {} to {}\n",
            s.time_start.as_deref().unwrap_or("?"),
            s.time_end.as_deref().unwrap_or("?")
        ));
    }
    if !s.labels.is_empty() {
        let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out.push_str(&format!("labels     {}\n", labels.join(", ")));
    }
    if let Some(at) = &s.invalidated_at {
        out.push_str(&format!(
            "INVALIDATED {at}{}: not used for comparison\n",
            s.invalidated_reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ));
    }
    out.push('\n');
    if let Some(report) = found.report() {
        out.push_str(&report::text::render(&report));
        return out;
    }
    out.push_str(&format!(
        "{}  score {}\n",
        s.result.to_uppercase(),
        score_text(s.score)
    ));
    let mut sel = Vec::new();
    for (what, v) in [
        ("service", &s.service),
        ("stage", &s.stage),
        ("project", &s.project),
    ] {
        if !v.is_empty() {
            sel.push(format!("{what} {v}"));
        }
    }
    if !sel.is_empty() {
        out.push_str(&sel.join(", "));
        out.push('\n');
    }
    if !found.indicators.is_empty() {
        out.push('\n');
        let width = found
            .indicators
            .iter()
            .map(|i| i.metric.chars().count())
            .max()
            .unwrap_or(0)
            .max("METRIC".len());
        out.push_str(&format!("{:<width$}  VALUE\n", "METRIC"));
        for i in &found.indicators {
            let value = match (i.value, i.success) {
                (Some(v), true) => crate::eval::gofmt::go_v(v),
                (_, _) if !i.message.is_empty() => format!("no value: {}", i.message),
                _ => "no value".into(),
            };
            out.push_str(&format!("{:<width$}  {value}\n", i.metric));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn the_dynatrace_history_is_not_managed_here() {
        let cli = Cli::try_parse_from(["x", "--history", "dynatrace", "list"]).unwrap();
        let (exit, problems) =
            execute(&cli.history, &BTreeMap::new(), None, &FixedClock).unwrap_err();
        assert_eq!(exit, Exit::Invalid);
        assert!(problems[0].message.contains("CUSTOM_INFO"));
        let cli = Cli::try_parse_from(["x", "list"]).unwrap();
        let env = BTreeMap::from([("SLOGATE_HISTORY".to_string(), "dynatrace".to_string())]);
        assert_eq!(
            execute(&cli.history, &env, None, &FixedClock)
                .unwrap_err()
                .0,
            Exit::Invalid
        );
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
                "ID", "WINDOW", "END", "PROJECT", "STAGE", "SERVICE", "RESULT", "SCORE"
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
                "80"
            ]
        );
        assert_eq!(words(2)[5..], ["fail", "0"]);
        assert_eq!(words(3)[5..], ["pass", "(invalidated)", "100"]);
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
