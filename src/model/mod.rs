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

pub use value::{Text, Value, decimal_len, fill_digits, format_mac, hex, hex_into, push_digits, push_hex, push_num};

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

/// What a field's value is, declared with the field: Wireshark's `FT_*`
/// field types. Which [`Value`]s each type allows is checked over every
/// bundled capture by `tests/it/fieldtypes.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// No value (`Value::None`): a node that groups children, or whose meaning is its presence. FT_NONE.
    None,
    /// `Value::Bool`, often one bit of the span picked by the mask. FT_BOOLEAN.
    Bool,
    /// `Value::U` below 2^8. FT_UINT8.
    U8,
    /// `Value::U` below 2^16. FT_UINT16.
    U16,
    /// `Value::U` below 2^24. FT_UINT24.
    U24,
    /// `Value::U` below 2^32. FT_UINT32.
    U32,
    /// Any `Value::U`. FT_UINT64.
    U64,
    /// `Value::I` within 32 bits. FT_INT32.
    I32,
    /// Any `Value::I`. FT_INT64.
    I64,
    /// `Value::F`: a floating-point number. FT_DOUBLE.
    Double,
    /// `Value::F`: a point in time, seconds since the Unix epoch. FT_ABSOLUTE_TIME.
    AbsTime,
    /// `Value::F`: a duration in seconds. FT_RELATIVE_TIME.
    RelTime,
    /// `Value::Mac`: a MAC address. FT_ETHER.
    Ether,
    /// `Value::Ipv4`. FT_IPv4.
    Ipv4,
    /// `Value::Ipv6`. FT_IPv6.
    Ipv6,
    /// `Value::Bytes`: the span's bytes themselves. FT_BYTES.
    Bytes,
    /// `Value::Text` (the span's bytes), `Value::Owned` or `Value::Static` (derived). FT_STRING.
    Text,
    /// `Value::U`: the number of another frame of the capture. FT_FRAMENUM.
    FrameNum,
}

impl FieldType {
    /// The name `wirelab fields` prints (`u16`, `text`).
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Bool => "bool",
            Self::U8 => "u8",
            Self::U16 => "u16",
            Self::U24 => "u24",
            Self::U32 => "u32",
            Self::U64 => "u64",
            Self::I32 => "i32",
            Self::I64 => "i64",
            Self::Double => "double",
            Self::AbsTime => "abs_time",
            Self::RelTime => "rel_time",
            Self::Ether => "ether",
            Self::Ipv4 => "ipv4",
            Self::Ipv6 => "ipv6",
            Self::Bytes => "bytes",
            Self::Text => "text",
            Self::FrameNum => "framenum",
        }
    }
}

