//! ICMP (RFC 792) and ICMPv6 (RFC 4443): the network layer's own messages.

pub mod v4 {
    use super::super::checksum::{Check, STATUS_NAMES};
    use super::super::linktype::NetInfo;
    use super::super::{Cx, data};
    use crate::model::{Protocol, TcpIpLayer, Value};
    use crate::{fields, notes};
    use etherparse::Icmpv4Slice;

    pub static ICMP: Protocol = Protocol {
        name: "icmp",
        short: "ICMP",
        label: "Internet Control Message Protocol",
        osi: 3,
        tcpip: TcpIpLayer::Internet,
        explain: "IP's own messages about delivery: echo request and reply (ping), \"destination unreachable\", \
\"time exceeded\". ICMP rides inside IP but serves IP itself, so it belongs to the network layer, not the transport.",
    };

    pub const TYPES: &[(u64, &str)] = &[
        (0, "Echo (ping) reply"),
        (3, "Destination unreachable"),
        (5, "Redirect"),
        (8, "Echo (ping) request"),
        (11, "Time-to-live exceeded"),
        (12, "Parameter problem"),
    ];
    pub const UNREACH_CODES: &[(u64, &str)] = &[
        (0, "Network unreachable"),
        (1, "Host unreachable"),
        (2, "Protocol unreachable"),
        (3, "Port unreachable"),
        (4, "Fragmentation needed"),
    ];

    fields! { proto = &ICMP;
        TYPE: "icmp.type" { label: "Type", ty: U8, values: TYPES, explain: "What kind of ICMP message this is: 8 echo request, 0 echo reply, 3 destination unreachable, 11 time exceeded." };
        CODE: "icmp.code" { label: "Code", ty: U8, explain: "Detail within the type; for type 3, code 3 means the port is closed." };
        CHECKSUM: "icmp.checksum" { label: "Checksum", ty: U16, base: Hex(4), explain: "A checksum over the whole ICMP message (RFC 1071)." };
        CHECKSUM_STATUS: "icmp.checksum.status" { label: "Checksum Status", ty: U8, values: STATUS_NAMES, explain: "Whether the checksum was right (1), wrong (0) or could not be checked (2)." };
        IDENT: "icmp.ident" { label: "Identifier (BE)", ty: U16, explain: "Pairs echo replies with the requests of one ping process." };
        SEQ: "icmp.seq" { label: "Sequence Number (BE)", ty: U16, explain: "Counts the echo requests of one ping run; the reply repeats it." };
        UNUSED: "icmp.unused" { label: "Unused", ty: Bytes, base: Hex(0), explain: "Four bytes of the header this message type does not use." };
        MTU: "icmp.mtu" { label: "MTU of next hop", ty: U16, explain: "With \"fragmentation needed\", the largest packet the next link accepts." };
        DATA: "icmp.data" { label: "Data", ty: Bytes, base: Hex(0), explain: "The echo's payload, copied back unchanged by the reply." };
    }

    notes! { proto = &ICMP;
        TRUNCATED: "icmp.expert.truncated" { severity: Error, cite: "RFC 792", explain: "The packet ends before the ICMP header does, so the message type or its checksum cannot all be read." };
        CHECKSUM_BAD: "icmp.checksum_bad" { severity: Error, cite: "RFC 792", explain: "The checksum does not match the message's bytes: something changed them on the way. A host drops such a message, so a ping with a bad checksum gets no reply." };
    }

