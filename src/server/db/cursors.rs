//! The cursors of a database connection: what each holds (its options, the statement of its
//! last execute, a statement it prepared) and the requests that run statements on them
//! (execute, prepare, catalog functions, next result, scroll, fetch, close).
//!
//! A cursor keeps the statement of its last execute until it executes again or closes, even
//! after its rows were all read: `SQLMoreResults` needs it, and a scrollable cursor may go
//! back. A statement that was prepared then goes back where it came from (the cursor's own
//! prepared statement, or the connection's [`StatementCache`]), reset for reuse; one that was
//! run directly is freed.

use std::sync::Arc;

use odbc_api::handles::Statement as _;
use odbc_api::sys::{SqlReturn, StatementAttribute};
use odbc_api::{ConnectionTransitions, CursorImpl, Prepared};

use super::diag::{from_odbc, from_odbc_with_handle, records};
use super::fetch::{describe_columns, After, Dialect, ResultSet, Statement};
use super::odbc_calls::{self, RawStmt};
use super::param_arrays::{ArrayOutcome, ParamArrays};
use super::params::Param;
use super::statements::{sql_key, SqlKey, StatementCache, MAX_CACHED_SQL_BYTES};
use super::{warnings, DbConnection, DbReply, BATCH_CURSOR, MAX_CURSORS};
use crate::error::{DbError, ErrorClass};
use crate::proto::catalog::CatalogCall;
use crate::proto::message::CursorId;
use crate::proto::rows::EncodedRows;
use crate::proto::statement::CursorOptions;
use crate::proto::value::Value;
use crate::server::transaction_text::{
    statements, text_effect, transaction_change, TransactionChange,
};

/// PostgreSQL's warning for a `COMMIT` outside a transaction.
const NO_TRANSACTION_IN_PROGRESS: &str = "25P01";

/// PostgreSQL's "current transaction is aborted" (in failed SQL transaction).
const IN_FAILED_TRANSACTION: &str = "25P02";

/// The end of a result set whose rows went with the driver's transaction when another
/// cursor's statement failed in it.
fn lost_to_abort() -> DbError {
    DbError::with_state(
        ErrorClass::from_sqlstate(IN_FAILED_TRANSACTION),
        IN_FAILED_TRANSACTION,
        "the rest of the result is not read: a statement failed in the transaction this cursor was opened in, after which psqlodbc may drop the cursor and report the end of its rows",
    )
}

/// Whether `sql` starts with `word` as psqlodbc judges a statement's type: the first word
/// after spaces and opening parentheses, as a prefix, any case (a leading comment makes any
/// statement "other").
fn psqlodbc_starts_with(sql: &str, word: &str) -> bool {
    let text = sql.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '(');
    text.get(..word.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(word))
}

/// Whether psqlodbc runs `sql` as a cursor (`DECLARE ... FETCH`, with declare/fetch): a
/// `SELECT` or `WITH` query.
fn psqlodbc_runs_as_cursor(sql: &str) -> bool {
    psqlodbc_starts_with(sql, "SELECT") || psqlodbc_starts_with(sql, "WITH")
}

/// Whether psqlodbc commits its own transaction after running `sql` under autocommit: after
/// anything but a query it runs as a cursor and a procedure call (`CALL` or `{`). A text of
/// several statements counts as committing too: psqlodbc types it by its first (a `SELECT`
/// followed by an `INSERT` commits nothing), so its writes would wait in psqlodbc's
/// transaction; the server's commit before it lets it run in autocommit.
fn psqlodbc_commits_after(sql: &str) -> bool {
    !(psqlodbc_runs_as_cursor(sql)
        || psqlodbc_starts_with(sql, "CALL")
        || psqlodbc_starts_with(sql, "{"))
        || statements(sql).nth(1).is_some()
}

/// How a transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    Commit,
    Rollback,
}

/// `SQL_CURSOR_STATIC`, the cursor type of a scrollable cursor.
const STATIC_CURSOR: usize = 3;

/// Errors after which a statement prepared earlier may work when prepared anew (the tables it
/// uses were dropped, re-created or altered since): PostgreSQL's "cached plan must not change
/// result type" (0A000), a prepared statement the database no longer has (26000), and unknown
/// tables or columns (42P01, 42703, 42S02, 42S22).
/// Also HY007 (the driver dropped a prepared statement, e.g. at a commit).
const STALE_STATES: &[&str] = &[
    "0A000", "26000", "42P01", "42703", "42S02", "42S22", "HY007",
];

/// What a cursor holds.
#[derive(Default)]
pub(crate) struct CursorState {
    /// Options for the statements it runs.
    pub(crate) options: CursorOptions,
    /// The statement of its last execute.
    pub(crate) current: Option<Current>,
    /// A statement it prepared (`Prepare`), while not running.
    pub(crate) prepared: Option<PreparedStatement>,
}

/// A cursor's prepared statement.
pub(crate) struct PreparedStatement {
    stmt: Statement,
    kind: PreparedKind,
}

/// What a prepared statement was prepared as.
#[derive(Clone, Copy, PartialEq, Eq)]
struct PreparedKind {
    /// Its SQL text's key.
    key: SqlKey,
    /// With a static (scrollable) cursor type.
    scrollable: bool,
    /// It may go to the connection's cache (forward-only, text not over
    /// [`MAX_CACHED_SQL_BYTES`]).
    cacheable: bool,
}

impl PreparedKind {
    fn new(sql: &str, scrollable: bool) -> Self {
        Self {
            key: sql_key(sql),
            scrollable,
            cacheable: !scrollable && sql.len() <= MAX_CACHED_SQL_BYTES,
        }
    }
}

impl CursorState {
    /// Holds nothing the client will close: the server may forget it.
    fn is_idle(&self) -> bool {
        self.current.is_none()
            && self.prepared.is_none()
            && self.options == CursorOptions::default()
    }
}

/// The most cursors per connection whose rows were all read while their statement has
/// further results (`nextset`) waiting; beyond it the oldest one's are let go (its `nextset`
/// then says so). Clients do not close cursors they read to the end: this bounds what such
/// cursors leave behind.
pub const MAX_PENDING: usize = 16;

/// How many cursors whose further results were let go are remembered, so that their
/// `nextset` says so instead of "no more results".
pub const MAX_DISCARDED: usize = 1024;

/// How many cursors read to the end and let go are remembered, so that fetches the client
/// sent ahead before it saw the end get an empty last batch. The client keeps at most 24
/// requests in flight on a link, so fetches sent ahead can wait for at most 24 cursors; the
/// list is scanned on every statement, so it stays short.
pub const MAX_READ_TO_END: usize = 64;

/// The statement of a cursor's last execute.
pub(crate) struct Current {
    held: Held,
    /// Where the statement goes when the cursor is done with it.
    reuse: Reuse,
    /// Query timeout or max rows were set on it (reset before reuse).
    options_set: bool,
}

enum Held {
    /// Its result set (perhaps read to the end).
    Rows(Box<ResultSet>),
    /// A statement without a result set now (a row count), and what follows it.
    Finished(Statement, After),
}

/// A batch statement's columns, row count, first rows and whether they are all of them.
pub(crate) type BatchResult = (
    Option<Vec<crate::proto::value::ColumnDesc>>,
    i64,
    EncodedRows,
    bool,
);

