"""Cluster mode (docs/cluster.md) when etcd fails: one member of three
dies (no effect), all die (every node serves its last catalog, marked
stale, and resyncs when etcd is back), or etcd is not up yet when meshd
starts. Each test has an etcd cluster of its own to kill."""

import time

import pytest

from cluster_nodes import LEASE_TTL, cluster, managed, pool, requires_etcd, wait_ids  # noqa: F401
from meshd_harness import Backend, free_ports, http, wait_until

pytestmark = requires_etcd


def stale_view(node):
    """(body "stale", X-Mesh-Stale header) of a discovery call on node."""
    status, headers, body = node.api("GET", "/api/v1/discover/web")
    assert status == 200, body
    return body.get("stale", False), headers.get("X-Mesh-Stale")


def catalog(nodes, services):
    """{node: {service: sorted id list}}: lists, so that a doubled instance shows."""
    out = {}
    for n in nodes:
        out[n.node] = {}
        for s in services:
            body = n.discover(s)
            out[n.node][s] = sorted(i["id"] for i in body["instances"]) if body else []
    return out


@pytest.mark.parametrize("role", ["follower", "leader"])
def test_one_etcd_member_of_three_dying_changes_nothing(cluster, role):
    """The member killed is the first endpoint each node was given (the one
    it talks to), a raft follower or the leader. A leader's death leaves
    etcd itself without a leader for an election (about 1-2 s with the
    default timeouts), so there the catalog may be marked stale for a
    moment; a follower's death must not show at all. Either way no node is
    dropped, and changes keep flowing."""
    etcd = cluster.etcd(3)
    a = cluster.node("a", {"web": managed(free_ports(1)[0]), "pool": pool()})
    c = cluster.node("c", {"pool": pool()})
    wait_ids(c, "web", {"web-0@a"}, query="?passing=true", timeout=15)
    etcd.move_leader(0 if role == "leader" else 1)
    etcd.kill(0)
    killed = time.monotonic()
    assert a.register("pool", "p1", free_ports(1)[0])[0] == 201
    seen, stale_since = False, {}
    # Two lease lifetimes: keep-alives must go on through the other members.
    while time.monotonic() - killed < 2 * LEASE_TTL + 1:
        for n in (a, c):
            body_stale, header = stale_view(n)
            assert body_stale == (header == "true"), (n.node, body_stale, header)
            if body_stale:
                stale_since.setdefault(n.node, time.monotonic())
                assert role == "leader", f"{n.node} marked stale when a follower died"
                assert time.monotonic() - stale_since[n.node] < LEASE_TTL, f"{n.node} stale for a lease"
            else:
                stale_since.pop(n.node, None)
        assert c.ids("web") == {"web-0@a"}
        seen = seen or c.ids("pool") == {"p1@a"}
        time.sleep(0.1)
    assert seen, "a's registration did not reach c with one etcd member down"
    for n in (a, c):
        assert stale_view(n) == (False, None)
        assert not n.node_events("node.lost")
        assert n.metric("meshd_cluster_etcd_up") == 1


def test_all_etcd_members_dying_leaves_a_stale_catalog_that_resyncs(cluster):
    etcd = cluster.etcd(3)
    wa, wb = free_ports(2)
    backend = Backend()
    try:
        a = cluster.node("a", {"web": managed(wa), "pool": pool()})
        b = cluster.node("b", {"web": managed(wb), "pool": pool()})
        c = cluster.node("c", {"pool": pool()})
        nodes = (a, b, c)
        for i in range(3):
            assert a.register("pool", f"pa{i}", backend.port)[0] == 201
        assert b.register("pool", "pb0", backend.port)[0] == 201
        wait_ids(c, "web", {"web-0@a", "web-0@b"}, query="?passing=true", timeout=15)
        wait_ids(c, "pool", {"pa0@a", "pa1@a", "pa2@a", "pb0@b"}, timeout=15)
        wait_ids(a, "pool", {"pa0", "pa1", "pa2", "pb0@b"}, timeout=15)
        wait_ids(b, "pool", {"pa0@a", "pa1@a", "pa2@a", "pb0"}, timeout=15)
        before = catalog(nodes, ("web", "pool"))
        keys_before = set(etcd.get_prefix(cluster.prefix + "instances/"))

        etcd.stop_all()
        for n in nodes:
            wait_until(lambda: stale_view(n) == (True, "true"), timeout=10, what=f"{n.node} stale")
            status, headers, _ = n.api("GET", "/api/v1/services")
            assert status == 200 and headers.get("X-Mesh-Stale") == "true"
            assert n.nodes()["stale"] is True
            assert n.node_events("cluster.stale")
            assert n.metric("meshd_cluster_etcd_up") == 0
        assert catalog(nodes, ("web", "pool")) == before  # the last-known catalog, whole
        # Services keep running and the gateways keep routing, to remote instances too.
        a.wait_state("web", "running")
        got = {http("GET", f"{c.gateway}/web/x")[1].get("X-Mesh-Instance") for _ in range(6)}
        assert got == {"web-0@a", "web-0@b"}, got
        # A change made while etcd is gone reaches the others after it is back.
        http("POST", f"http://127.0.0.1:{wa}/admin/health?status=fail")
        wait_ids(a, "web", {"web-0@b"}, query="?passing=true", timeout=5)
        time.sleep(LEASE_TTL)  # longer than a lease: nobody may drop anybody meanwhile
        assert catalog(nodes, ("web", "pool")) == before

        etcd.restart_all()
        for n in nodes:
            wait_until(lambda: stale_view(n) == (False, None) or stale_view(n) == (False, "false"), timeout=15,
                       what=f"{n.node} connected again")
            assert n.node_events("cluster.connected")
        wait_ids(c, "web", {"web-0@b"}, query="?passing=true", timeout=10)
        wait_ids(b, "web", {"web-0"}, query="?passing=true", timeout=10)
        time.sleep(1.0)
        assert catalog(nodes, ("web", "pool")) == before  # nothing lost, nothing doubled
        assert set(etcd.get_prefix(cluster.prefix + "instances/")) == keys_before
        for n in nodes:
            assert not n.node_events("node.lost")
    finally:
        backend.close()


def test_meshd_started_while_etcd_is_down_joins_when_it_comes(cluster):
    etcd = cluster.etcd(3, start=False)
    a = cluster.node("a", {"web": managed(free_ports(1)[0])}, etcd=etcd)
    c = cluster.node("c", {"pool": pool()}, etcd=etcd)
    a.wait_state("web", "running")  # local services do not wait for etcd
    wait_ids(a, "web", {"web-0"}, query="?passing=true", timeout=10)
    assert c.ids("web") == set()
    time.sleep(1.0)
    etcd.start()
    wait_ids(c, "web", {"web-0@a"}, query="?passing=true", timeout=20)
    for n in (a, c):
        wait_until(lambda: {x["name"] for x in n.nodes()["nodes"]} == {"a", "c"} and not n.nodes()["stale"],
                   timeout=10, what=f"both nodes known on {n.node}")
