//! The machine's network interfaces (pnet), and whether wirelab can capture
//! on each (libpcap).

use std::fmt::Write as _;

/// One interface, as `wirelab interfaces` and the GUI's picker show it.
#[derive(Clone, Debug)]
pub struct Interface {
    pub name: String,
    pub index: u32,
    pub mac: Option<String>,
    pub addresses: Vec<String>,
    pub mtu: Option<u32>,
    pub up: bool,
    pub loopback: bool,
    /// `Ok` if a capture could be opened now, else the reason.
    pub capture: Result<(), String>,
}

/// Lists the interfaces, loopback first.
pub fn list() -> Vec<Interface> {
    let mut v: Vec<Interface> = pnet_datalink::interfaces()
        .into_iter()
        .map(|i| Interface {
            mtu: std::fs::read_to_string(format!("/sys/class/net/{}/mtu", i.name))
                .ok()
                .and_then(|s| s.trim().parse().ok()),
            capture: probe(&i.name),
            up: i.is_up(),
            loopback: i.is_loopback(),
            mac: i.mac.map(|m| m.to_string()),
            addresses: i.ips.iter().map(|n| n.to_string()).collect(),
            index: i.index,
            name: i.name,
        })
        .collect();
    v.sort_by_key(|i| (!i.loopback, i.index));
    v
}

/// Tries to open a capture on the interface, and closes it at once.
fn probe(name: &str) -> Result<(), String> {
    pcap::Capture::from_device(name)
        .and_then(|c| c.snaplen(64).timeout(1).open())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The interfaces as a readable table.
pub fn table(list: &[Interface]) -> String {
    let mut s = String::new();
    for i in list {
        let mut flags = vec![if i.up { "up" } else { "down" }];
        if i.loopback {
            flags.push("loopback");
        }
        let _ = writeln!(
            s,
            "{}: {}  mtu {}  mac {}",
            i.name,
            flags.join(","),
            i.mtu.map(|m| m.to_string()).unwrap_or_else(|| "?".into()),
            i.mac.as_deref().unwrap_or("-")
        );
        for a in &i.addresses {
            let _ = writeln!(s, "    address {a}");
        }
        match &i.capture {
            Ok(()) => {
                let _ = writeln!(s, "    capture: yes");
            }
            Err(e) => {
                let _ = writeln!(s, "    capture: no ({e})");
            }
        }
    }
    s
}
