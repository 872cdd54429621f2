//! `Cursor`: PEP 249's cursor over the client's [`Cursor`], with mxODBC's additions (catalog
//! methods, `prepare`/`command`, `scroll`, `rownumber`, `messages`, `nextset`, `callproc`).
//!
//! Every call that may wait for the server runs with the GIL released and watches Python's
//! signals (Ctrl-C cancels the statement on the server). Rows come from the server in batches
//! and wait in the cursor's buffer as the client decoded them; each is converted to a tuple
//! when it is handed out, so a value Python cannot hold raises at its own row, and no row
//! before or after it is lost.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use odbcd::client::{
    CancelHandle, CatalogCall, Cursor, DiagRecord, Error, ErrorClass, Row, ScrollMode,
};
use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

use crate::connection::PyConnection;
use crate::errors::{check, error, take_interrupt, to_pyerr, watch_signals};
use crate::session::lock;
use crate::values::{column_tuple, int_arg, row_tuple, to_py, to_values};

/// Rows moved from the client's buffer at once when `fetchone` or iteration finds none.
const FETCH_AHEAD: usize = 256;

/// Rows fetched and not yet handed out, in order: first some already converted (put back
/// when a fetch stopped at a row that could not be converted), then rows as decoded.
#[derive(Default)]
struct Buffered {
    converted: VecDeque<Py<PyTuple>>,
    rows: VecDeque<Row>,
}

impl Buffered {
    fn len(&self) -> usize {
        self.converted.len() + self.rows.len()
    }

    fn clear(&mut self) {
        self.converted.clear();
        self.rows.clear();
    }
}

/// A cursor (PEP 249 `Cursor`).
#[pyclass(module = "odbcd", name = "Cursor", frozen)]
pub struct PyCursor {
    inner: Mutex<Cursor>,
    /// The thread running a call on the cursor now (0: none): a signal handler that runs
    /// inside that call and uses the cursor gets an error instead of a deadlock.
    busy: AtomicU64,
    /// Only touched with the GIL held, never across a wait.
    buffered: Mutex<Buffered>,
    arraysize: AtomicUsize,
    connection: Py<PyConnection>,
    /// Cancels the running statement without the cursor's lock (which the call holds).
    cancel: CancelHandle,
}

pub(crate) fn records_list<'py>(
    py: Python<'py>,
    records: &[DiagRecord],
) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for r in records {
        out.append((r.sqlstate.as_str(), r.native, r.message.as_str()))?;
    }
    Ok(out)
}

fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_owned)
}

/// This thread's token for [`PyCursor::busy`].
fn thread_token() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static TOKEN: u64 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    TOKEN.with(|t| *t)
}

/// The SQL text of a statement: a lone surrogate is a `DataError`, not a `UnicodeEncodeError`.
fn sql_text<'a>(operation: &'a Bound<'_, PyString>) -> PyResult<&'a str> {
    operation.to_str().map_err(|_| {
        error(
            operation.py(),
            ErrorClass::DataError,
            "22021",
            "the statement holds a lone surrogate, which is not Unicode text".into(),
        )
    })
}

impl PyCursor {
    pub(crate) fn new(cursor: Cursor, connection: Py<PyConnection>) -> Self {
        Self {
            cancel: cursor.cancel_handle(),
            inner: Mutex::new(cursor),
            busy: AtomicU64::new(0),
            buffered: Mutex::new(Buffered::default()),
            arraysize: AtomicUsize::new(1),
            connection,
        }
    }

