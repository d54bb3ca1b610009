#!/usr/bin/env bash
# Regenerates every capture in captures/ from real traffic on this machine.
# Needs root (live capture, network namespaces), dumpcap/tshark/editcap
# (Debian's tshark package) and python3. Traffic stays on loopback or inside
# network namespaces this script creates and removes.
set -euo pipefail
cd "$(dirname "$0")/.."
out=captures
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; ip netns del wl-a 2>/dev/null || true; ip netns del wl-b 2>/dev/null || true; rm -rf "$tmp"' EXIT

# start_capture FILE ARGS...: dumpcap in the background, waits until it runs.
start_capture() {
  local file=$1; shift
  dumpcap -q "$@" -w "$file" >"$tmp/dumpcap.log" 2>&1 &
  cap_pid=$!
  for _ in $(seq 50); do grep -q "Capturing on" "$tmp/dumpcap.log" 2>/dev/null && break; sleep 0.1; done
  sleep 0.5
}
stop_capture() { sleep 0.5; kill -INT "$cap_pid"; wait "$cap_pid" || true; }

traffic_v4() {
  python3 -m http.server 8765 --bind 127.0.0.1 --directory "$tmp" >/dev/null 2>&1 &
  local srv=$!
  sleep 0.7
  echo "<h1>hello from wirelab</h1>" >"$tmp/index.html"
  python3 - <<'PY'
import socket, urllib.request
urllib.request.urlopen("http://127.0.0.1:8765/index.html").read()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"hello over udp", ("127.0.0.1", 9))   # closed port: ICMP port unreachable
PY
  ping -c 1 127.0.0.1 >/dev/null
  kill $srv
}

make_http() {
# 1. HTTP over IPv4 loopback, a ping, a datagram to a closed port (pcap, µs).
start_capture "$tmp/a.pcapng" -i lo -f "tcp port 8765 or icmp or udp port 9"
traffic_v4
stop_capture
editcap -F pcap "$tmp/a.pcapng" "$out/http-over-loopback.pcap"
# The same frames in other containers and link types, and with one missed.
python3 scripts/convert-pcap.py nsec "$out/http-over-loopback.pcap" "$out/http-over-loopback-nsec.pcap"
python3 scripts/convert-pcap.py big-endian "$out/http-over-loopback.pcap" "$out/http-over-loopback-be.pcap"
python3 scripts/convert-pcap.py null "$out/http-over-loopback.pcap" "$out/null-loopback.pcap"
python3 scripts/convert-pcap.py raw "$out/http-over-loopback.pcap" "$out/raw-ip.pcap"
editcap -F pcap "$out/http-over-loopback.pcap" "$out/missed-segment.pcap" 6
}

make_ipv6() {
# 2. The same over IPv6 loopback (pcapng), plus ping6.
start_capture "$out/ipv6-loopback.pcapng" -i lo -f "ip6"
python3 -m http.server 8766 --bind ::1 --directory "$tmp" >/dev/null 2>&1 &
srv=$!; sleep 0.7
python3 - <<'PY'
import socket, urllib.request
urllib.request.urlopen("http://[::1]:8766/index.html").read()
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.sendto(b"hello over udp6", ("::1", 9))
PY
ping -6 -c 1 ::1 >/dev/null
kill $srv
stop_capture
}

# Two namespaces joined by a veth pair: 10.213.0.1 (wl-a) and 10.213.0.2 (wl-b).
veth_up() {
  ip netns del wl-a 2>/dev/null || true; ip netns del wl-b 2>/dev/null || true
  ip netns add wl-a; ip netns add wl-b
  ip link add wl-veth-a netns wl-a type veth peer name wl-veth-b netns wl-b
  ip -n wl-a addr add 10.213.0.1/24 dev wl-veth-a; ip -n wl-a link set wl-veth-a up
  ip -n wl-b addr add 10.213.0.2/24 dev wl-veth-b; ip -n wl-b link set wl-veth-b up
  ip -n wl-a link set lo up; ip -n wl-b link set lo up
  sleep 1
}
veth_capture() {
  ip netns exec wl-a dumpcap -q -i wl-veth-a -w "$1" >"$tmp/dumpcap.log" 2>&1 &
  cap_pid=$!
  for _ in $(seq 50); do grep -q "Capturing on" "$tmp/dumpcap.log" 2>/dev/null && break; sleep 0.1; done
  sleep 0.5
}

make_veth() {
# 3. Two hosts joined by a veth pair, each in its own namespace: ARP,
#    real MAC addresses, and pings too big for the 1500-byte MTU (fragments).
veth_up
veth_capture "$tmp/veth.pcapng"
ip netns exec wl-a ping -c 1 -W 1 10.213.0.2 >/dev/null
ip netns exec wl-a ping -c 1 -W 1 -s 3000 10.213.0.2 >/dev/null
ip netns exec wl-b python3 -c "
import socket,threading
l=socket.socket(); l.bind(('10.213.0.2',9003)); l.listen()
c,_=l.accept(); c.sendall(c.recv(100)); c.close()" &
sleep 0.5
ip netns exec wl-a python3 -c "
import socket; s=socket.create_connection(('10.213.0.2',9003)); s.sendall(b'ping over veth'); s.recv(100); s.close()"
stop_capture
editcap -F pcap "$tmp/veth.pcapng" "$out/veth-arp-fragments.pcap"
}

