//! A database connection in a worker process (`[Session] driver_isolation = process`): the
//! worker's side, and the messages both sides exchange.
//!
//! `odbcd worker` (started by the server, never by hand) serves one [`DbConnection`] over its
//! stdin and stdout with odbcd's frame codec: the server sends [`ToWorker`] messages, one at a
//! time, and the worker answers each with a [`FromWorker`]. Cancels come through a pipe of
//! their own (its descriptor is the `--cancel-fd` argument), read by a thread while the main
//! thread is inside the call. Before it loads a driver the worker arranges to die with the
//! server (`PR_SET_PDEATHSIG`; and the end of its stdin ends it) and limits its own address
//! space to `worker_memory_limit`. The server's side is [`super::process`].

use std::io::{BufReader, BufWriter, Read, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::answer::{ClientAnswer, DIRECT_ROWS_BYTES};
use super::{contain, CancelSlot, DbConnection, DbReply, DbRequest, OpenTarget};
use crate::config::{CursorType, LogLevel};
use crate::error::DbError;
use crate::proto::compress::Compression;
use crate::proto::{frame, MAX_FRAME_LEN};

/// What the server tells a worker.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ToWorker {
    /// The first message: how to serve.
    Init(WorkerInit),
    /// A request of the session, with its id.
    Call {
        /// The session's request id (what a cancel names).
        id: u32,
        /// The request.
        req: DbRequest,
        /// How to answer it as the client's finished frame, when the server relays it.
        frame: Option<FrameAs>,
    },
    /// A new session takes over this (parked) connection.
    Adopt {
        /// What to connect to if the parked connection died.
        target: OpenTarget,
        /// `connection_cursortype` of the new session's listener.
        cursor_type: Option<CursorType>,
        /// `[Pool] check_query` and `check_delay` (milliseconds).
        check: Option<(String, u64)>,
    },
    /// The session is done with the connection: reset it and keep it (`keep`, the pool's
    /// case) when it is clean, else disconnect.
    Release {
        /// Whether the server would pool it.
        keep: bool,
    },
}

/// What a worker needs to turn a successful reply into the client's frame itself: the server
/// then relays the bytes (it neither decodes nor encodes the rows).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct FrameAs {
    /// The client's request id.
    pub request: u32,
    /// The protocol version the client speaks.
    pub protocol: u16,
    /// The session's compression threshold (`u64::MAX`: off).
    pub compression: u64,
}

impl FrameAs {
    fn compression(&self) -> Compression {
        Compression {
            threshold: usize::try_from(self.compression).unwrap_or(usize::MAX),
        }
    }
}

/// How a worker serves (from the server's configuration).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WorkerInit {
    /// `max_chunk_length`: the most bytes of rows per answer.
    pub max_chunk: u64,
    /// `statement_cache_size`.
    pub cache_size: u64,
    /// `connection_cursortype`.
    pub cursor_type: Option<CursorType>,
    /// `worker_memory_limit` in bytes.
    pub memory_limit: Option<u64>,
    /// `worker_user`: the user and group ids to run as.
    pub run_as: Option<(u32, u32)>,
    /// The server's log level.
    pub log_level: LogLevel,
}

/// What a worker answers.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum FromWorker {
    /// The answer to a call or an adoption.
    Reply(Result<DbReply, DbError>),
    /// A successful call's answer as the client's frame (the call asked for it).
    Frame {
        /// The frame.
        #[serde(with = "crate::proto::rows::byte_string")]
        bytes: Vec<u8>,
        /// It is an error (only an answer too large for a frame becomes one).
        failed: bool,
        /// It carries rows of a result set that has more.
        more_rows: bool,
        /// The rows it carries.
        rows: u64,
        /// The server compresses it (it is large, and sent uncompressed).
        compress: bool,
    },
    /// The answer to a release: whether the connection was kept for reuse.
    Released {
        /// Kept (parked, reset); otherwise disconnected.
        kept: bool,
    },
}

