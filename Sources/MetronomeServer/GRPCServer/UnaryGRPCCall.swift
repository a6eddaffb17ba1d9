import CompressNIO
import MetronomeWire
import NIOCore
import NIOHPACK
import NIOHTTP2

/// One unary call of a ``UnaryGRPCServer``, on one HTTP/2 stream: reads the request (headers, then the one
/// length-prefixed message) from the frames ``UnaryGRPCCalls`` hands it, passes it to its method and writes the answer
/// (headers, the response message and trailers, or a trailers-only status) on the connection.
///
/// Checked as the request arrives: `:method` POST (else HTTP 405), a `content-type` of `application/grpc…` (else HTTP
/// 415), a known `:path` (else `UNIMPLEMENTED`), a supported `grpc-encoding` (else `UNIMPLEMENTED` with
/// `grpc-accept-encoding`), and the message's declared length, as soon as its 5-byte prefix is in, against the size
/// limit and then the in-flight budget, where it is reserved (else `RESOURCE_EXHAUSTED`, before the message is
/// buffered; a compressed message also reserves the size limit while it is decompressed, as the HTTP receivers do).
/// The reservation goes to the method with the message and is released when the call is answered or closed. A call
/// answered before its request ended is reset with `NO_ERROR`, and what still arrives on it is dropped.
final class UnaryGRPCCall {
    private enum State {
        /// Waiting for the request headers.
        case idle
        /// Reading the request message.
        case receiving
        /// The method is working on the request.
        case handling
        /// Answered, or closed (reset by the client, or the connection went).
        case done
    }

    /// The headers of every answered call.
    private static let responseHeaders: HPACKHeaders = [
        ":status": "200", "content-type": "application/grpc", "grpc-accept-encoding": UnaryGRPCRoutes.acceptedEncodings,
    ]

    private let streamID: HTTP2StreamID
    private let routes: UnaryGRPCRoutes
    private var state = State.idle
    private var method: UnaryGRPCMethod?
    private var headers: HPACKHeaders = [:]
    private var encoding: CompressionAlgorithm?
    /// The message's 5-byte prefix: a compressed flag and a big-endian length.
    private var prefix: [UInt8] = []
    private var declaredLength = 0
    private var message: [UInt8] = []
    /// What the message holds of the in-flight budget, from its prefix until the answer.
    private var reservation: InflightReservation
    /// When a frame of the request last arrived (the event loop's clock).
    private(set) var lastRead: NIODeadline

    init(streamID: HTTP2StreamID, routes: UnaryGRPCRoutes, now: NIODeadline) {
        self.streamID = streamID
        self.routes = routes
        self.reservation = InflightReservation(routes.inflight)
        self.lastRead = now
    }

    /// Whether the request is still arriving: its stream's flow-control window is worth topping up, and its silence
    /// is timed.
    var isReceiving: Bool { state == .receiving }

    /// Takes one frame of the call's stream and answers on `context` once the request is complete or broken; true when
    /// the call ended on this frame (its answer, if it has one now, waits for a flush).
    func receive(_ payload: HTTP2Frame.FramePayload, context: ChannelHandlerContext) -> Bool {
        let wasOpen = state != .done
        dispatch(payload, context)
        return wasOpen && state == .done
    }

    private func dispatch(_ payload: HTTP2Frame.FramePayload, _ context: ChannelHandlerContext) {
        switch payload {
        case .headers(let frame):
            switch state {
            case .idle:
                state = .receiving
                if let status = accept(frame.headers) {
                    return answer(context, .failure(status), requestEnded: frame.endStream)
                }
                if frame.endStream { requestEnded(context) }
            case .receiving:
                // Request trailers end the request.
                if frame.endStream { requestEnded(context) }
            case .handling, .done:
                break
            }
        case .data(let frame):
            guard case .receiving = state else { return }
            guard case .byteBuffer(let buffer) = frame.data else { return }
            lastRead = context.eventLoop.now
            if let status = read(buffer) { return answer(context, .failure(status), requestEnded: frame.endStream) }
            if frame.endStream { requestEnded(context) }
        case .rstStream:
            closed()
        default:
            break
        }
    }

