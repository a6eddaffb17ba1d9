"""Counters survive restarts: a checkpoint after every collection and at shutdown is loaded at start."""
import signal

from conftest import wait_until
from otel_clients import SERVER, send


def test_sigterm_and_restart_continue_counters(prometheus, metronome_factory, service, tmp_path):
    selector = f'traces_spanmetrics_calls_total{{service="{service}"}}'
    first = metronome_factory(data_dir=tmp_path / "state")
    send(first, "grpc", service, [("op", SERVER, 0.001, False)] * 3)
    prometheus.wait_value(selector, 3)
    assert first.terminate() == 0

    second = metronome_factory(data_dir=tmp_path / "state")
    assert "restored series from checkpoint" in second.logs()
    send(second, "http", service, [("op", SERVER, 0.001, False)] * 2)
    prometheus.wait_value(selector, 5)
    samples, _ = prometheus.samples(selector)
    values = [value for _, value in samples]
    assert values == sorted(values), f"a counter went down across the restart: {values}"
    assert values.count(0) == 1, "a restored series got a second initial zero"


def test_sigkill_loses_at_most_the_spans_since_the_last_checkpoint(prometheus, metronome_factory, service, tmp_path):
    selector = f'traces_spanmetrics_calls_total{{service="{service}"}}'
    first = metronome_factory(data_dir=tmp_path / "state")
    send(first, "grpc", service, [("op", SERVER, 0.001, False)] * 4)
    prometheus.wait_value(selector, 4)
    wait_until(lambda: (tmp_path / "state" / "single-tenant" / "checkpoint").exists(), what="a checkpoint")
    first.process.send_signal(signal.SIGKILL)
    first.process.wait()

    second = metronome_factory(data_dir=tmp_path / "state")
    send(second, "grpc", service, [("op", SERVER, 0.001, False)])
    prometheus.wait_value(selector, 5)
    samples, _ = prometheus.samples(selector)
    values = [value for _, value in samples]
    assert values == sorted(values), f"a counter went down across the crash: {values}"


def test_a_corrupted_checkpoint_is_set_aside_and_the_server_serves(prometheus, metronome_factory, service, tmp_path):
    tenant_dir = tmp_path / "state" / "single-tenant"
    tenant_dir.mkdir(parents=True)
    (tenant_dir / "checkpoint").write_bytes(b"MTRCKPT1" + b"\x0a\x05garbage" + b"\x00\x00\x00\x00")
    metronome = metronome_factory(data_dir=tmp_path / "state")
    assert "checkpoint unreadable" in metronome.logs()
    assert (tenant_dir / "checkpoint.corrupt").exists()
    send(metronome, "grpc", service, [("op", SERVER, 0.001, False)] * 2)
    prometheus.wait_value(f'traces_spanmetrics_calls_total{{service="{service}"}}', 2)
    assert metronome.self_metric("metronome_checkpoint_load_failures_total") == 1
