#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a Zipkin v2 protobuf `ListOfSpans` (`zipkin.proto3`) with ``ProtobufReader`` into ``ZipkinSpan``s.
///
/// Field numbers: `ListOfSpans.spans = 1`; `Span.trace_id = 1, parent_id = 2, id = 3, kind = 4, name = 5,
/// timestamp = 6 (fixed64), duration = 7, local_endpoint = 8, remote_endpoint = 9, annotations = 10, tags = 11`
/// (map entries `key = 1, value = 2`); `Endpoint.service_name = 1, ipv4 = 2 (4 bytes), ipv6 = 3 (16 bytes),
/// port = 4`; `Annotation.timestamp = 1 (fixed64), value = 2`; `Span.shared = 13`. `Kind`: CLIENT 1, SERVER 2, PRODUCER 3, CONSUMER 4.
struct ZipkinProtobufReader {
    private let bytes: UnsafeRawBufferPointer
    /// Every string, and every address formatted as text, back to back.
    private(set) var text: [UInt8] = []
    private(set) var parsed: [ZipkinSpan] = []

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// What the spans, their tags and annotations and the text hold, in bytes.
    var heldBytes: Int { parsed.capacity * MemoryLayout<ZipkinSpan>.stride + spanHeapBytes + text.capacity }
    private var spanHeapBytes = 0

    /// Reads every span, with what they hold covered by `memory` (a refusal stops reading with a ``WireError``).
    mutating func spans(memory: inout TranslationMemory) throws(WireError) {
        var reader = ProtobufReader(bytes: bytes)
        while let tag = try reader.nextTag() {
            guard tag.fieldNumber == 1 else {
                try reader.skip(tag.wireType)
                continue
            }
            let range = try reader.readBytes(tag, in: "ListOfSpans").range
            let span = try span(range, index: parsed.count)
            spanHeapBytes += span.heapBytes
            parsed.append(span)
            guard memory.cover(heldBytes) else { throw .invalidSpan(index: parsed.count - 1, reason: "refused memory") }
        }
    }

    private mutating func span(_ range: Range<Int>, index: Int) throws(WireError) -> ZipkinSpan {
        var span = ZipkinSpan()
        var reader = ProtobufReader(bytes: bytes, range: range)
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1:
                let id = try reader.readBytes(tag, in: "Span").range
                guard id.count <= 16 else { throw .invalidSpan(index: index, reason: "has a trace_id over 16 bytes") }
                span.traceHigh = UInt64(bigEndianBytes: bytes[id].dropLast(8))
                span.traceLow = UInt64(bigEndianBytes: bytes[id].suffix(8))
            case 2: span.parentID = try spanID(reader.readBytes(tag, in: "Span").range, index: index)
            case 3: span.spanID = try spanID(reader.readBytes(tag, in: "Span").range, index: index)
            case 4:
                try reader.expect(tag, .varint, in: "Span")
                span.kind = Self.otlpKind(try reader.readVarint())
            case 5: span.name = store(try reader.readBytes(tag, in: "Span").range)
            case 6:
                try reader.expect(tag, .fixed64, in: "Span")
                span.timestampMicros = try reader.readFixed64()
            case 7:
                try reader.expect(tag, .varint, in: "Span")
                span.durationMicros = try reader.readVarint()
            case 8: span.local = try endpoint(reader.readBytes(tag, in: "Span").range)
            case 9: span.remote = try endpoint(reader.readBytes(tag, in: "Span").range)
            case 10: span.annotations.append(try annotation(reader.readBytes(tag, in: "Span").range))
            case 11: span.tags.append(try tagEntry(reader.readBytes(tag, in: "Span").range))
            case 13:
                try reader.expect(tag, .varint, in: "Span")
                span.shared = try reader.readVarint() != 0
            default: try reader.skip(tag.wireType)
            }
        }
        guard span.traceHigh != 0 || span.traceLow != 0 else {
            throw .invalidSpan(index: index, reason: "has no trace_id (8 or 16 bytes, not all zero)")
        }
        guard span.spanID != 0 else { throw .invalidSpan(index: index, reason: "has no id (8 bytes, not all zero)") }
        return span
    }

    private mutating func endpoint(_ range: Range<Int>) throws(WireError) -> ZipkinSpan.Endpoint {
        var endpoint = ZipkinSpan.Endpoint()
        var reader = ProtobufReader(bytes: bytes, range: range)
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1: endpoint.serviceName = store(try reader.readBytes(tag, in: "Endpoint").range)
            case 2, 3:
                let address = try reader.readBytes(tag, in: "Endpoint").range
                if endpoint.address.isEmpty { endpoint.address = storeAddress(address) }
            case 4:
                try reader.expect(tag, .varint, in: "Endpoint")
                endpoint.port = UInt32(UInt16(truncatingIfNeeded: try reader.readVarint()))
            default: try reader.skip(tag.wireType)
            }
        }
        return endpoint
    }

    private mutating func annotation(_ range: Range<Int>) throws(WireError) -> (
        timestampMicros: UInt64, value: TextRange
    ) {
        var annotation: (timestampMicros: UInt64, value: TextRange) = (0, .none)
        var reader = ProtobufReader(bytes: bytes, range: range)
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1:
                try reader.expect(tag, .fixed64, in: "Annotation")
                annotation.timestampMicros = try reader.readFixed64()
            case 2: annotation.value = store(try reader.readBytes(tag, in: "Annotation").range)
            default: try reader.skip(tag.wireType)
            }
        }
        return annotation
    }

    private mutating func tagEntry(_ range: Range<Int>) throws(WireError) -> (key: TextRange, value: TextRange) {
        var entry: (key: TextRange, value: TextRange) = (.none, .none)
        var reader = ProtobufReader(bytes: bytes, range: range)
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1: entry.key = store(try reader.readBytes(tag, in: "TagsEntry").range)
            case 2: entry.value = store(try reader.readBytes(tag, in: "TagsEntry").range)
            default: try reader.skip(tag.wireType)
            }
        }
        return entry
    }

    /// A span or parent id of at most 8 bytes (a shorter one widened with zeros first); empty is none (0).
    private func spanID(_ range: Range<Int>, index: Int) throws(WireError) -> UInt64 {
        guard range.count <= 8 else { throw .invalidSpan(index: index, reason: "has a span id over 8 bytes") }
        return UInt64(bigEndianBytes: bytes[range])
    }

    private mutating func store(_ range: Range<Int>) -> TextRange {
        let start = text.count
        text += bytes[range]
        return TextRange(from: start, to: text.count)
    }

    /// An IPv4 (4 bytes) or IPv6 (16 bytes) address as text; other lengths are no address.
    private mutating func storeAddress(_ range: Range<Int>) -> TextRange {
        guard range.count == 4 || range.count == 16 else { return .none }
        var buffer = [CChar](repeating: 0, count: 64)
        let family = range.count == 4 ? AF_INET : AF_INET6
        let address = Array(bytes[range])
        let formatted = address.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        guard formatted else { return .none }
        let start = text.count
        text += buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
        return TextRange(from: start, to: text.count)
    }

    /// The OTLP `SpanKind` of a protobuf `Kind` number.
    private static func otlpKind(_ kind: UInt64) -> UInt8 {
        switch kind {
        case 1: 3
        case 2: 2
        case 3: 4
        case 4: 5
        default: 0
        }
    }
}
