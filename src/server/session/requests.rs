//! What each client request does: the frame handler (acknowledgements, duplicates after a
//! resume, oversized requests) and the requests the session answers itself (close, cancel,
//! listings, closing a database connection).

use super::*;

impl Session {
    /// A request that decodes to more than `max_request_size` was skipped: tell its sender.
    pub(super) fn refuse_oversized(&mut self, id: RequestId, ack: u64, ctx: &mut Context<Self>) {
        self.acknowledge(ack, ctx);
        if id <= self.highest_request {
            return;
        }
        self.highest_request = id;
        let limit = self.shared.config.session.max_request_size;
        tracing::warn!(id, limit, "request over max_request_size refused");
        self.reply(
            id,
            Response::Error(DbError::with_state(
                ErrorClass::OperationalError,
                "HY001",
                format!("the request decodes to more than [Session] max_request_size ({limit} bytes); send it in parts"),
            )),
        );
    }

    pub(super) fn handle_frame(&mut self, frame: ClientFrame, ctx: &mut Context<Self>) {
        let ClientFrame { id, ack, request } = frame;
        let _request = tracing::debug_span!("request", id).entered();
        // Pings keep the link alive, not the session busy: they do not count for
        // max_waiting_time.
        if !matches!(request, Request::Ping) {
            self.last_request = Instant::now();
        }
        self.acknowledge(ack, ctx);
        if id == 0 {
            // An acknowledgement only (the client had nothing to ask).
            return;
        }
        if self.closing {
            // The session has ended (its notice is on its way): nothing more runs.
            tracing::debug!(id, "request after the session ended: not run");
            return;
        }
        if self.outbox.kept_bytes() > MAX_REPLAY_BYTES {
            return self.fail(
                DbError::new(
                    ErrorClass::ProtocolError,
                    "the client does not acknowledge what it receives",
                ),
                ctx,
            );
        }
        if id <= self.highest_request {
            // Sent again after a resume although we had it: it ran (or runs) once already.
            tracing::debug!(id, "duplicate request ignored");
            return;
        }
        self.highest_request = id;
        let kind = request.kind();
        self.shared.metrics.request(kind);
        self.shared
            .metrics
            .parameter_rows_received
            .inc_by(request.parameter_rows() as u64);
        self.unanswered.insert(id, (kind, Instant::now()));
        self.transactions.note(id, &request);
        if request.cursor() == Some(db::BATCH_CURSOR) {
            return self.reply(
                id,
                Response::Error(DbError::with_state(
                    ErrorClass::ProgrammingError,
                    "HY000",
                    format!("cursor id {} is reserved for batches", db::BATCH_CURSOR),
                )),
            );
        }
        match request {
            Request::OpenSession { .. } => self.reply(
                id,
                Response::Error(DbError::new(
                    ErrorClass::ProtocolError,
                    "session is already open",
                )),
            ),
            Request::CloseSession => self.close_session(id, ctx),
            Request::Ping => self.reply(id, Response::Pong),
            Request::Admin(command) => self.admin(id, command, ctx),
            Request::Cancel { request } => self.cancel_request(id, request, ctx),
            Request::Status => {
                self.shared
                    .registry
                    .send(GetStatus {
                        session: self.id.clone(),
                        user: self.user.clone(),
                    })
                    .into_actor(self)
                    .map(move |r, act, _| {
                        let _entered = act.span.clone().entered();
                        match r {
                            Ok(s) => act.reply(id, Response::Status(s)),
                            Err(e) => act.reply(id, Response::Error(internal(e))),
                        }
                    })
                    .spawn(ctx);
            }
            Request::ListDataSources => {
                self.list(id, || db::data_sources().map(Response::DataSources), ctx);
            }
            Request::ListDrivers => self.list(id, || db::drivers().map(Response::Drivers), ctx),
            Request::DriverConnect { connection_string } => {
                let masked = connstr::mask_for_log(&connection_string);
                tracing::info!(connection_string = %masked, "connect");
                let rules = self.shared.in_force();
                match access::authorize_connection_string(
                    &rules.config.access,
                    &rules.catalog,
                    &connection_string,
                ) {
                    // Only the string rebuilt from the checked pairs reaches the driver manager.
                    Ok(checked) => {
                        self.open_connection(id, OpenTarget::ConnectionString(checked), ctx)
                    }
                    Err(e) => {
                        tracing::warn!(connection_string = %masked, reason = %e.message, "connect refused");
                        self.reply(id, Response::Error(e));
                    }
                }
            }
            Request::Connect { dsn, uid, pwd } => {
                tracing::info!(dsn = %dsn.escape_debug(), uid = %uid.escape_debug(), "connect");
                match access::check_dsn(&self.shared.in_force().config.access, &dsn)
                    .and_then(|()| access::check_credentials(&uid, &pwd))
                {
                    Ok(()) => self.open_connection(id, OpenTarget::Dsn { dsn, uid, pwd }, ctx),
                    Err(e) => {
                        tracing::warn!(dsn = %dsn.escape_debug(), reason = %e.message, "connect refused");
                        self.reply(id, Response::Error(e));
                    }
                }
            }
            Request::CloseConnection { conn } => {
                if self.conns.contains_key(&conn) {
                    self.enqueue(conn, Queued::Close(id), ctx);
                } else {
                    self.reply(id, Response::Error(no_such_connection(conn)));
                }
            }
            Request::SetAutocommit { conn, on } => {
                self.forward(id, conn, DbRequest::SetAutocommit(on), ctx);
            }
            Request::Commit { conn } => self.forward(id, conn, DbRequest::Commit, ctx),
            Request::Rollback { conn } => self.forward(id, conn, DbRequest::Rollback, ctx),
            Request::Execute {
                conn,
                cursor,
                sql,
                params,
                max_rows,
            } => {
                tracing::debug!(conn, cursor, %sql, "execute");
                let req = DbRequest::Execute {
                    cursor,
                    sql,
                    params,
                    max_rows,
                };
                self.forward(id, conn, req, ctx);
            }
            Request::ExecuteMany {
                conn,
                cursor,
                sql,
                param_sets,
            } => {
                let req = DbRequest::ExecuteMany {
                    cursor,
                    sql,
                    param_sets,
                };
                self.forward(id, conn, req, ctx);
            }
            Request::Fetch {
                conn,
                cursor,
                max_rows,
            } => {
                self.forward(id, conn, DbRequest::Fetch { cursor, max_rows }, ctx);
            }
            Request::CloseCursor { conn, cursor } => {
                self.forward(id, conn, DbRequest::CloseCursor(cursor), ctx);
            }
            Request::Catalog {
                conn,
                cursor,
                call,
                max_rows,
            } => {
                tracing::debug!(conn, cursor, function = call.function_name(), "catalog");
                let req = DbRequest::Catalog {
                    cursor,
                    call,
                    max_rows,
                };
                self.forward(id, conn, req, ctx);
            }
            Request::GetInfo { conn, info_type } => {
                self.forward(id, conn, DbRequest::GetInfo(info_type), ctx);
            }
            Request::Prepare { conn, cursor, sql } => {
                tracing::debug!(conn, cursor, %sql, "prepare");
                self.forward(id, conn, DbRequest::Prepare { cursor, sql }, ctx);
            }
            Request::NextResult {
                conn,
                cursor,
                max_rows,
            } => {
                self.forward(id, conn, DbRequest::NextResult { cursor, max_rows }, ctx);
            }
            Request::Scroll {
                conn,
                cursor,
                position,
                max_rows,
            } => {
                let req = DbRequest::Scroll {
                    cursor,
                    position,
                    max_rows,
                };
                self.forward(id, conn, req, ctx);
            }
            Request::SetCursorOptions {
                conn,
                cursor,
                options,
            } => {
                self.forward(
                    id,
                    conn,
                    DbRequest::SetCursorOptions { cursor, options },
                    ctx,
                );
            }
            Request::SetConnectionOption { conn, option } => {
                self.forward(id, conn, DbRequest::SetConnectionOption(option), ctx);
            }
            Request::Batch {
                conn,
                statements,
                mode,
                max_rows,
            } => {
                tracing::debug!(conn, statements = statements.len(), ?mode, "batch");
                let req = DbRequest::Batch {
                    statements,
                    mode,
                    max_rows,
                };
                self.forward(id, conn, req, ctx);
            }
            Request::CallProcedure {
                conn,
                cursor,
                sql,
                params,
                max_rows,
            } => {
                tracing::debug!(conn, cursor, %sql, "call");
                let req = DbRequest::CallProcedure {
                    cursor,
                    sql,
                    params,
                    max_rows,
                };
                self.forward(id, conn, req, ctx);
            }
        }
    }

