//! The messages of a database connection actor and of those around it: what opens a
//! connection ([`OpenTarget`]), the requests and replies ([`DbRequest`], [`DbReply`]), how a
//! pooled actor changes hands ([`Adopt`], [`Owner`]) and how it reports back to the registry
//! ([`ConnectionClosed`]). Plain data (the requests and replies serializable), so the actor can
//! later move into a worker process.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::mailbox::DbAddr;
use super::CancelSlot;
use crate::config::CursorType;
use crate::error::{DbError, DiagRecord};
use crate::proto::catalog::CatalogCall;
use crate::proto::message::CursorId;
use crate::proto::rows::EncodedRows;
use crate::proto::statement::{
    BatchMode, BatchOutcome, BatchStatement, ConnectionOption, CursorOptions, InfoValue, ProcParam,
};
use crate::proto::value::{ColumnDesc, Value};
use crate::server::pool::PoolKey;

/// How to open a database connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum OpenTarget {
    /// `SQLDriverConnect` with a connection string.
    ConnectionString(String),
    /// `SQLConnect` with DSN, user and password.
    Dsn {
        /// Data source name.
        dsn: String,
        /// User.
        uid: String,
        /// Password.
        pwd: String,
    },
}

impl OpenTarget {
    /// The pool key of this target opened by the odbcd user `user`.
    pub fn pool_key(&self, user: &str) -> PoolKey {
        match self {
            Self::ConnectionString(s) => PoolKey::new(user, "connstr", &[s]),
            Self::Dsn { dsn, uid, pwd } => PoolKey::new(user, "dsn", &[dsn, uid, pwd]),
        }
    }
}

/// A request to a database connection actor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum DbRequest {
    /// Connect (must be the first request).
    Open(OpenTarget),
    /// Autocommit on or off.
    SetAutocommit(bool),
    /// Commit.
    Commit,
    /// Roll back.
    Rollback,
    /// Execute a statement on a cursor, returning up to `max_rows` first rows.
    Execute {
        /// The cursor.
        cursor: CursorId,
        /// SQL text.
        sql: String,
        /// Parameters.
        params: Vec<Value>,
        /// Rows to return at once.
        max_rows: u32,
    },
    /// Execute once per parameter set.
    ExecuteMany {
        /// The cursor.
        cursor: CursorId,
        /// SQL text.
        sql: String,
        /// Parameter sets.
        param_sets: Vec<Vec<Value>>,
    },
    /// Fetch more rows.
    Fetch {
        /// The cursor.
        cursor: CursorId,
        /// The most rows to return.
        max_rows: u32,
    },
    /// Close a cursor's result set.
    CloseCursor(CursorId),
    /// A catalog function's result set on a cursor.
    Catalog {
        /// The cursor.
        cursor: CursorId,
        /// The function and its arguments.
        call: CatalogCall,
        /// Rows to return at once.
        max_rows: u32,
    },
    /// `SQLGetInfo`.
    GetInfo(u16),
    /// Prepare a statement on a cursor.
    Prepare {
        /// The cursor.
        cursor: CursorId,
        /// SQL text.
        sql: String,
    },
    /// The cursor statement's next result.
    NextResult {
        /// The cursor.
        cursor: CursorId,
        /// Rows to return at once.
        max_rows: u32,
    },
    /// Scroll a cursor to a row and fetch from there.
    Scroll {
        /// The cursor.
        cursor: CursorId,
        /// The row (0 is the first).
        position: u64,
        /// Rows to return at once.
        max_rows: u32,
    },
    /// Set a cursor's options.
    SetCursorOptions {
        /// The cursor.
        cursor: CursorId,
        /// The options.
        options: CursorOptions,
    },
    /// Set a connection attribute.
    SetConnectionOption(ConnectionOption),
    /// Run statements in one go.
    Batch {
        /// The statements.
        statements: Vec<BatchStatement>,
        /// Independent or atomic.
        mode: BatchMode,
        /// Rows returned per statement.
        max_rows: u32,
    },
    /// A procedure call with output parameters.
    CallProcedure {
        /// The cursor.
        cursor: CursorId,
        /// The call escape.
        sql: String,
        /// The parameters.
        params: Vec<ProcParam>,
        /// Rows to return at once when it gives a result set.
        max_rows: u32,
    },
}

impl DbRequest {
    /// The cursor the request names, if any.
    pub fn cursor(&self) -> Option<CursorId> {
        match self {
            Self::Execute { cursor, .. }
            | Self::ExecuteMany { cursor, .. }
            | Self::Fetch { cursor, .. }
            | Self::CloseCursor(cursor)
            | Self::Catalog { cursor, .. }
            | Self::Prepare { cursor, .. }
            | Self::NextResult { cursor, .. }
            | Self::Scroll { cursor, .. }
            | Self::SetCursorOptions { cursor, .. }
            | Self::CallProcedure { cursor, .. } => Some(*cursor),
            _ => None,
        }
    }

