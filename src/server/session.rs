//! The session actor: one per client session, outliving broken links within the reconnect
//! window.
//!
//! It reads [`ClientFrame`]s from its current link, answers session-level requests itself,
//! forwards database requests to the [`DbConnection`] actor of the connection they name, and
//! writes each answer with its request id as soon as it is ready: requests on different
//! database connections run concurrently, requests on one connection run in order.
//!
//! Every frame it sends after `SessionOpened` is numbered and kept until the client
//! acknowledges it (`ClientFrame::ack`). When the link breaks, the session *detaches*: its
//! database connections, transactions and cursors stay, answers of running requests are kept,
//! and a client that comes back within `max_session_reconnect_time` (see
//! [`Reattach`]) gets every frame it missed, in order. Each `check_interval` a watchdog drops
//! idle sessions (`max_waiting_time`), cancels requests that run too long
//! (`max_request_execution_time`), detaches links with a frame stuck half-received
//! (`receive_timeout`), and ends sessions whose client did not come back.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::io::{FramedWrite, WriteHandler};
use actix::prelude::*;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio_util::codec::FramedRead;

use super::db::{
    self, Adopt, CancelSlot, ConnectionClosed, DbAddr, DbConnection, DbHandle, DbReply, DbRequest,
    OpenTarget, Owner,
};
use super::gate::{Gate, Gated};

use super::handoff::{ReadHalf, Reattach, WriteHalf};
use super::registry::{
    AcquireConnection, GetStatus, RegisterSession, RunningRequestCount, SessionStats, Transport,
    UnregisterSession,
};
use super::replay::ReplayBuffer;
use super::{access, Shared};
use crate::connstr;
use crate::error::{DbError, ErrorClass};
use crate::proto::codec::{CodecError, Decoded, FrameDecoder, PartialSince, RawFrames};
use crate::proto::compress::Compression;
use crate::proto::frame;
use crate::proto::message::{ClientFrame, ConnId, Request, RequestId, Response, ServerFrame};
use crate::proto::rows::{encode_rows_frame, EncodedRows, RowsHead};
use crate::proto::{ProtoError, MAX_FRAME_LEN};

type Writer = FramedWrite<Bytes, WriteHalf, RawFrames>;

/// A client that stops acknowledging frames cannot make the session keep more than this.
const MAX_REPLAY_BYTES: usize = 256 * 1024 * 1024;

/// What the client said when it opened the session.
#[derive(Debug, Clone)]
pub struct OpenRequest {
    /// The new session's id.
    pub session_id: String,
    /// The user it authenticated as (empty without authentication).
    pub username: String,
    /// The client program, for the log.
    pub client_name: String,
    /// `connection_cursortype` of the listener the client came through.
    pub cursor_type: Option<crate::config::CursorType>,
    /// How the client came (a resume must come the same way).
    pub transport: Transport,
}

/// The current link to the client.
struct Link {
    writer: Writer,
    /// The writer's future, recorded when it starts: `FramedWrite::handle` must not be called
    /// from inside the writer's own callbacks (it borrows state the writer's poll holds).
    writer_task: SpawnHandle,
    reader: SpawnHandle,
    /// Holds the reader while too many requests wait (see [`MAX_QUEUED`]).
    gate: Arc<Gate>,
    partial: PartialSince,
    generation: u64,
}

/// A database connection of this session.
/// A request handed to a database connection (at most one per connection at a time).
struct RunningRequest {
    conn: ConnId,
    /// Who asked to cancel it, once the driver was asked to: its answer then says so.
    cancelled: Option<CancelReason>,
    /// A cancel is being attempted now (on a blocking thread).
    cancelling: bool,
}

/// Why a running request was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CancelReason {
    /// The watchdog: it ran longer than `max_request_execution_time`.
    Watchdog,
    /// The client's `Cancel` request.
    Client,
}

/// A request waiting in the session for its database connection.
enum Queued {
    /// A database request.
    Call(RequestId, DbRequest),
    /// `CloseConnection`, in order after what the client sent before it.
    Close(RequestId),
}

