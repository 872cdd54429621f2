//! The link: one session's connection to its server, shared by the session's connections and
//! cursors, and resumed on its own when the TCP connection breaks.
//!
//! Any thread may send a request (writes are serialised by a mutex, and request ids are
//! allocated under it, so ids increase in wire order) and wait for its answer. Reading uses a
//! leader/follower scheme instead of a reader thread: the first waiter reads frames and
//! delivers other threads' answers to a mailbox, the others sleep on a condition variable. A
//! single-threaded caller never pays a thread hand-off.
//!
//! **Resume.** Every request stays in `unanswered` until its answer arrives, and the link counts
//! the session frames it received. When the connection breaks (EOF, reset, a stalled frame),
//! the thread that notices reconnects to the same server within the server's reconnect window,
//! presents the session id and that count, and sends again the unanswered requests the server
//! says it never received; the server replays the answers the link missed. Every request runs
//! once and is answered once; callers only see a delay. A notice from the server (id 0, e.g.
//! the session was dropped for `max_waiting_time`) ends the link for good with that error.
//!
//! Timeouts: waiting for the first byte of an answer uses the connection's `socket_timeout`
//! (default: no limit, since a query may run long); the rest of a frame must arrive within
//! `receive_timeout`, and each write must finish within `send_timeout`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::frames::{io_error, protocol, read_frame, LinkOptions};
use super::handshake::{handshake, Endpoint, HandshakeError, SessionInfo};
use super::transport::{ReadSide, WriteSide};
use crate::error::{DbError, ErrorClass};
use crate::proto::compress::Compression;
use crate::proto::frame;
use crate::proto::message::{ClientFrame, Request, RequestId, Response};
use crate::proto::MAX_FRAME_LEN;

/// The longest a link keeps trying to resume, whatever the server's window.
const MAX_RESUME: Duration = Duration::from_secs(600);

#[derive(Default)]
struct ReadState {
    mailbox: HashMap<RequestId, Response>,
    abandoned: HashSet<RequestId>,
    /// Requests sent and not answered yet, encoded, to send again after a resume.
    unanswered: BTreeMap<RequestId, Vec<u8>>,
    /// Session frames received (the `ack` the server may forget up to).
    received: u64,
    /// Bytes received since an acknowledgement last went out.
    unacknowledged_bytes: u64,
    reading: bool,
    resuming: bool,
    /// Resumes since a frame last arrived, and when the first of them began: a link that breaks
    /// again and again gives up after `max_resumes` of them or the server's window.
    resumes_without_progress: u32,
    recovering_since: Option<Instant>,
    /// Threads waiting on `wake` (the reader wakes them only if there are any).
    waiters: usize,
    /// Counts resumes: a failure seen under an older generation is already handled.
    generation: u64,
    /// When a frame last went out or came in (for pings).
    last_traffic: Option<Instant>,
    broken: Option<DbError>,
    /// A session taken over from another client (opened with its id): the highest request id
    /// that client sent. Answers to its requests still on their way come here, and are passed
    /// over.
    previous_owner_upto: RequestId,
}

struct Writer {
    stream: WriteSide,
    buf: Vec<u8>,
    next_id: RequestId,
}

