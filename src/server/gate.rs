//! A stream that can be paused: the session stops reading a client's requests while too many
//! wait for their database connections, and reads on when they have run (back-pressure on
//! the socket instead of memory).

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use futures_util::Stream;

/// The switch shared by the session and its reader.
#[derive(Default)]
pub struct Gate {
    closed: AtomicBool,
    waker: AtomicWaker,
}

impl Gate {
    /// Stops the reader after the item it is reading.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Lets the reader go on.
    pub fn open(&self) {
        if self.closed.swap(false, Ordering::AcqRel) {
            self.waker.wake();
        }
    }

    /// Whether the reader is held.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// `inner`, polled only while `gate` is open.
pub struct Gated<S> {
    inner: Pin<Box<S>>,
    gate: Arc<Gate>,
}

impl<S> Gated<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, gate: Arc<Gate>) -> Self {
        Self {
            inner: Box::pin(inner),
            gate,
        }
    }
}

impl<S: Stream> Stream for Gated<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        if self.gate.is_closed() {
            self.gate.waker.register(cx.waker());
            // Opened between the check and the registration: go on.
            if self.gate.is_closed() {
                return Poll::Pending;
            }
        }
        self.inner.as_mut().poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[test]
    fn a_closed_gate_holds_the_stream_until_opened() {
        let gate = Arc::new(Gate::default());
        let mut s = Gated::new(futures_util::stream::iter([1, 2]), gate.clone());
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert_eq!(s.poll_next_unpin(&mut cx), Poll::Ready(Some(1)));
        gate.close();
        assert_eq!(s.poll_next_unpin(&mut cx), Poll::Pending);
        gate.open();
        assert_eq!(s.poll_next_unpin(&mut cx), Poll::Ready(Some(2)));
    }
}
