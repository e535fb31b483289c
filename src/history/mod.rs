//! The evaluation history: earlier verdicts kept for Keptn's previous-results comparison
//! (reference §8), in a SQLite file that many pipelines may write at once.
//!
//! Every write is one `BEGIN IMMEDIATE` transaction on a WAL database with a busy timeout, so
//! concurrent `gate` processes queue for the write lock instead of failing or losing rows, and a
//! process killed mid-write leaves the last committed state. Nothing here reads the clock: callers
//! pass `now`.

pub mod document;
pub mod dynatrace;
pub mod manage;
pub mod page;
pub mod page_html;
pub mod page_md;
pub mod schema;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction, params};
use serde_json::Value;

use crate::diag::Problem;
use crate::eval::SliValue;
use crate::eval::previous::PreviousEvaluation;
use crate::model::slo::EffectiveComparison;
use crate::report::Report;

pub use document::{DocumentKind, documents};

/// How long a writer waits for another one before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The environment variable naming the store.
pub const ENV_VAR: &str = "SLOGATE_HISTORY";

/// The value of `--history`, `$SLOGATE_HISTORY` or `history:` that selects the Dynatrace store.
pub const DYNATRACE: &str = "dynatrace";

/// Why the history could not be used. Every message names the store's path and the reason;
/// callers exit with [`HistoryError::exit_code`] (3, except for bad input: 2).
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("cannot open the history store {}: {reason}", path.display())]
    Open { path: PathBuf, reason: String },
    #[error("cannot write the history store {}: {reason}", path.display())]
    Write { path: PathBuf, reason: String },
    #[error("cannot read the history store {}: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    #[error("the history store {} is damaged or not a history store: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("the history store {} was written by a newer slogate (schema version {found}; this one knows up to {known})", path.display())]
    Newer {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    /// An imported document that is not an evaluation; `what` names it (file and position).
    #[error("{what}: {reason}")]
    BadDocument { what: String, reason: String },
    /// The Dynatrace history could not be read or written.
    #[error("the Dynatrace history: {reason}")]
    Remote { reason: String },
    /// Bad input to a history command (an unknown id, an unreadable import file): exit 2.
    #[error("{message}")]
    Input {
        code: &'static str,
        message: String,
        help: String,
    },
}

impl HistoryError {
    /// 2 for a bad imported document, 3 when the store cannot be opened, read or written.
    pub fn exit_code(&self) -> u8 {
        match self {
            HistoryError::BadDocument { .. } | HistoryError::Input { .. } => 2,
            _ => 3,
        }
    }

    /// The store's path, when the error is about the store.
    pub fn path(&self) -> Option<&Path> {
        match self {
            HistoryError::Open { path, .. }
            | HistoryError::Write { path, .. }
            | HistoryError::Read { path, .. }
            | HistoryError::Corrupt { path, .. }
            | HistoryError::Newer { path, .. } => Some(path),
            HistoryError::BadDocument { .. }
            | HistoryError::Remote { .. }
            | HistoryError::Input { .. } => None,
        }
    }

    /// The error as a diagnostic (`slogate::history` for the store, `slogate::bad-history-input`
    /// for an imported document), with advice. The message itself names the path (or the
    /// document), so it survives line wrapping; the diagnostic's file is `history`.
    pub fn problem(&self) -> Problem {
        let code = match self {
            HistoryError::BadDocument { .. } => "slogate::bad-history-input",
            HistoryError::Input { code, .. } => code,
            _ => "slogate::history",
        };
        let help = match self {
            HistoryError::Open { .. } | HistoryError::Write { .. } | HistoryError::Read { .. } => {
                "give a writable file with --history PATH or $SLOGATE_HISTORY (see docs/history.md)"
            }
            HistoryError::Corrupt { .. } => {
                "point --history at a slogate history file, or move this file away to start a new history"
            }
            HistoryError::Newer { .. } => "update slogate, or use another --history file",
            HistoryError::BadDocument { .. } => {
                "import slogate JSON reports, `slogate history export` lines, or Keptn evaluation.finished / evaluation.invalidated events"
            }
            HistoryError::Remote { .. } => {
                "check DT_URL and the token: the Dynatrace history needs events.read and events.ingest (docs/history.md)"
            }
            HistoryError::Input { help, .. } => help,
        };
        Problem::file(code, PROBLEM_FILE, self.to_string()).help(help)
    }
}

