//! The NSS key log format: the secrets a TLS client or server writes when
//! asked to (`SSLKEYLOGFILE` in browsers, curl, Python and Node;
//! `--tls-keylog` in Node; `-keylogfile` in OpenSSL), one per line:
//! `LABEL <ClientHello.random in hex> <secret in hex>`. Lines starting with
//! `#` are comments. TLS 1.2 needs `CLIENT_RANDOM` (the master secret);
//! TLS 1.3 the handshake and first application traffic secrets of each
//! side. Every secret is found by the ClientHello's random, so one file may
//! hold the keys of many connections.

use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The largest key log wirelab reads (a browser's after a long day is a few MiB).
pub const MAX_BYTES: u64 = 64 << 20;

/// The secrets of one TLS session, from every line that names its random.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    /// TLS 1.2 and earlier: the 48-byte master secret (`CLIENT_RANDOM`).
    pub master: Option<Vec<u8>>,
    pub client_handshake: Option<Vec<u8>>,
    pub server_handshake: Option<Vec<u8>>,
    /// The first application traffic secrets (`*_TRAFFIC_SECRET_0`); later
    /// ones are derived from these at each KeyUpdate.
    pub client_traffic: Option<Vec<u8>>,
    pub server_traffic: Option<Vec<u8>>,
}

/// A key log, read: secrets by ClientHello random, and what could not be read.
#[derive(Clone, Debug, Default)]
pub struct KeyLog {
    sessions: HashMap<[u8; 32], Secrets>,
    /// Lines that are not key log lines: (line number, why).
    pub problems: Vec<(usize, String)>,
    /// Where the secrets came from, for notes ("keys.log", "the capture's Decryption Secrets Block").
    pub origin: String,
}

