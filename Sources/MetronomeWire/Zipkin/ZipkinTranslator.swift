/// Translates a Zipkin v2 span list (`POST /api/v2/spans`, JSON or protobuf `ListOfSpans`) into the protobuf
/// encoding of an OTLP `ExportTraceServiceRequest`, so Zipkin spans take the same ``SpanBatch`` path, and make the
/// same series, as OTLP ones.
///
/// The mapping is the OpenTelemetry Collector's Zipkin v2 translator's, with its status bug left out:
/// - spans are grouped into one resource per `localEndpoint.serviceName` (`service.name`; none without a name), in
///   order of first appearance, each with one scope;
/// - 64-bit trace ids are widened to 128 bits (zeros first); a `parentId` equal to the span's `id` is dropped;
/// - a `shared` SERVER span (which reuses its client's id, as B3 propagation does) becomes the client's child, with an
///   id derived from the shared one (``ZipkinSpan/sharedServerID(_:)``), so the RPC makes a service-graph edge —
///   which the Collector's translator, and so Tempo, do not do (grafana/tempo#1495);
/// - `kind` CLIENT, SERVER, PRODUCER, CONSUMER map to the OTLP kinds; without one a span is UNSPECIFIED, or INTERNAL
///   when tagged `span.kind=internal`;
/// - status: `otel.status_code` `OK`/`ERROR` (and the `STATUS_CODE_…` names) with `otel.status_description`; an
///   `error` tag makes the span an error (its value is the message unless it is `true` or empty);
/// - `w3c.tracestate` is the trace state; every other tag is a string attribute;
/// - `remoteEndpoint`: `serviceName` → `peer.service`, `ipv4`/`ipv6` → `network.peer.address`, `port` →
///   `network.peer.port`; `localEndpoint` `ipv4`/`ipv6`/`port` → `network.local.address`/`network.local.port`;
/// - `timestamp` and `duration` in microseconds become start and end in nanoseconds; annotations become events;
/// - every span carries a status field, empty when unset, as Tempo re-encodes spans: a span's size in
///   `traces_spanmetrics_size_total` is that of the translated span, whatever the wire format.
///
/// Memory is linear in the input: the spans are read into a list of byte ranges into one buffer of text, then
/// written out; nothing per span outlives the call. Because a read span (about 128 bytes) can be larger than its
/// encoding (about 22 bytes at the least), what the translation holds is reported as it grows (``TranslationMemory``),
/// so the caller can count it against a budget rather than assume a multiple of the input.
public enum ZipkinTranslator {
    /// Returns the OTLP protobuf encoding of the Zipkin v2 JSON span list in `json`, and the number of spans.
    ///
    /// `reserve` is called before the translation holds more memory than it was granted so far, with the bytes it
    /// needs; when it returns false the translation stops with an error whose ``TranslationError/refusedBytes`` says how many.
    public static func protobuf(
        fromJSON json: UnsafeRawBufferPointer,
        reserve: (Int) -> Bool = { _ in true }
    ) throws(TranslationError) -> (bytes: [UInt8], spans: Int) {
        try TranslationError.checkSize(json)
        return try withoutActuallyEscaping(reserve) { (reserve) throws(TranslationError) in
            var memory = TranslationMemory(reserve: reserve)
            return try translate(json: json, memory: &memory)
        }
    }

    private static func translate(json: UnsafeRawBufferPointer, memory: inout TranslationMemory)
        throws(TranslationError) -> (
            bytes: [UInt8], spans: Int
        )
    {
        var reader = ZipkinJSONReader(json: json)
        do throws(JSONScanner.Failure) {
            try reader.spans(memory: &memory)
            try reader.scanner.expectEnd()
        } catch {
            if let refused = memory.refusedBytes { throw TranslationError.refused(refused) }
            let (line, column) = error.location(in: json)
            let path = error.path.map { " at \($0)" } ?? ""
            throw TranslationError(
                description: "invalid Zipkin v2 JSON\(path) (line \(line), column \(column)): \(error.message)"
            )
        }
        return try write(reader.parsed, text: reader.text, held: reader.heldBytes, memory: &memory)
    }

