//! The error classes of manual section 5.5, shared by server and client, and the written-down
//! mapping from SQLSTATE to class.
//!
//! The hierarchy (a class "is a" its ancestors, like Python's exception classes):
//!
//! ```text
//! Warning
//! Error
//! ├── InterfaceError
//! │   └── ODBCConnectError
//! │       ├── ConfigurationError
//! │       ├── ConnectionFailureError
//! │       ├── PolicyViolationError
//! │       ├── ProtocolError
//! │       └── TimeoutError
//! └── DatabaseError
//!     ├── DataError
//!     ├── OperationalError
//!     ├── IntegrityError
//!     ├── InternalError
//!     ├── ProgrammingError
//!     └── NotSupportedError
//! ```
//!
//! SQLSTATE to class ([`ErrorClass::from_sqlstate`]), by the two-character class of the state
//! unless a full state is listed:
//!
//! | SQLSTATE | class | why |
//! |---|---|---|
//! | `01xxx` | Warning | success with information |
//! | `07xxx`, `21xxx`, `34xxx`, `3Dxxx`, `3Fxxx`, `42xxx` | ProgrammingError | wrong parameters, names, syntax, access |
//! | `08xxx`, `40xxx` (but `40002`), `HYT00`, `HYT01`, `HY001`, `HY008`, `57014`, `IM002` | OperationalError | connection, transaction rollback, timeouts, memory, cancel (PostgreSQL's `57014` too), unknown data source |
//! | `0Axxx`, `HYC00`, `IM001` | NotSupportedError | feature not supported |
//! | `22xxx` | DataError | data exception |
//! | `23xxx`, `40002`, `44xxx` | IntegrityError | constraint violations |
//! | `24xxx`, `25xxx` | InternalError | invalid cursor or transaction state |
//! | `28xxx` | OperationalError | invalid authorisation |
//! | `HY010`, `HY009`, `HY090`, `07002` | ProgrammingError | function sequence, invalid argument |
//! | other `IMxxx` | InterfaceError | driver manager errors |
//! | anything else (e.g. `HY000`) | DatabaseError | general database error |
//!
//! Some drivers report everything as `HY000`. For SQLite (whose driver puts SQLite's result
//! code in the native code), [`ErrorClass::refine_sqlite`] refines `HY000` by that code:
//! 1 (`SQLITE_ERROR`: syntax, unknown table or column) → ProgrammingError, 19
//! (`SQLITE_CONSTRAINT`) → IntegrityError, 20 (`SQLITE_MISMATCH`) and 25 (`SQLITE_RANGE`) →
//! DataError, 5, 6, 10, 13 (busy, locked, I/O, full) → OperationalError. The SQLSTATE and
//! native code themselves are passed on unchanged.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The class of an error, as the manual's exception classes. Sent on the wire: variants are
/// append-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ErrorClass {
    /// `Warning`: important warnings like data truncation.
    Warning,
    /// `Error`: the base class of all errors.
    Error,
    /// `InterfaceError`: errors of the interface rather than the database.
    InterfaceError,
    /// `DatabaseError`: errors of the database.
    DatabaseError,
    /// `DataError`: problems with the processed data.
    DataError,
    /// `OperationalError`: the database's operation (disconnects, unknown DSN, ...).
    OperationalError,
    /// `IntegrityError`: relational integrity (unique, foreign keys).
    IntegrityError,
    /// `InternalError`: invalid cursor or transaction state.
    InternalError,
    /// `ProgrammingError`: syntax errors, unknown tables, wrong parameter counts, closed objects.
    ProgrammingError,
    /// `NotSupportedError`: unsupported method or feature.
    NotSupportedError,
    /// `ConfigurationError`: errors in client or server configuration.
    ConfigurationError,
    /// `ConnectionFailureError`: the link to the server closed prematurely.
    ConnectionFailureError,
    /// `ODBCConnectError`: base of the session errors (protocol, policy, ...).
    ODBCConnectError,
    /// `PolicyViolationError`: a server-side limit was hit.
    PolicyViolationError,
    /// `ProtocolError`: protocol error, e.g. a version mismatch.
    ProtocolError,
    /// `TimeoutError`: a connection or server timeout.
    TimeoutError,
}

