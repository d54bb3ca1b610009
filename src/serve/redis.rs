//! A Redis server for the chat nodes to meet in: Debian's `redis-server`,
//! started on a free loopback port with nothing saved to disk, and stopped
//! when dropped. The `chat-two-nodes` scenario and the tests use it; `serve
//! chat --redis URL` uses a server someone else started.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// How to get `redis-server` when it is missing.
pub const INSTALL: &str = "sudo apt install redis-server (or scripts/install-deps --test)";

/// A running `redis-server` of our own.
pub struct RedisServer {
    child: Child,
    pub addr: SocketAddr,
}

impl RedisServer {
    /// Starts `redis-server` on a free port of 127.0.0.1 and waits until it
    /// answers PING (at most 10 s).
    pub fn start() -> anyhow::Result<RedisServer> {
        // The port is found free and then given to redis-server; another
        // program may take it in between, so a server that stops at once is
        // tried again on another port.
        let mut last = anyhow::anyhow!("redis-server did not start");
        for _ in 0..5 {
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port();
            let child = Command::new("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
                .args(["--loglevel", "warning"])
                // It writes nothing (no RDB, no AOF): any folder will do.
                .current_dir(std::env::temp_dir())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn();
            let child = match child {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    anyhow::bail!("the chat nodes meet in a Redis server, and redis-server is not installed: {INSTALL}")
                }
                Err(e) => return Err(e).context("cannot start redis-server"),
            };
            let mut server = RedisServer { child, addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)) };
            match server.wait_ready(Duration::from_secs(10)) {
                Ok(true) => return Ok(server),
                Ok(false) => last = anyhow::anyhow!("redis-server stopped at once on port {port}"),
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// The address the chat takes (`--redis`).
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// Waits until the server answers PING (true), or stops (false: its
    /// port was taken); an error when it does neither in time.
    fn wait_ready(&mut self, within: Duration) -> anyhow::Result<bool> {
        let end = Instant::now() + within;
        loop {
            if self.child.try_wait()?.is_some() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                if !err.contains("Address already in use") {
                    anyhow::bail!("redis-server stopped at once: {}", err.trim());
                }
                return Ok(false);
            }
            if ping(self.addr) {
                return Ok(true);
            }
            if Instant::now() > end {
                anyhow::bail!("redis-server did not answer on {} within {} s", self.addr, within.as_secs());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Whether a Redis server answers PING at `addr`.
fn ping(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
