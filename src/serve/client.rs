//! `wirelab client tcp|udp`: sends numbered demo-protocol requests at a fixed
//! rate and reports what came back — received, lost, duplicated, reordered —
//! and round-trip time percentiles, so the two transports can be compared.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::demo;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Tcp,
    Udp,
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub transport: Transport,
    pub server: SocketAddr,
    pub count: u32,
    pub size: usize,
    /// Messages per second; 0 = as fast as possible.
    pub rate: f64,
    /// How long to wait for late UDP replies after the last request.
    pub linger: Duration,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Report {
    pub transport: String,
    pub server: String,
    pub sent: u32,
    pub received: u32,
    pub lost: u32,
    pub duplicated: u32,
    pub reordered: u32,
    pub bad_replies: u32,
    pub rtt_us: Percentiles,
    pub elapsed_s: f64,
    /// When each message's reply first reached the client (µs since 1970), by seq.
    #[serde(skip)]
    pub received_at_us: Vec<Option<u64>>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Percentiles {
    pub min: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

impl Percentiles {
    fn of(mut v: Vec<u64>) -> Self {
        if v.is_empty() {
            return Percentiles::default();
        }
        v.sort_unstable();
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        Percentiles { min: v[0], p50: at(0.5), p90: at(0.9), p99: at(0.99), max: v[v.len() - 1] }
    }
}

impl Report {
    pub fn text(&self) -> String {
        let ms = |us: u64| us as f64 / 1000.0;
        format!(
            "{} to {}: sent {}, received {}, lost {}, duplicated {}, reordered {}{} in {:.2} s\n\
             round trip: min {:.3} ms, median {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            self.transport.to_uppercase(),
            self.server,
            self.sent,
            self.received,
            self.lost,
            self.duplicated,
            self.reordered,
            if self.bad_replies > 0 { format!(", {} bad replies", self.bad_replies) } else { String::new() },
            self.elapsed_s,
            ms(self.rtt_us.min),
            ms(self.rtt_us.p50),
            ms(self.rtt_us.p90),
            ms(self.rtt_us.p99),
            ms(self.rtt_us.max),
        )
    }
}

/// What the receiving side saw, message by message.
struct Tally {
    seen: Vec<u8>,
    max_seq: Option<u32>,
    received: u32,
    duplicated: u32,
    reordered: u32,
    bad: u32,
    rtts: Vec<u64>,
    received_at: Vec<Option<u64>>,
}

impl Tally {
    fn new(count: u32) -> Self {
        Tally {
            seen: vec![0; count as usize],
            max_seq: None,
            received: 0,
            duplicated: 0,
            reordered: 0,
            bad: 0,
            rtts: Vec::with_capacity(count as usize),
            received_at: vec![None; count as usize],
        }
    }

    fn reply(&mut self, msg: &[u8]) {
        let h = match demo::parse_header(msg) {
            Ok(h) if h.kind == demo::KIND_REPLY && (h.seq as usize) < self.seen.len() => h,
            _ => {
                self.bad += 1;
                return;
            }
        };
        let slot = &mut self.seen[h.seq as usize];
        if *slot > 0 {
            self.duplicated += 1;
            return;
        }
        *slot = 1;
        self.received += 1;
        if self.max_seq.is_some_and(|m| h.seq < m) {
            self.reordered += 1;
        }
        self.max_seq = Some(self.max_seq.map_or(h.seq, |m| m.max(h.seq)));
        let now = demo::now_us();
        self.rtts.push(now.saturating_sub(h.sent_us));
        if let Some(at) = self.received_at.get_mut(h.seq as usize) {
            *at = Some(now);
        }
    }

    fn done(&self) -> bool {
        self.received as usize == self.seen.len()
    }
}

pub async fn run(cfg: &ClientConfig) -> anyhow::Result<Report> {
    let start = Instant::now();
    let tally = match cfg.transport {
        Transport::Udp => udp(cfg).await?,
        Transport::Tcp => tcp(cfg).await?,
    };
    Ok(Report {
        transport: format!("{:?}", cfg.transport).to_lowercase(),
        server: cfg.server.to_string(),
        sent: cfg.count,
        received: tally.received,
        lost: cfg.count - tally.received,
        duplicated: tally.duplicated,
        reordered: tally.reordered,
        bad_replies: tally.bad,
        rtt_us: Percentiles::of(tally.rtts),
        received_at_us: tally.received_at,
        elapsed_s: start.elapsed().as_secs_f64(),
    })
}

fn pacer(rate: f64) -> Option<tokio::time::Interval> {
    (rate > 0.0).then(|| {
        let mut i = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        i
    })
}

async fn udp(cfg: &ClientConfig) -> anyhow::Result<Tally> {
    let local: SocketAddr = if cfg.server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse()?;
    let sock = UdpSocket::bind(local).await?;
    sock.connect(cfg.server).await?;
    let mut tally = Tally::new(cfg.count);
    let mut buf = vec![0u8; 65_536];
    let mut pace = pacer(cfg.rate);
    let mut next = 0u32;
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        if next == cfg.count && deadline.is_none() {
            deadline = Some(tokio::time::Instant::now() + cfg.linger);
        }
        if deadline.is_some() && tally.done() {
            break;
        }
        let send_due = async {
            if next >= cfg.count {
                std::future::pending::<()>().await
            } else if let Some(p) = pace.as_mut() {
                p.tick().await;
            }
        };
        let give_up = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            r = sock.recv(&mut buf) => match r {
                Ok(n) => tally.reply(&buf[..n]),
                // ICMP port unreachable from an earlier datagram: no server there.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    anyhow::bail!("nothing listens on udp {} (the kernel answered port unreachable); start it with `wirelab serve udp`", cfg.server)
                }
                Err(e) => return Err(e.into()),
            },
            _ = send_due => {
                match sock.send(&demo::request(next, cfg.size)).await {
                    // A firewall rule dropped it on the way out (wirelab compare's
                    // kernel loss): like a datagram lost on a wire, it is gone.
                    Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {}
                    r => {
                        r?;
                    }
                }
                next += 1;
            }
            _ = give_up => break,
        }
    }
    Ok(tally)
}

