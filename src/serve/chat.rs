//! The socket.io chat demo. The Engine.IO v4 / Socket.IO v5 protocol —
//! long-polling, the upgrade to WebSocket, heartbeats, namespaces, rooms,
//! acknowledgements, volatile emits — is `socketioxide`'s; this file is the
//! chat itself: its fixed event API (assets/chat/API.md), which emit of the
//! cheatsheet each `to` value picks, and the optional message log that lets a
//! reconnecting client catch up on what it missed (`--recovery`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Event, SocketRef, TryData};
use socketioxide::handler::ConnectHandler as _;
use socketioxide::socket::Sid;

/// The namespaces the chat serves; the same events work in each.
pub const NAMESPACES: [&str; 2] = ["/", "/admin"];

/// Event names Socket.IO keeps for itself; an application must not emit them.
pub const RESERVED_EVENTS: [&str; 6] =
    ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"];

const PAGE: &str = include_str!("../../assets/chat/index.html");
const CLIENT_JS: &str = include_str!("../../assets/chat/socket.io.min.js");
const API_DOC: &str = include_str!("../../assets/chat/API.md");

#[derive(Debug, Clone)]
pub struct ChatConfig {
    /// Keep a per-namespace log so reconnecting clients get what they missed.
    pub recovery: bool,
    /// How many messages each namespace's log keeps (oldest dropped first).
    pub log_limit: usize,
}

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig { recovery: false, log_limit: 10_000 }
    }
}

/// Which line of the emit cheatsheet a `chat message` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    All,
    Others,
    SelfOnly,
    Room(String),
    RoomWithSelf(String),
    Rooms(Vec<String>),
    Socket(String),
    Namespace(String),
    Volatile,
    Uncompressed,
}

impl FromStr for Target {
    type Err = String;
    fn from_str(to: &str) -> Result<Self, String> {
        let room = |r: &str| -> Result<String, String> {
            let r = r.trim();
            if r.is_empty() || r.len() > 64 {
                Err(format!("\"{to}\": a room name must be 1 to 64 characters"))
            } else {
                Ok(r.to_string())
            }
        };
        Ok(match to {
            "" | "all" => Target::All,
            "others" => Target::Others,
            "self" => Target::SelfOnly,
            "volatile" => Target::Volatile,
            "uncompressed" => Target::Uncompressed,
            _ => {
                if let Some(r) = to.strip_prefix("room+self:") {
                    Target::RoomWithSelf(room(r)?)
                } else if let Some(r) = to.strip_prefix("room:") {
                    Target::Room(room(r)?)
                } else if let Some(rs) = to.strip_prefix("rooms:") {
                    Target::Rooms(rs.split(',').map(room).collect::<Result<_, _>>()?)
                } else if let Some(id) = to.strip_prefix("socket:") {
                    Target::Socket(id.trim().to_string())
                } else if let Some(n) = to.strip_prefix("nsp:") {
                    if !NAMESPACES.contains(&n) {
                        return Err(format!("\"{to}\": no namespace {n}; this chat has {}", NAMESPACES.join(" and ")));
                    }
                    Target::Namespace(n.to_string())
                } else {
                    return Err(format!(
                        "\"{to}\" is not a target; use all, others, self, room:R, room+self:R, rooms:R1,R2, \
                         socket:ID, nsp:/admin, volatile or uncompressed"
                    ));
                }
            }
        })
    }
}

struct Logged {
    offset: u64,
    /// None: addressed to everyone in the namespace.
    rooms: Option<Vec<String>>,
    msg: Value,
}

#[derive(Default)]
struct NsLog {
    last_offset: u64,
    entries: VecDeque<Logged>,
    /// Sockets connected with an offset whose backlog is not replayed yet:
    /// logged messages skip them (they get those in the replay).
    recovering: HashSet<Sid>,
}

#[derive(Debug, Default)]
pub struct ChatStats {
    pub connections: AtomicU64,
    pub messages: AtomicU64,
    pub replayed: AtomicU64,
    pub refused: AtomicU64,
    /// Events refused because their socket sent too many too fast.
    pub throttled: AtomicU64,
}

