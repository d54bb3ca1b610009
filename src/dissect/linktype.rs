//! Dispatch: from a capture's link type to the link-layer dissector, from an
//! EtherType to the network layer, from an IP protocol number to the
//! transport layer.

use super::{Cx, arp, data, frame, icmp, ip, ipv6, link, tcp, udp};

pub const LINKTYPE_NULL: u32 = 0;
pub const LINKTYPE_ETHERNET: u32 = 1;
pub const LINKTYPE_RAW: u32 = 101;
pub const LINKTYPE_LOOP: u32 = 108;
pub const LINKTYPE_LINUX_SLL: u32 = 113;
pub const LINKTYPE_IPV4: u32 = 228;
pub const LINKTYPE_IPV6: u32 = 229;
pub const LINKTYPE_LINUX_SLL2: u32 = 276;

/// A short name of a link type, as used in JSON output.
pub fn linktype_name(linktype: u32) -> &'static str {
    match linktype {
        LINKTYPE_NULL => "null",
        LINKTYPE_ETHERNET => "ethernet",
        LINKTYPE_RAW | 12 | 14 => "raw",
        LINKTYPE_LOOP => "loop",
        LINKTYPE_LINUX_SLL => "linux_sll",
        LINKTYPE_LINUX_SLL2 => "linux_sll2",
        LINKTYPE_IPV4 => "ipv4",
        LINKTYPE_IPV6 => "ipv6",
        _ => "unknown",
    }
}

pub fn dissect(cx: &mut Cx<'_>, linktype: u32, offset: usize) {
    match linktype {
        LINKTYPE_ETHERNET => link::eth::dissect(cx, offset),
        LINKTYPE_LINUX_SLL => link::sll::dissect_v1(cx, offset),
        LINKTYPE_LINUX_SLL2 => link::sll::dissect_v2(cx, offset),
        LINKTYPE_NULL => link::null::dissect(cx, offset, false),
        LINKTYPE_LOOP => link::null::dissect(cx, offset, true),
        LINKTYPE_RAW | 12 | 14 => {
            let end = raw_ip(cx, offset);
            data::rest(cx, end);
        }
        LINKTYPE_IPV4 => {
            let end = ip::dissect(cx, offset);
            data::rest(cx, end);
        }
        LINKTYPE_IPV6 => {
            let end = ipv6::dissect(cx, offset);
            data::rest(cx, end);
        }
        other => {
            cx.note(
                &frame::UNKNOWN_LINKTYPE,
                offset,
                cx.data.len().saturating_sub(offset),
                format!("link type {other} is not one wirelab dissects; the frame is shown as raw bytes"),
            );
            data::rest(cx, offset);
        }
    }
}

/// Raw IP: the version nibble says which.
fn raw_ip(cx: &mut Cx<'_>, offset: usize) -> usize {
    match cx.data.get(offset).map(|b| b >> 4) {
        Some(4) => ip::dissect(cx, offset),
        Some(6) => ipv6::dissect(cx, offset),
        Some(v) => {
            cx.note(&ip::BOGUS_VERSION, offset, 1, format!("raw IP frame with IP version {v}: only 4 and 6 exist"));
            offset
        }
        None => offset,
    }
}

/// Hands the payload of a link-layer header to the protocol its EtherType
/// names. Returns the offset where that protocol's packet ends (its own
/// length field may end it before the frame does), or `offset` if nothing
/// was dissected.
pub fn ethertype(cx: &mut Cx<'_>, etype: u16, offset: usize) -> usize {
    match etype {
        0x0800 => ip::dissect(cx, offset),
        0x86dd => ipv6::dissect(cx, offset),
        0x0806 => arp::dissect(cx, offset),
        0x8100 | 0x88a8 => link::vlan::dissect(cx, offset),
        _ => {
            if !cx.inner && offset < cx.data.len() {
                cx.set_info(format_args!("EtherType 0x{etype:04x}"));
            }
            offset
        }
    }
}

/// Hands an IP payload (`offset..end`) to the transport protocol.
/// `pseudo` is the checksum pseudo-header's address part.
pub fn ip_proto(cx: &mut Cx<'_>, proto: u8, offset: usize, end: usize, net: &NetInfo) -> usize {
    match proto {
        6 => tcp::dissect(cx, offset, end, net),
        17 => udp::dissect(cx, offset, end, net),
        1 if !net.is_v6 => icmp::v4::dissect(cx, offset, end, net),
        58 if net.is_v6 => icmp::v6::dissect(cx, offset, end, net),
        _ => offset,
    }
}

/// What the network layer tells the transport layer.
#[derive(Clone, Copy, Debug)]
pub struct NetInfo {
    pub is_v6: bool,
    pub src: [u8; 16],
    pub dst: [u8; 16],
    /// Set when this packet is a fragment: the transport header may be
    /// absent or incomplete, and checksums can't be verified.
    pub fragment: bool,
    /// The IPv4 time to live, or the IPv6 hop limit.
    pub ttl: u8,
}

impl NetInfo {
    pub fn src_bytes(&self) -> &[u8] {
        if self.is_v6 { &self.src } else { &self.src[..4] }
    }
    pub fn dst_bytes(&self) -> &[u8] {
        if self.is_v6 { &self.dst } else { &self.dst[..4] }
    }
    /// Ones'-complement sum of the pseudo-header for `proto` and `len`
    /// (RFC 793 §3.1, RFC 8200 §8.1), not yet folded.
    pub fn pseudo_sum(&self, proto: u8, len: usize) -> u64 {
        let mut s = 0u64;
        for c in self.src_bytes().chunks(2).chain(self.dst_bytes().chunks(2)) {
            s += u64::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]));
        }
        s += u64::from(proto);
        s += (len as u64) & 0xffff;
        s += (len as u64) >> 16;
        s
    }
}
