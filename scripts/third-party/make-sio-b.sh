#!/usr/bin/env bash
# sio-b: third-party captures for the missed-events and message-queues labs,
# made with the OFFICIAL npm socket.io server and socket.io-client (Node).
#   captures/third-party/sio-b-recovery.pcap    server with connectionStateRecovery
#   captures/third-party/sio-b-norecovery.pcap  the same server without it
# Run as root from the repo root:  scripts/third-party/make-sio-b.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=captures/third-party
DIR=scripts/third-party
TMP=$(mktemp -d /tmp/sio-b.XXXXXX)
mkdir -p "$OUT"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

# wait until FILE has a line matching PATTERN (at most 10 s)
wait_for() {
  local file=$1 pattern=$2 i
  for i in $(seq 200); do grep -q "$pattern" "$file" 2>/dev/null && return 0; sleep 0.05; done
  echo "timed out waiting for '$pattern' in $file" >&2; cat "$file" >&2; return 1
}

# make NAME SIO_PORT HTTP_PORT UDP_PORT [--recovery]
make_one() {
  local name=$1 sio=$2 http=$3 udp=$4 flag=${5:-}
  local pcap=$TMP/$name.pcap
  dumpcap -q -i lo -f "(tcp or udp) and portrange 9500-9549" -P -w "$pcap" 2>"$TMP/$name.dumpcap" &
  local dc=$!; PIDS+=("$dc")
  wait_for "$TMP/$name.dumpcap" "Capturing on"
  node "$DIR/sio-b-server.js" "$sio" $flag >"$TMP/$name.server" 2>&1 &
  local srv=$!; PIDS+=("$srv")
  wait_for "$TMP/$name.server" "^listening"
  # the unrelated connection and datagram, before the lab's traffic
  mkfifo "$TMP/$name.fifo"
  python3 "$DIR/unrelated.py" "$http" "$udp" <"$TMP/$name.fifo" >"$TMP/$name.unrelated" &
  local unr=$!; PIDS+=("$unr")
  exec 7>"$TMP/$name.fifo"
  wait_for "$TMP/$name.unrelated" "^ready"
  node "$DIR/sio-b-clients.js" "$sio" | tee "$TMP/$name.clients"
  exec 7>&-               # EOF: the unrelated client does its second GET and closes
  wait "$unr"
  kill "$srv"; wait "$srv" 2>/dev/null || true
  sleep 0.5               # let dumpcap read the last packets
  kill "$dc"; wait "$dc" 2>/dev/null || true
  cat "$TMP/$name.server" >&2
  editcap -F pcap "$pcap" "$OUT/$name.pcap"
  echo "$OUT/$name.pcap: $(capinfos -c -M "$OUT/$name.pcap" | awk '/Number of packets/ {print $NF}') frames, $(stat -c %s "$OUT/$name.pcap") bytes"
}

make_one sio-b-recovery   9510 9500 9520 --recovery
make_one sio-b-norecovery 9511 9501 9521
