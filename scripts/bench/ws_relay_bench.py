#!/usr/bin/env python3
"""WebSocket relay benchmark (issue 15): what the gateway adds to a message's
round trip at a steady message rate.

The C++ tool tests/bench/ws/ws_echo_bench (Boost.Beast) is both the echo
server and the client. The echo server runs pinned to one CPU; meshd runs
pinned to one CPU with `gateway_threads: 1` and a service `echo` whose
external address is that echo server; the client, pinned too, sends small
messages over K connections at a fixed total rate, open loop (each latency
counts from the message's due time, so a stall is not hidden), and reports
percentiles, how many messages took over 1 ms, and when the slowest was
due (a stall of the whole machine, which this VM shows now and then for
tens of milliseconds, lands on one round's tail; direct rounds get them
too). Direct and through-the-gateway rounds alternate in one run
(ABBA order: direct first in odd rounds, gateway first in even ones), so
the difference is the gateway's and slow drifts of the machine's load fall
on both. With --fifo the three run SCHED_FIFO, so that other work on a
shared machine (compilers) does not decide the tail. Every loop is bounded
in count and time.

  /usr/bin/python3 scripts/bench/ws_relay_bench.py [--rate 10000] [--seconds 10]
      [--connections 10] [--size 64] [--rounds 3] [--client-cpu 0]
      [--server-cpu 1] [--meshd-cpu 1] [--fifo] [--out FILE]

MESHD_BIN (default build/meshd) and WS_BENCH_BIN (default
build/tests/bench/ws/ws_echo_bench) name the binaries; 127.0.0.1 only.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from benchlib import REPO, Meshd, free_ports, log  # noqa: E402

TOOL = os.environ.get("WS_BENCH_BIN", str(REPO / "build" / "tests" / "bench" / "ws" / "ws_echo_bench"))
FIELDS = ("p50_us", "p90_us", "p99_us", "p999_us", "max_us")


def load():
    """The 1-minute load average, as `uptime` shows it."""
    return float(pathlib.Path("/proc/loadavg").read_text().split()[0])


def placed(cpu, fifo):
    """The argv prefix that pins a command to `cpu`, and with --fifo runs it
    SCHED_FIFO (priority 1), ahead of any ordinary process on that CPU."""
    return ["taskset", "-c", str(cpu)] + (["chrt", "-f", "1"] if fifo else [])


def start_echo_server(cpu, fifo, seconds):
    """The echo server pinned to `cpu`; returns (process, port)."""
    proc = subprocess.Popen(placed(cpu, fifo) + [TOOL, "server", "--port", "0",
                             "--max-seconds", str(int(seconds))],
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()  # "port N", or "" if it exited
    if not line.startswith("port "):
        proc.kill()
        proc.wait(timeout=10)
        raise SystemExit(f"the echo server did not start: {line!r}")
    return proc, int(line.split()[1])


def measure(url, args, pids):
    argv = placed(args.client_cpu, args.fifo) + [TOOL, "client", "--url", url,
            "--connections", str(args.connections), "--rate", str(args.rate),
            "--size", str(args.size), "--seconds", str(args.seconds)]
    for pid in pids:
        argv += ["--pid", str(pid)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=args.seconds + 30)
    if out.returncode != 0:
        raise SystemExit(f"the client failed ({out.returncode}): {out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=10000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--connections", type=int, default=10)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--client-cpu", type=int, default=0)
    ap.add_argument("--server-cpu", type=int, default=1)
    ap.add_argument("--meshd-cpu", type=int, default=1)
    ap.add_argument("--fifo", action="store_true",
                    help="run client, echo server and meshd SCHED_FIFO, ahead of other load")
    ap.add_argument("--out")
    args = ap.parse_args()
    if not 1 <= args.rounds <= 20 or not 0.1 <= args.seconds <= 600:
        raise SystemExit("--rounds must be 1..20 and --seconds 0.1..600")
    if not os.access(TOOL, os.X_OK):
        raise SystemExit(f"{TOOL} is missing: cmake --build build --target ws_echo_bench")

    budget = 120 + 2 * args.rounds * (args.seconds + 30)
    server, echo_port = start_echo_server(args.server_cpu, args.fifo, budget)
    results = []
    try:
        gw_port, = free_ports(1)
        config = {
            "mesh": {"gateway": f"127.0.0.1:{gw_port}", "log_level": "warn", "gateway_threads": 1},
            "services": {"echo": {"address": f"127.0.0.1:{echo_port}", "idle_timeout": "1h",
                                  "health": {"type": "tcp", "interval": "1s"}}},
        }
        with Meshd(config, cpu=args.meshd_cpu, label="ws") as m:
            if args.fifo:  # every thread of meshd, as the other two
                subprocess.run(["chrt", "-a", "-f", "-p", "1", str(m.pid)], check=True,
                               stdout=subprocess.DEVNULL)
            deadline = time.monotonic() + 30
            while not m.get("/api/v1/discover/echo?passing=true")["instances"]:
                if time.monotonic() > deadline:
                    raise SystemExit("the echo service did not pass its check within 30 s")
                time.sleep(0.2)
            paths = {"direct": f"ws://127.0.0.1:{echo_port}/",
                     "gateway": f"ws://127.0.0.1:{gw_port}/echo/"}
            for r in range(1, args.rounds + 1):
                order = ("direct", "gateway") if r % 2 else ("gateway", "direct")
                for name in order:
                    before = load()
                    res = measure(paths[name], args, [m.pid, server.pid])
                    cpu = res.pop("cpu_s")
                    res.update({"round": r, "path": name, "load_1m": before,
                                "meshd_cpu_s": cpu[str(m.pid)], "echo_cpu_s": cpu[str(server.pid)]})
                    log(json.dumps(res))
                    results.append(res)
    finally:
        server.terminate()
        server.wait(timeout=10)

    print(f"{'round':>5} {'path':>8} {'recv':>7} {'lost':>4} {'p50 us':>7} {'p90 us':>7} "
          f"{'p99 us':>7} {'p99.9 us':>8} {'max us':>8} {'max at s':>8} {'>1ms':>5} {'meshd s':>7} "
          f"{'echo s':>6} {'client s':>8} {'load':>5}")
    for x in results:
        print(f"{x['round']:>5} {x['path']:>8} {x['received']:>7} {x['lost']:>4} "
              + " ".join(f"{x[f]:>{8 if f in ('p999_us', 'max_us') else 7}}" for f in FIELDS)
              + f" {x['max_at_s']:>8} {x['over_1ms']:>5} {x['meshd_cpu_s']:>7} {x['echo_cpu_s']:>6} "
              f"{x['client_cpu_s']:>8} "
              f"{x['load_1m']:>5}")
    diffs = []
    for r in range(1, args.rounds + 1):
        d = next(x for x in results if x["round"] == r and x["path"] == "direct")
        g = next(x for x in results if x["round"] == r and x["path"] == "gateway")
        diffs.append(g["p99_us"] - d["p99_us"])
        print(f"round {r}: the gateway adds {g['p50_us'] - d['p50_us']:+.1f} us at p50, "
              f"{g['p99_us'] - d['p99_us']:+.1f} us at p99 (p99 ratio "
              f"{g['p99_us'] / d['p99_us']:.2f}x), {g['p999_us'] - d['p999_us']:+.1f} us at p99.9; "
              f"meshd {g['meshd_cpu_s'] / max(1, g['received']) * 1e6:.1f} us CPU a message")
    met = sum(d < 1000 for d in diffs)
    print(f"p99 added by the gateway: median round {sorted(diffs)[len(diffs) // 2]:+.1f} us, "
          f"worst {max(diffs):+.1f} us; under 1000 us in {met} of {len(diffs)} rounds")
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
