//! The capture session: frame N dissected from the nearest checkpoint equals
//! the N-th dissection of a full pass — fields, values, sources, notes and
//! messages — on every bundled capture and on one larger than the window's
//! old 16 MiB limit.

use std::fmt::Write as _;
use std::sync::Arc;

use wirelab::dissect::Dissector;
use wirelab::file::Capture;
use wirelab::model::Dissection;
use wirelab::session::Session;

use crate::support::{self, root};

/// Everything a dissection says, as text: fields (name, value, span, depth),
/// layers, notes, summary, events, and the bytes of every data source.
fn digest(d: &Dissection, bytes: &[u8]) -> String {
    let mut s = String::new();
    let _ = write!(s, "{:?}|{}|{:?}|{:?}|", d.meta, d.summary.info(), d.summary.src, d.summary.dst);
    for l in &d.layers {
        let _ = write!(s, "L{}{:?}{:?};", l.proto.name, l.span, l.fields);
    }
    for f in d.refs(bytes) {
        let _ = write!(s, "{}={}@{:?}/{}:{};", f.def().name, f.text(64), f.span(), f.field().depth, f.source_name());
    }
    for n in &d.notes {
        let _ = write!(s, "N{}:{}@{:?};", n.def.name, n.message, n.span);
    }
    for e in &d.events {
        let _ =
            write!(s, "E{:?}{:?}{}{:?}{:?}{:?}{:?};", e.kind, e.from_client, e.text, e.frames, e.nsp, e.ack_id, e.sid);
    }
    for src in &d.sources {
        let _ = write!(s, "S{}:{};", src.name, wirelab::model::hex(&src.bytes));
    }
    s
}

/// Compares the session's frame N with the full pass's, for every N.
fn check(cap: Arc<Capture>, every: usize) -> usize {
    let session = Session::index(cap.clone(), every);
    let mut full = Dissector::for_capture(&cap);
    let (mut a, mut b) = (Dissection::default(), Dissection::default());
    let mut n = 0;
    for item in cap.frames() {
        let Ok(f) = item else { break };
        full.dissect(f.meta, &f.data, &mut a);
        let bytes = session.frame(n, &mut b).unwrap_or_else(|| panic!("{}: no frame {n}", cap.name()));
        assert_eq!(bytes, &f.data[..]);
        let (x, y) = (digest(&a, &f.data), digest(&b, bytes));
        assert!(x == y, "{}: frame {} differs from the full pass:\n{x}\n{y}", cap.name(), n + 1);
        n += 1;
    }
    assert_eq!(n, session.len());
    assert!(session.frame(n, &mut b).is_none(), "past the end");
    n
}

#[test]
fn every_frame_of_every_capture_equals_the_full_pass() {
    for path in support::captures() {
        let cap = Arc::new(Capture::open(&path).unwrap());
        // Checkpoints every 3 frames: almost every access restores one, so
        // any state a clone would lose (reassembly, inflaters, handshakes) shows.
        check(cap.clone(), 3);
        check(cap, wirelab::session::CHECKPOINT_EVERY);
    }
}

#[test]
fn a_capture_larger_than_16_mib_keeps_its_context_at_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.pcap");
    // WebSocket messages of up to 70,000 bytes, reassembled from several TCP
    // segments, replayed as new connections: checkpoints fall in the middle
    // of reassemblies. (Compression state is covered on the bundled
    // captures, with a checkpoint every 3 frames.)
    crate::support::replayed_capture(5000, &big, "websocket-python.pcap");
    let cap = Arc::new(Capture::open(&big).unwrap());
    assert!(cap.len() > 16 << 20, "only {} bytes", cap.len());
    let n = check(cap, 64);
    assert_eq!(n, 5_000);
}

#[test]
fn the_session_numbers_frames_like_wireshark_and_keeps_the_messages() {
    let s = Session::open(&root().join("captures/socketio-node.pcap")).unwrap();
    let mut d = Dissection::default();
    let bytes = s.number(58, &mut d).unwrap().to_vec();
    assert_eq!(d.meta.number, 58);
    assert_eq!(d.find(&bytes, "websocket.payload").unwrap().bytes(), b"2probe");
    assert!(s.number(0, &mut d).is_none());
    assert!(s.messages().iter().any(|m| m.kind() == wirelab::model::MsgKind::SioAck && m.answers.is_some()));
}

