"""The spans the integration tests send, recorded with the OpenTelemetry SDK's API alone, so the clients of every
venv (otel_clients.py in .venv, legacy_client.py in .venv-legacy) send the same shapes."""
import time

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

KINDS = {"server": SpanKind.SERVER, "client": SpanKind.CLIENT}


def record_spans(tracer_provider, spans):
    """`spans`: (name, kind, duration_seconds, error) each, ending now; an error has the message "it broke"."""
    tracer = tracer_provider.get_tracer("metronome-tests")
    for name, kind, seconds, error in spans:
        end = time.time_ns()
        span = tracer.start_span(name, kind=KINDS.get(kind, kind), start_time=end - int(seconds * 1e9))
        if error:
            span.set_status(Status(StatusCode.ERROR, "it broke"))
        span.end(end_time=end)


def record_edge(client_provider, server_provider):
    """One RPC "GET /items": the client span (3 ms) and, its child, the server span (1 ms inside it)."""
    end = time.time_ns()
    client = client_provider.get_tracer("metronome-tests").start_span(
        "GET /items", kind=SpanKind.CLIENT, start_time=end - 3_000_000)
    server = server_provider.get_tracer("metronome-tests").start_span(
        "GET /items", kind=SpanKind.SERVER, context=trace.set_span_in_context(client), start_time=end - 2_000_000)
    server.end(end_time=end - 1_000_000)
    client.end(end_time=end)
