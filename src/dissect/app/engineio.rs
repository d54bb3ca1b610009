//! Engine.IO v4 (transport and session) and Socket.IO v5 (events) — names
//! are ours (`engineio.*`, `socketio.*`): Wireshark has no dissector for them.

use base64::Engine as _;

use super::super::{At, Cx};
use super::AppStream;
use crate::model::{MsgKind, NoteDef, Protocol, TcpIpLayer, Value};
use crate::{fields, notes};

pub static ENGINEIO: Protocol = Protocol {
    name: "engineio",
    short: "Engine.IO",
    label: "Engine.IO",
    osi: 6,
    tcpip: TcpIpLayer::Application,
    explain: "Engine.IO is the layer under Socket.IO that gets messages through whatever the network allows: it \
starts with HTTP long-polling, upgrades to WebSocket when it can, and keeps the session alive with ping/pong. \
On the wire its job is representation — a one-digit packet type, text, base64 for binary over polling, \
packets joined by 0x1e — so we place it on the presentation layer (OSI 6).",
};

pub static SOCKETIO: Protocol = Protocol {
    name: "socketio",
    short: "Socket.IO",
    label: "Socket.IO",
    osi: 7,
    tcpip: TcpIpLayer::Application,
    explain: "Socket.IO is what the program sees: named events with arguments (socket.emit(\"chat message\", …)), \
namespaces multiplexed over one connection, and acknowledgements. Rooms never appear on the wire: they exist \
only in the server's memory.",
};

pub const EIO_TYPES: &[(u64, &str)] =
    &[(0, "open"), (1, "close"), (2, "ping"), (3, "pong"), (4, "message"), (5, "upgrade"), (6, "noop")];

pub const SIO_TYPES: &[(u64, &str)] = &[
    (0, "CONNECT"),
    (1, "DISCONNECT"),
    (2, "EVENT"),
    (3, "ACK"),
    (4, "CONNECT_ERROR"),
    (5, "BINARY_EVENT"),
    (6, "BINARY_ACK"),
];

/// Event names a Socket.IO application may not emit.
pub const RESERVED_EVENTS: &[&str] =
    &["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"];

fields! { proto = &ENGINEIO;
    EIO_TYPE: "engineio.type" { label: "Packet type", ty: U8, values: EIO_TYPES, explain: "One digit: 0 open, 1 close, 2 ping, 3 pong, 4 message (a Socket.IO packet follows), 5 upgrade, 6 noop." };
    EIO_DATA: "engineio.data" { label: "Data", ty: Text, explain: "The packet's data: for open, the session id and timing as JSON; for ping/pong during an upgrade, \"probe\"." };
    EIO_SID: "engineio.sid" { label: "Session id (sid)", ty: Text, explain: "The Engine.IO session id the server gives in its open packet. The client repeats it in every later request (?sid=…), which is how the polling requests and the WebSocket of one client are known to be one session." };
    EIO_BINARY: "engineio.binary" { label: "Binary data", ty: Bytes, base: Hex(0), explain: "Binary data, sent as a WebSocket binary frame or, over polling, as 'b' and base64." };
    EIO_SESSION: "engineio.session" { label: "Session", ty: Text, explain: "The Engine.IO session this packet belongs to (not on the wire): the sid of the open packet, which the client repeats in every later request. One client is one session, however many TCP connections it uses: several long-polling requests, then a WebSocket." };
    EIO_SEPARATOR: "engineio.separator" { label: "Record separator", ty: U8, base: Hex(2), explain: "0x1e: separates several Engine.IO packets in one long-polling body." };
}

notes! { proto = &ENGINEIO;
    EIO_INVALID_BASE64: "engineio.expert.invalid_base64" { severity: Error, explain: "Over HTTP long-polling, binary data travels as the letter b followed by base64 text. This packet's text is not valid base64, so the original bytes cannot be recovered." };
    EIO_BAD_PACKET_TYPE: "engineio.expert.bad_packet_type" { severity: Error, explain: "Every Engine.IO packet starts with one digit from 0 to 6 that says what it is (open, close, ping, pong, message, upgrade, noop). This one starts with something else, so it is not Engine.IO." };
    EIO_OPEN: "engineio.expert.open" { explain: "The first packet of an Engine.IO session: the server sends the session id (sid) and the ping interval and timeout as JSON. The client uses the sid in every later request of the session." };
    EIO_UPGRADE: "engineio.expert.upgrade" { explain: "Engine.IO often starts with HTTP long-polling and then moves to a WebSocket: the client tests the new socket with ping \"probe\", the server answers pong \"probe\", and the client's upgrade packet switches the session over." };
    EIO_HEARTBEAT: "engineio.expert.heartbeat" { explain: "The server pings at a fixed interval and the client must answer with a pong. If the pong does not come in time, the server considers the connection dead; this is how a silent disconnect is noticed." };
    EIO_NOOP: "engineio.expert.noop" { explain: "A packet that does nothing: during the upgrade the server sends it on the old polling transport to end a pending request, so the client can move to the WebSocket." };
    EIO_CLOSE: "engineio.expert.close" { explain: "One side ends the Engine.IO session. The underlying connection may stay open, but this session id is no longer valid." };
}

