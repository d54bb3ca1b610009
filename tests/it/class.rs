//! The teacher's desk from the command line: a class of ten submissions
//! (right, partly right, misconceptions chosen, answers revealed, another
//! student's capture, a damaged capture, a missing answers file, hostile
//! files) graded into a table, counts per question and per misconception,
//! the CSV cell by cell, JSON and a one-page HTML report.

use std::path::Path;

use serde_json::{Value as Json, json};
use wirelab::lab::{CourseKey, Lab, answer_key};
use wirelab::session::Session;

use crate::lab::split_csv;
use crate::support::{root, wirelab_bin};

pub const LAB: &str = "socketio-uses-http";
const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// The reference capture with one more frame that carries `token`, as a
/// capture made with `wirelab lab run --key` carries the student's.
fn signed(token: &str) -> Vec<u8> {
    let mut bytes = std::fs::read(root().join("captures/socketio-node.pcap")).unwrap();
    let little = bytes[..4] == [0xd4, 0xc3, 0xb2, 0xa1];
    assert!(little, "a little-endian pcap");
    let mut frame = vec![0u8; 12];
    frame.extend_from_slice(&[0x88, 0xb5]); // a local experimental EtherType
    frame.extend_from_slice(token.as_bytes());
    for v in [2_000_000_000u32, 0, frame.len() as u32, frame.len() as u32] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes.extend_from_slice(&frame);
    bytes
}

