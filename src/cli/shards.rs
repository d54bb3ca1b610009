//! `dissect` without a protocol tree (summary lines, `--stats`), with the
//! capture's conversations shared out between two dissecting threads.
//!
//! Every state a dissector keeps belongs to one TCP connection or UDP flow
//! (sequence analysis, reassembly, the application layers) or is the clock
//! (the first and the previous frame's times). So this thread follows each
//! frame to its conversation ([`Dissector::flow`]) and deals it, with its
//! times, to the shard that owns that conversation; a frame in none goes to
//! the shard with fewer frames in the round. Each shard dissects its frames
//! as a single dissector seeing them all would, and hands back its lines; a
//! writer merges them in frame order. A shard with at most [`BUSY`] of a
//! round's frames (many conversations) formats their lines as it dissects
//! them; a busier one (one conversation is most of the capture, the other
//! shard idle) hands back each frame's summary for the writer to format
//! beside it, unless the writer is behind (its queue from that shard full).
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
use std::sync::mpsc::{Receiver, Sender, SyncSender, TrySendError, channel, sync_channel};

use super::{DissectArgs, Reading, joined, output, quiet_pipe, report_stats, write_text};
use crate::dissect::{Clock, Dissector, Times};
use crate::file::Capture;
use crate::model::{Dissection, FrameMeta, Summary};

/// Threads that dissect.
const SHARDS: usize = 2;
/// Frames dealt per round (1,024 woke the threads often enough to cost 9%).
const ROUND: usize = 4096;
/// A shard with at most this many of a round's frames (5/8 of a full round)
/// formats their lines as it dissects them; one with more (one
/// conversation is most of the capture) leaves them to the writer, so that
/// formatting goes on beside it. In a short last round, a shard formats.
const BUSY: usize = ROUND * 5 / 8;

/// A frame for a shard, with its times.
struct Job<'a> {
    meta: FrameMeta,
    data: Cow<'a, [u8]>,
    times: Times,
}

/// What the writer needs of a dissected frame for its summary line.
#[derive(Default)]
struct Line {
    number: u64,
    time: f64,
    len: u32,
    summary: Summary,
}

impl Line {
    /// Appends the summary line (without its newline) to `out`.
    fn write(&self, out: &mut Vec<u8>) {
        output::summary_line_of(self.number, self.time, self.len, &self.summary, out);
    }
}

/// A shard's lines for one round, in frame order. The writer sends each
/// vector back, and the shard writes the next round over it: the lines'
/// info texts keep their buffers.
type Lines = Vec<Line>;

/// Lines a shard formatted: line `i` is frame `numbers[i]`,
/// `text[ends[i - 1]..ends[i]]`.
#[derive(Default)]
struct Formatted {
    numbers: Vec<u64>,
    ends: Vec<usize>,
    text: Vec<u8>,
}

impl Formatted {
    /// Room for `lines` lines of `bytes` in all.
    fn with_capacity(lines: usize, bytes: usize) -> Self {
        Formatted {
            numbers: Vec::with_capacity(lines),
            ends: Vec::with_capacity(lines),
            text: Vec::with_capacity(bytes),
        }
    }

    /// Appends frame `number`'s line, which `write` writes (without its newline).
    fn push(&mut self, number: u64, write: impl FnOnce(&mut Vec<u8>)) {
        write(&mut self.text);
        self.text.push(b'\n');
        self.numbers.push(number);
        self.ends.push(self.text.len());
    }
}

/// A shard's answer to a round.
enum Answer {
    /// Lines for the writer to format.
    Lines(Lines),
    /// Lines the shard formatted.
    Text(Formatted),
}

impl Answer {
    fn number(&self, i: usize) -> Option<u64> {
        match self {
            Answer::Lines(l) => l.get(i).map(|l| l.number),
            Answer::Text(f) => f.numbers.get(i).copied(),
        }
    }

