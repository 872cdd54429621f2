//! The session's database connections: opening one (from the pool or new, counted by the
//! registry), the per-connection queue of requests (one in flight per connection, held back
//! while the client does not acknowledge), dispatching a request and cancelling it.

use super::*;
use crate::config::server::DriverIsolation;
use crate::server::db::process::WorkerProcess;
use crate::server::db::worker::WorkerInit;
use tokio::sync::oneshot;

impl Session {
    pub(super) fn open_connection(
        &mut self,
        id: RequestId,
        target: OpenTarget,
        ctx: &mut Context<Self>,
    ) {
        let limit = self.shared.config.session.max_connections_per_session as usize;
        if self.conns.len() + self.opening >= limit {
            return self.reply(
                id,
                Response::Error(DbError::with_state(
                    ErrorClass::InterfaceError,
                    "HY000",
                    format!("this session has {limit} database connections open, the most [Session] max_connections_per_session allows: close one first"),
                )),
            );
        }
        self.opening += 1;
        let session = self.id.clone();
        let span = self.span.clone();
        let registry = self.shared.registry.clone();
        let max_chunk = self.shared.config.session.transport.max_chunk_length as usize;
        let cache_size = self.shared.config.session.statement_cache_size;
        // Reloadable: a new connection polls as the configuration in force says (a pooled
        // one keeps what it started with).
        let busy_poll = self.shared.in_force().config.session.busy_poll;
        let conn = self.next_conn;
        self.next_conn = self.next_conn.wrapping_add(1).max(1);
        let stats = self.stats.clone();
        let running = self.shared.running.clone();
        let metrics = Arc::clone(&self.shared.metrics);
        let isolation = self.shared.config.session.driver_isolation;
        let memory_limit = self.shared.config.session.worker_memory_limit;
        let run_as = self
            .shared
            .config
            .session
            .worker_user
            .as_ref()
            .map(|(_, uid, gid)| (*uid, *gid));
        let log_level = self.shared.config.logging.log_level;
        let cursor_type = self.cursor_type;
        let key = target.pool_key(&self.user);
        let pool = &self.shared.config.pool;
        let pooling = pool.max_idle_connections > 0;
        let check = pool
            .check_query
            .as_deref()
            .map(|q| (Arc::<str>::from(q), pool.check_delay));
        let fut = async move {
            let pooled = registry
                .send(AcquireConnection {
                    session: session.clone(),
                    key,
                })
                .await
                .map_err(internal)??;
            // From here the connection actor owns the count and settles it when it ends.
            let owner = Owner {
                registry: registry.clone().recipient(),
                parked_gone: registry.clone().recipient(),
                session,
                key,
                pooling,
                span,
            };
            let from_pool = pooled.is_some();
            let counted = RunningRequestCount::start(&stats, &running);
            let (handle, r) = match pooled {
                Some(handle) => {
                    let adopt = Adopt {
                        owner,
                        target,
                        cursor_type,
                        check,
                    };
                    let r = handle.addr.adopt(adopt).await;
                    (handle, r)
                }
                None => {
                    let cancel = Arc::new(CancelSlot::default());
                    let slot = cancel.clone();
                    // The owner moves to the actor's thread; if no thread starts, it is taken
                    // back to settle the registry's count here.
                    let owner = Arc::new(std::sync::Mutex::new(Some(owner)));
                    let handover = Arc::clone(&owner);
                    let busy = metrics.database_busy_seconds.clone();
                    let polls = metrics.database_polls.clone();
                    let started = match isolation {
                        DriverIsolation::Thread => {
                            DbAddr::start(busy, busy_poll, polls, move |inbox| {
                                let owner = handover.lock().ok().and_then(|mut o| o.take());
                                DbConnection::new(max_chunk, slot, cursor_type, owner, cache_size)
                                    .run(inbox);
                            })
                        }
                        DriverIsolation::Process => {
                            let init = WorkerInit {
                                max_chunk: max_chunk as u64,
                                cache_size: cache_size as u64,
                                cursor_type,
                                memory_limit,
                                run_as,
                                log_level,
                            };
                            let owner = handover.lock().ok().and_then(|mut o| o.take());
                            Ok(WorkerProcess::start(init, slot, owner, busy))
                        }
                    };
                    let addr = match started {
                        Ok(addr) => addr,
                        Err(e) => {
                            if let Some(o) = owner.lock().ok().and_then(|mut o| o.take()) {
                                o.registry.do_send(ConnectionClosed {
                                    session: o.session,
                                    reusable: None,
                                });
                            }
                            return Err(e);
                        }
                    };
                    let r = addr.call(id, DbRequest::Open(target)).await;
                    (DbHandle { addr, cancel }, r)
                }
            };
            drop(counted);
            match flatten(r) {
                Ok(DbReply::Opened { dbms_name }) => {
                    if pooling {
                        if from_pool {
                            metrics.pool_hits.inc();
                        } else {
                            metrics.pool_misses.inc();
                        }
                    }
                    Ok((handle, dbms_name))
                }
                Ok(other) => Err(DbError::new(
                    ErrorClass::InternalError,
                    format!("unexpected reply {other:?}"),
                )),
                Err(e) => Err(e),
            }
        };
        fut.into_actor(self)
            .map(move |r, act, ctx| {
                let _entered = act.span.clone().entered();
                act.opening -= 1;
                match r {
                    Ok((handle, dbms_name)) => {
                        if act.closing {
                            // The session ended while connecting: close it again.
                            handle.addr.release_now(handle.clone());
                            return;
                        }
                        act.conns.insert(conn, handle);
                        act.reply(id, Response::Connected { conn, dbms_name });
                    }
                    Err(e) => {
                        tracing::info!(sqlstate = %e.sqlstate, error = %e.message, "connect failed");
                        act.reply(id, Response::Error(e));
                    }
                }
                act.close_if_drained(ctx);
            })
            .spawn(ctx);
    }

