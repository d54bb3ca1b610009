//! `wirelab compare`: the same messages over TCP and UDP through real loss in
//! the kernel (nftables), recorded; the report is checked against the
//! recording as tshark reads it.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use crate::support::{may_capture, tshark, wirelab_bin};

#[test]
fn with_ten_percent_loss_tcp_delivers_everything_in_order_and_udp_loses() {
    if !may_capture("compare") {
        return;
    }
    let _one = crate::support::ROOT_LOSS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("compare.pcap");
    let out = wirelab_bin()
        .args(["compare", "--count", "100", "--loss", "0.1", "--seed", "5", "--format", "json", "-w"])
        .arg(&pcap)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let j: Json = serde_json::from_slice(&out.stdout).unwrap();
    let (tcp, udp, inj) = (&j["tcp"], &j["udp"], &j["injected"]);
    assert_eq!(inj["kernel_loss"], true, "{j:#}");
    assert!(inj["tcp_dropped"].as_u64().unwrap() > 0 && inj["udp_dropped"].as_u64().unwrap() > 0, "{inj}");
    // TCP: everything, in order, by retransmitting.
    assert_eq!(
        (tcp["sent"].as_u64(), tcp["delivered"].as_u64(), tcp["lost"].as_u64()),
        (Some(100), Some(100), Some(0))
    );
    assert_eq!(tcp["reordered"], 0);
    let tshark_retrans = {
        let o = tshark().arg("-r").arg(&pcap).args(["-Y", "tcp.analysis.retransmission"]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).lines().count() as u64
    };
    assert_eq!(tcp["retransmissions"].as_u64(), Some(tshark_retrans));
    // UDP: what did not arrive is lost, and nothing resends it.
    let delivered = udp["delivered"].as_u64().unwrap();
    assert_eq!(delivered + udp["lost"].as_u64().unwrap(), 100);
    assert!(udp["lost"].as_u64().unwrap() > 0);
    // The replies the recording holds are the ones the client got (UDP drops before the wire).
    // udp.payload, not data.data: tshark may take a random port for another
    // protocol's and dissect the datagram as that.
    let o = tshark().arg("-r").arg(&pcap).args(["-Y", "udp", "-T", "fields", "-e", "udp.payload"]).output().unwrap();
    let replies: BTreeSet<u32> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|h| h.len() >= 16 && &h[6..8] == "02")
        .map(|h| u32::from_str_radix(&h[8..16], 16).unwrap())
        .collect();
    assert_eq!(replies.len() as u64, delivered);
    // The firewall's drops, worked out from its packet counter and the seed,
    // are exactly as many as it counted.
    let dropped: BTreeSet<u64> = tcp["dropped_frames"].as_array().unwrap().iter().filter_map(Json::as_u64).collect();
    assert_eq!(dropped.len() as u64, inj["tcp_dropped"].as_u64().unwrap(), "{}", tcp["dropped_frames"]);
    // Each segment sent again repeats an earlier frame that went the same
    // way and whose sequence space holds its first byte (as tshark reads
    // them: a repeated FIN, or a repeat that starts inside an earlier
    // segment, count too), and has an
    // injected drop behind it; every retransmission tshark flags is one.
    let o = tshark()
        .arg("-r")
        .arg(&pcap)
        .args(["-Y", "tcp", "-T", "fields", "-e", "frame.number", "-e", "tcp.srcport", "-e", "tcp.seq_raw"])
        .args(["-e", "tcp.len", "-e", "tcp.flags.syn", "-e", "tcp.flags.fin"])
        .output()
        .unwrap();
    // frame -> (source port, first sequence number, sequence space taken).
    let seg: std::collections::HashMap<u64, (String, u64, u64)> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let flag = |v: &str| u64::from(v == "1" || v == "True");
            let space = c.get(3)?.parse::<u64>().ok()? + flag(c.get(4)?) + flag(c.get(5)?);
            Some((c[0].parse().ok()?, (c[1].to_string(), c.get(2)?.parse().ok()?, space)))
        })
        .collect();
    let links = tcp["retransmitted"].as_array().unwrap();
    let again: BTreeSet<u64> = links.iter().filter_map(|x| x["frame"].as_u64()).collect();
    let o = tshark()
        .arg("-r")
        .arg(&pcap)
        .args([
            "-Y",
            "tcp.analysis.retransmission || tcp.analysis.out_of_order || tcp.analysis.spurious_retransmission",
        ])
        .args(["-T", "fields", "-e", "frame.number"])
        .output()
        .unwrap();
    let flagged: BTreeSet<u64> = String::from_utf8_lossy(&o.stdout).lines().filter_map(|l| l.parse().ok()).collect();
    // Whether an earlier segment the same way held this one's first byte, as tshark reads them.
    let repeats_earlier = |f: u64| {
        let (port_f, seq_f, _) = &seg[&f];
        seg.iter().any(|(r, (port_r, seq_r, space_r))| {
            *r < f && port_r == port_f && (seq_f.wrapping_sub(*seq_r) & 0xffff_ffff) < *space_r
        })
    };
    // On loopback, where the drops are the only disorder, tshark's repeats
    // (whatever it calls them: which are "retransmissions" depends on timing)
    // are exactly ours. A segment tshark calls out-of-order that repeats no
    // earlier byte is new data the sender put on the wire after later data
    // (Linux does, flushing its queue after a loss): not sent again, so not ours.
    let out_of_order = {
        let o = tshark()
            .arg("-r")
            .arg(&pcap)
            .args([
                "-Y",
                "tcp.analysis.out_of_order && !tcp.analysis.retransmission",
                "-T",
                "fields",
                "-e",
                "frame.number",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).lines().filter_map(|l| l.parse().ok()).collect::<BTreeSet<u64>>()
    };
    let (repeated, fresh): (BTreeSet<u64>, BTreeSet<u64>) = flagged.iter().partition(|f| repeats_earlier(**f));
    assert!(fresh.is_subset(&out_of_order), "only out-of-order segments may repeat nothing: {fresh:?}");
    assert!(!again.is_empty(), "the recording shows TCP sending segments again");
    assert_eq!(repeated, again, "tshark's retransmitted or out-of-order segments, and ours");
    for x in links {
        let (f, r, c) = (x["frame"].as_u64().unwrap(), x["repeats"].as_u64(), x["cause"].as_u64());
        let r = r.unwrap_or_else(|| panic!("frame {f} repeats nothing: {x}"));
        let ((port_f, seq_f, _), (port_r, seq_r, space_r)) = (&seg[&f], &seg[&r]);
        let inside = (seq_f.wrapping_sub(*seq_r) & 0xffff_ffff) < *space_r;
        assert!(r < f && port_f == port_r && inside, "frame {f} {:?} repeats frame {r} {:?}", seg[&f], seg[&r]);
        let c = c.unwrap_or_else(|| panic!("no drop behind frame {f}"));
        assert!(c < f && dropped.contains(&c), "{x}");
    }
    // One entry per message, with its frames; every TCP message delivered.
    let msgs = tcp["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 100);
    assert!(msgs.iter().all(|m| m["delivered"].is_number() && !m["frames"].as_array().unwrap().is_empty()));
    // The rules are gone.
    let tables = std::process::Command::new("nft").args(["list", "tables"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&tables.stdout).contains("wirelab_loss"));
}

#[test]
fn the_helpers_loss_rules_are_gone_after_it_is_killed_with_sigkill() {
    if !may_capture("the loss rules after SIGKILL") {
        return;
    }
    use std::io::BufRead as _;
    let _one = crate::support::ROOT_LOSS.lock().unwrap_or_else(|e| e.into_inner());
    // The helper adds loss only to ports a socket of the caller holds.
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let (tp, up) = (tcp.local_addr().unwrap().port().to_string(), udp.local_addr().unwrap().port().to_string());
    let mut helper = std::process::Command::new(env!("CARGO_BIN_EXE_wirelab-capture"))
        .args(["loss", "--tcp-port", &tp, "--udp-port", &up, "--probability", "0.5", "--seed", "1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufReader::new(helper.stdout.take().unwrap()).read_line(&mut ready).unwrap();
    let table = ready.trim().strip_prefix("ready table inet ").expect("the helper says which table").to_string();
    let tables = || {
        let o = std::process::Command::new("nft").args(["list", "tables"]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert!(tables().contains(&table), "{}", tables());
    // Its rules drop only the two ports, on loopback.
    let o = std::process::Command::new("nft").args(["list", "table", "inet", &table]).output().unwrap();
    let rules = String::from_utf8_lossy(&o.stdout);
    assert!(
        rules.contains("flags owner")
            && rules.contains(&format!("tcp dport {tp}"))
            && rules.contains(&format!("udp sport {up}"))
    );
    helper.kill().unwrap(); // SIGKILL: no handler runs
    helper.wait().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while tables().contains(&table) {
        assert!(std::time::Instant::now() < deadline, "the table outlived its helper: {}", tables());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn bad_probabilities_are_refused_with_the_reason() {
    let out = wirelab_bin().args(["compare", "--loss", "10"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--loss is a probability between 0 and 1"));
    // The loss in the kernel goes up to 50%, as the window's slider does.
    let out = wirelab_bin().args(["compare", "--loss", "0.7"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--loss is at most 0.5"));
}
