"""Bad input gets the documented error, and the server keeps serving good requests."""
import gzip
import subprocess
import time

import grpc
import requests
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from conftest import METRONOME
from otel_clients import SERVER, send

PROTOBUF = {"Content-Type": "application/x-protobuf"}
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def request_bytes(service, trace_id=bytes(range(1, 17)), span_id=bytes(range(1, 9)), name="raw"):
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    attribute = resource_spans.resource.attributes.add()
    attribute.key = "service.name"
    attribute.value.string_value = service
    span = resource_spans.scope_spans.add().spans.add()
    span.trace_id = trace_id
    span.span_id = span_id
    span.name = name
    span.end_time_unix_nano = time.time_ns()
    span.start_time_unix_nano = span.end_time_unix_nano - 1000
    return request.SerializeToString()


def status_of(response):
    status = status_pb2.Status()
    status.ParseFromString(response.content)
    return status


def post(metronome, body, headers=PROTOBUF, timeout=5):
    return requests.post(f"{metronome.otlp_http}/v1/traces", data=body, headers=headers, timeout=timeout)


def assert_still_serving(prometheus, metronome, service):
    assert send(metronome, "grpc", service, [("after", SERVER, 0.001, False)]) != []
    response = post(metronome, request_bytes(service, name="after-http"))
    assert response.status_code == 200
    prometheus.wait_value(f'traces_spanmetrics_calls_total{{service="{service}",span_name="after"}}', 1)
    prometheus.wait_value(f'traces_spanmetrics_calls_total{{service="{service}",span_name="after-http"}}', 1)


def test_garbage_and_truncated_protobuf_get_400_with_a_status(prometheus, metronome, service):
    response = post(metronome, b"\xff\xfe garbage \x00\x01")
    assert response.status_code == 400
    assert status_of(response).code == 3  # INVALID_ARGUMENT
    assert "malformed ExportTraceServiceRequest" in status_of(response).message

    good = request_bytes(service)
    response = post(metronome, good[: len(good) - 7])
    assert response.status_code == 400
    assert "truncated" in status_of(response).message or "past the end" in status_of(response).message
    assert_still_serving(prometheus, metronome, service)


def test_wrong_content_type_gets_415(metronome):
    response = post(metronome, b"{}", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert "unsupported content type 'text/plain'" in response.text
    response = post(metronome, b"{}", headers={"Content-Type": "application/json", "Content-Encoding": "br"})
    assert response.status_code == 415


def test_malformed_ids_are_rejected_naming_the_problem(prometheus, metronome, service):
    response = post(metronome, request_bytes(service, trace_id=bytes(15)))
    assert response.status_code == 400
    assert status_of(response).message == "span 0 has a 15-byte trace id; a trace id must be 16 bytes"
    response = post(metronome, request_bytes(service, span_id=bytes(8)))
    assert response.status_code == 400
    assert "all-zero span id" in status_of(response).message

    body = b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102","spanId":"0102030405060708"}]}]}]}'
    response = post(metronome, body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["message"] == "span 0 has a 2-byte trace id; a trace id must be 16 bytes"

    response = post(metronome, b'{"resourceSpans": [', headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "invalid OTLP/JSON" in response.json()["message"]
    assert_still_serving(prometheus, metronome, service)


def test_oversized_bodies_get_413(prometheus, metronome, service):
    # The receiver in these tests accepts 1 MiB.
    response = post(metronome, b"\x0a" * (2 << 20))
    assert response.status_code == 413
    bomb = gzip.compress(b"\x00" * (4 << 20))
    response = post(metronome, bomb, headers={**PROTOBUF, "Content-Encoding": "gzip"})
    assert response.status_code == 413
    response = post(metronome, b"not gzip", headers={**PROTOBUF, "Content-Encoding": "gzip"})
    assert response.status_code == 400
    assert_still_serving(prometheus, metronome, service)


def test_invalid_tenant_is_rejected(metronome, service):
    response = post(metronome, request_bytes(service), headers={**PROTOBUF, "X-Scope-OrgID": "a/b"})
    assert response.status_code == 400
    assert "contains '/'" in status_of(response).message


def test_grpc_garbage_gets_invalid_argument(prometheus, metronome, service):
    with grpc.insecure_channel(f"127.0.0.1:{metronome.grpc_port}") as channel:
        export = channel.unary_unary(EXPORT, request_serializer=None, response_deserializer=None)
        try:
            export(b"\xff\xff\xff", timeout=5)
            raise AssertionError("garbage was accepted")
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "malformed ExportTraceServiceRequest" in error.details()
        try:
            export(request_bytes(service, trace_id=bytes(15)), timeout=5)
            raise AssertionError("a 15-byte trace id was accepted")
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "15-byte trace id" in error.details()
        try:
            export(request_bytes(service), metadata=(("x-scope-orgid", ".."),), timeout=5)
            raise AssertionError("tenant '..' was accepted")
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert export(request_bytes(service), timeout=5) == b""
    assert_still_serving(prometheus, metronome, service)


def test_validate_config_names_an_unknown_key(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("metrics_generator:\n  registry:\n    colection_interval: 10s\n")
    result = subprocess.run([METRONOME, "validate-config", str(config)], capture_output=True, text=True)
    assert result.returncode != 0
    assert "line 3" in result.stderr
    assert "unknown key 'colection_interval'" in result.stderr
    good = tmp_path / "good.yaml"
    good.write_text("metrics_generator:\n  registry:\n    collection_interval: 10s\n")
    result = subprocess.run([METRONOME, "validate-config", str(good)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    started = subprocess.run([METRONOME, "--config", str(config)], capture_output=True, text=True, timeout=30)
    assert started.returncode != 0
    assert "colection_interval" in started.stderr
