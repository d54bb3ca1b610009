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

    /// A number of any kind as a float (times are seconds).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::F(x) => Some(*x),
            Value::I(v) => Some(*v as f64),
            v => v.as_u64().map(|x| x as f64),
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
/// `-V` tree and the window write many).
pub fn push_num(s: &mut String, v: impl itoa::Integer) {
    s.push_str(itoa::Buffer::new().format(v));
}

/// Where text is written piece by piece: a `String`, or the bytes of an
/// output buffer, into which numbers are written in place ([`push_digits`]).
pub trait Text {
    fn push_text(&mut self, s: &str);
    fn push_u64(&mut self, n: u64);
    /// Writes a TCP segment's info line.
    fn push_tcp(&mut self, line: &super::TcpLine)
    where
        Self: Sized,
    {
        line.write(self);
    }
}

impl Text for String {
    fn push_text(&mut self, s: &str) {
        self.push_str(s);
    }
    fn push_u64(&mut self, n: u64) {
        push_num(self, n);
    }
}

impl Text for Vec<u8> {
    fn push_text(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }
    fn push_u64(&mut self, n: u64) {
        push_digits(self, n);
    }
    /// Through a [`Cursor`] on room for the usual line (most summary
    /// lines' info); a longer one is written again piece by piece.
    fn push_tcp(&mut self, line: &super::TcpLine) {
        if !push_within(self, 256, |c| line.write(c)) {
            line.write(self);
        }
    }
}

/// Text written into room reserved beforehand: no capacity to check and no
/// length to store at each piece. Text that does not fit is not written,
/// and the cursor says so.
pub struct Cursor<'a> {
    room: &'a mut [u8],
    at: usize,
    overflow: bool,
}

impl Text for Cursor<'_> {
    fn push_text(&mut self, s: &str) {
        match self.room.get_mut(self.at..self.at + s.len()) {
            Some(d) => {
                d.copy_from_slice(s.as_bytes());
                self.at += s.len();
            }
            None => self.overflow = true,
        }
    }
    fn push_u64(&mut self, n: u64) {
        let len = decimal_len(n);
        match self.room.get_mut(self.at..self.at + len) {
            Some(d) => {
                fill_digits(d, n);
                self.at += len;
            }
            None => self.overflow = true,
        }
    }
}

/// Appends what `write` writes to `out` through a [`Cursor`] on `room`
/// bytes; `false`, and nothing appended, when it wrote more.
pub fn push_within(out: &mut Vec<u8>, room: usize, write: impl FnOnce(&mut Cursor<'_>)) -> bool {
    let start = out.len();
    out.resize(start + room, 0);
    let mut c = Cursor { room: out.get_mut(start..).unwrap_or_default(), at: 0, overflow: false };
    write(&mut c);
    let (len, fits) = (c.at, !c.overflow);
    out.truncate(if fits { start + len } else { start });
    fits
}

/// How many decimal digits `n` has.
pub fn decimal_len(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |l| l as usize + 1)
}

/// Appends the decimal digits of `n` to `out`, written in place: a store of
/// twenty zeros of fixed size, cut back to the number's length and filled
/// from the right. (Copying each number's digits from a buffer of their own
/// cost a call to `memcpy` per number, most of a summary line's time.)
pub fn push_digits(out: &mut Vec<u8>, n: u64) {
    let at = out.len();
    out.extend_from_slice(&[b'0'; 20]);
    out.truncate(at + decimal_len(n));
    fill_digits(out.get_mut(at..).unwrap_or_default(), n);
}

/// Writes the low digits of `n` right-aligned into `d`, two at a time; the
/// bytes to their left are left as they are.
pub fn fill_digits(d: &mut [u8], mut n: u64) {
    let mut i = d.len();
    while n >= 100 && i >= 2 {
        let r = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        d[i..i + 2].copy_from_slice(&PAIRS[r..r + 2]);
    }
    if n >= 10 && i >= 2 {
        let r = n as usize * 2;
        d[i - 2..i].copy_from_slice(&PAIRS[r..r + 2]);
    } else if i >= 1 {
        d[i - 1] = b'0' + (n % 10) as u8;
    }
}

const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

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
    fn digits_written_in_place_read_as_the_formatter_writes_them() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut values = vec![0, 1, 9, 10, 99, 100, 101, 999, 1000, u64::MAX, u64::MAX / 10];
        for p in 0..20 {
            values.extend([10u64.pow(p) - 1, 10u64.pow(p), 10u64.pow(p) + 1]);
        }
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.extend([x, x >> (x % 64)]);
        }
        for v in values {
            let mut out = b"x".to_vec();
            push_digits(&mut out, v);
            assert_eq!(out, format!("x{v}").into_bytes());
            let mut out = b"x".to_vec();
            assert!(push_within(&mut out, 21, |c| c.push_u64(v)));
            assert_eq!(out, format!("x{v}").into_bytes());
            let mut six = *b"000000";
            fill_digits(&mut six, v % 1_000_000);
            assert_eq!(six, *format!("{:06}", v % 1_000_000).as_bytes());
            let mut out = b"x".to_vec();
            let fits = push_within(&mut out, 12, |c| {
                c.push_text("n=");
                c.push_u64(v);
            });
            assert_eq!(fits, decimal_len(v) <= 10);
            assert_eq!(out, if fits { format!("xn={v}").into_bytes() } else { b"x".to_vec() });
        }
    }

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
