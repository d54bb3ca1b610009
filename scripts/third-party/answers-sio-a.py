#!/usr/bin/env python3
"""sio-a: the right answers of the Socket.IO labs (bidirectional, socketio-uses-http,
client-emits, server-emits, rooms-and-namespaces) on the sio-a captures, worked out
from each question's TEXT with tshark — never from the lab's own query.

    python3 scripts/third-party/answers-sio-a.py        (from the repo root)

Writes captures/third-party/sio-a-NAME.answers.json for each sio-a-NAME.pcap there.

tshark does not know Engine.IO / Socket.IO: it is given `-d tcp.port==PORT,http` for
the socket.io server's port (and the unrelated HTTP server's), and this script reads
the HTTP bodies (http.file_data) and WebSocket texts (websocket.payload.text) out of
tshark's PDML and parses them itself: Engine.IO packets (type digit; 0x1e between
packets of a polling body), Socket.IO packets (type digit, optional "/nsp,", optional
ack id, JSON). Every Engine.IO packet is tied to its session (sid): polling requests
by their URI's sid (the handshake GET by its answer's open packet), polling answers by
the request they answer on their TCP connection, WebSocket frames by their
connection's handshake URI or open packet.
"""
import json
import os
import re
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CAPS = os.path.join(ROOT, "captures", "third-party")
LABS = ["bidirectional", "socketio-uses-http", "client-emits", "server-emits", "rooms-and-namespaces"]

# The socket.io server's port per capture (the unrelated HTTP server is PORT+1).
CAPTURES = {
    "node": {
        "port": 9450,
        "made_by": "npm socket.io 4.8.4 server (scripts/third-party/sio-a-server.js, Node 20, pingInterval 500 ms, "
        "WebSocket upgrades of polling sessions held 1.15 s) and three npm socket.io-client 4.8.4 clients "
        "(sio-a-node-clients.js): C polling-only joins blue, B websocket-only joins red, A default (polling, "
        "then upgrade; / and /admin) nick ana, joins red, sends hello everyone (over polling), hello red room, "
        "psst C (no ack), hello admins (over WebSocket); after an unrelated HTTP keep-alive connection and "
        "UDP datagram; captured with dumpcap 4.0 on lo",
    },
    "chromium": {
        "port": 9460,
        "made_by": "npm socket.io 4.8.4 server (sio-a-server.js, pingInterval 500 ms, upgrades held 1.15 s) and "
        "three pages in headless Chromium 156 (Debian) driven by playwright-core 1.65.1 (sio-a-chromium.js), "
        "each loading the server's /socket.io/socket.io.min.js bundle: B websocket-only joins red, A default "
        "(/ and /admin) nick ana joins red, C polling-only joins blue; A sends hello everyone (polling), hello "
        "red room, psst C (no ack), hello admins (WebSocket); after an unrelated HTTP connection and UDP "
        "datagram; dumpcap 4.0 on lo",
    },
    "python": {
        "port": 9470,
        "made_by": "npm socket.io 4.8.4 server (sio-a-server.js, pingInterval 500 ms) and three PyPI "
        "python-socketio 5.18.1 / python-engineio 4.15.1 clients (websocket-client 1.9.2, requests) "
        "(sio-a-python-clients.py; URIs ?transport=…&EIO=4&sid=…): C polling-only joins blue, A default (opens "
        "on polling and upgrades at once; / and /admin) nick ana joins red, B websocket-only joins red; A "
        "sends hello everyone, hello red room, psst C (no ack), hello admins; after an unrelated HTTP "
        "connection and UDP datagram; dumpcap 4.0 on lo",
    },
}


# ---------------------------------------------------------------- reading the capture

def hexbytes(field):
    v = field.get("value")
    if v is None:
        return None
    try:
        return bytes.fromhex(v)
    except ValueError:
        return None


def show_bytes(field):
    """http.file_data's `show` (escaped text) back to bytes, when `value` is absent."""
    s = field.get("show", "")
    out = bytearray()
    i = 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            c = s[i + 1]
            if c == "x" and i + 3 < len(s):
                out.append(int(s[i + 2:i + 4], 16))
                i += 4
                continue
            out += {"n": b"\n", "r": b"\r", "t": b"\t", "\\": b"\\"}.get(c, ("\\" + c).encode())
            i += 2
            continue
        out += s[i].encode()
        i += 1
    return bytes(out)


