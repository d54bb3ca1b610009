//! Byte-vector tests, one per dissector, commented field by field: values
//! and spans are asserted, as is every byte's owner.

use super::Dissector;
use crate::model::{Dissection, FrameMeta, Severity, Value};

fn run(linktype: u32, bytes: &[u8]) -> Dissection {
    let mut d = Dissection::default();
    let meta = FrameMeta {
        number: 1,
        ts_sec: 1_700_000_000,
        ts_nsec: 0,
        len: bytes.len() as u32,
        caplen: bytes.len() as u32,
        linktype,
    };
    Dissector::new().dissect(meta, bytes, &mut d);
    d
}

/// (value, offset, len) of the first field with this name.
fn get(d: &Dissection, name: &str) -> (Value, u32, u32) {
    let f = d.field(name).unwrap_or_else(|| panic!("no field {name}"));
    (f.value, f.span.offset, f.span.len)
}

#[rustfmt::skip]
const TCP_SYN: &[u8] = &[
    // Ethernet II
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // eth.dst
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // eth.src
    0x08, 0x00,                         // eth.type: IPv4
    // IPv4
    0x45,                               // version 4, IHL 5 (20 bytes)
    0x00,                               // DSCP 0, ECN 0
    0x00, 0x3c,                         // total length 60
    0xff, 0x73,                         // identification
    0x40, 0x00,                         // flags: DF; fragment offset 0
    0x40,                               // TTL 64
    0x06,                               // protocol: TCP
    0x3d, 0x46,                         // header checksum (correct)
    0x7f, 0x00, 0x00, 0x01,             // source 127.0.0.1
    0x7f, 0x00, 0x00, 0x01,             // destination 127.0.0.1
    // TCP
    0xe1, 0xd6,                         // source port 57814
    0x22, 0x3d,                         // destination port 8765
    0xb6, 0x4e, 0xf2, 0x2f,             // sequence number 3058627119
    0x00, 0x00, 0x00, 0x00,             // acknowledgment number 0
    0xa0, 0x02,                         // data offset 10 (40 bytes); flags: SYN
    0xff, 0xd7,                         // window 65495
    0xfe, 0x30,                         // checksum: partial (offloaded)
    0x00, 0x00,                         // urgent pointer
    0x02, 0x04, 0xff, 0xd7,             // MSS 65495
    0x04, 0x02,                         // SACK permitted
    0x08, 0x0a, 0x90, 0x45, 0x60, 0x52, 0x00, 0x00, 0x00, 0x00, // timestamps
    0x01,                               // NOP
    0x03, 0x03, 0x0a,                   // window scale 10
];

#[test]
fn ethernet_ipv4_tcp_syn_values_and_spans() {
    let d = run(1, TCP_SYN);
    assert_eq!(d.protocols(), "frame:eth:ip:tcp");
    assert_eq!(get(&d, "eth.type"), (Value::U(0x0800), 12, 2));
    assert_eq!(get(&d, "ip.version"), (Value::U(4), 14, 1));
    assert_eq!(get(&d, "ip.hdr_len"), (Value::U(20), 14, 1));
    assert_eq!(get(&d, "ip.len"), (Value::U(60), 16, 2));
    assert_eq!(get(&d, "ip.flags.df"), (Value::Bool(true), 20, 2));
    assert_eq!(d.field("ip.flags.df").unwrap().def.mask, 0x4000);
    assert_eq!(get(&d, "ip.ttl"), (Value::U(64), 22, 1));
    assert_eq!(get(&d, "ip.checksum.status"), (Value::U(1), 24, 2));
    assert_eq!(get(&d, "ip.src"), (Value::Ipv4([127, 0, 0, 1]), 26, 4));
    assert_eq!(get(&d, "tcp.srcport"), (Value::U(57814), 34, 2));
    assert_eq!(get(&d, "tcp.dstport"), (Value::U(8765), 36, 2));
    assert_eq!(get(&d, "tcp.seq_raw"), (Value::U(3058627119), 38, 4));
    assert_eq!(get(&d, "tcp.seq"), (Value::U(0), 38, 4));
    assert_eq!(get(&d, "tcp.nxtseq").0, Value::U(1));
    assert_eq!(get(&d, "tcp.hdr_len"), (Value::U(40), 46, 1));
    assert_eq!(get(&d, "tcp.flags"), (Value::U(0x002), 46, 2));
    assert_eq!(get(&d, "tcp.flags.syn"), (Value::Bool(true), 46, 2));
    assert_eq!(get(&d, "tcp.flags.ack"), (Value::Bool(false), 46, 2));
    assert_eq!(get(&d, "tcp.window_size_value"), (Value::U(65495), 48, 2));
    assert_eq!(get(&d, "tcp.checksum.status").0, Value::U(2));
    assert_eq!(get(&d, "tcp.options.mss_val"), (Value::U(65495), 56, 2));
    assert_eq!(get(&d, "tcp.options.timestamp.tsval"), (Value::U(2420465746), 62, 4));
    assert_eq!(get(&d, "tcp.options.wscale.shift"), (Value::U(10), 73, 1));
    assert_eq!(get(&d, "tcp.options.wscale.multiplier").0, Value::U(1024));
    assert_eq!(d.summary.protocol, "TCP");
    assert!(d.summary.info().starts_with("57814 \u{2192} 8765 [SYN] Seq=0 Win=65495 Len=0 MSS=65495 SACK_PERM"));
    assert!(d.notes.iter().any(|n| n.message.contains("checksum offload")));
    assert!(d.notes.iter().any(|n| n.message.contains("handshake 1/3") && n.def.name == "tcp.connection.syn"));
}

