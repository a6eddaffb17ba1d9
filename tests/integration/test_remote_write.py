"""Remote-write delivery semantics against a scripted receiver: headers, snappy block bodies, 4xx dropped and counted,
5xx retried until delivered."""
import http.server
import ssl
import threading
import time

import cramjam
import pytest

from certificates import make_certificates
from conftest import wait_until
from otel_clients import SERVER, send


class ScriptedReceiver:
    """An HTTP receiver that answers requests with a scripted list of status codes (then 204), recording each."""

    def __init__(self, statuses, tls=None):
        self.statuses = list(statuses)
        self.requests = []
        self.retry_after = None
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.statuses.pop(0) if receiver.statuses else 204
                receiver.requests.append((dict(self.headers), body, status, time.monotonic()))
                self.send_response(status)
                if status == 429 and receiver.retry_after:
                    self.send_header("Retry-After", receiver.retry_after)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls:  # (certificate file, key file): serve HTTPS
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/api/v1/write"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def metric_value(text, name, **labels):
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.fixture
def receiver():
    server = ScriptedReceiver([400, 500, 503])
    yield server
    server.stop()


def test_rejected_requests_are_dropped_and_failed_ones_retried(metronome_factory, receiver, service):
    # One send shard, so the scripted answers meet consecutive requests of one ordered stream.
    metronome = metronome_factory(remote_write_url=receiver.url, collection_interval="1s",
                                  storage={"remote_write_shards": 1})
    send(metronome, "http", service, [("op", SERVER, 0.001, False)], headers={"X-Scope-OrgID": "team-rw"})

    # 400 → dropped; the next collection's request gets 500, then 503, then is delivered (204) by retries.
    wait_until(lambda: [request[2] for request in receiver.requests][:4] == [400, 500, 503, 204],
               what="400, 500, 503, 204 in order")
    headers, body, _, _ = receiver.requests[3]
    assert headers["Content-Encoding"] == "snappy"
    assert headers["Content-Type"] == "application/x-protobuf"
    assert headers["X-Prometheus-Remote-Write-Version"] == "0.1.0"
    assert headers["X-Scope-OrgID"] == "team-rw"
    assert headers["X-Extra"] == "value"
    payload = bytes(cramjam.snappy.decompress_raw(body))
    assert service.encode() in payload and b"traces_spanmetrics_calls_total" in payload
    # The retried request is the same bytes each time: order is kept, nothing is re-encoded.
    assert receiver.requests[1][1] == receiver.requests[2][1] == receiver.requests[3][1]

    url = receiver.url
    # The sender counts a request after its answer arrives, which may be after the receiver recorded it.
    metrics = wait_until(lambda: metric_value(metronome.self_metrics(), "metronome_remote_write_requests_sent_total",
                                              url=url) and metronome.self_metrics(), what="the delivery counted")
    assert metric_value(metrics, "metronome_remote_write_samples_dropped_total", url=url, reason="rejected") > 0
    assert metric_value(metrics, "metronome_remote_write_requests_failed_total", url=url, status="400") == 1
    assert metric_value(metrics, "metronome_remote_write_requests_failed_total", url=url, status="500") == 1
    assert metric_value(metrics, "metronome_remote_write_requests_failed_total", url=url, status="503") == 1
    assert metric_value(metrics, "metronome_remote_write_requests_sent_total", url=url) >= 1
    assert "remote-write endpoint rejected a request" in metronome.logs()


def test_single_tenant_requests_carry_no_tenant_header(metronome_factory, service):
    receiver = ScriptedReceiver([])
    try:
        metronome = metronome_factory(remote_write_url=receiver.url, collection_interval="1s")
        send(metronome, "grpc", service, [("op", SERVER, 0.001, False)])
        wait_until(lambda: receiver.requests, what="a remote-write request")
        headers = receiver.requests[0][0]
        assert "X-Scope-OrgID" not in headers
    finally:
        receiver.stop()


def test_retry_after_is_honoured_and_credentials_are_sent(metronome_factory, service):
    receiver = ScriptedReceiver([429])
    receiver.retry_after = "2"
    try:
        metronome = metronome_factory(
            remote_write_url=receiver.url, collection_interval="1s", storage={"remote_write_shards": 1},
            remote_write_settings={"basic_auth": {"username": "metronome", "password": "s3cret"}})
        send(metronome, "grpc", service, [("op", SERVER, 0.001, False)])
        wait_until(lambda: len(receiver.requests) >= 2, what="a retried request")
        first, second = receiver.requests[0], receiver.requests[1]
        assert first[2] == 429 and second[2] == 204
        assert second[1] == first[1]
        assert second[3] - first[3] >= 1.9, "Retry-After: 2 was not honoured"
        assert first[0]["Authorization"] == "Basic bWV0cm9ub21lOnMzY3JldA=="
    finally:
        receiver.stop()


def test_a_prometheus_outage_loses_nothing(prometheus, metronome_factory, service):
    metronome = metronome_factory(collection_interval="1s")
    selector = f'traces_spanmetrics_calls_total{{service="{service}"}}'
    send(metronome, "grpc", service, [("op", SERVER, 0.001, False)])
    prometheus.wait_value(selector, 1)
    prometheus.pause()
    try:
        sent = 1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # spans keep flowing through a 60 s outage (issue 5)
            send(metronome, "http", service, [("op", SERVER, 0.001, False)] * 5)
            sent += 5
            time.sleep(1)
    finally:
        prometheus.start()
    prometheus.wait_value(selector, sent, timeout=60)
    samples, _ = prometheus.samples(selector)
    values = [value for _, value in samples]
    assert values == sorted(values)
    # Every collection of the outage arrived, late but in order: no gap longer than a few intervals (the initial
    # zero, up to a minute before the first value, is left out).
    times = [t for t, _ in samples][1:]
    assert len(times) >= 60
    assert max(b - a for a, b in zip(times, times[1:])) < 5, times


def test_https_endpoints_with_a_private_ca_or_no_verification(metronome_factory, service, tmp_path):
    ca, certificate, key = make_certificates(tmp_path)
    for settings in [{"ca_file": str(ca)}, {"insecure_skip_verify": True}]:
        receiver = ScriptedReceiver([], tls=(str(certificate), str(key)))
        try:
            metronome = metronome_factory(
                remote_write_url=receiver.url, remote_write_settings={"tls_config": settings})
            send(metronome, "grpc", service, [("op", SERVER, 0.001, False)])
            wait_until(lambda: receiver.requests, what=f"a request over TLS with {settings}")
            assert receiver.requests[0][2] == 204
            assert service.encode() in bytes(cramjam.snappy.decompress_raw(receiver.requests[0][1]))
        finally:
            receiver.stop()
