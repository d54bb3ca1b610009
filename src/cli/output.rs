//! Text and JSON renderings of dissected frames.

use std::fmt::Write as _;

use serde_json::{Map, Value as Json, json};

use crate::dissect::linktype::linktype_name;
use crate::model::{
    Addr, Dissection, FRAME_SOURCE, FieldRef, OSI_NAMES, Summary, Value, decimal_len, fill_digits, hex, push_digits,
    push_num,
};

/// One tshark-like summary line:
/// `{number:>6} {time:>11.6} {src:>15} → {dst:<15} {protocol:<8} {len:>5} {info}`,
/// written piece by piece into the output's bytes (a million lines are
/// written in well under a second; the formatting machinery is kept for
/// rare times and addresses).
pub fn summary_line(d: &Dissection, out: &mut Vec<u8>) {
    summary_line_of(d.meta.number, relative_time(d), d.meta.len, &d.summary, out);
}

/// Seconds since the capture's first frame (the frame layer's field, there
/// with or without the tree).
pub fn relative_time(d: &Dissection) -> f64 {
    // By the field's definition, not its name: a hot path (a million lines).
    d.fields
        .iter()
        .find(|f| std::ptr::eq(f.def, &crate::dissect::frame::TIME_RELATIVE))
        .and_then(|f| if let Value::F(t) = f.value { Some(t) } else { None })
        .unwrap_or(0.0)
}

/// [`summary_line`] from its parts: frame `number` of `len` bytes, `time`
/// seconds after the first.
pub fn summary_line_of(number: u64, time: f64, len: u32, summary: &Summary, out: &mut Vec<u8>) {
    if !fixed_columns(number, time, len, summary, out) {
        columns(number, time, len, summary, out);
    }
    summary.push_info(out);
}

/// The columns before the info, each padded to its width.
fn columns(number: u64, time: f64, len: u32, summary: &Summary, out: &mut Vec<u8>) {
    number_column(out, number, 6);
    out.push(b' ');
    seconds_column(out, time);
    out.push(b' ');
    addr_column(out, &summary.src, Align::Right);
    out.extend_from_slice(" \u{2192} ".as_bytes());
    addr_column(out, &summary.dst, Align::Left);
    out.push(b' ');
    column(out, 8, Align::Left, |o| o.extend_from_slice(summary.protocol.as_bytes()));
    out.push(b' ');
    number_column(out, len.into(), 5);
    out.push(b' ');
}

/// Bytes of the columns after the frame number when each fits its width.
const FIXED: usize = 63;

/// [`columns`] for nearly every line, where each column after the frame
/// number fits its width (an IPv4 address each way, up to 9,999 seconds, a
/// protocol of eight letters at most): the number, then a template of
/// spaces of fixed size appended to `out`, each value written in its place.
/// `false` (and nothing written) for any other line.
fn fixed_columns(number: u64, time: f64, len: u32, s: &Summary, out: &mut Vec<u8>) -> bool {
    let (Addr::Ipv4(src), Addr::Ipv4(dst), Some(us)) = (s.src, s.dst, whole_micros(time)) else { return false };
    let len = u64::from(len);
    // The protocol's bytes are its characters (every name is ASCII).
    if us / 1_000_000 > 9_999 || len > 99_999 || s.protocol.len() > 8 || !s.protocol.is_ascii() {
        return false;
    }
    number_column(out, number, 6);
    out.push(b' ');
    let at = out.len();
    out.extend_from_slice(&[b' '; FIXED]);
    // FIXED bytes were just appended: the conversion cannot fail.
    let Ok(b) = <&mut [u8; FIXED]>::try_from(&mut out[at..]) else { return true };
    put_seconds(&mut b[..11], us);
    put_ipv4(b, 27 - ipv4_len(src), src);
    b[28..31].copy_from_slice("\u{2192}".as_bytes());
    put_ipv4(b, 32, dst);
    b[48..48 + s.protocol.len()].copy_from_slice(s.protocol.as_bytes());
    fill_digits(&mut b[57..62], len);
    true
}

/// The length of an IPv4 address's text.
fn ipv4_len(a: [u8; 4]) -> usize {
    3 + a.iter().map(|&o| usize::from(OCTETS[usize::from(o)].1)).sum::<usize>()
}

