//! RESP, the REdis Serialization Protocol: what Redis clients and servers
//! say to each other (RESP2, and RESP3 after `HELLO 3`), with the field
//! names of Wireshark's `resp` dissector.
//!
//! Every value starts with a type byte and ends its first line with CRLF:
//! `+` a simple string, `-` an error, `:` an integer, `$` a bulk string (its
//! length, then that many bytes and CRLF), `*` an array (its element count,
//! then the elements); RESP3 adds `_` null, `#` boolean, `,` double, `(` big
//! number, `!` bulk error, `=` verbatim string, `%` map, `~` set, `|`
//! attribute and `>` push (what the server sends unasked: a pub/sub
//! message, an invalidation). One top-level value is one PDU: the stream
//! reassembly of `app/mod.rs` asks [`pdu_len`] where it ends.
//!
//! A client sends each command as an array of bulk strings; the server
//! answers commands in the order they came, so the n-th reply answers the
//! n-th command (pipelining). A push answers nothing: it is a message of its
//! own. RESP is read on port 6379, and on any port where the client's first
//! bytes are a command array (`*N\r\n$`), as the chat nodes' Redis
//! connections on the scenarios' ports are.

use super::super::{At, Cx};
use super::{AppStream, PduLen};
use crate::model::{MsgKind, Protocol, TcpIpLayer, Value};
use crate::{fields, notes};

/// Redis's port.
pub const PORT: u16 = 6379;
/// Deepest nesting of aggregates read (Wireshark stops at 30 too).
const MAX_DEPTH: usize = 30;
/// How deep [`pdu_len`] follows aggregates to find where a value ends (it
/// keeps one count per level, not a call): deeper than the dissector reads,
/// so a value nested past [`MAX_DEPTH`] is still one PDU, noted, and the
/// values after it are read.
const SCAN_DEPTH: usize = 1024;
/// Longest line (a simple string, an error, a length) waited for.
const MAX_LINE: usize = 64 << 10;
/// Bulk strings longer than this are not RESP (Redis's own limit, 512 MB).
const MAX_BULK: i64 = 512 << 20;
/// Values shorter than this are shown in the info column, as Wireshark does.
const SHOWN: usize = 100;

pub static RESP: Protocol = Protocol {
    name: "resp",
    short: "RESP",
    label: "REdis Serialization Protocol",
    osi: 7,
    tcpip: TcpIpLayer::Application,
    explain: "How a Redis client and server talk: every command is an array of strings (the command's name, \
then its arguments), and every reply one typed value: a status, an error, a number, a string, an array. Values \
are text lines ending in CRLF, with lengths written in decimal, so a human can read them. The chat nodes use \
Redis to pass each other the messages their own clients cannot reach.",
};