/// Where a statement goes after use.
#[derive(Clone, PartialEq, Eq)]
enum Reuse {
    /// Freed (it was run directly, or failed).
    Free,
    /// Into the connection's cache, under its SQL text's key.
    Cache(SqlKey),
    /// Back to its cursor as the cursor's prepared statement.
    Cursor(PreparedKind),
}

/// A statement ready to execute, and where it came from.
struct Ready {
    stmt: Statement,
    reuse: Reuse,
    /// It ran before (a cache or cursor hit): a stale error is worth one fresh try.
    reused: bool,
}

impl DbConnection {
    /// The cursor's state, created with default options when new.
    ///
    /// # Errors
    /// The connection already has [`MAX_CURSORS`] cursors.
    fn cursor_state(&mut self, cursor: CursorId) -> Result<&mut CursorState, DbError> {
        // The batch cursor is the server's own: it does not count against the client's.
        if cursor != BATCH_CURSOR
            && !self.cursors.contains_key(&cursor)
            && self.cursors.len() >= MAX_CURSORS
        {
            return Err(DbError::with_state(
                ErrorClass::InterfaceError,
                "HY000",
                format!("this connection has {MAX_CURSORS} open cursors, the most it may have: close some first"),
            ));
        }
        Ok(self.cursors.entry(cursor).or_default())
    }

    fn options(&self, cursor: CursorId) -> CursorOptions {
        self.cursors
            .get(&cursor)
            .map(|c| c.options)
            .unwrap_or_default()
    }

    /// Starts a new statement on `cursor`: its previous one is let go, and it is no longer
    /// waiting for (or remembered without) further results.
    pub(crate) fn begin_statement(&mut self, cursor: CursorId) {
        self.release_current(cursor);
        self.pending.retain(|c| *c != cursor);
        self.discarded.retain(|c| *c != cursor);
        self.read_to_end.retain(|c| *c != cursor);
    }

    /// Lets go of the cursor's current statement: back to the cache or the cursor when it was
    /// prepared, freed otherwise.
    pub(crate) fn release_current(&mut self, cursor: CursorId) {
        let Some(current) = self.cursors.get_mut(&cursor).and_then(|c| c.current.take()) else {
            return;
        };
        let stmt = match current.held {
            Held::Rows(rs) => {
                // Its failure aborted the driver's transaction, which outlives it.
                self.driver_transaction_aborted |= rs.aborted_driver_transaction();
                rs.into_statement().0
            }
            Held::Finished(stmt, _) => Some(stmt),
        };
        if let Some(stmt) = stmt {
            self.recycle(cursor, stmt, current.reuse, current.options_set);
        }
    }

    /// Puts a used statement back where `reuse` says, reset; frees it when it cannot be
    /// reset.
    fn recycle(&mut self, cursor: CursorId, mut stmt: Statement, reuse: Reuse, options_set: bool) {
        if reuse == Reuse::Free {
            return;
        }
        let raw = stmt.as_stmt_ref().as_sys();
        let mut clean = odbc_calls::reset_for_reuse(raw);
        if options_set {
            clean &= odbc_calls::succeeded(odbc_calls::set_stmt_attr(
                raw,
                StatementAttribute::QueryTimeout,
                0,
            )) && odbc_calls::succeeded(odbc_calls::set_stmt_attr(
                raw,
                StatementAttribute::MaxRows,
                0,
            ));
        }
        if !clean {
            return;
        }
        match reuse {
            Reuse::Free => {}
            Reuse::Cache(sql) => self.cache.put(sql, stmt),
            Reuse::Cursor(kind) => {
                if let Some(state) = self.cursors.get_mut(&cursor) {
                    // Not when the cursor changed its type since (the statement has the old).
                    if state.prepared.is_none() && state.options.scrollable == kind.scrollable {
                        state.prepared = Some(PreparedStatement { stmt, kind });
                    }
                }
            }
        }
    }

    /// A new statement handle with the cursor's cursor type (static when scrollable, else
    /// the listener's `connection_cursortype`).
    fn new_statement(&mut self, options: CursorOptions) -> Result<Statement, DbError> {
        let conn = Arc::clone(self.conn()?);
        let mut stmt = conn
            .into_preallocated()
            .map_err(|e| from_odbc(&e))?
            .into_handle();
        let raw = stmt.as_stmt_ref().as_sys();
        if options.scrollable {
            match super::stmt_attr::set_cursor_type(raw, STATIC_CURSOR) {
                Some(STATIC_CURSOR) => {}
                _ => {
                    return Err(DbError::with_state(
                        ErrorClass::NotSupportedError,
                        "HYC00",
                        "the driver has no scrollable (static) cursors",
                    ))
                }
            }
        } else {
            self.apply_cursor_type(raw)?;
        }
        Ok(stmt)
    }

    /// A new statement with `sql` prepared on it.
    fn prepare_new(&mut self, sql: &str, options: CursorOptions) -> Result<Statement, DbError> {
        let mut stmt = self.new_statement(options)?;
        let text = odbc_api::handles::SqlText::new(sql);
        let armed = self.cancel.arm(stmt.as_stmt_ref().as_sys());
        let mut sref = stmt.as_stmt_ref();
        let r = sref.prepare(&text).into_result(&sref);
        drop(armed);
        match r {
            Ok(()) => Ok(stmt),
            Err(e) => Err(from_odbc_with_handle(&e, &stmt.as_stmt_ref())),
        }
    }

    /// The statement to execute `sql` with on `cursor`: the cursor's prepared one, a cached
    /// one, a newly prepared one (when caching), or a fresh one to run `sql` directly.
    fn ready(
        &mut self,
        cursor: CursorId,
        sql: &str,
        options: CursorOptions,
    ) -> Result<Ready, DbError> {
        // The text's digest, once per execute.
        let wanted = PreparedKind::new(sql, options.scrollable);
        let key = wanted.key;
        if let Some(state) = self.cursors.get_mut(&cursor) {
            if state.prepared.as_ref().is_some_and(|p| p.kind == wanted) {
                if let Some(p) = state.prepared.take() {
                    return Ok(Ready {
                        stmt: p.stmt,
                        reuse: Reuse::Cursor(p.kind),
                        reused: true,
                    });
                }
            }
        }
        // A transaction statement (`BEGIN`, `COMMIT`, ...) runs directly: psqlodbc does not
        // see a transaction begun by a prepared one, and would then begin one of its own for a
        // cursor and commit it, with the client's work, after the next statement.
        if options.scrollable
            || !self.cache.enabled()
            || sql.len() > MAX_CACHED_SQL_BYTES
            || text_effect(sql).is_some()
            || transaction_change(sql).is_some()
        {
            tracing::debug!(
                bytes = sql.len(),
                "statement run directly (not for the cache)"
            );
            return Ok(Ready {
                stmt: self.new_statement(options)?,
                reuse: Reuse::Free,
                reused: false,
            });
        }
        if let Some(stmt) = self.cache.take(&key) {
            tracing::debug!("statement from the cache");
            return Ok(Ready {
                stmt,
                reuse: Reuse::Cache(key),
                reused: true,
            });
        }
        tracing::debug!("statement prepared for the cache");
        Ok(Ready {
            stmt: self.prepare_new(sql, options)?,
            reuse: Reuse::Cache(key),
            reused: false,
        })
    }

