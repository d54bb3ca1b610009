//! The ladder diagram of a conversation: one lane per endpoint (each client
//! socket, the server), time flowing down, one arrow per message, labelled
//! with what it is (Socket.IO event and arguments, Engine.IO type, WebSocket
//! opcode, HTTP method or status, TCP open and close). Built from the
//! session's messages ([`crate::messages`]), so a whole Engine.IO session
//! across its TCP connections (polling, then WebSocket) is one ladder.
//!
//! Three renderings for export — aligned text, a Mermaid `sequenceDiagram`,
//! a standalone SVG — and the model the window draws.

use std::fmt::Write as _;

use crate::model::{Dissection, MsgKind};
use crate::session::Session;

/// How deep the ladder goes: each level shows its own messages and those above.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Level {
    /// Every TCP segment too: each one that is not part of a message (a bare
    /// ACK, data no dissector reads as a message) is an arrow of its own, and
    /// each ACK is linked to the segment it acknowledges
    /// (`tcp.analysis.acks_frame`).
    Segments,
    Tcp,
    Http,
    Websocket,
    Engineio,
    Socketio,
}

impl Level {
    /// The level a kind of message belongs to.
    pub fn of(kind: MsgKind) -> Level {
        use MsgKind::*;
        match kind {
            TcpOpen | TcpClose | TcpReset => Level::Tcp,
            TcpSegment => Level::Segments,
            HttpRequest | HttpResponse => Level::Http,
            WsHandshake | WsText | WsBinary | WsPing | WsPong | WsClose => Level::Websocket,
            EioOpen | EioClose | EioPing | EioPong | EioProbe | EioProbeAnswer | EioUpgrade | EioNoop | EioBinary => {
                Level::Engineio
            }
            // Application messages: always shown.
            SioConnect | SioDisconnect | SioConnectError | SioEvent | SioAck | SioAttachment | DemoRequest
            | DemoReply | RedisCommand | RedisReply | RedisPush => Level::Socketio,
        }
    }
}

