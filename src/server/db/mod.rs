//! The database connection actor: one per physical ODBC connection, on its own thread.
//!
//! ODBC calls block, so each [`DbConnection`] runs on its own thread with its own mailbox
//! ([`mailbox`]; [`DbAddr`] is its address): a slow query holds only its own thread, never a
//! reactor thread. The actor owns the `odbc-api`
//! connection (which is `Send` but not `Sync`: it has exactly one owner) and the open result
//! sets of its cursors. Its messages ([`DbRequest`], [`DbReply`]) are plain serializable data,
//! so that the actor can later move into a supervised worker process.
//!
//! Lifecycle: started empty by the session, after the registry counted the connection;
//! [`DbRequest::Open`] connects; every other request works on the open connection. A release
//! ([`DbAddr::release`]: the session is done with it) closes the result sets, rolls back what was not committed and
//! either disconnects or, with `[Pool]` on, resets the connection (autocommit back on) and
//! parks: the actor, its thread and its connection go to the registry's pool, and a later
//! session takes them over with [`Adopt`]. Either way the actor tells the registry exactly once
//! per use ([`ConnectionClosed`]), which settles the count. When every address is dropped (the
//! session ended or the pool let it go), the thread ends and `Drop` disconnects. A panic inside
//! a driver call is caught: the caller gets an `InternalError` and the connection is closed;
//! other connections and sessions go on.

pub mod answer;
mod batch;
mod bulk;
pub mod cancel;
mod cells;
mod cursors;
mod diag;
mod dm_lists;
mod fetch;
mod info;
pub mod mailbox;
mod messages;
pub mod odbc_calls;
mod param_arrays;
mod params;
mod pieces;
mod procedures;
pub mod process;
mod rowset;
pub mod sqlite_guard;
pub mod sqlite_values;
mod statements;
mod stmt_attr;
pub mod warnings;
pub mod worker;

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use odbc_api::{Connection, ConnectionOptions};

use crate::config::CursorType;
use crate::error::{DbError, ErrorClass};
use crate::proto::message::CursorId;
use crate::proto::statement::InfoValue;
use cursors::CursorState;
use diag::from_odbc;
use fetch::Dialect;
use statements::StatementCache;

/// psqlodbc's connection attribute that says whether it reads results with declare/fetch
/// (`SQL_ATTR_PGOPT_USE_DECLAREFETCH`, read through unixODBC like any other).
const PSQLODBC_USE_DECLAREFETCH: i32 = 65539;

pub use bulk::BULK_BUFFER_BYTES;
pub use cancel::CancelSlot;
pub use dm_lists::{data_sources, drivers};
pub use fetch::LONG_COLUMN_BYTES;
pub use mailbox::DbAddr;
use mailbox::{Envelope, Inbox};
pub use messages::{
    Adopt, ConnectionClosed, DbHandle, DbReply, DbRequest, OpenTarget, Owner, ParkedConnectionGone,
};

/// The most cursors one connection may hold (each may hold statement handles and up to a batch
/// of rows).
pub const MAX_CURSORS: usize = 256;

/// The cursor id a batch's statements run on, which client requests may not name.
pub const BATCH_CURSOR: CursorId = CursorId::MAX;

