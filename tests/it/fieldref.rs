//! One way to ask about a field (`FieldRef`): bytes from the field's own data
//! source in every output, typed values, children, comparison by the display
//! filter's rules; and notes declared once, filterable and listed by name.

use serde_json::Value as Json;

use crate::support::{self, root, wirelab_bin};

/// Frame 58 of the socket.io capture: a masked client frame "2probe" whose
/// payload and Engine.IO packet live in the "Unmasked data" source.
const PROBE_FRAME: u64 = 58;

#[test]
fn derived_fields_show_their_own_source_and_bytes_in_verbose_output() {
    let out = wirelab_bin()
        .args(["dissect", "-V", "-c", &PROBE_FRAME.to_string()])
        .arg(root().join("captures/socketio-node.pcap"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let frame = &text[text.find(&format!("Frame {PROBE_FRAME}:")).expect("the frame is printed")..];
    // The regression: these showed the frame's bytes (00 00 …) and no source.
    assert!(frame.contains("(websocket.payload) [Unmasked data 0..6: 3270726f6265]"), "{frame}");
    assert!(frame.contains("Packet type: 2 (ping)  (engineio.type) [Unmasked data 0..1: 32]"), "{frame}");
}

#[test]
fn derived_fields_carry_their_source_and_its_bytes_in_json() {
    // Unmasked (socket.io), reassembled (70 KB messages) and decompressed.
    for (name, at_least) in
        [("socketio-node.pcap", 20), ("websocket-python.pcap", 10), ("websocket-python-deflate.pcap", 10)]
    {
        let checked = derived_json_agrees(&root().join("captures").join(name));
        assert!(checked >= at_least, "{name}: only {checked} derived fields checked");
    }
}

/// Checks every derived field's JSON value against the bytes of its source;
/// returns how many it checked.
fn derived_json_agrees(cap: &std::path::Path) -> usize {
    let out = wirelab_bin().args(["dissect", "--format", "json"]).arg(cap).output().unwrap();
    let frames: Vec<Json> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let ours = support::dissect_file(cap);
    let mut checked = 0;
    // Every byte-valued field in a derived source: JSON's value is the bytes
    // of that source at its offset (checked against the library).
    for (j, x) in frames.iter().zip(&ours) {
        let mut stack: Vec<&Json> =
            j["layers"].as_array().unwrap().iter().flat_map(|l| l["fields"].as_array().unwrap()).collect();
        while let Some(f) = stack.pop() {
            stack.extend(f["children"].as_array().unwrap());
            let Some(source) = f["source"].as_str() else { continue };
            let idx = x.d.sources.iter().position(|s| s.name == source).expect("a source the frame has") + 1;
            let bytes = x.d.source_bytes(&x.bytes, idx as u16);
            let (off, len) = (f["offset"].as_u64().unwrap() as usize, f["len"].as_u64().unwrap() as usize);
            if let Some(v) =
                f["value"].as_str().filter(|v| v.len() == 2 * len && v.chars().all(|c| c.is_ascii_hexdigit()))
            {
                assert_eq!(v, wirelab::model::hex(&bytes[off..off + len]), "frame {} {}", x.d.meta.number, f["name"]);
                checked += 1;
            }
        }
    }
    checked
}

#[test]
fn field_refs_read_values_children_and_compare_like_the_filter() {
    let frames = support::dissect_file(&root().join("captures/socketio-node.pcap"));
    let f = frames.iter().find(|f| f.d.meta.number == PROBE_FRAME).unwrap();
    let payload = f.d.find(&f.bytes, "websocket.payload").expect("a payload");
    assert_eq!(payload.source_name(), "Unmasked data");
    assert_eq!(payload.bytes(), b"2probe");
    let ty = f.d.find(&f.bytes, "engineio.type").unwrap();
    assert_eq!(ty.bytes(), b"2");
    assert!(ty.equals("2") && ty.equals("\"ping\"") && ty.equals("ping") && !ty.equals("3"));
    // Flags are children of tcp.flags, in order.
    let flags = f.d.find(&f.bytes, "tcp.flags").unwrap();
    let kids: Vec<&str> = flags.children().map(|c| c.def().name).collect();
    assert!(kids.starts_with(&["tcp.flags.res"]) && kids.contains(&"tcp.flags.ack"), "{kids:?}");
    assert!(kids.iter().all(|k| k.starts_with("tcp.flags.")));
    let src = f.d.find(&f.bytes, "ip.src").unwrap();
    assert!(src.equals("127.0.0.1") && !src.equals("127.0.0.2"));
    assert_eq!(src.bits(), None);
    let syn = f.d.find(&f.bytes, "tcp.flags.syn").unwrap();
    assert_eq!(syn.bits().as_deref(), Some(".... .... .... ..0."));
}

#[test]
fn every_field_and_note_the_dissectors_emit_is_declared_and_listed() {
    let out = wirelab_bin().arg("fields").output().unwrap();
    let listed: std::collections::HashSet<String> =
        String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.split('\t').next()).map(str::to_string).collect();
    let mut notes = 0;
    for path in support::captures() {
        for f in support::dissect_file(&path) {
            for x in &f.d.fields {
                assert!(
                    listed.contains(x.def.name),
                    "{}: field {} is not listed by `wirelab fields`",
                    path.display(),
                    x.def.name
                );
            }
            for n in &f.d.notes {
                notes += 1;
                assert!(listed.contains(n.def.name), "{}: note {} is not listed", path.display(), n.def.name);
                assert!(!n.def.explain.is_empty(), "note {} has no explanation", n.def.name);
                assert_eq!((n.severity, n.layer), (n.def.severity, n.def.proto.name));
            }
        }
    }
    assert!(notes > 100);
    // Names are unique across fields and notes, except the TCP analysis
    // flags, which Wireshark has as both.
    let mut seen = std::collections::HashMap::new();
    for n in wirelab::dissect::all_fields().map(|f| f.name).chain(wirelab::dissect::all_notes().map(|n| n.name)) {
        *seen.entry(n).or_insert(0) += 1;
    }
    for (n, c) in seen {
        assert!(c == 1 || (c == 2 && n.starts_with("tcp.analysis.")), "{n} is declared {c} times");
    }
}

#[test]
fn notes_are_filterable_by_name() {
    use wirelab::filter::Filter;
    let frames = support::dissect_file(&root().join("captures/tcp-loss-veth.pcap"));
    // A note that is not also a field: present exactly where the note is,
    // and where tshark has the same expert item.
    let name = "tcp.connection.syn";
    let f = Filter::parse(name).unwrap();
    let by_filter: Vec<u64> = frames.iter().filter(|x| f.matches(&x.d, &x.bytes)).map(|x| x.d.meta.number).collect();
    let by_note: Vec<u64> =
        frames.iter().filter(|x| x.d.notes.iter().any(|n| n.def.name == name)).map(|x| x.d.meta.number).collect();
    assert!(!by_note.is_empty());
    assert_eq!(by_filter, by_note);
    let theirs = crate::filter::theirs(&root().join("captures/tcp-loss-veth.pcap"), name);
    assert_eq!(by_filter.into_iter().collect::<std::collections::BTreeSet<_>>(), theirs);
    let e = Filter::parse("tcp.connection.syn == 1").unwrap_err();
    assert!(e.message.contains("is a note"), "{e}");
    let e = Filter::parse("tcp.connection.sin").unwrap_err();
    assert!(e.message.contains("did you mean tcp.connection.syn"), "{e}");
}
