#!/usr/bin/env python3
"""sio-b: the right answers of the missed-events and message-queues labs on
the captures made by make-sio-b.sh (official socket.io server and client),
worked out from each question's TEXT with tshark -- never from the labs'
own answer queries.

    python3 scripts/third-party/answers-sio-b.py
writes captures/third-party/sio-b-*.answers.json.

tshark does not know Socket.IO: the socket.io port is decoded as HTTP, the
WebSocket text and the polling bodies are read here. Each HTTP message and
WebSocket frame is given to its Engine.IO session (the `sid` of the request's
URI; the handshake's from its response; a WebSocket's from its upgrade
request), so "a client's connection" is that client's session, whatever TCP
connections its long-polling requests used.
"""
import json
import os
import re
import subprocess
import sys
import tomllib
from urllib.parse import parse_qs, urlparse

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CAPS = os.path.join(ROOT, "captures", "third-party")
# capture name -> the socket.io server's port (make-sio-b.sh)
CAPTURES = {"sio-b-recovery": 9510, "sio-b-norecovery": 9511}
MADE_BY = {
    "sio-b-recovery": "Node {node}, npm socket.io {sio} server with connectionStateRecovery and socket.io-client {cli}: "
    "an unrelated kept-alive HTTP connection and a UDP datagram first; B (polling, then upgraded to WebSocket) "
    "connects first and joins room news, A (polling only) second; A emits 'before B left' to all; B's transport "
    "is killed (io.engine.close(): WebSocket close, no Socket.IO DISCONNECT); A emits two messages to all and "
    "one to room news; B's Manager reconnects with pid+offset and the server replays the three missed packets",
    "sio-b-norecovery": "Node {node}, npm socket.io {sio} server WITHOUT connectionStateRecovery and socket.io-client "
    "{cli}: the same story (unrelated HTTP connection and UDP datagram first; B default transports, A polling "
    "only; B's transport killed, A emits three messages, B reconnects on its own, re-joins news) -- B gets "
    "nothing of what it missed",
}
RS = "\x1e"


