"""Service graphs under load: a generated mesh of 24 services, 120,000 edges (240,000 spans); every client half is
sent first, the server halves seconds later in other requests. The edge counts in Prometheus equal the ground truth
computed from the generated traces, exactly — where Tempo's 10,000-item store drops edges."""
import collections
import random
import time
import uuid

import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from conftest import wait_until

SERVICES = 24
TRACES = 20_000
EDGES_PER_TRACE = 6
SPANS_PER_REQUEST = 4_000


def generate(prefix, rng):
    """Per service, its client spans and its server spans; and the true edge counts."""
    clients = collections.defaultdict(list)
    servers = collections.defaultdict(list)
    truth = collections.Counter()
    now = time.time_ns()
    for trace in range(TRACES):
        trace_id = rng.randbytes(16)
        caller = rng.randrange(SERVICES)
        for hop in range(EDGES_PER_TRACE):
            callee = rng.randrange(SERVICES)
            client_id, server_id = rng.randbytes(8), rng.randbytes(8)
            start = now - rng.randrange(1_000_000_000)
            clients[caller].append(Span(trace_id=trace_id, span_id=client_id, name="call", kind=Span.SPAN_KIND_CLIENT,
                                        start_time_unix_nano=start, end_time_unix_nano=start + 5_000_000))
            servers[callee].append(Span(trace_id=trace_id, span_id=server_id, parent_span_id=client_id, name="serve",
                                        kind=Span.SPAN_KIND_SERVER, start_time_unix_nano=start + 1_000_000,
                                        end_time_unix_nano=start + 4_000_000))
            truth[(f"{prefix}-{caller}", f"{prefix}-{callee}")] += 1
            caller = callee
    return clients, servers, truth


def send(metronome, prefix, spans_by_service):
    """Sends each service's spans as its own resource, several services per request, in requests of at most
    SPANS_PER_REQUEST spans."""
    request, size, sent = ExportTraceServiceRequest(), 0, 0

    def flush():
        nonlocal request, size, sent
        if size:
            response = requests.post(f"{metronome.otlp_http}/v1/traces", data=request.SerializeToString(),
                                     headers={"Content-Type": "application/x-protobuf"}, timeout=30)
            assert response.status_code == 200, response.text
            sent += size
        request, size = ExportTraceServiceRequest(), 0

    for service, spans in spans_by_service.items():
        for offset in range(0, len(spans), SPANS_PER_REQUEST):
            chunk = spans[offset:offset + SPANS_PER_REQUEST]
            if size + len(chunk) > SPANS_PER_REQUEST:
                flush()
            resource_spans = request.resource_spans.add()
            resource_spans.resource.attributes.add(key="service.name").value.string_value = f"{prefix}-{service}"
            resource_spans.scope_spans.add().spans.extend(chunk)
            size += len(chunk)
    flush()
    return sent


def test_every_edge_of_a_generated_mesh_is_counted_exactly(prometheus, metronome_factory):
    prefix = f"mesh{uuid.uuid4().hex[:6]}"
    clients, servers, truth = generate(prefix, random.Random(7))
    # 4,000-span requests (~400 KB) fit the fixture's 1 MiB HTTP limit.
    metronome = metronome_factory(overrides={"processors": ["service-graphs"]}, service_graphs={"wait": "30s"})
    sent = send(metronome, prefix, clients)
    time.sleep(3)  # the halves meet seconds apart, in different requests
    sent += send(metronome, prefix, servers)
    assert sent == 2 * TRACES * EDGES_PER_TRACE

    total = sum(truth.values())
    query = f'sum(traces_service_graph_request_total{{client=~"{prefix}-.*"}})'
    wait_until(lambda: prometheus.value(query) == total, timeout=60, what=f"{total} edges in Prometheus")
    counted = {(r["metric"]["client"], r["metric"]["server"]): float(r["value"][1]) for r in prometheus.query(
        f'sum by (client, server) (traces_service_graph_request_total{{client=~"{prefix}-.*"}})')}
    assert counted == {edge: float(count) for edge, count in truth.items()}
    # The gauge is set by the expiry loop (every second): wait for it with a deadline, never read it once.
    wait_until(lambda: 'metronome_service_graph_pending_edges{tenant="single-tenant"} 0' in metronome.self_metrics(),
               timeout=30, what="no pending edges")
    assert metronome.self_metric("metronome_service_graph_dropped_spans_total") == 0