/// A field, declared once as data: Wireshark's `hf_register_info`.
#[derive(Debug)]
pub struct FieldDef {
    /// Display-filter name: Wireshark's where Wireshark has the field.
    pub name: &'static str,
    pub label: &'static str,
    pub proto: &'static Protocol,
    /// What kind of value the field carries.
    pub ty: FieldType,
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
    /// Placeholder values for the `fields!` macro's defaults.
    pub const DEFAULT: FieldDef = FieldDef {
        name: "",
        label: "",
        proto: &NO_PROTOCOL,
        ty: FieldType::None,
        base: Base::Dec,
        mask: 0,
        values: &[],
        explain: "",
    };

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
///     SRCPORT: "tcp.srcport" { label: "Source Port", ty: U16, explain: "…" };
///     FLAGS: "tcp.flags" { label: "Flags", ty: U16, base: Hex(4), mask: 0x0fff, explain: "…" };
/// }
/// ```
/// `label` and `ty` come first and are required; the other keys follow in
/// any order: `explain` (required: an empty label or explanation fails the
/// build), `base` (default `Dec`), `mask` (default 0) and `values` (default
/// `&[]`). `Base` and `FieldType` variants need no import.
#[macro_export]
macro_rules! fields {
    (proto = $proto:expr;
        $( $id:ident : $name:literal { label: $label:expr, ty: $ty:expr $( , $key:ident : $val:expr )* $(,)? }; )*
    ) => {
        $(
            #[allow(clippy::needless_update)]
            pub static $id: $crate::model::FieldDef = {
                #[allow(unused_imports)]
                use $crate::model::{Base::*, FieldType::*};
                let def = $crate::model::FieldDef {
                    name: $name,
                    label: $label,
                    proto: $proto,
                    ty: $ty,
                    $( $key: $val, )*
                    ..$crate::model::FieldDef::DEFAULT
                };
                assert!(
                    !def.label.is_empty() && !def.explain.is_empty(),
                    concat!($name, " needs a label and an explanation")
                );
                def
            };
        )*
        /// Every field this protocol declares, for the filter and the GUI.
        pub static ALL: &[&$crate::model::FieldDef] = &[ $( &$id ),* ];
    };
}

/// Index of a data source within a dissection: 0 is the captured frame.
pub type SourceId = u16;
pub const FRAME_SOURCE: SourceId = 0;

/// The largest data-source buffer a [`Dissection`] keeps for reuse.
const SPARE_MAX: usize = 16 << 10;

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

/// A kind of note (expert info), declared once like a field: Wireshark's
/// `ei_register_info`. Its name is a display-filter name (Wireshark's where
/// Wireshark has the same expert item: `tcp.analysis.retransmission`).
#[derive(Debug)]
pub struct NoteDef {
    pub name: &'static str,
    pub proto: &'static Protocol,
    pub severity: Severity,
    /// The rule broken or the section that explains it (`RFC 6455 §5.1`), or "".
    pub cite: &'static str,
    /// For a student: what this note means and why it matters.
    pub explain: &'static str,
}

impl NoteDef {
    /// Placeholder values for the `notes!` macro's defaults.
    pub const DEFAULT: NoteDef =
        NoteDef { name: "", proto: &NO_PROTOCOL, severity: Severity::Info, cite: "", explain: "" };
}

/// Stands in for the protocol in `DEFAULT` declarations; never shown.
pub static NO_PROTOCOL: Protocol =
    Protocol { name: "", short: "", label: "", osi: 7, tcpip: TcpIpLayer::Application, explain: "" };

/// Declares a protocol's notes as `pub static` items plus an `ALL_NOTES` slice.
///
/// ```ignore
/// notes! { proto = &TCP;
///     RETRANSMISSION: "tcp.analysis.retransmission" { severity: Warning, cite: "RFC 9293 §3.8.1", explain: "…" };
/// }
/// ```
/// `severity` defaults to Info and `cite` to "".
#[macro_export]
macro_rules! notes {
    (proto = $proto:expr; $( $id:ident : $name:literal { $( $key:ident : $val:expr ),* $(,)? }; )* ) => {
        $(
            #[allow(clippy::needless_update)]
            pub static $id: $crate::model::NoteDef = {
                #[allow(unused_imports)]
                use $crate::model::Severity::*;
                $crate::model::NoteDef { name: $name, proto: $proto, $( $key: $val, )* ..$crate::model::NoteDef::DEFAULT }
            };
        )*
        /// Every note this protocol declares, for the filter and `wirelab fields`.
        pub static ALL_NOTES: &[&$crate::model::NoteDef] = &[ $( &$id ),* ];
    };
}

/// A remark about the frame, like Wireshark's expert info.
#[derive(Clone, Debug)]
pub struct Note {
    pub def: &'static NoteDef,
    pub severity: Severity,
    /// What happened in this frame, with its values.
    pub message: Cow<'static, str>,
    /// The protocol (filter name) the note belongs to.
    pub layer: &'static str,
    pub span: Span,
}

impl Note {
    pub fn new(def: &'static NoteDef, span: Span, message: Cow<'static, str>) -> Note {
        Note { def, severity: def.severity, message, layer: def.proto.name, span }
    }
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
    /// The info column ([`Summary::info`]): text, or a TCP segment's numbers.
    info: String,
    tcp: Option<TcpLine>,
}

impl Summary {
    /// The info column.
    pub fn info(&self) -> Cow<'_, str> {
        match &self.tcp {
            Some(t) => {
                let mut s = String::new();
                t.write(&mut s);
                Cow::Owned(s)
            }
            None => Cow::Borrowed(&self.info),
        }
    }

    /// The info column when it is text an application wrote (not a TCP line).
    pub fn text_info(&self) -> Option<&str> {
        self.tcp.is_none().then_some(self.info.as_str())
    }

    /// Appends the info column to `out`.
    pub fn push_info(&self, out: &mut impl Text) {
        match &self.tcp {
            Some(t) => out.push_tcp(t),
            None => out.push_text(&self.info),
        }
    }

    /// The info column's text, to replace (a TCP line set before is dropped).
    pub fn info_mut(&mut self) -> &mut String {
        self.tcp = None;
        &mut self.info
    }

