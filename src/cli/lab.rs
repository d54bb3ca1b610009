//! `wirelab lab …`: the labs from the command line (teachers script it).

use std::io::Write as _;
use std::path::PathBuf;

use serde_json::json;

use super::OutputFormat;
use crate::lab::{CourseKey, Kind, Lab, Show, check::read_answers, check_showing, class, provenance};
use crate::session::Session;

#[derive(clap::Args, Debug)]
pub struct LabArgs {
    #[command(subcommand)]
    pub command: LabCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum KeyCommand {
    /// A new random course key, written to FILE (never overwritten).
    New {
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum LabCommand {
    /// The labs: id, title, minutes, number of questions.
    List {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// A lab as a student reads it (ID, or a .toml file).
    Show {
        id: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Check answers against a capture: each question's right answer is
    /// computed from that capture.
    Check {
        id: String,
        #[arg(long)]
        capture: PathBuf,
        #[arg(long)]
        answers: PathBuf,
        /// The student whose capture this should be (with --key: is their token in it?).
        #[arg(long)]
        student: Option<String>,
        /// The course key (`wirelab lab key new`).
        #[arg(long)]
        key: Option<PathBuf>,
        /// For a teacher: show every question's right answer and the frames
        /// that decide it (a student is only told where to look).
        #[arg(long)]
        reveal: bool,
        /// Decrypt TLS in the capture with this key log (SSLKEYLOGFILE's format).
        #[arg(long, value_name = "KEYS")]
        tls_keylog: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Run a lab's traffic without the window (its servers and scripted
    /// clients, recorded when this computer allows capturing), marked with
    /// the student's token; writes DIR/capture.pcap and an empty DIR/answers.json.
    Run {
        id: String,
        #[arg(long)]
        student: String,
        #[arg(long)]
        key: Option<PathBuf>,
        #[arg(long)]
        write: PathBuf,
    },
    /// Course keys: `wirelab lab key new --out FILE` makes one for a class.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Grade a folder of submissions: one folder per student (named by the
    /// student id) with capture.pcap (or .pcapng) and answers.json; one CSV
    /// row per student.
    Grade {
        id: String,
        dir: PathBuf,
        /// The course key: is each student's token in their capture?
        #[arg(long)]
        key: Option<PathBuf>,
        /// Write the CSV here (default: standard output).
        #[arg(long)]
        csv: Option<PathBuf>,
        /// Print the class's counts instead of the CSV: per question (right,
        /// wrong, cannot answer, blank, revealed) and each wrong choice
        /// picked (a misconception), with its feedback and who picked it.
        #[arg(long)]
        summary: bool,
        /// Write a one-page report (HTML that prints well) here.
        #[arg(long)]
        html: Option<PathBuf>,
        /// text: the CSV (or the summary); json: students and counts as one object.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Every lab file parses, every filter, field and note exists, and every
    /// question can be answered on the lab's reference capture.
    Validate {
        /// Lab ids or .toml files; default: the bundled labs.
        paths: Vec<String>,
    },
}

pub fn lab(args: &LabArgs) -> anyhow::Result<i32> {
    let mut out = std::io::stdout().lock();
    match &args.command {
        LabCommand::List { format } => {
            let labs: Vec<Lab> = Lab::bundled().into_iter().filter_map(Result::ok).collect();
            if *format == OutputFormat::Json {
                let list: Vec<_> = labs
                    .iter()
                    .map(|l| {
                        json!({
                            "id": l.id, "title": l.title, "minutes": l.minutes,
                            "questions": l.questions().count(),
                            "needs_capture": l.traffic.scenario.is_some() || !l.traffic.servers.is_empty(),
                        })
                    })
                    .collect();
                writeln!(out, "{}", serde_json::to_string(&list)?)?;
            } else {
                for l in &labs {
                    writeln!(
                        out,
                        "{:<22} {:>3} min  {:>2} questions  {}",
                        l.id,
                        l.minutes,
                        l.questions().count(),
                        l.title
                    )?;
                }
            }
            Ok(0)
        }
        LabCommand::Show { id, format } => {
            let lab = match Lab::load(id) {
                Ok(l) => l,
                Err(e) => return refuse(&e.to_string()),
            };
            if *format == OutputFormat::Json {
                writeln!(out, "{}", serde_json::to_string_pretty(&show_json(&lab))?)?;
            } else {
                write!(out, "{}", show_text(&lab))?;
            }
            Ok(0)
        }
        LabCommand::Check { id, capture, answers, student, key, reveal, tls_keylog, format } => {
            let (lab, key) = match lab_and_key(id, key.as_deref()) {
                Ok(x) => x,
                Err(e) => return refuse(&e),
            };
            let answers = match read_answers(answers) {
                Ok(a) => a,
                Err(e) => return refuse(&e),
            };
            let session = match Session::open_with_keys(capture, tls_keylog.as_deref()) {
                Ok(s) => s,
                Err(e) => return refuse(&format!("{}: {e}", capture.display())),
            };
            let show = if *reveal { Show::Teacher } else { Show::Student(&Default::default()) };
            let mut report = check_showing(&lab, &session, &answers, show);
            report.provenance = provenance(&session, key.as_ref(), student.as_deref());
            if *format == OutputFormat::Json {
                writeln!(out, "{}", serde_json::to_string(&report)?)?;
            } else {
                writeln!(out, "{}: {}", lab.title, report.score_line())?;
                for q in &report.questions {
                    let status = serde_json::to_value(q.status)?.as_str().unwrap_or_default().to_string();
                    writeln!(out, "  {:<22} {:<11} {}", q.id, status, q.feedback)?;
                }
            }
            Ok(0)
        }
        LabCommand::Grade { id, dir, key, csv, summary, html, format } => {
            let (lab, key) = match lab_and_key(id, key.as_deref()) {
                Ok(x) => x,
                Err(e) => return refuse(&e),
            };
            let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                indicatif::ProgressBar::new(0)
            } else {
                indicatif::ProgressBar::hidden()
            };
            let rows = match crate::lab::grade(&lab, dir, key.as_ref(), |k, n| {
                bar.set_length(n as u64);
                bar.set_position(k as u64);
            }) {
                Ok(r) => r,
                Err(e) => return refuse(&e),
            };
            bar.finish_and_clear();
            let counts = class::Summary::of(&lab, &rows);
            let table = class::csv(&lab, &rows);
            if let Some(p) = html {
                std::fs::write(p, class::html(&lab, &rows, &counts))?;
            }
            if let Some(p) = csv {
                std::fs::write(p, &table)?;
            }
            match format {
                OutputFormat::Json => {
                    writeln!(out, "{}", serde_json::to_string(&json!({"students": rows, "summary": counts}))?)?
                }
                _ if *summary => write!(out, "{}", counts.text())?,
                _ if csv.is_none() => write!(out, "{table}")?,
                _ => {}
            }
            Ok(0)
        }
        LabCommand::Key { command: KeyCommand::New { out: path } } => {
            use std::io::Write as _;
            let mut f = match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(f) => f,
                Err(e) => return refuse(&format!("{}: {e} (a key file is never overwritten)", path.display())),
            };
            writeln!(f, "{}", CourseKey::new_random().to_hex())?;
            writeln!(
                out,
                "wrote a new course key to {}; give it to the class, keep a copy for grading",
                path.display()
            )?;
            Ok(0)
        }
        LabCommand::Run { id, student, key, write } => {
            let (lab, key) = match lab_and_key(id, key.as_deref()) {
                Ok(x) => x,
                Err(e) => return refuse(&e),
            };
            let Some(scenario) = lab.traffic.scenario.clone() else {
                return refuse(&format!(
                    "lab {} has no scenario to run; open its capture {}",
                    lab.id, lab.traffic.reference
                ));
            };
            if student.trim().is_empty() || student.len() > 64 {
                return refuse("a student id is 1 to 64 characters");
            }
            std::fs::create_dir_all(write)?;
            let answers = write.join("answers.json");
            if !answers.exists() {
                std::fs::write(&answers, "{}\n")?;
            }
            let token = key.as_ref().map(|k| k.token(student)).unwrap_or_else(|| format!("student {student}"));
            let capture = write.join("capture.pcap");
            match crate::serve::scenario::run_signed(&scenario, Some(capture.clone()), Some(&token)) {
                Ok(o) => {
                    for l in &o.lines {
                        writeln!(out, "{l}")?;
                    }
                    writeln!(
                        out,
                        "recorded {} frames to {}; answers go in {}",
                        o.frames,
                        capture.display(),
                        answers.display()
                    )?;
                    Ok(0)
                }
                Err(e) => {
                    // Without capture rights, say so: the lab then uses its bundled capture.
                    refuse(&format!(
                        "{e:#}; without capturing, open the lab's bundled capture {}",
                        lab.traffic.reference
                    ))
                }
            }
        }
        LabCommand::Validate { paths } => {
            let ids: Vec<String> = if paths.is_empty() {
                Lab::bundled().into_iter().map(|l| l.map(|l| l.id).unwrap_or_else(|e| e.file)).collect()
            } else {
                paths.clone()
            };
            let mut bad = 0;
            for id in &ids {
                let v = crate::lab::validate(id);
                if v.problems.is_empty() {
                    writeln!(out, "ok   {id}")?;
                } else {
                    bad += 1;
                    for p in v.problems {
                        writeln!(out, "FAIL {p}")?;
                    }
                }
                for e in v.elsewhere {
                    writeln!(out, "     {e}")?;
                }
            }
            Ok(i32::from(bad > 0))
        }
    }
}

/// The lab and the course key a command names.
fn lab_and_key(id: &str, key: Option<&std::path::Path>) -> Result<(Lab, Option<CourseKey>), String> {
    let lab = Lab::load(id).map_err(|e| e.to_string())?;
    let key = key.map(CourseKey::read).transpose()?;
    Ok((lab, key))
}

fn refuse(message: &str) -> anyhow::Result<i32> {
    eprintln!("wirelab: {message}");
    Ok(2)
}

fn show_json(lab: &Lab) -> serde_json::Value {
    json!({
        "id": lab.id, "title": lab.title, "summary": lab.summary, "minutes": lab.minutes, "level": lab.level,
        "glossary": lab.glossary,
        "steps": lab.steps.iter().map(|s| json!({
            "title": s.title, "text": s.text,
            "questions": s.questions.iter().map(|q| json!({
                "id": q.id, "prompt": q.prompt, "kind": kind_name(&q.kind), "hints": q.hints,
                "choices": match &q.kind {
                    Kind::Choice { choices } => choices.iter().map(|c| json!({"id": c.id, "text": c.text})).collect(),
                    Kind::Order { items } => items.iter().map(|c| json!({"id": c.id, "text": c.text})).collect(),
                    _ => Vec::new(),
                },
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn kind_name(k: &Kind) -> &'static str {
    match k {
        Kind::Value { .. } => "value",
        Kind::PickPacket { .. } => "pick-packet",
        Kind::Annotate { .. } => "annotate",
        Kind::PickField { .. } => "pick-field",
        Kind::Order { .. } => "order",
        Kind::Choice { .. } => "choice",
        Kind::FreeText => "free-text",
    }
}

fn show_text(lab: &Lab) -> String {
    let mut s = format!(
        "{}\n{}\n\n{} ({} minutes)\n",
        lab.title,
        "=".repeat(lab.title.chars().count()),
        lab.summary,
        lab.minutes
    );
    for (i, step) in lab.steps.iter().enumerate() {
        s.push_str(&format!("\n{}. {}\n\n{}\n", i + 1, step.title, step.text.trim()));
        for q in &step.questions {
            s.push_str(&format!("\n  [{}] ({}) {}\n", q.id, kind_name(&q.kind), q.prompt));
            match &q.kind {
                Kind::Choice { choices } => {
                    for c in choices {
                        s.push_str(&format!("      {}: {}\n", c.id, c.text));
                    }
                }
                Kind::Order { items } => {
                    for c in items {
                        s.push_str(&format!("      {}: {}\n", c.id, c.text));
                    }
                }
                _ => {}
            }
        }
    }
    s
}
