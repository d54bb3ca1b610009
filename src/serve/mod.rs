//! The demo servers that make the traffic students study: a WebSocket echo
//! server ([`echo`]), the socket.io chat ([`chat`]), and TCP and UDP servers
//! that speak one tiny protocol ([`demo`], [`transport`]). They run on a
//! tokio runtime owned by [`Servers`], so the command line, the GUI and the
//! scenarios all start and stop them the same way. Outside the dissection
//! core: nothing in `model`, `dissect` or `file` depends on this.

pub mod bulk;
pub mod chat;
pub mod client;
pub mod compare;
pub mod demo;
pub mod echo;
pub mod redis;
pub mod scenario;
pub mod tls;
pub mod transport;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, UdpSocket};
use tokio::runtime::Runtime;
use tokio::sync::watch;

pub use transport::Impairment;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Kind {
    Echo,
    Chat,
    Tcp,
    Udp,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Echo, Kind::Chat, Kind::Tcp, Kind::Udp];

    pub fn default_port(self) -> u16 {
        match self {
            Kind::Echo => 9001,
            Kind::Chat => 9002,
            Kind::Tcp => 9003,
            Kind::Udp => 9004,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Echo => "echo",
            Kind::Chat => "chat",
            Kind::Tcp => "tcp",
            Kind::Udp => "udp",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub bind: IpAddr,
    /// Port per server; 0 lets the system pick a free one.
    pub ports: [u16; 4],
    pub echo: echo::EchoConfig,
    pub chat: chat::ChatConfig,
    pub impair: Impairment,
    /// Echo and chat over TLS (`wss://`, `https://`), with the certificate
    /// and key log kept in this folder ([`tls::default_dir`]).
    pub tls: Option<std::path::PathBuf>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ports: Kind::ALL.map(Kind::default_port),
            echo: echo::EchoConfig::default(),
            chat: chat::ChatConfig::default(),
            impair: Impairment::default(),
            tls: None,
        }
    }
}

impl ServeConfig {
    /// Every server on a port the system picks (for tests and scenarios).
    pub fn any_port() -> Self {
        ServeConfig { ports: [0; 4], ..Default::default() }
    }

    pub fn port(&self, k: Kind) -> u16 {
        self.ports[k as usize]
    }
}

/// One running server: where it listens and how a student connects to it.
#[derive(Debug, Clone)]
pub struct Listening {
    pub kind: Kind,
    pub addr: SocketAddr,
    pub how: String,
}

/// Running demo servers. Dropping it (or [`Servers::stop`]) stops them.
pub struct Servers {
    rt: Option<Runtime>,
    stop: watch::Sender<bool>,
    pub listening: Vec<Listening>,
    /// The chat's counters, when it runs.
    pub chat: Option<Arc<chat::ChatStats>>,
    /// The chat node's id (socketioxide's server id), when it runs.
    pub chat_node: Option<String>,
    pub echo_stats: Arc<echo::EchoStats>,
    pub transport_stats: Arc<transport::TransportStats>,
    /// The echo and chat servers' TLS, when they speak it.
    pub tls: Option<Arc<tls::Tls>>,
}

