//! The messages of the protocol. Enum variants are append-only: never reorder or remove one
//! (postcard encodes variants by index); add new ones at the end.
//!
//! The conversation after the preambles: the server sends [`Response::Greeting`] (with a
//! login nonce) under request id 0; the client sends [`Request::OpenSession`] (id 0), with a
//! `session_id` to resume a session whose link broke; the server answers
//! [`Response::SessionOpened`] (id 0). Then any requests, each answered by exactly one
//! response with the same id. The server may send a notice under id 0 (an error that ends the
//! session, e.g. `max_waiting_time`) before it closes the link.

use serde::{Deserialize, Serialize};

use super::admin::{AdminAnswer, AdminCommand};
use super::catalog::CatalogCall;
use super::statement::{
    BatchMode, BatchOutcome, BatchStatement, ConnectionOption, CursorOptions, InfoValue, ProcParam,
};
use super::value::{ColumnDesc, Value};
use crate::error::{DbError, DiagRecord};

/// Identifies a request; responses carry the id of the request they answer.
pub type RequestId = u32;
/// Identifies a database connection within a session (chosen by the server).
pub type ConnId = u32;
/// Identifies a cursor within a session (chosen by the client, unique per session).
pub type CursorId = u32;

/// What the client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientFrame {
    /// The request id. Ids increase in the order requests are sent, so the server's highest
    /// received id tells a resuming client which requests to send again. 0 is reserved for
    /// `OpenSession` and for the server's greeting and notices.
    pub id: RequestId,
    /// How many session frames (those after `SessionOpened`, notices excluded) the client has
    /// received so far: the server may forget frames up to this one; it replays the rest when
    /// the session resumes.
    pub ack: u64,
    /// The request.
    pub request: Request,
}

/// What the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerFrame {
    /// The id of the request this answers (0 for the greeting and unsolicited notices).
    pub id: RequestId,
    /// The response.
    pub response: Response,
}

