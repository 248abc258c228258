"""GET /metrics parsed back with a small Prometheus text parser."""

import re

from meshd_harness import Meshd, demo, free_ports, http, wait_until

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{name: [(labels, value)]}, checking every line is valid exposition."""
    samples, types = {}, {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            types[name] = kind
            continue
        if line.startswith("#"):
            continue
        m = LINE.match(line)
        assert m, f"not exposition format: {line!r}"
        labels = dict(LABEL.findall(m.group(3) or ""))
        samples.setdefault(m.group(1), []).append((labels, float(m.group(4))))
    return samples, types


def value(samples, name, **labels):
    for l, v in samples.get(name, []):
        if all(l.get(k) == val for k, val in labels.items()):
            return v
    raise KeyError(f"{name} {labels}")


def test_metrics_scrape(tmp_path):
    port = free_ports(1)[0]
    cfg = {"mesh": {"gateway": "127.0.0.1:0"},
           "services": {"web": {"command": demo(), "port": port, "health": {"type": "http", "interval": "200ms"}}}}
    with Meshd(tmp_path, cfg) as m:
        wait_until(lambda: m.get("/api/v1/discover/web?passing=true")["instances"], what="web passing")
        for _ in range(5):
            assert http("GET", f"{m.gateway}/web/x")[0] == 200
        status, headers, text = m.api("GET", "/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        samples, types = parse(text)
        for name, kind in types.items():
            assert name.startswith("meshd_"), name
            if kind == "counter":
                assert name.endswith("_total"), name
        assert value(samples, "meshd_service_up", service="web") == 1
        assert value(samples, "meshd_service_state", service="web", state="running") == 1
        assert value(samples, "meshd_service_state", service="web", state="failed") == 0
        assert value(samples, "meshd_instance_health", instance="web-0", status="passing") == 1
        assert value(samples, "meshd_gateway_requests_total", service="web", code="2xx") == 5
        assert value(samples, "meshd_gateway_request_duration_seconds_count", service="web") == 5
        assert value(samples, "meshd_gateway_request_duration_seconds_bucket", service="web", le="+Inf") == 5
        assert value(samples, "meshd_breaker_state", instance="web-0", state="closed") == 1
        assert value(samples, "meshd_process_resident_memory_bytes") > 1e6
        assert value(samples, "meshd_process_open_fds") > 3
        assert value(samples, "meshd_health_check_duration_seconds", instance="web-0") >= 0
        assert types["meshd_gateway_request_duration_seconds"] == "histogram"
