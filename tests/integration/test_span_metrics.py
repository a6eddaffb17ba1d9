"""Spans from the real OpenTelemetry SDK (and hand-written OTLP/JSON) become exact traces_spanmetrics_* series in a
real Prometheus."""
import json
import os
import socket
import time

import pytest
import requests
from opentelemetry.sdk.trace.export import SpanExportResult

from conftest import wait_until
from otel_clients import CLIENT, SERVER, TRANSPORTS, send


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sdk_spans_become_exact_span_metrics(prometheus, metronome, service, transport):
    spans = [("GET /cart", SERVER, 0.003, False)] * 3 + [("GET /cart", SERVER, 0.030, True)] * 2
    spans += [("SELECT carts", CLIENT, 0.001, False)] * 4
    results = send(metronome, transport, service, spans)
    assert results == [SpanExportResult.SUCCESS] * len(spans)

    ok = f'service="{service}",span_name="GET /cart",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"'
    failed = f'service="{service}",span_name="GET /cart",status_code="STATUS_CODE_ERROR",status_message="it broke"'
    client = f'service="{service}",span_name="SELECT carts",span_kind="SPAN_KIND_CLIENT"'
    prometheus.wait_value(f"traces_spanmetrics_calls_total{{{client}}}", 4)
    assert prometheus.value(f"traces_spanmetrics_calls_total{{{ok}}}") == 3
    assert prometheus.value(f"traces_spanmetrics_calls_total{{{failed}}}") == 2

    # Histogram: 3 ms spans land in le=0.004, 30 ms spans only in +Inf; 1 ms spans in le=0.002.
    buckets = {"0.002": 0, "0.004": 3, "0.008": 3, "+Inf": 3}
    for le, count in buckets.items():
        assert prometheus.value(f'traces_spanmetrics_latency_bucket{{{ok},le="{le}"}}') == count, le
    assert prometheus.value(f'traces_spanmetrics_latency_bucket{{{failed},le="0.008"}}') == 0
    assert prometheus.value(f'traces_spanmetrics_latency_bucket{{{failed},le="+Inf"}}') == 2
    assert prometheus.value(f"traces_spanmetrics_latency_count{{{ok}}}") == 3
    assert prometheus.value(f"traces_spanmetrics_latency_sum{{{ok}}}") == pytest.approx(0.009, abs=1e-6)
    assert prometheus.value(f"traces_spanmetrics_latency_sum{{{failed}}}") == pytest.approx(0.060, abs=1e-6)
    assert prometheus.value(f'traces_spanmetrics_latency_bucket{{{client},le="0.002"}}') == 4
    assert prometheus.value(f"traces_spanmetrics_size_total{{{client}}}") > 0


def test_initial_zero_and_constant_labels(prometheus, metronome, service):
    send(metronome, "grpc", service, [("op", SERVER, 0.001, False)] * 2)
    selector = f'traces_spanmetrics_calls_total{{service="{service}"}}'
    prometheus.wait_value(selector, 2)
    samples, labels = prometheus.samples(selector)
    # Spec §5.2: the first sample is a 0 one second before the minute of the first collection.
    first_time, first_value = samples[0]
    assert first_value == 0
    assert round(first_time * 1000) % 60_000 == 59_000
    assert samples[1][1] == 2
    assert labels["source"] == "metronome"
    assert labels["__metrics_gen_instance"] == socket.gethostname()
    assert "status_message" not in labels  # empty values never become labels
    # The sum has no initial zero.
    sums, _ = prometheus.samples(f'traces_spanmetrics_latency_sum{{service="{service}"}}')
    assert sums[0][1] > 0


def test_counters_keep_accumulating_across_collections(prometheus, metronome, service):
    selector = f'traces_spanmetrics_calls_total{{service="{service}"}}'
    send(metronome, "http", service, [("op", SERVER, 0.001, False)] * 3)
    prometheus.wait_value(selector, 3)
    send(metronome, "grpc", service, [("op", SERVER, 0.001, False)] * 4)
    prometheus.wait_value(selector, 7)
    samples, _ = prometheus.samples(selector)
    values = [value for _, value in samples]
    assert values == sorted(values), "a counter went down"


def test_otlp_json_with_hex_ids(prometheus, metronome, service):
    now = time.time_ns()
    body = {
        "resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
            "scopeSpans": [{"scope": {"name": "handwritten"}, "spans": [
                {
                    "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
                    "name": "json-span", "kind": "SPAN_KIND_CONSUMER",
                    "startTimeUnixNano": str(now - 5_000_000), "endTimeUnixNano": str(now),
                    "status": {"code": 2, "message": "queue full"},
                },
                {
                    "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b175",
                    "name": "json-span", "kind": 5, "startTimeUnixNano": now - 5_000_000, "endTimeUnixNano": now,
                    "status": {"code": "STATUS_CODE_ERROR", "message": "queue full"},
                },
            ]}],
        }]
    }
    response = requests.post(f"{metronome.otlp_http}/v1/traces", json=body, timeout=5)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {}
    selector = (
        f'traces_spanmetrics_calls_total{{service="{service}",span_name="json-span",span_kind="SPAN_KIND_CONSUMER",'
        f'status_code="STATUS_CODE_ERROR",status_message="queue full"}}'
    )
    prometheus.wait_value(selector, 2)
    assert prometheus.value(f'traces_spanmetrics_latency_bucket{{service="{service}",le="0.008"}}') == 2


