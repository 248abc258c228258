"""meshd nodes sharing one etcd, for the cluster integration tests
(docs/cluster.md): each node with its own YAML file, data dir, API port
and gateway port, started with --node NAME --etcd URLS.

    def test_x(cluster):                      # the fixture below
        etcd = cluster.etcd3()                # a module-wide 3-member etcd
        a = cluster.node("a", {"web": managed(port)})
        c = cluster.node("c")
        wait_until(lambda: ids(c, "web") == {"web-0@a"})

Every node is stopped (SIGTERM, by pid) at the end of its test, before
any etcd cluster the test made; when a test fails, the tail of every
node's and member's log goes to stderr."""

import contextlib
import itertools
import json
import os
import select
import signal
import socket
import sys
import threading
import time
import uuid

import pytest

from etcd_cluster import ETCD_BIN, EtcdCluster, etcd_available
from meshd_harness import Meshd, demo, free_ports, http, wait_until

requires_etcd = pytest.mark.skipif(not etcd_available(),
                                   reason=f"{ETCD_BIN} is not installed (Debian package etcd-server)")

LEASE_TTL = 2.0  # seconds; the smallest mesh.cluster.lease_ttl meshd accepts


def managed(port, *args, replicas=1, **extra):
    """A demo service meshd runs, checked over HTTP every 200 ms."""
    svc = {"command": demo(*args), "port": port, "replicas": replicas,
           "health": {"type": "http", "interval": "200ms", "unhealthy_threshold": 1}}
    svc.update(extra)
    return svc


def pool(**extra):
    """A service with no address of its own: filled by registrations and other nodes."""
    svc = {"address": [], "health": {"type": "tcp", "interval": "200ms"}}
    svc.update(extra)
    return svc


