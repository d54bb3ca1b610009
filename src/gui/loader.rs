//! Background work: reading and dissecting a capture, and filtering it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, channel};

use crate::dissect::Dissector;
use crate::file::Capture;
use crate::filter::Filter;
use crate::model::{Addr, Dissection, FrameMeta, Value};

/// Up to this many frames, every dissection is kept for the detail views;
/// beyond it, a frame is dissected again when selected.
pub const KEEP_DISSECTIONS: usize = 100_000;
/// Files larger than this never keep dissections.
pub const KEEP_BELOW_BYTES: u64 = 16 << 20;

/// One packet-list row.
#[derive(Clone, Debug)]
pub struct Row {
    pub meta: FrameMeta,
    pub rel_time: f64,
    pub src: Addr,
    pub dst: Addr,
    pub protocol: &'static str,
    pub info: String,
    /// Where the frame's bytes are in the file, when read in place.
    data_offset: Option<u64>,
    /// Otherwise, an index into `Loaded::owned`.
    owned: Option<u32>,
}

/// A capture, read and dissected.
pub struct Loaded {
    pub name: String,
    /// The file, or `None` for a live capture (its bytes are in `owned`).
    pub cap: Option<Arc<Capture>>,
    pub rows: Vec<Row>,
    owned: Vec<Vec<u8>>,
    dissections: Option<Arc<Vec<Dissection>>>,
    /// A damaged file: the error after the last complete frame.
    pub damage: Option<String>,
    /// Application events (handshakes, messages, Socket.IO packets) with the
    /// index of the frame that completed each.
    pub events: Vec<(usize, crate::model::AppEvent)>,
}

impl Loaded {
    pub fn bytes(&self, i: usize) -> &[u8] {
        let Some(r) = self.rows.get(i) else { return &[] };
        match (r.data_offset, r.owned) {
            (Some(o), _) => self.cap.as_ref().map(|c| c.bytes_at(o, r.meta.caplen)).unwrap_or(&[]),
            (None, Some(k)) => self.owned.get(k as usize).map(Vec::as_slice).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// The dissection of frame `i`, its bytes, and whether it had the
    /// context of the frames before it.
    pub fn detail(&self, i: usize) -> Option<(Dissection, Vec<u8>, bool)> {
        let bytes = self.bytes(i).to_vec();
        if let Some(all) = &self.dissections {
            return all.get(i).map(|d| (d.clone(), bytes, true));
        }
        let mut d = Dissection::default();
        Dissector::new().dissect(self.rows.get(i)?.meta, &bytes, &mut d);
        Some((d, bytes, false))
    }
}

pub enum Progress {
    Running(f32),
    Done(Result<Loaded, String>),
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
            Ok(r) => Progress::Done(r),
            Err(TryRecvError::Empty) => Progress::Running(self.progress.load(Ordering::Relaxed) as f32 / 1000.0),
            Err(TryRecvError::Disconnected) => Progress::Done(Err("loading stopped unexpectedly".into())),
        }
    }
}

fn load(cap: Arc<Capture>, progress: &AtomicU32) -> Result<Loaded, String> {
    let mut dis = Dissector::new();
    let mut d = Dissection::default();
    let mut rows = Vec::new();
    let mut owned = Vec::new();
    // Small captures keep every dissection (instant details, exact context);
    // big ones re-dissect the selected frame instead, to save memory.
    let mut kept: Option<Vec<Dissection>> = (cap.len() <= KEEP_BELOW_BYTES).then(Vec::new);
    let mut damage = None;
    let mut events = Vec::new();
    let total = cap.len().max(1) as f64;
    for (n, item) in cap.frames().enumerate() {
        let f = match item {
            Ok(f) => f,
            Err(e) => {
                damage = Some(e.to_string());
                break;
            }
        };
        if n % 4096 == 0 {
            progress.store((f.file_offset as f64 / total * 1000.0) as u32, Ordering::Relaxed);
        }
        dis.dissect(f.meta, &f.data, &mut d);
        events.extend(d.events.iter().map(|e| (n, e.clone())));
        let rel_time = match d.field("frame.time_relative").map(|x| x.value) {
            Some(Value::F(t)) => t,
            _ => 0.0,
        };
        let data_offset = f.data_offset(&cap);
        let own = if data_offset.is_none() {
            owned.push(f.data.to_vec());
            Some(owned.len() as u32 - 1)
        } else {
            None
        };
        rows.push(Row {
            meta: f.meta,
            rel_time,
            src: d.summary.src,
            dst: d.summary.dst,
            protocol: d.summary.protocol,
            info: d.summary.info.clone(),
            data_offset,
            owned: own,
        });
        if let Some(k) = &mut kept {
            if k.len() < KEEP_DISSECTIONS {
                k.push(d.clone());
            } else {
                kept = None;
            }
        }
    }
    progress.store(1000, Ordering::Relaxed);
    Ok(Loaded {
        name: cap.name().to_string(),
        cap: Some(cap),
        rows,
        owned,
        dissections: kept.map(Arc::new),
        damage,
        events,
    })
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
        let empty: &[u8] = &[];
        let _ = empty;
        let rows: Vec<(FrameMeta, Option<u64>, Option<Vec<u8>>)> = (0..loaded.rows.len())
            .map(|i| {
                (
                    loaded.rows[i].meta,
                    loaded.rows[i].data_offset,
                    loaded.rows[i].owned.map(|k| loaded.owned[k as usize].clone()),
                )
            })
            .collect();
        std::thread::Builder::new()
            .name("wirelab-filter".into())
            .spawn(move || {
                let bytes = |i: usize| -> &[u8] {
                    match &rows[i] {
                        (meta, Some(o), _) => cap.as_ref().map(|c| c.bytes_at(*o, meta.caplen)).unwrap_or(&[]),
                        (_, None, Some(o)) => o,
                        _ => &[],
                    }
                };
                let visible: Vec<usize> = match kept {
                    Some(all) => (0..all.len()).filter(|&i| filter.matches(&all[i], bytes(i))).collect(),
                    None => {
                        let mut dis = Dissector::new();
                        let mut d = Dissection::default();
                        let mut v = Vec::new();
                        for (i, row) in rows.iter().enumerate() {
                            let b = bytes(i);
                            dis.dissect(row.0, b, &mut d);
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

impl Loaded {
    /// An empty capture that live frames are added to.
    pub fn live(name: String) -> Loaded {
        Loaded {
            name,
            cap: None,
            rows: Vec::new(),
            owned: Vec::new(),
            dissections: Some(Arc::new(Vec::new())),
            damage: None,
            events: Vec::new(),
        }
    }

    /// Adds a frame captured live, already dissected.
    pub fn push_live(&mut self, bytes: &[u8], d: &Dissection) {
        let n = self.rows.len();
        let rel_time = match d.field("frame.time_relative").map(|x| x.value) {
            Some(Value::F(t)) => t,
            _ => 0.0,
        };
        self.owned.push(bytes.to_vec());
        self.rows.push(Row {
            meta: d.meta,
            rel_time,
            src: d.summary.src,
            dst: d.summary.dst,
            protocol: d.summary.protocol,
            info: d.summary.info.clone(),
            data_offset: None,
            owned: Some(self.owned.len() as u32 - 1),
        });
        self.events.extend(d.events.iter().map(|e| (n, e.clone())));
        if let Some(all) = &mut self.dissections {
            if all.len() < KEEP_DISSECTIONS {
                Arc::make_mut(all).push(d.clone());
            } else {
                self.dissections = None;
            }
        }
    }
}