    /// Appends line `i` to `out`.
    fn write(&self, i: usize, out: &mut Vec<u8>) {
        match self {
            Answer::Lines(lines) => {
                lines[i].write(out);
                out.push(b'\n');
            }
            Answer::Text(f) => {
                let start = i.checked_sub(1).map_or(0, |p| f.ends[p]);
                out.extend_from_slice(&f.text[start..f.ends[i]]);
            }
        }
    }
}

/// `dissect` for summary lines and `--stats` without a filter; returns the
/// exit status (2: the file is damaged, its frames before the damage were
/// printed).
pub fn dissect(cap: &Capture, args: &DissectArgs) -> anyhow::Result<i32> {
    let mut reading = Reading::new(cap, args.count);
    let (written, streams) = std::thread::scope(|scope| {
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        let mut shards = Vec::new();
        for _ in 0..SHARDS {
            let (in_tx, in_rx) = sync_channel::<Vec<Job<'_>>>(2);
            let (out_tx, out_rx) = sync_channel::<Answer>(2);
            let (back_tx, back_rx) = channel::<Lines>();
            let lines = (!args.stats).then_some((out_tx, back_rx));
            let dissector = Dissector::for_capture(cap);
            shards.push(scope.spawn(move || shard(in_rx, lines, dissector)));
            inputs.push(in_tx);
            outputs.push((out_rx, back_tx));
        }
        let writer = (!args.stats).then(|| scope.spawn(move || merge(outputs)));

        let mut router = Dissector::new();
        let mut scratch = Dissection::default();
        let mut clock = Clock::default();
        let mut round: Vec<Vec<Job<'_>>> = (0..SHARDS).map(|_| Vec::new()).collect();
        let mut dealt = 0;
        for frame in &mut reading {
            let times = clock.tick(&frame.meta);
            let to = shard_for(router.flow(frame.meta, &frame.data, &mut scratch), |s| round[s].len());
            round[to].push(Job { meta: frame.meta, data: frame.data, times });
            dealt += 1;
            // A shard that stopped means the writer did (the reader went away).
            if dealt == ROUND {
                dealt = 0;
                if !deal(&mut round, &inputs) {
                    break;
                }
            }
        }
        reading.pb.finish_and_clear();
        if dealt > 0 {
            deal(&mut round, &inputs);
        }
        drop(inputs);
        let mut streams = (0, 0);
        let mut failed = Ok(());
        for s in shards {
            match s.join() {
                Ok((tcp, udp)) => streams = (streams.0 + tcp, streams.1 + udp),
                Err(_) => failed = Err(anyhow::anyhow!("a dissecting thread failed")),
            }
        }
        (joined(writer).and(failed), streams)
    });
    let status = reading.report_damage();
    written?;
    if args.stats {
        report_stats(&reading, streams, None)?;
    }
    Ok(status)
}

/// The shard a frame goes to: the one that owns its conversation `flow`,
/// or, in none (it needs no state), the one with the fewest frames so far in
/// the round.
fn shard_for(flow: Option<u64>, frames_of: impl Fn(usize) -> usize) -> usize {
    match flow {
        Some(h) => (h >> 32) as usize % SHARDS,
        None => (0..SHARDS).min_by_key(|&s| frames_of(s)).unwrap_or(0),
    }
}

/// Sends each shard its frames of the round (none, to some).
fn deal<'a>(round: &mut [Vec<Job<'a>>], shards: &[SyncSender<Vec<Job<'a>>>]) -> bool {
    round.iter_mut().zip(shards).all(|(jobs, tx)| tx.send(std::mem::take(jobs)).is_ok())
}

