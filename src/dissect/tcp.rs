//! TCP (RFC 9293), with options (RFC 7323, RFC 2018) and sequence analysis.

use super::checksum::{Check, STATUS_NAMES};
use super::conv::{Endpoint, Segment, TcpState, analysis as an, flags as fl};
use super::linktype::NetInfo;
use super::{Cx, data, read_be};
use crate::model::{AppEvent, FieldDef, MsgKind, NoteDef, Protocol, TcpIpLayer, TcpLine, Value};
use crate::{fields, notes};
use etherparse::TcpHeaderSlice;
use etherparse::err::tcp::HeaderSliceError;

pub static TCP: Protocol = Protocol {
    name: "tcp",
    short: "TCP",
    label: "Transmission Control Protocol",
    osi: 4,
    tcpip: TcpIpLayer::Transport,
    explain: "The transport layer between two programs: ports pick the program on each host, and TCP turns \
IP's unreliable packets into a reliable, ordered byte stream with a handshake, sequence numbers, \
acknowledgements, retransmission and flow control.",
};

/// Byte ranges of the TCP header (RFC 9293 §3.1).
pub mod field {
    use std::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQ: Range<usize> = 4..8;
    pub const ACK: Range<usize> = 8..12;
    /// Data offset (4 bits), reserved (3 bits) and the flags (9 bits).
    pub const OFF_FLAGS: Range<usize> = 12..14;
    pub const WINDOW: Range<usize> = 14..16;
    pub const CHECKSUM: Range<usize> = 16..18;
    pub const URGENT: Range<usize> = 18..20;
    pub const OPTIONS: usize = 20;
}

pub const OPTION_KINDS: &[(u64, &str)] = &[
    (0, "End of Option List"),
    (1, "No-Operation"),
    (2, "Maximum Segment Size"),
    (3, "Window Scale"),
    (4, "SACK Permitted"),
    (5, "SACK"),
    (8, "Time Stamp Option"),
    (30, "Multipath TCP"),
    (34, "TCP Fast Open Cookie"),
];

