//! Conversations: which TCP connection or UDP flow a segment belongs to, and
//! TCP sequence analysis (relative numbers, retransmissions, lost segments,
//! duplicate ACKs, window problems), in the manner of Wireshark's.
//!
//! The state is built in capture order: analysing frame N uses what frames
//! 1..N-1 taught us, as Wireshark's first pass does.

use rustc_hash::FxHashMap as HashMap;

/// One side of a connection: address (IPv4 in the first 4 bytes) and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub addr: [u8; 16],
    pub is_v6: bool,
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_v6 {
            write!(f, "[{}]:{}", std::net::Ipv6Addr::from(self.addr), self.port)
        } else {
            let a: [u8; 4] = [self.addr[0], self.addr[1], self.addr[2], self.addr[3]];
            write!(f, "{}:{}", std::net::Ipv4Addr::from(a), self.port)
        }
    }
}

/// A key that is the same for both directions.
fn key(a: Endpoint, b: Endpoint) -> (Endpoint, Endpoint) {
    if a <= b { (a, b) } else { (b, a) }
}

/// A hash of a conversation's two endpoints, the same in either direction:
/// which conversation a frame belongs to ([`super::Dissector::flow`]).
pub fn flow_hash(a: Endpoint, b: Endpoint) -> u64 {
    let (a, b) = key(a, b);
    let mut h = 0u64;
    for e in [a, b] {
        let [lo, hi] = [&e.addr[..8], &e.addr[8..]].map(|w| u64::from_le_bytes(w.try_into().unwrap_or_default()));
        for w in [lo, hi, u64::from(e.port) | u64::from(e.is_v6) << 16] {
            // FxHash's step: one multiply a word.
            h = (h.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    h
}

pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// Sequence-analysis findings for one segment (bits).
pub mod analysis {
    pub const RETRANSMISSION: u16 = 1 << 0;
    pub const FAST_RETRANSMISSION: u16 = 1 << 1;
    pub const SPURIOUS_RETRANSMISSION: u16 = 1 << 2;
    pub const OUT_OF_ORDER: u16 = 1 << 3;
    pub const LOST_SEGMENT: u16 = 1 << 4;
    pub const DUPLICATE_ACK: u16 = 1 << 5;
    pub const ZERO_WINDOW: u16 = 1 << 6;
    pub const WINDOW_UPDATE: u16 = 1 << 7;
    pub const KEEP_ALIVE: u16 = 1 << 8;
    pub const ACKED_UNSEEN: u16 = 1 << 9;
    pub const WINDOW_FULL: u16 = 1 << 10;
}

/// Where a connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TcpState {
    /// Seen mid-way: the handshake was not captured.
    #[default]
    Unknown,
    SynSent,
    SynReceived,
    Established,
    /// One side sent FIN.
    Closing,
    /// Both sides sent FIN.
    Closed,
    Reset,
}

#[derive(Clone, Debug, Default)]
pub struct Flow {
    pub base_seq: Option<u32>,
    /// Next expected sequence number (absolute), once known.
    pub next_seq: Option<u32>,
    pub last_ack: Option<u32>,
    pub window: Option<u16>,
    /// Window scale shift this side announced in its SYN.
    pub wscale: Option<u8>,
    pub syn_seen: bool,
    pub fin_seen: bool,
    /// Duplicate ACKs this side sent in a row (Wireshark's `dupacknum`).
    pub dup_acks: u32,
    /// The highest sequence number up to which this side's data is
    /// contiguous (Wireshark's `maxseqtobeacked`).
    pub max_seq_to_be_acked: Option<u32>,
    /// Time of this side's last segment (Wireshark's `lastacktime`), ns.
    pub last_time: i64,
    /// When `next_seq` last advanced (Wireshark's `nextseqtime`), ns.
    pub next_seq_time: i64,
    /// The last window this side sent came in a SYN (never scaled).
    pub window_in_syn: bool,
    pub bytes: u64,
    pub segments: u64,
    /// This side's segments not yet acknowledged (SYN, FIN and data, as
    /// Wireshark keeps them: retransmissions too), oldest first.
    unacked: Vec<Unacked>,
    /// Bytes sent since the last segment with PSH (Wireshark's
    /// `push_bytes_sent`), and whether the last segment had PSH.
    push_bytes: u32,
    push_last: bool,
    /// The other side has acknowledged something: what is in flight from
    /// this side can be told (Wireshark's `valid_bif`).
    acked: bool,
    /// The SACK blocks of this side's latest segment that carried any
    /// (Wireshark keeps three), as (left, right) edges.
    sack: [(u32, u32); 3],
    sack_count: u8,
}

/// One segment waiting for its acknowledgment.
#[derive(Clone, Copy, Debug)]
struct Unacked {
    frame: u64,
    seq: u32,
    /// The sequence number after it (SYN and FIN count one).
    next: u32,
    time: i64,
}

/// At most this many unacknowledged segments are kept per side (a capture
/// that misses the other side's ACKs would otherwise grow without end).
const MAX_UNACKED: usize = 10_000;

#[derive(Clone, Debug)]
pub struct TcpStream {
    pub index: u32,
    /// `ends[0]` sent the first segment seen (the client, when the SYN was captured).
    pub ends: [Endpoint; 2],
    pub flows: [Flow; 2],
    pub state: TcpState,
    /// Both SYNs seen: window scaling is known.
    pub first_frame: u64,
    pub last_frame: u64,
    /// Round-trip time measured on the handshake, nanoseconds.
    pub handshake_rtt: Option<i64>,
    /// Wireshark's iRTT: from the SYN to the ACK that completes the handshake, ns.
    pub initial_rtt: Option<i64>,
    /// Which end sent the SYN (0 or 1), when it was captured.
    pub client: Option<u8>,
    /// Frames of the latest SYN and SYN-ACK (0: not seen), for the "open" message.
    pub handshake_frames: [u64; 2],
    syn_time: i64,
    /// Times of the stream's first frame and of its latest one, ns.
    first_time: i64,
    prev_time: i64,
}

#[derive(Clone, Debug)]
pub struct UdpStream {
    pub index: u32,
    pub ends: [Endpoint; 2],
    pub datagrams: [u64; 2],
    pub bytes: [u64; 2],
    pub first_frame: u64,
    pub last_frame: u64,
}

/// What the analysis says about one TCP segment.
#[derive(Clone, Copy, Debug, Default)]
pub struct TcpVerdict {
    pub stream: u32,
    /// 0: from `ends[0]`; 1: from `ends[1]`.
    pub dir: u8,
    pub rel_seq: u32,
    pub rel_ack: u32,
    pub next_seq: u32,
    /// The window in bytes (scaled), and the multiplier if known.
    pub window: u64,
    pub multiplier: Option<i64>,
    pub analysis: u16,
    pub dup_ack_num: u32,
    /// Relative base for the reverse flow (SACK blocks acknowledge it).
    pub rev_base: u32,
    pub state_before: TcpState,
    pub state: TcpState,
    /// Which direction is the client's, when the SYN was captured.
    pub client: Option<u8>,
    /// Since the stream's first frame, and since its previous one, ns.
    pub time_relative: i64,
    pub time_delta: i64,
    /// The handshake's round trip (SYN to the ACK that completes it), ns.
    pub initial_rtt: Option<i64>,
    /// The frame of the segment this one acknowledges (the whole of it), and
    /// how long that took, ns.
    pub acks_frame: Option<u64>,
    pub ack_rtt: i64,
    /// Bytes this side has sent and not yet had acknowledged, after this
    /// segment (less what the other side's SACK blocks say arrived); the
    /// bytes sent since the last PSH.
    pub bytes_in_flight: u32,
    pub push_bytes_sent: Option<u32>,
}

impl TcpVerdict {
    /// Wireshark shows a segment's SEQ/ACK analysis, and the handshake's
    /// round trip in it, when it has something to say about the segment.
    pub fn has_analysis(&self) -> bool {
        self.analysis != 0 || self.acks_frame.is_some() || self.push_bytes_sent.is_some()
    }
}

/// What a TCP segment looks like to the analysis.
#[derive(Clone, Copy, Debug)]
pub struct Segment {
    pub src: Endpoint,
    pub dst: Endpoint,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub len: u32,
    pub wscale: Option<u8>,
    /// Capture time in nanoseconds since the epoch: exact, as Wireshark
    /// compares times (an f64 of epoch seconds is off by hundreds of ns,
    /// and the out-of-order test compares gaps of tens of µs on loopback).
    pub time: i64,
    pub frame: u64,
    /// Its SACK blocks (the first three), as (left, right) edges.
    pub sack: [(u32, u32); 3],
    pub sack_count: u8,
}

/// All conversations of a capture.
#[derive(Clone, Default)]
pub struct Conversations {
    tcp_index: HashMap<(Endpoint, Endpoint), u32>,
    pub tcp: Vec<TcpStream>,
    udp_index: HashMap<(Endpoint, Endpoint), u32>,
    pub udp: Vec<UdpStream>,
}

impl Conversations {
    /// Heap bytes held, roughly (for the session's checkpoint budget).
    pub fn heap_bytes(&self) -> usize {
        let key = std::mem::size_of::<(Endpoint, Endpoint)>() + 8;
        self.tcp.capacity() * std::mem::size_of::<TcpStream>()
            + self.udp.capacity() * std::mem::size_of::<UdpStream>()
            + (self.tcp_index.capacity() + self.udp_index.capacity()) * key
    }
}

fn gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}
fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl Conversations {
    /// The UDP flow index for a datagram.
    pub fn udp(&mut self, src: Endpoint, dst: Endpoint, len: u64, frame: u64) -> (u32, u8) {
        let k = key(src, dst);
        let next = self.udp.len() as u32;
        let idx = *self.udp_index.entry(k).or_insert(next);
        if idx == next {
            self.udp.push(UdpStream {
                index: idx,
                ends: [src, dst],
                datagrams: [0; 2],
                bytes: [0; 2],
                first_frame: frame,
                last_frame: frame,
            });
        }
        let s = &mut self.udp[idx as usize];
        let dir = usize::from(s.ends[0] != src);
        s.datagrams[dir] += 1;
        s.bytes[dir] += len;
        s.last_frame = frame;
        (idx, dir as u8)
    }

    /// Analyses a TCP segment and updates the connection.
    pub fn tcp(&mut self, seg: &Segment) -> TcpVerdict {
        let k = key(seg.src, seg.dst);
        let syn_only = seg.flags & (flags::SYN | flags::ACK) == flags::SYN;
        let mut idx = self.tcp_index.get(&k).copied();
        if let (Some(i), true) = (idx, syn_only) {
            // A SYN whose initial sequence number differs from the one this
            // side used before starts a new stream (the port pair was
            // reused); the same SYN again is a retransmission, as Wireshark
            // decides.
            let s = &self.tcp[i as usize];
            let dir = usize::from(s.ends[0] != seg.src);
            let reused = s.flows[dir].base_seq.is_some_and(|b| b != seg.seq);
            if reused {
                idx = None;
            }
        }
        let idx = match idx {
            Some(i) => i,
            None => {
                let i = self.tcp.len() as u32;
                self.tcp.push(TcpStream {
                    index: i,
                    ends: [seg.src, seg.dst],
                    flows: [Flow::default(), Flow::default()],
                    state: TcpState::Unknown,
                    first_frame: seg.frame,
                    last_frame: seg.frame,
                    handshake_rtt: None,
                    initial_rtt: None,
                    client: None,
                    handshake_frames: [0, 0],
                    syn_time: seg.time,
                    first_time: seg.time,
                    prev_time: seg.time,
                });
                self.tcp_index.insert(k, i);
                i
            }
        };
        let s = &mut self.tcp[idx as usize];
        s.last_frame = seg.frame;
        let (time_relative, time_delta) = (seg.time - s.first_time, seg.time - s.prev_time);
        s.prev_time = seg.time;
        let dir = usize::from(s.ends[0] != seg.src);
        let (fwd, rev) = flows_mut(&mut s.flows, dir);
        let fl = seg.flags;
        let syn = fl & flags::SYN != 0;
        let fin = fl & flags::FIN != 0;
        let rst = fl & flags::RST != 0;
        let ack = fl & flags::ACK != 0;

        // Relative bases: the ISN when the SYN was seen, else one before the
        // first number seen (so the first byte is 1), as Wireshark does.
        if syn {
            if !fwd.syn_seen || fwd.base_seq.is_none() {
                fwd.base_seq = Some(seg.seq);
            }
            fwd.syn_seen = true;
            fwd.wscale = seg.wscale;
        } else if fwd.base_seq.is_none() {
            fwd.base_seq = Some(seg.seq.wrapping_sub(1));
        }
        if ack && rev.base_seq.is_none() {
            rev.base_seq = Some(seg.ack.wrapping_sub(1));
        }
        let base = fwd.base_seq.unwrap_or(0);
        let rev_base = rev.base_seq.unwrap_or(0);
        let seglen = seg.len + u32::from(syn) + u32::from(fin);

        let mut a = 0u16;
        let mut dup_num = 0;
        let nominal = !(syn || fin || rst);
        if seg.window == 0 && nominal {
            a |= analysis::ZERO_WINDOW;
        }
        // Wireshark's tcp_analyze_sequence_number, rule by rule (so that a
        // student comparing the two tools sees the same flags).
        if let Some(next) = fwd.next_seq {
            if gt(seg.seq, next) && !rst {
                a |= analysis::LOST_SEGMENT;
                // What is in flight is unknown until the other side
                // acknowledges again.
                fwd.acked = false;
            }
            let keep_alive = seglen <= 1 && nominal && seg.seq == next.wrapping_sub(1);
            if keep_alive {
                a |= analysis::KEEP_ALIVE;
            }
            let same_ack = ack && fwd.last_ack == Some(seg.ack);
            if seglen == 0 && nominal && seg.seq == next && same_ack && seg.window != 0 {
                if fwd.window.is_some_and(|w| w != seg.window) {
                    a |= analysis::WINDOW_UPDATE;
                } else if fwd.window == Some(seg.window) {
                    a |= analysis::DUPLICATE_ACK;
                    fwd.dup_acks += 1;
                    dup_num = fwd.dup_acks;
                }
            }
        }
        // Window full: the data reaches exactly the edge of the window the
        // other side last offered (known once both SYNs said how to scale it).
        if seg.len > 0 && nominal && s.flows[0].syn_seen && s.flows[1].syn_seen {
            let (fwd, rev) = (&s.flows[dir], &s.flows[1 - dir]);
            let shift = match (fwd.wscale, rev.wscale) {
                (Some(_), Some(r)) if !rev.window_in_syn => u32::from(r.min(14)),
                _ => 0,
            };
            if let (Some(la), Some(w)) = (rev.last_ack, rev.window)
                && seg.seq.wrapping_add(seg.len) == la.wrapping_add(u32::from(w) << shift)
            {
                a |= analysis::WINDOW_FULL;
            }
        }
        let (fwd, rev) = flows_mut(&mut s.flows, dir);
        if let Some(next) = fwd.next_seq
            && (seglen > 0)
            && a & analysis::KEEP_ALIVE == 0
        {
            // Not "not advanced" when it starts one byte early but adds data
            // (after a zero-window probe).
            let not_advanced = lt(seg.seq, next) && !(seg.len > 1 && next.wrapping_sub(1) == seg.seq);
            let ooo_threshold = s.initial_rtt.filter(|r| *r > 0).unwrap_or(3_000_000);
            if seg.len > 0 && rev.last_ack.is_some_and(|ra| !gt(seg.seq.wrapping_add(seg.len), ra)) {
                // Every byte was already acknowledged. Wireshark shows these
                // as retransmissions too.
                a |= analysis::SPURIOUS_RETRANSMISSION | analysis::RETRANSMISSION;
            } else if not_advanced
                && rev.dup_acks >= 2
                && rev.last_ack == Some(seg.seq)
                && (0..20_000_000).contains(&(seg.time - rev.last_time))
            {
                a |= analysis::FAST_RETRANSMISSION | analysis::RETRANSMISSION;
            } else if not_advanced
                // Wireshark's time difference is unsigned: a frame stamped
                // earlier (another interface's clock) is never "close".
                && (0..ooo_threshold).contains(&(seg.time - fwd.next_seq_time))
                && next != seg.seq.wrapping_add(seglen)
            {
                a |= analysis::OUT_OF_ORDER;
            } else if not_advanced {
                a |= analysis::RETRANSMISSION;
            }
        }
        // A new acknowledgment number restarts the duplicate count.
        if fwd.last_ack != Some(seg.ack) && a & analysis::DUPLICATE_ACK == 0 {
            fwd.dup_acks = 0;
        }
        // ACKed unseen segment: this acknowledges past the other side's
        // contiguous data (as tshark 4.0 does: each such ACK, until the
        // contiguous data catches up).
        if ack
            && let Some(max) = rev.max_seq_to_be_acked
            && gt(seg.ack, max)
        {
            a |= analysis::ACKED_UNSEEN;
            rev.max_seq_to_be_acked = rev.next_seq;
        }

        // This segment waits for its acknowledgment.
        let end = seg.seq.wrapping_add(seglen);
        if seglen > 0 && fwd.unacked.len() < MAX_UNACKED {
            fwd.unacked.push(Unacked { frame: seg.frame, seq: seg.seq, next: end, time: seg.time });
        }

        // Update the flow.
        if !rst && fwd.next_seq.is_none_or(|n| gt(end, n)) {
            fwd.next_seq = Some(end);
            fwd.next_seq_time = seg.time;
        }
        if fwd.max_seq_to_be_acked.is_none_or(|m| m == seg.seq) {
            fwd.max_seq_to_be_acked = fwd.next_seq;
        }
        if ack {
            fwd.last_ack = Some(seg.ack);
        }
        fwd.window = Some(seg.window);
        fwd.window_in_syn = syn;
        fwd.last_time = seg.time;
        fwd.bytes += u64::from(seg.len);
        fwd.segments += 1;
        if fin {
            fwd.fin_seen = true;
        }
        // What this segment acknowledges of the other side's: the segment it
        // acknowledges whole (the oldest such, when a retransmission sent it
        // again) and its round trip; the rest of a segment it acknowledges
        // in part.
        let mut acks_frame = None;
        let mut ack_rtt = 0;
        if ack {
            rev.acked_by_other(seg.ack, seg.time, &mut acks_frame, &mut ack_rtt);
            rev.acked = true;
        }
        // What is in flight from this side after this segment, and what it
        // sent since the last PSH (Wireshark's default, counted from the
        // unacknowledged segments).
        let mut bytes_in_flight = 0;
        let mut push_bytes_sent = None;
        if seg.len > 0 && fwd.acked && !fwd.unacked.is_empty() {
            let rel = |x: u32| x.wrapping_sub(base);
            let first = fwd.unacked.iter().map(|u| rel(u.seq)).min().unwrap_or(0);
            let last = fwd.unacked.iter().map(|u| rel(u.next)).max().unwrap_or(0);
            let delivered: u32 =
                rev.sack[..usize::from(rev.sack_count)].iter().fold(0, |d, (l, r)| d.wrapping_add(r.wrapping_sub(*l)));
            let in_flight = last.wrapping_sub(first).wrapping_sub(delivered);
            if in_flight > 0 && in_flight < 2_000_000_000 {
                bytes_in_flight = in_flight - u32::from(syn || fin);
            }
            let push = fl & flags::PSH != 0;
            fwd.push_bytes = if fwd.push_last { seg.len } else { fwd.push_bytes.wrapping_add(seg.len) };
            fwd.push_last = push;
            push_bytes_sent = Some(fwd.push_bytes);
        }
        fwd.sack = seg.sack;
        fwd.sack_count = seg.sack_count.min(3);

        // Connection state, for teaching notes.
        let before = s.state;
        s.state = match (before, syn, ack, fin, rst) {
            (_, _, _, _, true) => TcpState::Reset,
            (_, true, false, _, _) => {
                s.syn_time = seg.time;
                s.client = Some(dir as u8);
                s.handshake_frames[0] = seg.frame;
                TcpState::SynSent
            }
            (TcpState::SynSent | TcpState::Unknown, true, true, _, _) => {
                s.handshake_rtt = Some(seg.time - s.syn_time);
                s.handshake_frames[1] = seg.frame;
                TcpState::SynReceived
            }
            (TcpState::SynReceived, false, true, false, _) => TcpState::Established,
            (st, false, _, true, _) => {
                if s.flows[0].fin_seen && s.flows[1].fin_seen {
                    TcpState::Closed
                } else if st == TcpState::Closed {
                    st
                } else {
                    TcpState::Closing
                }
            }
            (st, ..) => st,
        };

        // Wireshark's iRTT: from the latest SYN to the first segment after it
        // that acknowledges without SYN (the handshake's third, or a RST).
        if ack && !syn && s.initial_rtt.is_none() && s.handshake_frames[0] != 0 {
            s.initial_rtt = Some(seg.time - s.syn_time);
        }

        // Window scaling applies once both SYNs announced it (RFC 7323 §2.2);
        // a SYN's own window is never scaled.
        let both_syn = s.flows[0].syn_seen && s.flows[1].syn_seen;
        let fwd = &s.flows[dir];
        let multiplier = if syn {
            None
        } else if both_syn {
            match (s.flows[0].wscale, s.flows[1].wscale) {
                (Some(_), Some(_)) => Some(1i64 << fwd.wscale.unwrap_or(0).min(14)),
                _ => Some(-2),
            }
        } else {
            Some(-1)
        };
        let window = match multiplier {
            Some(m) if m > 0 => u64::from(seg.window) * m as u64,
            _ => u64::from(seg.window),
        };
        TcpVerdict {
            stream: idx,
            dir: dir as u8,
            rel_seq: seg.seq.wrapping_sub(base),
            rel_ack: if ack { seg.ack.wrapping_sub(rev_base) } else { 0 },
            next_seq: end.wrapping_sub(base),
            window,
            multiplier,
            analysis: a,
            dup_ack_num: dup_num,
            rev_base,
            state_before: before,
            state: s.state,
            client: s.client,
            time_relative,
            time_delta,
            initial_rtt: s.initial_rtt,
            acks_frame,
            ack_rtt,
            bytes_in_flight,
            push_bytes_sent,
        }
    }
}

impl Flow {
    /// The other side acknowledged up to `ack` at `time`: the segments it
    /// covers leave the list (the last one it covers exactly gives
    /// `acks_frame` and its round trip, the oldest such when a retransmission
    /// sent the same bytes again); one it covers in part keeps its rest.
    fn acked_by_other(&mut self, ack: u32, time: i64, acks_frame: &mut Option<u64>, rtt: &mut i64) {
        // Newest first, as Wireshark walks its list.
        let mut i = self.unacked.len();
        while i > 0 {
            i -= 1;
            let u = &mut self.unacked[i];
            if ack == u.next {
                *acks_frame = Some(u.frame);
                *rtt = time - u.time;
            } else if gt(ack, u.seq) && !gt(ack, u.next) {
                u.seq = ack;
                continue;
            } else if gt(u.next, ack) {
                continue;
            }
            self.unacked.remove(i);
        }
    }
}

/// The flow in direction `dir` and the reverse one, both mutable.
fn flows_mut(flows: &mut [Flow; 2], dir: usize) -> (&mut Flow, &mut Flow) {
    let [a, b] = flows;
    if dir == 0 { (a, b) } else { (b, a) }
}