    /// Runs `sql` with `params` on `cursor`, retrying once on a freshly prepared statement when
    /// a reused one failed with an error that a changed schema explains. Returns the statement
    /// (in cursor state when the second value is true) and where it goes after use.
    fn run_sql(
        &mut self,
        cursor: CursorId,
        sql: &str,
        params: &[Param],
        options: CursorOptions,
    ) -> Result<(Statement, bool, Reuse, bool), DbError> {
        let ready = self.ready(cursor, sql, options)?;
        let reuse = ready.reuse.clone();
        match self.run_ready(ready, sql, params, options) {
            Ok((stmt, has_cursor, set)) => Ok((stmt, has_cursor, reuse, set)),
            // Only where running it again cannot repeat work or hide the error: under
            // autocommit (in a transaction PostgreSQL would answer 25P02 instead) and for
            // one statement (no `;`: an earlier statement of several may have run).
            Err((e, true))
                if STALE_STATES.contains(&e.sqlstate.as_str())
                    && self.autocommit
                    && !sql.trim_end().trim_end_matches(';').contains(';') =>
            {
                tracing::debug!(sqlstate = %e.sqlstate, "a reused prepared statement failed: preparing it anew");
                let stmt = self.prepare_new(sql, options)?;
                let again = Ready {
                    stmt,
                    reuse: reuse.clone(),
                    reused: false,
                };
                self.run_ready(again, sql, params, options)
                    .map(|(stmt, has_cursor, set)| (stmt, has_cursor, reuse, set))
                    .map_err(|(e, _)| e)
            }
            Err((e, _)) => Err(e),
        }
    }

    /// Executes a ready statement. On failure the statement is freed; the flag says whether
    /// it was a reused one.
    fn run_ready(
        &mut self,
        ready: Ready,
        sql: &str,
        params: &[Param],
        options: CursorOptions,
    ) -> Result<(Statement, bool, bool), (DbError, bool)> {
        let Ready {
            mut stmt,
            reuse,
            reused,
        } = ready;
        let raw = stmt.as_stmt_ref().as_sys();
        let set = options.query_timeout_secs > 0 || options.max_rows > 0;
        if set {
            for (attr, value) in [
                (
                    StatementAttribute::QueryTimeout,
                    options.query_timeout_secs as usize,
                ),
                (
                    StatementAttribute::MaxRows,
                    usize::try_from(options.max_rows).unwrap_or(usize::MAX),
                ),
            ] {
                if !odbc_calls::succeeded(odbc_calls::set_stmt_attr(raw, attr, value)) {
                    let e = DbError::from_records(
                        records(&RawStmt(raw)),
                        "the driver refuses the cursor's query timeout or max rows",
                    );
                    return Err((e, false));
                }
            }
        }
        let armed = self.cancel.arm(raw);
        let outcome = if reuse == Reuse::Free {
            // SAFETY: a fresh statement handle allocated on this connection, in the allocated
            // state `Preallocated` expects.
            #[allow(unsafe_code)]
            let mut pre = unsafe { odbc_api::Preallocated::new(stmt) };
            let r = pre.execute(sql, params).map(|c| {
                c.map(|c| {
                    let _ = c.into_stmt();
                })
                .is_some()
            });
            stmt = pre.into_handle();
            r
        } else {
            // SAFETY: the statement was prepared (`prepare_new`) and, if it ran before, reset
            // with its cursor closed and buffers unbound (`recycle`).
            #[allow(unsafe_code)]
            let mut prepared = unsafe { Prepared::from_prepared(stmt) };
            // Keep the statement in cursor state without closing it: `into_stmt` does not.
            let r = prepared.execute(params).map(|c| {
                c.map(|c| {
                    let _ = c.into_stmt();
                })
                .is_some()
            });
            stmt = prepared.into_handle();
            r
        };
        drop(armed);
        // The parameters' buffers belong to this request: none stays bound after it
        // (`SQLMoreResults` or a reuse must not find them).
        if let Err(e) = stmt
            .as_stmt_ref()
            .reset_parameters()
            .into_result(&stmt.as_stmt_ref())
        {
            return Err((from_odbc(&e), false));
        }
        match outcome {
            Ok(has_cursor) => Ok((stmt, has_cursor, set)),
            Err(e) => {
                let err = from_odbc_with_handle(&e, &stmt.as_stmt_ref());
                if err.sqlstate.starts_with("08") {
                    // The connection failed: no prepared statement of it is any good.
                    self.cache.clear();
                }
                Err((err, reused))
            }
        }
    }

    /// Turns an executed statement into the cursor's current one and the reply: its columns
    /// and first rows, or its row count.
    fn hold(
        &mut self,
        cursor: CursorId,
        mut stmt: Statement,
        has_cursor: bool,
        reuse: Reuse,
        options_set: bool,
        max_rows: u32,
    ) -> Result<DbReply, DbError> {
        let scrollable = self.options(cursor).scrollable;
        if !has_cursor {
            let rowcount = row_count(&mut stmt);
            // Is a further result waiting (a batch of statements)? If not, the statement
            // is done with at once, so that a client need not close the cursor.
            let raw = stmt.as_stmt_ref().as_sys();
            let armed = self.cancel.arm(raw);
            let rc = odbc_calls::more_results(raw);
            drop(armed);
            warnings::note(rc, &RawStmt(raw));
            if rc == SqlReturn::NO_DATA {
                self.recycle(cursor, stmt, reuse, options_set);
                self.forget_if_idle(cursor);
            } else {
                let after = if odbc_calls::succeeded(rc) {
                    After::Next
                } else {
                    After::Failed(DbError::from_records(
                        records(&RawStmt(raw)),
                        "SQLMoreResults failed",
                    ))
                };
                self.cursor_state(cursor)?.current = Some(Current {
                    held: Held::Finished(stmt, after),
                    reuse,
                    options_set,
                });
                self.note_pending(cursor);
            }
            return Ok(DbReply::Executed {
                columns: None,
                rowcount,
                rows: EncodedRows::new(),
                done: true,
            });
        }
        // SQLRowCount is driver-defined for a result set (SQLite's driver says 0, psqlodbc
        // the rows of its first fetch): "unknown", as PEP 249 has it, rather than a guess.
        let rowcount = -1;
        // SAFETY: the statement was just executed (or moved to its next result) and has a
        // result set whose cursor was not closed: the cursor state `CursorImpl::new` requires.
        #[allow(unsafe_code)]
        let owned = unsafe { CursorImpl::new(stmt) };
        // Binding buffers may draw notes (01S02: the driver took another rowset size): ours,
        // not the statement's.
        let dialect = self.dialect;
        // A prepared statement (cached, or the cursor's own) was described when it last ran.
        let key = match &reuse {
            Reuse::Cache(key) => Some(*key),
            Reuse::Cursor(kind) => Some(kind.key),
            Reuse::Free => None,
        };
        let known = key.and_then(|k| self.cache.described(&k));
        let (mut rs, described) =
            warnings::collect(|| ResultSet::open(owned, dialect, scrollable, known)).0?;
        let columns = described.descs.clone();
        if let Some(key) = key {
            self.cache.remember(key, described);
        }
        // With declare/fetch, psqlodbc reads the rows through a cursor that lives in a
        // transaction (its own under autocommit).
        if dialect == Dialect::Postgres && self.driver_begins_cursor_transactions {
            rs.set_in_driver_transaction();
        }
        let max = self.options(cursor).max_rows;
        if max > 0 {
            rs.set_limit(max);
        }
        let first = if max_rows > 0 {
            let _armed = self.cancel.arm(rs.stmt());
            let max_chunk = self.max_chunk;
            // Fetch-time notices (a value read again whole is a `01004`) are not the
            // statement's warnings.
            warnings::collect(|| rs.fetch(max_rows as usize, max_chunk)).0
        } else {
            Ok((EncodedRows::new(), false))
        };
        let state = self.cursor_state(cursor)?;
        state.current = Some(Current {
            held: Held::Rows(Box::new(rs)),
            reuse,
            options_set,
        });
        self.spread_abort(cursor);
        let (rows, done) = first?;
        Ok(DbReply::Executed {
            columns: Some(columns),
            rowcount,
            rows,
            done,
        })
    }

