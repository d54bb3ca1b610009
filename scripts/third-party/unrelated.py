#!/usr/bin/env python3
"""Unrelated loopback traffic for the third-party captures (make-wstcp.sh,
make-sio-b.sh), as a student's laptop would have it: an HTTP/1.1 server and
one kept-alive client connection (a GET before the lab's traffic, a second
GET on the same connection after it), and one UDP datagram to another local
program.

    unrelated.py HTTP_PORT UDP_PORT
Prints "ready" once the first GET and the datagram are done; waits for a
line (or EOF) on stdin, then does the second GET, closes and exits.
"""
import http.client
import http.server
import socket
import sys
import threading

HTTP_PORT, UDP_PORT = int(sys.argv[1]), int(sys.argv[2])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = b'{"status": "ok", "app": "some other program"}\n'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", HTTP_PORT), Handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()
sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sink.bind(("127.0.0.1", UDP_PORT))

conn = http.client.HTTPConnection("127.0.0.1", HTTP_PORT)
conn.request("GET", "/status.txt")
conn.getresponse().read()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"heartbeat from another app", ("127.0.0.1", UDP_PORT))
sink.recvfrom(2048)
print("ready", flush=True)
sys.stdin.readline()
conn.request("GET", "/status.txt?again=1")
conn.getresponse().read()
conn.close()
srv.shutdown()
print("closed", flush=True)
