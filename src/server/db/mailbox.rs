//! The database connection actor's thread and mailbox.
//!
//! Each [`super::DbConnection`] runs on its own OS thread and takes its messages (`Envelope`s) one at
//! a time, in order, from a queue; answers go back through one-shot channels that the session's
//! futures await. The thread ends when the last [`DbAddr`] is dropped and the queue is empty.
//!
//! Why not actix's `SyncArbiter`, which this replaced: it panics when the operating system
//! refuses a new thread (on the reactor thread, which ended the session and left its counts
//! behind); here that is an `OperationalError` for the one connect that asked. And its channel
//! spins and calls `sched_yield` a few times before it blocks, once per request and connection:
//! with 64 connections busy on two cores that was 15 % of the server's CPU in `perf` (though
//! throughput did not change measurably: PostgreSQL's backends used the time). This mailbox
//! blocks on a condition variable at once, unless `[Session] busy_poll` asks it to keep
//! checking for a while first (see [`Inbox::next`]).

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use actix::MailboxError;
use tokio::sync::oneshot;

use super::answer::Route;
use super::{Adopt, DbHandle, DbReply, DbRequest};
use crate::error::{DbError, ErrorClass};
use crate::proto::message::CursorId;

/// What a request's answer looks like to the one who sent it: `Err` when the actor is gone.
pub type Answer = Result<Result<DbReply, DbError>, MailboxError>;

type ReplyTo = oneshot::Sender<Result<DbReply, DbError>>;

/// One message to a database connection actor.
pub(crate) enum Envelope {
    /// A [`DbRequest`] from the session, with the session's request id (for cancelling) and
    /// the route by which the thread may answer the client itself.
    Call(u32, DbRequest, ReplyTo, Option<Route>),
    /// A new session takes over a parked actor.
    Adopt(Adopt, ReplyTo),
    /// The session is done with the connection (`me` is the actor's own handle).
    Release(DbHandle, Option<ReplyTo>),
    /// Read the next batch of this cursor before the client asks (the actor to itself).
    ReadAhead(CursorId),
}

struct State {
    queue: VecDeque<Envelope>,
    /// Live [`DbAddr`]s.
    addresses: usize,
}

struct Mailbox {
    state: Mutex<State>,
    wake: Condvar,
    /// Whether the queue holds a message: what a busy-polling thread watches without taking
    /// the lock.
    mail: AtomicBool,
}

/// Database threads busy-polling right now, server-wide.
static POLLING: AtomicUsize = AtomicUsize::new(0);

/// Database threads serving a message right now, server-wide: while any is, none polls (the
/// CPU is better spent on the work than on waiting for more).
static SERVING: AtomicUsize = AtomicUsize::new(0);

/// How many threads may busy-poll at once: one per core but one (at least one), so that
/// polling never takes every core from the threads that have work.
fn polling_limit() -> usize {
    static LIMIT: OnceLock<usize> = OnceLock::new();
    // None on one core: the thread that must deliver the next request would wait for it.
    *LIMIT.get_or_init(|| {
        std::thread::available_parallelism().map_or(0, |n| n.get().saturating_sub(1))
    })
}

/// What a poll came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Polled {
    /// It did not poll (another thread works, or enough poll).
    Skipped,
    /// The next message arrived while it polled.
    Found,
    /// It polled the whole span for nothing.
    Nothing,
}

impl Mailbox {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The queue stays consistent whatever panicked while holding the lock (a push or pop).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, e: Envelope) {
        self.lock().queue.push_back(e);
        self.mail.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// Watches the queue for up to `span` without sleeping; returns early when a message
    /// arrives, the last address is gone, or another database thread starts working. Skipped
    /// while another one works, or when as many threads as [`polling_limit`] poll already.
    /// Between checks the thread yields its core to any other runnable thread (the reactor,
    /// the client, a database backend): it keeps the core awake, not to itself.
    fn poll(&self, span: Duration) -> Polled {
        if SERVING.load(Ordering::Acquire) > 0 {
            return Polled::Skipped;
        }
        let limit = polling_limit();
        if POLLING
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .is_err()
        {
            return Polled::Skipped;
        }
        let until = Instant::now() + span;
        while !self.mail.load(Ordering::Acquire)
            && SERVING.load(Ordering::Acquire) == 0
            && Instant::now() < until
        {
            std::thread::yield_now();
        }
        POLLING.fetch_sub(1, Ordering::AcqRel);
        if self.mail.load(Ordering::Acquire) {
            Polled::Found
        } else {
            Polled::Nothing
        }
    }
}

