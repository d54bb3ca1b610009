//! The command-line front end: argument parsing and the `dissect` command.

pub mod lab;
pub mod output;
pub mod serve;
mod shards;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};

use crate::dissect::Dissector;
use crate::file::Capture;
use crate::model::Dissection;

/// The capture wirelab shows when started with no arguments.
pub const DEFAULT_CAPTURE: &[u8] = include_bytes!("../../captures/http-over-loopback.pcap");
pub const DEFAULT_CAPTURE_NAME: &str = "captures/http-over-loopback.pcap (built in)";

#[derive(Parser, Debug)]
#[command(name = "wirelab", version, about = "Watch real packets cross the OSI and TCP/IP layers.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Open the window (the default): packet list, layers, bytes, filter.
    Gui {
        /// A capture to open instead of the built-in one.
        file: Option<PathBuf>,
        /// Start replaying it at once, with the ladder open.
        #[arg(long)]
        replay: bool,
        /// Show a comparison saved by `wirelab compare --format json` (and its recording).
        #[arg(long, value_name = "JSON")]
        comparison: Option<PathBuf>,
        /// Open the TCP graphs of the selected connection (the first frame's, at first).
        #[arg(long, value_name = "KIND", value_parser = clap::builder::PossibleValuesParser::new(crate::tcpgraph::GRAPHS))]
        graph: Option<String>,
    },
    /// Dissect a capture file (pcap or pcapng): one line per frame, or the
    /// whole tree with --verbose, or JSON Lines with --format json.
    Dissect(DissectArgs),
    /// List every field wirelab knows: display-filter name, layer, label.
    Fields,
    /// The story of a connection: handshake, then each message with its
    /// direction, opcode, text or Socket.IO event, one line each.
    Follow(FollowArgs),
    /// Capture live traffic (loopback and the demo servers' ports by
    /// default), print each frame as it arrives, and save a pcap.
    Capture(CaptureArgs),
    /// List the network interfaces, their addresses, and whether wirelab can
    /// capture on them.
    Interfaces,
    /// Build a packet field by field, show it as wirelab dissects it, send it
    /// and show what comes back.
    Craft(CraftArgs),
    /// Start the demo servers: WebSocket echo (9001), socket.io chat (9002),
    /// TCP (9003) and UDP (9004), on loopback; Ctrl-C stops them.
    Serve(serve::ServeArgs),
    /// Send numbered messages to the TCP or UDP demo server and report what
    /// came back: lost, duplicated, reordered, round-trip times.
    Client(serve::ClientArgs),
    /// Run a lesson's servers and scripted clients to the end, optionally
    /// recording the traffic (`--write FILE.pcap`).
    Scenario(serve::ScenarioArgs),
    /// Guided labs: list, show, check answers against a capture, validate lab files.
    Lab(lab::LabArgs),
    /// The ladder diagram of a conversation: one lane per endpoint, one
    /// arrow per message, as aligned text, Mermaid or SVG.
    Ladder(LadderArgs),
    /// The same messages over TCP and UDP through the same impairment
    /// (loss in the kernel when allowed), recorded and measured from the packets.
    Compare(CompareArgs),
}

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Messages per transport.
    #[arg(long, default_value_t = 100)]
    pub count: u32,
    /// Payload bytes per message (besides the 20-byte header).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Messages per second.
    #[arg(long, default_value_t = 200.0)]
    pub rate: f64,
    #[command(flatten)]
    pub impair: serve::ImpairArgs,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Keep the recording of both transports here (pcap).
    #[arg(short = 'w', long)]
    pub write: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct LadderArgs {
    /// The capture file to read.
    pub file: PathBuf,
    /// Decrypt TLS with the secrets in this key log (SSLKEYLOGFILE's format).
    #[arg(long, value_name = "KEYS")]
    pub tls_keylog: Option<PathBuf>,
    /// Only this TCP connection (`tcp.stream`).
    #[arg(long, conflicts_with = "session")]
    pub stream: Option<u32>,
    /// Only this Engine.IO session (its sid): all its connections, polling then WebSocket.
    #[arg(long)]
    pub session: Option<String>,
    /// Only the broadcast a message of this frame belongs to: the sender's
    /// emit, its PUBLISH on Redis, Redis's delivery to each chat node, and
    /// each node's EVENT to its clients, told hop by hop.
    #[arg(long, value_name = "FRAME", conflicts_with_all = ["stream", "session"])]
    pub broadcast: Option<u64>,
    /// How deep: each level shows its messages and those of the levels above.
    #[arg(long, value_enum, default_value_t = crate::ladder::Level::Tcp)]
    pub level: crate::ladder::Level,
    #[arg(long, value_enum, default_value_t = LadderFormat::Text)]
    pub format: LadderFormat,
    /// Write to this file instead of the terminal.
    #[arg(short = 'o', long)]
    pub out: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LadderFormat {
    Text,
    Mermaid,
    Svg,
}

#[derive(clap::Args, Debug)]
pub struct FollowArgs {
    /// The capture file to read.
    pub file: PathBuf,
    /// Decrypt TLS with the secrets in this key log (SSLKEYLOGFILE's format).
    #[arg(long, value_name = "KEYS")]
    pub tls_keylog: Option<PathBuf>,
    /// Only this TCP stream (`tcp.stream`); default: every stream with application messages.
    #[arg(long)]
    pub stream: Option<u32>,
    /// Output format; JSON lists the messages with the frames that carried them.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Tell the story per TCP connection, or per Engine.IO session (a
    /// socket.io client's session spans several connections: polling, then WebSocket).
    #[arg(long, value_enum, default_value_t = FollowBy::Stream)]
    pub by: FollowBy,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowBy {
    Stream,
    Session,
}

#[derive(clap::Args, Debug)]
pub struct CaptureArgs {
    /// Interface to capture on (`wirelab interfaces` lists them).
    #[arg(short = 'i', long, default_value = "lo")]
    pub interface: String,
    /// BPF capture filter; the default matches the demo servers' ports.
    #[arg(short = 'f', long, default_value = crate::capture::DEFAULT_FILTER)]
    pub filter: String,
    /// Stop after this many frames.
    #[arg(short = 'c', long)]
    pub count: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long)]
    pub duration: Option<f64>,
    /// Save the frames to this pcap file (without it they are not kept).
    #[arg(short = 'w', long)]
    pub write: Option<PathBuf>,
    /// Bytes kept of each frame.
    #[arg(short = 's', long, default_value_t = 262_144)]
    pub snaplen: i32,
    /// Print no frames, only the final counts.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum CraftKind {
    /// A UDP datagram.
    Udp,
    /// A TCP segment with SYN set: the first step of a handshake.
    Syn,
}

