//! Background work: reading and dissecting a capture, and filtering it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, channel};

use crate::dissect::Dissector;
use crate::file::Capture;
use crate::filter::Filter;
use std::collections::HashMap;

use super::texts::TextStore;
use crate::messages::{Correlator, Transport};
use crate::model::{Addr, Dissection, FrameMeta};
use crate::session::{CHECKPOINT_EVERY, Checkpoints};

/// Up to this many frames, every dissection is kept for the detail views;
/// beyond it, a selected frame is dissected again, in context, from the
/// nearest checkpoint (`session::Checkpoints`).
pub const KEEP_DISSECTIONS: usize = 100_000;
/// Files larger than this never keep dissections.
pub const KEEP_BELOW_BYTES: u64 = 16 << 20;

/// One packet-list row, 40 bytes: what the columns need, with addresses,
/// protocol names and info texts kept once in `Loaded`'s tables.
#[derive(Clone, Copy, Debug)]
struct Row {
    /// Capture time, nanoseconds since the Unix epoch.
    ts_ns: i64,
    /// Where the frame's bytes are: in the file, or in `Loaded::arena`.
    data: u64,
    len: u32,
    caplen: u32,
    src: u32,
    dst: u32,
    linktype: u16,
    protocol: u8,
    in_arena: bool,
}

impl Row {
    /// The frame's bytes: in the arena of copied bytes, or in the mapped file.
    fn bytes<'a>(&self, arena: &'a [u8], cap: Option<&'a Capture>) -> &'a [u8] {
        if self.in_arena {
            let start = (self.data as usize).min(arena.len());
            return &arena[start..(start + self.caplen as usize).min(arena.len())];
        }
        cap.map(|c| c.bytes_at(self.data, self.caplen)).unwrap_or(&[])
    }
}

/// A message (TCP open/close, handshake, WebSocket message, Socket.IO
/// packet…) for the conversation view, with what `messages::Correlator`
/// found; its text is in `Loaded::event_texts`, same index.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    /// Index of the frame that completed it.
    pub frame: usize,
    /// Index of the first frame that carried it (the SYN of a TCP open).
    pub first: usize,
    pub stream: u32,
    pub from_client: Option<bool>,
    pub kind: crate::model::MsgKind,
    pub transport: Transport,
    /// Index (into `Loaded::events`) of the message it answers.
    pub answers: Option<u32>,
    /// Index into `Loaded::sessions`: its Engine.IO session.
    pub session: Option<u32>,
}

/// A capture, read and dissected.
pub struct Loaded {
    pub name: String,
    /// The file, or `None` for a live capture (its bytes are in `arena`).
    pub cap: Option<Arc<Capture>>,
    rows: Vec<Row>,
    /// Frame bytes not readable in place: live frames, and any the reader had to copy.
    arena: Vec<u8>,
    addrs: Vec<Addr>,
    addr_index: HashMap<Addr, u32>,
    protocols: Vec<&'static str>,
    infos: TextStore,
    /// Time of the first frame, for the relative time column.
    t0: Option<i64>,
    dissections: Option<Arc<Vec<Dissection>>>,
    /// The dissector's state every few thousand frames: any frame can be
    /// dissected again with the context of the frames before it.
    checkpoints: Checkpoints,
    /// A damaged file: the error after the last complete frame.
    pub damage: Option<String>,
    pub events: Vec<Event>,
    event_texts: TextStore,
    /// Engine.IO session ids, interned.
    pub sessions: Vec<String>,
    session_index: HashMap<String, u32>,
    correlator: Correlator,
}

impl Loaded {
    fn empty(name: String, cap: Option<Arc<Capture>>, keep: bool) -> Loaded {
        Loaded {
            name,
            cap,
            rows: Vec::new(),
            arena: Vec::new(),
            addrs: Vec::new(),
            addr_index: HashMap::new(),
            protocols: Vec::new(),
            infos: TextStore::default(),
            t0: None,
            dissections: keep.then(|| Arc::new(Vec::new())),
            checkpoints: Checkpoints::new(CHECKPOINT_EVERY),
            damage: None,
            events: Vec::new(),
            event_texts: TextStore::default(),
            sessions: Vec::new(),
            session_index: HashMap::new(),
            correlator: Correlator::default(),
        }
    }

