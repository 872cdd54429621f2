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

mod bulk;
pub mod cancel;
mod cells;
mod diag;
mod dm_lists;
mod fetch;
pub mod mailbox;
mod messages;
mod params;
mod pieces;
mod rowset;
pub mod sqlite_guard;
pub mod sqlite_values;
mod stmt_attr;

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use odbc_api::handles::{AsStatementRef, Statement};
use odbc_api::{Connection, ConnectionOptions, ConnectionTransitions, CursorImpl};

use crate::config::CursorType;
use crate::error::{DbError, ErrorClass};
use crate::proto::message::CursorId;
use crate::proto::rows::EncodedRows;
use crate::proto::value::Value;
use diag::{from_odbc, from_odbc_with_handle};
use fetch::{Dialect, ResultSet};

pub use bulk::BULK_BUFFER_BYTES;
pub use cancel::CancelSlot;
pub use dm_lists::{data_sources, drivers};
pub use fetch::LONG_COLUMN_BYTES;
pub use mailbox::DbAddr;
use mailbox::{Envelope, Inbox};
pub use messages::{Adopt, ConnectionClosed, DbHandle, DbReply, DbRequest, OpenTarget, Owner};

/// The most cursors with open result sets one connection may hold (each holds a statement
/// handle and up to a batch of rows).
pub const MAX_CURSORS: usize = 256;

/// The actor owning one physical database connection.
pub struct DbConnection {
    conn: Option<Arc<Connection<'static>>>,
    results: HashMap<CursorId, ResultSet>,
    autocommit: bool,
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
    ) -> Self {
        Self {
            conn: None,
            results: HashMap::new(),
            autocommit: true,
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
            DbRequest::SetAutocommit(on) => {
                self.conn()?.set_autocommit(on).map_err(|e| from_odbc(&e))?;
                self.autocommit = on;
                Ok(DbReply::Done)
            }
            DbRequest::Commit => {
                self.conn()?.commit().map_err(|e| from_odbc(&e))?;
                Ok(DbReply::Done)
            }
            DbRequest::Rollback => {
                self.conn()?.rollback().map_err(|e| from_odbc(&e))?;
                Ok(DbReply::Done)
            }
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
            DbRequest::Fetch { cursor, max_rows } => {
                let rs = self.results.get_mut(&cursor).ok_or_else(|| {
                    DbError::with_state(
                        ErrorClass::ProgrammingError,
                        "24000",
                        "no result set: execute a query on this cursor first",
                    )
                })?;
                let armed = self.cancel.arm(rs.stmt());
                let fetched = rs.fetch(max_rows.max(1) as usize, self.max_chunk);
                drop(armed);
                let (rows, done) = fetched?;
                if done {
                    self.results.remove(&cursor);
                }
                Ok(DbReply::Rows { rows, done })
            }
            DbRequest::CloseCursor(cursor) => {
                self.results.remove(&cursor);
                Ok(DbReply::Done)
            }
        }
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
        self.dbms_name = dbms_name.clone();
        Ok(DbReply::Opened { dbms_name })
    }

    fn execute(
        &mut self,
        cursor: CursorId,
        sql: &str,
        params: &[Value],
        max_rows: u32,
    ) -> Result<DbReply, DbError> {
        self.results.remove(&cursor);
        if self.results.len() >= MAX_CURSORS {
            return Err(DbError::with_state(
                ErrorClass::InterfaceError,
                "HY000",
                format!("this connection has {MAX_CURSORS} cursors with open results, the most it may have: close some first"),
            ));
        }
        let params = params::to_params(params)?;
        let conn = Arc::clone(self.conn()?);
        let mut stmt = conn.into_preallocated().map_err(|e| from_odbc(&e))?;
        self.apply_cursor_type(stmt.as_stmt_ref().as_sys())?;
        let armed = self.cancel.arm(stmt.as_stmt_ref().as_sys());
        let outcome = match stmt.execute(sql, params.as_slice()) {
            // Keep the statement in cursor state without closing it: `into_stmt` does not close.
            Ok(Some(c)) => {
                let _ = c.into_stmt();
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => Err(e),
        };
        drop(armed);
        let has_cursor = match outcome {
            Ok(b) => b,
            Err(e) => return Err(from_odbc_with_handle(&e, &stmt.as_stmt_ref())),
        };
        let rowcount = stmt
            .row_count()
            .ok()
            .flatten()
            .and_then(|n| i64::try_from(n).ok())
            .unwrap_or(-1);
        if !has_cursor {
            return Ok(DbReply::Executed {
                columns: None,
                rowcount,
                rows: EncodedRows::new(),
                done: true,
            });
        }
        // `stmt.execute` just returned a cursor on this statement and we did not close it, so
        // the statement is in cursor state, which is what `CursorImpl::new` requires.
        #[allow(unsafe_code)]
        let owned = unsafe { CursorImpl::new(stmt.into_handle()) };
        let (mut rs, columns) = ResultSet::open(owned, self.dialect)?;
        let (rows, done) = if max_rows > 0 {
            let _armed = self.cancel.arm(rs.stmt());
            rs.fetch(max_rows as usize, self.max_chunk)?
        } else {
            (EncodedRows::new(), false)
        };
        if !done {
            self.results.insert(cursor, rs);
        }
        Ok(DbReply::Executed {
            columns: Some(columns),
            rowcount,
            rows,
            done,
        })
    }

    fn execute_many(
        &mut self,
        cursor: CursorId,
        sql: &str,
        sets: &[Vec<Value>],
    ) -> Result<DbReply, DbError> {
        self.results.remove(&cursor);
        let conn = Arc::clone(self.conn()?);
        let mut stmt = conn.into_preallocated().map_err(|e| from_odbc(&e))?;
        let _armed = self.cancel.arm(stmt.as_stmt_ref().as_sys());
        let mut total: i64 = 0;
        let mut known = true;
        for (i, set) in sets.iter().enumerate() {
            let params = params::to_params(set)?;
            // Dropping a cursor closes it, so the statement can run again.
            let outcome = stmt.execute(sql, params.as_slice()).map(|c| c.map(drop));
            if let Err(e) = outcome {
                let mut err = from_odbc_with_handle(&e, &stmt.as_stmt_ref());
                err.message = format!("parameter set {} of {}: {}", i + 1, sets.len(), err.message);
                return Err(err);
            }
            match stmt.row_count().ok().flatten() {
                Some(n) => total += n as i64,
                None => known = false,
            }
        }
        Ok(DbReply::Executed {
            columns: None,
            rowcount: if known { total } else { -1 },
            rows: EncodedRows::new(),
            done: true,
        })
    }

    /// Takes over this parked actor for a new user; a dead connection is dropped and `target`
    /// connected afresh.
    fn adopt(
        &mut self,
        owner: Owner,
        target: OpenTarget,
        check: Option<(Arc<str>, std::time::Duration)>,
    ) -> Result<DbReply, DbError> {
        self.owner = Some(owner);
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
        self.results.clear();
        let owner = self.owner.take();
        let mut parked = None;
        if let Some(conn) = self.conn.take() {
            let reset =
                self.autocommit || (conn.rollback().is_ok() && conn.set_autocommit(true).is_ok());
            self.autocommit = true;
            let pooling = owner.as_ref().is_some_and(|o| o.pooling);
            // The result sets are gone, so the count is 1 unless a statement is still alive.
            let clean = reset
                && !self.poisoned
                && Arc::strong_count(&conn) == 1
                && matches!(conn.is_dead(), Ok(false));
            match me {
                Some(me) if pooling && clean => {
                    self.conn = Some(conn);
                    self.parked_at = Some(std::time::Instant::now());
                    parked = Some(me);
                }
                _ => drop(conn),
            }
        }
        if let Some(owner) = owner {
            owner.registry.do_send(ConnectionClosed {
                session: owner.session,
                reusable: parked.map(|me| (owner.key, me)),
            });
        }
    }
}

