/// Reads Jaeger's Thrift `Batch` (`jaeger.thrift`) into a ``JaegerBatch``, in either Thrift protocol: the body of
/// `POST /api/traces` (binary), or the `emitBatch` message of an agent's UDP datagram (compact or binary).
///
/// Field ids: `Batch.process = 1, spans = 2`; `Process.serviceName = 1, tags = 2`; `Span.traceIdLow = 1,
/// traceIdHigh = 2, spanId = 3, parentSpanId = 4, operationName = 5, references = 6, startTime = 8, duration = 9,
/// tags = 10, logs = 11`; `SpanRef.refType = 1, traceIdLow = 2, traceIdHigh = 3, spanId = 4`; `Tag.key = 1, vType = 2,
/// vStr = 3, vDouble = 4, vBool = 5, vLong = 6, vBinary = 7`; `Log.timestamp = 1, fields = 2`. Times are
/// microseconds. A field of another type than its schema's is skipped, as Thrift readers do.
struct JaegerThriftReader {
    private var reader: ThriftReader
    private(set) var batch = JaegerBatch()

    init(bytes: UnsafeRawBufferPointer, protocol thriftProtocol: ThriftReader.ThriftProtocol) {
        reader = ThriftReader(bytes: bytes, protocol: thriftProtocol)
    }

    /// Reads a `Batch` struct that ends where the input ends.
    mutating func readBatch(memory: inout TranslationMemory) throws(ThriftReader.Failure) {
        try batchStruct(memory: &memory)
        guard reader.isAtEnd else { throw reader.failure("bytes after the end of the Batch") }
    }

    /// Reads an agent's `emitBatch(1: Batch batch)` message.
    mutating func readAgentMessage(
        in bytes: UnsafeRawBufferPointer,
        memory: inout TranslationMemory
    ) throws(ThriftReader.Failure) {
        let (name, _) = try reader.readMessageHeader()
        let method = bytes[name]
        guard method.elementsEqual("emitBatch".utf8) else {
            if method.elementsEqual("emitZipkinBatch".utf8) {
                throw reader.failure("emitZipkinBatch (Zipkin spans over the Jaeger agent protocol) is not accepted")
            }
            throw reader.failure(
                "unknown Jaeger agent method \(ClientText.quoted(String(decoding: method, as: UTF8.self)))"
            )
        }
        reader.beginStruct()
        var found = false
        while let field = try reader.nextField() {
            if field.id == 1 && field.type == .structure && !found {
                try batchStruct(memory: &memory)
                found = true
            } else {
                try reader.skip(field.type)
            }
        }
        guard found else { throw reader.failure("emitBatch has no batch") }
    }

    private mutating func batchStruct(memory: inout TranslationMemory) throws(ThriftReader.Failure) {
        batch.processes = [JaegerBatch.Process()]
        reader.beginStruct()
        while let field = try reader.nextField() {
            switch (field.id, field.type) {
            case (1, .structure): batch.processes[0] = try process()
            case (2, .list):
                let (element, count) = try reader.readListHeader()
                guard element == .structure else {
                    try skipElements(element, count)
                    continue
                }
                for _ in 0..<count {
                    let span = try span()
                    guard span.hasIDs else {
                        throw reader.failure("span \(batch.spans.count) has no traceIdLow/traceIdHigh or spanId")
                    }
                    batch.spans.append(span)
                    guard memory.cover(batch.heldBytes) else { throw reader.failure("refused memory") }
                }
            default: try reader.skip(field.type)
            }
        }
    }

    private mutating func process() throws(ThriftReader.Failure) -> JaegerBatch.Process {
        var process = JaegerBatch.Process()
        reader.beginStruct()
        while let field = try reader.nextField() {
            switch (field.id, field.type) {
            case (1, .string): process.serviceName = TextRange(try reader.readBinary())
            case (2, .list): process.tags = try tags()
            default: try reader.skip(field.type)
            }
        }
        return process
    }

