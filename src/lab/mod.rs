//! Guided labs: lab files (TOML, `labs/*.toml`, documented in
//! `labs/README.md`), questions whose right answers are computed from the
//! capture the student looks at, and the check of a student's answers.
//!
//! A question never stores its answer (a multiple choice is the exception):
//! it says how to compute it from the packets, with a small query language
//! built on the display filters ([`query`]). So every student's right answer
//! is their own, and a capture made elsewhere (Wireshark, the official
//! socket.io) works as well as wirelab's own. Part of the library: no GUI;
//! the CLI (`wirelab lab …`) and the window are two front ends.

pub mod check;
pub mod class;
pub mod progress;
pub mod query;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use check::{Answer, Answers, QuestionReport, Report, Show, Status, answer_key, check, check_showing};
pub use query::{Query, Which};

/// The labs that ship with wirelab, by file name.
pub const BUNDLED: [(&str, &str); 17] = [
    ("osi-layers.toml", include_str!("../../labs/osi-layers.toml")),
    ("sockets-and-ports.toml", include_str!("../../labs/sockets-and-ports.toml")),
    ("tcp-handshake.toml", include_str!("../../labs/tcp-handshake.toml")),
    ("tcp-vs-udp.toml", include_str!("../../labs/tcp-vs-udp.toml")),
    ("websocket-handshake.toml", include_str!("../../labs/websocket-handshake.toml")),
    ("websocket-frames.toml", include_str!("../../labs/websocket-frames.toml")),
    ("bidirectional.toml", include_str!("../../labs/bidirectional.toml")),
    ("socketio-uses-http.toml", include_str!("../../labs/socketio-uses-http.toml")),
    ("client-emits.toml", include_str!("../../labs/client-emits.toml")),
    ("server-emits.toml", include_str!("../../labs/server-emits.toml")),
    ("missed-events.toml", include_str!("../../labs/missed-events.toml")),
    ("rooms-and-namespaces.toml", include_str!("../../labs/rooms-and-namespaces.toml")),
    ("message-queues.toml", include_str!("../../labs/message-queues.toml")),
    ("compression.toml", include_str!("../../labs/compression.toml")),
    ("tls-and-wss.toml", include_str!("../../labs/tls-and-wss.toml")),
    ("scale-out.toml", include_str!("../../labs/scale-out.toml")),
    ("tcp-reliability.toml", include_str!("../../labs/tcp-reliability.toml")),
];

/// Lab files bigger than this are refused (they come from people).
pub const MAX_LAB_BYTES: usize = 256 << 10;

/// One lab, as its file says.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lab {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub minutes: u32,
    #[serde(default)]
    pub level: String,
    /// Glossary words the lab uses.
    #[serde(default)]
    pub glossary: Vec<String>,
    pub traffic: Traffic,
    pub steps: Vec<Step>,
    /// The folder of the lab's file, when it was read from one (a
    /// teacher's lab): the captures it names are looked for there first.
    #[serde(skip)]
    pub dir: Option<PathBuf>,
}

/// The traffic a lab looks at: what the student makes, and the bundled
/// capture to fall back on (also the reference `lab validate` checks against).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    /// Demo servers to start (`echo`, `chat`, `tcp`, `udp`).
    #[serde(default)]
    pub servers: Vec<String>,
    /// The scenario that makes the traffic (`wirelab scenario --list`).
    #[serde(default)]
    pub scenario: Option<String>,
    /// The capture filter for a live capture (BPF).
    #[serde(default)]
    pub capture_filter: Option<String>,
    /// A bundled capture (path from the repository root).
    pub reference: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub title: String,
    /// Explanation, in Markdown.
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub actions: Vec<Action>,
    #[serde(default)]
    pub questions: Vec<Question>,
}

