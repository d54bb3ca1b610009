//! Capture files: every flavour reads the same frames; damaged files give
//! every complete frame and then one error with the byte offset.

use wirelab::file::{Capture, FileError, PcapFileWriter};

use crate::support::{self, root};

fn read(name: &str) -> Vec<u8> {
    std::fs::read(root().join("captures").join(name)).expect("bundled capture")
}

#[test]
fn microsecond_nanosecond_and_big_endian_pcap_read_identically() {
    let base = support::dissect_file(&root().join("captures/http-over-loopback.pcap"));
    for other in ["http-over-loopback-nsec.pcap", "http-over-loopback-be.pcap"] {
        let o = support::dissect_file(&root().join("captures").join(other));
        assert_eq!(base.len(), o.len(), "{other}");
        for (a, b) in base.iter().zip(&o) {
            assert_eq!(a.bytes, b.bytes, "{other} frame {}", a.d.meta.number);
            assert_eq!(
                (a.d.meta.ts_sec, a.d.meta.ts_nsec, a.d.meta.len),
                (b.d.meta.ts_sec, b.d.meta.ts_nsec, b.d.meta.len)
            );
            assert_eq!(a.d.summary.info(), b.d.summary.info());
        }
    }
}

#[test]
fn null_and_raw_link_types_give_the_same_network_layers_as_ethernet() {
    let base = support::dissect_file(&root().join("captures/http-over-loopback.pcap"));
    for (other, link) in [("null-loopback.pcap", "null"), ("raw-ip.pcap", "")] {
        let o = support::dissect_file(&root().join("captures").join(other));
        assert_eq!(base.len(), o.len());
        for (a, b) in base.iter().zip(&o) {
            let names = |d: &wirelab::model::Dissection| -> Vec<&str> {
                d.layers.iter().map(|l| l.proto.name).filter(|n| !matches!(*n, "frame" | "eth" | "null")).collect()
            };
            assert_eq!(names(&a.d), names(&b.d), "{other} frame {}", a.d.meta.number);
            assert_eq!(a.d.summary.info(), b.d.summary.info(), "{other} frame {}", a.d.meta.number);
            if !link.is_empty() {
                assert_eq!(b.d.layers[1].proto.name, link);
            }
        }
    }
}

#[test]
fn pcapng_with_two_interfaces_of_different_link_types() {
    let frames = support::dissect_file(&root().join("captures/two-interfaces.pcapng"));
    let links: std::collections::BTreeSet<u32> = frames.iter().map(|f| f.d.meta.linktype).collect();
    assert_eq!(links.into_iter().collect::<Vec<_>>(), vec![1, 276], "Ethernet (lo) and SLL2 (any)");
    // dumpcap writes nanosecond pcapng: times must be sane, not off by 1000.
    for f in &frames {
        assert!(f.d.meta.ts_sec > 1_600_000_000 && f.d.meta.ts_sec < 4_000_000_000, "ts {}", f.d.meta.ts_sec);
    }
}

/// Offsets where each record of a little-endian pcap ends.
fn record_ends(bytes: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let incl = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + incl;
        ends.push(at);
    }
    ends
}

#[test]
fn a_pcap_cut_anywhere_yields_every_complete_frame_then_the_offset() {
    let bytes = read("http-over-loopback.pcap");
    let ends = record_ends(&bytes);
    for cut in 24..bytes.len() {
        let cap = Capture::from_bytes(bytes[..cut].to_vec(), "cut.pcap").expect("header is intact");
        let complete = ends.iter().filter(|e| **e <= cut).count();
        let items: Vec<_> = cap.frames().collect();
        let ok = items.iter().take_while(|r| r.is_ok()).count();
        assert_eq!(ok, complete, "cut at {cut}");
        let at_boundary = cut == 24 || ends.contains(&cut);
        if at_boundary {
            assert_eq!(items.len(), ok, "cut at a record boundary is a whole file");
        } else {
            let err = items.last().and_then(|r| r.as_ref().err()).expect("an error after the complete frames");
            let start = if complete == 0 { 24 } else { ends[complete - 1] };
            match err {
                FileError::Truncated { offset, frame, .. } => {
                    assert_eq!((*offset as usize, *frame as usize), (start, complete + 1), "cut at {cut}");
                }
                other => panic!("cut at {cut}: expected Truncated, got {other}"),
            }
            assert!(err.to_string().contains(&format!("byte offset {start}")), "{err}");
        }
    }
}