/// Writes the class of ten into `dir` (one folder per student) and the
/// course key beside it; returns the key file.
pub fn class_of_ten(dir: &Path) -> std::path::PathBuf {
    let key = CourseKey::from_hex(KEY).unwrap();
    let key_file = dir.join("course.key");
    let class = dir.join("class");
    std::fs::create_dir_all(&class).unwrap();
    std::fs::write(&key_file, KEY).unwrap();
    let lab = Lab::load(LAB).unwrap();
    let (right, _) = answer_key(&lab, &Session::open(&root().join("captures/socketio-node.pcap")).unwrap());
    let right = serde_json::to_value(&right).unwrap();
    let with = |changes: Json| {
        let mut a = right.clone();
        for (k, v) in changes.as_object().unwrap() {
            a[k] = v.clone();
        }
        a
    };
    let student = |name: &str, capture: Option<Vec<u8>>, answers: Option<Json>, revealed: Option<&str>| {
        let d = class.join(name);
        std::fs::create_dir(&d).unwrap();
        if let Some(c) = capture {
            std::fs::write(d.join("capture.pcap"), c).unwrap();
        }
        if let Some(a) = answers {
            std::fs::write(d.join("answers.json"), a.to_string()).unwrap();
        }
        if let Some(r) = revealed {
            std::fs::write(d.join("revealed.json"), r).unwrap();
        }
    };
    let own = |name: &str| Some(signed(&key.token(name)));
    student("ada", own("ada"), Some(right.clone()), None);
    student("bo", own("bo"), Some(with(json!({"sid": "nope", "polling-posts": 99}))), None);
    student("cai", own("cai"), Some(with(json!({"uses-http": "no-one-directional"}))), None);
    student("dan", own("dan"), Some(with(json!({"uses-http": "only-websocket"}))), Some(r#"["uses-http"]"#));
    student("eli", own("eli"), Some(with(json!({"uses-http": "no-one-directional", "sid": ""}))), None);
    // Fay hands in Ada's capture.
    student("fay", own("ada"), Some(right.clone()), None);
    let whole = own("gil").unwrap();
    student("gil", Some(whole[..whole.len() * 2 / 3].to_vec()), Some(right.clone()), None);
    student("hal", own("hal"), None, None);
    // A capture that is a link to a file outside the class.
    student("ivy", None, Some(right.clone()), None);
    std::os::unix::fs::symlink("/etc/hostname", class.join("ivy/capture.pcap")).unwrap();
    // A student id a spreadsheet would run as a formula.
    student("=cmd", own("=cmd"), Some(json!({})), None);
    key_file
}

#[test]
fn a_class_of_ten_is_graded_into_a_table_with_counts_and_misconceptions() {
    let dir = tempfile::tempdir().unwrap();
    let key = class_of_ten(dir.path());
    let class = dir.path().join("class");
    let (csv, html) = (dir.path().join("grades.csv"), dir.path().join("report.html"));
    let out = wirelab_bin()
        .args(["lab", "grade", LAB])
        .arg(&class)
        .arg("--key")
        .arg(&key)
        .arg("--csv")
        .arg(&csv)
        .arg("--html")
        .arg(&html)
        .arg("--summary")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = String::from_utf8(out.stdout).unwrap();

    // The CSV, cell by cell.
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<Vec<String>> = text.lines().map(split_csv).collect();
    let head = &rows[0];
    assert_eq!(
        head,
        &["student", "score", "max", "provenance", "error", "revealed"]
            .into_iter()
            .chain(["sid", "uses-http", "polling-posts", "upgrade-frame", "upgrade-order", "sid-field"])
            .map(String::from)
            .collect::<Vec<_>>()
    );
    assert_eq!(rows.len(), 11, "{text}");
    let row = |name: &str| rows.iter().find(|r| r[0] == name).unwrap_or_else(|| panic!("no {name}: {text}")).clone();
    let statuses = |name: &str| row(name)[6..].join(" ");
    let all_right = "correct correct correct correct correct correct";
    assert_eq!(row("ada")[..6], ["ada", "6", "6", "verified", "", ""]);
    assert_eq!(statuses("ada"), all_right);
    assert_eq!(row("bo")[1], "4");
    assert_eq!(statuses("bo"), "incorrect correct incorrect correct correct correct");
    assert_eq!(statuses("cai"), "correct incorrect correct correct correct correct");
    assert_eq!(row("dan")[5], "uses-http");
    assert_eq!(statuses("dan"), "correct incorrect correct correct correct correct");
    assert_eq!(statuses("eli"), "unanswered incorrect correct correct correct correct");
    // Fay's answers are right on the capture she handed in, which is Ada's.
    assert_eq!((row("fay")[1].as_str(), row("fay")[3].as_str()), ("6", "missing"));
    assert!(row("gil")[4].contains("damaged"), "{:?}", row("gil"));
    // Its token was in the part cut off.
    assert_eq!(row("gil")[3], "missing");
    assert!(row("hal")[4].contains("answers.json"), "{:?}", row("hal"));
    assert!(row("ivy")[4].contains("not a plain file"), "{:?}", row("ivy"));
    assert_eq!(row("ivy")[1], "0");
    // A formula is written as text.
    assert!(rows.iter().any(|r| r[0] == "'=cmd"), "{text}");
    assert_eq!(statuses("'=cmd").split(' ').filter(|s| *s == "unanswered").count(), 6);

    // The counts.
    assert!(summary.starts_with("10 students (3 could not be fully checked)"), "{summary}");
    let count_line = |q: &str| -> Vec<u32> {
        let l = summary.lines().find(|l| l.split_whitespace().next() == Some(q)).unwrap();
        l.split_whitespace().skip(1).map(|n| n.parse().unwrap()).collect()
    };
    // right, wrong, cannot, blank, revealed
    // Right: ada, bo, fay, gil; wrong: cai, dan, eli; blank: hal, ivy, =cmd; dan asked to see it.
    assert_eq!(count_line("uses-http"), [4, 3, 0, 3, 1], "{summary}");
    assert_eq!(count_line("sid"), [5, 1, 0, 4, 0], "{summary}");
    // Gil's answer is right on the whole capture, not on the two thirds he handed in.
    assert_eq!(count_line("polling-posts"), [5, 2, 0, 3, 0], "{summary}");
    assert!(summary.contains("2 × uses-http = no-one-directional"), "{summary}");
    assert!(summary.contains("picked by: cai, eli"), "{summary}");
    assert!(summary.contains("1 × uses-http = only-websocket"), "{summary}");
    assert!(summary.contains("Long-polling makes HTTP carry messages both ways"), "{summary}");

    // JSON: the same rows and counts.
    let out = wirelab_bin().args(["lab", "grade", LAB]).arg(&class).args(["--format", "json"]).output().unwrap();
    let j: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["students"].as_array().unwrap().len(), 10);
    let uses = j["summary"]["questions"].as_array().unwrap().iter().find(|q| q["id"] == "uses-http").unwrap();
    assert_eq!(
        (uses["correct"].as_u64(), uses["incorrect"].as_u64(), uses["revealed"].as_u64()),
        (Some(4), Some(3), Some(1))
    );
    let cai = j["students"].as_array().unwrap().iter().find(|s| s["student"] == "cai").unwrap();
    assert_eq!(cai["answers"]["uses-http"], "no-one-directional");

    // The report: one page, the table and the misconceptions, nothing a student typed run as markup.
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("@media print"));
    assert!(page.contains("<td class=\"s\">cai</td>") || page.contains(">cai<"), "{page}");
    assert!(page.contains("2 × </b><code>uses-http</code>"), "{page}");
    assert_eq!(page.matches("<tr>").count(), 1 + 6 + 1 + 10, "question rows, the header of each table, students");
    assert!(!page.contains("<script"));
}