    /// An empty capture that live frames are added to.
    pub fn live(name: String) -> Loaded {
        Loaded::empty(name, None, true)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn meta(&self, i: usize) -> FrameMeta {
        let Some(r) = self.rows.get(i) else { return FrameMeta::default() };
        FrameMeta {
            number: i as u64 + 1,
            ts_sec: r.ts_ns.div_euclid(1_000_000_000),
            ts_nsec: r.ts_ns.rem_euclid(1_000_000_000) as u32,
            len: r.len,
            caplen: r.caplen,
            linktype: u32::from(r.linktype),
        }
    }

    /// Seconds since the first frame (Wireshark's frame.time_relative).
    pub fn rel_time(&self, i: usize) -> f64 {
        let t = self.rows.get(i).map(|r| r.ts_ns).unwrap_or(0);
        (t - self.t0.unwrap_or(t)) as f64 * 1e-9
    }

    pub fn src(&self, i: usize) -> Addr {
        self.rows.get(i).and_then(|r| self.addrs.get(r.src as usize)).copied().unwrap_or_default()
    }

    pub fn dst(&self, i: usize) -> Addr {
        self.rows.get(i).and_then(|r| self.addrs.get(r.dst as usize)).copied().unwrap_or_default()
    }

    pub fn protocol(&self, i: usize) -> &'static str {
        self.rows.get(i).and_then(|r| self.protocols.get(usize::from(r.protocol))).copied().unwrap_or("")
    }

    /// The info column (decompressed on demand: call it for rows on screen).
    pub fn info(&self, i: usize) -> String {
        self.infos.get(i)
    }

    pub fn event_text(&self, k: usize) -> String {
        self.event_texts.get(k)
    }

    pub fn bytes(&self, i: usize) -> &[u8] {
        self.rows.get(i).map(|r| r.bytes(&self.arena, self.cap.as_deref())).unwrap_or(&[])
    }

    /// The dissection of frame `i`, with the context of the frames before
    /// it (kept, or dissected again from the nearest checkpoint), and its bytes.
    pub fn detail(&self, i: usize) -> Option<(Dissection, Vec<u8>)> {
        let bytes = self.bytes(i).to_vec();
        if let Some(all) = &self.dissections
            && let Some(d) = all.get(i)
        {
            return Some((d.clone(), bytes));
        }
        let mut d = Dissection::default();
        let found =
            self.checkpoints.dissect(i, |k| (k < self.rows.len()).then(|| (self.meta(k), self.bytes(k))), &mut d);
        found.then_some((d, bytes))
    }

    /// Call with the dissector before it dissects the next frame (the one
    /// `push` will add): keeps a checkpoint when one falls due.
    pub fn before_next(&mut self, dis: &Dissector) {
        self.checkpoints.before(self.rows.len(), dis);
    }

    /// Heap bytes held for the rows (not the file, not kept dissections):
    /// the figure behind "bytes per frame".
    pub fn heap_bytes(&self) -> usize {
        self.rows.capacity() * std::mem::size_of::<Row>()
            + self.arena.capacity()
            + self.infos.heap_bytes()
            + self.events.capacity() * std::mem::size_of::<Event>()
            + self.event_texts.heap_bytes()
            + self.addrs.capacity() * std::mem::size_of::<Addr>() * 2
    }

    fn intern_session(&mut self, sid: String) -> u32 {
        if let Some(i) = self.session_index.get(&sid) {
            return *i;
        }
        let i = self.sessions.len() as u32;
        self.sessions.push(sid.clone());
        self.session_index.insert(sid, i);
        i
    }

    fn intern_addr(&mut self, a: Addr) -> u32 {
        let next = self.addrs.len() as u32;
        *self.addr_index.entry(a).or_insert_with(|| {
            self.addrs.push(a);
            next
        })
    }

    /// Adds a dissected frame; `file_offset` when its bytes can be read in
    /// place from the file, else they are copied.
    fn push(&mut self, bytes: &[u8], file_offset: Option<u64>, d: &Dissection) {
        let n = self.rows.len();
        let m = d.meta;
        let ts_ns = m.ts_sec.saturating_mul(1_000_000_000).saturating_add(i64::from(m.ts_nsec));
        self.t0.get_or_insert(ts_ns);
        let (data, in_arena) = match file_offset {
            Some(o) => (o, false),
            None => {
                self.arena.extend_from_slice(bytes);
                ((self.arena.len() - bytes.len()) as u64, true)
            }
        };
        let protocol = match self.protocols.iter().position(|p| *p == d.summary.protocol) {
            Some(k) => k,
            None if self.protocols.len() < 255 => {
                self.protocols.push(d.summary.protocol);
                self.protocols.len() - 1
            }
            None => 0,
        } as u8;
        let (src, dst) = (self.intern_addr(d.summary.src), self.intern_addr(d.summary.dst));
        self.rows.push(Row {
            ts_ns,
            data,
            len: m.len,
            caplen: bytes.len() as u32,
            src,
            dst,
            linktype: u16::try_from(m.linktype).unwrap_or(u16::MAX),
            protocol,
            in_arena,
        });
        self.infos.push(&d.summary.info);
        for e in &d.events {
            let (links, resolved) = self.correlator.push(e);
            for (j, sid) in resolved {
                let s = self.intern_session(sid);
                if let Some(x) = self.events.get_mut(j) {
                    x.session = Some(s);
                }
            }
            let session = links.session.map(|sid| self.intern_session(sid));
            let first = e.frames.first().map(|f| (*f as usize).saturating_sub(1)).unwrap_or(n).min(n);
            self.events.push(Event {
                frame: n,
                first,
                stream: e.stream,
                from_client: e.from_client,
                kind: e.kind,
                transport: links.transport,
                answers: links.answers.map(|a| a as u32),
                session,
            });
            self.event_texts.push(&e.text);
        }
        if let Some(all) = &mut self.dissections {
            if all.len() < KEEP_DISSECTIONS {
                Arc::make_mut(all).push(d.clone());
            } else {
                self.dissections = None;
            }
        }
    }

