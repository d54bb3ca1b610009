use std::fmt::Write as _;

/// The typed value of a field. `Copy`, so that clearing a dissection costs
/// nothing per field: text lives in the span's bytes or in the dissection's
/// string table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// A node that only groups children (an options list, a flags word shown
    /// through its bits) or whose meaning is its presence.
    None,
    U(u64),
    I(i64),
    F(f64),
    Bool(bool),
    Mac([u8; 6]),
    Ipv4([u8; 4]),
    Ipv6([u8; 16]),
    /// The value is the span's bytes themselves (shown as hex).
    Bytes,
    /// The span's bytes, read as UTF-8 text.
    Text,
    /// A derived string: an index into [`super::Dissection::strings`].
    Owned(u32),
    Static(&'static str),
}

impl Value {
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::U(v) => Some(*v),
            Value::I(v) => u64::try_from(*v).ok(),
            Value::Bool(b) => Some(*b as u64),
            _ => None,
        }
    }
}

pub fn format_mac(m: &[u8; 6]) -> String {
    let mut s = String::with_capacity(17);
    for (i, b) in m.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Lowercase hex of a byte string, no separators.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(bytes, &mut out);
    out
}

/// Writes the lowercase hex digits of `bytes` into `out` (twice as long);
/// a table lookup per byte, no formatting machinery (the JSON of a large
/// payload is mostly this).
pub fn hex_into(bytes: &[u8], out: &mut [u8]) {
    for (b, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0x0f)];
    }
}

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends a number to a string without the formatting machinery (the
/// summary line is built for every frame).
pub fn push_num(s: &mut String, v: impl itoa::Integer) {
    s.push_str(itoa::Buffer::new().format(v));
}

/// Appends the lowercase hex digits of `bytes` to `out`.
pub fn push_hex(bytes: &[u8], out: &mut String) {
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

/// Appends `0x` and `v` in lowercase hex, zero-padded to `width` digits:
/// `format!("0x{v:0width$x}")` without the formatting machinery.
pub fn push_hex_number(v: u64, width: usize, out: &mut String) {
    out.push_str("0x");
    let digits = (64 - v.leading_zeros() as usize).div_ceil(4).max(1);
    for _ in digits..width {
        out.push('0');
    }
    for i in (0..digits).rev() {
        out.push(char::from(DIGITS[((v >> (i * 4)) & 0xf) as usize]));
    }
}

#[cfg(test)]
mod hex_tests {
    use super::*;

    #[test]
    fn hex_numbers_read_as_the_formatter_writes_them() {
        for v in [0u64, 1, 0xf, 0x10, 0xabc, 0xffff, 0x1_0000, u64::MAX] {
            for w in [0usize, 1, 2, 4, 8, 16, 20] {
                let mut s = String::new();
                push_hex_number(v, w, &mut s);
                assert_eq!(s, format!("0x{v:0w$x}"));
            }
        }
        let mut s = String::new();
        push_hex(&[0x00, 0x7f, 0xab], &mut s);
        assert_eq!(s, hex(&[0x00, 0x7f, 0xab]));
    }
}