impl DbConnection {
    /// The actor's life: one message at a time until no address is left.
    fn run(mut self, inbox: &Inbox) {
        while let Some(envelope) = inbox.next() {
            let span = self
                .owner
                .as_ref()
                .map_or_else(tracing::Span::none, |o| o.span.clone());
            let _entered = span.entered();
            match envelope {
                Envelope::Call(id, req, reply_to) => {
                    let reads = match &req {
                        DbRequest::Execute { cursor, .. } | DbRequest::Fetch { cursor, .. } => {
                            Some(*cursor)
                        }
                        _ => None,
                    };
                    let working = Arc::clone(&self.cancel);
                    let mark = working.begin(id);
                    let result = self.handle_call(req);
                    drop(mark);
                    if let (
                        Some(cursor),
                        Ok(
                            DbReply::Executed { done: false, .. }
                            | DbReply::Rows { done: false, .. },
                        ),
                    ) = (reads, &result)
                    {
                        // The next batch is read while this one is on the wire, and is ready
                        // when the client's next Fetch (queued behind this) arrives.
                        inbox.push(Envelope::ReadAhead(cursor));
                    }
                    let _ = reply_to.send(result);
                }
                Envelope::ReadAhead(cursor) => {
                    let _ = contain(&mut self, |this| {
                        if let Some(rs) = this.results.get_mut(&cursor) {
                            let armed = this.cancel.arm(rs.stmt());
                            rs.read_ahead(this.max_chunk);
                            drop(armed);
                        }
                        Ok(DbReply::Done)
                    });
                }
                Envelope::Adopt(msg, reply_to) => {
                    self.cursor_type = msg.cursor_type;
                    let result = contain(&mut self, |this| {
                        this.adopt(msg.owner, msg.target, msg.check)
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
    fn handle_call(&mut self, req: DbRequest) -> Result<DbReply, DbError> {
        match contain(self, |this| this.dispatch(req)) {
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
fn contain(
    this: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<DbReply, DbError>,
) -> Result<DbReply, DbError> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| f(this))) {
        Ok(r) => r,
        Err(_) => {
            // State after a panic is unknown: drop the connection, but never unwind further.
            this.poisoned = true;
            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| this.close(None)));
            this.conn = None;
            this.results.clear();
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
