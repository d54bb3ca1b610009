//! The socket.io chat demo. The Engine.IO v4 / Socket.IO v5 protocol —
//! long-polling, the upgrade to WebSocket, heartbeats, namespaces, rooms,
//! acknowledgements, volatile emits — is `socketioxide`'s; this file is the
//! chat itself: its fixed event API (assets/chat/API.md), which emit of the
//! cheatsheet each `to` value picks, and the optional message log that lets a
//! reconnecting client catch up on what it missed (`--recovery`).
//!
//! One chat is one node. With `--redis URL` it joins the other nodes that
//! use the same Redis through socketioxide's Redis adapter
//! (`socketioxide-redis`, RESP3 pub/sub, MessagePack payloads): a broadcast
//! goes to Redis, which hands it to every node, and each node delivers it to
//! its own clients. The chat is generic over the adapter, so the same code
//! is the single node (socketioxide's local adapter) and one of many.

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
use socketioxide::adapter::{Adapter, LocalAdapter};
use socketioxide::extract::{AckSender, Event, SocketRef, TryData};
use socketioxide::handler::ConnectHandler as _;
use socketioxide::operators::BroadcastOperators;
use socketioxide::socket::Sid;
use socketioxide_redis::drivers::redis::{RedisDriver, redis_client as redis};
use socketioxide_redis::{RedisAdapter, RedisAdapterConfig, RedisAdapterCtr};

/// A chat node joined to others through Redis.
pub type RedisChat = Chat<RedisNode>;

/// socketioxide's adapter over Redis.
pub type RedisNode = RedisAdapter<socketioxide::adapter::Emitter>;

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
    /// Join the other chat nodes through this Redis server
    /// (`redis://HOST:PORT`); `None`: a single node.
    pub redis: Option<String>,
}

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig { recovery: false, log_limit: 10_000, redis: None }
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
    /// `io.local.emit`: everyone in the namespace on this node only.
    Local,
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
            "local" => Target::Local,
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
                         socket:ID, nsp:/admin, local, volatile or uncompressed"
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

