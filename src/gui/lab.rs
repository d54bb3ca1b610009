//! The lab panel: the list of labs with the student's progress, and an open
//! lab beside the packets — the step's text (Markdown), buttons for its
//! actions, its questions, Check, and feedback whose frames and fields are
//! links. What the student does becomes `Command`s; the panel saves
//! progress, checks answers on a thread, writes the submission, and turns a
//! step's actions into the window's commands.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};

use egui_commonmark::{CommonMarkCache, CommonMarkViewer};
use serde_json::{Value as Json, json};

use super::short_name;
use crate::file::Capture;
use crate::lab::progress::Progress;
use crate::lab::{Action, Answer, Answers, CourseKey, Kind, Lab, Question, Report, Status};

use super::{Command, Settings, State};

/// A lab check done: the report, the answers checked, the capture (its
/// `Document::generation` and name).
type Checked = (Report, Answers, (u64, String));

/// The lab panel's own state.
pub struct LabPanel {
    /// The panel is shown.
    pub shown: bool,
    /// The bundled labs (those that parse; the others are in `broken`).
    pub labs: Vec<Lab>,
    pub broken: Vec<String>,
    /// Index into `labs` of the open lab.
    pub current: Option<usize>,
    /// Where progress is saved (one JSON file per lab).
    pub dir: PathBuf,
    progress: HashMap<String, Progress>,
    /// The last check of the open lab, and the capture it was made on.
    pub report: Option<Report>,
    pub report_on: Option<(u64, String)>,
    /// The capture the report was made on, when another is open now (set
    /// each frame): its verdicts are shown as that capture's, without
    /// links into the frames of the one open.
    elsewhere: Option<String>,
    /// A check running on a thread.
    check_job: Option<Receiver<Result<Checked, String>>>,
    /// What is typed in the answer boxes, by question id.
    drafts: HashMap<String, String>,
    pub student_text: String,
    pub key_text: String,
    /// Where submissions are written (a folder per student inside).
    pub export_text: String,
    /// Why the window fell back to the bundled capture, when it did.
    pub fallback: Option<String>,
    /// The display filter a step's `select` applied (cleared with the lab or the capture).
    pub applied_filter: Option<String>,
    /// Progress files that could not be read, to tell the student (once).
    pub load_errors: Vec<String>,
    /// Labs whose progress file could not be read nor set aside: never written over.
    unreadable: std::collections::HashSet<String>,
    /// A lab's button started the running scenario.
    pub awaiting_scenario: bool,
    /// The step changed: its text starts at the top.
    pub scroll_to_top: bool,
    markdown: CommonMarkCache,
    /// A teacher is looking at a student's submission (from the class window).
    pub review: Option<Review>,
    /// The bundled labs that parse; `labs` is these, then the teacher's own.
    bundled: Vec<Lab>,
    bundled_broken: Vec<String>,
    /// A teacher's folder of lab files, shown beside the bundled labs.
    pub own: super::ownlabs::OwnLabs,
    /// What is typed in the own-labs folder box.
    pub own_text: String,
    /// Check the open lab once the capture opening now is read (a review).
    pub check_when_loaded: bool,
}

/// A student's submission shown in the lab panel: their answers stand in
/// for the teacher's own progress in that lab, which is kept aside and
/// comes back when the review ends; nothing is saved meanwhile.
pub struct Review {
    pub student: String,
    pub lab: String,
    own: Option<Progress>,
}

impl LabPanel {
    pub fn new(settings: &Settings) -> LabPanel {
        let (mut labs, mut broken) = (Vec::new(), Vec::new());
        for l in Lab::bundled() {
            match l {
                Ok(l) => labs.push(l),
                Err(e) => broken.push(e.to_string()),
            }
        }
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
        let (bundled, bundled_broken) = (labs.clone(), broken.clone());
        let mut own = super::ownlabs::OwnLabs::default();
        if !settings.labs_folder.trim().is_empty() {
            own.set_dir(Some(PathBuf::from(settings.labs_folder.trim())));
        }
        LabPanel {
            shown: false,
            labs,
            broken,
            current: None,
            dir: crate::lab::progress::default_dir(),
            progress: HashMap::new(),
            report: None,
            report_on: None,
            elsewhere: None,
            check_job: None,
            drafts: HashMap::new(),
            student_text: settings.student.clone(),
            key_text: settings.course_key.clone(),
            export_text: home.join("wirelab-submissions").display().to_string(),
            fallback: None,
            applied_filter: None,
            load_errors: Vec::new(),
            unreadable: Default::default(),
            awaiting_scenario: false,
            scroll_to_top: false,
            markdown: CommonMarkCache::default(),
            review: None,
            check_when_loaded: false,
            bundled,
            bundled_broken,
            own,
            own_text: settings.labs_folder.clone(),
        }
    }

    pub fn lab(&self) -> Option<&Lab> {
        self.current.and_then(|i| self.labs.get(i))
    }

    /// Reads labs from a teacher's folder too (an empty text: no longer).
    pub fn set_own_dir(&mut self, text: &str) {
        self.own_text = text.to_string();
        let dir = Some(PathBuf::from(text.trim())).filter(|_| !text.trim().is_empty());
        self.own.set_dir(dir);
        self.poll_own(true);
    }

