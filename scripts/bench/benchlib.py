"""Helpers for meshd's whole-system benchmarks: run the real build/meshd on
127.0.0.1:0 in a temp dir under /tmp, read its REST API and events, and read
a process's CPU time, memory and I/O from /proc. Python 3 standard library only."""

import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[2]
MESHD = os.environ.get("MESHD_BIN", str(REPO / "build" / "meshd"))
DEMO = os.environ.get("MESHD_DEMO_BIN", str(REPO / "build" / "meshd-demo-service"))
CLK_TCK = os.sysconf("SC_CLK_TCK")
MB = 1e6  # throughput in MB/s means 10^6 bytes per second

def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_ports(n):
    """n distinct ports that were free a moment ago (all bound at once, then closed)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    v = sorted(values)
    k = max(0, min(len(v) - 1, -(-len(v) * p // 100) - 1))
    return v[int(k)]


def proc_stat(pid):
    """(state, utime+stime in seconds) of a process or thread from /proc/.../stat."""
    path = f"/proc/{pid}/stat" if isinstance(pid, int) else pid
    with open(path) as f:
        text = f.read()
    rest = text[text.rindex(")") + 2:].split()
    return rest[0], (int(rest[11]) + int(rest[12])) / CLK_TCK


def proc_status(pid):
    """The numeric fields of /proc/pid/status we report, in kB or as counts."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads"):
                out[key] = int(value.split()[0])
    return out


def proc_io(pid):
    with open(f"/proc/{pid}/io") as f:
        return {k: int(v) for k, v in (line.split(": ") for line in f)}


def schedstat(pid, tid):
    """(ns on CPU, ns runnable but waiting for a CPU, time slices run) of one thread."""
    with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
        on_cpu, waiting, slices = f.read().split()
    return int(on_cpu), int(waiting), int(slices)


