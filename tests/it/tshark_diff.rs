//! Differential test against Wireshark: for every capture in `captures/`, the
//! value of every field name wirelab and tshark share agrees, frame by frame.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::OnceLock;

use wirelab::model::Value;

use crate::support::{self, Dissected};

/// Fields we deliberately compute differently, with the reason.
const DIFFERENT_ON_PURPOSE: &[(&str, &str)] = &[
    // tshark leaves checksums unverified by default; wirelab verifies them.
    ("ip.checksum.status", "verified by wirelab, not by tshark's defaults"),
    ("tcp.checksum.status", "verified by wirelab, not by tshark's defaults"),
    ("udp.checksum.status", "verified by wirelab, not by tshark's defaults"),
    ("icmp.checksum.status", "verified by wirelab, not by tshark's defaults"),
    ("icmpv6.checksum.status", "verified by wirelab, not by tshark's defaults"),
    // Floating-point times are compared separately, with a tolerance.
    ("frame.time_epoch", "float"),
    ("frame.time_relative", "float"),
    ("frame.time_delta", "float"),
];

/// Undissected payload: compared only where tshark also leaves it undissected.
const PAYLOAD_FIELDS: &[&str] = &["data.data", "data.len", "icmpv6.data"];

/// tshark's field names and types (`tshark -G fields`).
fn tshark_fields() -> &'static HashMap<String, String> {
    static F: OnceLock<HashMap<String, String>> = OnceLock::new();
    F.get_or_init(|| {
        let out = support::tshark().args(["-G", "fields"]).output().expect("tshark -G fields");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let mut c = l.split('\t');
                let kind = c.next()?;
                c.next()?;
                let name = c.next()?.to_string();
                match kind {
                    "F" => Some((name, c.next()?.to_string())),
                    "P" => Some((name, "FT_PROTOCOL".to_string())),
                    _ => None,
                }
            })
            .collect()
    })
}

fn ours(frame: &Dissected, name: &str) -> Vec<String> {
    // Wireshark 4.0 does not join fragmented WebSocket messages; wirelab
    // does, in a data source of its own, which is not compared.
    frame
        .d
        .find_all(&frame.bytes, name)
        .filter(|f| !f.source_name().starts_with("Reassembled message"))
        .map(|f| match f.value() {
            Value::None => "1".to_string(),
            Value::U(v) => v.to_string(),
            Value::I(v) => v.to_string(),
            Value::F(v) => format!("{v:.6}"),
            Value::Bool(b) => u8::from(b).to_string(),
            Value::Bytes => wirelab::model::hex(f.bytes()),
            _ => f.text(usize::MAX),
        })
        .collect()
}

fn normalise(ty: &str, v: &str) -> String {
    let v = v.trim();
    if let Some(n) = v.strip_prefix("0x").and_then(|h| u64::from_str_radix(h, 16).ok()) {
        return n.to_string();
    }
    match (ty, v) {
        // Both tools write control characters as escapes ("\\r\\n").
        ("FT_STRING", _) => v.to_string(),
        ("FT_BOOLEAN", "True") => "1".into(),
        ("FT_BOOLEAN", "False") => "0".into(),
        ("FT_BYTES", _) => v.replace(':', "").to_lowercase(),
        // Seconds: to the microsecond, as wirelab writes them.
        ("FT_RELATIVE_TIME", _) => v.parse::<f64>().map(|s| format!("{s:.6}")).unwrap_or_else(|_| v.to_string()),
        _ => v.to_lowercase(),
    }
}

/// Runs the comparison on one file; returns mismatch descriptions.
pub fn compare(path: &Path) -> (usize, Vec<String>) {
    compare_with(path, None, &[])
}

