//! The session's side of the admin requests (see [`crate::server::admin`]): who asks, and
//! what the session does when an admin's order or question reaches it (`Describe`,
//! `Intervene` from the registry).

use super::*;
use crate::proto::admin::SessionDetail;
use crate::proto::admin::{AdminAnswer, AdminCommand, RunningRequest as RunningDetail};
use crate::server::admin::{mask_literals, Viewer};
use crate::server::registry::admin::{Action, InterveneIn, ListSessions, SetPaused};
use crate::server::registry::{Describe, Intervene};

/// The SQLSTATE of the notice a client gets when an admin ends its session (the SQL
/// standard's class 57, operator intervention; PostgreSQL's `admin_shutdown`).
pub const KILLED_SQLSTATE: &str = "57P01";

impl Session {
    /// Who this session's user is to the admin requests, by the configuration in force.
    pub(super) fn viewer(&self) -> Viewer {
        let admin = !self.user.is_empty()
            && self
                .shared
                .in_force()
                .config
                .auth
                .admin_users
                .contains(&self.user);
        Viewer {
            session: self.id.clone(),
            user: self.user.clone(),
            admin,
        }
    }

    /// Answers an admin request.
    pub(super) fn admin(&mut self, id: RequestId, command: AdminCommand, ctx: &mut Context<Self>) {
        let viewer = self.viewer();
        let admin_only = matches!(
            command,
            AdminCommand::Pause
                | AdminCommand::Resume
                | AdminCommand::Reload
                | AdminCommand::Config
        );
        if admin_only && !viewer.admin {
            tracing::warn!(user = %self.user, ?command, "admin request refused: not in admin_users");
            return self.reply(
                id,
                Response::Error(DbError::with_state(
                    ErrorClass::ProgrammingError,
                    "42501",
                    "only the users in the server's [Authentication] admin_users may do this",
                )),
            );
        }
        if self.admin_busy {
            return self.reply(
                id,
                Response::Error(DbError::with_state(
                    ErrorClass::ProgrammingError,
                    "HY010",
                    "an admin request of this session is still under way: one at a time",
                )),
            );
        }
        tracing::info!(user = %self.user, admin = viewer.admin, ?command, "admin request");
        let done = |message: String| Response::Admin(AdminAnswer::Done { message });
        match command {
            AdminCommand::Sessions => self.answer_with(
                id,
                self.shared.registry.send(ListSessions { viewer }),
                |answer| Ok(Response::Admin(answer)),
                ctx,
            ),
            AdminCommand::Kill { session } => {
                self.intervene(id, viewer, session, Action::Kill, ctx)
            }
            AdminCommand::Cancel { session } => {
                self.intervene(id, viewer, session, Action::Cancel, ctx);
            }
            AdminCommand::Pause | AdminCommand::Resume => {
                let paused = matches!(command, AdminCommand::Pause);
                self.answer_with(
                    id,
                    self.shared.registry.send(SetPaused(paused)),
                    move |message| Ok(done(message)),
                    ctx,
                );
            }
            AdminCommand::Reload => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                if let Err(e) = self.shared.reloads.try_send(tx) {
                    let why = match e {
                        tokio::sync::mpsc::error::TrySendError::Full(_) => {
                            "a reload is already under way; ask again when it is done"
                        }
                        tokio::sync::mpsc::error::TrySendError::Closed(_) => {
                            "the server reloads no more (it is stopping, or cannot watch for reloads: see its log)"
                        }
                    };
                    return self.reply(
                        id,
                        Response::Error(DbError::with_state(
                            ErrorClass::OperationalError,
                            "HY000",
                            why,
                        )),
                    );
                }
                self.admin_busy = true;
                rx.into_actor(self)
                    .map(move |r, act, _| {
                        let _entered = act.span.clone().entered();
                        act.admin_busy = false;
                        let response = match r {
                            Ok(Ok(message)) => done(message),
                            Ok(Err(why)) => Response::Error(DbError::with_state(
                                ErrorClass::ConfigurationError,
                                "HY000",
                                why,
                            )),
                            Err(_) => Response::Error(DbError::new(
                                ErrorClass::OperationalError,
                                "the server is stopping: no reload",
                            )),
                        };
                        act.reply(id, response);
                    })
                    .spawn(ctx);
            }
            AdminCommand::Config => {
                let text = self.shared.in_force().config.effective();
                self.reply(id, Response::Admin(AdminAnswer::Config { text }));
            }
        }
    }

    /// Kills or cancels the session `prefix` names.
    fn intervene(
        &mut self,
        id: RequestId,
        viewer: Viewer,
        prefix: String,
        action: Action,
        ctx: &mut Context<Self>,
    ) {
        let asked = self.shared.registry.send(InterveneIn {
            viewer,
            prefix,
            action,
        });
        self.answer_with(
            id,
            asked,
            |r| r.map(|message| Response::Admin(AdminAnswer::Done { message })),
            ctx,
        );
    }

    /// Replies to `id` with what `asked` (a message to an actor) turns into.
    fn answer_with<T: 'static>(
        &mut self,
        id: RequestId,
        asked: impl std::future::Future<Output = Result<T, MailboxError>> + 'static,
        turn: impl FnOnce(T) -> Result<Response, DbError> + 'static,
        ctx: &mut Context<Self>,
    ) {
        self.admin_busy = true;
        asked
            .into_actor(self)
            .map(move |r, act, _| {
                let _entered = act.span.clone().entered();
                act.admin_busy = false;
                let response = r.map_err(internal).and_then(turn);
                act.reply_result(id, response);
            })
            .spawn(ctx);
    }

    /// This session as an admin's list shows it.
    fn describe(&self, asker: &str) -> SessionDetail {
        let running = self
            .running
            .iter()
            .map(|(id, r)| RunningDetail {
                kind: self
                    .unanswered
                    .get(id)
                    .map_or("request", |(kind, _)| kind)
                    .to_owned(),
                sql: r.sql.as_deref().map(mask_literals),
                running_ms: self
                    .conns
                    .get(&r.conn)
                    .and_then(|h| h.cancel.started(*id))
                    .map_or(0, |t| t.elapsed().as_millis() as u64),
            })
            .collect();
        SessionDetail {
            id_prefix: public_prefix(&self.id).to_owned(),
            user: self.user.clone(),
            peer: self.peer.to_string(),
            client_name: self.client_name.clone(),
            opened_unix_ms: self
                .opened
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            idle_ms: self.last_request.elapsed().as_millis() as u64,
            connections: self.conns.len() as u32,
            attached: self.link.is_some(),
            own: asker == self.id,
            running,
        }
    }
}

impl Handler<Describe> for Session {
    type Result = MessageResult<Describe>;

    fn handle(&mut self, msg: Describe, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.describe(&msg.asker))
    }
}

impl Handler<Intervene> for Session {
    type Result = MessageResult<Intervene>;

    fn handle(&mut self, msg: Intervene, ctx: &mut Context<Self>) -> Self::Result {
        let _entered = self.span.clone().entered();
        let name = public_prefix(&self.id).to_owned();
        MessageResult(match msg.action {
            Action::Kill => {
                tracing::warn!(by = %msg.by, "session ended by an administrator");
                self.fail(
                    DbError::with_state(
                        ErrorClass::OperationalError,
                        KILLED_SQLSTATE,
                        "the session was ended by an administrator; what it had not committed was rolled back",
                    ),
                    ctx,
                );
                format!("session {name} ended")
            }
            Action::Cancel => {
                let running: Vec<RequestId> = self.running.keys().copied().collect();
                tracing::warn!(by = %msg.by, requests = running.len(), "running requests cancelled by an administrator");
                for id in &running {
                    self.cancel_running(*id, CancelReason::Admin, ctx);
                }
                format!(
                    "session {name}: asked the driver to cancel {} running request(s)",
                    running.len()
                )
            }
        })
    }
}
