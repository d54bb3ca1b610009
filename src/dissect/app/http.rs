//! HTTP/1.1 (RFC 9112) with httparse, and the WebSocket opening handshake
//! (RFC 6455 §4) checked requirement by requirement.

use base64::Engine as _;
use sha1::{Digest, Sha1};

use super::super::{At, Cx};
use super::{AppStream, PduLen, Proto, engineio};
use crate::model::{FieldDef, MsgKind, Protocol, TcpIpLayer, Value};
use crate::{fields, notes};

pub static HTTP: Protocol = Protocol {
    name: "http",
    short: "HTTP",
    label: "Hypertext Transfer Protocol",
    osi: 7,
    tcpip: TcpIpLayer::Application,
    explain: "The web's request/response protocol: the client sends a request line and headers, the server \
answers with a status line, headers and a body. It is text, so you can read it in the bytes. WebSocket and \
Socket.IO both begin as HTTP.",
};

/// The GUID of RFC 6455 §1.3, appended to the key before hashing.
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

fields! { proto = &HTTP;
    REQUEST_METHOD: "http.request.method" { label: "Request Method", ty: Text, explain: "What the client asks the server to do: GET fetches, POST sends data. A WebSocket handshake must be a GET." };
    REQUEST_URI: "http.request.uri" { label: "Request URI", ty: Text, explain: "Which resource the request is about. Socket.IO asks for /socket.io/?EIO=4&transport=…" };
    REQUEST_VERSION: "http.request.version" { label: "Request Version", ty: Text, explain: "The HTTP version the client speaks; a WebSocket handshake needs HTTP/1.1 or later." };
    REQUEST_LINE: "http.request.line" { label: "Header line", ty: Text, explain: "One header line of the request: a name, a colon, a value, and CRLF." };
    RESPONSE_VERSION: "http.response.version" { label: "Response Version", ty: Text, explain: "The HTTP version of the server's answer." };
    RESPONSE_CODE: "http.response.code" { label: "Status Code", ty: U16, values: &[(101, "Switching Protocols"), (200, "OK"), (204, "No Content"), (301, "Moved Permanently"), (304, "Not Modified"), (400, "Bad Request"), (403, "Forbidden"), (404, "Not Found"), (426, "Upgrade Required"), (500, "Internal Server Error")], explain: "Three digits that say how the request went: 2xx success, 4xx client error, 5xx server error; 101 means the connection now speaks another protocol." };
    RESPONSE_PHRASE: "http.response.phrase" { label: "Response Phrase", ty: Text, explain: "A human-readable word for the status code; programs ignore it." };
    RESPONSE_LINE: "http.response.line" { label: "Header line", ty: Text, explain: "One header line of the response." };
    HOST: "http.host" { label: "Host", ty: Text, explain: "The server's name and port as the client addressed it; required in HTTP/1.1." };
    UPGRADE: "http.upgrade" { label: "Upgrade", ty: Text, explain: "The protocol the client wants to switch this connection to (\"websocket\"), and, in a 101 answer, the one the server switched to." };
    CONNECTION: "http.connection" { label: "Connection", ty: Text, explain: "Options for this connection only; a WebSocket handshake must say \"Upgrade\" here." };
    SEC_WEBSOCKET_KEY: "http.sec_websocket_key" { label: "Sec-WebSocket-Key", ty: Text, explain: "16 random bytes in base64 chosen by the client; the server proves it understood WebSocket by hashing it (RFC 6455 §4.1)." };
    SEC_WEBSOCKET_ACCEPT: "http.sec_websocket_accept" { label: "Sec-WebSocket-Accept", ty: Text, explain: "The server's proof: base64(SHA-1(key + \"258EAFA5-E914-47DA-95CA-C5AB0DC85B11\")) (RFC 6455 §4.2.2)." };
    SEC_WEBSOCKET_VERSION: "http.sec_websocket_version" { label: "Sec-WebSocket-Version", ty: Text, explain: "The WebSocket version; must be 13 (RFC 6455 §4.1)." };
    SEC_WEBSOCKET_EXTENSIONS: "http.sec_websocket_extensions" { label: "Sec-WebSocket-Extensions", ty: Text, explain: "Extensions offered by the client and accepted by the server, such as permessage-deflate compression (RFC 7692)." };
    SEC_WEBSOCKET_PROTOCOL: "http.sec_websocket_protocol" { label: "Sec-WebSocket-Protocol", ty: Text, explain: "The application subprotocol offered and chosen." };
    CONTENT_LENGTH_HEADER: "http.content_length_header" { label: "Content-Length", ty: Text, explain: "The Content-Length header as written." };
    CONTENT_LENGTH: "http.content_length" { label: "Content length", ty: U64, explain: "How many bytes of body follow the headers: how the receiver knows where the message ends." };
    CONTENT_TYPE: "http.content_type" { label: "Content-Type", ty: Text, explain: "What kind of data the body is (text/html, application/json, …)." };
    TRANSFER_ENCODING: "http.transfer_encoding" { label: "Transfer-Encoding", ty: Text, explain: "\"chunked\": the body comes in pieces, each preceded by its length, ending with a zero-length piece." };
    USER_AGENT: "http.user_agent" { label: "User-Agent", ty: Text, explain: "The client program and version." };
    SERVER: "http.server" { label: "Server", ty: Text, explain: "The server program and version." };
    COOKIE: "http.cookie" { label: "Cookie", ty: Text, explain: "State the client stored for this server and sends back with each request." };
    SET_COOKIE: "http.set_cookie" { label: "Set-Cookie", ty: Text, explain: "State the server asks the client to store." };
    REQUEST: "http.request" { label: "Request line", ty: Bool, explain: "The first line of a request: method, URI and version, separated by spaces, ending with CRLF." };
    RESPONSE: "http.response" { label: "Status line", ty: Bool, explain: "The first line of a response: version, status code and reason phrase, ending with CRLF." };
    END_OF_HEADERS: "http.end_of_headers" { label: "End of headers", ty: None, explain: "An empty line (CRLF) ends the headers; the body, if any, follows." };
    CHUNK_SIZE: "http.chunk_size" { label: "Chunk size", ty: U64, explain: "The length of the next piece of a chunked body, in hexadecimal on the wire." };
    CHUNK_DATA: "http.chunk_data" { label: "Chunk data", ty: Bytes, base: Hex(0), explain: "One piece of a chunked body." };
    FILE_DATA: "http.file_data" { label: "File Data", ty: Text, explain: "The body of the message: the resource itself, or, for Socket.IO long-polling, Engine.IO packets." };
    ACCEPT_CONCAT: "http.sec_websocket_accept.concatenated" { label: "Key + GUID", ty: Text, explain: "Step 1 of checking the accept value: the client's key with the fixed GUID of RFC 6455 appended." };
    ACCEPT_SHA1: "http.sec_websocket_accept.sha1" { label: "SHA-1 of key + GUID", ty: Text, explain: "Step 2: the SHA-1 hash of that string (20 bytes, shown in hex)." };
    ACCEPT_EXPECTED: "http.sec_websocket_accept.expected" { label: "Expected accept value", ty: Text, explain: "Step 3: the hash in base64. The server's Sec-WebSocket-Accept must be exactly this." };
    ACCEPT_VALID: "http.sec_websocket_accept.valid" { label: "Accept value matches", ty: Bool, explain: "Whether the server's Sec-WebSocket-Accept equals the expected value." };
}

