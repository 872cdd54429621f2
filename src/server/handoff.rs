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

/// The part of a session id that logs and `Status` show: 8 hex characters of its random part
/// (the server instance tag in front is the same for every session of a process, so it tells
/// sessions apart no more than nothing; the rest stays secret: an id allows a resume).
pub fn public_prefix(id: &str) -> &str {
    let tag = server_instance().len();
    let random = if id.len() == tag + 32 { &id[tag..] } else { id };
    random.get(..8).unwrap_or(random)
}

#[cfg(test)]
mod tests {
    use super::{new_session_id, public_prefix, server_instance};

    #[test]
    fn the_public_prefix_tells_sessions_apart() {
        let (a, b) = (new_session_id().unwrap(), new_session_id().unwrap());
        assert!(a.starts_with(server_instance()) && b.starts_with(server_instance()));
        assert_eq!(public_prefix(&a), &a[8..16]);
        assert_ne!(public_prefix(&a), public_prefix(&b));
        assert_eq!(public_prefix("short"), "short");
    }
}
