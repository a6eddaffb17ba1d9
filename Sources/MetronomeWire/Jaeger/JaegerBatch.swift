/// Jaeger spans as read from Thrift or protobuf, before they are written as OTLP: flat lists of small values whose
/// strings are ranges into the request's bytes (neither format escapes them), so a request of many spans allocates a
/// few arrays, not a few per span.
struct JaegerBatch {
    /// A tag, log field or process tag. Types are numbered as Thrift's `TagType`.
    struct Tag {
        enum ValueType: UInt8 { case string = 0, double, bool, long, binary }

        var key = TextRange.none
        var type = ValueType.string
        /// A string's or binary's bytes.
        var text = TextRange.none
        /// A bool (0 or 1), long (two's complement) or double (IEEE 754 bits).
        var bits: UInt64 = 0
    }

    struct Process {
        var serviceName = TextRange.none
        var tags: Range<UInt32> = 0..<0
    }

    struct Log {
        var timeNanos: UInt64 = 0
        var fields: Range<UInt32> = 0..<0
    }

    /// A span reference: CHILD_OF (0) or FOLLOWS_FROM (1).
    struct Reference {
        var type: UInt8 = 0
        var traceHigh: UInt64 = 0
        var traceLow: UInt64 = 0
        var spanID: UInt64 = 0
    }

    struct Span {
        var traceHigh: UInt64 = 0
        var traceLow: UInt64 = 0
        var spanID: UInt64 = 0
        /// Thrift's `parentSpanId` (0: none; protobuf has only references).
        var parentID: UInt64 = 0
        var name = TextRange.none
        var startNanos: UInt64 = 0
        var durationNanos: UInt64 = 0
        var tags: Range<UInt32> = 0..<0
        var logs: Range<UInt32> = 0..<0
        var references: Range<UInt32> = 0..<0
        /// Index into ``JaegerBatch/processes``.
        var process: UInt32 = 0
    }

    var processes: [Process] = []
    var spans: [Span] = []
    var tags: [Tag] = []
    var logs: [Log] = []
    var references: [Reference] = []

    /// The bytes the lists take.
    var heldBytes: Int {
        processes.capacity * MemoryLayout<Process>.stride + spans.capacity * MemoryLayout<Span>.stride
            + tags.capacity * MemoryLayout<Tag>.stride + logs.capacity * MemoryLayout<Log>.stride
            + references.capacity * MemoryLayout<Reference>.stride
    }

    /// The range of list indexes from `start` to the list's end.
    static func range(from start: Int, to end: Int) -> Range<UInt32> { UInt32(start)..<UInt32(end) }
}

extension JaegerBatch.Span {
    /// Whether the span has the ids OTLP requires: a non-zero trace id and span id.
    var hasIDs: Bool { (traceHigh != 0 || traceLow != 0) && spanID != 0 }
}
