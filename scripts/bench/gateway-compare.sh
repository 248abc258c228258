#!/usr/bin/env bash
# meshd's gateway beside nginx and HAProxy, balancing the same three
# backends, measured by ../shared/bench/proxy-compare.sh in one run.
# meshd runs pinned to CPU 0 like the reference proxies, with breakers,
# outlier detection, retries and request stats on (the defaults).
#
# Usage: scripts/bench/gateway-compare.sh [-d SECONDS] [-c CONNECTIONS]
# MESHD=path/to/meshd runs another build (e.g. a saved copy of the one
# before a change) in the same place.
set -euo pipefail
cd "$(dirname "$0")/../.."
COMPARE=${PROXY_COMPARE:-../shared/bench/proxy-compare.sh}
MESHD=${MESHD:-build/meshd}
[[ -x $MESHD ]] || scripts/build.sh
WORK=$(mktemp -d /tmp/meshd-gw-bench.XXXXXX)
GW_PORT=${GW_PORT:-18000}
cat >"$WORK/bench.yaml" <<YAML
version: 1
mesh:
  listen: 127.0.0.1:0
  gateway: 127.0.0.1:${GW_PORT}
  gateway_threads: 1   # one loop, pinned like the reference proxies (scripts/bench/gateway_threads.sh: 2)
  data_dir: ${WORK}/data
  log_level: warn
services:
  bench:
    address: [127.0.0.1:19101, 127.0.0.1:19102, 127.0.0.1:19103]
    health: { type: tcp, interval: 1s }
    load_balancer: round_robin
YAML
taskset -c 0 "$MESHD" run -c "$WORK/bench.yaml" >"$WORK/meshd.log" 2>&1 &
MESHD_PID=$!
trap 'kill $MESHD_PID 2>/dev/null; wait $MESHD_PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do [[ -s $WORK/data/gateway ]] && break; sleep 0.05; done
bash "$COMPARE" "$@" "meshd=http://127.0.0.1:${GW_PORT}/bench/"
