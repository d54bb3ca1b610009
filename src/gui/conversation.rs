//! The conversation view: the selected frame's TCP connection — or its whole
//! Engine.IO session, across the connections it used — as a dialogue: the
//! TCP open, the handshake, then messages as bubbles, left for the client and
//! right for the server, each with its kind and, when it answers an earlier
//! message, which one. A click selects the frame that carried the message.

use super::loader::Event;
use super::{Command, State};

pub fn conversation_ui(ui: &mut egui::Ui, state: &State, cmds: &mut Vec<Command>) {
    ui.heading("Conversation");
    broadcast_ui(ui, state, cmds);
    let (Some(loaded), Some((d, _))) = (&state.doc.loaded, &state.view.detail) else {
        ui.label("Select a frame of a TCP connection.");
        return;
    };
    let Some(stream) = d.field("tcp.stream").and_then(|f| f.value.as_u64()) else {
        ui.label("This frame is not part of a TCP connection.");
        return;
    };
    // The session of this connection, if the packets named one.
    let session = loaded.events.iter().filter(|e| u64::from(e.stream) == stream).find_map(|e| e.session);
    if let Some(s) = session {
        let sid = loaded.sessions.get(s as usize).map(String::as_str).unwrap_or("?");
        let mut whole = state.panels.conversation.by_session;
        if ui
            .checkbox(&mut whole, format!("Whole Engine.IO session {sid}"))
            .on_hover_text(
                "A socket.io client's session spans several TCP connections: long-polling GETs and POSTs, then the \
                 WebSocket. Its session id (sid) ties them together.",
            )
            .changed()
        {
            cmds.push(Command::BySession(whole));
        }
    }
    let by_session = state.panels.conversation.by_session && session.is_some();
    let shown: Vec<(usize, &Event)> = loaded
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| if by_session { e.session == session } else { u64::from(e.stream) == stream })
        // During a replay, only the past.
        .filter(|(_, e)| !state.panels.replay.on || e.frame < state.panels.replay.cursor)
        .collect();
    if shown.is_empty() {
        ui.label(format!("TCP stream {stream}: no messages."));
        return;
    }
    ui.label(if by_session {
        "All its connections, in time order: client on the left, server on the right".to_string()
    } else {
        format!("TCP stream {stream}: client on the left, server on the right")
    });
    let width = ui.available_width();
    for (k, e) in shown {
        let i = e.frame;
        let from_client = e.from_client != Some(false);
        let selected = state.view.selected == Some(i);
        let (fill, stroke) = if from_client {
            (egui::Color32::from_rgba_unmultiplied(90, 150, 230, 50), egui::Color32::from_rgb(90, 150, 230))
        } else {
            (egui::Color32::from_rgba_unmultiplied(90, 200, 140, 50), egui::Color32::from_rgb(90, 200, 140))
        };
        let mut heading = format!("frame {} · {}", i + 1, e.kind.name());
        if by_session {
            heading.push_str(&format!(" · stream {} · {}", e.stream, e.transport.name()));
        }
        let answers = e.answers.and_then(|a| loaded.events.get(a as usize));
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
                    ui.small(&heading);
                    ui.add(egui::Label::new(loaded.event_text(k)).wrap().sense(egui::Sense::click())).clicked()
                })
                .inner
            });
            if inner.inner || inner.response.interact(egui::Sense::click()).clicked() {
                cmds.push(Command::Select(i));
            }
        });
        // Under the bubble, not in it (a click inside selects the bubble's own frame).
        if let Some(q) = answers {
            ui.horizontal(|ui| {
                ui.add_space(if from_client { 8.0 } else { width * 0.25 + 8.0 });
                if ui
                    .small_button(format!("↩ answers frame {}", q.frame + 1))
                    .on_hover_text("Select the message this one answers")
                    .clicked()
                {
                    cmds.push(Command::Select(q.frame));
                }
            });
        }
    }
}

/// When the ladder follows a broadcast (its tab's "Follow the broadcast")
/// the selected frame is part of: the broadcast told hop by hop, each hop a
/// link to its frame.
fn broadcast_ui(ui: &mut egui::Ui, state: &State, cmds: &mut Vec<Command>) {
    if !state.panels.ladder.broadcast {
        return;
    }
    let mut follow = true;
    if ui
        .checkbox(&mut follow, "Follow the broadcast")
        .on_hover_text(
            "Tell the selected message's broadcast hop by hop, across every connection it crossed (Redis's too)",
        )
        .changed()
    {
        cmds.push(Command::LadderBroadcast(follow));
    }
    let selected = state.view.selected.map(|i| i as u64 + 1);
    let built = state.panels.ladder.work.built.as_ref().filter(|(k, l)| {
        k.broadcast.is_some() && l.broadcast && selected.is_some_and(|s| l.arrows.iter().any(|a| a.frames.contains(&s)))
    });
    let Some((_, ladder)) = built else {
        ui.weak("Select a Socket.IO EVENT that several clients received, or a PUBLISH on Redis.");
        ui.separator();
        return;
    };
    ui.strong("One broadcast, hop by hop");
    for (k, a) in ladder.arrows.iter().enumerate() {
        let Some(&f) = a.frames.last() else { continue };
        let text = format!("{}. frame {f}: {}", k + 1, ladder.hop(k));
        let mine = selected.is_some_and(|s| a.frames.contains(&s));
        if ui.selectable_label(mine, text).on_hover_text(&a.label).clicked() {
            cmds.push(Command::Select((f as usize).saturating_sub(1)));
        }
    }
    ui.separator();
}