    /// Adds a frame captured live, already dissected.
    pub fn push_live(&mut self, bytes: &[u8], d: &Dissection) {
        self.push(bytes, None, d);
    }
}

pub enum Progress {
    Running(f32),
    Done(Box<Result<Loaded, String>>),
}

/// Reading and dissecting a capture on a thread.
pub struct Job {
    progress: Arc<AtomicU32>,
    rx: Receiver<Result<Loaded, String>>,
}

impl Job {
    pub fn start(cap: Arc<Capture>) -> Job {
        let progress = Arc::new(AtomicU32::new(0));
        let (tx, rx) = channel();
        let p = progress.clone();
        std::thread::Builder::new()
            .name("wirelab-load".into())
            .spawn(move || {
                let _ = tx.send(load(cap, &p));
            })
            .ok();
        Job { progress, rx }
    }

    pub fn poll(&self) -> Progress {
        match self.rx.try_recv() {
            Ok(r) => Progress::Done(Box::new(r)),
            Err(TryRecvError::Empty) => Progress::Running(self.progress.load(Ordering::Relaxed) as f32 / 1000.0),
            Err(TryRecvError::Disconnected) => Progress::Done(Box::new(Err("loading stopped unexpectedly".into()))),
        }
    }
}

fn load(cap: Arc<Capture>, progress: &AtomicU32) -> Result<Loaded, String> {
    let mut dis = Dissector::new();
    let mut d = Dissection::default();
    // Small captures keep every dissection (instant details, exact context);
    // big ones re-dissect the selected frame instead, to save memory.
    let mut loaded = Loaded::empty(cap.name().to_string(), Some(cap.clone()), cap.len() <= KEEP_BELOW_BYTES);
    let total = cap.len().max(1) as f64;
    for (n, item) in cap.frames().enumerate() {
        let f = match item {
            Ok(f) => f,
            Err(e) => {
                loaded.damage = Some(e.to_string());
                break;
            }
        };
        if n % 4096 == 0 {
            progress.store((f.file_offset as f64 / total * 1000.0) as u32, Ordering::Relaxed);
        }
        loaded.before_next(&dis);
        dis.dissect(f.meta, &f.data, &mut d);
        loaded.push(&f.data, f.data_offset(&cap), &d);
    }
    // The rows stay for the whole session: no growth slack. The dissector's
    // connection tables are done with; give their memory back to the system.
    loaded.rows.shrink_to_fit();
    loaded.events.shrink_to_fit();
    loaded.arena.shrink_to_fit();
    drop((dis, d));
    release_free_memory();
    progress.store(1000, Ordering::Relaxed);
    Ok(loaded)
}

/// Returns freed heap pages to the system (glibc keeps them otherwise, and
/// a big capture's load frees a lot).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it has
    // no preconditions and touches no memory the program holds.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Filtering on a thread.
pub struct FilterJob {
    rx: Receiver<Vec<usize>>,
}

impl FilterJob {
    pub fn start(loaded: &Loaded, filter: Filter) -> FilterJob {
        let (tx, rx) = channel();
        let kept = loaded.dissections.clone();
        let cap = loaded.cap.clone();
        // What the thread needs to find each frame's bytes: the rows (40
        // bytes each) and the copied bytes, if any; the file is shared.
        let rows = loaded.rows.clone();
        let metas: Vec<FrameMeta> =
            if kept.is_none() { (0..rows.len()).map(|i| loaded.meta(i)).collect() } else { Vec::new() };
        let arena = loaded.arena.clone();
        std::thread::Builder::new()
            .name("wirelab-filter".into())
            .spawn(move || {
                let bytes = |i: usize| rows[i].bytes(&arena, cap.as_deref());
                let visible: Vec<usize> = match kept {
                    Some(all) => (0..all.len()).filter(|&i| filter.matches(&all[i], bytes(i))).collect(),
                    None => {
                        let mut dis = Dissector::new();
                        let mut d = Dissection::default();
                        let mut v = Vec::new();
                        for (i, meta) in metas.iter().enumerate() {
                            let b = bytes(i);
                            dis.dissect(*meta, b, &mut d);
                            if filter.matches(&d, b) {
                                v.push(i);
                            }
                        }
                        v
                    }
                };
                let _ = tx.send(visible);
            })
            .ok();
        FilterJob { rx }
    }

    pub fn poll(&self) -> Option<Vec<usize>> {
        self.rx.try_recv().ok()
    }
}
