"""gRPC through the gateway with Python grpcio: routing by authority,
per-call balancing over one channel, trailers and metadata relayed, the
gateway's own errors as grpc-status, grpc-timeout, and retries of the
methods declared idempotent when an instance dies mid-run."""

import collections
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from meshd_harness import Meshd, free_ports, wait_until

grpc = pytest.importorskip("grpc")

APP = str(Path(__file__).with_name("grpc_app.py"))
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def grpc_service(port, n=3, **extra):
    svc = {"command": [PYTHON, APP, "--port", "${PORT}", "--name", "${SERVICE}-${INSTANCE}"],
           "port": port, "replicas": n, "protocol": "http2",
           "health": {"type": "tcp", "interval": "200ms"}}
    svc.update(extra)
    return svc


def mesh(services):
    return {"mesh": {"gateway": "127.0.0.1:0"}, "services": services}


def wait_passing(m, name, n):
    wait_until(lambda: len(m.get(f"/api/v1/discover/{name}?passing=true")["instances"]) == n,
               timeout=30, what=f"{n} passing instances of {name}")


def channel(m, service):
    target = m.gateway.replace("http://", "")
    return grpc.insecure_channel(target, options=[("grpc.default_authority", service)])


def wait_grpc_ready(ch):
    grpc.channel_ready_future(ch).result(timeout=10)


def unary(ch, method="/test.Echo/Unary"):
    return ch.unary_unary(method)


def test_unary_and_streaming_calls_spread_over_instances(tmp_path):
    with Meshd(tmp_path, mesh({"echo": grpc_service(free_ports(1)[0])})) as m:
        wait_passing(m, "echo", 3)
        with channel(m, "echo") as ch:
            served = collections.Counter()
            for i in range(30):
                reply, call = unary(ch).with_call(f"ping {i}".encode(), timeout=10)
                assert reply == f"ping {i}".encode()
                initial = dict(call.initial_metadata())
                trailing = dict(call.trailing_metadata())
                assert initial["x-instance"] == trailing["x-served-by"] == initial["x-mesh-instance"]
                assert call.code() == grpc.StatusCode.OK
                served[trailing["x-served-by"]] += 1
            # One channel, one HTTP/2 connection, every call balanced on its own.
            assert served == {"echo-0": 10, "echo-1": 10, "echo-2": 10}, served
            replies = list(ch.unary_stream("/test.Echo/Stream")(b"50", timeout=10))
            assert len(replies) == 50
            who = replies[0].split(b":")[0]
            assert replies == [who + b":" + str(i).encode() for i in range(50)]
            # The instance's own status and message are relayed as they are.
            with pytest.raises(grpc.RpcError) as err:
                unary(ch, "/test.Echo/Fail")(b"", timeout=10)
            assert err.value.code() == grpc.StatusCode.NOT_FOUND
            assert err.value.details() == "no such thing"
        assert m.service("echo")["instances"][0]["requests"] > 0


def test_gateway_errors_are_grpc_statuses(tmp_path):
    dead_port, lone_port, slow_port, patient_port = free_ports(4)
    lone = subprocess.Popen([PYTHON, APP, "--port", str(lone_port), "--name", "lone"])
    try:
        services = {
            "slow": grpc_service(slow_port, 1, timeout="300ms", retry={"attempts": 1}),
            "patient": grpc_service(patient_port, 1, timeout="30s"),
            "dead": {"address": [f"127.0.0.1:{dead_port}"], "protocol": "http2",
                     "health": {"type": "none"}, "retry": {"attempts": 1},
                     "outlier_detection": {"consecutive_failures": 1000}},
            "lone": {"address": [f"127.0.0.1:{lone_port}"], "protocol": "http2",
                     "health": {"type": "tcp", "interval": "200ms"}},
        }
        with Meshd(tmp_path, mesh(services)) as m:
            wait_passing(m, "slow", 1)
            wait_passing(m, "lone", 1)
            wait_passing(m, "patient", 1)
            with channel(m, "nope") as ch:
                with pytest.raises(grpc.RpcError) as err:
                    unary(ch)(b"x", timeout=10)
                assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
                assert '"code":"not_found"' in err.value.details()
                assert "no service named 'nope'" in err.value.details()
            with channel(m, "dead") as ch:
                with pytest.raises(grpc.RpcError) as err:
                    unary(ch)(b"x", timeout=10)
                assert err.value.code() == grpc.StatusCode.UNAVAILABLE
                assert "upstream failed" in err.value.details()
            with channel(m, "slow") as ch:
                with pytest.raises(grpc.RpcError) as err:
                    unary(ch, "/test.Echo/Sleep")(b"3000", timeout=20)
                assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
                assert "upstream timed out" in err.value.details()  # the gateway's, not grpcio's
            with channel(m, "lone") as ch:
                assert unary(ch)(b"up", timeout=10) == b"up"
                lone.kill()  # every instance of the service gone
                lone.wait()
                with pytest.raises(grpc.RpcError) as err:
                    unary(ch)(b"x", timeout=10)
                assert err.value.code() == grpc.StatusCode.UNAVAILABLE
                assert '"error"' in err.value.details()
            # grpc-timeout is the call's deadline when shorter than the service's
            # timeout: sent by curl, which does not enforce it itself.
            frame = b"\x00" + (4).to_bytes(4, "big") + b"3000"
            body = tmp_path / "call.bin"
            body.write_bytes(frame)
            t0 = time.monotonic()
            r = subprocess.run(
                ["curl", "-sS", "-i", "--http2-prior-knowledge", "--max-time", "20",
                 "-H", "content-type: application/grpc", "-H", "te: trailers",
                 "-H", "grpc-timeout: 200m", "-H", "host: patient",
                 "--data-binary", f"@{body}", f"{m.gateway}/test.Echo/Sleep"],
                capture_output=True, text=True, timeout=30)
            assert r.returncode == 0, r.stderr
            assert r.stdout.startswith("HTTP/2 200"), r.stdout
            assert "grpc-status: 4" in r.stdout, r.stdout
            assert "grpc-message: " in r.stdout and "timed%20out" not in r.stdout
            assert time.monotonic() - t0 < 2.5  # not the 3 s the handler sleeps
    finally:
        lone.kill()
        lone.wait()


