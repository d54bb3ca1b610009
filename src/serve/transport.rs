//! The TCP and UDP demo servers: both answer every demo-protocol request
//! ([`super::demo`]) with a reply. The UDP server can impair its replies —
//! drop, duplicate, reorder, delay — with a seed so a run can be repeated.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::watch;

use super::demo;

/// What the UDP server does to its replies. Probabilities are 0.0–1.0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Impairment {
    pub loss: f64,
    pub duplicate: f64,
    pub reorder: f64,
    pub delay: Duration,
    pub seed: u64,
}

impl Default for Impairment {
    fn default() -> Self {
        Impairment { loss: 0.0, duplicate: 0.0, reorder: 0.0, delay: Duration::ZERO, seed: 1 }
    }
}

impl Impairment {
    pub fn is_none(&self) -> bool {
        self.loss == 0.0 && self.duplicate == 0.0 && self.reorder == 0.0 && self.delay.is_zero()
    }

    pub fn describe(&self) -> String {
        if self.is_none() {
            return "no impairment".into();
        }
        format!(
            "impairment: loss {:.0}%, duplicate {:.0}%, reorder {:.0}%, delay {} ms, seed {}",
            self.loss * 100.0,
            self.duplicate * 100.0,
            self.reorder * 100.0,
            self.delay.as_millis(),
            self.seed
        )
    }
}

/// Counters the transport servers keep, readable while they run.
#[derive(Debug, Default)]
pub struct TransportStats {
    pub requests: AtomicU64,
    pub replies_sent: AtomicU64,
    pub dropped: AtomicU64,
    pub duplicated: AtomicU64,
    pub reordered: AtomicU64,
    pub bad_input: AtomicU64,
    /// TCP connections closed because the client was silent, slow or not reading.
    pub timed_out: AtomicU64,
}

fn log_bad(stats: &TransportStats, what: std::fmt::Arguments) {
    // Say what was wrong, but do not let a flood of junk flood the terminal.
    let n = stats.bad_input.fetch_add(1, Ordering::Relaxed);
    if n < 10 || n.is_multiple_of(1000) {
        eprintln!("wirelab serve: {what} (ignored; {} so far)", n + 1);
    }
}

pub async fn run_udp(socket: UdpSocket, imp: Impairment, stats: Arc<TransportStats>, mut stop: watch::Receiver<bool>) {
    let socket = Arc::new(socket);
    let delayed = delayer(socket.clone(), imp.delay);
    let mut rng = StdRng::seed_from_u64(imp.seed);
    let mut buf = vec![0u8; 65_536];
    // A reply held back so that the next one overtakes it (reordering).
    let mut held: Option<(Vec<u8>, SocketAddr, usize)> = None;
    loop {
        let flush_held = async {
            if held.is_some() {
                tokio::time::sleep(Duration::from_millis(100)).await
            } else {
                std::future::pending::<()>().await
            }
        };
        let (n, peer) = tokio::select! {
            _ = stop.changed() => break,
            _ = flush_held => {
                if let Some((msg, to, copies)) = held.take() {
                    send(&socket, &delayed, msg, to, copies, &stats);
                }
                continue;
            }
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    // ICMP errors from an earlier send show up here on Linux; keep serving.
                    if e.kind() != std::io::ErrorKind::ConnectionRefused {
                        eprintln!("wirelab serve udp: receive failed: {e}");
                    }
                    continue;
                }
            },
        };
        let msg = &buf[..n];
        match demo::parse_header(msg) {
            Ok(h) if h.kind == demo::KIND_REQUEST && n == demo::HEADER_LEN + h.length as usize => {}
            Ok(h) => {
                log_bad(
                    &stats,
                    format_args!(
                        "udp: datagram from {peer} is {n} bytes, its header says kind {} and {} payload bytes",
                        h.kind, h.length
                    ),
                );
                continue;
            }
            Err(e) => {
                log_bad(&stats, format_args!("udp: datagram from {peer}: {e}"));
                continue;
            }
        }
        stats.requests.fetch_add(1, Ordering::Relaxed);
        let mut reply = msg.to_vec();
        demo::make_reply(&mut reply);
        if imp.loss > 0.0 && rng.random_bool(imp.loss) {
            stats.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let copies = if imp.duplicate > 0.0 && rng.random_bool(imp.duplicate) {
            stats.duplicated.fetch_add(1, Ordering::Relaxed);
            2
        } else {
            1
        };
        if held.is_none() && imp.reorder > 0.0 && rng.random_bool(imp.reorder) {
            stats.reordered.fetch_add(1, Ordering::Relaxed);
            held = Some((reply, peer, copies));
            continue;
        }
        send(&socket, &delayed, reply, peer, copies, &stats);
        if let Some((msg, to, copies)) = held.take() {
            send(&socket, &delayed, msg, to, copies, &stats);
        }
    }
}