/// The actor owning one physical database connection.
pub struct DbConnection {
    conn: Option<Arc<Connection<'static>>>,
    /// The cursors the client used, with their statements.
    cursors: HashMap<CursorId, CursorState>,
    /// Prepared statements for reuse (`statement_cache_size`).
    cache: StatementCache,
    /// `statement_cache_size`, for a new connection's cache.
    cache_size: usize,
    /// Cursors read to the end whose statements have further results waiting.
    pending: std::collections::VecDeque<CursorId>,
    /// Cursors whose further results were let go (bounded, oldest first).
    discarded: std::collections::VecDeque<CursorId>,
    /// Cursors whose result set was read to the end and let go (bounded, oldest first): a
    /// fetch past the end (a client keeps several in flight) gets an empty last batch, not
    /// "no result set".
    read_to_end: std::collections::VecDeque<CursorId>,
    /// `SQLGetInfo` answers that cannot change while connected.
    info_cache: HashMap<u16, InfoValue>,
    /// The client set a connection attribute: the connection is not pooled.
    attributes_changed: bool,
    autocommit: bool,
    /// A statement's text may have begun a transaction under autocommit (`BEGIN`), and none
    /// has ended it since: the driver's transaction may be the client's own, which the
    /// server must never commit for it (see `end_cursors_transaction`).
    transaction_begun_in_sql: bool,
    /// The driver may begin transactions for its cursors under autocommit (psqlodbc with
    /// declare/fetch); false once a commit for them found none.
    driver_begins_cursor_transactions: bool,
    /// A result set let go had failed inside the driver's transaction, which PostgreSQL then
    /// aborted: it is rolled back before the next statement.
    driver_transaction_aborted: bool,
    /// Bound on the bytes of one batch of rows (the server's `max_chunk_length`).
    max_chunk: usize,
    /// The database behind the connection: SQLite's driver reports every error as `HY000` (see
    /// [`ErrorClass::refine_sqlite`]), and each driver has its own ways with values.
    dialect: Dialect,
    /// The statement running now, for the session's watchdog to cancel.
    cancel: Arc<CancelSlot>,
    /// `connection_cursortype` of the listener the session came through.
    cursor_type: Option<CursorType>,
    /// The driver's answer was already logged.
    cursor_type_logged: bool,
    /// Told of the close once, then `None` (also while parked in the pool).
    owner: Option<Owner>,
    /// The DBMS name of the open connection.
    dbms_name: String,
    /// When the actor parked in the pool.
    parked_at: Option<std::time::Instant>,
    /// A driver call panicked: never reuse this connection.
    poisoned: bool,
}

impl DbConnection {
    /// A connection actor that sends batches of at most `max_chunk` bytes, arms `cancel` with
    /// each statement while it runs, and reports its close to `owner`.
    pub fn new(
        max_chunk: usize,
        cancel: Arc<CancelSlot>,
        cursor_type: Option<CursorType>,
        owner: Option<Owner>,
        cache_size: usize,
    ) -> Self {
        Self {
            conn: None,
            cursors: HashMap::new(),
            pending: std::collections::VecDeque::new(),
            discarded: std::collections::VecDeque::new(),
            read_to_end: std::collections::VecDeque::new(),
            cache: StatementCache::new(cache_size),
            cache_size,
            info_cache: HashMap::new(),
            attributes_changed: false,
            autocommit: true,
            transaction_begun_in_sql: false,
            driver_begins_cursor_transactions: true,
            driver_transaction_aborted: false,
            max_chunk,
            dialect: Dialect::Other,
            cancel,
            cursor_type,
            cursor_type_logged: false,
            owner,
            dbms_name: String::new(),
            parked_at: None,
            poisoned: false,
        }
    }

    /// Applies `connection_cursortype` to a new statement, logging once what the driver did.
    fn apply_cursor_type(&mut self, stmt: odbc_api::sys::HStmt) -> Result<(), DbError> {
        let Some(wanted) = self.cursor_type else {
            return Ok(());
        };
        match stmt_attr::set_cursor_type(stmt, wanted.odbc_value()) {
            None => Err(DbError::with_state(
                ErrorClass::NotSupportedError,
                "HYC00",
                format!("the driver refuses connection_cursortype {wanted:?}"),
            )),
            Some(actual) => {
                if !self.cursor_type_logged {
                    self.cursor_type_logged = true;
                    if actual == wanted.odbc_value() {
                        tracing::debug!(cursor_type = ?wanted, "connection_cursortype applied");
                    } else {
                        tracing::info!(cursor_type = ?wanted, actual, "the driver uses cursor type {actual} instead of connection_cursortype {wanted:?}");
                    }
                }
                Ok(())
            }
        }
    }

