//! Live capture with wirelab's own engine (libpcap), interfaces, and packets
//! built by hand. These need root; see `support::may_capture`.

use std::io::{BufRead as _, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wirelab::capture::{CaptureConfig, CaptureEvent, CaptureHandle, CaptureStats, StopReason};
use wirelab::craft::{self, Kind, Spec};
use wirelab::model::Value;

use crate::support::{self, wirelab_bin};

/// Collects every frame of a capture until it finishes.
fn collect(h: &CaptureHandle) -> (Vec<(wirelab::model::FrameMeta, Vec<u8>)>, CaptureStats, StopReason) {
    let mut frames = Vec::new();
    loop {
        match h.events().recv_timeout(Duration::from_secs(20)).expect("the capture finishes") {
            CaptureEvent::Batch(b) => frames.extend(b.iter().map(|(m, d)| (m, d.to_vec()))),
            CaptureEvent::Finished { stats, reason } => return (frames, stats, reason),
            CaptureEvent::Failed(e) => panic!("capture failed: {e}"),
            CaptureEvent::Stats(_) => {}
        }
    }
}

fn start(filter: String, dir: &tempfile::TempDir) -> CaptureHandle {
    let h = CaptureHandle::start(CaptureConfig {
        filter: Some(filter),
        output: Some(dir.path().join("cap.pcap")),
        ..CaptureConfig::default()
    })
    .expect("capture starts");
    // Open and filtered: the kernel queues every packet from here on.
    h
}

/// Collects frames until there are `n` (or 20 s pass), then stops the
/// capture and collects the rest: waits for the packets, not for a time.
fn collect_at_least(h: &CaptureHandle, n: usize) -> Vec<(wirelab::model::FrameMeta, Vec<u8>)> {
    let mut frames = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while frames.len() < n && Instant::now() < deadline {
        match h.events().recv_timeout(Duration::from_millis(100)) {
            Ok(CaptureEvent::Batch(b)) => frames.extend(b.iter().map(|(m, d)| (m, d.to_vec()))),
            Ok(CaptureEvent::Failed(e)) => panic!("capture failed: {e}"),
            _ => {}
        }
    }
    h.stop();
    frames.extend(collect(h).0);
    frames
}

fn dissect_all(frames: &[(wirelab::model::FrameMeta, Vec<u8>)]) -> Vec<wirelab::model::Dissection> {
    let mut dis = wirelab::dissect::Dissector::new();
    frames
        .iter()
        .map(|(m, b)| {
            let mut d = wirelab::model::Dissection::default();
            dis.dissect(*m, b, &mut d);
            d
        })
        .collect()
}

#[test]
fn captured_tcp_and_udp_are_what_was_sent_and_the_file_matches_in_wirelab_and_tshark() {
    if !support::may_capture("engine capture") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let uport = rx.local_addr().unwrap().port();
    let h = start(format!("tcp port {port} or udp port {uport}"), &dir);

    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).unwrap();
        s.write_all(&buf).unwrap();
    });
    let sent: Vec<u8> = (0..20u8).flat_map(|i| format!("line {i}\n").into_bytes()).collect();
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(&sent).unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut back = Vec::new();
    c.read_to_end(&mut back).unwrap();
    server.join().unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let datagrams: Vec<Vec<u8>> = (0..50u32).map(|i| format!("datagram {i}").into_bytes()).collect();
    for d in &datagrams {
        tx.send_to(d, ("127.0.0.1", uport)).unwrap();
    }
    // Everything sent is queued in the kernel; stop takes it all.
    h.stop();
    let (frames, stats, reason) = collect(&h);
    assert_eq!(reason, StopReason::Asked);
    assert_eq!(stats.captured as usize, frames.len());
    assert_eq!(stats.kernel_dropped + stats.wirelab_dropped + stats.not_delivered, 0);
    let ds = dissect_all(&frames);

    // UDP: every datagram, in order, byte for byte.
    let got: Vec<Vec<u8>> = frames
        .iter()
        .zip(&ds)
        .filter(|(_, d)| d.field("udp.dstport").and_then(|f| f.value.as_u64()) == Some(uport.into()))
        .map(|((_, b), d)| d.find(b, "data.data").unwrap().bytes().to_vec())
        .collect();
    assert_eq!(got, datagrams);
    // TCP: the client's bytes, in sequence order, are what was sent.
    let mut client = Vec::new();
    for ((_, b), d) in frames.iter().zip(&ds) {
        if d.field("tcp.dstport").and_then(|f| f.value.as_u64()) == Some(port.into())
            && let Some(f) = d.find(b, "data.data")
        {
            client.extend_from_slice(f.bytes());
        }
    }
    assert_eq!(client, sent);
    assert_eq!(back, sent);

    // The file holds exactly the frames delivered, and tshark agrees.
    let path = h.output().to_path_buf();
    h.join();
    let file = support::dissect_file(&path);
    assert_eq!(file.len(), frames.len());
    for (a, (m, b)) in file.iter().zip(&frames) {
        assert_eq!((&a.bytes, a.d.meta), (b, *m));
    }
    let metas: Vec<_> = frames.iter().map(|(m, _)| *m).collect();
    support::assert_tshark_reads(&path, &metas);
    let (n, problems) = crate::tshark_diff::compare(&path);
    assert!(n > 100 && problems.is_empty(), "{problems:#?}");
}

