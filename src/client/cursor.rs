//! Cursors: execute statements and fetch their rows, DB-API style.
//!
//! Rows arrive in batches. While the application works through one batch, the request for the
//! next is already on its way (one batch ahead, never more), so fetching a large result overlaps
//! the network with the application's work and memory stays bounded by two batches.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::conn_inner::ConnInner;
use super::link::Link;
pub use super::row::Row;
use super::{split_warnings, unexpected, Error, WarningFormat};
use crate::error::{DiagRecord, ErrorClass};
use crate::proto::catalog::CatalogCall;
use crate::proto::message::{ConnId, CursorId, Request, RequestId, Response};
use crate::proto::statement::CursorOptions;
use crate::proto::value::{ColumnDesc, Value};

/// Rows asked for per batch (the server also stops a batch at `max_chunk_length` bytes).
const BATCH_ROWS: u32 = 10_000;

/// Fetch requests a cursor keeps in flight at most: 16 batches of the default 64,000 bytes
/// cover a bandwidth-delay product of 1 MB (for instance 100 Mbit/s at 80 ms, or 1 Gbit/s at
/// 8 ms, before compression).
const MAX_WINDOW: usize = 16;

/// Requests in flight on a link beyond which a cursor sends no fetch ahead (it still has one
/// in flight): half of what a server session queues before it stops reading the link
/// (`MAX_QUEUED`, 64), so that several cursors reading ahead at once never make the server
/// stop reading, and acknowledgements, cancels and other connections' requests get through.
const MAX_LINK_WINDOW: usize = 24;

/// A wait for a batch at least this long says that the batches in flight did not cover the
/// round trip (or the server's pace): the cursor then doubles its window. On loopback a batch
/// that was already on its way takes far less to arrive and decode.
const STALL: Duration = Duration::from_micros(500);

/// A cursor on a [`super::Connection`].
pub struct Cursor {
    conn: Arc<ConnInner>,
    /// The link and connection id of the current result (set by `execute`).
    link: Option<Arc<Link>>,
    conn_id: ConnId,
    id: CursorId,
    description: Option<Vec<ColumnDesc>>,
    rowcount: i64,
    rows: VecDeque<Vec<Value>>,
    /// The current result's column names, shared by its rows.
    names: Arc<[String]>,
    /// The server has no more rows for the current result.
    done: bool,
    /// Fetch requests in flight, oldest first: at most `window` of them.
    prefetch: VecDeque<RequestId>,
    /// How many fetch requests the current result keeps in flight: 1 at first, doubled (up to
    /// [`MAX_WINDOW`]) each time the client had to wait for a batch, so that a result read over
    /// a long or slow link keeps the link busy, and a short one costs no extra reads.
    window: usize,
    /// The server may still hold a result set for this cursor (it lets one go by itself once
    /// an answer says `done`, or when the cursor executes again): closing must tell it.
    open_on_server: bool,
    /// Rows `fetchmany()` returns by default (DB-API `arraysize`).
    pub arraysize: usize,
    closed: bool,
    /// The index of the next row in the result set (DB-API `rownumber`).
    rownumber: u64,
    /// The SQL text prepared last (mxODBC's `command`).
    command: Option<String>,
    /// Warnings the driver gave this cursor's statements.
    messages: Vec<DiagRecord>,
    /// What to do with warnings.
    warning_format: WarningFormat,
    /// The request this cursor waits for now, for [`CancelHandle`]s and the query timeout.
    running: Running,
    /// The parameter set the last `executemany` failed at.
    failed_set: Option<usize>,
    /// Why the current result cannot go on (a batch lost with the link, or whose wait was
    /// interrupted twice): every fetch says so, rather than end early.
    broken_result: Option<Error>,
    /// Options for the next statements; `options_sent` is false until the server has them,
    /// `server_options` what it has.
    options: CursorOptions,
    options_sent: bool,
    server_options: CursorOptions,
}

/// How [`Cursor::scroll`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrollMode {
    /// From the current position (`rownumber`).
    Relative,
    /// From the first row (0).
    Absolute,
}

impl Cursor {
    pub(crate) fn new(conn: Arc<ConnInner>, id: CursorId) -> Self {
        Self {
            conn: Arc::clone(&conn),
            link: None,
            conn_id: 0,
            id,
            description: None,
            rowcount: -1,
            rows: VecDeque::new(),
            names: Arc::from(Vec::new()),
            done: true,
            prefetch: VecDeque::new(),
            window: 1,
            open_on_server: false,
            arraysize: 1,
            closed: false,
            rownumber: 0,
            command: None,
            messages: Vec::new(),
            warning_format: conn.warning_format(),
            options: CursorOptions::default(),
            options_sent: true,
            server_options: CursorOptions::default(),
            running: Arc::new(Mutex::new(None)),
            failed_set: None,
            broken_result: None,
        }
    }

