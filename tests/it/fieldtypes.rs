//! Declared field types (`FieldDef::ty`, Wireshark's `FT_*`) against the
//! values the dissectors really emit, over every frame of every bundled
//! capture; and the declarations themselves: labels, explanations, unique
//! names, masks and value names only where they mean something.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use wirelab::dissect::Dissector;
use wirelab::model::{Dissection, FieldType, FrameMeta, Value};

use crate::support::{self, wirelab_bin};

/// Whether `ty` allows `v`, in a frame numbered `frame`: the table of the
/// `Value` variants each type carries. One match arm per type, no wildcard,
/// so a new type must say what it allows.
///
/// No type but `None` allows `Value::None`. A dissector that cannot read a
/// field (a partial header, a missing option) leaves it out instead of
/// adding it without a value, so `Value::None` in a typed field would mean
/// a field that claims a value and has none: a bug, not a partial header.
fn allows(ty: FieldType, v: Value, frame: u64) -> bool {
    match ty {
        FieldType::None => matches!(v, Value::None),
        FieldType::Bool => matches!(v, Value::Bool(_)),
        FieldType::U8 => matches!(v, Value::U(n) if n <= u8::MAX.into()),
        FieldType::U16 => matches!(v, Value::U(n) if n <= u16::MAX.into()),
        FieldType::U24 => matches!(v, Value::U(n) if n < 1 << 24),
        FieldType::U32 => matches!(v, Value::U(n) if n <= u32::MAX.into()),
        FieldType::U64 => matches!(v, Value::U(_)),
        FieldType::I32 => matches!(v, Value::I(n) if i32::try_from(n).is_ok()),
        FieldType::I64 => matches!(v, Value::I(_)),
        // RESP3's doubles may be inf or -inf, never NaN.
        FieldType::Double => matches!(v, Value::F(x) if !x.is_nan()),
        // Seconds as a float; never NaN or infinite.
        FieldType::AbsTime | FieldType::RelTime => matches!(v, Value::F(x) if x.is_finite()),
        FieldType::Ether => matches!(v, Value::Mac(_)),
        FieldType::Ipv4 => matches!(v, Value::Ipv4(_)),
        FieldType::Ipv6 => matches!(v, Value::Ipv6(_)),
        FieldType::Bytes => matches!(v, Value::Bytes),
        // The span's own bytes, or a string the dissector derived (an
        // unescaped event name, the namespace "/" when none is written, the
        // accept computation).
        FieldType::Text => matches!(v, Value::Text | Value::Owned(_) | Value::Static(_)),
        // A frame of the capture that came before this one, or this one.
        FieldType::FrameNum => matches!(v, Value::U(n) if (1..=frame).contains(&n)),
    }
}

/// Every field of every frame of every bundled capture carries a value its
/// declared type allows, and every type is seen in some capture (so no row
/// of the table above goes untested).
#[test]
fn every_emitted_value_agrees_with_its_declared_type() {
    // (field, value kind) → (an example value, where it was first seen, how often).
    let mut wrong: BTreeMap<(&str, String), (String, String, usize)> = BTreeMap::new();
    let mut types_seen = BTreeSet::new();
    let mut fields_seen = HashSet::new();
    for path in support::captures() {
        let cap = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        for f in support::dissect_file(&path) {
            for x in &f.d.fields {
                types_seen.insert(x.def.ty.name());
                fields_seen.insert(x.def.name);
                if !allows(x.def.ty, x.value, f.d.meta.number) {
                    let value = format!("{:?}", x.value);
                    let kind = value.split('(').next().unwrap_or_default().to_string();
                    let where_ = format!("{cap} frame {}", f.d.meta.number);
                    wrong.entry((x.def.name, kind)).or_insert((value, where_, 0)).2 += 1;
                }
            }
        }
    }
    let report: Vec<String> = wrong
        .iter()
        .map(|((field, _), (value, where_, n))| {
            let ty = wirelab::dissect::all_fields().find(|d| d.name == *field).map(|d| d.ty.name()).unwrap_or("?");
            format!("{field} is declared {ty} but is {value} ({n} times, first in {where_})")
        })
        .collect();
    assert!(report.is_empty(), "values that disagree with the declared type:\n{}", report.join("\n"));

    let all: BTreeSet<&str> = wirelab::dissect::all_fields().map(|d| d.ty.name()).collect();
    let unseen: Vec<&&str> = all.difference(&types_seen).collect();
    assert!(unseen.is_empty(), "no bundled capture has a field of type {unseen:?}: the table is untested there");
    assert!(fields_seen.len() > 150, "only {} declared fields seen in the captures", fields_seen.len());
}

