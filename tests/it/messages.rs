//! Messages: events paired with their answers, TCP connections as messages,
//! and Engine.IO sessions told across their connections (`follow --by session`).

use serde_json::Value as Json;
use wirelab::messages::{Transport, correlate};
use wirelab::model::MsgKind;

use crate::support::{self, root, wirelab_bin};

fn messages_of(path: &std::path::Path) -> Vec<wirelab::messages::Message> {
    correlate(support::dissect_file(path).into_iter().flat_map(|f| f.d.events).collect())
}

#[test]
fn every_event_with_an_ack_id_finds_its_ack_in_every_capture() {
    let mut pairs = 0;
    for path in support::captures() {
        let m = messages_of(&path);
        for (i, x) in m.iter().enumerate() {
            let Some(id) = x.event.ack_id.filter(|_| x.kind() == MsgKind::SioEvent) else { continue };
            // An EVENT whose ACK is in the capture: the ACK answers it, same id and namespace, the other way.
            let ack = m.iter().position(|a| {
                a.kind() == MsgKind::SioAck
                    && a.event.ack_id == Some(id)
                    && a.event.nsp == x.event.nsp
                    && a.event.from_client != x.event.from_client
                    && a.session == x.session
                    && a.event.frames[0] > x.event.frames[0]
            });
            if let Some(j) = ack {
                assert_eq!(m[j].answers, Some(i), "{}: ack in frame {:?}", path.display(), m[j].event.frames);
                assert_eq!(x.answered_by, Some(j));
                pairs += 1;
            }
        }
        // Every answer points back at a question that points at it.
        for (i, x) in m.iter().enumerate() {
            if let Some(j) = x.answers {
                assert_eq!(m[j].answered_by, Some(i), "{}", path.display());
                assert!(m[j].event.frames[0] <= x.event.frames[0]);
            }
        }
    }
    assert!(pairs >= 10, "only {pairs} EVENT/ACK pairs in the bundled captures");
}

#[test]
fn tcp_connections_are_messages_too() {
    let m = messages_of(&root().join("captures/http-over-loopback.pcap"));
    let open = m.iter().find(|x| x.kind() == MsgKind::TcpOpen).expect("an open");
    assert_eq!(open.event.frames.to_vec(), vec![1, 2, 3], "SYN, SYN-ACK and ACK");
    assert_eq!((open.transport, open.event.from_client), (Transport::Tcp, Some(true)));
    let fins: Vec<_> = m.iter().filter(|x| x.kind() == MsgKind::TcpClose).collect();
    assert_eq!(fins.len(), 2);
    assert!(fins[1].answers.is_some(), "the second FIN answers the first");
    // The HTTP response answers the request.
    let req = m.iter().position(|x| x.kind() == MsgKind::HttpRequest).unwrap();
    assert_eq!(m.iter().find(|x| x.kind() == MsgKind::HttpResponse).unwrap().answers, Some(req));
}

