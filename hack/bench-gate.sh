#!/usr/bin/env bash
# The gate under 10,000 clients on one node, TCP and WebSocket, side by side with a
# raw TCP echo server and a minimal coder/websocket echo server (bench/gate/echo) at
# the same concurrency: idle RSS per connection, 1 msg/s per client, saturation; the
# load average before and after each part. Output: bin/bench/gate.txt and the terminal.
# Usage: hack/bench-gate.sh [clients] [duration]   (default 10000 20s)
set -euo pipefail
cd "$(dirname "$0")/.."
clients="${1:-10000}"
duration="${2:-20s}"
out=bin/bench
mkdir -p "$out" bin/bench-gate
# Each process (the node, the load generator) holds one descriptor per client: raise
# RLIMIT_NOFILE (the hard limit too when root may).
want=$((clients * 2 + 1000))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$want" ]; then ulimit -Hn "$want" 2>/dev/null || true; fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((clients + 1000)) ]; then
  echo "hack/bench-gate.sh: RLIMIT_NOFILE $(ulimit -n) is too low for $clients clients" >&2
  exit 1
fi
go build -trimpath -o bin/bench-gate/ ./cmd/lotou-node ./cmd/lotouctl
(cd bench && go build -trimpath -o ../bin/bench-gate/echo ./gate/echo)
b=bin/bench-gate

# A fresh node per measure, so that each starts from a clean heap. Nodes and echo servers run
# inside the measured block's subshell, which stops them before it ends.
node_pid=
stop_node() {
  if [ -n "$node_pid" ]; then kill "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true; fi
  node_pid=
}
start_node() {
  stop_node
  "$b/lotou-node" --name bench --http 127.0.0.1:7180 --gate 127.0.0.1:7100 --gate-auth name \
    --log-level error --drain-timeout 1s >>"$b/node.log" 2>&1 &
  node_pid=$!
  for _ in $(seq 100); do curl -fs http://127.0.0.1:7180/readyz >/dev/null && return; sleep 0.1; done
}
# A fresh echo server per measure too (RSS from a clean heap); --pid reads its RSS from /proc.
echo_pid=
stop_echo() {
  if [ -n "$echo_pid" ]; then kill "$echo_pid" 2>/dev/null || true; wait "$echo_pid" 2>/dev/null || true; fi
  echo_pid=
}
start_echo() {
  stop_echo
  "$b/echo" --tcp 127.0.0.1:7101 --ws 127.0.0.1:7102 >/dev/null &
  echo_pid=$!
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/7102) 2>/dev/null && return; sleep 0.1; done
}

load() { "$b/lotouctl" loadtest --mode echo --clients "$clients" --duration "$duration" --ramp 2500 "$@"; }
loadavg() { echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"; }
{
  trap 'stop_node; stop_echo' EXIT
  echo "# hack/bench-gate.sh $clients $duration — $(date -u +%FT%TZ), $(nproc) cores, $(go version | cut -d' ' -f3)"
  loadavg
  echo "#### Idle: $clients clients connected, silent (RSS per idle connection); a fresh server each"
  for t in tcp ws; do
    ws=(); [ "$t" = ws ] && ws=(--ws)
    port=7101; [ "$t" = ws ] && port=7102
    start_node
    echo "== lotou gate ($t): $clients idle clients"
    load --gate 127.0.0.1:7100 --metrics 127.0.0.1:7180 --rate 0 --duration 5s "${ws[@]}"
    stop_node
    start_echo
    echo "== echo server ($t): $clients idle clients"
    load --gate "127.0.0.1:$port" --pid "$echo_pid" --rate 0 --duration 5s "${ws[@]}"
    stop_echo
  done
  loadavg
  echo "#### $clients clients at 1 msg/s (percentiles leave out the first 5s: each agent's first message)"
  for t in tcp ws; do
    ws=(); [ "$t" = ws ] && ws=(--ws)
    port=7101; [ "$t" = ws ] && port=7102
    start_node
    echo "== lotou gate ($t): $clients clients at 1 msg/s"
    load --gate 127.0.0.1:7100 --metrics 127.0.0.1:7180 --rate 1 --warmup 5s "${ws[@]}"
    stop_node
    start_echo
    echo "== echo server ($t): $clients clients at 1 msg/s"
    load --gate "127.0.0.1:$port" --pid "$echo_pid" --rate 1 --warmup 5s "${ws[@]}"
    stop_echo
    loadavg
  done
  echo "#### Saturation: 2000 clients, each calling again as soon as it has its answer (--unthrottled; the gate's 50 msg/s per client caps it at 100,000 msg/s)"
  for t in tcp ws; do
    ws=(); [ "$t" = ws ] && ws=(--ws)
    port=7101; [ "$t" = ws ] && port=7102
    start_node
    echo "== lotou gate ($t): saturation"
    "$b/lotouctl" loadtest --mode echo --clients 2000 --ramp 2500 --unthrottled --duration 10s --gate 127.0.0.1:7100 "${ws[@]}"
    stop_node
    start_echo
    echo "== echo server ($t): saturation"
    "$b/lotouctl" loadtest --mode echo --clients 2000 --ramp 2500 --unthrottled --duration 10s --gate "127.0.0.1:$port" "${ws[@]}"
    stop_echo
    loadavg
  done
} 2>&1 | tee "$out/gate.txt"
echo "Results in $out/gate.txt. Copy the figures with this command line into docs/benchmarks.md."
