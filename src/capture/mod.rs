//! Live capture with libpcap (the `pcap` crate), on its own thread.
//!
//! [`CaptureHandle::start`] opens the interface at once (so a missing
//! privilege is reported before anything else happens), then a thread reads
//! packets, writes every one of them to a pcap file (the one asked for, or a
//! spool file), and hands them to the consumer in batches over a bounded
//! channel. The consumer never blocks the capture: when it falls behind,
//! batches it has not taken are not queued (they stay in the file) and are
//! counted, so memory stays bounded however long the capture runs.

pub mod interfaces;

use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::file::PcapFileWriter;
use crate::model::FrameMeta;

/// The demo servers' ports: echo 9001, chat 9002, TCP 9003, UDP 9004.
pub const DEFAULT_FILTER: &str = "port 9001 or port 9002 or port 9003 or port 9004";

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(
        "wirelab may not capture on {interface}: {detail}.\n\
Capturing needs the CAP_NET_RAW and CAP_NET_ADMIN capabilities. Either run it as root:\n    sudo {exe} capture …\n\
or grant them to this binary once:\n    sudo setcap cap_net_raw,cap_net_admin=eip {exe}\n\
Everything else (opening capture files, the demo servers, labs on bundled captures) works without them."
    )]
    Permission { interface: String, detail: String, exe: String },
    #[error("there is no interface named {interface}: `wirelab interfaces` lists those you can capture on ({detail})")]
    NoSuchInterface { interface: String, detail: String },
    #[error(
        "the capture filter {filter:?} is not valid BPF: {detail} (examples: \"tcp port 9001\", \"udp\", \"host 127.0.0.1\")"
    )]
    BadFilter { filter: String, detail: String },
    #[error("cannot create the capture file {path}: {err}")]
    File { path: String, err: std::io::Error },
    #[error("capture on {interface} failed: {detail}")]
    Other { interface: String, detail: String },
}

/// What to capture and where to keep it.
#[derive(Clone, Debug)]
pub struct CaptureConfig {
    pub interface: String,
    /// BPF capture filter.
    pub filter: Option<String>,
    pub snaplen: i32,
    /// Kernel buffer, bytes.
    pub buffer_size: i32,
    /// Stop after this many frames.
    pub count: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Where every frame is written; `None`: a spool file in the temp dir.
    pub output: Option<PathBuf>,
    /// A batch is handed over when it has this many frames…
    pub batch_frames: usize,
    /// …or when this much time has passed since the last one.
    pub batch_interval: Duration,
    /// How many batches may wait for the consumer.
    pub queued_batches: usize,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        Self {
            interface: "lo".into(),
            filter: Some(DEFAULT_FILTER.into()),
            snaplen: 262_144,
            buffer_size: 64 << 20,
            count: None,
            duration: None,
            output: None,
            batch_frames: 4096,
            batch_interval: Duration::from_millis(50),
            queued_batches: 64,
        }
    }
}

/// Frames captured together: one buffer, one allocation.
#[derive(Debug, Default)]
pub struct Batch {
    pub frames: Vec<(FrameMeta, Range<usize>)>,
    pub bytes: Vec<u8>,
}

impl Batch {
    pub fn iter(&self) -> impl Iterator<Item = (FrameMeta, &[u8])> {
        self.frames.iter().map(|(m, r)| (*m, self.bytes.get(r.clone()).unwrap_or(&[])))
    }
    pub fn len(&self) -> usize {
        self.frames.len()
    }
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

/// Counters of a capture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Frames wirelab read from the kernel (all of them are in the file).
    pub captured: u64,
    /// Frames the kernel's filter passed (libpcap `ps_recv`).
    pub kernel_received: u64,
    /// Dropped by the kernel: its buffer was full (`ps_drop`).
    pub kernel_dropped: u64,
    /// Dropped by the interface or its driver (`ps_ifdrop`).
    pub interface_dropped: u64,
    /// Lost by wirelab: read from the kernel but neither written nor delivered.
    pub wirelab_dropped: u64,
    /// Written to the file but not handed to the consumer live (it was behind).
    pub not_delivered: u64,
}

/// Why a capture ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    Asked,
    Count,
    Duration,
    Error,
}

