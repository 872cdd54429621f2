//! The registry actor: knows every session and counts physical database connections, enforcing
//! `max_sessions` and the licence limit `[License] max_connections`; finds the session a
//! resuming client names.
//!
//! Counts change only through its messages, in one place, so they never drift: a session
//! registers when it opens and unregisters when it ends for any reason (close, idle timeout,
//! reconnect window passed, error), which also releases every connection it still counted.
//! For a while after a session ended, the registry remembers why ("tombstones"), so a client
//! that tries to resume it learns the reason (e.g. the `TimeoutError` of `max_waiting_time`).
//!
//! It also owns the idle-connection pool (`[Pool]`), so that pooled connections count against
//! the licence limit exactly like connections in use: a connection actor whose session is done
//! with it parks itself, reset, with [`ConnectionClosed`], and [`AcquireConnection`] gives a
//! parked one out again, or makes room under the limit by disconnecting the longest-idle one.

pub mod admin;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::db::{ConnectionClosed, DbHandle, ParkedConnectionGone};
use super::handoff::{public_prefix, server_instance, Reattach};
use super::pool::{IdlePool, PoolKey};
use crate::config::server::PoolConfig;
use crate::error::{DbError, ErrorClass};
use crate::proto::message::{ServerStatus, SessionStatus};
use actix::{Actor, AsyncContext, Context, Handler, Message, MessageResult, Recipient};
pub use admin::{Describe, Intervene};

/// The exact message of manual FAQ 7.1.13.
pub const MAX_SESSIONS_MESSAGE: &str = "Maximum number of sessions reached.";

/// The exact message of manual FAQ 7.1.12 for a licence of `n` connections.
pub fn connection_limit_message(n: u32) -> String {
    format!("Connection limit exceeded. Your license allows {n} physical database connections.")
}

/// This process's resident memory (Linux: `VmRSS` of `/proc/self/status`).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// How long, and how many, ended sessions are remembered.
const TOMBSTONE_TTL: Duration = Duration::from_secs(600);
const MAX_TOMBSTONES: usize = 10_000;

/// Counters a session updates itself and the registry reads for `Status`.
#[derive(Debug, Default)]
pub struct SessionStats {
    /// Requests running on its database connections.
    pub running: AtomicU32,
    /// Whether its link is up.
    pub attached: AtomicBool,
}

/// One request running on a database connection, counted for its session and for the server
/// while it lives: dropping it (the request answered, or its session gone mid-request) lowers
/// both counts, so no path can forget to.
pub struct RunningRequestCount {
    session: Arc<SessionStats>,
    server: Arc<AtomicU32>,
}

impl RunningRequestCount {
    /// Counts one more running request.
    pub fn start(session: &Arc<SessionStats>, server: &Arc<AtomicU32>) -> Self {
        session.running.fetch_add(1, Ordering::Relaxed);
        server.fetch_add(1, Ordering::Relaxed);
        Self {
            session: Arc::clone(session),
            server: Arc::clone(server),
        }
    }
}

impl Drop for RunningRequestCount {
    fn drop(&mut self) {
        self.session.running.fetch_sub(1, Ordering::Relaxed);
        self.server.fetch_sub(1, Ordering::Relaxed);
    }
}

struct SessionEntry {
    addr: Recipient<Reattach>,
    drain: Recipient<DrainSession>,
    describe: Recipient<Describe>,
    intervene: Recipient<Intervene>,
    peer: SocketAddr,
    user: String,
    transport: Transport,
    connections: u32,
    stats: Arc<SessionStats>,
}

/// The registry actor.
pub struct Registry {
    max_sessions: u32,
    max_connections: Option<u32>,
    sessions: HashMap<String, SessionEntry>,
    /// Physical connections: those of the sessions plus the idle ones in `pool`.
    connections: u32,
    pool: IdlePool<DbHandle>,
    tombstones: HashMap<String, (Instant, DbError)>,
    tombstone_order: VecDeque<String>,
    /// Requests running on database connections, counted by the sessions.
    running: Arc<AtomicU32>,
    /// Shutting down: new sessions are refused, resumes still come in.
    draining: bool,
    /// An admin paused new sessions (see [`admin`]): refused like while draining.
    paused: bool,
}

