//! Lower-case hexadecimal, the one encoder every module uses (digests, session ids, keys).

use std::fmt::Write as _;

/// Lower-case hex of `bytes` (`[0x0a, 0xff]` → `"0aff"`).
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn lower_case_two_digits_per_byte() {
        assert_eq!(super::hex(&[0x0a, 0xff, 0]), "0aff00");
        assert_eq!(super::hex(&[]), "");
    }
}
