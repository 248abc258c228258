#!/usr/bin/env bash
# Installs what is missing, checks the formatting, compiles the Release build
# (its optimiser warns about things the default build does not see, and
# warnings are errors), runs the unit tests under AddressSanitizer and
# UndefinedBehaviorSanitizer, then builds the default (RelWithDebInfo) build
# and runs the whole suite (unit, integration, browser) under CTest, in
# parallel.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/check-format.sh
echo "test: compiling the Release build (build-release, no tests)"
MESHD_BUILD_DIR=build-release MESHD_BUILD_TYPE=Release scripts/build.sh -DMESHD_BUILD_TESTS=OFF
echo "test: unit tests under ASan and UBSan (build-asan)"
MESHD_BUILD_DIR=build-asan scripts/build.sh -DMESHD_SANITIZE=ON
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest -L unit -j "${MESHD_TEST_JOBS:-$(nproc)}" --output-on-failure --timeout 600)
scripts/build.sh "$@"
cd "${MESHD_BUILD_DIR:-build}"
ctest -j "${MESHD_TEST_JOBS:-$(nproc)}" --output-on-failure --timeout 600
