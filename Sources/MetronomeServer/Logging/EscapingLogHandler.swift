import Logging
import MetronomeWire

/// Wraps a log handler so that no message or metadata value can carry a control character into the log: a `\n`
/// inside a client's tenant id or trace id must not write a forged line. Values are escaped as
/// ``ClientText/escapingControlCharacters(_:)`` escapes them; lines without control characters pass unchanged.
///
/// The logger's own metadata is kept here and handed to the wrapped handler with each event's (the event's values
/// win), only when something is logged: Hummingbird sets a request id on a logger for every request, and
/// `StreamLogHandler` renders all of its metadata to text at every set — 8% of an OTLP/HTTP request's CPU outside its
/// handler, for lines that are almost never written.
public struct EscapingLogHandler<Wrapped: LogHandler>: LogHandler {
    private var wrapped: Wrapped
    /// The logger's own metadata, merged into each event as it is logged (so it goes to the wrapped handler as the
    /// event's, above what a metadata provider gives).
    public var metadata: Logger.Metadata

    public init(_ wrapped: Wrapped) {
        self.wrapped = wrapped
        metadata = wrapped.metadata
        self.wrapped.metadata = [:]
    }

    public func log(event: LogEvent) {
        var event = event
        event.message = Logger.Message(stringLiteral: ClientText.escapingControlCharacters(event.message.description))
        var metadata = self.metadata
        if let explicit = event.metadata { metadata.merge(explicit) { _, explicit in explicit } }
        event.metadata = metadata.isEmpty ? nil : Self.escaped(metadata)
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
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }
}