def test_idempotent_methods_are_retried_when_an_instance_dies(tmp_path):
    svc = grpc_service(free_ports(1)[0], retry={"attempts": 3, "backoff": "10ms",
                                                "grpc_methods": ["/test.Echo/*"]})
    with Meshd(tmp_path, mesh({"echo": svc})) as m:
        wait_passing(m, "echo", 3)
        with channel(m, "echo") as ch:
            call = unary(ch)
            errors, ok = [], [0]
            stop = threading.Event()

            def load():
                i = 0
                while not stop.is_set() and i < 5000:
                    i += 1
                    try:
                        assert call(b"x", timeout=10) == b"x"
                        ok[0] += 1
                    except grpc.RpcError as e:
                        errors.append((e.code(), e.details()))
            threads = [threading.Thread(target=load) for _ in range(4)]
            for t in threads:
                t.start()
            wait_until(lambda: ok[0] >= 200, timeout=30, what="calls flowing")
            victim = m.service("echo")["instances"][1]
            os.kill(victim["pid"], signal.SIGKILL)
            start = ok[0]
            wait_until(lambda: ok[0] >= start + 400, timeout=30, what="calls after the kill")
            stop.set()
            for t in threads:
                t.join(timeout=30)
        assert not errors, errors[:5]


def test_rate_limited_calls_are_resource_exhausted(tmp_path):
    svc = grpc_service(free_ports(1)[0], 1, rate_limit={"rps": 1, "burst": 2})
    with Meshd(tmp_path, mesh({"echo": svc})) as m:
        wait_passing(m, "echo", 1)
        with channel(m, "echo") as ch:
            codes, details = [], []
            for _ in range(6):
                try:
                    unary(ch)(b"x", timeout=10)
                    codes.append(grpc.StatusCode.OK)
                except grpc.RpcError as e:
                    codes.append(e.code())
                    details.append(e.details())
        assert codes[:2] == [grpc.StatusCode.OK] * 2, codes
        assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes, codes
        assert all('"code":"rate_limited"' in d for d in details), details


def test_calls_are_in_the_access_log(tmp_path):
    log_path = tmp_path / "access.log"
    config = mesh({"echo": grpc_service(free_ports(1)[0], 1)})
    config["mesh"]["access_log"] = {"path": str(log_path)}
    with Meshd(tmp_path, config) as m:
        wait_passing(m, "echo", 1)
        with channel(m, "echo") as ch:
            assert unary(ch)(b"hello", timeout=10) == b"hello"
        with channel(m, "nope") as ch:
            with pytest.raises(grpc.RpcError):
                unary(ch)(b"x", timeout=10)
        def records():
            if not log_path.exists():
                return None
            lines = [json.loads(line) for line in log_path.read_text().splitlines()]
            return lines if len(lines) >= 2 else None
        ok, missing = wait_until(records, timeout=10, what="2 access log lines")[:2]
        assert (ok["service"], ok["instance"], ok["status"]) == ("echo", "echo-0", 200), ok
        assert (ok["method"], ok["path"], ok["protocol"]) == ("POST", "/test.Echo/Unary", "HTTP/2")
        assert ok["bytes_in"] >= 5 and ok["bytes_out"] >= 5 and len(ok["trace_id"]) == 32
        assert (missing["status"], missing["instance"]) == (200, "")  # trailers-only grpc-status
        assert "no service named 'nope'" in missing["error"]


