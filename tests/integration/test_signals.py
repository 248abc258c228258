"""Signals beyond test_shutdown.py's (docs/operations.md, "Graceful
shutdown"): SIGUSR1 reopens the access log, as an external logrotate
expects (rename the file, then signal meshd); a SIGTERM while a health
probe waits on its instance exits cleanly. Against the real binary, with
curl through the gateway; scripts/test.sh runs this file against the
sanitizer build too, where the harness fails a test whose meshd printed a
sanitizer report."""

import json
import os
import signal
import socket
import subprocess

from meshd_harness import Meshd, free_ports, wait_until


def curl_status(url):
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", url],
                         capture_output=True, text=True, timeout=20, check=True).stdout
    return int(out)


def records(path):
    """The access log's records; every line must be whole JSON."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def wait_records(path, n):
    return wait_until(lambda: len(records(path)) >= n and records(path), timeout=10,
                      what=f"{n} records in {path}")


def test_sigusr1_reopens_the_access_log_after_logrotate_renamed_it(tmp_path):
    log_path = tmp_path / "logs" / "access.log"
    rotated = tmp_path / "logs" / "access.log.1"
    config = {"mesh": {"gateway": "127.0.0.1:0", "access_log": {"path": str(log_path)}},
              "services": {}}
    with Meshd(tmp_path, config) as m:
        gw = m.gateway
        # The gateway's own answers are logged too: no service is needed.
        for i in range(3):
            assert curl_status(f"{gw}/nosuch/before-{i}") == 404
        wait_records(log_path, 3)
        os.rename(log_path, rotated)
        assert curl_status(f"{gw}/nosuch/renamed") == 404
        # Until the signal, meshd writes on to the file it has open.
        assert [r["path"] for r in wait_records(rotated, 4)][-1] == "/nosuch/renamed"
        assert not log_path.exists()

        os.kill(m.proc.pid, signal.SIGUSR1)
        wait_until(lambda: "access log " + str(log_path) + ": reopened" in m.output(), timeout=10,
                   what="meshd to log the reopen")
        assert "SIGUSR1: reopening the access log" in m.output()
        assert log_path.exists()
        for i in range(2):
            assert curl_status(f"{gw}/nosuch/after-{i}") == 404
        assert [r["path"] for r in wait_records(log_path, 2)] == ["/nosuch/after-0", "/nosuch/after-1"]
        assert len(records(rotated)) == 4
        assert m.proc.poll() is None  # SIGUSR1's default action would have killed it
        assert m.get("/api/v1/services") is not None
        assert m.stop() == 0


def test_sigusr1_without_an_access_log_changes_nothing(tmp_path):
    config = {"mesh": {"gateway": "127.0.0.1:0"}, "services": {}}
    with Meshd(tmp_path, config) as m:
        os.kill(m.proc.pid, signal.SIGUSR1)
        wait_until(lambda: "SIGUSR1: no access log to reopen" in m.output(), timeout=10,
                   what="meshd to log the SIGUSR1")
        assert m.proc.poll() is None
        assert curl_status(f"{m.gateway}/nosuch/x") == 404
        assert m.stop() == 0


def test_sigterm_with_a_health_probe_in_flight_exits_cleanly(tmp_path):
    # An instance that accepts the probe's connection (the kernel's backlog)
    # and never answers: the probe's read is pending when the loop stops,
    # and its handler, which owns the probe, is destroyed in meshd's
    # teardown. It once outlived the scheduler that the probe's deadline
    # timer cancels on: a heap-use-after-free under ASan.
    port = free_ports(1)[0]
    listener = socket.socket()
    listener.bind(("127.0.0.1", port))
    listener.listen(16)
    listener.settimeout(15)
    conn = None
    try:
        cfg = {"services": {"stuck": {"address": f"127.0.0.1:{port}", "health": {
            "type": "http", "path": "/health", "interval": "200ms", "timeout": "30s"}}}}
        m = Meshd(tmp_path, cfg)
        with m:
            conn, _ = listener.accept()  # the probe is connected and waits for an answer
            assert m.service("stuck")["instances"][0]["health"] != "passing"
            assert m.stop() == 0  # the harness also fails on a sanitizer report
        assert "all services stopped; exiting" in m.output()
    finally:
        if conn:
            conn.close()
        listener.close()
