//! The client library, shaped like the manual's Python API and DB-API.
//!
//! ```no_run
//! use odbcd::client::{OpenOptions, ServerSession};
//! use odbcd::params;
//! # fn main() -> Result<(), odbcd::client::Error> {
//! let mut session = ServerSession::new(Some("client-config.ini".as_ref()), None)?;
//! let odbc = session.open_with(&OpenOptions::new())?;
//! let connection = odbc.driver_connect("DSN=demo")?;
//! let mut cursor = connection.cursor();
//! cursor.execute("select id, name from fruit where id > ?", &params![1])?;
//! for row in cursor.rows() {
//!     let row = row?;
//!     let (id, name): (i64, String) = (row.get("id"), row.get("name"));
//!     println!("{id} {name}");
//! }
//! session.close()?;
//! # Ok(()) }
//! ```
//!
//! Fail-over is configuration: the sessions walk `[Communication] server_connections` in order
//! and take the first server that accepts (here from memory; a `client-config.ini` with the
//! same sections does the same):
//!
//! ```no_run
//! use odbcd::client::{ConfigData, OpenOptions, ServerSession};
//! # fn main() -> Result<(), odbcd::client::Error> {
//! let config = ConfigData::new()
//!     .set("Primary_Connection", "host", "db1.example.com")
//!     .set("Backup_Connection", "host", "db2.example.com")
//!     .set("Communication", "server_connections", "Primary_Connection, Backup_Connection")
//!     .set("Communication", "auto_reconnect", "1");
//! let mut session = ServerSession::new(None, Some(&config))?;
//! let odbc = session.open_with(&OpenOptions::new())?;
//! println!("on {}", session.server_name().unwrap_or_default());
//! # Ok(()) }
//! ```
//!
//! Errors are [`Error`]s carrying the manual's class ([`ErrorClass`]), the server's SQLSTATE,
//! native code, message and every diagnostic record. `err.is(ErrorClass::DatabaseError)`
//! answers "would `except DatabaseError` catch this?":
//!
//! ```no_run
//! use odbcd::client::{Connection, ErrorClass};
//! # fn f(conn: &Connection) -> Result<(), odbcd::client::Error> {
//! match conn.cursor().execute("insert into fruit values (1, 'apple')", &[]) {
//!     Ok(_) => {}
//!     Err(e) if e.is(ErrorClass::IntegrityError) => println!("already there: {}", e.sqlstate),
//!     Err(e) if e.is(ErrorClass::ConnectionFailureError) => println!("the link is gone: {e}"),
//!     Err(e) => return Err(e),
//! }
//! # Ok(()) }
//! ```
//!
//! Everything is synchronous and thread-safe: connections and cursors are `Send`, several
//! threads may use one session at once (their requests travel on one TCP connection and run
//! concurrently on different database connections), and the library runs no async runtime of
//! its own; the `client::tokio` module (feature `tokio`) wraps it for async code.
//! Background threads: one per session pings an idle link every `[Communication]
//! ping_interval` (30 s by default; `None` starts none) and ends with the session; a call on a
//! cursor with a query timeout starts a short-lived one that cancels the statement when it
//! runs past the timeout.

mod conn_inner;
mod connect;
mod connection;
mod core;
mod cursor;
mod extra_types;
mod frames;
mod handshake;
pub mod interrupt;
mod link;
mod row;
#[cfg(feature = "tokio")]
pub mod tokio;
mod transport;

use std::path::Path;
use std::sync::Arc;

pub use crate::config::{ClientConfig, ConfigData};
pub use crate::error::{DbError as Error, DiagRecord, ErrorClass};
pub use crate::proto::admin::{AdminAnswer, AdminCommand, SessionDetail};
pub use crate::proto::catalog::CatalogCall;
pub use crate::proto::info::{info_type_by_id, info_type_by_name, InfoKind, InfoType, INFO_TYPES};
pub use crate::proto::message::{DataSourceInfo, DriverInfo, ServerStatus};
pub use crate::proto::statement::CursorOptions;
pub use crate::proto::statement::{
    BatchMode, BatchOutcome, BatchStatement, ConnectionOption, InfoValue, IsolationLevel,
    ParamDirection, ProcParam,
};
pub use crate::proto::value::{ColumnDesc, Date, SqlType, Time, Timestamp, Value};
pub use connection::{Connection, Transaction};
pub use cursor::{CancelHandle, Cursor, ScrollMode};
pub use row::{ColumnIndex, FromValue, Row};

use crate::proto::message::{Request, Response};

/// How [`ServerSession::open_with`] opens a session: builder-style, every part optional (no
/// login, the configuration's `remote_module`, a new session).
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    user: String,
    password: String,
    module_name: Option<String>,
    session_id: Option<String>,
}