    /// Runs `f` on the client's cursor with the GIL released (the lock is only ever taken
    /// without the GIL, so a thread waiting for it never blocks one that needs the GIL).
    ///
    /// # Errors
    /// `ProgrammingError` when this thread is already inside a call on the cursor (a signal
    /// handler that interrupted it).
    fn with<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Cursor) -> R + Send,
    ) -> PyResult<R> {
        let me = thread_token();
        if self.busy.load(Ordering::Acquire) == me {
            return Err(error(
                py,
                ErrorClass::ProgrammingError,
                "HY010",
                "the cursor is busy with the call this code interrupted (a signal handler): use another cursor".into(),
            ));
        }
        watch_signals(py);
        Ok(crate::detach(py, || {
            let mut c = lock(&self.inner);
            self.busy.store(me, Ordering::Release);
            let r = f(&mut c);
            self.busy.store(0, Ordering::Release);
            r
        }))
    }

    /// Like [`Self::with`] for calls that start a new statement: the rows of the previous
    /// result go.
    fn run<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Cursor) -> Result<R, Error> + Send,
    ) -> PyResult<R> {
        lock(&self.buffered).clear();
        let r = self.with(py, f)?;
        check(py, r)
    }

    /// Moves up to `max` rows from the client (waiting only when it has none) into the
    /// buffer; false when the result is exhausted. Rows that arrived stay even when Ctrl-C
    /// interrupted the wait (the `KeyboardInterrupt` is raised after they are kept).
    fn pull(&self, py: Python<'_>, max: usize) -> PyResult<bool> {
        let r = self.with(py, |c| c.fetch_available(max))?;
        let interrupt = take_interrupt();
        match r {
            Ok(rows) => {
                let any = !rows.is_empty();
                lock(&self.buffered).rows.extend(rows);
                match interrupt {
                    Some(i) => Err(i),
                    None => Ok(any),
                }
            }
            Err(e) => Err(interrupt.unwrap_or_else(|| to_pyerr(py, e))),
        }
    }

    /// Up to `want` rows as tuples, fetching `chunk` at a time as needed. A row that cannot be
    /// converted raises its error and is consumed; the rows taken before it are put back.
    fn take(&self, py: Python<'_>, want: usize, chunk: usize) -> PyResult<Vec<Py<PyTuple>>> {
        let mut out: Vec<Py<PyTuple>> = Vec::new();
        loop {
            let rows: Vec<Row> = {
                let mut b = lock(&self.buffered);
                while out.len() < want {
                    match b.converted.pop_front() {
                        Some(t) => out.push(t),
                        None => break,
                    }
                }
                let n = (want - out.len()).min(b.rows.len());
                b.rows.drain(..n).collect()
            };
            // Converted without the buffer's lock: converting runs Python code (Decimal,
            // datetime), and with it possibly a finalizer that uses this cursor.
            for (i, row) in rows.iter().enumerate() {
                match row_tuple(py, row) {
                    Ok(t) => out.push(t.unbind()),
                    Err(e) => {
                        let mut b = lock(&self.buffered);
                        for r in rows.into_iter().skip(i + 1).rev() {
                            b.rows.push_front(r);
                        }
                        for t in out.into_iter().rev() {
                            b.converted.push_front(t);
                        }
                        return Err(e);
                    }
                }
            }
            if out.len() >= want {
                return Ok(out);
            }
            match self.pull(py, (want - out.len()).min(chunk)) {
                Ok(true) => {}
                Ok(false) => return Ok(out),
                Err(e) => {
                    let mut b = lock(&self.buffered);
                    for t in out.into_iter().rev() {
                        b.converted.push_front(t);
                    }
                    return Err(e);
                }
            }
        }
    }

    /// Fails like a fetch without a result set would, when there is none.
    fn require_result(&self, py: Python<'_>) -> PyResult<()> {
        let r = self.with(py, |c| c.fetch_available(0).map(|_| ()))?;
        check(py, r)
    }

    fn catalog(slf: &Bound<'_, Self>, call: CatalogCall) -> PyResult<Py<Self>> {
        slf.get()
            .run(slf.py(), move |c| c.catalog(call).map(|_| ()))?;
        Ok(slf.clone().unbind())
    }
}