fields! { proto = &TCP;
    SRCPORT: "tcp.srcport" { label: "Source Port", ty: U16, explain: "The sending program's port. Together with the IP address it names one end of the connection: a socket." };
    DSTPORT: "tcp.dstport" { label: "Destination Port", ty: U16, explain: "The receiving program's port: how the receiving host knows which program gets the data." };
    FROM_CLIENT: "tcp.from_client" { label: "From the client", ty: Bool, explain: "Whether the connection's client sent this segment (1) or its server (0): the client is the side that sent the first SYN. Not on the wire; absent when the capture missed the handshake." };
    STREAM: "tcp.stream" { label: "Stream index", ty: U32, explain: "wirelab's number for this connection within the capture (not on the wire), counting from 0 as Wireshark does." };
    LEN: "tcp.len" { label: "TCP Segment Len", ty: U32, explain: "How many bytes of application data this segment carries (not on the wire: IP length minus both headers)." };
    SEQ: "tcp.seq" { label: "Sequence Number (relative)", ty: U32, explain: "Position of this segment's first byte in the sender's byte stream, counted from the start of the connection (the SYN counts as one)." };
    SEQ_RAW: "tcp.seq_raw" { label: "Sequence Number (raw)", ty: U32, explain: "The sequence number as sent: it starts at a random value chosen in the SYN, which is why tools show relative numbers." };
    NXTSEQ: "tcp.nxtseq" { label: "Next Sequence Number", ty: U32, explain: "The sequence number the sender will use next: this one plus the data length (SYN and FIN count one each)." };
    ACK: "tcp.ack" { label: "Acknowledgment Number (relative)", ty: U32, explain: "The next byte the sender expects from the other side: everything before it arrived. Relative to the other side's start." };
    ACK_RAW: "tcp.ack_raw" { label: "Acknowledgment number (raw)", ty: U32, explain: "The acknowledgment number as sent." };
    HDR_LEN: "tcp.hdr_len" { label: "Header Length", ty: U8, mask: 0xf0, explain: "The TCP header's length in bytes; on the wire in 32-bit words (5 = 20 bytes; more means options)." };
    FLAGS: "tcp.flags" { label: "Flags", ty: U16, base: Hex(4), mask: 0x0fff, explain: "Control bits: SYN opens, FIN closes, RST aborts, ACK says the acknowledgment number is valid, PSH asks to deliver now." };
    FLAGS_RES: "tcp.flags.res" { label: "Reserved", ty: Bool, mask: 0x0e00, explain: "Reserved bits; must be zero." };
    FLAGS_AE: "tcp.flags.ae" { label: "Accurate ECN", ty: Bool, mask: 0x0100, explain: "Experimental accurate congestion feedback (formerly the ECN nonce)." };
    FLAGS_CWR: "tcp.flags.cwr" { label: "Congestion Window Reduced", ty: Bool, mask: 0x0080, explain: "The sender slowed down after a congestion signal (RFC 3168)." };
    FLAGS_ECE: "tcp.flags.ece" { label: "ECN-Echo", ty: Bool, mask: 0x0040, explain: "Tells the other side that a router marked congestion (RFC 3168)." };
    FLAGS_URG: "tcp.flags.urg" { label: "Urgent", ty: Bool, mask: 0x0020, explain: "The urgent pointer is valid; almost never used today." };
    FLAGS_ACK: "tcp.flags.ack" { label: "Acknowledgment", ty: Bool, mask: 0x0010, explain: "The acknowledgment number is valid; set on every segment after the first SYN." };
    FLAGS_PUSH: "tcp.flags.push" { label: "Push", ty: Bool, mask: 0x0008, explain: "Asks the receiver to hand the data to the application without waiting for more." };
    FLAGS_RESET: "tcp.flags.reset" { label: "Reset", ty: Bool, mask: 0x0004, explain: "Aborts the connection at once, for example when no program listens on the port." };
    FLAGS_SYN: "tcp.flags.syn" { label: "Syn", ty: Bool, mask: 0x0002, explain: "Synchronize: the first two segments of the three-way handshake carry it, announcing each side's initial sequence number." };
    FLAGS_FIN: "tcp.flags.fin" { label: "Fin", ty: Bool, mask: 0x0001, explain: "Finish: the sender has no more data. Each direction closes separately." };
    WINDOW_SIZE_VALUE: "tcp.window_size_value" { label: "Window", ty: U16, explain: "How many more bytes the sender of this segment can receive, before scaling (flow control)." };
    WINDOW_SIZE: "tcp.window_size" { label: "Calculated window size", ty: U32, explain: "The window in bytes after applying the scale negotiated in the handshake (RFC 7323)." };
    WINDOW_SCALEFACTOR: "tcp.window_size_scalefactor" { label: "Window size scaling factor", ty: I32, explain: "The multiplier for the window: -1 unknown (handshake not captured), -2 no scaling." };
    CHECKSUM: "tcp.checksum" { label: "Checksum", ty: U16, base: Hex(4), explain: "A checksum over a pseudo-header (addresses, protocol, length), the TCP header and the data." };
    CHECKSUM_STATUS: "tcp.checksum.status" { label: "Checksum Status", ty: U8, values: STATUS_NAMES, explain: "Whether the checksum was right (1), wrong (0) or could not be checked (2)." };
    URGENT_POINTER: "tcp.urgent_pointer" { label: "Urgent Pointer", ty: U16, explain: "With URG, where urgent data ends; otherwise unused." };
    OPTIONS: "tcp.options" { label: "Options", ty: Bytes, base: Hex(0), explain: "Optional header extensions, mostly negotiated in the SYNs." };
    OPTION_KIND: "tcp.option_kind" { label: "Kind", ty: U8, values: OPTION_KINDS, explain: "Which option this is." };
    OPTION_LEN: "tcp.option_len" { label: "Length", ty: U8, explain: "The option's length in bytes, kind and length included." };
    OPT_NOP: "tcp.options.nop" { label: "No-Operation (NOP)", ty: Bytes, base: Hex(0), explain: "One byte of padding that aligns the next option on a 4-byte boundary." };
    OPT_EOL: "tcp.options.eol" { label: "End of Option List (EOL)", ty: Bytes, base: Hex(0), explain: "Marks the end of the options; the rest of the header is padding." };
    OPT_MSS: "tcp.options.mss" { label: "Maximum segment size", ty: Bytes, base: Hex(0), explain: "The largest segment the sender can receive, announced in its SYN." };
    OPT_MSS_VAL: "tcp.options.mss_val" { label: "MSS Value", ty: U16, explain: "The maximum segment size in bytes. On loopback it is huge (65495) because the MTU is 64 KiB." };
    OPT_WSCALE: "tcp.options.wscale" { label: "Window scale", ty: Bytes, base: Hex(0), explain: "Lets the window exceed 64 KiB: later windows are multiplied by 2 to this power (RFC 7323)." };
    OPT_WSCALE_SHIFT: "tcp.options.wscale.shift" { label: "Shift count", ty: U8, explain: "The power of two the window is shifted by." };
    OPT_WSCALE_MULT: "tcp.options.wscale.multiplier" { label: "Multiplier", ty: U16, explain: "2 to the shift count (not on the wire)." };
    OPT_SACK_PERM: "tcp.options.sack_perm" { label: "SACK permitted", ty: Bytes, base: Hex(0), explain: "The sender understands selective acknowledgements (RFC 2018)." };
    OPT_SACK: "tcp.options.sack" { label: "SACK", ty: Bytes, base: Hex(0), explain: "Selective acknowledgement: blocks of data received beyond a gap, so only the gap is resent." };
    OPT_SACK_LE: "tcp.options.sack_le" { label: "left edge", ty: U32, explain: "First byte of a received block (relative)." };
    OPT_SACK_RE: "tcp.options.sack_re" { label: "right edge", ty: U32, explain: "One past the last byte of a received block (relative)." };
    OPT_TIMESTAMP: "tcp.options.timestamp" { label: "Timestamps", ty: Bytes, base: Hex(0), explain: "Two clock values used to measure round-trip time and reject old duplicate segments (RFC 7323)." };
    OPT_TSVAL: "tcp.options.timestamp.tsval" { label: "Timestamp value", ty: U32, explain: "The sender's clock when it sent this segment." };
    OPT_TSECR: "tcp.options.timestamp.tsecr" { label: "Timestamp echo reply", ty: U32, explain: "The latest timestamp value received from the other side, echoed back." };
    OPT_UNKNOWN: "tcp.options.unknown.payload" { label: "Payload", ty: Bytes, base: Hex(0), explain: "The contents of an option wirelab does not decode." };
    ANALYSIS: "tcp.analysis" { label: "SEQ/ACK analysis", ty: None, explain: "What wirelab concluded from comparing this segment with earlier ones of the connection (not on the wire)." };
    A_RETRANSMISSION: "tcp.analysis.retransmission" { label: "Retransmission", ty: None, explain: "This data was sent before: the sender thinks it was lost, because no acknowledgment came in time." };
    A_FAST_RETRANSMISSION: "tcp.analysis.fast_retransmission" { label: "Fast retransmission", ty: None, explain: "Resent after duplicate ACKs, without waiting for the timer (RFC 5681 §3.2)." };
    A_SPURIOUS: "tcp.analysis.spurious_retransmission" { label: "Spurious retransmission", ty: None, explain: "Resent although the receiver had already acknowledged it." };
    A_OUT_OF_ORDER: "tcp.analysis.out_of_order" { label: "Out-of-order segment", ty: None, explain: "Arrived after data that comes later in the stream: the network reordered packets." };
    A_LOST_SEGMENT: "tcp.analysis.lost_segment" { label: "Previous segment not captured", ty: None, explain: "There is a gap before this segment: a segment was lost, or the capture missed it." };
    A_ACKED_UNSEEN: "tcp.analysis.ack_lost_segment" { label: "ACKed unseen segment", ty: None, explain: "This acknowledges data the capture never saw." };
    A_DUPLICATE_ACK: "tcp.analysis.duplicate_ack" { label: "Duplicate ACK", ty: None, explain: "The same acknowledgment again: the receiver is still waiting for a missing segment." };
    A_DUPLICATE_ACK_NUM: "tcp.analysis.duplicate_ack_num" { label: "Duplicate ACK #", ty: U32, explain: "How many duplicates of this ACK so far; three trigger a fast retransmission." };
    A_ZERO_WINDOW: "tcp.analysis.zero_window" { label: "Zero window", ty: None, explain: "The receiver's buffer is full: the sender must stop until the window opens." };
    A_WINDOW_UPDATE: "tcp.analysis.window_update" { label: "Window update", ty: None, explain: "A segment that only announces a new window size." };
    A_WINDOW_FULL: "tcp.analysis.window_full" { label: "Window full", ty: None, explain: "This segment fills the receiver's window to the last byte: the sender must wait for an acknowledgment before it can send more." };
    A_KEEP_ALIVE: "tcp.analysis.keep_alive" { label: "Keep-alive", ty: None, explain: "An empty probe sent to check that the other side is still there." };
    A_ACKS_FRAME: "tcp.analysis.acks_frame" { label: "This is an ACK to the segment in frame", ty: U32, explain: "The frame whose segment this acknowledgment covers to its last byte: what this ACK acknowledges. An ACK names a byte, not a segment; the segment that byte ends is found by looking back." };
    A_ACK_RTT: "tcp.analysis.ack_rtt" { label: "The RTT to ACK the segment was", ty: RelTime, explain: "Seconds from that segment to this acknowledgment, as seen where the capture was made: one round trip, measured on real data. It varies from segment to segment (queues, delayed ACKs), which is why TCP keeps a smoothed average." };
    A_INITIAL_RTT: "tcp.analysis.initial_rtt" { label: "iRTT", ty: RelTime, explain: "The connection's first round trip: from the SYN to the ACK that completed the handshake. A first estimate of how far apart the two ends are." };
    A_BYTES_IN_FLIGHT: "tcp.analysis.bytes_in_flight" { label: "Bytes in flight", ty: U32, explain: "After this segment, the bytes this side has sent that the other side has not yet acknowledged (less what its SACK blocks say arrived). TCP may have at most the receiver's window, and its own congestion window, in flight." };
    A_PUSH_BYTES_SENT: "tcp.analysis.push_bytes_sent" { label: "Bytes sent since last PSH flag", ty: U32, explain: "The bytes this side sent since its last segment with PSH: roughly how much the application handed TCP in one write, since the PSH usually marks the end of one." };
    TIME_RELATIVE: "tcp.time_relative" { label: "Time since first frame in this TCP stream", ty: RelTime, explain: "Seconds since the first frame of this connection: its own clock, starting at its SYN." };
    TIME_DELTA: "tcp.time_delta" { label: "Time since previous frame in this TCP stream", ty: RelTime, explain: "Seconds since the previous frame of this connection, in either direction: a long gap is an idle connection, a slow peer, or a wait for a timer." };
}

