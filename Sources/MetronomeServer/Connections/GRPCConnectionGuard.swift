import NIOCore

/// First in an OTLP/gRPC connection's pipeline: counts the connection against the listener's limit (closing it when
/// over) and closes it when the 24-byte HTTP/2 connection preface has not arrived within the preface timeout, so a
/// client that trickles it cannot hold a connection. After the preface it only passes bytes on.
final class GRPCConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private static let prefaceBytes = 24

    private let connections: ConnectionCount
    private let prefaceTimeout: Duration
    private var prefaceRead = 0
    private var deadline: Scheduled<Void>?
    private var slot = ConnectionCount.Slot()

    init(connections: ConnectionCount, prefaceTimeout: Duration) {
        self.connections = connections
        self.prefaceTimeout = prefaceTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard slot.take(in: connections, context) else { return }
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: TimeAmount(prefaceTimeout)) {
            [connections, prefaceTimeout] in
            connections.timedOut(phase: "preface", after: prefaceTimeout)
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if prefaceRead < Self.prefaceBytes {
            prefaceRead += unwrapInboundIn(data).readableBytes
            if prefaceRead >= Self.prefaceBytes {
                deadline?.cancel()
                deadline = nil
            }
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        end()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        end()
    }

    private func end() {
        deadline?.cancel()
        deadline = nil
        slot.giveBack(to: connections)
    }
}
