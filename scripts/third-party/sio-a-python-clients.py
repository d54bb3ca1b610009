#!/usr/bin/env python3
"""sio-a: three python-socketio clients (PyPI python-socketio, websocket-client,
requests) against sio-a-server.js. Order: C (long-polling only) joins "blue"; A
(default transports: python-engineio opens on long-polling and upgrades at once;
"/" and "/admin") takes the nick "ana" and joins "red"; B (WebSocket only) joins
"red". A sends "hello everyone", "hello red room", "psst, C" (no ack) and "hello
admins". Heartbeats pass (pingInterval 500 ms); everyone disconnects.
python-engineio orders its URI parameters `?transport=…&EIO=4&sid=…`.
    python3 sio-a-python-clients.py PORT
"""
import sys
import time

import socketio

port = int(sys.argv[1])
url = f"http://127.0.0.1:{port}"


def client(name, transports, namespaces):
    sio = socketio.Client()
    sio.inbox = []
    for ns in namespaces:
        def welcome(data, name=name):
            return {"thanks": name}  # the value returned is the ack

        def chat(msg, sio=sio):
            sio.inbox.append(msg["text"])

        sio.on("welcome", welcome, namespace=ns)
        sio.on("chat message", chat, namespace=ns)
    sio.connect(url, transports=transports, namespaces=namespaces, wait_timeout=10)
    return sio


def until(what, f):
    for _ in range(400):
        if f():
            return
        time.sleep(0.025)
    raise SystemExit(f"timed out waiting for {what}")


c = client("C", ["polling"], ["/"])
print("C", c.call("join", "blue", timeout=10), c.transport(), flush=True)
a = client("A", ["polling", "websocket"], ["/", "/admin"])
a.call("nick", "ana", timeout=10)
print("A", a.call("join", "red", timeout=10), a.transport(), flush=True)
b = client("B", ["websocket"], ["/"])
print("B", b.call("join", "red", timeout=10), b.transport(), flush=True)

print("A all", a.call("chat message", {"text": "hello everyone", "to": "all"}, timeout=10), flush=True)
print("A red", a.call("chat message", {"text": "hello red room", "to": "room:red"}, timeout=10), flush=True)
a.emit("chat message", {"text": "psst, C", "to": "socket:" + c.get_sid("/")})
print("A admins", a.call("chat message", {"text": "hello admins", "to": "nsp:/admin"}, timeout=10), flush=True)
until("every delivery", lambda: len(a.inbox) >= 2 and len(b.inbox) >= 2 and len(c.inbox) >= 2)
print("got: A", a.inbox, "B", b.inbox, "C", c.inbox, flush=True)
time.sleep(1.2)  # heartbeats
for s in (a, b, c):
    s.disconnect()
time.sleep(0.3)
print("done", flush=True)
