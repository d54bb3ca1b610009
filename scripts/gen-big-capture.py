#!/usr/bin/env python3
"""Writes a large pcap for benchmarks by replaying a real capture's frames
many times, each replay as a new connection (the client port changes) and
later in time, so that conversation tracking sees realistic traffic.

    gen-big-capture.py [FRAMES] [OUT] [TEMPLATE]
    defaults: 1000000 /tmp/wirelab-1m.pcap captures/http-over-loopback.pcap
"""
import struct
import sys

count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
out_path = sys.argv[2] if len(sys.argv) > 2 else "/tmp/wirelab-1m.pcap"
template = sys.argv[3] if len(sys.argv) > 3 else "captures/http-over-loopback.pcap"

data = open(template, "rb").read()
header = data[:24]
frames = []
at = 24
while at + 16 <= len(data):
    sec, usec, incl, orig = struct.unpack("<IIII", data[at:at + 16])
    frames.append((sec, usec, data[at + 16:at + 16 + incl], orig))
    at += 16 + incl
base_sec, base_usec = frames[0][0], frames[0][1]
tcp_port = None
for _, _, f, _ in frames:
    if f[23] == 6:  # the client's port, from the first TCP frame
        tcp_port = struct.unpack(">H", f[34:36])[0]
        break

with open(out_path, "wb") as out:
    out.write(header)
    written, rep = 0, 0
    while written < count:
        port = struct.pack(">H", 10000 + rep % 50000)
        shift = rep * 0.01
        for sec, usec, f, orig in frames:
            if written >= count:
                break
            if f[23] == 6:
                f = bytearray(f)
                if struct.unpack(">H", f[34:36])[0] == tcp_port:
                    f[34:36] = port
                else:
                    f[36:38] = port
                f = bytes(f)
            t = (sec - base_sec) + (usec - base_usec) / 1e6 + shift
            s = base_sec + int(t)
            u = int(round((t - int(t)) * 1e6)) % 1_000_000
            out.write(struct.pack("<IIII", s, u, len(f), orig) + f)
            written += 1
        rep += 1
print(f"{written} frames written to {out_path}")