impl KeyLog {
    /// Reads a key log file (at most [`MAX_BYTES`]).
    pub fn load(path: &Path) -> Result<KeyLog, String> {
        let shown = path.display();
        let meta = std::fs::metadata(path).map_err(|e| format!("cannot read the key log {shown}: {e}"))?;
        if meta.len() > MAX_BYTES {
            return Err(format!(
                "the key log {shown} is {} MiB; wirelab reads key logs up to {} MiB",
                meta.len() >> 20,
                MAX_BYTES >> 20
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read the key log {shown}: {e}"))?;
        let mut log = KeyLog::parse(&String::from_utf8_lossy(&bytes));
        log.origin = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| shown.to_string());
        if log.is_empty() {
            return Err(match log.problems.first() {
                Some((line, why)) => format!("{shown} holds no TLS secrets (line {line}: {why})"),
                None => format!("{shown} holds no TLS secrets: it is empty"),
            });
        }
        Ok(log)
    }

    /// Reads key log text; lines that are not key log lines are listed in
    /// `problems`, never fatal (a key log is often appended to by several
    /// programs).
    pub fn parse(text: &str) -> KeyLog {
        let mut log = KeyLog::default();
        log.add(text);
        log
    }

    /// Adds the lines of more key log text (a pcapng may hold several blocks).
    pub fn add(&mut self, text: &str) {
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Err(why) = self.line(line) {
                self.problems.push((i + 1, why));
            }
        }
    }

    fn line(&mut self, line: &str) -> Result<(), String> {
        let mut parts = line.split_ascii_whitespace();
        let (Some(label), Some(random), Some(secret), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("not `LABEL <client random> <secret>`".into());
        };
        let random = unhex(random).ok_or("the client random is not hex")?;
        let random: [u8; 32] = random.try_into().map_err(|_| "the client random is not 32 bytes".to_string())?;
        let secret = unhex(secret).ok_or("the secret is not hex")?;
        let s = self.sessions.entry(random).or_default();
        let slot = match label {
            "CLIENT_RANDOM" => {
                if secret.len() != 48 {
                    return Err(format!("a master secret is 48 bytes, this one {}", secret.len()));
                }
                &mut s.master
            }
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => &mut s.client_handshake,
            "SERVER_HANDSHAKE_TRAFFIC_SECRET" => &mut s.server_handshake,
            "CLIENT_TRAFFIC_SECRET_0" => &mut s.client_traffic,
            "SERVER_TRAFFIC_SECRET_0" => &mut s.server_traffic,
            // Known labels wirelab has no use for (0-RTT data, exporters),
            // and the secrets after a KeyUpdate that OpenSSL logs as
            // `*_TRAFFIC_SECRET_N` (wirelab derives them itself).
            "CLIENT_EARLY_TRAFFIC_SECRET" | "EARLY_EXPORTER_SECRET" | "EXPORTER_SECRET" => return Ok(()),
            l if l.starts_with("CLIENT_TRAFFIC_SECRET_") || l.starts_with("SERVER_TRAFFIC_SECRET_") => return Ok(()),
            other => return Err(format!("unknown label {other}")),
        };
        if !matches!(secret.len(), 32 | 48) {
            return Err(format!("a TLS 1.3 secret is 32 or 48 bytes, this one {}", secret.len()));
        }
        *slot = Some(secret);
        Ok(())
    }

    /// Adds another key log's secrets (a file given beside a capture's own).
    pub fn merge(&mut self, other: KeyLog) {
        for (random, s) in other.sessions {
            let mine = self.sessions.entry(random).or_default();
            for (slot, theirs) in [
                (&mut mine.master, s.master),
                (&mut mine.client_handshake, s.client_handshake),
                (&mut mine.server_handshake, s.server_handshake),
                (&mut mine.client_traffic, s.client_traffic),
                (&mut mine.server_traffic, s.server_traffic),
            ] {
                if theirs.is_some() {
                    *slot = theirs;
                }
            }
        }
        self.problems.extend(other.problems);
        if !other.origin.is_empty() {
            self.origin = format!("{} and {}", self.origin, other.origin);
        }
    }

    /// The secrets of the sessions whose random is in `only` as key log
    /// text, one `LABEL random secret` line each, in the order of their
    /// randoms: what a saved capture's Decryption Secrets Block holds (the
    /// secrets of sessions it does not hold stay out of it).
    pub fn to_text(&self, only: &HashSet<[u8; 32]>) -> String {
        use crate::model::hex;
        let mut randoms: Vec<&[u8; 32]> = self.sessions.keys().filter(|r| only.contains(*r)).collect();
        randoms.sort();
        let mut out = String::new();
        for r in randoms {
            let s = &self.sessions[r];
            for (label, secret) in [
                ("CLIENT_RANDOM", &s.master),
                ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", &s.client_handshake),
                ("SERVER_HANDSHAKE_TRAFFIC_SECRET", &s.server_handshake),
                ("CLIENT_TRAFFIC_SECRET_0", &s.client_traffic),
                ("SERVER_TRAFFIC_SECRET_0", &s.server_traffic),
            ] {
                if let Some(secret) = secret {
                    out.push_str(&format!("{label} {} {}\n", hex(r), hex(secret)));
                }
            }
        }
        out
    }

    /// The secrets of the session whose ClientHello carried `random`.
    pub fn get(&self, random: &[u8; 32]) -> Option<&Secrets> {
        self.sessions.get(random)
    }

    /// How many sessions it holds secrets for.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

/// Adds the randoms of the ClientHellos in `data` (a frame's bytes) to
/// `out`: found by the record and handshake headers in front of them, so a
/// ClientHello anywhere in the frame counts. A random that only looks like
/// one costs nothing but a lookup.
pub fn client_hello_randoms(data: &[u8], out: &mut HashSet<[u8; 32]>) {
    let mut at = 0;
    while let Some(i) = data[at..].iter().position(|&b| b == 0x16).map(|i| at + i) {
        // 16 03 0x LL LL | 01 LL LL LL | 03 0x | random (32)
        if let Some(h) = data.get(i..i + 43)
            && h[1] == 3
            && h[2] <= 4
            && h[5] == 1
            && h[9] == 3
            && let Ok(r) = <[u8; 32]>::try_from(&h[11..43])
        {
            out.insert(r);
        }
        at = i + 1;
    }
}

/// Whether a file starts like a key log (its first 4 KiB hold a key log
/// label): how the window tells a key log from a capture it is given.
pub fn looks_like_key_log(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 4096];
    let Ok(n) = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)) else { return false };
    let text = String::from_utf8_lossy(&head[..n]);
    text.lines().any(|l| {
        l.starts_with("CLIENT_RANDOM ")
            || l.split_whitespace().next().is_some_and(|w| w.ends_with("_SECRET") || w.contains("_TRAFFIC_SECRET_"))
    })
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_versions_lines_and_lists_what_it_cannot_read() {
        let r = "11".repeat(32);
        let text = format!(
            "# a comment\nCLIENT_RANDOM {r} {}\nSERVER_TRAFFIC_SECRET_0 {r} {}\ngarbage\nCLIENT_RANDOM zz {}\n\
CLIENT_RANDOM {r} 00\nFOO {r} {}\n",
            "ab".repeat(48),
            "cd".repeat(32),
            "ab".repeat(48),
            "00".repeat(32)
        );
        let log = KeyLog::parse(&text);
        let s = log.get(&[0x11; 32]).unwrap();
        assert_eq!(s.master.as_deref(), Some(&[0xab; 48][..]));
        assert_eq!(s.server_traffic.as_deref(), Some(&[0xcd; 32][..]));
        assert!(s.client_traffic.is_none());
        let lines: Vec<usize> = log.problems.iter().map(|p| p.0).collect();
        assert_eq!(lines, vec![4, 5, 6, 7], "{:?}", log.problems);
    }
}
