"""What the receiver tests of other trace formats share: the spans they send, the legacy-venv client, and how they
compare the series one format makes in the real Prometheus with those the same spans make over OTLP."""

import json
import pathlib
import subprocess

from otel_clients import CLIENT, SERVER

SPANS = [
    ("GET /cart", SERVER, 0.003, False),
    ("GET /cart", SERVER, 0.005, True),
    ("SELECT cart", CLIENT, 0.001, False),
    ("POST /pay", SERVER, 0.007, True),
]
# The size of a span depends on what its wire format carries (the Zipkin exporter adds scope tags): not compared.
COMPARED = ["traces_spanmetrics_calls_total", "traces_spanmetrics_latency_bucket", "traces_spanmetrics_latency_count",
            "traces_spanmetrics_latency_sum"]


def series(prometheus, name, service, selector=None, without=("service",)):
    """The series of `name` for `service` (or `selector`), without the labels in `without` or those of the scrape,
    with values."""
    selector = selector or f'service="{service}"'
    result = prometheus.query(f"{name}{{{selector}}}")
    return sorted(
        (tuple(sorted((k, v) for k, v in item["metric"].items() if k not in (*without, "instance", "job"))),
         float(item["value"][1]))
        for item in result
    )

ROOT = pathlib.Path(__file__).resolve().parents[2]
LEGACY_PYTHON = ROOT / ".venv-legacy" / "bin" / "python"
EDGE_SERIES = ["traces_service_graph_request_total", "traces_service_graph_request_failed_total",
               "traces_service_graph_request_server_seconds_count", "traces_service_graph_request_server_seconds_sum",
               "traces_service_graph_request_client_seconds_bucket", "traces_service_graph_request_client_seconds_sum"]


def send_legacy(transport, endpoint, service, spans):
    """Sends `spans` (as test_zipkin's SPANS, or "edge": one RPC) with legacy_client.py's exporter of `transport`;
    returns the export results."""
    payload = spans if spans == "edge" else json.dumps(
        [[name, "server" if kind.name == "SERVER" else "client", seconds, error] for name, kind, seconds, error in spans])
    output = subprocess.run([str(LEGACY_PYTHON), str(ROOT / "tests/integration/legacy_client.py"), transport, endpoint,
                             service, payload], check=True, capture_output=True, text=True, timeout=60)
    return json.loads(output.stdout.strip().splitlines()[-1])


def edge_series(prometheus, name, service):
    """The series of `name` for the edge from `service`-client, without the labels naming the services, with values."""
    return series(prometheus, name, service, selector=f'client="{service}-client",server="{service}-server"',
                  without=("client", "server"))


def same(left, right, tolerance):
    """Whether two `series` results have the same labels, and values within `tolerance`."""
    return [labels for labels, _ in left] == [labels for labels, _ in right] and all(
        abs(a - b) <= tolerance for (_, a), (_, b) in zip(left, right))
