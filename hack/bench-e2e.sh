#!/usr/bin/env bash
# bench-e2e.sh: issue 7's end-to-end benchmarks (test/e2e/bench_test.go) on this machine. Needs root.
#
#   hack/bench-e2e.sh [real|kwok|all]   (default all)
#
#   real: hack/dev.sh images (one-node cluster with real pods, binaries, images), then
#         BenchmarkApplyToReady10Slaves: kubectl apply of a LotouCluster with 10 slaves until Ready with all 11
#         nodes registered (operator in-cluster from config/dev); $LOTOU_BENCH_REAL_N runs (default 3)
#   kwok: hack/local-cluster.sh up --kwok (control plane + kwok simulated nodes, no containers), then
#         BenchmarkKwok1000Slaves: 20 LotouClusters x 50 slaves until all Ready, operator out of cluster with
#         --read-membership=false (Ready = pods ready, no registration)
#
# Each phase brings its cluster up and always down again (also on failure or Ctrl-C), then the figures are
# printed with the command that produced them. Log: $LOTOU_DEV_DIR/bench-e2e.log or .dev/bench-e2e.log (the
# cluster components' logs under logs/).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEV="${LOTOU_DEV_DIR:-$ROOT/.dev}"
K8S_BIN="${LOTOU_K8S_BIN_DIR:-$ROOT/bin/k8s}"
LOGS="$DEV/logs"
WHAT="${1:-all}"
REAL_N="${LOTOU_BENCH_REAL_N:-3}"

T0=$SECONDS
log() { printf '[bench-e2e %3ds] %s\n' "$((SECONDS - T0))" "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

[[ $EUID -eq 0 ]] || die "needs root (containerd, kubelet, a bridge and nftables on this machine); run as root"
case "$WHAT" in real | kwok | all) ;; *)
	sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
mkdir -p "$LOGS"
RESULTS="$(mktemp)"

cluster_down() {
	"$ROOT/hack/local-cluster.sh" down >>"$DEV/bench-e2e.log" 2>&1 || log "local-cluster.sh down failed; read $DEV/bench-e2e.log"
}

finish() {
	local rc=$?
	if [[ -f "$DEV/run/kube-apiserver.pid" ]]; then
		log "tearing the cluster down"
		cluster_down
	fi
	if [[ -s "$RESULTS" ]]; then
		echo
		echo "# figures (go test output; s/ready, s/all-ready are the benchmark metrics)"
		cat "$RESULTS"
	fi
	rm -f "$RESULTS"
	exit $rc
}
trap finish EXIT

# bench NAME BENCHTIME: runs one benchmark of test/e2e against the running cluster, records its result lines.
bench() {
	local name=$1 benchtime=$2 out
	local cmd=(go test ./test/e2e/ -run '^$' -bench "^$name\$" -benchtime "$benchtime" -count 1 -timeout 30m -v)
	log "running: ${cmd[*]} (log: $DEV/bench-e2e.log)"
	out="$(cd "$ROOT" && LOTOU_E2E=1 KUBECONFIG="$DEV/kubeconfig/admin.conf" KUBECACHEDIR="$DEV/kube-cache" \
		LOTOU_KUBECTL="$K8S_BIN/kubectl" LOTOU_NODE_IMAGE="${NODE_IMG:-lotou-node:dev}" \
		LOTOU_MANAGER_BIN="$ROOT/bin/manager" "${cmd[@]}" 2>&1)" || {
		echo "$out" >>"$DEV/bench-e2e.log"
		echo "$out" | tail -40 >&2
		die "$name failed (full output in $DEV/bench-e2e.log)"
	}
	echo "$out" >>"$DEV/bench-e2e.log"
	echo "$out" | grep -E "SKIP|skipped" >&2 && die "$name was skipped"
	{
		echo "\$ ${cmd[*]}    # $(date -u +%FT%TZ), $(nproc) cores"
		echo "$out" | grep -E "^(Benchmark|goos|goarch|cpu)|bench_test.go" | sed 's/^/  /'
	} >>"$RESULTS"
}

: >"$DEV/bench-e2e.log"
if [[ $WHAT == real || $WHAT == all ]]; then
	log "real pods: cluster up, binaries and images (hack/dev.sh images)"
	"$ROOT/hack/dev.sh" images
	bench BenchmarkApplyToReady10Slaves "${REAL_N}x"
	log "tearing the real cluster down"
	cluster_down
fi
if [[ $WHAT == kwok || $WHAT == all ]]; then
	log "building bin/manager"
	(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -o bin/manager ./cmd/manager) >>"$DEV/bench-e2e.log" 2>&1 ||
		die "go build ./cmd/manager failed; read $DEV/bench-e2e.log"
	log "kwok: control plane and ${LOTOU_KWOK_NODES:-3} simulated nodes (hack/local-cluster.sh up --kwok)"
	"$ROOT/hack/local-cluster.sh" up --kwok >>"$DEV/bench-e2e.log" || die "kwok cluster failed; read $DEV/bench-e2e.log"
	bench BenchmarkKwok1000Slaves 1x
	log "tearing the kwok cluster down"
	cluster_down
fi
log "done in $((SECONDS - T0)) s"
