//! Live capture with libpcap, through the capture helper ([`helper`],
//! the `wirelab-capture` binary): the only part of wirelab that holds
//! privileges. This process holds none.
//!
//! [`CaptureHandle::start`] starts the helper and waits until it has opened
//! the interface (so a missing privilege is reported before anything else
//! happens), then a thread reads the pcap stream it writes, writes every
//! frame to a pcap file (the one asked for, or a spool file), and hands
//! them to the consumer in batches over a bounded channel. The consumer never blocks the capture: when it falls behind,
//! batches it has not taken are not queued (they stay in the file) and are
//! counted, so memory stays bounded however long the capture runs.

pub mod helper;
pub mod interfaces;

use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::Mutex;
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
Capturing goes through wirelab's capture helper, {exe}, the only part of wirelab that needs\n\
the CAP_NET_RAW and CAP_NET_ADMIN capabilities (the window never does). Either join the\n\
`wirelab` group, which the Debian package sets up (then log out and in again):\n    sudo adduser $USER wirelab\n\
or grant the helper the two capabilities once:\n    sudo setcap cap_net_raw,cap_net_admin=eip {exe}\n\
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
    /// A batch is handed over when it has this many frames, or this many
    /// bytes…
    pub batch_frames: usize,
    pub batch_bytes: usize,
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
            batch_bytes: 8 << 20,
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

/// Where the capture helper is: `$WIRELAB_CAPTURE_HELPER`, else beside
/// this program (an installed `wirelab`, or `target/*/wirelab`), else one
/// folder up (a test binary in `target/*/deps`), else on the `PATH`.
pub fn helper_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WIRELAB_CAPTURE_HELPER") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    let near = [dir.join(helper::NAME), dir.parent().map(|d| d.join(helper::NAME)).unwrap_or_default()];
    near.into_iter().find(|p| p.is_file()).or_else(|| {
        std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(helper::NAME)).find(|p| p.is_file())
    })
}

/// The helper, or an error that says how to get it.
fn find_helper(interface: &str) -> Result<PathBuf, CaptureError> {
    helper_path().ok_or_else(|| CaptureError::Other {
        interface: interface.into(),
        detail: format!(
            "the capture helper {} is not installed beside wirelab nor on the PATH (`cargo build` builds it; \
             the Debian package installs it)",
            helper::NAME
        ),
    })
}

