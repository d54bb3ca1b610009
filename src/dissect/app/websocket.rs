//! WebSocket frames (RFC 6455 §5) and permessage-deflate (RFC 7692).

use std::fmt::Write as _;

use miniz_oxide::inflate::stream::{InflateState, inflate as inflate_raw};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

use super::super::{At, Cx, read_be};
use super::{AppStream, PduLen, engineio};
use crate::model::{MsgKind, NoteDef, Protocol, TcpIpLayer, Value};
use crate::{fields, notes};

pub static WEBSOCKET: Protocol = Protocol {
    name: "websocket",
    short: "WebSocket",
    label: "WebSocket",
    osi: 5,
    tcpip: TcpIpLayer::Application,
    explain: "WebSocket turns one TCP connection into a long-lived, two-way channel of messages: it opens with an \
HTTP handshake, carries frames in both directions at any time (the server can push without being asked), and \
closes with a close handshake. Opening, keeping and closing such a dialogue is the session layer's job (OSI 5); \
the masking and compression of payloads are presentation concerns (OSI 6) carried in the same frames.",
};

pub const OPCODES: &[(u64, &str)] =
    &[(0, "Continuation"), (1, "Text"), (2, "Binary"), (8, "Connection Close"), (9, "Ping"), (10, "Pong")];

pub const CLOSE_CODES: &[(u64, &str)] = &[
    (1000, "Normal Closure"),
    (1001, "Going Away"),
    (1002, "Protocol error"),
    (1003, "Unsupported Data"),
    (1005, "No Status Received"),
    (1006, "Abnormal Closure"),
    (1007, "Invalid frame payload data"),
    (1008, "Policy Violation"),
    (1009, "Message Too Big"),
    (1010, "Mandatory Ext."),
    (1011, "Internal Server Error"),
    (1015, "TLS handshake"),
];

