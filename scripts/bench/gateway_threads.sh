#!/usr/bin/env bash
# meshd's gateway on one and on two threads (mesh.gateway_threads) beside
# nginx with one and two worker processes, all balancing the same three
# backends (nginx returning a short body, as in ../shared/bench/proxy-compare.sh), measured with wrk in
# one run so the ratios are comparable.
#
# Usage: scripts/bench/gateway_threads.sh [-d SECONDS] [-c CONNECTIONS] [-r ROUNDS]
# MESHD=path/to/meshd runs another build. Ports: backends B+1..B+3, nginx
# B+11 and B+12, meshd B+21 and B+22 with B=${PORT_BASE:-19300} (not
# proxy-compare.sh's, so the two can run on one machine).
#
# Pinning: none. On this 2-core machine a 2-thread proxy needs both cores,
# so the proxies, the backends (one nginx worker) and wrk (2 threads) all
# share them, as they would on a real host; each proxy runs alone (the
# others idle) while it is measured. Figures: requests/s, p99, and the
# proxy's CPU time per request (every process listening on its port, from
# /proc; meshd's threads are one process). Rounds alternate the order.
# chain_us/req is the whole machine's busy CPU time per request (wrk, the
# proxy, the backends and anything else running), and ceiling_rps what all
# the machine's cores could serve at that cost: no proxy, however many
# threads it runs, gets past it.
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=10
CONNS=64
ROUNDS=1
while getopts "d:c:r:" o; do
  case $o in
    d) DUR=$OPTARG ;;
    c) CONNS=$OPTARG ;;
    r) ROUNDS=$OPTARG ;;
    *) echo "usage: $0 [-d SECONDS] [-c CONNECTIONS] [-r ROUNDS]" >&2; exit 2 ;;
  esac
