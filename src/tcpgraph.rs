//! The graphs of one TCP connection, one direction (the sender's), read
//! from the fields the dissector computed, as Wireshark's Stream Graphs
//! draw them: the time-sequence graph in tcptrace style (each segment a bar
//! from its first sequence number to its last, the other side's ACK and
//! receive window as lines, SACK blocks), throughput, the round trip of
//! each acknowledged segment, and bytes in flight against the window.
//! Every point keeps its frame, so a click selects it; the front end draws
//! only frames up to a replay's cursor.

use crate::model::Dissection;
use crate::session::Session;

/// One segment the sender sent (relative sequence numbers, as `tcp.seq`).
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub frame: u64,
    /// Seconds since the connection's first frame (`tcp.time_relative`).
    pub t: f64,
    pub seq: u64,
    /// Its data bytes (`tcp.len`); a SYN or FIN alone has none.
    pub len: u64,
    /// Wireshark calls it a (fast or spurious) retransmission.
    pub retransmitted: bool,
    /// Bytes in flight after it (`tcp.analysis.bytes_in_flight`).
    pub in_flight: Option<u64>,
}

/// One segment from the receiver: what it acknowledges and offers.
#[derive(Clone, Debug, PartialEq)]
pub struct Ack {
    pub frame: u64,
    pub t: f64,
    /// The next byte it expects (`tcp.ack`), relative to the sender's first.
    pub ack: u64,
    /// Its receive window, scaled (`tcp.window_size`).
    pub window: u64,
    /// Blocks it holds beyond `ack` (`tcp.options.sack_le`, `sack_re`).
    pub sacks: Vec<(u64, u64)>,
    /// The segment this ACK acknowledges whole, and how long it took, seconds.
    pub acks_frame: Option<u64>,
    pub rtt: Option<f64>,
}

/// One direction of one connection.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    pub stream: u32,
    /// The sender's and the receiver's port.
    pub ports: (u16, u16),
    pub segments: Vec<Segment>,
    pub acks: Vec<Ack>,
}

/// The graphs of a connection, as lab files name them (the window draws each).
pub const GRAPHS: [&str; 4] = ["time-sequence", "throughput", "round-trip", "window"];

fn num(d: &Dissection, name: &str) -> Option<u64> {
    d.field(name).and_then(|f| f.value.as_u64())
}

fn secs(d: &Dissection, name: &str) -> Option<f64> {
    d.field(name)?.value.as_f64()
}

/// The stream and the sender's and receiver's ports for a selected frame:
/// its own direction when it carries data or opens the connection (the
/// client's first SYN), else the other one (an ACK's graph is the data it
/// acknowledges).
pub fn direction_of(d: &Dissection) -> Option<(u32, (u16, u16))> {
    let stream = num(d, "tcp.stream")? as u32;
    let (src, dst) = (num(d, "tcp.srcport")? as u16, num(d, "tcp.dstport")? as u16);
    let opens = num(d, "tcp.flags.syn") == Some(1) && num(d, "tcp.flags.ack") == Some(0);
    Some((stream, if opens || num(d, "tcp.len").unwrap_or(0) > 0 { (src, dst) } else { (dst, src) }))
}

/// The graph of `stream` as sent from port `ports.0` to `ports.1`.
pub fn build(s: &Session, stream: u32, ports: (u16, u16)) -> Graph {
    let mut g = Graph { stream, ports, ..Graph::default() };
    s.scan(|d, _| {
        if num(d, "tcp.stream") != Some(u64::from(stream)) {
            return;
        }
        let (src, dst) = (num(d, "tcp.srcport").unwrap_or(0) as u16, num(d, "tcp.dstport").unwrap_or(0) as u16);
        let frame = d.meta.number;
        let t = secs(d, "tcp.time_relative").unwrap_or(0.0);
        if (src, dst) == ports {
            let retransmitted = [
                "tcp.analysis.retransmission",
                "tcp.analysis.fast_retransmission",
                "tcp.analysis.spurious_retransmission",
            ]
            .iter()
            .any(|f| d.field(f).is_some());
            g.segments.push(Segment {
                frame,
                t,
                seq: num(d, "tcp.seq").unwrap_or(0),
                len: num(d, "tcp.len").unwrap_or(0),
                retransmitted,
                in_flight: num(d, "tcp.analysis.bytes_in_flight"),
            });
        } else if (dst, src) == ports && d.field("tcp.flags.ack").and_then(|f| f.value.as_u64()) == Some(1) {
            let le: Vec<u64> = d.fields_named("tcp.options.sack_le").filter_map(|f| f.value.as_u64()).collect();
            let re: Vec<u64> = d.fields_named("tcp.options.sack_re").filter_map(|f| f.value.as_u64()).collect();
            g.acks.push(Ack {
                frame,
                t,
                ack: num(d, "tcp.ack").unwrap_or(0),
                window: num(d, "tcp.window_size").unwrap_or(0),
                sacks: le.into_iter().zip(re).collect(),
                acks_frame: num(d, "tcp.analysis.acks_frame"),
                rtt: secs(d, "tcp.analysis.ack_rtt"),
            });
        }
    });
    g
}

impl Graph {
    /// Data bytes per second the sender put on the wire, in `bins` equal
    /// slices of its time (`(middle of the slice, bytes/s)`); retransmitted
    /// bytes count, as on the wire.
    pub fn throughput(&self, bins: usize) -> Vec<(f64, f64)> {
        let data: Vec<&Segment> = self.segments.iter().filter(|s| s.len > 0).collect();
        let (Some(first), Some(last)) = (data.first(), data.last()) else { return Vec::new() };
        let bins = bins.max(1);
        let span = (last.t - first.t).max(1e-6);
        let w = span / bins as f64;
        let mut bytes = vec![0u64; bins];
        for s in &data {
            bytes[(((s.t - first.t) / w) as usize).min(bins - 1)] += s.len;
        }
        bytes.iter().enumerate().map(|(k, b)| (first.t + (k as f64 + 0.5) * w, *b as f64 / w)).collect()
    }

    /// The largest bytes in flight from the sender.
    pub fn max_in_flight(&self) -> Option<u64> {
        self.segments.iter().filter_map(|s| s.in_flight).max()
    }

    /// The round trip of each acknowledged segment: `(ACK frame, acked
    /// frame, time of the ACK, seconds)`.
    pub fn rtts(&self) -> impl Iterator<Item = (u64, u64, f64, f64)> + '_ {
        self.acks.iter().filter_map(|a| Some((a.frame, a.acks_frame?, a.t, a.rtt?)))
    }

    /// Only what happened up to frame `last` (a replay's cursor).
    pub fn until(&self, last: u64) -> Graph {
        Graph {
            stream: self.stream,
            ports: self.ports,
            segments: self.segments.iter().filter(|s| s.frame <= last).cloned().collect(),
            acks: self.acks.iter().filter(|a| a.frame <= last).cloned().collect(),
        }
    }
}
