"""HTTP/2 through the gateway: h2c with prior knowledge from curl and
h2load, to an h2c upstream (nghttpd) and to HTTP/1.1 instances; per-stream
balancing; protocol errors and stream floods that stay on their own
connection."""

import http.client as httpclient
import json
import shutil
import socket
import struct
import subprocess
import threading
import time

import pytest

from meshd_harness import Meshd, demo, free_ports, http, wait_until

pytestmark = pytest.mark.skipif(not (shutil.which("curl") and shutil.which("h2load")
                                     and shutil.which("nghttpd")),
                                reason="needs curl, h2load and nghttpd (nghttp2-client, nghttp2-server)")

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def services(tmp_path, web_replicas=3):
    www = tmp_path / "www"
    www.mkdir(exist_ok=True)
    (www / "index.html").write_text("hello over h2c\n")
    (www / "big.bin").write_bytes(bytes(range(256)) * 8192)  # 2 MiB
    web_port, files_port = free_ports(2)
    return {
        "web": {"command": demo(), "port": web_port, "replicas": web_replicas,
                "health": {"type": "http", "interval": "200ms"}},
        "files": {"command": ["nghttpd", "--no-tls", "-d", str(www), "${PORT}"], "port": files_port,
                  "protocol": "http2", "health": {"type": "tcp", "interval": "200ms"}},
    }


def mesh(svcs):
    return {"mesh": {"gateway": "127.0.0.1:0"}, "services": svcs}


def wait_passing(m, name, n):
    wait_until(lambda: len(m.get(f"/api/v1/discover/{name}?passing=true")["instances"]) == n,
               timeout=30, what=f"{n} passing instances of {name}")


