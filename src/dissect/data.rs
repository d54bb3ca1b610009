//! Bytes no dissector claimed: they still get a node, so that every captured
//! byte belongs to something.

use super::{At, Cx};
use crate::fields;
use crate::model::{Protocol, TcpIpLayer, Value};

pub static DATA: Protocol = Protocol {
    name: "data",
    short: "Data",
    label: "Data (not dissected)",
    osi: 7,
    tcpip: TcpIpLayer::Application,
    explain: "Bytes carried for an application that wirelab does not decode here. The layers below delivered \
them; what they mean is up to the programs at both ends.",
};

fields! { proto = &DATA;
    DATA_BYTES: "data.data" { label: "Data", ty: Bytes, base: Hex(0), explain: "The payload bytes themselves." };
    LEN: "data.len" { label: "Length", ty: U32, explain: "How many payload bytes there are." };
}

/// Adds a data layer for `offset..` to the end of the frame, if non-empty.
pub fn rest(cx: &mut Cx<'_>, offset: usize) {
    let total = cx.data.len();
    if offset >= total {
        return;
    }
    bytes(cx, offset, total);
}

/// Adds a data layer for `offset..end`.
pub fn bytes(cx: &mut Cx<'_>, offset: usize, end: usize) {
    let end = end.min(cx.data.len());
    if offset >= end {
        return;
    }
    let n = end - offset;
    let layer = cx.begin_layer(&DATA, offset);
    cx.add(0, &DATA_BYTES, Value::Bytes, offset, n);
    cx.add(1, &LEN, Value::U(n as u64), offset, n);
    cx.end_layer(layer, n);
}

/// Adds a data layer for bytes in any data source (decrypted bytes no
/// protocol claimed).
pub fn bytes_at(cx: &mut Cx<'_>, at: &At<'_>) {
    let n = at.bytes.len();
    if n == 0 {
        return;
    }
    let layer = cx.begin_layer_at(&DATA, at, 0);
    cx.add_at(0, &DATA_BYTES, Value::Bytes, at, 0, n);
    cx.add_at(1, &LEN, Value::U(n as u64), at, 0, n);
    cx.end_layer(layer, n);
}
