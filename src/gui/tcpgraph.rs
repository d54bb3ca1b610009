//! The TCP graphs window: the selected connection, in the direction that
//! carries data, as [`crate::tcpgraph`] reads it — the time-sequence graph
//! (tcptrace style), throughput, the round trip of each segment, and bytes
//! in flight against the receiver's window. Built on a thread; zoom and pan
//! as any plot; a click on a point selects its frame; during a replay only
//! the past is drawn. Opened with G or a packet row's menu.

use egui_plot::{Corner, Legend, Line, Plot, PlotPoint, PlotPoints, PlotTransform, Points};

use crate::tcpgraph::Graph;

use super::keyed::Keyed;
use super::{Command, State};

/// Which graph the window shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kind {
    #[default]
    TimeSequence,
    Throughput,
    RoundTrip,
    Window,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::TimeSequence, Kind::Throughput, Kind::RoundTrip, Kind::Window];

    /// The graph a lab names (`crate::tcpgraph::GRAPHS`, in the order of `ALL`).
    pub fn from_id(id: &str) -> Option<Kind> {
        crate::tcpgraph::GRAPHS.iter().position(|g| *g == id).map(|i| Kind::ALL[i])
    }

    fn name(self) -> &'static str {
        match self {
            Kind::TimeSequence => "Time / sequence",
            Kind::Throughput => "Throughput",
            Kind::RoundTrip => "Round trip",
            Kind::Window => "In flight / window",
        }
    }

    /// How to read it, in two sentences.
    fn explain(self) -> &'static str {
        match self {
            Kind::TimeSequence => {
                "Each bar is a segment, from its first byte to its last: the steeper the staircase, the faster the \
                 sender; red bars were sent again. The green line is what the receiver has acknowledged and the \
                 blue one how far its window lets the sender go; purple bars are SACK blocks, data that arrived \
                 beyond a gap."
            }
            Kind::Throughput => {
                "Data bytes the sender put on the wire per second, slice by slice of the connection's time. Slow \
                 start shows as a climb, a loss as a dip while TCP waits for the segment sent again."
            }
            Kind::RoundTrip => {
                "Each point is one acknowledged segment: how long its ACK took to come back, seen where the \
                 capture was made. Points climb when a queue fills and jump when an ACK waits for a segment sent \
                 again."
            }
            Kind::Window => {
                "Orange points are the bytes the sender has sent and not yet seen acknowledged; the blue line is \
                 the room the receiver offers. When the points reach the line the sender must wait (window full); \
                 a line at zero means the reading program has stopped reading."
            }
        }
    }
}

/// What a graph was built for: the capture, the stream, the sender's and receiver's ports.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphKey {
    pub capture: String,
    pub stream: u32,
    pub ports: (u16, u16),
}

#[derive(Default)]
pub struct TcpGraphView {
    pub shown: bool,
    pub kind: Kind,
    /// The graph shown, built on a thread.
    pub work: Keyed<GraphKey, Graph>,
    /// The points last drawn (frame, position on the plot) and where.
    pub drawn: Vec<(u64, PlotPoint)>,
    pub transform: Option<PlotTransform>,
}

impl TcpGraphView {
    /// Where frame `frame`'s point was last drawn, on screen.
    pub fn point_on_screen(&self, frame: u64) -> Option<egui::Pos2> {
        let p = self.drawn.iter().find(|(f, _)| *f == frame)?.1;
        Some(self.transform?.position_from_point(&p))
    }
}

/// The graph the window should show now.
pub fn wanted(state: &State) -> Result<GraphKey, &'static str> {
    let l = state.doc.loaded.as_ref().ok_or("Open a capture.")?;
    if l.cap.is_none() || state.doc.capturing {
        return Err("A live capture gets its graphs once it is saved and opened.");
    }
    let (d, _) = state.view.detail.as_ref().ok_or("Select a packet of a TCP connection.")?;
    let (stream, ports) =
        crate::tcpgraph::direction_of(d).ok_or("The selected packet is not part of a TCP connection.")?;
    Ok(GraphKey { capture: format!("{}:{}", l.name, l.len()), stream, ports })
}

