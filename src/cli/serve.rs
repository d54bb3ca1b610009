//! `wirelab serve` and `wirelab client`: the demo servers and the transport client.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clap::ValueEnum;

use super::OutputFormat;
use crate::serve::client::{ClientConfig, Transport};
use crate::serve::{Impairment, Kind, ServeConfig, Servers};

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Which {
    Echo,
    Chat,
    Tcp,
    Udp,
    All,
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Which server to start.
    #[arg(value_enum, default_value_t = Which::All)]
    pub which: Which,
    /// Port, when starting one server (default: echo 9001, chat 9002, tcp 9003, udp 9004; 0 = any free port).
    #[arg(long)]
    pub port: Option<u16>,
    #[arg(long, default_value_t = 9001)]
    pub echo_port: u16,
    #[arg(long, default_value_t = 9002)]
    pub chat_port: u16,
    #[arg(long, default_value_t = 9003)]
    pub tcp_port: u16,
    #[arg(long, default_value_t = 9004)]
    pub udp_port: u16,
    /// Address to listen on. Anything but loopback lets other machines in.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Chat: keep a message log so a reconnecting client gets what it missed.
    #[arg(long)]
    pub recovery: bool,
    /// Chat: join the other chat nodes that use this Redis server
    /// (redis://HOST:PORT, Redis 7 or later): start two with different
    /// ports and a broadcast on one reaches the clients of both.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Echo: do not offer permessage-deflate.
    #[arg(long)]
    pub no_deflate: bool,
    /// Echo and chat over TLS (wss://, https://) with a self-signed
    /// certificate, writing every session's secrets to a key log.
    #[arg(long)]
    pub tls: bool,
    #[command(flatten)]
    pub impair: ImpairArgs,
}

#[derive(clap::Args, Debug)]
pub struct ClientArgs {
    #[arg(value_enum)]
    pub transport: Transport,
    /// Number of messages.
    #[arg(long, default_value_t = 100)]
    pub count: u32,
    /// Payload bytes per message (besides the 20-byte header).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Messages per second (0 = as fast as possible).
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// Server port (default: tcp 9003, udp 9004).
    #[arg(long)]
    pub port: Option<u16>,
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Milliseconds to wait for late UDP replies after the last request.
    #[arg(long, default_value_t = 1000)]
    pub linger_ms: u64,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// The impairment knobs `serve` (the UDP server's own) and `compare` (loss
/// in the kernel for both transports, the rest in the UDP server) share.
#[derive(clap::Args, Debug, Clone)]
pub struct ImpairArgs {
    /// Probability (0–1) that a packet is dropped: by the UDP server (serve),
    /// or in the kernel for both transports when allowed (compare).
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
    /// Probability that the UDP server sends a reply twice.
    #[arg(long, default_value_t = 0.0)]
    pub duplicate: f64,
    /// Probability that the UDP server holds a reply back so the next one overtakes it.
    #[arg(long, default_value_t = 0.0)]
    pub reorder: f64,
    /// Milliseconds the UDP server waits before sending each reply.
    #[arg(long = "delay", visible_alias = "delay-ms", default_value_t = 0)]
    pub delay_ms: u64,
    /// Seed of the random choices: the same seed, the same impairment.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl ImpairArgs {
    /// The impairment, with each probability checked.
    pub fn impairment(&self) -> anyhow::Result<Impairment> {
        Ok(Impairment {
            loss: check_probability("loss", self.loss)?,
            duplicate: check_probability("duplicate", self.duplicate)?,
            reorder: check_probability("reorder", self.reorder)?,
            delay: Duration::from_millis(self.delay_ms),
            seed: self.seed,
        })
    }
}

fn check_probability(name: &str, p: f64) -> anyhow::Result<f64> {
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        anyhow::bail!("--{name} is a probability between 0 and 1 (0.1 = 10%), not {p}")
    }
}

pub fn config(args: &ServeArgs) -> anyhow::Result<(ServeConfig, Vec<Kind>)> {
    let kinds = match args.which {
        Which::Echo => vec![Kind::Echo],
        Which::Chat => vec![Kind::Chat],
        Which::Tcp => vec![Kind::Tcp],
        Which::Udp => vec![Kind::Udp],
        Which::All => Kind::ALL.to_vec(),
    };
    let mut cfg = ServeConfig { bind: args.bind, ..Default::default() };
    cfg.ports = [args.echo_port, args.chat_port, args.tcp_port, args.udp_port];
    if let Some(p) = args.port {
        if kinds.len() > 1 {
            anyhow::bail!(
                "--port names one server's port; with several servers use --echo-port, --chat-port, --tcp-port, --udp-port"
            );
        }
        cfg.ports[kinds[0] as usize] = p;
    }
    cfg.echo.deflate = !args.no_deflate;
    cfg.chat.recovery = args.recovery;
    if let Some(url) = &args.redis {
        if !kinds.contains(&Kind::Chat) {
            anyhow::bail!("--redis joins chat nodes; start the chat with it (wirelab serve chat --redis {url})");
        }
        if args.recovery {
            anyhow::bail!(
                "--recovery keeps one node's own message log, which messages from the other nodes would bypass: \
                 use --redis without it"
            );
        }
        cfg.chat.redis = Some(url.clone());
    }
    if args.tls {
        if !kinds.iter().any(|k| matches!(k, Kind::Echo | Kind::Chat)) {
            anyhow::bail!(
                "--tls is for the echo and chat servers (wss://, https://); tcp and udp speak the demo protocol in the clear"
            );
        }
        cfg.tls = Some(crate::serve::tls::default_dir());
    }
    cfg.impair = args.impair.impairment()?;
    Ok((cfg, kinds))
}

