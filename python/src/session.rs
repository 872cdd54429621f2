//! `ServerSession` (manual 5.4) and the server's ODBC interface it opens (the manual's module
//! proxy: `DriverConnect`, `Connect`, `DataSources`).

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

use odbcd::client::{ConfigData, ErrorClass, Odbc, ServerSession};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyString};

use crate::connection::PyConnection;
use crate::errors::{check, error};

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The manual's `config_data`: a dict of sections, each a dict of options. Values may be
/// strings, integers, floats or booleans (True is 1).
pub(crate) fn config_data(data: &Bound<'_, PyAny>) -> PyResult<ConfigData> {
    let py = data.py();
    let bad = |what: String| error(py, ErrorClass::ConfigurationError, "HY000", what);
    let sections = data.cast::<PyDict>().map_err(|_| {
        bad("config_data must be a dict of sections, each a dict of options".into())
    })?;
    let mut out = ConfigData::new();
    for (section, options) in sections.iter() {
        let section: String = section.extract().map_err(|_| {
            bad(format!(
                "config_data: section name {} is not a string",
                section.repr().map(|r| r.to_string()).unwrap_or_default()
            ))
        })?;
        let options = options.cast::<PyDict>().map_err(|_| {
            bad(format!(
                "config_data[{section:?}] must be a dict of options"
            ))
        })?;
        out = out.section(&section);
        for (option, value) in options.iter() {
            let option: String = option.extract().map_err(|_| {
                bad(format!(
                    "config_data[{section:?}]: an option name is not a string"
                ))
            })?;
            let value = if let Ok(b) = value.cast::<PyBool>() {
                if b.is_true() { "1" } else { "0" }.to_owned()
            } else if let Ok(s) = value.cast::<PyString>() {
                s.to_str()?.to_owned()
            } else if value.is_instance_of::<pyo3::types::PyInt>()
                || value.is_instance_of::<pyo3::types::PyFloat>()
            {
                value.str()?.to_str()?.to_owned()
            } else {
                return Err(bad(format!(
                    "config_data[{section:?}][{option:?}]: {} is not a string or a number",
                    value.repr()?
                )));
            };
            out = out.set(&section, &option, value);
        }
    }
    Ok(out)
}

/// Turns autocommit off when asked (PEP 249's default).
pub(crate) fn transactional(
    c: odbcd::client::Connection,
    clear_auto_commit: bool,
) -> Result<odbcd::client::Connection, odbcd::client::Error> {
    if clear_auto_commit {
        c.set_autocommit(false)?;
    }
    Ok(c)
}

/// A session with an odbcd server (mxODBC Connect's `ServerSession`).
///
/// `ServerSession(config_file=None, config_data=None)` reads the client configuration (file
/// and/or a dict of sections overriding it); `open()` connects to the first server of
/// `[Communication] server_connections` that accepts and returns the server's ODBC interface.
/// The session closes with `close()`, when it is garbage collected, and at interpreter exit.
#[pyclass(module = "odbcd", name = "ServerSession", subclass, weakref)]
pub struct PySession {
    inner: Mutex<ServerSession>,
}

impl PySession {
    pub(crate) fn create(
        py: Python<'_>,
        config_file: Option<PathBuf>,
        config_data: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<ServerSession> {
        let data = config_data
            .filter(|d| !d.is_none())
            .map(self::config_data)
            .transpose()?;
        check(
            py,
            ServerSession::new(config_file.as_deref(), data.as_ref()),
        )
    }

    pub(crate) fn open_session(
        py: Python<'_>,
        session: &Mutex<ServerSession>,
        username: &str,
        password: &str,
        module_name: Option<&str>,
        session_id: Option<&str>,
    ) -> PyResult<Odbc> {
        let r = crate::detach(py, || {
            lock(session).open(username, password, module_name, session_id)
        });
        check(py, r)
    }
}

#[pymethods]
impl PySession {
    #[new]
    #[pyo3(signature = (config_file=None, config_data=None))]
    fn new(
        py: Python<'_>,
        config_file: Option<PathBuf>,
        config_data: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Ok(Self {
            inner: Mutex::new(Self::create(py, config_file, config_data)?),
        })
    }

    /// open(username='', password='', module_name=None, session_id=None) -> ServerODBC
    ///
    /// Connects to the first configured server that accepts the session (fail-over walks
    /// `server_connections` in order) and returns the server's ODBC interface. `session_id`
    /// resumes an earlier session whose link broke.
    #[pyo3(signature = (username="", password="", module_name=None, session_id=None))]
    fn open(
        &self,
        py: Python<'_>,
        username: &str,
        password: &str,
        module_name: Option<&str>,
        session_id: Option<&str>,
    ) -> PyResult<PyOdbc> {
        let odbc =
            Self::open_session(py, &self.inner, username, password, module_name, session_id)?;
        Ok(PyOdbc { inner: odbc })
    }

