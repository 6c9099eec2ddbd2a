#!/usr/bin/env bash
# gotest.sh LABEL GO-TEST-ARGS... runs `go test GO-TEST-ARGS...` and passes its output through unchanged, with a live
# line on a terminal: "LABEL  n/N packages · elapsed · last package done" (N from `go list` of the package patterns
# among the arguments). The exit code is go test's.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=hack/lib/progress.sh
source "$ROOT/hack/lib/progress.sh"
progress_init

label=$1
shift
total=0
if progress_tty; then
	pkgs=()
	for a in "$@"; do [[ "$a" == ./* ]] && pkgs+=("$a"); done
	[[ ${#pkgs[@]} -gt 0 ]] && total=$(go list "${pkgs[@]}" 2>/dev/null | wc -l)
fi
set +e
go test "$@" 2>&1 | progress_filter "$label" "$total" pass
rc=${PIPESTATUS[0]}
exit "$rc"
