//! Dissectors: bytes in, a [`Dissection`] out. Never fails, never panics: on
//! bad input each dissector records what it could read and a [`Note`] saying
//! where and why it stopped.
//!
//! Each protocol module declares its fields as data (`fields!`), its header
//! layout as byte ranges (`mod field`), and one `dissect` function that
//! places fields at offsets. Parsing and validation of the headers is done
//! with `etherparse`; our tables only give the spans.

pub mod app;
pub mod arp;
pub mod checksum;
pub mod conv;
pub mod data;
pub mod frame;
pub mod icmp;
pub mod ip;
pub mod ipv6;
pub mod link;
pub mod linktype;
pub mod tcp;
pub mod udp;

#[cfg(test)]
mod tests;

use std::borrow::Cow;

use crate::model::{
    Addr, AppEvent, Dissection, Field, FieldDef, FrameMeta, LayerNode, MsgKind, Note, NoteDef, Protocol, SourceId,
    Span, Value,
};

pub use conv::Conversations;

/// All field definitions of every protocol, for display filters and the GUI.
pub fn all_fields() -> impl Iterator<Item = &'static FieldDef> {
    [
        frame::ALL,
        link::eth::ALL,
        link::sll::ALL,
        link::null::ALL,
        link::vlan::ALL,
        arp::ALL,
        ip::ALL,
        ipv6::ALL,
        icmp::v4::ALL,
        icmp::v6::ALL,
        tcp::ALL,
        udp::ALL,
        data::ALL,
        app::ALL,
        app::http::ALL,
        app::tls::ALL,
        app::websocket::ALL,
        app::demo::ALL,
        app::resp::ALL,
        app::adapter::ALL,
        app::engineio::ALL,
        app::engineio::sio::ALL,
    ]
    .into_iter()
    .flat_map(|s| s.iter().copied())
}

/// All note (expert info) definitions of every protocol.
pub fn all_notes() -> impl Iterator<Item = &'static NoteDef> {
    // Each protocol module lists its own in `ALL_NOTES` (the `notes!` macro).
    [
        frame::ALL_NOTES,
        link::eth::ALL_NOTES,
        link::sll::ALL_NOTES,
        link::null::ALL_NOTES,
        link::vlan::ALL_NOTES,
        arp::ALL_NOTES,
        ip::ALL_NOTES,
        ipv6::ALL_NOTES,
        icmp::v4::ALL_NOTES,
        icmp::v6::ALL_NOTES,
        tcp::ALL_NOTES,
        udp::ALL_NOTES,
        app::ALL_NOTES,
        app::http::ALL_NOTES,
        app::tls::ALL_NOTES,
        app::websocket::ALL_NOTES,
        app::demo::ALL_NOTES,
        app::resp::ALL_NOTES,
        app::adapter::ALL_NOTES,
        app::engineio::ALL_NOTES,
        app::engineio::sio::ALL_NOTES,
    ]
    .into_iter()
    .flat_map(|s| s.iter().copied())
}

/// Dissects frames in capture order, keeping the state that spans frames
/// (TCP and UDP conversations, the time of the first frame). `Clone`: a
/// clone is a checkpoint (`session::Checkpoints`).
#[derive(Clone, Default)]
pub struct Dissector {
    conv: Conversations,
    apps: app::Apps,
    clock: Clock,
    /// Build no protocol tree (see `set_tree`).
    no_tree: bool,
    /// The capture's packet comments (`frame.comment`).
    comments: crate::file::Comments,
}

/// The times a frame is shown against: the capture's first frame's and the
/// previous frame's (seconds, nanoseconds).
#[derive(Clone, Copy, Debug, Default)]
pub struct Times {
    pub first: (i64, u32),
    pub prev: (i64, u32),
}

/// Counts [`Times`] off the frames of a capture, in order.
#[derive(Clone, Copy, Debug, Default)]
pub struct Clock {
    first: Option<(i64, u32)>,
    prev: Option<(i64, u32)>,
}

impl Clock {
    /// The times of `meta`'s frame, the next one of the capture.
    pub fn tick(&mut self, meta: &FrameMeta) -> Times {
        let now = (meta.ts_sec, meta.ts_nsec);
        let first = *self.first.get_or_insert(now);
        let prev = self.prev.replace(now).unwrap_or(first);
        Times { first, prev }
    }
}

impl Dissector {
    pub fn new() -> Self {
        Self::default()
    }

