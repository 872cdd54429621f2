//! The link: one TCP connection to a server, shared by a session's connections and cursors.
//!
//! Any thread may send a request (writes are serialised by a mutex) and wait for its answer.
//! Reading uses a leader/follower scheme instead of a reader thread: the first waiter reads
//! frames from the socket and delivers other threads' answers to a mailbox, the others sleep on
//! a condition variable until their answer is there or the reader role is free. A single-threaded
//! caller therefore never pays a thread hand-off, and several threads can have requests in
//! flight on different database connections at once.
//!
//! Waiting for the first byte of an answer uses the connection's `socket_timeout` (default:
//! no limit, since a query may run long); the rest of a frame must arrive within
//! `receive_timeout`, and each write must finish within `send_timeout`.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::error::{DbError, ErrorClass};
use crate::proto::compress::Compression;
use crate::proto::frame::{self, HEADER_LEN};
use crate::proto::message::{ClientFrame, Request, RequestId, Response, ServerFrame};
use crate::proto::MAX_FRAME_LEN;

/// Timeouts and sizes for one link.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkOptions {
    pub(crate) compression: Compression,
    pub(crate) max_chunk: usize,
    pub(crate) socket_timeout: Option<Duration>,
    pub(crate) receive_timeout: Duration,
}

#[derive(Default)]
struct ReadState {
    mailbox: HashMap<RequestId, Response>,
    abandoned: HashSet<RequestId>,
    reading: bool,
    broken: Option<DbError>,
}

