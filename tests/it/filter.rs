//! Display filters: errors that say where and what, and the same frames as
//! `tshark -Y` for the same filter on every capture.

use std::collections::BTreeSet;

use wirelab::filter::Filter;

use crate::support;

#[test]
fn errors_point_at_the_problem() {
    let e = Filter::parse("tcp.prot == 80").unwrap_err();
    assert_eq!(e.at, 0);
    assert!(e.message.contains("did you mean tcp.port"), "{e}");
    let e = Filter::parse("tcp.port == ").unwrap_err();
    assert!(e.message.contains("a value is missing"), "{e}");
    let e = Filter::parse("(udp || tcp").unwrap_err();
    assert!(e.message.contains("\")\" is missing"), "{e}");
    let e = Filter::parse("tcp udp").unwrap_err();
    assert_eq!(e.at, 4);
    let e = Filter::parse("http.host == \"x").unwrap_err();
    assert!(e.message.contains("no closing quote"));
    let e = Filter::parse("tcp == 1").unwrap_err();
    assert!(e.message.contains("protocol"));
    assert!(Filter::parse("").is_ok());
}

/// Frames of `path` matching `expr` in wirelab.
fn ours(path: &std::path::Path, expr: &str) -> BTreeSet<u64> {
    ours_all(path, &[expr]).remove(0)
}

/// Frames of `path` matching each of `exprs` in wirelab: one dissection.
fn ours_all(path: &std::path::Path, exprs: &[&str]) -> Vec<BTreeSet<u64>> {
    let filters: Vec<Filter> = exprs.iter().map(|e| Filter::parse(e).unwrap_or_else(|x| panic!("{e}: {x}"))).collect();
    let frames = support::dissect_file(path);
    filters
        .iter()
        .map(|f| frames.iter().filter(|x| f.matches(&x.d, &x.bytes)).map(|x| x.d.meta.number).collect())
        .collect()
}

/// Frames of `path` matching `expr` in tshark (`-Y`).
pub fn theirs(path: &std::path::Path, expr: &str) -> BTreeSet<u64> {
    theirs_all(path, &[expr]).remove(0)
}

/// Frames of `path` matching each of `exprs` in tshark, read once: each
/// filter is a tap of `tests/tshark-filters.lua`, evaluated by tshark's own
/// filter engine as `-Y` would (tshark takes half a second to start, and
/// the tests below have hundreds of filter and capture pairs).
pub fn theirs_all(path: &std::path::Path, exprs: &[&str]) -> Vec<BTreeSet<u64>> {
    let list = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(list.path(), exprs.join("\n") + "\n").unwrap();
    let script = support::root().join("tests/tshark-filters.lua");
    let out = support::tshark()
        .env("WIRELAB_FILTERS", list.path())
        .arg("-q")
        .arg("-X")
        .arg(format!("lua_script:{}", script.display()))
        .arg("-r")
        .arg(path)
        .args(["-o", "ip.defragment:FALSE"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // A filter tshark refuses is said on stderr (the tap is not made).
    assert!(out.status.success() && !err.contains("rror"), "tshark {exprs:?} on {}: {err}", path.display());
    let mut sets = vec![BTreeSet::new(); exprs.len()];
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let (k, frame) = line.split_once('\t').unwrap_or_else(|| panic!("tshark printed {line:?}"));
        let (k, frame): (usize, u64) = (k.parse().unwrap(), frame.parse().unwrap());
        sets[k - 1].insert(frame);
    }
    sets
}

#[test]
fn the_same_frames_as_tshark() {
    let filters = [
        "tcp.flags.syn == 1 && tcp.flags.ack == 0",
        "tcp.port == 8765 || udp",
        "ip.addr == 10.213.0.2",
        "!tcp",
        "eth.type == 0x0806",
        "icmp.type == 3",
        "tcp.len > 100",
        "tcp.window_size_value < 100",
        "tcp.analysis.retransmission",
        "tcp.analysis.duplicate_ack",
        "frame.len >= 1000 and not icmp",
        "ip.flags.mf == 1 or ip.frag_offset > 0",
        "ipv6 && icmpv6.type == 128",
        "arp.opcode == 2",
        "http.request.method == \"GET\"",
        "http.response.code == 101",
        "http.request.uri contains \"socket.io\"",
        "websocket.opcode == 1",
        "websocket.mask == 1 && websocket.opcode == 1",
        "websocket.opcode == 8 || websocket.opcode == 9",
        "ip.src == 127.0.0.1 && tcp.dstport == 9101",
        "ip.ttl != 64",
    ];
    // The variants of one capture (other containers and link types) add no
    // frames to filter: one of each is enough.
    let paths: Vec<_> = support::captures()
        .into_iter()
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            !n.contains("-nsec")
                && !n.contains("-be.")
                && !n.starts_with("raw-")
                && !n.starts_with("null-")
                && !n.contains("sll2")
        })
        .collect();
    let mut results: Vec<(String, bool)> = Vec::new();
    for path in &paths {
        for ((f, a), b) in filters.iter().zip(ours_all(path, &filters)).zip(theirs_all(path, &filters)) {
            let msg = if a == b {
                String::new()
            } else {
                let only_ours: Vec<_> = a.difference(&b).take(8).collect();
                let only_theirs: Vec<_> = b.difference(&a).take(8).collect();
                format!(
                    "{} `{f}`: only wirelab {only_ours:?}, only tshark {only_theirs:?}",
                    path.file_name().unwrap().to_string_lossy()
                )
            };
            results.push((msg, !a.is_empty()));
        }
    }
    let problems: Vec<&String> = results.iter().map(|(m, _)| m).filter(|m| !m.is_empty()).collect();
    let nonempty = results.iter().filter(|(_, n)| *n).count();
    assert!(problems.is_empty(), "{}", problems.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n"));
    assert!(nonempty > 40, "the filters matched too little to mean anything ({nonempty})");
}

