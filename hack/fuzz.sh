#!/usr/bin/env bash
# Runs every Go fuzz target of the main module for a short, bounded time each.
# Usage: hack/fuzz.sh [duration]   (default 5s per target)
# Targets are found by name, so new ones run without editing this file. The codec's
# FuzzDecodeAlloc (runtime/codec) and FuzzUnmarshalAlloc (runtime/codec/binary) assert
# the decode allocation bound (codec.AllocPerByte per input byte) on every input.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-5s}"
count=0
for pkg in $(go list ./runtime/...); do
  targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
  for target in $targets; do
    echo "== fuzz $pkg $target ($fuzztime)"
    go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -parallel 2
    count=$((count + 1))
  done
done
if [ "$count" -eq 0 ]; then
  echo "hack/fuzz.sh: no fuzz targets found under ./runtime" >&2
  exit 1
fi
echo "hack/fuzz.sh: $count fuzz targets ran for $fuzztime each"