    fn check_open(&self) -> Result<(), Error> {
        if self.closed {
            return Err(Error::with_state(
                ErrorClass::ProgrammingError,
                "HY010",
                "the cursor is closed",
            ));
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.abandon_prefetches();
        self.window = 1;
        self.rows.clear();
        self.broken_result = None;
        self.description = None;
        self.names = Arc::from(Vec::new());
        self.rowcount = -1;
        self.done = true;
        self.rownumber = 0;
    }

    /// Starts a new statement: forgets the current result and returns the link and
    /// connection to send it on.
    fn begin(&mut self) -> Result<(Arc<Link>, ConnId), Error> {
        self.failed_set = None;
        self.check_open()?;
        self.reset();
        let (link, conn) = self.conn.ensure()?;
        let reconnected =
            self.conn_id != conn || !self.link.as_ref().is_some_and(|l| Arc::ptr_eq(l, &link));
        self.link = Some(Arc::clone(&link));
        self.conn_id = conn;
        // Until an answer says otherwise (after an error, closing tells the server anyway).
        self.open_on_server = true;
        if !self.options_sent || (reconnected && self.options != CursorOptions::default()) {
            link.call(Request::SetCursorOptions {
                conn,
                cursor: self.id,
                options: self.options,
            })?;
            self.options_sent = true;
            self.server_options = self.options;
        }
        Ok((link, conn))
    }

    fn set_description(&mut self, columns: Option<Vec<ColumnDesc>>) {
        self.names = columns
            .iter()
            .flatten()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
            .into();
        self.description = columns;
    }

    fn row(&self, values: Vec<Value>) -> Row {
        Row::new(values, Arc::clone(&self.names))
    }

    /// Whether the server still holds something of this cursor that closing must let go:
    /// a result set not read to the end, a scrollable one, a prepared statement or options.
    /// (A statement read to the end is let go by the server itself, unless further results
    /// wait for `nextset`; the server bounds how many such cursors it keeps.)
    fn note_done(&mut self) {
        self.open_on_server =
            !self.done || self.command.is_some() || self.server_options != CursorOptions::default();
    }

    /// Sends a request that runs (or reads) a statement and waits for its answer, cancelable
    /// meanwhile, and cancelled by the cursor's query timeout.
    fn call(&mut self, link: &Arc<Link>, request: Request) -> Result<Response, Error> {
        let id = link.send(request)?;
        match self.wait(link, id)? {
            Response::Error(e) => Err(e),
            r => Ok(r),
        }
    }

    /// Waits for the answer to `id`, which a [`CancelHandle`] may cancel; with a query timeout
    /// set, the client cancels it itself when it runs past the timeout and a grace second (for
    /// drivers that ignore `SQL_ATTR_QUERY_TIMEOUT`), and the answer is then a `TimeoutError`.
    fn wait(&mut self, link: &Arc<Link>, id: RequestId) -> Result<Response, Error> {
        *lock(&self.running) = Some((Arc::clone(link), id));
        let timeout = self.server_options.query_timeout_secs;
        let fired = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // The deadline thread waits on a channel this call drops when it ends: it lives as
        // long as the call, not as long as the timeout.
        let (done, ended) = std::sync::mpsc::channel::<()>();
        if timeout > 0 {
            let running = Arc::clone(&self.running);
            let fired = Arc::clone(&fired);
            let deadline = Duration::from_secs(u64::from(timeout) + 1);
            let this_link = Arc::clone(link);
            let spawned = std::thread::Builder::new()
                .name("odbcd-timeout".into())
                .spawn(move || {
                    if ended.recv_timeout(deadline)
                        != Err(std::sync::mpsc::RecvTimeoutError::Timeout)
                    {
                        return;
                    }
                    let target = lock(&running).clone();
                    if let Some((link, request)) =
                        target.filter(|(l, r)| *r == id && Arc::ptr_eq(l, &this_link))
                    {
                        fired.store(true, std::sync::atomic::Ordering::SeqCst);
                        link.send_and_forget(Request::Cancel { request });
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!("cannot start the query timeout thread: {e}");
            }
        }
        let started = std::time::Instant::now();
        let r = Self::wait_interruptibly(link, id);
        *lock(&self.running) = None;
        drop(done);
        // The driver enforced the timeout itself (psqlodbc through PostgreSQL's
        // statement_timeout: 57014): the same `TimeoutError` as the client's deadline.
        let driver_timed_out = |e: &Error| {
            timeout > 0
                && started.elapsed() >= Duration::from_secs(u64::from(timeout))
                && matches!(e.sqlstate.as_str(), "HYT00" | "HYT01" | "HY008" | "57014")
        };
        // Cancelled by the deadline, or stopped by the driver's own timeout: one
        // `TimeoutError` either way.
        let timed_out =
            |e: &Error| fired.load(std::sync::atomic::Ordering::SeqCst) || driver_timed_out(e);
        let as_timeout = |e: Error| {
            Error {
            class: ErrorClass::TimeoutError,
            sqlstate: "HYT00".into(),
            message: format!(
                "the statement ran longer than its query timeout ({timeout} s) and was cancelled: {}",
                e.message
            ),
            ..e
        }
        };
        match r {
            Ok(Response::Error(e)) if timed_out(&e) => Err(as_timeout(e)),
            Ok(Response::ExecuteManyFailed {
                index,
                rowcount,
                error,
            }) if timed_out(&error) => Ok(Response::ExecuteManyFailed {
                index,
                rowcount,
                error: as_timeout(error),
            }),
            r => r,
        }
    }

    /// Waits for `id`, consulting this thread's interrupt check ([`super::interrupt`]): when it
    /// fires, the statement is cancelled on the server and its answer awaited (so the
    /// connection stays in step); a second interruption stops waiting for it.
    fn wait_interruptibly(link: &Arc<Link>, id: RequestId) -> Result<Response, Error> {
        let armed = super::interrupt::arm();
        let r = link.wait(id);
        // Fired means this wait returned because of it (the check is consulted only by the
        // wait, which returns at once): any other outcome is the answer itself.
        if !(super::interrupt::fired() && r.is_err()) {
            return r;
        }
        link.send_and_forget(Request::Cancel { request: id });
        drop(armed);
        let again = super::interrupt::arm();
        let r = link.wait(id);
        if super::interrupt::fired() {
            link.abandon(id);
        }
        drop(again);
        r
    }

    /// A handle that cancels this cursor's running statement from another thread.
    ///
    /// ```no_run
    /// # fn f(cursor: &mut odbcd::client::Cursor) {
    /// let cancel = cursor.cancel_handle();
    /// std::thread::spawn(move || {
    ///     std::thread::sleep(std::time::Duration::from_secs(1));
    ///     let _ = cancel.cancel();
    /// });
    /// let result = cursor.execute("SELECT pg_sleep(60)", &[]); // an error (HY008) after ~1 s
    /// # }
    /// ```
    pub fn cancel_handle(&self) -> CancelHandle {
        CancelHandle {
            running: Arc::clone(&self.running),
        }
    }

    /// Files the warnings of an answer and returns the answer.
    fn answer(&mut self, r: Response) -> (Response, Result<(), Error>) {
        let (r, warnings) = split_warnings(r);
        let raised = self.warning_format.file(warnings, &mut self.messages);
        (r, raised)
    }

    /// Takes an `Executed` answer as the cursor's new result.
    fn take_result(&mut self, r: Response) -> Result<&mut Self, Error> {
        let (r, raised) = self.answer(r);
        match r {
            Response::Executed {
                columns,
                rowcount,
                rows,
                done,
            } => {
                self.set_description(columns);
                self.rowcount = rowcount;
                self.rows = rows.into();
                self.done = done;
                self.rownumber = 0;
                self.note_done();
                self.request_next()?;
                raised.map(|()| self)
            }
            other => Err(unexpected(&other)),
        }
    }

    /// Executes `sql` with `params` (one per `?`). A result set's description and first rows
    /// arrive with the answer.
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.execute("SELECT id, name FROM fruit WHERE price < ?", &odbcd::params![1.5])?;
    /// let rows = c.fetchall()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The database's error, with its class and SQLSTATE.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<&mut Self, Error> {
        let r = self.send_statement(|conn, cursor| Request::Execute {
            conn,
            cursor,
            sql: sql.to_owned(),
            params: params.to_vec(),
            max_rows: BATCH_ROWS,
        })?;
        self.take_result(r)
    }

    /// Starts a statement and waits for its answer. When the server closed the session for a
    /// shutdown before running it (between requests) and the session re-opens by itself
    /// (`auto_reconnect`), it is sent once more, on the new session.
    fn send_statement(
        &mut self,
        request: impl Fn(ConnId, CursorId) -> Request,
    ) -> Result<Response, Error> {
        let core = Arc::clone(&self.conn.core);
        core.unless_drained(|| {
            let (link, conn) = self.begin()?;
            self.call(&link, request(conn, self.id))
        })
    }

    /// Prepares `sql` on the server (mxODBC's `prepare`): it becomes [`Self::command`], and
    /// executing the same text on this cursor ([`Self::execute`] or
    /// [`Self::execute_prepared`]) runs the prepared statement without preparing it again.
    /// The description is what the driver says of the result before running it (`None` when
    /// it has none or cannot tell). Returns the number of parameters the statement takes.
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// let n = c.prepare("INSERT INTO fruit VALUES (?, ?)")?;
    /// assert_eq!(n, 2);
    /// for (id, name) in [(7, "kiwi"), (8, "lime")] {
    ///     c.execute_prepared(&odbcd::params![id, name])?;
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The database's error (a syntax error, an unknown table).
    pub fn prepare(&mut self, sql: &str) -> Result<u16, Error> {
        let r = self.send_statement(|conn, cursor| Request::Prepare {
            conn,
            cursor,
            sql: sql.to_owned(),
        })?;
        let (r, raised) = self.answer(r);
        match r {
            Response::Prepared { columns, params } => {
                self.command = Some(sql.to_owned());
                self.set_description(columns);
                self.note_done();
                raised.map(|()| params)
            }
            other => Err(unexpected(&other)),
        }
    }

    /// The SQL text prepared last (mxODBC's `command`).
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.prepare("SELECT * FROM fruit")?;
    /// assert_eq!(c.command(), Some("SELECT * FROM fruit"));
    /// # Ok(()) }
    /// ```
    pub fn command(&self) -> Option<&str> {
        self.command.as_deref()
    }

    /// Executes the statement prepared last with `params`.
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.prepare("SELECT name FROM fruit WHERE id = ?")?;
    /// c.execute_prepared(&odbcd::params![1])?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `ProgrammingError` when nothing was prepared; as [`Self::execute`].
    pub fn execute_prepared(&mut self, params: &[Value]) -> Result<&mut Self, Error> {
        let Some(sql) = self.command.clone() else {
            return Err(Error::with_state(
                ErrorClass::ProgrammingError,
                "HY010",
                "no statement was prepared on this cursor",
            ));
        };
        self.execute(&sql, params)
    }

    /// Calls a stored procedure through the ODBC call escape (`{call name(?, ...)}`) with
    /// `params` as its input parameters; its result sets are the cursor's, in order (see
    /// [`Self::nextset`]). Returns the parameters, as DB-API's `callproc` (output parameters
    /// are not read back).
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.callproc("refresh_prices", &odbcd::params![2026])?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `ProgrammingError` for a name that is not an identifier (`schema.name` allowed, quoted
    /// parts too); as [`Self::execute`].
    pub fn callproc(&mut self, name: &str, params: &[Value]) -> Result<Vec<Value>, Error> {
        if !is_procedure_name(name) {
            return Err(Error::with_state(
                ErrorClass::ProgrammingError,
                "42000",
                format!("{name:?} is not a procedure name"),
            ));
        }
        let marks = vec!["?"; params.len()].join(", ");
        self.execute(&format!("{{call {name}({marks})}}"), params)?;
        Ok(params.to_vec())
    }

    /// Calls a procedure with output parameters: `sql` is the ODBC call escape, e.g.
    /// `{? = call add_one(?)}` or `{call split(?, ?, ?)}`, with one [`ProcParam`](crate::proto::statement::ProcParam) per `?`.
    /// Returns every parameter's value after the call (inputs as sent, outputs as the
    /// procedure set them); `None` when the procedure returned a result set instead, which is
    /// then the cursor's (its output parameters are not read: ODBC completes them only after
    /// all rows).
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// use odbcd::client::{ProcParam, Value};
    /// let values = c.call_procedure(
    ///     "{? = call add_one(?)}",
    ///     &[ProcParam::output(Value::Int(0), 0), ProcParam::input(Value::Int(41))],
    /// )?;
    /// assert_eq!(values.map(|v| v[0].clone()), Some(Value::Int(42)));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The database's error; `ProgrammingError` (`HY090`) for text outputs over 1 MiB each
    /// or 16 MiB in all; `DataError` (`22001`) when an output is longer than its `max_bytes`.
    pub fn call_procedure(
        &mut self,
        sql: &str,
        params: &[crate::proto::statement::ProcParam],
    ) -> Result<Option<Vec<Value>>, Error> {
        let (link, conn) = self.begin()?;
        let r = self.call(
            &link,
            Request::CallProcedure {
                conn,
                cursor: self.id,
                sql: sql.to_owned(),
                params: params.to_vec(),
                max_rows: BATCH_ROWS,
            },
        )?;
        let (r, raised) = self.answer(r);
        match r {
            Response::ProcedureOutputs { rowcount, values } => {
                self.rowcount = rowcount;
                self.note_done();
                raised.map(|()| Some(values))
            }
            r => {
                self.take_result(r)?;
                raised.map(|()| None)
            }
        }
    }

    /// Moves to the statement's next result (`SQLMoreResults`): a further result set or row
    /// count of a batch or procedure. Rows of the current result not fetched are skipped.
    /// Returns false (and leaves no result set) when there are no more.
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.execute("SELECT 1; SELECT 2", &[])?;
    /// let first = c.fetchall()?;
    /// if c.nextset()? {
    ///     let second = c.fetchall()?;
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `ProgrammingError` when no statement ran on this cursor; database errors.
    pub fn nextset(&mut self) -> Result<bool, Error> {
        self.check_open()?;
        let Some(link) = self.link.clone() else {
            return Err(Error::with_state(
                ErrorClass::ProgrammingError,
                "24000",
                "no statement ran on this cursor",
            ));
        };
        let conn = self.conn_id;
        self.reset();
        let r = self.call(
            &link,
            Request::NextResult {
                conn,
                cursor: self.id,
                max_rows: BATCH_ROWS,
            },
        )?;
        let (r, raised) = self.answer(r);
        match r {
            Response::NoMoreResults => {
                self.open_on_server =
                    self.command.is_some() || self.server_options != CursorOptions::default();
                raised.map(|()| false)
            }
            r => {
                self.take_result(r)?;
                raised.map(|()| true)
            }
        }
    }

    /// Moves a scrollable cursor (see [`Self::set_scrollable`]): by `value` rows from the
    /// current position, or to row `value` (0 is the first). The next fetch returns the row
    /// there.
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// use odbcd::client::ScrollMode;
    /// c.set_scrollable(true);
    /// c.execute("SELECT id FROM fruit ORDER BY id", &[])?;
    /// c.scroll(10, ScrollMode::Absolute)?;
    /// let eleventh = c.fetchone()?;
    /// c.scroll(-5, ScrollMode::Relative)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `NotSupportedError` on a forward-only cursor; `ProgrammingError` (`HY107`) for a
    /// position before the first row or past the end; database errors.
    pub fn scroll(&mut self, value: i64, mode: ScrollMode) -> Result<(), Error> {
        self.check_result()?;
        let target = match mode {
            ScrollMode::Relative => i64::try_from(self.rownumber)
                .unwrap_or(i64::MAX)
                .saturating_add(value),
            ScrollMode::Absolute => value,
        };
        let Ok(position) = u64::try_from(target) else {
            return Err(Error::with_state(
                ErrorClass::ProgrammingError,
                "HY107",
                format!("row {target} is before the first row"),
            ));
        };
        if !self.options.scrollable {
            return Err(Error::with_state(
                ErrorClass::NotSupportedError,
                "HYC00",
                "the cursor is forward-only: call set_scrollable(true) before executing to scroll",
            ));
        }
        let Some(link) = self.link.clone() else {
            return Err(Error::with_state(
                ErrorClass::ProgrammingError,
                "24000",
                "no result set",
            ));
        };
        self.abandon_prefetches();
        // Reading starts again from the new position, as after an execute.
        self.window = 1;
        let r = self.call(
            &link,
            Request::Scroll {
                conn: self.conn_id,
                cursor: self.id,
                position,
                max_rows: BATCH_ROWS,
            },
        )?;
        let (r, raised) = self.answer(r);
        match r {
            Response::Rows { rows, done } => {
                self.rows = rows.into();
                self.done = done;
                self.note_done();
                self.rownumber = position;
                self.request_next()?;
                raised
            }
            other => Err(unexpected(&other)),
        }
    }

    /// The index of the next row the cursor returns (DB-API `rownumber`; 0 after execute).
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.execute("SELECT id FROM fruit", &[])?;
    /// c.fetchmany(Some(3))?;
    /// assert_eq!(c.rownumber(), 3);
    /// # Ok(()) }
    /// ```
    pub fn rownumber(&self) -> u64 {
        self.rownumber
    }

    /// Makes the cursor's next statements scrollable (a static cursor) or forward-only.
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.set_scrollable(true); // the next execute gets a static cursor
    /// # Ok(()) }
    /// ```
    pub fn set_scrollable(&mut self, on: bool) {
        self.set_options(CursorOptions {
            scrollable: on,
            ..self.options
        });
    }

    /// Sets the query timeout of the cursor's next statements in seconds
    /// (`SQL_ATTR_QUERY_TIMEOUT`; 0: none): a statement running longer is cancelled by the
    /// driver with `HYT00`.
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.set_query_timeout(5);
    /// match c.execute("SELECT pg_sleep(60)", &[]) {
    ///     Err(e) if e.is(odbcd::client::ErrorClass::TimeoutError) => println!("too slow"),
    ///     other => { other?; }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn set_query_timeout(&mut self, seconds: u32) {
        self.set_options(CursorOptions {
            query_timeout_secs: seconds,
            ..self.options
        });
    }

    /// Sets the most rows the cursor's next result sets return (`SQL_ATTR_MAX_ROWS`; 0: all).
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.set_max_rows(100);
    /// c.execute("SELECT * FROM big_table", &[])?;
    /// assert!(c.fetchall()?.len() <= 100);
    /// # Ok(()) }
    /// ```
    pub fn set_max_rows(&mut self, rows: u64) {
        self.set_options(CursorOptions {
            max_rows: rows,
            ..self.options
        });
    }

    fn set_options(&mut self, options: CursorOptions) {
        if options != self.options {
            self.options = options;
            self.options_sent = false;
        }
    }

    /// The warnings the driver gave this cursor's statements, oldest first (mxODBC's
    /// `messages`).
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.execute("SELECT noisy()", &[])?;
    /// for w in c.messages() {
    ///     println!("warning [{}]: {}", w.sqlstate, w.message);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn messages(&self) -> &[DiagRecord] {
        &self.messages
    }

    /// Forgets the collected warnings.
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.clear_messages();
    /// # Ok(()) }
    /// ```
    pub fn clear_messages(&mut self) {
        self.messages.clear();
    }

    /// Sets what this cursor does with warnings (a new cursor takes its connection's).
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.set_warning_format(odbcd::client::WarningFormat::Ignore);
    /// # Ok(()) }
    /// ```
    pub fn set_warning_format(&mut self, format: WarningFormat) {
        self.warning_format = format;
    }

    /// Runs a catalog function; its result set becomes the cursor's.
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.catalog(odbcd::client::CatalogCall::TypeInfo { data_type: 0 })?;
    /// let types = c.fetchall()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The driver's error; `ProgrammingError` (`HY090`) for a name over 4096 bytes or with a
    /// NUL character.
    pub fn catalog(&mut self, call: CatalogCall) -> Result<&mut Self, Error> {
        let r = self.send_statement(|conn, cursor| Request::Catalog {
            conn,
            cursor,
            call: call.clone(),
            max_rows: BATCH_ROWS,
        })?;
        self.take_result(r)
    }

    /// Tables, views and other objects matching the patterns (`SQLTables`; mxODBC's
    /// `tables(qualifier, owner, table, type)`).
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.tables(None, Some("public"), Some("fr%"), Some("TABLE"))?;
    /// for t in c.fetchall()? {
    ///     let name: String = t.get(2);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Self::catalog`].
    pub fn tables(
        &mut self,
        catalog: Option<&str>,
        schema: Option<&str>,
        table: Option<&str>,
        table_type: Option<&str>,
    ) -> Result<&mut Self, Error> {
        self.catalog(CatalogCall::Tables {
            catalog: owned(catalog),
            schema: owned(schema),
            table: owned(table),
            table_type: owned(table_type),
        })
    }

    /// The columns of the matching tables (`SQLColumns`).
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.columns(None, None, Some("fruit"), None)?;
    /// for col in c.fetchall()? {
    ///     let (name, type_name): (String, String) = (col.get(3), col.get(5));
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Self::catalog`].
    pub fn columns(
        &mut self,
        catalog: Option<&str>,
        schema: Option<&str>,
        table: Option<&str>,
        column: Option<&str>,
    ) -> Result<&mut Self, Error> {
        self.catalog(CatalogCall::Columns {
            catalog: owned(catalog),
            schema: owned(schema),
            table: owned(table),
            column: owned(column),
        })
    }

    /// A table's primary key columns (`SQLPrimaryKeys`).
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.primarykeys(None, None, Some("fruit"))?;
    /// let key: Vec<String> = c.fetchall()?.iter().map(|r| r.get(3)).collect();
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Self::catalog`].
    pub fn primarykeys(
        &mut self,
        catalog: Option<&str>,
        schema: Option<&str>,
        table: Option<&str>,
    ) -> Result<&mut Self, Error> {
        self.catalog(CatalogCall::PrimaryKeys {
            catalog: owned(catalog),
            schema: owned(schema),
            table: owned(table),
        })
    }

