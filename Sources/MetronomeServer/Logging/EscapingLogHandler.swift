import Logging
import MetronomeWire

/// Wraps a log handler so that no message or metadata value can carry a control character into the log: a `\n`
/// inside a client's tenant id or trace id must not write a forged line. Values are escaped as
/// ``ClientText/escapingControlCharacters(_:)`` escapes them; lines without control characters pass unchanged.
public struct EscapingLogHandler<Wrapped: LogHandler>: LogHandler {
    private var wrapped: Wrapped

    public init(_ wrapped: Wrapped) {
        self.wrapped = wrapped
    }

    public func log(event: LogEvent) {
        var event = event
        event.message = Logger.Message(stringLiteral: ClientText.escapingControlCharacters(event.message.description))
        event.metadata = event.metadata.map(Self.escaped)
        wrapped.log(event: event)
    }

    private static func escaped(_ metadata: Logger.Metadata) -> Logger.Metadata {
        metadata.mapValues(escaped)
    }

    private static func escaped(_ value: Logger.MetadataValue) -> Logger.MetadataValue {
        switch value {
        case .string(let text): .string(ClientText.escapingControlCharacters(text))
        case .stringConvertible(let convertible): .string(ClientText.escapingControlCharacters(convertible.description))
        // Nested metadata is built by Metronome's own code, never from client structure: its depth is ours.
        case .array(let values): .array(values.map(escaped))
        case .dictionary(let values): .dictionary(escaped(values))
        }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }
}
