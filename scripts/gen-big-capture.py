#!/usr/bin/env python3
"""Writes a large pcap for benchmarks by replaying a real capture's frames
many times, each replay later in time and with every TCP connection on a
client port of its own (no two replays share a connection), so that
conversation tracking, reassembly and TLS see realistic traffic.

    gen-big-capture.py [FRAMES] [OUT] [TEMPLATE]
    defaults: 1000000 /tmp/wirelab-1m.pcap captures/http-over-loopback.pcap

The client of a connection is the side that sent its SYN, or, for one whose
start was not captured, the side with the higher port.
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


def tcp_ports(f):
    """The TCP ports' offsets and values of an Ethernet/IPv4 frame, or None."""
    if len(f) < 34 or f[12:14] != b"\x08\x00" or f[23] != 6:
        return None
    off = 14 + (f[14] & 0x0F) * 4
    if len(f) < off + 14:
        return None
    sp, dp = struct.unpack(">HH", f[off:off + 4])
    return off, sp, dp, f[off + 13]


# Each connection's client port, from its first frame.
client_of = {}
for _, _, f, _ in frames:
    t = tcp_ports(f)
    if t is None:
        continue
    off, sp, dp, flags = t
    conn = (min(sp, dp), max(sp, dp))
    if conn not in client_of:
        syn, ack = flags & 0x02, flags & 0x10
        if syn and not ack:
            client_of[conn] = sp
        elif syn and ack:
            client_of[conn] = dp
        else:
            client_of[conn] = max(sp, dp)

span = (frames[-1][0] + frames[-1][1] / 1e6) - (frames[0][0] + frames[0][1] / 1e6) + 0.01
ports = {}
next_port = [10000]

with open(out_path, "wb") as out:
    out.write(header)
    written, rep = 0, 0
    while written < count:
        for sec, usec, f, orig in frames:
            if written >= count:
                break
            t = tcp_ports(f)
            if t is not None:
                off, sp, dp, _ = t
                client = client_of[(min(sp, dp), max(sp, dp))]
                key = (rep, client)
                if key not in ports:
                    ports[key] = next_port[0]
                    next_port[0] = 10000 if next_port[0] >= 59999 else next_port[0] + 1
                f = bytearray(f)
                at_port = off if sp == client else off + 2
                f[at_port:at_port + 2] = struct.pack(">H", ports[key])
                f = bytes(f)
            ts = sec + usec / 1e6 + rep * span
            s = int(ts)
            u = int(round((ts - s) * 1e6)) % 1_000_000
            out.write(struct.pack("<IIII", s, u, len(f), orig) + f)
            written += 1
        rep += 1
print(f"{written} frames written to {out_path}")
