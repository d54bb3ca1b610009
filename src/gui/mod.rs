//! The desktop GUI (eframe/egui): packet list, the layer view (OSI beside
//! TCP/IP), bytes with the selected field highlighted, and a display filter.
//!
//! UI code reads [`State`] and pushes [`Command`]s; the app applies them after
//! the frame. Loading and filtering run on their own threads and post their
//! results over channels; the UI thread only drains them and never blocks.

mod bytes;
mod class;
mod compare;
mod conversation;
mod demos;
mod glossary;
mod keyed;
mod lab;
mod ladder;
mod layers;
mod loader;
mod ownlabs;
mod packets;
mod replay;
mod tcpgraph;
mod texts;

use std::path::PathBuf;
use std::sync::Arc;

use crate::file::Capture;
use crate::filter::{Filter, FilterError};
use crate::model::Dissection;

pub use compare::{CompareView, Side};
pub use demos::{Demos, ScenarioDone};
pub use glossary::GlossaryView;
pub use lab::LabPanel;
pub use loader::{Event, Loaded};
pub use replay::{Guess, ReplayCmd, ReplayView};
pub use tcpgraph::{Kind as TcpGraphKind, TcpGraphView};

/// The capture the window opens on: the Socket.IO chat traffic.
pub const DEFAULT_CAPTURE: &[u8] = include_bytes!("../../captures/socketio-node.pcap");
pub const DEFAULT_CAPTURE_NAME: &str = "socketio-node.pcap (built in)";

/// Settings remembered between runs.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    pub dark: bool,
    pub zoom: f32,
    pub recent: Vec<PathBuf>,
    /// The welcome has been seen (the first screen offers the labs until then).
    pub welcomed: bool,
    /// The student's id and course key, entered once for every lab.
    pub student: String,
    pub course_key: String,
    /// Glossary terms already seen in the student's packets.
    pub seen_terms: std::collections::BTreeSet<String>,
    /// Where each capture's replay was left (by path).
    pub replay_at: std::collections::BTreeMap<String, usize>,
    /// The side panel (conversation, ladder, glossary) beside a lab on a
    /// screen too narrow for both: folded unless the student opens it.
    pub side_panel_with_lab: bool,
    /// The TLS key log opened for each capture (by path), used again when
    /// the capture opens.
    pub key_logs: std::collections::BTreeMap<String, PathBuf>,
    /// A teacher's folder of lab files, shown beside the bundled labs.
    pub labs_folder: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            dark: true,
            zoom: 1.0,
            recent: Vec::new(),
            welcomed: false,
            student: String::new(),
            course_key: String::new(),
            seen_terms: Default::default(),
            replay_at: Default::default(),
            side_panel_with_lab: false,
            key_logs: Default::default(),
            labs_folder: String::new(),
        }
    }
}

/// Narrower than this, a window with a lab open folds the side panel, so
/// the packet list keeps its Info column (1366×768 and 1280×800 laptops).
pub const ROOM_FOR_LAB_AND_SIDE: f32 = 1600.0;
/// The characters of a packet comment shown in the layers (the rest on the bytes tab).
pub const MAX_COMMENT_SHOWN: usize = 2000;

/// The live-capture controls.
pub struct LiveUi {
    pub interfaces: Vec<String>,
    pub interface: String,
    pub filter: String,
    /// Keep the newest frame in view while capturing.
    pub follow: bool,
    pub stats: Option<crate::capture::CaptureStats>,
}

/// What the UI asks the app to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    StartCapture,
    StopCapture,
    /// "Follow the newest" on or off (scrolling away turns it off).
    SetFollow(bool),
    /// Sort the packet list by this column (again: reverse).
    Sort(usize),
    /// Write the frames shown (after the filter) to a pcap file.
    Save(PathBuf),
    Open(PathBuf),
    Select(usize),
    SelectField(Option<usize>),
    SetFilter(String),
    SetSource(u16),
    SetDark(bool),
    /// Change the text size by this much (A− / A+).
    Zoom(f32),
    /// The interface a live capture will use.
    SetInterface(String),
    /// The conversation panel shows the whole Engine.IO session (or one connection).
    BySession(bool),
    /// The ladder follows the selected frame's broadcast.
    LadderBroadcast(bool),
    /// The TCP graphs window shown (true) or closed.
    TcpGraphs(bool),
    /// Which TCP graph it shows.
    TcpGraphKind(tcpgraph::Kind),
    /// The system's file dialog, to open a capture.
    OpenDialog,
    /// Start (true) or stop a demo server.
    Server(crate::serve::Kind, bool),
    /// The chat starts with the missed-message log.
    SetRecovery(bool),
    SetTls(bool),
    RunScenario(String),
    ShowReport(bool),
    /// The lab panel on or off.
    ShowLabs(bool),
    /// Open a lab (index into the bundled labs), or go back to the list.
    OpenLab(Option<usize>),
    /// Go to a step of the open lab.
    LabStep(usize),
    /// An answer to a question of the open lab.
    LabAnswer(String, serde_json::Value),
    /// Show the next hint of a question.
    LabHint(String),
    /// Open or fold the side panel beside a lab on a narrow screen.
    SidePanel(bool),
    /// Show a question's answer (after a try): recorded as revealed, then checked again.
    LabReveal(String),
    /// Check the open lab's answers against the capture shown.
    LabCheck,
    LabAction(crate::lab::Action),
    /// Write the submission folder for the teacher.
    LabExport,
    SetStudent(String),
    SetCourseKey(String),
    /// Select the first field of this name in the selected frame.
    HighlightField(String),
    /// Look a word up in the glossary.
    ShowTerm(String),
    /// Close the welcome.
    Welcomed,
    /// What the right-hand panel shows.
    RightTab(RightTab),
    /// Replay in time.
    Replay(ReplayCmd),
    /// The student's guess while a replay waits before a message.
    ReplayGuess(Guess),
    /// How deep the ladder goes.
    LadderLevel(crate::ladder::Level),
    /// Show (or fold again) the frames that carried a message in the ladder.
    LadderUnfold(usize),
    /// Write the ladder shown as an SVG file.
    LadderExport,
    /// The TCP versus UDP panel on or off.
    ShowCompare(bool),
    /// Run the comparison with the panel's knobs.
    CompareRun,
    /// Set the comparison's message count and impairment, show it and run it.
    CompareWith(u32, crate::serve::transport::Impairment),
    /// The capture filter the next live capture uses.
    SetCaptureFilter(String),
    /// Select the packets of one message of the comparison.
    CompareSelect(Side, u32),
    /// Show a comparison saved with `wirelab compare --format json`, and its recording.
    CompareOpen(PathBuf),
    /// The class window (a teacher grades a folder of submissions) shown or closed.
    ShowClass(bool),
    /// Grade the folder typed in the class window.
    ClassGrade,
    /// Open this student's (row's) capture and answers in the lab panel, at
    /// the step of this question.
    ClassReview(usize, String),
    /// Write the class's CSV and report into its folder.
    ClassExport,
    /// Stop reviewing a student's submission: back to one's own answers.
    ReviewEnd,
    /// Read the teacher's own labs from this folder (empty: stop).
    LabsFolder(String),
    /// Edit the selected frame's packet comment (true) or close the editor.
    EditComment(bool),
    /// Set a frame's (0-based) comment; empty removes it.
    SetComment(usize, String),
}

/// Everything the panels show, in three parts: the document (the open
/// capture), the view of it (selection, the filter's result, the display
/// order) and each panel's own state. Panels read it and emit `Command`s;
/// the app applies them after the frame.
pub struct State {
    pub doc: Document,
    pub view: View,
    pub panels: Panels,
    pub error: Option<String>,
    /// A message for the status bar (saved, …).
    pub notice: Option<String>,
}

/// The open capture: its frames, rows, checkpoints and messages.
#[derive(Default)]
pub struct Document {
    pub loaded: Option<Loaded>,
    pub load_progress: Option<(String, f32)>,
    /// The file shown, when it is a file (not the built-in capture or a live one).
    pub path: Option<PathBuf>,
    /// A live capture is adding frames to it.
    pub capturing: bool,
    /// Counts the captures opened: two with the same name are still told apart.
    pub generation: u64,
}

/// How the document is looked at.
#[derive(Default)]
pub struct View {
    pub filter_text: String,
    pub filter_error: Option<FilterError>,
    pub filtering: bool,
    /// The frames that pass the filter (indices into the rows), in capture order.
    pub matching: Vec<usize>,
    /// The frames before this one were tested by the filter: `matching`
    /// holds those that passed. Frames added later (a file still loading, a
    /// live capture) are tested as they come.
    pub filtered_to: usize,
    /// The filter `matching` holds the result of: the last valid text typed
    /// (while the box holds an invalid one, frames still coming are tested
    /// with this).
    pub filter_applied: String,
    /// The same frames in display order (after the sort).
    pub visible: Vec<usize>,
    /// Packet-list order: column and ascending, or capture order.
    pub sort: Option<(usize, bool)>,
    pub selected: Option<usize>,
    /// The selected frame's dissection (in context) and bytes; while a
    /// thread dissects a newly selected frame (`detail_loading`), still
    /// the frame selected before (or `None`).
    pub detail: Option<(Dissection, Vec<u8>)>,
    pub detail_loading: bool,
    /// A field to highlight once the selected frame's dissection is here.
    pub pending_field: Option<(String, bool)>,
    /// A message about the selected frame: gone with the selection.
    pub frame_notice: Option<String>,
    pub selected_field: Option<usize>,
    pub hovered_field: Option<usize>,
    /// The data source the bytes view shows (0: the frame).
    pub source: u16,
    /// Scroll the packet list to this frame on the next paint.
    pub scroll_to: Option<usize>,
}

