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
    /// A live capture's TLS key log as last read (a file's is in `cap`).
    pub tls_keys: Option<Arc<crate::dissect::app::tls::keylog::KeyLog>>,
}

impl Loaded {
    /// An empty capture, that `Part`s from a [`Builder`] are added to: a
    /// file's while it loads, a live capture's as frames come. `keep`: keep
    /// every dissection (small captures), until there are too many.
    pub fn new(name: String, cap: Option<Arc<Capture>>, keep: bool) -> Loaded {
        Loaded {
            name,
            cap,
            rows: Vec::new(),
            arena: Vec::new(),
            addrs: Vec::new(),
            protocols: Vec::new(),
            infos: TextStore::default(),
            t0: None,
            dissections: keep.then(|| Arc::new(Vec::new())),
            checkpoints: Checkpoints::new(CHECKPOINT_EVERY),
            damage: None,
            events: Vec::new(),
            event_texts: TextStore::default(),
            sessions: Vec::new(),
            tls_keys: None,
        }
    }

    /// An empty capture that live frames are added to.
    pub fn live(name: String) -> Loaded {
        Loaded::new(name, None, true)
    }

    /// The TLS secrets this capture is decrypted with: a file's own and the
    /// key logs opened for it, or what a live capture read.
    pub fn keys(&self) -> Option<&crate::dissect::app::tls::keylog::KeyLog> {
        self.cap.as_ref().and_then(|c| c.tls_keys.as_deref()).or(self.tls_keys.as_deref())
    }

    /// Adds what a [`Builder`] made since its last part.
    pub fn append(&mut self, p: Part) {
        self.rows.extend_from_slice(&p.rows);
        self.arena.extend_from_slice(&p.arena);
        self.addrs.extend_from_slice(&p.addrs);
        if !p.protocols.is_empty() {
            self.protocols = p.protocols;
        }
        self.infos.append(p.infos);
        self.events.extend_from_slice(&p.events);
        self.event_texts.append(p.event_texts);
        self.sessions.extend(p.sessions);
        for (j, s) in p.session_of {
            if let Some(e) = self.events.get_mut(j) {
                e.session = Some(s);
            }
        }
        if let Some(c) = p.checkpoints {
            self.checkpoints = c;
        }
        self.t0 = self.t0.or(p.t0);
        if p.damage.is_some() {
            self.damage = p.damage;
        }
        if !p.keep_dissections {
            self.dissections = None;
        } else if let Some(all) = &mut self.dissections
            && !p.dissections.is_empty()
        {
            Arc::make_mut(all).extend(p.dissections);
        }
    }

