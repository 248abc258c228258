#!/usr/bin/env python3
"""Whole-system benchmark of meshd's cluster mode (issue 13, docs/cluster.md):
a 3-member etcd (tests/integration/etcd_cluster.py) and meshd nodes a, b, c
with 1,000 registered instances each, plus an observer node d that owns
none and so holds every other node's instances as remote ones.

    python3 scripts/bench/cluster_bench.py [--quick] [--instances N] [--samples N]
                                           [--lease-ttl SECONDS] [--out FILE.json]

Measures (targets from the issue):
  visibility   a registration on a seen by a blocking discovery query on c
               (p50/p99 over --samples registrations; target p99 50 ms)
  writes       etcd writes (meshd_cluster_writes_total) per instance change
               (a TTL instance turning passing; target 1), per registration,
               and while nothing changes (target 0)
  rss          meshd's RSS on d holding 3 x N remote instances, and on a
  node_gone    a SIGKILLed node's N instances gone from the others
               (target lease_ttl + 1 s)
  failover     a `placement: singleton` service declared on a and b: its
               holder SIGKILLed, the other's process started
               (target lease_ttl + start time + 1 s)

Python 3 standard library only. Every wait is bounded; the whole run stops
after --timeout seconds. Prints a markdown table; --out writes the figures
as JSON. Exits non-zero only when the run could not be made.
"""

import argparse
import http.client
import json
import os
import pathlib
import shutil
import signal
import sys
import tempfile
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from cluster_stamper import starts, stamper_service  # noqa: E402
from etcd_cluster import EtcdCluster, etcd_available  # noqa: E402
from meshd_harness import MESHD_BIN, Meshd, free_ports, pid_alive  # noqa: E402


