#!/usr/bin/env bash
# The gate under 10,000 clients on one node, TCP and WebSocket, side by side with a
# raw TCP echo server and a minimal coder/websocket echo server (bench/gate/echo) at
# the same concurrency. Output: bin/bench/gate.txt and the terminal.
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
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# A fresh node per transport, so that each idle measure starts from a clean heap. It runs
# inside the measured block's subshell, which stops it (stop_node) before it ends.
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
"$b/echo" --tcp 127.0.0.1:7101 --ws 127.0.0.1:7102 >/dev/null &
echo_pid=$!
pids+=("$echo_pid")

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
load() { "$b/lotouctl" loadtest --mode echo --clients "$clients" --duration "$duration" --ramp 2500 "$@"; }
{
  echo "# hack/bench-gate.sh $clients $duration — $(date -u +%FT%TZ), $(nproc) cores, $(go version | cut -d' ' -f3)"
  for t in tcp ws; do
    ws=(); [ "$t" = ws ] && ws=(--ws)
    start_node
    echo "== lotou gate ($t): $clients idle clients (RSS per idle connection)"
    load --gate 127.0.0.1:7100 --metrics 127.0.0.1:7180 --rate 0 --duration 5s "${ws[@]}"
    echo "== lotou gate ($t): $clients clients at 1 msg/s"
    load --gate 127.0.0.1:7100 --metrics 127.0.0.1:7180 --rate 1 "${ws[@]}"
    port=7101; [ "$t" = ws ] && port=7102
    before=$(rss_kib "$echo_pid")
    echo "== echo server ($t): $clients clients at 1 msg/s (RSS before: ${before} KiB)"
    load --gate "127.0.0.1:$port" --rate 1 "${ws[@]}"
    echo "echo server RSS: ${before} KiB before, $(rss_kib "$echo_pid") KiB after"
    echo "== saturation ($t): 1000 clients at 40 msg/s, lotou gate then echo server"
    "$b/lotouctl" loadtest --mode echo --clients 1000 --rate 40 --duration 10s --gate 127.0.0.1:7100 "${ws[@]}"
    "$b/lotouctl" loadtest --mode echo --clients 1000 --rate 40 --duration 10s --gate "127.0.0.1:$port" "${ws[@]}"
  done
  stop_node
} 2>&1 | tee "$out/gate.txt"
echo "Results in $out/gate.txt. Copy the figures with this command line into docs/benchmarks.md."