/// Something the window can do for the student at this step.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "do", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Action {
    StartServer {
        server: String,
    },
    StopServer {
        server: String,
    },
    RunScenario {
        scenario: String,
    },
    StartCapture,
    StopCapture,
    OpenCapture {
        path: String,
    },
    /// Show only the frames matching a display filter.
    Select {
        filter: String,
    },
    /// Highlight a field in the selected frame.
    Highlight {
        field: String,
    },
    /// Replay the capture from the start; with `predict`, pause before each
    /// message and ask what comes next.
    Replay {
        #[serde(default)]
        predict: bool,
    },
    /// Open the TCP graphs of the selected connection, at one graph
    /// (`crate::tcpgraph::GRAPHS`: time-sequence, throughput, round-trip, window).
    Graph {
        graph: String,
    },
    /// Run `wirelab compare` (TCP versus UDP) with these settings; its
    /// recording becomes the capture the lab looks at. Probabilities 0–1.
    Compare {
        #[serde(default)]
        loss: f64,
        #[serde(default)]
        duplicate: f64,
        #[serde(default)]
        reorder: f64,
        #[serde(default)]
        delay_ms: u64,
        #[serde(default = "fifty")]
        count: u32,
        #[serde(default = "one")]
        seed: u64,
    },
}

fn fifty() -> u32 {
    50
}

fn one() -> u64 {
    1
}

// (No deny_unknown_fields here: serde cannot combine it with `flatten`;
// `Kind` denies them instead, and sees every key the question does not.)
#[derive(Debug, Clone, Deserialize)]
pub struct Question {
    pub id: String,
    pub prompt: String,
    #[serde(flatten)]
    pub kind: Kind,
    #[serde(default)]
    pub hints: Vec<String>,
    /// Said after a wrong answer, before the frames that decide it.
    #[serde(default)]
    pub feedback: String,
    /// May the check show the expected answer?
    #[serde(default = "yes")]
    pub reveal: bool,
    /// Said when the capture cannot answer the question: what it needs
    /// ("wirelab's chat with --recovery: the official socket.io marks nothing").
    #[serde(default)]
    pub needs: String,
}

fn yes() -> bool {
    true
}

/// A unit a student answers in, for a field that holds seconds.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Milliseconds: round trips on a fast network are a fraction of one.
    Ms,
}

impl Unit {
    /// How many of this unit make the field's one.
    pub fn per_second(self) -> f64 {
        match self {
            Unit::Ms => 1000.0,
        }
    }
}

/// The kinds of question, each with how its right answer is found.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Kind {
    /// A text or a number; numbers may allow a tolerance.
    Value {
        answer: Query,
        #[serde(default)]
        tolerance: f64,
        /// A tolerance as a share of the right answer (0.05 is 5%).
        #[serde(default)]
        relative: f64,
        /// The unit the student answers in, when not the field's own.
        #[serde(default)]
        unit: Option<Unit>,
    },
    /// The frame the student selects.
    PickPacket { answer: Query },
    /// Mark the frame where something happens and say why in a sentence:
    /// the frame is checked as a pick-packet's, the sentence is kept for the
    /// teacher (and as the frame's packet comment in the window).
    Annotate { answer: Query },
    /// The field the student selects (in one of the frames the query finds).
    PickField {
        field: String,
        #[serde(default)]
        filter: Option<String>,
    },
    /// Put items in the order the packets show.
    Order { items: Vec<OrderItem> },
    /// A multiple choice: the one kind whose answer is in the file.
    Choice { choices: Vec<Choice> },
    /// Kept for the teacher, never scored.
    FreeText,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderItem {
    pub id: String,
    pub text: String,
    /// The item's place is that of the first frame matching this filter.
    pub filter: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub id: String,
    pub text: String,
    #[serde(default)]
    pub correct: bool,
    /// Why this choice is wrong (or right), citing the packets.
    #[serde(default)]
    pub feedback: String,
    /// Frames that show it: a display filter, evaluated on the capture.
    #[serde(default)]
    pub evidence: Option<String>,
}