/// A live session link to one server.
pub(crate) struct Link {
    writer: Mutex<Writer>,
    reader: Mutex<ReadSide>,
    state: Mutex<ReadState>,
    wake: Condvar,
    endpoint: Endpoint,
    session: Mutex<SessionInfo>,
    /// While closing: resumes give up at this instant (closing is bounded).
    resume_deadline: Mutex<Option<Instant>>,
    /// Frame bytes written and read (compressed as on the wire, before TLS).
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
    /// `host:port [section]`, for messages.
    pub(crate) peer: String,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves consistent data (plain maps and flags).
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Errors after which the link tries to resume the session.
fn resumable(e: &DbError) -> bool {
    matches!(
        e.class,
        ErrorClass::ConnectionFailureError | ErrorClass::TimeoutError
    )
}

impl Link {
    pub(crate) fn new(
        (reader, stream): (ReadSide, WriteSide),
        endpoint: Endpoint,
        session: SessionInfo,
    ) -> std::io::Result<Self> {
        Ok(Self {
            writer: Mutex::new(Writer {
                stream,
                buf: Vec::new(),
                next_id: session.last_request.wrapping_add(1).max(1),
            }),
            reader: Mutex::new(reader),
            state: Mutex::new(ReadState {
                previous_owner_upto: session.last_request,
                ..ReadState::default()
            }),
            wake: Condvar::new(),
            peer: endpoint.peer.clone(),
            endpoint,
            session: Mutex::new(session),
            resume_deadline: Mutex::new(None),
            bytes_sent: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
        })
    }

    /// The session id and server version.
    pub(crate) fn session(&self) -> SessionInfo {
        lock(&self.session).clone()
    }

    /// A fresh cursor id, unique in this process (so also in any session it is used with).
    pub(crate) fn new_cursor_id() -> u32 {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        loop {
            // 0 and u32::MAX (the server's batch cursor) are never used.
            let id = NEXT.fetch_add(1, Ordering::Relaxed);
            if id != 0 && id != u32::MAX {
                return id;
            }
        }
    }

    /// Frame bytes sent and received so far.
    pub(crate) fn traffic(&self) -> (u64, u64) {
        (
            self.bytes_sent.load(Ordering::Relaxed),
            self.bytes_received.load(Ordering::Relaxed),
        )
    }

    /// Requests sent on this link and not answered yet (abandoned ones included: the server
    /// still queues them).
    pub(crate) fn in_flight(&self) -> usize {
        lock(&self.state).unanswered.len()
    }

    /// True once the link failed for good.
    pub(crate) fn is_broken(&self) -> bool {
        lock(&self.state).broken.is_some()
    }

    /// True when the session was lost (server gone, session dropped or not resumable), as
    /// opposed to closed by the application.
    pub(crate) fn is_lost(&self) -> bool {
        lock(&self.state).broken.as_ref().is_some_and(resumable)
    }

    /// Why the link failed (a generic error when it has not).
    pub(crate) fn lost_error(&self) -> DbError {
        lock(&self.state).broken.clone().unwrap_or_else(|| {
            DbError::with_state(
                ErrorClass::ConnectionFailureError,
                "08S01",
                "the session was lost",
            )
        })
    }

    /// Sends a request and waits for its answer; a `Response::Error` becomes `Err`.
    pub(crate) fn call(&self, request: Request) -> Result<Response, DbError> {
        let id = self.send(request)?;
        match self.wait(id)? {
            Response::Error(e) => Err(e),
            r => Ok(r),
        }
    }

    /// Ends the session: `CloseSession`, waiting at most `timeout` for each frame and resuming
    /// a cut link only until `timeout` from now (a server that stopped answering does not keep
    /// the application waiting; a link cut unnoticed is resumed so the server closes the
    /// session at once).
    pub(crate) fn close_session(&self, timeout: Duration) -> Result<(), DbError> {
        *lock(&self.resume_deadline) = Some(Instant::now() + timeout);
        let result = self
            .send_with(Request::CloseSession, true)
            .and_then(|id| self.wait_with(id, Some(timeout), true));
        *lock(&self.resume_deadline) = None;
        match result? {
            Response::Error(e) => Err(e),
            _ => Ok(()),
        }
    }

    /// The bound on one frame after its first byte (`receive_timeout`).
    pub(crate) fn receive_timeout(&self) -> Duration {
        self.endpoint.opts.receive_timeout
    }

    /// Sends a request whose answer nobody will wait for (it is discarded on arrival). Never
    /// waits for a resume (it runs in drops and from cancelling threads): if the link just
    /// broke, the request stays among the unanswered ones, which the next resume sends again.
    pub(crate) fn send_and_forget(&self, request: Request) {
        if let Ok(id) = self.send_with(request, false) {
            self.abandon(id);
        }
    }

