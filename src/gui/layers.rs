//! The layer view: the OSI model's seven layers beside the TCP/IP model's
//! four, the selected frame's headers placed on them, each expanding into its
//! fields. Layers the frame does not reach are shown empty, with the reason.

use crate::model::{Dissection, OSI_NAMES};

use super::bytes::TINTS;
use super::{Command, State};

fn tcpip_of(osi: u8) -> &'static str {
    match osi {
        1 | 2 => "Link",
        3 => "Internet",
        4 => "Transport",
        _ => "Application",
    }
}

fn empty_reason(osi: u8) -> &'static str {
    match osi {
        1 => "never captured: voltages, light and radio are turned into bytes by the network card",
        5 => "no WebSocket in this frame: nothing does the session's job",
        6 => "no Engine.IO in this frame: nothing does the presentation's job",
        7 => "no application data in this frame",
        _ => "nothing on this layer in this frame",
    }
}

pub fn layers_ui(ui: &mut egui::Ui, state: &State, cmds: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        ui.heading("Layers");
        // The one explanation of where wirelab places each protocol.
        if ui
            .link("Why these layers?")
            .on_hover_text("The OSI model in the glossary: where each protocol goes")
            .clicked()
        {
            cmds.push(Command::ShowTerm("OSI model".into()));
        }
    });
    let Some((d, bytes)) = &state.view.detail else {
        if state.view.detail_loading {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Dissecting the frame in the context of those before it…");
            });
        } else {
            ui.label("Select a frame to see its layers.");
        }
        return;
    };
    if state.view.detail_loading {
        // The frame before stays shown while the one clicked is dissected.
        ui.horizontal(|ui| {
            ui.spinner();
            ui.weak(format!("Dissecting frame {}…", state.view.selected.map_or(0, |i| i + 1)));
        });
    }
    // The packet's comments first: someone's note on what happens here.
    for c in d.find_all(bytes, "frame.comment") {
        let text = c.text(super::MAX_COMMENT_SHOWN);
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(egui::Color32::from_rgb(220, 170, 60), format!("✎ Comment: {text}"));
            if ui.small_button("Edit").on_hover_text("Change or remove the comment (Ctrl+M)").clicked() {
                cmds.push(Command::EditComment(true));
            }
        });
    }
    egui::CollapsingHeader::new("Encapsulation: each layer's header wraps the layer above")
        .id_salt("encapsulation")
        .default_open(true)
        .show(ui, |ui| encapsulation_ui(ui, d, cmds));
    egui::Grid::new("osi-tcpip").num_columns(2).striped(true).spacing([12.0, 6.0]).show(ui, |ui| {
        ui.strong("OSI model");
        ui.strong("TCP/IP model · headers in this frame");
        ui.end_row();
        for osi in (1..=7u8).rev() {
            ui.label(format!("L{osi} {}", OSI_NAMES[usize::from(osi - 1)]));
            ui.vertical(|ui| {
                let here: Vec<usize> =
                    d.layers.iter().enumerate().filter(|(_, l)| l.proto.osi == osi).map(|(i, _)| i).collect();
                if here.is_empty() {
                    ui.weak(format!("{} — {}", tcpip_of(osi), empty_reason(osi)));
                }
                for li in here {
                    layer_ui(ui, d, bytes, li, state, cmds);
                }
            });
            ui.end_row();
        }
    });
    if !d.notes.is_empty() {
        ui.separator();
        ui.strong("Notes");
        for n in &d.notes {
            let color = match n.severity {
                crate::model::Severity::Error => egui::Color32::from_rgb(230, 80, 80),
                crate::model::Severity::Warning => egui::Color32::from_rgb(220, 160, 60),
                crate::model::Severity::Info => ui.visuals().text_color(),
            };
            ui.colored_label(color, format!("[{}] {}: {}", n.severity.name(), n.layer, n.message));
        }
    }
}

