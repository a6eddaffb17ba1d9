import NIOCore
import NIOHTTP2

/// The last handler of a ``UnaryGRPCServer`` connection: the calls in progress by stream, each a ``UnaryGRPCCall``,
/// and the inbound flow-control windows.
///
/// It takes the connection's HTTP/2 frames as `NIOHTTP2Handler` parses them, with no channel, pipeline or promise per
/// stream (with swift-nio-http2's stream multiplexer those were about 10 µs of the 64 µs of CPU a 50-span call cost),
/// and writes the answers of one read in one flush, at its end. A read is one socket read
/// (``UnaryGRPCServer/readsPerWakeup``): with NIO's default of four, answers waited behind the requests of up to three
/// more reads (p50 4.5 instead of 3.2 ms with 8 mesh requests of 500 spans in flight).
///
/// Without the multiplexer, the windows are this handler's to reopen, as the multiplexer did: when what the client
/// may still send falls below half of the window, a `WINDOW_UPDATE` tops it up again — the connection's to
/// ``UnaryGRPCServer/connectionWindowBytes``, a stream's to ``UnaryGRPCServer/streamWindowBytes`` while its request is
/// still arriving.
///
/// The requests still arriving are timed by one timer per connection, armed at the end of a read that leaves calls
/// open and then for the earliest moment one of them may have gone quiet for `readTimeout`; such a call is answered
/// `DEADLINE_EXCEEDED` (``UnaryGRPCCall/timedOut(after:context:)``), so a client that opens streams and stops sending
/// cannot hold their share of the in-flight budget. Requests that arrive within one read arm nothing.
final class UnaryGRPCCalls: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private let routes: UnaryGRPCRoutes
    private let readTimeout: Duration
    private var calls: [HTTP2StreamID: UnaryGRPCCall] = [:]
    /// Whether answers were written in this read and wait for its end to be flushed.
    private var answered = false
    /// The timer of the requests still arriving, when one is armed.
    private var readClock: Scheduled<Void>?

    init(routes: UnaryGRPCRoutes, readTimeout: Duration) {
        self.routes = routes
        self.readTimeout = readTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard frame.streamID != .rootStream else { return }
        let call: UnaryGRPCCall
        if let open = calls[frame.streamID] {
            call = open
        } else {
            // A stream starts with its headers; other frames of streams that are gone are dropped.
            guard case .headers = frame.payload else { return }
            call = UnaryGRPCCall(streamID: frame.streamID, routes: routes, now: context.eventLoop.now)
            calls[frame.streamID] = call
        }
        if call.receive(frame.payload, context: context) { answered = true }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if answered {
            answered = false
            context.flush()
        }
        if readClock == nil, calls.values.contains(where: \.isReceiving) {
            armReadClock(at: context.eventLoop.now + TimeAmount(readTimeout), context)
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let window = event as? NIOHTTP2WindowUpdatedEvent {
            reopen(window, context)
        } else if let closed = event as? StreamClosedEvent {
            calls.removeValue(forKey: closed.streamID)?.closed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closeAll()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        closeAll()
    }

    /// Tops up a window that fell below half its size.
    private func reopen(_ window: NIOHTTP2WindowUpdatedEvent, _ context: ChannelHandlerContext) {
        guard let open = window.inboundWindowSize else { return }
        let target: Int
        if window.streamID == .rootStream {
            target = UnaryGRPCServer.connectionWindowBytes
        } else {
            guard calls[window.streamID]?.isReceiving == true else { return }
            target = UnaryGRPCServer.streamWindowBytes
        }
        guard open < target / 2 else { return }
        let update = HTTP2Frame(streamID: window.streamID, payload: .windowUpdate(windowSizeIncrement: target - open))
        context.writeAndFlush(wrapOutboundOut(update), promise: nil)
    }

    private func armReadClock(at deadline: NIODeadline, _ context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        readClock = context.eventLoop.scheduleTask(deadline: deadline) {
            let (calls, context) = bound.value
            calls.readClockFired(context)
        }
    }

    /// Answers the requests quiet for `readTimeout` and arms the clock for the earliest of the others.
    private func readClockFired(_ context: ChannelHandlerContext) {
        readClock = nil
        let now = context.eventLoop.now
        let timeout = TimeAmount(readTimeout)
        var next: NIODeadline?
        var timedOut = false
        for call in calls.values where call.isReceiving {
            let deadline = call.lastRead + timeout
            if deadline <= now {
                call.timedOut(after: readTimeout, context: context)
                timedOut = true
            } else {
                next = min(next ?? deadline, deadline)
            }
        }
        if timedOut { context.flush() }
        if let next { armReadClock(at: next, context) }
    }

    private func closeAll() {
        readClock?.cancel()
        readClock = nil
        for call in calls.values { call.closed() }
        calls = [:]
    }
}
