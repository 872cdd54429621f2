//! Closing a session when the server shuts down (SIGTERM): at its next transaction boundary,
//! so that no client loses work. A session closes once every request it received is answered
//! and none of its connections is inside a transaction; its client then gets a notice
//! ([`drained`], SQLSTATE `08S02`) that says the session ended between requests, so whatever it
//! sent after its last answer did not run, and a client with `auto_reconnect` opens a session
//! on another server and sends it there. When the grace period is over, what is still open
//! is rolled back (the connections close) and the client is told so.

use std::collections::HashSet;

use super::*;
use crate::server::registry::DrainSession;

/// The notice of a session closed between requests for a shutdown.
pub(crate) fn drained() -> DbError {
    DbError::with_state(
        ErrorClass::ConnectionFailureError,
        crate::proto::DRAINED_SQLSTATE,
        "the server is shutting down: the session was closed between requests, and nothing sent after its last answer ran; open a session on another server",
    )
}

/// Where each connection's transaction stands, from the requests the session forwarded: a
/// connection with autocommit off is inside a transaction from its first statement to its
/// commit or rollback.
#[derive(Default)]
pub(super) struct Transactions {
    manual: HashSet<ConnId>,
    open: HashSet<ConnId>,
}

impl Transactions {
    /// Follows one request.
    pub(super) fn note(&mut self, request: &Request) {
        match request {
            Request::SetAutocommit { conn, on: true } => {
                self.manual.remove(conn);
                self.open.remove(conn);
            }
            Request::SetAutocommit { conn, on: false } => {
                self.manual.insert(*conn);
            }
            Request::Commit { conn } | Request::Rollback { conn } => {
                self.open.remove(conn);
            }
            Request::CloseConnection { conn } => {
                self.manual.remove(conn);
                self.open.remove(conn);
            }
            other => {
                if let Some(conn) = other.conn() {
                    if self.manual.contains(&conn) {
                        self.open.insert(conn);
                    }
                }
            }
        }
    }

    /// No connection is inside a transaction.
    pub(super) fn at_boundary(&self) -> bool {
        self.open.is_empty()
    }
}

impl Session {
    /// Request `id` has its answer.
    pub(super) fn answered(&mut self, id: RequestId) {
        self.unanswered.remove(&id);
    }

    /// While shutting down: closes the session if it is between requests and transactions.
    pub(super) fn close_if_drained(&mut self, ctx: &mut Context<Self>) {
        if !self.draining
            || self.closing
            || !self.unanswered.is_empty()
            || !self.running.is_empty()
            || self.queued_total > 0
            || self.opening > 0
            || !self.transactions.at_boundary()
        {
            return;
        }
        tracing::info!(peer = %self.peer, "session closed for the shutdown, between requests");
        let reason = drained();
        if self.link.is_some() {
            self.fail(reason, ctx);
        } else {
            // Detached: its client gets the notice if it comes back within the window.
            self.end_reason = Some(reason);
            self.closing = true;
        }
    }
}

impl Handler<DrainSession> for Session {
    type Result = ();

    fn handle(&mut self, msg: DrainSession, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        self.draining = true;
        if !msg.now {
            return self.close_if_drained(ctx);
        }
        if self.closing {
            // Closed already; one waiting for its client to come back goes now.
            if self.link.is_none() {
                ctx.stop();
            }
            return;
        }
        tracing::info!(peer = %self.peer, "session closed: the shutdown's grace period is over");
        self.fail(
            DbError::with_state(
                ErrorClass::ConnectionFailureError,
                "08S01",
                "the server shut down: its grace period ended with this session inside a transaction or a request, which was rolled back or cancelled",
            ),
            ctx,
        );
    }
}
