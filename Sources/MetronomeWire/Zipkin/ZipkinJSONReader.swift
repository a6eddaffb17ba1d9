/// Reads a Zipkin v2 span list with ``JSONScanner``.
struct ZipkinJSONReader {
    var scanner: JSONScanner
    /// Every string read, unescaped, back to back.
    private(set) var text: [UInt8] = []
    private(set) var parsed: [ZipkinSpan] = []
    private var key: [UInt8] = []
    private var scratch: [UInt8] = []

    init(json: UnsafeRawBufferPointer) {
        scanner = JSONScanner(bytes: json, maxSkipDepth: 64)
    }

    /// What the spans, their tags and annotations, the text and the scratch buffers hold, in bytes.
    var heldBytes: Int {
        parsed.capacity * MemoryLayout<ZipkinSpan>.stride + spanHeapBytes + text.capacity + key.capacity
            + scratch.capacity
    }
    private var spanHeapBytes = 0

    /// The top-level array of span objects, with what they hold covered by `memory` (a refusal stops reading with a
    /// failure).
    mutating func spans(memory: inout TranslationMemory) throws(JSONScanner.Failure) {
        if scanner.peek() == UInt8(ascii: "{") {
            throw scanner.failure("expected an array of spans, found an object (Zipkin v2 takes [span, …])")
        }
        try scanner.beginArray()
        var first = true
        while try scanner.nextElement(first: &first) {
            let index = parsed.count
            do throws(JSONScanner.Failure) {
                let span = try span()
                spanHeapBytes += span.heapBytes
                parsed.append(span)
                guard memory.cover(heldBytes) else { throw scanner.failure("refused memory") }
            } catch {
                var error = error
                error.reversedPath.append(.index(index))
                throw error
            }
        }
    }

    private mutating func span() throws(JSONScanner.Failure) -> ZipkinSpan {
        var span = ZipkinSpan()
        try members { (reader: inout ZipkinJSONReader) throws(JSONScanner.Failure) in
            if reader.keyIs("traceId") {
                (span.traceHigh, span.traceLow) = try reader.hexID(maxDigits: 32)
            } else if reader.keyIs("id") {
                span.spanID = try reader.hexID(maxDigits: 16).low
            } else if reader.keyIs("parentId") {
                span.parentID = try reader.hexID(maxDigits: 16).low
            } else if reader.keyIs("name") {
                span.name = try reader.string()
            } else if reader.keyIs("kind") {
                span.kind = try reader.kind()
            } else if reader.keyIs("shared") {
                span.shared = reader.scanner.consumeNull() ? false : try reader.scanner.readBool()
            } else if reader.keyIs("timestamp") {
                span.timestampMicros = try reader.integer()
            } else if reader.keyIs("duration") {
                span.durationMicros = try reader.integer()
            } else if reader.keyIs("localEndpoint") {
                span.local = try reader.endpoint()
            } else if reader.keyIs("remoteEndpoint") {
                span.remote = try reader.endpoint()
            } else if reader.keyIs("tags") {
                span.tags = try reader.tags()
            } else if reader.keyIs("annotations") {
                span.annotations = try reader.annotations()
            } else {
                try reader.scanner.skipValue()
            }
        }
        guard span.traceHigh != 0 || span.traceLow != 0 else {
            throw scanner.failure("span has no traceId (16 or 32 hex digits, not all zero)")
        }
        guard span.spanID != 0 else { throw scanner.failure("span has no id (16 hex digits, not all zero)") }
        return span
    }

    private mutating func endpoint() throws(JSONScanner.Failure) -> ZipkinSpan.Endpoint {
        var endpoint = ZipkinSpan.Endpoint()
        if scanner.consumeNull() { return endpoint }
        try members { (reader: inout ZipkinJSONReader) throws(JSONScanner.Failure) in
            if reader.keyIs("serviceName") {
                endpoint.serviceName = try reader.string()
            } else if reader.keyIs("ipv4") || reader.keyIs("ipv6") {
                let address = try reader.string()
                if endpoint.address.isEmpty { endpoint.address = address }
            } else if reader.keyIs("port") {
                endpoint.port = UInt32(UInt16(truncatingIfNeeded: try reader.integer()))
            } else {
                try reader.scanner.skipValue()
            }
        }
        return endpoint
    }

    /// `tags`: an object of strings (numbers and booleans are kept as their JSON text).
    private mutating func tags() throws(JSONScanner.Failure) -> [(key: TextRange, value: TextRange)] {
        var tags: [(key: TextRange, value: TextRange)] = []
        if scanner.consumeNull() { return tags }
        try members { (reader: inout ZipkinJSONReader) throws(JSONScanner.Failure) in
            let key = reader.store(reader.key)
            tags.append((key, try reader.scalarText()))
        }
        return tags
    }

