//! `wirelab compare`: the same numbered demo messages over TCP and over UDP,
//! through the same impairment, recorded, and measured from the packets.
//!
//! Loss happens in the kernel, so TCP really loses segments and really
//! retransmits: an nftables table (its own, removed at the end) drops
//! packets of the two demo ports on loopback. TCP segments drop in the input
//! hook, after the capture saw them (the recording is the sender's view:
//! the lost segment, then its retransmission, as tshark flags it); UDP
//! datagrams drop in the output hook, before the capture (the recording
//! shows what crossed the wire; the sender is told nothing, as on a real
//! network). Delivery is what the receiving program saw: the clients note
//! when each reply reached them. Which packets drop is decided
//! by a packet counter and a set of slots drawn from the seed
//! (`numgen inc mod 100 vmap {…}`), so the same seed drops the same
//! positions. Duplication, reordering and delay stay in the UDP server (the
//! kernel cannot do them without netem). Without CAP_NET_ADMIN the loss goes
//! to the UDP server too, and the report says TCP was not impaired, and why.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::client::{ClientConfig, Transport};
use super::transport::Impairment;
use super::{Kind, ServeConfig, Servers};
use crate::capture::{CaptureConfig, CaptureEvent, CaptureHandle};
use crate::session::Session;

#[derive(Debug, Clone)]
pub struct CompareConfig {
    pub count: u32,
    pub size: usize,
    /// Messages per second.
    pub rate: f64,
    /// Loss goes to the kernel for both transports when allowed; the rest
    /// (and the loss, when not) to the UDP server.
    pub impair: Impairment,
    /// Keep the recording here (else a temporary file).
    pub write: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageResult {
    pub seq: u32,
    /// Seconds since the first packet of the recording.
    pub sent: Option<f64>,
    pub delivered: Option<f64>,
    pub frames: Vec<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TransportResult {
    pub sent: u32,
    pub delivered: u32,
    pub lost: u32,
    pub duplicated: u32,
    pub reordered: u32,
    pub retransmissions: u32,
    /// Round trip, request sent to reply delivered, milliseconds.
    pub latency_ms: Latency,
    /// How long replies waited, complete in the receiver's buffer, behind
    /// an earlier lost segment (TCP's head-of-line blocking), milliseconds.
    pub hol_blocking_ms: Latency,
    pub messages: Vec<MessageResult>,
    /// Each segment that repeats data sent before, the segment it repeats
    /// and the drop behind it (TCP, from the recording).
    #[serde(default)]
    pub retransmitted: Vec<Retransmission>,
    /// Frames of the recording the firewall dropped, worked out from its
    /// packet counter and the seed (TCP: its segments drop after the
    /// capture saw them; UDP's drop before, so they are not recorded).
    #[serde(default)]
    pub dropped_frames: Vec<u64>,
}

/// A TCP segment that repeats sequence space sent before (a retransmission,
/// whatever tshark's heuristics call it), linked to what it repeats and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Retransmission {
    /// The repeating segment's frame.
    pub frame: u64,
    /// The latest earlier frame of the same direction whose sequence space
    /// (data, SYN, FIN) holds this segment's first byte.
    pub repeats: Option<u64>,
    /// The injected drop that made it necessary: the repeated frame when the
    /// firewall dropped it, else the latest dropped frame the other way (an
    /// acknowledgement that never arrived), else the latest this way.
    pub cause: Option<u64>,
    /// What Wireshark's analysis calls it: `tcp.analysis.retransmission`,
    /// `…fast_retransmission`, `…spurious_retransmission`, or
    /// `…out_of_order` (a repeat that came within a round trip of the
    /// segment before it, which Wireshark takes for reordering).
    pub flagged: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Injected {
    /// Loss was done by the kernel (nftables), for both transports.
    pub kernel_loss: bool,
    /// Why not, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_not: Option<String>,
    pub tcp_dropped: u64,
    pub udp_dropped: u64,
    pub udp_duplicated: u64,
    pub udp_reordered: u64,
    pub delay_ms: u64,
    pub seed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    pub tcp: TransportResult,
    pub udp: TransportResult,
    pub injected: Injected,
    /// The recording, when this process may capture.
    pub recording: Option<PathBuf>,
    pub notes: Vec<String>,
    /// What was asked for.
    #[serde(default)]
    pub asked: Asked,
}

/// The settings of a comparison, as given (probabilities from 0 to 1).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Asked {
    pub count: u32,
    pub size: usize,
    pub rate: f64,
    pub loss: f64,
    pub duplicate: f64,
    pub reorder: f64,
    pub delay_ms: u64,
    pub seed: u64,
}

impl Asked {
    /// The settings that give this comparison again.
    pub fn config(&self) -> CompareConfig {
        CompareConfig {
            count: self.count,
            size: self.size,
            rate: self.rate,
            impair: Impairment {
                loss: self.loss,
                duplicate: self.duplicate,
                reorder: self.reorder,
                delay: Duration::from_millis(self.delay_ms),
                seed: self.seed,
            },
            write: None,
        }
    }
}

/// Loss in the kernel, by the capture helper (`wirelab-capture loss`): its
/// nftables table goes away with it, however this process ends.
pub(super) struct KernelLoss {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl KernelLoss {
    pub(super) fn install(tcp: u16, udp: u16, loss: f64, seed: u64) -> Result<KernelLoss, String> {
        use std::io::{BufRead as _, Read as _};
        use std::process::Stdio;
        let helper = crate::capture::helper_path()
            .ok_or("the capture helper wirelab-capture is not installed beside wirelab nor on the PATH")?;
        let mut child = Command::new(&helper)
            .args(["loss", "--tcp-port", &tcp.to_string(), "--udp-port", &udp.to_string()])
            .args(["--probability", &loss.to_string(), "--seed", &seed.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the capture helper {}: {e}", helper.display()))?;
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take().ok_or("the capture helper has no output")?);
        let mut k = KernelLoss { child, stdin, stdout: std::io::BufReader::new(stdout) };
        let mut line = String::new();
        let _ = k.stdout.read_line(&mut line);
        if line.starts_with("ready") {
            return Ok(k);
        }
        k.stdin = None;
        let code = k.child.wait().ok().and_then(|s| s.code());
        let mut err = String::new();
        if let Some(mut e) = k.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let err = err.trim().trim_start_matches("wirelab-capture: ");
        Err(if code == Some(crate::capture::helper::EXIT_PERMISSION) {
            format!(
                "{err}: the capture helper needs it (join the wirelab group, or `sudo setcap \
                 cap_net_raw,cap_net_admin=eip {}`)",
                helper.display()
            )
        } else {
            format!("the capture helper could not add the loss: {err}")
        })
    }

    /// Packets each transport's drop rule dropped: (tcp, udp).
    fn counters(&mut self) -> (u64, u64) {
        use std::io::{BufRead as _, Write as _};
        let Some(stdin) = self.stdin.as_mut() else { return (0, 0) };
        if writeln!(stdin, "counters").and_then(|_| stdin.flush()).is_err() {
            return (0, 0);
        }
        let mut line = String::new();
        let _ = self.stdout.read_line(&mut line);
        let n = |key: &str| -> u64 {
            line.split_whitespace().find_map(|kv| kv.strip_prefix(key)?.parse().ok()).unwrap_or(0)
        };
        (n("tcp="), n("udp="))
    }
}

impl Drop for KernelLoss {
    fn drop(&mut self) {
        // End of input: the helper ends, and its table with it.
        self.stdin = None;
        let _ = self.child.wait();
    }
}

fn percentiles(mut v: Vec<f64>) -> Latency {
    if v.is_empty() {
        return Latency::default();
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    Latency { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: v[v.len() - 1] }
}

/// Runs the comparison.
pub fn run(cfg: &CompareConfig) -> anyhow::Result<Comparison> {
    let mut notes = Vec::new();
    let servers = Servers::start(&ServeConfig::any_port(), &[Kind::Tcp])?;
    let tcp_addr = servers.addr(Kind::Tcp).context("the TCP demo server did not start")?;
    // The UDP server's own impairment: loss too, only if the kernel cannot do it.
    // The helper adds loss only to ports a socket of this user holds: the
    // port stays held until the loss is in, then goes to the UDP server.
    let probe = std::net::UdpSocket::bind("127.0.0.1:0").context("no free UDP port")?;
    let udp_port = probe.local_addr()?.port();
    let want = cfg.impair;
    let mut kernel =
        if want.loss > 0.0 { Some(KernelLoss::install(tcp_addr.port(), udp_port, want.loss, want.seed)) } else { None };
    drop(probe);
    let (kernel_loss, why_not) = match &kernel {
        Some(Ok(_)) => (true, None),
        Some(Err(e)) => {
            notes.push(format!(
                "TCP was not impaired: {e}. The loss was applied by the UDP server alone, so only UDP lost messages."
            ));
            (false, Some(e.clone()))
        }
        None => (false, None),
    };
    let imp = Impairment { loss: if kernel_loss { 0.0 } else { want.loss }, ..want };
    let mut ucfg = ServeConfig::any_port();
    ucfg.ports[Kind::Udp as usize] = udp_port;
    ucfg.impair = imp;
    let udp_servers = Servers::start(&ucfg, &[Kind::Udp])?;
    let udp_addr = udp_servers.addr(Kind::Udp).context("the UDP demo server did not start")?;

    let path = cfg.write.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("wirelab-compare-{}-{}.pcap", std::process::id(), want.seed))
    });
    let capture = CaptureHandle::start(CaptureConfig {
        filter: Some(format!("tcp port {} or udp port {}", tcp_addr.port(), udp_addr.port())),
        output: Some(path.clone()),
        ..CaptureConfig::default()
    });
    let capture = match capture {
        Ok(h) => Some(h),
        Err(e) => {
            notes.push(format!("not recorded ({e}): the counts below are what the clients saw"));
            None
        }
    };
    let client = |t, server| ClientConfig {
        transport: t,
        server,
        count: cfg.count,
        size: cfg.size,
        rate: cfg.rate,
        // Generous: a late reply under load still counts (the run waits this
        // long only when some UDP reply never comes).
        linger: Duration::from_secs(2).max(want.delay * 4),
    };
    let tcp_report = servers.block_on(super::client::run(&client(Transport::Tcp, tcp_addr)))?;
    let udp_report = servers.block_on(super::client::run(&client(Transport::Udp, udp_addr)))?;
    let (tcp_dropped, udp_dropped) = match &mut kernel {
        Some(Ok(k)) => k.counters(),
        _ => (0, 0),
    };
    drop(kernel);
    let recording = capture.map(|h| {
        // The last FIN exchanges: what stop keeps was queued already.
        std::thread::sleep(Duration::from_millis(100));
        h.stop();
        while let Ok(ev) = h.events().recv_timeout(Duration::from_secs(15)) {
            if matches!(ev, CaptureEvent::Finished { .. } | CaptureEvent::Failed(_)) {
                break;
            }
        }
        path
    });
    let st = &udp_servers.transport_stats;
    let injected = Injected {
        kernel_loss,
        why_not,
        tcp_dropped,
        udp_dropped: udp_dropped + st.dropped.load(std::sync::atomic::Ordering::Relaxed),
        udp_duplicated: st.duplicated.load(std::sync::atomic::Ordering::Relaxed),
        udp_reordered: st.reordered.load(std::sync::atomic::Ordering::Relaxed),
        delay_ms: want.delay.as_millis() as u64,
        seed: want.seed,
    };
    servers.stop();
    udp_servers.stop();
    let session = match &recording {
        Some(p) => Some(Session::open(p).with_context(|| format!("cannot read the recording {}", p.display()))?),
        None => None,
    };
    let slots = if kernel_loss { crate::capture::helper::drop_slots(want.loss, want.seed) } else { Vec::new() };
    let tcp = measure(session.as_ref(), &tcp_report, cfg.count, Some((tcp_addr.port(), &slots)));
    let udp = measure(session.as_ref(), &udp_report, cfg.count, None);
    let asked = Asked {
        count: cfg.count,
        size: cfg.size,
        rate: cfg.rate,
        loss: want.loss,
        duplicate: want.duplicate,
        reorder: want.reorder,
        delay_ms: want.delay.as_millis() as u64,
        seed: want.seed,
    };
    Ok(Comparison { tcp, udp, injected, recording, notes, asked })
}

/// One transport: delivery as the receiving program saw it (the client's
/// report), everything else from the recording's packets when there is one.
/// `tcp` is the TCP server's port and the slots the firewall drops (empty
/// without loss in the kernel); `None` measures UDP.
fn measure(s: Option<&Session>, r: &super::client::Report, count: u32, tcp: Option<(u16, &[u32])>) -> TransportResult {
    let ms = |us: u64| us as f64 / 1000.0;
    let mut out = TransportResult {
        sent: count,
        delivered: r.received,
        lost: r.lost,
        duplicated: r.duplicated,
        reordered: r.reordered,
        latency_ms: Latency {
            p50: ms(r.rtt_us.p50),
            p90: ms(r.rtt_us.p90),
            p99: ms(r.rtt_us.p99),
            max: ms(r.rtt_us.max),
        },
        ..TransportResult::default()
    };
    let Some(s) = s else {
        out.messages =
            (0..count).map(|seq| MessageResult { seq, sent: None, delivered: None, frames: Vec::new() }).collect();
        return out;
    };
    let retrans = crate::filter::Filter::parse("tcp.analysis.retransmission || tcp.analysis.fast_retransmission").ok();
    let t0 = s.raw(0).map(|(m, _)| m.time_f64()).unwrap_or(0.0);
    let mut sent: HashMap<u32, f64> = HashMap::new();
    let mut arrived: HashMap<u32, f64> = HashMap::new();
    let mut frames: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    // The firewall's packet counters, one per direction (to the server, from
    // it), as its two rules count; the last frame each direction sent with a
    // sequence number; the last dropped frame each way.
    let mut counter = [0u32; 2];
    // Per direction: every segment that took sequence space (start, length, frame).
    let mut sent_ranges: [Vec<(u64, u64, u64)>; 2] = [Vec::new(), Vec::new()];
    let mut last_drop: [Option<u64>; 2] = [None; 2];
    s.scan(|d, b| {
        let is_tcp = d.field("tcp.srcport").is_some();
        if is_tcp != tcp.is_some() || (tcp.is_none() && d.field("udp.srcport").is_none()) {
            return;
        }
        if let Some((port, slots)) = tcp {
            let n = d.meta.number;
            let dir = usize::from(d.find(b, "tcp.dstport").and_then(|f| f.value().as_u64()) != Some(u64::from(port)));
            let dropped = slots.contains(&(counter[dir] % 100));
            counter[dir] += 1;
            let num = |name: &str| d.find(b, name).and_then(|f| f.value().as_u64()).unwrap_or(0);
            let seq = num("tcp.seq_raw");
            // Sequence space this segment takes: its data, and one for SYN or FIN.
            let space = num("tcp.len") + num("tcp.flags.syn") + num("tcp.flags.fin");
            let flagged = retrans.as_ref().is_some_and(|f| f.matches(d, b));
            if flagged {
                out.retransmissions += 1;
            }
            // The latest earlier segment this way whose sequence space holds
            // this one's first byte (a repeat may start inside an earlier one).
            let repeats = (space > 0)
                .then(|| {
                    sent_ranges[dir]
                        .iter()
                        .rev()
                        .find(|(start, len, _)| (seq.wrapping_sub(*start) & 0xffff_ffff) < *len)
                        .map(|r| r.2)
                })
                .flatten();
            if flagged || repeats.is_some() {
                let cause = repeats
                    .filter(|r| out.dropped_frames.binary_search(r).is_ok())
                    .or(last_drop[1 - dir])
                    .or(last_drop[dir]);
                let flagged = ANALYSIS_FLAGS.iter().find(|f| d.find(b, f).is_some()).map(|f| f.to_string());
                out.retransmitted.push(Retransmission { frame: n, repeats, cause, flagged });
            }
            if dropped {
                out.dropped_frames.push(n);
                last_drop[dir] = Some(n);
            }
            if space > 0 {
                sent_ranges[dir].push((seq, space, n));
            }
        }
        let time = d.meta.time_f64() - t0;
        let kinds = d.find_all(b, "demo.kind").filter_map(|f| f.value().as_u64());
        let seqs = d.find_all(b, "demo.seq").filter_map(|f| f.value().as_u64());
        for (kind, seq) in kinds.zip(seqs) {
            let seq = seq as u32;
            frames.entry(seq).or_default().push(d.meta.number);
            let first = if kind == 1 { &mut sent } else { &mut arrived };
            first.entry(seq).or_insert(time);
        }
    });
    let delivered = |seq: u32| -> Option<f64> {
        r.received_at_us.get(seq as usize).copied().flatten().map(|us| us as f64 / 1e6 - t0)
    };
    // How long a reply waited, already on this machine, before the program
    // could read it: behind a lost earlier segment (TCP delivers in order), or
    // for its own lost copy to be sent again.
    out.hol_blocking_ms = percentiles(
        (0..count)
            .filter_map(|q| Some((delivered(q)? - arrived.get(&q)?) * 1000.0))
            .filter(|w| tcp.is_some() && *w > 0.0)
            .collect(),
    );
    out.messages = (0..count)
        .map(|seq| MessageResult {
            seq,
            sent: sent.get(&seq).copied(),
            delivered: delivered(seq),
            frames: frames.get(&seq).cloned().unwrap_or_default(),
        })
        .collect();
    out
}

/// Wireshark's names for a segment that repeats data, most specific first.
const ANALYSIS_FLAGS: [&str; 4] = [
    "tcp.analysis.spurious_retransmission",
    "tcp.analysis.fast_retransmission",
    "tcp.analysis.retransmission",
    "tcp.analysis.out_of_order",
];

/// Reads a comparison saved with `wirelab compare --format json`; a
/// relative recording is found beside the file.
pub fn load(path: &std::path::Path) -> anyhow::Result<Comparison> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut c: Comparison = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a comparison saved by `wirelab compare --format json`", path.display()))?;
    if let Some(r) = c.recording.as_mut().filter(|r| r.is_relative()) {
        *r = path.parent().unwrap_or(std::path::Path::new(".")).join(&*r);
    }
    Ok(c)
}