pub struct Chat {
    cfg: ChatConfig,
    io: OnceLock<SocketIo>,
    /// One log per namespace. A tokio mutex, held while a message gets its
    /// offset and is emitted, and while a reconnecting client rejoins and is
    /// replayed its backlog: so no message is both replayed and delivered
    /// live, and none falls between the two.
    logs: HashMap<&'static str, tokio::sync::Mutex<NsLog>>,
    nicks: Mutex<HashMap<Sid, String>>,
    /// Each socket's token bucket: (tokens left, when last filled).
    buckets: Mutex<HashMap<Sid, (f64, std::time::Instant)>>,
    pub stats: ChatStats,
}

/// Serves the chat page, the socket.io client script and the API text:
/// every request socket.io does not take.
#[derive(Debug, Clone, Copy)]
pub struct PageService;

pub type PageFuture = std::future::Ready<Result<Response<Full<Bytes>>, Infallible>>;

impl hyper::service::Service<Request<hyper::body::Incoming>> for PageService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = PageFuture;
    fn call(&self, req: Request<hyper::body::Incoming>) -> PageFuture {
        page(req)
    }
}

fn page(req: Request<hyper::body::Incoming>) -> PageFuture {
    let (status, kind, body): (_, &'static str, &'static str) = match req.uri().path() {
        "/" | "/index.html" => (StatusCode::OK, "text/html; charset=utf-8", PAGE),
        "/socket.io.min.js" => (StatusCode::OK, "application/javascript", CLIENT_JS),
        "/api" | "/API.md" => (StatusCode::OK, "text/plain; charset=utf-8", API_DOC),
        _ => (StatusCode::NOT_FOUND, "text/plain; charset=utf-8", "Not found. The chat page is at /.\n"),
    };
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    std::future::ready(Ok(r))
}

/// Builds the chat: the hyper service to serve connections with, and the chat state.
pub fn build(cfg: ChatConfig) -> (socketioxide::service::SocketIoService<PageService>, Arc<Chat>) {
    let chat = Arc::new(Chat {
        cfg,
        io: OnceLock::new(),
        logs: NAMESPACES.iter().map(|n| (*n, tokio::sync::Mutex::new(NsLog::default()))).collect(),
        nicks: Mutex::new(HashMap::new()),
        buckets: Mutex::new(HashMap::new()),
        stats: ChatStats::default(),
    });
    use super::limits::CHAT_MAX_PAYLOAD;
    let (svc, io) = SocketIo::builder()
        // Over polling, and over WebSocket (which max_payload does not cover).
        .max_payload(CHAT_MAX_PAYLOAD as u64)
        .ws_max_message_size(CHAT_MAX_PAYLOAD)
        .ws_max_frame_size(CHAT_MAX_PAYLOAD)
        // A handshake that never connects a namespace is let go sooner.
        .connect_timeout(std::time::Duration::from_secs(10))
        .build_with_inner_svc(PageService);
    for ns in NAMESPACES {
        let (chat, prepare) = (chat.clone(), chat.clone());
        let connected = move |s: SocketRef, TryData(auth): TryData<Value>| {
            let chat = chat.clone();
            async move { chat.on_connect(s, auth.unwrap_or(Value::Null)).await }
        };
        // socketioxide sends the CONNECT packet and then *spawns* the connect
        // handler, so a client may emit before that task has run: an event
        // handler registered there can come too late, and the event (and its
        // ack) is silently lost — under CPU contention, a few times in a
        // hundred. socket.io has the same trap (socketio/socket.io-client#1527).
        // Middlewares are awaited before CONNECT is sent: the handlers are
        // registered in one.
        let before = move |s: SocketRef, TryData(auth): TryData<Value>| {
            let chat = prepare.clone();
            async move { chat.prepare(s, auth.unwrap_or(Value::Null)).await }
        };
        io.ns(ns, connected.with(before));
    }
    let _ = chat.io.set(io);
    (svc, chat)
}

impl Chat {
    pub fn recovery(&self) -> bool {
        self.cfg.recovery
    }

    fn nick(&self, sid: Sid) -> String {
        self.nicks.lock().ok().and_then(|n| n.get(&sid).cloned()).unwrap_or_else(|| "anonymous".into())
    }

