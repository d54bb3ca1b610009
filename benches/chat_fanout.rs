//! Chat fan-out: chat messages per second delivered to 1,000 socket.io
//! clients in one room, wirelab's chat (socketioxide) side by side with the
//! official Node socket.io server, both driven by the same load generator
//! (tests/js/fanout-load.js, the npm socket.io-client); then wirelab's chat
//! as two nodes joined through a redis-server of its own, the clients dealt
//! to both; then the official server the same two ways, one node and two
//! through @socket.io/redis-adapter. Needs node, redis-server and
//! `scripts/install-deps --test` (npm packages in tests/js).
//!     cargo bench --bench chat_fanout [-- CLIENTS MESSAGES]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use wirelab::serve::{Kind, ServeConfig, Servers};

fn load(port: u16, clients: u32, messages: u32) -> serde_json::Value {
    load_on(&[port], clients, messages)
}

/// The load generator with its clients dealt to several chat nodes.
fn load_on(ports: &[u16], clients: u32, messages: u32) -> serde_json::Value {
    let js = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js");
    let ports = ports.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
    let out = Command::new("node")
        .current_dir(js)
        .args(["fanout-load.js", &ports, &clients.to_string(), &messages.to_string()])
        .output()
        .expect("node runs");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON line")
}

fn main() {
    let args: Vec<u32> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let clients = args.first().copied().unwrap_or(1000);
    let messages = args.get(1).copied().unwrap_or(200);
    let runs = 3;

    let servers = Servers::start(&ServeConfig::any_port(), &[Kind::Chat]).expect("chat starts");
    let port = servers.addr(Kind::Chat).unwrap().port();
    for i in 0..runs {
        let r = load(port, clients, messages);
        println!("wirelab chat (socketioxide), run {}: {r}", i + 1);
    }
    drop(servers);

    // Two nodes through Redis: every message crosses it once, to node B.
    let redis = wirelab::serve::redis::RedisServer::start().expect("redis-server starts");
    let mut cfg = ServeConfig::any_port();
    cfg.chat.redis = Some(redis.url());
    let a = Servers::start(&cfg, &[Kind::Chat]).expect("node A starts");
    let b = Servers::start(&cfg, &[Kind::Chat]).expect("node B starts");
    let ports = [a.addr(Kind::Chat).unwrap().port(), b.addr(Kind::Chat).unwrap().port()];
    for i in 0..runs {
        let r = load_on(&ports, clients, messages);
        println!("wirelab chat, two nodes through Redis, run {}: {r}", i + 1);
    }
    drop((a, b, redis));

    // The official Node socket.io, one node, then two through the official
    // @socket.io/redis-adapter on a redis-server of their own.
    let version = node_version();
    let node = NodeServer::start(None);
    for i in 0..runs {
        let r = load(node.port, clients, messages);
        println!("node socket.io {version}, run {}: {r}", i + 1);
    }
    drop(node);
    let redis = wirelab::serve::redis::RedisServer::start().expect("redis-server starts");
    let (a, b) = (NodeServer::start(Some(&redis.url())), NodeServer::start(Some(&redis.url())));
    for i in 0..runs {
        let r = load_on(&[a.port, b.port], clients, messages);
        println!("node socket.io {version}, two nodes through @socket.io/redis-adapter, run {}: {r}", i + 1);
    }
    drop((a, b, redis));
}

/// tests/js/fanout-node-server.js on a free port, stopped when dropped.
struct NodeServer {
    child: std::process::Child,
    port: u16,
}

impl NodeServer {
    fn start(redis: Option<&str>) -> NodeServer {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let mut cmd = Command::new("node");
        cmd.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js"))
            .args(["fanout-node-server.js", &port.to_string()])
            .args(redis)
            .stdout(Stdio::piped());
        let mut child = cmd.spawn().expect("node runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert!(line.starts_with("listening"), "the node server did not start: {line:?}");
        NodeServer { child, port }
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn node_version() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js/node_modules/socket.io/package.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .and_then(|v| v["version"].as_str().map(String::from))
        .unwrap_or_default()
}
