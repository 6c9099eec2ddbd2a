#!/usr/bin/env bash
# Compares the core benchmarks of this tree with another git ref (default main) and with protoactor-go, in one
# interleaved run, as CPU time per message. Usage: bench/core/compare.sh [ref] [reps] [messages]
#
# Each benchmark runs a fixed number of messages, alternating the two test binaries reps times; the figure is
# the CPU time (user+sys of the test process, /usr/bin/time) per message, median over the reps, with the load
# average beside it. On the shared 2-core machine wall-clock ns/op swings 2-5x between runs; CPU time does not
# count time spent preempted. protoactor-go runs in both binaries (the same code): the two columns show the
# noise left. The last column is protoactor-go's CPU per message over this tree's (higher is better).
set -euo pipefail
ref="${1:-main}"
reps="${2:-5}"
n="${3:-3000000}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(git -C "$here" rev-parse --show-toplevel)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/base"
git -C "$root" archive "$ref" | tar -x -C "$work/base"
(cd "$work/base/bench" && go test -c -o "$work/base.test" ./core)
(cd "$root/bench" && go test -c -o "$work/this.test" ./core)
cd "$here"
# lotou benchmark -> its protoactor-go peer ("-" for none); calls are 6x fewer (each is ~8x a send).
pairs="LocalSend:ProtoactorLocalSend LocalSend4Pairs:ProtoactorLocalSend4Pairs LocalSendInt:ProtoactorLocalSend
LocalSendInt4Pairs:ProtoactorLocalSend4Pairs LocalCall:ProtoactorLocalCall IdleWake:-"
cpu() { # binary benchmark messages -> CPU ns per message
	local s
	s=$( { /usr/bin/time -f '%U %S' "$work/$1.test" -test.run '^$' -test.bench "^Benchmark$2\$" \
		-test.benchtime "${3}x" -test.count 1 >/dev/null; } 2>&1 | tail -1)
	awk -v n="$3" '{printf "%.1f ", ($1+$2)/n*1e9}' <<<"$s"
}
med() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "# bench/core/compare.sh $ref $reps $n  ($(date -u +%FT%TZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-20s %10s %10s %7s | %-26s %10s %10s | %9s %5s\n' benchmark "$ref" this this/ref peer "peer($ref)" "peer(this)" peer/this load
for p in $pairs; do
	b=${p%%:*} peer=${p##*:} m=$n
	[[ $b == *Call* ]] && m=$((n / 6))
	[[ $b == IdleWake ]] && m=$((n / 10))
	declare -A t=([base]="" [this]="" [pbase]="" [pthis]="")
	for _ in $(seq "$reps"); do
		for v in base this; do
			t[$v]+="$(cpu "$v" "$b" "$m")"
			[[ $peer == - ]] || t[p$v]+="$(cpu "$v" "$peer" "$m")"
		done
	done
	mb=$(med "${t[base]}") mt=$(med "${t[this]}")
	if [[ $peer == - ]]; then
		pb=- pt=- pr=-
	else
		pb=$(med "${t[pbase]}") pt=$(med "${t[pthis]}")
		pr=$(awk -v a="$pt" -v b="$mt" 'BEGIN {printf "%.2f", a/b}')
	fi
	printf '%-20s %10s %10s %7s | %-26s %10s %10s | %9s %5s\n' "$b" "$mb" "$mt" \
		"$(awk -v a="$mb" -v b="$mt" 'BEGIN {printf "%.2f", b/a}')" "$peer" "$pb" "$pt" "$pr" "$(cut -d' ' -f1 /proc/loadavg)"
	unset t
done
