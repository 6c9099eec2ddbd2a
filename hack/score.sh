#!/usr/bin/env bash
# Runs kube-score (bin/kube-score, `make kube-score`) on what we ship:
#   1. the manager manifests, rendered with `kubectl kustomize config/default`;
#   2. the children the operator creates for config/score/lotoucluster.yaml, rendered by the
#      pure builders (go run ./hack/children), so no cluster is needed.
# Checks listed in config/score/skipped-checks.txt are skipped, CPU limits are not required
# (see the file). Fails on any CRITICAL.
set -euo pipefail
cd "$(dirname "$0")/.."
KUBE_SCORE=${KUBE_SCORE:-bin/kube-score}
KUBECTL=${KUBECTL:-bin/k8s/kubectl}
[[ -x $KUBECTL ]] || KUBECTL=$(command -v kubectl)
K8S_VERSION=${K8S_VERSION:-v1.33}

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$KUBECTL" kustomize config/default >"$out/manager.yaml"
go run ./hack/children config/score/lotoucluster.yaml >"$out/children.yaml"

args=(score --kubernetes-version "$K8S_VERSION" --output-format ci
	# Game nodes are latency-sensitive: a CPU limit throttles them under load (CFS quota), so
	# the docs size them with requests and a memory limit only; the manager has a CPU limit.
	--ignore-container-cpu-limit)
while read -r check _; do
	[[ -z $check || $check == \#* ]] && continue
	args+=(--ignore-test "$check")
done <config/score/skipped-checks.txt

status=0
for f in manager children; do
	echo "== kube-score: $f"
	if ! "$KUBE_SCORE" "${args[@]}" "$out/$f.yaml" >"$out/$f.txt"; then
		status=1
	fi
	grep -v -e '\[OK\]' -e '\[SKIPPED\]' "$out/$f.txt" || echo "all checks OK"
done
exit $status
