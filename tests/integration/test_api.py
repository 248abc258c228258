"""The REST surface implemented so far: shapes, errors, aliases, token,
logs and persisted events."""

import socket

from meshd_harness import Meshd, demo, free_ports, http, wait_until


def basic(port, **extra):
    cfg = {"services": {"web": {"command": demo("--log-every", "100ms"), "port": port,
                                "health": {"type": "http", "interval": "200ms"}, "tags": ["edge"]}}}
    cfg.update(extra)
    return cfg


def test_service_object_has_the_spec_fields(tmp_path):
    port = free_ports(1)[0]
    with Meshd(tmp_path, basic(port)) as m:
        wait_until(lambda: m.service("web")["health"] == "passing", what="passing")
        svc = m.service("web")
        for key in ("name", "state", "health", "degraded_by", "restarts", "depends_on", "instances"):
            assert key in svc
        inst = svc["instances"][0]
        assert inst["id"] == "web-0" and inst["address"] == "127.0.0.1" and inst["port"] == port
        assert inst["origin"] == "managed" and isinstance(inst["pid"], int)
        assert svc["tags"] == ["edge"]
        listing = m.get("/api/v1/services")
        assert [s["name"] for s in listing["services"]] == ["web"]
        assert m.get("/api/services/status") == listing  # seed alias
        health = m.get("/api/v1/health")
        assert health["status"] == "healthy" and health["services"] == {"running": 1}
        assert m.get("/health/system")["status"] == "healthy"
        assert m.get("/health/service/web")["name"] == "web"
        explain = m.get("/api/v1/services/web/instances/web-0/explain")
        assert explain["in_rotation"] is True and explain["reasons"] == []


def test_errors_have_one_shape_and_the_right_status(tmp_path):
    port = free_ports(1)[0]
    with Meshd(tmp_path, basic(port)) as m:
        m.wait_state("web", "running")
        cases = [
            ("GET", "/api/v1/services/nope", 404, "not_found"),
            ("POST", "/api/v1/services/nope/restart", 404, "not_found"),
            ("GET", "/api/v1/nothing", 404, "not_found"),
            ("DELETE", "/api/v1/services/web", 405, "method_not_allowed"),
            ("GET", "/api/v1/services/web/logs?tail=abc", 400, "invalid_argument"),
            ("GET", "/api/v1/services/web/logs?tail=0", 400, "invalid_argument"),
            ("GET", "/api/v1/services/web/logs?stream=both", 400, "invalid_argument"),
            ("GET", "/api/v1/events?since=-1", 400, "invalid_argument"),
            ("GET", "/api/v1/events?limit=1000000", 400, "invalid_argument"),
            ("GET", "/api/v1/services/web/instances/web-9/explain", 404, "not_found"),
            ("GET", "/api/v1/services/%zz", 400, "invalid_argument"),
        ]
        for method, path, status, code in cases:
            got, headers, body = m.api(method, path)
            assert got == status, (method, path, got, body)
            assert body["error"]["code"] == code, (path, body)
            assert body["error"]["message"]
            if status == 405:
                assert headers.get("Allow") == "GET"
        # Nothing changed: the service still runs with its first process.
        assert m.service("web")["state"] == "running"
        assert m.service("web")["restarts"] == 0


