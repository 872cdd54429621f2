//! The registry's side of the admin requests (see [`crate::server::admin`]): listing the
//! sessions a viewer may see (each describes itself), finding the one session an order names,
//! and pausing new sessions.

use std::time::Duration;

use actix::{Handler, Message, MessageResult, ResponseFuture};

use super::{public_prefix, Registry, PAUSED_MESSAGE};
use crate::error::{DbError, ErrorClass};
use crate::proto::admin::{AdminAnswer, SessionDetail};
use crate::server::admin::Viewer;

/// How long a session gets to describe itself for a list (it is an actor that never blocks:
/// only a session that ends meanwhile does not answer).
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a session gets to carry out a kill or cancel (it may be closing, waiting for its
/// connections): past it the admin is told so.
const INTERVENE_TIMEOUT: Duration = Duration::from_secs(5);

/// Asks a session for its details (sent by the registry for [`ListSessions`]).
#[derive(Message)]
#[rtype(result = "SessionDetail")]
pub struct Describe {
    /// The asking session's id (the answer says whether it is this one).
    pub asker: String,
}

/// What an admin orders a session to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// End the session (its transactions are rolled back).
    Kill,
    /// Cancel its running requests.
    Cancel,
}

/// An admin's order to a session (sent by the registry for [`InterveneIn`]); the answer says
/// what it did.
#[derive(Message)]
#[rtype(result = "String")]
pub struct Intervene {
    /// What to do.
    pub action: Action,
    /// Who ordered it (for the log and the client's notice).
    pub by: String,
}

/// Lists the sessions `viewer` may see; answered with [`AdminAnswer::Sessions`].
#[derive(Message)]
#[rtype(result = "AdminAnswer")]
pub struct ListSessions {
    /// Who asks.
    pub viewer: Viewer,
}

/// Orders the one session whose public id starts with `prefix` (among those `viewer` may see).
#[derive(Message)]
#[rtype(result = "Result<String, DbError>")]
pub struct InterveneIn {
    /// Who orders.
    pub viewer: Viewer,
    /// A prefix of the session's public id (1 to 8 characters).
    pub prefix: String,
    /// What to do.
    pub action: Action,
}

/// Pauses (`true`) or resumes (`false`) admitting new sessions.
#[derive(Message)]
#[rtype(result = "String")]
pub struct SetPaused(pub bool);

impl Handler<ListSessions> for Registry {
    type Result = ResponseFuture<AdminAnswer>;

    fn handle(&mut self, msg: ListSessions, _: &mut Self::Context) -> Self::Result {
        let total = self.sessions.len() as u32;
        let paused = self.paused;
        let asks: Vec<_> = self
            .sessions
            .iter()
            .filter(|(id, s)| msg.viewer.may_see(id, &s.user))
            .map(|(id, s)| {
                // What the registry knows, for a session that does not answer in time.
                let known = SessionDetail {
                    id_prefix: public_prefix(id).to_owned(),
                    user: s.user.clone(),
                    peer: s.peer.to_string(),
                    client_name: "(not answering)".to_owned(),
                    opened_unix_ms: 0,
                    idle_ms: 0,
                    connections: s.connections,
                    attached: s.stats.attached.load(std::sync::atomic::Ordering::Relaxed),
                    own: *id == msg.viewer.session,
                    running: Vec::new(),
                };
                let ask = tokio::time::timeout(
                    DESCRIBE_TIMEOUT,
                    s.describe.send(Describe {
                        asker: msg.viewer.session.clone(),
                    }),
                );
                async move {
                    match ask.await {
                        Ok(Ok(detail)) => Some(detail),
                        // Ended meanwhile: not listed.
                        Ok(Err(_)) => None,
                        Err(_) => Some(known),
                    }
                }
            })
            .collect();
        Box::pin(async move {
            let mut sessions: Vec<SessionDetail> = futures_util::future::join_all(asks)
                .await
                .into_iter()
                .flatten()
                .collect();
            sessions.sort_by(|a, b| {
                (a.opened_unix_ms, &a.id_prefix).cmp(&(b.opened_unix_ms, &b.id_prefix))
            });
            AdminAnswer::Sessions {
                total,
                paused,
                sessions,
            }
        })
    }
}

impl Handler<InterveneIn> for Registry {
    type Result = ResponseFuture<Result<String, DbError>>;

    fn handle(&mut self, msg: InterveneIn, _: &mut Self::Context) -> Self::Result {
        let prefix = msg.prefix.trim();
        let found: Result<_, DbError> = if prefix.is_empty()
            || prefix.len() > 8
            || !prefix.chars().all(|c| c.is_ascii_hexdigit())
        {
            Err(DbError::with_state(
                ErrorClass::ProgrammingError,
                "HY024",
                "name a session by 1 to 8 hex characters of its id, as \\sessions shows it",
            ))
        } else {
            let prefix = prefix.to_ascii_lowercase();
            let matching: Vec<_> = self
                .sessions
                .iter()
                .filter(|(id, s)| {
                    public_prefix(id).starts_with(&prefix) && msg.viewer.may_see(id, &s.user)
                })
                .map(|(id, s)| (id.clone(), s.intervene.clone()))
                .collect();
            match matching.as_slice() {
                [(id, _)] if *id == msg.viewer.session => Err(DbError::with_state(
                    ErrorClass::ProgrammingError,
                    "42000",
                    "that is the session you are asking from: close it instead",
                )),
                [(_, one)] => Ok(one.clone()),
                [] => Err(DbError::with_state(
                    ErrorClass::ProgrammingError,
                    "42704",
                    format!("no session {prefix} that you may see"),
                )),
                many => Err(DbError::with_state(
                    ErrorClass::ProgrammingError,
                    "42702",
                    format!(
                        "{} sessions start with {prefix}: give more of the id",
                        many.len()
                    ),
                )),
            }
        };
        let by = if msg.viewer.user.is_empty() {
            "the session's own client".to_owned()
        } else {
            msg.viewer.user.clone()
        };
        let action = msg.action;
        Box::pin(async move {
            match tokio::time::timeout(INTERVENE_TIMEOUT, found?.send(Intervene { action, by }))
                .await
            {
                Ok(Ok(said)) => Ok(said),
                Ok(Err(_)) => Err(DbError::new(
                    ErrorClass::OperationalError,
                    "the session has ended",
                )),
                Err(_) => Err(DbError::with_state(
                    ErrorClass::OperationalError,
                    "HYT00",
                    format!(
                        "the session did not answer within {INTERVENE_TIMEOUT:?} (it may be closing and waiting for its database connections); try again"
                    ),
                )),
            }
        })
    }
}

impl Handler<SetPaused> for Registry {
    type Result = MessageResult<SetPaused>;

    fn handle(&mut self, SetPaused(paused): SetPaused, _: &mut Self::Context) -> Self::Result {
        let was = std::mem::replace(&mut self.paused, paused);
        MessageResult(match (was, paused) {
            (false, true) => {
                tracing::warn!(target: "odbcd::lifecycle", "new sessions paused by an administrator");
                format!(
                    "paused: new sessions are refused ({PAUSED_MESSAGE:?}); open sessions go on"
                )
            }
            (true, true) => "already paused".to_owned(),
            (true, false) if self.draining => {
                "resumed, but the server is shutting down: it admits no new sessions".to_owned()
            }
            (true, false) => {
                tracing::warn!(target: "odbcd::lifecycle", "new sessions resumed by an administrator");
                "resumed: new sessions are admitted".to_owned()
            }
            (false, false) => "not paused: new sessions are admitted".to_owned(),
        })
    }
}