/// Each panel's own state.
pub struct Panels {
    pub toolbar: ToolbarView,
    pub conversation: ConversationView,
    pub live: LiveUi,
    pub lab: LabPanel,
    pub glossary: GlossaryView,
    pub right: RightTab,
    pub replay: ReplayView,
    pub ladder: ladder::LadderView,
    pub compare: CompareView,
    pub tcpgraph: tcpgraph::TcpGraphView,
    pub class: class::ClassView,
    /// The packet comment being written: its frame (0-based) and text.
    pub comment: Option<(usize, String)>,
}

/// The right-hand panel: the conversation, or the glossary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RightTab {
    #[default]
    Conversation,
    Glossary,
    /// What each side knows at the replay's cursor.
    State,
    /// The ladder diagram of the selected connection or session.
    Ladder,
}

/// What is typed in the toolbar's boxes.
#[derive(Default)]
pub struct ToolbarView {
    pub open_text: String,
    pub save_text: String,
}

#[derive(Default)]
pub struct ConversationView {
    /// Tell the whole Engine.IO session (all its connections) instead of
    /// the selected connection.
    pub by_session: bool,
}

pub struct App {
    pub state: State,
    pub settings: Settings,
    pub demos: Demos,
    loader: Option<loader::Job>,
    filter_job: Option<loader::FilterJob>,
    /// The selected frame, dissected on a thread.
    detail_job: Option<loader::DetailJob>,
    /// Looking for the first frame that has a field to highlight.
    highlight_job: Option<(String, loader::FilterJob)>,
    /// When the list was last sorted while a file loads.
    sorted_at: Option<std::time::Instant>,
    /// The selection is the first frame, picked when the first rows came,
    /// not by the student: when loading ends, a better one replaces it.
    auto_selected: bool,
    commands: Vec<Command>,
    fonts_installed: bool,
    applied_zoom: f32,
    live: Option<(crate::capture::CaptureHandle, crate::dissect::Dissector, loader::Builder, LiveKeys)>,
    /// The interface list, being read on a thread (probing each interface
    /// with libpcap can take a while; the window must not wait for it).
    interfaces_job: Option<std::sync::mpsc::Receiver<Vec<String>>>,
}

/// DejaVu Sans as a fallback font: arrows (→ ⇄), the ellipsis and accented
/// text look the same on every machine, whatever fonts it has.
fn install_fonts(ctx: &egui::Context) {
    static DEJAVU: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
    let fallback =
        |family| egui::epaint::text::InsertFontFamily { family, priority: egui::epaint::text::FontPriority::Lowest };
    ctx.add_font(egui::epaint::text::FontInsert {
        name: "DejaVuSans".into(),
        data: egui::FontData::from_static(DEJAVU),
        families: vec![fallback(egui::FontFamily::Proportional), fallback(egui::FontFamily::Monospace)],
    });
}

impl App {
    /// An app showing `capture` (or the built-in one).
    pub fn new(capture: Option<PathBuf>, settings: Settings) -> App {
        let mut app = App {
            state: State {
                doc: Document::default(),
                view: View::default(),
                panels: Panels {
                    toolbar: ToolbarView::default(),
                    conversation: ConversationView::default(),
                    live: LiveUi {
                        interfaces: Vec::new(),
                        interface: "lo".into(),
                        filter: crate::capture::DEFAULT_FILTER.into(),
                        follow: true,
                        stats: None,
                    },
                    lab: LabPanel::new(&settings),
                    glossary: GlossaryView::default(),
                    right: RightTab::default(),
                    replay: ReplayView::default(),
                    ladder: ladder::LadderView::default(),
                    compare: CompareView::default(),
                    tcpgraph: Default::default(),
                    class: Default::default(),
                    comment: None,
                },
                error: None,
                notice: None,
            },
            settings,
            demos: Demos::default(),
            loader: None,
            filter_job: None,
            detail_job: None,
            highlight_job: None,
            sorted_at: None,
            auto_selected: false,
            commands: Vec::new(),
            fonts_installed: false,
            applied_zoom: 1.0,
            live: None,
            interfaces_job: None,
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let listed = std::thread::Builder::new().name("wirelab-interfaces".into()).spawn(move || {
            let _ = tx.send(crate::capture::interfaces::list().into_iter().map(|i| i.name).collect());
        });
        if listed.is_ok() {
            app.interfaces_job = Some(rx);
        }
        match capture {
            Some(p) => app.open(p),
            None => match Capture::from_bytes(DEFAULT_CAPTURE.to_vec(), DEFAULT_CAPTURE_NAME) {
                Ok(c) => app.start_loading(Arc::new(c)),
                Err(e) => app.state.error = Some(e.to_string()),
            },
        }
        app
    }

    /// Opens a capture file, with the key log last opened for it; or, given
    /// a TLS key log, decrypts the capture open now with it.
    fn open(&mut self, path: PathBuf) {
        match Capture::open(&path) {
            Ok(mut c) => {
                let key_log = self.settings.key_logs.get(&path.display().to_string()).filter(|k| k.is_file());
                if let Some(k) = key_log
                    && let Err(e) = c.add_key_log(k)
                {
                    self.state.error = Some(e);
                }
                self.settings.recent.retain(|p| p != &path);
                self.settings.recent.insert(0, path.clone());
                self.settings.recent.truncate(8);
                self.start_loading(Arc::new(c));
                self.state.doc.path = Some(path);
            }
            Err(_) if crate::dissect::app::tls::keylog::looks_like_key_log(&path) => self.open_key_log(path),
            Err(e) => self.state.error = Some(e.to_string()),
        }
    }

    /// Decrypts the open capture's TLS with a key log (remembered for it).
    fn open_key_log(&mut self, keys: PathBuf) {
        let Some(capture) = self.state.doc.path.clone() else {
            self.state.error = Some("open the capture first, then its TLS key log".into());
            return;
        };
        let opened = Capture::open(&capture).map_err(|e| e.to_string()).and_then(|mut c| {
            c.add_key_log(&keys)?;
            Ok(c)
        });
        match opened {
            Ok(c) => {
                let sessions = c.tls_keys.as_ref().map_or(0, |k| k.len());
                self.settings.key_logs.insert(capture.display().to_string(), keys.clone());
                self.start_loading(Arc::new(c));
                self.state.doc.path = Some(capture);
                self.state.notice = Some(format!(
                    "TLS decrypted with {} (secrets of {sessions} session{})",
                    short_name(&keys.display().to_string()),
                    if sessions == 1 { "" } else { "s" }
                ));
            }
            Err(e) => self.state.error = Some(e),
        }
    }

    /// Whether the side panel is folded: only beside a lab, on a narrow
    /// screen, until the student opens it (remembered).
    pub fn side_panel_folded(&self, ctx: &egui::Context) -> bool {
        self.state.panels.lab.shown
            && ctx.content_rect().width() < ROOM_FOR_LAB_AND_SIDE
            && !self.settings.side_panel_with_lab
    }

    /// A filter a lab's step applied belongs to that lab and that capture:
    /// another lab or another capture starts unfiltered (a filter the
    /// student typed stays).
    fn drop_lab_filter(&mut self) {
        if let Some(f) = self.state.panels.lab.applied_filter.take()
            && self.state.view.filter_applied == f
        {
            self.apply_filter(String::new());
        }
    }

    /// Forgets what was shown of the previous capture, before another opens
    /// (a file, or a live capture): its rows, selection, and any filtering,
    /// dissecting or loading still running for it. The filter text stays
    /// and applies to the new frames; the last lab check stays, marked as
    /// another capture's.
    fn reset_document(&mut self) {
        self.drop_lab_filter();
        self.loader = None;
        self.filter_job = None;
        self.sorted_at = None;
        self.state.doc.generation += 1;
        self.state.doc.loaded = None;
        self.state.doc.path = None;
        self.state.doc.load_progress = None;
        // The last check stays, marked as another capture's (`lab_ui`).
        let view = &mut self.state.view;
        view.matching.clear();
        view.visible.clear();
        view.filtered_to = 0;
        view.filtering = !view.filter_applied.trim().is_empty();
        view.selected = None;
        view.detail = None;
        view.detail_loading = false;
        view.frame_notice = None;
        self.detail_job = None;
        self.highlight_job = None;
        self.state.error = None;
    }

    fn start_loading(&mut self, cap: Arc<Capture>) {
        self.reset_document();
        self.state.doc.load_progress = Some((cap.name().to_string(), 0.0));
        // The table exists at once and grows as the loading thread hands
        // its rows over (`take_parts`).
        self.state.doc.loaded = Some(Loaded::new(cap.name().to_string(), Some(cap.clone()), loader::Job::keeps(&cap)));
        self.loader = Some(loader::Job::start(cap));
    }

    /// A finished comparison: its result, and its recording in the packet list.
    fn poll_compare(&mut self, cmds: &mut Vec<Command>) {
        let Some(rx) = &self.state.panels.compare.job else { return };
        match rx.try_recv() {
            Ok(result) => {
                self.state.panels.compare.job = None;
                match result {
                    Ok(c) => {
                        if let Some(p) = &c.recording {
                            cmds.push(Command::Open(p.clone()));
                        }
                        if c.asked.count > 0 {
                            // The knobs that give it again.
                            self.state.panels.compare.cfg = c.asked.config();
                        }
                        self.state.panels.compare.result = Some(c);
                    }
                    Err(e) => self.state.error = Some(format!("the comparison failed: {e}")),
                }
            }
            Err(std::sync::mpsc::TryRecvError::Empty) => {}
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                self.state.panels.compare.job = None;
                self.state.error = Some("the comparison stopped unexpectedly".into());
            }
        }
    }

