//! Frames: `[u32 big-endian length][u8 flags][payload]`, where the length counts the flags
//! byte and the payload, and the payload is a postcard-encoded message, snappy-compressed when
//! the flags say so. Pure functions: `Ok(None)` means "need more bytes", `Err` means the bytes
//! are not a valid frame and the connection must end.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::compress::{decompress, Compression};
use super::ProtoError;

/// Bytes before the payload: the length and the flags.
pub const HEADER_LEN: usize = 5;
/// Flag: the payload is snappy-compressed.
pub const FLAG_COMPRESSED: u8 = 0x01;
const KNOWN_FLAGS: u8 = FLAG_COMPRESSED;

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Payload bytes that follow the header.
    pub payload_len: usize,
    /// Whether the payload is compressed.
    pub compressed: bool,
}

impl Header {
    /// The whole frame's length on the wire.
    pub fn frame_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }
}

/// Parses a frame header, checking the length against `max` before anything is allocated.
///
/// # Errors
/// [`ProtoError::FrameTooLarge`], [`ProtoError::EmptyFrame`], [`ProtoError::BadFlags`].
pub fn parse_header(b: &[u8; HEADER_LEN], max: usize) -> Result<Header, ProtoError> {
    let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    if len == 0 {
        return Err(ProtoError::EmptyFrame);
    }
    if len.saturating_add(4) > max {
        return Err(ProtoError::FrameTooLarge {
            len: len.saturating_add(4),
            max,
        });
    }
    let flags = b[4];
    if flags & !KNOWN_FLAGS != 0 {
        return Err(ProtoError::BadFlags { flags });
    }
    Ok(Header {
        payload_len: len - 1,
        compressed: flags & FLAG_COMPRESSED != 0,
    })
}

/// Appends one frame holding `msg` to `out`.
///
/// # Errors
/// [`ProtoError::Encode`] if postcard fails, [`ProtoError::FrameTooLarge`] if the message does
/// not fit in a frame of `max` bytes.
pub fn encode<M: Serialize>(
    msg: &M,
    compression: Compression,
    max: usize,
    out: &mut Vec<u8>,
) -> Result<(), ProtoError> {
    encode_with(compression, max, out, |buf| {
        *buf = postcard::to_extend(msg, std::mem::take(buf)).map_err(|e| ProtoError::Encode {
            reason: e.to_string(),
        })?;
        Ok(())
    })
}

/// The sizes of the whole frames at the start of `frames`: (their bytes with each payload
/// uncompressed, their bytes as they are). Reads only headers and snappy's length preamble;
/// stops at the first incomplete or invalid frame.
pub fn sizes(frames: &[u8]) -> (usize, usize) {
    let (mut plain, mut wire) = (0, 0);
    let mut rest = frames;
    while let Some(head) = rest.first_chunk::<HEADER_LEN>() {
        let Ok(header) = parse_header(head, usize::MAX) else {
            break;
        };
        let Some(payload) = rest.get(HEADER_LEN..header.frame_len()) else {
            break;
        };
        let payload_len = if header.compressed {
            snap::raw::decompress_len(payload).unwrap_or(payload.len())
        } else {
            payload.len()
        };
        plain += HEADER_LEN + payload_len;
        wire += header.frame_len();
        rest = &rest[header.frame_len()..];
    }
    (plain, wire)
}

/// Appends one frame to `out` whose payload `write` appends to the buffer it is given (which
/// already holds `out`'s bytes and the frame header). On error `out` is left as it was.
///
/// # Errors
/// What `write` returns, or [`ProtoError::FrameTooLarge`] if the frame is over `max` bytes.
pub fn encode_with(
    compression: Compression,
    max: usize,
    out: &mut Vec<u8>,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), ProtoError>,
) -> Result<(), ProtoError> {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_LEN]);
    if let Err(e) = write(out) {
        out.truncate(start);
        return Err(e);
    }
    let mut flags = 0;
    if let Some(c) = compression.compress(&out[start + HEADER_LEN..]) {
        out.truncate(start + HEADER_LEN);
        out.extend_from_slice(&c);
        flags |= FLAG_COMPRESSED;
    }
    let len = out.len() - start - 4;
    if len + 4 > max {
        out.truncate(start);
        return Err(ProtoError::FrameTooLarge { len: len + 4, max });
    }
    out[start..start + 4].copy_from_slice(&(len as u32).to_be_bytes());
    out[start + 4] = flags;
    Ok(())
}

