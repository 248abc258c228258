"""Registry, discovery and the health poller with the real binary."""

import os
import signal
import socket
import threading
import time

from meshd_harness import Meshd, demo, free_ports, http, wait_until


def config(port, **services):
    cfg = {"services": {
        "web": {"command": demo(), "port": port, "tags": ["edge"],
                "health": {"type": "http", "interval": "200ms", "unhealthy_threshold": 1}},
        "pg": {"address": [], "health": {"type": "tcp"}},
    }}
    cfg["services"].update(services)
    return cfg


def test_register_discover_and_deregister(tmp_path):
    web, pg = free_ports(2)
    listener = socket.socket()
    listener.bind(("127.0.0.1", pg))
    listener.listen(16)
    try:
        with Meshd(tmp_path, config(web)) as m:
            body = {"service": "pg", "id": "pg-1", "address": "127.0.0.1", "port": pg, "tags": ["primary"],
                    "metadata": {"zone": "a"}, "check": {"type": "tcp", "interval": "200ms"}}
            status, _, res = m.api("POST", "/api/v1/registry", body)
            assert status == 201, res
            found = wait_until(lambda: (d := m.get("/api/v1/discover/pg?passing=true"))["instances"] and d,
                               what="pg-1 passing")
            inst = found["instances"][0]
            assert inst["id"] == "pg-1" and inst["port"] == pg and inst["origin"] == "registered"
            assert inst["metadata"] == {"zone": "a"}
            assert m.get("/api/v1/discover/pg?tag=primary")["instances"][0]["id"] == "pg-1"
            assert m.get("/api/v1/discover/pg?tag=replica")["instances"] == []
            svc = m.service("pg")
            assert [i["id"] for i in svc["instances"]] == ["pg-1"]
            status, _, _ = m.api("DELETE", "/api/v1/registry/pg/pg-1")
            assert status == 200
            assert m.get("/api/v1/discover/pg")["instances"] == []
            status, _, body = m.api("DELETE", "/api/v1/registry/pg/pg-1")
            assert status == 404 and body["error"]["code"] == "not_found"
    finally:
        listener.close()


def test_bad_registrations_change_nothing(tmp_path):
    web = free_ports(1)[0]
    with Meshd(tmp_path, config(web)) as m:
        ok = {"service": "pg", "id": "pg-1", "address": "127.0.0.1", "port": 5999}
        assert m.api("POST", "/api/v1/registry", ok)[0] == 201
        index = m.get("/api/v1/discover/pg")["index"]
        cases = [
            (b"{not json", 400, "invalid_argument"),
            ({"address": "127.0.0.1", "port": 1}, 400, "invalid_argument"),
            ({"service": "pg", "address": "127.0.0.1", "port": 0}, 400, "invalid_argument"),
            ({"service": "pg", "address": "127.0.0.1", "port": 70000}, 400, "invalid_argument"),
            ({"service": "pg", "address": "127.0.0.1:5432", "port": 5432}, 400, "invalid_argument"),
            ({"service": "pg", "address": "127.0.0.1", "port": 1, "check": {"type": "exec"}}, 400, "invalid_argument"),
            ({"service": "pg", "address": "127.0.0.1", "port": 1, "check": {"interval": "soon"}}, 400, "invalid_argument"),
            ({"service": "No Such", "address": "127.0.0.1", "port": 1}, 400, "invalid_argument"),
            (ok, 409, "conflict"),
            ({"service": "pg", "id": "web-0", "address": "127.0.0.1", "port": 1}, 409, "conflict"),
        ]
        for body, status, code in cases:
            got, _, res = m.api("POST", "/api/v1/registry", body)
            assert (got, res["error"]["code"]) == (status, code), (body, got, res)
        assert m.get("/api/v1/discover/pg")["index"] == index
        assert [i["id"] for i in m.get("/api/v1/discover/pg")["instances"]] == ["pg-1"]
        for path, status in (("/api/v1/discover/nope", 404), ("/api/v1/discover/pg?wait=soon&index=1", 400),
                             ("/api/v1/discover/pg?index=-3", 400), ("/api/v1/discover/pg?passing=maybe", 400)):
            assert m.api("GET", path)[0] == status, path
        got, _, res = m.api("PUT", "/api/v1/registry/pg/pg-1/ttl")
        assert got == 409, res  # pg-1 has no TTL check
        assert m.api("PUT", "/api/v1/registry/pg/nope/ttl")[0] == 404