/// Which messages a ladder shows.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// Only this TCP connection.
    pub stream: Option<u32>,
    /// Only this Engine.IO session (all its connections).
    pub session: Option<String>,
    /// Only the broadcast a message of this frame belongs to
    /// ([`crate::messages::story`]): every connection it crossed, Redis's
    /// included, whatever the level.
    pub broadcast: Option<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Lane {
    /// "client 127.0.0.1:40050", "server 127.0.0.1:9102".
    pub name: String,
    /// A short name for narrow renderings: C1, C2, S1.
    pub short: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Arrow {
    pub from: usize,
    pub to: usize,
    pub label: String,
    pub kind: MsgKind,
    /// Seconds since the first message shown: when its first frame was
    /// captured, and when the frame that completed it was.
    pub start: f64,
    pub end: f64,
    /// Seconds since the arrow before it.
    pub dt: f64,
    pub frames: Vec<u64>,
    /// Index into the session's messages; none for a segment of its own
    /// ([`Level::Segments`]).
    pub message: Option<usize>,
    /// The arrow this one answers, when it is shown.
    pub answers: Option<usize>,
    /// A frame that carried it was a retransmission.
    pub retransmitted: bool,
    /// At [`Level::Segments`]: the frame whose segment this arrow's ACK
    /// acknowledges (its first frame that acknowledges new data), the round
    /// trip that took, and the arrow that carried that segment when shown.
    pub acks_frame: Option<u64>,
    pub ack_rtt: Option<f64>,
    pub acks: Option<usize>,
}

impl Arrow {
    /// It took time to arrive: several frames over a measurable time (a
    /// message reassembled from segments, a retransmission).
    pub fn slanted(&self) -> bool {
        self.retransmitted || (self.frames.len() > 1 && self.end - self.start > 0.001)
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ladder {
    pub lanes: Vec<Lane>,
    pub arrows: Vec<Arrow>,
    /// It tells one broadcast: lanes in the order the broadcast reaches
    /// them, and each arrow has its hop ([`Ladder::hop`]).
    pub broadcast: bool,
    /// Segments of their own left out past [`MAX_SEGMENTS`].
    pub segments_left_out: usize,
}

/// At most this many segment arrows of their own in one ladder (a bulk
/// transfer has thousands; its TCP graphs show them all).
pub const MAX_SEGMENTS: usize = 3000;

/// What the segments level reads of one TCP frame.
struct Segment {
    frame: u64,
    stream: u32,
    /// "address:port" of its sender.
    src: String,
    time: f64,
    label: String,
    acks_frame: Option<u64>,
    rtt: Option<f64>,
    retransmitted: bool,
}

/// Client and server endpoints of a TCP stream, as "address:port".
fn endpoints(s: &Session, frame: u64, from_client: Option<bool>) -> Option<(String, String)> {
    let mut d = Dissection::default();
    let bytes = s.number(frame, &mut d)?;
    let (a, b) = source_and_destination(&d, bytes)?;
    Some(if from_client == Some(false) { (b, a) } else { (a, b) })
}

/// A TCP frame's source and destination, as "address:port".
fn source_and_destination(d: &Dissection, bytes: &[u8]) -> Option<(String, String)> {
    let text = |names: &[&str]| names.iter().find_map(|n| d.find(bytes, n).map(|f| f.text(64)));
    let ip = |a: &str, b: &str| text(&[a, b]).map(|ip| ip.split(' ').next().unwrap_or_default().to_string());
    let (src, dst) = (ip("ip.src", "ipv6.src")?, ip("ip.dst", "ipv6.dst")?);
    let port = |n: &str| d.find(bytes, n).and_then(|f| f.value().as_u64());
    let (sp, dp) = (port("tcp.srcport")?, port("tcp.dstport")?);
    Some((join(&src, sp), join(&dst, dp)))
}

/// The frame was sent again (Wireshark's retransmission flags).
fn resent(d: &Dissection) -> bool {
    d.field("tcp.analysis.retransmission").is_some() || d.field("tcp.analysis.fast_retransmission").is_some()
}

impl Segment {
    /// What the segments level needs of a TCP frame (none: not TCP over IP).
    fn read(d: &Dissection, bytes: &[u8]) -> Option<Segment> {
        let num = |n: &str| d.field(n).and_then(|f| f.value.as_u64());
        let stream = num("tcp.stream")? as u32;
        let (src, _) = source_and_destination(d, bytes)?;
        Some(Segment {
            frame: d.meta.number,
            stream,
            src,
            time: d.meta.time_f64(),
            label: segment_label(d),
            acks_frame: num("tcp.analysis.acks_frame"),
            rtt: d.field("tcp.analysis.ack_rtt").and_then(|f| f.value.as_f64()),
            retransmitted: resent(d),
        })
    }
}

/// What a segment that is not part of a message is, in a few words.
fn segment_label(d: &Dissection) -> String {
    let num = |n: &str| d.field(n).and_then(|f| f.value.as_u64());
    let has = |n: &str| d.field(n).is_some();
    let flag = |n: &str| num(n) == Some(1);
    let mut parts: Vec<String> = ["syn", "fin", "reset"]
        .iter()
        .filter(|f| flag(&format!("tcp.flags.{f}")))
        .map(|f| if *f == "reset" { "RST".to_string() } else { f.to_uppercase() })
        .collect();
    let len = num("tcp.len").unwrap_or(0);
    if len > 0 {
        parts.push(format!("{len} bytes, seq {}", num("tcp.seq").unwrap_or(0)));
    }
    if resent(d) {
        parts.push("resent".into());
    }
    if let Some(f) = num("tcp.analysis.acks_frame") {
        let rtt = d.field("tcp.analysis.ack_rtt").and_then(|f| f.value.as_f64());
        parts.push(match rtt {
            Some(r) => format!("ACK of frame {f} ({} ms)", ms(r)),
            None => format!("ACK of frame {f}"),
        });
    } else if has("tcp.analysis.duplicate_ack") {
        parts.push(format!("duplicate ACK {}", num("tcp.ack").unwrap_or(0)));
    } else if has("tcp.analysis.zero_window") {
        parts.push("zero window".into());
    } else if has("tcp.analysis.window_update") {
        parts.push(format!("window update {}", num("tcp.window_size").unwrap_or(0)));
    } else if has("tcp.analysis.keep_alive") {
        parts.push("keep-alive".into());
    } else if len == 0 && flag("tcp.flags.ack") && parts.is_empty() {
        parts.push(format!("ACK {}", num("tcp.ack").unwrap_or(0)));
    }
    parts.join(" · ")
}

fn join(ip: &str, port: u64) -> String {
    if ip.contains(':') { format!("[{ip}]:{port}") } else { format!("{ip}:{port}") }
}

/// Builds the ladder of the messages in scope, down to `level`.
pub fn build(s: &Session, scope: &Scope, level: Level) -> Ladder {
    let messages = s.messages();
    // A broadcast: the story of the first message of its frame that has one.
    let story: Option<std::collections::HashSet<usize>> = scope.broadcast.map(|f| {
        (0..messages.len())
            .filter(|&i| messages[i].event.frames.contains(&f))
            .map(|i| crate::messages::story(messages, i))
            .find(|st| !st.is_empty())
            .unwrap_or_default()
            .into_iter()
            .collect()
    });
    let mut lanes: Vec<Lane> = Vec::new();
    let mut lane_of = |name: String, server: bool| -> usize {
        if let Some(i) = lanes.iter().position(|l| l.name == name) {
            return i;
        }
        let n = lanes.iter().filter(|l| l.short.starts_with(if server { 'S' } else { 'C' })).count() + 1;
        lanes.push(Lane { short: format!("{}{n}", if server { 'S' } else { 'C' }), name });
        lanes.len() - 1
    };
    let mut stream_lanes: std::collections::HashMap<u32, (usize, usize)> = Default::default();
    let mut shown_of_message: std::collections::HashMap<usize, usize> = Default::default();
    // One pass over the capture: the frames sent again and, for the
    // segments level, what it needs of every TCP frame of the streams in
    // scope (a ladder of one stream reads no other stream's segments).
    let segments_level = level == Level::Segments && story.is_none();
    let mut retransmissions = std::collections::HashSet::new();
    let mut tcp_frames: Vec<Segment> = Vec::new();
    s.scan(|d, b| {
        if resent(d) {
            retransmissions.insert(d.meta.number);
        }
        let in_scope = || {
            scope.stream.is_none_or(|st| d.field("tcp.stream").and_then(|f| f.value.as_u64()) == Some(u64::from(st)))
        };
        if segments_level
            && in_scope()
            && let Some(g) = Segment::read(d, b)
        {
            tcp_frames.push(g);
        }
    });
    let time_of = |n: u64| s.raw(n.saturating_sub(1) as usize).map(|(m, _)| m.time_f64());
    // Arrows with capture times; made relative to the first one at the end.
    let mut arrows: Vec<Arrow> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let e = &m.event;
        // The 101 that answers a WebSocket handshake belongs to the WebSocket.
        let upgrade_answer = e.kind == MsgKind::HttpResponse
            && m.answers.and_then(|q| messages.get(q)).is_some_and(|q| q.event.kind == MsgKind::WsHandshake);
        let own = if upgrade_answer { Level::Websocket } else { Level::of(e.kind) };
        let out = match &story {
            Some(members) => !members.contains(&i),
            None => {
                own < level
                    || scope.stream.is_some_and(|st| st != e.stream)
                    || scope.session.as_ref().is_some_and(|sid| m.session.as_ref() != Some(sid))
            }
        };
        if out {
            continue;
        }
        let Some(&first) = e.frames.first() else { continue };
        let (client, server) = match stream_lanes.get(&e.stream) {
            Some(l) => *l,
            None => {
                let (c, sv) = endpoints(s, first, e.from_client)
                    .unwrap_or_else(|| (format!("stream {} client", e.stream), format!("stream {} server", e.stream)));
                // A Redis connection: a chat node is its client.
                let redis = matches!(e.kind, MsgKind::RedisCommand | MsgKind::RedisReply | MsgKind::RedisPush);
                let (cn, sn) = if redis { ("Redis client", "Redis server") } else { ("client", "server") };
                let l = (lane_of(format!("{cn} {c}"), false), lane_of(format!("{sn} {sv}"), true));
                stream_lanes.insert(e.stream, l);
                l
            }
        };
        let (from, to) = if e.from_client == Some(false) { (server, client) } else { (client, server) };
        let answers = m.answers.and_then(|q| shown_of_message.get(&q).copied());
        shown_of_message.insert(i, arrows.len());
        arrows.push(Arrow {
            from,
            to,
            label: label(e.kind, &e.text),
            kind: e.kind,
            start: time_of(first).unwrap_or(e.time),
            end: e.time,
            dt: 0.0,
            frames: e.frames.to_vec(),
            message: Some(i),
            answers,
            retransmitted: e.frames.iter().any(|f| retransmissions.contains(f)),
            acks_frame: None,
            ack_rtt: None,
            acks: None,
        });
    }
    let mut segments_left_out = 0;
    if segments_level {
        (arrows, segments_left_out) = with_segments(tcp_frames, arrows, &stream_lanes, &lanes);
    }
    let t0 = arrows.first().map(|a| a.start).unwrap_or_default();
    let mut before = None;
    for a in &mut arrows {
        a.start -= t0;
        a.end -= t0;
        a.dt = before.map(|b| a.start - b).unwrap_or(0.0);
        before = Some(a.start);
    }
    // Clients on the left in order of appearance, servers on the right; a
    // broadcast's lanes in the order it reaches them.
    let mut order: Vec<usize> = (0..lanes.len()).collect();
    if story.is_some() {
        // The first arrow that touches the lane; its sender before its receiver.
        let reached = |lane: usize| {
            arrows.iter().enumerate().find(|(_, a)| a.from == lane || a.to == lane).map(|(k, a)| (k, a.from != lane))
        };
        order.sort_by_key(|&i| (reached(i).unwrap_or((usize::MAX, true)), i));
    } else {
        order.sort_by_key(|&i| (lanes[i].short.starts_with('S'), i));
    }
    let mut new_index = vec![0; lanes.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new;
    }
    for a in &mut arrows {
        a.from = new_index[a.from];
        a.to = new_index[a.to];
    }
    let lanes = order.into_iter().map(|i| lanes[i].clone()).collect();
    Ladder { lanes, arrows, broadcast: story.is_some(), segments_left_out }
}

/// The message arrows with every other segment of their connections put in
/// among them (by frame), and each arrow's ACK linked to the arrow that
/// carried the segment it acknowledges. Connections without a message
/// arrow are left out, as are segments past [`MAX_SEGMENTS`] (counted).
fn with_segments(
    tcp_frames: Vec<Segment>,
    messages: Vec<Arrow>,
    stream_lanes: &std::collections::HashMap<u32, (usize, usize)>,
    lanes: &[Lane],
) -> (Vec<Arrow>, usize) {
    use std::collections::{HashMap, HashSet};
    let in_messages: HashSet<u64> = messages.iter().flat_map(|a| a.frames.iter().copied()).collect();
    // What each frame of a message acknowledges.
    let mut acked_by_message_frame: HashMap<u64, (u64, Option<f64>)> = HashMap::new();
    let mut own: Vec<Segment> = Vec::new();
    let mut left_out = 0;
    for g in tcp_frames.into_iter().filter(|g| stream_lanes.contains_key(&g.stream)) {
        if in_messages.contains(&g.frame) {
            if let Some(a) = g.acks_frame {
                acked_by_message_frame.insert(g.frame, (a, g.rtt));
            }
        } else if own.len() >= MAX_SEGMENTS {
            left_out += 1;
        } else {
            own.push(g);
        }
    }
    // Message arrows keep their order; a segment goes before the first
    // message completed after it.
    let mut out: Vec<Arrow> = Vec::with_capacity(messages.len() + own.len());
    let mut new_index = Vec::with_capacity(messages.len());
    let mut own = own.into_iter().peekable();
    let segment_arrow = |g: Segment| {
        let (client, server) = stream_lanes[&g.stream];
        let from_client = lanes[client].name.ends_with(&format!(" {}", g.src));
        let (from, to) = if from_client { (client, server) } else { (server, client) };
        Arrow {
            from,
            to,
            label: g.label,
            kind: MsgKind::TcpSegment,
            start: g.time,
            end: g.time,
            dt: 0.0,
            frames: vec![g.frame],
            message: None,
            answers: None,
            retransmitted: g.retransmitted,
            acks_frame: g.acks_frame,
            ack_rtt: g.rtt,
            acks: None,
        }
    };
    for mut m in messages {
        let done = m.frames.last().copied().unwrap_or(0);
        while let Some(g) = own.next_if(|g| g.frame < done) {
            out.push(segment_arrow(g));
        }
        // (A handshake acknowledges its own frames: no link.)
        if let Some((a, rtt)) =
            m.frames.iter().filter_map(|f| acked_by_message_frame.get(f)).find(|(a, _)| !m.frames.contains(a))
        {
            (m.acks_frame, m.ack_rtt) = (Some(*a), *rtt);
        }
        new_index.push(out.len());
        out.push(m);
    }
    out.extend(own.map(segment_arrow));
    let arrow_of_frame: HashMap<u64, usize> =
        out.iter().enumerate().flat_map(|(k, a)| a.frames.iter().map(move |&f| (f, k))).collect();
    for a in &mut out {
        a.answers = a.answers.map(|k| new_index[k]);
        a.acks = a.acks_frame.and_then(|f| arrow_of_frame.get(&f).copied());
    }
    (out, left_out)
}

/// A message's label: its text, cut to a readable length.
fn label(kind: MsgKind, text: &str) -> String {
    let text = if text.is_empty() { kind.name() } else { text };
    let mut out: String = text.chars().filter(|c| !c.is_control()).take(72).collect();
    if text.chars().count() > 72 {
        out.push('…');
    }
    out
}

fn ms(t: f64) -> String {
    format!("{:.3}", t * 1000.0)
}

impl Ladder {
    /// What arrow `k` of a broadcast does, in a sentence.
    pub fn hop(&self, k: usize) -> String {
        let Some(a) = self.arrows.get(k) else { return String::new() };
        let name = |lane: usize| self.lanes.get(lane).map(|l| l.name.as_str()).unwrap_or("?");
        let publisher = |lane: usize| self.arrows.iter().any(|b| b.kind == MsgKind::RedisCommand && b.from == lane);
        match a.kind {
            MsgKind::SioEvent if self.lanes.get(a.from).is_some_and(|l| l.name.starts_with("client")) => {
                format!("the sender ({}) emits it to the node it is connected to ({})", name(a.from), name(a.to))
            }
            // Without Redis in the story, one server did it all.
            MsgKind::SioEvent if !self.arrows.iter().any(|b| b.kind == MsgKind::RedisCommand) => {
                format!("the server ({}) sends it to one of its clients ({})", name(a.from), name(a.to))
            }
            MsgKind::SioEvent => {
                format!("a node ({}) sends it to one of its own clients ({})", name(a.from), name(a.to))
            }
            MsgKind::RedisCommand => format!(
                "the sender's node PUBLISHes it on Redis, on its connection {}: every node subscribed to the channel gets it",
                name(a.from)
            ),
            MsgKind::RedisPush if publisher(a.to) => {
                "Redis hands it back to the node that published it, which skips its own request".to_string()
            }
            MsgKind::RedisPush => format!("Redis hands it to another node, on that node's connection {}", name(a.to)),
            _ => a.label.clone(),
        }
    }

    /// Aligned text for a terminal: the lanes as columns, each arrow drawn
    /// between its two lanes, with the time, Δt, label and frames.
    pub fn text(&self) -> String {
        const W: usize = 6;
        let mut out = String::new();
        for l in &self.lanes {
            let _ = writeln!(out, "{:>4} = {}", l.short, l.name);
        }
        let strip = self.lanes.len() * W;
        let mut head = vec![' '; strip];
        for (i, l) in self.lanes.iter().enumerate() {
            for (k, c) in l.short.chars().enumerate() {
                if let Some(x) = head.get_mut(i * W + W / 2 - 1 + k) {
                    *x = c;
                }
            }
        }
        let _ = writeln!(out, "\n{:>10} {:>9}  {}  message", "time ms", "+Δt ms", head.iter().collect::<String>());
        for a in &self.arrows {
            let mut row = vec![' '; strip];
            for i in 0..self.lanes.len() {
                row[i * W + W / 2] = '│';
            }
            let (x1, x2) = (a.from * W + W / 2, a.to * W + W / 2);
            let (lo, hi) = (x1.min(x2), x1.max(x2));
            for x in row.iter_mut().take(hi).skip(lo + 1) {
                *x = if a.slanted() { '╌' } else { '─' };
            }
            if x2 > x1 {
                row[hi - 1] = '▶';
            } else if x2 < x1 {
                row[lo + 1] = '◀';
            }
            let frames = a.frames.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
            let retrans = if a.retransmitted { " [retransmitted]" } else { "" };
            // A message's own segment says what it acknowledges (a segment's label does).
            let acks = match a.acks_frame {
                Some(f) if a.kind != MsgKind::TcpSegment => format!(" [ACK of frame {f}]"),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "{:>10} {:>9}  {}  {}{retrans}{acks}  (frame {frames})",
                ms(a.start),
                format!("+{}", ms(a.dt)),
                row.iter().collect::<String>(),
                a.label
            );
        }
        if self.segments_left_out > 0 {
            let _ = writeln!(
                out,
                "\n{} more segments left out (the first {MAX_SEGMENTS} are drawn); `wirelab gui FILE --graph time-sequence` shows them all",
                self.segments_left_out
            );
        }
        if self.broadcast {
            out.push_str("\none broadcast, hop by hop:\n");
            for (k, a) in self.arrows.iter().enumerate() {
                let frames = a.frames.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
                let _ = writeln!(out, "{:>3}. frame {frames}: {}", k + 1, self.hop(k));
            }
        }
        out
    }

    /// A Mermaid `sequenceDiagram`: participants, one arrow per message, a
    /// note with Δt where time passed.
    pub fn mermaid(&self) -> String {
        let mut out = String::from("sequenceDiagram\n");
        for l in &self.lanes {
            let _ = writeln!(out, "    participant {} as {}", l.short, mermaid_text(&l.name));
        }
        for a in &self.arrows {
            if a.dt >= 0.0005 {
                let _ = writeln!(out, "    Note over {}: +{} ms", self.lanes[a.from].short, ms(a.dt));
            }
            let arrow = if a.slanted() { "--)" } else { "->>" };
            let _ = writeln!(
                out,
                "    {}{arrow}{}: {} (frame {})",
                self.lanes[a.from].short,
                self.lanes[a.to].short,
                mermaid_text(&a.label),
                a.frames.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
            );
        }
        out
    }

    /// A standalone SVG: lanes as vertical lines, arrows with labels, Δt on
    /// the left; slanted (dashed) arrows for messages that took time.
    pub fn svg(&self) -> String {
        let (lane_w, row_h, top, left) = (260.0, 34.0, 70.0, 110.0);
        let width = left + lane_w * self.lanes.len().max(1) as f64 + 40.0;
        let height = top + row_h * (self.arrows.len() as f64 + 1.0);
        let x = |lane: usize| left + lane_w * (lane as f64 + 0.5);
        let mut out = String::new();
        let _ = writeln!(
            out,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="DejaVu Sans, sans-serif" font-size="12">"##
        );
        let _ = writeln!(
            out,
            r##"<defs><marker id="head" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#333"/></marker></defs>"##
        );
        let _ = writeln!(out, r##"<rect width="100%" height="100%" fill="white"/>"##);
        for (i, l) in self.lanes.iter().enumerate() {
            let _ = writeln!(
                out,
                r##"<text x="{:.1}" y="30" text-anchor="middle" font-weight="bold">{}</text><text x="{:.1}" y="46" text-anchor="middle" fill="#555">{}</text>"##,
                x(i),
                xml(&l.short),
                x(i),
                xml(&l.name)
            );
            let _ = writeln!(
                out,
                r##"<line x1="{:.1}" y1="{top}" x2="{:.1}" y2="{height:.0}" stroke="#999" stroke-dasharray="4 3"/>"##,
                x(i),
                x(i)
            );
        }
        for (k, a) in self.arrows.iter().enumerate() {
            let y = top + row_h * (k as f64 + 0.8);
            let y2 = if a.slanted() { y + row_h * 0.6 } else { y };
            let dash = if a.slanted() { r##" stroke-dasharray="6 3""## } else { "" };
            let color = if a.retransmitted { "#c33" } else { "#333" };
            let _ = writeln!(
                out,
                r##"<text x="8" y="{y:.1}" fill="#555">{} ms</text><text x="8" y="{:.1}" fill="#999" font-size="10">+{}</text>"##,
                ms(a.start),
                y + 11.0,
                ms(a.dt)
            );
            if a.from == a.to {
                let _ = writeln!(
                    out,
                    r##"<path d="M{:.1},{y:.1} h30 v8 h-30" fill="none" stroke="{color}"{dash} marker-end="url(#head)"/>"##,
                    x(a.from)
                );
            } else {
                let _ = writeln!(
                    out,
                    r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y2:.1}" stroke="{color}" stroke-width="1.5"{dash} marker-end="url(#head)"/>"##,
                    x(a.from),
                    x(a.to)
                );
            }
            let mid = (x(a.from) + x(a.to)) / 2.0;
            let _ = writeln!(
                out,
                r##"<text x="{mid:.1}" y="{:.1}" text-anchor="middle"><title>frames {}</title>{}</text>"##,
                y - 5.0,
                a.frames.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
                xml(&a.label)
            );
        }
        out.push_str("</svg>\n");
        out
    }
}

/// Mermaid treats `;` and `#` specially in message text: write them as entity codes.
fn mermaid_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Text made safe inside XML and HTML (elements and quoted attributes).
pub(crate) fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
