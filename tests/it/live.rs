//! A capture made now: wirelab must dissect fresh traffic, not only the
//! bundled files. Needs the right to capture (root or CAP_NET_RAW for
//! dumpcap); under CI=true it is mandatory, elsewhere it says it was skipped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wirelab::model::Value;

use crate::support;

fn can_capture() -> bool {
    Command::new("dumpcap")
        .args(["-D"])
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("lo"))
        && Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn start(path: &std::path::Path, filter: &str) -> Child {
    let mut child = Command::new("dumpcap")
        .args(["-q", "-i", "lo", "-f", filter, "-P", "-w"])
        .arg(path)
        .stderr(Stdio::piped())
        .spawn()
        .expect("dumpcap starts");
    // dumpcap says "Capturing on" once it captures.
    let mut err = child.stderr.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while Instant::now() < deadline && !String::from_utf8_lossy(&seen).contains("Capturing on") {
        match err.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    std::thread::sleep(Duration::from_millis(300));
    child
}

fn stop(mut child: Child) {
    std::thread::sleep(Duration::from_millis(300));
    let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    let _ = child.wait();
}

#[test]
fn fresh_tcp_and_udp_traffic_on_loopback_dissects_to_what_was_sent() {
    if !can_capture() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: live capture tests must run (run them as root)"
        );
        eprintln!("SKIPPED live capture test: needs root/CAP_NET_RAW and dumpcap (scripts/test installs it)");
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let udp_rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let uport = udp_rx.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.pcap");
    let cap = start(&path, &format!("tcp port {port} or udp port {uport}"));

    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        s.write_all(&got).unwrap();
        got
    });
    let messages: Vec<Vec<u8>> = (0..5).map(|i| format!("message {i} from the test\n").into_bytes()).collect();
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_nodelay(true).unwrap();
    for m in &messages {
        c.write_all(m).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut echoed = Vec::new();
    c.read_to_end(&mut echoed).unwrap();
    server.join().unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..3u8 {
        tx.send_to(&[b'u', i], ("127.0.0.1", uport)).unwrap();
    }
    stop(cap);

    let frames = support::dissect_file(&path);
    let tcp: Vec<_> = frames.iter().filter(|f| f.d.field("tcp.srcport").is_some()).collect();
    // The handshake, as the analysis names it.
    let flags = |f: &support::Dissected| f.d.field("tcp.flags").and_then(|x| x.value.as_u64()).unwrap_or(0);
    assert_eq!(flags(tcp[0]), 0x002, "SYN first");
    assert_eq!(flags(tcp[1]), 0x012, "then SYN-ACK");
    assert_eq!(flags(tcp[2]) & 0x010, 0x010, "then ACK");
    assert!(tcp[2].d.notes.iter().any(|n| n.message.contains("established")));
    // Client payload, in order, is exactly what was sent; relative sequence
    // numbers count bytes from 1.
    let mut client_bytes = Vec::new();
    let mut next_rel = 1u64;
    for f in tcp.iter().filter(|f| f.d.field("tcp.dstport").and_then(|x| x.value.as_u64()) == Some(port.into())) {
        if let Some(data) = f.d.find(&f.bytes, "data.data") {
            assert_eq!(f.d.field("tcp.seq").unwrap().value, Value::U(next_rel));
            let b = data.bytes();
            client_bytes.extend_from_slice(b);
            next_rel += b.len() as u64;
        }
    }
    assert_eq!(client_bytes, messages.concat());
    assert_eq!(echoed, messages.concat());
    assert!(tcp.iter().all(|f| f.d.field("tcp.stream").map(|x| &x.value) == Some(&Value::U(0))));
    let udp: Vec<_> = frames
        .iter()
        .filter(|f| f.d.field("udp.dstport").and_then(|x| x.value.as_u64()) == Some(uport.into()))
        .collect();
    assert_eq!(udp.len(), 3);
    for (i, f) in udp.iter().enumerate() {
        assert_eq!(f.d.find(&f.bytes, "data.data").unwrap().bytes(), &[b'u', i as u8]);
    }
    // And Wireshark agrees on every shared field of this fresh capture.
    let (n, problems) = crate::tshark_diff::compare(&path);
    assert!(n > 100 && problems.is_empty(), "{problems:#?}");
}
