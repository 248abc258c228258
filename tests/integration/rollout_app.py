"""A test service for rollouts (tests/integration/test_rollout*.py and
scripts/bench/rollout_bench.py): any GET answers 200 with a JSON body that
names its version ($VERSION) and its instance ($MESHD_INSTANCE), and
/health answers by its mode (--mode or $ROLLOUT_MODE):

  healthy            always 200 (the default)
  crash_after_pass   200 once, then the process exits 0.2 s later (the
                     issue's new build that passes one check, then dies)
  never_pass         always 503
  fail_after_pass    200 for the first --passes checks (default 2), then
                     503 forever while the process keeps serving

On SIGTERM it stops accepting, answers what is in flight with
"Connection: close" and exits, as a well-behaved service does when meshd
drains it. Standard library only; listens on 127.0.0.1:$PORT (or --port)."""

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("healthy", "crash_after_pass", "never_pass", "fail_after_pass")


class App:
    def __init__(self, mode, passes, version, instance):
        self.mode, self.passes, self.version, self.instance = mode, passes, version, instance
        self.checks = 0
        self.passed = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def health(self):
        """(status, text) of one health check; counts the passes."""
        with self.lock:
            self.checks += 1
            if self.mode == "never_pass":
                return 503, "never passes\n"
            if self.mode == "fail_after_pass" and self.passed >= self.passes:
                return 503, f"failing since check {self.passes + 1}\n"
            self.passed += 1
            if self.mode == "crash_after_pass" and self.passed == 1:
                threading.Timer(0.2, lambda: os._exit(1)).start()
            return 200, "ok\n"


def handler_for(app):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Head and body leave in one write (flushed when the request is
        # done): no 40 ms wait for a delayed ACK between them, and a crash
        # (crash_after_pass) falls before or after an answer, never inside one.
        wbufsize = -1
        disable_nagle_algorithm = True

        def answer(self, status, body, content_type):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            if app.stopping.is_set():
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def do_GET(self):
            if self.path == "/health":
                status, text = app.health()
                self.answer(status, text, "text/plain")
                return
            body = json.dumps({"version": app.version, "instance": app.instance, "pid": os.getpid(),
                               "path": self.path})
            self.answer(200, body + "\n", "application/json")

        do_HEAD = do_GET

        def log_message(self, *args):
            pass

    return Handler


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "0")))
    parser.add_argument("--mode", choices=MODES, default=os.environ.get("ROLLOUT_MODE", "healthy"))
    parser.add_argument("--passes", type=int, default=2, help="checks passed before fail_after_pass fails")
    args = parser.parse_args(argv)
    if args.port <= 0:
        parser.error("--port (or $PORT) is required")
    app = App(args.mode, args.passes, os.environ.get("VERSION", "0"),
              os.environ.get("MESHD_INSTANCE", f"rollout-app-{args.port}"))
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(app))
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: app.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: app.stopping.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    print(f"{app.instance} (version {app.version}, {app.mode}) listening on 127.0.0.1:{args.port}", flush=True)
    while not app.stopping.wait(0.1):
        pass
    server.shutdown()
    server.server_close()
    # Requests already read get their answer (with Connection: close) before the exit.
    time.sleep(0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