make_sll() {
# 4. Linux cooked captures (the "any" pseudo-interface), v1 and v2.
for v in LINUX_SLL LINUX_SLL2; do
  start_capture "$tmp/sll.pcapng" -i any -y $v -f "tcp port 8765 or icmp or udp port 9"
  traffic_v4
  stop_capture
  editcap -F pcap "$tmp/sll.pcapng" "$out/any-$(echo $v | tr A-Z a-z | tr _ -).pcap"
done
}

make_two() {
# 5. One pcapng with two interfaces of different link types (lo: Ethernet,
#    any: SLL2), nanosecond timestamps.
start_capture "$out/two-interfaces.pcapng" -i lo -f "tcp port 8765" -i any -y LINUX_SLL2 -f "tcp port 8765"
traffic_v4
stop_capture
}

make_loss() {
# 6. A TCP transfer that loses segments: in the receiver's namespace nftables
#    drops every fourth data segment, so the sender (captured) retransmits,
#    the receiver sends duplicate ACKs with SACK blocks.
veth_up
ip netns exec wl-b nft -f - <<'NFT'
table inet loss {
  chain input {
    type filter hook input priority 0;
    tcp dport 9003 tcp flags & (psh) == psh numgen inc mod 4 == 1 drop
  }
}
NFT
veth_capture "$tmp/loss.pcapng"
ip netns exec wl-b python3 -c "
import socket
l=socket.socket(); l.bind(('10.213.0.2',9003)); l.listen()
c,_=l.accept(); n=0
while True:
    b=c.recv(65536)
    if not b: break
    n+=len(b)
c.sendall(b'received %d bytes' % n); c.close()" &
sleep 0.5
ip netns exec wl-a python3 -c "
import socket,time
s=socket.create_connection(('10.213.0.2',9003))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for i in range(12):
    s.sendall(b'segment %02d of a lossy transfer;' % i); time.sleep(0.01)
s.shutdown(socket.SHUT_WR); print(s.recv(100).decode()); s.close()"
sleep 1
stop_capture
editcap -F pcap "$tmp/loss.pcapng" "$out/tcp-loss-veth.pcap"
}

make_randomloss() {
# 6b. Real random loss both ways: nftables drops 8% of the packets entering
#     each namespace (netem is not in every kernel; nftables is). A bulk
#     transfer with a small window plus a chatty request/response exchange,
#     captured on the sender's side: retransmissions, fast retransmissions,
#     out-of-order and lost segments, duplicate ACKs, window updates — the
#     cases tshark's TCP analysis names, to check ours against.
veth_up
for ns in wl-a wl-b; do
ip netns exec $ns nft -f - <<'NFT'
table inet loss {
  chain input {
    type filter hook input priority 0;
    tcp dport 9003 numgen random mod 100 < 8 drop
    tcp sport 9003 numgen random mod 100 < 8 drop
  }
}
NFT
done
veth_capture "$tmp/rloss.pcapng"
ip netns exec wl-b python3 -c "
import socket,time
l=socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
l.bind(('10.213.0.2',9003)); l.listen()
for _ in range(2):
    c,_=l.accept(); n=0
    while True:
        b=c.recv(4096)
        if not b: break
        n+=len(b)
        if b.startswith(b'ask'): c.sendall(b'answer %d' % n)
        time.sleep(0.0005)
    c.sendall(b'received %d bytes' % n); c.close()" &
sleep 0.5
ip netns exec wl-a python3 -c "
import socket,time
s=socket.create_connection(('10.213.0.2',9003))
blob=bytes(range(256))*4
for i in range(300):
    s.sendall(blob)
s.shutdown(socket.SHUT_WR); print(s.recv(100).decode()); s.close()
s=socket.create_connection(('10.213.0.2',9003))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for i in range(60):
    s.sendall(b'ask %02d' % i); s.recv(100); time.sleep(0.005)
s.shutdown(socket.SHUT_WR); print(s.recv(100).decode()); s.close()"
sleep 1
stop_capture
editcap -F pcap "$tmp/rloss.pcapng" "$out/tcp-random-loss-veth.pcap"
}

make_ipopts() {
# 7. IPv4 options: UDP datagrams on loopback sent with a Record Route option.
start_capture "$tmp/opts.pcapng" -i lo -f "udp port 9005"
python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
# Record Route (type 7), length 11, pointer 4, two empty slots; then End of List.
s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, bytes([7, 11, 4] + [0] * 8 + [0]))
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(("127.0.0.1", 9005))
for i in range(2):
    s.sendto(b"datagram with IP options %d" % i, ("127.0.0.1", 9005))
    r.recv(100)
PY
stop_capture
editcap -F pcap "$tmp/opts.pcapng" "$out/ip-options.pcap"
}

