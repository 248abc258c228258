#!/usr/bin/env python3
"""WebSocket stream benchmark (docs/websocket.md, SPEC section 8).

fanout: N clients (default 1,000) subscribed to `services`; a service is
  stopped or started over REST and the time until each client has the delta
  for it is measured (from just before the POST to the moment this script
  read it, so the script's own reading of N sockets is included).
stalled: readers subscribed to `services` and `events` while about 1,000
  events/s flow (registrations and deregistrations); then one client that
  never reads joins. Reports meshd's RSS over the run and the readers'
  event delay (event time_ms in meshd to arrival here) before and during.

Standard library only; runs the real build/meshd (MESHD_BIN) on 127.0.0.1.
  scripts/bench/ws_bench.py [--clients 1000] [--rounds 20] [--seconds 60] [--rate 1000]
"""

import argparse
import http.client
import json
import pathlib
import selectors
import sys
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "tests" / "integration"))

from benchlib import Meshd, demo, free_ports, log, proc_stat, proc_status  # noqa: E402
from benchlib import percentile as _percentile  # noqa: E402
from ws_client import OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, WsClient  # noqa: E402


def percentile(values, p):
    return _percentile(values, p) if values else float("nan")


class Fleet:
    """Many WsClients read with one selector: handshakes done blocking, then
    every socket non-blocking; on_message(client_index, payload bytes) for
    each text message (parsing JSON for a thousand clients would measure
    Python rather than meshd)."""

    def __init__(self, base, n, topics, rcvbuf=None):
        self.clients = []
        for i in range(n):
            c = WsClient(base, timeout=30, rcvbuf=rcvbuf)
            c.send_json({"op": "subscribe", "topics": topics})
            for _ in topics:
                c.recv_json(timeout=30)
            c.sock.setblocking(False)
            self.clients.append(c)
            if (i + 1) % 250 == 0:
                log(f"  {i + 1} clients connected")
        self.sel = selectors.DefaultSelector()
        for i, c in enumerate(self.clients):
            self.sel.register(c.sock, selectors.EVENT_READ, i)
        self.closed = {}

    def poll(self, on_message, timeout=0.05):
        for key, _ in self.sel.select(timeout):
            i = key.data
            c = self.clients[i]
            try:
                chunk = c.sock.recv(1 << 20)
            except BlockingIOError:
                continue
            if not chunk:
                self.sel.unregister(c.sock)
                self.closed[i] = None
                continue
            c.buf += chunk
            while True:
                frame = c._parse_frame()
                if not frame:
                    break
                opcode, _, payload = frame
                if opcode == OP_TEXT:
                    on_message(i, payload)
                elif opcode == OP_PING:
                    c.sock.setblocking(True)
                    c.send_frame(OP_PONG, payload)
                    c.sock.setblocking(False)
                elif opcode == OP_CLOSE:
                    self.closed[i] = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None

    def close(self):
        for c in self.clients:
            try:
                c.sock.close()
            except OSError:
                pass


def post(base, path, body=None, method="POST"):
    host, port = base.replace("http://", "").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json"})
    res = conn.getresponse()
    data = res.read()
    conn.close()
    return res.status, data


def fanout(args):
    ports = free_ports(3)
    services = {f"svc{i}": {"command": demo(), "port": ports[i], "health": {"type": "http", "interval": "1s"}}
                for i in range(3)}
    with Meshd({"version": 1, "services": services}, label="ws-fanout") as m:
        time.sleep(2)
        log(f"fanout: connecting {args.clients} clients")
        fleet = Fleet(m.base, args.clients, ["services"])
        rss_connected = proc_status(m.pid)["VmRSS"]
        latencies = []
        state = {f"svc{i}": "running" for i in range(3)}
        for r in range(args.rounds):
            name = f"svc{r % 3}"
            action = "stop" if state[name] == "running" else "start"
            want = "stopped" if action == "stop" else "running"
            first = {}
            done = set()

            key = b'"key":"%s"' % name.encode()
            wanted = b'"state":"%s"' % want.encode()

            def on_message(i, payload, key=key, wanted=wanted):
                # nlohmann sorts keys: {"data":{...},"key":...,"seq":...,"type":...}
                if payload.endswith(b'"type":"services"}') and key in payload[-100:]:
                    first.setdefault(i, time.monotonic())
                    # Keys are sorted: the service's own "state" comes after its instances'.
                    if payload.rfind(b'"state":') == payload.rfind(wanted):
                        done.add(i)

            t0 = time.monotonic()
            status, body = post(m.base, f"/api/v1/services/{name}/{action}")
            assert status == 202, body
            deadline = time.monotonic() + 20
            while len(done) < args.clients and time.monotonic() < deadline:
                fleet.poll(on_message)
            state[name] = want
            round_lat = sorted((t - t0) * 1000 for t in first.values())
            latencies += round_lat
            log(f"  round {r + 1}: {action} {name}: {len(first)}/{args.clients} got a delta, "
                f"p50 {percentile(round_lat, 50):.1f} ms, p99 {percentile(round_lat, 99):.1f} ms, "
                f"max {round_lat[-1]:.1f} ms; {len(done)} saw '{want}'")
            # Let health checks and the like settle before the next change.
            settle = time.monotonic() + 1.5
            while time.monotonic() < settle:
                fleet.poll(lambda i, msg: None)
        rss_end = proc_status(m.pid)["VmRSS"]
        fleet.close()
        return {"clients": args.clients, "rounds": args.rounds,
                "delta_ms_p50": round(percentile(latencies, 50), 1),
                "delta_ms_p99": round(percentile(latencies, 99), 1),
                "delta_ms_max": round(max(latencies), 1),
                "rss_kb_with_clients": rss_connected, "rss_kb_end": rss_end,
                "dropped": len(fleet.closed)}