    /// Sets the info column to a TCP segment's line.
    pub fn set_tcp(&mut self, line: TcpLine) {
        self.info.clear();
        self.tcp = Some(line);
    }

    /// Makes this a copy of `other`, reusing this one's text buffer.
    pub fn copy_from(&mut self, other: &Summary) {
        self.src = other.src;
        self.dst = other.dst;
        self.protocol = other.protocol;
        self.info.clone_from(&other.info);
        self.tcp = other.tcp;
    }

    fn clear(&mut self) {
        self.src = Addr::None;
        self.dst = Addr::None;
        self.protocol = "";
        self.info.clear();
        self.tcp = None;
    }
}

/// The info column of a TCP segment, kept as its numbers and written when
/// read. It is most frames' line: kept this way, `--stats` never writes it,
/// and a shard of `dissect` whose lines the writer formats hands it over
/// as numbers.
#[derive(Clone, Copy, Debug, Default)]
pub struct TcpLine {
    /// The first sequence-analysis finding (`TCP Retransmission`), and the
    /// duplicate ACK's number when it is one.
    pub analysis: Option<&'static str>,
    pub dup_ack: Option<u32>,
    pub sport: u16,
    pub dport: u16,
    /// The flag bits (9 of them, AE included).
    pub flags: u16,
    pub seq: u32,
    /// The relative acknowledgment number, when the ACK flag is set.
    pub ack: Option<u32>,
    pub window: u64,
    pub len: u64,
    pub mss: Option<u64>,
    pub sack_perm: bool,
    pub ts: Option<(u64, u64)>,
    pub ws: Option<u64>,
}

impl TcpLine {
    /// Writes the line as tshark does:
    /// `57814 → 8765 [SYN] Seq=0 Win=65495 Len=0 MSS=65495 SACK_PERM TSval=… TSecr=0 WS=1024`.
    pub fn write(&self, info: &mut impl Text) {
        if let Some(label) = self.analysis {
            info.push_text("[");
            info.push_text(label);
            if let Some(n) = self.dup_ack {
                info.push_text(" #");
                info.push_u64(n.into());
            }
            info.push_text("] ");
        }
        info.push_u64(self.sport.into());
        info.push_text(" \u{2192} ");
        info.push_u64(self.dport.into());
        info.push_text(" [");
        const NAMES: [(u16, &str); 9] = [
            (0x002, "SYN"),
            (0x001, "FIN"),
            (0x004, "RST"),
            (0x008, "PSH"),
            (0x010, "ACK"),
            (0x020, "URG"),
            (0x040, "ECE"),
            (0x080, "CWR"),
            (0x100, "AE"),
        ];
        let mut first = true;
        for (bit, name) in NAMES {
            if self.flags & bit != 0 {
                if !first {
                    info.push_text(", ");
                }
                info.push_text(name);
                first = false;
            }
        }
        info.push_text("] Seq=");
        info.push_u64(self.seq.into());
        if let Some(a) = self.ack {
            info.push_text(" Ack=");
            info.push_u64(a.into());
        }
        info.push_text(" Win=");
        info.push_u64(self.window);
        info.push_text(" Len=");
        info.push_u64(self.len);
        if let Some(m) = self.mss {
            info.push_text(" MSS=");
            info.push_u64(m);
        }
        if self.sack_perm {
            info.push_text(" SACK_PERM");
        }
        if let Some((a, b)) = self.ts {
            info.push_text(" TSval=");
            info.push_u64(a);
            info.push_text(" TSecr=");
            info.push_u64(b);
        }
        if let Some(w) = self.ws {
            info.push_text(" WS=");
            info.push_u64(w);
        }
    }
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

/// What kind of message an [`AppEvent`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MsgKind {
    /// The TCP handshake completed (its frames: SYN, SYN-ACK, ACK).
    TcpOpen,
    /// A FIN: this side has finished sending.
    TcpClose,
    /// A RST: the connection is aborted.
    TcpReset,
    /// Only in a ladder that shows every segment: a TCP segment that is no
    /// part of a message (a bare ACK, data no dissector reads as one).
    TcpSegment,
    HttpRequest,
    /// An HTTP request asking to upgrade to WebSocket.
    WsHandshake,
    HttpResponse,
    WsText,
    WsBinary,
    WsPing,
    WsPong,
    WsClose,
    EioOpen,
    EioClose,
    EioPing,
    EioPong,
    /// `2probe` on a new WebSocket during Engine.IO's upgrade.
    EioProbe,
    /// `3probe`, the server's answer to the probe.
    EioProbeAnswer,
    EioUpgrade,
    EioNoop,
    /// A binary Engine.IO message that is not a Socket.IO attachment.
    EioBinary,
    SioConnect,
    SioDisconnect,
    SioConnectError,
    SioEvent,
    SioAck,
    SioAttachment,
    /// A request of wirelab's demo protocol (its seq in `ack_id`).
    DemoRequest,
    /// The demo server's reply, answering the request with the same seq.
    DemoReply,
    /// A Redis command (its number on the connection in `ack_id`).
    RedisCommand,
    /// Redis's reply to the command with the same number.
    RedisReply,
    /// What Redis sends unasked: a pub/sub message, an invalidation.
    RedisPush,
}

