//! Scenarios: the servers and scripted clients a lesson needs, run to the end,
//! optionally recorded to a pcap. `wirelab scenario NAME [--write FILE]`.
//!
//! The echo clients use yawc. The chat clients speak Socket.IO over the
//! WebSocket transport with [`SioClient`], a deliberately small client (the
//! Engine.IO open packet, namespace connects, events, acks, heartbeats):
//! enough for scripted lessons; the tests use the official npm client.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use futures_util::SinkExt;
use serde_json::{Value, json};
use yawc::{Frame, OpCode, Options, WebSocket};

use super::client::{ClientConfig, Transport};
use super::{Impairment, Kind, ServeConfig, Servers};
use crate::capture::{CaptureConfig, CaptureEvent, CaptureHandle};

pub const SCENARIOS: [(&str, &str); 11] = [
    ("echo-basics", "text, binary, 16- and 64-bit lengths, a fragmented message, ping/pong, close"),
    ("echo-deflate", "the same messages with permessage-deflate: compressed frames, context takeover"),
    ("chat-rooms", "three socket.io clients, two rooms, /admin, an ack, a broadcast, a private message"),
    (
        "chat-missed-events",
        "a client misses messages while away; then the same with --recovery; then Redis pub/sub and a Stream with a consumer group",
    ),
    ("chat-polling-upgrade", "a socket.io client starts on HTTP long-polling, then upgrades to WebSocket"),
    ("tcp-vs-udp", "the same 50 requests over TCP and UDP, then again with UDP impairment"),
    ("echo-tls", "WebSocket messages of three sizes over wss:// (TLS 1.3); the recording carries its keys"),
    ("chat-tls", "two socket.io clients chat over wss:// (TLS 1.3); the recording carries its keys"),
    (
        "chat-two-nodes",
        "two chat nodes joined through Redis: a broadcast crosses, io.local.emit stays, polling needs sticky sessions",
    ),
    ("tcp-bulk", "1 MB over TCP through a slow, lossy path (a queue with root): slow start, back-off, a zero window"),
    ("all", "every scenario above but tcp-bulk (which changes loopback's queue), one after the other"),
];

pub struct Outcome {
    pub lines: Vec<String>,
    pub frames: u64,
}

/// Runs a scenario; with `write`, captures loopback traffic of the servers it starts.
/// With `redis`, the scenarios that need a Redis server use the one that
/// runs there instead of starting their own.
pub fn run(name: &str, write: Option<PathBuf>, redis: Option<&str>) -> anyhow::Result<Outcome> {
    run_in(name, write, None, &super::tls::default_dir(), redis)
}

/// Runs a scenario and, with a `token`, ends it by sending the token over
/// the scenario's own protocol (a WebSocket message, a chat nickname, a demo
/// request's payload), so the recording carries a mark of the student who
/// made it (`wirelab lab run`, checked by `lab check --key`).
pub fn run_signed(name: &str, write: Option<PathBuf>, token: Option<&str>) -> anyhow::Result<Outcome> {
    run_in(name, write, token, &super::tls::default_dir(), None)
}