/// The address of a database connection actor. Cloning it keeps the actor alive; when the
/// last one is dropped, the actor finishes what is queued and its thread ends (its `Drop`
/// disconnects).
pub struct DbAddr {
    to: To,
}

/// Where a [`DbAddr`]'s messages go.
enum To {
    /// The mailbox of an actor on its own thread.
    Thread(Arc<Mailbox>),
    /// The task of a connection in a worker process (see [`super::process`]); it ends when
    /// the last sender is dropped.
    Worker(tokio::sync::mpsc::UnboundedSender<Envelope>),
}

impl Clone for DbAddr {
    fn clone(&self) -> Self {
        match &self.to {
            To::Thread(mailbox) => {
                mailbox.lock().addresses += 1;
                Self {
                    to: To::Thread(Arc::clone(mailbox)),
                }
            }
            To::Worker(tx) => Self {
                to: To::Worker(tx.clone()),
            },
        }
    }
}

impl Drop for DbAddr {
    fn drop(&mut self) {
        let To::Thread(mailbox) = &self.to else {
            return;
        };
        let mut state = mailbox.lock();
        state.addresses -= 1;
        if state.addresses == 0 {
            drop(state);
            // A polling thread stops polling, and a sleeping one wakes, to end.
            mailbox.mail.store(true, Ordering::Release);
            mailbox.wake.notify_one();
        }
    }
}

impl DbAddr {
    /// Starts an actor on a new thread: `run` makes it there (the ODBC connection it will own
    /// is not `Send` once shared with its statements) and runs its life on the inbox — a
    /// [`super::DbConnection`], or a [`super::process::WorkerProcess`] standing for one in a worker
    /// process. `busy` counts the seconds the thread spends on messages (the metrics'
    /// `database_busy_seconds_total`); `busy_poll` is `[Session] busy_poll` (zero: sleep at
    /// once when the queue is empty) and `polls` counts its polls (`database_polls_total`).
    ///
    /// # Errors
    /// The operating system refused a new thread.
    pub(crate) fn start(
        busy: prometheus::Counter,
        busy_poll: Duration,
        polls: prometheus::IntCounterVec,
        run: impl FnOnce(&Inbox) + Send + 'static,
    ) -> Result<DbAddr, DbError> {
        let mailbox = Arc::new(Mailbox {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                addresses: 1,
            }),
            wake: Condvar::new(),
            mail: AtomicBool::new(false),
        });
        let inbox = Inbox {
            mailbox: Arc::clone(&mailbox),
            busy,
            busy_poll,
            polls,
            serving_since: std::cell::Cell::new(None),
        };
        std::thread::Builder::new()
            .name("odbcd-db".into())
            .spawn(move || run(&inbox))
            .map_err(|e| {
                DbError::with_state(
                    ErrorClass::OperationalError,
                    "HY001",
                    format!("cannot start a thread for the database connection: {e}"),
                )
            })?;
        Ok(DbAddr {
            to: To::Thread(mailbox),
        })
    }

    /// The address of a connection in a worker process, whose task reads `tx`'s receiver.
    pub(crate) fn worker(tx: tokio::sync::mpsc::UnboundedSender<Envelope>) -> Self {
        Self { to: To::Worker(tx) }
    }

    fn push(&self, e: Envelope) {
        match &self.to {
            To::Thread(mailbox) => mailbox.push(e),
            // A task that ended drops the envelope, and with it the reply channel: the
            // sender hears `MailboxError::Closed`.
            To::Worker(tx) => {
                let _ = tx.send(e);
            }
        }
    }

    /// Sends `req` (the session's request `id`) and returns its answer.
    pub fn call(&self, id: u32, req: DbRequest) -> impl Future<Output = Answer> + use<> {
        let (tx, rx) = oneshot::channel();
        self.push(Envelope::Call(id, req, tx, None));
        answer(rx)
    }

    /// Sends `req` with a route by which the connection's thread may send the answer to the
    /// client itself (then the session hears [`DbReply::Sent`]); a connection in a worker
    /// process relays the frame its worker finished.
    pub fn call_routed(
        &self,
        id: u32,
        req: DbRequest,
        route: Route,
    ) -> impl Future<Output = Answer> + use<> {
        let (tx, rx) = oneshot::channel();
        self.push(Envelope::Call(id, req, tx, Some(route)));
        answer(rx)
    }

    /// Hands a parked actor to a new user.
    pub fn adopt(&self, msg: Adopt) -> impl Future<Output = Answer> + use<> {
        let (tx, rx) = oneshot::channel();
        self.push(Envelope::Adopt(msg, tx));
        answer(rx)
    }

    /// Releases the connection (`me` is this actor's handle) and returns when it is closed or
    /// parked.
    pub fn release(&self, me: DbHandle) -> impl Future<Output = Answer> + use<> {
        let (tx, rx) = oneshot::channel();
        self.push(Envelope::Release(me, Some(tx)));
        answer(rx)
    }

    /// Releases the connection without waiting.
    pub fn release_now(&self, me: DbHandle) {
        self.push(Envelope::Release(me, None));
    }
}

