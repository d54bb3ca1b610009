//! Above TCP: stream reassembly and the application protocols a student
//! meets on the way from a TCP segment to a Socket.IO event — HTTP/1.1, the
//! WebSocket opening handshake, WebSocket frames (with permessage-deflate),
//! Engine.IO and Socket.IO.
//!
//! Each direction of a TCP stream has a [`DirBuf`]: bytes are delivered in
//! sequence order (out-of-order segments wait, retransmitted bytes are not
//! delivered twice, a gap the capture never filled is skipped with a note),
//! and the direction's protocol says how long its next PDU is. A PDU that
//! lies in one segment is dissected in the frame's own bytes; one that spans
//! segments is dissected on the frame that completes it, in a "reassembled"
//! data source, as Wireshark does. Memory per direction is bounded.

pub mod adapter;
pub mod demo;
pub mod engineio;
pub mod http;
pub mod resp;
pub mod tls;
pub mod websocket;

use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;

use super::{At, Cx, data};
use crate::model::{NoteDef, Value};
use crate::{fields, notes};

/// In-order bytes one direction may hold while waiting for a PDU's end.
pub const MAX_PENDING: usize = 16 << 20;
/// Out-of-order bytes one direction may hold while waiting for a hole.
pub const MAX_OUT_OF_ORDER: usize = 4 << 20;

fields! { proto = &super::tcp::TCP;
    PAYLOAD: "tcp.payload" { label: "TCP payload", ty: Bytes, base: Hex(0), explain: "This segment's bytes, shown as they are: the receiver already had them (a retransmission), so they are not read again as a message." };
    SEGMENT_DATA: "tcp.segment_data" { label: "TCP segment data", ty: Bytes, base: Hex(0), explain: "Bytes of this segment that belong to a message spanning several segments; it is shown whole in the frame that completes it." };
    SEGMENTS: "tcp.segments" { label: "Reassembled TCP segments", ty: None, explain: "The segments whose bytes were joined to make this message (not on the wire)." };
    SEGMENT: "tcp.segment" { label: "Frame", ty: FrameNum, explain: "A frame that carried part of this message." };
    SEGMENT_COUNT: "tcp.segment.count" { label: "Segment count", ty: U32, explain: "How many segments carried this message." };
    REASSEMBLED_LENGTH: "tcp.reassembled.length" { label: "Reassembled TCP length", ty: U32, explain: "The length of the joined message, in bytes." };
}

notes! { proto = &super::tcp::TCP;
    SEGMENT_CUT: "tcp.expert.segment_cut" { severity: Warning, explain: "The capture's snap length kept only the start of this segment, so its data is incomplete. Messages that use those bytes cannot be put back together, and wirelab shows the rest of this direction as raw data." };
    BYTES_NOT_CAPTURED: "tcp.expert.bytes_not_captured" { severity: Warning, explain: "Some bytes of this stream never appear in the capture: the other side acknowledged them, or wirelab waited for them too long. The message they belonged to cannot be rebuilt, so wirelab starts again at the next segment it has." };
    SEGMENT_WAITING: "tcp.expert.segment_waiting" { explain: "These bytes arrived before earlier bytes of the stream. Like the receiver's TCP, wirelab keeps them aside and delivers them once the missing bytes arrive, so messages are read in order." };
    ALREADY_DELIVERED: "tcp.expert.already_delivered" { explain: "These bytes were already received once (this is a retransmission). TCP hands each byte to the program only once, so they are not read again." };
    MESSAGE_SKIPPED: "tcp.expert.message_skipped" { explain: "These bytes belong to a message too large for wirelab to keep in memory, so they are passed over instead of being dissected." };
    MESSAGE_CONTINUES: "tcp.expert.message_continues" { explain: "TCP is a byte stream, not a stream of messages: one message can be split across several segments. These bytes start or continue one, which is shown whole in the frame that completes it." };
    BUFFER_LIMIT: "tcp.expert.buffer_limit" { severity: Warning, explain: "So much data has piled up waiting for the end of a single message that wirelab stops putting this direction's messages together; the rest of it is shown as raw data." };
    MESSAGE_TOO_LARGE: "tcp.expert.message_too_large" { severity: Warning, explain: "A message announces a length larger than wirelab is willing to buffer, so its bytes are skipped rather than dissected. The messages after it are read normally." };
}