/// [`run_signed`], the TLS scenarios' servers keeping their certificate and
/// key log in `tls_dir`.
pub fn run_in(
    name: &str,
    write: Option<PathBuf>,
    token: Option<&str>,
    tls_dir: &std::path::Path,
    redis: Option<&str>,
) -> anyhow::Result<Outcome> {
    if !SCENARIOS.iter().any(|(n, _)| *n == name) {
        bail!(
            "no scenario \"{name}\"; there are: {}",
            SCENARIOS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        );
    }
    if redis.is_some() && name != "chat-two-nodes" {
        // The broker lesson publishes on `news` and deletes a Stream `jobs`:
        // only on a server of its own.
        bail!("--redis is for the scenario chat-two-nodes; {name} starts a Redis server of its own");
    }
    let mut cfg = ServeConfig::default();
    // The lesson ports when they are free, so captures look like the labs; any port otherwise.
    for k in Kind::ALL {
        let free = match k {
            Kind::Udp => std::net::UdpSocket::bind(("127.0.0.1", k.default_port())).is_ok(),
            _ => std::net::TcpListener::bind(("127.0.0.1", k.default_port())).is_ok(),
        };
        if !free {
            cfg.ports[k as usize] = 0;
        }
    }
    let servers = Servers::start(&cfg, &Kind::ALL)?;
    // The second halves of two lessons: a chat with the recovery log, a UDP server that impairs.
    let mut c2 = ServeConfig::any_port();
    c2.chat.recovery = true;
    c2.impair = Impairment { loss: 0.1, duplicate: 0.05, reorder: 0.1, delay: Duration::from_millis(5), seed: 7 };
    let extra = Servers::start(&c2, &[Kind::Chat, Kind::Udp])?;
    let names: Vec<&str> = if name == "all" {
        SCENARIOS.iter().map(|(n, _)| *n).filter(|n| !matches!(*n, "all" | "tcp-bulk")).collect()
    } else {
        vec![name]
    };
    // Echo and chat over TLS, for the scenarios that need them: the
    // certificate and key log of `wirelab serve --tls`, in the data folder.
    let secure = if names.iter().any(|n| n.ends_with("-tls")) {
        let c = ServeConfig { tls: Some(tls_dir.to_path_buf()), ..ServeConfig::any_port() };
        Some(Servers::start(&c, &[Kind::Echo, Kind::Chat])?)
    } else {
        None
    };
    // One Redis server for the scenarios that use one: the two chat nodes
    // meet in it, and the missed-events lesson ends on it as a broker
    // (without redis-server that half is left out, and the scenario says so).
    // `--redis URL` names one that runs already.
    let redis = names.iter().any(|n| matches!(*n, "chat-two-nodes" | "chat-missed-events")).then(|| match redis {
        Some(url) => super::redis::RedisServer::existing(url),
        None => super::redis::RedisServer::start(),
    });
    let broker = redis.as_ref().map(|r| r.as_ref().map_err(|e| format!("{e:#}")));
    // The nodes' ports: the nodes start once the capture runs, so it has
    // their HELLO and SUBSCRIBE to Redis.
    let meeting = match (names.contains(&"chat-two-nodes"), &broker) {
        (true, Some(Ok(r))) => Some(Meeting::start(r)?),
        // Alone, the scenario cannot run; in `all`, it is left out.
        (true, Some(Err(e))) if name != "all" => bail!("{e}"),
        _ => None,
    };
    let mut bulk = names.contains(&"tcp-bulk").then(super::bulk::Bulk::bind).transpose()?;
    let ports: Vec<u16> = servers
        .listening
        .iter()
        .chain(&extra.listening)
        .chain(secure.iter().flat_map(|s| &s.listening))
        .map(|l| l.addr.port())
        .chain(meeting.iter().flat_map(|m| m.ports))
        .chain(broker.iter().flatten().map(|r| r.addr.port()))
        .chain(bulk.iter().map(|b| b.port))
        .collect();
    let capture = match &write {
        Some(path) => {
            let filter = ports.iter().map(|p| format!("port {p}")).collect::<Vec<_>>().join(" or ");
            let h = CaptureHandle::start(CaptureConfig {
                filter: Some(filter),
                output: Some(path.clone()),
                ..CaptureConfig::default()
            })
            // The CaptureError keeps its type, so callers (the GUI) can tell missing rights apart.
            .context("cannot record the scenario (the scenario itself needs no privileges: run it without --write)")?;
            // The capture is open and filtered once `start` returns: the
            // kernel queues every packet from here on, so no wait is needed.
            Some(h)
        }
        None => None,
    };
    let nodes = meeting.map(Meeting::join).transpose()?;
    let mut lines = Vec::new();
    if let (Some(Ok(r)), Some(_)) = (&broker, &write)
        && !r.addr.ip().is_loopback()
    {
        lines.push(format!(
            "(Redis at {} is not on this machine's loopback: the recording has the chat, not what crosses Redis)",
            r.addr
        ));
    }
    let chat_port = servers.addr(Kind::Chat).map(|a| a.port()).unwrap_or(0);
    for n in names {
        lines.push(format!("== {n}"));
        let r = match n {
            "echo-basics" => servers.block_on(echo(&servers, false, &mut lines)),
            "echo-deflate" => servers.block_on(echo(&servers, true, &mut lines)),
            "chat-rooms" => servers.block_on(chat_rooms(chat_port, &mut lines)),
            "chat-missed-events" => {
                let recovering = extra.addr(Kind::Chat).map(|a| a.port()).unwrap_or(0);
                let r = servers.block_on(missed(chat_port, "without recovery", &mut lines));
                lines.push(format!("(now the chat server with --recovery, on port {recovering})"));
                let r = r.and(servers.block_on(missed(recovering, "with recovery", &mut lines)));
                match &broker {
                    Some(Ok(redis)) => r.and(servers.block_on(redis_queues(redis, &mut lines))),
                    Some(Err(e)) => {
                        lines.push(format!("(the same on a real broker is left out: {e})"));
                        r
                    }
                    None => r,
                }
            }
            "chat-polling-upgrade" => servers.block_on(polling_upgrade(chat_port, &mut lines)),
            "tcp-vs-udp" => servers.block_on(tcp_vs_udp(&servers, &extra, c2.impair, &mut lines)),
            "echo-tls" | "chat-tls" => match &secure {
                Some(tls) if n == "echo-tls" => tls.block_on(echo_tls(tls, &mut lines)),
                Some(tls) => tls.block_on(chat_tls(tls, &mut lines)),
                None => unreachable!("the TLS servers start when a TLS scenario runs"),
            },
            "chat-two-nodes" => match (&nodes, &broker) {
                (Some(n), _) => n.a.block_on(two_nodes(n, &mut lines)),
                (None, Some(Err(e))) => {
                    lines.push(format!("(left out: {e})"));
                    Ok(())
                }
                (None, _) => unreachable!("the nodes start when their scenario runs"),
            },
            "tcp-bulk" => match bulk.take() {
                Some(b) => b.run(&mut lines),
                None => unreachable!("the transfer's socket is bound when its scenario runs"),
            },
            _ => Ok(()),
        };
        r.with_context(|| format!("scenario {n} failed"))?;
    }
    if let Some(t) = token {
        servers.block_on(sign(&servers, name, t)).context("signing the recording failed")?;
        lines.push(format!("signed the recording with the student's token {t}"));
    }
    let mut frames = 0;
    if let Some(h) = capture {
        // Not a wait for correctness (stop keeps what was queued): it lets
        // the last connections' FIN exchanges happen, so the recording ends
        // with each connection's teardown.
        std::thread::sleep(Duration::from_millis(200));
        h.stop();
        while let Ok(ev) = h.events().recv_timeout(PATIENCE) {
            match ev {
                CaptureEvent::Finished { stats, .. } => {
                    frames = stats.captured;
                    break;
                }
                CaptureEvent::Failed(e) => bail!("the capture failed: {e}"),
                _ => {}
            }
        }
    }
    if let (Some(path), Some(tls)) = (&write, &secure) {
        // The secrets the servers logged during this run (the key log may be
        // shared with other servers: only the recording's sessions are kept).
        let keys = tls.tls.as_ref().map(|t| t.key_log.read_since_open()).transpose()?.unwrap_or_default();
        let sessions = add_keys_to_recording(path, &keys)?;
        lines.push(format!(
            "the recording carries the secrets of its {sessions} TLS session{} (a pcapng Decryption Secrets Block): \
             wirelab, Wireshark and tshark decrypt it as it is",
            if sessions == 1 { "" } else { "s" }
        ));
    }
    servers.stop();
    extra.stop();
    if let Some(s) = secure {
        s.stop();
    }
    if let Some(n) = nodes {
        n.stop();
    }
    // Redis last: the nodes have left it.
    drop(redis);
    Ok(Outcome { lines, frames })
}

