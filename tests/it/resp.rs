//! RESP, Redis's protocol, on traffic wirelab did not make: redis-py
//! against a real redis-server (`scripts/make-captures.sh redis`). RESP2
//! agrees with tshark field by field; RESP3 (which tshark 4.0 cannot read)
//! is checked value by value against what the client asked for. Commands
//! pair with their replies; pub/sub messages are messages of their own. Cut
//! and malformed streams give notes, never a panic.

use std::path::PathBuf;

use wirelab::dissect::Dissector;
use wirelab::messages::{Message, correlate};
use wirelab::model::{Dissection, FrameMeta, MsgKind, Value};

use crate::support::{self, Dissected};

fn capture(name: &str) -> PathBuf {
    support::root().join("captures").join(name)
}

fn values<'a>(frames: &'a [Dissected], name: &'a str) -> impl Iterator<Item = String> + 'a {
    frames.iter().flat_map(move |f| {
        f.d.refs(&f.bytes).filter(move |r| r.def().name == name).map(|r| r.text(200)).collect::<Vec<_>>()
    })
}

#[test]
fn redis_py_resp2_agrees_with_tshark_field_by_field() {
    let path = capture("redis-py-resp2.pcap");
    let frames = support::dissect_file(&path);
    // RESP is read (so the comparison below covers it), on every value kind.
    for (name, at_least) in [
        ("resp.bulk_string.value", 60),
        ("resp.array.length", 30),
        ("resp.integer", 8),
        ("resp.string", 6),
        ("resp.error", 4),
    ] {
        let n = values(&frames, name).count();
        assert!(n >= at_least, "{name}: {n} in the capture, expected at least {at_least}");
    }
    assert!(values(&frames, "resp.error").any(|e| e.starts_with("WRONGTYPE")));
    assert!(values(&frames, "resp.bulk_string.length").any(|l| l == "-1"), "the null bulk string of GET");
    // The 100,000-byte value, reassembled across segments.
    assert!(values(&frames, "resp.bulk_string.length").filter(|l| l == "100000").count() >= 2);
    let (n, problems) = crate::tshark_diff::compare_with(&path, None, &[]);
    assert!(n > 500 && problems.is_empty(), "{n} comparisons; {problems:#?}");
}

#[test]
fn redis_py_resp3_values_are_read_as_resp3() {
    let frames = support::dissect_file(&capture("redis-py-resp3.pcap"));
    let all = |name: &str| values(&frames, name).collect::<Vec<_>>();
    assert!(!all("resp.map").is_empty(), "HELLO 3's and HGETALL's maps");
    assert!(!all("resp.set").is_empty(), "SMEMBERS's set");
    assert_eq!(all("resp.double"), ["2.5", "3.5"]);
    assert!(!all("resp.null").is_empty(), "GET of a missing key");
    assert_eq!(all("resp.boolean"), ["True"]);
    assert_eq!(all("resp.big_number"), ["1234567890123456789012345678901234567890"]);
    assert_eq!(all("resp.verbatim_string.encoding"), ["txt"]);
    // HELLO's map names the protocol it switched to.
    let hello = frames.iter().find(|f| f.d.field("resp.map").is_some()).expect("a map");
    let texts: Vec<String> =
        hello
            .d
            .refs(&hello.bytes)
            .filter(|r| r.def().name == "resp.bulk_string.value" || r.def().name == "resp.integer")
            .map(|r| {
                if r.def().name == "resp.integer" {
                    r.text(50)
                } else {
                    String::from_utf8_lossy(r.bytes()).into_owned()
                }
            })
            .collect();
    assert!(texts.windows(2).any(|w| w[0] == "proto" && w[1] == "3"), "{texts:?}");
    // Pub/sub over RESP3: the confirmations and the messages are pushes.
    let pushes = frames.iter().filter(|f| f.d.field("resp.push").is_some()).count();
    assert!(pushes >= 4, "{pushes} frames with a push");
    for f in &frames {
        for x in f.d.fields_named("resp.double") {
            assert!(matches!(x.value, Value::F(v) if v == 2.5 || v == 3.5));
        }
    }
}

/// Commands and replies pair in order; a published message answers nothing.
#[test]
fn commands_pair_with_their_replies_and_pushes_stand_alone() {
    for name in ["redis-py-resp2.pcap", "redis-py-resp3.pcap"] {
        let frames = support::dissect_file(&capture(name));
        let msgs = correlate(frames.into_iter().flat_map(|f| f.d.events).collect());
        let commands: Vec<&Message> = msgs.iter().filter(|m| m.kind() == MsgKind::RedisCommand).collect();
        let answered = commands.iter().filter(|m| m.answered_by.is_some()).count();
        assert!(commands.len() > 10 && answered == commands.len(), "{name}: {answered} of {} answered", commands.len());
        // Each reply answers the command before it on its connection: the
        // first GET greeting is answered by what SET stored.
        if let Some(get) = msgs.iter().position(|m| m.event.text == "GET greeting") {
            let reply = &msgs[msgs[get].answered_by.unwrap()];
            assert_eq!(reply.event.text, "hello, redis", "{name}");
        } else {
            assert!(name.contains("resp3"), "{name}: no GET greeting");
        }
        let pushes: Vec<&str> =
            msgs.iter().filter(|m| m.kind() == MsgKind::RedisPush).map(|m| m.event.text.as_str()).collect();
        assert!(pushes.iter().any(|t| t.starts_with("message news")), "{name}: {pushes:?}");
        assert!(
            msgs.iter().filter(|m| m.kind() == MsgKind::RedisPush).all(|m| m.answers.is_none()),
            "{name}: a published message taken for a reply"
        );
    }
}