def log(msg):
    print(f"[cluster-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def percentile(values, p):
    v = sorted(values)
    k = max(0, min(len(v) - 1, -(-len(v) * p // 100) - 1))
    return v[int(k)]


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self, cap):
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError("the benchmark ran past --timeout")
        return min(cap, left)


class Api:
    """One keep-alive connection to a node's REST API."""

    def __init__(self, node, timeout=30):
        host, port = node.base[len("http://"):].rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=timeout)

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        self.conn.request(method, path, body=data, headers=headers)
        res = self.conn.getresponse()
        raw = res.read()
        return res.status, res.headers, (json.loads(raw) if raw else None)

    def ok(self, method, path, body=None):
        status, headers, parsed = self.call(method, path, body)
        if status not in (200, 201):
            raise RuntimeError(f"{method} {path} -> {status}: {str(parsed)[:300]}")
        return parsed, headers

    def close(self):
        self.conn.close()


def metric(node, name):
    api = Api(node)
    try:
        api.conn.request("GET", "/metrics")
        text = api.conn.getresponse().read().decode()
    finally:
        api.close()
    total = None
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total = (total or 0.0) + float(line.rsplit(" ", 1)[1])
    return total


def ids(node, service):
    status, _, body = Api(node).call("GET", f"/api/v1/discover/{service}")
    return set() if status == 404 else {i["id"] for i in body["instances"]}


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_for(predicate, deadline, cap, what, interval=0.02):
    end = time.monotonic() + deadline.left(cap)
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {cap} s")


class Bench:
    def __init__(self, args):
        self.args = args
        self.deadline = Deadline(args.timeout)
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="meshd-cluster-bench-"))
        self.stamp = self.root / "stamp"
        self.etcd = None
        self.nodes = {}
        self.results = {"config": {"instances_per_node": args.instances, "samples": args.samples,
                                   "lease_ttl_s": args.lease_ttl, "etcd_members": 3,
                                   "cpus": os.cpu_count(), "load_average": os.getloadavg()[0]}}

    def node(self, name, services):
        cfg = {"mesh": {"cluster": {"prefix": "/bench/", "lease_ttl": f"{self.args.lease_ttl}s"}},
               "services": services}
        n = Meshd(self.root, cfg, args=["--node", name, "--etcd", self.etcd.endpoints,
                                        "--log-level", "warn"], name=f"node-{name}")
        n.node = name
        self.nodes[name] = n
        return n.start()

    def setup(self):
        self.etcd = EtcdCluster(3, base_dir=str(self.root)).start()
        pools = {"pool": {"address": [], "health": {"type": "tcp"}},
                 "probe": {"address": [], "health": {"type": "tcp"}}}
        for name in "abc":
            services = dict(pools)
            if name in "ab":
                services["jobs"] = stamper_service(self.stamp, name)
            self.node(name, services)
        self.node("d", dict(pools))
        n = self.args.instances
        port = free_ports(1)[0]
        t0 = time.monotonic()
        for name in "abc":
            api = Api(self.nodes[name])
            for i in range(n):
                api.ok("POST", "/api/v1/registry", {"service": "pool", "id": f"{name}{i}", "address": "127.0.0.1",
                                                    "port": port, "check": {"type": "none"}})
            api.close()
        posted = time.monotonic() - t0
        d = self.nodes["d"]
        wait_for(lambda: len(ids(d, "pool")) == 3 * n, self.deadline, 300, f"{3 * n} instances on d", 0.2)
        self.results["setup"] = {"registrations": 3 * n, "post_seconds": round(posted, 2),
                                 "all_visible_on_d_seconds": round(time.monotonic() - t0, 2)}
        log(f"{3 * n} registrations posted in {posted:.1f} s, all on d after {time.monotonic() - t0:.1f} s")

    def visibility(self):
        a, c = self.nodes["a"], self.nodes["c"]
        poster, watcher = Api(a), Api(c)
        _, headers = watcher.ok("GET", "/api/v1/discover/probe")
        index = int(headers["X-Mesh-Index"])
        samples = []
        for i in range(self.args.samples):
            self.deadline.left(1)
            want = f"v{i}@a"
            got = {}

            def block():
                w = Api(c)
                try:
                    while True:  # re-park on a wake-up without ours (bounded by the wait and the join)
                        status, h, body = w.call("GET", f"/api/v1/discover/probe?index={got['index']}&wait=5s")
                        got["t"] = time.perf_counter()
                        got["index"] = int(h["X-Mesh-Index"])
                        if want in {x["id"] for x in body["instances"]} or time.perf_counter() - got["t0"] > 5:
                            return
                finally:
                    w.close()

            got["index"], got["t0"] = index, time.perf_counter() + 3600
            t = threading.Thread(target=block, daemon=True)
            t.start()
            time.sleep(0.01)  # parked
            got["t0"] = time.perf_counter()
            poster.ok("POST", "/api/v1/registry", {"service": "probe", "id": f"v{i}", "address": "127.0.0.1",
                                                   "port": 9, "check": {"type": "none"}})
            t.join(timeout=10)
            if "t" not in got or want not in ids(c, "probe"):
                raise RuntimeError(f"registration v{i} on a not seen on c within 5 s")
            samples.append((got["t"] - got["t0"]) * 1000)
            index = got["index"]
        poster.close()
        watcher.close()
        self.results["visibility_ms"] = {"samples": len(samples), "p50": round(percentile(samples, 50), 2),
                                         "p99": round(percentile(samples, 99), 2),
                                         "max": round(max(samples), 2), "target_p99": 50}

    def writes(self):
        a, d = self.nodes["a"], self.nodes["d"]
        api = Api(a)
        k = min(200, self.args.instances)
        w0 = metric(a, "meshd_cluster_writes_total")
        for i in range(k):
            api.ok("POST", "/api/v1/registry", {"service": "probe", "id": f"t{i}", "address": "127.0.0.1",
                                                "port": 9, "check": {"type": "ttl", "ttl": "10m"}})
        wait_for(lambda: sum(x.startswith("t") for x in ids(d, "probe")) == k, self.deadline, 60,
                 "ttl registrations on d", 0.1)
        time.sleep(1)
        w1 = metric(a, "meshd_cluster_writes_total")
        for i in range(k):
            api.ok("PUT", f"/api/v1/registry/probe/t{i}/ttl")
        time.sleep(2)
        w2 = metric(a, "meshd_cluster_writes_total")
        time.sleep(5)
        w3 = metric(a, "meshd_cluster_writes_total")
        api.close()
        self.results["etcd_writes"] = {"per_registration": round((w1 - w0) / k, 2),
                                       "per_instance_change": round((w2 - w1) / k, 2),
                                       "idle_5s": w3 - w2, "changes": k, "target_per_change": 1}

    def rss(self):
        self.results["rss_kb"] = {name: rss_kb(n.proc.pid) for name, n in self.nodes.items()}
        self.results["rss_kb"]["remote_instances_on_d"] = len(ids(self.nodes["d"], "pool"))

    def node_gone(self):
        """c (N instances) SIGKILLed: when etcd deleted its node record (its
        lease expired), when each other node logged node.lost, and when
        their discovery no longer listed any of its instances."""
        c = self.nodes["c"]
        others = [n for n in self.nodes.values() if n is not c and n.proc.poll() is None]
        theirs = {f"c{i}@c" for i in range(self.args.instances)}
        expired = self.watch_delete("/bench/nodes/c")
        killed_wall = time.time()
        killed = time.monotonic()
        c.proc.send_signal(signal.SIGKILL)
        c.proc.wait(timeout=10)
        # Cheap polls first (the nodes list), so as not to slow down what is
        # measured; the discovery body of thousands of instances after.
        seen_lost, gone = {}, {}
        end = killed + self.deadline.left(self.args.lease_ttl + 60)
        while len(gone) < len(others) and time.monotonic() < end:
            for n in others:
                if n.node not in seen_lost:
                    states = {x["name"]: x["state"] for x in Api(n).ok("GET", "/api/v1/nodes")[0]["nodes"]}
                    if states.get("c", "lost") != "alive":
                        seen_lost[n.node] = time.monotonic() - killed
                elif n.node not in gone and not (ids(n, "pool") & theirs):
                    gone[n.node] = time.monotonic() - killed
            time.sleep(0.1)
        if len(gone) < len(others):
            raise RuntimeError(f"c's instances still listed after {end - killed:.0f} s: {gone}")
        lost = {}
        for n in others:
            events = Api(n).ok("GET", "/api/v1/events?since=0&limit=10000")[0]["events"]
            t = [e["time_ms"] for e in events if e["type"] == "node.lost" and (e.get("data") or {}).get("node") == "c"]
            if t:
                lost[n.node] = round(t[0] / 1000 - killed_wall, 2)
        expired["thread"].join(timeout=5)
        self.results["node_gone_s"] = {"instances_gone": {k: round(v, 2) for k, v in gone.items()},
                                       "node_lost_event": lost, "target": self.args.lease_ttl + 1,
                                       "etcd_deleted_its_record": round(expired["at"] - killed_wall, 2)
                                       if "at" in expired else None}

    def watch_delete(self, key):
        """etcd's own clock for a node's lease expiry: `etcdctl watch KEY`
        in a thread, noting when the DELETE arrives (at most 60 s)."""
        import subprocess
        out = {}
        proc = subprocess.Popen(self.etcd.etcdctl_argv("watch", key), stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, env=dict(os.environ, ETCDCTL_API="3"))

        def read():
            timer = threading.Timer(60, proc.kill)
            timer.start()
            try:
                for line in proc.stdout:
                    if line.strip() == "DELETE":
                        out["at"] = time.time()
                        break
            finally:
                timer.cancel()
                proc.kill()
                proc.wait(timeout=10)

        out["thread"] = threading.Thread(target=read, daemon=True)
        out["thread"].start()
        time.sleep(0.3)  # the watch is set up
        return out

    def failover(self):
        """The singleton's holder SIGKILLed: until the other node's process
        stamps its start. Also counts the runs before the kill (more than
        one: the holder fenced itself or lost the election meanwhile)."""
        before = wait_for(lambda: (s := starts(self.stamp)) and pid_alive(s[-1][3]) and s, self.deadline, 30,
                          f"the singleton to run (stamps: {starts(self.stamp)})", 0.1)
        _, holder, _, pid = before[-1]
        other = "b" if holder == "a" else "a"
        start_time = self.start_time()
        killed = time.time()
        self.nodes[holder].proc.send_signal(signal.SIGKILL)
        self.nodes[holder].proc.wait(timeout=10)
        wait_for(lambda: not pid_alive(pid), self.deadline, 5, "the singleton to die with its node", 0.005)
        runs = wait_for(lambda: len(starts(self.stamp)) > len(before) and starts(self.stamp), self.deadline,
                        self.args.lease_ttl + 60, "the other node to start the singleton", 0.01)
        _, node, started, _ = runs[len(before)]
        self.results["failover_s"] = {"seconds": round(started - killed, 2), "from": holder, "to": node,
                                      "expected_to": other, "process_start_s": round(start_time, 3),
                                      "runs_before_the_kill": len(before),
                                      "target": round(self.args.lease_ttl + start_time + 1, 2)}

    def start_time(self):
        """How long the singleton's interpreter takes to start (its share of the failover)."""
        import subprocess
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import os, signal, sys, time"], check=True, timeout=30)
        return time.perf_counter() - t

    def close(self):
        for n in reversed(list(self.nodes.values())):
            try:
                n.__exit__(None, None, None)
            except Exception as e:  # keep stopping the rest
                log(f"stopping {n.node}: {e!r}")
        if self.etcd:
            self.etcd.close()
        shutil.rmtree(self.root, ignore_errors=True)


