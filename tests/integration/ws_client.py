"""A minimal RFC 6455 WebSocket client on the standard library, for the
integration tests: the opening handshake, masked client frames, and reading
text, ping and close frames. No extensions, no TLS."""

import base64
import hashlib
import json
import os
import socket
import struct
import time
import urllib.parse

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class HandshakeRefused(Exception):
    """The server answered the upgrade with an HTTP status other than 101."""

    def __init__(self, status, headers, body):
        super().__init__(f"handshake refused with {status}: {body!r}")
        self.status, self.headers, self.body = status, headers, body


class Closed(Exception):
    """The server sent a close frame (code, reason) or the connection ended (code None)."""

    def __init__(self, code, reason=""):
        super().__init__(f"closed: {code} {reason}")
        self.code, self.reason = code, reason


class WsClient:
    def __init__(self, base_url, path="/ws", headers=None, timeout=10.0, rcvbuf=None):
        url = urllib.parse.urlsplit(base_url)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            # Before connect, so that the advertised window stays small.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((url.hostname, url.port))
        self.buf = b""
        self.closed = None
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {url.hostname}:{url.port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = self._read_until(b"\r\n\r\n", deadline=time.monotonic() + timeout)
        status_line, *header_lines = head.decode(errors="replace").split("\r\n")
        status = int(status_line.split()[1])
        hdrs = {}
        for line in header_lines:
            if ":" in line:
                k, v = line.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        if status != 101:
            body = self._read_body(hdrs, time.monotonic() + timeout)
            self.sock.close()
            try:
                body = json.loads(body)
            except ValueError:
                pass
            raise HandshakeRefused(status, hdrs, body)
        expected = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        assert hdrs.get("sec-websocket-accept") == expected, hdrs
        assert "sec-websocket-extensions" not in hdrs, "no compression was asked for"
        self.headers = hdrs

    # --- raw bytes ----------------------------------------------------------
    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no data from the server in time")
        self.sock.settimeout(remaining)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise Closed(None, "connection closed without a close frame")
        self.buf += chunk

    def _read_until(self, marker, deadline):
        while marker not in self.buf:
            self._fill(deadline)
        head, self.buf = self.buf.split(marker, 1)
        return head

    def _read_exact(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _read_body(self, hdrs, deadline):
        n = int(hdrs.get("content-length", "0"))
        try:
            return self._read_exact(n, deadline).decode(errors="replace")
        except (Closed, TimeoutError, OSError):
            return self.buf.decode(errors="replace")

    # --- frames -------------------------------------------------------------
    def send_frame(self, opcode, payload, fin=True):
        if isinstance(payload, str):
            payload = payload.encode()
        header = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if n < 4096 else _mask_fast(payload, mask)
        self.sock.sendall(header + mask + masked)

    def send_text(self, text):
        self.send_frame(OP_TEXT, text)

    def send_json(self, obj):
        self.send_text(json.dumps(obj))

    def recv_frame(self, timeout=10.0):
        """(opcode, fin, payload) of the next frame; consumes nothing until it is whole."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self._parse_frame()
            if frame:
                return frame
            self._fill(deadline)

    def _parse_frame(self):
        buf = self.buf
        if len(buf) < 2:
            return None
        b0, b1 = buf[0], buf[1]
        assert not b1 & 0x80, "server frames are not masked"
        n, at = b1 & 0x7F, 2
        if n == 126:
            if len(buf) < 4:
                return None
            n, at = struct.unpack("!H", buf[2:4])[0], 4
        elif n == 127:
            if len(buf) < 10:
                return None
            n, at = struct.unpack("!Q", buf[2:10])[0], 10
        if len(buf) < at + n:
            return None
        self.buf = buf[at + n:]
        return b0 & 0x0F, bool(b0 & 0x80), buf[at:at + n]

    def recv(self, timeout=10.0):
        """The next text message as a string; answers pings; raises Closed on a close frame."""
        deadline = time.monotonic() + timeout
        parts = []
        while True:
            opcode, fin, payload = self.recv_frame(max(0.0, deadline - time.monotonic()))
            if opcode == OP_PING:
                self.send_frame(OP_PONG, payload)
                continue
            if opcode == OP_PONG:
                continue
            if opcode == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                reason = payload[2:].decode(errors="replace")
                self.closed = (code, reason)
                try:
                    self.send_frame(OP_CLOSE, payload[:2])
                except OSError:
                    pass
                raise Closed(code, reason)
            parts.append(payload)
            if fin:
                return b"".join(parts).decode()

    def recv_json(self, timeout=10.0):
        return json.loads(self.recv(timeout))

    def wait_for(self, predicate, timeout=10.0, what="message"):
        """Reads messages until predicate(msg) holds; returns (msg, skipped)."""
        deadline = time.monotonic() + timeout
        skipped = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {skipped[-3:]!r}")
            try:
                msg = self.recv_json(remaining)
            except TimeoutError:
                continue
            if predicate(msg):
                return msg, skipped
            skipped.append(msg)

    def close(self, code=1000):
        try:
            self.send_frame(OP_CLOSE, struct.pack("!H", code))
        except OSError:
            pass
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _mask_fast(payload, mask):
    # XOR in big integers: fast enough for a megabyte without numpy.
    n = len(payload)
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
