//! Capture files: pcap (micro- and nanosecond, either byte order) and pcapng
//! (any number of interfaces and link types), read through `pcap-file` over a
//! memory map so a capture is never held in memory twice; pcap written for
//! Wireshark.
//!
//! A damaged file is read up to its last complete record; then the iterator
//! yields one [`FileError`] saying at which byte offset it is damaged.

mod write;

pub use write::{FrameOut, PcapFileWriter, write_capture};

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use pcap_file::pcap::PcapParser;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
use pcap_file::pcapng::{Block, PcapNgParser, blocks::interface_description::InterfaceDescriptionOption};
use pcap_file::{Endianness, PcapError, TsResolution};

use crate::dissect::app::tls::keylog::KeyLog;
use crate::model::FrameMeta;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot open {path}: {err}")]
    Open { path: String, err: std::io::Error },
    #[error("{path} is empty: there is nothing to read (was the capture stopped before it wrote its header?)")]
    Empty { path: String },
    #[error(
        "{path} is not a pcap or pcapng capture (it starts with {magic}); open a .pcap or .pcapng file, \
such as those saved by wirelab, tshark or Wireshark"
    )]
    NotACapture { path: String, magic: String },
    #[error("{path} has a damaged file header: {reason}")]
    BadHeader { path: String, reason: String },
    #[error(
        "the file is cut short at byte offset {offset}: the record of frame {frame} needs {needed} more bytes \
than the file has. The {complete} frames before it are intact (the capture was probably stopped while writing)"
    )]
    Truncated { offset: u64, frame: u64, needed: String, complete: u64 },
    #[error(
        "the file is damaged at byte offset {offset} (frame {frame}): {reason}. The {complete} frames before it are intact"
    )]
    Damaged { offset: u64, frame: u64, reason: String, complete: u64 },
}

/// The container format of a capture file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Pcap { nanosecond: bool, big_endian: bool },
    PcapNg,
}

