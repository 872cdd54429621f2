//! Cancelling a running ODBC call from another thread (`SQLCancel`).
//!
//! A [`DbConnection`](super::DbConnection) arms its [`CancelSlot`] with the statement handle
//! of the call it is about to make and disarms it when the call returns, before the statement
//! can be freed. The session actor's watchdog calls [`CancelSlot::cancel`] for a request that
//! exceeds `max_request_execution_time`. The slot's mutex makes arming, disarming and
//! cancelling mutually exclusive, so `SQLCancel` only ever sees a live handle.
#![allow(unsafe_code)]

use std::sync::{Mutex, PoisonError};

use odbc_api::sys::{HStmt, SqlReturn};

/// A statement handle that may be used for `SQLCancel` from another thread.
struct RawStmt(HStmt);

// SAFETY: the handle is only used for SQLCancel, which ODBC defines for exactly this purpose
// (cancelling a function running on the statement in another thread), and only while the slot
// is armed, i.e. while the owning thread has not yet returned from the call and freed it.
unsafe impl Send for RawStmt {}

/// The statement a database connection is currently running, if any.
#[derive(Default)]
pub struct CancelSlot {
    current: Mutex<Option<RawStmt>>,
}

/// Disarms the slot when dropped.
pub(crate) struct Armed<'a> {
    slot: &'a CancelSlot,
}

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        *self
            .slot
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }
}

impl CancelSlot {
    /// Marks `stmt` as running until the returned guard is dropped. The guard must be dropped
    /// before the statement is freed.
    pub(crate) fn arm(&self, stmt: HStmt) -> Armed<'_> {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(RawStmt(stmt));
        Armed { slot: self }
    }

    /// Asks the driver to cancel the running call, if there is one. Returns whether a call was
    /// running. May block briefly (e.g. psqlodbc sends a cancel request to the server).
    pub fn cancel(&self) -> bool {
        let guard = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        match guard.as_ref() {
            Some(stmt) => {
                // SAFETY: the slot is armed, so the handle is live (see `RawStmt`), and the
                // lock keeps the owner from disarming and freeing it while we call.
                let rc = unsafe { odbc_api::sys::SQLCancel(stmt.0) };
                rc != SqlReturn::ERROR && rc != SqlReturn::INVALID_HANDLE
            }
            None => false,
        }
    }
}
