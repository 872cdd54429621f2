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
    /// The new link's socket for direct writes (plain TCP; see [`super::outbox`]).
    pub direct: Option<std::net::TcpStream>,
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

/// How long a closed link's read half goes on reading (and discarding) what the client still
/// sends, at most.
const LINGER: std::time::Duration = std::time::Duration::from_secs(2);

/// A client socket's read half that, when the session lets it go, goes on reading for a
/// moment before the socket is closed (a "lingering close").
///
/// A socket closed while bytes the client sent are still unread is reset (TCP RST), and a
/// reset makes the client's kernel throw away what the server sent last and the client has
/// not read yet. A client keeps fetches in flight ahead of the rows it reads, so when the
/// server ends a session at a drain boundary, requests it will never answer can be on their
/// way: without lingering, the last batches of rows and the notice that the session ended
/// would be lost with them. The write half is shut down by the session (FIN after the last
/// frame); this reads until the client closes too, or [`LINGER`] passes.
pub struct Lingering {
    inner: Option<ReadHalf>,
}

impl Lingering {
    /// Wraps a read half.
    pub fn new(inner: ReadHalf) -> Self {
        Self { inner: Some(inner) }
    }
}

impl AsyncRead for Lingering {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.inner.as_mut() {
            Some(inner) => std::pin::Pin::new(inner).poll_read(cx, buf),
            None => std::task::Poll::Ready(Ok(())),
        }
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        let Some(mut inner) = self.inner.take() else {
            return;
        };
        // Outside a runtime (the server is stopping) the socket just closes.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut sink = [0u8; 4096];
            let _ = tokio::time::timeout(LINGER, async {
                while matches!(inner.read(&mut sink).await, Ok(n) if n > 0) {}
            })
            .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::{new_session_id, public_prefix, server_instance, Lingering};
    use std::io::{Read, Write};
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;

    /// The server's last frames reach a client that sent bytes the server never read: the
    /// read half lingers and drains them, so the socket is not reset with the frames still in
    /// its buffers (a reset discards them on both sides).
    #[tokio::test]
    async fn a_lingering_close_delivers_everything_to_a_client_that_sent_unread_bytes() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            // Bytes the server never reads (requests sent ahead).
            s.write_all(&[7u8; 64 * 1024]).unwrap();
            // Not reading yet: the server's answers fill the buffers.
            std::thread::sleep(Duration::from_millis(300));
            let mut got = Vec::new();
            s.read_to_end(&mut got).map(|_| got.len())
        });
        let (stream, _) = listener.accept().await.unwrap();
        let (read, mut write) = tokio::io::split(stream);
        let read = Lingering::new(Box::new(read));
        tokio::time::sleep(Duration::from_millis(100)).await;
        // The session ends: its reader goes first, its writer once the last frames are
        // handed to the kernel (dropped, as when the session stops, not shut down).
        drop(read);
        let answers = vec![1u8; 8 << 20];
        write.write_all(&answers).await.unwrap();
        drop(write);
        let got = tokio::task::spawn_blocking(move || client.join().unwrap())
            .await
            .unwrap()
            .expect("the client reads to the end, not into a reset");
        assert_eq!(got, answers.len());
    }

    /// A client that never stops sending cannot keep a lingering socket open: after
    /// [`super::LINGER`] the server closes it, having read and discarded (not kept) the bytes.
    #[tokio::test]
    async fn a_client_that_never_stops_sending_is_cut_off_after_the_linger() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            let started = std::time::Instant::now();
            let chunk = [9u8; 64 * 1024];
            while s.write_all(&chunk).is_ok() {
                if started.elapsed() > Duration::from_secs(30) {
                    return None;
                }
            }
            Some(started.elapsed())
        });
        let (stream, _) = listener.accept().await.unwrap();
        let (read, write) = tokio::io::split(stream);
        drop(Lingering::new(Box::new(read)));
        drop(write);
        let cut_after = tokio::task::spawn_blocking(move || client.join().unwrap())
            .await
            .unwrap()
            .expect("the server never closed the socket");
        assert!(cut_after < Duration::from_secs(10), "{cut_after:?}");
    }

    #[test]
    fn the_public_prefix_tells_sessions_apart() {
        let (a, b) = (new_session_id().unwrap(), new_session_id().unwrap());
        assert!(a.starts_with(server_instance()) && b.starts_with(server_instance()));
        assert_eq!(public_prefix(&a), &a[8..16]);
        assert_ne!(public_prefix(&a), public_prefix(&b));
        assert_eq!(public_prefix("short"), "short");
    }
}