    /// Gives back the room kept for growth: call when no more parts come.
    pub fn finish(&mut self) {
        self.rows.shrink_to_fit();
        self.events.shrink_to_fit();
        self.arena.shrink_to_fit();
        self.addrs.shrink_to_fit();
        release_free_memory();
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

    /// Heap bytes the checkpoints hold (within `session::CHECKPOINT_BUDGET`).
    pub fn checkpoint_bytes(&self) -> usize {
        self.checkpoints.bytes()
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
}

/// What a [`Builder`] made since its last part, for [`Loaded::append`].
/// Its rows and events come in whole blocks of packed texts (except the
/// last part), so the window's texts are moved, not packed again.
#[derive(Default)]
pub struct Part {
    rows: Vec<Row>,
    arena: Vec<u8>,
    /// Addresses first seen in these rows, in order of their index.
    addrs: Vec<Addr>,
    /// The whole protocol table (it is short).
    protocols: Vec<&'static str>,
    infos: TextStore,
    events: Vec<Event>,
    event_texts: TextStore,
    sessions: Vec<String>,
    /// Events sent in an earlier part whose Engine.IO session is now known.
    session_of: Vec<(usize, u32)>,
    checkpoints: Option<Checkpoints>,
    dissections: Vec<Dissection>,
    keep_dissections: bool,
    t0: Option<i64>,
    damage: Option<String>,
}

/// Turns dissected frames into packet-list rows and messages, on the thread
/// that dissects them (the loading thread for a file; the window's for a
/// live capture), and hands them over in [`Part`]s. It keeps what spans
/// frames: the interning tables, the message correlator, the checkpoints.
pub struct Builder {
    part: Part,
    /// What earlier parts held: `part`'s rows, arena bytes, addresses,
    /// events and sessions are numbered from these.
    rows_sent: usize,
    arena_sent: u64,
    events_sent: usize,
    addr_index: HashMap<Addr, u32>,
    session_index: HashMap<String, u32>,
    protocols: Vec<&'static str>,
    correlator: Correlator,
    checkpoints: Checkpoints,
    /// A checkpoint was kept (or thinned out) since the last part.
    checkpoints_changed: bool,
    t0: Option<i64>,
    keep: bool,
    /// The info column being written (`Summary::push_info`).
    info: String,
}

impl Builder {
    /// `keep`: as for [`Loaded::new`].
    pub fn new(keep: bool) -> Builder {
        Builder {
            part: Part { keep_dissections: keep, ..Part::default() },
            rows_sent: 0,
            arena_sent: 0,
            events_sent: 0,
            addr_index: HashMap::new(),
            session_index: HashMap::new(),
            protocols: Vec::new(),
            correlator: Correlator::default(),
            checkpoints: Checkpoints::new(CHECKPOINT_EVERY),
            checkpoints_changed: false,
            t0: None,
            keep,
            info: String::new(),
        }
    }

    /// Frames pushed so far.
    pub fn frames(&self) -> usize {
        self.rows_sent + self.part.rows.len()
    }

    /// Call with the dissector before it dissects the next frame (the one
    /// `push` will add): keeps a checkpoint when one falls due.
    pub fn before_next(&mut self, dis: &Dissector) {
        let before = self.checkpoints.bytes();
        self.checkpoints.before(self.frames(), dis);
        self.checkpoints_changed |= self.checkpoints.bytes() != before;
    }

    fn intern_session(&mut self, sid: String) -> u32 {
        if let Some(i) = self.session_index.get(&sid) {
            return *i;
        }
        let i = self.session_index.len() as u32;
        self.part.sessions.push(sid.clone());
        self.session_index.insert(sid, i);
        i
    }

    fn intern_addr(&mut self, a: Addr) -> u32 {
        let next = self.addr_index.len() as u32;
        *self.addr_index.entry(a).or_insert_with(|| {
            self.part.addrs.push(a);
            next
        })
    }

    /// Adds a dissected frame; `file_offset` when its bytes can be read in
    /// place from the file, else they are copied.
    pub fn push(&mut self, bytes: &[u8], file_offset: Option<u64>, d: &Dissection) {
        let n = self.frames();
        let m = d.meta;
        let ts_ns = m.ts_sec.saturating_mul(1_000_000_000).saturating_add(i64::from(m.ts_nsec));
        self.t0.get_or_insert(ts_ns);
        let (data, in_arena) = match file_offset {
            Some(o) => (o, false),
            None => {
                self.part.arena.extend_from_slice(bytes);
                (self.arena_sent + (self.part.arena.len() - bytes.len()) as u64, true)
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
        self.part.rows.push(Row {
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
        self.info.clear();
        d.summary.push_info(&mut self.info);
        self.part.infos.push(&self.info);
        for e in &d.events {
            let (links, resolved) = self.correlator.push(e);
            for (j, sid) in resolved {
                let s = self.intern_session(sid);
                match j.checked_sub(self.events_sent) {
                    Some(k) => {
                        if let Some(x) = self.part.events.get_mut(k) {
                            x.session = Some(s);
                        }
                    }
                    None => self.part.session_of.push((j, s)),
                }
            }
            let session = links.session.map(|sid| self.intern_session(sid));
            let first = e.frames.first().map(|f| (*f as usize).saturating_sub(1)).unwrap_or(n).min(n);
            self.part.events.push(Event {
                frame: n,
                first,
                stream: e.stream,
                from_client: e.from_client,
                kind: e.kind,
                transport: links.transport,
                answers: links.answers.map(|a| a as u32),
                session,
            });
            self.part.event_texts.push(&e.text);
        }
        if self.keep {
            if n < KEEP_DISSECTIONS {
                self.part.dissections.push(d.clone());
            } else {
                self.keep = false;
                self.part.keep_dissections = false;
                self.part.dissections = Vec::new();
            }
        }
    }

    /// What was pushed since the last part. `all: false` leaves the rows and
    /// events of a block not yet full for the next part.
    pub fn take(&mut self, all: bool) -> Part {
        let (rows, infos, events, event_texts) = if all {
            (
                std::mem::take(&mut self.part.rows),
                std::mem::take(&mut self.part.infos),
                std::mem::take(&mut self.part.events),
                std::mem::take(&mut self.part.event_texts),
            )
        } else {
            let infos = self.part.infos.take_packed();
            let rest = self.part.rows.split_off(infos.len().min(self.part.rows.len()));
            let rows = std::mem::replace(&mut self.part.rows, rest);
            let event_texts = self.part.event_texts.take_packed();
            let rest = self.part.events.split_off(event_texts.len().min(self.part.events.len()));
            let events = std::mem::replace(&mut self.part.events, rest);
            (rows, infos, events, event_texts)
        };
        self.rows_sent += rows.len();
        self.events_sent += events.len();
        self.arena_sent += self.part.arena.len() as u64;
        let fresh = std::mem::take(&mut self.checkpoints_changed);
        Part {
            rows,
            arena: std::mem::take(&mut self.part.arena),
            addrs: std::mem::take(&mut self.part.addrs),
            protocols: self.protocols.clone(),
            infos,
            events,
            event_texts,
            sessions: std::mem::take(&mut self.part.sessions),
            session_of: std::mem::take(&mut self.part.session_of),
            checkpoints: fresh.then(|| self.checkpoints.clone()),
            dissections: std::mem::take(&mut self.part.dissections),
            keep_dissections: self.part.keep_dissections,
            t0: self.t0,
            damage: self.part.damage.take(),
        }
    }
}

/// What a loading job handed over since the last poll.
pub struct Polled {
    /// How much of the file is read, 0 to 1.
    pub fraction: f32,
    pub parts: Vec<Part>,
    /// No more parts will come; `Err` when the thread stopped unexpectedly.
    pub done: Option<Result<(), String>>,
}

enum Msg {
    Part(Box<Part>),
    Done,
}

/// How often the loading thread hands rows to the window.
const PART_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// Reading and dissecting a capture on a thread, handing its rows over in
/// parts as it goes: the window shows the first ones at once.
pub struct Job {
    progress: Arc<AtomicU32>,
    rx: Receiver<Msg>,
}

impl Job {
    /// Starts loading; the rows go to a `Loaded::new` of the same capture
    /// (`keep`: [`Job::keeps`]).
    pub fn start(cap: Arc<Capture>) -> Job {
        let progress = Arc::new(AtomicU32::new(0));
        let (tx, rx) = channel();
        let p = progress.clone();
        std::thread::Builder::new().name("wirelab-load".into()).spawn(move || load(&cap, &p, &tx)).ok();
        Job { progress, rx }
    }

    /// Whether a capture's dissections are all kept: small captures keep
    /// them (instant details, exact context); big ones dissect the selected
    /// frame again instead, to save memory.
    pub fn keeps(cap: &Capture) -> bool {
        cap.len() <= KEEP_BELOW_BYTES
    }

    pub fn poll(&self) -> Polled {
        let mut parts = Vec::new();
        let done = loop {
            match self.rx.try_recv() {
                Ok(Msg::Part(p)) => parts.push(*p),
                Ok(Msg::Done) => break Some(Ok(())),
                Err(TryRecvError::Empty) => break None,
                Err(TryRecvError::Disconnected) => break Some(Err("loading stopped unexpectedly".to_string())),
            }
        };
        Polled { fraction: self.progress.load(Ordering::Relaxed) as f32 / 1000.0, parts, done }
    }
}

/// The loading thread: dissects every frame, sends a part as soon as the
/// first rows are ready and then every `PART_EVERY`. Stops early when the
/// window no longer listens (another file was opened).
fn load(cap: &Capture, progress: &AtomicU32, tx: &std::sync::mpsc::Sender<Msg>) {
    let mut dis = Dissector::for_capture(cap);
    let mut d = Dissection::default();
    let keep = Job::keeps(cap);
    // The rows need the summary and messages only; kept dissections are
    // shown whole. Frames of a big file are dissected again, with their
    // tree, when selected or filtered.
    dis.set_tree(keep);
    let mut b = Builder::new(keep);
    let total = cap.len().max(1) as f64;
    let mut sent_at: Option<std::time::Instant> = None;
    for (n, item) in cap.frames().enumerate() {
        let f = match item {
            Ok(f) => f,
            Err(e) => {
                b.part.damage = Some(e.to_string());
                break;
            }
        };
        if n % 256 == 0 && n > 0 {
            progress.store((f.file_offset as f64 / total * 1000.0) as u32, Ordering::Relaxed);
            if sent_at.is_none_or(|t| t.elapsed() >= PART_EVERY) {
                if tx.send(Msg::Part(Box::new(b.take(false)))).is_err() {
                    return;
                }
                sent_at = Some(std::time::Instant::now());
            }
        }
        b.before_next(&dis);
        dis.dissect(f.meta, &f.data, &mut d);
        b.push(&f.data, f.data_offset(cap), &d);
    }
    // The dissector's connection tables are done with: free them before
    // the window gives memory back to the system (`Loaded::finish`).
    drop((dis, d));
    let last = b.take(true);
    drop(b);
    progress.store(1000, Ordering::Relaxed);
    let _ = tx.send(Msg::Part(Box::new(last)));
    let _ = tx.send(Msg::Done);
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

/// What a thread needs to dissect frames `start..to` again, in context:
/// the dissector's state before `start` (or every dissection, kept), and
/// where each frame's bytes are (the rows, 40 bytes each; the copied
/// bytes, if any; the file is shared).
struct Frames {
    start: usize,
    kept: Option<Arc<Vec<Dissection>>>,
    dis: Dissector,
    rows: Vec<Row>,
    metas: Vec<FrameMeta>,
    arena: Vec<u8>,
    cap: Option<Arc<Capture>>,
    /// Set when nobody wants the result any more: the thread stops early.
    cancel: Arc<std::sync::atomic::AtomicBool>,
}

impl Frames {
    /// Frames `from..to`: from the saved state nearest before `from`, or
    /// straight from the kept dissections.
    fn of(loaded: &Loaded, from: usize, to: usize) -> Frames {
        let kept = loaded.dissections.clone().filter(|all| all.len() >= to);
        let fresh = || match loaded.cap.as_deref() {
            Some(cap) => Dissector::for_capture(cap),
            None => {
                let mut d = Dissector::new();
                if let Some(k) = &loaded.tls_keys {
                    d.set_tls_keys(k.clone());
                }
                d
            }
        };
        let (start, dis) = match &kept {
            Some(_) => (from, fresh()),
            None => loaded.checkpoints.state_before(from).unwrap_or_else(|| (0, fresh())),
        };
        let mut rows = loaded.rows[start.min(to)..to].to_vec();
        let metas: Vec<FrameMeta> =
            if kept.is_none() { (start..to).map(|i| loaded.meta(i)).collect() } else { Vec::new() };
        // Only these frames' copied bytes (a long live capture holds them all).
        let mut arena = Vec::new();
        for r in rows.iter_mut().filter(|r| r.in_arena) {
            let at = arena.len() as u64;
            arena.extend_from_slice(r.bytes(&loaded.arena, None));
            r.data = at;
        }
        let cancel = Arc::default();
        Frames { start, kept, dis, rows, metas, arena, cap: loaded.cap.clone(), cancel }
    }

    /// Calls `f` with each frame of `from..` and its dissection, in order.
    fn each(mut self, from: usize, mut f: impl FnMut(usize, &Dissection, &[u8])) {
        let cap = self.cap.as_deref();
        let bytes = |i: usize| self.rows[i - self.start].bytes(&self.arena, cap);
        let to = self.start + self.rows.len();
        match &self.kept {
            Some(all) => (from..to).for_each(|i| f(i, &all[i], bytes(i))),
            None => {
                let mut d = Dissection::default();
                for (k, meta) in self.metas.iter().enumerate() {
                    if self.cancel.load(Ordering::Relaxed) {
                        return;
                    }
                    let i = self.start + k;
                    let b = bytes(i);
                    self.dis.dissect(*meta, b, &mut d);
                    if i >= from {
                        f(i, &d, b);
                    }
                }
            }
        }
    }
}

/// Filtering on a thread: the frames from `from` to those loaded when it
/// starts (a capture still loading gets another job for the rest).
pub struct FilterJob {
    rx: Receiver<Filtered>,
}

/// The frames of `from..to` that match, in capture order.
pub struct Filtered {
    pub from: usize,
    pub to: usize,
    pub matching: Vec<usize>,
}

impl FilterJob {
    pub fn start(loaded: &Loaded, filter: Filter, from: usize) -> FilterJob {
        let (tx, rx) = channel();
        let to = loaded.len();
        let from = from.min(to);
        let frames = Frames::of(loaded, from, to);
        std::thread::Builder::new()
            .name("wirelab-filter".into())
            .spawn(move || {
                let mut matching = Vec::new();
                frames.each(from, |i, d, b| {
                    if filter.matches(d, b) {
                        matching.push(i);
                    }
                });
                let _ = tx.send(Filtered { from, to, matching });
            })
            .ok();
        FilterJob { rx }
    }

    /// The result, when it is done; `Err` when the thread ended without one.
    pub fn poll(&self) -> Result<Option<Filtered>, String> {
        match self.rx.try_recv() {
            Ok(f) => Ok(Some(f)),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err("the filter stopped unexpectedly".into()),
        }
    }
}

/// One frame dissected on a thread, in context (from the checkpoint
/// before it): a click on a big capture never makes the window wait.
pub struct DetailJob {
    pub index: usize,
    rx: Receiver<(Dissection, Vec<u8>)>,
    cancel: Arc<std::sync::atomic::AtomicBool>,
}

/// A job dropped (another frame clicked, another capture) stops its thread.
impl Drop for DetailJob {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

impl DetailJob {
    /// The frame, when it is done; `Err` when the thread ended without it.
    pub fn poll(&self) -> Result<Option<(Dissection, Vec<u8>)>, String> {
        match self.rx.try_recv() {
            Ok(d) => Ok(Some(d)),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err(format!("frame {} could not be dissected", self.index + 1)),
        }
    }

    /// Waits for it (tests).
    pub fn wait(&self) -> Option<(Dissection, Vec<u8>)> {
        self.rx.recv().ok()
    }
}

impl Loaded {
    /// The dissection of frame `i` and its bytes: at once when it was
    /// kept, else a job that dissects it again from the nearest checkpoint.
    /// Frame `i`'s packet comments changed: its kept dissection, when the
    /// capture keeps them (a small one), is made again, in the context of
    /// the frames before it. Frames dissected on demand see the change anyway.
    pub fn refresh(&mut self, i: usize) {
        let (Some(all), Some(cap)) = (&self.dissections, self.cap.as_deref()) else { return };
        if i >= all.len() {
            return;
        }
        let mut dis = Dissector::for_capture(cap);
        let mut d = Dissection::default();
        for k in 0..=i {
            dis.dissect(self.meta(k), self.bytes(k), &mut d);
        }
        if let Some(all) = self.dissections.as_mut() {
            Arc::make_mut(all)[i] = d;
        }
    }

    pub fn detail_job(&self, i: usize) -> Result<Option<(Dissection, Vec<u8>)>, DetailJob> {
        if i >= self.len() {
            return Ok(None);
        }
        if let Some(all) = &self.dissections
            && let Some(d) = all.get(i)
        {
            return Ok(Some((d.clone(), self.bytes(i).to_vec())));
        }
        let (tx, rx) = channel();
        let frames = Frames::of(self, i, i + 1);
        let cancel = frames.cancel.clone();
        std::thread::Builder::new()
            .name("wirelab-detail".into())
            .spawn(move || {
                let mut found = None;
                frames.each(i, |_, d, b| found = Some((d.clone(), b.to_vec())));
                if let Some(f) = found {
                    let _ = tx.send(f);
                }
            })
            .ok();
        Err(DetailJob { index: i, rx, cancel })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A capture loaded in many small parts reads as the same capture loaded
    /// in one: rows, texts, addresses, messages with their answers and
    /// Engine.IO sessions (found after some of their messages were sent).
    #[test]
    fn parts_add_up_to_the_whole_capture() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/captures/socketio-node.pcap");
        let cap = Arc::new(Capture::open(std::path::Path::new(path)).expect("bundled capture"));
        // `all`: each part takes everything pushed (a live capture's parts),
        // else only whole blocks of texts (a file's).
        let load = |every: usize, all: bool| {
            let mut loaded = Loaded::new("t".into(), Some(cap.clone()), false);
            let (mut dis, mut d, mut b) = (Dissector::new(), Dissection::default(), Builder::new(false));
            for (n, f) in cap.frames().enumerate() {
                let f = f.expect("frame");
                if n % every == every - 1 {
                    loaded.append(b.take(all));
                }
                b.before_next(&dis);
                dis.dissect(f.meta, &f.data, &mut d);
                b.push(&f.data, f.data_offset(&cap), &d);
            }
            loaded.append(b.take(true));
            loaded
        };
        let whole = load(usize::MAX, true);
        assert!(whole.len() > 256 && !whole.events.is_empty(), "{} frames", whole.len());
        assert!(!whole.sessions.is_empty(), "the capture has Engine.IO sessions");
        for parts in [load(7, false), load(7, true), load(300, false)] {
            same(&parts, &whole);
        }
    }

    /// The loading thread hands the first 256 rows over before it reads
    /// on, then more parts, then says it is done: a window shows rows long
    /// before a big file is read (whatever the two threads' timing).
    #[test]
    fn the_first_rows_come_in_a_part_of_their_own_before_the_rest() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/captures/socketio-node.pcap");
        let cap = Arc::new(Capture::open(std::path::Path::new(path)).expect("bundled capture"));
        let job = Job::start(cap.clone());
        let mut sizes = Vec::new();
        let wait = std::time::Duration::from_secs(120);
        while let Msg::Part(p) = job.rx.recv_timeout(wait).expect("the loading thread answers") {
            sizes.push(p.rows.len());
        }
        assert_eq!(sizes.first(), Some(&256), "parts: {sizes:?}");
        assert_eq!(sizes.iter().sum::<usize>(), cap.frames().count(), "parts: {sizes:?}");
    }

    fn same(parts: &Loaded, whole: &Loaded) {
        assert_eq!(parts.len(), whole.len());
        for i in 0..whole.len() {
            assert_eq!(
                (parts.src(i), parts.dst(i), parts.protocol(i), parts.info(i), parts.bytes(i)),
                (whole.src(i), whole.dst(i), whole.protocol(i), whole.info(i), whole.bytes(i)),
                "frame {i}"
            );
        }
        assert_eq!(parts.events.len(), whole.events.len());
        for (k, (a, b)) in parts.events.iter().zip(&whole.events).enumerate() {
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "message {k}");
            assert_eq!(parts.event_text(k), whole.event_text(k), "message {k}");
        }
        assert_eq!(parts.sessions, whole.sessions);
        assert!(whole.events.iter().any(|e| e.session.is_some()), "messages carry their sessions");
    }
}