    /// Asks for a command, applied at the next frame (as a click would).
    pub fn push_command(&mut self, cmd: Command) {
        self.commands.push(cmd);
    }

    /// Waits until loading and filtering are done (tests and screenshots).
    pub fn wait_idle(&mut self) {
        while self.loader.is_some()
            || self.filter_job.is_some()
            || self.detail_job.is_some()
            || self.highlight_job.is_some()
            || self.state.panels.lab.checking()
            || self.state.panels.ladder.work.busy()
            || self.state.panels.compare.job.is_some()
            || self.state.panels.tcpgraph.work.busy()
            || self.state.panels.class.grading()
            || self.state.panels.lab.own.checking()
        {
            let mut cmds = Vec::new();
            self.poll_compare(&mut cmds);
            for c in cmds {
                self.apply(c);
            }
            let wait = std::time::Duration::from_millis(5);
            self.state.panels.ladder.work.poll(wait);
            self.state.panels.tcpgraph.work.poll(wait);
            self.poll();
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Waits for the running scenario, then applies what it asked for
    /// (opening its capture) and waits for that to load (tests).
    pub fn wait_scenario(&mut self) {
        let mut cmds = Vec::new();
        if let Some(e) = self.demos.wait_scenario(&mut cmds) {
            self.state.error = Some(e);
        }
        for c in cmds {
            self.apply(c);
        }
        self.wait_idle();
    }

    fn start_capture(&mut self) {
        use crate::capture::{CaptureConfig, CaptureHandle};
        let cfg = CaptureConfig {
            interface: self.state.panels.live.interface.clone(),
            filter: Some(self.state.panels.live.filter.clone()),
            ..CaptureConfig::default()
        };
        match CaptureHandle::start(cfg) {
            Ok(h) => {
                self.reset_document();
                self.state.view.filtering = false;
                self.state.doc.loaded =
                    Some(Loaded::live(format!("live capture on {}", self.state.panels.live.interface)));
                self.state.panels.live.stats = None;
                self.state.doc.capturing = true;
                self.live = Some((
                    h,
                    crate::dissect::Dissector::new(),
                    loader::Builder::new(true),
                    LiveKeys::new(&self.demos.tls_dir),
                ));
            }
            Err(e) => self.state.error = Some(capture_error_line(&e.to_string())),
        }
    }

    /// Adds the frames a live capture handed over.
    fn poll_live(&mut self) {
        use crate::capture::CaptureEvent;
        let Some((h, dis, builder, keys)) = &mut self.live else { return };
        if let Some(loaded) = &mut self.state.doc.loaded
            && let Some(k) = keys.read_if_grown()
        {
            dis.set_tls_keys(k.clone());
            loaded.tls_keys = Some(k);
        }
        let filter = Filter::parse(&self.state.view.filter_applied).ok();
        // New frames are tested here, as they are dissected, unless a
        // filter job is still testing earlier ones: then they wait for it.
        let inline = self.filter_job.is_none();
        let mut finished = false;
        let mut d = Dissection::default();
        for _ in 0..64 {
            match h.events().try_recv() {
                Ok(CaptureEvent::Batch(b)) => {
                    let Some(loaded) = &mut self.state.doc.loaded else { break };
                    let view = &mut self.state.view;
                    let tested = inline && view.filtered_to == loaded.len();
                    for (meta, bytes) in b.iter() {
                        builder.before_next(dis);
                        dis.dissect(meta, bytes, &mut d);
                        builder.push(bytes, None, &d);
                        if tested && filter.as_ref().is_none_or(|f| f.matches(&d, bytes)) {
                            view.matching.push(builder.frames() - 1);
                            view.visible.push(builder.frames() - 1);
                        }
                    }
                    loaded.append(builder.take(true));
                    if tested {
                        view.filtered_to = loaded.len();
                    }
                    if self.state.panels.live.follow
                        && let Some(&last) = self.state.view.visible.last()
                    {
                        self.state.view.scroll_to = Some(last);
                    }
                }
                Ok(CaptureEvent::Stats(s)) => self.state.panels.live.stats = Some(s),
                Ok(CaptureEvent::Failed(e)) => self.state.error = Some(capture_error_line(&e)),
                Ok(CaptureEvent::Finished { stats, .. }) => {
                    self.state.panels.live.stats = Some(stats);
                    finished = true;
                    break;
                }
                Err(_) => break,
            }
        }
        if finished {
            self.live = None;
            self.state.doc.capturing = false;
        }
        if !inline {
            // A filter job runs: it goes on with the new frames when done.
            self.filter_more();
        }
    }

    /// Drains what the background jobs finished.
    fn poll(&mut self) {
        self.poll_live();
        if let Some(job) = &self.detail_job {
            match job.poll() {
                Ok(None) => {}
                Ok(Some(d)) => {
                    let current = self.state.view.selected == Some(job.index);
                    self.detail_job = None;
                    if current {
                        self.set_detail(Some(d));
                    }
                }
                Err(e) => {
                    self.detail_job = None;
                    self.set_detail(None);
                    self.state.error = Some(e);
                }
            }
        }
        if let Some((_, job)) = &self.highlight_job {
            match job.poll() {
                Ok(None) => {}
                Ok(Some(found)) => {
                    if let Some((name, _)) = self.highlight_job.take() {
                        self.highlight_found(name, found);
                    }
                }
                Err(e) => {
                    self.highlight_job = None;
                    self.state.error = Some(e);
                }
            }
        }
        if let Some(rx) = &self.interfaces_job {
            match rx.try_recv() {
                Ok(names) => {
                    self.state.panels.live.interfaces = names;
                    self.interfaces_job = None;
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => {}
                Err(std::sync::mpsc::TryRecvError::Disconnected) => self.interfaces_job = None,
            }
        }
        let was_running = self.demos.running().is_some();
        let failed = self.demos.poll(&mut self.commands);
        let finished = was_running && self.demos.running().is_none();
        let from_lab = finished && std::mem::take(&mut self.state.panels.lab.awaiting_scenario);
        if let Some(e) = &failed {
            self.state.error = Some(e.clone());
        }
        for e in self.state.panels.lab.load_errors.drain(..) {
            self.state.error = Some(e);
        }
        // A lab's scenario that could not be recorded: the lab goes on with
        // its bundled capture, and says so.
        if from_lab {
            // The scenario's story tells the answers: its window stays
            // closed for a lab ("Scenario report" opens it), and the lab's
            // traffic starts unfiltered.
            self.demos.show_report = false;
            if let Some(Ok(p)) = self.demos.report.as_ref().map(|r| &r.recording) {
                self.state.notice = Some(format!("recorded {} (now open)", p.display()));
                self.state.panels.lab.applied_filter = None;
                if !self.state.view.filter_text.is_empty() {
                    self.apply_filter(String::new());
                }
            }
        }
        if from_lab
            && failed.is_none()
            && let Some(Err(why)) = self.demos.report.as_ref().map(|r| &r.recording)
            && let Some(reference) = self.state.panels.lab.lab().map(|l| l.traffic.reference.clone())
        {
            self.state.panels.lab.fallback = Some(why.clone());
            self.commands.push(Command::LabAction(crate::lab::Action::OpenCapture { path: reference }));
        }
        self.state.panels.class.poll();
        self.state.panels.lab.poll_own(false);
        if let Err(e) = self.state.panels.lab.poll_check() {
            self.state.error = Some(e);
        }
        if let Some(job) = &self.loader {
            let polled = job.poll();
            if let Some(p) = &mut self.state.doc.load_progress {
                p.1 = polled.fraction;
            }
            let more = !polled.parts.is_empty();
            if more {
                self.take_parts(polled.parts);
            }
            match polled.done {
                Some(Ok(())) => self.loading_done(),
                Some(Err(e)) => {
                    self.loader = None;
                    self.state.doc.load_progress = None;
                    self.state.error = Some(e);
                }
                None if more => self.resort_while_loading(),
                None => {}
            }
        }
        match self.filter_job.as_ref().map(loader::FilterJob::poll) {
            Some(Err(e)) => {
                self.filter_job = None;
                self.state.view.filtering = false;
                self.state.error = Some(e);
            }
            Some(Ok(Some(done))) => {
                self.filter_job = None;
                // A result for frames already tested (an older filter) is dropped.
                if done.from == self.state.view.filtered_to {
                    self.state.view.matching.extend(done.matching);
                    self.state.view.filtered_to = done.to;
                }
                if !self.filter_more() {
                    self.state.view.filtering = false;
                    self.apply_sort();
                } else if self.state.view.sort.is_none() {
                    self.state.view.visible.clone_from(&self.state.view.matching);
                } else {
                    self.resort_while_loading();
                }
            }
            _ => {}
        }
    }

    /// Adds rows the loading thread handed over, and shows those that pass
    /// the filter.
    fn take_parts(&mut self, parts: Vec<loader::Part>) {
        let Some(loaded) = &mut self.state.doc.loaded else { return };
        let before = loaded.len();
        for p in parts {
            loaded.append(p);
        }
        let after = loaded.len();
        let view = &mut self.state.view;
        if view.filter_applied.trim().is_empty() {
            if view.filtered_to == before {
                view.matching.extend(before..after);
                view.filtered_to = after;
                if view.sort.is_none() {
                    view.visible.extend(before..after);
                }
            }
        } else {
            self.filter_more();
        }
        if self.state.view.selected.is_none() && before == 0 && after > 0 {
            self.select(0);
            self.auto_selected = true;
        }
    }

    /// Starts filtering the frames the filter has not seen yet, if there
    /// are any; false when every frame has been tested.
    fn filter_more(&mut self) -> bool {
        if self.filter_job.is_some() {
            return true;
        }
        let Some(loaded) = &self.state.doc.loaded else { return false };
        let view = &self.state.view;
        if view.filter_applied.trim().is_empty() {
            return false;
        }
        if view.filtered_to >= loaded.len() {
            // More frames are coming: the filter goes on with them.
            return self.loader.is_some();
        }
        let Ok(f) = Filter::parse(&view.filter_applied) else { return false };
        self.filter_job = Some(loader::FilterJob::start(loaded, f, view.filtered_to));
        true
    }

    /// While a file loads with a sorted list, the new rows are sorted in now
    /// and then: the sort takes time on big tables, so at most once a second.
    fn resort_while_loading(&mut self) {
        if self.state.view.sort.is_none() {
            return;
        }
        if self.sorted_at.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(1)) {
            self.apply_sort();
            self.sorted_at = Some(std::time::Instant::now());
        }
    }

    /// The whole file is read: the last rows are in.
    fn loading_done(&mut self) {
        self.loader = None;
        self.state.doc.load_progress = None;
        self.sorted_at = None;
        if std::mem::take(&mut self.state.panels.lab.check_when_loaded) {
            self.lab_check();
        }
        let Some(loaded) = &mut self.state.doc.loaded else { return };
        loaded.finish();
        if self.state.panels.replay.on {
            self.state.panels.replay.loaded(loaded);
        }
        // Open on something worth looking at: the first Socket.IO event,
        // else the first WebSocket message (a wss:// capture opened
        // decrypted shows what TLS carried), unless the student already
        // picked a frame while it loaded.
        use crate::model::MsgKind;
        let first = [MsgKind::SioEvent, MsgKind::WsText]
            .into_iter()
            .find_map(|k| loaded.events.iter().find(|e| e.kind == k))
            .map(|e| e.frame);
        if let Some(first) = first
            && (self.auto_selected || self.state.view.selected.is_none())
        {
            self.select(first);
        }
        self.auto_selected = false;
        if !self.filter_more() {
            self.state.view.filtering = false;
            self.apply_sort();
        }
    }

    fn select(&mut self, index: usize) {
        let Some(loaded) = &self.state.doc.loaded else { return };
        if index >= loaded.len() {
            return;
        }
        let view = &mut self.state.view;
        view.selected = Some(index);
        view.scroll_to = Some(index);
        view.selected_field = None;
        view.source = 0;
        view.frame_notice = None;
        view.pending_field = None;
        match loaded.detail_job(index) {
            Ok(d) => {
                self.detail_job = None;
                self.set_detail(d);
            }
            // Dissected on a thread: the window goes on painting (`poll`),
            // showing the frame before until this one comes; a job for a
            // frame clicked before is dropped, and its thread stops.
            Err(job) => {
                view.detail_loading = true;
                self.detail_job = Some(job);
            }
        }
    }

    /// The selected frame's dissection is here: show it, highlight the
    /// field asked for, and note the glossary's words it shows.
    fn set_detail(&mut self, detail: Option<(Dissection, Vec<u8>)>) {
        let view = &mut self.state.view;
        view.detail = detail;
        view.detail_loading = false;
        if let Some((name, search)) = view.pending_field.take() {
            self.highlight(&name, search);
        }
        if let Some((d, _)) = &self.state.view.detail {
            let g = crate::glossary::Glossary::current();
            for f in d.fields.iter().filter(|f| f.value != crate::model::Value::Bool(false)) {
                for t in g.terms_of_field(f.def.name) {
                    if !self.settings.seen_terms.contains(&t.term) {
                        self.settings.seen_terms.insert(t.term.clone());
                    }
                }
            }
        }
    }

    /// A replay that follows its cursor shows the newest frame that has
    /// happened in the layers and bytes, and none before the first.
    fn follow_replay(&mut self) {
        match self.state.panels.replay.newest() {
            Some(Some(i)) if self.state.view.selected != Some(i) => self.select(i),
            Some(None) if self.state.view.selected.is_some() => {
                let view = &mut self.state.view;
                (view.selected, view.detail, view.selected_field, view.frame_notice) = (None, None, None, None);
                view.detail_loading = false;
                self.detail_job = None;
            }
            _ => {}
        }
    }

    /// Writes the frames shown, in capture order, to a pcap file; a
    /// capture with TLS secrets to a pcapng that carries them.
    /// Says how many frames, and the secrets of how many sessions.
    fn save(&self, path: &std::path::Path) -> std::io::Result<(usize, usize)> {
        let Some(l) = &self.state.doc.loaded else { return Ok((0, 0)) };
        let shown = &self.state.view.matching;
        // Private: a capture may hold TLS secrets, and what the student typed.
        use std::os::unix::fs::OpenOptionsExt as _;
        let file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
        let sessions = write_pcap(l, shown.iter().copied(), file)?;
        Ok((shown.len(), sessions))
    }

    /// The course key the student entered, if it is one.
    fn course_key(&self) -> Option<crate::lab::CourseKey> {
        crate::lab::CourseKey::from_hex(&self.settings.course_key).ok()
    }

    /// The token the student's traffic carries, when they gave an id and a key.
    fn token(&self) -> Option<String> {
        let student = self.settings.student.trim();
        (!student.is_empty()).then(|| self.course_key().map(|k| k.token(student))).flatten()
    }

    /// Checks the open lab's answers against the capture shown (a file as
    /// it is, a live capture written out first), on the panel's thread.
    fn lab_check(&mut self) {
        if self.state.panels.lab.lab().is_none() {
            return;
        }
        let source = match &self.state.doc.loaded {
            Some(l) if !self.state.doc.capturing && l.cap.is_some() => l.cap.clone().map(Ok),
            _ => whole_pcap(&self.state.doc).map(Err),
        };
        let Some(source) = source else {
            self.state.error = Some("open a capture (or make traffic) before checking".into());
            return;
        };
        let on =
            (self.state.doc.generation, self.state.doc.loaded.as_ref().map(|l| l.name.clone()).unwrap_or_default());
        let student = match &self.state.panels.lab.review {
            Some(r) => r.student.clone(),
            None => self.settings.student.trim().to_string(),
        };
        let key = self.course_key();
        if let Err(e) = self.state.panels.lab.start_check(source, on, key, student) {
            self.state.error = Some(e);
        }
    }

    /// Selects the first field of this name in the selected frame; when
    /// that frame has none and `search` is set, in the first frame shown
    /// that has one.
    fn highlight(&mut self, name: &str, search: bool) {
        if self.state.view.detail_loading {
            self.state.view.pending_field = Some((name.to_string(), search));
            return;
        }
        if let Some((d, bytes)) = &self.state.view.detail
            && let Some(f) = d.find(bytes, name)
        {
            self.state.view.selected_field = Some(f.index);
            self.state.view.source = f.span().source;
            return;
        }
        let (Ok(filter), Some(loaded), true) = (Filter::parse(name), &self.state.doc.loaded, search) else {
            self.state.view.frame_notice = Some(format!("the selected frame has no {name}"));
            return;
        };
        self.highlight_job = Some((name.to_string(), loader::FilterJob::start(loaded, filter, 0)));
    }

    /// The search for a frame to highlight a field in is done.
    fn highlight_found(&mut self, name: String, found: loader::Filtered) {
        let shown = &self.state.view.matching;
        match found.matching.into_iter().find(|i| shown.binary_search(i).is_ok()) {
            Some(i) => {
                self.state.panels.replay.follow = false;
                self.select(i);
                self.highlight(&name, false);
            }
            None => self.state.view.frame_notice = Some(format!("no frame shown has {name}")),
        }
    }

    /// Opens a student's submission from the class window: their capture,
    /// the lab with their answers (nothing of it saved), checked as they
    /// saw it once the capture is read.
    fn review(&mut self, row: usize, question: &str) {
        let Some(c) = &self.state.panels.class.class else { return };
        let Some(r) = c.rows.get(row).cloned() else { return };
        let lab = c.lab.id.clone();
        let Some(capture) = r.capture.clone() else {
            self.state.error = Some(format!("{}'s capture cannot be opened: {}", r.student, r.error));
            return;
        };
        let Some(index) = self.state.panels.lab.labs.iter().position(|l| l.id == lab) else { return };
        let step = c.lab.steps.iter().position(|s| s.questions.iter().any(|q| q.id == question)).unwrap_or(0);
        let progress = crate::lab::progress::Progress {
            step,
            answers: r.answers.clone(),
            revealed: r.revealed.iter().cloned().collect(),
            ..Default::default()
        };
        self.state.panels.lab.begin_review(&r.student, &lab, progress);
        self.apply(Command::OpenLab(Some(index)));
        self.open(capture);
        self.state.panels.lab.check_when_loaded = true;
    }

    /// Sets a frame's packet comment: its layers show it at once, the
    /// filter is run again when it asks about comments, and Save writes it
    /// (pcapng).
    fn set_comment(&mut self, i: usize, text: String) {
        let Some(cap) = self.state.doc.loaded.as_ref().and_then(|l| l.cap.clone()) else { return };
        cap.comments.set(i as u64 + 1, vec![text.trim().to_string()]);
        if let Some(l) = self.state.doc.loaded.as_mut() {
            l.refresh(i);
        }
        self.state.panels.comment = None;
        self.state.notice =
            Some(format!("comment on frame {} kept until you save (Save writes pcapng, which keeps comments)", i + 1));
        if self.state.view.filter_applied.contains("frame.comment") {
            self.apply_filter(self.state.view.filter_applied.clone());
        }
        if self.state.view.selected == Some(i) {
            self.select(i);
        }
    }

    /// Applies a change to the open lab's progress and saves it.
    fn lab_progress(&mut self, change: impl FnOnce(&mut crate::lab::progress::Progress)) {
        if let Err(e) = self.state.panels.lab.change(change) {
            self.state.error = Some(e);
        }
    }

    /// The display order: the matching frames, sorted by the chosen column.
    fn apply_sort(&mut self) {
        let view = &mut self.state.view;
        view.visible.clone_from(&view.matching);
        let (Some((col, asc)), Some(l)) = (view.sort, &self.state.doc.loaded) else { return };
        let v = &mut view.visible;
        // Stable sorts over capture order, so ties stay in capture order.
        match col {
            0 | 1 => {}
            2 => v.sort_by_cached_key(|&i| l.src(i).to_string()),
            3 => v.sort_by_cached_key(|&i| l.dst(i).to_string()),
            4 => v.sort_by_key(|&i| l.protocol(i)),
            5 => v.sort_by_key(|&i| l.meta(i).len),
            _ => v.sort_by_cached_key(|&i| l.info(i)),
        }
        if !asc {
            v.reverse();
        }
    }

    fn apply_filter(&mut self, text: String) {
        self.state.view.filter_text = text.clone();
        match Filter::parse(&text) {
            Err(e) => self.state.view.filter_error = Some(e),
            Ok(f) => {
                self.state.view.filter_error = None;
                self.state.view.filter_applied = text.clone();
                let Some(loaded) = &self.state.doc.loaded else { return };
                self.filter_job = None;
                if text.trim().is_empty() {
                    self.state.view.matching = (0..loaded.len()).collect();
                    self.state.view.filtered_to = loaded.len();
                    self.state.view.filtering = false;
                    self.apply_sort();
                } else {
                    self.state.view.filtering = true;
                    self.state.view.matching.clear();
                    self.state.view.filtered_to = 0;
                    self.filter_job = Some(loader::FilterJob::start(loaded, f, 0));
                }
            }
        }
    }

    fn apply(&mut self, cmd: Command) {
        match cmd {
            Command::Open(p) => self.open(p),
            Command::Select(i) => {
                // Picking a packet during a replay stops following the newest.
                self.state.panels.replay.follow = false;
                self.auto_selected = false;
                self.highlight_job = None;
                // A frame the filter hides (a lab's "Look at: frame N"):
                // the filter goes, so that the list shows what is selected.
                if !self.state.view.filter_applied.is_empty() && !self.state.view.matching.contains(&i) {
                    self.state.notice = Some(format!("filter cleared to show frame {}", i + 1));
                    self.state.panels.lab.applied_filter = None;
                    self.apply_filter(String::new());
                }
                self.select(i);
            }
            Command::SelectField(f) => self.state.view.selected_field = f,
            Command::SetFilter(t) => self.apply_filter(t),
            Command::SetSource(s) => self.state.view.source = s,
            Command::BySession(on) => self.state.panels.conversation.by_session = on,
            Command::LadderBroadcast(on) => self.state.panels.ladder.broadcast = on,
            Command::TcpGraphs(on) => self.state.panels.tcpgraph.shown = on,
            Command::ShowClass(on) => self.state.panels.class.shown = on,
            Command::ClassGrade => {
                let key = self.course_key();
                let panels = &mut self.state.panels;
                panels.class.start(&panels.lab.labs, key);
            }
            Command::ClassExport => self.state.panels.class.export(),
            Command::ClassReview(row, question) => self.review(row, &question),
            Command::ReviewEnd => self.state.panels.lab.end_review(),
            Command::LabsFolder(dir) => {
                self.state.panels.lab.set_own_dir(&dir);
                self.settings.labs_folder = dir;
            }
            Command::EditComment(on) => {
                let at = self.state.view.selected.filter(|_| on);
                let cap = self.state.doc.loaded.as_ref().and_then(|l| l.cap.clone());
                self.state.panels.comment = match (at, cap) {
                    (Some(i), Some(c)) => Some((i, c.comments.get(i as u64 + 1).join("\n"))),
                    (Some(_), None) => {
                        self.state.error = Some("save the live capture and open it to comment on its packets".into());
                        None
                    }
                    (None, _) => None,
                };
            }
            Command::SetComment(i, text) => self.set_comment(i, text),
            Command::TcpGraphKind(k) => self.state.panels.tcpgraph.kind = k,
            Command::SetDark(on) => self.settings.dark = on,
            Command::Zoom(by) => self.settings.zoom = (self.settings.zoom + by).clamp(0.6, 3.0),
            Command::SetInterface(name) => self.state.panels.live.interface = name,
            Command::StartCapture => self.start_capture(),
            Command::SetFollow(f) => self.state.panels.live.follow = f,
            Command::Save(p) => match self.save(&p) {
                Ok((n, keys)) => {
                    self.state.notice = Some(if keys > 0 {
                        format!(
                            "saved {n} frames to {} as pcapng, with the secrets of {keys} TLS session{} inside \
                             (Wireshark decrypts it too)",
                            p.display(),
                            if keys == 1 { "" } else { "s" }
                        )
                    } else {
                        format!("saved {n} frames to {}", p.display())
                    });
                }
                Err(e) => self.state.error = Some(format!("cannot save {}: {e}", p.display())),
            },
            Command::Sort(col) => {
                self.state.view.sort = match self.state.view.sort {
                    Some((c, asc)) if c == col => Some((col, !asc)),
                    _ => Some((col, true)),
                };
                self.apply_sort();
            }
            Command::StopCapture => {
                if let Some((h, ..)) = &self.live {
                    h.stop();
                }
            }
            Command::OpenDialog => {
                if let Err(e) = self.demos.open_dialog() {
                    self.state.error = Some(e);
                }
            }
            Command::Server(kind, on) => match self.demos.set_server(kind, on) {
                Ok(()) => {
                    self.state.notice = self.demos.listening(kind).map(|l| format!("{} server: {}", kind.name(), l.how))
                }
                Err(e) => self.state.error = Some(e),
            },
            Command::SetRecovery(on) => self.demos.recovery = on,
            Command::SetTls(on) => self.demos.tls = on,
            Command::RunScenario(name) => {
                self.state.error = None;
                self.state.panels.lab.fallback = None;
                let token = self.token();
                self.demos.run_scenario(&name, token);
            }
            Command::ShowReport(show) => self.demos.show_report = show,
            Command::ShowLabs(on) => self.state.panels.lab.shown = on,
            Command::OpenLab(i) => {
                self.state.panels.lab.shown = true;
                self.state.panels.lab.open(i);
                // Another lab starts with every frame shown (a filter typed
                // for the last one would hide this one's traffic) and
                // without the last one's messages.
                self.state.panels.lab.applied_filter = None;
                if !self.state.view.filter_text.is_empty() {
                    self.apply_filter(String::new());
                }
                self.state.notice = None;
                self.state.error = None;
            }
            Command::LabStep(k) => {
                self.lab_progress(|p| p.step = k);
                self.state.panels.lab.scroll_to_top = true;
            }
            Command::LabAnswer(q, v) => {
                // The last verdict was about the answer before.
                self.state.panels.lab.forget_verdict(&q);
                self.lab_progress(|p| {
                    p.checked.remove(&q);
                    p.answers.insert(q, v);
                })
            }
            Command::LabHint(q) => self.lab_progress(|p| *p.hints.entry(q).or_default() += 1),
            Command::SidePanel(open) => self.settings.side_panel_with_lab = open,
            Command::LabReveal(q) => {
                self.lab_progress(|p| {
                    p.revealed.insert(q);
                });
                self.lab_check();
            }
            Command::LabCheck => self.lab_check(),
            Command::LabAction(a) => match self.state.panels.lab.action(a) {
                Ok(cmds) => cmds.into_iter().for_each(|c| self.apply(c)),
                Err(e) => self.state.error = Some(e),
            },
            Command::LabExport => {
                let (doc, lab) = (&self.state.doc, &mut self.state.panels.lab);
                match lab.export(&self.settings.student, || whole_pcap(doc)) {
                    Ok(done) => self.state.notice = Some(done),
                    Err(e) => self.state.error = Some(e),
                }
            }
            Command::SetCaptureFilter(f) => self.state.panels.live.filter = f,
            Command::CompareWith(count, impair) => {
                let v = &mut self.state.panels.compare;
                (v.shown, v.cfg.count, v.cfg.impair) = (true, count, impair);
                self.apply(Command::CompareRun);
            }
            Command::SetStudent(s) => self.settings.student = s,
            Command::SetCourseKey(k) => {
                // Said now, not discovered at grading: a mistyped key signs nothing.
                self.state.error = match crate::lab::CourseKey::from_hex(&k) {
                    Err(e) if !k.is_empty() => Some(format!("the course key: {e}")),
                    _ => None,
                };
                self.settings.course_key = k;
            }
            Command::HighlightField(f) => self.highlight(&f, true),
            Command::ShowTerm(word) => {
                let g = crate::glossary::Glossary::current();
                match g.terms.iter().position(|t| t.is_named(&word)) {
                    Some(i) => {
                        self.state.panels.glossary.term = Some(i);
                        self.state.panels.right = RightTab::Glossary;
                    }
                    None => self.state.notice = Some(format!("\"{word}\" is not in the glossary")),
                }
            }
            Command::RightTab(t) => self.state.panels.right = t,
            Command::Replay(c) => {
                let key = self.state.doc.path.as_ref().map(|p| p.display().to_string());
                if let ReplayCmd::On(true) = c {
                    // A replay runs in capture order, from where this capture was left.
                    self.state.view.sort = None;
                    self.apply_sort();
                    self.state.panels.replay.cursor =
                        key.as_ref().and_then(|k| self.settings.replay_at.get(k)).copied().unwrap_or(0);
                    self.state.panels.right = RightTab::State;
                }
                let moves = !matches!(c, ReplayCmd::On(_) | ReplayCmd::Predict(_) | ReplayCmd::CompressGaps(_));
                if moves {
                    self.state.panels.replay.follow = true;
                }
                self.state.panels.replay.apply(c, self.state.doc.loaded.as_ref());
                self.follow_replay();
                if let Some(k) = key {
                    self.settings.replay_at.insert(k, self.state.panels.replay.cursor);
                }
            }
            Command::ReplayGuess(g) => self.state.panels.replay.guess = g,
            Command::LadderLevel(l) => self.state.panels.ladder.level = l,
            Command::ShowCompare(on) => self.state.panels.compare.shown = on,
            Command::CompareRun => {
                if let Err(e) = self.state.panels.compare.start() {
                    self.state.error = Some(e);
                }
            }
            Command::CompareOpen(path) => {
                if let Err(e) = self.state.panels.compare.open(path) {
                    self.state.error = Some(e);
                }
            }
            Command::CompareSelect(side, seq) => {
                let r = self.state.panels.compare.result.as_ref();
                let t = r.map(|r| side.of(r));
                match t.and_then(|t| t.messages.iter().find(|m| m.seq == seq)).and_then(|m| m.frames.first()) {
                    Some(&f) => self.select(f.saturating_sub(1) as usize),
                    None => self.state.notice = Some(format!("message {seq} left no packets in the recording")),
                }
            }
            Command::LadderUnfold(m) => {
                let u = &mut self.state.panels.ladder.unfolded;
                if !u.remove(&m) {
                    u.insert(m);
                }
            }
            Command::LadderExport => match &self.state.panels.ladder.work.built {
                Some((_, l)) => {
                    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
                    let path = home.join("wirelab-ladder.svg");
                    match std::fs::write(&path, l.svg()) {
                        Ok(()) => self.state.notice = Some(format!("ladder written to {}", path.display())),
                        Err(e) => self.state.error = Some(format!("cannot write {}: {e}", path.display())),
                    }
                }
                None => self.state.error = Some("there is no ladder to export yet".into()),
            },
            Command::Welcomed => self.settings.welcomed = true,
        }
    }

    /// Draws the whole window and applies the commands it produced.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        if !self.fonts_installed {
            install_fonts(&ctx);
            self.fonts_installed = true;
        }
        self.poll();
        ctx.set_visuals(if self.settings.dark { egui::Visuals::dark() } else { egui::Visuals::light() });
        // Ctrl +/- (egui's own shortcuts) and the A−/A+ buttons both change the zoom.
        let z = ctx.zoom_factor();
        if (z - self.applied_zoom).abs() > 1e-3 {
            self.settings.zoom = z;
        }
        ctx.set_zoom_factor(self.settings.zoom);
        self.applied_zoom = self.settings.zoom;
        // Drag and drop a capture file.
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).filter(|p| !p.as_os_str().is_empty()).collect()
        });
        if let Some(p) = dropped.into_iter().next() {
            self.commands.push(Command::Open(p));
        }
        let mut cmds = std::mem::take(&mut self.commands);
        if self.state.panels.replay.on
            && let Some(l) = &self.state.doc.loaded
        {
            let next = self.state.panels.replay.tick(l);
            self.follow_replay();
            if let Some(d) = next {
                ctx.request_repaint_after(d);
            }
        }
        // The conversation tells a followed broadcast too, from its ladder.
        let right = self.state.panels.right;
        if (right == RightTab::Ladder || (right == RightTab::Conversation && self.state.panels.ladder.broadcast))
            && let Ok(key) = ladder::wanted(&self.state)
        {
            let cap = self.state.doc.loaded.as_ref().and_then(|l| l.cap.clone());
            self.state.panels.ladder.work.want(cap, "wirelab-ladder", key, ladder::build);
        }
        self.state.panels.ladder.work.poll(std::time::Duration::ZERO);
        // The TCP graphs of the selected connection, built on a thread.
        if self.state.panels.tcpgraph.shown
            && let Ok(key) = tcpgraph::wanted(&self.state)
        {
            let cap = self.state.doc.loaded.as_ref().and_then(|l| l.cap.clone());
            self.state.panels.tcpgraph.work.want(cap, "wirelab-tcpgraph", key, tcpgraph::build);
        }
        self.state.panels.tcpgraph.work.poll(std::time::Duration::ZERO);
        self.poll_compare(&mut cmds);
        self.toolbar_ui(ui, &mut cmds);
        if self.state.panels.replay.on {
            egui::Panel::top("replay").show(ui, |ui| replay::replay_ui(ui, &self.state, &mut cmds));
        }
        egui::Panel::bottom("status").show(ui, |ui| self.status_ui(ui));
        // The lab panel first: it takes the window's whole height on the left,
        // beside the packets, layers and bytes.
        if self.state.panels.lab.shown {
            egui::Panel::left("lab").resizable(true).default_size(400.0).min_size(260.0).show(ui, |ui| {
                lab::lab_ui(ui, &mut self.state, &mut cmds);
            });
        }
        // The layers and bytes start at a third of the window's height (the
        // same whatever bars are open when the panel first shows): the
        // packets keep the rest.
        let detail_height = (ui.ctx().content_rect().height() / 3.0).clamp(160.0, 420.0);
        egui::Panel::bottom("detail").resizable(true).default_size(detail_height).min_size(160.0).show(ui, |ui| {
            // A panel keeps the height its contents took: without this, a
            // frame with a short detail (a capture just opened, nothing
            // selected yet) would shrink it to its minimum for good.
            ui.set_min_height(ui.available_height());
            ui.columns(2, |cols| {
                egui::ScrollArea::vertical()
                    .id_salt("layers")
                    .show(&mut cols[0], |ui| layers::layers_ui(ui, &self.state, &mut cmds));
                // The bytes view scrolls its own rows (only those on screen are drawn).
                if let Some(h) = bytes::bytes_ui(&mut cols[1], &self.state, &mut cmds) {
                    self.state.view.hovered_field = h;
                }
            });
        });
        let mut side = !self.side_panel_folded(ui.ctx());
        egui::Panel::right("conversation").resizable(true).default_size(380.0).show_collapsible(ui, &mut side, |ui| {
            ui.horizontal(|ui| {
                let mut tabs = vec![
                    (RightTab::Conversation, "Conversation"),
                    (RightTab::Ladder, "Ladder"),
                    (RightTab::Glossary, "Glossary"),
                ];
                if self.state.panels.replay.on {
                    tabs.push((RightTab::State, "At the cursor"));
                }
                for (tab, label) in tabs {
                    if ui.selectable_label(self.state.panels.right == tab, label).clicked() {
                        cmds.push(Command::RightTab(tab));
                    }
                }
            });
            ui.separator();
            match self.state.panels.right {
                RightTab::Conversation => {
                    egui::ScrollArea::vertical()
                        .id_salt("conversation")
                        .show(ui, |ui| conversation::conversation_ui(ui, &self.state, &mut cmds));
                }
                RightTab::Ladder => {
                    egui::ScrollArea::both()
                        .id_salt("ladder")
                        .show(ui, |ui| ladder::ladder_ui(ui, &self.state, &mut cmds));
                }
                RightTab::State => {
                    egui::ScrollArea::vertical()
                        .id_salt("replay-state")
                        .show(ui, |ui| replay::state_ui(ui, &self.state));
                }
                RightTab::Glossary => {
                    egui::ScrollArea::vertical().id_salt("glossary").show(ui, |ui| {
                        glossary::glossary_ui(ui, &mut self.state, &self.settings.seen_terms, &mut cmds)
                    });
                }
            }
        });
        let scroll = self.state.view.scroll_to.take();
        egui::CentralPanel::default().show(ui, |ui| packets::packets_ui(ui, &self.state, scroll, &mut cmds));
        demos::report_ui(&ctx, &self.demos, &mut cmds);
        if !self.settings.welcomed {
            lab::welcome_ui(&ctx, &self.state.panels.lab, &mut cmds);
        }
        if self.state.panels.compare.shown {
            compare::compare_ui(&ctx, &mut self.state, &mut cmds);
        }
        if self.state.panels.tcpgraph.shown {
            tcpgraph::tcpgraph_ui(&ctx, &mut self.state, &mut cmds);
        }
        if self.state.panels.class.shown {
            class::class_ui(&ctx, &mut self.state, &mut cmds);
        }
        if self.state.panels.comment.is_some() {
            packets::comment_ui(&ctx, &mut self.state, &mut cmds);
        }
        // Ctrl+M: a comment on the selected packet (as in Wireshark's Packet Comment).
        if ctx.input(|i| i.modifiers.command && i.key_pressed(egui::Key::M)) {
            cmds.push(Command::EditComment(true));
        }
        // Ctrl+O: the file dialog.
        if ctx.input(|i| i.modifiers.command && i.key_pressed(egui::Key::O)) {
            cmds.push(Command::OpenDialog);
        }
        if ctx.input(|i| i.key_pressed(egui::Key::F2)) {
            cmds.push(Command::ShowLabs(!self.state.panels.lab.shown));
        }
        // Ctrl+F: to the filter bar.
        if ctx.input(|i| i.modifiers.command && i.key_pressed(egui::Key::F)) {
            ctx.memory_mut(|m| m.request_focus(egui::Id::unique("wirelab-filter-box")));
        }
        // Replay keys, when no text has focus: space plays and pauses,
        // arrows step (with Shift: a message), Home and End jump.
        if self.state.panels.replay.on && !ctx.egui_wants_keyboard_input() {
            let n = self.state.doc.loaded.as_ref().map(Loaded::len).unwrap_or(0);
            let r = &self.state.panels.replay;
            ctx.input(|i| {
                let step = if i.modifiers.shift { ReplayCmd::StepMessage } else { ReplayCmd::StepFrame };
                if i.key_pressed(egui::Key::Space) {
                    cmds.push(Command::Replay(ReplayCmd::Play(!r.playing)));
                }
                if i.key_pressed(egui::Key::ArrowRight) {
                    cmds.push(Command::Replay(step(1)));
                }
                if i.key_pressed(egui::Key::ArrowLeft) {
                    cmds.push(Command::Replay(step(-1)));
                }
                if i.key_pressed(egui::Key::Home) {
                    cmds.push(Command::Replay(ReplayCmd::Seek(0)));
                }
                if i.key_pressed(egui::Key::End) {
                    cmds.push(Command::Replay(ReplayCmd::Seek(n)));
                }
            });
        }
        if !ctx.egui_wants_keyboard_input() && ctx.input(|i| i.key_pressed(egui::Key::R) && !i.modifiers.any()) {
            cmds.push(Command::Replay(ReplayCmd::On(!self.state.panels.replay.on)));
        }
        if !ctx.egui_wants_keyboard_input() && ctx.input(|i| i.key_pressed(egui::Key::G) && !i.modifiers.any()) {
            cmds.push(Command::TcpGraphs(!self.state.panels.tcpgraph.shown));
        }
        // Keyboard: up and down move the selection when no text has focus.
        if !ctx.egui_wants_keyboard_input() {
            let (up, down) = ctx.input(|i| (i.key_pressed(egui::Key::ArrowUp), i.key_pressed(egui::Key::ArrowDown)));
            if let Some(pos) =
                self.state.view.selected.and_then(|s| self.state.view.visible.iter().position(|v| *v == s))
            {
                if up && pos > 0 {
                    cmds.push(Command::Select(self.state.view.visible[pos - 1]));
                }
                if down && pos + 1 < self.state.view.visible.len() {
                    cmds.push(Command::Select(self.state.view.visible[pos + 1]));
                }
            }
        }
        // What a command changed is drawn on the next frame.
        if !cmds.is_empty() {
            ctx.request_repaint();
        }
        // A teacher's lab folder is looked at again about once a second.
        if self.state.panels.lab.own.dir.is_some() {
            ctx.request_repaint_after(std::time::Duration::from_secs(1));
        }
        for c in cmds {
            self.apply(c);
        }
        if self.loader.is_some()
            || self.filter_job.is_some()
            || self.live.is_some()
            || self.demos.busy()
            || self.interfaces_job.is_some()
            || self.detail_job.is_some()
            || self.highlight_job.is_some()
            || self.state.panels.lab.checking()
            || self.state.panels.replay.playing
            || self.state.panels.ladder.work.busy()
            || self.state.panels.compare.job.is_some()
            || self.state.panels.tcpgraph.work.busy()
            || self.state.panels.class.grading()
            || self.state.panels.lab.own.checking()
        {
            ctx.request_repaint_after(std::time::Duration::from_millis(30));
        }
    }

    fn toolbar_ui(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        egui::Panel::top("toolbar").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.strong("wirelab");
                ui.separator();
                let replaying = self.state.panels.replay.on;
                if ui
                    .selectable_label(replaying, "Replay")
                    .on_hover_text("Play the capture back in time: every panel shows only what has happened (R)")
                    .clicked()
                {
                    cmds.push(Command::Replay(ReplayCmd::On(!replaying)));
                }
                let comparing = self.state.panels.compare.shown;
                if ui
                    .selectable_label(comparing, "TCP vs UDP")
                    .on_hover_text("The same messages over both transports, with loss: plots side by side")
                    .clicked()
                {
                    cmds.push(Command::ShowCompare(!comparing));
                }
                let labs = self.state.panels.lab.shown;
                if ui.selectable_label(labs, "Labs").on_hover_text("Guided labs (F2)").clicked() {
                    cmds.push(Command::ShowLabs(!labs));
                }
                if ui.button("Open…").on_hover_text("Choose a capture file (Ctrl O)").clicked() {
                    cmds.push(Command::OpenDialog);
                }
                let r = ui.add(
                    egui::TextEdit::singleline(&mut self.state.panels.toolbar.open_text)
                        .hint_text("or type a .pcap/.pcapng path (or drop a file here)")
                        .desired_width(260.0),
                );
                let go = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                if go && !self.state.panels.toolbar.open_text.trim().is_empty() {
                    cmds.push(Command::Open(PathBuf::from(self.state.panels.toolbar.open_text.trim())));
                }
                let save_label = ui.label("Save as:");
                ui.add(
                    egui::TextEdit::singleline(&mut self.state.panels.toolbar.save_text)
                        .id_salt("save")
                        .hint_text("file.pcap")
                        .desired_width(140.0),
                )
                .labelled_by(save_label.id);
                if ui
                    .button("Save")
                    .on_hover_text("Save the frames shown (after the filter) as a pcap that Wireshark opens")
                    .clicked()
                    && !self.state.panels.toolbar.save_text.trim().is_empty()
                {
                    cmds.push(Command::Save(PathBuf::from(self.state.panels.toolbar.save_text.trim())));
                }
                ui.menu_button("Recent", |ui| {
                    if self.settings.recent.is_empty() {
                        ui.label("(none yet)");
                    }
                    for p in self.settings.recent.clone() {
                        if ui.button(p.display().to_string()).clicked() {
                            cmds.push(Command::Open(p));
                            ui.close();
                        }
                    }
                });
                ui.separator();
                if ui.button(if self.settings.dark { "Light theme" } else { "Dark theme" }).clicked() {
                    cmds.push(Command::SetDark(!self.settings.dark));
                }
                if ui.button("A−").on_hover_text("Smaller text (Ctrl −)").clicked() {
                    cmds.push(Command::Zoom(-0.1));
                }
                if ui.button("A+").on_hover_text("Larger text, for a projector (Ctrl +)").clicked() {
                    cmds.push(Command::Zoom(0.1));
                }
            });
            ui.horizontal(|ui| {
                ui.label("Demos:");
                demos::demos_ui(ui, &self.demos, cmds);
                ui.separator();
                ui.label("Live:");
                egui::ComboBox::from_label("interface")
                    .selected_text(self.state.panels.live.interface.clone())
                    .show_ui(ui, |ui| {
                        if self.state.panels.live.interfaces.is_empty() {
                            ui.label("listing the interfaces…");
                        }
                        for name in &self.state.panels.live.interfaces {
                            if ui.selectable_label(*name == self.state.panels.live.interface, name).clicked() {
                                cmds.push(Command::SetInterface(name.clone()));
                            }
                        }
                    });
                ui.add(
                    egui::TextEdit::singleline(&mut self.state.panels.live.filter)
                        .id_salt("bpf")
                        .hint_text("capture filter (BPF)")
                        .desired_width(220.0),
                );
                if self.state.doc.capturing {
                    if ui.button("■ Stop").clicked() {
                        cmds.push(Command::StopCapture);
                    }
                } else if ui
                    .button("● Start capture")
                    .on_hover_text("Capture live traffic (through the capture helper, wirelab-capture, which needs the wirelab group or its setcap capabilities)")
                    .clicked()
                {
                    cmds.push(Command::StartCapture);
                }
                let mut follow = self.state.panels.live.follow;
                if ui.checkbox(&mut follow, "follow the newest").changed() {
                    cmds.push(Command::SetFollow(follow));
                }
                if let Some(s) = &self.state.panels.live.stats {
                    ui.label(format!(
                        "captured {} · kernel dropped {} · interface dropped {} · wirelab dropped {}",
                        s.captured, s.kernel_dropped, s.interface_dropped, s.wirelab_dropped
                    ));
                }
            });
            ui.horizontal(|ui| {
                let label = ui.label("Filter:");
                let mut text = self.state.view.filter_text.clone();
                let r = ui
                    .add(
                        egui::TextEdit::singleline(&mut text)
                            .id(egui::Id::unique("wirelab-filter-box"))
                            .hint_text("e.g. websocket.opcode == 1 && ip.src == 127.0.0.1")
                            .desired_width(ui.available_width() - 220.0),
                    )
                    .labelled_by(label.id);
                if r.changed() {
                    cmds.push(Command::SetFilter(text));
                }
                match (&self.state.view.filter_error, &self.state.doc.loaded) {
                    (Some(e), _) => {
                        ui.colored_label(egui::Color32::from_rgb(230, 80, 80), e.to_string());
                    }
                    (None, Some(l)) => {
                        let shown = if self.state.view.filtering {
                            "filtering…".to_string()
                        } else {
                            format!("{} of {} frames", self.state.view.visible.len(), l.len())
                        };
                        ui.label(shown);
                        // Beside a lab on a narrow screen the side panel folds; this brings it back.
                        if self.state.panels.lab.shown && ui.ctx().content_rect().width() < ROOM_FOR_LAB_AND_SIDE {
                            let open = self.settings.side_panel_with_lab;
                            if ui
                                .selectable_label(open, "Side panel")
                                .on_hover_text("Show the conversation, ladder and glossary beside the packets")
                                .clicked()
                            {
                                cmds.push(Command::SidePanel(!open));
                            }
                        }
                    }
                    _ => {}
                }
            });
        });
    }

    fn status_ui(&self, ui: &mut egui::Ui) {
        // Wrapped, not cut: a long message (where a submission went) is read whole.
        ui.horizontal_wrapped(|ui| {
            if let Some((name, f)) = &self.state.doc.load_progress {
                ui.label(format!("Reading {}…", short_name(name))).on_hover_text(name);
                ui.add(egui::ProgressBar::new(*f).show_percentage().desired_width(240.0));
                // The rows read so far are already in the list.
                let n = self.state.doc.loaded.as_ref().map(Loaded::len).unwrap_or(0);
                ui.label(format!("{n} frames so far"));
            } else if let Some(l) = &self.state.doc.loaded {
                // The file's name (the whole path on hover): the same wherever the file lives.
                ui.label(format!("{} — {} frames", short_name(&l.name), l.len())).on_hover_text(&l.name);
            }
            for n in [&self.state.notice, &self.state.view.frame_notice].into_iter().flatten() {
                ui.label(n);
            }
            if let Some(e) = &self.state.error {
                ui.colored_label(egui::Color32::from_rgb(230, 80, 80), e);
            }
        });
    }
}

