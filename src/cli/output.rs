//! Text and JSON renderings of dissected frames.

use std::fmt::Write as _;

use serde_json::{Map, Value as Json, json};

use crate::dissect::linktype::linktype_name;
use crate::model::display::{bit_pattern, value_text};
use crate::model::{Dissection, Field, OSI_NAMES, Value, hex};

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
            for f in d.layer_fields(l) {
                field_line(d, frame, f, out);
            }
        }
    }
    for n in &d.notes {
        let _ = writeln!(out, "  [{}] {} (at byte {}): {}", n.severity.name(), n.layer, n.span.offset, n.message);
    }
}

fn field_line(d: &Dissection, frame: &[u8], f: &Field, out: &mut String) {
    let indent = "  ".repeat(usize::from(f.depth) + 3);
    let v = value_text(d, frame, f, 32);
    let bits = bit_pattern(frame, f).map(|b| format!("{b} = ")).unwrap_or_default();
    let bytes = if f.span.len == 0 {
        "(derived)".to_string()
    } else if f.span.len <= 8 {
        format!("[{}..{}: {}]", f.span.offset, f.span.end(), hex(frame.get(f.span.range()).unwrap_or(&[])))
    } else {
        format!("[{}..{}]", f.span.offset, f.span.end())
    };
    let _ = writeln!(out, "{indent}{bits}{}: {v}  ({}) {bytes}", f.def.label, f.def.name);
}

/// The JSON value of a field: numbers, booleans, strings, hex bytes.
pub fn json_value(d: &Dissection, frame: &[u8], f: &Field) -> Json {
    match &f.value {
        Value::None => Json::Null,
        Value::U(v) => json!(v),
        Value::I(v) => json!(v),
        Value::F(v) => json!(v),
        Value::Bool(b) => json!(b),
        Value::Text => Json::String(
            String::from_utf8_lossy(d.source_bytes(frame, f.span.source).get(f.span.range()).unwrap_or(&[]))
                .into_owned(),
        ),
        Value::Mac(_) | Value::Ipv4(_) | Value::Ipv6(_) | Value::Owned(_) | Value::Static(_) => {
            Json::String(value_text(d, frame, f, usize::MAX))
        }
        Value::Bytes => Json::String(hex(d.source_bytes(frame, f.span.source).get(f.span.range()).unwrap_or(&[]))),
    }
}

fn source_name(d: &Dissection, source: u16) -> String {
    if source == 0 {
        "frame".into()
    } else {
        d.sources.get(usize::from(source) - 1).map(|s| s.name.to_string()).unwrap_or_default()
    }
}

/// One JSON object per frame, in the documented shape.
pub fn json_frame(d: &Dissection, frame: &[u8]) -> Json {
    let layers: Vec<Json> = d
        .layers
        .iter()
        .map(|l| {
            let fields = d.layer_fields(l);
            let mut i = 0;
            let tree = json_fields(d, frame, fields, &mut i, 0);
            json!({
                "protocol": l.proto.name,
                "osi": l.proto.osi,
                "tcpip": l.proto.tcpip.name(),
                "source": source_name(d, l.span.source),
                "offset": l.span.offset,
                "len": l.span.len,
                "fields": tree,
            })
        })
        .collect();
    let notes: Vec<Json> = d
        .notes
        .iter()
        .map(|n| json!({"severity": n.severity.name(), "message": n.message, "layer": n.layer, "offset": n.span.offset, "len": n.span.len}))
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

fn json_fields(d: &Dissection, frame: &[u8], fields: &[Field], i: &mut usize, depth: u8) -> Vec<Json> {
    let mut out = Vec::new();
    while let Some(f) = fields.get(*i) {
        if f.depth < depth {
            break;
        }
        *i += 1;
        let children = json_fields(d, frame, fields, i, f.depth + 1);
        let mut m = Map::new();
        m.insert("name".into(), json!(f.def.name));
        m.insert("label".into(), json!(f.def.label));
        m.insert("value".into(), json_value(d, frame, f));
        if let Some(n) = f.value.as_u64().and_then(|v| f.def.value_name(v)).filter(|_| matches!(f.value, Value::U(_))) {
            m.insert("value_name".into(), json!(n));
        }
        if f.span.source != 0 {
            m.insert("source".into(), json!(source_name(d, f.span.source)));
        }
        m.insert("offset".into(), json!(f.span.offset));
        m.insert("len".into(), json!(f.span.len));
        if f.def.mask != 0 {
            m.insert("bitmask".into(), json!(f.def.mask));
        }
        m.insert("explain".into(), json!(f.def.explain));
        m.insert("children".into(), Json::Array(children));
        out.push(Json::Object(m));
    }
    out
}
