//! A student's progress through a lab, kept between runs of the window, and
//! the submission they hand in: the folder `wirelab lab grade` reads.
//!
//! Progress is one small JSON file per lab (`<dir>/<lab id>.json`), written
//! whole to a temporary file and renamed, so a crash never leaves half a
//! file. A file that cannot be read is set aside (renamed `.damaged`), never
//! overwritten: what the student typed is not lost.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::check::{Answers, MAX_ANSWERS_BYTES, Status};

/// Where a lab stands for the student.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Progress {
    /// The step the student was on (from 0).
    pub step: usize,
    /// Question id → answer, as `answers.json` holds them.
    pub answers: Answers,
    /// Question id → how many of its hints were shown.
    pub hints: BTreeMap<String, usize>,
    /// Question id → the result of the last check.
    pub checked: BTreeMap<String, Status>,
    /// Questions whose answer the student asked to see (after a try): the
    /// submission says so, and `lab grade` shows it.
    pub revealed: BTreeSet<String>,
}

impl Progress {
    /// Questions answered right at the last check.
    pub fn correct(&self) -> usize {
        self.checked.values().filter(|s| **s == Status::Correct).count()
    }

    /// Questions with an answer.
    pub fn answered(&self) -> usize {
        self.answers.values().filter(|v| super::Answer::from_json(v).is_some()).count()
    }

    /// The saved progress of a lab; a lab never started has none (`Ok(default)`).
    /// A damaged file is renamed `<id>.json.damaged` and named in the error.
    pub fn load(dir: &Path, lab: &str) -> Result<Progress, String> {
        let path = file(dir, lab)?;
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Progress::default()),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let parsed = if text.len() > MAX_ANSWERS_BYTES {
            Err(format!("larger than {} KiB", MAX_ANSWERS_BYTES >> 10))
        } else {
            serde_json::from_slice(&text).map_err(|e| e.to_string())
        };
        parsed.map_err(|why| {
            let aside = path.with_extension("json.damaged");
            let kept = std::fs::rename(&path, &aside).is_ok();
            format!(
                "your saved progress in {} could not be read ({why}); {}starting this lab afresh",
                path.display(),
                if kept { format!("it is kept as {}; ", aside.display()) } else { String::new() }
            )
        })
    }

    /// Saves it (whole, then renamed into place).
    pub fn save(&self, dir: &Path, lab: &str) -> Result<(), String> {
        let path = file(dir, lab)?;
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let text = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        if text.len() > MAX_ANSWERS_BYTES {
            return Err(format!(
                "your answers are larger than {} KiB and were not saved: shorten the longest free-text answer",
                MAX_ANSWERS_BYTES >> 10
            ));
        }
        crate::file::write_whole(&path, &text)
            .map_err(|e| format!("cannot save your progress to {}: {e}", path.display()))
    }
}

/// The file a lab's progress is kept in.
pub fn file(dir: &Path, lab: &str) -> Result<PathBuf, String> {
    if !safe_name(lab) {
        return Err(format!("\"{lab}\" cannot name a file (letters, digits, '-', '_', '.' and '@' only)"));
    }
    Ok(dir.join(format!("{lab}.json")))
}

/// A name that is safe as one folder or file name: not empty, at most 64
/// characters of letters, digits, `-`, `_`, `.` and `@`, not starting with a dot.
pub fn safe_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && !s.starts_with('.')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
}

/// Where the window keeps lab progress: the `labs` folder of [`crate::data_dir`].
pub fn default_dir() -> PathBuf {
    crate::data_dir().join("labs")
}

/// Writes a submission: `<dir>/<student>/capture.pcap` (`capture.pcapng` when
/// it carries TLS secrets), `answers.json` and
/// `revealed.json` (the questions whose answers the student asked to see),
/// the folder `wirelab lab grade` reads (one per student). Returns the folder.
pub fn write_submission(
    dir: &Path,
    student: &str,
    pcap: &[u8],
    answers: &Answers,
    revealed: &BTreeSet<String>,
) -> Result<PathBuf, String> {
    if !safe_name(student) {
        return Err(format!(
            "the student id \"{student}\" cannot name a folder: use letters, digits, '-', '_', '.' or '@' (at most 64)"
        ));
    }
    let folder = dir.join(student);
    std::fs::create_dir_all(&folder).map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    let answers = serde_json::to_vec_pretty(answers).map_err(|e| e.to_string())?;
    let revealed = serde_json::to_vec_pretty(revealed).map_err(|e| e.to_string())?;
    // A capture that carries TLS secrets is pcapng (`lab grade` reads either name).
    let capture = if pcap.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) { "capture.pcapng" } else { "capture.pcap" };
    for (name, bytes) in [(capture, pcap), ("answers.json", &answers[..]), (REVEALED, &revealed[..])] {
        let path = folder.join(name);
        crate::file::write_whole(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(folder)
}

/// The file of a submission that lists the answers shown on request.
pub const REVEALED: &str = "revealed.json";

/// The questions whose answers a submission's student asked to see: none
/// when the file is missing (a submission from an older wirelab).
pub fn read_revealed(folder: &Path) -> Result<Vec<String>, String> {
    let path = folder.join(REVEALED);
    match std::fs::read(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("{REVEALED}: {e}")),
        Ok(t) if t.len() > MAX_ANSWERS_BYTES => Err(format!("{REVEALED} is too large")),
        Ok(t) => serde_json::from_slice(&t).map_err(|e| format!("{REVEALED} is not a list of question ids: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_survives_a_save_and_a_damaged_file_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Progress { step: 2, ..Progress::default() };
        p.answers.insert("client-isn".into(), serde_json::json!(12345));
        p.hints.insert("client-isn".into(), 1);
        p.checked.insert("client-isn".into(), Status::Correct);
        p.save(dir.path(), "tcp-handshake").unwrap();
        assert_eq!(Progress::load(dir.path(), "tcp-handshake").unwrap(), p);
        assert_eq!((p.answered(), p.correct()), (1, 1));

        std::fs::write(dir.path().join("tcp-handshake.json"), b"{\"step\": 2, \"answers\": [").unwrap();
        let e = Progress::load(dir.path(), "tcp-handshake").unwrap_err();
        assert!(e.contains("could not be read") && e.contains(".damaged"), "{e}");
        assert!(dir.path().join("tcp-handshake.json.damaged").is_file());
        assert_eq!(Progress::load(dir.path(), "tcp-handshake").unwrap(), Progress::default());
    }

    #[test]
    fn names_that_would_leave_the_folder_are_refused() {
        for bad in ["", "..", "../x", "a/b", ".hidden", "a b", &"x".repeat(65)] {
            assert!(!safe_name(bad), "{bad:?}");
        }
        let dir = tempfile::tempdir().unwrap();
        let e = write_submission(dir.path(), "../evil", b"", &Answers::new(), &BTreeSet::new()).unwrap_err();
        assert!(e.contains("cannot name a folder"), "{e}");
        assert!(Progress::default().save(dir.path(), "../evil").is_err());
    }
}
