//! A database connection in a worker process (`[Session] driver_isolation = process`): the
//! server's side. A [`WorkerProcess`] takes the place of a [`super::DbConnection`] on the
//! connection actor's thread, behind the same mailbox and [`super::DbAddr`]: the session, the
//! registry and the pool see no difference. It starts `odbcd worker` (this very program, from
//! `/proc/self/exe`), forwards each message to it and hands back its answers (rows arrive
//! already encoded for the wire: they are relayed, not decoded). The session's cancels go
//! through the [`CancelSlot`] to the worker's cancel pipe.
//!
//! A worker that dies (a signal, an abort, an exit) fails the call it was in and every later
//! one with `OperationalError` `08S01`, for this connection only; the registry is told at once
//! that the connection is gone (the licence and pool counts drop), and the log says which
//! signal and which data source (never a password). A parked (pooled) worker found dead when
//! a session adopts it is replaced by a new one, connected afresh.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::mailbox::{Envelope, Inbox};
use super::worker::{read_message, write_message, FromWorker, ToWorker, WorkerInit};
use super::{CancelSlot, ConnectionClosed, DbReply, DbRequest, OpenTarget, Owner};
use crate::error::{DbError, ErrorClass};

/// Worker starts one at a time: the cancel pipe's read end is inheritable only while its own
/// worker starts, so no other worker inherits it.
static SPAWNING: Mutex<()> = Mutex::new(());

/// How long a worker gets to disconnect and exit once the server is done with it.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// The size asked for the pipes to and from a worker.
const PIPE_BYTES: i32 = 1 << 20;

/// The SQLSTATE of a call whose worker died (communication link failure).
pub const WORKER_DIED_SQLSTATE: &str = "08S01";

/// A running worker.
struct Running {
    child: Child,
    input: BufWriter<ChildStdin>,
    output: BufReader<ChildStdout>,
}

/// A database connection in a worker process, as the connection actor's thread runs it.
pub struct WorkerProcess {
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
}

impl WorkerProcess {
    /// A connection that will run in a worker started with `init`, reporting to `owner`; the
    /// session cancels through `cancel`.
    pub(crate) fn new(init: WorkerInit, cancel: Arc<CancelSlot>, owner: Option<Owner>) -> Self {
        let cancel_pipe: Arc<Mutex<Option<File>>> = Arc::default();
        let pipe = Arc::clone(&cancel_pipe);
        cancel.send_cancels_to(move |id| {
            let mut pipe = pipe.lock().unwrap_or_else(PoisonError::into_inner);
            pipe.as_mut()
                .is_some_and(|p| p.write_all(&id.to_be_bytes()).is_ok())
        });
        Self {
            init,
            cancel,
            cancel_pipe,
            owner,
            worker: None,
            dead: None,
            target: String::new(),
            release_pending: false,
        }
    }