    /// The stream closed: nothing more is read or written (an answer still being worked on is dropped).
    func closed() {
        state = .done
        method = nil
        message = []
        reservation.shrink(to: 0)
    }

    /// The request went quiet for longer than `timeout`: answers `DEADLINE_EXCEEDED` and resets the stream (the
    /// answer waits for a flush).
    func timedOut(after timeout: Duration, context: ChannelHandlerContext) {
        guard state == .receiving else { return }
        let arrived =
            prefix.count < 5 ? "no message bytes" : "\(message.count) of its \(declaredLength) message bytes"
        let status = routes.refuse(
            .deadlineExceeded,
            reason: "read_timeout",
            "the request went quiet for longer than the read timeout of \(timeout) with \(arrived) received"
        )
        answer(context, .failure(status), requestEnded: false)
    }

    /// Checks the request headers: nil when the call may go on, else the status to answer with.
    private func accept(_ headers: HPACKHeaders) -> GRPCStatus? {
        guard headers.first(name: ":method") == "POST" else {
            return httpRefusal(status: "405", reason: "method_not_allowed", "gRPC calls are POST requests")
        }
        guard let contentType = headers.first(name: "content-type"), contentType.hasPrefix("application/grpc") else {
            return httpRefusal(
                status: "415",
                reason: "unsupported_media_type",
                "gRPC requests have a content-type of application/grpc"
            )
        }
        let path = headers.first(name: ":path") ?? ""
        guard let method = routes.methods[path] else {
            return routes.refuse(
                .unimplemented,
                reason: "unimplemented",
                "method \(ClientText.quoted(path)) is not implemented by this server"
            )
        }
        switch headers.first(name: "grpc-encoding") {
        case nil, "identity": encoding = nil
        case "gzip": encoding = .gzip()
        case "deflate": encoding = .zlib()
        case let other?:
            var status = routes.refuse(
                .unimplemented,
                reason: "unsupported_encoding",
                "message encoding \(ClientText.quoted(other)) is not supported; use one of \(UnaryGRPCRoutes.acceptedEncodings)"
            )
            status.listsAcceptedEncodings = true
            return status
        }
        self.method = method
        self.headers = headers
        return nil
    }

    /// A refusal answered with an HTTP error status: the request is not a gRPC call.
    private func httpRefusal(status: String, reason: String, _ message: String) -> GRPCStatus {
        RejectedRequests.record(
            receiver: routes.receiver,
            status: status,
            reason: reason,
            message: message,
            logger: routes.logger
        )
        var refusal = GRPCStatus(.internalError, message)
        refusal.httpStatus = status
        return refusal
    }

    /// Takes the bytes of one DATA frame: the prefix first, then the message; a status when they break a limit.
    private func read(_ buffer: ByteBuffer) -> GRPCStatus? {
        var bytes = buffer.readableBytesView[...]
        if prefix.count < 5 {
            let taken = bytes.prefix(5 - prefix.count)
            prefix += taken
            bytes = bytes.dropFirst(taken.count)
            guard prefix.count == 5 else { return nil }
            declaredLength = prefix[1...4].reduce(0) { $0 << 8 | Int($1) }
            guard declaredLength <= routes.maxMessageBytes else {
                return routes.refuse(
                    .resourceExhausted,
                    reason: "too_large",
                    "request message of \(declaredLength) bytes exceeds the limit of \(routes.maxMessageBytes) bytes"
                )
            }
            guard reservation.growWithinSizeLimit(by: declaredLength) else {
                return routes.refuseInflight(declaredLength)
            }
            // Room for what the client may send before it waits for a window update, not for what it claims.
            message.reserveCapacity(min(declaredLength, UnaryGRPCServer.streamWindowBytes))
        }
        guard message.count + bytes.count <= declaredLength else {
            return routes.refuse(
                .internalError,
                reason: "invalid",
                "a unary call carries one message; more bytes followed its \(declaredLength)-byte message"
            )
        }
        message += bytes
        return nil
    }