impl Registry {
    /// A registry enforcing the given limits, pooling idle connections as `pool` says.
    pub fn new(
        max_sessions: u32,
        max_connections: Option<u32>,
        pool: &PoolConfig,
        running: Arc<AtomicU32>,
    ) -> Self {
        Self {
            max_sessions,
            max_connections,
            sessions: HashMap::new(),
            connections: 0,
            pool: IdlePool::new(pool.max_idle_connections as usize, pool.idle_timeout),
            tombstones: HashMap::new(),
            tombstone_order: VecDeque::new(),
            running,
            draining: false,
            paused: false,
        }
    }

    fn bury(&mut self, id: String, reason: DbError) {
        let now = Instant::now();
        while let Some(oldest) = self.tombstone_order.front() {
            let expired = self
                .tombstones
                .get(oldest)
                .is_none_or(|(at, _)| now.duration_since(*at) > TOMBSTONE_TTL);
            if !expired && self.tombstone_order.len() < MAX_TOMBSTONES {
                break;
            }
            if let Some(old) = self.tombstone_order.pop_front() {
                self.tombstones.remove(&old);
            }
        }
        self.tombstone_order.push_back(id.clone());
        self.tombstones.insert(id, (now, reason));
    }
}

impl Actor for Registry {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.schedule_expiry(ctx);
    }
}

impl Registry {
    /// Disconnects pooled connections idle past `idle_timeout`, checking a quarter of it
    /// apart (between 100 ms and 5 s; every 5 s while pooling is off, for a reload that
    /// turns it on).
    fn schedule_expiry(&self, ctx: &mut Context<Self>) {
        let every = if self.pool.enabled() {
            (self.pool.idle_timeout() / 4).clamp(Duration::from_millis(100), Duration::from_secs(5))
        } else {
            Duration::from_secs(5)
        };
        ctx.run_later(every, |act, ctx| {
            let expired = act.pool.expire(Instant::now());
            if !expired.is_empty() {
                tracing::debug!(
                    count = expired.len(),
                    "idle pooled connections disconnected"
                );
                act.connections = act.connections.saturating_sub(expired.len() as u32);
                // Dropping a pooled actor's last address ends its thread, which disconnects
                // on its own: the registry never waits on a driver.
                drop(expired);
            }
            act.schedule_expiry(ctx);
        });
    }
}

/// A reload's new limits: for sessions and connections admitted from now on (sessions and
/// connections already open stay); pooled connections beyond the new pool size are
/// disconnected.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reconfigure {
    /// `max_sessions`.
    pub max_sessions: u32,
    /// `[License] max_connections`.
    pub max_connections: Option<u32>,
    /// `[Pool]`.
    pub pool: PoolConfig,
}

impl Handler<Reconfigure> for Registry {
    type Result = ();

    fn handle(&mut self, msg: Reconfigure, _: &mut Context<Self>) {
        self.max_sessions = msg.max_sessions;
        self.max_connections = msg.max_connections;
        let evicted = self.pool.set_limits(
            msg.pool.max_idle_connections as usize,
            msg.pool.idle_timeout,
        );
        self.connections = self.connections.saturating_sub(evicted.len() as u32);
        drop(evicted);
    }
}

