import CompressNIO
import Logging
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Testing

@testable import MetronomeServer

/// The calls of one gRPC server connection: framing, limits, compression, the answers and the flow-control windows,
/// against a method that echoes.
struct UnaryGRPCCallsTests {
    static let path = "/test.Echo/Echo"

    static let readTimeout = Duration.seconds(30)

    private func stream(maxMessageBytes: Int = 1024, inflight: InflightBudget = InflightBudget(limit: 1 << 20)) throws
        -> EmbeddedChannel
    {
        EmbeddedChannel(
            handler: UnaryGRPCCalls(
                routes: routes(maxMessageBytes: maxMessageBytes, inflight: inflight),
                readTimeout: Self.readTimeout
            )
        )
    }

    /// A connection whose event loop takes work from other threads, for answers that come from a task.
    private func asyncStream() async throws -> NIOAsyncTestingChannel {
        try await NIOAsyncTestingChannel(
            handler: UnaryGRPCCalls(
                routes: routes(maxMessageBytes: 1024, inflight: InflightBudget(limit: 1 << 20)),
                readTimeout: Self.readTimeout
            )
        )
    }

    /// Waits up to 2 s for `channel` to write the frames of `stream`.
    private func written(_ channel: NIOAsyncTestingChannel, stream: Int = 1) async throws -> [HTTP2Frame.FramePayload] {
        var frames: [HTTP2Frame.FramePayload] = []
        for _ in 0..<200 where frames.isEmpty {
            try await Task.sleep(for: .milliseconds(10))
            while let frame = try await channel.readOutbound(as: HTTP2Frame.self) {
                if frame.streamID == HTTP2StreamID(stream) { frames.append(frame.payload) }
            }
        }
        return frames
    }

    /// Echoes the message (reversed, from a task, with `x-later`); answers "fail" with a status; with `x-held`,
    /// answers what the reservation holds.
    private func routes(maxMessageBytes: Int, inflight: InflightBudget) -> UnaryGRPCRoutes {
        let echo = UnaryGRPCMethod(service: "test.Echo", method: "Echo") { message, headers, reservation in
            if headers.first(name: "x-later") != nil { return .later { .success(message.reversed()) } }
            if headers.first(name: "x-held") != nil { return .now(.success(Array("\(reservation.bytes)".utf8))) }
            return message == Array("fail".utf8)
                ? .now(.failure(GRPCStatus(.invalidArgument, "100% bad\n")))
                : .now(.success(message))
        }
        return UnaryGRPCRoutes(
            receiver: "test",
            methods: [echo],
            maxMessageBytes: maxMessageBytes,
            inflight: inflight,
            logger: Logger(label: "test")
        )
    }

    /// The response message of a call answered with one.
    private func response(_ frames: [HTTP2Frame.FramePayload]) -> [UInt8]? {
        for case .data(let body) in frames {
            if case .byteBuffer(let buffer) = body.data { return Array(buffer.readableBytesView.dropFirst(5)) }
        }
        return nil
    }

    private func headers(
        stream: Int = 1,
        path: String = path,
        contentType: String = "application/grpc",
        encoding: String? = nil,
        extra: [(String, String)] = []
    ) -> HTTP2Frame {
        var headers: HPACKHeaders = [
            ":method": "POST", ":scheme": "http", ":path": path, "content-type": contentType,
        ]
        if let encoding { headers.add(name: "grpc-encoding", value: encoding) }
        headers.add(contentsOf: extra)
        return HTTP2Frame(streamID: HTTP2StreamID(stream), payload: .headers(.init(headers: headers)))
    }

    private func data(_ bytes: [UInt8], stream: Int = 1, endStream: Bool = true) -> HTTP2Frame {
        HTTP2Frame(
            streamID: HTTP2StreamID(stream),
            payload: .data(.init(data: .byteBuffer(ByteBuffer(bytes: bytes)), endStream: endStream))
        )
    }

    private func framed(_ message: [UInt8], compressed: Bool = false) -> [UInt8] {
        [compressed ? 1 : 0] + withUnsafeBytes(of: UInt32(message.count).bigEndian, Array.init) + message
    }