    /// Runs before socketioxide sends CONNECT (a middleware): everything a
    /// client may rely on as soon as it is connected — the event handlers, the
    /// default room — and, for a client asking to recover, a mark that keeps
    /// live messages from it until its backlog is replayed (see `on_connect`).
    async fn prepare(self: Arc<Self>, socket: SocketRef, auth: Value) -> Result<(), Infallible> {
        self.stats.connections.fetch_add(1, Ordering::Relaxed);
        let ns = namespace_of(&socket);
        // The default room named after the socket's id, as in socket.io.
        socket.join(socket.id.to_string());
        if self.cfg.recovery
            && auth["offset"].as_u64().is_some()
            && let Some(log) = self.logs.get(ns)
        {
            log.lock().await.recovering.insert(socket.id);
        }

        let me = self.clone();
        let throttle = me.clone();
        socket.on("join", async move |s: SocketRef, TryData(room): TryData<String>, ack: AckSender| {
            if let Some(e) = throttle.throttled(&s) {
                let _ = ack.send(&e);
                return;
            }
            match room.map_err(|_| ()).and_then(|r| Target::Room(r).single_room().ok_or(())) {
                Ok(r) => {
                    s.join(r);
                    let _ = ack.send(&json!({ "rooms": rooms_of(&s) }));
                }
                Err(()) => {
                    let _ = ack.send(
                        &json!({ "rooms": rooms_of(&s), "error": "join takes a room name of 1 to 64 characters" }),
                    );
                }
            }
        });
        let throttle = me.clone();
        socket.on("leave", async move |s: SocketRef, TryData(room): TryData<String>, ack: AckSender| {
            if let Some(e) = throttle.throttled(&s) {
                let _ = ack.send(&e);
                return;
            }
            if let Ok(r) = room
                && r != s.id.to_string()
            {
                s.leave(r.trim().to_string());
            }
            let _ = ack.send(&json!({ "rooms": rooms_of(&s) }));
        });
        let nicks = me.clone();
        socket.on("nick", async move |s: SocketRef, TryData(name): TryData<String>, ack: AckSender| {
            if let Some(e) = nicks.throttled(&s) {
                let _ = ack.send(&e);
                return;
            }
            let name = name.unwrap_or_default();
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 32 {
                let _ = ack.send(&json!({ "ok": false, "error": "a nickname is 1 to 32 characters" }));
                return;
            }
            if let Ok(mut n) = nicks.nicks.lock() {
                n.insert(s.id, name.to_string());
            }
            let _ = ack.send(&json!({ "ok": true, "nick": name }));
        });
        let chat = me.clone();
        socket.on("chat message", async move |s: SocketRef, TryData(msg): TryData<Value>, ack: AckSender| {
            let reply = match chat.throttled(&s) {
                Some(e) => e,
                None => chat.chat_message(&s, ns, msg.unwrap_or(Value::Null)).await,
            };
            let _ = ack.send(&reply);
        });
        let refuse = me.clone();
        socket.on_fallback(async move |s: SocketRef, Event(ev): Event, ack: AckSender| {
            if let Some(e) = refuse.throttled(&s) {
                let _ = ack.send(&e);
                return;
            }
            refuse.stats.refused.fetch_add(1, Ordering::Relaxed);
            let error = if RESERVED_EVENTS.contains(&ev.as_str()) {
                format!(
                    "\"{ev}\" is a reserved event name: Socket.IO uses it itself, so an application may not emit it. \
                     Pick another name."
                )
            } else {
                format!("this chat has no event \"{ev}\"; it understands join, leave, nick and chat message")
            };
            let _ = s.emit("chat error", &json!({ "event": ev, "error": error }));
            let _ = ack.send(&json!({ "ok": false, "error": error }));
        });
        let gone = me.clone();
        socket.on_disconnect(async move |s: SocketRef| {
            // socket.io itself makes the socket leave every room.
            if let Ok(mut n) = gone.nicks.lock() {
                n.remove(&s.id);
            }
            if let Ok(mut b) = gone.buckets.lock() {
                b.remove(&s.id);
            }
            if let Some(log) = gone.logs.get(ns) {
                log.lock().await.recovering.remove(&s.id);
            }
        });
        Ok(())
    }