    /// Ends the transaction psqlodbc keeps open under autocommit for its cursors, before the
    /// connection runs a statement psqlodbc would commit after (`next`: its text; `None` for
    /// one it may commit after whatever the text, e.g. parameter arrays).
    ///
    /// With declare/fetch (`UseDeclareFetch=1`) psqlodbc opens a query's cursor inside a
    /// transaction of its own (`BEGIN; DECLARE ... WITH HOLD`) and keeps it until the cursor
    /// closes. A statement run meanwhile joins that transaction, and psqlodbc commits after it
    /// without looking at the outcome: the commit reads the rest of every open cursor (a
    /// holdable cursor's rows are kept at commit), a query failing there rolls the
    /// transaction back, and the statement that was answered "done" is not stored. Here the
    /// commit comes first, on its own: the statement then runs in autocommit as the client
    /// expects, and a commit that fails ends the cursors it took with them with its error
    /// (the driver would report their lost rows as the end of the result).
    ///
    /// Only where psqlodbc would commit (see [`psqlodbc_commits_after`]): a query beside an
    /// open cursor commits nothing, so PostgreSQL reads the rest of the open cursors' rows
    /// (and runs a scrollable one's query again) exactly when it would without odbcd. Costs
    /// one round trip then. A `COMMIT` that finds no transaction (psqlodbc without
    /// declare/fetch reads every row at once and begins none) turns this off for the
    /// connection.
    ///
    /// # Errors
    /// The request was cancelled while the commit ran: its statement must not run.
    pub(crate) fn end_cursors_transaction(&mut self, next: Option<&str>) -> Result<(), DbError> {
        // In a transaction the client began in SQL, psqlodbc commits nothing by itself, and
        // nor may the server.
        if self.dialect != Dialect::Postgres
            || !self.autocommit
            || self.transaction_begun_in_sql
            || !self.driver_begins_cursor_transactions
        {
            return Ok(());
        }
        let (mut open, mut aborted) = (false, self.driver_transaction_aborted);
        for rs in self.result_sets() {
            open |= rs.in_driver_transaction();
            aborted |= rs.aborted_driver_transaction();
        }
        // An aborted transaction is ended before any statement (which it would refuse); a
        // live one only where psqlodbc would commit it.
        if !(aborted || (open && next.is_none_or(psqlodbc_commits_after))) {
            return Ok(());
        }
        // In an aborted transaction PostgreSQL answers the COMMIT with a rollback.
        let (committed, found_none) = self.run_commit_statement();
        if found_none && !aborted {
            // psqlodbc holds no transaction for open cursors: it read their rows at once.
            tracing::debug!(
                "no transaction for the open cursors: the driver reads rows at once here"
            );
            self.driver_begins_cursor_transactions = false;
        }
        self.driver_transaction_aborted = false;
        let lost = match (&committed, aborted) {
            (Ok(()), false) => {
                tracing::debug!("committed the driver's transaction of open cursors");
                None
            }
            (_, true) => {
                tracing::info!("rolled back the driver's transaction of open cursors: a statement failed in it");
                Some(lost_to_abort())
            }
            (Err(e), false) => {
                tracing::info!(sqlstate = %e.sqlstate, "the driver's transaction of open cursors failed to commit: {}", e.message);
                Some(DbError {
                    message: format!(
                        "the rest of the result was lost: the transaction the driver holds open cursors in failed to commit before the next statement: {}",
                        e.message
                    ),
                    ..e.clone()
                })
            }
        };
        for (_, rs) in self.result_sets_mut() {
            if !rs.in_driver_transaction() {
                continue;
            }
            if rs.aborted_driver_transaction() {
                // Its own error was (or will be) its end.
                rs.driver_transaction_committed();
                continue;
            }
            match &lost {
                None => rs.driver_transaction_committed(),
                Some(e) => rs.cut_off(e.clone()),
            }
        }
        match committed {
            Err(e) if self.cancel.was_cancelled() => Err(e),
            _ => Ok(()),
        }
    }

    /// After a read of `cursor`'s result set: if it failed inside the driver's transaction,
    /// PostgreSQL aborted that transaction, and psqlodbc rolls it back and reports the other
    /// cursors opened in it as ended where their rows stop: those end with an error after the
    /// rows already read instead.
    fn spread_abort(&mut self, cursor: CursorId) {
        let failed = self
            .cursors
            .get(&cursor)
            .and_then(|c| c.current.as_ref())
            .is_some_and(|c| matches!(&c.held, Held::Rows(rs) if rs.aborted_driver_transaction()));
        if !failed || self.driver_transaction_aborted {
            return;
        }
        let own = self.autocommit && !self.transaction_begun_in_sql;
        self.lose_open_cursors(Some(cursor), own);
    }

    /// The result sets the cursors hold, with their cursors, to change.
    fn result_sets_mut(&mut self) -> impl Iterator<Item = (CursorId, &mut ResultSet)> {
        self.cursors
            .iter_mut()
            .filter_map(|(id, c)| match c.current.as_mut() {
                Some(Current {
                    held: Held::Rows(rs),
                    ..
                }) => Some((*id, rs.as_mut())),
                _ => None,
            })
    }

    /// The result sets the cursors hold.
    fn result_sets(&self) -> impl Iterator<Item = &ResultSet> {
        self.cursors
            .values()
            .filter_map(|c| match c.current.as_ref() {
                Some(Current {
                    held: Held::Rows(rs),
                    ..
                }) => Some(rs.as_ref()),
                _ => None,
            })
    }

    /// After `sql` ran without error: a lone `COMMIT`, `ROLLBACK`, ... ended the transaction;
    /// under autocommit a statement that begins one as PostgreSQL reads it (`BEGIN`,
    /// `START TRANSACTION`) began the client's own, which the server must never commit for it.
    fn ran_transaction_text(&mut self, sql: &str) {
        match transaction_change(sql) {
            Some(TransactionChange::Committed) => self.transaction_ended(Ending::Commit),
            Some(TransactionChange::RolledBack) => self.transaction_ended(Ending::Rollback),
            Some(TransactionChange::Begun) if self.autocommit => {
                self.transaction_begun_in_sql = true;
            }
            _ => {}
        }
    }

