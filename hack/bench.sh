#!/usr/bin/env bash
# Runs the side-by-side benchmarks (Lotou vs protoactor-go, encoding/gob, msgpack, raw TCP)
# and the operator's envtest benchmark. Output: bin/bench/<name>.txt and the terminal.
# Usage: hack/bench.sh [benchtime]   (default 1s)
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime="${1:-1s}"
out=bin/bench
mkdir -p "$out"
echo "== bench module (benchtime $benchtime, count 3)"
(cd bench && go test -run '^$' -bench . -benchmem -benchtime "$benchtime" -count 3 ./...) | tee "$out/peers.txt"
assets=$(hack/setup-envtest.sh | tail -n 1)
echo "== operator: LotouClusters created per second on envtest"
KUBEBUILDER_ASSETS="$assets" go test ./controllers/... -run '^$' -bench BenchmarkCreateClusters -benchtime 1x -timeout 20m | tee "$out/operator.txt"
echo "Results in $out/. Copy the figures with this command line into docs/benchmarks.md."
