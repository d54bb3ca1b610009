//! UDP (RFC 768).

use super::checksum::{Check, STATUS_NAMES};
use super::conv::Endpoint;
use super::linktype::NetInfo;
use super::{Cx, data};
use crate::model::{Protocol, TcpIpLayer, Value};
use crate::{fields, notes};
use etherparse::UdpHeaderSlice;

pub static UDP: Protocol = Protocol {
    name: "udp",
    short: "UDP",
    label: "User Datagram Protocol",
    osi: 4,
    tcpip: TcpIpLayer::Transport,
    explain: "The other transport: ports pick the program, and each datagram travels alone. No handshake, no \
acknowledgements, no retransmission, no ordering: whatever the network loses or reorders stays lost or \
reordered, which is fast and simple when the application can live with it.",
};

/// Byte ranges of the UDP header (RFC 768).
pub mod field {
    use std::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
    pub const HEADER_LEN: usize = 8;
}

fields! { proto = &UDP;
    SRCPORT: "udp.srcport" { label: "Source Port", ty: U16, explain: "The sending program's port (a socket is an address and a port)." };
    DSTPORT: "udp.dstport" { label: "Destination Port", ty: U16, explain: "The receiving program's port." };
    LENGTH: "udp.length" { label: "Length", ty: U16, explain: "Length of the datagram in bytes, the 8-byte header included." };
    CHECKSUM: "udp.checksum" { label: "Checksum", ty: U16, base: Hex(4), explain: "A checksum over a pseudo-header, the header and the data; 0 means the sender did not compute one (IPv4 only)." };
    CHECKSUM_STATUS: "udp.checksum.status" { label: "Checksum Status", ty: U8, values: STATUS_NAMES, explain: "Whether the checksum was right (1), wrong (0), unchecked (2) or absent (3)." };
    STREAM: "udp.stream" { label: "Stream index", ty: U32, explain: "wirelab's number for this pair of sockets within the capture (not on the wire), as Wireshark counts it." };
}

notes! { proto = &UDP;
    TRUNCATED: "udp.expert.truncated" { severity: Error, cite: "RFC 768", explain: "The frame ends before the 8-byte UDP header does, so the ports or the length cannot all be read. Usually the capture cut the frame short." };
    LENGTH_BAD: "udp.length.bad" { severity: Error, cite: "RFC 768", explain: "The UDP length counts the 8-byte header plus the data, so it must be at least 8 and must fit in the IP packet around it. This one does not, so the datagram's size cannot be trusted." };
    CHECKSUM_BAD: "udp.checksum.bad" { severity: Error, cite: "RFC 768", explain: "The checksum does not match the datagram's bytes: something changed them on the way. A receiver drops such a datagram, and UDP never resends it: the data is simply lost." };
    PARTIAL_CHECKSUM: "udp.expert.partial_checksum" { explain: "The checksum field holds only part of the sum: the kernel left the rest for the network card (checksum offload). Captured on the sending machine or on loopback, this is normal and not an error." };
}

pub fn dissect(cx: &mut Cx<'_>, offset: usize, end: usize, net: &NetInfo) -> usize {
    let bytes = cx.data.get(offset..end.min(cx.data.len())).unwrap_or(&[]);
    let hdr = match UdpHeaderSlice::from_slice(bytes) {
        Ok(h) => h,
        Err(e) => {
            let layer = cx.begin_layer(&UDP, offset);
            let have = bytes.len();
            if have >= 2 {
                cx.uint(0, &SRCPORT, offset, 2);
            }
            if have >= 4 {
                cx.uint(0, &DSTPORT, offset + 2, 2);
            }
            cx.end_layer(layer, have.min(4));
            if !cx.inner {
                cx.truncated(&TRUNCATED, "UDP header", offset, e.required_len);
            }
            return offset + have.min(4);
        }
    };
    let sport = hdr.source_port();
    let dport = hdr.destination_port();
    let src = Endpoint { addr: net.src, is_v6: net.is_v6, port: sport };
    let dst = Endpoint { addr: net.dst, is_v6: net.is_v6, port: dport };
    if cx.routing {
        if !cx.inner {
            cx.flow = Some(super::conv::flow_hash(src, dst));
        }
        return end;
    }
    let ulen = usize::from(hdr.length());
    let layer = cx.begin_layer(&UDP, offset);
    cx.add(0, &SRCPORT, Value::U(sport.into()), offset, 2);
    cx.add(0, &DSTPORT, Value::U(dport.into()), offset + 2, 2);
    cx.add(0, &LENGTH, Value::U(ulen as u64), offset + 4, 2);
    let stored = hdr.checksum();
    cx.add(0, &CHECKSUM, Value::U(stored.into()), offset + 6, 2);
    let avail = end - offset;
    let mut dgram_end = end;
    if !cx.inner {
        if ulen < field::HEADER_LEN {
            cx.note(&LENGTH_BAD, offset + 4, 2, format!("length {ulen} is less than the 8-byte header"));
        } else if ulen > avail {
            cx.note(
                &LENGTH_BAD,
                offset + 4,
                2,
                format!("length says {ulen} bytes but the IP packet holds only {avail}"),
            );
        } else if ulen < avail {
            dgram_end = offset + ulen;
        }
    }
    let ck = if stored == 0 && !net.is_v6 {
        None
    } else if ulen == avail && end <= cx.data.len() && !net.fragment && !cx.inner {
        Some(cx.check(Some((net, 17)), bytes, 6))
    } else {
        Some(Check::Unverifiable)
    };
    cx.add(1, &CHECKSUM_STATUS, Value::U(ck.map(Check::status).unwrap_or(3)), offset + 6, 2);
    match ck {
        Some(Check::Bad { expected }) => {
            cx.note(&CHECKSUM_BAD, offset + 6, 2, format!("bad checksum 0x{stored:04x}: it should be 0x{expected:04x}"))
        }
        Some(Check::Partial) => cx.note(
            &PARTIAL_CHECKSUM,
            offset + 6,
            2,
            "checksum not finished: left to the network card (checksum offload), which loopback does not have; this is normal",
        ),
        _ => {}
    }
    if cx.inner {
        cx.end_layer(layer, 8);
        return offset + 8;
    }
    let payload = dgram_end.saturating_sub(offset + 8);
    let (stream, _) = cx.conv.udp(src, dst, payload as u64, cx.out.meta.number);
    cx.add(0, &STREAM, Value::U(stream.into()), offset, 0);
    cx.end_layer(layer, 8);
    cx.set_protocol("UDP");
    cx.set_info(format_args!("{sport} \u{2192} {dport} Len={payload}"));
    let body = cx.data.get(offset + 8..dgram_end.min(cx.data.len())).unwrap_or(&[]);
    if super::app::demo::looks_like(body) {
        // The UDP demo server's messages: one per datagram.
        let at = super::At { bytes: body, source: 0, base: offset + 8 };
        super::app::demo::dissect(cx, at, None);
    } else {
        data::bytes(cx, offset + 8, dgram_end);
    }
    dgram_end
}