notes! { proto = &TCP;
    TRUNCATED: "tcp.expert.truncated" { severity: Error, cite: "RFC 9293 §3.1", explain: "The frame ends before the TCP header does, so the ports, sequence numbers and flags that are missing cannot be read. Usually the capture cut the frame short." };
    BOGUS_HEADER_LENGTH: "tcp.bogus_header_length" { severity: Error, cite: "RFC 9293 §3.1", explain: "The data offset says the header is shorter than 20 bytes, the size of a header without options. That is impossible, so the rest of the segment cannot be trusted." };
    RETRANSMISSION: "tcp.analysis.retransmission" { severity: Warning, cite: "RFC 9293 §3.8.1", explain: "This segment carries data the sender already sent once: it was lost or its acknowledgment was late, so TCP sends it again. A few are normal; many mean a lossy or congested path." };
    FAST_RETRANSMISSION: "tcp.analysis.fast_retransmission" { severity: Warning, cite: "RFC 5681 §3.2", explain: "The sender resent this data right after several duplicate ACKs instead of waiting for its timer: the receiver kept saying a segment was missing. It is TCP recovering quickly from a loss." };
    SPURIOUS_RETRANSMISSION: "tcp.analysis.spurious_retransmission" { severity: Warning, explain: "This data was resent although the receiver had already acknowledged it, so the resend was not needed. It usually means an acknowledgment was slow or lost, not the data." };
    OUT_OF_ORDER: "tcp.analysis.out_of_order" { severity: Warning, explain: "This segment arrived after a segment that comes later in the byte stream: the network delivered them in a different order. TCP puts the bytes back in order before the program reads them." };
    LOST_SEGMENT: "tcp.analysis.lost_segment" { severity: Warning, explain: "There is a gap in the sequence numbers before this segment: some data was never seen. Either the network lost it or the capture missed it (common at the start of a capture)." };
    ACK_LOST_SEGMENT: "tcp.analysis.ack_lost_segment" { severity: Warning, explain: "This acknowledges data that does not appear in the capture. The receiver got it, so the capture missed it, not the network." };
    DUPLICATE_ACK: "tcp.analysis.duplicate_ack" { severity: Warning, cite: "RFC 5681 §2", explain: "The receiver sends the same acknowledgment number again: it got a segment but is still waiting for an earlier one. Three in a row make the sender retransmit at once." };
    ZERO_WINDOW: "tcp.analysis.zero_window" { severity: Warning, cite: "RFC 9293 §3.8.6", explain: "The sender of this segment announces a window of zero: its receive buffer is full, because the program is not reading fast enough. The other side must stop sending until the window opens again." };
    WINDOW_FULL: "tcp.analysis.window_full" { severity: Warning, cite: "RFC 9293 §3.8.6", explain: "The data in this segment reaches exactly the end of the window the receiver offered. The sender has used all the buffer space the receiver announced and must now wait for an acknowledgment: flow control at work, or a sign that the receiver reads slowly." };
    WINDOW_UPDATE: "tcp.analysis.window_update" { cite: "RFC 9293 §3.8.6", explain: "A segment with no data that only announces a new, larger window: the receiver has made room in its buffer and the other side may send more." };
    KEEP_ALIVE: "tcp.analysis.keep_alive" { cite: "RFC 9293 §3.8.4", explain: "An almost empty segment sent on an idle connection to check that the other side is still there. If no answer comes after a few of them, the connection is given up." };
    CHECKSUM_BAD: "tcp.checksum_bad.expert" { severity: Error, cite: "RFC 9293 §3.1", explain: "The checksum does not match the segment's bytes: something changed them on the way. A real receiver drops such a segment without acknowledging it, so the sender will have to resend it." };
    PARTIAL_CHECKSUM: "tcp.expert.partial_checksum" { explain: "The checksum field holds only part of the sum: the kernel left the rest for the network card (checksum offload). Captured on the sending machine or on loopback, this is normal and not an error." };
    CONNECTION_SYN: "tcp.connection.syn" { cite: "RFC 9293 §3.5", explain: "The first segment of the three-way handshake: the client asks to open a connection and picks its initial sequence number. Nothing can be sent before the handshake finishes." };
    CONNECTION_SYNACK: "tcp.connection.synack" { cite: "RFC 9293 §3.5", explain: "The second segment of the three-way handshake: the server accepts the connection, acknowledges the client's SYN and picks its own initial sequence number." };
    HANDSHAKE_ACK: "tcp.expert.handshake_ack" { cite: "RFC 9293 §3.5", explain: "The third segment of the three-way handshake: the client acknowledges the server's SYN. From now on both sides can send data." };
    CONNECTION_FIN: "tcp.connection.fin" { cite: "RFC 9293 §3.6", explain: "FIN means this side has no more data to send. Each direction is closed separately, so the other side may keep sending until it sends its own FIN." };
    CONNECTION_RST: "tcp.connection.rst" { cite: "RFC 9293 §3.5.2", explain: "RST aborts the connection at once, without the FIN exchange: for example nothing listens on the port, or a program closed its socket with data still unread. Data not yet delivered is lost." };
    STARTED_BEFORE_CAPTURE: "tcp.expert.started_before_capture" { explain: "The capture started after this connection was opened, so its handshake is missing. wirelab counts relative sequence numbers from this segment instead of from the SYN." };
    OPTION_LEN_INVALID: "tcp.option.len.invalid" { severity: Error, cite: "RFC 9293 §3.2", explain: "An option's length byte is impossible: too small, past the end of the header, or not the length this kind of option must have. The option, and maybe the ones after it, cannot be read." };
}