/// The Redis server two chat nodes will meet in, and two free ports for them.
struct Meeting {
    redis: std::net::SocketAddr,
    url: String,
    ports: [u16; 2],
}

impl Meeting {
    fn start(redis: &super::redis::RedisServer) -> anyhow::Result<Meeting> {
        // The lesson's ports (9012, 9013) when they are free, any otherwise;
        // both held at once, so the two are different.
        let free = |want: u16| {
            std::net::TcpListener::bind(("127.0.0.1", want)).or_else(|_| std::net::TcpListener::bind(("127.0.0.1", 0)))
        };
        let (a, b) = (free(9012)?, free(9013)?);
        let ports = [a.local_addr()?.port(), b.local_addr()?.port()];
        Ok(Meeting { redis: redis.addr, url: redis.url(), ports })
    }

    /// Starts the two nodes, each joining through the Redis server.
    fn join(self) -> anyhow::Result<TwoNodes> {
        let node = |port: u16| {
            let mut cfg = ServeConfig::any_port();
            cfg.ports[Kind::Chat as usize] = port;
            cfg.chat.redis = Some(self.url.clone());
            Servers::start(&cfg, &[Kind::Chat])
        };
        let (a, b) = (node(self.ports[0])?, node(self.ports[1])?);
        Ok(TwoNodes { redis: self.redis, a, b })
    }
}

/// Two chat nodes joined through a Redis server (which outlives them).
struct TwoNodes {
    redis: std::net::SocketAddr,
    a: Servers,
    b: Servers,
}

impl TwoNodes {
    fn stop(self) {
        self.a.stop();
        self.b.stop();
    }
}

/// What crosses Redis between two chat nodes and what does not, and why
/// long-polling needs every request of a session to reach the same node.
async fn two_nodes(n: &TwoNodes, out: &mut Vec<String>) -> anyhow::Result<()> {
    let port = |s: &Servers| s.addr(Kind::Chat).map(|a| a.port()).context("a node has no chat");
    let (pa, pb) = (port(&n.a)?, port(&n.b)?);
    let ns = [("/", json!({}))];
    let mut a1 = SioClient::connect("A1", pa, &ns).await?;
    let mut a2 = SioClient::connect("A2", pa, &ns).await?;
    let mut b1 = SioClient::connect("B1", pb, &ns).await?;
    let node = |s: &Servers| s.chat_node.clone().unwrap_or_default();
    out.push(format!(
        "two nodes: A1 {} and A2 {} on node A ({}, port {pa}); B1 {} on node B ({}, port {pb}); Redis on port {}",
        a1.id,
        a2.id,
        node(&n.a),
        b1.id,
        node(&n.b),
        n.redis.port()
    ));
    a1.emit_ack("/", "chat message", json!({ "text": "hello, both nodes", "to": "all" })).await?;
    b1.wait_for("chat message", 1).await?;
    a2.wait_for("chat message", 1).await?;
    out.push(
        "two nodes: A1 sent to everyone; node A delivered it to A1 and A2 and published it on Redis, \
         where node B got it and delivered it to B1"
            .into(),
    );
    a1.emit_ack("/", "chat message", json!({ "text": "only on node A", "to": "local" })).await?;
    a2.wait_for("chat message", 2).await?;
    // Redis hands a node's publications to the others in order: once B1
    // has the next broadcast, it has everything A published before.
    a1.emit_ack("/", "chat message", json!({ "text": "one more for everyone", "to": "all" })).await?;
    b1.wait_for("chat message", 2).await?;
    if b1.texts().iter().any(|t| t == "only on node A") {
        bail!("the \"local\" message reached node B");
    }
    out.push(format!(
        "two nodes: \"local\" (io.local.emit) reached A2 and not B1: it never went to Redis (B1 has {:?})",
        b1.texts()
    ));
    b1.emit_ack("/", "join", json!("lab")).await?;
    a1.emit_ack("/", "chat message", json!({ "text": "to the lab room", "to": "room:lab" })).await?;
    b1.wait_for("chat message", 3).await?;
    out.push("two nodes: B1 joined room lab on node B; A1's message to the room crossed Redis to it".into());
    let private = format!("socket:{}", b1.id);
    a1.emit_ack("/", "chat message", json!({ "text": "just for B1", "to": private })).await?;
    b1.wait_for("chat message", 4).await?;
    out.push("two nodes: a private message from A1 to B1, a socket on the other node, crossed too".into());
    a1.close().await;
    a2.close().await;
    b1.close().await;
    // Long-polling: the session lives on the node that opened it.
    let mut open = Poll::connect(pa).await?;
    let handshake = open.request("", None).await?;
    let handshake: Value =
        serde_json::from_str(handshake[0].strip_prefix('0').context("expected the Engine.IO open packet")?)?;
    let sid = handshake["sid"].as_str().context("no sid in the open packet")?.to_string();
    let mut other = Poll::connect(pb).await?;
    match other.request(&sid, None).await {
        Err(e) => out.push(format!(
            "sticky sessions: node A opened polling session {sid}; the next GET went to node B, which answered: {e}. \
             Without a load balancer that keeps a session on one node, polling fails; WebSocket needs one request only"
        )),
        Ok(_) => bail!("node B answered a polling request for a session that node A opened"),
    }
    open.request(&sid, Some("1")).await.ok();
    Ok(())
}

