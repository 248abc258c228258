"""The gateway's traffic features (issue 15, docs/traffic.md): routing by
authority, rate limiting, trace context and the access log, with curl and
raw sockets against the real binary on 127.0.0.1."""

import http.client
import json
import math
import re
import socket
import subprocess
import time

import pytest

from meshd_harness import Meshd, demo, free_ports, wait_until


def service(port, **extra):
    spec = {"command": demo("--quiet"), "port": port,
            "health": {"type": "http", "interval": "200ms"}}
    spec.update(extra)
    return spec


def started(tmp_path, services, mesh=None, name="meshd"):
    """meshd with `services` (name -> spec), each waited for until passing."""
    config = {"mesh": {"gateway": "127.0.0.1:0", **(mesh or {})}, "services": services}
    m = Meshd(tmp_path, config, name=name)
    m.__enter__()
    for svc in services:
        wait_until(lambda svc=svc: len(m.get(f"/api/v1/discover/{svc}?passing=true")["instances"]) == 1,
                   timeout=30, what=f"{svc} passing")
    return m


def curl(url, *args):
    """(status, headers dict with lower-case names, body text) of one curl request."""
    out = subprocess.run(["curl", "-s", "-i", "--max-time", "10", *args, url],
                         capture_output=True, timeout=20, check=True).stdout.decode(errors="replace")
    head, _, body = out.partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


@pytest.fixture
def two_services(tmp_path):
    api_port, web_port = free_ports(2)
    m = started(tmp_path, {"api": service(api_port), "web": service(web_port)})
    yield m
    m.__exit__(None, None, None)


def test_a_host_naming_a_service_routes_to_it_with_the_path_unchanged(two_services):
    gw = two_services.gateway
    for host in ("api.mesh:8000", "API.MESH", "api", "api:1234"):
        status, headers, body = curl(gw + "/v1/items?x=1", "-H", f"Host: {host}")
        assert status == 200, (host, body)
        echo = json.loads(body)
        assert echo["instance"].startswith("api-"), (host, echo)
        assert (echo["path"], echo["query"]) == ("/v1/items", "x=1"), (host, echo)
    # The Host wins over a path that names another service: the path goes as it is.
    status, _, body = curl(gw + "/web/x", "-H", "Host: api.mesh")
    assert status == 200 and json.loads(body)["instance"].startswith("api-")
    assert json.loads(body)["path"] == "/web/x"
    # Absolute-form: the target's authority is the request's (RFC 9112 3.2.2).
    status, _, body = curl(gw + "/v2", "--request-target", "http://web.mesh/v2", "-H", "Host: api")
    assert status == 200 and json.loads(body)["instance"].startswith("web-")


def test_other_hosts_keep_prefix_routing(two_services):
    gw = two_services.gateway
    for host in ("127.0.0.1:8000", "gateway.example.com", "nosuch.mesh", "localhost"):
        status, _, body = curl(gw + "/web/a", "-H", f"Host: {host}")
        assert status == 200, (host, body)
        echo = json.loads(body)
        assert echo["instance"].startswith("web-") and echo["path"] == "/a", (host, echo)
    # A Host that names no service and a path that names none either: 404.
    status, _, body = curl(gw + "/nosuch/a", "-H", "Host: nosuch.mesh")
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found"


def metric(m, name, service):
    """The value of `name{service="..."}` in /metrics."""
    status, _, text = m.api("GET", "/metrics")
    assert status == 200
    for line in text.splitlines():
        if line.startswith(f'{name}{{service="{service}"}}'):
            return float(line.split()[-1])
    raise AssertionError(f"{name} for {service} not in /metrics")


def quick_requests(url, n, headers=None):
    """(status, headers with lower-case names, body) of n requests sent back
    to back on one keep-alive connection: fast enough that a bucket refilling
    at 5/s gains at most a token or two meanwhile."""
    address, _, path = url.replace("http://", "").partition("/")
    host, port = address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    answers = []
    try:
        for _ in range(n):
            conn.request("GET", "/" + path, headers=headers or {})
            res = conn.getresponse()
            body = res.read().decode(errors="replace")
            answers.append((res.status, {k.lower(): v for k, v in res.getheaders()}, body))
    finally:
        conn.close()
    return answers


def test_rate_limit_answers_429_with_retry_after_past_the_burst(tmp_path):
    port = free_ports(1)[0]
    m = started(tmp_path, {"api": service(port, rate_limit={"rps": 5, "burst": 5})})
    try:
        began = time.monotonic()
        answers = quick_requests(m.gateway + "/api/x", 20)
        elapsed = time.monotonic() - began
        passed = [a for a in answers if a[0] == 200]
        limited = [a for a in answers if a[0] == 429]
        assert len(passed) + len(limited) == 20, [a[0] for a in answers]
        # The burst, plus at most what refilled meanwhile (5 a second): on
        # a quiet machine exactly 5; a slow one may earn a token or more.
        assert 5 <= len(passed) <= 5 + math.ceil(elapsed * 5), ([a[0] for a in answers], elapsed)
        assert [a[0] for a in answers[:5]] == [200] * 5
        for status, headers, body in limited:
            assert int(headers["retry-after"]) >= 1
            assert headers["content-type"] == "application/json"
            error = json.loads(body)["error"]
            assert error["code"] == "rate_limited" and "api" in error["message"], error
        assert metric(m, "meshd_gateway_rate_limited_total", "api") == len(limited)
        # A second later the bucket has refilled enough for more.
        wait_until(lambda: curl(m.gateway + "/api/x")[0] == 200, timeout=5, interval=0.3,
                   what="the bucket to refill")
    finally:
        m.__exit__(None, None, None)


