"""The gateway on several threads (mesh.gateway_threads): every thread
accepts and serves, counters still see every request, and what the control
loop decides (drain, breakers) reaches every thread."""

import collections
import os
import re
import time
import urllib.request

from meshd_harness import Backend, Meshd, demo, free_ports, http, wait_until

THREADS = 2


def mesh(services, threads=THREADS):
    return {"mesh": {"gateway": "127.0.0.1:0", "gateway_threads": threads}, "services": services}


def wait_passing(m, name, n):
    wait_until(lambda: len(m.get(f"/api/v1/discover/{name}?passing=true")["instances"]) == n,
               timeout=30, what=f"{n} passing instances of {name}")


def gateway_threads(pid):
    """Names of meshd's gateway threads, from /proc."""
    names = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        if name.startswith("meshd-gw-"):
            names.append(name)
    return sorted(names)


def requests_metric(m, service):
    with urllib.request.urlopen(f"{m.base}/metrics", timeout=10) as res:
        text = res.read().decode()
    total = 0
    for line in text.splitlines():
        if line.startswith("meshd_gateway_requests_total{") and f'service="{service}"' in line:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def test_every_thread_accepts_and_every_request_is_counted(tmp_path):
    port = free_ports(1)[0]
    svc = {"command": demo(), "port": port, "replicas": 2, "health": {"type": "http", "interval": "200ms"}}
    m = Meshd(tmp_path, mesh({"web": svc}))
    with m:
        wait_passing(m, "web", 2)
        assert gateway_threads(m.proc.pid) == [f"meshd-gw-{i}" for i in range(THREADS)]
        n = 300
        counts = collections.Counter()
        for i in range(n):  # a new connection each: the kernel spreads them over the listeners
            status, headers, body = http("GET", f"{m.gateway}/web/hello?i={i}")
            assert status == 200, body
            assert headers["X-Mesh-Instance"] == body["instance"]
            counts[body["instance"]] += 1
        assert set(counts) == {"web-0", "web-1"}
        # Outcomes travel to the control loop in batches: all of them arrive.
        wait_until(lambda: requests_metric(m, "web") == n, timeout=10,
                   what=f"meshd_gateway_requests_total == {n}")
        assert m.stop() == 0
    log = m.output()
    found = re.search(r"connections accepted per thread: \[([0-9, ]+)\]", log)
    assert found, log[-2000:]
    accepted = [int(x) for x in found.group(1).split(",")]
    assert len(accepted) == THREADS
    assert sum(accepted) >= n
    assert all(a > 0 for a in accepted), accepted  # 2^-299 odds of a false failure


def test_a_drained_instance_gets_nothing_from_any_thread(tmp_path):
    port = free_ports(1)[0]
    svc = {"command": demo(), "port": port, "replicas": 2, "health": {"type": "http", "interval": "200ms"}}
    with Meshd(tmp_path, mesh({"web": svc})) as m:
        wait_passing(m, "web", 2)
        status, _, res = m.api("POST", "/api/v1/services/web/instances/web-0/drain", {"note": "test"})
        assert status == 200 and res["drain"] is True, res
        seen = collections.Counter()
        for i in range(100):
            status, headers, _ = http("GET", f"{m.gateway}/web/x?i={i}")
            assert status == 200
            seen[headers["X-Mesh-Instance"]] += 1
        assert seen == {"web-1": 100}
        assert m.api("POST", "/api/v1/services/web/instances/web-0/ready")[0] == 200

        def both_serve():
            got = {http("GET", f"{m.gateway}/web/y")[1]["X-Mesh-Instance"] for _ in range(20)}
            return got == {"web-0", "web-1"}
        wait_until(both_serve, timeout=10, what="web-0 back in rotation on every thread")