#[test]
fn a_pcapng_cut_anywhere_never_panics_and_keeps_complete_frames() {
    let bytes = read("ipv6-loopback.pcapng");
    let whole = Capture::from_bytes(bytes.clone(), "x").unwrap().frames().count();
    let mut last_ok = 0;
    for cut in 1..bytes.len() {
        let Ok(cap) = Capture::from_bytes(bytes[..cut].to_vec(), "cut.pcapng") else {
            continue;
        };
        let items: Vec<_> = cap.frames().collect();
        let ok = items.iter().take_while(|r| r.is_ok()).count();
        assert!(ok >= last_ok && ok <= whole, "cut at {cut}: {ok} frames");
        assert!(items.iter().skip(ok).count() <= 1, "at most one error, at the end");
        last_ok = ok;
    }
    assert_eq!(last_ok, whole);
}

#[test]
fn a_corrupt_record_length_is_reported_with_its_offset() {
    let mut bytes = read("http-over-loopback.pcap");
    let ends = record_ends(&bytes);
    // Frame 4's record header: claim 3 GB of captured data.
    let at = ends[2];
    bytes[at + 8..at + 12].copy_from_slice(&0xc000_0000u32.to_le_bytes());
    let cap = Capture::from_bytes(bytes, "corrupt.pcap").unwrap();
    let items: Vec<_> = cap.frames().collect();
    assert_eq!(items.iter().filter(|r| r.is_ok()).count(), 3);
    let msg = items.last().unwrap().as_ref().unwrap_err().to_string();
    assert!(msg.contains(&format!("byte offset {at}")), "{msg}");
}

#[test]
fn files_that_are_not_captures_say_so() {
    let e = Capture::from_bytes(b"GET / HTTP/1.1\r\n".to_vec(), "notes.txt").err().expect("an error");
    assert!(matches!(e, FileError::NotACapture { .. }), "{e}");
    assert!(e.to_string().contains("not a pcap or pcapng"));
    let e = Capture::from_bytes(Vec::new(), "empty.pcap").err().expect("an error");
    assert!(matches!(e, FileError::Empty { .. }));
    let e = Capture::from_bytes(read("http-over-loopback.pcap")[..10].to_vec(), "short.pcap").err().expect("an error");
    assert!(matches!(e, FileError::BadHeader { .. }), "{e}");
    let e = Capture::open(std::path::Path::new("/nonexistent/x.pcap")).err().expect("an error");
    assert!(e.to_string().contains("/nonexistent/x.pcap"));
}

#[test]
fn written_pcap_reads_back_identically_in_wirelab_and_tshark() {
    let src = support::dissect_file(&root().join("captures/veth-arp-fragments.pcap"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.pcap");
    let mut w = PcapFileWriter::new(std::fs::File::create(&path).unwrap(), 1, 262_144).unwrap();
    for f in &src {
        w.write(f.d.meta.ts_sec, f.d.meta.ts_nsec, f.d.meta.len, &f.bytes).unwrap();
    }
    drop(w);
    let back = support::dissect_file(&path);
    assert_eq!(back.len(), src.len());
    for (a, b) in src.iter().zip(&back) {
        assert_eq!(a.bytes, b.bytes);
        assert_eq!(a.d.meta, b.d.meta);
    }
    let metas: Vec<_> = src.iter().map(|f| f.d.meta).collect();
    support::assert_tshark_reads(&path, &metas);
}