/// Application protocol of one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Proto {
    #[default]
    Unknown,
    Http,
    WebSocket,
    /// wirelab's demo protocol (the TCP demo server's messages).
    Demo,
    /// Redis's RESP.
    Resp,
    /// Not decoded: shown as data, not buffered.
    Data,
    /// TLS records: what `detect` says of a stream that starts with one
    /// (the stream's `tls` is then set; `proto` is the protocol inside).
    Tls,
}

/// Where a run of buffered bytes came from.
#[derive(Clone, Copy, Debug)]
struct Origin {
    frame: u64,
    /// Offset of the run's first byte in that frame.
    offset: usize,
    len: usize,
}

/// The room an empty reassembly buffer keeps for its stream's next message.
const KEEP_CAPACITY: usize = 16 << 10;

#[derive(Clone, Default)]
struct DirBuf {
    next_seq: Option<u32>,
    buf: Vec<u8>,
    origin: VecDeque<Origin>,
    ooo: BTreeMap<u32, (u64, usize, Vec<u8>)>,
    ooo_bytes: usize,
    /// Bytes still to skip of a PDU too large to buffer.
    skip: u64,
    /// RESP: how far `buf` was read without finding the end of its value
    /// (reset whenever bytes leave the front of `buf`).
    resp: resp::Scan,
}

/// Everything wirelab knows about one TCP stream above TCP.
#[derive(Clone, Default)]
pub struct AppStream {
    dirs: [DirBuf; 2],
    pub proto: [Proto; 2],
    /// The direction of the client (the SYN's or the HTTP request's sender).
    pub client: Option<u8>,
    pub http: http::HttpState,
    pub ws: websocket::WsConn,
    /// Engine.IO rides on this stream (a /socket.io/ URI was seen).
    pub eio: bool,
    /// The Engine.IO session the stream carries now: the `sid=` of its latest
    /// request, or the sid of the open packet that answered a request without one.
    pub sid: Option<String>,
    /// A note that the WebSocket handshake was not captured has been given.
    pub told_no_handshake: bool,
    /// Socket.IO binary attachments still expected, per direction.
    pub attachments: [engineio::Pending; 2],
    /// The stream speaks TLS: its records, and `proto` is what they carry.
    pub tls: Option<Box<tls::TlsConn>>,
    /// RESP: commands sent (client's direction) and replies sent (server's),
    /// so the n-th reply is paired with the n-th command.
    pub resp_count: [u64; 2],
    /// RESP: the client subscribed to a channel, so arrays that start with
    /// `message` are published messages, not replies.
    pub resp_subscribed: bool,
    /// RESP: the channels (`c`), patterns (`p`) and shard channels (`s`) the
    /// client has subscribed to, so that an UNSUBSCRIBE naming none is known
    /// to be answered once per channel.
    pub resp_subscriptions: std::collections::BTreeSet<(u8, String)>,
}

impl AppStream {
    /// The protocol of this direction's TCP bytes: TLS records, or what
    /// `proto` says.
    fn outer(&self, dir: usize) -> Proto {
        match &self.tls {
            Some(t) if t.broken[dir] => Proto::Data,
            Some(_) => Proto::Tls,
            None => self.proto[dir],
        }
    }

    /// This direction's TCP bytes are not what they seemed: shown as data from now on.
    fn give_up(&mut self, dir: usize) {
        match &mut self.tls {
            Some(t) => t.broken[dir] = true,
            None => self.proto[dir] = Proto::Data,
        }
    }

    /// Finds the protocol of a direction from its first bytes.
    fn detect(&mut self, dir: usize, buf: &[u8], ports: (u16, u16)) {
        if self.tls.is_none() && self.proto[dir] == Proto::Unknown {
            match detect(self.proto[dir ^ 1], buf, ports) {
                Proto::Tls => self.tls = Some(Box::default()),
                p => self.proto[dir] = p,
            }
        }
    }
}

