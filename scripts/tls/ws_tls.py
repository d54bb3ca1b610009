#!/usr/bin/env python3
"""A WebSocket echo server and client over TLS (wss) with Python's
`websockets` and `ssl`, for the TLS reference captures in captures/tls/.

    ws_tls.py server PORT CERT KEY [--page] [--once]
    ws_tls.py client PORT [--keylog FILE] [--host NAME] [--tls12] [--ciphers CIPHERS]

The server prints "LISTENING" once its socket accepts connections and
"CLOSED" each time a WebSocket connection has ended; with --once it exits
after the first one. With --page it also answers GET / with an HTML page
whose script opens wss://HOST/echo, sends two messages and closes after
the two echoes (for the Chromium capture).

The client sends three text messages and one binary message, waits for
each echo, and closes with code 1000. Only the client writes a key log
(ssl.SSLContext.keylog_filename), so each secret appears once.
--tls12 sets maximum_version = TLSv1_2; --ciphers sets the TLS 1.2 cipher
list (Python's ssl cannot choose TLS 1.3 suites: make-captures.sh does
that with OPENSSL_CONF). permessage-deflate is off on both sides so the
decrypted payloads are the messages themselves.
"""
import argparse
import asyncio
import ssl
import sys

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.datastructures import Headers
from websockets.http11 import Response

PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>wirelab wss</title></head>
<body><p>wirelab: a WebSocket over TLS</p>
<script>
const ws = new WebSocket(`wss://${location.host}/echo`);
let echoes = 0;
ws.onopen = () => {
  ws.send("hello from chromium");
  ws.send("second message over wss");
};
ws.onmessage = (e) => {
  document.body.append(` echo: ${e.data}`);
  if (++echoes === 2) ws.close(1000, "done");
};
</script></body></html>
"""

MESSAGES = ["Hello over TLS", "second message", "bonjour, WebSocket \u2713"]
BINARY = bytes(range(32))


def say(word):
    print(word, flush=True)


async def run_server(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    done = asyncio.Event()

    async def echo(ws):
        try:
            async for msg in ws:
                await ws.send(msg)
        finally:
            say("CLOSED")
            done.set()

    def process_request(connection, request):
        if args.page and request.path == "/":
            headers = Headers(
                [
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Content-Length", str(len(PAGE))),
                    ("Connection", "close"),
                ]
            )
            return Response(200, "OK", headers, PAGE)
        if request.path != "/echo":
            return connection.respond(404, "not found\n")
        return None

    async with serve(
        echo,
        "127.0.0.1",
        args.port,
        ssl=ctx,
        compression=None,
        process_request=process_request,
    ) as server:
        say("LISTENING")
        if args.once:
            await done.wait()
            await asyncio.sleep(0.2)  # let the closing handshake finish
        else:
            await server.serve_forever()


async def run_client(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if args.keylog:
        ctx.keylog_filename = args.keylog
    if args.tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if args.ciphers:
        ctx.set_ciphers(args.ciphers)
    uri = f"wss://{args.host}:{args.port}/echo"
    async with connect(uri, ssl=ctx, compression=None) as ws:
        obj = ws.transport.get_extra_info("ssl_object")
        for text in MESSAGES:
            await ws.send(text)
            assert await ws.recv() == text
        await ws.send(BINARY)
        assert await ws.recv() == BINARY
        print(f"client: {obj.version()} {obj.cipher()[0]}", file=sys.stderr)
        await ws.close(code=1000, reason="bye")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="role", required=True)
    s = sub.add_parser("server")
    s.add_argument("port", type=int)
    s.add_argument("cert")
    s.add_argument("key")
    s.add_argument("--page", action="store_true")
    s.add_argument("--once", action="store_true")
    c = sub.add_parser("client")
    c.add_argument("port", type=int)
    c.add_argument("--keylog")
    # By name (localhost), the ClientHello carries it (SNI); by address, none.
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--tls12", action="store_true")
    c.add_argument("--ciphers")
    args = p.parse_args()
    asyncio.run(run_server(args) if args.role == "server" else run_client(args))


if __name__ == "__main__":
    main()
