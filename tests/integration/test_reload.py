"""Config reload with the real binary (SPEC 6, docs/reload.md): exactly
which processes a reload replaces, the health-gated rollout and its
rollback with clients running through the gateway, history and rollback
to a version, the ways in (SIGHUP, the API, /admin/config, --dev), and
the bad inputs that must change nothing."""

import json
import signal
import threading
import time

from meshd_harness import Meshd, demo, free_ports, http, pid_alive, to_yaml, wait_until


def web(port, *args, **extra):
    svc = {"command": demo(*args), "port": port,
           "health": {"type": "http", "interval": "200ms", "start_period": "1s"},
           # Proven after half a second of passing, so the tests stay short.
           "rollout": {"min_healthy": "500ms", "deadline": "3s"}}
    svc.update(extra)
    return svc


def config(services, **mesh):
    return {"version": 1, "mesh": dict({"gateway": "127.0.0.1:0"}, **mesh), "services": services}


def write(m, cfg):
    cfg = dict(cfg)
    cfg["mesh"] = dict(cfg.get("mesh", {}), listen="127.0.0.1:0", data_dir=str(m.data_dir))
    m.config_path.write_text(to_yaml(cfg))


def pids(m):
    """{instance id: pid} of every managed instance."""
    out = {}
    for svc in m.get("/api/v1/services")["services"]:
        for inst in svc["instances"]:
            if inst.get("pid"):
                out[inst["id"]] = inst["pid"]
    return out


def wait_passing(m, name, n):
    wait_until(lambda: len(m.get(f"/api/v1/discover/{name}?passing=true")["instances"]) == n,
               timeout=20, what=f"{n} passing instances of {name}")


def reload(m, wait=True):
    return m.api("POST", "/api/v1/config/reload" + ("?wait=true" if wait else ""), timeout=60)


class ClientLoop:
    """Requests through the gateway, back to back, from a thread; bounded
    in count and time. Every status is kept."""

    def __init__(self, url, max_requests=20000, max_seconds=60):
        self.url, self.statuses, self.errors = url, [], []
        self.max_requests, self.max_seconds = max_requests, max_seconds
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        deadline = time.monotonic() + self.max_seconds
        for _ in range(self.max_requests):
            if self.stop_flag.is_set() or time.monotonic() > deadline:
                return
            status, _, body = http("GET", self.url, timeout=5)
            self.statuses.append(status)
            if status != 200:
                self.errors.append((status, body))
            time.sleep(0.005)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        self.thread.join(timeout=10)
        return False


def test_only_what_changed_restarts(tmp_path):
    pa, pb, pc, pd = free_ports(4)
    services = {"a": web(pa), "b": web(pb), "c": web(pc)}
    with Meshd(tmp_path, config(services)) as m:
        for name in "abc":
            wait_passing(m, name, 1)
        before = pids(m)
        services2 = {"a": web(pa), "b": web(pb, env={"FLAVOUR": "new"}), "d": web(pd)}
        write(m, config(services2))
        status, _, body = reload(m)
        assert status == 200, body
        assert body["result"] == "applied", body
        results = {s["service"]: (s["change"], s["result"]) for s in body["services"]}
        assert results == {"b": ("replace", "replaced"), "c": ("removed", "stopped"), "d": ("added", "started")}
        after = pids(m)
        assert after["a-0"] == before["a-0"]            # unchanged: same process
        assert "b-0" not in after and "b-0.1" in after  # replaced
        assert not pid_alive(before["b-0"]) and not pid_alive(before["c-0"])
        assert "c-0" not in after
        names = [s["name"] for s in m.get("/api/v1/services")["services"]]
        assert "c" not in names and "d" in names
        status, _, _ = m.api("GET", "/api/v1/services/c")
        assert status == 404
        wait_passing(m, "d", 1)
        # b's replacement took a free port while b-0 still held the fixed one.
        b = m.service("b")
        assert b["instances"][0]["port"] != pb
        assert b["rollout"]["status"] == "applied"
        gw = m.gateway
        status, headers, _ = http("GET", f"{gw}/b/x")
        assert status == 200 and headers["X-Mesh-Instance"] == "b-0.1"
        assert m.get("/api/v1/config")["version"] == body["version"]


