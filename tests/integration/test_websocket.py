"""GET /ws (SPEC section 8, docs/websocket.md): snapshots then deltas,
replay with since, logs, errors, limits, slow clients and the token."""

import time

import pytest

from meshd_harness import Meshd, demo, free_ports, wait_until
from ws_client import OP_BINARY, OP_CONT, OP_PING, OP_PONG, OP_TEXT, Closed, HandshakeRefused, WsClient

ALL = ["services", "health", "breakers", "events", "metrics", "logs:web"]


def config(ports, **mesh):
    cfg = {"services": {
        "web": {"command": demo("--log-every", "100ms"), "port": ports[0],
                "health": {"type": "http", "interval": "200ms"}},
        "worker": {"command": demo(), "port": ports[1], "health": {"type": "http", "interval": "200ms"},
                   "shutdown": {"timeout": "2s"},
                   # A restart is rolling; proven fast here.
                   "rollout": {"min_healthy": "300ms"}},
    }}
    if mesh:
        cfg["mesh"] = mesh
    return cfg


def running(m):
    m.wait_state("web", "running")
    m.wait_state("worker", "running")
    wait_until(lambda: m.service("web")["health"] == "passing", what="web passing")


def subscribe(ws, topics, **extra):
    ws.send_json({"op": "subscribe", "topics": topics, **extra})
    return [ws.recv_json() for _ in topics]


@pytest.fixture
def mesh(tmp_path):
    with Meshd(tmp_path, config(free_ports(2))) as m:
        running(m)
        yield m


def test_subscribe_gets_one_snapshot_per_topic_then_deltas(mesh):
    with WsClient(mesh.base) as ws:
        snaps = subscribe(ws, ALL)
        assert [s["type"] for s in snaps] == ["snapshot"] * len(ALL)
        assert [s["topic"] for s in snaps] == ALL
        by_topic = {s["topic"]: s for s in snaps}
        rest = mesh.get("/api/v1/services")["services"]
        assert [s["name"] for s in by_topic["services"]["data"]["services"]] == [s["name"] for s in rest]
        assert by_topic["services"]["data"]["services"][0]["instances"][0]["id"] == "web-0"
        assert by_topic["health"]["data"]["status"] == mesh.get("/api/v1/health")["status"]
        assert by_topic["breakers"]["data"]["breakers"] == [] or isinstance(by_topic["breakers"]["data"]["breakers"], list)
        assert isinstance(by_topic["events"]["data"]["last_seq"], int)
        assert by_topic["events"]["seq"] >= by_topic["events"]["data"]["last_seq"]
        assert isinstance(by_topic["logs:web"]["data"]["lines"], list)
        assert isinstance(by_topic["metrics"]["data"], dict)

        started = time.monotonic()
        status, _, body = mesh.api("POST", "/api/v1/services/worker/stop")
        assert status == 202, body
        stopped, skipped = ws.wait_for(lambda m: m["type"] == "services" and m["key"] == "worker"
                                       and m["data"]["state"] == "stopped", timeout=5, what="worker stopped")
        assert time.monotonic() - started < 1.0, "the delta arrived late"
        assert stopped["data"]["name"] == "worker" and stopped["data"]["instances"][0]["state"] == "stopped"
        assert isinstance(stopped["seq"], int)
        # Events are sent as they happen, before the services delta they cause.
        events = [m for m in skipped if m["type"] == "events"]
        assert events, skipped
        assert stopped["seq"] >= events[-1]["seq"]
        seqs = [e["seq"] for e in events]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert all(e["key"] == str(e["seq"]) and e["data"]["seq"] == e["seq"] for e in events)
        assert any(e["data"]["service"] == "worker" for e in events)
        assert mesh.service("worker")["state"] == "stopped"