fields! { proto = &WEBSOCKET;
    FIN: "websocket.fin" { label: "Fin", ty: Bool, mask: 0x80, explain: "Set on the last frame of a message; a message may be split into several frames (fragmentation, RFC 6455 §5.4)." };
    RSV: "websocket.rsv" { label: "Reserved", ty: U8, base: Hex(2), mask: 0x70, explain: "Three bits for extensions; must be zero unless an extension negotiated in the handshake gives them a meaning." };
    PMC: "websocket.pmc" { label: "Per-Message Compressed", ty: Bool, mask: 0x40, explain: "RSV1 under permessage-deflate: this message's payload is compressed (RFC 7692 §6)." };
    OPCODE: "websocket.opcode" { label: "Opcode", ty: U8, mask: 0x0f, values: OPCODES, explain: "What the frame carries: 1 text, 2 binary, 0 the continuation of a message; 8 close, 9 ping, 10 pong are control frames." };
    MASK: "websocket.mask" { label: "Mask", ty: Bool, mask: 0x80, explain: "Set when the payload is masked. Every frame from a client must be masked and no frame from a server may be (RFC 6455 §5.1); masking protects proxies from forged requests." };
    PAYLOAD_LENGTH: "websocket.payload_length" { label: "Payload length", ty: U8, mask: 0x7f, explain: "The payload length if under 126; 126 means a 16-bit length follows, 127 a 64-bit one." };
    PAYLOAD_LENGTH_EXT_16: "websocket.payload_length_ext_16" { label: "Extended Payload length (16 bits)", ty: U16, explain: "The payload length, for payloads of 126 to 65,535 bytes." };
    PAYLOAD_LENGTH_EXT_64: "websocket.payload_length_ext_64" { label: "Extended Payload length (64 bits)", ty: U64, explain: "The payload length, for payloads of 65,536 bytes or more." };
    MASKING_KEY: "websocket.masking_key" { label: "Masking-Key", ty: Bytes, base: Hex(0), explain: "Four random bytes chosen by the client for this frame; payload byte i is XORed with key byte i mod 4." };
    MASKED_PAYLOAD: "websocket.masked_payload" { label: "Masked payload", ty: Bytes, base: Hex(0), explain: "The payload as it crossed the wire, masked." };
    PAYLOAD: "websocket.payload" { label: "Payload", ty: Bytes, base: Hex(0), explain: "The payload after unmasking: the application's bytes." };
    TEXT: "websocket.payload.text" { label: "Text", ty: Text, explain: "A text message: UTF-8, as required by RFC 6455 §5.6." };
    BINARY: "websocket.payload.binary" { label: "Binary", ty: Bytes, base: Hex(0), explain: "A binary message: bytes the application interprets." };
    CONTINUE: "websocket.payload.continue" { label: "Continuation", ty: Bytes, base: Hex(0), explain: "Part of a message begun in an earlier frame." };
    CLOSE: "websocket.payload.close" { label: "Close", ty: None, explain: "A close frame: this side will send no more messages; the other side answers with its own close (RFC 6455 §5.5.1)." };
    CLOSE_CODE: "websocket.payload.close.status_code" { label: "Close status code", ty: U16, values: CLOSE_CODES, explain: "Why the connection is closing (RFC 6455 §7.4): 1000 normal, 1001 going away, 1002 protocol error, 1009 message too big." };
    CLOSE_REASON: "websocket.payload.close.reason" { label: "Close reason", ty: Text, explain: "A human-readable reason, in UTF-8." };
    PING: "websocket.payload.ping" { label: "Ping", ty: Bytes, base: Hex(0), explain: "A ping: the other side must answer with a pong carrying the same payload (keep-alive, RFC 6455 §5.5.2)." };
    PONG: "websocket.payload.pong" { label: "Pong", ty: Bytes, base: Hex(0), explain: "The answer to a ping, echoing its payload." };
    UNKNOWN: "websocket.payload.unknown" { label: "Unknown payload", ty: Bytes, base: Hex(0), explain: "The payload of a frame with a reserved opcode." };
    REASSEMBLED_LENGTH: "websocket.reassembled.length" { label: "Reassembled length", ty: U32, explain: "The length of a message joined from several frames." };
    FRAGMENTS: "websocket.fragment.count" { label: "Fragment count", ty: U32, explain: "How many frames carried this message." };
    DECOMPRESSED_LENGTH: "websocket.decompressed.length" { label: "Decompressed length", ty: U32, explain: "The message's length after permessage-deflate decompression (RFC 7692)." };
}

