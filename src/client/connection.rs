//! A database connection on the server, DB-API style.

use std::sync::Arc;

use super::cursor::Cursor;
use super::link::Link;
use super::{unexpected, Error};
use crate::error::ErrorClass;
use crate::proto::message::{ConnId, Request, Response};

/// One physical database connection, opened on the server by [`super::Odbc::driver_connect`]
/// or [`super::Odbc::connect`]. Autocommit is on when it opens, as in ODBC. Dropping it closes
/// it on the server (rolling back what was not committed).
pub struct Connection {
    link: Arc<Link>,
    id: ConnId,
    dbms_name: String,
    autocommit: bool,
    closed: bool,
}

impl Connection {
    pub(crate) fn from_response(link: Arc<Link>, r: Response) -> Result<Self, Error> {
        match r {
            Response::Connected { conn, dbms_name } => Ok(Self {
                link,
                id: conn,
                dbms_name,
                autocommit: true,
                closed: false,
            }),
            other => Err(unexpected(&other)),
        }
    }

    fn check_open(&self) -> Result<(), Error> {
        if self.closed {
            return Err(Error::with_state(
                ErrorClass::ProgrammingError,
                "08003",
                "the connection is closed",
            ));
        }
        Ok(())
    }

    /// The DBMS name the driver reports (e.g. `PostgreSQL`, `SQLite`).
    pub fn dbms_name(&self) -> &str {
        &self.dbms_name
    }

    /// A new cursor on this connection.
    pub fn cursor(&self) -> Cursor {
        Cursor::new(Arc::clone(&self.link), self.id, self.link.new_cursor_id())
    }

    /// Commits the current transaction.
    ///
    /// # Errors
    /// The database's error.
    pub fn commit(&self) -> Result<(), Error> {
        self.check_open()?;
        self.link
            .call(Request::Commit { conn: self.id })
            .map(|_| ())
    }

    /// Rolls back the current transaction.
    ///
    /// # Errors
    /// The database's error.
    pub fn rollback(&self) -> Result<(), Error> {
        self.check_open()?;
        self.link
            .call(Request::Rollback { conn: self.id })
            .map(|_| ())
    }

    /// Whether autocommit is on.
    pub fn autocommit(&self) -> bool {
        self.autocommit
    }

    /// Turns autocommit on or off.
    ///
    /// # Errors
    /// The driver's error.
    pub fn set_autocommit(&mut self, on: bool) -> Result<(), Error> {
        self.check_open()?;
        self.link
            .call(Request::SetAutocommit { conn: self.id, on })?;
        self.autocommit = on;
        Ok(())
    }

    /// True once closed.
    pub fn closed(&self) -> bool {
        self.closed
    }

    /// Closes the connection on the server; what was not committed is rolled back.
    ///
    /// # Errors
    /// Link errors (the connection counts as closed anyway).
    pub fn close(&mut self) -> Result<(), Error> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        self.link
            .call(Request::CloseConnection { conn: self.id })
            .map(|_| ())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if !self.closed && !self.link.is_broken() {
            self.link
                .send_and_forget(Request::CloseConnection { conn: self.id });
        }
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.id)
            .field("dbms_name", &self.dbms_name)
            .field("autocommit", &self.autocommit)
            .field("closed", &self.closed)
            .finish()
    }
}
