//! Link-layer headers: Ethernet II, Linux cooked capture (SLL, SLL2), and
//! BSD loopback (NULL/LOOP).

use super::{Cx, data};

/// After the network layer said where its packet ends, the rest of the frame
/// is Ethernet padding (all zeros, added to reach the 60-byte minimum) or a
/// trailer.
fn padding_or_trailer(cx: &mut Cx<'_>, end: usize, start: usize) {
    if end <= start {
        // Nothing above the link layer was dissected: the rest is data.
        data::rest(cx, start);
        return;
    }
    if end < cx.data.len() {
        let rest = &cx.data[end..];
        let layer = cx.begin_layer(&eth::ETH, end);
        let def = if rest.iter().all(|b| *b == 0) { &eth::PADDING } else { &eth::TRAILER };
        cx.add(0, def, crate::model::Value::Bytes, end, rest.len());
        cx.end_layer(layer, rest.len());
    }
}

pub mod eth {
    use super::super::Cx;
    use crate::model::{Addr, Protocol, TcpIpLayer, Value};
    use crate::{fields, notes};
    use etherparse::Ethernet2HeaderSlice;

    pub static ETH: Protocol = Protocol {
        name: "eth",
        short: "Ethernet",
        label: "Ethernet II",
        osi: 2,
        tcpip: TcpIpLayer::Link,
        explain: "The data link layer moves a frame to the next machine on the same network, addressed by MAC \
addresses. On the loopback interface Linux still writes an Ethernet header, with all-zero addresses, \
because no real card is involved.",
    };

    /// Byte ranges of the Ethernet II header (IEEE 802.3 §3.1.1).
    pub mod field {
        use std::ops::Range;
        pub const DST: Range<usize> = 0..6;
        pub const SRC: Range<usize> = 6..12;
        pub const TYPE: Range<usize> = 12..14;
        pub const HEADER_LEN: usize = 14;
    }

    pub const ETHERTYPES: &[(u64, &str)] =
        &[(0x0800, "IPv4"), (0x0806, "ARP"), (0x86dd, "IPv6"), (0x8100, "802.1Q VLAN"), (0x88cc, "LLDP")];

    fields! { proto = &ETH;
        DST: "eth.dst" { label: "Destination", ty: Ether, base: Hex(0), explain: "The MAC address of the machine this frame is for on the local network (all ones is broadcast)." };
        SRC: "eth.src" { label: "Source", ty: Ether, base: Hex(0), explain: "The MAC address of the network card that sent the frame." };
        TYPE: "eth.type" { label: "Type", ty: U16, base: Hex(4), values: ETHERTYPES, explain: "The EtherType: which network-layer protocol is inside (0x0800 IPv4, 0x86dd IPv6, 0x0806 ARP)." };
        PADDING: "eth.padding" { label: "Padding", ty: Bytes, base: Hex(0), explain: "Zero bytes added after the packet because an Ethernet frame must be at least 60 bytes long (plus a 4-byte checksum the capture never sees)." };
        TRAILER: "eth.trailer" { label: "Trailer", ty: Bytes, base: Hex(0), explain: "Bytes after the end of the packet that belong to no protocol above Ethernet; some devices append them." };
    }

    notes! { proto = &ETH;
        TRUNCATED: "eth.expert.truncated" { severity: Error, explain: "The frame is shorter than the 14-byte Ethernet header, so the MAC addresses and the EtherType cannot all be read. Nothing above Ethernet can be dissected." };
        LENGTH_NOT_ETHERTYPE: "eth.expert.length_not_ethertype" { severity: Warning, cite: "IEEE 802.3 §3.2.6", explain: "Values below 0x0600 in the type field are not an EtherType but the length of an IEEE 802.3 frame, whose payload starts with an LLC header. wirelab does not dissect LLC, so the payload stays undecoded." };
    }

