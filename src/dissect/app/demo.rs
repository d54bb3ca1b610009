//! wirelab's demo protocol: the little request/reply protocol the TCP and
//! UDP demo servers share, so both transports carry exactly the same bytes.
//! One declaration of the layout serves the servers (building and checking
//! messages) and the dissector (placing fields at the same offsets).
//!
//! Every message is a 20-byte header and a payload, integers big-endian:
//!
//! ```text
//! offset size field
//!      0    2 magic    "WL"
//!      2    1 version  1
//!      3    1 kind     1 = request (client to server), 2 = reply (server to client)
//!      4    4 seq      message number, counted from 0 by the client
//!      8    8 sent_us  when the client sent the request, microseconds since the Unix epoch
//!     16    4 length   number of payload bytes that follow
//!     20    n payload  filler bytes ("abc…z" repeated)
//! ```
//!
//! The server answers each request with the same message, kind changed to 2.
//! Over TCP the length field is what separates messages in the byte stream
//! (the reassembly of `app/mod.rs` asks [`pdu_len`]); over UDP each datagram
//! carries exactly one message.

use std::time::{SystemTime, UNIX_EPOCH};

use super::super::{At, Cx};
use super::PduLen;
use crate::model::{MsgKind, Protocol, TcpIpLayer, Value};
use crate::{fields, notes};

/// The header's layout: byte ranges (the single source of truth).
pub mod field {
    use std::ops::Range;
    pub const MAGIC: Range<usize> = 0..2;
    pub const VERSION: usize = 2;
    pub const KIND: usize = 3;
    pub const SEQ: Range<usize> = 4..8;
    pub const SENT_US: Range<usize> = 8..16;
    pub const LENGTH: Range<usize> = 16..20;
}

pub const MAGIC: &[u8; 2] = b"WL";
pub const VERSION: u8 = 1;
pub const HEADER_LEN: usize = 20;
pub const KIND_REQUEST: u8 = 1;
pub const KIND_REPLY: u8 = 2;
/// Largest payload a demo message may carry (fits one UDP datagram on loopback).
pub const MAX_PAYLOAD: usize = 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub kind: u8,
    pub seq: u32,
    pub sent_us: u64,
    pub length: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DemoError {
    #[error("message shorter than the 20-byte header ({0} bytes)")]
    Short(usize),
    #[error("bad magic {0:02x?}: not a wirelab demo message (expected \"WL\")")]
    Magic([u8; 2]),
    #[error("unsupported version {0} (this wirelab speaks version 1)")]
    Version(u8),
    #[error("payload length {0} is over the limit of {MAX_PAYLOAD} bytes")]
    TooLong(u32),
}

pub fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

fn be<const N: usize>(b: &[u8], r: std::ops::Range<usize>) -> [u8; N] {
    b.get(r).and_then(|s| s.try_into().ok()).unwrap_or([0; N])
}

/// Builds a request with `size` payload bytes.
pub fn request(seq: u32, size: usize) -> Vec<u8> {
    let size = size.min(MAX_PAYLOAD);
    let mut out = vec![0u8; HEADER_LEN];
    out[field::MAGIC].copy_from_slice(MAGIC);
    out[field::VERSION] = VERSION;
    out[field::KIND] = KIND_REQUEST;
    out[field::SEQ].copy_from_slice(&seq.to_be_bytes());
    out[field::SENT_US].copy_from_slice(&now_us().to_be_bytes());
    out[field::LENGTH].copy_from_slice(&(size as u32).to_be_bytes());
    out.extend((0..size).map(|i| b'a' + (i % 26) as u8));
    out
}

/// Reads and checks a header from the start of `buf`.
pub fn parse_header(buf: &[u8]) -> Result<Header, DemoError> {
    if buf.len() < HEADER_LEN {
        return Err(DemoError::Short(buf.len()));
    }
    if buf.get(field::MAGIC) != Some(&MAGIC[..]) {
        return Err(DemoError::Magic(be(buf, field::MAGIC)));
    }
    if buf[field::VERSION] != VERSION {
        return Err(DemoError::Version(buf[field::VERSION]));
    }
    let length = u32::from_be_bytes(be(buf, field::LENGTH));
    if length as usize > MAX_PAYLOAD {
        return Err(DemoError::TooLong(length));
    }
    Ok(Header {
        kind: buf[field::KIND],
        seq: u32::from_be_bytes(be(buf, field::SEQ)),
        sent_us: u64::from_be_bytes(be(buf, field::SENT_US)),
        length,
    })
}

/// Turns a request into its reply in place (only the kind byte changes).
pub fn make_reply(msg: &mut [u8]) {
    if let Some(k) = msg.get_mut(field::KIND) {
        *k = KIND_REPLY;
    }
}

/// Whether bytes start like a demo message (magic, and the version when there).
pub fn looks_like(buf: &[u8]) -> bool {
    buf.starts_with(MAGIC) && buf.get(field::VERSION).is_none_or(|v| *v == VERSION)
}

pub static DEMO: Protocol = Protocol {
    name: "demo",
    short: "Demo",
    label: "wirelab demo protocol",
    osi: 7,
    tcpip: TcpIpLayer::Application,
    explain: "The little protocol of wirelab's TCP and UDP demo servers: a numbered request, and the server's \
reply carrying the same number. The same bytes travel over both transports, so what differs between them \
(order, loss, duplicates, delay) is the transport's doing, not the application's.",
};

pub const KINDS: &[(u64, &str)] = &[(1, "request"), (2, "reply")];

