//! An async facade for tokio applications (feature `tokio`): the same session, connection and
//! cursor, each call run on tokio's blocking pool (`spawn_blocking`), so an async task never
//! blocks its executor. Fail-over, session resume with exactly-once answers, TLS and every
//! guarantee are the synchronous client's: these types wrap it.
//!
//! Cancel safety: dropping a future (a `select!` that lost, a timeout) does not stop its call,
//! which goes on on the blocking pool, holding its cursor until it ends; the runtime waits
//! for it at shutdown. To stop a statement, use [`AsyncCursor::cancel`] (or the cursor's
//! query timeout), then await the call's error.
//!
//! ```no_run
//! # async fn f() -> Result<(), odbcd::client::Error> {
//! use odbcd::client::tokio::AsyncSession;
//! use odbcd::client::{ClientConfig, OpenOptions};
//! let config = ClientConfig::load(Some("client-config.ini".as_ref()), None)
//!     .map_err(|e| odbcd::client::Error::new(odbcd::client::ErrorClass::ConfigurationError, e.to_string()))?;
//! let (session, odbc) = AsyncSession::open(config, OpenOptions::new()).await?;
//! let conn = odbc.driver_connect("DSN=demo").await?;
//! let cursor = conn.cursor();
//! cursor.execute("SELECT id, name FROM fruit WHERE id > ?", odbcd::params![1]).await?;
//! for row in cursor.fetchall().await? {
//!     let name: String = row.get("name");
//! }
//! session.close().await?;
//! # Ok(()) }
//! ```

use std::sync::{Arc, Mutex, PoisonError};

use super::{
    CancelHandle, ClientConfig, ColumnDesc, Connection, Cursor, Error, ErrorClass, InfoValue, Odbc,
    OpenOptions, Row, ServerSession, Value,
};

/// Runs `f` on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    match ::tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(Error::new(
            ErrorClass::InterfaceError,
            format!("the blocking call did not complete: {e}"),
        )),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A session (the async [`ServerSession`]).
#[derive(Clone)]
pub struct AsyncSession {
    session: Arc<Mutex<ServerSession>>,
}

impl AsyncSession {
    /// Opens a session with `config` (fail-over over its `server_connections`).
    ///
    /// # Errors
    /// As [`ServerSession::open`].
    pub async fn open(
        config: ClientConfig,
        options: OpenOptions,
    ) -> Result<(Self, AsyncOdbc), Error> {
        blocking(move || {
            let mut session = ServerSession::with_config(config);
            let odbc = session.open_with(&options)?;
            Ok((
                Self {
                    session: Arc::new(Mutex::new(session)),
                },
                AsyncOdbc { odbc },
            ))
        })
        .await
    }

    /// Closes the session on the server.
    ///
    /// # Errors
    /// As [`ServerSession::close`].
    pub async fn close(&self) -> Result<(), Error> {
        let session = Arc::clone(&self.session);
        blocking(move || lock(&session).close()).await
    }

    /// The server's software version.
    pub fn server_version(&self) -> String {
        lock(&self.session).server_version()
    }
}

/// The ODBC proxy of a session (the async [`Odbc`]).
#[derive(Clone)]
pub struct AsyncOdbc {
    odbc: Odbc,
}

impl AsyncOdbc {
    /// Opens a database connection with a connection string.
    ///
    /// # Errors
    /// As [`Odbc::driver_connect`].
    pub async fn driver_connect(&self, connection_string: &str) -> Result<AsyncConnection, Error> {
        let odbc = self.odbc.clone();
        let s = connection_string.to_owned();
        blocking(move || odbc.driver_connect(&s))
            .await
            .map(|c| AsyncConnection { conn: Arc::new(c) })
    }

    /// Opens a database connection with DSN, user and password.
    ///
    /// # Errors
    /// As [`Odbc::connect`].
    pub async fn connect(&self, dsn: &str, uid: &str, pwd: &str) -> Result<AsyncConnection, Error> {
        let odbc = self.odbc.clone();
        let (dsn, uid, pwd) = (dsn.to_owned(), uid.to_owned(), pwd.to_owned());
        blocking(move || odbc.connect(&dsn, &uid, &pwd))
            .await
            .map(|c| AsyncConnection { conn: Arc::new(c) })
    }
}

/// A database connection (the async [`Connection`]); clones share it.
#[derive(Clone)]
pub struct AsyncConnection {
    conn: Arc<Connection>,
}

impl AsyncConnection {
    /// A new cursor.
    pub fn cursor(&self) -> AsyncCursor {
        let cursor = self.conn.cursor();
        AsyncCursor {
            cancel: cursor.cancel_handle(),
            cursor: Arc::new(Mutex::new(cursor)),
        }
    }