    private mutating func annotations() throws(JSONScanner.Failure) -> [(timestampMicros: UInt64, value: TextRange)] {
        var annotations: [(timestampMicros: UInt64, value: TextRange)] = []
        if scanner.consumeNull() { return annotations }
        try scanner.beginArray()
        var first = true
        while try scanner.nextElement(first: &first) {
            var annotation: (timestampMicros: UInt64, value: TextRange) = (0, .none)
            try members { (reader: inout ZipkinJSONReader) throws(JSONScanner.Failure) in
                if reader.keyIs("timestamp") {
                    annotation.timestampMicros = try reader.integer()
                } else if reader.keyIs("value") {
                    annotation.value = try reader.string()
                } else {
                    try reader.scanner.skipValue()
                }
            }
            annotations.append(annotation)
        }
        return annotations
    }

    // MARK: Scalars

    /// Reads an object's members, calling `member` with the key in `key`; errors get the key in their path.
    private mutating func members(_ member: (inout ZipkinJSONReader) throws(JSONScanner.Failure) -> Void)
        throws(JSONScanner.Failure)
    {
        try scanner.beginObject()
        var first = true
        while let keyRange = try scanner.nextKey(into: &key, first: &first) {
            do throws(JSONScanner.Failure) {
                try member(&self)
            } catch {
                // The key as sent: nested members reuse `key`.
                throw error.inMember(keyAt: keyRange, of: scanner.bytes)
            }
        }
    }

    /// Whether the current member's name is `name`.
    private func keyIs(_ name: StaticString) -> Bool {
        JSONScanner.bytes(key, equal: name)
    }

    private mutating func store(_ bytes: [UInt8]) -> TextRange {
        let start = text.count
        text += bytes
        return TextRange(from: start, to: text.count)
    }

    /// The OTLP `SpanKind` of `kind`'s value (0, UNSPECIFIED, for `null` or an unknown value).
    private mutating func kind() throws(JSONScanner.Failure) -> UInt8 {
        if scanner.consumeNull() { return 0 }
        scratch.removeAll(keepingCapacity: true)
        try scanner.readString(into: &scratch)
        for (name, kind) in [("SERVER", 2), ("CLIENT", 3), ("PRODUCER", 4), ("CONSUMER", 5)] as [(StaticString, UInt8)]
        where JSONScanner.bytes(scratch, equal: name) {
            return kind
        }
        return 0
    }

    /// A string (`null`: empty), stored in ``text``.
    private mutating func string() throws(JSONScanner.Failure) -> TextRange {
        if scanner.consumeNull() { return .none }
        let start = text.count
        try scanner.readString(into: &text)
        return TextRange(from: start, to: text.count)
    }

    /// A tag value: a string, or a number's or boolean's JSON text.
    private mutating func scalarText() throws(JSONScanner.Failure) -> TextRange {
        switch scanner.peek() {
        case UInt8(ascii: "\"")?: return try string()
        case UInt8(ascii: "t")?, UInt8(ascii: "f")?:
            return store(Array((try scanner.readBool() ? "true" : "false").utf8))
        case UInt8(ascii: "n")?:
            _ = scanner.consumeNull()
            return .none
        default:
            let range = try scanner.readNumber()
            return store(Array(scanner.bytes[range]))
        }
    }

    /// A non-negative integer: a JSON number without fraction or exponent (`null`: 0).
    private mutating func integer() throws(JSONScanner.Failure) -> UInt64 {
        if scanner.consumeNull() { return 0 }
        let range = try scanner.readNumber()
        var value: UInt64 = 0
        for byte in scanner.bytes[range] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else {
                throw scanner.failure(
                    "expected a non-negative integer, found \(ClientText.quoted(scanner.bytes[range]))"
                )
            }
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow && !overflow2 else {
                throw scanner.failure("\(ClientText.quoted(scanner.bytes[range])) does not fit in 64 bits")
            }
            value = sum
        }
        return value
    }

    /// A hex id of at most `maxDigits` digits as its big-endian high and low 64 bits (an odd count reads as if it had
    /// a leading zero; a short id is widened with zeros first); `null` or empty is no id (0).
    private mutating func hexID(maxDigits: Int) throws(JSONScanner.Failure) -> (high: UInt64, low: UInt64) {
        if scanner.consumeNull() { return (0, 0) }
        scratch.removeAll(keepingCapacity: true)
        try scanner.readString(into: &scratch)
        guard scratch.count <= maxDigits else {
            throw scanner.failure("\(ClientText.quoted(scratch)) is longer than \(maxDigits) hex digits")
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for digit in scratch {
            guard let value = HexDigits.value(of: digit) else {
                throw scanner.failure("\(ClientText.quoted(scratch)) is not hex")
            }
            high = high << 4 | low >> 60
            low = low << 4 | UInt64(value)
        }
        return (high, low)
    }
}