#[pymethods]
impl PyCursor {
    /// execute(operation, parameters=None) -> Cursor
    ///
    /// Runs a statement with '?' parameter markers and a sequence of values. Returns the
    /// cursor, so that `cursor.execute(...).fetchall()` reads. When `operation` is the
    /// statement `prepare()` prepared (`cursor.command`), the prepared statement runs.
    #[pyo3(signature = (operation, parameters=None))]
    fn execute(
        slf: &Bound<'_, Self>,
        operation: &Bound<'_, PyString>,
        parameters: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<Self>> {
        let operation = sql_text(operation)?;
        let params = to_values(parameters)?;
        let this = slf.get();
        this.run(slf.py(), move |c| {
            if c.command() == Some(operation) {
                c.execute_prepared(&params).map(|_| ())
            } else {
                c.execute(operation, &params).map(|_| ())
            }
        })?;
        Ok(slf.clone().unbind())
    }

    /// executemany(operation, seq_of_parameters) -> Cursor
    ///
    /// Runs a statement once per parameter sequence, in one round trip per batch. On an
    /// error, the sets before the failing one have run (`cursor.failed_set` is its index).
    fn executemany(
        slf: &Bound<'_, Self>,
        operation: &Bound<'_, PyString>,
        seq_of_parameters: &Bound<'_, PyAny>,
    ) -> PyResult<Py<Self>> {
        let operation = sql_text(operation)?;
        let mut sets = Vec::new();
        for p in seq_of_parameters.try_iter()? {
            sets.push(to_values(Some(&p?))?);
        }
        slf.get().run(slf.py(), move |c| {
            c.executemany(operation, sets).map(|_| ())
        })?;
        Ok(slf.clone().unbind())
    }

    /// The index of the parameter set the last `executemany` failed at (None otherwise).
    #[getter]
    fn failed_set(&self, py: Python<'_>) -> PyResult<Option<usize>> {
        self.with(py, |c| c.failed_set())
    }

    /// prepare(operation)
    ///
    /// Prepares a statement on the server; `cursor.command` is its text, and
    /// `execute(cursor.command, params)` runs it without preparing again.
    fn prepare(&self, py: Python<'_>, operation: &Bound<'_, PyString>) -> PyResult<()> {
        let operation = sql_text(operation)?;
        self.run(py, move |c| c.prepare(operation).map(|_| ()))
    }

    /// The statement `prepare()` prepared last (None before).
    #[getter]
    fn command(&self, py: Python<'_>) -> PyResult<Option<String>> {
        self.with(py, |c| c.command().map(str::to_owned))
    }

    /// fetchone() -> tuple | None
    ///
    /// The next row, or None when the result is exhausted.
    fn fetchone(&self, py: Python<'_>) -> PyResult<Option<Py<PyTuple>>> {
        // Without a result set, the fetch `take` makes raises (one call to the client).
        Ok(self.take(py, 1, FETCH_AHEAD)?.pop())
    }

    /// fetchmany(size=cursor.arraysize) -> list
    ///
    /// Up to `size` rows (fewer at the end of the result).
    #[pyo3(signature = (size=None))]
    fn fetchmany<'py>(
        &self,
        py: Python<'py>,
        size: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let want = match size.filter(|s| !s.is_none()) {
            Some(s) => int_arg::<usize>(s, "fetchmany size")?,
            None => self.arraysize.load(Ordering::Relaxed),
        };
        if want == 0 && lock(&self.buffered).len() == 0 {
            // `take` fetches nothing for no rows: still an error without a result set.
            self.require_result(py)?;
        }
        PyList::new(py, self.take(py, want, want.max(1))?)
    }