    pub(super) fn close_session(&mut self, id: RequestId, ctx: &mut Context<Self>) {
        let closes: Vec<_> = self
            .conns
            .drain()
            .map(|(_, h)| h.addr.release(h.clone()))
            .collect();
        futures_util::future::join_all(closes)
            .into_actor(self)
            .map(move |_, act, ctx| {
                let _entered = act.span.clone().entered();
                act.reply(id, Response::Ok);
                act.end(
                    DbError::with_state(
                        ErrorClass::ProgrammingError,
                        "08003",
                        "the session was closed by its client",
                    ),
                    ctx,
                );
            })
            .wait(ctx);
    }

    pub(super) fn cancel_request(
        &mut self,
        id: RequestId,
        target: RequestId,
        ctx: &mut Context<Self>,
    ) {
        // Still waiting in the session: it never runs.
        let mut dequeued = false;
        for (conn, queue) in &mut self.queued {
            if let Some(pos) = queue
                .iter()
                .position(|q| matches!(q, Queued::Call(q_id, _) if *q_id == target))
            {
                queue.remove(pos);
                self.queued_total -= 1;
                dequeued = true;
                if queue.is_empty() {
                    let conn = *conn;
                    self.queued.remove(&conn);
                }
                break;
            }
        }
        if dequeued {
            self.reply(
                target,
                Response::Error(DbError::with_state(
                    ErrorClass::OperationalError,
                    "HY008",
                    "cancelled before it ran",
                )),
            );
            return self.reply(id, Response::Ok);
        }
        if self.running.contains_key(&target) {
            // The cancelled request answers itself: the driver's error (e.g. HY008), or its
            // result if it finished before the driver could stop it.
            self.cancel_running(target, CancelReason::Client, ctx);
            return self.reply(id, Response::Ok);
        }
        self.reply(
            id,
            Response::Error(DbError::with_state(
                ErrorClass::ProgrammingError,
                "HY010",
                format!("request {target} is not running"),
            )),
        );
    }