notes! { proto = &HTTP;
    MALFORMED_REQUEST: "http.expert.malformed_request" { severity: Error, cite: "RFC 9112 §2.1", explain: "These bytes looked like the start of an HTTP request but do not follow its format: a request line (method, URI, version), header lines of the form name: value, and an empty line. A server would answer 400 Bad Request." };
    MALFORMED_RESPONSE: "http.expert.malformed_response" { severity: Error, cite: "RFC 9112 §2.1", explain: "These bytes start like an HTTP response but do not follow its format: a status line (version, code, reason), header lines of the form name: value, and an empty line. A client could not read this answer." };
    WEBSOCKET_HANDSHAKE_REQUEST: "http.expert.websocket_handshake_request" { cite: "RFC 6455 §4.1", explain: "A browser's new WebSocket(url) starts as an ordinary HTTP GET that asks the server to switch this connection to the WebSocket protocol. This request has everything RFC 6455 requires." };
    BAD_WEBSOCKET_HANDSHAKE_REQUEST: "http.expert.bad_websocket_handshake_request" { severity: Error, cite: "RFC 6455 §4.1", explain: "The request that asks to open a WebSocket breaks one of the rules of RFC 6455. A correct server refuses it, and the connection stays plain HTTP (in the browser, the WebSocket fails to open)." };
    WEBSOCKET_HANDSHAKE_RESPONSE: "http.expert.websocket_handshake_response" { cite: "RFC 6455 §4.2.2", explain: "The server accepts the switch with 101 Switching Protocols and proves it understood the request by hashing the client's key. After this answer the connection carries WebSocket frames, not HTTP." };
    BAD_WEBSOCKET_HANDSHAKE_RESPONSE: "http.expert.bad_websocket_handshake_response" { severity: Error, cite: "RFC 6455 §4.2.2", explain: "The server's answer to a WebSocket request does not complete the handshake: a wrong status code, a missing header, or an accept value that does not match the key. The client must give up, and in the browser the WebSocket fires an error." };
}