    /// Looks at the teacher's folder again (about once a second): a lab
    /// that changed is validated and reloaded; the open lab stays open.
    pub fn poll_own(&mut self, force: bool) {
        if !self.own.poll(force) && !force {
            return;
        }
        let open = self.lab().map(|l| l.id.clone());
        self.labs = self.bundled.iter().chain(self.own.labs()).cloned().collect();
        self.broken = self.bundled_broken.iter().cloned().chain(self.own.errors()).collect();
        self.current = open.and_then(|id| self.labs.iter().position(|l| l.id == id));
    }

    /// The lab is one of the teacher's own (from their folder).
    pub fn is_own(&self, index: usize) -> bool {
        index >= self.bundled.len()
    }

    /// A lab's progress, read from its file the first time. A file that
    /// cannot be read is set aside (or, if even that fails, left alone and
    /// never written over); either way the student is told.
    pub fn progress(&mut self, id: &str) -> &mut Progress {
        if !self.progress.contains_key(id) {
            let p = Progress::load(&self.dir, id).unwrap_or_else(|e| {
                if crate::lab::progress::file(&self.dir, id).is_ok_and(|f| f.exists()) {
                    self.unreadable.insert(id.to_string());
                }
                self.load_errors.push(e);
                Progress::default()
            });
            self.progress.insert(id.to_string(), p);
        }
        self.progress.entry(id.to_string()).or_default()
    }

    /// Shows a student's submission of a lab in place of one's own progress
    /// in it (ending any review before).
    pub fn begin_review(&mut self, student: &str, lab: &str, theirs: Progress) {
        self.end_review();
        let own = self.progress.remove(lab);
        self.progress.insert(lab.to_string(), theirs);
        self.review = Some(Review { student: student.to_string(), lab: lab.to_string(), own });
        self.report = None;
        self.report_on = None;
    }

    /// Back to one's own progress after a review.
    pub fn end_review(&mut self) {
        let Some(r) = self.review.take() else { return };
        self.progress.remove(&r.lab);
        if let Some(own) = r.own {
            self.progress.insert(r.lab.clone(), own);
        }
        if self.lab().is_some_and(|l| l.id == r.lab) {
            self.open(self.current);
        }
    }

    /// The step a lab's progress is at, once read.
    pub fn progress_step(&self, lab: &str) -> Option<usize> {
        self.progress.get(lab).map(|p| p.step)
    }

    /// The answer typed for a question (what its box shows).
    pub fn draft(&self, question: &str) -> Option<&str> {
        self.drafts.get(question).map(String::as_str)
    }

    /// Saves a lab's progress (not while it shows a student's submission).
    pub fn save(&mut self, id: &str) -> Result<(), String> {
        if self.review.as_ref().is_some_and(|r| r.lab == id) {
            return Ok(());
        }
        if self.unreadable.contains(id) {
            return Err(format!(
                "your earlier progress in {} could not be read, so wirelab does not write over it",
                self.dir.display()
            ));
        }
        let p = self.progress(id).clone();
        p.save(&self.dir, id)
    }

    /// Applies a change to the open lab's progress and saves it.
    pub fn change(&mut self, change: impl FnOnce(&mut Progress)) -> Result<(), String> {
        let Some(id) = self.lab().map(|l| l.id.clone()) else { return Ok(()) };
        change(self.progress(&id));
        self.save(&id)
    }

    /// A check is running.
    pub fn checking(&self) -> bool {
        self.check_job.is_some()
    }

    /// Checks the open lab's answers against a capture on a thread: a
    /// file (indexed as it is) or a live capture written out (`Err`), named
    /// `on`, with the course key and the student that sign the traffic.
    pub fn start_check(
        &mut self,
        source: Result<Arc<Capture>, Vec<u8>>,
        on: (u64, String),
        key: Option<CourseKey>,
        student: String,
    ) -> Result<(), String> {
        let Some(lab) = self.lab().cloned() else { return Ok(()) };
        let answers = self.progress(&lab.id).answers.clone();
        let revealed = self.progress(&lab.id).revealed.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("wirelab-lab-check".into())
            .spawn(move || {
                let cap = match source {
                    Ok(cap) => Ok(cap),
                    Err(pcap) => Capture::from_bytes(pcap, "lab check").map(Arc::new).map_err(|e| e.to_string()),
                };
                let result = cap.map(|cap| {
                    let s = crate::session::Session::index(cap, crate::session::CHECKPOINT_EVERY);
                    let mut r = crate::lab::check_showing(&lab, &s, &answers, crate::lab::Show::Student(&revealed));
                    r.provenance =
                        crate::lab::provenance(&s, key.as_ref(), Some(student.as_str()).filter(|s| !s.is_empty()));
                    (r, answers, on)
                });
                let _ = tx.send(result);
            })
            .map_err(|e| format!("cannot start the check: {e}"))?;
        self.check_job = Some(rx);
        Ok(())
    }

    /// Takes a finished check: the verdicts go into the progress (an
    /// answer changed during the check keeps no stale verdict) and the
    /// report is shown if its lab is still open. `Err`: what to tell.
    pub fn poll_check(&mut self) -> Result<(), String> {
        let Some(rx) = &self.check_job else { return Ok(()) };
        let result = match rx.try_recv() {
            Ok(r) => r,
            Err(TryRecvError::Empty) => return Ok(()),
            Err(TryRecvError::Disconnected) => Err("the check stopped unexpectedly".to_string()),
        };
        self.check_job = None;
        let (report, checked, on) = result.map_err(|e| format!("cannot check: {e}"))?;
        let p = self.progress(&report.lab);
        p.checked = report
            .questions
            .iter()
            .filter(|q| p.answers.get(&q.id) == checked.get(&q.id))
            .map(|q| (q.id.clone(), q.status))
            .collect();
        let saved = self.save(&report.lab);
        if self.lab().is_some_and(|l| l.id == report.lab) {
            self.report = Some(report);
            self.report_on = Some(on);
        }
        saved
    }