/// What the history commands need of a store: the SQLite file ([`Store`]) and the Dynatrace
/// events ([`dynatrace::EventHistory`]) both provide it.
pub trait History {
    /// Records matching `filter`, newest first by window end, invalidated ones included.
    fn list(&self, filter: &ListFilter) -> Result<Vec<Summary>, HistoryError>;
    /// The record of a full id, an earlier run's id, or a unique prefix (4 characters or more).
    fn lookup(&self, id_or_prefix: &str) -> Result<Lookup, HistoryError>;
    /// One record by its exact id.
    fn show(&self, id: &str) -> Result<Option<StoredEvaluation>, HistoryError>;
    /// Keptn's "ignore for comparison"; `false` when no record has this id.
    fn invalidate(
        &mut self,
        id: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, HistoryError>;
    /// Every record as one JSON line, oldest first; the number of lines.
    fn export(&self, out: &mut dyn Write) -> Result<usize, HistoryError>;
    /// Adds documents (all checked before anything is written).
    fn import_all(
        &mut self,
        docs: &[(String, Value)],
        now: DateTime<Utc>,
    ) -> Result<Vec<Imported>, HistoryError>;
    /// Pins a record as the known-good baseline of its project, stage and service, replacing
    /// an earlier pin of that service; `false` when no record has this id.
    fn pin(
        &mut self,
        id: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, HistoryError>;
    /// Removes the pin of a record; `false` when it was not pinned.
    fn unpin(&mut self, id: &str, now: DateTime<Utc>) -> Result<bool, HistoryError>;
    /// Records matching `filter` in full, newest first by window end.
    fn evaluations(&self, filter: &ListFilter) -> Result<Vec<StoredEvaluation>, HistoryError> {
        let mut out = Vec::new();
        for s in self.list(filter)? {
            if let Some(e) = self.show(&s.id)? {
                out.push(e);
            }
        }
        Ok(out)
    }
}

impl History for Store {
    fn list(&self, filter: &ListFilter) -> Result<Vec<Summary>, HistoryError> {
        Store::list(self, filter)
    }
    fn lookup(&self, id_or_prefix: &str) -> Result<Lookup, HistoryError> {
        Store::lookup(self, id_or_prefix)
    }
    fn show(&self, id: &str) -> Result<Option<StoredEvaluation>, HistoryError> {
        Store::show(self, id)
    }
    fn invalidate(
        &mut self,
        id: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, HistoryError> {
        Store::invalidate(self, id, reason, now)
    }
    fn export(&self, out: &mut dyn Write) -> Result<usize, HistoryError> {
        Store::export(self, out)
    }
    fn import_all(
        &mut self,
        docs: &[(String, Value)],
        now: DateTime<Utc>,
    ) -> Result<Vec<Imported>, HistoryError> {
        Store::import_all(self, docs, now)
    }
    fn pin(
        &mut self,
        id: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, HistoryError> {
        Store::pin(self, id, reason, now)
    }
    fn unpin(&mut self, id: &str, _now: DateTime<Utc>) -> Result<bool, HistoryError> {
        Store::unpin(self, id)
    }
    fn evaluations(&self, filter: &ListFilter) -> Result<Vec<StoredEvaluation>, HistoryError> {
        Store::evaluations(self, filter)
    }
}

/// The file name of history diagnostics: `history: cannot open the history store PATH: ...`.
pub const PROBLEM_FILE: &str = "history";

/// Where the history lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HistoryLocation {
    /// A SQLite file named by `--history`, `$SLOGATE_HISTORY` or `history:`; its folder must exist.
    File(PathBuf),
    /// The default file under the config root; its `.slogate` folder is created on first write.
    Default(PathBuf),
    /// Verdicts read back from the CUSTOM_INFO events `--push-result` writes to Dynatrace.
    Dynatrace,
}

impl HistoryLocation {
    /// The SQLite file, unless the history is in Dynatrace.
    pub fn path(&self) -> Option<&Path> {
        match self {
            HistoryLocation::File(p) | HistoryLocation::Default(p) => Some(p),
            HistoryLocation::Dynatrace => None,
        }
    }

    /// Opens (creating) the SQLite store; `None` for the Dynatrace history.
    pub fn open(&self) -> Option<Result<Store, HistoryError>> {
        match self {
            HistoryLocation::File(p) => Some(Store::open(p)),
            HistoryLocation::Default(p) => Some(Store::open_default(p)),
            HistoryLocation::Dynatrace => None,
        }
    }
}

/// `<config root>/.slogate/history.sqlite`.
pub fn default_path(config_root: &Path) -> PathBuf {
    config_root.join(".slogate").join("history.sqlite")
}

/// The store to use: `--history`, else `$SLOGATE_HISTORY`, else slogate.yaml's `history:`
/// (relative to the config root), else [`default_path`]. `dynatrace` (any case) in any of them
/// selects the Dynatrace history; write `./dynatrace` for a file of that name. Empty values are
/// ignored.
pub fn resolve_path(
    flag: Option<&Path>,
    env: &BTreeMap<String, String>,
    setting: Option<&str>,
    config_root: &Path,
) -> HistoryLocation {
    let named = |s: &str| s.eq_ignore_ascii_case(DYNATRACE);
    if let Some(p) = flag.filter(|p| !p.as_os_str().is_empty()) {
        return match p.to_str() {
            Some(s) if named(s) => HistoryLocation::Dynatrace,
            _ => HistoryLocation::File(p.to_path_buf()),
        };
    }
    if let Some(v) = env.get(ENV_VAR).filter(|v| !v.trim().is_empty()) {
        return if named(v.trim()) {
            HistoryLocation::Dynatrace
        } else {
            HistoryLocation::File(PathBuf::from(v))
        };
    }
    if let Some(v) = setting.filter(|v| !v.trim().is_empty()) {
        return if named(v.trim()) {
            HistoryLocation::Dynatrace
        } else {
            HistoryLocation::File(config_root.join(v))
        };
    }
    HistoryLocation::Default(default_path(config_root))
}

/// Filters of [`Store::list`]; `None` means any.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub project: Option<String>,
    pub stage: Option<String>,
    pub service: Option<String>,
    /// `pass`, `warning` or `fail`.
    pub result: Option<String>,
    /// At most this many, newest first; `None` for all.
    pub limit: Option<usize>,
}

/// One stored evaluation without its document and values.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub id: String,
    pub kind: DocumentKind,
    pub project: String,
    pub stage: String,
    pub service: String,
    pub labels: BTreeMap<String, String>,
    pub time_start: Option<String>,
    pub time_end: Option<String>,
    pub result: String,
    pub score: Option<f64>,
    /// `slogate 0.1.0`, or the Keptn event's `source`.
    pub tool: Option<String>,
    pub recorded_at: String,
    pub invalidated: bool,
    pub invalidated_at: Option<String>,
    pub invalidated_reason: Option<String>,
    /// How many runs of this service, stage and window the record stands for: a rerun replaces
    /// the record (the newest run wins) instead of adding a second baseline.
    pub runs: i64,
    /// When it was pinned as the known-good baseline of its service (`history pin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_reason: Option<String>,
}

impl Summary {
    pub fn pinned(&self) -> bool {
        self.pinned_at.is_some()
    }
}

/// One stored evaluation in full.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvaluation {
    pub summary: Summary,
    /// Each indicator's metric, value and success, as the comparison reads them.
    pub indicators: Vec<SliValue>,
    /// The report or event as it was recorded or imported.
    pub document: Value,
    /// The ids of the earlier runs of the same window this record replaced, oldest first.
    pub earlier_run_ids: Vec<String>,
}

