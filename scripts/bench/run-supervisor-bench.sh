#!/usr/bin/env bash
# Runs the supervisor benchmarks (docs/benchmarks.md, "Supervisor") against
# ./build/meshd and keeps the output next to a JSON copy of the results.
#   scripts/bench/run-supervisor-bench.sh [--quick] [--only startup|crash|rss|flood]...
# Set OUT_DIR to keep the files somewhere else (default: a new dir under /tmp).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
for bin in meshd meshd-demo-service; do
  if [[ ! -x "$root/build/$bin" ]]; then
    echo "error: $root/build/$bin is missing; build it with:" >&2
    echo "  cmake --build $root/build --target meshd meshd-demo-service -j1" >&2
    exit 2
  fi
done
out_dir="${OUT_DIR:-$(mktemp -d /tmp/meshd-supervisor-bench.XXXXXX)}"
mkdir -p "$out_dir"
stamp="$(date +%Y%m%d-%H%M%S)"
status=0
python3 "$root/scripts/bench/supervisor_bench.py" --json "$out_dir/supervisor-$stamp.json" "$@" \
  2> >(tee "$out_dir/supervisor-$stamp.log" >&2) | tee "$out_dir/supervisor-$stamp.txt" || status=$?
echo "results: $out_dir/supervisor-$stamp.txt (progress log .log, JSON .json)" >&2
exit "$status"