def tshark_json(pcap, port, fields):
    cmd = ["tshark", "-r", pcap, "-d", f"tcp.port=={port},http", "-Y", f"tcp.port=={port} && (http || websocket)",
           "-T", "json"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [p["_source"]["layers"] for p in json.loads(out or "[]")]


def sio_parse(s):
    """One Socket.IO packet (text): dict(type, nsp, id, data) or None."""
    if not s or not s[0].isdigit():
        return None
    t, rest = int(s[0]), s[1:]
    m = re.match(r"\d+-", rest)  # binary attachments count
    if m:
        rest = rest[m.end():]
    nsp = "/"
    if rest.startswith("/"):
        nsp, _, rest = rest.partition(",")
    m = re.match(r"\d+", rest)
    ack = None
    if m:
        ack, rest = int(m.group()), rest[m.end():]
    data = None
    if rest:
        try:
            data = json.loads(rest)
        except ValueError:
            data = rest
    return {"type": t, "nsp": nsp, "id": ack, "data": data, "raw": s}


class Msg:
    """One HTTP message or WebSocket frame on the socket.io port."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def events(self, name=None):
        return [p for p in self.sio if p["type"] == 2 and isinstance(p["data"], list) and p["data"]
                and (name is None or p["data"][0] == name)]

    def carries(self, text, name="chat message"):
        """An EVENT `name` whose argument's text is `text`."""
        return any(isinstance(a, dict) and a.get("text") == text for p in self.events(name) for a in p["data"][1:])


def load(pcap, port):
    f = lambda l, k, i=0: (l.get(k) or [None])[i] if i < len(l.get(k) or []) else None
    rows = tshark_json(pcap, port, ["frame.number", "frame.time_relative", "tcp.stream", "tcp.dstport",
                                    "http.request.method", "http.request.uri", "http.request_in",
                                    "http.response.code", "http.file_data", "websocket.opcode",
                                    "websocket.mask", "websocket.payload.text"])
    msgs, ws_sid, by_frame = [], {}, {}
    for l in rows:
        fr = int(f(l, "frame.number"))
        stream = int(f(l, "tcp.stream"))
        up = int(f(l, "tcp.dstport")) == port  # client -> server
        base = dict(frame=fr, time=float(f(l, "frame.time_relative")), stream=stream, up=up)
        if f(l, "http.request.method"):
            uri = f(l, "http.request.uri")
            q = parse_qs(urlparse(uri).query)
            sid = (q.get("sid") or [None])[0]
            transport = (q.get("transport") or [None])[0]
            if transport == "websocket" and sid:
                ws_sid[stream] = sid
            body = f(l, "http.file_data") or ""
            m = Msg(kind="http-req", sid=sid, eio=body.split(RS) if body else [], opcode=None, mask=None, **base)
            msgs.append(m)
            by_frame[fr] = m
        elif f(l, "http.response.code"):
            body = f(l, "http.file_data") or ""
            req = by_frame.get(int(f(l, "http.request_in") or 0))
            sid = req.sid if req else None
            pk = body.split(RS) if body and f(l, "http.response.code") == "200" else []
            if sid is None and pk and pk[0].startswith("0{"):
                sid = json.loads(pk[0][1:])["sid"]
                if req:
                    req.sid = sid
            msgs.append(Msg(kind="http-resp", sid=sid, eio=pk, opcode=None, mask=None, **base))
        if l.get("websocket.opcode"):
            texts = iter(l.get("websocket.payload.text") or [])
            for i, op in enumerate(l["websocket.opcode"]):
                op = int(op)
                text = next(texts, "") if op == 1 else None
                msgs.append(Msg(kind="ws", sid=ws_sid.get(stream), eio=[text] if text else [], opcode=op,
                                mask=int(l["websocket.mask"][i]), **base))
    for m in msgs:
        m.sio = [p for p in (sio_parse(e[1:]) for e in m.eio if e and e[0] == "4") if p]
    return msgs


def sessions(msgs):
    """Engine.IO sessions in the order they were opened, with their roles."""
    order = []
    for m in msgs:
        if m.sid and m.sid not in order:
            order.append(m.sid)
    a = [s for s in order if any(m.up and m.sid == s and m.events("chat message") for m in msgs)]
    others = [s for s in order if s not in a]
    roles = {"A": a[0] if a else None, "B": others[0] if others else None,
             "B-again": others[1] if len(others) > 1 else None}
    return order, roles


def lab_questions(lab):
    with open(os.path.join(ROOT, "labs", f"{lab}.toml"), "rb") as fh:
        t = tomllib.load(fh)
    return {q["id"]: q for s in t["steps"] for q in s.get("questions", [])}


def derive(name, port):
    pcap = os.path.join(CAPS, f"{name}.pcap")
    msgs = load(pcap, port)
    order, r = sessions(msgs)
    A, B, B2 = r["A"], r["B"], r["B-again"]
    down = [m for m in msgs if not m.up]
    # recovery is on when the server's CONNECT answer carries a private session id (pid)
    recovery = any(p["type"] == 0 and isinstance(p["data"], dict) and "pid" in p["data"] for m in down for p in m.sio)
    dec = f"tshark -d tcp.port=={port},http"
    sess_how = "Engine.IO sessions from the sid= in request URIs / handshake 0{sid} / WebSocket upgrade URI"

    def delivered(text):  # server frames carrying it, and to which sessions
        fr = [m for m in down if m.carries(text)]
        return fr, {m.sid for m in fr}

    def first_emit(text):
        return next((m for m in msgs if m.up and m.carries(text)), None)

    opened = {}
    for m in msgs:
        if m.sid and m.sid not in opened:
            opened[m.sid] = m.frame
    # B's comeback: the client CONNECT on B-again's session
    b2_connect = next((m for m in msgs if m.up and m.sid == B2 and any(p["type"] == 0 for p in m.sio)), None)
    b2_connect_data = next((p["data"] for p in (b2_connect.sio if b2_connect else []) if p["type"] == 0), None)
    away = ["sent while B was away (1)", "sent while B was away (2)", "news while B was away"]
    replays = [m for m in down if m.sid == B2 and any(m.carries(t) for t in away)]
    b2_chat = [m for m in down if m.sid == B2 and m.events("chat message")]

    no_rec_only = "this capture's only socket.io server HAS connectionStateRecovery; the question is about the chat without recovery/log"
    rec_only = "this capture's only socket.io server has NO connectionStateRecovery (no log): nothing is replayed"
    out = {}

    # ---------- missed-events ----------
    ans, cannot, how = {}, {}, {}
    close = next((m for m in msgs if m.kind == "ws" and m.up and m.sid == B and m.opcode == 8), None)
    if close:
        ans["b-leaves"] = close.frame
        how["b-leaves"] = f"{dec} -Y 'websocket.opcode==8 && websocket.mask==1' on B's WebSocket (B = first session that is not the chat-message producer A)"
    else:
        cannot["b-leaves"] = "B never sent a WebSocket close frame"
    if not recovery:
        fr, ss = delivered("before B left")
        ans["before-left-copies"] = len(ss)
        how["before-left-copies"] = f"{dec}; server->client websocket.payload.text + http.file_data (split at 0x1e) with 42[\"chat message\",{{text:\"before B left\"}}]; distinct sessions ({sess_how})"
        fr, ss = delivered("sent while B was away (1)")
        ans["away-copies"] = len(ss)
        how["away-copies"] = "same as before-left-copies with \"sent while B was away (1)\""
        if isinstance(b2_connect_data, dict) and "offset" in b2_connect_data:
            ans["comeback-connect"] = b2_connect.frame
            how["comeback-connect"] = "B-again's client CONNECT (40...) with offset in its data"
        else:
            cannot["comeback-connect"] = (f"B's comeback CONNECT (frame {b2_connect.frame if b2_connect else '?'}) is a bare "
                                          f"'40' in a polling POST: without connectionStateRecovery the official client "
                                          f"has no pid and sends no offset, and this app adds none to its auth")
        ans["missed-delivered"] = len(b2_chat)
        how["missed-delivered"] = "server->client frames (unmasked WS / HTTP responses) on B-again's session (third session) with a 42[\"chat message\",...] packet; counted 0"
        ans["what-happens"] = "never-arrives" if not b2_chat else "ignores"
        how["what-happens"] = "no chat message on B-again's session, none of the away messages on B's sessions"
        for q in ("replay-frame", "replayed-once", "news-replayed"):
            cannot[q] = rec_only
    else:
        for q in ("before-left-copies", "away-copies", "comeback-connect", "missed-delivered", "what-happens"):
            cannot[q] = no_rec_only
        if replays:
            ans["replay-frame"] = replays[0].frame
            how["replay-frame"] = (f"{dec}; server->client frames on B-again's session carrying the away messages "
                                   f"(frames {[m.frame for m in replays]}; any one); the official server marks nothing 'recovered'")
        else:
            cannot["replay-frame"] = "nothing was replayed"
        ans["replayed-once"] = sum(m.carries("sent while B was away (2)") for m in down if m.sid == B2)
        how["replayed-once"] = "server->client frames on B-again's session carrying \"sent while B was away (2)\""
        ans["news-replayed"] = sum(m.carries("news while B was away") for m in msgs if m.sid == B2)
        how["news-replayed"] = "frames on B-again's session carrying \"news while B was away\""
    out["missed-events"] = (ans, cannot, how)

    # ---------- message-queues ----------
    ans, cannot, how = {}, {}, {}
    first = next((m for m in msgs if m.up and m.sid == A and m.events("chat message")), None)
    ack_id = first.events("chat message")[0]["id"] if first else None
    ack = next((m for m in down if m.sid == A and any(p["type"] == 3 and p["id"] == ack_id for p in m.sio)), None)
    ack_data = next((p["data"] for p in (ack.sio if ack else []) if p["type"] == 3 and p["id"] == ack_id), None)
    if ack and "offset" in json.dumps(ack_data):
        ans["producer-ack"] = ack.frame
        how["producer-ack"] = "A's first chat message's ack id; the server's 43<id> on A's session"
    else:
        cannot["producer-ack"] = (f"the server's ack of A's first chat message (frame {ack.frame if ack else '?'}, "
                                  f"43{ack_id}{json.dumps(ack_data, separators=(',', ':'))}) tells no offset: the official server "
                                  f"acks what the app returns; its offsets ride only as the last argument of broadcast copies"
                                  + ("" if recovery else ", and without recovery there are none"))
    if not recovery:
        fr, ss = delivered("before B left")
        ans["consumers-of-one"] = len(ss)
        how["consumers-of-one"] = how_cons = "server->client WS text + polling bodies with chat message \"before B left\"; distinct Engine.IO sessions"
        ans["no-log-nothing"] = len(b2_chat)
        how["no-log-nothing"] = "server->client frames on B-again's session with a chat message; 0"
        for q in ("log-replay", "replayed-once"):
            cannot[q] = rec_only
        cannot["once-one-consumer"] = "asks about the log ('this queue'); this server keeps none"
    else:
        for q in ("consumers-of-one", "no-log-nothing"):
            cannot[q] = no_rec_only
        if replays:
            ans["log-replay"] = replays[0].frame
            how["log-replay"] = f"server->client frames on B-again's session carrying the away messages: {[m.frame for m in replays]}"
        else:
            cannot["log-replay"] = "nothing was replayed"
        ans["replayed-once"] = sum(m.carries("sent while B was away (1)") for m in down if m.sid == B2)
        how["replayed-once"] = "server->client frames on B-again's session carrying \"sent while B was away (1)\""
        fr, ss = delivered("before B left")
        ans["once-one-consumer"] = "depends" if len(ss) >= 2 and replays else "once-single"
        how["once-one-consumer"] = "\"before B left\" reached 2 sessions (A, B) and the away messages were replayed after A got them"
    emit = first_emit("news while B was away")
    live = [m for m in down if m.carries("news while B was away") and emit and opened.get(m.sid, 10**9) < emit.frame]
    ans["room-kept-for-later"] = len(live)
    how["room-kept-for-later"] = ("server->client frames carrying \"news while B was away\" on sessions opened before A emitted it "
                                  "(a copy on a session opened later can only be a replay)")
    out["message-queues"] = (ans, cannot, how)

    # Questions that find the chat, or B's session, by wirelab's own chat:
    # its `welcome` event (which says "recovery":false/true and lists the
    # client's rooms) or its "recovered" marker. The prompts and step text
    # say so; the official socket.io sends neither, so the capture cannot
    # answer them.
    welcome = any(m.events("welcome") for m in down)
    marker = any("recovered" in json.dumps(p.get("data")) for m in down for p in m.sio)
    by_welcome = {"missed-events": ["before-left-copies", "away-copies", "comeback-connect", "missed-delivered",
                                    "replayed-once", "news-replayed"],
                  "message-queues": ["consumers-of-one", "no-log-nothing", "replayed-once", "room-kept-for-later"]}
    by_marker = {"missed-events": ["replay-frame"], "message-queues": ["log-replay"]}
    for lab, (ans, cannot, how) in out.items():
        for qs, present, why in ((by_welcome, welcome, "the question finds the chat (or B's session) by wirelab's "
                                  "`welcome` event, which this server never sends"),
                                 (by_marker, marker, "the question looks for wirelab's \"recovered\" marker, which "
                                  "this server never writes")):
            if not present:
                for q in qs[lab]:
                    ans.pop(q, None)
                    cannot[q] = why

    versions = {}
    for k, p in (("sio", "socket.io"), ("cli", "socket.io-client")):
        with open(os.path.join(ROOT, "tests", "js", "node_modules", p, "package.json")) as fh:
            versions[k] = json.load(fh)["version"]
    try:
        versions["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        versions["node"] = "node"
    labs = {}
    for lab, (a, c, h) in out.items():
        qs = lab_questions(lab)
        for q in list(a) + list(c):
            assert q in qs, f"{lab}: no question {q}"
        labs[lab] = {"answers": a, "cannot": c, "how": h}
    doc = {"made_by": MADE_BY[name].format(**versions), "labs": labs}
    dst = os.path.join(CAPS, f"{name}.answers.json")
    with open(dst, "w") as fh:
        json.dump(doc, fh, indent=2)
        fh.write("\n")
    print(f"{dst}: sessions {r} recovery={recovery}", file=sys.stderr)


if __name__ == "__main__":
    for name, port in CAPTURES.items():
        derive(name, port)
