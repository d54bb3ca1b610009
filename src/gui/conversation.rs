//! The conversation view: the selected frame's TCP connection as a dialogue —
//! handshake, then messages as bubbles, left for the client and right for the
//! server, with opcode or event name. A click selects the frame that carried
//! the message.

use super::{Command, State};

pub fn conversation_ui(ui: &mut egui::Ui, state: &State, cmds: &mut Vec<Command>) {
    ui.heading("Conversation");
    let (Some(loaded), Some((d, _))) = (&state.loaded, &state.detail) else {
        ui.label("Select a frame of a TCP connection.");
        return;
    };
    let Some(stream) = d.field("tcp.stream").and_then(|f| f.value.as_u64()) else {
        ui.label("This frame is not part of a TCP connection.");
        return;
    };
    let events: Vec<_> = loaded.events.iter().enumerate().filter(|(_, e)| u64::from(e.stream) == stream).collect();
    if events.is_empty() {
        ui.label(format!(
            "TCP stream {stream}: no application messages (wirelab follows HTTP, WebSocket, Engine.IO and Socket.IO)."
        ));
        return;
    }
    ui.label(format!("TCP stream {stream}: client on the left, server on the right"));
    let width = ui.available_width();
    for (k, e) in events {
        let i = &e.frame;
        let from_client = e.from_client != Some(false);
        let selected = state.selected == Some(*i);
        let (fill, stroke) = if from_client {
            (egui::Color32::from_rgba_unmultiplied(90, 150, 230, 50), egui::Color32::from_rgb(90, 150, 230))
        } else {
            (egui::Color32::from_rgba_unmultiplied(90, 200, 140, 50), egui::Color32::from_rgb(90, 200, 140))
        };
        ui.horizontal(|ui| {
            if !from_client {
                ui.add_space(width * 0.25);
            }
            let frame = egui::Frame::new()
                .fill(fill)
                .stroke(egui::Stroke::new(if selected { 2.5 } else { 1.0 }, stroke))
                .corner_radius(8.0)
                .inner_margin(6.0);
            let inner = frame.show(ui, |ui| {
                ui.set_max_width(width * 0.7);
                ui.vertical(|ui| {
                    ui.small(format!("frame {} · {}", i + 1, e.kind.name()));
                    ui.add(egui::Label::new(loaded.event_text(k)).wrap().sense(egui::Sense::click())).clicked()
                })
                .inner
            });
            if inner.inner || inner.response.interact(egui::Sense::click()).clicked() {
                cmds.push(Command::Select(*i));
            }
        });
    }
}
