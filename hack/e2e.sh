#!/usr/bin/env bash
# e2e.sh: what `make test-e2e` runs. Brings the local one-node Kubernetes up (hack/dev.sh images: cluster,
# static binaries, FROM-scratch images imported), runs the end-to-end suite in test/e2e against it with
# LOTOU_E2E=1, and always brings the cluster down again, even when a test fails. Needs root.
# Extra `go test` flags may be passed as arguments, e.g. hack/e2e.sh -run TestScale.
# LOTOU_E2E_KEEP=1 leaves the cluster running afterwards (for debugging; `make dev-down` stops it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEV="${LOTOU_DEV_DIR:-$ROOT/.dev}"

if [[ $EUID -ne 0 ]]; then
	echo "e2e: needs root (containerd, kubelet, a bridge and nftables on this machine); run as root" >&2
	exit 1
fi
if [[ ! -d "$ROOT/test/e2e" ]]; then
	echo "e2e: no test/e2e suite yet" >&2
	exit 1
fi

teardown() {
	local rc=$?
	if [[ "${LOTOU_E2E_KEEP:-}" == 1 ]]; then
		echo "e2e: LOTOU_E2E_KEEP=1, cluster left running; stop it with: make dev-down" >&2
	else
		"$ROOT/hack/local-cluster.sh" down || rc=1
	fi
	exit $rc
}
trap teardown EXIT

"$ROOT/hack/dev.sh" images
cd "$ROOT"
LOTOU_E2E=1 KUBECONFIG="$DEV/kubeconfig/admin.conf" KUBECACHEDIR="$DEV/kube-cache" \
	LOTOU_CONTAINERD_SOCK="$DEV/containerd/containerd.sock" LOTOU_NODE_IMAGE="${NODE_IMG:-lotou-node:dev}" \
	LOTOU_KUBECTL="${LOTOU_K8S_BIN_DIR:-$ROOT/bin/k8s}/kubectl" \
	go test ./test/e2e/... -count=1 -v -timeout 45m "$@"
