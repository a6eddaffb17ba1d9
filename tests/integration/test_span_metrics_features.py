"""Issue 3's feature set through the configuration file, end to end: dimensions, a dimension mapping, target_info,
a filter policy and exemplars, asserted as the exact series set in a real Prometheus."""
import time

import requests
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from conftest import wait_until
from otel_clients import SERVER, exporter

SPAN_METRICS = {
    "dimensions": ["http.method"],
    "dimension_mappings": [{"name": "route", "source_labels": ["http.method", "http.route"], "join": " "}],
    "enable_target_info": True,
    "target_info_excluded_dimensions": ["host.name"],
    "filter_policies": [{"exclude": {"match_type": "regex", "attributes": [{"key": "name", "value": "^health"}]}}],
}


def send(metronome, service):
    resource = Resource.create({
        "service.name": service, "service.instance.id": "i-1", "deployment.environment": "prod", "host.name": "h1",
    })
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(exporter(metronome, "http")))
    tracer = provider.get_tracer("features")
    trace_ids = []
    for name, count, attributes in [
        ("GET /cart", 3, {"http.method": "GET", "http.route": "/cart"}),
        ("POST /pay", 1, {"http.method": "POST"}),
        ("health", 2, {"http.method": "GET"}),
    ]:
        for _ in range(count):
            end = time.time_ns()
            span = tracer.start_span(name, kind=SERVER, start_time=end - 3_000_000, attributes=attributes)
            span.end(end_time=end)
            trace_ids.append(format(span.get_span_context().trace_id, "x"))
    provider.shutdown()
    return trace_ids


def test_dimensions_mapping_target_info_filters_and_exemplars(prometheus, metronome_factory, service):
    metronome = metronome_factory(span_metrics=SPAN_METRICS)
    trace_ids = send(metronome, service)
    base = f'service="{service}",job="{service}",instance="i-1"'
    prometheus.wait_value(
        f'traces_spanmetrics_calls_total{{{base},span_name="GET /cart",http_method="GET",route="GET /cart"}}', 3)
    # The mapping joins only present values: POST /pay has no http.route. (Waited for too: a collection may fall
    # between the GET spans and this one.)
    prometheus.wait_value(
        f'traces_spanmetrics_calls_total{{{base},span_name="POST /pay",http_method="POST",route="POST"}}', 1)

    # Exactly these series exist for the service: two label sets × (calls, size, 3 buckets + +Inf, sum, count).
    series = requests.get(
        f"{prometheus.url}/api/v1/series", params={"match[]": f'{{service="{service}"}}'}, timeout=5).json()["data"]
    names = sorted((s["__name__"], s["span_name"], s.get("le", "")) for s in series)
    expected = []
    for span_name in ["GET /cart", "POST /pay"]:
        expected += [("traces_spanmetrics_calls_total", span_name, ""), ("traces_spanmetrics_size_total", span_name, ""),
                     ("traces_spanmetrics_latency_count", span_name, ""), ("traces_spanmetrics_latency_sum", span_name, "")]
        expected += [("traces_spanmetrics_latency_bucket", span_name, le) for le in ["0.002", "0.004", "0.008", "+Inf"]]
    assert names == sorted(expected)
    assert all(s["__metrics_gen_instance"] and s["source"] == "metronome" for s in series)
    assert not any(s["span_name"] == "health" for s in series)

    # target_info: resource attributes but the identifying and excluded ones.
    info = prometheus.query(f'traces_target_info{{job="{service}"}}')
    assert len(info) == 1
    labels = {k: v for k, v in info[0]["metric"].items() if k not in ("__name__", "__metrics_gen_instance", "source")}
    assert labels.pop("deployment_environment") == "prod"
    assert labels.pop("job") == service and labels.pop("instance") == "i-1"
    assert not any(key.startswith("host") for key in labels)
    assert set(labels) <= {"telemetry_sdk_language", "telemetry_sdk_name", "telemetry_sdk_version"}
    assert info[0]["value"][1] == "1"

    # Exemplars on the 3 ms bucket carry one of the spans' trace ids.
    now = time.time()

    def exemplars():
        return requests.get(
            f"{prometheus.url}/api/v1/query_exemplars",
            params={"query": f'traces_spanmetrics_latency_bucket{{service="{service}"}}', "start": now - 300,
                    "end": now + 60}, timeout=5).json()["data"]

    found = wait_until(lambda: len(exemplars()) == 2 and exemplars(), what="two exemplar series")
    for series_exemplars in found:
        assert series_exemplars["seriesLabels"]["le"] == "0.004"
        assert series_exemplars["exemplars"][0]["labels"]["traceID"] in trace_ids
    assert 'reason="span_metrics_filtered"} 2' in metronome.self_metrics()
