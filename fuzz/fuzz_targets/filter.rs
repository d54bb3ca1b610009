//! Display filters are typed by people: any text must parse or give an
//! error, and a filter that parses must evaluate on real frames — never a
//! panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wirelab::dissect::Dissector;
use wirelab::file::Capture;
use wirelab::filter::Filter;
use wirelab::model::Dissection;

/// A few frames of the chat capture, dissected once: HTTP, WebSocket, Socket.IO.
fn frames() -> &'static [(Dissection, Vec<u8>)] {
    static F: OnceLock<Vec<(Dissection, Vec<u8>)>> = OnceLock::new();
    F.get_or_init(|| {
        let bytes = include_bytes!("../../captures/socketio-node.pcap").to_vec();
        let cap = Capture::from_bytes(bytes, "socketio-node.pcap").expect("the bundled capture opens");
        let mut dis = Dissector::new();
        let mut out = Vec::new();
        for f in cap.frames().flatten().take(120) {
            let mut d = Dissection::default();
            dis.dissect(f.meta, &f.data, &mut d);
            out.push((d, f.data.to_vec()));
        }
        out
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(f) = Filter::parse(&text) {
        for (d, bytes) in frames() {
            let _ = f.matches(d, bytes);
        }
    }
});
