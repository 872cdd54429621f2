//! A database connection in a worker process (`[Session] driver_isolation = process`): the
//! server's side. A [`WorkerProcess`] stands for a [`super::DbConnection`] behind the same
//! [`super::DbAddr`] and messages: the session, the registry and the pool see no difference.
//! It is a task on the reactor, not a thread: it writes each message to the worker's stdin
//! and reads the answer from its stdout without blocking, so a request to a worker wakes no
//! thread but the worker (and the reactor for the answer), as a request on a thread wakes
//! that thread. It starts `odbcd worker` (this very program, from `/proc/self/exe`) through a
//! thread that lives as long as the server, so that the worker's `PR_SET_PDEATHSIG` fires when
//! the server dies, not before. Rows arrive already encoded for the wire: they are relayed,
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
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::mailbox::{DbAddr, Envelope};
use super::worker::WORKER_FRAME_LEN;
use super::worker::{FromWorker, ToWorker, WorkerInit};
use super::{CancelSlot, ConnectionClosed, DbReply, DbRequest, OpenTarget, Owner};
use crate::error::{DbError, ErrorClass};
use crate::proto::compress::Compression;
use crate::proto::frame;

/// How long a worker gets to disconnect and exit once the server is done with it.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// The size asked for the pipes to and from a worker (four times the default: an answer of
/// rows crosses in a few rounds; the per-user limit on pipe memory allows a few hundred).
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
fn spawner() -> &'static Mutex<std::sync::mpsc::Sender<SpawnReply>> {
    static SPAWNER: OnceLock<Mutex<std::sync::mpsc::Sender<SpawnReply>>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<SpawnReply>();
        let started = std::thread::Builder::new()
            .name("odbcd-spawner".into())
            .spawn(move || {
                while let Ok(reply) = rx.recv() {
                    let _ = reply.send(spawn_worker());
                }
            });
        if let Err(e) = started {
            tracing::error!("cannot start the worker spawner thread: {e}");
        }
        Mutex::new(tx)
    })
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
    // A cancel never blocks its sender: a worker that does not read its pipe loses it.
    nix::fcntl::fcntl(
        write_end.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .map_err(std::io::Error::from)?;
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
    worker: Option<Running>,
    /// Why every call fails, once the worker died.
    dead: Option<DbError>,
    /// What it is connected to, for the log (no password).
    target: String,
    /// A release was sent whose answer is still to be read.
    release_pending: bool,
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
            worker: None,
            dead: None,
            target: String::new(),
            release_pending: false,
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
        while let Some(envelope) = inbox.recv().await {
            let span = self
                .owner
                .as_ref()
                .map_or_else(tracing::Span::none, |o| o.span.clone());
            let started = Instant::now();
            self.handle(envelope).instrument(span).await;
            self.busy.inc_by(started.elapsed().as_secs_f64());
        }
        self.stop().await;
        // Never released (its connect failed, its session ended first): the count settles.
        if let Some(owner) = self.owner.take() {
            owner.registry.do_send(ConnectionClosed {
                session: owner.session,
                reusable: None,
            });
        }
    }

    async fn handle(&mut self, envelope: Envelope) {
        match envelope {
            Envelope::Call(id, req, reply_to) => {
                if let DbRequest::Open(target) = &req {
                    self.target = describe(target);
                }
                let slot = Arc::clone(&self.cancel);
                let mark = slot.begin(id);
                self.seq = self.seq.wrapping_add(1).max(1);
                *self.running.lock().unwrap_or_else(PoisonError::into_inner) = Some((id, self.seq));
                let result = self.call(ToWorker::Call { id: self.seq, req }).await;
                *self.running.lock().unwrap_or_else(PoisonError::into_inner) = None;
                drop(mark);
                let _ = reply_to.send(result);
            }
            // The worker reads ahead on its own.
            Envelope::ReadAhead(_) => {}
            Envelope::Adopt(msg, reply_to) => {
                self.init.cursor_type = msg.cursor_type;
                // The new owner only once adopted: a parked worker found dead must not
                // report the new session's connection closed.
                let result = self.adopt(msg.target, msg.check).await;
                self.owner = Some(msg.owner);
                let _ = reply_to.send(result);
            }
            Envelope::Release(me, reply_to) => {
                let owner = self.owner.take();
                let pooling = owner.as_ref().is_some_and(|o| o.pooling);
                // Parked at once, its answer read before the next message: the session does
                // not wait for the worker's reset. A worker that could not keep its
                // connection (not clean) has none when it is adopted, and connects afresh.
                let kept = pooling && self.worker.is_some() && self.send_release().await;
                if !kept {
                    // Its stdin ends: the worker rolls back, disconnects and exits.
                    self.stop().await;
                }
                if let Some(owner) = owner {
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
        if let Some(e) = &self.dead {
            return Err(e.clone());
        }
        if self.worker.is_none() {
            self.start_worker().await?;
        }
        match self.exchange(msg).await? {
            FromWorker::Reply(r) => r,
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
        // Its release's answer first: a worker that could not keep its connection (not clean,
        // or a driver call panicked in it) exited; a new one connects afresh.
        if self.worker.is_some() && std::mem::take(&mut self.release_pending) {
            let kept = match self.worker.as_mut() {
                Some(w) => matches!(
                    read_message::<FromWorker>(&mut w.output).await,
                    Ok(FromWorker::Released { kept: true })
                ),
                None => false,
            };
            if !kept {
                self.stop().await;
            }
        }
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
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(tx)
            .map_err(|e| failed(&e))?;
        let Spawned {
            mut child,
            cancel_pipe,
        } = rx.await.map_err(|e| failed(&e))?.map_err(|e| failed(&e))?;
        let pipes = match (child.stdin.take(), child.stdout.take()) {
            (Some(input), Some(output)) => {
                // Pipes as large as an answer of rows may be; the system may allow less.
                for fd in [input.as_raw_fd(), output.as_raw_fd()] {
                    let _ = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETPIPE_SZ(PIPE_BYTES));
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
                let _ = child.wait();
                return Err(failed(&e));
            }
        };
        let mut running = Running {
            child,
            input,
            output: BufReader::with_capacity(PIPE_BYTES as usize, output),
        };
        if let Err(e) = write_message(&mut running.input, &ToWorker::Init(self.init.clone())).await
        {
            let _ = running.child.kill();
            let _ = running.child.wait();
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
        let release_pending = std::mem::take(&mut self.release_pending);
        let Some(w) = self.worker.as_mut() else {
            return Err(self
                .dead
                .clone()
                .unwrap_or_else(|| DbError::new(ErrorClass::InternalError, "no worker process")));
        };
        let answer = async {
            // The answer to a release sent without waiting comes first.
            if release_pending {
                read_message::<FromWorker>(&mut w.output).await?;
            }
            write_message(&mut w.input, &msg).await?;
            read_message(&mut w.output).await
        }
        .await;
        match answer {
            Ok(a) => Ok(a),
            Err(e) => Err(self.bury(&e).await),
        }
    }

    /// Sends a release for the pool without waiting for its answer; whether it was sent.
    async fn send_release(&mut self) -> bool {
        let Some(w) = self.worker.as_mut() else {
            return false;
        };
        let pending = std::mem::take(&mut self.release_pending);
        let sent = async {
            if pending {
                read_message::<FromWorker>(&mut w.output).await?;
            }
            write_message(&mut w.input, &ToWorker::Release { keep: true }).await
        }
        .await;
        match sent {
            Ok(()) => {
                self.release_pending = true;
                true
            }
            Err(e) => {
                self.bury(&e).await;
                false
            }
        }
    }

    /// The worker stopped answering: reap it, say why, release the connection's counts.
    async fn bury(&mut self, e: &std::io::Error) -> DbError {
        self.release_pending = false;
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
                let how = match reap(&mut w.child, Duration::from_secs(1)).await {
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
        tracing::error!(target = %self.target, "the worker process of a database connection died: it {how}; its session's other connections go on");
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
        self.release_pending = false;
        *self
            .cancel_pipe
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        let Some(mut w) = self.worker.take() else {
            return;
        };
        drop(w.input);
        if reap(&mut w.child, EXIT_GRACE).await.is_none() {
            tracing::warn!(pid = w.child.id(), "a worker did not exit in time; killed");
        }
    }
}

/// Waits (without blocking the reactor) up to `grace` for `child` to exit, then kills it; its
/// status when it exited by itself.
async fn reap(child: &mut Child, grace: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + grace;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Err(_) => return None,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            Ok(None) => actix_rt::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

/// Writes one message as a frame.
async fn write_message(
    out: &mut tokio::process::ChildStdin,
    msg: &ToWorker,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    frame::encode(msg, Compression::OFF, WORKER_FRAME_LEN, &mut buf)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    out.write_all(&buf).await
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
    let mut payload = vec![0u8; header.payload_len];
    input.read_exact(&mut payload).await?;
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
