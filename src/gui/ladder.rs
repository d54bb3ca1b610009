//! The ladder panel: the selected connection (or its whole Engine.IO
//! session) as a ladder diagram — one lane per endpoint, one arrow per
//! message, Δt on the left — built by [`crate::ladder`] on a thread. A click
//! on an arrow selects its frame; the selected frame's arrow is highlighted;
//! during a replay only past arrows are drawn, with the cursor as a red line.
//! An arrow unfolds into the frames that carried it.

use crate::ladder::{Ladder, Level, Scope};

use super::keyed::Keyed;
use super::{Command, State};

/// What a ladder was built for: the capture, the scope, the level.
#[derive(Clone, Debug, PartialEq)]
pub struct LadderKey {
    pub capture: String,
    pub stream: Option<u32>,
    pub session: Option<String>,
    /// The broadcast of this frame (see [`Scope::broadcast`]).
    pub broadcast: Option<u64>,
    pub level: Level,
}

pub struct LadderView {
    pub level: Level,
    /// Follow the selected frame's broadcast across connections and Redis.
    pub broadcast: bool,
    /// The ladder shown, built on a thread.
    pub work: Keyed<LadderKey, Ladder>,
    /// Arrows unfolded into their frames (by message index).
    pub unfolded: std::collections::BTreeSet<usize>,
}

impl Default for LadderView {
    fn default() -> Self {
        LadderView { level: Level::Engineio, broadcast: false, work: Keyed::default(), unfolded: Default::default() }
    }
}

/// The ladder the panel should show now, if the capture allows one.
pub fn wanted(state: &State) -> Result<LadderKey, &'static str> {
    let l = state.doc.loaded.as_ref().ok_or("Open a capture.")?;
    if l.cap.is_none() || state.doc.capturing {
        return Err("A live capture gets its ladder once it is saved and opened (or replay a scenario's recording).");
    }
    // A replay that follows its cursor shows the connection of the newest
    // message above TCP (not a connection that has only just opened).
    let r = &state.panels.replay;
    let newest = r.newest().is_some().then(|| {
        l.events.iter().filter(|e| e.frame < r.cursor && !e.kind.is_tcp()).max_by_key(|e| e.frame).map(|e| e.stream)
    });
    let stream = match newest.flatten() {
        Some(s) => s,
        None => {
            let (d, _) = state.view.detail.as_ref().ok_or("Select a packet of a TCP connection.")?;
            d.field("tcp.stream")
                .and_then(|f| f.value.as_u64())
                .ok_or("The selected packet is not part of a TCP connection.")? as u32
        }
    };
    if state.panels.ladder.broadcast
        && let Some(i) = state.view.selected
    {
        // A frame of the broadcast shown keeps it (a click on an arrow).
        if let Some((k, built)) = &state.panels.ladder.work.built
            && k.broadcast.is_some()
            && built.arrows.iter().any(|a| a.frames.contains(&(i as u64 + 1)))
        {
            return Ok(k.clone());
        }
        return Ok(LadderKey {
            capture: format!("{}:{}", l.name, l.len()),
            stream: None,
            session: None,
            broadcast: Some(i as u64 + 1),
            level: state.panels.ladder.level,
        });
    }
    let session = state
        .panels
        .conversation
        .by_session
        .then(|| l.events.iter().filter(|e| e.stream == stream).find_map(|e| e.session))
        .flatten()
        .and_then(|s| l.sessions.get(s as usize).cloned());
    Ok(LadderKey {
        capture: format!("{}:{}", l.name, l.len()),
        stream: session.is_none().then_some(stream),
        session,
        broadcast: None,
        level: state.panels.ladder.level,
    })
}

/// The ladder for `k` (on the ladder's thread).
pub fn build(s: &crate::session::Session, k: &LadderKey) -> Ladder {
    let scope = Scope { stream: k.stream, session: k.session.clone(), broadcast: k.broadcast };
    crate::ladder::build(s, &scope, k.level)
}

const ROW: f32 = 30.0;
/// The colour of an ACK's link to the segment it acknowledges.
const ACK_LINK: egui::Color32 = egui::Color32::from_rgb(60, 150, 200);
const LEFT: f32 = 70.0;