/// A lab file that cannot be used, with where and what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct LabError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl Lab {
    /// Parses a lab file's text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Lab, LabError> {
        if text.len() > MAX_LAB_BYTES {
            return Err(LabError {
                file: file.into(),
                line: 1,
                message: format!(
                    "the file is {} KiB; a lab file may be at most {} KiB",
                    text.len() >> 10,
                    MAX_LAB_BYTES >> 10
                ),
            });
        }
        let lab: Lab = toml::from_str(text).map_err(|e| LabError {
            file: file.into(),
            line: e.span().map(|s| line_of(text, s.start)).unwrap_or(1),
            message: e.message().trim().to_string(),
        })?;
        lab.check_static(file, text)?;
        Ok(lab)
    }

    /// Reads a lab: a bundled one by id, or a file path.
    pub fn load(id_or_path: &str) -> Result<Lab, LabError> {
        for (name, text) in BUNDLED {
            if name.strip_suffix(".toml") == Some(id_or_path) {
                return Lab::parse(&format!("labs/{name}"), text);
            }
        }
        let path = Path::new(id_or_path);
        if path.extension().is_some_and(|e| e == "toml") {
            let err = |m: String| LabError { file: id_or_path.into(), line: 1, message: m };
            let meta = std::fs::metadata(path).map_err(|e| err(format!("cannot read it: {e}")))?;
            if meta.len() > MAX_LAB_BYTES as u64 {
                return Err(err(format!("the file is larger than {} KiB", MAX_LAB_BYTES >> 10)));
            }
            let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read it: {e}")))?;
            let mut lab = Lab::parse(id_or_path, &text)?;
            lab.dir = path.parent().map(Path::to_path_buf);
            return Ok(lab);
        }
        let ids: Vec<&str> = BUNDLED.iter().filter_map(|(n, _)| n.strip_suffix(".toml")).collect();
        Err(LabError {
            file: id_or_path.into(),
            line: 0,
            message: format!("no lab \"{id_or_path}\"; the labs are: {} (or give a .toml file)", ids.join(", ")),
        })
    }

    /// Every bundled lab.
    pub fn bundled() -> Vec<Result<Lab, LabError>> {
        BUNDLED.iter().map(|(name, text)| Lab::parse(&format!("labs/{name}"), text)).collect()
    }

    pub fn questions(&self) -> impl Iterator<Item = &Question> {
        self.steps.iter().flat_map(|s| s.questions.iter())
    }

    /// The reference capture: beside the lab's file for a teacher's lab,
    /// else bundled (from the repository root or beside the binary).
    pub fn reference_path(&self) -> PathBuf {
        self.path_of(&self.traffic.reference)
    }

    /// A file the lab names (a capture): beside the lab's own file when it
    /// is there, else a bundled one ([`bundled_path`]).
    pub fn path_of(&self, rel: &str) -> PathBuf {
        self.dir.as_ref().map(|d| d.join(rel)).filter(|p| p.exists()).unwrap_or_else(|| bundled_path(rel))
    }

    /// Checks what can be checked without a capture: unique ids, filters
    /// that parse, fields and notes that exist, a correct choice.
    fn check_static(&self, file: &str, text: &str) -> Result<(), LabError> {
        let at = |needle: &str| text.find(needle).map(|p| line_of(text, p)).unwrap_or(1);
        let fail = |needle: &str, message: String| Err(LabError { file: file.into(), line: at(needle), message });
        // A scenario starts its own servers and records its own capture: a
        // step that also offers to start a server or a capture would suggest
        // the recording uses them.
        for s in &self.steps {
            let scenario = s.actions.iter().find_map(|a| match a {
                Action::RunScenario { scenario } => Some(scenario),
                _ => None,
            });
            let beside = s.actions.iter().find_map(|a| match a {
                Action::StartServer { .. } => Some("start-server"),
                Action::StopServer { .. } => Some("stop-server"),
                Action::StartCapture => Some("start-capture"),
                Action::StopCapture => Some("stop-capture"),
                _ => None,
            });
            if let (Some(scenario), Some(what)) = (scenario, beside) {
                return fail(
                    &format!("\"{scenario}\""),
                    format!(
                        "step \"{}\": the scenario \"{scenario}\" starts its own servers and records them; \
                         drop \"{what}\" from this step (it would not be the server or capture the recording uses)",
                        s.title
                    ),
                );
            }
        }
        // A highlight button naming the field that a pick-field question of
        // this step or a later one asks for would be its answer.
        for (i, s) in self.steps.iter().enumerate() {
            for a in &s.actions {
                let Action::Highlight { field } = a else { continue };
                if let Some(q) = self.steps[i..]
                    .iter()
                    .flat_map(|s| &s.questions)
                    .find(|q| matches!(q.kind, Kind::PickField { .. }) && q.field() == Some(field))
                {
                    return fail(
                        &format!("field = \"{field}\""),
                        format!(
                            "step \"{}\": highlighting \"{field}\" would show the answer to the question \"{}\"; \
                             highlight its layer or a neighbouring field instead",
                            s.title, q.id
                        ),
                    );
                }
            }
        }
        let mut ids = std::collections::HashSet::new();
        for q in self.questions() {
            if !ids.insert(q.id.as_str()) {
                return fail(&format!("id = \"{}\"", q.id), format!("two questions have the id \"{}\"", q.id));
            }
            let needle = format!("id = \"{}\"", q.id);
            if q.hints.is_empty() && !matches!(q.kind, Kind::FreeText) {
                return fail(
                    &needle,
                    format!("question \"{}\" has no hints: give at least one (hints = [\"…\"])", q.id),
                );
            }
            let filter_ok = |f: &str| -> Result<(), LabError> {
                crate::filter::Filter::parse(f).map(|_| ()).map_err(|e| LabError {
                    file: file.into(),
                    line: at(f),
                    message: format!("question \"{}\": the filter \"{f}\" does not parse: {e}", q.id),
                })
            };
            match &q.kind {
                Kind::Value { answer, .. } | Kind::PickPacket { answer } | Kind::Annotate { answer } => {
                    for f in answer.filters() {
                        filter_ok(f)?;
                    }
                    if let Some(name) = answer.field_names().into_iter().find(|n| !known_name(n)) {
                        return fail(
                            &needle,
                            format!("question \"{}\": no field \"{name}\" (`wirelab fields` lists them)", q.id),
                        );
                    }
                }
                Kind::PickField { field, filter } => {
                    if !known_name(field) {
                        return fail(&needle, format!("question \"{}\": no field \"{field}\"", q.id));
                    }
                    if let Some(f) = filter {
                        filter_ok(f)?;
                    }
                }
                Kind::Order { items } => {
                    if items.len() < 2 {
                        return fail(
                            &needle,
                            format!("question \"{}\": an order question needs two items or more", q.id),
                        );
                    }
                    for i in items {
                        filter_ok(&i.filter)?;
                    }
                }
                Kind::Choice { choices } => {
                    if !choices.iter().any(|c| c.correct) {
                        return fail(&needle, format!("question \"{}\": no choice is marked correct = true", q.id));
                    }
                    for f in choices.iter().filter_map(|c| c.evidence.as_deref()) {
                        filter_ok(f)?;
                    }
                }
                Kind::FreeText => {}
            }
        }
        let glossary = crate::glossary::Glossary::current();
        if let Some(w) = self.glossary.iter().find(|w| glossary.find(w).is_none()) {
            return fail(
                &format!("\"{w}\""),
                format!(
                    "the glossary word \"{w}\" is not in the glossary (labs/glossary.toml, or glossary.toml beside your labs): add it there, or use a term it has"
                ),
            );
        }
        for a in self.steps.iter().flat_map(|s| &s.actions) {
            match a {
                Action::Select { filter } => filter_ok_plain(file, text, filter)?,
                Action::Highlight { field } if !known_name(field) => {
                    return fail(field, format!("the action highlights \"{field}\", which is not a field"));
                }
                Action::Graph { graph } if !crate::tcpgraph::GRAPHS.contains(&graph.as_str()) => {
                    return fail(
                        graph,
                        format!("no TCP graph \"{graph}\"; there are: {}", crate::tcpgraph::GRAPHS.join(", ")),
                    );
                }
                Action::Compare { loss, duplicate, reorder, .. } => {
                    for (name, p) in [("loss", loss), ("duplicate", duplicate), ("reorder", reorder)] {
                        if !(0.0..=1.0).contains(p) {
                            return fail(
                                "do = \"compare\"",
                                format!(
                                    "the compare action's {name} is a probability from 0 to 1 (0.1 = 10%), not {p}"
                                ),
                            );
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A file a lab names (a capture): from the source tree wirelab was built
/// in, beside the binary, or in `../share/wirelab` beside it (an installed
/// wirelab); else as given, relative to where wirelab runs.
pub fn bundled_path(rel: &str) -> PathBuf {
    let exe_dir = std::env::current_exe().ok().and_then(|p| p.parent().map(Path::to_path_buf));
    let candidates = [
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()),
        exe_dir.clone(),
        exe_dir.map(|d| d.join("../share/wirelab")),
    ];
    candidates.into_iter().flatten().map(|d| d.join(rel)).find(|p| p.exists()).unwrap_or_else(|| PathBuf::from(rel))
}

impl Question {
    /// The field a question is about, if it names one: the feedback links to it.
    pub fn field(&self) -> Option<&str> {
        match &self.kind {
            Kind::Value { answer, .. } | Kind::PickPacket { answer } | Kind::Annotate { answer } => answer.field(),
            Kind::PickField { field, .. } => Some(field),
            _ => None,
        }
    }
}

fn filter_ok_plain(file: &str, text: &str, f: &str) -> Result<(), LabError> {
    crate::filter::Filter::parse(f).map(|_| ()).map_err(|e| LabError {
        file: file.into(),
        line: text.find(f).map(|p| line_of(text, p)).unwrap_or(1),
        message: format!("the filter \"{f}\" does not parse: {e}"),
    })
}

/// A field or note name the dissectors declare.
fn known_name(name: &str) -> bool {
    crate::dissect::all_fields().any(|f| f.name == name) || crate::dissect::all_notes().any(|n| n.name == name)
}

/// 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, at: usize) -> usize {
    text.get(..at.min(text.len())).map(|t| t.matches('\n').count() + 1).unwrap_or(1)
}

/// What `lab validate` found.
#[derive(Debug, Default)]
pub struct Validation {
    /// What must change: the file, or a question its reference capture
    /// cannot answer (empty: the lab is good).
    pub problems: Vec<String>,
    /// For each other capture of the lab's kind in the repository (those
    /// made by other programs, `captures/third-party/`): the questions it
    /// cannot answer there. Not a fault of the lab: a capture without
    /// compression cannot say how much compression saved.
    pub elsewhere: Vec<String>,
    /// The lab as read, when its file parsed.
    pub lab: Option<Lab>,
}

/// `lab validate`: parses the file, answers every question on its
/// reference capture, and runs it on every other capture of its kind.
pub fn validate(id_or_path: &str) -> Validation {
    let mut v = Validation::default();
    let lab = match Lab::load(id_or_path) {
        Ok(l) => l,
        Err(e) => {
            v.problems.push(e.to_string());
            return v;
        }
    };
    let path = lab.reference_path();
    let session = match crate::session::Session::open(&path) {
        Ok(s) => s,
        Err(e) => {
            v.problems.push(format!("{}: its reference capture {}: {e}", lab.id, path.display()));
            v.lab = Some(lab);
            return v;
        }
    };
    for q in lab.questions() {
        if let Err(e) = check::expected(q, &session) {
            v.problems.push(format!("{}: question \"{}\" cannot be answered on {}: {e}", lab.id, q.id, path.display()));
        }
    }
    for other in captures_of_kind(&lab.id) {
        let line = match crate::session::Session::open(&other) {
            Ok(s) => {
                let (_, cannot) = check::answer_key(&lab, &s);
                if cannot.is_empty() {
                    continue;
                }
                format!("{}: on {} it cannot answer {}", lab.id, other.display(), cannot.join(", "))
            }
            Err(e) => format!("{}: {}: {e}", lab.id, other.display()),
        };
        v.elsewhere.push(line);
    }
    v.lab = Some(lab);
    v
}

/// The captures in `captures/third-party/` whose answer file names this
/// lab: made by other programs for it, with answers worked out by tshark.
pub fn captures_of_kind(lab_id: &str) -> Vec<PathBuf> {
    let dir = bundled_path("captures/third-party");
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".answers.json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|f| {
            let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&f).ok()?).ok()?;
            j["labs"].get(lab_id)?;
            Some(match j["capture"].as_str() {
                Some(rel) => bundled_path(rel),
                None => PathBuf::from(f.to_string_lossy().trim_end_matches(".answers.json").to_string() + ".pcap"),
            })
        })
        .collect()
}