    pub fn dissect(cx: &mut Cx<'_>, offset: usize, end: usize, net: &NetInfo) -> usize {
        let bytes = cx.data.get(offset..end.min(cx.data.len())).unwrap_or(&[]);
        if let Err(e) = Icmpv4Slice::from_slice(bytes) {
            cx.truncated(&TRUNCATED, "ICMP header", offset, e.required_len);
            return offset;
        }
        let layer = cx.begin_layer(&ICMP, offset);
        let ty = cx.uint(0, &TYPE, offset, 1);
        let code = cx.uint(0, &CODE, offset + 1, 1);
        cx.uint(0, &CHECKSUM, offset + 2, 2);
        let ck = if end <= cx.data.len() && !cx.inner { cx.check(None, bytes, 2) } else { Check::Unverifiable };
        cx.add(1, &CHECKSUM_STATUS, Value::U(ck.status()), offset + 2, 2);
        if let Check::Bad { expected } = ck {
            cx.note(&CHECKSUM_BAD, offset + 2, 2, format!("bad checksum: it should be 0x{expected:04x}"));
        }
        cx.set_protocol("ICMP");
        let name = TYPE.value_name(ty).unwrap_or("Unknown");
        match ty {
            0 | 8 => {
                let id = cx.uint(0, &IDENT, offset + 4, 2);
                let seq = cx.uint(0, &SEQ, offset + 6, 2);
                if end > offset + 8 {
                    cx.add(0, &DATA, Value::Bytes, offset + 8, end - offset - 8);
                }
                cx.end_layer(layer, end - offset);
                let ttl = net.ttl;
                cx.set_info(format_args!(
                    "{name}  id=0x{id:04x}, seq={seq}/{}, ttl={ttl}",
                    (seq >> 8) | ((seq & 0xff) << 8)
                ));
                end
            }
            3 | 11 | 12 => {
                if ty == 3 && code == 4 {
                    cx.add(0, &UNUSED, Value::Bytes, offset + 4, 2);
                    cx.uint(0, &MTU, offset + 6, 2);
                } else {
                    cx.add(0, &UNUSED, Value::Bytes, offset + 4, 4);
                }
                cx.end_layer(layer, 8);
                let detail =
                    if ty == 3 { UNREACH_CODES.iter().find(|(k, _)| *k == code).map(|(_, n)| *n) } else { None };
                match detail {
                    Some(d) => cx.set_info(format_args!("{name} ({d})")),
                    None => cx.set_info(format_args!("{name}")),
                }
                // The quoted packet that caused the error: dissected, but it
                // is not part of any conversation.
                let was_inner = cx.inner;
                cx.inner = true;
                let inner_end = super::super::ip::dissect(cx, offset + 8);
                cx.inner = was_inner;
                if inner_end < end {
                    data::bytes(cx, inner_end, end);
                }
                end
            }
            _ => {
                cx.end_layer(layer, 4);
                cx.set_info(format_args!("{name} (type {ty}, code {code})"));
                if end > offset + 4 {
                    cx.add(0, &DATA, Value::Bytes, offset + 4, end - offset - 4);
                    if let Some(l) = cx.out.layers.get_mut(layer) {
                        l.span.len = (end - offset) as u32;
                        l.fields.end = cx.out.fields.len() as u32;
                    }
                }
                end
            }
        }
    }
}

pub mod v6 {
    use super::super::checksum::{Check, STATUS_NAMES};
    use super::super::linktype::NetInfo;
    use super::super::{Cx, data};
    use crate::model::{Protocol, TcpIpLayer, Value};
    use crate::{fields, notes};
    use etherparse::Icmpv6Slice;

    pub static ICMPV6: Protocol = Protocol {
        name: "icmpv6",
        short: "ICMPv6",
        label: "Internet Control Message Protocol v6",
        osi: 3,
        tcpip: TcpIpLayer::Internet,
        explain: "IPv6's control messages: ping, errors, and also neighbour discovery, which does for IPv6 what \
ARP does for IPv4. Like ICMP it serves the network layer.",
    };

    pub const TYPES: &[(u64, &str)] = &[
        (1, "Destination Unreachable"),
        (2, "Packet Too Big"),
        (3, "Time Exceeded"),
        (4, "Parameter Problem"),
        (128, "Echo (ping) request"),
        (130, "Multicast Listener Query"),
        (131, "Multicast Listener Report"),
        (132, "Multicast Listener Done"),
        (129, "Echo (ping) reply"),
        (133, "Router Solicitation"),
        (134, "Router Advertisement"),
        (135, "Neighbor Solicitation"),
        (136, "Neighbor Advertisement"),
        (143, "Multicast Listener Report Message v2"),
    ];