/// Output the client has not acknowledged beyond which the session hands no further requests
/// to its database connections (back-pressure): what runs finishes, nothing new starts until
/// the client acknowledges. The client acknowledges at least every
/// [`crate::proto::ACK_EVERY_BYTES`] it reads, even when it sends no request.
const OUTPUT_BUDGET: usize = 32 * 1024 * 1024;

/// The same over all sessions: past it no session hands new requests to its connections
/// until clients acknowledge (each session retries at its watchdog's `check_interval`).
pub const SERVER_OUTPUT_BUDGET: usize = 1024 * 1024 * 1024;

/// Requests waiting in the session (not yet handed to a connection) beyond which the session
/// stops reading from the client until some have run.
const MAX_QUEUED: usize = 64;

/// Events from the current link's reader.
enum LinkEvent {
    Frame(u64, Result<Decoded<ClientFrame>, CodecError>),
    Closed(u64),
}

/// The session actor.
pub struct Session {
    shared: Shared,
    id: String,
    user: String,
    client_name: String,
    cursor_type: Option<crate::config::CursorType>,
    transport: Transport,
    peer: SocketAddr,
    stats: Arc<SessionStats>,
    link: Option<Link>,
    generation: u64,
    detached_since: Option<Instant>,
    /// Ending: the writer flushes the last frames, then the actor stops.
    closing: bool,
    /// Why the session ended, for the registry's tombstone.
    end_reason: Option<DbError>,
    last_request: Instant,
    highest_request: RequestId,
    compression: Compression,
    /// Frames sent but not yet acknowledged: (sequence number, encoded frame).
    /// Session frames sent and not yet acknowledged.
    replay: ReplayBuffer,
    conns: HashMap<ConnId, DbHandle>,
    next_conn: ConnId,
    running: HashMap<RequestId, RunningRequest>,
    /// Requests waiting for their connection, per connection, in the order received.
    queued: HashMap<ConnId, VecDeque<Queued>>,
    queued_total: usize,
    /// Connections with a request handed to them.
    busy: std::collections::HashSet<ConnId>,
    /// Connections being opened now (they count against `max_connections_per_session`).
    opening: usize,
}

impl Session {
    /// Starts a session on an accepted socket whose client sent `OpenSession`.
    pub fn start(
        shared: Shared,
        peer: SocketAddr,
        read: ReadHalf,
        write: WriteHalf,
        open: OpenRequest,
    ) -> Addr<Self> {
        Self::create(move |ctx| {
            let compression = shared.config.session.transport.compression();
            let replay = ReplayBuffer::new(Arc::clone(&shared.unacknowledged));
            let mut s = Self {
                shared,
                id: open.session_id,
                user: open.username,
                client_name: open.client_name,
                cursor_type: open.cursor_type,
                transport: open.transport,
                peer,
                stats: Arc::new(SessionStats::default()),
                link: None,
                generation: 0,
                detached_since: None,
                closing: false,
                end_reason: None,
                last_request: Instant::now(),
                highest_request: 0,
                compression,
                replay,
                conns: HashMap::new(),
                next_conn: 1,
                running: HashMap::new(),
                queued: HashMap::new(),
                queued_total: 0,
                busy: std::collections::HashSet::new(),
                opening: 0,
            };
            s.attach(read, write, ctx);
            s
        })
    }

    fn short_id(&self) -> &str {
        // Session ids are secrets (they allow a resume): logs show a prefix only.
        &self.id[..self.id.len().min(8)]
    }

