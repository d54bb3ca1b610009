//! The TCP versus UDP panel: the knobs of `wirelab compare`, Run (on a
//! thread), and side by side for each transport: every message's number
//! against when it was delivered (TCP's stair-steps while it waits for a
//! retransmission; UDP's gaps and out-of-order points), its latencies, and
//! the counts. The recording opens in the packet list; a click on a point
//! selects that message's packets.

use std::sync::mpsc::Receiver;

use egui_plot::{Bar, BarChart, Corner, Legend, Plot, PlotPoint, PlotTransform, Points, VLine};

use crate::serve::compare::{CompareConfig, Comparison, MessageResult, TransportResult};
use crate::serve::transport::Impairment;

use super::{Command, State};

pub struct CompareView {
    pub shown: bool,
    /// The knobs: what `wirelab compare` takes.
    pub cfg: CompareConfig,
    pub job: Option<Receiver<Result<Comparison, String>>>,
    pub result: Option<Comparison>,
    /// Where each transport's delivery plot was last drawn (TCP, UDP): a
    /// pointer's position is matched to the nearest point on screen.
    pub plots: [Option<PlotTransform>; 2],
    /// Where each transport's round-trip histogram was last drawn.
    pub histograms: [Option<PlotTransform>; 2],
}

/// What both transports' plots share, so that they can be compared: the
/// time axis (ms), the message numbers, the round-trip axis (ms).
#[derive(Clone, Copy)]
struct Scale {
    time_ms: f64,
    count: f64,
    rtt_ms: f64,
}

impl Scale {
    fn of(r: &Comparison) -> Scale {
        let sides = [&r.tcp, &r.udp];
        let time_ms = sides
            .iter()
            .flat_map(|t| t.messages.iter().filter_map(move |m| point_of(m, origin(t)).map(|p| p.x)))
            .fold(1.0, f64::max);
        let rtt_ms = sides.iter().flat_map(|t| rtts(t)).fold(0.001, f64::max);
        let count = sides.iter().map(|t| t.messages.len()).max().unwrap_or(1) as f64;
        Scale { time_ms, count, rtt_ms }
    }
}

/// Each delivered message's round trip, ms.
fn rtts(r: &TransportResult) -> Vec<f64> {
    r.messages.iter().filter_map(|m| Some((m.delivered? - m.sent?) * 1000.0)).filter(|x| *x >= 0.0).collect()
}

impl Default for CompareView {
    fn default() -> Self {
        CompareView {
            shown: false,
            cfg: CompareConfig {
                count: 100,
                size: 64,
                rate: 200.0,
                impair: Impairment { loss: 0.1, ..Impairment::default() },
                write: None,
            },
            job: None,
            result: None,
            plots: [None, None],
            histograms: [None, None],
        }
    }
}

impl CompareView {
    /// Starts a comparison on a thread.
    pub fn start(&mut self) -> Result<(), String> {
        let cfg = self.cfg.clone();
        self.spawn("wirelab-compare", move || crate::serve::compare::run(&cfg))
    }

    /// Opens a comparison saved with `wirelab compare --format json` (and
    /// its recording), on a thread, as if it had just run.
    pub fn open(&mut self, path: std::path::PathBuf) -> Result<(), String> {
        self.shown = true;
        self.spawn("wirelab-compare-open", move || crate::serve::compare::load(&path))
    }

    /// Runs `job` on a thread; its comparison arrives through `self.job`.
    fn spawn(
        &mut self,
        name: &str,
        job: impl FnOnce() -> anyhow::Result<Comparison> + Send + 'static,
    ) -> Result<(), String> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let _ = tx.send(job().map_err(|e| format!("{e:#}")));
            })
            .map_err(|e| format!("cannot start the comparison: {e}"))?;
        self.job = Some(rx);
        Ok(())
    }

    /// The screen position of one message's point (delivered, or lost: when sent).
    pub fn point_on_screen(&self, side: Side, seq: u32) -> Option<egui::Pos2> {
        let t = side.of(self.result.as_ref()?);
        let m = t.messages.iter().find(|m| m.seq == seq)?;
        Some(self.plots[side as usize]?.position_from_point(&point_of(m, origin(t))?))
    }
}

/// When a transport's first message was sent (s): its plots count from there.
fn origin(t: &TransportResult) -> f64 {
    t.messages.iter().filter_map(|m| m.sent).reduce(f64::min).unwrap_or(0.0)
}

