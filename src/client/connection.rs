//! A database connection on the server, DB-API style.

use std::sync::{Arc, Mutex};

use super::conn_inner::{connected, ConnInner, ConnState};
use super::core::Core;
use super::cursor::Cursor;
use super::link::Link;
use super::{split_warnings, unexpected, Error, WarningFormat};
use crate::error::{DiagRecord, ErrorClass};
use crate::proto::info::{info_type_by_id, info_type_by_name};
use crate::proto::message::{Request, Response};
use crate::proto::statement::{
    BatchMode, BatchOutcome, BatchStatement, ConnectionOption, InfoValue, IsolationLevel,
};

/// One physical database connection, opened on the server by [`super::Odbc::driver_connect`]
/// or [`super::Odbc::connect`]. Autocommit is on when it opens, as in ODBC. Dropping it closes
/// it on the server (rolling back what was not committed). With `auto_reconnect`, after its
/// session was lost and opened again, it connects again by itself (same connection string,
/// same autocommit setting) on its next use.
pub struct Connection {
    pub(crate) inner: Arc<ConnInner>,
}

impl Connection {
    pub(crate) fn open(core: Arc<Core>, request: Request) -> Result<Self, Error> {
        let (generation, answer) = core.unless_drained(|| {
            let (link, generation) = core.link()?;
            Ok((generation, link.call(request.clone())?))
        })?;
        let (id, dbms_name) = connected(answer)?;
        Ok(Self {
            inner: Arc::new(ConnInner {
                core,
                open: request,
                state: Mutex::new(ConnState {
                    id,
                    generation,
                    dbms_name,
                    autocommit: true,
                    closed: false,
                    options: Vec::new(),
                    in_transaction: false,
                    transaction_lost: false,
                    warning_format: WarningFormat::default(),
                    messages: Vec::new(),
                }),
            }),
        })
    }

    /// The DBMS name the driver reports (e.g. `PostgreSQL`, `SQLite`).
    ///
    /// ```no_run
    /// # fn f(conn: &odbcd::client::Connection) -> Result<(), odbcd::client::Error> {
    /// if conn.dbms_name() == "PostgreSQL" { /* ... */ }
    /// # Ok(()) }
    /// ```
    pub fn dbms_name(&self) -> String {
        self.inner.state().dbms_name.clone()
    }

    /// A new cursor on this connection.
    ///
    /// ```no_run
    /// # fn f(conn: &odbcd::client::Connection) -> Result<(), odbcd::client::Error> {
    /// let mut c = conn.cursor();
    /// c.execute("SELECT 1", &[])?;
    /// # Ok(()) }
    /// ```
    pub fn cursor(&self) -> Cursor {
        Cursor::new(Arc::clone(&self.inner), Link::new_cursor_id())
    }

    /// Commits the current transaction.
    ///
    /// ```no_run
    /// # fn f(conn: &odbcd::client::Connection) -> Result<(), odbcd::client::Error> {
    /// conn.set_autocommit(false)?;
    /// conn.cursor().execute("UPDATE fruit SET price = 1", &[])?;
    /// conn.commit()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The database's error; when the link is lost after the COMMIT was sent (and could not be
    /// resumed), a `ConnectionFailureError` that says the outcome is unknown.
    pub fn commit(&self) -> Result<(), Error> {
        // Closed for a shutdown between requests: no transaction was open (the server waits
        // for one to end), so the COMMIT has nothing to do on a new session either.
        self.inner.core.unless_drained(|| self.commit_once())
    }

