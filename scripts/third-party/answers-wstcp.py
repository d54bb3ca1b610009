#!/usr/bin/env python3
"""Right answers for the wstcp group's labs on third-party captures, worked
out from each question's text with tshark (segments, flags, analysis notes)
and this script's own parsing of the TCP byte streams (HTTP headers,
WebSocket frames, unmasking, permessage-deflate, wirelab's demo format as
src/dissect/app/demo.rs documents it) — never from the labs' queries.

    python3 scripts/third-party/answers-wstcp.py

Writes captures/third-party/wstcp-*.answers.json. stdlib + tshark only.

Conventions (from the labs' text):
- A WebSocket frame or HTTP message that spans TCP segments is "in" the
  segment holding its last byte (where tshark and wirelab show it).
- "The client" / "the server" of a TCP lab question are the lab's traffic:
  the connection that carries the lab's protocol (demo messages, a
  WebSocket, GET /index.html), not the unrelated connection each capture
  opens first, nor a refused attempt to a closed port.
- "The capture holds" counts everything in the capture.
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "captures", "third-party")
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tsharkfields import tshark  # noqa: E402


def version_of(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.split("\n")[0].strip()
    except OSError:
        return "?"


# ---------------------------------------------------------------- packets

class Capture:
    """Every frame of a pcap, TCP streams reassembled per direction."""

    FIELDS = ["frame.number", "frame.time_epoch", "ip.src", "ip.dst", "tcp.srcport", "tcp.dstport",
              "tcp.seq_raw", "tcp.ack_raw", "tcp.len", "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.fin",
              "tcp.flags.reset", "tcp.payload", "udp.srcport", "udp.dstport", "udp.payload", "eth.type"]

    def __init__(self, path):
        self.path = path
        self.frames = []
        for r in tshark(path, self.FIELDS):
            f = {"no": int(r["frame.number"]), "t": float(r["frame.time_epoch"]),
                 "src": r["ip.src"], "dst": r["ip.dst"], "eth_type": r["eth.type"]}
            if r["tcp.srcport"]:
                f.update(proto="tcp", sport=int(r["tcp.srcport"]), dport=int(r["tcp.dstport"]),
                         seq=int(r["tcp.seq_raw"]), ack=int(r["tcp.ack_raw"] or 0), len=int(r["tcp.len"]),
                         syn=r["tcp.flags.syn"] in ("1", "True"), ackf=r["tcp.flags.ack"] in ("1", "True"),
                         fin=r["tcp.flags.fin"] in ("1", "True"), rst=r["tcp.flags.reset"] in ("1", "True"),
                         payload=bytes.fromhex(r["tcp.payload"].replace(":", "")))
            elif r["udp.srcport"]:
                f.update(proto="udp", sport=int(r["udp.srcport"]), dport=int(r["udp.dstport"]),
                         payload=bytes.fromhex(r["udp.payload"].replace(":", "")))
            else:
                f.update(proto="other")
            self.frames.append(f)
        self.conns = self._connections()

    def _connections(self):
        """TCP connections by 4-tuple, in order of first frame; the side
        that sent the SYN without ACK is the client."""
        conns = {}
        for f in self.frames:
            if f["proto"] != "tcp":
                continue
            a, b = (f["src"], f["sport"]), (f["dst"], f["dport"])
            key = tuple(sorted([a, b]))
            c = conns.setdefault(key, {"frames": [], "client": None})
            c["frames"].append(f)
            if f["syn"] and not f["ackf"] and c["client"] is None:
                c["client"] = a
        out = []
        for c in conns.values():
            if c["client"] is None:
                c["client"] = (c["frames"][0]["src"], c["frames"][0]["sport"])
            cl = c["client"]
            ends = {(f["src"], f["sport"]) for f in c["frames"]} | {(f["dst"], f["dport"]) for f in c["frames"]}
            c["server"] = next(e for e in ends if e != cl)
            c["first"] = c["frames"][0]["no"]
            c["syn"] = next((f for f in c["frames"] if f["syn"] and not f["ackf"]), None)
            c["synack"] = next((f for f in c["frames"] if f["syn"] and f["ackf"]), None)
            c["established"] = c["synack"] is not None
            c["handshake_ack"] = None
            if c["synack"]:
                c["handshake_ack"] = next((f for f in c["frames"] if f["no"] > c["synack"]["no"]
                                           and (f["src"], f["sport"]) == cl and f["ackf"] and not f["syn"]
                                           and f["ack"] == (c["synack"]["seq"] + 1) % 2**32), None)
            for d, who in (("c2s", cl), ("s2c", c["server"])):
                c[d] = self._stream([f for f in c["frames"] if (f["src"], f["sport"]) == who])
            out.append(c)
        return sorted(out, key=lambda c: c["first"])

    @staticmethod
    def _stream(frames):
        """(bytes, chunks): the direction's bytes in sequence order, and
        [(end offset, frame number)] saying in which frame each byte first
        arrived (a later copy of the same bytes adds nothing)."""
        syn = next((f for f in frames if f["syn"]), None)
        base = (syn["seq"] + 1) if syn else (frames[0]["seq"] if frames else 0)
        data, chunks, pending = bytearray(), [], []
        for f in frames:
            if f["len"]:
                pending.append(((f["seq"] - base) % 2**32, f["payload"], f["no"]))
            progress = True
            while progress:
                progress = False
                for p in list(pending):
                    off, pl, no = p
                    if off <= len(data):
                        pending.remove(p)
                        new = pl[len(data) - off:]
                        if new:
                            data += new
                            chunks.append((len(data), no))
                            progress = True
        return bytes(data), chunks


def frame_at(chunks, offset):
    """Frame in which stream byte `offset` arrived."""
    for end, no in chunks:
        if offset < end:
            return no
    return None


def http_head(stream, start=0):
    """(start line, headers dict lowercased, end offset) of an HTTP head at `start`, or None."""
    data, _ = stream
    end = data.find(b"\r\n\r\n", start)
    if end < 0:
        return None
    lines = data[start:end].decode("latin-1").split("\r\n")
    hdr = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdr.setdefault(k.strip().lower(), v.strip())
    return lines[0], hdr, end + 4


# -------------------------------------------------------------- websocket

def ws_frames(stream, start, from_client):
    data, chunks = stream
    i, out = start, []
    while i + 2 <= len(data):
        b0, b1 = data[i], data[i + 1]
        n, j = b1 & 0x7F, i + 2
        ext16 = ext64 = None
        if n == 126:
            if j + 2 > len(data):
                break
            ext16 = n = int.from_bytes(data[j:j + 2], "big"); j += 2
        elif n == 127:
            if j + 8 > len(data):
                break
            ext64 = n = int.from_bytes(data[j:j + 8], "big"); j += 8
        key = None
        if b1 & 0x80:
            key = data[j:j + 4]; j += 4
        if j + n > len(data):
            break
        payload = data[j:j + n]
        if key:
            payload = bytes(x ^ key[k % 4] for k, x in enumerate(payload))
        out.append({"no": frame_at(chunks, j + n - 1 if n else j - 1), "first_no": frame_at(chunks, i),
                    "from_client": from_client, "fin": bool(b0 & 0x80), "rsv1": bool(b0 & 0x40),
                    "opcode": b0 & 0x0F, "mask": bool(b1 & 0x80), "len7": b1 & 0x7F, "ext16": ext16,
                    "ext64": ext64, "key": key, "payload": payload})
        i = j + n
    return out


class WsConn:
    """One WebSocket connection: handshake and frames of both directions."""

    def __init__(self, conn):
        self.conn = conn
        req = http_head(conn["c2s"])
        resp = http_head(conn["s2c"])
        self.ok = bool(req and resp and req[0].startswith("GET ") and "websocket" in req[1].get("upgrade", "").lower()
                       and resp[0].split(" ")[1:2] == ["101"])
        if not self.ok:
            return
        self.req_line, self.req, req_end = req
        self.resp_line, self.resp, resp_end = resp
        self.req_frame = frame_at(conn["c2s"][1], req_end - 1)
        self.resp_frame = frame_at(conn["s2c"][1], resp_end - 1)
        self.frames = sorted(ws_frames(conn["c2s"], req_end, True) + ws_frames(conn["s2c"], resp_end, False),
                             key=lambda f: (f["no"], f["first_no"]))
        ext = self.resp.get("sec-websocket-extensions", "")
        self.deflate = "permessage-deflate" in ext
        self.no_ctx = {True: "client_no_context_takeover" in ext, False: "server_no_context_takeover" in ext}

    def messages(self):
        """Data messages, per direction in order: fragments joined, inflated when RSV1."""
        out = []
        for side in (True, False):
            inflater = zlib.decompressobj(-15)
            cur = None
            for f in (f for f in self.frames if f["from_client"] == side):
                if f["opcode"] >= 8:
                    continue
                if f["opcode"] in (1, 2):
                    cur = {"from_client": side, "opcode": f["opcode"], "compressed": f["rsv1"],
                           "frames": [f["no"]], "wire": f["payload"]}
                elif cur is not None:
                    cur["frames"].append(f["no"]); cur["wire"] += f["payload"]
                if cur is not None and f["fin"]:
                    if cur["compressed"] and self.deflate:
                        if self.no_ctx[side]:
                            inflater = zlib.decompressobj(-15)
                        cur["data"] = inflater.decompress(cur["wire"] + b"\x00\x00\xff\xff")
                    else:
                        cur["data"] = cur["wire"]
                    out.append(cur)
                    cur = None
        return sorted(out, key=lambda m: m["frames"][-1])


def ws_conns(cap):
    return [w for w in (WsConn(c) for c in cap.conns) if w.ok]


def lab_websocket_frames(cap):
    A, C, H = {}, {}, {}
    ws = ws_conns(cap)
    frames = sorted((f for w in ws for f in w.frames), key=lambda f: (f["no"], f["first_no"]))
    if not frames:
        return {"cannot": {q: "no WebSocket connection in the capture" for q in
                           ("ext16-length", "first-continuation", "first-masking-key", "who-masks", "first-pong",
                            "close-code")}}
    f16 = next((f for f in frames if f["ext16"] is not None), None)
    if f16:
        A["ext16-length"] = f16["ext16"]
    else:
        C["ext16-length"] = "no WebSocket frame with a 16-bit length"
    H["ext16-length"] = "own parse of the WebSocket frames in the reassembled TCP streams: first frame whose 7-bit length is 126, its next 16 bits"
    cont = next((f for f in frames if f["opcode"] == 0), None)
    if cont:
        A["first-continuation"] = cont["no"]
    else:
        C["first-continuation"] = "no fragmented message (no frame with opcode 0)"
    H["first-continuation"] = "own parse: first WebSocket frame with opcode 0 (the TCP segment holding its last byte)"
    m = next((f for f in frames if f["mask"]), None)
    if m:
        A["first-masking-key"] = m["key"].hex(":")
    else:
        C["first-masking-key"] = "no masked frame"
    H["first-masking-key"] = "own parse: first frame with MASK bit set, the 4 bytes after the length"
    cm = {f["mask"] for f in frames if f["from_client"]}
    sm = {f["mask"] for f in frames if not f["from_client"]}
    if cm == {True} and sm <= {False}:
        A["who-masks"] = "client"
    elif cm == {True} and sm == {True}:
        A["who-masks"] = "both"
    else:
        C["who-masks"] = f"client frames mask {cm}, server frames mask {sm}: no choice fits"
    H["who-masks"] = "own parse: MASK bit of every frame, by direction (client = side that sent the SYN and the GET)"
    ping = next((f for f in frames if f["opcode"] == 9 and f["from_client"]), None)
    if ping:
        pong = next((f for f in frames if f["opcode"] == 10 and not f["from_client"] and f["no"] >= ping["no"]
                     and f["payload"] == ping["payload"]), None)
        pong = pong or next((f for f in frames if f["opcode"] == 10 and not f["from_client"] and f["no"] >= ping["no"]), None)
        if pong:
            A["first-pong"] = pong["no"]
        else:
            C["first-pong"] = "the client's ping is never answered"
    else:
        C["first-pong"] = "the client never pings"
    H["first-pong"] = "own parse: first client frame with opcode 9, then the server's opcode-10 frame after it carrying the same bytes"
    cl = next((f for f in frames if f["opcode"] == 8), None)
    if cl and len(cl["payload"]) >= 2:
        A["close-code"] = int.from_bytes(cl["payload"][:2], "big")
    else:
        C["close-code"] = "no close frame with a status code"
    H["close-code"] = "own parse: first frame with opcode 8 (either side), first 2 payload bytes"
    return {"answers": A, "cannot": C, "how": H}


def lab_websocket_handshake(cap):
    A, C, H = {}, {}, {}
    ws = ws_conns(cap)
    if not ws:
        return {"cannot": {q: "no WebSocket handshake in the capture" for q in
                           ("upgrade-response", "accept-key", "accept-computed", "distinct-from-http")}}
    w = min(ws, key=lambda w: w.resp_frame)
    A["upgrade-response"] = w.resp_frame
    H["upgrade-response"] = "own parse of the server's bytes: the segment ending the first 'HTTP/1.1 101' head after a GET with Upgrade: websocket"
    A["accept-key"] = w.resp["sec-websocket-accept"]
    H["accept-key"] = "own parse: Sec-WebSocket-Accept header of that 101 response"
    w0 = min(ws, key=lambda w: w.req_frame)
    A["accept-computed"] = base64.b64encode(hashlib.sha1((w0.req["sec-websocket-key"] + GUID).encode()).digest()).decode()
    H["accept-computed"] = "base64(SHA-1(Sec-WebSocket-Key of the first GET with Upgrade + GUID)), computed here"
    A["distinct-from-http"] = "starts-as-http"
    H["distinct-from-http"] = "the connection opens with an HTTP/1.1 GET (Upgrade: websocket), a 101, then WebSocket frames, no HTTP request after"
    return {"answers": A, "cannot": C, "how": H}


def lab_compression(cap):
    A, C, H = {}, {}, {}
    ws = ws_conns(cap)
    qs = ("accepted-extension", "first-compressed", "big-message")
    if not ws:
        return {"cannot": {q: "no WebSocket connection in the capture" for q in qs}}
    w = min(ws, key=lambda w: w.resp_frame)
    if "sec-websocket-extensions" in w.resp:
        A["accepted-extension"] = w.resp["sec-websocket-extensions"]
    else:
        C["accepted-extension"] = "the server's 101 response has no Sec-WebSocket-Extensions header: no compression negotiated"
    H["accepted-extension"] = "own parse: Sec-WebSocket-Extensions header of the first 101 response"
    frames = sorted((f for w in ws for f in w.frames), key=lambda f: (f["no"], f["first_no"]))
    first = next((f for f in frames if f["rsv1"] and f["opcode"] in (1, 2)), None)
    if first:
        A["first-compressed"] = first["no"]
    else:
        C["first-compressed"] = "no message has RSV1 set: nothing is compressed"
    H["first-compressed"] = "own parse: first text/binary frame with RSV1 set"
    msgs = [m for w in ws for m in w.messages() if m["compressed"]]
    if msgs:
        A["big-message"] = max(len(m["data"]) for m in msgs)
    else:
        C["big-message"] = "no compressed message to inflate"
    H["big-message"] = "own parse + zlib raw inflate (with 00 00 ff ff, context kept per direction unless no_context_takeover): largest inflated length of a compressed message"
    return {"answers": A, "cannot": C, "how": H}


# ------------------------------------------------------------------ demo

def demo_parse(b):
    """(kind, seq, length) if `b` starts with a demo header, else None."""
    if len(b) >= 20 and b[:2] == b"WL" and b[2] == 1:
        return b[3], int.from_bytes(b[4:8], "big"), int.from_bytes(b[16:20], "big")
    return None


def demo_stream(stream):
    """Demo messages in a TCP byte stream: [(kind, seq, first frame, last frame)]."""
    data, chunks = stream
    i, out = 0, []
    while True:
        h = demo_parse(data[i:])
        if not h or i + 20 + h[2] > len(data):
            return out
        end = i + 20 + h[2]
        out.append((h[0], h[1], frame_at(chunks, i), frame_at(chunks, end - 1)))
        i = end


def demo_conns(cap):
    return [c for c in cap.conns if demo_stream(c["c2s"])]


def udp_demo(cap):
    out = []
    for f in cap.frames:
        if f["proto"] == "udp":
            h = demo_parse(f["payload"])
            if h and len(f["payload"]) >= 20 + h[2]:
                out.append(dict(f, kind=h[0], dseq=h[1]))
    return out


def lab_tcp_handshake(cap):
    A, C, H = {}, {}, {}
    dc = demo_conns(cap)
    qs = ("client-isn", "synack-frame", "synack-acknowledges", "handshake-order")
    if not dc or not dc[0]["synack"]:
        C.update({q: "no demo TCP connection with its handshake in the capture" for q in qs})
    else:
        c = dc[0]
        A["client-isn"] = c["syn"]["seq"]
        H["client-isn"] = ("tcp.seq_raw of the SYN (no ACK) that opens the connection carrying the demo requests "
                           "(not the unrelated HTTP connection opened earlier, nor the SYN refused by RST at a closed port)")
        A["synack-frame"] = c["synack"]["no"]
        H["synack-frame"] = "frame of the SYN-ACK the demo server sends back on that connection"
        A["synack-acknowledges"] = c["synack"]["ack"]
        H["synack-acknowledges"] = "tcp.ack_raw of that SYN-ACK (= client ISN + 1)"
        items = [("syn", c["syn"]["no"]), ("synack", c["synack"]["no"]), ("ack", c["handshake_ack"]["no"])]
        A["handshake-order"] = [i for i, _ in sorted(items, key=lambda x: x[1])]
        H["handshake-order"] = "frame numbers of that connection's SYN, SYN-ACK and the client's ACK of the SYN-ACK"
    A["fin-count"] = sum(1 for c in demo_conns(cap) for f in c["frames"] if f["fin"])
    H["fin-count"] = "tshark: frames with tcp.flags.fin == 1 on the connections that carry demo messages (the prompt asks about the demo connections)"
    return {"answers": A, "cannot": C, "how": H}


def lab_sockets_and_ports(cap):
    A, C, H = {}, {}, {}
    dc = [c for c in demo_conns(cap) if c["synack"]]
    if not dc:
        C.update({q: "no demo TCP connection" for q in ("server-port", "client-port", "synack-to-port")})
    else:
        c = dc[0]
        A["server-port"] = c["syn"]["dport"]
        A["client-port"] = c["syn"]["sport"]
        A["synack-to-port"] = c["synack"]["dport"]
        H["server-port"] = "tcp.dstport of the client's SYN opening the demo server's connection (the server that answers with SYN-ACK), not the unrelated HTTP one, nor the refused attempt"
        H["client-port"] = "tcp.srcport of that SYN"
        H["synack-to-port"] = "tcp.dstport of the SYN-ACK answering it"
    A["tcp-connections"] = len(demo_conns(cap))
    H["tcp-connections"] = ("distinct TCP 4-tuples (own grouping of src/dst address+port) whose client sends demo "
                            "messages: the unrelated HTTP connection and the refused SYN/RST attempt carry none")
    ud = udp_demo(cap)
    if ud:
        A["first-udp"] = ud[0]["no"]
        H["first-udp"] = "first UDP datagram whose payload parses as a demo message (WL, version 1)"
        req = [d for d in ud if d["kind"] == 1]
        A["udp-client-sockets"] = len({(d["src"], d["sport"]) for d in req})
        A["udp-server-sockets"] = len({(d["dst"], d["dport"]) for d in req})
        H["udp-client-sockets"] = "distinct source address:port of UDP demo datagrams with kind byte 1"
        H["udp-server-sockets"] = "distinct destination address:port of those"
    else:
        C.update({q: "no UDP demo datagram" for q in ("first-udp", "udp-client-sockets", "udp-server-sockets")})
    return {"answers": A, "cannot": C, "how": H}


def lab_tcp_vs_udp(cap):
    A, C, H = {}, {}, {}
    dc = [c for c in demo_conns(cap) if c["syn"]]
    if dc:
        c = dc[0]
        A["first-syn"] = c["syn"]["no"]
        H["first-syn"] = "the SYN without ACK of the TCP connection that carries the demo requests (the unrelated HTTP connection's SYN is not the lab client's)"
        msgs = demo_stream(c["c2s"])
        first_data = next(f for f in cap.frames if f["no"] == msgs[0][2])
        A["handshake-time"] = round(first_data["t"] - c["syn"]["t"], 6)
        H["handshake-time"] = "frame.time_epoch of the first segment carrying demo bytes on that connection minus that of its SYN"
        replies = demo_stream(c["s2c"])
        A["tcp-replies-distinct"] = len({m[1] for m in replies if m[0] == 2})
        H["tcp-replies-distinct"] = "own reassembly of the server's byte stream, demo messages of kind 2, distinct seq"
    else:
        C.update({q: "no demo TCP connection" for q in ("first-syn", "handshake-time", "tcp-replies-distinct")})
    rt = [int(r["frame.number"]) for r in tshark(cap.path, ["frame.number"], "tcp.analysis.retransmission")]
    A["tcp-retransmissions"] = len(rt)
    H["tcp-retransmissions"] = "tshark: count of frames flagged tcp.analysis.retransmission (Wireshark's analysis, which the question names)"
    # A segment sent again: same direction, same sequence number, with data, seen earlier.
    pick = None
    for no in rt:
        f = next(x for x in cap.frames if x["no"] == no)
        if f["len"] and any(x["no"] < no and x["proto"] == "tcp" and x["sport"] == f["sport"] and x["dport"] == f["dport"]
                            and x["seq"] == f["seq"] and x["len"] for x in cap.frames):
            pick = no
            break
    if pick:
        A["retransmitted-segment"] = pick
        H["retransmitted-segment"] = "first frame flagged tcp.analysis.retransmission whose data (same ports, same seq) was recorded earlier"
    else:
        C["retransmitted-segment"] = "no data segment sent twice"
    ud = udp_demo(cap)
    if ud:
        A["first-udp-kind"] = ud[0]["kind"]
        H["first-udp-kind"] = "kind byte (offset 3) of the first UDP datagram whose payload is a demo message"
        rep = [d for d in ud if d["kind"] == 2]
        A["udp-reply-datagrams"] = len(rep)
        A["udp-replies-distinct"] = len({d["dseq"] for d in rep})
        H["udp-reply-datagrams"] = "count of UDP datagrams whose demo kind byte is 2"
        H["udp-replies-distinct"] = "distinct demo seq (bytes 4-7) among those"
        firsts = {}
        for d in ud:
            name = {1: "request", 2: "reply"}.get(d["kind"], "?") + f"-{d['dseq']}"
            firsts.setdefault(name, d["no"])
        want = ["reply-22", "request-23", "reply-23", "request-22"]
        missing = [w for w in want if w not in firsts]
        if missing:
            C["udp-order"] = f"not in the capture (lost before leaving): {', '.join(missing)}"
        else:
            A["udp-order"] = sorted(want, key=lambda w: firsts[w])
        H["udp-order"] = "first UDP frame of each: demo kind/seq 22 and 23, ordered by frame number"
    else:
        C.update({q: "no UDP demo datagram" for q in ("first-udp-kind", "udp-reply-datagrams", "udp-replies-distinct", "udp-order")})
    return {"answers": A, "cannot": C, "how": H}


def lab_osi_layers(cap):
    A, C, H = {}, {}, {}
    target = None
    for c in cap.conns:
        data, chunks = c["c2s"]
        i = data.find(b"GET /index.html ")
        if i >= 0:
            head = http_head(c["c2s"], i)
            target = (c, frame_at(chunks, head[2] - 1) if head else frame_at(chunks, i))
            break
    if not target:
        return {"cannot": {q: "no GET /index.html request" for q in ("ether-type", "server-port")}}
    c, no = target
    f = next(x for x in cap.frames if x["no"] == no)
    A["ether-type"] = f["eth_type"]
    H["ether-type"] = "eth.type of the frame carrying the request 'GET /index.html' (own search of the client's bytes; not the unrelated GET /status.txt)"
    A["server-port"] = f["dport"]
    H["server-port"] = "tcp.dstport of that frame"
    return {"answers": A, "cannot": C, "how": H}


LABS = {
    "websocket-frames": lab_websocket_frames,
    "websocket-handshake": lab_websocket_handshake,
    "compression": lab_compression,
    "tcp-handshake": lab_tcp_handshake,
    "sockets-and-ports": lab_sockets_and_ports,
    "tcp-vs-udp": lab_tcp_vs_udp,
    "osi-layers": lab_osi_layers,
}

NODE = version_of(["node", "--version"])
PY = sys.version.split()[0]
UNREL = ("; first an unrelated HTTP/1.1 connection to a Python http.server on 9400 (GET /status.txt, kept alive, "
         "second GET and close after the lab traffic) and one UDP datagram to 9401")
CAPTURES = [
    ("wstcp-node-ws", "captures/third-party/wstcp-node-ws.pcap",
     f"Node {NODE}, npm ws 8.21.3 server and client on 127.0.0.1:9410, no compression: server greets and pings, "
     "client sends text, binary, 200-byte text, 70000-byte binary, a 3-frame message, pings; server closes 1001" + UNREL,
     ["websocket-frames", "websocket-handshake", "compression"]),
    ("wstcp-node-ws-deflate", "captures/third-party/wstcp-node-ws-deflate.pcap",
     f"Node {NODE}, npm ws 8.21.3 server (permessage-deflate, threshold 0, server_no_context_takeover) and client on 9412: "
     "a 9000-byte text sent compressed in 3 fragments (the server answers it with a short receipt), a 5000-byte text, "
     "the same 200-byte text twice, close 1000" + UNREL,
     ["compression", "websocket-frames", "websocket-handshake"]),
    ("wstcp-chromium-ws", "captures/third-party/wstcp-chromium-ws.pcap",
     f"Headless Chromium 156 (playwright-core 1.65.1) new WebSocket() to a Node {NODE} ws 8.21.3 server on 9411 with "
     "perMessageDeflate: 6 messages (one 4500-byte repeated text), echoed, close 1000" + UNREL,
     ["compression", "websocket-handshake", "websocket-frames"]),
    ("wstcp-plain-sockets", "captures/third-party/wstcp-plain-sockets.pcap",
     f"Python {PY} plain sockets speaking wirelab's demo format: one UDP client socket to two UDP servers (9421, 9422), "
     "a refused connect to closed 9423 (RST), one TCP connection to 9420 with 5 requests, client FIN first" + UNREL,
     ["tcp-handshake", "sockets-and-ports"]),
    ("wstcp-curl-http", "captures/third-party/wstcp-curl-http.pcap",
     "curl 7.88.1 GET /index.html from python3 -m http.server (Python " + PY + ") on 9430" + UNREL,
     ["osi-layers"]),
    ("wstcp-loss", "captures/third-party/wstcp-loss.pcap",
     f"Python {PY} sockets, demo format: 50 requests 5 ms apart over TCP (9435) then UDP (9436); nftables numgen random "
     "drops 10% (TCP non-SYN on input, UDP on output); the UDP server delays 5 ms, doubles ~5%, holds back ~10%" + UNREL,
     ["tcp-vs-udp", "tcp-handshake", "sockets-and-ports"]),
    ("wstcp-websocket-python", "captures/websocket-python.pcap",
     "Python 3.11 websockets 17.4 server and client on 9101, no compression (scripts/make-captures.sh, scripts/ws-traffic.py)",
     ["websocket-frames", "websocket-handshake", "compression"]),
    ("wstcp-websocket-python-deflate", "captures/websocket-python-deflate.pcap",
     "Python 3.11 websockets 17.4 server and client on 9101 with permessage-deflate (scripts/make-captures.sh, scripts/ws-traffic.py)",
     ["compression", "websocket-handshake", "websocket-frames"]),
]


def main():
    for name, path, made_by, labs in CAPTURES:
        full = os.path.join(ROOT, path)
        if not os.path.exists(full):
            print(f"skip {path}: missing", file=sys.stderr)
            continue
        cap = Capture(full)
        doc = {"made_by": made_by}
        if not path.startswith("captures/third-party/"):
            doc["capture"] = path
        doc["labs"] = {}
        for lab in labs:
            r = LABS[lab](cap)
            doc["labs"][lab] = {"answers": r.get("answers", {}), "cannot": r.get("cannot", {}), "how": r.get("how", {})}
        with open(os.path.join(OUT, name + ".answers.json"), "w") as fh:
            json.dump(doc, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        print(f"{name}: " + ", ".join(f"{l} {len(d['answers'])}/{len(d['cannot'])}" for l, d in doc["labs"].items()))


if __name__ == "__main__":
    main()
