//! The dissection model: what a dissected frame *is*, independent of how it
//! was parsed or how it will be shown.
//!
//! A [`Dissection`] is a list of [`LayerNode`]s (one per protocol header, in
//! wire order), each owning a run of [`Field`]s stored flat in pre-order with a
//! depth, plus [`Note`]s (expert info). Every field points at a static
//! [`FieldDef`] — the field's name, label, OSI/TCP-IP layer and explanation are
//! declared once, as data — and carries a typed [`Value`] and a [`Span`] of
//! bytes in a data source.

pub mod display;
mod value;

pub use value::{Value, format_mac, hex};

use std::borrow::Cow;
use std::ops::Range;

/// The four layers of the TCP/IP (Internet) model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TcpIpLayer {
    Link,
    Internet,
    Transport,
    Application,
}

impl TcpIpLayer {
    pub const ALL: [TcpIpLayer; 4] = [Self::Link, Self::Internet, Self::Transport, Self::Application];

    pub fn name(self) -> &'static str {
        match self {
            Self::Link => "link",
            Self::Internet => "internet",
            Self::Transport => "transport",
            Self::Application => "application",
        }
    }
}

/// Names of the seven OSI layers, index 0 is layer 1.
pub const OSI_NAMES: [&str; 7] =
    ["Physical", "Data link", "Network", "Transport", "Session", "Presentation", "Application"];

/// A protocol, declared once. Its layers are a teaching decision and the
/// `explain` text says why.
#[derive(Debug)]
pub struct Protocol {
    /// Short display-filter name (`tcp`), Wireshark's where it has one.
    pub name: &'static str,
    /// Name shown in the packet list's protocol column (`TCP`).
    pub short: &'static str,
    /// Full name (`Transmission Control Protocol`).
    pub label: &'static str,
    /// OSI layer, 1–7.
    pub osi: u8,
    pub tcpip: TcpIpLayer,
    /// One or two sentences for a student: what this protocol does and why it
    /// sits on this layer.
    pub explain: &'static str,
}

/// How an integer value is best shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    Dec,
    /// Hex, zero-padded to this many digits (`0x0002`).
    Hex(u8),
}

/// A field, declared once as data.
#[derive(Debug)]
pub struct FieldDef {
    /// Display-filter name: Wireshark's where Wireshark has the field.
    pub name: &'static str,
    pub label: &'static str,
    pub proto: &'static Protocol,
    pub base: Base,
    /// Bit mask within the span's bytes (big-endian) for sub-byte fields; 0
    /// when the field is whole bytes.
    pub mask: u64,
    /// Names of well-known values (`6` → `TCP`).
    pub values: &'static [(u64, &'static str)],
    /// One sentence for a student, with the RFC section where one applies.
    pub explain: &'static str,
}

impl FieldDef {
    pub fn osi(&self) -> u8 {
        self.proto.osi
    }
    pub fn tcpip(&self) -> TcpIpLayer {
        self.proto.tcpip
    }
    /// The name of a value, when the definition lists one.
    pub fn value_name(&self, v: u64) -> Option<&'static str> {
        self.values.iter().find(|(k, _)| *k == v).map(|(_, n)| *n)
    }
}

/// Declares a protocol's fields as `pub static` items plus an `ALL` slice.
///
/// ```ignore
/// fields! { proto = &TCP;
///     SRCPORT: "tcp.srcport", "Source Port", Dec, 0, [], "…";
/// }
/// ```
#[macro_export]
macro_rules! fields {
    (proto = $proto:expr; $( $id:ident : $name:literal, $label:literal, $base:expr, $mask:expr, $values:expr, $explain:literal; )* ) => {
        $(
            pub static $id: $crate::model::FieldDef = $crate::model::FieldDef {
                name: $name,
                label: $label,
                proto: $proto,
                base: $base,
                mask: $mask,
                values: $values,
                explain: $explain,
            };
        )*
        /// Every field this protocol declares, for the filter and the GUI.
        pub static ALL: &[&$crate::model::FieldDef] = &[ $( &$id ),* ];
    };
}

/// Index of a data source within a dissection: 0 is the captured frame.
pub type SourceId = u16;
pub const FRAME_SOURCE: SourceId = 0;

/// Bytes in a data source. Sub-byte fields take their mask from the def.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    pub source: SourceId,
    pub offset: u32,
    pub len: u32,
}

impl Span {
    pub fn new(offset: usize, len: usize) -> Span {
        Span { source: FRAME_SOURCE, offset: offset as u32, len: len as u32 }
    }
    pub fn range(&self) -> Range<usize> {
        self.offset as usize..self.offset as usize + self.len as usize
    }
    pub fn end(&self) -> usize {
        self.offset as usize + self.len as usize
    }
}

/// One field of a dissected frame.
#[derive(Clone, Debug)]
pub struct Field {
    pub def: &'static FieldDef,
    pub value: Value,
    pub span: Span,
    /// Nesting depth within its layer: 0 for top-level fields; children
    /// follow their parent in pre-order.
    pub depth: u8,
}

