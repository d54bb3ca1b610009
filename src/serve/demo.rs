//! The demo protocol the TCP and UDP demo servers speak. Its layout is
//! declared once, beside its dissector (`dissect::app::demo`); the servers
//! and clients use that declaration.

pub use crate::dissect::app::demo::{
    DemoError, HEADER_LEN, Header, KIND_REPLY, KIND_REQUEST, MAGIC, MAX_PAYLOAD, VERSION, make_reply, now_us,
    parse_header, request,
};