    /// The database's transaction ended: the result sets opened in it keep their rows after a
    /// commit (psqlodbc declares its cursors `WITH HOLD`); after a rollback they are gone,
    /// and end with an error after the rows already read (psqlodbc would report them ended).
    pub(crate) fn transaction_ended(&mut self, ending: Ending) {
        self.transaction_begun_in_sql = false;
        self.driver_transaction_aborted = false;
        for (_, rs) in self.result_sets_mut() {
            if !rs.in_driver_transaction() {
                continue;
            }
            match ending {
                Ending::Commit => rs.driver_transaction_committed(),
                Ending::Rollback if rs.aborted_driver_transaction() => {
                    rs.driver_transaction_committed();
                }
                Ending::Rollback => rs.cut_off(DbError::with_state(
                    ErrorClass::from_sqlstate(IN_FAILED_TRANSACTION),
                    IN_FAILED_TRANSACTION,
                    "the rest of the result was lost: the transaction it was opened in was rolled back",
                )),
            }
        }
    }

    /// A statement failed at once with `e` (reported by the driver). psqlodbc then rolls back
    /// the transaction the open cursors were opened in, and reports them ended where their
    /// rows stop: in the client's transaction (autocommit off, or begun in SQL) after any
    /// failure, in its own under autocommit after a query it runs as a cursor or a text of
    /// several statements (a single other statement fails alone: psqlodbc rolls back to a
    /// savepoint). Those cursors end with an error after the rows already read instead.
    fn statement_failed(&mut self, sql: &str, e: &DbError) {
        if self.dialect != Dialect::Postgres || e.records.is_empty() {
            return;
        }
        let own = self.autocommit && !self.transaction_begun_in_sql;
        if own && psqlodbc_commits_after(sql) && statements(sql).nth(1).is_none() {
            return;
        }
        self.lose_open_cursors(None, own);
    }

    /// Ends every result set still in the driver's transaction (but `except`'s) with
    /// [`lost_to_abort`]; in the driver's own transaction (`own`), it is rolled back before
    /// the next statement.
    fn lose_open_cursors(&mut self, except: Option<CursorId>, own: bool) {
        let mut any = false;
        for (id, rs) in self.result_sets_mut() {
            if Some(id) != except && rs.in_driver_transaction() && !rs.aborted_driver_transaction()
            {
                rs.cut_off(lost_to_abort());
                any = true;
            }
        }
        if own && (any || except.is_some()) {
            self.driver_transaction_aborted = true;
        }
    }

    /// Runs `COMMIT` as a statement (under autocommit `SQLEndTran` does nothing), cancellable;
    /// also says whether PostgreSQL warned that no transaction was in progress.
    fn run_commit_statement(&mut self) -> (Result<(), DbError>, bool) {
        let mut stmt = match self.new_statement(CursorOptions::default()) {
            Ok(stmt) => stmt,
            Err(e) => return (Err(e), false),
        };
        let raw = stmt.as_stmt_ref().as_sys();
        let armed = self.cancel.arm(raw);
        // SAFETY: a fresh statement handle allocated on this connection, in the allocated
        // state `Preallocated` expects.
        #[allow(unsafe_code)]
        let mut pre = unsafe { odbc_api::Preallocated::new(stmt) };
        let outcome = pre.execute("COMMIT", ()).map(|_| ());
        drop(armed);
        let mut stmt = pre.into_handle();
        let found_none = outcome.is_ok()
            && records(&RawStmt(stmt.as_stmt_ref().as_sys()))
                .iter()
                .any(|r| r.sqlstate == NO_TRANSACTION_IN_PROGRESS);
        let outcome = outcome.map_err(|e| from_odbc_with_handle(&e, &stmt.as_stmt_ref()));
        (outcome, found_none)
    }

    /// `Execute`: runs `sql` on the cursor (closing its previous result).
    pub(crate) fn execute(
        &mut self,
        cursor: CursorId,
        sql: &str,
        params: &[Value],
        max_rows: u32,
    ) -> Result<DbReply, DbError> {
        self.begin_statement(cursor);
        self.end_cursors_transaction(Some(sql))?;
        self.cursor_state(cursor)?;
        let params = super::params::to_params(params)?;
        let options = self.options(cursor);
        let (stmt, has_cursor, reuse, set) = self
            .run_sql(cursor, sql, &params, options)
            .inspect_err(|e| self.statement_failed(sql, e))?;
        self.ran_transaction_text(sql);
        self.hold(cursor, stmt, has_cursor, reuse, set, max_rows)
    }

    /// `Prepare`: prepares `sql` as the cursor's statement and describes it.
    pub(crate) fn prepare(&mut self, cursor: CursorId, sql: &str) -> Result<DbReply, DbError> {
        self.begin_statement(cursor);
        let options = self.options(cursor);
        let kind = PreparedKind::new(sql, options.scrollable);
        let state = self.cursor_state(cursor)?;
        let mut stmt = match state.prepared.take() {
            Some(p) if p.kind == kind => p.stmt,
            _ => match kind.cacheable.then(|| self.cache.take(&kind.key)).flatten() {
                Some(stmt) => stmt,
                None => self.prepare_new(sql, options)?,
            },
        };
        let raw = stmt.as_stmt_ref().as_sys();
        // SAFETY: `stmt` holds a prepared statement with no cursor open (new from
        // `prepare_new`, or reset before it was cached).
        #[allow(unsafe_code)]
        let mut prepared = unsafe { Prepared::from_prepared(stmt) };
        let described = describe_columns(&mut prepared, raw, self.dialect);
        let params = prepared.num_params().map_err(|e| from_odbc(&e));
        let stmt = prepared.into_handle();
        let columns = described?;
        let params = params?;
        self.cursor_state(cursor)?.prepared = Some(PreparedStatement { stmt, kind });
        Ok(DbReply::Prepared {
            columns: (!columns.is_empty()).then_some(columns),
            params,
        })
    }

    /// `Catalog`: runs a catalog function on the cursor.
    pub(crate) fn catalog(
        &mut self,
        cursor: CursorId,
        call: &CatalogCall,
        max_rows: u32,
    ) -> Result<DbReply, DbError> {
        odbc_calls::check_names(call)?;
        self.begin_statement(cursor);
        self.cursor_state(cursor)?;
        let mut stmt = self.new_statement(self.options(cursor))?;
        let raw = stmt.as_stmt_ref().as_sys();
        let armed = self.cancel.arm(raw);
        let rc = odbc_calls::catalog(raw, call);
        drop(armed);
        warnings::note(rc, &RawStmt(raw));
        if !odbc_calls::succeeded(rc) {
            return Err(DbError::from_records(
                records(&RawStmt(raw)),
                format!("{} failed", call.function_name()),
            ));
        }
        self.hold(cursor, stmt, true, Reuse::Free, false, max_rows)
    }