impl MsgKind {
    /// The name `wirelab follow` prints (`ws-text`, `sio-event`).
    pub fn name(self) -> &'static str {
        use MsgKind::*;
        match self {
            TcpOpen => "tcp-open",
            TcpClose => "tcp-close",
            TcpReset => "tcp-reset",
            TcpSegment => "tcp-segment",
            HttpRequest => "http-request",
            WsHandshake => "handshake",
            HttpResponse => "http-response",
            WsText => "ws-text",
            WsBinary => "ws-binary",
            WsPing => "ws-ping",
            WsPong => "ws-pong",
            WsClose => "ws-close",
            EioOpen => "eio-open",
            EioClose => "eio-close",
            EioPing => "eio-ping",
            EioPong => "eio-pong",
            EioProbe => "eio-probe",
            EioProbeAnswer => "eio-probe-answer",
            EioUpgrade => "eio-upgrade",
            EioNoop => "eio-noop",
            EioBinary => "eio-binary",
            SioConnect => "sio-connect",
            SioDisconnect => "sio-disconnect",
            SioConnectError => "sio-connect-error",
            SioEvent => "sio-event",
            SioAck => "sio-ack",
            SioAttachment => "sio-attachment",
            DemoRequest => "demo-request",
            DemoReply => "demo-reply",
            RedisCommand => "redis-command",
            RedisReply => "redis-reply",
            RedisPush => "redis-push",
        }
    }
    /// What the message does, in plain words, for a student's prediction:
    /// kinds a newcomer cannot tell apart share one (a WebSocket and an
    /// Engine.IO ping are both a heartbeat).
    pub fn plain(self) -> &'static str {
        use MsgKind::*;
        match self {
            TcpOpen => "opens a TCP connection",
            TcpClose | TcpReset => "closes the TCP connection",
            TcpSegment => "carries data or acknowledges it",
            HttpRequest => "an HTTP request",
            WsHandshake => "asks to switch to WebSocket",
            HttpResponse => "an HTTP response",
            WsText | WsBinary | EioBinary => "a plain WebSocket message",
            WsPing | WsPong | EioPing | EioPong => "a heartbeat (ping or pong)",
            WsClose | EioClose | SioDisconnect => "says goodbye",
            EioOpen => "opens a session and names it",
            EioProbe | EioProbeAnswer | EioUpgrade | EioNoop => "moves the session to the WebSocket",
            SioConnect | SioConnectError => "joins a namespace",
            SioEvent => "an event (emit)",
            SioAck => "an acknowledgement",
            SioAttachment => "binary data of an event",
            DemoRequest => "a request",
            DemoReply => "a reply",
            RedisCommand => "a command to Redis",
            RedisReply => "Redis's reply",
            RedisPush => "a message Redis passes on",
        }
    }

    pub fn is_tcp(self) -> bool {
        matches!(self, MsgKind::TcpOpen | MsgKind::TcpClose | MsgKind::TcpReset | MsgKind::TcpSegment)
    }
    pub fn is_socketio(self) -> bool {
        matches!(
            self,
            MsgKind::SioConnect
                | MsgKind::SioDisconnect
                | MsgKind::SioConnectError
                | MsgKind::SioEvent
                | MsgKind::SioAck
                | MsgKind::SioAttachment
        )
    }
}