done
MESHD=${MESHD:-build/meshd}
B=${PORT_BASE:-19300}
BE1=$((B + 1)) BE2=$((B + 2)) BE3=$((B + 3)) NG1=$((B + 11)) NG2=$((B + 12)) MS1=$((B + 21)) MS2=$((B + 22))
[[ -x $MESHD ]] || { echo "no $MESHD: build it first" >&2; exit 1; }
for tool in nginx wrk ss; do
  command -v $tool >/dev/null || { echo "needs $tool (apt-get install nginx-light wrk iproute2)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/meshd-gw-threads.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/logs"

cat >"$WORK/backends.conf" <<EOF
daemon off; worker_processes 1; pid $WORK/backends.pid;
error_log $WORK/logs/backends.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$BE1; location / { return 200 "ok from $BE1\n"; } }
  server { listen 127.0.0.1:$BE2; location / { return 200 "ok from $BE2\n"; } }
  server { listen 127.0.0.1:$BE3; location / { return 200 "ok from $BE3\n"; } }
}
EOF
nginx_conf() {  # workers port
  cat <<EOF
daemon off; worker_processes $1; pid $WORK/nginx$1.pid;
error_log $WORK/logs/nginx$1.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream bench {
    server 127.0.0.1:$BE1; server 127.0.0.1:$BE2; server 127.0.0.1:$BE3;
    keepalive 128;
  }
  server {
    listen 127.0.0.1:$2 reuseport;
    location / {
      proxy_pass http://bench;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
}
meshd_conf() {  # threads port
  cat <<EOF
version: 1
mesh:
  listen: 127.0.0.1:0
  gateway: 127.0.0.1:$2
  gateway_threads: $1
  data_dir: $WORK/data$1
  log_level: warn
services:
  bench:
    address: [127.0.0.1:$BE1, 127.0.0.1:$BE2, 127.0.0.1:$BE3]
    health: { type: tcp, interval: 1s }
    load_balancer: round_robin
EOF
}
nginx_conf 1 $NG1 >"$WORK/nginx1.conf"
nginx_conf 2 $NG2 >"$WORK/nginx2.conf"
meshd_conf 1 $MS1 >"$WORK/meshd1.yaml"
meshd_conf 2 $MS2 >"$WORK/meshd2.yaml"

nginx -c "$WORK/backends.conf" -p "$WORK" & PIDS+=($!)
nginx -c "$WORK/nginx1.conf" -p "$WORK" & PIDS+=($!)
nginx -c "$WORK/nginx2.conf" -p "$WORK" & PIDS+=($!)
"$MESHD" run -c "$WORK/meshd1.yaml" >"$WORK/logs/meshd1.log" 2>&1 & PIDS+=($!)
"$MESHD" run -c "$WORK/meshd2.yaml" >"$WORK/logs/meshd2.log" 2>&1 & PIDS+=($!)

wait_port() {
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "port $1 did not open" >&2; return 1
}
for p in $BE1 $BE2 $BE3 $NG1 $NG2 $MS1 $MS2; do wait_port "$p"; done
sleep 1.5  # meshd's first health checks

cpu_ticks() {
  local port=$1 total=0 pid
  for pid in $(ss -Hltnp "sport = :$port" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
    [[ -r /proc/$pid/stat ]] || continue
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else { print "nan" } }'
}
# Busy ticks of the whole machine (every core: user, nice, system, irq,
# softirq, steal), for what the chain (wrk, proxy, backends) costs in all.
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
# "rps p99_ms non2xx cpu_us_per_req chain_us_per_req ceiling_rps" for URL:
# the ceiling is what the machine's cores could serve at that chain cost.
measure() {
  local port t0 t1 m0 m1 out rps p99 bad reqs
  port=$(sed -E 's#^[a-z]+://[^:/]+:([0-9]+).*#\1#' <<<"$1")
  t0=$(cpu_ticks "$port")
  m0=$(machine_ticks)
  out=$(wrk -t2 -c"$CONNS" -d"${DUR}s" --latency "$1" 2>&1)
  m1=$(machine_ticks)
  t1=$(cpu_ticks "$port")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  bad=$(awk '/Non-2xx/ {print $NF}' <<<"$out"); bad=${bad:-0}
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  local cpu
  cpu=$(awk -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="${reqs:-0}" \
    'BEGIN { if (n > 0) printf "%.2f", d / hz * 1e6 / n; else print "nan" }')
  local chain ceiling
  chain=$(awk -v d=$((m1 - m0)) -v hz="$(getconf CLK_TCK)" -v n="${reqs:-0}" \
    'BEGIN { if (n > 0) printf "%.2f", d / hz * 1e6 / n; else print "nan" }')
  ceiling=$(awk -v c="$chain" -v cores="$(nproc)" 'BEGIN { printf "%.0f", cores * 1e6 / c }')
  echo "$rps $(to_ms "$p99") $bad $cpu $chain $ceiling"
}

NAMES=(nginx-1w nginx-2w meshd-1t meshd-2t)
URLS=(http://127.0.0.1:$NG1/ http://127.0.0.1:$NG2/ http://127.0.0.1:$MS1/bench/ http://127.0.0.1:$MS2/bench/)
echo "# $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg) wrk -t2 -c$CONNS -d${DUR}s, no pinning"
printf "%-9s %11s %8s %7s %11s %13s %12s\n" proxy req/s p99_ms non2xx cpu_us/req chain_us/req ceiling_rps
declare -A RPS CPU
for ((r = 0; r < ROUNDS; r++)); do
  order=(0 1 2 3)
  ((r % 2 == 1)) && order=(3 2 1 0)
  for i in "${order[@]}"; do
    read -r rps p99 bad cpu chain ceiling < <(measure "${URLS[$i]}")
    printf "%-9s %11s %8s %7s %11s %13s %12s\n" "${NAMES[$i]}" "$rps" "$p99" "$bad" "$cpu" "$chain" "$ceiling"
    RPS[${NAMES[$i]}]="${RPS[${NAMES[$i]}]:-} $rps"
    CPU[${NAMES[$i]}]="${CPU[${NAMES[$i]}]:-} $cpu"
  done
done
median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
m1=$(median "${RPS[meshd-1t]}"); m2=$(median "${RPS[meshd-2t]}"); n2=$(median "${RPS[nginx-2w]}")
echo "medians: meshd-2t / meshd-1t = $(awk -v a="$m2" -v b="$m1" 'BEGIN {printf "%.2f", a/b}')," \
  "meshd-2t / nginx-2w = $(awk -v a="$m2" -v b="$n2" 'BEGIN {printf "%.2f", a/b}')"