async fn tcp(cfg: &ClientConfig) -> anyhow::Result<Tally> {
    let stream = TcpStream::connect(cfg.server).await.map_err(|e| {
        anyhow::anyhow!("cannot connect to tcp {}: {e}; start the server with `wirelab serve tcp`", cfg.server)
    })?;
    stream.set_nodelay(true)?;
    let (mut rd, mut wr) = stream.into_split();
    let (count, size, rate) = (cfg.count, cfg.size, cfg.rate);
    let writer = tokio::spawn(async move {
        let mut pace = pacer(rate);
        for seq in 0..count {
            if let Some(p) = pace.as_mut() {
                p.tick().await;
            }
            wr.write_all(&demo::request(seq, size)).await?;
        }
        Ok::<_, std::io::Error>(wr)
    });
    let mut tally = Tally::new(cfg.count);
    let mut msg = Vec::new();
    while !tally.done() {
        msg.resize(demo::HEADER_LEN, 0);
        if let Err(e) = rd.read_exact(&mut msg).await {
            anyhow::bail!("the server closed the connection after {} replies: {e}", tally.received);
        }
        let len = demo::parse_header(&msg).map(|h| h.length as usize).map_err(|e| anyhow::anyhow!("bad reply: {e}"))?;
        msg.resize(demo::HEADER_LEN + len, 0);
        rd.read_exact(&mut msg[demo::HEADER_LEN..]).await?;
        tally.reply(&msg);
    }
    let mut wr = writer.await??;
    let _ = wr.shutdown().await;
    Ok(tally)
}