/// Something that happened in this frame at the connection or application
/// level — a handshake, an HTTP request, a WebSocket message, a Socket.IO
/// event. [`crate::messages::correlate`] turns a capture's events into
/// messages with their answers and sessions.
#[derive(Clone, Debug)]
pub struct AppEvent {
    /// TCP stream index.
    pub stream: u32,
    /// True when the client sent it, false the server, None unknown.
    pub from_client: Option<bool>,
    pub kind: MsgKind,
    pub text: String,
    /// The frames whose bytes carried it (several when it was reassembled).
    pub frames: smallvec::SmallVec<[u64; 4]>,
    /// Time of the frame that completed it (seconds since the epoch).
    pub time: f64,
    /// Socket.IO: the namespace (`/` when none is written).
    pub nsp: Option<String>,
    /// Socket.IO: the acknowledgement id of an EVENT or ACK; the demo
    /// protocol: the message's sequence number.
    pub ack_id: Option<u64>,
    /// Engine.IO session id: in an open packet, or a request's `sid=` parameter.
    pub sid: Option<String>,
    /// A Socket.IO packet's data, hashed ([`crate::messages::link_key`]): in
    /// an EVENT, and in a chat node's request through Redis that carries it,
    /// so one broadcast can be followed across connections.
    pub link: Option<u64>,
}