    /// After CONNECT: rejoin the rooms the client says it was in, then (with
    /// recovery) replay what it missed — all while holding the namespace's
    /// log, and only then let live messages reach it again. A message logged
    /// before this point is replayed, one logged after it is delivered live:
    /// each exactly once, in order of offset.
    async fn on_connect(self: Arc<Self>, socket: SocketRef, auth: Value) {
        let ns = namespace_of(&socket);
        let rooms: Vec<String> = auth["rooms"]
            .as_array()
            .map(|a| a.iter().filter_map(|r| r.as_str()).filter(|r| !r.is_empty() && r.len() <= 64).take(32))
            .into_iter()
            .flatten()
            .map(str::to_string)
            .collect();
        let since = auth["offset"].as_u64();
        let Some(log) = self.logs.get(ns) else { return };
        let mut log = log.lock().await;
        for r in &rooms {
            socket.join(r.clone());
        }
        let backlog: Vec<&Logged> = match (self.cfg.recovery, since) {
            (true, Some(n)) => log
                .entries
                .iter()
                .filter(|e| e.offset > n)
                .filter(|e| e.rooms.as_ref().is_none_or(|rs| rs.iter().any(|r| rooms.contains(r))))
                .collect(),
            _ => Vec::new(),
        };
        let _ = socket.emit(
            "welcome",
            &json!({
                "id": socket.id.to_string(),
                "nsp": ns,
                "recovery": self.cfg.recovery,
                "offset": log.last_offset,
                "replayed": backlog.len(),
                "rooms": rooms_of(&socket),
            }),
        );
        for e in &backlog {
            let mut m = e.msg.clone();
            m["recovered"] = Value::Bool(true);
            let _ = socket.emit("chat message", &m);
        }
        self.stats.replayed.fetch_add(backlog.len() as u64, Ordering::Relaxed);
        log.recovering.remove(&socket.id);
    }

    /// `None` when the socket may send one more event now; else the ack
    /// that refuses it. A token bucket per socket: `CHAT_EVENTS_PER_SECOND`
    /// on average, bursts up to `CHAT_EVENT_BURST`.
    fn throttled(&self, s: &SocketRef) -> Option<Value> {
        use super::limits::{CHAT_EVENT_BURST, CHAT_EVENTS_PER_SECOND};
        let now = std::time::Instant::now();
        let mut b = self.buckets.lock().ok()?;
        let (tokens, last) = b.entry(s.id).or_insert((CHAT_EVENT_BURST, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * CHAT_EVENTS_PER_SECOND).min(CHAT_EVENT_BURST);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            return None;
        }
        self.stats.throttled.fetch_add(1, Ordering::Relaxed);
        Some(json!({ "ok": false, "error": format!(
            "too many events: this chat takes at most {CHAT_EVENTS_PER_SECOND} a second from one socket \
             (bursts of {CHAT_EVENT_BURST}); this one was dropped"
        ) }))
    }

