#!/usr/bin/env bash
# Fuzzes the stream dissectors (cargo fuzz, libFuzzer) for SECONDS (default
# 600), with a corpus seeded from the WebSocket and Socket.IO payloads in
# captures/; `scripts/fuzz.sh SECONDS lab` fuzzes lab files and answers
# instead, seeded with the bundled labs. Needs `cargo install cargo-fuzz`;
# runs on the stable toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
if [ "${2:-}" = "lab" ]; then
  corpus=fuzz/corpus/lab
  mkdir -p "$corpus"
  for f in labs/*.toml; do printf '\0' | cat - "$f" >"$corpus/$(basename "$f")"; done
  RUSTC_BOOTSTRAP=1 cargo fuzz run -s none lab "$corpus" -- -max_total_time="$secs" -rss_limit_mb=4096
  exit
fi
corpus=fuzz/corpus/stream
mkdir -p "$corpus"
python3 scripts/fuzz-seeds.py "$corpus" captures/websocket-python.pcap captures/websocket-python-deflate.pcap captures/socketio-node.pcap
RUSTC_BOOTSTRAP=1 cargo fuzz run -s none stream "$corpus" -- -max_total_time="$secs" -rss_limit_mb=4096
