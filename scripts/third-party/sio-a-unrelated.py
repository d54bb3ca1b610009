#!/usr/bin/env python3
"""sio-a: traffic unrelated to the lab, as on a student's laptop: an HTTP/1.1
server (http.server) on HTTP_PORT, one kept-alive connection to it with one GET,
and one UDP datagram to UDP_PORT. Prints "unrelated ready" once both are sent,
keeps the TCP connection open until SIGTERM (or SIGINT), then closes it.
    python3 sio-a-unrelated.py HTTP_PORT UDP_PORT
"""
import http.client
import http.server
import signal
import socket
import sys
import threading


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = b"nothing to do with socket.io\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def main():
    http_port, udp_port = int(sys.argv[1]), int(sys.argv[2])
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", http_port), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    udp_rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp_rx.bind(("127.0.0.1", udp_port))

    conn = http.client.HTTPConnection("127.0.0.1", http_port)
    conn.request("GET", "/status.txt", headers={"Connection": "keep-alive"})
    conn.getresponse().read()
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.sendto(b"unrelated datagram: a game's heartbeat\n", ("127.0.0.1", udp_port))
    udp_rx.recvfrom(2048)
    print("unrelated ready", flush=True)

    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    try:
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        conn.close()
        srv.shutdown()


if __name__ == "__main__":
    main()
