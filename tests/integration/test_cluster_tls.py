"""Cluster mode (docs/cluster.md) over TLS: etcd's client URLs are https
with client-certificate auth, the CA and certificates made by the test
with the openssl command line."""

import re
import time

from cluster_nodes import cluster, managed, requires_etcd, wait_ids  # noqa: F401
from etcd_cluster import CertificateAuthority
from meshd_harness import free_ports, wait_until

pytestmark = requires_etcd


def tls_block(etcd, ca=None):
    return {"ca": ca or etcd.tls.ca_file, "cert": etcd.tls.client_cert, "key": etcd.tls.client_key}


def test_nodes_share_a_catalog_over_tls_with_a_client_certificate(cluster):
    etcd = cluster.etcd(3, tls=True)
    assert all(u.startswith("https://") for u in etcd.client_urls)
    a = cluster.node("a", {"web": managed(free_ports(1)[0])}, flags=False, tls=tls_block(etcd))
    c = cluster.node("c", flags=False, tls=tls_block(etcd))
    wait_ids(c, "web", {"web-0@a"}, query="?passing=true", timeout=20)
    keys = etcd.get_prefix(cluster.prefix + "nodes/")
    assert set(keys) == {cluster.prefix + "nodes/a", cluster.prefix + "nodes/c"}, keys
    assert a.metric("meshd_cluster_etcd_up") == 1


def test_a_wrong_ca_fails_with_a_clear_error(cluster, tmp_path):
    etcd = cluster.etcd(3, tls=True)
    stranger = CertificateAuthority(tmp_path / "stranger", name="stranger-ca")
    a = cluster.node("a", {"web": managed(free_ports(1)[0])}, flags=False, tls=tls_block(etcd, stranger.cert),
                     start=False)
    a.start(wait=False)
    # One line naming etcd's endpoint and why: the certificate did not verify.
    pattern = re.compile(r"(certificate|verif|handshake)", re.I)

    def complained():
        return [line for line in a.output().splitlines()
                if pattern.search(line) and any(url in line for url in etcd.client_urls)]

    wait_until(complained, timeout=15, what="an error line naming etcd's endpoint and its certificate")
    time.sleep(1.0)
    assert etcd.get_prefix(cluster.prefix) == {}  # it never got in