/// One kind of sequence analysis: its bit in the verdict, its field, its
/// note, its label in the info column and the note's message.
struct Analysis {
    bit: u16,
    field: &'static FieldDef,
    note: &'static NoteDef,
    label: &'static str,
    message: &'static str,
}

const ANALYSIS_FIELDS: &[Analysis] = &[
    Analysis {
        bit: an::FAST_RETRANSMISSION,
        field: &A_FAST_RETRANSMISSION,
        note: &FAST_RETRANSMISSION,
        label: "TCP Fast Retransmission",
        message: "fast retransmission after duplicate ACKs",
    },
    Analysis {
        bit: an::SPURIOUS_RETRANSMISSION,
        field: &A_SPURIOUS,
        note: &SPURIOUS_RETRANSMISSION,
        label: "TCP Spurious Retransmission",
        message: "spurious retransmission: this data was already acknowledged",
    },
    Analysis {
        bit: an::RETRANSMISSION,
        field: &A_RETRANSMISSION,
        note: &RETRANSMISSION,
        label: "TCP Retransmission",
        message: "this segment repeats data sent before (a retransmission)",
    },
    Analysis {
        bit: an::OUT_OF_ORDER,
        field: &A_OUT_OF_ORDER,
        note: &OUT_OF_ORDER,
        label: "TCP Out-Of-Order",
        message: "out-of-order segment",
    },
    Analysis {
        bit: an::LOST_SEGMENT,
        field: &A_LOST_SEGMENT,
        note: &LOST_SEGMENT,
        label: "TCP Previous segment not captured",
        message: "previous segment not captured: there is a gap in the sequence numbers",
    },
    Analysis {
        bit: an::ACKED_UNSEEN,
        field: &A_ACKED_UNSEEN,
        note: &ACK_LOST_SEGMENT,
        label: "TCP ACKed unseen segment",
        message: "this acknowledges a segment that was not captured",
    },
    Analysis {
        bit: an::DUPLICATE_ACK,
        field: &A_DUPLICATE_ACK,
        note: &DUPLICATE_ACK,
        label: "TCP Dup ACK",
        message: "duplicate acknowledgment",
    },
    Analysis {
        bit: an::ZERO_WINDOW,
        field: &A_ZERO_WINDOW,
        note: &ZERO_WINDOW,
        label: "TCP ZeroWindow",
        message: "zero window: the receiver can take no more data",
    },
    Analysis {
        bit: an::WINDOW_FULL,
        field: &A_WINDOW_FULL,
        note: &WINDOW_FULL,
        label: "TCP Window Full",
        message: "window full: this segment uses the last byte of the receiver's window",
    },
    Analysis {
        bit: an::WINDOW_UPDATE,
        field: &A_WINDOW_UPDATE,
        note: &WINDOW_UPDATE,
        label: "TCP Window Update",
        message: "window update",
    },
    Analysis {
        bit: an::KEEP_ALIVE,
        field: &A_KEEP_ALIVE,
        note: &KEEP_ALIVE,
        label: "TCP Keep-Alive",
        message: "keep-alive probe",
    },
];