    /// fetchall() -> list
    ///
    /// All remaining rows.
    fn fetchall<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.take(py, usize::MAX, usize::MAX)?)
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        self.fetchone(py)?
            .ok_or_else(|| PyStopIteration::new_err(()))
    }

    /// The result's columns: 7-tuples (name, type_code, display_size, internal_size,
    /// precision, scale, null_ok); None without a result set. `type_code` is the ODBC SQL
    /// type number and compares equal to STRING, BINARY, NUMBER, DATETIME or ROWID.
    #[getter]
    fn description<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let columns = self.with(py, |c| c.description().map(<[_]>::to_vec))?;
        let Some(columns) = columns else {
            return Ok(None);
        };
        let items = columns
            .iter()
            .map(|c| column_tuple(py, c))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(Some(PyTuple::new(py, items)?))
    }

    /// Rows the last statement affected; -1 when unknown (e.g. for a SELECT).
    #[getter]
    fn rowcount(&self, py: Python<'_>) -> PyResult<i64> {
        self.with(py, |c| c.rowcount())
    }

    /// The index of the next row in the result set.
    #[getter]
    fn rownumber(&self, py: Python<'_>) -> PyResult<u64> {
        let ahead = lock(&self.buffered).len() as u64;
        Ok(self.with(py, |c| c.rownumber())?.saturating_sub(ahead))
    }

    /// Rows `fetchmany()` returns by default (1).
    #[getter]
    fn get_arraysize(&self) -> usize {
        self.arraysize.load(Ordering::Relaxed)
    }

    #[setter]
    fn set_arraysize(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let size: usize = int_arg(value, "arraysize")?;
        if size == 0 {
            return Err(error(
                value.py(),
                ErrorClass::ProgrammingError,
                "HY024",
                "arraysize: 0 is not a valid value (at least 1)".into(),
            ));
        }
        self.arraysize.store(size, Ordering::Relaxed);
        Ok(())
    }

    /// The connection this cursor belongs to.
    #[getter]
    fn connection(&self, py: Python<'_>) -> Py<PyConnection> {
        self.connection.clone_ref(py)
    }

    /// PEP 249: a hint this implementation does not need (parameters are typed by their
    /// Python values).
    fn setinputsizes(&self, _sizes: &Bound<'_, PyAny>) {}

    /// PEP 249: a hint this implementation does not need (long values are fetched whole).
    #[pyo3(signature = (_size, _column=None))]
    fn setoutputsize(&self, _size: &Bound<'_, PyAny>, _column: Option<&Bound<'_, PyAny>>) {}

    /// callproc(procname, parameters=()) -> list
    ///
    /// Calls a stored procedure with input parameters (`{call name(?, ...)}`); its result
    /// set, if any, is the cursor's. Returns the parameters (procedures with output
    /// parameters: use `execute` with `{? = call ...}` and the result).
    #[pyo3(signature = (procname, parameters=None))]
    fn callproc<'py>(
        &self,
        py: Python<'py>,
        procname: &str,
        parameters: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let params = to_values(parameters)?;
        let out = self.run(py, move |c| c.callproc(procname, &params))?;
        let list = PyList::empty(py);
        for v in &out {
            list.append(to_py(py, v)?)?;
        }
        Ok(list)
    }

    /// nextset() -> True | None
    ///
    /// Moves to the next result set of the statement; None when there is none.
    fn nextset(&self, py: Python<'_>) -> PyResult<Option<bool>> {
        let more = self.run(py, Cursor::nextset)?;
        Ok(more.then_some(true))
    }

    /// scroll(value, mode='relative')
    ///
    /// Moves in a scrollable result (`set_scrollable(True)` before executing): by `value`
    /// rows ('relative') or to row `value` ('absolute', 0 is the first). IndexError outside.
    #[pyo3(signature = (value, mode="relative"))]
    fn scroll(&self, py: Python<'_>, value: &Bound<'_, PyAny>, mode: &str) -> PyResult<()> {
        let value: i64 = int_arg(value, "scroll value").map_err(|_| {
            let e = odbcd::client::Error::with_state(
                ErrorClass::ProgrammingError,
                "HY107",
                format!("scroll value {value} is outside any result set"),
            );
            to_pyerr(py, e)
        })?;
        let mode = match mode {
            "relative" => ScrollMode::Relative,
            "absolute" => ScrollMode::Absolute,
            _ => {
                return Err(error(
                    py,
                    ErrorClass::ProgrammingError,
                    "HY106",
                    format!("scroll mode {mode:?}: 'relative' or 'absolute'"),
                ))
            }
        };
        // Rows fetched ahead are not read yet: relative moves count from the caller's row. A
        // failed scroll moves nothing, so they stay.
        let ahead = i64::try_from(lock(&self.buffered).len()).unwrap_or(i64::MAX);
        let value = match mode {
            ScrollMode::Relative => value.saturating_sub(ahead),
            ScrollMode::Absolute => value,
        };
        let r = self.with(py, move |c| c.scroll(value, mode))?;
        check(py, r)?;
        lock(&self.buffered).clear();
        Ok(())
    }

    /// set_scrollable(on): the next statements get a scrollable (static) cursor.
    fn set_scrollable(&self, py: Python<'_>, on: bool) -> PyResult<()> {
        self.with(py, |c| c.set_scrollable(on))
    }

    /// set_query_timeout(seconds): statements running longer are cancelled (TimeoutError);
    /// 0 for none.
    fn set_query_timeout(&self, py: Python<'_>, seconds: &Bound<'_, PyAny>) -> PyResult<()> {
        let seconds: u32 = int_arg(seconds, "query timeout (seconds)")?;
        self.with(py, |c| c.set_query_timeout(seconds))
    }

    /// set_max_rows(rows): results stop after this many rows; 0 for no limit.
    fn set_max_rows(&self, py: Python<'_>, rows: &Bound<'_, PyAny>) -> PyResult<()> {
        let rows: u64 = int_arg(rows, "max rows")?;
        self.with(py, |c| c.set_max_rows(rows))
    }

    /// The driver's warnings for this cursor's statements: a list of
    /// (sqlstate, native, message) tuples. Cleared by `clear_messages()`.
    #[getter]
    fn messages<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let records = self.with(py, |c| c.messages().to_vec())?;
        records_list(py, &records)
    }

    /// Forgets the collected warnings.
    fn clear_messages(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, Cursor::clear_messages)
    }

    /// Cancels the statement this cursor runs (from another thread): True if one was running.
    fn cancel(&self, py: Python<'_>) -> PyResult<bool> {
        // Not through the cursor's lock: the running call holds it.
        let r = crate::detach(py, || self.cancel.cancel());
        check(py, r)
    }

    /// Closes the cursor and its result on the server.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        lock(&self.buffered).clear();
        self.with(py, Cursor::close)
    }

    /// tables(qualifier=None, owner=None, table=None, type=None) -> Cursor (SQLTables)
    #[pyo3(signature = (qualifier=None, owner=None, table=None, r#type=None))]
    fn tables(
        slf: &Bound<'_, Self>,
        qualifier: Option<&str>,
        owner: Option<&str>,
        table: Option<&str>,
        r#type: Option<&str>,
    ) -> PyResult<Py<Self>> {
        Self::catalog(
            slf,
            CatalogCall::Tables {
                catalog: owned(qualifier),
                schema: owned(owner),
                table: owned(table),
                table_type: owned(r#type),
            },
        )
    }

    /// columns(qualifier=None, owner=None, table=None, column=None) -> Cursor (SQLColumns)
    #[pyo3(signature = (qualifier=None, owner=None, table=None, column=None))]
    fn columns(
        slf: &Bound<'_, Self>,
        qualifier: Option<&str>,
        owner: Option<&str>,
        table: Option<&str>,
        column: Option<&str>,
    ) -> PyResult<Py<Self>> {
        Self::catalog(
            slf,
            CatalogCall::Columns {
                catalog: owned(qualifier),
                schema: owned(owner),
                table: owned(table),
                column: owned(column),
            },
        )
    }

    /// primarykeys(qualifier=None, owner=None, table=None) -> Cursor (SQLPrimaryKeys)
    #[pyo3(signature = (qualifier=None, owner=None, table=None))]
    fn primarykeys(
        slf: &Bound<'_, Self>,
        qualifier: Option<&str>,
        owner: Option<&str>,
        table: Option<&str>,
    ) -> PyResult<Py<Self>> {
        Self::catalog(
            slf,
            CatalogCall::PrimaryKeys {
                catalog: owned(qualifier),
                schema: owned(owner),
                table: owned(table),
            },
        )
    }

    /// foreignkeys(primary_qualifier=None, primary_owner=None, primary_table=None,
    /// foreign_qualifier=None, foreign_owner=None, foreign_table=None) -> Cursor
    /// (SQLForeignKeys)
    #[pyo3(signature = (primary_qualifier=None, primary_owner=None, primary_table=None, foreign_qualifier=None, foreign_owner=None, foreign_table=None))]
    fn foreignkeys(
        slf: &Bound<'_, Self>,
        primary_qualifier: Option<&str>,
        primary_owner: Option<&str>,
        primary_table: Option<&str>,
        foreign_qualifier: Option<&str>,
        foreign_owner: Option<&str>,
        foreign_table: Option<&str>,
    ) -> PyResult<Py<Self>> {
        Self::catalog(
            slf,
            CatalogCall::ForeignKeys {
                pk_catalog: owned(primary_qualifier),
                pk_schema: owned(primary_owner),
                pk_table: owned(primary_table),
                fk_catalog: owned(foreign_qualifier),
                fk_schema: owned(foreign_owner),
                fk_table: owned(foreign_table),
            },
        )
    }

    /// statistics(qualifier=None, owner=None, table=None, unique=False, accuracy=False)
    /// -> Cursor (SQLStatistics)
    #[pyo3(signature = (qualifier=None, owner=None, table=None, unique=false, accuracy=false))]
    fn statistics(
        slf: &Bound<'_, Self>,
        qualifier: Option<&str>,
        owner: Option<&str>,
        table: Option<&str>,
        unique: bool,
        accuracy: bool,
    ) -> PyResult<Py<Self>> {
        Self::catalog(
            slf,
            CatalogCall::Statistics {
                catalog: owned(qualifier),
                schema: owned(owner),
                table: owned(table),
                unique,
                exact: accuracy,
            },
        )
    }

    /// procedures(qualifier=None, owner=None, procedure=None) -> Cursor (SQLProcedures)
    #[pyo3(signature = (qualifier=None, owner=None, procedure=None))]
    fn procedures(
        slf: &Bound<'_, Self>,
        qualifier: Option<&str>,
        owner: Option<&str>,
        procedure: Option<&str>,
    ) -> PyResult<Py<Self>> {
        Self::catalog(
            slf,
            CatalogCall::Procedures {
                catalog: owned(qualifier),
                schema: owned(owner),
                procedure: owned(procedure),
            },
        )
    }

    /// procedurecolumns(qualifier=None, owner=None, procedure=None, column=None) -> Cursor
    /// (SQLProcedureColumns)
    #[pyo3(signature = (qualifier=None, owner=None, procedure=None, column=None))]
    fn procedurecolumns(
        slf: &Bound<'_, Self>,
        qualifier: Option<&str>,
        owner: Option<&str>,
        procedure: Option<&str>,
        column: Option<&str>,
    ) -> PyResult<Py<Self>> {
        Self::catalog(
            slf,
            CatalogCall::ProcedureColumns {
                catalog: owned(qualifier),
                schema: owned(owner),
                procedure: owned(procedure),
                column: owned(column),
            },
        )
    }

    /// specialcolumns(qualifier=None, owner=None, table=None, coltype=1, scope=2,
    /// nullable=1) -> Cursor (SQLSpecialColumns; coltype 1 is SQL_BEST_ROWID, scope 2
    /// SQL_SCOPE_SESSION, nullable 1 SQL_NULLABLE)
    #[pyo3(signature = (qualifier=None, owner=None, table=None, coltype=None, scope=None, nullable=None))]
    fn specialcolumns(
        slf: &Bound<'_, Self>,
        qualifier: Option<&str>,
        owner: Option<&str>,
        table: Option<&str>,
        coltype: Option<&Bound<'_, PyAny>>,
        scope: Option<&Bound<'_, PyAny>>,
        nullable: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<Self>> {
        let arg = |v: Option<&Bound<'_, PyAny>>, what: &str, default: u16| match v {
            Some(v) => int_arg::<u16>(v, what),
            None => Ok(default),
        };
        let coltype = arg(coltype, "coltype", 1)?;
        let scope = arg(scope, "scope", 2)?;
        let nullable = arg(nullable, "nullable", 1)?;
        Self::catalog(
            slf,
            CatalogCall::SpecialColumns {
                identifier_type: coltype,
                catalog: owned(qualifier),
                schema: owned(owner),
                table: owned(table),
                scope,
                nullable,
            },
        )
    }

    /// tableprivileges(qualifier=None, owner=None, table=None) -> Cursor
    /// (SQLTablePrivileges)
    #[pyo3(signature = (qualifier=None, owner=None, table=None))]
    fn tableprivileges(
        slf: &Bound<'_, Self>,
        qualifier: Option<&str>,
        owner: Option<&str>,
        table: Option<&str>,
    ) -> PyResult<Py<Self>> {
        Self::catalog(
            slf,
            CatalogCall::TablePrivileges {
                catalog: owned(qualifier),
                schema: owned(owner),
                table: owned(table),
            },
        )
    }

    /// columnprivileges(qualifier=None, owner=None, table=None, column=None) -> Cursor
    /// (SQLColumnPrivileges)
    #[pyo3(signature = (qualifier=None, owner=None, table=None, column=None))]
    fn columnprivileges(
        slf: &Bound<'_, Self>,
        qualifier: Option<&str>,
        owner: Option<&str>,
        table: Option<&str>,
        column: Option<&str>,
    ) -> PyResult<Py<Self>> {
        Self::catalog(
            slf,
            CatalogCall::ColumnPrivileges {
                catalog: owned(qualifier),
                schema: owned(owner),
                table: owned(table),
                column: owned(column),
            },
        )
    }

    /// gettypeinfo(sqltypecode=0) -> Cursor (SQLGetTypeInfo; 0 is SQL_ALL_TYPES)
    #[pyo3(signature = (sqltypecode=None))]
    fn gettypeinfo(
        slf: &Bound<'_, Self>,
        sqltypecode: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<Self>> {
        let sqltypecode: i16 = match sqltypecode {
            Some(t) => int_arg(t, "sqltypecode")?,
            None => 0,
        };
        slf.get()
            .run(slf.py(), move |c| c.gettypeinfo(sqltypecode).map(|_| ()))?;
        Ok(slf.clone().unbind())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }
}

impl Drop for PyCursor {
    /// Closing tells the server (without waiting for it); done here with the GIL released, so
    /// that a link that just broke never holds every Python thread up.
    fn drop(&mut self) {
        let inner = &self.inner;
        Python::attach(|py| crate::detach(py, || lock(inner).close()));
    }
}