/// Where a message is plotted: its delivery time, or (lost) its send time,
/// in ms after the transport's first message was sent.
fn point_of(m: &MessageResult, origin: f64) -> Option<PlotPoint> {
    Some(PlotPoint::new((m.delivered.or(m.sent)? - origin) * 1000.0, f64::from(m.seq)))
}

/// Which transport's plot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Tcp,
    Udp,
}

impl Side {
    /// This transport's results.
    pub fn of(self, r: &Comparison) -> &TransportResult {
        if self == Side::Tcp { &r.tcp } else { &r.udp }
    }
}

pub fn compare_ui(ctx: &egui::Context, state: &mut State, cmds: &mut Vec<Command>) {
    let mut open = state.panels.compare.shown;
    egui::Window::new("TCP versus UDP").open(&mut open).default_size([960.0, 560.0]).show(ctx, |ui| {
        let v = &mut state.panels.compare;
        ui.label(
            "The same numbered messages over TCP and over UDP, through the same loss. Loss happens in the kernel \
             (so TCP really retransmits) when wirelab may add firewall rules; otherwise only UDP is impaired.",
        );
        let percent = |v: f64, _: std::ops::RangeInclusive<usize>| format!("{:.0}%", v * 100.0);
        ui.horizontal_wrapped(|ui| {
            let imp = &mut v.cfg.impair;
            for (name, p) in [("loss", &mut imp.loss), ("duplicate", &mut imp.duplicate), ("reorder", &mut imp.reorder)]
            {
                let l = ui.label(name);
                ui.add(egui::Slider::new(p, 0.0..=crate::capture::helper::MAX_KERNEL_LOSS).custom_formatter(percent))
                    .labelled_by(l.id);
            }
        });
        ui.horizontal_wrapped(|ui| {
            let l = ui.label("delay ms");
            let mut ms = v.cfg.impair.delay.as_millis() as u64;
            if ui.add(egui::DragValue::new(&mut ms).range(0..=1000)).labelled_by(l.id).changed() {
                v.cfg.impair.delay = std::time::Duration::from_millis(ms);
            }
            let l = ui.label("messages");
            ui.add(egui::DragValue::new(&mut v.cfg.count).range(1..=10_000)).labelled_by(l.id);
            let l = ui.label("per second");
            ui.add(egui::DragValue::new(&mut v.cfg.rate).range(1.0..=10_000.0)).labelled_by(l.id);
            let l = ui.label("seed");
            ui.add(egui::DragValue::new(&mut v.cfg.impair.seed)).labelled_by(l.id);
            let running = v.job.is_some();
            if ui.add_enabled(!running, egui::Button::new(if running { "Running…" } else { "▶ Run" })).clicked() {
                cmds.push(Command::CompareRun);
            }
        });
        let Some(r) = &state.panels.compare.result else { return };
        for n in &r.notes {
            ui.colored_label(egui::Color32::from_rgb(220, 160, 60), n);
        }
        ui.weak(format!("Injected: {}", r.injected.text()));
        let scale = Scale::of(r);
        let (mut plots, mut histograms) = ([None, None], [None, None]);
        ui.columns(2, |cols| {
            (plots[0], histograms[0]) = side_ui(&mut cols[0], Side::Tcp, &r.tcp, scale, cmds);
            (plots[1], histograms[1]) = side_ui(&mut cols[1], Side::Udp, &r.udp, scale, cmds);
        });
        state.panels.compare.plots = plots;
        state.panels.compare.histograms = histograms;
    });
    state.panels.compare.shown = open;
}