    /// Queues a database request for connection `conn`; it runs when the connection is free
    /// and the client has acknowledged enough of what it was sent.
    pub(super) fn forward(
        &mut self,
        id: RequestId,
        conn: ConnId,
        req: DbRequest,
        ctx: &mut Context<Self>,
    ) {
        if !self.conns.contains_key(&conn) {
            return self.reply(id, Response::Error(no_such_connection(conn)));
        }
        self.enqueue(conn, Queued::Call(id, req), ctx);
    }

    pub(super) fn enqueue(&mut self, conn: ConnId, item: Queued, ctx: &mut Context<Self>) {
        self.queued.entry(conn).or_default().push_back(item);
        self.queued_total += 1;
        if self.queued_total >= MAX_QUEUED {
            if let Some(link) = &self.link {
                link.gate.close();
            }
        }
        self.pump(conn, ctx);
    }

    /// [`Self::pump`] for every connection with requests waiting.
    pub(super) fn pump_all(&mut self, ctx: &mut Context<Self>) {
        let waiting: Vec<ConnId> = self.queued.keys().copied().collect();
        for conn in waiting {
            self.pump(conn, ctx);
        }
    }

    /// Hands the next queued request of `conn` to the connection, if the connection is free
    /// and the output budget allows.
    pub(super) fn pump(&mut self, conn: ConnId, ctx: &mut Context<Self>) {
        if let Some(in_flight) = self.busy.get(&conn) {
            let next_is_fetch = self
                .queued
                .get(&conn)
                .and_then(VecDeque::front)
                .is_some_and(Queued::is_fetch);
            if !(in_flight.may_follow() && next_is_fetch) {
                return;
            }
        }
        if self.outbox.kept_bytes() > OUTPUT_BUDGET
            || self.shared.unacknowledged.load(Ordering::Relaxed) > SERVER_OUTPUT_BUDGET
        {
            return;
        }
        let Some(queue) = self.queued.get_mut(&conn) else {
            return;
        };
        let Some(item) = queue.pop_front() else {
            self.queued.remove(&conn);
            return;
        };
        if queue.is_empty() {
            self.queued.remove(&conn);
        }
        self.queued_total -= 1;
        if self.queued_total < MAX_QUEUED / 2 {
            if let Some(link) = &self.link {
                link.gate.open();
            }
        }
        match item {
            Queued::Call(id, req) => {
                let fetch = matches!(req, DbRequest::Fetch { .. });
                self.dispatch(id, conn, req, ctx);
                if fetch {
                    // Fetches queued behind it may follow at once.
                    self.pump(conn, ctx);
                }
            }
            Queued::Close(id) => self.close_connection(id, conn, ctx),
        }
    }