    /// `NextResult`: moves the cursor's statement to its next result.
    pub(crate) fn next_result(
        &mut self,
        cursor: CursorId,
        max_rows: u32,
    ) -> Result<DbReply, DbError> {
        self.pending.retain(|c| *c != cursor);
        if let Some(i) = self.discarded.iter().position(|c| *c == cursor) {
            self.discarded.remove(i);
            return Err(DbError::with_state(
                ErrorClass::ProgrammingError,
                "24000",
                format!("the statement's further results were let go: more than {MAX_PENDING} cursors of this connection had results waiting (close cursors you are done with)"),
            ));
        }
        let Some(current) = self
            .cursors
            .get_mut(&cursor)
            .and_then(|state| state.current.take())
        else {
            // Nothing held: the last statement had no further result (or none ran).
            return Ok(DbReply::NoMoreResults);
        };
        let Current {
            held,
            reuse,
            options_set,
        } = current;
        let (stmt, after) = match held {
            Held::Rows(rs) => rs.into_statement(),
            Held::Finished(stmt, after) => (Some(stmt), after),
        };
        let Some(mut stmt) = stmt else {
            return Ok(DbReply::NoMoreResults);
        };
        let raw = stmt.as_stmt_ref().as_sys();
        let rc = match after {
            After::Failed(e) => return Err(e),
            After::Next => SqlReturn::SUCCESS,
            After::NoMore => SqlReturn::NO_DATA,
            After::Unknown => {
                let armed = self.cancel.arm(raw);
                let rc = odbc_calls::more_results(raw);
                drop(armed);
                warnings::note(rc, &RawStmt(raw));
                rc
            }
        };
        if rc == SqlReturn::NO_DATA {
            self.recycle(cursor, stmt, reuse, options_set);
            self.forget_if_idle(cursor);
            return Ok(DbReply::NoMoreResults);
        }
        if !odbc_calls::succeeded(rc) {
            return Err(DbError::from_records(
                records(&RawStmt(raw)),
                "SQLMoreResults failed",
            ));
        }
        let columns = stmt
            .as_stmt_ref()
            .num_result_cols()
            .into_result(&stmt.as_stmt_ref())
            .map_err(|e| from_odbc(&e))?;
        self.hold(cursor, stmt, columns > 0, reuse, options_set, max_rows)
    }

    /// `Fetch`: the cursor's next rows.
    pub(crate) fn fetch(&mut self, cursor: CursorId, max_rows: u32) -> Result<DbReply, DbError> {
        let has_rows = matches!(
            self.cursors.get(&cursor).and_then(|c| c.current.as_ref()),
            Some(Current {
                held: Held::Rows(_),
                ..
            })
        );
        if !has_rows && self.read_to_end.contains(&cursor) {
            // Read to the end already: past the end there is nothing, as at the end.
            return Ok(DbReply::Rows {
                rows: EncodedRows::new(),
                done: true,
            });
        }
        let max_chunk = self.max_chunk;
        let cancel = Arc::clone(&self.cancel);
        let rs = self.result_set(cursor)?;
        let armed = cancel.arm(rs.stmt());
        let fetched = rs.fetch(max_rows.max(1) as usize, max_chunk);
        drop(armed);
        self.spread_abort(cursor);
        let (rows, done) = fetched?;
        Ok(DbReply::Rows { rows, done })
    }

    /// `Scroll`: the rows of a scrollable cursor from `position`.
    pub(crate) fn scroll(
        &mut self,
        cursor: CursorId,
        position: u64,
        max_rows: u32,
    ) -> Result<DbReply, DbError> {
        let max_chunk = self.max_chunk;
        let cancel = Arc::clone(&self.cancel);
        let rs = self.result_set(cursor)?;
        let armed = cancel.arm(rs.stmt());
        let r = rs
            .scroll_to(position)
            .and_then(|()| rs.fetch(max_rows.max(1) as usize, max_chunk));
        drop(armed);
        self.spread_abort(cursor);
        let (rows, done) = r?;
        Ok(DbReply::Rows { rows, done })
    }

    /// Reads ahead for the cursor's next fetches; returns whether reading further would
    /// still be useful (see [`ResultSet::read_ahead`]).
    ///
    /// In the client's transaction (autocommit off) it reads one batch per request only: a
    /// statement that fails in rows the client has not asked for aborts a PostgreSQL
    /// transaction, and an error met ahead waits for the client's next fetch of that cursor,
    /// so reading on would let a commit report success for what PostgreSQL rolled back.
    pub(crate) fn read_ahead(&mut self, cursor: CursorId) -> bool {
        let max_chunk = self.max_chunk;
        let autocommit = self.autocommit;
        let cancel = Arc::clone(&self.cancel);
        let more = match self.result_set(cursor) {
            Ok(rs) => {
                let _armed = cancel.arm(rs.stmt());
                rs.read_ahead(max_chunk) && autocommit
            }
            Err(_) => false,
        };
        self.spread_abort(cursor);
        more
    }

    fn result_set(&mut self, cursor: CursorId) -> Result<&mut ResultSet, DbError> {
        match self
            .cursors
            .get_mut(&cursor)
            .and_then(|c| c.current.as_mut())
        {
            Some(Current {
                held: Held::Rows(rs),
                ..
            }) => Ok(rs),
            _ => Err(DbError::with_state(
                ErrorClass::ProgrammingError,
                "24000",
                "no result set: execute a query on this cursor first",
            )),
        }
    }

    /// `CloseCursor`: frees everything the cursor holds.
    pub(crate) fn close_cursor(&mut self, cursor: CursorId) {
        self.release_current(cursor);
        self.pending.retain(|c| *c != cursor);
        self.discarded.retain(|c| *c != cursor);
        self.read_to_end.retain(|c| *c != cursor);
        if let Some(state) = self.cursors.remove(&cursor) {
            if let Some(p) = state.prepared {
                if p.kind.cacheable {
                    self.cache.put(p.kind.key, p.stmt);
                }
            }
        }
    }

    /// `SetCursorOptions`.
    pub(crate) fn set_cursor_options(
        &mut self,
        cursor: CursorId,
        options: CursorOptions,
    ) -> Result<DbReply, DbError> {
        let state = self.cursor_state(cursor)?;
        if state.options.scrollable != options.scrollable {
            // Prepared with the other cursor type.
            state.prepared = None;
        }
        state.options = options;
        Ok(DbReply::Done)
    }

    /// `ExecuteMany`: runs `sql` once per parameter set, in order, on one prepared statement
    /// (the cursor's or the cache's; prepared once). Stops at the first failure, answering
    /// with its index and the rows the sets before it affected; under autocommit those sets
    /// stay committed, each having committed by itself.
    pub(crate) fn execute_many(
        &mut self,
        cursor: CursorId,
        sql: &str,
        sets: &[Vec<Value>],
    ) -> Result<DbReply, DbError> {
        let reply = self.run_many(cursor, sql, sets);
        // Measured: in the client's transaction psqlodbc loses the open cursors after every
        // failed execute; after a failed executemany it was not seen to, but nothing in its
        // code promises that, so the open cursors end with an error here too.
        if let Ok(DbReply::ManyFailed { error, .. }) | Err(error) = &reply {
            self.statement_failed(sql, error);
        }
        reply
    }