    pub fn dissect(cx: &mut Cx<'_>, offset: usize) {
        let bytes = cx.data.get(offset..).unwrap_or(&[]);
        let hdr = match Ethernet2HeaderSlice::from_slice(bytes) {
            Ok(h) => h,
            Err(_) => {
                cx.truncated(&TRUNCATED, "Ethernet header", offset, field::HEADER_LEN);
                let l = cx.begin_layer(&ETH, offset);
                cx.end_layer(l, 0);
                super::data::rest(cx, offset);
                return;
            }
        };
        let layer = cx.begin_layer(&ETH, offset);
        let dst = hdr.destination();
        let src = hdr.source();
        let etype = hdr.ether_type().0;
        cx.add(0, &DST, Value::Mac(dst), offset + field::DST.start, field::DST.len());
        cx.add(0, &SRC, Value::Mac(src), offset + field::SRC.start, field::SRC.len());
        cx.add(0, &TYPE, Value::U(etype.into()), offset + field::TYPE.start, field::TYPE.len());
        cx.end_layer(layer, field::HEADER_LEN);
        cx.set_addrs(Addr::Mac(src), Addr::Mac(dst));
        cx.set_protocol("Ethernet");
        let start = offset + field::HEADER_LEN;
        if etype < 0x0600 {
            cx.note(
                &LENGTH_NOT_ETHERTYPE,
                offset + 12,
                2,
                format!("0x{etype:04x} is an IEEE 802.3 length, not an EtherType: LLC frames are not dissected"),
            );
        }
        let end = super::super::linktype::ethertype(cx, etype, start);
        super::padding_or_trailer(cx, end, start);
    }
}

pub mod sll {
    use super::super::Cx;
    use crate::model::{Addr, Protocol, TcpIpLayer, Value};
    use crate::{fields, notes};

    pub static SLL: Protocol = Protocol {
        name: "sll",
        short: "SLL",
        label: "Linux cooked capture",
        osi: 2,
        tcpip: TcpIpLayer::Link,
        explain: "Not a header that crossed any wire: when capturing on Linux's \"any\" pseudo-interface the \
kernel replaces each link header with this one, saying which way the packet went and what protocol it carries.",
    };

    pub const PKTTYPES: &[(u64, &str)] =
        &[(0, "Unicast to us"), (1, "Broadcast"), (2, "Multicast"), (3, "Unicast to another host"), (4, "Sent by us")];

    fields! { proto = &SLL;
        PKTTYPE: "sll.pkttype" { label: "Packet type", ty: U16, values: PKTTYPES, explain: "Which way the packet went: 0 received for us, 4 sent by us, and so on." };
        HATYPE: "sll.hatype" { label: "Link-layer address type", ty: U16, values: &[(1, "Ethernet"), (772, "Loopback")], explain: "The kind of link the packet used (an ARPHRD_ number: 1 Ethernet, 772 loopback)." };
        HALEN: "sll.halen" { label: "Link-layer address length", ty: U16, explain: "How many of the 8 address bytes that follow are used." };
        SRC_ETH: "sll.src.eth" { label: "Source", ty: Ether, base: Hex(0), explain: "The link-layer (MAC) address of the sender." };
        SRC_OTHER: "sll.src.other" { label: "Source", ty: Bytes, base: Hex(0), explain: "The link-layer address of the sender, on a link whose addresses are not MACs." };
        UNUSED: "sll.unused" { label: "Unused", ty: Bytes, base: Hex(0), explain: "Address bytes not used by this link's address length." };
        ETYPE: "sll.etype" { label: "Protocol", ty: U16, base: Hex(4), values: super::eth::ETHERTYPES, explain: "The EtherType of the packet inside." };
        RESERVED: "sll.reserved" { label: "Reserved (MBZ)", ty: U16, base: Hex(4), explain: "Reserved bytes of the version-2 header; must be zero." };
        IFINDEX: "sll.ifindex" { label: "Interface index", ty: U32, explain: "The kernel's number for the interface the packet crossed." };
    }

    notes! { proto = &SLL;
        TRUNCATED: "sll.expert.truncated" { severity: Error, explain: "The frame is shorter than the Linux cooked header (16 bytes, or 20 in version 2), so the direction and the protocol of the packet inside cannot all be read." };
    }