/// What one HTTP exchange left for the next messages of the stream.
#[derive(Clone, Default)]
pub struct HttpState {
    /// The last request asked to upgrade to WebSocket, with this key.
    pub ws_key: Option<String>,
    pub ws_requested: bool,
    /// The last request was Engine.IO long-polling.
    pub polling: bool,
}

const HEADERS: &[(&str, &FieldDef)] = &[
    ("host", &HOST),
    ("upgrade", &UPGRADE),
    ("connection", &CONNECTION),
    ("sec-websocket-key", &SEC_WEBSOCKET_KEY),
    ("sec-websocket-accept", &SEC_WEBSOCKET_ACCEPT),
    ("sec-websocket-version", &SEC_WEBSOCKET_VERSION),
    ("sec-websocket-extensions", &SEC_WEBSOCKET_EXTENSIONS),
    ("sec-websocket-protocol", &SEC_WEBSOCKET_PROTOCOL),
    ("content-length", &CONTENT_LENGTH_HEADER),
    ("content-type", &CONTENT_TYPE),
    ("transfer-encoding", &TRANSFER_ENCODING),
    ("user-agent", &USER_AGENT),
    ("server", &SERVER),
    ("cookie", &COOKIE),
    ("set-cookie", &SET_COOKIE),
];

const MAX_HEADERS: usize = 96;

fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize).min(outer.len())
}

fn header<'h>(headers: &'h [httparse::Header<'h>], name: &str) -> Option<&'h [u8]> {
    headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value)
}