notes! { proto = &WEBSOCKET;
    NON_MINIMAL_LENGTH: "websocket.expert.non_minimal_length" { severity: Error, cite: "RFC 6455 §5.2", explain: "A frame's payload length must be written in the shortest of its three forms (7, 16 or 64 bits). This one uses a longer form than needed, which the rules forbid." };
    LENGTH_HIGH_BIT: "websocket.expert.length_high_bit" { severity: Error, cite: "RFC 6455 §5.2", explain: "The 64-bit payload length must have its top bit at 0, so that it can never be read as a negative number. A receiver must reject this frame." };
    UNMASKED_CLIENT_FRAME: "websocket.expert.unmasked_client_frame" { severity: Error, cite: "RFC 6455 §5.1", explain: "Every frame a client sends must be masked (XORed with a random key), so that old proxies cannot be tricked into reading it as HTTP. A server that receives an unmasked frame must close the connection." };
    MASKED_SERVER_FRAME: "websocket.expert.masked_server_frame" { severity: Error, cite: "RFC 6455 §5.1", explain: "A server must never mask the frames it sends; only the client masks. A client that receives a masked frame must close the connection." };
    BAD_CONTROL_FRAME: "websocket.expert.bad_control_frame" { severity: Error, cite: "RFC 6455 §5.5", explain: "Control frames (close, ping, pong) must be short (at most 125 bytes of payload) and sent whole, never split into fragments, so they can be handled right away even in the middle of a long message." };
    RESERVED_BITS: "websocket.expert.reserved_bits" { severity: Error, cite: "RFC 6455 §5.2", explain: "The three RSV bits must be 0 unless an extension agreed on in the handshake gives them a meaning (permessage-deflate uses RSV1). A receiver must fail the connection when an unexplained bit is set." };
    RESERVED_OPCODE: "websocket.expert.reserved_opcode" { severity: Error, cite: "RFC 6455 §5.2", explain: "The opcode says what a frame carries, and only 0, 1, 2, 8, 9 and 10 are defined; the others are kept for future use. A receiver must fail the connection when it sees one." };
    FRAME_AFTER_CLOSE: "websocket.expert.frame_after_close" { severity: Warning, cite: "RFC 6455 §5.5.1", explain: "This side already sent a close frame, after which it must send no more data frames. Whatever it sends now will be ignored by the other side." };
    HANDSHAKE_NOT_CAPTURED: "websocket.expert.handshake_not_captured" { explain: "The HTTP request that opened this WebSocket is not in the capture, so wirelab recognised the frames by their shape. What the handshake agreed on, such as compression, is unknown, so some payloads may not be decoded." };
    BAD_CLOSE_PAYLOAD: "websocket.expert.bad_close_payload" { severity: Error, cite: "RFC 6455 §5.5.1", explain: "A close frame's payload is either empty or starts with a 2-byte status code. A single byte cannot be either, so the frame is malformed." };
    INVALID_CLOSE_CODE: "websocket.expert.invalid_close_code" { severity: Error, cite: "RFC 6455 §7.4.1", explain: "Some close codes are reserved or only for local use (1005 and 1006, for example, report a missing code or a dropped connection and must never be sent). This close frame carries one of them." };
    CLOSE_REASON_NOT_UTF8: "websocket.expert.close_reason_not_utf8" { severity: Error, cite: "RFC 6455 §5.5.1", explain: "The reason text after a close code must be valid UTF-8, like every WebSocket text. These bytes are not, so the receiver cannot read them as text." };
    UNFINISHED_MESSAGE: "websocket.expert.unfinished_message" { severity: Error, cite: "RFC 6455 §5.4", explain: "A message split into fragments must be finished (a frame with FIN set) before the next message starts; only control frames may come in between. Here a new message began first, so the earlier one is lost." };
    ORPHAN_CONTINUATION: "websocket.expert.orphan_continuation" { severity: Error, cite: "RFC 6455 §5.4", explain: "A continuation frame (opcode 0) adds to a message whose first fragment came earlier. There is no such unfinished message here, so the frame has nothing to continue." };
    FRAGMENT: "websocket.expert.fragment" { cite: "RFC 6455 §5.4", explain: "One message can be sent in several frames: every frame but the last has FIN clear. The program only sees the whole message, once the last fragment arrives." };
    DECOMPRESSION_FAILED: "websocket.decompression.failed.expert" { severity: Error, cite: "RFC 7692 §7.2.2", explain: "The message is marked as compressed with permessage-deflate, but its payload is not valid DEFLATE data, so the original text or bytes cannot be recovered." };
    DECOMPRESSION_LIMIT: "websocket.expert.decompression_limit" { severity: Error, explain: "The compressed message grows past the limit wirelab allows when inflated. A few bytes can inflate to gigabytes (a decompression bomb), so wirelab stops and shows only the start." };
    COMPRESSED: "websocket.expert.compressed" { cite: "RFC 7692", explain: "This message was compressed with permessage-deflate, an extension agreed on in the handshake; wirelab shows it inflated. Without the earlier messages of the connection, later ones may not be readable, because the dictionary can carry over." };
    TEXT_NOT_UTF8: "websocket.expert.text_not_utf8" { severity: Error, cite: "RFC 6455 §8.1", explain: "A text message (opcode 1) must be valid UTF-8. This one is not, so the receiver must close the connection with code 1007; in a browser the socket closes with an error." };
}

/// Decompressed messages larger than this are cut off (decompression bombs).
pub const MAX_DECOMPRESSED: usize = 16 << 20;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deflate {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    pub server_max_window_bits: Option<u8>,
    pub client_max_window_bits: Option<u8>,
}

#[derive(Clone)]
struct Partial {
    opcode: u8,
    compressed: bool,
    data: Vec<u8>,
    frames: Vec<u64>,
}