    private mutating func span() throws(ThriftReader.Failure) -> JaegerBatch.Span {
        var span = JaegerBatch.Span()
        reader.beginStruct()
        while let field = try reader.nextField() {
            switch (field.id, field.type) {
            case (1, .i64): span.traceLow = UInt64(bitPattern: try reader.readI64())
            case (2, .i64): span.traceHigh = UInt64(bitPattern: try reader.readI64())
            case (3, .i64): span.spanID = UInt64(bitPattern: try reader.readI64())
            case (4, .i64): span.parentID = UInt64(bitPattern: try reader.readI64())
            case (5, .string): span.name = TextRange(try reader.readBinary())
            case (6, .list): span.references = try references()
            case (8, .i64): span.startNanos = UInt64(bitPattern: try reader.readI64()) &* 1000
            case (9, .i64): span.durationNanos = UInt64(bitPattern: try reader.readI64()) &* 1000
            case (10, .list): span.tags = try tags()
            case (11, .list): span.logs = try logs()
            default: try reader.skip(field.type)
            }
        }
        return span
    }

    private mutating func references() throws(ThriftReader.Failure) -> Range<UInt32> {
        let (element, count) = try reader.readListHeader()
        guard element == .structure else {
            try skipElements(element, count)
            return 0..<0
        }
        let start = batch.references.count
        for _ in 0..<count {
            var reference = JaegerBatch.Reference()
            reader.beginStruct()
            while let field = try reader.nextField() {
                switch (field.id, field.type) {
                case (1, .i32): reference.type = try reader.readI32() == 1 ? 1 : 0
                case (2, .i64): reference.traceLow = UInt64(bitPattern: try reader.readI64())
                case (3, .i64): reference.traceHigh = UInt64(bitPattern: try reader.readI64())
                case (4, .i64): reference.spanID = UInt64(bitPattern: try reader.readI64())
                default: try reader.skip(field.type)
                }
            }
            batch.references.append(reference)
        }
        return JaegerBatch.range(from: start, to: batch.references.count)
    }

    private mutating func logs() throws(ThriftReader.Failure) -> Range<UInt32> {
        let (element, count) = try reader.readListHeader()
        guard element == .structure else {
            try skipElements(element, count)
            return 0..<0
        }
        let start = batch.logs.count
        for _ in 0..<count {
            var log = JaegerBatch.Log()
            reader.beginStruct()
            while let field = try reader.nextField() {
                switch (field.id, field.type) {
                case (1, .i64): log.timeNanos = UInt64(bitPattern: try reader.readI64()) &* 1000
                case (2, .list): log.fields = try tags()
                default: try reader.skip(field.type)
                }
            }
            batch.logs.append(log)
        }
        return JaegerBatch.range(from: start, to: batch.logs.count)
    }

    /// A `list<Tag>`, appended to the batch's tags.
    private mutating func tags() throws(ThriftReader.Failure) -> Range<UInt32> {
        let (element, count) = try reader.readListHeader()
        guard element == .structure else {
            try skipElements(element, count)
            return 0..<0
        }
        let start = batch.tags.count
        for _ in 0..<count {
            var tag = JaegerBatch.Tag()
            reader.beginStruct()
            while let field = try reader.nextField() {
                switch (field.id, field.type) {
                case (1, .string): tag.key = TextRange(try reader.readBinary())
                case (2, .i32):
                    tag.type = JaegerBatch.Tag.ValueType(rawValue: UInt8(clamping: try reader.readI32())) ?? .string
                case (3, .string), (7, .string): tag.text = TextRange(try reader.readBinary())
                case (4, .double): tag.bits = try reader.readDoubleBits()
                case (5, .bool): tag.bits = try reader.readBool() ? 1 : 0
                case (6, .i64): tag.bits = UInt64(bitPattern: try reader.readI64())
                default: try reader.skip(field.type)
                }
            }
            batch.tags.append(tag)
        }
        return JaegerBatch.range(from: start, to: batch.tags.count)
    }

    private mutating func skipElements(_ element: ThriftType, _ count: Int) throws(ThriftReader.Failure) {
        for _ in 0..<count { try reader.skipElement(element, depth: 1) }
    }
}

extension TextRange {
    /// The range of bytes `range` of an input (which ``TranslationError/maxInputBytes`` keeps under 4 GiB).
    init(_ range: Range<Int>) {
        self.init(start: UInt32(range.lowerBound), count: UInt32(range.count))
    }
}
