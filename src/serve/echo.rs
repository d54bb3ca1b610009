//! The WebSocket echo server: every text or binary message comes back as it
//! was sent. The protocol work — the opening handshake, framing, masking,
//! fragmentation, control frames, close codes and permessage-deflate — is
//! done by the `yawc` library on top of `hyper`; this file only decides what
//! to do with a request and with each message.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::SinkExt;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use yawc::{OpCode, Options, Role, WebSocket};

/// The largest message (after decompression) the echo server accepts; a
/// bigger one is refused with close code 1009 (message too big). Autobahn's
/// largest cases send 16 MiB.
pub const MAX_MESSAGE: usize = 20 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct EchoConfig {
    /// Offer permessage-deflate (RFC 7692) to clients that ask for it.
    pub deflate: bool,
    pub max_message: usize,
}

impl Default for EchoConfig {
    fn default() -> Self {
        EchoConfig { deflate: true, max_message: MAX_MESSAGE }
    }
}

#[derive(Debug, Default)]
pub struct EchoStats {
    pub connections: AtomicU64,
    pub messages: AtomicU64,
    pub refused_handshakes: AtomicU64,
    /// Connections closed because the client was silent too long or stopped reading.
    pub timed_out: AtomicU64,
}

fn options(cfg: &EchoConfig) -> Options {
    let o = Options::default().with_limits(cfg.max_message, cfg.max_message).with_utf8().with_no_delay();
    if cfg.deflate { o.with_balanced_compression() } else { o }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

/// Answers one HTTP request: a WebSocket upgrade becomes an echo session, a
/// plain GET gets a short explanation, anything else a 400 that says why.
pub async fn handle(
    mut req: Request<Incoming>,
    cfg: Arc<EchoConfig>,
    stats: Arc<EchoStats>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let wants_upgrade = req.headers().contains_key(hyper::header::UPGRADE)
        || req.headers().contains_key(hyper::header::SEC_WEBSOCKET_KEY);
    if !wants_upgrade {
        return Ok(text(
            StatusCode::OK,
            "wirelab WebSocket echo server.\nConnect a WebSocket client to this address \
             (ws://HOST:PORT/); every message you send comes back unchanged.\n\
             permessage-deflate is offered when the client asks for it.\n"
                .into(),
        ));
    }
    if let Err(why) = check_handshake(&req) {
        stats.refused_handshakes.fetch_add(1, Ordering::Relaxed);
        return Ok(refuse(why));
    }
    // yawc checks the key and version and agrees on the extensions; it is
    // given a copy of the request so that the upgraded connection can be
    // wrapped in `ControlFrameGuard` before yawc reads from it.
    let opts = options(&cfg);
    // A client may offer permessage-deflate several times, with different
    // parameters, best first (RFC 7692 section 5). yawc reads one offer, so
    // it is shown the offers one at a time and the first it accepts wins.
    let offers: Vec<String> = req
        .headers()
        .get_all(hyper::header::SEC_WEBSOCKET_EXTENSIONS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|o| o.trim().to_string())
        .filter(|o| o.split(';').next().is_some_and(|n| n.trim().eq_ignore_ascii_case("permessage-deflate")))
        // Each offer costs a copy of the request: a header of thousands of
        // offers must not cost thousands of copies.
        .take(super::limits::MAX_EXTENSION_OFFERS)
        .collect();
    let mut copy = request_copy(&req, None);
    for offer in &offers {
        let mut c = request_copy(&copy, Some(offer));
        if let Ok((r, _)) = WebSocket::upgrade_with_options(&mut c, opts.clone())
            && r.headers().contains_key(hyper::header::SEC_WEBSOCKET_EXTENSIONS)
        {
            copy = c;
            break;
        }
    }
    match WebSocket::upgrade_with_options(&mut copy, opts.clone()) {
        Ok((response, _unused)) => {
            stats.connections.fetch_add(1, Ordering::Relaxed);
            let extensions = response
                .headers()
                .get(hyper::header::SEC_WEBSOCKET_EXTENSIONS)
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            let upgrade = hyper::upgrade::on(&mut req);
            tokio::spawn(async move {
                let Ok(upgraded) = upgrade.await else { return };
                let io = ControlFrameGuard::new(TokioIo::new(upgraded));
                if let Ok(ws) = WebSocket::from_stream_with_extensions(io, Role::Server, extensions.as_deref(), opts) {
                    echo(ws, &stats).await;
                }
            });
            Ok(response.map(|_| Full::new(Bytes::new())))
        }
        Err(e) => {
            stats.refused_handshakes.fetch_add(1, Ordering::Relaxed);
            Ok(refuse(e.to_string()))
        }
    }
}

/// The request line and headers of `base`, with only `offer` as its
/// Sec-WebSocket-Extensions (none if `offer` is None).
fn request_copy<B>(base: &Request<B>, offer: Option<&str>) -> Request<()> {
    let mut c = Request::new(());
    *c.method_mut() = base.method().clone();
    *c.uri_mut() = base.uri().clone();
    *c.version_mut() = base.version();
    *c.headers_mut() = base.headers().clone();
    c.headers_mut().remove(hyper::header::SEC_WEBSOCKET_EXTENSIONS);
    if let Some(v) = offer.and_then(|o| HeaderValue::from_str(o).ok()) {
        c.headers_mut().insert(hyper::header::SEC_WEBSOCKET_EXTENSIONS, v);
    }
    c
}

fn refuse(why: String) -> Response<Full<Bytes>> {
    text(
        StatusCode::BAD_REQUEST,
        format!(
            "Not a valid WebSocket opening handshake: {why}.\nRFC 6455 section 4.1 asks for GET over HTTP/1.1 with \
             Upgrade: websocket, Connection: Upgrade, a Sec-WebSocket-Key of 16 base64-encoded bytes and \
             Sec-WebSocket-Version: 13.\n"
        ),
    )
}

/// The opening handshake's requirements on the request (RFC 6455 section 4.2.1)
/// that yawc does not check itself.
fn check_handshake<B>(req: &Request<B>) -> Result<(), String> {
    use base64::Engine as _;
    let h = req.headers();
    let has_token = |name: hyper::header::HeaderName, token: &str| {
        h.get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    if req.method() != hyper::Method::GET {
        return Err(format!("the method is {}, not GET", req.method()));
    }
    if req.version() != hyper::Version::HTTP_11 {
        return Err(format!("the request is {:?}, not HTTP/1.1", req.version()));
    }
    if !h.contains_key(hyper::header::HOST) {
        return Err("there is no Host header".into());
    }
    if !has_token(hyper::header::UPGRADE, "websocket") {
        return Err("the Upgrade header does not name websocket".into());
    }
    if !has_token(hyper::header::CONNECTION, "upgrade") {
        return Err("the Connection header does not contain the Upgrade token".into());
    }
    let Some(key) = h.get(hyper::header::SEC_WEBSOCKET_KEY) else {
        return Err("Sec-WebSocket-Key is missing".into());
    };
    match base64::engine::general_purpose::STANDARD.decode(key.as_bytes()) {
        Ok(k) if k.len() == 16 => {}
        _ => return Err("Sec-WebSocket-Key is not 16 bytes in base64".into()),
    }
    if h.get(hyper::header::SEC_WEBSOCKET_VERSION).map(|v| v.as_bytes()) != Some(b"13") {
        return Err("Sec-WebSocket-Version is not 13".into());
    }
    Ok(())
}

/// Sits between the socket and yawc and watches the client's frame headers
/// go by, for two rules yawc 0.5 gets wrong: it accepts a close frame with
/// more than 125 bytes of payload, which RFC 6455 section 5.5 forbids for
/// every control frame (Autobahn case 7.3.6), and it answers a reserved
/// opcode with close code 1003 where the RFC asks for 1002 (cases 4.*).
/// On either, the guard fails the connection itself (section 7.1.7): a close
/// frame with 1002, then the connection is dropped.
pub struct ControlFrameGuard<S> {
    inner: S,
    header: [u8; 14],
    have: usize,
    /// Payload bytes of the current frame still to pass by.
    skip: u64,
    broken: Option<&'static str>,
}

impl<S> ControlFrameGuard<S> {
    pub fn new(inner: S) -> Self {
        ControlFrameGuard { inner, header: [0; 14], have: 0, skip: 0, broken: None }
    }

    /// Follows the frame structure over newly read bytes; the rule broken, if one is.
    fn scan(&mut self, mut data: &[u8]) -> Result<(), &'static str> {
        while !data.is_empty() {
            if self.skip > 0 {
                let n = (self.skip.min(data.len() as u64)) as usize;
                self.skip -= n as u64;
                data = &data[n..];
                continue;
            }
            self.header[self.have] = data[0];
            self.have += 1;
            data = &data[1..];
            if self.have == 1 && matches!(self.header[0] & 0x0f, 3..=7 | 11..=15) {
                return Err("reserved opcode (RFC 6455 section 5.2)");
            }
            if self.have < 2 {
                continue;
            }
            let len7 = self.header[1] & 0x7f;
            let ext = match len7 {
                126 => 2,
                127 => 8,
                _ => 0,
            };
            let need = 2 + ext + if self.header[1] & 0x80 != 0 { 4 } else { 0 };
            if self.have < need {
                continue;
            }
            let len = match ext {
                0 => len7 as u64,
                2 => u16::from_be_bytes([self.header[2], self.header[3]]) as u64,
                _ => u64::from_be_bytes(self.header[2..10].try_into().unwrap_or_default()),
            };
            if self.header[0] & 0x08 != 0 && len > 125 {
                return Err("control frame with more than 125 bytes of payload (RFC 6455 section 5.5)");
            }
            self.skip = len;
            self.have = 0;
        }
        Ok(())
    }
}

fn violation(rule: &'static str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, rule)
}

/// A close frame with status 1002 (protocol error), unmasked as a server sends it.
const CLOSE_PROTOCOL_ERROR: [u8; 4] = [0x88, 0x02, 0x03, 0xea];

impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> tokio::io::AsyncRead for ControlFrameGuard<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if let Some(rule) = self.broken {
            return std::task::Poll::Ready(Err(violation(rule)));
        }
        let before = buf.filled().len();
        let r = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if let std::task::Poll::Ready(Ok(())) = r {
            let fresh = buf.filled()[before..].to_vec();
            if let Err(rule) = self.scan(&fresh) {
                self.broken = Some(rule);
                buf.set_filled(before);
                // yawc writes whole frames and the echo loop waits for each
                // write before reading, so nothing of ours is half-written
                // here. If the socket cannot take the close frame right now,
                // the connection is simply dropped, which the RFC also allows.
                let _ = std::pin::Pin::new(&mut self.inner).poll_write(cx, &CLOSE_PROTOCOL_ERROR);
                return std::task::Poll::Ready(Err(violation(rule)));
            }
        }
        r
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for ControlFrameGuard<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if let Some(rule) = self.broken {
            return std::task::Poll::Ready(Err(violation(rule)));
        }
        std::pin::Pin::new(&mut self.inner).poll_write(cx, data)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

async fn echo<S>(mut ws: WebSocket<S>, stats: &EchoStats)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    // Control frames (ping, pong, close) are answered by yawc itself. Sending
    // each reply before reading the next message is what bounds memory: a
    // client that never reads fills its socket buffer, then the server waits.
    // A client silent for `IDLE`, or one that stops reading for
    // `WRITE_TIMEOUT`, is let go.
    use super::limits::{IDLE, WRITE_TIMEOUT};
    loop {
        let Ok(next) = tokio::time::timeout(IDLE, ws.next_frame()).await else {
            stats.timed_out.fetch_add(1, Ordering::Relaxed);
            break;
        };
        match next {
            Ok(frame) if matches!(frame.opcode(), OpCode::Text | OpCode::Binary) => {
                stats.messages.fetch_add(1, Ordering::Relaxed);
                match tokio::time::timeout(WRITE_TIMEOUT, ws.send(frame)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => break,
                    Err(_) => {
                        stats.timed_out.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
            }
            // yawc answers ping and close frames itself; the next read after a close ends the loop.
            Ok(_) => {}
            Err(_) => {
                // On a protocol error yawc has queued a close frame with the
                // right code (1002, 1007, 1009, ...); yawc writes it out on
                // the next read, so read once more (briefly) before hanging up.
                let _ = tokio::time::timeout(std::time::Duration::from_millis(500), ws.next_frame()).await;
                break;
            }
        }
    }
}
