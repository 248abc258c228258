#!/usr/bin/env bash
# Installs what is missing, checks the formatting, compiles the Release build
# (its optimiser warns about things the default build does not see, and
# warnings are errors), runs the unit tests of the modules below the HTTP
# layer under AddressSanitizer and UndefinedBehaviorSanitizer, then builds
# the default (RelWithDebInfo) build and runs the whole suite (unit,
# integration, browser) under CTest, in parallel.
#
# The sanitizer run leaves out unit_api, unit_gateway and unit_daemon: their
# Beast-heavy files take about a minute each to compile with ASan on this
# two-core machine, which would take the suite past its time budget. It does
# build meshd itself with ASan and UBSan and runs the integration tests that
# stop it with live connections, sessions and health probes (startup,
# shutdown, restarts, the gateway's HTTP/2, gRPC and WebSocket, signals):
# the harness fails a test whose meshd printed a sanitizer report, and
# abort_on_error/halt_on_error make meshd die at the first one. The tests
# take about a minute, but compiling meshd with ASan on top of the unit
# tests' objects takes about 25 min with a cold ccache (the API, gateway and
# etcd modules), which a CI run on a new machine cannot afford: that stage
# runs with MESHD_ASAN_INTEGRATION=1 (before a release, and after any change
# to how sessions, loops or threads end).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/check-format.sh
echo "test: compiling the Release build (build-release, no tests)"
MESHD_BUILD_DIR=build-release MESHD_BUILD_TYPE=Release scripts/build.sh -DMESHD_BUILD_TESTS=OFF
echo "test: unit tests under ASan and UBSan (build-asan)"
sanitized=(unit_core unit_config unit_store unit_health unit_balancer unit_breaker unit_registry unit_supervisor
  unit_metrics)
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMESHD_SANITIZE=ON >/dev/null
cmake --build build-asan -j "${MESHD_JOBS:-$(nproc)}" --target "${sanitized[@]}"
for t in "${sanitized[@]}"; do
  MESHD_SOURCE_DIR="$PWD" ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "build-asan/tests/unit/$t" --gtest_brief=1
done
scripts/build.sh "$@"
if [[ "${MESHD_ASAN_INTEGRATION:-0}" != 0 ]]; then
  echo "test: meshd under ASan and UBSan (build-asan/meshd): integration tests that stop it mid-traffic"
  cmake --build build-asan -j "${MESHD_JOBS:-$(nproc)}" --target meshd
  # The demo service is the default build's: under ASan it starts slower, and
  # tests that signal it right after it is running would race its setup.
  sanitized_integration=(test_startup.py test_shutdown.py test_restarts.py test_signals.py
    test_gateway_h2.py test_gateway_grpc.py test_gateway_websocket.py test_gateway_threads.py
    test_gateway_traffic.py)
  root="$PWD"
  (cd tests/integration &&
    MESHD_BIN="$root/build-asan/meshd" MESHD_DEMO_BIN="$root/${MESHD_BUILD_DIR:-build}/meshd-demo-service" \
      MESHD_SOURCE_DIR="$root" ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
      UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      /usr/bin/python3 -m pytest -q -p no:cacheprovider "${sanitized_integration[@]}")
fi
cd "${MESHD_BUILD_DIR:-build}"
ctest -j "${MESHD_TEST_JOBS:-$(nproc)}" --output-on-failure --timeout 600
