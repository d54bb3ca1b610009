//! The graphs of a TCP connection: every point is where tshark has it, on
//! captures with loss, SACK and a zero window made through real kernels.

use std::collections::BTreeMap;

use wirelab::session::Session;

use crate::support;

/// tshark's columns for frames matching `filter`: frame number to the fields' text.
fn rows(path: &std::path::Path, filter: &str, fields: &[&str]) -> BTreeMap<u64, Vec<String>> {
    let mut c = support::tshark();
    c.arg("-r").arg(path).args(["-Y", filter, "-T", "fields", "-E", "occurrence=f", "-e", "frame.number"]);
    for f in fields {
        c.args(["-e", f]);
    }
    let out = c.output().unwrap();
    assert!(out.status.success(), "tshark: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let mut cols = l.split('\t').map(str::to_string);
            (cols.next().unwrap().parse().unwrap(), cols.collect())
        })
        .collect()
}

/// The busiest direction of the capture: the stream and ports that carried the most data.
fn busiest(s: &Session) -> (u32, (u16, u16)) {
    let mut bytes: BTreeMap<(u32, (u16, u16)), u64> = BTreeMap::new();
    s.scan(|d, _| {
        let n = |f: &str| d.field(f).and_then(|x| x.value.as_u64()).unwrap_or(0);
        if d.field("tcp.stream").is_some() {
            *bytes.entry((n("tcp.stream") as u32, (n("tcp.srcport") as u16, n("tcp.dstport") as u16))).or_default() +=
                n("tcp.len");
        }
    });
    bytes.into_iter().max_by_key(|(_, b)| *b).unwrap().0
}

#[test]
fn segments_acks_round_trips_and_windows_are_tsharks_on_lossy_and_slow_captures() {
    for name in [
        "tcp-random-loss-veth.pcap",
        "tcp-loss-veth.pcap",
        "slow-reader.pcap",
        "scenario-tcp-bulk.pcap",
        "third-party/bulk-python-sockets.pcap",
    ] {
        let path = support::root().join("captures").join(name);
        let s = Session::open(&path).unwrap();
        let (stream, (a, b)) = busiest(&s);
        let g = wirelab::tcpgraph::build(&s, stream, (a, b));
        let sent = rows(
            &path,
            &format!("tcp.stream == {stream} && tcp.srcport == {a} && tcp.dstport == {b}"),
            &["tcp.seq", "tcp.len", "tcp.analysis.bytes_in_flight"],
        );
        assert_eq!(g.segments.len(), sent.len(), "{name}");
        for seg in &g.segments {
            let r = &sent[&seg.frame];
            assert_eq!(seg.seq.to_string(), r[0], "{name} frame {}", seg.frame);
            assert_eq!(seg.len.to_string(), r[1], "{name} frame {}", seg.frame);
            assert_eq!(seg.in_flight.map(|x| x.to_string()).unwrap_or_default(), r[2], "{name} frame {}", seg.frame);
        }
        let resent = rows(
            &path,
            &format!(
                "tcp.stream == {stream} && tcp.srcport == {a} && (tcp.analysis.retransmission || \
                 tcp.analysis.fast_retransmission || tcp.analysis.spurious_retransmission)"
            ),
            &[],
        );
        let ours: Vec<u64> = g.segments.iter().filter(|s| s.retransmitted).map(|s| s.frame).collect();
        assert_eq!(ours, resent.keys().copied().collect::<Vec<_>>(), "{name}");
        let acks = rows(
            &path,
            &format!("tcp.stream == {stream} && tcp.srcport == {b} && tcp.flags.ack == 1"),
            &["tcp.ack", "tcp.window_size", "tcp.analysis.acks_frame", "tcp.options.sack_le"],
        );
        assert_eq!(g.acks.len(), acks.len(), "{name}");
        for ack in &g.acks {
            let r = &acks[&ack.frame];
            assert_eq!(ack.ack.to_string(), r[0], "{name} frame {}", ack.frame);
            assert_eq!(ack.window.to_string(), r[1], "{name} frame {}", ack.frame);
            assert_eq!(ack.acks_frame.map(|x| x.to_string()).unwrap_or_default(), r[2], "{name} frame {}", ack.frame);
            assert_eq!(ack.sacks.first().map(|x| x.0.to_string()).unwrap_or_default(), r[3], "{name} {}", ack.frame);
        }
        // The summaries the lab and the panel show.
        let max = sent.values().filter_map(|r| r[2].parse::<u64>().ok()).max();
        assert_eq!(g.max_in_flight(), max, "{name}");
        assert!(g.rtts().count() > 0, "{name}: no round trips");
        let total: u64 = g.segments.iter().map(|s| s.len).sum();
        let tp = g.throughput(40);
        let w = tp[1].0 - tp[0].0;
        let summed: f64 = tp.iter().map(|(_, r)| r * w).sum();
        assert!((summed - total as f64).abs() < 1.0, "{name}: throughput sums to {summed}, sent {total}");
        // A replay's past.
        let mid = g.segments[g.segments.len() / 2].frame;
        let past = g.until(mid);
        assert!(past.segments.iter().all(|s| s.frame <= mid));
        assert!(past.acks.iter().all(|a| a.frame <= mid) && past.segments.len() < g.segments.len());
    }
    // The receiver that drops every fourth segment says what it holds beyond the gap.
    let s = Session::open(&support::root().join("captures/tcp-loss-veth.pcap")).unwrap();
    let (stream, ports) = busiest(&s);
    let g = wirelab::tcpgraph::build(&s, stream, ports);
    assert!(g.acks.iter().any(|a| a.sacks.iter().any(|(le, re)| le > &a.ack && re > le)));
}

