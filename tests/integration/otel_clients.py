"""Sends spans with the real OpenTelemetry Python SDK over every OTLP transport, and Zipkin v2 JSON."""
import time

import grpc
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.exporter.zipkin.json import ZipkinExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from span_shapes import record_edge, record_spans

TRANSPORTS = ("grpc", "grpc-gzip", "http", "http-gzip")


def exporter(metronome, transport):
    if transport == "grpc":
        return GrpcExporter(endpoint=f"127.0.0.1:{metronome.grpc_port}", insecure=True, timeout=5)
    if transport == "grpc-gzip":
        return GrpcExporter(
            endpoint=f"127.0.0.1:{metronome.grpc_port}", insecure=True, timeout=5, compression=grpc.Compression.Gzip
        )
    if transport == "http":
        return HttpExporter(endpoint=f"{metronome.otlp_http}/v1/traces", timeout=5)
    if transport == "http-gzip":
        return HttpExporter(endpoint=f"{metronome.otlp_http}/v1/traces", timeout=5, compression=Compression.Gzip)
    if transport == "zipkin-json":
        return ZipkinExporter(endpoint=f"{metronome.zipkin}/api/v2/spans", timeout=5)
    raise ValueError(transport)


class RecordingExporter:
    """Wraps an exporter and remembers each export's result: the SDK logs failures instead of raising."""

    def __init__(self, inner, span_ids=None):
        self.inner = inner
        self.results = []
        self.span_ids = span_ids

    def export(self, spans):
        result = self.inner.export(spans)
        self.results.append(result)
        if self.span_ids is not None and result.name == "SUCCESS":
            self.span_ids.update(format(span.context.span_id, "016x") for span in spans)
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return True


def send(metronome, transport, service, spans, headers=None, span_ids=None):
    """Sends `spans`: a list of (name, kind, duration_seconds, error) with one tracer provider (one resource).

    Returns the export results (one per span: SimpleSpanProcessor exports synchronously); adds the ids (hex) of the
    spans exported successfully to `span_ids`, when given.
    """
    inner = exporter(metronome, transport)
    if headers:
        inner = type(inner)(**_with_headers(metronome, transport, headers))
    recording = RecordingExporter(inner, span_ids)
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(recording))
    record_spans(provider, spans)
    provider.shutdown()
    return recording.results


def send_edge(metronome, transport, service):
    """One RPC (span_shapes.record_edge) from `service`-client to `service`-server; returns the export results."""
    results = []
    providers = []
    for name in (f"{service}-client", f"{service}-server"):
        recording = RecordingExporter(exporter(metronome, transport))
        recording.results = results
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        provider.add_span_processor(SimpleSpanProcessor(recording))
        providers.append(provider)
    record_edge(*providers)
    for provider in reversed(providers):
        provider.shutdown()
    return results


def _with_headers(metronome, transport, headers):
    if transport.startswith("grpc"):
        return dict(
            endpoint=f"127.0.0.1:{metronome.grpc_port}", insecure=True, timeout=5, headers=tuple(headers.items())
        )
    return dict(endpoint=f"{metronome.otlp_http}/v1/traces", timeout=5, headers=headers)


SERVER, CLIENT = SpanKind.SERVER, SpanKind.CLIENT