def thread_cpu(pid):
    """{tid: (comm, cpu seconds)} for every thread of pid."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                comm = f.read().strip()
            out[int(tid)] = (comm, proc_stat(f"/proc/{pid}/task/{tid}/stat")[1])
        except OSError:
            pass
    return out


def flood_bytes(name, lines):
    """Bytes that the demo service's --flood-stdout writes in its first `lines`
    lines: "<name> flood line <n> the quick brown fox jumps over the lazy dog\\n"."""
    fixed = len(name) + len(" flood line ") + len(" the quick brown fox jumps over the lazy dog\n")
    total = fixed * lines
    digits, lo = 1, 1
    while lo <= lines:
        hi = min(lines, lo * 10 - 1)
        total += digits * (hi - lo + 1)
        digits, lo = digits + 1, lo * 10
    return total


def demo(*args):
    return [DEMO, "--port", "${PORT}", "--name", "${SERVICE}-${INSTANCE}", "--quiet", *args]


class Meshd:
    """One meshd process on 127.0.0.1:0 with its own temp dir; a context manager
    that always stops it (SIGTERM, then SIGKILL after 30 s) and removes the dir."""

    def __init__(self, config, cpu=None, label="meshd"):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix=f"meshd-bench-{label}-", dir="/tmp"))
        self.data = self.dir / "data"
        self.config_path = self.dir / "config.yaml"
        # JSON is YAML, and needs no emitter.
        self.config_path.write_text(json.dumps(config, indent=1))
        self.cpu = cpu
        self.proc = None
        self.out = None
        self.base = None
        self.start_wall = None

    def __enter__(self):
        try:
            return self._start()
        except BaseException:
            # __exit__ does not run when __enter__ raises: clean up here.
            self.__exit__(None, None, None)
            raise

    def _start(self):
        argv = [MESHD, "run", "-c", str(self.config_path), "--listen", "127.0.0.1:0",
                "--data-dir", str(self.data)]
        if self.cpu is not None:
            argv = ["taskset", "-c", str(self.cpu)] + argv  # taskset execs: same pid
        self.out = open(self.dir / "meshd.out", "wb")
        self.start_wall = time.time()
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=str(self.dir))
        listen = self.data / "listen"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"meshd exited with {self.proc.returncode}: {self.output()[-2000:]}")
            if listen.exists() and listen.read_text().strip():
                self.base = "http://" + listen.read_text().strip()
                return self
            time.sleep(0.02)
        raise RuntimeError("meshd did not write its listen file within 15 s")

    def __exit__(self, *exc):
        self.stop()
        if self.out:
            self.out.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return False

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            log("meshd did not stop within 30 s of SIGTERM; sending SIGKILL (children die with it)")
            self.proc.kill()
            self.proc.wait(timeout=10)

    def output(self):
        try:
            return (self.dir / "meshd.out").read_text(errors="replace")
        except OSError:
            return ""

    def get(self, path, timeout=10):
        with urllib.request.urlopen(self.base + path, timeout=timeout) as res:
            return json.loads(res.read())


class EventReader:
    """Reads /api/v1/events incrementally (since=last seq), keeping all of them."""

    def __init__(self, meshd):
        self.meshd = meshd
        self.since = 0
        self.events = []

    def poll(self):
        new = []
        for _ in range(100):  # pages of 10000; bounded
            page = self.meshd.get(f"/api/v1/events?since={self.since}&limit=10000")["events"]
            new.extend(page)
            if page:
                self.since = page[-1]["seq"]
            if len(page) < 10000:
                break
        self.events.extend(new)
        return new

    def first(self, type_):
        return next(e for e in self.events if e["type"] == type_)


def wait_all_passing(meshd, instances, timeout, interval=0.1):
    """Polls events until every instance in `instances` is passing at once.
    Returns (reader, event that completed the set, {instance: time_ms it first passed})."""
    reader = EventReader(meshd)
    health = {}
    first_pass = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for e in reader.poll():
            if e["type"] != "health.transition" or e["instance"] not in instances:
                continue
            health[e["instance"]] = e["data"]["to"]
            if e["data"]["to"] == "passing":
                first_pass.setdefault(e["instance"], e["time_ms"])
            if len(health) == len(instances) and all(h == "passing" for h in health.values()):
                return reader, e, first_pass
        if meshd.proc.poll() is not None:
            raise RuntimeError("meshd exited while starting services")
        time.sleep(interval)
    missing = sorted(i for i in instances if health.get(i) != "passing")
    raise RuntimeError(f"not all passing after {timeout}s; {len(missing)} not passing, e.g. {missing[:5]}")


def print_table(results, value_header="measured", width=75):
    """The results table (target, measured, met) and then each row's detail."""
    rows = [("scenario", "metric", value_header, "target", "met")]
    for r in results:
        met = "" if "met" not in r else ("yes" if r["met"] else "NO")
        if r.get("error"):
            met = "ERROR"
        rows.append((r["scenario"], r["metric"], r.get("value", ""), r.get("target", ""), met))
    widths = [min(width, max(len(row[c]) for row in rows)) for c in range(5)]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[c]) for c, cell in enumerate(row)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print()
    for r in results:
        if r.get("detail"):
            print(f"- {r['scenario']}: {r['metric']}: {r['detail']}")


def run_scenarios(title, scenarios, args, value_header="measured"):
    """Runs the chosen scenarios (args.only, else all), each reporting into a
    shared results list; a scenario that fails is reported and the rest go
    on. Prints the table; returns the exit code (1 if any could not run)."""
    results, errors = [], 0
    version = subprocess.run([MESHD, "version"], capture_output=True, text=True, timeout=10).stdout.strip()
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, timeout=10).stdout.strip()
    built_ns = os.stat(MESHD).st_mtime_ns
    built = time.strftime("%Y-%m-%d %H:%M", time.localtime(built_ns / 1e9))
    print(f"meshd {title} benchmarks, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs (shared), "
          f"load average {os.getloadavg()[0]:.2f} at start{' (quick)' if args.quick else ''}")
    print(f"{MESHD}: {version}, built {built}; repo HEAD {head}")
    for name in args.only or list(scenarios):
        log(f"--- {name}")
        t0 = time.monotonic()
        try:
            scenarios[name](args, results)
        except Exception as e:  # report and go on with the next scenario
            errors += 1
            results.append(dict(scenario=name, metric="could not run", value=f"{type(e).__name__}: {e}"[:300],
                                error=True))
            log(f"{name} failed: {e!r}")
        log(f"--- {name} took {time.monotonic() - t0:.0f} s")
    print()
    print_table(results, value_header)
    print(f"\nload average at end {os.getloadavg()[0]:.2f}")
    if os.stat(MESHD).st_mtime_ns != built_ns:
        print(f"warning: {MESHD} was rebuilt while the benchmarks ran; the figures may mix two builds")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=1))
    return 1 if errors else 0