    fn conn(&self) -> Result<&Arc<Connection<'static>>, DbError> {
        self.conn.as_ref().ok_or_else(|| {
            DbError::with_state(
                ErrorClass::ProgrammingError,
                "08003",
                "the database connection is closed",
            )
        })
    }

    fn dispatch(&mut self, req: DbRequest) -> Result<DbReply, DbError> {
        match req {
            DbRequest::Open(target) => self.open(target),
            DbRequest::SetAutocommit(on) => self.set_autocommit(on).map(|()| DbReply::Done),
            DbRequest::Commit => self.commit().map(|()| DbReply::Done),
            DbRequest::Rollback => self.rollback().map(|()| DbReply::Done),
            DbRequest::Execute {
                cursor,
                sql,
                params,
                max_rows,
            } => self.execute(cursor, &sql, &params, max_rows),
            DbRequest::ExecuteMany {
                cursor,
                sql,
                param_sets,
            } => self.execute_many(cursor, &sql, &param_sets),
            DbRequest::Fetch { cursor, max_rows } => self.fetch(cursor, max_rows),
            DbRequest::CloseCursor(cursor) => {
                self.close_cursor(cursor);
                Ok(DbReply::Done)
            }
            DbRequest::Catalog {
                cursor,
                call,
                max_rows,
            } => self.catalog(cursor, &call, max_rows),
            DbRequest::GetInfo(id) => self.get_info(id),
            DbRequest::Prepare { cursor, sql } => self.prepare(cursor, &sql),
            DbRequest::NextResult { cursor, max_rows } => self.next_result(cursor, max_rows),
            DbRequest::Scroll {
                cursor,
                position,
                max_rows,
            } => self.scroll(cursor, position, max_rows),
            DbRequest::SetCursorOptions { cursor, options } => {
                self.set_cursor_options(cursor, options)
            }
            DbRequest::SetConnectionOption(option) => self.set_connection_option(option),
            DbRequest::Batch {
                statements,
                mode,
                max_rows,
            } => self.batch(&statements, mode, max_rows),
            DbRequest::CallProcedure {
                cursor,
                sql,
                params,
                max_rows,
            } => self.call_procedure(cursor, &sql, &params, max_rows),
        }
    }

    fn set_autocommit(&mut self, on: bool) -> Result<(), DbError> {
        if !on {
            // The client's transaction starts clean, without cursors the driver opened in one
            // of its own (see `end_cursors_transaction`).
            self.end_cursors_transaction(None)?;
        }
        let was = self.autocommit;
        self.conn()?.set_autocommit(on).map_err(|e| from_odbc(&e))?;
        self.autocommit = on;
        self.transaction_begun_in_sql = false;
        if on && !was {
            // Turning autocommit on commits the transaction in progress.
            self.transaction_ended(cursors::Ending::Commit);
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), DbError> {
        // Under autocommit the driver has no transaction of the client's to end, unless one
        // was begun in SQL (psqlodbc's own, for its cursors, it keeps).
        let visible = !self.autocommit || self.transaction_begun_in_sql;
        self.conn()?.commit().map_err(|e| from_odbc(&e))?;
        if visible {
            self.transaction_ended(cursors::Ending::Commit);
        }
        self.transaction_begun_in_sql = false;
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        let visible = !self.autocommit || self.transaction_begun_in_sql;
        self.conn()?.rollback().map_err(|e| from_odbc(&e))?;
        if visible {
            self.transaction_ended(cursors::Ending::Rollback);
        }
        self.transaction_begun_in_sql = false;
        Ok(())
    }

    fn open(&mut self, target: OpenTarget) -> Result<DbReply, DbError> {
        if self.conn.is_some() {
            return Err(DbError::new(
                ErrorClass::InterfaceError,
                "connection is already open",
            ));
        }
        let env = odbc_api::environment().map_err(|e| from_odbc(&e))?;
        let conn = match &target {
            OpenTarget::ConnectionString(s) => {
                env.connect_with_connection_string(s, ConnectionOptions::default())
            }
            OpenTarget::Dsn { dsn, uid, pwd } => {
                env.connect(dsn, uid, pwd, ConnectionOptions::default())
            }
        }
        .map_err(|e| from_odbc(&e))?;
        self.install(conn)
    }

    /// Makes `conn` this actor's open connection.
    fn install(&mut self, conn: Connection<'static>) -> Result<DbReply, DbError> {
        let dbms_name = conn.database_management_system_name().unwrap_or_default();
        self.dialect = Dialect::of(&dbms_name);
        // Shared ownership between the connection and its statements, all on this actor's one
        // thread; odbc-api implements statement ownership for `Arc<Connection>`, not `Rc`.
        #[allow(clippy::arc_with_non_send_sync)]
        let conn = Arc::new(conn);
        self.conn = Some(conn);
        self.autocommit = true;
        self.transaction_begun_in_sql = false;
        // psqlodbc says whether it reads results through cursors (declare/fetch), which live
        // in transactions; read whole at once, a result outlives any rollback.
        self.driver_begins_cursor_transactions = self.dialect != Dialect::Postgres
            || self.conn().is_ok_and(|c| {
                odbc_calls::get_connect_attr(c.as_sys(), PSQLODBC_USE_DECLAREFETCH)
                    .is_none_or(|on| on != 0)
            });
        self.driver_transaction_aborted = false;
        self.attributes_changed = false;
        self.dbms_name = dbms_name.clone();
        self.info_cache.clear();
        self.cache = StatementCache::new(self.cache_size);
        if self.cache.enabled() {
            let commit = self.info_number("SQL_CURSOR_COMMIT_BEHAVIOR");
            let rollback = self.info_number("SQL_CURSOR_ROLLBACK_BEHAVIOR");
            cursors::check_cache_support(&mut self.cache, commit, rollback);
        }
        Ok(DbReply::Opened { dbms_name })
    }

    /// Takes over this parked actor for a new user; a dead connection is dropped and `target`
    /// connected afresh.
    fn adopt(
        &mut self,
        owner: Option<Owner>,
        target: OpenTarget,
        check: Option<(Arc<str>, std::time::Duration)>,
    ) -> Result<DbReply, DbError> {
        self.owner = owner;
        let idle = self.parked_at.take().map(|at| at.elapsed());
        let alive = match &self.conn {
            None => false,
            Some(conn) => {
                matches!(conn.is_dead(), Ok(false))
                    && match (&check, idle) {
                        (Some((query, after)), Some(idle)) if idle >= *after => {
                            // Only success matters; the result set (if any) is closed at once.
                            conn.execute(query, (), None).is_ok()
                        }
                        _ => true,
                    }
            }
        };
        if alive {
            return Ok(DbReply::Opened {
                dbms_name: self.dbms_name.clone(),
            });
        }
        tracing::info!("a pooled connection failed its check; connecting afresh");
        self.conn = None;
        self.open(target)
    }

    /// Closes result sets and rolls back what was not committed; then, given `me` (the actor's
    /// own handle), with pooling on and a clean connection, keeps the connection and parks (the
    /// registry gets `me`), else disconnects. Tells the registry once.
    fn close(&mut self, me: Option<DbHandle>) {
        let owner = self.owner.take();
        let pooling = owner.as_ref().is_some_and(|o| o.pooling);
        let parked = if self.release(pooling && me.is_some()) {
            me
        } else {
            None
        };
        if let Some(owner) = owner {
            owner.registry.do_send(ConnectionClosed {
                session: owner.session,
                reusable: parked.map(|me| (owner.key, me)),
            });
        }
    }
}

