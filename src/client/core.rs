//! The session core shared by a session's handles (`Odbc`, `Connection`, `Cursor`): the current
//! link, and — with `[Communication] auto_reconnect` — the means to open a new session when the
//! current one is lost.
//!
//! The policy only ever acts *between* calls: the call that finds the session lost gets the
//! `ConnectionFailureError` (its request may or may not have run, so it is never replayed);
//! the next call re-opens the session on the first server that accepts it, and each
//! `Connection` re-connects with its saved connection string and autocommit setting.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use super::connect::{self, OpenParams};
use super::link::Link;
use super::Error;
use crate::config::ClientConfig;

/// How to open the session again.
pub(crate) struct Reopen {
    pub(crate) config: ClientConfig,
    pub(crate) username: String,
    pub(crate) password: String,
    pub(crate) module_name: String,
    pub(crate) attempts: u32,
    pub(crate) delay: Duration,
}

/// See the module documentation.
pub(crate) struct Core {
    current: RwLock<Current>,
    reopen: Option<Reopen>,
    reopening: Mutex<()>,
}

#[derive(Clone)]
struct Current {
    link: Arc<Link>,
    generation: u64,
    server_name: String,
}

impl Drop for Core {
    /// The last handle of the session is gone (the `ServerSession`, every `Odbc`, `Connection`
    /// and `Cursor`): close the session on the server at once rather than have it wait for a
    /// resume that will not come, without waiting for the answer.
    fn drop(&mut self) {
        let link = self.peek();
        link.say_goodbye();
        link.shutdown();
    }
}

impl Core {
    pub(crate) fn new(link: Arc<Link>, server_name: String, reopen: Option<Reopen>) -> Self {
        Self {
            current: RwLock::new(Current {
                link,
                generation: 0,
                server_name,
            }),
            reopen,
            reopening: Mutex::new(()),
        }
    }

    fn get(&self) -> Current {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The current link, as it is (for closing, status and the like).
    pub(crate) fn peek(&self) -> Arc<Link> {
        self.get().link
    }

    /// The generation of the current link (it changes with every re-open).
    pub(crate) fn generation(&self) -> u64 {
        self.get().generation
    }

    /// The connection section of the current server.
    pub(crate) fn server_name(&self) -> String {
        self.get().server_name
    }

    /// Whether a lost session is opened again by itself (`auto_reconnect`).
    pub(crate) fn reopens(&self) -> bool {
        self.reopen.is_some()
    }

    /// The link to use for a call and its generation (which changes with every re-open). With
    /// `auto_reconnect`, a session lost before this call is opened again first.
    ///
    /// # Errors
    /// Re-opening failed on every attempt (the last failure).
    pub(crate) fn link(&self) -> Result<(Arc<Link>, u64), Error> {
        let c = self.get();
        let Some(reopen) = &self.reopen else {
            return Ok((c.link, c.generation));
        };
        if !c.link.is_lost() {
            return Ok((c.link, c.generation));
        }
        let _one_at_a_time = self
            .reopening
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let c = self.get();
        if !c.link.is_lost() {
            return Ok((c.link, c.generation));
        }
        let params = OpenParams {
            username: &reopen.username,
            password: &reopen.password,
            module_name: &reopen.module_name,
            session_id: None,
        };
        let mut last = None;
        for attempt in 0..reopen.attempts.max(1) {
            if attempt > 0 {
                std::thread::sleep(reopen.delay);
            }
            match connect::open_first(&reopen.config, &params) {
                Ok(opened) => {
                    tracing::info!(server = %opened.server_name, "session lost; a new one is open (auto_reconnect)");
                    let next = Current {
                        link: opened.link,
                        generation: c.generation + 1,
                        server_name: opened.server_name,
                    };
                    *self.current.write().unwrap_or_else(PoisonError::into_inner) = next.clone();
                    return Ok((next.link, next.generation));
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| c.link.lost_error()))
    }
}

/// The error of a request the server did not run because it closed the session for a
/// shutdown, between requests: its notice ([`crate::proto::DRAINED_SQLSTATE`], a
/// `ConnectionFailureError`; a database's own error with that SQLSTATE is an
/// `OperationalError`, never this), safe to send again on a new session.
pub(crate) fn not_run(e: &Error) -> bool {
    e.class == crate::error::ErrorClass::ConnectionFailureError
        && e.sqlstate == crate::proto::DRAINED_SQLSTATE
}

impl Core {
    /// Runs `attempt`, and once more (on a new session) when the server closed the session for
    /// a shutdown before running it and the session re-opens by itself (`auto_reconnect`).
    pub(crate) fn unless_drained<T>(
        &self,
        mut attempt: impl FnMut() -> Result<T, Error>,
    ) -> Result<T, Error> {
        match attempt() {
            Err(e) if not_run(&e) && self.reopens() && self.peek().is_lost() => {
                tracing::info!("the server closed the session for a shutdown before the request ran: sending it on a new session");
                attempt()
            }
            r => r,
        }
    }
}
