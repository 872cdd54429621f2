//! `Cursor`: PEP 249's cursor over the client's [`Cursor`], with mxODBC's additions (catalog
//! methods, `prepare`/`command`, `scroll`, `rownumber`, `messages`, `nextset`, `callproc`).
//!
//! Every call that may wait for the server runs with the GIL released and watches Python's
//! signals (Ctrl-C cancels the statement on the server). Rows come from the server in batches;
//! the cursor converts what has arrived into tuples and hands them out from a small buffer of
//! its own, so iterating costs no GIL round trip per row.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use odbcd::client::{CancelHandle, CatalogCall, Cursor, DiagRecord, Error, ErrorClass, ScrollMode};
use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::connection::PyConnection;
use crate::errors::{check, error, watch_signals};
use crate::session::lock;
use crate::values::{column_tuple, row_tuple, to_py, to_values};

/// Rows converted at once when `fetchone` or iteration finds the buffer empty.
const CONVERT_AHEAD: usize = 256;

/// A cursor (PEP 249 `Cursor`).
#[pyclass(module = "odbcd", name = "Cursor", frozen)]
pub struct PyCursor {
    inner: Mutex<Cursor>,
    /// Rows converted and not yet handed out (only touched with the GIL held).
    ready: Mutex<VecDeque<Py<PyTuple>>>,
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

impl PyCursor {
    pub(crate) fn new(cursor: Cursor, connection: Py<PyConnection>) -> Self {
        Self {
            cancel: cursor.cancel_handle(),
            inner: Mutex::new(cursor),
            ready: Mutex::new(VecDeque::new()),
            arraysize: AtomicUsize::new(1),
            connection,
        }
    }

    /// Runs `f` on the client's cursor with the GIL released (the lock is only ever taken
    /// without the GIL, so a thread waiting for it never blocks one that needs the GIL).
    fn with<R: Send>(&self, py: Python<'_>, f: impl FnOnce(&mut Cursor) -> R + Send) -> R {
        watch_signals();
        py.detach(|| f(&mut lock(&self.inner)))
    }