/// Socket.IO's fields and notes (a module of their own: one `ALL` and one
/// `ALL_NOTES` per protocol).
pub mod sio {
    use super::{SIO_TYPES, SOCKETIO};
    use crate::{fields, notes};

    fields! { proto = &SOCKETIO;
        SIO_TYPE: "socketio.type" { label: "Packet type", ty: U8, values: SIO_TYPES, explain: "0 CONNECT, 1 DISCONNECT, 2 EVENT, 3 ACK, 4 CONNECT_ERROR, 5 BINARY_EVENT, 6 BINARY_ACK." };
        SIO_ATTACHMENTS: "socketio.attachments" { label: "Binary attachments", ty: U64, explain: "How many binary attachments follow this packet, each in its own Engine.IO message." };
        SIO_NSP: "socketio.nsp" { label: "Namespace", ty: Text, explain: "The namespace (\"/\" unless written): several namespaces share one connection." };
        SIO_ACK_ID: "socketio.ack_id" { label: "Acknowledgement id", ty: U64, explain: "Present when the sender wants an acknowledgement: the ACK packet carries the same id back." };
        SIO_EVENT: "socketio.event" { label: "Event", ty: Text, explain: "The event's name: the first argument of emit()." };
        SIO_ARGS: "socketio.args" { label: "Arguments", ty: Text, explain: "The event's arguments (or the ACK's values), as JSON." };
        SIO_ARG: "socketio.arg" { label: "Argument", ty: Text, explain: "One argument of the event (or one value of the ACK), as JSON: the values the sender passed to emit() after the event name, in order." };
        SIO_MEMBER: "socketio.member" { label: "Member", ty: Text, explain: "One key of a JSON object in the packet (an argument, or a CONNECT's data) with its value, written key:value, a text value without its quotes. socketio.member == \"offset:3\" matches however the sender spaced its JSON." };
        SIO_DATA: "socketio.data" { label: "Data", ty: Text, explain: "The packet's JSON payload (auth data for CONNECT, the error for CONNECT_ERROR)." };
        SIO_ATTACHMENT: "socketio.attachment" { label: "Attachment of frame", ty: FrameNum, explain: "This binary message is an attachment of the BINARY_EVENT/BINARY_ACK packet in that frame." };
    }

    notes! { proto = &SOCKETIO;
        SIO_BAD_PACKET_TYPE: "socketio.expert.bad_packet_type" { severity: Error, explain: "A Socket.IO packet starts with one digit from 0 to 6 that gives its type (CONNECT, DISCONNECT, EVENT, ACK, …). This Engine.IO message carries something else, so it is not Socket.IO." };
        SIO_INVALID_JSON: "socketio.expert.invalid_json" { severity: Error, explain: "The data of a Socket.IO packet is JSON, for example [\"chat message\",\"hi\"] for an event. These bytes are not valid JSON, so the receiver cannot parse the event or its arguments." };
        SIO_RESERVED_EVENT: "socketio.expert.reserved_event" { severity: Warning, explain: "Socket.IO uses some event names itself, such as connect and disconnect. An application may listen for them but must not emit them; socket.emit(\"connect\") throws an error in the sender." };
        SIO_EVENT_NAME_MISSING: "socketio.expert.event_name_missing" { severity: Error, explain: "An EVENT's data is a JSON array whose first element is the event name, a string, like the first argument of socket.emit(). Here that first element is missing or is not a string." };
    }
}
use sio::*;

/// Binary attachments still expected on a stream, per direction.
#[derive(Clone, Default)]
pub struct Pending {
    pub count: u64,
    pub of_frame: u64,
}

