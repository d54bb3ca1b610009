//! A class at a glance: every student's submission graded ([`super::grade`]),
//! then counted per question (right, wrong, cannot answer, unanswered,
//! revealed) and, for each choice question, how many picked each choice:
//! the misconceptions of the course notes, counted, beside the feedback the
//! lab gives for them. One code path for `wirelab lab grade` (CSV, JSON,
//! `--summary`, `--html`) and the window's class view.

use std::fmt::Write as _;

use serde::Serialize;

use super::check::{Answer, Status};
use super::{GradeRow, Kind, Lab};

/// How one question went across the class.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QuestionCount {
    pub id: String,
    pub prompt: String,
    pub correct: usize,
    pub incorrect: usize,
    #[serde(rename = "cannot-answer")]
    pub cannot_answer: usize,
    pub unanswered: usize,
    /// Free text, kept for the teacher.
    pub ungraded: usize,
    /// Students who asked to see the answer.
    pub revealed: usize,
}

/// How many picked one choice of a choice question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChoiceCount {
    pub question: String,
    pub choice: String,
    pub text: String,
    pub correct: bool,
    pub picked: usize,
    /// Who picked it, in the table's order.
    pub students: Vec<String>,
    /// What the lab tells a student who picks it.
    pub feedback: String,
}

/// The class's counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub lab: String,
    pub students: usize,
    /// Submissions that could not be (fully) checked.
    pub with_errors: usize,
    pub questions: Vec<QuestionCount>,
    /// Every choice of every choice question, wrong ones first where many picked them.
    pub choices: Vec<ChoiceCount>,
}

impl Summary {
    pub fn of(lab: &Lab, rows: &[GradeRow]) -> Summary {
        let questions = lab
            .questions()
            .map(|q| {
                let mut c = QuestionCount { id: q.id.clone(), prompt: q.prompt.clone(), ..QuestionCount::default() };
                for r in rows {
                    match r.statuses.iter().find(|(id, _)| id == &q.id).map(|(_, s)| *s) {
                        Some(Status::Correct) => c.correct += 1,
                        Some(Status::Incorrect) => c.incorrect += 1,
                        Some(Status::CannotAnswer) => c.cannot_answer += 1,
                        Some(Status::Ungraded) => c.ungraded += 1,
                        Some(Status::Unanswered) | None => c.unanswered += 1,
                    }
                    c.revealed += usize::from(r.revealed.contains(&q.id));
                }
                c
            })
            .collect();
        let mut choices = Vec::new();
        for q in lab.questions() {
            let Kind::Choice { choices: cs } = &q.kind else { continue };
            for c in cs {
                let students: Vec<String> = rows
                    .iter()
                    .filter(|r| {
                        r.answers.get(&q.id).and_then(Answer::from_json).is_some_and(|a| match a {
                            Answer::Text(t) => t == c.id,
                            _ => false,
                        })
                    })
                    .map(|r| r.student.clone())
                    .collect();
                choices.push(ChoiceCount {
                    question: q.id.clone(),
                    choice: c.id.clone(),
                    text: c.text.clone(),
                    correct: c.correct,
                    picked: students.len(),
                    students,
                    feedback: c.feedback.trim().to_string(),
                });
            }
        }
        Summary {
            lab: lab.id.clone(),
            students: rows.len(),
            with_errors: rows.iter().filter(|r| !r.error.is_empty()).count(),
            questions,
            choices,
        }
    }

    /// The wrong choices someone picked: the misconceptions the class holds,
    /// the most picked first.
    pub fn misconceptions(&self) -> Vec<&ChoiceCount> {
        let mut m: Vec<&ChoiceCount> = self.choices.iter().filter(|c| !c.correct && c.picked > 0).collect();
        m.sort_by_key(|c| std::cmp::Reverse(c.picked));
        m
    }

