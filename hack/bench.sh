#!/usr/bin/env bash
# Runs the side-by-side benchmarks (Lotou vs protoactor-go, encoding/gob, msgpack, raw TCP)
# and the operator's envtest benchmark. Output: bin/bench/<name>.txt and the terminal, plus CPU and allocation
# profiles of the headline benchmarks (bin/bench/<name>.cpu.pprof, .mem.pprof, .top.txt).
# Usage: hack/bench.sh [benchtime]   (default 1s)
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime="${1:-1s}"
out=bin/bench
mkdir -p "$out"
echo "== bench module (benchtime $benchtime, count 3)"
(cd bench && go test -run '^$' -bench . -benchmem -benchtime "$benchtime" -count 3 ./...) | tee "$out/peers.txt"
echo "== CPU and allocation profiles of the headline benchmarks (issue 15 item 4)"
# name  package  benchmark: each writes <name>.cpu.pprof, <name>.mem.pprof (alloc_space) and <name>.top.txt
# (the top entries of both, for docs/benchmarks.md).
while read -r name pkg re; do
	# Two runs: the allocation profile's stack walks would show up in the CPU profile.
	(cd bench && go test -run '^$' -bench "$re" -benchtime "$benchtime" -count 1 \
		-cpuprofile "../$out/$name.cpu.pprof" -o "../$out/$pkg.test" "./$pkg" &&
		go test -run '^$' -bench "$re" -benchtime "$benchtime" -count 1 \
			-memprofile "../$out/$name.mem.pprof" -o "../$out/$pkg.test" "./$pkg") >/dev/null
	{
		echo "== $name: CPU (flat)"
		go tool pprof -top -nodecount=12 "$out/$pkg.test" "$out/$name.cpu.pprof" 2>/dev/null | sed -n '/flat%/,$p'
		echo "== $name: allocated bytes (flat)"
		go tool pprof -top -nodecount=8 -sample_index=alloc_space "$out/$pkg.test" "$out/$name.mem.pprof" 2>/dev/null | sed -n '/flat%/,$p'
	} >"$out/$name.top.txt"
	echo "$out/$name.top.txt"
done <<'PROFILES'
local-send core ^BenchmarkLocalSend$
local-send-int core ^BenchmarkLocalSendInt$
local-call core ^BenchmarkLocalCall$
remote-call cluster ^BenchmarkRemoteCall$
remote-send cluster ^BenchmarkRemoteSend$
remote-send-args cluster ^BenchmarkRemoteSendArgs$
codec-args-decode codec ^BenchmarkArgs_LotouGob_Decode$
PROFILES
assets=$(hack/setup-envtest.sh | tail -n 1)
echo "== operator: LotouClusters created per second on envtest"
KUBEBUILDER_ASSETS="$assets" go test ./controllers/... -run '^$' -bench BenchmarkCreateClusters -benchtime 1x -timeout 20m | tee "$out/operator.txt"
echo "Results in $out/. Copy the figures with this command line into docs/benchmarks.md."
