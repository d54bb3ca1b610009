//! The glossary: the bundled file is whole (every word of every lab, every
//! field real), broken files are refused with the reason, and each
//! derivation agrees with what an independent program put on the wire.

use wirelab::glossary::{Derive, Glossary, derive};
use wirelab::lab::Lab;
use wirelab::model::Dissection;
use wirelab::session::Session;

use crate::support::{root, tshark_first};

fn frame(capture: &str, number: u64) -> (Dissection, Vec<u8>) {
    let s = Session::open(&root().join(capture)).unwrap();
    let mut d = Dissection::default();
    let bytes = s.number(number, &mut d).unwrap().to_vec();
    (d, bytes)
}

#[test]
fn the_bundled_glossary_has_every_word_of_the_notes_and_of_every_lab() {
    let g = Glossary::parse("labs/glossary.toml", wirelab::glossary::BUNDLED).unwrap();
    for word in [
        "socket",
        "WebSocket",
        "Socket.IO",
        "client",
        "server",
        "OSI model",
        "TCP/IP model",
        "TCP",
        "UDP",
        "packet",
        "message queue",
        "frame",
        "segment",
        "datagram",
        "port",
        "handshake",
        "mask",
        "opcode",
        "namespace",
        "room",
        "acknowledgement",
        "event",
        "Engine.IO",
        "long-polling",
        "upgrade",
        "session id",
        "offset",
        "checksum",
    ] {
        let t = g.find(word).unwrap_or_else(|| panic!("no term \"{word}\""));
        assert!(t.definition.len() > 40, "{word}: a real definition");
    }
    for lab in Lab::bundled() {
        let lab = lab.unwrap();
        for w in &lab.glossary {
            assert!(g.find(w).is_some(), "{}: glossary word \"{w}\" is not in the glossary", lab.id);
        }
    }
    // Fields tie terms to bytes: the socket is an address and a port.
    let socket = g.find("endpoint").expect("aliases find terms");
    assert!(socket.fields.iter().any(|f| f == "ip.src") && socket.fields.iter().any(|f| f == "tcp.srcport"));
    assert!(g.terms_of_field("websocket.masking_key").any(|t| t.term == "mask"));
}

#[test]
fn a_broken_glossary_is_refused_with_the_reason() {
    let term = |extra: &str| format!("[[terms]]\nterm = \"x\"\ndefinition = \"d\"\n{extra}\n");
    for (text, want) in [
        (term("fields = [\"tcp.nonsense\"]"), "no field \"tcp.nonsense\""),
        (term("see = [\"nothing\"]"), "see \"nothing\""),
        (term("osi = [9]"), "OSI layer 9"),
        // A protocol's term says the layer the views place it on.
        (
            "[[terms]]\nterm = \"WebSocket\"\nosi = [6]\ndefinition = \"d\"\n".to_string(),
            "places WebSocket on OSI layer 5",
        ),
        (term("colour = \"red\""), "unknown field"),
        (format!("{}{}", term(""), term("")), "names two terms"),
        ("[[terms]]\nterm = 3".to_string(), ":2:"),
    ] {
        let e = Glossary::parse("g.toml", &text).err().unwrap_or_else(|| panic!("accepted: {text}"));
        assert!(e.contains(want), "{e} (wanted {want})");
    }
}

#[test]
fn the_accept_key_worked_out_is_what_the_python_server_answered() {
    // Frame 4 is the GET with Sec-WebSocket-Key; Python's websockets answered frame 6.
    let cap = "captures/websocket-python.pcap";
    let (d, bytes) = frame(cap, 4);
    let steps = derive(Derive::WebsocketAccept, &d, &bytes).unwrap();
    let answered = tshark_first(&root().join(cap), "http.response.code == 101", "websocket.accept");
    let answered = if answered.is_empty() {
        tshark_first(&root().join(cap), "http.response.code == 101", "http.sec_websocket_accept")
    } else {
        answered
    };
    assert!(!answered.is_empty());
    assert!(steps[3].ends_with(&answered), "{steps:?} vs {answered}");
    // A frame without a key says what to select.
    let (d, bytes) = frame(cap, 1);
    assert!(derive(Derive::WebsocketAccept, &d, &bytes).unwrap_err().contains("select"));
}

