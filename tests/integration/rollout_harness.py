"""What the rollout tests (test_rollout*.py) share: services made of
rollout_app.py with short rollout settings, reloads that change them, and
the rollout read back from the API (GET /api/v1/services/{name}/rollout,
or the "rollout" of the service view where that route is missing)."""

import pathlib
import sys
import time

from meshd_harness import to_yaml, wait_until

APP = str(pathlib.Path(__file__).resolve().parent / "rollout_app.py")

# Short enough to keep each test file fast, long enough that a proof is
# several checks: five passes at 200 ms make one second of healthy time.
FAST_ROLLOUT = {"min_healthy": "1s", "deadline": "8s"}
DONE = ("succeeded", "failed", "reverted")


def app(port, version, mode="healthy", replicas=1, rollout=None, **extra):
    """A service definition running rollout_app.py; version and mode are
    process-level (env and argv), so changing either rolls the service."""
    svc = {"command": [sys.executable, APP, "--mode", mode], "env": {"VERSION": str(version)}, "port": port,
           "replicas": replicas,
           "health": {"type": "http", "path": "/health", "interval": "200ms", "start_period": "3s"},
           "rollout": dict(FAST_ROLLOUT, **(rollout or {}))}
    svc.update(extra)
    return svc


def config(services, **mesh):
    return {"version": 1, "mesh": dict({"gateway": "127.0.0.1:0"}, **mesh), "services": services}


def write(m, cfg):
    cfg = dict(cfg)
    cfg["mesh"] = dict(cfg.get("mesh", {}), listen="127.0.0.1:0", data_dir=str(m.data_dir))
    m.config_path.write_text(to_yaml(cfg))


def reload(m, cfg):
    """Writes cfg and asks for a reload without waiting; the rollout is read back with wait_rollout."""
    write(m, cfg)
    status, _, body = m.api("POST", "/api/v1/config/reload", timeout=30)
    assert status in (200, 202), (status, body)
    return body


def instances(m, name):
    return m.service(name)["instances"]


def pids(m, name):
    """{instance id: pid} of the service's running instances."""
    return {i["id"]: i["pid"] for i in instances(m, name) if i.get("pid")}


def wait_passing(m, name, n, timeout=20):
    wait_until(lambda: len(m.get(f"/api/v1/discover/{name}?passing=true")["instances"]) == n,
               timeout=timeout, what=f"{n} passing instances of {name}")


# The older spelling in the service view (main before the rollout route).
_STATUS_TO_STATE = {"rolling": "progressing", "applied": "succeeded", "rolled_back": "reverted", "failed": "failed"}


def rollout_of(m, name):
    """The service's rollout: GET /api/v1/services/{name}/rollout when the
    route exists, else the service view's "rollout" (its "state" derived
    from the older "status" when missing). {"state": None} before any."""
    status, _, body = m.api("GET", f"/api/v1/services/{name}/rollout")
    if status == 200:
        body["source"] = "route"
        return body
    assert status == 404, (status, body)
    view = m.service(name)["rollout"] or {}
    view = dict(view)
    view.setdefault("state", _STATUS_TO_STATE.get(view.get("status")))
    view["source"] = "service view"
    return view


def wait_rollout(m, name, states, timeout=30.0, newer_than=None):
    """Polls the rollout until its state is one of states and returns it;
    newer_than (a rollout seen before) skips that same finished rollout.
    On timeout the assertion shows the last rollout seen."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = rollout_of(m, name)
        same = newer_than is not None and last.get("started_ms") is not None and \
            last.get("started_ms") == newer_than.get("started_ms")
        if not same and last.get("state") in states:
            return last
        time.sleep(0.05)
    raise AssertionError(f"the rollout of {name} was not {'/'.join(states)} within {timeout}s; last: {last}")