impl DbConnection {
    /// Closes result sets and rolls back what was not committed; then, when `keep` and the
    /// connection is clean, keeps it (reset, autocommit on: parked for reuse), else
    /// disconnects. Whether it kept it.
    fn release(&mut self, keep: bool) -> bool {
        self.cursors.clear();
        self.pending.clear();
        self.discarded.clear();
        self.read_to_end.clear();
        self.cache.clear();
        let Some(conn) = self.conn.take() else {
            return false;
        };
        let reset =
            self.autocommit || (conn.rollback().is_ok() && conn.set_autocommit(true).is_ok());
        self.autocommit = true;
        let begun_in_sql = std::mem::take(&mut self.transaction_begun_in_sql);
        // The result sets are gone, so the count is 1 unless a statement is still alive.
        // A transaction the client began in SQL (`BEGIN` under autocommit) may still be open:
        // only a disconnect is sure to end it.
        let clean = reset
            && !begun_in_sql
            && !self.poisoned
            && !self.attributes_changed
            && Arc::strong_count(&conn) == 1
            && matches!(conn.is_dead(), Ok(false));
        if keep && clean {
            self.conn = Some(conn);
            self.parked_at = Some(std::time::Instant::now());
            true
        } else {
            drop(conn);
            false
        }
    }

    /// Serves one request of the session (its id `id`): the answer, and the cursor whose next
    /// batch to read ahead while the answer travels, if any.
    fn serve_call(
        &mut self,
        id: u32,
        req: DbRequest,
    ) -> (Result<DbReply, DbError>, Option<CursorId>) {
        let reads = req.reads_rows_of();
        let working = Arc::clone(&self.cancel);
        let mark = working.begin(id);
        let result = self.handle_call(req);
        drop(mark);
        let answer = match &result {
            Ok(DbReply::Warned(_, reply)) => Some(&**reply),
            Ok(reply) => Some(reply),
            Err(_) => None,
        };
        let read_ahead = match (reads, answer) {
            (
                Some(cursor),
                Some(DbReply::Executed { done: false, .. } | DbReply::Rows { done: false, .. }),
            ) => Some(cursor),
            _ => None,
        };
        (result, read_ahead)
    }