    /// The request is complete: checks the framing, decompresses and hands the message to its method.
    private func requestEnded(_ context: ChannelHandlerContext) {
        guard let method else { return }
        guard prefix.count == 5, message.count == declaredLength else {
            let detail = prefix.count < 5 ? "no message" : "\(message.count) of its \(declaredLength) message bytes"
            let status = routes.refuse(.internalError, reason: "invalid", "the request ended with \(detail)")
            return answer(context, .failure(status), requestEnded: true)
        }
        var request = message
        message = []
        if prefix[0] != 0 {
            guard reservation.growWithinSizeLimit(by: routes.maxMessageBytes) else {
                return answer(context, .failure(routes.refuseInflight(routes.maxMessageBytes)), requestEnded: true)
            }
            switch decompressed(request) {
            case .success(let bytes): request = bytes
            case .failure(let status): return answer(context, .failure(status), requestEnded: true)
            }
            reservation.shrink(to: request.count)
        }
        state = .handling
        switch method.handle(request, headers, &reservation) {
        case .now(let result):
            answer(context, result, requestEnded: true)
        case .later(let work):
            let eventLoop = context.eventLoop
            let bound = NIOLoopBound((self, context), eventLoop: eventLoop)
            Task {
                let result = await work()
                eventLoop.execute {
                    let (call, context) = bound.value
                    call.answer(context, result, requestEnded: true)
                    context.flush()
                }
            }
        }
    }

    private func decompressed(_ compressed: [UInt8]) -> Result<[UInt8], GRPCStatus> {
        guard let encoding else {
            return .failure(
                routes.refuse(
                    .internalError,
                    reason: "invalid",
                    "the message is flagged compressed but the call's grpc-encoding is identity"
                )
            )
        }
        var buffer = ByteBuffer(bytes: compressed)
        do {
            let bytes = try buffer.decompress(with: encoding, maxSize: routes.maxMessageBytes)
            // A second gzip member (or garbage) after the first would otherwise be dropped without a word.
            guard buffer.readableBytes == 0 else {
                return .failure(
                    routes.refuse(
                        .internalError,
                        reason: "invalid",
                        "the request message has \(buffer.readableBytes) bytes after the end of its compressed stream"
                    )
                )
            }
            return .success(Array(bytes.readableBytesView))
        } catch let error as CompressNIOError where error == .bufferOverflow {
            return .failure(
                routes.refuse(
                    .resourceExhausted,
                    reason: "too_large",
                    "compressed request message exceeds the limit of \(routes.maxMessageBytes) bytes when decompressed"
                )
            )
        } catch {
            return .failure(
                routes.refuse(.internalError, reason: "invalid", "the request message is not valid compressed data")
            )
        }
    }

    /// Writes the answer, unflushed, and, when the request had not ended, resets the stream so the client stops
    /// sending; nothing when the call was already answered or closed.
    private func answer(
        _ context: ChannelHandlerContext,
        _ result: Result<[UInt8], GRPCStatus>,
        requestEnded: Bool
    ) {
        guard state != .done else { return }
        closed()
        switch result {
        case .success(let response):
            write(.headers(.init(headers: Self.responseHeaders)), context)
            var body = context.channel.allocator.buffer(capacity: 5 + response.count)
            body.writeInteger(UInt8(0))
            body.writeInteger(UInt32(response.count))
            body.writeBytes(response)
            write(.data(.init(data: .byteBuffer(body))), context)
            write(.headers(.init(headers: GRPCStatus.okTrailers, endStream: true)), context)
        case .failure(let status):
            write(.headers(.init(headers: status.trailersOnly, endStream: true)), context)
        }
        if !requestEnded { write(.rstStream(.noError), context) }
    }

    private func write(_ payload: HTTP2Frame.FramePayload, _ context: ChannelHandlerContext) {
        context.write(NIOAny(HTTP2Frame(streamID: streamID, payload: payload)), promise: nil)
    }
}