    fn attach(&mut self, read: ReadHalf, write: WriteHalf, ctx: &mut Context<Self>) {
        self.generation += 1;
        let generation = self.generation;
        let partial = PartialSince::default();
        let gate = Arc::new(Gate::default());
        if self.queued_total >= MAX_QUEUED {
            gate.close();
        }
        let frames = FramedRead::new(
            read,
            FrameDecoder::<ClientFrame>::new(MAX_FRAME_LEN, partial.clone())
                .with_budget(self.shared.config.session.max_request_size),
        )
        .map(move |r| LinkEvent::Frame(generation, r))
        .chain(futures_util::stream::once(async move {
            LinkEvent::Closed(generation)
        }));
        let reader = ctx.add_stream(Gated::new(frames, gate.clone()));
        let writer = FramedWrite::new(write, RawFrames, ctx);
        let writer_task = writer.handle();
        self.link = Some(Link {
            writer,
            writer_task,
            reader,
            gate,
            partial,
            generation,
        });
        self.detached_since = None;
        self.stats.attached.store(true, Ordering::Relaxed);
    }

    /// The link broke: keep the session for `max_session_reconnect_time`.
    fn detach(&mut self, why: &str, ctx: &mut Context<Self>) {
        if self.closing {
            // Ending anyway: the writer flushes the last frames (or fails), then we stop.
            return;
        }
        let Some(link) = self.link.take() else {
            return;
        };
        retire(link, ctx);
        self.detached_since = Some(Instant::now());
        self.stats.attached.store(false, Ordering::Relaxed);
        tracing::info!(
            session = self.short_id(),
            peer = %self.peer,
            reason = why,
            window = ?self.shared.config.activity.max_session_reconnect_time,
            "link lost; keeping the session for the client to resume"
        );
    }

    fn encode(&self, id: RequestId, response: Response) -> Bytes {
        let mut buf = Vec::new();
        let frame = ServerFrame { id, response };
        if let Err(e) = frame::encode(&frame, self.compression, MAX_FRAME_LEN, &mut buf) {
            return self.encode_failure(id, &e);
        }
        Bytes::from(buf)
    }

    /// Only an answer too large for a frame gets here: say so instead.
    fn encode_failure(&self, id: RequestId, e: &ProtoError) -> Bytes {
        let mut buf = Vec::new();
        let err = DbError::new(
            ErrorClass::InterfaceError,
            format!("cannot send the answer: {e}"),
        );
        let fallback = ServerFrame {
            id,
            response: Response::Error(err),
        };
        let _ = frame::encode(&fallback, Compression::OFF, MAX_FRAME_LEN, &mut buf);
        Bytes::from(buf)
    }

    /// Sends a session frame: numbered, kept for replay until acknowledged.
    fn reply(&mut self, id: RequestId, response: Response) {
        let bytes = self.encode(id, response);
        self.send_numbered(bytes);
    }

    /// Sends rows the database actor already encoded, as a numbered session frame.
    fn reply_rows(&mut self, id: RequestId, head: RowsHead, rows: &EncodedRows, done: bool) {
        let mut buf = Vec::new();
        let bytes = match encode_rows_frame(
            id,
            head,
            rows,
            done,
            self.compression,
            MAX_FRAME_LEN,
            &mut buf,
        ) {
            Ok(()) => Bytes::from(buf),
            Err(e) => self.encode_failure(id, &e),
        };
        self.send_numbered(bytes);
    }

    fn send_numbered(&mut self, bytes: Bytes) {
        self.replay.push(bytes.clone());
        if let Some(link) = &mut self.link {
            link.writer.write(bytes);
        }
    }

    fn reply_result(&mut self, id: RequestId, r: Result<Response, DbError>) {
        let response = r.unwrap_or_else(Response::Error);
        self.reply(id, response);
    }

    /// Sends a frame outside the numbered stream (handshake answers, final notices).
    fn send_unnumbered(&mut self, id: RequestId, response: Response) {
        let bytes = self.encode(id, response);
        if let Some(link) = &mut self.link {
            link.writer.write(bytes);
        }
    }

    /// Ends the session once the frames already queued are written; `reason` is what a
    /// client that tries to resume will be told.
    fn end(&mut self, reason: DbError, ctx: &mut Context<Self>) {
        if self.end_reason.is_none() {
            self.end_reason = Some(reason);
        }
        self.closing = true;
        match &mut self.link {
            Some(link) => {
                link.writer.close();
                // Whatever the client does, go within a second.
                ctx.run_later(Duration::from_secs(1), |_, ctx| ctx.stop());
            }
            None => ctx.stop(),
        }
    }