#[derive(clap::Args, Debug)]
pub struct CraftArgs {
    pub kind: CraftKind,
    /// Destination port.
    #[arg(long)]
    pub dport: u16,
    /// Source port (default: a random one from 40000–59999).
    #[arg(long)]
    pub sport: Option<u16>,
    /// Destination address (a local one: this is for loopback experiments).
    #[arg(long, default_value = "127.0.0.1")]
    pub dst: std::net::Ipv4Addr,
    /// Source address.
    #[arg(long, default_value = "127.0.0.1")]
    pub src: std::net::Ipv4Addr,
    /// The UDP payload.
    #[arg(long, default_value = "hello from a hand-made packet")]
    pub payload: String,
    /// Time to live.
    #[arg(long, default_value_t = 64)]
    pub ttl: u8,
    /// Build and show the packet, but do not send it.
    #[arg(long)]
    pub no_send: bool,
    /// How long to watch for replies, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub wait_ms: u64,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct DissectArgs {
    /// The capture file to read (default: the built-in capture).
    pub file: Option<PathBuf>,
    /// Show every field of every frame, grouped by OSI layer.
    #[arg(short = 'V', long)]
    pub verbose: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Stop after this many frames.
    #[arg(short = 'c', long)]
    pub count: Option<u64>,
    /// Print no frames; report throughput and peak memory instead.
    #[arg(long)]
    pub stats: bool,
    /// Show only the frames that match this display filter
    /// (e.g. "websocket.opcode == 1 && ip.src == 127.0.0.1").
    #[arg(short = 'Y', long)]
    pub filter: Option<String>,
    /// With --format json: leave out each field's explanation (the same
    /// sentence in every frame; most of the output's bytes).
    #[arg(long)]
    pub no_explain: bool,
    /// Decrypt TLS with the secrets in this key log (the NSS format that
    /// SSLKEYLOGFILE makes browsers, curl, Python and Node write).
    #[arg(long, value_name = "KEYS")]
    pub tls_keylog: Option<PathBuf>,
}