    /// Like [`Self::with`] for calls that start a new statement: the converted rows of the
    /// previous result go.
    fn run<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Cursor) -> Result<R, Error> + Send,
    ) -> PyResult<R> {
        lock(&self.ready).clear();
        let r = self.with(py, f);
        check(py, r)
    }

    fn buffered(&self) -> usize {
        lock(&self.ready).len()
    }

    /// Converts up to `max` rows that have arrived (waiting only when none has) into the
    /// buffer; false when the result is exhausted.
    fn convert_more(&self, py: Python<'_>, max: usize) -> PyResult<bool> {
        let r = self.with(py, |c| c.fetch_available(max));
        let rows = check(py, r)?;
        if rows.is_empty() {
            return Ok(false);
        }
        // Converted before taking the buffer's lock: converting runs Python code (Decimal,
        // datetime), and with it possibly a finalizer that uses this cursor.
        let converted = rows
            .into_iter()
            .map(|row| row_tuple(py, row).map(Bound::unbind))
            .collect::<PyResult<Vec<_>>>()?;
        lock(&self.ready).extend(converted);
        Ok(true)
    }

    fn next_row(&self, py: Python<'_>) -> PyResult<Option<Py<PyTuple>>> {
        if let Some(row) = lock(&self.ready).pop_front() {
            return Ok(Some(row));
        }
        if !self.convert_more(py, CONVERT_AHEAD)? {
            return Ok(None);
        }
        Ok(lock(&self.ready).pop_front())
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
        operation: &str,
        parameters: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<Self>> {
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
        operation: &str,
        seq_of_parameters: &Bound<'_, PyAny>,
    ) -> PyResult<Py<Self>> {
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
    fn failed_set(&self, py: Python<'_>) -> Option<usize> {
        self.with(py, |c| c.failed_set())
    }

    /// prepare(operation)
    ///
    /// Prepares a statement on the server; `cursor.command` is its text, and
    /// `execute(cursor.command, params)` runs it without preparing again.
    fn prepare(&self, py: Python<'_>, operation: &str) -> PyResult<()> {
        self.run(py, move |c| c.prepare(operation).map(|_| ()))
    }

    /// The statement `prepare()` prepared last (None before).
    #[getter]
    fn command(&self, py: Python<'_>) -> Option<String> {
        self.with(py, |c| c.command().map(str::to_owned))
    }

    /// fetchone() -> tuple | None
    ///
    /// The next row, or None when the result is exhausted.
    fn fetchone(&self, py: Python<'_>) -> PyResult<Option<Py<PyTuple>>> {
        self.next_row(py)
    }

    /// fetchmany(size=cursor.arraysize) -> list
    ///
    /// Up to `size` rows (fewer at the end of the result).
    #[pyo3(signature = (size=None))]
    fn fetchmany<'py>(&self, py: Python<'py>, size: Option<usize>) -> PyResult<Bound<'py, PyList>> {
        let want = size.unwrap_or_else(|| self.arraysize.load(Ordering::Relaxed));
        let taken: Vec<Py<PyTuple>> = {
            let mut ready = lock(&self.ready);
            let n = want.min(ready.len());
            ready.drain(..n).collect()
        };
        let out = PyList::new(py, taken)?;
        let need = want.saturating_sub(out.len());
        if need > 0 {
            let r = self.with(py, |c| {
                let mut rows = Vec::new();
                while rows.len() < need {
                    let more = c.fetch_available(need - rows.len())?;
                    if more.is_empty() {
                        break;
                    }
                    rows.extend(more);
                }
                Ok::<_, Error>(rows)
            });
            for row in check(py, r)? {
                out.append(row_tuple(py, row)?)?;
            }
        } else if want == 0 {
            // Still an error without a result set.
            let r = self.with(py, |c| c.fetch_available(0));
            check(py, r)?;
        }
        Ok(out)
    }

    /// fetchall() -> list
    ///
    /// All remaining rows.
    fn fetchall<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let taken: Vec<Py<PyTuple>> = lock(&self.ready).drain(..).collect();
        let out = PyList::new(py, taken)?;
        loop {
            let r = self.with(py, |c| c.fetch_available(usize::MAX));
            let rows = check(py, r)?;
            if rows.is_empty() {
                return Ok(out);
            }
            for row in rows {
                out.append(row_tuple(py, row)?)?;
            }
        }
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        self.next_row(py)?
            .ok_or_else(|| PyStopIteration::new_err(()))
    }

    /// The result's columns: 7-tuples (name, type_code, display_size, internal_size,
    /// precision, scale, null_ok); None without a result set. `type_code` is the ODBC SQL
    /// type number and compares equal to STRING, BINARY, NUMBER, DATETIME or ROWID.
    #[getter]
    fn description<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let columns = self.with(py, |c| c.description().map(<[_]>::to_vec));
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
    fn rowcount(&self, py: Python<'_>) -> i64 {
        self.with(py, |c| c.rowcount())
    }

    /// The index of the next row in the result set.
    #[getter]
    fn rownumber(&self, py: Python<'_>) -> u64 {
        let ahead = self.buffered() as u64;
        self.with(py, |c| c.rownumber()).saturating_sub(ahead)
    }

    /// Rows `fetchmany()` returns by default (1).
    #[getter]
    fn get_arraysize(&self) -> usize {
        self.arraysize.load(Ordering::Relaxed)
    }

    #[setter]
    fn set_arraysize(&self, size: usize) {
        self.arraysize.store(size.max(1), Ordering::Relaxed);
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
        for v in out {
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
    fn scroll(&self, py: Python<'_>, value: i64, mode: &str) -> PyResult<()> {
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
        // Rows converted ahead are not read yet: relative moves count from the caller's row.
        let ahead = i64::try_from(lock(&self.ready).len()).unwrap_or(i64::MAX);
        let value = match mode {
            ScrollMode::Relative => value.saturating_sub(ahead),
            ScrollMode::Absolute => value,
        };
        self.run(py, move |c| c.scroll(value, mode))
    }

    /// set_scrollable(on): the next statements get a scrollable (static) cursor.
    fn set_scrollable(&self, py: Python<'_>, on: bool) {
        self.with(py, |c| c.set_scrollable(on));
    }

    /// set_query_timeout(seconds): statements running longer are cancelled (TimeoutError);
    /// 0 for none.
    fn set_query_timeout(&self, py: Python<'_>, seconds: u32) {
        self.with(py, |c| c.set_query_timeout(seconds));
    }

    /// set_max_rows(rows): results stop after this many rows; 0 for no limit.
    fn set_max_rows(&self, py: Python<'_>, rows: u64) {
        self.with(py, |c| c.set_max_rows(rows));
    }

    /// The driver's warnings for this cursor's statements: a list of
    /// (sqlstate, native, message) tuples. Cleared by `clear_messages()`.
    #[getter]
    fn messages<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let records = self.with(py, |c| c.messages().to_vec());
        records_list(py, &records)
    }

    /// Forgets the collected warnings.
    fn clear_messages(&self, py: Python<'_>) {
        self.with(py, Cursor::clear_messages);
    }

    /// Cancels the statement this cursor runs (from another thread): True if one was running.
    fn cancel(&self, py: Python<'_>) -> PyResult<bool> {
        // Not through the cursor's lock: the running call holds it.
        let r = py.detach(|| self.cancel.cancel());
        check(py, r)
    }

    /// Closes the cursor and its result on the server.
    fn close(&self, py: Python<'_>) {
        lock(&self.ready).clear();
        self.with(py, Cursor::close);
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
    #[pyo3(signature = (qualifier=None, owner=None, table=None, coltype=1, scope=2, nullable=1))]
    fn specialcolumns(
        slf: &Bound<'_, Self>,
        qualifier: Option<&str>,
        owner: Option<&str>,
        table: Option<&str>,
        coltype: u16,
        scope: u16,
        nullable: u16,
    ) -> PyResult<Py<Self>> {
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
    #[pyo3(signature = (sqltypecode=0))]
    fn gettypeinfo(slf: &Bound<'_, Self>, sqltypecode: i16) -> PyResult<Py<Self>> {
        slf.get()
            .run(slf.py(), move |c| c.gettypeinfo(sqltypecode).map(|_| ()))?;
        Ok(slf.clone().unbind())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> bool {
        self.close(py);
        false
    }
}
