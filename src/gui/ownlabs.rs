//! A teacher's own labs: the `.toml` files of a folder, shown beside the
//! bundled labs. Each is validated as `wirelab lab validate` does (it
//! parses, and every question is answered on its reference capture), looked
//! at again about once a second, and reloaded when it changes. A file that
//! turns invalid says `file:line: what to change`, and its last good version
//! stays in the list. A `glossary.toml` in the folder adds its terms after
//! the bundled glossary's (for the window and for these labs' words).
//!
//! Validating opens each lab's reference capture, which can take a while:
//! it runs on a thread, and the window takes the verdicts when they come.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant, SystemTime};

use crate::lab::Lab;

/// At most this many lab files are read from a folder.
pub const MAX_FILES: usize = 200;

/// One file of the folder.
struct File {
    path: PathBuf,
    modified: Option<SystemTime>,
    len: u64,
    /// The last version that validated.
    good: Option<Lab>,
    /// What is wrong with the file as it is now.
    error: Option<String>,
}

/// The folder's glossary file: its terms go after the bundled ones.
pub const GLOSSARY: &str = "glossary.toml";

#[derive(Default)]
pub struct OwnLabs {
    pub dir: Option<PathBuf>,
    files: Vec<File>,
    /// The glossary file as last read (modification time, length), and what is wrong with it.
    glossary: Option<(Option<SystemTime>, u64)>,
    glossary_error: Option<String>,
    /// Terms of the folder's glossary in use.
    pub glossary_terms: usize,
    /// Why the folder itself cannot be read.
    pub folder_error: Option<String>,
    scanned: Option<Instant>,
    /// The files being validated on a thread, and where their verdicts come.
    job: Option<(Vec<PathBuf>, Receiver<Verdicts>)>,
}

/// Each file validated, with its verdict.
type Verdicts = Vec<(PathBuf, Result<Lab, String>)>;

impl OwnLabs {
    /// Reads labs from `dir` from now on (none: stops).
    pub fn set_dir(&mut self, dir: Option<PathBuf>) {
        self.dir = dir;
        self.files.clear();
        self.folder_error = None;
        self.scanned = None;
        // The verdicts on the old folder's files are not wanted.
        self.job = None;
        if self.glossary.take().is_some() {
            crate::glossary::Glossary::set_teacher(None);
        }
        self.glossary_error = None;
        self.glossary_terms = 0;
    }

    /// Reads the folder's glossary file when it changed. True when the
    /// terms in use changed (every lab is then checked again).
    fn poll_glossary(&mut self, dir: &Path) -> bool {
        let path = dir.join(GLOSSARY);
        let meta = std::fs::symlink_metadata(&path).ok().filter(|m| m.file_type().is_file());
        let Some(meta) = meta else {
            self.glossary_error = None;
            let had = self.glossary.take().is_some();
            if had {
                crate::glossary::Glossary::set_teacher(None);
                self.glossary_terms = 0;
            }
            return had;
        };
        let stamp = (meta.modified().ok(), meta.len());
        if self.glossary == Some(stamp) {
            return false;
        }
        self.glossary = Some(stamp);
        let name = path.display().to_string();
        let read = if meta.len() > crate::lab::MAX_LAB_BYTES as u64 {
            Err(format!("{name}:1: the file is larger than {} KiB", crate::lab::MAX_LAB_BYTES >> 10))
        } else {
            std::fs::read_to_string(&path)
                .map_err(|e| format!("{name}:1: cannot read it: {e}"))
                .and_then(|t| crate::glossary::Glossary::parse_beside_bundled(&name, &t))
        };
        match read {
            Ok(g) => {
                self.glossary_terms = g.terms.len();
                self.glossary_error = None;
                crate::glossary::Glossary::set_teacher(Some(g));
                true
            }
            // The terms read before stay in use.
            Err(e) => {
                self.glossary_error = Some(e);
                false
            }
        }
    }

    /// The labs that validated (their last good version), in file order.
    pub fn labs(&self) -> impl Iterator<Item = &Lab> {
        self.files.iter().filter_map(|f| f.good.as_ref())
    }

    /// What is wrong, one line per file: `file:line: message`.
    pub fn errors(&self) -> Vec<String> {
        let mut out: Vec<String> = self.folder_error.iter().chain(&self.glossary_error).cloned().collect();
        for f in &self.files {
            if let Some(e) = &f.error {
                let kept = if f.good.is_some() { " (the last good version stays in the list)" } else { "" };
                out.push(format!("{e}{kept}"));
            }
        }
        out
    }

    /// Files are being validated.
    pub fn checking(&self) -> bool {
        self.job.is_some()
    }