    /// The actor's life: one message at a time until no address is left.
    pub(crate) fn run(mut self, inbox: &Inbox) {
        while let Some(envelope) = inbox.next() {
            let span = self
                .owner
                .as_ref()
                .map_or_else(tracing::Span::none, |o| o.span.clone());
            let _entered = span.entered();
            match envelope {
                Envelope::Call(id, req, reply_to, route) => {
                    let (result, read_ahead) = self.serve_call(id, req);
                    // The answer leaves first; the session's bookkeeping follows.
                    let result = match route {
                        Some(route) => route.deliver(result),
                        None => result,
                    };
                    if let Some(cursor) = read_ahead {
                        // The next batch is read while this one is on the wire, and is ready
                        // when the client's next Fetch (queued behind this) arrives.
                        inbox.push(Envelope::ReadAhead(cursor));
                    }
                    let _ = reply_to.send(result);
                }
                Envelope::ReadAhead(cursor) => {
                    // One batch at a time: a request that came meanwhile is served before the
                    // next one (it is ahead of this in the queue).
                    let more = contain(&mut self, |this| Ok(this.read_ahead(cursor)));
                    if more.unwrap_or(false) {
                        inbox.push(Envelope::ReadAhead(cursor));
                    }
                }
                Envelope::Adopt(msg, reply_to) => {
                    self.cursor_type = msg.cursor_type;
                    let result = contain(&mut self, |this| {
                        this.adopt(Some(msg.owner), msg.target, msg.check)
                    });
                    let _ = reply_to.send(result);
                }
                Envelope::Release(me, reply_to) => {
                    let result = contain(&mut self, |this| {
                        this.close(Some(me));
                        Ok(DbReply::Done)
                    });
                    if let Some(reply_to) = reply_to {
                        let _ = reply_to.send(result);
                    }
                }
            }
        }
    }
}

impl DbConnection {
    /// A driver error with its class refined for the database (SQLite reports every error as
    /// `HY000`: its native code says which).
    fn refined(&self, mut e: DbError) -> DbError {
        if self.dialect == Dialect::Sqlite && e.native != 0 {
            e.class = ErrorClass::refine_sqlite(&e.sqlstate, e.native);
        }
        e
    }

    fn handle_call(&mut self, req: DbRequest) -> Result<DbReply, DbError> {
        // Fetches read rows: their notices (a value read again whole is a `01004`) are not
        // warnings for the client. Nor are the driver manager's notes while connecting (the
        // ODBC version a driver supports), which go to the log.
        let fetching = matches!(
            req,
            DbRequest::Fetch { .. } | DbRequest::Scroll { .. } | DbRequest::Open(_)
        );
        let reads = req.reads_rows_of();
        let names = req.cursor();
        let (result, warnings) = warnings::collect(|| {
            contain(self, |this| {
                let reply = this.dispatch(req);
                if let (
                    Some(cursor),
                    Ok(DbReply::Executed { done: true, .. } | DbReply::Rows { done: true, .. }),
                ) = (reads, &reply)
                {
                    this.after_done(cursor);
                }
                // Whatever happened (an error too), a cursor left holding nothing is
                // forgotten: the client need not close it.
                if let Some(cursor) = names {
                    this.forget_if_idle(cursor);
                }
                reply
            })
        });
        let result = match result {
            Ok(reply) if !warnings.is_empty() && !fetching => {
                Ok(DbReply::Warned(warnings, Box::new(reply)))
            }
            r => {
                for w in warnings {
                    tracing::debug!(sqlstate = %w.sqlstate, message = %w.message, "driver note");
                }
                r
            }
        };
        match result {
            // Only the driver's own errors (which carry SQLite's result code); odbcd's errors
            // keep the class they were given.
            Err(mut e) if self.dialect == Dialect::Sqlite && e.native != 0 => {
                e.class = ErrorClass::refine_sqlite(&e.sqlstate, e.native);
                Err(e)
            }
            r => r,
        }
    }
}

/// Runs `f`, turning a panic inside the driver into an `InternalError` and closing the
/// connection.
fn contain<T>(
    this: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, DbError>,
) -> Result<T, DbError> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| f(this))) {
        Ok(r) => r,
        Err(_) => {
            // State after a panic is unknown: drop the connection, but never unwind further.
            this.poisoned = true;
            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| this.close(None)));
            this.conn = None;
            this.cursors.clear();
            this.pending.clear();
            this.cache.clear();
            Err(DbError::new(
                ErrorClass::InternalError,
                "the ODBC driver failed inside a call (panic); this database connection was closed",
            ))
        }
    }
}

impl Drop for DbConnection {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| self.close(None)));
    }
}
