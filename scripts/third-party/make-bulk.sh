#!/usr/bin/env bash
# The third-party capture of the tcp-reliability lab: a bulk transfer between
# plain Python sockets (bulk-sockets.py) through the path `wirelab scenario
# tcp-bulk` builds, made here with tc and nft themselves: a token bucket on
# loopback for the transfer's port (8 Mbit/s, a 64 KB queue, under an htb
# root that lets the rest of loopback through) and 1% random loss on arrival.
# One unrelated kept-alive HTTP connection and one UDP datagram come first.
# Run as root from the repo root: scripts/third-party/make-bulk.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
here=scripts/third-party
out=captures/third-party
tmp=$(mktemp -d)
cap_pid=""
cleanup() {
  [ -n "$cap_pid" ] && kill -INT "$cap_pid" 2>/dev/null || true
  for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
  tc qdisc del dev lo root 2>/dev/null || true
  nft delete table inet bulk_loss 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
PORT=9480
if tc qdisc show dev lo root | grep -qv noqueue; then
  echo "loopback already has a queueing discipline: $(tc qdisc show dev lo root)" >&2; exit 1
fi
tc qdisc add dev lo root handle 1: htb
tc class add dev lo parent 1: classid 1:10 htb rate 10gbit
tc qdisc add dev lo parent 1:10 handle 10: tbf rate 8mbit burst 1600 limit 64kb
tc filter add dev lo parent 1: protocol ip prio 1 u32 match ip dport $PORT 0xffff flowid 1:10
nft -f - <<NFT
table inet bulk_loss {
  chain input {
    type filter hook input priority 0;
    iifname "lo" tcp dport $PORT numgen random mod 100 < 1 drop
    iifname "lo" tcp sport $PORT numgen random mod 100 < 1 drop
  }
}
NFT
dumpcap -q -i lo -f "(tcp or udp) and portrange 9480-9489" -w "$tmp/bulk.pcapng" >"$tmp/dumpcap.log" 2>&1 &
cap_pid=$!
for _ in $(seq 100); do grep -q "Capturing on" "$tmp/dumpcap.log" && break; sleep 0.1; done
sleep 0.3
mkfifo "$tmp/go"
python3 $here/unrelated.py 9481 9482 <"$tmp/go" >"$tmp/unrelated.log" &
unrel_pid=$!
exec 3>"$tmp/go"
for _ in $(seq 100); do grep -q ready "$tmp/unrelated.log" && break; sleep 0.1; done
python3 $here/bulk-sockets.py $PORT
echo >&3; exec 3>&-
wait "$unrel_pid" || true
sleep 0.3
kill -INT "$cap_pid"; wait "$cap_pid" || true; cap_pid=""
editcap -F pcap "$tmp/bulk.pcapng" "$out/bulk-python-sockets.pcap"
echo "$out/bulk-python-sockets.pcap: $(capinfos -c -M "$out/bulk-python-sockets.pcap" | awk '/Number of packets/ {print $NF}') frames"
python3 $here/answers-bulk.py
