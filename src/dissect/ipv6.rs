//! IPv6 (RFC 8200) and its extension headers.

use super::linktype::{NetInfo, ip_proto};
use super::{Cx, data};
use crate::model::{Addr, FieldDef, Protocol, TcpIpLayer, Value};
use crate::{fields, notes};
use etherparse::err::ipv6::HeaderSliceError;
use etherparse::{Ipv6FragmentHeaderSlice, Ipv6HeaderSlice, Ipv6RawExtHeaderSlice};

pub static IPV6: Protocol = Protocol {
    name: "ipv6",
    short: "IPv6",
    label: "Internet Protocol Version 6",
    osi: 3,
    tcpip: TcpIpLayer::Internet,
    explain: "The network layer, version 6: like IPv4 it carries packets from host to host, with 128-bit \
addresses and a fixed 40-byte header; anything optional goes in extension headers. ::1 is loopback.",
};

/// Byte ranges of the fixed IPv6 header (RFC 8200 §3).
pub mod field {
    use std::ops::Range;
    pub const VTF: Range<usize> = 0..4;
    pub const PLEN: Range<usize> = 4..6;
    pub const NXT: usize = 6;
    pub const HLIM: usize = 7;
    pub const SRC: Range<usize> = 8..24;
    pub const DST: Range<usize> = 24..40;
    pub const LEN: usize = 40;
}

fields! { proto = &IPV6;
    VERSION: "ipv6.version" { label: "Version", ty: U8, mask: 0xf000_0000, explain: "The IP version: 6." };
    TCLASS: "ipv6.tclass" { label: "Traffic Class", ty: U32, base: Hex(2), mask: 0x0ff0_0000, explain: "Quality-of-service marking, as the DS field in IPv4." };
    TCLASS_DSCP: "ipv6.tclass.dscp" { label: "Differentiated Services Codepoint", ty: U32, mask: 0x0fc0_0000, values: &[(0, "Default")], explain: "Asks routers for a class of service; 0 is best effort." };
    TCLASS_ECN: "ipv6.tclass.ecn" { label: "Explicit Congestion Notification", ty: U32, mask: 0x0030_0000, values: &[(0, "Not ECN-Capable Transport")], explain: "Lets routers signal congestion without dropping packets (RFC 3168)." };
    FLOW: "ipv6.flow" { label: "Flow Label", ty: U24, base: Hex(5), mask: 0x000f_ffff, explain: "A number the sender may use to mark packets of one flow, so routers can keep them on one path." };
    PLEN: "ipv6.plen" { label: "Payload Length", ty: U16, explain: "Bytes after the 40-byte header, extension headers included." };
    NXT: "ipv6.nxt" { label: "Next Header", ty: U8, values: super::ip::PROTOCOLS, explain: "What follows the header: an extension header or the transport protocol (6 TCP, 17 UDP, 58 ICMPv6)." };
    HLIM: "ipv6.hlim" { label: "Hop Limit", ty: U8, explain: "IPv6's time to live: decremented by each router, the packet dies at zero." };
    SRC: "ipv6.src" { label: "Source Address", ty: Ipv6, explain: "The IPv6 address of the sender." };
    DST: "ipv6.dst" { label: "Destination Address", ty: Ipv6, explain: "The IPv6 address of the receiver." };
    HOPOPTS: "ipv6.hopopts" { label: "Hop-by-Hop Options", ty: None, base: Hex(0), explain: "An extension header that every router on the path must read." };
    HOPOPTS_NXT: "ipv6.hopopts.nxt" { label: "Next Header", ty: U8, values: super::ip::PROTOCOLS, explain: "What follows this extension header." };
    HOPOPTS_LEN: "ipv6.hopopts.len" { label: "Length", ty: U8, explain: "The header's length in 8-byte units, not counting the first 8 bytes." };
    ROUTING: "ipv6.routing" { label: "Routing Header", ty: None, base: Hex(0), explain: "An extension header listing nodes the packet must visit." };
    ROUTING_NXT: "ipv6.routing.nxt" { label: "Next Header", ty: U8, values: super::ip::PROTOCOLS, explain: "What follows this extension header." };
    ROUTING_LEN: "ipv6.routing.len" { label: "Length", ty: U8, explain: "The header's length in 8-byte units, not counting the first 8 bytes." };
    ROUTING_TYPE: "ipv6.routing.type" { label: "Type", ty: U8, explain: "Which kind of routing header this is." };
    ROUTING_SEGLEFT: "ipv6.routing.segleft" { label: "Segments Left", ty: U8, explain: "How many listed nodes are still to be visited." };
    DSTOPTS: "ipv6.dstopts" { label: "Destination Options", ty: None, base: Hex(0), explain: "An extension header only the destination reads." };
    DSTOPTS_NXT: "ipv6.dstopts.nxt" { label: "Next Header", ty: U8, values: super::ip::PROTOCOLS, explain: "What follows this extension header." };
    DSTOPTS_LEN: "ipv6.dstopts.len" { label: "Length", ty: U8, explain: "The header's length in 8-byte units, not counting the first 8 bytes." };
    FRAGHDR: "ipv6.fraghdr" { label: "Fragment Header", ty: None, base: Hex(0), explain: "Present when the sender split the packet into fragments (in IPv6 only the sender may)." };
    FRAGHDR_NXT: "ipv6.fraghdr.nxt" { label: "Next Header", ty: U8, values: super::ip::PROTOCOLS, explain: "What follows in the reassembled packet." };
    FRAGHDR_OFFSET: "ipv6.fraghdr.offset" { label: "Offset", ty: U16, mask: 0xfff8, explain: "Where this fragment belongs in the original packet, in 8-byte units." };
    FRAGHDR_MORE: "ipv6.fraghdr.more" { label: "More Fragments", ty: U8, mask: 0x0001, explain: "Set when more fragments follow." };
    FRAGHDR_IDENT: "ipv6.fraghdr.ident" { label: "Identification", ty: U32, base: Hex(8), explain: "Shared by all fragments of one original packet." };
    EXT_DATA: "ipv6.ext.data" { label: "Extension Data", ty: Bytes, base: Hex(0), explain: "The options carried by the extension header." };
}