    fn commit_once(&self) -> Result<(), Error> {
        let (link, conn) = self.inner.ensure()?;
        let id = link.send(Request::Commit { conn })?;
        match link.wait(id) {
            Ok(Response::Error(e)) => Err(e),
            Ok(_) => Ok(()),
            // The COMMIT went out and its answer did not come back: it may have happened.
            Err(mut e)
                if matches!(
                    e.class,
                    ErrorClass::ConnectionFailureError | ErrorClass::TimeoutError
                ) =>
            {
                e.message = format!(
                    "the outcome of COMMIT is unknown (the transaction may have been committed): {}",
                    e.message
                );
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Rolls back the current transaction.
    ///
    /// ```no_run
    /// # fn f(conn: &odbcd::client::Connection) -> Result<(), odbcd::client::Error> {
    /// conn.set_autocommit(false)?;
    /// conn.cursor().execute("DELETE FROM fruit", &[])?;
    /// conn.rollback()?; // nothing deleted
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The database's error.
    pub fn rollback(&self) -> Result<(), Error> {
        let once = || {
            let (link, conn) = self.inner.ensure()?;
            link.call(Request::Rollback { conn }).map(|_| ())
        };
        self.inner.core.unless_drained(once)
    }

    /// Whether autocommit is on.
    ///
    /// ```no_run
    /// # fn f(conn: &odbcd::client::Connection) -> Result<(), odbcd::client::Error> {
    /// assert!(conn.autocommit()); // on when a connection opens, as in ODBC
    /// # Ok(()) }
    /// ```
    pub fn autocommit(&self) -> bool {
        self.inner.state().autocommit
    }

    /// Turns autocommit on or off.
    ///
    /// ```no_run
    /// # fn f(conn: &odbcd::client::Connection) -> Result<(), odbcd::client::Error> {
    /// conn.set_autocommit(false)?; // a transaction until commit() or rollback()
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The driver's error.
    pub fn set_autocommit(&self, on: bool) -> Result<(), Error> {
        if on && self.inner.state().in_transaction {
            return Err(Error::with_state(
                ErrorClass::ProgrammingError,
                "25000",
                "a transaction guard is open: commit or roll it back instead of turning autocommit on",
            ));
        }
        self.inner.core.unless_drained(|| {
            let (link, conn) = self.inner.ensure()?;
            link.call(Request::SetAutocommit { conn, on })
        })?;
        self.inner.state().autocommit = on;
        Ok(())
    }

    /// Sends a request on this connection: its answer, and the answer's warnings filed (an
    /// `Err` in `Raise` mode, for the caller to return once it has taken the answer in).
    fn call(
        &self,
        request: impl Fn(crate::proto::message::ConnId) -> Request,
    ) -> Result<(Response, Result<(), Error>), Error> {
        let once = || {
            let (link, conn) = self.inner.ensure()?;
            link.call(request(conn))
        };
        // Not run (the server closed the session between requests for a shutdown).
        let answer = self.inner.core.unless_drained(once);
        let (r, warnings) = split_warnings(answer?);
        let mut st = self.inner.state();
        let format = st.warning_format;
        let raised = format.file(warnings, &mut st.messages);
        Ok((r, raised))
    }

    /// `SQLGetInfo` for an information type given by name (`"SQL_DBMS_VER"`, `"dbms_ver"`,
    /// case-insensitive) or number (`"18"`), as mxODBC's `getinfo`: text, or a number (also
    /// for bitmasks). The server caches answers that cannot change.
    ///
    /// ```no_run
    /// # fn f(conn: &odbcd::client::Connection) -> Result<(), odbcd::client::Error> {
    /// let quote = conn.getinfo("SQL_IDENTIFIER_QUOTE_CHAR")?.to_string();
    /// let max_columns = conn.getinfo("max_columns_in_select")?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `ProgrammingError` (`HY096`) for an unknown type; the driver's error (`HY096`, `HYC00`)
    /// for one it does not support.
    pub fn getinfo(&self, info_type: &str) -> Result<InfoValue, Error> {
        let info = match info_type.trim().parse::<u16>() {
            Ok(id) => info_type_by_id(id),
            Err(_) => info_type_by_name(info_type),
        };
        let Some(info) = info else {
            return Err(Error::with_state(
                ErrorClass::ProgrammingError,
                "HY096",
                format!("{info_type:?} is not an SQLGetInfo information type"),
            ));
        };
        let id = info.id;
        match self.call(|conn| Request::GetInfo {
            conn,
            info_type: id,
        })? {
            (Response::Info(v), raised) => raised.map(|()| v),
            (other, _) => Err(unexpected(&other)),
        }
    }

    fn info_text(&self, name: &str) -> Result<String, Error> {
        self.getinfo(name).map(|v| v.to_string())
    }

    /// The DBMS's version (`SQL_DBMS_VER`), e.g. `16.04.0000`.
    ///
    /// ```no_run
    /// # fn f(conn: &odbcd::client::Connection) -> Result<(), odbcd::client::Error> {
    /// println!("{}", conn.dbms_version()?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Self::getinfo`].
    pub fn dbms_version(&self) -> Result<String, Error> {
        self.info_text("SQL_DBMS_VER")
    }

    /// The driver's file name (`SQL_DRIVER_NAME`), e.g. `psqlodbcw.so`.
    ///
    /// ```no_run
    /// # fn f(conn: &odbcd::client::Connection) -> Result<(), odbcd::client::Error> {
    /// println!("{}", conn.driver_name()?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Self::getinfo`].
    pub fn driver_name(&self) -> Result<String, Error> {
        self.info_text("SQL_DRIVER_NAME")
    }

    /// The driver's version (`SQL_DRIVER_VER`).
    ///
    /// ```no_run
    /// # fn f(conn: &odbcd::client::Connection) -> Result<(), odbcd::client::Error> {
    /// println!("{}", conn.driver_version()?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Self::getinfo`].
    pub fn driver_version(&self) -> Result<String, Error> {
        self.info_text("SQL_DRIVER_VER")
    }

    /// The ODBC version the driver supports (`SQL_DRIVER_ODBC_VER`), e.g. `03.51`.
    ///
    /// ```no_run
    /// # fn f(conn: &odbcd::client::Connection) -> Result<(), odbcd::client::Error> {
    /// println!("{}", conn.odbc_version()?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Self::getinfo`].
    pub fn odbc_version(&self) -> Result<String, Error> {
        self.info_text("SQL_DRIVER_ODBC_VER")
    }

    fn set_option(&self, option: ConnectionOption) -> Result<(), Error> {
        let (_, raised) = self.call(|conn| Request::SetConnectionOption { conn, option })?;
        let mut st = self.inner.state();
        st.options
            .retain(|o| std::mem::discriminant(o) != std::mem::discriminant(&option));
        st.options.push(option);
        raised
    }

    /// Sets the isolation level of the transactions that start after it
    /// (`SQL_ATTR_TXN_ISOLATION`). A connection with attributes set is not pooled on the
    /// server after it closes.
    ///
    /// ```no_run
    /// # fn f(conn: &odbcd::client::Connection) -> Result<(), odbcd::client::Error> {
    /// conn.set_isolation(odbcd::client::IsolationLevel::Serializable)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The driver's error; `NotSupportedError` when it does not support the level.
    pub fn set_isolation(&self, level: IsolationLevel) -> Result<(), Error> {
        self.set_option(ConnectionOption::Isolation(level))
    }

    /// Makes the connection read-only or read-write (`SQL_ATTR_ACCESS_MODE`). A driver that
    /// accepts the attribute but does not keep it (psqlodbc ignores it) gets a
    /// `NotSupportedError` (`HYC00`): use the database's own statement there (PostgreSQL's
    /// `SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY`).
    ///
    /// ```no_run
    /// # fn f(conn: &odbcd::client::Connection) -> Result<(), odbcd::client::Error> {
    /// if let Err(e) = conn.set_read_only(true) {
    ///     println!("not with this driver: {e}");
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Self::set_isolation`].
    pub fn set_read_only(&self, on: bool) -> Result<(), Error> {
        self.set_option(ConnectionOption::ReadOnly(on))
    }

    /// Runs `statements` in one round trip, in order, returning one outcome per statement.
    /// `Independent`: every statement runs whatever happened to the others (each commits by
    /// itself under autocommit; inside a transaction the database decides what an error does
    /// to it, PostgreSQL aborts the transaction). `Atomic`: one transaction of its own (needs
    /// autocommit on): the first failure rolls back the statements before it and the rest are
    /// [`BatchOutcome::Skipped`]. A statement's result set comes back with its first
    /// `max_rows` rows.
    ///
    /// ```no_run
    /// # fn f(conn: &odbcd::client::Connection) -> Result<(), odbcd::client::Error> {
    /// use odbcd::client::{BatchMode, BatchStatement};
    /// let outcomes = conn.batch(
    ///     vec![
    ///         BatchStatement { sql: "INSERT INTO fruit VALUES (?, ?)".into(), params: odbcd::params![9, "fig"] },
    ///         BatchStatement { sql: "SELECT count(*) FROM fruit".into(), params: vec![] },
    ///     ],
    ///     BatchMode::Atomic,
    ///     10,
    /// )?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Link errors; `ProgrammingError` for an atomic batch with autocommit off; a failed
    /// COMMIT of an atomic batch (nothing of it is committed).
    pub fn batch(
        &self,
        statements: Vec<BatchStatement>,
        mode: BatchMode,
        max_rows: u32,
    ) -> Result<Vec<BatchOutcome>, Error> {
        match self.call(|conn| Request::Batch {
            conn,
            statements: statements.clone(),
            mode,
            max_rows,
        })? {
            // A batch's warnings go to `messages` only, in every warning format: raising
            // one would lose the outcomes of statements that ran.
            (Response::BatchResults { outcomes }, _) => Ok(outcomes),
            (other, _) => Err(unexpected(&other)),
        }
    }

    /// The warnings the driver gave this connection's own requests (commit, getinfo, batches,
    /// ...), oldest first; cursors keep their own.
    ///
    /// ```no_run
    /// # fn f(conn: &odbcd::client::Connection) -> Result<(), odbcd::client::Error> {
    /// for w in conn.messages() {
    ///     println!("warning [{}]: {}", w.sqlstate, w.message);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn messages(&self) -> Vec<DiagRecord> {
        self.inner.state().messages.clone()
    }

    /// Forgets the connection's collected warnings.
    ///
    /// ```no_run
    /// # fn f(conn: &odbcd::client::Connection) -> Result<(), odbcd::client::Error> {
    /// conn.clear_messages();
    /// # Ok(()) }
    /// ```
    pub fn clear_messages(&self) {
        self.inner.state().messages.clear();
    }

    /// Sets what the connection and the cursors created after it do with warnings
    /// (mxODBC's `warningformat`).
    ///
    /// ```no_run
    /// # fn f(conn: &odbcd::client::Connection) -> Result<(), odbcd::client::Error> {
    /// conn.set_warning_format(odbcd::client::WarningFormat::Raise);
    /// # Ok(()) }
    /// ```
    pub fn set_warning_format(&self, format: WarningFormat) {
        self.inner.state().warning_format = format;
    }

    /// Starts a transaction: autocommit goes off until the guard ends. The guard commits with
    /// [`Transaction::commit`]; dropped without it (an early return, a `?`, a panic), it rolls
    /// back. Either way autocommit is back as it was. With autocommit already off, the guard
    /// ends the transaction already open (what ran before it is part of it).
    ///
    /// ```no_run
    /// # fn f(conn: &odbcd::client::Connection) -> Result<(), odbcd::client::Error> {
    /// let tx = conn.transaction()?;
    /// tx.cursor().execute("UPDATE account SET balance = balance - 10 WHERE id = 1", &[])?;
    /// tx.cursor().execute("UPDATE account SET balance = balance + 10 WHERE id = 2", &[])?;
    /// tx.commit()?; // without it, both updates are rolled back
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `ProgrammingError` (`25000`) while another guard of this connection is open; the
    /// driver's error turning autocommit off.
    pub fn transaction(&self) -> Result<Transaction<'_>, Error> {
        {
            let mut st = self.inner.state();
            if st.in_transaction {
                return Err(Error::with_state(
                    ErrorClass::ProgrammingError,
                    "25000",
                    "a transaction guard of this connection is already open",
                ));
            }
            st.in_transaction = true;
        }
        let restore = self.autocommit();
        if restore {
            if let Err(e) = self.set_autocommit(false) {
                self.inner.state().in_transaction = false;
                return Err(e);
            }
        }
        Ok(Transaction {
            conn: self,
            restore,
            done: false,
        })
    }

    /// True once closed.
    ///
    /// ```no_run
    /// # fn f(conn: &odbcd::client::Connection) -> Result<(), odbcd::client::Error> {
    /// assert!(!conn.closed());
    /// # Ok(()) }
    /// ```
    pub fn closed(&self) -> bool {
        self.inner.state().closed
    }

    /// Closes the connection on the server; what was not committed is rolled back.
    ///
    /// ```no_run
    /// # fn f(conn: &odbcd::client::Connection) -> Result<(), odbcd::client::Error> {
    /// conn.close()?;
    /// assert!(conn.closed());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Link errors (the connection counts as closed anyway).
    pub fn close(&self) -> Result<(), Error> {
        let (link, conn) = {
            let mut st = self.inner.state();
            if st.closed {
                return Ok(());
            }
            st.closed = true;
            if st.generation != self.inner.core.generation() {
                // It went with a session that was lost: nothing is left to close.
                return Ok(());
            }
            (self.inner.core.peek(), st.id)
        };
        link.call(Request::CloseConnection { conn }).map(|_| ())
    }
}

/// A transaction on a [`Connection`] (see [`Connection::transaction`]): rolled back when
/// dropped without [`Self::commit`]. It dereferences to the connection.
pub struct Transaction<'c> {
    conn: &'c Connection,
    /// Autocommit was on before: turn it back on at the end.
    restore: bool,
    /// Committed or rolled back.
    done: bool,
}

