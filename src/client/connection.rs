//! A database connection on the server, DB-API style.

use std::sync::{Arc, Mutex};

use super::conn_inner::{connected, ConnInner, ConnState};
use super::core::Core;
use super::cursor::Cursor;
use super::link::Link;
use super::Error;
use crate::error::ErrorClass;
use crate::proto::message::{Request, Response};

/// One physical database connection, opened on the server by [`super::Odbc::driver_connect`]
/// or [`super::Odbc::connect`]. Autocommit is on when it opens, as in ODBC. Dropping it closes
/// it on the server (rolling back what was not committed). With `auto_reconnect`, after its
/// session was lost and opened again, it connects again by itself (same connection string,
/// same autocommit setting) on its next use.
pub struct Connection {
    pub(crate) inner: Arc<ConnInner>,
}

impl Connection {
    pub(crate) fn open(core: Arc<Core>, request: Request) -> Result<Self, Error> {
        let (link, generation) = core.link()?;
        let (id, dbms_name) = connected(link.call(request.clone())?)?;
        Ok(Self {
            inner: Arc::new(ConnInner {
                core,
                open: request,
                state: Mutex::new(ConnState {
                    id,
                    generation,
                    dbms_name,
                    autocommit: true,
                    closed: false,
                }),
            }),
        })
    }

    /// The DBMS name the driver reports (e.g. `PostgreSQL`, `SQLite`).
    pub fn dbms_name(&self) -> String {
        self.inner.state().dbms_name.clone()
    }

    /// A new cursor on this connection.
    pub fn cursor(&self) -> Cursor {
        Cursor::new(Arc::clone(&self.inner), Link::new_cursor_id())
    }

    /// Commits the current transaction.
    ///
    /// # Errors
    /// The database's error; when the link is lost after the COMMIT was sent (and could not be
    /// resumed), a `ConnectionFailureError` that says the outcome is unknown.
    pub fn commit(&self) -> Result<(), Error> {
        let (link, conn) = self.inner.ensure()?;
        let id = link.send(Request::Commit { conn })?;
        match link.wait(id) {
            Ok(Response::Error(e)) => Err(e),
            Ok(_) => Ok(()),
            // The COMMIT went out and its answer did not come back: it may have happened.
            Err(mut e)
                if matches!(
                    e.class,
                    ErrorClass::ConnectionFailureError | ErrorClass::TimeoutError
                ) =>
            {
                e.message = format!(
                    "the outcome of COMMIT is unknown (the transaction may have been committed): {}",
                    e.message
                );
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Rolls back the current transaction.
    ///
    /// # Errors
    /// The database's error.
    pub fn rollback(&self) -> Result<(), Error> {
        let (link, conn) = self.inner.ensure()?;
        link.call(Request::Rollback { conn }).map(|_| ())
    }

    /// Whether autocommit is on.
    pub fn autocommit(&self) -> bool {
        self.inner.state().autocommit
    }

    /// Turns autocommit on or off.
    ///
    /// # Errors
    /// The driver's error.
    pub fn set_autocommit(&mut self, on: bool) -> Result<(), Error> {
        let (link, conn) = self.inner.ensure()?;
        link.call(Request::SetAutocommit { conn, on })?;
        self.inner.state().autocommit = on;
        Ok(())
    }

    /// True once closed.
    pub fn closed(&self) -> bool {
        self.inner.state().closed
    }

    /// Closes the connection on the server; what was not committed is rolled back.
    ///
    /// # Errors
    /// Link errors (the connection counts as closed anyway).
    pub fn close(&mut self) -> Result<(), Error> {
        let (link, conn) = {
            let mut st = self.inner.state();
            if st.closed {
                return Ok(());
            }
            st.closed = true;
            if st.generation != self.inner.core.generation() {
                // It went with a session that was lost: nothing is left to close.
                return Ok(());
            }
            (self.inner.core.peek(), st.id)
        };
        link.call(Request::CloseConnection { conn }).map(|_| ())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let st = self.inner.state();
        if !st.closed {
            let link = self.inner.core.peek();
            if !link.is_broken() {
                link.send_and_forget(Request::CloseConnection { conn: st.id });
            }
        }
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.inner.state();
        f.debug_struct("Connection")
            .field("id", &st.id)
            .field("dbms_name", &st.dbms_name)
            .field("autocommit", &st.autocommit)
            .field("closed", &st.closed)
            .finish()
    }
}