#[derive(Debug)]
pub enum CaptureEvent {
    Batch(Batch),
    /// Sent with every batch and at the end.
    Stats(CaptureStats),
    /// A read or write error; the capture stops after it.
    Failed(String),
    Finished {
        stats: CaptureStats,
        reason: StopReason,
    },
}

/// A running capture.
pub struct CaptureHandle {
    stop: Arc<AtomicBool>,
    events: Receiver<CaptureEvent>,
    thread: Option<JoinHandle<()>>,
    pub linktype: u32,
    pub output: PathBuf,
}

fn classify(interface: &str, e: pcap::Error) -> CaptureError {
    let detail = e.to_string();
    let lower = detail.to_lowercase();
    if lower.contains("permission") || lower.contains("operation not permitted") {
        let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "wirelab".into());
        CaptureError::Permission { interface: interface.into(), detail, exe }
    } else if lower.contains("no such device") || lower.contains("doesn't exist") {
        CaptureError::NoSuchInterface { interface: interface.into(), detail }
    } else {
        CaptureError::Other { interface: interface.into(), detail }
    }
}

impl CaptureHandle {
    pub fn start(cfg: CaptureConfig) -> Result<CaptureHandle, CaptureError> {
        let iface = cfg.interface.clone();
        let mut cap = pcap::Capture::from_device(iface.as_str())
            .map_err(|e| classify(&iface, e))?
            .snaplen(cfg.snaplen)
            .buffer_size(cfg.buffer_size)
            // libpcap's read timeout only runs once a packet has arrived: on an
            // idle interface a blocking read waits forever. So the handle is
            // non-blocking and `wait_readable` polls with our own timeout,
            // which bounds the time to stop.
            .immediate_mode(true)
            .timeout(50)
            .precision(pcap::Precision::Nano)
            .open()
            .map_err(|e| classify(&iface, e))?
            .setnonblock()
            .map_err(|e| classify(&iface, e))?;
        if let Some(f) = cfg.filter.as_deref().filter(|f| !f.trim().is_empty()) {
            cap.filter(f, true).map_err(|e| CaptureError::BadFilter { filter: f.into(), detail: e.to_string() })?;
        }
        let linktype = cap.get_datalink().0 as u32;
        let output = match &cfg.output {
            Some(p) => p.clone(),
            None => std::env::temp_dir().join(format!("wirelab-capture-{}-{}.pcap", std::process::id(), unique())),
        };
        let file =
            File::create(&output).map_err(|err| CaptureError::File { path: output.display().to_string(), err })?;
        let (tx, rx) = sync_channel(cfg.queued_batches.max(1));
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("wirelab-capture".into())
            .spawn(move || run(cap, cfg, file, linktype, tx, stop2))
            .map_err(|e| CaptureError::Other { interface: iface.clone(), detail: e.to_string() })?;
        Ok(CaptureHandle { stop, events: rx, thread: Some(thread), linktype, output })
    }

    /// Asks the capture to stop: it still takes the packets the kernel has
    /// already queued (all sent before this call; at most 0.5 s more), then ends.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// A flag that stops the capture when set (for a Ctrl-C handler).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    pub fn events(&self) -> &Receiver<CaptureEvent> {
        &self.events
    }

    /// Waits for the thread to end (call after `stop`, or when `Finished` came).
    pub fn join(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    pub fn output(&self) -> &Path {
        &self.output
    }
}

