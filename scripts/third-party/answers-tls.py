#!/usr/bin/env python3
"""Right answers for the lab tls-and-wss on TLS captures made by other
programs (captures/tls/*-sni.pcapng: the npm socket.io server and client
over https, Python websockets over wss; both by name, so with SNI; their
key logs injected), worked out from each question's text with tshark,
which decrypts from the secrets in the file, and this script's own reading
of the decrypted WebSocket text — never from the lab's queries.

    python3 scripts/third-party/answers-tls.py

Writes captures/third-party/tls-*.answers.json. stdlib + tshark only.

Conventions (from the lab's text):
- "The client" is the side that sent the first SYN; "the first" is the
  first in the capture.
- A Socket.IO event is a WebSocket text frame (or polling body) starting
  with 42; its name is the first element of its JSON array. tshark 4.0 has
  no Socket.IO dissector, so the text is read here.
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "captures", "third-party")
LAB = "tls-and-wss"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tsharkfields import tshark  # noqa: E402


def first_frame(pcap, filt):
    rows = tshark(pcap, ["frame.number"], filt)
    return int(rows[0]["frame.number"]) if rows else None


def suite_name(pcap):
    """The first ServerHello's cipher suite, as tshark's tree names it."""
    out = subprocess.run(
        ["tshark", "-r", pcap, "-Y", "tls.handshake.type == 2", "-O", "tls", "-V", "-c", "100000"],
        capture_output=True, text=True, check=True,
    ).stdout
    m = re.search(r"Cipher Suite: (\S+) \(0x", out)
    return m.group(1) if m else None


def client_events(pcap, server_port):
    """(frame, event name, websocket payload length) of each Socket.IO event
    the client sent over the WebSocket, in order."""
    rows = tshark(
        pcap,
        ["frame.number", "websocket.payload_length", "websocket.payload.text"],
        f"websocket.payload.text && tcp.dstport == {server_port}",
    )
    out = []
    for r in rows:
        frame, length, text = r["frame.number"], r["websocket.payload_length"], r["websocket.payload.text"]
        m = re.match(r"42(?:/[^,]*,)?\d*(\[.*)$", text)
        if m:
            try:
                name = json.loads(m.group(1))[0]
            except (ValueError, IndexError):
                continue
            out.append((int(frame), name, int(length)))
    return out


def answers(pcap):
    a, cannot, how = {}, {}, {}
    syn = tshark(pcap, ["frame.number", "tcp.dstport"], "tcp.flags.syn == 1 && tcp.flags.ack == 0")
    server_port = int(syn[0]["tcp.dstport"])
    sni = tshark(pcap, ["tls.handshake.extensions_server_name"], "tls.handshake.type == 1")
    if sni and sni[0]["tls.handshake.extensions_server_name"]:
        a["sni"] = sni[0]["tls.handshake.extensions_server_name"]
        how["sni"] = "server_name of the first ClientHello"
    else:
        cannot["sni"] = "the first ClientHello names no server"
    a["cipher-suite"] = suite_name(pcap)
    how["cipher-suite"] = "Cipher Suite line of the first ServerHello in tshark's tree"
    cert = first_frame(pcap, "tls.handshake.type == 11")
    a["certificate-frame"] = cert
    how["certificate-frame"] = "first frame with a Certificate handshake message (decrypted in TLS 1.3)"
    ws = first_frame(pcap, "websocket")
    a["first-decrypted-frame"] = ws
    how["first-decrypted-frame"] = "first frame tshark shows a WebSocket frame in (read from the decrypted records)"
    moments = {
        "syn": int(syn[0]["frame.number"]),
        "client-hello": first_frame(pcap, "tls.handshake.type == 1"),
        "server-hello": first_frame(pcap, "tls.handshake.type == 2"),
        "upgrade": first_frame(pcap, f'http.request && http.upgrade && tcp.dstport == {server_port}'),
        "websocket": ws,
    }
    a["handshake-order"] = sorted(moments, key=lambda k: moments[k])
    how["handshake-order"] = "first frames of each moment: " + ", ".join(f"{k} {v}" for k, v in moments.items())
    events = client_events(pcap, server_port)
    if events:
        a["first-event"] = events[0][1]
        how["first-event"] = f"first 42[...] text the client sent over the WebSocket (frame {events[0][0]})"
    else:
        cannot["first-event"] = "no Socket.IO event from the client"
    chat = [e for e in events if e[1] == "chat message"]
    if chat:
        frame, _, length = chat[0]
        rec = tshark(pcap, ["tls.record.length"], f"frame.number == {frame}")
        a["record-length"] = int(rec[0]["tls.record.length"])
        a["payload-length"] = length
        how["record-length"] = f"first TLS record length in frame {frame}, the client's first chat message"
        how["payload-length"] = "websocket.payload_length of that frame"
    else:
        for q in ("record-length", "payload-length"):
            cannot[q] = "no \"chat message\" event from the client"
    return a, cannot, how


CAPTURES = [
    ("tls-socketio-https-sni", "captures/tls/socketio-https-sni.pcapng",
     "npm socket.io 4 server on https.createServer and socket.io-client in Node, "
     "connecting to https://localhost (polling, then the upgrade to WebSocket), two chat messages "
     "with acks; key log from node --tls-keylog, injected with editcap (scripts/tls/make-captures.sh socketio-sni)"),
    ("tls-py-websockets-tls13-sni", "captures/tls/py-websockets-tls13-sni.pcapng",
     "Python websockets echo server and client over wss://localhost, TLS 1.3; key log from "
     "ssl.SSLContext.keylog_filename, injected with editcap (scripts/tls/make-captures.sh ws13-sni)"),
]


def main():
    for name, rel, made_by in CAPTURES:
        a, cannot, how = answers(os.path.join(ROOT, rel))
        doc = {"made_by": made_by, "capture": rel, "labs": {LAB: {"answers": a, "cannot": cannot, "how": how}}}
        path = os.path.join(OUT, f"{name}.answers.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        print(f"{path}: {a} cannot {sorted(cannot)}")


if __name__ == "__main__":
    main()
