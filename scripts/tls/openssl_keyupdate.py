#!/usr/bin/env python3
"""Drives `openssl s_client` against `openssl s_server -rev` (which sends each
line back reversed) over TLS 1.3, with KeyUpdates in the middle, for the
capture captures/tls/openssl-tls13-keyupdate.pcap.

    openssl_keyupdate.py PORT KEYLOG

Types lines into s_client as a person would, waiting for each reversed echo
before the next one: two lines; "K" (s_client sends a KeyUpdate with
update_requested, so the server answers with its own KeyUpdate); two lines;
"k" (a KeyUpdate from the client alone); one line; "Q" (close_notify, exit).
s_client writes the key log itself (-keylogfile).
"""
import subprocess
import sys
import threading

port, keylog = sys.argv[1], sys.argv[2]
proc = subprocess.Popen(
    ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_3",
     "-keylogfile", keylog],
    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
)
lines = []  # everything s_client printed, stdout and stderr
cond = threading.Condition()


def reader(stream):
    for raw in stream:
        with cond:
            lines.append(raw.decode(errors="replace").rstrip("\n"))
            cond.notify_all()


for s in (proc.stdout, proc.stderr):
    threading.Thread(target=reader, args=(s,), daemon=True).start()


def wait_for(text, timeout=10):
    with cond:
        if not cond.wait_for(lambda: any(l == text for l in lines), timeout):
            sys.exit(f"timed out waiting for {text!r} from s_client")
        lines.clear()


def send(line):
    proc.stdin.write(line.encode() + b"\n")
    proc.stdin.flush()


wait_for("---")  # the end of the first block of session details
# s_client prints its session summary (with a "---" line) after the handshake
# and again after each NewSessionTicket; the echo of the first line shows the
# connection is up either way.
for text in ["hello over TLS 1.3", "a second line"]:
    send(text)
    wait_for(text[::-1])
send("K")
wait_for("KEYUPDATE")
for text in ["after the key update", "still talking"]:
    send(text)
    wait_for(text[::-1])
send("k")
wait_for("KEYUPDATE")
send("last line")
wait_for("last line"[::-1])
send("Q")
proc.stdin.close()
sys.exit(proc.wait(timeout=10))