/// `wirelab scenario tcp-bulk`, recorded: through the bottleneck and the loss
/// it builds (as root), the packets show what the lab tcp-reliability asks
/// about, tshark flags it the same way, and the lab answers every question.
#[test]
fn the_bulk_scenario_shows_slow_start_losses_and_a_zero_window_and_the_lab_answers_on_it() {
    if !support::may_capture("tcp-bulk recording") {
        return;
    }
    // The scenario's loss is the capture helper's table, one per user.
    let _one = support::ROOT_LOSS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bulk.pcap");
    let out = support::wirelab_bin().args(["scenario", "tcp-bulk", "-w"]).arg(&file).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("a bottleneck on loopback") && text.contains("dropped at random"), "{text}");
    assert!(text.contains("said \"received 1000000 bytes\""), "{text}");
    // The kernel's state is as it was: no queue on loopback, no loss table.
    let qdisc = std::process::Command::new("tc").args(["qdisc", "show", "dev", "lo", "root"]).output().unwrap();
    assert!(String::from_utf8_lossy(&qdisc.stdout).contains("noqueue"), "{}", String::from_utf8_lossy(&qdisc.stdout));
    let s = Session::open(&file).unwrap();
    for flag in ["zero_window", "window_update", "duplicate_ack", "retransmission"] {
        let f = format!("tcp.analysis.{flag}");
        let n = rows(&file, &f, &[]).len();
        assert!(n > 0, "tshark flags no {f} in the recording");
        let mut ours = 0;
        s.scan(|d, b| ours += usize::from(wirelab::filter::Filter::parse(&f).unwrap().matches(d, b)));
        assert_eq!(ours, n, "{f}");
    }
    // Segments as on Ethernet, many in flight at once.
    let data = rows(&file, "tcp.len > 0", &["tcp.len"]);
    assert!(data.values().all(|r| r[0].parse::<u64>().unwrap() <= 1448), "a segment larger than 1448 bytes");
    let (stream, ports) = busiest(&s);
    let g = wirelab::tcpgraph::build(&s, stream, ports);
    assert!(g.max_in_flight().unwrap() > 20 * 1448, "{:?}", g.max_in_flight());
    let lab = wirelab::lab::Lab::load("tcp-reliability").unwrap();
    let (key, cannot) = wirelab::lab::answer_key(&lab, &s);
    assert!(cannot.is_empty(), "the lab cannot answer {cannot:?} on the scenario's recording");
    let r = wirelab::lab::check(&lab, &s, &key);
    assert!(r.questions.iter().all(|q| q.status == wirelab::lab::Status::Correct), "{:#?}", r.questions);
}
