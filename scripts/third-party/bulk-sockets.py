#!/usr/bin/env python3
"""A bulk transfer with plain Python sockets, for the tcp-reliability lab's
third-party capture (make-bulk.sh): a receiver with a 128 KB buffer that
stops reading for 0.8 s half-way, a sender that writes 1 MB; both with
segments of at most 1448 data bytes (TCP_MAXSEG 1460), as on Ethernet.

    bulk-sockets.py PORT
"""
import socket
import sys
import threading
import time

PORT = int(sys.argv[1])
SIZE = 1_000_000

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1460)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 128 * 1024)
srv.bind(("127.0.0.1", PORT))
srv.listen()


def receive():
    c, _ = srv.accept()
    n, paused = 0, False
    while True:
        b = c.recv(16384)
        if not b:
            break
        n += len(b)
        if not paused and n >= SIZE // 2:
            time.sleep(0.8)
            paused = True
    c.sendall(b"got %d" % n)
    c.close()


t = threading.Thread(target=receive)
t.start()
s = socket.socket()
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1460)
s.connect(("127.0.0.1", PORT))
s.sendall(bytes((i % 251 for i in range(SIZE))))
s.shutdown(socket.SHUT_WR)
print(s.recv(100).decode())
s.close()
t.join()