impl StoredEvaluation {
    /// The document with `id` and the history fields (`recordedAt`, `invalidated`, ...): the
    /// form of an export line, which `import` and `--previous` read back.
    pub fn export_line(&self) -> Value {
        let s = &self.summary;
        document::export_line_with_runs(
            &self.document,
            &s.id,
            &s.recorded_at,
            s.invalidated_at
                .as_deref()
                .map(|at| (at, s.invalidated_reason.as_deref())),
            s.runs,
            &self.earlier_run_ids,
        )
    }

    /// The slogate report, when it was stored from one.
    pub fn report(&self) -> Option<Report> {
        match self.summary.kind {
            DocumentKind::Slogate => serde_json::from_value(self.document.clone()).ok(),
            _ => None,
        }
    }
}

/// What [`Store::import`] did with one document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Imported {
    /// A new evaluation with this id.
    Added(String),
    /// This id was already stored: nothing duplicated (an invalidation the document carries is
    /// applied).
    Existing(String),
    /// A run of a window already stored: the record now holds `runs` runs and has the id `id`
    /// (the newer run's).
    Rerun { id: String, runs: i64 },
    /// A Keptn `evaluation.invalidated` event: `matched` stored evaluations share its
    /// `triggeredid`; with 0 it is kept and applies when that evaluation is imported.
    Invalidation {
        triggered_id: String,
        matched: usize,
    },
}

/// Totals of [`Store::import_all`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub added: usize,
    pub existing: usize,
    /// Reruns of windows already stored (merged into their record).
    pub reruns: usize,
    pub invalidations: usize,
}

/// The SQLite history store. Open one per process (or thread); many may share a file.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// Lookup of an id given in full or as a unique prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    Found(String),
    Unknown,
    Ambiguous(Vec<String>),
}

impl Store {
    /// Opens the store at `path`, creating the file (not its folder) and bringing its schema up
    /// to date.
    pub fn open(path: &Path) -> Result<Store, HistoryError> {
        let open_err = |reason: String| HistoryError::Open {
            path: path.to_path_buf(),
            reason,
        };
        if path.is_dir() {
            return Err(open_err("it is a directory, not a file".into()));
        }
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if !parent.is_dir() {
            return Err(open_err(format!(
                "the folder {} does not exist",
                parent.display()
            )));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| open_err(reason(&e)))?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.configure()?;
        Ok(store)
    }

