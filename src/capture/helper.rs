//! `wirelab-capture`, the capture helper: the only part of wirelab that
//! needs privileges, as `dumpcap` is for Wireshark. The window, `wirelab
//! capture` and `wirelab compare` start it and read what it writes; they
//! hold no capability themselves.
//!
//! It does three things, and nothing else runs with its rights:
//! - `capture`: opens an interface, applies a BPF filter, drops every
//!   capability, then writes pcap (nanosecond timestamps) to stdout or a
//!   file until stdin closes, a count or a duration is reached, or it gets
//!   SIGINT/SIGTERM. Counters go to stderr as `stats received=R dropped=D
//!   if_dropped=I` lines.
//! - `probe`: opens an interface and closes it (may this user capture there?).
//! - `loss`: drops a seeded share of the packets of one TCP and one UDP
//!   port on loopback, with an nftables table of its own, for the TCP versus
//!   UDP comparison. The table is created with `flags owner` by an `nft -i`
//!   child that reads from this process: when this process ends in any way
//!   (even SIGKILL), the child sees end of input and exits, and the kernel
//!   deletes the table with it. It prints `ready` once the rules are in,
//!   answers a `counters` line with `counters tcp=N udp=M`, and ends when
//!   stdin closes.
//!
//! Every argument is checked before anything is opened. Exit codes: 0 done,
//! 1 failed, 2 bad argument, 3 no such interface, 4 bad filter, 77 no
//! privilege.

