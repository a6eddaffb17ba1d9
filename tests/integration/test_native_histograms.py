"""Native histograms (`generate_native_histograms`, spec §5.4) in the real Prometheus, from the OpenTelemetry SDK
(issue 11)."""

import math
import time

import requests

from conftest import Prometheus, wait_until
from otel_clients import SERVER, send

TENANT = "team-n"
HEADERS = {"X-Scope-OrgID": TENANT}
# Durations in seconds, their sum and their true median.
DURATIONS = [0.003, 0.007, 0.012, 0.020, 0.033, 0.050, 0.081, 0.130, 0.210, 0.340, 0.550]
MEDIAN = 0.050
# Schema 3: a bucket's upper bound is at most 2^(1/8) times its lower one.
RELATIVE_ERROR = 2 ** (1 / 8) - 1


def overrides(mode):
    return f"overrides:\n  {TENANT}:\n    metrics_generator:\n      processors: [span-metrics]\n" \
           f"      generate_native_histograms: {mode}\n"


def selector(name, service):
    return f'{name}{{service="{service}",span_name="checkout"}}'


def spans(count=None):
    durations = DURATIONS if count is None else DURATIONS[:count]
    return [("checkout", SERVER, seconds, False) for seconds in durations]


def test_native_histograms_give_exact_counts_and_sums_quantiles_within_the_schema_and_exemplars(
        prometheus, metronome_factory, service, tmp_path):
    path = tmp_path / "overrides.yaml"
    path.write_text(overrides("native"))
    metronome = metronome_factory(overrides_file=path)
    send(metronome, "http", service, spans(), headers=HEADERS)
    latency = selector("traces_spanmetrics_latency", service)
    prometheus.wait_value(f"histogram_count({latency})", len(DURATIONS), timeout=30)
    assert math.isclose(prometheus.value(f"histogram_sum({latency})"), sum(DURATIONS), rel_tol=1e-9)
    median = prometheus.value(f"histogram_quantile(0.5, {latency})")
    assert abs(median - MEDIAN) <= MEDIAN * RELATIVE_ERROR, median
    # No classic series in native mode.
    assert not prometheus.query(selector("traces_spanmetrics_latency_count", service))
    now = time.time()

    def exemplars():
        response = requests.get(f"{prometheus.url}/api/v1/query_exemplars",
                                params={"query": latency, "start": now - 300, "end": now + 60}, timeout=5)
        return response.json()["data"]

    data = wait_until(exemplars, what="native exemplars")
    values = sorted(float(exemplar["value"]) for exemplar in data[0]["exemplars"])
    # Up to 10 per collection, spread over the values.
    assert 1 <= len(values) <= 10
    assert all(any(math.isclose(value, duration, rel_tol=1e-6) for duration in DURATIONS) for value in values)
    assert all(set(exemplar["labels"]) == {"traceID"} for exemplar in data[0]["exemplars"])


def test_switching_from_classic_to_both_starts_native_series_and_keeps_the_classic_counts(
        prometheus, metronome_factory, service, tmp_path):
    path = tmp_path / "overrides.yaml"
    path.write_text(overrides("classic"))
    metronome = metronome_factory(overrides_file=path)
    send(metronome, "http", service, spans(5), headers=HEADERS)
    count = selector("traces_spanmetrics_latency_count", service)
    latency = selector("traces_spanmetrics_latency", service)
    prometheus.wait_value(count, 5, timeout=30)
    assert not prometheus.query(f"histogram_count({latency})")

    path.write_text(overrides("both"))
    wait_until(lambda: "generate_native_histograms: both" in metronome.status("overrides"), timeout=15,
               what="both mode in force")
    send(metronome, "http", service, spans(), headers=HEADERS)
    prometheus.wait_value(f"histogram_count({latency})", len(DURATIONS), timeout=30)
    # The classic and native series agree on count and sum.
    prometheus.wait_value(count, len(DURATIONS), timeout=10)
    classic_sum = prometheus.value(selector("traces_spanmetrics_latency_sum", service))
    assert math.isclose(prometheus.value(f"histogram_sum({latency})"), classic_sum, rel_tol=1e-9)
    # The counts written before the switch are still in Prometheus.
    assert prometheus.value(f"max_over_time({count}[10m])") == len(DURATIONS)
    assert 5 in [value for _, value in prometheus.samples(count)[0]]


PROTOBUF = "application/vnd.google.protobuf"


def test_prometheus_scraping_metrics_generated_in_protobuf_ingests_native_histograms(
        workdir, metronome_factory, service, tmp_path):
    path = tmp_path / "overrides.yaml"
    path.write_text(overrides("both"))
    # No remote write: the series are only served on /metrics/generated.
    metronome = metronome_factory(remote_write_url=None, overrides_file=path)
    send(metronome, "http", service, spans(), headers=HEADERS)
    # Content negotiation: protobuf when asked for (as Prometheus does with native histograms on), text otherwise.
    wait_until(lambda: service in requests.get(f"{metronome.admin}/metrics/generated", timeout=5).text,
               what="the series in the text exposition")
    text = requests.get(f"{metronome.admin}/metrics/generated", timeout=5)
    assert text.headers["Content-Type"].startswith("text/plain")
    assert "traces_spanmetrics_latency_count{" in text.text
    accept = f"{PROTOBUF};proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,text/plain;q=0.2"
    binary = requests.get(f"{metronome.admin}/metrics/generated", headers={"Accept": accept}, timeout=5)
    assert binary.headers["Content-Type"].startswith(PROTOBUF)
    assert service.encode() in binary.content

    scraper = Prometheus(workdir / f"prometheus-scrape-{metronome.admin_port}", scrape_configs=[{
        "job_name": "metronome",
        "scrape_interval": "1s",
        "metrics_path": "/metrics/generated",
        "static_configs": [{"targets": [f"127.0.0.1:{metronome.admin_port}"]}],
    }])
    try:
        latency = selector("traces_spanmetrics_latency", service)
        scraper.wait_value(f"histogram_count({latency})", len(DURATIONS), timeout=30)
        assert math.isclose(scraper.value(f"histogram_sum({latency})"), sum(DURATIONS), rel_tol=1e-9)
        median = scraper.value(f"histogram_quantile(0.5, {latency})")
        assert abs(median - MEDIAN) <= MEDIAN * RELATIVE_ERROR, median
        scraper.wait_value(f'traces_spanmetrics_calls_total{{service="{service}",span_name="checkout"}}',
                           len(DURATIONS))
    finally:
        scraper.stop()
