"""Failed rollouts cost no request (issue 14): a new version that passes
its first check and crashes 0.2 s later (the issue's scenario: 147 of 154
requests failed), one that never passes, and one that passes twice and
then fails its check while its process keeps serving. Each runs through
the real gateway under a steady load (8 keep-alive clients, 200 req/s);
the old instance is never touched, the rollout is reverted with a reason,
and the running config says it differs from the file."""

import time

import pytest

from meshd_harness import Meshd, free_ports, pid_alive
from rollout_harness import app, config, pids, reload, wait_passing, wait_rollout
from steady_load import SteadyLoad

# The reason names what broke the new instance; loosely, since the words are the lead's.
REASONS = {"crash_after_pass": ("exit", "crash"), "never_pass": ("8s", "deadline"),
           "fail_after_pass": ("check", "503")}


def roll_to_broken(m, port, mode, expected, rollout=None):
    """Reloads web to version 2 in mode under load; waits for the rollout to
    be expected (a revert goes through `failed`); returns (rollout, load,
    the time of the reload, the time the rollout was seen done)."""
    with SteadyLoad.through(m.gateway, "/web/x") as load:
        assert load.wait_for(100), load.summary()
        reloaded_at = time.monotonic()
        reload(m, config({"web": app(port, 2, mode, rollout=rollout)}))
        result = wait_rollout(m, "web", (expected, "succeeded"), timeout=30)
        done_at = time.monotonic()
        assert load.wait_for(100, since=done_at), load.summary()
    return result, load, reloaded_at, done_at


@pytest.mark.parametrize("mode", ["crash_after_pass", "never_pass", "fail_after_pass"])
def test_a_broken_version_is_reverted_without_a_failed_request(tmp_path, mode):
    port = free_ports(1)[0]
    with Meshd(tmp_path, config({"web": app(port, 1)})) as m:
        wait_passing(m, "web", 1)
        before = pids(m, "web")
        rollout, load, reloaded_at, done_at = roll_to_broken(m, port, mode, "reverted")
        assert not load.failures(), load.summary()
        assert len(load.snapshot(reloaded_at, done_at)) >= 20, load.summary()  # the load ran through it
        assert rollout["state"] == "reverted", rollout
        reason = rollout["reason"]
        assert reason and any(word in reason for word in REASONS[mode]), reason
        # The old instance was never touched: the same process serves, and only it.
        assert pids(m, "web") == before
        assert all(pid_alive(p) for p in before.values())
        assert set(load.versions(since=done_at)) == {"1"}, load.versions(since=done_at)
        cfg = m.get("/api/v1/config")
        assert cfg["config"]["services"]["web"]["env"] == {"VERSION": "1"}  # the running definition
        assert cfg["differs_from_file"] is True and "web" in cfg["reverted"], {
            k: cfg.get(k) for k in ("differs_from_file", "reverted")}
        if rollout["source"] == "route":
            assert rollout["replicas"][0]["state"] in ("failed", "restored"), rollout
            assert rollout["replicas"][0]["old_instance"] == next(iter(before)), rollout
        types = [e["type"] for e in m.events()]
        assert "service.rollout" in types and "service.rollback" in types, sorted(set(types))


def test_without_auto_revert_the_rollout_is_failed_and_the_old_instance_serves(tmp_path):
    port = free_ports(1)[0]
    with Meshd(tmp_path, config({"web": app(port, 1, rollout={"auto_revert": False})})) as m:
        wait_passing(m, "web", 1)
        before = pids(m, "web")
        rollout, load, reloaded_at, done_at = roll_to_broken(m, port, "crash_after_pass", "failed",
                                                             rollout={"auto_revert": False})
        assert not load.failures(), load.summary()
        assert len(load.snapshot(reloaded_at, done_at)) >= 20, load.summary()
        assert rollout["state"] == "failed" and rollout["reason"], rollout
        assert pids(m, "web") == before
        assert set(load.versions(since=done_at)) == {"1"}, load.versions(since=done_at)