    /// [`Self::execute_many`] without the care for the open cursors after a failure.
    fn run_many(
        &mut self,
        cursor: CursorId,
        sql: &str,
        sets: &[Vec<Value>],
    ) -> Result<DbReply, DbError> {
        self.begin_statement(cursor);
        // Its sets may go as a parameter array, which psqlodbc never runs as a cursor.
        self.end_cursors_transaction(None)?;
        self.cursor_state(cursor)?;
        let options = self.options(cursor);
        let mut total: i64 = 0;
        let mut known = true;
        let failed = |i: usize, total: i64, known: bool, mut error: DbError| {
            error.message = format!(
                "parameter set {} of {}: {}",
                i + 1,
                sets.len(),
                error.message
            );
            Ok(DbReply::ManyFailed {
                index: u32::try_from(i).unwrap_or(u32::MAX),
                rowcount: if known { total } else { -1 },
                error,
            })
        };
        // Every set at once, as parameter arrays, where the driver takes them.
        if let Some(reply) = self.execute_many_as_arrays(cursor, sql, sets, options)? {
            return match reply {
                Ok(reply) => Ok(reply),
                Err((i, e)) => failed(i, -1, false, e),
            };
        }
        for (i, set) in sets.iter().enumerate() {
            if i > 0 && self.cancel.was_cancelled() {
                let e = DbError::with_state(
                    ErrorClass::OperationalError,
                    "HY008",
                    "cancelled before this set ran",
                );
                return failed(i, total, known, e);
            }
            let params = match super::params::to_params(set) {
                Ok(p) => p,
                Err(e) => return failed(i, total, known, e),
            };
            let (mut stmt, _has_cursor, reuse, set_options) =
                match self.run_sql(cursor, sql, &params, options) {
                    Ok(r) => r,
                    Err(e) => return failed(i, total, known, self.refined(e)),
                };
            match row_count(&mut stmt) {
                n if n >= 0 => total = total.saturating_add(n),
                _ => known = false,
            }
            // Back to the cache (its cursor, if any, closed) for the next set.
            self.recycle(cursor, stmt, reuse, set_options);
        }
        Ok(DbReply::Executed {
            columns: None,
            rowcount: if known { total } else { -1 },
            rows: EncodedRows::new(),
            done: true,
        })
    }

    /// `ExecuteMany` in one driver call with parameter arrays: `None` to run set by set
    /// instead; else the reply, or the failing set and its error.
    ///
    /// Only where the outcome of a failed array is known: psqlodbc under autocommit runs an
    /// array as one transaction (a failing set leaves nothing of the array committed; tested),
    /// and its status array does not say which set failed. So a failed array is run again set
    /// by set, which finds the failing set and keeps the commit rule (the sets before it
    /// commit, one by one). With autocommit off, a failure would abort the open transaction
    /// before the sets could be run again: set by set from the start. Other drivers (whose
    /// arrays may commit some sets before an error) and sets arrays do not take
    /// ([`ParamArrays::new`]) run set by set.
    #[allow(clippy::type_complexity)]
    fn execute_many_as_arrays(
        &mut self,
        cursor: CursorId,
        sql: &str,
        sets: &[Vec<Value>],
        options: CursorOptions,
    ) -> Result<Option<Result<DbReply, (usize, DbError)>>, DbError> {
        if sets.len() < 2
            || options.scrollable
            || !self.cache.enabled()
            || self.dialect != super::fetch::Dialect::Postgres
            || !self.autocommit
            || options.query_timeout_secs > 0
            || options.max_rows > 0
        {
            return Ok(None);
        }
        if !self
            .info_number("SQL_PARAM_ARRAY_ROW_COUNTS")
            .is_some_and(|n| n == 1 || n == 2)
        {
            return Ok(None);
        }
        let Some(mut arrays) = ParamArrays::new(sets) else {
            return Ok(None);
        };
        let ready = match self.ready(cursor, sql, options) {
            Ok(r) => r,
            Err(e) => return Ok(Some(Err((0, self.refined(e))))),
        };
        if ready.reuse == Reuse::Free {
            return Ok(None);
        }
        let mut stmt = ready.stmt;
        let raw = stmt.as_stmt_ref().as_sys();
        tracing::debug!(sets = sets.len(), "executemany as parameter arrays");
        let armed = self.cancel.arm(raw);
        let outcome = arrays.execute(raw);
        drop(armed);
        match outcome {
            ArrayOutcome::Done(rowcount) => {
                self.recycle(cursor, stmt, ready.reuse, false);
                Ok(Some(Ok(DbReply::Executed {
                    columns: None,
                    rowcount: rowcount.unwrap_or(-1),
                    rows: EncodedRows::new(),
                    done: true,
                })))
            }
            ArrayOutcome::Failed => {
                // Nothing of the array was committed. The statement is not reused after a
                // failure (its diagnostics are read first).
                let diagnostics = records(&RawStmt(raw));
                drop(stmt);
                if self.cancel.was_cancelled() {
                    // Cancelled (client or watchdog): stop, nothing ran.
                    let e = DbError::from_records(diagnostics, "cancelled");
                    let e = if e.records.is_empty() {
                        DbError::with_state(ErrorClass::OperationalError, "HY008", "cancelled")
                    } else {
                        self.refined(e)
                    };
                    return Ok(Some(Err((0, e))));
                }
                // Run the sets one by one to find the failing one.
                tracing::debug!("a parameter array failed: running its sets one by one");
                Ok(None)
            }
            ArrayOutcome::Refused => {
                self.recycle(cursor, stmt, ready.reuse, false);
                Ok(None)
            }
        }
    }

    /// `CallProcedure`: runs the call with its output parameters bound; answers with every
    /// parameter's value after it, or (when the procedure returns a result set) like
    /// `Execute`, its output parameters unread.
    pub(crate) fn call_procedure(
        &mut self,
        cursor: CursorId,
        sql: &str,
        params: &[crate::proto::statement::ProcParam],
        max_rows: u32,
    ) -> Result<DbReply, DbError> {
        self.run_call(cursor, sql, params, max_rows)
            .inspect_err(|e| self.statement_failed(sql, e))
    }

    /// [`Self::call_procedure`] without the care for the open cursors after a failure.
    fn run_call(
        &mut self,
        cursor: CursorId,
        sql: &str,
        params: &[crate::proto::statement::ProcParam],
        max_rows: u32,
    ) -> Result<DbReply, DbError> {
        self.begin_statement(cursor);
        self.end_cursors_transaction(Some(sql))?;
        self.cursor_state(cursor)?;
        let mut bindings = super::procedures::Bindings::new(params)?;
        let mut stmt = self.new_statement(self.options(cursor))?;
        let raw = stmt.as_stmt_ref().as_sys();
        let armed = self.cancel.arm(raw);
        // SAFETY: a fresh statement handle allocated on this connection, in the allocated
        // state `Preallocated` expects.
        #[allow(unsafe_code)]
        let mut pre = unsafe { odbc_api::Preallocated::new(stmt) };
        let outcome = pre.execute(sql, &mut bindings).map(|c| {
            c.map(|c| {
                let _ = c.into_stmt();
            })
            .is_some()
        });
        stmt = pre.into_handle();
        drop(armed);
        let has_cursor = match outcome {
            Ok(has_cursor) => has_cursor,
            Err(e) => return Err(from_odbc_with_handle(&e, &stmt.as_stmt_ref())),
        };
        let rowcount = row_count(&mut stmt);
        // Output parameters are complete once every further result is passed over; a result
        // set on the way ends that (its rows are the client's).
        let mut result_set = has_cursor;
        while !result_set {
            let armed = self.cancel.arm(raw);
            let rc = odbc_calls::more_results(raw);
            drop(armed);
            warnings::note(rc, &RawStmt(raw));
            if rc == SqlReturn::NO_DATA {
                break;
            }
            if !odbc_calls::succeeded(rc) {
                let e = DbError::from_records(records(&RawStmt(raw)), "SQLMoreResults failed");
                odbc_calls::reset_parameters(raw);
                return Err(e);
            }
            result_set = stmt
                .as_stmt_ref()
                .num_result_cols()
                .into_result(&stmt.as_stmt_ref())
                .map_err(|e| from_odbc(&e))?
                > 0;
        }
        let values = if result_set {
            None
        } else {
            Some(bindings.values())
        };
        // The buffers go with `bindings`: nothing may stay bound to them.
        if !odbc_calls::reset_parameters(raw) {
            // Never let the statement touch them again.
            drop(stmt);
            return Err(DbError::new(
                ErrorClass::InterfaceError,
                "the driver refused to unbind the call's parameters",
            ));
        }
        drop(bindings);
        match values {
            Some(values) => Ok(DbReply::ProcedureOutputs {
                rowcount,
                values: values?,
            }),
            None => self.hold(cursor, stmt, true, Reuse::Free, false, max_rows),
        }
    }

