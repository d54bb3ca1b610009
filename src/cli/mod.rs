//! The command-line front end: argument parsing and the `dissect` command.

pub mod output;

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
#[command(
    name = "wirelab",
    version,
    about = "Watch real packets cross the OSI and TCP/IP layers."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Dissect a capture file (pcap or pcapng): one line per frame, or the
    /// whole tree with --verbose, or JSON Lines with --format json.
    Dissect(DissectArgs),
    /// List every field wirelab knows: display-filter name, layer, label.
    Fields,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct DissectArgs {
    /// The capture file to read.
    pub file: PathBuf,
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
}

/// Runs the command line; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        None => {
            let cap = Capture::from_bytes(DEFAULT_CAPTURE.to_vec(), DEFAULT_CAPTURE_NAME)?;
            println!("wirelab: a dissection of the built-in capture {DEFAULT_CAPTURE_NAME}");
            println!("(try `wirelab dissect FILE -V` for every field, grouped by OSI layer)\n");
            dissect(
                &cap,
                &DissectArgs {
                    file: PathBuf::new(),
                    verbose: false,
                    format: OutputFormat::Text,
                    count: None,
                    stats: false,
                },
            )
        }
        Some(Command::Dissect(args)) => {
            let cap = Capture::open(&args.file)?;
            dissect(&cap, &args)
        }
        Some(Command::Fields) => {
            let mut out = std::io::stdout().lock();
            for f in crate::dissect::all_fields() {
                writeln!(
                    out,
                    "{}\tL{} {}\t{}\t{}",
                    f.name,
                    f.osi(),
                    f.tcpip().name(),
                    f.label,
                    f.explain
                )?;
            }
            Ok(0)
        }
    }
}

fn progress_bar(cap: &Capture) -> indicatif::ProgressBar {
    let big = cap.len() > 4 << 20;
    if !big || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(cap.len());
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} dissecting [{bar:40}] {bytes}/{total_bytes} ({eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb
}

/// Dissects every frame of `cap` and prints them; a damaged file prints all
/// complete frames, then the error, and exits with status 2.
pub fn dissect(cap: &Capture, args: &DissectArgs) -> anyhow::Result<i32> {
    let mut dissector = Dissector::new();
    let mut d = Dissection::default();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let pb = progress_bar(cap);
    let mut line = String::new();
    let started = Instant::now();
    let mut frames = 0u64;
    let mut bytes = 0u64;
    let mut status = 0;
    for item in cap.frames() {
        let frame = match item {
            Ok(f) => f,
            Err(e) => {
                out.flush()?;
                pb.finish_and_clear();
                eprintln!("wirelab: {}: {e}", cap.name());
                status = 2;
                break;
            }
        };
        if args.count.is_some_and(|c| frames >= c) {
            break;
        }
        frames += 1;
        bytes += frame.data.len() as u64;
        if frames.is_multiple_of(65536) {
            pb.set_position(frame.file_offset);
        }
        dissector.dissect(frame.meta, &frame.data, &mut d);
        if args.stats {
            continue;
        }
        line.clear();
        match (args.format, args.verbose) {
            (OutputFormat::Json, _) => {
                serde_json::to_writer(&mut out, &output::json_frame(&d, &frame.data))?;
                out.write_all(b"\n")?;
                continue;
            }
            (OutputFormat::Text, true) => output::verbose(&d, &frame.data, &mut line),
            (OutputFormat::Text, false) => {
                output::summary_line(&d, &mut line);
                line.push('\n');
            }
        }
        if let Err(e) = out.write_all(line.as_bytes()) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(status);
            }
            return Err(e).context("writing output");
        }
    }
    pb.finish_and_clear();
    if args.stats {
        let secs = started.elapsed().as_secs_f64();
        let peak = peak_rss_kib();
        writeln!(out, "frames: {frames}")?;
        writeln!(out, "bytes: {bytes}")?;
        writeln!(out, "seconds: {secs:.3}")?;
        writeln!(
            out,
            "frames_per_second: {:.0}",
            frames as f64 / secs.max(1e-9)
        )?;
        writeln!(
            out,
            "megabytes_per_second: {:.1}",
            bytes as f64 / 1e6 / secs.max(1e-9)
        )?;
        writeln!(out, "tcp_streams: {}", dissector.conversations().tcp.len())?;
        writeln!(out, "udp_streams: {}", dissector.conversations().udp.len())?;
        if let Some(kib) = peak {
            writeln!(out, "peak_rss_kib: {kib}")?;
        }
        // Resident memory that is not the memory-mapped capture file.
        if let Some(kib) = proc_status_kib("RssAnon:") {
            writeln!(out, "rss_anon_kib: {kib}")?;
        }
    }
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    Ok(status)
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
