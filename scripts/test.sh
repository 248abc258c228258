#!/usr/bin/env bash
# Installs what is missing, checks the formatting, builds the default
# (RelWithDebInfo) and the Release build (its optimiser warns about things
# the default build does not see, and warnings are errors), then runs the
# whole test suite (unit and integration) under CTest, in parallel.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/check-format.sh
echo "test: compiling the Release build (build-release, no tests)"
MESHD_BUILD_DIR=build-release MESHD_BUILD_TYPE=Release scripts/build.sh -DMESHD_BUILD_TESTS=OFF
scripts/build.sh "$@"
cd "${MESHD_BUILD_DIR:-build}"
ctest -j "${MESHD_TEST_JOBS:-$(nproc)}" --output-on-failure --timeout 600