    /// Foreign keys (`SQLForeignKeys`): those referring to the primary table, those of the
    /// foreign table, or those between the two.
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.foreignkeys(None, None, None, None, None, Some("basket"))?; // basket's foreign keys
    /// let fks = c.fetchall()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Self::catalog`].
    #[allow(clippy::too_many_arguments)]
    pub fn foreignkeys(
        &mut self,
        pk_catalog: Option<&str>,
        pk_schema: Option<&str>,
        pk_table: Option<&str>,
        fk_catalog: Option<&str>,
        fk_schema: Option<&str>,
        fk_table: Option<&str>,
    ) -> Result<&mut Self, Error> {
        self.catalog(CatalogCall::ForeignKeys {
            pk_catalog: owned(pk_catalog),
            pk_schema: owned(pk_schema),
            pk_table: owned(pk_table),
            fk_catalog: owned(fk_catalog),
            fk_schema: owned(fk_schema),
            fk_table: owned(fk_table),
        })
    }

    /// A table's indexes and statistics (`SQLStatistics`): only unique indexes when `unique`,
    /// exact figures when `exact` (mxODBC's `accuracy`).
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.statistics(None, None, Some("fruit"), false, false)?;
    /// let indexes = c.fetchall()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Self::catalog`].
    pub fn statistics(
        &mut self,
        catalog: Option<&str>,
        schema: Option<&str>,
        table: Option<&str>,
        unique: bool,
        exact: bool,
    ) -> Result<&mut Self, Error> {
        self.catalog(CatalogCall::Statistics {
            catalog: owned(catalog),
            schema: owned(schema),
            table: owned(table),
            unique,
            exact,
        })
    }

