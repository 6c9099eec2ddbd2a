# shellcheck shell=bash
# host.sh: the host changes of the local cluster and how to undo them (sourced by hack/local-cluster.sh).
# Everything changed outside the work dir is recorded under $HOSTSTATE before it is changed, so that `down`
# (and `up` after a crash) restores the host exactly. Needs: DEV, HOSTSTATE, BRIDGE, BRIDGE_CIDR, API_IP, POD_CIDR.

# Sysctls the kubelet (setupKernelTunables), the bridge plugin and kube-proxy may change.
HOST_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys
	kernel.keys.root_maxbytes net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables
	net.bridge.bridge-nf-call-ip6tables net.ipv4.conf.all.route_localnet)
# Host paths the kubelet, CNI and containerd create outside their configured dirs.
HOST_PATHS=(/var/lib/kubelet /var/log/containers /var/log/pods /var/lib/cni /run/containerd /etc/cni /opt/cni
	/opt/containerd /run/netns /etc/kubernetes)
# Tables the guard rule lives in and kube-proxy (nftables mode) creates.
NFT_OWN=("inet lotou-dev" "ip kube-proxy" "ip6 kube-proxy")

# host_save records the host state once (not again after a crash, so the original values survive).
host_save() {
	mkdir -p "$HOSTSTATE"
	if [[ ! -f "$HOSTSTATE/sysctl.saved" ]]; then
		local s v
		: >"$HOSTSTATE/sysctl.saved.tmp"
		for s in "${HOST_SYSCTLS[@]}"; do
			v="$(sysctl -n "$s" 2>/dev/null)" || continue
			printf '%s=%s\n' "$s" "$v" >>"$HOSTSTATE/sysctl.saved.tmp"
		done
		mv "$HOSTSTATE/sysctl.saved.tmp" "$HOSTSTATE/sysctl.saved"
	fi
	if [[ ! -f "$HOSTSTATE/paths.absent" ]]; then
		local p
		: >"$HOSTSTATE/paths.absent.tmp"
		for p in "${HOST_PATHS[@]}"; do
			[[ -e "$p" ]] || echo "$p" >>"$HOSTSTATE/paths.absent.tmp"
		done
		mv "$HOSTSTATE/paths.absent.tmp" "$HOSTSTATE/paths.absent"
	fi
	if [[ ! -f "$HOSTSTATE/nft-tables.before" ]]; then
		nft list tables >"$HOSTSTATE/nft-tables.before.tmp" 2>/dev/null || true
		mv "$HOSTSTATE/nft-tables.before.tmp" "$HOSTSTATE/nft-tables.before"
	fi
}

# host_setup creates the pod bridge with its gateway address (the API server binds it), and a guard that drops
# packets for that address arriving from anywhere but loopback and the bridge, so nothing outside reaches the cluster.
host_setup() {
	if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
		ip link add "$BRIDGE" type bridge
	fi
	ip addr replace "$API_IP/${BRIDGE_CIDR#*/}" dev "$BRIDGE"
	ip link set "$BRIDGE" up
	nft -f - <<NFT
table inet lotou-dev {
	chain input {
		type filter hook input priority -10; policy accept;
		iifname != { "lo", "$BRIDGE" } ip daddr $POD_CIDR drop
	}
}
NFT
	# Pod-to-service traffic between pods on the same bridge needs bridged packets to pass conntrack.
	sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 2>/dev/null || true
}