    /// Sends `err` as a notice (id 0) and ends the session.
    fn fail(&mut self, err: DbError, ctx: &mut Context<Self>) {
        self.send_unnumbered(0, Response::Error(err.clone()));
        self.end(err, ctx);
    }

    fn acknowledge(&mut self, ack: u64, ctx: &mut Context<Self>) {
        let held = self.replay.bytes() > OUTPUT_BUDGET;
        self.replay.acknowledge(ack);
        if held && self.replay.bytes() <= OUTPUT_BUDGET {
            self.pump_all(ctx);
        }
    }

    /// A request that decodes to more than `max_request_size` was skipped: tell its sender.
    fn refuse_oversized(&mut self, id: RequestId, ack: u64, ctx: &mut Context<Self>) {
        self.acknowledge(ack, ctx);
        if id <= self.highest_request {
            return;
        }
        self.highest_request = id;
        let limit = self.shared.config.session.max_request_size;
        tracing::warn!(
            session = self.short_id(),
            id,
            limit,
            "request over max_request_size refused"
        );
        self.reply(
            id,
            Response::Error(DbError::with_state(
                ErrorClass::OperationalError,
                "HY001",
                format!("the request decodes to more than [Session] max_request_size ({limit} bytes); send it in parts"),
            )),
        );
    }

