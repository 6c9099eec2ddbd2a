#!/usr/bin/env bash
# Compares the codec benchmarks of this tree with another git ref (default main), side by side in one run.
# Usage: bench/codec/compare.sh [ref] [reps] [iterations]
#
# Each benchmark runs a fixed number of iterations, alternating the two test binaries reps times, and the
# figure is the CPU time (user+sys of the test process, from /usr/bin/time) per iteration. On a shared,
# loaded machine wall-clock ns/op swings by 2-3x between runs; CPU time does not count time spent
# preempted, so ratios of a few percent become visible. Unchanged peers (encoding/gob, msgpack) are
# included as a control: their ratio shows the noise left.
set -euo pipefail
ref="${1:-main}"
reps="${2:-5}"
n="${3:-3000000}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(git -C "$here" rev-parse --show-toplevel)"
work="$(mktemp -d)"
trap 'git -C "$root" worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git -C "$root" worktree add --quiet --detach "$work/base" "$ref"
(cd "$work/base/bench" && go test -c -o "$work/base.test" ./codec)
(cd "$root/bench" && go test -c -o "$work/this.test" ./codec)
benches="A_LotouGob_Encode A_LotouGob_Decode A_LotouGob_DecodeAny Args_LotouGob_Encode Args_LotouGob_Decode
A_LotouBinary_Encode A_LotouBinary_Decode Args_LotouBinary_Encode Args_LotouBinary_Decode
A_StdGobStream_Decode Args_StdGobStream_Decode A_Msgpack_Decode"
cd "$here"
printf '%-26s %14s %14s %7s\n' benchmark "$ref CPU ns/op" "this CPU ns/op" ratio
for b in $benches; do
  declare -A t=([base]="" [this]="")
  for _ in $(seq "$reps"); do
    for name in base this; do
      s=$( { /usr/bin/time -f '%U %S' "$work/$name.test" -test.run '^$' -test.bench "^Benchmark${b}\$" \
        -test.benchtime "${n}x" -test.count 1 >/dev/null; } 2>&1 | tail -1)
      t[$name]+="$(awk -v n="$n" '{printf "%.1f ", ($1+$2)/n*1e9}' <<<"$s")"
    done
  done
  med() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  mb=$(med "${t[base]}"); mt=$(med "${t[this]}")
  printf '%-26s %14s %14s %7s\n' "$b" "$mb" "$mt" "$(awk -v a="$mb" -v b="$mt" 'BEGIN {printf "%.2f", b/a}')"
done
