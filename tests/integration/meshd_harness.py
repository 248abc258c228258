"""Helpers for integration tests: run the real meshd binary on 127.0.0.1
with a config written into a temp dir, talk to its REST API, and wait for
conditions with bounded polling."""

import json
import os
import pathlib
import random
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

SOURCE_DIR = pathlib.Path(os.environ.get("MESHD_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
MESHD_BIN = os.environ.get("MESHD_BIN", str(SOURCE_DIR / "build" / "meshd"))
DEMO_BIN = os.environ.get("MESHD_DEMO_BIN", str(SOURCE_DIR / "build" / "meshd-demo-service"))


# What AddressSanitizer, LeakSanitizer and UBSan print (build-asan, MESHD_SANITIZE=ON).
SANITIZER_REPORT = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|\.(cpp|hpp|h|ipp):\d+:\d+: runtime error:")


def sanitizer_report(text):
    """The part of text from the first sanitizer report on (its first 20000
    characters), or None."""
    found = SANITIZER_REPORT.search(text)
    if not found:
        return None
    start = text.rfind("\n", 0, found.start()) + 1
    return text[start:start + 20000]


def free_port():
    """A port that was free a moment ago (bound to 127.0.0.1:0, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bindable(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_ports(n, span=3):
    """n ports, each with the span-1 ports after it free too (for replicas
    at port + i). Drawn below the kernel's ephemeral range (32768+), where
    the outgoing connections of the tests themselves cannot take them."""
    rng = random.Random()
    ports = []
    for _ in range(10000):
        if len(ports) == n:
            return sorted(ports)
        base = rng.randrange(20000, 32768 - span)
        if any(abs(base - p) < span for p in ports):
            continue
        if all(_bindable(base + k) for k in range(span)):
            ports.append(base)
    raise AssertionError(f"no {n} free port spans of {span} found")


def demo(*args):
    """The argv of a demo service instance; ${PORT} and ${SERVICE}-${INSTANCE} expand per instance."""
    return [DEMO_BIN, "--port", "${PORT}", "--name", "${SERVICE}-${INSTANCE}", "--quiet", *args]


def wait_until(predicate, timeout=10.0, interval=0.05, what="condition"):
    """Polls predicate() until it returns a truthy value or timeout passes."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except (OSError, urllib.error.URLError, ValueError, KeyError):
            last = None
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


def http(method, url, body=None, headers=None, timeout=10.0):
    """(status, headers, parsed JSON or text) for one request; never raises for HTTP errors."""
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        if isinstance(data, str):
            data = data.encode()
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            raw = res.read()
            status, rh = res.status, dict(res.headers)
    except urllib.error.HTTPError as e:
        raw, status, rh = e.read(), e.code, dict(e.headers)
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return status, rh, parsed


def to_yaml(value, indent=0):
    """A tiny YAML emitter (JSON is valid YAML, but block style reads better in failures)."""
    return json.dumps(value, indent=2)


class Meshd:
    """One meshd process with its own data dir. Use as a context manager."""

    def __init__(self, tmp_path, config, args=(), env=None, name="meshd"):
        self.dir = pathlib.Path(tmp_path) / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.dir / "meshd.yaml"
        self.data_dir = self.dir / "data"
        if isinstance(config, str):
            self.config_path.write_text(config)
        else:
            config = dict(config)
            config.setdefault("version", 1)
            mesh = dict(config.get("mesh", {}))
            mesh.setdefault("listen", "127.0.0.1:0")
            mesh.setdefault("data_dir", str(self.data_dir))
            config["mesh"] = mesh
            self.config_path.write_text(to_yaml(config))
        self.args = list(args)
        # The suites written for one gateway loop (exact round robin across
        # requests) run with one, by flag so that configs rewritten by a
        # test keep it; a config that names gateway_threads keeps its own.
        # MESHD_TEST_GATEWAY_THREADS=0 leaves meshd's default (every core).
        threads = int(os.environ.get("MESHD_TEST_GATEWAY_THREADS", "1"))
        if threads > 0 and "gateway_threads" not in str(config) and "--gateway-threads" not in self.args:
            self.args += ["--gateway-threads", str(threads)]
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.base = None
        self.log_path = self.dir / "meshd.log"
        self.sanitizers_checked = False

    def start(self, wait=True):
        listen_file = self.data_dir / "listen"
        if listen_file.exists():
            listen_file.unlink()
        self.log = open(self.log_path, "ab")
        self.sanitizers_checked = False  # this process's output is still to check
        self.proc = subprocess.Popen(
            [MESHD_BIN, "run", "-c", str(self.config_path), "--listen", "127.0.0.1:0",
             "--data-dir", str(self.data_dir), *self.args],
            stdout=self.log, stderr=subprocess.STDOUT, env=self.env, cwd=self.dir)
        if wait:
            addr = wait_until(lambda: self._listen_addr(listen_file), timeout=15, what="meshd to listen")
            self.base = f"http://{addr}"
        return self

    def _listen_addr(self, listen_file):
        if self.proc.poll() is not None:
            raise AssertionError(f"meshd exited with {self.proc.returncode}:\n{self.output()}")
        if listen_file.exists():
            text = listen_file.read_text().strip()
            return text or None
        return None

    @property
    def gateway(self):
        """Base URL of the gateway (mesh.gateway "127.0.0.1:0" in the config)."""
        path = self.data_dir / "gateway"
        return "http://" + wait_until(lambda: path.exists() and path.read_text().strip(), timeout=5,
                                      what="the gateway address")

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def output(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def api(self, method, path, body=None, headers=None, timeout=10.0):
        return http(method, self.base + path, body, headers, timeout)

    def get(self, path):
        status, _, body = self.api("GET", path)
        assert status == 200, f"GET {path} -> {status} {body}"
        return body

    def service(self, name):
        return self.get(f"/api/v1/services/{name}")

    def wait_state(self, name, state, timeout=15.0):
        return wait_until(lambda: self.service(name)["state"] == state and self.service(name),
                          timeout=timeout, what=f"{name} to be {state}")

    def events(self, since=0, limit=10000):
        return self.get(f"/api/v1/events?since={since}&limit={limit}")["events"]

    def stop(self, sig=signal.SIGTERM, timeout=30.0):
        """Signals meshd and waits for it; returns its exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"meshd did not exit within {timeout}s:\n{self.output()}")
        self.check_sanitizers()
        return code

    def check_sanitizers(self):
        """Fails the test when meshd's output holds a sanitizer report: in the
        sanitizer build a use-after-free at shutdown, a leak or undefined
        behaviour is a failure even when meshd exits as asked."""
        if self.sanitizers_checked:  # once: stop() and then __exit__ would say it twice
            return
        self.sanitizers_checked = True
        report = sanitizer_report(self.output())
        if report:
            raise AssertionError(f"meshd (pid {self.proc.pid}, exit {self.proc.returncode}) "
                                 f"reported a sanitizer error:\n{report}")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        try:
            if self.proc and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            if getattr(self, "log", None):
                self.log.close()
        if self.proc and self.proc.poll() is not None:
            self.check_sanitizers()
        return False


def pid_alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def children_of(pid):
    """Direct children of pid (from /proc), with their state letters."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(rest[1]) == pid:
            out.append((int(entry), rest[0]))
    return out


class Backend:
    """A tiny HTTP backend whose behaviour a test flips at run time:
    status to answer with, a delay, and a count of requests seen."""

    def __init__(self):
        import http.server
        import threading
        backend = self
        self.status = 200
        self.delay = 0.0
        self.hits = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                backend.hits += 1
                if backend.delay:
                    time.sleep(backend.delay)
                body = json.dumps({"port": backend.port, "path": self.path}).encode()
                self.send_response(backend.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
