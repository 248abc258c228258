"""Cluster mode (docs/cluster.md) when a node fails: killed with SIGKILL,
started twice under one name, or fed foreign keys through etcdctl."""

import re
import time

from cluster_nodes import LEASE_TTL, cluster, managed, requires_etcd, shared_etcd_cleanup, wait_ids  # noqa: F401
from meshd_harness import free_ports, wait_until

pytestmark = requires_etcd


def test_a_killed_node_leaves_every_catalog_within_the_lease_ttl(cluster):
    port = free_ports(1)[0]
    a = cluster.node("a", {"web": managed(port)})
    b = cluster.node("b")
    c = cluster.node("c")
    for n in (b, c):
        wait_ids(n, "web", {"web-0@a"}, query="?passing=true", timeout=15)
    killed = a.kill()
    gone = {}
    deadline = killed + LEASE_TTL + 5  # report how late, rather than only that it was
    while len(gone) < 2 and time.monotonic() < deadline:
        for n in (b, c):
            if n.node not in gone and "web-0@a" not in n.ids("web"):
                gone[n.node] = time.monotonic() - killed
        time.sleep(0.02)
    assert set(gone) == {"b", "c"}, f"still listed after {LEASE_TTL + 5}s: {gone}"
    assert max(gone.values()) <= LEASE_TTL + 1.0, gone
    for n in (b, c):
        wait_until(lambda: n.node_events("node.lost", "a"), timeout=2, what=f"node.lost for a on {n.node}")
        states = {x["name"]: x["state"] for x in n.nodes()["nodes"]}
        assert states.get("a", "lost") == "lost", states
        wait_until(lambda: n.metric("meshd_cluster_nodes", state="alive") == 2, timeout=3, what="2 nodes counted")
    # a comes back under its name once its lease is gone, and is seen again.
    a.start()
    wait_ids(c, "web", {"web-0@a"}, query="?passing=true", timeout=15)
    wait_until(lambda: {x["name"]: x["state"] for x in c.nodes()["nodes"]}.get("a") == "alive", timeout=5,
               what="a alive again on c")


def test_a_second_node_with_a_held_name_refuses_to_start(cluster):
    first = cluster.node("gpu-box", {"web": managed(free_ports(1)[0])})
    other = cluster.node("cpu-box")
    wait_ids(other, "web", {"web-0@gpu-box"}, timeout=15)
    dup = cluster.node("gpu-box", {"web": managed(free_ports(1)[0])}, start=False, dirname="node-gpu-box-2")
    dup.start(wait=False)
    rc = dup.proc.wait(timeout=30)
    assert rc != 0
    errors = [line for line in dup.output().splitlines() if re.search(r"\b(error|critical)\b", line)]
    assert len(errors) == 1, dup.output()
    assert "gpu-box" in errors[0] and first.api_address in errors[0], errors[0]
    # The node that holds the name is untouched.
    time.sleep(LEASE_TTL)
    assert first.proc.poll() is None
    rec = {x["name"]: x for x in other.nodes()["nodes"]}["gpu-box"]
    assert rec["api_address"] == first.api_address and rec["state"] == "alive", rec
    assert other.ids("web") == {"web-0@gpu-box"}


BAD_KEYS = [
    ("instances/zz/broken", "not json"),
    ("instances/zz/typed", '{"service": 42, "port": "x"}'),
    ("instances/lonely", "{}"),
    ("nodes/zz", "[1, 2"),
    ("registrations/r1", '{"node": 5}'),
    ("overrides/web-0@a", "{{"),
    ("weird/thing", "hello"),
]


def test_foreign_and_malformed_keys_are_skipped_and_counted(cluster):
    a = cluster.node("a", {"web": managed(free_ports(1)[0])})
    c = cluster.node("c")
    wait_ids(c, "web", {"web-0@a"}, query="?passing=true", timeout=15)
    before = {n.node: n.metric("meshd_cluster_bad_records_total") or 0 for n in (a, c)}
    etcd = cluster.etcds[-1]
    for key, value in BAD_KEYS:
        etcd.etcdctl("put", "--", cluster.prefix + key, value)
    for n in (a, c):
        wait_until(lambda: (n.metric("meshd_cluster_bad_records_total") or 0) - before[n.node] >= len(BAD_KEYS),
                   timeout=5, what=f"{len(BAD_KEYS)} bad records counted on {n.node}")
    time.sleep(0.5)
    for n in (a, c):
        assert n.proc.poll() is None, n.output()
    assert c.ids("web") == {"web-0@a"} and c.ids("web", "?passing=true") == {"web-0@a"}
    assert a.ids("web", "?passing=true") == {"web-0"}  # the bad override did not drain it
    # The catalog still moves, and a node that loads the bad keys at start counts them too.
    d = cluster.node("d", {"api": managed(free_ports(1)[0])})
    wait_ids(c, "api", {"api-0@d"}, timeout=15)
    wait_ids(d, "web", {"web-0@a"}, timeout=15)
    assert d.metric("meshd_cluster_bad_records_total") >= len(BAD_KEYS)
