"""The data path through the real gateway: balancing, breakers, retries,
timeouts, streaming and bad requests."""

import collections
import os
import signal
import socket
import threading
import time

from meshd_harness import Backend, Meshd, demo, free_ports, http, wait_until


def mesh(services):
    return {"mesh": {"gateway": "127.0.0.1:0"}, "services": services}


def replicas(port, n=3, *args, **extra):
    svc = {"command": demo(*args), "port": port, "replicas": n,
           "health": {"type": "http", "interval": "200ms"}}
    svc.update(extra)
    return svc


def wait_passing(m, name, n):
    wait_until(lambda: len(m.get(f"/api/v1/discover/{name}?passing=true")["instances"]) == n,
               timeout=30, what=f"{n} passing instances of {name}")


def test_even_spread_and_forwarding_headers(tmp_path):
    port = free_ports(1)[0]
    with Meshd(tmp_path, mesh({"web": replicas(port)})) as m:
        wait_passing(m, "web", 3)
        gw = m.gateway
        counts = collections.Counter()
        for i in range(90):
            status, headers, body = http("GET", f"{gw}/web/hello?i={i}")
            assert status == 200, body
            assert headers["X-Mesh-Instance"] == body["instance"]
            assert body["path"] == "/hello"
            counts[body["instance"]] += 1
        assert counts == {"web-0": 30, "web-1": 30, "web-2": 30}
        status, _, body = http("GET", f"{gw}/web/x", headers={"X-Request-Id": "req-42", "X-Forwarded-For": "10.1.1.1"})
        assert body["x_request_id"] == "req-42"
        assert body["x_forwarded_for"] == "10.1.1.1, 127.0.0.1"
        _, _, body = http("GET", f"{gw}/web/x")
        assert body["x_request_id"]  # made when missing


def test_errors_are_json_with_the_right_status(tmp_path):
    port, dead = free_ports(2)
    services = {
        "web": replicas(port, 1),
        "slow": {"command": demo("--latency", "2s"), "port": free_ports(1)[0], "timeout": "300ms",
                 "health": {"type": "tcp", "interval": "200ms"}, "retry": {"attempts": 1}},
        "dead": {"address": [f"127.0.0.1:{dead}"], "health": {"type": "none"},
                 "retry": {"attempts": 3, "backoff": "10ms", "on": ["connect-failure"]},
                 "outlier_detection": {"consecutive_failures": 1000}},
        "empty": {"address": [], "health": {"type": "tcp"}},
    }
    with Meshd(tmp_path, mesh(services)) as m:
        wait_passing(m, "web", 1)
        wait_passing(m, "slow", 1)
        gw = m.gateway
        status, _, body = http("GET", f"{gw}/nope/x")
        assert status == 404 and body["error"]["code"] == "not_found"
        status, _, body = http("GET", f"{gw}/empty/x")
        assert status == 503 and "no instances" in body["error"]["message"]
        t0 = time.monotonic()
        status, _, body = http("GET", f"{gw}/slow/x")
        assert status == 504, body
        assert time.monotonic() - t0 < 1.5
        status, _, body = http("GET", f"{gw}/dead/x")
        assert status == 502 and "3 attempts" in body["error"]["message"], body
        host, p = gw.replace("http://", "").split(":")
        with socket.create_connection((host, int(p)), timeout=5) as s:
            s.sendall(b"GET /web/x HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 431")
        with socket.create_connection((host, int(p)), timeout=5) as s:
            s.sendall(b"BLAH\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 400")
        with socket.create_connection((host, int(p)), timeout=5) as s:
            # Absolute-form is accepted (RFC 9112 3.2.2) and routes by its path.
            s.sendall(b"GET http://elsewhere/x HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 404")
        assert http("GET", f"{gw}/web/ok")[0] == 200