def walk(el, name):
    for f in el.iter("field"):
        if f.get("name") == name:
            yield f


def first(el, name):
    for f in walk(el, name):
        return f
    return None


def read_pcap(path, port):
    """One dict per frame: number, stream, tcp_len, reassembled length, ports,
    http messages (method, uri, code, body, ws key), websocket frames (mask, opcode,
    text, frame length)."""
    cmd = ["tshark", "-r", path, "-n", "-d", f"tcp.port=={port},http", "-d", f"tcp.port=={port + 1},http",
           "-T", "pdml", "-Y", "tcp or udp"]
    xml = subprocess.run(cmd, check=True, capture_output=True).stdout
    frames = []
    for pkt in ET.fromstring(xml).iter("packet"):
        protos = pkt.findall("proto")
        fr = {"http": [], "ws": [], "stream": None, "tcp_len": 0, "reass": None}
        for p in protos:
            n = p.get("name")
            if n == "frame":
                fr["num"] = int(first(p, "frame.number").get("show"))
                fr["time"] = float(first(p, "frame.time_relative").get("show"))
            elif n == "tcp":
                fr["stream"] = int(first(p, "tcp.stream").get("show"))
                fr["tcp_len"] = int(first(p, "tcp.len").get("show"))
                fr["src"] = int(first(p, "tcp.srcport").get("show"))
                fr["dst"] = int(first(p, "tcp.dstport").get("show"))
                r = first(p, "tcp.reassembled.length")
                if r is not None:
                    fr["reass"] = int(r.get("show"))
            elif n == "http":
                h = {}
                for key, fname in [("method", "http.request.method"), ("uri", "http.request.uri"),
                                   ("code", "http.response.code"), ("key", "http.sec_websocket_key")]:
                    f = first(p, fname)
                    if f is not None:
                        h[key] = f.get("show")
                f = first(p, "http.file_data")
                if f is not None:
                    b = hexbytes(f)
                    if b is None or len(b) != int(f.get("size", "0") or 0):
                        b = show_bytes(f)
                    h["body"] = b
                fr["http"].append(h)
            elif n == "websocket":
                w = {"mask": int(first(p, "websocket.mask").get("show")),
                     "opcode": int(first(p, "websocket.opcode").get("show")),
                     "size": int(p.get("size", "0"))}
                t = first(p, "websocket.payload.text")
                w["text"] = bytes.fromhex(t.get("value")).decode("utf-8", "replace") if t is not None and t.get("value") is not None else (t.get("show") if t is not None else None)
                fr["ws"].append(w)
        frames.append(fr)
    return frames


# ---------------------------------------------------------------- Engine.IO / Socket.IO

def parse_sio(s):
    """A Socket.IO packet (the Engine.IO message's data): type, nsp, ack id, JSON data."""
    if not s or not s[0].isdigit():
        return None
    t = int(s[0])
    i = 1
    if t in (5, 6):  # binary: attachments count then '-'
        j = s.find("-", i)
        i = j + 1 if j > 0 else i
    nsp = "/"
    if i < len(s) and s[i] == "/":
        j = s.find(",", i)
        if j < 0:
            nsp, i = s[i:], len(s)
        else:
            nsp, i = s[i:j], j + 1
    m = re.match(r"\d+", s[i:])
    ack = None
    if m:
        ack = int(m.group(0))
        i += len(m.group(0))
    data = None
    if i < len(s):
        try:
            data = json.loads(s[i:])
        except ValueError:
            data = None
    ev = data[0] if t in (2, 5) and isinstance(data, list) and data and isinstance(data[0], str) else None
    return {"type": t, "nsp": nsp, "ack": ack, "data": data, "event": ev, "raw": s}