/// A session asks to be admitted.
#[derive(Message)]
#[rtype(result = "Result<(), DbError>")]
pub struct RegisterSession {
    /// The new session's id.
    pub id: String,
    /// Where the session takes a new link when its client resumes it.
    pub addr: Recipient<Reattach>,
    /// The client's address.
    pub peer: SocketAddr,
    /// The user that opens it.
    pub user: String,
    /// How its client came.
    pub transport: Transport,
    /// Its counters.
    pub stats: Arc<SessionStats>,
    /// Where it is told the server is shutting down.
    pub drain: Recipient<DrainSession>,
    /// Where an admin's list asks for its details.
    pub describe: Recipient<Describe>,
    /// Where an admin's kill or cancel is sent.
    pub intervene: Recipient<Intervene>,
    /// Whether its user is in `admin_users` (admitted while new sessions are paused).
    pub admin: bool,
}

/// A session has ended; its connections are released too, and `reason` is what a client that
/// tries to resume it will be told.
#[derive(Message)]
#[rtype(result = "()")]
pub struct UnregisterSession {
    /// The session's id.
    pub id: String,
    /// Why it ended.
    pub reason: DbError,
}

/// A client wants to resume session `id` as `user`.
#[derive(Message)]
#[rtype(result = "Result<Recipient<Reattach>, DbError>")]
pub struct LookupSession {
    /// The session id the client presented.
    pub id: String,
    /// The user the client authenticated as.
    pub user: String,
    /// How the resuming client came.
    pub transport: Transport,
}

/// How a client reached the server, as far as a resume must match it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// Plain TCP.
    Plain,
    /// TLS, with the SHA-256 digest of the client's certificate if it showed one.
    Tls {
        /// The client certificate's SHA-256 (hex), if any.
        client_certificate: Option<String>,
    },
}

impl Transport {
    /// Whether a client that came over `resume` may take over a session opened over `self`: a
    /// TLS session only over TLS, and with the same client certificate (or none if it had none).
    pub fn admits(&self, resume: &Transport) -> bool {
        match self {
            Transport::Plain => true,
            Transport::Tls { .. } => self == resume,
        }
    }
}

/// A session wants one more physical database connection for `key`: a pooled one
/// (`Ok(Some)`), or permission to open a new one (`Ok(None)`).
#[derive(Message)]
#[rtype(result = "Result<Option<DbHandle>, DbError>")]
pub struct AcquireConnection {
    /// The session's id.
    pub session: String,
    /// What the connection is for.
    pub key: PoolKey,
}

/// Asks for the registry's state, as one session may see it: the totals, and the sessions of
/// the same user (without authentication, where every user is anonymous: only its own).
#[derive(Message)]
#[rtype(result = "ServerStatus")]
pub struct GetStatus {
    /// The asking session's id.
    pub session: String,
    /// Its user ("" without authentication).
    pub user: String,
}

impl Handler<RegisterSession> for Registry {
    type Result = Result<(), DbError>;

    fn handle(&mut self, msg: RegisterSession, _: &mut Context<Self>) -> Self::Result {
        if self.draining {
            tracing::info!(peer = %msg.peer, "session refused: the server is shutting down");
            return Err(DbError::with_state(
                ErrorClass::OperationalError,
                "08004",
                DRAINING_MESSAGE,
            ));
        }
        if self.paused && !msg.admin {
            tracing::info!(peer = %msg.peer, "session refused: new sessions are paused");
            return Err(DbError::with_state(
                ErrorClass::OperationalError,
                "08004",
                PAUSED_MESSAGE,
            ));
        }
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
                addr: msg.addr,
                drain: msg.drain,
                peer: msg.peer,
                user: msg.user,
                transport: msg.transport,
                connections: 0,
                stats: msg.stats,
                describe: msg.describe,
                intervene: msg.intervene,
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
            tracing::debug!(session = %public_prefix(&msg.id), peer = %s.peer, released = s.connections, "session unregistered");
            self.bury(msg.id, msg.reason);
        }
    }
}

impl Handler<LookupSession> for Registry {
    type Result = Result<Recipient<Reattach>, DbError>;

