//! Text and JSON renderings of dissected frames.

use std::fmt::Write as _;

use serde_json::{Map, Value as Json, json};

use crate::dissect::linktype::linktype_name;
use crate::model::{Dissection, FRAME_SOURCE, FieldRef, OSI_NAMES, Value, hex};

/// One tshark-like summary line.
pub fn summary_line(d: &Dissection, out: &mut String) {
    let rel = d
        .field("frame.time_relative")
        .and_then(|f| if let Value::F(t) = f.value { Some(t) } else { None })
        .unwrap_or(0.0);
    let src = d.summary.src.to_string();
    let dst = d.summary.dst.to_string();
    let _ = write!(
        out,
        "{:>6} {:>11.6} {:>15} \u{2192} {:<15} {:<8} {:>5} {}",
        d.meta.number, rel, src, dst, d.summary.protocol, d.meta.len, d.summary.info
    );
}

/// The whole tree, grouped by OSI layer, each field with its bytes.
pub fn verbose(d: &Dissection, frame: &[u8], out: &mut String) {
    let _ = writeln!(
        out,
        "Frame {}: {} bytes on wire, {} bytes captured, link type {}",
        d.meta.number,
        d.meta.len,
        d.meta.caplen,
        linktype_name(d.meta.linktype)
    );
    for osi in 1..=7u8 {
        let layers: Vec<_> = d.layers.iter().filter(|l| l.proto.osi == osi).collect();
        let name = OSI_NAMES[usize::from(osi - 1)];
        if layers.is_empty() {
            let why = match osi {
                5 | 6 => {
                    "nothing in this frame: TCP/IP has no separate session or presentation header; applications do this work themselves"
                }
                7 => "no application data in this frame",
                _ => "nothing in this frame",
            };
            let _ = writeln!(out, "  L{osi} {name}: ({why})");
            continue;
        }
        for l in layers {
            let _ = writeln!(
                out,
                "  L{osi} {name} | TCP/IP {}: {} [{}] bytes {}..{}",
                l.proto.tcpip.name(),
                l.proto.label,
                l.proto.name,
                l.span.offset,
                l.span.end()
            );
            for index in l.fields.start as usize..l.fields.end as usize {
                if let Some(f) = d.field_ref(frame, index) {
                    field_line(&f, out);
                }
            }
        }
    }
    for n in &d.notes {
        let _ = writeln!(
            out,
            "  [{}] {} (at byte {}): {}  ({})",
            n.severity.name(),
            n.layer,
            n.span.offset,
            n.message,
            n.def.name
        );
    }
}

/// `Label: value  (name) [where: bytes]`; a field in a derived data source
/// names it (`[Unmasked data 0..6: 3270726f6265]`).
fn field_line(f: &FieldRef<'_>, out: &mut String) {
    let span = f.span();
    let indent = "  ".repeat(usize::from(f.field().depth) + 3);
    let v = f.text(32);
    let bits = f.bits().map(|b| format!("{b} = ")).unwrap_or_default();
    let source = if span.source == FRAME_SOURCE { String::new() } else { format!("{} ", f.source_name()) };
    let bytes = if f.is_derived() {
        "(derived)".to_string()
    } else if span.len <= 8 {
        format!("[{source}{}..{}: {}]", span.offset, span.end(), hex(f.bytes()))
    } else {
        format!("[{source}{}..{}]", span.offset, span.end())
    };
    let _ = writeln!(out, "{indent}{bits}{}: {v}  ({}) {bytes}", f.def().label, f.def().name);
}

/// The JSON value of a field: numbers, booleans, strings, hex bytes.
fn json_value(f: &FieldRef<'_>) -> Json {
    match f.value() {
        Value::None => Json::Null,
        Value::U(v) => json!(v),
        Value::I(v) => json!(v),
        Value::F(v) => json!(v),
        Value::Bool(b) => json!(b),
        Value::Text => Json::String(String::from_utf8_lossy(f.bytes()).into_owned()),
        Value::Mac(_) | Value::Ipv4(_) | Value::Ipv6(_) | Value::Owned(_) | Value::Static(_) => {
            Json::String(f.text(usize::MAX))
        }
        Value::Bytes => Json::String(hex(f.bytes())),
    }
}

/// One JSON object per frame, in the documented shape.
pub fn json_frame(d: &Dissection, frame: &[u8]) -> Json {
    let layers: Vec<Json> = d
        .layers
        .iter()
        .map(|l| {
            let tree: Vec<Json> = (l.fields.start as usize..l.fields.end as usize)
                .filter_map(|i| d.field_ref(frame, i))
                .filter(|f| f.field().depth == 0)
                .map(|f| json_field(&f))
                .collect();
            json!({
                "protocol": l.proto.name,
                "osi": l.proto.osi,
                "tcpip": l.proto.tcpip.name(),
                "source": d.source_name(l.span.source),
                "offset": l.span.offset,
                "len": l.span.len,
                "fields": tree,
            })
        })
        .collect();
    let notes: Vec<Json> = d
        .notes
        .iter()
        .map(|n| json!({"name": n.def.name, "severity": n.severity.name(), "message": n.message, "layer": n.layer, "offset": n.span.offset, "len": n.span.len}))
        .collect();
    json!({
        "frame": d.meta.number,
        "time": d.meta.time_f64(),
        "len": d.meta.len,
        "caplen": d.meta.caplen,
        "linktype": linktype_name(d.meta.linktype),
        "protocols": d.protocols(),
        "summary": {
            "src": d.summary.src.to_string(),
            "dst": d.summary.dst.to_string(),
            "protocol": d.summary.protocol,
            "info": d.summary.info,
        },
        "layers": layers,
        "notes": notes,
    })
}

fn json_field(f: &FieldRef<'_>) -> Json {
    let (def, span) = (f.def(), f.span());
    let mut m = Map::new();
    m.insert("name".into(), json!(def.name));
    m.insert("label".into(), json!(def.label));
    m.insert("value".into(), json_value(f));
    if let Value::U(v) = f.value()
        && let Some(n) = def.value_name(v)
    {
        m.insert("value_name".into(), json!(n));
    }
    if span.source != FRAME_SOURCE {
        m.insert("source".into(), json!(f.source_name()));
    }
    m.insert("offset".into(), json!(span.offset));
    m.insert("len".into(), json!(span.len));
    if def.mask != 0 {
        m.insert("bitmask".into(), json!(def.mask));
    }
    m.insert("explain".into(), json!(def.explain));
    m.insert("children".into(), Json::Array(f.children().map(|c| json_field(&c)).collect()));
    Json::Object(m)
}