def packets(frames, port):
    """Every Engine.IO packet with its frame, connection, direction, carrier and session."""
    out = []
    pending = {}  # stream -> [request uri, ...] waiting for their answers
    ws_sid = {}   # stream -> session sid of a WebSocket connection
    ws_streams = set()
    for fr in frames:
        if fr["stream"] is None or port not in (fr.get("src"), fr.get("dst")):
            continue
        c2s = fr["dst"] == port
        for h in fr["http"]:
            if "method" in h:
                uri = h.get("uri", "")
                q = parse_qs(urlsplit(uri).query)
                h["q"] = q
                h["_frame"] = fr["num"]
                if q.get("transport") == ["websocket"]:
                    ws_streams.add(fr["stream"])
                    if "sid" in q:
                        ws_sid[fr["stream"]] = q["sid"][0]
                pending.setdefault(fr["stream"], []).append(h)
                if "sid" in q:
                    sid = q["sid"][0]
                else:
                    sid = None
                h["sid"] = sid
                body = h.get("body") or b""
                if h["method"] == "POST" and q.get("transport") == ["polling"]:
                    for part in body.decode("utf-8", "replace").split("\x1e"):
                        out.append(mk(fr, c2s, "post", part, sid, h))
            elif "code" in h:
                req = pending.get(fr["stream"], [None]).pop(0) if pending.get(fr["stream"]) else None
                h["req"] = req
                if req is None or req["q"].get("transport") != ["polling"] or req["method"] != "GET":
                    continue
                sid = req["sid"]
                parts = (h.get("body") or b"").decode("utf-8", "replace").split("\x1e")
                if sid is None and parts and parts[0].startswith("0"):
                    try:
                        sid = json.loads(parts[0][1:])["sid"]
                    except ValueError:
                        pass
                    req["sid"] = sid
                    req["handshake"] = True
                for part in parts:
                    out.append(mk(fr, c2s, "response", part, sid, h))
        for w in fr["ws"]:
            if w["opcode"] != 1 or w["text"] is None:
                continue
            sid = ws_sid.get(fr["stream"])
            if sid is None and w["text"].startswith("0{"):
                try:
                    sid = ws_sid[fr["stream"]] = json.loads(w["text"][1:])["sid"]
                except ValueError:
                    pass
            p = mk(fr, c2s, "ws", w["text"], sid, None)
            p["mask"] = w["mask"]
            p["ws_size"] = w["size"]
            p["ws_in_frame"] = len(fr["ws"])
            out.append(p)
    return out


def mk(fr, c2s, via, text, sid, http):
    p = {"frame": fr["num"], "stream": fr["stream"], "tcp_len": fr["tcp_len"], "reass": fr["reass"],
         "time": fr["time"], "c2s": c2s, "via": via, "text": text, "sid": sid, "http": http,
         "eio": int(text[0]) if text[:1].isdigit() else None, "sio": None}
    if p["eio"] == 4:
        p["sio"] = parse_sio(text[1:])
    return p


# ---------------------------------------------------------------- the model of the capture

class Capture:
    def __init__(self, name, path, port):
        self.name, self.port = name, port
        self.frames = read_pcap(path, port)
        self.pk = packets(self.frames, port)
        self.requests = []  # (frame, stream, http dict) of every HTTP request, any port
        for fr in self.frames:
            for h in fr["http"]:
                if "method" in h:
                    self.requests.append((fr, h))
        # Sessions and who is who.
        self.sessions = []
        for p in self.pk:
            if p["sid"] and p["sid"] not in self.sessions:
                self.sessions.append(p["sid"])
        self.A = self.session_of(lambda p: p["c2s"] and p["sio"] and p["sio"]["type"] == 0 and p["sio"]["nsp"] == "/admin")
        self.C = self.session_of(lambda p: self.event_is(p, "join", "blue"))
        self.B = self.session_of(lambda p: self.event_is(p, "join", "red") and p["sid"] != self.A)
        # The upgrading session: a WebSocket whose handshake names an existing sid, probed with 2probe.
        self.upgraded = self.session_of(lambda p: p["via"] == "ws" and p["c2s"] and p["text"] == "2probe")

    @staticmethod
    def event_is(p, name, arg0):
        s = p["sio"]
        return p["c2s"] and s and s["type"] == 2 and s["event"] == name and isinstance(s["data"], list) and s["data"][1:2] == [arg0]

    def session_of(self, pred):
        for p in self.pk:
            if pred(p):
                return p["sid"]
        return None

    def server(self, p):
        return not p["c2s"]

    def server_chat(self, text=None):
        out = []
        for p in self.pk:
            s = p["sio"]
            if self.server(p) and s and s["type"] == 2 and s["event"] == "chat message":
                arg = s["data"][1] if len(s["data"]) > 1 else None
                if text is None or (isinstance(arg, dict) and arg.get("text") == text):
                    out.append(p)
        return out

    def polling_requests(self, sid):
        """The HTTP requests of one session on the polling transport (its handshake GET too)."""
        return [(fr, h) for fr, h in self.requests
                if h.get("q", {}).get("transport") == ["polling"] and h.get("sid") == sid]


