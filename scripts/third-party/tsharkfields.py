"""tshark's fields of each frame of a capture, for the answers-*.py scripts."""
import subprocess


def tshark(pcap, fields, filt=None):
    """One dict per frame (matching `filt`, a display filter): field name ->
    its first occurrence as tshark prints it ("" when absent)."""
    cmd = ["tshark", "-r", pcap, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"]
    if filt:
        cmd += ["-Y", filt]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        v = line.split("\t")
        rows.append(dict(zip(fields, v + [""] * (len(fields) - len(v)))))
    return rows