impl Servers {
    /// Binds every requested server first (so a busy port is reported before
    /// anything starts), then runs them on a small runtime of their own.
    pub fn start(cfg: &ServeConfig, kinds: &[Kind]) -> anyhow::Result<Servers> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("wirelab-serve")
            .enable_all()
            .build()
            .context("could not start the servers' runtime")?;
        let (stop, stop_rx) = watch::channel(false);
        let mut servers = Servers {
            rt: None,
            stop,
            listening: Vec::new(),
            chat: None,
            chat_node: None,
            echo_stats: Arc::default(),
            transport_stats: Arc::default(),
            tls: None,
        };
        if let Some(dir) = &cfg.tls
            && kinds.iter().any(|k| matches!(k, Kind::Echo | Kind::Chat))
        {
            servers.tls = Some(Arc::new(tls::Tls::new(dir)?));
        }
        let acceptor = servers.tls.as_ref().map(|t| t.acceptor.clone());
        let s = if acceptor.is_some() { "s" } else { "" };
        for &kind in kinds {
            let addr = SocketAddr::new(cfg.bind, cfg.port(kind));
            let bound = rt.block_on(async {
                match kind {
                    Kind::Udp => UdpSocket::bind(addr).await.map(Bound::Udp),
                    _ => TcpListener::bind(addr).await.map(Bound::Tcp),
                }
            });
            let bound = bound.map_err(|e| bind_error(kind, addr, e))?;
            let local = bound.local_addr()?;
            let host = if local.ip().is_unspecified() { "127.0.0.1".to_string() } else { local.ip().to_string() };
            let port = local.port();
            let stop = stop_rx.clone();
            let how = match (kind, bound) {
                (Kind::Echo, Bound::Tcp(l)) => {
                    let echo_cfg = Arc::new(cfg.echo.clone());
                    let stats = servers.echo_stats.clone();
                    rt.spawn(serve_http(l, acceptor.clone(), stop, move || {
                        let (cfg, stats) = (echo_cfg.clone(), stats.clone());
                        hyper::service::service_fn(move |req| echo::handle(req, cfg.clone(), stats.clone()))
                    }));
                    format!(
                        "ws{s}://{host}:{port}/  (try: python3 -m websockets ws{s}://{host}:{port}/){}",
                        if cfg.echo.deflate { "; permessage-deflate offered" } else { "" }
                    )
                }
                (Kind::Chat, Bound::Tcp(l)) => {
                    let joined = match &cfg.chat.redis {
                        Some(url) => {
                            let (svc, chat) = rt.block_on(chat::build_redis(cfg.chat.clone(), url))?;
                            servers.chat = Some(chat.stats.clone());
                            servers.chat_node = Some(chat.node().to_string());
                            rt.spawn(serve_http(l, acceptor.clone(), stop, move || svc.clone()));
                            format!("; node {} joined through Redis at {url}", chat.node())
                        }
                        None => {
                            let (svc, chat) = rt.block_on(async { chat::build(cfg.chat.clone()) });
                            servers.chat = Some(chat.stats.clone());
                            servers.chat_node = Some(chat.node().to_string());
                            rt.spawn(serve_http(l, acceptor.clone(), stop, move || svc.clone()));
                            String::new()
                        }
                    };
                    format!(
                        "http{s}://{host}:{port}/  (open it in a browser; socket.io clients connect to the same address){}{joined}",
                        if cfg.chat.recovery { "; missed-message recovery ON" } else { "" }
                    )
                }
                (Kind::Tcp, Bound::Tcp(l)) => {
                    rt.spawn(transport::run_tcp(l, servers.transport_stats.clone(), stop));
                    format!("tcp {host}:{port}  (try: wirelab client tcp --port {port})")
                }
                (Kind::Udp, Bound::Udp(s)) => {
                    rt.spawn(transport::run_udp(s, cfg.impair, servers.transport_stats.clone(), stop));
                    format!("udp {host}:{port}  (try: wirelab client udp --port {port}); {}", cfg.impair.describe())
                }
                _ => unreachable!("bound the socket type the kind needs"),
            };
            servers.listening.push(Listening { kind, addr: local, how });
        }
        servers.rt = Some(rt);
        Ok(servers)
    }

    pub fn addr(&self, kind: Kind) -> Option<SocketAddr> {
        self.listening.iter().find(|l| l.kind == kind).map(|l| l.addr)
    }

    /// Stops accepting, closes the connections, and waits (briefly) for the tasks.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.stop.send(true);
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_millis(300));
        }
    }

    /// Runs a future on the servers' runtime (scenarios' clients use this).
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        match &self.rt {
            Some(rt) => rt.block_on(f),
            // `stop` takes the servers by value, so the runtime is there while `self` is.
            None => unreachable!("the runtime lives as long as the servers"),
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.shutdown();
    }
}

enum Bound {
    Tcp(TcpListener),
    Udp(UdpSocket),
}

impl Bound {
    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match self {
            Bound::Tcp(l) => l.local_addr(),
            Bound::Udp(s) => s.local_addr(),
        }
    }
}

fn bind_error(kind: Kind, addr: SocketAddr, e: std::io::Error) -> anyhow::Error {
    let hint = match e.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "something else already listens there (another `wirelab serve`?). Stop it, or pick another port: \
             --{}-port N (0 = any free port)",
            kind.name()
        ),
        std::io::ErrorKind::PermissionDenied => "ports below 1024 need root; use a higher port".into(),
        std::io::ErrorKind::AddrNotAvailable => "this machine has no such address; use 127.0.0.1".into(),
        _ => String::new(),
    };
    anyhow::anyhow!("cannot start the {} server on {addr}: {e}. {hint}", kind.name())
}