def test_registrations_and_overrides_survive_a_restart(tmp_path):
    web = free_ports(1)[0]
    cfg = config(web)
    m = Meshd(tmp_path, cfg)
    with m:
        body = {"service": "pg", "id": "pg-ttl", "address": "127.0.0.1", "port": 6000,
                "check": {"type": "ttl", "ttl": "30s"}}
        assert m.api("POST", "/api/v1/registry", body)[0] == 201
        assert m.api("PUT", "/api/v1/registry/pg/pg-ttl/ttl", {"note": "alive"})[0] == 200
        assert m.get("/api/v1/discover/pg?passing=true")["instances"][0]["id"] == "pg-ttl"
        m.wait_state("web", "running")
        status, _, res = m.api("POST", "/api/v1/services/web/instances/web-0/drain", {"note": "upgrade"})
        assert status == 200 and res["drain"] is True, res
    with Meshd(tmp_path, cfg) as m2:
        ids = [i["id"] for i in m2.get("/api/v1/discover/pg")["instances"]]
        assert ids == ["pg-ttl"]
        wait_until(lambda: m2.service("web")["instances"], what="web instance")
        inst = m2.service("web")["instances"][0]
        assert inst["drain"] is True and inst["in_rotation"] is False
        explain = m2.get("/api/v1/services/web/instances/web-0/explain")
        assert any(r["kind"] == "drain" and "upgrade" in r["message"] for r in explain["reasons"])
        assert m2.api("POST", "/api/v1/services/web/instances/web-0/ready")[0] == 200
        wait_until(lambda: m2.get("/api/v1/discover/web?passing=true")["instances"], what="web back in rotation")


def test_blocking_query_wakes_on_a_health_change(tmp_path):
    web = free_ports(1)[0]
    with Meshd(tmp_path, config(web)) as m:
        wait_until(lambda: m.get("/api/v1/discover/web?passing=true")["instances"], what="web passing")
        status, headers, body = m.api("GET", "/api/v1/discover/web")
        index = int(headers["X-Mesh-Index"])
        assert index == body["index"]
        # The quiet service's watcher must not wake when web changes.
        other = {}
        t_other = threading.Thread(target=lambda: other.update(
            r=m.api("GET", f"/api/v1/discover/pg?index={m.get('/api/v1/discover/pg')['index']}&wait=3s", timeout=10)))
        t_other.start()
        result = {}

        def block():
            t0 = time.monotonic()
            result["r"] = m.api("GET", f"/api/v1/discover/web?index={index}&wait=20s", timeout=30)
            result["t"] = time.monotonic()

        t = threading.Thread(target=block)
        t.start()
        time.sleep(0.5)
        assert "r" not in result  # still blocked
        changed = time.monotonic()
        http("POST", f"http://127.0.0.1:{web}/admin/health?status=fail")
        t.join(timeout=10)
        assert "r" in result
        status, headers, body = result["r"]
        assert status == 200 and int(headers["X-Mesh-Index"]) > index
        assert body["instances"][0]["health"] == "critical"
        assert result["t"] - changed < 2.0  # the check interval is 200ms
        t_other.join(timeout=10)
        assert other["r"][0] == 200 and other["r"][2]["instances"] == []


def test_killed_process_leaves_rotation_at_once(tmp_path):
    web = free_ports(1)[0]
    cfg = config(web)
    cfg["services"]["web"]["health"]["interval"] = "30s"
    cfg["services"]["web"]["restart"] = {"backoff": {"initial": "5s"}}
    with Meshd(tmp_path, cfg) as m:
        inst = wait_until(lambda: m.get("/api/v1/discover/web?passing=true")["instances"], what="passing")
        pid = m.service("web")["instances"][0]["pid"]
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: m.get("/api/v1/discover/web?passing=true")["instances"] == [], timeout=2,
                   interval=0.02, what="out of rotation")
        assert inst


