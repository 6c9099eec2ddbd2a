#!/usr/bin/env bash
# hack/backend-images.sh builds the FROM-scratch images of the optional backends' servers used by
# config/samples/backends: lotou-etcd:dev (the etcd that hack/setup-envtest.sh builds from the module proxy) and
# lotou-nats:dev (nats-server, built from the version pinned in go.mod), as docker-save tarballs in bin/images.
# With LOTOU_CONTAINERD_SOCK set it also imports them into containerd (namespace k8s.io), as hack/dev.sh does.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/bin"
IMAGES="${LOTOU_IMAGES_DIR:-$BIN/images}"
mkdir -p "$IMAGES"

"$ROOT/hack/setup-envtest.sh" etcd >&2
(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BIN/nats-server" github.com/nats-io/nats-server/v2)

"$ROOT/hack/imagetool" -o "$IMAGES/lotou-etcd.tar" -t lotou-etcd:dev --entrypoint /etcd \
	--add "${LOTOU_K8S_BIN_DIR:-$BIN/k8s}/etcd:/etcd" --user 65532:65532
"$ROOT/hack/imagetool" -o "$IMAGES/lotou-nats.tar" -t lotou-nats:dev --entrypoint /nats-server \
	--add "$BIN/nats-server:/nats-server" --user 65532:65532

if [[ -n "${LOTOU_CONTAINERD_SOCK:-}" ]]; then
	for f in lotou-etcd lotou-nats; do
		ctr --address "$LOTOU_CONTAINERD_SOCK" -n k8s.io images import "$IMAGES/$f.tar" >&2
	done
fi
echo "$IMAGES/lotou-etcd.tar $IMAGES/lotou-nats.tar"