fields! { proto = &RESP;
    STRING: "resp.string" { label: "String", ty: Text, explain: "A simple string (+): one short line of status, such as OK or PONG." };
    ERROR: "resp.error" { label: "Error", ty: Text, explain: "An error (-): the command failed; the first word names the kind (ERR, WRONGTYPE…), the rest says why." };
    INTEGER: "resp.integer" { label: "Integer", ty: I64, explain: "An integer (:), written in decimal: a count (how many subscribers got a PUBLISH, how many keys were deleted) or a number stored in Redis." };
    BULK_STRING: "resp.bulk_string" { label: "Bulk String", ty: None, explain: "A bulk string ($): its length first, then exactly that many bytes. Any bytes at all may follow, binary too, because the reader counts them instead of looking for an end marker." };
    BULK_STRING_LENGTH: "resp.bulk_string.length" { label: "Length", ty: I32, explain: "How many bytes the bulk string holds; -1 is the null string of RESP2 (no value, e.g. GET of a key that does not exist)." };
    BULK_STRING_VALUE: "resp.bulk_string.value" { label: "Value", ty: Bytes, explain: "The bulk string's bytes: a command's name or argument, a stored value, a published message." };
    ARRAY: "resp.array" { label: "Array", ty: None, explain: "An array (*): its number of elements, then the elements, each a value of its own. Every command a client sends is an array of bulk strings." };
    ARRAY_LENGTH: "resp.array.length" { label: "Length", ty: I64, explain: "How many elements the array holds; -1 is RESP2's null array." };
    SET: "resp.set" { label: "Set", ty: None, explain: "A set (~, RESP3): like an array, but the order means nothing and no element appears twice (SMEMBERS)." };
    SET_LENGTH: "resp.set.length" { label: "Length", ty: I64, explain: "How many elements the set holds." };
    PUSH: "resp.push" { label: "Push", ty: None, explain: "A push (>, RESP3): data the server sends without being asked, such as a message published on a channel this connection subscribed to. It answers no command, so a client must not take it for a reply." };
    PUSH_LENGTH: "resp.push.length" { label: "Length", ty: I64, explain: "How many elements the push holds (a pub/sub message: the word message, the channel, the payload)." };
    MAP: "resp.map" { label: "Map", ty: None, explain: "A map (%, RESP3): key/value pairs, each key and each value a value of its own (HELLO's answer, HGETALL)." };
    MAP_LENGTH: "resp.map.length" { label: "Length", ty: I64, explain: "How many key/value pairs the map holds (twice as many values follow)." };
    ATTRIBUTE: "resp.attribute" { label: "Attribute", ty: None, explain: "An attribute (|, RESP3): key/value pairs about the reply that follows, which a client may ignore." };
    ATTRIBUTE_LENGTH: "resp.attribute.length" { label: "Length", ty: I64, explain: "How many key/value pairs the attribute holds." };
    NULL: "resp.null" { label: "Null", ty: None, explain: "Null (_, RESP3): no value, e.g. GET of a key that does not exist (RESP2 says $-1 instead)." };
    BOOLEAN: "resp.boolean" { label: "Boolean", ty: Bool, explain: "A boolean (#, RESP3): t for true, f for false." };
    DOUBLE: "resp.double" { label: "Double", ty: Double, explain: "A floating-point number (,, RESP3), written in decimal, such as a sorted set member's score." };
    BIG_NUMBER: "resp.big_number" { label: "Big Number", ty: Text, explain: "A big number ((, RESP3): an integer too large for 64 bits, written in decimal." };
    VERBATIM_STRING: "resp.verbatim_string" { label: "Verbatim String", ty: None, explain: "A verbatim string (=, RESP3): a bulk string whose first 4 bytes name its format (txt: or mkd:), for text meant to be shown as it is (INFO)." };
    VERBATIM_STRING_LENGTH: "resp.verbatim_string.length" { label: "Length", ty: I32, explain: "How many bytes follow, the 4-byte format included." };
    VERBATIM_STRING_ENCODING: "resp.verbatim_string.encoding" { label: "Encoding", ty: Text, explain: "The text's format: txt plain text, mkd Markdown." };
    VERBATIM_STRING_VALUE: "resp.verbatim_string.value" { label: "Value", ty: Bytes, explain: "The text itself." };
    BULK_ERROR: "resp.bulk_error" { label: "Bulk Error", ty: None, explain: "A bulk error (!, RESP3): an error message with a length, so it may span lines." };
    BULK_ERROR_LENGTH: "resp.bulk_error.length" { label: "Length", ty: I32, explain: "How many bytes the error message holds." };
    BULK_ERROR_VALUE: "resp.bulk_error.value" { label: "Value", ty: Bytes, explain: "The error message." };
    FRAGMENT: "resp.fragment" { label: "Fragment", ty: None, explain: "A line that is no RESP value: an inline command (a command typed as plain text, as telnet users do), or the middle of a value whose start was not captured." };
}

notes! { proto = &RESP;
    MALFORMED_LENGTH: "resp.malformed_length" { severity: Error, explain: "A length or count that is not a number RESP allows (only -1 means null; nothing else below 0)." };
    PARTIAL: "resp.partial" { severity: Info, explain: "The value continues past the bytes captured: only its start is shown." };
    TOO_DEEP: "resp.array_recursion_too_deep" { severity: Info, explain: "Aggregates nested deeper than wirelab reads (30 levels): the rest is shown as data." };
    INVALID_BOOLEAN: "resp.invalid_boolean_value" { severity: Error, explain: "A boolean is t or f; this one is neither." };
    INVALID_BIG_NUMBER: "resp.invalid_big_number_value" { severity: Error, explain: "A big number is an optional sign and decimal digits; this one has something else." };
}

