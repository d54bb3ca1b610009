//! Chat fan-out: chat messages per second delivered to 1,000 socket.io
//! clients in one room, wirelab's chat (socketioxide) side by side with the
//! official Node socket.io server, both driven by the same load generator
//! (tests/js/fanout-load.js, the npm socket.io-client); then wirelab's chat
//! as two nodes joined through a redis-server of its own, the clients dealt
//! to both. Needs node, redis-server and `scripts/install-deps --test` (npm
//! packages in tests/js).
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

    let js = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js");
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nport = probe.local_addr().unwrap().port();
    drop(probe);
    let mut node = Command::new("node")
        .current_dir(js)
        .args(["fanout-node-server.js", &nport.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs");
    let mut line = String::new();
    BufReader::new(node.stdout.take().unwrap()).read_line(&mut line).unwrap();
    for i in 0..runs {
        let r = load(nport, clients, messages);
        println!("node socket.io {}, run {}: {r}", node_version(), i + 1);
    }
    let _ = node.kill();
    let _ = node.wait();
}

fn node_version() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js/node_modules/socket.io/package.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .and_then(|v| v["version"].as_str().map(String::from))
        .unwrap_or_default()
}
