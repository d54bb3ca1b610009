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
    let mut out = vec![0u8; bytes.len() * 2];
    hex_into(bytes, &mut out);
    // Only ASCII hex digits were written.
    String::from_utf8(out).unwrap_or_default()
}

/// Writes the lowercase hex digits of `bytes` into `out` (twice as long);
/// a table lookup per byte, no formatting machinery (the JSON of a large
/// payload is mostly this).
pub fn hex_into(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (b, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0x0f)];
    }
}
