//! Replay: the open capture played back in time. A cursor says how many
//! frames have "happened"; every panel shows only the past. Playback is
//! scheduled from the capture's own timestamps (an anchor: this wall-clock
//! instant is that capture time), so it never drifts, at 0.1× to 10×, with
//! idle gaps optionally capped. It can pause before each message and ask
//! the student what comes next.

use std::time::Instant;

use crate::model::MsgKind;

use super::loader::{Event, Loaded};
use super::{Command, State};

/// The longest pause when idle gaps are compressed (seconds of capture time).
pub const GAP_CAP: f64 = 0.5;

pub const SPEEDS: [f32; 7] = [0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0];

/// The replay's state.
pub struct ReplayView {
    pub on: bool,
    /// Frames 0..cursor have happened.
    pub cursor: usize,
    pub playing: bool,
    pub speed: f32,
    pub compress_gaps: bool,
    /// Pause before each message and ask what comes next.
    pub predict: bool,
    /// Paused before this event (index into `Loaded::events`), waiting for a guess.
    pub asking: Option<usize>,
    pub guess: Guess,
    /// The predictions so far, and what the last one was against what came.
    pub score: Score,
    /// Each frame's replay time (seconds from the first frame, gaps capped
    /// when asked): computed when the replay starts.
    times: Vec<f64>,
    /// When playing: this instant is that replay time.
    anchor: Option<(Instant, f64)>,
    /// The newest frame follows the cursor unless the student selected another.
    pub follow: bool,
    /// Frames the packet list calls retransmissions (for the scrubber's marks).
    retransmissions: Vec<usize>,
}

impl Default for ReplayView {
    fn default() -> Self {
        ReplayView {
            on: false,
            cursor: 0,
            playing: false,
            speed: 1.0,
            compress_gaps: true,
            predict: false,
            asking: None,
            guess: Guess::default(),
            score: Score::default(),
            times: Vec::new(),
            anchor: None,
            follow: true,
            retransmissions: Vec::new(),
        }
    }
}

/// A student's prediction of the next message: who sends it, and what it does.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Guess {
    /// True: the client.
    pub from_client: Option<bool>,
    /// One of the `MsgKind::plain` words.
    pub what: Option<&'static str>,
}

/// Predictions made, and how many were right.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Score {
    pub asked: u32,
    pub sender_right: u32,
    pub what_right: u32,
    /// The last one: what was guessed beside what came.
    pub last: Option<String>,
}

impl Score {
    /// Scores a guess against the message that came (a skipped one is not counted).
    fn add(&mut self, g: &Guess, e: &super::loader::Event) {
        let who = |c: Option<bool>| match c {
            Some(true) => "the client",
            Some(false) => "the server",
            None => "?",
        };
        let came = format!("{}: {}", who(e.from_client), e.kind.plain());
        if g.from_client.is_none() || g.what.is_none() {
            self.last = Some(format!("It was {came} (not counted: skipped)."));
            return;
        }
        self.asked += 1;
        let sender = g.from_client.is_some() && g.from_client == e.from_client;
        let what = g.what == Some(e.kind.plain());
        self.sender_right += u32::from(sender);
        self.what_right += u32::from(what);
        let verdict = match (sender, what) {
            (true, true) => "Right on both.",
            (true, false) => "Right sender, another kind of message.",
            (false, true) => "Right kind, but the other side sent it.",
            (false, false) => "Not this time.",
        };
        self.last =
            Some(format!("{verdict} You said {}: {}; it was {came}.", who(g.from_client), g.what.unwrap_or("?")));
    }

    /// "Predictions: 3 · sender right 2 · kind right 1".
    pub fn line(&self) -> String {
        format!("Predictions: {} · sender right {} · kind right {}", self.asked, self.sender_right, self.what_right)
    }
}

/// What the student asks of the replay.
#[derive(Clone, Debug, PartialEq)]
pub enum ReplayCmd {
    On(bool),
    Play(bool),
    /// Move the cursor to reveal this many frames.
    Seek(usize),
    /// One frame forward (1) or back (-1).
    StepFrame(i64),
    /// To the next (1) or previous (-1) message.
    StepMessage(i64),
    Speed(f32),
    CompressGaps(bool),
    Predict(bool),
    /// The guess is in: show the message.
    Reveal,
}

