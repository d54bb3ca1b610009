//! What chat nodes say to each other through Redis: socketioxide's Redis
//! adapter (`socketioxide-redis`) publishes each request on a channel named
//! `{prefix}-request#{namespace}#` (to every node) or
//! `{prefix}-request#{namespace}#{node}#` (to one), and answers on
//! `{prefix}-response#{namespace}#{node}#`. The payload is MessagePack:
//! a request is an array `[node, id, type, packet, rooms, options]`, where
//! `packet` is the Socket.IO packet to deliver (`[namespace, type, data,
//! ack, error]`) and `options` say to whom (`[flags, rooms, except, sid,
//! server]`); a response is `[request id, data]`.
//!
//! This decodes that payload, wherever RESP carries it (in a PUBLISH and
//! in the pushes that deliver it), into fields of its own: which node asks,
//! with which request id (the same in the PUBLISH and in every delivery,
//! so a lab follows one broadcast through both hops), what, to which rooms,
//! with which flags. The MessagePack markers are read with the `rmp` crate;
//! the spans are ours.

use rmp::Marker;

use super::super::{At, Cx};
use crate::model::{Protocol, TcpIpLayer, Value};
use crate::{fields, notes};

pub static ADAPTER: Protocol = Protocol {
    name: "adapter",
    short: "Adapter",
    label: "Socket.IO Redis adapter (socketioxide-redis)",
    osi: 7,
    tcpip: TcpIpLayer::Application,
    explain: "What one chat node asks the others, through Redis: deliver this Socket.IO packet to your clients \
in these rooms, except those; or tell me your rooms, your sockets. Redis only passes it on; each node then \
delivers the packet to its own clients. Written in MessagePack, a compact binary form of JSON.",
};

/// The request types of `socketioxide-core`'s remote adapter protocol.
pub const TYPES: &[(u64, &str)] = &[
    (0, "broadcast"),
    (1, "broadcast with acks"),
    (2, "disconnect sockets"),
    (3, "all rooms"),
    (4, "add sockets to rooms"),
    (5, "remove sockets from rooms"),
    (6, "fetch sockets"),
    (20, "heartbeat"),
    (21, "first heartbeat"),
];

fields! { proto = &ADAPTER;
    CHANNEL: "adapter.channel" { label: "Channel", ty: Text, explain: "The Redis channel the request travels on: -request#NAMESPACE# reaches every node, -request#NAMESPACE#NODE# one node, -response#NAMESPACE#NODE# carries answers back to the node that asked." };
    NODE: "adapter.node" { label: "Node", ty: Text, explain: "The node that sends the request (its server id): the receiving nodes skip their own requests." };
    REQUEST_ID: "adapter.request_id" { label: "Request id", ty: Text, explain: "The request's id: the same in the PUBLISH and in every delivery of it, and in the answers to it." };
    TYPE: "adapter.type" { label: "Request type", ty: U8, values: TYPES, explain: "What the node asks: 0 deliver a packet (a broadcast), 1 the same and collect the acks, 3 list your rooms, 6 list your sockets…" };
    NSP: "adapter.nsp" { label: "Namespace", ty: Text, explain: "The Socket.IO namespace of the packet to deliver." };
    PACKET_TYPE: "adapter.packet_type" { label: "Packet type", ty: U8, explain: "The Socket.IO packet's type, as on a client's connection: 2 EVENT, 3 ACK…" };
    PACKET: "adapter.packet" { label: "Packet data", ty: Text, explain: "The Socket.IO packet's data (the event's name and arguments, as JSON): what each node will send its clients." };
    FLAGS: "adapter.flags" { label: "Flags", ty: U8, base: Hex(2), explain: "How to deliver: 0x01 local (this node only, so it never comes through Redis), 0x02 broadcast (to the sockets the rooms name, not one socket's own emit), 0x04 volatile (may be dropped)." };
    ROOM: "adapter.room" { label: "Room", ty: Text, explain: "A room the packet goes to; with none, it goes to everyone in the namespace." };
    EXCEPT: "adapter.except" { label: "Except", ty: Text, explain: "A room left out (a socket's own id room leaves that socket out)." };
    SENDER: "adapter.sender" { label: "Sender socket", ty: Text, explain: "The socket whose emit this is, when there is one." };
    RESPONSE: "adapter.response" { label: "Response", ty: None, explain: "An answer to a request (rooms, sockets, an ack count), sent to the asking node's response channel." };
}

