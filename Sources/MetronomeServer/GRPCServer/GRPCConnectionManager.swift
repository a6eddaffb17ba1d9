import NIOCore
import NIOHTTP2

/// Asks a ``UnaryGRPCServer`` connection to close gracefully: no new calls, the open ones answered first.
struct GRPCGracefulShutdown: Sendable {}

/// After the HTTP/2 handler in a ``UnaryGRPCServer`` connection's pipeline: the connection rules of gRFC A8/A9, as
/// ``GRPCConnectionLimits`` sets them.
///
/// - A connection without calls for `maxConnectionIdle` is closed (GOAWAY, then close).
/// - After `keepaliveTime` without reads the server pings; no answer within `keepaliveTimeout` closes the connection.
/// - A client that pings more often than `minPingInterval` while it has no calls gets a strike; the third closes the
///   connection with GOAWAY `ENHANCE_YOUR_CALM` ("too_many_pings"). A new call clears the strikes.
/// - Graceful shutdown (``GRPCGracefulShutdown``): GOAWAY with the highest stream id and a ping; when the ping is
///   answered (or after `keepaliveTimeout`), GOAWAY with the last stream the server saw, and the connection closes
///   once its open calls are answered.
final class GRPCConnectionManager: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private static let maxPingStrikes = 2

    private let limits: GRPCConnectionLimits
    private let keepalivePing = HTTP2PingData(withInteger: UInt64.random(in: .min ... .max))
    private let shutdownPing = HTTP2PingData(withInteger: UInt64.random(in: .min ... .max))
    private var openStreams = 0
    private var lastStreamID = HTTP2StreamID(0)
    private var idleTimer: Scheduled<Void>?
    private var keepaliveTimer: Scheduled<Void>?
    private var keepaliveTimeout: Scheduled<Void>?
    private var shutdownTimer: Scheduled<Void>?
    private var lastClientPing: NIODeadline?
    private var pingStrikes = 0
    private var readSinceKeepalive = false
    private var closing = false

    init(limits: GRPCConnectionLimits) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard idleTimer == nil, keepaliveTimer == nil else { return }
        startIdleTimer(context)
        scheduleKeepalive(context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        readSinceKeepalive = true
        let frame = unwrapInboundIn(data)
        if case .ping(let ping, let ack) = frame.payload {
            if ack { pingAnswered(ping, context) } else { clientPinged(context) }
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let created = event as? NIOHTTP2StreamCreatedEvent {
            openStreams += 1
            lastStreamID = max(lastStreamID, created.streamID)
            pingStrikes = 0
            idleTimer?.cancel()
            idleTimer = nil
            context.fireUserInboundEventTriggered(event)
        } else if event is StreamClosedEvent {
            openStreams -= 1
            context.fireUserInboundEventTriggered(event)
            guard openStreams == 0 else { return }
            if closing {
                if shutdownTimer == nil { close(context) }
            } else {
                startIdleTimer(context)
            }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is GRPCGracefulShutdown else {
            return context.triggerUserOutboundEvent(event, promise: promise)
        }
        promise?.succeed()
        guard !closing else { return }
        closing = true
        goAway(context, lastStreamID: .maxID, code: .noError)
        let ping = HTTP2Frame(streamID: .rootStream, payload: .ping(shutdownPing, ack: false))
        context.writeAndFlush(wrapOutboundOut(ping), promise: nil)
        shutdownTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(limits.keepaliveTimeout)) {
            [self] in
            finishShutdown(context)
        }
    }

    private func pingAnswered(_ ping: HTTP2PingData, _ context: ChannelHandlerContext) {
        if ping == keepalivePing {
            keepaliveTimeout?.cancel()
            keepaliveTimeout = nil
        } else if ping == shutdownPing, shutdownTimer != nil {
            shutdownTimer?.cancel()
            finishShutdown(context)
        }
    }

    /// The second GOAWAY of a graceful shutdown: calls after `lastStreamID` were not seen and will not be answered.
    private func finishShutdown(_ context: ChannelHandlerContext) {
        shutdownTimer = nil
        goAway(context, lastStreamID: lastStreamID, code: .noError)
        if openStreams == 0 { close(context) }
    }

    /// The HTTP/2 handler answers pings itself; this only polices how often they come.
    private func clientPinged(_ context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        defer { lastClientPing = now }
        guard openStreams == 0, let last = lastClientPing, now - last < TimeAmount(limits.minPingInterval) else {
            return
        }
        pingStrikes += 1
        guard pingStrikes > Self.maxPingStrikes else { return }
        closing = true
        goAway(context, lastStreamID: lastStreamID, code: .enhanceYourCalm, text: "too_many_pings")
        context.eventLoop.assumeIsolated().execute { context.close(promise: nil) }
    }

    private func startIdleTimer(_ context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(limits.maxConnectionIdle)) {
            [self] in
            guard openStreams == 0 else { return }
            closing = true
            goAway(context, lastStreamID: lastStreamID, code: .noError)
            close(context)
        }
    }

    private func scheduleKeepalive(_ context: ChannelHandlerContext) {
        readSinceKeepalive = false
        keepaliveTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(limits.keepaliveTime)) {
            [self] in
            guard !readSinceKeepalive else { return scheduleKeepalive(context) }
            let ping = HTTP2Frame(streamID: .rootStream, payload: .ping(keepalivePing, ack: false))
            context.writeAndFlush(wrapOutboundOut(ping), promise: nil)
            keepaliveTimeout = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(limits.keepaliveTimeout))
            {
                context.close(promise: nil)
            }
            scheduleKeepalive(context)
        }
    }

    private func goAway(
        _ context: ChannelHandlerContext,
        lastStreamID: HTTP2StreamID,
        code: HTTP2ErrorCode,
        text: String? = nil
    ) {
        let data = text.map { context.channel.allocator.buffer(string: $0) }
        let frame = HTTP2Frame(
            streamID: .rootStream,
            payload: .goAway(lastStreamID: lastStreamID, errorCode: code, opaqueData: data)
        )
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }

    /// Closes once what was written has gone out: output first, then the rest.
    private func close(_ context: ChannelHandlerContext) {
        cancelTimers()
        let closed = context.eventLoop.makePromise(of: Void.self)
        context.close(mode: .output, promise: closed)
        closed.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    private func cancelTimers() {
        for timer in [idleTimer, keepaliveTimer, keepaliveTimeout, shutdownTimer] { timer?.cancel() }
        idleTimer = nil
        keepaliveTimer = nil
        keepaliveTimeout = nil
        shutdownTimer = nil
    }
}