    fn handle(&mut self, msg: LookupSession, _: &mut Context<Self>) -> Self::Result {
        match self.sessions.get(&msg.id) {
            // The same message for a wrong user as for an unknown id: a session id is a secret
            // and the answer must not confirm that one exists.
            // Another transport is answered the same way: a TLS session with a client
            // certificate resumes only over TLS with that certificate.
            Some(s) if s.user == msg.user && s.transport.admits(&msg.transport) => {
                Ok(s.addr.clone())
            }
            Some(_) | None => match self.tombstones.get(&msg.id) {
                Some((_, reason)) => Err(reason.clone()),
                // An id of this format from another server process: this one restarted (or
                // a balancer sent the client elsewhere). Saying so reveals nothing secret.
                None if msg.id.len() == 40
                    && !msg.id.starts_with(server_instance()) =>
                {
                    Err(DbError::with_state(
                        ErrorClass::ConnectionFailureError,
                        "08003",
                        "no such session to resume: the server restarted (or another server answered) since the session was opened; everything it held is gone",
                    ))
                }
                None => Err(DbError::with_state(
                    ErrorClass::ConnectionFailureError,
                    "08003",
                    "no such session to resume: it never existed here, belongs to another user, or ended long ago",
                )),
            },
        }
    }
}

impl Handler<AcquireConnection> for Registry {
    type Result = Result<Option<DbHandle>, DbError>;

    fn handle(&mut self, msg: AcquireConnection, _: &mut Context<Self>) -> Self::Result {
        let Some(s) = self.sessions.get_mut(&msg.session) else {
            return Err(DbError::new(
                ErrorClass::InterfaceError,
                "session is not registered",
            ));
        };
        if let Some(conn) = self.pool.take(&msg.key) {
            // Moves from the pool to the session: the total does not change.
            s.connections += 1;
            return Ok(Some(conn));
        }
        if let Some(max) = self.max_connections {
            if self.connections >= max {
                // An idle connection for someone else gives way to a connection in use.
                let Some(idle) = self.pool.evict_oldest() else {
                    return Err(DbError::new(
                        ErrorClass::InterfaceError,
                        connection_limit_message(max),
                    ));
                };
                self.connections = self.connections.saturating_sub(1);
                drop(idle);
            }
        }
        s.connections += 1;
        self.connections += 1;
        Ok(None)
    }
}

impl Handler<ConnectionClosed> for Registry {
    type Result = ();

    fn handle(&mut self, msg: ConnectionClosed, _: &mut Context<Self>) {
        // A session that already ended released all its connections at once.
        if let Some(s) = self.sessions.get_mut(&msg.session) {
            if s.connections > 0 {
                s.connections -= 1;
                self.connections = self.connections.saturating_sub(1);
            }
        }
        let Some((key, conn)) = msg.reusable else {
            return;
        };
        if self.draining {
            // Shutting down: nothing enters the pool any more.
            drop(conn);
            return;
        }
        if self
            .max_connections
            .is_some_and(|max| self.connections >= max)
        {
            drop(conn);
            return;
        }
        self.connections += 1;
        if let Some(evicted) = self.pool.put(key, conn, Instant::now()) {
            self.connections = self.connections.saturating_sub(1);
            drop(evicted);
        }
    }
}

impl Handler<ParkedConnectionGone> for Registry {
    type Result = ();

    fn handle(&mut self, msg: ParkedConnectionGone, _: &mut Context<Self>) {
        let gone = self
            .pool
            .remove(&msg.key, |h| Arc::ptr_eq(&h.cancel, &msg.cancel));
        if gone.is_some() {
            self.connections = self.connections.saturating_sub(1);
        }
    }
}

impl Handler<GetStatus> for Registry {
    type Result = MessageResult<GetStatus>;