def test_weighted_split(tmp_path):
    a, b = Backend(), Backend()
    try:
        services = {"pool": {"address": [], "load_balancer": "weighted_round_robin", "health": {"type": "tcp", "interval": "200ms"}}}
        with Meshd(tmp_path, mesh(services)) as m:
            for name, be, w in (("heavy", a, 3), ("light", b, 1)):
                body = {"service": "pool", "id": name, "address": "127.0.0.1", "port": be.port, "weight": w,
                        "check": {"type": "tcp", "interval": "200ms"}}
                assert m.api("POST", "/api/v1/registry", body)[0] == 201
            wait_passing(m, "pool", 2)
            counts = collections.Counter(http("GET", f"{m.gateway}/pool/x")[1]["X-Mesh-Instance"] for _ in range(80))
            assert counts == {"heavy": 60, "light": 20}
    finally:
        a.close()
        b.close()


def test_failing_instance_opens_its_breaker_then_recovers(tmp_path):
    good, bad = Backend(), Backend()
    bad.status = 500
    try:
        services = {"api": {"address": [], "health": {"type": "tcp", "interval": "200ms"},
                            "retry": {"attempts": 1},
                            "circuit_breaker": {"failure_rate": "50%", "window": 10, "minimum_calls": 4,
                                                "open_for": "1s", "half_open_calls": 2},
                            "outlier_detection": {"consecutive_failures": 1000}}}
        with Meshd(tmp_path, mesh(services)) as m:
            for name, be in (("good", good), ("bad", bad)):
                assert m.api("POST", "/api/v1/registry", {"service": "api", "id": name, "address": "127.0.0.1",
                                                          "port": be.port, "check": {"type": "tcp", "interval": "200ms"}})[0] == 201
            wait_passing(m, "api", 2)
            statuses = [http("GET", f"{m.gateway}/api/x")[0] for _ in range(12)]
            assert 500 in statuses
            breakers = {b["instance"]: b for b in m.get("/api/v1/breakers")["breakers"]}
            assert breakers["bad"]["state"] == "open", breakers
            assert breakers["good"]["state"] == "closed"
            # Out of rotation: everything goes to the good one now.
            for _ in range(10):
                status, headers, _ = http("GET", f"{m.gateway}/api/x")
                assert status == 200 and headers["X-Mesh-Instance"] == "good"
            explain = m.get("/api/v1/services/api/instances/bad/explain")
            assert any(r["kind"] == "breaker" for r in explain["reasons"]), explain
            bad.status = 200  # it recovers
            time.sleep(1.2)
            wait_until(lambda: [http("GET", f"{m.gateway}/api/x") for _ in range(4)] and
                       {b["instance"]: b["state"] for b in m.get("/api/v1/breakers")["breakers"]}["bad"] == "closed",
                       timeout=10, what="breaker closed again")
            events = [e for e in m.events() if e["type"] == "breaker.transition" and e["instance"] == "bad"]
            assert [e["data"]["to"] for e in events][:3] == ["open", "half_open", "closed"]
    finally:
        good.close()
        bad.close()


def test_a_killed_replica_causes_no_client_visible_error(tmp_path):
    port = free_ports(1)[0]
    svc = replicas(port, 3, retry={"attempts": 3, "backoff": "5ms", "on": ["connect-failure", "reset"]},
                   restart={"backoff": {"initial": "5s"}})
    with Meshd(tmp_path, mesh({"web": svc})) as m:
        wait_passing(m, "web", 3)
        gw = m.gateway
        victim = m.service("web")["instances"][1]["pid"]
        failures, done = [], threading.Event()

        def client():
            deadline = time.monotonic() + 4
            n = 0
            while time.monotonic() < deadline and n < 2000:
                status, _, body = http("GET", f"{gw}/web/x")
                if status != 200:
                    failures.append((status, body))
                n += 1
            done.set()

        t = threading.Thread(target=client)
        t.start()
        time.sleep(1)
        os.kill(victim, signal.SIGKILL)
        t.join(timeout=20)
        assert done.is_set()
        assert failures == []


