/// Reads a Jaeger `api_v2.PostSpansRequest` (the gRPC collector's `PostSpans`, `model.proto`) into a
/// ``JaegerBatch``.
///
/// Field numbers: `PostSpansRequest.batch = 1`; `Batch.spans = 1, process = 2`; `Span.trace_id = 1 (16 bytes),
/// span_id = 2 (8 bytes), operation_name = 3, references = 4, start_time = 6, duration = 7, tags = 8, logs = 9,
/// process = 10`; `SpanRef.trace_id = 1, span_id = 2, ref_type = 3`; `Process.service_name = 1, tags = 2`;
/// `KeyValue.key = 1, v_type = 2, v_str = 3, v_bool = 4, v_int64 = 5, v_float64 = 6, v_binary = 7` (`ValueType`
/// STRING 0, BOOL 1, INT64 2, FLOAT64 3, BINARY 4); `Log.timestamp = 1, fields = 2`; `Timestamp`/`Duration.seconds = 1,
/// nanos = 2`. A span's own process takes priority over the batch's.
struct JaegerProtobufReader {
    private let bytes: UnsafeRawBufferPointer
    /// Process 0 is the batch's (empty when it has none).
    private(set) var batch = JaegerBatch()

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    mutating func readRequest(memory: inout TranslationMemory) throws(WireError) {
        batch.processes = [JaegerBatch.Process()]
        var request = ProtobufReader(bytes: bytes)
        while let tag = try request.nextTag() {
            guard tag.fieldNumber == 1 else {
                try request.skip(tag.wireType)
                continue
            }
            var reader = ProtobufReader(bytes: bytes, range: try request.readBytes(tag, in: "PostSpansRequest").range)
            while let tag = try reader.nextTag() {
                switch tag.fieldNumber {
                case 1:
                    let span = try span(reader.readBytes(tag, in: "Batch").range)
                    guard span.hasIDs else {
                        throw .invalidSpan(
                            index: batch.spans.count,
                            reason: "has no trace_id or span_id (not all zero)"
                        )
                    }
                    batch.spans.append(span)
                    guard memory.cover(batch.heldBytes) else {
                        throw .invalidSpan(index: batch.spans.count - 1, reason: "refused memory")
                    }
                case 2: batch.processes[0] = try process(reader.readBytes(tag, in: "Batch").range)
                default: try reader.skip(tag.wireType)
                }
            }
        }
    }

