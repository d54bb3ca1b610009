//! Packets built by hand, field by field, with pnet — and sent through a raw
//! socket, so a student can watch what the kernel does with them.

use std::net::{IpAddr, Ipv4Addr};

use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv4::{self, Ipv4Flags, MutableIpv4Packet};
use pnet_packet::tcp::{self, MutableTcpPacket, TcpFlags, TcpOption};
use pnet_packet::udp::{self, MutableUdpPacket};
use pnet_transport::{TransportChannelType, transport_channel};

/// What to build.
#[derive(Clone, Debug)]
pub enum Kind {
    /// A UDP datagram carrying `payload`.
    Udp { payload: Vec<u8> },
    /// A TCP segment with only SYN set: the first step of a handshake.
    Syn { seq: u32 },
}

#[derive(Clone, Debug)]
pub struct Spec {
    pub kind: Kind,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub src_port: u16,
    pub dst_port: u16,
    pub ttl: u8,
    pub id: u16,
}

#[derive(Debug, thiserror::Error)]
pub enum CraftError {
    #[error("the payload is too large for one IPv4 packet ({0} bytes; at most 65,507)")]
    TooLarge(usize),
    #[error(
        "cannot open a raw socket to send it: {0}.\nSending hand-made packets needs CAP_NET_RAW: run it as root \
(`sudo {1} craft …`). wirelab itself is never given capabilities (only its capture helper is), so this one \
command needs root. Building and printing works without it (--no-send)."
    )]
    Permission(std::io::Error, String),
    #[error("sending failed: {0}")]
    Send(std::io::Error),
}

/// Builds the IPv4 packet: every field set here, checksums computed.
pub fn build(spec: &Spec) -> Result<Vec<u8>, CraftError> {
    let transport_len = match &spec.kind {
        Kind::Udp { payload } => 8 + payload.len(),
        Kind::Syn { .. } => 24, // 20-byte header + MSS option
    };
    let total = 20 + transport_len;
    if total > 65_535 {
        return Err(CraftError::TooLarge(transport_len - 8));
    }
    let mut buf = vec![0u8; total];
    {
        let mut ip = MutableIpv4Packet::new(&mut buf).ok_or(CraftError::TooLarge(total))?;
        ip.set_version(4);
        ip.set_header_length(5);
        ip.set_dscp(0);
        ip.set_ecn(0);
        ip.set_total_length(total as u16);
        ip.set_identification(spec.id);
        ip.set_flags(Ipv4Flags::DontFragment);
        ip.set_fragment_offset(0);
        ip.set_ttl(spec.ttl);
        ip.set_next_level_protocol(match spec.kind {
            Kind::Udp { .. } => IpNextHeaderProtocols::Udp,
            Kind::Syn { .. } => IpNextHeaderProtocols::Tcp,
        });
        ip.set_source(spec.src);
        ip.set_destination(spec.dst);
        let c = ipv4::checksum(&ip.to_immutable());
        ip.set_checksum(c);
    }
    match &spec.kind {
        Kind::Udp { payload } => {
            let mut u = MutableUdpPacket::new(&mut buf[20..]).ok_or(CraftError::TooLarge(total))?;
            u.set_source(spec.src_port);
            u.set_destination(spec.dst_port);
            u.set_length(transport_len as u16);
            u.set_payload(payload);
            let c = udp::ipv4_checksum(&u.to_immutable(), &spec.src, &spec.dst);
            u.set_checksum(c);
        }
        Kind::Syn { seq } => {
            let mut t = MutableTcpPacket::new(&mut buf[20..]).ok_or(CraftError::TooLarge(total))?;
            t.set_source(spec.src_port);
            t.set_destination(spec.dst_port);
            t.set_sequence(*seq);
            t.set_acknowledgement(0);
            t.set_data_offset(6);
            t.set_flags(TcpFlags::SYN);
            t.set_window(64_240);
            t.set_urgent_ptr(0);
            t.set_options(&[TcpOption::mss(1460)]);
            let c = tcp::ipv4_checksum(&t.to_immutable(), &spec.src, &spec.dst);
            t.set_checksum(c);
        }
    }
    Ok(buf)
}

/// Sends a built IPv4 packet through a raw socket (IP_HDRINCL): the kernel
/// adds nothing but the link layer.
pub fn send(spec: &Spec, packet: &[u8]) -> Result<(), CraftError> {
    let proto = match spec.kind {
        Kind::Udp { .. } => IpNextHeaderProtocols::Udp,
        Kind::Syn { .. } => IpNextHeaderProtocols::Tcp,
    };
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "wirelab".into());
    let (mut tx, _rx) =
        transport_channel(4096, TransportChannelType::Layer3(proto)).map_err(|e| CraftError::Permission(e, exe))?;
    let pkt = pnet_packet::ipv4::Ipv4Packet::new(packet).ok_or(CraftError::TooLarge(packet.len()))?;
    tx.send_to(pkt, IpAddr::V4(spec.dst)).map_err(CraftError::Send)?;
    Ok(())
}

/// A short explanation of what should come back, for the student.
pub fn expectation(spec: &Spec, listening: bool) -> &'static str {
    match (&spec.kind, listening) {
        (Kind::Syn { .. }, true) => {
            "A program listens on that port, so its kernel answers SYN-ACK. But no socket of ours asked for this \
connection (we sent the SYN by hand), so our own kernel answers the SYN-ACK with RST: the kernel, not the program, \
runs the handshake."
        }
        (Kind::Syn { .. }, false) => {
            "Nothing listens on that port, so the kernel answers the SYN with RST, ACK: connection refused."
        }
        (Kind::Udp { .. }, true) => {
            "A program listens on that port: the datagram is delivered and nothing comes back unless the program answers."
        }
        (Kind::Udp { .. }, false) => {
            "Nothing listens on that port, so the kernel answers with ICMP \"destination unreachable (port unreachable)\", \
quoting the start of our datagram."
        }
    }
}

/// Whether something listens on the local TCP or UDP port (from /proc).
pub fn is_listening(udp: bool, port: u16) -> bool {
    let files: &[&str] = if udp { &["/proc/net/udp", "/proc/net/udp6"] } else { &["/proc/net/tcp", "/proc/net/tcp6"] };
    let hex = format!(":{port:04X}");
    files.iter().any(|f| {
        std::fs::read_to_string(f).is_ok_and(|t| {
            t.lines().skip(1).any(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                // local address ends with the port; state 0A is LISTEN for TCP, 07 is a bound UDP socket.
                cols.get(1).is_some_and(|a| a.ends_with(&hex))
                    && cols.get(3).is_some_and(|s| if udp { *s == "07" } else { *s == "0A" })
            })
        })
    })
}
