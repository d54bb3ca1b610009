//! IPv4 (RFC 791).

use super::checksum::{Check, STATUS_NAMES};
use super::linktype::{NetInfo, ip_proto};
use super::{Cx, data, read_be};
use crate::model::{Addr, Protocol, TcpIpLayer, Value};
use crate::{fields, notes};
use etherparse::Ipv4HeaderSlice;
use etherparse::err::ipv4::HeaderSliceError;

pub static IP: Protocol = Protocol {
    name: "ip",
    short: "IPv4",
    label: "Internet Protocol Version 4",
    osi: 3,
    tcpip: TcpIpLayer::Internet,
    explain: "The network layer carries a packet from its source host to its destination host, across any \
number of networks, using IP addresses. It promises nothing: packets may be lost, duplicated or reordered.",
};

/// Byte ranges of the fixed IPv4 header (RFC 791 §3.1).
pub mod field {
    use std::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const DSFIELD: usize = 1;
    pub const LEN: Range<usize> = 2..4;
    pub const ID: Range<usize> = 4..6;
    pub const FLAGS_FRAG: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTO: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC: Range<usize> = 12..16;
    pub const DST: Range<usize> = 16..20;
    pub const MIN_LEN: usize = 20;
}

pub const PROTOCOLS: &[(u64, &str)] = &[
    (0, "IPv6 Hop-by-Hop Option"),
    (1, "ICMP"),
    (2, "IGMP"),
    (6, "TCP"),
    (17, "UDP"),
    (41, "IPv6"),
    (43, "IPv6 Routing"),
    (44, "IPv6 Fragment"),
    (50, "ESP"),
    (51, "AH"),
    (58, "ICMPv6"),
    (59, "IPv6 No Next Header"),
    (60, "IPv6 Destination Options"),
    (132, "SCTP"),
];

fields! { proto = &IP;
    VERSION: "ip.version" { label: "Version", ty: U8, mask: 0xf0, explain: "The IP version: 4 here. Every IP packet starts with it, so a receiver knows how to read the rest." };
    HDR_LEN: "ip.hdr_len" { label: "Header Length", ty: U8, mask: 0x0f, explain: "The header's length in bytes. On the wire it is counted in 32-bit words (5 means 20 bytes, the minimum; more means options follow)." };
    DSFIELD: "ip.dsfield" { label: "Differentiated Services Field", ty: U8, base: Hex(2), explain: "Quality-of-service marking (RFC 2474) and congestion notification (RFC 3168)." };
    DSCP: "ip.dsfield.dscp" { label: "Differentiated Services Codepoint", ty: U8, mask: 0xfc, values: &[(0, "Default"), (46, "Expedited Forwarding")], explain: "Asks routers for a class of service; 0 is ordinary best effort." };
    ECN: "ip.dsfield.ecn" { label: "Explicit Congestion Notification", ty: U8, mask: 0x03, values: &[(0, "Not ECN-Capable Transport"), (1, "ECT(1)"), (2, "ECT(0)"), (3, "Congestion Experienced")], explain: "Lets a router signal congestion without dropping the packet (RFC 3168)." };
    LEN: "ip.len" { label: "Total Length", ty: U16, explain: "Length of the whole IP packet, header and payload, in bytes. Bytes after it in the frame are not part of the packet." };
    ID: "ip.id" { label: "Identification", ty: U16, base: Hex(4), explain: "A number shared by all fragments of one original packet, so the receiver can put them back together." };
    FLAGS: "ip.flags" { label: "Flags", ty: U8, base: Hex(2), mask: 0xe000, explain: "Three bits that control fragmentation." };
    FLAGS_RB: "ip.flags.rb" { label: "Reserved bit", ty: Bool, mask: 0x8000, explain: "Must be zero (RFC 791)." };
    FLAGS_DF: "ip.flags.df" { label: "Don't fragment", ty: Bool, mask: 0x4000, explain: "Set: routers must drop the packet rather than split it. Used to discover the path's MTU (RFC 1191)." };
    FLAGS_MF: "ip.flags.mf" { label: "More fragments", ty: Bool, mask: 0x2000, explain: "Set: this is a fragment and more of the original packet follows." };
    FRAG_OFFSET: "ip.frag_offset" { label: "Fragment Offset", ty: U16, mask: 0x1fff, explain: "Where this fragment's data belongs in the original packet, in 8-byte units (185 means byte 1480)." };
    TTL: "ip.ttl" { label: "Time to Live", ty: U8, explain: "Each router decrements it and drops the packet at zero, so a routing loop cannot keep a packet alive forever." };
    PROTO: "ip.proto" { label: "Protocol", ty: U8, values: PROTOCOLS, explain: "Which protocol the payload belongs to: 6 TCP, 17 UDP, 1 ICMP. This is how the network layer hands data up to the right transport." };
    CHECKSUM: "ip.checksum" { label: "Header Checksum", ty: U16, base: Hex(4), explain: "A checksum of the header only (RFC 1071); the payload has its own in TCP and UDP." };
    CHECKSUM_STATUS: "ip.checksum.status" { label: "Header checksum status", ty: U8, values: STATUS_NAMES, explain: "Whether wirelab found the header checksum right (1), wrong (0) or could not check it (2)." };
    SRC: "ip.src" { label: "Source Address", ty: Ipv4, explain: "The IP address of the host that sent the packet." };
    DST: "ip.dst" { label: "Destination Address", ty: Ipv4, explain: "The IP address of the host the packet is for. 127.0.0.1 is this machine itself (loopback)." };
    OPTIONS: "ip.options" { label: "Options", ty: Bytes, base: Hex(0), explain: "Optional header extensions, rarely used today; their presence makes the header longer than 20 bytes." };
    OPT_TYPE: "ip.opt.type" { label: "Option Type", ty: U8, values: &[(0, "End of Option List"), (1, "No-Operation"), (7, "Record Route"), (68, "Time Stamp"), (130, "Security"), (131, "Loose Source Route"), (137, "Strict Source Route"), (148, "Router Alert")], explain: "Which option this is." };
    OPT_LEN: "ip.opt.len" { label: "Option Length", ty: U8, explain: "The option's length in bytes, type and length included." };
    OPT_DATA: "ip.opt.data" { label: "Option Data", ty: Bytes, base: Hex(0), explain: "The option's contents." };
}