/// The type bytes of RESP2 and RESP3.
fn is_type(b: u8) -> bool {
    b"+-:$*_#,(!=%~|>".contains(&b)
}

/// Where the CRLF ending the line that starts at `at` is.
fn crlf(b: &[u8], at: usize) -> Option<usize> {
    b.get(at..)?.windows(2).position(|w| w == b"\r\n").map(|p| at + p)
}

/// A decimal integer: an optional minus and digits, within 64 bits.
fn number(text: &[u8]) -> Option<i64> {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Whether a stream whose first bytes (in this direction) are `buf` is
/// RESP: on Redis's port, anything that starts with a type byte; on any
/// port, a command array (`*N\r\n$`). `None`: too few bytes to tell.
pub fn looks_like(buf: &[u8], ports: (u16, u16)) -> Option<bool> {
    let first = *buf.first()?;
    if ports.0 == PORT || ports.1 == PORT {
        return Some(is_type(first) || first.is_ascii_alphabetic());
    }
    // A command (`*N` of bulk strings), or a RESP3 push (`>N`: the server's
    // side of a subscribed connection whose start was not captured).
    if first != b'*' && first != b'>' {
        return Some(false);
    }
    let digits = buf[1..].iter().take_while(|b| b.is_ascii_digit()).count();
    let rest = &buf[1 + digits..];
    const TAIL: &[u8] = b"\r\n$";
    if rest.len() < TAIL.len() {
        return if digits <= 10 && TAIL.starts_with(rest) { None } else { Some(false) };
    }
    Some(digits > 0 && rest.starts_with(TAIL))
}

/// Where [`pdu_len_from`] stopped in a value it has not seen the end of:
/// the element it waits for, and the elements still expected by each
/// aggregate around it (innermost last). A large reply that arrives in many
/// segments is then read once, not again from its start at each segment.
#[derive(Clone, Debug, Default)]
pub struct Scan {
    pos: usize,
    open: Vec<i64>,
}

/// Over TCP: how long the next top-level value is.
pub fn pdu_len(b: &[u8]) -> PduLen {
    pdu_len_from(b, &mut Scan::default())
}

/// [`pdu_len`], going on from `scan` (where the last call on the same bytes,
/// fewer of them then, stopped); it keeps where it stops. The caller resets
/// `scan` whenever bytes leave the front of `b`.
pub fn pdu_len_from(b: &[u8], scan: &mut Scan) -> PduLen {
    let Scan { mut pos, mut open } = std::mem::take(scan);
    if pos > b.len() {
        (pos, open) = (0, Vec::new());
    }
    loop {
        let Some(nl) = crlf(b, pos) else {
            if b.len() - pos > MAX_LINE {
                return PduLen::NotMine;
            }
            *scan = Scan { pos, open };
            return PduLen::Need;
        };
        if nl == pos {
            // An empty line: harmless between values (a telnet user's
            // Enter), not RESP inside one.
            if open.is_empty() {
                return PduLen::Len(pos + 2);
            }
            return PduLen::NotMine;
        }
        let ty = b[pos];
        let text = &b[pos + 1..nl];
        let mut next = nl + 2;
        match ty {
            b'+' | b'-' | b':' | b',' | b'(' | b'_' | b'#' => {}
            b'$' | b'!' | b'=' => match number(text) {
                // -1 is null; other negative lengths end with their line
                // too (the dissector says they are malformed).
                Some(n) if n < 0 => {}
                Some(n) if (0..=MAX_BULK).contains(&n) => {
                    let end = next + n as usize + 2;
                    if b.len() < end {
                        *scan = Scan { pos, open };
                        return PduLen::Need;
                    }
                    if &b[end - 2..end] != b"\r\n" {
                        return PduLen::NotMine;
                    }
                    next = end;
                }
                _ => return PduLen::NotMine,
            },
            b'*' | b'~' | b'>' | b'%' | b'|' => match number(text) {
                Some(n) if n <= 0 => {}
                Some(n) if n > 0 && n <= u32::MAX.into() => {
                    if open.len() >= SCAN_DEPTH {
                        return PduLen::NotMine;
                    }
                    open.push(if matches!(ty, b'%' | b'|') { 2 * n } else { n });
                    pos = next;
                    continue;
                }
                _ => return PduLen::NotMine,
            },
            // An inline command: one line of plain text.
            _ if open.is_empty() && text.iter().all(|c| !c.is_ascii_control()) && ty.is_ascii_alphabetic() => {}
            _ => return PduLen::NotMine,
        }
        pos = next;
        // A value is complete: so may be the aggregates it ends.
        loop {
            match open.last_mut() {
                None => return PduLen::Len(pos),
                Some(k) => {
                    *k -= 1;
                    if *k > 0 {
                        break;
                    }
                    open.pop();
                }
            }
        }
    }
}

/// What the top-level value is, for the info column and the message.
#[derive(Default)]
struct Summary {
    /// For the info column: a command's words (its bulk strings), or a
    /// reply's text or kind and count, as Wireshark writes them.
    words: Vec<String>,
    /// The top-level aggregate's elements (strings as text), for the message.
    elements: Vec<String>,
    push: bool,
    /// A command: an array whose elements are all bulk strings.
    command: bool,
    /// The top-level aggregate's kind and count (`Array(3)`), which a
    /// response shows instead of its elements.
    aggregate: Option<String>,
    /// Where each top-level element's bytes are, for a bulk string (its
    /// value); `None` for other elements.
    strings: Vec<Option<(usize, usize)>>,
    /// A value nested too deep was shown as data up to the PDU's end, so the
    /// aggregates around it end there too (not cut by the capture).
    too_deep: bool,
    /// A RESP3 attribute (`|`): data about the reply that follows, not a
    /// reply of its own.
    attribute: bool,
}

/// The text of a value for the info column: itself when short and ASCII,
/// else its kind and length, as Wireshark shows it.
fn shown(kind: &str, bytes: &[u8]) -> String {
    if bytes.len() < SHOWN && bytes.is_ascii() {
        String::from_utf8_lossy(bytes).into_owned()
    } else {
        format!("{kind}({})", bytes.len())
    }
}

/// Reads the value at `at` of `m` (complete: [`pdu_len`] said so), adding
/// its fields at `depth`; returns where it ends.
fn value(cx: &mut Cx<'_>, m: &At<'_>, at: usize, depth: u8, sum: &mut Summary) -> usize {
    let b = m.bytes;
    let Some(nl) = crlf(b, at) else {
        // Only a value the capture cut ends like this.
        cx.add_at(depth, &FRAGMENT, Value::None, m, at, b.len() - at);
        cx.note_at(&PARTIAL, m, at, b.len() - at, "the value's first line is cut");
        return b.len();
    };
    if nl == at {
        // An empty line (a telnet user's Enter): nothing but its CRLF.
        cx.add_at(depth, &FRAGMENT, Value::None, m, at, 2);
        return at + 2;
    }
    let ty = b[at];
    let text = &b[at + 1..nl];
    let line = nl + 2 - at;
    let top = depth == 1;
    match ty {
        b'+' | b'-' | b'(' => {
            let def = match ty {
                b'+' => &STRING,
                b'-' => &ERROR,
                _ => &BIG_NUMBER,
            };
            let v = cx.derived_text(text);
            cx.add_at(depth, def, v, m, at, line);
            if ty == b'(' && !big_number(text) {
                cx.note_at(&INVALID_BIG_NUMBER, m, at, line, "a big number with something other than digits");
            }
            if top {
                let t = String::from_utf8_lossy(text);
                sum.words.push(if ty == b'-' { format!("Error: {t}") } else { t.into_owned() });
            }
            nl + 2
        }
        b':' => {
            let Some(n) = number(text) else {
                cx.add_at(depth, &FRAGMENT, Value::None, m, at, line);
                cx.note_at(&MALFORMED_LENGTH, m, at, line, "an integer that is not a 64-bit decimal number");
                return nl + 2;
            };
            cx.add_at(depth, &INTEGER, Value::I(n), m, at, line);
            if top {
                sum.words.push(n.to_string());
            }
            nl + 2
        }
        b',' => {
            let s = String::from_utf8_lossy(text);
            let x = match s.as_ref() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                t => t.parse().unwrap_or(f64::NAN),
            };
            cx.add_at(depth, &DOUBLE, Value::F(x), m, at, line);
            if top {
                sum.words.push(format!("Double({x:.6})"));
            }
            nl + 2
        }
        b'_' => {
            cx.add_at(depth, &NULL, Value::None, m, at, line);
            if top {
                sum.words.push("Null".into());
            }
            nl + 2
        }
        b'#' => {
            match text {
                b"t" | b"f" => {
                    cx.add_at(depth, &BOOLEAN, Value::Bool(text == b"t"), m, at, line);
                    if top {
                        sum.words.push(format!("Boolean({})", if text == b"t" { "True" } else { "False" }));
                    }
                }
                _ => {
                    cx.add_at(depth, &FRAGMENT, Value::None, m, at, line);
                    cx.note_at(&INVALID_BOOLEAN, m, at, line, "a boolean that is neither t nor f");
                }
            }
            nl + 2
        }
        b'$' | b'!' | b'=' => bulk(cx, m, at, depth, ty, text, nl, sum),
        b'*' | b'~' | b'>' | b'%' | b'|' => aggregate(cx, m, at, depth, ty, text, nl, sum),
        _ => {
            cx.add_at(depth, &FRAGMENT, Value::None, m, at, line);
            if top {
                sum.words.push(String::from_utf8_lossy(&b[at..nl]).into_owned());
                sum.command = true;
            }
            nl + 2
        }
    }
}

