//! wirelab's integration tests, one binary:
//!
//! - `support`: helpers (captures, dissecting a whole file, finding tshark).
//! - `app`: the application layer on synthetic streams: RFC 6455/7692 vectors, handshakes, Socket.IO, reassembly properties.
//! - `tshark_diff`: every field both tools know agrees with `tshark -T fields`.
//! - `fieldref`: typed field access (bytes from each field's own source in every output), named notes.
//! - `fieldtypes`: each field's declared type (Wireshark's FT_*) agrees with its values in every bundled capture; declarations are complete and unique.
//! - `filter`: display filters: error messages, and the same frames as `tshark -Y`.
//! - `goldens`: summary lines and JSON of the bundled captures (WIRELAB_BLESS=1 refreshes).
//! - `files`: pcap/pcapng flavours, damaged and truncated files.
//! - `coverage`: every captured byte belongs to a field; spans stay in bounds.
//! - `messages`: events paired with their answers, TCP connections as messages, `follow --by session`.
//! - `session`: the capture session: any frame dissected from a checkpoint equals the full pass.
//! - `glossary`: the glossary file is whole and checked; each derivation agrees with the bytes an independent program sent.
//! - `class`: the teacher's desk: a class of submissions graded into a table, counts per question and misconception, CSV, JSON, HTML.
//! - `lab`: the lab engine: bundled labs validate; answers derived with tshark score full marks, wrong ones zero; hostile lab files and answers.
//! - `tcpgraph`: the graphs of a TCP connection (segments, ACKs, SACK, round trips, bytes in flight) point by point against tshark.
//! - `ladder`: the ladder diagram: lanes and arrows from the session's messages; text, Mermaid and SVG (rendered by rsvg-convert); one arrow per WebSocket message as tshark counts them.
//! - `compare`: `wirelab compare` with real loss in the kernel (root): TCP delivers all in order by retransmitting, as tshark sees it; UDP loses.
//! - `cli`: the `wirelab` binary's commands and exit codes.
//! - `gui`: the window through egui_kittest: rows, layers, field and byte selection, the filter bar, a snapshot.
//! - `layering`: the dissection core does not depend on GUI, async or capture crates.
//! - `capture`: the capture engine, the capture CLI and signals, interfaces, hand-made packets (root).
//! - `live`: a capture made now, on loopback, with fresh traffic (needs capture rights).
//! - `resp`: Redis's RESP on redis-py's traffic: RESP2 against tshark, RESP3 value by value, commands paired with replies, bad input.
//! - `tls`: TLS with bad input: garbage key log lines, another session's keys, a wrong key, cut records.
//! - `serve`: the demo servers against independent peers (Python websockets, Autobahn via kosoku, the npm socket.io-client), hostile and heavy clients, the TCP/UDP client.

mod app;
mod capture;
mod class;
mod cli;
mod compare;
mod coverage;
mod fieldref;
mod fieldtypes;
mod files;
mod filter;
mod glossary;
mod goldens;
mod gui;
mod lab;
mod ladder;
mod layering;
mod live;
mod messages;
mod resp;
mod serve;
mod session;
mod support;
mod tcpgraph;
mod tls;
mod tshark_diff;
