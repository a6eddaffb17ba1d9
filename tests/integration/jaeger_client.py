"""Sends spans with the OpenTelemetry Python SDK's Jaeger exporters (they ship only for SDK 1.21 and older, so this
runs in its own venv, .venv-jaeger): Thrift over HTTP to the collector, Thrift compact over UDP to the agent port,
protobuf over gRPC. `thrift-binary-udp` is the exporter's agent client with the Thrift library's binary protocol in
place of compact, as the agent's binary port takes it.

Usage: jaeger_client.py TRANSPORT ENDPOINT SERVICE SPANS_JSON
SPANS_JSON: a list of [name, kind ("server"|"client"), seconds, error]. Prints one export result per span.
"""
import json
import sys
import time

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode


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
    raise ValueError(transport)


class Recording(SpanExporter):
    def __init__(self, inner):
        self.inner, self.results = inner, []

    def export(self, spans):
        result = self.inner.export(spans)
        self.results.append(result)
        return result

    def shutdown(self):
        self.inner.shutdown()


def main():
    transport, endpoint, service, spans = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    recording = Recording(exporter(transport, endpoint))
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(recording))
    tracer = provider.get_tracer("metronome-tests")
    kinds = {"server": SpanKind.SERVER, "client": SpanKind.CLIENT}
    for name, kind, seconds, error in spans:
        end = time.time_ns()
        span = tracer.start_span(name, kind=kinds[kind], start_time=end - int(seconds * 1e9))
        if error:
            span.set_status(Status(StatusCode.ERROR, "it broke"))
        span.end(end_time=end)
    provider.shutdown()
    print(json.dumps([result.name for result in recording.results]))


if __name__ == "__main__":
    main()
