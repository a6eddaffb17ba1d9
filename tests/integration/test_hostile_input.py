"""Issue 9: requests written by an attacker neither crash the server, nor grow its memory past its bounds, nor hold
its connections; refused requests get 400 / 413 / 429 (or their gRPC codes) and every accepted span is counted."""
import gzip
import json
import socket
import struct
import threading
import time

import grpc
import pytest
import requests
from google.rpc import status_pb2

from conftest import wait_until
from otel_clients import SERVER, send
from test_bad_input import EXPORT, PROTOBUF, post, request_bytes, status_of

DEPTH = 50_000


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number, payload):
    """A length-delimited protobuf field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def deep_value(depth, kvlist=False):
    """An AnyValue nesting `depth` array values (or key-value lists) around a string, built outside-in without
    re-copying the inner bytes at each level."""
    inner = field(1, b"x")  # AnyValue.string_value
    prefixes = []
    size = len(inner)
    for _ in range(depth):
        if kvlist:  # AnyValue.kvlist_value(6) { KeyValueList.values(1) { KeyValue { key(1), value(2) } } }
            key = field(1, b"k")
            value_header = varint(2 << 3 | 2) + varint(size)
            key_value_size = len(key) + len(value_header) + size
            values_header = varint(1 << 3 | 2) + varint(key_value_size)
            outer = varint(6 << 3 | 2) + varint(len(values_header) + key_value_size)
            prefix = outer + values_header + key + value_header
        else:  # AnyValue.array_value(5) { ArrayValue.values(1) { ... } }
            values_header = varint(1 << 3 | 2) + varint(size)
            prefix = varint(5 << 3 | 2) + varint(len(values_header) + size) + values_header
        prefixes.append(prefix)
        size += len(prefix)
    return b"".join(reversed(prefixes)) + inner


def attribute(key, value_bytes):
    return field(1, key.encode()) + field(2, value_bytes)


def string_value(text):
    return field(1, text.encode())


def span_bytes(name, span_attributes=b"", seed=1):
    end = time.time_ns()
    return (
        field(1, bytes([0x4B] * 8) + seed.to_bytes(8, "big"))
        + field(2, seed.to_bytes(8, "big"))
        + field(5, name.encode())
        + bytes([6 << 3]) + varint(2)  # SPAN_KIND_SERVER
        + bytes([7 << 3 | 1]) + struct.pack("<Q", end - 1_000_000)
        + bytes([8 << 3 | 1]) + struct.pack("<Q", end)
        + span_attributes
    )


def request_with(resource_attributes, spans):
    """An ExportTraceServiceRequest of one resource (attributes already encoded as KeyValue fields) and `spans`."""
    resource = b"".join(field(1, kv) for kv in resource_attributes)
    scope_spans = b"".join(field(2, span) for span in spans)
    return field(1, field(1, resource) + field(2, scope_spans))


def grpc_export(metronome, body, metadata=(), compression=None):
    channel = grpc.insecure_channel(
        f"127.0.0.1:{metronome.grpc_port}",
        options=[("grpc.max_send_message_length", 64 << 20), ("grpc.max_receive_message_length", 64 << 20)],
    )
    try:
        export = channel.unary_unary(EXPORT)
        return export.with_call(body, metadata=metadata, timeout=30, compression=compression)
    finally:
        channel.close()


def calls(prometheus, service, name):
    return prometheus.value(f'traces_spanmetrics_calls_total{{service="{service}",span_name="{name}"}}')


# --- Finding 1: deeply nested attribute values -------------------------------------------------------------------

@pytest.mark.parametrize("kvlist", [False, True], ids=["array", "kvlist"])
def test_deeply_nested_values_are_refused_wherever_they_would_become_a_label(prometheus, metronome_factory, service,
                                                                               kvlist):
    metronome = metronome_factory(span_metrics={"dimensions": ["deep"], "enable_target_info": True})
    deep = deep_value(DEPTH, kvlist)
    assert len(deep) > 350_000
    payloads = {
        "service.name": request_with([attribute("service.name", deep)], [span_bytes("s")]),
        "dimension": request_with([attribute("service.name", string_value(service))],
                                  [span_bytes("s", field(9, attribute("deep", deep)))]),
        "target_info": request_with([attribute("service.name", string_value(service)), attribute("deep", deep)],
                                    [span_bytes("s")]),
    }
    for where, body in payloads.items():
        response = post(metronome, body)
        assert response.status_code == 400, where
        assert "deeper than 64 levels" in status_of(response).message, where
        with pytest.raises(grpc.RpcError) as refused:
            grpc_export(metronome, body)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, where
        assert "deeper than 64 levels" in refused.value.details(), where
    assert metronome.process.poll() is None
    assert post(metronome, request_bytes(service, name="after")).status_code == 200
    prometheus.wait_value(f'traces_spanmetrics_calls_total{{service="{service}",span_name="after"}}', 1)


# --- Findings 2, 3 and 5: amplification and echo -------------------------------------------------------------------

def test_sixteen_mebibytes_of_empty_spans_or_json_objects_are_refused_within_a_small_multiple(metronome_factory):
    metronome = metronome_factory(http_listener={"max_recv_msg_size_mib": 16})
    before = metronome.peak_rss_mib()
    empty_spans = b"\x12\x00" * ((8 << 20) - 16)
    body = field(1, field(2, empty_spans))
    for _ in range(4):
        response = post(metronome, body)
        assert response.status_code == 400
        assert "span 0 has a 0-byte trace id" in status_of(response).message
    spans = ",".join(["{}"] * ((16 << 20) // 3 - 40))
    storm = ('{"resourceSpans":[{"scopeSpans":[{"spans":[' + spans + "]}]}]}").encode()
    assert len(storm) <= 16 << 20
    response = requests.post(f"{metronome.otlp_http}/v1/traces", data=storm,
                             headers={"Content-Type": "application/json"}, timeout=60)
    assert response.status_code == 400
    assert "trace id" in response.json()["message"]
    growth = metronome.peak_rss_mib() - before
    print(f"peak RSS growth over 4 protobuf and 1 JSON 16 MiB hostile bodies: {growth:.0f} MiB")
    assert growth < 200, f"peak RSS grew by {growth:.0f} MiB"


def test_client_text_is_neither_echoed_whole_nor_able_to_forge_log_lines(metronome):
    huge = "zz" * (2 << 20)
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": huge, "spanId": "01" * 8}]}]}]})
    response = requests.post(f"{metronome.otlp_http}/v1/traces", data=body,
                             headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code in (400, 413)
    assert len(response.content) < 2048
    forged = "00\nlevel=error msg=forged line"
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": forged, "spanId": "01" * 8}]}]}]})
    response = requests.post(f"{metronome.otlp_http}/v1/traces", data=body,
                             headers={"Content-Type": "application/json"}, timeout=5)
    assert response.status_code == 400
    assert "\\n" in response.json()["message"]
    wait_until(lambda: "rejected a request" in metronome.logs(), what="the rejection logged")
    assert not any(line.startswith("level=error msg=forged") for line in metronome.logs().splitlines())


def test_gzip_with_trailing_data_or_a_second_member_is_refused(metronome, service):
    good = gzip.compress(request_bytes(service))
    for body in (good + b"garbage", good + gzip.compress(request_bytes(service))):
        response = post(metronome, body, headers={**PROTOBUF, "Content-Encoding": "gzip"})
        assert response.status_code == 400
        assert "after the end of its gzip stream" in status_of(response).message
    assert post(metronome, good, headers={**PROTOBUF, "Content-Encoding": "gzip"}).status_code == 200


# --- Finding 6: gRPC limits ----------------------------------------------------------------------------------------

def test_grpc_messages_over_the_limit_get_resource_exhausted(metronome_factory, service):
    metronome = metronome_factory(grpc_listener={"max_recv_msg_size_mib": 1})
    oversized = request_with([attribute("service.name", string_value(service))],
                             [span_bytes("big", field(9, attribute("pad", string_value("p" * (2 << 20)))))])
    with pytest.raises(grpc.RpcError) as refused:
        grpc_export(metronome, oversized)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "exceeds the limit of 1048576 bytes" in refused.value.details()
    with pytest.raises(grpc.RpcError) as bomb:
        grpc_export(metronome, oversized, compression=grpc.Compression.Gzip)
    assert bomb.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # The connection and the server are fine: the next call succeeds.
    grpc_export(metronome, request_bytes(service))
    assert metronome.self_metric("metronome_receiver_requests_rejected_total", receiver="otlp_grpc",
                                 reason="too_large") == 2


# --- Finding 8: overload ---------------------------------------------------------------------------------------------

def hold_reservation(metronome, declared):
    """Opens a request declaring `declared` body bytes, sends a few and stays quiet: its reservation is held."""
    sock = socket.create_connection(("127.0.0.1", metronome.http_port))
    sock.sendall(
        f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
        f"Content-Length: {declared}\r\n\r\n".encode() + b"\x0a"
    )
    return sock


def test_over_the_inflight_budget_requests_get_429_and_every_accepted_span_is_counted(prometheus, metronome_factory,
                                                                                      service):
    metronome = metronome_factory(distributor={"max_inflight_bytes": 100_000})
    holder = hold_reservation(metronome, 90_000)
    wait_until(lambda: metronome.self_metric("metronome_inflight_bytes") >= 90_000, what="the reservation")
    body = request_bytes(service, name="burst")
    padded = body + field(1, b"") * ((20_000 - len(body)) // 2)  # empty ResourceSpans: 20 kB, one span
    response = post(metronome, padded)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert "distributor.max_inflight_bytes" in status_of(response).message
    holder.close()
    wait_until(lambda: metronome.self_metric("metronome_inflight_bytes") == 0, what="the reservation released")

    # A burst of 24 concurrent senders while 60 kB stay reserved (room for two requests at a time): some may be
    # refused; every accepted one is counted.
    results = [post(metronome, padded).status_code]
    holder = hold_reservation(metronome, 60_000)
    wait_until(lambda: metronome.self_metric("metronome_inflight_bytes") >= 60_000, what="the reservation")

    def sender():
        results.append(post(metronome, padded).status_code)

    threads = [threading.Thread(target=sender) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    holder.close()
    accepted = results.count(200)
    assert set(results) <= {200, 429} and accepted > 0
    print(f"burst: {accepted} accepted, {results.count(429)} refused")
    prometheus.wait_value(f'traces_spanmetrics_calls_total{{service="{service}",span_name="burst"}}', accepted)
    assert metronome.self_metric("metronome_receiver_requests_rejected_total",
                                 reason="inflight_bytes") == 1 + results.count(429)


def test_a_lone_compressed_request_is_served_under_a_budget_below_the_size_limit(prometheus, metronome_factory,
                                                                                 service):
    # A compressed body reserves its bytes, then the size limit (16 MiB) while it is decompressed: far past a 64 kB
    # budget, but it is the only request in flight, so it is let in.
    metronome = metronome_factory(distributor={"max_inflight_bytes": 65_536})
    body = gzip.compress(request_bytes(service, name="alone"))
    assert post(metronome, body, headers={**PROTOBUF, "Content-Encoding": "gzip"}).status_code == 200
    grpc_export(metronome, request_bytes(service, name="alone"), compression=grpc.Compression.Gzip)
    prometheus.wait_value(f'traces_spanmetrics_calls_total{{service="{service}",span_name="alone"}}', 2)
    assert metronome.self_metric("metronome_inflight_bytes") == 0
    # While another request holds part of the budget, the compressed one does not fit and is refused.
    holder = hold_reservation(metronome, 1_000)
    wait_until(lambda: metronome.self_metric("metronome_inflight_bytes") >= 1_000, what="the reservation")
    assert post(metronome, body, headers={**PROTOBUF, "Content-Encoding": "gzip"}).status_code == 429
    holder.close()


def test_a_new_tenant_past_the_limit_gets_429_and_resource_exhausted(metronome_factory, service):
    metronome = metronome_factory(distributor={"max_tenants": 2})
    for tenant in ("a", "b"):
        assert post(metronome, request_bytes(service), headers={**PROTOBUF, "X-Scope-OrgID": tenant}).status_code == 200
    response = post(metronome, request_bytes(service), headers={**PROTOBUF, "X-Scope-OrgID": "c"})
    assert response.status_code == 429
    assert "Retry-After" not in response.headers
    assert "distributor.max_tenants" in status_of(response).message
    with pytest.raises(grpc.RpcError) as refused:
        grpc_export(metronome, request_bytes(service), metadata=(("x-scope-orgid", "d"),))
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert post(metronome, request_bytes(service), headers={**PROTOBUF, "X-Scope-OrgID": "a"}).status_code == 200


def test_a_tenant_over_its_ingestion_rate_gets_retry_hints(metronome_factory, service):
    metronome = metronome_factory(ingestion={"rate_limit_bytes": 1000, "burst_size_bytes": 1000})
    body = request_bytes(service)
    responses = [post(metronome, body) for _ in range(20)]
    assert responses[0].status_code == 200
    # The bucket refills at 1000 B/s, so now and then a request fits again; look at a refused one.
    response = next(r for r in responses if r.status_code == 429)
    assert int(response.headers["Retry-After"]) >= 1
    assert status_of(response).message.startswith("RATE_LIMITED: ingestion rate limit (1000 bytes) exceeded")
    with pytest.raises(grpc.RpcError) as refused:
        for _ in range(20):
            grpc_export(metronome, body)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    details = dict(refused.value.trailing_metadata()).get("grpc-status-details-bin")
    status = status_pb2.Status()
    status.ParseFromString(details)
    assert status.code == 8 and status.details[0].type_url == "type.googleapis.com/google.rpc.RetryInfo"


# --- Finding 7: slow clients -----------------------------------------------------------------------------------------

def closed_within(sock, seconds, trickle=None):
    """Whether the server closes `sock` within `seconds`, while `trickle` bytes (if any) are sent every 200 ms."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if trickle:
                sock.sendall(trickle)
            if sock.recv(4096) == b"":
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def test_slow_http_clients_are_cut_off_after_their_timeouts(metronome_factory, service):
    limits = {"read_header_timeout": "1s", "read_timeout": "1s", "idle_timeout": "1s", "max_connections": 20}
    metronome = metronome_factory(http_listener=limits)
    tricklers = [socket.create_connection(("127.0.0.1", metronome.http_port)) for _ in range(10)]
    for sock in tricklers:
        sock.sendall(b"POST /v1/traces HTTP/1.1\r\n")
    assert all(closed_within(sock, 5, trickle=b"X") for sock in tricklers[:3])
    body_trickler = hold_reservation(metronome, 1000)
    assert closed_within(body_trickler, 5)
    idle = socket.create_connection(("127.0.0.1", metronome.http_port))
    idle.sendall(b"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n")
    assert idle.recv(4096).startswith(b"HTTP/1.1 404")
    assert closed_within(idle, 5)
    # Answered early (413 from Content-Length) and then sent its body anyway: the idle timeout still applies.
    early = socket.create_connection(("127.0.0.1", metronome.http_port))
    early.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                  b"Content-Length: 2000000\r\n\r\n")
    assert early.recv(4096).startswith(b"HTTP/1.1 413")
    try:
        early.sendall(b"\x00" * 2_000_000)
    except (ConnectionResetError, BrokenPipeError):
        pass
    assert closed_within(early, 5)
    for phase in ("header", "body", "idle"):
        assert metronome.self_metric("metronome_connections_timed_out_total", listener="otlp_http", phase=phase) >= 1
    assert post(metronome, request_bytes(service)).status_code == 200


