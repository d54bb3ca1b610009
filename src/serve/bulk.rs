//! The `tcp-bulk` scenario: one bulk transfer through a slow, lossy path,
//! so that TCP's congestion and flow control show in the packets.
//!
//! - **A bottleneck with a queue.** With the network-admin right (root),
//!   a token bucket (`tc … tbf`, 8 Mbit/s, a 64 KB queue) goes on loopback
//!   for the transfer's port alone: an `htb` root that lets the rest of
//!   loopback through as before, and a `u32` filter that sends the data's
//!   direction into a class whose queue is the bucket (which also cuts the
//!   kernel's 64 KB GSO packets into real segments). The sender's window outgrows the
//!   link, the queue fills (round trips grow), the queue overflows (tail
//!   drops), and the sender backs off. Removed at the end, and left alone if
//!   loopback already has a queueing discipline of someone else's.
//!   Without the right the sender paces itself (`SO_MAX_PACING_RATE`) and
//!   the report says there was no queue.
//! - **Random loss**: 1% of the transfer's packets, dropped by the capture
//!   helper's nftables table after the capture saw them (as in
//!   `wirelab compare`): fast retransmissions and recovery.
//! - **A reader that stops**: the receiver, with a small receive buffer,
//!   stops reading half-way for half a second: the window closes (a zero
//!   window), the sender probes it, and a window update opens it again.
//!
//! Segments carry at most 1448 bytes (`TCP_MAXSEG`), as on Ethernet, not
//! loopback's 65483 (without the bucket, the kernel may still hand the
//! capture several of them as one large packet, as it does on any
//! interface that offloads segmentation).

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use socket2::{Domain, Socket, Type};

use super::compare::KernelLoss;

/// The transfer's lesson port, when free.
pub const PORT: u16 = 9006;
/// Bytes sent.
pub const SIZE: usize = 1_000_000;
/// The largest segment, as on Ethernet (1500 − 20 − 20); with timestamps a
/// segment carries 1448 bytes.
const MSS: u32 = 1460;
/// The receiver's buffer: large enough for the queue to overflow first, small enough to fill while the reader pauses.
const RCVBUF: usize = 128 * 1024;
/// How long the reader stops half-way.
const PAUSE: Duration = Duration::from_millis(800);
/// The bottleneck's rate and queue.
const RATE: &str = "8mbit";
const QUEUE: &str = "64kb";
/// The sender's own pace when there is no bottleneck (bytes per second).
const PACE: u64 = 1_000_000;
/// The share of packets dropped at random.
const LOSS: f64 = 0.01;

/// The transfer's listening socket, bound before the capture starts.
pub struct Bulk {
    listener: TcpListener,
    pub port: u16,
}

impl Bulk {
    pub fn bind() -> anyhow::Result<Bulk> {
        let listen = |port: u16| -> std::io::Result<TcpListener> {
            let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
            s.set_reuse_address(true)?;
            // Inherited by the accepted socket: its MSS and its window.
            s.set_tcp_mss(MSS)?;
            s.set_recv_buffer_size(RCVBUF)?;
            s.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)).into())?;
            s.listen(4)?;
            Ok(s.into())
        };
        let listener = listen(PORT).or_else(|_| listen(0)).context("cannot listen for the bulk transfer")?;
        let port = listener.local_addr()?.port();
        Ok(Bulk { listener, port })
    }

    /// Runs the transfer; what happened goes to `out`.
    pub fn run(self, out: &mut Vec<String>) -> anyhow::Result<()> {
        let port = self.port;
        let bottleneck = Bottleneck::install(port);
        // The loss helper wants a UDP port of ours too (it drops nothing there).
        let udp = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
        let loss = KernelLoss::install(port, udp.local_addr()?.port(), LOSS, 7);
        match &bottleneck {
            Ok(_) => out.push(format!("a bottleneck on loopback for port {port}: {RATE}/s, a {QUEUE} queue (tc tbf)")),
            Err(e) => out.push(format!(
                "no bottleneck ({e}): the sender paces itself at {} kB/s instead, and no queue fills",
                PACE / 1000
            )),
        }
        match &loss {
            Ok(_) => out.push(format!("{}% of the transfer's packets dropped at random (nftables)", LOSS * 100.0)),
            Err(e) => out.push(format!("no random loss ({e})")),
        }
        let listener = self.listener;
        let reader = std::thread::spawn(move || -> std::io::Result<(usize, Duration)> {
            let (mut c, _) = listener.accept()?;
            let mut buf = vec![0u8; 16 * 1024];
            let (mut n, mut paused) = (0, None);
            loop {
                let k = c.read(&mut buf)?;
                if k == 0 {
                    break;
                }
                n += k;
                if paused.is_none() && n >= SIZE / 2 {
                    // The application stops reading: its buffer fills, the window closes.
                    std::thread::sleep(PAUSE);
                    paused = Some(PAUSE);
                }
            }
            c.write_all(format!("received {n} bytes").as_bytes())?;
            Ok((n, paused.unwrap_or_default()))
        });
        let started = Instant::now();
        let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        s.set_tcp_mss(MSS)?;
        if bottleneck.is_err() {
            pace(&s, PACE);
        }
        s.connect(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)).into()).context("cannot reach the bulk receiver")?;
        let mut c: std::net::TcpStream = s.into();
        c.set_read_timeout(Some(Duration::from_secs(30)))?;
        let data: Vec<u8> = (0..SIZE).map(|i| b'a' + (i % 26) as u8).collect();
        c.write_all(&data).context("the bulk transfer broke off")?;
        c.shutdown(std::net::Shutdown::Write)?;
        let mut answer = String::new();
        c.read_to_string(&mut answer).context("the receiver never said how much it got")?;
        let took = started.elapsed();
        let (got, paused) =
            reader.join().map_err(|_| anyhow::anyhow!("the receiver failed"))?.context("the receiver failed")?;
        out.push(format!(
            "sent {SIZE} bytes in {:.2} s; the receiver stopped reading for {} ms half-way and said \"{answer}\"",
            took.as_secs_f64(),
            paused.as_millis()
        ));
        if got != SIZE {
            anyhow::bail!("the receiver got {got} bytes of {SIZE}");
        }
        drop(loss);
        drop(bottleneck);
        Ok(())
    }
}

