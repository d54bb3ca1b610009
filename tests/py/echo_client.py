"""Talks to the wirelab echo server with Python's `websockets` library, an
independent implementation, with and without permessage-deflate.
    python3 echo_client.py ws://127.0.0.1:PORT/
Exits 1 with a message on the first thing that is not as RFC 6455 says."""

import asyncio
import sys

import websockets


async def session(url: str, compression):
    async with websockets.connect(url, compression=compression, max_size=None) as ws:
        names = [type(e).__name__ for e in ws.protocol.extensions]
        want = ["PerMessageDeflate"] if compression else []
        assert names == want, f"negotiated extensions {names}, expected {want}"
        cases = [
            "hello",                      # 7-bit length
            "é" * 100,                    # 200 bytes of UTF-8: 16-bit length
            b"\x00\xff" * 40_000,         # 80,000 bytes binary: 64-bit length
            "",                           # empty message
        ]
        for msg in cases:
            await ws.send(msg)
            back = await ws.recv()
            assert back == msg, f"sent {len(msg)} {type(msg).__name__}, got {len(back)} {type(back).__name__}"
        # A fragmented message: the server joins the fragments and echoes one message.
        await ws.send(["frag", "mented ", "text"])
        assert await ws.recv() == "fragmented text"
        # Ping: the server answers with a pong carrying the same bytes.
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)
        label = "deflate" if compression else "plain"
        print(f"ok {label}: {len(cases) + 1} messages echoed, ping answered, extensions {names}")
    assert ws.close_code == 1000, f"close code {ws.close_code}"


async def main(url):
    await session(url, "deflate")
    await session(url, None)


try:
    asyncio.run(main(sys.argv[1]))
except Exception as e:  # noqa: BLE001 - the message is the test's output
    print(f"not ok: {type(e).__name__}: {e}")
    sys.exit(1)
