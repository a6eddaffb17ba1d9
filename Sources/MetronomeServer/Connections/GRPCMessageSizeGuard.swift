import NIOCore
import NIOHPACK
import NIOHTTP2

/// First in each OTLP/gRPC stream's pipeline: answers a request message over the size limit with the status gRPC
/// defines for it, `RESOURCE_EXHAUSTED` and a message, instead of the transport's stream reset (`CANCELLED`).
///
/// The message's declared length (the 5-byte gRPC prefix) is checked as soon as it arrives, before the message is
/// buffered; a too-large stream is answered with trailers, reset with `NO_ERROR` and its further frames dropped. A
/// compressed message that decompresses past the limit is found by the transport, which then closes the stream; the
/// guard sends the same status first when no response has started.
final class GRPCMessageSizeGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private let limit: Int
    private let onRefusal: @Sendable (String) -> Void
    /// The first message's prefix, until its 5 bytes have arrived.
    private var prefix: [UInt8] = []
    private var compressed = false
    private var responseStarted = false
    private var refused = false

    /// - Parameter onRefusal: counts and logs a refusal, given its message.
    init(limit: Int, onRefusal: @escaping @Sendable (String) -> Void) {
        self.limit = limit
        self.onRefusal = onRefusal
        prefix.reserveCapacity(5)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        if prefix.count < 5, case .data(let frame) = unwrapInboundIn(data), case .byteBuffer(let buffer) = frame.data {
            prefix.append(contentsOf: buffer.readableBytesView.prefix(5 - prefix.count))
            if prefix.count == 5 {
                compressed = prefix[0] == 1
                let length = prefix[1...4].reduce(0) { $0 << 8 | Int($1) }
                if length > limit {
                    return refuse(context, "request message of \(length) bytes exceeds the limit of \(limit) bytes")
                }
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .headers = unwrapOutboundIn(data) { responseStarted = true }
        context.write(data, promise: promise)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if compressed, !responseStarted, !refused {
            refused = true
            let message =
                "compressed request message exceeds the limit of \(limit) bytes when decompressed, or is not valid compressed data"
            onRefusal(message)
            writeTrailers(context, message: message)
        }
        context.close(mode: mode, promise: promise)
    }

    private func refuse(_ context: ChannelHandlerContext, _ message: String) {
        refused = true
        onRefusal(message)
        writeTrailers(context, message: message)
        context.writeAndFlush(wrapOutboundOut(.rstStream(.noError)), promise: nil)
    }

    /// A trailers-only response: HTTP 200, gRPC status 8 and `message`, percent-encoded as gRPC requires.
    private func writeTrailers(_ context: ChannelHandlerContext, message: String) {
        responseStarted = true
        let headers: HPACKHeaders = [
            ":status": "200", "content-type": "application/grpc", "grpc-status": "8",
            "grpc-message": Self.percentEncoded(message),
        ]
        context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: headers, endStream: true))), promise: nil)
    }

    static func percentEncoded(_ message: String) -> String {
        var encoded = ""
        for byte in message.utf8 {
            if byte >= 0x20, byte <= 0x7E, byte != UInt8(ascii: "%") {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return encoded
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