    /// The address part shared by both versions (`at`: the address length,
    /// `width` bytes wide: 2 in v1, 1 in v2).
    fn address(cx: &mut Cx<'_>, at: usize, width: usize) -> Addr {
        let halen = cx.uint(0, &HALEN, at, width) as usize;
        let used = halen.min(8);
        let a = at + width;
        let mut addr = Addr::None;
        if used == 6 {
            let mac = super::super::array::<6>(cx.data, a).unwrap_or_default();
            cx.add(0, &SRC_ETH, Value::Mac(mac), a, 6);
            addr = Addr::Mac(mac);
        } else if used > 0 {
            cx.add(0, &SRC_OTHER, Value::Bytes, a, used);
        }
        if used < 8 {
            cx.add(0, &UNUSED, Value::Bytes, a + used, 8 - used);
        }
        addr
    }

    /// Version 1: 16 bytes (LINKTYPE_LINUX_SLL). Read with our own table:
    /// etherparse's slice rejects the loopback hardware type (772), which is
    /// exactly what captures on `any` contain for `lo`.
    pub fn dissect_v1(cx: &mut Cx<'_>, offset: usize) {
        if cx.data.len() < offset + 16 {
            cx.truncated(&TRUNCATED, "Linux cooked header", offset, 16);
            super::data::rest(cx, offset);
            return;
        }
        let layer = cx.begin_layer(&SLL, offset);
        cx.uint(0, &PKTTYPE, offset, 2);
        cx.uint(0, &HATYPE, offset + 2, 2);
        let src = address(cx, offset + 4, 2);
        let etype = cx.uint(0, &ETYPE, offset + 14, 2) as u16;
        cx.end_layer(layer, 16);
        cx.set_addrs(src, Addr::None);
        cx.set_protocol("SLL");
        let start = offset + 16;
        let end = super::super::linktype::ethertype(cx, etype, start);
        super::padding_or_trailer_data(cx, end, start);
    }

    /// Version 2: 20 bytes (LINKTYPE_LINUX_SLL2), not parsed by etherparse.
    pub fn dissect_v2(cx: &mut Cx<'_>, offset: usize) {
        if cx.data.len() < offset + 20 {
            cx.truncated(&TRUNCATED, "Linux cooked (v2) header", offset, 20);
            super::data::rest(cx, offset);
            return;
        }
        let layer = cx.begin_layer(&SLL, offset);
        let etype = cx.uint(0, &ETYPE, offset, 2) as u16;
        cx.uint(0, &RESERVED, offset + 2, 2);
        cx.uint(0, &IFINDEX, offset + 4, 4);
        cx.uint(0, &HATYPE, offset + 8, 2);
        cx.uint(0, &PKTTYPE, offset + 10, 1);
        let src = address(cx, offset + 11, 1);
        cx.end_layer(layer, 20);
        cx.set_addrs(src, Addr::None);
        cx.set_protocol("SLL");
        let start = offset + 20;
        let end = super::super::linktype::ethertype(cx, etype, start);
        super::padding_or_trailer_data(cx, end, start);
    }
}

pub mod null {
    use super::super::Cx;
    use crate::model::{Protocol, TcpIpLayer, Value};
    use crate::{fields, notes};

    pub static NULL: Protocol = Protocol {
        name: "null",
        short: "Loopback",
        label: "Null/Loopback",
        osi: 2,
        tcpip: TcpIpLayer::Link,
        explain: "BSD and macOS loopback captures start each packet with a 4-byte address family instead of an \
Ethernet header: all the link layer needs to say on a link to oneself is which network protocol follows.",
    };

    pub const FAMILIES: &[(u64, &str)] =
        &[(2, "IP"), (10, "IPv6 (Linux)"), (24, "IPv6 (NetBSD/OpenBSD)"), (28, "IPv6 (FreeBSD)"), (30, "IPv6 (macOS)")];

    fields! { proto = &NULL;
        FAMILY: "null.family" { label: "Family", ty: U32, values: FAMILIES, explain: "The address family of the packet inside: 2 is IPv4; IPv6 has a different number on each operating system." };
    }