/// The messages of one Redis connection: the client's bytes, then the
/// server's, each in one segment.
fn conversation(client: &[u8], server: &[u8]) -> Vec<Message> {
    let mut dis = Dissector::default();
    let mut events = Vec::new();
    for (n, (from_client, bytes)) in [(true, client), (false, server)].into_iter().enumerate() {
        let (seq, ack) = if from_client { (1000, 5000) } else { (5000, 1000 + client.len() as u32) };
        let (m, f) = segment(n as u64 + 1, from_client, seq, ack, bytes);
        let mut d = Dissection::default();
        dis.dissect(m, &f, &mut d);
        events.extend(d.events);
    }
    correlate(events)
}

/// The reply each command got, as text (`-` for none).
fn replies(msgs: &[Message]) -> Vec<(String, String)> {
    msgs.iter()
        .filter(|m| m.kind() == MsgKind::RedisCommand)
        .map(|m| (m.event.text.clone(), m.answered_by.map_or("-".into(), |r| msgs[r].event.text.clone())))
        .collect()
}

/// An UNSUBSCRIBE that names no channel is answered once per channel the
/// connection subscribed to; a RESP3 attribute is not a reply of its own.
/// Either way the command after it gets its own reply.
#[test]
fn unsubscribe_from_all_and_attributes_keep_replies_paired() {
    let client = b"*3\r\n$9\r\nSUBSCRIBE\r\n$1\r\na\r\n$1\r\nb\r\n*1\r\n$11\r\nUNSUBSCRIBE\r\n*1\r\n$4\r\nPING\r\n";
    let server = [
        &b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"[..],
        b"*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:0\r\n",
        b"+PONG\r\n",
    ]
    .concat();
    let got = replies(&conversation(client, &server));
    assert_eq!(got.last().map(|(c, r)| (c.as_str(), r.as_str())), Some(("PING", "PONG")), "{got:?}");

    let client = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n";
    let server = b"|1\r\n+key-popularity\r\n%1\r\n$1\r\nk\r\n,0.19\r\n$5\r\nvalue\r\n+PONG\r\n";
    let got = replies(&conversation(client, server));
    assert_eq!(got, [("GET k".into(), "value".into()), ("PING".into(), "PONG".into())]);
}

/// One TCP segment between a Redis client (port 40000) and its server.
fn segment(number: u64, from_client: bool, seq: u32, ack: u32, payload: &[u8]) -> (FrameMeta, Vec<u8>) {
    let (sp, dp) = if from_client { (40000, 6379) } else { (6379, 40000) };
    let b = etherparse::PacketBuilder::ethernet2([0; 6], [0; 6])
        .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
        .tcp(sp, dp, seq, 65535)
        .ack(ack);
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    let meta = FrameMeta {
        number,
        ts_sec: 1_700_000_000,
        ts_nsec: number as u32 * 1000,
        len: v.len() as u32,
        caplen: v.len() as u32,
        linktype: 1,
    };
    (meta, v)
}

/// A command, then the server's bytes; the notes of the server's frame.
fn answer(server: &[u8]) -> (Dissection, Vec<&'static str>) {
    let mut dis = Dissector::default();
    let cmd = b"*1\r\n$4\r\nPING\r\n";
    let (m, f) = segment(1, true, 1000, 5000, cmd);
    dis.dissect(m, &f, &mut Dissection::default());
    let (m, f) = segment(2, false, 5000, 1000 + cmd.len() as u32, server);
    let mut d = Dissection::default();
    dis.dissect(m, &f, &mut d);
    let notes = d.notes.iter().map(|n| n.def.name).collect();
    (d, notes)
}