#[test]
fn checkpoints_stay_within_their_budget_and_keep_every_frame_exact() {
    use wirelab::session::Checkpoints;
    // Many short connections (a replayed HTTP exchange): the state grows
    // with every connection, so checkpoints must thin out, not pile up.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("many.pcap");
    crate::support::replayed_capture(20_000, &big, "http-over-loopback.pcap");
    let cap = Capture::open(&big).unwrap();
    let frames: Vec<_> = cap.frames().map(|f| f.map(|f| (f.meta, f.data.into_owned())).unwrap()).collect();
    let budget = 256 << 10;
    let mut cps = Checkpoints::with_budget(64, budget);
    let mut full = Dissector::new();
    let mut fulls = Vec::new();
    let mut d = Dissection::default();
    for (i, (meta, bytes)) in frames.iter().enumerate() {
        cps.before(i, &full);
        full.dissect(*meta, bytes, &mut d);
        fulls.push(digest(&d, bytes));
    }
    assert!(cps.bytes() <= budget, "{} bytes held", cps.bytes());
    assert!(cps.spacing() > 64, "the spacing grew: {}", cps.spacing());
    let mut b = Dissection::default();
    for n in (0..frames.len()).step_by(97).chain([frames.len() - 1]) {
        assert!(cps.dissect(n, |i| frames.get(i).map(|(m, x)| (*m, x.as_slice())), &mut b));
        assert_eq!(digest(&b, &frames[n].1), fulls[n], "frame {}", n + 1);
    }
}

/// A dissector without the protocol tree (summary lines, `--stats`, the
/// window's first pass over a big file) gives every frame the same summary
/// and messages as one with it, keeps the frame's time since the first and
/// no other field and no note, and leaves a state that dissects on exactly
/// (a checkpoint taken from it).
#[test]
fn without_the_tree_summaries_and_messages_are_the_same_and_its_state_dissects_on_exactly() {
    for path in support::captures() {
        let cap = Capture::open(&path).unwrap();
        let (mut with, mut without) = (Dissector::new(), Dissector::new());
        without.set_tree(false);
        let (mut a, mut b) = (Dissection::default(), Dissection::default());
        let (mut fields_left_out, mut notes_left_out) = (0, 0);
        for f in cap.frames() {
            let f = f.unwrap();
            with.dissect(f.meta, &f.data, &mut a);
            without.dissect(f.meta, &f.data, &mut b);
            let n = f.meta.number;
            assert_eq!(a.summary.info(), b.summary.info(), "{}: frame {n}", path.display());
            assert_eq!(a.summary.protocol, b.summary.protocol, "{}: frame {n}", path.display());
            assert_eq!((a.summary.src, a.summary.dst), (b.summary.src, b.summary.dst), "{}: frame {n}", path.display());
            assert_eq!(format!("{:?}", a.events), format!("{:?}", b.events), "{}: frame {n}", path.display());
            assert!(b.field("frame.time_relative").is_some(), "the summary line's time is kept");
            assert!(b.fields.iter().all(|f| f.def.name == "frame.time_relative"), "{}: frame {n}", path.display());
            assert!(b.notes.is_empty(), "{}: frame {n}: notes are part of the tree", path.display());
            fields_left_out += a.fields.len() - b.fields.len();
            notes_left_out += a.notes.len();
        }
        assert!(fields_left_out > 0 && notes_left_out > 0, "{}: the tree was built anyway", path.display());
        // The tree-less state, cloned and switched back, dissects the next
        // frames as the full pass does.
        let mut again = without.clone();
        again.set_tree(true);
        let extra = Capture::open(&path).unwrap();
        for f in extra.frames().take(5) {
            let f = f.unwrap();
            with.dissect(f.meta, &f.data, &mut a);
            again.dissect(f.meta, &f.data, &mut b);
            assert_eq!(digest(&a, &f.data), digest(&b, &f.data), "{}", path.display());
        }
    }
}
