//! `Connection`: PEP 249's connection over the client's [`Connection`], with mxODBC's
//! additions (`getinfo`, `dbms_name`, `messages`, `autocommit`, isolation and read-only).

use std::sync::Mutex;

use odbcd::client::{Connection, ErrorClass, InfoValue, IsolationLevel, ServerSession};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::cursor::PyCursor;
use crate::errors::{check, error};
use crate::session::lock;

/// A database connection on the server (PEP 249 `Connection`). Transactions are explicit by
/// default (`autocommit` is False after `DriverConnect`/`Connect`/`connect`, as PEP 249 and
/// mxODBC's `clear_auto_commit=1` have it). Used as a context manager, it commits when the
/// block ends normally, rolls back when it raises, and closes.
#[pyclass(module = "odbcd", name = "Connection", frozen, weakref)]
pub struct PyConnection {
    inner: Connection,
    /// The session this connection owns (opened by the module's `connect()`): closed with it.
    session: Option<Mutex<ServerSession>>,
}

impl PyConnection {
    pub(crate) fn new(inner: Connection, session: Option<ServerSession>) -> Self {
        Self {
            inner,
            session: session.map(Mutex::new),
        }
    }
}

fn info_to_py(py: Python<'_>, v: InfoValue) -> PyResult<Bound<'_, PyAny>> {
    Ok(match v {
        InfoValue::Text(s) => s.into_pyobject(py)?.into_any(),
        InfoValue::Integer(n) => n.into_pyobject(py)?.into_any(),
    })
}

#[pymethods]
impl PyConnection {
    /// cursor() -> Cursor
    ///
    /// A new cursor on this connection.
    fn cursor(slf: &Bound<'_, Self>) -> PyResult<PyCursor> {
        let py = slf.py();
        let this = slf.get();
        // Without the GIL: the connection's state may be busy with a re-open.
        let cursor = crate::detach(py, || (!this.inner.closed()).then(|| this.inner.cursor()));
        match cursor {
            Some(c) => Ok(PyCursor::new(c, slf.clone().unbind())),
            None => Err(error(
                py,
                ErrorClass::ProgrammingError,
                "08003",
                "the connection is closed".into(),
            )),
        }
    }

    /// Commits the current transaction.
    fn commit(&self, py: Python<'_>) -> PyResult<()> {
        let r = crate::detach(py, || self.inner.commit());
        check(py, r)
    }

    /// Rolls the current transaction back.
    fn rollback(&self, py: Python<'_>) -> PyResult<()> {
        let r = crate::detach(py, || self.inner.rollback());
        check(py, r)
    }

    /// Closes the connection (what was not committed is rolled back); with a session of its
    /// own (the module's `connect()`), closes that too. Closing it again is a
    /// ProgrammingError, like every other use of a closed connection (PEP 249).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if crate::detach(py, || self.inner.closed()) {
            return Err(error(
                py,
                ErrorClass::ProgrammingError,
                "08003",
                "the connection is already closed".into(),
            ));
        }
        let r = crate::detach(py, || {
            let r = self.inner.close();
            match &self.session {
                Some(s) => r.and(lock(s).close()),
                None => r,
            }
        });
        check(py, r)
    }

    /// At interpreter exit: ends the session this connection owns without waiting for the
    /// server (its connections close with it).
    fn _close_nowait(&self, py: Python<'_>) {
        if let Some(s) = &self.session {
            crate::detach(py, || lock(s).close_nowait());
        }
    }

    /// True once the connection is closed.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        crate::detach(py, || self.inner.closed())
    }

    /// Whether each statement commits by itself. Setting it True commits what is open.
    #[getter]
    fn get_autocommit(&self, py: Python<'_>) -> bool {
        crate::detach(py, || self.inner.autocommit())
    }

    #[setter]
    fn set_autocommit(&self, py: Python<'_>, on: bool) -> PyResult<()> {
        let r = crate::detach(py, || self.inner.set_autocommit(on));
        check(py, r)
    }

    /// getinfo(info_type) -> str | int
    ///
    /// SQLGetInfo: `info_type` is a name ('SQL_DBMS_NAME' or 'dbms_name') or the number.
    fn getinfo<'py>(
        &self,
        py: Python<'py>,
        info_type: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let name = info_type.str()?.to_str()?.to_owned();
        let r = crate::detach(py, || self.inner.getinfo(&name));
        info_to_py(py, check(py, r)?)
    }

    /// The DBMS name the driver reports (e.g. 'PostgreSQL', 'SQLite').
    #[getter]
    fn dbms_name(&self, py: Python<'_>) -> String {
        crate::detach(py, || self.inner.dbms_name())
    }

    /// The DBMS version (SQL_DBMS_VER).
    #[getter]
    fn dbms_version(&self, py: Python<'_>) -> PyResult<String> {
        let r = crate::detach(py, || self.inner.dbms_version());
        check(py, r)
    }

    /// The driver's name (SQL_DRIVER_NAME).
    #[getter]
    fn driver_name(&self, py: Python<'_>) -> PyResult<String> {
        let r = crate::detach(py, || self.inner.driver_name());
        check(py, r)
    }

    /// The driver's version (SQL_DRIVER_VER).
    #[getter]
    fn driver_version(&self, py: Python<'_>) -> PyResult<String> {
        let r = crate::detach(py, || self.inner.driver_version());
        check(py, r)
    }

    /// The ODBC version the driver supports (SQL_DRIVER_ODBC_VER).
    #[getter]
    fn odbc_version(&self, py: Python<'_>) -> PyResult<String> {
        let r = crate::detach(py, || self.inner.odbc_version());
        check(py, r)
    }

    /// set_isolation(level): 'read uncommitted', 'read committed', 'repeatable read' or
    /// 'serializable', for the next transactions.
    fn set_isolation(&self, py: Python<'_>, level: &str) -> PyResult<()> {
        let level = match level.trim().to_ascii_lowercase().replace(['_', '-'], " ").as_str() {
            "read uncommitted" => IsolationLevel::ReadUncommitted,
            "read committed" => IsolationLevel::ReadCommitted,
            "repeatable read" => IsolationLevel::RepeatableRead,
            "serializable" => IsolationLevel::Serializable,
            _ => {
                return Err(error(
                    py,
                    ErrorClass::ProgrammingError,
                    "HY024",
                    format!("{level:?} is not an isolation level (read uncommitted, read committed, repeatable read, serializable)"),
                ))
            }
        };
        let r = crate::detach(py, || self.inner.set_isolation(level));
        check(py, r)
    }

    /// set_read_only(on): marks the next transactions read-only (NotSupportedError when the
    /// driver ignores it).
    fn set_read_only(&self, py: Python<'_>, on: bool) -> PyResult<()> {
        let r = crate::detach(py, || self.inner.set_read_only(on));
        check(py, r)
    }

    /// The driver's warnings for this connection's own calls: a list of
    /// (sqlstate, native, message) tuples. Cleared by `clear_messages()`.
    #[getter]
    fn messages<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let records = crate::detach(py, || self.inner.messages());
        crate::cursor::records_list(py, &records)
    }

    /// Forgets the collected warnings.
    fn clear_messages(&self, py: Python<'_>) {
        crate::detach(py, || self.inner.clear_messages());
    }

    /// The module's exception classes as attributes (PEP 249's optional extension:
    /// `connection.ProgrammingError`).
    fn __getattr__<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        crate::module_attribute(py, name)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (exc_type, _exc_value, _traceback))]
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: &Bound<'_, PyAny>,
        _exc_value: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let ended = if self.closed(py) {
            Ok(())
        } else if exc_type.is_none() {
            self.commit(py)
        } else {
            self.rollback(py)
        };
        // The block may have closed it itself.
        let closed = if self.closed(py) {
            Ok(())
        } else {
            self.close(py)
        };
        ended.and(closed)?;
        Ok(false)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let (closed, dbms) = crate::detach(py, || (self.inner.closed(), self.inner.dbms_name()));
        if closed {
            "<odbcd.Connection closed>".into()
        } else {
            format!("<odbcd.Connection to {dbms}>")
        }
    }
}