/// Rewrites a recording as pcapng with the secrets of its TLS sessions in
/// a Decryption Secrets Block, in place (written whole, private, then
/// renamed over it). Says how many sessions' secrets it holds.
fn add_keys_to_recording(
    path: &std::path::Path,
    keys: &crate::dissect::app::tls::keylog::KeyLog,
) -> anyhow::Result<usize> {
    let cap =
        crate::file::Capture::open(path).with_context(|| format!("cannot read the recording {}", path.display()))?;
    let mut frames = Vec::new();
    let mut linktype = 1;
    for f in cap.frames() {
        let f = f.with_context(|| format!("the recording {} is damaged", path.display()))?;
        linktype = f.meta.linktype;
        frames.push((f.meta.ts_sec, f.meta.ts_nsec, f.meta.len, f.data));
    }
    let frames: Vec<crate::file::FrameOut<'_>> = frames.iter().map(|(s, n, l, d)| (*s, *n, *l, &d[..])).collect();
    let mut out = Vec::new();
    let sessions = crate::file::write_capture(&mut out, linktype, 262_144, Some(keys), &frames, &Default::default())?;
    crate::file::write_whole(path, &out).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(sessions)
}

/// WebSocket messages of three sizes over `wss://`: what an eavesdropper
/// sees is their sizes and timing, what the key log shows is the text.
async fn echo_tls(tls: &Servers, out: &mut Vec<String>) -> anyhow::Result<()> {
    let addr = tls.addr(Kind::Echo).context("no TLS echo server")?;
    let connector = tls.tls.as_ref().context("the echo server has no TLS")?.connector()?;
    // By name (the certificate is for localhost), to the address it listens on.
    let url = format!("wss://localhost:{}/", addr.port());
    let mut ws = WebSocket::connect(url.parse()?)
        .with_connector(connector)
        .with_tcp_address(addr)
        .with_options(Options::default().without_compression())
        .await
        .with_context(|| format!("could not open {url}"))?;
    for text in ["hi", "Hello over TLS, wirelab!", "a longer message. ".repeat(12).trim_end()] {
        ws.send(Frame::text(text.to_string())).await?;
        let back = tokio::time::timeout(PATIENCE, ws.next_frame()).await.context("the echo never came back")??;
        out.push(format!(
            "echo-tls: sent {} characters of text over wss://; {} came back (inside TLS records a little larger)",
            text.len(),
            back.payload().len()
        ));
    }
    ws.close().await.ok();
    out.push(
        "echo-tls: closed; the server's certificate is for \"localhost\", the name the client sent in its ClientHello"
            .into(),
    );
    Ok(())
}

/// Two socket.io clients chat over `wss://`.
async fn chat_tls(tls: &Servers, out: &mut Vec<String>) -> anyhow::Result<()> {
    let addr = tls.addr(Kind::Chat).context("no TLS chat server")?;
    let connector = tls.tls.as_ref().context("the chat server has no TLS")?.connector()?;
    let url = format!("wss://localhost:{}/socket.io/?EIO=4&transport=websocket", addr.port());
    let target = Target { url, tls: Some((connector, addr)) };
    let mut a = SioClient::connect_to("A", &target, &[("/", json!({}))]).await?;
    let mut b = SioClient::connect_to("B", &target, &[("/", json!({}))]).await?;
    out.push(format!("chat-tls: A {} and B {} connected over wss://", a.id, b.id));
    a.emit_ack("/", "nick", json!("ana")).await?;
    for text in ["hi", "can anyone read this?"] {
        let ack = a.emit_ack("/", "chat message", json!({ "text": text, "to": "all" })).await?;
        out.push(format!("chat-tls: A sent {text:?} to everyone; ack {ack}"));
    }
    b.wait_for("chat message", 2).await?;
    b.emit_ack("/", "chat message", json!({ "text": "only with the key log", "to": "all" })).await?;
    a.wait_for("chat message", 3).await?;
    out.push(format!("chat-tls: B got {:?}; A got {:?}", b.texts(), a.texts()));
    a.close().await;
    b.close().await;
    Ok(())
}

/// Sends `token` over the protocol the scenario speaks.
async fn sign(servers: &Servers, scenario: &str, token: &str) -> anyhow::Result<()> {
    if scenario.starts_with("echo") {
        let addr = servers.addr(Kind::Echo).context("no echo server")?;
        let mut ws = WebSocket::connect(format!("ws://{addr}/").parse()?)
            .with_options(Options::default().without_compression())
            .await?;
        ws.send(Frame::text(format!("student {token}"))).await?;
        let _ = tokio::time::timeout(PATIENCE, ws.next_frame()).await;
        ws.close().await.ok();
    } else if scenario.starts_with("chat") {
        let port = servers.addr(Kind::Chat).map(|a| a.port()).context("no chat server")?;
        let mut c = SioClient::connect("signature", port, &[("/", json!({}))]).await?;
        c.emit_ack("/", "nick", json!(token)).await?;
        c.close().await;
    } else {
        // The TCP demo server echoes a request: the token is its payload.
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let addr = servers.addr(Kind::Tcp).context("no TCP server")?;
        let mut msg = super::demo::request(0, 0);
        msg[16..20].copy_from_slice(&(token.len() as u32).to_be_bytes());
        msg.extend_from_slice(token.as_bytes());
        let mut tcp = tokio::net::TcpStream::connect(addr).await?;
        tcp.write_all(&msg).await?;
        let mut back = vec![0u8; msg.len()];
        tokio::time::timeout(PATIENCE, tcp.read_exact(&mut back)).await??;
    }
    Ok(())
}

