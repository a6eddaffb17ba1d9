import NIOCore
import NIOHTTPTypes

/// First in an HTTP/1 connection's pipeline: counts the connection against its listener's limit (closing it when
/// over) and tells the ``HTTPRequestClock`` when bytes arrive.
final class HTTPByteArrivalHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let clock: HTTPRequestClock
    private let connections: ConnectionCount
    private var slot = ConnectionCount.Slot()

    init(clock: HTTPRequestClock, connections: ConnectionCount) {
        self.clock = clock
        self.connections = connections
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard slot.take(in: connections, context) else { return }
        clock.start(context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        end()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        end()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        clock.bytesArrived()
        context.fireChannelRead(data)
    }

    private func end() {
        clock.stop()
        slot.giveBack(to: connections)
    }
}

/// After HTTP decoding: tells the ``HTTPRequestClock`` where each request and its response are.
final class HTTPRequestPhaseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let clock: HTTPRequestClock

    init(clock: HTTPRequestClock) {
        self.clock = clock
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: clock.headReceived()
        case .body: clock.bodyReceived()
        case .end: clock.requestEnded()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { clock.responseEnded() }
        context.write(data, promise: promise)
    }
}
