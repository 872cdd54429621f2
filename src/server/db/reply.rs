//! How the answer of a call to a database connection goes back to its session.
//!
//! The connection's thread fills a [`ReplySlot`] that the session's future ([`ReplyFuture`])
//! waits on. Most answers wake the session's task at once. An answer the thread has already sent
//! to the client itself ([`DbReply::Sent`]) is filled in *quietly*: the session has nothing to
//! send, only bookkeeping to do (the connection is free, the transaction's state, the latency
//! metric), and that waits for the session's next wake-up, which in a closed loop is the
//! client's next request. The session then takes it first thing ([`ReplySlot::take_quiet`]),
//! before it looks at the request. That spares the reactor one wake-up per request, at the
//! moment the client is woken too.
//!
//! The session asks to be woken ([`ReplySlot::want_wake`]) when it cannot wait: something is
//! queued behind the call on its connection, or the server is draining. A call that does not
//! come from a session's request (connecting) always wakes. The count of running requests is
//! held by the slot and let go by the thread when it fills the slot, so that status and metrics
//! never show a request running that has been answered.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use actix::MailboxError;

use super::DbReply;
use crate::error::DbError;

/// What a request's answer looks like to the one who sent it: `Err` when the actor is gone.
pub type Answer = Result<Result<DbReply, DbError>, MailboxError>;

/// Where a call's answer is left: shared by the connection's side ([`ReplyTo`]), the session's
/// future ([`ReplyFuture`]) and the session's record of the running request.
pub struct ReplySlot {
    state: Mutex<SlotState>,
}

struct SlotState {
    outcome: Outcome,
    /// The task to wake when the answer comes.
    waker: Option<Waker>,
    /// The session must hear even an answer already sent.
    wake_wanted: bool,
    /// Held while the call runs (a count of running requests); dropped when it is answered.
    guard: Option<Box<dyn Send>>,
}

enum Outcome {
    Pending,
    /// An answer for the session to act on (it wakes the session).
    Ready(Answer),
    /// An answer the connection's thread sent to the client already (it did not wake the
    /// session).
    Quiet(DbReply),
    /// The session took it.
    Taken,
}

impl ReplySlot {
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        // Every update of the state is a single assignment: a panic cannot leave it half done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fill(&self, answer: Answer) {
        let (waker, guard) = {
            let mut s = self.lock();
            if !matches!(s.outcome, Outcome::Pending) {
                return;
            }
            let waker = match answer {
                Ok(Ok(reply @ DbReply::Sent { .. })) if !s.wake_wanted => {
                    s.outcome = Outcome::Quiet(reply);
                    None
                }
                answer => {
                    s.outcome = Outcome::Ready(answer);
                    s.waker.take()
                }
            };
            (waker, s.guard.take())
        };
        drop(guard);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// From now on, the answer wakes the session. Returns `true` when a quiet answer is here
    /// already: the session takes it now ([`Self::take_quiet`]), as nobody will wake it.
    pub fn want_wake(&self) -> bool {
        let mut s = self.lock();
        s.wake_wanted = true;
        matches!(s.outcome, Outcome::Quiet(_))
    }

    /// The answer, if it came quietly and nobody took it yet.
    pub fn take_quiet(&self) -> Option<DbReply> {
        let mut s = self.lock();
        if !matches!(s.outcome, Outcome::Quiet(_)) {
            return None;
        }
        match std::mem::replace(&mut s.outcome, Outcome::Taken) {
            Outcome::Quiet(reply) => Some(reply),
            _ => None,
        }
    }
}

/// A new call's slot: the side that answers, the future that waits, and the slot itself (for
/// the session's [`ReplySlot::want_wake`] and [`ReplySlot::take_quiet`]). `quiet`: an answer
/// already sent to the client may come without waking the session. `guard` is held until the
/// answer comes (or nobody can answer any more).
pub(crate) fn reply_slot(
    quiet: bool,
    guard: Option<Box<dyn Send>>,
) -> (ReplyTo, ReplyFuture, Arc<ReplySlot>) {
    let slot = Arc::new(ReplySlot {
        state: Mutex::new(SlotState {
            outcome: Outcome::Pending,
            waker: None,
            wake_wanted: !quiet,
            guard,
        }),
    });
    (
        ReplyTo {
            slot: Some(Arc::clone(&slot)),
        },
        ReplyFuture {
            slot: Arc::clone(&slot),
        },
        slot,
    )
}

/// The answering side of a call. Dropped without an answer (the connection's thread or worker
/// ended first), it answers `MailboxError::Closed`.
pub(crate) struct ReplyTo {
    slot: Option<Arc<ReplySlot>>,
}

