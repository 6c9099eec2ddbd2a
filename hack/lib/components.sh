# shellcheck shell=bash
# components.sh: starting, waiting for and stopping the local cluster's processes (sourced by
# hack/local-cluster.sh, which defines the paths, addresses and log/die helpers used here).

# start_bg NAME CMD...: runs CMD in its own session, logs to $LOGS/NAME.log, PID in $RUN/NAME.pid.
start_bg() {
	local name=$1
	shift
	setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
	echo $! >"$RUN/$name.pid"
	log "started $name (pid $!, log $LOGS/$name.log)"
}

alive() { [[ -f "$RUN/$1.pid" ]] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

# wait_until COMPONENT TIMEOUT DESCRIPTION CMD...: polls CMD every 0.2 s; fails naming the component's log if
# the component dies or TIMEOUT seconds pass.
wait_until() {
	local comp=$1 timeout=$2 desc=$3
	shift 3
	local deadline=$((SECONDS + timeout))
	until "$@" >/dev/null 2>&1; do
		alive "$comp" || die "$comp exited while waiting for $desc; read $LOGS/$comp.log"
		((SECONDS < deadline)) || die "timed out after ${timeout}s waiting for $desc; read $LOGS/$comp.log"
		sleep 0.2
	done
	log "$desc"
}

stop_component() {
	local name=$1 pid
	[[ -f "$RUN/$name.pid" ]] || return 0
	pid="$(cat "$RUN/$name.pid")"
	# Only if the PID still runs that component (a stale file after a crash must not kill a reused PID).
	local cmd
	cmd="$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" || true)"
	if kill -0 "$pid" 2>/dev/null && [[ "$cmd" == *"$name"* ]]; then
		kill_pids "$pid"
		log "stopped $name (pid $pid)"
	fi
	rm -f "$RUN/$name.pid"
}

start_etcd() {
	mkdir -p "$DEV/etcd"
	start_bg etcd "$K8S_BIN/etcd" --name=lotou-dev --data-dir="$DEV/etcd" \
		--listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls="http://127.0.0.1:$((ETCD_PORT + 1))" \
		--initial-advertise-peer-urls="http://127.0.0.1:$((ETCD_PORT + 1))" \
		--initial-cluster="lotou-dev=http://127.0.0.1:$((ETCD_PORT + 1))" \
		--listen-metrics-urls="http://127.0.0.1:$((ETCD_PORT + 2))" \
		--unsafe-no-fsync=true --log-level=warn
	wait_until etcd 30 "etcd healthy" curl -fsS "http://127.0.0.1:$((ETCD_PORT + 2))/health"
}

start_apiserver() {
	local kwok=$1 extra=()
	if [[ $kwok == true ]]; then
		# Loopback only: the kubernetes Service gets no endpoints (no pod needs it with kwok).
		extra+=(--endpoint-reconciler-type=none)
	fi
	start_bg kube-apiserver "$K8S_BIN/kube-apiserver" \
		--etcd-servers="http://127.0.0.1:$ETCD_PORT" \
		--bind-address="$API_IP" --advertise-address="$API_IP" --secure-port="$API_PORT" \
		--tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
		--client-ca-file="$PKI/ca.crt" \
		--service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local \
		--service-cluster-ip-range="$SVC_CIDR" \
		--authorization-mode=Node,RBAC --allow-privileged=true \
		--kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
		--kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
		--requestheader-client-ca-file="$PKI/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
		--requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
		--requestheader-extra-headers-prefix=X-Remote-Extra- \
		--proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key" \
		--kubelet-preferred-address-types=InternalIP,Hostname \
		--profiling=false "${extra[@]}"
	wait_until kube-apiserver 60 "kube-apiserver ready" kc get --raw /readyz
}

start_controller_manager() {
	mkdir -p "$DEV/kcm/flex"
	local k="$KCFG/controller-manager.conf"
	start_bg kube-controller-manager "$K8S_BIN/kube-controller-manager" \
		--kubeconfig="$k" --authentication-kubeconfig="$k" --authorization-kubeconfig="$k" \
		--bind-address=127.0.0.1 --secure-port=10257 --leader-elect=false --controllers='*' \
		--root-ca-file="$PKI/ca.crt" --service-account-private-key-file="$PKI/sa.key" \
		--cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
		--use-service-account-credentials=true --service-cluster-ip-range="$SVC_CIDR" \
		--client-ca-file="$PKI/ca.crt" --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
		--flex-volume-plugin-dir="$DEV/kcm/flex"
}