    /// With `false`, frames are dissected for their summary, messages and
    /// conversations only: the protocol layers are recorded but not their
    /// fields (save `frame.time_relative`, the summary line's time), nor
    /// notes, and checksums are not verified. Summary lines, `--stats`
    /// and the window's first pass over a big file need no more; filters,
    /// `-V`, JSON and labs do. The same state either way, so a checkpoint
    /// taken without the tree dissects on with it.
    pub fn set_tree(&mut self, on: bool) {
        self.no_tree = !on;
    }

    /// A dissector for `cap`'s frames: with the TLS secrets it has.
    pub fn for_capture(cap: &crate::file::Capture) -> Self {
        let mut d = Self::default();
        d.apps.keys = cap.tls_keys.clone();
        d.comments = cap.comments.clone();
        d
    }

    /// Decrypts TLS sessions whose secrets `keys` holds (a key log).
    pub fn set_tls_keys(&mut self, keys: std::sync::Arc<app::tls::keylog::KeyLog>) {
        self.apps.keys = Some(keys);
    }

    /// Conversation table built so far.
    pub fn conversations(&self) -> &Conversations {
        &self.conv
    }

    /// Heap bytes its state holds, roughly: what a checkpoint (a clone) costs.
    pub fn heap_bytes(&self) -> usize {
        self.conv.heap_bytes() + self.apps.heap_bytes()
    }

    /// Which conversation the frame belongs to: a hash of its TCP
    /// connection's or UDP flow's endpoints, either direction ([`conv::flow_hash`]),
    /// or `None` when it is in none (such a frame needs no state from others).
    /// Frames are followed down the same path as [`Self::dissect`] takes, up
    /// to the conversation table, which is left alone: so frames that share
    /// state have the same answer.
    pub fn flow(&mut self, meta: FrameMeta, data: &[u8], scratch: &mut Dissection) -> Option<u64> {
        match plain_flow(meta.linktype, data) {
            Some(flow) => flow,
            None => self.flow_by_dissecting(meta, data, scratch),
        }
    }

    fn flow_by_dissecting(&mut self, meta: FrameMeta, data: &[u8], scratch: &mut Dissection) -> Option<u64> {
        scratch.clear();
        scratch.meta = meta;
        let mut cx = Cx::new(data, scratch, &mut self.conv, &mut self.apps);
        cx.tree = false;
        cx.routing = true;
        linktype::dissect(&mut cx, meta.linktype, 0);
        cx.flow
    }

    /// Dissects one frame into `out` (cleared first, allocations reused).
    pub fn dissect(&mut self, meta: FrameMeta, data: &[u8], out: &mut Dissection) {
        let times = self.clock.tick(&meta);
        self.dissect_at(times, meta, data, out);
    }

    /// Dissects a frame with its `times` given: for a dissector that is given
    /// only some of a capture's frames (one of the threads `dissect` splits a
    /// capture between, by [`Self::flow`]), which the whole capture's
    /// [`Clock`] has counted.
    pub fn dissect_at(&mut self, times: Times, meta: FrameMeta, data: &[u8], out: &mut Dissection) {
        out.clear();
        out.meta = meta;
        let mut cx = Cx::new(data, out, &mut self.conv, &mut self.apps);
        cx.tree = !self.no_tree;
        frame::dissect(&mut cx, times.first, times.prev);
        if cx.tree && !self.comments.is_empty() {
            frame::comments(&mut cx, &self.comments.get(meta.number));
        }
        linktype::dissect(&mut cx, meta.linktype, 0);
        let n = cx.out.fields.len() as u32;
        for l in &mut cx.out.layers {
            if l.fields.end == OPEN {
                l.fields.end = n;
            }
        }
        if cx.out.summary.protocol.is_empty() {
            cx.out.summary.protocol = "Frame";
        }
        // A segment's data comes before the FIN or RST it carries.
        if cx.out.events.len() > 1 {
            cx.out.events.sort_by_key(|e| matches!(e.kind, MsgKind::TcpClose | MsgKind::TcpReset));
        }
    }
}