/// One WebSocket connection's state (`Clone`: a session checkpoint copies
/// it, inflater windows included — which is why the inflater is
/// miniz_oxide's, whose state can be cloned, not flate2's).
#[derive(Clone, Default)]
pub struct WsConn {
    pub handshake_seen: bool,
    /// The subprotocol the server chose (Sec-WebSocket-Protocol).
    pub subprotocol: Option<String>,
    pub deflate: Option<Deflate>,
    inflaters: [Option<Box<InflateState>>; 2],
    partial: [Option<Partial>; 2],
    closed: [bool; 2],
}

impl WsConn {
    /// Heap bytes held (for the session's checkpoint budget).
    pub fn heap_bytes(&self) -> usize {
        let inflaters = self.inflaters.iter().flatten().count() * std::mem::size_of::<InflateState>();
        inflaters + self.partial.iter().flatten().map(|p| p.data.capacity() + p.frames.capacity() * 8).sum::<usize>()
    }

    /// Reads the server's Sec-WebSocket-Extensions.
    pub fn set_extensions(&mut self, header: Option<&[u8]>) {
        let Some(h) = header else { return };
        let h = String::from_utf8_lossy(h);
        for ext in h.split(',') {
            let mut parts = ext.split(';').map(str::trim);
            if parts.next() != Some("permessage-deflate") {
                continue;
            }
            let mut d = Deflate::default();
            for p in parts {
                let (k, v) =
                    p.split_once('=').map(|(k, v)| (k.trim(), Some(v.trim().trim_matches('"')))).unwrap_or((p, None));
                match k {
                    "server_no_context_takeover" => d.server_no_context_takeover = true,
                    "client_no_context_takeover" => d.client_no_context_takeover = true,
                    "server_max_window_bits" => d.server_max_window_bits = v.and_then(|v| v.parse().ok()).or(Some(15)),
                    "client_max_window_bits" => d.client_max_window_bits = v.and_then(|v| v.parse().ok()).or(Some(15)),
                    _ => {}
                }
            }
            self.deflate = Some(d);
            return;
        }
    }

    pub fn describe_extensions(&self) -> String {
        let proto = self.subprotocol.as_deref().map(|p| format!(", subprotocol {p}")).unwrap_or_default();
        match self.deflate {
            None => proto,
            Some(d) => {
                let mut s = String::from(", with permessage-deflate compression");
                if d.server_no_context_takeover {
                    s.push_str(", server_no_context_takeover");
                }
                if d.client_no_context_takeover {
                    s.push_str(", client_no_context_takeover");
                }
                s.push_str(&proto);
                s
            }
        }
    }
}

/// Whether `b` could start a WebSocket frame (for streams whose handshake
/// was not captured).
pub fn looks_like_frame(b: &[u8]) -> bool {
    let Some(&b0) = b.first() else { return false };
    matches!(b0 & 0x0f, 0 | 1 | 2 | 8 | 9 | 10) && b0 & 0x30 == 0 && b.len() >= 2
}

/// Header length and payload length of the frame at the start of `b`.
fn header(b: &[u8]) -> Option<(usize, u64)> {
    let b1 = *b.get(1)?;
    let mut h = 2;
    let len = match b1 & 0x7f {
        126 => {
            h += 2;
            read_be(b, 2, 2, 0)
        }
        127 => {
            h += 8;
            read_be(b, 2, 8, 0)
        }
        n => u64::from(n),
    };
    if b1 & 0x80 != 0 {
        h += 4;
    }
    (b.len() >= h).then_some((h, len))
}

pub fn pdu_len(b: &[u8]) -> PduLen {
    match header(b) {
        None => PduLen::Need,
        Some((h, len)) => PduLen::Len(h.saturating_add(usize::try_from(len).unwrap_or(usize::MAX - h))),
    }
}

fn preview(bytes: &[u8]) -> String {
    super::preview(bytes, 120)
}

