#!/usr/bin/env bash
# Installs what is missing, builds, and runs meshd on the demo config.
# Extra arguments go to `meshd run`, e.g. --env production.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
exec ./build/meshd run -c config/production_services.yaml "$@"