    notes! { proto = &NULL;
        TRUNCATED: "null.expert.truncated" { severity: Error, explain: "The frame is shorter than the 4-byte loopback header, so it is unknown which network protocol follows." };
        UNKNOWN_FAMILY: "null.expert.unknown_family" { severity: Warning, explain: "The loopback header names the protocol inside by an address family number; wirelab knows only those of IPv4 and IPv6, so the rest of the frame is shown as raw bytes." };
    }

    /// `network_order`: LOOP stores the family big-endian; NULL in the
    /// writer's byte order, which we guess the way Wireshark does.
    pub fn dissect(cx: &mut Cx<'_>, offset: usize, network_order: bool) {
        let Some(b) = super::super::array::<4>(cx.data, offset) else {
            cx.truncated(&TRUNCATED, "loopback header", offset, 4);
            super::data::rest(cx, offset);
            return;
        };
        let be = u32::from_be_bytes(b);
        let family = if network_order || be & 0xffff_0000 == 0 { be } else { u32::from_le_bytes(b) };
        let layer = cx.begin_layer(&NULL, offset);
        cx.add(0, &FAMILY, Value::U(family.into()), offset, 4);
        cx.end_layer(layer, 4);
        cx.set_protocol("Loopback");
        let start = offset + 4;
        let end = match family {
            2 => super::super::ip::dissect(cx, start),
            10 | 24 | 28 | 30 => super::super::ipv6::dissect(cx, start),
            other => {
                cx.note(&UNKNOWN_FAMILY, offset, 4, format!("address family {other} is not IPv4 or IPv6"));
                start
            }
        };
        super::padding_or_trailer_data(cx, end, start);
    }
}

/// Without Ethernet, extra bytes after the packet are undissected data.
fn padding_or_trailer_data(cx: &mut Cx<'_>, end: usize, start: usize) {
    data::rest(cx, end.max(start));
}

pub mod vlan {
    use super::super::Cx;
    use crate::model::{Protocol, TcpIpLayer};
    use crate::{fields, notes};

    pub static VLAN: Protocol = Protocol {
        name: "vlan",
        short: "802.1Q",
        label: "802.1Q Virtual LAN",
        osi: 2,
        tcpip: TcpIpLayer::Link,
        explain: "A 4-byte tag inside the Ethernet header that splits one physical network into several \
virtual ones (VLANs): switches only forward the frame within its VLAN.",
    };

    fields! { proto = &VLAN;
        PRIORITY: "vlan.priority" { label: "Priority", ty: U16, mask: 0xe000, explain: "Priority code point (IEEE 802.1p): which frames a switch sends first." };
        DEI: "vlan.dei" { label: "DEI", ty: Bool, mask: 0x1000, explain: "Drop eligible: this frame may be dropped first under congestion." };
        ID: "vlan.id" { label: "ID", ty: U16, mask: 0x0fff, explain: "The VLAN this frame belongs to (1 to 4094)." };
        ETYPE: "vlan.etype" { label: "Type", ty: U16, base: Hex(4), values: super::eth::ETHERTYPES, explain: "The EtherType of what follows the tag." };
    }

    notes! { proto = &VLAN;
        TRUNCATED: "vlan.expert.truncated" { severity: Error, explain: "The frame ends inside the 4-byte 802.1Q tag, so the VLAN number and the type of what follows cannot all be read." };
    }

    /// An 802.1Q tag at `offset`; returns where the tagged packet ends.
    pub fn dissect(cx: &mut Cx<'_>, offset: usize) -> usize {
        if cx.data.len() < offset + 4 {
            cx.truncated(&TRUNCATED, "802.1Q tag", offset, 4);
            return offset;
        }
        let layer = cx.begin_layer(&VLAN, offset);
        cx.uint(0, &PRIORITY, offset, 2);
        cx.flag(0, &DEI, offset, 2);
        let id = cx.uint(0, &ID, offset, 2);
        let etype = cx.uint(0, &ETYPE, offset + 2, 2) as u16;
        cx.end_layer(layer, 4);
        cx.set_protocol("802.1Q");
        cx.set_info(format_args!("VLAN {id}"));
        super::super::linktype::ethertype(cx, etype, offset + 4)
    }
}