/// One transport: its counts, the delivery plot, why TCP's stairs, the
/// segments sent again and the round-trip histogram, on the shared scale.
fn side_ui(
    ui: &mut egui::Ui,
    side: Side,
    r: &TransportResult,
    scale: Scale,
    cmds: &mut Vec<Command>,
) -> (Option<PlotTransform>, Option<PlotTransform>) {
    let name = if side == Side::Tcp { "TCP" } else { "UDP" };
    ui.heading(name);
    ui.label(format!(
        "{}{}",
        r.counts(),
        if r.retransmitted.is_empty() {
            String::new()
        } else {
            format!(" as Wireshark flags them ({} segments sent again)", r.retransmitted.len())
        }
    ));
    ui.label(format!(
        "round trip: median {:.2} ms, p99 {:.2} ms, max {:.2} ms{}",
        r.latency_ms.p50,
        r.latency_ms.p99,
        r.latency_ms.max,
        if side == Side::Tcp {
            format!("; waited behind a loss: max {:.2} ms", r.hol_blocking_ms.max)
        } else {
            String::new()
        }
    ));
    let t0 = origin(r);
    let xy = |m: &MessageResult| point_of(m, t0).map(|p| [p.x, p.y]);
    let delivered: Vec<[f64; 2]> = r.messages.iter().filter(|m| m.delivered.is_some()).filter_map(xy).collect();
    let lost: Vec<[f64; 2]> = r.messages.iter().filter(|m| m.delivered.is_none()).filter_map(xy).collect();
    if delivered.is_empty() && lost.is_empty() {
        ui.colored_label(
            egui::Color32::from_rgb(220, 160, 60),
            format!("Nothing to plot: no {name} message was sent (see the notes above)."),
        );
        return (None, None);
    }
    // Points climb from bottom left to top right: the legend sits in the
    // empty top-left corner; both transports share the axes' ranges.
    let plot = Plot::new(("compare-seq", name))
        .height(220.0)
        .legend(Legend::default().position(Corner::LeftTop))
        .x_axis_label("ms after the first request (reply delivered; lost: when sent)")
        .y_axis_label("message number")
        .default_x_bounds(-0.03 * scale.time_ms, 1.03 * scale.time_ms)
        .include_y(0.0)
        .include_y(scale.count)
        .allow_scroll(false)
        .show(ui, |p| {
            p.points(
                Points::new("delivered", delivered.clone()).radius(2.5).color(egui::Color32::from_rgb(90, 150, 230)),
            );
            if !lost.is_empty() {
                p.points(
                    Points::new("lost (when sent)", lost.clone())
                        .radius(6.0)
                        .filled(true)
                        .shape(egui_plot::MarkerShape::Diamond)
                        .color(egui::Color32::from_rgb(255, 120, 40)),
                );
            }
        });
    // The message under the pointer: the nearest point on screen, within 12 points.
    let t = plot.transform;
    let under = |pos: egui::Pos2| {
        r.messages
            .iter()
            .filter_map(|m| Some((m, t.position_from_point(&point_of(m, t0)?).distance(pos))))
            .filter(|(_, d)| *d <= 12.0)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(m, _)| m)
    };
    let hovered = plot.response.hover_pos().and_then(under);
    if let Some(m) = hovered {
        let ms = |t: Option<f64>| t.map(|t| format!("{:.1} ms", t * 1000.0)).unwrap_or_else(|| "never".into());
        let frames: Vec<String> = m.frames.iter().map(u64::to_string).collect();
        plot.response.clone().on_hover_text(format!(
            "message {}: sent at {}, reply delivered at {}; frames {} (click to select)",
            m.seq,
            ms(m.sent),
            ms(m.delivered),
            if frames.is_empty() { "none".into() } else { frames.join(", ") }
        ));
    }
    if plot.response.clicked()
        && let Some(m) = plot.response.interact_pointer_pos().and_then(under)
    {
        cmds.push(Command::CompareSelect(side, m.seq));
    }
    if !r.retransmitted.is_empty() {
        stairs_ui(ui, r, cmds);
        retransmissions_ui(ui, r, cmds);
    }
    // The round trips, as a histogram over both transports' whole range,
    // with the median and p99 marked.
    let rtts = rtts(r);
    if rtts.is_empty() {
        ui.colored_label(
            egui::Color32::from_rgb(220, 160, 60),
            format!("No round trips to show: no reply came back over {name}."),
        );
        return (Some(t), None);
    }
    let bins = 24;
    let w = scale.rtt_ms / bins as f64;
    let mut counts = vec![0u32; bins];
    for x in &rtts {
        counts[((x / w) as usize).min(bins - 1)] += 1;
    }
    let tallest = counts.iter().copied().max().unwrap_or(1);
    let bars: Vec<Bar> =
        counts.iter().enumerate().map(|(k, c)| Bar::new((k as f64 + 0.5) * w, f64::from(*c)).width(w * 0.9)).collect();
    let hist = Plot::new(("compare-rtt", name))
        .height(120.0)
        .legend(Legend::default().position(Corner::RightTop))
        .x_axis_label("round trip (ms)")
        .y_axis_label("messages")
        .default_x_bounds(-0.03 * scale.rtt_ms, 1.03 * scale.rtt_ms)
        .include_y(0.0)
        // Headroom for the legend above the tallest bar.
        .include_y(f64::from(tallest) * 1.6)
        .allow_scroll(false)
        .show(ui, |p| {
            p.bar_chart(BarChart::new("round trips", bars));
            p.vline(VLine::new(format!("median {:.1} ms", r.latency_ms.p50), r.latency_ms.p50));
            p.vline(
                VLine::new(format!("p99 {:.1} ms", r.latency_ms.p99), r.latency_ms.p99)
                    .color(egui::Color32::from_rgb(255, 120, 40)),
            );
        });
    (Some(t), Some(hist.transform))
}

