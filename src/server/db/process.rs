//! A database connection in a worker process (`[Session] driver_isolation = process`): the
//! server's side. A [`WorkerProcess`] stands for a [`super::DbConnection`] behind the same
//! [`super::DbAddr`] and messages: the session, the registry and the pool see no difference.
//! It is a task on the reactor, not a thread: it writes each message to the worker's stdin
//! and reads the answer from its stdout without blocking, so a request to a worker wakes no
//! thread but the worker (and the reactor for the answer), as a request on a thread wakes
//! that thread. It starts `odbcd worker` (this very program, from `/proc/self/exe`) through a
//! thread that lives as long as the server, so that the worker's `PR_SET_PDEATHSIG` fires when
//! the server dies, not before. Answers arrive as the client's finished frames: they are relayed,
//! not decoded. The session's cancels go through the [`CancelSlot`] to the worker's cancel
//! pipe.
//!
//! A worker that dies (a signal, an abort, an exit) fails the call it was in and every later
//! one with `OperationalError` `08S01`, for this connection only; the registry is told at once
//! that the connection is gone (the licence and pool counts drop), and the log says which
//! signal and which data source (never a password). A parked (pooled) worker found dead when
//! a session adopts it is replaced by a new one, connected afresh.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::answer::FinishedFrame;
use super::mailbox::{DbAddr, Envelope};
use super::messages::ParkedConnectionGone;
use super::worker::WORKER_FRAME_LEN;
use super::worker::{FrameAs, FromWorker, ToWorker, WorkerInit};
use super::{CancelSlot, ConnectionClosed, DbReply, DbRequest, OpenTarget, Owner};
use crate::error::{DbError, ErrorClass};
use crate::proto::compress::Compression;
use crate::proto::frame;
use crate::server::pool::PoolKey;

/// How long a worker gets to disconnect and exit once the server is done with it.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// The size asked for the pipes to and from a worker (four times the default: an answer of
/// rows crosses in a few rounds). The system's per-user limit on pipe memory
/// (`fs.pipe-user-pages-soft`, 64 MiB by default) allows about a hundred workers at that
/// size; beyond, pipes get the default size (logged once).
const PIPE_BYTES: i32 = 256 * 1024;

/// The SQLSTATE of a call whose worker died (communication link failure).
pub const WORKER_DIED_SQLSTATE: &str = "08S01";

/// A worker as the spawner thread hands it over.
struct Spawned {
    child: Child,
    cancel_pipe: File,
}

type SpawnReply = oneshot::Sender<std::io::Result<Spawned>>;

/// The thread that starts every worker. `PR_SET_PDEATHSIG` fires when the thread that
/// started a process ends: this one lives as long as the server. Starting them one at a time
/// also keeps each cancel pipe's read end (inheritable while its own worker starts) out of
/// the others.
fn spawner() -> Result<std::sync::mpsc::Sender<SpawnReply>, std::io::Error> {
    static SPAWNER: Mutex<Option<std::sync::mpsc::Sender<SpawnReply>>> = Mutex::new(None);
    let mut spawner = SPAWNER.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(tx) = spawner.as_ref() {
        return Ok(tx.clone());
    }
    // Started at the first worker (tried again at the next if the system refused a thread).
    let (tx, rx) = std::sync::mpsc::channel::<SpawnReply>();
    std::thread::Builder::new()
        .name("odbcd-spawner".into())
        .spawn(move || {
            while let Ok(reply) = rx.recv() {
                // Its end would kill every worker (their PR_SET_PDEATHSIG): it never unwinds.
                let spawned = std::panic::catch_unwind(spawn_worker)
                    .unwrap_or_else(|_| Err(std::io::Error::other("the spawner panicked")));
                let _ = reply.send(spawned);
            }
        })?;
    *spawner = Some(tx.clone());
    Ok(tx)
}

