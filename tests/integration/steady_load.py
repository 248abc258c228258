"""A steady client load through the gateway for the rollout tests: N
threads, each with its own keep-alive http.client connection to
127.0.0.1, paced to a total rate, bounded in request count AND time.
Every answer is kept with its time: its status (0 for a connection error,
which counts as a failure like any non-2xx), the version and instance
named in the body (rollout_app.py answers with them), so a test asserts
zero failures over a window and sees the versions switch."""

import http.client
import json
import threading
import time
from dataclasses import dataclass


@dataclass
class Answer:
    at: float          # time.monotonic() when the answer (or the error) came
    status: int        # HTTP status; 0: connection error, timeout or bad answer
    version: str = ""  # from the body, when it is rollout_app.py's JSON
    instance: str = ""
    error: str = ""    # the exception, or the start of a non-2xx body

    @property
    def ok(self):
        return 200 <= self.status < 300


class SteadyLoad:
    """Use as a context manager: starts on enter, stops (and joins) on exit.
    rate is the total requests per second over all threads (0: back to
    back); max_requests and max_seconds bound the whole run."""

    def __init__(self, host, port, path, threads=8, rate=200.0, max_requests=20000, max_seconds=60.0,
                 timeout=5.0):
        self.host, self.port, self.path = host, port, path
        self.threads, self.rate, self.timeout = threads, rate, timeout
        self.max_requests, self.max_seconds = max_requests, max_seconds
        self.answers = []
        self._lock = threading.Lock()
        self._sent = 0
        self._stop = threading.Event()
        self._workers = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]
        self.started = None

    @classmethod
    def through(cls, gateway_url, path, **kw):
        """From the gateway's base URL ("http://127.0.0.1:PORT") and a path ("/web/x")."""
        hostport = gateway_url.split("://", 1)[-1].rstrip("/")
        host, port = hostport.rsplit(":", 1)
        return cls(host, int(port), path, **kw)

    def _take_turn(self):
        with self._lock:
            if self._sent >= self.max_requests:
                return False
            self._sent += 1
            return True

    def _record(self, answer):
        with self._lock:
            self.answers.append(answer)

    def _run(self, index):
        interval = self.threads / self.rate if self.rate else 0.0
        # Spread the threads' first requests over one interval.
        next_at = self.started + interval * index / max(self.threads, 1)
        deadline = self.started + self.max_seconds
        conn = None
        while not self._stop.is_set() and time.monotonic() < deadline and self._take_turn():
            if interval:
                delay = next_at - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
                next_at = max(next_at + interval, time.monotonic() - interval)
            if conn is None:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                conn.request("GET", self.path, headers={"Connection": "keep-alive"})
                res = conn.getresponse()
                body = res.read()
                answer = Answer(time.monotonic(), res.status)
                if answer.ok:
                    try:
                        parsed = json.loads(body)
                        answer.version, answer.instance = str(parsed.get("version", "")), parsed.get("instance", "")
                    except ValueError:
                        pass
                else:
                    answer.error = body[:200].decode(errors="replace")
                if res.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                answer = Answer(time.monotonic(), 0, error=f"{type(e).__name__}: {e}")
                conn.close()
                conn = None
            self._record(answer)
        if conn is not None:
            conn.close()

    def __enter__(self):
        self.started = time.monotonic()
        for w in self._workers:
            w.start()
        return self

    def stop(self):
        self._stop.set()
        for w in self._workers:
            w.join(timeout=self.timeout + 5)

    def __exit__(self, *exc):
        self.stop()
        # Captured by pytest and shown with a failing test: what the load saw.
        print(f"steady load on {self.path}: {self.summary()}")
        return False

    def wait_for(self, count, since=None, timeout=10.0):
        """Blocks until at least count answers are in (those from since on,
        a monotonic time, when given); bounded by timeout. True if they are."""
        deadline = time.monotonic() + timeout
        while len(self.snapshot(since)) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return len(self.snapshot(since)) >= count

    def snapshot(self, since=None, until=None):
        """The answers so far, optionally those in [since, until] (monotonic times)."""
        with self._lock:
            out = list(self.answers)
        return [a for a in out if (since is None or a.at >= since) and (until is None or a.at <= until)]

    def failures(self, since=None, until=None):
        return [a for a in self.snapshot(since, until) if not a.ok]

    def versions(self, since=None, until=None):
        """{version: answers} among the 2xx answers."""
        out = {}
        for a in self.snapshot(since, until):
            if a.ok:
                out[a.version] = out.get(a.version, 0) + 1
        return out

    def summary(self, since=None, until=None):
        """A short line for an assertion message: counts by status, first failures."""
        answers = self.snapshot(since, until)
        by_status = {}
        for a in answers:
            by_status[a.status] = by_status.get(a.status, 0) + 1
        bad = [(round(a.at - self.started, 2), a.status, a.error[:80]) for a in answers if not a.ok][:5]
        return f"{len(answers)} answers, by status {by_status}, first failures {bad}"
