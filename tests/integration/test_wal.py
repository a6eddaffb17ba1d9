"""The WAL: collections are on disk before they are sent, so an outage followed by a crash, or a torn file, loses
nothing that was written."""
import signal
import time

from conftest import wait_until
from otel_clients import SERVER, send


def outage_samples(prometheus, selector, start, end):
    samples, _ = prometheus.samples(selector)
    return [(t, v) for t, v in samples if start <= t <= end], samples


def test_an_outage_then_a_crash_loses_nothing(prometheus, metronome_factory, service, tmp_path):
    """Prometheus is down while spans flow, Metronome is SIGKILLed, started again, and Prometheus comes back: every
    collection made during the outage reaches Prometheus from the WAL, in order."""
    selector = f'traces_spanmetrics_calls_total{{service="{service}"}}'
    first = metronome_factory(data_dir=tmp_path / "state")
    send(first, "grpc", service, [("op", SERVER, 0.001, False)])
    prometheus.wait_value(selector, 1)
    prometheus.pause()
    try:
        outage_start = time.time()
        sent = 1
        for _ in range(8):
            send(first, "http", service, [("op", SERVER, 0.001, False)] * 3)
            sent += 3
            time.sleep(1)
        time.sleep(2.5)  # two more collections and checkpoints hold the last spans
        outage_end = time.time()
        first.process.send_signal(signal.SIGKILL)
        first.process.wait()
        second = metronome_factory(data_dir=tmp_path / "state")
        assert "WAL recovered" in second.logs()
    finally:
        prometheus.start()
    prometheus.wait_value(selector, sent, timeout=60)
    during, samples = outage_samples(prometheus, selector, outage_start, outage_end)
    values = [value for _, value in samples]
    assert values == sorted(values), f"a counter went down: {values}"
    # One collection per second for ~10 s of outage, all from the WAL written before the crash.
    assert len(during) >= 8, during
    assert max(b[0] - a[0] for a, b in zip(during, during[1:])) < 2.5, during


def test_a_torn_wal_tail_and_a_bad_checkpoint_are_recovered(prometheus, metronome_factory, service, tmp_path):
    """What a power cut leaves: garbage after the last whole WAL record and a checkpoint with a bad checksum. Start-up
    cuts the tail, sets the checkpoint aside, logs both, delivers the whole records and serves."""
    selector = f'traces_spanmetrics_calls_total{{service="{service}"}}'
    state = tmp_path / "state"
    wal = state / "single-tenant" / "wal"
    prometheus.pause()
    try:
        first = metronome_factory(data_dir=state, storage={"remote_write_flush_deadline": "1s"})
        send(first, "grpc", service, [("op", SERVER, 0.001, False)] * 4)
        wait_until(lambda: sum(f.stat().st_size for f in wal.glob("*.seg")) > 0, what="WAL records")
        time.sleep(2)
        started = time.monotonic()
        assert first.terminate() == 0
        assert time.monotonic() - started < 15, "shutdown waited for the unreachable endpoint"
        assert "the request stays in the WAL for the next start" in first.logs()
        last_segment = sorted(wal.glob("*.seg"))[-1]
        with open(last_segment, "ab") as segment:
            segment.write(b"\x40\x00\x00\x00torn record")
        checkpoint = state / "single-tenant" / "checkpoint"
        data = bytearray(checkpoint.read_bytes())
        data[-1] ^= 0xFF
        checkpoint.write_bytes(bytes(data))

        second = metronome_factory(data_dir=state)
        logs = second.logs()
        assert "torn tail; cutting it off" in logs
        assert "checkpoint unreadable" in logs
        assert "WAL recovered" in logs
    finally:
        prometheus.start()
    # The WAL's records from before the restart arrive: the counter reached 4.
    wait_until(lambda: prometheus.value(f"max_over_time({selector}[10m])") == 4, timeout=60,
               what="the WAL's samples delivered")
    send(second, "grpc", service, [("op", SERVER, 0.001, False)])
    wait_until(lambda: f'service="{service}"' in second.generated(), what="the server still serving")
    assert "metronome_wal_truncations_total" in second.self_metrics()
