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
use yawc::{OpCode, Options, WebSocket};

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
    match WebSocket::upgrade_with_options(&mut req, options(&cfg)) {
        Ok((response, upgrade)) => {
            stats.connections.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                if let Ok(ws) = upgrade.await {
                    echo(ws, &stats).await;
                }
            });
            Ok(response.map(|_| Full::new(Bytes::new())))
        }
        Err(e) => {
            stats.refused_handshakes.fetch_add(1, Ordering::Relaxed);
            Ok(text(
                StatusCode::BAD_REQUEST,
                format!(
                    "Not a valid WebSocket opening handshake: {e}.\nRFC 6455 section 4.1 asks for GET over HTTP/1.1 with \
                     Upgrade: websocket, Connection: Upgrade, a Sec-WebSocket-Key of 16 base64-encoded bytes and \
                     Sec-WebSocket-Version: 13.\n"
                ),
            ))
        }
    }
}

async fn echo<S>(mut ws: WebSocket<S>, stats: &EchoStats)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    // Control frames (ping, pong, close) are answered by yawc itself. Sending
    // each reply before reading the next message is what bounds memory: a
    // client that never reads fills its socket buffer, then the server waits.
    while let Ok(frame) = ws.next_frame().await {
        match frame.opcode() {
            OpCode::Text | OpCode::Binary => {
                stats.messages.fetch_add(1, Ordering::Relaxed);
                if ws.send(frame).await.is_err() {
                    break;
                }
            }
            OpCode::Close => break,
            _ => {}
        }
    }
}
