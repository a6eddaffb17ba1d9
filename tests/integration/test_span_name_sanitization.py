"""Span-name sanitization (DRAIN, spec §5.7) switched by the overrides file while spans flow (issue 12)."""

import itertools
import threading
import time

from conftest import wait_until
from otel_clients import SERVER, send

TENANT = "team-s"


def overrides(mode):
    return f"overrides:\n  {TENANT}:\n    metrics_generator:\n      processors: [span-metrics]\n" \
           f"      span_name_sanitization: \"{mode}\"\n"


def traffic(metronome, service, ids, stop):
    """Until `stop` is set: every 0.2 s a span with a user id never sent before, from the OpenTelemetry SDK."""
    while not stop.is_set():
        send(metronome, "http", service, [(f"GET /users/{next(ids)}", SERVER, 0.001, False)],
             headers={"X-Scope-OrgID": TENANT})
        time.sleep(0.2)


def test_the_overrides_file_switches_span_name_sanitization_while_spans_flow(
        prometheus, metronome_factory, service, tmp_path):
    path = tmp_path / "overrides.yaml"
    path.write_text(overrides("dry_run"))
    metronome = metronome_factory(overrides_file=path)
    ids = itertools.count(1000)
    stop = threading.Event()
    sender = threading.Thread(target=traffic, args=(metronome, service, ids, stop))
    sender.start()
    raw = f'traces_spanmetrics_calls_total{{service="{service}",span_name=~"GET /users/[0-9]+"}}'
    sanitized = f'traces_spanmetrics_calls_total{{service="{service}",span_name="GET /users/<_>"}}'
    try:
        # Dry run: every id keeps its own series, but the sanitizer counts and estimates.
        wait_until(lambda: len(prometheus.query(raw)) >= 5, timeout=30, what="raw span-name series in dry run")
        assert not prometheus.query(sanitized)
        assert metronome.self_metric("metronome_spans_sanitized_total", tenant=TENANT) >= 4
        wait_until(
            lambda: metronome.self_metric("metronome_registry_post_sanitization_demand_estimate", tenant=TENANT) > 0,
            timeout=10, what="post-sanitization demand estimate")
        assert metronome.self_metric("metronome_drain_patterns_detected_total", tenant=TENANT) == 1

        path.write_text(overrides("enabled"))
        wait_until(lambda: "span_name_sanitization: enabled" in metronome.status("overrides"), timeout=10,
                   what="the enabled mode in force")
        # The clusters built in dry run serve at once: new ids go to the sanitized series.
        wait_until(lambda: (prometheus.value(f"sum({sanitized})") or 0) >= 5, timeout=20, what="the sanitized series")
        raw_before = len(prometheus.query(raw))
        time.sleep(3)
        assert len(prometheus.query(raw)) == raw_before, "no new raw series once enabled"
    finally:
        stop.set()
        sender.join()

    # 20 more ids all land in the one sanitized series.
    time.sleep(3)  # the last collection of the traffic has reached Prometheus
    total = prometheus.value(f"sum({sanitized})")
    before = metronome.self_metric("metronome_spans_sanitized_total", tenant=TENANT)
    spans = [(f"GET /users/{next(ids)}", SERVER, 0.001, False) for _ in range(20)]
    send(metronome, "http", service, spans, headers={"X-Scope-OrgID": TENANT})
    assert metronome.self_metric("metronome_spans_sanitized_total", tenant=TENANT) == before + 20
    wait_until(lambda: prometheus.value(f"sum({sanitized})") == total + 20, timeout=15,
               what="20 more calls in the sanitized series")
    # The sanitized series' latency histogram is there too, under the same label.
    assert prometheus.query(
        f'traces_spanmetrics_latency_count{{service="{service}",span_name="GET /users/<_>"}}')


def test_a_sanitized_series_continues_from_the_first_span_after_a_restart(
        prometheus, metronome_factory, service, tmp_path):
    path = tmp_path / "overrides.yaml"
    path.write_text(overrides("enabled"))
    state = tmp_path / "state"
    first = metronome_factory(overrides_file=path, data_dir=state)
    headers = {"X-Scope-OrgID": TENANT}
    send(first, "http", service, [(f"GET /users/{i}", SERVER, 0.001, False) for i in (1, 2, 3)], headers=headers)
    assert first.terminate() == 0  # final collection and checkpoint

    second = metronome_factory(overrides_file=path, data_dir=state)
    send(second, "http", service, [("GET /users/4", SERVER, 0.001, False)], headers=headers)
    # The clusters were relearned from the restored series: the first span after the restart is sanitized.
    assert second.self_metric("metronome_spans_sanitized_total", tenant=TENANT) == 1
    assert second.self_metric("metronome_drain_patterns_detected_total", tenant=TENANT) == 0
    sanitized = f'traces_spanmetrics_calls_total{{service="{service}",span_name="GET /users/<_>"}}'
    prometheus.wait_value(sanitized, 3.0, timeout=15)
    assert not prometheus.query(f'traces_spanmetrics_calls_total{{service="{service}",span_name="GET /users/4"}}')
    assert prometheus.value(f"resets({sanitized}[10m])") == 0
