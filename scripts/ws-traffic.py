#!/usr/bin/env python3
"""WebSocket traffic between Python's `websockets` server and client on
loopback, for captures: text, binary, 16- and 64-bit lengths, a fragmented
message, ping/pong, and a close with a code and reason.

    ws-traffic.py PORT on|off     (permessage-deflate on or off)
"""
import asyncio
import sys

import websockets

PORT = int(sys.argv[1])
COMPRESSION = "deflate" if sys.argv[2] == "on" else None


async def echo(ws):
    async for msg in ws:
        await ws.send(msg)


async def main():
    async with websockets.serve(echo, "127.0.0.1", PORT, compression=COMPRESSION):
        async with websockets.connect(f"ws://127.0.0.1:{PORT}/chat", compression=COMPRESSION) as ws:
            for text in ["Hello", "Hello", "bonjour, WebSocket ✓"]:
                await ws.send(text)
                await ws.recv()
            await ws.send(bytes(range(256)))            # binary, 16-bit length
            await ws.recv()
            await ws.send("x" * 70000)                  # text, 64-bit length
            await ws.recv()
            await ws.send(["frag", "ment", "ed"])       # one message in three frames
            await ws.recv()
            pong = await ws.ping(b"are you there?")
            await pong
            await ws.close(code=1000, reason="lesson over")


asyncio.run(main())
