//! A session's output: the frames on their way to the client, in one order, whoever sends them.
//!
//! Both the session actor (on the reactor) and its database connections' threads send frames
//! (see [`super::db::answer`]). Every numbered frame is kept in the [`ReplayBuffer`] and put on
//! the link in the same step, under one lock, so the order on the wire is the order of the
//! numbers. On a plain TCP link a sender whose frame finds nothing waiting writes it to the
//! socket at once, without blocking (a second descriptor of the same socket): a database
//! thread's answer leaves without waking the reactor. Whatever does not fit in the socket, and
//! everything on a TLS link, waits in the outbox for the link's writer task ([`Outbox::drive`]),
//! which writes it through the link's write half (with `max_chunk_length` and `send_timeout`,
//! see [`super::chunked`]); while anything waits, every sender queues behind it.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::sync::Notify;

use super::handoff::WriteHalf;
use super::metrics::Metrics;
use super::replay::{ReplayBuffer, ResumeGap};

/// A session's outgoing frames (see the module documentation).
pub struct Outbox {
    state: Mutex<State>,
    /// Wakes the current link's writer task.
    wake: Notify,
    metrics: Arc<Metrics>,
    /// `max_chunk_length`: the most one write moves.
    max_chunk: usize,
}

struct State {
    replay: ReplayBuffer,
    link: Option<LinkOut>,
    /// The session is gone: frames are neither sent nor kept.
    ended: bool,
}

/// The output side of the current link.
struct LinkOut {
    generation: u64,
    /// The socket, for direct writes (plain TCP only).
    direct: Option<std::net::TcpStream>,
    /// Bytes not written yet, oldest first; `offset` of the first is written already.
    waiting: VecDeque<Bytes>,
    offset: usize,
    /// No more frames: once `waiting` is written, the writer shuts the link down.
    closing: bool,
    /// A direct write failed: the writer task reports it (the session detaches).
    failed: Option<io::Error>,
}

/// What a new link carries after its first frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// What comes next.
    Continue,
    /// Every frame the client has not acknowledged (a resume), then what comes next.
    Replay,
    /// Nothing: the first frame is a notice that ends the session.
    Close,
}

/// How a link's writer task ended.
#[derive(Debug)]
pub enum Drained {
    /// The session closed the link and everything was written.
    Closed,
    /// The link was replaced or let go.
    Retired,
}

