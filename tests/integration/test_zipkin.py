"""Zipkin v2 (`POST /api/v2/spans`, issue 14): spans from the OpenTelemetry SDK's Zipkin exporters (JSON, and protobuf
in the legacy venv) make the same span-metrics series and service-graph edges in the real Prometheus as the same spans
over OTLP; py_zipkin's shared RPC spans make an edge; bad input gets a clear 4xx."""

import gzip
import json
import threading
import time

import py_zipkin.transport
import pytest
import requests
from py_zipkin import Encoding, Kind
from py_zipkin.zipkin import ZipkinAttrs, create_http_headers, zipkin_span

from conftest import wait_until
from otel_clients import send, send_edge
from protocol_comparison import COMPARED, EDGE_SERIES, SPANS, edge_series, same, send_legacy, series

def send_zipkin(metronome, transport, service, spans):
    """Sends with the OpenTelemetry SDK's Zipkin JSON exporter, or its protobuf one (in the legacy venv)."""
    if transport == "zipkin-json":
        results = send_edge(metronome, transport, service) if spans == "edge" else send(metronome, transport, service,
                                                                                            spans)
        return [result.name for result in results]
    return send_legacy(transport, metronome.zipkin, service, spans)


@pytest.mark.parametrize("transport", ["zipkin-json", "zipkin-proto"])
def test_zipkin_spans_make_the_same_span_metrics_as_otlp(prometheus, metronome_factory, service, transport):
    metronome = metronome_factory(zipkin=True)
    otlp_service, zipkin_service = f"{service}-otlp", f"{service}-zipkin"
    send(metronome, "http", otlp_service, SPANS)
    assert send_zipkin(metronome, transport, zipkin_service, SPANS) == ["SUCCESS"] * len(SPANS)
    for name in COMPARED:
        wait_until(lambda: len(series(prometheus, name, zipkin_service)) == len(series(prometheus, name, otlp_service))
                   and series(prometheus, name, otlp_service), timeout=30, what=f"{name} for both services")
    for name in COMPARED:
        wait_until(lambda: series(prometheus, name, zipkin_service) == series(prometheus, name, otlp_service),
                   timeout=20, what=f"{name} identical over {transport} and OTLP")
    errors = series(prometheus, "traces_spanmetrics_calls_total", zipkin_service)
    assert ("status_code", "STATUS_CODE_ERROR") in [label for labels, _ in errors for label in labels]


@pytest.mark.parametrize("transport", ["zipkin-json", "zipkin-proto"])
def test_a_zipkin_rpc_makes_the_same_service_graph_edge_as_otlp(prometheus, metronome_factory, service, transport):
    metronome = metronome_factory(zipkin=True, overrides={"processors": ["service-graphs"]})
    otlp_service, zipkin_service = f"{service}-o", f"{service}-z"
    assert [result.name for result in send_edge(metronome, "http", otlp_service)] == ["SUCCESS"] * 2
    assert send_zipkin(metronome, transport, zipkin_service, "edge") == ["SUCCESS"] * 2
    prometheus.wait_value(f'traces_service_graph_request_total{{client="{zipkin_service}-client"}}', 1, timeout=30)
    for name in EDGE_SERIES:
        wait_until(lambda: edge_series(prometheus, name, zipkin_service) == edge_series(prometheus, name, otlp_service)
                   and edge_series(prometheus, name, otlp_service), timeout=20,
                   what=f"{name} identical over {transport} and OTLP")


class ZipkinTransport(py_zipkin.transport.BaseTransportHandler):
    """py_zipkin's reporter: posts each encoded batch to Metronome's collector API."""

    def __init__(self, url, content_type):
        self.url, self.content_type = url, content_type

    def get_max_payload_bytes(self):
        return None

    def send(self, payload):
        response = requests.post(self.url, data=payload, headers={"Content-Type": self.content_type}, timeout=5)
        assert response.status_code == 202, response.text


def test_py_zipkin_shared_rpc_spans_make_a_service_graph_edge(prometheus, metronome_factory, service):
    """Zipkin's own client semantics: py_zipkin's server span joins the client's span (B3, `shared: true`)."""
    metronome = metronome_factory(zipkin=True, overrides={"processors": ["span-metrics", "service-graphs"]})
    transport = ZipkinTransport(f"{metronome.zipkin}/api/v2/spans", "application/json")
    front, back = f"{service}-front", f"{service}-back"
    common = dict(transport_handler=transport, encoding=Encoding.V2_JSON)

    def serve(headers):
        # The server, handed the client's B3 headers in a tracer of its own (a thread), reports its half of the span.
        attrs = ZipkinAttrs(trace_id=headers["X-B3-TraceId"], span_id=headers["X-B3-SpanId"],
                            parent_span_id=headers["X-B3-ParentSpanId"], flags="0", is_sampled=True)
        with zipkin_span(service_name=back, span_name="GET /items", zipkin_attrs=attrs, kind=Kind.SERVER, **common):
            time.sleep(0.002)

    with zipkin_span(service_name=front, span_name="GET /", sample_rate=100.0, **common):
        with zipkin_span(service_name=front, span_name="GET /items", kind=Kind.CLIENT, **common):
            server = threading.Thread(target=serve, args=(create_http_headers(),))
            server.start()
            server.join()
    prometheus.wait_value(f'traces_service_graph_request_total{{client="{front}",server="{back}"}}', 1, timeout=30)
    for kind in ("SPAN_KIND_SERVER", "SPAN_KIND_CLIENT"):
        prometheus.wait_value(f'traces_spanmetrics_calls_total{{service=~"{service}-.*",span_kind="{kind}",'
                              f'span_name="GET /items"}}', 1, timeout=30)


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