/// Writes an IPv4 address's text into `b` at `at`, digits from a table
/// (stores of fixed size, none read back soon after).
fn put_ipv4(b: &mut [u8], mut at: usize, a: [u8; 4]) {
    for (i, octet) in a.into_iter().enumerate() {
        if i > 0 {
            b[at] = b'.';
            at += 1;
        }
        let ([d0, d1, d2], n) = OCTETS[usize::from(octet)];
        match n {
            1 => b[at] = d0,
            2 => b[at..at + 2].copy_from_slice(&[d0, d1]),
            _ => b[at..at + 3].copy_from_slice(&[d0, d1, d2]),
        }
        at += usize::from(n);
    }
}

/// Each octet's digits (the first `.1` of three bytes) and how many there
/// are: a table instead of a division per digit.
const OCTETS: [([u8; 3], u8); 256] = {
    let mut table = [([b'.'; 3], 0); 256];
    let mut v = 0;
    while v < 256 {
        let (h, t, u) = ((v / 100) as u8, (v / 10 % 10) as u8, (v % 10) as u8);
        table[v] = match v {
            0..=9 => ([b'0' + u, b'.', b'.'], 1),
            10..=99 => ([b'0' + t, b'0' + u, b'.'], 2),
            _ => ([b'0' + h, b'0' + t, b'0' + u], 3),
        };
        v += 1;
    }
    table
};

/// `t` in whole microseconds, when `{t:.6}` writes just that: `t` is
/// clearly on one side of a half microsecond (`t * 1e6` is off by far less
/// than 0.01 below 10^13 µs).
fn whole_micros(t: f64) -> Option<u64> {
    let us = t * 1e6;
    if !(t.is_sign_positive() && us < 1e13) {
        return None;
    }
    // Rounded by hand: `floor` and `round` are calls into libm here.
    let whole = us as u64;
    let frac = us - whole as f64;
    ((frac - 0.5).abs() > 0.01).then_some(whole + u64::from(frac > 0.5))
}

/// `{n:>width}`.
fn number_column(out: &mut Vec<u8>, n: u64, width: usize) {
    spaces(out, width.saturating_sub(decimal_len(n)));
    push_digits(out, n);
}

/// Writes `us` microseconds as seconds, `S.ffffff`, right-aligned into `b`
/// (at least 7 bytes; those left of the seconds' digits stay as they are).
fn put_seconds(b: &mut [u8], us: u64) {
    let n = b.len();
    b[n - 6..].copy_from_slice(b"000000");
    fill_digits(&mut b[n - 6..], us % 1_000_000);
    b[n - 7] = b'.';
    fill_digits(&mut b[..n - 7], us / 1_000_000);
}

/// `{t:>11.6}`: seconds to the microsecond. Integer digits when they are
/// what `{t:.6}` writes ([`whole_micros`]), the formatting machinery
/// otherwise: the same text either way, without the float formatting for
/// nearly every frame.
fn seconds_column(out: &mut Vec<u8>, t: f64) {
    if let Some(us) = whole_micros(t) {
        let width = (decimal_len(us / 1_000_000) + 7).max(11);
        let at = out.len();
        out.resize(at + width, b' ');
        put_seconds(&mut out[at..], us);
    } else {
        column(out, 11, Align::Right, |o| {
            let _ = std::io::Write::write_fmt(o, format_args!("{t:.6}"));
        });
    }
}

/// `{a:>15}` or `{a:<15}`; an IPv4 address written as in the template.
fn addr_column(out: &mut Vec<u8>, a: &Addr, align: Align) {
    column(out, 15, align, |o| match *a {
        Addr::Ipv4(b) => {
            let at = o.len();
            o.resize(at + ipv4_len(b), 0);
            put_ipv4(o, at, b);
        }
        _ => {
            let _ = std::io::Write::write_fmt(o, format_args!("{a}"));
        }
    });
}

enum Align {
    Left,
    Right,
}

/// A column: what `write` writes, padded with spaces to `width` characters
/// (`{:<width}` or `{:>width}`).
fn column(out: &mut Vec<u8>, width: usize, align: Align, write: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    write(out);
    // Characters: bytes that do not continue a UTF-8 sequence.
    let chars = out.get(at..).unwrap_or_default().iter().filter(|&&b| (b as i8) >= -0x40).count();
    let pad = width.saturating_sub(chars);
    match align {
        Align::Left => spaces(out, pad),
        Align::Right => {
            out.splice(at..at, std::iter::repeat_n(b' ', pad));
        }
    }
}

