//! Lab files and answers come from people: any bytes as a lab file, and as
//! an answers file checked against a small bundled capture, must give a
//! result or a clear error — never a panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wirelab::lab::{Answers, Lab, check};
use wirelab::session::Session;

fn session() -> &'static Session {
    static S: OnceLock<Session> = OnceLock::new();
    S.get_or_init(|| {
        Session::open(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../captures/scenario-tcp-vs-udp.pcap"
        )))
        .expect("the bundled capture opens")
    })
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks what the rest is.
    let Some((&pick, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    if pick % 2 == 0 {
        if let Ok(lab) = Lab::parse("fuzz.toml", &text) {
            let _ = check(&lab, session(), &Answers::new());
        }
    } else if let Ok(answers) = serde_json::from_str::<Answers>(&text)
        && let Ok(lab) = Lab::load("tcp-handshake")
    {
        let _ = check(&lab, session(), &answers);
    }
});