fn preview(s: &[u8]) -> String {
    super::preview(s, 100)
}

/// A long-polling body: packets separated by 0x1e.
pub fn dissect_polling(cx: &mut Cx<'_>, st: &mut AppStream, dir: usize, body: At<'_>) {
    let b = body.bytes;
    let mut start = 0;
    loop {
        let end = b[start..].iter().position(|&x| x == 0x1e).map(|p| start + p).unwrap_or(b.len());
        if end > start {
            if start > 0 {
                // The body's first packet is the HTTP message's; the others are messages of their own.
                cx.next_message();
            }
            let pkt = body.slice(start, end);
            if pkt.bytes.first() == Some(&b'b') {
                // Binary over polling: 'b' + base64.
                let layer = cx.begin_layer_at(&ENGINEIO, &pkt, 0);
                match base64::engine::general_purpose::STANDARD.decode(&pkt.bytes[1..]) {
                    Ok(raw) => {
                        let id = cx.reserve_source("Engine.IO binary (base64-decoded)");
                        let r = At { bytes: &raw, source: id, base: 0 };
                        cx.add_at(0, &EIO_BINARY, Value::Bytes, &r, 0, raw.len());
                        session(cx, st, &pkt);
                        attachment(cx, st, dir, &r);
                        cx.fill_source(id, raw);
                    }
                    Err(e) => cx.note_at(
                        &EIO_INVALID_BASE64,
                        &pkt,
                        1,
                        pkt.bytes.len() - 1,
                        format!("binary packet with invalid base64: {e}"),
                    ),
                }
                cx.end_layer(layer, pkt.bytes.len());
            } else {
                dissect_text(cx, st, dir, pkt);
            }
        }
        if end >= b.len() {
            break;
        }
        let layer = cx.begin_layer_at(&ENGINEIO, &body, end);
        cx.add_at(0, &EIO_SEPARATOR, Value::U(0x1e), &body, end, 1);
        cx.end_layer(layer, 1);
        start = end + 1;
    }
}

/// One text Engine.IO packet (a WebSocket text message or a polling part).
pub fn dissect_text(cx: &mut Cx<'_>, st: &mut AppStream, dir: usize, at: At<'_>) {
    let b = at.bytes;
    let layer = cx.begin_layer_at(&ENGINEIO, &at, 0);
    let Some(&t) = b.first() else {
        cx.end_layer(layer, 0);
        return;
    };
    if !t.is_ascii_digit() || t > b'6' {
        cx.note_at(&EIO_BAD_PACKET_TYPE, &at, 0, 1, format!("{:?} is not an Engine.IO packet type (0–6)", t as char));
        cx.end_layer(layer, b.len());
        return;
    }
    let ty = u64::from(t - b'0');
    cx.add_at(0, &EIO_TYPE, Value::U(ty), &at, 0, 1);
    if ty != 4 && b.len() > 1 {
        cx.add_at(0, &EIO_DATA, Value::Text, &at, 1, b.len() - 1);
        // The open packet's session id, on its own bytes.
        if ty == 0
            && let Some(k) = find(b, b"\"sid\"")
            && let Some((start, end)) = string_span(b, k + 5)
        {
            cx.add_at(1, &EIO_SID, Value::Text, &at, start, end - start);
            st.sid = Some(String::from_utf8_lossy(&b[start..end]).into_owned());
        }
    }
    session(cx, st, &at);
    cx.end_layer(layer, if ty == 4 { 1 } else { b.len() });
    let data = &b[1..];
    let name = EIO_TYPES.iter().find(|(k, _)| *k == ty).map(|(_, n)| *n).unwrap_or("?");
    cx.set_protocol("Engine.IO");
    if ty != 4 {
        cx.set_info(format_args!("Engine.IO {name} {}", preview(data)));
    }
    let teach: Option<(&'static NoteDef, &'static str)> = match (ty, data) {
        (0, _) => Some((
            &EIO_OPEN,
            "Engine.IO open: the server gives the session id (sid) and how often it will ping; the client must answer each ping with a pong",
        )),
        (2, b"probe") => Some((
            &EIO_UPGRADE,
            "upgrade, step 1: over the new WebSocket the client sends ping \"probe\" to test it while polling still works",
        )),
        (3, b"probe") => {
            Some((&EIO_UPGRADE, "upgrade, step 2: the server answers pong \"probe\": the WebSocket works"))
        }
        (5, _) => Some((
            &EIO_UPGRADE,
            "upgrade, step 3: the client says upgrade: from now on this WebSocket carries the session and polling stops",
        )),
        (2, _) => Some((&EIO_HEARTBEAT, "heartbeat: the server's ping; no pong in time means the connection is dead")),
        (3, _) => Some((&EIO_HEARTBEAT, "heartbeat: the client's pong")),
        (6, _) => {
            Some((&EIO_NOOP, "noop: sent on the old polling transport to release a pending request during the upgrade"))
        }
        (1, _) => Some((&EIO_CLOSE, "Engine.IO close: the session ends")),
        _ => None,
    };
    if let Some((def, m)) = teach {
        cx.note_at(def, &at, 0, b.len(), m);
    }
    if ty == 4 {
        socketio(cx, st, dir, at.slice(1, b.len()));
    } else {
        let mut t = String::with_capacity(name.len() + 1 + data.len().min(100));
        t.push_str(name);
        if !data.is_empty() {
            t.push(' ');
            t.push_str(&preview(data));
        }
        let kind = match (ty, data) {
            (0, _) => MsgKind::EioOpen,
            (1, _) => MsgKind::EioClose,
            (2, b"probe") => MsgKind::EioProbe,
            (3, b"probe") => MsgKind::EioProbeAnswer,
            (2, _) => MsgKind::EioPing,
            (3, _) => MsgKind::EioPong,
            (5, _) => MsgKind::EioUpgrade,
            _ => MsgKind::EioNoop,
        };
        let e = cx.event(dir, kind, t);
        if ty == 0 {
            e.sid = json_string(data, "sid");
        }
    }
}