def uniq_frames(ps):
    return sorted({p["frame"] for p in ps})


# ---------------------------------------------------------------- the questions

def lab_bidirectional(c):
    ans, cannot, how = {}, {}, {}
    U = c.upgraded
    who = "the client that starts on long-polling and upgrades (the session whose WebSocket sent 2probe)"
    # polling-event-frame
    ps = [p for p in c.server_chat() if p["via"] == "response"]
    if ps:
        ans["polling-event-frame"] = ps[0]["frame"]
        how["polling-event-frame"] = "first HTTP 200 answering a polling GET whose body (http.file_data, split at 0x1e) holds 42[\"chat message\",…]"
    else:
        cannot["polling-event-frame"] = "no server \"chat message\" event travels in an HTTP response"
    if U is None:
        for q in ["polling-requests", "noop-release", "websocket-requests", "polling-bytes", "websocket-bytes"]:
            cannot[q] = "no client upgrades from long-polling to WebSocket in this capture"
    else:
        reqs = c.polling_requests(U)
        ans["polling-requests"] = len(reqs)
        how["polling-requests"] = f"HTTP requests (GET+POST) with transport=polling and the sid of {who} in the URI, plus its handshake GET (sid from its answer's open packet): {len(reqs)} of {sum(1 for _, h in c.requests if h.get('q', {}).get('transport') == ['polling'])} polling requests in the capture"
        # noop-release: the polling GET of U pending when 2probe was sent, and its answer.
        probe = next(p for p in c.pk if p["sid"] == U and p["via"] == "ws" and p["text"] == "2probe")
        waiting = None
        for fr in c.frames:
            for h in fr["http"]:
                if "code" in h and h.get("req") is not None:
                    r = h["req"]
                    if r.get("sid") == U and r["method"] == "GET" and r["q"].get("transport") == ["polling"]:
                        if r["_frame"] < probe["frame"] < fr["num"]:
                            waiting = (r, fr, h)
        if waiting is None:
            cannot["noop-release"] = f"no polling GET of the upgrading session ({U}) is waiting on the server while its WebSocket is probed (2probe, frame {probe['frame']}): python-engineio upgrades before it polls"
        else:
            r, fr, h = waiting
            ans["noop-release"] = fr["num"]
            body = (h.get("body") or b"").decode("utf-8", "replace")
            how["noop-release"] = f"the answer to the polling GET of the upgrading session sent in frame {r['_frame']} (before 2probe, frame {probe['frame']}) and answered after it; body {body!r}"
        ws_stream = next(p["stream"] for p in c.pk if p["sid"] == U and p["via"] == "ws")
        n = sum(1 for fr, h in c.requests if fr["stream"] == ws_stream)
        ans["websocket-requests"] = n
        how["websocket-requests"] = f"HTTP requests on the upgrading session's WebSocket TCP stream {ws_stream} (the handshake with Sec-WebSocket-Key)"
        # polling-bytes
        ps = [p for p in c.pk if p["sid"] == U and p["via"] == "post" and p["sio"] and p["sio"]["event"] == "chat message"]
        if ps:
            p = ps[0]
            ans["polling-bytes"] = p["reass"] or p["tcp_len"]
            how["polling-bytes"] = f"the upgrading client's POST carrying 42…[\"chat message\",…] (frame {p['frame']}): its TCP data, tcp.len (tcp.reassembled.length when split)"
        else:
            cannot["polling-bytes"] = "the client that upgrades sends no \"chat message\" while long-polling (python-engineio upgrades before the first event)"
        ps = [p for p in c.pk if p["sid"] == U and p["via"] == "ws" and p["c2s"] and p["sio"] and p["sio"]["event"] == "chat message"]
        if ps:
            p = ps[0]
            ans["websocket-bytes"] = p["tcp_len"] if p["ws_in_frame"] == 1 else p["ws_size"]
            how["websocket-bytes"] = f"the upgrading client's first masked WebSocket frame with a \"chat message\" event (frame {p['frame']}): tcp.len"
        else:
            cannot["websocket-bytes"] = "the upgrading client sends no chat message over its WebSocket"
    return ans, cannot, how


