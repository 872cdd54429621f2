//! The fixed 8-byte preamble each side sends first: `b"ODBD"`, the protocol version (u16,
//! big-endian) and flags (u16, big-endian). It never changes between versions.

use super::ProtoError;

/// The magic bytes that open every plain (or in-TLS) odbcd connection.
pub const MAGIC: [u8; 4] = *b"ODBD";
/// The preamble's length in bytes.
pub const LEN: usize = 8;
/// Server flag: this listener requires TLS; a plain client is refused after the preamble.
pub const FLAG_TLS_REQUIRED: u16 = 1;

/// The decoded preamble.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preamble {
    /// The sender's protocol version.
    pub version: u16,
    /// Flags (`FLAG_*`); unknown bits are ignored, leaving room for later features.
    pub flags: u16,
}

impl Preamble {
    /// This build's preamble with `flags`.
    pub fn current(flags: u16) -> Self {
        Self {
            version: super::PROTOCOL_VERSION,
            flags,
        }
    }

    /// The 8 bytes on the wire.
    pub fn encode(self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[..4].copy_from_slice(&MAGIC);
        b[4..6].copy_from_slice(&self.version.to_be_bytes());
        b[6..8].copy_from_slice(&self.flags.to_be_bytes());
        b
    }

    /// Decodes 8 bytes.
    ///
    /// # Errors
    /// [`ProtoError::BadMagic`] when the bytes do not start with [`MAGIC`].
    pub fn decode(b: &[u8; LEN]) -> Result<Self, ProtoError> {
        if b[..4] != MAGIC {
            return Err(ProtoError::BadMagic {
                found: [b[0], b[1], b[2], b[3]],
            });
        }
        Ok(Self {
            version: u16::from_be_bytes([b[4], b[5]]),
            flags: u16::from_be_bytes([b[6], b[7]]),
        })
    }
}

/// True when the first byte of a connection is a TLS handshake record.
pub fn looks_like_tls(first: u8) -> bool {
    first == 0x16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_magic() {
        let p = Preamble::current(FLAG_TLS_REQUIRED);
        assert_eq!(Preamble::decode(&p.encode()), Ok(p));
        assert!(matches!(
            Preamble::decode(b"GET / HT"),
            Err(ProtoError::BadMagic { .. })
        ));
        assert!(looks_like_tls(0x16) && !looks_like_tls(b'O'));
    }
}