    fn handle_frame(&mut self, frame: ClientFrame, ctx: &mut Context<Self>) {
        let ClientFrame { id, ack, request } = frame;
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
        if self.replay.bytes() > MAX_REPLAY_BYTES {
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
            tracing::debug!(session = self.short_id(), id, "duplicate request ignored");
            return;
        }
        self.highest_request = id;
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
            Request::Cancel { request } => self.cancel_request(id, request, ctx),
            Request::Status => {
                self.shared
                    .registry
                    .send(GetStatus {
                        session: self.id.clone(),
                        user: self.user.clone(),
                    })
                    .into_actor(self)
                    .map(move |r, act, _| match r {
                        Ok(s) => act.reply(id, Response::Status(s)),
                        Err(e) => act.reply(id, Response::Error(internal(e))),
                    })
                    .spawn(ctx);
            }
            Request::ListDataSources => {
                self.list(id, || db::data_sources().map(Response::DataSources), ctx);
            }
            Request::ListDrivers => self.list(id, || db::drivers().map(Response::Drivers), ctx),
            Request::DriverConnect { connection_string } => {
                let masked = connstr::mask_for_log(&connection_string);
                tracing::info!(session = self.short_id(), connection_string = %masked, "connect");
                match access::authorize_connection_string(
                    &self.shared.config.access,
                    &self.shared.catalog,
                    &connection_string,
                ) {
                    // Only the string rebuilt from the checked pairs reaches the driver manager.
                    Ok(checked) => {
                        self.open_connection(id, OpenTarget::ConnectionString(checked), ctx)
                    }
                    Err(e) => {
                        tracing::warn!(session = self.short_id(), connection_string = %masked, reason = %e.message, "connect refused");
                        self.reply(id, Response::Error(e));
                    }
                }
            }
            Request::Connect { dsn, uid, pwd } => {
                tracing::info!(session = self.short_id(), dsn = %dsn.escape_debug(), uid = %uid.escape_debug(), "connect");
                match access::check_dsn(&self.shared.config.access, &dsn)
                    .and_then(|()| access::check_credentials(&uid, &pwd))
                {
                    Ok(()) => self.open_connection(id, OpenTarget::Dsn { dsn, uid, pwd }, ctx),
                    Err(e) => {
                        tracing::warn!(session = self.short_id(), dsn = %dsn.escape_debug(), reason = %e.message, "connect refused");
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
                tracing::debug!(session = self.short_id(), conn, cursor, %sql, "execute");
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
        }
    }

    fn close_session(&mut self, id: RequestId, ctx: &mut Context<Self>) {
        let closes: Vec<_> = self
            .conns
            .drain()
            .map(|(_, h)| h.addr.release(h.clone()))
            .collect();
        futures_util::future::join_all(closes)
            .into_actor(self)
            .map(move |_, act, ctx| {
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

    fn cancel_request(&mut self, id: RequestId, target: RequestId, ctx: &mut Context<Self>) {
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

    fn open_connection(&mut self, id: RequestId, target: OpenTarget, ctx: &mut Context<Self>) {
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
        let registry = self.shared.registry.clone();
        let max_chunk = self.shared.config.session.transport.max_chunk_length as usize;
        let conn = self.next_conn;
        self.next_conn = self.next_conn.wrapping_add(1).max(1);
        let stats = self.stats.clone();
        let running = self.shared.running.clone();
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
                session,
                key,
                pooling,
            };
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
                    let started = DbAddr::start(move || {
                        let owner = handover.lock().ok().and_then(|mut o| o.take());
                        DbConnection::new(max_chunk, slot, cursor_type, owner)
                    });
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
                Ok(DbReply::Opened { dbms_name }) => Ok((handle, dbms_name)),
                Ok(other) => Err(DbError::new(
                    ErrorClass::InternalError,
                    format!("unexpected reply {other:?}"),
                )),
                Err(e) => Err(e),
            }
        };
        fut.into_actor(self)
            .map(move |r, act, _| {
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
                        tracing::info!(session = act.short_id(), sqlstate = %e.sqlstate, error = %e.message, "connect failed");
                        act.reply(id, Response::Error(e));
                    }
                }
            })
            .spawn(ctx);
    }

    /// Queues a database request for connection `conn`; it runs when the connection is free
    /// and the client has acknowledged enough of what it was sent.
    fn forward(&mut self, id: RequestId, conn: ConnId, req: DbRequest, ctx: &mut Context<Self>) {
        if !self.conns.contains_key(&conn) {
            return self.reply(id, Response::Error(no_such_connection(conn)));
        }
        self.enqueue(conn, Queued::Call(id, req), ctx);
    }

    fn enqueue(&mut self, conn: ConnId, item: Queued, ctx: &mut Context<Self>) {
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
    fn pump_all(&mut self, ctx: &mut Context<Self>) {
        let waiting: Vec<ConnId> = self.queued.keys().copied().collect();
        for conn in waiting {
            self.pump(conn, ctx);
        }
    }

    /// Hands the next queued request of `conn` to the connection, if the connection is free
    /// and the output budget allows.
    fn pump(&mut self, conn: ConnId, ctx: &mut Context<Self>) {
        if self.busy.contains(&conn)
            || self.replay.bytes() > OUTPUT_BUDGET
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
            Queued::Call(id, req) => self.dispatch(id, conn, req, ctx),
            Queued::Close(id) => self.close_connection(id, conn, ctx),
        }
    }

    /// `CloseConnection`, after everything the client sent before it on that connection.
    fn close_connection(&mut self, id: RequestId, conn: ConnId, ctx: &mut Context<Self>) {
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
            .map(move |r, act, _| {
                act.reply_result(id, flatten(r).map(|_| Response::Ok));
            })
            .spawn(ctx);
    }

    /// Answers request `id` with a driver-manager listing, read on the blocking pool (the
    /// driver manager may load driver setup libraries; the reactor must not wait on it).
    fn list(
        &mut self,
        id: RequestId,
        listing: impl FnOnce() -> Result<Response, DbError> + Send + 'static,
        ctx: &mut Context<Self>,
    ) {
        actix_rt::task::spawn_blocking(listing)
            .into_actor(self)
            .map(move |r, act, _| {
                let r = r.map_err(|e| DbError::new(ErrorClass::InternalError, e.to_string()));
                act.reply_result(id, r.and_then(|r| r));
            })
            .spawn(ctx);
    }

    fn dispatch(&mut self, id: RequestId, conn: ConnId, req: DbRequest, ctx: &mut Context<Self>) {
        let Some(h) = self.conns.get(&conn) else {
            return self.reply(id, Response::Error(no_such_connection(conn)));
        };
        self.busy.insert(conn);
        self.running.insert(
            id,
            RunningRequest {
                conn,
                cancelled: None,
                cancelling: false,
            },
        );
        // Lowered when the answer comes, or when the session ends first and drops the future.
        let counted = RunningRequestCount::start(&self.stats, &self.shared.running);
        let exec_limit = self.shared.config.activity.max_request_execution_time;
        h.addr
            .call(id, req)
            .into_actor(self)
            .map(move |r, act, ctx| {
                drop(counted);
                let cancelled = act.running.remove(&id).and_then(|r| r.cancelled);
                act.busy.remove(&conn);
                match flatten(r) {
                    Ok(DbReply::Opened { .. } | DbReply::Done) => act.reply(id, Response::Ok),
                    Ok(DbReply::Executed {
                        columns,
                        rowcount,
                        rows,
                        done,
                    }) => {
                        let head = RowsHead::Executed { columns, rowcount };
                        act.reply_rows(id, head, &rows, done);
                    }
                    Ok(DbReply::Rows { rows, done }) => {
                        act.reply_rows(id, RowsHead::Rows, &rows, done);
                    }
                    // Cancelled by the watchdog, and the driver did stop it: say why. (A
                    // request the cancel came too late for answers with what it did.)
                    Err(e) if cancelled == Some(CancelReason::Watchdog) => act.reply(
                        id,
                        Response::Error(DbError {
                            class: ErrorClass::TimeoutError,
                            sqlstate: "HYT00".into(),
                            message: format!(
                                "the request ran longer than max_request_execution_time ({exec_limit:?}) and was cancelled: {}",
                                e.message
                            ),
                            ..e
                        }),
                    ),
                    Err(e) => act.reply(id, Response::Error(e)),
                }
                act.pump(conn, ctx);
            })
            .spawn(ctx);
    }

    /// Asks the driver to cancel request `id`'s statement, on a blocking thread (`SQLCancel`
    /// may wait for the database). The request counts as cancelled from now (its answer may
    /// come back before `SQLCancel` does) unless the driver turns out to have had no call of
    /// it running, in which case a later check tries again.
    fn cancel_running(&mut self, id: RequestId, why: CancelReason, ctx: &mut Context<Self>) {
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
        let slot = h.cancel.clone();
        actix_rt::task::spawn_blocking(move || slot.cancel_request(id))
            .into_actor(self)
            .map(move |asked, act, _| {
                if let Some(r) = act.running.get_mut(&id) {
                    r.cancelling = false;
                    if !asked.unwrap_or(false) {
                        r.cancelled = None;
                    }
                }
            })
            .spawn(ctx);
    }

    /// The watchdog, every `check_interval`.
    fn check(&mut self, ctx: &mut Context<Self>) {
        if self.closing {
            return;
        }
        // Requests held back by the server-wide output budget try again.
        self.pump_all(ctx);
        let activity = &self.shared.config.activity;
        let (window, idle_limit, exec_limit) = (
            activity.max_session_reconnect_time,
            activity.max_waiting_time,
            activity.max_request_execution_time,
        );
        let receive_timeout = self.shared.config.session.transport.receive_timeout;
        if let Some(since) = self.detached_since {
            if since.elapsed() > window {
                tracing::info!(
                    session = self.short_id(),
                    "the client did not resume in time; closing the session"
                );
                let reason = DbError::with_state(
                    ErrorClass::TimeoutError,
                    "HYT00",
                    format!("the session was closed: its client did not reconnect within max_session_reconnect_time ({window:?})"),
                );
                return self.end(reason, ctx);
            }
        }
        if let Some(link) = &self.link {
            let stuck = link
                .partial
                .lock()
                .map(|p| p.is_some_and(|t| t.elapsed() > receive_timeout))
                .unwrap_or(false);
            if stuck {
                return self.detach(
                    &format!("receive_timeout: a frame stayed incomplete for {receive_timeout:?}"),
                    ctx,
                );
            }
        }
        if self.link.is_some()
            && self.running.is_empty()
            && self.last_request.elapsed() > idle_limit
        {
            tracing::info!(
                session = self.short_id(),
                "idle for max_waiting_time; dropping the session"
            );
            let err = DbError::with_state(
                ErrorClass::TimeoutError,
                "HYT00",
                format!("the session was dropped after {idle_limit:?} without a request (max_waiting_time)"),
            );
            return self.fail(err, ctx);
        }
        // Each request is timed from its start on its connection, and only its own statement
        // is cancelled; its answer (the driver's error, or its result if it finished first)
        // is what the client gets.
        let overdue: Vec<RequestId> = self
            .running
            .iter()
            .filter(|(id, r)| {
                r.cancelled.is_none()
                    && self.conns.get(&r.conn).is_some_and(|h| {
                        h.cancel
                            .started(**id)
                            .is_some_and(|t| t.elapsed() > exec_limit)
                    })
            })
            .map(|(id, _)| *id)
            .collect();
        for id in overdue {
            tracing::warn!(
                session = self.short_id(),
                request = id,
                "request exceeded max_request_execution_time; cancelling it"
            );
            self.cancel_running(id, CancelReason::Watchdog, ctx);
        }
    }
}

/// Stops a link's reader and writer. The writer is dropped later, not here: this may run inside
/// the writer's own callback, and dropping it there would re-borrow state its poll holds.
fn retire(link: Link, ctx: &mut Context<Session>) {
    ctx.cancel_future(link.reader);
    ctx.cancel_future(link.writer_task);
    ctx.run_later(Duration::ZERO, move |_, _| drop(link));
}

fn flatten<T>(r: Result<Result<T, DbError>, MailboxError>) -> Result<T, DbError> {
    r.map_err(internal)?
}

fn internal(e: MailboxError) -> DbError {
    DbError::new(
        ErrorClass::InternalError,
        format!("the database connection's worker is gone ({e})"),
    )
}

fn no_such_connection(conn: ConnId) -> DbError {
    DbError::with_state(
        ErrorClass::ProgrammingError,
        "08003",
        format!("database connection {conn} is not open in this session"),
    )
}

impl Actor for Session {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let msg = RegisterSession {
            id: self.id.clone(),
            addr: ctx.address().recipient(),
            peer: self.peer,
            user: self.user.clone(),
            transport: self.transport.clone(),
            stats: self.stats.clone(),
        };
        self.shared
            .registry
            .send(msg)
            .into_actor(self)
            .map(|r, act, ctx| match flatten(r) {
                Ok(()) => {
                    tracing::info!(session = act.short_id(), peer = %act.peer, client = %act.client_name, user = %act.user, "session opened");
                    let window = act.shared.config.activity.max_session_reconnect_time;
                    act.send_unnumbered(
                        0,
                        Response::SessionOpened {
                            session_id: act.id.clone(),
                            server_version: crate::VERSION.to_owned(),
                            last_request: 0,
                            reconnect_window_ms: window.as_millis() as u64,
                        },
                    );
                    let interval = act.shared.config.activity.check_interval;
                    ctx.run_interval(interval, |act, ctx| act.check(ctx));
                }
                Err(e) => {
                    // Not registered: nothing to unregister later.
                    act.id.clear();
                    act.fail(e, ctx);
                }
            })
            .wait(ctx);
    }