    pub(super) fn dispatch(
        &mut self,
        id: RequestId,
        conn: ConnId,
        req: DbRequest,
        ctx: &mut Context<Self>,
    ) {
        let Some(h) = self.conns.get(&conn) else {
            return self.reply(id, Response::Error(no_such_connection(conn)));
        };
        let is_fetch = matches!(req, DbRequest::Fetch { .. });
        // Answers are handled in the order the requests were handed over (see `InFlight`).
        let (previous, my_turn) = self.busy.entry(conn).or_default().add(is_fetch);
        let sql = req.sql().map(|sql| {
            let mut end = sql.len().min(crate::server::admin::MAX_KEPT_SQL);
            while !sql.is_char_boundary(end) {
                end -= 1;
            }
            Box::from(&sql[..end])
        });
        let hold = Arc::new(std::sync::atomic::AtomicBool::new(false));
        self.running.insert(
            id,
            RunningRequest {
                conn,
                sql,
                cancelled: None,
                cancelling: false,
                hold: Arc::clone(&hold),
            },
        );
        // The connection's thread sends a small answer to the client itself, unless it follows
        // others still in flight.
        let route = db::answer::Route {
            outbox: Arc::clone(&self.outbox),
            id,
            protocol: self.protocol,
            compression: self.compression,
            hold,
            behind: previous.is_some(),
            metrics: Arc::clone(&self.shared.metrics),
        };
        // Lowered when the answer comes, or when the session ends first and drops the future.
        let counted = RunningRequestCount::start(&self.stats, &self.shared.running);
        let exec_limit = self.shared.config.activity.max_request_execution_time;
        let call = h.addr.call_routed(id, req, route);
        async move {
            let answer = call.await;
            if let Some(previous) = previous {
                // The previous request's answer was handled (or its future dropped).
                let _ = previous.await;
            }
            answer
        }
        .into_actor(self)
        .map(move |r, act, ctx| {
            let _entered = act.span.clone().entered();
            drop(counted);
            drop(my_turn);
            let cancelled = act.running.remove(&id).and_then(|r| r.cancelled);
            if act.busy.get_mut(&conn).is_some_and(InFlight::answered) {
                act.busy.remove(&conn);
            }
            match flatten(r) {
                // Cancelled by the watchdog, and the driver did stop it: say why. (A
                // request the cancel came too late for answers with what it did.)
                Ok(reply) if cancelled == Some(CancelReason::Watchdog) => {
                    act.reply_db(id, many_timed_out(reply, exec_limit));
                }
                Ok(reply) => act.reply_db(id, reply),
                Err(e) if cancelled == Some(CancelReason::Watchdog) => {
                    act.reply(id, Response::Error(timed_out(e, exec_limit)));
                }
                Err(e) => act.reply(id, Response::Error(e)),
            }
            act.pump(conn, ctx);
            act.close_if_drained(ctx);
        })
        .spawn(ctx);
    }

    /// Asks the driver to cancel request `id`'s statement, on a blocking thread (`SQLCancel`
    /// may wait for the database). The request counts as cancelled from now (its answer may
    /// come back before `SQLCancel` does) unless the driver turns out to have had no call of
    /// it running, in which case a later check tries again.
    pub(super) fn cancel_running(
        &mut self,
        id: RequestId,
        why: CancelReason,
        ctx: &mut Context<Self>,
    ) {
        let Some(r) = self.running.get_mut(&id) else {
            return;
        };
        if r.cancelling || r.cancelled.is_some() {
            return;
        }
        let Some(h) = self.conns.get(&r.conn) else {
            return;
        };
        r.cancelling = true;
        r.cancelled = Some(why);
        if why == CancelReason::Watchdog {
            // Its answer says why it stopped: the session sends it.
            r.hold.store(true, Ordering::Release);
        }
        let slot = h.cancel.clone();
        actix_rt::task::spawn_blocking(move || slot.cancel_request(id))
            .into_actor(self)
            .map(move |asked, act, ctx| {
                let _entered = act.span.clone().entered();
                if asked.as_ref().is_ok_and(|asked| *asked) {
                    // Counted once the driver was asked (a cancel that found no call of the
                    // request running is tried again later, and counted then).
                    let metrics = &act.shared.metrics;
                    metrics
                        .cancels
                        .with_label_values(&[match why {
                            CancelReason::Client => "client",
                            CancelReason::Admin => "admin",
                            CancelReason::Watchdog => "watchdog",
                        }])
                        .inc();
                    if why == CancelReason::Watchdog {
                        metrics.timeout("request");
                    }
                }
                let (mut again, mut repeat) = (false, false);
                let asked = asked.unwrap_or(false);
                if let Some(r) = act.running.get_mut(&id) {
                    r.cancelling = false;
                    if asked {
                        repeat = true;
                    } else {
                        r.cancelled = None;
                        r.hold.store(false, Ordering::Release);
                        // The request had not started its statement yet: a client's or an
                        // admin's cancel is tried again shortly (the watchdog's at its
                        // next check).
                        again = why != CancelReason::Watchdog;
                    }
                }
                if again {
                    ctx.run_later(CANCEL_RETRY, move |act, ctx| {
                        act.cancel_running(id, why, ctx);
                    });
                }
                if repeat {
                    act.cancel_again_later(id, CANCEL_REPEAT, ctx);
                }
            })
            .spawn(ctx);
    }

