//! The session's replay buffer: every session frame is numbered and kept until the client
//! acknowledges it, so a client that resumes on a new link gets exactly the frames it missed.
//! A pure type (no I/O, no actor); the bytes it holds also count against the server-wide
//! budget of unacknowledged output, released when they are acknowledged or the buffer is
//! dropped.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;

/// Numbered session frames sent and not yet acknowledged.
#[derive(Debug)]
pub struct ReplayBuffer {
    frames: VecDeque<(u64, Bytes)>,
    bytes: usize,
    next_seq: u64,
    /// Unacknowledged bytes of every session of the server.
    server_total: Arc<AtomicUsize>,
}

/// A resuming client missed frames the buffer no longer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResumeGap {
    /// The first frame the buffer still holds.
    pub first_kept: u64,
    /// The frames the client says it received.
    pub received: u64,
}

impl ReplayBuffer {
    /// An empty buffer whose bytes count in `server_total`; the first frame is number 1.
    pub fn new(server_total: Arc<AtomicUsize>) -> Self {
        Self {
            frames: VecDeque::new(),
            bytes: 0,
            next_seq: 1,
            server_total,
        }
    }

    /// Numbers and keeps a frame; returns its number.
    pub fn push(&mut self, frame: Bytes) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.bytes += frame.len();
        self.server_total.fetch_add(frame.len(), Ordering::Relaxed);
        self.frames.push_back((seq, frame));
        seq
    }

    /// Forgets the frames numbered up to `ack` (the client received them).
    pub fn acknowledge(&mut self, ack: u64) {
        while let Some((seq, frame)) = self.frames.front() {
            if *seq > ack {
                break;
            }
            self.bytes -= frame.len();
            self.server_total.fetch_sub(frame.len(), Ordering::Relaxed);
            self.frames.pop_front();
        }
    }

    /// A client resumes having received `ack` frames: acknowledges them, and says whether every
    /// frame after them is still here. `u64::MAX` is a client on a new link that received
    /// nothing of this session (another process, say): everything kept is dropped and the
    /// numbering starts again at 1 for it.
    ///
    /// # Errors
    /// [`ResumeGap`] when frames the client did not receive are gone.
    pub fn resume(&mut self, ack: u64) -> Result<(), ResumeGap> {
        self.acknowledge(ack);
        if ack == u64::MAX {
            self.next_seq = 1;
            return Ok(());
        }
        match self.frames.front() {
            Some(&(first_kept, _)) if first_kept > ack + 1 => Err(ResumeGap {
                first_kept,
                received: ack,
            }),
            _ => Ok(()),
        }
    }

    /// The frames kept, oldest first (to send again after a resume).
    pub fn frames(&self) -> impl Iterator<Item = &Bytes> {
        self.frames.iter().map(|(_, f)| f)
    }

    /// How many frames are kept.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when every frame was acknowledged.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The bytes kept.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for ReplayBuffer {
    fn drop(&mut self) {
        self.server_total.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer() -> (ReplayBuffer, Arc<AtomicUsize>) {
        let total = Arc::new(AtomicUsize::new(0));
        (ReplayBuffer::new(Arc::clone(&total)), total)
    }

    fn frame(n: usize) -> Bytes {
        Bytes::from(vec![7u8; n])
    }

    #[test]
    fn frames_are_numbered_from_one_and_counted() {
        let (mut b, total) = buffer();
        assert_eq!(b.push(frame(10)), 1);
        assert_eq!(b.push(frame(20)), 2);
        assert_eq!(
            (b.len(), b.bytes(), total.load(Ordering::Relaxed)),
            (2, 30, 30)
        );
        b.acknowledge(1);
        assert_eq!(
            (b.len(), b.bytes(), total.load(Ordering::Relaxed)),
            (1, 20, 20)
        );
        // An old acknowledgement again changes nothing.
        b.acknowledge(0);
        assert_eq!(b.len(), 1);
        b.acknowledge(5);
        assert!(b.is_empty());
        assert_eq!(total.load(Ordering::Relaxed), 0);
        assert_eq!(b.push(frame(1)), 3, "numbering goes on");
    }

    #[test]
    fn resume_replays_what_the_client_missed_or_reports_the_gap() {
        let (mut b, _) = buffer();
        for n in 1..=5 {
            b.push(frame(n));
        }
        b.acknowledge(2);
        // The client received 3: frames 4 and 5 go again.
        let mut again = b.frames().map(Bytes::len).collect::<Vec<_>>();
        assert_eq!(b.resume(3), Ok(()));
        again.remove(0);
        assert_eq!(b.frames().map(Bytes::len).collect::<Vec<_>>(), again);
        // A client that claims only 1 missed frames 2 and 3, which are gone.
        let (mut b, _) = buffer();
        for n in 1..=5 {
            b.push(frame(n));
        }
        b.acknowledge(3);
        assert_eq!(
            b.resume(1),
            Err(ResumeGap {
                first_kept: 4,
                received: 1
            })
        );
        assert_eq!(
            b.resume(3),
            Ok(()),
            "exactly what it received: nothing missing"
        );
    }

    #[test]
    fn a_fresh_link_restarts_the_numbering() {
        let (mut b, total) = buffer();
        b.push(frame(4));
        b.push(frame(4));
        assert_eq!(b.resume(u64::MAX), Ok(()));
        assert!(b.is_empty());
        assert_eq!(total.load(Ordering::Relaxed), 0);
        assert_eq!(b.push(frame(1)), 1);
    }

    #[test]
    fn dropping_releases_the_server_count() {
        let (mut b, total) = buffer();
        b.push(frame(100));
        let (mut other, _) = (ReplayBuffer::new(Arc::clone(&total)), ());
        other.push(frame(1));
        drop(b);
        assert_eq!(total.load(Ordering::Relaxed), 1);
        drop(other);
        assert_eq!(total.load(Ordering::Relaxed), 0);
    }
}
