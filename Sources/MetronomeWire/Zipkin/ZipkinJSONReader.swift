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

    /// The top-level array of span objects.
    mutating func spans() throws(JSONScanner.Failure) {
        if scanner.peek() == UInt8(ascii: "{") {
            throw scanner.failure("expected an array of spans, found an object (Zipkin v2 takes [span, …])")
        }
        try scanner.beginArray()
        var first = true
        while try scanner.nextElement(first: &first) {
            let index = parsed.count
            do throws(JSONScanner.Failure) {
                parsed.append(try span())
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
            switch reader.keyName {
            case "traceId": span.traceID = try reader.hexID(maxBytes: 16, widenTo: 16)
            case "id": span.spanID = try reader.hexID(maxBytes: 8, widenTo: 8)
            case "parentId": span.parentID = try reader.hexID(maxBytes: 8, widenTo: 8)
            case "name": span.name = try reader.string()
            case "kind": span.kind = ZipkinSpan.otlpKind(try reader.kindName())
            case "timestamp": span.timestampMicros = try reader.integer()
            case "duration": span.durationMicros = try reader.integer()
            case "localEndpoint": span.local = try reader.endpoint()
            case "remoteEndpoint": span.remote = try reader.endpoint()
            case "tags": span.tags = try reader.tags()
            case "annotations": span.annotations = try reader.annotations()
            default: try reader.scanner.skipValue()
            }
        }
        guard span.traceID.count == 16, span.traceID.contains(where: { $0 != 0 }) else {
            throw scanner.failure("span has no traceId (16 or 32 hex digits, not all zero)")
        }
        guard span.spanID.count == 8, span.spanID.contains(where: { $0 != 0 }) else {
            throw scanner.failure("span has no id (16 hex digits, not all zero)")
        }
        return span
    }

    private mutating func endpoint() throws(JSONScanner.Failure) -> ZipkinSpan.Endpoint {
        var endpoint = ZipkinSpan.Endpoint()
        if scanner.consumeNull() { return endpoint }
        try members { (reader: inout ZipkinJSONReader) throws(JSONScanner.Failure) in
            switch reader.keyName {
            case "serviceName": endpoint.serviceName = try reader.string()
            case "ipv4", "ipv6":
                let address = try reader.string()
                if endpoint.address.isEmpty { endpoint.address = address }
            case "port": endpoint.port = try reader.integer()
            default: try reader.scanner.skipValue()
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
                switch reader.keyName {
                case "timestamp": annotation.timestampMicros = try reader.integer()
                case "value": annotation.value = try reader.string()
                default: try reader.scanner.skipValue()
                }
            }
            annotations.append(annotation)
        }
        return annotations
    }

    // MARK: Scalars

    /// Reads an object's members, calling `member` with the key in ``keyName``; errors get the key in their path.
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

    /// The current member's name (Zipkin's field names are short ASCII).
    private var keyName: String { String(decoding: key, as: UTF8.self) }

    private mutating func store(_ bytes: [UInt8]) -> TextRange {
        let range = TextRange(start: text.count, count: bytes.count)
        text += bytes
        return range
    }

    /// `kind`'s value (`null`: none), not stored.
    private mutating func kindName() throws(JSONScanner.Failure) -> String {
        if scanner.consumeNull() { return "" }
        scratch.removeAll(keepingCapacity: true)
        try scanner.readString(into: &scratch)
        return String(decoding: scratch.prefix(16), as: UTF8.self)
    }

    /// A string (`null`: empty), stored in ``text``.
    private mutating func string() throws(JSONScanner.Failure) -> TextRange {
        if scanner.consumeNull() { return .none }
        let start = text.count
        try scanner.readString(into: &text)
        return TextRange(start: start, count: text.count - start)
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

    /// A hex id of at most `maxBytes` bytes (an odd digit count is read with a leading zero), widened with leading
    /// zeros to `widenTo` bytes; `null` or empty is no id.
    private mutating func hexID(maxBytes: Int, widenTo: Int) throws(JSONScanner.Failure) -> [UInt8] {
        if scanner.consumeNull() { return [] }
        scratch.removeAll(keepingCapacity: true)
        try scanner.readString(into: &scratch)
        guard !scratch.isEmpty else { return [] }
        guard scratch.count <= 2 * maxBytes else {
            throw scanner.failure("\(ClientText.quoted(scratch.prefix(64))) is longer than \(2 * maxBytes) hex digits")
        }
        var bytes = [UInt8](repeating: 0, count: widenTo)
        var position = widenTo - 1
        var index = scratch.count
        while index > 0 {
            guard let low = HexDigits.value(of: scratch[index - 1]) else {
                throw scanner.failure("\(ClientText.quoted(scratch)) is not hex")
            }
            var byte = low
            if index >= 2 {
                guard let high = HexDigits.value(of: scratch[index - 2]) else {
                    throw scanner.failure("\(ClientText.quoted(scratch)) is not hex")
                }
                byte |= high << 4
            }
            bytes[position] = byte
            position -= 1
            index -= 2
        }
        return bytes
    }
}