/// Caps the sender's rate (the kernel's TCP pacing; no right needed).
fn pace(s: &Socket, bytes_per_second: u64) {
    use std::os::fd::AsRawFd as _;
    let v = bytes_per_second;
    // SAFETY: a plain setsockopt on a socket this function borrows, with a
    // pointer to a u64 that outlives the call and its size.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_MAX_PACING_RATE,
            (&v as *const u64).cast(),
            std::mem::size_of::<u64>() as libc::socklen_t,
        );
    }
}

/// The token bucket on loopback; removed when dropped.
struct Bottleneck;

impl Bottleneck {
    fn install(port: u16) -> Result<Bottleneck, String> {
        let admin = caps::has_cap(None, caps::CapSet::Effective, caps::Capability::CAP_NET_ADMIN).unwrap_or(false);
        if !admin {
            return Err("shaping loopback needs the network-admin right: run as root".into());
        }
        let tc = tc().ok_or("tc is not installed (Debian's iproute2 package)")?;
        let run = |args: &str| -> Result<String, String> {
            let o =
                Command::new(tc).args(args.split_whitespace()).output().map_err(|e| format!("cannot run {tc}: {e}"))?;
            if o.status.success() {
                Ok(String::from_utf8_lossy(&o.stdout).into_owned())
            } else {
                Err(format!("tc {args}: {}", String::from_utf8_lossy(&o.stderr).trim()))
            }
        };
        let now = run("qdisc show dev lo root")?;
        if !now.trim().is_empty() && !now.contains("noqueue") {
            return Err(format!(
                "loopback already has a queueing discipline, left as it is ({}; if a killed run left it, \
                 `sudo tc qdisc del dev lo root` removes it)",
                now.trim()
            ));
        }
        // An HTB root sends what no filter classifies straight on (its
        // `default 0`); the filter sends the data into a class whose queue
        // is the token bucket.
        let steps = [
            "qdisc add dev lo root handle 1: htb".to_string(),
            "class add dev lo parent 1: classid 1:10 htb rate 10gbit".to_string(),
            format!("qdisc add dev lo parent 1:10 handle 10: tbf rate {RATE} burst 1600 limit {QUEUE}"),
            format!("filter add dev lo parent 1: protocol ip prio 1 u32 match ip dport {port} 0xffff flowid 1:10"),
        ];
        for (i, s) in steps.iter().enumerate() {
            if let Err(e) = run(s) {
                if i > 0 {
                    let _ = run("qdisc del dev lo root");
                }
                return Err(e);
            }
        }
        Ok(Bottleneck)
    }
}

impl Drop for Bottleneck {
    fn drop(&mut self) {
        if let Some(tc) = tc() {
            let _ = Command::new(tc).args(["qdisc", "del", "dev", "lo", "root"]).output();
        }
    }
}

/// Where `tc` is: a fixed path, not the caller's PATH.
fn tc() -> Option<&'static str> {
    ["/usr/sbin/tc", "/sbin/tc"].into_iter().find(|p| std::path::Path::new(p).is_file())
}
