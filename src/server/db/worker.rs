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
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

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
    /// The server's log level.
    pub log_level: LogLevel,
}

/// What a worker answers.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum FromWorker {
    /// The answer to a call or an adoption.
    Reply(Result<DbReply, DbError>),
    /// The answer to a release: whether the connection was kept for reuse.
    Released {
        /// Kept (parked, reset); otherwise disconnected.
        kept: bool,
    },
}

/// Writes one message as a frame.
pub(crate) fn write_message<M: Serialize>(out: &mut impl Write, msg: &M) -> std::io::Result<()> {
    let mut buf = Vec::new();
    frame::encode(msg, Compression::OFF, MAX_FRAME_LEN, &mut buf)
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
    let header = frame::parse_header(&head, MAX_FRAME_LEN).map_err(bad)?;
    let mut payload = vec![0u8; header.payload_len];
    input.read_exact(&mut payload)?;
    frame::decode_payload(&header, &payload, MAX_FRAME_LEN).map_err(bad)
}

/// How often a cancel that came before its statement started is tried again, and for how
/// long at most.
const CANCEL_RETRY: Duration = Duration::from_millis(20);
const CANCEL_TRIES: u32 = 500;

/// `odbcd worker --cancel-fd N`: serves one database connection until its stdin ends.
pub fn main(cancel_fd: i32) -> ExitCode {
    // Die with the server, even inside a driver call that never returns; if the server is
    // already gone, go.
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    let parent = std::env::var("ODBCD_WORKER_PARENT").ok();
    if parent.is_some_and(|p| p != nix::unistd::getppid().to_string()) {
        return ExitCode::from(3);
    }
    default_fatal_signals();
    let mut input = BufReader::new(std::io::stdin().lock());
    let mut output = BufWriter::new(std::io::stdout().lock());
    let init = match read_message::<ToWorker>(&mut input) {
        Ok(ToWorker::Init(init)) => init,
        _ => {
            eprintln!("odbcd worker: started by hand? It serves the odbcd server only");
            return ExitCode::from(2);
        }
    };
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
    let cancel = Arc::new(CancelSlot::default());
    listen_for_cancels(cancel_fd, Arc::clone(&cancel));
    let mut conn = DbConnection::new(
        init.max_chunk as usize,
        cancel,
        init.cursor_type,
        None,
        init.cache_size as usize,
    );
    while let Ok(msg) = read_message::<ToWorker>(&mut input) {
        let answer = match msg {
            ToWorker::Call { id, req } => {
                let (result, read_ahead) = conn.serve_call(id, req);
                if write_message(&mut output, &FromWorker::Reply(result)).is_err() {
                    break;
                }
                // The next batch is read while this one travels (see `DbConnection::run`).
                if let Some(cursor) = read_ahead {
                    let _ = contain(&mut conn, |this| {
                        this.read_ahead(cursor);
                        Ok(DbReply::Done)
                    });
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
            ToWorker::Release { keep } => FromWorker::Released {
                kept: conn.release(keep),
            },
            ToWorker::Init(_) => continue,
        };
        if write_message(&mut output, &answer).is_err() {
            break;
        }
    }
    // The server is done with us (or gone): `Drop` disconnects.
    drop(conn);
    ExitCode::SUCCESS
}

/// Puts `SIGSEGV` and `SIGBUS` back to their default action. Rust's runtime handles them to
/// report stack overflows, and its handler lets a `kill -SEGV` from outside pass as if
/// nothing happened; a worker must die of it, like the driver's own programs would.
#[allow(unsafe_code)]
fn default_fatal_signals() {
    use nix::sys::signal::{signal, SigHandler, Signal};
    for sig in [Signal::SIGSEGV, Signal::SIGBUS] {
        // SAFETY: SIG_DFL installs no handler, so no code of ours runs in signal context; the
        // previous handler (Rust's) is simply no longer called.
        let _ = unsafe { signal(sig, SigHandler::SigDfl) };
    }
}

/// Reads request ids from the cancel pipe and cancels them, each on a thread of its own that
/// tries again until the request's statement started (or the request ended).
fn listen_for_cancels(fd: i32, slot: Arc<CancelSlot>) {
    // The pipe's read end, by its name in /proc (no unsafe adoption of a descriptor number).
    let Ok(mut pipe) = std::fs::File::open(format!("/proc/self/fd/{fd}")) else {
        eprintln!("odbcd worker: no cancel pipe at descriptor {fd}: cancels will not work");
        return;
    };
    let _ = std::thread::Builder::new()
        .name("odbcd-cancel".into())
        .spawn(move || {
            let mut id = [0u8; 4];
            while pipe.read_exact(&mut id).is_ok() {
                let id = u32::from_be_bytes(id);
                let slot = Arc::clone(&slot);
                let _ = std::thread::Builder::new()
                    .name("odbcd-cancel".into())
                    .spawn(move || {
                        for _ in 0..CANCEL_TRIES {
                            if slot.cancel_request(id) || slot.started(id).is_none() {
                                break;
                            }
                            std::thread::sleep(CANCEL_RETRY);
                        }
                    });
            }
        });
}
