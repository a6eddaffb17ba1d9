"""Jaeger receivers (issue 14): spans from the OpenTelemetry SDK's Jaeger exporters — Thrift over HTTP, Thrift compact
over UDP (the agent port), protobuf over gRPC, and the agent client with the binary protocol — make the same
span-metrics series in the real Prometheus as the same spans over OTLP; bad input gets a clear error or is dropped and
counted."""

import socket
import struct
import time

import grpc
import pytest
import requests

from conftest import wait_until
from otel_clients import send, send_edge
from protocol_comparison import COMPARED, EDGE_SERIES, SPANS, edge_series, same, send_legacy, series

TRANSPORTS = ["thrift-http", "thrift-compact-udp", "thrift-binary-udp", "grpc"]


def endpoint(metronome, transport):
    return {
        "thrift-http": metronome.jaeger_http,
        "thrift-compact-udp": f"127.0.0.1:{metronome.jaeger_compact_port}",
        "thrift-binary-udp": f"127.0.0.1:{metronome.jaeger_binary_port}",
        "grpc": f"127.0.0.1:{metronome.jaeger_grpc_port}",
    }[transport]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_jaeger_spans_make_the_same_span_metrics_as_otlp(prometheus, metronome_factory, service, transport):
    metronome = metronome_factory(jaeger=True)
    otlp_service, jaeger_service = f"{service}-otlp", f"{service}-jaeger"
    send(metronome, "http", otlp_service, SPANS)
    results = send_legacy(transport, endpoint(metronome, transport), jaeger_service, SPANS)
    assert results == ["SUCCESS"] * len(SPANS), results
    for name in COMPARED:
        wait_until(lambda: len(series(prometheus, name, jaeger_service)) == len(series(prometheus, name, otlp_service))
                   and series(prometheus, name, otlp_service), timeout=30, what=f"{name} for both services")
    for name in COMPARED:
        wait_until(lambda: same(series(prometheus, name, jaeger_service), series(prometheus, name, otlp_service),
                                # The gRPC exporter turns nanoseconds into a Timestamp through a float, which moves
                                # each time by up to ~200 ns: its latency sums match to a microsecond per span.
                                tolerance=1e-6 * len(SPANS) if transport == "grpc" and name.endswith("_sum") else 0),
                   timeout=20, what=f"{name} identical over Jaeger {transport} and OTLP")
    errors = series(prometheus, "traces_spanmetrics_calls_total", jaeger_service)
    assert ("status_message", "it broke") in [label for labels, _ in errors for label in labels]
    receiver = {"thrift-http": "jaeger_thrift_http", "thrift-compact-udp": "jaeger_thrift_compact",
                "thrift-binary-udp": "jaeger_thrift_binary", "grpc": "jaeger_grpc"}[transport]
    assert metronome.self_metric("metronome_receiver_spans_total", receiver=receiver) == len(SPANS)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_jaeger_rpc_makes_the_same_service_graph_edge_as_otlp(prometheus, metronome_factory, service, transport):
    metronome = metronome_factory(jaeger=True, overrides={"processors": ["service-graphs"]})
    otlp_service, jaeger_service = f"{service}-o", f"{service}-j"
    assert [result.name for result in send_edge(metronome, "http", otlp_service)] == ["SUCCESS"] * 2
    assert send_legacy(transport, endpoint(metronome, transport), jaeger_service, "edge") == ["SUCCESS"] * 2
    prometheus.wait_value(f'traces_service_graph_request_total{{client="{jaeger_service}-client"}}', 1, timeout=30)
    for name in EDGE_SERIES:
        wait_until(lambda: same(edge_series(prometheus, name, jaeger_service), edge_series(prometheus, name, otlp_service),
                                tolerance=1e-6 if transport == "grpc" and name.endswith("_sum") else 0)
                   and edge_series(prometheus, name, otlp_service), timeout=20,
                   what=f"{name} identical over Jaeger {transport} and OTLP")


