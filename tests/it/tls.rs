//! TLS with bad input: a key log with garbage lines, keys of another
//! session, a wrong key, records the capture cut. Each gives a clear note or
//! error, never a panic, and nothing is shown as decrypted unless its AEAD
//! tag verifies.

use std::path::{Path, PathBuf};

use wirelab::file::Capture;

use crate::support::{self, Dissected};

fn tls(name: &str) -> PathBuf {
    support::root().join("captures/tls").join(name)
}

fn dissect_with(capture: &Path, keys: &Path) -> Vec<Dissected> {
    let mut cap = Capture::open(capture).unwrap();
    cap.add_key_log(keys).unwrap();
    support::dissect_capture(&cap)
}

fn notes(frames: &[Dissected], name: &str) -> usize {
    frames.iter().map(|f| f.d.notes.iter().filter(|n| n.def.name == name).count()).sum()
}

fn has(frames: &[Dissected], field: &str) -> bool {
    frames.iter().any(|f| f.d.field(field).is_some())
}

#[test]
fn garbage_lines_in_a_key_log_are_listed_and_the_good_lines_still_decrypt() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.log");
    let good = std::fs::read_to_string(tls("py-websockets-tls13.keys")).unwrap();
    std::fs::write(
        &keys,
        format!("garbage line\nCLIENT_RANDOM nothex 00\n\u{0}\u{1}binary\n{good}SERVER_TRAFFIC_SECRET_0 abcd\n"),
    )
    .unwrap();
    let log = wirelab::dissect::app::tls::keylog::KeyLog::load(&keys).unwrap();
    let lines: Vec<usize> = log.problems.iter().map(|p| p.0).collect();
    assert_eq!(lines.len(), 4, "{:?}", log.problems);
    assert_eq!(lines[..3], [1, 2, 3]);
    let frames = dissect_with(&tls("py-websockets-tls13.pcap"), &keys);
    assert!(has(&frames, "websocket.payload"), "the good lines no longer decrypt");
    // The command line says which lines it could not read, and goes on.
    let out = support::wirelab_bin()
        .args(["dissect", "--tls-keylog"])
        .arg(&keys)
        .arg(tls("py-websockets-tls13.pcap"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 1") && err.contains("keys.log"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("WebSocket"));
}

#[test]
fn a_key_log_with_no_secret_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("empty.keys");
    std::fs::write(&keys, "# nothing here\nnot a key log\n").unwrap();
    let out = support::wirelab_bin()
        .args(["dissect", "--tls-keylog"])
        .arg(&keys)
        .arg(tls("py-websockets-tls13.pcap"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("holds no TLS secrets") && err.contains("line 2"), "{err}");
    let out = support::wirelab_bin()
        .args(["dissect", "--tls-keylog", "/nonexistent/keys.log"])
        .arg(tls("py-websockets-tls13.pcap"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the key log"));
}

#[test]
fn keys_of_another_session_decrypt_nothing_and_say_so() {
    let frames = dissect_with(&tls("py-websockets-tls13.pcap"), &tls("chromium-wss.keys"));
    assert!(!has(&frames, "http.request.method") && !has(&frames, "websocket.opcode"));
    // Once per direction: the client's and the server's records.
    assert_eq!(notes(&frames, "tls.expert.no_keys"), 2);
    assert!(has(&frames, "tls.app_data"));
    // The server name and the handshake's clear part are still there.
    assert!(has(&frames, "tls.handshake.ciphersuite"));
}

#[test]
fn a_wrong_key_is_caught_by_the_tag_and_nothing_is_shown_as_decrypted() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("wrong.keys");
    // Every secret's last hex digit changed: right session, wrong keys.
    let text: String = std::fs::read_to_string(tls("py-websockets-tls13.keys"))
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with('#') || l.is_empty() {
                return format!("{l}\n");
            }
            let mut s = l.trim_end().to_string();
            let last = s.pop().unwrap();
            s.push(if last == '0' { '1' } else { '0' });
            format!("{s}\n")
        })
        .collect();
    std::fs::write(&keys, text).unwrap();
    let frames = dissect_with(&tls("py-websockets-tls13.pcap"), &keys);
    assert!(!has(&frames, "http.request.method") && !has(&frames, "websocket.opcode"));
    assert!(!frames.iter().any(|f| f.d.sources.iter().any(|s| s.name.starts_with("Decrypted TLS"))));
    // One note per direction: after a failure the direction stays encrypted.
    assert_eq!(notes(&frames, "tls.expert.decrypt_failed"), 2);
}

#[test]
fn records_cut_by_the_snap_length_or_the_end_of_the_capture_do_not_panic() {
    // Every frame cut to 100 bytes (a snap length), and the capture cut in
    // the middle of a frame.
    let src = std::fs::read(tls("py-websockets-tls13.pcap")).unwrap();
    let mut out = src[..24].to_vec();
    out[16..20].copy_from_slice(&100u32.to_le_bytes());
    let mut at = 24;
    while at + 16 <= src.len() {
        let incl = u32::from_le_bytes(src[at + 8..at + 12].try_into().unwrap()) as usize;
        let keep = incl.min(100);
        let mut h = src[at..at + 16].to_vec();
        h[8..12].copy_from_slice(&(keep as u32).to_le_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(&src[at + 16..at + 16 + keep]);
        at += 16 + incl;
    }
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &out).unwrap();
    let frames = dissect_with(&cut, &tls("py-websockets-tls13.keys"));
    assert_eq!(frames.len(), 28);
    assert!(!has(&frames, "websocket.opcode"), "cut records cannot be decrypted");
    assert!(notes(&frames, "tcp.expert.segment_cut") > 0);
    // The file cut in the middle of the Server Hello's frame.
    let half = dir.path().join("half.pcap");
    let cut_at = src.len() / 3;
    std::fs::write(&half, &src[..cut_at]).unwrap();
    let mut cap = Capture::open(&half).unwrap();
    cap.add_key_log(&tls("py-websockets-tls13.keys")).unwrap();
    let mut dis = wirelab::dissect::Dissector::for_capture(&cap);
    let mut d = wirelab::model::Dissection::default();
    let mut n = 0;
    for f in cap.frames() {
        let Ok(f) = f else { break };
        dis.dissect(f.meta, &f.data, &mut d);
        n += 1;
    }
    assert!(n > 3);
}