    /// Writes the open lab's submission folder for the teacher: the
    /// capture, the answers, what was revealed. `Ok`: what to tell.
    /// `pcap` writes the capture out, once the rest is known to be there.
    pub fn export(&mut self, student: &str, pcap: impl FnOnce() -> Option<Vec<u8>>) -> Result<String, String> {
        let Some(lab) = self.lab().map(|l| l.id.clone()) else { return Ok(String::new()) };
        let student = student.trim();
        if student.is_empty() {
            return Err("enter your student id (under Hand in) before exporting".into());
        }
        let pcap = pcap().ok_or("there is no capture to hand in yet")?;
        let answers = self.progress(&lab).answers.clone();
        let revealed = self.progress(&lab).revealed.clone();
        let dir = PathBuf::from(self.export_text.trim()).join(&lab);
        let folder = crate::lab::progress::write_submission(&dir, student, &pcap, &answers, &revealed)?;
        // A decrypted capture goes with its sessions' secrets (pcapng): say so.
        let sessions = crate::file::Capture::from_bytes(pcap, "capture")
            .ok()
            .and_then(|c| c.tls_keys.as_ref().map(|k| k.len()))
            .unwrap_or(0);
        let secrets = match sessions {
            0 => String::new(),
            1 => "; the capture carries the secrets of its TLS session".into(),
            n => format!("; the capture carries the secrets of its {n} TLS sessions"),
        };
        Ok(format!(
            "submission written to {}{secrets} (your teacher runs: wirelab lab grade {lab} {})",
            folder.display(),
            dir.display()
        ))
    }

    /// What a step's button does, as the window's commands (the panel's
    /// own part, such as remembering the filter it applied, done here).
    pub fn action(&mut self, a: Action) -> Result<Vec<Command>, String> {
        use super::ReplayCmd;
        let server = |name: &str| {
            crate::serve::Kind::ALL
                .into_iter()
                .find(|k| k.name() == name)
                .ok_or_else(|| format!("the lab names a server \"{name}\" wirelab does not have"))
        };
        Ok(match a {
            Action::StartServer { server: s } => vec![Command::Server(server(&s)?, true)],
            Action::StopServer { server: s } => vec![Command::Server(server(&s)?, false)],
            Action::RunScenario { scenario } => {
                self.fallback = None;
                self.awaiting_scenario = true;
                vec![Command::RunScenario(scenario)]
            }
            Action::StartCapture => {
                let filter = self.lab().and_then(|l| l.traffic.capture_filter.clone());
                filter.map(Command::SetCaptureFilter).into_iter().chain([Command::StartCapture]).collect()
            }
            Action::StopCapture => vec![Command::StopCapture],
            Action::OpenCapture { path } => {
                let path = match self.lab() {
                    Some(l) => l.path_of(&path),
                    None => crate::lab::bundled_path(&path),
                };
                vec![Command::Open(path)]
            }
            Action::Select { filter } => {
                self.applied_filter = Some(filter.clone());
                vec![Command::SetFilter(filter)]
            }
            Action::Highlight { field } => vec![Command::HighlightField(field)],
            Action::Compare { loss, duplicate, reorder, delay_ms, count, seed } => {
                let delay = std::time::Duration::from_millis(delay_ms);
                let impair = crate::serve::transport::Impairment { loss, duplicate, reorder, delay, seed };
                vec![Command::CompareWith(count, impair)]
            }
            Action::Graph { graph } => {
                let kind = super::TcpGraphKind::from_id(&graph)
                    .ok_or_else(|| format!("the lab names a TCP graph \"{graph}\" wirelab does not have"))?;
                vec![Command::TcpGraphs(true), Command::TcpGraphKind(kind)]
            }
            Action::Replay { predict } => {
                [ReplayCmd::On(true), ReplayCmd::Seek(0), ReplayCmd::Predict(predict), ReplayCmd::Play(true)]
                    .into_iter()
                    .map(Command::Replay)
                    .collect()
            }
        })
    }

    /// A question's answer changed: its last verdict no longer applies.
    pub fn forget_verdict(&mut self, question: &str) {
        if let Some(q) = self.report.as_mut().and_then(|r| r.questions.iter_mut().find(|q| q.id == question)) {
            q.status = Status::Unanswered;
            q.feedback.clear();
            q.frames.clear();
            q.expected = None;
        }
    }

    /// Opens a lab (or goes back to the list): its answers fill the boxes.
    pub fn open(&mut self, index: Option<usize>) {
        self.current = index.filter(|i| *i < self.labs.len());
        self.report = None;
        self.report_on = None;
        self.drafts.clear();
        let Some(id) = self.lab().map(|l| l.id.clone()) else { return };
        let p = self.progress(&id);
        let drafts: Vec<(String, String)> = p
            .answers
            .iter()
            .filter_map(|(q, v)| {
                let why = v.get("why").and_then(Json::as_str);
                v.as_str()
                    .or(why)
                    .map(|s| (q.clone(), s.to_string()))
                    .or(v.as_f64().map(|n| (q.clone(), n.to_string())))
            })
            .collect();
        self.drafts.extend(drafts);
    }
}

