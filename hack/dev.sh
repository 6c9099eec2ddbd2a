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
# Images are tagged twice: $IMG / $NODE_IMG (lotou-operator:dev, lotou-node:dev) and a content tag
# <tag>-<12 hex of the image digest> (hack/imagetool --content-tag). The operator is deployed from a generated
# overlay ($LOTOU_DEV_DIR/overlay, on top of config/dev) and the sample gets spec.image set to the content tags, so
# a second `make dev` after a code change rolls the operator and the lotou-node pods; unchanged code, no roll.
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
CHAT_IMAGE="${CHAT_IMG:-lotou-chat:dev}"
SAMPLE="$ROOT/config/samples/apps_v1alpha1_lotoucluster.yaml"
BASE_OVERLAY="$ROOT/config/dev"
OVERLAY="$DEV/overlay"
READY_TIMEOUT="${LOTOU_DEV_READY_TIMEOUT:-300s}"

# shellcheck source=hack/lib/progress.sh
source "$ROOT/hack/lib/progress.sh"
progress_init

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
	log "bringing up the local cluster (first time on a new machine: Kubernetes builds, see README for times)"
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
	# The sample game, built the way a game team builds theirs: its own main on runtime/node.
	log "building bin/chat (examples/chat)"
	(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BIN/chat" ./examples/chat) \
		>>"$LOGS/dev-build.log" 2>&1 || die "go build ./examples/chat failed; read $LOGS/dev-build.log"
}

# image NAME TAG ARGS... builds $IMAGES/NAME.tar tagged TAG and TAG-<content hash>; prints the content tag.
image() {
	local name=$1 tag=$2
	shift 2
	"$ROOT/hack/imagetool" -o "$IMAGES/$name.tar" -t "$tag" --content-tag "$@" 2>>"$LOGS/dev-build.log" ||
		die "$name image failed; read $LOGS/dev-build.log"
}

build_images() {
	mkdir -p "$IMAGES"
	log "building images $MANAGER_IMAGE and $NODE_IMAGE (FROM scratch, hack/imagetool)"
	MANAGER_IMAGE_CT="$(image manager "$MANAGER_IMAGE" --entrypoint /manager \
		--add "$BIN/manager:/manager" --user 65532:65532)" || exit 1
	NODE_IMAGE_CT="$(image lotou-node "$NODE_IMAGE" --entrypoint /lotou-node \
		--add "$BIN/lotou-node:/lotou-node" --add "$BIN/lotouctl:/lotouctl" --user 65532:65532)" || exit 1
	CHAT_IMAGE_CT="$(image chat "$CHAT_IMAGE" --entrypoint /chat \
		--add "$BIN/chat:/chat" --add "$BIN/lotouctl:/lotouctl" --user 65532:65532)" || exit 1
	local f
	for f in manager lotou-node chat; do
		ctr --address "$CTRD_SOCK" -n k8s.io images import "$IMAGES/$f.tar" >>"$LOGS/dev-build.log" 2>&1 ||
			die "importing $f image into containerd failed; read $LOGS/dev-build.log"
	done
	# The same node build under a second name, so docs/quickstart.md can show a rolling image change without a second
	# build: a different image reference is a new pod template.
	ctr --address "$CTRD_SOCK" -n k8s.io images tag --force "docker.io/library/$NODE_IMAGE" "docker.io/library/${NODE_IMAGE%:*}:canary" \
		>>"$LOGS/dev-build.log" 2>&1 || die "tagging ${NODE_IMAGE%:*}:canary failed; read $LOGS/dev-build.log"
	log "images imported into containerd (namespace k8s.io): $MANAGER_IMAGE_CT, $NODE_IMAGE_CT (also ${NODE_IMAGE%:*}:canary), $CHAT_IMAGE_CT"
}