/// Thousands of students: every one gets a row, with progress reported.
#[test]
fn a_class_of_two_thousand_is_graded_with_progress() {
    let dir = tempfile::tempdir().unwrap();
    let lab = Lab::load(LAB).unwrap();
    for i in 0..2000 {
        let d = dir.path().join(format!("s{i:04}"));
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("answers.json"), "{}").unwrap();
    }
    let mut seen = Vec::new();
    let rows = wirelab::lab::grade(&lab, dir.path(), None, |k, n| seen.push((k, n))).unwrap();
    assert_eq!(rows.len(), 2000);
    assert_eq!(seen.last(), Some(&(2000, 2000)));
    assert!(seen.len() > 1000, "progress for each student");
    let s = wirelab::lab::class::Summary::of(&lab, &rows);
    assert_eq!((s.students, s.with_errors), (2000, 2000));
}

/// Packet comments both ways: tshark's `editcap -a` writes one and wirelab
/// reads it (a field, a filter, the tree); wirelab writes one and tshark
/// reads it as `frame.comment` on the same frame.
#[test]
fn packet_comments_round_trip_with_wireshark() {
    let dir = tempfile::tempdir().unwrap();
    let src = root().join("captures/socketio-node.pcap");
    let theirs = dir.path().join("theirs.pcapng");
    let out = std::process::Command::new("editcap")
        .args(["-a", "3:the server says yes, SYN-ACK", "-a", "30:a request, in HTTP"])
        .arg(&src)
        .arg(&theirs)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = Session::open(&theirs).unwrap();
    assert_eq!(wirelab::lab::query::matching(&s, "frame.comment contains \"SYN-ACK\"").unwrap(), [3]);
    assert_eq!(wirelab::lab::query::matching(&s, "frame.comment").unwrap(), [3, 30]);
    let mut d = wirelab::model::Dissection::default();
    let bytes = s.number(30, &mut d).unwrap();
    let notes: Vec<String> = d.find_all(bytes, "frame.comment").map(|f| f.text(200)).collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("a request, in HTTP"), "{notes:?}");
    // The tree as text shows it, and the rest of the frame is dissected as before.
    let text = wirelab_bin().arg("dissect").arg(&theirs).args(["-V", "-Y", "frame.number == 3"]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("the server says yes, SYN-ACK") && text.contains("Transmission Control Protocol"), "{text}");

    // Written by wirelab: tshark reads the comments on the same frames.
    let mine = dir.path().join("mine.pcapng");
    let cap = wirelab::file::Capture::open(&src).unwrap();
    let frames: Vec<_> = cap.frames().map(Result::unwrap).collect();
    let out_frames: Vec<wirelab::file::FrameOut<'_>> =
        frames.iter().map(|f| (f.meta.ts_sec, f.meta.ts_nsec, f.meta.len, &f.data[..])).collect();
    let comments =
        [(4usize, vec!["the handshake is done; \"quoted\", ünïcode".to_string(), "a second note".to_string()])]
            .into_iter()
            .collect();
    wirelab::file::write_capture(std::fs::File::create(&mine).unwrap(), 1, 262_144, None, &out_frames, &comments)
        .unwrap();
    let out = crate::support::tshark()
        .arg("-r")
        .arg(&mine)
        .args(["-Y", "frame.comment", "-T", "fields", "-e", "frame.number", "-e", "frame.comment"])
        .output()
        .unwrap();
    // Two comments on one packet: tshark lists both.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "5\tthe handshake is done; \"quoted\", ünïcode,a second note"
    );
    // The same file read back by wirelab: the comment, on frame 5.
    let s = Session::open(&mine).unwrap();
    assert_eq!(wirelab::lab::query::matching(&s, "frame.comment contains \"ünïcode\"").unwrap(), [5]);
}

