//! The ladder diagram: built from the session's messages, exported as
//! text, Mermaid and SVG (rendered here by rsvg-convert, an independent
//! SVG renderer), with one arrow per WebSocket message as tshark counts them.

use std::process::Command;

use wirelab::ladder::{Level, Scope, build};
use wirelab::model::MsgKind;
use wirelab::session::Session;

use crate::support::{root, tshark, wirelab_bin};

fn ladder(args: &[&str]) -> String {
    let out = wirelab_bin().arg("ladder").arg(root().join("captures/socketio-node.pcap")).args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_text_ladder_draws_each_message_between_its_two_lanes() {
    let text = ladder(&["--stream", "3"]);
    assert!(text.contains("C1 = client 127.0.0.1:40050") && text.contains("S1 = server 127.0.0.1:9102"), "{text}");
    let rows: Vec<&str> = text.lines().filter(|l| l.contains("(frame")).collect();
    // The same messages `follow` tells for that connection, in the same order.
    let follow = wirelab_bin()
        .arg("follow")
        .arg(root().join("captures/socketio-node.pcap"))
        .args(["--stream", "3"])
        .output()
        .unwrap();
    let follow = String::from_utf8(follow.stdout).unwrap();
    let told = follow.lines().filter(|l| l.trim_start().starts_with("frame")).count();
    assert_eq!(rows.len(), told, "{text}\n{follow}");
    // The client's event goes right, the server's ACK comes back left.
    let event = rows.iter().find(|r| r.contains("EVENT / ack=0")).unwrap();
    assert!(event.contains("│────▶│"), "{event}");
    let ack = rows.iter().find(|r| r.contains("ACK / ack=0")).unwrap();
    assert!(ack.contains("│◀────│"), "{ack}");
    // A level leaves out what is below it.
    let sio = ladder(&["--stream", "3", "--level", "socketio"]);
    assert!(!sio.contains("SYN") && !sio.contains("101 Switching") && sio.contains("EVENT / ack=0"), "{sio}");
}

#[test]
fn a_whole_engineio_session_is_one_ladder_across_its_connections() {
    let s = Session::open(&root().join("captures/socketio-node.pcap")).unwrap();
    let sid = "nc9V8Ft8QO8LtaqzAAAA";
    let l = build(&s, &Scope { session: Some(sid.into()), ..Scope::default() }, Level::Engineio);
    // Polling (the open packet), then the WebSocket (probe, upgrade, events): several client sockets, one server.
    let clients = l.lanes.iter().filter(|x| x.name.starts_with("client")).count();
    assert!(clients >= 2, "{:?}", l.lanes);
    assert_eq!(l.lanes.last().unwrap().name, "server 127.0.0.1:9102");
    let kinds: Vec<MsgKind> = l.arrows.iter().map(|a| a.kind).collect();
    let pos = |k: MsgKind| kinds.iter().position(|x| *x == k).unwrap_or_else(|| panic!("no {k:?}: {kinds:?}"));
    assert!(pos(MsgKind::EioOpen) < pos(MsgKind::EioProbe) && pos(MsgKind::EioProbe) < pos(MsgKind::EioUpgrade));
    // An answer points at what it answers.
    let ack = l.arrows.iter().find(|a| a.kind == MsgKind::SioAck).unwrap();
    let asked = &l.arrows[ack.answers.expect("the ACK answers an EVENT")];
    assert_eq!(asked.kind, MsgKind::SioEvent);
    assert_eq!((asked.from, asked.to), (ack.to, ack.from), "the answer goes back the way the question came");
}

#[test]
fn one_arrow_per_websocket_message_as_tshark_counts_them() {
    let cap = root().join("captures/websocket-python.pcap");
    let s = Session::open(&cap).unwrap();
    let l = build(&s, &Scope::default(), Level::Websocket);
    let ws = l
        .arrows
        .iter()
        .filter(|a| {
            matches!(a.kind, MsgKind::WsText | MsgKind::WsBinary | MsgKind::WsPing | MsgKind::WsPong | MsgKind::WsClose)
        })
        .count();
    // A message ends at a frame with FIN set; tshark lists every frame's FIN bit.
    let out =
        tshark().arg("-r").arg(&cap).args(["-Y", "websocket", "-T", "fields", "-e", "websocket.fin"]).output().unwrap();
    let fins = String::from_utf8_lossy(&out.stdout).split([',', '\n']).filter(|v| *v == "1" || *v == "True").count();
    assert!(fins > 5);
    assert_eq!(ws, fins);
}

#[test]
fn mermaid_and_svg_exports_are_well_formed_and_the_svg_renders() {
    let m = ladder(&["--stream", "3", "--format", "mermaid"]);
    let mut lines = m.lines();
    assert_eq!(lines.next(), Some("sequenceDiagram"));
    let participants = m.lines().filter(|l| l.trim_start().starts_with("participant ")).count();
    assert_eq!(participants, 2, "{m}");
    let arrows: Vec<&str> = m.lines().filter(|l| l.contains("->>") || l.contains("--)")).collect();
    assert!(arrows.len() > 10);
    for a in &arrows {
        // Mermaid ends a statement at ';': message texts carry it as an entity.
        assert!(!a.replace("#59;", "").replace("#35;", "").contains(';'), "{a}");
        assert!(a.trim_start().starts_with('C') || a.trim_start().starts_with('S'), "{a}");
    }

    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("ladder.svg");
    let out = wirelab_bin()
        .arg("ladder")
        .arg(root().join("captures/socketio-node.pcap"))
        .args(["--session", "nc9V8Ft8QO8LtaqzAAAA", "--format", "svg", "-o"])
        .arg(&svg)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"));
    let png = dir.path().join("ladder.png");
    let r = Command::new("rsvg-convert").arg(&svg).arg("-o").arg(&png).output();
    let r = r.expect("rsvg-convert is installed by scripts/install-deps --test (librsvg2-bin)");
    assert!(r.status.success(), "rsvg-convert: {}", String::from_utf8_lossy(&r.stderr));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    assert!(bytes.len() > 10_000, "a real picture, not an empty page");
}

#[test]
fn nothing_in_scope_is_a_clear_error() {
    let out = wirelab_bin()
        .arg("ladder")
        .arg(root().join("captures/socketio-node.pcap"))
        .args(["--session", "no-such-session"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no messages in that scope"));
}

/// The frames of the broadcast a frame's message belongs to.
fn broadcast(capture: &str, frame: u64) -> (wirelab::ladder::Ladder, Vec<u64>) {
    let s = Session::open(&root().join(capture)).unwrap();
    let l = build(&s, &Scope { broadcast: Some(frame), ..Scope::default() }, Level::Tcp);
    let frames = l.arrows.iter().flat_map(|a| a.frames.clone()).collect();
    (l, frames)
}

/// One broadcast through Redis, told whole (the two-nodes scenario): A1's
/// emit, node A's PUBLISH, Redis's delivery to node B and back to node A,
/// and each node's EVENT to its clients — from any of its frames; lanes in
/// the order the broadcast reaches them. `local` never reaches Redis.
#[test]
fn one_broadcast_is_followed_across_both_nodes_and_redis() {
    let capture = "captures/scenario-chat-two-nodes.pcap";
    let (l, frames) = broadcast(capture, 86);
    assert!(l.broadcast);
    assert_eq!(frames, [80, 82, 83, 84, 86, 88, 89], "{}", l.text());
    let kinds: Vec<MsgKind> = l.arrows.iter().map(|a| a.kind).collect();
    use MsgKind::*;
    assert_eq!(kinds, [SioEvent, RedisCommand, RedisPush, RedisPush, SioEvent, SioEvent, SioEvent]);
    // Read left to right: A1, node A, node A's Redis connection, Redis, …
    let names: Vec<&str> = l.lanes.iter().map(|x| x.name.as_str()).collect();
    assert!(names[0].starts_with("client ") && names[1].starts_with("server "), "{names:?}");
    assert!(names[2].starts_with("Redis client ") && names[3].starts_with("Redis server "), "{names:?}");
    assert!(l.hop(3).contains("back to the node that published it"), "{}", l.hop(3));
    assert!(l.hop(2).contains("another node"), "{}", l.hop(2));
    for f in [80, 82, 83, 89] {
        assert_eq!(broadcast(capture, f).1, frames, "from frame {f}");
    }
    // `local`: node A's two clients, nothing through Redis.
    let (l, frames) = broadcast(capture, 94);
    assert_eq!(frames, [92, 93, 94], "{}", l.text());
    // A frame that carries no broadcast: an empty ladder.
    assert!(broadcast(capture, 1).0.arrows.is_empty());
}

/// On the official socket.io server's capture: ana's "hello everyone",
/// acknowledged after the server sent it on to its three clients.
#[test]
fn a_broadcast_is_followed_on_the_official_servers_capture() {
    let capture = "captures/third-party/sio-a-node.pcap";
    let (l, frames) = broadcast(capture, 212);
    assert_eq!(frames, [204, 209, 212, 214], "{}", l.text());
    assert!(l.hop(0).starts_with("the sender"), "{}", l.hop(0));
    assert_eq!(broadcast(capture, 204).1, frames);
    // The CLI tells it hop by hop; a frame without one is an error that says why.
    let out = wirelab_bin().arg("ladder").arg(root().join(capture)).args(["--broadcast", "209"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("one broadcast, hop by hop:") && text.contains("frame 214:"),
        "{text}"
    );
    let out = wirelab_bin().arg("ladder").arg(root().join(capture)).args(["--broadcast", "1"]).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("carries no broadcast"));
}

/// tshark's `tcp.analysis.acks_frame` of every TCP frame of a stream that
/// has one, and the stream's frames.
fn tshark_acks(cap: &std::path::Path, stream: u32) -> (Vec<u64>, std::collections::HashMap<u64, u64>) {
    let out = tshark()
        .arg("-r")
        .arg(cap)
        .args(["-Y", &format!("tcp.stream == {stream}"), "-T", "fields", "-e", "frame.number"])
        .args(["-e", "tcp.analysis.acks_frame"])
        .output()
        .unwrap();
    let mut frames = Vec::new();
    let mut acks = std::collections::HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut cols = line.split('\t');
        let f: u64 = cols.next().unwrap().parse().unwrap();
        frames.push(f);
        if let Some(a) = cols.next().and_then(|a| a.parse().ok()) {
            acks.insert(f, a);
        }
    }
    (frames, acks)
}

#[test]
fn the_segments_level_shows_every_segment_and_links_each_ack_to_the_segment_it_acknowledges() {
    for (capture, stream) in [("captures/socketio-node.pcap", 3), ("captures/scenario-tcp-bulk.pcap", 0)] {
        let cap = root().join(capture);
        let s = Session::open(&cap).unwrap();
        let l = build(&s, &Scope { stream: Some(stream), ..Scope::default() }, Level::Segments);
        let (frames, tshark_acks) = tshark_acks(&cap, stream);
        assert!(tshark_acks.len() > 5, "{capture}");
        // TCP seen whole: every frame of the connection is on an arrow (up
        // to the limit, counted beyond it), and each one-frame arrow once.
        let on_arrows: std::collections::HashSet<u64> = l.arrows.iter().flat_map(|a| a.frames.clone()).collect();
        let missing = frames.iter().filter(|f| !on_arrows.contains(f)).count();
        assert_eq!(missing, l.segments_left_out, "{capture}");
        let own: Vec<_> = l.arrows.iter().filter(|a| a.kind == MsgKind::TcpSegment).collect();
        assert!(own.iter().all(|a| a.frames.len() == 1 && a.message.is_none()));
        // Each arrow's ACK is tshark's, and links to the arrow that carried it.
        let mut linked = 0;
        for a in &l.arrows {
            let Some(f) = a.acks_frame else { continue };
            let from = a.frames.iter().find(|x| tshark_acks.contains_key(x)).unwrap_or_else(|| panic!("{a:?}"));
            assert_eq!(tshark_acks[from], f, "{capture} frame {from}");
            if let Some(k) = a.acks {
                assert!(l.arrows[k].frames.contains(&f), "{capture}: {a:?}");
                linked += 1;
            } else {
                assert!(!on_arrows.contains(&f), "{capture}: frame {f} is shown but not linked");
            }
        }
        // Every ACK tshark names on a shown one-frame arrow is there.
        for a in &own {
            assert_eq!(a.acks_frame, tshark_acks.get(&a.frames[0]).copied(), "{capture} {a:?}");
        }
        assert!(linked > 5, "{capture}");
        assert!(l.arrows.iter().enumerate().all(|(k, a)| a.acks != Some(k)), "a handshake does not link to itself");
        // Arrows in time order, and ACKs go the other way from what they acknowledge.
        assert!(l.arrows.windows(2).all(|w| w[1].dt >= 0.0 || w[1].kind != MsgKind::TcpSegment));
        for a in l.arrows.iter().filter(|a| a.kind == MsgKind::TcpSegment && a.acks.is_some()) {
            let b = &l.arrows[a.acks.unwrap()];
            assert_eq!((a.from, a.to), (b.to, b.from), "{capture}: {a:?} acks {b:?}");
        }
    }
    // The text says it; the default level (tcp) does not show bare ACKs.
    let text = ladder(&["--stream", "3", "--level", "segments"]);
    assert!(text.contains("ACK of frame") && text.contains("[ACK of frame"), "{text}");
    assert!(!ladder(&["--stream", "3"]).contains("ACK of frame"));
}