# kill_pids KILLS PIDs: SIGTERM, wait up to 10 s, then SIGKILL.
kill_pids() {
	local pids=("$@") p i
	[[ ${#pids[@]} -gt 0 ]] || return 0
	kill -TERM "${pids[@]}" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		local alive=0
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[[ $alive == 0 ]] && return 0
		sleep 0.1
	done
	kill -KILL "${pids[@]}" 2>/dev/null || true
}

# stray_pids prints processes of this cluster that no PID file knows about (after a crash): our binaries
# (bin/k8s, containerd and its shims) whose command line names the work dir. Envtest's processes, which use
# the same binaries with temp dirs, do not match.
stray_pids() {
	local d exe cmd
	for d in /proc/[0-9]*; do
		exe="$(readlink "$d/exe" 2>/dev/null)" || continue
		case "$exe" in
		"$K8S_BIN"/* | */containerd | */containerd-shim*) ;;
		*) continue ;;
		esac
		cmd="$(tr '\0' ' ' 2>/dev/null <"$d/cmdline")" || continue
		[[ "$cmd" == *"$DEV/"* ]] && echo "${d#/proc/}"
	done
}

# ports_free fails naming the holder if one of the cluster's ports is taken.
ports_free() {
	local p holder
	for p in "$@"; do
		holder="$(ss -Hltnp "sport = :$p" 2>/dev/null)"
		[[ -z "$holder" ]] || die "port $p is in use: $holder"
	done
}

# host_kill_pods kills every process left in the kubepods cgroups (containers outlive the kubelet and shims).
host_kill_pods() {
	local f pids=()
	while IFS= read -r f; do
		while IFS= read -r p; do [[ -n "$p" ]] && pids+=("$p"); done <"$f"
	done < <(find /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/*/kubepods.slice -name cgroup.procs 2>/dev/null)
	if [[ ${#pids[@]} -gt 0 ]]; then
		kill -KILL "${pids[@]}" 2>/dev/null || true
		sleep 0.3
	fi
}

# host_unmount unmounts everything mounted under the work dir (pod volumes, rootfs, netns, the kubelet's bind
# mount of its root dir onto itself), deepest first.
host_unmount() {
	local m i
	for ((i = 0; i < 3; i++)); do
		local mounts
		mounts="$(awk -v d="$DEV/" 'index($2, d) == 1 || $2 == substr(d, 1, length(d) - 1) {print $2}' /proc/self/mounts | sort -r)"
		[[ -z "$mounts" ]] && return 0
		while IFS= read -r m; do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
		done <<<"$mounts"
	done
}

# host_cgroups removes the kubepods cgroup trees, deepest first.
host_cgroups() {
	local d
	for d in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/*/kubepods.slice /sys/fs/cgroup/unified/kubepods; do
		[[ -d "$d" ]] || continue
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
}

# host_firewall removes our nft tables, the iptables-nft KUBE-* chains of the kubelet, and tables that did not
# exist before (iptables-nft creates "ip filter", "ip nat", ... on first use).
host_firewall() {
	local t fam tables content
	for t in "${NFT_OWN[@]}"; do
		nft delete table $t 2>/dev/null || true
	done
	local ipt tbl chain rule
	for ipt in iptables ip6tables; do
		command -v "$ipt" >/dev/null || continue
		for tbl in filter nat mangle; do
			"$ipt" -t "$tbl" -S 2>/dev/null | grep -E '^-A [A-Z]+ .*-j KUBE-' | while IFS= read -r rule; do
				# shellcheck disable=SC2086
				"$ipt" -t "$tbl" ${rule/#-A/-D} 2>/dev/null || true
			done || true
			for chain in $("$ipt" -t "$tbl" -S 2>/dev/null | awk '/^-N KUBE-/{print $2}'); do
				"$ipt" -t "$tbl" -F "$chain" 2>/dev/null || true
			done
			for chain in $("$ipt" -t "$tbl" -S 2>/dev/null | awk '/^-N KUBE-/{print $2}'); do
				"$ipt" -t "$tbl" -X "$chain" 2>/dev/null || true
			done
		done
	done
	if [[ -f "$HOSTSTATE/nft-tables.before" ]]; then
		for fam in ip ip6; do
			for tbl in filter nat mangle; do
				# (Outputs captured first: with pipefail, `nft ... | grep -q` can fail on SIGPIPE.)
				tables="$(nft list tables 2>/dev/null || true)"
				if grep -qx "table $fam $tbl" <<<"$tables" &&
					! grep -qx "table $fam $tbl" "$HOSTSTATE/nft-tables.before"; then
					# Only if no rules are left (someone else may have started using it).
					content="$(nft list table "$fam" "$tbl" 2>/dev/null || true)"
					if ! grep -qE '^\s+(ip|ip6|meta|counter|jump|goto|iifname|oifname|ct|tcp|udp|mark)' <<<"$content"; then
						nft delete table "$fam" "$tbl" 2>/dev/null || true
					fi
				fi
			done
		done
	fi
	conntrack -D -d "${SVC_CIDR%/*}/16" >/dev/null 2>&1 || true
	conntrack -D -s "$POD_CIDR" >/dev/null 2>&1 || true
}

# host_restore undoes every recorded host change; safe to call when nothing was changed.
host_restore() {
	host_kill_pods
	local leftovers
	mapfile -t leftovers < <(stray_pids)
	kill_pids "${leftovers[@]}"
	host_unmount
	host_cgroups
	if ip link show "$BRIDGE" >/dev/null 2>&1; then
		ip link set "$BRIDGE" down 2>/dev/null || true
		ip link delete "$BRIDGE" 2>/dev/null || true
	fi
	host_firewall
	if [[ -f "$HOSTSTATE/sysctl.saved" ]]; then
		local kv
		while IFS= read -r kv; do
			sysctl -qw "$kv" 2>/dev/null || true
		done <"$HOSTSTATE/sysctl.saved"
		rm -f "$HOSTSTATE/sysctl.saved"
	fi
	if [[ -f "$HOSTSTATE/paths.absent" ]]; then
		local p
		while IFS= read -r p; do
			[[ -n "$p" && "$p" == /* ]] || continue
			umount -R "$p" 2>/dev/null || true
			rm -rf --one-file-system "$p"
		done <"$HOSTSTATE/paths.absent"
		rm -f "$HOSTSTATE/paths.absent"
	fi
	rm -f "$HOSTSTATE/nft-tables.before"
}