impl ReplayView {
    /// Replay time of each frame, from the capture's timestamps.
    fn compute_times(&mut self, l: &Loaded) {
        let mut t = Vec::with_capacity(l.len());
        let mut prev = 0.0;
        let mut acc = 0.0;
        for i in 0..l.len() {
            let rel = l.rel_time(i);
            let gap = (rel - prev).max(0.0);
            acc += if self.compress_gaps { gap.min(GAP_CAP) } else { gap };
            prev = rel;
            t.push(acc);
        }
        self.times = t;
        // Marks for retransmissions, read from the info column (small captures:
        // the column is decompressed row by row).
        self.retransmissions = if l.len() <= 200_000 {
            (0..l.len()).filter(|&i| l.info(i).contains("Retransmission")).collect()
        } else {
            Vec::new()
        };
    }

    /// A capture finished loading (or another opened) while replaying.
    pub fn loaded(&mut self, l: &Loaded) {
        self.compute_times(l);
        self.cursor = self.cursor.min(l.len());
        if self.playing {
            self.anchor = Some((Instant::now(), self.time_at(self.cursor)));
        }
    }

    pub fn time_at(&self, cursor: usize) -> f64 {
        cursor.checked_sub(1).and_then(|i| self.times.get(i)).copied().unwrap_or(0.0)
    }

    /// Applies a command.
    pub fn apply(&mut self, cmd: ReplayCmd, l: Option<&Loaded>) {
        let n = l.map(Loaded::len).unwrap_or(0);
        match cmd {
            ReplayCmd::On(on) => {
                self.on = on;
                // A replay starts showing what happened, whatever was clicked before.
                self.follow = true;
                self.score = Score::default();
                self.playing = false;
                self.asking = None;
                self.guess = Guess::default();
                if on && let Some(l) = l {
                    self.compute_times(l);
                    self.cursor = self.cursor.min(n);
                }
            }
            ReplayCmd::Play(p) => {
                self.playing = p && self.on && self.asking.is_none();
                if self.cursor >= n && self.playing {
                    self.cursor = 0;
                }
                self.anchor = self.playing.then(|| (Instant::now(), self.time_at(self.cursor)));
            }
            ReplayCmd::Seek(c) => {
                self.cursor = c.min(n);
                self.asking = None;
                self.guess = Guess::default();
                self.anchor = self.playing.then(|| (Instant::now(), self.time_at(self.cursor)));
            }
            ReplayCmd::StepFrame(d) => {
                self.playing = false;
                self.asking = None;
                self.guess = Guess::default();
                self.cursor = step(self.cursor, d, n);
            }
            ReplayCmd::StepMessage(d) => {
                self.playing = false;
                self.asking = None;
                self.guess = Guess::default();
                if let Some(l) = l {
                    // Frames that complete a message, in order.
                    let ends = message_ends(&l.events);
                    self.cursor = if d > 0 {
                        ends.iter().map(|&f| f + 1).find(|&c| c > self.cursor).unwrap_or(n)
                    } else {
                        ends.iter().rev().map(|&f| f + 1).find(|&c| c < self.cursor).unwrap_or(0)
                    };
                }
            }
            ReplayCmd::Speed(s) => {
                self.speed = s.clamp(0.1, 10.0);
                self.anchor = self.playing.then(|| (Instant::now(), self.time_at(self.cursor)));
            }
            ReplayCmd::CompressGaps(c) => {
                self.compress_gaps = c;
                if let Some(l) = l {
                    self.compute_times(l);
                }
                self.anchor = self.playing.then(|| (Instant::now(), self.time_at(self.cursor)));
            }
            ReplayCmd::Predict(p) => self.predict = p,
            ReplayCmd::Reveal => {
                if let Some(e) = self.asking.take()
                    && let Some(ev) = l.and_then(|l| l.events.get(e))
                {
                    self.cursor = self.cursor.max(ev.frame + 1).min(n);
                    let guess = std::mem::take(&mut self.guess);
                    self.score.add(&guess, ev);
                    // Go on from here, as if no time had passed while asking.
                    self.playing = true;
                    self.anchor = Some((Instant::now(), self.time_at(self.cursor)));
                }
            }
        }
    }

    /// The frame the detail shows while the replay follows its cursor: the
    /// newest that has happened (`Some(None)`: none yet); `None` when the
    /// student picked one of their own, or no replay runs.
    pub fn newest(&self) -> Option<Option<usize>> {
        (self.on && self.follow).then(|| self.cursor.checked_sub(1))
    }