# write_overlay makes $OVERLAY: config/dev with the manager image swapped for its content tag.
write_overlay() {
	[[ -f "$BASE_OVERLAY/kustomization.yaml" ]] || die "missing $BASE_OVERLAY/kustomization.yaml"
	mkdir -p "$OVERLAY"
	cat >"$OVERLAY/kustomization.yaml" <<EOF
# Generated by hack/dev.sh: config/dev with the manager image pinned to its content tag.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- $(realpath --relative-to="$OVERLAY" "$BASE_OVERLAY")
images:
- name: lotou-operator  # what config/dev names the manager image
  newName: ${MANAGER_IMAGE_CT%:*}
  newTag: ${MANAGER_IMAGE_CT##*:}
EOF
}

deploy_operator() {
	write_overlay
	[[ -f "$ROOT/config/default/kustomization.yaml" ]] ||
		die "config/default/kustomization.yaml not written yet (the operator's manifests); config/dev builds on it"
	log "deploying the operator ($MANAGER_IMAGE_CT): kubectl apply -k $OVERLAY (log: $LOGS/dev-deploy.log)"
	kc apply -k "$OVERLAY" >>"$LOGS/dev-deploy.log" 2>&1 || die "kubectl apply -k $OVERLAY failed; read $LOGS/dev-deploy.log"
	kc wait --for=condition=Established crd --all --timeout=60s >>"$LOGS/dev-deploy.log" 2>&1 ||
		die "CRDs not established; read $LOGS/dev-deploy.log"
	local d deploys
	deploys="$(kc kustomize "$OVERLAY" | kc get -f - --ignore-not-found \
		-o jsonpath='{range .items[?(@.kind=="Deployment")]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}')"
	[[ -n "$deploys" ]] || die "config/dev has no Deployment; read $LOGS/dev-deploy.log"
	for d in $deploys; do
		# A changed manager binary means a new content tag, hence a rollout; this waits for it.
		kc -n "${d%/*}" rollout status "deployment/${d#*/}" --timeout=120s >>"$LOGS/dev-deploy.log" 2>&1 ||
			die "operator deployment $d not available; run: kubectl -n ${d%/*} logs deployment/${d#*/}"
	done
	log "operator running: $deploys"
}

# wait_ready waits until lc/$NAME is Ready for its current generation: after a spec change (a new image) the
# old Ready=True stays until the operator has seen the change, so `kubectl wait` alone could return at once.
wait_ready() {
	local deadline=$((SECONDS + ${READY_TIMEOUT%s})) gen obs ready
	while :; do
		read -r gen obs ready < <(kc -n "$NS" get lc "$NAME" -o \
			jsonpath='{.metadata.generation} {.status.observedGeneration} {.status.conditions[?(@.type=="Ready")].status}{"\n"}' 2>/dev/null ||
			echo "- - -")
		[[ "$gen" == "$obs" && "$ready" == True ]] && { progress_clear; return 0; }
		((SECONDS < deadline)) || { progress_clear; return 1; }
		progress_line "waiting for lc/$NAME: $(kc -n "$NS" get lc "$NAME" --no-headers 2>/dev/null | tr -s ' ' || echo '…') · $(progress_fmt_secs $((SECONDS - T0)))"
		sleep 1
	done
}

apply_sample() {
	[[ -f "$SAMPLE" ]] || die "missing $SAMPLE"
	NAME="$(kc create --dry-run=client -f "$SAMPLE" -o jsonpath='{.metadata.name}')"
	NS="$(kc create --dry-run=client -f "$SAMPLE" -o jsonpath='{.metadata.namespace}')"
	NS="${NS:-default}"
	log "applying the sample LotouCluster $NS/$NAME with image $NODE_IMAGE_CT"
	# Swap the node image (spec.image) for the content tag just built: a new tag rolls the pods.
	sed -E "s|^(  image:).*|\1 $NODE_IMAGE_CT|" "$SAMPLE" | kc apply -f - >>"$LOGS/dev-deploy.log" 2>&1 ||
		die "applying the sample failed; read $LOGS/dev-deploy.log"
	local img
	img="$(kc -n "$NS" get lc "$NAME" -o jsonpath='{.spec.image}')"
	if [[ "$img" != "$NODE_IMAGE_CT" ]]; then
		kc -n "$NS" patch lc "$NAME" --type=merge -p "{\"spec\":{\"image\":\"$NODE_IMAGE_CT\"}}" >>"$LOGS/dev-deploy.log" 2>&1 ||
			die "setting spec.image failed; read $LOGS/dev-deploy.log"
	fi
	log "waiting for lc/$NAME condition=Ready (timeout $READY_TIMEOUT)"
	wait_ready || {
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
  kubectl exec $master -- /lotouctl --master $addr status
  kubectl exec $master -- /lotouctl --master $addr call echo:$NAME-slaves-0 echo '"hello"'
  kubectl patch lc/$NAME --type=merge -p '{"spec":{"image":"${NODE_IMAGE%:*}:canary"}}'   # change the image (rolls the pods)
  docs/quickstart.md: the first five minutes, step by step
  kubectl delete lc/$NAME
  sed 's|lotou-chat:dev|$CHAT_IMAGE_CT|' config/samples/chat.yaml | kubectl apply -f -   # the chat game, /play on chat-gate
  make dev-down
EOF
}

# step NAME N FUNC runs one timed step of the STEPS in the summary.
STEPS=5
step() {
	local name=$1 n=$2
	shift 2
	progress_step_begin "$name" "$n/$STEPS"
	"$@"
	progress_step_end ok
}

main() {
	[[ "${1:-up}" == images ]] && STEPS=3
	case "${1:-up}" in
	up)
		mkdir -p "$LOGS"
		: >"$LOGS/dev-build.log"
		: >"$LOGS/dev-deploy.log"
		step "build lotou binaries" 1 build_binaries
		step "local Kubernetes up" 2 cluster_up
		step "images into containerd" 3 build_images
		step "deploy the operator" 4 deploy_operator
		step "sample LotouCluster to Ready" 5 apply_sample
		show
		progress_summary "make dev"
		;;
	images)
		# For hack/e2e.sh: cluster up, binaries and images imported, nothing deployed.
		mkdir -p "$LOGS"
		: >"$LOGS/dev-build.log"
		step "build lotou binaries" 1 build_binaries
		step "local Kubernetes up" 2 cluster_up
		step "images into containerd" 3 build_images
		progress_summary "cluster and images"
		;;
	down) exec "$ROOT/hack/local-cluster.sh" down ;;
	*)
		sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
		exit 2
		;;
	esac
}

main "$@"
