"""Fixtures that run real processes on loopback: Debian's Prometheus with its remote-write receiver, and Metronome.

Each process gets free ports and a temporary directory, and is killed by PID when the test (or session) ends.
"""
import os
import json
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
METRONOME = os.environ.get("METRONOME_BIN", str(ROOT / ".build" / "debug" / "metronome"))


_handed_out = set()


def _unused_port(kind):
    """A port the kernel has free now and this session has not handed out before (two picks in a row can repeat)."""
    while True:
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def free_port():
    return _unused_port(socket.SOCK_STREAM)


def free_udp_port():
    return _unused_port(socket.SOCK_DGRAM)


def wait_until(predicate, timeout=20.0, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as error:  # the process may not be listening yet
            last = error
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last result: {last!r}")


class Prometheus:
    def __init__(self, workdir, scrape_configs=None):
        """``scrape_configs``: the scrape jobs, as a list of dicts (none: the server only receives remote write)."""
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = workdir / "prometheus.yml"
        self.config.write_text(f"global:\n  scrape_interval: 15s\nscrape_configs: {json.dumps(scrape_configs or [])}\n")
        self.log = open(workdir / "prometheus.log", "a")
        self.start()

    def start(self):
        self.process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={self.config}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-remote-write-receiver",
                "--enable-feature=exemplar-storage,native-histograms",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_until(lambda: requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200, what="prometheus ready")

    def pause(self):
        """Stops the server (an outage); ``start`` brings it back on the same port and data."""
        self.process.terminate()
        self.process.wait(timeout=30)

    def query(self, promql):
        response = requests.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=5)
        response.raise_for_status()
        return response.json()["data"]["result"]

    def value(self, promql):
        """The single value of an instant query, or None when it has no result."""
        result = self.query(promql)
        assert len(result) <= 1, f"{promql} returned {len(result)} series: {result}"
        return float(result[0]["value"][1]) if result else None

    def samples(self, selector, window="10m"):
        result = self.query(f"{selector}[{window}]")
        assert len(result) == 1, f"{selector} returned {len(result)} series"
        return [(float(t), float(v)) for t, v in result[0]["values"]], result[0]["metric"]

    def wait_value(self, promql, expected, timeout=20.0):
        return wait_until(lambda: self.value(promql) == expected, timeout=timeout, what=f"{promql} == {expected}")

    def stop(self):
        self.process.kill()
        self.process.wait()
        self.log.close()


