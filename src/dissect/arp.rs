//! ARP (RFC 826): finding the MAC address that goes with an IP address.

use super::Cx;
use crate::model::{Addr, Protocol, TcpIpLayer, Value};
use crate::{fields, notes};
use etherparse::ArpPacketSlice;

pub static ARP: Protocol = Protocol {
    name: "arp",
    short: "ARP",
    label: "Address Resolution Protocol",
    osi: 2,
    tcpip: TcpIpLayer::Link,
    explain: "Before sending an IP packet on an Ethernet, a host must learn the neighbour's MAC address: ARP \
broadcasts \"who has this IP?\" and the owner answers. It serves the link between layers 2 and 3 and never \
leaves the local network, so we place it on the data link layer.",
};

fields! { proto = &ARP;
    HW_TYPE: "arp.hw.type" { label: "Hardware type", ty: U16, values: &[(1, "Ethernet")], explain: "The kind of link addresses being resolved: 1 is Ethernet." };
    PROTO_TYPE: "arp.proto.type" { label: "Protocol type", ty: U16, base: Hex(4), values: &[(0x0800, "IPv4")], explain: "The kind of network address being resolved: 0x0800 is IPv4." };
    HW_SIZE: "arp.hw.size" { label: "Hardware size", ty: U8, explain: "Length of a link-layer (MAC) address: 6 bytes." };
    PROTO_SIZE: "arp.proto.size" { label: "Protocol size", ty: U8, explain: "Length of a network (IPv4) address: 4 bytes." };
    OPCODE: "arp.opcode" { label: "Opcode", ty: U16, values: &[(1, "request"), (2, "reply")], explain: "1 asks \"who has this address?\", 2 answers it." };
    SRC_HW_MAC: "arp.src.hw_mac" { label: "Sender MAC address", ty: Ether, base: Hex(0), explain: "The MAC address of the host sending this ARP message." };
    SRC_PROTO_IPV4: "arp.src.proto_ipv4" { label: "Sender IP address", ty: Ipv4, explain: "The IP address of the host sending this ARP message." };
    DST_HW_MAC: "arp.dst.hw_mac" { label: "Target MAC address", ty: Ether, base: Hex(0), explain: "The MAC address being looked for (zeros in a request: it is the unknown)." };
    DST_PROTO_IPV4: "arp.dst.proto_ipv4" { label: "Target IP address", ty: Ipv4, explain: "The IP address whose owner is wanted." };
    SRC_HW: "arp.src.hw" { label: "Sender hardware address", ty: Bytes, base: Hex(0), explain: "The sender's link-layer address." };
    SRC_PROTO: "arp.src.proto" { label: "Sender protocol address", ty: Bytes, base: Hex(0), explain: "The sender's network-layer address." };
    DST_HW: "arp.dst.hw" { label: "Target hardware address", ty: Bytes, base: Hex(0), explain: "The target's link-layer address." };
    DST_PROTO: "arp.dst.proto" { label: "Target protocol address", ty: Bytes, base: Hex(0), explain: "The target's network-layer address." };
}

notes! { proto = &ARP;
    TRUNCATED: "arp.expert.truncated" { severity: Error, cite: "RFC 826", explain: "The frame ends before the ARP message does, so the addresses it asks about or answers with cannot all be read. Usually the capture cut the frame short." };
}

pub fn dissect(cx: &mut Cx<'_>, offset: usize) -> usize {
    let bytes = cx.data.get(offset..).unwrap_or(&[]);
    let pkt = match ArpPacketSlice::from_slice(bytes) {
        Ok(p) => p,
        Err(e) => {
            cx.truncated(&TRUNCATED, "ARP message", offset, e.required_len);
            return offset;
        }
    };
    let hw = usize::from(pkt.hw_addr_size());
    let pr = usize::from(pkt.proto_addr_size());
    let n = 8 + 2 * (hw + pr);
    let layer = cx.begin_layer(&ARP, offset);
    cx.uint(0, &HW_TYPE, offset, 2);
    cx.uint(0, &PROTO_TYPE, offset + 2, 2);
    cx.uint(0, &HW_SIZE, offset + 4, 1);
    cx.uint(0, &PROTO_SIZE, offset + 5, 1);
    let op = cx.uint(0, &OPCODE, offset + 6, 2);
    let eth_ipv4 = hw == 6 && pr == 4;
    let mut at = offset + 8;
    let mut ips = [[0u8; 4]; 2];
    for (i, (mac_def, ip_def, hw_def, pr_def)) in
        [(&SRC_HW_MAC, &SRC_PROTO_IPV4, &SRC_HW, &SRC_PROTO), (&DST_HW_MAC, &DST_PROTO_IPV4, &DST_HW, &DST_PROTO)]
            .into_iter()
            .enumerate()
    {
        if eth_ipv4 {
            let mac = super::array::<6>(cx.data, at).unwrap_or_default();
            let ip = super::array::<4>(cx.data, at + 6).unwrap_or_default();
            cx.add(0, mac_def, Value::Mac(mac), at, 6);
            cx.add(0, ip_def, Value::Ipv4(ip), at + 6, 4);
            ips[i] = ip;
        } else {
            cx.add(0, hw_def, Value::Bytes, at, hw);
            cx.add(0, pr_def, Value::Bytes, at + hw, pr);
        }
        at += hw + pr;
    }
    cx.end_layer(layer, n);
    cx.set_protocol("ARP");
    if eth_ipv4 {
        let [s, t] = ips.map(std::net::Ipv4Addr::from);
        match op {
            1 => cx.set_info(format_args!("Who has {t}? Tell {s}")),
            2 => {
                let mac = super::array::<6>(cx.data, offset + 8).unwrap_or_default();
                cx.set_info(format_args!("{s} is at {}", Addr::Mac(mac)))
            }
            _ => cx.set_info(format_args!("ARP opcode {op}")),
        }
    }
    offset + n
}
