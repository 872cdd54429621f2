//! Interrupting a statement the application waits for (Python's Ctrl-C).
//!
//! An application installs a check on a thread with [`set_interrupt_check`]. While a cursor on
//! that thread waits for a statement or a fetch, the wait wakes every [`SLICE`] to call the
//! check; when it answers `true`, the cursor asks the server to cancel the statement and waits
//! for the statement's answer (an `HY008` error, or its result if it finished meanwhile), so the
//! connection stays usable. Waits that must not be cut short (commit, rollback, closing) never
//! consult the check. Without a check installed, waits block as before (no wake-ups).

use std::cell::{Cell, RefCell};
use std::time::Duration;

use crate::error::{DbError, ErrorClass};

/// How often an interruptible wait consults the check.
pub const SLICE: Duration = Duration::from_millis(100);

/// A check: returns `true` to interrupt the statement this thread waits for.
pub type InterruptCheck = Box<dyn FnMut() -> bool>;

thread_local! {
    static CHECK: RefCell<Option<InterruptCheck>> = const { RefCell::new(None) };
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static FIRED: Cell<bool> = const { Cell::new(false) };
    static SLICE_ELAPSED: Cell<bool> = const { Cell::new(false) };
}

/// Installs (or with `None` removes) the interrupt check of the calling thread. The check runs
/// on this thread, while one of its cursor calls waits; it may itself use the library (a nested
/// wait is not interruptible).
pub fn set_interrupt_check(check: Option<InterruptCheck>) {
    CHECK.with(|c| *c.borrow_mut() = check);
}

/// While alive, waits on this thread consult the check (see [`arm`]).
pub(crate) struct Armed {
    was: bool,
}

impl Drop for Armed {
    fn drop(&mut self) {
        ARMED.with(|a| a.set(self.was));
    }
}

/// Makes this thread's waits uninterruptible until the guard drops (a resume, a handshake:
/// never cut short in the middle).
pub(crate) fn suspend() -> Armed {
    Armed {
        was: ARMED.with(|a| a.replace(false)),
    }
}

/// A read waited a whole [`SLICE`] without a byte: the caller, once it holds no lock of the
/// link, consults the check ([`interrupted`]) and reads again if it says no.
pub(crate) fn note_slice_elapsed() {
    SLICE_ELAPSED.with(|s| s.set(true));
}

/// Whether the last read on this thread only waited out a slice (and clears that).
pub(crate) fn take_slice_elapsed() -> bool {
    SLICE_ELAPSED.with(|s| s.replace(false))
}

/// Makes the waits of this thread interruptible until the guard drops; clears an earlier
/// interruption.
pub(crate) fn arm() -> Armed {
    FIRED.with(|f| f.set(false));
    Armed {
        was: ARMED.with(|a| a.replace(true)),
    }
}

/// True when waits on this thread should wake up to consult the check.
pub(crate) fn armed() -> bool {
    ARMED.with(Cell::get) && !FIRED.with(Cell::get) && CHECK.with(|c| c.borrow().is_some())
}

/// Consults the check (when armed); `true` once it asked to interrupt, after which this
/// thread's waits are no longer interruptible until the next [`arm`]. Called only where the
/// thread holds none of the link's locks: the check runs the application's code (Python's
/// signal handlers), which may use the same session.
pub(crate) fn interrupted() -> bool {
    if !armed() {
        return false;
    }
    // Taken out while it runs: a nested use of the library finds no check (and no RefCell
    // borrowed twice).
    let Some(mut check) = CHECK.with(|c| c.borrow_mut().take()) else {
        return false;
    };
    let fired = check();
    CHECK.with(|c| {
        let mut slot = c.borrow_mut();
        if slot.is_none() {
            *slot = Some(check);
        }
    });
    if fired {
        FIRED.with(|f| f.set(true));
    }
    fired
}

/// Whether the check interrupted a wait since the last [`arm`].
pub(crate) fn fired() -> bool {
    FIRED.with(Cell::get)
}

/// The error an interrupted wait returns (the cursor turns it into a cancel).
pub(crate) fn error(peer: &str) -> DbError {
    DbError::with_state(
        ErrorClass::OperationalError,
        "HY008",
        format!("{peer}: the wait for the statement was interrupted"),
    )
}