impl CaptureHandle {
    /// Starts the capture helper and waits until it has opened the
    /// interface (so a missing privilege or a bad filter is reported here),
    /// then a thread reads what it captures.
    pub fn start(cfg: CaptureConfig) -> Result<CaptureHandle, CaptureError> {
        let iface = cfg.interface.clone();
        let helper = find_helper(&iface)?;
        let (output, file) = match &cfg.output {
            Some(p) => {
                let f = File::create(p).map_err(|err| CaptureError::File { path: p.display().to_string(), err })?;
                (p.clone(), f)
            }
            None => spool_file().map_err(|(path, err)| CaptureError::File { path, err })?,
        };
        let mut cmd = Command::new(&helper);
        cmd.args(["capture", "-i", &iface, "-s", &cfg.snaplen.to_string(), "-B", &cfg.buffer_size.to_string()]);
        if let Some(f) = cfg.filter.as_deref().filter(|f| !f.trim().is_empty()) {
            cmd.args(["-f", f]);
        }
        if let Some(c) = cfg.count {
            cmd.args(["-c", &c.to_string()]);
        }
        let mut child =
            cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(|e| {
                match e.kind() {
                    // Installed by the package, only the group wirelab may run it.
                    std::io::ErrorKind::PermissionDenied => CaptureError::Permission {
                        interface: iface.clone(),
                        detail: "you may not run the capture helper: you are not in the group that owns it".into(),
                        exe: helper.display().to_string(),
                    },
                    _ => CaptureError::Other {
                        interface: iface.clone(),
                        detail: format!("cannot start the capture helper {}: {e}", helper.display()),
                    },
                }
            })?;
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(CaptureError::Other { interface: iface, detail: "the capture helper has no pipes".into() });
        };
        // The helper's stderr: counters, and what went wrong.
        let counters = Arc::new(Mutex::new(HelperLog::default()));
        let c2 = counters.clone();
        let log_thread = std::thread::spawn(move || {
            for l in BufReader::new(stderr).lines().map_while(Result::ok) {
                let Ok(mut c) = c2.lock() else { break };
                match parse_stats(&l) {
                    Some(s) => c.stats = s,
                    None => c.lines.push(l.trim_start_matches(&format!("{}: ", helper::NAME)).to_string()),
                }
            }
        });
        let mut stdout = BufReader::with_capacity(1 << 20, stdout);
        let mut header = [0u8; 24];
        let header = match stdout.read_exact(&mut header) {
            // A record is never longer than the snapshot length asked for.
            Ok(()) => PipeHeader::parse(&header)
                .map(|h| PipeHeader { snaplen: h.snaplen.min(cfg.snaplen.max(0) as u32), ..h }),
            Err(_) => None,
        };
        let Some(header) = header else {
            // It ended before the capture opened: say why.
            drop(stdin);
            let code = child.wait().ok().and_then(|s| s.code());
            let _ = log_thread.join();
            let detail = counters.lock().map(|c| c.lines.join("; ")).unwrap_or_default();
            let _ = std::fs::remove_file(&output);
            let exe = helper.display().to_string();
            return Err(match code {
                Some(helper::EXIT_PERMISSION) => CaptureError::Permission { interface: iface, detail, exe },
                Some(helper::EXIT_NO_SUCH_INTERFACE) => CaptureError::NoSuchInterface { interface: iface, detail },
                Some(helper::EXIT_BAD_FILTER) => {
                    CaptureError::BadFilter { filter: cfg.filter.clone().unwrap_or_default(), detail }
                }
                _ => CaptureError::Other { interface: iface, detail },
            });
        };
        let linktype = header.linktype;
        let (tx, rx) = sync_channel(cfg.queued_batches.max(1));
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let pipe = Pipe { child, stdin: Some(stdin), stdout, header, log: counters, log_thread: Some(log_thread) };
        let thread = std::thread::Builder::new()
            .name("wirelab-capture".into())
            .spawn(move || run(pipe, cfg, file, tx, stop2))
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

/// A new spool file in the temp folder, readable by this user alone. It is
/// made new (`O_EXCL`): a file or a symbolic link another user put at its
/// name is never followed nor truncated; another name is tried instead.
fn spool_file() -> Result<(PathBuf, File), (String, std::io::Error)> {
    let dir = std::env::temp_dir();
    let mut last = None;
    for _ in 0..16 {
        let path = dir.join(format!("wirelab-capture-{}-{:016x}.pcap", std::process::id(), rand::random::<u64>()));
        match crate::file::new_private_file(&path) {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some((path, e)),
            Err(e) => return Err((path.display().to_string(), e)),
        }
    }
    let (path, e) = last.unwrap_or_else(|| (dir.clone(), std::io::Error::other("no free name")));
    Err((path.display().to_string(), e))
}

/// What the helper said on stderr.
#[derive(Default)]
struct HelperLog {
    /// received, dropped, if_dropped.
    stats: (u64, u64, u64),
    lines: Vec<String>,
}

fn parse_stats(l: &str) -> Option<(u64, u64, u64)> {
    let mut it = l.strip_prefix("stats ")?.split(' ').map(|kv| kv.split_once('=')?.1.parse::<u64>().ok());
    Some((it.next()??, it.next()??, it.next()??))
}

/// The pcap header the helper wrote: byte order, time resolution, link
/// type, snapshot length.
#[derive(Clone, Copy)]
struct PipeHeader {
    big_endian: bool,
    nanos: bool,
    linktype: u32,
    snaplen: u32,
}

impl PipeHeader {
    fn parse(h: &[u8; 24]) -> Option<PipeHeader> {
        let (big_endian, nanos) = match h[..4] {
            [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
            [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
            [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
            [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
            _ => return None,
        };
        let p = PipeHeader { big_endian, nanos, linktype: 0, snaplen: 0 };
        Some(PipeHeader { linktype: p.u32(&h[20..24]), snaplen: p.u32(&h[16..20]), ..p })
    }
    fn u32(&self, b: &[u8]) -> u32 {
        let b: [u8; 4] = b.try_into().unwrap_or_default();
        if self.big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) }
    }
}

/// The running helper, as the capture thread sees it.
struct Pipe {
    child: Child,
    /// Closed to ask the helper to stop.
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    header: PipeHeader,
    log: Arc<Mutex<HelperLog>>,
    log_thread: Option<JoinHandle<()>>,
}

impl Pipe {
    /// Waits up to `ms` for bytes from the helper; true when some are there.
    fn readable(&self, ms: i32) -> bool {
        use std::os::fd::AsRawFd;
        if !self.stdout.buffer().is_empty() {
            return true;
        }
        let mut fd = libc::pollfd { fd: self.stdout.get_ref().as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd, for the duration of the call.
        unsafe { libc::poll(&mut fd, 1, ms) > 0 }
    }

    /// The next record, into `data`; `None` at the end of the stream.
    fn next(&mut self, data: &mut Vec<u8>) -> std::io::Result<Option<(i64, u32, u32)>> {
        let mut h = [0u8; 16];
        match self.stdout.read_exact(&mut h) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let hd = self.header;
        let (sec, frac, incl, orig) = (hd.u32(&h[0..4]), hd.u32(&h[4..8]), hd.u32(&h[8..12]), hd.u32(&h[12..16]));
        if incl > hd.snaplen {
            return Err(std::io::Error::other(format!(
                "the helper sent a record of {incl} bytes, more than its snapshot length {}",
                hd.snaplen
            )));
        }
        data.resize(incl as usize, 0);
        self.stdout.read_exact(data)?;
        let ns = if hd.nanos { frac } else { frac.saturating_mul(1000) };
        Ok(Some((i64::from(sec), ns.min(999_999_999), orig)))
    }
}

fn run(mut pipe: Pipe, cfg: CaptureConfig, file: File, tx: SyncSender<CaptureEvent>, stop: Arc<AtomicBool>) {
    let mut stats = CaptureStats::default();
    let linktype = pipe.header.linktype;
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
    let mut data = Vec::new();
    loop {
        if pipe.stdin.is_some() {
            if cfg.duration.is_some_and(|d| started.elapsed() >= d) {
                reason = StopReason::Duration;
                stop.store(true, Ordering::Relaxed);
            }
            if stop.load(Ordering::Relaxed) {
                // End of input tells the helper to stop; it sends what the
                // kernel has queued, then ends its output.
                pipe.stdin = None;
            }
        }
        if cfg.count.is_some_and(|c| number >= c) {
            reason = StopReason::Count;
            break;
        }
        if pipe.readable(POLL_MS) {
            match pipe.next(&mut data) {
                Ok(Some((ts_sec, ts_nsec, len))) => {
                    number += 1;
                    stats.captured += 1;
                    let meta = FrameMeta { number, ts_sec, ts_nsec, len, caplen: data.len() as u32, linktype };
                    if !write_failed && let Err(e) = writer.write(ts_sec, ts_nsec, len, &data) {
                        write_failed = true;
                        let _ = tx.try_send(CaptureEvent::Failed(format!("writing the capture file failed: {e}")));
                    }
                    let start = batch.bytes.len();
                    batch.bytes.extend_from_slice(&data);
                    batch.frames.push((meta, start..batch.bytes.len()));
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = tx.try_send(CaptureEvent::Failed(format!("reading from the capture helper failed: {e}")));
                    reason = StopReason::Error;
                    break;
                }
            }
        }
        if batch.len() >= cfg.batch_frames
            || batch.bytes.len() >= cfg.batch_bytes
            || (last_batch.elapsed() >= cfg.batch_interval && !batch.is_empty())
        {
            hand_over(&mut batch, &mut writer, &pipe.log, &mut stats, &tx, write_failed);
            last_batch = Instant::now();
        } else if last_batch.elapsed() >= cfg.batch_interval {
            let _ = writer.flush();
            last_batch = Instant::now();
        }
    }
    // The helper ends (after a count, it already has); its last counters follow.
    pipe.stdin = None;
    let status = pipe.child.wait();
    if let Some(t) = pipe.log_thread.take() {
        let _ = t.join();
    }
    if reason != StopReason::Count
        && let Ok(s) = status
        && !s.success()
    {
        let why = pipe.log.lock().map(|l| l.lines.join("; ")).unwrap_or_default();
        let _ = tx.try_send(CaptureEvent::Failed(format!("the capture helper stopped ({s}): {why}")));
        reason = StopReason::Error;
    }
    hand_over(&mut batch, &mut writer, &pipe.log, &mut stats, &tx, write_failed);
    let _ = writer.flush();
    drop(writer);
    let _ = tx.send(CaptureEvent::Finished { stats, reason });
}

/// How long the capture thread waits for the helper before it looks at its flags.
const POLL_MS: i32 = 20;

fn hand_over(
    batch: &mut Batch,
    writer: &mut PcapFileWriter<File>,
    log: &Mutex<HelperLog>,
    stats: &mut CaptureStats,
    tx: &SyncSender<CaptureEvent>,
    write_failed: bool,
) {
    let _ = writer.flush();
    if let Ok(l) = log.lock() {
        (stats.kernel_received, stats.kernel_dropped, stats.interface_dropped) = l.stats;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spool_path_made_in_advance_as_a_symbolic_link_is_not_followed() {
        let dir = std::env::temp_dir().join(format!("wirelab-spool-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        std::fs::write(&victim, b"keep me").unwrap();
        let trap = dir.join("spool.pcap");
        let _ = std::fs::remove_file(&trap);
        std::os::unix::fs::symlink(&victim, &trap).unwrap();
        let e = crate::file::new_private_file(&trap).expect_err("the link is refused");
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
        // A spool file is new and private.
        let (path, _f) = spool_file().unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::remove_file(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_pipe_header_gives_the_snapshot_length_that_bounds_each_record() {
        let h = PipeHeader { big_endian: false, nanos: true, linktype: 1, snaplen: 100 };
        let mut header = Vec::from(0xa1b2_3c4d_u32.to_le_bytes());
        header.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        header.extend_from_slice(&100u32.to_le_bytes());
        header.extend_from_slice(&1u32.to_le_bytes());
        let parsed = PipeHeader::parse(header.as_slice().try_into().unwrap()).unwrap();
        assert_eq!((parsed.snaplen, parsed.linktype), (h.snaplen, h.linktype));
    }
}
