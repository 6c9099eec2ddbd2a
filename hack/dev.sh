#!/usr/bin/env bash
# dev.sh: what `make dev` and `make dev-down` run.
#
#   hack/dev.sh up     local one-node Kubernetes (hack/local-cluster.sh up; reused when already running),
#                      static binaries, FROM-scratch images imported into containerd, the operator deployed
#                      in-cluster with `kubectl apply -k config/dev`, the sample LotouCluster applied with the
#                      dev lotou-node image, then waits for condition=Ready and shows what runs
#   hack/dev.sh images cluster up, binaries built, images imported; nothing deployed (used by hack/e2e.sh)
#   hack/dev.sh down   hack/local-cluster.sh down (stops everything, undoes every host change)
#
# Logs: $LOTOU_DEV_DIR or .dev/, under logs/ (dev-build.log, dev-deploy.log and one per cluster component).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEV="${LOTOU_DEV_DIR:-$ROOT/.dev}"
LOGS="$DEV/logs"
K8S_BIN="${LOTOU_K8S_BIN_DIR:-$ROOT/bin/k8s}"
BIN="$ROOT/bin"
IMAGES="$DEV/images"
CTRD_SOCK="$DEV/containerd/containerd.sock"
export KUBECONFIG="$DEV/kubeconfig/admin.conf"
export KUBECACHEDIR="$DEV/kube-cache"

MANAGER_IMAGE="${IMG:-lotou-operator:dev}"
NODE_IMAGE="${NODE_IMG:-lotou-node:dev}"
SAMPLE="$ROOT/config/samples/apps_v1alpha1_lotoucluster.yaml"
OVERLAY="$ROOT/config/dev"
READY_TIMEOUT="${LOTOU_DEV_READY_TIMEOUT:-300s}"

