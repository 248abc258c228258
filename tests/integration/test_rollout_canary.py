"""Canary rollouts (issue 14): with `canary: 1` on two replicas, one new
instance joins the rotation beside the old ones and the rollout waits for
POST .../rollout/promote or .../abort. Through the real gateway under a
steady load (8 keep-alive clients, 200 req/s): both versions answer while
it waits, a promoted canary rolls on to `succeeded`, an aborted one is
`reverted`, and no request fails in either."""

import time

from meshd_harness import Meshd, free_ports
from rollout_harness import DONE, app, config, pids, reload, wait_passing, wait_rollout
from steady_load import SteadyLoad

CANARY = {"canary": 1}


def web(port, version):
    return config({"web": app(port, version, replicas=2, rollout=CANARY)})


def wait_for_canary(m, load):
    """Waits for waiting_promote, then for a second of load; returns (rollout, versions seen then)."""
    rollout = wait_rollout(m, "web", ("waiting_promote",) + DONE, timeout=20)
    assert rollout["state"] == "waiting_promote", rollout
    since = time.monotonic()
    assert load.wait_for(200, since=since), load.summary()
    return rollout, load.versions(since=since)


def test_a_canary_promoted_then_one_aborted_without_a_failed_request(tmp_path):
    port = free_ports(1, span=4)[0]
    with Meshd(tmp_path, web(port, 1)) as m:
        wait_passing(m, "web", 2)
        v1 = pids(m, "web")
        with SteadyLoad.through(m.gateway, "/web/x") as load:
            assert load.wait_for(100), load.summary()
            reload(m, web(port, 2))
            waiting, versions = wait_for_canary(m, load)
            # One canary beside two old instances: both versions answer.
            assert set(versions) == {"1", "2"}, versions
            if waiting["source"] == "route":
                assert waiting["canary"] == 1, waiting
                assert [r["state"] for r in waiting["replicas"]] == ["canary", "waiting"], waiting
                assert waiting["finished_ms"] is None, waiting
            assert set(v1) <= set(pids(m, "web")), "the old instances serve while the canary waits"
            status, _, body = m.api("POST", "/api/v1/services/web/rollout/promote")
            assert status == 200 and body["state"] in ("progressing", "succeeded"), body
            promoted = wait_rollout(m, "web", DONE, timeout=30)
            done_at = time.monotonic()
            assert promoted["state"] == "succeeded", promoted
            assert load.wait_for(100, since=done_at + 0.5), load.summary()
            assert set(load.versions(since=done_at + 0.5)) == {"2"}, load.versions(since=done_at + 0.5)
            v2 = pids(m, "web")
            assert len(v2) == 2 and not set(v2) & set(v1), (v1, v2)
            status, _, body = m.api("POST", "/api/v1/services/web/rollout/promote")
            assert status == 409, body  # nothing to promote any more

            # The next one is aborted: the canary goes, version 2 stays.
            reload(m, web(port, 3))
            _, versions = wait_for_canary(m, load)
            assert set(versions) == {"2", "3"}, versions
            status, _, body = m.api("POST", "/api/v1/services/web/rollout/abort")
            assert status == 200, body
            aborted = wait_rollout(m, "web", ("reverted",), timeout=20)
            done_at = time.monotonic()
            assert load.wait_for(100, since=done_at + 0.5), load.summary()
        assert not load.failures(), load.summary()
        assert aborted["state"] == "reverted" and "aborted by the operator" in aborted["reason"], aborted
        assert set(load.versions(since=done_at + 0.5)) == {"2"}, load.versions(since=done_at + 0.5)
        assert pids(m, "web") == v2
        status, _, body = m.api("POST", "/api/v1/services/web/rollout/abort")
        assert status == 409, body
