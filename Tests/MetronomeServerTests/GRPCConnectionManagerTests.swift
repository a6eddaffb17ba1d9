import NIOCore
import NIOEmbedded
import NIOHTTP2
import Testing

@testable import MetronomeServer

/// The gRPC connection rules, on an embedded channel with a manual clock.
struct GRPCConnectionManagerTests {
    private func connection(_ limits: GRPCConnectionLimits = GRPCConnectionLimits()) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: GRPCConnectionManager(limits: limits))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    private func written(_ channel: EmbeddedChannel) throws -> [HTTP2Frame.FramePayload] {
        var frames: [HTTP2Frame.FramePayload] = []
        while let frame = try channel.readOutbound(as: HTTP2Frame.self) { frames.append(frame.payload) }
        return frames
    }

    private func ping(_ channel: EmbeddedChannel, _ data: HTTP2PingData, ack: Bool = false) throws {
        try channel.writeInbound(HTTP2Frame(streamID: .rootStream, payload: .ping(data, ack: ack)))
    }

    private func openStream(_ channel: EmbeddedChannel, _ id: Int32) {
        channel.pipeline.fireUserInboundEventTriggered(
            NIOHTTP2StreamCreatedEvent(
                streamID: HTTP2StreamID(id),
                localInitialWindowSize: nil,
                remoteInitialWindowSize: nil
            )
        )
    }

    private func closeStream(_ channel: EmbeddedChannel, _ id: Int32) {
        channel.pipeline.fireUserInboundEventTriggered(StreamClosedEvent(streamID: HTTP2StreamID(id), reason: nil))
    }

    @Test func aClientPingingTooOftenWithoutCallsIsToldToCalmDownAndClosed() throws {
        let channel = try connection()
        for _ in 0..<3 { try ping(channel, HTTP2PingData(withInteger: 1)) }
        #expect(try written(channel).isEmpty)
        try ping(channel, HTTP2PingData(withInteger: 1))
        guard case .goAway(_, let code, let data) = try written(channel).first else {
            Issue.record("no GOAWAY")
            return
        }
        #expect(code == .enhanceYourCalm)
        #expect(data.map { String(buffer: $0) } == "too_many_pings")
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
    }

    @Test func pingsDuringACallAreNotStrikes() throws {
        let channel = try connection()
        openStream(channel, 1)
        for _ in 0..<10 { try ping(channel, HTTP2PingData(withInteger: 1)) }
        #expect(try written(channel).isEmpty)
        #expect(channel.isActive)
    }

    @Test func aConnectionWithoutCallsIsClosedAfterTheIdleTime() throws {
        var limits = GRPCConnectionLimits()
        limits.maxConnectionIdle = .seconds(5)
        let channel = try connection(limits)
        openStream(channel, 1)
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(channel.isActive, "a connection with an open call is not idle")
        closeStream(channel, 1)
        channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        guard case .goAway(let last, .noError, _) = try written(channel).first else {
            Issue.record("no GOAWAY")
            return
        }
        #expect(last == HTTP2StreamID(1))
        #expect(!channel.isActive)
    }

    @Test func aSilentConnectionIsPingedAndClosedWhenThePingIsNotAnswered() throws {
        var limits = GRPCConnectionLimits()
        limits.keepaliveTime = .seconds(10)
        limits.keepaliveTimeout = .seconds(2)
        let channel = try connection(limits)
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        guard case .ping(let data, ack: false) = try written(channel).first else {
            Issue.record("no keep-alive ping")
            return
        }
        try ping(channel, data, ack: true)
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(channel.isActive, "an answered ping keeps the connection")
        #expect(try written(channel).isEmpty, "the answer was a read: not silent")
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(try written(channel).count == 1, "pinged again after a silent keep-alive time")
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
    }

    @Test func gracefulShutdownSendsTwoGoAwaysAndClosesWhenTheLastCallEnds() throws {
        let channel = try connection()
        openStream(channel, 3)
        channel.pipeline.triggerUserOutboundEvent(GRPCGracefulShutdown(), promise: nil)
        let first = try written(channel)
        guard first.count == 2, case .goAway(let any, .noError, _) = first[0], case .ping(let data, false) = first[1]
        else {
            Issue.record("unexpected frames \(first)")
            return
        }
        #expect(any == .maxID)
        try ping(channel, data, ack: true)
        guard case .goAway(let last, .noError, _) = try written(channel).first else {
            Issue.record("no second GOAWAY")
            return
        }
        #expect(last == HTTP2StreamID(3))
        #expect(channel.isActive, "the open call is answered first")
        closeStream(channel, 3)
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
    }
}
