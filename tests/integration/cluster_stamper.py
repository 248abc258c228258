"""A singleton's stand-in for the cluster tests and the cluster benchmark:
a Python process that appends "start NODE TIME PID" when it starts and
"stop NODE TIME PID" when it is told to stop (SIGTERM/SIGINT) to a stamp
file, so that the runs of a `placement: singleton` service can be read
back as intervals (TIME is the wall clock, time.time())."""

import sys

STAMPER = r"""
import os, signal, sys, time
stamp, node = sys.argv[1], sys.argv[2]
def line(word):
    with open(stamp, "a") as f:
        f.write(f"{word} {node} {time.time():.6f} {os.getpid()}\n")
        f.flush()
        os.fsync(f.fileno())
def stop(*_):
    line("stop")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
line("start")
while True:
    time.sleep(0.05)
"""


def stamper_service(stamp, node, **extra):
    """The service block of a singleton that stamps `stamp` as `node`."""
    svc = {"command": [sys.executable, "-c", STAMPER, str(stamp), node], "placement": "singleton",
           "shutdown": {"timeout": "5s"}}
    svc.update(extra)
    return svc


def stamps(stamp):
    """[(word, node, time, pid)] in file order; [] before the first run."""
    try:
        text = stamp.read_text()
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        word, node, t, pid = line.split()
        out.append((word, node, float(t), int(pid)))
    return out


def starts(stamp):
    return [s for s in stamps(stamp) if s[0] == "start"]