def curl(*args, timeout=30):
    r = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "--max-time", "20", *args],
                       capture_output=True, timeout=timeout)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def split_response(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return lines[0], headers, body


def h2load(*args):
    r = subprocess.run(["h2load", *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def instance_requests(m, service):
    return {i["id"]: i["requests"] for i in m.service(service)["instances"]}


# ---- raw HTTP/2 frames, for what a well-behaved client never sends -------------

def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def literal_headers(pairs):
    """An HPACK block of literal fields without indexing, no Huffman (RFC 7541 6.2.2)."""
    out = b""
    for name, value in pairs:
        assert len(name) < 127 and len(value) < 127
        out += b"\x00" + bytes([len(name)]) + name.encode() + bytes([len(value)]) + value.encode()
    return out


def read_frames(sock, until=None, limit=4000):
    """Frames (type, flags, stream, payload) read until EOF, `until(frame)` or `limit` frames."""
    buf, frames = b"", []
    while len(frames) < limit:
        while len(buf) >= 9:
            length = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + length:
                break
            f = (buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF, buf[9:9 + length])
            frames.append(f)
            buf = buf[9 + length:]
            if until and until(f):
                return frames
        chunk = sock.recv(65536)
        if not chunk:
            return frames
        buf += chunk
    return frames


GOAWAY, RST_STREAM, HEADERS = 7, 3, 1


def test_curl_get_and_post_to_h2c_and_h1_upstreams(tmp_path):
    with Meshd(tmp_path, mesh(services(tmp_path))) as m:
        wait_passing(m, "web", 3)
        wait_passing(m, "files", 1)
        gw = m.gateway
        # To an HTTP/1.1 service: routed by the path prefix, bridged to HTTP/1.1.
        status, headers, body = split_response(curl("-i", f"{gw}/web/hello?x=1"))
        assert status.startswith("HTTP/2 200"), status
        answer = json.loads(body)
        assert answer["path"] == "/hello" and answer["query"] == "x=1"
        assert headers["x-mesh-instance"] == answer["instance"]
        assert answer["x_forwarded_for"] == "127.0.0.1" and answer["x_request_id"]
        upload = tmp_path / "upload.bin"
        upload.write_bytes(b"z" * 3_000_000)
        answer = json.loads(curl("--data-binary", f"@{upload}", f"{gw}/web/upload"))
        assert answer == {"bytes": 3_000_000}
        big = curl(f"{gw}/web/bytes?n=5000000")
        assert len(big) == 5_000_000
        status, _, _ = split_response(curl("-i", f"{gw}/web/status/503"))
        assert status.startswith("HTTP/2 503")
        # To an h2c service (nghttpd): h2c both ways.
        status, headers, body = split_response(curl("-i", f"{gw}/files/index.html"))
        assert status.startswith("HTTP/2 200") and body == b"hello over h2c\n"
        assert headers["x-mesh-instance"] == "files-0"
        assert curl(f"{gw}/files/big.bin") == bytes(range(256)) * 8192
        status, _, body = split_response(curl("-i", "--data-binary", f"@{upload}",
                                              f"{gw}/files/index.html"))
        assert status.startswith("HTTP/2 200") and body == b"hello over h2c\n"
        # Routed by :authority naming the service: the path goes unchanged.
        answer = json.loads(curl("-H", "Host: web.mesh", f"{gw}/hello"))
        assert answer["path"] == "/hello"
        # The gateway's own errors, as on HTTP/1.1.
        status, _, body = split_response(curl("-i", f"{gw}/nope/x"))
        assert status.startswith("HTTP/2 404") and json.loads(body)["error"]["code"] == "not_found"
        # `Upgrade: h2c` from an HTTP/1.1 request without a body: 101, then HTTP/2.
        r = subprocess.run(["curl", "-sS", "-v", "--http2", "--max-time", "20", f"{gw}/files/index.html"],
                           capture_output=True, timeout=30)
        assert r.returncode == 0, r.stderr.decode()
        assert b"< HTTP/1.1 101 Switching Protocols" in r.stderr and b"< HTTP/2 200" in r.stderr
        assert r.stdout == b"hello over h2c\n"
        # HTTP/1.1 clients are served as before on the same port.
        status, _, body = http("GET", f"{gw}/web/hello")
        assert status == 200 and body["path"] == "/hello"


def test_http11_clients_reach_h2c_services(tmp_path):
    with Meshd(tmp_path, mesh(services(tmp_path, web_replicas=1))) as m:
        wait_passing(m, "web", 1)
        wait_passing(m, "files", 1)
        host, port = m.gateway.replace("http://", "").split(":")
        conn = httpclient.HTTPConnection(host, int(port), timeout=20)
        # One keep-alive connection: h2c service, HTTP/1.1 service, h2c again.
        for path, check in (("/files/index.html", lambda b: b == b"hello over h2c\n"),
                            ("/web/hello", lambda b: json.loads(b)["path"] == "/hello"),
                            ("/files/big.bin", lambda b: b == bytes(range(256)) * 8192),
                            ("/files/missing", lambda b: True)):
            conn.request("GET", path)
            res = conn.getresponse()
            body = res.read()
            assert res.status == (404 if path.endswith("missing") else 200), (path, res.status)
            assert check(body), path
            if path.startswith("/files"):
                assert res.getheader("x-mesh-instance") == "files-0"
        conn.request("HEAD", "/files/index.html")
        res = conn.getresponse()
        assert res.status == 200 and res.read() == b""
        conn.request("POST", "/files/index.html", body=b"y" * 1_000_000)
        res = conn.getresponse()
        assert res.status == 200 and res.read() == b"hello over h2c\n"
        conn.close()
        # curl's Expect: 100-continue on a large upload does not stall.
        upload = tmp_path / "upload.bin"
        upload.write_bytes(b"z" * 3_000_000)
        r = subprocess.run(["curl", "-sS", "--max-time", "20", "--data-binary", f"@{upload}",
                            f"{m.gateway}/files/index.html"], capture_output=True, timeout=30)
        assert r.returncode == 0 and r.stdout == b"hello over h2c\n", r.stderr


def test_requests_pipelined_behind_a_bridged_one_are_answered_in_order(tmp_path):
    with Meshd(tmp_path, mesh(services(tmp_path, web_replicas=1))) as m:
        wait_passing(m, "web", 1)
        wait_passing(m, "files", 1)
        host, port = m.gateway.replace("http://", "").split(":")
        burst = (b"GET /files/index.html HTTP/1.1\r\nHost: x\r\n\r\n"
                 b"GET /web/second HTTP/1.1\r\nHost: x\r\n\r\n"
                 b"GET /files/index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        with socket.create_connection((host, int(port)), timeout=20) as s:
            s.sendall(burst)  # one write: the bridged request has the others behind it
            raw = b""
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and (chunk := s.recv(65536)):
                raw += chunk
        # (a body of "hello over h2c\n" runs into the next status line)
        assert raw.count(b"HTTP/1.1 ") == raw.count(b"HTTP/1.1 200 OK\r\n") == 3, raw[:2000]
        assert raw.count(b"hello over h2c\n") == 2, raw[:2000]
        assert b'"path":"/second"' in raw.replace(b" ", b""), raw[:2000]
        assert raw.index(b"/second") < raw.rindex(b"hello over h2c"), raw[:2000]  # in order


def test_h2load_without_errors_and_one_connection_spread_over_all_instances(tmp_path):
    with Meshd(tmp_path, mesh(services(tmp_path))) as m:
        wait_passing(m, "web", 3)
        wait_passing(m, "files", 1)
        gw = m.gateway
        for url in (f"{gw}/web/hello", f"{gw}/files/index.html"):
            out = h2load("-n", "2000", "-c", "4", "-m", "16", url)
            assert "2000 succeeded, 0 failed, 0 errored, 0 timeout" in out, out
            assert "2000 2xx" in out, out
        before = instance_requests(m, "web")
        out = h2load("-n", "600", "-c", "1", "-m", "16", f"{gw}/web/hello")  # ONE connection
        assert "600 succeeded, 0 failed" in out, out
        after = instance_requests(m, "web")
        served = {i: after[i] - before.get(i, 0) for i in after}
        assert sum(served.values()) == 600, served
        assert all(n >= 100 for n in served.values()), served  # round robin: 200 each
        stats = m.service("web")
        assert stats["instances"]  # counted in the same per-service stats as HTTP/1.1


def test_protocol_errors_close_only_that_connection(tmp_path):
    with Meshd(tmp_path, mesh(services(tmp_path, web_replicas=1))) as m:
        wait_passing(m, "web", 1)
        host, port = m.gateway.replace("http://", "").split(":")
        # Garbage after a valid preface: GOAWAY with an error code, then close.
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(PREFACE + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00" + b"GARBAGE" * 100)
            frames = read_frames(s)
        goaways = [f for f in frames if f[0] == GOAWAY]
        assert goaways, frames
        assert int.from_bytes(goaways[0][3][4:8], "big") != 0  # not NO_ERROR
        # A HEADERS frame on stream 0 is a connection error too.
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(PREFACE + frame(4, 0, 0) + frame(HEADERS, 5, 0, literal_headers([(":method", "GET")])))
            frames = read_frames(s)
        assert any(f[0] == GOAWAY and int.from_bytes(f[3][4:8], "big") == 1 for f in frames), frames
        # A malformed request (no :path) resets that stream only.
        with socket.create_connection((host, int(port)), timeout=10) as s:
            bad = literal_headers([(":method", "GET"), (":scheme", "http"), (":authority", "x")])
            good = literal_headers([(":method", "GET"), (":scheme", "http"), (":authority", "x"),
                                    (":path", "/web/hello")])
            s.sendall(PREFACE + frame(4, 0, 0) + frame(HEADERS, 5, 1, bad) + frame(HEADERS, 5, 3, good))
            frames = read_frames(s, until=lambda f: f[0] == HEADERS and f[2] == 3)
        assert any(f[0] == RST_STREAM and f[2] == 1 for f in frames), frames
        assert any(f[0] == HEADERS and f[2] == 3 for f in frames), frames
        # Not the preface after all: an HTTP/1.1 request line, answered 400.
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(b"PRI * HTTP/2.0\r\n\r\nXY\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 400")
        # Everyone else is still served.
        assert json.loads(curl(f"{m.gateway}/web/hello"))["path"] == "/hello"
        status, _, _ = http("GET", f"{m.gateway}/web/hello")
        assert status == 200


def test_a_flood_of_streams_is_refused_past_the_limit(tmp_path):
    with Meshd(tmp_path, mesh(services(tmp_path, web_replicas=1))) as m:
        wait_passing(m, "web", 1)
        host, port = m.gateway.replace("http://", "").split(":")
        n = 200  # the limit is 128
        request = literal_headers([(":method", "GET"), (":scheme", "http"), (":authority", "x"),
                                   (":path", "/web/sleep?ms=300")])
        with socket.create_connection((host, int(port)), timeout=20) as s:
            s.sendall(PREFACE + frame(4, 0, 0) +
                      b"".join(frame(HEADERS, 5, 2 * i + 1, request) for i in range(n)))
            done = set()

            def finished(f):
                if f[0] == RST_STREAM or (f[0] in (0, HEADERS) and f[1] & 1):
                    done.add(f[2])
                return len(done) == n
            frames = read_frames(s, until=finished)
        refused = {f[2] for f in frames if f[0] == RST_STREAM and int.from_bytes(f[3], "big") == 7}
        answered = {f[2] for f in frames if f[0] == HEADERS}
        assert refused and answered, frames[:20]
        assert len(answered) <= 128 and len(refused) >= n - 128, (len(answered), len(refused))
        assert json.loads(curl(f"{m.gateway}/web/hello"))["path"] == "/hello"


def test_streams_are_traced_and_rate_limited_like_http11_requests(tmp_path):
    svcs = services(tmp_path, web_replicas=1)
    svcs["limited"] = dict(svcs["web"], port=free_ports(1)[0], replicas=1,
                           rate_limit={"rps": 1, "burst": 2})
    with Meshd(tmp_path, mesh(svcs)) as m:
        wait_passing(m, "web", 1)
        wait_passing(m, "limited", 1)
        gw = m.gateway
        incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        seen = json.loads(curl("-H", f"traceparent: {incoming}", f"{gw}/web/headers"))
        version, trace, parent, flags = seen["traceparent"].split("-")
        assert (version, trace, flags) == ("00", "4bf92f3577b34da6a3ce929d0e0e4736", "01")
        assert parent != "00f067aa0ba902b7" and len(parent) == 16
        assert seen["x-request-id"] == trace
        statuses = []
        for _ in range(6):
            status, headers, body = split_response(curl("-i", f"{gw}/limited/hello"))
            statuses.append(status.split()[1])
            if statuses[-1] == "429":
                assert int(headers["retry-after"]) >= 1
                assert json.loads(body)["error"]["code"] == "rate_limited"
        assert statuses[:2] == ["200", "200"] and "429" in statuses, statuses


def test_a_connection_without_requests_is_closed_after_the_header_timeout(tmp_path):
    with Meshd(tmp_path, mesh(services(tmp_path, web_replicas=1))) as m:
        wait_passing(m, "web", 1)
        host, port = m.gateway.replace("http://", "").split(":")
        with socket.create_connection((host, int(port)), timeout=40) as s:
            s.sendall(PREFACE + frame(4, 0, 0))  # then nothing (the gateway's header timeout: 10 s)
            frames = read_frames(s)  # until the gateway closes
        goaways = [f for f in frames if f[0] == GOAWAY]
        assert goaways and int.from_bytes(goaways[-1][3][4:8], "big") == 0, frames  # NO_ERROR
        assert json.loads(curl(f"{m.gateway}/web/hello"))["path"] == "/hello"


class RawH2Instance:
    """An h2c instance that never ends its responses by itself, and ignores
    grpc-timeout: to each request it answers 200, one DATA frame at once,
    then (`drip`) one more every 150 ms, 40 in all, or (`stall`) nothing."""

    def __init__(self, mode):
        self.mode, self.resets, self.stopped = mode, 0, False
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.acceptor = threading.Thread(target=self.accept, daemon=True)
        self.acceptor.start()

    def accept(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        message = b"\x00" + (5).to_bytes(4, "big") + b"drop!"
        conn.settimeout(0.05)
        buf, greeted, due = b"", False, {}  # stream -> [next send time, sent]
        end = time.monotonic() + 60
        with conn:
            while not self.stopped and time.monotonic() < end:
                try:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                except socket.timeout:
                    pass
                if not greeted:
                    if len(buf) < len(PREFACE):
                        continue
                    buf, greeted = buf[len(PREFACE):], True
                    conn.sendall(frame(4, 0, 0))  # our SETTINGS
                while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
                    n = int.from_bytes(buf[:3], "big")
                    kind, flags = buf[3], buf[4]
                    stream = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
                    payload, buf = buf[9:9 + n], buf[9 + n:]
                    if kind == 4 and not flags & 1:
                        conn.sendall(frame(4, 1, 0))  # SETTINGS ACK
                    elif kind == 6 and not flags & 1:
                        conn.sendall(frame(6, 1, 0, payload))  # PING ACK
                    elif kind == HEADERS:
                        conn.sendall(frame(HEADERS, 4, stream, literal_headers(
                            [(":status", "200"), ("content-type", "application/grpc")])))
                        due[stream] = [0.0, 0]
                    elif kind == RST_STREAM:
                        self.resets += 1
                        due.pop(stream, None)
                    elif kind == GOAWAY:
                        return
                now = time.monotonic()
                for stream, state in list(due.items()):
                    if now < state[0] or (self.mode == "stall" and state[1] >= 1):
                        continue
                    conn.sendall(frame(0, 0, stream, message))
                    state[0], state[1] = now + 0.15, state[1] + 1
                    if state[1] == 40:
                        conn.sendall(frame(HEADERS, 5, stream, literal_headers(
                            [("grpc-status", "0")])))
                        del due[stream]

    def stop(self):
        self.stopped = True
        self.acceptor.join(timeout=10)
        self.sock.close()


def test_h2c_responses_that_stall_or_outlive_grpc_timeout_are_ended(tmp_path):
    drip, stall = RawH2Instance("drip"), RawH2Instance("stall")
    try:
        svcs = {
            "drip": {"address": [f"127.0.0.1:{drip.port}"], "protocol": "http2",
                     "health": {"type": "none"}},
            "stall": {"address": [f"127.0.0.1:{stall.port}"], "protocol": "http2",
                      "health": {"type": "none"}, "timeout": "500ms", "retry": {"attempts": 1}},
        }
        with Meshd(tmp_path, mesh(svcs)) as m:
            # A gRPC call whose instance ignores its grpc-timeout (and keeps
            # sending: never idle) is ended by the gateway with DEADLINE_EXCEEDED.
            heads = tmp_path / "heads.txt"
            r = subprocess.run(
                ["curl", "-sS", "--http2-prior-knowledge", "--max-time", "20", "-D", str(heads),
                 "-H", "content-type: application/grpc", "-H", "te: trailers",
                 "-H", "grpc-timeout: 1S", "--data-binary", "x", f"{m.gateway}/drip/test.Drip/Go"],
                capture_output=True, timeout=30)
            assert r.returncode == 0, r.stderr
            text = heads.read_text()
            assert text.startswith("HTTP/2 200"), text
            assert "grpc-status: 4" in text and "grpc-timeout has passed" in text, text
            assert 1 <= r.stdout.count(b"drop!") < 40, r.stdout
            wait_until(lambda: drip.resets >= 1, timeout=10, what="the instance's stream reset")
            # Not gRPC: a body that stalls for the service's timeout resets the
            # client's stream after what came (curl: error 92, HTTP/2 stream).
            r = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "--max-time", "20",
                                f"{m.gateway}/stall/anything"], capture_output=True, timeout=30)
            assert r.returncode == 92, (r.returncode, r.stderr)
            assert r.stdout.count(b"drop!") == 1, r.stdout
            wait_until(lambda: stall.resets >= 1, timeout=10, what="the instance's stream reset")
    finally:
        drip.stop()
        stall.stop()


def test_an_http11_body_that_stalls_resets_the_h2_stream(tmp_path):
    # An HTTP/1.1 instance that sends its head and 5 of 100 bytes, then
    # nothing: the HTTP/2 client's stream is reset after the service's timeout.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve():
        held = []
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                continue
            conn.settimeout(10)
            try:
                if conn.recv(65536):
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst")
            except OSError:
                pass
            held.append(conn)  # open and silent until the test ends
        for conn in held:
            conn.close()

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        port = listener.getsockname()[1]
        svcs = {"slow": {"address": [f"127.0.0.1:{port}"], "health": {"type": "none"},
                         "timeout": "500ms", "retry": {"attempts": 1}}}
        with Meshd(tmp_path, mesh(svcs)) as m:
            r = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "--max-time", "20",
                                f"{m.gateway}/slow/x"], capture_output=True, timeout=30)
            assert r.returncode == 92, (r.returncode, r.stderr)
            assert r.stdout == b"first"
    finally:
        stop.set()
        server.join(timeout=10)
        listener.close()