#[test]
fn follow_by_session_tells_each_engineio_session_across_its_connections() {
    let out = wirelab_bin()
        .args(["follow", "--by", "session", "--format", "json"])
        .arg(root().join("captures/socketio-node.pcap"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let sessions: Vec<Json> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(sessions.len() >= 2, "{sessions:?}");
    // The sids are the ones the open packets gave (the dissector's own field).
    let frames = support::dissect_file(&root().join("captures/socketio-node.pcap"));
    let opens: Vec<String> = frames
        .iter()
        .flat_map(|f| {
            f.d.find_all(&f.bytes, "engineio.data")
                .filter(|d| d.bytes().starts_with(b"{\"sid\""))
                .map(|d| d.bytes().to_vec())
                .collect::<Vec<_>>()
        })
        .map(|b| serde_json::from_slice::<Json>(&b).unwrap()["sid"].as_str().unwrap().to_string())
        .collect();
    let sids: Vec<&str> = sessions.iter().map(|s| s["session"].as_str().unwrap()).collect();
    assert_eq!(sids, opens.iter().map(String::as_str).collect::<Vec<_>>());
    let mut upgraded = 0;
    for s in &sessions {
        let msgs = s["messages"].as_array().unwrap();
        let streams = s["streams"].as_array().unwrap();
        let polling = msgs.iter().any(|m| m["transport"] == "polling");
        // A session that starts on long-polling spans several connections
        // (GETs and POSTs); a WebSocket-only one, its one connection.
        assert!(if polling { streams.len() >= 3 } else { streams.len() == 1 }, "{streams:?}");
        // In time order across connections.
        let firsts: Vec<u64> = msgs.iter().map(|m| m["frames"][0].as_u64().unwrap()).collect();
        assert!(firsts.windows(2).all(|w| w[0] <= w[1]), "{firsts:?}");
        // The namespace CONNECT is answered; over polling it is POSTed on one
        // connection and answered in a GET on another.
        let connect = msgs.iter().position(|m| m["kind"] == "sio-connect" && m["dir"] == "client").unwrap();
        let answer = msgs.iter().find(|m| m["kind"] == "sio-connect" && m["dir"] == "server").unwrap();
        assert_eq!(answer["answers"].as_u64(), Some(connect as u64));
        if polling {
            assert_ne!(answer["stream"], msgs[connect]["stream"]);
        }
        // Where it upgraded: probe and its answer on the WebSocket, then "upgrade".
        if polling && msgs.iter().any(|m| m["transport"] == "websocket") {
            upgraded += 1;
            let probe = msgs.iter().position(|m| m["kind"] == "eio-probe").unwrap();
            let answer = msgs.iter().find(|m| m["kind"] == "eio-probe-answer").unwrap();
            assert_eq!(answer["answers"].as_u64(), Some(probe as u64));
            assert_eq!(answer["transport"], "websocket");
            assert!(msgs.iter().any(|m| m["kind"] == "eio-upgrade"));
        }
    }
    assert!(upgraded >= 1);
    // The text form names each session and its streams.
    let out = wirelab_bin()
        .args(["follow", "--by", "session"])
        .arg(root().join("captures/socketio-node.pcap"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("Engine.IO session {} (TCP streams", opens[0])), "{text}");
}

#[test]
fn follow_json_names_what_each_message_answers() {
    let out = wirelab_bin()
        .args(["follow", "--format", "json"])
        .arg(root().join("captures/websocket-python.pcap"))
        .output()
        .unwrap();
    let v: Json = serde_json::from_slice(&out.stdout).unwrap();
    let msgs = v["messages"].as_array().unwrap();
    let by_id = |id: u64| msgs.iter().find(|m| m["id"].as_u64() == Some(id)).unwrap();
    let pong = msgs.iter().find(|m| m["kind"] == "ws-pong").unwrap();
    assert_eq!(by_id(pong["answers"].as_u64().unwrap())["kind"], "ws-ping");
    let upgraded = msgs.iter().find(|m| m["text"].as_str().is_some_and(|t| t.starts_with("101"))).unwrap();
    assert_eq!(by_id(upgraded["answers"].as_u64().unwrap())["kind"], "handshake");
    assert!(msgs.iter().all(|m| m["transport"] == "websocket" || m["transport"] == "tcp"));
}

#[test]
fn the_info_column_names_every_message_a_frame_carries() {
    // One TCP segment or polling body may carry several messages: the info
    // column lists each, in order, as the correlator sees them.
    let line = |cap: &str, n: u64| {
        let s = wirelab::session::Session::open(&root().join(cap)).unwrap();
        let mut d = wirelab::model::Dissection::default();
        s.number(n, &mut d).unwrap();
        // The HTTP answer that carries a polling body is named by its packets.
        let events = d
            .events
            .iter()
            .filter(|e| !e.kind.is_tcp() && !matches!(e.kind, MsgKind::HttpRequest | MsgKind::HttpResponse))
            .count();
        (d.summary.info().into_owned(), events)
    };
    for (cap, n, want) in [
        ("captures/scenario-chat-missed-events.pcap", 43, &["EVENT \"chat message\"", "ACK / id=1"][..]),
        (
            "captures/scenario-chat-missed-events.pcap",
            132,
            &["EVENT \"welcome\"", "EVENT \"chat message\"", "EVENT \"chat message\"", "EVENT \"chat message\""][..],
        ),
        ("captures/scenario-chat-polling-upgrade.pcap", 16, &["CONNECT /", "EVENT \"welcome\"", "Engine.IO ping"][..]),
        ("captures/scenario-echo-basics.pcap", 30, &["Pong", "Connection Close"][..]),
    ] {
        let (info, events) = line(cap, n);
        let parts: Vec<&str> = info.split(", ").collect();
        assert_eq!(parts.len(), want.len(), "{cap} frame {n}: {info}");
        assert_eq!(events, want.len(), "{cap} frame {n}: one message per event");
        for (p, w) in parts.iter().zip(want) {
            assert!(p.contains(w), "{cap} frame {n}: {p:?} is not {w:?} in {info}");
        }
    }
}

#[test]
fn a_request_line_reads_as_its_text_and_a_derived_truth_as_true() {
    let out = wirelab_bin()
        .args(["dissect", "-V", "-Y", "http.request"])
        .arg(root().join("captures/http-over-loopback.pcap"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(r"Request line: GET /index.html HTTP/1.1\r\n  (http.request)"), "{text}");
    assert!(text.contains("From the client: True  (tcp.from_client)"), "{text}");
    assert!(text.contains("= Syn: Not set"), "flags stay set or not set: {text}");
    assert!(!text.contains("Request line: Set"));
}
