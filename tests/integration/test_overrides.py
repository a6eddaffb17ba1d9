"""Per-tenant overrides in Tempo's runtime format, edited while spans flow (issue 10)."""

import signal
import threading
import time

import requests
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from conftest import wait_until
from otel_clients import CLIENT, SERVER, _with_headers, exporter, send

# Main file buckets [0.002, 0.004, 0.008]: a span-metrics label set is 1 calls + 1 size + 6 latency = 8 series.
BEFORE = """
overrides:
  team-a:
    metrics_generator:
      processors: [span-metrics, service-graphs]
  team-b:
    metrics_generator:
      processors: [span-metrics, local-blocks]
      max_active_series: 16
      processor:
        span_metrics: {dimensions: [tier]}
"""

AFTER = """
overrides:
  team-a:
    metrics_generator:
      processors: [span-metrics]
      processor:
        span_metrics:
          filter_policies: [{exclude: {match_type: strict, attributes: [{key: name, value: never-sent}]}}]
  team-b:
    metrics_generator:
      processors: [span-metrics, local-blocks]
      max_active_series: 100
      collection_interval: 2s
      processor:
        span_metrics: {dimensions: [tier]}
"""


def tracer(metronome, service, tenant, **resource):
    """A tracer of its own service (its own resource, as a real service has) sending for `tenant`."""
    inner = exporter(metronome, "http")
    provider = TracerProvider(resource=Resource.create({"service.name": service, **resource}))
    provider.add_span_processor(
        SimpleSpanProcessor(type(inner)(**_with_headers(metronome, "http", {"X-Scope-OrgID": tenant}))))
    return provider


def traffic(metronome, services, stop):
    """Sends, until `stop` is set, a client → server call for team-a and three span names for team-b."""
    client = tracer(metronome, services["a"], "team-a", tier="gold")
    server = tracer(metronome, services["a-server"], "team-a")
    team_b_provider = tracer(metronome, services["b"], "team-b", tier="gold")
    team_b = team_b_provider.get_tracer("it")
    while not stop.is_set():
        end = time.time_ns()
        call = client.get_tracer("it").start_span("call", kind=CLIENT, start_time=end - 2_000_000)
        served = server.get_tracer("it").start_span(
            "call", context=trace.set_span_in_context(call), kind=SERVER, start_time=end - 1_000_000)
        served.end(end_time=end)
        call.end(end_time=end)
        for name in ("one", "two", "three"):
            team_b.start_span(name, kind=SERVER, start_time=end - 1_000_000).end(end_time=end)
        time.sleep(0.2)
    for provider in (client, server, team_b_provider):
        provider.shutdown()