def test_a_traffic_only_change_restarts_nothing(tmp_path):
    port = free_ports(1)[0]
    with Meshd(tmp_path, config({"web": web(port, replicas=2)})) as m:
        wait_passing(m, "web", 2)
        before = pids(m)
        write(m, config({"web": web(port, replicas=2, load_balancer="least_connections", weight=5, tags=["v2"],
                                    circuit_breaker={"failure_rate": "80%"}, timeout="5s")}))
        status, _, body = reload(m)
        assert status == 200, body
        assert [(s["service"], s["change"], s["result"]) for s in body["services"]] == [("web", "in_place", "updated")]
        assert pids(m) == before
        instances = m.get("/api/v1/discover/web")["instances"]
        assert all(i["tags"] == ["v2"] and i["weight"] == 5 for i in instances), instances
        cfg = m.get("/api/v1/config")["config"]["services"]["web"]
        assert cfg["load_balancer"] == "least_connections" and cfg["timeout"] == "5s"
        # A replica count change adds a replica and touches nothing else.
        write(m, config({"web": web(port, replicas=3, load_balancer="least_connections", weight=5, tags=["v2"],
                                    circuit_breaker={"failure_rate": "80%"}, timeout="5s")}))
        status, _, body = reload(m)
        assert status == 200 and body["services"][0]["result"] == "scaled", body
        now = pids(m)
        assert {k: now[k] for k in before} == before and "web-2" in now


def test_a_bad_file_changes_nothing(tmp_path):
    port = free_ports(1)[0]
    with Meshd(tmp_path, config({"web": web(port)})) as m:
        wait_passing(m, "web", 1)
        before = pids(m)
        version = m.get("/api/v1/config")["version"]
        good = m.config_path.read_text()
        m.config_path.write_text("services:\n  web:\n    command: [x]\n    helth: {}\n")
        status, _, body = reload(m)
        assert status == 400, body
        err = body["error"]
        assert err["code"] == "invalid_config"
        assert err["line"] == 4 and err["column"] == 5 and "helth" in err["message"], err
        assert err["file"] == str(m.config_path)
        m.config_path.write_text("services: [unclosed\n")
        status, _, body = reload(m)
        assert status == 400 and body["error"]["line"] >= 1, body
        # SIGHUP with the bad file: logged, nothing changes, meshd keeps running.
        m.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: m.output().count("rejected, nothing changed") >= 3, timeout=10, what="the SIGHUP rejection")
        assert m.proc.poll() is None
        cfg = m.get("/api/v1/config")
        assert cfg["version"] == version
        assert cfg["rejected"]["trigger"] == "SIGHUP" and cfg["rejected"]["error"]["code"] == "invalid_config"
        assert pids(m) == before
        assert any(e["type"] == "config.rejected" for e in m.events())
        # The same file again: nothing to do.
        m.config_path.write_text(good)
        status, _, body = reload(m)
        assert status == 200 and body["changed"] is False, body
        assert m.get("/api/v1/config")["version"] == version


def test_a_version_that_never_passes_is_rolled_back_without_a_failed_request(tmp_path):
    port = free_ports(1)[0]
    with Meshd(tmp_path, config({"web": web(port, replicas=2)})) as m:
        wait_passing(m, "web", 2)
        gw = m.gateway
        before = pids(m)
        with ClientLoop(f"{gw}/web/x") as loop:
            # A good rollout first: both replicas replaced one by one.
            write(m, config({"web": web(port, replicas=2, env={"RELEASE": "2"})}))
            status, _, body = reload(m)
            assert status == 200 and body["result"] == "applied", body
            good = pids(m)
            assert set(good) == {"web-0.1", "web-1.2"}, good
            # Then one whose instances never pass their check.
            write(m, config({"web": web(port, "--unhealthy", replicas=2, env={"RELEASE": "3"},
                                        rollout={"min_healthy": "500ms", "deadline": "2s"})}))
            status, _, body = reload(m)
            assert status == 200, body
            assert body["result"] == "rolled_back", body
            svc = body["services"][0]
            assert svc["result"] == "rolled_back" and "was not healthy for 500ms within 2s" in svc["reason"], svc
            time.sleep(0.5)
        assert len(loop.statuses) > 100, len(loop.statuses)
        assert loop.errors == [], loop.errors[:5]
        assert pids(m) == good  # the instances of version 2 kept serving
        assert not any(pid_alive(p) for p in before.values())
        web_view = m.service("web")
        assert web_view["rollout"]["status"] == "rolled_back" and "2s" in web_view["rollout"]["reason"]
        cfg = m.get("/api/v1/config")
        assert cfg["config"]["services"]["web"]["env"] == {"RELEASE": "2"}  # the running definition
        assert cfg["rejected"]["version"] == body["version"] and "web" in cfg["rejected"]["services"]
        types = [e["type"] for e in m.events()]
        assert "service.rollback" in types and "config.rolled_back" in types