#[test]
fn count_and_duration_stop_the_capture_and_stop_is_prompt() {
    if !support::may_capture("capture limits") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let uport = rx.local_addr().unwrap().port();
    let h = CaptureHandle::start(CaptureConfig {
        filter: Some(format!("udp port {uport}")),
        count: Some(5),
        output: Some(dir.path().join("c.pcap")),
        ..CaptureConfig::default()
    })
    .unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..10u8 {
        tx.send_to(&[i], ("127.0.0.1", uport)).unwrap();
    }
    let (frames, _, reason) = collect(&h);
    assert_eq!((frames.len(), reason), (5, StopReason::Count));

    let h = CaptureHandle::start(CaptureConfig {
        filter: Some("udp port 1".into()),
        duration: Some(Duration::from_millis(300)),
        output: Some(dir.path().join("d.pcap")),
        ..CaptureConfig::default()
    })
    .unwrap();
    let (_, _, reason) = collect(&h);
    assert_eq!(reason, StopReason::Duration);

    // An idle capture stops when asked (libpcap alone would block forever).
    let h = CaptureHandle::start(CaptureConfig {
        filter: Some("udp port 1".into()),
        output: Some(dir.path().join("e.pcap")),
        ..CaptureConfig::default()
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let asked = Instant::now();
    h.stop();
    let (_, _, reason) = collect(&h);
    let took = asked.elapsed();
    assert_eq!(reason, StopReason::Asked);
    eprintln!("stop took {took:?}");
    assert!(took < Duration::from_secs(2), "stop took {took:?}");
}

#[test]
fn a_bad_filter_and_a_missing_interface_are_explained() {
    if !support::may_capture("capture errors") {
        return;
    }
    let e = CaptureHandle::start(CaptureConfig { filter: Some("tcp prot 80".into()), ..CaptureConfig::default() })
        .err()
        .unwrap();
    assert!(e.to_string().contains("not valid BPF") && e.to_string().contains("tcp prot 80"), "{e}");
    let e =
        CaptureHandle::start(CaptureConfig { interface: "nosuch0".into(), ..CaptureConfig::default() }).err().unwrap();
    assert!(e.to_string().contains("nosuch0"), "{e}");
}

/// Runs `wirelab capture` writing to a file while datagrams arrive; returns
/// the child and how many datagrams were sent.
fn capture_child(path: &std::path::Path, uport: u16) -> std::process::Child {
    let mut child = wirelab_bin()
        .args(["capture", "-q", "-f", &format!("udp port {uport}"), "-w"])
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // It says "capturing on …" once the capture is open: wait for that line
    // (byte by byte, so the rest of stderr stays for the test to read).
    let err = child.stderr.as_mut().unwrap();
    let mut line = Vec::new();
    let mut b = [0u8];
    while err.read(&mut b).unwrap() == 1 && b[0] != b'\n' {
        line.push(b[0]);
    }
    assert!(String::from_utf8_lossy(&line).contains("capturing on"), "{}", String::from_utf8_lossy(&line));
    child
}

#[test]
fn ctrl_c_keeps_every_packet_and_sigkill_leaves_a_readable_file() {
    if !support::may_capture("capture CLI signals") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let uport = rx.local_addr().unwrap().port();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();

    // SIGINT: every datagram sent before it is in the file.
    let path = dir.path().join("int.pcap");
    let child = capture_child(&path, uport);
    for i in 0..200u32 {
        tx.send_to(&i.to_be_bytes(), ("127.0.0.1", uport)).unwrap();
    }
    // Stopping takes what the kernel has queued: no wait needed.
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("200 frames captured"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(support::dissect_file(&path).len(), 200);

    // SIGKILL: the file is valid up to the last complete record.
    let path = dir.path().join("kill.pcap");
    let mut child = capture_child(&path, uport);
    for i in 0..300u32 {
        tx.send_to(&i.to_be_bytes(), ("127.0.0.1", uport)).unwrap();
    }
    // Kill it once it has written at least 250 of them (it flushes every 50 ms).
    let complete =
        || wirelab::file::Capture::open(&path).map(|c| c.frames().take_while(|r| r.is_ok()).count()).unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut written = complete();
    while written < 250 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        written = complete();
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let cap = wirelab::file::Capture::open(&path).expect("a pcap header was written");
    let items: Vec<_> = cap.frames().collect();
    let ok = items.iter().take_while(|r| r.is_ok()).count();
    assert!(ok >= 250 && ok >= written, "only {ok} of 300 frames survived SIGKILL ({written} were written before)");
    assert!(items.len() - ok <= 1);
    let out = support::tshark().arg("-r").arg(&path).args(["-T", "fields", "-e", "frame.number"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).lines().count() >= ok);
}

#[test]
fn without_privileges_capture_names_the_helper_and_files_still_work() {
    if !support::may_capture("the privilege message") {
        return;
    }
    // The real binaries, run as `nobody`: the helper has no capability yet.
    let (dir, wirelab, helper) = installed_copy();
    let out = as_nobody(&wirelab, &["capture", "-c", "1"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(77), "{err}");
    let grant = format!("sudo setcap cap_net_raw,cap_net_admin=eip {}", helper.display());
    assert!(err.contains(&grant), "the message names the helper, not the window: {err}");
    let list = as_nobody(&wirelab, &["interfaces"]).output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(lo_entry(&list).contains("capture: no ("), "{list}");
    let pcap = dir.path().join("http.pcap");
    std::fs::copy(support::root().join("captures/http-over-loopback.pcap"), &pcap).unwrap();
    Command::new("chmod").arg("644").arg(&pcap).status().unwrap();
    let out = as_nobody(&wirelab, &["dissect", pcap.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 16);
}

#[test]
fn a_user_captures_through_the_helper_while_wirelab_itself_holds_no_capability() {
    if !support::may_capture("capture through the helper") {
        return;
    }
    let (dir, wirelab, helper) = installed_copy();
    let st = Command::new("setcap").arg("cap_net_raw,cap_net_admin=eip").arg(&helper).status().unwrap();
    assert!(st.success(), "setcap (libcap2-bin) works here");
    // The helper opens interfaces for wirelab: `interfaces` says it may capture.
    let list = as_nobody(&wirelab, &["interfaces"]).output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(lo_entry(&list).contains("capture: yes"), "{list}");
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    assert!(Command::new("chown").arg("nobody").arg(&out_dir).status().unwrap().success());
    let file = out_dir.join("three.pcap");
    let mut child = as_nobody(&wirelab, &["capture", "-q", "-c", "3", "-f", &format!("udp dst port {port}"), "-w"])
        .arg(&file)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // "capturing on …" comes once the helper has the interface open.
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("capturing on lo"), "{line}");
    let caps = |pid: u32| {
        let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        s.lines().filter(|l| l.starts_with("CapPrm:") || l.starts_with("CapEff:")).map(String::from).collect::<Vec<_>>()
    };
    assert_eq!(caps(child.id()), ["CapPrm:\t0000000000000000", "CapEff:\t0000000000000000"], "wirelab has none");
    // The helper dropped its own after opening the interface.
    let helper_pid = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|p| {
            std::fs::read_to_string(format!("/proc/{p}/status"))
                .is_ok_and(|s| s.lines().any(|l| l == format!("PPid:\t{}", child.id())))
        })
        .expect("the helper runs as wirelab's child");
    assert_eq!(caps(helper_pid), ["CapPrm:\t0000000000000000", "CapEff:\t0000000000000000"], "the helper dropped them");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "the capture never saw three datagrams");
        sock.send_to(b"hello", ("127.0.0.1", port)).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{rest}");
    let out = support::tshark().arg("-r").arg(&file).args(["-T", "fields", "-e", "udp.dstport"]).output().unwrap();
    let p = port.to_string();
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().collect::<Vec<_>>(), [p.as_str(); 3]);
}

#[test]
fn the_helpers_loss_without_the_network_admin_right_is_refused_at_once_not_hung() {
    if !support::may_capture("the loss helper without its right") {
        return;
    }
    // nft cannot add the table; its listing then prints nothing, and the
    // helper used to wait for it forever.
    let (_dir, _wirelab, helper) = installed_copy();
    let (_holder, tcp, udp) = ports_held_by_nobody();
    let mut child = as_nobody(&helper, &["loss", "--tcp-port", &tcp, "--udp-port", &udp, "--probability", "0.1"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the helper is still waiting after 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(status.code(), Some(77), "{err}");
    assert!(err.contains("needs CAP_NET_ADMIN"), "{err}");
}

#[test]
fn the_helper_refuses_bad_arguments_before_opening_anything() {
    let helper = env!("CARGO_BIN_EXE_wirelab-capture");
    for (args, says) in [
        (&["capture", "-i", "eth0 -w /etc/passwd"][..], "is not an interface name"),
        (&["capture", "-i", "../lo"][..], "is not an interface name"),
        (&["capture", "--snaplen", "0"][..], "snapshot length 0"),
        (&["capture", "--count", "0"][..], "count must be at least 1"),
        (&["capture", "--duration", "NaN"][..], "is not a number of seconds"),
        (&["loss", "--tcp-port", "0", "--udp-port", "9", "--probability", "0.1"][..], "ports must be between 1"),
        (&["loss", "--tcp-port", "9", "--udp-port", "9", "--probability", "0.1"][..], "between 1024 and 65535"),
        (&["loss", "--tcp-port", "4000", "--udp-port", "4000", "--probability", "10"][..], "not between 0 and 0.5"),
        (&["loss", "--tcp-port", "4000", "--udp-port", "4000", "--probability", "0.6"][..], "not between 0 and 0.5"),
        (&["capture", "--buffer-size", "1073741824"][..], "between 64 KiB and 64 MiB"),
        (&["capture", "--what"][..], "unexpected argument"),
    ] {
        let out = Command::new(helper).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// The lines of `wirelab interfaces` about loopback.
fn lo_entry(list: &str) -> String {
    let mut lines = list.lines().skip_while(|l| !l.starts_with("lo: "));
    let first = lines.next().expect("lo is listed");
    std::iter::once(first).chain(lines.take_while(|l| l.starts_with(' '))).collect::<Vec<_>>().join("\n")
}

/// wirelab and its helper, copied into a folder `nobody` may read.
fn installed_copy() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    for exe in [env!("CARGO_BIN_EXE_wirelab"), env!("CARGO_BIN_EXE_wirelab-capture")] {
        let copy = dir.path().join(Path::new(exe).file_name().unwrap());
        std::fs::copy(exe, &copy).unwrap();
        out.push(copy);
    }
    for p in std::iter::once(dir.path()).chain(out.iter().map(PathBuf::as_path)) {
        Command::new("chmod").arg("755").arg(p).status().unwrap();
    }
    let helper = out.pop().unwrap();
    (dir, out.pop().unwrap(), helper)
}

fn as_nobody(exe: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all", "--"]).arg(exe).args(args);
    c
}

#[test]
fn interfaces_list_loopback_with_its_address_and_capture_rights() {
    if !support::may_capture("interfaces") {
        return;
    }
    let list = wirelab::capture::interfaces::list();
    let lo = list.iter().find(|i| i.name == "lo").expect("lo is listed");
    assert!(lo.loopback && lo.up && lo.addresses.iter().any(|a| a == "127.0.0.1/8"));
    assert_eq!(lo.mtu, Some(65536));
    assert!(lo.capture.is_ok());
    let out = wirelab_bin().arg("interfaces").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("lo: up,loopback"));
}

/// One hand-made packet at a time: their captures watch for ICMP.
static CRAFT: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Sends a hand-made packet while capturing, returns the summaries seen.
fn craft_and_watch(kind: Kind, dst_port: u16, src_port: u16, expect: usize) -> Vec<wirelab::model::Dissection> {
    let _one = CRAFT.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let h = start(format!("host 127.0.0.1 and (port {src_port} or icmp)"), &dir);
    let spec =
        Spec { kind, src: [127, 0, 0, 1].into(), dst: [127, 0, 0, 1].into(), src_port, dst_port, ttl: 64, id: 7 };
    let pkt = craft::build(&spec).unwrap();
    craft::send(&spec, &pkt).unwrap();
    let frames = collect_at_least(&h, expect);
    // The first frame is our packet, exactly as built.
    assert_eq!(&frames[0].1[14..], &pkt[..]);
    dissect_all(&frames)
}

#[test]
fn a_hand_made_syn_meets_the_kernel() {
    if !support::may_capture("craft") {
        return;
    }
    let flags = |d: &wirelab::model::Dissection| d.field("tcp.flags").and_then(|f| f.value.as_u64());
    // To a listening port: SYN, SYN-ACK from the listener's kernel, RST from ours.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    assert!(craft::is_listening(false, port));
    let ds = craft_and_watch(Kind::Syn { seq: 1000 }, port, 45_001, 3);
    let got: Vec<_> = ds.iter().map(flags).collect();
    assert_eq!(
        got,
        vec![Some(0x002), Some(0x012), Some(0x004)],
        "{:?}",
        ds.iter().map(|d| d.summary.info()).collect::<Vec<_>>()
    );
    // To a closed port: RST, ACK.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let ds = craft_and_watch(Kind::Syn { seq: 1000 }, closed, 45_002, 2);
    assert_eq!(ds.iter().map(flags).collect::<Vec<_>>(), vec![Some(0x002), Some(0x014)]);
}

#[test]
fn a_hand_made_datagram_to_a_closed_port_gets_icmp_port_unreachable() {
    if !support::may_capture("craft") {
        return;
    }
    let closed = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let ds = craft_and_watch(Kind::Udp { payload: b"anyone there?".to_vec() }, closed, 45_003, 2);
    assert_eq!(ds.len(), 2);
    assert_eq!(ds[1].field("icmp.type").unwrap().value, Value::U(3));
    assert_eq!(ds[1].field("icmp.code").unwrap().value, Value::U(3));
    // The ICMP message quotes our datagram: its UDP ports appear inside.
    let ports: Vec<_> = ds[1].fields_named("udp.srcport").map(|f| f.value).collect();
    assert_eq!(ports, vec![Value::U(45_003)]);
}

/// A process of `nobody` holding a TCP and a UDP port on loopback (killed
/// when dropped), and the two ports.
fn ports_held_by_nobody() -> (KillOnDrop, String, String) {
    let py = "import socket,sys,time\n\
              t=socket.socket(); t.bind(('127.0.0.1',0)); t.listen()\n\
              u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); u.bind(('127.0.0.1',0))\n\
              print(t.getsockname()[1], u.getsockname()[1], flush=True)\n\
              sys.stdin.read()";
    let mut c = as_nobody(Path::new("/usr/bin/python3"), &["-c", py])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(c.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let mut ports = line.split_whitespace().map(String::from);
    let (tcp, udp) = (ports.next().expect("the TCP port"), ports.next().expect("the UDP port"));
    (KillOnDrop(c), tcp, udp)
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The capability lines of a process or thread's status.
fn cap_lines(status: &str) -> Vec<String> {
    let keep = ["CapInh:", "CapPrm:", "CapEff:", "CapAmb:"];
    std::fs::read_to_string(status)
        .unwrap_or_default()
        .lines()
        .filter(|l| keep.iter().any(|k| l.starts_with(k)))
        .map(String::from)
        .collect()
}

const NO_CAPS: [&str; 4] = [
    "CapInh:\t0000000000000000",
    "CapPrm:\t0000000000000000",
    "CapEff:\t0000000000000000",
    "CapAmb:\t0000000000000000",
];

/// Every thread of a process holds no capability.
fn assert_no_thread_holds_a_capability(pid: u32, what: &str) {
    let tasks: Vec<_> = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap().filter_map(|e| e.ok()).collect();
    assert!(!tasks.is_empty());
    for t in tasks {
        let status = t.path().join("status");
        assert_eq!(cap_lines(status.to_str().unwrap()), NO_CAPS, "{what}: thread {:?}", t.file_name());
    }
}

/// The children of a process.
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The helper as the package installs it for a group member: with file
/// capabilities, and set-uid root (where the file system cannot hold them).
fn privileged_helpers() -> (tempfile::TempDir, [(&'static str, PathBuf); 2]) {
    let (dir, _wirelab, helper) = installed_copy();
    let fc = dir.path().join("helper-file-caps");
    let suid = dir.path().join("helper-setuid-root");
    std::fs::copy(&helper, &fc).unwrap();
    std::fs::copy(&helper, &suid).unwrap();
    assert!(Command::new("setcap").arg("cap_net_raw,cap_net_admin=eip").arg(&fc).status().unwrap().success());
    assert!(Command::new("chown").arg("root:root").arg(&suid).status().unwrap().success());
    assert!(Command::new("chmod").arg("4755").arg(&suid).status().unwrap().success());
    (dir, [("file capabilities", fc), ("set-uid root", suid)])
}

#[test]
fn the_helper_opens_only_network_interfaces_for_a_group_member_in_both_install_modes() {
    if !support::may_capture("the helper's interfaces") {
        return;
    }
    let (_dir, helpers) = privileged_helpers();
    for (mode, helper) in &helpers {
        // The mode works: loopback opens.
        let out = as_nobody(helper, &["probe", "-i", "lo"]).output().unwrap();
        assert!(out.status.success(), "{mode}: {}", String::from_utf8_lossy(&out.stderr));
        // libpcap's devices that are not network interfaces: USB (keyboards),
        // Bluetooth, the host's netfilter queue and log, the message bus.
        for dev in ["usbmon0", "usbmon1", "bluetooth0", "nfqueue", "nflog", "dbus-system"] {
            for args in [&["probe", "-i", dev][..], &["capture", "-i", dev, "-c", "1"][..]] {
                let out = as_nobody(helper, args).stdin(Stdio::null()).output().unwrap();
                let err = String::from_utf8_lossy(&out.stderr);
                assert_eq!(out.status.code(), Some(2), "{mode} {args:?}: {err}");
                assert!(err.contains("is not a network interface"), "{mode} {args:?}: {err}");
            }
        }
    }
}

#[test]
fn the_helper_and_nft_hold_only_what_their_job_needs_in_both_install_modes() {
    if !support::may_capture("the helper's capabilities") {
        return;
    }
    let (_dir, helpers) = privileged_helpers();
    let (_holder, tcp, udp) = ports_held_by_nobody();
    let root_port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let wait_for = |child: &mut std::process::Child, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "{what} did not end");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    for (mode, helper) in &helpers {
        // Loss mode: the helper's every thread holds nothing once the rules
        // are in; nft holds CAP_NET_ADMIN alone, as the user.
        let mut child = as_nobody(helper, &["loss", "--tcp-port", &tcp, "--udp-port", &udp, "--probability", "0.1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut ready = String::new();
        out.read_line(&mut ready).unwrap();
        assert_eq!(ready.trim(), "ready table inet wirelab_loss_u65534", "{mode}");
        // setpriv execs the helper: it is the child.
        assert_no_thread_holds_a_capability(child.id(), mode);
        let nft = children(child.id());
        assert_eq!(nft.len(), 1, "{mode}: nft runs as the helper's only child");
        let nft_status = std::fs::read_to_string(format!("/proc/{}/status", nft[0])).unwrap();
        for (key, want) in [
            ("Uid:", "65534"),
            ("CapPrm:", "0000000000001000"),
            ("CapEff:", "0000000000001000"),
            ("CapAmb:", "0000000000001000"),
        ] {
            let line = nft_status.lines().find(|l| l.starts_with(key)).unwrap();
            assert_eq!(line.split_whitespace().nth(1), Some(want), "{mode}: nft {line}");
        }
        let env = std::fs::read(format!("/proc/{}/environ", nft[0])).unwrap();
        assert_eq!(env, b"HOME=/dev/null\0", "{mode}: nft keeps no history file");
        // A second run of the same user is refused while this one holds its table.
        let second = as_nobody(helper, &["loss", "--tcp-port", &tcp, "--udp-port", &udp, "--probability", "0.1"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(second.status.code(), Some(2), "{mode}: {}", String::from_utf8_lossy(&second.stderr));
        assert!(String::from_utf8_lossy(&second.stderr).contains("another loss run of yours"));
        drop(child.stdin.take());
        wait_for(&mut child, "the loss run");
        assert!(child.wait().unwrap().success(), "{mode}");

        // A port the user holds no socket on (root's) is refused, and so is
        // one below 1024.
        for (t, u) in [(root_port.as_str(), udp.as_str()), ("53", udp.as_str()), (tcp.as_str(), "53")] {
            let out = as_nobody(helper, &["loss", "--tcp-port", t, "--udp-port", u, "--probability", "0.1"])
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{mode} {t}/{u}: {err}");
            assert!(err.contains("no socket of yours") || err.contains("between 1024"), "{mode}: {err}");
        }

        // Capture mode: once the pcap header is out, no thread holds anything.
        let mut child = as_nobody(helper, &["capture", "-i", "lo", "-f", &format!("udp port {udp}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut header = [0u8; 24];
        child.stdout.as_mut().unwrap().read_exact(&mut header).unwrap();
        assert_no_thread_holds_a_capability(child.id(), mode);
        drop(child.stdin.take());
        let mut rest = Vec::new();
        child.stdout.take().unwrap().read_to_end(&mut rest).unwrap();
        assert!(child.wait().unwrap().success(), "{mode}");
    }
}

#[test]
fn nft_gets_only_the_network_admin_right_and_leaves_no_history_file_even_for_root() {
    if !support::may_capture("nft's rights") {
        return;
    }
    let _one = support::ROOT_LOSS.lock().unwrap_or_else(|e| e.into_inner());
    // Left by earlier versions of the helper, which ran nft as root with no HOME.
    let _ = std::fs::remove_file("/.nft.history");
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (tp, up) = (tcp.local_addr().unwrap().port().to_string(), udp.local_addr().unwrap().port().to_string());
    let mut child = Command::new(env!("CARGO_BIN_EXE_wirelab-capture"))
        .args(["loss", "--tcp-port", &tp, "--udp-port", &up, "--probability", "0.2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut ready = String::new();
    out.read_line(&mut ready).unwrap();
    assert!(ready.starts_with("ready"), "{ready}");
    assert_no_thread_holds_a_capability(child.id(), "root's helper");
    let nft = children(child.id());
    let status = std::fs::read_to_string(format!("/proc/{}/status", nft[0])).unwrap();
    let eff = status.lines().find(|l| l.starts_with("CapEff:")).unwrap();
    assert_eq!(eff, "CapEff:\t0000000000001000", "nft started by root holds CAP_NET_ADMIN alone");
    // Ask for the counters a few times: each is a line nft would keep.
    for _ in 0..3 {
        writeln!(child.stdin.as_mut().unwrap(), "counters").unwrap();
        let mut l = String::new();
        out.read_line(&mut l).unwrap();
        assert!(l.starts_with("counters tcp="), "{l}");
    }
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    assert!(!Path::new("/.nft.history").exists(), "nft wrote a history file at /");
}
