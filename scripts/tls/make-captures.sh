#!/usr/bin/env bash
# Makes the TLS reference captures in captures/tls/: real TLS traffic between
# programs other than wirelab (Python websockets and http.server, curl, the
# npm socket.io server and client, headless Chromium, openssl s_server and
# s_client), each recorded on `lo` with dumpcap as a classic pcap, with the
# NSS key log the client wrote beside it (NAME.keys). captures/tls/README.md
# says what each one shows and how tshark decrypts it.
#
#     scripts/tls/make-captures.sh [NAME...]     (run as root from anywhere)
#
# NAME is one of: ws13 ws13-aes128 ws13-chacha ws12-aesgcm ws12-aes256gcm
# ws12-chacha curl socketio chromium keyupdate injected nokeys socketio-sni
# ws13-sni summary (default:
# all; `injected` needs ws13's capture; `summary` prints what tshark
# decrypts). Needs Debian's tshark (dumpcap, editcap), openssl, curl and
# chromium; python3 with `websockets`; node with socket.io
# and socket.io-client (tests/js/node_modules, else npm-installed into /tmp).
# Every capture stays on ports 9600-9699 (the capture filter says so).
set -euo pipefail
cd "$(dirname "$0")/../.."
here=scripts/tls
out=captures/tls
mkdir -p "$out"
tmp=$(mktemp -d /tmp/wirelab-tls.XXXXXX)
pids=()      # background processes this script started
cap_pid=