def test_breakers_open_and_recover_across_threads(tmp_path):
    good, bad = Backend(), Backend()
    bad.status = 500
    try:
        services = {"api": {"address": [], "health": {"type": "tcp", "interval": "200ms"},
                            "retry": {"attempts": 1},
                            "circuit_breaker": {"failure_rate": "50%", "window": 10, "minimum_calls": 4,
                                                "open_for": "5s", "half_open_calls": 2},
                            "outlier_detection": {"consecutive_failures": 1000}}}
        with Meshd(tmp_path, mesh(services)) as m:
            for name, be in (("good", good), ("bad", bad)):
                assert m.api("POST", "/api/v1/registry", {"service": "api", "id": name, "address": "127.0.0.1",
                                                          "port": be.port, "check": {"type": "tcp", "interval": "200ms"}})[0] == 201
            wait_passing(m, "api", 2)
            statuses = [http("GET", f"{m.gateway}/api/x")[0] for _ in range(12)]
            assert 500 in statuses

            def state(name):
                return {b["instance"]: b["state"] for b in m.get("/api/v1/breakers")["breakers"]}[name]
            wait_until(lambda: state("bad") == "open", timeout=5, what="bad's breaker open")
            # Out of rotation on every thread (new connections land on both).
            hits = bad.hits
            for _ in range(30):  # well within open_for
                status, headers, _ = http("GET", f"{m.gateway}/api/x")
                assert status == 200 and headers["X-Mesh-Instance"] == "good"
            assert bad.hits == hits
            bad.status = 200  # it recovers
            wait_until(lambda: [http("GET", f"{m.gateway}/api/x") for _ in range(4)] and state("bad") == "closed",
                       timeout=15, what="breaker closed again")
            events = [e for e in m.events() if e["type"] == "breaker.transition" and e["instance"] == "bad"]
            assert [e["data"]["to"] for e in events][:3] == ["open", "half_open", "closed"]
    finally:
        good.close()
        bad.close()


def test_half_open_admits_at_most_its_trials_over_all_threads(tmp_path):
    """While half open, the threads together send no more than
    half_open_calls trials to the instance before the control loop decides."""
    slow = Backend()
    slow.status = 500
    try:
        services = {"api": {"address": [], "health": {"type": "none"},
                            "retry": {"attempts": 1},
                            "circuit_breaker": {"failure_rate": "50%", "window": 4, "minimum_calls": 4,
                                                "open_for": "1s", "half_open_calls": 1},
                            "outlier_detection": {"consecutive_failures": 1000}}}
        with Meshd(tmp_path, mesh(services)) as m:
            assert m.api("POST", "/api/v1/registry", {"service": "api", "id": "slow", "address": "127.0.0.1",
                                                      "port": slow.port, "check": {"type": "none"}})[0] == 201
            wait_until(lambda: m.get("/api/v1/discover/api")["instances"], what="registered")
            for _ in range(4):
                http("GET", f"{m.gateway}/api/x")
            wait_until(lambda: {b["instance"]: b["state"] for b in m.get("/api/v1/breakers")["breakers"]}["slow"] == "open",
                       timeout=5, what="open")
            slow.status = 200
            slow.delay = 1.0  # the one trial stays in flight while others arrive
            time.sleep(1.2)
            hits = slow.hits
            import concurrent.futures
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                results = list(pool.map(lambda i: http("GET", f"{m.gateway}/api/x?i={i}")[0], range(16)))
            assert results.count(200) == 1, results  # the one trial
            assert results.count(503) == 15, results
            assert slow.hits - hits == 1
    finally:
        slow.close()


def test_a_gateway_port_in_use_is_refused_not_shared(tmp_path):
    """SO_REUSEPORT must not let a second meshd split the first one's traffic."""
    port = free_ports(1)[0]
    cfg = {"mesh": {"gateway": f"127.0.0.1:{port}", "gateway_threads": THREADS}, "services": {}}
    with Meshd(tmp_path, cfg, name="first"):
        second = Meshd(tmp_path, cfg, name="second")
        second.start(wait=False)
        try:
            assert second.proc.wait(timeout=30) != 0
        finally:
            if second.proc.poll() is None:
                second.proc.kill()
                second.proc.wait()
        assert f"cannot listen on gateway 127.0.0.1:{port}" in second.output()