/// Wireshark's TCP analysis, flag by flag and frame by frame, on every
/// capture — among them `tcp-random-loss-veth.pcap`, made with real random
/// loss both ways (nftables in two network namespaces).
#[test]
fn tcp_analysis_flags_agree_with_tshark_frame_by_frame() {
    let flags = [
        "retransmission",
        "fast_retransmission",
        "spurious_retransmission",
        "out_of_order",
        "duplicate_ack",
        "lost_segment",
        "ack_lost_segment",
        "window_update",
        "window_full",
        "zero_window",
        "keep_alive",
    ];
    let mut exprs: Vec<String> = flags.iter().map(|f| format!("tcp.analysis.{f}")).collect();
    // The duplicate ACK counts too.
    exprs.push("tcp.analysis.duplicate_ack_num >= 2".into());
    let exprs: Vec<&str> = exprs.iter().map(String::as_str).collect();
    let mut flagged = 0;
    for path in support::captures() {
        for ((expr, a), b) in exprs.iter().zip(ours_all(&path, &exprs)).zip(theirs_all(&path, &exprs)) {
            assert_eq!(a, b, "{}: {expr}", path.display());
            if expr.starts_with("tcp.analysis.") && !expr.contains(">=") {
                flagged += a.len();
            }
        }
    }
    assert!(flagged > 100, "only {flagged} flagged frames: is the lossy capture there?");
    let lossy = support::root().join("captures/tcp-random-loss-veth.pcap");
    for flag in
        ["retransmission", "spurious_retransmission", "out_of_order", "duplicate_ack", "window_update", "window_full"]
    {
        assert!(!ours(&lossy, &format!("tcp.analysis.{flag}")).is_empty(), "the lossy capture has no {flag}");
    }
}

/// What each ACK acknowledges and its round trip, the handshake's round
/// trip, bytes in flight and bytes since the last PSH, and the stream's own
/// clock are on exactly the frames where tshark has them, in every bundled
/// capture (loss, reordering, a zero window, TLS) and in the captures other
/// programs made; where both have them, `tshark_diff` checks the values.
#[test]
fn tcp_round_trips_and_bytes_in_flight_are_where_tshark_has_them() {
    let fields = [
        "tcp.analysis.acks_frame",
        "tcp.analysis.ack_rtt",
        "tcp.analysis.initial_rtt",
        "tcp.analysis.bytes_in_flight",
        "tcp.analysis.push_bytes_sent",
        "tcp.time_relative",
        "tcp.time_delta",
    ];
    let third_party: Vec<std::path::PathBuf> = std::fs::read_dir(support::root().join("captures/third-party"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    let mut in_flight = 0;
    for path in support::captures().iter().chain(&third_party) {
        for ((f, a), b) in fields.iter().zip(ours_all(path, &fields)).zip(theirs_all(path, &fields)) {
            assert_eq!(a, b, "{}: {f}", path.display());
            if *f == "tcp.analysis.bytes_in_flight" {
                in_flight += a.len();
            }
        }
    }
    for path in &third_party {
        let (_, problems) = crate::tshark_diff::compare(path);
        let ours: Vec<&String> = problems.iter().filter(|p| fields.iter().any(|f| p.contains(f))).collect();
        assert!(ours.is_empty(), "{ours:#?}");
    }
    assert!(in_flight > 1000, "only {in_flight} frames with bytes in flight");
}

/// Found by `scripts/fuzz.sh 300 filter`: a backslash before a character of
/// more than one byte left the parser inside that character, and slicing
/// there panicked — typing `"\é"` in the filter box crashed the window.
#[test]
fn an_escape_before_a_multibyte_character_does_not_panic() {
    let crash = b"ttio.nsp \"\0\0\0\0\0\0\0io.nsp == \\\x87t 53)";
    let _ = wirelab::filter::Filter::parse(&String::from_utf8_lossy(crash));
    let f = wirelab::filter::Filter::parse("socketio.nsp == \"\\é\"").expect("an escaped é is an é");
    let none = support::dissect_file(&support::root().join("captures/socketio-node.pcap"));
    assert!(none.iter().all(|x| !f.matches(&x.d, &x.bytes)), "no namespace is called é");
    assert!(wirelab::filter::Filter::parse("http.request.uri contains \"\\\"\"").is_ok(), "an escaped quote");
}