def test_oversized_and_malformed_requests(tmp_path):
    port = free_ports(1)[0]
    with Meshd(tmp_path, basic(port)) as m:
        m.wait_state("web", "running")
        status, _, body = m.api("POST", "/api/v1/services/web/restart", body=b"x" * (2 * 1024 * 1024))
        assert status == 413, body
        host, p = m.base.replace("http://", "").split(":")
        with socket.create_connection((host, int(p)), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n")
            assert b" 431 " in s.recv(4096).split(b"\r\n")[0] + b" "
        with socket.create_connection((host, int(p)), timeout=5) as s:
            s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 400")
        assert m.service("web")["state"] == "running"


def test_token_guards_mutating_calls(tmp_path):
    port = free_ports(1)[0]
    cfg = basic(port, mesh={"api_token": "s3cret"})
    cfg["services"]["web"]["rollout"] = {"min_healthy": "300ms"}  # a rolling restart, proven fast
    with Meshd(tmp_path, cfg) as m:
        m.wait_state("web", "running")
        status, headers, body = m.api("POST", "/api/v1/services/web/restart")
        assert status == 401 and body["error"]["code"] == "unauthorized"
        assert "Bearer" in headers.get("WWW-Authenticate", "")
        status, _, _ = m.api("POST", "/api/v1/services/web/restart", headers={"Authorization": "Bearer wrong"})
        assert status == 401
        status, _, _ = m.api("POST", "/admin/restart-service/web", headers={"Authorization": "s3cret"})
        assert status == 401
        assert m.service("web")["restarts"] == 0  # reads stay open
        pid = m.service("web")["instances"][0]["pid"]
        status, _, body = m.api("POST", "/api/v1/services/web/restart", headers={"Authorization": "Bearer s3cret"})
        assert status == 202, body
        # Rolling: a new instance beside the old one, which leaves once it is proven.
        wait_until(lambda: [(i["id"], i["pid"] != pid) for i in m.service("web")["instances"]] == [("web-0.1", True)],
                   timeout=20, what="the new instance alone")


def test_stop_and_start_over_the_api(tmp_path):
    port = free_ports(1)[0]
    with Meshd(tmp_path, basic(port)) as m:
        m.wait_state("web", "running")
        assert m.api("POST", "/api/v1/services/web/stop")[0] == 202
        m.wait_state("web", "stopped")
        assert m.get("/api/v1/health")["status"] == "unhealthy"
        assert m.api("POST", "/api/v1/services/web/start")[0] == 202
        m.wait_state("web", "running")


def test_logs_tail_and_stream_filter(tmp_path):
    port = free_ports(1)[0]
    with Meshd(tmp_path, basic(port)) as m:
        lines = wait_until(lambda: len(l := m.get("/api/v1/services/web/logs?tail=5")["lines"]) == 5 and l,
                           what="five log lines")
        assert all(l["instance"] == "web-0" for l in lines)
        err = m.get("/api/v1/services/web/logs?tail=50&stream=stderr")["lines"]
        assert err and all(l["stream"] == "stderr" for l in err)
        log_file = m.data_dir / "logs" / "web-0.stdout.log"
        assert log_file.exists() and "log line" in log_file.read_text()


def test_events_survive_a_restart_of_meshd(tmp_path):
    port = free_ports(1)[0]
    m = Meshd(tmp_path, basic(port))
    with m:
        m.wait_state("web", "running")
        first = m.events()
        assert any(e["type"] == "daemon.start" for e in first)
        last = first[-1]["seq"]
    assert m.proc.returncode == 0
    with Meshd(tmp_path, basic(port)) as m2:
        m2.wait_state("web", "running")
        events = m2.events(since=0)
        seqs = [e["seq"] for e in events]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert seqs[0] == first[0]["seq"]
        starts = [e for e in events if e["type"] == "daemon.start"]
        assert len(starts) == 2 and starts[1]["seq"] > last
        later = m2.events(since=last)
        assert later and all(e["seq"] > last for e in later)


def test_cors_is_off_by_default_and_follows_configured_origins(tmp_path):
    port = free_ports(1)[0]
    with Meshd(tmp_path, basic(port)) as m:
        _, headers, _ = m.api("GET", "/api/v1/health", headers={"Origin": "http://evil.example"})
        assert "Access-Control-Allow-Origin" not in headers
    with Meshd(tmp_path, basic(port, mesh={"cors_origins": ["http://ui.example"]}), name="cors") as m:
        _, headers, _ = m.api("GET", "/api/v1/health", headers={"Origin": "http://ui.example"})
        assert headers["Access-Control-Allow-Origin"] == "http://ui.example"
        _, headers, _ = m.api("GET", "/api/v1/health", headers={"Origin": "http://evil.example"})
        assert "Access-Control-Allow-Origin" not in headers
        status, headers, _ = m.api("OPTIONS", "/api/v1/services/web/restart",
                                   headers={"Origin": "http://ui.example", "Access-Control-Request-Method": "POST"})
        assert status == 204 and "POST" in headers["Access-Control-Allow-Methods"]
        assert "Authorization" in headers["Access-Control-Allow-Headers"]


def test_config_endpoint_redacts_secrets(tmp_path):
    port = free_ports(1)[0]
    cfg = basic(port, mesh={"api_token": "s3cret"})
    cfg["services"]["web"]["env"] = {"DB_PASSWORD": "hunter2", "LOG_LEVEL": "info"}
    with Meshd(tmp_path, cfg) as m:
        status, _, body = m.api("GET", "/api/v1/config")
        assert status == 200
        text = str(body)
        assert "s3cret" not in text and "hunter2" not in text
        assert body["config"]["mesh"]["api_token"] == "<redacted>"
        web = body["config"]["services"]["web"]
        assert web["env"] == {"DB_PASSWORD": "<redacted>", "LOG_LEVEL": "info"}
        assert web["health"]["interval"] == "200ms" and web["port"] == port
        assert isinstance(body["version"], int)


def test_openapi_documents_every_route_and_docs_renders(tmp_path):
    port = free_ports(1)[0]
    with Meshd(tmp_path, basic(port)) as m:
        doc = m.get("/openapi.json")
        assert doc["openapi"].startswith("3.")
        undocumented = [(p, op) for p, ops in doc["paths"].items() for op, v in ops.items() if v["summary"] == "undocumented"]
        assert undocumented == []
        for path in ("/api/v1/services", "/api/v1/discover/{service}", "/api/v1/registry", "/metrics",
                     "/api/v1/breakers/{service}/{instance}/open", "/ws", "/api/v1/tests/run"):
            assert path in doc["paths"], path
        assert doc["paths"]["/api/v1/registry"]["post"]["security"]
        status, headers, page = m.api("GET", "/docs")
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert "/openapi.json" in page and "<script" in page
        assert "https://" not in page and "http://" not in page  # served offline, no CDN