    /// [`Store::open`] for the default location: creates the `.slogate` folder first (not the
    /// config root above it).
    pub fn open_default(path: &Path) -> Result<Store, HistoryError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
            && dir
                .parent()
                .is_none_or(|p| p.as_os_str().is_empty() || p.is_dir())
            && let Err(e) = std::fs::create_dir(dir)
            && !dir.is_dir()
        {
            return Err(HistoryError::Open {
                path: path.to_path_buf(),
                reason: format!("cannot create the folder {}: {e}", dir.display()),
            });
        }
        Store::open(path)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn configure(&self) -> Result<(), HistoryError> {
        self.conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| self.open_err(&e))?;
        if self.conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
            return Err(HistoryError::Open {
                path: self.path.clone(),
                reason: "the file is read-only".into(),
            });
        }
        // Read before anything is written: a file that is not SQLite, another program's
        // database, or a newer schema is refused untouched.
        let inspected = self.with_busy_retry(|c| match schema::inspect(c) {
            Err(schema::MigrateError::Sql(e)) => Err(e),
            other => Ok(other),
        })?;
        inspected.map_err(|e| self.migrate_err(e))?;
        let mode = self.with_busy_retry(|c| {
            c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
        })?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(HistoryError::Open {
                path: self.path.clone(),
                reason: format!(
                    "the file system does not support SQLite's write-ahead log (journal mode stays `{mode}`)"
                ),
            });
        }
        self.conn
            .pragma_update(None, "foreign_keys", true)
            .map_err(|e| self.open_err(&e))?;
        schema::migrate(&self.conn).map_err(|e| self.migrate_err(e))
    }

    fn migrate_err(&self, e: schema::MigrateError) -> HistoryError {
        match e {
            schema::MigrateError::Sql(e) => self.open_err(&e),
            schema::MigrateError::Newer(found) => HistoryError::Newer {
                path: self.path.clone(),
                found,
                known: schema::latest(),
            },
            schema::MigrateError::Foreign(reason) => HistoryError::Corrupt {
                path: self.path.clone(),
                reason: format!("another program's database: {reason}"),
            },
        }
    }

    /// Runs `f`, retrying while SQLite reports the database busy without having waited (switching
    /// to WAL while another connection does the same) until [`BUSY_TIMEOUT`].
    fn with_busy_retry<T>(
        &self,
        f: impl Fn(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, HistoryError> {
        let start = Instant::now();
        loop {
            match f(&self.conn) {
                Err(e)
                    if matches!(
                        e.sqlite_error_code(),
                        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                    ) && start.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(Duration::from_millis(5 + fastrand::u64(0..20)));
                }
                Err(e) => return Err(self.open_err(&e)),
                Ok(v) => return Ok(v),
            }
        }
    }

    fn open_err(&self, e: &rusqlite::Error) -> HistoryError {
        classify(&self.path, e, |path, reason| HistoryError::Open {
            path,
            reason,
        })
    }

    fn read_err(&self, e: &rusqlite::Error) -> HistoryError {
        classify(&self.path, e, |path, reason| HistoryError::Read {
            path,
            reason,
        })
    }

    /// Stores a report (`gate`, `eval --record`) and returns its id: a UUID derived from the
    /// report's content, so recording the same report twice (or importing its `--output` file
    /// later) keeps one row.
    pub fn record(&mut self, report: &Report, now: DateTime<Utc>) -> Result<String, HistoryError> {
        let doc = serde_json::to_value(report).map_err(|e| HistoryError::BadDocument {
            what: "report".into(),
            reason: e.to_string(),
        })?;
        let row = match document::parse(&doc, now) {
            Ok(document::Parsed::Evaluation(row)) => row,
            Ok(document::Parsed::Invalidation(_)) => {
                return Err(HistoryError::BadDocument {
                    what: "report".into(),
                    reason: "a report is not an invalidation".into(),
                });
            }
            Err(reason) => {
                return Err(HistoryError::BadDocument {
                    what: "report".into(),
                    reason,
                });
            }
        };
        self.write(|tx| {
            insert(tx, &row).map(|i| match i {
                Inserted::Rerun(id, _) => id,
                _ => row.id.clone(),
            })
        })
    }

    /// The previous evaluations Keptn would compare with (reference §8): same project, stage and
    /// service; not invalidated; overall result per `include_result_with_score` (`pass`,
    /// `pass_or_warn` = pass and warning, anything else all); newest first by window end; at most
    /// `comparison.previous_count()`. Each `id` is the store id, for `comparedEvents`.
    pub fn previous(
        &self,
        project: &str,
        stage: &str,
        service: &str,
        comparison: &EffectiveComparison,
    ) -> Result<Vec<PreviousEvaluation>, HistoryError> {
        let results: &[&str] = match comparison.include_result_with_score.as_str() {
            "pass" => &["pass"],
            "pass_or_warn" => &["pass", "warning"],
            _ => &["pass", "warning", "fail"],
        };
        let limit = i64::try_from(comparison.previous_count()).unwrap_or(i64::MAX);
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| self.read_err(&e))?;
        let run = || -> rusqlite::Result<Vec<PreviousEvaluation>> {
            let mut stmt = tx.prepare_cached(
                "SELECT seq, id, result, score FROM evaluations
                 WHERE project = ?1 AND stage = ?2 AND service = ?3
                   AND invalidated_at IS NULL
                   AND result IN (?4, ?5, ?6)
                 ORDER BY sort_ms DESC, seq DESC
                 LIMIT ?7",
            )?;
            let pick = |i: usize| results.get(i).or(results.last()).copied();
            let rows = stmt
                .query_map(
                    params![project, stage, service, pick(0), pick(1), pick(2), limit],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            PreviousEvaluation {
                                id: r.get(1)?,
                                result: r.get(2)?,
                                score: r.get(3)?,
                                indicators: Vec::new(),
                                invalidated: false,
                            },
                        ))
                    },
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(seq, mut p)| {
                    p.indicators = indicators(&tx, seq)?;
                    Ok(p)
                })
                .collect()
        };
        let out = run().map_err(|e| self.read_err(&e))?;
        drop(tx);
        Ok(out)
    }

    /// Stored evaluations matching `filter`, newest first by window end, invalidated ones
    /// included (and marked).
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<Summary>, HistoryError> {
        let limit = filter
            .limit
            .map(|n| i64::try_from(n).unwrap_or(i64::MAX))
            .unwrap_or(-1);
        let run = || -> rusqlite::Result<Vec<Summary>> {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT {SUMMARY_COLUMNS} FROM evaluations
                 WHERE (?1 IS NULL OR project = ?1) AND (?2 IS NULL OR stage = ?2)
                   AND (?3 IS NULL OR service = ?3) AND (?4 IS NULL OR result = ?4)
                 ORDER BY sort_ms DESC, seq DESC
                 LIMIT ?5"
            ))?;
            stmt.query_map(
                params![
                    filter.project,
                    filter.stage,
                    filter.service,
                    filter.result,
                    limit
                ],
                |r| summary(r).map(|(_, s)| s),
            )?
            .collect()
        };
        run().map_err(|e| self.read_err(&e))
    }

    /// Finds a stored id from the full id or a unique prefix of at least 4 characters.
    pub fn lookup(&self, id_or_prefix: &str) -> Result<Lookup, HistoryError> {
        let run = || -> rusqlite::Result<Lookup> {
            let exact: Option<String> = self
                .conn
                .query_row(
                    "SELECT id FROM evaluations WHERE id = ?1",
                    [id_or_prefix],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = exact {
                return Ok(Lookup::Found(id));
            }
            // The id of an earlier run finds the record that replaced it.
            let earlier: Option<String> = self
                .conn
                .query_row(
                    "SELECT e.id FROM earlier_runs r JOIN evaluations e ON e.seq = r.evaluation
                     WHERE r.id = ?1",
                    [id_or_prefix],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = earlier {
                return Ok(Lookup::Found(id));
            }
            if id_or_prefix.chars().count() < 4 {
                return Ok(Lookup::Unknown);
            }
            let mut stmt = self.conn.prepare_cached(
                "SELECT id FROM evaluations WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id LIMIT 6",
            )?;
            let mut ids = stmt
                .query_map([id_or_prefix], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(match ids.len() {
                0 => Lookup::Unknown,
                1 => Lookup::Found(ids.remove(0)),
                _ => Lookup::Ambiguous(ids),
            })
        };
        run().map_err(|e| self.read_err(&e))
    }

    /// One stored evaluation by its exact id.
    pub fn show(&self, id: &str) -> Result<Option<StoredEvaluation>, HistoryError> {
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| self.read_err(&e))?;
        let run = || -> rusqlite::Result<Option<StoredEvaluation>> {
            let found = tx
                .query_row(
                    &format!("SELECT {SUMMARY_COLUMNS}, document FROM evaluations WHERE id = ?1"),
                    [id],
                    |r| {
                        let (seq, s) = summary(r)?;
                        let text: String = r.get(SUMMARY_COUNT)?;
                        Ok((seq, s, text))
                    },
                )
                .optional()?;
            let Some((seq, summary, text)) = found else {
                return Ok(None);
            };
            let document = serde_json::from_str(&text).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    SUMMARY_COUNT,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?;
            Ok(Some(StoredEvaluation {
                summary,
                indicators: indicators(&tx, seq)?,
                document,
                earlier_run_ids: earlier_runs(&tx, seq)?,
            }))
        };
        run().map_err(|e| self.read_err(&e))
    }

    /// Marks an evaluation "ignore for comparison" (Keptn's `evaluation.invalidated`). `false`
    /// when no evaluation has this id. An evaluation invalidated before keeps its first reason.
    pub fn invalidate(
        &mut self,
        id: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, HistoryError> {
        let at = document::timestamp(now);
        self.write(|tx| {
            let exists = tx
                .query_row("SELECT 1 FROM evaluations WHERE id = ?1", [id], |_| Ok(()))
                .optional()?
                .is_some();
            if exists {
                tx.execute(
                    "UPDATE evaluations SET invalidated_at = ?2, invalidated_reason = ?3
                     WHERE id = ?1 AND invalidated_at IS NULL",
                    params![id, at, reason],
                )?;
            }
            Ok(exists)
        })
    }

    /// Pins `id` as the known-good baseline of its project, stage and service; an earlier pin
    /// of that service is removed. `false` when no record has this id.
    pub fn pin(
        &mut self,
        id: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, HistoryError> {
        let at = document::timestamp(now);
        self.write(|tx| {
            let found: Option<(String, String, String)> = tx
                .query_row(
                    "SELECT project, stage, service FROM evaluations WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((project, stage, service)) = found else {
                return Ok(false);
            };
            tx.execute(
                "UPDATE evaluations SET pinned_at = NULL, pinned_reason = NULL
                 WHERE project = ?1 AND stage = ?2 AND service = ?3 AND pinned_at IS NOT NULL",
                params![project, stage, service],
            )?;
            tx.execute(
                "UPDATE evaluations SET pinned_at = ?2, pinned_reason = ?3 WHERE id = ?1",
                params![id, at, reason],
            )?;
            Ok(true)
        })
    }

    /// Removes the pin of `id`; `false` when it was not pinned.
    pub fn unpin(&mut self, id: &str) -> Result<bool, HistoryError> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE evaluations SET pinned_at = NULL, pinned_reason = NULL
                 WHERE id = ?1 AND pinned_at IS NOT NULL",
                [id],
            )?;
            Ok(n > 0)
        })
    }

    /// The pinned evaluation of a service, invalidated or not (the caller says why it is not
    /// used then).
    pub fn pinned(
        &self,
        project: &str,
        stage: &str,
        service: &str,
    ) -> Result<Option<StoredEvaluation>, HistoryError> {
        let id: Option<String> = self
            .conn
            .query_row(
                "SELECT id FROM evaluations WHERE project = ?1 AND stage = ?2 AND service = ?3
                   AND pinned_at IS NOT NULL ORDER BY pinned_at DESC LIMIT 1",
                params![project, stage, service],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.read_err(&e))?;
        match id {
            Some(id) => self.show(&id),
            None => Ok(None),
        }
    }

    /// Records matching `filter` in full, newest first by window end: one read transaction,
    /// so 10 000 of them take well under a second.
    pub fn evaluations(&self, filter: &ListFilter) -> Result<Vec<StoredEvaluation>, HistoryError> {
        let limit = filter
            .limit
            .map(|n| i64::try_from(n).unwrap_or(i64::MAX))
            .unwrap_or(-1);
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| self.read_err(&e))?;
        let run = || -> rusqlite::Result<Vec<StoredEvaluation>> {
            let mut stmt = tx.prepare(&format!(
                "SELECT {SUMMARY_COLUMNS}, document FROM evaluations
                 WHERE (?1 IS NULL OR project = ?1) AND (?2 IS NULL OR stage = ?2)
                   AND (?3 IS NULL OR service = ?3) AND (?4 IS NULL OR result = ?4)
                 ORDER BY sort_ms DESC, seq DESC
                 LIMIT ?5"
            ))?;
            let rows = stmt
                .query_map(
                    params![
                        filter.project,
                        filter.stage,
                        filter.service,
                        filter.result,
                        limit
                    ],
                    |r| {
                        let (seq, s) = summary(r)?;
                        let text: String = r.get(SUMMARY_COUNT)?;
                        Ok((seq, s, text))
                    },
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(seq, summary, text)| {
                    Ok(StoredEvaluation {
                        summary,
                        indicators: indicators(&tx, seq)?,
                        document: serde_json::from_str(&text).unwrap_or(Value::String(text)),
                        earlier_run_ids: earlier_runs(&tx, seq)?,
                    })
                })
                .collect()
        };
        let out = run().map_err(|e| self.read_err(&e))?;
        drop(tx);
        Ok(out)
    }

    /// Writes every stored evaluation as one JSON line, oldest first, then the imported Keptn
    /// `evaluation.invalidated` events; returns the number of lines.
    pub fn export(&self, out: &mut dyn Write) -> Result<usize, HistoryError> {
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| self.read_err(&e))?;
        let mut lines = 0;
        export_rows(&tx, out, &mut lines).map_err(|e| match e {
            ExportError::Sql(e) => self.read_err(&e),
            ExportError::Io(e) => HistoryError::Read {
                path: self.path.clone(),
                reason: format!("cannot write the export: {e}"),
            },
        })?;
        Ok(lines)
    }

    /// Imports one document: a slogate report (an export line included), a Keptn
    /// `evaluation.finished` event (or its `data`), the minimal form, or a Keptn
    /// `evaluation.invalidated` event. Keptn's event id is kept as the id; a document without
    /// id gets one derived from its content. Importing the same id again adds nothing.
    pub fn import(&mut self, doc: &Value, now: DateTime<Utc>) -> Result<Imported, HistoryError> {
        let mut out = self.import_all(&[("document".to_string(), doc.clone())], now)?;
        Ok(out.pop().expect("one document, one outcome"))
    }

    /// Imports many documents in one transaction: all or none. Each is named (file and
    /// position) for error messages.
    pub fn import_all(
        &mut self,
        docs: &[(String, Value)],
        now: DateTime<Utc>,
    ) -> Result<Vec<Imported>, HistoryError> {
        let parsed = document::parse_named(docs, now)?;
        self.write(|tx| {
            let mut out = Vec::with_capacity(parsed.len());
            for p in &parsed {
                out.push(match p {
                    document::Parsed::Evaluation(row) => match insert(tx, row)? {
                        Inserted::Added => Imported::Added(row.id.clone()),
                        Inserted::Rerun(id, runs) => Imported::Rerun { id, runs },
                        Inserted::Existing => {
                            if let Some((at, reason)) = &row.invalidated {
                                tx.execute(
                                    "UPDATE evaluations SET invalidated_at = ?2,
                                         invalidated_reason = ?3
                                     WHERE id = ?1 AND invalidated_at IS NULL",
                                    params![row.id, at, reason],
                                )?;
                            }
                            Imported::Existing(row.id.clone())
                        }
                    },
                    document::Parsed::Invalidation(inv) => {
                        tx.execute(
                            "INSERT OR IGNORE INTO keptn_invalidations
                                 (triggered_id, reason, invalidated_at, document)
                             VALUES (?1, ?2, ?3, ?4)",
                            params![
                                inv.triggered_id,
                                inv.reason,
                                inv.at,
                                inv.document.to_string()
                            ],
                        )?;
                        tx.execute(
                            "UPDATE evaluations SET invalidated_at = ?2, invalidated_reason = ?3
                             WHERE triggered_id = ?1 AND invalidated_at IS NULL",
                            params![inv.triggered_id, inv.at, inv.reason],
                        )?;
                        let matched: i64 = tx.query_row(
                            "SELECT count(*) FROM evaluations WHERE triggered_id = ?1",
                            [&inv.triggered_id],
                            |r| r.get(0),
                        )?;
                        Imported::Invalidation {
                            triggered_id: inv.triggered_id.clone(),
                            matched: usize::try_from(matched).unwrap_or(0),
                        }
                    }
                });
            }
            Ok(out)
        })
    }

    /// How many evaluations are stored.
    pub fn count(&self) -> Result<usize, HistoryError> {
        self.conn
            .query_row("SELECT count(*) FROM evaluations", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| usize::try_from(n).unwrap_or(0))
            .map_err(|e| self.read_err(&e))
    }

    /// SQLite's `PRAGMA integrity_check`: empty when the file is sound, else what is wrong.
    pub fn integrity_check(&self) -> Result<Vec<String>, HistoryError> {
        let run = || -> rusqlite::Result<Vec<String>> {
            let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
            let lines = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut problems: Vec<String> = lines.into_iter().filter(|l| l != "ok").collect();
            let mut fk = self.conn.prepare("PRAGMA foreign_key_check")?;
            let bad = fk.query_map([], |r| r.get::<_, String>(0))?.count();
            if bad > 0 {
                problems.push(format!("{bad} rows break a foreign key"));
            }
            Ok(problems)
        };
        run().map_err(|e| self.read_err(&e))
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction: the write lock is taken (waiting up to
    /// [`BUSY_TIMEOUT`]) before anything is read, so concurrent writers never deadlock.
    fn write<T>(
        &mut self,
        f: impl FnOnce(&Transaction) -> rusqlite::Result<T>,
    ) -> Result<T, HistoryError> {
        let path = self.path.clone();
        let write_err = |e: rusqlite::Error| {
            classify(&path, &e, |path, reason| HistoryError::Write {
                path,
                reason,
            })
        };
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(write_err)?;
        let value = f(&tx).map_err(write_err)?;
        tx.commit().map_err(write_err)?;
        Ok(value)
    }
}

fn classify(
    path: &Path,
    e: &rusqlite::Error,
    other: impl FnOnce(PathBuf, String) -> HistoryError,
) -> HistoryError {
    let path = path.to_path_buf();
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => HistoryError::Corrupt {
            path,
            reason: reason(e),
        },
        _ => other(path, reason(e)),
    }
}