def test_exec_check_keeps_its_output(tmp_path):
    web = free_ports(1)[0]
    flag = tmp_path / "flag"
    cfg = config(web, job={"command": demo(), "port": free_ports(1)[0], "health": {
        "type": "exec", "command": ["sh", "-c", f"cat {flag} || exit 2"], "interval": "200ms",
        "unhealthy_threshold": 1}})
    with Meshd(tmp_path, cfg) as m:
        inst = wait_until(lambda: (i := m.service("job")["instances"][0])["health"] == "critical" and i,
                          what="critical without the flag file")
        assert "No such file" in inst["health_output"]
        flag.write_text("all systems go\n")
        inst = wait_until(lambda: (i := m.service("job")["instances"][0])["health"] == "passing" and i,
                          what="passing with it")
        assert inst["health_output"] == "all systems go"


def test_a_hanging_upstream_does_not_stall_other_checks(tmp_path):
    web, hang = free_ports(2)
    listener = socket.socket()
    listener.bind(("127.0.0.1", hang))
    listener.listen(64)  # accepts (kernel backlog) and never answers
    try:
        cfg = config(web, stuck={"address": f"127.0.0.1:{hang}", "health": {
            "type": "http", "path": "/health", "interval": "200ms", "timeout": "300ms", "unhealthy_threshold": 1}})
        with Meshd(tmp_path, cfg) as m:
            inst = wait_until(lambda: (i := m.service("stuck")["instances"][0])["health"] == "critical" and i,
                              timeout=10, what="stuck critical")
            assert "timed out" in inst["health_output"]
            # web keeps being checked on time: flip it and see it follow.
            wait_until(lambda: m.service("web")["health"] == "passing", what="web passing")
            http("POST", f"http://127.0.0.1:{web}/admin/health?status=fail")
            wait_until(lambda: m.service("web")["health"] == "critical", timeout=3, what="web critical")
    finally:
        listener.close()


def parked_queries(m):
    """meshd_registry_blocking_queries from /metrics: blocking queries parked now."""
    status, _, text = m.api("GET", "/metrics")
    assert status == 200
    for line in text.splitlines():
        if line.startswith("meshd_registry_blocking_queries "):
            return int(float(line.split()[1]))
    raise AssertionError("no meshd_registry_blocking_queries in /metrics")


def read_response(sock):
    """(status, {lower-case header: value}, body) of one HTTP/1.1 response with a Content-Length."""
    status_line, headers, body = read_raw(sock)
    return int(status_line.split()[1]), headers, body


