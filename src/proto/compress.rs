//! Per-frame snappy compression.
//!
//! Snappy has no compression levels, so the manual's `compression_ratio` (1..=9) sets the
//! smallest payload worth compressing instead: 1 compresses only payloads of 4096 bytes and
//! more (least CPU), 9 compresses payloads from 32 bytes (most compression). The default, 2,
//! compresses from 2048 bytes. A compressed payload is sent only when it is smaller than the
//! original; otherwise the frame goes out uncompressed, flagged as such.

use super::ProtoError;

/// The smallest payload compressed at each `compression_ratio` (index 0 is ratio 1).
pub const THRESHOLDS: [usize; 9] = [4096, 2048, 1024, 512, 256, 128, 96, 64, 32];

/// How a sender compresses its frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compression {
    /// Payloads shorter than this are never compressed; `usize::MAX` disables compression.
    pub threshold: usize,
}

impl Compression {
    /// No compression.
    pub const OFF: Self = Self {
        threshold: usize::MAX,
    };

    /// From the manual's `enable_compression` and `compression_ratio` (clamped to 1..=9).
    pub fn new(enabled: bool, ratio: u8) -> Self {
        if !enabled {
            return Self::OFF;
        }
        let i = usize::from(ratio.clamp(1, 9)) - 1;
        Self {
            threshold: THRESHOLDS[i],
        }
    }

    /// The compressed form of `payload`, when compression applies and pays off.
    pub fn compress(&self, payload: &[u8]) -> Option<Vec<u8>> {
        if payload.len() < self.threshold {
            return None;
        }
        let out = snap::raw::Encoder::new().compress_vec(payload).ok()?;
        (out.len() < payload.len()).then_some(out)
    }
}

/// Decompresses a payload, refusing (before allocating) output larger than `max`.
///
/// # Errors
/// [`ProtoError::Decompress`] for corrupt data or an oversized result.
pub fn decompress(data: &[u8], max: usize) -> Result<Vec<u8>, ProtoError> {
    let len = snap::raw::decompress_len(data).map_err(|e| ProtoError::Decompress {
        reason: e.to_string(),
    })?;
    if len > max {
        return Err(ProtoError::Decompress {
            reason: format!("decompresses to {len} bytes, more than the maximum of {max}"),
        });
    }
    snap::raw::Decoder::new()
        .decompress_vec(data)
        .map_err(|e| ProtoError::Decompress {
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_follow_the_ratio() {
        assert_eq!(Compression::new(true, 2).threshold, 2048);
        assert_eq!(Compression::new(true, 9).threshold, 32);
        assert_eq!(Compression::new(false, 9), Compression::OFF);
        let small = vec![b'a'; 100];
        assert!(Compression::new(true, 2).compress(&small).is_none());
        assert!(Compression::new(true, 9).compress(&small).is_some());
    }

    #[test]
    fn incompressible_payloads_stay_raw() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u8> = (0..5000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        assert!(Compression::new(true, 9).compress(&noise).is_none());
    }

    #[test]
    fn decompress_checks_size_before_allocating() {
        let big = snap::raw::Encoder::new()
            .compress_vec(&vec![0u8; 10_000])
            .unwrap();
        assert!(decompress(&big, 10_000).is_ok());
        assert!(matches!(
            decompress(&big, 9_999),
            Err(ProtoError::Decompress { .. })
        ));
        assert!(decompress(&[0xff, 0xff, 0xff, 0xff, 0x0f], 1 << 20).is_err());
    }
}
