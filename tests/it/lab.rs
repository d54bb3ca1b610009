//! The lab engine: lab files, questions whose right answers are computed
//! from the capture (checked here against answers derived with tshark, an
//! independent tool), every question kind with a right and a wrong answer,
//! captures made by other programs, hostile lab files and answers.

use std::path::Path;

use serde_json::{Value as Json, json};
use wirelab::lab::{Answers, Lab, Status, check};
use wirelab::session::Session;

use crate::support::{root, tshark, tshark_first, wirelab_bin};

fn tshark_count(capture: &Path, filter: &str) -> usize {
    let out =
        tshark().arg("-r").arg(capture).args(["-Y", filter, "-T", "fields", "-e", "frame.number"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().count()
}

fn answers(v: Json) -> Answers {
    serde_json::from_value(v).unwrap()
}

fn statuses(lab: &str, capture: &Path, a: Json) -> Vec<(String, Status)> {
    let lab = Lab::load(lab).unwrap();
    let s = Session::open(capture).unwrap();
    check(&lab, &s, &answers(a)).questions.into_iter().map(|q| (q.id, q.status)).collect()
}

fn all(r: &[(String, Status)], want: Status) -> bool {
    r.iter().all(|(_, s)| *s == want || *s == Status::Ungraded)
}

#[test]
fn the_bundled_labs_validate_and_hold_the_required_questions() {
    let out = wirelab_bin().args(["lab", "validate"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    for (lab, required) in [
        ("tcp-handshake", &["client-isn", "synack-frame"][..]),
        ("websocket-handshake", &["accept-key"][..]),
        ("socketio-uses-http", &["sid", "upgrade-frame"][..]),
        ("tls-and-wss", &["sni", "cipher-suite", "first-decrypted-frame"][..]),
        ("tcp-reliability", &["first-rtt", "max-in-flight"][..]),
    ] {
        let l = Lab::load(lab).unwrap();
        assert_eq!(l.id, lab);
        assert!(l.questions().count() >= 3);
        for id in required {
            assert!(l.questions().any(|q| q.id == *id), "{lab} has no question {id}");
        }
    }
    let out = wirelab_bin().args(["lab", "list", "--format", "json"]).output().unwrap();
    let list: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert!(list.as_array().unwrap().iter().any(|l| l["id"] == "tcp-handshake" && l["questions"] == 7));
    // The seventeen labs of the curriculum, in its order, each with three
    // questions or more and a reference capture that answers all of them.
    let ids: Vec<&str> = list.as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "osi-layers",
            "sockets-and-ports",
            "tcp-handshake",
            "tcp-vs-udp",
            "websocket-handshake",
            "websocket-frames",
            "bidirectional",
            "socketio-uses-http",
            "client-emits",
            "server-emits",
            "missed-events",
            "rooms-and-namespaces",
            "message-queues",
            "compression",
            "tls-and-wss",
            "scale-out",
            "tcp-reliability",
        ]
    );
    for l in Lab::bundled() {
        let l = l.unwrap();
        assert!(l.questions().count() >= 3, "{}", l.id);
        assert!((10..=25).contains(&l.minutes), "{}: {} minutes", l.id, l.minutes);
    }
}

/// How many different values tshark gives for a field in frames matching a filter.
fn tshark_distinct(capture: &Path, filter: &str, field: &str) -> usize {
    let out = tshark().arg("-r").arg(capture).args(["-Y", filter, "-T", "fields", "-e", field]).output().unwrap();
    let values: std::collections::BTreeSet<String> =
        String::from_utf8_lossy(&out.stdout).lines().flat_map(|l| l.split(',')).map(str::to_string).collect();
    values.len()
}

#[test]
fn distinct_counts_what_tshark_counts_a_broadcast_is_one_frame_per_recipient() {
    // server-emits: the connections a broadcast went out on.
    let cap = root().join("captures/scenario-chat-rooms.pcap");
    let want = tshark_distinct(
        &cap,
        "websocket.mask == 0 && websocket.payload.text contains \"hello everyone\"",
        "tcp.stream",
    );
    assert!(want >= 2, "a broadcast to several clients");
    let got = statuses("server-emits", &cap, json!({ "broadcast-recipients": want }));
    assert!(got.contains(&("broadcast-recipients".into(), Status::Correct)), "{got:?}");
    let got = statuses("server-emits", &cap, json!({ "broadcast-recipients": want + 1 }));
    assert!(got.contains(&("broadcast-recipients".into(), Status::Incorrect)), "{got:?}");
    // sockets-and-ports: UDP client sockets, one source port each.
    let cap = root().join("captures/scenario-tcp-vs-udp.pcap");
    let want = tshark_distinct(&cap, "udp && data.data contains 57:4c:01:01", "udp.srcport");
    let got = statuses("sockets-and-ports", &cap, json!({ "udp-client-sockets": want }));
    assert!(got.contains(&("udp-client-sockets".into(), Status::Correct)), "{got:?}");
}

#[test]
fn tcp_handshake_answers_derived_with_tshark_score_full_marks_and_wrong_ones_zero() {
    let cap = root().join("captures/scenario-tcp-vs-udp.pcap");
    let syn = "tcp.flags.syn == 1 && tcp.flags.ack == 0";
    let synack = "tcp.flags.syn == 1 && tcp.flags.ack == 1";
    let right = json!({
        "client-isn": tshark_first(&cap, syn, "tcp.seq_raw").parse::<u64>().unwrap(),   // value (number)
        "synack-frame": tshark_first(&cap, synack, "frame.number").parse::<u64>().unwrap(), // pick the packet
        "synack-acknowledges": tshark_first(&cap, synack, "tcp.ack_raw"),              // value (as text)
        "handshake-order": ["syn", "synack", "ack"],                                   // order
        "fin-count": tshark_count(&cap, "tcp.flags.fin == 1"),                         // count
        "fin-means": "done-sending",                                                   // choice
        "handshake-notes": "anything",                                                 // free text
    });
    let r = statuses("tcp-handshake", &cap, right);
    assert!(all(&r, Status::Correct), "{r:?}");
    assert!(r.iter().any(|(id, s)| id == "handshake-notes" && *s == Status::Ungraded));
    let wrong = json!({
        "client-isn": 1, "synack-frame": 1, "synack-acknowledges": "0", "handshake-order": ["synack", "syn", "ack"],
        "fin-count": 99, "fin-means": "connection-gone",
    });
    let r = statuses("tcp-handshake", &cap, wrong);
    assert!(all(&r, Status::Incorrect), "{r:?}");
    let r = statuses("tcp-handshake", &cap, json!({}));
    assert!(all(&r, Status::Unanswered), "{r:?}");
}

#[test]
fn websocket_handshake_the_accept_key_tshark_reads_is_the_right_answer() {
    let cap = root().join("captures/scenario-echo-basics.pcap");
    let accept = tshark_first(&cap, "http.response.code == 101", "websocket.accept");
    let accept = if accept.is_empty() {
        tshark_first(&cap, "http.response.code == 101", "http.sec_websocket_accept")
    } else {
        accept
    };
    assert_eq!(accept.len(), 28, "{accept:?}");
    let frame: u64 = tshark_first(&cap, "http.response.code == 101", "frame.number").parse().unwrap();
    let right = json!({
        "upgrade-response": frame,
        "accept-key": accept,
        "accept-computed": accept, // named computation: base64(SHA-1(key + GUID))
        "distinct-from-http": "starts-as-http",
    });
    assert!(all(&statuses("websocket-handshake", &cap, right), Status::Correct));
    let wrong = json!({
        "upgrade-response": frame + 1,
        "accept-key": accept.to_lowercase(),
        "accept-computed": "dGhlIHNhbXBsZSBub25jZQ==",
        "distinct-from-http": "unrelated",
    });
    let r = statuses("websocket-handshake", &cap, wrong);
    assert!(all(&r, Status::Incorrect), "{r:?}");
}

/// The sid as the open packet's JSON says it, read from tshark's view of the
/// HTTP bodies and WebSocket payloads.
fn sid_by_tshark(cap: &Path) -> String {
    let out = tshark()
        .arg("-r")
        .arg(cap)
        .args(["-Y", "frame contains \"\\\"sid\\\"\"", "-T", "fields", "-e", "frame.number"])
        .output()
        .unwrap();
    let first: u64 = String::from_utf8_lossy(&out.stdout).lines().next().unwrap().trim().parse().unwrap();
    let out = tshark().arg("-r").arg(cap).args(["-Y", &format!("frame.number == {first}"), "-x"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // The hex dump's ASCII column: find "sid":" and take the string.
    let ascii: String = text.lines().filter_map(|l| l.get(56..)).collect::<Vec<_>>().join("");
    let at = ascii.find("\"sid\":\"").expect("a sid in the dump") + 7;
    ascii[at..].split('"').next().unwrap().to_string()
}

#[test]
fn socketio_uses_http_works_on_the_official_servers_capture_and_on_ours() {
    // One capture made by the official Node socket.io server and client,
    // one by wirelab's own chat and scenario: each has its own right answers.
    let mut sids = Vec::new();
    for cap in [root().join("captures/socketio-node.pcap"), root().join("captures/scenario-chat-polling-upgrade.pcap")]
    {
        let sid = sid_by_tshark(&cap);
        let upgrade: u64 = {
            let s = Session::open(&cap).unwrap();
            let mut d = wirelab::model::Dissection::default();
            (1..=s.len() as u64)
                .find(|n| {
                    s.number(*n, &mut d).is_some_and(|b| d.find(b, "engineio.type").is_some_and(|f| f.equals("5")))
                })
                .unwrap()
        };
        let right = json!({
            "sid": sid,
            "uses-http": "yes-then-upgrades",
            "polling-posts": tshark_count(&cap, "http.request.method == \"POST\""),
            "upgrade-frame": upgrade,
            "upgrade-order": ["open", "probe", "upgrade"],
            "sid-field": "engineio.sid",
        });
        let r = statuses("socketio-uses-http", &cap, right);
        assert!(all(&r, Status::Correct), "{}: {r:?}", cap.display());
        let wrong = json!({
            "sid": "not-the-sid", "uses-http": "no-one-directional", "polling-posts": 1000, "upgrade-frame": 1,
            "upgrade-order": ["probe", "open", "upgrade"], "sid-field": {"frame": 1, "field": "engineio.type"},
        });
        let r = statuses("socketio-uses-http", &cap, wrong);
        assert!(all(&r, Status::Incorrect), "{}: {r:?}", cap.display());
        sids.push(sid);
    }
    assert_ne!(sids[0], sids[1], "each capture has its own session id");
}

#[test]
fn check_reports_json_with_frames_and_feedback_that_cite_the_packets() {
    let dir = tempfile::tempdir().unwrap();
    let answers = dir.path().join("answers.json");
    std::fs::write(&answers, r#"{"client-isn": 7, "fin-means": "connection-gone"}"#).unwrap();
    let out = wirelab_bin()
        .args(["lab", "check", "tcp-handshake", "--format", "json", "--capture"])
        .arg(root().join("captures/scenario-tcp-vs-udp.pcap"))
        .arg("--answers")
        .arg(&answers)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((r["lab"].as_str(), r["score"].as_u64(), r["max"].as_u64()), (Some("tcp-handshake"), Some(0), Some(6)));
    assert_eq!(r["provenance"], "not-checked");
    let q = |r: &Json, id: &str| r["questions"].as_array().unwrap().iter().find(|q| q["id"] == id).unwrap().clone();
    // Hints before answers: a wrong value is told where to look, not what
    // is right; a question not tried gets nothing at all.
    let isn = q(&r, "client-isn");
    let right_isn = tshark_first(
        &root().join("captures/scenario-tcp-vs-udp.pcap"),
        "tcp.flags.syn == 1 && tcp.flags.ack == 0",
        "tcp.seq_raw",
    );
    assert_eq!(isn["status"], "incorrect");
    assert_eq!(isn["frames"], json!([]), "{isn}");
    assert!(isn.get("expected").is_none() && isn.get("revealed").is_none(), "{isn}");
    let feedback = isn["feedback"].as_str().unwrap();
    assert!(feedback.contains("look at the field tcp.seq_raw in the TCP layer"), "{isn}");
    assert!(!feedback.contains(&right_isn) && !feedback.contains("frame 1"), "{isn}");
    let order = q(&r, "handshake-order");
    assert_eq!(
        (order["status"].as_str(), order["feedback"].as_str(), &order["frames"]),
        (Some("unanswered"), Some(""), &json!([]))
    );
    // A misconception's own feedback, and the frames that disprove it.
    let choice = q(&r, "fin-means");
    assert!(choice["feedback"].as_str().unwrap().contains("RST"), "{choice}");
    // A teacher sees the answers and the frames that decide them.
    let out = wirelab_bin()
        .args(["lab", "check", "tcp-handshake", "--reveal", "--format", "json", "--capture"])
        .arg(root().join("captures/scenario-tcp-vs-udp.pcap"))
        .arg("--answers")
        .arg(&answers)
        .output()
        .unwrap();
    let r: Json = serde_json::from_slice(&out.stdout).unwrap();
    let isn = q(&r, "client-isn");
    assert_eq!(isn["frames"], json!([1]));
    assert!(isn["feedback"].as_str().unwrap().contains("frame 1, `tcp.seq_raw`"), "{isn}");
    assert_eq!((isn["expected"].as_str(), &isn["revealed"]), (Some(right_isn.as_str()), &json!(true)));
    assert_eq!(q(&r, "handshake-order")["expected"], json!(["syn", "synack", "ack"]));
}

#[test]
fn a_student_sees_an_answer_only_after_asking_for_it() {
    let lab = Lab::load("tcp-handshake").unwrap();
    let s = Session::open(&root().join("captures/scenario-tcp-vs-udp.pcap")).unwrap();
    let a = answers(json!({"client-isn": 7, "synack-frame": 1}));
    let find = |r: &wirelab::lab::Report, id: &str| r.questions.iter().find(|q| q.id == id).unwrap().clone();
    let none = Default::default();
    let r = wirelab::lab::check_showing(&lab, &s, &a, wirelab::lab::Show::Student(&none));
    assert!(find(&r, "client-isn").expected.is_none() && find(&r, "synack-frame").frames.is_empty());
    let asked: std::collections::BTreeSet<String> = ["client-isn".to_string(), "client-isn-typo".to_string()].into();
    let r = wirelab::lab::check_showing(&lab, &s, &a, wirelab::lab::Show::Student(&asked));
    let isn = find(&r, "client-isn");
    assert!(isn.revealed && isn.expected.is_some() && isn.frames == [1], "{isn:?}");
    // Asking for one answer shows that one only; the score is unchanged.
    assert!(find(&r, "synack-frame").expected.is_none());
    assert_eq!(r.score, 0);
    // A lab that does not reveal (reveal = false) never shows it to a student.
    let mut strict = lab.clone();
    for step in &mut strict.steps {
        for q in &mut step.questions {
            q.reveal = false;
        }
    }
    let r = wirelab::lab::check_showing(&strict, &s, &a, wirelab::lab::Show::Student(&asked));
    assert!(find(&r, "client-isn").expected.is_none());
    let r = wirelab::lab::check_showing(&strict, &s, &a, wirelab::lab::Show::Teacher);
    assert!(find(&r, "client-isn").expected.is_some());
}

#[test]
fn broken_lab_files_and_answers_get_a_clear_error_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(root().join("labs/tcp-handshake.toml")).unwrap();
    let cases = [
        (good.replacen("minutes = 15", "minutes = \"fifteen\"", 1), "invalid type"),
        (good.replacen("kind = \"value\"", "kind = \"guess\"", 1), "unknown variant"),
        (good.replacen("answer = { field = \"tcp.seq_raw\"", "anwser = { field = \"tcp.seq_raw\"", 1), "anwser"),
        (good.replacen("tcp.flags.syn == 1 && tcp.flags.ack == 0\" }", "tcp.flags.syn == \" }", 1), "does not parse"),
        (good.replace("field = \"tcp.seq_raw\"", "field = \"tcp.sequence\""), "\"tcp.sequence\""),
        (good.replacen("id = \"synack-frame\"", "id = \"client-isn\"", 1), "two questions"),
        (good.replacen("hints = [\"Both the SYN and the ACK flag are set in it.\"]\n", "", 1), "has no hints"),
        (
            good.replacen("{ do = \"replay\", predict = true }", "{ do = \"compare\", loss = 10 }", 1),
            "a probability from 0 to 1",
        ),
        (good.replacen("glossary = [", "glossary = [\"flux capacitor\", ", 1), "is not in the glossary"),
        // A scenario records its own servers: no "start the server" beside it.
        (
            good.replacen(
                "{ do = \"run-scenario\"",
                "{ do = \"start-server\", server = \"tcp\" },\n  { do = \"run-scenario\"",
                1,
            ),
            "starts its own servers",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        assert_ne!(text, &good, "case {i} changed nothing");
        let p = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&p, text).unwrap();
        let e = Lab::load(p.to_str().unwrap()).unwrap_err();
        assert!(e.message.contains(want), "case {i}: {e}");
        assert!(e.line > 1, "case {i}: no line in {e}");
        let out = wirelab_bin().args(["lab", "validate"]).arg(&p).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{}:{}:", p.display(), e.line)));
    }
    // Answers that are not JSON, a capture that is not one: exit 2 with the reason.
    let bad = dir.path().join("answers.json");
    std::fs::write(&bad, "{not json").unwrap();
    let out = wirelab_bin()
        .args(["lab", "check", "tcp-handshake", "--capture"])
        .arg(root().join("captures/scenario-tcp-vs-udp.pcap"))
        .arg("--answers")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an answers file"));
    std::fs::write(&bad, "{}").unwrap();
    let out = wirelab_bin()
        .args(["lab", "check", "tcp-handshake", "--capture"])
        .arg(&bad)
        .arg("--answers")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = wirelab_bin().args(["lab", "show", "no-such-lab"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the labs are: osi-layers, sockets-and-ports, tcp-handshake")
    );
    // A lab checked against a capture of another kind: questions it cannot
    // answer say so (not "incorrect"), nothing panics.
    let r = statuses("socketio-uses-http", &root().join("captures/scenario-tcp-vs-udp.pcap"), json!({"sid": "x"}));
    assert!(r.iter().any(|(id, s)| id == "sid" && *s == Status::CannotAnswer), "{r:?}");
    assert!(!r.iter().any(|(_, s)| *s == Status::Incorrect), "{r:?}");
}

#[test]
fn grade_gives_every_student_a_row_whatever_they_handed_in() {
    let dir = tempfile::tempdir().unwrap();
    let cap = root().join("captures/scenario-tcp-vs-udp.pcap");
    let syn = "tcp.flags.syn == 1 && tcp.flags.ack == 0";
    let isn = tshark_first(&cap, syn, "tcp.seq_raw");
    let student = |name: &str, capture: Option<&[u8]>, answers: Option<&str>| {
        let d = dir.path().join(name);
        std::fs::create_dir(&d).unwrap();
        if let Some(c) = capture {
            std::fs::write(d.join("capture.pcap"), c).unwrap();
        }
        if let Some(a) = answers {
            std::fs::write(d.join("answers.json"), a).unwrap();
        }
    };
    let bytes = std::fs::read(&cap).unwrap();
    student("ana", Some(&bytes), Some(&format!(r#"{{"client-isn": {isn}, "fin-means": "done-sending"}}"#)));
    student("ben", Some(&bytes), Some(r#"{"client-isn": 1, "fin-means": "resend"}"#));
    std::fs::write(dir.path().join("ben/revealed.json"), r#"["client-isn", "not-a-question"]"#).unwrap();
    student("cy", Some(&bytes[..bytes.len() / 2]), Some(&format!(r#"{{"client-isn": {isn}}}"#)));
    student("dee", Some(&bytes), None);
    student("eve", Some(&bytes), Some("{oops"));
    student("fay", None, Some("{}"));
    student("gus", Some(b"not a capture at all"), Some("{}"));
    // A link to a folder outside is not followed.
    std::os::unix::fs::symlink("/etc", dir.path().join("zz-outside")).unwrap();
    let csv = dir.path().join("grades.csv");
    let out =
        wirelab_bin().args(["lab", "grade", "tcp-handshake"]).arg(dir.path()).arg("--csv").arg(&csv).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<Vec<String>> = text.lines().map(split_csv).collect();
    assert_eq!(rows[0][..6], ["student", "score", "max", "provenance", "error", "revealed"]);
    assert_eq!(rows[0][6], "client-isn");
    let row = |name: &str| rows.iter().find(|r| r[0] == name).unwrap_or_else(|| panic!("no row for {name}: {text}"));
    // The answers a student asked to see are in the grades (only questions of the lab).
    assert_eq!((row("ben")[5].as_str(), row("ana")[5].as_str()), ("client-isn", ""));
    assert_eq!(rows.len(), 1 + 7, "{text}");
    assert_eq!((row("ana")[1].as_str(), row("ana")[2].as_str(), row("ana")[4].as_str()), ("2", "6", ""));
    assert_eq!(row("ana")[6], "correct");
    assert_eq!((row("ben")[1].as_str(), row("ben")[6].as_str()), ("0", "incorrect"));
    // Half a file: graded on what is there, and said so.
    assert!(row("cy")[4].contains("damaged"), "{:?}", row("cy"));
    assert_eq!(row("cy")[6], "correct");
    for (name, why) in
        [("dee", "answers.json"), ("eve", "not an answers file"), ("fay", "no capture"), ("gus", "cannot be read")]
    {
        assert!(row(name)[4].contains(why), "{name}: {:?}", row(name));
        assert_eq!(row(name)[1], "0");
    }
    assert!(rows.iter().all(|r| r[0] != "zz-outside"));
}

/// Splits one CSV line (quoted cells may hold commas).
pub fn split_csv(line: &str) -> Vec<String> {
    let (mut cells, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    cells.push(cur);
    cells
}

/// Right answers for tcp-handshake, derived from a capture with tshark.
fn tcp_handshake_answers(cap: &Path) -> Json {
    let syn = "tcp.flags.syn == 1 && tcp.flags.ack == 0";
    let synack = "tcp.flags.syn == 1 && tcp.flags.ack == 1";
    json!({
        "client-isn": tshark_first(cap, syn, "tcp.seq_raw"),
        "synack-frame": tshark_first(cap, synack, "frame.number").parse::<u64>().unwrap(),
        "synack-acknowledges": tshark_first(cap, synack, "tcp.ack_raw"),
        "handshake-order": ["syn", "synack", "ack"],
        "fin-count": tshark_count(cap, "tcp.flags.fin == 1"),
        "fin-means": "done-sending",
    })
}

#[test]
fn two_students_run_a_lab_with_a_course_key_and_each_capture_is_theirs_alone() {
    if !crate::support::may_capture("lab run") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("course.key");
    assert!(wirelab_bin().args(["lab", "key", "new", "--out"]).arg(&key).status().unwrap().success());
    for s in ["ana", "ben"] {
        let out = wirelab_bin()
            .args(["lab", "run", "tcp-handshake", "--student", s, "--key"])
            .arg(&key)
            .arg("--write")
            .arg(dir.path().join(s))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(std::fs::read_to_string(dir.path().join(s).join("answers.json")).unwrap().trim(), "{}");
    }
    let check_as = |student: &str, capture_of: &str, answers: &Json| -> Json {
        let a = dir.path().join(format!("{student}-answers.json"));
        std::fs::write(&a, answers.to_string()).unwrap();
        let out = wirelab_bin()
            .args(["lab", "check", "tcp-handshake", "--format", "json", "--student", student, "--key"])
            .arg(&key)
            .arg("--capture")
            .arg(dir.path().join(capture_of).join("capture.pcap"))
            .arg("--answers")
            .arg(&a)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let ana_right = tcp_handshake_answers(&dir.path().join("ana/capture.pcap"));
    let ben_right = tcp_handshake_answers(&dir.path().join("ben/capture.pcap"));
    assert_ne!(ana_right["client-isn"], ben_right["client-isn"], "each student's right answer is their own");
    let r = check_as("ana", "ana", &ana_right);
    assert_eq!(
        (r["score"].as_u64(), r["max"].as_u64(), r["provenance"].as_str()),
        (Some(6), Some(6), Some("verified"))
    );
    let r = check_as("ben", "ben", &ben_right);
    assert_eq!((r["score"].as_u64(), r["provenance"].as_str()), (Some(6), Some("verified")));
    // Ana hands in Ben's capture: graded on it, but not hers.
    let r = check_as("ana", "ben", &ben_right);
    assert_eq!(r["provenance"], "missing");
    // Ana's answers on Ben's capture: her initial sequence number is not his.
    let r = check_as("ana", "ben", &ana_right);
    assert!(r["score"].as_u64().unwrap() < 6);
    let wrong = json!({"client-isn": 1, "synack-frame": 1, "synack-acknowledges": "1", "handshake-order": ["ack", "syn", "synack"], "fin-count": 0, "fin-means": "resend"});
    assert_eq!(check_as("ana", "ana", &wrong)["score"], 0);
    // Grading the folder with the key: one row each, provenance verified.
    let out =
        wirelab_bin().args(["lab", "grade", "tcp-handshake"]).arg(dir.path()).arg("--key").arg(&key).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().any(|l| l.starts_with("ana,0,6,verified,")), "{text}");
}

/// Every query form, each with a right answer (from tshark) and a wrong one,
/// on the capture with real random loss.
#[test]
fn every_query_form_against_tshark_with_a_right_and_a_wrong_answer() {
    let cap = root().join("captures/tcp-random-loss-veth.pcap");
    let lab = r#"
id = "query-forms"
title = "every query form"
summary = "test"
minutes = 1
[traffic]
reference = "captures/tcp-random-loss-veth.pcap"
[[steps]]
title = "all"
[[steps.questions]]
id = "last-win"
kind = "value"
prompt = "?"
hints = ["h"]
answer = { field = "tcp.window_size_value", filter = "tcp.analysis.window_update", which = "last" }
[[steps.questions]]
id = "second-dup"
kind = "value"
prompt = "?"
hints = ["h"]
answer = { field = "tcp.ack_raw", filter = "tcp.analysis.duplicate_ack", which = 2 }
[[steps.questions]]
id = "any-retransmission"
kind = "pick-packet"
prompt = "?"
hints = ["h"]
answer = { frames = "tcp.analysis.retransmission" }
[[steps.questions]]
id = "last-retransmission"
kind = "pick-packet"
prompt = "?"
hints = ["h"]
answer = { frame = "last", filter = "tcp.analysis.retransmission" }
[[steps.questions]]
id = "window-fulls"
kind = "value"
prompt = "?"
hints = ["h"]
answer = { count = "tcp.analysis.window_full" }
[[steps.questions]]
id = "syn-to-synack"
kind = "value"
prompt = "?"
hints = ["h"]
answer = { seconds_between = ["tcp.flags.syn == 1 && tcp.flags.ack == 0", "tcp.flags.syn == 1 && tcp.flags.ack == 1"] }
tolerance = 0.000001
"#;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("query-forms.toml");
    std::fs::write(&file, lab).unwrap();
    let lab = Lab::load(file.to_str().unwrap()).unwrap();
    let s = Session::open(&cap).unwrap();
    let all_of = |filter: &str, field: &str| -> Vec<String> {
        let out = tshark().arg("-r").arg(&cap).args(["-Y", filter, "-T", "fields", "-e", field]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).lines().map(|l| l.trim().to_string()).collect()
    };
    let retrans = all_of("tcp.analysis.retransmission", "frame.number");
    let t = |f: &str| tshark_first(&cap, f, "frame.time_epoch").parse::<f64>().unwrap();
    let gap = t("tcp.flags.syn == 1 && tcp.flags.ack == 1") - t("tcp.flags.syn == 1 && tcp.flags.ack == 0");
    let right = json!({
        "last-win": all_of("tcp.analysis.window_update", "tcp.window_size_value").last().unwrap(),
        "second-dup": all_of("tcp.analysis.duplicate_ack", "tcp.ack_raw")[1],
        "any-retransmission": retrans[retrans.len() / 2].parse::<u64>().unwrap(),
        "last-retransmission": retrans.last().unwrap().parse::<u64>().unwrap(),
        "window-fulls": tshark_count(&cap, "tcp.analysis.window_full"),
        "syn-to-synack": format!("{gap:.9}"),
    });
    let r = check(&lab, &s, &answers(right));
    assert_eq!((r.score, r.max), (6, 6), "{:#?}", r.questions);
    let wrong = json!({
        "last-win": "1", "second-dup": "1", "any-retransmission": 1, "last-retransmission": retrans[0].parse::<u64>().unwrap(),
        "window-fulls": 0, "syn-to-synack": gap + 0.5,
    });
    let r = wirelab::lab::check_showing(&lab, &s, &answers(wrong), wirelab::lab::Show::Teacher);
    assert_eq!(r.score, 0, "{:#?}", r.questions);
    assert!(r.questions.iter().all(|q| !q.frames.is_empty() && !q.feedback.is_empty()), "{:#?}", r.questions);
}

/// One unrelated TCP connection (an HTTP exchange on another port, opened
/// and closed) and one unrelated UDP exchange, as Ethernet frames between
/// 127.0.0.1 and itself: what a student's loopback holds besides the lab.
fn unrelated_frames() -> Vec<Vec<u8>> {
    use etherparse::PacketBuilder;
    let (cp, sp) = (51000u16, 8080u16);
    let (mut c, mut s) = (1000u32, 7000u32);
    let req: &[u8] = b"GET /status HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
    let resp: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let seg = |from_client: bool, seq: u32, ack: Option<u32>, syn: bool, fin: bool, data: &[u8]| {
        let (a, b) = if from_client { (cp, sp) } else { (sp, cp) };
        let mut t =
            PacketBuilder::ethernet2([0; 6], [0; 6]).ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64).tcp(a, b, seq, 65483);
        if syn {
            t = t.syn();
        }
        if fin {
            t = t.fin();
        }
        if let Some(n) = ack {
            t = t.ack(n);
        }
        let mut out = Vec::new();
        t.write(&mut out, data).unwrap();
        out
    };
    let mut v = vec![seg(true, c, None, true, false, b"")];
    v.push(seg(false, s, Some(c + 1), true, false, b""));
    (c, s) = (c + 1, s + 1);
    v.push(seg(true, c, Some(s), false, false, b""));
    v.push(seg(true, c, Some(s), false, false, req));
    c += req.len() as u32;
    v.push(seg(false, s, Some(c), false, false, resp));
    s += resp.len() as u32;
    v.push(seg(true, c, Some(s), false, true, b""));
    v.push(seg(false, s, Some(c + 1), false, true, b""));
    v.push(seg(true, c + 1, Some(s + 1), false, false, b""));
    for (a, b, data) in
        [(40000u16, 53u16, &b"\x12\x34\x01\x00\x00\x01"[..]), (53, 40000, &b"\x12\x34\x81\x80\x00\x01"[..])]
    {
        let mut out = Vec::new();
        PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .udp(a, b)
            .write(&mut out, data)
            .unwrap();
        v.push(out);
    }
    v
}

/// The capture with the unrelated frames put before its first frame (and
/// its TLS secrets kept, in pcapng, when it has any).
fn with_unrelated_traffic_first(capture: &Path, out: &Path) -> u64 {
    let cap = wirelab::file::Capture::open(capture).unwrap();
    let frames: Vec<_> = cap.frames().map(|f| f.unwrap()).collect();
    let first = &frames[0].meta;
    assert_eq!(first.linktype, 1, "{}: Ethernet expected", capture.display());
    let extra = unrelated_frames();
    let mut all: Vec<wirelab::file::FrameOut<'_>> = Vec::new();
    for (i, f) in extra.iter().enumerate() {
        // A millisecond apart, ending a second before the lab's first frame.
        let t = first.ts_sec * 1_000_000_000 + i64::from(first.ts_nsec) - 1_000_000_000 + i as i64 * 1_000_000;
        all.push((t.div_euclid(1_000_000_000), t.rem_euclid(1_000_000_000) as u32, f.len() as u32, f));
    }
    for f in &frames {
        all.push((f.meta.ts_sec, f.meta.ts_nsec, f.meta.len, &f.data));
    }
    let file = std::fs::File::create(out).unwrap();
    wirelab::file::write_capture(file, 1, 262_144, cap.tls_keys.as_deref(), &all, &Default::default()).unwrap();
    extra.len() as u64
}

#[test]
fn answers_hold_with_unrelated_traffic_before_the_scenario() {
    // Every lab whose traffic a scenario makes: its right answers on the
    // recording, and on the same recording after one unrelated TCP
    // connection and one unrelated UDP exchange, must be the same (frame
    // numbers moved by the frames added), and so must what it cannot answer.
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(root().join("labs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") || path.ends_with("glossary.toml") {
            continue;
        }
        let lab = Lab::load(path.to_str().unwrap()).unwrap();
        if lab.traffic.scenario.is_none() {
            continue;
        }
        let reference = lab.reference_path();
        let padded = dir.path().join(format!("{}.pcap", lab.id));
        let k = with_unrelated_traffic_first(&reference, &padded);
        let (key, cannot) = wirelab::lab::answer_key(&lab, &Session::open(&reference).unwrap());
        let (got, got_cannot) = wirelab::lab::answer_key(&lab, &Session::open(&padded).unwrap());
        assert_eq!(got_cannot, cannot, "{}: what it cannot answer changed", lab.id);
        assert!(cannot.is_empty(), "{}: its reference cannot answer {cannot:?}", lab.id);
        for q in lab.questions() {
            let Some(want) = key.get(&q.id) else { continue };
            let want = match &q.kind {
                wirelab::lab::Kind::PickPacket { .. } => json!(want.as_u64().unwrap() + k),
                _ => want.clone(),
            };
            assert_eq!(got.get(&q.id), Some(&want), "{} / {}: the answer changed", lab.id, q.id);
            checked += 1;
        }
        // And a student who answers from the padded capture scores full marks.
        let r = check(&lab, &Session::open(&padded).unwrap(), &got);
        assert_eq!(r.score, r.max, "{}: {:?}", lab.id, r.questions);
    }
    assert!(checked > 80, "only {checked} answers compared");
}

/// An answer that must be wrong where `a` is right: another number, another
/// text, another frame, the order reversed.
fn wrong(a: &Json) -> Json {
    match a {
        Json::Number(n) => json!(n.as_f64().unwrap() + 100_000.0),
        Json::String(s) => json!(format!("not {s}")),
        Json::Array(items) => Json::Array(items.iter().rev().cloned().collect()),
        other => panic!("unexpected answer {other}"),
    }
}

#[test]
fn labs_agree_with_tshark_on_captures_made_by_other_programs() {
    // captures/third-party/: traffic from the official socket.io (Node and
    // Chromium), python-socketio, Node ws, Chromium, Python websockets, plain
    // sockets and curl, each with one unrelated connection first; the right
    // answers were worked out with tshark from each question's text
    // (scripts/third-party/answers-*.py), not with the labs' queries.
    let (mut agree, mut total, mut cannot_total, mut captures) = (0, 0, 0, 0);
    let mut disagree = Vec::new();
    let dir = root().join("captures/third-party");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".answers.json"))
        .collect();
    files.sort();
    for f in &files {
        let doc: Json = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        let capture = match doc["capture"].as_str() {
            Some(rel) => root().join(rel),
            None => std::path::PathBuf::from(f.to_string_lossy().replace(".answers.json", ".pcap")),
        };
        let s = Session::open(&capture).unwrap();
        captures += 1;
        for (lab_id, want) in doc["labs"].as_object().unwrap() {
            let lab = Lab::load(lab_id).unwrap();
            // Choices are in the lab file; the capture decides the others.
            let derived = |id: &str| {
                lab.questions().find(|q| q.id == id).is_some_and(|q| {
                    matches!(
                        q.kind,
                        wirelab::lab::Kind::Value { .. }
                            | wirelab::lab::Kind::PickPacket { .. }
                            | wirelab::lab::Kind::Order { .. }
                    )
                })
            };
            let right: Answers = want["answers"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(id, _)| derived(id))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let cannot: Vec<&String> = want["cannot"].as_object().unwrap().keys().filter(|id| derived(id)).collect();
            let r = check(&lab, &s, &right);
            let status = |id: &str| r.questions.iter().find(|q| q.id == id).unwrap();
            for (id, a) in &right {
                total += 1;
                let q = status(id);
                if q.status == Status::Correct {
                    agree += 1;
                } else {
                    disagree.push(format!(
                        "{} {lab_id}/{id}: tshark {a}, lab {:?} ({})",
                        capture.display(),
                        q.status,
                        q.feedback
                    ));
                }
            }
            for id in &cannot {
                total += 1;
                cannot_total += 1;
                let q = status(id);
                if q.status == Status::CannotAnswer {
                    agree += 1;
                } else {
                    disagree.push(format!("{} {lab_id}/{id}: tshark cannot, lab {:?}", capture.display(), q.status));
                }
            }
            // The same questions answered wrongly score nothing.
            let bad: Answers = right.iter().map(|(k, v)| (k.clone(), wrong(v))).collect();
            let r = check(&lab, &s, &bad);
            for q in r.questions.iter().filter(|q| bad.contains_key(&q.id)) {
                assert_eq!(
                    q.status,
                    Status::Incorrect,
                    "{} {lab_id}/{}: a wrong answer passed",
                    capture.display(),
                    q.id
                );
            }
        }
    }
    eprintln!("{captures} captures, {total} questions, {agree} agree, {cannot_total} cannot be answered");
    assert!(disagree.is_empty(), "{} of {total} disagree with tshark:\n{}", disagree.len(), disagree.join("\n"));
    assert!(captures >= 10 && total >= 150, "{captures} captures, {total} questions: the comparison lost its reach");
}

fn query(text: &str) -> Result<wirelab::lab::Query, String> {
    #[derive(serde::Deserialize)]
    struct Q {
        answer: wirelab::lab::Query,
    }
    toml::from_str::<Q>(&format!("answer = {text}")).map(|q| q.answer).map_err(|e| e.to_string())
}

#[test]
fn messages_are_counted_and_picked_one_by_one_wherever_they_travel() {
    // Frame 16 of the polling recording is one HTTP response carrying three
    // Engine.IO packets: the CONNECT answer, a "chat message" EVENT and a ping.
    let s = Session::open(&root().join("captures/scenario-chat-polling-upgrade.pcap")).unwrap();
    let mut d = wirelab::model::Dissection::default();
    let bytes = s.number(16, &mut d).unwrap();
    let views = d.message_views();
    assert_eq!(views.len(), 3, "one view per Engine.IO packet, the separators kept with them");
    let types: Vec<Vec<String>> =
        views.iter().map(|v| v.find_all(bytes, "socketio.type").map(|f| f.text(99)).collect()).collect();
    assert_eq!(types.len(), 3);
    assert!(types[0][0].starts_with('0') && types[1][0].starts_with('2') && types[2].is_empty(), "{types:?}");
    for v in &views {
        // Each view keeps the layers below the messages.
        assert!(v.find(bytes, "http.response").is_some() && v.find(bytes, "tcp.stream").is_some());
    }
    let count = |q: &str| match query(q).unwrap().run(&s).unwrap() {
        wirelab::lab::query::Found::Number { value, .. } => value,
        other => panic!("{other:?}"),
    };
    // Per frame, the response matches "a CONNECT and an EVENT" at once; per
    // message, no single packet is both.
    assert!(count(r#"{ count = "frame.number == 16 && socketio.type == 0 && socketio.type == 2" }"#) == 1.0);
    assert!(
        count(r#"{ count = "frame.number == 16 && socketio.type == 0 && socketio.type == 2", each = "message" }"#)
            == 0.0
    );
    assert!(count(r#"{ count = "frame.number == 16 && engineio.type", each = "message" }"#) == 3.0);
    assert!(count(r#"{ count = "frame.number == 16 && engineio.type" }"#) == 1.0);
    // A field read from the second message is that message's own.
    let Ok(wirelab::lab::query::Found::Field { text, unit, .. }) =
        query(r#"{ field = "socketio.type", filter = "frame.number == 16 && socketio", which = 2, each = "message" }"#)
            .unwrap()
            .run(&s)
    else {
        panic!()
    };
    assert_eq!((unit, text.starts_with('2')), (Some(1), true));
}

#[test]
fn a_query_that_says_too_little_or_too_much_is_refused_with_the_reason() {
    for (text, want) in [
        (r#"{ field = "tcp.seq", filter = "tcp", frame = "first" }"#, "exactly one of"),
        (r#"{ field = "tcp.seq" }"#, "needs filter"),
        (r#"{ count = "tcp", filter = "udp" }"#, "is itself the filter"),
        (r#"{ frame = "largest", filter = "tcp" }"#, "needs by"),
        (r#"{ frame = "first", filter = "tcp", by = "tcp.len" }"#, "goes with which"),
        (r#"{ count = "tcp", same = ["tcp.stream"] }"#, "go together"),
        (r#"{ count = "tcp", as_which = "first" }"#, "needs as"),
        (r#"{ count = "tcp", same = ["tcp.stream"], as = "udp", as_which = "largest" }"#, "as_which is"),
        (r#"{ compute = "websocket-accept", filter = "http", each = "message" }"#, "compute takes a filter only"),
        (r#"{ count = "tcp", sme = ["tcp.stream"] }"#, "unknown field"),
        (r#"{ count = "tcp", each = "packet" }"#, "unknown variant"),
    ] {
        let e = query(text).unwrap_err();
        assert!(e.contains(want), "{text}: {e}");
    }
    // On a capture: an `as` that finds nothing, an `answers` that finds
    // nothing: the capture cannot answer (an error, never zero).
    let s = Session::open(&root().join("captures/scenario-tcp-vs-udp.pcap")).unwrap();
    for text in [
        r#"{ count = "tcp", same = ["tcp.stream"], as = "websocket" }"#,
        r#"{ count = "tcp", answers = "socketio.type == 2" }"#,
    ] {
        assert!(query(text).unwrap().run(&s).is_err(), "{text}");
    }
    // The answer to the client's demo request on each TCP connection: the
    // replies, paired by the correlator (the demo seq), none of the requests.
    let q = query(r#"{ count = "tcp && demo", answers = "tcp && demo.kind == 1" }"#).unwrap();
    let replies = query(r#"{ count = "tcp && demo.kind == 2" }"#).unwrap();
    assert_eq!(q.run(&s).unwrap(), replies.run(&s).unwrap());
}

#[test]
fn the_score_says_what_it_leaves_out() {
    let lab = Lab::load("missed-events").unwrap();
    let s = Session::open(&root().join("captures/third-party/sio-b-recovery.pcap")).unwrap();
    let r = check(&lab, &s, &answers(json!({})));
    let free = lab.questions().filter(|q| matches!(q.kind, wirelab::lab::Kind::FreeText)).count();
    let cannot = r.questions.iter().filter(|q| q.status == Status::CannotAnswer).count();
    assert!(free > 0 && cannot > 0);
    assert_eq!(
        r.score_line(),
        format!("0 of {} right ({free} more kept for your teacher; {cannot} this capture cannot answer)", r.max)
    );
    assert_eq!(r.max as usize + free + cannot, lab.questions().count());
}

/// A question that asks the student to pick a field is never answered by
/// its own feedback: a wrong pick is told the layer to look in, not the
/// field's name (seen in a walk-through: "look at the field ip.proto").
#[test]
fn a_wrong_field_pick_is_told_the_layer_not_the_field() {
    let lab = Lab::load("osi-layers").unwrap();
    let s = Session::open(&root().join("captures/http-over-loopback.pcap")).unwrap();
    let a = answers(json!({"ip-says-tcp": "ip.ttl"}));
    let none = Default::default();
    let r = wirelab::lab::check_showing(&lab, &s, &a, wirelab::lab::Show::Student(&none));
    let q = r.questions.iter().find(|q| q.id == "ip-says-tcp").unwrap();
    assert_eq!(q.status, Status::Incorrect);
    assert!(!q.feedback.contains("ip.proto") && q.expected.is_none(), "{}", q.feedback);
    assert!(q.feedback.contains("IPv4") && q.feedback.contains("OSI layer 3"), "{}", q.feedback);
}

/// A value question whose field another question asks the student to pick
/// does not name it either (seen in a walk-through: a wrong sid was told
/// "look at the field engineio.sid", the answer of a later question).
#[test]
fn a_wrong_value_does_not_name_the_field_another_question_asks_to_pick() {
    let lab = Lab::load("socketio-uses-http").unwrap();
    let s = Session::open(&root().join("captures/socketio-node.pcap")).unwrap();
    let a = answers(json!({"sid": "abc123"}));
    let none = Default::default();
    let r = wirelab::lab::check_showing(&lab, &s, &a, wirelab::lab::Show::Student(&none));
    let q = r.questions.iter().find(|q| q.id == "sid").unwrap();
    assert_eq!(q.status, Status::Incorrect);
    assert!(!q.feedback.contains("engineio.sid"), "{}", q.feedback);
    assert!(q.feedback.contains("Engine.IO layer (OSI layer 6)"), "{}", q.feedback);
}

/// A round trip asked in milliseconds within 5%: the ACK that acknowledges
/// the transfer's first data segment decides it (tshark's ack_rtt there),
/// 4% off is right, 6% off is not, and the same number in seconds is wrong.
#[test]
fn a_round_trip_in_milliseconds_is_judged_within_its_relative_tolerance() {
    let cap = root().join("captures/scenario-tcp-bulk.pcap");
    let first: u64 = tshark_first(&cap, "tcp.len > 0", "frame.number").parse().unwrap();
    let secs: f64 =
        tshark_first(&cap, &format!("tcp.analysis.acks_frame == {first}"), "tcp.analysis.ack_rtt").parse().unwrap();
    let ms = secs * 1000.0;
    for (given, want) in
        [(ms, Status::Correct), (ms * 1.04, Status::Correct), (ms * 1.06, Status::Incorrect), (secs, Status::Incorrect)]
    {
        let r = statuses("tcp-reliability", &cap, json!({ "first-rtt": given }));
        let got = r.iter().find(|(id, _)| id == "first-rtt").unwrap().1;
        assert_eq!(got, want, "{given} ms against tshark's {ms} ms");
    }
}