def test_events_arrive_in_order_and_since_replays_what_was_missed(mesh):
    with WsClient(mesh.base) as ws:
        snap = subscribe(ws, ["events"])[0]
        last = snap["data"]["last_seq"]
    # Offline: things happen.
    assert mesh.api("POST", "/api/v1/services/worker/restart")[0] == 202
    wait_until(lambda: (mesh.service("worker")["rollout"] or {}).get("state") == "succeeded",
               what="the worker's rolling restart done")
    wait_until(lambda: any(e["type"] == "instance.state" and e["data"].get("to") == "running"
                   for e in mesh.events(since=last)), what="worker back")
    missed = mesh.events(since=last)
    assert missed, "the restart made events"
    with WsClient(mesh.base) as ws:
        ws.send_json({"op": "subscribe", "topics": ["services", "events"], "since": last})
        assert ws.recv_json()["type"] == "snapshot"
        assert ws.recv_json()["type"] == "snapshot"
        replayed = []
        while len(replayed) < len(missed):
            m = ws.recv_json()
            if m["type"] == "events":
                replayed.append(m)
        assert [m["seq"] for m in replayed] == [e["seq"] for e in missed]
        assert [m["data"]["type"] for m in replayed] == [e["type"] for e in missed]
        # Live events follow with higher seqs.
        assert mesh.api("POST", "/api/v1/services/worker/stop")[0] == 202
        live, _ = ws.wait_for(lambda m: m["type"] == "events", timeout=5, what="a live event")
        assert live["seq"] > missed[-1]["seq"]


def test_logs_topic_streams_new_lines(mesh):
    with WsClient(mesh.base) as ws:
        snap = subscribe(ws, ["logs:web"])[0]
        assert snap["data"]["service"] == "web"
        newest = max([line["seq"] for line in snap["data"]["lines"]], default=0)
        got = []
        deadline = time.monotonic() + 5
        while len(got) < 5 and time.monotonic() < deadline:
            m = ws.recv_json(timeout=5)
            assert m["type"] == "logs:web"
            got.append(m)
        assert len(got) == 5
        seqs = [m["data"]["seq"] for m in got]
        assert seqs == sorted(seqs) and seqs[0] > newest
        assert all(m["key"] == f"{m['data']['instance']}:{m['data']['seq']}" for m in got)
        assert all(m["data"]["instance"] == "web-0" and m["data"]["line"] for m in got)


def test_bad_messages_get_error_frames_and_change_nothing(mesh):
    with WsClient(mesh.base) as ws:
        cases = [
            ("{not json", "invalid_argument"),
            ('{"op":"dance"}', "invalid_argument"),
            ('{"op":"subscribe","topics":["weather"]}', "invalid_argument"),
            ('{"op":"subscribe","topics":["services","logs:nope"]}', "not_found"),
            ('{"op":"subscribe","topics":["events"],"since":"yesterday"}', "invalid_argument"),
        ]
        for text, code in cases:
            ws.send_text(text)
            m = ws.recv_json()
            assert m["type"] == "error" and m["error"]["code"] == code, (text, m)
            assert m["error"]["message"]
        ws.send_frame(OP_BINARY, b"\x00\x01")
        assert ws.recv_json()["error"]["code"] == "invalid_argument"
        # Nothing was subscribed: a state change sends nothing.
        assert mesh.api("POST", "/api/v1/services/worker/stop")[0] == 202
        ws.send_json({"op": "ping"})
        assert ws.recv_json(timeout=5) == {"type": "pong"}
        # Protocol-level ping gets a pong with the same payload.
        ws.send_frame(OP_PING, b"hello")
        opcode, _, payload = ws.recv_frame(timeout=5)
        assert (opcode, payload) == (OP_PONG, b"hello")
        # And the connection still subscribes normally.
        snap = subscribe(ws, ["services"])[0]
        assert snap["type"] == "snapshot"


def test_oversized_frame_closes_the_connection_and_others_keep_working(mesh):
    with WsClient(mesh.base) as other, WsClient(mesh.base) as big:
        subscribe(other, ["health"])
        big.send_text('{"op":"ping","pad":"' + "x" * (1024 * 1024) + '"}')
        with pytest.raises(Closed) as closed:
            while True:
                big.recv(timeout=10)
        assert closed.value.code == 1009
        other.send_json({"op": "ping"})
        assert other.wait_for(lambda m: m["type"] == "pong", timeout=5)[0] == {"type": "pong"}
        assert mesh.get("/api/v1/health")["status"]
    # Just under the limit is fine; over it in fragments is not.
    with WsClient(mesh.base) as ws:
        ws.send_text('{"op":"ping","pad":"' + "x" * (60 * 1024) + '"}')
        assert ws.recv_json() == {"type": "pong"}
        for i in range(3):
            ws.send_frame(OP_TEXT if i == 0 else OP_CONT, b"x" * (30 * 1024), fin=(i == 2))
        with pytest.raises(Closed) as closed:
            ws.recv(timeout=10)
        assert closed.value.code == 1009


