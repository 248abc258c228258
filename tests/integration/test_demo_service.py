"""Integration tests for meshd-demo-service, the service meshd manages in
the demo config and in the other integration tests. Standard library only;
every wait is bounded and every process (and its group) is killed after."""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest

BIN = os.environ.get("MESHD_DEMO_BIN", "/work/main/build/meshd-demo-service")
START_TIMEOUT = 10.0  # seconds; generous for a loaded CI machine


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Output:
    """Lines of one pipe, read on a thread so the child never blocks on it."""

    def __init__(self, pipe):
        self.lines = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe):
        for raw in pipe:
            with self._changed:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._changed.notify_all()
        pipe.close()

    def wait_for(self, pattern, timeout=START_TIMEOUT):
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if regex.search(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no line matching {pattern!r} in {self.lines[-20:]!r}")
                self._changed.wait(left)

    def wait_closed(self, timeout=START_TIMEOUT):
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "pipe still open"

    def text(self):
        with self._changed:
            return "\n".join(self.lines)


class Demo:
    """One demo service process in its own process group."""

    def __init__(self, *args, port=None, env=None, ready=True, with_port=True):
        self.port = port if port is not None else free_port()
        cmd = [BIN] + (["--port", str(self.port)] if with_port else []) + list(args)
        full_env = {k: v for k, v in os.environ.items()
                    if k not in ("PORT", "MESHD_INSTANCE", "NOTIFY_SOCKET")}
        full_env.update(env or {})
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=full_env, start_new_session=True)
        self.stdout = Output(self.proc.stdout)
        self.stderr = Output(self.proc.stderr)
        if ready:
            self.stdout.wait_for(r" listening on 127\.0\.0\.1:%d$" % self.port)

    def request(self, method, path, body=None, headers=None, timeout=10, encode_chunked=False):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {},
                         encode_chunked=encode_chunked)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def wait(self, timeout):
        return self.proc.wait(timeout=timeout)

    def kill_group(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


@pytest.fixture
def demos():
    started = []

    def start(*args, **kwargs):
        demo = Demo(*args, **kwargs)
        started.append(demo)
        return demo

    try:
        yield start
    finally:
        for demo in started:
            demo.kill_group()


def raw_exchange(port, data, timeout=5):
    """Sends raw bytes and returns everything until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


# --- routes -------------------------------------------------------------------

def test_health_is_ok_and_names_the_instance(demos):
    demo = demos("--name", "alpha")
    status, headers, body = demo.request("GET", "/health")
    assert (status, body) == (200, b"ok\n")
    assert headers["X-Demo-Instance"] == "alpha"
    assert headers["Content-Length"] == "3"
    demo.stdout.wait_for(r"^alpha GET /health 200 ")


def test_unhealthy_flag_and_runtime_flip(demos):
    demo = demos("--unhealthy")
    assert demo.request("GET", "/health")[0:3:2] == (503, b"unhealthy\n")
    assert demo.request("POST", "/admin/health?status=ok")[0] == 200
    assert demo.request("GET", "/health")[0] == 200
    assert demo.request("POST", "/admin/health?status=fail")[0] == 200
    assert demo.request("GET", "/health")[0] == 503
    assert demo.request("POST", "/admin/health?status=maybe")[0] == 400


def test_echo_returns_instance_request_and_forwarding_headers(demos):
    demo = demos("--name", "echo-1")
    status, headers, body = demo.request(
        "DELETE", "/some/path?x=1", headers={"X-Forwarded-For": "10.0.0.1", "X-Request-Id": "r-42"})
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {
        "instance": "echo-1", "port": demo.port, "method": "DELETE", "path": "/some/path",
        "query": "x=1", "x_forwarded_for": "10.0.0.1", "x_request_id": "r-42"}
    assert json.loads(demo.request("GET", "/")[2])["x_request_id"] == ""


def test_default_name_comes_from_env_or_port(demos):
    named = demos(env={"MESHD_INSTANCE": "from-env"})
    assert json.loads(named.request("GET", "/")[2])["instance"] == "from-env"
    port = free_port()
    by_port = demos(with_port=False, port=port, env={"PORT": str(port)})
    assert json.loads(by_port.request("GET", "/")[2])["instance"] == f"demo-{port}"


def test_status_route_answers_that_status(demos):
    demo = demos()
    assert demo.request("GET", "/status/503")[0] == 503
    assert demo.request("GET", "/status/404")[0] == 404
    status, headers, body = demo.request("GET", "/status/204")
    assert (status, body) == (204, b"")
    assert demo.request("GET", "/status/abc")[0] == 400


def test_bytes_and_sleep_routes(demos):
    demo = demos()
    status, headers, body = demo.request("GET", "/bytes?n=3000000")
    assert status == 200 and len(body) == 3_000_000
    assert headers["Content-Length"] == "3000000"
    started = time.monotonic()
    assert demo.request("GET", "/sleep?ms=300")[0] == 200
    assert time.monotonic() - started >= 0.29
    assert demo.request("GET", "/sleep?ms=-1")[0] == 400


def test_keep_alive_serves_many_requests_on_one_connection(demos):
    demo = demos()
    conn = http.client.HTTPConnection("127.0.0.1", demo.port, timeout=10)
    try:
        for i in range(20):
            conn.request("POST", "/echo-size", body=b"x" * i)
            resp = conn.getresponse()
            assert json.loads(resp.read()) == {"bytes": i}
        conn.request("GET", "/health")
        assert conn.getresponse().read() == b"ok\n"
    finally:
        conn.close()


def test_chunked_upload_of_20_mb_is_counted(demos):
    demo = demos()
    piece = b"z" * (1024 * 1024)
    status, _, body = demo.request(
        "POST", "/upload", body=(piece for _ in range(20)),
        headers={"Transfer-Encoding": "chunked"}, encode_chunked=True, timeout=60)
    assert status == 200
    assert json.loads(body) == {"bytes": 20 * 1024 * 1024}


def test_content_length_upload_with_put(demos):
    demo = demos()
    status, _, body = demo.request("PUT", "/upload", body=b"a" * 123_457)
    assert (status, json.loads(body)) == (200, {"bytes": 123_457})


# --- fault injection --------------------------------------------------------

def test_error_rate_one_fails_everything_but_health(demos):
    demo = demos("--error-rate", "1.0")
    assert all(demo.request("GET", "/")[0] == 500 for _ in range(10))
    assert demo.request("POST", "/upload", body=b"abc")[0] == 500
    assert demo.request("GET", "/health")[0] == 200


def test_latency_delays_everything_but_health(demos):
    demo = demos("--latency", "1s")
    started = time.monotonic()
    assert demo.request("GET", "/")[0] == 200
    assert time.monotonic() - started >= 0.95
    started = time.monotonic()
    assert demo.request("GET", "/health")[0] == 200
    assert time.monotonic() - started < 0.9


def test_startup_delay_then_notify_sends_ready(demos):
    name = f"meshd-demo-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)
        listener.settimeout(START_TIMEOUT)
        started = time.monotonic()
        demo = demos("--notify", "--startup-delay", "300ms", ready=False,
                     env={"NOTIFY_SOCKET": "@" + name})
        assert listener.recv(1024) == b"READY=1"
        assert time.monotonic() - started >= 0.29
    # READY comes after listening: the service answers at once.
    assert demo.request("GET", "/health")[0] == 200


def test_crash_after_exits_with_code_3(demos):
    demo = demos("--crash-after", "300ms")
    assert demo.wait(timeout=10) == 3
    demo.stderr.wait_for("crashing")


def test_crash_after_requests_exits_with_code_3(demos):
    demo = demos("--crash-after-requests", "3")
    for _ in range(2):
        assert demo.request("GET", "/")[0] == 200
    demo.request("GET", "/")
    assert demo.wait(timeout=10) == 3


def test_exit_after_exits_with_the_given_code(demos):
    demo = demos("--exit-after", "200ms", "--exit-code", "7")
    assert demo.wait(timeout=10) == 7
    job = demos("--exit-after", "100ms", with_port=False, ready=False)
    assert job.wait(timeout=10) == 0


# --- signals and processes -------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_exit_0_promptly(demos, sig):
    demo = demos()
    demo.proc.send_signal(sig)
    assert demo.wait(timeout=5) == 0


def test_ignore_sigterm_survives_until_sigkill(demos):
    demo = demos("--ignore-sigterm")
    demo.proc.send_signal(signal.SIGTERM)
    demo.stderr.wait_for("ignoring SIGTERM")
    time.sleep(0.3)
    assert demo.proc.poll() is None
    assert demo.request("GET", "/health")[0] == 200
    demo.proc.kill()
    assert demo.wait(timeout=5) == -signal.SIGKILL


def test_spawn_child_leaves_a_grandchild_in_the_group(demos):
    demo = demos("--spawn-child")
    pid = int(demo.stdout.wait_for(r"^grandchild pid \d+$").split()[-1])
    assert os.getpgid(pid) == os.getpgid(demo.proc.pid)
    demo.proc.send_signal(signal.SIGTERM)
    assert demo.wait(timeout=5) == 0
    os.kill(pid, 0)  # still alive: only killing the group ends it
    demo.kill_group()


def test_log_every_writes_numbered_lines_to_both_streams(demos):
    demo = demos("--log-every", "50ms", "--quiet")
    demo.stdout.wait_for(r" log line 3$")
    demo.stderr.wait_for(r" log line 2 \(stderr\)$")


def test_flood_stdout_reports_its_count_at_exit(demos):
    demo = demos("--flood-stdout", "--quiet")
    demo.stdout.wait_for(r" flood line 1000 ")
    demo.proc.send_signal(signal.SIGTERM)
    assert demo.wait(timeout=10) == 0
    report = demo.stderr.wait_for(r" flood wrote \d+ lines$")
    demo.stdout.wait_closed()
    received = sum(1 for line in demo.stdout.lines if " flood line " in line)
    # Every counted line reached stdout (the count may only lag, never lead).
    assert 1000 <= int(report.split()[-2]) <= received


# --- bad input -----------------------------------------------------------------

@pytest.mark.parametrize("request_bytes", [
    b"GARBAGE\r\n\r\n",
    b"GET /\r\n\r\n",
    b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
    b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
    b"POST /upload HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    b"POST /upload HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"POST /upload HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
])
def test_malformed_request_gets_400_and_close(demos, request_bytes):
    demo = demos()
    reply = raw_exchange(demo.port, request_bytes)
    assert reply.startswith(b"HTTP/1.1 400 "), reply
    assert b"\r\nConnection: close\r\n" in reply
    assert demo.request("GET", "/health")[0] == 200  # and the server lives on


def test_oversized_and_binary_garbage_never_crash_the_server(demos):
    demo = demos()
    assert raw_exchange(demo.port, b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n").startswith(
        b"HTTP/1.1 414 ")
    raw_exchange(demo.port, bytes(range(256)) * 64 + b"\r\n\r\n")
    with socket.create_connection(("127.0.0.1", demo.port), timeout=5) as s:
        s.sendall(b"POST /upload HTTP/1.1\r\nContent-Length: 1000000\r\n\r\npartial")
    assert demo.request("GET", "/health")[0] == 200
    assert demo.proc.poll() is None


@pytest.mark.parametrize("request_bytes, status", [
    (b"GET / HTTP/2.0\r\n\r\n", 505),
    (b"GET / HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(101)) + b"\r\n", 431),
    (b"POST /upload HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
])
def test_refused_heads_get_their_status_and_close(demos, request_bytes, status):
    demo = demos()
    reply = raw_exchange(demo.port, request_bytes)
    assert reply.startswith(b"HTTP/1.1 %d " % status), reply[:200]
    assert b"\r\nConnection: close\r\n" in reply


# --- framing ---------------------------------------------------------------------

def test_head_204_and_304_send_no_body(demos):
    demo = demos()
    reply = raw_exchange(demo.port, b"HEAD /bytes?n=10 HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert b"\r\nContent-Length: 10\r\n" in reply and reply.endswith(b"\r\n\r\n")
    for status in (204, 304):
        reply = raw_exchange(demo.port, b"GET /status/%d HTTP/1.1\r\nConnection: close\r\n\r\n" % status)
        assert reply.startswith(b"HTTP/1.1 %d " % status) and reply.endswith(b"\r\n\r\n")
        assert b"Content-Length" not in reply


def test_http_1_0_keeps_the_connection_only_when_asked(demos):
    demo = demos()
    reply = raw_exchange(demo.port, b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                                    b"GET /health HTTP/1.0\r\n\r\n")
    first, second = reply.split(b"ok\n")[:2]
    assert b"\r\nConnection: keep-alive\r\n" in first
    assert b"\r\nConnection: close\r\n" in second


def test_pipelined_requests_and_a_leading_empty_line(demos):
    demo = demos()
    reply = raw_exchange(demo.port, b"\r\nPOST /echo-size HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                                    b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert reply.count(b"HTTP/1.1 200 OK\r\n") == 2
    assert b'{"bytes": 3}\n' in reply and reply.endswith(b"ok\n")


def test_expect_100_continue_is_answered_before_the_body(demos):
    demo = demos()
    with socket.create_connection(("127.0.0.1", demo.port), timeout=5) as s:
        s.sendall(b"POST /upload HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"
                  b"Connection: close\r\n\r\n")
        assert s.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(b"hello")
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200 ") and reply.endswith(b'{"bytes": 5}\n')


@pytest.mark.parametrize("args", [
    ["--bogus"],
    ["--port", "notanumber"],
    ["--port", "70000"],
    ["--latency", "5"],
    ["--error-rate", "1.5"],
    [],
])
def test_bad_options_exit_2_with_one_line(args):
    env = {k: v for k, v in os.environ.items() if k != "PORT"}
    result = subprocess.run([BIN] + args, capture_output=True, timeout=10, env=env)
    assert result.returncode == 2
    assert len(result.stderr.decode().strip().splitlines()) == 1