/// The session the packet at `at` belongs to, when the stream has told it.
fn session(cx: &mut Cx<'_>, st: &AppStream, at: &At<'_>) {
    if let Some(sid) = &st.sid
        && cx.tree
    {
        let v = cx.out.intern(sid.clone());
        cx.add_at(0, &EIO_SESSION, v, at, 0, 0);
    }
}

/// A binary WebSocket message on an Engine.IO stream: a Socket.IO attachment.
pub fn dissect_binary(cx: &mut Cx<'_>, st: &mut AppStream, dir: usize, at: At<'_>) {
    let layer = cx.begin_layer_at(&ENGINEIO, &at, 0);
    cx.add_at(0, &EIO_BINARY, Value::Bytes, &at, 0, at.bytes.len());
    session(cx, st, &at);
    cx.end_layer(layer, at.bytes.len());
    attachment(cx, st, dir, &at);
}

fn attachment(cx: &mut Cx<'_>, st: &mut AppStream, dir: usize, at: &At<'_>) {
    let p = &mut st.attachments[dir];
    if p.count > 0 {
        p.count -= 1;
        let of = p.of_frame;
        let layer = cx.begin_layer_at(&SOCKETIO, at, 0);
        cx.add_at(0, &SIO_ATTACHMENT, Value::U(of), at, 0, at.bytes.len());
        cx.end_layer(layer, at.bytes.len());
        cx.set_protocol("Socket.IO");
        cx.set_info(format_args!("Socket.IO binary attachment ({} bytes) of frame {of}", at.bytes.len()));
        cx.event(
            dir,
            MsgKind::SioAttachment,
            format!("binary attachment ({} bytes) of the packet in frame {of}", at.bytes.len()),
        );
    } else {
        cx.event(dir, MsgKind::EioBinary, format!("binary message ({} bytes)", at.bytes.len()));
    }
}

fn digits(b: &[u8], from: usize) -> usize {
    b[from.min(b.len())..].iter().take_while(|c| c.is_ascii_digit()).count()
}

