//! The application layer on synthetic TCP streams: RFC 6455 and RFC 7692
//! examples as byte vectors, handshake checks, Socket.IO packets, and a
//! property test of reassembly (random segment boundaries, reordering,
//! retransmission).

use proptest::prelude::*;
use wirelab::dissect::Dissector;
use wirelab::model::{AppEvent, Dissection, FrameMeta, MsgKind, Severity, Value};

const CLIENT: u16 = 50_000;
const SERVER: u16 = 9001;

/// A TCP connection built segment by segment (Ethernet, IPv4, TCP via
/// etherparse), dissected as it goes.
struct Conn {
    dis: Dissector,
    seq: [u32; 2],
    number: u64,
    frames: Vec<Dissection>,
    bytes: Vec<Vec<u8>>,
}

impl Conn {
    fn new() -> Conn {
        let mut c = Conn { dis: Dissector::new(), seq: [1000, 5000], number: 0, frames: vec![], bytes: vec![] };
        c.raw(0, c.seq[0], &[], true);
        c.seq[0] += 1;
        c.raw(1, c.seq[1], &[], true);
        c.seq[1] += 1;
        c
    }

    /// Sends `payload` from `dir` (0 client, 1 server) at sequence `seq`.
    fn raw(&mut self, dir: usize, seq: u32, payload: &[u8], syn: bool) -> &Dissection {
        let (sp, dp) = if dir == 0 { (CLIENT, SERVER) } else { (SERVER, CLIENT) };
        let mut b = etherparse::PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .tcp(sp, dp, seq, 65535);
        if syn {
            b = b.syn();
        }
        if !(syn && dir == 0) {
            b = b.ack(self.seq[dir ^ 1]);
        }
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        self.number += 1;
        let meta = FrameMeta {
            number: self.number,
            ts_sec: 1_700_000_000,
            ts_nsec: self.number as u32 * 1000,
            len: v.len() as u32,
            caplen: v.len() as u32,
            linktype: 1,
        };
        let mut d = Dissection::default();
        self.dis.dissect(meta, &v, &mut d);
        self.frames.push(d);
        self.bytes.push(v);
        self.frames.last().unwrap()
    }

    fn send(&mut self, dir: usize, payload: &[u8]) -> &Dissection {
        let seq = self.seq[dir];
        self.seq[dir] = seq.wrapping_add(payload.len() as u32);
        self.raw(dir, seq, payload, false)
    }

    fn events(&self) -> Vec<&AppEvent> {
        self.frames.iter().flat_map(|d| d.events.iter()).collect()
    }

    fn handshake(&mut self, extensions: Option<&str>) {
        let ext = extensions.map(|e| format!("Sec-WebSocket-Extensions: {e}\r\n")).unwrap_or_default();
        let req = format!(
            "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n"
        );
        self.send(0, req.as_bytes());
        let resp = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n{ext}\r\n"
        );
        self.send(1, resp.as_bytes());
    }
}

fn field<'a>(d: &'a Dissection, name: &str) -> Option<&'a wirelab::model::Field> {
    d.field(name)
}

/// The bytes of a field, from whichever data source holds them.
fn bytes_of(d: &Dissection, frame: &[u8], name: &str) -> Vec<u8> {
    d.find(frame, name).unwrap_or_else(|| panic!("no {name}")).bytes().to_vec()
}

fn text_of(c: &Conn, i: usize, name: &str) -> String {
    String::from_utf8(bytes_of(&c.frames[i], &c.bytes[i], name)).unwrap()
}