/// The whole open capture as a pcap file's bytes (a live one included).
fn whole_pcap(doc: &Document) -> Option<Vec<u8>> {
    let l = doc.loaded.as_ref()?;
    let mut out = Vec::new();
    write_pcap(l, 0..l.len(), &mut out).ok()?;
    Some(out)
}

/// A capture's file name without its folder (the whole path goes on hover).
fn short_name(path: &str) -> String {
    std::path::Path::new(path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.into())
}

/// A capture error for the status line: one line. Missing rights say the
/// one thing a student can do (a student has no sudo; the helper's setup
/// is the teacher's, and `wirelab capture` prints it whole).
fn capture_error_line(e: &str) -> String {
    let first = e.lines().next().unwrap_or(e).trim_end_matches('.');
    if e.starts_with("wirelab may not capture") {
        format!("{first}. Ask your teacher to add you to the group wirelab, or open a bundled capture.")
    } else {
        first.to_string()
    }
}

/// Writes frames of a capture, in the order given ([`crate::file::write_capture`]):
/// pcap, or pcapng with the TLS secrets of the sessions they hold, so the
/// file decrypts wherever it is opened. Says how many sessions' secrets.
fn write_pcap(l: &Loaded, frames: impl Iterator<Item = usize>, out: impl std::io::Write) -> std::io::Result<usize> {
    let linktype = if l.is_empty() { 1 } else { l.meta(0).linktype };
    let order: Vec<usize> = frames.collect();
    let frames: Vec<crate::file::FrameOut<'_>> = order
        .iter()
        .map(|&i| {
            let m = l.meta(i);
            (m.ts_sec, m.ts_nsec, m.len, l.bytes(i))
        })
        .collect();
    // The packet comments go with the frames (by their place in the file written).
    let all = l.cap.as_ref().map(|c| c.comments.all()).unwrap_or_default();
    let comments =
        order.iter().enumerate().filter_map(|(k, i)| Some((k, all.get(&(*i as u64 + 1))?.clone()))).collect();
    crate::file::write_capture(out, linktype, 262_144, l.keys(), &frames, &comments)
}

