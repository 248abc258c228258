#!/usr/bin/env python3
"""Whole-system benchmarks for meshd's supervisor (the issue "meshd launches
and supervises"). Each scenario starts the real build/meshd on 127.0.0.1:0
with a generated config in a temp dir under /tmp, measures, stops it with
SIGTERM and removes the dir.

    python3 scripts/bench/supervisor_bench.py [--quick] [--only NAME ...] [--json FILE]

Scenarios (targets from the issue):
  startup   100 notify services in 4 waves: all ready within 1.5x the slowest chain alone
  crash     a crash is noticed within 10 ms of the child's exit
  rss       meshd's own RSS under 30 MB while supervising 100 services
  flood     a child flooding stdout: meshd keeps up at >= 200 MB/s on one core,
            or drops with a counted marker rather than block the child

Python 3 standard library only. Exits non-zero only when a scenario could not
be run (an error), never because a target was missed. The machine this was
written on has 2 cores shared with other work, so the scenarios report ratios
measured within one run and medians over trials where that is cheap.
"""

import argparse
import json
import os
import pathlib
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import (run_scenarios, DEMO, MB, MESHD, REPO, EventReader, Meshd, demo, free_ports, log, percentile, proc_stat,
                      proc_status, schedstat, wait_all_passing)
from flood_lib import BIG_WRITER, flood_meshd, flood_ref_devnull_or_file, flood_ref_pipe

# ---------------------------------------------------- scenario 1: startup

WAVES, PER_WAVE = 4, 25


def wave_topology(seed=20261123):
    """100 services in 4 waves of 25. Service i of wave k>0 depends (healthy) on
    services i, i+1 and i+5 (mod 25) of wave k-1. Startup delays are drawn from
    200..400 ms with a fixed seed; the slowest chain is the critical path."""
    rng = random.Random(seed)
    name = lambda k, i: f"w{k}s{i:02d}"
    delay, deps = {}, {}
    for k in range(WAVES):
        for i in range(PER_WAVE):
            delay[name(k, i)] = rng.randint(200, 400)
            deps[name(k, i)] = [] if k == 0 else sorted({name(k - 1, (i + d) % PER_WAVE) for d in (0, 1, 5)})
    # Critical path: finish(s) = delay(s) + max finish of its dependencies.
    finish, via = {}, {}
    for k in range(WAVES):
        for i in range(PER_WAVE):
            s = name(k, i)
            best = max(deps[s], key=lambda d: finish[d], default=None)
            finish[s] = delay[s] + (finish[best] if best else 0)
            via[s] = best
    last = max((name(WAVES - 1, i) for i in range(PER_WAVE)), key=lambda s: finish[s])
    chain = [last]
    while via[chain[-1]]:
        chain.append(via[chain[-1]])
    chain.reverse()
    wave_ideal = [max(finish[name(k, i)] for i in range(PER_WAVE)) for k in range(WAVES)]
    return delay, deps, chain, wave_ideal


def startup_config(delay, deps, ports, only=None):
    """Config for all services, or for `only` (a chain: each depends on the one before)."""
    services = {}
    names = only if only else list(delay)
    for idx, s in enumerate(names):
        if only:
            depends = [only[idx - 1]] if idx > 0 else []
        else:
            depends = deps[s]
        services[s] = {
            "command": demo("--notify", "--startup-delay", f"{delay[s]}ms"),
            "port": ports[s],
            "health": {"type": "notify", "start_period": "30s"},
            "depends_on": [{"service": d, "condition": "healthy"} for d in depends],
        }
    return {"version": 1, "mesh": {"listen": "127.0.0.1:0"}, "services": services}


