"""WebSocket through the gateway (issue 15): the upgrade is forwarded to an
instance and, after its 101, bytes are relayed both ways; a refused upgrade
comes back as the instance answered; an idle tunnel is closed; stopping the
instance ends it. Real clients (Python websockets) and a real echo server
on 127.0.0.1."""

import asyncio
import os
import socket

import pytest

from meshd_harness import Meshd, demo, free_ports, http, wait_until

websockets = pytest.importorskip("websockets", reason="python3-websockets is not installed")

ECHO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ws_echo.py")


def mesh(echo_port, demo_port, idle="1h"):
    return {"mesh": {"gateway": "127.0.0.1:0"},
            "services": {
                "echo": {"command": ["/usr/bin/python3", ECHO], "port": echo_port, "idle_timeout": idle,
                         "health": {"type": "http", "path": "/health", "interval": "200ms"},
                         "shutdown": {"timeout": "1s"}},
                "web": {"command": demo("--quiet"), "port": demo_port,
                        "health": {"type": "http", "interval": "200ms"}}}}


def wait_up(m):
    for name in ("echo", "web"):
        wait_until(lambda: len(m.get(f"/api/v1/discover/{name}?passing=true")["instances"]) == 1,
                   timeout=30, what=f"{name} passing")


def upgraded(m):
    """meshd_gateway_upgraded_connections{service="echo"} from /metrics."""
    status, _, body = m.api("GET", "/metrics")
    assert status == 200
    for line in body.splitlines():
        if line.startswith('meshd_gateway_upgraded_connections{service="echo"}'):
            return float(line.split()[-1])
    return None


def ws_url(m, path):
    return m.gateway.replace("http://", "ws://") + path


def test_echo_through_the_gateway(tmp_path):
    ports = free_ports(2)
    with Meshd(tmp_path, mesh(*ports)) as m:
        wait_up(m)

        async def run():
            async with websockets.connect(ws_url(m, "/echo/ws"), max_size=2**22) as ws:
                for i in range(200):
                    await ws.send(f"message {i}")
                    assert await ws.recv() == f"message {i}"
                big = os.urandom(1 << 20)  # larger than any buffer on the way
                await ws.send(big)
                assert await ws.recv() == big
                seen = await asyncio.get_running_loop().run_in_executor(None, upgraded, m)
                assert seen == 1, seen
        asyncio.run(run())
        wait_until(lambda: upgraded(m) == 0, timeout=5, what="the tunnel counted as closed")


def test_a_refused_upgrade_is_answered_as_the_instance_answered(tmp_path):
    ports = free_ports(2)
    with Meshd(tmp_path, mesh(*ports)) as m:
        wait_up(m)
        host, port = m.gateway.replace("http://", "").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(b"GET /web/ws HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                      b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                piece = s.recv(4096)
                assert piece, head
                head += piece
            status = head.split(b"\r\n", 1)[0]
            assert not status.startswith(b"HTTP/1.1 101"), head
            assert b"x-mesh-instance: web-0" in head.lower(), head
        assert upgraded(m) is None or upgraded(m) == 0


def test_an_idle_tunnel_is_closed(tmp_path):
    ports = free_ports(2)
    with Meshd(tmp_path, mesh(*ports, idle="1s")) as m:
        wait_up(m)

        async def run():
            async with websockets.connect(ws_url(m, "/echo/ws"), ping_interval=None) as ws:
                await ws.send("hi")
                assert await ws.recv() == "hi"
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), timeout=10)
        asyncio.run(run())
        assert upgraded(m) == 0


def test_stopping_the_instance_ends_the_tunnel(tmp_path):
    ports = free_ports(2)
    with Meshd(tmp_path, mesh(*ports)) as m:
        wait_up(m)

        async def run():
            async with websockets.connect(ws_url(m, "/echo/ws"), ping_interval=None) as ws:
                await ws.send("hi")
                assert await ws.recv() == "hi"
                status, _, body = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: m.api("POST", "/api/v1/services/echo/stop"))
                assert status == 202, body
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), timeout=10)
        asyncio.run(run())
        wait_until(lambda: m.service("echo")["state"] == "stopped", timeout=10, what="echo stopped")
