#!/usr/bin/env python3
"""WebSocket relay benchmark (issue 15): what the gateway adds to a message's
round trip at a steady message rate.

A Python `websockets` echo server (tests/integration/ws_echo.py) runs as a
meshd service; K client connections send small messages at a fixed total
rate (default 10,000 a second) for D seconds, each carrying its send time,
and measure the echo's round trip. The same client measures the echo server
directly and through the gateway, alternating, in one run, so the
difference is the gateway's (and the machine's noise is shared). Every loop
is bounded in count and time.

  MESHD_BIN=build/meshd /usr/bin/python3 scripts/bench/ws_relay_bench.py \
      [--rate 10000] [--seconds 10] [--connections 10] [--rounds 2] [--out FILE]

Needs python3-websockets (Debian); runs only on 127.0.0.1.
"""

import argparse
import asyncio
import json
import pathlib
import struct
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from benchlib import Meshd, free_ports, log, percentile, proc_stat  # noqa: E402

import websockets  # noqa: E402

ECHO = HERE.parents[1] / "tests" / "integration" / "ws_echo.py"


async def one_connection(url, rate, seconds, rtts, counts):
    """Sends at `rate` messages a second for `seconds`; records round trips (ms)."""
    async with websockets.connect(url, max_size=2**20, compression=None) as ws:
        total = int(rate * seconds)
        interval = 1.0 / rate
        received = 0

        async def reader():
            nonlocal received
            while received < total:
                msg = await ws.recv()
                sent = struct.unpack("!d", msg[:8])[0]
                rtts.append((time.perf_counter() - sent) * 1000.0)
                received += 1

        task = asyncio.create_task(reader())
        start = time.perf_counter()
        payload = b"x" * 56
        for i in range(total):
            due = start + i * interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await ws.send(struct.pack("!d", time.perf_counter()) + payload)
            counts["sent"] += 1
        try:
            await asyncio.wait_for(task, timeout=10)
        except asyncio.TimeoutError:
            task.cancel()
            counts["lost"] += total - received
        counts["elapsed"] = max(counts.get("elapsed", 0), time.perf_counter() - start)


async def measure(url, rate, seconds, connections):
    rtts = []
    counts = {"sent": 0, "lost": 0}
    await asyncio.gather(*(one_connection(url, rate / connections, seconds, rtts, counts)
                           for _ in range(connections)))
    if not rtts:
        raise SystemExit(f"no echo came back from {url}")
    return {
        "messages": len(rtts),
        "sent": counts["sent"],
        "lost": counts["lost"],
        "achieved_rate": round(len(rtts) / counts["elapsed"], 1),
        "p50_ms": round(percentile(rtts, 50), 3),
        "p99_ms": round(percentile(rtts, 99), 3),
        "p999_ms": round(percentile(rtts, 99.9), 3),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=10000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--connections", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out")
    args = ap.parse_args()

    echo_port, gw_port = free_ports(2)
    config = {
        "mesh": {"gateway": f"127.0.0.1:{gw_port}", "log_level": "warn"},
        "services": {"echo": {
            "command": ["/usr/bin/python3", str(ECHO)], "port": echo_port,
            "health": {"type": "http", "path": "/health", "interval": "1s"},
            "shutdown": {"timeout": "2s"}}},
    }
    results = []
    with Meshd(config, label="ws") as m:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            inst = m.get("/api/v1/discover/echo?passing=true")["instances"]
            if inst:
                break
            time.sleep(0.2)
        else:
            raise SystemExit("the echo service did not pass its check within 30 s")
        direct = f"ws://127.0.0.1:{echo_port}/"
        through = f"ws://127.0.0.1:{gw_port}/echo/"
        for r in range(args.rounds):
            for name, url in (("direct", direct), ("gateway", through)):
                before = proc_stat(m.pid)
                res = asyncio.run(measure(url, args.rate, args.seconds, args.connections))
                after = proc_stat(m.pid)
                res.update({"round": r + 1, "path": name,
                            "meshd_cpu_s": round(after[1] - before[1], 2)})
                log(json.dumps(res))
                results.append(res)
    print(f"{'round':>5} {'path':>8} {'msgs':>7} {'rate/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'p99.9 ms':>9} {'lost':>5} {'meshd cpu s':>11}")
    for res in results:
        print(f"{res['round']:>5} {res['path']:>8} {res['messages']:>7} {res['achieved_rate']:>8} "
              f"{res['p50_ms']:>8} {res['p99_ms']:>8} {res['p999_ms']:>9} {res['lost']:>5} "
              f"{res['meshd_cpu_s']:>11}")
    for r in range(args.rounds):
        d = next(x for x in results if x["round"] == r + 1 and x["path"] == "direct")
        g = next(x for x in results if x["round"] == r + 1 and x["path"] == "gateway")
        print(f"round {r + 1}: the gateway adds {g['p50_ms'] - d['p50_ms']:+.3f} ms at p50, "
              f"{g['p99_ms'] - d['p99_ms']:+.3f} ms at p99")
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