/// Runs the command line; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        None => gui(None, false, None, None),
        Some(Command::Gui { file, replay, comparison, graph }) => gui(file, replay, comparison, graph),
        Some(Command::Dissect(args)) => {
            let mut cap = match &args.file {
                Some(f) => Capture::open(f)?,
                None => Capture::from_bytes(DEFAULT_CAPTURE.to_vec(), DEFAULT_CAPTURE_NAME)?,
            };
            if let Some(keys) = &args.tls_keylog {
                add_key_log(&mut cap, keys)?;
            }
            dissect(&cap, &args)
        }
        Some(Command::Capture(args)) => capture(&args),
        Some(Command::Follow(args)) => {
            let mut cap = Capture::open(&args.file)?;
            if let Some(keys) = &args.tls_keylog {
                add_key_log(&mut cap, keys)?;
            }
            follow(&cap, &args)
        }
        Some(Command::Interfaces) => {
            print!("{}", crate::capture::interfaces::table(&crate::capture::interfaces::list()));
            Ok(0)
        }
        Some(Command::Craft(args)) => craft(&args),
        Some(Command::Serve(args)) => serve::serve(&args),
        Some(Command::Client(args)) => serve::client(&args),
        Some(Command::Scenario(args)) => serve::scenario(&args),
        Some(Command::Lab(args)) => lab::lab(&args),
        Some(Command::Ladder(args)) => ladder(&args),
        Some(Command::Compare(args)) => compare(&args),
        Some(Command::Fields) => {
            let mut out = std::io::stdout().lock();
            for f in crate::dissect::all_fields() {
                let (name, ty, osi, tcpip) = (f.name, f.ty.name(), f.osi(), f.tcpip().name());
                writeln!(out, "{name}\tL{osi} {tcpip}\t{ty}\t{}\t{}", f.label, f.explain)?;
            }
            // Notes (expert info), filterable by name like fields.
            for n in crate::dissect::all_notes() {
                let cite = if n.cite.is_empty() { String::new() } else { format!(" ({})", n.cite) };
                let (osi, tcpip) = (n.proto.osi, n.proto.tcpip.name());
                writeln!(out, "{}\tL{osi} {tcpip}\tnote: {}\t{}{cite}", n.name, n.severity.name(), n.explain)?;
            }
            Ok(0)
        }
    }
}

fn compare(args: &CompareArgs) -> anyhow::Result<i32> {
    if args.count == 0 || args.rate <= 0.0 {
        anyhow::bail!("--count and --rate must be more than 0");
    }
    let cfg = crate::serve::compare::CompareConfig {
        count: args.count,
        size: args.size,
        rate: args.rate,
        impair: args.impair.impairment()?,
        write: args.write.clone(),
    };
    let most = crate::capture::helper::MAX_KERNEL_LOSS;
    if cfg.impair.loss > most {
        anyhow::bail!(
            "--loss is at most {most} for a comparison (the loss in the kernel goes up to 50%), not {}",
            cfg.impair.loss
        );
    }
    let c = crate::serve::compare::run(&cfg)?;
    let mut out = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &c)?;
            writeln!(out)?;
        }
        OutputFormat::Text => write!(out, "{}", c.text())?,
    }
    Ok(0)
}

fn ladder(args: &LadderArgs) -> anyhow::Result<i32> {
    let s =
        crate::session::Session::open_with_keys(&args.file, args.tls_keylog.as_deref()).map_err(anyhow::Error::msg)?;
    if let Some(d) = s.damage() {
        eprintln!("wirelab: {}: damaged ({d}); the ladder shows the frames before it", args.file.display());
    }
    let scope = crate::ladder::Scope { stream: args.stream, session: args.session.clone(), broadcast: args.broadcast };
    let l = crate::ladder::build(&s, &scope, args.level);
    if let (Some(f), true) = (args.broadcast, l.arrows.is_empty()) {
        eprintln!(
            "wirelab: frame {f} carries no broadcast (a Socket.IO EVENT sent to several clients, or a chat node's \
             request through Redis): pick one with `wirelab follow`"
        );
        return Ok(1);
    }
    if l.arrows.is_empty() {
        eprintln!(
            "wirelab: no messages in that scope (try another --level, --stream or --session; `wirelab follow` lists them)"
        );
        return Ok(1);
    }
    let text = match args.format {
        LadderFormat::Text => l.text(),
        LadderFormat::Mermaid => l.mermaid(),
        LadderFormat::Svg => l.svg(),
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?
        }
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(0)
}

fn progress_bar(cap: &Capture) -> indicatif::ProgressBar {
    let big = cap.len() > 4 << 20;
    if !big || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(cap.len());
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} dissecting [{bar:40}] {bytes}/{total_bytes} ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb
}

/// Frames per batch handed from the dissecting thread to the writing one,
/// for `-V` and JSON: their dissections are big, and fewer of them stay in
/// the caches.
const BATCH: usize = 64;
/// The same for summary lines: small dissections, quick to format; a
/// bigger batch wakes the writer less often.
const SUMMARY_BATCH: usize = 512;
/// Dissections in use at once, between both threads: eight batches of
/// `BATCH`, so the dissecting thread never waits for them while the writer
/// keeps up (each dissection keeps a few small buffers: this bounds them).
const POOL: usize = 8 * BATCH;

/// Dissected frames on their way to the writer, with their bytes: the
/// first `frames.len()` dissections are theirs (the rest are spare).
#[derive(Default)]
struct Batch<'a> {
    dissections: Vec<Dissection>,
    frames: Vec<std::borrow::Cow<'a, [u8]>>,
}

/// What the writing thread gets, in frame order.
enum Work<'a> {
    /// Frames for it to format.
    Frames(Batch<'a>),
    /// Frames the dissecting thread formatted itself, because the writer
    /// was behind (its queue full): formatting is shared by both cores.
    Text(Vec<u8>),
}

