//! wirelab: watch real packets cross the OSI and TCP/IP layers.
//!
//! The library is layered: [`model`] (what a dissection is), [`dissect`]
//! (bytes to dissections), [`file`] (capture files), and [`cli`] (the
//! command-line front end). The first three know nothing of GUIs, async
//! runtimes or live capture.

pub mod capture;
pub mod cli;
pub mod craft;
pub mod dissect;
pub mod file;
pub mod filter;
pub mod gui;
pub mod model;
pub mod serve;