/// Application state of every TCP stream.
#[derive(Clone, Default)]
pub struct Apps {
    streams: Vec<Option<Box<AppStream>>>,
    /// TLS secrets (a key log), shared by every clone of the dissector.
    pub keys: Option<std::sync::Arc<tls::keylog::KeyLog>>,
}

impl Apps {
    /// Heap bytes held, roughly (for the session's checkpoint budget).
    pub fn heap_bytes(&self) -> usize {
        let per = |s: &AppStream| {
            std::mem::size_of::<AppStream>()
                + s.dirs.iter().map(|d| d.buf.capacity() + d.ooo_bytes + d.origin.len() * 24).sum::<usize>()
                + s.ws.heap_bytes()
                + s.tls.as_ref().map_or(0, |t| t.heap_bytes())
        };
        self.streams.capacity() * 8 + self.streams.iter().flatten().map(|s| per(s)).sum::<usize>()
    }
}

/// A TCP segment with payload, as the TCP dissector hands it over.
pub struct Segment {
    pub stream: u32,
    pub dir: u8,
    pub seq: u32,
    pub ack: Option<u32>,
    /// The payload's bytes in the frame (may be shorter than `len` when a
    /// snap length cut the frame).
    pub payload: Range<usize>,
    /// The payload's length on the wire.
    pub len: usize,
    pub client: Option<u8>,
    pub ports: (u16, u16),
}

/// Ports on which an undetected stream is tried as WebSocket (the demo servers').
const WEBSOCKET_PORTS: [u16; 2] = [9001, 9002];

pub fn segment(cx: &mut Cx<'_>, seg: &Segment) {
    let idx = seg.stream as usize;
    if cx.apps.streams.len() <= idx {
        cx.apps.streams.resize_with(idx + 1, || None);
    }
    let mut st = cx.apps.streams[idx].take().unwrap_or_default();
    if st.client.is_none() {
        st.client = seg.client;
    }
    cx.stream = seg.stream;
    cx.client = st.client;
    handle(cx, &mut st, seg);
    cx.apps.streams[idx] = Some(st);
}