/// [`compare`], with a TLS key log given to both (`None`: a pcapng's own
/// secrets only) and more tshark options (`-d tcp.port==P,tls`).
pub fn compare_with(path: &Path, keys: Option<&Path>, tshark_args: &[String]) -> (usize, Vec<String>) {
    let mut cap = wirelab::file::Capture::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if let Some(k) = keys {
        cap.add_key_log(k).unwrap_or_else(|e| panic!("{e}"));
    }
    let frames = support::dissect_capture(&cap);
    let known = tshark_fields();
    let skip: BTreeSet<&str> = DIFFERENT_ON_PURPOSE.iter().map(|(n, _)| *n).collect();
    let names: BTreeSet<&'static str> = frames
        .iter()
        .flat_map(|f| f.d.fields.iter().map(|x| x.def.name))
        .filter(|n| known.contains_key(*n) && !skip.contains(n) && *n != "frame.number")
        .collect();
    let names: Vec<&str> = names.into_iter().collect();
    let mut cmd = support::tshark();
    if let Some(k) = keys {
        cmd.arg("-o").arg(format!("tls.keylog_file:{}", k.display()));
    }
    cmd.args(tshark_args);
    // wirelab does not reassemble IP fragments (yet); neither must tshark here.
    cmd.arg("-r").arg(path).args([
        "-o",
        "ip.defragment:FALSE",
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=|",
        "-e",
        "frame.number",
    ]);
    // FT_NONE fields print "1" when present, FT_PROTOCOL fields their label.
    for n in &names {
        cmd.args(["-e", n]);
    }
    let out = cmd.output().expect("run tshark");
    assert!(out.status.success(), "tshark failed on {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut problems = Vec::new();
    let mut compared = 0;
    let rows: BTreeMap<usize, Vec<String>> = text
        .lines()
        .filter_map(|l| {
            let cols: Vec<String> = l.split('\t').map(str::to_string).collect();
            Some((cols.first()?.parse().ok()?, cols))
        })
        .collect();
    assert_eq!(
        rows.len(),
        frames.len(),
        "{}: tshark and wirelab disagree on the number of frames; tshark said {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    for (i, frame) in frames.iter().enumerate() {
        let cols = &rows[&(i + 1)];
        for (j, name) in names.iter().enumerate() {
            let ty = known[*name].as_str();
            let theirs_raw = cols.get(j + 1).map(String::as_str).unwrap_or("");
            let mut theirs: Vec<String> =
                if theirs_raw.is_empty() { vec![] } else { theirs_raw.split('|').map(|v| normalise(ty, v)).collect() };
            let mut mine = ours(frame, name);
            if ty == "FT_NONE" || ty == "FT_PROTOCOL" {
                // Presence only (Wireshark may add an expert item twice).
                mine = if mine.is_empty() { vec![] } else { vec!["1".to_string()] };
                theirs = if theirs.is_empty() { vec![] } else { vec!["1".to_string()] };
            }
            if mine.is_empty() {
                continue;
            }
            // Payload bytes: where tshark decodes an application protocol
            // (HTTP, for instance) it has no data layer; wirelab's own
            // application dissectors are compared in their own tests.
            if theirs.is_empty() && PAYLOAD_FIELDS.contains(name) {
                continue;
            }
            compared += 1;
            // Seconds: tshark writes nanoseconds; wirelab rounds to microseconds.
            let close = |a: &[String], b: &[String]| {
                a.len() == b.len()
                    && a.iter().zip(b).all(|(x, y)| match (x.parse::<f64>(), y.parse::<f64>()) {
                        (Ok(x), Ok(y)) => (x - y).abs() <= 1.5e-6,
                        _ => x == y,
                    })
            };
            let same = if ty == "FT_RELATIVE_TIME" { close(&mine, &theirs) } else { mine == theirs };
            if !same {
                problems.push(format!(
                    "{} frame {}: {name}: wirelab {mine:?}, tshark {theirs:?}",
                    path.file_name().unwrap_or_default().to_string_lossy(),
                    i + 1
                ));
            }
        }
    }
    // Times: microsecond agreement.
    let out = support::tshark()
        .arg("-r")
        .arg(path)
        .args(["-T", "fields", "-e", "frame.time_epoch", "-e", "frame.time_relative"])
        .output()
        .expect("tshark times");
    for (frame, line) in frames.iter().zip(String::from_utf8_lossy(&out.stdout).lines()) {
        let mut c = line.split('\t').map(|x| x.parse::<f64>().unwrap_or(f64::NAN));
        let (epoch, rel) = (c.next().unwrap_or(f64::NAN), c.next().unwrap_or(f64::NAN));
        let f = |n| match frame.d.field(n).map(|f| &f.value) {
            Some(Value::F(x)) => *x,
            _ => f64::NAN,
        };
        if (f("frame.time_epoch") - epoch).abs() > 2e-6 || (f("frame.time_relative") - rel).abs() > 2e-6 {
            problems.push(format!("frame {}: times differ: tshark {epoch} {rel}", frame.d.meta.number));
        }
    }
    (compared, problems)
}

#[test]
fn every_shared_field_agrees_with_tshark() {
    let mut all = Vec::new();
    let mut total = 0;
    for path in support::captures() {
        let (n, p) = compare(&path);
        assert!(n > 0, "{}: nothing compared", path.display());
        total += n;
        all.extend(p);
    }
    assert!(
        all.is_empty(),
        "{} of {total} field comparisons disagree with tshark:\n{}",
        all.len(),
        all.iter().take(60).cloned().collect::<Vec<_>>().join("\n")
    );
    // The comparison must cover the core of every layer.
    assert!(total > 3000, "only {total} comparisons: the differential test lost its reach");
}

#[test]
fn names_we_share_with_wireshark_exist_in_wireshark() {
    // Every field under a Wireshark protocol name that Wireshark lacks must
    // be one we added on purpose (listed here), so typos cannot hide.
    const OURS_ONLY: &[&str] = &[
        "ip.options",
        "ip.opt.data",
        "ipv6.ext.data",
        "ipv6.fraghdr",
        "ipv6.dstopts.nxt",
        "ipv6.dstopts.len",
        "ipv6.dstopts",
        "tcp.options.sack",
        "tcp.from_client",
        "icmp.unused",
        "icmp.data",
        "icmpv6.reserved",
        "sll.reserved",
        "http.end_of_headers",
        "http.sec_websocket_accept.concatenated",
        "http.sec_websocket_accept.sha1",
        "http.sec_websocket_accept.expected",
        "http.sec_websocket_accept.valid",
        "websocket.payload.binary",
        "websocket.decompressed.length",
    ];
    // RESP3's fields: Wireshark's current `resp` dissector has them (its
    // packet-resp.c, 2025); tshark 4.0 here knows RESP2 only.
    const NEWER_WIRESHARK: &[&str] = &[
        "resp.set",
        "resp.set.length",
        "resp.push",
        "resp.push.length",
        "resp.map",
        "resp.map.length",
        "resp.attribute",
        "resp.attribute.length",
        "resp.null",
        "resp.boolean",
        "resp.double",
        "resp.big_number",
        "resp.verbatim_string",
        "resp.verbatim_string.length",
        "resp.verbatim_string.encoding",
        "resp.verbatim_string.value",
        "resp.bulk_error",
        "resp.bulk_error.length",
        "resp.bulk_error.value",
    ];
    let known = tshark_fields();
    let missing: Vec<&str> = wirelab::dissect::all_fields()
        .map(|f| f.name)
        .filter(|n| !known.contains_key(*n) && !OURS_ONLY.contains(n) && !NEWER_WIRESHARK.contains(n))
        // Wireshark has no Engine.IO, Socket.IO, Socket.IO adapter or wirelab demo protocol dissector: those names are ours.
        .filter(|n| !["engineio.", "socketio.", "demo.", "adapter."].iter().any(|p| n.starts_with(p)))
        .collect();
    assert!(missing.is_empty(), "fields named like Wireshark's that Wireshark does not have: {missing:?}");
}

/// TLS captures made by other programs (Python websockets over TLS 1.3 and
/// 1.2, curl, the official socket.io over https, Chromium, OpenSSL with key
/// updates; `captures/tls/README.md`): every shared field, the decrypted
/// HTTP and WebSocket ones included, agrees with
/// `tshark -o tls.keylog_file:NAME.keys`; a pcapng with injected secrets
/// needs no key log, and a capture without keys shows TLS fields only.
#[test]
fn tls_captures_agree_with_tshark_decrypting_with_their_key_logs() {
    let dir = support::root().join("captures/tls");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("captures/tls")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 10, "{paths:?}");
    let mut all = Vec::new();
    for path in &paths {
        let keys = path.with_extension("keys");
        let keys = keys.exists().then_some(keys);
        let (n, p) = compare_with(path, keys.as_deref(), &[]);
        assert!(n > 0, "{}: nothing compared", path.display());
        all.extend(p);
        // What decryption shows: HTTP inside every capture that has keys
        // (in a file or in the capture); none without.
        let mut cap = wirelab::file::Capture::open(path).unwrap();
        if let Some(k) = &keys {
            cap.add_key_log(k).unwrap();
        }
        let frames = support::dissect_capture(&cap);
        let has = |name: &str| frames.iter().any(|f| f.d.field(name).is_some());
        assert!(has("tls.handshake.type"), "{}: no TLS handshake", path.display());
        let name = path.file_name().unwrap().to_string_lossy();
        if name.contains("no-keys") {
            assert!(!has("http.request.method") && !has("websocket.opcode"), "{name}: decrypted without keys");
        } else {
            if !name.contains("keyupdate") {
                assert!(has("http.request.method"), "{name}: no decrypted HTTP");
            }
            // Every record decrypted, after each key update too.
            for f in &frames {
                for n in &f.d.notes {
                    assert!(
                        !matches!(n.def.name, "tls.expert.no_keys" | "tls.expert.decrypt_failed"),
                        "{name} frame {}: {}",
                        f.d.meta.number,
                        n.def.name
                    );
                }
            }
        }
    }
    assert!(
        all.is_empty(),
        "{} disagreements with tshark:\n{}",
        all.len(),
        all.iter().take(80).cloned().collect::<Vec<_>>().join("\n")
    );
}
