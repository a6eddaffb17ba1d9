import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A Prometheus stand-in for `load --label-sets`: an in-process HTTP/1 server that answers every remote-write request
/// with 204 and counts the requests and bytes it took.
final class RemoteWriteSink: Sendable {
    let port: Int
    private let channel: any Channel
    private let counters: Counters

    /// What the sink took.
    final class Counters: Sendable {
        let requests = Atomic<Int>(0)
        let bytes = Atomic<Int>(0)
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let counters: Counters

        init(counters: Counters) { self.counters = counters }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head: break
            case .body(let body): counters.bytes.add(body.readableBytes, ordering: .relaxed)
            case .end:
                counters.requests.add(1, ordering: .relaxed)
                let head = HTTPResponseHead(version: .http1_1, status: .noContent, headers: ["content-length": "0"])
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }

    private init(port: Int, channel: any Channel, counters: Counters) {
        self.port = port
        self.channel = channel
        self.counters = counters
    }

    static func start() async throws -> RemoteWriteSink {
        let counters = Counters()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(counters: counters))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return RemoteWriteSink(port: channel.localAddress?.port ?? 0, channel: channel, counters: counters)
    }

    var requests: Int { counters.requests.load(ordering: .relaxed) }
    var bytes: Int { counters.bytes.load(ordering: .relaxed) }

    func stop() { channel.close(promise: nil) }
}