/// One whole uncompressed frame, compressed as `compression` says; `None` (keep the frame)
/// when compression does not apply or pay off, or the bytes are not one uncompressed frame.
/// What a relay uses to compress a frame someone else encoded without decoding its message.
pub fn compress_frame(frame: &[u8], compression: Compression) -> Option<Vec<u8>> {
    let head = frame.first_chunk::<HEADER_LEN>()?;
    let whole =
        parse_header(head, usize::MAX).is_ok_and(|h| !h.compressed && h.frame_len() == frame.len());
    if !whole {
        return None;
    }
    let c = compression.compress(&frame[HEADER_LEN..])?;
    let mut out = Vec::with_capacity(HEADER_LEN + c.len());
    out.extend_from_slice(&((c.len() + 1) as u32).to_be_bytes());
    out.push(FLAG_COMPRESSED);
    out.extend_from_slice(&c);
    Some(out)
}

/// The payload of a frame whose header was parsed, decompressed if it was compressed.
///
/// # Errors
/// [`ProtoError::Decompress`].
pub fn plain_payload<'a>(
    header: &Header,
    payload: &'a [u8],
    max: usize,
) -> Result<std::borrow::Cow<'a, [u8]>, ProtoError> {
    if header.compressed {
        Ok(std::borrow::Cow::Owned(decompress(payload, max)?))
    } else {
        Ok(std::borrow::Cow::Borrowed(payload))
    }
}

/// Decodes an uncompressed payload.
///
/// # Errors
/// [`ProtoError::Decode`].
pub fn decode_plain<M: DeserializeOwned>(payload: &[u8]) -> Result<M, ProtoError> {
    postcard::from_bytes(payload).map_err(|e| ProtoError::Decode {
        reason: e.to_string(),
    })
}

/// Decodes the payload of a frame whose header was parsed.
///
/// # Errors
/// [`ProtoError::Decompress`] or [`ProtoError::Decode`].
pub fn decode_payload<M: DeserializeOwned>(
    header: &Header,
    payload: &[u8],
    max: usize,
) -> Result<M, ProtoError> {
    let decode = |bytes: &[u8]| {
        postcard::from_bytes(bytes).map_err(|e| ProtoError::Decode {
            reason: e.to_string(),
        })
    };
    if header.compressed {
        decode(&decompress(payload, max)?)
    } else {
        decode(payload)
    }
}

/// Decodes one frame from the start of `buf`: `Ok(None)` when more bytes are needed, else the
/// message and the number of bytes it used.
///
/// # Errors
/// Any [`ProtoError`] from the header or payload.
pub fn decode<M: DeserializeOwned>(
    buf: &[u8],
    max: usize,
) -> Result<Option<(M, usize)>, ProtoError> {
    let Some(head) = buf.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let header = parse_header(head, max)?;
    let Some(payload) = buf.get(HEADER_LEN..header.frame_len()) else {
        return Ok(None);
    };
    let msg = decode_payload(&header, payload, max)?;
    Ok(Some((msg, header.frame_len())))
}

#[cfg(test)]
mod tests {
    use super::super::message::{ClientFrame, Request, ServerFrame};
    use super::super::MAX_FRAME_LEN;
    use super::*;

    /// A frame compressed by a relay is the frame the encoder would have compressed, and
    /// anything that is not one whole uncompressed frame passes unchanged.
    #[test]
    fn a_relay_compresses_a_finished_frame_as_the_encoder_would() {
        let text = "b".repeat(10_000);
        let (mut plain, mut direct) = (Vec::new(), Vec::new());
        encode(&text, Compression::OFF, usize::MAX, &mut plain).unwrap();
        encode(&text, Compression::new(true, 2), usize::MAX, &mut direct).unwrap();
        let relayed = compress_frame(&plain, Compression::new(true, 2)).unwrap();
        assert_eq!(relayed, direct);
        let decoded: String = decode(&relayed, usize::MAX).unwrap().unwrap().0;
        assert_eq!(decoded, text);
        // Compression off, a compressed frame, a torn frame, two frames: left as they are.
        assert_eq!(compress_frame(&plain, Compression::OFF), None);
        let torn = plain[..plain.len() - 1].to_vec();
        let two = [plain.clone(), plain.clone()].concat();
        for odd in [direct, torn, two] {
            assert_eq!(compress_frame(&odd, Compression::new(true, 9)), None);
        }
    }