impl OpenOptions {
    /// No login, a new session.
    pub fn new() -> Self {
        Self::default()
    }

    /// The user for the server's `[Authentication]`.
    pub fn user(mut self, user: &str) -> Self {
        self.user = user.to_owned();
        self
    }

    /// The user's password.
    pub fn password(mut self, password: &str) -> Self {
        self.password = password.to_owned();
        self
    }

    /// The server-side ODBC manager (`unixODBC`, ...), instead of `[Session] remote_module`.
    pub fn module_name(mut self, module: &str) -> Self {
        self.module_name = Some(module.to_owned());
        self
    }

    /// Resume this session (by its id) rather than open a new one.
    pub fn resume(mut self, session_id: &str) -> Self {
        self.session_id = Some(session_id.to_owned());
        self
    }
}

/// A session with an odbcd server (the manual's `ServerSession`).
pub struct ServerSession {
    config: ClientConfig,
    open: Option<OpenSession>,
}

struct OpenSession {
    core: Arc<core::Core>,
}

impl ServerSession {
    /// Configures a session from a file, in-memory sections, both (in-memory values override the
    /// file's), or neither (defaults: one server at 127.0.0.1:6632). Does not connect yet.
    ///
    /// # Errors
    /// `ConfigurationError` naming the file, line and option.
    pub fn new(
        config_file: Option<&Path>,
        config_data: Option<&ConfigData>,
    ) -> Result<Self, Error> {
        let config = ClientConfig::load(config_file, config_data).map_err(|e| {
            Error::with_state(ErrorClass::ConfigurationError, "HY000", e.to_string())
        })?;
        Ok(Self::with_config(config))
    }

    /// Opens the session with `options` (login, driver manager, a session to resume): the
    /// same as [`Self::open`], named.
    ///
    /// ```no_run
    /// # use odbcd::client::{OpenOptions, ServerSession};
    /// # fn f() -> Result<(), odbcd::client::Error> {
    /// let mut session = ServerSession::new(Some("client-config.ini".as_ref()), None)?;
    /// let odbc = session.open_with(&OpenOptions::new().user("alice").password("secret"))?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Self::open`].
    pub fn open_with(&mut self, options: &OpenOptions) -> Result<Odbc, Error> {
        self.open(
            &options.user,
            &options.password,
            options.module_name.as_deref(),
            options.session_id.as_deref(),
        )
    }

    /// A session from an already loaded configuration.
    pub fn with_config(config: ClientConfig) -> Self {
        Self { config, open: None }
    }

    /// The configuration in use.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Connects to the first configured server that accepts the session and returns the
    /// remote ODBC interface (the manual's module proxy). `module_name` defaults to
    /// `[Session] remote_module`.
    ///
    /// `session_id` resumes an earlier session whose link broke (within the server's
    /// `max_session_reconnect_time`). For this session's own id, the existing link reconnects,
    /// so its connections and cursors go on working; the library also does this by itself when
    /// a link breaks, so this is only needed after it gave up.
    ///
    /// # Errors
    /// `OperationalError` listing each server tried and why it failed (or the refusal all
    /// servers gave, see `client::connect`).
    pub fn open(
        &mut self,
        username: &str,
        password: &str,
        module_name: Option<&str>,
        session_id: Option<&str>,
    ) -> Result<Odbc, Error> {
        if let (Some(o), Some(id)) = (&self.open, session_id) {
            let link = o.core.peek();
            if link.session().session_id == id {
                link.resume_now()?;
                return Ok(Odbc {
                    core: Arc::clone(&o.core),
                });
            }
        }
        if let Some(old) = self.open.take() {
            old.core.peek().shutdown();
        }
        let module_name = module_name.unwrap_or(&self.config.session.remote_module);
        let params = connect::OpenParams {
            username,
            password,
            module_name,
            session_id,
        };
        let opened = connect::open_first(&self.config, &params)?;
        let reopen = self.config.auto_reconnect.then(|| core::Reopen {
            config: self.config.clone(),
            username: username.to_owned(),
            password: password.to_owned(),
            module_name: module_name.to_owned(),
            attempts: self.config.reconnect_attempts,
            delay: self.config.reconnect_delay,
        });
        let core = Arc::new(core::Core::new(opened.link, opened.server_name, reopen));
        self.open = Some(OpenSession {
            core: Arc::clone(&core),
        });
        Ok(Odbc { core })
    }