notes! { proto = &IPV6;
    TRUNCATED: "ipv6.expert.truncated" { severity: Error, cite: "RFC 8200 §3", explain: "The frame ends before an IPv6 header or extension header does, so the addresses or the next header cannot all be read. Usually the capture cut the frame short." };
    BOGUS_VERSION: "ipv6.bogus_ipv6_version" { severity: Error, cite: "RFC 8200 §3", explain: "The first four bits of an IP packet give its version, and an IPv6 header must say 6. Bytes that claim another version are not an IPv6 packet, or were damaged." };
    LENGTH_PAST_CAPTURE: "ipv6.expert.length_past_capture" { severity: Error, cite: "RFC 8200 §3", explain: "The payload length promises more bytes than were captured: the end of the packet is missing, so the layers above it are incomplete." };
    FRAGMENT: "ipv6.expert.fragment" { cite: "RFC 8200 §4.5", explain: "The sender split a packet that was too big for the path into fragments, which the destination puts back together. In IPv6 only the sender may fragment, never a router." };
}

pub fn dissect(cx: &mut Cx<'_>, offset: usize) -> usize {
    let bytes = cx.data.get(offset..).unwrap_or(&[]);
    let layer = cx.begin_layer(&IPV6, offset);
    let hdr = match Ipv6HeaderSlice::from_slice(bytes) {
        Ok(h) => h,
        Err(e) => {
            let have = bytes.len().min(field::LEN);
            if have >= 4 {
                fixed_fields(cx, offset, false);
            }
            cx.end_layer(layer, have);
            match e {
                HeaderSliceError::Len(l) => cx.truncated(&TRUNCATED, "IPv6 header", offset, l.required_len),
                HeaderSliceError::Content(c) => cx.note(&BOGUS_VERSION, offset, 1, c.to_string()),
            }
            return offset + have;
        }
    };
    fixed_fields(cx, offset, true);
    let src = hdr.source();
    let dst = hdr.destination();
    cx.set_addrs(Addr::Ipv6(src), Addr::Ipv6(dst));
    cx.set_protocol("IPv6");
    let plen = usize::from(hdr.payload_length());
    let end = offset + field::LEN + plen;
    if end > cx.data.len() && !cx.inner {
        let have = cx.data.len() - offset - field::LEN;
        cx.note(
            &LENGTH_PAST_CAPTURE,
            offset + 4,
            2,
            format!("payload length says {plen} bytes but only {have} were captured"),
        );
    }

    // Extension headers (RFC 8200 §4).
    let mut next = hdr.next_header().0;
    let mut at = offset + field::LEN;
    let mut fragment = false;
    let mut later_fragment = false;
    loop {
        let rest = cx.data.get(at..end.min(cx.data.len())).unwrap_or(&[]);
        match next {
            0 | 43 | 60 => {
                let Ok(ext) = Ipv6RawExtHeaderSlice::from_slice(rest) else {
                    cx.truncated(&TRUNCATED, "extension header", at, 8);
                    break;
                };
                let n = ext.slice().len();
                let (node, nxt, len): (&'static FieldDef, &'static FieldDef, &'static FieldDef) = match next {
                    0 => (&HOPOPTS, &HOPOPTS_NXT, &HOPOPTS_LEN),
                    43 => (&ROUTING, &ROUTING_NXT, &ROUTING_LEN),
                    _ => (&DSTOPTS, &DSTOPTS_NXT, &DSTOPTS_LEN),
                };
                cx.add(0, node, Value::None, at, n);
                cx.uint(1, nxt, at, 1);
                cx.uint(1, len, at + 1, 1);
                if next == 43 {
                    cx.uint(1, &ROUTING_TYPE, at + 2, 1);
                    cx.uint(1, &ROUTING_SEGLEFT, at + 3, 1);
                    cx.add(1, &EXT_DATA, Value::Bytes, at + 4, n - 4);
                } else {
                    cx.add(1, &EXT_DATA, Value::Bytes, at + 2, n - 2);
                }
                next = ext.next_header().0;
                at += n;
            }
            44 => {
                let Ok(frag) = Ipv6FragmentHeaderSlice::from_slice(rest) else {
                    cx.truncated(&TRUNCATED, "fragment header", at, 8);
                    break;
                };
                cx.add(0, &FRAGHDR, Value::None, at, 8);
                cx.uint(1, &FRAGHDR_NXT, at, 1);
                cx.uint(1, &FRAGHDR_OFFSET, at + 2, 2);
                cx.uint(1, &FRAGHDR_MORE, at + 2, 2);
                cx.uint(1, &FRAGHDR_IDENT, at + 4, 4);
                fragment = true;
                later_fragment = frag.fragment_offset().value() > 0;
                cx.note(
                    &FRAGMENT,
                    at,
                    8,
                    format!(
                        "fragment of packet 0x{:08x} at offset {} (wirelab does not reassemble IP fragments)",
                        frag.identification(),
                        usize::from(frag.fragment_offset().value()) * 8
                    ),
                );
                next = frag.next_header().0;
                at += 8;
            }
            _ => break,
        }
    }
    cx.end_layer(layer, at - offset);
    if later_fragment {
        data::bytes(cx, at, end);
        return end;
    }
    let mut net = NetInfo { is_v6: true, src, dst, fragment, ttl: hdr.hop_limit() };
    net.fragment = fragment;
    let upper_end = ip_proto(cx, next, at, end, &net);
    if upper_end == at {
        cx.set_info(format_args!("IPv6 next header {next}"));
    }
    if upper_end < end {
        data::bytes(cx, upper_end.max(at), end);
    }
    end
}

fn fixed_fields(cx: &mut Cx<'_>, o: usize, full: bool) {
    cx.uint(0, &VERSION, o, 4);
    cx.uint(0, &TCLASS, o, 4);
    cx.uint(1, &TCLASS_DSCP, o, 4);
    cx.uint(1, &TCLASS_ECN, o, 4);
    cx.uint(0, &FLOW, o, 4);
    if !full {
        return;
    }
    cx.uint(0, &PLEN, o + field::PLEN.start, 2);
    cx.uint(0, &NXT, o + field::NXT, 1);
    cx.uint(0, &HLIM, o + field::HLIM, 1);
    let src = super::array::<16>(cx.data, o + field::SRC.start).unwrap_or_default();
    let dst = super::array::<16>(cx.data, o + field::DST.start).unwrap_or_default();
    cx.add(0, &SRC, Value::Ipv6(src), o + field::SRC.start, 16);
    cx.add(0, &DST, Value::Ipv6(dst), o + field::DST.start, 16);
}