impl Transaction<'_> {
    /// Commits the transaction.
    ///
    /// # Errors
    /// As [`Connection::commit`]; the transaction is then rolled back (when the connection
    /// still can).
    pub fn commit(mut self) -> Result<(), Error> {
        if std::mem::take(&mut self.conn.inner.state().transaction_lost) {
            self.done = true;
            return Err(Error::with_state(
                ErrorClass::OperationalError,
                "08007",
                "the session was lost during the transaction: its work is gone, nothing was committed",
            ));
        }
        let r = self.conn.commit();
        self.done = r.is_ok();
        r
    }

    /// Rolls the transaction back.
    ///
    /// # Errors
    /// As [`Connection::rollback`].
    pub fn rollback(mut self) -> Result<(), Error> {
        let r = self.conn.rollback();
        // A failed rollback leaves the work in place: `Drop` must not turn autocommit on
        // (which would commit it), and tries the rollback once more.
        self.done = r.is_ok();
        r
    }
}

impl std::fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("connection", self.conn)
            .field("done", &self.done)
            .finish()
    }
}

impl std::ops::Deref for Transaction<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        let mut clean = true;
        if !self.done {
            if let Err(e) = self.conn.rollback() {
                tracing::debug!(error = %e, "rolling back a dropped transaction failed");
                clean = false;
            }
        }
        {
            let mut st = self.conn.inner.state();
            st.in_transaction = false;
            st.transaction_lost = false;
        }
        // Turning autocommit on commits what is open: only after the rollback succeeded.
        if self.restore && clean {
            if let Err(e) = self.conn.set_autocommit(true) {
                tracing::debug!(error = %e, "turning autocommit back on failed");
            }
        }
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.inner.state();
        f.debug_struct("Connection")
            .field("id", &st.id)
            .field("dbms_name", &st.dbms_name)
            .field("autocommit", &st.autocommit)
            .field("closed", &st.closed)
            .finish()
    }
}