#[test]
fn unmasking_byte_by_byte_gives_the_text_the_server_echoed() {
    // Frame 8: the client's masked text; frame 9: the server's echo, unmasked on the wire.
    let cap = "captures/websocket-python.pcap";
    let (d, bytes) = frame(cap, 8);
    let steps = derive(Derive::Unmask, &d, &bytes).unwrap();
    let (d9, bytes9) = frame(cap, 9);
    let echoed = d9.find(&bytes9, "websocket.payload").unwrap().bytes().to_vec();
    let got: Vec<u8> = steps
        .iter()
        .filter(|l| l.starts_with("byte "))
        .map(|l| {
            let hex = l.split(" = ").nth(1).unwrap().get(..2).unwrap();
            u8::from_str_radix(hex, 16).unwrap()
        })
        .collect();
    assert_eq!(got, echoed[..got.len()], "{steps:?}");
    assert!(!got.is_empty());
}

#[test]
fn the_checksum_worked_out_is_the_one_the_kernel_wrote() {
    let (d, bytes) = frame("captures/http-over-loopback.pcap", 1);
    let steps = derive(Derive::Checksum, &d, &bytes).unwrap();
    let last = steps.last().unwrap();
    let (ours, sent) = (last.split(": ").nth(1).unwrap(), last.split("says ").nth(1).unwrap());
    assert_eq!(ours.get(..4), sent.get(..4), "{steps:?}");
}

#[test]
fn next_seq_is_what_tshark_computes_and_the_peer_acknowledges() {
    let cap = root().join("captures/websocket-python.pcap");
    let (d, bytes) = frame("captures/websocket-python.pcap", 4);
    let steps = derive(Derive::NextSeq, &d, &bytes).unwrap();
    let nxt = tshark_first(&cap, "frame.number == 4", "tcp.nxtseq");
    let ack = tshark_first(&cap, "frame.number == 5", "tcp.ack");
    assert_eq!(nxt, ack);
    assert!(steps.last().unwrap().contains(&format!("= {nxt}:")), "{steps:?} vs {nxt}");
}

#[test]
fn a_syn_counts_one_and_a_long_message_is_unmasked_from_its_own_bytes() {
    let (d, bytes) = frame("captures/websocket-python.pcap", 1);
    let steps = derive(Derive::NextSeq, &d, &bytes).unwrap();
    assert!(steps.iter().any(|l| l == "SYN counts as one byte"), "{steps:?}");
    assert!(steps.last().unwrap().contains("0 + 0 + 1 = 1"), "{steps:?}");
    // The 70,000-byte message: its length is in the 64-bit field, not the 7 bits.
    let cap = root().join("captures/websocket-python.pcap");
    let s = Session::open(&cap).unwrap();
    let f = wirelab::filter::Filter::parse("websocket.mask == 1 && websocket.payload_length == 127").unwrap();
    let mut found = None;
    s.scan(|d, b| {
        if found.is_none() && f.matches(d, b) {
            found = Some(d.meta.number);
        }
    });
    let (d, bytes) = frame("captures/websocket-python.pcap", found.expect("a masked frame with a 64-bit length"));
    let steps = derive(Derive::Unmask, &d, &bytes).unwrap();
    let masked = d.find(&bytes, "websocket.masked_payload").unwrap().bytes().len();
    assert!(masked > 1000);
    assert!(steps.last().unwrap().contains(&format!("all {masked} bytes")), "{steps:?}");
}

/// A teacher's glossary goes after the bundled one: its `see` may name
/// bundled terms, and a name (or alias) the bundled glossary has is refused.
#[test]
fn a_teachers_glossary_adds_terms_and_may_not_rename_bundled_ones() {
    use wirelab::glossary::Glossary;
    let term = |name: &str| {
        format!("[[terms]]\nterm = \"{name}\"\nosi = [4]\ndefinition = \"d\"\nsee = [\"TCP\", \"port\"]\n")
    };
    let g = Glossary::parse_beside_bundled("mine/glossary.toml", &term("flux capacitor")).unwrap();
    assert_eq!(g.terms.len(), 1);
    let e = Glossary::parse_beside_bundled("mine/glossary.toml", &term("three-way handshake")).unwrap_err();
    assert!(e.contains("mine/glossary.toml") && e.contains("names two terms"), "{e}");
    // Alone, `see` must name its own terms.
    assert!(Glossary::parse("mine/glossary.toml", &term("flux capacitor")).is_err());
}
