//! The dissection core (model, dissectors, file reading) must not depend on
//! the GUI, the async runtime, or live capture, nor on the front ends.

use crate::support;

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn the_dissection_core_knows_nothing_of_gui_async_or_capture() {
    let forbidden = [
        "egui",
        "eframe",
        "tokio",
        "pcap::",
        "use pcap;",
        "pnet",
        "crate::cli",
        "crate::gui",
        "crate::capture",
        "crate::serve",
    ];
    let mut files = Vec::new();
    for dir in ["src/model", "src/dissect", "src/file"] {
        rust_files(&support::root().join(dir), &mut files);
    }
    files.push(support::root().join("src/messages.rs"));
    assert!(files.len() >= 10, "core files not found: {files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for (i, line) in text.lines().enumerate() {
            // pcap_file (file parsing, pure Rust) is allowed; the pcap crate (libpcap) is not.
            let code = line.split("//").next().unwrap_or("").replace("pcap_file::pcap::", "");
            for word in forbidden {
                assert!(!code.contains(word), "{}:{}: the core must not use `{word}`: {line}", f.display(), i + 1);
            }
        }
    }
}

#[test]
fn the_lab_engine_and_the_glossary_know_nothing_of_the_window_or_the_cli() {
    let mut files = Vec::new();
    rust_files(&support::root().join("src/lab"), &mut files);
    files.push(support::root().join("src/glossary.rs"));
    assert!(files.len() >= 5, "lab files not found: {files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for word in ["egui", "eframe", "crate::gui", "crate::cli"] {
                assert!(
                    !code.contains(word),
                    "{}:{}: the lab engine must not use `{word}`: {line}",
                    f.display(),
                    i + 1
                );
            }
        }
    }
}
