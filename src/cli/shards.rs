//! `dissect` without a protocol tree (summary lines, `--stats`), on every
//! core: the capture's conversations are split between threads.
//!
//! Every state a dissector keeps belongs to one TCP connection or UDP flow
//! (sequence analysis, reassembly, the application layers) or is the clock
//! (the first and the previous frame's times). So this thread follows each
//! frame to its conversation ([`Dissector::flow`]) and hands it to the shard
//! that owns that conversation, with the clock; each shard dissects and
//! formats its frames as a single dissector seeing them all would; a writer
//! puts the lines back in frame order.
//!
//! Work goes in rounds of [`ROUND`] frames, and every shard answers every
//! round (with no lines, if none of its frames were in it): the writer takes
//! one answer from each shard per round, so no thread waits for one that
//! waits for it.
//!
//! One difference is not seen here: each shard numbers its own conversations
//! (`tcp.stream`). Summary lines and `--stats` show none of those numbers;
//! everything that does (a filter, `-V`, JSON) takes the single-dissector
//! path in [`super::dissect`].

use std::borrow::Cow;
use std::io::Write;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::{DissectArgs, Run, output, progress_bar, quiet_pipe, report_stats, write_text};
use crate::dissect::Dissector;
use crate::file::Capture;
use crate::model::{Dissection, FrameMeta};

/// Threads that dissect.
const SHARDS: usize = 2;
/// Frames dealt per round.
const ROUND: usize = 4096;

/// A frame for a shard, with the clock it would have had.
struct Job<'a> {
    meta: FrameMeta,
    data: Cow<'a, [u8]>,
    first: (i64, u32),
    prev: (i64, u32),
}

/// A shard's summary lines for one round: line `i` is frame `numbers[i]`,
/// `text[ends[i - 1]..ends[i]]`.
#[derive(Default)]
struct Lines {
    numbers: Vec<u64>,
    ends: Vec<usize>,
    text: String,
}

