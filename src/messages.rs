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

use std::collections::HashMap;

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
    let websocket_streams: std::collections::HashSet<u32> =
        events.iter().filter(|e| e.kind == MsgKind::WsHandshake).map(|e| e.stream).collect();
    let mut out: Vec<Message> = events
        .into_iter()
        .map(|event| {
            let transport = if event.kind.is_tcp() {
                Transport::Tcp
            } else if websocket_streams.contains(&event.stream) {
                Transport::WebSocket
            } else {
                Transport::Polling
            };
            Message { event, transport, session: None, answers: None, answered_by: None }
        })
        .collect();
    assign_sessions(&mut out);
    pair(&mut out);
    out
}

/// Each stream's running session id: set by a request's `sid=` or by an open
/// packet; a request without one belongs to the session its answer opens.
fn assign_sessions(msgs: &mut [Message]) {
    let mut current: HashMap<u32, String> = HashMap::new();
    // Messages of a stream waiting for the open packet that names their session.
    let mut pending: HashMap<u32, Vec<usize>> = HashMap::new();
    for i in 0..msgs.len() {
        let (stream, kind) = (msgs[i].event.stream, msgs[i].event.kind);
        let sid = msgs[i].event.sid.clone();
        match (kind, sid) {
            (MsgKind::HttpRequest | MsgKind::WsHandshake, Some(sid)) | (MsgKind::EioOpen, Some(sid)) => {
                for j in pending.remove(&stream).unwrap_or_default() {
                    msgs[j].session = Some(sid.clone());
                }
                msgs[i].session = Some(sid.clone());
                current.insert(stream, sid);
            }
            (MsgKind::HttpRequest | MsgKind::WsHandshake, None) => {
                // A new handshake: whatever the stream carried before, this
                // request's session is the one its answer opens.
                current.remove(&stream);
                pending.entry(stream).or_default().push(i);
            }
            _ => match current.get(&stream) {
                Some(sid) => msgs[i].session = Some(sid.clone()),
                None => pending.entry(stream).or_default().push(i),
            },
        }
    }
}

/// What a question is filed under: (scope, what).
type Key = (String, String);

fn pair(msgs: &mut [Message]) {
    // Keys are (scope, what, direction the question went); scope is the
    // session when known, else the stream.
    let mut open: HashMap<(String, String, Option<bool>), Vec<usize>> = HashMap::new();
    for i in 0..msgs.len() {
        let m = &msgs[i];
        let scope = m.session.clone().unwrap_or_else(|| format!("stream {}", m.event.stream));
        let stream_scope = format!("stream {}", m.event.stream);
        let nsp = m.event.nsp.clone().unwrap_or_else(|| "/".into());
        let from = m.event.from_client;
        let other = from.map(|c| !c);
        // (scope, key) this message asks under, and the one it would answer.
        let (asks, answers): (Option<Key>, Option<Key>) = match m.event.kind {
            MsgKind::HttpRequest | MsgKind::WsHandshake => (Some((stream_scope, "http".into())), None),
            MsgKind::HttpResponse => (None, Some((stream_scope, "http".into()))),
            MsgKind::SioEvent => (m.event.ack_id.map(|id| (scope, format!("ack {nsp} {id}"))), None),
            MsgKind::SioAck => (None, m.event.ack_id.map(|id| (scope, format!("ack {nsp} {id}")))),
            MsgKind::SioConnect if from == Some(true) => (Some((scope, format!("connect {nsp}"))), None),
            MsgKind::SioConnect | MsgKind::SioConnectError => (None, Some((scope, format!("connect {nsp}")))),
            MsgKind::EioPing => (Some((scope, "ping".into())), None),
            MsgKind::EioPong => (None, Some((scope, "ping".into()))),
            MsgKind::EioProbe => (Some((stream_scope, "probe".into())), None),
            MsgKind::EioProbeAnswer => (None, Some((stream_scope, "probe".into()))),
            MsgKind::WsPing => (Some((stream_scope, "ws-ping".into())), None),
            MsgKind::WsPong => (None, Some((stream_scope, "ws-ping".into()))),
            // The first close (or FIN) asks; the other side's answers it.
            MsgKind::WsClose | MsgKind::TcpClose => {
                let key = (stream_scope, m.event.kind.name().to_string());
                let waiting = open.get(&(key.0.clone(), key.1.clone(), other)).is_some_and(|v| !v.is_empty());
                if waiting { (None, Some(key)) } else { (Some(key), None) }
            }
            _ => (None, None),
        };
        if let Some((s, k)) = answers
            && let Some(q) = open.get_mut(&(s, k, other))
            && !q.is_empty()
        {
            // HTTP answers the oldest; everything else the latest question.
            let j = if msgs[i].event.kind == MsgKind::HttpResponse { q.remove(0) } else { q.pop().unwrap_or(i) };
            if j != i {
                msgs[i].answers = Some(j);
                msgs[j].answered_by = Some(i);
            }
        }
        if let Some((s, k)) = asks {
            open.entry((s, k, from)).or_default().push(i);
        }
    }
}

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