def test_connections_past_the_limit_are_closed_and_grpc_preface_tricklers_cut_off(metronome_factory, service):
    metronome = metronome_factory(http_listener={"max_connections": 3},
                                  grpc_listener={"connection_preface_timeout": "1s", "max_connections": 3})
    held = [socket.create_connection(("127.0.0.1", metronome.http_port)) for _ in range(3)]
    wait_until(lambda: metronome.self_metric("metronome_connections", listener="otlp_http") == 3, what="3 open")
    extra = socket.create_connection(("127.0.0.1", metronome.http_port))
    assert closed_within(extra, 3)
    assert metronome.self_metric("metronome_connections_refused_total", listener="otlp_http") == 1
    for sock in held:
        sock.close()
    wait_until(lambda: metronome.self_metric("metronome_connections", listener="otlp_http") == 0, what="all closed")
    assert post(metronome, request_bytes(service)).status_code == 200

    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    trickler = socket.create_connection(("127.0.0.1", metronome.grpc_port))
    trickler.sendall(preface[:4])
    assert closed_within(trickler, 5)
    assert metronome.self_metric("metronome_connections_timed_out_total", listener="otlp_grpc", phase="preface") == 1
    assert send(metronome, "grpc", service, [("after", SERVER, 0.001, False)]) != []