    /// Asks the driver again, after `after`, to cancel request `id` if it still runs: a
    /// cancel that reached the driver can still be lost (psqlodbc's `SQLCancel` does nothing
    /// before the statement is marked executing, and PostgreSQL ignores a cancel request that
    /// reaches the backend before the query does). Repeated with a growing interval until the
    /// request ends; not counted again in the metrics.
    fn cancel_again_later(&mut self, id: RequestId, after: Duration, ctx: &mut Context<Self>) {
        ctx.run_later(after, move |act, ctx| {
            let Some(r) = act.running.get(&id) else {
                return;
            };
            if r.cancelling || r.cancelled.is_none() {
                return;
            }
            let Some(h) = act.conns.get(&r.conn) else {
                return;
            };
            let slot = h.cancel.clone();
            actix_rt::task::spawn_blocking(move || slot.cancel_request(id))
                .into_actor(act)
                .map(move |_, act, ctx| {
                    act.cancel_again_later(id, (after * 2).min(CANCEL_REPEAT_MAX), ctx);
                })
                .spawn(ctx);
        });
    }
}

/// How soon a cancel that came before its request's statement started is tried again.
const CANCEL_RETRY: Duration = Duration::from_millis(50);

/// How long a request whose cancel reached the driver may go on before the driver is asked
/// again (doubling each time, up to [`CANCEL_REPEAT_MAX`]).
const CANCEL_REPEAT: Duration = Duration::from_millis(200);

/// The longest wait between two cancels of one request.
const CANCEL_REPEAT_MAX: Duration = Duration::from_secs(2);

/// The error of a request the watchdog cancelled: a `TimeoutError` that says why.
fn timed_out(e: DbError, limit: Duration) -> DbError {
    DbError {
        class: ErrorClass::TimeoutError,
        sqlstate: "HYT00".into(),
        message: format!(
            "the request ran longer than max_request_execution_time ({limit:?}) and was cancelled: {}",
            e.message
        ),
        ..e
    }
}

/// A reply of a request the watchdog cancelled: an `ExecuteMany` stopped by it says so.
fn many_timed_out(reply: DbReply, limit: Duration) -> DbReply {
    match reply {
        DbReply::ManyFailed {
            index,
            rowcount,
            error,
        } => DbReply::ManyFailed {
            index,
            rowcount,
            error: timed_out(error, limit),
        },
        DbReply::Warned(warnings, reply) => {
            DbReply::Warned(warnings, Box::new(many_timed_out(*reply, limit)))
        }
        other => other,
    }
}

/// The most fetches handed to one connection at once. While the connection's thread answers
/// one fetch, the next waits in its mailbox: the thread goes on from rows it read ahead
/// instead of sleeping until the session, woken by the answer, hands the next one over.
const MAX_FETCHES_IN_FLIGHT: u8 = 4;

/// The requests handed to a connection and not answered yet.
///
/// Their answers are handled in the order they were handed over (the bookkeeping of a
/// result's rows, and the order of the frames, depend on it): each request's future waits,
/// after its answer, until the previous one's was handled, whose turn ends when that future
/// is done with (the sender is dropped).
#[derive(Debug, Default)]
pub(super) struct InFlight {
    requests: u8,
    /// Every one of them is a `Fetch`.
    fetches_only: bool,
    /// Ends when the last request handed over has had its answer handled.
    last_turn: Option<oneshot::Receiver<()>>,
}

impl InFlight {
    /// Counts a request handed over; returns the turn it waits for (the previous request's,
    /// if one is still in flight) and its own, to drop once its answer is handled.
    fn add(&mut self, fetch: bool) -> (Option<oneshot::Receiver<()>>, oneshot::Sender<()>) {
        let (mine, next) = oneshot::channel();
        let previous = self.last_turn.replace(next);
        let previous = if self.requests == 0 {
            self.fetches_only = fetch;
            None
        } else {
            self.fetches_only = self.fetches_only && fetch;
            previous
        };
        self.requests = self.requests.saturating_add(1);
        (previous, mine)
    }

    /// One was answered; returns whether none is left.
    fn answered(&mut self) -> bool {
        self.requests = self.requests.saturating_sub(1);
        self.requests == 0
    }

    /// A fetch may be handed over behind these: they are fetches, fewer than
    /// [`MAX_FETCHES_IN_FLIGHT`]. Any other request waits for the connection to be free.
    fn may_follow(&self) -> bool {
        self.fetches_only && self.requests < MAX_FETCHES_IN_FLIGHT
    }
}
