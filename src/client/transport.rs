//! The client's byte transport, plain TCP or TLS, as two halves that can be used from different
//! threads at once (the link reads on one while another sends on the other). Both halves share
//! one socket (one file descriptor per session: `&TcpStream` reads and writes, and the
//! socket's read and write timeouts are separate options).
//!
//! With TLS, one `rustls::ClientConnection` is shared by both halves behind a mutex that is
//! never held while blocking on the socket: the read half waits for ciphertext without it, then
//! locks the connection briefly to decrypt; the write half encrypts under the lock and sends
//! after releasing it (under the link's own write lock, which keeps records in order).

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::ClientConnection;

type Tls = Arc<Mutex<ClientConnection>>;

fn lock(tls: &Tls) -> MutexGuard<'_, ClientConnection> {
    tls.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The reading half. It reads ahead into a buffer, so that a frame's header and a small
/// payload cost one system call.
pub(crate) struct ReadSide {
    sock: Arc<TcpStream>,
    tls: Option<Tls>,
    /// Decrypted bytes not yet consumed (TLS).
    plain: Vec<u8>,
    pos: usize,
    /// Bytes from the socket: ciphertext (TLS), or `raw[raw_pos..raw_len]` not yet consumed.
    raw: Vec<u8>,
    raw_pos: usize,
    raw_len: usize,
    /// The read timeout set on the socket, once one was set.
    timeout: Option<Option<Duration>>,
}

/// The writing half.
pub(crate) struct WriteSide {
    sock: Arc<TcpStream>,
    tls: Option<Tls>,
    out: Vec<u8>,
}

/// Wraps a connected socket, doing the TLS handshake first when `tls` is given (bounded by the
/// socket's timeouts).
///
/// # Errors
/// Socket errors, or the TLS handshake failing (e.g. the server's certificate is not trusted).
pub(crate) fn establish(
    stream: TcpStream,
    tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
) -> io::Result<(ReadSide, WriteSide)> {
    let tls = match tls {
        None => None,
        Some((config, name)) => {
            let mut conn = ClientConnection::new(config, name).map_err(io::Error::other)?;
            let mut s = &stream;
            while conn.is_handshaking() {
                conn.complete_io(&mut s)?;
            }
            while conn.wants_write() {
                conn.write_tls(&mut s)?;
            }
            Some(Arc::new(Mutex::new(conn)))
        }
    };
    let stream = Arc::new(stream);
    let read = ReadSide {
        sock: Arc::clone(&stream),
        tls: tls.clone(),
        plain: Vec::new(),
        pos: 0,
        raw: vec![0u8; 16 * 1024],
        raw_pos: 0,
        raw_len: 0,
        timeout: None,
    };
    let write = WriteSide {
        sock: stream,
        tls,
        out: Vec::new(),
    };
    Ok((read, write))
}

impl ReadSide {
    /// Sets the socket's read timeout (a system call only when it changes).
    pub(crate) fn set_read_timeout(&mut self, t: Option<Duration>) {
        if self.timeout != Some(t) && self.sock.set_read_timeout(t).is_ok() {
            self.timeout = Some(t);
        }
    }

    /// Bytes already read from the socket and not yet consumed (so reading them cannot block).
    pub(crate) fn buffered(&self) -> usize {
        match self.tls {
            Some(_) => self.plain.len() - self.pos,
            None => self.raw_len - self.raw_pos,
        }
    }

    /// Closes the socket both ways (unblocks a reader).
    pub(crate) fn shutdown(&self) {
        let _ = self.sock.shutdown(Shutdown::Both);
    }
}

impl Read for ReadSide {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let Some(tls) = &self.tls else {
            if self.raw_pos == self.raw_len {
                if out.len() >= self.raw.len() {
                    // A large read goes straight to the caller.
                    return (&*self.sock).read(out);
                }
                self.raw_len = (&*self.sock).read(&mut self.raw)?;
                self.raw_pos = 0;
            }
            let n = out.len().min(self.raw_len - self.raw_pos);
            out[..n].copy_from_slice(&self.raw[self.raw_pos..self.raw_pos + n]);
            self.raw_pos += n;
            return Ok(n);
        };
        loop {
            if self.pos < self.plain.len() {
                let n = out.len().min(self.plain.len() - self.pos);
                out[..n].copy_from_slice(&self.plain[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            self.plain.clear();
            self.pos = 0;
            // Wait for ciphertext without holding the connection.
            let n = (&*self.sock).read(&mut self.raw)?;
            if n == 0 {
                return Ok(0);
            }
            let mut conn = lock(tls);
            let mut raw = &self.raw[..n];
            while !raw.is_empty() {
                conn.read_tls(&mut raw)?;
                let state = conn
                    .process_new_packets()
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                let available = state.plaintext_bytes_to_read();
                if available > 0 {
                    let start = self.plain.len();
                    self.plain.resize(start + available, 0);
                    conn.reader().read_exact(&mut self.plain[start..])?;
                }
                if state.peer_has_closed() && self.plain.is_empty() {
                    return Ok(0);
                }
            }
        }
    }
}

impl WriteSide {
    /// Sets the socket's write timeout.
    pub(crate) fn set_write_timeout(&self, t: Option<Duration>) {
        let _ = self.sock.set_write_timeout(t);
    }

    /// Closes the socket both ways.
    pub(crate) fn shutdown(&self) {
        let _ = self.sock.shutdown(Shutdown::Both);
    }
}

impl Write for WriteSide {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let Some(tls) = &self.tls else {
            return (&*self.sock).write(data);
        };
        self.out.clear();
        {
            let mut conn = lock(tls);
            conn.writer().write_all(data)?;
            while conn.wants_write() {
                conn.write_tls(&mut self.out)?;
            }
        }
        (&*self.sock).write_all(&self.out)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self.sock).flush()
    }
}