enum Bytes {
    Map(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Bytes {
    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Map(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

/// An opened capture file.
pub struct Capture {
    bytes: Bytes,
    name: String,
    pub format: Format,
    /// TLS secrets for this capture: from its pcapng Decryption Secrets
    /// Blocks, and any key log added with [`Capture::add_key_log`].
    pub tls_keys: Option<Arc<KeyLog>>,
    /// Packet comments: those of the file's pcapng packet blocks, and those
    /// added since (shared with every dissector of this capture).
    pub comments: Comments,
}

/// Packet comments by frame number (pcapng's `opt_comment`, Wireshark's
/// `frame.comment`). Shared and changeable: a comment added in the window
/// is seen by the next dissection of its frame.
#[derive(Clone, Debug, Default)]
pub struct Comments {
    map: Arc<std::sync::RwLock<std::collections::BTreeMap<u64, Vec<String>>>>,
    /// Any comment at all: frames of a capture without any pay no lock.
    any: Arc<std::sync::atomic::AtomicBool>,
}

/// A comment longer than this is cut (a pcapng option holds at most 65,535 bytes).
pub const MAX_COMMENT_BYTES: usize = 65_535;

impl Comments {
    /// The comments of frame `number` (from 1).
    pub fn get(&self, number: u64) -> Vec<String> {
        if !self.any.load(std::sync::atomic::Ordering::Acquire) {
            return Vec::new();
        }
        self.map.read().map(|m| m.get(&number).cloned().unwrap_or_default()).unwrap_or_default()
    }

    /// Sets frame `number`'s comments (none: removes them). Each is cut to
    /// [`MAX_COMMENT_BYTES`] on a character boundary; blank ones are dropped.
    pub fn set(&self, number: u64, comments: Vec<String>) {
        let comments: Vec<String> = comments
            .into_iter()
            .map(|c| {
                let mut end = c.len().min(MAX_COMMENT_BYTES);
                while !c.is_char_boundary(end) {
                    end -= 1;
                }
                c[..end].to_string()
            })
            .filter(|c| !c.trim().is_empty())
            .collect();
        if let Ok(mut m) = self.map.write() {
            if comments.is_empty() {
                m.remove(&number);
            } else {
                m.insert(number, comments);
            }
            self.any.store(!m.is_empty(), std::sync::atomic::Ordering::Release);
        }
    }

    /// Frame `number` has a comment.
    pub fn has(&self, number: u64) -> bool {
        !self.is_empty() && self.map.read().is_ok_and(|m| m.contains_key(&number))
    }

    /// Every commented frame, in order.
    pub fn all(&self) -> std::collections::BTreeMap<u64, Vec<String>> {
        self.map.read().map(|m| m.clone()).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        !self.any.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// One frame as stored in the file.
#[derive(Debug)]
pub struct Frame<'a> {
    pub meta: FrameMeta,
    pub data: Cow<'a, [u8]>,
    /// Byte offset of the frame's record in the file.
    pub file_offset: u64,
    /// Its packet comments (pcapng enhanced packet blocks only).
    pub comments: Vec<String>,
}

impl Frame<'_> {
    /// Where the frame's bytes start in the file, when they are read in place.
    pub fn data_offset(&self, capture: &Capture) -> Option<u64> {
        match &self.data {
            Cow::Borrowed(b) => {
                let all = capture.bytes.as_slice();
                let off = (b.as_ptr() as usize).checked_sub(all.as_ptr() as usize)?;
                (off + b.len() <= all.len()).then_some(off as u64)
            }
            Cow::Owned(_) => None,
        }
    }
}

const PCAP_MAGICS: [[u8; 4]; 4] =
    [[0xd4, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0xc3, 0xd4], [0x4d, 0x3c, 0xb2, 0xa1], [0xa1, 0xb2, 0x3c, 0x4d]];
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

impl Capture {
    /// Opens a capture file (memory-mapped).
    pub fn open(path: &Path) -> Result<Capture, FileError> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|err| FileError::Open { path: name.clone(), err })?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let bytes = if len == 0 {
            Bytes::Owned(Vec::new())
        } else {
            // SAFETY: the map is read-only; if another process truncates the
            // file while we read it we may fault, which is the documented
            // risk of memory-mapping (we accept it for captures we opened).
            match unsafe { memmap2::Mmap::map(&file) } {
                Ok(m) => Bytes::Map(m),
                Err(_) => Bytes::Owned(std::fs::read(path).map_err(|err| FileError::Open { path: name.clone(), err })?),
            }
        };
        Self::from_bytes_inner(bytes, name)
    }

    /// A capture held in memory (tests, bundled captures).
    pub fn from_bytes(bytes: Vec<u8>, name: &str) -> Result<Capture, FileError> {
        Self::from_bytes_inner(Bytes::Owned(bytes), name.to_string())
    }

    fn from_bytes_inner(bytes: Bytes, name: String) -> Result<Capture, FileError> {
        let b = bytes.as_slice();
        if b.is_empty() {
            return Err(FileError::Empty { path: name });
        }
        let magic: [u8; 4] = match b.get(..4).and_then(|m| m.try_into().ok()) {
            Some(m) => m,
            None => {
                return Err(FileError::NotACapture { path: name, magic: crate::model::hex(b) });
            }
        };
        let format = if magic == PCAPNG_MAGIC {
            PcapNgParser::new(b).map_err(|e| header_error(&name, e))?;
            Format::PcapNg
        } else if PCAP_MAGICS.contains(&magic) {
            let (_, p) = PcapParser::new(b).map_err(|e| header_error(&name, e))?;
            let h = p.header();
            Format::Pcap {
                nanosecond: h.ts_resolution == TsResolution::NanoSecond,
                big_endian: h.endianness == Endianness::Big,
            }
        } else {
            return Err(FileError::NotACapture { path: name, magic: format!("0x{}", crate::model::hex(&magic)) });
        };
        let tls_keys = match format {
            Format::PcapNg => secrets_blocks(bytes.as_slice()).map(Arc::new),
            Format::Pcap { .. } => None,
        };
        let cap = Capture { bytes, name, format, tls_keys, comments: Comments::default() };
        if format == Format::PcapNg {
            // One quick pass for the packet comments, which the dissection
            // of any frame, in any order, shows.
            let found: Vec<(u64, Vec<String>)> = cap
                .frames()
                .map_while(Result::ok)
                .filter(|f| !f.comments.is_empty())
                .map(|f| (f.meta.number, f.comments))
                .collect();
            for (n, c) in found {
                cap.comments.set(n, c);
            }
        }
        Ok(cap)
    }

    /// Adds a TLS key log (the NSS format: `SSLKEYLOGFILE`) to the secrets
    /// this capture is dissected with.
    pub fn add_key_log(&mut self, path: &Path) -> Result<(), String> {
        let mut log = KeyLog::load(path)?;
        if let Some(mine) = &self.tls_keys {
            let mut merged = (**mine).clone();
            merged.merge(log);
            log = merged;
        }
        self.tls_keys = Some(Arc::new(log));
        Ok(())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Size of the file in bytes.
    pub fn len(&self) -> u64 {
        self.bytes.as_slice().len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of a frame whose data starts at `offset` in the file (see
    /// [`Frame::data_offset`]): frames can be read again without copies.
    pub fn bytes_at(&self, offset: u64, len: u32) -> &[u8] {
        let all = self.bytes.as_slice();
        let start = (offset as usize).min(all.len());
        let end = start.saturating_add(len as usize).min(all.len());
        &all[start..end]
    }

    /// Iterates over the frames; a damaged file ends with one `Err`.
    pub fn frames(&self) -> Frames<'_> {
        let all = self.bytes.as_slice();
        let inner = match self.format {
            Format::Pcap { .. } => match PcapParser::new(all) {
                Ok((rest, p)) => Inner::Pcap(p, rest),
                Err(_) => Inner::Done,
            },
            Format::PcapNg => match PcapNgParser::new(all) {
                Ok((rest, p)) => Inner::PcapNg(Box::new(NgState { parser: p, tsresol: Vec::new() }), rest),
                Err(_) => Inner::Done,
            },
        };
        let big_endian = match self.format {
            Format::Pcap { big_endian, .. } => big_endian,
            Format::PcapNg => all.get(8..12) == Some(&[0x1a, 0x2b, 0x3c, 0x4d][..]),
        };
        let map = match &self.bytes {
            Bytes::Map(m) => Some(m),
            Bytes::Owned(_) => None,
        };
        Frames { all, big_endian, inner, number: 0, map, mapped_to: 0 }
    }
}

/// How far ahead of the reader `Frames` asks the kernel to map the file.
const READ_AHEAD: usize = 8 << 20;

fn header_error(path: &str, e: PcapError) -> FileError {
    let reason = match e {
        PcapError::IncompleteBuffer => "the file ends inside its header".to_string(),
        other => other.to_string(),
    };
    FileError::BadHeader { path: path.to_string(), reason }
}

struct NgState {
    parser: PcapNgParser,
    /// Per interface: (link type, units per second of its timestamps).
    tsresol: Vec<(u32, u64)>,
}

enum Inner<'a> {
    Pcap(PcapParser, &'a [u8]),
    PcapNg(Box<NgState>, &'a [u8]),
    Done,
}

pub struct Frames<'a> {
    all: &'a [u8],
    big_endian: bool,
    inner: Inner<'a>,
    number: u64,
    /// The memory map, while asking the kernel to map ahead still works.
    map: Option<&'a memmap2::Mmap>,
    /// The file's bytes before this offset were asked for already.
    mapped_to: usize,
}

impl<'a> Frames<'a> {
    /// Asks the kernel to map the file's next few megabytes in one go.
    /// Without it a reader pays one page fault per 4 KiB page once the
    /// process has a second thread (the kernel then maps no pages around
    /// the one that faulted); with it, `dissect`'s pipeline makes 10 times
    /// fewer faults. Best effort: on kernels before 5.14 it stops asking.
    fn map_ahead(&mut self, rest: &[u8]) {
        let at = self.all.len() - rest.len();
        let Some(map) = self.map else { return };
        if at + READ_AHEAD / 2 < self.mapped_to || self.mapped_to >= self.all.len() {
            return;
        }
        let from = self.mapped_to.max(at) & !0xfff;
        let len = READ_AHEAD.min(self.all.len() - from);
        #[cfg(target_os = "linux")]
        if map.advise_range(memmap2::Advice::PopulateRead, from, len).is_err() {
            self.map = None;
        }
        #[cfg(not(target_os = "linux"))]
        let _ = map;
        self.mapped_to = from + len;
    }

    fn offset_of(&self, rest: &[u8]) -> u64 {
        (self.all.len() - rest.len()) as u64
    }

    fn fail(&mut self, rest: &'a [u8], e: PcapError, record_header: usize) -> FileError {
        let offset = self.offset_of(rest);
        let frame = self.number + 1;
        let complete = self.number;
        self.inner = Inner::Done;
        match e {
            PcapError::IncompleteBuffer => {
                let needed = if rest.len() < record_header {
                    format!(
                        "{} (a record header is {record_header} bytes, {} remain)",
                        record_header - rest.len(),
                        rest.len()
                    )
                } else {
                    // The record's own length field says how long it is.
                    let at = if record_header == 16 { 8 } else { 4 };
                    let raw: [u8; 4] = rest[at..at + 4].try_into().unwrap_or_default();
                    let len = if self.big_endian { u32::from_be_bytes(raw) } else { u32::from_le_bytes(raw) } as usize;
                    let total = if record_header == 16 { len + 16 } else { len };
                    format!("{} (the record is {total} bytes, {} remain)", total.saturating_sub(rest.len()), rest.len())
                };
                FileError::Truncated { offset, frame, needed, complete }
            }
            other => FileError::Damaged { offset, frame, reason: other.to_string(), complete },
        }
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, FileError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Inner::Pcap(_, rest) | Inner::PcapNg(_, rest) = &self.inner {
                self.map_ahead(rest);
            }
            match &mut self.inner {
                Inner::Done => return None,
                Inner::Pcap(p, rest) => {
                    let rest = *rest;
                    if rest.is_empty() {
                        self.inner = Inner::Done;
                        return None;
                    }
                    let h = p.header();
                    let linktype = u32::from(h.datalink);
                    let nano = h.ts_resolution == TsResolution::NanoSecond;
                    match p.next_raw_packet(rest) {
                        Ok((next, raw)) => {
                            let file_offset = self.offset_of(rest);
                            self.inner = match std::mem::replace(&mut self.inner, Inner::Done) {
                                Inner::Pcap(p, _) => Inner::Pcap(p, next),
                                other => other,
                            };
                            self.number += 1;
                            let ts_nsec = if nano { raw.ts_frac } else { raw.ts_frac.saturating_mul(1000) };
                            let caplen = raw.data.len() as u32;
                            let meta = FrameMeta {
                                number: self.number,
                                ts_sec: i64::from(raw.ts_sec),
                                ts_nsec: ts_nsec.min(999_999_999),
                                len: raw.orig_len.max(caplen),
                                caplen,
                                linktype,
                            };
                            return Some(Ok(Frame { meta, data: raw.data, file_offset, comments: Vec::new() }));
                        }
                        Err(e) => return Some(Err(self.fail(rest, e, 16))),
                    }
                }
                Inner::PcapNg(st, rest) => {
                    let rest = *rest;
                    if rest.is_empty() {
                        self.inner = Inner::Done;
                        return None;
                    }
                    let res = st.parser.next_block(rest);
                    let (next, block) = match res {
                        Ok(x) => x,
                        Err(e) => return Some(Err(self.fail(rest, e, 12))),
                    };
                    let file_offset = self.offset_of(rest);
                    let Inner::PcapNg(st, r) = &mut self.inner else {
                        return None;
                    };
                    *r = next;
                    match block {
                        Block::SectionHeader(_) => st.tsresol.clear(),
                        Block::InterfaceDescription(idb) => {
                            let mut per_sec = 1_000_000u64;
                            for o in &idb.options {
                                if let InterfaceDescriptionOption::IfTsResol(r) = o {
                                    per_sec = if r & 0x80 == 0 {
                                        10u64.checked_pow(u32::from(*r)).unwrap_or(1_000_000_000)
                                    } else {
                                        1u64.checked_shl(u32::from(r & 0x7f)).unwrap_or(1 << 30)
                                    };
                                }
                            }
                            st.tsresol.push((u32::from(idb.linktype), per_sec.max(1)));
                        }
                        Block::EnhancedPacket(epb) => {
                            let Some(&(linktype, per_sec)) = st.tsresol.get(epb.interface_id as usize) else {
                                let frame = self.number + 1;
                                let complete = self.number;
                                self.inner = Inner::Done;
                                return Some(Err(FileError::Damaged {
                                    offset: file_offset,
                                    frame,
                                    reason: format!(
                                        "the packet names interface {} but no such interface was described",
                                        epb.interface_id
                                    ),
                                    complete,
                                }));
                            };
                            // pcap-file reads the raw 64-bit count as nanoseconds;
                            // rescale by the interface's own resolution.
                            let units = epb.timestamp.as_nanos() as u64;
                            let ts_sec = (units / per_sec) as i64;
                            let ts_nsec = ((units % per_sec) as u128 * 1_000_000_000 / per_sec as u128) as u32;
                            self.number += 1;
                            let caplen = epb.data.len() as u32;
                            let meta = FrameMeta {
                                number: self.number,
                                ts_sec,
                                ts_nsec,
                                len: epb.original_len.max(caplen),
                                caplen,
                                linktype,
                            };
                            let comments = epb
                                .options
                                .iter()
                                .filter_map(|o| match o {
                                    EnhancedPacketOption::Comment(c) => Some(c.to_string()),
                                    _ => None,
                                })
                                .collect();
                            return Some(Ok(Frame { meta, data: epb.data, file_offset, comments }));
                        }
                        Block::SimplePacket(spb) => {
                            let linktype = st.tsresol.first().map(|t| t.0).unwrap_or(1);
                            self.number += 1;
                            let caplen = spb.data.len() as u32;
                            let meta = FrameMeta {
                                number: self.number,
                                ts_sec: 0,
                                ts_nsec: 0,
                                len: spb.original_len.max(caplen),
                                caplen,
                                linktype,
                            };
                            return Some(Ok(Frame { meta, data: spb.data, file_offset, comments: Vec::new() }));
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

/// pcapng's Decryption Secrets Block, and its secrets type for a TLS key log ("TLSK").
const DECRYPTION_SECRETS_BLOCK: u32 = 0x0000_000a;
const SECRETS_TLS_KEY_LOG: u32 = 0x544c_534b;

/// A file made new at `path`, for this user alone: an existing file or
/// symbolic link there is an error, never opened.
pub fn new_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

/// Writes a file whole and private (mode 0600): to a new temporary name
/// beside it, then renamed into place, so a reader never sees half of it
/// and two writers never mix theirs.
pub fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_file_name(format!(".{name}.{}.{seq}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut f = new_private_file(&tmp)?;
    let written = f.write_all(bytes).and_then(|_| f.sync_all()).and_then(|_| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The TLS key log text of a pcapng's Decryption Secrets Blocks (block type
/// 0x0000000A, secrets type "TLSK", as `editcap --inject-secrets tls,KEYS`
/// writes them), read by walking the blocks' headers. `None` when there
/// are none.
fn secrets_blocks(b: &[u8]) -> Option<KeyLog> {
    const SHB: u32 = 0x0a0d_0d0a;
    let mut log: Option<KeyLog> = None;
    let mut at = 0usize;
    let mut le = true;
    let u32_at = |at: usize, le: bool| -> Option<u32> {
        let w: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if le { u32::from_le_bytes(w) } else { u32::from_be_bytes(w) })
    };
    while at + 12 <= b.len() {
        if u32_at(at, true) == Some(SHB) {
            // The byte-order magic says how this section's numbers are written.
            le = u32_at(at + 8, true) == Some(0x1a2b_3c4d);
        }
        let ty = u32_at(at, le)?;
        let len = u32_at(at + 4, le)? as usize;
        if len < 12 || at + len > b.len() {
            break;
        }
        if ty == DECRYPTION_SECRETS_BLOCK && len >= 20 && u32_at(at + 8, le) == Some(SECRETS_TLS_KEY_LOG) {
            let n = u32_at(at + 12, le)? as usize;
            if let Some(text) = b.get(at + 16..at + 16 + n) {
                let l = log.get_or_insert_with(|| {
                    let mut l = KeyLog::default();
                    l.origin = "the capture's Decryption Secrets Block".into();
                    l
                });
                l.add(&String::from_utf8_lossy(text));
            }
        }
        at += len;
    }
    log.filter(|l| !l.is_empty())
}