fn big_number(text: &[u8]) -> bool {
    let digits = text.strip_prefix(b"-").or_else(|| text.strip_prefix(b"+")).unwrap_or(text);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

/// A bulk string, bulk error or verbatim string: the length line, the
/// bytes, CRLF.
#[allow(clippy::too_many_arguments)]
fn bulk(cx: &mut Cx<'_>, m: &At<'_>, at: usize, depth: u8, ty: u8, text: &[u8], nl: usize, sum: &mut Summary) -> usize {
    let b = m.bytes;
    let (item, length, val) = match ty {
        b'$' => (&BULK_STRING, &BULK_STRING_LENGTH, &BULK_STRING_VALUE),
        b'!' => (&BULK_ERROR, &BULK_ERROR_LENGTH, &BULK_ERROR_VALUE),
        _ => (&VERBATIM_STRING, &VERBATIM_STRING_LENGTH, &VERBATIM_STRING_VALUE),
    };
    let head = nl + 2 - at;
    let n = number(text).unwrap_or(-2);
    if n < 0 {
        cx.add_at(depth, item, Value::None, m, at, head);
        cx.add_at(depth + 1, length, Value::I(n.max(i64::from(i32::MIN))), m, at, head);
        if n != -1 {
            cx.note_at(&MALFORMED_LENGTH, m, at, head, format!("length {}", String::from_utf8_lossy(text)));
        }
        // RESP2's null string adds nothing to the info column (Wireshark's way).
        return nl + 2;
    }
    let start = nl + 2;
    let have = (b.len() - start).min(n as usize);
    let end = (start + n as usize + 2).min(b.len());
    cx.add_at(depth, item, Value::None, m, at, end - at);
    cx.add_at(depth + 1, length, Value::I(n.min(i64::from(i32::MAX))), m, at, head);
    let bytes = &b[start..start + have];
    if ty == b'=' && have >= 4 {
        let v = cx.derived_text(&bytes[..3]);
        cx.add_at(depth + 1, &VERBATIM_STRING_ENCODING, v, m, start, 3);
        cx.add_at(depth + 1, val, Value::Bytes, m, start + 4, have - 4);
    } else if have > 0 {
        cx.add_at(depth + 1, val, Value::Bytes, m, start, have);
    }
    if have < n as usize {
        cx.note_at(&PARTIAL, m, at, end - at, format!("{have} of the {n} bytes were captured"));
    }
    match depth {
        1 if ty == b'!' => sum.words.push(format!("Error: {}", String::from_utf8_lossy(bytes))),
        1 => sum.words.push(shown(if ty == b'=' { "VerbatimString" } else { "BulkString" }, bytes)),
        2 => {
            sum.words.push(shown("BulkString", bytes));
            sum.elements.push(shown("BulkString", bytes));
            sum.strings.push(Some((start, start + have)));
        }
        _ => {}
    }
    end
}

/// An array, set, push, map or attribute: the count line, then the
/// elements (twice the count for maps and attributes).
#[allow(clippy::too_many_arguments)]
fn aggregate(
    cx: &mut Cx<'_>,
    m: &At<'_>,
    at: usize,
    depth: u8,
    ty: u8,
    text: &[u8],
    nl: usize,
    sum: &mut Summary,
) -> usize {
    let (item, length, kind) = match ty {
        b'*' => (&ARRAY, &ARRAY_LENGTH, "Array"),
        b'~' => (&SET, &SET_LENGTH, "Set"),
        b'>' => (&PUSH, &PUSH_LENGTH, "Push"),
        b'%' => (&MAP, &MAP_LENGTH, "Map"),
        _ => (&ATTRIBUTE, &ATTRIBUTE_LENGTH, "Attribute"),
    };
    let head = nl + 2 - at;
    let n = number(text).unwrap_or(-2);
    let item_at = cx.out.fields.len();
    cx.add_at(depth, item, Value::None, m, at, head);
    cx.add_at(depth + 1, length, Value::I(n), m, at, head);
    let top = depth == 1;
    if top {
        sum.push = ty == b'>';
        sum.attribute = ty == b'|';
        sum.command = ty == b'*' && n > 0;
    }
    if n <= 0 {
        if n < -1 || (n == -1 && ty != b'*') {
            cx.note_at(&MALFORMED_LENGTH, m, at, head, format!("count {}", String::from_utf8_lossy(text)));
        }
        // A null or empty aggregate adds nothing to the info column.
        return nl + 2;
    }
    if usize::from(depth) > MAX_DEPTH {
        let rest = m.bytes.len() - (nl + 2);
        cx.note_at(&TOO_DEEP, m, at, head, "nested deeper than wirelab reads");
        sum.too_deep = true;
        if rest > 0 {
            cx.add_at(depth + 1, &FRAGMENT, Value::None, m, nl + 2, rest);
        }
        return m.bytes.len();
    }
    let elements = if matches!(ty, b'%' | b'|') { 2 * n } else { n };
    let mut pos = nl + 2;
    // A command is an array of bulk strings only; anything else in it is a reply.
    for _ in 0..elements {
        if pos >= m.bytes.len() {
            if sum.too_deep {
                break;
            }
            cx.note_at(&PARTIAL, m, at, pos - at, "the capture ends inside this aggregate");
            break;
        }
        if top && ty == b'*' && m.bytes[pos] != b'$' {
            sum.command = false;
        }
        let before = sum.elements.len();
        let elem = pos;
        pos = value(cx, m, pos, depth + 1, sum);
        if top && sum.elements.len() == before {
            // Not a string: the element as written, its first line.
            let line = &m.bytes[elem..crlf(m.bytes, elem).unwrap_or(pos).min(pos)];
            sum.elements.push(super::preview(line, 40));
            sum.strings.push(None);
        }
    }
    // The item spans its elements too, now that their end is known.
    if let Some(f) = cx.out.fields.get_mut(item_at).filter(|f| std::ptr::eq(f.def, item)) {
        f.span.len = (pos - at) as u32;
    }
    if top {
        sum.aggregate = Some(format!("{kind}({n})"));
    }
    pos
}

/// Dissects one top-level value (a whole PDU) sent in direction `dir`.
pub fn dissect(cx: &mut Cx<'_>, st: &mut AppStream, dir: usize, at: At<'_>) {
    let layer = cx.begin_layer_at(&RESP, &at, 0);
    let mut sum = Summary::default();
    let end = value(cx, &at, 0, 1, &mut sum);
    cx.end_layer(layer, end.max(at.bytes.len()));
    let link = adapter_payload(cx, &at, &sum);
    let first = sum.elements.first().map(|w| w.to_ascii_lowercase()).unwrap_or_default();
    let confirms = matches!(
        first.as_str(),
        "subscribe" | "psubscribe" | "ssubscribe" | "unsubscribe" | "punsubscribe" | "sunsubscribe"
    );
    let published = matches!(first.as_str(), "message" | "pmessage" | "smessage");
    // The client is the side that sends commands; pushes and replies come
    // from the server (RESP2's pub/sub messages and confirmations are
    // arrays of strings too, but only a server sends them).
    if st.client.is_none() {
        // (A subscription's confirmation ends with a count, an integer, so
        // it is never all bulk strings: a SUBSCRIBE of two channels is.)
        let command = sum.command && !(published && !sum.push && sum.elements.len() >= 3);
        st.client = Some(if command { dir } else { dir ^ 1 } as u8);
        cx.client = st.client;
    }
    let request = st.client == Some(dir as u8);
    // How many confirmations a (un)subscribe waits for: one per channel
    // named, or, for an UNSUBSCRIBE that names none, one per channel of its
    // kind subscribed until then (one when there is none).
    let answers = if request && confirms { subscriptions(st, &first, &sum.elements[1..]) } else { 1 };
    cx.set_protocol("RESP");
    // A response shows an aggregate's kind and count, not its elements.
    let words = match (&sum.aggregate, request) {
        (Some(a), false) => a.clone(),
        _ => sum.words.join(" "),
    };
    cx.set_info(format_args!("{}: {words}", if request { "Request" } else { "Response" }));
    // Commands and replies pair up in order: the n-th reply answers the
    // n-th command. (P|S)SUBSCRIBE and their UNSUBSCRIBEs are answered
    // once per channel (RESP3: by pushes). A message published on a
    // channel answers nothing.
    let (kind, id) = if request {
        (MsgKind::RedisCommand, Some(next(&mut st.resp_count[dir], answers)))
    } else if sum.attribute {
        // It goes with the reply after it, which is the one paired.
        return;
    } else if (sum.push || (published && st.resp_subscribed)) && !confirms {
        (MsgKind::RedisPush, None)
    } else {
        (MsgKind::RedisReply, Some(next(&mut st.resp_count[dir], 1)))
    };
    let text = if sum.elements.is_empty() || request { words } else { sum.elements.join(" ") };
    let e = cx.event(dir, kind, super::preview(text.as_bytes(), 120));
    e.ack_id = id;
    e.link = link;
}

/// A chat node's request carried by this value — `PUBLISH channel payload`,
/// or its delivery, `message channel payload` (`pmessage pattern channel
/// payload`) — on one of the Socket.IO adapter's channels: decoded.
fn adapter_payload(cx: &mut Cx<'_>, at: &At<'_>, sum: &Summary) -> Option<u64> {
    let word = |i: usize| sum.strings.get(i).copied().flatten();
    let first = sum.elements.first().map(|w| w.to_ascii_lowercase());
    let (chan, payload) = match first.as_deref() {
        Some("publish" | "message" | "spublish" | "smessage") if sum.strings.len() == 3 => (word(1), word(2)),
        Some("pmessage") if sum.strings.len() == 4 => (word(2), word(3)),
        _ => return None,
    };
    match (chan, payload) {
        (Some(c), Some(p)) if super::adapter::is_channel(&at.bytes[c.0..c.1]) => {
            super::adapter::dissect(cx, at, c, p.0, p.1)
        }
        _ => None,
    }
}

/// Follows a client's (un)subscribe command (`first` is its name, in lower
/// case; `channels` what it names) in the connection's subscriptions, and
/// says how many confirmations the server sends for it.
fn subscriptions(st: &mut AppStream, first: &str, channels: &[String]) -> u64 {
    let (kind, subscribe) = match first {
        "subscribe" => (b'c', true),
        "unsubscribe" => (b'c', false),
        "psubscribe" => (b'p', true),
        "punsubscribe" => (b'p', false),
        "ssubscribe" => (b's', true),
        _ => (b's', false),
    };
    let subs = &mut st.resp_subscriptions;
    if subscribe {
        st.resp_subscribed = true;
        subs.extend(channels.iter().map(|c| (kind, c.clone())));
        return channels.len().max(1) as u64;
    }
    if channels.is_empty() {
        let before = subs.len();
        subs.retain(|(k, _)| *k != kind);
        return (before - subs.len()).max(1) as u64;
    }
    for c in channels {
        subs.remove(&(kind, c.clone()));
    }
    channels.len() as u64
}

/// The number of the next command or reply on the connection, counting `n`.
fn next(count: &mut u64, n: u64) -> u64 {
    let v = *count;
    *count += n;
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len(b: &[u8]) -> Option<usize> {
        match pdu_len(b) {
            PduLen::Len(n) => Some(n),
            PduLen::Need => None,
            PduLen::NotMine => Some(usize::MAX),
        }
    }

    #[test]
    fn values_end_where_resp_says() {
        assert_eq!(len(b"+OK\r\n"), Some(5));
        assert_eq!(len(b"+OK\r\n:1\r\n"), Some(5));
        assert_eq!(len(b"*2\r\n$4\r\nPING\r\n$2\r\nhi\r\n"), Some(22));
        assert_eq!(len(b"*2\r\n$4\r\nPING\r\n$2\r\nh"), None);
        assert_eq!(len(b"$-1\r\n"), Some(5));
        assert_eq!(len(b"*0\r\n"), Some(4));
        assert_eq!(len(b"%1\r\n+a\r\n:1\r\n"), Some(12));
        assert_eq!(len(b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n*1\r\n:5\r\n"), Some(32));
        assert_eq!(len(b"PING\r\n"), Some(6));
        assert_eq!(len(b"\r\n"), Some(2), "an empty line between values");
        assert_eq!(len(b"*1\r\n\r\n"), Some(usize::MAX), "an empty line inside an array");
        assert_eq!(number(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(number(b"9223372036854775808"), None);
        // A length with no CRLF where it should end, a negative count, a
        // non-number: not RESP.
        assert_eq!(len(b"$2\r\nabc\r\n"), Some(usize::MAX));
        assert_eq!(len(b"*-5\r\n"), Some(5), "a malformed count ends with its line");
        assert_eq!(len(b"*x\r\n"), Some(usize::MAX));
        // Nested deeper than the dissector reads: still one value; deeper
        // than the scan follows: refused.
        let deep = [b"*1\r\n".repeat(MAX_DEPTH + 2), b":1\r\n".to_vec()].concat();
        assert_eq!(len(&deep), Some(deep.len()));
        assert_eq!(len(&b"*1\r\n".repeat(SCAN_DEPTH + 1)), Some(usize::MAX));
    }

    /// Going on from where the last call stopped gives what a fresh scan
    /// of all the bytes gives, at every cut.
    #[test]
    fn a_resumed_scan_agrees_with_a_fresh_one() {
        let stream = b"*3\r\n$7\r\nmessage\r\n%2\r\n+a\r\n:1\r\n+b\r\n*2\r\n$3\r\nxyz\r\n_\r\n$5\r\nhello\r\n";
        let mut scan = Scan::default();
        for cut in 1..=stream.len() {
            assert_eq!(len_of(pdu_len_from(&stream[..cut], &mut scan)), len(&stream[..cut]), "cut at {cut}");
        }
    }

    fn len_of(p: PduLen) -> Option<usize> {
        match p {
            PduLen::Len(n) => Some(n),
            PduLen::Need => None,
            PduLen::NotMine => Some(usize::MAX),
        }
    }

    #[test]
    fn a_command_array_is_resp_on_any_port() {
        assert_eq!(looks_like(b"*3\r\n$7\r\nPUBLISH\r\n", (40000, 41000)), Some(true));
        assert_eq!(looks_like(b"*3\r", (40000, 41000)), None);
        assert_eq!(looks_like(b">3\r\n$7\r\nmessage\r\n", (40000, 41000)), Some(true));
        assert_eq!(looks_like(b"+OK\r\n", (40000, 41000)), Some(false));
        assert_eq!(looks_like(b"+OK\r\n", (40000, PORT)), Some(true));
        assert_eq!(looks_like(b"GET / HTTP/1.1", (40000, 41000)), Some(false));
    }
}