def table(r):
    rows = [("measure", "figure", "target")]
    if "visibility_ms" in r:
        v = r["visibility_ms"]
        rows.append(("registration on a visible on c", f"p50 {v['p50']} ms, p99 {v['p99']} ms, max {v['max']} ms "
                     f"({v['samples']} samples)", "p99 50 ms"))
    if "etcd_writes" in r:
        w = r["etcd_writes"]
        rows.append(("etcd writes per instance change", f"{w['per_instance_change']} (registration: "
                     f"{w['per_registration']}; idle 5 s: {w['idle_5s']:g})", "1 (idle: 0)"))
    if "rss_kb" in r:
        m = r["rss_kb"]
        rows.append((f"meshd RSS, {m['remote_instances_on_d']} remote instances", f"{m['d'] / 1024:.1f} MiB on d "
                     f"(a, with {r['config']['instances_per_node']} own: {m['a'] / 1024:.1f} MiB)", ""))
    if "node_gone_s" in r:
        g = r["node_gone_s"]
        lost = max(g["node_lost_event"].values()) if g["node_lost_event"] else "none"
        rows.append(("SIGKILLed node gone from the others", f"etcd deleted its record after "
                     f"{g['etcd_deleted_its_record']} s; node.lost after {lost} s; its "
                     f"{r['config']['instances_per_node']} instances gone after {max(g['instances_gone'].values())} s",
                     f"{g['target']} s"))
    if "failover_s" in r:
        f = r["failover_s"]
        rows.append(("singleton failover", f"{f['seconds']} s ({f['from']} -> {f['to']}; runs before the kill: "
                     f"{f['runs_before_the_kill']})", f"{f['target']} s"))
    for name, err in r.get("errors", {}).items():
        rows.append((name, f"could not run: {err}", ""))
    out = ["| " + " | ".join(rows[0]) + " |", "|---|---|---|"]
    out += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--instances", type=int, default=1000, help="registered instances per node (default 1000)")
    p.add_argument("--samples", type=int, default=200, help="visibility samples (default 200)")
    p.add_argument("--lease-ttl", type=int, default=3, help="mesh.cluster.lease_ttl in seconds (default 3)")
    p.add_argument("--timeout", type=float, default=900, help="stop the whole run after this many seconds")
    p.add_argument("--quick", action="store_true", help="100 instances per node, 50 samples")
    p.add_argument("--out", help="write the figures as JSON here")
    args = p.parse_args()
    if args.quick:
        args.instances, args.samples = 100, 50
    if not etcd_available():
        print("etcd is not installed (Debian package etcd-server)", file=sys.stderr)
        return 2
    bench = Bench(args)
    errors = {}
    try:
        bench.setup()
        for name in ("visibility", "writes", "rss", "failover", "node_gone"):
            log(f"--- {name}")
            try:
                getattr(bench, name)()
            except Exception as e:  # report it and go on
                errors[name] = f"{type(e).__name__}: {e}"[:300]
                log(f"{name} failed: {e!r}")
    except Exception as e:
        errors["setup"] = f"{type(e).__name__}: {e}"[:300]
        log(f"setup failed: {e!r}")
        for n in bench.nodes.values():
            log(f"--- node {n.node} output tail:\n{n.output()[-2000:]}")
    finally:
        bench.close()
    r = bench.results
    if errors:
        r["errors"] = errors
    print(f"meshd cluster benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs (shared), "
          f"{MESHD_BIN}, {args.instances} instances per node, lease_ttl {args.lease_ttl} s\n")
    print(table(r))
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(r, indent=1))
    return 1 if "setup" in errors else 0


if __name__ == "__main__":
    sys.exit(main())
