#!/usr/bin/env bash
# Runs the browser test: installs Debian's chromium when no Chromium is
# found (apt-get, needs root), then drives it with LOTOU_BROWSER=1.
# Usage: test/browser/run.sh   (make test-browser)
set -euo pipefail
cd "$(dirname "$0")/../.."
chromium="${LOTOU_CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}"
if [ -z "$chromium" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "test/browser/run.sh: no chromium found and not root to install it (apt-get install chromium)" >&2
    exit 1
  fi
  echo "== installing chromium (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  chromium="$(command -v chromium)"
fi
export LOTOU_CHROMIUM="$chromium" LOTOU_BROWSER=1
export LOTOU_ARTIFACTS="${LOTOU_ARTIFACTS:-$PWD/bin/browser}"
go test -count=1 -timeout 5m ./test/browser/
