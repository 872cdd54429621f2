//! What a connection shares with its cursors: the session, how it was opened, and its id on
//! the current session (connecting again after an automatic re-open). Its own module so that
//! `connection` and `cursor` each depend on it, not on each other.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::core::Core;
use super::link::Link;
use super::{unexpected, Error, WarningFormat};
use crate::error::{DiagRecord, ErrorClass};
use crate::proto::message::{ConnId, Request, Response};
use crate::proto::statement::ConnectionOption;

/// What a connection's cursors share with it.
pub(crate) struct ConnInner {
    pub(super) core: Arc<Core>,
    /// The request that opened it, to open it again after a re-open.
    pub(super) open: Request,
    pub(super) state: Mutex<ConnState>,
}

/// A connection's id on its current session, and what it is set to.
pub(super) struct ConnState {
    pub(super) id: ConnId,
    /// The session generation the id belongs to (a re-opened session needs a new one).
    pub(super) generation: u64,
    pub(super) dbms_name: String,
    pub(super) autocommit: bool,
    pub(super) closed: bool,
    /// Connection attributes the application set, applied again after a re-open.
    pub(super) options: Vec<ConnectionOption>,
    /// A [`super::connection::Transaction`] guard is open.
    pub(super) in_transaction: bool,
    /// The session was lost and re-opened inside a transaction: its work is gone.
    pub(super) transaction_lost: bool,
    /// What the connection (and its new cursors) do with warnings.
    pub(super) warning_format: WarningFormat,
    /// Warnings of the connection's own requests.
    pub(super) messages: Vec<DiagRecord>,
}

/// The id and DBMS name of a `Connected` answer.
pub(super) fn connected(r: Response) -> Result<(ConnId, String), Error> {
    match r {
        Response::Connected { conn, dbms_name } => Ok((conn, dbms_name)),
        other => Err(unexpected(&other)),
    }
}

impl ConnInner {
    /// What new cursors do with warnings.
    pub(crate) fn warning_format(&self) -> WarningFormat {
        self.state().warning_format
    }

    pub(super) fn state(&self) -> MutexGuard<'_, ConnState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The connection is open on the server now: not closed, and not gone with a lost session.
    pub(super) fn open_on_server(&self) -> bool {
        let st = self.state();
        !st.closed && st.generation == self.core.generation()
    }

    /// The link and connection id to use now, connecting again on a new session after an
    /// automatic re-open.
    pub(crate) fn ensure(&self) -> Result<(Arc<Link>, ConnId), Error> {
        let (link, generation) = self.core.link()?;
        let mut st = self.state();
        if st.closed {
            return Err(Error::with_state(
                ErrorClass::ProgrammingError,
                "08003",
                "the connection is closed",
            ));
        }
        if st.generation != generation {
            let (id, dbms_name) = connected(link.call(self.open.clone())?)?;
            if !st.autocommit {
                link.call(Request::SetAutocommit {
                    conn: id,
                    on: false,
                })?;
            }
            for option in st.options.clone() {
                link.call(Request::SetConnectionOption { conn: id, option })?;
            }
            st.id = id;
            st.dbms_name = dbms_name;
            st.generation = generation;
            if st.in_transaction {
                // A guard's transaction died with the old session: its work is gone. Say so
                // (and make the guard's commit fail), never carry on as if it went on and
                // commit only what runs from here.
                st.transaction_lost = true;
                return Err(Error::with_state(
                    ErrorClass::OperationalError,
                    "08007",
                    "the session was lost and opened again: the open transaction's work is gone (rolled back with the old session); start it again",
                ));
            }
        }
        Ok((link, st.id))
    }
}

impl Drop for ConnInner {
    /// The connection's last handle (the `Connection` or one of its cursors) is gone: close it
    /// on the server (rolling back what was not committed), unless it went with a lost session.
    fn drop(&mut self) {
        if self.open_on_server() {
            let link = self.core.peek();
            if !link.is_broken() {
                link.send_and_forget(Request::CloseConnection {
                    conn: self.state().id,
                });
            }
        }
    }
}