/// [`Dissector::flow`] of the usual frame, read straight from its bytes:
/// Ethernet, IPv4 that is not a fragment. TCP and UDP take the addresses and
/// ports from these same bytes, if they get to the conversation table at all
/// (when they do not, the frame needs no state and any answer does); no
/// other protocol over IPv4 has a conversation (an ICMP error's quoted packet
/// is never tracked). `None`: not such a frame, the dissectors decide.
/// Finding every frame's conversation by the dissectors' path took a fifth
/// of the work; a test compares both on every bundled frame.
fn plain_flow(linktype: u32, data: &[u8]) -> Option<Option<u64>> {
    let ip = data.get(14..)?;
    if linktype != linktype::LINKTYPE_ETHERNET || data[12..14] != [0x08, 0x00] {
        return None;
    }
    let hlen = usize::from(ip.first()? & 0x0f) * 4;
    let fragment = u16::from_be_bytes([*ip.get(6)?, *ip.get(7)?]) & 0x3fff != 0;
    if ip[0] >> 4 != 4 || hlen < 20 || fragment || ip.len() < 20 {
        return None;
    }
    if !matches!(ip[9], 6 | 17) {
        return Some(None);
    }
    let ports = ip.get(hlen..hlen + 4)?;
    let end = |at: usize, port: &[u8]| {
        let mut addr = [0; 16];
        addr[..4].copy_from_slice(&ip[at..at + 4]);
        conv::Endpoint { addr, is_v6: false, port: u16::from_be_bytes([port[0], port[1]]) }
    };
    Some(Some(conv::flow_hash(end(12, &ports[..2]), end(16, &ports[2..]))))
}

/// The field range end of a layer still being filled.
const OPEN: u32 = u32::MAX;

/// Dissection context handed from layer to layer.
pub struct Cx<'a> {
    /// The frame's captured bytes.
    pub data: &'a [u8],
    pub out: &'a mut Dissection,
    pub conv: &'a mut Conversations,
    pub apps: &'a mut app::Apps,
    /// The TCP stream and client direction being dissected above TCP.
    pub stream: u32,
    pub client: Option<u8>,
    /// Frames that carried the PDU being dissected (empty: just this one).
    pub pdu_frames: smallvec::SmallVec<[u64; 4]>,
    /// True inside an ICMP error's quoted packet: no conversation tracking,
    /// no summary changes.
    pub inner: bool,
    /// Fields and notes are recorded, checksums verified (`Dissector::set_tree`).
    tree: bool,
    /// Only the frame's conversation is asked for (`Dissector::flow`): TCP
    /// and UDP set `flow` and stop before the conversation table.
    routing: bool,
    flow: Option<u64>,
    /// Application messages begun in this frame, and the info line the
    /// earlier ones left: a frame carrying several messages shows them all.
    messages: u32,
    info_base: Option<usize>,
}

impl<'a> Cx<'a> {
    fn new(data: &'a [u8], out: &'a mut Dissection, conv: &'a mut Conversations, apps: &'a mut app::Apps) -> Self {
        Cx {
            data,
            out,
            conv,
            apps,
            inner: false,
            stream: 0,
            client: None,
            pdu_frames: smallvec::SmallVec::new(),
            tree: true,
            routing: false,
            flow: None,
            messages: 0,
            info_base: None,
        }
    }
}