notes! { proto = &ADAPTER;
    UNREADABLE: "adapter.expert.unreadable" { severity: Warning, explain: "The payload on an adapter channel is not the MessagePack request or response socketioxide-redis writes: another adapter (the official @socket.io/redis-adapter speaks a different protocol) or damaged bytes." };
}

/// One MessagePack value: where it is, and what.
struct Node {
    start: usize,
    end: usize,
    kind: Kind,
    children: Vec<Node>,
}

enum Kind {
    Nil,
    Bool,
    Int(i128),
    Float,
    /// A string or binary: its bytes' range.
    Bytes(usize, usize),
    Array,
    Map,
    Ext,
}

/// Deepest nesting read.
const MAX_DEPTH: usize = 16;
/// Most elements one array or map may announce (the payload is far smaller).
const MAX_ITEMS: usize = 1 << 16;

fn be(b: &[u8], at: usize, n: usize) -> Option<u64> {
    let s = b.get(at..at + n)?;
    Some(s.iter().fold(0u64, |v, x| v << 8 | u64::from(*x)))
}

/// Reads the value at `at`; `None` when the bytes are not MessagePack
/// (cut short, a reserved marker, too deep, too many items).
fn read(b: &[u8], at: usize, depth: usize) -> Option<Node> {
    if depth > MAX_DEPTH {
        return None;
    }
    let m = Marker::from_u8(*b.get(at)?);
    let p = at + 1;
    let node = |end: usize, kind| Some(Node { start: at, end, kind, children: Vec::new() });
    let fits = |end: usize| (end <= b.len()).then_some(());
    let bytes = |len_at: usize, n: usize| -> Option<Node> {
        let len = be(b, len_at, n)? as usize;
        let s = len_at + n;
        (s + len <= b.len()).then(|| Node {
            start: at,
            end: s + len,
            kind: Kind::Bytes(s, s + len),
            children: Vec::new(),
        })
    };
    let int = |n: usize, signed: bool| -> Option<Node> {
        let v = be(b, p, n)?;
        let v = if signed {
            let shift = 64 - 8 * n as u32;
            i128::from(((v << shift) as i64) >> shift)
        } else {
            i128::from(v)
        };
        node(p + n, Kind::Int(v))
    };
    match m {
        Marker::FixPos(v) => node(p, Kind::Int(v.into())),
        Marker::FixNeg(v) => node(p, Kind::Int(v.into())),
        Marker::Null => node(p, Kind::Nil),
        Marker::True | Marker::False => node(p, Kind::Bool),
        Marker::U8 => int(1, false),
        Marker::U16 => int(2, false),
        Marker::U32 => int(4, false),
        Marker::U64 => int(8, false),
        Marker::I8 => int(1, true),
        Marker::I16 => int(2, true),
        Marker::I32 => int(4, true),
        Marker::I64 => int(8, true),
        Marker::F32 => {
            fits(p + 4)?;
            node(p + 4, Kind::Float)
        }
        Marker::F64 => {
            fits(p + 8)?;
            node(p + 8, Kind::Float)
        }
        Marker::FixStr(n) => {
            let e = p + usize::from(n);
            fits(e)?;
            node(e, Kind::Bytes(p, e))
        }
        Marker::Str8 | Marker::Bin8 => bytes(p, 1),
        Marker::Str16 | Marker::Bin16 => bytes(p, 2),
        Marker::Str32 | Marker::Bin32 => bytes(p, 4),
        Marker::FixExt1 | Marker::FixExt2 | Marker::FixExt4 | Marker::FixExt8 | Marker::FixExt16 => {
            let n = match m {
                Marker::FixExt1 => 1,
                Marker::FixExt2 => 2,
                Marker::FixExt4 => 4,
                Marker::FixExt8 => 8,
                _ => 16,
            };
            fits(p + 1 + n)?;
            node(p + 1 + n, Kind::Ext)
        }
        Marker::Ext8 | Marker::Ext16 | Marker::Ext32 => {
            let n = match m {
                Marker::Ext8 => 1,
                Marker::Ext16 => 2,
                _ => 4,
            };
            let len = be(b, p, n)? as usize;
            let end = p + n + 1 + len;
            fits(end)?;
            node(end, Kind::Ext)
        }
        Marker::FixArray(n) => items(b, at, p, usize::from(n), false, depth),
        Marker::Array16 => items(b, at, p + 2, be(b, p, 2)? as usize, false, depth),
        Marker::Array32 => items(b, at, p + 4, be(b, p, 4)? as usize, false, depth),
        Marker::FixMap(n) => items(b, at, p, usize::from(n), true, depth),
        Marker::Map16 => items(b, at, p + 2, be(b, p, 2)? as usize, true, depth),
        Marker::Map32 => items(b, at, p + 4, be(b, p, 4)? as usize, true, depth),
        Marker::Reserved => None,
    }
}

