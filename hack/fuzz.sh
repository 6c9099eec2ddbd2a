#!/usr/bin/env bash
# Runs every Go fuzz target of the main module for a short, bounded time each.
# Usage: hack/fuzz.sh [duration]   (default 5s per target)
# Targets are found by name, so new ones run without editing this file. The codec's
# FuzzDecodeAlloc (runtime/codec) and FuzzUnmarshalAlloc (runtime/codec/binary) assert
# the decode allocation bound (codec.AllocPerByte per input byte) on every input.
# runtime/transport's FuzzHandshakeServer plays arbitrary frames to the listener side of the
# Noise handshake (it must never accept and never reveal the node), FuzzDecodeIdentity the
# identity message decoder. runtime/gate's FuzzDecodeMessage feeds hostile game-client bytes to
# the gate protocol decoder (never a panic; what it accepts re-encodes to the same bytes),
# FuzzDecodeMatchesCodec holds it to the "binary" codec, and FuzzTCPReader / FuzzWSReader feed
# hostile byte streams to the gate's TCP framing and its own RFC 6455 frame reader (never a
# panic, never a message over the limit, allocation bounded by a small multiple of the bytes read).
#
# Go 1.26's fuzz coordinator can report a bare "context deadline exceeded" as a failure when a
# duration -fuzztime runs out while a worker is mid-call under CPU contention (golang/go#75804,
# fixed in Go 1.27): no input failed, nothing is written to testdata/fuzz. A run whose only
# failure is exactly that line is run once more; anything else (a reproducer written, a panic,
# a t.Fatal line, a second deadline failure) fails. Drop the retry when go.mod moves to 1.27.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-5s}"
count=0
retried=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# upstream_deadline_only LOG: true when the run's only failure is the coordinator's bare
# "context deadline exceeded" (the lines between "--- FAIL:" and the closing "FAIL" are just that).
upstream_deadline_only() {
  grep -q 'Failing input written' "$1" && return 1
  grep -q '^panic:' "$1" && return 1
  local body
  body=$(awk '/^--- FAIL: /{in_fail=1; next} in_fail && /^FAIL$/{in_fail=0} in_fail' "$1")
  [ "$(printf '%s' "$body" | sed 's/^[[:space:]]*//')" = "context deadline exceeded" ]
}

for pkg in $(go list ./runtime/...); do
  targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
  for target in $targets; do
    echo "== fuzz $pkg $target ($fuzztime)"
    if ! go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -parallel 2 2>&1 | tee "$log"; then
      if ! upstream_deadline_only "$log"; then
        exit 1
      fi
      echo "== fuzz $pkg $target: only the coordinator's deadline race (golang/go#75804); running it once more"
      retried=$((retried + 1))
      go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -parallel 2
    fi
    count=$((count + 1))
  done
done
if [ "$count" -eq 0 ]; then
  echo "hack/fuzz.sh: no fuzz targets found under ./runtime" >&2
  exit 1
fi
echo "hack/fuzz.sh: $count fuzz targets ran for $fuzztime each ($retried rerun after golang/go#75804)"
