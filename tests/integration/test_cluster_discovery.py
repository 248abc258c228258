"""Cluster mode (docs/cluster.md): what one node publishes, the others
discover, route to and act on. Three meshd nodes on one 3-member etcd."""

import collections
import threading
import time

from cluster_nodes import cluster, managed, pool, requires_etcd, shared_etcd_cleanup, wait_ids  # noqa: F401
from meshd_harness import Backend, free_ports, http, wait_until

pytestmark = requires_etcd


def test_an_instance_on_a_is_discovered_on_c_with_its_node(cluster):
    port = free_ports(1)[0]
    a = cluster.node("a", {"web": managed(port, tags=["edge"], metadata={"gpu": "yes"})})
    cluster.node("b")
    c = cluster.node("c")
    wait_ids(c, "web", {"web-0@a"}, query="?passing=true", timeout=15)
    inst = c.discover("web")["instances"][0]
    assert (inst["node"], inst["origin"]) == ("a", "remote"), inst
    assert (inst["address"], inst["port"]) == ("127.0.0.1", port), inst
    assert inst["tags"] == ["edge"] and inst["metadata"] == {"gpu": "yes"}, inst
    own = a.discover("web")["instances"]
    assert [(i["id"], i["node"], i["origin"]) for i in own] == [("web-0", "a", "managed")]
    # Health comes from the owner: a failing check on a shows on c.
    http("POST", f"http://127.0.0.1:{port}/admin/health?status=fail")
    wait_ids(c, "web", set(), query="?passing=true", timeout=5)
    assert c.discover("web")["instances"][0]["health"] == "critical"
    http("POST", f"http://127.0.0.1:{port}/admin/health?status=ok")
    wait_ids(c, "web", {"web-0@a"}, query="?passing=true", timeout=5)


def test_the_gateway_on_b_reaches_the_instance_on_a(cluster):
    port = free_ports(1)[0]
    cluster.node("a", {"web": managed(port)})
    b = cluster.node("b")
    wait_ids(b, "web", {"web-0@a"}, query="?passing=true", timeout=15)
    gw = b.gateway
    for i in range(10):
        status, headers, body = http("GET", f"{gw}/web/hello?i={i}")
        assert status == 200, body
        assert headers["X-Mesh-Instance"] == "web-0@a"
        assert body["instance"] == "web-0" and body["path"] == "/hello"
    picked = b.get("/api/v1/resolve/web")["instance"]
    assert (picked["id"], picked["port"], picked["node"]) == ("web-0@a", port, "a"), picked


def test_a_blocking_query_on_c_wakes_on_a_registration_on_a(cluster):
    a = cluster.node("a", {"pool": pool()})
    c = cluster.node("c", {"pool": pool()})
    wait_until(lambda: {n["name"] for n in c.nodes()["nodes"]} == {"a", "c"}, timeout=15, what="c to know a")
    status, headers, body = c.api("GET", "/api/v1/discover/pool")
    index = int(headers["X-Mesh-Index"])
    assert status == 200 and body["instances"] == []
    result = {}

    def block():
        result["r"] = c.api("GET", f"/api/v1/discover/pool?index={index}&wait=10s", timeout=20)
        result["t"] = time.monotonic()

    t = threading.Thread(target=block)
    t.start()
    time.sleep(0.5)
    assert "r" not in result  # parked
    registered = time.monotonic()
    assert a.register("pool", "p1", free_ports(1)[0])[0] == 201
    t.join(timeout=15)
    status, headers, body = result["r"]
    assert status == 200 and int(headers["X-Mesh-Index"]) > index
    assert [i["id"] for i in body["instances"]] == ["p1@a"]
    assert result["t"] - registered < 2.0, result["t"] - registered


def test_a_registration_for_an_undeclared_service_creates_it_on_every_node(cluster):
    heavy, light = Backend(), Backend()
    try:
        defaults = {"load_balancer": "weighted_round_robin"}
        a = cluster.node("a", {"base": pool()}, defaults=defaults)
        b = cluster.node("b", {"base": pool()}, defaults=defaults)
        c = cluster.node("c", {"base": pool()}, defaults=defaults)
        assert c.discover("adhoc") is None
        status, _, body = b.register("adhoc", "heavy", heavy.port, weight=3)
        assert status == 201, body  # no file declares adhoc: created, not 404
        assert c.register("adhoc", "light", light.port, weight=1)[0] == 201
        wait_ids(a, "adhoc", {"heavy@b", "light@c"}, timeout=10)
        wait_ids(b, "adhoc", {"heavy", "light@c"}, timeout=10)
        wait_ids(c, "adhoc", {"heavy@b", "light"}, timeout=10)
        assert "adhoc" in {s["name"] for s in a.get("/api/v1/services")["services"]}
        # a's gateway routes it with a's defaults: weighted round robin.
        counts = collections.Counter(http("GET", f"{a.gateway}/adhoc/x")[1].get("X-Mesh-Instance")
                                     for _ in range(80))
        assert counts == {"heavy@b": 60, "light@c": 20}, counts
        assert b.api("DELETE", "/api/v1/registry/adhoc/heavy")[0] == 200
        wait_ids(a, "adhoc", {"light@c"}, timeout=10)
        # Registrations are the cluster's: a deletes the one c checks, by its remote id.
        assert a.api("DELETE", "/api/v1/registry/adhoc/light@c")[0] == 200
        # The last instance gone: the service is gone everywhere.
        for n in (a, b, c):
            wait_until(lambda: n.discover("adhoc") is None, timeout=10, what=f"adhoc gone from {n.node}")
            assert "adhoc" not in {s["name"] for s in n.get("/api/v1/services")["services"]}
    finally:
        heavy.close()
        light.close()