/// `dissect` for summary lines and `--stats` without a filter; returns the
/// exit status (2: the file is damaged, its frames before the damage were
/// printed).
pub fn dissect(cap: &Capture, args: &DissectArgs) -> anyhow::Result<i32> {
    let pb = progress_bar(cap);
    let started = std::time::Instant::now();
    let (mut frames, mut bytes) = (0u64, 0u64);
    let mut damage = None;
    let streams = std::thread::scope(|scope| -> anyhow::Result<(usize, usize)> {
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        let mut shards = Vec::new();
        for _ in 0..SHARDS {
            let (in_tx, in_rx) = sync_channel::<Vec<Job<'_>>>(4);
            let (out_tx, out_rx) = sync_channel::<Lines>(4);
            let out_tx = (!args.stats).then_some(out_tx);
            shards.push(scope.spawn(move || shard(in_rx, out_tx)));
            inputs.push(in_tx);
            outputs.push(out_rx);
        }
        let writer = (!args.stats).then(|| scope.spawn(move || merge(outputs)));

        let mut router = Dissector::new();
        let mut scratch = Dissection::default();
        let mut round: Vec<Vec<Job<'_>>> = (0..SHARDS).map(|_| Vec::new()).collect();
        let mut dealt = 0;
        let (mut first, mut prev) = (None, None);
        for item in cap.frames() {
            let frame = match item {
                Ok(f) => f,
                Err(e) => {
                    damage = Some(e);
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
            let now = (frame.meta.ts_sec, frame.meta.ts_nsec);
            let first = *first.get_or_insert(now);
            let prev = prev.replace(now).unwrap_or(first);
            // A frame in no conversation needs no state: it goes to the
            // shard with the fewest frames in this round.
            let to = match router.flow(frame.meta, &frame.data, &mut scratch) {
                Some(h) => (h >> 32) as usize % SHARDS,
                None => (0..SHARDS).min_by_key(|&s| round[s].len()).unwrap_or(0),
            };
            round[to].push(Job { meta: frame.meta, data: frame.data, first, prev });
            dealt += 1;
            // A shard that stopped means the writer did (the reader went away).
            if dealt == ROUND {
                dealt = 0;
                if !deal(&mut round, &inputs) {
                    break;
                }
            }
        }
        pb.finish_and_clear();
        if dealt > 0 {
            deal(&mut round, &inputs);
        }
        drop(inputs);
        let mut streams = (0, 0);
        for s in shards {
            let (tcp, udp) = s.join().map_err(|_| anyhow::anyhow!("a dissecting thread failed"))?;
            streams = (streams.0 + tcp, streams.1 + udp);
        }
        match writer.map(|w| w.join()) {
            Some(Ok(r)) => r?,
            Some(Err(_)) => anyhow::bail!("the writing thread failed"),
            None => {}
        }
        Ok(streams)
    })?;
    // A damaged file: the frames before the damage are printed first.
    let mut status = 0;
    if let Some(e) = damage {
        eprintln!("wirelab: {}: {e}", cap.name());
        status = 2;
    }
    if args.stats {
        report_stats(&Run { frames, bytes, streams, started }, None)?;
    }
    Ok(status)
}

/// Sends each shard its frames of the round (none, to some).
fn deal<'a>(round: &mut [Vec<Job<'a>>], shards: &[SyncSender<Vec<Job<'a>>>]) -> bool {
    round.iter_mut().zip(shards).all(|(jobs, tx)| tx.send(std::mem::take(jobs)).is_ok())
}

/// One shard: dissects the frames dealt to it without a tree and, unless
/// `lines` is `None` (`--stats`), writes their summary lines. Returns how
/// many TCP and UDP conversations it followed.
fn shard(jobs: Receiver<Vec<Job<'_>>>, lines: Option<SyncSender<Lines>>) -> (usize, usize) {
    let mut dissector = Dissector::new();
    dissector.set_tree(false);
    let mut d = Dissection::default();
    // The size of the largest round's text, to allocate the next at once.
    let mut room = 0;
    for round in jobs {
        let mut out = Lines { text: String::with_capacity(room), ..Lines::default() };
        for job in round {
            dissector.set_clock(job.first, job.prev);
            dissector.dissect(job.meta, &job.data, &mut d);
            if lines.is_some() {
                output::summary_line(&d, &mut out.text);
                out.text.push('\n');
                out.numbers.push(job.meta.number);
                out.ends.push(out.text.len());
            }
        }
        if let Some(tx) = &lines {
            room = room.max(out.text.len());
            if tx.send(out).is_err() {
                break;
            }
        }
    }
    let conv = dissector.conversations();
    (conv.tcp.len(), conv.udp.len())
}

/// Writes the shards' lines in frame order: one answer from each shard per
/// round, merged by frame number.
fn merge(shards: Vec<Receiver<Lines>>) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut text = Vec::new();
    'rounds: loop {
        let mut answers = Vec::with_capacity(shards.len());
        for rx in &shards {
            match rx.recv() {
                Ok(l) => answers.push(l),
                Err(_) => break 'rounds,
            }
        }
        let mut next = vec![0; answers.len()];
        text.clear();
        loop {
            // The shard whose next line has the lowest frame number.
            let pick = (0..answers.len())
                .filter_map(|s| answers[s].numbers.get(next[s]).map(|n| (*n, s)))
                .min()
                .map(|(_, s)| s);
            let Some(s) = pick else { break };
            let a = &answers[s];
            let start = next[s].checked_sub(1).map_or(0, |i| a.ends[i]);
            text.extend_from_slice(&a.text.as_bytes()[start..a.ends[next[s]]]);
            next[s] += 1;
        }
        if let Err(e) = write_text(&mut out, &text) {
            return quiet_pipe(e);
        }
    }
    out.flush().or_else(quiet_pipe)
}
