#!/usr/bin/env python3
"""Right answers of the tcp-reliability lab on captures made by other
programs, worked out with tshark from each question's text (not from the
lab's queries). Writes captures/third-party/NAME.answers.json.

The bulk transfer is the connection that carries the most data bytes; its
sender is the side that opened it (its SYN).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from tsharkfields import tshark  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "captures", "third-party")

CAPTURES = [
    ("bulk-python-sockets", "captures/third-party/bulk-python-sockets.pcap",
     "Python 3.11 sockets (bulk-sockets.py): 1 MB from a client to a server on 9480 that stops reading for 0.8 s "
     "half-way, TCP_MAXSEG 1460, a 128 KB receive buffer; through tc htb + tbf 8 Mbit/s with a 64 KB queue on the "
     "port, and nftables numgen random drops of 1% on input; first an unrelated kept-alive HTTP/1.1 connection to a "
     "Python http.server on 9481 and one UDP datagram to 9482 (make-bulk.sh)"),
    ("tcp-random-loss-veth", "captures/tcp-random-loss-veth.pcap",
     "Python 3.11 sockets across a veth pair between two namespaces, nftables numgen random drops of 8% each way; "
     "a bulk transfer to a reader with an 8 KB buffer, then a request/response exchange (scripts/make-captures.sh "
     "randomloss)"),
]

FIELDS = ["frame.number", "tcp.stream", "tcp.len", "tcp.srcport", "tcp.flags.syn", "tcp.flags.ack",
          "tcp.analysis.acks_frame", "tcp.analysis.ack_rtt", "tcp.analysis.bytes_in_flight",
          "tcp.analysis.fast_retransmission", "tcp.analysis.zero_window"]


def derive(pcap):
    rows = tshark(pcap, FIELDS, "tcp")
    data = {}
    for r in rows:
        data[r["tcp.stream"]] = data.get(r["tcp.stream"], 0) + int(r["tcp.len"] or 0)
    bulk = max(data, key=data.get)
    mine = [r for r in rows if r["tcp.stream"] == bulk]
    client = next(r["tcp.srcport"] for r in mine if r["tcp.flags.syn"] == "1" and r["tcp.flags.ack"] == "0")
    answers, cannot, how = {}, {}, {}
    first = next(r["frame.number"] for r in mine if int(r["tcp.len"] or 0) > 0)
    ack = [r for r in mine if r["tcp.analysis.acks_frame"] == first and r["tcp.analysis.ack_rtt"]]
    if ack:
        answers["first-rtt"] = round(float(ack[0]["tcp.analysis.ack_rtt"]) * 1000, 6)
    else:
        cannot["first-rtt"] = f"no ACK names frame {first}, the transfer's first data segment"
    how["first-rtt"] = ("tshark: the first tcp.len > 0 frame of the stream with the most data bytes; "
                        "tcp.analysis.ack_rtt × 1000 of the frame whose tcp.analysis.acks_frame names it")
    rtts = [r for r in mine if r["tcp.analysis.ack_rtt"]]
    best = max(rtts, key=lambda r: float(r["tcp.analysis.ack_rtt"]))
    answers["longest-rtt"] = int(best["frame.number"])
    how["longest-rtt"] = "tshark: the frame of that stream with the largest tcp.analysis.ack_rtt (the first of equals)"
    flight = [int(r["tcp.analysis.bytes_in_flight"]) for r in mine
              if r["tcp.analysis.bytes_in_flight"] and r["tcp.srcport"] == client]
    answers["max-in-flight"] = max(flight)
    how["max-in-flight"] = "tshark: the largest tcp.analysis.bytes_in_flight of the sender's (SYN side's) segments"
    for qid, flag in [("fast-retransmission", "tcp.analysis.fast_retransmission"),
                      ("zero-window", "tcp.analysis.zero_window")]:
        hit = [r["frame.number"] for r in rows if r[flag]]
        if hit:
            answers[qid] = int(hit[0])
        else:
            cannot[qid] = f"tshark flags no frame {flag}"
        how[qid] = f"tshark: a frame flagged {flag} (the first)"
    return {"answers": answers, "cannot": cannot, "how": how}


def main():
    for name, path, made_by in CAPTURES:
        full = os.path.join(ROOT, path)
        if not os.path.exists(full):
            print(f"skip {path}: missing", file=sys.stderr)
            continue
        doc = {"made_by": made_by}
        if not path.startswith("captures/third-party/"):
            doc["capture"] = path
        doc["labs"] = {"tcp-reliability": derive(full)}
        with open(os.path.join(OUT, name + ".answers.json"), "w") as fh:
            json.dump(doc, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        d = doc["labs"]["tcp-reliability"]
        print(f"{name}: tcp-reliability {len(d['answers'])}/{len(d['cannot'])}")


if __name__ == "__main__":
    main()