pub const ANNOTATE_LAB: &str = r#"
id = "annotate-test"
title = "mark the frame"
summary = "an annotate question"
minutes = 1
[traffic]
reference = "captures/socketio-node.pcap"
[[steps]]
title = "mark it"
[[steps.questions]]
id = "synack"
kind = "annotate"
prompt = "Mark the frame where the server agrees to open the first connection, and say why."
hints = ["Look for SYN and ACK together."]
answer = { frame = "first", filter = "tcp.flags.syn == 1 && tcp.flags.ack == 1" }
"#;

/// An annotate question: the frame is checked as a pick-packet's, the
/// sentence is required and kept (in the answers) for the teacher.
#[test]
fn an_annotate_question_checks_the_frame_and_keeps_the_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("annotate-test.toml");
    std::fs::write(&file, ANNOTATE_LAB).unwrap();
    let out = wirelab_bin().args(["lab", "validate"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let lab = Lab::load(file.to_str().unwrap()).unwrap();
    let s = Session::open(&root().join("captures/socketio-node.pcap")).unwrap();
    let synack = wirelab::lab::query::matching(&s, "tcp.flags.syn == 1 && tcp.flags.ack == 1").unwrap()[0];
    let check = |answer: Json| {
        let answers = [("synack".to_string(), answer)].into_iter().collect();
        let r = wirelab::lab::check(&lab, &s, &answers);
        (r.questions[0].status, r.questions[0].feedback.clone())
    };
    use wirelab::lab::Status::*;
    let why = "the server answers the SYN with SYN and ACK set";
    assert_eq!(check(json!({"frame": synack, "why": why})).0, Correct);
    let (st, fb) = check(json!({"frame": synack, "why": "ok"}));
    assert_eq!(st, Incorrect);
    assert!(fb.contains("in a sentence"), "{fb}");
    assert_eq!(check(json!({"frame": synack + 1, "why": why})).0, Incorrect);
    assert_eq!(check(json!({"frame": synack})).0, Unanswered, "a mark without its why is no answer yet");
    // The answer key is an annotation that checks right.
    let (key, cannot) = answer_key(&lab, &s);
    assert!(cannot.is_empty());
    assert_eq!(wirelab::lab::check(&lab, &s, &key).score, 1);
    // `lab grade` keeps the sentence for the teacher (in the JSON's answers).
    let class = dir.path().join("class");
    std::fs::create_dir_all(class.join("ana")).unwrap();
    std::fs::copy(root().join("captures/socketio-node.pcap"), class.join("ana/capture.pcap")).unwrap();
    std::fs::write(class.join("ana/answers.json"), json!({"synack": {"frame": synack, "why": why}}).to_string())
        .unwrap();
    let out = wirelab_bin().args(["lab", "grade"]).arg(&file).arg(&class).args(["--format", "json"]).output().unwrap();
    let j: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["students"][0]["answers"]["synack"]["why"], why);
    assert_eq!(j["students"][0]["score"], 1);
    assert_eq!(j["summary"]["questions"][0]["correct"], 1);
}
