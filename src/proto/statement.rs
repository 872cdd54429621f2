//! The payloads of the statement-level requests beyond execute and fetch: a `getinfo` answer,
//! per-cursor and per-connection options, and batches of statements run in one round trip.

use serde::{Deserialize, Serialize};

use super::value::{ColumnDesc, Value};
use crate::error::DbError;

/// The answer to `SQLGetInfo`: text (including the `"Y"`/`"N"` answers) or a number (an
/// `SQLUSMALLINT`, an `SQLUINTEGER` or a bitmask), as mxODBC returns them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InfoValue {
    /// A character string.
    Text(String),
    /// A number or a bitmask.
    Integer(u64),
}

impl std::fmt::Display for InfoValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Text(s) => f.write_str(s),
            Self::Integer(n) => write!(f, "{n}"),
        }
    }
}

/// How a cursor's statements run; set per cursor, applied to each statement it executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CursorOptions {
    /// `SQL_ATTR_QUERY_TIMEOUT` in seconds; 0 waits as long as the server allows
    /// (`max_request_execution_time`).
    pub query_timeout_secs: u32,
    /// `SQL_ATTR_MAX_ROWS`: the most rows a result set returns; 0 for all.
    pub max_rows: u64,
    /// A scrollable (static) cursor, for [`Request::Scroll`](super::message::Request::Scroll),
    /// instead of the connection's cursor type.
    pub scrollable: bool,
}

/// A transaction isolation level (`SQL_ATTR_TXN_ISOLATION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IsolationLevel {
    /// `SQL_TXN_READ_UNCOMMITTED`.
    ReadUncommitted,
    /// `SQL_TXN_READ_COMMITTED`.
    ReadCommitted,
    /// `SQL_TXN_REPEATABLE_READ`.
    RepeatableRead,
    /// `SQL_TXN_SERIALIZABLE`.
    Serializable,
}

impl IsolationLevel {
    /// The ODBC constant (`SQL_TXN_*`).
    pub fn odbc_value(self) -> u32 {
        match self {
            Self::ReadUncommitted => 1,
            Self::ReadCommitted => 2,
            Self::RepeatableRead => 4,
            Self::Serializable => 8,
        }
    }

    /// The level with this ODBC constant.
    pub fn from_odbc(value: u32) -> Option<Self> {
        match value {
            1 => Some(Self::ReadUncommitted),
            2 => Some(Self::ReadCommitted),
            4 => Some(Self::RepeatableRead),
            8 => Some(Self::Serializable),
            _ => None,
        }
    }
}

/// A connection attribute the client may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConnectionOption {
    /// `SQL_ATTR_TXN_ISOLATION`, for the transactions that start after it.
    Isolation(IsolationLevel),
    /// `SQL_ATTR_ACCESS_MODE`: read-only (a hint many drivers pass on to the database, e.g.
    /// PostgreSQL's `SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY`).
    ReadOnly(bool),
}

/// One statement of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchStatement {
    /// The SQL text.
    pub sql: String,
    /// Its parameters, one per `?`.
    #[serde(deserialize_with = "super::budget::values")]
    pub params: Vec<Value>,
}

/// Which way a procedure parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParamDirection {
    /// The procedure reads it.
    In,
    /// The procedure sets it (its value is a template: its type says how to read it back).
    Out,
    /// Both.
    InOut,
}

/// One parameter of a procedure call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcParam {
    /// In, out or both.
    pub direction: ParamDirection,
    /// The value going in; for `Out`, a template whose variant gives the type read back
    /// (`Int`, `Float`, `Bool`; anything else is read back as text, `Decimal` as a decimal).
    pub value: Value,
    /// For text read back: the most bytes expected (a longer value is an error, never cut).
    pub max_bytes: u32,
}

impl ProcParam {
    /// A parameter the procedure reads.
    pub fn input(value: Value) -> Self {
        Self {
            direction: ParamDirection::In,
            value,
            max_bytes: 0,
        }
    }

    /// A parameter the procedure sets, read back as `template`'s type (`Value::Int(0)`,
    /// `Value::Float(0.0)`, `Value::Bool(false)`, or text of at most `max_bytes` bytes for
    /// any other; `Value::Decimal` reads back a decimal).
    pub fn output(template: Value, max_bytes: u32) -> Self {
        Self {
            direction: ParamDirection::Out,
            value: template,
            max_bytes,
        }
    }

    /// A parameter the procedure reads and sets (text: at most `max_bytes` back).
    pub fn inout(value: Value, max_bytes: u32) -> Self {
        Self {
            direction: ParamDirection::InOut,
            value,
            max_bytes,
        }
    }
}

/// How a batch runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BatchMode {
    /// Each statement on its own, in order, every one run whatever happened to the others
    /// (under autocommit each commits by itself; inside a transaction they are part of it, and
    /// the database decides what an error does to the transaction).
    Independent,
    /// All or nothing, as one transaction: the first error rolls back every statement before
    /// it and the rest are skipped. Needs autocommit on (the batch is its own transaction).
    Atomic,
}

/// What became of one statement of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BatchOutcome {
    /// It ran.
    Done {
        /// Its result's columns, `None` when it returned no result set.
        columns: Option<Vec<ColumnDesc>>,
        /// Rows affected, -1 when unknown.
        rowcount: i64,
        /// Its first rows (up to the batch's `max_rows` per statement).
        #[serde(deserialize_with = "super::budget::value_sets")]
        rows: Vec<Vec<Value>>,
        /// False when the result set had more rows than were returned (they are dropped: run
        /// a large query with `Execute` to stream it).
        complete: bool,
    },
    /// It failed.
    Failed(DbError),
    /// It did not run (an atomic batch stopped at an earlier error).
    Skipped,
}