    /// Sends a request; returns its id. If the connection breaks while sending, the session is
    /// resumed and the request sent again if the server did not get it.
    pub(crate) fn send(&self, request: Request) -> Result<RequestId, DbError> {
        self.send_with(request, true)
    }

    /// Tells the server the session is over, without waiting and without resuming if the
    /// connection is already gone (the server then closes the session after its window).
    pub(crate) fn say_goodbye(&self) {
        if !self.is_broken() {
            let _ = self.send_with(Request::CloseSession, false);
        }
    }

    fn send_with(&self, request: Request, resume: bool) -> Result<RequestId, DbError> {
        let mut w = lock(&self.writer);
        // Read under the writer lock: a resume swaps the stream and bumps the generation
        // under it too, so a failed write below is always a failure of `generation`.
        let (ack, generation) = {
            let st = lock(&self.state);
            if let Some(e) = &st.broken {
                return Err(e.clone());
            }
            (st.received, st.generation)
        };
        let id = w.next_id;
        w.next_id = w.next_id.wrapping_add(1).max(1);
        let Writer { stream, buf, .. } = &mut *w;
        buf.clear();
        frame::encode(
            &ClientFrame { id, ack, request },
            self.endpoint.opts.compression,
            MAX_FRAME_LEN,
            buf,
        )
        .map_err(|e| DbError::new(ErrorClass::InterfaceError, e.to_string()))?;
        {
            let mut st = lock(&self.state);
            st.unanswered.insert(id, buf.clone());
            st.last_traffic = Some(Instant::now());
            st.unacknowledged_bytes = 0;
        }
        let mut failed = None;
        self.bytes_sent
            .fetch_add(buf.len() as u64, Ordering::Relaxed);
        for chunk in buf.chunks(self.endpoint.opts.max_chunk) {
            if let Err(e) = stream.write_all(chunk) {
                failed = Some(io_error("sending to", &self.peer, &e));
                break;
            }
        }
        drop(w);
        match failed {
            // The request is in `unanswered`: the resume sends it again if needed.
            Some(err) if resume => self.recover(generation, err)?,
            Some(err) => {
                // Nobody waits for it: a later resume may still deliver it, its answer is
                // dropped on arrival.
                lock(&self.state).abandoned.insert(id);
                return Err(err);
            }
            None => {}
        }
        Ok(id)
    }

    /// Sends an acknowledgement-only frame (request id 0, which the server never answers).
    /// A failure is left to the next read or send to notice.
    fn send_acknowledgement(&self) {
        let mut w = lock(&self.writer);
        let ack = {
            let mut st = lock(&self.state);
            if st.broken.is_some() || st.resuming {
                return;
            }
            st.unacknowledged_bytes = 0;
            st.received
        };
        let Writer { stream, buf, .. } = &mut *w;
        buf.clear();
        let frame = ClientFrame {
            id: 0,
            ack,
            request: Request::Ping,
        };
        if frame::encode(&frame, Compression::OFF, MAX_FRAME_LEN, buf).is_ok() {
            self.bytes_sent
                .fetch_add(buf.len() as u64, Ordering::Relaxed);
            let _ = stream.write_all(buf);
        }
    }