    private mutating func span(_ range: Range<Int>) throws(WireError) -> JaegerBatch.Span {
        var span = JaegerBatch.Span()
        var reader = ProtobufReader(bytes: bytes, range: range)
        let index = batch.spans.count
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1:
                let id = try reader.readBytes(tag, in: "Span").range
                guard id.count <= 16 else { throw .invalidSpan(index: index, reason: "has a trace_id over 16 bytes") }
                (span.traceHigh, span.traceLow) = Self.traceID(bytes[id])
            case 2:
                let id = try reader.readBytes(tag, in: "Span").range
                guard id.count <= 8 else { throw .invalidSpan(index: index, reason: "has a span_id over 8 bytes") }
                span.spanID = UInt64(bigEndianBytes: bytes[id])
            case 3: span.name = TextRange(try reader.readBytes(tag, in: "Span").range)
            case 4:
                let reference = try reference(reader.readBytes(tag, in: "Span").range)
                span.references = appended(span.references, reference, to: \.references)
            case 6: span.startNanos = try nanoseconds(reader.readBytes(tag, in: "Span").range)
            case 7: span.durationNanos = try nanoseconds(reader.readBytes(tag, in: "Span").range)
            case 8: span.tags = appended(span.tags, try self.tag(reader.readBytes(tag, in: "Span").range), to: \.tags)
            case 9: span.logs = appended(span.logs, try log(reader.readBytes(tag, in: "Span").range), to: \.logs)
            case 10:
                batch.processes.append(try process(reader.readBytes(tag, in: "Span").range))
                span.process = UInt32(batch.processes.count - 1)
            default: try reader.skip(tag.wireType)
            }
        }
        return span
    }

    /// Extends `range` (a span's or log's list, which grows at the list's end) with one appended element. Encoders
    /// write a repeated field's elements together; were they interleaved with another list's, the range would take in
    /// those elements too (never past the list).
    private mutating func appended<Element>(
        _ range: Range<UInt32>,
        _ element: Element,
        to list: WritableKeyPath<JaegerBatch, [Element]>
    ) -> Range<UInt32> {
        let start = batch[keyPath: list].count
        batch[keyPath: list].append(element)
        return range.isEmpty ? JaegerBatch.range(from: start, to: start + 1) : range.lowerBound..<UInt32(start + 1)
    }

    private func reference(_ range: Range<Int>) throws(WireError) -> JaegerBatch.Reference {
        var reference = JaegerBatch.Reference()
        var reader = ProtobufReader(bytes: bytes, range: range)
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1:
                (reference.traceHigh, reference.traceLow) = Self.traceID(
                    bytes[try reader.readBytes(tag, in: "SpanRef").range]
                )
            case 2:
                reference.spanID = UInt64(
                    bigEndianBytes: bytes[try reader.readBytes(tag, in: "SpanRef").range].suffix(8)
                )
            case 3:
                try reader.expect(tag, .varint, in: "SpanRef")
                reference.type = try reader.readVarint() == 1 ? 1 : 0
            default: try reader.skip(tag.wireType)
            }
        }
        return reference
    }

    private mutating func process(_ range: Range<Int>) throws(WireError) -> JaegerBatch.Process {
        var process = JaegerBatch.Process()
        var reader = ProtobufReader(bytes: bytes, range: range)
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1: process.serviceName = TextRange(try reader.readBytes(tag, in: "Process").range)
            case 2:
                process.tags = appended(
                    process.tags,
                    try self.tag(reader.readBytes(tag, in: "Process").range),
                    to: \.tags
                )
            default: try reader.skip(tag.wireType)
            }
        }
        return process
    }

    private mutating func log(_ range: Range<Int>) throws(WireError) -> JaegerBatch.Log {
        var log = JaegerBatch.Log()
        var reader = ProtobufReader(bytes: bytes, range: range)
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1: log.timeNanos = try nanoseconds(reader.readBytes(tag, in: "Log").range)
            case 2: log.fields = appended(log.fields, try self.tag(reader.readBytes(tag, in: "Log").range), to: \.tags)
            default: try reader.skip(tag.wireType)
            }
        }
        return log
    }

    private func tag(_ range: Range<Int>) throws(WireError) -> JaegerBatch.Tag {
        var tag = JaegerBatch.Tag()
        var reader = ProtobufReader(bytes: bytes, range: range)
        while let field = try reader.nextTag() {
            switch field.fieldNumber {
            case 1: tag.key = TextRange(try reader.readBytes(field, in: "KeyValue").range)
            case 2:
                try reader.expect(field, .varint, in: "KeyValue")
                tag.type =
                    switch try reader.readVarint() {
                    case 1: .bool
                    case 2: .long
                    case 3: .double
                    case 4: .binary
                    default: .string
                    }
            case 3, 7: tag.text = TextRange(try reader.readBytes(field, in: "KeyValue").range)
            case 4, 5:
                try reader.expect(field, .varint, in: "KeyValue")
                tag.bits = try reader.readVarint()
            case 6:
                try reader.expect(field, .fixed64, in: "KeyValue")
                tag.bits = try reader.readFixed64()
            default: try reader.skip(field.wireType)
            }
        }
        if tag.type == .bool { tag.bits = tag.bits == 0 ? 0 : 1 }
        return tag
    }

    /// A `Timestamp` or `Duration` in nanoseconds (negative ones are 0).
    private func nanoseconds(_ range: Range<Int>) throws(WireError) -> UInt64 {
        var seconds: Int64 = 0
        var nanos: Int64 = 0
        var reader = ProtobufReader(bytes: bytes, range: range)
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1:
                try reader.expect(tag, .varint, in: "Timestamp")
                seconds = Int64(bitPattern: try reader.readVarint())
            case 2:
                try reader.expect(tag, .varint, in: "Timestamp")
                nanos = Int64(Int32(truncatingIfNeeded: try reader.readVarint()))
            default: try reader.skip(tag.wireType)
            }
        }
        let total = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !total.overflow else { return 0 }
        return UInt64(max(0, total.partialValue &+ nanos))
    }

    /// A trace id of up to 16 big-endian bytes as its high and low halves.
    private static func traceID(_ bytes: Slice<UnsafeRawBufferPointer>) -> (high: UInt64, low: UInt64) {
        (UInt64(bigEndianBytes: bytes.dropLast(8)), UInt64(bigEndianBytes: bytes.suffix(8)))
    }
}