/// The largest message between the server and a worker: a client request as large as a frame
/// may be, wrapped.
pub(crate) const WORKER_FRAME_LEN: usize = 2 * MAX_FRAME_LEN;

/// Writes one message as a frame.
pub(crate) fn write_message<M: Serialize>(out: &mut impl Write, msg: &M) -> std::io::Result<()> {
    let mut buf = Vec::new();
    frame::encode(msg, Compression::OFF, WORKER_FRAME_LEN, &mut buf)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    out.write_all(&buf)?;
    out.flush()
}

/// Reads one message (an end of input is `UnexpectedEof`).
pub(crate) fn read_message<M: DeserializeOwned>(input: &mut impl Read) -> std::io::Result<M> {
    let mut head = [0u8; frame::HEADER_LEN];
    input.read_exact(&mut head)?;
    let bad = |e: crate::proto::ProtoError| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
    };
    let header = frame::parse_header(&head, WORKER_FRAME_LEN).map_err(bad)?;
    let mut payload = vec![0u8; header.payload_len];
    input.read_exact(&mut payload)?;
    frame::decode_payload(&header, &payload, WORKER_FRAME_LEN).map_err(bad)
}

/// How often a cancel that came before its statement started is tried again.
const CANCEL_RETRY: Duration = Duration::from_millis(20);