def test_a_registration_outlives_the_node_that_took_it(cluster):
    backend = Backend()
    try:
        a = cluster.node("a", {"base": pool()})
        b = cluster.node("b", {"base": pool()})
        assert b.register("adhoc", "r1", backend.port)[0] == 201
        wait_ids(a, "adhoc", {"r1@b"}, timeout=10)
        b.kill()
        wait_ids(a, "adhoc", set(), timeout=10)
        wait_until(lambda: a.node_events("node.lost", "b"), timeout=10, what="node.lost for b on a")
        # b again, with an empty data dir: the registration comes from etcd.
        b2 = cluster.node("b", {"base": pool()}, dirname="node-b-again")
        wait_ids(b2, "adhoc", {"r1"}, timeout=15)
        wait_ids(a, "adhoc", {"r1@b"}, timeout=10)
    finally:
        backend.close()


def test_an_override_made_on_b_takes_effect_on_a(cluster):
    port = free_ports(1)[0]
    a = cluster.node("a", {"web": managed(port)})
    b = cluster.node("b")
    c = cluster.node("c")
    wait_ids(b, "web", {"web-0@a"}, query="?passing=true", timeout=15)
    # a's managed instance is a's file's: no other node deletes it.
    status, _, body = b.api("DELETE", "/api/v1/registry/web/web-0@a")
    assert status == 409 and "a" in body["error"]["message"], body
    status, _, body = b.api("POST", "/api/v1/services/web/instances/web-0@a/drain", {"note": "from b"})
    assert status == 200 and body["drain"] is True, body
    wait_until(lambda: a.service("web")["instances"][0]["drain"] is True, timeout=5, what="web-0 drained on a")
    wait_ids(a, "web", set(), query="?passing=true", timeout=5)
    wait_ids(c, "web", set(), query="?passing=true", timeout=5)
    status, _, body = http("GET", f"{a.gateway}/web/x")
    assert status == 503, body
    explain = a.get("/api/v1/services/web/instances/web-0/explain")
    assert any(r["kind"] == "drain" and "from b" in r["message"] for r in explain["reasons"]), explain
    # Undone from a third node.
    assert c.api("POST", "/api/v1/services/web/instances/web-0@a/ready")[0] == 200
    wait_ids(a, "web", {"web-0"}, query="?passing=true", timeout=5)
    wait_ids(b, "web", {"web-0@a"}, query="?passing=true", timeout=5)


def test_prefer_local_keeps_calls_on_the_node_while_it_can(cluster):
    wa, wb, sa, sb = free_ports(4)
    a = cluster.node("a", {"web": managed(wa, locality="prefer_local"), "spread": managed(sa)})
    b = cluster.node("b", {"web": managed(wb, locality="prefer_local"), "spread": managed(sb)})
    c = cluster.node("c")
    views = {a: {"a": "-0", "b": "-0@b"}, b: {"a": "-0@a", "b": "-0"}, c: {"a": "-0@a", "b": "-0@b"}}
    for n, suffixes in views.items():
        for svc in ("web", "spread"):
            wait_ids(n, svc, {svc + s for s in suffixes.values()}, query="?passing=true", timeout=15)

    def spread(node, service, n=20):
        gw = node.gateway
        return collections.Counter(http("GET", f"{gw}/{service}/x")[1].get("X-Mesh-Instance") for _ in range(n))

    assert spread(a, "web") == {"web-0": 20}
    assert spread(b, "web") == {"web-0": 20}
    assert spread(c, "web") == {"web-0@a": 10, "web-0@b": 10}  # c has none of its own
    assert spread(a, "spread") == {"spread-0": 10, "spread-0@b": 10}  # locality any
    # a's own instance fails: a's calls go to b's.
    http("POST", f"http://127.0.0.1:{wa}/admin/health?status=fail")
    wait_ids(a, "web", {"web-0@b"}, query="?passing=true", timeout=5)
    assert spread(a, "web") == {"web-0@b": 20}


def test_nodes_lists_every_node_and_follows_joins_and_leaves(cluster):
    a = cluster.node("a", {"web": managed(free_ports(1)[0])})
    b = cluster.node("b")
    c = cluster.node("c")
    for n in (a, b, c):
        body = wait_until(lambda: (r := n.nodes()) and len(r["nodes"]) == 3 and r, timeout=15,
                          what=f"3 nodes on {n.node}")
        assert body["clustered"] is True and body["stale"] is False
        by_name = {x["name"]: x for x in body["nodes"]}
        assert set(by_name) == {"a", "b", "c"}
        assert [x["name"] for x in body["nodes"] if x["self"]] == [n.node]
        assert body["nodes"][0]["name"] == n.node  # this node first
        for m in (a, b, c):
            rec = by_name[m.node]
            assert rec["state"] == "alive" and rec["address"] == "127.0.0.1", rec
            assert rec["api_address"] == m.api_address, rec
            assert rec["version"] and rec["started_at"] > 0 and rec["last_seen"] > 0, rec
        wait_until(lambda: {x["name"]: x["instances"] for x in n.nodes()["nodes"]} == {"a": 1, "b": 0, "c": 0},
                   timeout=10, what="instance counts")
        assert n.metric("meshd_cluster_nodes", state="alive") == 3
        assert n.metric("meshd_cluster_etcd_up") == 1
    assert a.node_events("node.joined", "b") and a.node_events("node.joined", "c")
    assert c.stop() == 0
    wait_until(lambda: a.node_events("node.left", "c"), timeout=10, what="node.left for c on a")
    states = {x["name"]: x["state"] for x in a.nodes()["nodes"]}
    assert states.get("c", "left") == "left" and states["b"] == "alive", states
    assert not a.node_events("node.lost")
