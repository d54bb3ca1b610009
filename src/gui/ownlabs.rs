//! A teacher's own labs: the `.toml` files of a folder, shown beside the
//! bundled labs. Each is validated as `wirelab lab validate` does (it
//! parses, and every question is answered on its reference capture), looked
//! at again about once a second, and reloaded when it changes. A file that
//! turns invalid says `file:line: what to change`, and its last good version
//! stays in the list. A `glossary.toml` in the folder adds its terms after
//! the bundled glossary's (for the window and for these labs' words).

use std::path::{Path, PathBuf};
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
}

impl OwnLabs {
    /// Reads labs from `dir` from now on (none: stops).
    pub fn set_dir(&mut self, dir: Option<PathBuf>) {
        self.dir = dir;
        self.files.clear();
        self.folder_error = None;
        self.scanned = None;
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

    /// Looks at the folder again when a second has passed (`force`: now).
    /// True when a lab appeared, changed or went.
    pub fn poll(&mut self, force: bool) -> bool {
        let Some(dir) = self.dir.clone() else { return false };
        if !force && self.scanned.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            return false;
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
        let mut changed = self.files.len() != before || glossary_error != self.glossary_error;
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
            match check(&p) {
                Ok(lab) => (f.good, f.error) = (Some(lab), None),
                Err(e) => f.error = Some(e),
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