async fn echo(servers: &Servers, deflate: bool, out: &mut Vec<String>) -> anyhow::Result<()> {
    let addr = servers.addr(Kind::Echo).context("no echo server")?;
    let url = format!("ws://{addr}/");
    let opts =
        if deflate { Options::default().with_balanced_compression() } else { Options::default().without_compression() };
    let mut ws = WebSocket::connect(url.parse()?).with_options(opts.clone()).await?;
    let big: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    let messages: Vec<(&str, Frame)> = vec![
        ("a short text (7-bit length)", Frame::text("Hello, wirelab!")),
        ("a binary message", Frame::binary(vec![0xde, 0xad, 0xbe, 0xef])),
        ("200 bytes of text (16-bit length)", Frame::text("ab".repeat(100))),
        ("70,000 bytes of binary (64-bit length)", Frame::binary(big)),
        ("the same text again (with deflate, context takeover shrinks it)", Frame::text("ab".repeat(100))),
    ];
    for (what, f) in messages {
        let len = f.payload().len();
        ws.send(f).await?;
        let back = ws.next_frame().await?;
        out.push(format!("echo: sent {what}; {len} bytes came back as {} bytes", back.payload().len()));
    }
    ws.send(Frame::ping("are you there?")).await?;
    out.push("echo: sent a ping; the server answers with a pong carrying the same bytes".into());
    ws.close().await.ok();
    // A second connection that splits messages into 16-byte fragments.
    let mut ws = WebSocket::connect(url.parse()?).with_options(opts.with_max_fragment_size(16)).await?;
    ws.send(Frame::text("this message travels in three fragments")).await?;
    let back = ws.next_frame().await?;
    out.push(format!("echo: sent one message as 16-byte fragments; it came back whole: {:?}", back.as_str()));
    ws.close().await.ok();
    out.push("echo: both connections closed with the close handshake (code 1000)".into());
    Ok(())
}

/// How long a scripted client waits for one frame before it gives up and
/// says what it was waiting for. Generous: a busy machine may be slow, but a
/// frame that is late by this much was never sent.
const PATIENCE: Duration = Duration::from_secs(15);

/// Where a [`SioClient`] connects: the URL and, for `wss://`, the TLS
/// client and the address to reach the URL's host at.
pub struct Target {
    pub url: String,
    pub tls: Option<(tokio_rustls::TlsConnector, std::net::SocketAddr)>,
}

/// A small Socket.IO v5 client over the WebSocket transport (see the module docs).
pub struct SioClient {
    /// Who this is in the scenario's story ("A", "B"), for error messages.
    pub name: &'static str,
    ws: WebSocket<yawc::MaybeTlsStream<tokio::net::TcpStream>>,
    pub id: String,
    next_ack: u64,
    pub inbox: Vec<(String, String, Value)>,
    /// The last text frames received, for error messages.
    recent: VecDeque<String>,
}

impl SioClient {
    /// Connects to each namespace in turn, with its auth payload.
    pub async fn connect(name: &'static str, port: u16, namespaces: &[(&str, Value)]) -> anyhow::Result<SioClient> {
        let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
        Self::connect_to(name, &Target { url, tls: None }, namespaces).await
    }

    /// [`SioClient::connect`] to a WebSocket URL, over TLS when the target says how.
    pub async fn connect_to(
        name: &'static str,
        to: &Target,
        namespaces: &[(&str, Value)],
    ) -> anyhow::Result<SioClient> {
        let mut b = WebSocket::connect(to.url.parse()?).with_options(Options::default().without_compression());
        if let Some((connector, addr)) = &to.tls {
            b = b.with_connector(connector.clone()).with_tcp_address(*addr);
        }
        let ws =
            b.await.with_context(|| format!("client {name} could not open a WebSocket to the chat at {}", to.url))?;
        let mut c = SioClient { name, ws, id: String::new(), next_ack: 0, inbox: Vec::new(), recent: VecDeque::new() };
        let open = c.text("the Engine.IO open packet").await?;
        if !open.starts_with('0') {
            bail!("client {name} expected the Engine.IO open packet, got {open:?}");
        }
        for (nsp, auth) in namespaces {
            let prefix = if *nsp == "/" { String::new() } else { format!("{nsp},") };
            c.ws.send(Frame::text(format!("40{prefix}{auth}"))).await?;
            let want = format!("40{prefix}");
            loop {
                let t = c.text(&format!("the CONNECT answer for namespace {nsp} ({want}…)")).await?;
                if let Some(rest) = t.strip_prefix(&want) {
                    let v: Value = serde_json::from_str(rest).unwrap_or(Value::Null);
                    if *nsp == "/" {
                        c.id = v["sid"].as_str().unwrap_or_default().to_string();
                    }
                    break;
                }
                c.file(&t);
            }
        }
        Ok(c)
    }

    /// The next text frame, answering heartbeats on the way; `what` says what
    /// the scenario is waiting for, in case it never comes.
    async fn text(&mut self, what: &str) -> anyhow::Result<String> {
        loop {
            let f = match tokio::time::timeout(PATIENCE, self.ws.next_frame()).await {
                Ok(f) => f.with_context(|| format!("client {} lost its connection waiting for {what}", self.name))?,
                Err(_) => bail!(
                    "client {} waited {} s for {what}, and it never came; the last frames it received: {:?}",
                    self.name,
                    PATIENCE.as_secs(),
                    self.recent
                ),
            };
            if f.opcode() != OpCode::Text {
                continue;
            }
            let t = f.as_str().to_string();
            if self.recent.len() == 5 {
                self.recent.pop_front();
            }
            self.recent.push_back(t.clone());
            if t == "2" {
                self.ws.send(Frame::text("3")).await?;
                continue;
            }
            return Ok(t);
        }
    }

    /// Keeps an incoming event (namespace, name, first argument).
    fn file(&mut self, t: &str) {
        let Some(rest) = t.strip_prefix("42") else { return };
        let (nsp, json) = match rest.strip_prefix('/') {
            Some(r) => match r.split_once(',') {
                Some((n, j)) => (format!("/{n}"), j),
                None => return,
            },
            None => ("/".to_string(), rest),
        };
        if let Ok(Value::Array(a)) = serde_json::from_str::<Value>(json) {
            let name = a.first().and_then(|v| v.as_str()).unwrap_or_default().to_string();
            self.inbox.push((nsp, name, a.get(1).cloned().unwrap_or(Value::Null)));
        }
    }

    fn packet(nsp: &str, ack: Option<u64>, body: &Value) -> String {
        let prefix = if nsp == "/" { String::new() } else { format!("{nsp},") };
        format!("42{prefix}{}{body}", ack.map(|a| a.to_string()).unwrap_or_default())
    }

