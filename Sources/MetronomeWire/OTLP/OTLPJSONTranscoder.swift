import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Converts an OTLP/JSON `ExportTraceServiceRequest` to its protobuf encoding, so that JSON requests are indexed by
/// the same ``SpanBatch`` decoder as protobuf ones.
///
/// One pass over the bytes with ``JSONScanner``, writing protobuf as it reads: no tree of the document is built, so
/// memory is the output (no larger than the input, give or take a few bytes per message) plus small scratch buffers,
/// whatever the document's shape. Nesting is bounded: attribute values by ``SpanBatch/Limits/maxValueDepth``, unknown
/// fields' values by 3 × that + 16 levels. Errors say what is wrong, where (line and column) and at which JSON path.
///
/// Follows the OTLP/JSON rules, which differ from protobuf's canonical JSON mapping: trace and span ids are hex, not
/// base64; enums may be integers or names; 64-bit integers may be numbers or strings; unknown fields are ignored;
/// `null` means absent. Events and links are carried over too, so ``SpanRecord/encodedSize`` matches what a protobuf
/// client would send.
public enum OTLPJSONTranscoder {
    /// Why a JSON body is not a valid OTLP request: the message names the path, line and column.
    public struct Error: Swift.Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Returns the protobuf encoding of the OTLP/JSON request in `json`.
    public static func protobuf(fromJSON json: UnsafeRawBufferPointer, limits: SpanBatch.Limits = .init())
        throws(Error) -> [UInt8]
    {
        var transcoding = Transcoding(json: json, limits: limits)
        do throws(JSONScanner.Failure) {
            try transcoding.request()
            try transcoding.scanner.expectEnd()
        } catch {
            let (line, column) = error.location(in: json)
            let path = error.path.map { " at \($0)" } ?? ""
            throw Error(description: "invalid OTLP/JSON\(path) (line \(line), column \(column)): \(error.message)")
        }
        return transcoding.writer.bytes
    }

