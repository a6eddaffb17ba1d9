/// Walks an `ExportTraceServiceRequest` and fills the arrays of a ``SpanBatch``.
///
/// Field numbers follow `opentelemetry/proto/trace/v1/trace.proto` and `common/v1/common.proto`; unknown fields are
/// skipped, as protobuf requires; a known field with the wrong wire type is an error.
///
/// The index never costs more than a small multiple of the bytes it indexes, whatever the request's shape: a span
/// is refused as soon as its ids are invalid (the whole request is refused then anyway), so each 72-byte
/// ``SpanRecord`` stands for at least 30 bytes on the wire; an attribute with an empty key (which no dimension or
/// filter can name) is not indexed, so each 32-byte ``AttributeRecord`` stands for at least 5; a resource without
/// spans is not indexed. Nested attribute values are checked here, to ``SpanBatch/Limits/maxValueDepth`` levels, so
/// that nothing reading them later meets a malformed or unboundedly deep value.
struct SpanBatchDecoder {
    let limits: SpanBatch.Limits
    var resources: [ResourceRecord] = []
    var spans: [SpanRecord] = []
    var attributes: [AttributeRecord] = []

    /// Who an attribute being decoded belongs to, for error messages.
    private enum Owner {
        case resource(Int)
        case span(Int)

        var description: String {
            switch self {
            case .resource(let index): "resource \(index)"
            case .span(let index): "span \(index)"
            }
        }
    }

    mutating func decodeRequest(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
        // A span takes at least ~30 bytes on the wire; reserving by size avoids most regrowth.
        spans.reserveCapacity(bytes.count / 128)
        attributes.reserveCapacity(bytes.count / 48)
        var reader = ProtobufReader(bytes: bytes)
        while let tag = try reader.nextTag() {
            if tag.fieldNumber == 1 {
                let range = try reader.readBytes(tag, in: "ExportTraceServiceRequest").range
                try decodeResourceSpans(ProtobufReader(bytes: bytes, range: range))
            } else {
                try reader.skip(tag.wireType)
            }
        }
    }

