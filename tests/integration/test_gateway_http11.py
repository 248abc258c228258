"""HTTP/1.1 details of the gateway (issue 15, RFC 9110/9112): Expect:
100-continue is answered at once, a request needs exactly one Host, and
absolute-form targets are accepted, with raw sockets and curl against the
real binary on 127.0.0.1."""

import json
import shutil
import socket
import subprocess

import pytest

from meshd_harness import Meshd, demo, free_ports, wait_until


def mesh(port):
    return {"mesh": {"gateway": "127.0.0.1:0"},
            "services": {"web": {"command": demo("--quiet"), "port": port,
                                 "health": {"type": "http", "interval": "200ms"}}}}


def started(tmp_path):
    m = Meshd(tmp_path, mesh(free_ports(1)[0]))
    m.__enter__()
    wait_until(lambda: len(m.get("/api/v1/discover/web?passing=true")["instances"]) == 1,
               timeout=30, what="web passing")
    return m


def gateway_address(m):
    host, port = m.gateway.replace("http://", "").split(":")
    return host, int(port)


def read_head(sock):
    """The bytes of one response head (through the blank line)."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(1)
        if not piece:
            break
        data += piece
    return data


def read_response(sock):
    """(status code, body) of one response with a Content-Length."""
    head = read_head(sock)
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = b""
    while len(body) < length:
        piece = sock.recv(length - len(body))
        if not piece:
            break
        body += piece
    return status, body


def test_expect_100_continue_is_answered_before_the_body(tmp_path):
    m = started(tmp_path)
    try:
        body = b"x" * 300_000
        with socket.create_connection(gateway_address(m), timeout=5) as s:
            s.sendall(b"PUT /web/upload HTTP/1.1\r\nHost: gw\r\nExpect: 100-continue\r\n"
                      b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
            # Without the gateway's own answer this read times out (the
            # instance's 100 Continue was swallowed): the client would stall.
            assert read_head(s) == b"HTTP/1.1 100 Continue\r\n\r\n"
            s.sendall(body)
            status, answer = read_response(s)
            assert status == 200 and json.loads(answer) == {"bytes": len(body)}
            # The connection stays usable for the next request.
            s.sendall(b"GET /web/x HTTP/1.1\r\nHost: gw\r\n\r\n")
            status, _ = read_response(s)
            assert status == 200
    finally:
        m.__exit__(None, None, None)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_uploads_with_and_without_expect(tmp_path):
    m = started(tmp_path)
    try:
        upload = tmp_path / "3mb.bin"
        upload.write_bytes(b"y" * (3 * 1024 * 1024))
        for extra in ([], ["-H", "Expect:"]):  # curl sends Expect itself for a body this size
            out = subprocess.run(
                ["curl", "-sS", "--max-time", "20", "-X", "PUT", "--data-binary", f"@{upload}",
                 *extra, "-w", "\n%{http_code} %{time_total}", f"{m.gateway}/web/upload"],
                capture_output=True, text=True, timeout=30)
            assert out.returncode == 0, out.stderr
            answer, code_time = out.stdout.rsplit("\n", 1)
            assert code_time.split()[0] == "200", out.stdout
            assert json.loads(answer) == {"bytes": 3 * 1024 * 1024}
    finally:
        m.__exit__(None, None, None)


def test_a_request_needs_exactly_one_host(tmp_path):
    m = started(tmp_path)
    try:
        for head in (b"GET /web/x HTTP/1.1\r\n\r\n",
                     b"GET /web/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"):
            with socket.create_connection(gateway_address(m), timeout=5) as s:
                s.sendall(head)
                status, body = read_response(s)
                assert status == 400, (head, status, body)
                assert "Host" in json.loads(body)["error"]["message"]
        # HTTP/1.0 has no Host requirement.
        with socket.create_connection(gateway_address(m), timeout=5) as s:
            s.sendall(b"GET /web/x HTTP/1.0\r\n\r\n")
            status, _ = read_response(s)
            assert status == 200
    finally:
        m.__exit__(None, None, None)


def test_absolute_form_targets_route_by_their_path(tmp_path):
    m = started(tmp_path)
    try:
        host, port = gateway_address(m)
        with socket.create_connection((host, port), timeout=5) as s:
            s.sendall(f"GET http://{host}:{port}/web/hello?x=1 HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            status, body = read_response(s)
            assert status == 200
            assert json.loads(body)["path"] == "/hello"
            s.sendall(f"GET http://{host}:{port}/nosuch/x HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            status, _ = read_response(s)
            assert status == 404
    finally:
        m.__exit__(None, None, None)


def send_all_then_read(address, head, size):
    """Writes `head` and a `size`-byte body completely before reading, like
    a client that ignores early answers; returns the status line it reads."""
    with socket.create_connection(address, timeout=20) as s:
        s.sendall(head + b"Content-Length: " + str(size).encode() + b"\r\n\r\n")
        chunk = b"z" * (1 << 20)
        sent = 0
        while sent < size:  # bounded: size / 1 MiB writes
            s.sendall(chunk[:min(len(chunk), size - sent)])
            sent += min(len(chunk), size - sent)
        return read_head(s).split(b"\r\n", 1)[0]


def test_a_refused_20mb_upload_still_reads_its_answer(tmp_path):
    """Lingering close bounded by time, not bytes (RFC 9112 9.6): before,
    both servers reset the connection after 8 MB and the client never saw
    the answer."""
    m = started(tmp_path)
    try:
        size = 20 * 1024 * 1024
        # The API refuses a body over 1 MB with 413.
        host, port = m.base.replace("http://", "").split(":")
        status = send_all_then_read((host, int(port)),
                                    b"POST /api/v1/registry HTTP/1.1\r\nHost: api\r\n"
                                    b"Content-Type: application/json\r\n", size)
        assert status.startswith(b"HTTP/1.1 413"), status
        # The gateway answers 404 for a service that does not exist, before the body.
        status = send_all_then_read(gateway_address(m),
                                    b"POST /nosuch/upload HTTP/1.1\r\nHost: gw\r\n", size)
        assert status.startswith(b"HTTP/1.1 404"), status
    finally:
        m.__exit__(None, None, None)
