//! Load test of live capture: a UDP flood on loopback at increasing rates,
//! captured and dissected by wirelab, then the same flood captured by
//! dumpcap, in the same run. Needs root. Bounded: at most 2 s and 2 M
//! datagrams per step, only to 127.0.0.1.
//!
//!     cargo bench --bench capture_flood [-- RATE…]

use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wirelab::capture::{CaptureConfig, CaptureEvent, CaptureHandle};
use wirelab::dissect::Dissector;
use wirelab::model::Dissection;

const SECONDS: f64 = 2.0;
const MAX_PACKETS: u64 = 2_000_000;
const PAYLOAD: usize = 64;

/// Sends `count` datagrams at `rate` per second with sendmmsg; returns the
/// achieved rate.
fn flood(sock: &UdpSocket, rate: u64, count: u64) -> f64 {
    const BATCH: usize = 32;
    let payload = [0x5au8; PAYLOAD];
    let mut iov: Vec<libc::iovec> =
        (0..BATCH).map(|_| libc::iovec { iov_base: payload.as_ptr() as *mut _, iov_len: PAYLOAD }).collect();
    // SAFETY: zeroed mmsghdr is a valid "no address, no control" header.
    let mut msgs: Vec<libc::mmsghdr> = (0..BATCH).map(|_| unsafe { std::mem::zeroed() }).collect();
    for (m, v) in msgs.iter_mut().zip(iov.iter_mut()) {
        m.msg_hdr.msg_iov = v;
        m.msg_hdr.msg_iovlen = 1;
    }
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < count {
        let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
        if sent >= due {
            std::hint::spin_loop();
            continue;
        }
        let n = (due - sent).min(BATCH as u64).min(count - sent) as usize;
        // SAFETY: msgs[..n] point at live iovecs over `payload`.
        let r = unsafe { libc::sendmmsg(sock.as_raw_fd(), msgs.as_mut_ptr(), n as u32, 0) };
        if r > 0 {
            sent += r as u64;
        }
    }
    sent as f64 / start.elapsed().as_secs_f64()
}

struct Row {
    rate: u64,
    sent: u64,
    achieved: f64,
    wirelab_captured: u64,
    wirelab_dissected: u64,
    wirelab_kernel_drop: u64,
    wirelab_not_delivered: u64,
    dumpcap_captured: u64,
    dumpcap_drop: String,
}

fn wirelab_step(rate: u64, count: u64, port: u16, sender: &UdpSocket) -> (f64, u64, u64, u64, u64) {
    let dir = std::env::temp_dir().join("wirelab-flood.pcap");
    let h = CaptureHandle::start(CaptureConfig {
        filter: Some(format!("udp dst port {port}")),
        snaplen: 128,
        output: Some(dir),
        ..CaptureConfig::default()
    })
    .expect("capture starts (run as root)");
    let dissected = Arc::new(AtomicU64::new(0));
    let d2 = dissected.clone();
    std::thread::sleep(Duration::from_millis(300));
    // The flood runs on its own thread; this thread is the consumer and
    // dissects every frame it is handed, as the GUI will.
    let (achieved, stats) = std::thread::scope(|s| {
        let stop = h.stop_flag();
        let f = s.spawn(move || {
            let a = flood(sender, rate, count);
            std::thread::sleep(Duration::from_millis(500));
            stop.store(true, Ordering::Relaxed);
            a
        });
        let mut dis = Dissector::new();
        let mut d = Dissection::default();
        let mut fin = None;
        while let Ok(ev) = h.events().recv() {
            match ev {
                CaptureEvent::Batch(b) => {
                    for (m, bytes) in b.iter() {
                        dis.dissect(m, bytes, &mut d);
                        d2.fetch_add(1, Ordering::Relaxed);
                    }
                }
                CaptureEvent::Finished { stats, .. } => {
                    fin = Some(stats);
                    break;
                }
                _ => {}
            }
        }
        (f.join().unwrap_or(0.0), fin)
    });
    let stats = stats.unwrap_or_default();
    (achieved, stats.captured, dissected.load(Ordering::Relaxed), stats.kernel_dropped, stats.not_delivered)
}

fn dumpcap_step(rate: u64, count: u64, port: u16, sender: &UdpSocket) -> (u64, String) {
    let out = std::env::temp_dir().join("wirelab-flood-dumpcap.pcap");
    let child = Command::new("dumpcap")
        .args(["-i", "lo", "-s", "128", "-f", &format!("udp dst port {port}"), "-w"])
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .expect("dumpcap (Debian's tshark package)");
    std::thread::sleep(Duration::from_millis(800));
    flood(sender, rate, count);
    std::thread::sleep(Duration::from_millis(500));
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().ok();
    let o = child.wait_with_output().expect("dumpcap ends");
    let err = String::from_utf8_lossy(&o.stderr);
    // "Packets received/dropped on interface 'lo': 1000/0 (pcap:0/dumpcap:0/flushed:0/ps_ifdrop:0) (100.0%)"
    let line = err.lines().find(|l| l.contains("received/dropped")).unwrap_or("").to_string();
    let nums = line.split("': ").nth(1).unwrap_or("");
    let captured = nums.split('/').next().and_then(|x| x.trim().parse().ok()).unwrap_or(0);
    let drop = nums.split(' ').next().and_then(|x| x.split('/').nth(1)).unwrap_or("?").to_string();
    let _ = std::fs::remove_file(out);
    (captured, drop)
}

fn main() {
    let rates: Vec<u64> = {
        let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
        if args.is_empty() {
            vec![50_000, 100_000, 200_000, 300_000, 400_000, 500_000, 750_000, 1_000_000]
        } else {
            args
        }
    };
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = rx.local_addr().unwrap().port();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    sender.connect(("127.0.0.1", port)).unwrap();
    let mut rows = Vec::new();
    for rate in rates {
        let count = ((rate as f64 * SECONDS) as u64).min(MAX_PACKETS);
        let (achieved, cap, dis, kdrop, nd) = wirelab_step(rate, count, port, &sender);
        let (dcap, ddrop) = dumpcap_step(rate, count, port, &sender);
        let row = Row {
            rate,
            sent: count,
            achieved,
            wirelab_captured: cap,
            wirelab_dissected: dis,
            wirelab_kernel_drop: kdrop,
            wirelab_not_delivered: nd,
            dumpcap_captured: dcap,
            dumpcap_drop: ddrop,
        };
        println!(
            "rate {:>9}/s  sent {:>8} (achieved {:>9.0}/s)  wirelab: captured {:>8} dissected {:>8} kernel-dropped {:>7} not-delivered {:>7}  dumpcap: captured {:>8} dropped {}",
            row.rate,
            row.sent,
            row.achieved,
            row.wirelab_captured,
            row.wirelab_dissected,
            row.wirelab_kernel_drop,
            row.wirelab_not_delivered,
            row.dumpcap_captured,
            row.dumpcap_drop
        );
        rows.push(row);
    }
    let best = rows
        .iter()
        .filter(|r| r.wirelab_dissected == r.sent && r.wirelab_kernel_drop == 0)
        .map(|r| r.achieved as u64)
        .max();
    println!("highest rate with zero drops, every frame captured and dissected by wirelab: {best:?} packets/s");
}