    /// Stored procedures and functions (`SQLProcedures`).
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.procedures(None, None, Some("%"))?;
    /// let procs = c.fetchall()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Self::catalog`].
    pub fn procedures(
        &mut self,
        catalog: Option<&str>,
        schema: Option<&str>,
        procedure: Option<&str>,
    ) -> Result<&mut Self, Error> {
        self.catalog(CatalogCall::Procedures {
            catalog: owned(catalog),
            schema: owned(schema),
            procedure: owned(procedure),
        })
    }

    /// Procedures' parameters and result columns (`SQLProcedureColumns`).
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.procedurecolumns(None, None, Some("add_one"), None)?;
    /// let params = c.fetchall()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Self::catalog`].
    pub fn procedurecolumns(
        &mut self,
        catalog: Option<&str>,
        schema: Option<&str>,
        procedure: Option<&str>,
        column: Option<&str>,
    ) -> Result<&mut Self, Error> {
        self.catalog(CatalogCall::ProcedureColumns {
            catalog: owned(catalog),
            schema: owned(schema),
            procedure: owned(procedure),
            column: owned(column),
        })
    }

    /// The columns that identify a row (`identifier_type` 1, `SQL_BEST_ROWID`) or change on
    /// every update (2, `SQL_ROWVER`) (`SQLSpecialColumns`).
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.specialcolumns(None, None, Some("fruit"), 1, 2, 1)?; // SQL_BEST_ROWID, session scope
    /// let row_id = c.fetchall()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Self::catalog`].
    #[allow(clippy::too_many_arguments)]
    pub fn specialcolumns(
        &mut self,
        catalog: Option<&str>,
        schema: Option<&str>,
        table: Option<&str>,
        identifier_type: u16,
        scope: u16,
        nullable: u16,
    ) -> Result<&mut Self, Error> {
        self.catalog(CatalogCall::SpecialColumns {
            identifier_type,
            catalog: owned(catalog),
            schema: owned(schema),
            table: owned(table),
            scope,
            nullable,
        })
    }

