//! What the listener hands to sessions, and the registry keeps of them: a client's socket
//! halves, a reattachment of a resumed session to a new link ([`Reattach`]), and session ids.
//! Its own module so that the registry can hold a session's `Recipient<Reattach>` without
//! depending on the session actor.

use std::net::SocketAddr;

use actix::Message;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::error::{DbError, ErrorClass};

/// The read half of a client socket (plain TCP or TLS).
pub type ReadHalf = Box<dyn AsyncRead + Unpin + Send>;
/// The write half of a client socket.
pub type WriteHalf = Box<dyn AsyncWrite + Unpin + Send>;

/// A client resumes this session on a new link: `read`/`write` are its socket, `ack` the
/// last session frame it received.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reattach {
    /// The new link's read half.
    pub read: ReadHalf,
    /// The new link's write half.
    pub write: WriteHalf,
    /// The client's address now.
    pub peer: SocketAddr,
    /// The last session frame the client received.
    pub ack: u64,
}

/// A new unguessable session id: 128 bits from the operating system's RNG, hex.
///
/// # Errors
/// The RNG failed.
pub fn new_session_id() -> Result<String, DbError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| {
        DbError::new(
            ErrorClass::InternalError,
            format!("cannot draw a random session id: {e}"),
        )
    })?;
    let random = crate::hex::hex(&b);
    Ok(format!("{}{random}", server_instance()))
}

/// 8 hex characters drawn when this server process started: the first part of every session
/// id it hands out (not secret; the 128 random bits after it are), so a resume after a restart
/// can be told that the server restarted.
pub fn server_instance() -> &'static str {
    static INSTANCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    INSTANCE.get_or_init(|| {
        let mut b = [0u8; 4];
        let _ = getrandom::fill(&mut b);
        crate::hex::hex(&b)
    })
}