def test_jaeger_bad_input_gets_a_clear_error_or_is_dropped_and_counted(metronome_factory):
    metronome = metronome_factory(jaeger=True)
    url = f"{metronome.jaeger_http}/api/traces"
    thrift = {"Content-Type": "application/x-thrift"}
    response = requests.post(url, data=b"\x0c\x00\x01\x0b", headers=thrift, timeout=5)
    assert response.status_code == 400 and "invalid Jaeger Thrift (binary protocol)" in response.text, response.text
    # A list claiming a billion spans is refused before anything is allocated for them.
    response = requests.post(url, data=b"\x0f\x00\x02\x0c\x40\x00\x00\x00", headers=thrift, timeout=5)
    assert response.status_code == 400 and "longer than the" in response.text, response.text
    response = requests.post(url, data=b"{}", headers={"Content-Type": "application/json"}, timeout=5)
    assert response.status_code == 415 and "application/x-thrift" in response.text
    # gRPC: INVALID_ARGUMENT with the reason.
    with grpc.insecure_channel(f"127.0.0.1:{metronome.jaeger_grpc_port}") as channel:
        post = channel.unary_unary("/jaeger.api_v2.CollectorService/PostSpans")
        with pytest.raises(grpc.RpcError) as failure:
            post(b"\x0a\x05\x0a\x03\x0a\x01", timeout=5)
        assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "invalid Jaeger PostSpansRequest" in failure.value.details()
    # UDP: dropped and counted, the port keeps serving.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"\x82\x21\x01\x09emitBatch\x1c\x1c\x18\x03abc", ("127.0.0.1", metronome.jaeger_compact_port))
        sock.sendto(b"garbage", ("127.0.0.1", metronome.jaeger_binary_port))
    wait_until(lambda: metronome.self_metric("metronome_receiver_requests_rejected_total", status="dropped",
                                             reason="invalid") == 2, what="two dropped datagrams")
    results = send_legacy("thrift-compact-udp", endpoint(metronome, "thrift-compact-udp"), "after-garbage", SPANS[:1])
    assert results == ["SUCCESS"]
    wait_until(lambda: metronome.self_metric("metronome_receiver_spans_total", receiver="jaeger_thrift_compact") == 1,
               what="the span after the bad datagrams")
    metrics = metronome.self_metrics()
    assert 'metronome_receiver_requests_rejected_total{receiver="jaeger_thrift_http",status="400",reason="invalid"} 2' \
        in metrics
    assert 'metronome_receiver_requests_rejected_total{receiver="jaeger_grpc",status="invalidArgument",reason="invalid"} 1' \
        in metrics


def thrift_batch(service, span_id):
    """A Jaeger Thrift Batch with one 5 ms SERVER span, in the binary protocol, written by hand (jaeger.thrift ids)."""
    def field(kind, number, value):
        return struct.pack(">bh", kind, number) + value

    def string(text):
        return struct.pack(">i", len(text)) + text.encode()

    now = int(time.time() * 1e6)
    tag = field(11, 1, string("span.kind")) + field(8, 2, struct.pack(">i", 0)) + field(11, 3, string("server")) + b"\0"
    span = (field(10, 1, struct.pack(">q", 7)) + field(10, 2, struct.pack(">q", 0)) + field(10, 3, struct.pack(">q", span_id))
            + field(10, 4, struct.pack(">q", 0)) + field(11, 5, string("GET /tenant")) + field(8, 7, struct.pack(">i", 1))
            + field(10, 8, struct.pack(">q", now - 5000)) + field(10, 9, struct.pack(">q", 5000))
            + field(15, 10, struct.pack(">bi", 12, 1) + tag) + b"\0")
    process = field(11, 1, string(service)) + b"\0"
    return field(12, 1, process) + field(15, 2, struct.pack(">bi", 12, 1) + span) + b"\0"


def test_jaeger_tenants_come_from_the_header_and_the_udp_ports_tenant_key(metronome_factory, service):
    metronome = metronome_factory(jaeger=True, jaeger_udp_tenant="agents")
    response = requests.post(f"{metronome.jaeger_http}/api/traces", data=thrift_batch(service, 1), timeout=5,
                             headers={"Content-Type": "application/x-thrift", "X-Scope-OrgID": "team-a"})
    assert response.status_code == 202, response.text
    assert send_legacy("thrift-compact-udp", endpoint(metronome, "thrift-compact-udp"), service, SPANS[:1]) \
        == ["SUCCESS"]
    wait_until(lambda: metronome.self_metric("metronome_spans_received_total", tenant="team-a") == 1
               and metronome.self_metric("metronome_spans_received_total", tenant="agents") == 1,
               what="one span for each tenant")
    assert metronome.self_metric("metronome_spans_received_total", tenant="single-tenant") == 0