/// Starts `odbcd worker` with its cancel pipe (on the spawner thread).
fn spawn_worker() -> std::io::Result<Spawned> {
    use std::os::unix::process::CommandExt;
    // Close-on-exec from the start; only the read end, only for its own worker, is made
    // inheritable (here, where workers start one at a time).
    let (read_end, write_end) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(std::io::Error::from)?;
    nix::fcntl::fcntl(
        read_end.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
    )
    .map_err(std::io::Error::from)?;
    // A cancel never blocks its sender: a worker that does not read its pipe loses it. One
    // page is room enough for a thousand cancels.
    nix::fcntl::fcntl(
        write_end.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .map_err(std::io::Error::from)?;
    let _ = nix::fcntl::fcntl(
        write_end.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETPIPE_SZ(4096),
    );
    let child = Command::new("/proc/self/exe")
        .arg0("odbcd-worker")
        .arg("worker")
        .arg("--cancel-fd")
        .arg(read_end.as_raw_fd().to_string())
        .env("ODBCD_WORKER_PARENT", std::process::id().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        // Its own process group: a signal for the server's group (a terminal's Ctrl-C,
        // systemd's KillMode) does not reach the workers; they end with the server.
        .process_group(0)
        .spawn();
    drop(read_end);
    Ok(Spawned {
        child: child?,
        cancel_pipe: File::from(write_end),
    })
}

/// A running worker.
/// What a call to a worker came back as.
enum Called {
    /// A reply, as a thread would give it.
    Reply(Result<DbReply, DbError>),
    /// The client's finished frame (the call carried a route).
    Frame(FinishedFrame),
}

struct Running {
    child: Child,
    input: tokio::process::ChildStdin,
    output: BufReader<tokio::process::ChildStdout>,
}

/// A database connection in a worker process: the task that talks to it.
pub(crate) struct WorkerProcess {
    init: WorkerInit,
    /// The session's view of the running request (its start, for the watchdog); cancels go
    /// to the worker.
    cancel: Arc<CancelSlot>,
    /// The write end of the worker's cancel pipe (replaced with the worker).
    cancel_pipe: Arc<Mutex<Option<File>>>,
    /// Told of the close once (or of the worker's death), then `None`.
    owner: Option<Owner>,
    /// While parked in the pool: whom to tell if the worker dies, and its pool key.
    parked: Option<(actix::Recipient<ParkedConnectionGone>, PoolKey)>,
    worker: Option<Running>,
    /// Why every call fails, once the worker died.
    dead: Option<DbError>,
    /// What it is connected to, for the log (no password).
    target: String,
    /// The connection's busy seconds (the metrics' `database_busy_seconds_total`).
    busy: prometheus::Counter,
    /// The last call's number: calls are numbered per worker (a pooled worker serves several
    /// sessions, whose request ids start again), and a cancel names the number.
    seq: u32,
    /// The session request running now and its call number, for cancels.
    running: Arc<Mutex<Option<(u32, u32)>>>,
}

impl WorkerProcess {
    /// Starts the task of a connection that will run in a worker started with `init`,
    /// reporting to `owner`; the session cancels through `cancel`. Must run on the reactor.
    pub(crate) fn start(
        init: WorkerInit,
        cancel: Arc<CancelSlot>,
        owner: Option<Owner>,
        busy: prometheus::Counter,
    ) -> DbAddr {
        let cancel_pipe: Arc<Mutex<Option<File>>> = Arc::default();
        let running: Arc<Mutex<Option<(u32, u32)>>> = Arc::default();
        let (pipe, calls) = (Arc::clone(&cancel_pipe), Arc::clone(&running));
        cancel.send_cancels_to(move |id| {
            let call = match *calls.lock().unwrap_or_else(PoisonError::into_inner) {
                Some((request, call)) if request == id => call,
                _ => return false,
            };
            let mut pipe = pipe.lock().unwrap_or_else(PoisonError::into_inner);
            pipe.as_mut()
                .is_some_and(|p| p.write_all(&call.to_be_bytes()).is_ok())
        });
        let this = Self {
            init,
            cancel,
            cancel_pipe,
            owner,
            parked: None,
            worker: None,
            dead: None,
            target: String::new(),
            busy,
            seq: 0,
            running,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        actix_rt::spawn(this.serve(rx));
        DbAddr::worker(tx)
    }

    /// The task's life: one message at a time until no address is left; then the worker is
    /// let go.
    async fn serve(mut self, mut inbox: mpsc::UnboundedReceiver<Envelope>) {
        loop {
            // Between calls the worker says nothing: its pipe ending means it died (noticed
            // at once, not at the next request).
            let next = match self.worker.as_mut() {
                Some(w) => tokio::select! {
                    envelope = inbox.recv() => Next::Message(envelope),
                    idle = w.output.fill_buf() => Next::Spoke(idle.map(<[u8]>::is_empty)),
                },
                None => Next::Message(inbox.recv().await),
            };
            let envelope = match next {
                Next::Message(Some(envelope)) => envelope,
                Next::Message(None) => break,
                Next::Spoke(Ok(true)) => {
                    let eof = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
                    self.bury(&eof).await;
                    continue;
                }
                Next::Spoke(r) => {
                    let out_of_turn = r.err().unwrap_or_else(|| {
                        std::io::Error::new(std::io::ErrorKind::InvalidData, "spoke out of turn")
                    });
                    self.bury(&out_of_turn).await;
                    continue;
                }
            };
            let span = self
                .owner
                .as_ref()
                .map_or_else(tracing::Span::none, |o| o.span.clone());
            let started = Instant::now();
            self.handle(envelope).instrument(span).await;
            self.busy.inc_by(started.elapsed().as_secs_f64());
        }
        self.stop().await;
        // (A connection never released — its connect failed, its session ended first — has
        // its count settled by `Drop`.)
    }

    async fn handle(&mut self, envelope: Envelope) {
        match envelope {
            Envelope::Call(id, req, reply_to, mut route) => {
                // This task relays every answer itself, one call after another: a call that
                // follows others keeps its place on the wire without going through the
                // session.
                if let Some(route) = route.as_mut() {
                    route.behind = false;
                }
                if let DbRequest::Open(target) = &req {
                    self.target = describe(target);
                }
                let slot = Arc::clone(&self.cancel);
                let mark = slot.begin(id);
                self.seq = self.seq.wrapping_add(1).max(1);
                *self.running.lock().unwrap_or_else(PoisonError::into_inner) = Some((id, self.seq));
                // With a route the worker finishes a successful answer as the client's frame
                // and this task relays the bytes to the session's outbox.
                let frame = route.as_ref().map(|r| FrameAs {
                    request: r.id,
                    protocol: r.protocol,
                    compression: u64::try_from(r.compression.threshold).unwrap_or(u64::MAX),
                });
                let call = ToWorker::Call {
                    id: self.seq,
                    req,
                    frame,
                };
                let answer = self.call_for(call).await;
                *self.running.lock().unwrap_or_else(PoisonError::into_inner) = None;
                drop(mark);
                let result = match (answer, route) {
                    (Ok(Called::Frame(frame)), Some(route)) => Ok(route.relay(frame)),
                    (Ok(Called::Frame(_)), None) => Err(DbError::new(
                        ErrorClass::InternalError,
                        "the worker answered with a frame nobody asked for",
                    )),
                    (Ok(Called::Reply(r)), Some(route)) => route.deliver(r),
                    (Ok(Called::Reply(r)), None) => r,
                    (Err(e), Some(route)) => route.deliver(Err(e)),
                    (Err(e), None) => Err(e),
                };
                let _ = reply_to.send(result);
            }
            // The worker reads ahead on its own.
            Envelope::ReadAhead(_) => {}
            Envelope::Adopt(msg, reply_to) => {
                self.init.cursor_type = msg.cursor_type;
                // The new owner only once adopted: a parked worker found dead must not
                // report the new session's connection closed.
                self.parked = None;
                let result = self.adopt(msg.target, msg.check).await;
                self.owner = Some(msg.owner);
                let _ = reply_to.send(result);
            }
            Envelope::Release(me, reply_to) => {
                let owner = self.owner.take();
                let pooling = owner.as_ref().is_some_and(|o| o.pooling);
                // As in thread mode, the close is answered once the registry has heard whether
                // the connection is reusable: a connect right after the close finds it parked.
                // A worker that does not finish its reset in time (a driver stuck in its
                // rollback) is not kept: it is stopped below, killed after its grace, so a
                // close never waits more than twice EXIT_GRACE.
                let kept = pooling
                    && self.worker.is_some()
                    && matches!(
                        tokio::time::timeout(
                            EXIT_GRACE,
                            self.exchange(ToWorker::Release { keep: true })
                        )
                        .await,
                        Ok(Ok(FromWorker::Released { kept: true }))
                    );
                if !kept {
                    // Its stdin ends: the worker rolls back, disconnects and exits (one that
                    // could not keep its connection exits by itself).
                    self.stop().await;
                }
                if let Some(owner) = owner {
                    if kept {
                        self.parked = Some((owner.parked_gone.clone(), owner.key));
                    }
                    owner.registry.do_send(ConnectionClosed {
                        session: owner.session,
                        reusable: kept.then_some((owner.key, me)),
                    });
                }
                if let Some(reply_to) = reply_to {
                    let _ = reply_to.send(Ok(DbReply::Done));
                }
            }
        }
    }

    /// Sends a call and returns the worker's answer (starting the worker for the first).
    async fn call(&mut self, msg: ToWorker) -> Result<DbReply, DbError> {
        match self.call_for(msg).await? {
            Called::Reply(r) => r,
            Called::Frame(_) => Err(DbError::new(
                ErrorClass::InternalError,
                "the worker answered with a frame nobody asked for",
            )),
        }
    }

    /// [`Self::call`], for a call that may come back as the client's finished frame.
    async fn call_for(&mut self, msg: ToWorker) -> Result<Called, DbError> {
        if let Some(e) = &self.dead {
            return Err(e.clone());
        }
        if self.worker.is_none() {
            self.start_worker().await?;
        }
        match self.exchange(msg).await? {
            FromWorker::Reply(r) => Ok(Called::Reply(r)),
            FromWorker::Frame {
                bytes,
                failed,
                more_rows,
                rows,
                compress,
            } => Ok(Called::Frame(FinishedFrame {
                bytes: bytes.into(),
                failed,
                more_rows,
                rows,
                compress,
            })),
            FromWorker::Released { .. } => {
                // Out of step: nothing it says can be trusted any more.
                let e = std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "answered a call with a release",
                );
                Err(self.bury(&e).await)
            }
        }
    }

    /// A new session takes the parked connection; a worker that died meanwhile is replaced
    /// by a new one that connects afresh.
    async fn adopt(
        &mut self,
        target: OpenTarget,
        check: Option<(Arc<str>, Duration)>,
    ) -> Result<DbReply, DbError> {
        if self.worker.is_some() {
            let msg = ToWorker::Adopt {
                target: target.clone(),
                cursor_type: self.init.cursor_type,
                check: check.map(|(q, d)| (q.to_string(), d.as_millis() as u64)),
            };
            if let Ok(FromWorker::Reply(r)) = self.exchange(msg).await {
                return r;
            }
        }
        if !self.target.is_empty() {
            tracing::info!(target = %self.target, "the pooled connection is gone; connecting afresh in a new worker");
        }
        self.stop().await;
        self.dead = None;
        self.target = describe(&target);
        self.seq = self.seq.wrapping_add(1).max(1);
        self.call(ToWorker::Call {
            id: self.seq,
            req: DbRequest::Open(target),
            frame: None,
        })
        .await
    }

    /// Starts the worker (on the spawner thread) and sends it its settings.
    async fn start_worker(&mut self) -> Result<(), DbError> {
        let failed = |e: &dyn std::fmt::Display| {
            DbError::with_state(
                ErrorClass::OperationalError,
                "HY000",
                format!("cannot start a worker process for the database connection: {e}"),
            )
        };
        let (tx, rx) = oneshot::channel();
        spawner()
            .map_err(|e| failed(&e))?
            .send(tx)
            .map_err(|e| failed(&e))?;
        let Spawned {
            mut child,
            cancel_pipe,
        } = rx.await.map_err(|e| failed(&e))?.map_err(|e| failed(&e))?;
        let pipes = match (child.stdin.take(), child.stdout.take()) {
            (Some(input), Some(output)) => {
                // Larger pipes; the system may allow less (said once).
                for fd in [input.as_raw_fd(), output.as_raw_fd()] {
                    let sized =
                        nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETPIPE_SZ(PIPE_BYTES));
                    if let Err(e) = sized {
                        static SAID: std::sync::atomic::AtomicBool =
                            std::sync::atomic::AtomicBool::new(false);
                        if !SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
                            tracing::warn!(target: "odbcd::lifecycle", "worker pipes stay at the system's default size ({e}): raise fs.pipe-user-pages-soft for many workers");
                        }
                    }
                }
                tokio::process::ChildStdin::from_std(input).and_then(|input| {
                    tokio::process::ChildStdout::from_std(output).map(|output| (input, output))
                })
            }
            _ => Err(std::io::Error::other("no pipes")),
        };
        let (input, output) = match pipes {
            Ok(p) => p,
            Err(e) => {
                let _ = child.kill();
                actix_rt::spawn(reap_later(child));
                return Err(failed(&e));
            }
        };
        let mut running = Running {
            child,
            input,
            output: BufReader::with_capacity(PIPE_BYTES as usize, output),
        };
        let init = encode(&ToWorker::Init(self.init.clone()));
        let sent = match init {
            Ok(frame) => running.input.write_all(&frame).await,
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            let _ = running.child.kill();
            actix_rt::spawn(reap_later(running.child));
            return Err(failed(&e));
        }
        tracing::debug!(pid = running.child.id(), "worker process started");
        *self
            .cancel_pipe
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(cancel_pipe);
        self.worker = Some(running);
        Ok(())
    }

    /// One message and its answer; a worker that cannot be talked to is dead.
    async fn exchange(&mut self, msg: ToWorker) -> Result<FromWorker, DbError> {
        // A message too large for the pipe's frames is an error of this request, not of the
        // worker.
        let frame = encode(&msg).map_err(|e| {
            DbError::new(
                ErrorClass::InterfaceError,
                format!("cannot send the request to the worker: {e}"),
            )
        })?;
        let Some(w) = self.worker.as_mut() else {
            return Err(self
                .dead
                .clone()
                .unwrap_or_else(|| DbError::new(ErrorClass::InternalError, "no worker process")));
        };
        let answer = async {
            w.input.write_all(&frame).await?;
            read_message(&mut w.output).await
        }
        .await;
        match answer {
            Ok(a) => Ok(a),
            Err(e) => Err(self.bury(&e).await),
        }
    }

    /// The worker stopped answering: reap it, say why, release the connection's counts.
    async fn bury(&mut self, e: &std::io::Error) -> DbError {
        let how = match self.worker.take() {
            Some(mut w) => {
                drop(w.input);
                // It died (the pipe broke because it did), or it wrote something unreadable
                // (then it is made to die).
                if e.kind() != std::io::ErrorKind::UnexpectedEof
                    && e.kind() != std::io::ErrorKind::BrokenPipe
                {
                    let _ = w.child.kill();
                }
                let pid = w.child.id();
                let how = match reap(w.child, Duration::from_secs(1)).await {
                    Some(status) => match status.signal() {
                        Some(sig) => format!("was killed by signal {sig} ({})", signal_name(sig)),
                        None => format!("exited with status {}", status.code().unwrap_or(-1)),
                    },
                    None => "stopped answering and was killed".to_owned(),
                };
                format!("{how} (pid {pid})")
            }
            None => "is gone".to_owned(),
        };
        *self
            .cancel_pipe
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        if let Some((registry, key)) = self.parked.take() {
            // Parked in the pool: it leaves the pool and the count now, not when adopted.
            tracing::error!(target = %self.target, "the worker process of a pooled database connection died: it {how}; it leaves the pool");
            registry.do_send(ParkedConnectionGone {
                key,
                cancel: Arc::clone(&self.cancel),
            });
        } else {
            tracing::error!(target = %self.target, "the worker process of a database connection died: it {how}; its session's other connections go on");
        }
        let err = DbError::with_state(
            ErrorClass::OperationalError,
            WORKER_DIED_SQLSTATE,
            format!("the database connection was lost: its worker process {how}; the session and its other connections go on"),
        );
        self.dead = Some(err.clone());
        if let Some(owner) = self.owner.take() {
            owner.registry.do_send(ConnectionClosed {
                session: owner.session,
                reusable: None,
            });
        }
        err
    }

    /// Lets the worker go: its stdin ends, it disconnects and exits (or is killed after
    /// [`EXIT_GRACE`]).
    async fn stop(&mut self) {
        *self
            .cancel_pipe
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        let Some(w) = self.worker.take() else {
            return;
        };
        drop(w.input);
        let pid = w.child.id();
        if reap(w.child, EXIT_GRACE).await.is_none() {
            tracing::warn!(pid, "a worker did not exit in time; killed");
        }
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        // A connection never released (its connect failed, its session ended first, the task
        // ended any way at all) settles its count here, once.
        if let Some(owner) = self.owner.take() {
            owner.registry.do_send(ConnectionClosed {
                session: owner.session,
                reusable: None,
            });
        }
        if let Some(mut w) = self.worker.take() {
            let _ = w.child.kill();
            actix_rt::spawn(reap_later(w.child));
        }
    }
}