def test_history_and_rollback_to_an_earlier_version(tmp_path):
    port = free_ports(1)[0]
    with Meshd(tmp_path, config({"web": web(port, env={"RELEASE": "1"})})) as m:
        wait_passing(m, "web", 1)
        v1 = m.get("/api/v1/config")["version"]
        write(m, config({"web": web(port, env={"RELEASE": "2"})}))
        status, _, body = reload(m)
        assert status == 200 and body["result"] == "applied", body
        v2 = body["version"]
        assert v2 == v1 + 1
        history = m.get("/api/v1/config/history")
        assert [v["version"] for v in history["versions"]][:2] == [v2, v1]
        assert history["versions"][0]["running"] is True and history["versions"][0]["note"] == "POST /api/v1/config/reload"
        status, _, body = m.api("POST", f"/api/v1/config/rollback?to={v1}&wait=true", timeout=60)
        assert status == 200 and body["result"] == "applied", body
        assert body["trigger"] == f"rollback to version {v1}"
        assert m.get("/api/v1/config")["config"]["services"]["web"]["env"] == {"RELEASE": "1"}
        assert m.get("/api/v1/config/history?limit=1")["versions"][0]["note"] == f"rollback to version {v1}"
        # Bad requests change nothing.
        for query, code in [("", 400), ("?to=abc", 400), ("?to=0", 400), ("?to=999", 404),
                            (f"?to={v1}&wait=maybe", 400)]:
            status, _, body = m.api("POST", f"/api/v1/config/rollback{query}")
            assert status == code and "error" in body, (query, status, body)
        status, _, _ = m.api("GET", "/api/v1/config/history?limit=0")
        assert status == 400
        status, _, body = m.api("POST", "/api/v1/config/reload", body="services: {}")
        assert status == 400 and "/admin/config" in body["error"]["message"]


def test_two_reloads_at_once(tmp_path):
    port = free_ports(1)[0]
    with Meshd(tmp_path, config({"web": web(port)})) as m:
        wait_passing(m, "web", 1)
        # A replacement that takes a while: the new instance listens after 1.5 s.
        write(m, config({"web": web(port, "--startup-delay", "1500ms",
                                    health={"type": "http", "interval": "200ms", "start_period": "10s"},
                                    rollout={"min_healthy": "500ms", "deadline": "10s"})}))
        status, _, body = reload(m, wait=False)
        assert status == 202 and body["accepted"] is True, body
        status, _, body = reload(m)
        assert status == 409 and "reload is still being applied" in body["error"]["message"], body
        status, _, body = m.api("POST", "/admin/config", body="services: {}", headers={"Content-Type": "text/yaml"})
        assert status == 409, body
        assert m.get("/api/v1/config")["reload"]["in_progress"] is True
        m.proc.send_signal(signal.SIGHUP)  # queued, not interleaved
        wait_until(lambda: "reloading again when it is done" in m.output(), timeout=5, what="the queued SIGHUP")
        wait_until(lambda: not m.get("/api/v1/config")["reload"]["in_progress"] and
                   m.get("/api/v1/config")["last_reload"]["result"] == "applied", timeout=20, what="the rollout")
        assert "web-0.1" in pids(m)
        # The queued SIGHUP found nothing new to do.
        wait_until(lambda: "config reload (SIGHUP): nothing changed" in m.output(), timeout=10,
                   what="the queued SIGHUP to run")