def generate_events(base, rate, stop, counter):
    """Registers and deregisters instances of `pg` at `rate` events/s (each call is one event)."""
    host, port = base.replace("http://", "").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    interval = 1.0 / rate
    next_at = time.monotonic()
    i = 0
    while not stop.is_set():
        iid = f"gen-{(i // 2) % 50}"
        if i % 2 == 0:
            body = json.dumps({"service": "pg", "id": iid, "address": "127.0.0.1", "port": 7000 + i % 50,
                               "check": {"type": "ttl", "ttl": "1h"}})
            conn.request("POST", "/api/v1/registry", body=body, headers={"Content-Type": "application/json"})
        else:
            conn.request("DELETE", f"/api/v1/registry/pg/{iid}")
        conn.getresponse().read()
        counter[0] += 1
        i += 1
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif delay < -1:
            next_at = time.monotonic()  # cannot keep up: do not burst
    conn.close()


def stalled(args):
    cfg = {"version": 1, "services": {"pg": {"address": [], "health": {"type": "tcp"}}}}
    with Meshd(cfg, label="ws-stalled") as m:
        readers = Fleet(m.base, args.readers, ["services", "events"])
        delays = {"before": [], "during": []}
        phase = ["before"]
        drops = []

        def on_message(i, payload):
            if not payload.endswith(b'"type":"events"}'):
                return
            at = payload.find(b'"time_ms":') + 10
            end = at
            while payload[end:end + 1].isdigit():
                end += 1
            delays[phase[0]].append(time.time() * 1000 - int(payload[at:end]))
            if i == 0 and b'"type":"websocket.dropped"' in payload:
                drops.append(time.monotonic())

        stop, counter = threading.Event(), [0]
        gen = threading.Thread(target=generate_events, args=(m.base, args.rate, stop, counter), daemon=True)
        gen.start()
        t_start = time.monotonic()
        while time.monotonic() - t_start < args.warmup:
            readers.poll(on_message)
        rate_before = counter[0] / (time.monotonic() - t_start)
        rss = [proc_status(m.pid)["VmRSS"]]
        cpu0 = proc_stat(m.pid)[1]
        log(f"stalled: {rate_before:.0f} events/s flowing; RSS {rss[0]} kB; a client stops reading now")
        phase[0] = "during"
        stuck = [WsClient(m.base, rcvbuf=4096)]
        stuck[0].send_json({"op": "subscribe", "topics": ["services", "events"]})
        t_stall = time.monotonic()
        next_sample = t_stall + 1
        n0 = counter[0]
        while time.monotonic() - t_stall < args.seconds:
            readers.poll(on_message)
            if time.monotonic() >= next_sample:
                rss.append(proc_status(m.pid)["VmRSS"])
                next_sample += 1
                if args.restall and drops and len(stuck) <= len(drops):
                    # Worst case: a new non-reading client each time one is dropped.
                    stuck.append(WsClient(m.base, rcvbuf=4096))
                    stuck[-1].send_json({"op": "subscribe", "topics": ["services", "events"]})
        elapsed = time.monotonic() - t_stall
        cpu = proc_stat(m.pid)[1] - cpu0
        stop.set()
        gen.join(timeout=10)
        readers.close()
        for s in stuck:
            s.sock.close()
        return {"events_per_s": round((counter[0] - n0) / elapsed), "seconds": round(elapsed),
                "readers": args.readers, "readers_closed": readers.closed,
                "events_read": {k: len(v) for k, v in delays.items()},
                "rss_kb_before": rss[0], "rss_kb_max": max(rss), "rss_kb_end": rss[-1],
                "rss_growth_mb": round((max(rss) - rss[0]) / 1024, 2),
                "stalled_clients": len(stuck), "dropped_after_s": [round(d - t_stall, 1) for d in drops],
                "delay_ms_before_p50": round(percentile(delays["before"], 50), 1),
                "delay_ms_before_p99": round(percentile(delays["before"], 99), 1),
                "delay_ms_during_p50": round(percentile(delays["during"], 50), 1),
                "delay_ms_during_p99": round(percentile(delays["during"], 99), 1),
                "meshd_cpu_percent": round(100 * cpu / elapsed, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["fanout", "stalled"])
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--readers", type=int, default=2)
    ap.add_argument("--rate", type=int, default=1000, help="events per second in the stalled run")
    ap.add_argument("--warmup", type=float, default=10)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--restall", action="store_true", help="replace the stalled client each time it is dropped")
    args = ap.parse_args()
    out = {}
    if args.only in (None, "fanout"):
        out["fanout"] = fanout(args)
        log(json.dumps(out["fanout"]))
    if args.only in (None, "stalled"):
        out["stalled"] = stalled(args)
        log(json.dumps(out["stalled"]))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
