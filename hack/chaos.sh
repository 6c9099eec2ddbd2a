#!/usr/bin/env bash
# Network for the chaos harness (test/chaos): one network namespace per node,
# joined by a bridge, partitions made with nftables inside a namespace.
# Everything it creates is named lchaos* and removed by `down`, which `run`
# calls from a trap, so nothing is left behind even when the test fails.
#
#   hack/chaos.sh run [DURATION]   up, go test ./test/chaos (LOTOU_CHAOS=1), down
#   hack/chaos.sh up COUNT         bridge lchaos0 + namespaces lchaos-1..COUNT
#   hack/chaos.sh down             kill what runs in them, delete namespaces, bridge
#   hack/chaos.sh partition I      drop every packet in and out of lchaos-I's eth0
#   hack/chaos.sh heal I           remove that drop
#
# Addresses: the bridge is $CHAOS_NET.1/24 in the root namespace (the test's
# proxies listen there); namespace I has eth0 = $CHAOS_NET.(10+I). No
# forwarding, no NAT: traffic stays on the bridge. Needs root, iproute2 and
# nftables (installed with apt-get when missing).
set -euo pipefail

CHAOS_NET=${CHAOS_NET:-10.213.0}
BR=lchaos0
NS_PREFIX=lchaos-
TABLE=lchaos
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() { echo "chaos.sh: $*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "needs root (network namespaces)"; }

need_tools() {
	command -v ip >/dev/null || die "iproute2 (ip) is missing"
	if ! command -v nft >/dev/null; then
		echo "chaos.sh: installing nftables" >&2
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables >/dev/null
	fi
}

ns() { echo "${NS_PREFIX}$1"; }

up() {
	local count=$1 i n
	[[ $count =~ ^[0-9]+$ ]] && [ "$count" -ge 1 ] && [ "$count" -le 40 ] || die "up: COUNT 1..40"
	need_root
	need_tools
	down >/dev/null 2>&1 || true
	ip link add "$BR" type bridge
	ip addr add "$CHAOS_NET.1/24" dev "$BR"
	ip link set "$BR" up
	for ((i = 1; i <= count; i++)); do
		n=$(ns "$i")
		ip netns add "$n"
		ip link add "lchv$i" type veth peer name eth0 netns "$n"
		ip link set "lchv$i" master "$BR" up
		ip -n "$n" addr add "$CHAOS_NET.$((10 + i))/24" dev eth0
		ip -n "$n" link set eth0 up
		ip -n "$n" link set lo up
	done
	echo "chaos.sh: $count namespaces on $BR ($CHAOS_NET.0/24)"
}

down() {
	local n pids
	for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${NS_PREFIX}" || true); do
		# Only processes inside our own namespaces: the harness's nodes.
		pids=$(ip netns pids "$n" 2>/dev/null || true)
		if [ -n "$pids" ]; then
			# shellcheck disable=SC2086
			kill -CONT $pids 2>/dev/null || true
			# shellcheck disable=SC2086
			kill -KILL $pids 2>/dev/null || true
		fi
		ip netns delete "$n" || true
	done
	for n in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep '^lchv' || true); do
		ip link delete "$n" 2>/dev/null || true
	done
	if ip link show "$BR" >/dev/null 2>&1; then
		ip link delete "$BR"
	fi
	echo "chaos.sh: down"
}

partition() {
	local n
	n=$(ns "$1")
	ip netns exec "$n" nft -f - <<EOF
table inet $TABLE {
	chain input { type filter hook input priority 0; policy accept; iifname "eth0" drop; }
	chain output { type filter hook output priority 0; policy accept; oifname "eth0" drop; }
}
EOF
}

heal() {
	ip netns exec "$(ns "$1")" nft delete table inet "$TABLE" 2>/dev/null || true
}

run() {
	local duration=${1:-${DURATION:-90s}}
	need_root
	trap down EXIT INT TERM
	up "${CHAOS_NODES:-7}"
	cd "$ROOT"
	LOTOU_CHAOS=1 CHAOS_DURATION="$duration" CHAOS_NET="$CHAOS_NET" \
		go test ./test/chaos/ -run '^TestChaos$' -count=1 -v -timeout "${CHAOS_TIMEOUT:-3h}"
}

cmd=${1:-}
shift || true
case "$cmd" in
up) up "${1:?COUNT}" ;;
down) down ;;
partition) partition "${1:?I}" ;;
heal) heal "${1:?I}" ;;
run) run "$@" ;;
*) die "usage: $0 run [DURATION] | up COUNT | down | partition I | heal I" ;;
esac
