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
//!
//! Where each job lives: this file holds the actor, its link, its answers and its lifecycle;
//! [`requests`] what each client request does; [`connections`] opening database connections
//! and queueing and dispatching their requests; [`watchdog`] the periodic checks; [`drain`]
//! closing at a transaction boundary when the server shuts down; the numbered frames are a
//! [`ReplayBuffer`](super::replay::ReplayBuffer) in the session's [`Outbox`], which the connections' threads also write
//! their answers to (see [`db::answer`]).

mod admin;
mod connections;
mod drain;
mod requests;
mod watchdog;

use connections::InFlight;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures_util::StreamExt;
use tokio_util::codec::FramedRead;

use super::db::{
    self, Adopt, CancelSlot, ConnectionClosed, DbAddr, DbConnection, DbHandle, DbReply, DbRequest,
    OpenTarget, Owner,
};
use super::gate::{Gate, Gated};

use super::handoff::{public_prefix, ReadHalf, Reattach, WriteHalf};
use super::outbox::{Drained, Outbox, Then};
use super::registry::{
    AcquireConnection, GetStatus, RegisterSession, RunningRequestCount, SessionStats, Transport,
    UnregisterSession, PAUSED_MESSAGE,
};
use super::{access, Shared};
use crate::connstr;
use crate::error::{DbError, ErrorClass};
use crate::proto::codec::{CodecError, Decoded, FrameDecoder, PartialSince};
use crate::proto::compress::Compression;
use crate::proto::message::{ClientFrame, ConnId, Request, RequestId, Response};
use crate::proto::MAX_FRAME_LEN;
use db::answer::ClientAnswer;

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
    /// The protocol version the client speaks (see [`crate::proto::PROTOCOL_VERSION`]).
    pub protocol: u16,
}

/// The current link to the client.
struct Link {
    /// The task writing what waits in the outbox to this link ([`Outbox::drive`]).
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
    /// The beginning of its SQL (at most [`super::admin::MAX_KEPT_SQL`] bytes), for an admin's
    /// list.
    sql: Option<Box<str>>,
    /// Who asked to cancel it, once the driver was asked to: its answer then says so.
    cancelled: Option<CancelReason>,
    /// A cancel is being attempted now (on a blocking thread).
    cancelling: bool,
    /// Keeps its answer from being sent by the connection's thread (see
    /// [`db::answer::Route`]).
    hold: Arc<std::sync::atomic::AtomicBool>,
}

/// Why a running request was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CancelReason {
    /// The watchdog: it ran longer than `max_request_execution_time`.
    Watchdog,
    /// The client's `Cancel` request.
    Client,
    /// An admin's cancel of the session's running requests.
    Admin,
}

/// A request waiting in the session for its database connection.
enum Queued {
    /// A database request.
    Call(RequestId, DbRequest),
    /// `CloseConnection`, in order after what the client sent before it.
    Close(RequestId),
}