/// Appends `n` spaces (at most 16): a store of fixed size, cut back.
fn spaces(out: &mut Vec<u8>, n: usize) {
    let at = out.len();
    out.extend_from_slice(&[b' '; 16]);
    out.truncate(at + n.min(16));
}

/// The whole tree, grouped by OSI layer, each field with its bytes.
pub fn verbose(d: &Dissection, frame: &[u8], out: &mut String) {
    let _ = writeln!(
        out,
        "Frame {}: {} bytes on wire, {} bytes captured, link type {}",
        d.meta.number,
        d.meta.len,
        d.meta.caplen,
        linktype_name(d.meta.linktype)
    );
    for osi in 1..=7u8 {
        let mut layers = d.layers.iter().filter(|l| l.proto.osi == osi).peekable();
        let name = OSI_NAMES[usize::from(osi - 1)];
        if layers.peek().is_none() {
            let why = match osi {
                5 | 6 => {
                    "nothing in this frame: TCP/IP has no separate session or presentation header; applications do this work themselves"
                }
                7 => "no application data in this frame",
                _ => "nothing in this frame",
            };
            let _ = writeln!(out, "  L{osi} {name}: ({why})");
            continue;
        }
        for l in layers {
            // "  L{osi} {name} | TCP/IP {}: {} [{}] bytes {}..{}", piece by piece.
            out.push_str("  L");
            out.push(char::from(b'0' + osi));
            out.push(' ');
            out.push_str(name);
            out.push_str(" | TCP/IP ");
            out.push_str(l.proto.tcpip.name());
            out.push_str(": ");
            out.push_str(l.proto.label);
            out.push_str(" [");
            out.push_str(l.proto.name);
            out.push_str("] bytes ");
            push_num(out, l.span.offset);
            out.push_str("..");
            push_num(out, l.span.end());
            out.push('\n');
            for index in l.fields.start as usize..l.fields.end as usize {
                if let Some(f) = d.field_ref(frame, index) {
                    field_line(&f, out);
                }
            }
        }
    }
    for n in &d.notes {
        let _ = writeln!(
            out,
            "  [{}] {} (at byte {}): {}  ({})",
            n.severity.name(),
            n.layer,
            n.span.offset,
            n.message,
            n.def.name
        );
    }
}

/// `Label: value  (name) [where: bytes]`; a field in a derived data source
/// names it (`[Unmasked data 0..6: 3270726f6265]`). Written straight into
/// `out`, without intermediate strings.
fn field_line(f: &FieldRef<'_>, out: &mut String) {
    let span = f.span();
    for _ in 0..usize::from(f.field().depth) + 3 {
        out.push_str("  ");
    }
    f.bits_into(out);
    out.push_str(f.def().label);
    out.push_str(": ");
    f.text_into(32, out);
    out.push_str("  (");
    out.push_str(f.def().name);
    out.push_str(") ");
    if f.is_derived() {
        out.push_str("(derived)");
    } else {
        out.push('[');
        if span.source != FRAME_SOURCE {
            out.push_str(f.source_name());
            out.push(' ');
        }
        push_num(out, span.offset);
        out.push_str("..");
        push_num(out, span.end());
        if span.len <= 8 {
            out.push_str(": ");
            let bytes = f.bytes();
            crate::model::push_hex(&bytes[..bytes.len().min(8)], out);
        }
        out.push(']');
    }
    out.push('\n');
}