fn layer_ui(ui: &mut egui::Ui, d: &Dissection, bytes: &[u8], li: usize, state: &State, cmds: &mut Vec<Command>) {
    let l = &d.layers[li];
    let title = format!("{} · {} ({} bytes)", l.proto.tcpip.name(), l.proto.label, l.span.len);
    let id = ui.make_persistent_id(("layer", li, l.proto.name));
    egui::CollapsingHeader::new(title).id_salt(id).default_open(l.proto.osi >= 4).show(ui, |ui| {
        ui.weak(l.proto.explain);
        for index in l.fields.start as usize..l.fields.end as usize {
            let Some(fr) = d.field_ref(bytes, index) else { continue };
            let f = fr.field();
            let text = format!("{}{}: {}", "    ".repeat(usize::from(f.depth)), f.def.label, fr.text(24));
            let selected = state.view.selected_field == Some(index) || state.view.hovered_field == Some(index);
            let terms = super::glossary::terms_text(f.def.name);
            let r = ui
                .selectable_label(selected, text)
                .on_hover_text(format!("{}\n\n{}\n\n{terms}", f.def.name, f.def.explain).trim_end().to_string());
            if r.clicked() {
                cmds.push(Command::SelectField(Some(index)));
                if f.span.source != state.view.source {
                    cmds.push(Command::SetSource(f.span.source));
                }
            }
            if JSON_FIELDS.contains(&f.def.name) {
                let raw = fr.bytes();
                if let Ok(v @ (serde_json::Value::Array(_) | serde_json::Value::Object(_))) =
                    serde_json::from_slice::<serde_json::Value>(raw)
                {
                    ui.indent(("json", index), |ui| {
                        let mut budget = JSON_NODES;
                        json_ui(ui, "JSON", &v, ui.make_persistent_id(("json", index)), &mut budget);
                    });
                }
            }
        }
    });
}

/// Fields whose value is JSON: shown as a tree under the field as well.
const JSON_FIELDS: [&str; 3] = ["socketio.args", "socketio.data", "engineio.data"];
/// At most this many JSON nodes are drawn per field (a hostile payload can be huge).
const JSON_NODES: usize = 300;

/// One JSON value as a tree: objects and arrays expand, scalars are one line.
fn json_ui(ui: &mut egui::Ui, key: &str, v: &serde_json::Value, id: egui::Id, budget: &mut usize) {
    use serde_json::Value;
    if *budget == 0 {
        return;
    }
    *budget -= 1;
    let children: Vec<(String, &Value)> = match v {
        Value::Array(a) => a.iter().enumerate().map(|(i, x)| (format!("[{i}]"), x)).collect(),
        Value::Object(o) => o.iter().map(|(k, x)| (format!("{k:?}"), x)).collect(),
        scalar => {
            ui.monospace(format!("{key}: {scalar}"));
            return;
        }
    };
    let what = if v.is_array() {
        format!("array, {} items", children.len())
    } else {
        format!("object, {} members", children.len())
    };
    egui::CollapsingHeader::new(format!("{key}: {what}")).id_salt(id).default_open(true).show(ui, |ui| {
        for (k, x) in children {
            if *budget == 0 {
                ui.weak("… (more not shown)");
                break;
            }
            json_ui(ui, &k, x, id.with(&k), budget);
        }
    });
}

/// Each layer's parent in the picture: the layer just before it, unless it
/// is a message-level protocol (OSI 5 and up) that one of those ancestors
/// already carries — then this is a sibling (two WebSocket frames in one
/// segment, two Engine.IO packets in one polling body). A repeated lower
/// layer is carried, not a sibling (the IP header an ICMP error quotes).
fn parents(d: &Dissection) -> Vec<Option<usize>> {
    let shown: Vec<usize> = (0..d.layers.len()).filter(|&i| d.layers[i].proto.name != "frame").collect();
    let mut out: Vec<Option<usize>> = vec![None; d.layers.len()];
    for (k, &i) in shown.iter().enumerate() {
        let Some(&prev) = k.checked_sub(1).and_then(|j| shown.get(j)) else { continue };
        let name = d.layers[i].proto.name;
        let message_level = d.layers[i].proto.osi >= 5;
        let mut at = message_level.then_some(prev);
        let mut found = None;
        while let Some(a) = at {
            if shown[..k].iter().any(|&c| out[c] == Some(a) && d.layers[c].proto.name == name) {
                found = Some(a);
                break;
            }
            at = out[a];
        }
        // A protocol seen before but not under any ancestor: a sibling at the top.
        let top_sibling = message_level
            && found.is_none()
            && shown[..k].iter().any(|&c| out[c].is_none() && d.layers[c].proto.name == name);
        out[i] = if top_sibling { None } else { Some(found.unwrap_or(prev)) };
    }
    out
}