/// A frame number (from 1) as a row index; 0 and numbers past memory are none.
fn frame_index(n: u64) -> Option<usize> {
    n.checked_sub(1).and_then(|i| usize::try_from(i).ok())
}

/// A capture that was refused, said to a student in two lines: what
/// happened (`then`: what wirelab does instead) and the one thing they can
/// do; the details, for the teacher, behind "Why?".
pub fn capture_refused_ui(ui: &mut egui::Ui, why: &str, then: &str) {
    if !why.contains("may not capture") {
        ui.colored_label(AMBER, format!("Not recorded: {why}"));
        return;
    }
    ui.colored_label(
        AMBER,
        format!(
            "This computer does not let you capture yet, so {then}. To capture your own traffic, ask your \
             teacher to add you to the group wirelab."
        ),
    );
    egui::CollapsingHeader::new("Why?").id_salt("capture-why").show(ui, |ui| {
        ui.weak(unwrap_lines(why));
    });
}

/// A message wrapped for a terminal, rewrapped for a panel: its lines are
/// joined, save the indented ones (commands), which keep their own line.
fn unwrap_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            let command = line.starts_with("    ") || out.ends_with('\n');
            out.push(if command || out.trim_end().ends_with(':') { '\n' } else { ' ' });
        }
        out.push_str(line);
        if line.starts_with("    ") {
            out.push('\n');
        }
    }
    out.replace("\n\n", "\n")
}

/// What is dragged in an order question: which question, which row.
#[derive(Clone)]
struct OrderDrag {
    question: String,
    row: usize,
}

const GREEN: egui::Color32 = egui::Color32::from_rgb(80, 180, 100);
const RED: egui::Color32 = egui::Color32::from_rgb(230, 80, 80);
const AMBER: egui::Color32 = egui::Color32::from_rgb(220, 160, 60);

/// The panel: the list of labs, or the open lab (its step scrolls; the
/// step buttons and Check stay at the bottom, always on screen).
pub fn lab_ui(ui: &mut egui::Ui, state: &mut State, cmds: &mut Vec<Command>) {
    if state.panels.lab.current.is_none() {
        egui::ScrollArea::vertical().id_salt("lab-list").show(ui, |ui| list_ui(ui, &mut state.panels.lab, cmds));
        return;
    }
    let selected = selection(state);
    let on_reference =
        state.doc.path.as_ref().zip(state.panels.lab.lab()).is_some_and(|(p, l)| {
            p.canonicalize().ok().is_some_and(|p| l.reference_path().canonicalize().ok() == Some(p))
        });
    let open = state.doc.generation;
    let panel = &mut state.panels.lab;
    panel.elsewhere = panel
        .report_on
        .clone()
        .filter(|(generation, _)| panel.report.is_some() && *generation != open)
        .map(|(_, name)| name);
    egui::Panel::bottom("lab-nav").show(ui, |ui| nav_ui(ui, panel, cmds));
    let mut area = egui::ScrollArea::vertical().id_salt("lab-step");
    if std::mem::take(&mut panel.scroll_to_top) {
        area = area.vertical_scroll_offset(0.0);
    }
    area.show(ui, |ui| open_ui(ui, panel, selected, on_reference, cmds));
}

/// Back, next, and Check.
fn nav_ui(ui: &mut egui::Ui, panel: &mut LabPanel, cmds: &mut Vec<Command>) {
    let Some(lab) = panel.lab() else { return };
    let (id, steps) = (lab.id.clone(), lab.steps.len());
    let step = panel.progress(&id).step.min(steps.saturating_sub(1));
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        if ui.add_enabled(step > 0, egui::Button::new("◀ Back")).clicked() {
            cmds.push(Command::LabStep(step - 1));
        }
        ui.label(format!("Step {} of {steps}", step + 1));
        if ui.add_enabled(step + 1 < steps, egui::Button::new("Next ▶")).clicked() {
            cmds.push(Command::LabStep(step + 1));
        }
    });
    ui.horizontal(|ui| {
        let label = if panel.checking() { "Checking…" } else { "✔ Check my answers" };
        if ui
            .add_enabled(!panel.checking(), egui::Button::new(label))
            .on_hover_text("Compare your answers with the packets you are looking at")
            .clicked()
        {
            cmds.push(Command::LabCheck);
        }
        if let Some(r) = &panel.report {
            ui.label(r.score_line());
            if let Some(on) = &panel.elsewhere {
                ui.colored_label(AMBER, format!("on {}, not the capture open now: check again", short_name(on)))
                    .on_hover_text(format!("These verdicts were checked against {on}. Your answers are kept."));
            }
            let whose = match &panel.review {
                Some(rv) => format!("{}'s", rv.student),
                None => "your".to_string(),
            };
            match r.provenance {
                "verified" => ui.colored_label(GREEN, format!("{whose} token is in this capture")),
                "missing" => ui.colored_label(AMBER, format!("{whose} token is not in this capture")),
                _ => ui.label(""),
            };
        }
    });
    ui.add_space(4.0);
}

/// The selected frame's number and the selected field's name.
/// The selected frame (its number) and field, when the packet list shows
/// that frame: one the filter hides cannot be an answer the student sees.
fn selection(state: &State) -> (Option<u64>, Option<String>) {
    let Some(i) = state.view.selected.filter(|i| state.view.matching.binary_search(i).is_ok()) else {
        return (None, None);
    };
    let frame = Some(i as u64 + 1);
    let field = state
        .view
        .detail
        .as_ref()
        .zip(state.view.selected_field)
        .and_then(|((d, _), f)| d.fields.get(f).map(|f| f.def.name.to_string()));
    (frame, field)
}

