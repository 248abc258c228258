#!/usr/bin/env bash
# HTTP/2 (h2c) through meshd's gateway beside nginx configured as the same
# h2c proxy, balancing the same three backends, measured with h2load in one
# run so the ratios are comparable. Two cases:
#   h2c->h2c   three `nghttpd --no-tls` backends; nginx `listen ... http2`
#              with `grpc_pass grpc://...` (its h2c upstream), meshd a
#              `protocol: http2` service
#   h2c->h1    three nginx HTTP/1.1 backends; nginx `listen ... http2` with
#              `proxy_pass` and upstream keepalive, meshd a `protocol: http1`
#              service
# Pinning as in ../shared/bench/proxy-compare.sh: the proxies on CPU 0
# (one worker each; meshd with gateway_threads: 1), h2load and the
# backends on CPU 1. Everything binds to 127.0.0.1.
#
# Usage: scripts/bench/h2_compare.sh [-d SECONDS] [-c CONNECTIONS] [-m STREAMS]
# Prints requests/s, failed requests and non-2xx answers ("bad"), the proxy's CPU microseconds per
# request (from /proc) and meshd's ratios to nginx. MESHD=path runs another build.
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=10
CONNS=16
STREAMS=32
while getopts "d:c:m:" o; do
  case $o in
    d) DUR=$OPTARG ;;
    c) CONNS=$OPTARG ;;
    m) STREAMS=$OPTARG ;;
    *) echo "usage: $0 [-d SECONDS] [-c CONNECTIONS] [-m STREAMS]" >&2; exit 2 ;;
  esac
done
MESHD=${MESHD:-build/meshd}
[[ -x $MESHD ]] || { echo "build meshd first ($MESHD)" >&2; exit 1; }
for tool in nginx h2load nghttpd; do
  command -v $tool >/dev/null || { echo "needs $tool (nginx-light, nghttp2-client, nghttp2-server)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/meshd-h2-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/logs" "$WORK/www"
printf 'ok\n' >"$WORK/www/index.html"

# Backends on CPU 1: nghttpd (h2c) on 19121-19123, nginx (HTTP/1.1) on 19101-19103.
for p in 19121 19122 19123; do
  taskset -c 1 nghttpd --no-tls -d "$WORK/www" "$p" >"$WORK/logs/nghttpd-$p.log" 2>&1 & PIDS+=($!)
done
cat >"$WORK/backends.conf" <<NGINX
daemon off; worker_processes 1; pid $WORK/backends.pid;
error_log $WORK/logs/backends.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:19101; location / { return 200 "ok\n"; } }
  server { listen 127.0.0.1:19102; location / { return 200 "ok\n"; } }
  server { listen 127.0.0.1:19103; location / { return 200 "ok\n"; } }
}
NGINX
taskset -c 1 nginx -c "$WORK/backends.conf" -p "$WORK" & PIDS+=($!)

# nginx as the h2c proxy on CPU 0: 19011 to the h2c backends, 19012 to the HTTP/1.1 ones.
cat >"$WORK/nginx.conf" <<NGINX
daemon off; worker_processes 1; pid $WORK/nginx.pid;
error_log $WORK/logs/nginx.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  http2_max_concurrent_streams 128;
  upstream h2 { server 127.0.0.1:19121; server 127.0.0.1:19122; server 127.0.0.1:19123; keepalive 64; }
  upstream h1 { server 127.0.0.1:19101; server 127.0.0.1:19102; server 127.0.0.1:19103; keepalive 128; }
  server { listen 127.0.0.1:19011 http2; location / { grpc_pass grpc://h2; } }
  server {
    listen 127.0.0.1:19012 http2;
    location / { proxy_pass http://h1; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
taskset -c 0 nginx -c "$WORK/nginx.conf" -p "$WORK" & PIDS+=($!)

cat >"$WORK/meshd.yaml" <<YAML
version: 1
mesh:
  listen: 127.0.0.1:0
  gateway: 127.0.0.1:19013
  data_dir: $WORK/data
  log_level: warn
  gateway_threads: 1
services:
  h2:
    address: [127.0.0.1:19121, 127.0.0.1:19122, 127.0.0.1:19123]
    protocol: http2
    health: { type: tcp, interval: 1s }
  h1:
    address: [127.0.0.1:19101, 127.0.0.1:19102, 127.0.0.1:19103]
    health: { type: tcp, interval: 1s }
YAML
taskset -c 0 "$MESHD" run -c "$WORK/meshd.yaml" >"$WORK/logs/meshd.log" 2>&1 & PIDS+=($!)

wait_port() {
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "port $1 did not open" >&2; cat "$WORK"/logs/* >&2; return 1
}
for p in 19121 19122 19123 19101 19102 19103 19011 19012 19013; do wait_port "$p"; done
sleep 2  # the first health checks put meshd's instances in rotation

cpu_ticks() {
  local total=0 pid
  for pid in $(ss -Hltnp "sport = :$1" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
    [[ -r /proc/$pid/stat ]] && total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}

# Prints "req/s failed cpu_us_per_req" for one h2load run against URL.
measure() {
  local port t0 t1 out
  port=$(sed -E 's#^[a-z]+://[^:/]+:([0-9]+).*#\1#' <<<"$1")
  taskset -c 1 h2load -D 1 -c "$CONNS" -m "$STREAMS" -t 1 "$1" >/dev/null 2>&1 || true  # warm-up
  t0=$(cpu_ticks "$port")
  out=$(taskset -c 1 h2load -D "$DUR" -c "$CONNS" -m "$STREAMS" -t 1 "$1" 2>&1)
  t1=$(cpu_ticks "$port")
  local rps done failed
  # "requests: T total, S started, D done, OK succeeded, F failed, E errored, ..."
  # "status codes: A 2xx, B 3xx, C 4xx, D 5xx"
  rps=$(awk '/^finished in/ {print $4}' <<<"$out")
  done=$(awk '/^requests:/ {print $6}' <<<"$out")
  failed=$(awk '/^requests:/ {f = $10} /^status codes:/ {n = $5 + $7 + $9} END {print f + n}' <<<"$out")
  awk -v r="$rps" -v f="$failed" -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="${done:-0}" \
    'BEGIN { printf "%s %s %s\n", r, f, (n > 0 ? sprintf("%.2f", d / hz * 1e6 / n) : "nan") }'
}

printf "%-10s %-7s %11s %7s %11s\n" case proxy req/s bad cpu_us/req
for c in "h2c->h2c 19011 19013/h2/index.html" "h2c->h1 19012 19013/h1/"; do
  read -r name nport mpath <<<"$c"
  read -r nrps nfail ncpu < <(measure "http://127.0.0.1:$nport/index.html")
  read -r mrps mfail mcpu < <(measure "http://127.0.0.1:$mpath")
  printf "%-10s %-7s %11s %7s %11s\n" "$name" nginx "$nrps" "$nfail" "$ncpu"
  printf "%-10s %-7s %11s %7s %11s\n" "$name" meshd "$mrps" "$mfail" "$mcpu"
  awk -v n="$name" -v a="$mrps" -v b="$nrps" -v c="$mcpu" -v d="$ncpu" \
    'BEGIN { printf "%-10s meshd/nginx: %.2fx requests/s, %.2fx CPU per request\n", n, a / b, c / d }'
done
