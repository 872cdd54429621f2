//! The driver's warnings (`SQL_SUCCESS_WITH_INFO` diagnostics) of a request, for the client.
//!
//! `odbc-api` reads the diagnostics of every call that returns `SQL_SUCCESS_WITH_INFO` and
//! emits each record as a `log` warning (`State: 01000, Native error: 0, Message: ...`) before
//! the next ODBC call clears them. [`install`] makes odbcd the `log` logger: while a database
//! thread runs a request inside [`collect`], the records it emits are kept for the answer;
//! outside one (fetches, where a cut value's `01004` is expected and handled), they go to the
//! tracing log at debug level.

use std::cell::RefCell;

use crate::error::DiagRecord;

/// The most warnings kept for one request (a driver may emit one per row).
pub const MAX_WARNINGS: usize = 64;

thread_local! {
    static COLLECTED: RefCell<Option<Vec<DiagRecord>>> = const { RefCell::new(None) };
}

/// Runs `f`, returning what it returns and the warnings the driver gave meanwhile.
pub(crate) fn collect<R>(f: impl FnOnce() -> R) -> (R, Vec<DiagRecord>) {
    let outer = COLLECTED.with(|c| c.borrow_mut().replace(Vec::new()));
    let r = f();
    let warnings = COLLECTED.with(|c| std::mem::replace(&mut *c.borrow_mut(), outer));
    (r, warnings.unwrap_or_default())
}

/// After an ODBC call of ours that odbc-api does not see (`odbc_calls`): when it returned
/// `SQL_SUCCESS_WITH_INFO`, its diagnostics join the request's warnings.
pub(crate) fn note(
    rc: odbc_api::sys::SqlReturn,
    handle: &(impl odbc_api::handles::Diagnostics + ?Sized),
) {
    if rc != odbc_api::sys::SqlReturn::SUCCESS_WITH_INFO {
        return;
    }
    let records = super::diag::records(handle);
    COLLECTED.with(|c| {
        if let Some(list) = c.borrow_mut().as_mut() {
            let room = MAX_WARNINGS.saturating_sub(list.len());
            list.extend(records.into_iter().take(room));
        }
    });
}

/// Reads a record in odbc-api's format back (`State: S, Native error: N, Message: M`).
fn parse(text: &str) -> Option<DiagRecord> {
    let rest = text.strip_prefix("State: ")?;
    let (state, rest) = rest.split_once(", Native error: ")?;
    let (native, message) = rest.split_once(", Message: ")?;
    Some(DiagRecord {
        sqlstate: state.to_owned(),
        native: native.trim().parse().ok()?,
        message: message.trim_end_matches('\0').to_owned(),
    })
}

struct OdbcLog;

impl log::Log for OdbcLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let text = record.args().to_string();
        let kept = COLLECTED.with(|c| match c.borrow_mut().as_mut() {
            Some(list) if record.target().starts_with("odbc_api") => {
                if list.len() < MAX_WARNINGS {
                    if let Some(d) = parse(&text) {
                        list.push(d);
                    }
                }
                true
            }
            _ => false,
        });
        if !kept {
            tracing::debug!(target: "odbc", source = record.target(), "{text}");
        }
    }

    fn flush(&self) {}
}

static LOGGER: OdbcLog = OdbcLog;

/// Makes odbcd the `log` logger (once per process; later calls do nothing).
pub fn install() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_read_back_from_odbc_api_text() {
        let d = parse("State: 01000, Native error: -7, Message: NOTICE: hello, world").unwrap();
        assert_eq!(d.sqlstate, "01000");
        assert_eq!(d.native, -7);
        assert_eq!(d.message, "NOTICE: hello, world");
        assert!(parse("something else").is_none());
    }

    #[test]
    fn warnings_are_collected_on_their_thread_only() {
        install();
        let ((), got) = collect(|| {
            log::warn!(target: "odbc_api::handles::logging", "State: 01004, Native error: 0, Message: cut");
            std::thread::spawn(|| {
                log::warn!(target: "odbc_api::handles::logging", "State: 01000, Native error: 0, Message: elsewhere");
            })
            .join()
            .unwrap();
        });
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].sqlstate, "01004");
        let ((), none) = collect(|| ());
        assert!(none.is_empty());
    }
}