/// A batch's output, appended to `buf` (text lines, or JSON Lines).
fn format_batch(batch: &Batch<'_>, args: &DissectArgs, buf: Vec<u8>) -> Vec<u8> {
    let frames = batch.dissections.iter().zip(&batch.frames);
    if args.format == OutputFormat::Json {
        let mut buf = buf;
        for (d, frame) in frames {
            // Writing to a Vec cannot fail.
            let _ = output::write_json_frame(&mut buf, d, frame, !args.no_explain);
        }
        return buf;
    }
    if !args.verbose {
        let mut buf = buf;
        for (d, _) in frames {
            output::summary_line(d, &mut buf);
            buf.push(b'\n');
        }
        return buf;
    }
    let mut text = String::from_utf8(buf).unwrap_or_default();
    for (d, frame) in frames {
        output::verbose(d, frame, &mut text);
    }
    text.into_bytes()
}

/// Dissects every frame of `cap` and prints them; a damaged file prints all
/// complete frames, then the error, and exits with status 2.
///
/// Without a filter, summary lines and `--stats` are dissected by two
/// threads that share out the conversations ([`shards`]). Otherwise (a
/// filter, `-V`, JSON: the protocol tree, whose `tcp.stream` numbers need one
/// dissector seeing every frame) two threads share the work: this one reads,
/// dissects and filters; the other formats and writes, in frame order.
/// Batches of dissections go one way and come back whole, so their
/// allocations are reused.
pub fn dissect(cap: &Capture, args: &DissectArgs) -> anyhow::Result<i32> {
    let filter = match args.filter.as_deref().map(crate::filter::Filter::parse).transpose() {
        Ok(f) => f,
        Err(e) => {
            let text = args.filter.as_deref().unwrap_or("");
            eprintln!(
                "wirelab: invalid display filter: {}\n    {text}\n    {}^",
                e.message,
                " ".repeat(text[..e.at.min(text.len())].chars().count())
            );
            return Ok(1);
        }
    };
    if filter.is_none() && !args.verbose && args.format != OutputFormat::Json {
        // No protocol tree, so no conversation numbers are shown.
        return shards::dissect(cap, args);
    }
    let mut matched = 0u64;
    let mut dissector = Dissector::for_capture(cap);
    let mut reading = Reading::new(cap, args.count);
    let written = std::thread::scope(|scope| -> anyhow::Result<()> {
        let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Work<'_>>(4);
        let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Vec<Dissection>>();
        let writer = (!args.stats).then(|| scope.spawn(move || write_batches(full_rx, empty_tx, args)));
        let size = if args.verbose || args.format == OutputFormat::Json { BATCH } else { SUMMARY_BATCH };
        // Frames are dissected in place, in the batch's own dissections: a
        // batch's vector goes to the writer and comes back whole, so no
        // dissection is moved per frame. At most `POOL` dissections, or two
        // batches of summary lines, exist.
        let mut made = 0;
        let next_batch = |made: &mut usize| -> Option<Batch<'_>> {
            // Dissections the writer gave back come first: their
            // allocations are warm, and few dissections mean few caches
            // to fill. New ones only while the writer keeps them all.
            let dissections = match empty_rx.try_recv() {
                Ok(v) => v,
                Err(_) if *made + size <= POOL.max(2 * size) => {
                    *made += size;
                    Vec::with_capacity(size)
                }
                Err(_) => empty_rx.recv().ok()?,
            };
            Some(Batch { dissections, frames: Vec::with_capacity(size) })
        };
        let mut batch = next_batch(&mut made).unwrap_or_default();
        // The size of the largest batch of text formatted here.
        let mut text_room = 0;
        let mut scratch = Dissection::default();
        for frame in &mut reading {
            if args.stats {
                dissector.dissect(frame.meta, &frame.data, &mut scratch);
                if filter.as_ref().is_none_or(|f| f.matches(&scratch, &frame.data)) {
                    matched += 1;
                }
                continue;
            }
            let i = batch.frames.len();
            if i == batch.dissections.len() {
                batch.dissections.push(Dissection::default());
            }
            let d = &mut batch.dissections[i];
            dissector.dissect(frame.meta, &frame.data, d);
            if filter.as_ref().is_some_and(|f| !f.matches(d, &frame.data)) {
                // The next frame is dissected into the same place.
                continue;
            }
            matched += 1;
            batch.frames.push(frame.data);
            if batch.frames.len() == size {
                let sent = match full_tx.try_send(Work::Frames(std::mem::take(&mut batch))) {
                    Ok(()) => next_batch(&mut made).ok_or(()),
                    Err(std::sync::mpsc::TrySendError::Full(Work::Frames(mut full))) => {
                        // The writer is behind: format this batch here, and
                        // dissect on into the same dissections.
                        let text = format_batch(&full, args, Vec::with_capacity(text_room));
                        text_room = text_room.max(text.len());
                        full.frames.clear();
                        full_tx.send(Work::Text(text)).map(|_| full).map_err(|_| ())
                    }
                    Err(_) => Err(()),
                };
                match sent {
                    Ok(b) => batch = b,
                    // The writer stopped: the reader went away, or writing failed.
                    Err(()) => break,
                }
            }
        }
        reading.pb.finish_and_clear();
        if !batch.frames.is_empty() {
            let _ = full_tx.send(Work::Frames(batch));
        }
        drop(full_tx);
        joined(writer)
    });
    let status = reading.report_damage();
    written?;
    if args.stats {
        let conv = dissector.conversations();
        report_stats(&reading, (conv.tcp.len(), conv.udp.len()), filter.is_some().then_some(matched))?;
    }
    Ok(status)
}