notes! { proto = &IP;
    TRUNCATED: "ip.expert.truncated" { severity: Error, cite: "RFC 791 §3.1", explain: "The frame ends before the IPv4 header does, so the addresses and the protocol of what follows cannot all be read. Usually the capture cut the frame short." };
    BOGUS_VERSION: "ip.bogus_ip_version" { severity: Error, cite: "RFC 791 §3.1", explain: "The first four bits of an IP packet give its version, and only 4 and 6 exist. Bytes that claim another version are not an IP packet, or were damaged." };
    BOGUS_HEADER_LENGTH: "ip.bogus_header_length" { severity: Error, cite: "RFC 791 §3.1", explain: "The header length field says the header is shorter than 20 bytes, the size of a header without options. That is impossible, so the packet cannot be read correctly." };
    CHECKSUM_BAD: "ip.checksum_bad.expert" { severity: Error, cite: "RFC 791 §3.1", explain: "The header checksum does not match the header's bytes: they changed on the way. A router or host drops such a packet, because it cannot trust the addresses in it." };
    BOGUS_LENGTH: "ip.bogus_ip_length" { severity: Error, cite: "RFC 791 §3.1", explain: "The total length counts the whole packet, header included, so it can never be smaller than the header. This packet's length field is wrong." };
    LENGTH_PAST_CAPTURE: "ip.expert.length_past_capture" { severity: Error, cite: "RFC 791 §3.1", explain: "The total length promises more bytes than the frame holds, and the capture did not cut the frame: bytes the header announces are really missing, so the layers above are incomplete." };
    LENGTH_PAST_SNAPLEN: "ip.expert.length_past_snaplen" { explain: "The total length promises more bytes than were captured because the capture's snap length kept only the start of the frame. The packet was whole on the wire; only the recording is short." };
    FRAGMENT: "ip.expert.fragment" { cite: "RFC 791", explain: "The original packet was too big for a link on its way and was split into fragments, which the destination puts back together. Only the first fragment carries the TCP or UDP header." };
    OPT_LEN_INVALID: "ip.opt.len.invalid" { severity: Error, cite: "RFC 791 §3.1", explain: "An option's length byte is too small or runs past the end of the header, so the option and the ones after it cannot be read." };
}