    /// What was written and flushed on `stream`: header blocks and data.
    private func written(_ channel: EmbeddedChannel, stream: Int = 1) throws -> [HTTP2Frame.FramePayload] {
        try writtenFrames(channel).filter { $0.streamID == HTTP2StreamID(stream) }.map(\.payload)
    }

    private func writtenFrames(_ channel: EmbeddedChannel) throws -> [HTTP2Frame] {
        var frames: [HTTP2Frame] = []
        while let frame = try channel.readOutbound(as: HTTP2Frame.self) { frames.append(frame) }
        return frames
    }

    private func trailers(_ frames: [HTTP2Frame.FramePayload]) -> HPACKHeaders? {
        for case .headers(let block) in frames.reversed() where block.endStream { return block.headers }
        return nil
    }

    @Test func aCallIsAnsweredWithHeadersTheFramedResponseAndOkTrailers() throws {
        let channel = try stream()
        try channel.writeInbound(headers())
        // The message arrives split across frames, the prefix itself split.
        let message = framed(Array("hello".utf8))
        try channel.writeInbound(data(Array(message[..<3]), endStream: false))
        try channel.writeInbound(data(Array(message[3...])))
        let frames = try written(channel)
        #expect(frames.count == 3)
        guard case .headers(let first) = frames[0], case .data(let body) = frames[1],
            case .byteBuffer(let buffer) = body.data
        else {
            Issue.record("unexpected frames \(frames)")
            return
        }
        #expect(first.headers.first(name: ":status") == "200")
        #expect(first.headers.first(name: "grpc-accept-encoding") == "identity,deflate,gzip")
        #expect(Array(buffer.readableBytesView) == message)
        #expect(trailers(frames)?.first(name: "grpc-status") == "0")
    }

    @Test func requestTrailersEndTheRequest() throws {
        let channel = try stream()
        try channel.writeInbound(headers())
        try channel.writeInbound(data(framed([9]), endStream: false))
        try channel.writeInbound(
            HTTP2Frame(streamID: 1, payload: .headers(.init(headers: ["x-trailer": "1"], endStream: true)))
        )
        #expect(trailers(try written(channel))?.first(name: "grpc-status") == "0")
    }

    @Test func aStatusIsATrailersOnlyResponseWithItsPercentEncodedMessage() throws {
        let channel = try stream()
        try channel.writeInbound(headers())
        try channel.writeInbound(data(framed(Array("fail".utf8))))
        let frames = try written(channel)
        #expect(frames.count == 1)
        let status = trailers(frames)
        #expect(status?.first(name: ":status") == "200")
        #expect(status?.first(name: "grpc-status") == "3")
        #expect(status?.first(name: "grpc-message") == "100%25 bad%0A")
    }

    @Test func anAsynchronousAnswerIsWrittenOnTheEventLoop() async throws {
        let channel = try await asyncStream()
        try await channel.writeInbound(headers(extra: [("x-later", "1")]))
        try await channel.writeInbound(data(framed([1, 2, 3])))
        let frames = try await written(channel)
        guard frames.count == 3, case .data(let body) = frames[1], case .byteBuffer(let buffer) = body.data else {
            Issue.record("unexpected frames \(frames)")
            return
        }
        #expect(Array(buffer.readableBytesView) == framed([3, 2, 1]))
    }