    /// The actor's life: one message at a time until no address is left; then the worker
    /// is let go.
    pub(crate) fn run(mut self, inbox: &Inbox) {
        while let Some(envelope) = inbox.next() {
            let span = self
                .owner
                .as_ref()
                .map_or_else(tracing::Span::none, |o| o.span.clone());
            let _entered = span.entered();
            match envelope {
                Envelope::Call(id, req, reply_to) => {
                    if let DbRequest::Open(target) = &req {
                        self.target = describe(target);
                    }
                    let slot = Arc::clone(&self.cancel);
                    let mark = slot.begin(id);
                    let result = self.call(ToWorker::Call { id, req });
                    drop(mark);
                    let _ = reply_to.send(result);
                }
                // The worker reads ahead on its own.
                Envelope::ReadAhead(_) => {}
                Envelope::Adopt(msg, reply_to) => {
                    self.owner = Some(msg.owner);
                    self.init.cursor_type = msg.cursor_type;
                    let result = self.adopt(msg.target, msg.check);
                    let _ = reply_to.send(result);
                }
                Envelope::Release(me, reply_to) => {
                    let owner = self.owner.take();
                    let pooling = owner.as_ref().is_some_and(|o| o.pooling);
                    // Parked at once, its answer read before the next message: the session
                    // does not wait for the worker's reset. A worker that could not keep its
                    // connection (not clean) has none when it is adopted, and connects afresh.
                    let kept = pooling && self.worker.is_some() && self.send_release();
                    if !kept {
                        // Its stdin ends: the worker rolls back, disconnects and exits.
                        self.stop();
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
        self.stop();
    }

    /// Sends a call and returns the worker's answer (starting the worker for the first).
    fn call(&mut self, msg: ToWorker) -> Result<DbReply, DbError> {
        if let Some(e) = &self.dead {
            return Err(e.clone());
        }
        if self.worker.is_none() {
            self.start()?;
        }
        match self.exchange(msg)? {
            FromWorker::Reply(r) => r,
            FromWorker::Released { .. } => Err(DbError::new(
                ErrorClass::InternalError,
                "the worker answered a call with a release",
            )),
        }
    }

    /// A new session takes the parked connection; a worker that died meanwhile is replaced
    /// by a new one that connects afresh.
    fn adopt(
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
            match self.exchange(msg) {
                Ok(FromWorker::Reply(r)) => return r,
                Ok(FromWorker::Released { .. }) => {}
                Err(_) => {}
            }
        }
        tracing::info!(target = %self.target, "the pooled connection's worker is gone; connecting afresh");
        self.stop();
        self.dead = None;
        self.target = describe(&target);
        self.call(ToWorker::Call {
            id: 0,
            req: DbRequest::Open(target),
        })
    }

    /// Starts the worker and sends it its settings.
    fn start(&mut self) -> Result<(), DbError> {
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            DbError::with_state(
                ErrorClass::OperationalError,
                "HY000",
                format!("cannot start a worker process for the database connection: {what}: {e}"),
            )
        };
        let (read_end, write_end) = nix::unistd::pipe().map_err(|e| failed("pipe", &e))?;
        let spawned = {
            let _one_at_a_time = SPAWNING.lock().unwrap_or_else(PoisonError::into_inner);
            nix::fcntl::fcntl(
                read_end.as_raw_fd(),
                nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
            )
            .map_err(|e| failed("pipe", &e))?;
            let spawned = Command::new("/proc/self/exe")
                .arg("worker")
                .arg("--cancel-fd")
                .arg(read_end.as_raw_fd().to_string())
                .env("ODBCD_WORKER_PARENT", std::process::id().to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn();
            drop(read_end);
            spawned
        };
        let mut child = spawned.map_err(|e| failed("odbcd worker", &e))?;
        let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(failed("odbcd worker", &"no pipes"));
        };
        // Pipes as large as an answer of rows may be (one write, one read per batch instead of
        // sixteen 64 KiB rounds); the system's limit may allow less.
        for fd in [input.as_raw_fd(), output.as_raw_fd()] {
            let _ = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETPIPE_SZ(PIPE_BYTES));
        }
        let mut running = Running {
            child,
            input: BufWriter::with_capacity(PIPE_BYTES as usize, input),
            output: BufReader::with_capacity(PIPE_BYTES as usize, output),
        };
        if let Err(e) = write_message(&mut running.input, &ToWorker::Init(self.init.clone())) {
            let _ = running.child.kill();
            let _ = running.child.wait();
            return Err(failed("odbcd worker", &e));
        }
        tracing::debug!(pid = running.child.id(), "worker process started");
        *self
            .cancel_pipe
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(File::from(write_end));
        self.worker = Some(running);
        Ok(())
    }

    /// One message and its answer; a worker that cannot be talked to is dead.
    fn exchange(&mut self, msg: ToWorker) -> Result<FromWorker, DbError> {
        let release_pending = std::mem::take(&mut self.release_pending);
        let Some(w) = self.worker.as_mut() else {
            return Err(self
                .dead
                .clone()
                .unwrap_or_else(|| DbError::new(ErrorClass::InternalError, "no worker process")));
        };
        // The answer to a release sent without waiting comes first.
        let settled = if release_pending {
            read_message::<FromWorker>(&mut w.output).map(|_| ())
        } else {
            Ok(())
        };
        let answer = settled
            .and_then(|()| write_message(&mut w.input, &msg))
            .and_then(|()| read_message(&mut w.output));
        match answer {
            Ok(a) => Ok(a),
            Err(e) => Err(self.bury(&e)),
        }
    }

    /// Sends a release for the pool without waiting for its answer; whether it was sent.
    fn send_release(&mut self) -> bool {
        let Some(w) = self.worker.as_mut() else {
            return false;
        };
        match write_message(&mut w.input, &ToWorker::Release { keep: true }) {
            Ok(()) => {
                self.release_pending = true;
                true
            }
            Err(e) => {
                self.bury(&e);
                false
            }
        }
    }

    /// The worker stopped answering: reap it, say why, release the connection's counts.
    fn bury(&mut self, e: &std::io::Error) -> DbError {
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
                let how = match w.child.wait() {
                    Ok(status) => match status.signal() {
                        Some(sig) => format!("was killed by signal {sig} ({})", signal_name(sig)),
                        None => format!("exited with status {}", status.code().unwrap_or(-1)),
                    },
                    Err(_) => "is gone".to_owned(),
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
    fn stop(&mut self) {
        self.release_pending = false;
        *self
            .cancel_pipe
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        let Some(mut w) = self.worker.take() else {
            return;
        };
        drop(w.input);
        let deadline = Instant::now() + EXIT_GRACE;
        loop {
            match w.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) if Instant::now() >= deadline => {
                    tracing::warn!(pid = w.child.id(), "a worker did not exit in time; killed");
                    let _ = w.child.kill();
                    let _ = w.child.wait();
                    return;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
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
