//! Reading a server's frames from a socket with a link's timeouts, and the errors a socket
//! gives, as the client reports them. Shared by the handshake and the link.

use std::io::Read;
use std::time::{Duration, Instant};

use super::transport::ReadSide;
use crate::error::{DbError, ErrorClass};
use crate::proto::compress::Compression;
use crate::proto::frame::{self, HEADER_LEN};
use crate::proto::message::ServerFrame;
use crate::proto::MAX_FRAME_LEN;

/// Timeouts and sizes for one link.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkOptions {
    pub(crate) compression: Compression,
    pub(crate) max_chunk: usize,
    pub(crate) socket_timeout: Option<Duration>,
    pub(crate) receive_timeout: Duration,
    pub(crate) send_timeout: Duration,
    /// `[Communication] max_resume_attempts`.
    pub(crate) max_resumes: u32,
}

/// The most memory one answer may decode to on the client (rows count 32 bytes a value plus
/// their contents, see [`crate::proto::budget`]); a server whose answer would take more is
/// answered with a `ProtocolError` instead of gigabytes.
pub const MAX_DECODED_ANSWER: usize = 256 * 1024 * 1024;

/// Reads one frame: the first byte may take `socket_timeout`; the rest of the frame, however
/// it trickles in, must arrive within `receive_timeout` of it.
pub(crate) fn read_frame(
    sock: &mut ReadSide,
    opts: &LinkOptions,
    peer: &str,
) -> Result<(ServerFrame, usize), DbError> {
    let mut head = [0u8; HEADER_LEN];
    if super::interrupt::armed() {
        read_first_byte_interruptibly(sock, &mut head[..1], opts.socket_timeout, peer)?;
    } else {
        sock.set_read_timeout(opts.socket_timeout);
        read_exact(sock, &mut head[..1], peer)?;
    }
    let deadline = Instant::now() + opts.receive_timeout;
    read_by(sock, &mut head[1..], deadline, peer)?;
    let header = frame::parse_header(&head, MAX_FRAME_LEN).map_err(|e| protocol(peer, &e))?;
    let mut payload = vec![0u8; header.payload_len];
    for chunk in payload.chunks_mut(opts.max_chunk) {
        read_by(sock, chunk, deadline, peer)?;
    }
    let plain =
        frame::plain_payload(&header, &payload, MAX_FRAME_LEN).map_err(|e| protocol(peer, &e))?;
    let (decoded, exceeded) = crate::proto::budget::with_budget(MAX_DECODED_ANSWER, || {
        frame::decode_plain::<ServerFrame>(&plain)
    });
    match decoded {
        Ok(f) => Ok((f, header.frame_len())),
        Err(_) if exceeded => Err(DbError::with_state(
            ErrorClass::ProtocolError,
            "08S01",
            format!("{peer}: an answer decodes to more than {MAX_DECODED_ANSWER} bytes; refused"),
        )),
        Err(e) => Err(protocol(peer, &e)),
    }
}

/// Fills `buf` by `deadline`: bytes already buffered cost nothing; every wait on the socket gets
/// only the time that is left.
fn read_by(
    sock: &mut ReadSide,
    buf: &mut [u8],
    deadline: Instant,
    peer: &str,
) -> Result<(), DbError> {
    let mut filled = 0;
    while filled < buf.len() {
        if sock.buffered() == 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(DbError::with_state(
                    ErrorClass::TimeoutError,
                    "HYT00",
                    format!("{peer}: a frame did not arrive completely within receive_timeout"),
                ));
            }
            // Rounded up to 100 ms, so that the socket's timeout (a system call to change) is
            // not set again for every frame: the bound is late by at most that.
            let tenths = left
                .as_millis()
                .div_ceil(100)
                .clamp(1, u128::from(u64::MAX / 100));
            sock.set_read_timeout(Some(Duration::from_millis(tenths as u64 * 100)));
        }
        match sock.read(&mut buf[filled..]) {
            Ok(0) => {
                return Err(io_error(
                    "receiving from",
                    peer,
                    &std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
                ))
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error("receiving from", peer, &e)),
        }
    }
    Ok(())
}

/// Waits for a frame's first byte up to `socket_timeout` (forever without one), but at most
/// one slice: when the slice passes without a byte, returns the error of
/// [`super::interrupt::error`] with [`super::interrupt::note_slice_elapsed`], before any byte
/// of the frame is consumed, so that the caller can consult the interrupt check without
/// holding the link's locks and read again.
fn read_first_byte_interruptibly(
    sock: &mut ReadSide,
    byte: &mut [u8],
    socket_timeout: Option<Duration>,
    peer: &str,
) -> Result<(), DbError> {
    let deadline = socket_timeout.map(|t| Instant::now() + t);
    loop {
        let slice = match deadline {
            Some(d) => d
                .saturating_duration_since(Instant::now())
                .min(super::interrupt::SLICE),
            None => super::interrupt::SLICE,
        };
        if slice.is_zero() {
            return Err(io_error(
                "receiving from",
                peer,
                &std::io::Error::from(std::io::ErrorKind::TimedOut),
            ));
        }
        if sock.buffered() == 0 {
            sock.set_read_timeout(Some(slice));
        }
        match sock.read(byte) {
            Ok(0) => {
                return Err(io_error(
                    "receiving from",
                    peer,
                    &std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
                ))
            }
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                ) =>
            {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    continue;
                }
                super::interrupt::note_slice_elapsed();
                return Err(super::interrupt::error(peer));
            }
            Err(e) => return Err(io_error("receiving from", peer, &e)),
        }
    }
}

fn read_exact(sock: &mut ReadSide, buf: &mut [u8], peer: &str) -> Result<(), DbError> {
    sock.read_exact(buf)
        .map_err(|e| io_error("receiving from", peer, &e))
}

pub(crate) fn protocol(peer: &str, e: &crate::proto::ProtoError) -> DbError {
    DbError::with_state(ErrorClass::ProtocolError, "08S01", format!("{peer}: {e}"))
}

/// Maps a socket error: timeouts to `TimeoutError`, the rest to `ConnectionFailureError`.
pub(crate) fn io_error(doing: &str, peer: &str, e: &std::io::Error) -> DbError {
    use std::io::ErrorKind::*;
    match e.kind() {
        TimedOut | WouldBlock => DbError::with_state(
            ErrorClass::TimeoutError,
            "HYT00",
            format!("timed out {doing} server {peer}"),
        ),
        UnexpectedEof => DbError::with_state(
            ErrorClass::ConnectionFailureError,
            "08S01",
            format!("server {peer} closed the connection"),
        ),
        _ => DbError::with_state(
            ErrorClass::ConnectionFailureError,
            "08S01",
            format!("connection to server {peer} failed ({doing} it): {e}"),
        ),
    }
}