def test_rate_limit_by_header_keeps_keys_apart(tmp_path):
    port = free_ports(1)[0]
    m = started(tmp_path, {"api": service(port, rate_limit={"rps": 0.1, "burst": 2,
                                                           "key": "header:X-Tenant"})})
    try:
        gw = m.gateway + "/api/x"
        a = [s for s, _, _ in quick_requests(gw, 4, {"X-Tenant": "a"})]
        b = [s for s, _, _ in quick_requests(gw, 4, {"X-Tenant": "b"})]
        assert a == [200, 200, 429, 429] and b == [200, 200, 429, 429], (a, b)
        # Requests without the header share one bucket of their own.
        none = [s for s, _, _ in quick_requests(gw, 3)]
        assert none == [200, 200, 429], none
        # Retry-After says how long a token takes at 0.1/s: up to 10 s.
        _, headers, _ = curl(gw, "-H", "X-Tenant: a")
        assert 1 <= int(headers["retry-after"]) <= 10
    finally:
        m.__exit__(None, None, None)


def seen_headers(gw, headers=()):
    """The request headers the instance saw (the demo's /headers), via the gateway."""
    args = [x for h in headers for x in ("-H", h)]
    status, _, body = curl(gw + "/api/headers", *args)
    assert status == 200, body
    return json.loads(body)


def test_traceparent_reaches_the_instance_with_the_trace_kept_and_a_new_span(two_services):
    gw = two_services.gateway
    incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    seen = seen_headers(gw, [f"traceparent: {incoming}", "tracestate: congo=t61rcWkgMzE,rojo=1"])
    version, trace, parent, flags = seen["traceparent"].split("-")
    assert (version, trace, flags) == ("00", "4bf92f3577b34da6a3ce929d0e0e4736", "01")
    assert len(parent) == 16 and parent != "00f067aa0ba902b7" and int(parent, 16) != 0
    assert seen["tracestate"] == "congo=t61rcWkgMzE,rojo=1"
    # No X-Request-Id from the client: the trace id is the request id.
    assert seen["x-request-id"] == trace
    # Each hop gets its own span id.
    again = seen_headers(gw, [f"traceparent: {incoming}"])["traceparent"]
    assert again.split("-")[1] == trace and again.split("-")[2] != parent


def test_an_invalid_or_missing_traceparent_starts_a_new_trace(two_services):
    gw = two_services.gateway
    traces = set()
    for bad in ("00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "junk"):
        seen = seen_headers(gw, [f"traceparent: {bad}", "X-Request-Id: client-id-7"])
        version, trace, parent, flags = seen["traceparent"].split("-")
        assert version == "00" and len(trace) == 32 and len(parent) == 16 and flags == "01", seen
        assert trace.lower() != "4bf92f3577b34da6a3ce929d0e0e4736" and int(trace, 16) != 0
        assert seen["x-request-id"] == "client-id-7"  # the client's own id is kept
        traces.add(trace)
    seen = seen_headers(gw)
    traces.add(seen["traceparent"].split("-")[1])
    assert seen["x-request-id"] == seen["traceparent"].split("-")[1]
    assert len(traces) == 5


def read_access_log(path, n, timeout=10):
    """The first n records of the access log (JSON lines), waiting for the writer thread."""
    def lines():
        if not path.exists():
            return None
        records = [json.loads(line) for line in path.read_text().splitlines()]
        return records if len(records) >= n else None
    return wait_until(lines, timeout=timeout, what=f"{n} access log lines in {path}")


def test_access_log_has_one_json_line_per_request(tmp_path):
    api_port = free_ports(1)[0]
    log_path = tmp_path / "logs" / "sub" / "access.log"  # the directory is created
    m = started(tmp_path, {"api": service(api_port, rate_limit={"rps": 0.01, "burst": 2})},
                mesh={"access_log": {"path": str(log_path)}})
    try:
        gw = m.gateway
        trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        status, _, _ = curl(gw + "/api/items?x=1", "-H", f"traceparent: 00-{trace}-00f067aa0ba902b7-01")
        assert status == 200
        status, _, _ = curl(gw + "/api/upload", "--data-binary", "x" * 1000)
        assert status == 200
        status, _, _ = curl(gw + "/api/x")
        assert status == 429
        status, _, _ = curl(gw + "/nosuch/x")
        assert status == 404
        records = read_access_log(log_path, 4)
        ok, upload, limited, missing = records[:4]
        assert ok["service"] == "api" and ok["instance"] == "api-0"
        assert (ok["method"], ok["path"], ok["status"]) == ("GET", "/api/items?x=1", 200)
        assert ok["trace_id"] == trace and ok["protocol"] == "HTTP/1.1"
        assert ok["client"] == "127.0.0.1" and ok["retries"] == 0
        assert ok["bytes_in"] > 0 and ok["bytes_out"] > 0
        assert ok["duration_ms"] >= ok["upstream_ms"] > 0
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ok["time"]), ok["time"]
        assert "error" not in ok
        assert (upload["method"], upload["status"]) == ("POST", 200)
        assert upload["bytes_in"] >= 1000  # header and body
        assert len(upload["trace_id"]) == 32 and upload["trace_id"] != trace
        assert (limited["status"], limited["service"], limited["instance"]) == (429, "api", "")
        assert "rate limit" in limited["error"] and limited["bytes_out"] > 0
        assert (missing["status"], missing["service"]) == (404, "nosuch")  # as named
        assert "no service named 'nosuch'" in missing["error"]
        assert metric_value(m, "meshd_gateway_access_log_dropped_total") == 0
    finally:
        m.__exit__(None, None, None)


