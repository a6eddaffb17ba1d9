"""host-info end to end: hosts named by `k8s.node.name` or `host.id` resources, sent with the OpenTelemetry SDK."""
import time
import uuid

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otel_clients import SERVER, exporter


def send_from(metronome, transport, resource):
    provider = TracerProvider(resource=Resource.create(resource))
    provider.add_span_processor(SimpleSpanProcessor(exporter(metronome, transport)))
    end = time.time_ns()
    provider.get_tracer("it").start_span("op", kind=SERVER, start_time=end - 1_000_000).end(end_time=end)
    provider.shutdown()


def test_hosts_from_node_names_and_host_ids(prometheus, metronome_factory, service):
    run = uuid.uuid4().hex[:8]
    metronome = metronome_factory(overrides={"processors": ["span-metrics", "host-info"]})
    # Both identifiers: k8s.node.name comes first and wins; host.id alone names the second host.
    send_from(metronome, "grpc", {"service.name": service, "k8s.node.name": f"node-{run}", "host.id": f"id-{run}"})
    send_from(metronome, "http", {"service.name": service, "host.id": f"host-{run}"})
    prometheus.wait_value(f'traces_host_info{{grafana_host_id="node-{run}",host_source="k8s.node.name"}}', 1)
    prometheus.wait_value(f'traces_host_info{{grafana_host_id="host-{run}",host_source="host.id"}}', 1)
    assert prometheus.query(f'traces_host_info{{grafana_host_id="id-{run}"}}') == []
    series = prometheus.query(f'traces_host_info{{grafana_host_id="node-{run}"}}')
    assert series[0]["metric"]["source"] == "metronome"
    assert prometheus.value(f'traces_spanmetrics_calls_total{{service="{service}"}}') is not None
