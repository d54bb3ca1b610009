//! Structural invariants over real captures: every captured byte belongs to a
//! field, spans stay inside their data, and no prefix of any frame panics.

use wirelab::dissect::Dissector;
use wirelab::model::{Dissection, FrameMeta, Severity};

use crate::support;

#[test]
fn every_captured_byte_belongs_to_a_field() {
    for path in support::captures() {
        for f in support::dissect_file(&path) {
            let mut covered = vec![false; f.bytes.len()];
            for l in f.d.layers.iter().filter(|l| l.proto.name != "frame") {
                for x in f.d.layer_fields(l).iter().filter(|x| x.span.source == 0) {
                    for b in covered.iter_mut().skip(x.span.offset as usize).take(x.span.len as usize) {
                        *b = true;
                    }
                }
            }
            let gaps: Vec<usize> = covered.iter().enumerate().filter(|(_, c)| !**c).map(|(i, _)| i).collect();
            assert!(
                gaps.is_empty(),
                "{} frame {}: bytes {:?} belong to no field (protocols {})",
                path.display(),
                f.d.meta.number,
                &gaps[..gaps.len().min(16)],
                f.d.protocols()
            );
        }
    }
}

#[test]
fn spans_stay_inside_their_frame_and_layer() {
    for path in support::captures() {
        for f in support::dissect_file(&path) {
            for l in &f.d.layers {
                let src_len = f.d.source_bytes(&f.bytes, l.span.source).len();
                assert!(l.span.end() <= src_len, "{}: layer {} overruns its data", path.display(), l.proto.name);
                for x in f.d.layer_fields(l) {
                    let len = f.d.source_bytes(&f.bytes, x.span.source).len();
                    assert!(x.span.end() <= len, "{}: {} overruns its data source", path.display(), x.def.name);
                    assert_eq!(x.def.proto.osi, l.proto.osi, "{} sits in layer {}", x.def.name, l.proto.name);
                    if x.span.len > 0 && l.proto.name != "frame" && x.span.source == l.span.source {
                        assert!(
                            x.span.offset >= l.span.offset && x.span.end() <= l.span.end(),
                            "{} frame {}: {} [{}..{}] outside its layer {} [{}..{}]",
                            path.display(),
                            f.d.meta.number,
                            x.def.name,
                            x.span.offset,
                            x.span.end(),
                            l.proto.name,
                            l.span.offset,
                            l.span.end()
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn every_field_is_declared_with_a_label_and_an_explanation() {
    let mut seen = std::collections::HashSet::new();
    for f in wirelab::dissect::all_fields() {
        assert!(seen.insert(f.name), "{} declared twice", f.name);
        assert!(!f.label.is_empty() && f.explain.len() > 15, "{} lacks a label or explanation", f.name);
        assert!(f.name.starts_with(f.proto.name), "{} is not under its protocol {}", f.name, f.proto.name);
        assert!((1..=7).contains(&f.proto.osi));
    }
    assert!(seen.len() > 150, "only {} fields declared", seen.len());
}

/// The truncation sweep: every frame of every capture, cut at every length,
/// dissects without panicking, and a cut inside a header is reported.
#[test]
fn every_frame_cut_at_every_length_never_panics() {
    let mut sweeps = 0;
    for path in support::captures() {
        for f in support::dissect_file(&path) {
            let full_layers = f.d.layers.len();
            let mut d = Dissection::default();
            for cut in 0..f.bytes.len() {
                let mut dis = Dissector::new();
                let meta = FrameMeta { caplen: cut as u32, ..f.d.meta };
                dis.dissect(meta, &f.bytes[..cut], &mut d);
                sweeps += 1;
                // A cut frame never claims more layers than the whole one
                // (the trailing data layer may come or go).
                assert!(d.layers.len() <= full_layers + 1, "{} frame {} cut at {cut}", path.display(), f.d.meta.number);
                // A cut inside the first header below the payload is reported.
                if cut > 0 && cut < 14 && f.d.meta.linktype == 1 {
                    assert!(d.notes.iter().any(|n| n.severity == Severity::Error && n.message.contains("truncated")));
                }
            }
        }
    }
    assert!(sweeps > 10_000);
}
