//! The thin `tokio_util` adapter over [`super::frame`], used by the server's session actors.

use std::marker::PhantomData;

use bytes::{Buf, BytesMut};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_util::codec::{Decoder, Encoder};

use super::compress::Compression;
use super::frame::{self, HEADER_LEN};
use super::ProtoError;

/// Decodes frames of `In` and encodes frames of `Out`.
#[derive(Debug)]
pub struct FrameCodec<In, Out> {
    max_frame: usize,
    compression: Compression,
    scratch: Vec<u8>,
    _types: PhantomData<fn(Out) -> In>,
}

impl<In, Out> FrameCodec<In, Out> {
    /// A codec accepting frames up to `max_frame` bytes and compressing outgoing frames as
    /// `compression` says.
    pub fn new(max_frame: usize, compression: Compression) -> Self {
        Self {
            max_frame,
            compression,
            scratch: Vec::new(),
            _types: PhantomData,
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

impl<In: DeserializeOwned, Out> Decoder for FrameCodec<In, Out> {
    type Item = In;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<In>, CodecError> {
        let Some(head) = src.first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        let header = frame::parse_header(head, self.max_frame)?;
        if src.len() < header.frame_len() {
            // Reserve what the frame still needs (bounded by max_frame above).
            src.reserve(header.frame_len() - src.len());
            return Ok(None);
        }
        let msg = frame::decode_payload(
            &header,
            &src[HEADER_LEN..header.frame_len()],
            self.max_frame,
        )?;
        src.advance(header.frame_len());
        Ok(Some(msg))
    }
}

impl<In, Out: Serialize> Encoder<Out> for FrameCodec<In, Out> {
    type Error = CodecError;

    fn encode(&mut self, item: Out, dst: &mut BytesMut) -> Result<(), CodecError> {
        self.scratch.clear();
        frame::encode(&item, self.compression, self.max_frame, &mut self.scratch)?;
        dst.extend_from_slice(&self.scratch);
        Ok(())
    }
}