    /// A reply said the cursor's rows are all read: a statement with nothing further is let
    /// go now (back to the cache), so that a client need not close a cursor it read to the
    /// end; one with further results waits for `nextset` (at most [`MAX_PENDING`] of those).
    /// Scrollable cursors keep their result set until closed.
    pub(crate) fn after_done(&mut self, cursor: CursorId) {
        let Some(state) = self.cursors.get(&cursor) else {
            return;
        };
        if state.options.scrollable {
            return;
        }
        if let Some(Current {
            held: Held::Rows(rs),
            ..
        }) = &state.current
        {
            if matches!(rs.after, After::Next | After::Failed(_)) {
                self.note_pending(cursor);
            } else {
                self.release_current(cursor);
                self.forget_if_idle(cursor);
                self.read_to_end.retain(|c| *c != cursor);
                self.read_to_end.push_back(cursor);
                if self.read_to_end.len() > MAX_READ_TO_END {
                    self.read_to_end.pop_front();
                }
            }
        }
    }

    /// The error of a further result of the cursor's statement, if `SQLMoreResults` failed
    /// (a later statement of several failed).
    fn pending_error(&self, cursor: CursorId) -> Option<DbError> {
        match self.cursors.get(&cursor)?.current.as_ref()? {
            Current {
                held: Held::Finished(_, After::Failed(e)),
                ..
            } => Some(e.clone()),
            Current {
                held: Held::Rows(rs),
                ..
            } => match &rs.after {
                After::Failed(e) => Some(e.clone()),
                _ => None,
            },
            _ => None,
        }
    }

    /// Drops the cursor's entry when it holds nothing the client will close.
    pub(crate) fn forget_if_idle(&mut self, cursor: CursorId) {
        if self.cursors.get(&cursor).is_some_and(CursorState::is_idle) {
            self.cursors.remove(&cursor);
        }
    }

    /// Counts a cursor whose statement has further results waiting, letting go of the
    /// oldest such one beyond [`MAX_PENDING`].
    fn note_pending(&mut self, cursor: CursorId) {
        self.pending.retain(|c| *c != cursor);
        self.pending.push_back(cursor);
        while self.pending.len() > MAX_PENDING {
            let Some(old) = self.pending.pop_front() else {
                break;
            };
            self.release_current(old);
            self.forget_if_idle(old);
            self.discarded.push_back(old);
            if self.discarded.len() > MAX_DISCARDED {
                self.discarded.pop_front();
            }
        }
    }

    /// Runs one statement of a batch on a statement of its own: its columns, row count, first
    /// rows (at most `max_rows` and `max_bytes`) and whether those are all of them.
    pub(crate) fn run_for_batch(
        &mut self,
        sql: &str,
        params: &[Value],
        max_rows: u32,
        max_bytes: usize,
    ) -> Result<BatchResult, DbError> {
        let params = super::params::to_params(params)?;
        self.close_cursor(BATCH_CURSOR);
        self.end_cursors_transaction(Some(sql))?;
        let (stmt, has_cursor, reuse, set) = self
            .run_sql(BATCH_CURSOR, sql, &params, CursorOptions::default())
            .inspect_err(|e| self.statement_failed(sql, e))?;
        self.ran_transaction_text(sql);
        let saved = self.max_chunk;
        self.max_chunk = max_bytes.max(1);
        // No rows at all once the batch's answer budget is spent (`max_rows` 0).
        let reply = self.hold(BATCH_CURSOR, stmt, has_cursor, reuse, set, max_rows);
        self.max_chunk = saved;
        let reply = reply.and_then(|r| match self.pending_error(BATCH_CURSOR) {
            Some(e) => Err(e),
            None => Ok(r),
        });
        let out = match reply {
            Err(e) => {
                self.close_cursor(BATCH_CURSOR);
                return Err(e);
            }
            Ok(r) => r,
        };
        let out = match out {
            DbReply::Executed {
                columns,
                rowcount,
                rows,
                done,
            } => {
                let complete = done || columns.is_none();
                (columns, rowcount, rows, complete)
            }
            _ => (None, -1, EncodedRows::new(), true),
        };
        self.close_cursor(BATCH_CURSOR);
        Ok(out)
    }
}

/// Empties the cache of a connection whose driver deletes prepared statements at the end of
/// a transaction (`SQL_CB_DELETE`): with autocommit that is after every statement.
pub(crate) fn check_cache_support(
    cache: &mut StatementCache,
    commit: Option<u64>,
    rollback: Option<u64>,
) {
    if commit == Some(0) || rollback == Some(0) {
        cache.disable();
    }
}

/// Rows the statement's last execution affected (`SQLRowCount`), -1 when unknown.
fn row_count(stmt: &mut Statement) -> i64 {
    stmt.as_stmt_ref()
        .row_count()
        .into_result(&stmt.as_stmt_ref())
        .ok()
        .and_then(|n| i64::try_from(n).ok())
        .unwrap_or(-1)
}

#[cfg(test)]
mod tests {
    use super::{psqlodbc_commits_after, psqlodbc_runs_as_cursor};

    #[test]
    fn statements_are_typed_as_psqlodbc_types_them() {
        for query in [
            "SELECT 1",
            "  select * from t",
            "((SELECT 1) UNION (SELECT 2))",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "selectx", // psqlodbc compares a prefix
        ] {
            assert!(psqlodbc_runs_as_cursor(query), "{query}");
            assert!(!psqlodbc_commits_after(query), "{query}");
        }
        for call in ["CALL p(1)", "{call p(?)}", "{? = call f(?)}"] {
            assert!(!psqlodbc_runs_as_cursor(call), "{call}");
            assert!(!psqlodbc_commits_after(call), "{call}");
        }
        for other in [
            "INSERT INTO t VALUES (1)",
            "/* a comment first */ SELECT 1",
            "VALUES (1)",
            "EXPLAIN SELECT 1",
            "SET x = 1",
            "",
        ] {
            assert!(!psqlodbc_runs_as_cursor(other), "{other}");
            assert!(psqlodbc_commits_after(other), "{other}");
        }
    }
}
