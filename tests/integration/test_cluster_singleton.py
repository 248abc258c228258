"""Cluster mode (docs/cluster.md): `placement: singleton` runs a service on
exactly one node, fails over when that node dies or is cut off from etcd,
and never runs two copies at once; `placement: {nodes: [...]}` limits
where a service runs. The singleton's command appends "start NODE TIME PID"
and "stop NODE TIME PID" lines to a stamp file (cluster_stamper.py); the
test reads the lines back as intervals and proves no two overlap."""

import socket
import time

import pytest

from cluster_nodes import (LEASE_TTL, TcpProxy, cluster, managed, requires_etcd,  # noqa: F401
                           shared_etcd_cleanup, wait_ids)
from cluster_stamper import stamper_service, stamps, starts
from meshd_harness import children_of, free_ports, pid_alive, wait_until

pytestmark = requires_etcd

# The allowance for starting the singleton's process (a Python interpreter)
# in "failover within lease_ttl + start time + 1 s".
START_TIME = 0.5


def singleton(stamp, node):
    return {"jobs": stamper_service(stamp, node)}


def assert_never_two(stamp, deaths):
    """Every run as an interval [start, stop], a run killed without its stop
    line ending when the test saw its pid gone (`deaths`: pid -> time), a
    running one open-ended; sorted by start, each begins after the one
    before it ended."""
    runs = {}
    for word, node, t, pid in stamps(stamp):
        if word == "start":
            assert pid not in runs, f"pid {pid} started twice"
            runs[pid] = [node, t, None]
        else:
            runs[pid][2] = t
    for pid, end in deaths.items():
        if runs[pid][2] is None:
            runs[pid][2] = end
    ordered = sorted(runs.values(), key=lambda r: r[1])
    open_runs = [r for r in ordered if r[2] is None]
    assert len(open_runs) <= 1, f"two copies running: {ordered}"
    for before, after in zip(ordered, ordered[1:]):
        assert before[2] is not None and after[1] >= before[2], f"overlap: {before} then {after}"
    return ordered


