//! A Redis server for the chat nodes to meet in: Debian's `redis-server`,
//! started on a free loopback port with nothing saved to disk, and stopped
//! when dropped. The `chat-two-nodes` scenario and the tests use it; `serve
//! chat --redis URL` and `scenario --redis URL` use a server someone else
//! started ([`RedisServer::existing`]).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// How to get `redis-server` when it is missing.
pub const INSTALL: &str = "sudo apt install redis-server (or scripts/install-deps --test)";

/// A running Redis server: our own `redis-server`, stopped when dropped, or
/// one someone else started, left running.
pub struct RedisServer {
    child: Option<Child>,
    pub addr: SocketAddr,
    url: String,
}

impl RedisServer {
    /// Starts `redis-server` on 127.0.0.1: on Redis's own port 6379 when it
    /// is free (so recordings read as RESP in any tool), else on the first
    /// free port above it; and waits until it answers (at most 10 s).
    ///
    /// Never on a port the system hands out by itself (32768 and up here):
    /// every other server and client of a recording gets one of those, and a
    /// Redis port that an earlier connection of the same recording used would
    /// make a "decode this port as RESP" read that connection as Redis too
    /// (it happened once in CI, to the echo server's WebSocket).
    pub fn start() -> anyhow::Result<RedisServer> {
        // The port is found free and then given to redis-server; another
        // program may take it in between, so a server that stops at once is
        // tried again on the next port.
        let first = crate::dissect::app::resp::PORT;
        let mut last = anyhow::anyhow!("redis-server did not start: ports {first} to {} are taken", first + 99);
        let mut tries = 0;
        for port in first..first + 100 {
            if tries == 6 {
                break;
            }
            if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err() {
                continue;
            }
            tries += 1;
            let child = Command::new("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
                .args(["--loglevel", "warning"])
                // It writes nothing (no RDB, no AOF): any folder will do.
                .current_dir(std::env::temp_dir())
                .stdin(Stdio::null())
                // Its log goes to stdout (read only once it has stopped).
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn();
            let child = match child {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    anyhow::bail!("the chat nodes meet in a Redis server, and redis-server is not installed: {INSTALL}")
                }
                Err(e) => return Err(e).context("cannot start redis-server"),
            };
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let mut server = RedisServer { child: Some(child), addr, url: format!("redis://{addr}") };
            match server.wait_ready(Duration::from_secs(10)) {
                Ok(true) => return Ok(server),
                Ok(false) => last = anyhow::anyhow!("redis-server stopped at once on port {port}"),
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// A Redis server that already runs at `url` (`redis://HOST:PORT`),
    /// once it has answered; it is left running when dropped.
    pub fn existing(url: &str) -> anyhow::Result<RedisServer> {
        use socketioxide_redis::drivers::redis::redis_client as redis;
        let not_address = || format!("\"{url}\" is not a Redis address; write it as redis://HOST:PORT");
        let client = redis::Client::open(url).with_context(not_address)?;
        let redis::ConnectionAddr::Tcp(host, port) = client.get_connection_info().addr() else {
            anyhow::bail!("{}", not_address());
        };
        let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), *port))
            .ok()
            .and_then(|mut a| a.next())
            .with_context(not_address)?;
        let mut conn = client
            .get_connection_with_timeout(Duration::from_secs(5))
            .map_err(|e| anyhow::anyhow!("no Redis server answers at {url} ({e}); start one with: redis-server"))?;
        redis::cmd("PING")
            .query::<String>(&mut conn)
            .with_context(|| format!("the Redis server at {url} refused PING"))?;
        Ok(RedisServer { child: None, addr, url: url.to_string() })
    }

    /// The address the chat takes (`--redis`).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Waits until the server answers PING (true), or stops (false: its
    /// port was taken); an error when it does neither in time.
    fn wait_ready(&mut self, within: Duration) -> anyhow::Result<bool> {
        let end = Instant::now() + within;
        let Some(child) = self.child.as_mut() else { return Ok(true) };
        loop {
            if child.try_wait()?.is_some() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                if let Some(mut o) = child.stdout.take() {
                    let _ = o.read_to_string(&mut err);
                }
                if !err.contains("Address already in use") {
                    anyhow::bail!("redis-server stopped at once: {}", err.trim());
                }
                return Ok(false);
            }
            // Ours answers, not another server that had the port first.
            if answering_pid(self.addr) == Some(child.id()) {
                return Ok(true);
            }
            if Instant::now() > end {
                anyhow::bail!("redis-server did not answer on {} within {} s", self.addr, within.as_secs());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The process id of the Redis server answering at `addr` (its `INFO
/// server`), if one answers.
fn answering_pid(addr: SocketAddr) -> Option<u32> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    s.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
    s.write_all(b"INFO server\r\n").ok()?;
    let mut got = String::new();
    let mut buf = [0u8; 4096];
    // The reply is one bulk string; its process_id line is near the top.
    let pid = |text: &str| -> Option<u32> {
        let rest = &text[text.find("process_id:")? + "process_id:".len()..];
        rest[..rest.find("\r\n")?].trim().parse().ok()
    };
    loop {
        if let Some(p) = pid(&got) {
            return Some(p);
        }
        let n = s.read(&mut buf).ok()?;
        if n == 0 || got.len() > 64 << 10 {
            return None;
        }
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