    fn stopping(&mut self, _: &mut Context<Self>) -> Running {
        // What this session kept for replay no longer counts against the server's budget.
        self.replay.acknowledge(u64::MAX);
        let running: Vec<(RequestId, ConnId)> =
            self.running.iter().map(|(id, r)| (*id, r.conn)).collect();
        self.queued.clear();
        self.queued_total = 0;
        for (conn, h) in self.conns.drain() {
            // Stop what still runs, so the close below does not wait behind it.
            for (id, _) in running.iter().filter(|(_, c)| *c == conn) {
                let (slot, id) = (h.cancel.clone(), *id);
                actix_rt::task::spawn_blocking(move || slot.cancel_request(id));
            }
            // Roll back and disconnect on the connection's own thread; dropping the address
            // afterwards ends that thread.
            h.addr.release_now(h.clone());
        }
        // The answers of running requests will not come back to this actor; their futures,
        // dropped with it, lower the running counts (`RunningRequestCount`).
        self.running.clear();
        if !self.id.is_empty() {
            tracing::info!(session = self.short_id(), peer = %self.peer, "session closed");
            let reason = self.end_reason.take().unwrap_or_else(|| {
                DbError::with_state(
                    ErrorClass::ConnectionFailureError,
                    "08S01",
                    "the session has ended",
                )
            });
            self.shared.registry.do_send(UnregisterSession {
                id: self.id.clone(),
                reason,
            });
        }
        Running::Stop
    }
}

