//! Protocol errors: bytes that cannot be a valid frame or message.

/// Why bytes from the peer could not be decoded. Any of these ends the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtoError {
    /// The connection did not start with our magic bytes.
    #[error("not an odbcd peer: connection starts with {found:02x?}")]
    BadMagic {
        /// The first bytes received.
        found: [u8; 4],
    },
    /// The peers speak different protocol versions.
    #[error(
        "protocol version mismatch: client speaks version {client}, server speaks version {server}"
    )]
    VersionMismatch {
        /// The client's version.
        client: u16,
        /// The server's version.
        server: u16,
    },
    /// A frame announces more bytes than allowed.
    #[error("frame of {len} bytes exceeds the maximum of {max} bytes")]
    FrameTooLarge {
        /// The announced length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// A frame too short to hold its header.
    #[error("empty frame")]
    EmptyFrame,
    /// Unknown flag bits in a frame header.
    #[error("unknown frame flags {flags:#04x}")]
    BadFlags {
        /// The flags byte.
        flags: u8,
    },
    /// A compressed payload that is corrupt or decompresses to more than allowed.
    #[error("bad compressed payload: {reason}")]
    Decompress {
        /// What is wrong.
        reason: String,
    },
    /// A payload that is not a valid message.
    #[error("malformed message: {reason}")]
    Decode {
        /// What postcard reported.
        reason: String,
    },
    /// A message could not be encoded (should not happen for our own types).
    #[error("cannot encode message: {reason}")]
    Encode {
        /// What postcard reported.
        reason: String,
    },
    /// A message that is valid but not allowed at this point of the conversation.
    #[error("unexpected message: {what}")]
    Unexpected {
        /// What arrived and what was expected.
        what: String,
    },
}
