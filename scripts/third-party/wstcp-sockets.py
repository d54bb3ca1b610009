#!/usr/bin/env python3
"""Plain Python sockets speaking wirelab's demo protocol (src/dissect/app/demo.rs:
"WL", version 1, kind 1 request / 2 reply, u32 seq, u64 sent_us, u32 length,
then "abc…" filler), written here from that description, not wirelab's code.

    wstcp-sockets.py plain TCP_PORT UDP_PORT_A UDP_PORT_B CLOSED_PORT
        one UDP client socket sends 3 requests to each of two UDP servers
        (interleaved); then a TCP connect to CLOSED_PORT (refused: RST); then
        one TCP connection with 5 requests (the last two in one send), the
        client closes its side first (FIN), the server then closes.
    wstcp-sockets.py loss TCP_PORT UDP_PORT COUNT
        COUNT requests 5 ms apart over one TCP connection, then over UDP; the
        UDP server waits 5 ms, sends ~5% of replies twice, holds ~10% back
        until after the next one (seeded).
"""
import random
import socket
import struct
import sys
import threading
import time

HDR = struct.Struct(">2sBBIQI")


def msg(kind, seq, size):
    body = bytes(b"abcdefghijklmnopqrstuvwxyz"[i % 26] for i in range(size))
    return HDR.pack(b"WL", 1, kind, seq, time.time_ns() // 1000, size) + body


def as_reply(m):
    return m[:3] + b"\x02" + m[4:]


def read_exact(s, n):
    buf = b""
    while len(buf) < n:
        c = s.recv(n - len(buf))
        if not c:
            return None
        buf += c
    return buf


def read_msg(s):
    h = read_exact(s, HDR.size)
    if h is None:
        return None
    n = HDR.unpack(h)[5]
    return h + read_exact(s, n)


def tcp_server(port, ready):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen()
    ready.set()
    c, _ = ls.accept()
    while (m := read_msg(c)) is not None:
        c.sendall(as_reply(m))
    c.close()
    ls.close()


def send_to(sock, m, peer):
    try:
        sock.sendto(m, peer)
    except PermissionError:                 # dropped by the firewall's output hook
        pass


def udp_echo(sock, stop, rng=None, delay=0.0):
    sock.settimeout(0.2)
    held = None
    while not stop.is_set():
        try:
            m, peer = sock.recvfrom(65535)
        except socket.timeout:
            continue
        if delay:
            time.sleep(delay)
        r = as_reply(m)
        if rng and held is None and rng.random() < 0.10:
            held = (r, peer)                # sent after the next reply
            continue
        send_to(sock, r, peer)
        if rng and rng.random() < 0.05:
            send_to(sock, r, peer)          # a copy
        if held:
            send_to(sock, *held)
            held = None
    if held:
        send_to(sock, *held)


def udp_bind(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    return s


def plain(tcp_port, ua, ub, closed):
    stop = threading.Event()
    servers = [udp_bind(ua), udp_bind(ub)]
    ts = [threading.Thread(target=udp_echo, args=(s, stop)) for s in servers]
    for t in ts:
        t.start()
    ready = threading.Event()
    tt = threading.Thread(target=tcp_server, args=(tcp_port, ready))
    tt.start()
    ready.wait()

    # UDP first: one client socket, two servers.
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(2)
    for seq in range(6):
        u.sendto(msg(1, seq, 24 + seq), ("127.0.0.1", ua if seq % 2 == 0 else ub))
        u.recvfrom(65535)
    u.close()

    # A refused attempt: nobody listens on `closed`.
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", closed))
        raise SystemExit("closed port accepted a connection")
    except ConnectionRefusedError:
        pass
    s.close()

    s = socket.socket()
    s.connect(("127.0.0.1", tcp_port))
    for seq in range(3):
        s.sendall(msg(1, seq, 40))
        read_msg(s)
    s.sendall(msg(1, 3, 10) + msg(1, 4, 300))   # two requests in one send
    read_msg(s)
    read_msg(s)
    s.shutdown(socket.SHUT_WR)                  # the client's FIN first
    assert s.recv(1) == b""                     # then the server's
    s.close()
    tt.join()
    stop.set()
    for t in ts:
        t.join()
    print("plain done", flush=True)


def loss(tcp_port, udp_port, count):
    rng = random.Random(7)
    stop = threading.Event()
    us = udp_bind(udp_port)
    ut = threading.Thread(target=udp_echo, args=(us, stop, rng, 0.005))
    ut.start()
    ready = threading.Event()
    tt = threading.Thread(target=tcp_server, args=(tcp_port, ready))
    tt.start()
    ready.wait()

    s = socket.socket()
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.connect(("127.0.0.1", tcp_port))
    got = []
    rt = threading.Thread(target=lambda: [got.append(read_msg(s)) for _ in range(count)])
    rt.start()
    for seq in range(count):
        s.sendall(msg(1, seq, 64))
        time.sleep(0.005)
    rt.join(30)
    s.close()
    tt.join(10)

    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(0.3)
    for seq in range(count):
        send_to(u, msg(1, seq, 64), ("127.0.0.1", udp_port))
        time.sleep(0.005)
    n = 0
    try:
        while True:
            u.recvfrom(65535)
            n += 1
    except socket.timeout:
        pass
    stop.set()
    ut.join()
    print(f"loss done: tcp replies {len(got)}, udp replies {n}", flush=True)


if __name__ == "__main__":
    mode, *a = sys.argv[1:]
    if mode == "plain":
        plain(*map(int, a))
    else:
        loss(*map(int, a))
