//! wirelab: watch real packets cross the OSI and TCP/IP layers.
//!
//! The library is layered: [`model`] (what a dissection is), [`dissect`]
//! (bytes to dissections), [`messages`] (events paired into conversations),
//! [`lab`] (guided labs checked against the packets), [`glossary`] (the course's words tied to fields),
//! [`file`] (capture files), and the front ends ([`cli`], [`gui`]). The
//! core knows nothing of GUIs, async runtimes or live capture.

pub mod capture;
pub mod cli;
pub mod craft;
pub mod dissect;
pub mod file;
pub mod filter;
pub mod glossary;
pub mod gui;
pub mod lab;
pub mod ladder;
pub mod messages;
pub mod model;
pub mod serve;
pub mod session;
pub mod tcpgraph;

/// wirelab's own folder for what it keeps between runs (lab progress, the
/// demo servers' certificate and key log): `$WIRELAB_DATA_DIR`, else
/// `$XDG_DATA_HOME/wirelab`, else `~/.local/share/wirelab`.
pub fn data_dir() -> std::path::PathBuf {
    use std::path::PathBuf;
    if let Some(d) = std::env::var_os("WIRELAB_DATA_DIR") {
        return PathBuf::from(d);
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("share")));
    base.unwrap_or_else(std::env::temp_dir).join("wirelab")
}
