#!/usr/bin/env bash
# test.sh: what `make test` runs. Each argument is a make target (a test step); they run in order, each timed, and
# a summary with the time of every step ends the run, also when a step fails (the run stops at the first failure).
# On a terminal each step shows a live line (hack/lib/progress.sh); in CI logs only the step lines.
#   hack/test.sh test-unit test-fuzz ...
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=hack/lib/progress.sh
source "$ROOT/hack/lib/progress.sh"
progress_init

[[ $# -gt 0 ]] || { echo "usage: hack/test.sh TARGET..." >&2; exit 2; }
i=0 failed=""
for target in "$@"; do
	i=$((i + 1))
	progress_step_begin "make $target" "$i/$#"
	if make -C "$ROOT" --no-print-directory "$target"; then
		progress_step_end ok
	else
		progress_step_end FAILED
		failed=$target
		break
	fi
done
progress_summary "make test"
if [[ -n "$failed" ]]; then
	echo "make test: step '$failed' failed (its output is above)" >&2
	exit 1
fi