/// One student's row of `lab grade`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GradeRow {
    pub student: String,
    pub score: u32,
    pub max: u32,
    pub provenance: &'static str,
    /// Why this submission could not be (fully) checked; empty when it was.
    pub error: String,
    /// Each question's status, in the lab's order.
    pub statuses: Vec<(String, Status)>,
    /// The questions whose answers the student asked to see.
    pub revealed: Vec<String>,
    /// The answers as handed in (empty when they could not be read).
    pub answers: Answers,
    /// The student's folder, and their capture when there is one.
    #[serde(skip)]
    pub folder: PathBuf,
    #[serde(skip)]
    pub capture: Option<PathBuf>,
}

/// A submitted capture bigger than this is not read (`lab grade` says so).
pub const MAX_SUBMITTED_CAPTURE: u64 = 256 << 20;

/// A submission's capture: `capture.pcap` or `capture.pcapng`, a plain file
/// (a symbolic link could make the grader read any file it can), at most
/// [`MAX_SUBMITTED_CAPTURE`] bytes. `Ok(None)`: there is none.
pub fn submitted_capture(folder: &Path) -> Result<Option<PathBuf>, String> {
    for name in ["capture.pcap", "capture.pcapng"] {
        let p = folder.join(name);
        let Ok(meta) = std::fs::symlink_metadata(&p) else { continue };
        if !meta.file_type().is_file() {
            return Err(format!("{name} is not a plain file (a link or a folder): not read"));
        }
        if meta.len() > MAX_SUBMITTED_CAPTURE {
            return Err(format!(
                "{name} is {} MB, more than the {} MB a submission may be: not read",
                meta.len() >> 20,
                MAX_SUBMITTED_CAPTURE >> 20
            ));
        }
        return Ok(Some(p));
    }
    Ok(None)
}