enum ExportError {
    Sql(rusqlite::Error),
    Io(std::io::Error),
}

impl From<rusqlite::Error> for ExportError {
    fn from(e: rusqlite::Error) -> Self {
        ExportError::Sql(e)
    }
}

fn export_rows(
    conn: &Connection,
    out: &mut dyn Write,
    lines: &mut usize,
) -> Result<(), ExportError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {SUMMARY_COLUMNS}, document FROM evaluations ORDER BY sort_ms, seq"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let (seq, s) = summary(r)?;
        let text: String = r.get(SUMMARY_COUNT)?;
        let doc: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        let line = document::export_line_with_runs(
            &doc,
            &s.id,
            &s.recorded_at,
            s.invalidated_at
                .as_deref()
                .map(|at| (at, s.invalidated_reason.as_deref())),
            s.runs,
            &earlier_runs(conn, seq)?,
        );
        writeln!(out, "{line}").map_err(ExportError::Io)?;
        *lines += 1;
    }
    let mut stmt = conn.prepare(
        "SELECT document FROM keptn_invalidations ORDER BY invalidated_at, triggered_id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let text: String = r.get(0)?;
        writeln!(out, "{text}").map_err(ExportError::Io)?;
        *lines += 1;
    }
    Ok(())
}

const SUMMARY_COLUMNS: &str = "seq, id, kind, project, stage, service, labels, time_start, \
     time_end, result, score, tool, recorded_at, invalidated_at, invalidated_reason, runs, \
     pinned_at, pinned_reason";