/// An array (`n` elements) or a map (`n` pairs) whose first element is at `first`.
fn items(b: &[u8], at: usize, first: usize, n: usize, map: bool, depth: usize) -> Option<Node> {
    let count = if map { n.checked_mul(2)? } else { n };
    if count > MAX_ITEMS || count > b.len() {
        return None;
    }
    // Each element takes a byte at least: no more room than the bytes left.
    let mut children = Vec::with_capacity(count.min(b.len().saturating_sub(first)));
    let mut pos = first;
    for _ in 0..count {
        let c = read(b, pos, depth + 1)?;
        pos = c.end;
        children.push(c);
    }
    Some(Node { start: at, end: pos, kind: if map { Kind::Map } else { Kind::Array }, children })
}

/// The text of a string node, or of an array of small integers (how serde
/// writes a byte vector without `serde_bytes`: socketioxide's packet data).
fn text(b: &[u8], n: &Node) -> Option<String> {
    match n.kind {
        Kind::Bytes(s, e) => Some(String::from_utf8_lossy(&b[s..e]).into_owned()),
        Kind::Array if !n.children.is_empty() => {
            let bytes: Option<Vec<u8>> = n
                .children
                .iter()
                .map(|c| match c.kind {
                    Kind::Int(v) => u8::try_from(v).ok(),
                    _ => None,
                })
                .collect();
            bytes.map(|v| String::from_utf8_lossy(&v).into_owned())
        }
        _ => None,
    }
}

fn int(n: &Node) -> Option<u64> {
    match n.kind {
        Kind::Int(v) => u64::try_from(v).ok(),
        _ => None,
    }
}

/// The first text found in a value, depth first: the packet data inside
/// socketioxide's `Value` (a string as bytes, its attachments after it).
fn first_text<'n>(b: &[u8], n: &'n Node) -> Option<(&'n Node, String)> {
    if let Some(t) = text(b, n).filter(|_| !matches!(n.kind, Kind::Array) || n.children.len() > 1) {
        return Some((n, t));
    }
    n.children.iter().find_map(|c| first_text(b, c))
}

/// Whether a Redis channel is one of the adapter's.
pub fn is_channel(name: &[u8]) -> bool {
    let s = String::from_utf8_lossy(name);
    s.contains("-request#") || s.contains("-response#")
}

/// Decodes the payload `m[start..end]` of a message on `channel` (the
/// channel's span in `m` is `chan`), adding the adapter's layer.
/// Returns the link key of the Socket.IO packet a request carries (see
/// [`crate::messages::link_key`]), so its messages join the broadcast's story.
pub fn dissect(cx: &mut Cx<'_>, m: &At<'_>, chan: (usize, usize), start: usize, end: usize) -> Option<u64> {
    let b = &m.bytes[..end];
    let channel = String::from_utf8_lossy(&m.bytes[chan.0..chan.1]).into_owned();
    // The layer spans the channel's name too: it says where the request goes.
    let layer = cx.begin_layer_at(&ADAPTER, m, chan.0);
    let v = cx.derived_text(channel.as_bytes());
    cx.add_at(0, &CHANNEL, v, m, chan.0, chan.1 - chan.0);
    let decoded = read(b, start, 0).filter(|n| n.end == end);
    let mut link = None;
    let ok = match &decoded {
        Some(n) if channel.contains("-response#") => response(cx, m, n),
        Some(n) => request(cx, m, n, &mut link),
        None => false,
    };
    if !ok {
        cx.note_at(&UNREADABLE, m, start, end - start, "not a socketioxide-redis request or response");
    }
    cx.end_layer(layer, end - chan.0);
    link
}