def runs_jobs(node, stamp):
    """True when one of node's meshd's children is the singleton's process."""
    for pid, state in children_of(node.proc.pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if str(stamp).encode() in f.read() and state != "Z":
                    return True
        except FileNotFoundError:
            pass
    return False


def test_a_singleton_runs_once_and_moves_when_its_node_is_killed(cluster, tmp_path):
    stamp = tmp_path / "stamp"
    nodes = {name: cluster.node(name, singleton(stamp, name)) for name in ("a", "b")}
    cluster.node("c")
    wait_until(lambda: len(starts(stamp)) == 1, timeout=15, what="the singleton to start once")
    time.sleep(LEASE_TTL)
    assert len(starts(stamp)) == 1, stamps(stamp)
    _, holder_name, _, holder_pid = starts(stamp)[0]
    holder = nodes[holder_name]
    other = nodes["b" if holder_name == "a" else "a"]
    assert runs_jobs(holder, stamp) and not runs_jobs(other, stamp)
    assert holder.node_events("singleton.elected")
    assert other.ids("jobs", "?passing=true") == {f"jobs-0@{holder_name}"}, other.discover("jobs")

    killed_at = time.time()
    holder.kill()
    wait_until(lambda: not pid_alive(holder_pid), timeout=2, interval=0.01, what="the singleton to die with its node")
    deaths = {holder_pid: time.time()}
    wait_until(lambda: len(starts(stamp)) == 2, timeout=LEASE_TTL + START_TIME + 6, interval=0.02,
               what=f"{other.node} to take the singleton over")
    _, new_name, started_at, _ = starts(stamp)[1]
    assert new_name == other.node
    assert started_at - killed_at <= LEASE_TTL + START_TIME + 1.0, started_at - killed_at
    assert other.node_events("singleton.elected")
    assert_never_two(stamp, deaths)

    # The killed node comes back and stays a standby.
    wait_until(lambda: other.node_events("node.lost", holder_name), timeout=5, what="node.lost")
    holder.start()
    time.sleep(2 * LEASE_TTL)
    assert len(starts(stamp)) == 2 and not runs_jobs(holder, stamp), stamps(stamp)
    # A clean handover: the holder stops (its process writes "stop"), the standby starts.
    stopped_at = time.time()
    assert other.stop() == 0
    wait_until(lambda: len(starts(stamp)) == 3, timeout=LEASE_TTL + START_TIME + 6, interval=0.02,
               what="the standby to take over from a node that stopped")
    assert starts(stamp)[2][1] == holder_name
    assert starts(stamp)[2][2] - stopped_at <= LEASE_TTL + START_TIME + 1.0
    runs = assert_never_two(stamp, deaths)
    assert [r[0] for r in runs] == [holder_name, other.node, holder_name]
    assert runs[1][2] is not None  # the stop line of the clean stop is there


@pytest.mark.parametrize("partition", ["reset", "blackhole"])
def test_a_holder_cut_off_from_etcd_stops_its_singleton_before_another_starts(cluster, tmp_path, partition):
    stamp = tmp_path / "stamp"
    etcd = cluster.etcd3()
    member = etcd.members[0]
    proxy = TcpProxy(("127.0.0.1", member.client_port))
    cluster.stack.callback(proxy.close)
    a = cluster.node("a", singleton(stamp, "a"), endpoints=[proxy.url()])
    wait_until(lambda: len(starts(stamp)) == 1, timeout=15, what="a to start the singleton")
    b = cluster.node("b", singleton(stamp, "b"))
    wait_ids(b, "jobs", {"jobs-0@a"}, query="?passing=true", timeout=15)
    time.sleep(LEASE_TTL)
    assert [s[1] for s in starts(stamp)] == ["a"]

    cut_at = time.time()
    proxy.cut(blackhole=partition == "blackhole")  # a is alive but cannot reach etcd: it must fence itself
    wait_until(lambda: any(s[0] == "stop" and s[1] == "a" for s in stamps(stamp)), timeout=LEASE_TTL + 3,
               interval=0.02, what="a to stop its singleton")
    stopped = next(s[2] for s in stamps(stamp) if s[0] == "stop")
    assert stopped - cut_at < LEASE_TTL, "a stopped its singleton only after its lease could have expired"
    wait_until(lambda: len(starts(stamp)) == 2, timeout=LEASE_TTL + START_TIME + 6, interval=0.02,
               what="b to take the singleton over")
    assert starts(stamp)[1][1] == "b"
    assert starts(stamp)[1][2] - cut_at <= LEASE_TTL + START_TIME + 1.0
    assert_never_two(stamp, {})
    assert a.proc.poll() is None and a.node_events("singleton.fenced")

    proxy.heal()  # a is back; b keeps the singleton
    wait_until(lambda: not a.nodes()["stale"], timeout=15, what="a connected again")
    time.sleep(LEASE_TTL)
    assert [s[1] for s in starts(stamp)] == ["a", "b"], stamps(stamp)
    assert_never_two(stamp, {})
    wait_ids(a, "jobs", {"jobs-0@b"}, query="?passing=true", timeout=5)


def listening(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_placement_nodes_runs_a_service_only_on_the_nodes_named(cluster):
    ports = dict(zip("abc", free_ports(3)))
    nodes = {name: cluster.node(name, {"web": managed(port, placement={"nodes": ["a"]})})
             for name, port in ports.items()}
    for name, n in nodes.items():
        wait_ids(n, "web", {"web-0" if name == "a" else "web-0@a"}, query="?passing=true", timeout=15)
    time.sleep(1.0)
    assert listening(ports["a"])
    assert not listening(ports["b"]) and not listening(ports["c"])
    for name in "bc":
        assert nodes[name].ids("web", "?passing=true") == {"web-0@a"}