const SUMMARY_COUNT: usize = 18;

fn summary(r: &rusqlite::Row) -> rusqlite::Result<(i64, Summary)> {
    let labels: String = r.get(6)?;
    let invalidated_at: Option<String> = r.get(13)?;
    Ok((
        r.get(0)?,
        Summary {
            id: r.get(1)?,
            kind: DocumentKind::parse(&r.get::<_, String>(2)?),
            project: r.get(3)?,
            stage: r.get(4)?,
            service: r.get(5)?,
            labels: serde_json::from_str(&labels).unwrap_or_default(),
            time_start: r.get(7)?,
            time_end: r.get(8)?,
            result: r.get(9)?,
            score: r.get(10)?,
            tool: r.get(11)?,
            recorded_at: r.get(12)?,
            invalidated: invalidated_at.is_some(),
            invalidated_at,
            invalidated_reason: r.get(14)?,
            runs: r.get(15)?,
            pinned_at: r.get(16)?,
            pinned_reason: r.get(17)?,
        },
    ))
}

fn indicators(conn: &Connection, seq: i64) -> rusqlite::Result<Vec<SliValue>> {
    let mut stmt = conn.prepare_cached(
        "SELECT metric, value, success, message FROM indicators
         WHERE evaluation = ?1 ORDER BY position",
    )?;
    stmt.query_map([seq], |r| {
        Ok(SliValue {
            metric: r.get(0)?,
            value: r.get(1)?,
            success: r.get(2)?,
            message: r.get(3)?,
        })
    })?
    .collect()
}