    /// The counts as text for a terminal (`lab grade --summary`).
    pub fn text(&self) -> String {
        let mut out = format!("{} students", self.students);
        if self.with_errors > 0 {
            let _ = write!(out, " ({} could not be fully checked)", self.with_errors);
        }
        out.push_str("\n\nquestion                 right  wrong  cannot  blank  revealed\n");
        for q in &self.questions {
            let _ = writeln!(
                out,
                "{:<24} {:>5}  {:>5}  {:>6}  {:>5}  {:>8}",
                q.id,
                q.correct,
                q.incorrect,
                q.cannot_answer,
                q.unanswered + q.ungraded,
                q.revealed
            );
        }
        let m = self.misconceptions();
        if m.is_empty() {
            out.push_str("\nNo wrong choice was picked.\n");
        } else {
            out.push_str("\nMisconceptions (wrong choices picked):\n");
            for c in m {
                let _ = writeln!(out, "  {} × {} = {}: \"{}\"", c.picked, c.question, c.choice, c.text);
                if !c.feedback.is_empty() {
                    let _ = writeln!(out, "      feedback: {}", one_line(&c.feedback));
                }
                let _ = writeln!(out, "      picked by: {}", c.students.join(", "));
            }
        }
        out
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The grade table as CSV: one row per student, one column per question.
pub fn csv(lab: &Lab, rows: &[GradeRow]) -> String {
    let mut text = String::from("student,score,max,provenance,error,revealed");
    for q in lab.questions() {
        text.push(',');
        text.push_str(&csv_cell(&q.id));
    }
    text.push('\n');
    for r in rows {
        let _ = write!(
            text,
            "{},{},{},{},{},{}",
            csv_cell(&r.student),
            r.score,
            r.max,
            r.provenance,
            csv_cell(&r.error),
            csv_cell(&r.revealed.join(" "))
        );
        for (_, st) in &r.statuses {
            text.push(',');
            text.push_str(st.name());
        }
        text.push('\n');
    }
    text
}

/// A CSV cell: quoted when it holds a comma, a quote or a line break; a
/// cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first: a
/// folder name is chosen by a student) starts with a `'`.
pub fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

/// A one-page report that prints well: the table, the counts per question
/// and the misconceptions with their feedback. Standalone HTML, no script.
pub fn html(lab: &Lab, rows: &[GradeRow], summary: &Summary) -> String {
    let e = crate::ladder::xml;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} — class report</title>\n<style>\n\
         body{{font-family:'DejaVu Sans',sans-serif;font-size:11pt;margin:1.5em;color:#222}}\n\
         h1{{font-size:16pt;margin:0 0 .2em}} h2{{font-size:13pt;margin:1.2em 0 .4em}}\n\
         table{{border-collapse:collapse;font-size:9pt}} th,td{{border:1px solid #bbb;padding:2px 5px;text-align:center}}\n\
         th{{background:#eee}} td.s{{text-align:left}} .correct{{background:#cfe8cf}} .incorrect{{background:#f4c7c3}}\n\
         .cannot-answer{{background:#e0e0e0}} .unanswered{{color:#999}} .ungraded{{background:#fff3c4}} .err{{color:#a00}}\n\
         .rev{{font-weight:bold}} p.fb{{margin:.1em 0 .6em 1.5em;color:#444}}\n\
         @media print{{body{{margin:0}} h2{{break-after:avoid}} tr{{break-inside:avoid}}}}\n</style></head><body>\n\
         <h1>{}</h1>\n<p>Lab <code>{}</code> · {} students{}</p>\n",
        e(&lab.title),
        e(&lab.title),
        e(&lab.id),
        summary.students,
        if summary.with_errors > 0 {
            format!(" · {} could not be fully checked", summary.with_errors)
        } else {
            String::new()
        }
    );
    out.push_str("<h2>Per question</h2>\n<table><tr><th>question</th><th>right</th><th>wrong</th><th>cannot answer</th><th>blank</th><th>revealed</th></tr>\n");
    for q in &summary.questions {
        let _ = writeln!(
            out,
            "<tr><td class=\"s\" title=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e(&q.prompt),
            e(&q.id),
            q.correct,
            q.incorrect,
            q.cannot_answer,
            q.unanswered + q.ungraded,
            q.revealed
        );
    }
    out.push_str("</table>\n<h2>Misconceptions</h2>\n");
    let m = summary.misconceptions();
    if m.is_empty() {
        out.push_str("<p>No wrong choice was picked.</p>\n");
    }
    for c in m {
        let _ = writeln!(
            out,
            "<p><b>{} × </b><code>{}</code>: “{}” — {}</p>",
            c.picked,
            e(&c.question),
            e(&c.text),
            e(&c.students.join(", "))
        );
        if !c.feedback.is_empty() {
            let _ = writeln!(out, "<p class=\"fb\">{}</p>", e(&one_line(&c.feedback)));
        }
    }
    out.push_str("<h2>Students</h2>\n<table><tr><th>student</th><th>score</th><th>provenance</th>");
    for q in lab.questions() {
        let _ = write!(out, "<th>{}</th>", e(&q.id));
    }
    out.push_str("</tr>\n");
    for r in rows {
        let _ = write!(
            out,
            "<tr><td class=\"s\">{}{}</td><td>{}/{}</td><td>{}</td>",
            e(&r.student),
            if r.error.is_empty() { String::new() } else { format!("<br><span class=\"err\">{}</span>", e(&r.error)) },
            r.score,
            r.max,
            r.provenance
        );
        for (id, st) in &r.statuses {
            let rev = r.revealed.contains(id);
            let _ = write!(
                out,
                "<td class=\"{}{}\">{}</td>",
                st.name(),
                if rev { " rev" } else { "" },
                cell_mark(*st, rev)
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str(
        "</table>\n<p>✓ right · ✗ wrong · – cannot answer · blank: not answered · ¶ free text, kept for the teacher · R: the student asked to see the answer</p>\n</body></html>\n",
    );
    out
}

/// A cell of the table: one mark per status, `R` when the answer was shown.
pub fn cell_mark(s: Status, revealed: bool) -> String {
    let mark = match s {
        Status::Correct => "✓",
        Status::Incorrect => "✗",
        Status::CannotAnswer => "–",
        Status::Unanswered => "",
        Status::Ungraded => "¶",
    };
    if revealed { format!("{mark}R") } else { mark.to_string() }
}