/// A live connection to one server.
pub(crate) struct Link {
    writer: Mutex<(TcpStream, Vec<u8>)>,
    reader: Mutex<TcpStream>,
    state: Mutex<ReadState>,
    wake: Condvar,
    next_id: AtomicU32,
    next_cursor: AtomicU32,
    opts: LinkOptions,
    /// `host:port` and section name, for messages.
    pub(crate) peer: String,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves consistent data (plain maps and flags).
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Link {
    pub(crate) fn new(stream: TcpStream, opts: LinkOptions, peer: String) -> std::io::Result<Self> {
        let reader = stream.try_clone()?;
        Ok(Self {
            writer: Mutex::new((stream, Vec::new())),
            reader: Mutex::new(reader),
            state: Mutex::new(ReadState::default()),
            wake: Condvar::new(),
            next_id: AtomicU32::new(1),
            next_cursor: AtomicU32::new(1),
            opts,
            peer,
        })
    }

    /// A fresh cursor id, unique in this session.
    pub(crate) fn new_cursor_id(&self) -> u32 {
        self.next_cursor.fetch_add(1, Ordering::Relaxed)
    }

    /// True once the link failed.
    pub(crate) fn is_broken(&self) -> bool {
        lock(&self.state).broken.is_some()
    }

    /// Sends a request and waits for its answer; a `Response::Error` becomes `Err`.
    pub(crate) fn call(&self, request: Request) -> Result<Response, DbError> {
        let id = self.send(request)?;
        match self.wait(id)? {
            Response::Error(e) => Err(e),
            r => Ok(r),
        }
    }

    /// Sends a request whose answer nobody will wait for (it is discarded on arrival).
    pub(crate) fn send_and_forget(&self, request: Request) {
        if let Ok(id) = self.send(request) {
            self.abandon(id);
        }
    }

    /// Sends a request; returns its id.
    pub(crate) fn send(&self, request: Request) -> Result<RequestId, DbError> {
        if let Some(e) = &lock(&self.state).broken {
            return Err(e.clone());
        }
        let id = loop {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            if id != 0 {
                break id;
            }
        };
        let mut w = lock(&self.writer);
        let (stream, buf) = &mut *w;
        buf.clear();
        frame::encode(
            &ClientFrame { id, request },
            self.opts.compression,
            MAX_FRAME_LEN,
            buf,
        )
        .map_err(|e| DbError::new(ErrorClass::InterfaceError, e.to_string()))?;
        for chunk in buf.chunks(self.opts.max_chunk) {
            if let Err(e) = stream.write_all(chunk) {
                let err = io_error("sending to", &self.peer, &e);
                drop(w);
                self.break_link(err.clone());
                return Err(err);
            }
        }
        Ok(id)
    }

    /// Drops the answer to `id` whenever it arrives.
    pub(crate) fn abandon(&self, id: RequestId) {
        let mut st = lock(&self.state);
        if st.mailbox.remove(&id).is_none() {
            st.abandoned.insert(id);
        }
    }

    /// Waits for the answer to `id`.
    pub(crate) fn wait(&self, id: RequestId) -> Result<Response, DbError> {
        let mut st = lock(&self.state);
        loop {
            if let Some(r) = st.mailbox.remove(&id) {
                return Ok(r);
            }
            if let Some(e) = &st.broken {
                return Err(e.clone());
            }
            if st.reading {
                st = self
                    .wake
                    .wait(st)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                continue;
            }
            st.reading = true;
            drop(st);
            let frame = self.read_frame();
            st = lock(&self.state);
            st.reading = false;
            self.wake.notify_all();
            match frame {
                Ok(f) if f.id == id => return Ok(f.response),
                Ok(f) => {
                    if !st.abandoned.remove(&f.id) {
                        st.mailbox.insert(f.id, f.response);
                    }
                }
                Err(e) => {
                    st.broken = Some(e.clone());
                    drop(st);
                    self.shutdown();
                    return Err(e);
                }
            }
        }
    }

    fn read_frame(&self) -> Result<ServerFrame, DbError> {
        let mut sock = lock(&self.reader);
        read_frame(&mut sock, &self.opts, &self.peer)
    }

    fn break_link(&self, err: DbError) {
        let mut st = lock(&self.state);
        if st.broken.is_none() {
            st.broken = Some(err);
        }
        self.wake.notify_all();
        drop(st);
        self.shutdown();
    }

    /// Closes the socket in both directions.
    pub(crate) fn shutdown(&self) {
        if let Ok(w) = self.writer.try_lock() {
            let _ = w.0.shutdown(Shutdown::Both);
        } else if let Ok(r) = self.reader.try_lock() {
            let _ = r.shutdown(Shutdown::Both);
        }
    }

    /// Marks the link closed by the application.
    pub(crate) fn close(&self) {
        self.break_link(DbError::with_state(
            ErrorClass::ProgrammingError,
            "08003",
            "the session is closed",
        ));
    }
}

/// Reads one frame: the first byte may take `socket_timeout`, the rest `receive_timeout`.
pub(crate) fn read_frame(
    sock: &mut TcpStream,
    opts: &LinkOptions,
    peer: &str,
) -> Result<ServerFrame, DbError> {
    let mut head = [0u8; HEADER_LEN];
    let _ = sock.set_read_timeout(opts.socket_timeout);
    read_exact(sock, &mut head[..1], peer)?;
    let _ = sock.set_read_timeout(Some(opts.receive_timeout));
    read_exact(sock, &mut head[1..], peer)?;
    let header = frame::parse_header(&head, MAX_FRAME_LEN).map_err(|e| protocol(peer, &e))?;
    let mut payload = vec![0u8; header.payload_len];
    for chunk in payload.chunks_mut(opts.max_chunk) {
        read_exact(sock, chunk, peer)?;
    }
    frame::decode_payload(&header, &payload, MAX_FRAME_LEN).map_err(|e| protocol(peer, &e))
}

fn read_exact(sock: &mut TcpStream, buf: &mut [u8], peer: &str) -> Result<(), DbError> {
    sock.read_exact(buf)
        .map_err(|e| io_error("receiving from", peer, &e))
}

pub(crate) fn protocol(peer: &str, e: &crate::proto::ProtoError) -> DbError {
    DbError::with_state(ErrorClass::ProtocolError, "08S01", format!("{peer}: {e}"))
}

/// Maps a socket error: timeouts to `TimeoutError`, the rest to `ConnectionFailureError`.
pub(crate) fn io_error(doing: &str, peer: &str, e: &std::io::Error) -> DbError {
    use std::io::ErrorKind::*;
    match e.kind() {
        TimedOut | WouldBlock => DbError::with_state(
            ErrorClass::TimeoutError,
            "HYT00",
            format!("timed out {doing} server {peer}"),
        ),
        UnexpectedEof => DbError::with_state(
            ErrorClass::ConnectionFailureError,
            "08S01",
            format!("server {peer} closed the connection"),
        ),
        _ => DbError::with_state(
            ErrorClass::ConnectionFailureError,
            "08S01",
            format!("connection to server {peer} failed while {doing} it: {e}"),
        ),
    }
}