/// A client request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Opens (or, with `session_id`, resumes) a session. Must be the first request.
    OpenSession {
        /// User name for `[Authentication]`; empty when the server needs none.
        username: String,
        /// Proof of the password, computed over the greeting's nonce (empty without auth).
        proof: Vec<u8>,
        /// The server-side ODBC manager (`Manager`, `unixODBC`, ...).
        module_name: String,
        /// A session to resume after a broken link.
        session_id: Option<String>,
        /// A name for the client program, for the server's log.
        client_name: String,
    },
    /// Closes the session: every connection closed, open transactions rolled back.
    CloseSession,
    /// Are you there? Answered with [`Response::Pong`].
    Ping,
    /// Cancels the running request with this id.
    Cancel {
        /// The request to cancel.
        request: RequestId,
    },
    /// The server's ODBC data sources.
    ListDataSources,
    /// The server's ODBC drivers.
    ListDrivers,
    /// Opens a database connection with a connection string (`SQLDriverConnect`).
    DriverConnect {
        /// The ODBC connection string.
        connection_string: String,
    },
    /// Opens a database connection with DSN, user and password (`SQLConnect`).
    Connect {
        /// Data source name.
        dsn: String,
        /// User.
        uid: String,
        /// Password.
        pwd: String,
    },
    /// Turns autocommit on or off.
    SetAutocommit {
        /// The connection.
        conn: ConnId,
        /// On or off.
        on: bool,
    },
    /// Commits the current transaction.
    Commit {
        /// The connection.
        conn: ConnId,
    },
    /// Rolls back the current transaction.
    Rollback {
        /// The connection.
        conn: ConnId,
    },
    /// Closes a database connection (rolling back what was not committed).
    CloseConnection {
        /// The connection.
        conn: ConnId,
    },
    /// Executes a statement on a cursor (closing the cursor's previous result), returning
    /// its description, row count and up to `max_rows` first rows.
    Execute {
        /// The connection.
        conn: ConnId,
        /// The cursor (created on first use).
        cursor: CursorId,
        /// The SQL text.
        sql: String,
        /// The parameters, one per `?`.
        #[serde(deserialize_with = "super::budget::values")]
        params: Vec<Value>,
        /// How many rows to return with the result (0: none).
        max_rows: u32,
    },
    /// Executes a statement once per parameter set.
    ExecuteMany {
        /// The connection.
        conn: ConnId,
        /// The cursor.
        cursor: CursorId,
        /// The SQL text.
        sql: String,
        /// One parameter list per execution.
        #[serde(deserialize_with = "super::budget::value_sets")]
        param_sets: Vec<Vec<Value>>,
    },
    /// Fetches up to `max_rows` more rows (fewer when the batch would exceed the server's
    /// `max_chunk_length`).
    Fetch {
        /// The connection.
        conn: ConnId,
        /// The cursor.
        cursor: CursorId,
        /// The most rows to return.
        max_rows: u32,
    },
    /// Closes a cursor and frees its statement.
    CloseCursor {
        /// The connection.
        conn: ConnId,
        /// The cursor.
        cursor: CursorId,
    },
    /// The server's registry state (sessions, connections).
    Status,
    /// A catalog function on a cursor (closing the cursor's previous result); answered like
    /// `Execute`, with the function's result set.
    Catalog {
        /// The connection.
        conn: ConnId,
        /// The cursor.
        cursor: CursorId,
        /// The function and its arguments.
        call: CatalogCall,
        /// How many rows to return with the answer.
        max_rows: u32,
    },
    /// `SQLGetInfo` for one information type (see [`super::info`]); answered with
    /// [`Response::Info`].
    GetInfo {
        /// The connection.
        conn: ConnId,
        /// The information type's id (`SQL_DBMS_NAME` = 17, ...).
        info_type: u16,
    },
    /// Prepares `sql` on the cursor: a later `Execute` of the same text on this cursor runs
    /// the prepared statement. Answered with [`Response::Prepared`].
    Prepare {
        /// The connection.
        conn: ConnId,
        /// The cursor.
        cursor: CursorId,
        /// The SQL text.
        sql: String,
    },
    /// Moves the cursor's statement to its next result (`SQLMoreResults`): answered like
    /// `Execute` for that result, or with [`Response::NoMoreResults`].
    NextResult {
        /// The connection.
        conn: ConnId,
        /// The cursor.
        cursor: CursorId,
        /// How many rows to return with the answer.
        max_rows: u32,
    },
    /// Rows of a scrollable cursor's result set from row `position` (0 is the first row):
    /// answered with [`Response::Rows`]; `Fetch` goes on from there.
    Scroll {
        /// The connection.
        conn: ConnId,
        /// The cursor.
        cursor: CursorId,
        /// The row to go to.
        position: u64,
        /// How many rows to return.
        max_rows: u32,
    },
    /// Sets the options of a cursor's next statements.
    SetCursorOptions {
        /// The connection.
        conn: ConnId,
        /// The cursor.
        cursor: CursorId,
        /// The options.
        options: CursorOptions,
    },
    /// Sets a connection attribute.
    SetConnectionOption {
        /// The connection.
        conn: ConnId,
        /// The attribute and its value.
        option: ConnectionOption,
    },
    /// Several statements in one round trip, in order; answered with
    /// [`Response::BatchResults`].
    Batch {
        /// The connection.
        conn: ConnId,
        /// The statements.
        #[serde(deserialize_with = "super::budget::charged")]
        statements: Vec<BatchStatement>,
        /// Independent, or all or nothing.
        mode: BatchMode,
        /// The most rows returned per statement with a result set.
        max_rows: u32,
    },
    /// Calls a procedure (`sql` is the ODBC call escape, e.g. `{? = call f(?)}`) with input,
    /// output and input/output parameters. Answered with [`Response::ProcedureOutputs`] when
    /// it returns no result set; else like `Execute` (output parameters of a procedure with
    /// result sets are not read).
    CallProcedure {
        /// The connection.
        conn: ConnId,
        /// The cursor.
        cursor: CursorId,
        /// The call.
        sql: String,
        /// Its parameters, one per `?`.
        #[serde(deserialize_with = "super::budget::charged")]
        params: Vec<ProcParam>,
        /// How many rows to return with a result set.
        max_rows: u32,
    },
    /// An operator's request about the server itself (see [`super::admin`]); answered with
    /// [`Response::Admin`].
    Admin(AdminCommand),
}