#[test]
fn a_bad_ip_checksum_is_an_error_with_the_right_value() {
    let mut b = TCP_SYN.to_vec();
    b[24] = 0x12;
    let d = run(1, &b);
    assert_eq!(get(&d, "ip.checksum.status").0, Value::U(0));
    let n = d.notes.iter().find(|n| n.layer == "ip" && n.severity == Severity::Error).expect("a checksum error");
    assert!(n.message.contains("should be 0x3d46"), "{}", n.message);
    assert_eq!(n.def.name, "ip.checksum_bad.expert");
    assert_eq!((n.span.offset, n.span.len), (24, 2));
}

#[test]
fn a_bad_ihl_stops_at_ip_with_a_reason() {
    let mut b = TCP_SYN.to_vec();
    b[14] = 0x43; // IHL 3: 12 bytes, less than the minimum
    let d = run(1, &b);
    assert!(d.field("tcp.srcport").is_none());
    assert_eq!(get(&d, "ip.hdr_len").0, Value::U(12));
    assert!(d.notes.iter().any(|n| n.message.contains("bad header length: 3 words")));
    // The bytes after the unreadable header are still owned: by data.
    assert!(d.field("data.data").is_some());
}

#[test]
fn a_frame_cut_inside_tcp_says_where() {
    let d = run(1, &TCP_SYN[..44]);
    assert_eq!(get(&d, "tcp.srcport"), (Value::U(57814), 34, 2));
    let n = d.notes.iter().find(|n| n.layer == "tcp").expect("a truncation note");
    assert!(n.message.contains("truncated") && n.message.contains("frame ends at byte 44"), "{}", n.message);
    assert_eq!(n.def.name, "tcp.expert.truncated");
}

