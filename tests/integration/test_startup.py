"""Start order, dependency conditions, replicas and --service with the real
meshd binary and demo services."""

from meshd_harness import Meshd, demo, free_ports, http, wait_until


def instance_events(m, to=None):
    return [e for e in m.events() if e["type"] == "instance.state" and (to is None or e["data"]["to"] == to)]


def test_dependent_starts_only_after_its_dependency_is_healthy(tmp_path):
    p_db, p_api = free_ports(2)
    cfg = {"services": {
        "db": {"command": demo("--startup-delay", "700ms"), "port": p_db,
               "health": {"type": "http", "path": "/health", "interval": "100ms"}},
        "api": {"command": demo(), "port": p_api, "depends_on": ["db"],
                "health": {"type": "http", "path": "/health", "interval": "100ms"}},
    }}
    with Meshd(tmp_path, cfg) as m:
        # While db is still starting up, api must not have a process.
        svc = m.service("api")
        assert svc["state"] == "pending", svc
        assert svc["waiting_on"] == ["db (healthy)"]
        m.wait_state("api", "running")
        events = m.events()
        db_passing = next(e for e in events if e["type"] == "health.transition"
                          and e["instance"] == "db-0" and e["data"]["to"] == "passing")
        api_started = next(e for e in events if e["type"] == "instance.state"
                           and e["instance"] == "api-0" and e["data"]["to"] == "starting")
        assert api_started["seq"] > db_passing["seq"]
        assert api_started["time_ms"] >= db_passing["time_ms"]
        status, _, body = http("GET", f"http://127.0.0.1:{p_api}/")
        assert status == 200 and body["instance"] == "api-0"


def test_notify_readiness_gates_dependents(tmp_path):
    p1, p2 = free_ports(2)
    cfg = {"services": {
        "ready_later": {"command": demo("--notify", "--startup-delay", "500ms"), "port": p1,
                        "health": {"type": "notify"}},
        "after": {"command": demo(), "port": p2, "depends_on": ["ready_later"]},
    }}
    with Meshd(tmp_path, cfg) as m:
        m.wait_state("after", "running")
        inst = m.service("ready_later")["instances"][0]
        assert inst["health"] == "passing"
        assert "READY=1" in inst["health_output"]


def test_replicas_get_consecutive_ports(tmp_path):
    base = free_ports(1)[0]
    # A range of three: make sure the next two are free too, else pick again.
    cfg = {"services": {"web": {"command": demo(), "port": base, "replicas": 3,
                                "health": {"type": "tcp", "interval": "100ms"}}}}
    with Meshd(tmp_path, cfg) as m:
        svc = wait_until(lambda: (s := m.service("web"))["instances_passing"] == 3 and s,
                         timeout=15, what="three passing replicas")
        ports = sorted(i["port"] for i in svc["instances"])
        assert ports == [base, base + 1, base + 2]
        names = {http("GET", f"http://127.0.0.1:{p}/")[2]["instance"] for p in ports}
        assert names == {"web-0", "web-1", "web-2"}


def test_required_false_lets_a_dependent_start_when_the_dependency_fails(tmp_path):
    p1, p2, p3 = free_ports(3)
    cfg = {"services": {
        "broken": {"command": demo("--unhealthy", "--exit-after", "300ms", "--exit-code", "4"), "port": p1,
                   "restart": {"policy": "never"}, "health": {"type": "http", "interval": "100ms"}},
        "tolerant": {"command": demo(), "port": p2,
                     "depends_on": [{"service": "broken", "required": False}]},
        "strict": {"command": demo(), "port": p3, "depends_on": ["broken"]},
    }}
    with Meshd(tmp_path, cfg) as m:
        m.wait_state("broken", "failed")
        m.wait_state("tolerant", "running")
        strict = m.service("strict")
        assert strict["state"] == "pending"
        assert strict["waiting_on"] == ["broken (failed)"]


def test_completed_condition_waits_for_a_clean_exit(tmp_path):
    p1 = free_ports(1)[0]
    cfg = {"services": {
        "migrate": {"command": [demo()[0], "--exit-after", "300ms", "--exit-code", "0"],
                    "restart": {"policy": "on-failure"}},
        "app": {"command": demo(), "port": p1,
                "depends_on": [{"service": "migrate", "condition": "completed"}]},
    }}
    with Meshd(tmp_path, cfg) as m:
        m.wait_state("app", "running")
        assert m.service("migrate")["state"] == "exited"


def test_service_flag_runs_only_the_closure(tmp_path):
    p = free_ports(4)
    cfg = {"services": {
        "base": {"command": demo(), "port": p[0]},
        "mid": {"command": demo(), "port": p[1], "depends_on": ["base"]},
        "top": {"command": demo(), "port": p[2], "depends_on": ["mid"]},
        "other": {"command": demo(), "port": p[3]},
    }}
    with Meshd(tmp_path, cfg, args=["--service", "mid"]) as m:
        m.wait_state("mid", "running")
        names = sorted(s["name"] for s in m.get("/api/v1/services")["services"])
        assert names == ["base", "mid"]
        status, _, _ = m.api("GET", "/api/v1/services/top")
        assert status == 404


def test_unknown_service_flag_is_an_error(tmp_path):
    cfg = {"services": {"a": {"command": demo(), "port": free_ports(1)[0]}}}
    m = Meshd(tmp_path, cfg, args=["--service", "nope"])
    m.start(wait=False)
    assert m.proc.wait(timeout=10) != 0
    assert "no service named 'nope'" in m.output()