    /// Privileges on the matching tables (`SQLTablePrivileges`).
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.tableprivileges(None, None, Some("fruit"))?;
    /// let grants = c.fetchall()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Self::catalog`].
    pub fn tableprivileges(
        &mut self,
        catalog: Option<&str>,
        schema: Option<&str>,
        table: Option<&str>,
    ) -> Result<&mut Self, Error> {
        self.catalog(CatalogCall::TablePrivileges {
            catalog: owned(catalog),
            schema: owned(schema),
            table: owned(table),
        })
    }

    /// Privileges on a table's matching columns (`SQLColumnPrivileges`).
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.columnprivileges(None, None, Some("fruit"), None)?;
    /// let grants = c.fetchall()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Self::catalog`].
    pub fn columnprivileges(
        &mut self,
        catalog: Option<&str>,
        schema: Option<&str>,
        table: Option<&str>,
        column: Option<&str>,
    ) -> Result<&mut Self, Error> {
        self.catalog(CatalogCall::ColumnPrivileges {
            catalog: owned(catalog),
            schema: owned(schema),
            table: owned(table),
            column: owned(column),
        })
    }

    /// The data types the data source supports (`SQLGetTypeInfo`; 0 for all).
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.gettypeinfo(0)?; // every type
    /// let types = c.fetchall()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Self::catalog`].
    pub fn gettypeinfo(&mut self, data_type: i16) -> Result<&mut Self, Error> {
        self.catalog(CatalogCall::TypeInfo { data_type })
    }

