"""`meshd validate` on the cluster settings (mesh.node, mesh.advertise,
mesh.cluster, placement, locality): a good block passes, a bad one is one
line naming file:line:col. Needs no etcd."""

import subprocess

import pytest

from etcd_cluster import CertificateAuthority
from meshd_harness import MESHD_BIN, demo


def validate(tmp_path, text):
    path = tmp_path / "meshd.yaml"
    path.write_text(text)
    return path, subprocess.run([MESHD_BIN, "validate", "-c", str(path)], capture_output=True, text=True,
                                timeout=30)


def test_a_full_cluster_block_validates(tmp_path):
    ca = CertificateAuthority(tmp_path / "tls").cert
    _, r = validate(tmp_path, f"""version: 1
mesh:
  node: gpu-box
  advertise: 10.0.0.5
  cluster:
    etcd: [https://10.0.0.1:2379, https://10.0.0.2:2379]
    prefix: /prod/
    lease_ttl: 5s
    tls: {{ ca: {ca} }}
defaults:
  locality: prefer_local
services:
  infer: {{ command: ["{demo()[0]}"], placement: {{ nodes: [gpu-box] }} }}
  cron: {{ command: ["{demo()[0]}"], placement: singleton, locality: any }}
""")
    assert r.returncode == 0, r.stderr


BAD = [
    ("ftp URL", "  cluster:\n    etcd:\n      - ftp://127.0.0.1:2379\n", 6, 9, "ftp://"),
    ("lease under 2s", "  cluster:\n    etcd: [http://127.0.0.1:2379]\n    lease_ttl: 1s\n", 6, 16, "lease_ttl"),
    ("wildcard advertise", "  advertise: 0.0.0.0\n  cluster:\n    etcd: [http://127.0.0.1:2379]\n", 4, 14, "0.0.0.0"),
]


@pytest.mark.parametrize("what,block,line,column,names", BAD, ids=[b[0] for b in BAD])
def test_a_bad_cluster_block_is_one_line_with_its_place(tmp_path, what, block, line, column, names):
    path, r = validate(tmp_path, "version: 1\nmesh:\n  node: a\n" + block +
                       f"services:\n  web: {{ command: [\"{demo()[0]}\"] }}\n")
    assert r.returncode != 0, (what, r.stdout)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert f"{path}:{line}:{column}:" in lines[0], lines[0]
    assert names in lines[0], lines[0]
