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
