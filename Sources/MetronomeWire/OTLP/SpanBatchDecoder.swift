/// Walks an `ExportTraceServiceRequest` and fills the arrays of a ``SpanBatch``.
///
/// Field numbers follow `opentelemetry/proto/trace/v1/trace.proto` and `common/v1/common.proto`; unknown fields are
/// skipped, as protobuf requires; a known field with the wrong wire type is an error.
struct SpanBatchDecoder {
    var resources: [ResourceRecord] = []
    var spans: [SpanRecord] = []
    var attributes: [AttributeRecord] = []

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
        resources.append(ResourceRecord(attributes: resourceAttributes, spans: spanStart..<Int32(spans.count)))
    }

    private mutating func decodeResource(_ reader: ProtobufReader) throws(WireError) -> Range<Int32> {
        var reader = reader
        let start = Int32(attributes.count)
        while let tag = try reader.nextTag() {
            if tag.fieldNumber == 1 {
                let range = try reader.readBytes(tag, in: "Resource").range
                try decodeKeyValue(ProtobufReader(bytes: reader.base, range: range))
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
                try decodeKeyValue(ProtobufReader(bytes: reader.base, range: range))
            case 15:
                let range = try reader.readBytes(tag, in: "Span").range
                try decodeStatus(ProtobufReader(bytes: reader.base, range: range), into: &span)
            default:
                try reader.skip(tag.wireType)
            }
        }
        // Attributes of one span are contiguous: nothing else appends to `attributes` while a span is decoded.
        span.attributeCount = Int32(attributes.count) - span.attributeStart
        spans.append(span)
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

    private mutating func decodeKeyValue(_ reader: ProtobufReader) throws(WireError) {
        var reader = reader
        var attribute = AttributeRecord(key: .empty, type: .empty, value: .empty, scalar: 0)
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1: attribute.key = try reader.readBytes(tag, in: "KeyValue")
            case 2:
                let range = try reader.readBytes(tag, in: "KeyValue").range
                try Self.decodeAnyValue(ProtobufReader(bytes: reader.base, range: range), into: &attribute)
            default: try reader.skip(tag.wireType)
            }
        }
        attributes.append(attribute)
    }

    /// Decodes an `AnyValue` into the value fields of `attribute`; the last oneof member on the wire wins.
    static func decodeAnyValue(_ reader: ProtobufReader, into attribute: inout AttributeRecord) throws(WireError) {
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
}