cleanup() {
  local p
  for p in "${pids[@]}" $cap_pid; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# A self-signed RSA certificate for 127.0.0.1, made anew each run.
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
cert=$tmp/cert.pem key=$tmp/key.pem

# OPENSSL_CONF files that leave a single TLS 1.3 cipher suite (Python's ssl
# module has no way to choose TLS 1.3 suites; OpenSSL applies the
# system_default section to every SSL_CTX the process makes).
suite_conf() {
  cat >"$tmp/$1.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
Ciphersuites = $1
EOF
  echo "$tmp/$1.cnf"
}

# wait_line FILE TEXT [SECONDS]: polls until a line of FILE starts with TEXT.
wait_line() {
  local i
  for ((i = 0; i < ${3:-15} * 20; i++)); do
    grep -q "^$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "timed out waiting for '$2' in $1:" >&2; cat "$1" >&2; return 1
}

# start_capture NAME PORT: dumpcap on lo into captures/tls/NAME.pcap (classic
# pcap, -P). dumpcap prints "File: ..." once the interface is open, the filter
# set and the file header written: traffic may start then.
start_capture() {
  rm -f "$out/$1.pcap"
  dumpcap -q -P -i lo -f "tcp portrange 9600-9699 and tcp port $2" -w "$out/$1.pcap" >"$tmp/dumpcap.log" 2>&1 &
  cap_pid=$!
  wait_line "$tmp/dumpcap.log" "File: "
}

# all_closed FILE: every TCP connection in FILE has ended (a FIN from both
# ends, or a RST).
all_closed() {
  tshark -r "$1" -T fields -e tcp.stream -e tcp.srcport -e tcp.flags.fin -e tcp.flags.reset 2>/dev/null |
    awk -F'\t' '
      { seen[$1] = 1 }
      $3 == "1" || $3 == "True" { fin[$1 "," $2] = 1 }
      $4 == "1" || $4 == "True" { rst[$1] = 1 }
      END {
        for (k in fin) { split(k, a, ","); nfin[a[1]]++ }
        for (s in seen) if (!rst[s] && nfin[s] < 2) exit 1
        exit 0
      }'
}

# stop_capture: once the traffic is over, waits until dumpcap has written it
# all (every connection closed in the file, and the file no longer growing
# for a second: libpcap hands over packets at least every 250 ms, dumpcap
# flushes every 100 ms), then stops dumpcap with SIGINT and waits for it.
stop_capture() {
  local f=$out/$1.pcap size=-1 still=0 i
  for ((i = 0; i < 150; i++)); do
    local now; now=$(stat -c %s "$f")
    if [ "$now" = "$size" ]; then still=$((still + 1)); else still=0; size=$now; fi
    if [ $still -ge 5 ] && all_closed "$f"; then break; fi
    sleep 0.2
  done
  kill -INT "$cap_pid"; wait "$cap_pid" || true; cap_pid=
  chmod 644 "$f"; [ ! -f "$out/$1.keys" ] || chmod 644 "$out/$1.keys"
  echo "$1.pcap: $(tshark -r "$f" 2>/dev/null | wc -l) frames, $(stat -c %s "$f") bytes"
}

# bg LOG CMD...: starts CMD in the background with its output in LOG.
bg() { local log=$1; shift; rm -f "$log"; "$@" >"$log" 2>&1 & pids+=($!); last=$!; }

# ws_capture NAME PORT [OPENSSL_CONF] [CLIENT ARGS...]: the Python websockets
# echo server and client over TLS; the client writes NAME.keys (unless the
# name ends in -no-keys).
ws_capture() {
  local name=$1 port=$2 conf=${3:-}; shift 3 || shift $#
  local env=() keys=()
  [ -n "$conf" ] && env=(env "OPENSSL_CONF=$conf")
  if [[ $name != *-no-keys ]]; then rm -f "$out/$name.keys"; keys=(--keylog "$out/$name.keys"); fi
  start_capture "$name" "$port"
  bg "$tmp/server.log" "${env[@]}" python3 "$here/ws_tls.py" server "$port" "$cert" "$key" --once
  local srv=$last
  wait_line "$tmp/server.log" LISTENING
  "${env[@]}" python3 "$here/ws_tls.py" client "$port" "${keys[@]}" "$@"
  wait "$srv"
  stop_capture "$name"
}

make_ws13() { ws_capture py-websockets-tls13 9601 ""; }
make_ws13-aes128() { ws_capture py-websockets-tls13-aes128 9602 "$(suite_conf TLS_AES_128_GCM_SHA256)"; }
make_ws13-chacha() { ws_capture py-websockets-tls13-chacha 9603 "$(suite_conf TLS_CHACHA20_POLY1305_SHA256)"; }
make_ws12-aesgcm() { ws_capture py-websockets-tls12-aesgcm 9604 "" --tls12 --ciphers ECDHE-RSA-AES128-GCM-SHA256; }
make_ws12-aes256gcm() { ws_capture py-websockets-tls12-aes256gcm 9605 "" --tls12 --ciphers ECDHE-RSA-AES256-GCM-SHA384; }
make_ws12-chacha() { ws_capture py-websockets-tls12-chacha 9606 "" --tls12 --ciphers ECDHE-RSA-CHACHA20-POLY1305; }
# What an eavesdropper sees: the same TLS 1.3 exchange, no key log kept.
make_nokeys() { ws_capture tls-nonstandard-no-keys 9660 ""; }

make_curl() {
  # curl fetches two files over one kept-alive HTTP/1.1 connection from
  # Python's http.server wrapped in TLS.
  local name=curl-https port=9620
  mkdir -p "$tmp/www"
  echo "hello from wirelab over https" >"$tmp/www/hello.txt"
  printf '{"lesson": "tls", "decrypted": true}\n' >"$tmp/www/data.json"
  rm -f "$out/$name.keys"
  start_capture "$name" $port
  bg "$tmp/server.log" python3 "$here/https_server.py" $port "$cert" "$key" "$tmp/www"
  local srv=$last
  wait_line "$tmp/server.log" LISTENING
  SSLKEYLOGFILE="$out/$name.keys" curl -sS --http1.1 -k \
    "https://127.0.0.1:$port/hello.txt" "https://127.0.0.1:$port/data.json" >/dev/null
  stop_capture "$name"
  kill "$srv"; wait "$srv" || true
}

make_socketio() {
  # The npm socket.io server over https.createServer and socket.io-client in
  # Node, default transports (polling, then upgrade), two events with acks.
  # $1 $2 $3: another name, port and host (socketio-sni).
  local name=${1:-socketio-https} port=${2:-9630} host=${3:-127.0.0.1} mods=$PWD/tests/js/node_modules
  if [ ! -d "$mods/socket.io" ] || [ ! -d "$mods/socket.io-client" ]; then
    ( cd "$tmp" && npm init -y >/dev/null && npm install --silent socket.io@4 socket.io-client@4 >/dev/null )
    mods=$tmp/node_modules
  fi
  rm -f "$out/$name.keys"
  start_capture "$name" $port
  bg "$tmp/server.log" env NODE_PATH="$mods" node "$here/sio_tls.js" server $port "$cert" "$key"
  local srv=$last
  wait_line "$tmp/server.log" LISTENING
  NODE_PATH=$mods node --no-warnings --tls-keylog="$out/$name.keys" "$here/sio_tls.js" client $port "$host"
  wait_line "$tmp/server.log" CLOSED
  stop_capture "$name"
  kill "$srv"; wait "$srv" || true
}

make_chromium() {
  # Headless Chromium loads a page from the Python websockets server, whose
  # script opens wss:// to the same server, sends two messages, closes after
  # the echoes. The server says CLOSED when the WebSocket has ended; then
  # Chromium is stopped (SIGTERM).
  local name=chromium-wss port=9640
  rm -f "$out/$name.keys"
  start_capture "$name" $port
  bg "$tmp/server.log" python3 "$here/ws_tls.py" server $port "$cert" "$key" --page --once
  local srv=$last
  wait_line "$tmp/server.log" LISTENING
  bg "$tmp/chromium.log" chromium --headless=new --no-sandbox --disable-gpu \
    --user-data-dir="$tmp/chromium-profile" --ssl-key-log-file="$PWD/$out/$name.keys" \
    --ignore-certificate-errors --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --disable-extensions --disable-default-apps \
    "https://127.0.0.1:$port/"
  local chr=$last
  wait_line "$tmp/server.log" CLOSED 60
  wait "$srv"
  kill "$chr"; wait "$chr" || true
  stop_capture "$name"
}

make_keyupdate() {
  # openssl s_client against s_server -rev (echoes each line reversed), TLS
  # 1.3, a KeyUpdate with update_requested ("K") and one without ("k").
  local name=openssl-tls13-keyupdate port=9650
  rm -f "$out/$name.keys"
  start_capture "$name" $port
  bg "$tmp/server.log" openssl s_server -accept 127.0.0.1:$port -cert "$cert" -key "$key" \
    -tls1_3 -rev -naccept 1 </dev/null
  local srv=$last
  wait_line "$tmp/server.log" ACCEPT
  python3 "$here/openssl_keyupdate.py" $port "$out/$name.keys"
  wait "$srv"
  stop_capture "$name"
}

# The same programs connecting by name, so the ClientHello names the server
# (SNI), each with its key log injected into a pcapng: the third-party
# captures of the lab tls-and-wss (captures/third-party/tls-*.answers.json).
inject() {
  editcap --inject-secrets "tls,$out/$1.keys" "$out/$1.pcap" "$out/$1.pcapng"
  rm "$out/$1.pcap"; chmod 644 "$out/$1.pcapng"
  echo "$1.pcapng: $(stat -c %s "$out/$1.pcapng") bytes, its key log inside"
}
make_socketio-sni() { make_socketio socketio-https-sni 9632 localhost; inject socketio-https-sni; }
make_ws13-sni() { ws_capture py-websockets-tls13-sni 9607 "" --host localhost; inject py-websockets-tls13-sni; }

make_injected() {
  # ws13's capture with its key log inside (a pcapng Decryption Secrets Block).
  editcap --inject-secrets "tls,$out/py-websockets-tls13.keys" \
    "$out/py-websockets-tls13.pcap" "$out/py-websockets-tls13-injected.pcapng"
  chmod 644 "$out/py-websockets-tls13-injected.pcapng"
  echo "py-websockets-tls13-injected.pcapng: $(stat -c %s "$out/py-websockets-tls13-injected.pcapng") bytes"
}

make_summary() {
  # What tshark decrypts in each capture (the README's table).
  local f n k o p
  for f in "$out"/*.pcap "$out"/*.pcapng; do
    n=$(basename "${f%.pcap*}"); o=()
    [ -f "$out/$n.keys" ] && o=(-o "tls.keylog_file:$out/$n.keys")
    p=$(tshark -r "$f" -c 1 -T fields -e tcp.dstport 2>/dev/null)
    printf '%s: %s frames, %s bytes; tls %s, http %s, websocket %s, data %s\n' "$(basename "$f")" \
      "$(tshark -r "$f" 2>/dev/null | wc -l)" "$(stat -c %s "$f")" \
      "$(tshark -r "$f" "${o[@]}" -d "tcp.port==$p,tls" -Y tls 2>/dev/null | wc -l)" \
      "$(tshark -r "$f" "${o[@]}" -d "tcp.port==$p,tls" -Y http 2>/dev/null | wc -l)" \
      "$(tshark -r "$f" "${o[@]}" -d "tcp.port==$p,tls" -Y websocket 2>/dev/null | wc -l)" \
      "$(tshark -r "$f" "${o[@]}" -d "tcp.port==$p,tls" -Y data 2>/dev/null | wc -l)"
  done
}

if [ $# -eq 0 ]; then
  set -- ws13 ws13-aes128 ws13-chacha ws12-aesgcm ws12-aes256gcm ws12-chacha \
    curl socketio chromium keyupdate injected nokeys socketio-sni ws13-sni summary
fi
for c in "$@"; do "make_$c"; done
echo "TLS captures written to $out/"
