#!/usr/bin/env bash
# local-cluster.sh: a one-node Kubernetes on this machine, assembled from upstream parts built from the Go module
# proxy (hack/setup-envtest.sh --all) and Debian's containerd, runc and CNI plugins. Pods run for real, from
# FROM-scratch images made by hack/imagetool. Needs root. No packet leaves the machine: the API server binds the
# pod bridge's gateway address only, pods and services live on that bridge, no masquerading.
#
#   hack/local-cluster.sh up [--kwok]   start (cleans leftovers of a crashed run first); --kwok: control plane +
#                                      kwok simulated nodes ($LOTOU_KWOK_NODES, default 3), no containers
#   hack/local-cluster.sh up-kwok       same as up --kwok
#   hack/local-cluster.sh down          stop everything in reverse order and undo every host change
#   hack/local-cluster.sh status        components, node and pods
#   hack/local-cluster.sh env           prints the export lines (KUBECONFIG, PATH with kubectl)
#
# Work dir: $LOTOU_DEV_DIR or .dev/ (git-ignored): pki/, kubeconfig/, logs/<component>.log, run/<component>.pid.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEV="${LOTOU_DEV_DIR:-$ROOT/.dev}"
mkdir -p "$DEV"
DEV="$(cd "$DEV" && pwd)"
K8S_BIN="${LOTOU_K8S_BIN_DIR:-$ROOT/bin/k8s}"
PKI="$DEV/pki"
KCFG="$DEV/kubeconfig"
LOGS="$DEV/logs"
RUN="$DEV/run"
HOSTSTATE="$DEV/host"
IMAGES="$DEV/images"
export KUBECACHEDIR="$DEV/kube-cache"

NODE_NAME="${LOTOU_NODE_NAME:-lotou-dev}"
BRIDGE=lotou0
POD_CIDR=10.244.0.0/24
BRIDGE_CIDR=10.244.0.1/24
API_IP=10.244.0.1
SVC_CIDR=10.96.0.0/16
SVC_API_IP=10.96.0.1
DNS_IP=10.96.0.10
ETCD_PORT=12379
API_PORT=6443
API_URL="https://$API_IP:$API_PORT"
CTRD_SOCK="$DEV/containerd/containerd.sock"
PAUSE_IMAGE=docker.io/library/lotou-pause:dev
COREDNS_IMAGE=docker.io/library/lotou-coredns:dev
PROBE_IMAGE=docker.io/library/lotou-probe:dev
APT_PACKAGES=(containerd runc containernetworking-plugins iptables nftables conntrack openssl)

# Components in start order; down stops them in reverse.
ORDER=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy kwok)

# shellcheck source=hack/lib/certs.sh
source "$ROOT/hack/lib/certs.sh"
# shellcheck source=hack/lib/host.sh
source "$ROOT/hack/lib/host.sh"
# shellcheck source=hack/lib/components.sh
source "$ROOT/hack/lib/components.sh"

# shellcheck source=hack/lib/progress.sh
source "$ROOT/hack/lib/progress.sh"
progress_init

T0=$SECONDS
log() { printf '[local-cluster %3ds] %s\n' "$((SECONDS - T0))" "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}
kc() { "$K8S_BIN/kubectl" --kubeconfig "$KCFG/admin.conf" "$@"; }

need_root() { [[ $EUID -eq 0 ]] || die "needs root (containerd, kubelet, bridge, nftables)"; }

install_packages() {
	local missing=() p
	for p in "${APT_PACKAGES[@]}"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	log "installing Debian packages: ${missing[*]} (apt log: $LOGS/apt.log)"
	{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; } \
		>"$LOGS/apt.log" 2>&1 || die "apt-get failed; read $LOGS/apt.log"
}

# build_binaries builds what the chosen path needs, nothing more: the kwok path has no kubelet, kube-proxy or
# CoreDNS. setup-envtest.sh draws its live progress on the terminal (LOTOU_PROGRESS_FD) while its full output goes to
# the build log.
build_binaries() {
	local kwok=$1 want=(--all)
	[[ $kwok == true ]] && want=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok)
	log "building Kubernetes binaries into $K8S_BIN if needed (log: $LOGS/build.log)"
	"$ROOT/hack/setup-envtest.sh" "${want[@]}" >>"$LOGS/build.log" 2>&1 || die "building binaries failed; read $LOGS/build.log"
	log "building imagetool, pause and probe (log: $LOGS/build.log)"
	"$ROOT/hack/imagetool" >>"$LOGS/build.log" 2>&1 || die "building imagetool failed; read $LOGS/build.log"
}