    /// Advances a playing replay to the present; returns how long until
    /// the next frame is due.
    pub fn tick(&mut self, l: &Loaded) -> Option<std::time::Duration> {
        let (start, t0) = self.anchor.filter(|_| self.playing)?;
        let now = t0 + start.elapsed().as_secs_f64() * f64::from(self.speed);
        let ends: std::collections::HashMap<usize, usize> = if self.predict {
            l.events.iter().enumerate().filter(|(_, e)| counts(e.kind)).map(|(k, e)| (e.frame, k)).collect()
        } else {
            Default::default()
        };
        while self.cursor < self.times.len() && self.times[self.cursor] <= now {
            if let Some(&k) = ends.get(&self.cursor) {
                // Stop before the frame that completes a message: guess first.
                self.asking = Some(k);
                self.playing = false;
                break;
            }
            self.cursor += 1;
        }
        if self.cursor >= self.times.len() {
            self.playing = false;
        }
        self.times
            .get(self.cursor)
            .filter(|_| self.playing)
            .map(|t| std::time::Duration::from_secs_f64(((t - now) / f64::from(self.speed)).clamp(0.0, 0.05)))
    }
}

fn step(cursor: usize, d: i64, n: usize) -> usize {
    if d >= 0 { (cursor + d as usize).min(n) } else { cursor.saturating_sub(d.unsigned_abs() as usize) }
}

/// Messages worth pausing on: not the TCP bookkeeping.
fn counts(kind: MsgKind) -> bool {
    !kind.is_tcp()
}

