#!/usr/bin/env bash
# sio-a: Socket.IO captures made by the official socket.io (not wirelab), for the
# labs bidirectional, socketio-uses-http, client-emits, server-emits and
# rooms-and-namespaces. Run as root from the repo root:
#     scripts/third-party/make-sio-a.sh [node] [chromium] [python]     (default: all three)
# Writes captures/third-party/sio-a-{node,chromium,python}.pcap. Each capture holds,
# before the lab's traffic, one unrelated kept-alive HTTP connection and one
# unrelated UDP datagram (sio-a-unrelated.py); then sio-a-server.js (npm socket.io,
# pingInterval 500 ms) and three clients (see each client program's header).
# Ports: node 9450-9452, chromium 9460-9462, python 9470-9472 (server, unrelated
# HTTP, unrelated UDP). Needs: node, tests/js/node_modules, /usr/bin/chromium,
# python-socketio[client] (pip), dumpcap.
set -euo pipefail

cd "$(dirname "$0")/../.."
HERE=scripts/third-party
OUT=captures/third-party
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/sio-a.XXXXXX)
PIDS=()

cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

# Waits until FILE has a line matching PATTERN (the process printed it), or fails.
wait_line() {
  local file=$1 pattern=$2 i
  for i in $(seq 1 300); do
    if grep -q -- "$pattern" "$file" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "timed out waiting for \"$pattern\" in $file:" >&2
  cat "$file" >&2
  return 1
}

# stop PID: ends one process we started and waits for it.
stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# capture NAME BASEPORT SLOW_UPGRADE_MS CLIENT-COMMAND...
capture() {
  local name=$1 base=$2 slow=$3
  shift 3
  local pcap="$OUT/sio-a-$name.pcap" log="$TMP/$name"
  echo "== $name (ports $base-$((base + 2)))"
  dumpcap -q -i lo -f "(tcp or udp) and portrange $base-$((base + 2))" -P -w "$TMP/$name.pcap" 2>"$log.dumpcap" &
  local cap=$!
  PIDS+=("$cap")
  wait_line "$log.dumpcap" "Capturing on"

  python3 "$HERE/sio-a-unrelated.py" $((base + 1)) $((base + 2)) >"$log.unrelated" 2>&1 &
  local unrel=$!
  PIDS+=("$unrel")
  wait_line "$log.unrelated" "unrelated ready"

  local slowarg=()
  if [ "$slow" -gt 0 ]; then slowarg=(--slow-upgrade "$slow"); fi
  node "$HERE/sio-a-server.js" "$base" "${slowarg[@]}" >"$log.server" 2>&1 &
  local srv=$!
  PIDS+=("$srv")
  wait_line "$log.server" "listening $base"

  timeout 120 "$@" "$base" | tee "$log.clients"
  grep -q '^done' "$log.clients"

  stop "$srv"
  stop "$unrel"
  sleep 0.5 # the last FINs reach the capture
  stop "$cap"
  cp "$TMP/$name.pcap" "$pcap"
  chmod 644 "$pcap"
  echo "wrote $pcap: $(capinfos -c -M "$pcap" | awk '/Number of packets/ {print $4}') frames, $(stat -c %s "$pcap") bytes"
}

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(node chromium python)
for w in "${want[@]}"; do
  case $w in
    node) capture node 9450 1150 node "$HERE/sio-a-node-clients.js" ;;
    chromium) capture chromium 9460 1150 node "$HERE/sio-a-chromium.js" ;;
    python) capture python 9470 0 python3 "$HERE/sio-a-python-clients.py" ;;
    *) echo "unknown capture $w (node, chromium, python)" >&2; exit 2 ;;
  esac
done