/// The graph for `k` (on the graph's thread).
pub fn build(s: &crate::session::Session, k: &GraphKey) -> Graph {
    crate::tcpgraph::build(s, k.stream, k.ports)
}

const GREEN: egui::Color32 = egui::Color32::from_rgb(60, 170, 90);
const BLUE: egui::Color32 = egui::Color32::from_rgb(90, 150, 230);
const RED: egui::Color32 = egui::Color32::from_rgb(220, 70, 60);
const PURPLE: egui::Color32 = egui::Color32::from_rgb(160, 100, 220);
const ORANGE: egui::Color32 = egui::Color32::from_rgb(240, 150, 40);

pub fn tcpgraph_ui(ctx: &egui::Context, state: &mut State, cmds: &mut Vec<Command>) {
    let mut open = state.panels.tcpgraph.shown;
    egui::Window::new("TCP graphs").open(&mut open).default_size([900.0, 560.0]).show(ctx, |ui| {
        ui.horizontal_wrapped(|ui| {
            for k in Kind::ALL {
                if ui.selectable_label(state.panels.tcpgraph.kind == k, k.name()).clicked() {
                    cmds.push(Command::TcpGraphKind(k));
                }
            }
        });
        let key = match wanted(state) {
            Ok(k) => k,
            Err(why) => {
                ui.label(why);
                return;
            }
        };
        let v = &state.panels.tcpgraph;
        let Some(g) = v.work.get(&key) else {
            ui.label("Reading the connection…");
            return;
        };
        let r = &state.panels.replay;
        // The whole graph is drawn from the built one, not a copy per frame.
        let g = if r.on { std::borrow::Cow::Owned(g.until(r.cursor as u64)) } else { std::borrow::Cow::Borrowed(g) };
        ui.weak(format!(
            "TCP stream {}: data from port {} to port {}; {} segments, {} ACKs{}",
            g.stream,
            g.ports.0,
            g.ports.1,
            g.segments.len(),
            g.acks.len(),
            if r.on { " up to the replay's cursor" } else { "" }
        ));
        ui.label(v.kind.explain());
        let selected = state.view.selected.map(|i| i as u64 + 1);
        let kind = v.kind;
        let (drawn, t) = plot(ui, kind, &g, selected, cmds);
        state.panels.tcpgraph.drawn = drawn;
        state.panels.tcpgraph.transform = Some(t);
    });
    state.panels.tcpgraph.shown = open;
}