type Delayed = Option<(tokio::sync::mpsc::Sender<(tokio::time::Instant, Vec<u8>, SocketAddr)>, Duration)>;

/// With a delay, replies go through one queue served in order, so the delay
/// itself never reorders them (only the reorder switch does). The queue holds
/// at most `limits::UDP_DELAY_QUEUE` replies: a flood cannot grow it without
/// bound (a reply that finds it full is dropped, and counted).
fn delayer(socket: Arc<UdpSocket>, delay: Duration) -> Delayed {
    if delay.is_zero() {
        return None;
    }
    let (tx, mut rx) =
        tokio::sync::mpsc::channel::<(tokio::time::Instant, Vec<u8>, SocketAddr)>(super::limits::UDP_DELAY_QUEUE);
    tokio::spawn(async move {
        while let Some((due, msg, to)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            let _ = socket.send_to(&msg, to).await;
        }
    });
    Some((tx, delay))
}

fn send(socket: &UdpSocket, delayed: &Delayed, msg: Vec<u8>, to: SocketAddr, copies: usize, stats: &TransportStats) {
    for _ in 0..copies {
        stats.replies_sent.fetch_add(1, Ordering::Relaxed);
        match delayed {
            Some((q, delay)) => {
                let due = tokio::time::Instant::now() + *delay;
                if q.try_send((due, msg.clone(), to)).is_err() {
                    stats.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            // Loopback rarely pushes back; if it does, the reply is lost, as UDP may.
            None => {
                let _ = socket.try_send_to(&msg, to);
            }
        }
    }
}

pub async fn run_tcp(listener: TcpListener, stats: Arc<TransportStats>, mut stop: watch::Receiver<bool>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(super::limits::MAX_CONNECTIONS));
    loop {
        let Some(permit) = super::accept_slot(&slots, &mut stop).await else { break };
        let (stream, peer) = tokio::select! {
            _ = stop.changed() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    eprintln!("wirelab serve tcp: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let stats = stats.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut stop = stop;
            tokio::select! {
                _ = stop.changed() => {}
                r = tcp_connection(stream, &stats) => if let Err(e) = r {
                    log_bad(&stats, format_args!("tcp: connection from {peer} closed: {e}"));
                },
            }
        });
    }
}

async fn tcp_connection(mut stream: TcpStream, stats: &TransportStats) -> Result<(), String> {
    let _ = stream.set_nodelay(true);
    let mut header = [0u8; demo::HEADER_LEN];
    use super::limits::{BODY_TIMEOUT, IDLE, WRITE_TIMEOUT};
    let late = |what: &str, t: Duration| format!("{what} did not come within {} s; closed", t.as_secs());
    loop {
        match tokio::time::timeout(IDLE, stream.read_exact(&mut header)).await {
            Err(_) => {
                stats.timed_out.fetch_add(1, Ordering::Relaxed);
                return Err(late("a request", IDLE));
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Ok(Err(e)) => return Err(e.to_string()),
        }
        let h = demo::parse_header(&header).map_err(|e| e.to_string())?;
        if h.kind != demo::KIND_REQUEST {
            return Err(format!("message {} has kind {}, expected 1 (request)", h.seq, h.kind));
        }
        let mut msg = Vec::with_capacity(demo::HEADER_LEN + h.length as usize);
        msg.extend_from_slice(&header);
        msg.resize(demo::HEADER_LEN + h.length as usize, 0);
        tokio::time::timeout(BODY_TIMEOUT, stream.read_exact(&mut msg[demo::HEADER_LEN..]))
            .await
            .map_err(|_| {
                stats.timed_out.fetch_add(1, Ordering::Relaxed);
                late(&format!("the rest of message {}", h.seq), BODY_TIMEOUT)
            })?
            .map_err(|e| format!("payload of message {}: {e}", h.seq))?;
        stats.requests.fetch_add(1, Ordering::Relaxed);
        demo::make_reply(&mut msg);
        tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&msg))
            .await
            .map_err(|_| {
                stats.timed_out.fetch_add(1, Ordering::Relaxed);
                format!("the client did not read its reply within {} s; closed", WRITE_TIMEOUT.as_secs())
            })?
            .map_err(|e| e.to_string())?;
        stats.replies_sent.fetch_add(1, Ordering::Relaxed);
    }
}