def run_startup_once(config, label):
    """Starts meshd on `config`, waits until all its instances pass; returns timings (ms)."""
    instances = {f"{s}-0" for s in config["services"]}
    with Meshd(config, label=label) as m:
        reader, last, first_pass = wait_all_passing(m, instances, timeout=120)
        start = reader.first("daemon.start")["time_ms"]
        spawns = [e["time_ms"] for e in reader.events
                  if e["type"] == "instance.state" and e["data"].get("to") == "starting"]
        # The spawns that happen together: the first wave, all at start.
        wave0 = [e["time_ms"] for e in reader.events if e["type"] == "instance.state"
                 and e["data"].get("to") == "starting" and e["instance"].startswith("w0")]
        status = proc_status(m.pid)
        _, cpu = proc_stat(m.pid)
        waves = {}
        for inst, t in first_pass.items():
            k = int(inst[1])
            waves[k] = max(waves.get(k, 0), t - start)
        return {
            "ready_ms": last["time_ms"] - start,
            "ready_from_exec_ms": last["time_ms"] - m.start_wall * 1000.0,
            "first_spawn_ms": min(spawns) - start,
            "wave0_spawn_spread_ms": (max(wave0) - min(wave0)) if wave0 else 0,
            "wave_ready_ms": [waves[k] for k in sorted(waves)],
            "rss_kb": status["VmRSS"],
            "meshd_cpu_s": cpu,
        }


def scenario_startup(args, results):
    delay, deps, chain, wave_ideal = wave_topology()
    ideal = sum(delay[s] for s in chain)
    ports = dict(zip(delay, free_ports(len(delay))))
    full_cfg = startup_config(delay, deps, ports)
    chain_cfg = startup_config(delay, deps, ports, only=chain)
    log(f"startup: slowest chain {' -> '.join(chain)}, delays {[delay[s] for s in chain]} ms (sum {ideal} ms)")
    trials = []
    for t in range(args.trials):
        # Alternate the two, so that load from elsewhere hits both alike.
        c = run_startup_once(chain_cfg, "chain")
        f = run_startup_once(full_cfg, "startup100")
        log(f"startup trial {t + 1}: chain {c['ready_ms']} ms, 100 services {f['ready_ms']} ms, "
            f"ratio {f['ready_ms'] / c['ready_ms']:.2f}, waves {f['wave_ready_ms']}")
        trials.append((c, f))
    chain_ms = statistics.median(c["ready_ms"] for c, _ in trials)
    full_ms = statistics.median(f["ready_ms"] for _, f in trials)
    ratios = [f["ready_ms"] / c["ready_ms"] for c, f in trials]
    ratio = statistics.median(ratios)
    results.append(dict(scenario="startup", metric="slowest chain alone: all ready (from daemon.start)",
                        value=f"{chain_ms:.0f} ms", detail=f"delays sum {ideal} ms; trials "
                        + ", ".join(str(c["ready_ms"]) for c, _ in trials)))
    results.append(dict(scenario="startup", metric="100 services / 4 waves: all ready (from daemon.start)",
                        value=f"{full_ms:.0f} ms", detail="trials " + ", ".join(str(f["ready_ms"]) for _, f in trials)
                        + "; each wave all ready at (ms, per trial) "
                        + " | ".join("/".join(str(w) for w in f["wave_ready_ms"]) for _, f in trials)
                        + "; sum of delays on the slowest path to each wave "
                        + "/".join(str(w) for w in wave_ideal)
                        + "; meshd spawned the 25 services of wave 0 over "
                        + ", ".join(str(f["wave0_spawn_spread_ms"]) for _, f in trials) + " ms"))
    results.append(dict(scenario="startup", metric="ratio 100 services / slowest chain (median of per-trial)",
                        value=f"{ratio:.2f}x", target="<= 1.5x", met=ratio <= 1.5,
                        detail="per trial " + ", ".join(f"{r:.2f}" for r in ratios)))
    results.append(dict(scenario="startup", metric="100 services: from exec of meshd to all ready",
                        value=f"{statistics.median(f['ready_from_exec_ms'] for _, f in trials):.0f} ms",
                        detail="first spawn at +"
                        + ", ".join(f"{f['first_spawn_ms']}" for _, f in trials) + " ms after daemon.start"))
    results.append(dict(scenario="startup", metric="meshd CPU time to bring 100 up / RSS at ready",
                        value=f"{statistics.median(f['meshd_cpu_s'] for _, f in trials):.2f} s / "
                              f"{statistics.median(f['rss_kb'] for _, f in trials) / 1024:.1f} MiB"))