def lab_socketio_uses_http(c):
    ans, cannot, how = {}, {}, {}
    opens = [p for p in c.pk if not p["c2s"] and p["eio"] == 0]
    ans["sid"] = json.loads(opens[0]["text"][1:])["sid"]
    how["sid"] = f"first Engine.IO open packet (text starting 0{{) from the server, frame {opens[0]['frame']}: its JSON sid"
    posts = [h for _, h in c.requests if h["method"] == "POST"]
    ans["polling-posts"] = len(posts)
    how["polling-posts"] = "count of HTTP requests with method POST (every one is a polling POST here)"
    ups = [p for p in c.pk if p["c2s"] and p["eio"] == 5]
    if ups:
        ans["upgrade-frame"] = ups[0]["frame"]
        how["upgrade-frame"] = "first client WebSocket text \"5\""
        U = ups[0]["sid"]
        o = next(p["frame"] for p in c.pk if p["sid"] == U and not p["c2s"] and p["eio"] == 0)
        pr = next(p["frame"] for p in c.pk if p["sid"] == U and p["c2s"] and p["text"] == "2probe")
        u = ups[0]["frame"]
        ans["upgrade-order"] = [k for k, _ in sorted([("open", o), ("probe", pr), ("upgrade", u)], key=lambda x: x[1])]
        how["upgrade-order"] = f"in the first session that upgrades ({U}): open packet frame {o}, 2probe frame {pr}, 5 frame {u}"
    else:
        cannot["upgrade-frame"] = cannot["upgrade-order"] = "no client upgrades"
    return ans, cannot, how


def lab_client_emits(c):
    ans, cannot, how = {}, {}, {}
    ev = [p for p in c.pk if p["c2s"] and p["sio"] and p["sio"]["type"] == 2]
    p = ev[0]
    ans["emit-frame"] = p["frame"]
    ans["event-name"] = p["sio"]["event"]
    ans["engineio-type"] = p["eio"]
    how["emit-frame"] = "first Socket.IO EVENT (42…) sent by a client: in a polling POST body or a masked WebSocket text"
    how["event-name"] = "first string of that EVENT's JSON array"
    how["engineio-type"] = "first character of the Engine.IO packet holding that EVENT"
    acks = [p for p in c.pk if not p["c2s"] and p["sio"] and p["sio"]["type"] == 3]
    ans["ack-frame"] = acks[0]["frame"]
    how["ack-frame"] = "first Socket.IO ACK (43…) sent by the server (a polling GET's answer or an unmasked WebSocket text); the clients' ACKs of \"welcome\" come earlier and are left out"
    return ans, cannot, how


def lab_server_emits(c):
    ans, cannot, how = {}, {}, {}
    srv = "server copies: 42[\"chat message\",{text:…}] in polling GET answers or unmasked WebSocket texts"
    ps = c.server_chat("hello everyone")
    ans["broadcast-recipients"] = len({p["sid"] for p in ps})
    how["broadcast-recipients"] = f"distinct Engine.IO sessions (sid of the polling request answered / of the WebSocket) of the {srv} with text \"hello everyone\""
    ans["broadcast-copy"] = ps[0]["frame"]
    how["broadcast-copy"] = "first of those frames"
    ans["all-chat-frames"] = len(c.server_chat())
    how["all-chat-frames"] = "number of server \"chat message\" EVENTs (each Engine.IO packet of a polling answer counted, unmasked WebSocket texts)"
    ps = c.server_chat("hello red room")
    ans["room-recipients"] = len({p["sid"] for p in ps})
    ans["room-frame"] = ps[0]["frame"]
    how["room-recipients"] = f"distinct Engine.IO sessions of the {srv} with text \"hello red room\""
    how["room-frame"] = "first of those frames"
    ps = c.server_chat("psst, C")
    ans["private-recipients"] = len({p["sid"] for p in ps})
    how["private-recipients"] = f"distinct Engine.IO sessions of the {srv} with text \"psst, C\""
    return ans, cannot, how