fn endpoint(net: &NetInfo, src: bool, port: u16) -> Endpoint {
    Endpoint { addr: if src { net.src } else { net.dst }, is_v6: net.is_v6, port }
}

/// Dissects a TCP segment in `offset..end`; returns where the header ends
/// (the payload is dissected here too, so `end` on success).
pub fn dissect(cx: &mut Cx<'_>, offset: usize, end: usize, net: &NetInfo) -> usize {
    let bytes = cx.data.get(offset..end.min(cx.data.len())).unwrap_or(&[]);
    let hdr = match TcpHeaderSlice::from_slice(bytes) {
        Ok(h) => h,
        Err(e) => {
            let layer = cx.begin_layer(&TCP, offset);
            let have = bytes.len().min(20);
            if have >= 2 {
                cx.uint(0, &SRCPORT, offset, 2);
            }
            if have >= 4 {
                cx.uint(0, &DSTPORT, offset + 2, 2);
            }
            if have >= 8 {
                cx.uint(0, &SEQ_RAW, offset + 4, 4);
            }
            cx.end_layer(layer, have.min(8));
            if !cx.inner {
                match e {
                    HeaderSliceError::Len(l) => cx.truncated(&TRUNCATED, "TCP header", offset, l.required_len),
                    HeaderSliceError::Content(c) => {
                        cx.note(&BOGUS_HEADER_LENGTH, offset + 12, 1, format!("bad TCP header: {c}"))
                    }
                }
                cx.set_protocol("TCP");
            }
            return offset + have.min(8);
        }
    };
    let hlen = hdr.slice().len();
    let sport = hdr.source_port();
    let dport = hdr.destination_port();
    let seq = hdr.sequence_number();
    let ackn = hdr.acknowledgment_number();
    let flags = read_be(cx.data, offset + field::OFF_FLAGS.start, 2, 0x0fff) as u16;
    let fl8 = (flags & 0xff) as u8;
    let window = hdr.window_size();
    let payload_len = end - offset - hlen;
    if cx.routing {
        if !cx.inner {
            cx.flow = Some(super::conv::flow_hash(endpoint(net, true, sport), endpoint(net, false, dport)));
        }
        return end;
    }

    let layer = cx.begin_layer(&TCP, offset);
    cx.add(0, &SRCPORT, Value::U(sport.into()), offset, 2);
    cx.add(0, &DSTPORT, Value::U(dport.into()), offset + 2, 2);

    // The window scale option feeds the analysis before options are recorded.
    let wscale = if fl8 & fl::SYN != 0 { find_wscale(&bytes[field::OPTIONS..hlen]) } else { None };
    let (sack, sack_count) = find_sack(&bytes[field::OPTIONS..hlen]);

    let verdict = if cx.inner {
        None
    } else {
        let seg = Segment {
            src: endpoint(net, true, sport),
            dst: endpoint(net, false, dport),
            seq,
            ack: ackn,
            flags: fl8,
            window,
            len: payload_len as u32,
            wscale,
            time: cx.out.meta.ts_sec.saturating_mul(1_000_000_000).saturating_add(i64::from(cx.out.meta.ts_nsec)),
            frame: cx.out.meta.number,
            sack,
            sack_count,
        };
        Some(cx.conv.tcp(&seg))
    };
    let v = verdict.unwrap_or_default();
    if verdict.is_some() {
        cx.add(0, &STREAM, Value::U(v.stream.into()), offset, 0);
        if let Some(c) = v.client {
            cx.add(0, &FROM_CLIENT, Value::Bool(v.dir == c), offset, 0);
        }
        cx.add(0, &LEN, Value::U(payload_len as u64), offset, 0);
    }
    cx.add(0, &SEQ, Value::U(v.rel_seq.into()), offset + field::SEQ.start, 4);
    cx.add(0, &SEQ_RAW, Value::U(seq.into()), offset + field::SEQ.start, 4);
    if verdict.is_some() {
        cx.add(0, &NXTSEQ, Value::U(v.next_seq.into()), offset, 0);
    }
    cx.add(0, &ACK, Value::U(v.rel_ack.into()), offset + field::ACK.start, 4);
    cx.add(0, &ACK_RAW, Value::U(ackn.into()), offset + field::ACK.start, 4);
    let of = offset + field::OFF_FLAGS.start;
    cx.add(0, &HDR_LEN, Value::U(hlen as u64), of, 1);
    cx.uint(0, &FLAGS, of, 2);
    for def in [
        &FLAGS_RES,
        &FLAGS_AE,
        &FLAGS_CWR,
        &FLAGS_ECE,
        &FLAGS_URG,
        &FLAGS_ACK,
        &FLAGS_PUSH,
        &FLAGS_RESET,
        &FLAGS_SYN,
        &FLAGS_FIN,
    ] {
        cx.flag(1, def, of, 2);
    }
    cx.add(0, &WINDOW_SIZE_VALUE, Value::U(window.into()), offset + field::WINDOW.start, 2);
    if verdict.is_some() {
        cx.add(0, &WINDOW_SIZE, Value::U(v.window), offset + field::WINDOW.start, 0);
        if let Some(m) = v.multiplier {
            cx.add(0, &WINDOW_SCALEFACTOR, Value::I(m), offset + field::WINDOW.start, 0);
        }
    }
    cx.add(0, &CHECKSUM, Value::U(hdr.checksum().into()), offset + field::CHECKSUM.start, 2);
    let whole = end <= cx.data.len() && !net.fragment && !cx.inner;
    let ck = if whole { cx.check(Some((net, 6)), bytes, field::CHECKSUM.start) } else { Check::Unverifiable };
    cx.add(1, &CHECKSUM_STATUS, Value::U(ck.status()), offset + field::CHECKSUM.start, 2);
    cx.add(0, &URGENT_POINTER, Value::U(hdr.urgent_pointer().into()), offset + field::URGENT.start, 2);
    let mut line = TcpLine::default();
    if hlen > field::OPTIONS {
        options(cx, offset + field::OPTIONS, offset + hlen, v.rev_base, &mut line);
    }
    if verdict.is_some() && v.has_analysis() {
        cx.add(0, &ANALYSIS, Value::None, offset, 0);
        if let Some(f) = v.acks_frame {
            cx.add(1, &A_ACKS_FRAME, Value::U(f), offset, 0);
            if v.ack_rtt != 0 {
                cx.add(1, &A_ACK_RTT, Value::F(ns_secs(v.ack_rtt)), offset, 0);
            }
        }
        if let Some(r) = v.initial_rtt.filter(|r| *r != 0) {
            cx.add(1, &A_INITIAL_RTT, Value::F(ns_secs(r)), offset, 0);
        }
        if v.bytes_in_flight > 0 {
            cx.add(1, &A_BYTES_IN_FLIGHT, Value::U(v.bytes_in_flight.into()), offset, 0);
            cx.add(1, &A_PUSH_BYTES_SENT, Value::U(v.push_bytes_sent.unwrap_or(0).into()), offset, 0);
        }
        for a in ANALYSIS_FIELDS {
            if v.analysis & a.bit != 0 {
                cx.add(1, a.field, Value::None, offset, 0);
                if a.bit == an::DUPLICATE_ACK {
                    cx.add(1, &A_DUPLICATE_ACK_NUM, Value::U(v.dup_ack_num.into()), offset, 0);
                }
                cx.note(a.note, offset, hlen, a.message);
            }
        }
    }
    if verdict.is_some() {
        cx.add(0, &TIME_RELATIVE, Value::F(ns_secs(v.time_relative)), offset, 0);
        cx.add(0, &TIME_DELTA, Value::F(ns_secs(v.time_delta)), offset, 0);
    }
    match ck {
        Check::Bad { expected } => cx.note(
            &CHECKSUM_BAD,
            offset + field::CHECKSUM.start,
            2,
            format!("bad checksum 0x{:04x}: it should be 0x{expected:04x}", hdr.checksum()),
        ),
        Check::Partial => cx.note(
            &PARTIAL_CHECKSUM,
            offset + field::CHECKSUM.start,
            2,
            "checksum not finished: the sender's kernel left it for the network card to compute (checksum offload), \
and on loopback no card ever does; this is normal, not an error",
        ),
        _ => {}
    }
    cx.end_layer(layer, hlen);
    if cx.inner {
        return offset + hlen;
    }
    state_notes(cx, offset, hlen, fl8, &v);

    cx.set_protocol("TCP");
    // The info column, kept as numbers (`TcpLine`) and written when read.
    let first = ANALYSIS_FIELDS.iter().find(|a| v.analysis & a.bit != 0);
    cx.out.summary.set_tcp(TcpLine {
        analysis: first.map(|a| a.label),
        dup_ack: first.filter(|a| a.bit == an::DUPLICATE_ACK).map(|_| v.dup_ack_num),
        sport,
        dport,
        flags,
        seq: v.rel_seq,
        ack: (flags & u16::from(fl::ACK) != 0).then_some(v.rel_ack),
        window: v.window,
        len: payload_len as u64,
        ..line
    });

    let pstart = offset + hlen;
    let pend = end.min(cx.data.len());
    if payload_len > 0 && fl8 & fl::RST == 0 {
        let seg = super::app::Segment {
            stream: v.stream,
            dir: v.dir,
            seq,
            ack: (fl8 & fl::ACK != 0).then_some(ackn),
            payload: pstart..pend.max(pstart),
            len: payload_len,
            client: v.client,
            ports: (sport, dport),
        };
        super::app::segment(cx, &seg);
    } else if pend > pstart {
        data::bytes(cx, pstart, pend);
    }
    end
}