fn list_ui(ui: &mut egui::Ui, panel: &mut LabPanel, cmds: &mut Vec<Command>) {
    ui.heading("Labs");
    ui.label("Each lab asks a question from the course and answers it with packets you make yourself.");
    ui.add_space(6.0);
    let labs: Vec<(String, String, u32, usize)> =
        panel.labs.iter().map(|l| (l.id.clone(), l.title.clone(), l.minutes, l.questions().count())).collect();
    for (i, (id, title, minutes, questions)) in labs.into_iter().enumerate() {
        let p = panel.progress(&id);
        let (answered, correct) = (p.answered(), p.correct());
        ui.group(|ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                let title = if panel.is_own(i) { format!("{title} (yours)") } else { title.clone() };
                if ui.button(format!("{}. {title}", i + 1)).on_hover_text(format!("Open the lab {id}")).clicked() {
                    cmds.push(Command::OpenLab(Some(i)));
                }
            });
            ui.horizontal(|ui| {
                ui.weak(format!("{minutes} min · {questions} questions"));
                ui.weak(format!("· {answered} answered, {correct} right"));
            });
            ui.add(egui::ProgressBar::new(correct as f32 / questions.max(1) as f32).desired_height(4.0));
        });
    }
    for b in &panel.broken {
        ui.colored_label(RED, b);
    }
    ui.add_space(8.0);
    ui.collapsing("Your own labs (teachers)", |ui| {
        ui.weak("A folder of lab files (labs/README.md says how to write one). Each is checked as `wirelab lab validate` checks it, and reloaded when you save it.");
        ui.horizontal(|ui| {
            ui.add(
                egui::TextEdit::singleline(&mut panel.own_text)
                    .hint_text("a folder of .toml lab files")
                    .desired_width(220.0),
            );
            if ui.button("Use this folder").clicked() {
                cmds.push(Command::LabsFolder(panel.own_text.trim().to_string()));
            }
        });
        if let Some(d) = &panel.own.dir {
            ui.weak(format!("{} of your labs from {}", panel.own.labs().count(), d.display()));
            let n = panel.own.validating();
            if n > 0 {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.weak(format!("validating {n} file{} on its capture…", if n == 1 { "" } else { "s" }));
                });
            }
        }
    });
    ui.horizontal_wrapped(|ui| {
        ui.weak("Teaching?");
        if ui
            .button("Grade a class…")
            .on_hover_text("A folder of submissions: who is stuck where, which misconceptions the class holds")
            .clicked()
        {
            cmds.push(Command::ShowClass(true));
        }
    });
}

fn open_ui(
    ui: &mut egui::Ui,
    panel: &mut LabPanel,
    (frame, field): (Option<u64>, Option<String>),
    on_reference: bool,
    cmds: &mut Vec<Command>,
) {
    let Some(lab) = panel.lab().cloned() else { return };
    let step_count = lab.steps.len();
    let step = panel.progress(&lab.id).step.min(step_count.saturating_sub(1));
    ui.horizontal(|ui| {
        if ui.button("☰ All labs").clicked() {
            cmds.push(Command::OpenLab(None));
        }
        ui.weak(format!("{} min", lab.minutes));
    });
    if let Some(r) = panel.review.as_ref().filter(|r| r.lab == lab.id) {
        ui.group(|ui| {
            ui.set_width(ui.available_width());
            ui.colored_label(AMBER, format!("Reviewing {}'s submission", r.student));
            ui.weak("Their capture, their answers and the feedback they got. Nothing you change here is saved.");
            if ui.button("Back to my own work").clicked() {
                cmds.push(Command::ReviewEnd);
            }
        });
    }
    ui.heading(&lab.title);
    ui.label(&lab.summary);
    if !lab.glossary.is_empty() {
        ui.horizontal_wrapped(|ui| {
            ui.weak("Words:");
            for w in &lab.glossary {
                if ui.small_button(w).on_hover_text("Look it up in the glossary").clicked() {
                    cmds.push(Command::ShowTerm(w.clone()));
                }
            }
        });
    }
    if on_reference {
        match panel.fallback.clone() {
            // Said once, short, with the one thing a student can do; the
            // details (for the teacher) behind "Why?".
            Some(why) => capture_refused_ui(
                ui,
                &why,
                "the lab goes on with its bundled capture (already open): the answers are checked against it all the same",
            ),
            // Only a lab that makes its own traffic says so (one whose
            // step opens the bundled capture asked for it).
            None if lab.traffic.scenario.is_some() || !lab.traffic.servers.is_empty() => {
                ui.colored_label(
                    AMBER,
                    format!(
                        "You are looking at the bundled capture {} (you opened it), not traffic you made. \
                         The answers are checked against it all the same.",
                        lab.traffic.reference
                    ),
                );
            }
            None => {}
        }
    }
    ui.separator();
    let Some(s) = lab.steps.get(step) else { return };
    ui.strong(format!("{}. {}", step + 1, s.title));
    CommonMarkViewer::new().show(ui, &mut panel.markdown, &s.text);
    actions_ui(ui, &lab, &s.actions, cmds);
    for q in &s.questions {
        ui.add_space(6.0);
        ui.group(|ui| {
            ui.set_width(ui.available_width());
            question_ui(ui, panel, &lab.id, q, frame, field.as_deref(), cmds);
        });
    }
    ui.separator();
    submission_ui(ui, panel, cmds);
}