fn has_token(v: Option<&[u8]>, token: &str) -> bool {
    v.is_some_and(|v| String::from_utf8_lossy(v).split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// Body framing of a message whose headers end at `hlen`.
fn body_len(buf: &[u8], hlen: usize, headers: &[httparse::Header<'_>], response_code: Option<u16>) -> PduLen {
    if let Some(code) = response_code
        && ((100..200).contains(&code) || code == 204 || code == 304)
    {
        return PduLen::Len(hlen);
    }
    if has_token(header(headers, "transfer-encoding"), "chunked") {
        let mut at = hlen;
        loop {
            match httparse::parse_chunk_size(&buf[at.min(buf.len())..]) {
                Ok(httparse::Status::Complete((n, size))) => {
                    let size = size as usize;
                    at += n;
                    if size == 0 {
                        // Trailer section: ends with an empty line.
                        let rest = &buf[at.min(buf.len())..];
                        return match rest.windows(2).position(|w| w == b"\r\n") {
                            Some(0) => PduLen::Len(at + 2),
                            Some(_) => match rest.windows(4).position(|w| w == b"\r\n\r\n") {
                                Some(p) => PduLen::Len(at + p + 4),
                                None => PduLen::Need,
                            },
                            None => PduLen::Need,
                        };
                    }
                    at = at.saturating_add(size).saturating_add(2);
                    if at > buf.len() {
                        return PduLen::Need;
                    }
                }
                Ok(httparse::Status::Partial) => return PduLen::Need,
                Err(_) => return PduLen::Len(buf.len()),
            }
        }
    }
    if let Some(cl) = header(headers, "content-length") {
        return match std::str::from_utf8(cl).ok().and_then(|s| s.trim().parse::<usize>().ok()) {
            Some(n) => PduLen::Len(hlen.saturating_add(n)),
            None => PduLen::Len(hlen),
        };
    }
    if response_code.is_some() {
        // No length: the body runs until the connection closes.
        return PduLen::Len(buf.len());
    }
    PduLen::Len(hlen)
}

/// How long the HTTP message at the start of `buf` is.
pub fn pdu_len(buf: &[u8]) -> PduLen {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    if buf.starts_with(b"HTTP/") {
        let mut r = httparse::Response::new(&mut headers);
        match r.parse(buf) {
            Ok(httparse::Status::Complete(h)) => body_len(buf, h, r.headers, r.code),
            Ok(httparse::Status::Partial) => PduLen::Need,
            Err(_) => PduLen::NotMine,
        }
    } else {
        let mut r = httparse::Request::new(&mut headers);
        match r.parse(buf) {
            Ok(httparse::Status::Complete(h)) => body_len(buf, h, r.headers, None),
            Ok(httparse::Status::Partial) => PduLen::Need,
            Err(_) => PduLen::NotMine,
        }
    }
}

/// The end of the line that starts at `from` (after its CRLF).
fn line_end(b: &[u8], from: usize) -> usize {
    b[from.min(b.len())..].windows(2).position(|w| w == b"\r\n").map(|p| from + p + 2).unwrap_or(b.len())
}

fn text(cx: &mut Cx<'_>, depth: u8, def: &'static FieldDef, at: &At<'_>, part: &[u8]) {
    let off = offset_in(at.bytes, part);
    cx.add_at(depth, def, Value::Text, at, off, part.len());
}

/// Header lines: a line node each, with the known header's own field (no
/// more than fields: nothing to do without the tree).
fn header_lines(cx: &mut Cx<'_>, at: &At<'_>, headers: &[httparse::Header<'_>], line_def: &'static FieldDef) {
    if !cx.tree {
        return;
    }
    for h in headers {
        let start = offset_in(at.bytes, h.name.as_bytes());
        let vstart = offset_in(at.bytes, h.value);
        let end = line_end(at.bytes, vstart + h.value.len());
        cx.add_at(0, line_def, Value::Text, at, start, end - start);
        let lower = h.name.to_ascii_lowercase();
        if let Some((_, def)) = HEADERS.iter().find(|(n, _)| *n == lower) {
            cx.add_at(1, def, Value::Text, at, vstart, h.value.len());
            if lower == "content-length"
                && let Some(n) = std::str::from_utf8(h.value).ok().and_then(|s| s.trim().parse::<u64>().ok())
            {
                cx.add_at(1, &CONTENT_LENGTH, Value::U(n), at, vstart, h.value.len());
            }
        }
    }
}

pub fn dissect(cx: &mut Cx<'_>, st: &mut AppStream, dir: usize, at: At<'_>) {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let b = at.bytes;
    let layer = cx.begin_layer_at(&HTTP, &at, 0);
    if b.starts_with(b"HTTP/") {
        let mut r = httparse::Response::new(&mut headers);
        let Ok(httparse::Status::Complete(hlen)) = r.parse(b) else {
            cx.note_at(&MALFORMED_RESPONSE, &at, 0, b.len(), "malformed HTTP response");
            cx.end_layer(layer, b.len());
            return;
        };
        let code = r.code.unwrap_or(0);
        cx.add_at(0, &RESPONSE, Value::Bool(true), &at, 0, line_end(b, 0));
        cx.add_at(1, &RESPONSE_VERSION, Value::Text, &at, 0, 8.min(b.len()));
        cx.add_at(1, &RESPONSE_CODE, Value::U(code.into()), &at, 9.min(b.len()), 3.min(b.len().saturating_sub(9)));
        if let Some(reason) = r.reason.filter(|s| !s.is_empty()) {
            text(cx, 1, &RESPONSE_PHRASE, &at, reason.as_bytes());
        }
        header_lines(cx, &at, r.headers, &RESPONSE_LINE);
        cx.add_at(0, &END_OF_HEADERS, Value::None, &at, hlen.saturating_sub(2), 2.min(hlen));
        if st.http.ws_requested {
            check_response(cx, st, &at, code, r.headers);
        }
        let polling = std::mem::take(&mut st.http.polling);
        let bd = body(cx, &at, hlen, r.headers);
        cx.end_layer(layer, b.len());
        let reason = r.reason.unwrap_or("");
        cx.set_protocol("HTTP");
        cx.set_info(format_args!("HTTP/1.{} {code} {reason}", r.version.unwrap_or(1)));
        if code == 101 && has_token(header(r.headers, "upgrade"), "websocket") {
            st.proto = [Proto::WebSocket, Proto::WebSocket];
            st.ws.handshake_seen = true;
            st.ws.set_extensions(header(r.headers, "sec-websocket-extensions"));
            st.ws.subprotocol =
                header(r.headers, "sec-websocket-protocol").map(|v| String::from_utf8_lossy(v).trim().to_string());
            cx.event(
                dir,
                MsgKind::HttpResponse,
                format!("101 Switching Protocols: the connection now speaks WebSocket{}", st.ws.describe_extensions()),
            );
        } else {
            cx.event(dir, MsgKind::HttpResponse, format!("{code} {reason}"));
        }
        st.http.ws_requested = false;
        after_body(cx, st, dir, &at, bd, polling);
    } else {
        let mut r = httparse::Request::new(&mut headers);
        let Ok(httparse::Status::Complete(hlen)) = r.parse(b) else {
            cx.note_at(&MALFORMED_REQUEST, &at, 0, b.len(), "malformed HTTP request");
            cx.end_layer(layer, b.len());
            return;
        };
        st.client.get_or_insert(dir as u8);
        let method = r.method.unwrap_or("");
        let path = r.path.unwrap_or("");
        cx.add_at(0, &REQUEST, Value::Bool(true), &at, 0, line_end(b, 0));
        text(cx, 1, &REQUEST_METHOD, &at, method.as_bytes());
        text(cx, 1, &REQUEST_URI, &at, path.as_bytes());
        let vstart = offset_in(b, path.as_bytes()) + path.len() + 1;
        cx.add_at(1, &REQUEST_VERSION, Value::Text, &at, vstart, 8.min(b.len().saturating_sub(vstart)));
        header_lines(cx, &at, r.headers, &REQUEST_LINE);
        cx.add_at(0, &END_OF_HEADERS, Value::None, &at, hlen.saturating_sub(2), 2.min(hlen));
        if path.contains("/socket.io/") {
            st.eio = true;
            st.http.polling = path.contains("transport=polling");
        }
        st.http.ws_requested = has_token(header(r.headers, "upgrade"), "websocket");
        if st.http.ws_requested {
            check_request(cx, st, &at, method, r.version, r.headers);
        }
        let polling = st.http.polling;
        // The answer to a POST is "ok", not Engine.IO packets: only a GET's
        // answer is a polling body.
        st.http.polling = polling && method != "POST";
        let bd = body(cx, &at, hlen, r.headers);
        cx.end_layer(layer, b.len());
        cx.set_protocol("HTTP");
        cx.set_info(format_args!("{method} {path} HTTP/1.{}", r.version.unwrap_or(1)));
        let kind = if st.http.ws_requested { MsgKind::WsHandshake } else { MsgKind::HttpRequest };
        // Engine.IO names its session in every request after the first: `?…&sid=…`.
        let sid = path
            .split_once('?')
            .and_then(|(_, q)| q.split('&').find_map(|kv| kv.strip_prefix("sid=")))
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        if st.eio {
            // A request without `sid=` opens a new session: its answer names it.
            st.sid.clone_from(&sid);
        }
        cx.event(dir, kind, format!("{method} {path}")).sid = sid;
        after_body(cx, st, dir, &at, bd, polling);
    }
}

/// Where a message's body is, for the Engine.IO dissector that runs after
/// the HTTP layer is closed.
enum Body {
    None,
    /// `at` narrowed to the body.
    InPlace(usize),
    /// De-chunked into a reserved data source.
    Dechunked(crate::model::SourceId, Vec<u8>),
}

/// The body: plain, or chunked (de-chunked into a data source).
fn body(cx: &mut Cx<'_>, at: &At<'_>, hlen: usize, headers: &[httparse::Header<'_>]) -> Body {
    let b = at.bytes;
    if hlen >= b.len() {
        return Body::None;
    }
    if has_token(header(headers, "transfer-encoding"), "chunked") {
        let mut whole = Vec::new();
        let mut pos = hlen;
        while let Ok(httparse::Status::Complete((n, size))) = httparse::parse_chunk_size(&b[pos.min(b.len())..]) {
            let size = size as usize;
            cx.add_at(0, &CHUNK_SIZE, Value::U(size as u64), at, pos, n);
            pos += n;
            if size == 0 {
                break;
            }
            let end = (pos + size).min(b.len());
            cx.add_at(0, &CHUNK_DATA, Value::Bytes, at, pos, end - pos);
            whole.extend_from_slice(&b[pos..end]);
            pos = (end + 2).min(b.len());
        }
        let id = cx.reserve_source("De-chunked entity body");
        let body = At { bytes: &whole, source: id, base: 0 };
        cx.add_at(0, &FILE_DATA, Value::Text, &body, 0, whole.len());
        return Body::Dechunked(id, whole);
    }
    let body = at.slice(hlen, b.len());
    cx.add_at(0, &FILE_DATA, Value::Text, &body, 0, body.bytes.len());
    Body::InPlace(hlen)
}

/// After the HTTP layer: the body as Engine.IO packets when long-polling.
fn after_body(cx: &mut Cx<'_>, st: &mut AppStream, dir: usize, at: &At<'_>, body: Body, polling: bool) {
    match body {
        Body::None => {}
        Body::InPlace(start) => {
            if polling {
                engineio::dissect_polling(cx, st, dir, at.slice(start, at.bytes.len()));
            }
        }
        Body::Dechunked(id, bytes) => {
            if polling {
                engineio::dissect_polling(cx, st, dir, At { bytes: &bytes, source: id, base: 0 });
            }
            cx.fill_source(id, bytes);
        }
    }
}

/// RFC 6455 §4.1: what the client's opening handshake must contain.
fn check_request(
    cx: &mut Cx<'_>,
    st: &mut AppStream,
    at: &At<'_>,
    method: &str,
    version: Option<u8>,
    h: &[httparse::Header<'_>],
) {
    let mut problems: Vec<String> = Vec::new();
    if method != "GET" {
        problems
            .push(format!("the method is {method}, but a WebSocket handshake must be a GET (RFC 6455 §4.1, item 2)"));
    }
    if version != Some(1) {
        problems.push("a WebSocket handshake needs HTTP/1.1 or later (RFC 6455 §4.1, item 2)".into());
    }
    if header(h, "host").is_none() {
        problems.push("there is no Host header (RFC 6455 §4.1, item 4)".into());
    }
    if !has_token(header(h, "connection"), "upgrade") {
        problems.push("the Connection header must contain \"Upgrade\" (RFC 6455 §4.1, item 6)".into());
    }
    match header(h, "sec-websocket-key") {
        None => problems.push("there is no Sec-WebSocket-Key (RFC 6455 §4.1, item 7)".into()),
        Some(k) => {
            let key = String::from_utf8_lossy(k).trim().to_string();
            match base64::engine::general_purpose::STANDARD.decode(key.as_bytes()) {
                Ok(v) if v.len() == 16 => {}
                Ok(v) => problems.push(format!(
                    "Sec-WebSocket-Key decodes to {} bytes, but it must be 16 random bytes in base64 (RFC 6455 §4.1, item 7)",
                    v.len()
                )),
                Err(_) => problems.push("Sec-WebSocket-Key is not valid base64 (RFC 6455 §4.1, item 7)".into()),
            }
            st.http.ws_key = Some(key);
        }
    }
    match header(h, "sec-websocket-version").map(|v| String::from_utf8_lossy(v).trim().to_string()) {
        Some(v) if v == "13" => {}
        Some(v) => problems.push(format!("Sec-WebSocket-Version is {v}, but it must be 13 (RFC 6455 §4.1, item 9)")),
        None => problems.push("there is no Sec-WebSocket-Version (RFC 6455 §4.1, item 9)".into()),
    }
    if problems.is_empty() {
        cx.note_at(
            &WEBSOCKET_HANDSHAKE_REQUEST,
            at,
            0,
            0,
            "WebSocket opening handshake, step 1 of 2: the client asks to turn this HTTP connection into a WebSocket \
(GET, HTTP/1.1, Host, Upgrade: websocket, Connection: Upgrade, a 16-byte key, version 13: all as RFC 6455 §4.1 requires)",
        );
    }
    for p in problems {
        cx.note_at(&BAD_WEBSOCKET_HANDSHAKE_REQUEST, at, 0, 0, format!("WebSocket handshake request: {p}"));
    }
}

/// The accept value a server must send for `key` (RFC 6455 §4.2.2).
pub fn accept_for(key: &str) -> (String, [u8; 20], String) {
    let concat = format!("{key}{WEBSOCKET_GUID}");
    let sha: [u8; 20] = Sha1::digest(concat.as_bytes()).into();
    let b64 = base64::engine::general_purpose::STANDARD.encode(sha);
    (concat, sha, b64)
}

/// RFC 6455 §4.2.2 and §4.1 (client's checks of the server's answer).
fn check_response(cx: &mut Cx<'_>, st: &mut AppStream, at: &At<'_>, code: u16, h: &[httparse::Header<'_>]) {
    let mut problems: Vec<String> = Vec::new();
    if code != 101 {
        problems.push(format!("the server answered {code}, not 101 Switching Protocols: the connection stays HTTP"));
    }
    if code == 101 {
        if !has_token(header(h, "upgrade"), "websocket") {
            problems.push("the 101 answer must carry Upgrade: websocket (RFC 6455 §4.2.2, item 5.2)".into());
        }
        if !has_token(header(h, "connection"), "upgrade") {
            problems.push("the 101 answer must carry Connection: Upgrade (RFC 6455 §4.2.2, item 5.3)".into());
        }
    }
    if let Some(key) = st.http.ws_key.take() {
        let (concat, sha, expected) = accept_for(&key);
        // Show the computation under the accept header (or at the top).
        let given = header(h, "sec-websocket-accept").map(|v| String::from_utf8_lossy(v).trim().to_string());
        let span = h
            .iter()
            .find(|x| x.name.eq_ignore_ascii_case("sec-websocket-accept"))
            .map(|x| (offset_in(at.bytes, x.value), x.value.len()))
            .unwrap_or((0, 0));
        let c = cx.out.intern(concat);
        cx.add_at(1, &ACCEPT_CONCAT, c, at, span.0, span.1);
        let s = cx.out.intern(crate::model::hex(&sha));
        cx.add_at(1, &ACCEPT_SHA1, s, at, span.0, span.1);
        let e = cx.out.intern(expected.clone());
        cx.add_at(1, &ACCEPT_EXPECTED, e, at, span.0, span.1);
        let ok = given.as_deref() == Some(expected.as_str());
        cx.add_at(1, &ACCEPT_VALID, Value::Bool(ok), at, span.0, span.1);
        match given {
            None if code == 101 => problems.push("there is no Sec-WebSocket-Accept (RFC 6455 §4.2.2, item 5.4)".into()),
            Some(g) if g != expected => problems.push(format!(
                "Sec-WebSocket-Accept is {g}, but base64(SHA-1(key + GUID)) is {expected}: the client must fail the connection (RFC 6455 §4.1)"
            )),
            _ => {}
        }
    }
    if problems.is_empty() {
        cx.note_at(
            &WEBSOCKET_HANDSHAKE_RESPONSE,
            at,
            0,
            0,
            "WebSocket opening handshake, step 2 of 2: the server agrees (101 Switching Protocols) and proves it read the \
key: Sec-WebSocket-Accept = base64(SHA-1(key + GUID)) matches. From the next byte on, both sides speak WebSocket frames.",
        );
    }
    for p in problems {
        cx.note_at(&BAD_WEBSOCKET_HANDSHAKE_RESPONSE, at, 0, 0, format!("WebSocket handshake response: {p}"));
    }
}
