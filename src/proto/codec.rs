//! The thin `tokio_util` adapter over [`super::frame`], used by the server's session actors:
//! a decoder of client frames that can report a stalled partial frame, and a pass-through
//! encoder for frames the session encoded itself (it keeps them for replay on resume).

use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use serde::de::DeserializeOwned;
use tokio_util::codec::{Decoder, Encoder};

use super::frame::{self, HEADER_LEN};
use super::ProtoError;

/// Since when a frame has been partly received, shared with whoever enforces
/// `receive_timeout`. `None` between frames.
pub type PartialSince = Arc<Mutex<Option<Instant>>>;

/// Decodes frames of `In`.
#[derive(Debug)]
pub struct FrameDecoder<In> {
    max_frame: usize,
    partial: PartialSince,
    _types: PhantomData<fn() -> In>,
}

impl<In> FrameDecoder<In> {
    /// A decoder accepting frames up to `max_frame` bytes, recording partial frames in
    /// `partial`.
    pub fn new(max_frame: usize, partial: PartialSince) -> Self {
        Self {
            max_frame,
            partial,
            _types: PhantomData,
        }
    }

    fn set_partial(&self, partial: bool) {
        let mut p = self.partial.lock().unwrap_or_else(PoisonError::into_inner);
        match (partial, p.is_some()) {
            (true, false) => *p = Some(Instant::now()),
            (false, true) => *p = None,
            _ => {}
        }
    }
}

/// Errors of the adapter: the socket's or the protocol's.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The bytes were not a valid frame.
    #[error(transparent)]
    Proto(#[from] ProtoError),
}

impl<In: DeserializeOwned> Decoder for FrameDecoder<In> {
    type Item = In;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<In>, CodecError> {
        let Some(head) = src.first_chunk::<HEADER_LEN>() else {
            self.set_partial(!src.is_empty());
            return Ok(None);
        };
        let header = frame::parse_header(head, self.max_frame)?;
        if src.len() < header.frame_len() {
            // Reserve what the frame still needs (bounded by max_frame above).
            src.reserve(header.frame_len() - src.len());
            self.set_partial(true);
            return Ok(None);
        }
        let msg = frame::decode_payload(
            &header,
            &src[HEADER_LEN..header.frame_len()],
            self.max_frame,
        )?;
        src.advance(header.frame_len());
        self.set_partial(!src.is_empty());
        Ok(Some(msg))
    }
}

/// Writes already encoded frames as they are.
#[derive(Debug, Default)]
pub struct RawFrames;

impl Encoder<Bytes> for RawFrames {
    type Error = CodecError;

    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), CodecError> {
        dst.extend_from_slice(&item);
        Ok(())
    }
}
