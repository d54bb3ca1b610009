//! Throughput of the whole stack on a big WebSocket capture: TCP
//! reassembly, HTTP upgrade, WebSocket unmasking and Socket.IO decoding.
//!
//!     cargo bench --bench ws_throughput [-- FRAMES] [--tshark]
//!
//! Writes (once) /tmp/wirelab-ws-FRAMES.pcap: 100 Socket.IO-over-WebSocket
//! connections on loopback, each a handshake then client events (masked),
//! server broadcasts and acks (unmasked) and heartbeats, one WebSocket frame
//! per TCP segment. Then dissects it and reports frames per second.

use std::io::BufWriter;
use std::path::Path;
use std::time::Instant;

use wirelab::dissect::Dissector;
use wirelab::file::{Capture, PcapFileWriter};
use wirelab::model::Dissection;

fn ws(payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut v = vec![0x81];
    let m = if mask.is_some() { 0x80 } else { 0 };
    if payload.len() < 126 {
        v.push(m | payload.len() as u8);
    } else {
        v.push(m | 126);
        v.extend((payload.len() as u16).to_be_bytes());
    }
    match mask {
        Some(k) => {
            v.extend(k);
            v.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => v.extend_from_slice(payload),
    }
    v
}

fn generate(path: &Path, frames: u64) {
    let file = std::fs::File::create(path).expect("create the capture");
    let mut w = PcapFileWriter::new(BufWriter::new(file), 1, 262_144).expect("pcap header");
    let per_conn = frames.div_ceil(100);
    let mut n = 0u64;
    let mut t = 1_700_000_000_000_000_000u128;
    for conn in 0..100u32 {
        let cport = 40_000 + conn as u16;
        let mut seq = [1_000_000u32 * conn, 7_000_000u32.wrapping_mul(conn + 1)];
        let mut emit = |w: &mut PcapFileWriter<BufWriter<std::fs::File>>,
                        dir: usize,
                        flags: &str,
                        payload: &[u8],
                        seq: &mut [u32; 2]| {
            let (sp, dp) = if dir == 0 { (cport, 9002) } else { (9002, cport) };
            let mut b = etherparse::PacketBuilder::ethernet2([0; 6], [0; 6])
                .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
                .tcp(sp, dp, seq[dir], 512);
            if flags.contains('S') {
                b = b.syn();
            }
            if !(flags == "S" && dir == 0) {
                b = b.ack(seq[dir ^ 1]);
            }
            if !payload.is_empty() {
                b = b.psh();
            }
            let mut v = Vec::with_capacity(payload.len() + 80);
            b.write(&mut v, payload).expect("build");
            t += 20_000;
            w.write((t / 1_000_000_000) as i64, (t % 1_000_000_000) as u32, v.len() as u32, &v).expect("write");
            seq[dir] = seq[dir].wrapping_add(payload.len() as u32 + u32::from(flags.contains('S')));
        };
        emit(&mut w, 0, "S", &[], &mut seq);
        emit(&mut w, 1, "SA", &[], &mut seq);
        emit(&mut w, 0, "A", &[], &mut seq);
        emit(&mut w, 0, "A", b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:9002\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", &mut seq);
        emit(&mut w, 1, "A", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n", &mut seq);
        emit(&mut w, 1, "A", &ws(br#"0{"sid":"abcdefghijklmnopqrst","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#, None), &mut seq);
        emit(&mut w, 0, "A", &ws(b"40", Some([1, 2, 3, 4])), &mut seq);
        emit(&mut w, 1, "A", &ws(br#"40{"sid":"ZYXWVUTSRQPONMLKJIHG"}"#, None), &mut seq);
        let mut i = 0u64;
        let mut sent = 8u64;
        while sent < per_conn && n + sent < frames {
            let k = (i as u32).to_be_bytes();
            match i % 4 {
                0 => emit(&mut w, 0, "A", &ws(format!(r#"42{i}["chat message",{{"text":"hello number {i}","to":"all"}}]"#).as_bytes(), Some(k)), &mut seq),
                1 => emit(&mut w, 1, "A", &ws(format!(r#"42["chat message",{{"from":"ZYXWVUTSRQPONMLKJIHG","nick":"ada","text":"hello number {i}","offset":{i}}}]"#).as_bytes(), None), &mut seq),
                2 => emit(&mut w, 1, "A", &ws(format!(r#"43{}[{{"ok":true,"offset":{i}}}]"#, i - 2).as_bytes(), None), &mut seq),
                _ => {
                    if i % 8 == 3 {
                        emit(&mut w, 1, "A", &ws(b"2", None), &mut seq)
                    } else {
                        emit(&mut w, 0, "A", &ws(b"3", Some(k)), &mut seq)
                    }
                }
            }
            i += 1;
            sent += 1;
        }
        n += sent;
        if n >= frames {
            break;
        }
    }
    w.flush().expect("flush");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let frames: u64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let path = std::env::temp_dir().join(format!("wirelab-ws-{frames}.pcap"));
    if !path.exists() {
        let t = Instant::now();
        generate(&path, frames);
        println!("generated {} in {:.1} s", path.display(), t.elapsed().as_secs_f64());
    }
    let cap = Capture::open(&path).expect("open");
    for run in 1..=3 {
        let mut dis = Dissector::new();
        let mut d = Dissection::default();
        let (mut n, mut events, mut sio) = (0u64, 0u64, 0u64);
        let t = Instant::now();
        for f in cap.frames() {
            let f = f.expect("frame");
            dis.dissect(f.meta, &f.data, &mut d);
            n += 1;
            events += d.events.len() as u64;
            sio += d.events.iter().filter(|e| e.kind.is_socketio()).count() as u64;
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "run {run}: {n} frames in {s:.3} s = {:.0} frames/s; {events} application events, {sio} Socket.IO packets; peak RSS {} KiB",
            n as f64 / s,
            wirelab::cli::peak_rss_kib().unwrap_or(0)
        );
    }
    if args.iter().any(|a| a == "--tshark") {
        let t = Instant::now();
        let out = std::process::Command::new("tshark")
            .args(["-r"])
            .arg(&path)
            .args(["-d", "tcp.port==9002,http", "-T", "fields", "-e", "websocket.payload.text"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        println!("tshark (websocket.payload.text of every frame): {:.1} s ({out:?})", t.elapsed().as_secs_f64());
    }
}
