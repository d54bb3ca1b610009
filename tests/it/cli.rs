//! The `wirelab` binary.

use serde_json::Value;

use crate::support::{root, wirelab_bin};

#[test]
fn dissect_without_a_file_shows_the_built_in_capture() {
    let out = wirelab_bin().arg("dissect").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("[SYN]") && text.contains("[SYN, ACK]"), "{text}");
    assert!(text.contains("Echo (ping) request"));
}

#[test]
fn no_arguments_without_a_display_explains_and_prints_the_chat_capture() {
    let out = wirelab_bin().env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no display"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Socket.IO EVENT \"chat message\""));
}

#[test]
fn json_lines_have_the_documented_shape() {
    let out = wirelab_bin()
        .args(["dissect", "--format", "json"])
        .arg(root().join("captures/http-over-loopback.pcap"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("valid JSON")).collect();
    assert_eq!(lines.len(), 16);
    let f = &lines[0];
    assert_eq!(f["frame"], 1);
    assert!(f["time"].as_f64().unwrap() > 1.6e9);
    assert_eq!((f["len"].as_u64(), f["caplen"].as_u64()), (Some(74), Some(74)));
    assert_eq!(f["linktype"], "ethernet");
    assert_eq!(f["summary"]["src"], "127.0.0.1");
    assert_eq!(f["summary"]["protocol"], "TCP");
    assert!(f["summary"]["info"].as_str().unwrap().contains("[SYN]"));
    let tcp = f["layers"].as_array().unwrap().iter().find(|l| l["protocol"] == "tcp").expect("tcp layer");
    assert_eq!((tcp["osi"].as_u64(), tcp["tcpip"].as_str()), (Some(4), Some("transport")));
    assert_eq!(
        (tcp["source"].as_str(), tcp["offset"].as_u64(), tcp["len"].as_u64()),
        (Some("frame"), Some(34), Some(40))
    );
    let fields = tcp["fields"].as_array().unwrap();
    let sport = &fields[0];
    assert_eq!(sport["name"], "tcp.srcport");
    assert_eq!(sport["label"], "Source Port");
    assert!(sport["value"].is_u64());
    assert_eq!((sport["offset"].as_u64(), sport["len"].as_u64()), (Some(34), Some(2)));
    assert!(sport["explain"].as_str().unwrap().len() > 20);
    assert!(sport["children"].as_array().unwrap().is_empty());
    // Flags are booleans, nested under tcp.flags; addresses are strings.
    let flags = fields.iter().find(|x| x["name"] == "tcp.flags").unwrap();
    let syn = flags["children"].as_array().unwrap().iter().find(|x| x["name"] == "tcp.flags.syn").unwrap();
    assert_eq!(syn["value"], Value::Bool(true));
    let ip = f["layers"].as_array().unwrap().iter().find(|l| l["protocol"] == "ip").unwrap();
    let src = ip["fields"].as_array().unwrap().iter().find(|x| x["name"] == "ip.src").unwrap();
    assert_eq!(src["value"], "127.0.0.1");
    // Byte strings are lowercase hex.
    let opts = fields.iter().find(|x| x["name"] == "tcp.options").unwrap();
    assert!(opts["value"].as_str().unwrap().chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    let notes = f["notes"].as_array().unwrap();
    assert!(notes.iter().any(|n| n["severity"] == "info" && n["layer"] == "tcp" && n["offset"].is_u64()));
}

#[test]
fn verbose_groups_fields_by_osi_layer_and_shows_empty_layers() {
    let out = wirelab_bin()
        .args(["dissect", "-V", "-c", "4"])
        .arg(root().join("captures/http-over-loopback.pcap"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for l in
        ["L1 Physical", "L2 Data link", "L3 Network", "L4 Transport", "L5 Session", "L6 Presentation", "L7 Application"]
    {
        assert!(text.contains(l), "missing {l}");
    }
    assert!(text.contains("(tcp.flags.syn)") && text.contains("[46..48: a002]"), "{text}");
}

#[test]
fn a_damaged_file_prints_complete_frames_then_the_offset_and_fails() {
    let bytes = std::fs::read(root().join("captures/http-over-loopback.pcap")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.pcap");
    std::fs::write(&p, &bytes[..bytes.len() - 30]).unwrap();
    let out = wirelab_bin().arg("dissect").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 15);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cut short at byte offset") && err.contains("15 frames before it are intact"), "{err}");
}

#[test]
fn a_missing_file_or_a_non_capture_is_a_readable_error() {
    let out = wirelab_bin().args(["dissect", "/no/such/file.pcap"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open /no/such/file.pcap"));
    let out = wirelab_bin().arg("dissect").arg(root().join("Cargo.toml")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a pcap or pcapng capture"));
}

#[test]
fn stats_reports_throughput_and_memory() {
    let out = wirelab_bin()
        .args(["dissect", "--stats"])
        .arg(root().join("captures/veth-arp-fragments.pcap"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("frames: 25") && text.contains("frames_per_second:") && text.contains("peak_rss_kib:"),
        "{text}"
    );
    assert!(text.contains("tcp_streams: 1"));
}

#[test]
fn follow_tells_the_story_of_a_websocket_connection() {
    let out = wirelab_bin().args(["follow"]).arg(root().join("captures/websocket-python.pcap")).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "client → server  handshake      GET /chat",
        "101 Switching Protocols",
        "ws-text        Hello",
        "ws-ping",
        "ws-close       Close 1000 lesson over",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let out = wirelab_bin()
        .args(["follow", "--format", "json"])
        .arg(root().join("captures/websocket-python.pcap"))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let msgs = v["messages"].as_array().unwrap();
    // The 70,000-byte message crossed several TCP segments.
    let big = msgs
        .iter()
        .find(|m| m["text"].as_str().is_some_and(|t| t.starts_with("xxxx")) && m["from"] == "client")
        .unwrap();
    assert!(big["frames"].as_array().unwrap().len() >= 2, "{big}");
    // The fragmented message names its four frames.
    let frag = msgs.iter().find(|m| m["text"] == "fragmented" && m["from"] == "client").unwrap();
    assert_eq!(frag["frames"].as_array().unwrap().len(), 4);
}

/// Summary lines and `--stats` are dissected by two threads, each owning
/// some conversations; with a filter, one dissector sees every frame. Both
/// must print the same, on every bundled capture (each link type, fragments,
/// ICMP errors) and on bigger ones that span several rounds of dealing
/// (4,096 frames, `cli/shards.rs`):
/// - all the Ethernet captures merged by time, six times over: interleaved
///   connections, many on the same ports;
/// - 20,000 frames of HTTP replayed on new ports (`gen-big-capture.py`):
///   thousands of conversations;
/// - one connection replayed over and over, 7 frames in 8, the merged
///   frames between: the busy shard leaves its lines to the writer, which
///   merges them with the text the other shard formatted;
/// - the merged one cut mid-round (a damaged file: the frames before the
///   damage, then the error, exit status 2), and read with `-c`.
#[test]
fn summary_lines_split_between_threads_read_as_one_dissector_writes_them() {
    const COPIES: i64 = 6;
    let dir = tempfile::tempdir().unwrap();
    let merged = dir.path().join("merged.pcap");
    let mut frames = Vec::new();
    for path in crate::support::captures() {
        let cap = wirelab::file::Capture::open(&path).unwrap();
        let all: Vec<_> = cap.frames().map_while(Result::ok).collect();
        if all.first().is_none_or(|f| f.meta.linktype != 1) {
            continue;
        }
        // Every capture starts at the same instant, and again every 1.5 ms,
        // so their frames interleave.
        let t0 = (all[0].meta.ts_sec, all[0].meta.ts_nsec);
        for f in all {
            let ns = (f.meta.ts_sec - t0.0) * 1_000_000_000 + i64::from(f.meta.ts_nsec) - i64::from(t0.1);
            for copy in 0..COPIES {
                frames.push((ns + copy * 1_500_000, f.meta.len, f.data.to_vec()));
            }
        }
    }
    frames.sort_by_key(|f| f.0);
    assert!(frames.len() > 3 * 4096, "only {} frames", frames.len());
    let write = |path: &std::path::Path, frames: &[(i64, u32, Vec<u8>)]| {
        let mut w = wirelab::file::PcapFileWriter::new(std::fs::File::create(path).unwrap(), 1, 262_144).unwrap();
        for (ns, len, data) in frames {
            let t = 1_700_000_000_000_000_000 + ns;
            w.write(t / 1_000_000_000, (t % 1_000_000_000) as u32, *len, data).unwrap();
        }
    };
    write(&merged, &frames);
    let busy = dir.path().join("one-connection.pcap");
    let one = wirelab::file::Capture::open(&crate::support::root().join("captures/slow-reader.pcap")).unwrap();
    let conn: Vec<_> = one.frames().map_while(Result::ok).map(|f| (f.meta.len, f.data.to_vec())).collect();
    let mixed: Vec<_> = (0..14_000usize)
        .map(|i| {
            let (len, data) = if i % 8 == 7 {
                let f = &frames[i % frames.len()];
                (f.1, f.2.clone())
            } else {
                conn[i % conn.len()].clone()
            };
            (i as i64 * 1_000, len, data)
        })
        .collect();
    write(&busy, &mixed);
    let bytes = std::fs::read(&merged).unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let replayed = dir.path().join("replayed.pcap");
    crate::support::replayed_capture(20_000, &replayed, "http-over-loopback.pcap");

    let mut files: Vec<_> = crate::support::captures().into_iter().map(|f| (f, vec![])).collect();
    files.push((merged.clone(), vec![]));
    files.push((merged, vec!["-c", "5000"]));
    files.push((replayed, vec![]));
    files.push((busy, vec![]));
    files.push((cut.clone(), vec![]));
    for (f, extra) in files {
        let run = |args: &[&str]| wirelab_bin().arg("dissect").args(&extra).args(args).arg(&f).output().unwrap();
        let (split, one) = (run(&[]), run(&["-Y", "frame"]));
        assert!(!split.stdout.is_empty(), "{}", f.display());
        assert!(split.stdout == one.stdout, "{} {extra:?}: the summary lines differ", f.display());
        assert_eq!((split.status.code(), &split.stderr), (one.status.code(), &one.stderr), "{}", f.display());
        if f == cut {
            assert_eq!(split.status.code(), Some(2));
            assert!(String::from_utf8_lossy(&split.stderr).contains("cut short"));
        }
        let streams = |o: std::process::Output| -> Vec<String> {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            text.lines().filter(|l| l.contains("_streams:") || l.starts_with("frames:")).map(String::from).collect()
        };
        let (split, one) = (streams(run(&["--stats"])), streams(run(&["--stats", "-Y", "frame"])));
        assert_eq!(split.len(), 3, "{}", f.display());
        assert_eq!(split, one, "{}", f.display());
    }
}

/// A reader that goes away (`| head`) ends `dissect` quietly, whichever
/// thread is waiting on which: exit status 0, no error.
#[test]
fn dissect_ends_quietly_when_its_reader_goes_away() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.pcap");
    crate::support::replayed_capture(200_000, &big, "http-over-loopback.pcap");
    for args in [&[][..], &["-V"][..], &["-Y", "tcp"][..]] {
        let mut child = wirelab_bin()
            .arg("dissect")
            .args(args)
            .arg(&big)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        assert!(!first.is_empty(), "{args:?}");
        // The pipe is closed here; the process must end (a hang fails the
        // generous wait below).
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let out = child.wait_with_output();
            let _ = tx.send(out);
        });
        let out = rx
            .recv_timeout(std::time::Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("{args:?}: still running 120 s after its reader went away"))
            .unwrap();
        let (status, err) = (out.status, String::from_utf8_lossy(&out.stderr).into_owned());
        assert_eq!(status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}
