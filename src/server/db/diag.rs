//! ODBC errors to [`DbError`]s that keep the SQLSTATE, native code and message end to end.

use odbc_api::handles::{Diagnostics, Record};

use crate::error::{DbError, DiagRecord, ErrorClass};

/// Converts an `odbc-api` error. Diagnostics keep their SQLSTATE; everything else becomes an
/// `InterfaceError` (the interface, not the database, failed).
pub(crate) fn from_odbc(e: &odbc_api::Error) -> DbError {
    match e {
        odbc_api::Error::Diagnostics { record, .. }
        | odbc_api::Error::UnsupportedOdbcApiVersion(record)
        | odbc_api::Error::InvalidRowArraySize { record, .. }
        | odbc_api::Error::UnableToRepresentNull(record)
        | odbc_api::Error::OracleOdbcDriverDoesNotSupport64Bit(record) => {
            DbError::from_records(vec![record_of(record)], e.to_string())
        }
        // 22001 (string data, right truncation) is the error; 01004 is only ODBC's warning.
        odbc_api::Error::TooLargeValueForBuffer { indicator, buffer_index } => DbError::with_state(
            ErrorClass::DataError,
            "22001",
            format!(
                "the value in column {} is {} long, longer than the size its driver declared for the column; refusing to truncate it",
                buffer_index + 1,
                indicator.map_or_else(|| "of unknown length".to_owned(), |n| format!("{n} bytes"))
            ),
        ),
        other => DbError::new(ErrorClass::InterfaceError, other.to_string()),
    }
}

fn record_of(r: &Record) -> DiagRecord {
    DiagRecord {
        sqlstate: r.state.as_str().to_owned(),
        native: r.native_error,
        message: String::from_utf8_lossy(&r.message)
            .trim_end_matches('\0')
            .to_owned(),
    }
}

/// Every diagnostic record on `handle` (the driver may leave several for one failure).
pub(crate) fn records(handle: &(impl Diagnostics + ?Sized)) -> Vec<DiagRecord> {
    let mut out = Vec::new();
    let mut rec = Record::with_capacity(256);
    let mut n = 1;
    while n < 64 && rec.fill_from(handle, n) {
        out.push(DiagRecord {
            sqlstate: rec.state.as_str().to_owned(),
            native: rec.native_error,
            message: String::from_utf8_lossy(&rec.message).into_owned(),
        });
        n += 1;
    }
    out
}

/// Converts an error, replacing its single record with every record found on `handle`.
pub(crate) fn from_odbc_with_handle(
    e: &odbc_api::Error,
    handle: &(impl Diagnostics + ?Sized),
) -> DbError {
    let mut err = from_odbc(e);
    let all = records(handle);
    if all.len() > 1 {
        err.records = all;
    }
    err
}
