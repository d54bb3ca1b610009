//! A capture session: one pass over a capture indexes every frame and keeps
//! checkpoints of the dissector's state, so that afterwards any frame can be
//! dissected *in context* — with the same `tcp.stream`, relative numbers,
//! reassembled PDUs, WebSocket (compression included) and Socket.IO state as
//! the full pass gave it — by re-dissecting the frames since the nearest
//! checkpoint (at most [`CHECKPOINT_EVERY`], or more on captures whose state
//! is big: all checkpoints together stay within [`CHECKPOINT_BUDGET`]). Wireshark keeps per-frame results of
//! its first pass; a checkpoint is cheaper for big captures and exact by
//! construction (it *is* the state the full pass had).
//!
//! [`Checkpoints`] is the mechanism, for any frame store (the window keeps its
//! own rows and uses it directly); [`Session`] is a capture file with its
//! frames, checkpoints and messages, for the CLI and the lab engine. Part of
//! the dissection core: no GUI, no threads.

use std::sync::Arc;

use crate::dissect::Dissector;
use crate::file::{Capture, FileError};
use crate::messages::{Message, correlate};
use crate::model::{AppEvent, Dissection, FrameMeta};

/// Frames between two checkpoints: the most a random access re-dissects.
pub const CHECKPOINT_EVERY: usize = 4096;

/// What all checkpoints of one capture may hold together. A capture with a
/// lot of state (tens of thousands of connections) gets fewer checkpoints,
/// further apart, instead of more memory.
pub const CHECKPOINT_BUDGET: usize = 48 << 20;

/// The dissector's state before some frames of a capture: every `every`-th
/// at first; when their total size passes the budget, every other one is
/// dropped and the spacing doubles (so they stay evenly spread).
#[derive(Clone)]
pub struct Checkpoints {
    every: usize,
    /// (frame index, state before it, its size in bytes), in frame order.
    saved: Vec<(usize, Arc<Dissector>, usize)>,
    bytes: usize,
    budget: usize,
}

impl Checkpoints {
    pub fn new(every: usize) -> Checkpoints {
        Checkpoints::with_budget(every, CHECKPOINT_BUDGET)
    }

    /// Checkpoints that together hold at most about `budget` bytes.
    pub fn with_budget(every: usize, budget: usize) -> Checkpoints {
        Checkpoints { every: every.max(1), saved: Vec::new(), bytes: 0, budget }
    }

    /// Bytes the checkpoints hold, roughly.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Call before dissecting frame `index` (0-based, in capture order) with
    /// `dis`: keeps a copy of its state when a checkpoint falls due.
    pub fn before(&mut self, index: usize, dis: &Dissector) {
        if !index.is_multiple_of(self.every) || self.saved.last().is_some_and(|(i, _, _)| *i >= index) {
            return;
        }
        let size = dis.heap_bytes() + std::mem::size_of::<Dissector>();
        // A frame found again from here is wanted whole: with its tree.
        let mut saved = dis.clone();
        saved.set_tree(true);
        self.saved.push((index, Arc::new(saved), size));
        self.bytes += size;
        while self.bytes > self.budget && self.saved.len() > 1 {
            self.every = self.every.saturating_mul(2);
            let every = self.every;
            self.saved.retain(|(i, _, _)| i.is_multiple_of(every));
            self.bytes = self.saved.iter().map(|(_, _, s)| s).sum();
        }
    }

    /// Frames between checkpoints now (at least [`CHECKPOINT_EVERY`]).
    pub fn spacing(&self) -> usize {
        self.every
    }

    /// The state saved nearest before frame `n` (at or before it): the frame
    /// it was saved before, and a copy to dissect on from there.
    pub fn state_before(&self, n: usize) -> Option<(usize, Dissector)> {
        let k = self.saved.partition_point(|(i, _, _)| *i <= n);
        let (start, base, _) = self.saved.get(k.checked_sub(1)?)?;
        Some((*start, Dissector::clone(base)))
    }

    /// Dissects frame `n` (0-based) as the full pass did: from the nearest
    /// checkpoint at or before it, re-dissecting the frames in between.
    /// `frame(i)` gives frame `i`'s metadata and bytes. False when `n` is past
    /// what the checkpoints cover or a frame is missing.
    pub fn dissect<'a>(
        &self,
        n: usize,
        frame: impl Fn(usize) -> Option<(FrameMeta, &'a [u8])>,
        out: &mut Dissection,
    ) -> bool {
        let Some((start, mut dis)) = self.state_before(n) else { return false };
        for i in start..=n {
            let Some((meta, bytes)) = frame(i) else { return false };
            dis.dissect(meta, bytes, out);
        }
        true
    }
}

