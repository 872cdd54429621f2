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
pub struct FrameDecoder<In> {
    max_frame: usize,
    partial: PartialSince,
    budget: Option<usize>,
    meter: Option<Meter>,
    _types: PhantomData<fn() -> In>,
}

/// A decoded frame, or one that was skipped because it decodes to more than the budget.
#[derive(Debug)]
pub enum Decoded<In> {
    /// The frame.
    Frame(In),
    /// A frame over the budget (see [`super::budget`]): only its first two fields, which for
    /// a client frame are its request id and acknowledgement. The stream goes on after it.
    OverBudget {
        /// The request id.
        id: u32,
        /// The acknowledgement it carried.
        ack: u64,
    },
}

impl<In> std::fmt::Debug for FrameDecoder<In> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameDecoder")
            .field("max_frame", &self.max_frame)
            .field("budget", &self.budget)
            .field("metered", &self.meter.is_some())
            .finish_non_exhaustive()
    }
}

/// Told the sizes of each frame decoded: (bytes with the payload uncompressed, bytes read).
pub type Meter = std::sync::Arc<dyn Fn(usize, usize) + Send + Sync>;

impl<In> FrameDecoder<In> {
    /// A decoder accepting frames up to `max_frame` bytes, recording partial frames in
    /// `partial`.
    pub fn new(max_frame: usize, partial: PartialSince) -> Self {
        Self {
            max_frame,
            partial,
            budget: None,
            meter: None,
            _types: PhantomData,
        }
    }

    /// Decodes each frame within a budget of `bytes` (see [`super::budget`]).
    #[must_use]
    pub fn with_budget(mut self, bytes: usize) -> Self {
        self.budget = Some(bytes);
        self
    }

    /// Tells `meter` the sizes of every frame decoded.
    #[must_use]
    pub fn with_meter(mut self, meter: Meter) -> Self {
        self.meter = Some(meter);
        self
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
    type Item = Decoded<In>;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Decoded<In>>, CodecError> {
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
        let payload = &src[HEADER_LEN..header.frame_len()];
        let decoded = match self.budget {
            None => Decoded::Frame(frame::decode_payload(&header, payload, self.max_frame)?),
            Some(limit) => {
                let plain = frame::plain_payload(&header, payload, self.max_frame)?;
                let (r, exceeded) =
                    super::budget::with_budget(limit, || frame::decode_plain::<In>(&plain));
                match r {
                    Ok(msg) => Decoded::Frame(msg),
                    Err(_) if exceeded => {
                        let (id, ack) = postcard::take_from_bytes::<(u32, u64)>(&plain)
                            .map(|(prefix, _)| prefix)
                            .map_err(|e| ProtoError::Decode {
                                reason: e.to_string(),
                            })?;
                        Decoded::OverBudget { id, ack }
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        if let Some(meter) = &self.meter {
            meter(
                frame::sizes(&src[..header.frame_len()]).0,
                header.frame_len(),
            );
        }
        src.advance(header.frame_len());
        self.set_partial(!src.is_empty());
        Ok(Some(decoded))
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