def drip(ch):
    return ch.unary_stream("/test.Echo/Drip")


def test_a_stalled_response_body_ends_with_deadline_exceeded(tmp_path):
    # The service's timeout is the response body's idle timeout: a stream
    # that keeps sending is not cut, one whose instance falls silent is, with
    # DEADLINE_EXCEEDED after the messages that came.
    svc = grpc_service(free_ports(1)[0], 1, timeout="500ms", retry={"attempts": 1})
    log_path = tmp_path / "access.log"
    config = mesh({"stall": svc})
    config["mesh"]["access_log"] = {"path": str(log_path)}
    with Meshd(tmp_path, config) as m:
        wait_passing(m, "stall", 1)
        with channel(m, "stall") as ch:
            replies = list(drip(ch)(b"8,150", timeout=20))  # 1 s in all, never 500 ms silent
            assert replies == [f"stall-0:{i}".encode() for i in range(8)]
            got = []
            with pytest.raises(grpc.RpcError) as err:
                for reply in drip(ch)(b"2,5000", timeout=20):
                    got.append(reply)
            assert got == [b"stall-0:0"]
            assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            assert "upstream timed out mid-response" in err.value.details()
            assert "no response data within 500ms" in err.value.details()
        # The instance is still there: the stalled call was its only trouble.
        with channel(m, "stall") as ch:
            assert unary(ch)(b"after", timeout=10) == b"after"

        def stalled_record():
            if not log_path.exists():
                return None
            for line in log_path.read_text().splitlines():
                record = json.loads(line)
                if "mid-response" in record.get("error", ""):
                    return record
            return None
        record = wait_until(stalled_record, timeout=10, what="the stalled call's log record")
        assert record["path"] == "/test.Echo/Drip" and record["status"] == 200, record
        assert "upstream timed out mid-response: no response data within 500ms" in record["error"]


def test_an_instance_killed_mid_stream_is_unavailable(tmp_path):
    with Meshd(tmp_path, mesh({"echo": grpc_service(free_ports(1)[0], 1)})) as m:
        wait_passing(m, "echo", 1)
        pid = m.service("echo")["instances"][0]["pid"]
        with channel(m, "echo") as ch:
            got = []
            with pytest.raises(grpc.RpcError) as err:
                for reply in drip(ch)(b"100,100", timeout=30):
                    got.append(reply)
                    if len(got) == 2:
                        os.kill(pid, signal.SIGKILL)
            # UNAVAILABLE, as Envoy and Linkerd say it, not INTERNAL (a reset stream).
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE, err.value
            assert "upstream failed mid-response" in err.value.details()
            assert 2 <= len(got) < 100


def raw_http11(m, request):
    """Sends one HTTP/1.1 request (which asks `Connection: close`) and reads
    the whole answer."""
    host, port = m.gateway.replace("http://", "").split(":")
    chunks = []
    with socket.create_connection((host, int(port)), timeout=20) as s:
        s.sendall(request)
        for _ in range(1000):
            data = s.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def test_http11_clients_that_take_trailers_get_them(tmp_path):
    with Meshd(tmp_path, mesh({"echo": grpc_service(free_ports(1)[0], 1)})) as m:
        wait_passing(m, "echo", 1)
        message = b"\x00" + (5).to_bytes(4, "big") + b"hello"

        def call(te, version=b"1.1"):
            return raw_http11(m, b"POST /test.Echo/Unary HTTP/" + version + b"\r\nHost: echo\r\n"
                              b"Content-Type: application/grpc\r\n" + te +
                              b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(message)
                              + message)

        raw = call(b"TE: trailers\r\n")
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), raw
        assert b"\r\ntransfer-encoding: chunked" in head.lower(), raw
        # The message, then the last chunk with the instance's trailers (RFC 9112 7.1.2).
        assert body == b"a\r\n" + message + b"\r\n0\r\ngrpc-status: 0\r\n" \
            b"x-served-by: echo-0\r\n\r\n", body
        # An HTTP/1.0 client cannot be sent chunks: the body ends with the
        # connection, and the trailers are dropped. (Without `TE: trailers`
        # grpcio refuses the call: "Missing :te header".)
        raw = call(b"TE: trailers\r\n", b"1.0")
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.0 200"), raw
        assert b"chunked" not in head.lower() and body == message, raw