impl Injected {
    /// What the impairment did, in one line.
    pub fn text(&self) -> String {
        let loss = if self.kernel_loss {
            format!(
                "the kernel's firewall dropped {} TCP packets and {} UDP datagrams at random",
                self.tcp_dropped, self.udp_dropped
            )
        } else if self.why_not.is_some() {
            format!(
                "TCP was not impaired (wirelab may not add firewall rules here: see the note); \
                 the UDP server dropped {} datagrams itself",
                self.udp_dropped
            )
        } else if self.udp_dropped == 0 {
            "no loss asked for".to_string()
        } else {
            format!("the UDP server dropped {} datagrams itself", self.udp_dropped)
        };
        format!(
            "{loss}; UDP duplicated {}, reordered {}; delay {} ms; seed {}",
            self.udp_duplicated, self.udp_reordered, self.delay_ms, self.seed
        )
    }
}

impl TransportResult {
    /// "sent …, delivered …, lost …, duplicated …, reordered …, retransmissions …".
    pub fn counts(&self) -> String {
        format!(
            "sent {}, delivered {}, lost {}, duplicated {}, reordered {}, retransmissions {}",
            self.sent, self.delivered, self.lost, self.duplicated, self.reordered, self.retransmissions
        )
    }
}

impl Comparison {
    pub fn text(&self) -> String {
        let line = |name: &str, r: &TransportResult| {
            format!(
                "{name}: {}; round trip p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; \
                 waited behind a loss: max {:.2} ms",
                r.counts(),
                r.latency_ms.p50,
                r.latency_ms.p90,
                r.latency_ms.p99,
                r.latency_ms.max,
                r.hol_blocking_ms.max
            )
        };
        let mut out =
            format!("{}\n{}\ninjected: {}\n", line("TCP", &self.tcp), line("UDP", &self.udp), self.injected.text());
        if let Some(p) = &self.recording {
            out.push_str(&format!("recorded in {}\n", p.display()));
        }
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        out
    }
}