make_slow() {
# 8. A fast sender and a slow reader with a tiny receive buffer, captured with
#    a 96-byte snap length: window full, window updates, zero windows, and
#    frames cut short by the snap length.
start_capture "$tmp/slow.pcapng" -i lo -s 96 -f "tcp port 9777"
python3 - <<'PY'
import socket, threading, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", 9777)); l.listen()
def serve():
    c, _ = l.accept(); c.sendall(b"x" * 400000); c.close()
threading.Thread(target=serve).start()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", 9777))
while s.recv(2048):
    time.sleep(0.002)
PY
stop_capture
editcap -F pcap "$tmp/slow.pcapng" "$out/slow-reader.pcap"
}

make_websockets() {
# 9. Python's `websockets` (server and client) on loopback, permessage-deflate
#    off and on: text, binary, 16- and 64-bit lengths, fragments, ping/pong, close.
python3 -c "import websockets" 2>/dev/null || pip install -q websockets
for mode in off on; do
  start_capture "$tmp/ws.pcapng" -i lo -f "tcp port 9101"
  python3 scripts/ws-traffic.py 9101 $mode
  stop_capture
  name=websocket-python; [ $mode = on ] && name=websocket-python-deflate
  editcap -F pcap "$tmp/ws.pcapng" "$out/$name.pcap"
done
}

make_socketio() {
# 10. The official socket.io server and socket.io-client from npm: polling then
#     upgrade to WebSocket; polling only; WebSocket only; events, acks, a
#     namespace, binary attachments.
( cd "$tmp" && npm init -y >/dev/null && npm install --silent socket.io@4 socket.io-client@4 >/dev/null )
cp scripts/sio-traffic.js "$tmp/"
start_capture "$tmp/sio.pcapng" -i lo -f "tcp port 9102"
( cd "$tmp" && node sio-traffic.js 9102 )
stop_capture
editcap -F pcap "$tmp/sio.pcapng" "$out/socketio-node.pcap"
}

make_scenarios() {
# 11. wirelab's own demo servers and scripted clients: one capture per
#     scenario (`wirelab scenario --list`), recorded by wirelab itself.
cargo build --release -q
for s in echo-basics echo-deflate chat-rooms chat-missed-events chat-polling-upgrade tcp-vs-udp chat-two-nodes; do
  target/release/wirelab scenario "$s" --write "$out/scenario-$s.pcap" >/dev/null
done
}

make_compare() {
# 12. `wirelab compare`: the same 50 messages over TCP and UDP, with loss in
#     the kernel (nftables, seeded), duplication, reordering and delay in the
#     UDP server.
#     compare-loss.json is its report (`wirelab gui --comparison` shows it),
#     naming the recording relative to itself.
cargo build --release -q
bin="$PWD/target/release/wirelab"
( cd "$out" && "$bin" compare --count 50 --rate 200 --loss 0.1 --duplicate 0.05 --reorder 0.1 --delay 5 --seed 7 \
  --format json --write compare-loss.pcap >compare-loss.json )
}

make_redis() {
# 13. Python's redis-py client and a real redis-server on 127.0.0.1:6379 (the
#     standard port, so tshark's resp dissector reads it): RESP2 with null
#     bulk strings, errors, a pipeline, a 100,000-byte value, pub/sub and a
#     stream with a consumer group; then RESP3 (HELLO 3): maps, sets, doubles,
#     null, booleans, a big number, a verbatim string and pub/sub pushes.
python3 -c "import redis" 2>/dev/null || python3 -m pip install -q --break-system-packages redis
if ss -Hltn 'sport = :6379' | grep -q .; then
  echo "make-captures.sh redis: port 6379 is already in use; stop that server first" >&2; return 1
fi
redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --logfile "$tmp/redis.log" &
local redis=$!
for _ in $(seq 50); do redis-cli -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p 6379 ping >/dev/null || { echo "make-captures.sh redis: redis-server did not start" >&2; return 1; }
for mode in resp2 resp3; do
  redis-cli -p 6379 flushall >/dev/null
  rm -f "$tmp/redis.pcap"
  dumpcap -q -P -i lo -f 'tcp port 6379' -w "$tmp/redis.pcap" >"$tmp/dumpcap.log" 2>&1 &
  cap_pid=$!
  # Ready once the file has its 24-byte pcap header: the filter is set by then.
  for _ in $(seq 100); do [ "$(stat -c %s "$tmp/redis.pcap" 2>/dev/null || echo 0)" -ge 24 ] && break; sleep 0.05; done
  [ "$(stat -c %s "$tmp/redis.pcap" 2>/dev/null || echo 0)" -ge 24 ] || { cat "$tmp/dumpcap.log" >&2; return 1; }
  python3 scripts/redis-traffic.py $mode >/dev/null
  stop_capture
  mv "$tmp/redis.pcap" "$out/redis-py-$mode.pcap"; chmod 644 "$out/redis-py-$mode.pcap"
done
kill $redis; wait $redis || true
}

if [ $# -eq 0 ]; then set -- http ipv6 veth sll two loss randomloss ipopts slow websockets socketio scenarios compare redis; fi
for c in "$@"; do "make_$c"; done
echo "captures written to $out/"
