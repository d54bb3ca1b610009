//! The teacher's class view: a folder of submissions graded on a thread
//! (with a progress bar), shown as a table of students × questions, the
//! counts per question and the misconceptions the class picked, with the
//! lab's feedback beside them. A click on a student's cell opens their
//! capture with their answers in the lab panel, checked as they saw it.
//! Exports: the CSV `lab grade` writes, and a one-page HTML report.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError};

use crate::lab::class::{Summary, cell_mark};
use crate::lab::{GradeRow, Lab, Status};

use super::{Command, State};

/// A class graded: the lab, the folder, each student's row and the counts.
#[derive(Clone)]
pub struct Class {
    pub lab: Lab,
    pub folder: PathBuf,
    pub rows: Vec<GradeRow>,
    pub summary: Summary,
}

enum Msg {
    Progress(usize, usize),
    Done(Box<Result<Class, String>>),
}

#[derive(Default)]
pub struct ClassView {
    pub shown: bool,
    /// The lab graded (its id).
    pub lab: String,
    pub folder_text: String,
    job: Option<Receiver<Msg>>,
    /// Students graded so far, of how many.
    pub progress: Option<(usize, usize)>,
    pub class: Option<Class>,
    pub error: Option<String>,
    pub notice: Option<String>,
}

impl ClassView {
    /// Grades the folder typed, for the lab chosen, on a thread.
    pub fn start(&mut self, labs: &[Lab], key: Option<crate::lab::CourseKey>) {
        self.error = None;
        self.notice = None;
        let Some(lab) = labs.iter().find(|l| l.id == self.lab).cloned() else {
            self.error = Some("choose the lab the class did".into());
            return;
        };
        let folder = PathBuf::from(self.folder_text.trim());
        if !folder.is_dir() {
            self.error = Some(format!(
                "{} is not a folder: give the folder that holds one folder per student",
                folder.display()
            ));
            return;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new().name("wirelab-class".into()).spawn(move || {
            let progress = tx.clone();
            let rows = crate::lab::grade(&lab, &folder, key.as_ref(), |k, n| {
                let _ = progress.send(Msg::Progress(k, n));
            });
            let _ = tx.send(Msg::Done(Box::new(rows.map(|rows| {
                let summary = Summary::of(&lab, &rows);
                Class { lab, folder, rows, summary }
            }))));
        });
        match spawned {
            Ok(_) => {
                self.job = Some(rx);
                self.progress = Some((0, 0));
            }
            Err(e) => self.error = Some(format!("cannot start grading: {e}")),
        }
    }

    /// Takes what the grading thread sent. True while it runs.
    pub fn poll(&mut self) -> bool {
        let Some(rx) = &self.job else { return false };
        loop {
            match rx.try_recv() {
                Ok(Msg::Progress(k, n)) => self.progress = Some((k, n)),
                Ok(Msg::Done(r)) => {
                    self.job = None;
                    self.progress = None;
                    match *r {
                        Ok(c) => self.class = Some(c),
                        Err(e) => self.error = Some(e),
                    }
                    return false;
                }
                Err(TryRecvError::Empty) => return true,
                Err(TryRecvError::Disconnected) => {
                    self.job = None;
                    self.progress = None;
                    self.error = Some("grading stopped unexpectedly".into());
                    return false;
                }
            }
        }
    }

    pub fn grading(&self) -> bool {
        self.job.is_some()
    }

    /// Writes the CSV and the report into the class folder; says where.
    pub fn export(&mut self) {
        let Some(c) = &self.class else { return };
        let csv = c.folder.join(format!("grades-{}.csv", c.lab.id));
        let html = c.folder.join(format!("report-{}.html", c.lab.id));
        let written =
            crate::file::write_whole(&csv, crate::lab::class::csv(&c.lab, &c.rows).as_bytes()).and_then(|()| {
                crate::file::write_whole(&html, crate::lab::class::html(&c.lab, &c.rows, &c.summary).as_bytes())
            });
        match written {
            Ok(()) => self.notice = Some(format!("wrote {} and {}", csv.display(), html.display())),
            Err(e) => self.error = Some(format!("cannot write into {}: {e}", c.folder.display())),
        }
    }
}

const GREEN: egui::Color32 = egui::Color32::from_rgb(70, 160, 90);
const RED: egui::Color32 = egui::Color32::from_rgb(210, 80, 70);

fn status_color(s: Status, ui: &egui::Ui) -> egui::Color32 {
    match s {
        Status::Correct => GREEN,
        Status::Incorrect => RED,
        Status::Ungraded => egui::Color32::from_rgb(200, 160, 40),
        _ => ui.visuals().weak_text_color(),
    }
}

pub fn class_ui(ctx: &egui::Context, state: &mut State, cmds: &mut Vec<Command>) {
    let mut open = state.panels.class.shown;
    // On the right, so the lab panel (left) stays in view during a review.
    let room = ctx.content_rect();
    let window = egui::Window::new("Class")
        .open(&mut open)
        .pivot(egui::Align2::RIGHT_TOP)
        .default_pos(room.right_top() + egui::vec2(-12.0, 64.0))
        .default_size([(room.width() - 400.0).clamp(420.0, 900.0), 600.0]);
    window.show(ctx, |ui| {
        let labs = &state.panels.lab.labs;
        let v = &mut state.panels.class;
        if v.lab.is_empty()
            && let Some(l) = state.panels.lab.lab().or(labs.first())
        {
            v.lab = l.id.clone();
        }
        ui.label("Grade a class: a folder with one folder per student (capture.pcap and answers.json), as the lab panel exports them.");
        ui.horizontal_wrapped(|ui| {
            let title = labs.iter().find(|l| l.id == v.lab).map(|l| l.title.clone()).unwrap_or_default();
            egui::ComboBox::from_label("lab").selected_text(title).show_ui(ui, |ui| {
                for l in labs {
                    ui.selectable_value(&mut v.lab, l.id.clone(), &l.title);
                }
            });
            ui.add(
                egui::TextEdit::singleline(&mut v.folder_text)
                    .hint_text("the class folder, e.g. ~/wirelab-submissions/tcp-handshake")
                    .desired_width(320.0),
            );
            let go = ui.add_enabled(!v.grading(), egui::Button::new("Grade"));
            if go.clicked() {
                cmds.push(Command::ClassGrade);
            }
        });
        if let Some((k, n)) = v.progress {
            let frac = if n == 0 { 0.0 } else { k as f32 / n as f32 };
            ui.add(egui::ProgressBar::new(frac).text(format!("grading {k} of {n} students")).animate(true));
        }
        if let Some(e) = &v.error {
            ui.colored_label(RED, e);
        }
        if let Some(n) = &v.notice {
            ui.weak(n);
        }
        let Some(c) = &v.class else { return };
        ui.separator();
        ui.horizontal_wrapped(|ui| {
            ui.strong(format!("{}: {} students", c.lab.title, c.summary.students));
            if c.summary.with_errors > 0 {
                ui.colored_label(RED, format!("{} could not be fully checked", c.summary.with_errors));
            }
            if ui.button("Export CSV and report").on_hover_text("Writes grades-LAB.csv (the columns of wirelab lab grade) and report-LAB.html (one page that prints well) into the class folder").clicked() {
                cmds.push(Command::ClassExport);
            }
        });
        ui.weak("✓ right · ✗ wrong · – the capture cannot answer it · ¶ free text, kept for you · R: asked to see the answer. Click a cell to open that student's work.");
        egui::ScrollArea::both().id_salt("class-table").max_height(ui.available_height() * 0.6).show(ui, |ui| {
            egui::Grid::new("class-grid").striped(true).min_col_width(24.0).show(ui, |ui| {
                ui.strong("student");
                ui.strong("score");
                ui.strong("provenance");
                for q in &c.summary.questions {
                    ui.strong(&q.id).on_hover_text(&q.prompt);
                }
                ui.end_row();
                for (i, r) in c.rows.iter().enumerate() {
                    let name = ui.label(&r.student);
                    if !r.error.is_empty() {
                        name.on_hover_text(&r.error);
                        ui.colored_label(RED, format!("{}/{} ⚠", r.score, r.max)).on_hover_text(&r.error);
                    } else {
                        ui.label(format!("{}/{}", r.score, r.max));
                    }
                    let prov = match r.provenance {
                        "missing" => egui::RichText::new("not theirs?").color(RED),
                        p => egui::RichText::new(p).weak(),
                    };
                    ui.label(prov).on_hover_text(match r.provenance {
                        "verified" => "The capture carries this student's token: they made it.",
                        "missing" => "The capture does not carry this student's token: it may be someone else's.",
                        _ => "Grade with the course key to check whose capture it is.",
                    });
                    for (id, st) in &r.statuses {
                        let rev = r.revealed.contains(id);
                        let mark = cell_mark(*st, rev);
                        let text = egui::RichText::new(if mark.is_empty() { "·".to_string() } else { mark })
                            .color(status_color(*st, ui));
                        let cell = ui.add(egui::Button::new(text).frame(false)).on_hover_text(format!(
                            "{}: {} {}",
                            r.student,
                            id,
                            st.name()
                        ));
                        cell.widget_info(|| {
                            egui::WidgetInfo::labeled(egui::Role::Button, true, format!("{} {id}", r.student))
                        });
                        if cell.clicked() {
                            cmds.push(Command::ClassReview(i, id.clone()));
                        }
                    }
                    ui.end_row();
                }
                ui.weak("right");
                ui.label("");
                ui.label("");
                for q in &c.summary.questions {
                    ui.weak(format!("{}/{}", q.correct, c.summary.students)).on_hover_text(format!(
                        "right {} · wrong {} · cannot answer {} · blank {} · revealed {}",
                        q.correct,
                        q.incorrect,
                        q.cannot_answer,
                        q.unanswered + q.ungraded,
                        q.revealed
                    ));
                }
                ui.end_row();
            });
        });
        ui.separator();
        ui.strong("Misconceptions the class picked");
        egui::ScrollArea::vertical().id_salt("class-misconceptions").show(ui, |ui| {
            let m = c.summary.misconceptions();
            if m.is_empty() {
                ui.weak("No wrong choice was picked.");
            }
            for ch in m {
                ui.horizontal_wrapped(|ui| {
                    ui.colored_label(RED, format!("{} ×", ch.picked));
                    ui.label(format!("{}: “{}”", ch.question, ch.text));
                })
                .response
                .on_hover_text(format!("picked by {}", ch.students.join(", ")));
                if !ch.feedback.is_empty() {
                    ui.indent(("fb", &ch.question, &ch.choice), |ui| {
                        ui.weak(format!("Feedback they got: {}", ch.feedback));
                    });
                }
            }
        });
    });
    if !open {
        cmds.push(Command::ShowClass(false));
    }
}
