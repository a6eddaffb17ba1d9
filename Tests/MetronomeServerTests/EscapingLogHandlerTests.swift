import Logging
import Synchronization
import Testing

@testable import MetronomeServer

struct EscapingLogHandlerTests {
    /// Keeps what it is asked to log.
    private struct RecordingHandler: LogHandler {
        let events = Events()
        var metadata: Logger.Metadata = [:]
        var logLevel = Logger.Level.trace

        func log(event: LogEvent) {
            events.lines.withLock { $0.append((event.message.description, event.metadata ?? [:], metadata)) }
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
    }

    private final class Events: Sendable {
        let lines = Mutex<[(message: String, metadata: Logger.Metadata, handlerMetadata: Logger.Metadata)]>([])
    }

    @Test func theLoggersMetadataGoesWithEachEventEscapedAndTheEventsValuesWin() throws {
        var wrapped = RecordingHandler()
        wrapped.metadata = ["from.init": "kept"]
        let events = wrapped.events
        var logger = Logger(label: "test") { _ in EscapingLogHandler(wrapped) }
        logger[metadataKey: "tenant"] = "forged\ninfo line"
        logger[metadataKey: "request"] = "1"
        logger.info("a\nb", metadata: ["request": "2", "trace": .stringConvertible(17)])
        logger[metadataKey: "request"] = nil
        logger.info("plain")
        let lines = events.lines.withLock { $0 }
        try #require(lines.count == 2)
        #expect(lines[0].message == #"a\nb"#)
        #expect(
            lines[0].metadata == ["from.init": "kept", "tenant": #"forged\ninfo line"#, "request": "2", "trace": "17"]
        )
        #expect(lines[1].metadata == ["from.init": "kept", "tenant": #"forged\ninfo line"#])
        // The wrapped handler's own metadata is never set, so it does no work per set.
        #expect(lines.allSatisfy { $0.handlerMetadata.isEmpty })
        #expect(logger[metadataKey: "tenant"] == "forged\ninfo line")
    }
}
