//! The frame itself: what the capture recorded about it.

use super::Cx;
use crate::model::{Protocol, TcpIpLayer, Value};
use crate::{fields, notes};

pub static FRAME: Protocol = Protocol {
    name: "frame",
    short: "Frame",
    label: "Frame (capture metadata)",
    osi: 1,
    tcpip: TcpIpLayer::Link,
    explain: "What the capture software recorded about this frame: when it was seen and how long it was. \
The physical layer itself (voltages, light, radio, the Ethernet preamble and frame check sequence) \
never reaches a capture: the network card consumes it before software sees any bytes.",
};

fields! { proto = &FRAME;
    NUMBER: "frame.number" { label: "Frame Number", ty: U32, explain: "The position of this frame in the capture, counting from 1." };
    TIME_EPOCH: "frame.time_epoch" { label: "Epoch Time", ty: AbsTime, explain: "When the frame was captured, in seconds since 1970-01-01 UTC." };
    TIME_RELATIVE: "frame.time_relative" { label: "Time since first frame", ty: RelTime, explain: "Seconds elapsed between the first frame of the capture and this one." };
    TIME_DELTA: "frame.time_delta" { label: "Time since previous frame", ty: RelTime, explain: "Seconds elapsed since the frame before this one was captured." };
    LEN: "frame.len" { label: "Frame Length", ty: U32, explain: "How many bytes the frame had on the wire." };
    CAP_LEN: "frame.cap_len" { label: "Capture Length", ty: U32, explain: "How many of those bytes the capture kept; fewer than the frame length when a snap length cut it short." };
    COMMENT: "frame.comment" { label: "Comment", ty: Text, explain: "A note someone attached to this packet (a student, a teacher, Wireshark's Packet Comment): kept in the pcapng file beside the packet, never sent on the wire." };
}

notes! { proto = &FRAME;
    CUT_BY_SNAPLEN: "frame.expert.cut_by_snaplen" { explain: "The capture was told to keep only the first bytes of each frame (its snap length), so the end of this frame was not recorded. The frame was whole on the wire; the layers at its end may be incomplete here." };
    UNKNOWN_LINKTYPE: "frame.expert.unknown_linktype" { severity: Warning, explain: "The capture file says what kind of link each frame comes from (its link type). wirelab does not know this one, so it cannot find the headers and shows the bytes as they are." };
}

pub fn dissect(cx: &mut Cx<'_>, first: (i64, u32), prev: (i64, u32)) {
    let m = cx.out.meta;
    let layer = cx.begin_layer(&FRAME, 0);
    let t = m.time_f64();
    let secs = |(s, ns): (i64, u32)| (m.ts_sec - s) as f64 + (m.ts_nsec as f64 - ns as f64) * 1e-9;
    cx.add(0, &NUMBER, Value::U(m.number), 0, 0);
    cx.add(0, &TIME_EPOCH, Value::F(t), 0, 0);
    // The summary line's time column: kept without the tree too.
    cx.add_always(0, &TIME_RELATIVE, Value::F(secs(first)), 0, 0);
    cx.add(0, &TIME_DELTA, Value::F(secs(prev)), 0, 0);
    cx.add(0, &LEN, Value::U(m.len.into()), 0, 0);
    cx.add(0, &CAP_LEN, Value::U(m.caplen.into()), 0, 0);
    cx.end_layer(layer, cx.data.len());
    if m.caplen < m.len {
        cx.note(
            &CUT_BY_SNAPLEN,
            0,
            0,
            format!(
                "only {} of the frame's {} bytes were captured (the capture's snap length cut the rest)",
                m.caplen, m.len
            ),
        );
    }
}

/// The frame's packet comments, each in a data source of its own (a comment
/// is not part of the frame's bytes), as `frame.comment` fields of the frame
/// layer.
pub fn comments(cx: &mut Cx<'_>, comments: &[String]) {
    let Some(layer) = cx.out.layers.iter().position(|l| std::ptr::eq(l.proto, &FRAME)) else { return };
    for c in comments {
        let id = cx.reserve_source("Packet comment");
        cx.fill_source(id, c.as_bytes().to_vec());
        let at = super::At { bytes: c.as_bytes(), source: id, base: 0 };
        let value = cx.derived_text(c.as_bytes());
        // Inside the frame layer: its fields end before the link layer's begin.
        let end = cx.out.layers[layer].fields.end as usize;
        let span = at.span(0, c.len());
        cx.out.fields.insert(end, crate::model::Field { def: &COMMENT, value, span, depth: 0 });
        for (k, l) in cx.out.layers.iter_mut().enumerate() {
            if k == layer {
                l.fields.end += 1;
            } else if k > layer {
                l.fields.start += 1;
                if l.fields.end != super::OPEN {
                    l.fields.end += 1;
                }
            }
        }
    }
}