fn handle(cx: &mut Cx<'_>, st: &mut AppStream, seg: &Segment) {
    let dir = usize::from(seg.dir & 1);
    let frame = cx.out.meta.number;
    // The other side acknowledged bytes we never saw: stop waiting for them.
    if let Some(ack) = seg.ack {
        let rev = &mut st.dirs[dir ^ 1];
        if let Some(next) = rev.next_seq
            && !rev.ooo.is_empty()
            && (ack.wrapping_sub(next) as i32) > 0
        {
            gap(cx, rev, seg.payload.start);
        }
    }
    if st.outer(dir) == Proto::Data {
        data::bytes(cx, seg.payload.start, seg.payload.end);
        return;
    }
    let captured = seg.payload.len();
    let d = &mut st.dirs[dir];
    if captured < seg.len {
        // The snap length cut this segment: its bytes can't be delivered.
        cx.note(
            &SEGMENT_CUT,
            seg.payload.start,
            captured,
            "the capture kept only part of this segment (snap length), so the messages in it cannot be reassembled",
        );
        d.buf.clear();
        d.resp = resp::Scan::default();
        d.origin.clear();
        d.next_seq = Some(seg.seq.wrapping_add(seg.len as u32));
        st.give_up(dir);
        data::bytes(cx, seg.payload.start, seg.payload.end);
        return;
    }
    // Segments that waited for a gap now given up on continue the stream.
    pull_out_of_order(d);
    let next = *d.next_seq.get_or_insert(seg.seq);
    let rel = seg.seq.wrapping_sub(next) as i32;
    if rel > 0 {
        if d.ooo_bytes + captured <= MAX_OUT_OF_ORDER {
            d.ooo.insert(seg.seq, (frame, seg.payload.start, cx.data[seg.payload.clone()].to_vec()));
            d.ooo_bytes += captured;
            segment_data(
                cx,
                seg.payload.clone(),
                Some((&SEGMENT_WAITING, "out of order: these bytes wait until the missing ones arrive")),
            );
            return;
        }
        gap(cx, d, seg.payload.start);
    }
    let next = d.next_seq.unwrap_or(seg.seq);
    let skip = (next.wrapping_sub(seg.seq) as i32).max(0) as usize;
    if skip >= captured {
        // As Wireshark shows them: the segment's payload, not part of a message.
        let r = seg.payload.clone();
        if !r.is_empty() {
            let layer = cx.begin_layer(&super::tcp::TCP, r.start);
            cx.add(0, &PAYLOAD, Value::Bytes, r.start, r.len());
            cx.end_layer(layer, r.len());
            cx.note(
                &ALREADY_DELIVERED,
                r.start,
                r.len(),
                "retransmitted bytes that were already delivered: not delivered twice",
            );
        }
        return;
    }
    let start = seg.payload.start + skip;
    let n = seg.payload.end - start;
    // Skipping the rest of a PDU too large to buffer.
    let mut from = start;
    if d.skip > 0 {
        let s = (d.skip as usize).min(n);
        d.skip -= s as u64;
        from += s;
        segment_data(
            cx,
            start..from,
            Some((&MESSAGE_SKIPPED, "part of a message too large for wirelab to buffer: skipped")),
        );
    }
    d.next_seq = Some(next.wrapping_add(n as u32));
    let mut in_frame: Vec<Range<usize>> = Vec::new();
    let fast = d.buf.is_empty() && d.ooo.is_empty() && d.skip == 0;
    if fast {
        // The common case: whole PDUs in this segment, dissected where they
        // lie, without copying.
        from = direct(cx, st, dir, seg, from, &mut in_frame);
    }
    let d = &mut st.dirs[dir];
    if from < seg.payload.end {
        d.buf.extend_from_slice(&cx.data[from..seg.payload.end]);
        d.origin.push_back(Origin { frame, offset: from, len: seg.payload.end - from });
    }
    pull_out_of_order(d);
    process(cx, st, dir, seg, &mut in_frame);
    // This frame's bytes not dissected here belong to a message that spans
    // segments (shown where it completes) or was skipped.
    let mut at = start;
    in_frame.sort_by_key(|r| r.start);
    for r in &in_frame {
        if r.start > at {
            segment_data(cx, at..r.start, None);
        }
        at = at.max(r.end);
    }
    if at < seg.payload.end {
        let waiting = st.dirs[dir].origin.iter().any(|o| o.frame == frame);
        segment_data(
            cx,
            at..seg.payload.end,
            waiting.then_some((&MESSAGE_CONTINUES, "part of a message that continues in a later segment")),
        );
    }
}

/// Moves the out-of-order segments that now continue the stream into the
/// buffer.
fn pull_out_of_order(d: &mut DirBuf) {
    while let Some((&s, _)) = d.ooo.iter().next() {
        let next = d.next_seq.unwrap_or(s);
        let rel = s.wrapping_sub(next) as i32;
        if rel > 0 {
            break;
        }
        let Some((f, off, bytes)) = d.ooo.remove(&s) else { break };
        d.ooo_bytes -= bytes.len();
        let over = (-rel) as usize;
        if over < bytes.len() {
            d.buf.extend_from_slice(&bytes[over..]);
            d.origin.push_back(Origin { frame: f, offset: off + over, len: bytes.len() - over });
            d.next_seq = Some(next.wrapping_add((bytes.len() - over) as u32));
        }
    }
}