/// Teaching notes about the connection's life: the handshake and teardown.
fn state_notes(cx: &mut Cx<'_>, offset: usize, hlen: usize, f: u8, v: &super::conv::TcpVerdict) {
    let syn = f & fl::SYN != 0;
    let ack = f & fl::ACK != 0;
    let msg: Option<(&'static NoteDef, &'static str)> = if f & fl::RST != 0 {
        Some((
            &CONNECTION_RST,
            "RST: the connection is aborted at once (no program listens on the port, or one side gave up)",
        ))
    } else if syn && !ack {
        Some((
            &CONNECTION_SYN,
            "handshake 1/3 (SYN): the client asks to open a connection and announces its initial sequence number",
        ))
    } else if syn && ack {
        Some((
            &CONNECTION_SYNACK,
            "handshake 2/3 (SYN, ACK): the server accepts, acknowledges the client's SYN and announces its own initial sequence number",
        ))
    } else if v.state_before == TcpState::SynReceived && v.state == TcpState::Established {
        Some((
            &HANDSHAKE_ACK,
            "handshake 3/3 (ACK): the client acknowledges the server's SYN; the connection is established",
        ))
    } else if f & fl::FIN != 0 {
        Some((
            &CONNECTION_FIN,
            "FIN: this side has finished sending; the other direction stays open until it sends its own FIN",
        ))
    } else {
        None
    };
    if let Some((def, m)) = msg {
        cx.note(def, offset, hlen, m);
    }
    // The connection's own messages: opened (after the third handshake
    // segment), each side's FIN, a RST.
    let n = cx.out.meta.number;
    let opened = v.state_before == TcpState::SynReceived && v.state == TcpState::Established;
    let message: Option<(MsgKind, &str, smallvec::SmallVec<[u64; 4]>)> = if cx.inner {
        None
    } else if f & fl::RST != 0 {
        Some((MsgKind::TcpReset, "RST: the connection is aborted", smallvec::smallvec![n]))
    } else if opened {
        let hs = cx.conv.tcp.get(v.stream as usize).map(|s| s.handshake_frames).unwrap_or_default();
        Some((
            MsgKind::TcpOpen,
            "SYN, SYN-ACK, ACK: the connection is open",
            hs.into_iter().filter(|x| *x != 0).chain([n]).collect(),
        ))
    } else if f & fl::FIN != 0 {
        Some((MsgKind::TcpClose, "FIN: this side has finished sending", smallvec::smallvec![n]))
    } else {
        None
    };
    if let Some((kind, text, frames)) = message {
        let time = cx.out.meta.time_f64();
        cx.out.events.push(AppEvent {
            stream: v.stream,
            from_client: v.client.map(|c| c == v.dir),
            kind,
            text: text.to_string(),
            frames,
            time,
            nsp: None,
            ack_id: None,
            sid: None,
            link: None,
        });
    }
    started_before_capture(cx, offset, hlen, v);
}