def test_a_parked_query_whose_client_hangs_up_is_let_go(tmp_path):
    web = free_ports(1)[0]
    with Meshd(tmp_path, config(web)) as m:
        index = m.get("/api/v1/discover/pg")["index"]
        host, port = m.base[len("http://"):].rsplit(":", 1)
        socks = []
        try:
            for _ in range(3):
                s = socket.create_connection((host, int(port)), timeout=10)
                s.sendall(f"GET /api/v1/discover/pg?index={index}&wait=5m HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                socks.append(s)
            wait_until(lambda: parked_queries(m) == 3, what="3 parked queries")
            # Two clients give up long before their 5 minutes are over.
            socks.pop().close()
            socks.pop().close()
            wait_until(lambda: parked_queries(m) == 1, timeout=5, what="the 2 abandoned queries let go")
            # The one still connected is answered as usual by the next change.
            body = {"service": "pg", "id": "pg-1", "address": "127.0.0.1", "port": 5999}
            assert m.api("POST", "/api/v1/registry", body)[0] == 201
            socks[0].settimeout(10)
            status, headers, _ = read_response(socks[0])
            assert status == 200 and int(headers["x-mesh-index"]) > index
            # The connection stays usable (keep-alive) after a parked query.
            socks[0].sendall(b"GET /api/v1/discover/pg HTTP/1.1\r\nHost: x\r\n\r\n")
            status, _, body = read_response(socks[0])
            assert status == 200 and b'"pg-1"' in body
            wait_until(lambda: parked_queries(m) == 0, what="no parked queries")
        finally:
            for s in socks:
                s.close()


def read_raw(sock, head_only=False):
    """(status line, {lower-case header: value}, body) of one response; for a
    HEAD, stops after the header, as a client must."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, "meshd closed the connection"
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}
    if not head_only:
        while len(body) < int(headers["content-length"]):
            chunk = sock.recv(65536)
            assert chunk, "meshd closed the connection"
            body += chunk
    return lines[0], headers, body


def test_one_wake_answers_each_kind_of_connection_in_its_own_form(tmp_path):
    """Parked queries at one index share one prepared answer; HTTP/1.0, HEAD
    and CORS connections must still get their own status line and headers."""
    web = free_ports(1)[0]
    cfg = config(web)
    cfg["mesh"] = {"cors_origins": ["http://ui.example"]}
    with Meshd(tmp_path, cfg) as m:
        index = m.get("/api/v1/discover/pg")["index"]
        host, port = m.base[len("http://"):].rsplit(":", 1)
        target = f"/api/v1/discover/pg?index={index}&wait=5m"
        asks = {
            "plain": f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n",
            "http10": f"GET {target} HTTP/1.0\r\n\r\n",
            "http10-keepalive": f"GET {target} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
            "cors": f"GET {target} HTTP/1.1\r\nHost: x\r\nOrigin: http://ui.example\r\n\r\n",
            "head": f"HEAD {target} HTTP/1.1\r\nHost: x\r\n\r\n",
            "close": f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        }
        socks = {}
        try:
            for name, ask in asks.items():
                s = socket.create_connection((host, int(port)), timeout=10)
                s.sendall(ask.encode())
                socks[name] = s
            wait_until(lambda: parked_queries(m) == len(asks), what="every query parked")
            body = {"service": "pg", "id": "pg-1", "address": "127.0.0.1", "port": 5999}
            assert m.api("POST", "/api/v1/registry", body)[0] == 201
            got = {name: read_raw(s, head_only=(name == "head")) for name, s in socks.items()}
            new_index = got["plain"][1]["x-mesh-index"]
            assert int(new_index) > index
            plain_body = got["plain"][2]
            assert b'"pg-1"' in plain_body
            for name, (status, headers, body) in got.items():
                assert status.split()[1] == "200", name
                assert headers["x-mesh-index"] == new_index, name
                assert headers["content-length"] == str(len(plain_body)), name
                if name != "head":
                    assert body == plain_body, name
            assert got["plain"][0].startswith("HTTP/1.1 ") and "connection" not in got["plain"][1]
            assert got["http10"][0].startswith("HTTP/1.0 ") and "connection" not in got["http10"][1]
            assert got["http10-keepalive"][0].startswith("HTTP/1.0 ")
            assert got["http10-keepalive"][1]["connection"] == "keep-alive"
            assert got["close"][1]["connection"] == "close"
            assert got["cors"][1]["access-control-allow-origin"] == "http://ui.example"
            assert "access-control-allow-origin" not in got["plain"][1]
            assert got["head"][2] == b""  # nothing after the header
            # Connections that asked to close are closed; the others stay usable.
            for name in ("http10", "close"):
                socks[name].settimeout(5)
                assert socks[name].recv(1) == b"", name
            for name in ("plain", "cors", "head", "http10-keepalive"):
                version = "1.0" if name == "http10-keepalive" else "1.1"
                extra = "Connection: keep-alive\r\n" if name == "http10-keepalive" else ""
                socks[name].sendall(f"GET /api/v1/discover/pg HTTP/{version}\r\nHost: x\r\n{extra}\r\n".encode())
                status, headers, body = read_raw(socks[name])
                assert status.split()[1] == "200" and b'"pg-1"' in body, name
        finally:
            for s in socks.values():
                s.close()