/// Fields no bundled capture has, from hand-made frames (checksums left at
/// zero), so the table above is checked for them too. Left out: the TCP
/// analysis flags no capture shows; they are all added by the one line
/// that adds the retransmission flag the captures do show.
#[test]
fn hand_made_frames_agree_with_the_declared_types_too() {
    const ETHERNET: u32 = 1;
    const RAW: u32 = 101;
    const LINUX_SLL: u32 = 113;
    let frames: Vec<(u32, Vec<u8>)> = vec![
        // Ethernet, an 802.1Q tag (priority 5, DEI, VLAN 100), ARP for EUI-64
        // hardware addresses (so not shown as MACs), then a trailer.
        (ETHERNET, [eth(0x8100), vec![0xb0, 0x64, 0x08, 0x06], arp(0x001b, 8), vec![0xde, 0xad, 0xbe, 0xef]].concat()),
        // Ethernet, an ARP request for IPv4, zero padding up to 60 bytes.
        (ETHERNET, {
            let mut f = [eth(0x0806), arp(1, 6)].concat();
            f.resize(60, 0);
            f
        }),
        // Linux cooked capture with a 4-byte link-layer address (not a MAC).
        (LINUX_SLL, [[0, 0, 3, 4, 0, 4, 1, 2, 3, 4, 0, 0, 0, 0, 8, 0].as_slice(), &ipv4(17, &UDP)].concat()),
        // IPv6 with hop-by-hop, routing and destination options, and a
        // fragment header (offset 0, more fragments), then no next header.
        (RAW, {
            let ext = [
                [43, 0, 1, 4, 0, 0, 0, 0],  // hop-by-hop: PadN
                [60, 0, 2, 0, 0, 0, 0, 0],  // routing: type 2, 0 segments left
                [44, 0, 1, 4, 0, 0, 0, 0],  // destination options: PadN
                [59, 0, 0, 1, 0, 0, 0, 42], // fragment: offset 0, M, identification 42
            ]
            .concat();
            let mut f = vec![0x60, 0, 0, 0, 0, ext.len() as u8, 0, 64];
            let loopback = [[0; 15].as_slice(), &[1]].concat();
            f.extend([loopback.as_slice(), &loopback].concat());
            f.extend(ext);
            f
        }),
        // ICMP "fragmentation needed" (MTU 1500) quoting an IPv4 + UDP header.
        (RAW, ipv4(1, &[[3, 4, 0, 0, 0, 0, 0x05, 0xdc].as_slice(), &ipv4(17, &UDP)].concat())),
        // TCP with an option of unknown kind 99 and an end-of-options.
        (RAW, ipv4(6, &tcp((40000, 8080), 1, 0, &[99, 4, 0xab, 0xcd, 0, 0, 0, 0], b""))),
        // HTTP, mid-connection: a request with a cookie and a subprotocol,
        // a chunked answer that sets a cookie.
        (RAW, ipv4(6, &tcp((40001, 80), 1000, 5000, &[], REQUEST))),
        (RAW, ipv4(6, &tcp((80, 40001), 5000, 1000 + REQUEST.len() as u32, &[], RESPONSE))),
        // WebSocket on a demo port: a text frame, then one with reserved opcode 3.
        (RAW, ipv4(6, &tcp((9001, 40002), 7000, 9000, &[], &[0x81, 2, b'h', b'i', 0x83, 1, b'x']))),
    ];
    let mut dis = Dissector::new();
    let mut seen = BTreeSet::new();
    for (i, (linktype, bytes)) in frames.iter().enumerate() {
        let len = bytes.len() as u32;
        let number = i as u64 + 1;
        let meta = FrameMeta { number, ts_sec: 1_700_000_000, ts_nsec: 0, len, caplen: len, linktype: *linktype };
        let mut d = Dissection::default();
        dis.dissect(meta, bytes, &mut d);
        for x in &d.fields {
            seen.insert(x.def.name);
            let (name, ty, value) = (x.def.name, x.def.ty.name(), x.value);
            assert!(allows(x.def.ty, value, number), "frame {number}: {name} is declared {ty} but is {value:?}");
        }
    }
    let wanted = "vlan.priority vlan.dei vlan.id vlan.etype arp.src.hw arp.src.proto arp.dst.hw arp.dst.proto \
        eth.trailer eth.padding sll.src.other ipv6.hopopts ipv6.routing ipv6.routing.nxt ipv6.routing.len \
        ipv6.routing.type ipv6.routing.segleft ipv6.dstopts ipv6.dstopts.nxt ipv6.dstopts.len ipv6.fraghdr \
        ipv6.fraghdr.nxt ipv6.fraghdr.offset ipv6.fraghdr.more ipv6.fraghdr.ident icmp.mtu tcp.options.eol \
        tcp.options.unknown.payload http.cookie http.sec_websocket_protocol http.transfer_encoding http.set_cookie \
        http.chunk_size http.chunk_data websocket.payload.unknown";
    for name in wanted.split_whitespace() {
        assert!(seen.contains(name), "the hand-made frames no longer show {name}; they show {seen:?}");
    }
}