/// Hand-made replies: a malformed length, bytes that are not RESP, a
/// nesting deeper than wirelab reads; notes or data, never a panic.
#[test]
fn cut_and_malformed_resp_gives_notes_not_panics() {
    let (d, notes) = answer(b"$-7\r\n");
    assert!(notes.contains(&"resp.malformed_length"), "{notes:?}");
    assert_eq!(d.field("resp.bulk_string.length").map(|f| f.value), Some(Value::I(-7)));
    // A bulk string longer than its length says: not RESP, shown as data.
    let (d, _) = answer(b"$2\r\nabcdef\r\n");
    assert!(d.field("resp.bulk_string").is_none() && d.field("data.data").is_some());
    // Nested deeper than read: a note, the rest of that value as data, and
    // the value after it read as usual (as Wireshark goes on).
    let deep = [b"*1\r\n".repeat(40), b":1\r\n+OK\r\n".to_vec()].concat();
    let (d, notes) = answer(&deep);
    assert!(d.field("resp.array").is_some());
    assert!(notes.contains(&"resp.array_recursion_too_deep") && !notes.contains(&"resp.partial"), "{notes:?}");
    assert_eq!(d.fields.iter().filter(|f| f.def.name == "resp.string").count(), 1, "the value after it");
    // A boolean that is neither t nor f.
    let (_, notes) = answer(b"#x\r\n");
    assert!(notes.contains(&"resp.invalid_boolean_value"), "{notes:?}");
}

/// The message-queues lab's broker questions hold on redis-py's traffic:
/// each answer is the one tshark reads in the reply that follows the
/// command on its connection.
#[test]
fn the_message_queues_lab_reads_redis_py_traffic_as_tshark_does() {
    let path = capture("redis-py-resp2.pcap");
    let first = |filter: &str, field: &str| support::tshark_first(&path, filter, field);
    // The reply tshark sees after a command: the next frame from Redis on its stream.
    let reply_to = |command: &str| -> String {
        let filter = format!("resp.bulk_string.value contains \"{command}\"");
        let (frame, stream) = (first(&filter, "frame.number"), first(&filter, "tcp.stream"));
        let after = format!("tcp.stream == {stream} && tcp.srcport == 6379 && frame.number > {frame} && resp.integer");
        first(&after, "resp.integer").split(',').next().unwrap_or_default().to_string()
    };
    let dir = tempfile::tempdir().unwrap();
    let answers = dir.path().join("answers.json");
    std::fs::write(&answers, "{}").unwrap();
    let out = support::wirelab_bin()
        .args(["lab", "check", "message-queues", "--reveal", "--format", "json", "--capture"])
        .arg(&path)
        .arg("--answers")
        .arg(&answers)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected = |id: &str| -> String {
        let q = report["questions"].as_array().unwrap().iter().find(|q| q["id"] == id).unwrap();
        q["expected"].to_string().trim_matches('"').to_string()
    };
    assert_eq!(expected("pubsub-reach"), reply_to("PUBLISH"));
    assert_eq!(expected("stream-pending"), reply_to("XPENDING"));
    assert_eq!(expected("away-missed"), "null", "redis-py's traffic has no subscriber that was away");
}

/// A PUBLISH on a Socket.IO adapter channel whose payload is not the
/// adapter's MessagePack (another adapter, damaged bytes): a note, the RESP
/// fields still there, no panic. A good one is decoded.
#[test]
fn an_adapter_payload_that_does_not_parse_gets_a_note() {
    let publish = |payload: &[u8]| -> Dissection {
        let chan = b"socket.io-request#/#";
        let mut cmd = format!("*3\r\n$7\r\nPUBLISH\r\n${}\r\n", chan.len()).into_bytes();
        cmd.extend_from_slice(chan);
        cmd.extend_from_slice(format!("\r\n${}\r\n", payload.len()).as_bytes());
        cmd.extend_from_slice(payload);
        cmd.extend_from_slice(b"\r\n");
        let (m, f) = segment(1, true, 1000, 5000, &cmd);
        let mut d = Dissection::default();
        Dissector::default().dissect(m, &f, &mut d);
        d
    };
    for bad in [&b"not msgpack at all"[..], &[0x96, 0xa2, b'a'][..], &[0xdd, 0xff, 0xff, 0xff, 0xff][..]] {
        let d = publish(bad);
        assert!(d.field("resp.bulk_string.value").is_some());
        assert!(d.notes.iter().any(|n| n.def.name == "adapter.expert.unreadable"), "{bad:?}");
        assert!(d.field("adapter.request_id").is_none());
    }
    // [node, id, 0, ["/", 2, [0, "x", nil], nil, nil], nil, [2, [], [], nil, nil]]
    let good = [
        &[0x96, 0xa1, b'N', 0xa1, b'R', 0x00, 0x95, 0xa1, b'/', 0x02, 0x93, 0x00, 0x93][..],
        b"[1]",
        &[0xc0, 0xc0, 0xc0, 0xc0, 0x95, 0x02, 0x90, 0x91, 0xa1, b'A', 0xc0, 0xc0][..],
    ]
    .concat();
    let d = publish(&good);
    assert!(d.notes.iter().all(|n| n.def.name != "adapter.expert.unreadable"));
    let text = |name: &str| d.fields_named(name).map(|f| f.value).collect::<Vec<_>>();
    assert_eq!(text("adapter.type"), [Value::U(0)]);
    assert_eq!(text("adapter.flags"), [Value::U(2)]);
    assert_eq!(d.fields_named("adapter.except").count(), 1);
    assert_eq!(d.fields_named("adapter.packet").count(), 1);
}
