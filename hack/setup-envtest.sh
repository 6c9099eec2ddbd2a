#!/usr/bin/env bash
# setup-envtest.sh builds the Kubernetes test and local-cluster binaries from the Go module proxy
# (no release downloads are possible on this machine) into bin/k8s/.
#
#   hack/setup-envtest.sh          kube-apiserver + etcd (enough for envtest)
#   hack/setup-envtest.sh --all    + kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl,
#                                  coredns (the local cluster of hack/local-cluster.sh)
#   hack/setup-envtest.sh --kwok   + kwok (only hack/local-cluster.sh up --kwok and the kwok benchmark use it)
#   hack/setup-envtest.sh NAME...  only the named binaries
#
# All Kubernetes commands wanted are compiled by one `go build` (one package graph, parallel links), with the same
# -trimpath flag as `make build` and `make test` so the build cache is shared. On a terminal a live line shows the
# step (n of N), the package being compiled against the total to compile, and the elapsed time; elsewhere only
# start and end lines (hack/lib/progress.sh).
#
# Idempotent and cached: a binary is skipped when it exists and its recorded version matches. Progress goes to
# stderr; the last line on stdout is the absolute directory to use as KUBEBUILDER_ASSETS.
# Module and build caches are Go's defaults (GOMODCACHE, GOCACHE). Output dir: $LOTOU_K8S_BIN_DIR or bin/k8s.
set -euo pipefail

K8S_VERSION=v1.37.2
STAGING_VERSION=v0.37.2
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
COREDNS_VERSION=v1.15.0

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/hack/tools"
BIN_DIR="${LOTOU_K8S_BIN_DIR:-$ROOT/bin/k8s}"
GO="${GO:-go}"

ENVTEST_SET=(etcd kube-apiserver)
ALL_SET=(etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl coredns)
KNOWN_SET=("${ALL_SET[@]}" kwok)
K8S_CMDS=" kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl "

# shellcheck source=hack/lib/progress.sh
source "$ROOT/hack/lib/progress.sh"
progress_init
STEP_N=0
STEP_TOTAL=0

log() { printf '[setup-envtest] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() {
	sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
}

# version_of prints the version a binary is built at (recorded next to it after a successful build).
version_of() {
	case "$1" in
	etcd) echo "$ETCD_VERSION" ;;
	kwok) echo "$KWOK_VERSION" ;;
	coredns) echo "$COREDNS_VERSION" ;;
	*) echo "$K8S_VERSION" ;;
	esac
}

stamp_file() { echo "$BIN_DIR/.version-$1"; }

# up_to_date is true when the binary exists and was built at the wanted version.
up_to_date() {
	local f
	f="$(stamp_file "$1")"
	[[ -x "$BIN_DIR/$1" && -f "$f" && "$(cat "$f")" == "$(version_of "$1")" ]]
}

record() { version_of "$1" >"$(stamp_file "$1")"; }

# ensure_k8s_module (re)writes hack/tools/k8s/go.mod when it does not pin K8S_VERSION: it requires
# k8s.io/kubernetes and replaces every staging module that k8s.io/kubernetes replaces with a local folder
# (the list is read from the downloaded go.mod) by the same path at STAGING_VERSION.
ensure_k8s_module() {
	local dir="$TOOLS/k8s"
	if [[ -f "$dir/go.mod" && -f "$dir/go.sum" ]] && grep -q "k8s.io/kubernetes $K8S_VERSION\$" "$dir/go.mod"; then
		return 0
	fi
	log "writing $dir/go.mod for k8s.io/kubernetes $K8S_VERSION"
	mkdir -p "$dir"
	local moddir
	moddir="$(cd "$dir" && GOFLAGS=-mod=mod "$GO" mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	[[ -n "$moddir" && -f "$moddir/go.mod" ]] || die "cannot download k8s.io/kubernetes@$K8S_VERSION"
	local staging
	staging="$(sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/src/k8s\.io/.*#\1#p' "$moddir/go.mod" | sort -u)"
	[[ -n "$staging" ]] || die "no staging replaces found in $moddir/go.mod"
	{
		echo "// Throwaway tools module: builds Kubernetes binaries for envtest and hack/local-cluster.sh."
		echo "// Written by hack/setup-envtest.sh from k8s.io/kubernetes $K8S_VERSION's own go.mod. Not imported by the project."
		echo "module github.com/lotou-io/lotou/hack/tools/k8s"
		echo
		echo "go 1.26.0"
		echo
		echo "require k8s.io/kubernetes $K8S_VERSION"
		echo
		echo "replace ("
		local m
		for m in $staging; do printf '\t%s => %s %s\n' "$m" "$m" "$STAGING_VERSION"; done
		echo ")"
	} >"$dir/go.mod"
	log "$(echo "$staging" | wc -l) staging modules replaced at $STAGING_VERSION; go mod tidy (downloads, minutes when cold)"
	(cd "$dir" && "$GO" mod tidy) >&2
}

# ensure_module makes sure a small tools module (go.mod + go.sum) is complete; tidy only when go.sum is missing.
ensure_module() {
	local dir="$TOOLS/$1"
	[[ -f "$dir/go.mod" && -f "$dir/tools.go" ]] || die "missing tools module $dir"
	if [[ ! -s "$dir/go.sum" ]]; then
		log "go mod tidy in $dir"
		(cd "$dir" && "$GO" mod tidy) >&2
	fi
}