def metric_value(m, name):
    status, _, text = m.api("GET", "/metrics")
    assert status == 200
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{}"):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in /metrics")


def test_an_access_log_path_that_cannot_be_created_stops_startup_with_a_clear_error(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the log's directory would be")
    config = {"mesh": {"gateway": "127.0.0.1:0",
                       "access_log": {"path": str(blocker / "access.log")}},
              "services": {}}
    m = Meshd(tmp_path, config)
    m.start(wait=False)
    try:
        code = m.proc.wait(timeout=20)
    finally:
        if m.proc.poll() is None:
            m.proc.kill()
            m.proc.wait()
    assert code != 0
    out = m.output()
    assert "mesh.access_log.path" in out and "cannot create the directory" in out, out


def test_a_reload_that_changes_the_access_log_needs_a_restart_and_keeps_the_running_one(tmp_path):
    api_port = free_ports(1)[0]
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    m = started(tmp_path, {"api": service(api_port)}, mesh={"access_log": {"path": str(first)}})
    try:
        cfg = json.loads(m.config_path.read_text())
        cfg["mesh"]["access_log"] = {"path": str(second)}
        m.config_path.write_text(json.dumps(cfg))
        status, _, body = m.api("POST", "/api/v1/config/reload?wait=true", timeout=60)
        assert status == 200 and "access_log" in body["mesh"]["needs_restart"], body
        assert m.get("/api/v1/config")["config"]["mesh"]["access_log"]["path"] == str(first)
        assert curl(m.gateway + "/api/x")[0] == 200
        assert read_access_log(first, 1)[0]["path"] == "/api/x"
        assert not second.exists()
    finally:
        m.__exit__(None, None, None)


def test_access_log_records_a_failed_call_with_its_retries(tmp_path):
    closed = free_ports(1)[0]  # nothing listens there
    log_path = tmp_path / "access.log"
    config = {"mesh": {"gateway": "127.0.0.1:0", "access_log": {"path": str(log_path)}},
              "services": {"gone": {"address": [f"127.0.0.1:{closed}"], "health": {"type": "none"},
                                    "retry": {"attempts": 2, "backoff": "1ms", "budget": "100%"},
                                    "outlier_detection": False, "circuit_breaker": False}}}
    with Meshd(tmp_path, config) as m:
        status, _, body = curl(m.gateway + "/gone/x")
        assert status == 502, body
        record = read_access_log(log_path, 1)[0]
        assert (record["service"], record["status"], record["retries"]) == ("gone", 502, 1), record
        assert record["instance"], record  # the last one tried
        assert "upstream failed after 2 attempts" in record["error"], record
        assert len(record["trace_id"]) == 32 and record["bytes_out"] > 0


def test_access_log_records_a_request_the_parser_refused(tmp_path):
    api_port = free_ports(1)[0]
    log_path = tmp_path / "access.log"
    m = started(tmp_path, {"api": service(api_port)}, mesh={"access_log": {"path": str(log_path)}})
    try:
        host, port = m.gateway.removeprefix("http://").rsplit(":", 1)
        garbage = b"GET /api/x HTTP/1.1 extra words\r\nHost: api\r\n\r\n"
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(garbage)
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 400"), answer
        assert curl(m.gateway + "/api/after")[0] == 200  # the gateway serves on
        bad, after = read_access_log(log_path, 2)[:2]
        assert (bad["status"], bad["method"], bad["path"], bad["service"]) == (400, "", "", ""), bad
        assert bad["client"] == "127.0.0.1" and bad["bytes_in"] == len(garbage), bad
        assert "malformed HTTP request" in bad["error"], bad
        assert (after["status"], after["path"]) == (200, "/api/after")
    finally:
        m.__exit__(None, None, None)