/// A Socket.IO packet: `<type>[<n>-][<nsp>,][<id>][<JSON>]`.
fn socketio(cx: &mut Cx<'_>, st: &mut AppStream, dir: usize, at: At<'_>) {
    let b = at.bytes;
    let layer = cx.begin_layer_at(&SOCKETIO, &at, 0);
    let Some(&t) = b.first().filter(|t| (b'0'..=b'6').contains(t)) else {
        cx.note_at(
            &SIO_BAD_PACKET_TYPE,
            &at,
            0,
            b.len().min(1),
            "not a Socket.IO packet: it must start with a type digit 0–6",
        );
        cx.end_layer(layer, b.len());
        return;
    };
    let ty = u64::from(t - b'0');
    cx.add_at(0, &SIO_TYPE, Value::U(ty), &at, 0, 1);
    let mut pos = 1;
    let mut attachments = 0;
    if ty == 5 || ty == 6 {
        let n = digits(b, pos);
        if n > 0 && b.get(pos + n) == Some(&b'-') {
            attachments = std::str::from_utf8(&b[pos..pos + n]).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
            cx.add_at(0, &SIO_ATTACHMENTS, Value::U(attachments), &at, pos, n);
            pos += n + 1;
        }
    }
    let mut nsp = std::borrow::Cow::Borrowed("/");
    if b.get(pos) == Some(&b'/') {
        let end = b[pos..].iter().position(|&c| c == b',').map(|p| pos + p).unwrap_or(b.len());
        nsp = String::from_utf8_lossy(&b[pos..end]);
        cx.add_at(0, &SIO_NSP, Value::Text, &at, pos, end - pos);
        pos = (end + 1).min(b.len());
    } else {
        cx.add_at(0, &SIO_NSP, Value::Static("/"), &at, pos, 0);
    }
    let n = digits(b, pos);
    let mut ack = None;
    if n > 0 {
        ack = std::str::from_utf8(&b[pos..pos + n]).ok().and_then(|s| s.parse::<u64>().ok());
        if let Some(id) = ack {
            cx.add_at(0, &SIO_ACK_ID, Value::U(id), &at, pos, n);
        }
        pos += n;
    }
    let json = &b[pos..];
    let name = SIO_TYPES.iter().find(|(k, _)| *k == ty).map(|(_, n)| *n).unwrap_or("?");
    let mut summary = String::with_capacity(32 + json.len().min(100));
    summary.push_str(name);
    summary.push(' ');
    summary.push_str(&nsp);
    if let Some(a) = ack {
        summary.push_str(" ack=");
        crate::dissect::push_num(&mut summary, a);
    }
    if !json.is_empty() {
        // Validated without building a tree; the event name is found in place.
        let first = json.iter().find(|c| !c.is_ascii_whitespace()).copied();
        match serde_json::from_slice::<serde::de::IgnoredAny>(json) {
            Err(e) => {
                cx.note_at(&SIO_INVALID_JSON, &at, pos, json.len(), format!("the packet's data is not valid JSON: {e}"))
            }
            Ok(_) => match (ty, first) {
                (2 | 5, Some(b'[')) => match string_span(json, 0)
                    .filter(|(s, _)| json[..s - 1].iter().all(|c| c.is_ascii_whitespace() || *c == b'['))
                {
                    Some((s, e)) => {
                        let raw = &json[s..e];
                        let ev: std::borrow::Cow<'_, str> = if raw.contains(&b'\\') {
                            std::borrow::Cow::Owned(
                                serde_json::from_slice::<String>(&json[s - 1..=e]).unwrap_or_default(),
                            )
                        } else {
                            String::from_utf8_lossy(raw)
                        };
                        if raw.contains(&b'\\') {
                            let v = cx.out.intern(ev.clone().into_owned());
                            cx.add_at(0, &SIO_EVENT, v, &at, pos + s, e - s);
                        } else {
                            cx.add_at(0, &SIO_EVENT, Value::Text, &at, pos + s, e - s);
                        }
                        let args_start = pos + e + 1;
                        let args_start = b[args_start.min(b.len())..]
                            .iter()
                            .position(|&c| c != b',' && !c.is_ascii_whitespace())
                            .map(|p| args_start + p)
                            .unwrap_or(b.len());
                        let args_end = b.len().saturating_sub(1).max(args_start);
                        cx.add_at(0, &SIO_ARGS, Value::Text, &at, args_start, args_end - args_start);
                        arguments(cx, &at, args_start, args_end);
                        summary.push_str(" \"");
                        summary.push_str(&ev);
                        summary.push_str("\" ");
                        summary.push_str(&preview(&b[args_start..args_end]));
                        if RESERVED_EVENTS.contains(&ev.as_ref()) {
                            cx.note_at(
                                &SIO_RESERVED_EVENT,
                                &at,
                                pos + s,
                                e - s,
                                format!("\"{ev}\" is a reserved event name: an application must not emit it (socket.io throws an error on the sender's side)"),
                            );
                        }
                        cx.set_info(format_args!("Socket.IO {name} \"{ev}\" {nsp}"));
                    }
                    None => {
                        cx.note_at(
                            &SIO_EVENT_NAME_MISSING,
                            &at,
                            pos,
                            json.len(),
                            "an EVENT's first element must be the event name, a string",
                        );
                    }
                },
                (3 | 6, Some(b'[')) => {
                    cx.add_at(0, &SIO_ARGS, Value::Text, &at, pos, json.len());
                    if let Some(open) = json.iter().position(|&c| c == b'[') {
                        arguments(cx, &at, pos + open + 1, b.len().saturating_sub(1));
                    }
                    summary.push(' ');
                    summary.push_str(&preview(json));
                    cx.set_info(format_args!("Socket.IO {name} {nsp} id={}", ack.unwrap_or(0)));
                }
                _ => {
                    cx.add_at(0, &SIO_DATA, Value::Text, &at, pos, json.len());
                    if let Some(start) = json.iter().position(|c| !c.is_ascii_whitespace()) {
                        members(cx, &at, pos + start, 1);
                    }
                    summary.push(' ');
                    summary.push_str(&preview(json));
                    cx.set_info(format_args!("Socket.IO {name} {nsp}"));
                }
            },
        }
    } else {
        cx.set_info(format_args!("Socket.IO {name} {nsp}"));
    }
    if attachments > 0 {
        st.attachments[dir] = Pending { count: attachments, of_frame: cx.out.meta.number };
        summary.push_str(&format!(" (+{attachments} binary attachment{})", if attachments > 1 { "s" } else { "" }));
    }
    cx.end_layer(layer, b.len());
    cx.set_protocol("Socket.IO");
    let kind = match ty {
        0 => MsgKind::SioConnect,
        1 => MsgKind::SioDisconnect,
        2 | 5 => MsgKind::SioEvent,
        3 | 6 => MsgKind::SioAck,
        _ => MsgKind::SioConnectError,
    };
    let e = cx.event(dir, kind, summary);
    e.nsp = Some(nsp.into_owned());
    e.ack_id = ack;
    if kind == MsgKind::SioEvent && !json.is_empty() {
        e.link = Some(crate::messages::link_key(json));
    }
}