def test_admin_config_takes_yaml_or_a_patch(tmp_path):
    port = free_ports(1)[0]
    with Meshd(tmp_path, config({"web": web(port)})) as m:
        wait_passing(m, "web", 1)
        before = pids(m)
        cfg = config({"web": web(port, weight=3)})
        cfg["mesh"].update(listen="127.0.0.1:0", data_dir=str(m.data_dir))
        status, _, body = m.api("POST", "/admin/config?wait=true", body=to_yaml(cfg),
                                headers={"Content-Type": "application/yaml"}, timeout=60)
        assert status == 200 and body["services"][0]["change"] == "in_place", body
        patch = [{"op": "replace", "path": "/services/web/weight", "value": 7}]
        status, _, body = m.api("POST", "/admin/config?wait=true", body=json.dumps(patch),
                                headers={"Content-Type": "application/json-patch+json"}, timeout=60)
        assert status == 200 and body["changed"] is True, body
        assert m.get("/api/v1/config")["config"]["services"]["web"]["weight"] == 7
        status, _, body = m.api("POST", "/admin/config?wait=true", body=json.dumps({"services": {"web": {"tags": ["m"]}}}),
                                headers={"Content-Type": "application/merge-patch+json"}, timeout=60)
        assert status == 200, body
        assert m.get("/api/v1/discover/web")["instances"][0]["tags"] == ["m"]
        assert pids(m) == before
        bad = [
            ("", "application/yaml", 400),
            ("not json", "application/json-patch+json", 400),
            ('{"op": "add"}', "application/json-patch+json", 400),
            (json.dumps([{"op": "remove", "path": "/services/nope"}]), "application/json-patch+json", 400),
            (json.dumps([{"op": "add", "path": "/services/web/helth", "value": 1}]), "application/json-patch+json", 400),
            ("services:\n  web: {command: [x], port: 99999}\n", "text/yaml", 400),
            ("[1, 2", "application/json", 400),
        ]
        version = m.get("/api/v1/config")["version"]
        for text, ctype, code in bad:
            status, _, body = m.api("POST", "/admin/config", body=text, headers={"Content-Type": ctype})
            assert status == code and body["error"]["message"], (text, status, body)
        assert m.get("/api/v1/config")["version"] == version
        assert pids(m) == before


def test_dev_mode_reloads_when_the_file_changes(tmp_path):
    pa, pb = free_ports(2)
    cfg = config({"a": web(pa)})
    cfg["environments"] = {"dev": {}}
    with Meshd(tmp_path, cfg, args=["--dev"]) as m:
        wait_passing(m, "a", 1)
        before = pids(m)
        cfg2 = config({"a": web(pa), "b": web(pb)})
        cfg2["environments"] = {"dev": {}}
        write(m, cfg2)
        wait_until(lambda: m.api("GET", "/api/v1/services/b")[0] == 200, timeout=10, what="the watch to add b")
        wait_passing(m, "b", 1)
        assert pids(m)["a-0"] == before["a-0"]
        assert m.get("/api/v1/config/history?limit=1")["versions"][0]["note"] == "file change (--dev)"


def test_api_token_changes_live(tmp_path):
    port = free_ports(1)[0]
    with Meshd(tmp_path, config({"web": web(port)})) as m:
        wait_passing(m, "web", 1)
        write(m, config({"web": web(port)}, api_token="s3cret"))
        status, _, body = reload(m)
        assert status == 200 and body["mesh"]["applied"] == ["api_token"], body
        status, _, _ = m.api("POST", "/api/v1/services/web/restart")
        assert status == 401
        write(m, config({"web": web(port)}, api_token="s3cret", log_format="json"))
        status, _, body = m.api("POST", "/api/v1/config/reload?wait=true",
                                headers={"Authorization": "Bearer s3cret"}, timeout=60)
        assert status == 200 and body["mesh"]["needs_restart"] == ["log_format"], body
        assert m.get("/api/v1/config")["config"]["mesh"]["log_format"] == "text"