#[test]
fn rfc6455_1_3_accept_key_is_computed_and_checked_step_by_step() {
    let (concat, sha, b64) = wirelab::dissect::app::http::accept_for("dGhlIHNhbXBsZSBub25jZQ==");
    assert_eq!(concat, "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    assert_eq!(wirelab::model::hex(&sha), "b37a4f2cc0624f1690f64606cf385945b2bec4ea");
    assert_eq!(b64, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    let mut c = Conn::new();
    c.handshake(None);
    let resp = c.frames.last().unwrap();
    assert_eq!(field(resp, "http.response.code").unwrap().value, Value::U(101));
    assert_eq!(field(resp, "http.sec_websocket_accept.valid").unwrap().value, Value::Bool(true));
    assert!(resp.notes.iter().any(|n| n.message.contains("step 2 of 2")));
    assert!(c.frames[2].notes.iter().any(|n| n.message.contains("step 1 of 2")));
    assert_eq!(text_of(&c, 2, "http.sec_websocket_key"), "dGhlIHNhbXBsZSBub25jZQ==");
}

#[test]
fn a_wrong_accept_and_a_bad_request_are_errors_that_cite_the_rfc() {
    let mut c = Conn::new();
    c.send(0, b"POST /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: keep-alive\r\nSec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 8\r\n\r\n");
    let errors: Vec<&str> =
        c.frames[2].notes.iter().filter(|n| n.severity == Severity::Error).map(|n| n.message.as_ref()).collect();
    for needle in ["must be a GET", "no Host header", "must contain \"Upgrade\"", "decodes to 5 bytes", "must be 13"] {
        assert!(errors.iter().any(|e| e.contains(needle)), "missing {needle:?} in {errors:#?}");
    }
    c.send(1, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n");
    let resp = c.frames.last().unwrap();
    assert_eq!(field(resp, "http.sec_websocket_accept.valid").unwrap().value, Value::Bool(false));
    assert!(resp.notes.iter().any(|n| n.severity == Severity::Error && n.message.contains("must fail the connection")));
}

#[test]
fn rfc6455_5_7_examples() {
    let mut c = Conn::new();
    c.handshake(None);
    // A single-frame unmasked text message (server to client).
    let d = c.send(1, &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    assert_eq!(field(d, "websocket.opcode").unwrap().value, Value::U(1));
    assert_eq!(field(d, "websocket.fin").unwrap().value, Value::Bool(true));
    assert_eq!(field(d, "websocket.mask").unwrap().value, Value::Bool(false));
    assert_eq!(field(d, "websocket.payload_length").unwrap().value, Value::U(5));
    let i = c.frames.len() - 1;
    assert_eq!(text_of(&c, i, "websocket.payload.text"), "Hello");
    // A single-frame masked text message (client to server).
    c.send(0, &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    let i = c.frames.len() - 1;
    assert_eq!(bytes_of(&c.frames[i], &c.bytes[i], "websocket.masking_key"), [0x37, 0xfa, 0x21, 0x3d]);
    assert_eq!(text_of(&c, i, "websocket.payload.text"), "Hello");
    let unmasked = c.frames[i].field("websocket.payload.text").unwrap().span.source;
    assert!(unmasked > 0 && c.frames[i].sources[usize::from(unmasked) - 1].name == "Unmasked data");
    // A fragmented unmasked text message: "Hel" + "lo".
    c.send(1, &[0x01, 0x03, 0x48, 0x65, 0x6c]);
    let d = c.send(1, &[0x80, 0x02, 0x6c, 0x6f]);
    assert_eq!(field(d, "websocket.fragment.count").unwrap().value, Value::U(2));
    let i = c.frames.len() - 1;
    assert_eq!(text_of(&c, i, "websocket.payload.text"), "Hello");
    // Unmasked ping, masked pong.
    c.send(1, &[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    let i = c.frames.len() - 1;
    assert_eq!(bytes_of(&c.frames[i], &c.bytes[i], "websocket.payload.ping"), b"Hello");
    c.send(0, &[0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    let i = c.frames.len() - 1;
    assert_eq!(bytes_of(&c.frames[i], &c.bytes[i], "websocket.payload.pong"), b"Hello");
    // 256 bytes binary in one unmasked frame (16-bit length).
    let mut m = vec![0x82, 0x7e, 0x01, 0x00];
    m.extend((0..=255u8).collect::<Vec<_>>());
    let d = c.send(1, &m);
    assert_eq!(field(d, "websocket.payload_length_ext_16").unwrap().value, Value::U(256));
    // 64 KiB binary in one unmasked frame (64-bit length), over several segments.
    let mut m = vec![0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0];
    m.extend(std::iter::repeat_n(0x42u8, 65_536));
    for chunk in m.chunks(20_000) {
        c.send(1, chunk);
    }
    let d = c.frames.last().unwrap();
    assert_eq!(field(d, "websocket.payload_length_ext_64").unwrap().value, Value::U(65_536));
    assert_eq!(field(d, "tcp.segment.count").unwrap().value, Value::U(4));
    assert!(d.sources.iter().any(|s| s.name.starts_with("Reassembled TCP (65546 bytes")));
    let ev = c.events();
    let kinds: Vec<&str> = ev.iter().filter(|e| !e.kind.is_tcp()).map(|e| e.kind.name()).collect();
    assert_eq!(&kinds[2..], ["ws-text", "ws-text", "ws-text", "ws-ping", "ws-pong", "ws-binary", "ws-binary"]);
    assert_eq!(ev.last().unwrap().frames.len(), 4, "the 64 KiB message names the four frames that carried it");
}

#[test]
fn rfc7692_7_2_3_compressed_hello_with_and_without_context_takeover() {
    // Context takeover: the second "Hello" refers back to the first.
    let mut c = Conn::new();
    c.handshake(Some("permessage-deflate"));
    c.send(1, &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    let i = c.frames.len() - 1;
    assert_eq!(field(&c.frames[i], "websocket.pmc").unwrap().value, Value::Bool(true));
    assert_eq!(text_of(&c, i, "websocket.payload.text"), "Hello");
    c.send(1, &[0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00]);
    let i = c.frames.len() - 1;
    assert_eq!(text_of(&c, i, "websocket.payload.text"), "Hello");
    assert!(c.frames[i].sources.iter().any(|s| s.name.starts_with("Decompressed message")));
    // No context takeover: each message stands alone.
    let mut c = Conn::new();
    c.handshake(Some("permessage-deflate; server_no_context_takeover"));
    for _ in 0..2 {
        c.send(1, &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        let i = c.frames.len() - 1;
        assert_eq!(text_of(&c, i, "websocket.payload.text"), "Hello");
    }
    // RFC 7692 §7.2.3.4: with BFINAL set at the end.
    c.send(1, &[0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00]);
    let i = c.frames.len() - 1;
    assert_eq!(text_of(&c, i, "websocket.payload.text"), "Hello");
}

#[test]
fn conformance_notes_teach_the_rules() {
    let mut c = Conn::new();
    c.handshake(None);
    let note = |d: &Dissection, s: &str| d.notes.iter().any(|n| n.message.contains(s));
    assert!(note(c.send(0, &[0x81, 0x02, b'h', b'i']), "unmasked frame from the client"));
    assert!(note(c.send(1, &[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2]), "masked frame from the server"));
    let mut big_ping = vec![0x89, 0x7e, 0x00, 0x80];
    big_ping.extend([0u8; 128]);
    assert!(note(c.send(1, &big_ping), "at most 125 bytes"));
    assert!(note(c.send(1, &[0xa1, 0x01, b'x']), "reserved bits"));
    assert!(note(c.send(1, &[0x83, 0x00]), "opcode 3 is reserved"));
    assert!(note(c.send(1, &[0x81, 0x7e, 0x00, 0x03, b'a', b'b', b'c']), "shortest form"));
    assert!(note(c.send(1, &[0x81, 0x02, 0xc3, 0x28]), "not valid UTF-8"));
    assert!(note(c.send(1, &[0x88, 0x02, 0x03, 0xed]), "close code 1005 may not be sent"));
    assert!(note(c.send(1, &[0x81, 0x01, b'x']), "after this side's close frame"));
}

#[test]
fn websocket_without_a_captured_handshake_is_recognised_on_the_demo_ports() {
    let mut c = Conn::new();
    let d = c.send(1, &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    assert_eq!(d.summary.protocol, "WebSocket");
    assert!(d.notes.iter().any(|n| n.message.contains("handshake of this connection was not captured")));
}

#[test]
fn socketio_packets_inside_websocket_frames() {
    let mut c = Conn::new();
    c.send(0, b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    c.send(1, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
    let text = |t: &str| {
        let mut v = vec![0x81, t.len() as u8];
        v.extend_from_slice(t.as_bytes());
        v
    };
    let d = c.send(1, &text(r#"42["chat message",{"text":"hi"}]"#)).clone();
    assert_eq!(d.field("engineio.type").unwrap().value, Value::U(4));
    assert_eq!(d.field("socketio.type").unwrap().value, Value::U(2));
    let i = c.frames.len() - 1;
    assert_eq!(text_of(&c, i, "socketio.event"), "chat message");
    assert_eq!(text_of(&c, i, "socketio.args"), r#"{"text":"hi"}"#);
    assert_eq!(text_of(&c, i, "socketio.nsp"), "");
    let d = c.send(1, &text(r#"42/admin,7["welcome","hello"]"#)).clone();
    let i = c.frames.len() - 1;
    assert_eq!(text_of(&c, i, "socketio.nsp"), "/admin");
    assert_eq!(d.field("socketio.ack_id").unwrap().value, Value::U(7));
    let d = c.send(1, &text(r#"451-["upload",{"_placeholder":true,"num":0}]"#)).clone();
    assert_eq!(d.field("socketio.attachments").unwrap().value, Value::U(1));
    let d = c.send(1, &[0x82, 0x03, 1, 2, 3]).clone();
    assert_eq!(d.field("socketio.attachment").unwrap().value, Value::U(d.meta.number - 1));
    let d = c.send(1, &text(r#"42["disconnect"]"#)).clone();
    assert!(d.notes.iter().any(|n| n.severity == Severity::Warning && n.message.contains("reserved event name")));
    let d = c.send(1, &text("2probe")).clone();
    assert!(d.notes.iter().any(|n| n.message.contains("upgrade, step 1")));
    assert_eq!(c.events().iter().filter(|e| e.kind.is_socketio() && e.kind != MsgKind::SioAttachment).count(), 4);
}

/// Frames a message (text or binary), masked when the client sends it.
fn encode(payload: &[u8], text: bool, masked: bool, key: [u8; 4]) -> Vec<u8> {
    let mut v = vec![0x80 | if text { 1 } else { 2 }];
    let m = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => v.push(m | n as u8),
        n if n < 65_536 => {
            v.push(m | 126);
            v.extend((n as u16).to_be_bytes());
        }
        n => {
            v.push(m | 127);
            v.extend((n as u64).to_be_bytes());
        }
    }
    if masked {
        v.extend(key);
        v.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        v.extend_from_slice(payload);
    }
    v
}

/// Every message delivered on a connection, read from the dissections.
fn delivered(c: &Conn) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (d, b) in c.frames.iter().zip(&c.bytes) {
        for f in d.refs(b) {
            if f.def().name == "websocket.payload.text" || f.def().name == "websocket.payload.binary" {
                out.push(f.bytes().to_vec());
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Messages framed by an encoder, cut at random segment boundaries,
    /// delivered with some segments swapped and some sent twice, dissect to
    /// the same messages in the same order.
    #[test]
    fn random_segmentation_reordering_and_retransmission_keep_messages_intact(
        msgs in prop::collection::vec((prop::collection::vec(any::<u8>(), 0..3000), any::<bool>()), 1..12),
        cuts in prop::collection::vec(1usize..4000, 1..40),
        swaps in prop::collection::vec(any::<bool>(), 40),
        dups in prop::collection::vec(any::<bool>(), 40),
        from_client in any::<bool>(),
    ) {
        let mut c = Conn::new();
        c.handshake(None);
        let dir = if from_client { 0 } else { 1 };
        let msgs: Vec<(Vec<u8>, bool)> = msgs
            .into_iter()
            .map(|(m, text)| if text { (String::from_utf8_lossy(&m).into_owned().into_bytes(), true) } else { (m, false) })
            .collect();
        let mut stream = Vec::new();
        for (i, (m, text)) in msgs.iter().enumerate() {
            stream.extend(encode(m, *text, from_client, [i as u8, 0x5a, 0xa5, 0x3c]));
        }
        // Cut into segments.
        let mut segs: Vec<(u32, Vec<u8>)> = Vec::new();
        let mut at = 0;
        let base = c.seq[dir];
        for cut in cuts.iter().cycle() {
            if at >= stream.len() { break; }
            let end = (at + cut).min(stream.len());
            segs.push((base.wrapping_add(at as u32), stream[at..end].to_vec()));
            at = end;
        }
        // Swap neighbours (reordering) and repeat some (retransmission).
        let mut order: Vec<usize> = (0..segs.len()).collect();
        let mut i = 0;
        while i + 1 < order.len() {
            if swaps[i % swaps.len()] { order.swap(i, i + 1); i += 2; } else { i += 1; }
        }
        for (k, &s) in order.iter().enumerate() {
            let (seq, bytes) = &segs[s];
            c.raw(dir, *seq, bytes, false);
            if dups[k % dups.len()] { c.raw(dir, *seq, bytes, false); }
        }
        let got = delivered(&c);
        let want: Vec<Vec<u8>> = msgs.iter().map(|(m, _)| m.clone()).collect();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn a_decompression_bomb_is_cut_off_with_a_note() {
    use std::io::Write;
    let mut c = Conn::new();
    c.handshake(Some("permessage-deflate"));
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 40 << 20]).unwrap();
    let mut comp = z.finish().unwrap();
    comp.truncate(comp.len().saturating_sub(0));
    let mut frame = vec![0xc2, 0x7e];
    frame.extend((comp.len() as u16).to_be_bytes());
    frame.extend(&comp);
    for chunk in frame.chunks(30_000) {
        c.send(1, chunk);
    }
    let d = c.frames.last().unwrap();
    assert!(d.notes.iter().any(|n| n.message.contains("decompression bomb")), "{:#?}", d.notes);
    let len = d.field("websocket.decompressed.length").unwrap().value.as_u64().unwrap();
    assert!(len <= 16 << 20, "inflated {len} bytes");
}

#[test]
fn a_hostile_length_cannot_make_wirelab_buffer_without_limit() {
    let mut c = Conn::new();
    c.handshake(None);
    // A frame that claims 2^40 bytes, followed by a lot of data.
    let mut hdr = vec![0x82, 0x7f];
    hdr.extend((1u64 << 40).to_be_bytes());
    c.send(1, &hdr);
    assert!(c.frames.last().unwrap().notes.iter().any(|n| n.message.contains("larger than wirelab buffers")));
    for _ in 0..50 {
        c.send(1, &[0u8; 60_000]);
    }
    // The skipped bytes are shown as segment data, not buffered.
    let d = c.frames.last().unwrap();
    assert!(d.notes.iter().any(|n| n.message.contains("too large for wirelab to buffer")));
    assert!(d.field("tcp.segment_data").is_some());
}

#[test]
fn a_gap_the_capture_never_filled_is_reported_and_the_stream_resynchronises() {
    let mut c = Conn::new();
    c.handshake(None);
    c.send(1, &[0x81, 0x03, b'o', b'n', b'e']);
    // A segment the capture missed: the sequence numbers jump.
    c.seq[1] = c.seq[1].wrapping_add(7);
    c.send(1, &[0x81, 0x03, b't', b'w', b'o']);
    // The client acknowledges everything, including the bytes we never saw.
    c.send(0, &[0x81, 0x80, 0, 0, 0, 0]);
    c.send(1, &[0x81, 0x05, b't', b'h', b'r', b'e', b'e']);
    let notes: Vec<String> = c.frames.iter().flat_map(|d| d.notes.iter().map(|n| n.message.to_string())).collect();
    assert!(notes.iter().any(|n| n.contains("7 bytes of this stream were never captured")), "{notes:#?}");
    let texts: Vec<String> = delivered(&c).into_iter().map(|b| String::from_utf8(b).unwrap()).collect();
    assert_eq!(texts, ["one", "", "two", "three"]);
}

#[test]
fn demo_messages_are_found_in_the_tcp_byte_stream_whatever_the_segment_boundaries() {
    // Three requests in one byte stream, cut so that one message spans two
    // segments and one segment holds the end of one and the start of another.
    let mut stream = Vec::new();
    for seq in 0..3u32 {
        stream.extend(wirelab::dissect::app::demo::request(seq, 40));
    }
    let mut c = Conn::new();
    for chunk in [&stream[..15], &stream[15..75], &stream[75..]] {
        c.send(0, chunk);
    }
    // The server answers the second request.
    let mut reply = wirelab::dissect::app::demo::request(1, 40);
    wirelab::dissect::app::demo::make_reply(&mut reply);
    c.send(1, &reply);
    let events: Vec<(MsgKind, Option<u64>)> =
        c.events().iter().filter(|e| !e.kind.is_tcp()).map(|e| (e.kind, e.ack_id)).collect();
    assert_eq!(
        events,
        [
            (MsgKind::DemoRequest, Some(0)),
            (MsgKind::DemoRequest, Some(1)),
            (MsgKind::DemoRequest, Some(2)),
            (MsgKind::DemoReply, Some(1))
        ]
    );
    // The first request was completed by the second segment, from a reassembled source.
    let seq = c.frames[3].find(&c.bytes[3], "demo.seq").expect("the first message completes in frame 4");
    assert_eq!(seq.value().as_u64(), Some(0));
    assert!(seq.source_name().starts_with("Reassembled TCP"), "{}", seq.source_name());
    // Messages of the session API: the reply answers its request.
    let all: Vec<AppEvent> = c.frames.iter().flat_map(|d| d.events.iter().cloned()).collect();
    let m = wirelab::messages::correlate(all);
    let reply = m.iter().position(|m| m.kind() == MsgKind::DemoReply).unwrap();
    let asked = m[reply].answers.expect("the reply answers a request");
    assert_eq!((m[asked].kind(), m[asked].event.ack_id), (MsgKind::DemoRequest, Some(1)));
}