/// Writes one frame as a line of JSON, straight to `w`: the same bytes as
/// `serde_json::to_writer(json_frame(…))` (keys in the same sorted order,
/// scalars formatted and escaped by serde_json), without building a tree of
/// values and maps per frame. `explain: false` leaves out the fields'
/// explanations (`--no-explain`), most of the bytes of a frame.
pub fn write_json_frame(
    w: &mut impl std::io::Write,
    d: &Dissection,
    frame: &[u8],
    explain: bool,
) -> std::io::Result<()> {
    let mut j = JsonOut { w, first: true };
    j.open('{')?;
    j.key("caplen")?;
    j.num(u64::from(d.meta.caplen))?;
    j.key("frame")?;
    j.num(d.meta.number)?;
    j.key("layers")?;
    j.open('[')?;
    for l in &d.layers {
        j.item()?;
        j.open('{')?;
        j.key("fields")?;
        j.open('[')?;
        for i in l.fields.start as usize..l.fields.end as usize {
            if let Some(f) = d.field_ref(frame, i).filter(|f| f.field().depth == 0) {
                j.item()?;
                j.field(&f, explain)?;
            }
        }
        j.close(']')?;
        j.key("len")?;
        j.num(u64::from(l.span.len))?;
        j.key("offset")?;
        j.num(u64::from(l.span.offset))?;
        j.key("osi")?;
        j.num(u64::from(l.proto.osi))?;
        j.key("protocol")?;
        j.str(l.proto.name)?;
        j.key("source")?;
        j.str(d.source_name(l.span.source))?;
        j.key("tcpip")?;
        j.str(l.proto.tcpip.name())?;
        j.close('}')?;
    }
    j.close(']')?;
    j.key("len")?;
    j.num(u64::from(d.meta.len))?;
    j.key("linktype")?;
    j.str(linktype_name(d.meta.linktype))?;
    j.key("notes")?;
    j.open('[')?;
    for n in &d.notes {
        j.item()?;
        j.open('{')?;
        j.key("layer")?;
        j.str(n.layer)?;
        j.key("len")?;
        j.num(u64::from(n.span.len))?;
        j.key("message")?;
        j.str(&n.message)?;
        j.key("name")?;
        j.str(n.def.name)?;
        j.key("offset")?;
        j.num(u64::from(n.span.offset))?;
        j.key("severity")?;
        j.str(n.severity.name())?;
        j.close('}')?;
    }
    j.close(']')?;
    j.key("protocols")?;
    j.str(&d.protocols())?;
    j.key("summary")?;
    j.open('{')?;
    j.key("dst")?;
    j.str(&d.summary.dst.to_string())?;
    j.key("info")?;
    j.str(&d.summary.info())?;
    j.key("protocol")?;
    j.str(d.summary.protocol)?;
    j.key("src")?;
    j.str(&d.summary.src.to_string())?;
    j.close('}')?;
    j.key("time")?;
    j.scalar(&d.meta.time_f64())?;
    j.close('}')?;
    j.w.write_all(b"\n")
}

/// A small JSON writer: separators and nesting by hand, scalars by serde_json.
struct JsonOut<'w, W: std::io::Write> {
    w: &'w mut W,
    /// No member or item written yet at this level.
    first: bool,
}