/// `odbcd worker --cancel-fd N`: serves one database connection until its stdin ends.
pub fn main(cancel_fd: i32) -> ExitCode {
    // Die with the server, even inside a driver call that never returns; if the server is
    // already gone, go.
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    let parent = std::env::var("ODBCD_WORKER_PARENT").ok();
    if parent.is_some_and(|p| p != nix::unistd::getppid().to_string()) {
        return ExitCode::from(3);
    }
    worker_signals();
    // The protocol's pipes on descriptors of their own (close-on-exec); a driver's stray
    // printf goes to stderr, and nothing it starts inherits the pipes.
    let (Ok(input), Ok(output)) = (
        std::fs::File::open("/proc/self/fd/0"),
        std::fs::OpenOptions::new()
            .write(true)
            .open("/proc/self/fd/1"),
    ) else {
        eprintln!("odbcd worker: cannot reopen its pipes");
        return ExitCode::from(2);
    };
    let moved = std::fs::File::open("/dev/null")
        .map_err(|e| e.to_string())
        .and_then(|null| {
            nix::unistd::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), 0)
                .and_then(|_| nix::unistd::dup2(2, 1))
                .map_err(|e| e.to_string())
        });
    if let Err(e) = moved {
        eprintln!("odbcd worker: cannot move its pipes off descriptors 0 and 1: {e}");
        return ExitCode::from(2);
    }

    let mut input = BufReader::new(input);
    let mut output = BufWriter::new(output);
    let init = match read_message::<ToWorker>(&mut input) {
        Ok(ToWorker::Init(init)) => init,
        _ => {
            eprintln!("odbcd worker: started by hand? It serves the odbcd server only");
            return ExitCode::from(2);
        }
    };
    let cancel = Arc::new(CancelSlot::default());
    // The number of the last call finished: a cancel for it, or an earlier one, is late.
    let finished = Arc::new(AtomicU32::new(0));
    // Before the memory limit (the cancel thread's stack must not be what the limit refuses),
    // and before the change of user and non-dumpability (which close /proc/self to it).
    if let Err(e) = listen_for_cancels(cancel_fd, Arc::clone(&cancel), Arc::clone(&finished)) {
        eprintln!("odbcd worker: cannot listen for cancels: {e}");
        return ExitCode::from(2);
    }
    if let Some((uid, gid)) = init.run_as {
        if let Err(e) = become_user(uid, gid) {
            eprintln!(
                "odbcd worker: cannot run as user {uid} (group {gid}): {e}; is the server root?"
            );
            return ExitCode::from(2);
        }
    }
    // Its memory holds connection credentials: no core file, no ptrace or /proc/PID/mem for
    // other processes of the user.
    let _ = nix::sys::prctl::set_dumpable(false);
    let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0);
    if let Some(bytes) = init.memory_limit {
        if let Err(e) =
            nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_AS, bytes, bytes)
        {
            eprintln!("odbcd worker: cannot set the memory limit: {e}");
            return ExitCode::from(2);
        }
    }
    let _ = crate::logging::init(init.log_level, None, crate::logging::Echo::Stderr);
    super::warnings::install();
    let mut conn = DbConnection::new(
        init.max_chunk as usize,
        cancel,
        init.cursor_type,
        None,
        init.cache_size as usize,
    );
    while let Ok(msg) = read_message::<ToWorker>(&mut input) {
        let answer = match msg {
            ToWorker::Call { id, req, frame } => {
                let (result, read_ahead) = conn.serve_call(id, req);
                finished.store(id, Ordering::Release);
                let answer = match (frame, result) {
                    (Some(to), Ok(reply)) if finished_by_worker(&reply) => {
                        // Large batches are compressed by the server while this process
                        // reads the next one (as the reactor does for a thread).
                        let later = super::answer::rows_bytes(&reply) > DIRECT_ROWS_BYTES;
                        let compression = if later {
                            Compression::OFF
                        } else {
                            to.compression()
                        };
                        let encoded = ClientAnswer::from_reply(reply, to.protocol)
                            .encode(to.request, compression);
                        FromWorker::Frame {
                            bytes: encoded.bytes.to_vec(),
                            failed: encoded.failed,
                            more_rows: encoded.more_rows,
                            rows: encoded.rows,
                            compress: later,
                        }
                    }
                    (_, result) => FromWorker::Reply(result),
                };
                if send(&mut output, answer).is_err() {
                    break;
                }
                // The next batches are read while this one travels, one at a time while no
                // request waits (see `DbConnection::run`).
                if let Some(cursor) = read_ahead {
                    while contain(&mut conn, |this| Ok(this.read_ahead(cursor))).unwrap_or(false)
                        && !request_waiting(&input)
                    {}
                }
                continue;
            }
            ToWorker::Adopt {
                target,
                cursor_type,
                check,
            } => {
                conn.cursor_type = cursor_type;
                let check = check.map(|(q, ms)| (Arc::<str>::from(q), Duration::from_millis(ms)));
                FromWorker::Reply(contain(&mut conn, |this| this.adopt(None, target, check)))
            }
            ToWorker::Release { keep } => {
                let kept = conn.release(keep);
                if send(&mut output, FromWorker::Released { kept }).is_err() || !kept {
                    // Not clean (or a driver call panicked here): this process is not reused.
                    break;
                }
                continue;
            }
            ToWorker::Init(_) => continue,
        };
        if send(&mut output, answer).is_err() {
            break;
        }
    }
    // The server is done with us (or gone): `Drop` disconnects.
    drop(conn);
    ExitCode::SUCCESS
}

/// Switches to `uid` and `gid` (the supplementary groups dropped) for good; then sets again
/// what a change of user resets: the death signal and non-dumpability.
fn become_user(uid: u32, gid: u32) -> nix::Result<()> {
    use nix::unistd::{setgid, setgroups, setuid, Gid, Uid};
    let gid = Gid::from_raw(gid);
    setgroups(&[gid])?;
    setgid(gid)?;
    setuid(Uid::from_raw(uid))?;
    if setuid(Uid::from_raw(0)).is_ok() {
        return Err(nix::errno::Errno::EPERM);
    }
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
    nix::sys::prctl::set_dumpable(false)?;
    // The server may have died while the death signal was off.
    if std::env::var("ODBCD_WORKER_PARENT").is_ok_and(|p| p != nix::unistd::getppid().to_string()) {
        std::process::exit(3);
    }
    Ok(())
}