    /// Executes `sql` once per parameter set, in order, in one round trip; the server prepares
    /// it once (with its statement cache on, for texts under 64 KiB). `rowcount` is the total. Takes any iterator of parameter lists
    /// (`&[Vec<Value>]`, `Vec<Vec<Value>>`, an iterator of `params![...]`).
    ///
    /// **The commit rule**: the sets run one after another and stop at the first failure.
    /// Under autocommit every set commits by itself, so the sets before a failing one stay
    /// committed ([`Self::failed_set`] says which set failed, [`Self::rowcount`] what the sets
    /// before it did); for all or nothing, run it inside [`super::Connection::transaction`]
    /// (or with autocommit off, then roll back on error).
    ///
    /// ```no_run
    /// # fn f(conn: &odbcd::client::Connection) -> Result<(), odbcd::client::Error> {
    /// let tx = conn.transaction()?;
    /// let mut c = tx.cursor();
    /// c.executemany("INSERT INTO fruit VALUES (?, ?)", (1..=3).map(|i| odbcd::params![i, format!("fruit {i}")]))?;
    /// tx.commit()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The failing set's error (its message names the set; [`Self::failed_set`] gives its
    /// index).
    pub fn executemany<P: AsRef<[Value]>>(
        &mut self,
        sql: &str,
        param_sets: impl IntoIterator<Item = P>,
    ) -> Result<&mut Self, Error> {
        let param_sets: Vec<Vec<Value>> = param_sets
            .into_iter()
            .map(|p| p.as_ref().to_vec())
            .collect();
        let sets = param_sets.len();
        let r = self.send_statement(|conn, cursor| Request::ExecuteMany {
            conn,
            cursor,
            sql: sql.to_owned(),
            param_sets: param_sets.clone(),
        })?;
        let (r, raised) = self.answer(r);
        self.note_done();
        match r {
            Response::Executed { rowcount, .. } => {
                self.rowcount = rowcount;
                raised.map(|()| self)
            }
            Response::ExecuteManyFailed {
                index,
                rowcount,
                error,
            } if (index as usize) < sets => {
                self.rowcount = rowcount;
                self.failed_set = Some(index as usize);
                Err(error)
            }
            other => Err(unexpected(&other)),
        }
    }