def lab_rooms(c):
    ans, cannot, how = {}, {}, {}
    ps = [p for p in c.pk if p["c2s"] and p["sio"] and p["sio"]["type"] == 0 and p["sio"]["nsp"] == "/admin"]
    ans["admin-connect"] = ps[0]["frame"]
    how["admin-connect"] = "first client Socket.IO CONNECT 40/admin, (polling POST body or masked WebSocket text)"
    ps = [p for p in c.pk if p["sio"] and p["sio"]["nsp"] == "/admin" and p["via"] == "ws"]
    ans["admin-connections"] = len({p["stream"] for p in ps})
    how["admin-connections"] = "distinct tcp.stream of the WebSocket texts holding a Socket.IO packet naming /admin (either direction): streams " + ",".join(map(str, sorted({p['stream'] for p in ps}))) + f"; /admin packets also travel in polling requests/answers on {len({p['stream'] for p in c.pk if p['sio'] and p['sio']['nsp'] == '/admin' and p['via'] != 'ws'})} other TCP connections"
    on_a = [p for p in c.pk if p["sid"] == c.A and p["sio"]]
    ans["namespaces-on-a"] = len({p["sio"]["nsp"] for p in on_a})
    how["namespaces-on-a"] = f"A = the session that CONNECTs to /admin ({c.A}): distinct namespaces of the Socket.IO packets of that Engine.IO session (polling and WebSocket)"
    ps = c.server_chat("hello red room")
    ans["red-room-frame"] = ps[0]["frame"]
    how["red-room-frame"] = "server's chat message with text \"hello red room\" (polling answer or unmasked WebSocket text)"
    # join-answer: the server's ACK with the ack id of A's join.
    join = next(p for p in c.pk if p["sid"] == c.A and c.event_is(p, "join", "red"))
    acks = [p for p in c.pk if not p["c2s"] and p["sid"] == c.A and p["sio"] and p["sio"]["type"] == 3
            and p["sio"]["nsp"] == join["sio"]["nsp"] and p["sio"]["ack"] == join["sio"]["ack"] and p["frame"] > join["frame"]]
    ans["join-answer"] = acks[0]["frame"]
    how["join-answer"] = f"A's join (frame {join['frame']}, ack id {join['sio']['ack']}) answered by the server's ACK 43{join['sio']['ack']}[{{\"rooms\":…}}] in A's session"
    conn = [p for p in c.pk if not p["c2s"] and p["sid"] == c.A and p["sio"] and p["sio"]["type"] == 0 and p["sio"]["nsp"] == "/"]
    ans["default-room-id"] = conn[0]["frame"]
    how["default-room-id"] = f"the server's CONNECT answer 40{{\"sid\":…}} on namespace / in A's session ({c.A})"
    # which-emit: whose connections got "hello red room".
    got = {p["sid"] for p in c.server_chat("hello red room")}
    if got == {c.B}:
        ans["which-emit"] = "socket-to"
    elif got == {c.A, c.B}:
        ans["which-emit"] = "io-in"
    elif got == {c.B, c.C}:
        ans["which-emit"] = "broadcast"
    else:
        cannot["which-emit"] = f"\"hello red room\" reached sessions {sorted(got)}: none of the choices"
    how["which-emit"] = "sessions of the server's copies of \"hello red room\" compared with A (sent it, in red), B (joined red), C (joined blue)"
    return ans, cannot, how


