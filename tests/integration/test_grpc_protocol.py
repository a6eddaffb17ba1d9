"""Issue 15: the gRPC receivers run on swift-nio-http2 directly; what a gRPC client sees of the protocol stays what
grpc-swift served: compression, status codes and texts, unknown methods and encodings, HTTP errors for non-gRPC
requests, every call answered on a shared connection, and messages larger than the flow-control windows; beyond it,
a message reserved in the in-flight budget from its 5-byte prefix, and a request that goes quiet timed out."""
import socket
import struct
import threading

import grpc
import hpack
import pytest

from test_bad_input import EXPORT, request_bytes
from conftest import wait_until
from test_hostile_input import attribute, field, grpc_export, request_with, span_bytes, string_value

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


@pytest.mark.parametrize("compression", [grpc.Compression.NoCompression, grpc.Compression.Gzip,
                                         grpc.Compression.Deflate])
def test_every_request_compression_is_decoded(metronome, service, compression):
    response, call = grpc_export(metronome, request_bytes(service), compression=compression)
    assert response == b""
    assert call.code() == grpc.StatusCode.OK
    assert metronome.self_metric("metronome_receiver_spans_total", receiver="otlp_grpc") >= 1


def test_an_unknown_method_is_unimplemented_and_named(metronome):
    with grpc.insecure_channel(f"127.0.0.1:{metronome.grpc_port}") as channel:
        with pytest.raises(grpc.RpcError) as refused:
            channel.unary_unary("/opentelemetry.proto.collector.metrics.v1.MetricsService/Export")(b"", timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "MetricsService/Export" in refused.value.details()
    assert metronome.self_metric("metronome_receiver_requests_rejected_total", receiver="otlp_grpc",
                                 status="unimplemented", reason="unimplemented") == 1


def test_many_concurrent_calls_on_one_connection_are_all_answered(metronome, service):
    errors = []
    with grpc.insecure_channel(f"127.0.0.1:{metronome.grpc_port}") as channel:
        export = channel.unary_unary(EXPORT)

        def send(count):
            try:
                for _ in range(count):
                    export(request_bytes(service), timeout=30)
            except grpc.RpcError as error:
                errors.append(error)

        threads = [threading.Thread(target=send, args=(25,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert metronome.self_metric("metronome_receiver_requests_total", receiver="otlp_grpc") == 200


def test_messages_larger_than_the_flow_control_windows_are_read_whole(metronome_factory, service):
    """A 6 MiB message is six times its stream's 1 MiB window, and four at once three times the connection's 8 MiB:
    the server reopens both windows as it reads, or these calls stall until their deadline."""
    metronome = metronome_factory(grpc_listener={"max_recv_msg_size_mib": 16})
    padding = field(9, attribute("padding", string_value("p" * 1000)))
    spans = 6000
    body = request_with([attribute("service.name", string_value(service))],
                        [span_bytes("large", padding, seed=seed) for seed in range(1, spans + 1)])
    assert len(body) > 6 << 20
    errors = []
    with grpc.insecure_channel(f"127.0.0.1:{metronome.grpc_port}",
                               options=[("grpc.max_send_message_length", 64 << 20)]) as channel:
        export = channel.unary_unary(EXPORT)

        def send():
            try:
                export(body, timeout=30)
            except grpc.RpcError as error:
                errors.append(error)

        threads = [threading.Thread(target=send) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert metronome.self_metric("metronome_receiver_spans_total", receiver="otlp_grpc") == 4 * spans


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def literal(name, value):
    """An HPACK literal header field without indexing, with a literal name (no Huffman coding)."""
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def read_frames(sock, until_kind, stream, until_flags=0):
    """Frames read until one of `until_kind` on `stream` with `until_flags` set arrives (or the peer closes); (kind,
    flags, stream, payload)."""
    frames, buffer = [], b""
    while True:
        while len(buffer) >= 9:
            length = int.from_bytes(buffer[:3], "big")
            if len(buffer) < 9 + length:
                break
            kind, flags, sid = buffer[3], buffer[4], int.from_bytes(buffer[5:9], "big") & 0x7FFFFFFF
            frames.append((kind, flags, sid, buffer[9:9 + length]))
            buffer = buffer[9 + length:]
            if kind in until_kind and sid == stream and flags & until_flags == until_flags:
                return frames
        chunk = sock.recv(65536)
        if not chunk:
            return frames
        buffer += chunk


def test_a_request_that_is_not_grpc_gets_an_http_error_and_the_connection_stays_usable(metronome, service):
    with socket.create_connection(("127.0.0.1", metronome.grpc_port), timeout=10) as sock:
        sock.sendall(H2_PREFACE + frame(4, 0, 0))  # SETTINGS
        headers = (literal(b":method", b"POST") + literal(b":scheme", b"http") + literal(b":path", EXPORT.encode())
                   + literal(b":authority", b"x") + literal(b"content-type", b"application/json"))
        sock.sendall(frame(1, 0x4 | 0x1, 1, headers))  # HEADERS, END_HEADERS | END_STREAM
        frames = read_frames(sock, {1}, 1)
        answered = [payload for kind, _, sid, payload in frames if kind == 1 and sid == 1]
        assert answered, frames
        response = dict(hpack.Decoder().decode(answered[0]))
        assert response[":status"] == "415"
        assert "application/grpc" in response["grpc-message"]
        goaways = [f for f in frames if f[0] == 7]
        assert goaways == []
    # A real client still gets its calls through.
    grpc_export(metronome, request_bytes(service))
    assert metronome.self_metric("metronome_receiver_requests_rejected_total", receiver="otlp_grpc",
                                 status="415", reason="unsupported_media_type") == 1


def open_call(sock, stream, message_prefix):
    """Sends a call's headers and the first bytes of its message on `stream`, without ending the request."""
    headers = (literal(b":method", b"POST") + literal(b":scheme", b"http") + literal(b":path", EXPORT.encode())
               + literal(b":authority", b"x") + literal(b"content-type", b"application/grpc"))
    sock.sendall(frame(1, 0x4, stream, headers))  # HEADERS, END_HEADERS
    sock.sendall(frame(0, 0, stream, message_prefix))  # DATA


def status_of_call(frames, stream):
    """The decoded trailers-only answer of `stream` among `frames`."""
    answered = [payload for kind, _, sid, payload in frames if kind == 1 and sid == stream]
    assert answered, frames
    return dict(hpack.Decoder().decode(answered[-1]))


def test_a_message_is_reserved_from_its_prefix_and_refused_there_when_the_budget_is_full(metronome_factory, service):
    metronome = metronome_factory(distributor={"max_inflight_bytes": 100_000})
    with socket.create_connection(("127.0.0.1", metronome.grpc_port), timeout=10) as sock:
        sock.sendall(H2_PREFACE + frame(4, 0, 0))  # SETTINGS
        open_call(sock, 1, b"\x00" + struct.pack(">I", 90_000) + b"\x0a")
        wait_until(lambda: metronome.self_metric("metronome_inflight_bytes") >= 90_000, what="the reservation")
        # Another call's 20 kB do not fit: refused at its prefix, with a retry hint, before its message is read.
        open_call(sock, 3, b"\x00" + struct.pack(">I", 20_000))
        frames = read_frames(sock, {1, 3}, 3)
        refused = status_of_call(frames, 3)
        assert refused["grpc-status"] == "8"
        assert "distributor.max_inflight_bytes" in refused["grpc-message"]
        assert "grpc-status-details-bin" in refused
        # A client's reset gives the first call's reservation back.
        sock.sendall(frame(3, 0, 1, struct.pack(">I", 8)))  # RST_STREAM CANCEL
        wait_until(lambda: metronome.self_metric("metronome_inflight_bytes") == 0, what="the reservation released")
    grpc_export(metronome, request_bytes(service))
    assert metronome.self_metric("metronome_receiver_requests_rejected_total", receiver="otlp_grpc",
                                 status="resourceExhausted", reason="inflight_bytes") == 1


def test_a_request_that_goes_quiet_is_answered_deadline_exceeded_and_the_connection_goes_on(metronome_factory):
    metronome = metronome_factory(grpc_listener={"read_timeout": "1s"})
    with socket.create_connection(("127.0.0.1", metronome.grpc_port), timeout=10) as sock:
        sock.sendall(H2_PREFACE + frame(4, 0, 0))  # SETTINGS
        open_call(sock, 1, b"\x00" + struct.pack(">I", 50_000) + b"\x0a" * 10)
        wait_until(lambda: metronome.self_metric("metronome_inflight_bytes") >= 50_000, what="the reservation")
        frames = read_frames(sock, {3}, 1)  # the answer's RST_STREAM
        answer = status_of_call(frames, 1)
        assert answer["grpc-status"] == "4"
        assert "read timeout" in answer["grpc-message"] and "10 of its 50000 message bytes" in answer["grpc-message"]
        assert [f for f in frames if f[0] == 7] == [], "no GOAWAY: the connection stays"
        assert metronome.self_metric("metronome_inflight_bytes") == 0
        # The same connection serves the next call: an empty request, whole.
        sock.sendall(frame(1, 0x4, 3, literal(b":method", b"POST") + literal(b":scheme", b"http")
                           + literal(b":path", EXPORT.encode()) + literal(b":authority", b"x")
                           + literal(b"content-type", b"application/grpc")))
        sock.sendall(frame(0, 0x1, 3, b"\x00" + struct.pack(">I", 0)))  # DATA, END_STREAM
        frames = read_frames(sock, {1}, 3, until_flags=0x1)  # until the trailers, END_STREAM
        assert [kind for kind, _, sid, _ in frames if sid == 3] == [1, 0, 1], frames
    assert metronome.self_metric("metronome_receiver_requests_rejected_total", receiver="otlp_grpc",
                                 status="deadlineExceeded", reason="read_timeout") == 1
