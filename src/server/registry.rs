//! The registry actor: knows every session and counts physical database connections, enforcing
//! `max_sessions` and the licence limit `[License] max_connections`.
//!
//! Counts change only through its messages, in one place, so they never drift: a session
//! registers when it opens and unregisters when it stops for any reason (close, lost client,
//! error), which also releases every connection it still counted.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use actix::{Actor, Context, Handler, Message, MessageResult};

use crate::error::{DbError, ErrorClass};
use crate::proto::message::ServerStatus;

/// The exact message of manual FAQ 7.1.13.
pub const MAX_SESSIONS_MESSAGE: &str = "Maximum number of sessions reached.";

/// The exact message of manual FAQ 7.1.12 for a licence of `n` connections.
pub fn connection_limit_message(n: u32) -> String {
    format!("Connection limit exceeded. Your license allows {n} physical database connections.")
}

#[derive(Debug)]
struct SessionEntry {
    peer: SocketAddr,
    connections: u32,
}

/// The registry actor.
pub struct Registry {
    max_sessions: u32,
    max_connections: Option<u32>,
    sessions: HashMap<String, SessionEntry>,
    connections: u32,
    /// Requests running on database connections, counted by the sessions.
    running: Arc<AtomicU32>,
}

impl Registry {
    /// A registry enforcing the given limits.
    pub fn new(max_sessions: u32, max_connections: Option<u32>, running: Arc<AtomicU32>) -> Self {
        Self {
            max_sessions,
            max_connections,
            sessions: HashMap::new(),
            connections: 0,
            running,
        }
    }
}

impl Actor for Registry {
    type Context = Context<Self>;
}

/// A session asks to be admitted.
#[derive(Message)]
#[rtype(result = "Result<(), DbError>")]
pub struct RegisterSession {
    /// The new session's id.
    pub id: String,
    /// The client's address.
    pub peer: SocketAddr,
}

/// A session has ended; its connections are released too.
#[derive(Message)]
#[rtype(result = "()")]
pub struct UnregisterSession {
    /// The session's id.
    pub id: String,
}

/// A session wants to open one more physical database connection.
#[derive(Message)]
#[rtype(result = "Result<(), DbError>")]
pub struct AcquireConnection {
    /// The session's id.
    pub session: String,
}

/// A session closed a physical database connection (or failed to open one it acquired).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReleaseConnection {
    /// The session's id.
    pub session: String,
}

/// Asks for the registry's state.
#[derive(Message)]
#[rtype(result = "ServerStatus")]
pub struct GetStatus;

impl Handler<RegisterSession> for Registry {
    type Result = Result<(), DbError>;

    fn handle(&mut self, msg: RegisterSession, _: &mut Context<Self>) -> Self::Result {
        if self.sessions.len() >= self.max_sessions as usize {
            tracing::warn!(peer = %msg.peer, max_sessions = self.max_sessions, "session refused: {MAX_SESSIONS_MESSAGE}");
            return Err(DbError::new(
                ErrorClass::PolicyViolationError,
                MAX_SESSIONS_MESSAGE,
            ));
        }
        self.sessions.insert(
            msg.id,
            SessionEntry {
                peer: msg.peer,
                connections: 0,
            },
        );
        Ok(())
    }
}

impl Handler<UnregisterSession> for Registry {
    type Result = ();

    fn handle(&mut self, msg: UnregisterSession, _: &mut Context<Self>) {
        if let Some(s) = self.sessions.remove(&msg.id) {
            self.connections = self.connections.saturating_sub(s.connections);
            tracing::debug!(peer = %s.peer, released = s.connections, "session unregistered");
        }
    }
}

impl Handler<AcquireConnection> for Registry {
    type Result = Result<(), DbError>;

    fn handle(&mut self, msg: AcquireConnection, _: &mut Context<Self>) -> Self::Result {
        if let Some(max) = self.max_connections {
            if self.connections >= max {
                return Err(DbError::new(
                    ErrorClass::InterfaceError,
                    connection_limit_message(max),
                ));
            }
        }
        let Some(s) = self.sessions.get_mut(&msg.session) else {
            return Err(DbError::new(
                ErrorClass::InterfaceError,
                "session is not registered",
            ));
        };
        s.connections += 1;
        self.connections += 1;
        Ok(())
    }
}

impl Handler<ReleaseConnection> for Registry {
    type Result = ();

    fn handle(&mut self, msg: ReleaseConnection, _: &mut Context<Self>) {
        if let Some(s) = self.sessions.get_mut(&msg.session) {
            if s.connections > 0 {
                s.connections -= 1;
                self.connections = self.connections.saturating_sub(1);
            }
        }
    }
}

impl Handler<GetStatus> for Registry {
    type Result = MessageResult<GetStatus>;

    fn handle(&mut self, _: GetStatus, _: &mut Context<Self>) -> Self::Result {
        MessageResult(ServerStatus {
            sessions: self.sessions.len() as u32,
            connections: self.connections,
            running_requests: self.running.load(Ordering::Relaxed),
            max_sessions: self.max_sessions,
            max_connections: self.max_connections,
        })
    }
}