impl StreamHandler<LinkEvent> for Session {
    fn handle(&mut self, event: LinkEvent, ctx: &mut Context<Self>) {
        let current = self.link.as_ref().map(|l| l.generation);
        match event {
            LinkEvent::Frame(g, _) | LinkEvent::Closed(g) if Some(g) != current => {}
            LinkEvent::Frame(_, Ok(Decoded::Frame(frame))) => self.handle_frame(frame, ctx),
            LinkEvent::Frame(_, Ok(Decoded::OverBudget { id, ack })) => {
                self.refuse_oversized(id, ack, ctx);
            }
            LinkEvent::Frame(_, Err(CodecError::Proto(e))) => {
                tracing::warn!(peer = %self.peer, error = %e, "protocol error; closing the session");
                self.fail(DbError::new(ErrorClass::ProtocolError, e.to_string()), ctx);
            }
            LinkEvent::Frame(_, Err(CodecError::Io(e))) => self.detach(&e.to_string(), ctx),
            LinkEvent::Closed(_) => self.detach("the client closed the connection", ctx),
        }
    }

    fn finished(&mut self, _: &mut Context<Self>) {
        // Links come and go; the `Closed` event says which one ended.
    }
}

impl WriteHandler<CodecError> for Session {
    fn error(&mut self, err: CodecError, ctx: &mut Context<Self>) -> Running {
        self.detach(&format!("write failed: {err}"), ctx);
        // Stop this writer (not the session: `finished` below only acts when ending).
        Running::Stop
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        if self.closing {
            ctx.stop();
        }
    }
}

