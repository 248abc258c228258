#!/usr/bin/env python3
"""Rollouts under wrk (issue 14, docs/reload.md): each scenario of
tests/integration/test_rollout*.py through the real gateway at a fixed
request rate, counting what the clients lost.

    python3 scripts/bench/rollout_bench.py [--rate 200] [--connections 4] [--before 5]
                                           [--only SCENARIO ...] [--out FILE.json]

Scenarios (services made of tests/integration/rollout_app.py with the
tests' settings: health every 200 ms, rollout min_healthy 1s, deadline 8s):
  rolling           3 replicas, a reload changes $VERSION
  restart           1 replica, POST /api/v1/services/web/restart
  crash_after_pass  1 replica, the new version passes once and exits 0.2 s later
  never_pass        1 replica, the new version's check always answers 503
  fail_after_pass   1 replica, the new version passes twice, then answers 503
  canary_promote    2 replicas, canary: 1, promoted 2 s after waiting_promote
  canary_abort      2 replicas, canary: 1, aborted 2 s after waiting_promote

wrk (Debian package wrk) runs with as many threads as connections and
scripts/bench/rollout_bench.lua, which paces each connection with delay()
and records every answer's time, latency and status. "before" is the
--before seconds before the rollout starts (after a 1 s warm-up);
"during" is from the request that starts it until its state is final.
Measured per scenario: requests sent, non-2xx answers, wrk's socket errors
(connect, read, write, timeout), p99 latency before and during, and the
rollout's duration (started_ms to finished_ms from the API). Prints a
table; --out writes the figures as JSON. Exits non-zero when a scenario
could not be run (not when it lost requests: that is a figure).
"""

import argparse
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from meshd_harness import MESHD_BIN, Meshd, free_ports, pid_alive, wait_until  # noqa: E402
from rollout_harness import DONE, app, config, pids, reload, rollout_of, wait_passing, wait_rollout  # noqa: E402

LUA = pathlib.Path(__file__).resolve().with_suffix(".lua")