def test_spans_outside_the_ingestion_window_are_reported_as_partial_success(prometheus, metronome, service):
    now = time.time_ns()
    old = now - 2 * 3600 * 10**9
    spans = [
        {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": f"eee19b7ec3c1b17{i}", "name": "window",
         "startTimeUnixNano": str(end - 1000), "endTimeUnixNano": str(end)}
        for i, end in enumerate([now, old, old])
    ]
    body = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                               "scopeSpans": [{"spans": spans}]}]}
    response = requests.post(f"{metronome.otlp_http}/v1/traces", json=body, timeout=5)
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "2"
    assert "30s" in partial["errorMessage"]
    prometheus.wait_value(f'traces_spanmetrics_calls_total{{service="{service}"}}', 1)
    assert 'reason="outside_metrics_ingestion_slack"' in metronome.self_metrics()


def test_tenants_get_their_own_generator(prometheus, metronome, service):
    results = send(metronome, "http", service, [("op", SERVER, 0.001, False)], headers={"X-Scope-OrgID": "team-a"})
    assert results == [SpanExportResult.SUCCESS]
    results = send(metronome, "grpc", service, [("op", SERVER, 0.001, False)], headers={"x-scope-orgid": "team-b"})
    assert results == [SpanExportResult.SUCCESS]
    wait_until(lambda: 'tenant="team-b"' in metronome.self_metrics(), what="team-b metrics")
    metrics = metronome.self_metrics()
    assert 'metronome_spans_received_total{tenant="team-a"} 1' in metrics
    assert 'metronome_spans_received_total{tenant="team-b"} 1' in metrics


def test_generated_series_are_served_without_remote_write(metronome_factory, service):
    metronome = metronome_factory(remote_write_url=None)
    send(metronome, "grpc", service, [("op", SERVER, 0.001, False)] * 2)
    text = wait_until(lambda: service in metronome.generated() and metronome.generated(), what="generated series")
    assert "# TYPE traces_spanmetrics_calls_total counter" in text
    assert "# TYPE traces_spanmetrics_latency histogram" in text
    line = next(l for l in text.splitlines() if l.startswith("traces_spanmetrics_calls_total") and service in l)
    assert line.endswith(" 2")


def test_sigterm_runs_a_final_collection_and_send(prometheus, metronome_factory, service):
    metronome = metronome_factory(collection_interval="10m")
    send(metronome, "grpc", service, [("op", SERVER, 0.001, False)] * 5)
    assert metronome.terminate() == 0
    assert prometheus.value(f'traces_spanmetrics_calls_total{{service="{service}"}}') == 5
    assert "final collection done" in metronome.logs()


def test_latency_exemplars_reach_prometheus(prometheus, metronome, service):
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from otel_clients import exporter

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter(metronome, "grpc")))
    tracer = provider.get_tracer("exemplars")
    end = time.time_ns()
    span = tracer.start_span("checkout", kind=SERVER, start_time=end - 3_000_000)
    span.end(end_time=end)
    trace_id = format(span.get_span_context().trace_id, "x")  # lowercase hex, no leading zeros, as Tempo renders it
    provider.shutdown()

    prometheus.wait_value(f'traces_spanmetrics_calls_total{{service="{service}"}}', 1)
    now = time.time()

    def exemplars():
        response = requests.get(
            f"{prometheus.url}/api/v1/query_exemplars",
            params={"query": f'traces_spanmetrics_latency_bucket{{service="{service}"}}', "start": now - 300, "end": now + 60},
            timeout=5,
        )
        return response.json()["data"]

    data = wait_until(exemplars, what="exemplars")
    assert len(data) == 1, data
    assert data[0]["seriesLabels"]["le"] == "0.004"
    assert data[0]["exemplars"][0]["labels"] == {"traceID": trace_id}
    assert float(data[0]["exemplars"][0]["value"]) == pytest.approx(0.003)


def test_stale_series_end_at_once_with_a_staleness_marker(prometheus, metronome_factory, service):
    metronome = metronome_factory(stale_duration="2s")
    send(metronome, "grpc", service, [("op", SERVER, 0.001, False)])
    selector = f'traces_spanmetrics_calls_total{{service="{service}"}}'
    prometheus.wait_value(selector, 1)
    # Without a marker Prometheus would keep returning the last value for its 5-minute lookback.
    wait_until(lambda: prometheus.query(selector) == [], timeout=15, what="the series to end")
    assert prometheus.query(f'traces_spanmetrics_latency_bucket{{service="{service}"}}') == []
