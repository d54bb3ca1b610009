#!/usr/bin/env python3
"""Rewrites a little-endian microsecond Ethernet pcap into another variant,
frame for frame, so that readers of every pcap flavour are tested on the
same real traffic.

    convert-pcap.py nsec|big-endian|null|raw IN OUT
"""
import struct
import sys

mode, src, dst = sys.argv[1:4]
data = open(src, "rb").read()
magic, vmaj, vmin, zone, sigfigs, snap, link = struct.unpack("<IHHiIII", data[:24])
assert magic == 0xA1B2C3D4 and link == 1, "expects a little-endian µs Ethernet pcap"
order = ">" if mode == "big-endian" else "<"
out_magic = 0xA1B23C4D if mode == "nsec" else 0xA1B2C3D4
out_link = {"null": 0, "raw": 101}.get(mode, 1)
out = [struct.pack(order + "IHHiIII", out_magic, vmaj, vmin, zone, sigfigs, snap, out_link)]
at = 24
while at + 16 <= len(data):
    sec, usec, incl, orig = struct.unpack("<IIII", data[at:at + 16])
    frame = data[at + 16:at + 16 + incl]
    at += 16 + incl
    frac = usec * 1000 if mode == "nsec" else usec
    if mode in ("null", "raw"):
        etype = struct.unpack(">H", frame[12:14])[0]
        payload = frame[14:]
        if mode == "null":
            family = {0x0800: 2, 0x86DD: 10}.get(etype)
            if family is None:
                continue
            payload = struct.pack("<I", family) + payload
        frame = payload
        incl, orig = len(frame), orig - (incl - len(frame))
    out.append(struct.pack(order + "IIII", sec, frac, incl, orig) + frame)
open(dst, "wb").write(b"".join(out))
