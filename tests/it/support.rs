use std::path::{Path, PathBuf};
use std::process::Command;

use wirelab::dissect::Dissector;
use wirelab::file::Capture;
use wirelab::model::Dissection;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every capture in `captures/`.
pub fn captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("captures"))
        .expect("captures/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    v.sort();
    assert!(v.len() >= 8, "expected the bundled captures, found {v:?}");
    v
}

/// Writes `out`: `frames` frames of `template` (a bundled capture) replayed
/// as new connections, later in time (`scripts/gen-big-capture.py`).
pub fn replayed_capture(frames: u32, out: &Path, template: &str) {
    let status = Command::new("python3")
        .arg(root().join("scripts/gen-big-capture.py"))
        .arg(frames.to_string())
        .arg(out)
        .arg(root().join("captures").join(template))
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 runs");
    assert!(status.success(), "gen-big-capture.py failed");
}

/// A dissected frame with its bytes.
pub struct Dissected {
    pub bytes: Vec<u8>,
    pub d: Dissection,
}

pub fn dissect_file(path: &Path) -> Vec<Dissected> {
    let cap = Capture::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    dissect_capture(&cap)
}

pub fn dissect_capture(cap: &Capture) -> Vec<Dissected> {
    let mut dis = Dissector::for_capture(cap);
    let mut out = Vec::new();
    for f in cap.frames() {
        let f = f.unwrap_or_else(|e| panic!("{}: {e}", cap.name()));
        let mut d = Dissection::default();
        dis.dissect(f.meta, &f.data, &mut d);
        out.push(Dissected { bytes: f.data.into_owned(), d });
    }
    out
}

/// tshark, which the test command installs. Its absence is a failure, not a
/// skip: the differential tests are how we know we agree with Wireshark.
pub fn tshark() -> Command {
    // Asked once: tshark takes half a second to start, and the tests start it hundreds of times.
    static INSTALLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok =
        *INSTALLED.get_or_init(|| Command::new("tshark").arg("--version").output().is_ok_and(|o| o.status.success()));
    assert!(ok, "tshark is not installed: run scripts/test (it installs Debian's tshark package)");
    let mut c = Command::new("tshark");
    c.env("LC_ALL", "C");
    c
}

/// The first value tshark gives for a field in frames matching a filter.
pub fn tshark_first(capture: &Path, filter: &str, field: &str) -> String {
    let out = tshark().arg("-r").arg(capture).args(["-Y", filter, "-T", "fields", "-e", field]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or_default().trim().to_string()
}

pub fn wirelab_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wirelab"))
}

/// Whether this process may capture (root). Without it a live test returns
/// early and says so; under CI=true that is a failure, never a silent pass.
/// One loss run at a time for root: the helper lets each user hold one
/// (its table is named after the user), and the tests run as root.
pub static ROOT_LOSS: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn may_capture(test: &str) -> bool {
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: {test} needs capture rights; run the tests as root"
        );
        eprintln!("SKIPPED {test}: needs root (capture rights)");
    }
    root
}

/// tshark reads `path` and sees exactly these frames: lengths and times.
pub fn assert_tshark_reads(path: &Path, frames: &[wirelab::model::FrameMeta]) {
    let out = tshark()
        .arg("-r")
        .arg(path)
        .args(["-T", "fields", "-e", "frame.len", "-e", "frame.time_epoch"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(String::from).collect();
    assert_eq!(lines.len(), frames.len());
    for (l, m) in lines.iter().zip(frames) {
        let mut c = l.split('\t');
        assert_eq!(c.next().and_then(|x| x.parse::<u32>().ok()), Some(m.len));
        let t: f64 = c.next().and_then(|x| x.parse().ok()).unwrap_or(f64::NAN);
        assert!((t - m.time_f64()).abs() < 2e-6, "{t} vs {}", m.time_f64());
    }
}
