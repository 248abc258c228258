"""The flood scenario's tools: reference readers and copiers for a child that
writes to stdout as fast as it can, and a run of meshd (pinned to CPU 0)
logging such a child, measured from /proc. Python 3 standard library only."""

import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

from benchlib import DEMO, Meshd, flood_bytes, free_ports, proc_io, proc_stat, schedstat, thread_cpu

# A minimal pipe reader as the reference for "what reading a pipe costs": forks
# the producer (argv after --) with stdout on a pipe of 1 MiB (as meshd asks
# for), reads 64 KiB at a time for argv[1] seconds, prints bytes read. With a
# file name as argv[2] (not "-") it also appends what it reads to that file and
# rotates it as meshd does with logs {max_size: 256MB, keep: 1}: a plain
# pipe-to-file copier, meshd's job minus its bookkeeping.
READER = r"""
import os, signal, sys, time
secs = float(sys.argv[1]); out = sys.argv[2]; argv = sys.argv[4:]
opened = lambda: os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
fd = -1 if out == "-" else opened()
size = 0
r, w = os.pipe()
try:
    import fcntl; fcntl.fcntl(r, 1031, 1 << 20)  # F_SETPIPE_SZ
except OSError:
    pass
pid = os.fork()
if pid == 0:
    import ctypes  # the producer dies with this reader, whatever happens to it
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    os.dup2(w, 1); os.close(r); os.close(w)
    os.execvp(argv[0], argv)
os.close(w)
n = 0; t0 = time.monotonic()
while time.monotonic() - t0 < secs:
    b = os.read(r, 65536)
    if not b: break
    n += len(b)
    if fd >= 0:
        if size + len(b) > 256000000 and size > 0:
            os.close(fd); os.rename(out, out + ".1"); fd = opened(); size = 0
        os.write(fd, b); size += len(b)
dt = time.monotonic() - t0
cpu = os.times(); cpu = cpu.user + cpu.system
os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)
print(n, dt, cpu)
"""

# A producer writing 64 KiB blocks of 64-byte lines: shows what meshd can take
# in when the child is not the bottleneck (the demo service writes 4 KiB blocks).
BIG_WRITER = ("import os; b = b''.join(b'big flood line %09d the quick brown fox jumps over the dog\\n' % i "
              "for i in range(1024)); w = os.write\nwhile True: w(1, b)")


def flood_ref_devnull_or_file(secs, target):
    """The demo child's raw rate with stdout on /dev/null or a file, child on CPU 1."""
    port = free_ports(1)[0]
    out = open(target, "wb")
    err_path = pathlib.Path(str(target) + ".err") if target != os.devnull else None
    err = open(err_path, "wb") if err_path else subprocess.PIPE
    t0 = time.monotonic()
    p = subprocess.Popen(["taskset", "-c", "1", DEMO, "--port", str(port), "--name", "ref", "--quiet",
                          "--flood-stdout"], stdout=out, stderr=err, stdin=subprocess.DEVNULL)
    try:
        time.sleep(secs)
        p.send_signal(signal.SIGTERM)
        _, errtext = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        out.close()
    dt = time.monotonic() - t0
    if err_path:
        err.close()
        errtext = err_path.read_bytes()
    m = re.search(rb"ref flood wrote (\d+) lines", errtext or b"")
    if not m:
        raise RuntimeError(f"the demo service did not report its line count: {errtext[-300:]!r}")
    lines = int(m.group(1))
    return flood_bytes("ref", lines) / dt


def flood_ref_pipe(secs, producer, out="-"):
    """(bytes/s, share of a CPU used) of a minimal reader on CPU 0 taking the
    producer's output (on CPU 1), and appending it to `out` unless it is "-"."""
    p = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", READER, str(secs), str(out), "--"] + producer,
                       capture_output=True, timeout=secs + 30)
    if p.returncode != 0:
        raise RuntimeError(f"reference reader failed: {p.stderr[-500:]!r}")
    n, dt, cpu = p.stdout.split()
    return int(n) / float(dt), float(cpu) / float(dt)