/// The note for a connection that began before the capture.
fn started_before_capture(cx: &mut Cx<'_>, offset: usize, hlen: usize, v: &super::conv::TcpVerdict) {
    if v.state_before == TcpState::Unknown
        && v.state == TcpState::Unknown
        && cx.conv.tcp.get(v.stream as usize).is_some_and(|s| s.first_frame == cx.out.meta.number)
    {
        cx.note(
            &STARTED_BEFORE_CAPTURE,
            offset,
            hlen,
            "first segment seen of this connection, which began before the capture: sequence numbers are relative to this segment",
        );
    }
}

/// Walks the options TLVs (RFC 9293 §3.2). etherparse's iterator stops at an
/// unknown kind and does not report offsets, so the walk is ours.
fn options(cx: &mut Cx<'_>, start: usize, end: usize, rev_base: u32, summary: &mut TcpLine) {
    cx.add(0, &OPTIONS, Value::Bytes, start, end - start);
    let d = 1;
    let mut at = start;
    while at < end {
        let kind = cx.data[at];
        match kind {
            0 => {
                cx.add(d, &OPT_EOL, Value::Bytes, at, end - at);
                cx.uint(d + 1, &OPTION_KIND, at, 1);
                break;
            }
            1 => {
                cx.add(d, &OPT_NOP, Value::Bytes, at, 1);
                cx.uint(d + 1, &OPTION_KIND, at, 1);
                at += 1;
                continue;
            }
            _ => {}
        }
        let len = cx.data.get(at + 1).copied().map(usize::from).unwrap_or(0);
        if at + 1 >= end || len < 2 || at + len > end {
            cx.add(d, &OPT_UNKNOWN, Value::Bytes, at, end - at);
            cx.uint(d + 1, &OPTION_KIND, at, 1);
            cx.note(
                &OPTION_LEN_INVALID,
                at,
                end - at,
                format!("option kind {kind} has a bad length {len}: the rest of the options is unreadable"),
            );
            break;
        }
        let (node, ok_len): (&'static FieldDef, bool) = match kind {
            2 => (&OPT_MSS, len == 4),
            3 => (&OPT_WSCALE, len == 3),
            4 => (&OPT_SACK_PERM, len == 2),
            5 => (&OPT_SACK, len >= 10 && (len - 2) % 8 == 0),
            8 => (&OPT_TIMESTAMP, len == 10),
            _ => (&OPT_UNKNOWN, true),
        };
        cx.add(d, node, Value::Bytes, at, len);
        cx.uint(d + 1, &OPTION_KIND, at, 1);
        cx.uint(d + 1, &OPTION_LEN, at + 1, 1);
        if !ok_len {
            cx.note(
                &OPTION_LEN_INVALID,
                at,
                len,
                format!("option kind {kind} with length {len}, which is wrong for that option"),
            );
            at += len;
            continue;
        }
        match kind {
            2 => {
                summary.mss = Some(cx.uint(d + 1, &OPT_MSS_VAL, at + 2, 2));
            }
            3 => {
                let s = cx.uint(d + 1, &OPT_WSCALE_SHIFT, at + 2, 1);
                cx.add(d + 1, &OPT_WSCALE_MULT, Value::U(1 << s.min(14)), at + 2, 1);
                summary.ws = Some(1u64 << s.min(14));
            }
            4 => summary.sack_perm = true,
            5 => {
                let mut b = at + 2;
                // Edges are relative to the other side's sequence numbers.
                while b + 8 <= at + len {
                    let le = (read_be(cx.data, b, 4, 0) as u32).wrapping_sub(rev_base);
                    let re = (read_be(cx.data, b + 4, 4, 0) as u32).wrapping_sub(rev_base);
                    cx.add(d + 1, &OPT_SACK_LE, Value::U(le.into()), b, 4);
                    cx.add(d + 1, &OPT_SACK_RE, Value::U(re.into()), b + 4, 4);
                    b += 8;
                }
            }
            8 => {
                let v = cx.uint(d + 1, &OPT_TSVAL, at + 2, 4);
                let e = cx.uint(d + 1, &OPT_TSECR, at + 6, 4);
                summary.ts = Some((v, e));
            }
            _ => {
                if len > 2 {
                    cx.add(d + 1, &OPT_UNKNOWN, Value::Bytes, at + 2, len - 2);
                }
            }
        }
        at += len;
    }
}