k8s_ldflags() {
	local major minor pkg out="-s -w"
	major="${K8S_VERSION#v}"
	major="${major%%.*}"
	minor="${K8S_VERSION#v*.}"
	minor="${minor%%.*}"
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		out+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
		out+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit=0000000000000000000000000000000000000000"
		out+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"
	done
	echo "$out"
}

# go_build_progress LABEL DIR BUILD-ARGS... -- PKGS... runs one `go build -v` in DIR with a live count of the
# packages compiled against the number that are stale; the full -v output goes to stderr (a log when redirected).
go_build_progress() {
	local label=$1 dir=$2
	shift 2
	local flags=() pkgs=()
	while [[ $# -gt 0 && "$1" != -- ]]; do
		flags+=("$1")
		shift
	done
	shift
	pkgs=("$@")
	STEP_N=$((STEP_N + 1))
	local total=0 start=$SECONDS
	if progress_tty; then
		progress_line "[$STEP_N/$STEP_TOTAL] $label: counting packages to compile…"
		total=$(CGO_ENABLED=0 progress_count_stale "$dir" -trimpath -- "${pkgs[@]}")
	fi
	local counted=""
	((total > 0)) && counted=" ($total packages to compile)" # not counted off a terminal, or go list failed
	progress_note "[setup-envtest $STEP_N/$STEP_TOTAL] building $label$counted"
	local rc=0
	(cd "$dir" && CGO_ENABLED=0 "$GO" build -v "${flags[@]}" "${pkgs[@]}" 2>&1) |
		progress_filter "[$STEP_N/$STEP_TOTAL] $label" "$total" build >&2 || rc=$?
	[[ $rc -eq 0 && ${PIPESTATUS[0]} -eq 0 ]] || return 1
	progress_note "[setup-envtest $STEP_N/$STEP_TOTAL] built $label in $(progress_fmt_secs $((SECONDS - start)))"
}

# build_k8s builds the named k8s.io/kubernetes commands in one go build (one package graph, parallel links).
build_k8s() {
	ensure_k8s_module
	local pkgs=() n
	for n in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$n"); done
	go_build_progress "$* $K8S_VERSION" "$TOOLS/k8s" -trimpath -ldflags "$(k8s_ldflags)" -o "$BIN_DIR/" -- "${pkgs[@]}" ||
		die "go build of $* failed (see above)"
	for n in "$@"; do record "$n"; done
}

build_tool() { # name module-dir package version
	local name=$1 mod=$2 pkg=$3
	ensure_module "$mod"
	go_build_progress "$name $(version_of "$name")" "$TOOLS/$mod" -trimpath -ldflags "-s -w" -o "$BIN_DIR/$name" -- "$pkg" ||
		die "go build of $name failed (see above)"
	record "$name"
}

main() {
	local want=()
	if [[ $# -eq 0 ]]; then
		want=("${ENVTEST_SET[@]}")
	fi
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--all) want+=("${ALL_SET[@]}") ;;
		--envtest) want+=("${ENVTEST_SET[@]}") ;;
		--kwok) want+=(kwok) ;;
		-h | --help) usage; exit 0 ;;
		-*) usage; die "unknown flag $1" ;;
		*)
			[[ " ${KNOWN_SET[*]} " == *" $1 "* ]] || die "unknown binary $1 (one of: ${KNOWN_SET[*]})"
			want+=("$1")
			;;
		esac
		shift
	done
	command -v "$GO" >/dev/null || die "go not found"
	mkdir -p "$BIN_DIR"
	# One builder at a time (make test and make dev may run this together).
	exec 9>"$BIN_DIR/.lock"
	flock 9

	local n todo_k8s=() todo_tools=() seen=" "
	for n in "${want[@]}"; do
		[[ "$seen" == *" $n "* ]] && continue
		seen+="$n "
		up_to_date "$n" && continue
		if [[ "$K8S_CMDS" == *" $n "* ]]; then todo_k8s+=("$n"); else todo_tools+=("$n"); fi
	done
	STEP_TOTAL=${#todo_tools[@]}
	[[ ${#todo_k8s[@]} -gt 0 ]] && STEP_TOTAL=$((STEP_TOTAL + 1))
	local t0=$SECONDS
	# etcd first (small), then every Kubernetes command wanted in one build, then the rest.
	for n in "${todo_tools[@]}"; do
		[[ $n == etcd ]] && build_tool etcd etcd go.etcd.io/etcd/server/v3
	done
	if [[ ${#todo_k8s[@]} -gt 0 ]]; then
		build_k8s "${todo_k8s[@]}"
	fi
	for n in "${todo_tools[@]}"; do
		case "$n" in
		kwok) build_tool kwok kwok sigs.k8s.io/kwok/cmd/kwok ;;
		coredns) build_tool coredns coredns github.com/coredns/coredns ;;
		esac
	done
	if ((STEP_TOTAL > 0)); then
		progress_note "[setup-envtest] $STEP_TOTAL build(s) done in $(progress_fmt_secs $((SECONDS - t0)))"
	fi
	for n in "${want[@]}"; do
		up_to_date "$n" || die "$n missing after build"
	done
	log "up to date in $BIN_DIR: ${seen# }"
	echo "$BIN_DIR"
}

main "$@"