class Metronome:
    def __init__(self, workdir, remote_write_url=None, collection_interval="1s", extra_yaml="", overrides=None,
                 span_metrics=None, stale_duration="15m", remote_write_settings=None, data_dir=None, storage=None, service_graphs=None,
                 server=None, distributor=None, http_listener=None, grpc_listener=None, ingestion=None,
                 overrides_file=None, override_period="1s", zipkin=False, jaeger=False, jaeger_udp_tenant=None,
                 tenant_defaults=None):
        self.grpc_port, self.http_port, self.admin_port = free_port(), free_port(), free_port()
        self.zipkin_port = free_port() if zipkin else None
        self.zipkin = f"http://127.0.0.1:{self.zipkin_port}" if zipkin else None
        zipkin_receiver = f"\n    zipkin: {{endpoint: 127.0.0.1:{self.zipkin_port}}}" if zipkin else ""
        if jaeger:
            self.jaeger_grpc_port, self.jaeger_http_port = free_port(), free_port()
            self.jaeger_compact_port, self.jaeger_binary_port = free_udp_port(), free_udp_port()
            self.jaeger_http = f"http://127.0.0.1:{self.jaeger_http_port}"
            udp_tenant = f", tenant: {jaeger_udp_tenant}" if jaeger_udp_tenant else ""
            zipkin_receiver += f"""
    jaeger:
      protocols:
        grpc: {{endpoint: 127.0.0.1:{self.jaeger_grpc_port}}}
        thrift_http: {{endpoint: 127.0.0.1:{self.jaeger_http_port}}}
        thrift_compact: {{endpoint: 127.0.0.1:{self.jaeger_compact_port}{udp_tenant}}}
        thrift_binary: {{endpoint: 127.0.0.1:{self.jaeger_binary_port}}}"""
        # Each instance gets its own state directory unless a test restarts on the same one.
        self.data_dir = data_dir or workdir / f"data-{self.admin_port}"
        self.otlp_http = f"http://127.0.0.1:{self.http_port}"
        self.admin = f"http://127.0.0.1:{self.admin_port}"
        remote_write = ""
        if remote_write_url:
            remote_write = f"""
    remote_write:
      - url: {remote_write_url}
        headers: {{X-Extra: value}}{self._indent(remote_write_settings or {}, 8)}"""
        overrides = dict(overrides or {})
        processors = overrides.pop("processors", ["span-metrics"])
        per_tenant = ""
        if overrides_file:
            per_tenant = f"\n  per_tenant_override_config: {overrides_file}\n  per_tenant_override_period: {override_period}"
        self.config = workdir / f"metronome-{uuid.uuid4().hex[:6]}.yaml"
        self.config.write_text(f"""
server:
  http_listen_address: 127.0.0.1
  http_listen_port: {self.admin_port}
  log_level: debug{self._indent(server or {}, 2)}
distributor:{self._indent(distributor or {}, 2)}
  receivers:
    otlp:
      protocols:
        grpc: {json.dumps({"endpoint": f"127.0.0.1:{self.grpc_port}", **(grpc_listener or {})})}
        http: {json.dumps({"endpoint": f"127.0.0.1:{self.http_port}", "max_recv_msg_size_mib": 1, **(http_listener or {})})}{zipkin_receiver}
metrics_generator:
  registry:
    collection_interval: {collection_interval}
    stale_duration: {stale_duration}
    external_labels: {{source: metronome}}
  storage:
    path: {self.data_dir}{self._indent(storage or {}, 4)}{remote_write}
  processor:
    span_metrics:
      histogram_buckets: [0.002, 0.004, 0.008]
      intrinsic_dimensions: {{status_message: true}}{self._indent(span_metrics or {}, 6)}
    service_graphs:{self._indent(service_graphs, 6) if service_graphs else " {{}}"}
overrides:{per_tenant}
  defaults:
    ingestion: {json.dumps(ingestion or {})}{self._indent(tenant_defaults or {}, 4)}
    metrics_generator:
      processors: {json.dumps(processors)}{self._indent(overrides, 6)}
{extra_yaml}""")
        self.log_path = workdir / f"metronome-{self.admin_port}.log"
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([METRONOME, "--config", str(self.config)], stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(self._ready, what="metronome ready")
        wait_until(lambda: socket.create_connection(("127.0.0.1", self.grpc_port), timeout=1), what="grpc port")

    def _ready(self):
        """Whether /ready answers 200; fails at once, with the log's end, when the process has exited."""
        if self.process.poll() is not None:
            pytest.fail(f"metronome exited with {self.process.returncode} while starting:\n{self.logs()[-2000:]}")
        return requests.get(f"{self.admin}/ready", timeout=1).status_code == 200

    @staticmethod
    def _indent(settings, spaces):
        """Renders extra keys of a YAML mapping as JSON-style flow values, indented to sit inside it."""
        import json

        return "".join(f"\n{' ' * spaces}{key}: {json.dumps(value)}" for key, value in settings.items())

    def generated(self):
        return requests.get(f"{self.admin}/metrics/generated", timeout=5).text

    def self_metrics(self):
        return requests.get(f"{self.admin}/metrics", timeout=5).text

    def peak_rss_mib(self):
        """The process's peak resident memory so far (VmHWM), MiB."""
        for line in pathlib.Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmHWM in /proc/PID/status")

    def self_metric(self, name, **labels):
        """The sum of self-metric `name` over the series whose labels include `labels` (0 when there are none)."""
        total = 0.0
        for line in self.self_metrics().splitlines():
            series, _, value = line.rpartition(" ")
            metric, _, label_text = series.partition("{")
            if metric != name:
                continue
            if all(f'{key}="{wanted}"' in label_text for key, wanted in labels.items()):
                total += float(value)
        return total

    def status(self, path):
        return requests.get(f"{self.admin}/status/{path}", timeout=5).text

    def terminate(self, timeout=30):
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def logs(self):
        return self.log_path.read_text()


@pytest.fixture(scope="session")
def workdir():
    path = pathlib.Path(tempfile.mkdtemp(prefix="metronome-it-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def prometheus(workdir):
    assert shutil.which("prometheus"), "Debian's prometheus package is required (apt-get install prometheus)"
    server = Prometheus(workdir / "prometheus")
    yield server
    server.stop()


@pytest.fixture
def metronome_factory(workdir, prometheus):
    started = []

    def start(**kwargs):
        kwargs.setdefault("remote_write_url", f"{prometheus.url}/api/v1/write")
        instance = Metronome(workdir, **kwargs)
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.stop()


@pytest.fixture
def metronome(metronome_factory):
    return metronome_factory()


@pytest.fixture
def service():
    """A service name unique to the test, so tests sharing one Prometheus never see each other's series."""
    return f"svc-{uuid.uuid4().hex[:10]}"
