"""Crash handling: restart with growing backoff, then failed; manual start
clears it; a process exit marks the instance critical at once."""

import os
import signal

from meshd_harness import Meshd, demo, free_ports, wait_until


def test_crashing_service_restarts_with_growing_delay_then_fails(tmp_path):
    port = free_ports(1)[0]
    cfg = {"services": {"flaky": {
        "command": demo("--crash-after", "100ms"), "port": port,
        "restart": {"policy": "on-failure", "backoff": {"initial": "200ms", "max": "5s"},
                    "max_restarts": 3, "window": "1m"}}}}
    with Meshd(tmp_path, cfg) as m:
        svc = m.wait_state("flaky", "failed", timeout=30)
        assert svc["restarts"] == 3
        assert "gave up" in svc["instances"][0]["reason"]
        events = m.events()
        backoffs = [e for e in events if e["type"] == "instance.state" and e["data"]["to"] == "backoff"]
        starts = [e for e in events if e["type"] == "instance.state" and e["data"]["to"] == "starting"]
        assert len(backoffs) == 3 and len(starts) == 4
        # The gap between a crash and the next start grows each time.
        gaps = [starts[i + 1]["time_ms"] - backoffs[i]["time_ms"] for i in range(3)]
        assert gaps[0] < gaps[1] < gaps[2], gaps
        assert 150 <= gaps[0] <= 1000, gaps
        assert "exit code 3" in backoffs[0]["message"]


def test_manual_start_brings_a_failed_service_back(tmp_path):
    port = free_ports(1)[0]
    cfg = {"services": {"once": {
        "command": demo("--exit-after", "200ms", "--exit-code", "9"), "port": port,
        "restart": {"policy": "never"}}}}
    with Meshd(tmp_path, cfg) as m:
        m.wait_state("once", "failed")
        status, _, body = m.api("POST", "/api/v1/services/once/start")
        assert status == 202, body
        wait_until(lambda: len([e for e in m.events() if e["type"] == "instance.state"
                                and e["data"]["to"] == "starting"]) == 2, what="a second start")


def test_killed_process_is_critical_at_once_and_restarted(tmp_path):
    port = free_ports(1)[0]
    cfg = {"services": {"victim": {
        "command": demo(), "port": port,
        "health": {"type": "http", "interval": "10s", "unhealthy_threshold": 3},
        "restart": {"policy": "always", "backoff": {"initial": "2s", "max": "2s"}}}}}
    with Meshd(tmp_path, cfg) as m:
        svc = wait_until(lambda: (s := m.service("victim"))["health"] == "passing" and s, what="passing")
        pid = svc["instances"][0]["pid"]
        os.kill(pid, signal.SIGKILL)
        # The check interval is 10s: only the exit itself can make it critical this fast.
        inst = wait_until(lambda: (i := m.service("victim")["instances"][0])["health"] == "critical" and i,
                          timeout=2, interval=0.02, what="critical after kill")
        assert "killed by SIGKILL" in inst["health_output"]
        assert inst["state"] == "backoff"
        new = wait_until(lambda: (i := m.service("victim")["instances"][0])["pid"] not in (None, pid) and i,
                         timeout=10, what="a new process")
        assert new["restarts"] == 1