    pub async fn emit(&mut self, nsp: &str, event: &str, data: Value) -> anyhow::Result<()> {
        self.ws.send(Frame::text(Self::packet(nsp, None, &json!([event, data])))).await?;
        Ok(())
    }

    /// Emits with an ack and waits for it; events arriving meanwhile go to the inbox.
    pub async fn emit_ack(&mut self, nsp: &str, event: &str, data: Value) -> anyhow::Result<Value> {
        let id = self.next_ack;
        self.next_ack += 1;
        let sent = Self::packet(nsp, Some(id), &json!([event, data]));
        self.ws.send(Frame::text(sent.clone())).await?;
        let prefix = if nsp == "/" { String::new() } else { format!("{nsp},") };
        let want = format!("43{prefix}{id}");
        let what = format!("the ack {want}… of {sent}");
        loop {
            let t = self.text(&what).await?;
            if let Some(rest) = t.strip_prefix(&want) {
                let v: Value = serde_json::from_str(rest).unwrap_or(Value::Null);
                return Ok(v.get(0).cloned().unwrap_or(Value::Null));
            }
            self.file(&t);
        }
    }

    /// Reads until the inbox holds `n` events named `name` (counting those
    /// already there): waits for the event, not for a time.
    pub async fn wait_for(&mut self, name: &str, n: usize) -> anyhow::Result<()> {
        loop {
            let have = self.inbox.iter().filter(|(_, e, _)| e == name).count();
            if have >= n {
                return Ok(());
            }
            let t = self.text(&format!("\"{name}\" event number {} of {n}", have + 1)).await?;
            self.file(&t);
        }
    }

    /// The last `welcome` event (the chat sends one after each connect).
    pub fn welcome(&self) -> Option<&Value> {
        self.inbox.iter().rev().find(|(_, e, _)| e == "welcome").map(|(_, _, v)| v)
    }