/// Draws one graph; a click selects the frame of the nearest point (within
/// 12 points on screen). Returns the points drawn and where.
fn plot(
    ui: &mut egui::Ui,
    kind: Kind,
    g: &Graph,
    selected: Option<u64>,
    cmds: &mut Vec<Command>,
) -> (Vec<(u64, PlotPoint)>, PlotTransform) {
    let ms = |t: f64| t * 1000.0;
    let mut drawn: Vec<(u64, PlotPoint)> = Vec::new();
    let (y_label, id) = match kind {
        Kind::TimeSequence => ("sequence number (bytes)", "tcp-tseq"),
        Kind::Throughput => ("bytes per second", "tcp-throughput"),
        Kind::RoundTrip => ("round trip (ms)", "tcp-rtt"),
        Kind::Window => ("bytes", "tcp-window"),
    };
    let bars = ui.visuals().strong_text_color();
    let shown = Plot::new(id)
        .height(ui.available_height().clamp(200.0, 600.0))
        .legend(Legend::default().position(Corner::RightBottom))
        .x_axis_label("ms since the connection's first frame")
        .y_axis_label(y_label)
        .include_y(0.0)
        .allow_scroll(false)
        .show(ui, |p| match kind {
            Kind::TimeSequence => {
                let step = |f: &dyn Fn(&crate::tcpgraph::Ack) -> f64| -> Vec<[f64; 2]> {
                    let mut pts: Vec<[f64; 2]> = Vec::new();
                    for a in &g.acks {
                        if let Some(&[_, y]) = pts.last() {
                            pts.push([ms(a.t), y]);
                        }
                        pts.push([ms(a.t), f(a)]);
                    }
                    pts
                };
                p.line(Line::new("receive window", PlotPoints::from(step(&|a| (a.ack + a.window) as f64))).color(BLUE));
                p.line(Line::new("acknowledged", PlotPoints::from(step(&|a| a.ack as f64))).color(GREEN));
                for a in &g.acks {
                    for (le, re) in &a.sacks {
                        p.line(
                            Line::new("SACK", PlotPoints::from(vec![[ms(a.t), *le as f64], [ms(a.t), *re as f64]]))
                                .color(PURPLE)
                                .width(3.0),
                        );
                    }
                    drawn.push((a.frame, PlotPoint::new(ms(a.t), a.ack as f64)));
                }
                // The segments last, on top of the lines they sit on.
                for s in &g.segments {
                    let x = ms(s.t);
                    let top = s.seq + s.len.max(1);
                    let color = match (s.retransmitted, selected == Some(s.frame)) {
                        (true, _) => RED,
                        (false, true) => ORANGE,
                        (false, false) => bars,
                    };
                    p.line(
                        Line::new("segments", PlotPoints::from(vec![[x, s.seq as f64], [x, top as f64]]))
                            .color(color)
                            .width(if s.retransmitted { 2.5 } else { 1.5 }),
                    );
                    drawn.push((s.frame, PlotPoint::new(x, top as f64)));
                }
            }
            Kind::Throughput => {
                let pts: Vec<[f64; 2]> = g.throughput(60).iter().map(|(t, r)| [ms(*t), *r]).collect();
                p.line(Line::new("throughput", PlotPoints::from(pts)).color(BLUE).fill(0.0));
                for s in g.segments.iter().filter(|s| s.len > 0) {
                    drawn.push((s.frame, PlotPoint::new(ms(s.t), 0.0)));
                }
            }
            Kind::RoundTrip => {
                let pts: Vec<[f64; 2]> = g.rtts().map(|(_, _, t, rtt)| [ms(t), ms(rtt)]).collect();
                p.points(Points::new("round trip of a segment", pts).radius(3.0).color(ORANGE));
                drawn.extend(g.rtts().map(|(f, _, t, rtt)| (f, PlotPoint::new(ms(t), ms(rtt)))));
            }
            Kind::Window => {
                let window: Vec<[f64; 2]> = g.acks.iter().map(|a| [ms(a.t), a.window as f64]).collect();
                p.line(Line::new("receiver's window", PlotPoints::from(window)).color(BLUE));
                let flight: Vec<[f64; 2]> =
                    g.segments.iter().filter_map(|s| Some([ms(s.t), s.in_flight? as f64])).collect();
                p.points(Points::new("bytes in flight", flight).radius(2.5).color(ORANGE));
                drawn.extend(
                    g.segments.iter().filter_map(|s| Some((s.frame, PlotPoint::new(ms(s.t), s.in_flight? as f64)))),
                );
                drawn.extend(g.acks.iter().map(|a| (a.frame, PlotPoint::new(ms(a.t), a.window as f64))));
            }
        });
    let t = shown.transform;
    let under = |pos: egui::Pos2| {
        drawn
            .iter()
            .map(|(f, p)| (*f, t.position_from_point(p).distance(pos)))
            .filter(|(_, d)| *d <= 12.0)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(f, _)| f)
    };
    if let Some(f) = shown.response.hover_pos().and_then(under) {
        shown.response.clone().on_hover_text(format!("frame {f} (click to select it)"));
    }
    if shown.response.clicked()
        && let Some(f) = shown.response.interact_pointer_pos().and_then(under)
    {
        cmds.push(Command::Select(f.saturating_sub(1) as usize));
    }
    (drawn, t)
}