    /// `CloseConnection`, after everything the client sent before it on that connection.
    pub(super) fn close_connection(
        &mut self,
        id: RequestId,
        conn: ConnId,
        ctx: &mut Context<Self>,
    ) {
        let Some(h) = self.conns.remove(&conn) else {
            self.reply(id, Response::Error(no_such_connection(conn)));
            return self.pump(conn, ctx);
        };
        // Whatever the client queued after the close finds no connection.
        if let Some(rest) = self.queued.remove(&conn) {
            self.queued_total -= rest.len();
            for item in rest {
                let (Queued::Call(later, _) | Queued::Close(later)) = item;
                self.reply(later, Response::Error(no_such_connection(conn)));
            }
        }
        // The connection actor tells the registry itself.
        h.addr
            .release(h.clone())
            .into_actor(self)
            .map(move |r, act, ctx| {
                let _entered = act.span.clone().entered();
                act.reply_result(id, flatten(r).map(|_| Response::Ok));
                act.close_if_drained(ctx);
            })
            .spawn(ctx);
    }

    /// Answers request `id` with a driver-manager listing, read on the blocking pool (the
    /// driver manager may load driver setup libraries; the reactor must not wait on it).
    pub(super) fn list(
        &mut self,
        id: RequestId,
        listing: impl FnOnce() -> Result<Response, DbError> + Send + 'static,
        ctx: &mut Context<Self>,
    ) {
        actix_rt::task::spawn_blocking(listing)
            .into_actor(self)
            .map(move |r, act, ctx| {
                let _entered = act.span.clone().entered();
                let r = r.map_err(|e| DbError::new(ErrorClass::InternalError, e.to_string()));
                act.reply_result(id, r.and_then(|r| r));
                act.close_if_drained(ctx);
            })
            .spawn(ctx);
    }
}
