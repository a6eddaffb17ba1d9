import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Hummingbird's HTTP/1 child channel with ``HTTPConnectionLimits`` enforced: a connection count and the header,
/// body and idle timeouts of ``HTTPRequestClock``.
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let responder: HTTPChannelHandler.Responder
    let limits: HTTPConnectionLimits
    let connections: ConnectionCount

    /// A server builder for `Application(router:server:)`.
    static func builder(limits: HTTPConnectionLimits, listener: String, logger: Logger) -> HTTPServerBuilder {
        let connections = ConnectionCount(listener: listener, limit: limits.maxConnections, logger: logger)
        return HTTPServerBuilder { responder in
            GuardedHTTP1Channel(responder: responder, limits: limits, connections: connections)
        }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let clock = HTTPRequestClock(limits: limits, connections: connections)
        do {
            try channel.pipeline.syncOperations.addHandler(
                HTTPByteArrivalHandler(clock: clock, connections: connections),
                position: .first
            )
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        let boundClock = NIOLoopBound(clock, eventLoop: channel.eventLoop)
        var configuration = HTTP1Channel.Configuration()
        configuration.additionalChannelHandlers = { [boundClock] in [HTTPRequestPhaseHandler(clock: boundClock.value)] }
        return HTTP1Channel(responder: responder, configuration: configuration).setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await HTTP1Channel(responder: responder).handle(value: value, logger: logger)
    }
}