    pub fn texts(&self) -> Vec<String> {
        self.inbox
            .iter()
            .filter(|(_, n, _)| n == "chat message")
            .map(|(_, _, v)| v["text"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    pub async fn close(mut self) {
        let _ = self.ws.send(Frame::text("1")).await;
        let _ = self.ws.close().await;
    }
}

async fn chat_rooms(port: u16, out: &mut Vec<String>) -> anyhow::Result<()> {
    let mut a = SioClient::connect("A", port, &[("/", json!({})), ("/admin", json!({}))]).await?;
    let mut b = SioClient::connect("B", port, &[("/", json!({}))]).await?;
    let mut c = SioClient::connect("C", port, &[("/", json!({}))]).await?;
    out.push(format!("chat: three clients connected: A {} (also in /admin), B {}, C {}", a.id, b.id, c.id));
    a.emit_ack("/", "nick", json!("ana")).await?;
    a.emit_ack("/", "join", json!("red")).await?;
    b.emit_ack("/", "join", json!("red")).await?;
    let r = c.emit_ack("/", "join", json!("blue")).await?;
    out.push(format!("chat: A and B joined room red, C joined blue; C is in {}", r["rooms"]));
    for (text, to) in [
        ("hello everyone", "all".to_string()),
        ("hello red room", "room:red".to_string()),
        ("psst, C", format!("socket:{}", c.id)),
        ("hello admins", "nsp:/admin".to_string()),
    ] {
        let ack = a.emit_ack("/", "chat message", json!({ "text": text, "to": to })).await?;
        out.push(format!("chat: A sent {text:?} to {to}; ack {ack}"));
    }
    // Each message was queued to its recipients before A got its ack; what
    // each client should get: A everyone + admins (its /admin socket), B
    // everyone + red (socket.to excludes A), C everyone + the private one.
    for x in [&mut a, &mut b, &mut c] {
        x.wait_for("chat message", 2).await?;
    }
    out.push(format!("chat: A got {:?}; B got {:?}; C got {:?}", a.texts(), b.texts(), c.texts()));
    for x in [a, b, c] {
        x.close().await;
    }
    Ok(())
}

async fn missed(port: u16, label: &str, out: &mut Vec<String>) -> anyhow::Result<()> {
    let mut a = SioClient::connect("A", port, &[("/", json!({}))]).await?;
    let mut b = SioClient::connect("B", port, &[("/", json!({}))]).await?;
    b.emit_ack("/", "join", json!("news")).await?;
    let first = a.emit_ack("/", "chat message", json!({ "text": "before B left", "to": "all" })).await?;
    b.wait_for("chat message", 1).await?;
    let seen = first["offset"].as_u64().unwrap_or(0);
    b.close().await;
    for t in ["sent while B was away (1)", "sent while B was away (2)"] {
        a.emit_ack("/", "chat message", json!({ "text": t, "to": "all" })).await?;
    }
    a.emit_ack("/", "chat message", json!({ "text": "news while B was away", "to": "room:news" })).await?;
    let mut b = SioClient::connect("B (again)", port, &[("/", json!({ "offset": seen, "rooms": ["news"] }))]).await?;
    // The welcome says how many missed messages the server replays after it.
    b.wait_for("welcome", 1).await?;
    let replayed = b.welcome().and_then(|w| w["replayed"].as_u64()).unwrap_or(0) as usize;
    b.wait_for("chat message", replayed).await?;
    out.push(format!("chat ({label}): B reconnected with offset {seen}; it received {:?}", b.texts()));
    a.close().await;
    b.close().await;
    Ok(())
}

/// The same question on a real broker, Redis. Pub/sub: two subscribers
/// get each message published on their channel; one that is away misses
/// what is published meanwhile. A Stream with a consumer group: each entry
/// goes to one consumer of the group, which acknowledges it; an entry not
/// acknowledged stays pending for its consumer, which gets it again when
/// it comes back.
async fn redis_queues(server: &super::redis::RedisServer, out: &mut Vec<String>) -> anyhow::Result<()> {
    use futures_util::StreamExt as _;
    use socketioxide_redis::drivers::redis::redis_client as redis;
    let client = redis::Client::open(server.url())?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let cmd = |name: &str| redis::cmd(name);
    // Pub/sub.
    let mut s1 = client.get_async_pubsub().await?;
    let mut s2 = client.get_async_pubsub().await?;
    s1.subscribe("news").await?;
    s2.subscribe("news").await?;
    let publish = async |conn: &mut redis::aio::MultiplexedConnection, text: &str| -> anyhow::Result<i64> {
        Ok(cmd("PUBLISH").arg("news").arg(text).query_async(conn).await?)
    };
    let next = async |s: &mut redis::aio::PubSub| -> anyhow::Result<String> {
        let m =
            tokio::time::timeout(PATIENCE, s.on_message().next()).await.context("a published message never came")?;
        Ok(m.context("the subscription ended")?.get_payload()?)
    };
    let n = publish(&mut conn, "pub/sub: for every subscriber").await?;
    let (m1, m2) = (next(&mut s1).await?, next(&mut s2).await?);
    out.push(format!("redis pub/sub: PUBLISH reached {n} subscribers; S1 got {m1:?}, S2 got {m2:?}"));
    // S2 leaves: Redis has forgotten it once UNSUBSCRIBE is answered.
    s2.unsubscribe("news").await?;
    drop(s2);
    let n = publish(&mut conn, "pub/sub: while S2 was away").await?;
    next(&mut s1).await?;
    let mut s2 = client.get_async_pubsub().await?;
    s2.subscribe("news").await?;
    let n2 = publish(&mut conn, "pub/sub: after S2 came back").await?;
    let (_, back) = (next(&mut s1).await?, next(&mut s2).await?);
    out.push(format!(
        "redis pub/sub: S2 left; a message published then reached {n} subscriber; S2 came back and got only {back:?} ({n2} subscribers)"
    ));
    drop((s1, s2));
    // A Stream with a consumer group.
    let _: redis::Value = cmd("DEL").arg("jobs").query_async(&mut conn).await?;
    for job in ["job 1", "job 2", "job 3"] {
        let _: String = cmd("XADD").arg("jobs").arg("*").arg("task").arg(job).query_async(&mut conn).await?;
    }
    let _: String = cmd("XGROUP").arg("CREATE").arg("jobs").arg("workers").arg("0").query_async(&mut conn).await?;
    let read = async |conn: &mut redis::aio::MultiplexedConnection,
                      consumer: &str,
                      from: &str|
           -> anyhow::Result<Vec<(String, String)>> {
        let v: redis::Value = cmd("XREADGROUP")
            .arg("GROUP")
            .arg("workers")
            .arg(consumer)
            .arg("COUNT")
            .arg(1)
            .arg("STREAMS")
            .arg("jobs")
            .arg(from)
            .query_async(conn)
            .await?;
        Ok(entries(&v))
    };
    let c1 = read(&mut conn, "c1", ">").await?;
    let c2 = read(&mut conn, "c2", ">").await?;
    let (Some((id1, job1)), Some((_, job2))) = (c1.first(), c2.first()) else {
        bail!("the consumer group gave no entry to c1 or c2");
    };
    let _: i64 = cmd("XACK").arg("jobs").arg("workers").arg(id1).query_async(&mut conn).await?;
    out.push(format!(
        "redis stream: consumer c1 got {job1:?} and acknowledged it; c2 got {job2:?} and went away without"
    ));
    let pending: redis::Value = cmd("XPENDING").arg("jobs").arg("workers").query_async(&mut conn).await?;
    let again = read(&mut conn, "c2", "0").await?;
    let count = match &pending {
        redis::Value::Array(v) => v.first().and_then(|c| if let redis::Value::Int(n) = c { Some(*n) } else { None }),
        _ => None,
    };
    out.push(format!(
        "redis stream: {} entry pending; c2 came back and asked for its own pending entries: {:?}",
        count.unwrap_or(0),
        again.iter().map(|(_, j)| j).collect::<Vec<_>>()
    ));
    if let Some((id2, _)) = again.first() {
        let _: i64 = cmd("XACK").arg("jobs").arg("workers").arg(id2).query_async(&mut conn).await?;
    }
    Ok(())
}

/// The (id, task) of each entry of an XREADGROUP reply (RESP2: an array
/// of [stream, [[id, [field, value…]]…]]).
fn entries(v: &socketioxide_redis::drivers::redis::redis_client::Value) -> Vec<(String, String)> {
    use socketioxide_redis::drivers::redis::redis_client::Value as V;
    let text = |v: &V| match v {
        V::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        V::SimpleString(s) => s.clone(),
        _ => String::new(),
    };
    let V::Array(streams) = v else { return Vec::new() };
    let mut out = Vec::new();
    for s in streams {
        let V::Array(pair) = s else { continue };
        let Some(V::Array(list)) = pair.get(1) else { continue };
        for e in list {
            let V::Array(e) = e else { continue };
            let (Some(id), Some(V::Array(fields))) = (e.first(), e.get(1)) else { continue };
            out.push((text(id), fields.get(1).map(text).unwrap_or_default()));
        }
    }
    out
}

/// One HTTP/1.1 connection for Engine.IO's long-polling requests.
struct Poll {
    send: hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>,
    port: u16,
}

impl Poll {
    async fn connect(port: u16) -> anyhow::Result<Poll> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        let (send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp)).await?;
        tokio::spawn(conn);
        Ok(Poll { send, port })
    }

    /// A GET (`body` None) or POST on the polling transport; the response's
    /// Engine.IO packets (the body split at the record separator).
    async fn request(&mut self, sid: &str, body: Option<&str>) -> anyhow::Result<Vec<String>> {
        use http_body_util::BodyExt as _;
        let sid = if sid.is_empty() { String::new() } else { format!("&sid={sid}") };
        let req = hyper::Request::builder()
            .method(if body.is_some() { "POST" } else { "GET" })
            .uri(format!("/socket.io/?EIO=4&transport=polling{sid}"))
            .header("host", format!("127.0.0.1:{}", self.port))
            .header("content-type", "text/plain;charset=UTF-8")
            .body(http_body_util::Full::new(bytes::Bytes::from(body.unwrap_or_default().to_string())))?;
        // The HTTP/1.1 connection takes the next request only once its task
        // has finished with the last response: wait for that, not for luck.
        let resp = tokio::time::timeout(PATIENCE, async {
            self.send.ready().await?;
            self.send.send_request(req).await
        })
        .await
        .with_context(|| {
            format!("the chat server did not answer a polling request within {} s", PATIENCE.as_secs())
        })??;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        let text = String::from_utf8_lossy(&body).into_owned();
        if !status.is_success() {
            bail!("a polling request got {status}: {text}");
        }
        Ok(text.split('\x1e').map(str::to_string).collect())
    }
}

/// A GET on the polling transport; a ping in it is answered with a POSTed pong.
async fn poll(get: &mut Poll, post: &mut Poll, sid: &str) -> anyhow::Result<Vec<String>> {
    let packets = get.request(sid, None).await?;
    if packets.iter().any(|p| p == "2") {
        post.request(sid, Some("3")).await?;
    }
    Ok(packets)
}

/// Engine.IO's transport dance, as the official client does it: open and talk
/// over long-polling, then probe a WebSocket while a GET is waiting (the
/// server releases it with a noop), and switch with the upgrade packet.
async fn polling_upgrade(port: u16, out: &mut Vec<String>) -> anyhow::Result<()> {
    let (mut get, mut post) = (Poll::connect(port).await?, Poll::connect(port).await?);
    let open = get.request("", None).await?;
    let handshake: Value =
        serde_json::from_str(open[0].strip_prefix('0').context("expected the Engine.IO open packet")?)?;
    let sid = handshake["sid"].as_str().context("no sid in the open packet")?.to_string();
    out.push(format!("polling: GET opened Engine.IO session {sid}; the server offers {}", handshake["upgrades"]));
    post.request(&sid, Some("40")).await?;
    // The CONNECT answer, then the chat's welcome event (sent once the
    // server's connect handler has run): GETs until both have come.
    let mut connected = Vec::new();
    while !connected.iter().any(|p: &String| p.starts_with("42[\"welcome\"")) {
        connected.extend(poll(&mut get, &mut post, &sid).await?);
    }
    out.push(format!("polling: POST \"40\" connected namespace /; GETs brought {}", packets(&connected)));
    post.request(&sid, Some(r#"420["join","red"]"#)).await?;
    post.request(&sid, Some(r#"421["chat message",{"text":"sent over long-polling","to":"self"}]"#)).await?;
    let mut got = Vec::new();
    while got.iter().filter(|p: &&String| p.starts_with("43")).count() < 2 {
        got.extend(poll(&mut get, &mut post, &sid).await?);
    }
    out.push(format!("polling: two POSTed events (join, chat message); GETs brought {}", packets(&got)));

    // A GET waits on the server while the WebSocket is probed.
    let waiting = {
        let sid = sid.clone();
        tokio::spawn(async move { get.request(&sid, None).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket&sid={sid}");
    let mut ws = WebSocket::connect(url.parse()?).with_options(Options::default().without_compression()).await?;
    ws.send(Frame::text("2probe")).await?;
    let f = tokio::time::timeout(PATIENCE, ws.next_frame())
        .await
        .context("waiting for \"3probe\" on the new WebSocket")??;
    if f.as_str() != "3probe" {
        bail!("expected \"3probe\" on the new WebSocket, got {:?}", f.as_str());
    }
    let released = tokio::time::timeout(PATIENCE, waiting)
        .await
        .context("waiting for the polling GET to be released with a noop during the upgrade")???;
    out.push(format!(
        "upgrade: WebSocket sent \"2probe\", got \"3probe\"; the waiting GET was released with {}",
        packets(&released)
    ));
    ws.send(Frame::text("5")).await?;
    ws.send(Frame::text(r#"422["chat message",{"text":"sent over WebSocket","to":"self"}]"#)).await?;
    let mut frames = Vec::new();
    while !frames.iter().any(|t: &String| t.starts_with("432")) {
        let f = tokio::time::timeout(PATIENCE, ws.next_frame())
            .await
            .with_context(|| format!("waiting for the ack \"432…\" over the upgraded WebSocket; got {frames:?}"))??;
        if f.opcode() == OpCode::Text {
            frames.push(f.as_str().to_string());
        }
    }
    out.push(format!("upgrade: sent \"5\"; the same session now uses the WebSocket: {}", packets(&frames)));
    ws.send(Frame::text("41")).await?;
    let _ = ws.close().await;
    Ok(())
}

async fn tcp_vs_udp(
    servers: &Servers,
    impaired: &Servers,
    imp: Impairment,
    out: &mut Vec<String>,
) -> anyhow::Result<()> {
    let cfg = |t: Transport, server| ClientConfig {
        transport: t,
        server,
        count: 50,
        size: 64,
        rate: 200.0,
        linger: Duration::from_millis(300),
    };
    for t in [Transport::Tcp, Transport::Udp] {
        let kind = if t == Transport::Tcp { Kind::Tcp } else { Kind::Udp };
        let r = super::client::run(&cfg(t, servers.addr(kind).context("no server")?)).await?;
        out.push(r.text());
    }
    // Again, against a UDP server that loses, duplicates, reorders and delays.
    let addr = impaired.addr(Kind::Udp).context("no server")?;
    let r = super::client::run(&cfg(Transport::Udp, addr)).await?;
    out.push(format!("with {}:\n{}", imp.describe(), r.text()));
    Ok(())
}

/// Engine.IO packets as they crossed the wire, each between single quotes:
/// `['40{"sid":"…"}', '42["welcome",…]']`, not Rust's escaped strings.
fn packets(list: &[String]) -> String {
    format!("[{}]", list.iter().map(|p| format!("'{p}'")).collect::<Vec<_>>().join(", "))
}