/// Grades every student folder in `dir` (named by the student id, holding
/// `capture.pcap` or `capture.pcapng` and `answers.json`). A missing or
/// damaged file is that student's row with an error, never a crash and
/// never a student left out. Only the folders directly in `dir` are read,
/// and symbolic links are not followed.
pub fn grade(
    lab: &Lab,
    dir: &Path,
    key: Option<&CourseKey>,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<GradeRow>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut students: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    students.sort();
    let total = students.len();
    let mut rows = Vec::new();
    for (k, (student, folder)) in students.into_iter().enumerate() {
        progress(k, total);
        let mut row = GradeRow {
            student,
            score: 0,
            max: 0,
            provenance: "not-checked",
            error: String::new(),
            statuses: Vec::new(),
            revealed: Vec::new(),
            answers: Answers::new(),
            folder: folder.clone(),
            capture: None,
        };
        match progress::read_revealed(&folder) {
            Ok(r) => row.revealed = r.into_iter().filter(|id| lab.questions().any(|q| &q.id == id)).collect(),
            Err(e) => row.error = e,
        }
        let capture = submitted_capture(&folder);
        let answers_file = folder.join("answers.json");
        let answers = match std::fs::symlink_metadata(&answers_file) {
            Ok(m) if !m.file_type().is_file() => {
                Err("answers.json is not a plain file (a link or a folder): not read".to_string())
            }
            _ => check::read_answers(&answers_file),
        };
        if let Ok(a) = &answers {
            row.answers = a.clone();
        }
        match (capture, answers) {
            (Err(e), _) => row.error = e,
            (Ok(None), _) => row.error = "no capture.pcap or capture.pcapng".into(),
            (Ok(Some(_)), Err(e)) => row.error = e.replace(&*folder.to_string_lossy(), &row.student),
            (Ok(Some(c)), Ok(a)) => match crate::session::Session::open(&c) {
                Err(e) => row.error = format!("the capture cannot be read: {e}"),
                Ok(s) => {
                    if let Some(d) = s.damage() {
                        row.error = format!("the capture is damaged ({d}); checked up to there");
                    }
                    row.capture = Some(c.clone());
                    let r = check::check_showing(lab, &s, &a, Show::Teacher);
                    row.score = r.score;
                    row.max = r.max;
                    row.provenance = provenance(&s, key, Some(&row.student));
                    row.statuses = r.questions.into_iter().map(|q| (q.id, q.status)).collect();
                }
            },
        }
        if row.statuses.is_empty() {
            row.statuses = lab.questions().map(|q| (q.id.clone(), Status::Unanswered)).collect();
            row.max = lab.questions().filter(|q| !matches!(q.kind, Kind::FreeText)).count() as u32;
        }
        rows.push(row);
    }
    progress(total, total);
    Ok(rows)
}

