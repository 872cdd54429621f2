//! Cancelling a running ODBC call from another thread (`SQLCancel`).
//!
//! A [`DbConnection`](super::DbConnection) marks the session request it works on
//! ([`CancelSlot::begin`]: the request's clock starts there, not when the session queued it),
//! arms the slot with the statement handle of each call it makes and disarms it when the call
//! returns, before the statement can be freed. The session's watchdog (after
//! `max_request_execution_time`) and `Cancel{request}` call [`CancelSlot::cancel_request`],
//! which cancels only a statement of that request: never one read ahead for a cursor, never
//! the next request's. The slot's mutex makes arming, disarming and cancelling mutually
//! exclusive, so `SQLCancel` only ever sees a live handle.
#![allow(unsafe_code)]

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use odbc_api::sys::{HStmt, SqlReturn};

/// A statement handle that may be used for `SQLCancel` from another thread.
struct RawStmt(HStmt);

// SAFETY: the handle is only used for SQLCancel, which ODBC defines for exactly this purpose
// (cancelling a function running on the statement in another thread), and only while the slot
// is armed, i.e. while the owning thread has not yet returned from the call and freed it.
unsafe impl Send for RawStmt {}

/// The request a database connection works on, and the statement it is running, if any.
#[derive(Default)]
pub struct CancelSlot {
    current: Mutex<Current>,
    /// The same request mark, for [`CancelSlot::started`] alone: the reactor reads it (the
    /// watchdog, the admin list) and must never wait behind a `SQLCancel`, which holds
    /// `current` while the driver cancels (psqlodbc sends a cancel request over the network).
    clock: Mutex<Option<(u32, Instant)>>,
    /// With the connection in a worker process: where a cancel of the running request is
    /// sent (the worker cancels its statement; `true` when it was sent).
    remote: std::sync::OnceLock<Box<dyn Fn(u32) -> bool + Send + Sync>>,
}

#[derive(Default)]
struct Current {
    stmt: Option<RawStmt>,
    /// The session request being worked on (its id) and since when.
    request: Option<(u32, Instant)>,
    /// A cancel of that request reached the driver: a request of several statements (a
    /// batch, `executemany`) stops at the next one.
    cancelled: bool,
}

/// Ends the request's mark when dropped.
pub(crate) struct Working<'a> {
    slot: &'a CancelSlot,
}

impl Drop for Working<'_> {
    fn drop(&mut self) {
        self.slot.lock().request = None;
        *self.slot.clock() = None;
    }
}

/// Disarms the slot when dropped.
pub(crate) struct Armed<'a> {
    slot: &'a CancelSlot,
}

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        self.slot.lock().stmt = None;
    }
}

impl CancelSlot {
    fn clock(&self) -> std::sync::MutexGuard<'_, Option<(u32, Instant)>> {
        self.clock.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks session request `id` as the one this connection works on, from now until the
    /// returned guard is dropped.
    pub(crate) fn begin(&self, id: u32) -> Working<'_> {
        let mut current = self.lock();
        let mark = (id, Instant::now());
        current.request = Some(mark);
        *self.clock() = Some(mark);
        current.cancelled = false;
        drop(current);
        Working { slot: self }
    }

    /// When request `id` started on the connection, if it is the one running.
    pub fn started(&self, id: u32) -> Option<Instant> {
        match *self.clock() {
            Some((running, since)) if running == id => Some(since),
            _ => None,
        }
    }

    /// Marks `stmt` as running until the returned guard is dropped. The guard must be dropped
    /// before the statement is freed.
    pub(crate) fn arm(&self, stmt: HStmt) -> Armed<'_> {
        self.lock().stmt = Some(RawStmt(stmt));
        Armed { slot: self }
    }

    /// Sends cancels to `remote` instead of calling the driver here: the connection runs in a
    /// worker process, which cancels its own statement once it started.
    pub fn send_cancels_to(&self, remote: impl Fn(u32) -> bool + Send + Sync + 'static) {
        let _ = self.remote.set(Box::new(remote));
    }

    /// Asks the driver to cancel the statement of request `id`, if that request is running a
    /// call now. Returns whether it asked. May block briefly (e.g. psqlodbc sends a cancel
    /// request to the server).
    pub fn cancel_request(&self, id: u32) -> bool {
        let mut guard = self.lock();
        if let Some(remote) = self.remote.get() {
            let running = guard.request.is_some_and(|(running, _)| running == id);
            if running {
                guard.cancelled = true;
            }
            return running && remote(id);
        }
        let asked = match (&guard.stmt, guard.request) {
            (Some(stmt), Some((running, _))) if running == id => {
                // SAFETY: the slot is armed, so the handle is live (see `RawStmt`), and the
                // lock keeps the owner from disarming and freeing it while we call.
                let rc = unsafe { odbc_api::sys::SQLCancel(stmt.0) };
                rc != SqlReturn::ERROR && rc != SqlReturn::INVALID_HANDLE
            }
            _ => false,
        };
        // Between two statements of a request of several (an executemany's sets, a batch's
        // statements) nothing is armed: the request still counts as cancelled and stops at
        // the next one. (False is returned all the same, so a single statement not yet armed
        // is asked again.)
        if asked || guard.request.is_some_and(|(running, _)| running == id) {
            guard.cancelled = true;
        }
        asked
    }

    /// Whether the request being worked on was cancelled.
    pub(crate) fn was_cancelled(&self) -> bool {
        self.lock().cancelled
    }
}