    /// Delivers one chat message as its `to` asks; returns the ack's value.
    async fn chat_message(&self, s: &SocketRef, ns: &'static str, msg: Value) -> Value {
        let Some(text) = msg["text"].as_str() else {
            return json!({ "ok": false, "error": "a chat message is an object with a \"text\" string, e.g. {\"text\":\"hi\",\"to\":\"all\"}" });
        };
        if text.chars().count() > super::limits::CHAT_MAX_TEXT {
            return json!({ "ok": false, "error": format!(
                "a chat message's text is at most {} characters", super::limits::CHAT_MAX_TEXT
            ) });
        }
        let to = msg["to"].as_str().unwrap_or("all");
        let target = match to.parse::<Target>() {
            Ok(t) => t,
            Err(e) => return json!({ "ok": false, "error": e }),
        };
        let Some(io) = self.io.get() else { return json!({ "ok": false, "error": "server is starting" }) };
        if let Target::Socket(id) = &target {
            let found = Sid::from_str(id).ok().filter(|sid| io.of(ns).and_then(|o| o.get_socket(*sid)).is_some());
            if found.is_none() {
                return json!({ "ok": false, "error": format!("no connected socket with id \"{id}\" in namespace {ns}") });
            }
        }
        let log_ns: &'static str = match &target {
            Target::Namespace(n) => NAMESPACES.iter().find(|x| *x == n).copied().unwrap_or(ns),
            _ => ns,
        };
        let Some(log) = self.logs.get(log_ns) else { return json!({ "ok": false, "error": "unknown namespace" }) };
        let mut log = log.lock().await;
        log.last_offset += 1;
        let offset = log.last_offset;
        let out =
            json!({ "from": s.id.to_string(), "nick": self.nick(s.id), "text": text, "to": to, "offset": offset });
        const EV: &str = "chat message";
        // The lines of the cheatsheet as operators on the namespace
        // (socket.to(r) is "room r except me", socket.within(r) "room r and me").
        let here = io.of(log_ns).unwrap_or_else(|| io.broadcast());
        let me = s.id.to_string();
        let (ops, logged_rooms) = match &target {
            Target::SelfOnly => {
                let sent = s.emit(EV, &out).is_ok();
                return self.delivered(sent, offset);
            }
            Target::All | Target::Uncompressed | Target::Namespace(_) => (here, Some(None)),
            Target::Volatile => (here.volatile(), None),
            Target::Others => (here.except(me), Some(None)),
            Target::Room(r) => (here.to(r.clone()).except(me), Some(Some(vec![r.clone()]))),
            Target::RoomWithSelf(r) => (here.to([r.clone(), me]), Some(Some(vec![r.clone()]))),
            Target::Rooms(rs) => (here.to(rs.clone()).except(me), Some(Some(rs.clone()))),
            Target::Socket(id) => (here.to(id.clone()), None),
        };
        let logged = self.cfg.recovery && logged_rooms.is_some();
        let ops = if logged && !log.recovering.is_empty() {
            ops.except(log.recovering.iter().map(|sid| sid.to_string()).collect::<Vec<_>>())
        } else {
            ops
        };
        let sent = ops.emit(EV, &out).await.is_ok();
        if let (true, Some(rooms)) = (self.cfg.recovery, logged_rooms) {
            log.entries.push_back(Logged { offset, rooms, msg: out });
            while log.entries.len() > self.cfg.log_limit {
                log.entries.pop_front();
            }
        }
        self.delivered(sent, offset)
    }

    /// The ack of a chat message.
    fn delivered(&self, sent: bool, offset: u64) -> Value {
        self.stats.messages.fetch_add(1, Ordering::Relaxed);
        if sent {
            json!({ "ok": true, "offset": offset })
        } else {
            json!({ "ok": false, "offset": offset, "error": "the server could not send the message" })
        }
    }
}

fn namespace_of(s: &SocketRef) -> &'static str {
    NAMESPACES.iter().find(|n| **n == s.ns()).copied().unwrap_or("/")
}

fn rooms_of(s: &SocketRef) -> Vec<String> {
    let mut r: Vec<String> = s.rooms().into_iter().map(|r| r.to_string()).collect();
    r.sort();
    r
}

impl Target {
    fn single_room(self) -> Option<String> {
        match self {
            Target::Room(r) => {
                let r = r.trim().to_string();
                (!r.is_empty() && r.len() <= 64).then_some(r)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!("all".parse::<Target>(), Ok(Target::All));
        assert_eq!("".parse::<Target>(), Ok(Target::All));
        assert_eq!("room+self:a".parse::<Target>(), Ok(Target::RoomWithSelf("a".into())));
        assert_eq!("rooms:a,b".parse::<Target>(), Ok(Target::Rooms(vec!["a".into(), "b".into()])));
        assert_eq!("nsp:/admin".parse::<Target>(), Ok(Target::Namespace("/admin".into())));
        assert!("nsp:/nope".parse::<Target>().unwrap_err().contains("no namespace"));
        assert!("rooms:a,".parse::<Target>().is_err());
        assert!("everyone".parse::<Target>().unwrap_err().contains("not a target"));
    }
}
