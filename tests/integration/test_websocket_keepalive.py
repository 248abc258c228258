"""GET /ws keep-alive (docs/websocket.md, "Limits and keep-alive"): meshd
pings a client it has not heard from for half the idle timeout and drops it
when the whole timeout passes in silence; a client that answers the pings
stays and keeps getting deltas. --ws-idle-timeout shortens the 60 s timeout
so that this takes seconds."""

import select
import time

from meshd_harness import Meshd, wait_until
from ws_client import OP_CLOSE, OP_PING, Closed, WsClient

IDLE_MS = 2000


def websocket_clients(m):
    status, _, text = m.api("GET", "/metrics")
    assert status == 200
    for line in text.splitlines():
        if line.startswith("meshd_websocket_clients "):
            return int(float(line.split()[1]))
    raise AssertionError("no meshd_websocket_clients in /metrics")


def frames_now(ws):
    """The opcodes of the frames that have arrived, without waiting; Closed at end of stream."""
    while select.select([ws.sock], [], [], 0)[0]:
        chunk = ws.sock.recv(65536)
        if not chunk:
            raise Closed(None, "connection closed")
        ws.buf += chunk
    out = []
    while (frame := ws._parse_frame()) is not None:
        out.append(frame[0])
    return out


def test_a_client_that_never_answers_pings_is_dropped_and_others_stay(tmp_path):
    cfg = {"services": {"pg": {"address": [], "health": {"type": "tcp"}}}}
    with Meshd(tmp_path, cfg, args=["--ws-idle-timeout", f"{IDLE_MS}ms"]) as m:
        good = WsClient(m.base)
        mute = WsClient(m.base)  # reads what it gets, never sends anything back (no pong)
        try:
            for ws in (good, mute):
                ws.send_json({"op": "subscribe", "topics": ["services"]})
            assert good.recv_json()["type"] == "snapshot"
            wait_until(lambda: websocket_clients(m) == 2, what="2 clients")
            connected = time.monotonic()
            pinged = closed = None
            deadline = connected + 4 * IDLE_MS / 1000 + 5
            while closed is None and time.monotonic() < deadline:
                # The good client answers pings inside recv(); it has nothing
                # else to read, so it mostly times out.
                try:
                    good.recv(timeout=0.05)
                except TimeoutError:
                    pass
                try:
                    for opcode in frames_now(mute):
                        if opcode == OP_PING and pinged is None:
                            pinged = time.monotonic()
                        elif opcode == OP_CLOSE:
                            closed = time.monotonic()
                except (Closed, ConnectionResetError):
                    closed = time.monotonic()
            assert pinged is not None, "meshd never pinged the silent client"
            assert closed is not None, f"the silent client was still connected {deadline - connected:.0f} s later"
            # Pinged after about half the idle timeout, dropped after about
            # the whole of it (Beast checks every half timeout, so up to 1.5x).
            assert pinged - connected >= IDLE_MS / 1000 / 2 - 0.3
            assert closed - connected >= IDLE_MS / 1000 - 0.3
            assert closed - pinged >= IDLE_MS / 1000 / 2 - 0.3
            wait_until(lambda: websocket_clients(m) == 1, timeout=5, what="only the good client left")

            # The good client has been through several idle periods by now and
            # still gets deltas.
            body = {"service": "pg", "id": "pg-1", "address": "127.0.0.1", "port": 5999}
            assert m.api("POST", "/api/v1/registry", body)[0] == 201
            msg, _ = good.wait_for(lambda x: x.get("type") == "services" and x.get("key") == "pg", timeout=10,
                                   what="the pg delta")
            assert [i["id"] for i in msg["data"]["instances"]] == ["pg-1"]
            assert websocket_clients(m) == 1
        finally:
            good.close()
            mute.sock.close()