fn message_ends(events: &[Event]) -> Vec<usize> {
    let mut v: Vec<usize> = events.iter().filter(|e| counts(e.kind)).map(|e| e.frame).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The controls: play, step, speed, gaps, predict, and the scrubber with
/// its density strip and markers.
pub fn replay_ui(ui: &mut egui::Ui, state: &State, cmds: &mut Vec<Command>) {
    let r = &state.panels.replay;
    let Some(l) = &state.doc.loaded else { return };
    let n = l.len();
    let send = |c: ReplayCmd| Command::Replay(c);
    ui.horizontal(|ui| {
        if ui.button("⇤").on_hover_text("To the start (Home)").clicked() {
            cmds.push(send(ReplayCmd::Seek(0)));
        }
        if ui.button("◀ msg").on_hover_text("Back one message (Shift ←)").clicked() {
            cmds.push(send(ReplayCmd::StepMessage(-1)));
        }
        if ui.button("◀").on_hover_text("Back one packet (←)").clicked() {
            cmds.push(send(ReplayCmd::StepFrame(-1)));
        }
        let play = if r.playing { "❚❚ Pause" } else { "▶ Play" };
        if ui.button(play).on_hover_text("Space").clicked() {
            cmds.push(send(ReplayCmd::Play(!r.playing)));
        }
        if ui.button("▶").on_hover_text("Forward one packet (→)").clicked() {
            cmds.push(send(ReplayCmd::StepFrame(1)));
        }
        if ui.button("msg ▶").on_hover_text("Forward one message (Shift →)").clicked() {
            cmds.push(send(ReplayCmd::StepMessage(1)));
        }
        if ui.button("⇥").on_hover_text("To the end (End)").clicked() {
            cmds.push(send(ReplayCmd::Seek(n)));
        }
        egui::ComboBox::from_label("speed").selected_text(format!("{}×", r.speed)).show_ui(ui, |ui| {
            for s in SPEEDS {
                if ui.selectable_label(r.speed == s, format!("{s}×")).clicked() {
                    cmds.push(send(ReplayCmd::Speed(s)));
                }
            }
        });
        let mut gaps = r.compress_gaps;
        if ui
            .checkbox(&mut gaps, "compress idle gaps")
            .on_hover_text(format!("Pauses longer than {GAP_CAP} s of capture time are shortened to {GAP_CAP} s"))
            .changed()
        {
            cmds.push(send(ReplayCmd::CompressGaps(gaps)));
        }
        let mut predict = r.predict;
        if ui.checkbox(&mut predict, "pause before each message").changed() {
            cmds.push(send(ReplayCmd::Predict(predict)));
        }
        ui.label(format!("{} of {n} packets · {:.3} s", r.cursor, l.rel_time(r.cursor.saturating_sub(1))));
    });
    scrubber_ui(ui, state, cmds);
    if r.predict && r.score.asked > 0 {
        ui.label(r.score.line());
    }
    if let Some(last) = &r.score.last {
        ui.weak(last);
    }
    if r.asking.is_some() {
        // The choices: both sides, and every kind of message this capture
        // holds (in plain words, the same list whatever comes next).
        let mut kinds: Vec<&'static str> = l.events.iter().filter(|e| counts(e.kind)).map(|e| e.kind.plain()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        ui.colored_label(egui::Color32::from_rgb(220, 160, 60), "Predict: what comes next, and from whom?");
        ui.horizontal_wrapped(|ui| {
            let g = &r.guess;
            for (label, side) in [("the client", true), ("the server", false)] {
                if ui.selectable_label(g.from_client == Some(side), label).clicked() {
                    cmds.push(Command::ReplayGuess(Guess { from_client: Some(side), ..g.clone() }));
                }
            }
            ui.separator();
            egui::ComboBox::from_label("is what it does").selected_text(g.what.unwrap_or("(choose)")).show_ui(
                ui,
                |ui| {
                    for k in &kinds {
                        if ui.selectable_label(g.what == Some(*k), *k).clicked() {
                            cmds.push(Command::ReplayGuess(Guess { what: Some(k), ..g.clone() }));
                        }
                    }
                },
            );
            let ready = g.from_client.is_some() && g.what.is_some();
            let label = if ready { "Check my guess" } else { "Skip: show me" };
            if ui.button(label).clicked() {
                cmds.push(send(ReplayCmd::Reveal));
            }
        });
    }
}

/// The scrubber: a bar over the capture's time with the packet density and
/// markers for handshakes, upgrades and closes; click or drag to move.
fn scrubber_ui(ui: &mut egui::Ui, state: &State, cmds: &mut Vec<Command>) {
    let r = &state.panels.replay;
    let Some(l) = &state.doc.loaded else { return };
    let n = l.len();
    let (rect, resp) = ui.allocate_exact_size(egui::vec2(ui.available_width(), 26.0), egui::Sense::click_and_drag());
    let p = ui.painter_at(rect);
    p.rect_filled(rect, 3.0, ui.visuals().extreme_bg_color);
    let total = r.times.last().copied().unwrap_or(0.0).max(1e-9);
    let x_of = |t: f64| rect.left() + (t / total) as f32 * rect.width();
    // Density: frames per column.
    let cols = rect.width().max(1.0) as usize;
    let mut hist = vec![0u32; cols];
    for &t in &r.times {
        let c = ((t / total) * (cols - 1) as f64) as usize;
        if let Some(h) = hist.get_mut(c) {
            *h += 1;
        }
    }
    let max = hist.iter().copied().max().unwrap_or(1).max(1) as f32;
    for (c, h) in hist.iter().enumerate().filter(|(_, h)| **h > 0) {
        let hgt = 4.0 + (*h as f32 / max).sqrt() * (rect.height() - 6.0);
        let x = rect.left() + c as f32;
        p.line_segment(
            [egui::pos2(x, rect.bottom()), egui::pos2(x, rect.bottom() - hgt)],
            egui::Stroke::new(1.0, egui::Color32::from_rgb(110, 140, 200)),
        );
    }
    // Markers: handshakes (green), upgrades (orange), closes (red).
    for e in &l.events {
        let color = match e.kind {
            MsgKind::TcpOpen | MsgKind::WsHandshake | MsgKind::EioOpen => egui::Color32::from_rgb(80, 180, 100),
            MsgKind::EioUpgrade => egui::Color32::from_rgb(240, 160, 60),
            MsgKind::TcpClose | MsgKind::TcpReset | MsgKind::WsClose => egui::Color32::from_rgb(220, 80, 80),
            _ => continue,
        };
        if let Some(&t) = r.times.get(e.frame) {
            let x = x_of(t);
            p.line_segment([egui::pos2(x, rect.top()), egui::pos2(x, rect.top() + 7.0)], egui::Stroke::new(2.0, color));
        }
    }
    for &f in &r.retransmissions {
        if let Some(&t) = r.times.get(f) {
            let x = x_of(t);
            p.line_segment(
                [egui::pos2(x, rect.bottom() - 7.0), egui::pos2(x, rect.bottom())],
                egui::Stroke::new(2.0, egui::Color32::from_rgb(190, 90, 220)),
            );
        }
    }
    // The cursor.
    let x = x_of(r.time_at(r.cursor));
    p.line_segment(
        [egui::pos2(x, rect.top()), egui::pos2(x, rect.bottom())],
        egui::Stroke::new(2.0, egui::Color32::RED),
    );
    if (resp.clicked() || resp.dragged())
        && let Some(pos) = resp.interact_pointer_pos()
    {
        let t = f64::from((pos.x - rect.left()) / rect.width()) * total;
        let c = r.times.partition_point(|&x| x <= t);
        cmds.push(Command::Replay(ReplayCmd::Seek(c.min(n))));
    }
    resp.on_hover_text(
        "Click or drag to move in time. Marks: green handshakes, orange upgrades, red closes, purple (below) retransmissions.",
    );
}

/// What each side knows at the cursor: TCP connection states, WebSocket
/// states, Engine.IO transports, the namespaces seen so far.
pub fn state_ui(ui: &mut egui::Ui, state: &State) {
    let r = &state.panels.replay;
    let Some(l) = &state.doc.loaded else { return };
    let mut tcp: std::collections::BTreeMap<u32, (&str, &str)> = Default::default();
    let mut ws: std::collections::BTreeMap<u32, &str> = Default::default();
    let mut eio: std::collections::BTreeMap<u32, &str> = Default::default();
    let mut nsps: std::collections::BTreeSet<String> = Default::default();
    let mut closed_by: std::collections::HashMap<u32, Vec<Option<bool>>> = Default::default();
    for (k, e) in l.events.iter().enumerate() {
        // A handshake under way: its SYN has happened, its last ACK not yet.
        if e.kind == MsgKind::TcpOpen && e.first < r.cursor && r.cursor <= e.frame {
            tcp.insert(e.stream, ("SYN-SENT", "SYN-RECEIVED"));
        }
        if e.frame >= r.cursor {
            continue;
        }
        match e.kind {
            MsgKind::TcpOpen => {
                tcp.insert(e.stream, ("ESTABLISHED", "ESTABLISHED"));
            }
            MsgKind::TcpReset => {
                tcp.insert(e.stream, ("CLOSED", "CLOSED"));
            }
            MsgKind::TcpClose => {
                let by = closed_by.entry(e.stream).or_default();
                by.push(e.from_client);
                let st = match (by.len(), e.from_client) {
                    (1, Some(true)) => ("FIN-WAIT", "CLOSE-WAIT"),
                    (1, _) => ("CLOSE-WAIT", "FIN-WAIT"),
                    (_, Some(true)) => ("LAST-ACK → CLOSED", "TIME-WAIT"),
                    (_, _) => ("TIME-WAIT", "LAST-ACK → CLOSED"),
                };
                tcp.insert(e.stream, st);
            }
            MsgKind::WsHandshake => {
                ws.insert(e.stream, "connecting");
            }
            MsgKind::HttpResponse if ws.get(&e.stream) == Some(&"connecting") => {
                ws.insert(e.stream, "open");
            }
            MsgKind::WsClose => {
                let now = if ws.get(&e.stream) == Some(&"closing") { "closed" } else { "closing" };
                ws.insert(e.stream, now);
            }
            MsgKind::EioOpen => {
                eio.insert(
                    e.session.unwrap_or(u32::MAX),
                    if ws.contains_key(&e.stream) { "websocket" } else { "polling" },
                );
            }
            MsgKind::EioUpgrade => {
                eio.insert(e.session.unwrap_or(u32::MAX), "websocket");
            }
            _ => {}
        }
        if matches!(e.kind, MsgKind::SioConnect | MsgKind::SioEvent | MsgKind::SioAck) {
            // The namespace is the word after the packet type in the text ("EVENT /admin …").
            if let Some(nsp) = l.event_text(k).split_whitespace().nth(1).filter(|w| w.starts_with('/')) {
                nsps.insert(nsp.trim_end_matches(',').to_string());
            }
        }
    }
    ui.strong("At the cursor");
    if tcp.is_empty() {
        ui.weak("No TCP connection is open yet.");
    }
    for (s, (c, sv)) in &tcp {
        ui.label(format!("TCP stream {s}: client {c}, server {sv}"));
    }
    for (s, st) in &ws {
        ui.label(format!("WebSocket on stream {s}: {st}"));
    }
    for (sess, t) in &eio {
        let sid = l.sessions.get(*sess as usize).map(String::as_str).unwrap_or("?");
        ui.label(format!("Engine.IO session {sid}: {t}"));
    }
    if !nsps.is_empty() {
        ui.label(format!(
            "Socket.IO namespaces seen: {} (rooms never cross the wire unless the app names them)",
            nsps.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
}