/// Gives up on bytes that were never captured: drops the partial PDU and
/// resynchronises at the first out-of-order segment.
fn gap(cx: &mut Cx<'_>, d: &mut DirBuf, at: usize) {
    let Some((&s, _)) = d.ooo.iter().next() else { return };
    let missing = s.wrapping_sub(d.next_seq.unwrap_or(s));
    cx.note(
        &BYTES_NOT_CAPTURED,
        at,
        0,
        format!(
            "{missing} bytes of this stream were never captured: the message they belonged to is lost, and wirelab \
resynchronises at the next segment"
        ),
    );
    d.buf.clear();
    d.resp = resp::Scan::default();
    d.origin.clear();
    d.next_seq = Some(s);
    d.skip = 0;
}

/// A run of this frame's payload shown as TCP segment data, with a note
/// saying why when there is one.
fn segment_data(cx: &mut Cx<'_>, r: Range<usize>, why: Option<(&'static NoteDef, &'static str)>) {
    if r.is_empty() {
        return;
    }
    let layer = cx.begin_layer(&super::tcp::TCP, r.start);
    cx.add(0, &SEGMENT_DATA, Value::Bytes, r.start, r.len());
    cx.end_layer(layer, r.len());
    if let Some((def, message)) = why {
        cx.note(def, r.start, r.len(), message);
    }
}

/// The start of a message as text for a summary: at most `max` bytes, cut
/// at a character boundary, with an ellipsis when cut.
pub fn preview(b: &[u8], max: usize) -> String {
    // Only the bytes the preview can show are decoded: every character that
    // starts within the first `max` bytes ends within `max + 4`, so a large
    // message costs no more than a small one.
    let b = &b[..b.len().min(max + 4)];
    let s = match std::str::from_utf8(b) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    };
    if s.len() <= max {
        return s.into_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + 3);
    out.push_str(&s[..end]);
    out.push('…');
    out
}

/// How long the next PDU is.
pub enum PduLen {
    /// Not yet known: more bytes are needed.
    Need,
    Len(usize),
    /// The bytes are not this protocol: show them as data.
    NotMine,
}

pub(crate) fn detect(other: Proto, buf: &[u8], ports: (u16, u16)) -> Proto {
    // On Redis's port, RESP first: an inline `GET key` is a Redis command there.
    if (ports.0 == resp::PORT || ports.1 == resp::PORT) && resp::looks_like(buf, ports) == Some(true) {
        return Proto::Resp;
    }
    const STARTS: [&[u8]; 9] =
        [b"GET ", b"POST ", b"PUT ", b"HEAD ", b"DELETE ", b"OPTIONS ", b"PATCH ", b"CONNECT ", b"HTTP/1."];
    if STARTS.iter().any(|m| buf.starts_with(m)) {
        return Proto::Http;
    }
    if buf.len() < 8 && STARTS.iter().any(|m| m.starts_with(buf)) {
        return Proto::Unknown;
    }
    if demo::looks_like(buf) {
        return Proto::Demo;
    }
    if buf.len() < 2 && demo::MAGIC.starts_with(buf) {
        return Proto::Unknown;
    }
    if tls::looks_like(buf) {
        return if buf.len() < 5 { Proto::Unknown } else { Proto::Tls };
    }
    // The server's side of a Redis connection: its client spoke RESP.
    if other == Proto::Resp {
        return Proto::Resp;
    }
    match resp::looks_like(buf, ports) {
        Some(true) => return Proto::Resp,
        None => return Proto::Unknown,
        Some(false) => {}
    }
    if other == Proto::WebSocket
        || (WEBSOCKET_PORTS.contains(&ports.0) || WEBSOCKET_PORTS.contains(&ports.1))
            && websocket::looks_like_frame(buf)
    {
        return Proto::WebSocket;
    }
    Proto::Data
}

/// Dissects the complete PDUs at the start of `cx.data[from..]` in place;
/// returns where the first incomplete one begins.
fn direct(
    cx: &mut Cx<'_>,
    st: &mut AppStream,
    dir: usize,
    seg: &Segment,
    mut from: usize,
    in_frame: &mut Vec<Range<usize>>,
) -> usize {
    let end = seg.payload.end;
    let frame = cx.out.meta.number;
    while from < end {
        let bytes = &cx.data[from..end];
        st.detect(dir, bytes, seg.ports);
        let len = match st.outer(dir) {
            Proto::Tls => tls::pdu_len(bytes),
            p => app_pdu_len(p, bytes),
        };
        let n = match len {
            PduLen::Len(n) if n > 0 && n <= bytes.len() => n,
            _ => return from,
        };
        cx.pdu_frames.clear();
        cx.pdu_frames.push(frame);
        in_frame.push(from..from + n);
        let at = At { bytes: &cx.data[from..from + n], source: 0, base: from };
        dissect_pdu(cx, st, dir, at);
        from += n;
    }
    from
}

