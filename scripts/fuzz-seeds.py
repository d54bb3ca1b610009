#!/usr/bin/env python3
"""Turns the TCP payloads of captures into seeds for the stream fuzz target:
[mode][control][length][payload]… where the mode says which handshake the
target plays first (1 WebSocket, 2 with deflate, 3 Socket.IO) and each
segment is at most 255 bytes.

    fuzz-seeds.py OUT_DIR CAPTURE…
"""
import os
import struct
import sys

out = sys.argv[1]
for path in sys.argv[2:]:
    data = open(path, "rb").read()
    at, segs, server_port = 24, [], None
    while at + 16 <= len(data):
        incl = struct.unpack("<I", data[at + 8:at + 12])[0]
        f = data[at + 16:at + 16 + incl]
        at += 16 + incl
        if len(f) < 54 or f[23] != 6:
            continue
        ihl = (f[14] & 15) * 4
        t = 14 + ihl
        sport, dport = struct.unpack(">HH", f[t:t + 4])
        payload = f[t + ((f[t + 12] >> 4) * 4):]
        if not payload or payload.startswith(b"GET ") or payload.startswith(b"HTTP/") or payload.startswith(b"POST "):
            continue
        server_port = server_port or (dport if dport < sport else sport)
        segs.append((0 if dport == server_port else 1, payload))
    # TLS captures play no handshake first: their first bytes are a ClientHello.
    mode = 0 if "/tls/" in path else 2 if "deflate" in path else 3 if "socketio" in path else 1
    for n in range(0, len(segs), 16):
        seed = bytearray([mode])
        for d, p in segs[n:n + 16]:
            for i in range(0, len(p), 255):
                chunk = p[i:i + 255]
                seed += bytes([d, len(chunk)]) + chunk
        name = f"{os.path.basename(path)}-{n // 16}"
        open(os.path.join(out, name), "wb").write(bytes(seed))
print(f"seeds written to {out}")
