"""A real etcd cluster for the cluster integration tests and benchmarks:
N members of /usr/bin/etcd (Debian's etcd-server, 3.4) on free 127.0.0.1
ports, a temp data dir each, optionally TLS on the client side with a CA,
a server and a client certificate made with the openssl command line.

    with EtcdCluster(size=3) as etcd:
        etcd.client_urls          # ["http://127.0.0.1:23456", ...]
        etcd.kill(0)              # SIGKILL, by pid
        etcd.restart(0)           # same data dir and ports
        etcd.etcdctl("put", "/k", "v")

Every process it starts is stopped by pid, and its dirs removed, on exit
(and at interpreter exit if a test forgot). Every wait is bounded."""

import atexit
import json
import os
import pathlib
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from meshd_harness import free_ports

ETCD_BIN = os.environ.get("MESHD_ETCD_BIN", "/usr/bin/etcd")
ETCDCTL_BIN = os.environ.get("MESHD_ETCDCTL_BIN", "/usr/bin/etcdctl")


def etcd_available():
    """True when the etcd server binary is installed (the cluster tests skip without it)."""
    return os.access(ETCD_BIN, os.X_OK)


def _openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed:\n{r.stderr}")


class CertificateAuthority:
    """A throw-away CA in `directory` (EC P-256 keys, valid one day), and the
    certificates it signs: a server certificate for 127.0.0.1/localhost and
    client certificates. Paths are absolute strings."""

    def __init__(self, directory, name="meshd-test-ca"):
        self.dir = pathlib.Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.cert = str(self.dir / f"{name}.crt")
        self.key = str(self.dir / f"{name}.key")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", self.key, "-out", self.cert, "-days", "1", "-subj", f"/CN={name}",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=self.dir)

    def issue(self, name, server=False):
        """(cert path, key path) for `name`; a server certificate names
        127.0.0.1 and localhost, and every certificate may act as a client."""
        cert, key, csr = (str(self.dir / f"{name}.{ext}") for ext in ("crt", "key", "csr"))
        ext = self.dir / f"{name}.ext"
        usage = "serverAuth,clientAuth" if server else "clientAuth"
        lines = [f"extendedKeyUsage={usage}", "basicConstraints=CA:FALSE",
                 "keyUsage=critical,digitalSignature,keyEncipherment"]
        if server:
            lines.append("subjectAltName=IP:127.0.0.1,DNS:localhost")
        ext.write_text("\n".join(lines) + "\n")
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", key, "-out", csr, "-subj", f"/CN={name}", cwd=self.dir)
        _openssl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key, "-CAcreateserial",
                 "-out", cert, "-days", "1", "-extfile", str(ext), cwd=self.dir)
        return cert, key


class EtcdTls:
    """The files of a TLS etcd cluster: the CA, the members' server
    certificate, and a client certificate that meshd and etcdctl present."""

    def __init__(self, directory):
        self.ca = CertificateAuthority(directory)
        self.ca_file = self.ca.cert
        self.server_cert, self.server_key = self.ca.issue("etcd-server", server=True)
        self.client_cert, self.client_key = self.ca.issue("meshd-client")

    def ssl_context(self):
        ctx = ssl.create_default_context(cafile=self.ca_file)
        ctx.load_cert_chain(self.client_cert, self.client_key)
        return ctx


class EtcdMember:
    def __init__(self, index, directory, client_port, peer_port, scheme):
        self.index = index
        self.name = f"m{index}"
        self.dir = directory
        self.data_dir = directory / "data"
        self.client_port = client_port
        self.peer_port = peer_port
        self.client_url = f"{scheme}://127.0.0.1:{client_port}"
        self.peer_url = f"http://127.0.0.1:{peer_port}"
        self.log_path = directory / "etcd.log"
        self.proc = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None