class MeshNode(Meshd):
    """One meshd node of a cluster. `flags`: the node name and etcd
    endpoints go on the command line (--node, --etcd); otherwise into the
    file (mesh.node, mesh.cluster.etcd)."""

    def __init__(self, tmp_path, name, etcd, services=None, prefix="/meshd/", lease_ttl="2s", mesh=None,
                 defaults=None, flags=True, tls=None, endpoints=None, args=(), dirname=None):
        cluster = {"prefix": prefix, "lease_ttl": lease_ttl}
        urls = endpoints or etcd.client_urls
        if tls:
            cluster["tls"] = tls
        mesh_cfg = {"gateway": "127.0.0.1:0", "cluster": cluster}
        node_args = []
        if flags:
            node_args = ["--node", name, "--etcd", ",".join(urls)]
        else:
            mesh_cfg["node"] = name
            cluster["etcd"] = list(urls)
        mesh_cfg.update(mesh or {})
        config = {"mesh": mesh_cfg, "services": services or {}}
        if defaults is not None:
            config["defaults"] = defaults
        super().__init__(tmp_path, config, args=[*node_args, *args], name=dirname or f"node-{name}")
        self.node = name
        self._daemon_starts = 0

    def start(self, wait=True):
        """Starts meshd; with wait, returns once it logged daemon.start (its
        API answers earlier, while the node is still joining)."""
        super().start(wait=wait)
        if wait:
            before = self._daemon_starts  # the history survives restarts in the same data dir
            self._daemon_starts = wait_until(
                lambda: (n := sum(e["type"] == "daemon.start" for e in self.events())) > before and n,
                timeout=20, what=f"node {self.node} to log daemon.start")
        return self

    def kill(self):
        """SIGKILL by pid, reaped; returns the monotonic time of the kill.
        The processes it runs die with it (they have PR_SET_PDEATHSIG)."""
        t = time.monotonic()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        return t

    @property
    def api_address(self):
        return self.base[len("http://"):]

    def discover(self, service, query=""):
        """The discovery body, or None while the service does not exist here (404)."""
        status, _, body = self.api("GET", f"/api/v1/discover/{service}{query}")
        if status == 404:
            return None
        assert status == 200, f"GET discover/{service} on {self.node} -> {status} {body}"
        return body

    def ids(self, service, query=""):
        """The set of instance ids discovery shows (empty when the service is unknown)."""
        body = self.discover(service, query)
        return set() if body is None else {i["id"] for i in body["instances"]}

    def nodes(self):
        return self.get("/api/v1/nodes")

    def register(self, service, id, port, check=None, **extra):
        body = {"service": service, "id": id, "address": "127.0.0.1", "port": port,
                "check": check or {"type": "none"}}
        body.update(extra)
        return self.api("POST", "/api/v1/registry", body)

    def metric(self, name, **labels):
        """The sum of the samples of `name` in GET /metrics whose labels
        include `labels` (None when there is none)."""
        status, _, text = self.api("GET", "/metrics")
        assert status == 200, text
        total, found = 0.0, False
        for line in text.splitlines():
            if not (line.startswith(name + " ") or line.startswith(name + "{")):
                continue
            if all(f'{k}="{v}"' in line.split(" ")[0] for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
                found = True
        return total if found else None

    def node_events(self, type, node=None, since=0):
        """Events of `type` (node.lost, singleton.elected, ...), only those
        naming `node` when given: in data.node, or anywhere as a JSON value."""
        return [e for e in self.events(since=since) if e["type"] == type and (node is None or names(e, node))]

    def last_seq(self):
        events = self.events()
        return events[-1]["seq"] if events else 0


def names(event, node):
    """True when an event is about `node` (data.node, or the name as any JSON value)."""
    data = event.get("data") or {}
    return (isinstance(data, dict) and data.get("node") == node) or f'"{node}"' in json.dumps(event)


class Cluster:
    """What one test started: etcd clusters and meshd nodes, stopped in reverse order."""

    _shared = {}

    def __init__(self, tmp_path, request):
        self.tmp_path = tmp_path
        self.request = request
        self.stack = contextlib.ExitStack()
        self.nodes = []
        self.etcds = []
        self.prefix = f"/t{uuid.uuid4().hex[:10]}/"

    def etcd3(self):
        """The module's shared 3-member etcd (started once per test file);
        this test's keys live under its own prefix, so tests do not see
        each other's nodes."""
        key = self.request.module.__name__
        etcd = Cluster._shared.get(key)
        if etcd is None or etcd._closed or not all(m.running() for m in etcd.members):
            etcd = EtcdCluster(3).start()
            Cluster._shared[key] = etcd
        self.etcds.append(etcd)
        return etcd

    def etcd(self, size=3, tls=None, start=True):
        """An etcd of this test's own (to kill, stop or start late)."""
        etcd = EtcdCluster(size, tls=tls)
        self.stack.callback(etcd.close)
        self.etcds.append(etcd)
        return etcd.start() if start else etcd

    def node(self, name, services=None, etcd=None, start=True, wait=True, **kw):
        etcd = etcd or (self.etcds[-1] if self.etcds else self.etcd3())
        kw.setdefault("prefix", self.prefix)
        n = MeshNode(self.tmp_path, name, etcd, services, **kw)
        self.stack.callback(n.__exit__, None, None, None)
        self.nodes.append(n)
        if start:
            n.start(wait=wait)
        return n

    def dump_logs(self):
        out = sys.__stderr__
        for n in self.nodes:
            out.write(f"\n--- meshd node {n.node} ({n.log_path}) ---\n{n.output()[-6000:]}\n")
        for e in self.etcds:
            for i in range(e.size):
                out.write("\n" + e.log(i, tail=800) + "\n")
        out.flush()


@pytest.fixture
def cluster(tmp_path, request):
    c = Cluster(tmp_path, request)
    failed_before = request.session.testsfailed
    try:
        yield c
    finally:
        if request.session.testsfailed > failed_before:
            c.dump_logs()
        c.stack.close()


@pytest.fixture(scope="module", autouse=True)
def shared_etcd_cleanup(request):
    """Stops the module's shared etcd after its last test (import it into the test module)."""
    yield
    etcd = Cluster._shared.pop(request.module.__name__, None)
    if etcd is not None:
        etcd.close()


def wait_ids(node, service, expected, timeout=10.0, query=""):
    """Waits until discovery on `node` shows exactly the ids `expected`."""
    expected = set(expected)
    return wait_until(lambda: node.ids(service, query) == expected, timeout=timeout,
                      interval=0.02, what=f"{service} on {node.node} to be {sorted(expected)} "
                                         f"(now {sorted(node.ids(service, query))})")


class TcpProxy:
    """A TCP relay from a free 127.0.0.1 port to `target` (host, port) that a
    test can cut and heal: a network partition between one meshd node and
    etcd, without root. cut() resets every connection and closes new ones at
    once; cut(blackhole=True) keeps them open but drops every byte both ways
    (packets lost: only timeouts tell), as a dead link does."""

    def __init__(self, target):
        self.target = target
        self.cut_off = False
        self.blackhole = False
        self.closed = False
        self.lock = threading.Lock()
        self.conns = []
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def url(self, scheme="http"):
        return f"{scheme}://127.0.0.1:{self.port}"

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_off and not self.blackhole:
                client.close()
                continue
            if self.cut_off:
                with self.lock:
                    self.conns.append(client)  # held, never answered, closed by heal()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a, b):
        peers = {a: b, b: a}
        try:
            for _ in itertools.count():
                if self.closed or (self.cut_off and not self.blackhole):
                    break
                readable, _, _ = select.select([a, b], [], [], 0.2)
                done = False
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        done = True
                        break
                    if not self.cut_off:
                        peers[s].sendall(data)
                if done:
                    break
        except (OSError, ValueError):
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()

    def _drop_all(self):
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()

    def cut(self, blackhole=False):
        """Partitions: resets every relayed connection and refuses new ones,
        or with blackhole, silently drops all traffic until heal()."""
        self.blackhole = blackhole
        self.cut_off = True
        if not blackhole:
            self._drop_all()

    def heal(self):
        """Ends the partition; connections held by a blackhole are closed
        (as the peers' timeouts would), new ones are relayed again."""
        self.cut_off = False
        self._drop_all()
        self.blackhole = False

    def close(self):
        self.closed = True
        self.cut_off = True
        self._drop_all()
        with contextlib.suppress(OSError):
            self.listener.close()
