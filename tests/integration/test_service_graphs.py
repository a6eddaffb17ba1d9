"""Service graphs end to end: three services, each its own tracer provider (its own resource, as real services are),
calling each other, a database and a queue, sent with the OpenTelemetry Python SDK; edges checked in Prometheus."""
import time
import uuid

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from conftest import wait_until
from otel_clients import exporter

SERVICE_GRAPHS = {"wait": "2s", "histogram_buckets": [0.05, 0.5], "enable_messaging_system_latency_histogram": True,
                  "dimensions": ["deployment.environment"]}


def provider(metronome, service, transport):
    tracer_provider = TracerProvider(
        resource=Resource.create({"service.name": service, "deployment.environment": "test"}))
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter(metronome, transport)))
    return tracer_provider


def span(tracer, name, kind, parent, start, seconds, attributes=None, error=False):
    """A finished span `seconds` long starting at `start` (ns), child of `parent` (a span or None)."""
    context = trace.set_span_in_context(parent) if parent is not None else None
    result = tracer.start_span(name, context=context, kind=kind, start_time=start, attributes=attributes or {})
    if error:
        result.set_status(Status(StatusCode.ERROR, "failed"))
    result.end(end_time=start + int(seconds * 1e9))
    return result


def test_three_services_a_database_a_queue_and_an_external_call(prometheus, metronome_factory):
    run = uuid.uuid4().hex[:8]
    frontend, checkout, ledger = f"frontend-{run}", f"checkout-{run}", f"ledger-{run}"
    metronome = metronome_factory(overrides={"processors": ["service-graphs"]}, service_graphs=SERVICE_GRAPHS)
    providers = {name: provider(metronome, name, transport)
                 for name, transport in [(frontend, "grpc"), (checkout, "http"), (ledger, "grpc")]}
    tracers = {name: p.get_tracer("it") for name, p in providers.items()}
    now = time.time_ns() - 2_000_000_000
    for request in range(3):
        base = now + request * 10_000_000
        # frontend → checkout (HTTP), the second request fails on the server side.
        call = span(tracers[frontend], "POST /checkout", SpanKind.CLIENT, None, base, 0.2)
        served = span(tracers[checkout], "POST /checkout", SpanKind.SERVER, call, base + 10_000_000, 0.1,
                      error=request == 1)
        # checkout → postgres (a database: no server span), checkout → queue → ledger, checkout → external API.
        span(tracers[checkout], "SELECT orders", SpanKind.CLIENT, served, base + 20_000_000, 0.01,
             {"db.system": "postgresql", "db.name": "orders"})
        produced = span(tracers[checkout], "publish", SpanKind.PRODUCER, served, base + 40_000_000, 0.001,
                        {"messaging.system": "rabbitmq"})
        span(tracers[ledger], "consume", SpanKind.CONSUMER, produced, base + 60_000_000, 0.02)
        span(tracers[checkout], "GET /rates", SpanKind.CLIENT, served, base + 80_000_000, 0.3,
             {"peer.service": "rates-api"})
    for p in providers.values():
        p.shutdown()

    def edge(client, server, connection_type=None):
        selector = f'client="{client}",server="{server}",deployment_environment="test"'
        if connection_type:
            selector += f',connection_type="{connection_type}"'
        return selector

    expected = {
        edge(frontend, checkout): 3,
        edge(checkout, "orders", "database"): 3,
        edge(checkout, ledger, "messaging_system"): 3,
        edge(checkout, "rates-api", "virtual_node"): 3,  # expired after `wait`: a virtual server from peer.service
    }
    for selector, count in expected.items():
        prometheus.wait_value(f"traces_service_graph_request_total{{{selector}}}", count, timeout=30)
    assert prometheus.value(f"traces_service_graph_request_failed_total{{{edge(frontend, checkout)}}}") == 1
    # Histograms: frontend's client latency 0.2 s and checkout's server latency 0.1 s per request.
    client_buckets = {r["metric"]["le"]: float(r["value"][1]) for r in prometheus.query(
        f"traces_service_graph_request_client_seconds_bucket{{{edge(frontend, checkout)}}}")}
    server_buckets = {r["metric"]["le"]: float(r["value"][1]) for r in prometheus.query(
        f"traces_service_graph_request_server_seconds_bucket{{{edge(frontend, checkout)}}}")}
    assert client_buckets == {"0.05": 0, "0.5": 3, "+Inf": 3}
    assert server_buckets == {"0.05": 0, "0.5": 3, "+Inf": 3}
    # Messaging latency: consumer start − producer end = 19 ms each time.
    messaging = edge(checkout, ledger, "messaging_system")
    assert prometheus.value(f"traces_service_graph_request_messaging_system_seconds_count{{{messaging}}}") == 3
    assert abs(prometheus.value(f"traces_service_graph_request_messaging_system_seconds_sum{{{messaging}}}")
               - 0.057) < 1e-6
    # No edge without a partner is invented, and nothing is pending once the external call expired.
    assert not prometheus.query(f'traces_service_graph_request_total{{server="{frontend}"}}')
    wait_until(lambda: 'metronome_service_graph_pending_edges{tenant="single-tenant"} 0' in metronome.self_metrics(),
               what="no pending edges")
