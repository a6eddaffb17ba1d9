"""Forwarding to a trace store (issue 13): every accepted span also reaches a real OTLP receiver (trace_store.py),
durably — through an outage of the store, a SIGKILL of Metronome, a second forwarder that is down — while span
metrics keep flowing to the real Prometheus."""

import subprocess
import time

import grpc
import pytest
import requests

from certificates import make_certificates
from conftest import wait_until
from otel_clients import SERVER, send
from trace_store import TraceStore


@pytest.fixture
def store():
    started = TraceStore().start()
    yield started
    started.stop()


def spans(count, name="GET /fwd"):
    return [(name, SERVER, 0.003, False)] * count


def calls(prometheus, service):
    return prometheus.value(f'sum(traces_spanmetrics_calls_total{{service="{service}"}})') or 0


@pytest.mark.parametrize("backend", ["otlpgrpc", "otlphttp"])
def test_every_accepted_span_reaches_the_store_and_prometheus(prometheus, metronome_factory, service, store, backend):
    metronome = metronome_factory(distributor={"forwarders": [store.forwarder("tempo", backend)]},
                                  tenant_defaults={"forwarders": ["tempo"]})
    sent = set()
    for transport in ("grpc", "http", "http-gzip"):
        send(metronome, transport, service, spans(5), span_ids=sent)
    assert len(sent) == 15
    wait_until(lambda: store.span_ids() == sent, timeout=20, what="every span id in the store")
    assert set(store.spans.values()) == {"single-tenant"}
    prometheus.wait_value(f'sum(traces_spanmetrics_calls_total{{service="{service}"}})', 15, timeout=30)
    wait_until(lambda: metronome.self_metric("metronome_forwarder_spans_sent_total", forwarder="tempo") == 15,
               what="the sent-spans self-metric")


@pytest.mark.parametrize("backend", ["otlpgrpc", "otlphttp"])
def test_a_store_serving_tls_is_reached_with_a_private_ca_or_no_verification(metronome_factory, service, tmp_path,
                                                                              backend):
    ca, certificate, key = make_certificates(tmp_path)
    store = TraceStore(tls=(str(certificate), str(key))).start()
    try:
        forwarders = [store.forwarder("by-ca", backend, tls={"ca_file": str(ca)}),
                      store.forwarder("unverified", backend, tls={"insecure_skip_verify": True})]
        metronome = metronome_factory(distributor={"forwarders": forwarders},
                                      tenant_defaults={"forwarders": ["by-ca", "unverified"]})
        sent = set()
        send(metronome, "grpc", service, spans(5), span_ids=sent)
        wait_until(lambda: [metronome.self_metric("metronome_forwarder_spans_sent_total", forwarder=name)
                            for name in ("by-ca", "unverified")] == [5, 5], timeout=20,
                   what="the spans sent over TLS by both forwarders")
        assert store.span_ids() == sent
    finally:
        store.stop()


def test_a_full_disk_drops_new_records_counted_while_receivers_answer_and_metrics_flow(prometheus, metronome_factory,
                                                                                       service, store, tmp_path):
    # The queue gets a disk of its own, 2 MiB, that fills while the store is down.
    queues = tmp_path / "state" / "forwarders"
    queues.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(queues)], check=True)
    try:
        metronome = metronome_factory(distributor={"forwarders": [store.forwarder("tempo")]},
                                      tenant_defaults={"forwarders": ["tempo"]}, data_dir=tmp_path / "state")
        store.stop()
        sent = set()
        dropped = 0
        for _ in range(100):
            results = send(metronome, "grpc", service, spans(100), span_ids=sent)
            assert all(result.name == "SUCCESS" for result in results)
            dropped = metronome.self_metric("metronome_forwarder_spans_dropped_total", forwarder="tempo",
                                            reason="write_failed")
            if dropped > 0:
                break
        assert dropped > 0, "the 2 MiB disk never filled"
        # Metrics count every span, the ones the queue could not take included.
        prometheus.wait_value(f'sum(traces_spanmetrics_calls_total{{service="{service}"}})', len(sent), timeout=30)
        store.start()
        wait_until(lambda: len(store.span_ids()) == len(sent) - dropped, timeout=60,
                   what="the queued spans, once the store is back")
        assert store.span_ids() < sent
        # The sent segments were deleted: the disk takes records again.
        later = set()
        send(metronome, "grpc", service, spans(10), span_ids=later)
        wait_until(lambda: later <= store.span_ids(), timeout=30, what="spans queued after the disk emptied")
        assert metronome.self_metric("metronome_forwarder_spans_dropped_total", forwarder="tempo",
                                     reason="write_failed") == dropped
    finally:
        subprocess.run(["umount", "-l", str(queues)], check=False)