    /// Closes the session: the server closes its database connections, rolling back what was
    /// not committed. Closing a closed session does nothing. Each wait for the server is at
    /// most `receive_timeout` (default 10 s), and a link cut unnoticed is resumed only until
    /// `receive_timeout` from the call: a server that stopped answering gets the connection
    /// closed instead.
    ///
    /// # Errors
    /// Errors from the server while closing, or its silence (the session is closed anyway).
    pub fn close(&mut self) -> Result<(), Error> {
        let Some(o) = self.open.take() else {
            return Ok(());
        };
        let link = o.core.peek();
        // Never longer than receive_timeout (default 10 s), whatever the server does.
        let r = if link.is_broken() {
            Ok(())
        } else {
            link.close_session(link.receive_timeout())
        };
        link.close();
        r
    }

    /// Ends the session without waiting: tells the server the session is over (if the link
    /// still works) and closes the link. For exits and signal handlers, where
    /// [`Self::close`]'s wait for the server's answer could hold the process up.
    pub fn close_nowait(&mut self) {
        if let Some(o) = self.open.take() {
            let link = o.core.peek();
            link.say_goodbye();
            link.close();
        }
    }

    /// True unless a session is open and its link works.
    pub fn closed(&self) -> bool {
        self.open.as_ref().is_none_or(|o| o.core.peek().is_broken())
    }

    /// The server's version (empty before `open`).
    pub fn server_version(&self) -> String {
        self.open
            .as_ref()
            .map(|o| o.core.peek().session().server_version)
            .unwrap_or_default()
    }

    /// The session id (to resume it), `None` before `open`. After an automatic re-open
    /// (`auto_reconnect`), the new session's.
    pub fn session_id(&self) -> Option<String> {
        self.open
            .as_ref()
            .map(|o| o.core.peek().session().session_id)
    }

    /// The connection section of the server in use.
    pub fn server_name(&self) -> Option<String> {
        self.open.as_ref().map(|o| o.core.server_name())
    }

    /// The remote ODBC interface of the open session.
    pub fn odbc(&self) -> Option<Odbc> {
        self.open.as_ref().map(|o| Odbc {
            core: Arc::clone(&o.core),
        })
    }
}

// Dropping a `ServerSession` drops its share of the session: the session lives on while a
// handle (`Odbc`, `Connection`, `Cursor`) still uses it, and closes when the last one goes
// (`Core`'s `Drop`). `close()` ends it at once, for every handle.

/// The server side's ODBC interface, as `session.open()` returns it: open database
/// connections, list data sources and drivers.
#[derive(Clone)]
pub struct Odbc {
    core: Arc<core::Core>,
}

impl Odbc {
    /// Opens a database connection with an ODBC connection string (`SQLDriverConnect`).
    ///
    /// # Errors
    /// The driver's error with its SQLSTATE (e.g. `IM002` for an unknown DSN).
    pub fn driver_connect(&self, connection_string: &str) -> Result<Connection, Error> {
        let request = Request::DriverConnect {
            connection_string: connection_string.to_owned(),
        };
        Connection::open(Arc::clone(&self.core), request)
    }

    /// Opens a database connection with a DSN, user and password (`SQLConnect`).
    ///
    /// # Errors
    /// The driver's error with its SQLSTATE.
    pub fn connect(&self, dsn: &str, uid: &str, pwd: &str) -> Result<Connection, Error> {
        let request = Request::Connect {
            dsn: dsn.to_owned(),
            uid: uid.to_owned(),
            pwd: pwd.to_owned(),
        };
        Connection::open(Arc::clone(&self.core), request)
    }

    /// The server's ODBC data sources.
    ///
    /// # Errors
    /// Driver manager or link errors.
    pub fn data_sources(&self) -> Result<Vec<DataSourceInfo>, Error> {
        match self
            .core
            .unless_drained(|| self.core.link()?.0.call(Request::ListDataSources))?
        {
            Response::DataSources(d) => Ok(d),
            other => Err(unexpected(&other)),
        }
    }

    /// The server's ODBC drivers.
    ///
    /// # Errors
    /// Driver manager or link errors.
    pub fn drivers(&self) -> Result<Vec<DriverInfo>, Error> {
        match self
            .core
            .unless_drained(|| self.core.link()?.0.call(Request::ListDrivers))?
        {
            Response::Drivers(d) => Ok(d),
            other => Err(unexpected(&other)),
        }
    }

    /// The server's registry state: sessions, connections, running requests in total, and the
    /// details of this user's own sessions (without authentication: of this session only).
    ///
    /// # Errors
    /// Link errors.
    pub fn status(&self) -> Result<ServerStatus, Error> {
        match self
            .core
            .unless_drained(|| self.core.link()?.0.call(Request::Status))?
        {
            Response::Status(s) => Ok(s),
            other => Err(unexpected(&other)),
        }
    }

