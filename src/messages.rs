//! Messages: what the dissectors' [`AppEvent`]s become once the whole
//! capture is known — each with its transport, its Engine.IO session, and the
//! message it answers. One function, [`correlate`], serves `wirelab follow`,
//! the conversation panel and the ladder diagram.
//!
//! Pairs (the answer points at what it answers): HTTP response ↔ the oldest
//! unanswered request of its connection (HTTP/1.1 answers in order);
//! Socket.IO ACK ↔ the EVENT with the same namespace and ack id sent the other
//! way in the same session (over polling, the EVENT may travel in a POST on
//! one connection and its ACK in a GET on another); CONNECT ↔ CONNECT (or
//! CONNECT_ERROR) of the same namespace; Engine.IO pong ↔ ping and probe
//! answer ↔ probe; WebSocket pong ↔ ping and close ↔ close; TCP FIN ↔ FIN.
//!
//! Sessions: a socket.io client's session spans several TCP connections, tied
//! together by the Engine.IO `sid` — in the open packet, and in every later
//! request's `sid=` parameter. Part of the dissection core: no GUI, no threads.

use std::collections::{HashMap, HashSet};

use crate::model::{AppEvent, MsgKind};

/// How a message travelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Plain TCP: the connection's own open and close.
    Tcp,
    /// HTTP requests and responses (Engine.IO's long-polling among them).
    Polling,
    /// A WebSocket connection (its opening handshake included).
    WebSocket,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Polling => "polling",
            Transport::WebSocket => "websocket",
        }
    }
}

/// One message of the capture, in capture order.
#[derive(Clone, Debug)]
pub struct Message {
    pub event: AppEvent,
    pub transport: Transport,
    /// The Engine.IO session it belongs to, when the packets tell.
    pub session: Option<String>,
    /// Index (in the list [`correlate`] returns) of the message this one answers.
    pub answers: Option<usize>,
    /// Index of the message that answers this one.
    pub answered_by: Option<usize>,
}

impl Message {
    pub fn kind(&self) -> MsgKind {
        self.event.kind
    }
    /// "client", "server" or "unknown".
    pub fn dir(&self) -> &'static str {
        match self.event.from_client {
            Some(true) => "client",
            Some(false) => "server",
            None => "unknown",
        }
    }
}

/// Turns a capture's events (in capture order) into messages with their
/// transport, session and answers.
pub fn correlate(events: Vec<AppEvent>) -> Vec<Message> {
    let mut c = Correlator::default();
    let mut out: Vec<Message> = Vec::with_capacity(events.len());
    for event in events {
        let (links, resolved) = c.push(&event);
        for (j, sid) in resolved {
            if let Some(m) = out.get_mut(j) {
                m.session = Some(sid);
            }
        }
        let me = out.len();
        if let Some(q) = links.answers
            && let Some(m) = out.get_mut(q)
        {
            m.answered_by = Some(me);
        }
        out.push(Message {
            event,
            transport: links.transport,
            session: links.session,
            answers: links.answers,
            answered_by: None,
        });
    }
    out
}

/// The key that ties together the messages carrying the same Socket.IO
/// packet data: an EVENT a client emits, the chat node's request that
/// carries it through Redis (its PUBLISH and each delivery), and the EVENT
/// each node sends its clients — the same bytes on every hop.
pub fn link_key(data: &[u8]) -> u64 {
    use std::hash::Hasher as _;
    let mut h = rustc_hash::FxHasher::default();
    h.write(data);
    h.finish()
}

/// Messages with the same link key this close in time (seconds) belong to
/// one broadcast (its hops take milliseconds); the same data sent again
/// later is another.
const STORY_GAP: f64 = 0.25;