def log(msg):
    print(f"[rollout-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list; None if empty."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, -(-len(v) * p // 100) - 1))
    return v[int(k)]


class Wrk:
    """wrk at a fixed rate until stopped (SIGINT: wrk stops and runs done())."""

    def __init__(self, gateway, path, rate, connections, workdir):
        self.out = pathlib.Path(workdir) / "wrk-answers.txt"
        env = dict(os.environ, ROLLOUT_BENCH_RATE=str(rate / connections), ROLLOUT_BENCH_OUT=str(self.out),
                   ROLLOUT_BENCH_CONNECTIONS=str(connections), ROLLOUT_BENCH_PATH=path)
        self.stdout = pathlib.Path(workdir) / "wrk-stdout.txt"
        self.proc = subprocess.Popen(
            ["wrk", f"-t{connections}", f"-c{connections}", "-d120s", "--timeout", "5s", "-s", str(LUA), gateway + "/"],
            stdout=open(self.stdout, "w"), stderr=subprocess.STDOUT, env=env)
        self.started = time.monotonic()

    def stop(self):
        """Stops wrk; returns ([(end s, latency ms, status)], {error kind: count})."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("wrk did not stop within 30 s of SIGINT")
        if not self.out.exists():
            raise RuntimeError(f"wrk wrote no answers: {self.stdout.read_text()[-500:]}")
        answers, errors = [], {}
        for line in self.out.read_text().splitlines():
            parts = line.split()
            if parts[0] == "errors":
                errors = dict(zip(("connect", "read", "write", "status", "timeout"), map(int, parts[1:])))
            else:
                answers.append((int(parts[0]) / 1e6, int(parts[1]) / 1e3, int(parts[2])))
        return answers, errors


def measure(name, services, trigger, args):
    """Starts meshd with services, wrk through the gateway on /web/x, and
    after --before seconds trigger(m) (which starts the rollout and returns
    once its state is final, with the rollout). Returns the figures."""
    tmp = tempfile.mkdtemp(prefix=f"meshd-rollout-bench-{name}-", dir="/tmp")
    try:
        with Meshd(tmp, config(services)) as m:
            for svc, spec in services.items():
                wait_passing(m, svc, spec.get("replicas", 1))
            wrk = Wrk(m.gateway, "/web/x", args.rate, args.connections, tmp)
            try:
                time.sleep(1 + args.before)
                t_start = time.monotonic()
                rollout = trigger(m)
                t_done = time.monotonic()
                time.sleep(1)  # a second after: the old instances are gone
            finally:
                answers, errors = wrk.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    before = [a for a in answers if t_start - args.before <= a[0] < t_start]
    during = [a for a in answers if t_start <= a[0] <= t_done]
    after = [a for a in answers if a[0] > t_done]
    bad = [a for a in answers if not 200 <= a[2] < 300]
    socket_errors = sum(v for k, v in errors.items() if k != "status")
    started, finished = rollout.get("started_ms"), rollout.get("finished_ms")
    by_status = {}
    for a in bad:
        by_status[a[2]] = by_status.get(a[2], 0) + 1
    return {
        "scenario": name,
        "state": rollout.get("state"),
        "reason": rollout.get("reason") or "",
        "requests": len(answers) + socket_errors,
        "requests_during": len(during),
        "non_2xx": len(bad),
        "non_2xx_during": len([a for a in during if not 200 <= a[2] < 300]),
        "non_2xx_by_status": by_status,
        "socket_errors": errors,
        "p99_before_ms": percentile([a[1] for a in before], 99),
        "p99_during_ms": percentile([a[1] for a in during], 99),
        "p99_after_ms": percentile([a[1] for a in after], 99),
        "max_during_ms": max((a[1] for a in during), default=None),
        "rollout_s": (finished - started) / 1000 if started and finished else None,
        "observed_s": round(t_done - t_start, 3),
    }


def rolled(replicas=1, mode="healthy"):
    """Version 1 of web, and a trigger that reloads it to version 2 in mode
    and waits for the final state (a revert passes through `failed`)."""
    port = free_ports(1, span=replicas + 2)[0]
    second = {"web": app(port, 2, mode, replicas=replicas)}

    def trigger(m):
        reload(m, config(second))
        return wait_rollout(m, "web", DONE if mode == "healthy" else ("reverted", "succeeded"), timeout=60)
    return {"web": app(port, 1, replicas=replicas)}, trigger


def scenario_restart():
    port = free_ports(1)[0]

    def trigger(m):
        (old,) = pids(m, "web").values()
        status, _, body = m.api("POST", "/api/v1/services/web/restart")
        if status != 202:
            raise RuntimeError(f"restart answered {status}: {body}")
        wait_until(lambda: not pid_alive(old) and
                   len(m.get("/api/v1/discover/web?passing=true")["instances"]) == 1, timeout=60,
                   what="the restart to replace the process")
        r = rollout_of(m, "web")
        return wait_rollout(m, "web", DONE, timeout=30) if r.get("state") else r
    return {"web": app(port, 1)}, trigger


def scenario_canary(action):
    port = free_ports(1, span=4)[0]
    second = {"web": app(port, 2, replicas=2, rollout={"canary": 1})}

    def trigger(m):
        reload(m, config(second))
        wait_rollout(m, "web", ("waiting_promote",), timeout=60)
        time.sleep(2)
        status, _, body = m.api("POST", f"/api/v1/services/web/rollout/{action}")
        if status != 200:
            raise RuntimeError(f"{action} answered {status}: {body}")
        return wait_rollout(m, "web", ("succeeded",) if action == "promote" else ("reverted",), timeout=60)
    return {"web": app(port, 1, replicas=2, rollout={"canary": 1})}, trigger


SCENARIOS = {
    "rolling": lambda: rolled(replicas=3),
    "restart": scenario_restart,
    "crash_after_pass": lambda: rolled(mode="crash_after_pass"),
    "never_pass": lambda: rolled(mode="never_pass"),
    "fail_after_pass": lambda: rolled(mode="fail_after_pass"),
    "canary_promote": lambda: scenario_canary("promote"),
    "canary_abort": lambda: scenario_canary("abort"),
}


def fmt(v, digits=1):
    return "-" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def print_table(results):
    head = ("scenario", "requests", "during", "non-2xx", "socket errors", "p99 before ms", "p99 during ms",
            "max during ms", "rollout s", "state")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in results:
        if r.get("error"):
            print(f"| {r['scenario']} | could not run: {r['error']} |")
            continue
        errs = sum(v for k, v in r["socket_errors"].items() if k != "status")
        print("| " + " | ".join([
            r["scenario"], str(r["requests"]), str(r["requests_during"]),
            str(r["non_2xx"]) + (f" {r['non_2xx_by_status']}" if r["non_2xx"] else ""), str(errs),
            fmt(r["p99_before_ms"], 2), fmt(r["p99_during_ms"], 2), fmt(r["max_during_ms"], 2),
            fmt(r["rollout_s"], 2), str(r["state"])]) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=200, help="requests per second over all connections")
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--before", type=float, default=5, help="seconds of load measured before the rollout")
    ap.add_argument("--only", action="append", choices=sorted(SCENARIOS), help="run only this scenario (repeatable)")
    ap.add_argument("--out", help="also write the figures to this JSON file")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("rollout_bench: wrk is not installed (Debian package wrk; scripts/install-deps.sh installs it)")
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, timeout=10).stdout.strip()
    print(f"meshd rollout benchmark, {time.strftime('%Y-%m-%d %H:%M %Z')}, {os.cpu_count()} CPUs (shared), "
          f"load average {os.getloadavg()[0]:.2f} at start; {MESHD_BIN}, repo HEAD {head}; "
          f"wrk {args.rate:g} req/s over {args.connections} connections")
    results, errors = [], 0
    for name in args.only or list(SCENARIOS):
        log(f"--- {name}")
        try:
            services, trigger = SCENARIOS[name]()
            r = measure(name, services, trigger, args)
            log(f"{name}: {r}")
        except Exception as e:  # report it and go on with the next scenario
            errors += 1
            r = {"scenario": name, "error": f"{type(e).__name__}: {e}"[:300]}
            log(f"{name} could not run: {e!r}")
        results.append(r)
    print()
    print_table(results)
    print(f"\nload average at end {os.getloadavg()[0]:.2f}")
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps({"rate": args.rate, "connections": args.connections,
                                                      "before_s": args.before, "head": head,
                                                      "results": results}, indent=1))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