/// Writes an answer; one too large for the pipe's frames becomes an error answer (as the
/// session does with one too large for the client's).
/// Whether the worker finishes a reply as the client's frame: not a connect (the session
/// answers it) nor a failed `ExecuteMany` (the session rewords it when the watchdog stopped
/// it; errors come back as replies for the same reason).
fn finished_by_worker(reply: &DbReply) -> bool {
    match reply {
        DbReply::Opened { .. } | DbReply::ManyFailed { .. } | DbReply::Sent { .. } => false,
        DbReply::Warned(_, inner) => finished_by_worker(inner),
        _ => true,
    }
}

fn send(output: &mut impl Write, answer: FromWorker) -> std::io::Result<()> {
    match write_message(output, &answer) {
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            let err = DbError::new(
                crate::error::ErrorClass::InterfaceError,
                format!("cannot send the answer: {e}"),
            );
            write_message(output, &FromWorker::Reply(Err(err)))
        }
        r => r,
    }
}

/// Puts `SIGSEGV` and `SIGBUS` back to their default action, and ignores `SIGTERM`,
/// `SIGINT` and `SIGHUP`. Rust's runtime handles the first two to report stack overflows, and
/// its handler lets a `kill -SEGV` from outside pass as if nothing happened: a worker must die
/// of it, like the driver's own programs would. The others are for the server (a drain under
/// systemd's stop, a terminal's Ctrl-C): a worker ends when the server lets it go or dies.
#[allow(unsafe_code)]
fn worker_signals() {
    use nix::sys::signal::{signal, SigHandler, Signal};
    for (sig, action) in [
        (Signal::SIGSEGV, SigHandler::SigDfl),
        (Signal::SIGBUS, SigHandler::SigDfl),
        (Signal::SIGTERM, SigHandler::SigIgn),
        (Signal::SIGINT, SigHandler::SigIgn),
        (Signal::SIGHUP, SigHandler::SigIgn),
    ] {
        // SAFETY: SIG_DFL and SIG_IGN install no handler, so no code of ours runs in signal
        // context; the previous handler (Rust's) is simply no longer called.
        let _ = unsafe { signal(sig, action) };
    }
}

/// Whether the server sent something this process has not read yet.
fn request_waiting(input: &BufReader<std::fs::File>) -> bool {
    use std::os::fd::AsFd;
    if !input.buffer().is_empty() {
        return true;
    }
    let mut fds = [nix::poll::PollFd::new(
        input.get_ref().as_fd(),
        nix::poll::PollFlags::POLLIN,
    )];
    // An error or a hang-up counts as waiting: the next read says what it is.
    nix::poll::poll(&mut fds, nix::poll::PollTimeout::ZERO).map_or(true, |n| n > 0)
}

/// Reads request ids from the cancel pipe and cancels them, each on a thread of its own that
/// tries again until the request's statement started (or the request ended).
fn listen_for_cancels(
    fd: i32,
    slot: Arc<CancelSlot>,
    finished: Arc<AtomicU32>,
) -> std::io::Result<()> {
    // The pipe's read end, by its name in /proc (no unsafe adoption of a descriptor number),
    // then the inherited descriptor closed (what the driver starts does not get it).
    let pipe = std::fs::File::open(format!("/proc/self/fd/{fd}"));
    let _ = nix::unistd::close(fd);
    let mut pipe = pipe?;
    // One thread, started now (not when memory may be short): a cancel waits until its call
    // began and armed its statement, or ended.
    std::thread::Builder::new()
        .name("odbcd-cancel".into())
        .spawn(move || {
            let mut call = [0u8; 4];
            while pipe.read_exact(&mut call).is_ok() {
                let call = u32::from_be_bytes(call);
                // Calls are numbered with wrapping: "not finished yet" is "ahead of the last
                // finished", on the circle.
                let pending = || (call.wrapping_sub(finished.load(Ordering::Acquire)) as i32) > 0;
                while !slot.cancel_request(call) && pending() {
                    std::thread::sleep(CANCEL_RETRY);
                }
            }
        })?;
    Ok(())
}
