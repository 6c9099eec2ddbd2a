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
