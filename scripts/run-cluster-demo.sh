#!/usr/bin/env bash
# Two meshd nodes on one machine sharing one catalog through etcd
# (docs/cluster.md): installs what is missing, builds, starts one etcd on
# 127.0.0.1:2379 (its data in ./var/cluster-demo/etcd) and the nodes of
# config/cluster/gpu-box.yaml (API 8090, gateway 8000) and
# config/cluster/cpu-box.yaml (API 8190, gateway 8100). Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
mkdir -p var/cluster-demo
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

etcd --name demo --data-dir var/cluster-demo/etcd \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster demo=http://127.0.0.1:2380 >var/cluster-demo/etcd.log 2>&1 &
pids+=($!)
for _ in $(seq 50); do
  curl -sf http://127.0.0.1:2379/health >/dev/null && break
  sleep 0.2
done

./build/meshd run -c config/cluster/gpu-box.yaml >var/cluster-demo/gpu-box.log 2>&1 &
pids+=($!)
./build/meshd run -c config/cluster/cpu-box.yaml >var/cluster-demo/cpu-box.log 2>&1 &
pids+=($!)
cat <<'TEXT'
Two nodes are running (logs in var/cluster-demo/):
  gpu-box  dashboard http://127.0.0.1:8090/   gateway http://127.0.0.1:8000/
  cpu-box  dashboard http://127.0.0.1:8190/   gateway http://127.0.0.1:8100/
Try:
  curl -s localhost:8190/api/v1/nodes
  curl -si localhost:8100/inference/hello | grep X-Mesh-Instance   # cpu-box's gateway, gpu-box's instance
  curl -s localhost:8190/api/v1/discover/scheduler                  # runs on one node only
Ctrl-C stops everything.
TEXT
wait
