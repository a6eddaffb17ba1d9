import Logging
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A plaintext gRPC server for unary methods, on swift-nio-http2 directly, run as a lifecycle `Service`.
///
/// A call is read, handled and answered on its connection's event loop: no task, async sequence or thread hop per
/// call (grpc-swift's server spent about 200 µs of CPU a call on those; see the README's "Performance"). What a client
/// sees is gRPC's protocol as grpc-swift served it: status codes and `grpc-message` texts, the message size limit
/// (``UnaryGRPCCall``), gzip and deflate request compression, HTTP/2 flow control (``UnaryGRPCCalls``), and the
/// connection rules: count and preface timeout (``GRPCConnectionGuard``), idle time, keep-alive and ping policing
/// (``GRPCConnectionManager``). Beyond grpc-swift, a message is reserved in the in-flight budget as soon as its length
/// is known, and a request that goes quiet for the read timeout is answered `DEADLINE_EXCEEDED` (``UnaryGRPCCalls``).
///
/// Graceful shutdown stops accepting, sends each connection its GOAWAYs, and returns once the open calls are answered
/// and the connections closed.
struct UnaryGRPCServer: Service {
    /// Streams a connection may have open at once (`SETTINGS_MAX_CONCURRENT_STREAMS`); the client waits for more.
    static let maxConcurrentStreams = 100
    /// The flow-control window of a stream: a request message of up to 1 MiB is sent without waiting for a
    /// `WINDOW_UPDATE` (HTTP/2's default of 64 KiB made a 100 kB request wait for one, a write on each side).
    static let streamWindowBytes = 1 << 20
    /// The window of the whole connection, topped up when half of it is read: room for several large calls at once.
    /// (The HTTP/2 default of 64 KiB holds until the first request's data arrives.)
    static let connectionWindowBytes = 8 << 20

    /// Socket reads start at 16 KiB and grow, while they fill, up to 256 KiB (NIO's default stops at 64 KiB): a
    /// 100 kB request is one or two reads, not several.
    static let reads = AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 16 << 10, maximum: 256 << 10)
    /// Socket reads a connection makes each time it is readable before its read ends (`channelReadComplete`, where
    /// ``UnaryGRPCCalls`` flushes the answers of the read): one, so answers do not wait behind later reads' requests.
    static let readsPerWakeup: UInt = 1

    let address: ListenAddress
    let routes: UnaryGRPCRoutes
    let limits: GRPCConnectionLimits
    let logger: Logger

    func run() async throws {
        let connections = OpenGRPCConnections()
        let counted = ConnectionCount(listener: routes.receiver, limit: limits.maxConnections, logger: logger)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.recvAllocator, value: Self.reads)
            .childChannelOption(.maxMessagesPerRead, value: Self.readsPerWakeup)
            .childChannelInitializer { [routes, limits] channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.configure(channel, routes: routes, limits: limits, connections: counted)
                    connections.opened(channel)
                }
            }
            .bind(host: address.host, port: address.port)
            .get()
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await server.closeFuture.get()
                await connections.allClosed()
            } onGracefulShutdown: {
                server.close(promise: nil)
                connections.shutDownGracefully()
            }
        } onCancel: {
            server.close(promise: nil)
            connections.closeAll()
        }
    }

    private static func configure(
        _ channel: any Channel,
        routes: UnaryGRPCRoutes,
        limits: GRPCConnectionLimits,
        connections: ConnectionCount
    ) throws {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(
            GRPCConnectionGuard(connections: connections, prefaceTimeout: limits.connectionPrefaceTimeout)
        )
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: maxConcurrentStreams),
            HTTP2Setting(parameter: .maxHeaderListSize, value: HPACKDecoder.defaultMaxHeaderListSize),
            HTTP2Setting(parameter: .initialWindowSize, value: streamWindowBytes),
        ]
        try pipeline.addHandler(NIOHTTP2Handler(mode: .server, connectionConfiguration: connection))
        try pipeline.addHandler(GRPCConnectionManager(limits: limits))
        try pipeline.addHandler(UnaryGRPCCalls(routes: routes, readTimeout: limits.readTimeout))
    }
}

/// The connections a ``UnaryGRPCServer`` has open, so a graceful shutdown can reach each and wait for it.
private final class OpenGRPCConnections: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var shuttingDown = false
    }

    private let state = Mutex(State())

    func opened(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        let shuttingDown = state.withLock {
            $0.channels[id] = channel
            return $0.shuttingDown
        }
        channel.closeFuture.whenComplete { _ in _ = self.state.withLock { $0.channels.removeValue(forKey: id) } }
        if shuttingDown { channel.triggerUserOutboundEvent(GRPCGracefulShutdown(), promise: nil) }
    }

    func shutDownGracefully() {
        let channels = state.withLock {
            $0.shuttingDown = true
            return Array($0.channels.values)
        }
        for channel in channels { channel.triggerUserOutboundEvent(GRPCGracefulShutdown(), promise: nil) }
    }

    /// Closes every connection now (the server's task was cancelled).
    func closeAll() {
        for channel in state.withLock({ Array($0.channels.values) }) { channel.close(promise: nil) }
    }

    func allClosed() async {
        let channels = state.withLock { Array($0.channels.values) }
        for channel in channels { try? await channel.closeFuture.get() }
    }
}