impl ErrorClass {
    /// The direct parent class, `None` for `Warning` and `Error`.
    pub fn parent(self) -> Option<Self> {
        use ErrorClass::*;
        match self {
            Warning | Error => None,
            InterfaceError | DatabaseError => Some(Error),
            DataError | OperationalError | IntegrityError | InternalError | ProgrammingError
            | NotSupportedError => Some(DatabaseError),
            ODBCConnectError => Some(InterfaceError),
            ConfigurationError
            | ConnectionFailureError
            | PolicyViolationError
            | ProtocolError
            | TimeoutError => Some(ODBCConnectError),
        }
    }

    /// True when `self` is `class` or one of its subclasses (`except class:` would catch it).
    pub fn is(self, class: Self) -> bool {
        let mut c = Some(self);
        while let Some(k) = c {
            if k == class {
                return true;
            }
            c = k.parent();
        }
        false
    }

    /// The class for a SQLSTATE, following the table in this module's documentation.
    pub fn from_sqlstate(state: &str) -> Self {
        use ErrorClass::*;
        let state = state.to_ascii_uppercase();
        match state.as_str() {
            "40002" => return IntegrityError,
            // 57014: PostgreSQL's "canceling statement" (a cancel or statement_timeout), as
            // ODBC's HY008.
            "HYT00" | "HYT01" | "HY001" | "HY008" | "IM002" | "57014" => return OperationalError,
            "HYC00" | "IM001" => return NotSupportedError,
            "HY010" | "HY009" | "HY090" | "07002" => return ProgrammingError,
            _ => {}
        }
        match state.get(..2).unwrap_or("") {
            "01" => Warning,
            "07" | "21" | "34" | "3D" | "3F" | "42" => ProgrammingError,
            "08" | "40" | "28" => OperationalError,
            "0A" => NotSupportedError,
            "22" => DataError,
            "23" | "44" => IntegrityError,
            "24" | "25" => InternalError,
            "IM" => InterfaceError,
            _ => DatabaseError,
        }
    }

    /// The class for an SQLite driver error (`HY000` plus SQLite's result code as native code);
    /// any other SQLSTATE keeps [`Self::from_sqlstate`]'s class.
    pub fn refine_sqlite(state: &str, native: i32) -> Self {
        use ErrorClass::*;
        if !state.eq_ignore_ascii_case("HY000") {
            return Self::from_sqlstate(state);
        }
        // Extended result codes keep the primary code in the low byte.
        match native & 0xff {
            1 => ProgrammingError,
            19 => IntegrityError,
            20 | 25 => DataError,
            5 | 6 | 10 | 13 => OperationalError,
            _ => DatabaseError,
        }
    }