impl Drop for CaptureHandle {
    fn drop(&mut self) {
        self.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn unique() -> u64 {
    use std::sync::atomic::AtomicU64;
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn run(
    mut cap: pcap::Capture<pcap::Active>,
    cfg: CaptureConfig,
    file: File,
    linktype: u32,
    tx: SyncSender<CaptureEvent>,
    stop: Arc<AtomicBool>,
) {
    let mut stats = CaptureStats::default();
    let mut writer = match PcapFileWriter::new(file, linktype, cfg.snaplen.max(0) as u32) {
        Ok(w) => w,
        Err(e) => {
            let _ = tx.send(CaptureEvent::Failed(format!("cannot write the capture file: {e}")));
            let _ = tx.send(CaptureEvent::Finished { stats, reason: StopReason::Error });
            return;
        }
    };
    let started = Instant::now();
    let mut last_batch = Instant::now();
    let mut batch = Batch::default();
    let mut reason = StopReason::Asked;
    let mut number = 0u64;
    let mut write_failed = false;
    // Asked to stop, the thread still takes what the kernel has already
    // queued (everything sent before `stop`), for at most this long.
    const LAST_READS: Duration = Duration::from_millis(500);
    let mut stopping: Option<Instant> = None;
    loop {
        if stopping.is_none() && stop.load(Ordering::Relaxed) {
            stopping = Some(Instant::now());
        }
        if stopping.is_some_and(|t| t.elapsed() >= LAST_READS) {
            break;
        }
        if cfg.count.is_some_and(|c| number >= c) {
            reason = StopReason::Count;
            break;
        }
        if cfg.duration.is_some_and(|d| started.elapsed() >= d) {
            reason = StopReason::Duration;
            break;
        }
        match cap.next_packet() {
            Ok(p) => {
                number += 1;
                stats.captured += 1;
                let meta = FrameMeta {
                    number,
                    ts_sec: p.header.ts.tv_sec,
                    ts_nsec: p.header.ts.tv_usec.clamp(0, 999_999_999) as u32,
                    len: p.header.len,
                    caplen: p.header.caplen,
                    linktype,
                };
                if !write_failed && let Err(e) = writer.write(meta.ts_sec, meta.ts_nsec, meta.len, p.data) {
                    write_failed = true;
                    let _ = tx.try_send(CaptureEvent::Failed(format!("writing the capture file failed: {e}")));
                }
                let start = batch.bytes.len();
                batch.bytes.extend_from_slice(p.data);
                batch.frames.push((meta, start..batch.bytes.len()));
            }
            Err(pcap::Error::TimeoutExpired) if stopping.is_some() => break,
            Err(pcap::Error::TimeoutExpired) => wait_readable(&cap, POLL_MS),
            Err(e) => {
                let _ = tx.try_send(CaptureEvent::Failed(format!("reading packets failed: {e}")));
                reason = StopReason::Error;
                break;
            }
        }
        if batch.len() >= cfg.batch_frames || (last_batch.elapsed() >= cfg.batch_interval && !batch.is_empty()) {
            hand_over(&mut batch, &mut writer, &mut cap, &mut stats, &tx, write_failed);
            last_batch = Instant::now();
        } else if last_batch.elapsed() >= cfg.batch_interval {
            let _ = writer.flush();
            last_batch = Instant::now();
        }
    }
    hand_over(&mut batch, &mut writer, &mut cap, &mut stats, &tx, write_failed);
    let _ = writer.flush();
    drop(writer);
    let _ = tx.send(CaptureEvent::Finished { stats, reason });
}

/// How long the capture thread sleeps when no packet is waiting.
const POLL_MS: i32 = 20;

/// Waits until the capture handle has packets, or `ms` milliseconds.
fn wait_readable(cap: &pcap::Capture<pcap::Active>, ms: i32) {
    use std::os::fd::AsRawFd;
    let mut fd = libc::pollfd { fd: cap.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd, for the duration of the call.
    unsafe {
        libc::poll(&mut fd, 1, ms);
    }
}

fn hand_over(
    batch: &mut Batch,
    writer: &mut PcapFileWriter<File>,
    cap: &mut pcap::Capture<pcap::Active>,
    stats: &mut CaptureStats,
    tx: &SyncSender<CaptureEvent>,
    write_failed: bool,
) {
    let _ = writer.flush();
    if let Ok(s) = cap.stats() {
        stats.kernel_received = u64::from(s.received);
        stats.kernel_dropped = u64::from(s.dropped);
        stats.interface_dropped = u64::from(s.if_dropped);
    }
    if batch.is_empty() {
        return;
    }
    let n = batch.len() as u64;
    match tx.try_send(CaptureEvent::Batch(std::mem::take(batch))) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
            if write_failed {
                stats.wirelab_dropped += n;
            } else {
                stats.not_delivered += n;
            }
        }
    }
    let _ = tx.try_send(CaptureEvent::Stats(*stats));
}