fields! { proto = &DEMO;
    F_MAGIC: "demo.magic" { label: "Magic", ty: Bytes, base: Hex(0), explain: "The two letters \"WL\": a receiver checks them to know this is a demo message at all." };
    F_VERSION: "demo.version" { label: "Version", ty: U8, explain: "The protocol's version, 1; a receiver refuses versions it does not know." };
    F_KIND: "demo.kind" { label: "Kind", ty: U8, values: KINDS, explain: "1 a request from the client, 2 the server's reply to it." };
    F_SEQ: "demo.seq" { label: "Sequence number", ty: U32, explain: "The message's number, counted from 0 by the client; the reply carries the request's number, which is how the client matches them (and notices what was lost, doubled or reordered)." };
    F_SENT: "demo.sent_time" { label: "Sent at (µs)", ty: U64, explain: "When the client sent the request, in microseconds since 1970; the reply keeps it, so the client computes the round-trip time from its own clock." };
    F_LENGTH: "demo.length" { label: "Payload length", ty: U32, explain: "How many payload bytes follow the 20-byte header. Over TCP this is what separates one message from the next in the byte stream." };
    F_PAYLOAD: "demo.payload" { label: "Payload", ty: Bytes, base: Hex(0), explain: "Filler bytes (\"abc…\") that give the message its size." };
}

notes! { proto = &DEMO;
    TRUNCATED: "demo.expert.truncated" { severity: Error, explain: "The datagram ends before the 20-byte header or the payload its length announces: the message is incomplete." };
    BAD_VERSION: "demo.expert.bad_version" { severity: Warning, explain: "The version is not 1: a demo server would refuse this message." };
}

/// Over TCP: how long the next message is.
pub fn pdu_len(buf: &[u8]) -> PduLen {
    if buf.len() < HEADER_LEN {
        return if looks_like(buf) || buf.len() < 2 && MAGIC.starts_with(buf) { PduLen::Need } else { PduLen::NotMine };
    }
    match parse_header(buf) {
        Ok(h) => PduLen::Len(HEADER_LEN + h.length as usize),
        Err(_) => PduLen::NotMine,
    }
}

/// Dissects one message in `at` (all of it: a TCP PDU or a UDP datagram's
/// payload). `dir` is the TCP direction, or None over UDP (no event then).
pub fn dissect(cx: &mut Cx<'_>, at: At<'_>, dir: Option<usize>) {
    let b = at.bytes;
    let layer = cx.begin_layer_at(&DEMO, &at, 0);
    cx.add_at(0, &F_MAGIC, Value::Bytes, &at, field::MAGIC.start, 2.min(b.len()));
    if b.len() < HEADER_LEN {
        cx.note_at(&TRUNCATED, &at, 0, b.len(), format!("only {} of the 20 header bytes", b.len()));
        cx.end_layer(layer, b.len());
        return;
    }
    let version = cx.uint_at(0, &F_VERSION, &at, field::VERSION, 1);
    if version != u64::from(VERSION) {
        cx.note_at(&BAD_VERSION, &at, field::VERSION, 1, format!("version {version}, not 1"));
    }
    let kind = cx.uint_at(0, &F_KIND, &at, field::KIND, 1);
    let seq = cx.uint_at(0, &F_SEQ, &at, field::SEQ.start, 4);
    cx.uint_at(0, &F_SENT, &at, field::SENT_US.start, 8);
    let length = cx.uint_at(0, &F_LENGTH, &at, field::LENGTH.start, 4) as usize;
    let have = b.len() - HEADER_LEN;
    if have > 0 {
        cx.add_at(0, &F_PAYLOAD, Value::Bytes, &at, HEADER_LEN, have.min(length));
    }
    if have < length {
        cx.note_at(
            &TRUNCATED,
            &at,
            HEADER_LEN,
            have,
            format!("the header announces {length} payload bytes, {have} are here"),
        );
    }
    cx.end_layer(layer, b.len());
    let what = match kind {
        1 => "request",
        2 => "reply",
        _ => "message",
    };
    cx.set_protocol("Demo");
    cx.set_info(format_args!("Demo {what} seq={seq} len={length}"));
    if let Some(dir) = dir {
        let k = if kind == 2 { MsgKind::DemoReply } else { MsgKind::DemoRequest };
        cx.event(dir, k, format!("{what} seq={seq} ({length} bytes)")).ack_id = Some(seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trips() {
        let m = request(7, 5);
        assert_eq!(m.len(), 25);
        assert_eq!(&m[20..], b"abcde");
        let h = parse_header(&m).unwrap();
        assert_eq!((h.kind, h.seq, h.length), (KIND_REQUEST, 7, 5));
        assert!(h.sent_us > 1_600_000_000_000_000);
        let mut r = m.clone();
        make_reply(&mut r);
        assert_eq!(parse_header(&r).unwrap().kind, KIND_REPLY);
        assert_eq!(parse_header(b"XY"), Err(DemoError::Short(2)));
        let mut bad = m;
        bad[0] = b'X';
        assert!(matches!(parse_header(&bad), Err(DemoError::Magic(_))));
    }

    #[test]
    fn the_stream_asks_for_whole_messages() {
        assert!(matches!(pdu_len(b"W"), PduLen::Need));
        assert!(matches!(pdu_len(b"WL\x01\x01"), PduLen::Need));
        assert!(matches!(pdu_len(b"GET / HTTP/1.1\r\n\r\n\r\n"), PduLen::NotMine));
        assert!(matches!(pdu_len(&request(3, 10)), PduLen::Len(30)));
    }
}
