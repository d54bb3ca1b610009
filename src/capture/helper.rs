//! `wirelab-capture`, the capture helper: the only part of wirelab that
//! needs privileges, as `dumpcap` is for Wireshark. The window, `wirelab
//! capture` and `wirelab compare` start it and read what it writes; they
//! hold no capability themselves.
//!
//! Its rights, one model for both ways the package installs it (file
//! capabilities, or set-uid root where the file system cannot hold them):
//! before anything else runs, while it is the only thread, it becomes the
//! user who started it and keeps only CAP_NET_RAW and CAP_NET_ADMIN
//! ([`keep_only_needed`]); root's rule that a program it starts gets every
//! capability is switched off. Each job then gives those up too
//! ([`drop_privileges`]) as soon as the one step that needs them is done,
//! and only after that starts any other thread: capabilities belong to
//! threads, so a thread started earlier would keep them.
//!
//! It does three things, and nothing else runs with its rights:
//! - `capture`: opens a network interface (`lo`, `any` or a real network
//!   device; libpcap's other devices, such as `usbmon0` or `nfqueue`, are
//!   refused), drops every capability, applies the BPF filter (compiled
//!   without rights), then writes pcap (nanosecond timestamps) to stdout or
//!   a file until stdin closes, a count or a duration is reached, or it gets
//!   SIGINT/SIGTERM. Counters go to stderr as `stats received=R dropped=D
//!   if_dropped=I` lines.
//! - `probe`: opens an interface and closes it (may this user capture there?).
//! - `loss`: drops a seeded share (at most [`MAX_KERNEL_LOSS`]) of the
//!   packets of one TCP and one UDP port on loopback, ports of 1024 and up
//!   that a socket of the calling user holds, with an nftables table of its
//!   own, for the TCP versus UDP comparison; one run per user at a time. The
//!   table is created with `flags owner` by an `nft -i` child that holds
//!   only CAP_NET_ADMIN and reads from this process: when this process ends
//!   in any way (even SIGKILL), the child sees end of input and exits, and
//!   the kernel deletes the table with it. It prints `ready` once the rules
//!   are in, answers a `counters` line with `counters tcp=N udp=M`, and ends
//!   when stdin closes.
//!
//! Every argument is checked before anything is opened. Exit codes: 0 done,
//! 1 failed, 2 bad argument (or refused: not a network interface, a port
//! not the user's, a second loss run), 3 no such interface, 4 bad filter,
//! 77 no privilege.

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

/// The largest kernel buffer a capture may ask for, bytes.
pub const MAX_BUFFER: i32 = 64 << 20;

/// The largest loss the helper adds: the most the TCP versus UDP comparison offers.
pub const MAX_KERNEL_LOSS: f64 = 0.5;

/// The lowest port the loss may apply to: below it are the system's services.
pub const MIN_LOSS_PORT: u16 = 1024;

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
        /// Kernel buffer, bytes (64 KiB to 64 MiB).
        #[arg(short = 'B', long, default_value_t = MAX_BUFFER)]
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
        /// A port of 1024 or above that a socket of yours holds.
        #[arg(long)]
        tcp_port: u16,
        /// A port of 1024 or above that a socket of yours holds.
        #[arg(long)]
        udp_port: u16,
        /// From 0 to 0.5.
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
    // First of all, while this is the only thread: the real user, and of
    // the start's rights only the two the helper's jobs need.
    if let Err(Fail(code, msg)) = keep_only_needed() {
        eprintln!("{NAME}: {msg}");
        return code;
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_BAD_ARGUMENT } else { 0 };
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
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

/// Names of libpcap devices that are not network interfaces: `usbmon*`
/// reads every USB transfer (keyboards included), `bluetooth*` Bluetooth
/// traffic, `nfqueue` takes over the host's queued packets, `nflog` reads
/// the host firewall's log, `dbus-*` the message bus.
const NOT_NETWORK: [&str; 7] = ["usbmon", "bluetooth", "nfqueue", "nflog", "dbus-", "dpdk:", "rdma"];

/// A network interface to capture on: `any`, or a network device of this
/// computer (one with an interface index: `lo`, `eth0`, …). Everything else
/// libpcap can open is refused.
fn network_interface(name: &str) -> Result<(), Fail> {
    check_interface(name).map_err(bad)?;
    if name == "any" {
        return Ok(());
    }
    let index = std::ffi::CString::new(name)
        // SAFETY: a NUL-terminated string that lives through the call.
        .map(|c| unsafe { libc::if_nametoindex(c.as_ptr()) })
        .unwrap_or(0);
    if index != 0 {
        Ok(())
    } else if NOT_NETWORK.iter().any(|p| name.starts_with(p)) {
        Err(bad(format!(
            "{name} is not a network interface: wirelab captures only on lo, any and this computer's network \
             interfaces (`wirelab interfaces` lists them)"
        )))
    } else {
        Err(Fail(
            EXIT_NO_SUCH_INTERFACE,
            format!("there is no network interface named {name} (`wirelab interfaces` lists them)"),
        ))
    }
}