    #[test]
    fn sizes_count_whole_frames_before_and_after_compression() {
        let text = "a".repeat(10_000);
        let mut out = Vec::new();
        encode(&text, Compression::new(true, 9), usize::MAX, &mut out).unwrap();
        let compressed = out.len();
        encode(&7u8, Compression::OFF, usize::MAX, &mut out).unwrap();
        let (plain, wire) = sizes(&out);
        assert_eq!(wire, out.len());
        assert!(compressed < 1000, "{compressed}");
        // postcard: the string's length (2 bytes) and its bytes; the u8: one byte.
        assert_eq!(plain, HEADER_LEN + 2 + 10_000 + HEADER_LEN + 1);
        // A torn frame at the end is not counted.
        assert_eq!(sizes(&out[..out.len() - 1]).1, compressed);
    }

    #[test]
    fn round_trip_plain_and_compressed() {
        for comp in [Compression::OFF, Compression::new(true, 9)] {
            let msg = ClientFrame {
                id: 7,
                ack: 3,
                request: Request::Execute {
                    conn: 1,
                    cursor: 2,
                    sql: "select 1 ".repeat(100),
                    params: vec![],
                    max_rows: 10,
                },
            };
            let mut out = Vec::new();
            encode(&msg, comp, MAX_FRAME_LEN, &mut out).unwrap();
            let (back, used): (ClientFrame, usize) = decode(&out, MAX_FRAME_LEN).unwrap().unwrap();
            assert_eq!(back, msg);
            assert_eq!(used, out.len());
            assert_eq!(out[4] & FLAG_COMPRESSED != 0, comp != Compression::OFF);
            // Every strict prefix needs more bytes.
            for cut in 0..out.len() {
                assert_eq!(
                    decode::<ClientFrame>(&out[..cut], MAX_FRAME_LEN).unwrap(),
                    None
                );
            }
        }
    }

    #[test]
    fn oversized_length_is_refused_from_the_header_alone() {
        let head = [0xff, 0xff, 0xff, 0xff, 0];
        assert!(matches!(
            decode::<ServerFrame>(&head, MAX_FRAME_LEN),
            Err(ProtoError::FrameTooLarge { .. })
        ));
        assert_eq!(
            decode::<ServerFrame>(&[0, 0, 0, 0, 0], MAX_FRAME_LEN),
            Err(ProtoError::EmptyFrame)
        );
        assert_eq!(
            decode::<ServerFrame>(&[0, 0, 0, 1, 0x80], MAX_FRAME_LEN),
            Err(ProtoError::BadFlags { flags: 0x80 })
        );
    }

    #[test]
    fn encode_refuses_frames_over_the_maximum() {
        let msg = ClientFrame {
            id: 1,
            ack: 0,
            request: Request::DriverConnect {
                connection_string: "x".repeat(1000),
            },
        };
        let mut out = vec![1, 2, 3];
        assert!(matches!(
            encode(&msg, Compression::OFF, 100, &mut out),
            Err(ProtoError::FrameTooLarge { .. })
        ));
        assert_eq!(
            out,
            [1, 2, 3],
            "a refused frame leaves the buffer as it was"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = decode::<ClientFrame>(&bytes, MAX_FRAME_LEN);
            let _ = decode::<ServerFrame>(&bytes, MAX_FRAME_LEN);
        }

        #[test]
        fn decoding_valid_header_with_garbage_never_panics(
            flags in 0u8..2,
            payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
        ) {
            let mut buf = ((payload.len() + 1) as u32).to_be_bytes().to_vec();
            buf.push(flags);
            buf.extend_from_slice(&payload);
            let _ = decode::<ClientFrame>(&buf, MAX_FRAME_LEN);
            let _ = decode::<ServerFrame>(&buf, MAX_FRAME_LEN);
        }
    }
}