pub fn ladder_ui(ui: &mut egui::Ui, state: &State, cmds: &mut Vec<Command>) {
    // Wrapped: the panel may be narrow beside a lab.
    ui.horizontal_wrapped(|ui| {
        egui::ComboBox::from_label("level").selected_text(level_name(state.panels.ladder.level)).show_ui(ui, |ui| {
            for l in [Level::Socketio, Level::Engineio, Level::Websocket, Level::Http, Level::Tcp, Level::Segments] {
                if ui.selectable_label(state.panels.ladder.level == l, level_name(l)).clicked() {
                    cmds.push(Command::LadderLevel(l));
                }
            }
        });
        if ui.button("Export SVG").on_hover_text("Writes the ladder as an SVG file (opens in any browser)").clicked() {
            cmds.push(Command::LadderExport);
        }
        let mut follow = state.panels.ladder.broadcast;
        if ui
            .checkbox(&mut follow, "Follow the broadcast")
            .on_hover_text(
                "Only the selected message's broadcast, on every connection it crossed: the sender's emit, the \
                 node's PUBLISH on Redis, Redis's delivery to each node, each node's EVENT to its clients.",
            )
            .changed()
        {
            cmds.push(Command::LadderBroadcast(follow));
        }
    });
    let key = match wanted(state) {
        Ok(k) => k,
        Err(why) => {
            ui.label(why);
            return;
        }
    };
    let Some((built_for, ladder)) = state.panels.ladder.work.built.as_ref().filter(|(k, _)| *k == key) else {
        ui.label("Drawing the ladder…");
        return;
    };
    let _ = built_for;
    ui.weak(match (&key.session, key.broadcast) {
        (_, Some(f)) if ladder.arrows.is_empty() => {
            format!("Frame {f} carries no broadcast: select a Socket.IO EVENT sent to several clients, or a PUBLISH.")
        }
        (_, Some(f)) => format!("The broadcast of frame {f}, across every connection it crossed"),
        (Some(sid), None) => format!("Engine.IO session {sid}, all its connections"),
        (None, None) => format!("TCP stream {}", key.stream.unwrap_or_default()),
    });
    // A level above what the connection speaks (Engine.IO on a plain
    // WebSocket) draws nothing: say so, and offer the level that shows all.
    if ladder.arrows.is_empty() && key.broadcast.is_none() && key.level != Level::Segments {
        ui.label(format!(
            "Nothing here at the level \u{201c}{}\u{201d}: this connection carries no message of that layer.",
            level_name(key.level)
        ));
        if ui.button(format!("Show {}", level_name(Level::Tcp))).clicked() {
            cmds.push(Command::LadderLevel(Level::Tcp));
        }
        return;
    }
    let r = &state.panels.replay;
    let past = |a: &crate::ladder::Arrow| !r.on || a.frames.last().is_some_and(|&f| (f as usize) <= r.cursor);
    let shown: Vec<(usize, &crate::ladder::Arrow)> =
        ladder.arrows.iter().enumerate().filter(|(_, a)| past(a)).collect();
    // The lanes share the panel's width (a wider panel shows longer
    // labels); they fit it down to 40 px a lane.
    let lanes = ladder.lanes.len().max(1);
    let width = ui.available_width().max(LEFT + 40.0 * lanes as f32);
    let lane_w = (width - LEFT) / lanes as f32;
    let fit = |t: &str, px: f32| -> String {
        let room = (px / 6.5).max(2.0) as usize;
        if t.chars().count() > room {
            t.chars().take(room - 1).chain(std::iter::once('…')).collect()
        } else {
            t.to_string()
        }
    };
    // Lane headers.
    let (head, _) = ui.allocate_exact_size(egui::vec2(width, 34.0), egui::Sense::hover());
    let p = ui.painter_at(head);
    let text = ui.visuals().text_color();
    let x = |rect: egui::Rect, lane: usize| rect.left() + LEFT + lane_w * (lane as f32 + 0.5);
    for (i, lane) in ladder.lanes.iter().enumerate() {
        p.text(
            egui::pos2(x(head, i), head.top() + 2.0),
            egui::Align2::CENTER_TOP,
            fit(&lane.short, lane_w),
            egui::FontId::proportional(13.0),
            text,
        );
        p.text(
            egui::pos2(x(head, i), head.top() + 18.0),
            egui::Align2::CENTER_TOP,
            // The port tells the sockets apart (the address is the same on loopback).
            format!(":{}", lane.name.rsplit(':').next().unwrap_or(&lane.name)),
            egui::FontId::proportional(10.0),
            ui.visuals().weak_text_color(),
        );
    }
    let selected = state.view.selected.map(|i| i as u64 + 1);
    // A replay that follows brings each new arrow into view once (the
    // student may scroll back meanwhile).
    let seen = egui::Id::unique("ladder-arrows-shown");
    let before: Option<usize> = ui.data(|d| d.get_temp(seen));
    ui.data_mut(|d| d.insert_temp(seen, shown.len()));
    let follow = r.newest().is_some() && before != Some(shown.len());
    // The selected arrow's ACK links: what it acknowledges, what acknowledges it.
    let chosen = selected.and_then(|s| ladder.arrows.iter().position(|a| a.frames.contains(&s)));
    let linked =
        |k: usize| chosen.is_some_and(|c| ladder.arrows[c].acks == Some(k) || ladder.arrows[k].acks == Some(c));
    let mut rows: std::collections::HashMap<usize, egui::Rect> = Default::default();
    let comments =
        state.doc.loaded.as_ref().and_then(|l| l.cap.as_ref()).map(|c| &c.comments).filter(|c| !c.is_empty());
    for (k, &(index, a)) in shown.iter().enumerate() {
        let unfolded = a.message.is_some_and(|m| state.panels.ladder.unfolded.contains(&m));
        let (rect, resp) = ui.allocate_exact_size(egui::vec2(width, ROW), egui::Sense::click());
        rows.insert(index, rect);
        let p = ui.painter_at(rect);
        let mine = chosen == Some(index);
        if mine {
            p.rect_filled(rect, 2.0, ui.visuals().selection.bg_fill.gamma_multiply(0.5));
        } else if linked(index) {
            p.rect_filled(rect, 2.0, ACK_LINK.gamma_multiply(0.25));
        }
        for i in 0..lanes {
            p.line_segment(
                [egui::pos2(x(rect, i), rect.top()), egui::pos2(x(rect, i), rect.bottom())],
                egui::Stroke::new(1.0, ui.visuals().weak_text_color()),
            );
        }
        p.text(
            egui::pos2(rect.left() + 2.0, rect.top() + 4.0),
            egui::Align2::LEFT_TOP,
            format!("+{:.1} ms", a.dt * 1000.0),
            egui::FontId::monospace(10.0),
            ui.visuals().weak_text_color(),
        );
        let color = if a.retransmitted { egui::Color32::from_rgb(220, 80, 80) } else { text };
        let y = rect.top() + 20.0;
        let y2 = if a.slanted() { y + 7.0 } else { y };
        let (x1, x2) = (x(rect, a.from), x(rect, a.to));
        let stroke = egui::Stroke::new(1.5, color);
        if a.slanted() {
            p.add(egui::Shape::dashed_line(&[egui::pos2(x1, y), egui::pos2(x2, y2)], stroke, 5.0, 3.0));
        } else {
            p.line_segment([egui::pos2(x1, y), egui::pos2(x2, y2)], stroke);
        }
        let dir = if x2 >= x1 { 1.0 } else { -1.0 };
        p.add(egui::Shape::convex_polygon(
            vec![egui::pos2(x2, y2), egui::pos2(x2 - dir * 8.0, y2 - 4.0), egui::pos2(x2 - dir * 8.0, y2 + 4.0)],
            color,
            egui::Stroke::NONE,
        ));
        // A frame of it carries a packet comment: marked, and said on hover.
        let notes: Vec<String> =
            comments.map(|c| a.frames.iter().flat_map(|f| c.get(*f)).collect()).unwrap_or_default();
        let shown_label = if notes.is_empty() { a.label.clone() } else { format!("✎ {}", a.label) };
        let label = fit(&shown_label, lane_w * a.from.abs_diff(a.to).max(1) as f32);
        // A replay brings its newest arrow into view.
        if follow && k + 1 == shown.len() {
            ui.scroll_to_rect(rect, None);
        }
        p.text(
            egui::pos2((x1 + x2) / 2.0, y - 3.0),
            egui::Align2::CENTER_BOTTOM,
            label,
            egui::FontId::proportional(11.0),
            text,
        );
        resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, format!("arrow: {shown_label}")));
        let acks = match (a.acks_frame, a.acks.and_then(|j| ladder.arrows.get(j))) {
            (Some(f), Some(b)) => format!("\nacknowledges frame {f}: {}", b.label),
            (Some(f), None) => format!("\nacknowledges frame {f}"),
            _ => String::new(),
        };
        let notes = if notes.is_empty() { String::new() } else { format!("\ncomment: {}", notes.join(" · ")) };
        let resp = resp.on_hover_text(format!(
            "{}\nframes {}{}{acks}{notes}\nClick: select it · double-click: show the frames that carried it",
            a.label,
            a.frames.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
            if a.retransmitted { " (retransmitted)" } else { "" }
        ));
        if resp.double_clicked()
            && let Some(m) = a.message
        {
            cmds.push(Command::LadderUnfold(m));
        } else if resp.clicked()
            && let Some(&f) = a.frames.last()
            && let Some(i) = (f as usize).checked_sub(1)
        {
            cmds.push(Command::Select(i));
        }
        if unfolded && let Some(l) = &state.doc.loaded {
            for &f in &a.frames {
                let i = (f as usize).saturating_sub(1);
                if ui.link(format!("      frame {f}: {}", l.info(i))).clicked() {
                    cmds.push(Command::Select(i));
                }
            }
        }
    }
    // The selected arrow's ACK links as brackets in the left margin: from
    // the segment acknowledged down to its ACK.
    if let Some(c) = chosen {
        let ends = ladder.arrows.iter().enumerate().filter_map(|(k, a)| {
            if ladder.arrows[c].acks == Some(k) {
                Some((k, c))
            } else if a.acks == Some(c) {
                Some((c, k))
            } else {
                None
            }
        });
        for (depth, (acked, ack)) in ends.enumerate() {
            let (Some(top), Some(bottom)) = (rows.get(&acked), rows.get(&ack)) else { continue };
            let x = top.left() + LEFT - 6.0 - 4.0 * (depth % 4) as f32;
            let (y1, y2) = (top.top() + 20.0, bottom.top() + 20.0);
            let stroke = egui::Stroke::new(1.5, ACK_LINK);
            let p = ui.painter();
            p.line_segment([egui::pos2(x + 5.0, y1), egui::pos2(x, y1)], stroke);
            p.line_segment([egui::pos2(x, y1), egui::pos2(x, y2)], stroke);
            p.line_segment([egui::pos2(x, y2), egui::pos2(x + 5.0, y2)], stroke);
        }
    }
    if ladder.segments_left_out > 0 {
        ui.weak(format!(
            "{} more segments are not drawn (the first {} are); the TCP graphs (G) show them all.",
            ladder.segments_left_out,
            crate::ladder::MAX_SEGMENTS
        ));
    }
    if r.on && shown.len() < ladder.arrows.len() {
        let (rect, _) = ui.allocate_exact_size(egui::vec2(width, 6.0), egui::Sense::hover());
        ui.painter().line_segment(
            [egui::pos2(rect.left(), rect.center().y), egui::pos2(rect.right(), rect.center().y)],
            egui::Stroke::new(2.0, egui::Color32::RED),
        );
        let more = ladder.arrows.len() - shown.len();
        ui.weak(format!("{more} more {} after the cursor", if more == 1 { "message" } else { "messages" }));
    }
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Socketio => "Socket.IO",
        Level::Engineio => "Engine.IO and up",
        Level::Websocket => "WebSocket and up",
        Level::Http => "HTTP and up",
        Level::Tcp => "everything, TCP too",
        Level::Segments => "every segment, ACKs linked",
    }
}
