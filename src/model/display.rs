//! Turning field values into text for people (CLI, GUI).

use std::fmt::Write as _;

use super::{Base, FieldRef, Value, format_mac, hex};

/// The value of a field as text, with its value name when one is declared
/// (`6 (TCP)`); byte strings longer than `max_bytes` are shortened.
/// (Called as [`FieldRef::text`].)
pub(super) fn value_text(r: &FieldRef<'_>, max_bytes: usize) -> String {
    let mut s = String::new();
    value_text_into(r, max_bytes, &mut s);
    s
}

/// [`value_text`], appended to `s` (`-V` writes a million of them).
pub(super) fn value_text_into(r: &FieldRef<'_>, max_bytes: usize, s: &mut String) {
    let (d, f) = (r.d, r.field());
    match &f.value {
        Value::None => {}
        Value::U(v) => {
            match f.def.base {
                Base::Dec => super::push_num(s, *v),
                Base::Hex(w) => super::value::push_hex_number(*v, usize::from(w), s),
            }
            if let Some(n) = f.def.value_name(*v) {
                let _ = write!(s, " ({n})");
            }
        }
        Value::I(v) => super::push_num(s, *v),
        // A number as written (2.5, inf); a time to the nanosecond.
        Value::F(v) if f.def.ty == super::FieldType::Double => {
            let _ = write!(s, "{v}");
        }
        Value::F(v) => {
            let _ = write!(s, "{v:.9}");
        }
        // A flag bit is set or not; a line that marks a message (an HTTP
        // request line) is shown as its text; a derived truth as true or false.
        Value::Bool(b) if f.def.mask != 0 => s.push_str(if *b { "Set" } else { "Not set" }),
        Value::Bool(_)
            if f.def.proto.name == "http"
                && f.span.len > 1
                && std::str::from_utf8(r.bytes()).is_ok_and(|t| !t.contains('\0')) =>
        {
            text_into(r.bytes(), max_bytes, s)
        }
        Value::Bool(b) => s.push_str(if *b { "True" } else { "False" }),
        Value::Mac(m) => s.push_str(&format_mac(m)),
        Value::Ipv4(a) => {
            let _ = write!(s, "{}", std::net::Ipv4Addr::from(*a));
        }
        Value::Ipv6(a) => {
            let _ = write!(s, "{}", std::net::Ipv6Addr::from(*a));
        }
        Value::Bytes => {
            let b = r.bytes();
            if b.len() > max_bytes {
                let _ = write!(s, "{}… ({} bytes)", hex(&b[..max_bytes]), b.len());
            } else {
                s.push_str(&hex(b));
            }
        }
        Value::Text => text_into(r.bytes(), max_bytes, s),
        Value::Owned(i) => s.push_str(d.strings.get(*i as usize).map(String::as_str).unwrap_or("")),
        Value::Static(t) => s.push_str(t),
    }
}

/// Text bytes, control characters written as escapes, as Wireshark does
/// ("\r\n"). At most `max_bytes * 8` characters are shown, and a character
/// takes at most 4 bytes: no more than that is decoded (a 70 KB text
/// payload shown as 32 characters need not be decoded whole).
fn text_into(raw: &[u8], max_bytes: usize, s: &mut String) {
    let t = String::from_utf8_lossy(&raw[..raw.len().min(max_bytes.saturating_mul(32).max(64))]);
    let cut = t.len() > max_bytes.saturating_mul(8);
    for c in t.chars().take(if cut { max_bytes * 8 } else { usize::MAX }) {
        match c {
            '\r' => s.push_str("\\r"),
            '\n' => s.push_str("\\n"),
            '\t' => s.push_str("\\t"),
            c => s.push(c),
        }
    }
    if cut {
        s.push('…');
    }
}

/// A bit mask drawn over a field's bytes, Wireshark style: `.... ..1.`.
/// (Called as [`FieldRef::bits`].)
pub(super) fn bit_pattern(mask: u64, bytes: &[u8]) -> Option<String> {
    let mut s = String::new();
    bit_pattern_into(mask, bytes, &mut s).then_some(s)
}

/// [`bit_pattern`], appended to `s`; false (nothing written) when the
/// field has no mask.
pub(super) fn bit_pattern_into(mask: u64, bytes: &[u8], s: &mut String) -> bool {
    if mask == 0 || bytes.is_empty() {
        return false;
    }
    let bits = bytes.len() * 8;
    let mut v = 0u64;
    for b in bytes.iter().take(8) {
        v = (v << 8) | u64::from(*b);
    }
    s.reserve(bits + bits / 4);
    for i in (0..bits).rev() {
        let bit = 1u64 << i;
        s.push(if mask & bit == 0 {
            '.'
        } else if v & bit != 0 {
            '1'
        } else {
            '0'
        });
        if i % 4 == 0 && i != 0 {
            s.push(' ');
        }
    }
    true
}