def thread_state(pid, tid):
    """A word for what a thread is doing now: "running", "pipe" (in a pipe
    read or write), "epoll" (idle in the event loop) or its raw wchan."""
    with open(f"/proc/{pid}/task/{tid}/wchan") as f:
        w = f.read().strip()
    st, _ = proc_stat(f"/proc/{pid}/task/{tid}/stat")
    if st == "R" or w in ("", "0"):
        return "running"
    if "pipe" in w:
        return "pipe"
    if "epoll" in w or "ep_poll" in w:
        return "epoll"
    return w


def flood_meshd(secs, producer_cmd, instance):
    """meshd pinned to CPU 0 supervising one flooding child on CPU 1; measures
    meshd's read/write rate (/proc/pid/io), its CPU, what its busiest thread
    (the log pump) waits on, and how often the child's writer is blocked in a
    pipe write."""
    service = instance.rsplit("-", 1)[0]
    config = {"version": 1, "mesh": {"listen": "127.0.0.1:0"}, "services": {service: {
        "command": producer_cmd, "port": free_ports(1)[0], "health": {"type": "none"},
        "logs": {"max_size": "256MB", "keep": 1}}}}
    with Meshd(config, cpu=0, label="flood") as m:
        deadline = time.monotonic() + 15
        child = None
        while child is None and time.monotonic() < deadline:
            for svc in m.get("/api/v1/services")["services"]:
                for i in svc["instances"]:
                    if i["id"] == instance and i["state"] == "running" and i["pid"]:
                        child = i["pid"]
            time.sleep(0.05)
        if child is None:
            raise RuntimeError("the flooding child did not start")
        time.sleep(1.0)  # warm-up
        busiest = lambda pid: max(thread_cpu(pid).items(), key=lambda kv: kv[1][1])[0]
        writer, pump = busiest(child), busiest(m.pid)
        t0 = time.monotonic()
        io0, (_, cpu0), ss0 = proc_io(m.pid), proc_stat(m.pid), schedstat(m.pid, pump)
        loop_before = schedstat(m.pid, m.pid)  # the main thread runs the event loop
        _, ccpu0 = proc_stat(child)
        child_states, pump_states = {}, {}
        samples = 0
        while time.monotonic() - t0 < secs and samples < 10000:
            try:
                c, p = thread_state(child, writer), thread_state(m.pid, pump)
            except OSError:
                break
            child_states[c] = child_states.get(c, 0) + 1
            pump_states[p] = pump_states.get(p, 0) + 1
            samples += 1
            time.sleep(0.02)
        dt = time.monotonic() - t0
        io1, (_, cpu1), ss1 = proc_io(m.pid), proc_stat(m.pid), schedstat(m.pid, pump)
        loop0, loop1 = loop_before, schedstat(m.pid, m.pid)
        _, ccpu1 = proc_stat(child)
        logs = m.get(f"/api/v1/services/{service}/logs")
        marker = "dropped" in json.dumps(logs) or "dropped" in m.output()
    share = lambda states: {k: round(v / max(1, samples), 2) for k, v in
                            sorted(states.items(), key=lambda kv: -kv[1])}
    return {
        "read_rate": (io1["rchar"] - io0["rchar"]) / dt,
        "write_rate": (io1["wchar"] - io0["wchar"]) / dt,
        "cpu": (cpu1 - cpu0) / dt,
        "pump_on_cpu": (ss1[0] - ss0[0]) / 1e9 / dt,
        "pump_waiting_for_cpu": (ss1[1] - ss0[1]) / 1e9 / dt,
        "loop_on_cpu": (loop1[0] - loop0[0]) / 1e9 / dt,
        "loop_wakeups_per_s": (loop1[2] - loop0[2]) / dt,
        "pump_states": share(pump_states),
        "child_cpu": (ccpu1 - ccpu0) / dt,
        "blocked_share": child_states.get("pipe", 0) / max(1, samples),
        "child_states": share(child_states),
        "drop_marker": marker,
    }