async fn answer(rx: oneshot::Receiver<Result<DbReply, DbError>>) -> Answer {
    rx.await.map_err(|_| MailboxError::Closed)
}

/// The actor's side of its mailbox (not an address: it does not keep the actor alive).
pub(crate) struct Inbox {
    mailbox: Arc<Mailbox>,
    /// Counts the thread's busy seconds: from taking a message to asking for the next.
    busy: prometheus::Counter,
    /// `[Session] busy_poll`.
    busy_poll: Duration,
    /// Counts the polls by outcome (the metrics' `database_polls_total`).
    polls: prometheus::IntCounterVec,
    serving_since: std::cell::Cell<Option<std::time::Instant>>,
}

impl Inbox {
    /// The next message, waiting for one; `None` once no address is left and the queue is
    /// empty.
    ///
    /// With `busy_poll`, an empty queue is watched for that long before the thread sleeps: a
    /// session's next request, sent as soon as the client has the last answer, then finds
    /// the thread awake instead of waking it (one wake-up less per request, and on a virtual
    /// machine an idle CPU less to wake). The polling is not counted as busy time.
    pub(crate) fn next(&self) -> Option<Envelope> {
        if let Some(since) = self.serving_since.take() {
            self.busy.inc_by(since.elapsed().as_secs_f64());
            SERVING.fetch_sub(1, Ordering::AcqRel);
        }
        if !self.busy_poll.is_zero() && !self.mailbox.mail.load(Ordering::Acquire) {
            match self.mailbox.poll(self.busy_poll) {
                Polled::Skipped => {}
                Polled::Found => self.polls.with_label_values(&["request"]).inc(),
                Polled::Nothing => self.polls.with_label_values(&["nothing"]).inc(),
            }
        }
        let mut state = self.mailbox.lock();
        loop {
            if let Some(e) = state.queue.pop_front() {
                self.mailbox
                    .mail
                    .store(!state.queue.is_empty(), Ordering::Release);
                self.serving_since.set(Some(std::time::Instant::now()));
                SERVING.fetch_add(1, Ordering::AcqRel);
                return Some(e);
            }
            if state.addresses == 0 {
                return None;
            }
            state = self
                .mailbox
                .wake
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Queues a message from the actor to itself.
    pub(crate) fn push(&self, e: Envelope) {
        self.mailbox.push(e);
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        // The thread ends while serving its last message (a release that disconnected).
        if self.serving_since.take().is_some() {
            SERVING.fetch_sub(1, Ordering::AcqRel);
        }
    }
}
