#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit and
# integration) under CTest, in parallel.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh "$@"
cd "${MESHD_BUILD_DIR:-build}"
ctest -j "${MESHD_TEST_JOBS:-$(nproc)}" --output-on-failure --timeout 600
