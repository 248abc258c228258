#!/usr/bin/env bash
# Runs the dashboard's end-to-end tests (tests/e2e) in a real browser:
# Debian's chromium driven by playwright-core, against the real meshd.
# Installs chromium, node and npm from Debian when missing, and
# playwright-core from npm when tests/e2e/node_modules lacks it (never a
# browser download).
#   scripts/e2e.sh                    all tests
#   scripts/e2e.sh scale.test.mjs     some of them
#   scripts/e2e.sh screenshots        regenerate docs/images/dashboard-*.png
# MESHD_BIN / MESHD_DEMO_BIN (or MESHD_BUILD_DIR) pick the binaries.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${MESHD_BUILD_DIR:-$ROOT/build}
export MESHD_BIN=${MESHD_BIN:-$BUILD/meshd}
export MESHD_DEMO_BIN=${MESHD_DEMO_BIN:-$BUILD/meshd-demo-service}
export MESHD_SOURCE_DIR=$ROOT

if [[ ! -x ${CHROMIUM_BIN:-/usr/bin/chromium} ]] || ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  MESHD_WITH_BROWSER=1 "$ROOT/scripts/install-deps.sh"
fi
for bin in "$MESHD_BIN" "$MESHD_DEMO_BIN"; do
  [[ -x $bin ]] || { echo "e2e: $bin is missing; build first (scripts/build.sh)" >&2; exit 1; }
done

cd "$ROOT/tests/e2e"
if [[ ! -f node_modules/playwright-core/package.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error
fi

if [[ ${1:-} == screenshots ]]; then
  shift
  exec node screenshots.mjs "$@"
fi
if (($# == 0)); then
  set -- *.test.mjs
fi
exec node --test --test-concurrency=1 --test-timeout=240000 "$@"