def test_an_overrides_file_drives_tenants_live_without_resets(prometheus, metronome_factory, service, tmp_path):
    path = tmp_path / "overrides.yaml"
    path.write_text(BEFORE)
    metronome = metronome_factory(overrides_file=path)
    services = {"a": f"{service}-a", "a-server": f"{service}-a-server", "b": f"{service}-b"}
    stop = threading.Event()
    sender = threading.Thread(target=traffic, args=(metronome, services, stop))
    sender.start()
    try:
        calls_a = f'traces_spanmetrics_calls_total{{service="{services["a"]}"}}'
        calls_b = f'traces_spanmetrics_calls_total{{service="{services["b"]}"}}'
        wait_until(lambda: prometheus.query(calls_a), timeout=30, what="team-a span metrics")
        # team-a has service graphs; team-b has none and room for two label sets, the third overflows.
        edges = f'traces_service_graph_request_total{{client="{services["a"]}"}}'
        wait_until(lambda: prometheus.query(edges), timeout=30, what="team-a service-graph edges")
        wait_until(lambda: len(prometheus.query(calls_b)) == 2, timeout=30, what="team-b's two label sets")
        assert prometheus.query('traces_spanmetrics_calls_total{metric_overflow="true"}')
        assert not prometheus.query(f'traces_service_graph_request_total{{client="{services["b"]}"}}')
        # Dimensions per tenant: team-b's series carry `tier`, team-a's do not.
        assert all(series["metric"].get("tier") == "gold" for series in prometheus.query(calls_b))
        assert all("tier" not in series["metric"] for series in prometheus.query(calls_a))
        assert "processors: local-blocks" in metronome.logs()
        time.sleep(2)

        path.write_text(AFTER)
        # Within one period and one collection: service graphs end at once, team-b's third name gets its series.
        wait_until(lambda: not prometheus.query(edges), timeout=10, what="team-a's edges ended by a staleness marker")
        wait_until(lambda: len(prometheus.query(calls_b)) == 3, timeout=10, what="team-b's raised limit")
        time.sleep(3)
        assert not prometheus.query(edges), "no sample after the staleness marker"
        assert "tenant settings changed" in metronome.logs()
        assert "removed=service-graphs" in metronome.logs()
    finally:
        stop.set()
        sender.join()
    time.sleep(3)
    # No counter went back: untouched series continued across the reload.
    for selector in (calls_a, f'traces_spanmetrics_calls_total{{service="{services["b"]}",span_name="one"}}'):
        result = prometheus.query(f"resets({selector}[10m])")
        assert result and all(float(series["value"][1]) == 0 for series in result), (selector, result)
    assert prometheus.value(f'increase({calls_a}[10m])') > 0


def test_a_broken_edit_keeps_the_last_good_overrides_and_sighup_applies_at_once(
        prometheus, metronome_factory, service, tmp_path):
    path = tmp_path / "overrides.yaml"
    path.write_text("overrides:\n  team-c:\n    metrics_generator: {processors: [span-metrics], max_active_series: 8}\n")
    metronome = metronome_factory(overrides_file=path, override_period="1h")
    assert "max_active_series: 8" in metronome.status("overrides")
    assert "per_tenant_override_config" in metronome.status("config")

    path.write_text("overrides:\n  team-c:\n    metrics_generator: {max_active_series: [\n")
    metronome.process.send_signal(signal.SIGHUP)
    wait_until(lambda: metronome.self_metric("metronome_overrides_reload_failures_total") == 1, what="failed reload")
    assert metronome.self_metric("metronome_overrides_last_reload_success") == 0
    assert requests.get(f"{metronome.admin}/ready", timeout=5).status_code == 200
    assert "max_active_series: 8" in metronome.status("overrides")
    assert f"{path}: line " in metronome.logs()

    # The period is an hour: only SIGHUP can apply this edit.
    path.write_text("overrides:\n  team-c:\n    metrics_generator: {processors: [span-metrics], max_active_series: 24}\n")
    metronome.process.send_signal(signal.SIGHUP)
    wait_until(lambda: "max_active_series: 24" in metronome.status("overrides"), timeout=5, what="SIGHUP reload")
    assert metronome.self_metric("metronome_overrides_last_reload_success") == 1
    spans = [(f"name-{i}", SERVER, 0.001, False) for i in range(4)]
    send(metronome, "http", service, spans, headers={"X-Scope-OrgID": "team-c"})
    # 24 series: three label sets of 8, the fourth overflows.
    calls = f'traces_spanmetrics_calls_total{{service="{service}"}}'
    wait_until(lambda: len(prometheus.query(calls)) == 3, timeout=15, what="three label sets under the new limit")


def test_sighup_without_an_overrides_file_is_ignored(metronome_factory):
    metronome = metronome_factory(remote_write_url=None)
    metronome.process.send_signal(signal.SIGHUP)
    wait_until(lambda: "nothing to re-read" in metronome.logs(), timeout=5, what="SIGHUP logged")
    assert metronome.process.poll() is None
    assert requests.get(f"{metronome.admin}/ready", timeout=5).status_code == 200
    assert metronome.terminate() == 0