/// The demo servers' key log (`serve --tls`, or the window's own demo
/// servers), which a live capture follows: the lines added since the
/// capture started are read again whenever the file grows, so the sessions
/// that start during the capture decrypt as they come (the servers write a
/// session's secrets before its ServerHello goes out, so before the window
/// dissects it), and older sessions' secrets stay out of the capture.
struct LiveKeys {
    path: PathBuf,
    /// The file's length when the capture started, and when last read.
    start: u64,
    len: u64,
}

impl LiveKeys {
    fn new(dir: &std::path::Path) -> LiveKeys {
        let path = crate::serve::tls::key_log_path(dir);
        let len = std::fs::metadata(&path).map_or(0, |m| m.len());
        LiveKeys { path, start: len, len }
    }

    fn read_if_grown(&mut self) -> Option<Arc<crate::dissect::app::tls::keylog::KeyLog>> {
        use std::io::{Read as _, Seek as _};
        let len = std::fs::metadata(&self.path).ok()?.len();
        if len == self.len {
            return None;
        }
        // A file made anew (shorter than at the start) is read whole.
        if len < self.start {
            self.start = 0;
        }
        let max = crate::dissect::app::tls::keylog::MAX_BYTES;
        let mut text = Vec::new();
        let mut f = std::fs::File::open(&self.path).ok()?;
        f.seek(std::io::SeekFrom::Start(self.start)).ok()?;
        f.take(max).read_to_end(&mut text).ok()?;
        // Complete lines only: a line being written is read when it ends.
        let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        text.truncate(whole);
        self.len = self.start + whole as u64;
        let mut log = crate::dissect::app::tls::keylog::KeyLog::parse(&String::from_utf8_lossy(&text));
        log.origin = "the demo servers' key log".into();
        (!log.is_empty()).then(|| Arc::new(log))
    }
}

