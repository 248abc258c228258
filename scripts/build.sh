#!/usr/bin/env bash
# Installs what is missing and builds meshd into ./build (Ninja, ccache).
# Extra arguments go to CMake's configure step, e.g. -DMESHD_SANITIZE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BUILD_DIR=${MESHD_BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${MESHD_BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
cmake --build "$BUILD_DIR" -j "${MESHD_JOBS:-$(nproc)}"