/// A UDP header, 40000 → 53, no payload, checksum 0.
const UDP: [u8; 8] = [0x9c, 0x40, 0, 53, 0, 8, 0, 0];
const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: x\r\nCookie: a=1\r\nSec-WebSocket-Protocol: chat\r\n\r\n";
const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: b=2\r\n\r\n4\r\nWiki\r\n0\r\n\r\n";

/// An Ethernet header from 02:00:00:00:00:01 to broadcast.
fn eth(ethertype: u16) -> Vec<u8> {
    [[0xff; 6].as_slice(), &[2, 0, 0, 0, 0, 1], &ethertype.to_be_bytes()].concat()
}

/// An ARP request with `hw`-byte hardware and IPv4 protocol addresses.
fn arp(hw_type: u16, hw: u8) -> Vec<u8> {
    let mut a = [hw_type.to_be_bytes(), [0x08, 0x00], [hw, 4], [0, 1]].concat();
    for ip in [[10, 0, 0, 1], [10, 0, 0, 2]] {
        a.extend(vec![0x11; hw.into()]);
        a.extend(ip);
    }
    a
}

/// An IPv4 header (no options, checksum 0) from 10.0.0.1 to 10.0.0.2.
fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
    let len = (20 + payload.len() as u16).to_be_bytes();
    [[0x45, 0, len[0], len[1], 0, 1, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2].as_slice(), payload].concat()
}

/// A TCP segment with ACK (and PSH when it carries data), checksum 0.
fn tcp(ports: (u16, u16), seq: u32, ack: u32, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let words = 5 + options.len() as u8 / 4;
    let flags = if payload.is_empty() { 0x10 } else { 0x18 };
    [
        ports.0.to_be_bytes().as_slice(),
        &ports.1.to_be_bytes(),
        &seq.to_be_bytes(),
        &ack.to_be_bytes(),
        &[words << 4, flags, 0xff, 0xff, 0, 0, 0, 0],
        options,
        payload,
    ]
    .concat()
}

/// Every declaration reads well and is consistent: a label and an
/// explanation, a unique display-filter name, and a mask or value names only
/// on types where they mean something.
#[test]
fn every_declared_field_has_a_label_an_explanation_and_a_unique_name() {
    let mut names = HashSet::new();
    for d in wirelab::dissect::all_fields() {
        assert!(!d.label.trim().is_empty(), "{}: empty label", d.name);
        assert!(!d.explain.trim().is_empty(), "{}: empty explanation", d.name);
        assert!(names.insert(d.name), "{}: declared twice", d.name);
        let unsigned =
            matches!(d.ty, FieldType::U8 | FieldType::U16 | FieldType::U24 | FieldType::U32 | FieldType::U64);
        // A mask picks bits out of the span: a flag or a small number.
        assert!(d.mask == 0 || unsigned || d.ty == FieldType::Bool, "{}: a mask on a {} field", d.name, d.ty.name());
        // Value names (`6` → `TCP`) name numbers.
        assert!(d.values.is_empty() || unsigned, "{}: value names on a {} field", d.name, d.ty.name());
    }
}

/// `wirelab fields` shows each field's type in its third column.
#[test]
fn wirelab_fields_lists_each_fields_type() {
    let out = wirelab_bin().arg("fields").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    // Fields come first; a note may share a field's name (tcp.analysis.retransmission).
    let mut columns: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for l in text.lines() {
        let cols: Vec<&str> = l.split('\t').collect();
        columns.entry(cols[0]).or_insert(cols);
    }
    for d in wirelab::dissect::all_fields() {
        let cols = columns.get(d.name).unwrap_or_else(|| panic!("{} is not listed", d.name));
        assert_eq!(cols.get(2), Some(&d.ty.name()), "{}: {cols:?}", d.name);
        assert_eq!(cols.get(3), Some(&d.label), "{}: {cols:?}", d.name);
    }
}
