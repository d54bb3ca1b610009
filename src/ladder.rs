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
    /// Index into the session's messages.
    pub message: usize,
    /// The arrow this one answers, when it is shown.
    pub answers: Option<usize>,
    /// A frame that carried it was a retransmission.
    pub retransmitted: bool,
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
}

/// Client and server endpoints of a TCP stream, as "address:port".
fn endpoints(s: &Session, frame: u64, from_client: Option<bool>) -> Option<(String, String)> {
    let mut d = Dissection::default();
    let bytes = s.number(frame, &mut d)?;
    let text = |names: &[&str]| names.iter().find_map(|n| d.find(bytes, n).map(|f| f.text(64)));
    let ip = |a: &str, b: &str| text(&[a, b]).map(|ip| ip.split(' ').next().unwrap_or_default().to_string());
    let (src, dst) = (ip("ip.src", "ipv6.src")?, ip("ip.dst", "ipv6.dst")?);
    let port = |n: &str| d.find(bytes, n).and_then(|f| f.value().as_u64());
    let (sp, dp) = (port("tcp.srcport")?, port("tcp.dstport")?);
    let (a, b) = (join(&src, sp), join(&dst, dp));
    Some(if from_client == Some(false) { (b, a) } else { (a, b) })
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
    let retransmissions: std::collections::HashSet<u64> = {
        let mut set = std::collections::HashSet::new();
        if let Ok(f) = crate::filter::Filter::parse("tcp.analysis.retransmission || tcp.analysis.fast_retransmission") {
            s.scan(|d, b| {
                if f.matches(d, b) {
                    set.insert(d.meta.number);
                }
            });
        }
        set
    };
    let time_of = |n: u64| s.raw(n.saturating_sub(1) as usize).map(|(m, _)| m.time_f64());
    let mut arrows: Vec<Arrow> = Vec::new();
    let mut t0 = None;
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
        let start = time_of(first).unwrap_or(e.time);
        let t0 = *t0.get_or_insert(start);
        let dt = arrows.last().map(|a: &Arrow| (start - t0) - a.start).unwrap_or(0.0);
        let answers = m.answers.and_then(|q| shown_of_message.get(&q).copied());
        shown_of_message.insert(i, arrows.len());
        arrows.push(Arrow {
            from,
            to,
            label: label(e.kind, &e.text),
            kind: e.kind,
            start: start - t0,
            end: e.time - t0,
            dt,
            frames: e.frames.to_vec(),
            message: i,
            answers,
            retransmitted: e.frames.iter().any(|f| retransmissions.contains(f)),
        });
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
    Ladder { lanes, arrows, broadcast: story.is_some() }
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
            let _ = writeln!(
                out,
                "{:>10} {:>9}  {}  {}{retrans}  (frame {frames})",
                ms(a.start),
                format!("+{}", ms(a.dt)),
                row.iter().collect::<String>(),
                a.label
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

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
