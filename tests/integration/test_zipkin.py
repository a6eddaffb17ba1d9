"""Zipkin v2 JSON (`POST /api/v2/spans`, issue 14): spans from the OpenTelemetry SDK's Zipkin exporter make the same
span-metrics series in the real Prometheus as the same spans over OTLP; bad input gets a clear 4xx."""

import gzip
import json
import time

import requests

from conftest import wait_until
from otel_clients import CLIENT, SERVER, send

SPANS = [
    ("GET /cart", SERVER, 0.003, False),
    ("GET /cart", SERVER, 0.005, True),
    ("SELECT cart", CLIENT, 0.001, False),
    ("POST /pay", SERVER, 0.007, True),
]
# The size of a span depends on what its wire format carries (the Zipkin exporter adds scope tags): not compared.
COMPARED = ["traces_spanmetrics_calls_total", "traces_spanmetrics_latency_bucket", "traces_spanmetrics_latency_count",
            "traces_spanmetrics_latency_sum"]


def series(prometheus, name, service):
    """The series of `name` for `service`, without the labels that name the service or the scrape, with values."""
    result = prometheus.query(f'{name}{{service="{service}"}}')
    return sorted(
        (tuple(sorted((k, v) for k, v in item["metric"].items() if k not in ("service", "instance", "job"))),
         float(item["value"][1]))
        for item in result
    )


def test_zipkin_json_spans_make_the_same_span_metrics_as_otlp(prometheus, metronome_factory, service):
    metronome = metronome_factory(zipkin=True)
    otlp_service, zipkin_service = f"{service}-otlp", f"{service}-zipkin"
    send(metronome, "http", otlp_service, SPANS)
    results = send(metronome, "zipkin-json", zipkin_service, SPANS)
    assert all(result.name == "SUCCESS" for result in results), results
    for name in COMPARED:
        wait_until(lambda: len(series(prometheus, name, zipkin_service)) == len(series(prometheus, name, otlp_service))
                   and series(prometheus, name, otlp_service), timeout=30, what=f"{name} for both services")
    for name in COMPARED:
        wait_until(lambda: series(prometheus, name, zipkin_service) == series(prometheus, name, otlp_service),
                   timeout=20, what=f"{name} identical over Zipkin and OTLP")
    errors = series(prometheus, "traces_spanmetrics_calls_total", zipkin_service)
    assert ("status_code", "STATUS_CODE_ERROR") in [label for labels, _ in errors for label in labels]


def _field(number, payload):
    """A length-delimited protobuf field (payloads here are shorter than 128 bytes)."""
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


def list_of_spans(service, name):
    """A zipkin.proto3 ListOfSpans with one SERVER span of 5 ms, written by hand (field numbers from zipkin.proto)."""
    span = (_field(1, bytes.fromhex("463ac35c9f6413ad")) + _field(3, bytes.fromhex("a2fb4a1d1a96d312"))
            + bytes([4 << 3, 2]) + _field(5, name.encode())
            + bytes([6 << 3 | 1]) + (int(time.time() * 1e6)).to_bytes(8, "little")
            + bytes([7 << 3]) + bytes([0x88, 0x27])  # 5000 µs
            + _field(8, _field(1, service.encode())))
    return _field(1, span)


def test_zipkin_protobuf_spans_are_counted(prometheus, metronome_factory, service):
    metronome = metronome_factory(zipkin=True)
    response = requests.post(f"{metronome.zipkin}/api/v2/spans", data=list_of_spans(service, "GET /proto"),
                             headers={"Content-Type": "application/x-protobuf"}, timeout=5)
    assert response.status_code == 202, response.text
    selector = f'{{service="{service}",span_name="GET /proto",span_kind="SPAN_KIND_SERVER"}}'
    prometheus.wait_value(f"traces_spanmetrics_calls_total{selector}", 1, timeout=30)
    assert prometheus.value(f"traces_spanmetrics_latency_sum{selector}") == 0.005


def test_zipkin_bad_input_gets_a_clear_4xx(metronome_factory):
    metronome = metronome_factory(zipkin=True)
    url = f"{metronome.zipkin}/api/v2/spans"
    response = requests.post(url, data=b'{"traceId": 1}', headers={"Content-Type": "application/json"}, timeout=5)
    assert response.status_code == 400 and "expected an array of spans" in response.text
    response = requests.post(url, data=b'[{"id": "0000000000000001"}]', timeout=5)
    assert response.status_code == 400 and "traceId" in response.text
    response = requests.post(url, data=b"\x0a\x05", headers={"Content-Type": "application/x-protobuf"}, timeout=5)
    assert response.status_code == 400 and "invalid Zipkin v2 protobuf" in response.text
    response = requests.post(url, data=b"<spans/>", headers={"Content-Type": "text/xml"}, timeout=5)
    assert response.status_code == 415 and "application/x-protobuf" in response.text
    response = requests.post(f"{metronome.zipkin}/api/v1/spans", data=b"[]", timeout=5)
    assert response.status_code == 400 and "/api/v2/spans" in response.text
    # gzip is accepted; a valid span after all that is taken.
    span = [{"traceId": "463ac35c9f6413ad", "id": "a2fb4a1d1a96d312", "name": "ok", "timestamp": 1, "duration": 5,
             "localEndpoint": {"serviceName": "zipkin-gzip"}}]
    response = requests.post(url, data=gzip.compress(json.dumps(span).encode()),
                             headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}, timeout=5)
    assert response.status_code == 202, response.text
    metrics = metronome.self_metrics()
    assert 'metronome_receiver_requests_total{receiver="zipkin"} 1' in metrics
    assert 'metronome_receiver_spans_total{receiver="zipkin"} 1' in metrics
    assert 'metronome_receiver_requests_rejected_total{receiver="zipkin",status="415",reason="unsupported_media_type"} 1' \
        in metrics


def test_tiny_zipkin_spans_count_what_their_translation_holds_against_the_inflight_budget(metronome_factory):
    # 30,000 of the smallest protobuf spans (8 bytes each, 240 kB) hold ~16 times their bytes while translated:
    # more than a 1 MB budget, although the body alone fits.
    metronome = metronome_factory(zipkin=True, distributor={"max_inflight_bytes": 1_000_000})
    tiny = b"".join(_field(1, _field(1, b"\x01") + _field(3, bytes([i % 255 + 1]))) for i in range(30_000))
    url = f"{metronome.zipkin}/api/v2/spans"
    response = requests.post(url, data=tiny, headers={"Content-Type": "application/x-protobuf"}, timeout=10)
    assert response.status_code == 429, response.text
    assert "distributor.max_inflight_bytes" in response.text and response.headers["Retry-After"] == "1"
    assert metronome.self_metric("metronome_inflight_bytes") == 0
    # A thirtieth of it fits.
    response = requests.post(url, data=tiny[:len(tiny) // 30], headers={"Content-Type": "application/x-protobuf"},
                             timeout=10)
    assert response.status_code == 202, response.text