    /// Waits until the reader or a resume wakes this thread (counted, so that the reader
    /// notifies only when someone waits).
    fn wait_for_change<'a>(&self, mut st: MutexGuard<'a, ReadState>) -> MutexGuard<'a, ReadState> {
        st.waiters += 1;
        let mut st = self
            .wake
            .wait(st)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        st.waiters -= 1;
        st
    }

    /// Drops the answer to `id` whenever it arrives.
    pub(crate) fn abandon(&self, id: RequestId) {
        let mut st = lock(&self.state);
        if st.mailbox.remove(&id).is_none() && st.unanswered.contains_key(&id) {
            st.abandoned.insert(id);
        }
    }

    /// Waits for the answer to `id`.
    pub(crate) fn wait(&self, id: RequestId) -> Result<Response, DbError> {
        self.wait_with(id, None, true)
    }

    /// Pings the server when nothing went over the link for `idle`, waiting at most `timeout`
    /// for the answer (a link that does not answer goes through the usual resume). Returns
    /// whether it pinged.
    ///
    /// # Errors
    /// The link is broken, or broke now and could not be resumed.
    pub(crate) fn ping_if_idle(&self, idle: Duration, timeout: Duration) -> Result<bool, DbError> {
        {
            let st = lock(&self.state);
            if let Some(e) = &st.broken {
                return Err(e.clone());
            }
            let quiet = st.last_traffic.is_none_or(|t| t.elapsed() >= idle);
            if !st.unanswered.is_empty() || st.resuming || st.reading || !quiet {
                return Ok(false);
            }
        }
        let id = self.send(Request::Ping)?;
        self.wait_with(id, Some(timeout), true)?;
        Ok(true)
    }

    /// Waits for the answer to `id`; `first_byte`, when given, replaces `socket_timeout` for
    /// the wait this thread does as the reader.
    fn wait_with(
        &self,
        id: RequestId,
        first_byte: Option<Duration>,
        resume: bool,
    ) -> Result<Response, DbError> {
        let opts = match first_byte {
            Some(t) => LinkOptions {
                socket_timeout: Some(t),
                ..self.endpoint.opts
            },
            None => self.endpoint.opts,
        };
        let mut st = lock(&self.state);
        loop {
            if let Some(r) = st.mailbox.remove(&id) {
                return Ok(r);
            }
            if let Some(e) = &st.broken {
                return Err(e.clone());
            }
            if st.reading || st.resuming {
                if super::interrupt::armed() {
                    // Woken every slice to consult the interrupt check, without the state lock
                    // (the check may take the application's own locks, e.g. Python's GIL).
                    st.waiters += 1;
                    let (mut s, _) = self
                        .wake
                        .wait_timeout(st, super::interrupt::SLICE)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    s.waiters -= 1;
                    drop(s);
                    if super::interrupt::interrupted() {
                        return Err(super::interrupt::error(&self.peer));
                    }
                    st = lock(&self.state);
                } else {
                    st = self.wait_for_change(st);
                }
                continue;
            }
            st.reading = true;
            let generation = st.generation;
            drop(st);
            let frame = read_frame(&mut lock(&self.reader), &opts, &self.peer);
            let mut frame_bytes = 0;
            if let Ok((_, n)) = &frame {
                frame_bytes = *n as u64;
                self.bytes_received
                    .fetch_add(frame_bytes, Ordering::Relaxed);
            }
            let frame = frame.map(|(f, _)| f);
            st = lock(&self.state);
            st.reading = false;
            st.last_traffic = Some(Instant::now());
            if st.waiters > 0 {
                self.wake.notify_all();
            }
            match frame {
                Ok(f) if f.id == 0 => {
                    let err = match f.response {
                        Response::Error(e) => e,
                        other => protocol(
                            &self.peer,
                            &crate::proto::ProtoError::Unexpected {
                                what: format!("unexpected notice {other:?}"),
                            },
                        ),
                    };
                    st.broken = Some(err.clone());
                    drop(st);
                    self.shutdown();
                    return Err(err);
                }
                // Read from a link a resume has since replaced: the acknowledgement the resume
                // sent did not count it, so the server sends it again on the new link.
                Ok(_) if st.generation != generation => continue,
                Ok(f) => {
                    // The one place that counts what was received: new frames of the current
                    // link only.
                    st.received += 1;
                    st.resumes_without_progress = 0;
                    st.recovering_since = None;
                    st.unacknowledged_bytes += frame_bytes;
                    if st.unacknowledged_bytes >= crate::proto::ACK_EVERY_BYTES {
                        // The server holds back output nobody acknowledged: say what arrived
                        // even when no request is about to go out.
                        drop(st);
                        self.send_acknowledgement();
                        st = lock(&self.state);
                    }
                    let ours = st.unanswered.remove(&f.id).is_some();
                    if !ours && f.id <= st.previous_owner_upto {
                        // The answer to a request of the client this session was taken over
                        // from (it was still running or queued): not ours to read.
                        tracing::debug!(server = %self.peer, request = f.id, "answer to the previous owner's request passed over");
                        continue;
                    }
                    if !ours {
                        // Never sent, or answered already: the numbering both sides rely on
                        // is broken, and someone may be waiting for an answer that will not
                        // come.
                        let err = DbError::with_state(
                            ErrorClass::ProtocolError,
                            "08S01",
                            format!(
                                "{}: the server answered request {}, which is not waiting for an answer",
                                self.peer, f.id
                            ),
                        );
                        st.broken = Some(err.clone());
                        drop(st);
                        self.wake.notify_all();
                        self.shutdown();
                        return Err(err);
                    }
                    if f.id == id {
                        return Ok(f.response);
                    }
                    if !st.abandoned.remove(&f.id) {
                        st.mailbox.insert(f.id, f.response);
                    }
                }
                // A slice passed before the frame's first byte: nothing was read and the link
                // is fine. With no lock of the link held, ask the interrupt check; the answer
                // is still on its way (for whoever waits next).
                Err(_) if super::interrupt::take_slice_elapsed() => {
                    drop(st);
                    if super::interrupt::interrupted() {
                        return Err(super::interrupt::error(&self.peer));
                    }
                    st = lock(&self.state);
                }
                Err(e) if resume && resumable(&e) => {
                    drop(st);
                    self.recover(generation, e)?;
                    st = lock(&self.state);
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

    /// Resumes the session after `cause` broke the connection of `generation`; returns once
    /// the link works again (possibly resumed by another thread), or with the final error.
    fn recover(&self, generation: u64, cause: DbError) -> Result<(), DbError> {
        // A resume (its handshake, its waits) is never cut short by the interrupt check.
        let _whole = super::interrupt::suspend();
        {
            let mut st = lock(&self.state);
            loop {
                if let Some(e) = &st.broken {
                    return Err(e.clone());
                }
                if st.generation != generation {
                    return Ok(());
                }
                if !st.resuming {
                    break;
                }
                st = self.wait_for_change(st);
            }
            st.resumes_without_progress += 1;
            let since = *st.recovering_since.get_or_insert_with(Instant::now);
            let window = Duration::from_millis(self.session().reconnect_window_ms).min(MAX_RESUME);
            let max = self.endpoint.opts.max_resumes;
            if st.resumes_without_progress > max || since.elapsed() > window {
                let waiting: Vec<RequestId> = st.unanswered.keys().copied().collect();
                let err = DbError::with_state(
                    ErrorClass::ConnectionFailureError,
                    "08S01",
                    format!(
                        "{}: the link broke {} times in a row over {:?} without an answer getting through ({cause}); giving up (max_resume_attempts = {max}, the server's window {window:?}). Requests {waiting:?} were sent and not answered: whether they ran is unknown",
                        self.peer,
                        st.resumes_without_progress - 1,
                        since.elapsed(),
                    ),
                );
                st.broken = Some(err.clone());
                drop(st);
                self.wake.notify_all();
                self.shutdown();
                return Err(err);
            }
            st.resuming = true;
        }
        // Unblock a thread stuck reading or writing on the old connection, then take the
        // acknowledgement and retire the old link's generation in one step under the writer
        // lock: a frame read from the old connection after this is not counted (the reader
        // checks the generation), so the server's replay starts exactly after what was counted.
        self.shutdown();
        let ack = {
            let _w = lock(&self.writer);
            let mut st = lock(&self.state);
            st.generation += 1;
            st.received
        };
        tracing::info!(server = %self.peer, cause = %cause, "link lost; resuming the session");
        let result = self.resume(ack);
        let mut st = lock(&self.state);
        st.resuming = false;
        if let Err(e) = &result {
            st.broken = Some(e.clone());
        }
        self.wake.notify_all();
        result
    }

    /// Reconnects and resumes; sends again the requests the server did not receive.
    fn resume(&self, ack: u64) -> Result<(), DbError> {
        let info = self.session();
        let window = Duration::from_millis(info.reconnect_window_ms).min(MAX_RESUME);
        let mut deadline = Instant::now() + window;
        if let Some(limit) = *lock(&self.resume_deadline) {
            deadline = deadline.min(limit);
        }
        let mut backoff = Duration::from_millis(20);
        loop {
            match handshake(&self.endpoint, &info.resume_spec(), ack) {
                Ok(((reader, stream), opened)) => {
                    let mut w = lock(&self.writer);
                    w.stream = stream;
                    *lock(&self.reader) = reader;
                    let resend: Vec<Vec<u8>> = lock(&self.state)
                        .unanswered
                        .range(opened.last_request.saturating_add(1)..)
                        .map(|(_, bytes)| bytes.clone())
                        .collect();
                    let sent = resend.iter().try_for_each(|bytes| {
                        bytes
                            .chunks(self.endpoint.opts.max_chunk)
                            .try_for_each(|chunk| w.stream.write_all(chunk))
                    });
                    if let Err(e) = sent {
                        // Cut again while re-sending: the session is still there; try again.
                        drop(w);
                        self.shutdown();
                        if Instant::now() + backoff >= deadline {
                            return Err(io_error("sending to", &self.peer, &e));
                        }
                        tracing::debug!(server = %self.peer, error = %e, "re-sending after a resume failed; retrying");
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(1));
                        continue;
                    }
                    // Writes that failed on the old connection from here on belong to an older
                    // generation: they do not start another resume.
                    lock(&self.state).generation += 1;
                    *lock(&self.session) = opened;
                    tracing::info!(server = %self.peer, resent = resend.len(), "session resumed");
                    return Ok(());
                }
                // Nothing listens any more: the server process, and this session with it, is
                // gone. Say so at once instead of retrying for the whole window.
                Err(HandshakeError::Gone(e)) => {
                    return Err(DbError::with_state(
                        ErrorClass::ConnectionFailureError,
                        "08S01",
                        format!("the session is lost: its server is gone ({})", e.message),
                    ));
                }
                // Unreachable: try again within the window. Refused (the session is gone, or
                // belongs to someone else): final.
                Err(HandshakeError::Unreachable(e)) if Instant::now() + backoff < deadline => {
                    tracing::debug!(server = %self.peer, error = %e, "resume attempt failed; retrying");
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
                Err(e) => return Err(e.into_error()),
            }
        }
    }

    /// Resumes now, on a new connection (the manual's `open(session_id=...)` for a session
    /// this link already belongs to).
    pub(crate) fn resume_now(&self) -> Result<(), DbError> {
        let generation = {
            let mut st = lock(&self.state);
            if st.broken.as_ref().is_some_and(resumable) {
                st.broken = None;
            }
            st.generation
        };
        let cause = DbError::with_state(
            ErrorClass::ConnectionFailureError,
            "08S01",
            "resume requested",
        );
        self.recover(generation, cause)
    }

    /// Closes the socket in both directions.
    pub(crate) fn shutdown(&self) {
        if let Ok(w) = self.writer.try_lock() {
            w.stream.shutdown();
        } else if let Ok(r) = self.reader.try_lock() {
            r.shutdown();
        }
    }

    /// Marks the link closed by the application.
    pub(crate) fn close(&self) {
        {
            let mut st = lock(&self.state);
            if st.broken.is_none() {
                st.broken = Some(DbError::with_state(
                    ErrorClass::ProgrammingError,
                    "08003",
                    "the session is closed",
                ));
            }
            self.wake.notify_all();
        }
        self.shutdown();
    }
}