    @Test func aDeclaredLengthOverTheLimitIsRefusedBeforeTheMessageArrivesAndTheStreamReset() throws {
        let channel = try stream(maxMessageBytes: 10)
        try channel.writeInbound(headers())
        try channel.writeInbound(data([0, 0, 0, 0, 11], endStream: false))
        let frames = try written(channel)
        #expect(trailers(frames)?.first(name: "grpc-status") == "8")
        #expect(
            trailers(frames)?.first(name: "grpc-message") == "request message of 11 bytes exceeds the limit of 10 bytes"
        )
        guard case .rstStream(.noError) = frames.last else {
            Issue.record("no RST_STREAM in \(frames)")
            return
        }
        // What still arrives is dropped.
        try channel.writeInbound(data(Array(repeating: 7, count: 11)))
        #expect(try written(channel).isEmpty)
    }

    @Test func compressedMessagesAreDecompressedWithinTheLimit() throws {
        let message = Array(repeating: UInt8(ascii: "a"), count: 100)
        for (name, algorithm) in [("gzip", CompressionAlgorithm.gzip()), ("deflate", .zlib())] {
            var buffer = ByteBuffer(bytes: message)
            let compressed = Array(try buffer.compress(with: algorithm).readableBytesView)
            let channel = try stream()
            try channel.writeInbound(headers(encoding: name))
            try channel.writeInbound(data(framed(compressed, compressed: true)))
            let frames = try written(channel)
            guard case .data(let body) = frames.dropFirst().first, case .byteBuffer(let echoed) = body.data else {
                Issue.record("\(name): unexpected frames \(frames)")
                continue
            }
            #expect(Array(echoed.readableBytesView) == framed(message), "\(name)")

            let trailing = try stream()
            try trailing.writeInbound(headers(encoding: name))
            try trailing.writeInbound(data(framed(compressed + compressed, compressed: true)))
            let refused = trailers(try written(trailing))
            #expect(refused?.first(name: "grpc-status") == "13", "\(name) with a second stream after the first")
            #expect(refused?.first(name: "grpc-message")?.contains("after the end of its compressed stream") == true)

            let small = try stream(maxMessageBytes: 50)
            try small.writeInbound(headers(encoding: name))
            try small.writeInbound(data(framed(compressed, compressed: true)))
            #expect(trailers(try written(small))?.first(name: "grpc-status") == "8", "\(name) past the limit")
        }
    }

    @Test func whatIsNotAKnownGRPCCallIsRefusedWithWhatItGetsWrong() throws {
        let cases: [(HTTP2Frame, status: String, grpcStatus: String, text: String)] = [
            (headers(path: "/test.Echo/Other"), "200", "12", "is not implemented"),
            (headers(encoding: "br"), "200", "12", "encoding 'br' is not supported"),
            (headers(contentType: "application/json"), "415", "13", "content-type of application/grpc"),
        ]
        for (request, status, grpcStatus, text) in cases {
            let channel = try stream()
            try channel.writeInbound(request)
            let answer = trailers(try written(channel))
            #expect(answer?.first(name: ":status") == status)
            #expect(answer?.first(name: "grpc-status") == grpcStatus)
            let message = answer?.first(name: "grpc-message") ?? ""
            #expect(message.contains(text), "\(message)")
        }
    }

    @Test func aUnaryCallCarriesExactlyOneWholeMessage() throws {
        for body in [[], [0, 0, 0, 0, 5, 1, 2], framed([1]) + framed([2])] as [[UInt8]] {
            let channel = try stream()
            try channel.writeInbound(headers())
            try channel.writeInbound(data(body))
            #expect(trailers(try written(channel))?.first(name: "grpc-status") == "13", "\(body)")
        }
    }

    @Test func theAnswersOfOneReadGoOutOnTheirOwnStreamsInOneFlushAtItsEnd() throws {
        let channel = try stream()
        let pipeline = channel.pipeline.syncOperations
        for (stream, byte) in [(1, UInt8(1)), (3, 2)] {
            pipeline.fireChannelRead(NIOAny(headers(stream: stream)))
            pipeline.fireChannelRead(NIOAny(data(framed([byte]), stream: stream)))
        }
        #expect(try writtenFrames(channel).isEmpty, "nothing is flushed before the read ends")
        pipeline.fireChannelReadComplete()
        let frames = try writtenFrames(channel)
        #expect(frames.map(\.streamID) == [1, 1, 1, 3, 3, 3].map { HTTP2StreamID($0) })
        for (stream, byte) in [(1, UInt8(1)), (3, 2)] {
            let body = frames.filter { $0.streamID == HTTP2StreamID(stream) }.compactMap { frame -> [UInt8]? in
                guard case .data(let data) = frame.payload, case .byteBuffer(let buffer) = data.data else { return nil }
                return Array(buffer.readableBytesView)
            }
            #expect(body == [framed([byte])], "stream \(stream)")
        }
    }

    @Test func framesOfAStreamThatDidNotStartWithHeadersOrHasClosedAreDropped() throws {
        let channel = try stream()
        try channel.writeInbound(data(framed([1]), stream: 5))
        #expect(try writtenFrames(channel).isEmpty)
        try channel.writeInbound(headers())
        try channel.writeInbound(data(framed([1]), endStream: false))
        channel.pipeline.fireUserInboundEventTriggered(StreamClosedEvent(streamID: 1, reason: .cancel))
        try channel.writeInbound(data([]))
        #expect(try writtenFrames(channel).isEmpty)
    }

    @Test func anAnswerThatComesAfterItsStreamClosedIsDropped() async throws {
        let channel = try await asyncStream()
        try await channel.writeInbound(headers(extra: [("x-later", "1")]))
        try await channel.writeInbound(data(framed([1, 2, 3])))
        channel.pipeline.fireUserInboundEventTriggered(StreamClosedEvent(streamID: 1, reason: .cancel))
        // An answer on stream 3 shows the task's answer on stream 1 would have been written by now.
        try await channel.writeInbound(headers(stream: 3, extra: [("x-later", "1")]))
        try await channel.writeInbound(data(framed([4]), stream: 3))
        #expect(try await written(channel, stream: 3).count == 3)
        #expect(try await channel.readOutbound(as: HTTP2Frame.self) == nil)
    }

    @Test func windowsBelowHalfAreToppedUpToTheirTargetWhileARequestArrives() throws {
        let channel = try stream()
        let connectionWindow = UnaryGRPCServer.connectionWindowBytes
        let streamWindow = UnaryGRPCServer.streamWindowBytes
        func windowFell(_ id: HTTP2StreamID, to size: Int) throws -> [HTTP2Frame] {
            channel.pipeline.fireUserInboundEventTriggered(
                NIOHTTP2WindowUpdatedEvent(streamID: id, inboundWindowSize: size, outboundWindowSize: 65535)
            )
            return try writtenFrames(channel)
        }
        func increments(_ frames: [HTTP2Frame]) -> [Int] {
            frames.compactMap { if case .windowUpdate(let increment) = $0.payload { increment } else { nil } }
        }
        #expect(try windowFell(.rootStream, to: connectionWindow / 2).isEmpty, "half open is enough")
        let update = try windowFell(.rootStream, to: 1000)
        #expect(update.map(\.streamID) == [.rootStream])
        #expect(increments(update) == [connectionWindow - 1000])

        #expect(try windowFell(1, to: 10).isEmpty, "no call on the stream")
        try channel.writeInbound(headers())
        try channel.writeInbound(data([0, 0, 0, 1, 0], endStream: false))
        #expect(try windowFell(1, to: streamWindow / 2).isEmpty)
        let streamUpdate = try windowFell(1, to: 5)
        #expect(streamUpdate.map(\.streamID) == [1])
        #expect(increments(streamUpdate) == [streamWindow - 5])

        try channel.writeInbound(data(Array(repeating: 0, count: 256)))
        _ = try writtenFrames(channel)
        #expect(try windowFell(1, to: 5).isEmpty, "the request has ended")
    }

    @Test func aMessageIsReservedInTheInflightBudgetFromItsPrefixUntilItsAnswer() throws {
        let budget = InflightBudget(limit: 1000)
        let channel = try stream(inflight: budget)
        try channel.writeInbound(headers(extra: [("x-held", "1")]))
        try channel.writeInbound(data([0, 0, 0, 0, 200], endStream: false))
        #expect(budget.inUse == 200, "reserved as soon as the length is known")
        try channel.writeInbound(data(Array(repeating: 1, count: 200)))
        #expect(response(try written(channel)) == Array("200".utf8), "the method gets the reservation")
        #expect(budget.inUse == 0, "released at the answer")

        // While it is held, a message that does not fit is refused at its prefix, with a retry hint.
        try channel.writeInbound(headers(stream: 3))
        try channel.writeInbound(data([0, 0, 0, 3, 0x20], stream: 3, endStream: false))
        #expect(budget.inUse == 800)
        try channel.writeInbound(headers(stream: 5))
        try channel.writeInbound(data([0, 0, 0, 1, 0x00], stream: 5, endStream: false))
        let refused = try written(channel, stream: 5)
        #expect(trailers(refused)?.first(name: "grpc-status") == "8")
        #expect(trailers(refused)?.first(name: "grpc-message")?.contains("max_inflight_bytes") == true)
        #expect(trailers(refused)?.first(name: "grpc-status-details-bin") != nil, "RetryInfo")
        guard case .rstStream(.noError) = refused.last else {
            Issue.record("no RST_STREAM in \(refused)")
            return
        }
        // A stream reset by the client gives its reservation back.
        channel.pipeline.fireUserInboundEventTriggered(StreamClosedEvent(streamID: 3, reason: .cancel))
        #expect(budget.inUse == 0)
    }

    @Test func aCompressedMessageHoldsItsDecompressedSizeAndIsRefusedWhenTheLimitDoesNotFit() throws {
        var buffer = ByteBuffer(bytes: Array(repeating: UInt8(ascii: "a"), count: 300))
        let compressed = Array(try buffer.compress(with: .gzip()).readableBytesView)
        let budget = InflightBudget(limit: 2000)
        let channel = try stream(inflight: budget)
        try channel.writeInbound(headers(encoding: "gzip", extra: [("x-held", "1")]))
        try channel.writeInbound(data(framed(compressed, compressed: true)))
        #expect(response(try written(channel)) == Array("300".utf8))
        #expect(budget.inUse == 0)

        // Decompressing reserves the size limit (1024) first: with 1000 of 2000 held, it does not fit.
        try channel.writeInbound(headers(stream: 3))
        try channel.writeInbound(data([0, 0, 0, 0x03, 0xe8], stream: 3, endStream: false))
        try channel.writeInbound(headers(stream: 5, encoding: "gzip"))
        try channel.writeInbound(data(framed(compressed, compressed: true), stream: 5))
        #expect(trailers(try written(channel, stream: 5))?.first(name: "grpc-status") == "8")
        #expect(budget.inUse == 1000)
    }

    @Test func aRequestThatGoesQuietForTheReadTimeoutIsAnsweredDeadlineExceededAndReleased() throws {
        let budget = InflightBudget(limit: 1 << 20)
        let channel = try stream(inflight: budget)
        let loop = channel.embeddedEventLoop
        let pipeline = channel.pipeline.syncOperations
        func read(_ frames: HTTP2Frame...) {
            for frame in frames { pipeline.fireChannelRead(NIOAny(frame)) }
            pipeline.fireChannelReadComplete()
        }
        // Stream 1 sends its headers only; stream 3 part of its message, then more 20 s later.
        read(headers(), headers(stream: 3), data([0, 0, 0, 0, 100, 1], stream: 3, endStream: false))
        #expect(budget.inUse == 100)
        loop.advanceTime(by: .seconds(20))
        read(data([2], stream: 3, endStream: false))
        loop.advanceTime(by: .seconds(10))
        let first = try written(channel, stream: 1)
        #expect(trailers(first)?.first(name: "grpc-status") == "4")
        #expect(trailers(first)?.first(name: "grpc-message")?.contains("no message bytes received") == true)
        guard case .rstStream(.noError) = first.last else {
            Issue.record("no RST_STREAM in \(first)")
            return
        }
        #expect(try written(channel, stream: 3).isEmpty, "stream 3 was quiet for 10 s only")
        loop.advanceTime(by: .seconds(20))
        let third = trailers(try written(channel, stream: 3))
        #expect(third?.first(name: "grpc-status") == "4")
        #expect(third?.first(name: "grpc-message")?.contains("2 of its 100 message bytes") == true)
        #expect(budget.inUse == 0, "the quiet request's reservation is given back")

        // A request that arrived whole is answered once, not timed out later.
        read(headers(stream: 5), data(framed([1]), stream: 5))
        #expect(trailers(try written(channel, stream: 5))?.first(name: "grpc-status") == "0")
        loop.advanceTime(by: .seconds(60))
        #expect(try writtenFrames(channel).isEmpty)
    }
}