pub struct Chat<A: Adapter = LocalAdapter> {
    cfg: ChatConfig,
    io: OnceLock<SocketIo<A>>,
    /// This node's id: socketioxide's server id, the one the Redis adapter
    /// puts in its channel names (`socket.io-request#/#ID#`).
    node: OnceLock<String>,
    /// One log per namespace. A tokio mutex, held while a message gets its
    /// offset and is emitted, and while a reconnecting client rejoins and is
    /// replayed its backlog: so no message is both replayed and delivered
    /// live, and none falls between the two.
    logs: HashMap<&'static str, tokio::sync::Mutex<NsLog>>,
    nicks: Mutex<HashMap<Sid, String>>,
    /// Each socket's token bucket: (tokens left, when last filled).
    buckets: Mutex<HashMap<Sid, (f64, std::time::Instant)>>,
    pub stats: Arc<ChatStats>,
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

/// The service a chat node serves connections with.
pub type ChatService<A = LocalAdapter> = socketioxide::service::SocketIoService<PageService, A>;

/// The chat state before socketioxide is built around it.
fn state<A: Adapter>(cfg: ChatConfig) -> Arc<Chat<A>> {
    Arc::new(Chat {
        cfg,
        io: OnceLock::new(),
        node: OnceLock::new(),
        logs: NAMESPACES.iter().map(|n| (*n, tokio::sync::Mutex::new(NsLog::default()))).collect(),
        nicks: Mutex::new(HashMap::new()),
        buckets: Mutex::new(HashMap::new()),
        stats: Arc::default(),
    })
}

/// socketioxide's builder with the chat's limits.
fn builder() -> socketioxide::SocketIoBuilder {
    use super::limits::CHAT_MAX_PAYLOAD;
    SocketIo::builder()
        // Over polling, and over WebSocket (which max_payload does not cover).
        .max_payload(CHAT_MAX_PAYLOAD as u64)
        .ws_max_message_size(CHAT_MAX_PAYLOAD)
        .ws_max_frame_size(CHAT_MAX_PAYLOAD)
        // A handshake that never connects a namespace is let go sooner.
        .connect_timeout(std::time::Duration::from_secs(10))
}

/// Registers the chat's namespaces on `$io` (a `SocketIo` of a concrete
/// adapter: only those have `ns`), and evaluates to what each `ns` returned
/// (nothing for the local adapter, the Redis subscription's future for Redis).
macro_rules! namespaces {
    ($io:expr, $chat:expr) => {{
        let mut inits = Vec::new();
        for ns in NAMESPACES {
            let (chat, prepare) = ($chat.clone(), $chat.clone());
            let connected = move |s: SocketRef<_>, TryData(auth): TryData<Value>| {
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
            let before = move |s: SocketRef<_>, TryData(auth): TryData<Value>| {
                let chat = prepare.clone();
                async move { chat.prepare(s, auth.unwrap_or(Value::Null)).await }
            };
            inits.push($io.ns(ns, connected.with(before)));
        }
        inits
    }};
}

/// Builds a single chat node: the hyper service to serve connections with,
/// and the chat state.
pub fn build(cfg: ChatConfig) -> (ChatService, Arc<Chat>) {
    let chat = state(cfg);
    let (svc, io) = builder().build_with_inner_svc(PageService);
    namespaces!(io, chat);
    chat.started(io);
    (svc, chat)
}

/// Builds a chat node joined to the others through the Redis server at
/// `url`. Fails (with what to do) when Redis cannot be reached or does not
/// speak RESP3 (Redis 7 and later do).
pub async fn build_redis(cfg: ChatConfig, url: &str) -> anyhow::Result<(ChatService<RedisNode>, Arc<RedisChat>)> {
    use anyhow::Context as _;
    if cfg.recovery {
        anyhow::bail!(
            "--recovery keeps one node's own message log, which messages from the other nodes would bypass: \
             run the nodes without it"
        );
    }
    // The adapter's driver reads pub/sub messages as RESP3 pushes.
    let resp3 = if url.contains("protocol=") {
        url.to_string()
    } else {
        format!("{url}{}protocol=resp3", if url.contains('?') { '&' } else { '?' })
    };
    let client = redis::Client::open(resp3.as_str())
        .with_context(|| format!("\"{url}\" is not a Redis address; write it as redis://HOST:PORT"))?;
    let connect = async {
        let driver = RedisDriver::new(&client).await?;
        Ok::<_, redis::RedisError>(RedisAdapterCtr::new_with_driver(driver, redis_config()))
    };
    let adapter = tokio::time::timeout(std::time::Duration::from_secs(5), connect)
        .await
        .map_err(|_| anyhow::anyhow!("Redis at {url} did not answer within 5 s"))?
        .map_err(|e| redis_error(url, &e))?;
    let chat = state(cfg);
    let (svc, io) = builder().with_adapter::<RedisNode>(adapter).build_with_inner_svc(PageService);
    for init in namespaces!(io, chat) {
        init.await.map_err(|e| anyhow::anyhow!("could not subscribe to the chat's channels on Redis at {url}: {e}"))?;
    }
    chat.started(io);
    Ok((svc, chat))
}

/// The adapter's settings: a node that asks the others (the sockets of a
/// private message's target) waits at most 2 s for their answers.
fn redis_config() -> RedisAdapterConfig {
    RedisAdapterConfig::new().with_request_timeout(std::time::Duration::from_secs(2))
}

/// What a failed connection to Redis means, and what to do.
fn redis_error(url: &str, e: &redis::RedisError) -> anyhow::Error {
    let hint = if e.is_connection_refusal() {
        "nothing listens there: start one with `redis-server --port PORT --save ''` (Debian: apt install redis-server), or drop --redis to run a single node"
    } else if e.to_string().contains("HELLO")
        || e.to_string().contains("RESP3")
        || e.to_string().contains("unknown command")
    {
        "the chat's Redis adapter needs RESP3 (Redis 7 or later)"
    } else {
        "check the address (redis://HOST:PORT) and that the server accepts this client"
    };
    anyhow::anyhow!("cannot join the chat nodes through Redis at {url}: {e}. {hint}")
}

impl<A: Adapter> Chat<A> {
    pub fn recovery(&self) -> bool {
        self.cfg.recovery
    }

    fn started(&self, io: SocketIo<A>) {
        let _ = self.node.set(io.config().server_id.to_string());
        let _ = self.io.set(io);
    }

    /// This node's id (the `node` of `welcome` and `chat message`).
    pub fn node(&self) -> &str {
        self.node.get().map_or("", String::as_str)
    }

    fn nick(&self, sid: Sid) -> String {
        self.nicks.lock().ok().and_then(|n| n.get(&sid).cloned()).unwrap_or_else(|| "anonymous".into())
    }

    /// Runs before socketioxide sends CONNECT (a middleware): everything a
    /// client may rely on as soon as it is connected — the event handlers, the
    /// default room — and, for a client asking to recover, a mark that keeps
    /// live messages from it until its backlog is replayed (see `on_connect`).
    async fn prepare(self: Arc<Self>, socket: SocketRef<A>, auth: Value) -> Result<(), Infallible> {
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
        socket.on("join", async move |s: SocketRef<A>, TryData(room): TryData<String>, ack: AckSender<A>| {
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
        socket.on("leave", async move |s: SocketRef<A>, TryData(room): TryData<String>, ack: AckSender<A>| {
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
        socket.on("nick", async move |s: SocketRef<A>, TryData(name): TryData<String>, ack: AckSender<A>| {
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
        socket.on("chat message", async move |s: SocketRef<A>, TryData(msg): TryData<Value>, ack: AckSender<A>| {
            let reply = match chat.throttled(&s) {
                Some(e) => e,
                None => chat.chat_message(&s, ns, msg.unwrap_or(Value::Null)).await,
            };
            let _ = ack.send(&reply);
        });
        let refuse = me.clone();
        socket.on_fallback(async move |s: SocketRef<A>, Event(ev): Event, ack: AckSender<A>| {
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
        socket.on_disconnect(async move |s: SocketRef<A>| {
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
    async fn on_connect(self: Arc<Self>, socket: SocketRef<A>, auth: Value) {
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
                "node": self.node(),
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
    fn throttled(&self, s: &SocketRef<A>) -> Option<Value> {
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
    async fn chat_message(&self, s: &SocketRef<A>, ns: &'static str, msg: Value) -> Value {
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
        if let Target::Socket(id) = &target
            && !self.socket_exists(io, ns, id).await
        {
            return json!({ "ok": false, "error": format!("no connected socket with id \"{id}\" in namespace {ns}") });
        }
        let log_ns: &'static str = match &target {
            Target::Namespace(n) => NAMESPACES.iter().find(|x| *x == n).copied().unwrap_or(ns),
            _ => ns,
        };
        let Some(log) = self.logs.get(log_ns) else { return json!({ "ok": false, "error": "unknown namespace" }) };
        let mut log = log.lock().await;
        log.last_offset += 1;
        let offset = log.last_offset;
        let out = json!({
            "from": s.id.to_string(), "nick": self.nick(s.id), "text": text, "to": to, "offset": offset,
            "node": self.node(),
        });
        const EV: &str = "chat message";
        if target == Target::SelfOnly {
            let sent = s.emit(EV, &out).is_ok();
            return self.delivered(sent, offset, None);
        }
        let logged_rooms = target.logged_rooms();
        let logged = self.cfg.recovery && logged_rooms.is_some();
        let except: Vec<String> =
            if logged { log.recovering.iter().map(|sid| sid.to_string()).collect() } else { Vec::new() };
        let here = || io.of(log_ns).unwrap_or_else(|| io.broadcast());
        let mut warning = None;
        // A broadcast through Redis waits at most this long for it.
        const REDIS_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
        let emit = target.select(here(), s.id).except(except.clone()).emit(EV, &out);
        // Ok(sent), or Err(why the other nodes could not be reached).
        let outcome = match tokio::time::timeout(REDIS_WAIT, emit).await {
            Ok(Ok(())) => Ok(true),
            Ok(Err(socketioxide::BroadcastError::Adapter(e))) => Err(e.to_string()),
            Ok(Err(_)) => Ok(false),
            Err(_) => Err(format!("no answer within {} s", REDIS_WAIT.as_secs())),
        };
        let sent = match outcome {
            Ok(sent) => sent,
            // The other nodes cannot be reached (Redis is down): this node's
            // own clients still get the message, and the sender is told.
            Err(e) => {
                warning = Some(format!(
                    "delivered on this node only: the other nodes could not be reached through Redis ({e})"
                ));
                target.select(here().local(), s.id).except(except).emit(EV, &out).await.is_ok()
            }
        };
        if let (true, Some(rooms)) = (self.cfg.recovery, logged_rooms) {
            log.entries.push_back(Logged { offset, rooms, msg: out });
            while log.entries.len() > self.cfg.log_limit {
                log.entries.pop_front();
            }
        }
        self.delivered(sent, offset, warning)
    }

    /// Whether a socket with this id is connected in the namespace, on this
    /// node or (through the adapter) on another.
    async fn socket_exists(&self, io: &SocketIo<A>, ns: &str, id: &str) -> bool {
        let Ok(sid) = Sid::from_str(id) else { return false };
        let Some(here) = io.of(ns) else { return false };
        if here.get_socket(sid).is_some() {
            return true;
        }
        here.to(id.to_string()).fetch_sockets().await.is_ok_and(|s| !s.is_empty())
    }

    /// The ack of a chat message.
    fn delivered(&self, sent: bool, offset: u64, warning: Option<String>) -> Value {
        self.stats.messages.fetch_add(1, Ordering::Relaxed);
        match (sent, warning) {
            (true, None) => json!({ "ok": true, "offset": offset }),
            (true, Some(w)) => json!({ "ok": true, "offset": offset, "warning": w }),
            (false, _) => json!({ "ok": false, "offset": offset, "error": "the server could not send the message" }),
        }
    }
}

fn namespace_of<A: Adapter>(s: &SocketRef<A>) -> &'static str {
    NAMESPACES.iter().find(|n| **n == s.ns()).copied().unwrap_or("/")
}

fn rooms_of<A: Adapter>(s: &SocketRef<A>) -> Vec<String> {
    let mut r: Vec<String> = s.rooms().into_iter().map(|r| r.to_string()).collect();
    r.sort();
    r
}

impl Target {
    /// The line of the emit cheatsheet as operators on the namespace `here`
    /// (`socket.to(r)` is "room r except me", `socket.within(r)` "room r and
    /// me"). Not for `SelfOnly`, which is the socket's own emit.
    fn select<A: Adapter>(&self, here: BroadcastOperators<A>, me: Sid) -> BroadcastOperators<A> {
        let me = me.to_string();
        match self {
            Target::All | Target::Uncompressed | Target::Namespace(_) | Target::SelfOnly => here,
            Target::Local => here.local(),
            Target::Volatile => here.volatile(),
            Target::Others => here.except(me),
            Target::Room(r) => here.to(r.clone()).except(me),
            Target::RoomWithSelf(r) => here.to([r.clone(), me]),
            Target::Rooms(rs) => here.to(rs.clone()).except(me),
            Target::Socket(id) => here.to(id.clone()),
        }
    }

    /// For the recovery log: `Some(None)` for a message to everyone,
    /// `Some(Some(rooms))` for one to rooms, `None` for one that is not
    /// logged (volatile, private, this node only).
    fn logged_rooms(&self) -> Option<Option<Vec<String>>> {
        match self {
            Target::All | Target::Uncompressed | Target::Namespace(_) | Target::Others => Some(None),
            Target::Room(r) | Target::RoomWithSelf(r) => Some(Some(vec![r.clone()])),
            Target::Rooms(rs) => Some(Some(rs.clone())),
            Target::Volatile | Target::Socket(_) | Target::Local | Target::SelfOnly => None,
        }
    }

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
        assert_eq!("local".parse::<Target>(), Ok(Target::Local));
    }
}