/// The window scale shift in a SYN's options, if announced.
/// Nanoseconds as seconds.
fn ns_secs(ns: i64) -> f64 {
    ns as f64 / 1e9
}

/// The first three SACK blocks of a segment's options, for the analysis.
fn find_sack(opts: &[u8]) -> ([(u32, u32); 3], u8) {
    let mut out = ([(0, 0); 3], 0u8);
    let mut at = 0;
    while let Some(&kind) = opts.get(at) {
        match kind {
            0 => break,
            1 => at += 1,
            _ => {
                let Some(len) = opts.get(at + 1).map(|l| usize::from(*l)).filter(|l| *l >= 2) else { break };
                if kind == 5 {
                    let edge = |i: usize| opts.get(i..i + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                    let mut i = at + 2;
                    while i + 8 <= at + len && usize::from(out.1) < 3 {
                        let (Some(l), Some(r)) = (edge(i), edge(i + 4)) else { break };
                        out.0[usize::from(out.1)] = (l, r);
                        out.1 += 1;
                        i += 8;
                    }
                }
                at += len;
            }
        }
    }
    out
}

fn find_wscale(opts: &[u8]) -> Option<u8> {
    let mut at = 0;
    while let Some(&kind) = opts.get(at) {
        match kind {
            0 => return None,
            1 => at += 1,
            _ => {
                let len = usize::from(*opts.get(at + 1)?);
                if len < 2 {
                    return None;
                }
                if kind == 3 && len == 3 {
                    return opts.get(at + 2).copied();
                }
                at += len;
            }
        }
    }
    None
}