# ------------------------------------------------------ scenario 2: crash

# Sleeps a little, then sends "pid unix_ns" in a UDP datagram to the bench on
# 127.0.0.1 (port argv[1]) and exits with 3 at once: the timestamp is taken
# microseconds before the exit. Not a file: while a sibling floods its log,
# any write to the page cache may be throttled (balance_dirty_pages) for
# milliseconds between the timestamp and the exit, which would be charged
# to meshd.
CRASHER = ("import os,socket,sys,time; time.sleep(0.1); "
           "s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a=('127.0.0.1', int(sys.argv[1])); "
           "t=time.time_ns(); s.sendto(b'%d %d' % (os.getpid(), t), a); os._exit(3)")


def run_crash_variant(args, variant):
    """variant: "idle" (meshd unpinned, nothing else), "hog" (meshd on CPU 0
    with a busy loop on CPU 0), "flood" (meshd on CPU 0 logging a sibling that
    floods stdout). Returns (latencies in ms, how long meshd's event-loop
    thread waited for a CPU)."""
    crashes = 10 if args.quick else 20
    pinned = variant in ("hog", "flood")
    stamps = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stamps.bind(("127.0.0.1", 0))
    stamps.setblocking(False)
    cmd = ["python3", "-c", CRASHER, str(stamps.getsockname()[1])]
    services = {"crasher": {
        "command": (["taskset", "-c", "1"] + cmd) if pinned else cmd,
        "health": {"type": "none"},
        "restart": {"policy": "always", "backoff": {"initial": "50ms", "max": "50ms"},
                    "max_restarts": 1000, "window": "10m"}}}
    if variant == "flood":
        # The flooder runs at nice 19 so that it does not delay the crasher's
        # own exit on CPU 1: what is measured is meshd's delay, with its log
        # thread busy on meshd's one core.
        services["flood"] = {"command": ["nice", "-n", "19", "taskset", "-c", "1"] + demo("--flood-stdout"),
                             "port": free_ports(1)[0], "health": {"type": "none"},
                             "logs": {"max_size": "64MB", "keep": 1}}
    config = {"version": 1, "mesh": {"listen": "127.0.0.1:0"}, "services": services}
    exits = {}

    def drain():
        for _ in range(10000):
            try:
                pid, ns = stamps.recv(100).split()
            except BlockingIOError:
                return
            exits[int(pid)] = int(ns)

    hog = None
    if variant == "hog":
        hog = subprocess.Popen(["taskset", "-c", "0", sys.executable, "-c", "while True: pass"])
    try:
        with Meshd(config, cpu=0 if pinned else None, label="crash") as m:
            ss0 = schedstat(m.pid, m.pid)
            reader = EventReader(m)
            deadline = time.monotonic() + 90
            seen = 0
            while seen < crashes and time.monotonic() < deadline:
                time.sleep(0.25)
                drain()
                reader.poll()
                seen = sum(1 for e in reader.events if e["type"] == "instance.state"
                           and e["instance"] == "crasher-0" and e["data"].get("to") in ("backoff", "failed"))
            if seen < crashes:
                raise RuntimeError(f"only {seen} crashes seen within 90 s")
            ss1 = schedstat(m.pid, m.pid)
            m.stop()
        drain()
    finally:
        stamps.close()
        if hog:
            hog.kill()
            hog.wait()
    slices = max(1, ss1[2] - ss0[2])
    loop_wait = {"ms": (ss1[1] - ss0[1]) / 1e6, "per_slice_ms": (ss1[1] - ss0[1]) / 1e6 / slices,
                 "slices": slices}
    # Match each noticed crash to its process: the pid of the "starting" event before it.
    lat = []
    pid = None
    for e in reader.events:
        if e["type"] != "instance.state" or e["instance"] != "crasher-0":
            continue
        if e["data"].get("to") == "starting":
            pid = e["data"].get("pid")
        elif e["data"].get("to") in ("backoff", "failed") and pid in exits:
            # time_ms is truncated to the ms: the true latency lies in
            # [time_ms - exit, time_ms + 1 - exit). Report the upper bound.
            lat.append(e["time_ms"] + 1 - exits[pid] / 1e6)
            pid = None
    if len(lat) < crashes:
        raise RuntimeError(f"matched only {len(lat)} of {crashes} crashes to their exit timestamps")
    return lat, loop_wait