/// The step's actions as buttons. (A step that runs a scenario has no
/// server or capture buttons beside it: the scenario starts its own.)
fn actions_ui(ui: &mut egui::Ui, lab: &Lab, actions: &[Action], cmds: &mut Vec<Command>) {
    ui.horizontal_wrapped(|ui| {
        for a in actions {
            let (label, hover) = match a {
                Action::StartServer { server } => {
                    (format!("▶ Start the {server} server"), "A demo server on this computer".to_string())
                }
                Action::StopServer { server } => (format!("■ Stop the {server} server"), String::new()),
                Action::RunScenario { scenario } => (
                    format!("▶ Make the traffic ({scenario})"),
                    "Starts its own servers and scripted clients on this computer, records their packets \
                     and opens the recording"
                        .to_string(),
                ),
                Action::StartCapture => {
                    ("● Start capturing".into(), lab.traffic.capture_filter.clone().unwrap_or_default())
                }
                Action::StopCapture => ("■ Stop capturing".into(), String::new()),
                Action::OpenCapture { path } => (format!("Open {path}"), String::new()),
                Action::Select { filter } => (format!("Show only: {filter}"), "Sets the display filter".into()),
                Action::Highlight { field } => (format!("Highlight {field}"), "In the selected packet".into()),
                Action::Replay { predict: true } => (
                    "▶ Replay it, predicting each message".into(),
                    "Plays the capture back and pauses before each message: guess what comes next".into(),
                ),
                Action::Replay { predict: false } => ("▶ Replay it".into(), "Plays the capture back in time".into()),
                Action::Graph { graph } => (
                    format!("Show the TCP graph: {graph}"),
                    "Draws the selected packet's connection (select a data segment first; G toggles it)".into(),
                ),
                Action::Compare { loss, .. } => (
                    format!("▶ Compare TCP and UDP ({:.0}% loss)", loss * 100.0),
                    "Sends the same messages over both, through the same loss, and records them".into(),
                ),
            };
            let b = ui.button(label);
            let b = if hover.is_empty() { b } else { b.on_hover_text(hover) };
            if b.clicked() {
                cmds.push(Command::LabAction(a.clone()));
            }
        }
        if ui
            .button("Use the bundled capture")
            .on_hover_text(format!("Open {} instead of making traffic", lab.traffic.reference))
            .clicked()
        {
            cmds.push(Command::LabAction(Action::OpenCapture { path: lab.traffic.reference.clone() }));
        }
    });
}