/// Link types of network interfaces (libpcap's DLT numbers): a device that
/// opens as anything else is not one, whatever its name.
const NETWORK_LINKTYPES: [i32; 14] = [
    0,   // BSD loopback
    1,   // Ethernet
    9,   // PPP
    12,  // raw IP
    14,  // raw IP
    101, // raw IP
    104, // Cisco HDLC
    105, // 802.11
    108, // OpenBSD loopback
    113, // Linux cooked capture (any)
    127, // 802.11 with radiotap
    228, // IPv4
    229, // IPv6
    276, // Linux cooked capture v2 (any)
];

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
    network_interface(interface)?;
    let cap = pcap::Capture::from_device(interface).and_then(|c| c.snaplen(64).timeout(1).open()).map_err(open_err)?;
    drop_privileges()?;
    check_linktype(interface, &cap)
}

fn check_linktype(interface: &str, cap: &pcap::Capture<pcap::Active>) -> Result<(), Fail> {
    let linktype = cap.get_datalink().0;
    if NETWORK_LINKTYPES.contains(&linktype) {
        Ok(())
    } else {
        Err(bad(format!("{interface} is not a network interface (it opens as link type {linktype})")))
    }
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
    network_interface(interface)?;
    if !(1..=262_144).contains(&snaplen) {
        return Err(bad(format!("the snapshot length {snaplen} is not between 1 and 262144")));
    }
    if !(1 << 16..=MAX_BUFFER).contains(&buffer_size) {
        return Err(bad(format!("the buffer size {buffer_size} is not between 64 KiB and 64 MiB")));
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
    // The socket is open: nothing more needs a privilege. The filter is
    // compiled (names looked up) and attached without any; libpcap filters
    // what arrived before it in user space.
    drop_privileges()?;
    check_linktype(interface, &cap)?;
    if !filter.trim().is_empty() {
        cap.filter(filter, true).map_err(|e| Fail(EXIT_BAD_FILTER, e.to_string()))?;
    }
    stop_on_signals(&stop);
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

/// The capabilities the helper's jobs need: reading packets (CAP_NET_RAW)
/// and adding its own nftables table (CAP_NET_ADMIN).
const NEEDED: [caps::Capability; 2] = [caps::Capability::CAP_NET_RAW, caps::Capability::CAP_NET_ADMIN];

// linux/securebits.h: root's programs get no capability for being root's.
const SECBIT_NOROOT: libc::c_ulong = 1 << 0;
const SECBIT_NOROOT_LOCKED: libc::c_ulong = 1 << 1;

fn cap_err(what: &str) -> impl Fn(caps::errors::CapsError) -> Fail + '_ {
    move |e| Fail(EXIT_FAILED, format!("cannot {what}: {e}"))
}

/// The first thing the helper does, while it is its only thread: it
/// becomes the user who started it and keeps, of whatever it started with,
/// only [`NEEDED`]. Set-uid root (the package's fallback where the file
/// system cannot hold capabilities) or root itself start with every
/// capability: the bounding set is cut to the two, programs it starts get
/// nothing for running as root (SECBIT_NOROOT), and a set-uid start turns
/// into the real user at once, keeping its permitted set across the change
/// (PR_SET_KEEPCAPS). With file capabilities it starts as the user already.
fn keep_only_needed() -> Result<(), Fail> {
    let needed: caps::CapsHashSet = NEEDED.into_iter().collect();
    // SAFETY: plain system calls with no pointers.
    let (uid, euid) = unsafe { (libc::getuid(), libc::geteuid()) };
    if euid == 0 {
        // SAFETY: as above.
        if unsafe { libc::prctl(libc::PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED, 0, 0, 0) } != 0 {
            return Err(Fail(EXIT_FAILED, "cannot switch off root's capabilities for the programs it starts".into()));
        }
        for c in caps::all().difference(&needed) {
            // A capability this kernel does not know cannot be in the set.
            let _ = caps::drop(None, caps::CapSet::Bounding, *c);
        }
        if uid != 0 {
            // SAFETY: as above.
            let ok = unsafe {
                libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) == 0
                    && libc::setresuid(uid, uid, uid) == 0
                    && libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0) == 0
            };
            if !ok {
                return Err(Fail(EXIT_FAILED, "cannot give up the set-uid root privilege".into()));
            }
        }
    }
    let keep: caps::CapsHashSet = caps::read(None, caps::CapSet::Permitted)
        .map_err(cap_err("read capabilities"))?
        .intersection(&needed)
        .copied()
        .collect();
    let _ = caps::clear(None, caps::CapSet::Ambient);
    caps::clear(None, caps::CapSet::Inheritable).map_err(cap_err("drop capabilities"))?;
    caps::set(None, caps::CapSet::Effective, &keep).map_err(cap_err("drop capabilities"))?;
    caps::set(None, caps::CapSet::Permitted, &keep).map_err(cap_err("drop capabilities"))?;
    Ok(())
}