impl Handler<Reattach> for Session {
    type Result = ();

    fn handle(&mut self, msg: Reattach, ctx: &mut Context<Self>) {
        if let Some(old) = self.link.take() {
            // The client gave up on the old link (e.g. it stalled): so do we.
            retire(old, ctx);
        }
        self.peer = msg.peer;
        self.attach(msg.read, msg.write, ctx);
        if self.closing {
            let reason = self.end_reason.clone().unwrap_or_else(|| {
                DbError::with_state(
                    ErrorClass::ConnectionFailureError,
                    "08S01",
                    "the session has ended",
                )
            });
            return self.fail(reason, ctx);
        }
        self.acknowledge(msg.ack, ctx);
        if self.replay.resume(msg.ack).is_err() {
            let err = DbError::with_state(
                ErrorClass::ConnectionFailureError,
                "08S01",
                "cannot resume: answers the client has not received are gone",
            );
            return self.fail(err, ctx);
        }
        tracing::info!(session = self.short_id(), peer = %self.peer, replayed = self.replay.len(), "session resumed");
        self.last_request = Instant::now();
        let window = self.shared.config.activity.max_session_reconnect_time;
        self.send_unnumbered(
            0,
            Response::SessionOpened {
                session_id: self.id.clone(),
                server_version: crate::VERSION.to_owned(),
                last_request: self.highest_request,
                reconnect_window_ms: window.as_millis() as u64,
            },
        );
        if let Some(link) = &mut self.link {
            for bytes in self.replay.frames() {
                link.writer.write(bytes.clone());
            }
        }
    }
}