/// What the task waits for next (short-lived, one at a time: its size does not matter).
#[allow(clippy::large_enum_variant)]
enum Next {
    /// A message from the session (`None`: the last address is gone).
    Message(Option<Envelope>),
    /// The worker's pipe between calls: `true` when it ended.
    Spoke(std::io::Result<bool>),
}

/// Waits, without blocking the reactor, up to `grace` for `child` to exit; its status when it
/// did. Past it the child is killed and reaped later, in the background (a process stuck in
/// the kernel may take its time to go, and must not hold anyone up).
async fn reap(mut child: Child, grace: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + grace;
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Err(_) => return None,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                actix_rt::spawn(reap_later(child));
                return None;
            }
            Ok(None) => {
                actix_rt::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(50));
            }
        }
    }
}

/// Reaps a killed child whenever it goes.
async fn reap_later(mut child: Child) {
    while let Ok(None) = child.try_wait() {
        actix_rt::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A message as a frame for the worker's pipe.
fn encode(msg: &ToWorker) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    frame::encode(msg, Compression::OFF, WORKER_FRAME_LEN, &mut buf)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    Ok(buf)
}

/// Reads one message (an end of input is `UnexpectedEof`).
async fn read_message<M: serde::de::DeserializeOwned>(
    input: &mut BufReader<tokio::process::ChildStdout>,
) -> std::io::Result<M> {
    let mut head = [0u8; frame::HEADER_LEN];
    input.read_exact(&mut head).await?;
    let bad = |e: crate::proto::ProtoError| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
    };
    let header = frame::parse_header(&head, WORKER_FRAME_LEN).map_err(bad)?;
    // Grown as the bytes arrive, not allocated from the header alone.
    let mut payload = Vec::with_capacity(header.payload_len.min(PIPE_BYTES as usize));
    let read = (&mut *input)
        .take(header.payload_len as u64)
        .read_to_end(&mut payload)
        .await?;
    if read < header.payload_len {
        return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
    }
    frame::decode_payload(&header, &payload, WORKER_FRAME_LEN).map_err(bad)
}

/// A connection target for the log: the data source, never the password.
fn describe(target: &OpenTarget) -> String {
    match target {
        OpenTarget::ConnectionString(s) => crate::connstr::mask_for_log(s).to_string(),
        OpenTarget::Dsn { dsn, uid, .. } => format!("DSN={dsn};UID={uid}"),
    }
}

/// A signal's name (`SIGSEGV`).
fn signal_name(sig: i32) -> &'static str {
    nix::sys::signal::Signal::try_from(sig).map_or("unknown", |s| s.as_str())
}