fn earlier_runs(conn: &Connection, seq: i64) -> rusqlite::Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT id FROM earlier_runs WHERE evaluation = ?1 ORDER BY rowid")?;
    stmt.query_map([seq], |r| r.get(0))?.collect()
}

/// What [`insert`] did.
enum Inserted {
    Added,
    /// The id is stored already (as a record or an earlier run).
    Existing,
    /// Another run of a stored window: the record's id afterwards and its runs.
    Rerun(String, i64),
}

fn insert_indicators(tx: &Transaction, seq: i64, row: &document::Row) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO indicators (evaluation, position, metric, value, success, message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (i, v) in row.indicators.iter().enumerate() {
        stmt.execute(params![
            seq, i as i64, v.metric, v.value, v.success, v.message
        ])?;
    }
    Ok(())
}

/// A run of a window that is stored already: the newer run replaces the record's document,
/// values and id, the older id becomes an earlier run, and the runs add up. An invalidation
/// stays (it is about the window).
fn merge_rerun(
    tx: &Transaction,
    row: &document::Row,
    labels: &str,
    start: &str,
    end: &str,
) -> rusqlite::Result<Option<Inserted>> {
    let found: Option<(i64, String, String, i64)> = tx
        .query_row(
            "SELECT seq, id, recorded_at, runs FROM evaluations
             WHERE project = ?1 AND stage = ?2 AND service = ?3 AND time_start = ?4
               AND time_end = ?5",
            params![row.project, row.stage, row.service, start, end],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((seq, old_id, old_recorded, old_runs)) = found else {
        return Ok(None);
    };
    let runs = old_runs + row.runs;
    let earlier = std::iter::once(&row.id).chain(&row.earlier_run_ids);
    if row.recorded_at < old_recorded {
        // An older run arrives late (an import): it only counts.
        for id in earlier {
            tx.execute(
                "INSERT OR IGNORE INTO earlier_runs (id, evaluation) VALUES (?1, ?2)",
                params![id, seq],
            )?;
        }
        tx.execute(
            "UPDATE evaluations SET runs = ?2 WHERE seq = ?1",
            params![seq, runs],
        )?;
        return Ok(Some(Inserted::Rerun(old_id, runs)));
    }
    tx.execute(
        "INSERT OR IGNORE INTO earlier_runs (id, evaluation) VALUES (?1, ?2)",
        params![old_id, seq],
    )?;
    for id in &row.earlier_run_ids {
        tx.execute(
            "INSERT OR IGNORE INTO earlier_runs (id, evaluation) VALUES (?1, ?2)",
            params![id, seq],
        )?;
    }
    tx.execute(
        "UPDATE evaluations SET id = ?2, kind = ?3, triggered_id = ?4, labels = ?5, sort_ms = ?6,
             result = ?7, score = ?8, tool = ?9, document = ?10, recorded_at = ?11, runs = ?12
         WHERE seq = ?1",
        params![
            seq,
            row.id,
            row.kind.as_str(),
            row.triggered_id,
            labels,
            row.sort_ms,
            row.result,
            row.score,
            row.tool,
            crate::source::secret::redact(&row.document.to_string()),
            row.recorded_at,
            runs,
        ],
    )?;
    if let Some((at, reason)) = &row.invalidated {
        tx.execute(
            "UPDATE evaluations SET invalidated_at = ?2, invalidated_reason = ?3
             WHERE seq = ?1 AND invalidated_at IS NULL",
            params![seq, at, reason],
        )?;
    }
    tx.execute("DELETE FROM indicators WHERE evaluation = ?1", [seq])?;
    insert_indicators(tx, seq, row)?;
    Ok(Some(Inserted::Rerun(row.id.clone(), runs)))
}

/// Inserts a row and its indicator values, or merges it into the record of its window. A Keptn
/// invalidation that arrived first is applied.
fn insert(tx: &Transaction, row: &document::Row) -> rusqlite::Result<Inserted> {
    let known = tx
        .query_row(
            "SELECT 1 FROM evaluations WHERE id = ?1
             UNION ALL SELECT 1 FROM earlier_runs WHERE id = ?1",
            [&row.id],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if known {
        return Ok(Inserted::Existing);
    }
    let labels = serde_json::to_string(&row.labels).unwrap_or_else(|_| "{}".into());
    if let Some((start, end)) = row.window_key()
        && let Some(merged) = merge_rerun(tx, row, &labels, start, end)?
    {
        return Ok(merged);
    }
    let (inv_at, inv_reason) = match &row.invalidated {
        Some((at, reason)) => (Some(at.as_str()), reason.as_deref()),
        None => (None, None),
    };
    tx.execute(
        "INSERT INTO evaluations (id, kind, triggered_id, project, stage, service, labels,
             time_start, time_end, sort_ms, result, score, tool, document, recorded_at,
             invalidated_at, invalidated_reason, runs)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        params![
            row.id,
            row.kind.as_str(),
            row.triggered_id,
            row.project,
            row.stage,
            row.service,
            labels,
            row.time_start,
            row.time_end,
            row.sort_ms,
            row.result,
            row.score,
            row.tool,
            // Tokens never reach the history, whatever path brought them into the report.
            crate::source::secret::redact(&row.document.to_string()),
            row.recorded_at,
            inv_at,
            inv_reason,
            row.runs,
        ],
    )?;
    let seq = tx.last_insert_rowid();
    insert_indicators(tx, seq, row)?;
    for id in &row.earlier_run_ids {
        tx.execute(
            "INSERT OR IGNORE INTO earlier_runs (id, evaluation) VALUES (?1, ?2)",
            params![id, seq],
        )?;
    }
    if let Some(t) = &row.triggered_id {
        // A Keptn invalidation imported before its evaluation.
        let invalidation: Option<(Option<String>, String)> = tx
            .query_row(
                "SELECT reason, invalidated_at FROM keptn_invalidations WHERE triggered_id = ?1",
                [t],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((reason, at)) = invalidation {
            tx.execute(
                "UPDATE evaluations SET invalidated_at = ?2, invalidated_reason = ?3
                 WHERE seq = ?1 AND invalidated_at IS NULL",
                params![seq, at, reason],
            )?;
        }
    }
    Ok(Inserted::Added)
}

/// SQLite's message with its error code's meaning, e.g. `unable to open database file`.
fn reason(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(err, Some(msg)) => {
            let base = err.to_string();
            if msg == &base || base.contains(msg.as_str()) {
                msg.clone()
            } else {
                format!("{msg} ({base})")
            }
        }
        rusqlite::Error::SqliteFailure(err, None) => err.to_string(),
        other => other.to_string(),
    }
    .replace(
        "database is locked",
        "database is locked (another slogate kept it busy for longer than the 10 s busy timeout)",
    )
}

#[cfg(test)]
mod tests;