/// The string value of `"key":"…"` in a small JSON object (an Engine.IO
/// open packet's `sid`), without escapes; None when absent.
/// Spans of JSON values (valid JSON is assumed: the packet was checked;
/// on anything else they stop early, never panic).
mod json {
    /// The first index at or after `i` that is not JSON white space.
    pub fn skip_ws(b: &[u8], mut i: usize) -> usize {
        while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        i
    }

    /// Where the value starting at `i` ends (exclusive).
    pub fn value_end(b: &[u8], i: usize) -> usize {
        match b.get(i) {
            Some(b'"') => super::string_span(b, i).map_or(b.len(), |(_, e)| e + 1),
            Some(b'[' | b'{') => {
                let mut depth = 0usize;
                let mut j = i;
                while let Some(&c) = b.get(j) {
                    match c {
                        b'"' => {
                            j = value_end(b, j);
                            continue;
                        }
                        b'[' | b'{' => depth += 1,
                        b']' | b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                return j + 1;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                b.len()
            }
            Some(_) => {
                let mut j = i;
                while b.get(j).is_some_and(|c| !matches!(c, b',' | b']' | b'}') && !c.is_ascii_whitespace()) {
                    j += 1;
                }
                j
            }
            None => i,
        }
    }

    /// The values of an array's items from `i` (after `[` or a comma) to `end`.
    pub fn elements(b: &[u8], mut i: usize, end: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        loop {
            i = skip_ws(b, i);
            if i >= end || matches!(b.get(i), Some(b']') | None) {
                return out;
            }
            let e = value_end(b, i).min(end);
            if e <= i {
                return out;
            }
            out.push((i, e));
            i = skip_ws(b, e);
            if b.get(i) != Some(&b',') {
                return out;
            }
            i += 1;
        }
    }

    /// The members of the object at `i`: (key without quotes, value, the
    /// whole member), as spans.
    pub fn members(b: &[u8], i: usize) -> Vec<[(usize, usize); 3]> {
        let mut out = Vec::new();
        if b.get(i) != Some(&b'{') {
            return out;
        }
        let mut j = i + 1;
        loop {
            j = skip_ws(b, j);
            if b.get(j) != Some(&b'"') {
                return out;
            }
            let k_end = value_end(b, j);
            let colon = skip_ws(b, k_end);
            if b.get(colon) != Some(&b':') {
                return out;
            }
            let v = skip_ws(b, colon + 1);
            let v_end = value_end(b, v);
            if v_end <= v || k_end < j + 2 {
                return out;
            }
            out.push([(j + 1, k_end - 1), (v, v_end), (j, v_end)]);
            j = skip_ws(b, v_end);
            if b.get(j) != Some(&b',') {
                return out;
            }
            j += 1;
        }
    }
}

/// At most this many arguments and members are shown per packet.
const MAX_JSON_ITEMS: usize = 64;

/// Each argument of an EVENT or ACK (the array's items in `start..end` of
/// `at`), and the members of those that are objects.
fn arguments(cx: &mut Cx<'_>, at: &At<'_>, start: usize, end: usize) {
    for (s, e) in json::elements(at.bytes, start, end).into_iter().take(MAX_JSON_ITEMS) {
        cx.add_at(1, &SIO_ARG, Value::Text, at, s, e - s);
        members(cx, at, s, 2);
    }
}

/// `key:value` for each member of the object at `start` of `at`.
fn members(cx: &mut Cx<'_>, at: &At<'_>, start: usize, depth: u8) {
    let b = at.bytes;
    for [(ks, ke), (vs, ve), (ms, me)] in json::members(b, start).into_iter().take(MAX_JSON_ITEMS) {
        let value = if b[vs] == b'"' { &b[vs + 1..ve.saturating_sub(1).max(vs + 1)] } else { &b[vs..ve] };
        let text = format!("{}:{}", String::from_utf8_lossy(&b[ks..ke]), String::from_utf8_lossy(value));
        let v = cx.out.intern(text);
        cx.add_at(depth, &SIO_MEMBER, v, at, ms, me - ms);
    }
}

fn json_string(json: &[u8], key: &str) -> Option<String> {
    let text = std::str::from_utf8(json).ok()?;
    let at = text.find(&format!("\"{key}\""))? + key.len() + 2;
    let rest = text[at..].trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    let end = rest.find('"')?;
    Some(rest[..end].to_string()).filter(|s| !s.contains('\\'))
}

/// Span (start, end) of the contents of the JSON string that starts at or
/// after `from` in `json` (between its quotes).
fn string_span(json: &[u8], from: usize) -> Option<(usize, usize)> {
    let open = from + json.get(from..)?.iter().position(|&c| c == b'"')?;
    let mut i = open + 1;
    while i < json.len() {
        match json[i] {
            b'\\' => i += 2,
            b'"' => return Some((open + 1, i)),
            _ => i += 1,
        }
    }
    None
}

/// Where `needle` first occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod json_tests {
    use super::json::{elements, members};

    fn texts(b: &[u8], spans: &[(usize, usize)]) -> Vec<String> {
        spans.iter().map(|&(s, e)| String::from_utf8_lossy(&b[s..e]).into_owned()).collect()
    }

    #[test]
    fn arguments_and_members_keep_their_bytes() {
        let b = br#"["chat message", {"text" : "a, b]", "n":3, "o":{"x":[1,2]}} ,"x\"y", 4.5, null]"#;
        let args = elements(b, 1, b.len() - 1);
        assert_eq!(
            texts(b, &args),
            [r#""chat message""#, r#"{"text" : "a, b]", "n":3, "o":{"x":[1,2]}}"#, r#""x\"y""#, "4.5", "null"]
        );
        let m = members(b, args[1].0);
        let keys: Vec<_> = m.iter().map(|[k, _, _]| texts(b, &[*k])[0].clone()).collect();
        let values: Vec<_> = m.iter().map(|[_, v, _]| texts(b, &[*v])[0].clone()).collect();
        assert_eq!(keys, ["text", "n", "o"]);
        assert_eq!(values, [r#""a, b]""#, "3", r#"{"x":[1,2]}"#]);
        assert_eq!(texts(b, &[m[0][2]]), [r#""text" : "a, b]""#]);
    }

    #[test]
    fn broken_json_stops_without_panicking() {
        for b in [&br#"[1,"#[..], br#"{"a""#, br#"{"a":"#, br#"["unterminated"#, br#"{:1}"#, b"", b"{", b"[{]"] {
            let _ = elements(b, 1, b.len());
            let _ = members(b, 0);
        }
        assert!(members(b"{}", 0).is_empty() && elements(b"[]", 1, 1).is_empty());
    }
}