fn question_ui(
    ui: &mut egui::Ui,
    panel: &mut LabPanel,
    lab: &str,
    q: &Question,
    frame: Option<u64>,
    field: Option<&str>,
    cmds: &mut Vec<Command>,
) {
    let prompt = ui.label(with_code(ui, &q.prompt, |r| r.strong()));
    let answer = panel.progress(lab).answers.get(&q.id).cloned();
    let answer_cmd = |v: Json| Command::LabAnswer(q.id.clone(), v);
    match &q.kind {
        Kind::Value { .. } | Kind::FreeText => {
            let draft = panel.drafts.entry(q.id.clone()).or_default();
            let edit = if matches!(q.kind, Kind::FreeText) {
                egui::TextEdit::multiline(draft).desired_rows(3)
            } else {
                egui::TextEdit::singleline(draft)
            };
            let r = ui
                .add(edit.hint_text("your answer").desired_width(f32::INFINITY).id_salt(("answer", &q.id)))
                .labelled_by(prompt.id);
            if r.changed() {
                cmds.push(answer_cmd(json!(draft.trim())));
            }
        }
        Kind::PickPacket { .. } => {
            ui.horizontal(|ui| {
                let label = match frame {
                    Some(n) => format!("Use the selected packet (frame {n})"),
                    None => "Select a packet first".into(),
                };
                if ui.add_enabled(frame.is_some(), egui::Button::new(label)).clicked()
                    && let Some(n) = frame
                {
                    cmds.push(answer_cmd(json!(n)));
                }
                if let Some(n) = answer.as_ref().and_then(Json::as_u64)
                    && ui.link(format!("your answer: frame {n}")).clicked()
                    && let Some(i) = frame_index(n)
                {
                    cmds.push(Command::Select(i));
                }
            });
        }
        Kind::Annotate { .. } => {
            // The sentence first, then the frame it is about: the pair is the
            // answer, and the frame's packet comment.
            let draft = panel.drafts.entry(q.id.clone()).or_default();
            ui.add(
                egui::TextEdit::multiline(draft)
                    .hint_text("why: what happens in that frame, in a sentence")
                    .desired_rows(2)
                    .desired_width(f32::INFINITY)
                    .id_salt(("annotate", &q.id)),
            )
            .labelled_by(prompt.id);
            ui.horizontal_wrapped(|ui| {
                let label = match frame {
                    Some(n) => format!("Mark the selected packet (frame {n})"),
                    None => "Select a packet first".into(),
                };
                let ready = frame.is_some() && !draft.trim().is_empty();
                if ui
                    .add_enabled(ready, egui::Button::new(label))
                    .on_disabled_hover_text("select a packet and write why")
                    .clicked()
                    && let Some(n) = frame
                {
                    cmds.push(answer_cmd(json!({ "frame": n, "why": draft.trim() })));
                    if let Some(i) = frame_index(n) {
                        cmds.push(Command::SetComment(i, draft.trim().to_string()));
                    }
                }
                if let Some(Answer::Annotation { frame: n, .. }) = answer.as_ref().and_then(Answer::from_json)
                    && ui.link(format!("your mark: frame {n}")).clicked()
                    && let Some(i) = frame_index(n)
                {
                    cmds.push(Command::Select(i));
                }
            });
        }
        Kind::PickField { .. } => {
            ui.horizontal_wrapped(|ui| {
                let label = match (frame, field) {
                    (Some(n), Some(f)) => format!("Use the selected field ({f} in frame {n})"),
                    _ => "Click a field in the layer view first".into(),
                };
                if ui.add_enabled(field.is_some(), egui::Button::new(label)).clicked()
                    && let (Some(n), Some(f)) = (frame, field)
                {
                    cmds.push(answer_cmd(json!({ "frame": n, "field": f })));
                }
                if let Some(Answer::Field { frame: Some(n), field: f }) = answer.as_ref().and_then(Answer::from_json)
                    && ui.link(format!("your answer: {f} in frame {n}")).clicked()
                    && let Some(i) = frame_index(n)
                {
                    cmds.push(Command::Select(i));
                    cmds.push(Command::HighlightField(f));
                }
            });
        }
        Kind::Choice { choices } => {
            let picked = answer.as_ref().and_then(Json::as_str).map(str::to_string);
            for c in choices {
                if ui.radio(picked.as_deref() == Some(c.id.as_str()), &c.text).clicked() {
                    cmds.push(answer_cmd(json!(c.id)));
                }
            }
        }
        Kind::Order { items } => {
            let mut order: Vec<String> = answer
                .as_ref()
                .and_then(Json::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                .filter(|o: &Vec<String>| o.len() == items.len() && items.iter().all(|i| o.contains(&i.id)))
                .unwrap_or_else(|| items.iter().map(|i| i.id.clone()).collect());
            ui.weak("Drag the items, or use the arrows, to put them in the order the packets show.");
            let mut moved = None;
            let dnd_id = egui::Id::unique(("order", &q.id));
            for (k, id) in order.iter().enumerate() {
                let text = items.iter().find(|i| &i.id == id).map(|i| i.text.as_str()).unwrap_or(id);
                let row = ui.horizontal(|ui| {
                    if ui.add_enabled(k > 0, egui::Button::new("↑").small()).clicked() {
                        moved = Some((k, k - 1));
                    }
                    if ui.add_enabled(k + 1 < items.len(), egui::Button::new("↓").small()).clicked() {
                        moved = Some((k, k + 1));
                    }
                    let payload = OrderDrag { question: q.id.clone(), row: k };
                    ui.dnd_drag_source(dnd_id.with(k), payload, |ui| ui.label(format!("{}. {text}", k + 1)));
                });
                // Only a row of this question, dropped here, moves.
                if let Some(d) = row.response.dnd_release_payload::<OrderDrag>()
                    && d.question == q.id
                    && d.row < order.len()
                {
                    moved = Some((d.row, k));
                }
            }
            if let Some((from, to)) = moved
                && from != to
            {
                let item = order.remove(from);
                order.insert(to, item);
                cmds.push(answer_cmd(json!(order)));
            }
        }
    }
    // Hints, on request, one at a time.
    let shown = panel.progress(lab).hints.get(&q.id).copied().unwrap_or(0).min(q.hints.len());
    for h in &q.hints[..shown] {
        ui.label(with_code(ui, &format!("Hint: {h}"), |r| r.italics()));
    }
    if shown < q.hints.len() && ui.small_button(format!("Hint ({} of {})", shown + 1, q.hints.len())).clicked() {
        cmds.push(Command::LabHint(q.id.clone()));
    }
    feedback_ui(ui, panel, lab, q, cmds);
}

/// Lab text as the student reads it: what the lab file writes in backticks
/// (a filter, a field name) shown as code, not as backticks; the rest
/// styled by `style`. Text with an unmatched backtick is shown as written.
fn with_code(ui: &egui::Ui, text: &str, style: impl Fn(egui::RichText) -> egui::RichText) -> egui::text::LayoutJob {
    let mut job = egui::text::LayoutJob::default();
    let paired = text.matches('`').count().is_multiple_of(2);
    let parts: Vec<&str> = if paired { text.split('`').collect() } else { vec![text] };
    for (i, part) in parts.into_iter().enumerate().filter(|(_, p)| !p.is_empty()) {
        let rich = if i % 2 == 1 { egui::RichText::new(part).code() } else { style(egui::RichText::new(part)) };
        rich.append_to(&mut job, ui.style(), egui::FontSelection::Default, egui::Align::Center);
    }
    job
}

/// The last check's verdict on one question: hints before answers. A
/// question not tried gets nothing; a wrong answer, where to look; the
/// answer itself only when asked for ("Show me the answer", after a try).
fn feedback_ui(ui: &mut egui::Ui, panel: &mut LabPanel, lab: &str, q: &Question, cmds: &mut Vec<Command>) {
    let Some(r) = panel.report.as_ref().and_then(|r| r.questions.iter().find(|x| x.id == q.id)).cloned() else {
        return;
    };
    let elsewhere = panel.elsewhere.clone();
    let asked = panel.progress(lab).revealed.contains(&q.id);
    let (mark, color) = match r.status {
        Status::Correct if asked => ("✔ right, after seeing the answer", GREEN),
        Status::Correct => ("✔ right", GREEN),
        Status::Incorrect => ("✘ not yet", RED),
        Status::Unanswered => ("", AMBER),
        Status::Ungraded => ("kept for your teacher", ui.visuals().weak_text_color()),
        Status::CannotAnswer => ("this capture cannot answer it", AMBER),
    };
    if !mark.is_empty() {
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(color, mark);
            if let Some(on) = &elsewhere {
                ui.weak(format!("(on {})", short_name(on)));
            }
            if !matches!(r.status, Status::Correct | Status::Ungraded) && !r.feedback.is_empty() {
                ui.label(with_code(ui, &r.feedback, |r| r));
            }
        });
    }
    if r.status == Status::Incorrect
        && q.reveal
        && !asked
        && ui
            .small_button("Show me the answer")
            .on_hover_text("Your teacher will see that you asked for this answer")
            .clicked()
    {
        cmds.push(Command::LabReveal(q.id.clone()));
    }
    if !r.revealed || r.status == Status::Correct {
        return;
    }
    if let Some(e) = &r.expected {
        let shown = match e {
            Json::String(t) => t.clone(),
            Json::Array(items) => {
                items.iter().map(|v| v.as_str().unwrap_or_default()).collect::<Vec<_>>().join(", then ")
            }
            // A field question's answer: the field, not its JSON.
            Json::Object(o) if o.get("field").is_some_and(Json::is_string) => {
                o["field"].as_str().unwrap_or_default().to_string()
            }
            other => other.to_string(),
        };
        ui.horizontal_wrapped(|ui| {
            ui.weak("The answer (shown on request):");
            ui.label(egui::RichText::new(shown).strong());
        });
    }
    // Frame numbers of another capture would select the wrong frames here.
    if r.frames.is_empty() || elsewhere.is_some() {
        return;
    }
    ui.horizontal_wrapped(|ui| {
        ui.weak("Look at:");
        for &n in r.frames.iter().take(12) {
            let label = match q.field() {
                Some(f) => format!("frame {n}, {f}"),
                None => format!("frame {n}"),
            };
            if ui.link(label).on_hover_text("Select it in the packet list").clicked()
                && let Some(i) = frame_index(n)
            {
                cmds.push(Command::Select(i));
                if let Some(f) = q.field() {
                    cmds.push(Command::HighlightField(f.to_string()));
                }
            }
        }
    });
}