    /// An admin request (see [`crate::proto::admin`]): users in the server's `admin_users` act
    /// on every session; others see and end their own sessions only.
    ///
    /// # Errors
    /// `ProgrammingError` `42501` for an admin-only request of another user, `42704`/`42702`
    /// for a session prefix that names none or several, the reload's error, link errors.
    pub fn admin(&self, command: AdminCommand) -> Result<AdminAnswer, Error> {
        let ask = || self.core.link()?.0.call(Request::Admin(command.clone()));
        // Questions may go to the next server when this one closed the session for a
        // shutdown before answering; orders name this server's sessions and state: never.
        let answer = if matches!(command, AdminCommand::Sessions | AdminCommand::Config) {
            self.core.unless_drained(ask)?
        } else {
            ask()?
        };
        match answer {
            Response::Admin(a) => Ok(a),
            other => Err(unexpected(&other)),
        }
    }

    /// The sessions this user may see (an admin: all): the server's total of open sessions,
    /// whether new sessions are paused, and each visible session's details.
    ///
    /// # Errors
    /// As [`Self::admin`].
    pub fn sessions(&self) -> Result<(u32, bool, Vec<SessionDetail>), Error> {
        match self.admin(AdminCommand::Sessions)? {
            AdminAnswer::Sessions {
                total,
                paused,
                sessions,
            } => Ok((total, paused, sessions)),
            other => Err(unexpected(&Response::Admin(other))),
        }
    }

    /// Runs an admin order and returns what the server says it did.
    ///
    /// # Errors
    /// As [`Self::admin`].
    pub fn admin_order(&self, command: AdminCommand) -> Result<String, Error> {
        match self.admin(command)? {
            AdminAnswer::Done { message } => Ok(message),
            AdminAnswer::Config { text } => Ok(text),
            other => Err(unexpected(&Response::Admin(other))),
        }
    }

    /// Frame bytes (compressed as on the wire) sent to and received from the current server.
    pub fn traffic(&self) -> (u64, u64) {
        self.core.peek().traffic()
    }

    /// Round trip to the server.
    ///
    /// # Errors
    /// Link errors.
    pub fn ping(&self) -> Result<(), Error> {
        self.core
            .unless_drained(|| self.core.link()?.0.call(Request::Ping))
            .map(|_| ())
    }
}

/// What the client does with the driver's warnings (`SQL_SUCCESS_WITH_INFO` diagnostics), as
/// mxODBC's `warningformat`: they are always added to the `messages` of the connection or
/// cursor; with `Raise` the call that got them also returns them as a `Warning` error (after
/// doing its work: a cursor's result is there to fetch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WarningFormat {
    /// Keep them in `messages` (the default).
    #[default]
    Collect,
    /// Keep them and return the first as an `Err` of class `Warning`.
    Raise,
    /// Drop them.
    Ignore,
}

impl WarningFormat {
    /// Files `warnings` into `messages` the way this format says; `Err` in `Raise` mode.
    pub(crate) fn file(
        self,
        warnings: Vec<DiagRecord>,
        messages: &mut Vec<DiagRecord>,
    ) -> Result<(), Error> {
        if warnings.is_empty() || self == Self::Ignore {
            return Ok(());
        }
        let raised = (self == Self::Raise).then(|| {
            let mut e = Error::from_records(warnings.clone(), "warning");
            e.class = ErrorClass::Warning;
            e
        });
        // Bounded like the server's list per request, so a long-lived cursor cannot grow
        // without end.
        messages.extend(warnings);
        let excess = messages.len().saturating_sub(MAX_MESSAGES);
        messages.drain(..excess);
        raised.map_or(Ok(()), Err)
    }
}

/// The most warnings a connection or cursor keeps in `messages` (the oldest go first).
pub const MAX_MESSAGES: usize = 256;

/// Splits an answer into the answer itself and the driver's warnings.
pub(crate) fn split_warnings(r: Response) -> (Response, Vec<DiagRecord>) {
    match r {
        Response::Warned { warnings, response } => (*response, warnings),
        r => (r, Vec::new()),
    }
}

pub(crate) fn unexpected(r: &Response) -> Error {
    Error::with_state(
        ErrorClass::ProtocolError,
        "08S01",
        format!("unexpected response from the server: {r:?}"),
    )
}

impl std::fmt::Debug for ServerSession {
    // The session id is a secret (it allows a resume): not shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSession")
            .field("server", &self.server_name())
            .field("server_version", &self.server_version())
            .field("closed", &self.closed())
            .finish()
    }
}

impl std::fmt::Debug for Odbc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Odbc")
            .field("server", &self.core.peek().peer)
            .finish()
    }
}