    /// Closes the session: the server closes its database connections, rolling back what was
    /// not committed. Closing a closed session does nothing.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let r = crate::detach(py, || lock(&self.inner).close());
        check(py, r)
    }

    /// Closes the session without waiting for the server's answer (what happens at exit).
    fn close_nowait(&self, py: Python<'_>) {
        crate::detach(py, || lock(&self.inner).close_nowait());
    }

    /// True unless the session is open and its link works.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        crate::detach(py, || lock(&self.inner).closed())
    }

    /// The server's version ('' before `open`).
    #[getter]
    fn server_version(&self, py: Python<'_>) -> String {
        crate::detach(py, || lock(&self.inner).server_version())
    }

    /// The session id (to resume it), None before `open`.
    #[getter]
    fn session_id(&self, py: Python<'_>) -> Option<String> {
        crate::detach(py, || lock(&self.inner).session_id())
    }

    /// The connection section of the server in use (None before `open`).
    #[getter]
    fn server_name(&self, py: Python<'_>) -> Option<String> {
        crate::detach(py, || lock(&self.inner).server_name())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let (closed, server) = crate::detach(py, || {
            let s = lock(&self.inner);
            (s.closed(), s.server_name())
        });
        match (closed, server) {
            (false, Some(server)) => format!("<odbcd.ServerSession open on [{server}]>"),
            _ => "<odbcd.ServerSession closed>".into(),
        }
    }
}

/// The server's ODBC interface, as `ServerSession.open()` returns it (the manual's module
/// proxy): `DriverConnect`, `Connect`, `DataSources`, `Drivers`, and the module's exception
/// classes and type constructors as attributes.
#[pyclass(module = "odbcd", name = "ServerODBC", frozen)]
pub struct PyOdbc {
    pub(crate) inner: Odbc,
}

#[pymethods]
impl PyOdbc {
    /// DriverConnect(connection_string, clear_auto_commit=True) -> Connection
    ///
    /// Opens a database connection with an ODBC connection string (SQLDriverConnect on the
    /// server). With `clear_auto_commit` (the default, as PEP 249 wants), statements run in
    /// transactions that `commit()` ends.
    #[pyo3(name = "DriverConnect", signature = (connection_string, clear_auto_commit=true))]
    fn driver_connect(
        &self,
        py: Python<'_>,
        connection_string: &str,
        clear_auto_commit: bool,
    ) -> PyResult<PyConnection> {
        let r = crate::detach(py, || {
            let c = self.inner.driver_connect(connection_string)?;
            transactional(c, clear_auto_commit)
        });
        Ok(PyConnection::new(check(py, r)?, None))
    }

    /// Connect(dsn, user='', password='', clear_auto_commit=True) -> Connection
    ///
    /// Opens a database connection with a data source name, user and password (SQLConnect).
    #[pyo3(name = "Connect", signature = (dsn, user="", password="", clear_auto_commit=true))]
    fn connect(
        &self,
        py: Python<'_>,
        dsn: &str,
        user: &str,
        password: &str,
        clear_auto_commit: bool,
    ) -> PyResult<PyConnection> {
        let r = crate::detach(py, || {
            let c = self.inner.connect(dsn, user, password)?;
            transactional(c, clear_auto_commit)
        });
        Ok(PyConnection::new(check(py, r)?, None))
    }

    /// DataSources() -> dict
    ///
    /// The server's data sources: {name: driver description}.
    #[pyo3(name = "DataSources")]
    fn data_sources<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let r = crate::detach(py, || self.inner.data_sources());
        let out = PyDict::new(py);
        for d in check(py, r)? {
            out.set_item(d.name, d.driver)?;
        }
        Ok(out)
    }

    /// Drivers() -> dict
    ///
    /// The server's ODBC drivers: {name: {attribute: value}}.
    #[pyo3(name = "Drivers")]
    fn drivers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let r = crate::detach(py, || self.inner.drivers());
        let out = PyDict::new(py);
        for d in check(py, r)? {
            let attrs = PyDict::new(py);
            for (k, v) in d.attributes {
                attrs.set_item(k, v)?;
            }
            out.set_item(d.name, attrs)?;
        }
        Ok(out)
    }

    /// A round trip to the server.
    fn ping(&self, py: Python<'_>) -> PyResult<()> {
        let r = crate::detach(py, || self.inner.ping());
        check(py, r)
    }

    /// The module's API (exception classes, type objects and constructors) on the proxy, as
    /// mxODBC's module proxy has it: `server.ProgrammingError`, `server.Date(...)`.
    fn __getattr__<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        crate::module_attribute(py, name)
    }
}