impl Outbox {
    /// An outbox without a link; kept frames count in `server_total` (the server's
    /// unacknowledged bytes).
    pub fn new(server_total: Arc<AtomicUsize>, metrics: Arc<Metrics>, max_chunk: usize) -> Self {
        Self {
            state: Mutex::new(State {
                replay: ReplayBuffer::new(server_total),
                link: None,
                ended: false,
            }),
            wake: Notify::new(),
            metrics,
            max_chunk: max_chunk.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every step leaves the state consistent; a panic elsewhere does not poison it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new link: `generation` names it, `direct` is its socket for direct writes (plain
    /// TCP), `first` goes out first, then what `then` says.
    pub fn attach(
        &self,
        generation: u64,
        direct: Option<std::net::TcpStream>,
        first: Option<Bytes>,
        then: Then,
    ) {
        let mut state = self.lock();
        let mut waiting = VecDeque::new();
        waiting.extend(first);
        if then == Then::Replay {
            waiting.extend(state.replay.frames().cloned());
        }
        for frame in &waiting {
            self.metrics.sent(frame);
        }
        state.link = Some(LinkOut {
            generation,
            direct,
            waiting,
            offset: 0,
            closing: then == Then::Close,
            failed: None,
        });
        drop(state);
        self.wake.notify_one();
    }

    /// The session is gone: nothing more is sent or kept, and the socket is let go.
    pub fn end(&self) {
        let mut state = self.lock();
        state.ended = true;
        state.link = None;
        state.replay.acknowledge(u64::MAX);
        drop(state);
        self.wake.notify_one();
    }

    /// The link is gone: frames are kept for a resume, nothing is written.
    pub fn detach(&self) {
        self.lock().link = None;
        self.wake.notify_one();
    }

    /// Sends a numbered session frame (kept until acknowledged); false when it will never
    /// reach the client (the session ended, or is closing).
    pub fn send_numbered(&self, frame: Bytes) -> bool {
        let mut state = self.lock();
        let closing = state.link.as_ref().is_some_and(|l| l.closing);
        if state.ended || closing {
            return false;
        }
        state.replay.push(frame.clone());
        self.put(&mut state, frame);
        true
    }

    /// Sends a frame outside the numbered stream (a notice).
    pub fn send_unnumbered(&self, frame: Bytes) {
        let mut state = self.lock();
        self.put(&mut state, frame);
    }

    /// Sends `last` (if any) and closes the link once everything before it is written.
    pub fn close(&self, last: Option<Bytes>) {
        let mut state = self.lock();
        if let Some(frame) = last {
            self.put(&mut state, frame);
        }
        if let Some(link) = &mut state.link {
            link.closing = true;
        }
        drop(state);
        self.wake.notify_one();
    }

    fn put(&self, state: &mut State, frame: Bytes) {
        let Some(link) = &mut state.link else {
            return;
        };
        if link.closing || link.failed.is_some() {
            return;
        }
        self.metrics.sent(&frame);
        if link.waiting.is_empty() {
            if let Some(socket) = &link.direct {
                match write_now(socket, &frame, self.max_chunk) {
                    Ok(n) if n == frame.len() => return,
                    Ok(n) => {
                        link.waiting.push_back(frame);
                        link.offset = n;
                    }
                    Err(e) => link.failed = Some(e),
                }
                self.wake.notify_one();
                return;
            }
        }
        link.waiting.push_back(frame);
        if link.waiting.len() == 1 {
            self.wake.notify_one();
        }
    }

    /// Forgets the numbered frames up to `ack`.
    pub fn acknowledge(&self, ack: u64) {
        self.lock().replay.acknowledge(ack);
    }

    /// A client resumes having received `ack` frames (see [`ReplayBuffer::resume`]).
    ///
    /// # Errors
    /// Frames it did not receive are gone.
    pub fn resume(&self, ack: u64) -> Result<(), ResumeGap> {
        self.lock().replay.resume(ack)
    }

    /// The bytes kept for replay.
    pub fn kept_bytes(&self) -> usize {
        self.lock().replay.bytes()
    }

    /// The frames kept for replay.
    pub fn kept_frames(&self) -> usize {
        self.lock().replay.len()
    }

    /// The writer task of link `generation`: writes what waits through `write` until the link
    /// is closed (then shuts it down) or replaced.
    ///
    /// # Errors
    /// A write failed (or a direct write did): the link is broken.
    pub async fn drive(&self, generation: u64, mut write: WriteHalf) -> io::Result<Drained> {
        loop {
            let wake = self.wake.notified();
            let next = {
                let mut state = self.lock();
                let Some(link) = state.link.as_mut().filter(|l| l.generation == generation) else {
                    return Ok(Drained::Retired);
                };
                if let Some(e) = link.failed.take() {
                    return Err(e);
                }
                match link.waiting.front() {
                    Some(frame) => Next::Write(frame.slice(link.offset..)),
                    None if link.closing => Next::Close,
                    None => Next::Wait,
                }
            };
            let bytes = match next {
                Next::Write(bytes) => bytes,
                Next::Close => {
                    write.flush().await?;
                    let _ = write.shutdown().await;
                    return Ok(Drained::Closed);
                }
                Next::Wait => {
                    // Written through the half: a TLS link holds the bytes until flushed.
                    write.flush().await?;
                    wake.await;
                    continue;
                }
            };
            let n = write.write(&bytes).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            let mut state = self.lock();
            let Some(link) = state.link.as_mut().filter(|l| l.generation == generation) else {
                return Ok(Drained::Retired);
            };
            link.offset += n;
            if link.waiting.front().is_some_and(|f| link.offset >= f.len()) {
                link.waiting.pop_front();
                link.offset = 0;
            }
        }
    }
}

/// What a link's writer does next.
enum Next {
    Write(Bytes),
    Close,
    Wait,
}

/// Writes as much of `frame` as the socket takes now, at most `max_chunk` bytes per call.
fn write_now(
    mut socket: &std::net::TcpStream,
    frame: &[u8],
    max_chunk: usize,
) -> io::Result<usize> {
    let mut done = 0;
    while done < frame.len() {
        let end = frame.len().min(done + max_chunk);
        match socket.write(&frame[done..end]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// A connected pair: the server's socket (its write half and a second descriptor for
    /// direct writes) and the client's.
    async fn pair() -> (WriteHalf, std::net::TcpStream, tokio::net::TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let direct =
            std::net::TcpStream::from(socket2::SockRef::from(&server).try_clone().unwrap());
        let (_read, write) = tokio::io::split(server);
        (Box::new(write), direct, client)
    }

    fn frame(n: u32, len: usize) -> Bytes {
        let mut f = n.to_be_bytes().to_vec();
        f.resize(len, (n % 251) as u8);
        Bytes::from(f)
    }

    /// Frames sent from several threads while the client does not read (the socket fills,
    /// direct writes stop half-way and the rest waits for the writer task) arrive whole, in
    /// the order of their numbers, each once.
    #[tokio::test]
    async fn frames_from_many_threads_arrive_whole_and_in_the_order_they_were_numbered() {
        let (write, direct, mut client) = pair().await;
        let total = Arc::new(AtomicUsize::new(0));
        let outbox = Arc::new(Outbox::new(
            Arc::clone(&total),
            Arc::new(Metrics::new()),
            16 * 1024,
        ));
        outbox.attach(1, Some(direct), None, Then::Continue);
        let writer = tokio::spawn({
            let outbox = Arc::clone(&outbox);
            async move { outbox.drive(1, write).await }
        });
        // Each thread's frames carry its number; the order across threads is the outbox's.
        let len = 40_000;
        let threads: Vec<_> = (0..4u32)
            .map(|t| {
                let outbox = Arc::clone(&outbox);
                std::thread::spawn(move || {
                    for i in 0..50 {
                        outbox.send_numbered(frame(t * 1000 + i, len));
                    }
                })
            })
            .collect();
        // The threads send while the client reads and the writer task writes.
        let closer = tokio::task::spawn_blocking({
            let outbox = Arc::clone(&outbox);
            move || {
                for t in threads {
                    t.join().unwrap();
                }
                outbox.close(Some(frame(9999, 10)));
            }
        });
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        closer.await.unwrap();
        assert!(matches!(writer.await.unwrap(), Ok(Drained::Closed)));
        assert_eq!(got.len(), 200 * len + 10);
        let mut next = [0u32; 4];
        for (k, chunk) in got[..200 * len].chunks(len).enumerate() {
            let n = u32::from_be_bytes(chunk[..4].try_into().unwrap());
            assert!(
                chunk[4..].iter().all(|b| *b == (n % 251) as u8),
                "frame {k} whole"
            );
            let t = (n / 1000) as usize;
            assert_eq!(n % 1000, next[t], "thread {t}'s frames in order");
            next[t] += 1;
        }
        assert_eq!(&got[200 * len..200 * len + 4], &9999u32.to_be_bytes());
        assert_eq!(
            outbox.kept_frames(),
            200,
            "numbered frames kept until acknowledged"
        );
        assert_eq!(total.load(std::sync::atomic::Ordering::Relaxed), 200 * len);
        outbox.acknowledge(200);
        assert_eq!(total.load(std::sync::atomic::Ordering::Relaxed), 0);
    }

    /// After the final notice nothing is sent (and senders hear so, to count nothing); after
    /// the session ended nothing is kept either.
    #[tokio::test]
    async fn nothing_goes_after_the_final_notice_and_nothing_is_kept_after_the_end() {
        let total = Arc::new(AtomicUsize::new(0));
        let outbox = Outbox::new(Arc::clone(&total), Arc::new(Metrics::new()), 1024);
        let (write, direct, mut client) = pair().await;
        outbox.attach(1, Some(direct), Some(frame(7, 8)), Then::Close);
        assert!(!outbox.send_numbered(frame(8, 8)), "after the notice");
        assert!(matches!(outbox.drive(1, write).await, Ok(Drained::Closed)));
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, frame(7, 8));
        outbox.detach();
        assert!(outbox.send_numbered(frame(9, 8)), "kept for a resume");
        assert_eq!(total.load(std::sync::atomic::Ordering::Relaxed), 8);
        outbox.end();
        assert_eq!(total.load(std::sync::atomic::Ordering::Relaxed), 0);
        assert!(!outbox.send_numbered(frame(10, 8)), "after the end");
        assert_eq!(outbox.kept_frames(), 0);
    }

    /// Frames sent while no link is attached are kept, and a resume sends the greeting, then
    /// exactly the frames the client did not acknowledge, then what comes next.
    #[tokio::test]
    async fn a_resume_sends_the_greeting_then_the_missed_frames_once() {
        let outbox = Outbox::new(Arc::default(), Arc::new(Metrics::new()), 1024);
        for n in 1..=3 {
            outbox.send_numbered(frame(n, 8));
        }
        outbox.resume(1).unwrap();
        let (write, direct, mut client) = pair().await;
        outbox.attach(2, Some(direct), Some(frame(100, 8)), Then::Replay);
        outbox.send_numbered(frame(4, 8));
        outbox.close(None);
        let drained = outbox.drive(2, write).await.unwrap();
        assert!(matches!(drained, Drained::Closed));
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        let order: Vec<u32> = got
            .chunks(8)
            .map(|c| u32::from_be_bytes(c[..4].try_into().unwrap()))
            .collect();
        assert_eq!(order, [100, 2, 3, 4]);
    }
}