#[rustfmt::skip]
const UDP_DGRAM: &[u8] = &[
    // Ethernet II, all-zero loopback addresses
    0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0,  0x08, 0x00,
    // IPv4: 20-byte header, total 33, UDP, 127.0.0.1 -> 127.0.0.1
    0x45, 0x00, 0x00, 0x21, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00,
    0x7f, 0x00, 0x00, 0x01,  0x7f, 0x00, 0x00, 0x01,
    // UDP
    0xc3, 0x50,             // source port 50000
    0x23, 0x2c,             // destination port 9004
    0x00, 0x0d,             // length 13 (8 header + 5 data)
    0x00, 0x00,             // checksum 0: not computed
    b'h', b'e', b'l', b'l', b'o',
    // Ethernet padding (zeros)
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

#[test]
fn udp_with_no_checksum_and_ethernet_padding() {
    let d = run(1, UDP_DGRAM);
    assert_eq!(get(&d, "udp.srcport"), (Value::U(50000), 34, 2));
    assert_eq!(get(&d, "udp.length"), (Value::U(13), 38, 2));
    assert_eq!(get(&d, "udp.checksum.status").0, Value::U(3), "0 means not present");
    assert_eq!(get(&d, "udp.stream").0, Value::U(0));
    assert_eq!(get(&d, "data.data"), (Value::Bytes, 42, 5));
    assert_eq!(get(&d, "eth.padding"), (Value::Bytes, 47, 27));
    assert_eq!(d.summary.info(), "50000 \u{2192} 9004 Len=5");
    // The IP checksum was left zero: an error that says what it should be.
    assert_eq!(get(&d, "ip.checksum.status").0, Value::U(0));
}

#[rustfmt::skip]
const ARP_REQUEST: &[u8] = &[
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // eth.dst: broadcast
    0x8e, 0xe3, 0xd5, 0x9d, 0xf2, 0xde, // eth.src
    0x08, 0x06,                         // ARP
    0x00, 0x01,                         // hardware type: Ethernet
    0x08, 0x00,                         // protocol type: IPv4
    0x06, 0x04,                         // sizes: 6, 4
    0x00, 0x01,                         // opcode: request
    0x8e, 0xe3, 0xd5, 0x9d, 0xf2, 0xde, 10, 213, 0, 1, // sender MAC, IP
    0, 0, 0, 0, 0, 0,                   10, 213, 0, 2, // target MAC (unknown), IP
];

#[test]
fn arp_request() {
    let d = run(1, ARP_REQUEST);
    assert_eq!(get(&d, "arp.opcode"), (Value::U(1), 20, 2));
    assert_eq!(get(&d, "arp.src.proto_ipv4"), (Value::Ipv4([10, 213, 0, 1]), 28, 4));
    assert_eq!(get(&d, "arp.dst.proto_ipv4"), (Value::Ipv4([10, 213, 0, 2]), 38, 4));
    assert_eq!(d.summary.info(), "Who has 10.213.0.2? Tell 10.213.0.1");
    assert_eq!(d.layers.last().unwrap().proto.osi, 2);
}

#[rustfmt::skip]
const IPV6_HOPOPTS_ICMPV6: &[u8] = &[
    // IPv6 (raw IP link type)
    0x60, 0x00, 0x00, 0x00,             // version 6, traffic class 0, flow 0
    0x00, 0x10,                         // payload length 16
    0x00,                               // next header: hop-by-hop options
    0x01,                               // hop limit 1
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // source fe80::1
    0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16, // destination ff02::16
    // Hop-by-hop: next ICMPv6, length 0 (8 bytes), router alert, PadN
    0x3a, 0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00,
    // ICMPv6: type 143, code 0, checksum (wrong on purpose), reserved
    0x8f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

#[test]
fn ipv6_extension_header_then_icmpv6() {
    let d = run(101, IPV6_HOPOPTS_ICMPV6);
    assert_eq!(d.protocols(), "frame:ipv6:icmpv6");
    assert_eq!(get(&d, "ipv6.plen"), (Value::U(16), 4, 2));
    assert_eq!(get(&d, "ipv6.hopopts"), (Value::None, 40, 8));
    assert_eq!(get(&d, "ipv6.hopopts.nxt"), (Value::U(58), 40, 1));
    assert_eq!(get(&d, "icmpv6.type"), (Value::U(143), 48, 1));
    assert_eq!(get(&d, "icmpv6.checksum.status").0, Value::U(0));
    assert_eq!(d.summary.src.to_string(), "fe80::1");
}

#[test]
fn null_loopback_family_in_either_byte_order() {
    let mut b = vec![2, 0, 0, 0]; // AF_INET, little-endian (written by a LE host)
    b.extend_from_slice(&TCP_SYN[14..]);
    let d = run(0, &b);
    assert_eq!(get(&d, "null.family"), (Value::U(2), 0, 4));
    assert_eq!(get(&d, "tcp.srcport").1, 20 + 4);
    b[..4].copy_from_slice(&[0, 0, 0, 2]); // the same, big-endian
    assert_eq!(get(&run(0, &b), "null.family").0, Value::U(2));
}

#[test]
fn an_unknown_link_type_is_data_with_a_note() {
    let d = run(147, b"\x01\x02\x03");
    assert_eq!(get(&d, "data.data"), (Value::Bytes, 0, 3));
    assert!(d.notes.iter().any(|n| n.message.contains("link type 147")));
}

#[test]
fn tcp_options_with_a_bad_length_are_reported_not_followed() {
    let mut b = TCP_SYN.to_vec();
    b[55] = 40; // MSS option claims 40 bytes
    let d = run(1, &b);
    assert!(d.notes.iter().any(|n| n.def.name == "tcp.option.len.invalid" && n.message.contains("bad length 40")));
    assert!(d.field("tcp.options.mss_val").is_none());
}

#[test]
fn an_802_1q_tag_between_ethernet_and_ip() {
    let mut b = TCP_SYN[..12].to_vec();
    b.extend_from_slice(&[
        0x81, 0x00, // eth.type: 802.1Q
        0x60, 0x2a, // priority 3, DEI 0, VLAN 42
        0x08, 0x00, // vlan.etype: IPv4
    ]);
    b.extend_from_slice(&TCP_SYN[14..]);
    let d = run(1, &b);
    assert_eq!(d.protocols(), "frame:eth:vlan:ip:tcp");
    assert_eq!(get(&d, "vlan.priority"), (Value::U(3), 14, 2));
    assert_eq!(get(&d, "vlan.id"), (Value::U(42), 14, 2));
    assert_eq!(get(&d, "vlan.etype"), (Value::U(0x0800), 16, 2));
    assert_eq!(get(&d, "tcp.srcport").1, 38);
}

#[test]
fn every_note_is_declared_once_under_its_protocol() {
    let mut seen = std::collections::HashSet::new();
    for n in super::all_notes() {
        assert!(seen.insert(n.name), "{} is declared twice", n.name);
        assert!(n.name.starts_with(n.proto.name) && n.name[n.proto.name.len()..].starts_with('.'), "{}", n.name);
        assert!(!n.explain.is_empty(), "{} has no explanation", n.name);
    }
    // The TCP analysis notes carry Wireshark's names and today's severities.
    let sev = |name: &str| super::all_notes().find(|n| n.name == name).map(|n| n.severity);
    assert_eq!(sev("tcp.analysis.retransmission"), Some(Severity::Warning));
    assert_eq!(sev("tcp.analysis.window_update"), Some(Severity::Info));
    assert_eq!(sev("tcp.analysis.keep_alive"), Some(Severity::Info));
}

#[rustfmt::skip]
const UDP_DEMO_REQUEST: &[u8] = &[
    // Ethernet II
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // eth.dst
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // eth.src
    0x08, 0x00,                         // eth.type: IPv4
    // IPv4
    0x45, 0x00,                         // version 4, IHL 5; DSCP/ECN 0
    0x00, 0x33,                         // total length 51 (20 + 8 + 23)
    0x00, 0x01, 0x40, 0x00,             // identification 1; DF
    0x40, 0x11,                         // TTL 64; protocol UDP
    0x00, 0x00,                         // header checksum (not checked here)
    0x7f, 0x00, 0x00, 0x01,             // source 127.0.0.1
    0x7f, 0x00, 0x00, 0x01,             // destination 127.0.0.1
    // UDP
    0xc3, 0x50,                         // source port 50000
    0x23, 0x2c,                         // destination port 9004
    0x00, 0x1f,                         // length 31 (8 + 23)
    0x00, 0x00,                         // checksum: none
    // wirelab demo protocol
    0x57, 0x4c,                         // demo.magic "WL"
    0x01,                               // demo.version 1
    0x01,                               // demo.kind 1: request
    0x00, 0x00, 0x00, 0x07,             // demo.seq 7
    0x00, 0x06, 0x0a, 0x3c, 0x2f, 0x1a, 0x00, 0x00, // demo.sent_time (µs since 1970)
    0x00, 0x00, 0x00, 0x03,             // demo.length 3
    0x61, 0x62, 0x63,                   // demo.payload "abc"
];

#[test]
fn a_demo_request_over_udp_is_dissected_field_by_field() {
    let d = run(1, UDP_DEMO_REQUEST);
    assert_eq!(get(&d, "demo.magic"), (Value::Bytes, 42, 2));
    assert_eq!(get(&d, "demo.version"), (Value::U(1), 44, 1));
    assert_eq!(get(&d, "demo.kind"), (Value::U(1), 45, 1));
    assert_eq!(get(&d, "demo.seq"), (Value::U(7), 46, 4));
    assert_eq!(get(&d, "demo.sent_time"), (Value::U(0x0006_0a3c_2f1a_0000), 50, 8));
    assert_eq!(get(&d, "demo.length"), (Value::U(3), 58, 4));
    assert_eq!(get(&d, "demo.payload"), (Value::Bytes, 62, 3));
    assert_eq!(d.summary.protocol, "Demo");
    assert_eq!(d.summary.info(), "Demo request seq=7 len=3");
    assert!(d.field("data.data").is_none(), "the payload is the demo message, not undissected data");
    // The layout the servers build messages with is the one the dissector reads.
    let built = super::app::demo::request(7, 3);
    assert_eq!(&built[..8], &UDP_DEMO_REQUEST[42..50]);
    assert_eq!(&built[16..], &UDP_DEMO_REQUEST[58..]);
}

#[test]
fn a_short_demo_datagram_says_it_is_incomplete() {
    let mut bytes = UDP_DEMO_REQUEST[..52].to_vec();
    bytes[17] = 38; // IPv4 total length: 20 + 8 + 10
    bytes[39] = 18; // UDP length: 8 + 10
    let d = run(1, &bytes);
    assert!(d.notes.iter().any(|n| n.def.name == "demo.expert.truncated"), "{:?}", d.notes);
    assert!(d.field("demo.seq").is_none());
}

#[test]
fn a_preview_of_a_long_message_is_the_preview_of_its_whole_text() {
    use super::app::preview;
    // What the preview was before it looked only at the first bytes: the
    // whole message decoded, then cut.
    let whole = |b: &[u8], max: usize| {
        let s = String::from_utf8_lossy(b);
        if s.len() <= max {
            return s.into_owned();
        }
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    };
    let mut cases: Vec<Vec<u8>> = vec![b"short".to_vec(), "é".repeat(200).into_bytes(), "😀".repeat(100).into_bytes()];
    for shift in 0..5 {
        // Multi-byte characters across the cut, invalid bytes before and after it.
        let mut v = vec![b'a'; shift];
        v.extend("日本語テキスト".repeat(20).as_bytes());
        cases.push(v.clone());
        v.insert(10, 0xff);
        cases.push(v.clone());
        v.insert(60, 0xf0);
        cases.push(v);
    }
    for b in &cases {
        for max in [0, 1, 5, 32, 50, 100, 120] {
            assert_eq!(preview(b, max), whole(b, max), "{max} {b:?}");
        }
    }
}

/// `Dissector::flow` reads the usual frame straight from its bytes: wherever
/// the dissectors put a frame in a conversation, that shortcut must name the
/// same one or leave the frame to them. (A frame they put in none needs no
/// state; any answer will do.) On every bundled frame, and on each cut short
/// at every length and with its fragment bits set, where a shortcut would be
/// most likely to read past what the dissectors accept.
#[test]
fn a_frames_conversation_read_from_its_bytes_is_the_one_the_dissectors_find() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut router = Dissector::new();
    let mut scratch = Dissection::default();
    let (mut checked, mut in_conversation) = (0, 0);
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let Ok(cap) = crate::file::Capture::open(&path) else { continue };
        for f in cap.frames().map_while(Result::ok) {
            let mut variants = vec![f.data.to_vec()];
            variants.extend((0..f.data.len()).map(|n| f.data[..n].to_vec()));
            if f.data.len() > 21 {
                let mut frag = f.data.to_vec();
                frag[20] |= 0x20;
                variants.push(frag);
            }
            for data in variants {
                let by_dissecting = router.flow_by_dissecting(f.meta, &data, &mut scratch);
                if let (Some(plain), Some(_)) = (super::plain_flow(f.meta.linktype, &data), by_dissecting) {
                    assert_eq!(
                        plain,
                        by_dissecting,
                        "{} frame {} ({} bytes)",
                        path.display(),
                        f.meta.number,
                        data.len()
                    );
                    in_conversation += 1;
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 10_000 && in_conversation > 5_000, "{checked} {in_conversation}");
}