def test_streams_a_100mb_body_with_flat_memory(tmp_path):
    port = free_ports(1)[0]
    with Meshd(tmp_path, mesh({"up": replicas(port, 1)})) as m:
        wait_passing(m, "up", 1)
        before = m.rss_kb()
        host, p = m.gateway.replace("http://", "").split(":")
        total = 100 * 1024 * 1024
        chunk = b"x" * (1024 * 1024)
        import http.client
        conn = http.client.HTTPConnection(host, int(p), timeout=60)
        conn.putrequest("POST", "/up/upload")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for _ in range(total // len(chunk)):
            conn.send(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        conn.send(b"0\r\n\r\n")
        res = conn.getresponse()
        body = res.read()
        assert res.status == 200, body
        assert b'"bytes": %d' % total in body or b'"bytes":%d' % total in body
        # and 100 MB back down
        conn.request("GET", f"/up/bytes?n={total}")
        res = conn.getresponse()
        got = 0
        while True:
            piece = res.read(1 << 20)
            if not piece:
                break
            got += len(piece)
        assert got == total
        growth_mb = (m.rss_kb() - before) / 1024
        assert growth_mb < 20, f"RSS grew {growth_mb:.1f} MB"


def test_slow_clients_do_not_starve_others(tmp_path):
    port = free_ports(1)[0]
    with Meshd(tmp_path, mesh({"web": replicas(port, 1)})) as m:
        wait_passing(m, "web", 1)
        host, p = m.gateway.replace("http://", "").split(":")
        slow = []
        try:
            for _ in range(200):
                s = socket.create_connection((host, int(p)), timeout=5)
                s.sendall(b"GET /web/x HTTP/1.1\r\nHost: x\r\n")  # never finishes its header
                slow.append(s)
            t0 = time.monotonic()
            for _ in range(20):
                assert http("GET", f"{m.gateway}/web/x")[0] == 200
            assert time.monotonic() - t0 < 3
        finally:
            for s in slow:
                s.close()


def test_resolve_and_report_for_proxyless_clients(tmp_path):
    port = free_ports(1)[0]
    svc = replicas(port, 2, circuit_breaker={"window": 4, "minimum_calls": 4, "open_for": "30s"})
    with Meshd(tmp_path, mesh({"web": svc})) as m:
        wait_passing(m, "web", 2)
        picked = m.get("/api/v1/resolve/web")["instance"]
        assert picked["id"] in ("web-0", "web-1") and picked["port"] in (port, port + 1)
        for _ in range(4):
            status, _, body = m.api("POST", "/api/v1/report", {"service": "web", "instance": "web-0", "ok": False,
                                                                "latency_ms": 12})
            assert status == 200, body
        assert body["state"] == "open"
        assert {m.get("/api/v1/resolve/web")["instance"]["id"] for _ in range(10)} == {"web-1"}
        for bad, code in (({"service": "web"}, 400), ({"service": "web", "instance": "web-0", "ok": "yes"}, 400),
                          ({"service": "nope", "instance": "x", "ok": True}, 404),
                          ({"service": "web", "instance": "web-9", "ok": True}, 404)):
            assert m.api("POST", "/api/v1/report", bad)[0] == code, bad
        assert m.api("POST", "/api/v1/breakers/web/web-0/reset")[0] == 200
        assert m.api("POST", "/api/v1/breakers/web/web-1/open")[0] == 200
        assert {m.get("/api/v1/resolve/web")["instance"]["id"] for _ in range(10)} == {"web-0"}
        assert m.api("GET", "/api/v1/resolve/nope")[0] == 404


def test_declared_tests_run_through_the_gateway(tmp_path):
    port = free_ports(1)[0]
    svc = replicas(port, 1)
    svc["tests"] = [
        {"name": "answers health", "request": {"method": "GET", "path": "/health"},
         "expect": {"status": 200, "body_contains": "ok", "max_latency": "2s"}},
        {"name": "wrong status", "request": {"path": "/status/418"}, "expect": {"status": 200}},
        {"name": "missing text", "request": {"path": "/"}, "expect": {"status": 200, "body_contains": "nope"}},
    ]
    with Meshd(tmp_path, mesh({"web": svc})) as m:
        wait_passing(m, "web", 1)
        assert m.get("/api/v1/tests")["ran"] is False
        status, _, run = m.api("POST", "/api/v1/tests/run")
        assert status == 200, run
        assert (run["passed"], run["failed"]) == (1, 2)
        by_name = {r["name"]: r for r in run["results"]}
        assert by_name["answers health"]["passed"] and by_name["answers health"]["status"] == 200
        assert "418" in by_name["wrong status"]["reason"]
        assert "nope" in by_name["missing text"]["reason"]
        assert m.get("/api/v1/tests")["results"] == run["results"]


class RawBackend:
    """Answers every request on a connection with fixed bytes per path:
    /eof ends its body by closing (HTTP/1.0 style), /chunked is chunked,
    anything else has a Content-Length (and none for HEAD)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        buf = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                method, path = head.split(b" ")[:2]
                if path.endswith(b"/eof"):
                    conn.sendall(b"HTTP/1.0 200 OK\r\nX-App: eof\r\n\r\nhello-until-close")
                    return
                if path.endswith(b"/chunked"):
                    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 b"6\r\nhello-\r\n7\r\nchunked\r\n0\r\n\r\n")
                    continue
                body = b"" if method == b"HEAD" else b"plain"
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" + body)

    def close(self):
        self.sock.close()


def read_response(f):
    """(status line, headers dict with lower-case names) from a file made by
    socket.makefile('rb'); the body is left for the caller."""
    status = f.readline().decode().strip()
    headers = {}
    while True:
        line = f.readline().decode()
        if line in ("\r\n", ""):
            break
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    return status, headers


def read_chunked(f):
    """A chunked body from `f`, through its last (empty) chunk."""
    body = b""
    while True:
        size = int(f.readline().strip(), 16)
        chunk = f.read(size + 2)[:size]
        if size == 0:
            return body
        body += chunk


def test_framing_pipelining_head_and_http10(tmp_path):
    be = RawBackend()
    try:
        services = {"raw": {"address": [f"127.0.0.1:{be.port}"], "health": {"type": "tcp", "interval": "200ms"}}}
        with Meshd(tmp_path, mesh(services)) as m:
            wait_passing(m, "raw", 1)
            host, p = m.gateway.replace("http://", "").split(":")
            with socket.create_connection((host, int(p)), timeout=5) as s:
                # Three pipelined requests on one connection, answered in order.
                s.sendall(b"GET /raw/a HTTP/1.1\r\nHost: x\r\n\r\n"
                          b"HEAD /raw/b HTTP/1.1\r\nHost: x\r\n\r\n"
                          b"GET /raw/chunked HTTP/1.1\r\nHost: x\r\n\r\n")
                f = s.makefile("rb")
                status, h = read_response(f)
                assert status == "HTTP/1.1 200 OK" and h["x-mesh-instance"] and f.read(int(h["content-length"])) == b"plain"
                status, h = read_response(f)  # HEAD: a length, no body
                assert status == "HTTP/1.1 200 OK" and h["content-length"] == "5"
                status, h = read_response(f)
                assert status == "HTTP/1.1 200 OK" and h["transfer-encoding"] == "chunked"
                body = read_chunked(f)
                assert body == b"hello-chunked"
                # A body that ends at the upstream's close is re-chunked for
                # an HTTP/1.1 client, which keeps its connection.
                s.sendall(b"GET /raw/eof HTTP/1.1\r\nHost: x\r\n\r\n")
                status, h = read_response(f)
                assert status == "HTTP/1.1 200 OK" and h["x-app"] == "eof" and h["transfer-encoding"] == "chunked"
                body = read_chunked(f)
                assert body == b"hello-until-close"
            # HTTP/1.0: no chunking; the same body is ended by closing.
            with socket.create_connection((host, int(p)), timeout=5) as s:
                s.sendall(b"GET /raw/eof HTTP/1.0\r\n\r\n")
                data = b""
                while True:
                    piece = s.recv(65536)
                    if not piece:
                        break
                    data += piece
                head, body = data.split(b"\r\n\r\n", 1)
                assert head.startswith(b"HTTP/1.0 200 OK") and b"chunked" not in head.lower()
                assert body == b"hello-until-close"
            with socket.create_connection((host, int(p)), timeout=5) as s:
                s.sendall(b"GET /raw/a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                f = s.makefile("rb")
                status, h = read_response(f)
                assert status == "HTTP/1.0 200 OK" and h["connection"] == "keep-alive"
                assert f.read(5) == b"plain"
    finally:
        be.close()