class EtcdCluster:
    """N etcd members on 127.0.0.1. `tls` truthy: the client URLs are https
    with client-certificate auth (peers stay http on loopback). Start with
    `start()` or as a context manager; the ports are chosen at construction,
    so a test can hand the URLs to meshd before etcd runs."""

    def __init__(self, size=3, tls=None, base_dir=None, start_timeout=30.0):
        self.size = size
        self.start_timeout = start_timeout
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="meshd-etcd-", dir=base_dir))
        self.tls = EtcdTls(self.root / "tls") if tls else None
        scheme = "https" if self.tls else "http"
        ports = free_ports(2 * size, span=1)
        self.members = []
        for i in range(size):
            d = self.root / f"m{i}"
            d.mkdir(mode=0o700)
            self.members.append(EtcdMember(i, d, ports[2 * i], ports[2 * i + 1], scheme))
        self.initial_cluster = ",".join(f"{m.name}={m.peer_url}" for m in self.members)
        self.token = f"meshd-test-{os.getpid()}-{self.members[0].client_port}"
        self._closed = False
        atexit.register(self.close)

    @property
    def client_urls(self):
        return [m.client_url for m in self.members]

    @property
    def endpoints(self):
        """The client URLs as one comma-separated string (meshd's --etcd)."""
        return ",".join(self.client_urls)

    def _argv(self, m):
        argv = [ETCD_BIN, "--name", m.name, "--data-dir", str(m.data_dir),
                "--listen-client-urls", m.client_url, "--advertise-client-urls", m.client_url,
                "--listen-peer-urls", m.peer_url, "--initial-advertise-peer-urls", m.peer_url,
                "--initial-cluster", self.initial_cluster, "--initial-cluster-state", "new",
                "--initial-cluster-token", self.token, "--logger", "zap", "--log-level", "warn"]
        if self.tls:
            argv += ["--cert-file", self.tls.server_cert, "--key-file", self.tls.server_key,
                     "--trusted-ca-file", self.tls.ca_file, "--client-cert-auth"]
        return argv

    def _spawn(self, m):
        with open(m.log_path, "ab") as log:
            m.proc = subprocess.Popen(self._argv(m), stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, cwd=m.dir)

    def start(self):
        """Starts every member and waits until each answers healthy."""
        for m in self.members:
            if not m.running():
                self._spawn(m)
        self.wait_healthy()
        return self

    def restart(self, i, wait=True):
        """Starts member i again (same data dir and ports) after kill() or
        stop(). With wait, returns once it answers healthy (which needs a
        quorum of members running)."""
        m = self.members[i]
        assert not m.running(), f"etcd member {i} is still running"
        self._spawn(m)
        if wait:
            self.wait_healthy([i])

    def restart_all(self, wait=True):
        for i, m in enumerate(self.members):
            if not m.running():
                self.restart(i, wait=False)
        if wait:
            self.wait_healthy()

    def kill(self, i, sig=signal.SIGKILL):
        """Kills member i by pid (SIGKILL unless told) and reaps it."""
        m = self.members[i]
        if m.running():
            m.proc.send_signal(sig)
            try:
                m.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                m.proc.kill()
                m.proc.wait(timeout=10)

    def stop(self, i):
        self.kill(i, signal.SIGTERM)

    def stop_all(self, sig=signal.SIGKILL):
        """Every member down (SIGKILL unless told): the cluster is gone until restart_all()."""
        for m in self.members:
            if m.running():
                m.proc.send_signal(sig)
        for i in range(self.size):
            self.kill(i)

    def healthy(self, i):
        """True when member i answers GET /health with {"health": "true"}
        (it has a leader and serves a linearizable read)."""
        m = self.members[i]
        if not m.running():
            return False
        ctx = self.tls.ssl_context() if self.tls else None
        try:
            with urllib.request.urlopen(m.client_url + "/health", timeout=2, context=ctx) as res:
                return json.loads(res.read()).get("health") == "true"
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def wait_healthy(self, members=None, timeout=None):
        indexes = list(range(self.size)) if members is None else list(members)
        deadline = time.monotonic() + (timeout or self.start_timeout)
        while time.monotonic() < deadline:
            for i in indexes:
                m = self.members[i]
                if m.proc is not None and m.proc.poll() is not None:
                    raise AssertionError(f"etcd member {i} exited with {m.proc.returncode}:\n{self.log(i)}")
            if all(self.healthy(i) for i in indexes):
                return
            time.sleep(0.1)
        raise AssertionError(f"etcd members {indexes} not healthy within {timeout or self.start_timeout}s:\n" +
                             "\n".join(self.log(i) for i in indexes))

    def log(self, i, tail=4000):
        path = self.members[i].log_path
        text = path.read_text(errors="replace") if path.exists() else ""
        return f"--- etcd m{i} ---\n" + text[-tail:]

    def etcdctl_argv(self, *args, endpoints=None):
        argv = [ETCDCTL_BIN, "--endpoints", ",".join(endpoints or self.live_urls()),
                "--dial-timeout", "3s", "--command-timeout", "5s"]
        if self.tls:
            argv += ["--cacert", self.tls.ca_file, "--cert", self.tls.client_cert, "--key", self.tls.client_key]
        return argv + [str(a) for a in args]

    def etcdctl(self, *args, check=True, input=None, endpoints=None, timeout=30):
        """Runs etcdctl (API v3) against the running members; returns its
        stdout. With check, raises AssertionError on a non-zero exit."""
        env = dict(os.environ, ETCDCTL_API="3")
        r = subprocess.run(self.etcdctl_argv(*args, endpoints=endpoints), capture_output=True, text=True,
                           input=input, env=env, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"etcdctl {' '.join(map(str, args))} -> {r.returncode}: {r.stderr}")
        return r.stdout if check else r

    def live_urls(self):
        urls = [m.client_url for m in self.members if m.running()]
        return urls or self.client_urls

    def get_prefix(self, prefix):
        """{key: value} of every key under prefix (etcdctl get --prefix -w json)."""
        import base64
        out = json.loads(self.etcdctl("get", "--prefix", prefix, "-w", "json") or "{}")
        return {base64.b64decode(kv["key"]).decode(errors="replace"):
                base64.b64decode(kv.get("value", "")).decode(errors="replace") for kv in out.get("kvs", [])}

    def member_ids(self):
        """{member index: raft member id} (etcdctl member list)."""
        out = json.loads(self.etcdctl("member", "list", "-w", "json"))
        by_name = {m.name: m.index for m in self.members}
        return {by_name[m["name"]]: m["ID"] for m in out["members"]}

    def leader(self):
        """The index of the member that leads now (etcdctl endpoint status)."""
        ids = {v: k for k, v in self.member_ids().items()}
        statuses = json.loads(self.etcdctl("endpoint", "status", "-w", "json"))
        leaders = {s["Status"]["leader"] for s in statuses}
        assert len(leaders) == 1, f"members disagree on the leader: {statuses}"
        return ids[leaders.pop()]

    def move_leader(self, i, timeout=15.0):
        """Hands raft leadership to member i (etcdctl move-leader, sent to
        the current leader) and waits until every member agrees."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = self.leader()
            if current == i:
                return
            target = format(self.member_ids()[i], "x")
            self.etcdctl("move-leader", target, endpoints=[self.members[current].client_url], check=False)
            time.sleep(0.2)
        raise AssertionError(f"etcd member {i} did not become the leader within {timeout}s")

    def close(self):
        if self._closed:
            return
        self._closed = True
        try:
            self.stop_all()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            try:
                atexit.unregister(self.close)
            except Exception:
                pass

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc):
        self.close()
        return False