/// Gives up every capability, for good, and any way to get one back. It
/// must be the only thread (capabilities belong to threads): every other
/// thread starts after this.
fn drop_privileges() -> Result<(), Fail> {
    let threads = std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(1);
    if threads != 1 {
        return Err(Fail(EXIT_FAILED, format!("{threads} threads run before the capabilities are dropped")));
    }
    // SAFETY: a plain system call with no pointers.
    unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    }
    let _ = caps::clear(None, caps::CapSet::Ambient);
    for set in [caps::CapSet::Inheritable, caps::CapSet::Effective, caps::CapSet::Permitted] {
        // A process may always lower its own sets.
        caps::clear(None, set).map_err(cap_err("drop capabilities"))?;
    }
    Ok(())
}

/// SIGINT and SIGTERM ask the helper to stop. Its handler's thread starts
/// here, after the capabilities are gone.
fn stop_on_signals(stop: &Arc<AtomicBool>) {
    let s = stop.clone();
    let _ = ctrlc::set_handler(move || s.store(true, Ordering::Relaxed));
}

/// Whether a socket of user `uid` holds this local port (`proto`: "tcp" or
/// "udp", IPv4 or IPv6), in this network namespace, as /proc/net lists it.
pub fn port_held_by(uid: u32, proto: &str, port: u16) -> bool {
    [proto.to_string(), format!("{proto}6")].iter().any(|table| {
        std::fs::read_to_string(format!("/proc/net/{table}")).is_ok_and(|t| {
            t.lines().skip(1).any(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                let local =
                    cols.get(1).and_then(|a| a.rsplit_once(':')).and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
                local == Some(port) && cols.get(7).and_then(|u| u.parse::<u32>().ok()) == Some(uid)
            })
        })
    })
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
    /// Starts `nft -i`: a process, no thread (this process still holds its
    /// rights). `HOME` names no folder, so nft keeps no history file.
    fn spawn(nft: &str) -> Result<Child, Fail> {
        Command::new(nft)
            .env_clear()
            .env("HOME", "/dev/null")
            .arg("-i")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Fail(EXIT_FAILED, format!("nft (Debian's nftables package) cannot run: {e}")))
    }

    /// Reads what nft says, on threads of their own: call once the
    /// capabilities are dropped.
    fn read(mut child: Child, table: String) -> Result<Nft, Fail> {
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
        Ok(Nft { child, stdin, lines, table })
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

/// The loss table of a user: one name per user, so the kernel itself lets
/// each user hold one at a time (another process cannot touch a table
/// created with `flags owner`).
pub fn loss_table(uid: u32) -> String {
    format!("wirelab_loss_u{uid}")
}

fn loss(tcp: u16, udp: u16, probability: f64, seed: u64, stop: Arc<AtomicBool>) -> Result<(), Fail> {
    if tcp < MIN_LOSS_PORT || udp < MIN_LOSS_PORT {
        return Err(bad(format!(
            "the ports must be between {MIN_LOSS_PORT} and 65535: the loss applies to your own servers' ports"
        )));
    }
    if !(probability.is_finite() && (0.0..=MAX_KERNEL_LOSS).contains(&probability)) {
        return Err(bad(format!("the probability {probability} is not between 0 and {MAX_KERNEL_LOSS} (0.1 is 10%)")));
    }
    // SAFETY: a plain system call.
    let uid = unsafe { libc::getuid() };
    for (proto, port) in [("tcp", tcp), ("udp", udp)] {
        if !port_held_by(uid, proto, port) {
            return Err(bad(format!(
                "no socket of yours holds {} port {port}: the loss applies only to ports your own servers hold",
                proto.to_uppercase()
            )));
        }
    }
    // A fixed path and an empty environment: the caller's PATH must not
    // choose the program that runs with this right.
    let path = ["/usr/sbin/nft", "/sbin/nft"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .ok_or_else(|| Fail(EXIT_FAILED, "nft is not installed (Debian's nftables package)".into()))?;
    // nft gets the network-admin right alone, as an ambient capability
    // (it has no file capability, and root's own rule is switched off);
    // then this process drops everything, and only then starts threads.
    let had_admin = caps::has_cap(None, caps::CapSet::Permitted, caps::Capability::CAP_NET_ADMIN).unwrap_or(false);
    let _ = caps::raise(None, caps::CapSet::Inheritable, caps::Capability::CAP_NET_ADMIN);
    let _ = caps::raise(None, caps::CapSet::Ambient, caps::Capability::CAP_NET_ADMIN);
    let child = Nft::spawn(path)?;
    drop_privileges()?;
    let mut nft = Nft::read(child, loss_table(uid))?;
    stop_on_signals(&stop);
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
        // With the right, only another owner's table is refused: the user's other run.
        Err(Fail(EXIT_PERMISSION, _)) if had_admin => {
            let _ = nft.child.kill();
            return Err(bad(format!(
                "another loss run of yours holds {table}: one at a time (it ends when its wirelab compare ends)"
            )));
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