fn process(cx: &mut Cx<'_>, st: &mut AppStream, dir: usize, seg: &Segment, in_frame: &mut Vec<Range<usize>>) {
    let frame = cx.out.meta.number;
    loop {
        if st.dirs[dir].buf.is_empty() {
            return;
        }
        let buf = std::mem::take(&mut st.dirs[dir].buf);
        st.detect(dir, &buf, seg.ports);
        st.dirs[dir].buf = buf;
        let outer = st.outer(dir);
        if outer == Proto::Unknown {
            return;
        }
        let len = match outer {
            Proto::Tls => tls::pdu_len(&st.dirs[dir].buf),
            Proto::Resp => {
                let d = &mut st.dirs[dir];
                resp::pdu_len_from(&d.buf, &mut d.resp)
            }
            p => app_pdu_len(p, &st.dirs[dir].buf),
        };
        let n = match len {
            PduLen::Need => {
                let d = &mut st.dirs[dir];
                if d.buf.len() > MAX_PENDING {
                    cx.note(
                        &BUFFER_LIMIT,
                        seg.payload.start,
                        0,
                        format!(
                            "more than {} MiB wait for the end of one message: wirelab stops buffering this stream",
                            MAX_PENDING >> 20
                        ),
                    );
                    d.buf.clear();
                    d.resp = resp::Scan::default();
                    d.origin.clear();
                    st.give_up(dir);
                }
                return;
            }
            PduLen::NotMine => {
                // Show what is in this frame as data; forget the rest.
                let d = &mut st.dirs[dir];
                for o in d.origin.drain(..) {
                    if o.frame == frame {
                        data::bytes(cx, o.offset, o.offset + o.len);
                        in_frame.push(o.offset..o.offset + o.len);
                    }
                }
                d.buf.clear();
                d.resp = resp::Scan::default();
                if outer != Proto::WebSocket {
                    st.give_up(dir);
                }
                return;
            }
            PduLen::Len(n) if n > MAX_PENDING => {
                let d = &mut st.dirs[dir];
                cx.note(
                    &MESSAGE_TOO_LARGE,
                    seg.payload.start,
                    0,
                    format!(
                        "a message of {n} bytes is larger than wirelab buffers ({} MiB): it is skipped",
                        MAX_PENDING >> 20
                    ),
                );
                d.skip = (n - d.buf.len()) as u64;
                for o in d.origin.drain(..) {
                    if o.frame == frame {
                        segment_data(cx, o.offset..o.offset + o.len, None);
                        in_frame.push(o.offset..o.offset + o.len);
                    }
                }
                d.buf.clear();
                d.resp = resp::Scan::default();
                return;
            }
            PduLen::Len(n) => n,
        };
        if st.dirs[dir].buf.len() < n {
            // Room for the rest of the message at once, not a chain of
            // doublings; at most 1 MiB ahead of the bytes that came, so a
            // length that lies costs no memory it has not sent.
            let b = &mut st.dirs[dir].buf;
            b.reserve((n - b.len()).min(1 << 20));
            return;
        }
        // Where the PDU's bytes are: one run of this frame, or several frames.
        let d = &mut st.dirs[dir];
        let mut frames: smallvec::SmallVec<[u64; 4]> = smallvec::SmallVec::new();
        let mut left = n;
        let mut single: Option<usize> = None;
        let first = d.origin.front().copied();
        if let Some(o) = first
            && o.frame == frame
            && o.len >= n
        {
            single = Some(o.offset);
        }
        while left > 0 {
            let Some(o) = d.origin.front_mut() else { break };
            if frames.last() != Some(&o.frame) {
                frames.push(o.frame);
            }
            let take = o.len.min(left);
            left -= take;
            if take == o.len {
                d.origin.pop_front();
            } else {
                o.offset += take;
                o.len -= take;
            }
        }
        cx.pdu_frames.clear();
        cx.pdu_frames.extend_from_slice(&frames);
        // A reassembled message goes into a buffer the dissection kept from
        // earlier frames: fresh memory costs a page fault per 4 KiB.
        let mut pdu: Vec<u8> = Vec::new();
        if single.is_none() {
            pdu = cx.out.buffer();
            pdu.extend_from_slice(&d.buf[..n.min(d.buf.len())]);
        }
        d.buf.drain(..n.min(d.buf.len()));
        d.resp = resp::Scan::default();
        if d.buf.is_empty() && d.buf.capacity() > KEEP_CAPACITY {
            // A large buffer goes back to the allocator once empty: with
            // thousands of streams, each keeping its largest message's room
            // would grow memory (and fresh pages cost a fault each).
            d.buf = Vec::new();
        }
        match single {
            Some(off) => {
                in_frame.push(off..off + n);
                let at = At { bytes: &cx.data[off..off + n], source: 0, base: off };
                dissect_pdu(cx, st, dir, at);
            }
            None => {
                let id = cx.reserve_source_named("Reassembled TCP", || {
                    let list = frames.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
                    format!("Reassembled TCP ({n} bytes, frames {list})")
                });
                let at = At { bytes: &pdu, source: id, base: 0 };
                let layer = cx.begin_layer_at(&super::tcp::TCP, &at, 0);
                cx.add_at(0, &SEGMENTS, Value::None, &at, 0, 0);
                for f in &frames {
                    cx.add_at(1, &SEGMENT, Value::U(*f), &at, 0, 0);
                }
                cx.add_at(1, &SEGMENT_COUNT, Value::U(frames.len() as u64), &at, 0, 0);
                cx.add_at(1, &REASSEMBLED_LENGTH, Value::U(n as u64), &at, 0, 0);
                cx.end_layer(layer, 0);
                dissect_pdu(cx, st, dir, at);
                cx.fill_source(id, pdu);
            }
        }
    }
}