/// Where a frame's bytes are.
#[derive(Clone, Copy, Debug)]
struct Located {
    meta: FrameMeta,
    /// Offset in the file when the bytes can be read in place, else in the arena.
    at: u64,
    in_arena: bool,
}

/// A capture, indexed in one pass: frames, checkpoints and messages.
pub struct Session {
    cap: Arc<Capture>,
    frames: Vec<Located>,
    /// Bytes of frames that cannot be read in place from the file.
    arena: Vec<u8>,
    checkpoints: Checkpoints,
    messages: Vec<Message>,
    damage: Option<String>,
}

impl Session {
    /// Opens and indexes a capture file.
    pub fn open(path: &std::path::Path) -> Result<Session, FileError> {
        Ok(Session::index(Arc::new(Capture::open(path)?), CHECKPOINT_EVERY))
    }

    /// Opens a capture with a TLS key log beside its own secrets (`None`:
    /// those of its Decryption Secrets Blocks only).
    pub fn open_with_keys(path: &std::path::Path, keys: Option<&std::path::Path>) -> Result<Session, String> {
        let mut cap = Capture::open(path).map_err(|e| e.to_string())?;
        if let Some(k) = keys {
            cap.add_key_log(k)?;
        }
        Ok(Session::index(Arc::new(cap), CHECKPOINT_EVERY))
    }

    /// Indexes a capture in one pass, with a checkpoint every `every` frames.
    pub fn index(cap: Arc<Capture>, every: usize) -> Session {
        let mut dis = Dissector::for_capture(&cap);
        let mut d = Dissection::default();
        let mut s = Session {
            cap: cap.clone(),
            frames: Vec::new(),
            arena: Vec::new(),
            checkpoints: Checkpoints::new(every),
            messages: Vec::new(),
            damage: None,
        };
        let mut events: Vec<AppEvent> = Vec::new();
        for item in cap.frames() {
            let f = match item {
                Ok(f) => f,
                Err(e) => {
                    s.damage = Some(e.to_string());
                    break;
                }
            };
            s.checkpoints.before(s.frames.len(), &dis);
            dis.dissect(f.meta, &f.data, &mut d);
            events.append(&mut d.events);
            let (at, in_arena) = match f.data_offset(&cap) {
                Some(o) => (o, false),
                None => {
                    s.arena.extend_from_slice(&f.data);
                    ((s.arena.len() - f.data.len()) as u64, true)
                }
            };
            s.frames.push(Located { meta: f.meta, at, in_arena });
        }
        s.messages = correlate(events);
        s
    }

    pub fn capture(&self) -> &Capture {
        &self.cap
    }

    /// Number of complete frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Where the file is damaged, when it is: frames before it are all here.
    pub fn damage(&self) -> Option<&str> {
        self.damage.as_deref()
    }

    /// Metadata and bytes of frame `n` (0-based).
    pub fn raw(&self, n: usize) -> Option<(FrameMeta, &[u8])> {
        let f = self.frames.get(n)?;
        let bytes = if f.in_arena {
            let start = usize::try_from(f.at).ok()?;
            self.arena.get(start..start + f.meta.caplen as usize)?
        } else {
            self.cap.bytes_at(f.at, f.meta.caplen)
        };
        Some((f.meta, bytes))
    }

    /// Frame `n` (0-based; frame number `n + 1`) dissected with everything
    /// before it; its bytes, or None past the end.
    pub fn frame(&self, n: usize, out: &mut Dissection) -> Option<&[u8]> {
        if !self.checkpoints.dissect(n, |i| self.raw(i), out) {
            return None;
        }
        self.raw(n).map(|(_, b)| b)
    }

    /// The frame with this frame number (1-based), as Wireshark numbers them.
    pub fn number(&self, number: u64, out: &mut Dissection) -> Option<&[u8]> {
        let n = usize::try_from(number.checked_sub(1)?).ok()?;
        self.frame(n, out)
    }

    /// Dissects every frame in order (one pass, full context) and hands
    /// each to `f`.
    pub fn scan(&self, mut f: impl FnMut(&Dissection, &[u8])) {
        let mut dis = Dissector::for_capture(&self.cap);
        let mut d = Dissection::default();
        for n in 0..self.frames.len() {
            if let Some((meta, bytes)) = self.raw(n) {
                dis.dissect(meta, bytes, &mut d);
                f(&d, bytes);
            }
        }
    }

    /// Every message of the capture, with answers and sessions.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }
}