/// Dissects a layer: the header is recorded into `out` as it is parsed.
impl Cx<'_> {
    /// Opens a new layer starting at `offset`; close it with [`Cx::end_layer`].
    ///
    /// Layers may nest (Engine.IO inside a WebSocket frame inside HTTP): a
    /// layer that begins freezes the field list of any layer still open, so
    /// a parent adds its fields before dissecting what it carries.
    pub fn begin_layer(&mut self, proto: &'static Protocol, offset: usize) -> usize {
        let at = self.out.fields.len() as u32;
        for l in self.out.layers.iter_mut().rev() {
            if l.fields.end != OPEN {
                break;
            }
            l.fields.end = at;
        }
        self.out.layers.push(LayerNode { proto, span: Span::new(offset, 0), fields: at..OPEN });
        self.out.layers.len() - 1
    }

    /// Sets the layer's length and closes its field range.
    pub fn end_layer(&mut self, layer: usize, len: usize) {
        let end = self.out.fields.len() as u32;
        if let Some(l) = self.out.layers.get_mut(layer) {
            l.span.len = len as u32;
            if l.fields.end == OPEN {
                l.fields.end = end;
            }
        }
    }

    /// Adds a field at `depth`.
    pub fn add(&mut self, depth: u8, def: &'static FieldDef, value: Value, offset: usize, len: usize) {
        if self.tree {
            self.out.fields.push(Field { def, value, span: Span::new(offset, len), depth });
        }
    }

    /// Adds an unsigned field read from the frame's bytes (big-endian),
    /// masked and shifted by the definition's mask. Returns the value.
    pub fn uint(&mut self, depth: u8, def: &'static FieldDef, offset: usize, len: usize) -> u64 {
        let v = read_be(self.data, offset, len, def.mask);
        self.add(depth, def, Value::U(v), offset, len);
        v
    }

    /// Adds a bit flag (its def's mask selects the bit).
    pub fn flag(&mut self, depth: u8, def: &'static FieldDef, offset: usize, len: usize) -> bool {
        let v = read_be(self.data, offset, len, def.mask) != 0;
        self.add(depth, def, Value::Bool(v), offset, len);
        v
    }

    /// Adds a field with or without the tree (the summary line's time).
    pub fn add_always(&mut self, depth: u8, def: &'static FieldDef, value: Value, offset: usize, len: usize) {
        self.out.fields.push(Field { def, value, span: Span::new(offset, len), depth });
    }

    /// A note about bytes of the frame; `message` says what happened here.
    /// Notes are part of the tree: none are recorded without it.
    pub fn note(&mut self, def: &'static NoteDef, offset: usize, len: usize, message: impl Into<Cow<'static, str>>) {
        if self.tree {
            self.out.notes.push(Note::new(def, Span::new(offset, len), message.into()));
        }
    }

    /// Verifies a checksum ([`checksum::check`]). Its only readers, a field
    /// and a note, are part of the tree: without it, it is not computed.
    pub fn check(&self, net: Option<(&linktype::NetInfo, u8)>, bytes: &[u8], field_at: usize) -> checksum::Check {
        if self.tree { checksum::check(net, bytes, field_at) } else { checksum::Check::Unverifiable }
    }

    /// Records that the frame ends before a header does (`def` is the
    /// protocol's own "truncated" note).
    pub fn truncated(&mut self, def: &'static NoteDef, what: &str, start: usize, needed: usize) {
        let have = self.data.len().saturating_sub(start);
        self.note(
            def,
            start,
            have,
            format!(
                "truncated: the {what} needs {needed} bytes but only {have} were captured (frame ends at byte {})",
                self.data.len()
            ),
        );
    }

    /// Opens a layer in any data source.
    pub fn begin_layer_at(&mut self, proto: &'static Protocol, at: &At<'_>, offset: usize) -> usize {
        let l = self.begin_layer(proto, 0);
        if let Some(n) = self.out.layers.get_mut(l) {
            n.span = at.span(offset, 0);
        }
        l
    }

    /// Adds a field whose bytes are in `at`'s data source.
    pub fn add_at(&mut self, depth: u8, def: &'static FieldDef, value: Value, at: &At<'_>, offset: usize, len: usize) {
        if self.tree {
            self.out.fields.push(Field { def, value, span: at.span(offset, len), depth });
        }
    }

    /// Adds an unsigned big-endian field from `at`'s bytes.
    pub fn uint_at(&mut self, depth: u8, def: &'static FieldDef, at: &At<'_>, offset: usize, len: usize) -> u64 {
        let v = read_be(at.bytes, offset, len, def.mask);
        self.add_at(depth, def, Value::U(v), at, offset, len);
        v
    }

    /// Adds a bit flag from `at`'s bytes.
    pub fn flag_at(&mut self, depth: u8, def: &'static FieldDef, at: &At<'_>, offset: usize, len: usize) -> bool {
        let v = read_be(at.bytes, offset, len, def.mask) != 0;
        self.add_at(depth, def, Value::Bool(v), at, offset, len);
        v
    }

    /// A note about bytes in `at`'s data source.
    pub fn note_at(
        &mut self,
        def: &'static NoteDef,
        at: &At<'_>,
        offset: usize,
        len: usize,
        message: impl Into<Cow<'static, str>>,
    ) {
        if self.tree {
            self.out.notes.push(Note::new(def, at.span(offset, len), message.into()));
        }
    }

    /// Reserves a new data source; fill it with [`Cx::fill_source`].
    pub fn reserve_source(&mut self, name: impl Into<Cow<'static, str>>) -> SourceId {
        self.out.sources.push(crate::model::DataSource { name: name.into(), bytes: Vec::new() });
        self.out.sources.len() as SourceId
    }

    /// A field's text that is not its span's bytes as they are (a line
    /// without its markers, a decoded string): kept only where the tree is
    /// built, since summary lines never read it.
    pub fn derived_text(&mut self, text: &[u8]) -> Value {
        if self.tree { self.out.intern(String::from_utf8_lossy(text).into_owned()) } else { Value::Static("") }
    }

    /// Reserves a new data source named `short` without the tree and
    /// `full()` with it: a name that says the size and the frames is only
    /// read where the tree is shown, so it is not formatted for every
    /// summary line.
    pub fn reserve_source_named(&mut self, short: &'static str, full: impl FnOnce() -> String) -> SourceId {
        if self.tree { self.reserve_source(full()) } else { self.reserve_source(short) }
    }

    pub fn fill_source(&mut self, id: SourceId, bytes: Vec<u8>) {
        if let Some(s) = self.out.sources.get_mut(usize::from(id).wrapping_sub(1)) {
            s.bytes = bytes;
        }
    }

    /// Records a message of the current TCP stream (sent in direction
    /// `dir`); the caller may fill in its Socket.IO or Engine.IO details.
    pub fn event(&mut self, dir: usize, kind: MsgKind, text: String) -> &mut AppEvent {
        let from_client = self.client.map(|c| usize::from(c) == dir);
        let frames = if self.pdu_frames.is_empty() {
            smallvec::smallvec![self.out.meta.number]
        } else {
            self.pdu_frames.clone()
        };
        let time = self.out.meta.time_f64();
        self.out.events.push(AppEvent {
            stream: self.stream,
            from_client,
            kind,
            text,
            frames,
            time,
            nsp: None,
            ack_id: None,
            sid: None,
            link: None,
        });
        let last = self.out.events.len() - 1;
        &mut self.out.events[last]
    }

    pub fn set_addrs(&mut self, src: Addr, dst: Addr) {
        if !self.inner {
            self.out.summary.src = src;
            self.out.summary.dst = dst;
        }
    }

    pub fn set_protocol(&mut self, short: &'static str) {
        if !self.inner {
            self.out.summary.protocol = short;
        }
    }

    /// Replaces the info column.
    pub fn set_info(&mut self, info: std::fmt::Arguments<'_>) {
        if !self.inner {
            use std::fmt::Write;
            let text = self.out.summary.info_mut();
            // Earlier messages' info stays; this message's is rewritten.
            match self.info_base.filter(|&b| b > 0 && b <= text.len()) {
                Some(base) => {
                    text.truncate(base);
                    text.push_str(", ");
                }
                None => text.clear(),
            }
            let _ = text.write_fmt(info);
        }
    }

    /// A new application message begins in this frame (a PDU, or another
    /// Engine.IO packet of a polling body): from now on its info is added
    /// after the earlier messages', not written over it.
    pub fn next_message(&mut self) {
        if self.messages > 0 && !self.inner {
            self.info_base = self.out.summary.text_info().map(str::len);
        }
        self.messages += 1;
    }
}

