#!/usr/bin/env bash
# Fuzzes wirelab's input surfaces with cargo fuzz (libFuzzer), each for
# SECONDS (default 600), with corpora seeded from the repository:
#
#   scripts/fuzz.sh [SECONDS] [stream|lab|file|filter|all]    (default: stream)
#
#   stream  the stream dissectors (WebSocket, Engine.IO, Socket.IO payloads from captures/; TLS
#           records from captures/tls/, decrypted with their key logs)
#   lab     lab files and answers (the bundled labs)
#   file    capture files, pcap and pcapng (every file in captures/)
#   filter  display filters (every filter the labs use, and a few more)
#   all     each of the above in turn
#
# Needs `cargo install cargo-fuzz`; runs on the stable toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
target=${2:-stream}
run() {
  RUSTC_BOOTSTRAP=1 cargo fuzz run -s none "$1" "$2" -- -max_total_time="$secs" -rss_limit_mb=4096
}
case "$target" in
  stream)
    corpus=fuzz/corpus/stream
    mkdir -p "$corpus"
    python3 scripts/fuzz-seeds.py "$corpus" captures/websocket-python.pcap captures/websocket-python-deflate.pcap captures/socketio-node.pcap \
      captures/tls/py-websockets-tls13.pcap captures/tls/py-websockets-tls12-chacha.pcap
    run stream "$corpus"
    ;;
  lab)
    corpus=fuzz/corpus/lab
    mkdir -p "$corpus"
    for f in labs/*.toml; do printf '\0' | cat - "$f" >"$corpus/$(basename "$f")"; done
    run lab "$corpus"
    ;;
  file)
    corpus=fuzz/corpus/file
    mkdir -p "$corpus"
    # The small captures (the fuzzer works best on short inputs).
    find captures -name '*.pcap*' -size -64k -exec cp {} "$corpus/" \;
    run file "$corpus"
    ;;
  filter)
    corpus=fuzz/corpus/filter
    mkdir -p "$corpus"
    grep -ho 'filter = "[^"]*"' labs/*.toml | sed 's/^filter = "//; s/"$//' | sort -u |
      while IFS= read -r f; do printf '%s' "$f" >"$corpus/$(printf '%s' "$f" | md5sum | cut -c1-16)"; done
    for f in 'ip.src == 127.0.0.1' 'tcp.port in {80 443}' 'websocket.payload contains "hi"' \
      'frame.len > 100 && !(udp || arp)' 'eth.src == 00:00:00:00:00:00' 'ipv6.dst == ::1'; do
      printf '%s' "$f" >"$corpus/$(printf '%s' "$f" | md5sum | cut -c1-16)"
    done
    run filter "$corpus"
    ;;
  all)
    for t in stream lab file filter; do "$0" "$secs" "$t"; done
    ;;
  *)
    echo "fuzz.sh: no target \"$target\" (stream, lab, file, filter or all)" >&2
    exit 2
    ;;
esac