/// One shard: dissects the frames dealt to it without a tree and, unless
/// `lines` is `None` (`--stats`), sends their lines (and takes the vectors
/// back). It formats a round's lines itself when it holds at most
/// [`BUSY`] of the round's frames, or when the writer is behind; otherwise
/// the writer formats them, beside it. Returns how many TCP and UDP
/// conversations it followed.
fn shard(
    jobs: Receiver<Vec<Job<'_>>>,
    lines: Option<(SyncSender<Answer>, Receiver<Lines>)>,
    mut dissector: Dissector,
) -> (usize, usize) {
    dissector.set_tree(false);
    let mut d = Dissection::default();
    // Lines kept from a round formatted here, to write the next round over;
    // the size of the largest text formatted here.
    let mut spare = None;
    let mut room = 0;
    for round in jobs {
        let Some((tx, back)) = &lines else {
            for job in round {
                dissector.dissect_at(job.times, job.meta, &job.data, &mut d);
            }
            continue;
        };
        let n = round.len();
        let answer = if n <= BUSY {
            let mut f = Formatted::with_capacity(n, room);
            for job in round {
                dissector.dissect_at(job.times, job.meta, &job.data, &mut d);
                f.push(job.meta.number, |t| output::summary_line(&d, t));
            }
            room = room.max(f.text.len());
            Answer::Text(f)
        } else {
            let mut out: Lines = spare.take().or_else(|| back.try_recv().ok()).unwrap_or_default();
            out.resize_with(n, Line::default);
            for (job, line) in round.into_iter().zip(&mut out) {
                dissector.dissect_at(job.times, job.meta, &job.data, &mut d);
                line.number = job.meta.number;
                line.time = output::relative_time(&d);
                line.len = job.meta.len;
                line.summary.copy_from(&d.summary);
            }
            Answer::Lines(out)
        };
        let sent = match tx.try_send(answer) {
            Err(TrySendError::Full(Answer::Lines(out))) => {
                let mut f = Formatted::with_capacity(n, room);
                for l in &out {
                    f.push(l.number, |t| l.write(t));
                }
                room = room.max(f.text.len());
                spare = Some(out);
                tx.send(Answer::Text(f)).is_ok()
            }
            Err(TrySendError::Full(text)) => tx.send(text).is_ok(),
            r => r.is_ok(),
        };
        if !sent {
            break;
        }
    }
    let conv = dissector.conversations();
    (conv.tcp.len(), conv.udp.len())
}

/// Writes the shards' lines in frame order: one answer from each shard per
/// round, merged by frame number, and each vector of lines sent back.
fn merge(shards: Vec<(Receiver<Answer>, Sender<Lines>)>) -> anyhow::Result<()> {
    let mut out = super::stdout_buffered();
    let mut text = Vec::new();
    'rounds: loop {
        let mut answers = Vec::with_capacity(shards.len());
        for (rx, _) in &shards {
            match rx.recv() {
                Ok(a) => answers.push(a),
                Err(_) => break 'rounds,
            }
        }
        let mut next = vec![0; answers.len()];
        text.clear();
        // The shard whose next line has the lowest frame number, in turn.
        while let Some((_, s)) = (0..answers.len()).filter_map(|s| answers[s].number(next[s]).map(|n| (n, s))).min() {
            answers[s].write(next[s], &mut text);
            next[s] += 1;
        }
        for (answer, (_, back)) in answers.into_iter().zip(&shards) {
            if let Answer::Lines(lines) = answer {
                let _ = back.send(lines);
            }
        }
        if let Err(e) = write_text(&mut out, &text) {
            return quiet_pipe(e);
        }
    }
    out.flush().or_else(quiet_pipe)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The point of the shards: a capture of many conversations keeps both
    /// busy. (That the split changes no output is checked on every bundled
    /// capture by an integration test.)
    #[test]
    fn the_conversations_of_a_capture_are_shared_out_between_the_shards() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/socketio-node.pcap");
        let cap = Capture::open(&path).unwrap();
        let mut router = Dissector::new();
        let mut scratch = Dissection::default();
        let mut frames = [0usize; SHARDS];
        let mut owner = std::collections::HashMap::new();
        for f in cap.frames().map_while(Result::ok) {
            let flow = router.flow(f.meta, &f.data, &mut scratch);
            let s = shard_for(flow, |s| frames[s]);
            frames[s] += 1;
            if let Some(h) = flow {
                assert_eq!(*owner.entry(h).or_insert(s), s, "a conversation changed shards");
            }
        }
        let least = frames.iter().min().copied().unwrap_or(0);
        assert!(
            owner.len() > 20 && least * 4 > frames.iter().sum::<usize>(),
            "{frames:?} over {} conversations",
            owner.len()
        );
    }
}
