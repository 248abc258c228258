"""Stopping: SIGKILL escalation, process groups, zombies, shutdown order."""

import os
import re
import signal
import time

from meshd_harness import Meshd, children_of, demo, free_ports, pid_alive, wait_until


def test_stop_escalates_to_sigkill_for_a_child_that_ignores_sigterm(tmp_path):
    port = free_ports(1)[0]
    cfg = {"services": {"stubborn": {"command": demo("--ignore-sigterm"), "port": port,
                                     "shutdown": {"signal": "SIGTERM", "timeout": "1s"}}}}
    with Meshd(tmp_path, cfg) as m:
        svc = m.wait_state("stubborn", "running")
        pid = svc["instances"][0]["pid"]
        # "running" comes at exec; the demo ignores SIGTERM a moment later,
        # before it listens (a slow start, as under ASan, showed the race).
        wait_until(lambda: any("listening on" in l["line"]
                               for l in m.get("/api/v1/services/stubborn/logs")["lines"]),
                   what="the demo listening")
        t0 = time.monotonic()
        status, _, _ = m.api("POST", "/api/v1/services/stubborn/stop")
        assert status == 202
        assert m.service("stubborn")["state"] == "stopping"
        wait_until(lambda: m.service("stubborn")["state"] == "stopped", timeout=10, what="stopped")
        elapsed = time.monotonic() - t0
        assert 0.9 <= elapsed <= 5, elapsed
        assert not pid_alive(pid)
        assert "SIGKILL" in m.service("stubborn")["instances"][0]["reason"]


def test_grandchildren_die_with_the_group_and_no_zombie_is_left(tmp_path):
    port = free_ports(1)[0]
    cfg = {"services": {"parent": {"command": demo("--spawn-child"), "port": port,
                                   "restart": {"policy": "never"}}}}
    with Meshd(tmp_path, cfg) as m:
        m.wait_state("parent", "running")
        logs = wait_until(lambda: [l for l in m.get("/api/v1/services/parent/logs")["lines"]
                                   if "grandchild pid" in l["line"]], what="grandchild pid line")
        grandchild = int(re.search(r"grandchild pid (\d+)", logs[0]["line"]).group(1))
        parent = m.service("parent")["instances"][0]["pid"]
        assert pid_alive(grandchild)
        os.kill(parent, signal.SIGKILL)
        m.wait_state("parent", "failed")
        wait_until(lambda: not pid_alive(grandchild), timeout=5, what="grandchild gone")
        # meshd is a subreaper: nothing it inherited may stay a zombie.
        time.sleep(0.2)
        zombies = [c for c in children_of(m.proc.pid) if c[1] == "Z"]
        assert zombies == []


def test_sigterm_stops_dependents_first_and_exits_zero(tmp_path):
    p = free_ports(3)
    cfg = {"services": {
        "db": {"command": demo(), "port": p[0], "health": {"type": "tcp", "interval": "100ms"}},
        "api": {"command": demo(), "port": p[1], "depends_on": ["db"],
                "health": {"type": "tcp", "interval": "100ms"}},
        "web": {"command": demo(), "port": p[2], "depends_on": ["api"]},
    }}
    m = Meshd(tmp_path, cfg)
    with m:
        m.wait_state("web", "running")
        pids = [m.service(n)["instances"][0]["pid"] for n in ("db", "api", "web")]
        since = m.get("/api/v1/events?limit=1")["last_seq"]
    # __exit__ sent SIGTERM and waited.
    assert m.proc.returncode == 0, m.output()
    assert all(not pid_alive(pid) for pid in pids)
    out = m.output()
    order = [n for n in re.findall(r"(\w+)-0: \w+ -> stopped", out)]
    assert order == ["web", "api", "db"], out
    assert since > 0


def test_second_signal_kills_everything_at_once(tmp_path):
    port = free_ports(1)[0]
    cfg = {"services": {"stubborn": {"command": demo("--ignore-sigterm"), "port": port,
                                     "shutdown": {"timeout": "30s"}}}}
    m = Meshd(tmp_path, cfg).start()
    try:
        pid = m.wait_state("stubborn", "running")["instances"][0]["pid"]
        m.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        t0 = time.monotonic()
        m.proc.send_signal(signal.SIGTERM)
        code = m.proc.wait(timeout=10)
        assert time.monotonic() - t0 < 5
        assert code == 1  # not a graceful exit
        assert not pid_alive(pid)
    finally:
        if m.proc.poll() is None:
            m.proc.kill()
        m.log.close()
