//! Errors as Python exceptions: the client's `Error` (class, SQLSTATE, native code, records)
//! becomes an instance of the matching class of `odbcd._errors` (manual 5.5), and Ctrl-C during
//! a statement becomes the `KeyboardInterrupt` Python raised, after the statement was cancelled.

use std::cell::{Cell, RefCell};

use odbcd::client::{Error, ErrorClass};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyTuple};

static ERRORS_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The Python module holding the exception classes.
fn errors_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    ERRORS_MODULE
        .get_or_try_init(py, || py.import("odbcd._errors").map(Bound::unbind))
        .map(|m| m.bind(py))
}

/// The exception class for `class`.
pub(crate) fn class(py: Python<'_>, class: ErrorClass) -> PyResult<Bound<'_, PyAny>> {
    errors_module(py)?.getattr(class.name())
}

/// The Python exception for a client error.
pub(crate) fn to_pyerr(py: Python<'_>, e: Error) -> PyErr {
    build(py, e).unwrap_or_else(|failed| failed)
}

fn build(py: Python<'_>, e: Error) -> PyResult<PyErr> {
    let records = PyList::empty(py);
    for r in &e.records {
        records.append(PyTuple::new(
            py,
            [
                r.sqlstate.as_str().into_pyobject(py)?.into_any(),
                r.native.into_pyobject(py)?.into_any(),
                r.message.as_str().into_pyobject(py)?.into_any(),
            ],
        )?)?;
    }
    // PEP 249: a scroll outside the result is an IndexError (and still a ProgrammingError).
    let cls = if e.sqlstate == "HY107" && e.class == ErrorClass::ProgrammingError {
        errors_module(py)?.getattr("ScrollRangeError")?
    } else {
        class(py, e.class)?
    };
    let exc = cls.call1((e.message, e.sqlstate, e.native, records))?;
    Ok(PyErr::from_value(exc))
}

/// An error of `class` raised by the Python client itself.
pub(crate) fn error(py: Python<'_>, c: ErrorClass, sqlstate: &str, message: String) -> PyErr {
    to_pyerr(py, Error::with_state(c, sqlstate, message))
}

thread_local! {
    /// The exception a signal handler raised while this thread waited for a statement.
    static PENDING: RefCell<Option<PyErr>> = const { RefCell::new(None) };
    static CHECK_INSTALLED: Cell<bool> = const { Cell::new(false) };
}

/// Installs, once per thread, the check that runs Python's signal handlers while a statement is
/// awaited (every 100 ms): when one raises (Ctrl-C's `KeyboardInterrupt`), the client cancels
/// the statement on the server, and [`take_interrupt`] hands the exception back. Only on the
/// main thread: Python runs signal handlers nowhere else.
pub(crate) fn watch_signals(py: Python<'_>) {
    if CHECK_INSTALLED.with(|c| c.replace(true)) {
        return;
    }
    let main = py
        .import("threading")
        .and_then(|t| {
            let current = t.call_method0("current_thread")?;
            let main = t.call_method0("main_thread")?;
            Ok(current.is(&main))
        })
        .unwrap_or(false);
    if !main {
        return;
    }
    odbcd::client::interrupt::set_interrupt_check(Some(Box::new(|| {
        // At interpreter exit there is no Python to ask (and no Ctrl-C to honour).
        Python::try_attach(|py| match py.check_signals() {
            Ok(()) => false,
            Err(e) => {
                PENDING.with(|p| *p.borrow_mut() = Some(e));
                true
            }
        })
        .unwrap_or(false)
    })));
}

/// The exception a signal handler raised during the last wait, if any.
pub(crate) fn take_interrupt() -> Option<PyErr> {
    PENDING.with(|p| p.borrow_mut().take())
}

/// Turns the client's result into Python's: a pending interruption wins over the result (the
/// statement was cancelled, or finished just before the cancel reached it).
pub(crate) fn check<T>(py: Python<'_>, r: Result<T, Error>) -> PyResult<T> {
    if let Some(interrupt) = take_interrupt() {
        return Err(interrupt);
    }
    r.map_err(|e| to_pyerr(py, e))
}