    /// Returns the protobuf encoding of the OTLP/JSON request in `json`.
    public static func protobuf(fromJSON json: Data, limits: SpanBatch.Limits = .init()) throws(Error) -> [UInt8] {
        let result: Result<[UInt8], Error> = json.withUnsafeBytes { bytes in
            do throws(Error) {
                return .success(try protobuf(fromJSON: bytes, limits: limits))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

/// The OTLP messages that spans carry, as the transcoder reads them.
private enum Message {
    case resourceSpans, resource, scopeSpans, scope, span, event, link, status, keyValue, anyValue, arrayValue
    case keyValueList
}

/// One transcoding: the scanner over the JSON, the protobuf being written and reused scratch buffers.
private struct Transcoding {
    var scanner: JSONScanner
    var writer: ProtobufWriter
    let limits: SpanBatch.Limits
    /// The current member name, unescaped.
    private var key: [UInt8] = []
    /// A string value, unescaped.
    private var text: [UInt8] = []
    /// Decoded id bytes, or a number's text with a terminating NUL for `strtod`.
    private var scratch: [UInt8] = []

    init(json: UnsafeRawBufferPointer, limits: SpanBatch.Limits) {
        scanner = JSONScanner(bytes: json, maxSkipDepth: 3 * limits.maxValueDepth + 16)
        writer = ProtobufWriter(capacity: json.count / 2)
        self.limits = limits
    }

    /// The top-level `ExportTraceServiceRequest` object.
    mutating func request() throws(JSONScanner.Failure) {
        try members(of: nil, depth: 0)
    }

    // MARK: Messages

    /// A nested message as field `field`: `null` is absent, an object is written with its known members.
    private mutating func message(_ field: UInt32, _ message: Message, depth: Int) throws(JSONScanner.Failure) {
        if scanner.consumeNull() { return }
        let start = writer.beginMessage(field)
        try members(of: message, depth: depth)
        writer.endMessage(start)
    }

    /// A repeated message field: `null` or an array of objects.
    private mutating func repeated(_ field: UInt32, _ message: Message, depth: Int) throws(JSONScanner.Failure) {
        if scanner.consumeNull() { return }
        try scanner.beginArray()
        var first = true
        var index = 0
        while try scanner.nextElement(first: &first) {
            do throws(JSONScanner.Failure) {
                try self.message(field, message, depth: depth)
            } catch {
                var error = error
                error.reversedPath.append(.index(index))
                throw error
            }
            index += 1
        }
    }

    /// The members of an object of type `message` (nil: the request), each written or skipped.
    private mutating func members(of message: Message?, depth: Int) throws(JSONScanner.Failure) {
        try scanner.beginObject()
        var first = true
        while let keyRange = try scanner.nextKey(into: &key, first: &first) {
            do throws(JSONScanner.Failure) {
                if let message {
                    try member(of: message, depth: depth)
                } else if keyIs("resourceSpans") {
                    try repeated(1, .resourceSpans, depth: 0)
                } else {
                    try scanner.skipValue()
                }
            } catch {
                throw error.inMember(keyAt: keyRange, of: scanner.bytes)
            }
        }
    }

    /// One member (named by `key`) of a `message` object, per the OTLP schema's field numbers.
    private mutating func member(of message: Message, depth: Int) throws(JSONScanner.Failure) {
        switch message {
        case .resourceSpans:
            if keyIs("resource") { return try self.message(1, .resource, depth: 0) }
            if keyIs("scopeSpans") { return try repeated(2, .scopeSpans, depth: 0) }
            if keyIs("schemaUrl") { return try string(3) }
        case .resource:
            if keyIs("attributes") { return try repeated(1, .keyValue, depth: 1) }
            if keyIs("droppedAttributesCount") { return try varint(2) }
        case .scopeSpans:
            if keyIs("scope") { return try self.message(1, .scope, depth: 0) }
            if keyIs("spans") { return try repeated(2, .span, depth: 0) }
            if keyIs("schemaUrl") { return try string(3) }
        case .scope:
            if keyIs("name") { return try string(1) }
            if keyIs("version") { return try string(2) }
            if keyIs("attributes") { return try repeated(3, .keyValue, depth: 1) }
            if keyIs("droppedAttributesCount") { return try varint(4) }
        case .span:
            if keyIs("traceId") { return try hexID(1) }
            if keyIs("spanId") { return try hexID(2) }
            if keyIs("traceState") { return try string(3) }
            if keyIs("parentSpanId") { return try hexID(4) }
            if keyIs("name") { return try string(5) }
            if keyIs("kind") { return try enumeration(6, names: OTLPEnumNames.spanKinds) }
            if keyIs("startTimeUnixNano") { return try fixed64(7) }
            if keyIs("endTimeUnixNano") { return try fixed64(8) }
            if keyIs("attributes") { return try repeated(9, .keyValue, depth: 1) }
            if keyIs("droppedAttributesCount") { return try varint(10) }
            if keyIs("events") { return try repeated(11, .event, depth: 0) }
            if keyIs("droppedEventsCount") { return try varint(12) }
            if keyIs("links") { return try repeated(13, .link, depth: 0) }
            if keyIs("droppedLinksCount") { return try varint(14) }
            if keyIs("status") { return try self.message(15, .status, depth: 0) }
            if keyIs("flags") { return try fixed32(16) }
        case .event:
            if keyIs("timeUnixNano") { return try fixed64(1) }
            if keyIs("name") { return try string(2) }
            if keyIs("attributes") { return try repeated(3, .keyValue, depth: 1) }
            if keyIs("droppedAttributesCount") { return try varint(4) }
        case .link:
            if keyIs("traceId") { return try hexID(1) }
            if keyIs("spanId") { return try hexID(2) }
            if keyIs("traceState") { return try string(3) }
            if keyIs("attributes") { return try repeated(4, .keyValue, depth: 1) }
            if keyIs("droppedAttributesCount") { return try varint(5) }
            if keyIs("flags") { return try fixed32(6) }
        case .status:
            if keyIs("message") { return try string(2) }
            if keyIs("code") { return try enumeration(3, names: OTLPEnumNames.statusCodes) }
        case .keyValue:
            if keyIs("key") { return try string(1) }
            if keyIs("value") { return try self.message(2, .anyValue, depth: depth) }
        case .anyValue:
            // Oneof members are written even when they hold their type's default: they say which member is set.
            if keyIs("stringValue") { return try string(1, keepEmpty: true) }
            if keyIs("boolValue") { return try bool(2) }
            if keyIs("intValue") { return try int64(3) }
            if keyIs("doubleValue") { return try double(4) }
            if keyIs("arrayValue") || keyIs("kvlistValue") {
                guard depth < limits.maxValueDepth else {
                    throw scanner.failure(
                        "attribute value nests array or key-value-list values deeper than \(limits.maxValueDepth) levels"
                    )
                }
                let isArray = keyIs("arrayValue")
                return try self.message(isArray ? 5 : 6, isArray ? .arrayValue : .keyValueList, depth: depth)
            }
            if keyIs("bytesValue") { return try base64(7) }
        case .arrayValue:
            if keyIs("values") { return try repeated(1, .anyValue, depth: depth + 1) }
        case .keyValueList:
            if keyIs("values") { return try repeated(1, .keyValue, depth: depth + 1) }
        }
        try scanner.skipValue()
    }

    private func keyIs(_ name: StaticString) -> Bool {
        JSONScanner.bytes(key, equal: name)
    }

    // MARK: Scalars

    /// A string field, left out when empty unless `keepEmpty`.
    private mutating func string(_ field: UInt32, keepEmpty: Bool = false) throws(JSONScanner.Failure) {
        if scanner.consumeNull() { return }
        text.removeAll(keepingCapacity: true)
        try scanner.readString(into: &text)
        if !text.isEmpty || keepEmpty { writer.writeBytesField(field, text) }
    }

    /// Trace or span id bytes, sent as hex; left out when empty.
    private mutating func hexID(_ field: UInt32) throws(JSONScanner.Failure) {
        if scanner.consumeNull() { return }
        text.removeAll(keepingCapacity: true)
        try scanner.readString(into: &text)
        scratch.removeAll(keepingCapacity: true)
        var index = 0
        while index + 1 < text.count, let high = HexDigits.value(of: text[index]),
            let low = HexDigits.value(of: text[index + 1])
        {
            scratch.append(high << 4 | low)
            index += 2
        }
        guard index == text.count else { throw scanner.failure("\(ClientText.quoted(text)) is not hex") }
        if !scratch.isEmpty { writer.writeBytesField(field, scratch) }
    }

    /// An unsigned 64-bit field (a number or a decimal string; negative values keep their two's-complement bits),
    /// left out when 0.
    private mutating func varint(_ field: UInt32) throws(JSONScanner.Failure) {
        guard let value = try integer() else { return }
        if value != 0 { writer.writeVarintField(field, value) }
    }

    private mutating func fixed64(_ field: UInt32) throws(JSONScanner.Failure) {
        guard let value = try integer(), value != 0 else { return }
        writer.writeTag(field, .fixed64)
        writer.writeFixed64(value)
    }

    private mutating func fixed32(_ field: UInt32) throws(JSONScanner.Failure) {
        guard let value = try integer(), value != 0 else { return }
        writer.writeTag(field, .fixed32)
        writer.writeFixed32(UInt32(truncatingIfNeeded: value))
    }

    /// An `AnyValue.int_value`: written even when 0.
    private mutating func int64(_ field: UInt32) throws(JSONScanner.Failure) {
        guard let value = try integer() else { return }
        writer.writeVarintField(field, value)
    }

    private mutating func bool(_ field: UInt32) throws(JSONScanner.Failure) {
        if scanner.consumeNull() { return }
        writer.writeVarintField(field, try scanner.readBool() ? 1 : 0)
    }

    /// An enum sent as its number or its name; left out when 0.
    private mutating func enumeration(_ field: UInt32, names: [String]) throws(JSONScanner.Failure) {
        if scanner.consumeNull() { return }
        let value: UInt64
        if scanner.atString() {
            text.removeAll(keepingCapacity: true)
            try scanner.readString(into: &text)
            guard let index = names.firstIndex(where: { $0.utf8.elementsEqual(text) }) else {
                throw scanner.failure(
                    "\(ClientText.quoted(text)) is not a number or one of \(names.joined(separator: ", "))"
                )
            }
            value = UInt64(index)
        } else {
            let range = try scanner.readNumber()
            guard let number = Self.parseInteger(scanner.bytes[range]) else {
                throw scanner.failure("expected an integer or one of \(names.joined(separator: ", "))")
            }
            value = number
        }
        if value != 0 { writer.writeVarintField(field, value) }
    }

    /// A double sent as a JSON number or as a string (`"NaN"`, `"Infinity"`, `"-Infinity"`, `"1.5"`).
    private mutating func double(_ field: UInt32) throws(JSONScanner.Failure) {
        if scanner.consumeNull() { return }
        scratch.removeAll(keepingCapacity: true)
        if scanner.atString() {
            text.removeAll(keepingCapacity: true)
            try scanner.readString(into: &text)
            switch String(decoding: text.prefix(16), as: UTF8.self) {
            case "NaN": return writer.writeDoubleField(field, .nan)
            case "Infinity": return writer.writeDoubleField(field, .infinity)
            case "-Infinity": return writer.writeDoubleField(field, -.infinity)
            default: scratch.append(contentsOf: text)
            }
        } else {
            scratch.append(contentsOf: scanner.bytes[try scanner.readNumber()])
        }
        guard let value = Self.parseDouble(&scratch) else {
            throw scanner.failure("expected a number, found \(ClientText.quoted(scratch))")
        }
        writer.writeDoubleField(field, value)
    }

    /// `bytesValue`: base64 text.
    private mutating func base64(_ field: UInt32) throws(JSONScanner.Failure) {
        if scanner.consumeNull() { return }
        text.removeAll(keepingCapacity: true)
        try scanner.readString(into: &text)
        guard let data = Data(base64Encoded: Data(text)) else { throw scanner.failure("bytesValue is not base64") }
        writer.writeBytesField(field, data)
    }

    /// A 64-bit integer sent as a JSON number or a decimal string; nil for `null`.
    private mutating func integer() throws(JSONScanner.Failure) -> UInt64? {
        if scanner.consumeNull() { return nil }
        if scanner.atString() {
            text.removeAll(keepingCapacity: true)
            try scanner.readString(into: &text)
            guard let value = Self.parseInteger(text[...]) else {
                throw scanner.failure("expected an integer, found \(ClientText.quoted(text))")
            }
            return value
        }
        let range = try scanner.readNumber()
        guard let value = Self.parseInteger(scanner.bytes[range]) else {
            throw scanner.failure("expected a 64-bit integer, found \(ClientText.quoted(scanner.bytes[range]))")
        }
        return value
    }

    /// Decimal digits with an optional `-`, within UInt64 (or Int64 when negative, kept as its bit pattern).
    private static func parseInteger<Digits: Collection<UInt8>>(_ digits: Digits) -> UInt64? {
        var rest = digits[...]
        let negative = rest.first == UInt8(ascii: "-")
        if negative { rest = rest.dropFirst() }
        guard !rest.isEmpty else { return nil }
        var value: UInt64 = 0
        for digit in rest {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit) else { return nil }
            let (times10, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times10.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
            guard !overflow && !carry else { return nil }
            value = sum
        }
        guard negative else { return value }
        guard value <= UInt64(Int64.max) + 1 else { return nil }
        return UInt64(bitPattern: 0 &- Int64(truncatingIfNeeded: value))
    }

    /// Parses the number text in `text` (NUL-terminated in place) with `strtod`; nil unless all of it is a number.
    private static func parseDouble(_ text: inout [UInt8]) -> Double? {
        guard !text.isEmpty, text.count < 512, !text.contains(0) else { return nil }
        text.append(0)
        return text.withUnsafeBufferPointer { buffer -> Double? in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                var end: UnsafeMutablePointer<CChar>?
                let value = strtod(chars.baseAddress!, &end)
                guard let end, end == UnsafeMutablePointer(mutating: chars.baseAddress! + chars.count - 1) else {
                    return nil
                }
                return value
            }
        }
    }
}
