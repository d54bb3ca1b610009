//! Fuzzes the stream dissectors: the input becomes TCP segments of one
//! connection (sizes, directions and order taken from the input itself),
//! optionally after a WebSocket or Socket.IO handshake, and every frame is
//! dissected (TLS records decrypted with the seed captures' key logs, or
//! a key log the input brings). Nothing may panic, and spans must stay inside their data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab::dissect::Dissector;
use wirelab::dissect::app::tls::keylog::KeyLog;
use wirelab::model::{Dissection, FrameMeta};

const HANDSHAKES: [&[u8]; 4] = [
    b"",
    b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
    b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
];
const RESPONSES: [&[u8]; 4] = [
    b"",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
];

struct Conn {
    dis: Dissector,
    d: Dissection,
    seq: [u32; 2],
    n: u64,
}

impl Conn {
    fn segment(&mut self, dir: usize, seq: u32, payload: &[u8], syn: bool) {
        let (sp, dp) = if dir == 0 { (50_000, 9002) } else { (9002, 50_000) };
        let mut b = etherparse::PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .tcp(sp, dp, seq, 1024);
        if syn {
            b = b.syn();
        } else {
            b = b.ack(self.seq[dir ^ 1]);
        }
        let mut v = Vec::new();
        if b.write(&mut v, payload).is_err() {
            return;
        }
        self.n += 1;
        let meta = FrameMeta {
            number: self.n,
            ts_sec: 1,
            ts_nsec: 0,
            len: v.len() as u32,
            caplen: v.len() as u32,
            linktype: 1,
        };
        self.dis.dissect(meta, &v, &mut self.d);
        for l in &self.d.layers {
            let len = self.d.source_bytes(&v, l.span.source).len();
            assert!(l.span.end() <= len);
            for f in self.d.layer_fields(l) {
                assert!(f.span.end() <= self.d.source_bytes(&v, f.span.source).len());
            }
        }
    }
    fn send(&mut self, dir: usize, payload: &[u8]) {
        let s = self.seq[dir];
        self.seq[dir] = s.wrapping_add(payload.len() as u32);
        self.segment(dir, s, payload, false);
    }
}

/// Key logs of TLS captures whose records seed the corpus, so that their
/// mutations reach decryption and the protocols inside.
const KEY_LOGS: [&str; 2] = [
    include_str!("../../captures/tls/py-websockets-tls13.keys"),
    include_str!("../../captures/tls/py-websockets-tls12-chacha.keys"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else { return };
    let mut keys = KeyLog::default();
    for k in KEY_LOGS {
        keys.add(k);
    }
    // Mode bit 7: the input starts with key log text of its own (to a NUL).
    if mode & 0x80 != 0 {
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        keys.add(&String::from_utf8_lossy(&rest[..end]));
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    let mut dis = Dissector::new();
    dis.set_tls_keys(std::sync::Arc::new(keys));
    let mut c = Conn { dis, d: Dissection::default(), seq: [100, 900], n: 0 };
    c.segment(0, 99, &[], true);
    c.segment(1, 899, &[], true);
    let m = usize::from(mode & 3);
    if m > 0 {
        c.send(0, HANDSHAKES[m]);
        c.send(1, RESPONSES[m]);
    }
    // Then: [control byte][length byte][payload…] repeated. Control bit 0:
    // direction; bit 1: hold this segment back and send it after the next
    // (reordering); bit 2: send it twice (retransmission).
    let mut held: Option<(usize, u32, Vec<u8>)> = None;
    while rest.len() >= 2 {
        let ctl = rest[0];
        let len = usize::from(rest[1]).min(rest.len() - 2);
        let payload = rest[2..2 + len].to_vec();
        rest = &rest[2 + len..];
        let dir = usize::from(ctl & 1);
        let seq = c.seq[dir];
        c.seq[dir] = seq.wrapping_add(payload.len() as u32);
        if ctl & 2 != 0 && held.is_none() {
            held = Some((dir, seq, payload));
            continue;
        }
        c.segment(dir, seq, &payload, false);
        if ctl & 4 != 0 {
            c.segment(dir, seq, &payload, false);
        }
        if let Some((d, s, p)) = held.take() {
            c.segment(d, s, &p, false);
        }
    }
    if let Some((d, s, p)) = held.take() {
        c.segment(d, s, &p, false);
    }
});