fn submission_ui(ui: &mut egui::Ui, panel: &mut LabPanel, cmds: &mut Vec<Command>) {
    egui::CollapsingHeader::new("Hand in").id_salt("hand-in").show(ui, |ui| {
        ui.label("Your teacher grades a folder with your capture and your answers.");
        egui::Grid::new("student").num_columns(2).show(ui, |ui| {
            let l = ui.label("Student id:");
            if ui
                .add(egui::TextEdit::singleline(&mut panel.student_text).desired_width(200.0))
                .labelled_by(l.id)
                .changed()
            {
                cmds.push(Command::SetStudent(panel.student_text.trim().to_string()));
            }
            ui.end_row();
            let l = ui.label("Course key:");
            if ui
                .add(egui::TextEdit::singleline(&mut panel.key_text).desired_width(200.0).password(true))
                .labelled_by(l.id)
                .on_hover_text("From your teacher (64 hex digits); optional. With it, your traffic carries your token.")
                .changed()
            {
                cmds.push(Command::SetCourseKey(panel.key_text.trim().to_string()));
            }
            ui.end_row();
            let l = ui.label("Save into:");
            ui.add(egui::TextEdit::singleline(&mut panel.export_text).desired_width(200.0)).labelled_by(l.id);
            ui.end_row();
        });
        if ui
            .button("Export my submission")
            .on_hover_text("Writes <folder>/<lab>/<student id>/ with the capture (capture.pcap, or capture.pcapng with its TLS secrets) and answers.json")
            .clicked()
        {
            cmds.push(Command::LabExport);
        }
    });
}

/// The first screen of a first run: the labs, one click away.
pub fn welcome_ui(ctx: &egui::Context, panel: &LabPanel, cmds: &mut Vec<Command>) {
    egui::Window::new("Welcome to wirelab")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .show(ctx, |ui| {
            ui.set_max_width(460.0);
            ui.label(
                "wirelab shows what really crosses the network when a program talks: every byte of every \
                 packet, placed on its layer — from the TCP handshake up to the Socket.IO event.",
            );
            ui.add_space(4.0);
            ui.label(
                "The labs walk you through it: you start a small server, make traffic, look at your own \
                 packets, and answer questions that are checked against them.",
            );
            ui.add_space(8.0);
            if let Some(first) = panel.labs.first() {
                let start = ui.add(
                    egui::Button::new(egui::RichText::new(format!("▶ Start the first lab: {}", first.title)).strong())
                        .min_size(egui::vec2(ui.available_width(), 32.0)),
                );
                if start.clicked() {
                    cmds.push(Command::OpenLab(Some(0)));
                    cmds.push(Command::Welcomed);
                }
                ui.weak(format!("{} minutes · {}", first.minutes, first.summary));
            }
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                if ui.button(format!("See all {} labs", panel.labs.len())).clicked() {
                    cmds.push(Command::ShowLabs(true));
                    cmds.push(Command::Welcomed);
                }
                if ui.button("Just show me the packets").clicked() {
                    cmds.push(Command::Welcomed);
                }
            });
            ui.weak("The labs are always under Labs in the toolbar (F2).");
        });
}