    /// Returns the OTLP protobuf encoding of the Zipkin v2 `ListOfSpans` in `protobuf`, and the number of spans.
    /// `reserve` is called as in ``protobuf(fromJSON:reserve:)``.
    public static func protobuf(
        fromProtobuf protobuf: UnsafeRawBufferPointer,
        reserve: (Int) -> Bool = { _ in true }
    ) throws(TranslationError) -> (bytes: [UInt8], spans: Int) {
        try TranslationError.checkSize(protobuf)
        return try withoutActuallyEscaping(reserve) { (reserve) throws(TranslationError) in
            var memory = TranslationMemory(reserve: reserve)
            return try translate(protobuf: protobuf, memory: &memory)
        }
    }

    private static func translate(protobuf: UnsafeRawBufferPointer, memory: inout TranslationMemory)
        throws(TranslationError)
        -> (bytes: [UInt8], spans: Int)
    {
        var reader = ZipkinProtobufReader(bytes: protobuf)
        do throws(WireError) {
            try reader.spans(memory: &memory)
        } catch {
            if let refused = memory.refusedBytes { throw TranslationError.refused(refused) }
            throw TranslationError(description: "invalid Zipkin v2 protobuf (ListOfSpans): \(error)")
        }
        return try write(reader.parsed, text: reader.text, held: reader.heldBytes, memory: &memory)
    }

    /// Writes the read spans once the memory the output may take is granted beside what the reader holds.
    private static func write(
        _ spans: [ZipkinSpan],
        text: [UInt8],
        held: Int,
        memory: inout TranslationMemory
    ) throws(TranslationError) -> (bytes: [UInt8], spans: Int) {
        let writer = ZipkinOTLPWriter(text: text)
        let capacity = writer.maximumBytes(of: spans)
        let grouping = IndexGroups.heldBytes(keyCount: spans.count, elementCount: spans.count)
        guard memory.cover(held + capacity + grouping) else {
            throw TranslationError.refused(memory.refusedBytes ?? capacity)
        }
        return (writer.request(spans, capacity: capacity), spans.count)
    }
}

/// One Zipkin span as read, from either encoding: ids as big-endian integers (0: none), strings as ranges into the
/// reader's text. Nothing in it is on the heap but its tags and annotations, so a request of many tiny spans holds
/// one small value per span (`ZipkinTranslatorTests` keeps its size in check).
struct ZipkinSpan {
    struct Endpoint {
        var serviceName = TextRange.none
        var address = TextRange.none
        var port: UInt32 = 0
    }

    /// The trace id's high and low 64 bits (a 64-bit trace id is the low half).
    var traceHigh: UInt64 = 0
    var traceLow: UInt64 = 0
    var spanID: UInt64 = 0
    var parentID: UInt64 = 0
    var name = TextRange.none
    /// The OTLP `SpanKind` (0, UNSPECIFIED, when Zipkin gives none).
    var kind: UInt8 = 0
    /// Zipkin's `shared`: a server span that reuses its client's span id (B3's single-span RPCs).
    var shared = false
    var timestampMicros: UInt64 = 0
    var durationMicros: UInt64 = 0
    var local = Endpoint()
    var remote = Endpoint()
    var tags: [(key: TextRange, value: TextRange)] = []
    var annotations: [(timestampMicros: UInt64, value: TextRange)] = []
}

extension ZipkinSpan {
    /// The heap bytes the span's tags and annotations take (an array's header is about 32 bytes).
    var heapBytes: Int {
        (tags.capacity == 0 ? 0 : 32 + tags.capacity * MemoryLayout<(key: TextRange, value: TextRange)>.stride)
            + (annotations.capacity == 0
                ? 0 : 32 + annotations.capacity * MemoryLayout<(timestampMicros: UInt64, value: TextRange)>.stride)
    }

    /// The id a shared server span takes, a fixed mix of the id it shares with its client (SplitMix64's finalizer,
    /// never 0 for a non-zero id), so every copy of the span, from any reporter, gets the same one.
    static func sharedServerID(_ id: UInt64) -> UInt64 {
        var z = id &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        let mixed = z ^ (z >> 31)
        return mixed == 0 ? 1 : mixed
    }

    /// Whether the span has the ids OTLP requires: a non-zero trace id and span id.
    var hasIDs: Bool { (traceHigh != 0 || traceLow != 0) && spanID != 0 }

}