impl<W: std::io::Write> JsonOut<'_, W> {
    fn open(&mut self, c: char) -> std::io::Result<()> {
        self.first = true;
        self.w.write_all(&[c as u8])
    }
    fn close(&mut self, c: char) -> std::io::Result<()> {
        self.first = false;
        self.w.write_all(&[c as u8])
    }
    fn sep(&mut self) -> std::io::Result<()> {
        if !std::mem::replace(&mut self.first, false) {
            self.w.write_all(b",")?;
        }
        Ok(())
    }
    /// A key: ours, plain ASCII with nothing to escape.
    fn key(&mut self, k: &str) -> std::io::Result<()> {
        self.sep()?;
        self.w.write_all(b"\"")?;
        self.w.write_all(k.as_bytes())?;
        self.w.write_all(b"\":")
    }
    fn item(&mut self) -> std::io::Result<()> {
        self.sep()
    }
    fn num(&mut self, v: u64) -> std::io::Result<()> {
        let mut b = itoa::Buffer::new();
        self.w.write_all(b.format(v).as_bytes())
    }
    fn str(&mut self, s: &str) -> std::io::Result<()> {
        // Most strings (explanations, long text payloads) need no escaping:
        // written as they are; the others as serde_json escapes them.
        if s.bytes().fold(true, |ok, b| ok & (b >= 0x20 && b != b'"' && b != b'\\')) {
            self.w.write_all(b"\"")?;
            self.w.write_all(s.as_bytes())?;
            self.w.write_all(b"\"")
        } else {
            self.scalar(s)
        }
    }
    /// Bytes as a hex string: hex digits need no escaping, so they go out as they are.
    fn hex(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let mut buf = [0u8; 1024];
        self.w.write_all(b"\"")?;
        for chunk in bytes.chunks(buf.len() / 2) {
            let out = &mut buf[..chunk.len() * 2];
            crate::model::hex_into(chunk, out);
            self.w.write_all(out)?;
        }
        self.w.write_all(b"\"")
    }
    fn scalar<T: serde::Serialize + ?Sized>(&mut self, v: &T) -> std::io::Result<()> {
        serde_json::to_writer(&mut *self.w, v).map_err(std::io::Error::other)
    }
    fn field(&mut self, f: &FieldRef<'_>, explain: bool) -> std::io::Result<()> {
        let (def, span) = (f.def(), f.span());
        self.open('{')?;
        if def.mask != 0 {
            self.key("bitmask")?;
            self.num(def.mask)?;
        }
        self.key("children")?;
        self.open('[')?;
        for c in f.children() {
            self.item()?;
            self.field(&c, explain)?;
        }
        self.close(']')?;
        if explain {
            self.key("explain")?;
            self.str(def.explain)?;
        }
        self.key("label")?;
        self.str(def.label)?;
        self.key("len")?;
        self.num(u64::from(span.len))?;
        self.key("name")?;
        self.str(def.name)?;
        self.key("offset")?;
        self.num(u64::from(span.offset))?;
        if span.source != FRAME_SOURCE {
            self.key("source")?;
            self.str(f.source_name())?;
        }
        self.key("value")?;
        match f.value() {
            Value::None => self.w.write_all(b"null")?,
            Value::U(v) => self.num(v)?,
            Value::I(v) => self.scalar(&v)?,
            Value::F(v) => self.scalar(&v)?,
            Value::Bool(b) => self.w.write_all(if b { b"true" } else { b"false" })?,
            Value::Text => match std::str::from_utf8(f.bytes()) {
                Ok(text) => self.str(text)?,
                Err(_) => self.str(&String::from_utf8_lossy(f.bytes()))?,
            },
            Value::Mac(_) | Value::Ipv4(_) | Value::Ipv6(_) | Value::Owned(_) | Value::Static(_) => {
                self.str(&f.text(usize::MAX))?
            }
            Value::Bytes => self.hex(f.bytes())?,
        }
        if let Value::U(v) = f.value()
            && let Some(n) = def.value_name(v)
        {
            self.key("value_name")?;
            self.str(n)?;
        }
        self.close('}')
    }
}

/// The JSON value of a field: numbers, booleans, strings, hex bytes.
fn json_value(f: &FieldRef<'_>) -> Json {
    match f.value() {
        Value::None => Json::Null,
        Value::U(v) => json!(v),
        Value::I(v) => json!(v),
        Value::F(v) => json!(v),
        Value::Bool(b) => json!(b),
        Value::Text => Json::String(String::from_utf8_lossy(f.bytes()).into_owned()),
        Value::Mac(_) | Value::Ipv4(_) | Value::Ipv6(_) | Value::Owned(_) | Value::Static(_) => {
            Json::String(f.text(usize::MAX))
        }
        Value::Bytes => Json::String(hex(f.bytes())),
    }
}

/// One JSON object per frame, in the documented shape.
pub fn json_frame(d: &Dissection, frame: &[u8]) -> Json {
    let layers: Vec<Json> = d
        .layers
        .iter()
        .map(|l| {
            let tree: Vec<Json> = (l.fields.start as usize..l.fields.end as usize)
                .filter_map(|i| d.field_ref(frame, i))
                .filter(|f| f.field().depth == 0)
                .map(|f| json_field(&f))
                .collect();
            json!({
                "protocol": l.proto.name,
                "osi": l.proto.osi,
                "tcpip": l.proto.tcpip.name(),
                "source": d.source_name(l.span.source),
                "offset": l.span.offset,
                "len": l.span.len,
                "fields": tree,
            })
        })
        .collect();
    let notes: Vec<Json> = d
        .notes
        .iter()
        .map(|n| json!({"name": n.def.name, "severity": n.severity.name(), "message": n.message, "layer": n.layer, "offset": n.span.offset, "len": n.span.len}))
        .collect();
    json!({
        "frame": d.meta.number,
        "time": d.meta.time_f64(),
        "len": d.meta.len,
        "caplen": d.meta.caplen,
        "linktype": linktype_name(d.meta.linktype),
        "protocols": d.protocols(),
        "summary": {
            "src": d.summary.src.to_string(),
            "dst": d.summary.dst.to_string(),
            "protocol": d.summary.protocol,
            "info": d.summary.info(),
        },
        "layers": layers,
        "notes": notes,
    })
}