    /// The class name as the manual spells it.
    pub fn name(self) -> &'static str {
        use ErrorClass::*;
        match self {
            Warning => "Warning",
            Error => "Error",
            InterfaceError => "InterfaceError",
            DatabaseError => "DatabaseError",
            DataError => "DataError",
            OperationalError => "OperationalError",
            IntegrityError => "IntegrityError",
            InternalError => "InternalError",
            ProgrammingError => "ProgrammingError",
            NotSupportedError => "NotSupportedError",
            ConfigurationError => "ConfigurationError",
            ConnectionFailureError => "ConnectionFailureError",
            ODBCConnectError => "ODBCConnectError",
            PolicyViolationError => "PolicyViolationError",
            ProtocolError => "ProtocolError",
            TimeoutError => "TimeoutError",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One ODBC diagnostic record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagRecord {
    /// The five-character SQLSTATE.
    pub sqlstate: String,
    /// The driver's native error code.
    pub native: i32,
    /// The message text.
    pub message: String,
}

/// An error as the server reports it and the client raises it: a class, the SQLSTATE and native
/// code of the first diagnostic record, a message, and every diagnostic record the driver gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{class} [{sqlstate}]: {message}")]
pub struct DbError {
    /// The class (exception type).
    pub class: ErrorClass,
    /// The SQLSTATE (`HY000` when none applies).
    pub sqlstate: String,
    /// The driver's native error code (0 when none applies).
    pub native: i32,
    /// The message.
    pub message: String,
    /// All diagnostic records, first one included.
    #[serde(deserialize_with = "crate::proto::budget::charged")]
    pub records: Vec<DiagRecord>,
}

impl DbError {
    /// An error of `class` with no ODBC diagnostics behind it (SQLSTATE `HY000`, native 0).
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        Self::with_state(class, "HY000", message)
    }

    /// An error of `class` with a given SQLSTATE.
    pub fn with_state(class: ErrorClass, sqlstate: &str, message: impl Into<String>) -> Self {
        Self {
            class,
            sqlstate: sqlstate.to_owned(),
            native: 0,
            message: message.into(),
            records: Vec::new(),
        }
    }

    /// An error from ODBC diagnostic records; its class follows the first record's SQLSTATE.
    pub fn from_records(records: Vec<DiagRecord>, fallback: impl Into<String>) -> Self {
        match records.first() {
            Some(first) => Self {
                class: ErrorClass::from_sqlstate(&first.sqlstate),
                sqlstate: first.sqlstate.clone(),
                native: first.native,
                message: first.message.clone(),
                records,
            },
            None => Self::new(ErrorClass::DatabaseError, fallback),
        }
    }

    /// True when this error is of `class` or a subclass.
    pub fn is(&self, class: ErrorClass) -> bool {
        self.class.is(class)
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorClass::*;
    use super::*;

    #[test]
    fn hierarchy_matches_the_manual() {
        assert!(ProgrammingError.is(DatabaseError));
        assert!(ProgrammingError.is(Error));
        assert!(!ProgrammingError.is(InterfaceError));
        assert!(PolicyViolationError.is(ODBCConnectError));
        assert!(ODBCConnectError.is(InterfaceError));
        assert!(TimeoutError.is(Error));
        assert!(!Warning.is(Error));
    }

    #[test]
    fn sqlstate_mapping_table() {
        let cases = [
            ("01004", Warning),
            ("07002", ProgrammingError),
            ("07009", ProgrammingError),
            ("08001", OperationalError),
            ("08S01", OperationalError),
            ("0A000", NotSupportedError),
            ("21000", ProgrammingError),
            ("22012", DataError),
            ("22P02", DataError),
            ("23505", IntegrityError),
            ("23000", IntegrityError),
            ("24000", InternalError),
            ("25P02", InternalError),
            ("28000", OperationalError),
            ("3D000", ProgrammingError),
            ("40001", OperationalError),
            ("40002", IntegrityError),
            ("42601", ProgrammingError),
            ("42P01", ProgrammingError),
            ("42S02", ProgrammingError),
            ("44000", IntegrityError),
            ("HY000", DatabaseError),
            ("HY001", OperationalError),
            ("HY008", OperationalError),
            ("57014", OperationalError),
            ("HY010", ProgrammingError),
            ("HYC00", NotSupportedError),
            ("HYT00", OperationalError),
            ("IM001", NotSupportedError),
            ("IM002", OperationalError),
            ("IM003", InterfaceError),
            ("XX000", DatabaseError),
            ("", DatabaseError),
        ];
        for (state, class) in cases {
            assert_eq!(ErrorClass::from_sqlstate(state), class, "{state}");
        }
    }

    #[test]
    fn sqlite_refinement() {
        assert_eq!(ErrorClass::refine_sqlite("HY000", 1), ProgrammingError);
        assert_eq!(ErrorClass::refine_sqlite("HY000", 19), IntegrityError);
        assert_eq!(ErrorClass::refine_sqlite("HY000", 2067), IntegrityError);
        assert_eq!(ErrorClass::refine_sqlite("HY000", 5), OperationalError);
        assert_eq!(ErrorClass::refine_sqlite("HY000", 999), DatabaseError);
        assert_eq!(ErrorClass::refine_sqlite("23000", 1), IntegrityError);
    }
}
