#!/usr/bin/env bash
# GET /api/v1/services with N services (default 200), 64 keep-alive
# connections, meshd pinned to CPU 0 and wrk on CPU 1.
# Usage: scripts/bench/api_bench.sh [SERVICES] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-200}
DUR=${2:-10}
command -v wrk >/dev/null || { apt-get update -q >/dev/null; apt-get install -y -q wrk >/dev/null; }
[[ -x build/meshd ]] || scripts/build.sh
WORK=$(mktemp -d /tmp/meshd-api-bench.XXXXXX)
{
  echo "version: 1"
  echo "mesh: {listen: '127.0.0.1:0', data_dir: '$WORK/data', log_level: warn}"
  echo "services:"
  for i in $(seq 1 "$N"); do
    # External instances with no check: the list's size, not the checks, is measured.
    echo "  svc_$i: {address: '127.0.0.1:$((20000 + i))', health: {type: none}, tags: [bench]}"
  done
} >"$WORK/bench.yaml"
taskset -c 0 build/meshd run -c "$WORK/bench.yaml" >"$WORK/meshd.log" 2>&1 &
MESHD=$!
trap 'kill $MESHD 2>/dev/null; wait $MESHD 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do [[ -s $WORK/data/listen ]] && break; sleep 0.05; done
ADDR=$(cat "$WORK/data/listen")
BYTES=$(curl -s "http://$ADDR/api/v1/services" | wc -c)
echo "services: $N, response: $BYTES bytes"
T0=$(awk '{print $14 + $15}' /proc/$MESHD/stat)
taskset -c 1 wrk -t1 -c64 -d"${DUR}s" --latency "http://$ADDR/api/v1/services" | grep -E "Requests/sec|Latency|99%|50%"
T1=$(awk '{print $14 + $15}' /proc/$MESHD/stat)
echo "meshd CPU: $(awk -v d=$((T1 - T0)) -v hz="$(getconf CLK_TCK)" -v s="$DUR" 'BEGIN { printf "%.0f%% of one core", d / hz / s * 100 }')"