pub fn dissect(cx: &mut Cx<'_>, st: &mut AppStream, dir: usize, at: At<'_>) {
    let b = at.bytes;
    let Some((hlen, plen)) = header(b) else { return };
    let layer = cx.begin_layer_at(&WEBSOCKET, &at, 0);
    let fin = cx.flag_at(0, &FIN, &at, 0, 1);
    let rsv = cx.uint_at(0, &RSV, &at, 0, 1) as u8;
    let deflate = st.ws.deflate.is_some();
    if deflate {
        cx.flag_at(1, &PMC, &at, 0, 1);
    }
    let opcode = cx.uint_at(0, &OPCODE, &at, 0, 1) as u8;
    let masked = cx.flag_at(0, &MASK, &at, 1, 1);
    let len7 = cx.uint_at(0, &PAYLOAD_LENGTH, &at, 1, 1);
    let mut pos = 2;
    if len7 == 126 {
        cx.uint_at(0, &PAYLOAD_LENGTH_EXT_16, &at, 2, 2);
        pos += 2;
        if plen < 126 {
            cx.note_at(
                &NON_MINIMAL_LENGTH,
                &at,
                2,
                2,
                format!(
                    "length {plen} is sent in 16 bits but fits in 7: lengths must use the shortest form (RFC 6455 §5.2)"
                ),
            );
        }
    } else if len7 == 127 {
        cx.uint_at(0, &PAYLOAD_LENGTH_EXT_64, &at, 2, 8);
        pos += 8;
        if plen < 65_536 {
            cx.note_at(&NON_MINIMAL_LENGTH, &at, 2, 8, format!("length {plen} is sent in 64 bits but fits in 16: lengths must use the shortest form (RFC 6455 §5.2)"));
        }
        if plen >> 63 != 0 {
            cx.note_at(
                &LENGTH_HIGH_BIT,
                &at,
                2,
                8,
                "the most significant bit of a 64-bit length must be 0 (RFC 6455 §5.2)",
            );
        }
    }
    let mut key = [0u8; 4];
    if masked {
        key.copy_from_slice(&b[pos..pos + 4]);
        cx.add_at(0, &MASKING_KEY, Value::Bytes, &at, pos, 4);
        pos += 4;
    }
    debug_assert_eq!(pos, hlen);
    let payload_end = b.len();
    // Unmask into a data source of its own.
    let mut payload_at = at.slice(pos, payload_end);
    let unmasked: Vec<u8>;
    let mut unmask_id = None;
    if masked && payload_end > pos {
        cx.add_at(0, &MASKED_PAYLOAD, Value::Bytes, &at, pos, payload_end - pos);
        let mut buf = cx.out.buffer();
        // XOR four bytes at a time with the key (RFC 6455 §5.3).
        let start = buf.len();
        buf.extend_from_slice(&b[pos..]);
        let k = u32::from_ne_bytes(key);
        let mut words = buf[start..].chunks_exact_mut(4);
        for c in &mut words {
            if let Ok(four) = <[u8; 4]>::try_from(&*c) {
                c.copy_from_slice(&(u32::from_ne_bytes(four) ^ k).to_ne_bytes());
            }
        }
        for (i, x) in words.into_remainder().iter_mut().enumerate() {
            *x ^= key[i];
        }
        unmasked = buf;
        let id = cx.reserve_source("Unmasked data");
        unmask_id = Some(id);
        payload_at = At { bytes: &unmasked, source: id, base: 0 };
    } else {
        unmasked = Vec::new();
    }
    let _ = &unmasked;
    let p = payload_at;
    if !p.bytes.is_empty() {
        cx.add_at(0, &PAYLOAD, Value::Bytes, &p, 0, p.bytes.len());
    }

    // Conformance (RFC 6455 §5).
    let from_client = st.client.map(|c| usize::from(c) == dir);
    match (from_client, masked) {
        (Some(true), false) => cx.note_at(&UNMASKED_CLIENT_FRAME, &at, 1, 1, "unmasked frame from the client: every client frame must be masked (RFC 6455 §5.1); a server must close the connection"),
        (Some(false), true) => cx.note_at(&MASKED_SERVER_FRAME, &at, 1, 1, "masked frame from the server: a server must not mask its frames (RFC 6455 §5.1)"),
        _ => {}
    }
    let control = opcode >= 8;
    if control && (plen > 125 || !fin) {
        cx.note_at(
            &BAD_CONTROL_FRAME,
            &at,
            0,
            2,
            "a control frame must have a payload of at most 125 bytes and must not be fragmented (RFC 6455 §5.5)",
        );
    }
    let rsv1_ok = deflate && !control && opcode != 0;
    if rsv & !(if rsv1_ok { 4 } else { 0 }) != 0 {
        cx.note_at(
            &RESERVED_BITS,
            &at,
            0,
            1,
            "reserved bits are set without a negotiated extension that defines them (RFC 6455 §5.2; RFC 7692 §6.1)",
        );
    }
    if !matches!(opcode, 0 | 1 | 2 | 8 | 9 | 10) {
        cx.note_at(&RESERVED_OPCODE, &at, 0, 1, format!("opcode {opcode} is reserved (RFC 6455 §5.2)"));
    }
    if st.ws.closed[dir] {
        cx.note_at(&FRAME_AFTER_CLOSE, &at, 0, 2, "a frame after this side's close frame: after sending close an endpoint must send no more data (RFC 6455 §5.5.1)");
    }
    if !st.ws.handshake_seen && !st.told_no_handshake {
        st.told_no_handshake = true;
        cx.note_at(&HANDSHAKE_NOT_CAPTURED, &at, 0, 0, "the WebSocket handshake of this connection was not captured: wirelab recognised the frames by their shape; extensions (compression) are unknown");
    }
    let name = OPCODES.iter().find(|(k, _)| *k == u64::from(opcode)).map(|(_, n)| *n).unwrap_or("Reserved");
    cx.set_protocol("WebSocket");
    cx.set_info(format_args!(
        "WebSocket {name}{}{}",
        if fin { " [FIN]" } else { "" },
        if masked { " [MASKED]" } else { "" }
    ));

    match opcode {
        8 => {
            if !p.bytes.is_empty() {
                cx.add_at(0, &CLOSE, Value::None, &p, 0, p.bytes.len());
            }
            st.ws.closed[dir] = true;
            let mut summary = "Close".to_string();
            if p.bytes.len() == 1 {
                cx.note_at(
                    &BAD_CLOSE_PAYLOAD,
                    &p,
                    0,
                    1,
                    "a close payload of one byte: it must be empty or start with a 2-byte code (RFC 6455 §5.5.1)",
                );
            }
            if p.bytes.len() >= 2 {
                let code = cx.uint_at(1, &CLOSE_CODE, &p, 0, 2);
                let valid = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
                if !valid {
                    cx.note_at(
                        &INVALID_CLOSE_CODE,
                        &p,
                        0,
                        2,
                        format!("close code {code} may not be sent in a close frame (RFC 6455 §7.4.1)"),
                    );
                }
                let _ = write!(summary, " {code}");
                if p.bytes.len() > 2 {
                    cx.add_at(1, &CLOSE_REASON, Value::Text, &p, 2, p.bytes.len() - 2);
                    if std::str::from_utf8(&p.bytes[2..]).is_err() {
                        cx.note_at(
                            &CLOSE_REASON_NOT_UTF8,
                            &p,
                            2,
                            p.bytes.len() - 2,
                            "the close reason is not valid UTF-8 (RFC 6455 §5.5.1)",
                        );
                    }
                    let _ = write!(summary, " {}", preview(&p.bytes[2..]));
                }
            }
            cx.event(dir, MsgKind::WsClose, summary);
        }
        9 => {
            cx.add_at(0, &PING, Value::Bytes, &p, 0, p.bytes.len());
            cx.event(dir, MsgKind::WsPing, preview(p.bytes));
        }
        10 => {
            cx.add_at(0, &PONG, Value::Bytes, &p, 0, p.bytes.len());
            cx.event(dir, MsgKind::WsPong, preview(p.bytes));
        }
        0..=2 => data_frame(cx, st, dir, &p, opcode, fin, rsv & 4 != 0 && deflate),
        _ => cx.add_at(0, &UNKNOWN, Value::Bytes, &p, 0, p.bytes.len()),
    }
    cx.end_layer(layer, b.len());
    if let Some(id) = unmask_id {
        cx.fill_source(id, unmasked);
    }
}

