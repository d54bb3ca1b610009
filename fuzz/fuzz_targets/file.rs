//! Capture files come from anywhere: any bytes as a pcap or pcapng file must
//! give frames and then, at worst, one clear error — never a panic — and
//! every frame it gives must dissect, and have its conversation found (the
//! way `dissect` shares frames out between threads).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab::dissect::Dissector;
use wirelab::file::Capture;
use wirelab::model::Dissection;

fuzz_target!(|data: &[u8]| {
    let Ok(cap) = Capture::from_bytes(data.to_vec(), "fuzz.pcap") else { return };
    let mut dis = Dissector::new();
    let mut router = Dissector::new();
    let mut d = Dissection::default();
    for frame in cap.frames().take(10_000) {
        match frame {
            Ok(f) => {
                router.flow(f.meta, &f.data, &mut d);
                dis.dissect(f.meta, &f.data, &mut d);
            }
            Err(_) => break,
        }
    }
});
