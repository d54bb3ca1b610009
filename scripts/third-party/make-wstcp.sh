#!/usr/bin/env bash
# Third-party captures for the WebSocket and TCP/UDP labs (group wstcp):
# Node `ws`, headless Chromium, plain Python sockets, curl, each with one
# unrelated TCP connection and one unrelated UDP datagram first.
# Run as root from the repo root: scripts/third-party/make-wstcp.sh
# Ports 9400-9449 on 127.0.0.1; the loss run adds (and removes) nftables
# table `inet wstcp_loss`.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=scripts/third-party
out=captures/third-party
tmp=$(mktemp -d)
cap_pid=""
unrel_pid=""
cleanup() {
  [ -n "$unrel_pid" ] && kill "$unrel_pid" 2>/dev/null || true
  [ -n "$cap_pid" ] && kill -INT "$cap_pid" 2>/dev/null || true
  for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
  nft delete table inet wstcp_loss 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# Only our ports: other programs may use loopback at the same time.
FILTER="(tcp or udp) and portrange 9400-9449"

start_capture() {   # start_capture NAME
  dumpcap -q -i lo -f "$FILTER" -w "$tmp/$1.pcapng" >"$tmp/dumpcap.log" 2>&1 &
  cap_pid=$!
  for _ in $(seq 100); do grep -q "Capturing on" "$tmp/dumpcap.log" && break; sleep 0.1; done
  grep -q "Capturing on" "$tmp/dumpcap.log" || { cat "$tmp/dumpcap.log"; exit 1; }
  sleep 0.3   # dumpcap says it before the socket is quite ready
}
stop_capture() {    # stop_capture NAME
  sleep 0.3
  kill -INT "$cap_pid"; wait "$cap_pid" || true; cap_pid=""
  editcap -F pcap "$tmp/$1.pcapng" "$out/$1.pcap"
  echo "$out/$1.pcap: $(capinfos -c -M "$out/$1.pcap" | awk '/Number of packets/ {print $NF}') frames"
}
wait_line() {       # wait_line FILE TEXT [tenths]
  for _ in $(seq "${3:-100}"); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "timed out waiting for '$2' in $1" >&2; cat "$1" >&2; exit 1
}
# The unrelated connection (HTTP/1.1, kept alive) and datagram, before the lab's traffic.
unrelated_start() {
  rm -f "$tmp/unrel.in"; mkfifo "$tmp/unrel.in"
  python3 "$here/unrelated.py" 9400 9401 <"$tmp/unrel.in" >"$tmp/unrel.log" 2>&1 &
  unrel_pid=$!
  exec 3>"$tmp/unrel.in"
  wait_line "$tmp/unrel.log" ready
}
unrelated_end() {   # its second GET on the same connection, then it closes
  echo done >&3; exec 3>&-
  wait "$unrel_pid"; unrel_pid=""
}

# 1. Node ws server and client, no compression.
start_capture wstcp-node-ws
unrelated_start
node "$here/wstcp-node-ws.js" 9410 | tee "$tmp/node.log"
grep -q "closed 1001" "$tmp/node.log"
unrelated_end
stop_capture wstcp-node-ws

# 1b. Node ws with permessage-deflate: a compressed message in three fragments.
start_capture wstcp-node-ws-deflate
unrelated_start
node "$here/wstcp-node-ws-deflate.js" 9412 | tee "$tmp/deflate.log"
grep -q "closed 1000" "$tmp/deflate.log"
unrelated_end
stop_capture wstcp-node-ws-deflate

# 2. Headless Chromium to a ws server with permessage-deflate.
start_capture wstcp-chromium-ws
unrelated_start
node "$here/wstcp-chromium-ws.js" 9411 | tee "$tmp/chromium.log"
grep -q "browser:" "$tmp/chromium.log"
unrelated_end
stop_capture wstcp-chromium-ws

# 3. Plain Python sockets speaking the demo format: UDP, a refused TCP attempt, a TCP connection.
start_capture wstcp-plain-sockets
unrelated_start
python3 "$here/wstcp-sockets.py" plain 9420 9421 9422 9423
unrelated_end
stop_capture wstcp-plain-sockets

# 4. curl fetching a page from python3 -m http.server.
mkdir -p "$tmp/www"
printf '<!doctype html>\n<title>lab</title>\n<h1>Hello from python http.server</h1>\n' >"$tmp/www/index.html"
python3 -m http.server 9430 --bind 127.0.0.1 --directory "$tmp/www" >"$tmp/httpd.log" 2>&1 &
httpd=$!
wait_line "$tmp/httpd.log" "Serving HTTP"
start_capture wstcp-curl-http
unrelated_start
curl -sS -o /dev/null -w 'curl: %{http_code} %{size_download} bytes\n' http://127.0.0.1:9430/index.html
unrelated_end
stop_capture wstcp-curl-http
kill "$httpd"; wait "$httpd" 2>/dev/null || true

# 5. TCP and UDP through 10% loss (nftables): TCP dropped on arrival (recorded
#    leaving), UDP dropped before it leaves (not recorded). SYNs are spared.
nft -f - <<'NFT'
table inet wstcp_loss {
  chain in {
    type filter hook input priority -10; policy accept;
    iif "lo" tcp dport 9435 tcp flags & syn == 0 numgen random mod 100 < 10 drop
    iif "lo" tcp sport 9435 tcp flags & syn == 0 numgen random mod 100 < 10 drop
  }
  chain out {
    type filter hook output priority -10; policy accept;
    oif "lo" udp dport 9436 numgen random mod 100 < 10 drop
    oif "lo" udp sport 9436 numgen random mod 100 < 10 drop
  }
}
NFT
start_capture wstcp-loss
unrelated_start
python3 "$here/wstcp-sockets.py" loss 9435 9436 50
unrelated_end
stop_capture wstcp-loss
nft delete table inet wstcp_loss

python3 "$here/answers-wstcp.py"