/// Text, binary and continuation frames: fragments are joined, compressed
/// messages inflated, and complete messages handed to Engine.IO.
fn data_frame(cx: &mut Cx<'_>, st: &mut AppStream, dir: usize, p: &At<'_>, opcode: u8, fin: bool, rsv1: bool) {
    let frame = cx.out.meta.number;
    if opcode != 0 && st.ws.partial[dir].is_some() {
        cx.note_at(
            &UNFINISHED_MESSAGE,
            p,
            0,
            0,
            "a new message began before the fragmented one was finished (RFC 6455 §5.4)",
        );
        st.ws.partial[dir] = None;
    }
    if opcode == 0 && st.ws.partial[dir].is_none() {
        cx.add_at(0, &CONTINUE, Value::Bytes, p, 0, p.bytes.len());
        cx.note_at(&ORPHAN_CONTINUATION, p, 0, 0, "a continuation frame without a message to continue (RFC 6455 §5.4)");
        return;
    }
    if !fin || opcode == 0 {
        // A fragment: keep it until the final frame.
        let part = st.ws.partial[dir].get_or_insert_with(|| Partial {
            opcode,
            compressed: rsv1,
            data: Vec::new(),
            frames: Vec::new(),
        });
        part.data.extend_from_slice(p.bytes);
        part.frames.push(frame);
        // As Wireshark does: a continuation shows its bytes; the first
        // fragment shows only its payload; the whole message comes at the end.
        if opcode == 0 && !fin && !p.bytes.is_empty() {
            cx.add_at(0, &CONTINUE, Value::Bytes, p, 0, p.bytes.len());
        }
        if !fin {
            cx.note_at(&FRAGMENT, p, 0, 0, "a fragment: the message continues in the next frame (FIN is not set)");
            return;
        }
        let Some(part) = st.ws.partial[dir].take() else { return };
        let n = part.frames.len();
        let id = cx.reserve_source_named("Reassembled message", || {
            let list = part.frames.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
            format!("Reassembled message ({} bytes, frames {list})", part.data.len())
        });
        let whole = At { bytes: &part.data, source: id, base: 0 };
        cx.pdu_frames.clear();
        cx.pdu_frames.extend_from_slice(&part.frames);
        cx.pdu_frames.dedup();
        cx.add_at(0, &REASSEMBLED_LENGTH, Value::U(part.data.len() as u64), &whole, 0, part.data.len());
        cx.add_at(0, &FRAGMENTS, Value::U(n as u64), &whole, 0, part.data.len());
        message(cx, st, dir, &whole, part.opcode, part.compressed);
        cx.fill_source(id, part.data);
        return;
    }
    message(cx, st, dir, p, opcode, rsv1);
}