use std::io::{BufRead as _, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use rand::{Rng as _, SeedableRng as _};

use crate::file::PcapFileWriter;

pub const EXIT_FAILED: i32 = 1;
pub const EXIT_BAD_ARGUMENT: i32 = 2;
pub const EXIT_NO_SUCH_INTERFACE: i32 = 3;
pub const EXIT_BAD_FILTER: i32 = 4;
pub const EXIT_PERMISSION: i32 = 77;

/// The helper's file name, installed beside `wirelab`.
pub const NAME: &str = "wirelab-capture";

#[derive(Parser, Debug)]
#[command(
    name = "wirelab-capture",
    version,
    about = "wirelab's capture helper: the only part of wirelab that needs CAP_NET_RAW and CAP_NET_ADMIN. \
             wirelab starts it; you rarely need to run it yourself."
)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand, Debug)]
enum Mode {
    /// Capture on an interface; pcap to stdout (or -w FILE) until stdin closes.
    Capture {
        #[arg(short, long, default_value = "lo")]
        interface: String,
        /// BPF capture filter (empty: everything).
        #[arg(short, long, default_value = "")]
        filter: String,
        #[arg(short, long, default_value_t = 262_144)]
        snaplen: i32,
        /// Kernel buffer, bytes.
        #[arg(short = 'B', long, default_value_t = 64 << 20)]
        buffer_size: i32,
        /// Stop after this many frames.
        #[arg(short, long)]
        count: Option<u64>,
        /// Stop after this many seconds.
        #[arg(short = 'a', long)]
        duration: Option<f64>,
        /// Write to this file instead of stdout (created after privileges are dropped).
        #[arg(short, long)]
        write: Option<std::path::PathBuf>,
    },
    /// Open the interface and close it at once: may this user capture on it?
    Probe {
        #[arg(short, long, default_value = "lo")]
        interface: String,
    },
    /// Drop a seeded share of one TCP and one UDP port's packets on loopback until stdin closes.
    Loss {
        #[arg(long)]
        tcp_port: u16,
        #[arg(long)]
        udp_port: u16,
        /// From 0 to 1.
        #[arg(long)]
        probability: f64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

/// An error and the exit code that carries it to wirelab.
struct Fail(i32, String);

/// The helper's `main`: parses, checks, runs; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_BAD_ARGUMENT } else { 0 };
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let _ = ctrlc::set_handler(move || s.store(true, Ordering::Relaxed));
    let r = match cli.mode {
        Mode::Capture { interface, filter, snaplen, buffer_size, count, duration, write } => {
            capture(&interface, &filter, snaplen, buffer_size, count, duration, write, stop)
        }
        Mode::Probe { interface } => probe(&interface),
        Mode::Loss { tcp_port, udp_port, probability, seed } => loss(tcp_port, udp_port, probability, seed, stop),
    };
    match r {
        Ok(()) => 0,
        Err(Fail(code, msg)) => {
            eprintln!("{NAME}: {msg}");
            code
        }
    }
}

/// An interface name as Linux allows it: 1 to 15 bytes, no slash, no
/// space or control character, not `.` or `..`.
pub fn check_interface(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && name.chars().all(|c| c.is_ascii_graphic() && c != '/' && c != ':');
    if ok {
        Ok(())
    } else {
        Err(format!("{name:?} is not an interface name (1 to 15 letters, digits, '.', '-' or '_')"))
    }
}

fn bad(msg: String) -> Fail {
    Fail(EXIT_BAD_ARGUMENT, msg)
}

/// What libpcap said when it could not open an interface, with its exit code.
fn open_err(e: pcap::Error) -> Fail {
    let detail = e.to_string();
    let lower = detail.to_lowercase();
    if lower.contains("permission") || lower.contains("operation not permitted") {
        Fail(EXIT_PERMISSION, detail)
    } else if lower.contains("no such device") || lower.contains("doesn't exist") {
        Fail(EXIT_NO_SUCH_INTERFACE, detail)
    } else {
        Fail(EXIT_FAILED, detail)
    }
}

fn probe(interface: &str) -> Result<(), Fail> {
    check_interface(interface).map_err(bad)?;
    pcap::Capture::from_device(interface).and_then(|c| c.snaplen(64).timeout(1).open()).map_err(open_err)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn capture(
    interface: &str,
    filter: &str,
    snaplen: i32,
    buffer_size: i32,
    count: Option<u64>,
    duration: Option<f64>,
    write: Option<std::path::PathBuf>,
    stop: Arc<AtomicBool>,
) -> Result<(), Fail> {
    check_interface(interface).map_err(bad)?;
    if !(1..=262_144).contains(&snaplen) {
        return Err(bad(format!("the snapshot length {snaplen} is not between 1 and 262144")));
    }
    if !(1 << 16..=1 << 30).contains(&buffer_size) {
        return Err(bad(format!("the buffer size {buffer_size} is not between 64 KiB and 1 GiB")));
    }
    if filter.len() > 4096 || filter.contains('\0') {
        return Err(bad("the capture filter is longer than 4096 bytes or holds a NUL byte".into()));
    }
    if count == Some(0) {
        return Err(bad("the count must be at least 1".into()));
    }
    let duration = match duration {
        Some(d) if !(d.is_finite() && d > 0.0 && d <= 1e7) => {
            return Err(bad(format!("the duration {d} is not a number of seconds above 0")));
        }
        d => d.map(Duration::from_secs_f64),
    };
    let mut cap = pcap::Capture::from_device(interface)
        .map_err(open_err)?
        .snaplen(snaplen)
        .buffer_size(buffer_size)
        // libpcap's read timeout only runs once a packet has arrived: the
        // handle is non-blocking and `wait_readable` polls instead, which
        // bounds the time to stop.
        .immediate_mode(true)
        .timeout(50)
        .precision(pcap::Precision::Nano)
        .open()
        .map_err(open_err)?
        .setnonblock()
        .map_err(open_err)?;
    if !filter.trim().is_empty() {
        cap.filter(filter, true).map_err(|e| Fail(EXIT_BAD_FILTER, e.to_string()))?;
    }
    // The socket is open and filtered: nothing more needs a privilege.
    drop_privileges()?;
    let linktype = cap.get_datalink().0 as u32;
    let out: Box<dyn Write> = match &write {
        Some(p) => Box::new(
            std::fs::File::create(p).map_err(|e| Fail(EXIT_FAILED, format!("cannot create {}: {e}", p.display())))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = PcapFileWriter::new(out, linktype, snaplen as u32)
        .map_err(|e| Fail(EXIT_FAILED, format!("cannot write the pcap header: {e}")))?;
    // The header goes out at once: it tells wirelab the capture is open.
    w.flush().map_err(|e| Fail(EXIT_FAILED, format!("cannot write: {e}")))?;
    // Closing stdin asks the helper to stop (and so does its parent ending).
    let s = stop.clone();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        s.store(true, Ordering::Relaxed);
    });
    let started = Instant::now();
    let mut last_stats = Instant::now();
    let mut number = 0u64;
    // Asked to stop, it still takes what the kernel has already queued
    // (everything sent before), for at most this long.
    const LAST_READS: Duration = Duration::from_millis(500);
    let mut stopping: Option<Instant> = None;
    let mut result = Ok(());
    loop {
        if stopping.is_none() && stop.load(Ordering::Relaxed) {
            stopping = Some(Instant::now());
        }
        if stopping.is_some_and(|t| t.elapsed() >= LAST_READS)
            || count.is_some_and(|c| number >= c)
            || duration.is_some_and(|d| started.elapsed() >= d)
        {
            break;
        }
        let idle = match cap.next_packet() {
            Ok(p) => {
                number += 1;
                let ns = p.header.ts.tv_usec.clamp(0, 999_999_999) as u32;
                if let Err(e) = w.write(p.header.ts.tv_sec, ns, p.header.len, p.data) {
                    result = Err(Fail(EXIT_FAILED, format!("writing failed: {e}")));
                    break;
                }
                false
            }
            Err(pcap::Error::TimeoutExpired) if stopping.is_some() => break,
            Err(pcap::Error::TimeoutExpired) => true,
            Err(e) => {
                result = Err(Fail(EXIT_FAILED, format!("reading packets failed: {e}")));
                break;
            }
        };
        if idle || last_stats.elapsed() >= Duration::from_millis(50) {
            if let Err(e) = w.flush() {
                // The reader went away: nothing is left to do.
                result = Err(Fail(EXIT_FAILED, format!("writing failed: {e}")));
                break;
            }
            if last_stats.elapsed() >= Duration::from_millis(200) {
                report_stats(&mut cap);
                last_stats = Instant::now();
            }
        }
        if idle {
            wait_readable(&cap, 20);
        }
    }
    let _ = w.flush();
    drop(w);
    report_stats(&mut cap);
    result
}

fn report_stats(cap: &mut pcap::Capture<pcap::Active>) {
    if let Ok(s) = cap.stats() {
        eprintln!("stats received={} dropped={} if_dropped={}", s.received, s.dropped, s.if_dropped);
    }
}

/// Waits until the capture handle has packets, or `ms` milliseconds.
fn wait_readable(cap: &pcap::Capture<pcap::Active>, ms: i32) {
    use std::os::fd::AsRawFd;
    let mut fd = libc::pollfd { fd: cap.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd, for the duration of the call.
    unsafe {
        libc::poll(&mut fd, 1, ms);
    }
}

/// Gives up every capability, for good (and a set-uid root start's uid).
fn drop_privileges() -> Result<(), Fail> {
    // SAFETY: plain system calls with no pointers.
    unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        let (uid, euid) = (libc::getuid(), libc::geteuid());
        if uid != 0 && euid == 0 && libc::setresuid(uid, uid, uid) != 0 {
            return Err(Fail(EXIT_FAILED, "cannot give up the set-uid root privilege".into()));
        }
    }
    for set in [caps::CapSet::Effective, caps::CapSet::Permitted, caps::CapSet::Inheritable] {
        // A process may always lower its own sets.
        caps::clear(None, set).map_err(|e| Fail(EXIT_FAILED, format!("cannot drop capabilities: {e}")))?;
    }
    let _ = caps::clear(None, caps::CapSet::Ambient);
    Ok(())
}

/// The counter slots (0..100) dropped for a loss probability and a seed:
/// the same seed, the same slots.
pub fn drop_slots(loss: f64, seed: u64) -> Vec<u32> {
    let k = (loss.clamp(0.0, 1.0) * 100.0).round() as usize;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut all: Vec<u32> = (0..100).collect();
    for i in 0..k {
        let j = rng.random_range(i..100);
        all.swap(i, j);
    }
    let mut slots = all[..k].to_vec();
    slots.sort_unstable();
    slots
}

/// The nftables commands of the loss table, one per line (as `nft -i`
/// reads them). TCP segments drop in the input hook, after a capture saw
/// them; UDP datagrams in the output hook, before it.
pub fn loss_commands(table: &str, tcp: u16, udp: u16, slots: &[u32]) -> Vec<String> {
    let vmap = |chain: &str| slots.iter().map(|s| format!("{s} : jump {chain}")).collect::<Vec<_>>().join(", ");
    let mut c = vec![
        format!("add table inet {table} {{ flags owner; }}"),
        format!("add chain inet {table} drop_tcp"),
        format!("add rule inet {table} drop_tcp counter drop"),
        format!("add chain inet {table} drop_udp"),
        format!("add rule inet {table} drop_udp counter drop"),
        format!("add chain inet {table} inp {{ type filter hook input priority 0; policy accept; }}"),
        format!("add chain inet {table} out {{ type filter hook output priority 0; policy accept; }}"),
    ];
    if !slots.is_empty() {
        for (chain, iface, proto, port, to) in
            [("inp", "iifname", "tcp", tcp, "drop_tcp"), ("out", "oifname", "udp", udp, "drop_udp")]
        {
            for dir in ["sport", "dport"] {
                c.push(format!(
                    "add rule inet {table} {chain} {iface} \"lo\" {proto} {dir} {port} numgen inc mod 100 vmap {{ {} }}",
                    vmap(to)
                ));
            }
        }
    }
    c
}

/// `nft -i`, holding the loss table. Its output and its complaints arrive
/// on one channel, so a command that fails answers with its error instead
/// of leaving a reader waiting for output that never comes.
struct Nft {
    child: Child,
    stdin: ChildStdin,
    lines: std::sync::mpsc::Receiver<Result<String, String>>,
    table: String,
}

/// What one listing of the table shows.
struct Listing {
    tcp_dropped: u64,
    udp_dropped: u64,
    /// The `numgen` rules in it.
    rules: usize,
}

impl Nft {
    fn start(nft: &str) -> Result<Nft, Fail> {
        let mut child = Command::new(nft)
            .env_clear()
            .arg("-i")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Fail(EXIT_FAILED, format!("nft (Debian's nftables package) cannot run: {e}")))?;
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(Fail(EXIT_FAILED, "nft has no pipes".into()));
        };
        let (tx, lines) = std::sync::mpsc::channel();
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(Ok(l));
            }
        });
        std::thread::spawn(move || {
            for l in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx2.send(Err(l));
            }
        });
        Ok(Nft { child, stdin, lines, table: format!("wirelab_loss_{}", std::process::id()) })
    }

    fn send(&mut self, line: &str) -> Result<(), Fail> {
        writeln!(self.stdin, "{line}")
            .and_then(|_| self.stdin.flush())
            .map_err(|e| Fail(EXIT_FAILED, format!("nft: {e}")))
    }

    /// Lists the table (nft answers after every command before it), or
    /// returns nft's first complaint.
    fn list(&mut self) -> Result<Listing, Fail> {
        let table = self.table.clone();
        self.send(&format!("list table inet {table}"))?;
        let (mut chain, mut l) = (String::new(), Listing { tcp_dropped: 0, udp_dropped: 0, rules: 0 });
        loop {
            // Generous: nft answers in milliseconds; a minute means it is stuck.
            let line = match self.lines.recv_timeout(Duration::from_secs(60)) {
                Ok(Ok(line)) => line,
                Ok(Err(complaint)) => {
                    return Err(if complaint.contains("Operation not permitted") {
                        Fail(EXIT_PERMISSION, "adding nftables rules needs CAP_NET_ADMIN".into())
                    } else {
                        Fail(EXIT_FAILED, format!("nft refused the rules: {complaint}"))
                    });
                }
                Err(_) => return Err(Fail(EXIT_FAILED, "nft stopped answering".into())),
            };
            let t = line.trim();
            if let Some(name) = t.strip_prefix("chain ") {
                chain = name.trim_end_matches(" {").to_string();
            }
            l.rules += usize::from(t.contains("numgen inc mod 100"));
            if let Some(n) = t.strip_prefix("counter packets ").and_then(|r| r.split(' ').next()?.parse::<u64>().ok()) {
                match chain.as_str() {
                    "drop_tcp" => l.tcp_dropped += n,
                    "drop_udp" => l.udp_dropped += n,
                    _ => {}
                }
            }
            if line.starts_with('}') {
                return Ok(l);
            }
        }
    }
}

