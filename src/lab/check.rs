//! Checking a student's answers against the capture they made.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value as Json, json};

use super::query::{Found, matching, read_item};
use super::{Kind, Lab, Question};
use crate::session::Session;

/// Answers as `answers.json` holds them: question id → answer.
pub type Answers = BTreeMap<String, Json>;

/// Answers files bigger than this are refused.
pub const MAX_ANSWERS_BYTES: usize = 1 << 20;

/// One answer, as read from JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Text(String),
    Number(f64),
    /// Pick the field: a field name, in a frame or anywhere the question allows.
    Field {
        frame: Option<u64>,
        field: String,
    },
    List(Vec<String>),
    /// A frame marked, and why (an annotate question).
    Annotation {
        frame: u64,
        why: String,
    },
}

impl Answer {
    /// Reads one answer; None for an empty one (unanswered).
    pub fn from_json(v: &Json) -> Option<Answer> {
        match v {
            Json::String(s) if s.trim().is_empty() => None,
            Json::String(s) => Some(Answer::Text(s.trim().to_string())),
            Json::Number(n) => n.as_f64().map(Answer::Number),
            Json::Array(a) if a.is_empty() => None,
            Json::Array(a) => Some(Answer::List(
                a.iter().map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string())).collect(),
            )),
            Json::Object(o) if o.contains_key("why") => Some(Answer::Annotation {
                frame: o.get("frame").and_then(Json::as_u64)?,
                why: o.get("why").and_then(Json::as_str).unwrap_or_default().trim().to_string(),
            }),
            Json::Object(o) => Some(Answer::Field {
                frame: o.get("frame").and_then(Json::as_u64),
                field: o.get("field").and_then(Json::as_str)?.to_string(),
            }),
            _ => None,
        }
    }

    fn text(&self) -> String {
        match self {
            Answer::Text(t) => t.clone(),
            Answer::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Answer::Number(n) => n.to_string(),
            Answer::Field { field, .. } => field.clone(),
            Answer::List(l) => l.join(","),
            Answer::Annotation { frame, .. } => frame.to_string(),
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Answer::Number(n) => Some(*n),
            Answer::Text(t) => t.parse().ok(),
            Answer::Annotation { frame, .. } => Some(*frame as f64),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Correct,
    Incorrect,
    Unanswered,
    /// Free text: kept for the teacher.
    Ungraded,
    /// The capture holds nothing the question is about (another kind of
    /// traffic, or the step was not done): not scored either way.
    #[serde(rename = "cannot-answer")]
    CannotAnswer,
}

impl Status {
    /// The name JSON gives it (serde's, above), for the CSV and the report.
    pub fn name(self) -> &'static str {
        match self {
            Status::Correct => "correct",
            Status::Incorrect => "incorrect",
            Status::Unanswered => "unanswered",
            Status::Ungraded => "ungraded",
            Status::CannotAnswer => "cannot-answer",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Status;

    #[test]
    fn a_status_has_the_name_json_gives_it() {
        for s in [Status::Correct, Status::Incorrect, Status::Unanswered, Status::Ungraded, Status::CannotAnswer] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.name());
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct QuestionReport {
    pub id: String,
    pub status: Status,
    /// The right answer: only for a right answer, or one shown on request
    /// (`revealed`), or to a teacher.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Json>,
    /// The frames that decide it, on the same terms as `expected`.
    pub frames: Vec<u64>,
    pub feedback: String,
    /// The answer was shown (asked for by the student, or to a teacher).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub revealed: bool,
}

/// What a check may show of the right answers. A student gets hints before
/// answers: a wrong answer is told where to look, never what is right, and
/// an unanswered question is not mentioned; an answer is shown only when
/// they asked to see it (after a try) and the lab allows it (`reveal`).
#[derive(Debug, Clone, Copy)]
pub enum Show<'a> {
    /// A student, with the questions whose answers they asked to see.
    Student(&'a std::collections::BTreeSet<String>),
    /// A teacher (`lab check --reveal`, `lab grade`): every answer.
    Teacher,
}

impl Show<'_> {
    fn answer_of(&self, q: &Question) -> bool {
        match self {
            Show::Teacher => true,
            Show::Student(asked) => q.reveal && asked.contains(&q.id),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub lab: String,
    pub score: u32,
    pub max: u32,
    pub provenance: &'static str,
    pub questions: Vec<QuestionReport>,
}

impl Report {
    /// "2 of 9 right", saying which questions the score leaves out.
    pub fn score_line(&self) -> String {
        let count = |st: Status| self.questions.iter().filter(|q| q.status == st).count();
        let mut aside = Vec::new();
        match count(Status::Ungraded) {
            0 => {}
            n => aside.push(format!("{n} more kept for your teacher")),
        }
        match count(Status::CannotAnswer) {
            0 => {}
            n => aside.push(format!("{n} this capture cannot answer")),
        }
        let mut line = format!("{} of {} right", self.score, self.max);
        if !aside.is_empty() {
            line += &format!(" ({})", aside.join("; "));
        }
        line
    }
}

/// What a question's right answer is on this capture.
pub(crate) enum Expected {
    Found(Found),
    /// The item ids in the order the packets show, with their first frames.
    Order(Vec<(String, u64)>),
    Choice,
    Nothing,
}

pub(crate) fn expected(q: &Question, s: &Session) -> Result<Expected, String> {
    Ok(match &q.kind {
        // A field in seconds asked in another unit: its value in that unit.
        Kind::Value { answer, unit: Some(u), .. } => match answer.run(s)? {
            Found::Field { frame, unit: item, field, occurrence, text } => {
                let secs = read_item(s, frame, item)
                    .and_then(|(d, b)| d.find_all(b, &field).nth(occurrence).and_then(|f| f.value().as_f64()))
                    .ok_or_else(|| format!("{field} in frame {frame} is not a number of seconds ({text})"))?;
                Expected::Found(Found::Number { value: secs * u.per_second(), frames: vec![frame] })
            }
            _ => return Err("a unit goes with field = \"…\" (a field in seconds)".into()),
        },
        Kind::Value { answer, .. } | Kind::PickPacket { answer } | Kind::Annotate { answer } => {
            Expected::Found(answer.run(s)?)
        }
        Kind::PickField { field, filter } => {
            let filter = filter.clone().unwrap_or_else(|| field.clone());
            Expected::Found(Found::Frames(matching(s, &filter)?)).only_if_any(&filter)?
        }
        Kind::Order { items } => {
            let mut placed = Vec::new();
            for i in items {
                let first = matching(s, &i.filter)?
                    .first()
                    .copied()
                    .ok_or_else(|| format!("no frame matches \"{}\" (item \"{}\")", i.filter, i.id))?;
                placed.push((i.id.clone(), first));
            }
            placed.sort_by_key(|(_, f)| *f);
            Expected::Order(placed)
        }
        Kind::Choice { .. } => Expected::Choice,
        Kind::FreeText => Expected::Nothing,
    })
}

impl Expected {
    fn only_if_any(self, filter: &str) -> Result<Expected, String> {
        match &self {
            Expected::Found(Found::Frames(f)) if f.is_empty() => Err(format!("no frame matches \"{filter}\"")),
            _ => Ok(self),
        }
    }
}

/// The right answers a capture gives to a lab's questions, in the form
/// `answers.json` takes them (a pick-packet: the first right frame), and
/// the ids of the questions it cannot answer. For graders and tests: it
/// ignores `reveal`.
pub fn answer_key(lab: &Lab, s: &Session) -> (Answers, Vec<String>) {
    let mut key = Answers::new();
    let mut cannot = Vec::new();
    for q in lab.questions() {
        let answer = match expected(q, s) {
            Err(_) => {
                cannot.push(q.id.clone());
                continue;
            }
            Ok(Expected::Found(Found::Field { frame, unit, field, occurrence, text })) => {
                // A number as a number ("1000", not its name "1000 (Normal Closure)").
                let n = read_item(s, frame, unit)
                    .and_then(|(d, b)| d.find_all(b, &field).nth(occurrence).and_then(|f| f.value().as_u64()));
                n.map_or_else(|| json!(text), |n| json!(n))
            }
            Ok(Expected::Found(Found::Number { value, .. })) => json!(value),
            Ok(Expected::Found(Found::Text { value, .. })) => json!(value),
            Ok(Expected::Found(Found::Frame(n))) => json!(n),
            Ok(Expected::Found(Found::Frames(f))) => match &q.kind {
                Kind::PickField { field, .. } => json!(field),
                _ => json!(f.first()),
            },
            Ok(Expected::Order(items)) => json!(items.iter().map(|(id, _)| id).collect::<Vec<_>>()),
            Ok(Expected::Choice) => match &q.kind {
                Kind::Choice { choices } => json!(choices.iter().find(|c| c.correct).map(|c| &c.id)),
                _ => continue,
            },
            Ok(Expected::Nothing) => continue,
        };
        // An annotation: the frame, and a sentence (the key's own words).
        let answer = match (&q.kind, answer.as_u64()) {
            (Kind::Annotate { .. }, Some(frame)) => {
                json!({"frame": frame, "why": "this frame is the one the question describes"})
            }
            _ => answer,
        };
        key.insert(q.id.clone(), answer);
    }
    (key, cannot)
}

/// Checks every question of a lab against a capture, as for a student who
/// asked to see no answer.
pub fn check(lab: &Lab, s: &Session, answers: &Answers) -> Report {
    check_showing(lab, s, answers, Show::Student(&Default::default()))
}

/// Checks every question of a lab against a capture, showing what `show` allows.
pub fn check_showing(lab: &Lab, s: &Session, answers: &Answers, show: Show<'_>) -> Report {
    let mut questions = Vec::new();
    let (mut score, mut max) = (0, 0);
    // Fields that a pick-field question asks for: another question's
    // feedback must not name them.
    let picked: Vec<&str> =
        lab.questions().filter(|q| matches!(q.kind, Kind::PickField { .. })).filter_map(|q| q.field()).collect();
    for q in lab.questions() {
        let secret = q.field().is_some_and(|f| picked.contains(&f));
        let r = check_one(q, s, answers.get(&q.id).and_then(Answer::from_json), show.answer_of(q), secret);
        if !matches!(r.status, Status::Ungraded | Status::CannotAnswer) {
            max += 1;
        }
        if r.status == Status::Correct {
            score += 1;
        }
        questions.push(r);
    }
    Report { lab: lab.id.clone(), score, max, provenance: "not-checked", questions }
}

/// `secret`: the question's field is the answer of a pick-field question.
fn check_one(q: &Question, s: &Session, answer: Option<Answer>, show: bool, secret: bool) -> QuestionReport {
    let mut r = QuestionReport {
        id: q.id.clone(),
        status: Status::Unanswered,
        expected: None,
        frames: Vec::new(),
        feedback: String::new(),
        revealed: false,
    };
    let exp = match expected(q, s) {
        Ok(e) => e,
        Err(e) => {
            // The capture cannot answer it: not the student's fault, and
            // nothing to score (never "incorrect").
            r.status = Status::CannotAnswer;
            r.feedback = if q.needs.is_empty() {
                format!(
                    "this capture cannot answer the question ({e}); make the lab's traffic again, or open its bundled capture"
                )
            } else {
                format!("this capture cannot answer the question: it needs {} ({e})", q.needs.trim_end_matches('.'))
            };
            return r;
        }
    };
    if let Kind::FreeText = q.kind {
        r.status = Status::Ungraded;
        r.feedback = "kept for your teacher".into();
        return r;
    }
    let reveal_all = |r: &mut QuestionReport| {
        r.frames = frames_of(&exp);
        r.expected = reveal(&exp, q);
        r.revealed = true;
    };
    let Some(answer) = answer else {
        // Nothing is said about a question not tried, unless asked.
        if show {
            reveal_all(&mut r);
        }
        return r;
    };
    let (right, why) = judge(q, s, &exp, &answer);
    r.status = if right { Status::Correct } else { Status::Incorrect };
    if right {
        // What decided it is no secret once it is found.
        r.frames = frames_of(&exp);
        r.expected = reveal(&exp, q);
        r.feedback = "correct".into();
    } else if show {
        reveal_all(&mut r);
        r.feedback = wrong_feedback(q, s, &exp, &why, &answer);
    } else {
        r.feedback = pointer(q, s, &why, &answer, secret);
    }
    r
}

/// A wrong answer's feedback for a student: the lab's own words and where
/// to look (the field and its layer; a misconception's evidence frames),
/// never the right value, frame or order.
fn pointer(q: &Question, s: &Session, why: &str, answer: &Answer, secret: bool) -> String {
    let mut parts = Vec::new();
    if !q.feedback.is_empty() {
        parts.push(q.feedback.clone());
    }
    match &q.kind {
        // A misconception's own feedback, and the frames that disprove it.
        Kind::Choice { choices } => {
            if !why.is_empty() {
                parts.push(why.to_string());
            }
            let picked = choices.iter().find(|c| c.id == answer.text() && !c.correct);
            parts.extend(evidence_cite(s, picked.and_then(|c| c.evidence.as_deref())));
        }
        Kind::Order { .. } => parts.push("not in the order the packets show: find the first frame of each".into()),
        // A mark without its sentence: say so (it tells nothing of the frame).
        Kind::Annotate { .. } if matches!(answer, Answer::Annotation { why, .. } if why.split_whitespace().count() < 3) => {
            parts.push(why.to_string())
        }
        _ => {}
    }
    if let Some(f) = q.field()
        && let Some(def) = crate::dissect::all_fields().find(|d| d.name == f)
    {
        // A question that asks for the field itself, or whose field another
        // question asks for, gets its layer only.
        parts.push(match q.kind {
            _ if secret => {
                format!("look among the fields of the {} layer (OSI layer {})", def.proto.short, def.proto.osi)
            }
            Kind::PickField { .. } => {
                format!("look among the fields of the {} layer (OSI layer {})", def.proto.short, def.proto.osi)
            }
            _ => format!("look at the field {f} in the {} layer (OSI layer {})", def.proto.short, def.proto.osi),
        });
    }
    parts.iter().map(|p| p.trim_end_matches('.')).collect::<Vec<_>>().join("; ")
}

fn frames_of(e: &Expected) -> Vec<u64> {
    match e {
        Expected::Found(f) => f.frames(),
        Expected::Order(items) => items.iter().map(|(_, f)| *f).collect(),
        _ => Vec::new(),
    }
}

fn reveal(e: &Expected, q: &Question) -> Option<Json> {
    Some(match e {
        Expected::Found(Found::Field { text, .. }) => json!(text),
        Expected::Found(Found::Number { value, .. }) => json!(value),
        Expected::Found(Found::Text { value, .. }) => json!(value),
        Expected::Found(Found::Frame(n)) => json!(n),
        Expected::Found(Found::Frames(f)) => match &q.kind {
            Kind::PickField { field, .. } => json!({ "field": field, "frames": f }),
            _ => json!(f),
        },
        Expected::Order(items) => json!(items.iter().map(|(id, _)| id).collect::<Vec<_>>()),
        Expected::Choice => match &q.kind {
            Kind::Choice { choices } => json!(choices.iter().filter(|c| c.correct).map(|c| &c.id).collect::<Vec<_>>()),
            _ => return None,
        },
        Expected::Nothing => return None,
    })
}

/// Whether the answer is right, and (when wrong) a short reason.
fn judge(q: &Question, s: &Session, e: &Expected, a: &Answer) -> (bool, String) {
    match (e, &q.kind) {
        // The frame as for a pick-packet, and a sentence saying why.
        (Expected::Found(found), Kind::Annotate { .. }) => {
            let frames = match found {
                Found::Frame(n) => vec![*n],
                f => f.frames(),
            };
            match a {
                Answer::Annotation { why, .. } if why.split_whitespace().count() < 3 => {
                    (false, "say in a sentence why this frame (a few words at least)".into())
                }
                Answer::Annotation { frame, .. } => (frames.contains(frame), format!("not frame {frame}")),
                _ => (false, "mark a frame and say why".into()),
            }
        }
        (Expected::Found(Found::Field { frame, unit, field, occurrence, text }), Kind::Value { tolerance, .. }) => {
            // The display filter's rules: numbers, value names, addresses, bytes.
            let ok = read_item(s, *frame, *unit).is_some_and(|(d, bytes)| {
                d.find_all(bytes, field).nth(*occurrence).is_some_and(|f| {
                    f.equals(&a.text())
                        || (*tolerance > 0.0
                            && f.value()
                                .as_u64()
                                .zip(a.number())
                                .is_some_and(|(v, x)| (v as f64 - x).abs() <= *tolerance))
                })
            });
            (ok, format!("the capture says {text}"))
        }
        (Expected::Found(Found::Number { value, .. }), Kind::Value { tolerance, relative, .. }) => {
            let ok = a.number().is_some_and(|x| (x - value).abs() <= tolerance.max(relative * value.abs()).max(1e-9));
            (ok, format!("the capture says {}", trim_num(*value)))
        }
        (Expected::Found(Found::Text { value, .. }), _) => {
            (a.text() == *value, "not the value the packets give".into())
        }
        (Expected::Found(Found::Frame(n)), _) => (a.number() == Some(*n as f64), format!("not frame {}", a.text())),
        (Expected::Found(Found::Frames(f)), Kind::PickField { field, .. }) => match a {
            Answer::Field { frame, field: got } => {
                let in_frame = frame.is_none_or(|n| f.contains(&n));
                (got == field && in_frame, format!("{got} is not the field asked for"))
            }
            Answer::Text(got) => (got == field, format!("{got} is not the field asked for")),
            _ => (false, "pick a field".into()),
        },
        (Expected::Found(Found::Frames(f)), _) => {
            (a.number().is_some_and(|n| f.contains(&(n as u64))), "not one of them".into())
        }
        (Expected::Order(items), _) => {
            let want: Vec<&str> = items.iter().map(|(id, _)| id.as_str()).collect();
            match a {
                Answer::List(got) => (
                    got.iter().map(String::as_str).eq(want.iter().copied()),
                    "not in the order the packets show".into(),
                ),
                _ => (false, "an order is a list of item ids".into()),
            }
        }
        (Expected::Choice, Kind::Choice { choices }) => {
            let got = a.text();
            match choices.iter().find(|c| c.id == got) {
                Some(c) => (c.correct, c.feedback.clone()),
                None => (false, format!("there is no choice \"{got}\"")),
            }
        }
        _ => (false, "this kind of answer does not fit the question".into()),
    }
}

/// A wrong answer's feedback: the question's own words, why, and the frames
/// and fields that decide it.
fn wrong_feedback(q: &Question, s: &Session, e: &Expected, why: &str, answer: &Answer) -> String {
    let mut parts = Vec::new();
    if !q.feedback.is_empty() {
        parts.push(q.feedback.clone());
    }
    if !why.is_empty() {
        parts.push(why.to_string());
    }
    let cite = match e {
        Expected::Found(Found::Field { frame, field, .. }) => format!("see frame {frame}, `{field}`"),
        Expected::Found(f) => match f.frames().as_slice() {
            [] => String::new(),
            [one] => format!("see frame {one}"),
            many => format!("see frames {}", list(many)),
        },
        Expected::Order(items) => format!(
            "the packets show {}",
            items.iter().map(|(id, f)| format!("{id} (frame {f})")).collect::<Vec<_>>().join(", then ")
        ),
        // The frames that disprove the choice picked, else those that
        // show the right one.
        Expected::Choice => match &q.kind {
            Kind::Choice { choices } => {
                let cited = choices
                    .iter()
                    .find(|c| c.id == answer.text() && c.evidence.is_some())
                    .or_else(|| choices.iter().find(|c| c.correct));
                evidence_cite(s, cited.and_then(|c| c.evidence.as_deref())).unwrap_or_default()
            }
            _ => String::new(),
        },
        Expected::Nothing => String::new(),
    };
    if !cite.is_empty() {
        parts.push(cite);
    }
    parts.iter().map(|p| p.trim_end_matches('.')).collect::<Vec<_>>().join("; ")
}

/// "see frames …" for the frames a choice's `evidence` filter matches, if any.
fn evidence_cite(s: &Session, evidence: Option<&str>) -> Option<String> {
    let frames = matching(s, evidence?).ok().filter(|f| !f.is_empty())?;
    Some(format!("see frames {}", list(&frames)))
}

fn list(frames: &[u64]) -> String {
    let shown: Vec<String> = frames.iter().take(8).map(u64::to_string).collect();
    if frames.len() > 8 { format!("{}, … ({} in all)", shown.join(", "), frames.len()) } else { shown.join(", ") }
}

fn trim_num(v: f64) -> String {
    if v.fract() == 0.0 { format!("{}", v as i64) } else { format!("{v:.6}") }
}

/// Reads `answers.json`: a JSON object of question id → answer, at most 1 MiB.
pub fn read_answers(path: &std::path::Path) -> Result<Answers, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > MAX_ANSWERS_BYTES as u64 {
        return Err(format!("{}: larger than {} KiB", path.display(), MAX_ANSWERS_BYTES >> 10));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if text.trim().is_empty() {
        return Ok(Answers::new());
    }
    serde_json::from_str(&text)
        .map_err(|e| format!("{}: not an answers file (a JSON object of question id → answer): {e}", path.display()))
}