def scenario_crash(args, results):
    labels = {"idle": "idle meshd", "hog": "meshd on CPU 0 with a busy loop on CPU 0",
              "flood": "meshd on CPU 0, a sibling flooding stdout"}
    for variant, label in labels.items():
        lat, loop_wait = run_crash_variant(args, variant)
        p50, p99, mx = percentile(lat, 50), percentile(lat, 99), max(lat)
        log(f"crash ({label}): n={len(lat)} latencies (upper bound, ms) " + " ".join(f"{x:.1f}" for x in lat))
        results.append(dict(scenario="crash", metric=f"exit -> state event, {label} (n={len(lat)})",
                            value=f"p50 {p50:.1f} / p99 {p99:.1f} / max {mx:.1f} ms",
                            target="<= 10 ms", met=mx <= 10.0,
                            detail="upper bounds: event time_ms has 1 ms resolution, so +1 ms is added; "
                                   f"min {min(lat):.1f} ms; meshd's event-loop thread was runnable but "
                                   f"waiting for a CPU {loop_wait['ms']:.0f} ms in all, "
                                   f"{loop_wait['per_slice_ms']:.3f} ms per time slice "
                                   f"({loop_wait['slices']} slices)"))


# -------------------------------------------------------- scenario 3: rss

def open_files_limit(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                return line.split()[3]
    return "?"


def scenario_rss(args, results):
    delay, deps, _, _ = wave_topology()
    ports = dict(zip(delay, free_ports(len(delay))))
    config = startup_config(delay, deps, ports)
    steady = 10 if args.quick else 30
    with Meshd(config, label="rss") as m:
        wait_all_passing(m, {f"{s}-0" for s in delay}, timeout=120)
        at_ready = proc_status(m.pid)
        fds_ready = len(os.listdir(f"/proc/{m.pid}/fd"))
        fd_limit = open_files_limit(m.pid)
        _, cpu0 = proc_stat(m.pid)
        t0 = time.monotonic()
        series = []
        # Steady state with a dashboard-like reader: the service list every 2 s.
        while time.monotonic() - t0 < steady and len(series) < 1000:
            m.get("/api/v1/services")
            series.append(proc_status(m.pid)["VmRSS"])
            time.sleep(min(2.0, max(0.0, steady - (time.monotonic() - t0))))
        after = proc_status(m.pid)
        _, cpu1 = proc_stat(m.pid)
        dt = time.monotonic() - t0
        running = sum(1 for svc in m.get("/api/v1/services")["services"] for i in svc["instances"]
                      if i["state"] == "running")
    log(f"rss: at ready {at_ready}, after {steady}s {after}, fds {fds_ready} (limit {fd_limit}), "
        f"VmRSS series (kB, every 2 s) {series}")
    for when, st in (("all 100 ready", at_ready), (f"after {steady} s steady state", after)):
        results.append(dict(scenario="rss", metric=f"meshd VmRSS (VmHWM), {when}",
                            value=f"{st['VmRSS'] * 1024 / 1e6:.1f} MB ({st['VmHWM'] * 1024 / 1e6:.1f} MB)",
                            target="< 30 MB", met=st["VmRSS"] * 1024 < 30e6 and st["VmHWM"] * 1024 < 30e6,
                            detail=f"{st['VmRSS'] / 1024:.1f} MiB: anon {st['RssAnon'] / 1024:.1f} MiB, "
                                   f"file {st['RssFile'] / 1024:.1f} MiB; {st['Threads']} threads"))
    results.append(dict(scenario="rss", metric=f"meshd CPU over {dt:.0f} s steady state",
                        value=f"{100 * (cpu1 - cpu0) / dt:.1f} % of a core",
                        detail=f"{len(series)} GET /api/v1/services meanwhile; VmRSS after each (MB): "
                               + " ".join(f"{v * 1024 / 1e6:.1f}" for v in series)
                               + f"; {running} instances running at the end; {fds_ready} fds open at ready "
                               f"(soft limit {fd_limit})"))


# ------------------------------------------------------ scenario 4: flood

def scenario_flood(args, results):
    secs = 5 if args.quick else 10
    ref_secs = 3 if args.quick else 5
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="meshd-bench-floodref-", dir="/tmp"))
    demo_ref = ["taskset", "-c", "1", DEMO, "--port", str(free_ports(1)[0]), "--name", "ref", "--quiet",
                "--flood-stdout"]
    big = ["taskset", "-c", "1", sys.executable, "-c", BIG_WRITER]
    producers = (("demo child (--flood-stdout, 4 KiB writes)", demo_ref,
                  ["taskset", "-c", "1"] + demo("--flood-stdout"), "flood-0"),
                 ("64 KiB-block writer", big, big, "bigflood-0"))
    runs = {label: [] for label, *_ in producers}
    try:
        raw_null = flood_ref_devnull_or_file(ref_secs, os.devnull)
        raw_file = flood_ref_devnull_or_file(min(ref_secs, 3), tmp / "flood.out")
        (tmp / "flood.out").unlink()
        pipe_demo, _ = flood_ref_pipe(ref_secs, demo_ref)
        log(f"flood refs: demo child -> /dev/null {raw_null / MB:.0f}, -> file {raw_file / MB:.0f}, "
            f"-> pipe -> reader {pipe_demo / MB:.0f} MB/s")
        # Alternate the reference copier and meshd, so that load from
        # elsewhere on the machine hits both alike; compare within a trial.
        for t in range(args.trials):
            for label, ref_cmd, meshd_cmd, instance in producers:
                copier, copier_cpu = flood_ref_pipe(ref_secs, ref_cmd, tmp / "copy.out")
                r = flood_meshd(secs, meshd_cmd, instance)
                r["copier"], r["copier_cpu"] = copier, copier_cpu
                runs[label].append(r)
                log(f"flood trial {t + 1}, {label}: copier {copier / MB:.0f} MB/s, meshd {r['write_rate'] / MB:.0f} "
                    f"MB/s; {r}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    results.append(dict(scenario="flood", metric="reference: demo child -> /dev/null | file | pipe -> reader",
                        value=f"{raw_null / MB:.0f} | {raw_file / MB:.0f} | {pipe_demo / MB:.0f} MB/s",
                        detail="child on CPU 1; the reader is python on CPU 0, 1 MiB pipe, 64 KiB reads"))
    med = lambda rs, key: statistics.median(r[key] for r in rs)
    for label, rs in runs.items():
        results.append(dict(scenario="flood", metric=f"reference: {label} -> plain copier to file, CPU 0",
                            value=f"{med(rs, 'copier') / MB:.0f} MB/s",
                            detail="per trial " + ", ".join(f"{r['copier'] / MB:.0f}" for r in rs) + " MB/s; "
                                   f"copier CPU {100 * med(rs, 'copier_cpu'):.0f}%, i.e. "
                                   f"{statistics.median(r['copier'] / r['copier_cpu'] for r in rs) / MB:.0f} MB "
                                   "per CPU-second"))
        per_cpu = statistics.median(r["write_rate"] / r["cpu"] for r in rs)
        results.append(dict(scenario="flood", metric=f"meshd's cost logging a {label}",
                            value=f"{per_cpu / MB:.0f} MB per CPU-second",
                            detail="bytes written / meshd CPU time over the interval, median of trials: the rate "
                                   "meshd could reach with a core to itself (an extrapolation)"))
        # "On one core": judge by the trial in which meshd's log thread
        # waited least for its CPU (the machine is shared); show them all.
        best = min(rs, key=lambda r: r["pump_waiting_for_cpu"])
        results.append(dict(
            scenario="flood", metric=f"meshd on CPU 0 logging a {label}",
            value=f"{best['write_rate'] / MB:.0f} MB/s ({best['write_rate'] / best['copier']:.2f}x copier)",
            target=">= 200 MB/s on one core", met=best["write_rate"] >= 200 * MB,
            detail="the trial where meshd's log thread waited least for CPU 0 (runnable but waiting "
                   f"{100 * best['pump_waiting_for_cpu']:.0f}% of the time, on CPU {100 * best['pump_on_cpu']:.0f}%); "
                   "all trials, MB/s written (log thread on CPU / waiting for it): "
                   + ", ".join(f"{r['write_rate'] / MB:.0f} ({100 * r['pump_on_cpu']:.0f}%/"
                               f"{100 * r['pump_waiting_for_cpu']:.0f}%)" for r in rs)
                   + f"; read from the pipe = written ({med(rs, 'read_rate') / MB:.0f} MB/s median); meshd's "
                   f"event-loop thread meanwhile on CPU {100 * med(rs, 'loop_on_cpu'):.0f}%, "
                   f"{med(rs, 'loop_wakeups_per_s'):.0f} time slices/s (medians)"))
        # The issue's alternative to keeping up: drop with a counted marker
        # instead of blocking the child.
        blocked = [r["blocked_share"] for r in rs]
        dropped = any(r["drop_marker"] for r in rs)
        results.append(dict(
            scenario="flood", metric=f"child ({label}) blocked in a pipe write",
            value=f"{100 * statistics.median(blocked):.0f}% of samples (max {100 * max(blocked):.0f}%)",
            target="drops (counted), never blocks", met=dropped and max(blocked) < 0.05,
            detail="per trial " + ", ".join(f"{100 * b:.0f}%" for b in blocked) + " of 20 ms samples of the "
                   f"writing thread's wchan; child CPU {100 * med(rs, 'child_cpu'):.0f}% (median); "
                   f"'dropped' marker in meshd's output or the service's logs: {'seen' if dropped else 'none'}"))


# ------------------------------------------------------------------ main

SCENARIOS = {"startup": scenario_startup, "crash": scenario_crash, "rss": scenario_rss, "flood": scenario_flood}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one trial, shorter intervals")
    ap.add_argument("--only", action="append", choices=sorted(SCENARIOS), help="run only this scenario (repeatable)")
    ap.add_argument("--trials", type=int, default=None, help="trials for the startup scenario (default 3, quick 1)")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    if args.trials is None:
        args.trials = 1 if args.quick else 3
    args.trials = max(1, min(args.trials, 20))
    for binary in (MESHD, DEMO):
        if not os.access(binary, os.X_OK):
            print(f"error: {binary} is missing; build it with "
                  f"cmake --build {REPO}/build --target meshd meshd-demo-service", file=sys.stderr)
            return 2
    if shutil.which("taskset") is None:
        print("error: taskset (util-linux) is needed to pin meshd and its children", file=sys.stderr)
        return 2

    return run_scenarios("supervisor", SCENARIOS, args, value_header="value")


if __name__ == "__main__":
    sys.exit(main())