/// One broadcast told whole: the messages (indices, in capture order) that
/// carry the packet message `i` carries — the sender's emit, the node's
/// PUBLISH on Redis, Redis's delivery to each node, each node's EVENT to its
/// clients. When the sender's emit has other data than what is delivered
/// (the chat adds who sent it), the emit is the client's EVENT just before
/// whose acknowledgement came after the broadcast began (the server
/// acknowledged it once it had sent it on); without one, the story starts
/// at the node.
/// Empty when message `i` is not part of a broadcast (fewer than two
/// messages carry its data) and is no such emit.
pub fn story(messages: &[Message], i: usize) -> Vec<usize> {
    let members = |key: u64, at: usize| -> Vec<usize> {
        // The run of messages with this key around `at`, split where
        // nothing with the key was sent for STORY_GAP.
        let with: Vec<usize> = (0..messages.len()).filter(|&j| messages[j].event.link == Some(key)).collect();
        let Some(pos) = with.iter().position(|&j| j == at) else { return Vec::new() };
        let time = |j: usize| messages[j].event.time;
        let mut lo = pos;
        while lo > 0 && time(with[lo]) - time(with[lo - 1]) <= STORY_GAP {
            lo -= 1;
        }
        let mut hi = pos;
        while hi + 1 < with.len() && time(with[hi + 1]) - time(with[hi]) <= STORY_GAP {
            hi += 1;
        }
        with[lo..=hi].to_vec()
    };
    let from_client = |j: usize| messages[j].event.from_client == Some(true) && messages[j].kind() == MsgKind::SioEvent;
    // The emit that caused a run of deliveries that does not hold it.
    let origin = |run: &[usize]| -> Option<usize> {
        let first = *run.first()?;
        if run.iter().any(|&j| from_client(j)) {
            return None;
        }
        let t = messages[first].event.time;
        (0..first)
            .rev()
            .take_while(|&j| t - messages[j].event.time <= STORY_GAP)
            .find(|&j| from_client(j) && messages[j].answered_by.is_some_and(|a| a > first))
    };
    let told = |mut run: Vec<usize>| -> Vec<usize> {
        if run.len() < 2 {
            return Vec::new();
        }
        if let Some(o) = origin(&run) {
            run.insert(0, o);
        }
        run
    };
    if let Some(key) = messages.get(i).and_then(|m| m.event.link) {
        let run = told(members(key, i));
        if !run.is_empty() {
            return run;
        }
    }
    // An emit whose data is not what is delivered: the broadcast that
    // starts after it and names it as its origin.
    if messages.get(i).is_some_and(|_| from_client(i)) {
        let t = messages[i].event.time;
        for (j, m) in messages.iter().enumerate().skip(i + 1) {
            if m.event.time - t > STORY_GAP {
                break;
            }
            if let Some(key) = m.event.link.filter(|_| !from_client(j)) {
                let run = told(members(key, j));
                if run.first() == Some(&i) {
                    return run;
                }
            }
        }
    }
    Vec::new()
}

/// What [`Correlator::push`] learns about one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Links {
    pub transport: Transport,
    /// Its Engine.IO session, when already known (else it may come later).
    pub session: Option<String>,
    /// Index of the earlier message it answers.
    pub answers: Option<usize>,
}

/// Correlation one event at a time, in capture order, for callers that
/// cannot hold every event at once (the window on a million frames).
/// Messages are numbered from 0 in the order they are pushed.
#[derive(Default)]
pub struct Correlator {
    n: usize,
    websocket_streams: HashSet<u32>,
    /// Each stream's running session id: set by a request's `sid=` or by an
    /// open packet.
    current: HashMap<u32, String>,
    /// Messages of a stream waiting for the open packet that names their
    /// session (a request without `sid=` belongs to the session its answer opens).
    pending: HashMap<u32, Vec<usize>>,
    /// Unanswered questions by (scope, what, direction they went); the scope
    /// is the session when known, else the stream.
    open: HashMap<(String, String, Option<bool>), Vec<usize>>,
}

impl Correlator {
    /// Files the next message; returns its links, and the earlier messages
    /// whose session this one revealed.
    pub fn push(&mut self, e: &AppEvent) -> (Links, Vec<(usize, String)>) {
        let i = self.n;
        self.n += 1;
        if e.kind == MsgKind::WsHandshake {
            self.websocket_streams.insert(e.stream);
        }
        let transport = if e.kind.is_tcp() {
            Transport::Tcp
        } else if self.websocket_streams.contains(&e.stream) {
            Transport::WebSocket
        } else {
            Transport::Polling
        };
        let (session, resolved) = self.session(i, e);
        let answers = self.pair(i, e, session.as_deref());
        (Links { transport, session, answers }, resolved)
    }

    fn session(&mut self, i: usize, e: &AppEvent) -> (Option<String>, Vec<(usize, String)>) {
        match (e.kind, &e.sid) {
            (MsgKind::HttpRequest | MsgKind::WsHandshake | MsgKind::EioOpen, Some(sid)) => {
                let resolved = self.pending.remove(&e.stream).unwrap_or_default();
                self.current.insert(e.stream, sid.clone());
                (Some(sid.clone()), resolved.into_iter().map(|j| (j, sid.clone())).collect())
            }
            (MsgKind::HttpRequest | MsgKind::WsHandshake, None) => {
                // A new handshake: whatever the stream carried before, this
                // request's session is the one its answer opens.
                self.current.remove(&e.stream);
                self.pending.entry(e.stream).or_default().push(i);
                (None, Vec::new())
            }
            _ => match self.current.get(&e.stream) {
                Some(sid) => (Some(sid.clone()), Vec::new()),
                None => {
                    self.pending.entry(e.stream).or_default().push(i);
                    (None, Vec::new())
                }
            },
        }
    }