fn json_field(f: &FieldRef<'_>) -> Json {
    let (def, span) = (f.def(), f.span());
    let mut m = Map::new();
    m.insert("name".into(), json!(def.name));
    m.insert("label".into(), json!(def.label));
    m.insert("value".into(), json_value(f));
    if let Value::U(v) = f.value()
        && let Some(n) = def.value_name(v)
    {
        m.insert("value_name".into(), json!(n));
    }
    if span.source != FRAME_SOURCE {
        m.insert("source".into(), json!(f.source_name()));
    }
    m.insert("offset".into(), json!(span.offset));
    m.insert("len".into(), json!(span.len));
    if def.mask != 0 {
        m.insert("bitmask".into(), json!(def.mask));
    }
    m.insert("explain".into(), json!(def.explain));
    m.insert("children".into(), Json::Array(f.children().map(|c| json_field(&c)).collect()));
    Json::Object(m)
}

#[cfg(test)]
mod tests {
    use super::{Addr, Summary, columns, fixed_columns, seconds_column};

    /// The template the columns are written into reads as the formatting
    /// machinery writes them, at each column's widest and narrowest, and
    /// leaves to the general path every line that does not fit it.
    #[test]
    fn fixed_columns_read_as_the_formatting_machinery_writes_them() {
        let addrs = [
            Addr::Ipv4([127, 0, 0, 1]),
            Addr::Ipv4([255, 255, 255, 255]),
            Addr::Ipv4([0, 0, 0, 0]),
            Addr::Ipv4([10, 99, 100, 9]),
            Addr::Ipv6([0xfe; 16]),
            Addr::Mac([1, 2, 3, 4, 5, 6]),
            Addr::None,
        ];
        let mut fitted = 0;
        for number in [0, 1, 9, 10, 99_999, 999_999, 1_000_000, 12_345_678] {
            for time in [0.0, 0.000014, 9.5, 62.504529, 999.999999, 9_999.999_999, 10_000.0, 123_456.5, 0.0078125] {
                for len in [0, 60, 99_999, 100_000, u32::MAX] {
                    for (i, src) in addrs.iter().enumerate() {
                        let dst = addrs[(i + number as usize) % addrs.len()];
                        for protocol in ["", "TCP", "Socket.IO", "WebSocket", "HTTP/JSON"] {
                            let mut summary = Summary::default();
                            (summary.src, summary.dst, summary.protocol) = (*src, dst, protocol);
                            let mut general = Vec::new();
                            columns(number, time, len, &summary, &mut general);
                            let want = format!(
                                "{number:>6} {time:>11.6} {:>15} \u{2192} {:<15} {protocol:<8} {len:>5} ",
                                src.to_string(),
                                dst.to_string()
                            );
                            assert_eq!(String::from_utf8(general).unwrap(), want);
                            let mut fixed = b"before ".to_vec();
                            if fixed_columns(number, time, len, &summary, &mut fixed) {
                                assert_eq!(String::from_utf8(fixed).unwrap(), format!("before {want}"));
                                fitted += 1;
                            } else {
                                assert_eq!(fixed, b"before ", "nothing written when it does not fit");
                            }
                        }
                    }
                }
            }
        }
        assert!(fitted > 500, "{fitted} lines fitted the template");
    }

    /// The time column is written without float formatting; it must read as
    /// `{:.6}` would, on ties (odd multiples of 1/128 s lie exactly half a
    /// microsecond off) and on the capture-made times (seconds plus ns).
    #[test]
    fn seconds_read_as_the_formatting_machinery_writes_them() {
        let mut times =
            vec![0.0, -0.0, -1e-10, 1e-7, 5e-7, 0.0078125, 0.0234375, 12.5, 1e7, 1e12, f64::NAN, f64::INFINITY];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let (s, ns) = (x % 100_000, (x >> 20) % 1_000_000_000);
            times.push(s as f64 + ns as f64 * 1e-9);
            times.push((i * 7_812_500) as f64 * 1e-9);
        }
        for t in times {
            let mut got = Vec::new();
            seconds_column(&mut got, t);
            assert_eq!(String::from_utf8(got).unwrap(), format!("{t:>11.6}"), "for {t:e}");
        }
    }
}