impl Queued {
    /// A `Fetch` (which may follow fetches still running on its connection).
    fn is_fetch(&self) -> bool {
        matches!(self, Self::Call(_, DbRequest::Fetch { .. }))
    }
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
    /// `session{id=..}`: every log line of this session (and of its database connections'
    /// threads while they serve it) is in it.
    span: tracing::Span,
    shared: Shared,
    id: String,
    user: String,
    client_name: String,
    /// When it opened (for an admin's list).
    opened: std::time::SystemTime,
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
    /// Frames on their way to the client, and the session frames it has not acknowledged.
    outbox: Arc<Outbox>,
    conns: HashMap<ConnId, DbHandle>,
    next_conn: ConnId,
    running: HashMap<RequestId, RunningRequest>,
    /// Requests waiting for their connection, per connection, in the order received.
    queued: HashMap<ConnId, VecDeque<Queued>>,
    queued_total: usize,
    /// Connections with requests handed to them and not answered yet.
    busy: HashMap<ConnId, InFlight>,
    /// Connections being opened now (they count against `max_connections_per_session`).
    opening: usize,
    /// The protocol version the client speaks: 1 gets no warnings and no
    /// `ExecuteManyFailed`.
    protocol: u16,
    /// Requests received and not answered yet (a session closes for a shutdown only when
    /// there are none: then nothing it did not answer ran).
    /// Each with its kind and arrival, for the latency metrics.
    unanswered: HashMap<RequestId, (&'static str, Instant)>,
    /// Where each connection's transaction stands (see [`drain`]).
    transactions: drain::Transactions,
    /// The server shuts down: close at the next transaction boundary.
    draining: bool,
    /// An admin request of this session is under way (one at a time).
    admin_busy: bool,
}

impl Session {
    /// Starts a session on an accepted socket whose client sent `OpenSession`.
    pub fn start(
        shared: Shared,
        peer: SocketAddr,
        read: ReadHalf,
        write: WriteHalf,
        direct: Option<std::net::TcpStream>,
        open: OpenRequest,
    ) -> Addr<Self> {
        Self::create(move |ctx| {
            let compression = shared.config.session.transport.compression();
            let outbox = Arc::new(Outbox::new(
                Arc::clone(&shared.unacknowledged),
                Arc::clone(&shared.metrics),
                shared.config.session.transport.max_chunk_length as usize,
            ));
            let span = tracing::info_span!("session", id = %public_prefix(&open.session_id));
            let mut s = Self {
                span,
                shared,
                id: open.session_id,
                user: open.username,
                client_name: open.client_name,
                opened: std::time::SystemTime::now(),
                cursor_type: open.cursor_type,
                transport: open.transport,
                protocol: open.protocol,
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
                outbox,
                conns: HashMap::new(),
                next_conn: 1,
                running: HashMap::new(),
                queued: HashMap::new(),
                queued_total: 0,
                busy: HashMap::new(),
                opening: 0,
                unanswered: HashMap::new(),
                transactions: drain::Transactions::default(),
                draining: false,
                admin_busy: false,
            };
            s.attach(read, write, direct, None, Then::Continue, ctx);
            s
        })
    }