pub fn serve(args: &ServeArgs) -> anyhow::Result<i32> {
    let (cfg, kinds) = config(args)?;
    if !cfg.bind.is_loopback() {
        eprintln!(
            "wirelab: warning: listening on {}, not loopback: other machines on your network can reach these servers.",
            cfg.bind
        );
    }
    let servers = Servers::start(&cfg, &kinds)?;
    for l in &servers.listening {
        println!("{:>4} listening on {}", l.kind.name(), l.how);
    }
    if let Some(tls) = &servers.tls {
        println!(
            "TLS: self-signed certificate {} (a browser warns that it does not know who signed it: \
             that is expected here, the certificate was made on this machine by wirelab)",
            tls.identity.cert_path.display()
        );
        println!(
            "TLS: every session's secrets are appended to {}; capture, then open that file in the window \
             (or pass --tls-keylog) to see inside",
            tls.key_log.path.display()
        );
    }
    println!("Press Ctrl-C to stop.");
    let (tx, rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })?;
    let _ = rx.recv();
    let echo = &servers.echo_stats;
    let t = &servers.transport_stats;
    use std::sync::atomic::Ordering::Relaxed;
    eprintln!(
        "wirelab: stopping. echo: {} connections, {} messages; tcp/udp: {} requests, {} replies{}",
        echo.connections.load(Relaxed),
        echo.messages.load(Relaxed),
        t.requests.load(Relaxed),
        t.replies_sent.load(Relaxed),
        servers
            .chat
            .as_ref()
            .map(|c| format!(
                "; chat: {} connections, {} messages",
                c.connections.load(Relaxed),
                c.messages.load(Relaxed)
            ))
            .unwrap_or_default(),
    );
    servers.stop();
    Ok(0)
}

pub fn client(args: &ClientArgs) -> anyhow::Result<i32> {
    let port = args.port.unwrap_or(match args.transport {
        Transport::Tcp => Kind::Tcp.default_port(),
        Transport::Udp => Kind::Udp.default_port(),
    });
    if args.count == 0 {
        anyhow::bail!("--count must be at least 1");
    }
    if args.size > crate::serve::demo::MAX_PAYLOAD {
        anyhow::bail!("--size is at most {} bytes (one UDP datagram)", crate::serve::demo::MAX_PAYLOAD);
    }
    let cfg = ClientConfig {
        transport: args.transport,
        server: SocketAddr::new(args.host, port),
        count: args.count,
        size: args.size,
        rate: args.rate,
        linger: Duration::from_millis(args.linger_ms),
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let report = rt.block_on(crate::serve::client::run(&cfg))?;
    match args.format {
        OutputFormat::Text => println!("{}", report.text()),
        OutputFormat::Json => println!("{}", serde_json::to_string(&report)?),
    }
    Ok(0)
}

#[derive(clap::Args, Debug)]
pub struct ScenarioArgs {
    /// The scenario (`wirelab scenario --list` shows them).
    #[arg(required_unless_present = "list")]
    pub name: Option<String>,
    /// Record the scenario's traffic on loopback to this pcap (needs capture rights).
    #[arg(short = 'w', long)]
    pub write: Option<std::path::PathBuf>,
    /// List the scenarios.
    #[arg(long)]
    pub list: bool,
    /// chat-two-nodes: the nodes meet in the Redis server that runs at this
    /// address (redis://HOST:PORT) instead of one the scenario starts.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
}

pub fn scenario(args: &ScenarioArgs) -> anyhow::Result<i32> {
    use crate::serve::scenario;
    if args.list {
        for (n, what) in scenario::SCENARIOS {
            println!("{n:<20} {what}");
        }
        return Ok(0);
    }
    let name = args.name.as_deref().unwrap_or_default();
    let out = scenario::run(name, args.write.clone(), args.redis.as_deref())?;
    for l in &out.lines {
        println!("{l}");
    }
    if let Some(w) = &args.write {
        println!("recorded {} frames to {}; open it with: wirelab gui {}", out.frames, w.display(), w.display());
    }
    Ok(0)
}