    /// Commits.
    ///
    /// # Errors
    /// As [`Connection::commit`].
    pub async fn commit(&self) -> Result<(), Error> {
        let conn = Arc::clone(&self.conn);
        blocking(move || conn.commit()).await
    }

    /// Rolls back.
    ///
    /// # Errors
    /// As [`Connection::rollback`].
    pub async fn rollback(&self) -> Result<(), Error> {
        let conn = Arc::clone(&self.conn);
        blocking(move || conn.rollback()).await
    }

    /// Turns autocommit on or off.
    ///
    /// # Errors
    /// As [`Connection::set_autocommit`].
    pub async fn set_autocommit(&self, on: bool) -> Result<(), Error> {
        let conn = Arc::clone(&self.conn);
        blocking(move || conn.set_autocommit(on)).await
    }

    /// `SQLGetInfo`.
    ///
    /// # Errors
    /// As [`Connection::getinfo`].
    pub async fn getinfo(&self, info_type: &str) -> Result<InfoValue, Error> {
        let conn = Arc::clone(&self.conn);
        let t = info_type.to_owned();
        blocking(move || conn.getinfo(&t)).await
    }

    /// The synchronous connection, for what the facade does not wrap (call it from a blocking
    /// context).
    pub fn blocking_connection(&self) -> &Connection {
        &self.conn
    }
}

/// A cursor (the async [`Cursor`]); clones share it (their calls run one at a time).
#[derive(Clone)]
pub struct AsyncCursor {
    cursor: Arc<Mutex<Cursor>>,
    /// Taken at creation: the cursor's lock is held while a call runs.
    cancel: CancelHandle,
}

impl AsyncCursor {
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Cursor) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let cursor = Arc::clone(&self.cursor);
        blocking(move || f(&mut lock(&cursor))).await
    }

    /// Executes a statement.
    ///
    /// # Errors
    /// As [`Cursor::execute`].
    pub async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<(), Error> {
        let sql = sql.to_owned();
        self.with(move |c| c.execute(&sql, &params).map(|_| ()))
            .await
    }

    /// Executes a statement once per parameter set.
    ///
    /// # Errors
    /// As [`Cursor::executemany`].
    pub async fn executemany(&self, sql: &str, sets: Vec<Vec<Value>>) -> Result<(), Error> {
        let sql = sql.to_owned();
        self.with(move |c| c.executemany(&sql, &sets).map(|_| ()))
            .await
    }

    /// The next row.
    ///
    /// # Errors
    /// As [`Cursor::fetchone`].
    pub async fn fetchone(&self) -> Result<Option<Row>, Error> {
        self.with(Cursor::fetchone).await
    }

    /// Up to `n` rows.
    ///
    /// # Errors
    /// As [`Cursor::fetchmany`].
    pub async fn fetchmany(&self, n: Option<usize>) -> Result<Vec<Row>, Error> {
        self.with(move |c| c.fetchmany(n)).await
    }

    /// All remaining rows.
    ///
    /// # Errors
    /// As [`Cursor::fetchall`].
    pub async fn fetchall(&self) -> Result<Vec<Row>, Error> {
        self.with(Cursor::fetchall).await
    }

    /// The result's columns (after the cursor's running call, if any).
    ///
    /// # Errors
    /// Only if the blocking pool fails.
    pub async fn description(&self) -> Result<Option<Vec<ColumnDesc>>, Error> {
        self.with(|c| Ok(c.description().map(<[_]>::to_vec))).await
    }

    /// Rows affected by the last statement.
    ///
    /// # Errors
    /// Only if the blocking pool fails.
    pub async fn rowcount(&self) -> Result<i64, Error> {
        self.with(|c| Ok(c.rowcount())).await
    }

    /// Sets the query timeout of the cursor's next statements.
    ///
    /// # Errors
    /// Only if the blocking pool fails.
    pub async fn set_query_timeout(&self, seconds: u32) -> Result<(), Error> {
        self.with(move |c| {
            c.set_query_timeout(seconds);
            Ok(())
        })
        .await
    }

    /// A handle that cancels the running statement, usable from any thread while a call of
    /// this cursor is awaited (its `cancel()` is a blocking round trip: from async code, use
    /// [`Self::cancel`]).
    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.clone()
    }

    /// Cancels the statement this cursor runs now (on the blocking pool). Returns false when
    /// it runs nothing yet (a call still queued for the pool or for the cursor).
    ///
    /// # Errors
    /// As [`CancelHandle::cancel`].
    pub async fn cancel(&self) -> Result<bool, Error> {
        let handle = self.cancel.clone();
        blocking(move || handle.cancel()).await
    }
}