/// A complete message: inflate if compressed, then text / binary / Engine.IO.
fn message(cx: &mut Cx<'_>, st: &mut AppStream, dir: usize, m: &At<'_>, opcode: u8, compressed: bool) {
    if compressed {
        let from_server = st.client.is_some_and(|c| usize::from(c) != dir);
        let d = st.ws.deflate.unwrap_or_default();
        let reset = if from_server { d.server_no_context_takeover } else { d.client_no_context_takeover };
        let z = st.ws.inflaters[dir].get_or_insert_with(|| InflateState::new_boxed(DataFormat::Raw));
        if reset {
            z.reset(DataFormat::Raw);
        }
        // RFC 7692 §7.2.2: append 0x00 0x00 0xff 0xff, then inflate.
        let mut input = Vec::with_capacity(m.bytes.len() + 4);
        input.extend_from_slice(m.bytes);
        input.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let (out, problem) = inflate(z, &input);
        if let Some((def, problem)) = problem {
            cx.note_at(def, m, 0, m.bytes.len(), problem);
            if out.is_empty() {
                return;
            }
        }
        let joined = m.source > 0
            && cx.out.sources.get(usize::from(m.source) - 1).is_some_and(|x| x.name.starts_with("Reassembled message"));
        let short = if joined { "Reassembled message, decompressed" } else { "Decompressed message" };
        let id = cx.reserve_source_named(short, || format!("{short} ({} bytes)", out.len()));
        let dm = At { bytes: &out, source: id, base: 0 };
        cx.add_at(0, &DECOMPRESSED_LENGTH, Value::U(out.len() as u64), &dm, 0, out.len());
        cx.note_at(
            &COMPRESSED,
            m,
            0,
            m.bytes.len(),
            format!(
                "compressed with permessage-deflate: {} bytes on the wire became {} ({}){}",
                m.bytes.len(),
                out.len(),
                if reset {
                    "fresh dictionary for each message"
                } else {
                    "the dictionary carries over from earlier messages"
                },
                ""
            ),
        );
        plain_message(cx, st, dir, &dm, opcode);
        cx.fill_source(id, out);
        return;
    }
    plain_message(cx, st, dir, m, opcode);
}

