# shellcheck shell=bash
# progress.sh: what a person sees while `make dev`, `make test` and hack/setup-envtest.sh build or wait.
# Sourced, not run.
#
# On a terminal: a live status line, redrawn in place at least once a second: the step (n of N), elapsed time, and
# what is happening right now (the Go package being compiled with a count against the total, or the go test
# package that just finished). Persistent lines mark each step's start and end, and progress_summary prints the
# time each step took.
# Not on a terminal (CI, a redirected log): no status line and no escape codes; only the step lines, plus one
# "still running" line every LOTOU_PROGRESS_QUIET_EVERY seconds (default 300) for very long steps.
#
# The terminal is found once by the outermost script: its stderr when that is a tty. The descriptor is exported as
# LOTOU_PROGRESS_FD, so a nested script whose stderr goes to a log file (hack/local-cluster.sh runs
# hack/setup-envtest.sh that way) still draws on the user's terminal. LOTOU_PROGRESS=0 turns the live line off.

PROGRESS_FD=""
PROGRESS_T0=${PROGRESS_T0:-$SECONDS}
PROGRESS_STEPS=()
PROGRESS_STEP_NAME=""
PROGRESS_STEP_T0=0

progress_init() {
	[[ "${LOTOU_PROGRESS:-1}" == 0 ]] && return 0
	if [[ -n "${LOTOU_PROGRESS_FD:-}" ]] && [[ -t "$LOTOU_PROGRESS_FD" ]]; then
		PROGRESS_FD=$LOTOU_PROGRESS_FD
	elif [[ -t 2 ]]; then
		exec {PROGRESS_FD}>&2
		export LOTOU_PROGRESS_FD=$PROGRESS_FD
	fi
}

# progress_tty is true when a live line can be drawn.
progress_tty() { [[ -n "$PROGRESS_FD" ]]; }

progress_fmt_secs() {
	local s=$1
	if ((s >= 60)); then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

# progress_line TEXT draws TEXT as the live status line (cut to the terminal width); a no-op off a terminal.
progress_line() {
	progress_tty || return 0
	local cols=${COLUMNS:-}
	[[ -n "$cols" ]] || cols=$(tput cols 2>/dev/null <&"$PROGRESS_FD" || echo 100)
	local text=$1
	((${#text} > cols - 1)) && text="${text:0:cols-2}…"
	printf '\r\033[K%s' "$text" >&"$PROGRESS_FD"
}

progress_clear() {
	progress_tty || return 0
	printf '\r\033[K' >&"$PROGRESS_FD"
}

# progress_note TEXT prints a persistent line where the person sees it: the terminal when there is one (even if
# this script's stderr goes to a log), else stderr.
progress_note() {
	if progress_tty; then
		printf '\r\033[K%s\n' "$1" >&"$PROGRESS_FD"
	else
		printf '%s\n' "$1" >&2
	fi
}

# progress_step_begin NAME [N_OF_TOTAL] starts a timed step.
progress_step_begin() {
	PROGRESS_STEP_NAME=$1
	PROGRESS_STEP_T0=$SECONDS
	progress_note "▶ ${2:+[$2] }$1"
}

# progress_step_end [STATUS] ends the step begun last and records its time for progress_summary.
progress_step_end() {
	local status=${1:-ok} d=$((SECONDS - PROGRESS_STEP_T0))
	PROGRESS_STEPS+=("$PROGRESS_STEP_NAME|$d|$status")
	progress_note "  ${PROGRESS_STEP_NAME}: $status in $(progress_fmt_secs "$d")"
}

# progress_summary TITLE prints every recorded step with its time, and the total.
progress_summary() {
	local row name d status
	progress_note "── $1: time per step ──"
	for row in "${PROGRESS_STEPS[@]}"; do
		IFS='|' read -r name d status <<<"$row"
		progress_note "$(printf '  %-44s %8s  %s' "$name" "$(progress_fmt_secs "$d")" "$status")"
	done
	progress_note "$(printf '  %-44s %8s' total "$(progress_fmt_secs $((SECONDS - PROGRESS_T0)))")"
}

# progress_count_stale DIR BUILDFLAGS... -- PKGS... prints how many packages `go build` would compile (the
# stale ones in the dependency graph), the total for the live count.
progress_count_stale() {
	local dir=$1
	shift
	local flags=()
	while [[ $# -gt 0 && "$1" != -- ]]; do
		flags+=("$1")
		shift
	done
	shift
	(cd "$dir" && go list -deps "${flags[@]}" -f '{{if .Stale}}x{{end}}' "$@" 2>/dev/null | grep -c x) || echo 0
}

# progress_filter LABEL TOTAL MODE reads a command's output on stdin, copies every line to stdout (a log, or the
# terminal when MODE is "pass"), and keeps the live line: "LABEL  n/TOTAL UNIT · elapsed · last item".
# MODE "build": each line of `go build -v` is one compiled package. MODE "pass": lines are shown as they come and
# lines starting with ok/FAIL/? count as a finished test package.
progress_filter() {
	local label=$1 total=$2 mode=$3 n=0 last="" line t0=$SECONDS quiet_every=${LOTOU_PROGRESS_QUIET_EVERY:-300}
	local next_quiet=$((SECONDS + quiet_every)) unit=packages
	while :; do
		if IFS= read -r -t 1 line; then
			case "$mode" in
			build)
				printf '%s\n' "$line"
				[[ "$line" =~ ^[A-Za-z0-9_./-]+$ ]] && { n=$((n + 1)); last=$line; }
				;;
			pass)
				if progress_tty; then printf '\r\033[K' >&"$PROGRESS_FD"; fi
				printf '%s\n' "$line"
				if [[ "$line" =~ ^(ok|FAIL|\?)[[:space:]]+([^[:space:]]+) ]]; then
					n=$((n + 1))
					last="${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
				fi
				;;
			esac
		elif (($? <= 128)); then
			break # end of input (a timeout returns > 128)
		fi
		local shown=$n
		((total > 0 && shown > total)) && shown=$total
		local count="$shown"
		((total > 0)) && count="$shown/$total"
		progress_line "$label  $count $unit · $(progress_fmt_secs $((SECONDS - t0))) · $last"
		if ! progress_tty && ((SECONDS >= next_quiet)); then
			printf '%s\n' "$label: still running after $(progress_fmt_secs $((SECONDS - t0))), $count $unit done" >&2
			next_quiet=$((SECONDS + quiet_every))
		fi
	done
	progress_clear
}
