//! Closing a session when the server shuts down (SIGTERM): at its next transaction boundary,
//! so that no client loses work. A session closes once every request it received is answered
//! and none of its connections is inside a transaction; its client then gets a notice
//! ([`drained`], SQLSTATE `08S02`) that says the session ended between requests, so whatever it
//! sent after its last answer did not run, and a client with `auto_reconnect` opens a session
//! on another server and sends it there. When the grace period is over, what is still open
//! is rolled back (the connections close) and the client is told so.

use std::collections::{HashMap, HashSet};

use super::*;
use crate::proto::message::CursorId;
use crate::server::registry::DrainSession;
use crate::server::transaction_text::{text_effect, TextEffect};

/// The notice of a session closed between requests for a shutdown.
pub(crate) fn drained() -> DbError {
    DbError::with_state(
        ErrorClass::ConnectionFailureError,
        crate::proto::DRAINED_SQLSTATE,
        "the server is shutting down: the session was closed between requests, and nothing sent after its last answer ran; open a session on another server",
    )
}

/// What a request does to its connection's transaction and results, settled when its answer
/// goes out (a COMMIT that fails leaves the transaction open).
#[derive(Debug, Clone, Copy)]
enum Effect {
    AutocommitOn,
    AutocommitOff,
    /// COMMIT or ROLLBACK.
    End,
    CloseConnection,
    /// Runs SQL: opens a transaction in manual-commit mode; `text` is what the statement text
    /// itself does (`BEGIN`, `COMMIT`, ...); the answer says whether a result stays open.
    Statement {
        text: Option<TextEffect>,
    },
    /// Reads a result (its answer says whether rows remain).
    Read,
    CloseCursor,
}

/// Where each connection's transaction and results stand, from the requests the session
/// forwarded and their answers: a connection is inside a transaction from its first statement
/// in manual-commit mode (or a `BEGIN` in its SQL) to a successful commit or rollback; a
/// result with rows still to read keeps the session busy too.
#[derive(Default)]
pub(super) struct Transactions {
    manual: HashSet<ConnId>,
    open: HashSet<ConnId>,
    results: HashSet<(ConnId, CursorId)>,
    pending: HashMap<RequestId, (ConnId, Option<CursorId>, Effect)>,
}

impl Transactions {
    /// Records what request `id` will do, to settle when it is answered.
    pub(super) fn note(&mut self, id: RequestId, request: &Request) {
        let effect = match request {
            Request::SetAutocommit { on: true, .. } => Effect::AutocommitOn,
            Request::SetAutocommit { on: false, .. } => Effect::AutocommitOff,
            Request::Commit { .. } | Request::Rollback { .. } => Effect::End,
            Request::CloseConnection { .. } => Effect::CloseConnection,
            Request::Execute { sql, .. } | Request::ExecuteMany { sql, .. } => Effect::Statement {
                text: text_effect(sql),
            },
            // A batch may stop before its COMMIT: it can open a transaction, never end one.
            Request::Batch { statements, .. } => Effect::Statement {
                text: statements
                    .iter()
                    .any(|s| text_effect(&s.sql) == Some(TextEffect::Begin))
                    .then_some(TextEffect::Begin),
            },
            Request::CallProcedure { .. } | Request::Catalog { .. } | Request::Prepare { .. } => {
                Effect::Statement { text: None }
            }
            Request::Fetch { .. } | Request::NextResult { .. } | Request::Scroll { .. } => {
                Effect::Read
            }
            Request::CloseCursor { .. } => Effect::CloseCursor,
            _ => return,
        };
        if let Some(conn) = request.conn() {
            self.pending.insert(id, (conn, request.cursor(), effect));
        }
    }

    /// Request `id` was answered: `failed` when with an error, `more_rows` when a result with
    /// rows still to read stays open.
    pub(super) fn settle(&mut self, id: RequestId, failed: bool, more_rows: bool) {
        let Some((conn, cursor, effect)) = self.pending.remove(&id) else {
            return;
        };
        let result = cursor.map(|c| (conn, c));
        match effect {
            Effect::AutocommitOn if !failed => {
                self.manual.remove(&conn);
                self.open.remove(&conn);
            }
            Effect::AutocommitOff if !failed => {
                self.manual.insert(conn);
            }
            Effect::End if !failed => {
                self.open.remove(&conn);
            }
            Effect::CloseConnection if !failed => {
                self.manual.remove(&conn);
                self.open.remove(&conn);
                self.results.retain(|(c, _)| *c != conn);
            }
            Effect::Statement { text } => {
                // Even a failed statement leaves a manual transaction open (PostgreSQL's is
                // then aborted, still to be rolled back).
                if self.manual.contains(&conn) {
                    self.open.insert(conn);
                }
                match text {
                    Some(TextEffect::Begin) if !failed => {
                        self.open.insert(conn);
                    }
                    // A COMMIT or ROLLBACK in SQL that succeeded ends it (in manual-commit mode
                    // too: the driver starts the next one with the next statement).
                    Some(TextEffect::End) if !failed => {
                        self.open.remove(&conn);
                    }
                    _ => {}
                }
                self.track_result(result, more_rows);
            }
            Effect::Read => self.track_result(result, more_rows),
            Effect::CloseCursor => {
                if let Some(r) = result {
                    self.results.remove(&r);
                }
            }
            _ => {}
        }
    }

    fn track_result(&mut self, result: Option<(ConnId, CursorId)>, more_rows: bool) {
        if let Some(r) = result {
            if more_rows {
                self.results.insert(r);
            } else {
                self.results.remove(&r);
            }
        }
    }

    /// No connection is inside a transaction and no result has rows left to read.
    pub(super) fn at_boundary(&self) -> bool {
        self.open.is_empty() && self.results.is_empty()
    }
}

impl Session {
    /// Request `id` has its answer (`failed`: an error; `more_rows`: a result with rows left).
    pub(super) fn answered(&mut self, id: RequestId, failed: bool, more_rows: bool) {
        self.answered_at(id, failed, more_rows, None);
    }

    /// [`Self::answered`] for an answer that left at `at` (now when `None`).
    pub(super) fn answered_at(
        &mut self,
        id: RequestId,
        failed: bool,
        more_rows: bool,
        at: Option<Instant>,
    ) {
        if let Some((kind, arrived)) = self.unanswered.remove(&id) {
            let left = at.unwrap_or_else(Instant::now);
            self.shared
                .metrics
                .answered(kind, left.saturating_duration_since(arrived));
        }
        self.transactions.settle(id, failed, more_rows);
    }

    /// While shutting down: closes the session if it is between requests and transactions.
    pub(super) fn close_if_drained(&mut self, ctx: &mut Context<Self>) {
        if self.draining && self.link.is_none() {
            return self.end_if_detached_while_draining(ctx);
        }
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
        self.fail(drained(), ctx);
    }

    /// While shutting down, a session without a link ends at once: the listeners are closed,
    /// so its client cannot come back (what it had open is rolled back).
    pub(super) fn end_if_detached_while_draining(&mut self, ctx: &mut Context<Self>) {
        if self.draining && self.link.is_none() && !self.closing {
            tracing::info!(peer = %self.peer, "detached session closed for the shutdown");
            self.end(drained_detached(), ctx);
        }
    }
}

/// Why a session that had no link when the server shut down ended.
fn drained_detached() -> DbError {
    DbError::with_state(
        ErrorClass::ConnectionFailureError,
        "08S01",
        "the server shut down while the session's link was down: what it had open was rolled back",
    )
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