/// Inflates `input`; a problem comes with the note that describes it.
fn inflate(z: &mut InflateState, input: &[u8]) -> (Vec<u8>, Option<(&'static NoteDef, String)>) {
    let mut out: Vec<u8> = Vec::with_capacity(input.len() * 3 + 64);
    let mut consumed = 0usize;
    loop {
        if out.len() >= MAX_DECOMPRESSED {
            out.truncate(MAX_DECOMPRESSED);
            return (
                out,
                Some((
                    &DECOMPRESSION_LIMIT,
                    format!(
                        "the message inflates past {} MiB: wirelab stops there (a decompression bomb?)",
                        MAX_DECOMPRESSED >> 20
                    ),
                )),
            );
        }
        if out.capacity() - out.len() < 4096 {
            let room = MAX_DECOMPRESSED + 1 - out.len();
            out.reserve_exact(out.capacity().clamp(4096, room));
        }
        // Inflate into the spare capacity (zeroed first: the API takes a slice).
        let (len, cap) = (out.len(), out.capacity());
        out.resize(cap, 0);
        let r = inflate_raw(z, &input[consumed..], &mut out[len..], MZFlush::Sync);
        out.truncate(len + r.bytes_written);
        consumed += r.bytes_consumed;
        let progressed = r.bytes_written > 0 || r.bytes_consumed > 0;
        match r.status {
            Ok(MZStatus::StreamEnd) => return (out, None),
            Ok(_) if (consumed >= input.len() && out.len() < cap) || !progressed => return (out, None),
            Ok(_) => {}
            // No progress possible: all input used, nothing more to write.
            Err(MZError::Buf) => return (out, None),
            Err(e) => {
                let what = match e {
                    MZError::Data => "invalid compressed data",
                    MZError::Mem => "out of memory",
                    _ => "corrupt deflate stream",
                };
                return (
                    out,
                    Some((
                        &DECOMPRESSION_FAILED,
                        format!("the compressed payload is not valid DEFLATE data: {what} (RFC 7692 §7.2.2)"),
                    )),
                );
            }
        }
    }
}

fn plain_message(cx: &mut Cx<'_>, st: &mut AppStream, dir: usize, m: &At<'_>, opcode: u8) {
    if opcode == 1 {
        cx.add_at(0, &TEXT, Value::Text, m, 0, m.bytes.len());
        if let Err(e) = std::str::from_utf8(m.bytes) {
            cx.note_at(&TEXT_NOT_UTF8, m, e.valid_up_to(), 1, format!("a text message that is not valid UTF-8 (byte {}): the receiver must close with 1007 (RFC 6455 §8.1)", e.valid_up_to()));
        }
        if st.eio {
            engineio::dissect_text(cx, st, dir, *m);
        } else {
            cx.event(dir, MsgKind::WsText, preview(m.bytes));
        }
    } else {
        cx.add_at(0, &BINARY, Value::Bytes, m, 0, m.bytes.len());
        if st.eio {
            engineio::dissect_binary(cx, st, dir, *m);
        } else {
            cx.event(dir, MsgKind::WsBinary, format!("{} bytes", m.bytes.len()));
        }
    }
}
