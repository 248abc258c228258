"""Rollouts that never cost a request (issue 14, docs/reload.md), through
the real gateway with a steady client load (steady_load.py: 8 keep-alive
clients at 200 req/s): a rolling replacement of three replicas, a service
restart, a dependent that stays healthy while its dependency rolls, and a
second reload refused while a rollout runs. Each counts the non-2xx
answers and connection errors: the target is zero. The failed rollouts
are in test_rollout_failures.py, the canaries in test_rollout_canary.py."""

import time

from meshd_harness import Meshd, free_ports, pid_alive, wait_until
from rollout_harness import DONE, app, config, pids, reload, rollout_of, wait_passing, wait_rollout, write
from steady_load import SteadyLoad


def load_on(m, name, **kw):
    return SteadyLoad.through(m.gateway, f"/{name}/x", **kw)


def test_a_rolling_replacement_of_three_replicas_costs_no_request(tmp_path):
    port = free_ports(1, span=4)[0]
    with Meshd(tmp_path, config({"web": app(port, 1, replicas=3)})) as m:
        wait_passing(m, "web", 3)
        before = pids(m, "web")
        with load_on(m, "web") as load:
            assert load.wait_for(100), load.summary()
            reloaded_at = time.monotonic()
            reload(m, config({"web": app(port, 2, replicas=3)}))
            rollout = wait_rollout(m, "web", DONE, timeout=40)
            done_at = time.monotonic()
            assert load.wait_for(100, since=done_at + 0.5), load.summary()
        assert not load.failures(), load.summary()
        assert len(load.snapshot(reloaded_at, done_at)) >= 100, load.summary()  # the load ran through it
        # One replica at a time, each proven by a second of passing checks.
        assert done_at - reloaded_at >= 3.0, done_at - reloaded_at
        assert rollout["state"] == "succeeded", rollout
        after = pids(m, "web")
        assert len(after) == 3 and not set(after) & set(before), (before, after)
        assert not any(pid_alive(p) for p in before.values())
        if rollout["source"] == "route":
            assert [r["state"] for r in rollout["replicas"]] == ["replaced"] * 3, rollout
            assert sorted(r["old_instance"] for r in rollout["replicas"]) == sorted(before), rollout
            assert sorted(r["new_instance"] for r in rollout["replicas"]) == sorted(after), rollout
            assert rollout["trigger"] == "reload" and rollout["finished_ms"] >= rollout["started_ms"] > 0
        # The answers switch from the old version to the new one, and stay there.
        assert load.versions(until=reloaded_at) == {"1": len(load.snapshot(until=reloaded_at))}
        assert set(load.versions(since=done_at + 0.5)) == {"2"}, load.versions(since=done_at + 0.5)


def test_a_restart_replaces_the_process_without_a_failed_request(tmp_path):
    port = free_ports(1)[0]
    with Meshd(tmp_path, config({"web": app(port, 1)})) as m:
        wait_passing(m, "web", 1)
        (old_pid,) = pids(m, "web").values()
        with load_on(m, "web") as load:
            assert load.wait_for(100), load.summary()
            status, _, body = m.api("POST", "/api/v1/services/web/restart")
            assert status == 202, body
            # Done when the old process is gone and its replacement passes.
            wait_until(lambda: not pid_alive(old_pid) and
                       len(m.get("/api/v1/discover/web?passing=true")["instances"]) == 1,
                       timeout=30, what="the restart to replace the process")
            done_at = time.monotonic()
            assert load.wait_for(100, since=done_at), load.summary()
        assert not load.failures(), load.summary()
        (new_pid,) = pids(m, "web").values()
        assert new_pid != old_pid
        rollout = wait_rollout(m, "web", DONE, timeout=10)
        assert rollout["state"] == "succeeded" and rollout["trigger"] == "restart", rollout


def test_a_dependent_is_never_degraded_while_its_dependency_rolls(tmp_path):
    pdb, pweb = free_ports(2)
    depends = {"depends_on": [{"service": "db", "condition": "healthy"}]}

    def services(db_version, db_mode="healthy"):
        return {"db": app(pdb, db_version, db_mode), "web": app(pweb, 1, **depends)}

    with Meshd(tmp_path, config(services(1))) as m:
        wait_passing(m, "db", 1)
        wait_passing(m, "web", 1)
        web_pids = pids(m, "web")
        seen = []  # (db rollout state, web degraded) while db rolls

        def watch_until(states, previous):
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                rollout = rollout_of(m, "db")
                view = m.service("web")
                seen.append((rollout.get("state"), view["degraded"], view["degraded_by"]))
                newer = previous.get("started_ms") is None or rollout.get("started_ms") != previous["started_ms"]
                if rollout.get("state") in states and newer:
                    return rollout
                time.sleep(0.05)
            raise AssertionError(f"db's rollout was not {states} in 30s; last {seen[-3:]}")

        with load_on(m, "db", threads=4, rate=100) as load:
            assert load.wait_for(50), load.summary()
            reload(m, config(services(2)))
            good = watch_until(DONE, {})
            # A rollout that fails (passes once, then crashes) must not degrade it either.
            reload(m, config(services(3, "crash_after_pass")))
            bad = watch_until(("reverted",), good)
        assert good["state"] == "succeeded", good
        assert bad["state"] == "reverted", bad
        assert len(seen) >= 20, seen
        assert not [s for s in seen if s[1]], [s for s in seen if s[1]][:5]
        assert pids(m, "web") == web_pids  # the dependent was not restarted
        assert not load.failures(), load.summary()


def test_a_second_reload_during_a_rollout_answers_409_naming_it(tmp_path):
    port = free_ports(1, span=4)[0]
    canary = {"canary": 1}
    with Meshd(tmp_path, config({"web": app(port, 1, replicas=2, rollout=canary)})) as m:
        wait_passing(m, "web", 2)
        with load_on(m, "web") as load:
            assert load.wait_for(100), load.summary()
            # Waiting for promote: a state that lasts, so the refusal is certain.
            reload(m, config({"web": app(port, 2, replicas=2, rollout=canary)}))
            wait_rollout(m, "web", ("waiting_promote",), timeout=20)
            write(m, config({"web": app(port, 3, replicas=2, rollout=canary)}))
            status, _, body = m.api("POST", "/api/v1/config/reload")
            assert status == 409, body
            message = body["error"]["message"]
            assert "reload is still being applied" in message and "web" in message, message
            assert "waiting for promote" in message, message
            status, _, body = m.api("POST", "/api/v1/services/web/restart")
            assert status == 409, body
            status, _, body = m.api("POST", "/api/v1/services/web/rollout/abort")
            assert status == 200, body
            reverted = wait_rollout(m, "web", ("reverted",), timeout=20)
            assert reverted["state"] == "reverted", reverted
            # While progressing (min_healthy 1s per replica), the same refusal.
            reload(m, config({"web": app(port, 4, replicas=2)}))
            status, _, body = m.api("POST", "/api/v1/config/reload")
            assert status == 409 and "web" in body["error"]["message"], body
            rollout = wait_rollout(m, "web", DONE, timeout=30, newer_than=reverted)
            assert rollout["state"] == "succeeded", rollout
        assert not load.failures(), load.summary()