# --- Finding 4: collection amplification ----------------------------------------------------------------------------

def test_collecting_a_million_series_streams_to_the_wal_in_bounded_chunks(metronome_factory):
    metronome = metronome_factory(http_listener={"max_recv_msg_size_mib": 16}, collection_interval="5s")
    names, batch = 125_000, 12_500  # 8 series per span name with the fixture's 3 buckets
    for start in range(0, names, batch):
        body = request_with([attribute("service.name", string_value("storm"))],
                            [span_bytes(f"name-{i}", seed=i + 1) for i in range(start, start + batch)])
        # A push waits for the shards a collection holds: in a debug build, a collection of this many series can hold
        # them for seconds (collections fall on multiples of the interval, so one may run while these arrive).
        assert post(metronome, body, timeout=60).status_code == 200
    ingested = metronome.peak_rss_mib()
    # Two more collections: at least one of them started after every span was in.
    collections = metronome.self_metric("metronome_registry_collections_total")
    wait_until(lambda: metronome.self_metric("metronome_registry_collections_total") >= collections + 2,
               timeout=180, what="two collections")
    series = metronome.self_metric("metronome_registry_active_series")
    growth = metronome.peak_rss_mib() - ingested
    print(f"{series:.0f} series: peak RSS {ingested:.0f} MiB after ingest, +{growth:.0f} MiB while collecting")
    assert series > 900_000
    # Holding the whole collection's requests and a snapshot of every entry for the checkpoint took ~370 MiB more
    # per million series; now requests go to the WAL in 4 MiB chunks and the checkpoint to its file a shard at a
    # time. What remains (~55 MiB here) is those chunks, the send shards reading them, and the allocator.
    assert growth < 120, f"collection grew the process by {growth:.0f} MiB"


def test_shutdown_with_many_tenants_ends_within_the_flush_deadline(prometheus, metronome_factory, service):
    metronome = metronome_factory(distributor={"max_tenants": 600}, collection_interval="15s",
                                  storage={"remote_write_flush_deadline": "10s"})
    for tenant in range(500):
        # A fresh body each time: spans older than the 30 s ingestion slack would create no tenant.
        response = post(metronome, request_bytes(service), headers={**PROTOBUF, "X-Scope-OrgID": f"tenant-{tenant}"})
        assert response.status_code == 200
    tenants = metronome.self_metric("metronome_tenants")
    assert tenants == 500, metronome.self_metrics()
    started = time.monotonic()
    assert metronome.terminate(timeout=60) == 0
    took = time.monotonic() - started
    print(f"SIGTERM with 500 tenants took {took:.1f} s")
    assert took < 10 + 5, f"shutdown took {took:.1f} s"
    assert "stopped" in metronome.logs()