/// A course key: 32 random bytes, kept by the teacher as 64 hex digits.
#[derive(Clone)]
pub struct CourseKey([u8; 32]);

impl CourseKey {
    pub fn new_random() -> CourseKey {
        CourseKey(rand::random())
    }

    pub fn to_hex(&self) -> String {
        crate::model::hex(&self.0)
    }

    /// Reads a key file (64 hex digits).
    pub fn read(path: &Path) -> Result<CourseKey, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        CourseKey::from_hex(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A key as its 64 hex digits (surrounding spaces are ignored).
    pub fn from_hex(text: &str) -> Result<CourseKey, String> {
        let hex = text.trim();
        let bytes: Option<Vec<u8>> = (hex.len() == 64)
            .then(|| (0..32).map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()).collect())
            .flatten();
        match bytes.and_then(|b| <[u8; 32]>::try_from(b).ok()) {
            Some(k) => Ok(CourseKey(k)),
            None => Err("not a course key (64 hex digits; `wirelab lab key new --out FILE` makes one)".into()),
        }
    }

    /// The token a student's traffic carries: it names neither the key nor,
    /// readably, the student, and another student's token differs.
    pub fn token(&self, student: &str) -> String {
        use sha1::Digest as _;
        let mut h = sha1::Sha1::new();
        h.update(self.0);
        h.update([0u8]);
        h.update(student.as_bytes());
        let first = h.finalize();
        let mut h = sha1::Sha1::new();
        h.update(self.0);
        h.update(first);
        format!("wl-{}", &crate::model::hex(&h.finalize())[..16])
    }
}

/// Whether a capture carries the student's token: anywhere in a frame's
/// bytes or in what wirelab derived from them (unmasked, reassembled,
/// decompressed). `"verified"`, `"missing"`, or `"not-checked"` without a key.
pub fn provenance(s: &crate::session::Session, key: Option<&CourseKey>, student: Option<&str>) -> &'static str {
    let (Some(key), Some(student)) = (key, student) else { return "not-checked" };
    let token = key.token(student);
    let needle = token.as_bytes();
    let has = |b: &[u8]| b.windows(needle.len()).any(|w| w == needle);
    let mut found = false;
    s.scan(|d, bytes| {
        if !found && (has(bytes) || d.sources.iter().any(|src| has(&src.bytes))) {
            found = true;
        }
    });
    if found { "verified" } else { "missing" }
}