thread_local! {
    /// Set while a `Warned` answer's inner answer is decoded.
    static IN_WARNED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Decodes the answer inside `Warned`, refusing a second `Warned` inside it before it
/// recurses further.
fn unwarned<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Box<Response>, D::Error> {
    if IN_WARNED.with(|w| w.replace(true)) {
        return Err(serde::de::Error::custom(
            "a warned answer inside a warned answer",
        ));
    }
    let r = Response::deserialize(d);
    IN_WARNED.with(|w| w.set(false));
    r.map(Box::new)
}

impl Request {
    /// The request's name (its variant), for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::OpenSession { .. } => "OpenSession",
            Self::CloseSession => "CloseSession",
            Self::Ping => "Ping",
            Self::Cancel { .. } => "Cancel",
            Self::ListDataSources => "ListDataSources",
            Self::ListDrivers => "ListDrivers",
            Self::DriverConnect { .. } => "DriverConnect",
            Self::Connect { .. } => "Connect",
            Self::SetAutocommit { .. } => "SetAutocommit",
            Self::Commit { .. } => "Commit",
            Self::Rollback { .. } => "Rollback",
            Self::CloseConnection { .. } => "CloseConnection",
            Self::Execute { .. } => "Execute",
            Self::ExecuteMany { .. } => "ExecuteMany",
            Self::Fetch { .. } => "Fetch",
            Self::CloseCursor { .. } => "CloseCursor",
            Self::Status => "Status",
            Self::Catalog { .. } => "Catalog",
            Self::GetInfo { .. } => "GetInfo",
            Self::Prepare { .. } => "Prepare",
            Self::NextResult { .. } => "NextResult",
            Self::Scroll { .. } => "Scroll",
            Self::SetCursorOptions { .. } => "SetCursorOptions",
            Self::SetConnectionOption { .. } => "SetConnectionOption",
            Self::Batch { .. } => "Batch",
            Self::CallProcedure { .. } => "CallProcedure",
            Self::Admin(_) => "Admin",
        }
    }

    /// Parameter rows the request carries (one for an execute with parameters, one per set of
    /// an executemany, one per statement with parameters of a batch).
    pub fn parameter_rows(&self) -> usize {
        match self {
            Self::Execute { params, .. } => usize::from(!params.is_empty()),
            Self::CallProcedure { params, .. } => usize::from(!params.is_empty()),
            Self::ExecuteMany { param_sets, .. } => param_sets.len(),
            Self::Batch { statements, .. } => {
                statements.iter().filter(|s| !s.params.is_empty()).count()
            }
            _ => 0,
        }
    }

    /// The database connection a request is for, if any.
    pub fn conn(&self) -> Option<ConnId> {
        match self {
            Self::SetAutocommit { conn, .. }
            | Self::Commit { conn }
            | Self::Rollback { conn }
            | Self::CloseConnection { conn }
            | Self::Execute { conn, .. }
            | Self::ExecuteMany { conn, .. }
            | Self::Fetch { conn, .. }
            | Self::CloseCursor { conn, .. }
            | Self::Catalog { conn, .. }
            | Self::GetInfo { conn, .. }
            | Self::Prepare { conn, .. }
            | Self::NextResult { conn, .. }
            | Self::Scroll { conn, .. }
            | Self::SetCursorOptions { conn, .. }
            | Self::SetConnectionOption { conn, .. }
            | Self::Batch { conn, .. }
            | Self::CallProcedure { conn, .. } => Some(*conn),
            _ => None,
        }
    }

    /// The cursor the request names, if any.
    pub fn cursor(&self) -> Option<CursorId> {
        match self {
            Self::Execute { cursor, .. }
            | Self::ExecuteMany { cursor, .. }
            | Self::Fetch { cursor, .. }
            | Self::CloseCursor { cursor, .. }
            | Self::Catalog { cursor, .. }
            | Self::Prepare { cursor, .. }
            | Self::NextResult { cursor, .. }
            | Self::Scroll { cursor, .. }
            | Self::SetCursorOptions { cursor, .. }
            | Self::CallProcedure { cursor, .. } => Some(*cursor),
            _ => None,
        }
    }
}

/// A data source from the driver manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSourceInfo {
    /// The DSN.
    pub name: String,
    /// Its driver's description.
    pub driver: String,
}

/// A driver from the driver manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverInfo {
    /// The driver's name (its odbcinst.ini section).
    pub name: String,
    /// Its attributes (`Driver=...`, `Setup=...`).
    pub attributes: Vec<(String, String)>,
}

/// One session in [`ServerStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStatus {
    /// The first 8 characters of the session id (the full id is a secret).
    pub id_prefix: String,
    /// The client's address (of its current or last link).
    pub peer: String,
    /// The user that opened it.
    pub user: String,
    /// Physical database connections it holds.
    pub connections: u32,
    /// Its requests running on database connections.
    pub running_requests: u32,
    /// False while its link is broken and the server waits for it to resume.
    pub attached: bool,
}

/// The server's registry state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerStatus {
    /// Open sessions (the seeds' `nclients`).
    pub sessions: u32,
    /// Open physical database connections, idle pooled ones (`[Pool]`) included.
    pub connections: u32,
    /// Requests running on database connections right now.
    pub running_requests: u32,
    /// `max_sessions`.
    pub max_sessions: u32,
    /// `[License] max_connections`, when set.
    pub max_connections: Option<u32>,
    /// Every session.
    pub session_list: Vec<SessionStatus>,
    /// The server process's resident memory in KiB, where the platform tells (Linux).
    pub rss_kib: Option<u64>,
}

