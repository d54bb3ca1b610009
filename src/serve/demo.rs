//! The tiny application protocol the TCP and UDP demo servers share, so the
//! two transports carry exactly the same bytes and can be compared fairly.
//!
//! Every message is a 20-byte header and a payload, all integers big-endian:
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
//! Over TCP the length field is what separates messages in the byte stream;
//! over UDP each datagram carries exactly one message.

use std::time::{SystemTime, UNIX_EPOCH};

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

/// Builds a request with `size` payload bytes.
pub fn request(seq: u32, size: usize) -> Vec<u8> {
    let size = size.min(MAX_PAYLOAD);
    let mut out = Vec::with_capacity(HEADER_LEN + size);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.push(KIND_REQUEST);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&now_us().to_be_bytes());
    out.extend_from_slice(&(size as u32).to_be_bytes());
    out.extend((0..size).map(|i| b'a' + (i % 26) as u8));
    out
}

/// Reads and checks a header from the start of `buf`.
pub fn parse_header(buf: &[u8]) -> Result<Header, DemoError> {
    if buf.len() < HEADER_LEN {
        return Err(DemoError::Short(buf.len()));
    }
    if &buf[0..2] != MAGIC {
        return Err(DemoError::Magic([buf[0], buf[1]]));
    }
    if buf[2] != VERSION {
        return Err(DemoError::Version(buf[2]));
    }
    let length = u32::from_be_bytes(buf[16..20].try_into().unwrap_or_default());
    if length as usize > MAX_PAYLOAD {
        return Err(DemoError::TooLong(length));
    }
    Ok(Header {
        kind: buf[3],
        seq: u32::from_be_bytes(buf[4..8].try_into().unwrap_or_default()),
        sent_us: u64::from_be_bytes(buf[8..16].try_into().unwrap_or_default()),
        length,
    })
}

/// Turns a request into its reply in place (only the kind byte changes).
pub fn make_reply(msg: &mut [u8]) {
    if msg.len() > 3 {
        msg[3] = KIND_REPLY;
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
}