/// Bytes being dissected, and where they are: a data source and the offset
/// of `bytes[0]` in it. Lets one dissector work on frame bytes, reassembled
/// bytes or unmasked bytes alike.
#[derive(Clone, Copy)]
pub struct At<'b> {
    pub bytes: &'b [u8],
    pub source: SourceId,
    pub base: usize,
}

impl<'b> At<'b> {
    pub fn span(&self, offset: usize, len: usize) -> Span {
        Span { source: self.source, offset: (self.base + offset) as u32, len: len as u32 }
    }
    /// The same source, narrowed to `bytes[start..end]`.
    pub fn slice(&self, start: usize, end: usize) -> At<'b> {
        let end = end.min(self.bytes.len());
        let start = start.min(end);
        At { bytes: &self.bytes[start..end], source: self.source, base: self.base + start }
    }
}

/// Reads `len` (≤ 8) bytes big-endian at `offset`, applies `mask` (0 = none)
/// and shifts the result down to the mask's lowest bit. Missing bytes read as
/// zero: callers check lengths first.
pub fn read_be(data: &[u8], offset: usize, len: usize, mask: u64) -> u64 {
    // The usual widths at once, when the bytes are all there.
    let mut v = match (len, data.get(offset..)) {
        (1, Some(&[a, ..])) => u64::from(a),
        (2, Some(&[a, b, ..])) => u64::from(u16::from_be_bytes([a, b])),
        (4, Some(&[a, b, c, d, ..])) => u64::from(u32::from_be_bytes([a, b, c, d])),
        _ => (0..len.min(8)).fold(0, |v, i| (v << 8) | u64::from(data.get(offset + i).copied().unwrap_or(0))),
    };
    if mask != 0 {
        v = (v & mask) >> mask.trailing_zeros();
    }
    v
}

/// Reads a fixed-size array, or `None` if the bytes are not there.
pub fn array<const N: usize>(data: &[u8], offset: usize) -> Option<[u8; N]> {
    data.get(offset..offset.checked_add(N)?)?.try_into().ok()
}

pub use crate::model::push_num;