start_scheduler() {
	local k="$KCFG/scheduler.conf"
	start_bg kube-scheduler "$K8S_BIN/kube-scheduler" \
		--kubeconfig="$k" --authentication-kubeconfig="$k" --authorization-kubeconfig="$k" \
		--bind-address=127.0.0.1 --secure-port=10259 --leader-elect=false
}

# kwok_stages prints kwok's default lifecycle stages (its plain binary ships none) from the module download.
kwok_stages() {
	local dir f
	dir="$(cd "$ROOT/hack/tools/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
	[[ -d "$dir/kustomize/stage" ]] || die "kwok stages not found under $dir/kustomize/stage"
	for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
		pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
		if [[ -f "$dir/kustomize/stage/$f" ]]; then
			echo "---"
			cat "$dir/kustomize/stage/$f"
		fi
	done
}

start_kwok() {
	mkdir -p "$DEV/kwok"
	kwok_stages >"$DEV/kwok/stages.yaml"
	grep -q 'kind: Stage' "$DEV/kwok/stages.yaml" || die "no kwok stages found; read $DEV/kwok/stages.yaml"
	# --node-lease-duration-seconds: kwok renews each node's Lease (the heartbeat-with-lease stage needs it);
	# without it the node controller marks the nodes' pods NotReady after its grace period, and kwok never sets
	# them Ready again. --cidr: simulated pod IPs (never routed), room for thousands of pods.
	start_bg kwok "$K8S_BIN/kwok" --kubeconfig="$KCFG/kwok.conf" --config="$DEV/kwok/stages.yaml" \
		--manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
		--cidr=10.0.0.1/16 --node-ip=10.0.0.1 --server-address=127.0.0.1:10247 \
		--node-lease-duration-seconds=40
	wait_until kwok 30 "kwok healthy" curl -fsS http://127.0.0.1:10247/healthz
	local n i
	n=${LOTOU_KWOK_NODES:-3}
	for ((i = 0; i < n; i++)); do
		cat <<NODE
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {type: kwok, kubernetes.io/hostname: kwok-node-$i, kubernetes.io/os: linux, kubernetes.io/arch: amd64}
spec:
  taints: []
---
NODE
	done | kc apply -f - >/dev/null
	kc wait --for=condition=Ready node --all --timeout=60s >/dev/null || die "kwok nodes not Ready; read $LOGS/kwok.log"
	log "$n kwok nodes Ready"
}

build_images() {
	mkdir -p "$IMAGES"
	local it="$ROOT/bin/imagetool"
	"$it" -o "$IMAGES/pause.tar" -t "$PAUSE_IMAGE" --entrypoint /pause --add "$ROOT/bin/pause:/pause" \
		--user 65535:65535 2>>"$LOGS/build.log" || die "pause image; read $LOGS/build.log"
	"$it" -o "$IMAGES/probe.tar" -t "$PROBE_IMAGE" --entrypoint /probe --add "$ROOT/bin/probe:/probe" \
		--user 65532:65532 2>>"$LOGS/build.log" || die "probe image; read $LOGS/build.log"
	"$it" -o "$IMAGES/coredns.tar" -t "$COREDNS_IMAGE" --entrypoint /coredns --add "$K8S_BIN/coredns:/coredns" \
		--user 65532:65532 2>>"$LOGS/build.log" || die "coredns image; read $LOGS/build.log"
	log "images pause, probe, coredns written to $IMAGES"
}

start_containerd() {
	mkdir -p "$DEV/containerd/root" "$DEV/containerd/state" "$DEV/cni/net.d" "$DEV/cni/ipam"
	cat >"$DEV/containerd/config.toml" <<TOML
version = 2
root = "$DEV/containerd/root"
state = "$DEV/containerd/state"
[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$CTRD_SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$DEV/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$DEV/cni/net.d"
    max_conf_num = 1
TOML
	cat >"$DEV/cni/net.d/10-lotou-dev.conflist" <<CNI
{
  "cniVersion": "1.0.0",
  "name": "lotou-dev",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$API_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$DEV/cni/ipam"
      }
    }
  ]
}
CNI
	start_bg containerd containerd --config "$DEV/containerd/config.toml"
	wait_until containerd 30 "containerd serving" ctr --address "$CTRD_SOCK" version
}