/// One protocol header of a frame.
#[derive(Clone, Debug)]
pub struct LayerNode {
    pub proto: &'static Protocol,
    pub span: Span,
    /// Indices into [`Dissection::fields`].
    pub fields: Range<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Something worth knowing (a handshake step, a partial checksum).
    Info,
    /// Unusual but legal, or a sign of trouble (retransmission).
    Warning,
    /// Malformed: a rule of the protocol is broken or bytes are missing.
    Error,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

/// A remark about the frame, like Wireshark's expert info.
#[derive(Clone, Debug)]
pub struct Note {
    pub severity: Severity,
    pub message: Cow<'static, str>,
    /// The protocol (filter name) the note belongs to.
    pub layer: &'static str,
    pub span: Span,
}

/// An address for the summary columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Addr {
    #[default]
    None,
    Mac([u8; 6]),
    Ipv4([u8; 4]),
    Ipv6([u8; 16]),
}

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Addr::None => Ok(()),
            Addr::Mac(m) => f.write_str(&format_mac(m)),
            Addr::Ipv4(a) => std::net::Ipv4Addr::from(*a).fmt(f),
            Addr::Ipv6(a) => std::net::Ipv6Addr::from(*a).fmt(f),
        }
    }
}

/// The packet-list line of a frame.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub src: Addr,
    pub dst: Addr,
    /// Protocol column: the highest protocol dissected (`TCP`).
    pub protocol: &'static str,
    pub info: String,
}

/// A derived data source (reassembled, unmasked, decompressed bytes).
#[derive(Clone, Debug)]
pub struct DataSource {
    pub name: Cow<'static, str>,
    pub bytes: Vec<u8>,
}

/// Capture metadata of one frame.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FrameMeta {
    /// 1-based frame number.
    pub number: u64,
    /// Seconds since the Unix epoch, with nanosecond resolution.
    pub ts_sec: i64,
    pub ts_nsec: u32,
    /// Length on the wire.
    pub len: u32,
    /// Bytes captured (may be less than `len` when a snap length cut it).
    pub caplen: u32,
    pub linktype: u32,
}

impl FrameMeta {
    pub fn time_f64(&self) -> f64 {
        self.ts_sec as f64 + self.ts_nsec as f64 * 1e-9
    }
}

/// Something that happened at the application level in this frame — an HTTP
/// request, a WebSocket message, a Socket.IO event — for `wirelab follow`.
#[derive(Clone, Debug)]
pub struct AppEvent {
    /// TCP stream index.
    pub stream: u32,
    /// True when the client sent it, false the server, None unknown.
    pub from_client: Option<bool>,
    /// `handshake`, `http-request`, `http-response`, `ws-text`, `ws-binary`,
    /// `ws-close`, `ws-ping`, `ws-pong`, `engineio`, `socketio`, `sio-attachment`.
    pub kind: &'static str,
    pub text: String,
    /// The frames whose bytes carried it (several when it was reassembled).
    pub frames: smallvec::SmallVec<[u64; 4]>,
}

/// Everything wirelab knows about one frame.
#[derive(Clone, Debug, Default)]
pub struct Dissection {
    pub meta: FrameMeta,
    pub layers: Vec<LayerNode>,
    pub fields: Vec<Field>,
    pub notes: Vec<Note>,
    pub summary: Summary,
    /// Extra data sources; source id `i` is `sources[i - 1]`.
    pub sources: Vec<DataSource>,
    /// Derived strings that [`Value::Owned`] fields point at.
    pub strings: Vec<String>,
    /// Application events completed in this frame.
    pub events: Vec<AppEvent>,
    /// Buffers of earlier frames' data sources, reused (no allocation per frame).
    spare: Vec<Vec<u8>>,
}

impl Dissection {
    /// Empties the dissection, keeping its allocations for the next frame.
    pub fn clear(&mut self) {
        self.layers.clear();
        self.fields.clear();
        self.notes.clear();
        self.summary.src = Addr::None;
        self.summary.dst = Addr::None;
        self.summary.protocol = "";
        self.summary.info.clear();
        for src in self.sources.drain(..) {
            if self.spare.len() < 16 {
                let mut b = src.bytes;
                b.clear();
                self.spare.push(b);
            }
        }
        self.strings.clear();
        self.events.clear();
    }

    /// An empty buffer for a new data source, reused from earlier frames.
    pub fn buffer(&mut self) -> Vec<u8> {
        self.spare.pop().unwrap_or_default()
    }

    /// Stores a derived string; returns the value that names it.
    pub fn intern(&mut self, s: String) -> Value {
        self.strings.push(s);
        Value::Owned(self.strings.len() as u32 - 1)
    }

    /// The fields of one layer.
    pub fn layer_fields(&self, layer: &LayerNode) -> &[Field] {
        self.fields.get(layer.fields.start as usize..layer.fields.end as usize).unwrap_or(&[])
    }

    /// The first field with this display-filter name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.def.name == name)
    }

    /// All fields with this display-filter name, in order.
    pub fn fields_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Field> + 'a {
        self.fields.iter().filter(move |f| f.def.name == name)
    }

    /// The bytes of a data source, given the frame's own bytes.
    pub fn source_bytes<'a>(&'a self, frame: &'a [u8], source: SourceId) -> &'a [u8] {
        if source == FRAME_SOURCE {
            frame
        } else {
            self.sources.get(source as usize - 1).map(|s| s.bytes.as_slice()).unwrap_or(&[])
        }
    }

    /// Protocol names in wire order, joined as Wireshark's `frame.protocols`.
    pub fn protocols(&self) -> String {
        let mut s = String::new();
        for (i, l) in self.layers.iter().enumerate() {
            if i > 0 {
                s.push(':');
            }
            s.push_str(l.proto.name);
        }
        s
    }
}
