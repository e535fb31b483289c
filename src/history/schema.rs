//! The store's schema and its versioned migrations.
//!
//! `PRAGMA user_version` holds the number of migrations applied; `PRAGMA application_id` marks
//! the file as a slogate history store, so a `--history` pointing at another program's database
//! is refused instead of altered. Migrations run in one `BEGIN IMMEDIATE` transaction: concurrent
//! first openers wait for each other and exactly one of them applies each step.

use rusqlite::{Connection, Transaction, TransactionBehavior};

/// `slog` in ASCII: written to the database header by the first migration.
pub const APPLICATION_ID: i64 = 0x736c_6f67;

/// Each entry is one schema version; never edit a released one, append a new one.
pub const MIGRATIONS: &[&str] = &[
    // 1: evaluations, their indicator values, and the imported Keptn evaluation.invalidated
    //    events (kept, so one that arrives before its evaluation still applies to it).
    "CREATE TABLE evaluations (
         seq                INTEGER PRIMARY KEY AUTOINCREMENT,
         id                 TEXT    NOT NULL UNIQUE,
         kind               TEXT    NOT NULL,
         triggered_id       TEXT,
         project            TEXT    NOT NULL,
         stage              TEXT    NOT NULL,
         service            TEXT    NOT NULL,
         labels             TEXT    NOT NULL,
         time_start         TEXT,
         time_end           TEXT,
         sort_ms            INTEGER NOT NULL,
         result             TEXT    NOT NULL CHECK (result IN ('pass', 'warning', 'fail')),
         score              REAL,
         tool               TEXT,
         document           TEXT    NOT NULL,
         recorded_at        TEXT    NOT NULL,
         invalidated_at     TEXT,
         invalidated_reason TEXT
     );
     CREATE INDEX evaluations_by_service
         ON evaluations (project, stage, service, sort_ms DESC, seq DESC);
     CREATE INDEX evaluations_by_time ON evaluations (sort_ms DESC, seq DESC);
     CREATE INDEX evaluations_by_trigger ON evaluations (triggered_id)
         WHERE triggered_id IS NOT NULL;
     CREATE TABLE indicators (
         evaluation INTEGER NOT NULL REFERENCES evaluations (seq) ON DELETE CASCADE,
         position   INTEGER NOT NULL,
         metric     TEXT    NOT NULL,
         value      REAL,
         success    INTEGER NOT NULL,
         message    TEXT    NOT NULL,
         PRIMARY KEY (evaluation, position)
     ) WITHOUT ROWID;
     CREATE TABLE keptn_invalidations (
         triggered_id   TEXT PRIMARY KEY,
         reason         TEXT,
         invalidated_at TEXT NOT NULL,
         document       TEXT NOT NULL
     );",
    // 2: one record per service, stage and window. A rerun of the same window replaces the
    //    record (the newest run wins) and counts as a run; the ids of earlier runs stay findable.
    //    Duplicates stored before are merged the same way, keeping the last one stored.
    "ALTER TABLE evaluations ADD COLUMN runs INTEGER NOT NULL DEFAULT 1;
     CREATE TABLE earlier_runs (
         id         TEXT    PRIMARY KEY,
         evaluation INTEGER NOT NULL REFERENCES evaluations (seq) ON DELETE CASCADE
     );
     CREATE INDEX evaluations_by_window
         ON evaluations (project, stage, service, time_start, time_end)
         WHERE time_start IS NOT NULL AND time_end IS NOT NULL;
     INSERT INTO earlier_runs (id, evaluation)
         SELECT d.id, (SELECT max(k.seq) FROM evaluations k
                       WHERE k.project = d.project AND k.stage = d.stage
                         AND k.service = d.service AND k.time_start = d.time_start
                         AND k.time_end = d.time_end)
         FROM evaluations d
         WHERE d.time_start IS NOT NULL AND d.time_end IS NOT NULL
           AND d.seq < (SELECT max(k.seq) FROM evaluations k
                        WHERE k.project = d.project AND k.stage = d.stage
                          AND k.service = d.service AND k.time_start = d.time_start
                          AND k.time_end = d.time_end);
     UPDATE evaluations
         SET runs = 1 + (SELECT count(*) FROM earlier_runs r WHERE r.evaluation = evaluations.seq);
     DELETE FROM evaluations WHERE id IN (SELECT id FROM earlier_runs);",
    // 3: a pinned known-good evaluation per project, stage and service (`history pin`), the
    //    baseline of `comparison: pinned`.
    "ALTER TABLE evaluations ADD COLUMN pinned_at TEXT;
     ALTER TABLE evaluations ADD COLUMN pinned_reason TEXT;",
];

/// The schema version this build writes.
pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

/// Why a database cannot be used as a history store.
pub enum MigrateError {
    Sql(rusqlite::Error),
    /// Written by a newer slogate: its schema version.
    Newer(i64),
    /// Another program's database: what marks it as such.
    Foreign(String),
}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> Self {
        MigrateError::Sql(e)
    }
}

fn version(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    Ok((v, app))
}

fn check(conn: &Connection, v: i64, app: i64) -> Result<(), MigrateError> {
    if app != 0 && app != APPLICATION_ID {
        return Err(MigrateError::Foreign(format!(
            "its application id is {app:#x}, not slogate's"
        )));
    }
    if v > latest() {
        return Err(MigrateError::Newer(v));
    }
    if v == 0 {
        // A fresh file has no tables; anything else belongs to some other program.
        let mut stmt = conn.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name",
        )?;
        let tables = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        if !tables.is_empty() {
            return Err(MigrateError::Foreign(format!(
                "it already holds other tables ({})",
                tables.join(", ")
            )));
        }
    }
    Ok(())
}

/// Refuses another program's database or a newer schema, without writing anything; returns
/// the schema version. One read transaction, so a migration committed meanwhile by another
/// process is seen whole or not at all.
pub fn inspect(conn: &Connection) -> Result<i64, MigrateError> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Deferred)?;
    let (v, app) = version(&tx)?;
    check(&tx, v, app)?;
    tx.commit()?;
    Ok(v)
}

/// Brings the schema up to [`latest`]; a store already there is only read.
pub fn migrate(conn: &Connection) -> Result<(), MigrateError> {
    if inspect(conn)? == latest() {
        return Ok(());
    }
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    // Another process may have migrated while this one waited for the write lock.
    let (v, app) = version(&tx)?;
    check(&tx, v, app)?;
    for step in &MIGRATIONS[usize::try_from(v).unwrap_or(0)..] {
        tx.execute_batch(step)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", latest())?;
    tx.commit()?;
    Ok(())
}
