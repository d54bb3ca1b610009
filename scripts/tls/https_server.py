#!/usr/bin/env python3
"""Python's http.server wrapped in TLS, speaking HTTP/1.1 (keep-alive), for
the curl capture in captures/tls/.

    https_server.py PORT CERT KEY DIR

Serves DIR on 127.0.0.1:PORT and prints "LISTENING" once it accepts
connections. It writes no key log (the client does).
"""
import functools
import http.server
import ssl
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep the connection open between requests

    def log_message(self, fmt, *args):
        sys.stderr.write("server: " + (fmt % args) + "\n")


def main():
    port, cert, key, root = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd = http.server.HTTPServer(
        ("127.0.0.1", port), functools.partial(Handler, directory=root)
    )
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    print("LISTENING", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