impl ReplyTo {
    /// Answers the call.
    pub(crate) fn send(mut self, result: Result<DbReply, DbError>) {
        if let Some(slot) = self.slot.take() {
            slot.fill(Ok(result));
        }
    }
}

impl Drop for ReplyTo {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            slot.fill(Err(MailboxError::Closed));
        }
    }
}

/// The session's wait for a call's answer: `None` when the session took it already
/// ([`ReplySlot::take_quiet`]).
pub struct ReplyFuture {
    slot: Arc<ReplySlot>,
}

impl Future for ReplyFuture {
    type Output = Option<Answer>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = self.slot.lock();
        match std::mem::replace(&mut s.outcome, Outcome::Taken) {
            Outcome::Pending => {
                s.outcome = Outcome::Pending;
                if !s.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    s.waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
            Outcome::Ready(answer) => Poll::Ready(Some(answer)),
            Outcome::Quiet(reply) => Poll::Ready(Some(Ok(Ok(reply)))),
            Outcome::Taken => Poll::Ready(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn sent() -> Result<DbReply, DbError> {
        Ok(DbReply::Sent {
            failed: false,
            more_rows: false,
            at: None,
        })
    }

    fn poll(fut: &mut ReplyFuture, waker: &Arc<CountingWaker>) -> Poll<Option<Answer>> {
        let waker = Waker::from(Arc::clone(waker));
        Pin::new(fut).poll(&mut Context::from_waker(&waker))
    }

    struct Guard(Arc<AtomicUsize>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn an_answer_already_sent_does_not_wake_and_is_taken_once() {
        let dropped = Arc::new(AtomicUsize::new(0));
        let (to, mut fut, slot) = reply_slot(true, Some(Box::new(Guard(Arc::clone(&dropped)))));
        let waker = Arc::new(CountingWaker(AtomicUsize::new(0)));
        assert!(poll(&mut fut, &waker).is_pending());
        to.send(sent());
        assert_eq!(waker.0.load(Ordering::SeqCst), 0, "a quiet answer woke");
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            1,
            "the count outlived the answer"
        );
        assert!(matches!(slot.take_quiet(), Some(DbReply::Sent { .. })));
        assert!(slot.take_quiet().is_none());
        // The future then ends with nothing left to do.
        assert!(matches!(poll(&mut fut, &waker), Poll::Ready(None)));
    }

    #[test]
    fn a_quiet_answer_not_taken_is_the_futures() {
        let (to, mut fut, _slot) = reply_slot(true, None);
        to.send(sent());
        let waker = Arc::new(CountingWaker(AtomicUsize::new(0)));
        assert!(matches!(
            poll(&mut fut, &waker),
            Poll::Ready(Some(Ok(Ok(DbReply::Sent { .. }))))
        ));
    }

    #[test]
    fn other_answers_and_wanted_wakes_wake() {
        let waker = Arc::new(CountingWaker(AtomicUsize::new(0)));
        // Not sent yet: the session must send it.
        let (to, mut fut, slot) = reply_slot(true, None);
        assert!(poll(&mut fut, &waker).is_pending());
        to.send(Ok(DbReply::Done));
        assert_eq!(waker.0.load(Ordering::SeqCst), 1);
        assert!(slot.take_quiet().is_none());
        assert!(matches!(
            poll(&mut fut, &waker),
            Poll::Ready(Some(Ok(Ok(DbReply::Done))))
        ));
        // Sent, but the session asked to hear it.
        let (to, mut fut, slot) = reply_slot(true, None);
        assert!(poll(&mut fut, &waker).is_pending());
        assert!(!slot.want_wake(), "nothing came yet");
        to.send(sent());
        assert_eq!(waker.0.load(Ordering::SeqCst), 2);
        // A call that is not quiet wakes for everything.
        let (to, mut fut, _slot) = reply_slot(false, None);
        assert!(poll(&mut fut, &waker).is_pending());
        to.send(sent());
        assert_eq!(waker.0.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn asking_for_a_wake_after_a_quiet_answer_says_take_it() {
        let (to, _fut, slot) = reply_slot(true, None);
        to.send(sent());
        assert!(slot.want_wake());
        assert!(slot.take_quiet().is_some());
    }

    #[test]
    fn a_call_nobody_answers_ends_closed_and_wakes() {
        let dropped = Arc::new(AtomicUsize::new(0));
        let (to, mut fut, _slot) = reply_slot(true, Some(Box::new(Guard(Arc::clone(&dropped)))));
        let waker = Arc::new(CountingWaker(AtomicUsize::new(0)));
        assert!(poll(&mut fut, &waker).is_pending());
        drop(to);
        assert_eq!(waker.0.load(Ordering::SeqCst), 1);
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
        assert!(matches!(
            poll(&mut fut, &waker),
            Poll::Ready(Some(Err(MailboxError::Closed)))
        ));
    }
}
