//! Golden files: the summary lines of every bundled capture, and the full
//! JSON of one. `WIRELAB_BLESS=1 cargo test` rewrites them; review the diff.

use crate::support::{self, root};

fn check(name: &str, actual: &str) {
    let path = root().join("tests/goldens").join(name);
    if std::env::var_os("WIRELAB_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing: run WIRELAB_BLESS=1 cargo test", path.display()));
    if expected != actual {
        let first = expected.lines().zip(actual.lines()).position(|(a, b)| a != b).unwrap_or(0);
        panic!(
            "{name} differs from its golden at line {}:\n expected: {}\n   actual: {}\n(WIRELAB_BLESS=1 refreshes goldens)",
            first + 1,
            expected.lines().nth(first).unwrap_or(""),
            actual.lines().nth(first).unwrap_or("")
        );
    }
}

#[test]
fn summary_lines_of_every_capture() {
    for path in support::captures() {
        let mut text = Vec::new();
        for f in support::dissect_file(&path) {
            wirelab::cli::output::summary_line(&f.d, &mut text);
            text.push(b'\n');
        }
        let text = String::from_utf8(text).expect("summary lines are UTF-8");
        check(&format!("{}.txt", path.file_name().unwrap().to_string_lossy()), &text);
    }
}

#[test]
fn json_of_the_loopback_http_capture() {
    let mut text = String::new();
    for f in support::dissect_file(&root().join("captures/http-over-loopback.pcap")) {
        text.push_str(&serde_json::to_string(&wirelab::cli::output::json_frame(&f.d, &f.bytes)).unwrap());
        text.push('\n');
    }
    check("http-over-loopback.jsonl", &text);
}

/// `dissect --format json` writes each frame straight to the output; its
/// bytes are those of the serde_json tree the golden above is made from, on
/// every frame of every bundled capture. Without explanations, the same
/// JSON less the `explain` keys.
#[test]
fn the_streaming_json_writer_matches_the_serde_json_tree_byte_for_byte() {
    let mut frames = 0;
    for path in support::captures() {
        for f in support::dissect_file(&path) {
            let mut want = serde_json::to_string(&wirelab::cli::output::json_frame(&f.d, &f.bytes)).unwrap();
            want.push('\n');
            let mut got = Vec::new();
            wirelab::cli::output::write_json_frame(&mut got, &f.d, &f.bytes, true).unwrap();
            assert_eq!(String::from_utf8(got).unwrap(), want, "{} frame {}", path.display(), f.d.meta.number);
            let mut short = Vec::new();
            wirelab::cli::output::write_json_frame(&mut short, &f.d, &f.bytes, false).unwrap();
            let mut tree: serde_json::Value = serde_json::from_str(&want).unwrap();
            fn strip(v: &mut serde_json::Value) {
                match v {
                    serde_json::Value::Object(m) => {
                        m.remove("explain");
                        m.values_mut().for_each(strip);
                    }
                    serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
                    _ => {}
                }
            }
            strip(&mut tree);
            assert_eq!(serde_json::from_slice::<serde_json::Value>(&short).unwrap(), tree);
            frames += 1;
        }
    }
    assert!(frames > 2000, "{frames}");
}
