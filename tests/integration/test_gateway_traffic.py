"""The gateway's traffic features (issue 15, docs/traffic.md): routing by
authority, rate limiting, trace context and the access log, with curl and
raw sockets against the real binary on 127.0.0.1."""

import json
import subprocess

import pytest

from meshd_harness import Meshd, demo, free_ports, http, wait_until


def service(port, **extra):
    spec = {"command": demo("--quiet"), "port": port,
            "health": {"type": "http", "interval": "200ms"}}
    spec.update(extra)
    return spec


def started(tmp_path, services, mesh=None, name="meshd"):
    """meshd with `services` (name -> spec), each waited for until passing."""
    config = {"mesh": {"gateway": "127.0.0.1:0", **(mesh or {})}, "services": services}
    m = Meshd(tmp_path, config, name=name)
    m.__enter__()
    for svc in services:
        wait_until(lambda svc=svc: len(m.get(f"/api/v1/discover/{svc}?passing=true")["instances"]) == 1,
                   timeout=30, what=f"{svc} passing")
    return m


def curl(url, *args):
    """(status, headers dict with lower-case names, body text) of one curl request."""
    out = subprocess.run(["curl", "-s", "-i", "--max-time", "10", *args, url],
                         capture_output=True, timeout=20, check=True).stdout.decode(errors="replace")
    head, _, body = out.partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


@pytest.fixture
def two_services(tmp_path):
    api_port, web_port = free_ports(2)
    m = started(tmp_path, {"api": service(api_port), "web": service(web_port)})
    yield m
    m.__exit__(None, None, None)


def test_a_host_naming_a_service_routes_to_it_with_the_path_unchanged(two_services):
    gw = two_services.gateway
    for host in ("api.mesh:8000", "API.MESH", "api", "api:1234"):
        status, headers, body = curl(gw + "/v1/items?x=1", "-H", f"Host: {host}")
        assert status == 200, (host, body)
        echo = json.loads(body)
        assert echo["instance"].startswith("api-"), (host, echo)
        assert (echo["path"], echo["query"]) == ("/v1/items", "x=1"), (host, echo)
    # The Host wins over a path that names another service: the path goes as it is.
    status, _, body = curl(gw + "/web/x", "-H", "Host: api.mesh")
    assert status == 200 and json.loads(body)["instance"].startswith("api-")
    assert json.loads(body)["path"] == "/web/x"
    # Absolute-form: the target's authority is the request's (RFC 9112 3.2.2).
    status, _, body = curl(gw + "/v2", "--request-target", "http://web.mesh/v2", "-H", "Host: api")
    assert status == 200 and json.loads(body)["instance"].startswith("web-")


def test_other_hosts_keep_prefix_routing(two_services):
    gw = two_services.gateway
    for host in ("127.0.0.1:8000", "gateway.example.com", "nosuch.mesh", "localhost"):
        status, _, body = curl(gw + "/web/a", "-H", f"Host: {host}")
        assert status == 200, (host, body)
        echo = json.loads(body)
        assert echo["instance"].startswith("web-") and echo["path"] == "/a", (host, echo)
    # A Host that names no service and a path that names none either: 404.
    status, _, body = curl(gw + "/nosuch/a", "-H", "Host: nosuch.mesh")
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found"