    /// After [`Self::executemany`] failed: the index (0-based) of the parameter set that
    /// failed; the sets before it ran, the ones after it did not.
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// let sets = [odbcd::params![1, "apple"], odbcd::params![1, "duplicate"]];
    /// if c.executemany("INSERT INTO fruit VALUES (?, ?)", &sets).is_err() {
    ///     println!("set {:?} failed; {} rows before it", c.failed_set(), c.rowcount());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn failed_set(&self) -> Option<usize> {
        self.failed_set
    }

    /// Asks for the next batches, up to the window, if the server has more.
    fn request_next(&mut self) -> Result<(), Error> {
        let (false, Some(link)) = (self.done, &self.link) else {
            return Ok(());
        };
        while self.prefetch.len() < self.window
            && (self.prefetch.is_empty() || link.in_flight() < MAX_LINK_WINDOW)
        {
            self.prefetch.push_back(link.send(Request::Fetch {
                conn: self.conn_id,
                cursor: self.id,
                max_rows: BATCH_ROWS,
            })?);
        }
        Ok(())
    }

    /// Drops the answers of the fetch requests in flight whenever they arrive (the result
    /// ended, failed, or is left). They still run on the server (at most the window's worth
    /// of batches, read for nothing when a result is left early): cancelling them would
    /// turn each into an error answer, counted as such in the server's metrics.
    fn abandon_prefetches(&mut self) {
        if let Some(link) = &self.link {
            for id in self.prefetch.drain(..) {
                link.abandon(id);
            }
        }
        self.prefetch.clear();
    }

    /// Makes sure at least one row is buffered, unless the result is exhausted.
    fn fill(&mut self) -> Result<(), Error> {
        while self.rows.is_empty() && !self.done {
            self.request_next()?;
            let (Some(id), Some(link)) = (self.prefetch.pop_front(), &self.link) else {
                break;
            };
            let link = Arc::clone(link);
            let started = Instant::now();
            let answer = self.wait(&link, id);
            let stalled = started.elapsed() >= STALL;
            if let Err(e) = &answer {
                // The batch is gone (the link failed, or a second interruption stopped the
                // wait for it): the result cannot go on, and every later fetch says why.
                self.done = true;
                self.broken_result = Some(e.clone());
                self.abandon_prefetches();
            }
            match answer? {
                Response::Rows { rows, done } => {
                    self.rows = rows.into();
                    self.done = done;
                    self.note_done();
                    if done {
                        // What is still in flight comes back empty.
                        self.abandon_prefetches();
                    } else if stalled {
                        self.window = (self.window * 2).min(MAX_WINDOW);
                    }
                }
                Response::Error(e) => {
                    self.done = true;
                    self.abandon_prefetches();
                    return Err(e);
                }
                other => {
                    self.abandon_prefetches();
                    return Err(unexpected(&other));
                }
            }
            self.request_next()?;
        }
        Ok(())
    }

    fn check_result(&self) -> Result<(), Error> {
        self.check_open()?;
        if let Some(e) = &self.broken_result {
            if self.rows.is_empty() {
                return Err(e.clone());
            }
        }
        if self.description.is_none() {
            return Err(Error::with_state(
                ErrorClass::ProgrammingError,
                "24000",
                "no result set: the last statement did not return rows",
            ));
        }
        Ok(())
    }

    /// The next row, or `None` when the result is exhausted.
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.execute("SELECT name FROM fruit WHERE id = ?", &odbcd::params![1])?;
    /// if let Some(row) = c.fetchone()? {
    ///     let name: String = row.get(0);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `ProgrammingError` without a result set; database or link errors.
    pub fn fetchone(&mut self) -> Result<Option<Row>, Error> {
        self.check_result()?;
        self.fill()?;
        let row = self.rows.pop_front();
        if row.is_some() {
            self.rownumber += 1;
        }
        Ok(row.map(|values| self.row(values)))
    }

    /// Up to `n` rows (`arraysize` when `None`).
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.execute("SELECT * FROM fruit", &[])?;
    /// loop {
    ///     let rows = c.fetchmany(Some(500))?;
    ///     if rows.is_empty() { break; }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Self::fetchone`].
    pub fn fetchmany(&mut self, n: Option<usize>) -> Result<Vec<Row>, Error> {
        self.check_result()?;
        let n = n.unwrap_or(self.arraysize);
        let mut out = Vec::with_capacity(n.min(BATCH_ROWS as usize));
        while out.len() < n {
            self.fill()?;
            if self.rows.is_empty() {
                break;
            }
            let take = (n - out.len()).min(self.rows.len());
            let names = &self.names;
            out.extend(
                self.rows
                    .drain(..take)
                    .map(|values| Row::new(values, Arc::clone(names))),
            );
            self.rownumber += take as u64;
        }
        Ok(out)
    }

    /// Up to `max` rows, waiting for the server only when none is buffered: the rows at hand,
    /// for callers that convert rows as they come (the Python client). Empty when the result
    /// is exhausted.
    ///
    /// # Errors
    /// As [`Self::fetchone`].
    pub fn fetch_available(&mut self, max: usize) -> Result<Vec<Row>, Error> {
        self.check_result()?;
        self.fill()?;
        let take = max.min(self.rows.len());
        self.rownumber += take as u64;
        let names = &self.names;
        Ok(self
            .rows
            .drain(..take)
            .map(|values| Row::new(values, Arc::clone(names)))
            .collect())
    }

    /// All remaining rows.
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.execute("SELECT id, name FROM fruit", &[])?;
    /// let all: Vec<(i64, String)> = c.fetchall()?.iter().map(|r| (r.get(0), r.get(1))).collect();
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Self::fetchone`].
    pub fn fetchall(&mut self) -> Result<Vec<Row>, Error> {
        self.check_result()?;
        let mut out = Vec::new();
        loop {
            self.fill()?;
            if self.rows.is_empty() {
                return Ok(out);
            }
            self.rownumber += self.rows.len() as u64;
            let names = &self.names;
            out.extend(
                self.rows
                    .drain(..)
                    .map(|values| Row::new(values, Arc::clone(names))),
            );
        }
    }

    /// Iterates over the remaining rows, one batch in memory at a time. An error (no result
    /// set, a database or link error) is yielded once and ends the iteration, so
    /// `rows().filter_map(Result::ok)` ends too.
    ///
    /// ```no_run
    /// # fn f(cursor: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// cursor.execute("SELECT id, name FROM fruit", &[])?;
    /// for row in cursor.rows() {
    ///     let row = row?;
    ///     let (id, name): (i64, String) = (row.get("id"), row.get("name"));
    ///     println!("{id} {name}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn rows(&mut self) -> impl Iterator<Item = Result<Row, Error>> + '_ {
        let mut over = false;
        std::iter::from_fn(move || {
            if over {
                return None;
            }
            let next = self.fetchone().transpose();
            over = matches!(next, Some(Err(_)) | None);
            next
        })
    }

    /// The result's columns (DB-API `description`), `None` without a result set.
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.execute("SELECT id, name FROM fruit", &[])?;
    /// for col in c.description().unwrap_or_default() {
    ///     println!("{} {:?}", col.name, col.sql_type());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn description(&self) -> Option<&[ColumnDesc]> {
        self.description.as_deref()
    }

    /// Rows affected by the last statement, -1 when unknown.
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.execute("UPDATE fruit SET price = price * 2", &[])?;
    /// println!("{} rows updated", c.rowcount());
    /// # Ok(()) }
    /// ```
    pub fn rowcount(&self) -> i64 {
        self.rowcount
    }

    /// Closes the cursor and its result set on the server.
    ///
    /// ```no_run
    /// # fn f(c: &mut odbcd::client::Cursor) -> Result<(), odbcd::client::Error> {
    /// c.close(); // its result set and statement go on the server
    /// # Ok(()) }
    /// ```
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        // A cursor of a connection closed already went with it on the server.
        let open = self.open_on_server && self.conn.open_on_server();
        self.reset();
        self.closed = true;
        if let (true, Some(link)) = (open, &self.link) {
            if !link.is_broken() {
                link.send_and_forget(Request::CloseCursor {
                    conn: self.conn_id,
                    cursor: self.id,
                });
            }
        }
    }
}