ctr_k8s() { ctr --address "$CTRD_SOCK" -n k8s.io "$@"; }

import_images() {
	local f
	for f in "$IMAGES"/*.tar; do
		ctr_k8s images import "$f" >>"$LOGS/containerd.import.log" 2>&1 ||
			die "importing $f failed; read $LOGS/containerd.import.log"
	done
	log "images imported into containerd (k8s.io namespace)"
}

start_kubelet() {
	mkdir -p "$DEV/kubelet/root" "$DEV/kubelet/pod-logs" "$DEV/kubelet/volume-plugins" "$DEV/kubelet/certs"
	cat >"$DEV/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://$CTRD_SOCK
imageServiceEndpoint: unix://$CTRD_SOCK
podLogsDir: $DEV/kubelet/pod-logs
volumePluginDir: $DEV/kubelet/volume-plugins
address: $API_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
clusterDNS: [$DNS_IP]
clusterDomain: cluster.local
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
rotateCertificates: false
serverTLSBootstrap: false
maxPods: 250
YAML
	start_bg kubelet "$K8S_BIN/kubelet" --config="$DEV/kubelet/config.yaml" --kubeconfig="$KCFG/kubelet.conf" \
		--root-dir="$DEV/kubelet/root" --cert-dir="$DEV/kubelet/certs" \
		--hostname-override="$NODE_NAME" --node-ip="$API_IP"
}

start_kube_proxy() {
	start_bg kube-proxy "$K8S_BIN/kube-proxy" --kubeconfig="$KCFG/kube-proxy.conf" --proxy-mode=nftables \
		--cluster-cidr="$POD_CIDR" --hostname-override="$NODE_NAME" \
		--conntrack-max-per-core=0 --conntrack-tcp-timeout-established=0 --conntrack-tcp-timeout-close-wait=0 \
		--healthz-bind-address=127.0.0.1:10256 --metrics-bind-address=127.0.0.1:10249 \
		--nodeport-addresses="$API_IP/32"
}

node_ready() {
	[[ "$(kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" == True ]]
}

wait_node_ready() {
	wait_until kubelet 90 "node $NODE_NAME Ready" node_ready
	wait_until kube-proxy 30 "kube-proxy healthy" curl -fsS http://127.0.0.1:10256/healthz
}

deploy_coredns() {
	sed -e "s|@DNS_IP@|$DNS_IP|g" -e "s|@IMAGE@|$COREDNS_IMAGE|g" "$ROOT/hack/lib/coredns.yaml" |
		kc apply -f - >>"$LOGS/coredns.apply.log" 2>&1 || die "applying CoreDNS failed; read $LOGS/coredns.apply.log"
	kc -n kube-system rollout status deployment/coredns --timeout=90s >>"$LOGS/coredns.apply.log" 2>&1 ||
		die "CoreDNS not ready; read $LOGS/coredns.apply.log and: kubectl -n kube-system logs deploy/coredns"
	log "CoreDNS ready at $DNS_IP"
}

dns_answers() {
	kc -n kube-system exec lotou-dns-check -- /probe lookup kubernetes.default.svc.cluster.local
}

check_dns() {
	kc -n kube-system run lotou-dns-check --image="$PROBE_IMAGE" --image-pull-policy=Never --restart=Never \
		>>"$LOGS/coredns.apply.log" 2>&1 || die "creating the DNS check pod failed; read $LOGS/coredns.apply.log"
	kc -n kube-system wait --for=condition=Ready pod/lotou-dns-check --timeout=60s >>"$LOGS/coredns.apply.log" 2>&1 ||
		die "DNS check pod not Ready; read $LOGS/kubelet.log"
	wait_until kube-proxy 30 "cluster DNS answering (kubernetes.default.svc.cluster.local)" dns_answers
	kc -n kube-system delete pod lotou-dns-check --grace-period=1 --wait=false >/dev/null 2>&1 || true
}

# stop_pods kills every container through containerd before containerd stops, so shims exit cleanly.
stop_pods() {
	alive containerd || return 0
	local t
	for t in $(ctr_k8s tasks ls -q 2>/dev/null); do
		ctr_k8s tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true
	done
	sleep 0.5
	for t in $(ctr_k8s tasks ls -q 2>/dev/null); do
		ctr_k8s tasks delete -f "$t" >/dev/null 2>&1 || true
	done
}