/// The frames `dissect` goes through: the capture's, at most `-c` of them,
/// counted as they go, the progress bar moved along. A damaged file ends
/// them; its damage is printed after the output ([`Reading::report_damage`]).
struct Reading<'a> {
    cap: &'a Capture,
    frames: crate::file::Frames<'a>,
    limit: Option<u64>,
    pb: indicatif::ProgressBar,
    started: Instant,
    count: u64,
    bytes: u64,
    damage: Option<crate::file::FileError>,
}

impl<'a> Reading<'a> {
    fn new(cap: &'a Capture, limit: Option<u64>) -> Self {
        let pb = progress_bar(cap);
        let started = Instant::now();
        Reading { cap, frames: cap.frames(), limit, pb, started, count: 0, bytes: 0, damage: None }
    }

    /// Prints the damage that ended the frames, if any (after every frame
    /// before it was written); returns the exit status, 2 for a damaged file.
    fn report_damage(&self) -> i32 {
        match &self.damage {
            Some(e) => {
                eprintln!("wirelab: {}: {e}", self.cap.name());
                2
            }
            None => 0,
        }
    }
}

impl<'a> Iterator for Reading<'a> {
    type Item = crate::file::Frame<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.limit.is_some_and(|c| self.count >= c) {
            return None;
        }
        match self.frames.next()? {
            Ok(frame) => {
                self.count += 1;
                self.bytes += frame.data.len() as u64;
                if self.count.is_multiple_of(65536) {
                    self.pb.set_position(frame.file_offset);
                }
                Some(frame)
            }
            Err(e) => {
                self.damage = Some(e);
                None
            }
        }
    }
}

/// The writing thread's result, once it has finished.
fn joined(writer: Option<std::thread::ScopedJoinHandle<'_, anyhow::Result<()>>>) -> anyhow::Result<()> {
    match writer.map(|w| w.join()) {
        Some(Ok(r)) => r,
        Some(Err(_)) => Err(anyhow::anyhow!("the writing thread failed")),
        None => Ok(()),
    }
}

/// A buffered standard output for big writes (stdout's own line buffering
/// would look for a newline in each).
fn stdout_buffered() -> std::io::BufWriter<std::io::StdoutLock<'static>> {
    std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock())
}

/// Prints `--stats` for what `reading` went through: `streams` are the TCP
/// and UDP conversations, `matched` the filter's count, when one was given.
fn report_stats(reading: &Reading<'_>, streams: (usize, usize), matched: Option<u64>) -> anyhow::Result<()> {
    let secs = reading.started.elapsed().as_secs_f64();
    let peak = peak_rss_kib();
    let (frames, bytes) = (reading.count, reading.bytes);
    let report = || -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "frames: {frames}")?;
        if let Some(m) = matched {
            writeln!(out, "matching_frames: {m}")?;
        }
        writeln!(out, "bytes: {bytes}")?;
        writeln!(out, "seconds: {secs:.3}")?;
        writeln!(out, "frames_per_second: {:.0}", frames as f64 / secs.max(1e-9))?;
        writeln!(out, "megabytes_per_second: {:.1}", bytes as f64 / 1e6 / secs.max(1e-9))?;
        writeln!(out, "tcp_streams: {}", streams.0)?;
        writeln!(out, "udp_streams: {}", streams.1)?;
        if let Some(kib) = peak {
            writeln!(out, "peak_rss_kib: {kib}")?;
        }
        // Resident memory that is not the memory-mapped capture file.
        if let Some(kib) = proc_status_kib("RssAnon:") {
            writeln!(out, "rss_anon_kib: {kib}")?;
        }
        out.flush()
    };
    report().or_else(quiet_pipe)
}

/// A reader that goes away (`| head`) ends the output quietly.
fn quiet_pipe(e: std::io::Error) -> anyhow::Result<()> {
    if e.kind() == std::io::ErrorKind::BrokenPipe { Ok(()) } else { Err(e).context("writing output") }
}

/// Writes a batch's text: small ones through the buffer, big ones (a batch
/// of `-V` or JSON) straight to the output, without copying them first.
fn write_text(out: &mut std::io::BufWriter<impl Write>, text: &[u8]) -> std::io::Result<()> {
    if text.len() >= 64 << 10 {
        out.flush()?;
        return out.get_mut().write_all(text);
    }
    out.write_all(text)
}