def test_an_outage_of_the_store_loses_nothing_and_metrics_keep_flowing(prometheus, metronome_factory, service, store):
    metronome = metronome_factory(distributor={"forwarders": [store.forwarder("tempo")]},
                                  tenant_defaults={"forwarders": ["tempo"]})
    store.stop()
    sent = set()
    start = time.monotonic()
    during = []
    while time.monotonic() - start < 30:
        results = send(metronome, "grpc", service, spans(10), span_ids=sent)
        assert all(result.name == "SUCCESS" for result in results)
        during.append(calls(prometheus, service))
        time.sleep(1)
    # Metrics kept flowing while the store was down.
    assert during[-1] >= len(sent) - 40 and during[-1] > during[len(during) // 2] > 0, during
    assert metronome.self_metric("metronome_forwarder_queue_bytes", forwarder="tempo") > 0
    assert metronome.self_metric("metronome_forwarder_retries_total", forwarder="tempo") > 0
    store.start()
    wait_until(lambda: store.span_ids() == sent, timeout=60, what="every span id after the outage")
    # The SDK exported each span alone; the backlog went out joined into far fewer requests.
    assert store.requests < len(sent) / 4, store.requests


def test_a_sigkill_during_an_outage_loses_nothing_acknowledged(metronome_factory, service, store, tmp_path):
    config = dict(distributor={"forwarders": [store.forwarder("tempo")]}, tenant_defaults={"forwarders": ["tempo"]},
                  data_dir=tmp_path / "state")
    first = metronome_factory(**config)
    store.stop()
    sent = set()
    for _ in range(5):
        send(first, "grpc", service, spans(20), span_ids=sent)
    assert len(sent) == 100
    first.process.kill()
    first.process.wait()
    store.start()
    metronome_factory(**config)
    wait_until(lambda: store.span_ids() == sent, timeout=60, what="every acknowledged span after SIGKILL and restart")


def test_one_forwarder_down_does_not_hold_the_other_and_tenants_pick_their_forwarders(metronome_factory, service,
                                                                                      store, tmp_path):
    down = TraceStore()  # never started
    overrides = tmp_path / "overrides.yaml"
    overrides.write_text("overrides:\n  team-a:\n    forwarders: [up]\n")
    metronome = metronome_factory(
        distributor={"forwarders": [store.forwarder("up"), down.forwarder("down")]},
        tenant_defaults={"forwarders": ["up", "down"]}, overrides_file=str(overrides))
    defaults, team = set(), set()
    send(metronome, "grpc", service, spans(10), span_ids=defaults)
    send(metronome, "grpc", service, spans(10), headers={"X-Scope-OrgID": "team-a"}, span_ids=team)
    wait_until(lambda: store.span_ids() == defaults | team, timeout=10, what="the up store on time")
    assert store.span_ids("team-a") == team
    assert metronome.self_metric("metronome_forwarder_spans_queued_total", forwarder="down") == 10
    down.start()
    try:
        wait_until(lambda: down.span_ids() == defaults, timeout=60, what="the down store, once up, gets the defaults")
        time.sleep(1)
        assert down.span_ids("team-a") == set()
    finally:
        down.stop()


def test_full_policy_reject_refuses_when_full_and_loses_nothing_it_accepted(metronome_factory, service, store):
    metronome = metronome_factory(
        distributor={"forwarders": [store.forwarder("tempo", "otlpgrpc", max_bytes="4KiB", full_policy="reject")]},
        tenant_defaults={"forwarders": ["tempo"]})
    store.stop()
    accepted, refused_http, refused_grpc = set(), 0, 0
    for _ in range(20):
        before = len(accepted)
        results = send(metronome, "http", service, spans(5), span_ids=accepted)
        refused_http += sum(result.name != "SUCCESS" for result in results)
        assert len(accepted) >= before
    assert refused_http > 0 and accepted
    # OTLP/HTTP: 503 with a retry hint (the OpenTelemetry exporters retry it); gRPC: RESOURCE_EXHAUSTED.
    response = requests.post(f"{metronome.otlp_http}/v1/traces", data=_request(service), timeout=5,
                             headers={"Content-Type": "application/x-protobuf"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "5", response.text
    with grpc.insecure_channel(f"127.0.0.1:{metronome.grpc_port}") as channel:
        export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        with pytest.raises(grpc.RpcError) as failure:
            export(_request(service), timeout=5)
        assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "queue is full" in failure.value.details()
    assert metronome.self_metric("metronome_forwarder_requests_refused_total", forwarder="tempo") > 0
    store.start()
    wait_until(lambda: store.span_ids() == accepted, timeout=60, what="every accepted span id")
    # Once the queue is sent, requests are taken again.
    wait_until(lambda: all(result.name == "SUCCESS" for result in send(metronome, "http", service, spans(1))),
               timeout=20, what="requests accepted again")


def _request(service):
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

    request = trace_service_pb2.ExportTraceServiceRequest()
    resource = request.resource_spans.add()
    attribute = resource.resource.attributes.add()
    attribute.key, attribute.value.string_value = "service.name", service
    span = resource.scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = b"\x01" * 16, b"\x02" * 8, "x"
    span.start_time_unix_nano = span.end_time_unix_nano = time.time_ns()
    return request.SerializeToString()


def test_sigterm_forwards_until_the_deadline_and_the_rest_goes_after_the_next_start(metronome_factory, service, store,
                                                                                  tmp_path):
    config = dict(distributor={"forwarders": [store.forwarder("tempo")], "forwarder_flush_deadline": "2s"},
                  tenant_defaults={"forwarders": ["tempo"]}, data_dir=tmp_path / "state")
    first = metronome_factory(**config)
    store.stop()
    sent = set()
    send(first, "grpc", service, spans(20), span_ids=sent)
    started = time.monotonic()
    assert first.terminate(timeout=30) == 0
    # The store is down: the forwarder gives up at its deadline, not later (the final collection and send come too).
    assert time.monotonic() - started < 20
    assert store.span_ids() == set()
    store.start()
    metronome_factory(**config)
    wait_until(lambda: store.span_ids() == sent, timeout=60, what="the queued spans after the next start")