    /// The SQL text the request runs, if any (a batch's first statement).
    pub fn sql(&self) -> Option<&str> {
        match self {
            Self::Execute { sql, .. }
            | Self::ExecuteMany { sql, .. }
            | Self::Prepare { sql, .. }
            | Self::CallProcedure { sql, .. } => Some(sql),
            Self::Batch { statements, .. } => statements.first().map(|s| s.sql.as_str()),
            _ => None,
        }
    }

    /// The cursor whose rows the request reads (and may read ahead for), if any.
    pub fn reads_rows_of(&self) -> Option<CursorId> {
        match self {
            Self::Execute { cursor, .. }
            | Self::Fetch { cursor, .. }
            | Self::Catalog { cursor, .. }
            | Self::NextResult { cursor, .. }
            | Self::Scroll { cursor, .. }
            | Self::CallProcedure { cursor, .. } => Some(*cursor),
            _ => None,
        }
    }
}

/// A successful reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DbReply {
    /// Connected.
    Opened {
        /// The DBMS name.
        dbms_name: String,
    },
    /// Done, nothing to return.
    Done,
    /// A statement ran.
    Executed {
        /// Columns of its result set, if it has one.
        columns: Option<Vec<ColumnDesc>>,
        /// Rows affected, -1 when unknown.
        rowcount: i64,
        /// First rows, encoded for the wire.
        rows: EncodedRows,
        /// Result set exhausted.
        done: bool,
    },
    /// More rows.
    Rows {
        /// The rows, encoded for the wire.
        rows: EncodedRows,
        /// Result set exhausted.
        done: bool,
    },
    /// `SQLGetInfo`'s answer.
    Info(InfoValue),
    /// A statement was prepared.
    Prepared {
        /// Its result columns, if the driver describes them before execution.
        columns: Option<Vec<ColumnDesc>>,
        /// Its parameter count.
        params: u16,
    },
    /// The statement has no more results.
    NoMoreResults,
    /// A batch ran.
    Batch(Vec<BatchOutcome>),
    /// `ExecuteMany` stopped at a failing parameter set.
    ManyFailed {
        /// The failing set (0-based).
        index: u32,
        /// Rows the sets before it affected, -1 when unknown.
        rowcount: i64,
        /// Its error.
        error: DbError,
    },
    /// A procedure call's parameters after it.
    ProcedureOutputs {
        /// Rows affected.
        rowcount: i64,
        /// One value per parameter.
        values: Vec<Value>,
    },
    /// A reply with the driver's warnings.
    Warned(Vec<DiagRecord>, Box<DbReply>),
    /// The connection's thread sent the answer to the client itself (see
    /// [`super::answer::Route`]); what the session needs to know of it.
    Sent {
        /// It was an error (or a failed `ExecuteMany`).
        failed: bool,
        /// It carried rows of a result set that has more.
        more_rows: bool,
        /// When it left (the request's latency ends there, not when the session hears of
        /// it). Never crosses a worker's pipe.
        #[serde(skip)]
        at: Option<std::time::Instant>,
    },
}

/// A database connection actor as its session (or the pool) holds it.
#[derive(Clone)]
pub struct DbHandle {
    /// The actor.
    pub addr: DbAddr,
    /// Its statement running now, for `SQLCancel`.
    pub cancel: Arc<CancelSlot>,
}

/// A parked (pooled) actor is taken over by a new session for `target` (connecting afresh if
/// the pooled connection died). In-process only, like a release.
pub struct Adopt {
    /// The new user's registry bookkeeping.
    pub owner: Owner,
    /// What to connect to if the pooled connection is dead.
    pub target: OpenTarget,
    /// `connection_cursortype` of the new session's listener.
    pub cursor_type: Option<CursorType>,
    /// `[Pool] check_query`, run first when the connection was parked at least `check_delay`.
    pub check: Option<(Arc<str>, std::time::Duration)>,
}

/// A connection actor disconnected its connection, or parks itself (reset) for reuse. Sent
/// once per use to its [`Owner`]'s registry.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub struct ConnectionClosed {
    /// The session that used it.
    pub session: String,
    /// The parked actor and its key, when it may be reused.
    pub reusable: Option<(PoolKey, DbHandle)>,
}

/// A parked (pooled) connection died while it waited (a worker process that exited): the
/// registry drops it from the pool and from its count. The handle's cancel slot says which.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub struct ParkedConnectionGone {
    /// Its pool key.
    pub key: PoolKey,
    /// Its handle's cancel slot (the same `Arc` as the pool's handle holds).
    pub cancel: Arc<CancelSlot>,
}

/// Where a connection actor reports that its connection is gone or reusable.
pub struct Owner {
    /// The registry, which counts the connection.
    pub registry: actix::Recipient<ConnectionClosed>,
    /// The registry again, for a parked connection that dies.
    pub parked_gone: actix::Recipient<ParkedConnectionGone>,
    /// The session using it.
    pub session: String,
    /// Its pool key.
    pub key: PoolKey,
    /// Whether to hand it back for reuse (`[Pool] max_idle_connections > 0`).
    pub pooling: bool,
    /// The session's tracing span: the actor's log lines belong to it while it serves it.
    pub span: tracing::Span,
}