struct EframeApp(App);

impl eframe::App for EframeApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.0.ui(ui);
    }
    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, "settings", &self.0.settings);
    }
}

/// Opens the window.
pub fn run(
    capture: Option<PathBuf>,
    replay: bool,
    comparison: Option<PathBuf>,
    graph: Option<String>,
) -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("wirelab")
            .with_inner_size([1280.0, 860.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "wirelab",
        options,
        Box::new(move |cc| {
            let mut settings: Settings = cc.storage.and_then(|s| eframe::get_value(s, "settings")).unwrap_or_default();
            if replay || comparison.is_some() || capture.is_some() || graph.is_some() {
                // Asked for a file, a replay or a comparison: straight to it.
                settings.welcomed = true;
            }
            let mut app = App::new(capture, settings);
            if let Some(c) = comparison {
                app.push_command(Command::CompareOpen(c));
            }
            if let Some(k) = graph.as_deref().and_then(TcpGraphKind::from_id) {
                app.push_command(Command::TcpGraphs(true));
                app.push_command(Command::TcpGraphKind(k));
            }
            if replay {
                for c in [
                    Command::Replay(ReplayCmd::On(true)),
                    Command::RightTab(RightTab::Ladder),
                    Command::Replay(ReplayCmd::Play(true)),
                ] {
                    app.push_command(c);
                }
            }
            Ok(Box::new(EframeApp(app)))
        }),
    )
    .map_err(|e| {
        anyhow::anyhow!("cannot open the window: {e} (is there a display? try `wirelab dissect FILE` in a terminal)")
    })
}

#[cfg(test)]
mod capture_error_tests {
    #[test]
    fn a_missing_right_is_one_line_that_says_what_a_student_can_do() {
        let e = crate::capture::CaptureError::Permission {
            interface: "lo".into(),
            detail: "Operation not permitted".into(),
            exe: "/usr/lib/wirelab/wirelab-capture".into(),
        }
        .to_string();
        let line = super::capture_error_line(&e);
        assert!(!line.contains('\n') && !line.contains("sudo"), "{line}");
        assert!(line.contains("group wirelab") && line.contains("Operation not permitted"), "{line}");
        assert_eq!(super::capture_error_line("capture on lo failed: gone"), "capture on lo failed: gone");
    }
}
