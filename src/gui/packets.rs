//! The packet list: one row per frame, virtualised (only the visible rows are
//! laid out), coloured by protocol.

use egui::Color32;
use egui_extras::{Column, TableBuilder};

use super::{Command, State};

/// A background tint per protocol, readable in both themes.
pub fn protocol_color(p: &str, dark: bool) -> Color32 {
    let (r, g, b) = match p {
        "TCP" => (160, 140, 220),
        "UDP" => (110, 170, 240),
        "HTTP" => (120, 200, 120),
        "WebSocket" => (230, 210, 90),
        "Engine.IO" => (240, 170, 90),
        "Socket.IO" => (240, 120, 100),
        "ICMP" | "ICMPv6" => (230, 130, 200),
        "ARP" => (200, 170, 120),
        _ => (150, 150, 150),
    };
    if dark { Color32::from_rgba_unmultiplied(r, g, b, 50) } else { Color32::from_rgba_unmultiplied(r, g, b, 90) }
}

pub fn packets_ui(ui: &mut egui::Ui, state: &State, scroll_to: Option<usize>, cmds: &mut Vec<Command>) {
    let Some(loaded) = &state.doc.loaded else {
        ui.centered_and_justified(|ui| {
            ui.label(if state.doc.load_progress.is_some() {
                "Reading the capture…"
            } else {
                "Open a capture file, or drop one on the window."
            });
        });
        return;
    };
    let dark = ui.visuals().dark_mode;
    let comments = loaded.cap.as_ref().map(|c| &c.comments).filter(|c| !c.is_empty());
    // Scrolling away from the newest frames stops following them.
    if state.doc.capturing && state.panels.live.follow {
        let over = ui.rect_contains_pointer(ui.max_rect());
        if over && ui.input(|i| i.smooth_scroll_delta.y > 0.0) {
            cmds.push(Command::SetFollow(false));
        }
    }
    let row_h = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
    // During a replay, only what has happened (the list is in capture order then).
    let rows: &[usize] = if state.panels.replay.on {
        let r = &state.panels.replay;
        &state.view.visible[..state.view.visible.partition_point(|&i| i < r.cursor)]
    } else {
        &state.view.visible
    };
    let mut table = TableBuilder::new(ui);
    if let Some(pos) = scroll_to.and_then(|i| rows.iter().position(|v| *v == i)) {
        table = table.scroll_to_row(pos, Some(egui::Align::Center));
    }
    table
        .id_salt("packets")
        .striped(false)
        .sense(egui::Sense::click())
        .column(Column::exact(64.0))
        .column(Column::exact(92.0))
        .column(Column::initial(150.0).resizable(true))
        .column(Column::initial(150.0).resizable(true))
        .column(Column::exact(84.0))
        .column(Column::exact(60.0))
        .column(Column::remainder())
        .header(row_h, |mut h| {
            for (c, t) in ["No.", "Time", "Source", "Destination", "Protocol", "Length", "Info"].into_iter().enumerate()
            {
                h.col(|ui| {
                    let arrow = match state.view.sort {
                        Some((col, true)) if col == c => " ▲",
                        Some((col, false)) if col == c => " ▼",
                        _ => "",
                    };
                    if ui
                        .add(egui::Button::new(egui::RichText::new(format!("{t}{arrow}")).strong()).frame(false))
                        .on_hover_text("Sort by this column")
                        .clicked()
                    {
                        cmds.push(Command::Sort(c));
                    }
                });
            }
        })
        .body(|body| {
            body.rows(row_h, rows.len(), |mut row| {
                let i = rows[row.index()];
                row.set_selected(state.view.selected == Some(i));
                let protocol = loaded.protocol(i);
                let bg = protocol_color(protocol, dark);
                let meta = loaded.meta(i);
                let cells = [
                    meta.number.to_string(),
                    format!("{:.6}", loaded.rel_time(i)),
                    loaded.src(i).to_string(),
                    loaded.dst(i).to_string(),
                    protocol.to_string(),
                    meta.len.to_string(),
                    if comments.is_some_and(|c| c.has(meta.number)) {
                        format!("✎ {}", loaded.info(i))
                    } else {
                        loaded.info(i)
                    },
                ];
                for c in cells {
                    row.col(|ui| {
                        ui.painter().rect_filled(ui.max_rect().expand2(egui::vec2(4.0, 2.0)), 0.0, bg);
                        ui.add(egui::Label::new(c).truncate().selectable(false));
                    });
                }
                let resp = row.response();
                if resp.clicked() {
                    cmds.push(Command::Select(i));
                }
                resp.context_menu(|ui| {
                    if ui.button("TCP graphs of this connection (G)").clicked() {
                        cmds.push(Command::Select(i));
                        cmds.push(Command::TcpGraphs(true));
                        ui.close();
                    }
                    if ui.button("Comment on this packet… (Ctrl+M)").clicked() {
                        cmds.push(Command::Select(i));
                        cmds.push(Command::EditComment(true));
                        ui.close();
                    }
                });
            });
        });
}

/// The packet comment editor: one frame's comment, saved with the capture
/// (pcapng) and shown in the list, the layers and the ladder.
pub fn comment_ui(ctx: &egui::Context, state: &mut State, cmds: &mut Vec<Command>) {
    let Some((i, text)) = state.panels.comment.as_mut() else { return };
    let mut open = true;
    egui::Window::new(format!("Comment on frame {}", *i + 1)).open(&mut open).collapsible(false).show(ctx, |ui| {
        ui.label("A note of your own on this packet: what happens here, and why. It is saved with the capture.");
        let edit = ui.add(
            egui::TextEdit::multiline(text)
                .hint_text("e.g. the server acknowledges the client's SYN here")
                .desired_rows(3)
                .desired_width(360.0),
        );
        edit.request_focus();
        ui.horizontal(|ui| {
            if ui.button("Keep the comment").clicked() {
                cmds.push(Command::SetComment(*i, text.clone()));
            }
            if ui.button("Remove it").clicked() {
                cmds.push(Command::SetComment(*i, String::new()));
            }
        });
    });
    if !open {
        cmds.push(Command::EditComment(false));
    }
}