    fn handle(&mut self, viewer: GetStatus, _: &mut Context<Self>) -> Self::Result {
        let mut session_list: Vec<SessionStatus> = self
            .sessions
            .iter()
            .filter(|(id, s)| {
                if viewer.user.is_empty() {
                    **id == viewer.session
                } else {
                    s.user == viewer.user
                }
            })
            .map(|(id, s)| SessionStatus {
                id_prefix: public_prefix(id).to_owned(),
                peer: s.peer.to_string(),
                user: s.user.clone(),
                connections: s.connections,
                running_requests: s.stats.running.load(Ordering::Relaxed),
                attached: s.stats.attached.load(Ordering::Relaxed),
            })
            .collect();
        session_list.sort_by(|a, b| a.id_prefix.cmp(&b.id_prefix));
        MessageResult(ServerStatus {
            sessions: self.sessions.len() as u32,
            connections: self.connections,
            running_requests: self.running.load(Ordering::Relaxed),
            max_sessions: self.max_sessions,
            max_connections: self.max_connections,
            session_list,
            rss_kib: rss_kib(),
        })
    }
}

/// What a client asking for a new session hears while an admin paused new sessions (it then
/// tries the next server of its list).
pub const PAUSED_MESSAGE: &str =
    "the server is paused by an administrator and accepts no new sessions; try another server";

/// What a client asking for a new session hears while the server shuts down (it then tries
/// the next server of its list).
pub const DRAINING_MESSAGE: &str =
    "the server is shutting down and takes no new sessions: try another server";

/// The server is shutting down (SIGTERM): a session closes at its next transaction boundary
/// (`now: false`), or at once, rolling back what is open (`now: true`, the grace period is
/// over).
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct DrainSession {
    /// The grace period is over.
    pub now: bool,
}

/// Starts the shutdown: new sessions are refused from now on, and every session is told
/// ([`DrainSession`]).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Drain {
    /// Close every session at once (the grace period is over).
    pub now: bool,
}

impl Handler<Drain> for Registry {
    type Result = ();

    fn handle(&mut self, msg: Drain, _: &mut Context<Self>) {
        self.draining = true;
        for s in self.sessions.values() {
            s.drain.do_send(DrainSession { now: msg.now });
        }
    }
}

/// How many sessions are open.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct CountSessions;

impl Handler<CountSessions> for Registry {
    type Result = usize;

    fn handle(&mut self, _: CountSessions, _: &mut Context<Self>) -> usize {
        self.sessions.len()
    }
}

/// The gauges of a metrics scrape (see [`super::metrics`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Census {
    /// Sessions with a link.
    pub attached: u32,
    /// Sessions waiting for their client to resume.
    pub detached: u32,
    /// Physical connections held by sessions.
    pub in_use: u32,
    /// Idle physical connections in the pool.
    pub pooled: u32,
    /// Requests running on database connections.
    pub running: u32,
    /// Whether new sessions are accepted (not draining).
    pub ready: bool,
}

/// Asks for the [`Census`].
#[derive(Message)]
#[rtype(result = "Census")]
pub struct TakeCensus;

impl Handler<TakeCensus> for Registry {
    type Result = MessageResult<TakeCensus>;

    fn handle(&mut self, _: TakeCensus, _: &mut Context<Self>) -> Self::Result {
        let attached = self
            .sessions
            .values()
            .filter(|s| s.stats.attached.load(Ordering::Relaxed))
            .count() as u32;
        let pooled = self.pool.len() as u32;
        MessageResult(Census {
            attached,
            detached: self.sessions.len() as u32 - attached,
            in_use: self.connections.saturating_sub(pooled),
            pooled,
            running: self.running.load(Ordering::Relaxed),
            ready: !self.draining && !self.paused,
        })
    }
}

/// Disconnects every pooled connection (at the end of a shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct EmptyPool;

impl Handler<EmptyPool> for Registry {
    type Result = ();

    fn handle(&mut self, _: EmptyPool, _: &mut Context<Self>) {
        let capacity = self.pool.capacity();
        let timeout = self.pool.idle_timeout();
        let idle = self.pool.set_limits(0, timeout);
        self.connections = self.connections.saturating_sub(idle.len() as u32);
        drop(idle);
        let _ = self.pool.set_limits(capacity, timeout);
    }
}