    /// How many files are being validated.
    pub fn validating(&self) -> usize {
        self.job.as_ref().map_or(0, |(paths, _)| paths.len())
    }

    /// Takes the verdicts of the files validated on a thread, once they are
    /// all there. True when there were some.
    fn take_verdicts(&mut self) -> bool {
        let Some((paths, rx)) = &self.job else { return false };
        let verdicts = match rx.try_recv() {
            Ok(v) => v,
            Err(TryRecvError::Empty) => return false,
            // The thread died: each file it had says so (and is tried again when it changes).
            Err(TryRecvError::Disconnected) => {
                let why = |p: &PathBuf| Err(format!("{}:1: validating it stopped unexpectedly", p.display()));
                paths.iter().map(|p| (p.clone(), why(p))).collect()
            }
        };
        self.job = None;
        for (path, verdict) in verdicts {
            let Some(f) = self.files.iter_mut().find(|f| f.path == path) else { continue };
            match verdict {
                Ok(lab) => (f.good, f.error) = (Some(lab), None),
                Err(e) => f.error = Some(e),
            }
        }
        true
    }

    /// Looks at the folder again when a second has passed (`force`: now),
    /// and starts validating what changed; takes the verdicts that came.
    /// True when a lab appeared, changed or went.
    pub fn poll(&mut self, force: bool) -> bool {
        let Some(dir) = self.dir.clone() else { return false };
        let came = self.take_verdicts();
        // One validation at a time: the folder is looked at again after it.
        if self.job.is_some() {
            return came;
        }
        if !force && self.scanned.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            return came;
        }
        self.scanned = Some(Instant::now());
        let glossary_error = self.glossary_error.clone();
        if self.poll_glossary(&dir) {
            // The words the labs may use changed: check them all again.
            for f in &mut self.files {
                f.modified = None;
            }
        }
        let paths = match lab_files(&dir) {
            Ok(p) => {
                self.folder_error = None;
                p
            }
            Err(e) => {
                let changed = self.folder_error.as_ref() != Some(&e) || !self.files.is_empty();
                self.folder_error = Some(e);
                self.files.clear();
                return changed;
            }
        };
        let before = self.files.len();
        self.files.retain(|f| paths.contains(&f.path));
        let mut changed = came || self.files.len() != before || glossary_error != self.glossary_error;
        let mut todo = Vec::new();
        for p in paths {
            let meta = std::fs::metadata(&p).ok();
            let (modified, len) = (meta.as_ref().and_then(|m| m.modified().ok()), meta.map_or(0, |m| m.len()));
            let at = match self.files.iter().position(|f| f.path == p) {
                Some(i) if self.files[i].modified == modified && self.files[i].len == len => continue,
                Some(i) => i,
                None => {
                    self.files.push(File { path: p.clone(), modified: None, len: 0, good: None, error: None });
                    self.files.len() - 1
                }
            };
            changed = true;
            let f = &mut self.files[at];
            (f.modified, f.len) = (modified, len);
            todo.push(p);
        }
        if !todo.is_empty() {
            let (tx, rx) = std::sync::mpsc::channel();
            let paths = todo.clone();
            let spawned = std::thread::Builder::new().name("own-labs".into()).spawn(move || {
                let verdicts: Verdicts = todo.into_iter().map(|p| (p.clone(), check(&p))).collect();
                let _ = tx.send(verdicts);
            });
            match spawned {
                Ok(_) => self.job = Some((paths, rx)),
                Err(e) => self.folder_error = Some(format!("{}: cannot validate the labs: {e}", dir.display())),
            }
        }
        changed
    }
}

/// The `.toml` files directly in `dir` that are plain files (no links),
/// sorted, at most [`MAX_FILES`].
fn lab_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && !p.ends_with(GLOSSARY))
        .collect();
    out.sort();
    out.truncate(MAX_FILES);
    Ok(out)
}

/// A lab file checked as `wirelab lab validate` checks it.
fn check(path: &Path) -> Result<Lab, String> {
    let name = path.display().to_string();
    let v = crate::lab::validate(&name);
    if let Some(first) = v.problems.first() {
        // Each problem names the file and line when the file itself is at fault.
        return Err(if first.starts_with(&name) { first.clone() } else { format!("{name}: {first}") });
    }
    let lab = v.lab.ok_or_else(|| format!("{name}:1: it cannot be read"))?;
    if crate::lab::BUNDLED.iter().any(|(n, _)| n.strip_suffix(".toml") == Some(lab.id.as_str())) {
        return Err(format!("{name}:1: the id \"{}\" is a bundled lab's: give your lab an id of its own", lab.id));
    }
    Ok(lab)
}
