"""Sends spans with OpenTelemetry Python SDK exporters that need an older SDK or protobuf than the other test
clients, so this runs in its own venv (.venv-legacy): the Jaeger exporters — Thrift over HTTP to the collector,
Thrift compact over UDP to the agent port, protobuf over gRPC — and the Zipkin protobuf exporter.
`thrift-binary-udp` is the Jaeger exporter's agent client with the Thrift library's binary protocol in place of
compact, as the agent's binary port takes it.

Usage: legacy_client.py TRANSPORT ENDPOINT SERVICE SPANS_JSON
  SPANS_JSON: a list of [name, kind ("server"|"client"), seconds, error], sent from SERVICE.
Usage: legacy_client.py TRANSPORT ENDPOINT SERVICE edge
  one RPC (span_shapes.record_edge): a client span of SERVICE-client, its child server span of SERVICE-server.
Prints the export results, one per export.
"""
import json
import sys

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter

from span_shapes import record_edge, record_spans


def binary_agent_exporter(host, port):
    """The Jaeger Thrift exporter's UDP agent client, with the binary protocol instead of compact."""
    from opentelemetry.exporter.jaeger.thrift import JaegerExporter
    from thrift.protocol import TBinaryProtocol

    exporter = JaegerExporter(agent_host_name=host, agent_port=port)
    agent = exporter._agent_client
    agent.client = type(agent.client)(iprot=TBinaryProtocol.TBinaryProtocol(trans=agent.buffer))
    return exporter


def exporter(transport, endpoint):
    if transport == "thrift-http":
        from opentelemetry.exporter.jaeger.thrift import JaegerExporter
        return JaegerExporter(collector_endpoint=f"{endpoint}/api/traces")
    if transport == "thrift-compact-udp":
        from opentelemetry.exporter.jaeger.thrift import JaegerExporter
        host, port = endpoint.rsplit(":", 1)
        return JaegerExporter(agent_host_name=host, agent_port=int(port))
    if transport == "thrift-binary-udp":
        host, port = endpoint.rsplit(":", 1)
        return binary_agent_exporter(host, int(port))
    if transport == "grpc":
        from opentelemetry.exporter.jaeger.proto.grpc import JaegerExporter
        return JaegerExporter(collector_endpoint=endpoint, insecure=True, timeout=5)
    if transport == "zipkin-proto":
        from opentelemetry.exporter.zipkin.proto.http import ZipkinExporter
        return ZipkinExporter(endpoint=f"{endpoint}/api/v2/spans", timeout=5)
    raise ValueError(transport)


class Recording(SpanExporter):
    """Remembers each export's result: the SDK logs failures instead of raising."""

    def __init__(self, inner):
        self.inner, self.results = inner, []

    def export(self, spans):
        result = self.inner.export(spans)
        self.results.append(result.name)
        return result

    def shutdown(self):
        self.inner.shutdown()


def provider(transport, endpoint, service, results):
    recording = Recording(exporter(transport, endpoint))
    recording.results = results
    tracer_provider = TracerProvider(resource=Resource.create({"service.name": service}))
    tracer_provider.add_span_processor(SimpleSpanProcessor(recording))
    return tracer_provider


def send_spans(transport, endpoint, service, spans, results):
    tracer_provider = provider(transport, endpoint, service, results)
    record_spans(tracer_provider, spans)
    tracer_provider.shutdown()


def send_edge(transport, endpoint, service, results):
    client_provider = provider(transport, endpoint, f"{service}-client", results)
    server_provider = provider(transport, endpoint, f"{service}-server", results)
    record_edge(client_provider, server_provider)
    server_provider.shutdown()
    client_provider.shutdown()


def main():
    transport, endpoint, service, spans = sys.argv[1:5]
    results = []
    if spans == "edge":
        send_edge(transport, endpoint, service, results)
    else:
        send_spans(transport, endpoint, service, json.loads(spans), results)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