fn loss(tcp: u16, udp: u16, probability: f64, seed: u64, stop: Arc<AtomicBool>) -> Result<(), Fail> {
    if tcp == 0 || udp == 0 {
        return Err(bad("the ports must be between 1 and 65535".into()));
    }
    if !(probability.is_finite() && (0.0..=1.0).contains(&probability)) {
        return Err(bad(format!("the probability {probability} is not between 0 and 1 (0.1 is 10%)")));
    }
    // nft runs with this process's network-admin right (ambient), and
    // nothing else; then this process drops everything.
    let _ = caps::raise(None, caps::CapSet::Inheritable, caps::Capability::CAP_NET_ADMIN);
    let _ = caps::raise(None, caps::CapSet::Ambient, caps::Capability::CAP_NET_ADMIN);
    // A fixed path and an empty environment: the caller's PATH must not
    // choose the program that runs with this right.
    let path = ["/usr/sbin/nft", "/sbin/nft"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .ok_or_else(|| Fail(EXIT_FAILED, "nft is not installed (Debian's nftables package)".into()))?;
    let mut nft = Nft::start(path)?;
    drop_privileges()?;
    let table = nft.table.clone();
    let commands = loss_commands(&table, tcp, udp, &drop_slots(probability, seed));
    for c in &commands {
        nft.send(c)?;
    }
    // Whole only if every rule is in: a refused rule shows as a missing one.
    let want = commands.iter().filter(|c| c.contains("numgen")).count();
    match nft.list() {
        Ok(l) if l.rules == want => {}
        Ok(l) => {
            let _ = nft.child.kill();
            let said: Vec<String> = nft.lines.try_iter().filter_map(Result::err).collect();
            return Err(Fail(EXIT_FAILED, format!("nft took {} of the {want} rules: {}", l.rules, said.join(" "))));
        }
        Err(e) => {
            let _ = nft.child.kill();
            return Err(e);
        }
    }
    println!("ready table inet {table}");
    let _ = std::io::stdout().flush();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in std::io::stdin().lock().lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    while !stop.load(Ordering::Relaxed) {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(l) if l.trim() == "counters" => {
                let l = nft.list()?;
                println!("counters tcp={} udp={}", l.tcp_dropped, l.udp_dropped);
                let _ = std::io::stdout().flush();
            }
            Ok(l) => eprintln!("{NAME}: ignored {l:?} (only \"counters\" is understood)"),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    // End of input: nft ends, and the kernel removes its table.
    drop(nft.stdin);
    let _ = nft.child.wait();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_that_could_mean_something_else_are_refused() {
        for ok in ["lo", "eth0", "veth-a.1", "any", "wl_x"] {
            assert!(check_interface(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "eth0 -w x", "sixteen-chars-xx", "lo\n", "a:1"] {
            assert!(check_interface(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_same_seed_drops_the_same_slots() {
        assert_eq!(drop_slots(0.1, 7), drop_slots(0.1, 7));
        assert_eq!(drop_slots(0.1, 7).len(), 10);
        assert_ne!(drop_slots(0.1, 7), drop_slots(0.1, 8));
        assert!(drop_slots(0.0, 7).is_empty());
        assert_eq!(drop_slots(2.0, 7).len(), 100);
    }

    #[test]
    fn the_loss_table_belongs_to_its_process_and_scopes_its_rules_to_the_two_ports() {
        let c = loss_commands("t", 4000, 5000, &[3, 9]);
        assert_eq!(c[0], "add table inet t { flags owner; }");
        let rules: Vec<&String> = c.iter().filter(|l| l.contains("numgen")).collect();
        assert_eq!(rules.len(), 4);
        assert!(rules.iter().all(|r| r.contains("\"lo\"")
            && (r.contains("tcp") && r.contains(" 4000 ") || r.contains("udp") && r.contains(" 5000 "))));
        assert!(rules[0].contains("{ 3 : jump drop_tcp, 9 : jump drop_tcp }"));
    }
}
