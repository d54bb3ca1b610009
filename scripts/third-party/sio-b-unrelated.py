#!/usr/bin/env python3
"""sio-b: unrelated loopback traffic before the lab's, as on a student's
laptop: an HTTP/1.1 server with one kept-alive client connection (a GET
before the lab's traffic, a second GET on the same connection after it) and
one UDP datagram to a local listener (a DNS-like query to a "resolver").

    sio-b-unrelated.py HTTP_PORT UDP_PORT
Prints "ready" once the first GET and the datagram are done; waits for EOF
on stdin, then does the second GET, closes and exits.
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
        body = b'{"weather": "cloudy", "source": "a desktop widget"}\n'
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
conn.request("GET", "/weather")
conn.getresponse().read()
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01",
           ("127.0.0.1", UDP_PORT))
sink.recvfrom(2048)
print("ready", flush=True)
sys.stdin.read()
conn.request("GET", "/weather?again=1")
conn.getresponse().read()
conn.close()
srv.shutdown()
