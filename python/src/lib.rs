//! The extension module `odbcd._odbcd`: the Python client of odbcd, over the Rust client
//! library (fail-over, session resume, TLS, compression and the login all come from it). The
//! Python package `odbcd` (python/odbcd) adds the exception classes, PEP 249's type objects and
//! constructors, and re-exports these classes.

mod connection;
mod cursor;
mod errors;
mod session;
mod values;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use odbcd::client::OpenOptions;
use pyo3::prelude::*;

use connection::PyConnection;
use errors::check;
use session::{PyOdbc, PySession};

static EXITING: AtomicBool = AtomicBool::new(false);

thread_local! {
    static RUNS_EXIT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with the GIL released. Once the interpreter exits (see [`_exiting`]), a thread
/// coming back from `f` (woken because its session was closed at exit) does not take the GIL
/// again: the finalizing interpreter would end it with `pthread_exit`, which cannot unwind
/// through Rust frames and aborts the process. It waits for the process to end instead.
pub(crate) fn detach<T: Send, F: Send + FnOnce() -> T>(py: Python<'_>, f: F) -> T {
    py.detach(|| {
        let r = f();
        if EXITING.load(Ordering::Acquire) && !RUNS_EXIT.with(std::cell::Cell::get) {
            loop {
                std::thread::park();
            }
        }
        r
    })
}

/// Called first by the package's exit handler: from now on only this thread returns to Python
/// from a call into the client (see [`detach`]).
#[pyfunction]
fn _exiting() {
    RUNS_EXIT.with(|r| r.set(true));
    EXITING.store(true, Ordering::Release);
}

/// `name` of the `odbcd` module (one of its `__all__`), for objects that show the module's
/// API as attributes (the server proxy, connections: `connection.ProgrammingError`).
pub(crate) fn module_attribute<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    let module = py.import("odbcd")?;
    let exported = module
        .getattr("__all__")?
        .try_iter()?
        .any(|n| n.is_ok_and(|n| n.extract::<String>().is_ok_and(|n| n == name)));
    if !exported {
        return Err(pyo3::exceptions::PyAttributeError::new_err(name.to_owned()));
    }
    module.getattr(name)
}

/// connect(connection_string, *, host=None, port=None, user=None, password=None,
/// config_file=None, config_data=None, clear_auto_commit=True) -> Connection
///
/// Opens a session (on `host`:`port` when given, else on the configured servers) and a
/// database connection with `connection_string`; closing the connection closes the session.
#[pyfunction]
#[pyo3(signature = (connection_string, *, host=None, port=None, user=None, password=None, config_file=None, config_data=None, clear_auto_commit=true))]
#[allow(clippy::too_many_arguments)]
fn connect(
    py: Python<'_>,
    connection_string: &str,
    host: Option<&str>,
    port: Option<&Bound<'_, PyAny>>,
    user: Option<&str>,
    password: Option<&str>,
    config_file: Option<PathBuf>,
    config_data: Option<&Bound<'_, PyAny>>,
    clear_auto_commit: bool,
) -> PyResult<PyConnection> {
    let mut data = match config_data.filter(|d| !d.is_none()) {
        Some(d) => session::config_data(d)?,
        None => odbcd::client::ConfigData::new(),
    };
    let port = port
        .filter(|p| !p.is_none())
        .map(|p| values::int_arg::<u16>(p, "port"))
        .transpose()?;
    if host.is_some() || port.is_some() {
        data = data.only_server("Connection", host, port);
    }
    let mut session = check(
        py,
        odbcd::client::ServerSession::new(config_file.as_deref(), Some(&data)),
    )?;
    let options = OpenOptions::new()
        .user(user.unwrap_or(""))
        .password(password.unwrap_or(""));
    let r = crate::detach(py, || {
        let odbc = session.open_with(&options)?;
        let c = odbc.driver_connect(connection_string)?;
        session::transactional(c, clear_auto_commit)
    });
    let c = check(py, r)?;
    Ok(PyConnection::new(c, Some(session)))
}

#[pymodule]
fn _odbcd(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<PySession>()?;
    m.add_class::<PyOdbc>()?;
    m.add_class::<PyConnection>()?;
    m.add_class::<cursor::PyCursor>()?;
    m.add_function(wrap_pyfunction!(connect, m)?)?;
    m.add_function(wrap_pyfunction!(_exiting, m)?)?;
    Ok(())
}
