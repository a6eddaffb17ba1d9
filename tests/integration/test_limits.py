"""A cardinality storm: far more label sets than max_active_series. Active series stay at the limit, the overflow
series carries the rest, nothing is lost from the totals, memory stays flat and the server keeps serving."""
import time

import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from conftest import wait_until

SPANS = 200_000
PER_REQUEST = 5_000
LIMIT = 10_000


def storm_request(service, first, count, now):
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    attribute = resource_spans.resource.attributes.add()
    attribute.key = "service.name"
    attribute.value.string_value = service
    spans = resource_spans.scope_spans.add().spans
    for index in range(first, first + count):
        span = spans.add()
        span.trace_id = (index + 1).to_bytes(16, "big")
        span.span_id = (index + 1).to_bytes(8, "big")
        span.name = f"GET /api/items/{index}"
        span.start_time_unix_nano = now - 1_000_000
        span.end_time_unix_nano = now
    return request.SerializeToString()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def self_metric(metronome, name, **labels):
    for line in metronome.self_metrics().splitlines():
        if line.startswith(name + "{") and all(f'{key}="{value}"' in line for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def send_storm(metronome, service, first, count):
    for start in range(first, first + count, PER_REQUEST):
        body = storm_request(service, start, PER_REQUEST, time.time_ns())
        response = requests.post(
            f"{metronome.otlp_http}/v1/traces", data=body, headers={"Content-Type": "application/x-protobuf"}, timeout=30
        )
        assert response.status_code == 200, response.text


def test_cardinality_storm_stays_at_the_limit(prometheus, metronome_factory, service):
    metronome = metronome_factory(overrides={"max_active_series": LIMIT}, collection_interval="2s")
    send_storm(metronome, service, 0, SPANS // 4)
    rss_quarter = rss_kib(metronome.process.pid)
    send_storm(metronome, service, SPANS // 4, SPANS - SPANS // 4)
    rss_end = rss_kib(metronome.process.pid)

    # The fixture's 3 latency buckets: calls + size + (3 buckets + 3) = 8 series per label set.
    per_set = 8
    label_sets = LIMIT // per_set
    calls = f'traces_spanmetrics_calls_total{{service="{service}"}}'
    wait_until(lambda: prometheus.value(f"count({calls})") == label_sets, timeout=30, what="the admitted label sets")
    overflow = prometheus.wait_value('traces_spanmetrics_calls_total{metric_overflow="true"}', SPANS - label_sets,
                                     timeout=30)
    assert overflow
    assert prometheus.value(f"sum({calls})") == label_sets
    assert prometheus.value('traces_spanmetrics_latency_count{metric_overflow="true"}') == SPANS - label_sets
    assert self_metric(metronome, "metronome_registry_limiter_active", limiter="series") == label_sets * per_set
    assert self_metric(metronome, "metronome_registry_limited_total", limiter="series") == (SPANS - label_sets) * per_set
    assert "active series limit reached" in metronome.logs()
    # Memory stays flat once the limit is reached: the last 150,000 spans add no series.
    assert rss_end - rss_quarter < 32 * 1024, (rss_quarter, rss_end)
    assert requests.get(f"{metronome.admin}/ready", timeout=5).status_code == 200


def test_disable_collection_is_a_dry_run(prometheus, metronome_factory, service):
    metronome = metronome_factory(overrides={"disable_collection": True})
    body = storm_request(service, 0, 3, time.time_ns())
    response = requests.post(
        f"{metronome.otlp_http}/v1/traces", data=body, headers={"Content-Type": "application/x-protobuf"}, timeout=5)
    assert response.status_code == 200
    wait_until(lambda: service in metronome.generated(), what="series kept in memory")
    time.sleep(2.5)  # two collection intervals
    assert prometheus.query(f'traces_spanmetrics_calls_total{{service="{service}"}}') == []
    assert metronome.self_metric("metronome_registry_collections_total") == 0
