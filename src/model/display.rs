//! Turning field values into text for people (CLI, GUI).

use std::fmt::Write as _;

use super::{Base, Dissection, Field, Value, format_mac, hex};

/// The value of a field as text, with its value name when one is declared
/// (`6 (TCP)`); byte strings longer than `max_bytes` are shortened.
pub fn value_text(d: &Dissection, frame: &[u8], f: &Field, max_bytes: usize) -> String {
    let mut s = String::new();
    match &f.value {
        Value::None => {}
        Value::U(v) => {
            match f.def.base {
                Base::Dec => {
                    let _ = write!(s, "{v}");
                }
                Base::Hex(w) => {
                    let _ = write!(s, "0x{v:0w$x}", w = usize::from(w));
                }
            }
            if let Some(n) = f.def.value_name(*v) {
                let _ = write!(s, " ({n})");
            }
        }
        Value::I(v) => {
            let _ = write!(s, "{v}");
        }
        Value::F(v) => {
            let _ = write!(s, "{v:.9}");
        }
        Value::Bool(b) => s.push_str(if *b { "Set" } else { "Not set" }),
        Value::Mac(m) => s.push_str(&format_mac(m)),
        Value::Ipv4(a) => {
            let _ = write!(s, "{}", std::net::Ipv4Addr::from(*a));
        }
        Value::Ipv6(a) => {
            let _ = write!(s, "{}", std::net::Ipv6Addr::from(*a));
        }
        Value::Bytes => {
            let b = d.source_bytes(frame, f.span.source).get(f.span.range()).unwrap_or(&[]);
            if b.len() > max_bytes {
                let _ = write!(s, "{}… ({} bytes)", hex(&b[..max_bytes]), b.len());
            } else {
                s.push_str(&hex(b));
            }
        }
        Value::Text => {
            // Control characters written as escapes, as Wireshark does ("\r\n").
            let b = d.source_bytes(frame, f.span.source).get(f.span.range()).unwrap_or(&[]);
            let t = String::from_utf8_lossy(b);
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
        Value::Owned(i) => s.push_str(d.strings.get(*i as usize).map(String::as_str).unwrap_or("")),
        Value::Static(t) => s.push_str(t),
    }
    s
}

/// A bit mask drawn over the field's bytes, Wireshark style: `.... ..1.`.
pub fn bit_pattern(frame: &[u8], f: &Field) -> Option<String> {
    let mask = f.def.mask;
    if mask == 0 {
        return None;
    }
    let bytes = frame.get(f.span.range())?;
    let bits = bytes.len() * 8;
    let mut v = 0u64;
    for b in bytes.iter().take(8) {
        v = (v << 8) | u64::from(*b);
    }
    let mut s = String::with_capacity(bits + bits / 4);
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
    Some(s)
}