/// Bounds against hostile clients, for every server, in one place. The
/// servers listen on 127.0.0.1 unless told otherwise; these keep one
/// misbehaving (or malicious) client from taking the machine down with it.
pub mod limits {
    use std::time::Duration;
    /// Connections one server serves at once; more wait in the kernel's backlog.
    pub const MAX_CONNECTIONS: usize = 4096;
    /// An HTTP request's line and headers must arrive whole within this long
    /// (slowloris), also on a kept-alive connection waiting for its next request.
    pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
    /// Request line and headers together (larger: 431 Request Header Fields Too Large).
    pub const MAX_HEADER_BYTES: usize = 64 * 1024;
    /// A WebSocket or TCP demo connection that sends nothing for this long is closed.
    pub const IDLE: Duration = Duration::from_secs(300);
    /// A message's remaining bytes must arrive within this long once it has begun.
    pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);
    /// A reply not written within this long (a client that never reads) closes the connection.
    pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
    /// WebSocket `permessage-deflate` offers looked at in one handshake.
    pub const MAX_EXTENSION_OFFERS: usize = 8;
    /// Socket.IO: the largest packet or WebSocket message a chat client may send.
    pub const CHAT_MAX_PAYLOAD: usize = 100_000;
    /// The longest chat message text, in characters.
    pub const CHAT_MAX_TEXT: usize = 4096;
    /// Events one chat socket may send: this many a second on average…
    pub const CHAT_EVENTS_PER_SECOND: f64 = 50.0;
    /// …with bursts of up to this many.
    pub const CHAT_EVENT_BURST: f64 = 100.0;
    /// UDP replies waiting for their delay; beyond it a reply is dropped (and counted).
    pub const UDP_DELAY_QUEUE: usize = 4096;
}

/// Accepts HTTP/1.1 connections (with upgrades), over TLS when given an
/// acceptor, until told to stop, at most `limits::MAX_CONNECTIONS` at once.
async fn serve_http<S, F, B>(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
    make: F,
) where
    F: Fn() -> S,
    S: hyper::service::Service<hyper::Request<hyper::body::Incoming>, Response = hyper::Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(limits::MAX_CONNECTIONS));
    loop {
        let Some(permit) = accept_slot(&slots, &mut stop).await else { break };
        let stream = tokio::select! {
            _ = stop.changed() => break,
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    // Out of file descriptors, usually: wait rather than spin.
                    eprintln!("wirelab serve: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let svc = make();
        let stop = stop.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match tls {
                None => serve_connection(stream, svc, stop).await,
                Some(tls) => {
                    // The TLS handshake is bounded like a request's headers (a
                    // client that opens and says nothing holds a slot otherwise).
                    // A failed handshake (a plain-HTTP client, a browser that
                    // refuses the self-signed certificate) just ends the connection.
                    if let Ok(Ok(stream)) = tokio::time::timeout(limits::HEADER_TIMEOUT, tls.accept(stream)).await {
                        serve_connection(stream, svc, stop).await;
                    }
                }
            }
        });
    }
}

/// Serves one connection's HTTP/1.1 requests (and its upgrade) until it
/// ends or the servers stop.
async fn serve_connection<IO, S, B>(io: IO, svc: S, mut stop: watch::Receiver<bool>)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<hyper::Request<hyper::body::Incoming>, Response = hyper::Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let conn = http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Some(limits::HEADER_TIMEOUT))
        .max_buf_size(limits::MAX_HEADER_BYTES)
        .serve_connection(TokioIo::new(io), svc)
        .with_upgrades();
    tokio::select! {
        _ = conn => {}
        _ = stop.changed() => {}
    }
}

/// Waits for a free connection slot (or the stop); `None` when stopping.
pub(crate) async fn accept_slot(
    slots: &std::sync::Arc<tokio::sync::Semaphore>,
    stop: &mut watch::Receiver<bool>,
) -> Option<tokio::sync::OwnedSemaphorePermit> {
    tokio::select! {
        _ = stop.changed() => None,
        p = slots.clone().acquire_owned() => p.ok(),
    }
}