fn add_text(cx: &mut Cx<'_>, m: &At<'_>, depth: u8, def: &'static crate::model::FieldDef, n: &Node, t: &str) {
    let v = cx.derived_text(t.as_bytes());
    cx.add_at(depth, def, v, m, n.start, n.end - n.start);
}

/// `[node, id, type, packet, rooms, options, ack timeout]`; `link` gets the
/// key of the packet's data.
fn request(cx: &mut Cx<'_>, m: &At<'_>, n: &Node, link: &mut Option<u64>) -> bool {
    let b = m.bytes;
    let c = &n.children;
    let (Some(node), Some(id), Some(ty)) = (c.first(), c.get(1), c.get(2)) else { return false };
    let (Some(node_t), Some(id_t), Some(ty_v)) = (text(b, node), text(b, id), int(ty)) else { return false };
    if !matches!(n.kind, Kind::Array) {
        return false;
    }
    add_text(cx, m, 0, &NODE, node, &node_t);
    add_text(cx, m, 0, &REQUEST_ID, id, &id_t);
    cx.add_at(0, &TYPE, Value::U(ty_v), m, ty.start, ty.end - ty.start);
    if let Some(p) = c.get(3).filter(|p| matches!(p.kind, Kind::Array)) {
        let pc = &p.children;
        if let Some((ns, t)) = pc.first().and_then(|x| text(b, x).map(|t| (x, t))) {
            add_text(cx, m, 0, &NSP, ns, &t);
        }
        if let Some(t) = pc.get(1).filter(|x| int(x).is_some()) {
            cx.add_at(0, &PACKET_TYPE, Value::U(int(t).unwrap_or(0)), m, t.start, t.end - t.start);
        }
        if let Some((d, t)) = pc.get(2).and_then(|x| first_text(b, x)) {
            add_text(cx, m, 0, &PACKET, d, &t);
            *link = Some(crate::messages::link_key(t.as_bytes()));
        }
    }
    if let Some(o) = c.get(5).filter(|o| matches!(o.kind, Kind::Array)) {
        let oc = &o.children;
        if let Some(f) = oc.first().filter(|f| int(f).is_some()) {
            cx.add_at(0, &FLAGS, Value::U(int(f).unwrap_or(0)), m, f.start, f.end - f.start);
        }
        for (i, def) in [(1, &ROOM), (2, &EXCEPT)] {
            for r in oc.get(i).map(|x| &x.children[..]).unwrap_or(&[]) {
                if let Some(t) = text(b, r) {
                    add_text(cx, m, 0, def, r, &t);
                }
            }
        }
        if let Some((s, t)) = oc.get(3).and_then(|x| text(b, x).map(|t| (x, t))) {
            add_text(cx, m, 0, &SENDER, s, &t);
        }
    }
    true
}

/// `[request id, data]`.
fn response(cx: &mut Cx<'_>, m: &At<'_>, n: &Node) -> bool {
    let b = m.bytes;
    let Some((id, t)) = n.children.first().and_then(|x| text(b, x).map(|t| (x, t))) else { return false };
    cx.add_at(0, &RESPONSE, Value::None, m, n.start, n.end - n.start);
    add_text(cx, m, 1, &REQUEST_ID, id, &t);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messagepack_values_end_where_they_should() {
        // [ "ab", 300, -2, nil, {1: true}, bin [0xff] ]
        let b = [0x96, 0xa2, b'a', b'b', 0xcd, 0x01, 0x2c, 0xfe, 0xc0, 0x81, 0x01, 0xc3, 0xc4, 0x01, 0xff];
        let n = read(&b, 0, 0).unwrap();
        assert_eq!((n.end, n.children.len()), (b.len(), 6));
        assert_eq!(text(&b, &n.children[0]).as_deref(), Some("ab"));
        assert_eq!(int(&n.children[1]), Some(300));
        assert!(matches!(n.children[2].kind, Kind::Int(-2)));
        // Cut short, or announcing more than there is: not MessagePack.
        assert!(read(&b[..10], 0, 0).is_none());
        assert!(read(&[0xdd, 0xff, 0xff, 0xff, 0xff], 0, 0).is_none());
        // Bytes as an array of small integers read as text.
        let arr = [0x92, b'h', b'i'];
        assert_eq!(text(&arr, &read(&arr, 0, 0).unwrap()).as_deref(), Some("hi"));
    }
}