cmd_up() {
	local kwok=${1:-false}
	need_root
	if [[ -n "$(ls "$RUN" 2>/dev/null)" || -d "$HOSTSTATE" ]]; then
		log "cleaning up a previous run first"
		cmd_down quiet
	fi
	mkdir -p "$LOGS" "$RUN"
	# Fresh logs per run; the previous run's are kept as *.log.1.
	local f
	for f in "$LOGS"/*.log; do [[ -e "$f" ]] && mv -f "$f" "$f.1"; done
	[[ $kwok == true ]] || install_packages
	build_binaries "$kwok"
	rm -rf "$PKI" "$KCFG" "$DEV/etcd" "$DEV/kubelet" "$DEV/containerd" "$DEV/cni" "$DEV/kwok" "$DEV/kcm"
	host_save
	echo "$kwok" >"$HOSTSTATE/kwok"
	if [[ $kwok == true ]]; then
		API_IP=127.0.0.1
		API_URL="https://$API_IP:$API_PORT"
	else
		host_setup
	fi
	ports_free "$ETCD_PORT" $((ETCD_PORT + 1)) $((ETCD_PORT + 2)) "$API_PORT" 10257 10259
	[[ $kwok == true ]] && ports_free 10247 || ports_free 10248 10249 10250 10256
	make_pki
	log "certificates and kubeconfigs in $PKI, $KCFG"
	# The node side (images, containerd, image import) needs nothing from the control plane: it runs beside it.
	local node_prep=""
	if [[ $kwok != true ]]; then
		(
			build_images
			start_containerd
			import_images
		) &
		node_prep=$!
	fi
	start_etcd
	start_apiserver "$kwok"
	start_controller_manager
	start_scheduler
	if [[ $kwok == true ]]; then
		start_kwok
	else
		wait "$node_prep" || die "preparing containerd and its images failed (see above)"
		start_kubelet
		start_kube_proxy
		wait_node_ready
		deploy_coredns
		check_dns
	fi
	wait_until kube-controller-manager 60 "default ServiceAccount created" kc -n default get serviceaccount default
	log "cluster up in $((SECONDS - T0)) s"
	cmd_env
}

cmd_down() {
	local quiet=${1:-}
	need_root
	local i name
	for ((i = ${#ORDER[@]} - 1; i >= 0; i--)); do
		name=${ORDER[i]}
		if [[ $name == kubelet && -f "$RUN/containerd.pid" ]]; then
			stop_component kubelet
			stop_pods
			continue
		fi
		stop_component "$name"
	done
	host_restore
	rm -rf "$HOSTSTATE" "$RUN" "$DEV/etcd" "$DEV/kubelet" "$DEV/containerd" "$DEV/cni" "$DEV/kwok" "$DEV/kcm" "$KUBECACHEDIR"
	[[ -n "$quiet" ]] || log "cluster down in $((SECONDS - T0)) s; logs kept in $LOGS"
}

cmd_status() {
	local name pid up=0
	for name in "${ORDER[@]}"; do
		pid="$(cat "$RUN/$name.pid" 2>/dev/null || true)"
		[[ -n "$pid" ]] || continue
		if kill -0 "$pid" 2>/dev/null; then
			printf '%-24s running  pid %-8s log %s\n' "$name" "$pid" "$LOGS/$name.log"
			up=1
		else
			printf '%-24s DEAD     pid %-8s log %s\n' "$name" "$pid" "$LOGS/$name.log"
		fi
	done
	if [[ $up == 0 ]]; then
		echo "local cluster is down"
		return 1
	fi
	kc get nodes -o wide && kc get pods -A -o wide
}

cmd_env() {
	echo "export KUBECONFIG=$KCFG/admin.conf"
	echo "export PATH=$K8S_BIN:\$PATH"
}

main() {
	local cmd=${1:-}
	shift || true
	case "$cmd" in
	up)
		if [[ "${1:-}" == --kwok ]]; then cmd_up true; else cmd_up false; fi
		;;
	up-kwok) cmd_up true ;;
	down) cmd_down ;;
	status) cmd_status ;;
	env) cmd_env ;;
	*)
		sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
		exit 2
		;;
	esac
}

main "$@"