    private mutating func decodeResourceSpans(_ reader: ProtobufReader) throws(WireError) {
        var reader = reader
        let resourceIndex = Int32(resources.count)
        let spanStart = Int32(spans.count)
        let attributeStart = attributes.count
        var resourceAttributes: Range<Int32> = 0..<0
        // Spans are indexed before the resource's attributes are known when the resource comes last on the wire;
        // attributes are appended where they are found and the resource keeps the range.
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1:
                let range = try reader.readBytes(tag, in: "ResourceSpans").range
                resourceAttributes = try decodeResource(ProtobufReader(bytes: reader.base, range: range))
            case 2:
                let range = try reader.readBytes(tag, in: "ResourceSpans").range
                try decodeScopeSpans(ProtobufReader(bytes: reader.base, range: range), resourceIndex: resourceIndex)
            default:
                try reader.skip(tag.wireType)
            }
        }
        guard Int32(spans.count) > spanStart else {
            // Nothing reads a resource without spans: drop what it added, so empty resources cost no memory.
            attributes.removeSubrange(attributeStart...)
            return
        }
        resources.append(ResourceRecord(attributes: resourceAttributes, spans: spanStart..<Int32(spans.count)))
    }

    private mutating func decodeResource(_ reader: ProtobufReader) throws(WireError) -> Range<Int32> {
        var reader = reader
        let start = Int32(attributes.count)
        while let tag = try reader.nextTag() {
            if tag.fieldNumber == 1 {
                let range = try reader.readBytes(tag, in: "Resource").range
                try decodeKeyValue(ProtobufReader(bytes: reader.base, range: range), owner: .resource(resources.count))
            } else {
                try reader.skip(tag.wireType)
            }
        }
        return start..<Int32(attributes.count)
    }

    private mutating func decodeScopeSpans(_ reader: ProtobufReader, resourceIndex: Int32) throws(WireError) {
        var reader = reader
        while let tag = try reader.nextTag() {
            if tag.fieldNumber == 2 {
                let range = try reader.readBytes(tag, in: "ScopeSpans").range
                try decodeSpan(ProtobufReader(bytes: reader.base, range: range), resourceIndex: resourceIndex)
            } else {
                try reader.skip(tag.wireType)
            }
        }
    }

    private mutating func decodeSpan(_ reader: ProtobufReader, resourceIndex: Int32) throws(WireError) {
        var reader = reader
        var span = SpanRecord()
        span.resourceIndex = resourceIndex
        span.encodedSize = UInt32(reader.end - reader.position)
        span.attributeStart = Int32(attributes.count)
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1: span.traceID = try reader.readBytes(tag, in: "Span")
            case 2: span.spanID = try reader.readBytes(tag, in: "Span")
            case 3: span.traceState = try reader.readBytes(tag, in: "Span")
            case 4: span.parentSpanID = try reader.readBytes(tag, in: "Span")
            case 5: span.name = try reader.readBytes(tag, in: "Span")
            case 6:
                try reader.expect(tag, .varint, in: "Span")
                span.kind = Int32(truncatingIfNeeded: try reader.readVarint())
            case 7:
                try reader.expect(tag, .fixed64, in: "Span")
                span.startTimeUnixNano = try reader.readFixed64()
            case 8:
                try reader.expect(tag, .fixed64, in: "Span")
                span.endTimeUnixNano = try reader.readFixed64()
            case 9:
                let range = try reader.readBytes(tag, in: "Span").range
                try decodeKeyValue(ProtobufReader(bytes: reader.base, range: range), owner: .span(spans.count))
            case 15:
                let range = try reader.readBytes(tag, in: "Span").range
                try decodeStatus(ProtobufReader(bytes: reader.base, range: range), into: &span)
            default:
                try reader.skip(tag.wireType)
            }
        }
        // Attributes of one span are contiguous: nothing else appends to `attributes` while a span is decoded.
        span.attributeCount = Int32(attributes.count) - span.attributeStart
        try validateIDs(of: span, index: spans.count, bytes: reader.base)
        spans.append(span)
    }

    /// Spans need a 16-byte trace id and a non-zero 8-byte span id (spec §1.1).
    private func validateIDs(of span: SpanRecord, index: Int, bytes: UnsafeRawBufferPointer) throws(WireError) {
        if span.traceID.count != 16 {
            throw .invalidSpan(
                index: index,
                reason: "has a \(span.traceID.count)-byte trace id; a trace id must be 16 bytes"
            )
        }
        if span.spanID.count != 8 {
            throw .invalidSpan(
                index: index,
                reason: "has a \(span.spanID.count)-byte span id; a span id must be 8 bytes"
            )
        }
        if bytes.loadUnaligned(fromByteOffset: Int(span.spanID.offset), as: UInt64.self) == 0 {
            throw .invalidSpan(index: index, reason: "has an all-zero span id")
        }
    }

    private func decodeStatus(_ reader: ProtobufReader, into span: inout SpanRecord) throws(WireError) {
        var reader = reader
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 2: span.statusMessage = try reader.readBytes(tag, in: "Status")
            case 3:
                try reader.expect(tag, .varint, in: "Status")
                span.statusCode = Int32(truncatingIfNeeded: try reader.readVarint())
            default: try reader.skip(tag.wireType)
            }
        }
    }

    private mutating func decodeKeyValue(_ reader: ProtobufReader, owner: Owner) throws(WireError) {
        var reader = reader
        var attribute = AttributeRecord(key: .empty, type: .empty, value: .empty, scalar: 0)
        var valueRange: Range<Int>?
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1: attribute.key = try reader.readBytes(tag, in: "KeyValue")
            case 2: valueRange = try reader.readBytes(tag, in: "KeyValue").range
            default: try reader.skip(tag.wireType)
            }
        }
        // Decoded after the loop so that an error can name the key whichever order the fields came in.
        if let valueRange {
            do throws(WireError) {
                try Self.decodeAnyValue(
                    ProtobufReader(bytes: reader.base, range: valueRange),
                    into: &attribute,
                    depth: 1,
                    limits: limits
                )
            } catch .valueTooDeep(let limit, _) {
                throw .valueTooDeep(
                    limit: limit,
                    location: "\(owner.description) attribute \(ClientText.quoted(reader.base[attribute.key.range]))"
                )
            }
        }
        guard !attribute.key.isEmpty else { return }
        attributes.append(attribute)
    }

    /// Decodes an `AnyValue` into the value fields of `attribute` (``decodeOneof(_:into:)``), then checks an array or
    /// key-value list all the way down: every nested message must parse and the nesting may not exceed
    /// `limits.maxValueDepth` (`depth` is this value's level, 1 for an attribute's own value).
    static func decodeAnyValue(
        _ reader: ProtobufReader,
        into attribute: inout AttributeRecord,
        depth: Int,
        limits: SpanBatch.Limits
    ) throws(WireError) {
        try decodeOneof(reader, into: &attribute)
        guard attribute.type == .array || attribute.type == .keyValueList else { return }
        guard depth < limits.maxValueDepth else { throw .valueTooDeep(limit: limits.maxValueDepth, location: "") }
        try validateNested(
            attribute.value.range,
            in: reader.base,
            isArray: attribute.type == .array,
            depth: depth + 1,
            limits: limits
        )
    }

    /// Reads the oneof of an `AnyValue` into `attribute` (the last member on the wire wins), without looking inside
    /// an array or key-value list.
    static func decodeOneof(_ reader: ProtobufReader, into attribute: inout AttributeRecord) throws(WireError) {
        var reader = reader
        while let tag = try reader.nextTag() {
            let type: AttributeValueType
            switch tag.fieldNumber {
            case 1: type = .string
            case 2: type = .bool
            case 3: type = .int
            case 4: type = .double
            case 5: type = .array
            case 6: type = .keyValueList
            case 7: type = .bytes
            default:
                try reader.skip(tag.wireType)
                continue
            }
            attribute.type = type
            attribute.value = .empty
            attribute.scalar = 0
            switch type {
            case .bool, .int:
                try reader.expect(tag, .varint, in: "AnyValue")
                let raw = try reader.readVarint()
                attribute.scalar = type == .bool ? (raw != 0 ? 1 : 0) : raw
            case .double:
                try reader.expect(tag, .fixed64, in: "AnyValue")
                attribute.scalar = try reader.readFixed64()
            default:
                attribute.value = try reader.readBytes(tag, in: "AnyValue")
            }
        }
    }

    /// Checks an `ArrayValue` (repeated `AnyValue` values = 1) or a `KeyValueList` (repeated `KeyValue` values = 1)
    /// whose elements are at nesting level `depth`. Recursion is bounded by the depth limit.
    private static func validateNested(
        _ range: Range<Int>,
        in bytes: UnsafeRawBufferPointer,
        isArray: Bool,
        depth: Int,
        limits: SpanBatch.Limits
    ) throws(WireError) {
        var reader = ProtobufReader(bytes: bytes, range: range)
        var scratch = AttributeRecord(key: .empty, type: .empty, value: .empty, scalar: 0)
        while let tag = try reader.nextTag() {
            guard tag.fieldNumber == 1 else {
                try reader.skip(tag.wireType)
                continue
            }
            let element = try reader.readBytes(tag, in: isArray ? "ArrayValue" : "KeyValueList").range
            if isArray {
                try decodeAnyValue(
                    ProtobufReader(bytes: bytes, range: element),
                    into: &scratch,
                    depth: depth,
                    limits: limits
                )
                continue
            }
            var pair = ProtobufReader(bytes: bytes, range: element)
            while let pairTag = try pair.nextTag() {
                if pairTag.fieldNumber == 2 {
                    let value = try pair.readBytes(pairTag, in: "KeyValue").range
                    try decodeAnyValue(
                        ProtobufReader(bytes: bytes, range: value),
                        into: &scratch,
                        depth: depth,
                        limits: limits
                    )
                } else if pairTag.fieldNumber == 1 {
                    _ = try pair.readBytes(pairTag, in: "KeyValue")
                } else {
                    try pair.skip(pairTag.wireType)
                }
            }
        }
    }
}