def test_a_client_that_never_reads_is_dropped_and_others_do_not_wait(tmp_path):
    ports = free_ports(3)
    cfg = config(ports)
    cfg["services"]["chatty"] = {"command": demo("--log-every", "5ms"), "port": ports[2]}
    with Meshd(tmp_path, cfg) as m:
        running(m)
        # A tiny receive window: the kernel buffers little, so meshd's queue
        # for this client is what fills up.
        stuck = WsClient(m.base, rcvbuf=4096)
        stuck.send_json({"op": "subscribe", "topics": ["services", "events", "logs:chatty", "logs:web"]})
        with WsClient(m.base) as fast:
            subscribe(fast, ["events"])
            delays, dropped = [], None
            deadline = time.monotonic() + 60
            restarts = 0
            while dropped is None and time.monotonic() < deadline and restarts < 60:
                sent = time.monotonic()
                assert m.api("POST", "/api/v1/services/worker/restart")[0] in (202, 409)
                restarts += 1
                msg, skipped = fast.wait_for(
                    lambda e: e["type"] == "events" and e["data"]["service"] == "worker"
                    or e["data"].get("type") == "websocket.dropped", timeout=5, what="the restart's event")
                delays.append(time.monotonic() - sent)
                for e in [*skipped, msg]:
                    if e["type"] == "events" and e["data"]["type"] == "websocket.dropped":
                        dropped = e
                if dropped is None:
                    # Wait for the worker to come back before the next restart.
                    back, _ = fast.wait_for(
                        lambda e: e["type"] == "events" and e["data"]["type"] == "websocket.dropped"
                        or (e["data"].get("instance") == "worker-0" and e["data"]["data"].get("to") == "running"),
                        timeout=10, what="worker running")
                    if back["data"]["type"] == "websocket.dropped":
                        dropped = back
                    time.sleep(0.2)
            assert dropped is not None, f"never dropped after {restarts} restarts:\n{m.output()[-2000:]}"
            assert "1008" in dropped["data"]["message"]
            assert max(delays) < 1.0, f"the reading client waited: {delays}"
            # The stuck client finally reads: what was in flight, then 1008.
            with pytest.raises(Closed) as closed:
                for _ in range(100000):
                    stuck.recv(timeout=10)
            assert closed.value.code == 1008, closed.value
            assert "slow" in closed.value.reason
            stuck.sock.close()
            fast.send_json({"op": "ping"})
            assert fast.wait_for(lambda e: e["type"] == "pong", timeout=5)


def test_token_rules(tmp_path):
    with Meshd(tmp_path, config(free_ports(2), api_token="s3cret", auth_reads=True)) as m:
        with pytest.raises(HandshakeRefused) as refused:
            WsClient(m.base)
        assert refused.value.status == 401
        assert refused.value.body["error"]["code"] == "unauthorized"
        with pytest.raises(HandshakeRefused) as refused:
            WsClient(m.base, path="/ws?token=wrong")
        assert refused.value.status == 401
        with WsClient(m.base, path="/ws?token=s3cret") as ws:
            assert subscribe(ws, ["health"])[0]["type"] == "snapshot"
        with WsClient(m.base, headers={"Authorization": "Bearer s3cret"}) as ws:
            assert subscribe(ws, ["health"])[0]["type"] == "snapshot"


def test_without_auth_reads_the_stream_is_open_and_foreign_origins_are_refused(tmp_path):
    with Meshd(tmp_path, config(free_ports(2), api_token="s3cret")) as m:
        with WsClient(m.base) as ws:
            assert subscribe(ws, ["health"])[0]["type"] == "snapshot"
        host = m.base.replace("http://", "")
        with WsClient(m.base, headers={"Origin": f"http://{host}"}) as ws:
            assert subscribe(ws, ["health"])[0]["type"] == "snapshot"
        with pytest.raises(HandshakeRefused) as refused:
            WsClient(m.base, headers={"Origin": "http://evil.example"})
        assert refused.value.status == 403
        status, headers, body = m.api("GET", "/ws")
        assert status == 426 and body["error"]["code"] == "upgrade_required"


def test_meshd_shuts_down_cleanly_with_clients_connected(tmp_path):
    m = Meshd(tmp_path, config(free_ports(2)))
    with m:
        running(m)
        clients = [WsClient(m.base) for _ in range(3)]
        for ws in clients:
            subscribe(ws, ["services", "events", "logs:web"])
        assert m.stop() == 0
        for ws in clients:
            with pytest.raises((Closed, OSError)):
                for _ in range(10000):
                    ws.recv(timeout=5)
            ws.sock.close()