# The prompts this script's reading was written for (a phrase of each): a changed
# prompt is reported, so that its answer is read again.
PROMPTS = {
    ("bidirectional", "polling-event-frame"): "reaches the client over long-polling",
    ("bidirectional", "polling-requests"): "How many HTTP requests (GETs and POSTs) did the client that later upgrades to a WebSocket make on the polling transport?",
    ("bidirectional", "noop-release"): "While the WebSocket is being tested, one GET is still waiting",
    ("bidirectional", "websocket-requests"): "How many HTTP requests did the session's WebSocket need",
    ("bidirectional", "push-frame"): "the server sends a Socket.IO event over the WebSocket",
    ("bidirectional", "polling-bytes"): "carry the client's \"chat message\" over long-polling (the POST)",
    ("bidirectional", "websocket-bytes"): "carry the client's \"chat message\" over the WebSocket",
    ("socketio-uses-http", "sid"): "What is the Engine.IO session id in the first open packet?",
    ("socketio-uses-http", "polling-posts"): "How many HTTP POST requests does the capture hold",
    ("socketio-uses-http", "upgrade-frame"): "the first Engine.IO upgrade packet (type 5)",
    ("socketio-uses-http", "upgrade-order"): "Put these steps of the first session in the order",
    ("client-emits", "emit-frame"): "Select the frame that carries the first event a client emitted.",
    ("client-emits", "event-name"): "What is the name of that first emitted event?",
    ("client-emits", "engineio-type"): "Which Engine.IO packet type carries a Socket.IO packet?",
    ("client-emits", "ack-frame"): "Select the server's first ACK.",
    ("server-emits", "broadcast-recipients"): "To how many different clients did the server send it?",
    ("server-emits", "broadcast-copy"): "Select one of the frames in which the server delivers \"hello everyone\"",
    ("server-emits", "all-chat-frames"): "How many \"chat message\" events did the server send in all?",
    ("server-emits", "room-recipients"): "To how many clients did the server deliver \"hello red room\"?",
    ("server-emits", "room-frame"): "Select the frame that delivers \"hello red room\".",
    ("server-emits", "private-recipients"): "To how many clients did the server deliver the private \"psst, C\"?",
    ("rooms-and-namespaces", "admin-connect"): "Select the frame in which A asks to enter the /admin namespace.",
    ("rooms-and-namespaces", "admin-connections"): "On how many WebSocket connections do packets of the /admin namespace travel?",
    ("rooms-and-namespaces", "namespaces-on-a"): "How many different namespaces do the Socket.IO packets of A's session use?",
    ("rooms-and-namespaces", "red-room-frame"): "Select the frame in which the server delivers \"hello red room\".",
    ("rooms-and-namespaces", "join-answer"): "Select the server's answer to A's \"join\"",
    ("rooms-and-namespaces", "default-room-id"): "in the answer to A's CONNECT",
    ("rooms-and-namespaces", "which-emit"): "Which line of the cheatsheet did the server run?",
}

HANDLERS = {
    "bidirectional": lab_bidirectional,
    "socketio-uses-http": lab_socketio_uses_http,
    "client-emits": lab_client_emits,
    "server-emits": lab_server_emits,
    "rooms-and-namespaces": lab_rooms,
}


def main():
    labs = {}
    for lab in LABS:
        with open(os.path.join(ROOT, "labs", f"{lab}.toml"), "rb") as f:
            labs[lab] = {q["id"]: q.get("prompt", "") for s in tomllib.load(f)["steps"] for q in s.get("questions", [])}
    for (lab, q), phrase in PROMPTS.items():
        if phrase not in labs[lab].get(q, ""):
            print(f"warning: {lab}/{q}: the prompt changed (was read as containing {phrase!r}); read it again: "
                  f"{labs[lab].get(q)!r}", file=sys.stderr)
    done = 0
    for name, cfg in CAPTURES.items():
        path = os.path.join(CAPS, f"sio-a-{name}.pcap")
        if not os.path.exists(path):
            print(f"skip {path}: missing", file=sys.stderr)
            continue
        c = Capture(name, path, cfg["port"])
        out = {"made_by": cfg["made_by"], "labs": {}}
        for lab in LABS:
            ans, cannot, how = HANDLERS[lab](c)
            for q in list(ans) + list(cannot):
                assert q in labs[lab], f"{lab} has no question {q}"
            out["labs"][lab] = {"answers": ans, "cannot": cannot, "how": how}
        dest = os.path.join(CAPS, f"sio-a-{name}.answers.json")
        with open(dest, "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
        print(f"wrote {dest}: A={c.A} B={c.B} C={c.C} upgraded={c.upgraded}")
        done += 1
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main())