    fields! { proto = &ICMPV6;
        TYPE: "icmpv6.type" { label: "Type", ty: U8, values: TYPES, explain: "What kind of message: 128/129 echo request/reply, 1 unreachable, 135/136 neighbour discovery." };
        CODE: "icmpv6.code" { label: "Code", ty: U8, explain: "Detail within the type." };
        CHECKSUM: "icmpv6.checksum" { label: "Checksum", ty: U16, base: Hex(4), explain: "A checksum over the message and an IPv6 pseudo-header (RFC 4443 §2.3)." };
        CHECKSUM_STATUS: "icmpv6.checksum.status" { label: "Checksum Status", ty: U8, values: STATUS_NAMES, explain: "Whether the checksum was right (1), wrong (0) or could not be checked (2)." };
        ECHO_ID: "icmpv6.echo.identifier" { label: "Identifier", ty: U16, base: Hex(4), explain: "Pairs replies with the requests of one ping process." };
        ECHO_SEQ: "icmpv6.echo.sequence_number" { label: "Sequence", ty: U16, explain: "Counts the echo requests; the reply repeats it." };
        RESERVED: "icmpv6.reserved" { label: "Reserved", ty: Bytes, base: Hex(0), explain: "Bytes of the header this message type does not use." };
        DATA: "icmpv6.data" { label: "Data", ty: Bytes, base: Hex(0), explain: "The message body." };
    }

    notes! { proto = &ICMPV6;
        TRUNCATED: "icmpv6.expert.truncated" { severity: Error, cite: "RFC 4443 §2.1", explain: "The packet ends before the ICMPv6 header does, so the message type or its checksum cannot all be read." };
        CHECKSUM_BAD: "icmpv6.checksum_bad.expert" { severity: Error, cite: "RFC 4443 §2.3", explain: "The checksum, computed over the message and the IPv6 addresses, does not match: something changed the bytes on the way. A host drops such a message." };
    }

    pub fn dissect(cx: &mut Cx<'_>, offset: usize, end: usize, net: &NetInfo) -> usize {
        let bytes = cx.data.get(offset..end.min(cx.data.len())).unwrap_or(&[]);
        if let Err(e) = Icmpv6Slice::from_slice(bytes) {
            cx.truncated(&TRUNCATED, "ICMPv6 header", offset, e.required_len);
            return offset;
        }
        let layer = cx.begin_layer(&ICMPV6, offset);
        let ty = cx.uint(0, &TYPE, offset, 1);
        cx.uint(0, &CODE, offset + 1, 1);
        cx.uint(0, &CHECKSUM, offset + 2, 2);
        let ck = if net.fragment || end > cx.data.len() || cx.inner {
            Check::Unverifiable
        } else {
            cx.check(Some((net, 58)), bytes, 2)
        };
        cx.add(1, &CHECKSUM_STATUS, Value::U(ck.status()), offset + 2, 2);
        if let Check::Bad { expected } = ck {
            cx.note(&CHECKSUM_BAD, offset + 2, 2, format!("bad checksum: it should be 0x{expected:04x}"));
        }
        cx.set_protocol("ICMPv6");
        let name = TYPE.value_name(ty).unwrap_or("Unknown");
        match ty {
            128 | 129 => {
                let id = cx.uint(0, &ECHO_ID, offset + 4, 2);
                let seq = cx.uint(0, &ECHO_SEQ, offset + 6, 2);
                if end > offset + 8 {
                    cx.add(0, &DATA, Value::Bytes, offset + 8, end - offset - 8);
                }
                cx.end_layer(layer, end - offset);
                cx.set_info(format_args!("{name} id=0x{id:04x}, seq={seq}"));
            }
            1..=4 => {
                cx.add(0, &RESERVED, Value::Bytes, offset + 4, 4);
                cx.end_layer(layer, 8);
                cx.set_info(format_args!("{name}"));
                let was = cx.inner;
                cx.inner = true;
                let inner_end = super::super::ipv6::dissect(cx, offset + 8);
                cx.inner = was;
                if inner_end < end {
                    data::bytes(cx, inner_end, end);
                }
            }
            _ => {
                if end > offset + 4 {
                    cx.add(0, &DATA, Value::Bytes, offset + 4, end - offset - 4);
                }
                cx.end_layer(layer, end - offset);
                cx.set_info(format_args!("{name}"));
            }
        }
        end
    }
}
