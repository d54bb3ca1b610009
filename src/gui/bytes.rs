//! The bytes: a hex and ASCII dump of one data source (the frame, or bytes
//! wirelab derived: reassembled, unmasked, decompressed), each byte tinted by
//! its layer, the selected field's bytes highlighted; hovering a byte shows
//! its field.

use egui::{Color32, RichText};

use crate::model::Dissection;

use super::{Command, State};

pub(super) const TINTS: [(u8, u8, u8); 7] =
    [(120, 120, 120), (90, 150, 230), (90, 200, 140), (170, 130, 230), (230, 200, 80), (240, 150, 80), (240, 100, 110)];

/// The deepest field covering byte `at` of `source`.
fn field_at(d: &Dissection, source: u16, at: usize) -> Option<usize> {
    let mut best: Option<(usize, u32)> = None;
    for (i, f) in d.fields.iter().enumerate() {
        if f.span.source == source && f.span.len > 0 && (f.span.offset as usize..f.span.end()).contains(&at) {
            let len = f.span.len;
            if best.is_none_or(|(_, l)| len <= l) {
                best = Some((i, len));
            }
        }
    }
    best.map(|(i, _)| i)
}

/// Returns the field under the pointer, if it changed.
pub fn bytes_ui(ui: &mut egui::Ui, state: &State, cmds: &mut Vec<Command>) -> Option<Option<usize>> {
    ui.heading("Bytes");
    let (d, frame) = state.view.detail.as_ref()?;
    ui.horizontal_wrapped(|ui| {
        if ui.selectable_label(state.view.source == 0, format!("Frame ({} bytes)", frame.len())).clicked() {
            cmds.push(Command::SetSource(0));
        }
        for (i, s) in d.sources.iter().enumerate() {
            let id = i as u16 + 1;
            if ui.selectable_label(state.view.source == id, s.name.as_ref()).clicked() {
                cmds.push(Command::SetSource(id));
            }
        }
    });
    let bytes = d.source_bytes(frame, state.view.source);
    // The layers in this source, for the tint (looked up per byte on screen).
    let layers: Vec<(std::ops::Range<usize>, u8)> = d
        .layers
        .iter()
        .filter(|l| l.span.source == state.view.source && l.proto.name != "frame")
        .map(|l| (l.span.range(), l.proto.osi))
        .collect();
    let layer_of = |at: usize| layers.iter().rev().find(|(r, _)| r.contains(&at)).map(|(_, osi)| *osi).unwrap_or(0);
    let sel = state
        .view
        .selected_field
        .or(state.view.hovered_field)
        .and_then(|i| d.fields.get(i))
        .filter(|f| f.span.source == state.view.source)
        .map(|f| f.span.range());
    // The glossary term's fields, highlighted in their own colour.
    let term: Vec<std::ops::Range<usize>> = state
        .panels
        .glossary
        .chosen()
        .map(|t| {
            d.fields
                .iter()
                .filter(|f| f.span.source == state.view.source && t.fields.iter().any(|n| n == f.def.name))
                .map(|f| f.span.range())
                .collect()
        })
        .unwrap_or_default();
    // The hovered field's explanation, above the rows so it stays in view,
    // in a box of fixed height: hovering never moves the rows (a click
    // lands on the byte that was under the pointer).
    let explained = state.view.hovered_field.and_then(|i| d.fields.get(i));
    let text = match explained {
        Some(f) => {
            let terms = super::glossary::terms_text(f.def.name);
            format!("{} ({}): {} {terms}", f.def.label, f.def.name, f.def.explain)
        }
        None => "Hover a byte to see its field; click it to select the field.".to_string(),
    };
    let height = EXPLANATION_LINES * ui.text_style_height(&egui::TextStyle::Body);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(ui.available_width(), height), egui::Sense::hover());
    let mut box_ui = ui.new_child(egui::UiBuilder::new().max_rect(rect).id_salt("byte-explanation"));
    box_ui.set_clip_rect(rect.intersect(ui.clip_rect()));
    box_ui.label(text);
    ui.separator();
    let mut hovered = None;
    let mono = egui::TextStyle::Monospace;
    let row_height = ui.text_style_height(&mono) + ui.spacing().item_spacing.y;
    // Sixteen bytes a row, as Wireshark shows them; eight when the panel is
    // too narrow for sixteen (a laptop with a lab open), never cut off.
    let char_w = ui.fonts_mut(|f| f.glyph_width(&mono.resolve(ui.style()), '0'));
    let per_row = if ui.available_width() >= (6.0 + 16.0 * 4.0 + 2.0) * char_w { 16 } else { 8 };
    let rows = bytes.len().div_ceil(per_row);
    // Only the rows on screen are laid out: a 16 MiB decompressed message
    // has a million rows.
    egui::ScrollArea::vertical().id_salt("bytes").auto_shrink(false).show_rows(ui, row_height, rows, |ui, range| {
        for row in range {
            let chunk = bytes.get(row * per_row..(row * per_row + per_row).min(bytes.len())).unwrap_or(&[]);
            ui.horizontal(|ui| {
                ui.spacing_mut().item_spacing.x = 0.0;
                ui.label(RichText::new(format!("{:04x}  ", row * per_row)).text_style(mono.clone()).weak());
                for (k, b) in chunk.iter().enumerate() {
                    let at = row * per_row + k;
                    let osi = layer_of(at);
                    let (r, g, bl) = TINTS[usize::from(osi.saturating_sub(1)).min(6)];
                    let mut t = RichText::new(format!("{b:02x} ")).text_style(mono.clone());
                    if sel.as_ref().is_some_and(|s| s.contains(&at)) {
                        t = t.background_color(Color32::from_rgb(240, 200, 40)).color(Color32::BLACK);
                    } else if term.iter().any(|r| r.contains(&at)) {
                        t = t.background_color(Color32::from_rgb(80, 200, 230)).color(Color32::BLACK);
                    } else if osi > 0 {
                        t = t.background_color(Color32::from_rgba_unmultiplied(r, g, bl, 60));
                    }
                    let resp = ui.add(egui::Label::new(t).sense(egui::Sense::click()));
                    if resp.hovered() {
                        hovered = field_at(d, state.view.source, at);
                    }
                    if resp.clicked() {
                        cmds.push(Command::SelectField(field_at(d, state.view.source, at)));
                    }
                }
                for _ in chunk.len()..per_row {
                    ui.label(RichText::new("   ").text_style(mono.clone()));
                }
                let ascii: String =
                    chunk.iter().map(|&c| if (0x20..0x7f).contains(&c) { c as char } else { '.' }).collect();
                ui.label(RichText::new(format!(" {ascii}")).text_style(mono.clone()));
            });
        }
    });
    Some(hovered)
}

/// Lines kept for the hovered field's explanation above the bytes.
const EXPLANATION_LINES: f32 = 3.0;
