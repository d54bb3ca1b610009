//! Internet checksums (RFC 1071), verified with etherparse's summing helpers.

// Sums 8 bytes at a time (the u32 variant takes 4).
use etherparse::checksum::u64_16bit_word as w;

use super::linktype::NetInfo;

/// Wireshark's `*.checksum.status` values.
pub const STATUS_NAMES: &[(u64, &str)] = &[(0, "Bad"), (1, "Good"), (2, "Unverified"), (3, "Not present")];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    Good,
    /// Wrong; `expected` is what the field should hold.
    Bad {
        expected: u16,
    },
    /// The field holds only the pseudo-header sum: the sender's kernel left
    /// the rest to the network card (checksum offload), and on loopback or
    /// before the card nothing finished it.
    Partial,
    /// Can't be checked (bytes missing, or a fragment).
    Unverifiable,
}

impl Check {
    /// The Wireshark status number for this result.
    pub fn status(self) -> u64 {
        match self {
            Check::Good => 1,
            Check::Bad { .. } => 0,
            Check::Partial | Check::Unverifiable => 2,
        }
    }
}

fn to_wire(sum_ne: u16) -> u16 {
    u16::from_be_bytes(sum_ne.to_ne_bytes())
}

fn pseudo(net: &NetInfo, proto: u8, len: usize) -> u64 {
    let mut s = w::add_slice(0, net.src_bytes());
    s = w::add_slice(s, net.dst_bytes());
    s = w::add_2bytes(s, [0, proto]);
    if net.is_v6 {
        s = w::add_4bytes(s, (len as u32).to_be_bytes());
    } else {
        s = w::add_2bytes(s, (len as u16).to_be_bytes());
    }
    s
}

/// Checks a checksum over `bytes` (which contain the checksum field at
/// `field_at`), with a pseudo-header when `net` is given.
pub fn check(net: Option<(&NetInfo, u8)>, bytes: &[u8], field_at: usize) -> Check {
    let Some(field) = bytes.get(field_at..field_at + 2) else {
        return Check::Unverifiable;
    };
    let stored = u16::from_be_bytes([field[0], field[1]]);
    let base = net.map(|(n, p)| pseudo(n, p, bytes.len())).unwrap_or(0);
    // One pass: the sum with the field taken as zero (what the field should
    // hold), then with the field (the field sits at an even offset, so the
    // 16-bit words line up either way).
    let without = w::add_slice(w::add_slice(base, &bytes[..field_at]), &bytes[field_at + 2..]);
    let whole = w::add_2bytes(without, [field[0], field[1]]);
    if w::ones_complement(whole) == 0 {
        return Check::Good;
    }
    let mut expected = to_wire(w::ones_complement(without));
    if net.is_some() && expected == 0 {
        expected = 0xffff;
    }
    if expected == stored {
        return Check::Good;
    }
    if net.is_some() {
        // Offload leaves the folded pseudo-header sum, uncomplemented.
        let partial = !to_wire(w::ones_complement(base));
        if stored == partial {
            return Check::Partial;
        }
    }
    Check::Bad { expected }
}