    /// Takes a new link; `first` goes out on it first, then what `then` says.
    fn attach(
        &mut self,
        read: ReadHalf,
        write: WriteHalf,
        direct: Option<std::net::TcpStream>,
        first: Option<bytes::Bytes>,
        then: Then,
        ctx: &mut Context<Self>,
    ) {
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
                .with_budget(self.shared.config.session.max_request_size)
                .with_meter({
                    let metrics = Arc::clone(&self.shared.metrics);
                    Arc::new(move |payload, wire| metrics.received(wire, payload))
                }),
        )
        .map(move |r| LinkEvent::Frame(generation, r))
        .chain(futures_util::stream::once(async move {
            LinkEvent::Closed(generation)
        }));
        let reader = ctx.add_stream(Gated::new(frames, gate.clone()));
        self.outbox.attach(generation, direct, first, then);
        let outbox = Arc::clone(&self.outbox);
        let writer_task = ctx.spawn(
            async move { outbox.drive(generation, write).await }
                .into_actor(self)
                .map(move |r, act, ctx| act.written(generation, r, ctx)),
        );
        self.link = Some(Link {
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
        self.retire(link, ctx);
        if self.draining {
            // Shutting down: the listeners are closed, the client cannot come back.
            return self.end_if_detached_while_draining(ctx);
        }
        self.detached_since = Some(Instant::now());
        self.stats.attached.store(false, Ordering::Relaxed);
        tracing::info!(
            peer = %self.peer,
            reason = why,
            window = ?self.shared.config.activity.max_session_reconnect_time,
            "link lost; keeping the session for the client to resume"
        );
    }

    /// Sends a session frame: numbered, kept for replay until acknowledged.
    fn reply(&mut self, id: RequestId, response: Response) {
        self.send_answer(id, ClientAnswer::Other(response));
    }

    /// Answers request `id` with a database actor's reply (and the driver's warnings).
    fn reply_db(&mut self, id: RequestId, reply: DbReply) {
        if let DbReply::Sent {
            failed,
            more_rows,
            at,
        } = reply
        {
            // The connection's thread sent it already.
            return self.answered_at(id, failed, more_rows, at);
        }
        self.send_answer(id, ClientAnswer::from_reply(reply, self.protocol));
    }

    fn send_answer(&mut self, id: RequestId, answer: ClientAnswer) {
        let encoded = answer.encode(id, self.compression);
        self.answered(id, encoded.failed, encoded.more_rows);
        encoded.send(&self.outbox, &self.shared.metrics);
    }

    fn reply_result(&mut self, id: RequestId, r: Result<Response, DbError>) {
        let response = r.unwrap_or_else(Response::Error);
        self.reply(id, response);
    }

    /// Encodes a frame outside the numbered stream (handshake answers, final notices).
    fn unnumbered(&self, id: RequestId, response: Response) -> bytes::Bytes {
        ClientAnswer::Other(response)
            .encode(id, self.compression)
            .bytes
    }

    /// Sends a frame outside the numbered stream.
    fn send_unnumbered(&mut self, id: RequestId, response: Response) {
        let frame = self.unnumbered(id, response);
        self.outbox.send_unnumbered(frame);
    }

    /// Ends the session once the frames already queued are written; `reason` is what a
    /// client that tries to resume will be told.
    fn end(&mut self, reason: DbError, ctx: &mut Context<Self>) {
        self.end_with(reason, None, ctx);
    }

    /// [`Self::end`], with `notice` as the last frame the client gets.
    fn end_with(&mut self, reason: DbError, notice: Option<bytes::Bytes>, ctx: &mut Context<Self>) {
        if self.end_reason.is_none() {
            self.end_reason = Some(reason);
        }
        self.closing = true;
        self.outbox.close(notice);
        match &mut self.link {
            Some(_) => {
                // The client gets the frames queued before the end (its last batches, which
                // may be many when it fetches ahead) as long as it reads them; one that stops
                // reading is let go after send_timeout, as any stalled write is.
                let patience = self.shared.config.session.transport.send_timeout;
                ctx.run_later(patience, |_, ctx| ctx.stop());
            }
            None => ctx.stop(),
        }
    }

    /// Sends `err` as a notice (id 0) and ends the session.
    fn fail(&mut self, err: DbError, ctx: &mut Context<Self>) {
        // The notice is the last frame: nothing a connection's thread sends goes after it.
        let notice = self.unnumbered(0, Response::Error(err.clone()));
        self.end_with(err, Some(notice), ctx);
    }

    fn acknowledge(&mut self, ack: u64, ctx: &mut Context<Self>) {
        let held = self.outbox.kept_bytes() > OUTPUT_BUDGET;
        self.outbox.acknowledge(ack);
        if held && self.outbox.kept_bytes() <= OUTPUT_BUDGET {
            self.pump_all(ctx);
        }
    }

    /// Link `generation`'s writer task ended.
    fn written(&mut self, generation: u64, r: std::io::Result<Drained>, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        let current = self
            .link
            .as_ref()
            .is_some_and(|l| l.generation == generation);
        match r {
            // Ending: its last frames are written, or they cannot be (the client is gone).
            Ok(Drained::Closed) | Err(_) if self.closing && current => ctx.stop(),
            Err(e) if current => self.detach(&format!("write failed: {e}"), ctx),
            _ => {}
        }
    }

    /// Tells a client resuming on `msg`'s link why it cannot, and ends the session: the notice
    /// is the link's only frame (no connection's answer goes before it).
    fn refuse_resume(&mut self, msg: Reattach, err: DbError, ctx: &mut Context<Self>) {
        let notice = self.unnumbered(0, Response::Error(err.clone()));
        self.attach(
            msg.read,
            msg.write,
            msg.direct,
            Some(notice),
            Then::Close,
            ctx,
        );
        self.end(err, ctx);
    }

    /// Stops a link's reader and writer; the outbox writes to it no more.
    fn retire(&self, link: Link, ctx: &mut Context<Session>) {
        self.outbox.detach();
        ctx.cancel_future(link.reader);
        ctx.cancel_future(link.writer_task);
    }
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

impl Session {
    /// The registry answered the session's registration: greet the client, or end.
    fn registered(&mut self, r: Result<(), DbError>, ctx: &mut Context<Self>) {
        match r {
            Ok(()) => {
                self.shared
                    .metrics
                    .handshakes
                    .with_label_values(&["new"])
                    .inc();
                tracing::info!(peer = %self.peer, client = %self.client_name, user = %self.user, "session opened");
                let window = self.shared.config.activity.max_session_reconnect_time;
                self.send_unnumbered(
                    0,
                    Response::SessionOpened {
                        session_id: self.id.clone(),
                        server_version: crate::VERSION.to_owned(),
                        last_request: 0,
                        reconnect_window_ms: window.as_millis() as u64,
                    },
                );
                let interval = self.shared.config.activity.check_interval;
                ctx.run_interval(interval, |act, ctx| act.check(ctx));
            }
            Err(e) => {
                // Not registered: nothing to unregister later.
                self.shared
                    .metrics
                    .refused(match (e.class, e.sqlstate.as_str()) {
                        (_, "08004") if e.message == PAUSED_MESSAGE => "paused",
                        (_, "08004") => "draining",
                        (ErrorClass::PolicyViolationError, _) => "max_sessions",
                        _ => "internal",
                    });
                self.id.clear();
                self.fail(e, ctx);
            }
        }
    }
}

impl Actor for Session {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        let msg = RegisterSession {
            id: self.id.clone(),
            addr: ctx.address().recipient(),
            peer: self.peer,
            user: self.user.clone(),
            transport: self.transport.clone(),
            stats: self.stats.clone(),
            drain: ctx.address().recipient(),
            describe: ctx.address().recipient(),
            intervene: ctx.address().recipient(),
            admin: self.viewer().admin,
        };
        self.shared
            .registry
            .send(msg)
            .into_actor(self)
            .map(|r, act, ctx| {
                let _entered = act.span.clone().entered();
                act.registered(flatten(r), ctx);
            })
            .wait(ctx);
    }

    fn stopping(&mut self, _: &mut Context<Self>) -> Running {
        let _entered = self.span.clone().entered();
        // What this session kept for replay no longer counts against the server's budget, and
        // the outbox lets the socket go (a connection's thread still answering holds the
        // outbox, not the socket).
        self.outbox.end();
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
            tracing::info!(peer = %self.peer, "session closed");
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
        let _entered = self.span.clone().entered();
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

impl Handler<Reattach> for Session {
    type Result = ();

    fn handle(&mut self, msg: Reattach, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        if let Some(old) = self.link.take() {
            // The client gave up on the old link (e.g. it stalled): so do we.
            self.retire(old, ctx);
        }
        self.peer = msg.peer;
        if self.closing && !self.draining {
            let reason = self.end_reason.clone().unwrap_or_else(|| {
                DbError::with_state(
                    ErrorClass::ConnectionFailureError,
                    "08S01",
                    "the session has ended",
                )
            });
            return self.refuse_resume(msg, reason, ctx);
        }
        self.acknowledge(msg.ack, ctx);
        if self.outbox.resume(msg.ack).is_err() {
            let err = DbError::with_state(
                ErrorClass::ConnectionFailureError,
                "08S01",
                "cannot resume: answers the client has not received are gone",
            );
            return self.refuse_resume(msg, err, ctx);
        }
        self.last_request = Instant::now();
        let window = self.shared.config.activity.max_session_reconnect_time;
        let hello = self.unnumbered(
            0,
            Response::SessionOpened {
                session_id: self.id.clone(),
                server_version: crate::VERSION.to_owned(),
                last_request: self.highest_request,
                reconnect_window_ms: window.as_millis() as u64,
            },
        );
        // The greeting, then every frame the client missed, then what comes next: in one
        // step, so that no connection's answer slips in between.
        self.attach(
            msg.read,
            msg.write,
            msg.direct,
            Some(hello),
            Then::Replay,
            ctx,
        );
        tracing::info!(peer = %self.peer, replayed = self.outbox.kept_frames(), "session resumed");
        // Closed for a shutdown while the link was down: the client gets every answer it
        // missed, then the notice (so it knows what did not run).
        if self.closing {
            let reason = self.end_reason.clone().unwrap_or_else(drain::drained);
            self.fail(reason, ctx);
        }
    }
}
