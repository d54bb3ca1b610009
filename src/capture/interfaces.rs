//! The machine's network interfaces (pnet), and whether wirelab can capture
//! on each (the capture helper tries).

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

/// Asks the capture helper to open the interface and close it at once
/// (wirelab itself never opens one).
fn probe(name: &str) -> Result<(), String> {
    let helper =
        super::helper_path().ok_or_else(|| format!("the capture helper {} is missing", super::helper::NAME))?;
    let out = std::process::Command::new(&helper)
        .args(["probe", "-i", name])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run the capture helper {}: {e}", helper.display()))?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr);
    Err(said.trim().trim_start_matches(&format!("{}: ", super::helper::NAME)).to_string())
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