impl Drop for Cursor {
    fn drop(&mut self) {
        self.close();
    }
}

impl std::fmt::Debug for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cursor")
            .field("conn", &self.conn_id)
            .field("id", &self.id)
            .field("rowcount", &self.rowcount)
            .field("buffered_rows", &self.rows.len())
            .field("done", &self.done)
            .field("closed", &self.closed)
            .finish()
    }
}

fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_owned)
}

/// A procedure name for the call escape: dot-separated parts, each an identifier of letters,
/// digits, `_` and `$` or a double-quoted name (no quote inside), so that nothing else can ride
/// into the statement.
fn is_procedure_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| {
            if let Some(inner) = part.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
                !inner.is_empty() && !inner.contains('"')
            } else {
                part.chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
                    && part
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
            }
        })
}

#[cfg(test)]
mod tests {
    use super::is_procedure_name;

    #[test]
    fn procedure_names_are_identifiers() {
        for ok in [
            "p",
            "two_sets",
            "public.two_sets",
            "\"My Proc\"",
            "s.\"x y\"",
            "a$1",
        ] {
            assert!(is_procedure_name(ok), "{ok}");
        }
        for bad in [
            "",
            "p()",
            "p; drop table t",
            "1p",
            "a..b",
            "\"a\"b\"",
            "p}",
            "p -- x",
        ] {
            assert!(!is_procedure_name(bad), "{bad}");
        }
    }
}

/// The request a cursor waits for now, and its link, shared with its cancel handles.
type Running = Arc<Mutex<Option<(Arc<Link>, RequestId)>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Cancels a [`Cursor`]'s running statement from another thread (`SQLCancel` on the server);
/// `Send`, `Sync` and cheap to clone.
#[derive(Clone)]
pub struct CancelHandle {
    running: Running,
}

impl CancelHandle {
    /// Asks the server to cancel what the cursor runs now. Returns false when it runs nothing.
    /// The cursor's call then ends with the driver's error (`HY008`), or with its result if
    /// the statement finished first.
    ///
    /// # Errors
    /// The server's refusal (the request finished meanwhile: `HY010`), link errors.
    pub fn cancel(&self) -> Result<bool, Error> {
        let Some((link, request)) = lock(&self.running).clone() else {
            return Ok(false);
        };
        link.call(Request::Cancel { request }).map(|_| true)
    }
}

impl std::fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let running = lock(&self.running).as_ref().map(|(_, id)| *id);
        f.debug_struct("CancelHandle")
            .field("running", &running)
            .finish()
    }
}