T0=$SECONDS
log() { printf '[dev %3ds] %s\n' "$((SECONDS - T0))" "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}
kc() { "$K8S_BIN/kubectl" "$@"; }

cluster_up() {
	if "$ROOT/hack/local-cluster.sh" status >/dev/null 2>&1 && kc get --raw /readyz >/dev/null 2>&1; then
		log "local cluster already running (hack/local-cluster.sh down to stop it)"
		return 0
	fi
	log "bringing up the local cluster (first time: ~10 min of builds; progress below)"
	"$ROOT/hack/local-cluster.sh" up >/dev/null || die "local cluster failed to start (see the message above)"
}

build_binaries() {
	local cmd missing=()
	for cmd in manager lotou-node lotouctl; do
		[[ -d "$ROOT/cmd/$cmd" ]] || missing+=("cmd/$cmd")
	done
	if [[ ${#missing[@]} -gt 0 ]]; then
		die "not written yet: ${missing[*]}; make dev needs the manager, lotou-node and lotouctl commands"
	fi
	for cmd in manager lotou-node lotouctl; do
		log "building bin/$cmd (log: $LOGS/dev-build.log)"
		(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BIN/$cmd" "./cmd/$cmd") \
			>>"$LOGS/dev-build.log" 2>&1 || die "go build ./cmd/$cmd failed; read $LOGS/dev-build.log"
	done
}

build_images() {
	mkdir -p "$IMAGES"
	log "building images $MANAGER_IMAGE and $NODE_IMAGE (FROM scratch, hack/imagetool)"
	"$ROOT/hack/imagetool" -o "$IMAGES/manager.tar" -t "$MANAGER_IMAGE" --entrypoint /manager \
		--add "$BIN/manager:/manager" --user 65532:65532 >>"$LOGS/dev-build.log" 2>&1 ||
		die "manager image failed; read $LOGS/dev-build.log"
	"$ROOT/hack/imagetool" -o "$IMAGES/lotou-node.tar" -t "$NODE_IMAGE" --entrypoint /lotou-node \
		--add "$BIN/lotou-node:/lotou-node" --add "$BIN/lotouctl:/lotouctl" --user 65532:65532 \
		>>"$LOGS/dev-build.log" 2>&1 || die "lotou-node image failed; read $LOGS/dev-build.log"
	local f
	for f in manager lotou-node; do
		ctr --address "$CTRD_SOCK" -n k8s.io images import "$IMAGES/$f.tar" >>"$LOGS/dev-build.log" 2>&1 ||
			die "importing $f image into containerd failed; read $LOGS/dev-build.log"
	done
	log "images imported into containerd (namespace k8s.io)"
}

deploy_operator() {
	[[ -f "$OVERLAY/kustomization.yaml" ]] || die "missing $OVERLAY/kustomization.yaml"
	[[ -f "$ROOT/config/default/kustomization.yaml" ]] ||
		die "config/default/kustomization.yaml not written yet (the operator's manifests); config/dev builds on it"
	log "deploying the operator: kubectl apply -k config/dev (log: $LOGS/dev-deploy.log)"
	local existed
	existed="$(kc kustomize "$OVERLAY" | kc get -f - --ignore-not-found -o name 2>/dev/null | grep -c '^deployment' || true)"
	kc apply -k "$OVERLAY" >>"$LOGS/dev-deploy.log" 2>&1 || die "kubectl apply -k config/dev failed; read $LOGS/dev-deploy.log"
	kc wait --for=condition=Established crd --all --timeout=60s >>"$LOGS/dev-deploy.log" 2>&1 ||
		die "CRDs not established; read $LOGS/dev-deploy.log"
	local d deploys
	deploys="$(kc kustomize "$OVERLAY" | kc get -f - --ignore-not-found \
		-o jsonpath='{range .items[?(@.kind=="Deployment")]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}')"
	[[ -n "$deploys" ]] || die "config/dev has no Deployment; read $LOGS/dev-deploy.log"
	for d in $deploys; do
		# Same tag, new image: restart so that running pods pick up what was just imported.
		if [[ "$existed" != 0 ]]; then
			kc -n "${d%/*}" rollout restart "deployment/${d#*/}" >>"$LOGS/dev-deploy.log" 2>&1 || true
		fi
		kc -n "${d%/*}" rollout status "deployment/${d#*/}" --timeout=120s >>"$LOGS/dev-deploy.log" 2>&1 ||
			die "operator deployment $d not available; run: kubectl -n ${d%/*} logs deployment/${d#*/}"
	done
	log "operator running: $deploys"
}

apply_sample() {
	[[ -f "$SAMPLE" ]] || die "missing $SAMPLE"
	NAME="$(kc create --dry-run=client -f "$SAMPLE" -o jsonpath='{.metadata.name}')"
	NS="$(kc create --dry-run=client -f "$SAMPLE" -o jsonpath='{.metadata.namespace}')"
	NS="${NS:-default}"
	log "applying the sample LotouCluster $NS/$NAME with image $NODE_IMAGE"
	# Swap the node image (spec.image) for the one just built.
	sed -E "s|^(  image:).*|\1 $NODE_IMAGE|" "$SAMPLE" | kc apply -f - >>"$LOGS/dev-deploy.log" 2>&1 ||
		die "applying the sample failed; read $LOGS/dev-deploy.log"
	local img
	img="$(kc -n "$NS" get lc "$NAME" -o jsonpath='{.spec.image}')"
	if [[ "$img" != "$NODE_IMAGE" ]]; then
		kc -n "$NS" patch lc "$NAME" --type=merge -p "{\"spec\":{\"image\":\"$NODE_IMAGE\"}}" >>"$LOGS/dev-deploy.log" 2>&1 ||
			die "setting spec.image failed; read $LOGS/dev-deploy.log"
	fi
	log "waiting for lc/$NAME condition=Ready (timeout $READY_TIMEOUT)"
	kc -n "$NS" wait --for=condition=Ready "lc/$NAME" --timeout="$READY_TIMEOUT" >>"$LOGS/dev-deploy.log" 2>&1 || {
		kc -n "$NS" get lc,sts,pods -o wide >&2 || true
		die "lc/$NAME not Ready; see 'kubectl -n $NS describe lc/$NAME' and the operator's logs"
	}
}

show() {
	log "LotouCluster $NS/$NAME is Ready after $((SECONDS - T0)) s"
	echo
	kc -n "$NS" get lc,sts,pods,svc -o wide
	local master port addr
	master="$(kc -n "$NS" get pods -l "lotou.io/cluster=$NAME,lotou.io/role=master" -o jsonpath='{.items[0].metadata.name}')"
	port="$(kc -n "$NS" get lc "$NAME" -o jsonpath='{.spec.port}')"
	addr="$NAME-master.$NS.svc:${port:-4000}"
	echo
	echo "# the cluster as the master sees it: kubectl exec $master -- lotouctl --master $addr status"
	kc -n "$NS" exec "$master" -- /lotouctl --master "$addr" status || log "lotouctl status failed (is cmd/lotouctl complete?)"
	cat <<EOF

Next, try:
  $("$ROOT/hack/local-cluster.sh" env | tr '\n' ';' | sed 's/;$//; s/;/; /')
  kubectl scale lc/$NAME --replicas=5 && kubectl wait --for=condition=Ready lc/$NAME
  kubectl get lc $NAME -w
  kubectl exec $master -- lotouctl --master $addr status
  kubectl exec $master -- lotouctl --master $addr call echo:$NAME-slaves-0 echo '"hello"'
  kubectl patch lc/$NAME --type=merge -p '{"spec":{"image":"$NODE_IMAGE"}}'   # change the image
  kubectl delete lc/$NAME
  make dev-down
EOF
}

main() {
	case "${1:-up}" in
	up)
		mkdir -p "$LOGS"
		: >"$LOGS/dev-build.log"
		: >"$LOGS/dev-deploy.log"
		build_binaries
		cluster_up
		build_images
		deploy_operator
		apply_sample
		show
		;;
	images)
		# For hack/e2e.sh: cluster up, binaries and images imported, nothing deployed.
		mkdir -p "$LOGS"
		: >"$LOGS/dev-build.log"
		build_binaries
		cluster_up
		build_images
		;;
	down) exec "$ROOT/hack/local-cluster.sh" down ;;
	*)
		sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
		exit 2
		;;
	esac
}

main "$@"