/// Why TCP's plot climbs in stairs: in-order delivery waits for the
/// segment sent again, and what made TCP send it (the timer, or duplicate
/// ACKs), linked to that segment.
fn stairs_ui(ui: &mut egui::Ui, r: &TransportResult, cmds: &mut Vec<Command>) {
    let timer = r.retransmitted.iter().find(|x| x.flagged.as_deref() == Some("tcp.analysis.retransmission"));
    let fast = r.retransmitted.iter().find(|x| x.flagged.as_deref() == Some("tcp.analysis.fast_retransmission"));
    // On loopback Linux often resends long before its 200 ms timeout: a
    // tail-loss probe fires after about two round trips.
    let timeout = if r.hol_blocking_ms.max >= 150.0 {
        "its retransmission timeout (RTO, at least 200 ms on Linux) ran out"
    } else {
        "a timer ran out with no acknowledgement (on loopback Linux probes after about two round trips, \
         long before its 200 ms timeout)"
    };
    let Some((x, why)) = timer
        .map(|x| (x, timeout))
        .or(fast.map(|x| (x, "three duplicate ACKs asked for it (fast retransmit)")))
        .or(r.retransmitted.first().map(|x| (x, "it was sent again")))
    else {
        return;
    };
    ui.label(format!(
        "The stairs: TCP hands replies to the program in order, so every reply behind a lost segment waits \
         (here up to {:.0} ms) until that segment comes again. The sender resends when {why}.",
        r.hol_blocking_ms.max
    ));
    ui.horizontal(|ui| {
        ui.label("A segment sent again:");
        if ui.link(format!("frame {}", x.frame)).on_hover_text("Select it in the packet list").clicked() {
            cmds.push(Command::Select(x.frame.saturating_sub(1) as usize));
        }
    });
}

/// Each retransmission, as links: the segment it repeats and the injected drop behind it.
fn retransmissions_ui(ui: &mut egui::Ui, r: &TransportResult, cmds: &mut Vec<Command>) {
    let link = |ui: &mut egui::Ui, frame: u64, cmds: &mut Vec<Command>| {
        if ui.link(format!("frame {frame}")).clicked() {
            cmds.push(Command::Select(frame.saturating_sub(1) as usize));
        }
    };
    egui::CollapsingHeader::new(format!("Sent again ({} segments): what each repeats, and why", r.retransmitted.len()))
        .id_salt("compare-retransmissions")
        .show(ui, |ui| {
            egui::ScrollArea::vertical().max_height(110.0).show(ui, |ui| {
                for x in &r.retransmitted {
                    ui.horizontal_wrapped(|ui| {
                        link(ui, x.frame, cmds);
                        match x.repeats {
                            Some(f) => {
                                ui.label("repeats");
                                link(ui, f, cmds);
                            }
                            None => {
                                ui.label("repeats a segment sent before the recording began");
                            }
                        }
                        match x.cause {
                            Some(c) if Some(c) == x.repeats => {
                                ui.label("which the firewall dropped");
                            }
                            Some(c) => {
                                ui.label("because the firewall dropped");
                                link(ui, c, cmds);
                            }
                            None => {
                                ui.label("(no injected drop before it)");
                            }
                        }
                        let wireshark = match x.flagged.as_deref() {
                            Some("tcp.analysis.out_of_order") => "Out-Of-Order (it came within a round trip)",
                            Some("tcp.analysis.fast_retransmission") => "Fast Retransmission",
                            Some("tcp.analysis.spurious_retransmission") => "Spurious Retransmission",
                            Some(_) => "Retransmission",
                            None => "nothing",
                        };
                        ui.weak(format!("— Wireshark calls it {wireshark}"));
                    });
                }
            });
        });
}