    fn pair(&mut self, i: usize, e: &AppEvent, session: Option<&str>) -> Option<usize> {
        let stream_scope = format!("stream {}", e.stream);
        let scope = session.map(str::to_string).unwrap_or_else(|| stream_scope.clone());
        let nsp = e.nsp.as_deref().unwrap_or("/");
        let from = e.from_client;
        let other = from.map(|c| !c);
        // (scope, key) this message asks under, and the one it would answer.
        let (asks, answers): (Option<Key>, Option<Key>) = match e.kind {
            MsgKind::HttpRequest | MsgKind::WsHandshake => (Some((stream_scope, "http".into())), None),
            MsgKind::HttpResponse => (None, Some((stream_scope, "http".into()))),
            MsgKind::SioEvent => (e.ack_id.map(|id| (scope, format!("ack {nsp} {id}"))), None),
            MsgKind::SioAck => (None, e.ack_id.map(|id| (scope, format!("ack {nsp} {id}")))),
            MsgKind::SioConnect if from == Some(true) => (Some((scope, format!("connect {nsp}"))), None),
            MsgKind::SioConnect | MsgKind::SioConnectError => (None, Some((scope, format!("connect {nsp}")))),
            MsgKind::EioPing => (Some((scope, "ping".into())), None),
            MsgKind::EioPong => (None, Some((scope, "ping".into()))),
            MsgKind::EioProbe => (Some((stream_scope, "probe".into())), None),
            MsgKind::EioProbeAnswer => (None, Some((stream_scope, "probe".into()))),
            MsgKind::DemoRequest => (e.ack_id.map(|n| (stream_scope.clone(), format!("demo {n}"))), None),
            MsgKind::DemoReply => (None, e.ack_id.map(|n| (stream_scope.clone(), format!("demo {n}")))),
            MsgKind::RedisCommand => (e.ack_id.map(|n| (stream_scope.clone(), format!("redis {n}"))), None),
            MsgKind::RedisReply => (None, e.ack_id.map(|n| (stream_scope.clone(), format!("redis {n}")))),
            MsgKind::WsPing => (Some((stream_scope, "ws-ping".into())), None),
            MsgKind::WsPong => (None, Some((stream_scope, "ws-ping".into()))),
            // The first close (or FIN) asks; the other side's answers it.
            MsgKind::WsClose | MsgKind::TcpClose => {
                let key = (stream_scope, e.kind.name().to_string());
                let waiting = self.open.get(&(key.0.clone(), key.1.clone(), other)).is_some_and(|v| !v.is_empty());
                if waiting { (None, Some(key)) } else { (Some(key), None) }
            }
            _ => (None, None),
        };
        let mut answered = None;
        if let Some((s, k)) = answers {
            let key = (s, k, other);
            if let Some(q) = self.open.get_mut(&key) {
                // HTTP answers the oldest question; everything else the latest.
                answered = if e.kind == MsgKind::HttpResponse && !q.is_empty() { Some(q.remove(0)) } else { q.pop() };
                if q.is_empty() {
                    // Answered questions cost nothing (a million-frame capture has many).
                    self.open.remove(&key);
                }
            }
        }
        if let Some((s, k)) = asks {
            self.open.entry((s, k, from)).or_default().push(i);
        }
        answered
    }
}

/// What a question is filed under: (scope, what).
type Key = (String, String);

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(stream: u32, client: bool, kind: MsgKind, frame: u64) -> AppEvent {
        AppEvent {
            stream,
            from_client: Some(client),
            kind,
            text: String::new(),
            frames: smallvec::smallvec![frame],
            time: frame as f64,
            nsp: None,
            ack_id: None,
            sid: None,
            link: None,
        }
    }

    #[test]
    fn acks_find_their_event_across_connections_of_one_session() {
        let mut e = vec![
            ev(0, true, MsgKind::HttpRequest, 1),
            AppEvent { sid: Some("S".into()), ..ev(0, false, MsgKind::EioOpen, 2) },
            ev(0, false, MsgKind::HttpResponse, 2),
            AppEvent { sid: Some("S".into()), ..ev(1, true, MsgKind::HttpRequest, 3) },
            AppEvent { ack_id: Some(7), nsp: Some("/admin".into()), ..ev(1, true, MsgKind::SioEvent, 3) },
            AppEvent { sid: Some("S".into()), ..ev(0, true, MsgKind::HttpRequest, 4) },
            AppEvent { ack_id: Some(7), nsp: Some("/".into()), ..ev(0, false, MsgKind::SioAck, 5) },
            AppEvent { ack_id: Some(7), nsp: Some("/admin".into()), ..ev(0, false, MsgKind::SioAck, 5) },
        ];
        e.push(ev(0, false, MsgKind::HttpResponse, 5));
        let m = correlate(e);
        assert!(m.iter().all(|m| m.session.as_deref() == Some("S")), "{m:#?}");
        assert_eq!(m[2].answers, Some(0));
        // The ACK in namespace "/" has no EVENT to answer; the /admin one does.
        assert_eq!((m[6].answers, m[7].answers), (None, Some(4)));
        assert_eq!(m[4].answered_by, Some(7));
        assert_eq!(m[8].answers, Some(5));
        assert!(m.iter().all(|m| m.transport == Transport::Polling));
    }

    #[test]
    fn the_second_close_answers_the_first() {
        let m = correlate(vec![
            ev(0, true, MsgKind::WsHandshake, 1),
            ev(0, false, MsgKind::HttpResponse, 2),
            ev(0, true, MsgKind::WsClose, 3),
            ev(0, false, MsgKind::WsClose, 4),
            ev(0, true, MsgKind::TcpClose, 5),
        ]);
        assert_eq!((m[1].answers, m[2].answers, m[3].answers, m[4].answers), (Some(0), None, Some(2), None));
        assert_eq!(m[0].transport, Transport::WebSocket);
        assert_eq!(m[4].transport, Transport::Tcp);
    }
}