/// The protocols whose packets are application messages (see
/// [`Dissection::message_views`]).
pub const MESSAGE_PROTOCOLS: &[&str] = &["websocket", "engineio", "demo", "resp"];

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
        self.summary.clear();
        for src in self.sources.drain(..) {
            // Small buffers are kept for the next frame; a big one goes back
            // to the allocator, which hands the same warm memory to the next
            // big message whichever dissection it lands in (the `dissect`
            // command keeps hundreds of dissections in flight).
            if self.spare.len() < 16 && src.bytes.capacity() <= SPARE_MAX {
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

    /// The frame split into its application messages, one view each, when
    /// it carries more than one: the Engine.IO packets of a long-polling
    /// body, several WebSocket frames or demo messages in one TCP segment.
    /// A view keeps every layer below the messages (link, IP, TCP, HTTP)
    /// and the layers of its own message only (an Engine.IO packet and the
    /// Socket.IO packet in it), so a display filter matched against a view
    /// speaks of that message alone. Empty when the frame has one message
    /// or none. Notes (expert info) stay with every view.
    pub fn message_views(&self) -> Vec<Dissection> {
        let Some(first) = self.layers.iter().position(|l| MESSAGE_PROTOCOLS.contains(&l.proto.name)) else {
            return Vec::new();
        };
        let unit = self.layers[first].proto.name;
        // A 0x1e between two polling packets is a layer of its own: it stays
        // with the packet before it.
        let separator = |l: &LayerNode| {
            let f = self.layer_fields(l);
            !f.is_empty() && f.iter().all(|f| f.def.name == "engineio.separator")
        };
        let mut units: Vec<Vec<usize>> = Vec::new();
        for (i, l) in self.layers.iter().enumerate().skip(first) {
            match units.last_mut() {
                Some(u) if l.proto.name != unit || separator(l) => u.push(i),
                _ => units.push(vec![i]),
            }
        }
        if units.len() < 2 {
            return Vec::new();
        }
        units.iter().map(|keep| self.view(first, keep)).collect()
    }

    /// A copy with the layers `..shared` and `keep`, and only their fields.
    fn view(&self, shared: usize, keep: &[usize]) -> Dissection {
        let mut v = Dissection {
            meta: self.meta,
            notes: self.notes.clone(),
            summary: self.summary.clone(),
            sources: self.sources.clone(),
            strings: self.strings.clone(),
            events: self.events.clone(),
            ..Default::default()
        };
        for (i, l) in self.layers.iter().enumerate() {
            if i < shared || keep.contains(&i) {
                let start = v.fields.len() as u32;
                v.fields.extend_from_slice(self.layer_fields(l));
                v.layers.push(LayerNode { proto: l.proto, span: l.span, fields: start..v.fields.len() as u32 });
            }
        }
        v
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

    /// The bytes a span covers, in its own data source (empty if out of range).
    pub fn span_bytes<'a>(&'a self, frame: &'a [u8], span: Span) -> &'a [u8] {
        self.source_bytes(frame, span.source).get(span.range()).unwrap_or(&[])
    }

    /// The name of a data source: `frame` for the captured bytes, else the
    /// derived source's own ("Unmasked data", "Reassembled TCP (…)").
    pub fn source_name(&self, source: SourceId) -> &str {
        if source == FRAME_SOURCE {
            "frame"
        } else {
            self.sources.get(source as usize - 1).map(|s| s.name.as_ref()).unwrap_or("")
        }
    }

    /// Every field of the frame, in pre-order, as [`FieldRef`]s.
    pub fn refs<'a>(&'a self, frame: &'a [u8]) -> impl Iterator<Item = FieldRef<'a>> + 'a {
        (0..self.fields.len()).map(move |index| FieldRef { d: self, frame, index })
    }

    /// The field at `index` of [`Dissection::fields`].
    pub fn field_ref<'a>(&'a self, frame: &'a [u8], index: usize) -> Option<FieldRef<'a>> {
        (index < self.fields.len()).then_some(FieldRef { d: self, frame, index })
    }

    /// The first field with this display-filter name.
    pub fn find<'a>(&'a self, frame: &'a [u8], name: &str) -> Option<FieldRef<'a>> {
        self.fields.iter().position(|f| f.def.name == name).map(|index| FieldRef { d: self, frame, index })
    }

    /// All fields with this display-filter name, in order.
    pub fn find_all<'a>(&'a self, frame: &'a [u8], name: &'a str) -> impl Iterator<Item = FieldRef<'a>> + 'a {
        self.refs(frame).filter(move |f| f.def().name == name)
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

/// One field of a dissected frame together with what it takes to read it:
/// the one way to ask about a field. Its bytes come from its own data source
/// (the frame, or the unmasked, reassembled or decompressed bytes), and the
/// display filter's comparison rules are [`FieldRef::matches`] (in `filter`).
#[derive(Clone, Copy)]
pub struct FieldRef<'a> {
    pub d: &'a Dissection,
    /// The captured frame's bytes (data source 0).
    pub frame: &'a [u8],
    /// Index into [`Dissection::fields`].
    pub index: usize,
}

impl<'a> FieldRef<'a> {
    pub fn field(&self) -> &'a Field {
        &self.d.fields[self.index]
    }
    pub fn def(&self) -> &'static FieldDef {
        self.field().def
    }
    pub fn value(&self) -> Value {
        self.field().value
    }
    pub fn span(&self) -> Span {
        self.field().span
    }
    /// True for fields that are not on the wire (stream index, analysis).
    pub fn is_derived(&self) -> bool {
        self.field().span.len == 0
    }
    /// The field's bytes, from its own data source.
    pub fn bytes(&self) -> &'a [u8] {
        self.d.span_bytes(self.frame, self.span())
    }
    /// All bytes of the field's data source.
    pub fn source_bytes(&self) -> &'a [u8] {
        self.d.source_bytes(self.frame, self.span().source)
    }
    /// The name of the field's data source (`frame`, `Unmasked data`, …).
    pub fn source_name(&self) -> &'a str {
        self.d.source_name(self.span().source)
    }
    /// The value as text for people, with its value name (`6 (TCP)`).
    pub fn text(&self, max_bytes: usize) -> String {
        display::value_text(self, max_bytes)
    }
    /// The bit mask drawn over the field's bytes (`.... ..1.`), for sub-byte fields.
    pub fn bits(&self) -> Option<String> {
        display::bit_pattern(self.def().mask, self.bytes())
    }
    /// [`FieldRef::text`], appended to `out`.
    pub fn text_into(&self, max_bytes: usize, out: &mut String) {
        display::value_text_into(self, max_bytes, out)
    }
    /// [`FieldRef::bits`] and `" = "`, appended to `out`, for sub-byte fields.
    pub fn bits_into(&self, out: &mut String) {
        if display::bit_pattern_into(self.def().mask, self.bytes(), out) {
            out.push_str(" = ");
        }
    }
    /// The direct children of this field, in order.
    pub fn children(&self) -> impl Iterator<Item = FieldRef<'a>> + 'a {
        let me = *self;
        let depth = self.field().depth;
        let fields = &self.d.fields;
        let end = fields
            .iter()
            .enumerate()
            .skip(self.index + 1)
            .find(|(_, f)| f.depth <= depth)
            .map(|(i, _)| i)
            .unwrap_or(fields.len())
            // Children never cross into the next layer.
            .min(self.layer_end());
        (self.index + 1..end).filter(move |i| fields[*i].depth == depth + 1).map(move |index| FieldRef {
            d: me.d,
            frame: me.frame,
            index,
        })
    }
    /// The layer this field belongs to.
    pub fn layer(&self) -> Option<&'a LayerNode> {
        let i = self.index as u32;
        self.d.layers.iter().find(|l| l.fields.contains(&i))
    }
    fn layer_end(&self) -> usize {
        self.layer().map(|l| l.fields.end as usize).unwrap_or(self.d.fields.len())
    }
}