/// Dissects an IPv4 packet at `offset`; returns where the packet ends.
pub fn dissect(cx: &mut Cx<'_>, offset: usize) -> usize {
    let bytes = cx.data.get(offset..).unwrap_or(&[]);
    let parsed = Ipv4HeaderSlice::from_slice(bytes);
    let layer = cx.begin_layer(&IP, offset);
    let hdr = match parsed {
        Ok(h) => h,
        Err(e) => {
            fixed_fields(cx, offset);
            let hl = usize::from(bytes.first().map(|b| b & 0x0f).unwrap_or(5)) * 4;
            let have = bytes.len().min(hl.max(field::MIN_LEN));
            cx.end_layer(layer, have);
            match e {
                HeaderSliceError::Len(l) => cx.truncated(&TRUNCATED, "IPv4 header", offset, l.required_len),
                HeaderSliceError::Content(c) => {
                    let (def, msg) = match c {
                        etherparse::err::ipv4::HeaderError::UnexpectedVersion { version_number } => (
                            &BOGUS_VERSION,
                            format!("IP version {version_number} in an IPv4 header: the first four bits must be 4"),
                        ),
                        etherparse::err::ipv4::HeaderError::HeaderLengthSmallerThanHeader { ihl } => (
                            &BOGUS_HEADER_LENGTH,
                            format!(
                                "bad header length: {ihl} words ({} bytes), but an IPv4 header is at least 5 words (20 bytes)",
                                usize::from(ihl) * 4
                            ),
                        ),
                    };
                    cx.note(def, offset, 1, msg);
                }
            }
            // What follows an unreadable header is unreadable too: data.
            data::rest(cx, offset + have);
            return cx.data.len();
        }
    };
    let hlen = hdr.slice().len();
    fixed_fields(cx, offset);
    let ck = cx.check(None, hdr.slice(), field::CHECKSUM.start);
    if let Some(f) = cx.out.fields.iter_mut().rev().find(|f| std::ptr::eq(f.def, &CHECKSUM_STATUS)) {
        f.value = Value::U(ck.status());
    }
    if let Check::Bad { expected } = ck {
        cx.note(
            &CHECKSUM_BAD,
            offset + field::CHECKSUM.start,
            2,
            format!("bad header checksum 0x{:04x}: it should be 0x{expected:04x}", hdr.header_checksum()),
        );
    }
    if hlen > field::MIN_LEN {
        options(cx, offset + field::MIN_LEN, offset + hlen);
    }
    cx.end_layer(layer, hlen);

    let src = hdr.source();
    let dst = hdr.destination();
    cx.set_addrs(Addr::Ipv4(src), Addr::Ipv4(dst));
    cx.set_protocol("IPv4");

    let total = usize::from(hdr.total_len());
    let mut end = offset + total;
    if total < hlen {
        cx.note(
            &BOGUS_LENGTH,
            offset + field::LEN.start,
            2,
            format!("total length {total} is shorter than the header itself ({hlen} bytes)"),
        );
        end = offset + hlen;
    } else if end > cx.data.len() && !cx.inner {
        // The claimed end is kept: lengths above (tcp.len) count what was
        // sent, not what was captured.
        let have = cx.data.len() - offset;
        let cut = cx.out.meta.caplen < cx.out.meta.len;
        cx.note(
            if cut { &LENGTH_PAST_SNAPLEN } else { &LENGTH_PAST_CAPTURE },
            offset + field::LEN.start,
            2,
            format!(
                "total length says {total} bytes but only {have} were captured{}",
                if cut { " (cut by the snap length)" } else { "" }
            ),
        );
    }

    let proto = hdr.protocol().0;
    let frag_off = usize::from(hdr.fragments_offset().value()) * 8;
    let more = hdr.more_fragments();
    let ttl = hdr.ttl();
    let mut net = NetInfo { is_v6: false, src: [0; 16], dst: [0; 16], fragment: more || frag_off > 0, ttl };
    net.src[..4].copy_from_slice(&src);
    net.dst[..4].copy_from_slice(&dst);
    let start = offset + hlen;
    if net.fragment {
        cx.note(
            &FRAGMENT,
            offset + field::FLAGS_FRAG.start,
            2,
            format!(
                "fragment of packet 0x{:04x}: {} bytes at offset {frag_off}{} (wirelab does not reassemble IP fragments)",
                hdr.identification(),
                end - start,
                if more { ", more follow" } else { ", the last one" }
            ),
        );
        if frag_off > 0 {
            cx.set_info(format_args!(
                "Fragmented IP protocol (proto={} {proto}, off={frag_off}, ID={:04x})",
                name_of(proto),
                hdr.identification()
            ));
            data::bytes(cx, start, end);
            return end;
        }
    }
    let upper_end = ip_proto(cx, proto, start, end, &net);
    if upper_end == start {
        cx.set_info(format_args!("IPv4 protocol {proto} ({})", name_of(proto)));
    }
    if upper_end < end {
        data::bytes(cx, upper_end.max(start), end);
    }
    end
}