/// The writing half of `dissect`: formats each batch's frames in order and
/// sends the batch's dissections back. A reader that goes away (broken
/// pipe) ends it quietly; the dissecting thread then stops at its next send.
fn write_batches(
    work: std::sync::mpsc::Receiver<Work<'_>>,
    empty: std::sync::mpsc::Sender<Vec<Dissection>>,
    args: &DissectArgs,
) -> anyhow::Result<()> {
    let mut out = stdout_buffered();
    let mut buf = Vec::new();
    for w in work {
        match w {
            Work::Frames(mut batch) => {
                buf.clear();
                buf = format_batch(&batch, args, buf);
                if let Err(e) = write_text(&mut out, &buf) {
                    return quiet_pipe(e);
                }
                batch.frames.clear();
                let _ = empty.send(std::mem::take(&mut batch.dissections));
            }
            Work::Text(text) => {
                if let Err(e) = write_text(&mut out, &text) {
                    return quiet_pipe(e);
                }
            }
        }
    }
    out.flush().or_else(quiet_pipe)
}

/// Peak resident memory of this process (Linux), in KiB. It includes the
/// pages of a memory-mapped capture file that were read.
pub fn peak_rss_kib() -> Option<u64> {
    proc_status_kib("VmHWM:")
}

fn proc_status_kib(key: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn print_stats(s: &crate::capture::CaptureStats) {
    eprintln!(
        "wirelab: {} frames captured; the kernel passed {}, dropped {} (buffer full); the interface dropped {}; \
wirelab dropped {}{}",
        s.captured,
        s.kernel_received,
        s.kernel_dropped,
        s.interface_dropped,
        s.wirelab_dropped,
        if s.not_delivered > 0 {
            format!(" ({} saved but not printed: the terminal was too slow)", s.not_delivered)
        } else {
            String::new()
        }
    );
}

/// `wirelab capture`.
pub fn capture(args: &CaptureArgs) -> anyhow::Result<i32> {
    use crate::capture::{CaptureConfig, CaptureEvent, CaptureHandle};
    let cfg = CaptureConfig {
        interface: args.interface.clone(),
        filter: Some(args.filter.clone()),
        snaplen: args.snaplen,
        count: args.count,
        duration: args.duration.map(std::time::Duration::from_secs_f64),
        output: args.write.clone(),
        ..CaptureConfig::default()
    };
    let handle = match CaptureHandle::start(cfg) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("wirelab: {e}");
            return Ok(if matches!(e, crate::capture::CaptureError::Permission { .. }) { 77 } else { 1 });
        }
    };
    let stop = handle.stop_flag();
    // A second Ctrl-C is not needed: the capture stops within 50 ms.
    let _ = ctrlc::set_handler(move || stop.store(true, std::sync::atomic::Ordering::Relaxed));
    eprintln!(
        "wirelab: capturing on {} (filter: {}){}; Ctrl-C stops",
        args.interface,
        if args.filter.is_empty() { "none" } else { &args.filter },
        args.write.as_ref().map(|p| format!(", saving to {}", p.display())).unwrap_or_default()
    );
    let mut dissector = Dissector::new();
    let mut d = Dissection::default();
    let mut line = Vec::new();
    let stdout = std::io::stdout();
    let mut out = std::io::LineWriter::new(stdout.lock());
    let mut status = 0;
    loop {
        match handle.events().recv_timeout(std::time::Duration::from_millis(200)) {
            Ok(CaptureEvent::Batch(batch)) => {
                if args.quiet {
                    continue;
                }
                for (meta, bytes) in batch.iter() {
                    dissector.dissect(meta, bytes, &mut d);
                    line.clear();
                    output::summary_line(&d, &mut line);
                    line.push(b'\n');
                    if out.write_all(&line).is_err() {
                        handle.stop();
                    }
                }
            }
            Ok(CaptureEvent::Stats(_)) => {}
            Ok(CaptureEvent::Failed(msg)) => {
                eprintln!("wirelab: {msg}");
                status = 1;
            }
            Ok(CaptureEvent::Finished { stats, .. }) => {
                let _ = out.flush();
                print_stats(&stats);
                break;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let output = handle.output().to_path_buf();
    handle.join();
    if args.write.is_none() {
        let _ = std::fs::remove_file(&output);
    }
    Ok(status)
}

/// `wirelab craft`.
pub fn craft(args: &CraftArgs) -> anyhow::Result<i32> {
    use crate::capture::{CaptureConfig, CaptureEvent, CaptureHandle};
    use crate::craft::{Kind, Spec};
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let spec = Spec {
        kind: match args.kind {
            CraftKind::Udp => Kind::Udp { payload: args.payload.as_bytes().to_vec() },
            CraftKind::Syn => Kind::Syn { seq: nanos.wrapping_mul(2_654_435_761) },
        },
        src: args.src,
        dst: args.dst,
        src_port: args.sport.unwrap_or(40_000 + (nanos % 20_000) as u16),
        dst_port: args.dport,
        ttl: args.ttl,
        id: (nanos >> 8) as u16,
    };
    let packet = crate::craft::build(&spec)?;
    let meta = crate::model::FrameMeta {
        number: 1,
        len: packet.len() as u32,
        caplen: packet.len() as u32,
        linktype: crate::dissect::linktype::LINKTYPE_RAW,
        ..Default::default()
    };
    let mut d = Dissection::default();
    Dissector::new().dissect(meta, &packet, &mut d);
    let mut text = String::new();
    output::verbose(&d, &packet, &mut text);
    println!("The packet wirelab built, every field set by hand (the kernel will add only the link layer):\n");
    print!("{text}");
    if args.no_send {
        return Ok(0);
    }
    let udp = args.kind == CraftKind::Udp;
    let listening = crate::craft::is_listening(udp, args.dport);
    // Watch the replies: our packet, and whatever the kernel sends back.
    let filter = format!("host {} and (port {} or icmp)", args.dst, spec.src_port);
    let handle = match CaptureHandle::start(CaptureConfig {
        interface: "lo".into(),
        filter: Some(filter),
        duration: Some(std::time::Duration::from_millis(args.wait_ms + 300)),
        ..CaptureConfig::default()
    }) {
        Ok(h) => Some(h),
        Err(e) => {
            eprintln!("wirelab: cannot watch the replies: {e}");
            None
        }
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    crate::craft::send(&spec, &packet)?;
    println!(
        "\nSent {} bytes to {}:{}. {}\n",
        packet.len(),
        args.dst,
        args.dport,
        crate::craft::expectation(&spec, listening)
    );
    let Some(handle) = handle else { return Ok(1) };
    let mut dissector = Dissector::new();
    let mut line = Vec::new();
    while let Ok(ev) = handle.events().recv() {
        match ev {
            CaptureEvent::Batch(b) => {
                for (meta, bytes) in b.iter() {
                    dissector.dissect(meta, bytes, &mut d);
                    line.clear();
                    output::summary_line(&d, &mut line);
                    println!("{}", String::from_utf8_lossy(&line));
                }
            }
            CaptureEvent::Finished { .. } => break,
            _ => {}
        }
    }
    let out = handle.output().to_path_buf();
    handle.join();
    let _ = std::fs::remove_file(out);
    Ok(0)
}

/// Adds a TLS key log to a capture, saying which of its lines were skipped.
fn add_key_log(cap: &mut Capture, path: &std::path::Path) -> anyhow::Result<()> {
    cap.add_key_log(path).map_err(anyhow::Error::msg)?;
    let problems = cap.tls_keys.as_ref().map(|k| k.problems.as_slice()).unwrap_or_default();
    for (line, why) in problems.iter().take(5) {
        eprintln!("wirelab: {}: line {line} skipped: {why}", path.display());
    }
    if problems.len() > 5 {
        eprintln!("wirelab: {}: {} more lines skipped", path.display(), problems.len() - 5);
    }
    Ok(())
}

/// `wirelab follow`.
pub fn follow(cap: &Capture, args: &FollowArgs) -> anyhow::Result<i32> {
    let mut dissector = Dissector::for_capture(cap);
    let mut d = Dissection::default();
    let mut events: Vec<crate::model::AppEvent> = Vec::new();
    let mut status = 0;
    for item in cap.frames() {
        match item {
            Ok(f) => {
                dissector.dissect(f.meta, &f.data, &mut d);
                events.append(&mut d.events);
            }
            Err(e) => {
                eprintln!("wirelab: {}: {e}", cap.name());
                status = 2;
                break;
            }
        }
    }
    let all = crate::messages::correlate(events);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.by == FollowBy::Session {
        follow_sessions(&all, args, &mut out)?;
        return Ok(status);
    }
    // One connection's story at a time, each in capture order; `id` is the
    // message's place in the whole capture, which `answers` refers to.
    let mut shown: Vec<usize> =
        (0..all.len()).filter(|i| args.stream.is_none_or(|s| s == all[*i].event.stream)).collect();
    shown.sort_by_key(|i| all[*i].event.stream);
    let conv = dissector.conversations();
    let ends = |s: u32| conv.tcp.get(s as usize).map(|t| (t.ends[0].to_string(), t.ends[1].to_string()));
    if args.format == OutputFormat::Json {
        let list: Vec<serde_json::Value> = shown
            .iter()
            .map(|i| {
                let m = &all[*i];
                serde_json::json!({
                    "id": i,
                    "stream": m.event.stream,
                    "from": m.dir(),
                    "kind": m.kind().name(),
                    "transport": m.transport.name(),
                    "session": m.session,
                    "text": m.event.text,
                    "frames": m.event.frames.to_vec(),
                    "answers": m.answers,
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &serde_json::json!({ "file": cap.name(), "messages": list }))?;
        writeln!(out)?;
        return Ok(status);
    }
    if shown.is_empty() {
        writeln!(
            out,
            "no messages{} (wirelab follows TCP connections, HTTP, WebSocket, Engine.IO and Socket.IO)",
            args.stream.map(|s| format!(" in stream {s}")).unwrap_or_default()
        )?;
    }
    let mut current = None;
    for i in shown {
        let m = &all[i];
        if current != Some(m.event.stream) {
            current = Some(m.event.stream);
            let (a, b) = ends(m.event.stream).unwrap_or_default();
            writeln!(out, "\nTCP stream {} ({a} \u{21c4} {b})", m.event.stream)?;
        }
        message_line(&all, i, &mut out)?;
    }
    Ok(status)
}

/// `  frame 12        client → server  ws-text        Hello  (answers frame 10)`
fn message_line(all: &[crate::messages::Message], i: usize, out: &mut impl Write) -> std::io::Result<()> {
    let m = &all[i];
    let e = &m.event;
    let dir = match e.from_client {
        Some(true) => "client \u{2192} server",
        Some(false) => "server \u{2192} client",
        None => "   ?  \u{2192}   ?   ",
    };
    let frames = if e.frames.len() > 1 {
        format!("frames {}", e.frames.iter().map(u64::to_string).collect::<Vec<_>>().join(","))
    } else {
        format!("frame {}", e.frames.first().copied().unwrap_or(0))
    };
    let answers = m
        .answers
        .and_then(|j| all.get(j))
        .map(|q| format!("  (answers frame {})", q.event.frames.last().copied().unwrap_or(0)))
        .unwrap_or_default();
    writeln!(out, "  {frames:<14} {dir}  {:<14} {}{answers}", e.kind.name(), e.text)
}

/// `wirelab follow --by session`: each Engine.IO session's story, in time
/// order across its connections, each message with its transport.
fn follow_sessions(all: &[crate::messages::Message], args: &FollowArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let mut order: Vec<&str> = Vec::new();
    for m in all {
        if let Some(s) = m.session.as_deref()
            && !order.contains(&s)
        {
            order.push(s);
        }
    }
    if order.is_empty() && args.format == OutputFormat::Text {
        writeln!(
            out,
            "no Engine.IO sessions in this capture (`wirelab follow` without --by tells each connection's story)"
        )?;
    }
    for sid in order {
        let idx: Vec<usize> = (0..all.len())
            .filter(|i| all[*i].session.as_deref() == Some(sid))
            .filter(|i| args.stream.is_none_or(|s| s == all[*i].event.stream))
            .collect();
        let mut streams: Vec<u32> = idx.iter().map(|i| all[*i].event.stream).collect();
        streams.sort_unstable();
        streams.dedup();
        if args.format == OutputFormat::Json {
            // `answers` is the index within this session's list.
            let local = |g: usize| idx.iter().position(|i| *i == g);
            let msgs: Vec<serde_json::Value> = idx
                .iter()
                .map(|i| {
                    let m = &all[*i];
                    serde_json::json!({
                        "frames": m.event.frames.to_vec(),
                        "stream": m.event.stream,
                        "transport": m.transport.name(),
                        "dir": m.dir(),
                        "kind": m.kind().name(),
                        "text": m.event.text,
                        "answers": m.answers.and_then(local),
                    })
                })
                .collect();
            serde_json::to_writer(
                &mut *out,
                &serde_json::json!({ "session": sid, "streams": streams, "messages": msgs }),
            )?;
            writeln!(out)?;
            continue;
        }
        let list = streams.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
        writeln!(out, "\nEngine.IO session {sid} (TCP streams {list})")?;
        for i in idx {
            write!(out, "  stream {:<3} {:<9}", all[i].event.stream, all[i].transport.name())?;
            message_line(all, i, out)?;
        }
    }
    Ok(())
}

/// Opens the window; without a display, says so and prints the capture as text.
fn gui(file: Option<PathBuf>, replay: bool, comparison: Option<PathBuf>, graph: Option<String>) -> anyhow::Result<i32> {
    let has_display = std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some();
    if !has_display {
        eprintln!(
            "wirelab: no display (DISPLAY and WAYLAND_DISPLAY are unset), so no window; here is the capture as text."
        );
        eprintln!("(`wirelab dissect FILE -V` shows every field, grouped by OSI layer)\n");
        let cap = match &file {
            Some(f) => Capture::open(f)?,
            None => Capture::from_bytes(crate::gui::DEFAULT_CAPTURE.to_vec(), crate::gui::DEFAULT_CAPTURE_NAME)?,
        };
        return dissect(
            &cap,
            &DissectArgs {
                file: None,
                verbose: false,
                format: OutputFormat::Text,
                count: None,
                stats: false,
                filter: None,
                no_explain: false,
                tls_keylog: None,
            },
        );
    }
    crate::gui::run(file, replay, comparison, graph)?;
    Ok(0)
}