/// A layer's own bytes (its span, less the bytes of its descendants inside
/// it) and the bytes of everything it carries.
fn sizes(d: &Dissection, parent: &[Option<usize>], i: usize) -> (u32, u32) {
    let span = d.layers[i].span;
    let mut covered = vec![false; span.len as usize];
    let mut stack: Vec<usize> = (0..d.layers.len()).filter(|&c| parent[c] == Some(i)).collect();
    let mut carried = 0;
    for &c in &stack {
        let (own, more) = sizes(d, parent, c);
        carried += own + more;
    }
    // What it carries in derived bytes (unmasked, decompressed) is its
    // payload field here: that is not header either.
    if stack.iter().any(|&c| d.layers[c].span.source != span.source) {
        let l = &d.layers[i];
        let payload = (l.fields.start as usize..l.fields.end as usize)
            .filter_map(|f| d.fields.get(f))
            .filter(|f| f.span.source == span.source && f.def.name.ends_with("payload"))
            .map(|f| f.span)
            .max_by_key(|s| s.len);
        if let Some(p) = payload {
            for at in p.offset.max(span.offset)..p.end().min(span.end()) as u32 {
                if let Some(x) = covered.get_mut((at - span.offset) as usize) {
                    *x = true;
                }
            }
        }
    }
    while let Some(c) = stack.pop() {
        let s = d.layers[c].span;
        if s.source == span.source {
            for at in s.offset.max(span.offset)..s.end().min(span.end()) as u32 {
                if let Some(x) = covered.get_mut((at - span.offset) as usize) {
                    *x = true;
                }
            }
        }
        stack.extend((0..d.layers.len()).filter(|&g| parent[g] == Some(c)));
    }
    (covered.iter().filter(|c| !**c).count() as u32, carried)
}

/// The textbook picture: nested boxes, the outermost layer's header around
/// everything above it, with sizes in bytes. Clicking a box selects its header.
fn encapsulation_ui(ui: &mut egui::Ui, d: &Dissection, cmds: &mut Vec<Command>) {
    let parent = parents(d);
    let roots: Vec<usize> =
        (0..d.layers.len()).filter(|&i| d.layers[i].proto.name != "frame" && parent[i].is_none()).collect();
    for r in roots {
        layer_box_ui(ui, d, &parent, r, cmds);
    }
    ui.weak("No trailer: IP packets have none, and the Ethernet checksum (FCS) is removed by the network card before capture.");
}

fn layer_box_ui(ui: &mut egui::Ui, d: &Dissection, parent: &[Option<usize>], i: usize, cmds: &mut Vec<Command>) {
    let l = &d.layers[i];
    let children: Vec<usize> = (0..d.layers.len()).filter(|&c| parent[c] == Some(i)).collect();
    let (own, carried) = sizes(d, parent, i);
    let (r, g, b) = TINTS[usize::from(l.proto.osi.saturating_sub(1)).min(6)];
    let fill = egui::Color32::from_rgba_unmultiplied(r, g, b, 40);
    let stroke = egui::Stroke::new(1.0, egui::Color32::from_rgb(r, g, b));
    egui::Frame::group(ui.style()).fill(fill).stroke(stroke).inner_margin(4.0).show(ui, |ui| {
        ui.set_width(ui.available_width());
        let derived = if l.span.source != 0 && parent[i].is_some_and(|p| d.layers[p].span.source != l.span.source) {
            let name = d.source_name(l.span.source);
            format!(" · read from {name}")
        } else {
            String::new()
        };
        let text = if children.is_empty() {
            format!("L{} {} · {} B{derived}", l.proto.osi, l.proto.label, l.span.len)
        } else {
            format!("L{} {} header · {own} B  (carries {carried} B){derived}", l.proto.osi, l.proto.label)
        };
        let r = ui.add(egui::Label::new(egui::RichText::new(text).strong()).sense(egui::Sense::click()));
        if r.on_hover_text(l.proto.explain).clicked() && l.fields.start < l.fields.end {
            cmds.push(Command::SelectField(Some(l.fields.start as usize)));
            cmds.push(Command::SetSource(l.span.source));
        }
        for c in children {
            layer_box_ui(ui, d, parent, c, cmds);
        }
    });
}