/// A server response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// Sent once, right after the preambles.
    Greeting {
        /// The server's software version.
        server_version: String,
        /// A fresh random nonce for the login proof.
        nonce: Vec<u8>,
        /// Whether `OpenSession` must carry a user and proof.
        auth_required: bool,
    },
    /// The session is open (or resumed).
    SessionOpened {
        /// The session id (to resume it later).
        session_id: String,
        /// The server's software version.
        server_version: String,
        /// The highest request id the server has received in this session (0 for a new one):
        /// a resuming client sends its unanswered requests above it again.
        last_request: RequestId,
        /// How long the server keeps the session after its link breaks
        /// (`max_session_reconnect_time`), in milliseconds.
        reconnect_window_ms: u64,
    },
    /// The request succeeded and has nothing to return.
    Ok,
    /// The request failed.
    Error(DbError),
    /// Answer to [`Request::Ping`].
    Pong,
    /// Answer to [`Request::ListDataSources`].
    DataSources(Vec<DataSourceInfo>),
    /// Answer to [`Request::ListDrivers`].
    Drivers(Vec<DriverInfo>),
    /// A database connection was opened.
    Connected {
        /// Its id.
        conn: ConnId,
        /// The DBMS name the driver reports.
        dbms_name: String,
    },
    /// A statement was executed.
    Executed {
        /// The result's columns, `None` when the statement returned no result set.
        columns: Option<Vec<ColumnDesc>>,
        /// Rows affected, or -1 when unknown.
        rowcount: i64,
        /// The first rows of the result.
        #[serde(deserialize_with = "super::budget::value_sets")]
        rows: Vec<Vec<Value>>,
        /// True when the result set is exhausted.
        done: bool,
    },
    /// More rows of a result set.
    Rows {
        /// The rows.
        #[serde(deserialize_with = "super::budget::value_sets")]
        rows: Vec<Vec<Value>>,
        /// True when the result set is exhausted.
        done: bool,
    },
    /// Answer to [`Request::Status`].
    Status(ServerStatus),
    /// Answer to [`Request::GetInfo`].
    Info(InfoValue),
    /// Answer to [`Request::Prepare`].
    Prepared {
        /// The columns of the statement's result set as the driver describes them before
        /// running it; `None` when it has none (or the driver cannot say before it runs).
        columns: Option<Vec<ColumnDesc>>,
        /// How many parameters (`?`) the statement takes.
        params: u16,
    },
    /// Answer to [`Request::NextResult`]: the statement has no more results.
    NoMoreResults,
    /// An answer with the driver's warnings (`SQL_SUCCESS_WITH_INFO` diagnostics) of the
    /// request: `response` is the answer itself.
    Warned {
        /// The diagnostic records.
        #[serde(deserialize_with = "super::budget::charged")]
        warnings: Vec<DiagRecord>,
        /// The answer (never itself `Warned`: a nested one is refused while decoding, so a
        /// hostile peer cannot nest answers until the decoder's stack overflows).
        #[serde(deserialize_with = "unwarned")]
        response: Box<Response>,
    },
    /// Answer to [`Request::Batch`]: one outcome per statement, in order.
    BatchResults {
        /// The outcomes.
        #[serde(deserialize_with = "super::budget::charged")]
        outcomes: Vec<BatchOutcome>,
    },
    /// Answer to [`Request::CallProcedure`] without a result set: every parameter's value
    /// after the call (inputs as sent, outputs as the procedure set them).
    ProcedureOutputs {
        /// Rows affected, -1 when unknown.
        rowcount: i64,
        /// One value per parameter.
        #[serde(deserialize_with = "super::budget::values")]
        values: Vec<Value>,
    },
    /// Answer to [`Request::ExecuteMany`] when a parameter set failed: the sets before it ran
    /// (under autocommit each committed by itself), the ones after it did not.
    ExecuteManyFailed {
        /// The failing set's index (0-based).
        index: u32,
        /// Rows the sets before it affected, -1 when unknown.
        rowcount: i64,
        /// Its error.
        error: DbError,
    },
    /// Answer to [`Request::Admin`].
    Admin(AdminAnswer),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warned_answer_inside_a_warned_answer_is_refused() {
        let warned = |inner| Response::Warned {
            warnings: vec![],
            response: Box::new(inner),
        };
        let one = warned(Response::Ok);
        let bytes = postcard::to_allocvec(&one).unwrap();
        assert_eq!(postcard::from_bytes::<Response>(&bytes).unwrap(), one);
        let two = postcard::to_allocvec(&warned(warned(Response::Ok))).unwrap();
        assert!(postcard::from_bytes::<Response>(&two).is_err());
        // A hostile peer's deep nesting is refused at the second level, not by the stack.
        let mut deep = Vec::new();
        for _ in 0..1_000_000 {
            deep.extend_from_slice(&bytes[..bytes.len() - 1]);
        }
        assert!(postcard::from_bytes::<Response>(&deep).is_err());
        // And decoding works again afterwards on this thread.
        assert_eq!(postcard::from_bytes::<Response>(&bytes).unwrap(), one);
    }
}