fn name_of(proto: u8) -> &'static str {
    PROTOCOLS.iter().find(|(k, _)| *k == u64::from(proto)).map(|(_, n)| *n).unwrap_or("")
}

/// Adds every fixed-header field whose bytes were captured.
fn fixed_fields(cx: &mut Cx<'_>, o: usize) {
    // Fields and nothing else: nothing to do without the tree.
    if !cx.tree {
        return;
    }
    let have = cx.data.len().saturating_sub(o);
    let fits = |r: usize| r <= have;
    if fits(1) {
        cx.uint(0, &VERSION, o, 1);
        let ihl = read_be(cx.data, o, 1, 0x0f);
        cx.add(0, &HDR_LEN, Value::U(ihl * 4), o, 1);
    }
    if fits(2) {
        cx.uint(0, &DSFIELD, o + field::DSFIELD, 1);
        cx.uint(1, &DSCP, o + field::DSFIELD, 1);
        cx.uint(1, &ECN, o + field::DSFIELD, 1);
    }
    if fits(field::LEN.end) {
        cx.uint(0, &LEN, o + field::LEN.start, 2);
    }
    if fits(field::ID.end) {
        cx.uint(0, &ID, o + field::ID.start, 2);
    }
    if fits(field::FLAGS_FRAG.end) {
        let f = o + field::FLAGS_FRAG.start;
        cx.uint(0, &FLAGS, f, 2);
        cx.flag(1, &FLAGS_RB, f, 2);
        cx.flag(1, &FLAGS_DF, f, 2);
        cx.flag(1, &FLAGS_MF, f, 2);
        cx.uint(0, &FRAG_OFFSET, f, 2);
    }
    if fits(field::TTL + 1) {
        cx.uint(0, &TTL, o + field::TTL, 1);
    }
    if fits(field::PROTO + 1) {
        cx.uint(0, &PROTO, o + field::PROTO, 1);
    }
    if fits(field::CHECKSUM.end) {
        cx.uint(0, &CHECKSUM, o + field::CHECKSUM.start, 2);
        cx.add(1, &CHECKSUM_STATUS, Value::U(2), o + field::CHECKSUM.start, 2);
    }
    if let Some(a) = super::array::<4>(cx.data, o + field::SRC.start) {
        cx.add(0, &SRC, Value::Ipv4(a), o + field::SRC.start, 4);
    }
    if let Some(a) = super::array::<4>(cx.data, o + field::DST.start) {
        cx.add(0, &DST, Value::Ipv4(a), o + field::DST.start, 4);
    }
}

/// IPv4 options (RFC 791 §3.1): type, length, data; 0 ends the list, 1 pads.
fn options(cx: &mut Cx<'_>, start: usize, end: usize) {
    cx.add(0, &OPTIONS, Value::Bytes, start, end - start);
    let mut at = start;
    while at < end {
        let kind = cx.data[at];
        if kind == 0 || kind == 1 {
            cx.uint(1, &OPT_TYPE, at, 1);
            at += 1;
            if kind == 0 {
                if at < end {
                    cx.add(1, &OPT_DATA, Value::Bytes, at, end - at);
                }
                break;
            }
            continue;
        }
        let len = cx.data.get(at + 1).copied().map(usize::from).unwrap_or(0);
        if at + 1 >= end || len < 2 || at + len > end {
            cx.uint(1, &OPT_TYPE, at, 1);
            cx.add(1, &OPT_DATA, Value::Bytes, at + 1, end - at - 1);
            cx.note(&OPT_LEN_INVALID, at, end - at, format!("option {kind} has a bad length {len}"));
            break;
        }
        cx.uint(1, &OPT_TYPE, at, 1);
        cx.uint(1, &OPT_LEN, at + 1, 1);
        if len > 2 {
            cx.add(1, &OPT_DATA, Value::Bytes, at + 2, len - 2);
        }
        at += len;
    }
}