fn dissect_pdu(cx: &mut Cx<'_>, st: &mut AppStream, dir: usize, at: At<'_>) {
    if st.tls.is_some() {
        cx.client = st.client;
        cx.next_message();
        tls::dissect(cx, st, dir, at);
        st.client = st.client.or(cx.client);
    } else {
        dissect_app(cx, st, dir, at);
    }
}

/// How long the next PDU of an application protocol is (over TCP, or
/// inside TLS).
pub(crate) fn app_pdu_len(proto: Proto, bytes: &[u8]) -> PduLen {
    match proto {
        Proto::Http => http::pdu_len(bytes),
        Proto::WebSocket => websocket::pdu_len(bytes),
        Proto::Demo => demo::pdu_len(bytes),
        Proto::Resp => resp::pdu_len(bytes),
        Proto::Data | Proto::Unknown | Proto::Tls => PduLen::NotMine,
    }
}

/// One PDU of the application protocol `st.proto[dir]`, in the TCP bytes
/// or in decrypted TLS bytes alike.
pub(crate) fn dissect_app(cx: &mut Cx<'_>, st: &mut AppStream, dir: usize, at: At<'_>) {
    if st.client.is_none() && st.proto[dir] == Proto::Http && !at.bytes.starts_with(b"HTTP/") {
        st.client = Some(dir as u8);
    }
    cx.client = st.client;
    cx.next_message();
    match st.proto[dir] {
        Proto::Http => http::dissect(cx, st, dir, at),
        Proto::WebSocket => websocket::dissect(cx, st, dir, at),
        Proto::Demo => demo::dissect(cx, at, Some(dir)),
        Proto::Resp => resp::dissect(cx, st, dir, at),
        _ => {}
    }
}
