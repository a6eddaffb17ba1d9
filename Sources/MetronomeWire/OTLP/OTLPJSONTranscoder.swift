import Foundation

/// Converts an OTLP/JSON `ExportTraceServiceRequest` to its protobuf encoding, so that JSON requests are indexed by
/// the same ``SpanBatch`` decoder as protobuf ones.
///
/// Follows the OTLP/JSON rules, which differ from protobuf's canonical JSON mapping: trace and span ids are hex, not
/// base64; enums may be integers or names; 64-bit integers may be numbers or strings; unknown fields are ignored.
/// Events and links are carried over too, so ``SpanRecord/encodedSize`` matches what a protobuf client would send.
public enum OTLPJSONTranscoder {
    /// Why a JSON body is not a valid OTLP request; the message names the field.
    public struct Error: Swift.Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Returns the protobuf encoding of the OTLP/JSON request in `json`.
    public static func protobuf(fromJSON json: Data) throws(Error) -> [UInt8] {
        let request: JSONRequest
        do {
            request = try JSONDecoder().decode(JSONRequest.self, from: json)
        } catch let error as Error {
            throw error
        } catch let DecodingError.dataCorrupted(context) {
            throw Error(description: "invalid OTLP/JSON\(path(context.codingPath)): \(context.debugDescription)")
        } catch let DecodingError.typeMismatch(_, context) {
            throw Error(description: "invalid OTLP/JSON\(path(context.codingPath)): \(context.debugDescription)")
        } catch let DecodingError.keyNotFound(key, context) {
            throw Error(description: "invalid OTLP/JSON\(path(context.codingPath)): missing \(key.stringValue)")
        } catch let DecodingError.valueNotFound(_, context) {
            throw Error(description: "invalid OTLP/JSON\(path(context.codingPath)): \(context.debugDescription)")
        } catch {
            throw Error(description: "invalid OTLP/JSON: \(error)")
        }
        var writer = ProtobufWriter(capacity: json.count)
        for resourceSpans in request.resourceSpans ?? [] {
            writer.writeMessage(1) { resourceSpans.write(to: &$0) }
        }
        return writer.bytes
    }

    static func path(_ codingPath: [any CodingKey]) -> String {
        guard !codingPath.isEmpty else { return "" }
        let parts = codingPath.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }
        return " at " + parts.joined().dropFirst()
    }
}

// MARK: - The OTLP/JSON schema (the subset of fields spans carry)

private struct JSONRequest: Decodable {
    var resourceSpans: [JSONResourceSpans]?
}

private struct JSONResourceSpans: Decodable {
    var resource: JSONResource?
    var scopeSpans: [JSONScopeSpans]?
    var schemaUrl: String?

    func write(to writer: inout ProtobufWriter) {
        if let resource { writer.writeMessage(1) { resource.write(to: &$0) } }
        for scope in scopeSpans ?? [] { writer.writeMessage(2) { scope.write(to: &$0) } }
        if let schemaUrl, !schemaUrl.isEmpty { writer.writeStringField(3, schemaUrl) }
    }
}

private struct JSONResource: Decodable {
    var attributes: [JSONKeyValue]?
    var droppedAttributesCount: JSONInteger?

    func write(to writer: inout ProtobufWriter) {
        for attribute in attributes ?? [] { writer.writeMessage(1) { attribute.write(to: &$0) } }
        if let count = droppedAttributesCount?.value, count != 0 { writer.writeVarintField(2, count) }
    }
}

private struct JSONScopeSpans: Decodable {
    var scope: JSONScope?
    var spans: [JSONSpan]?
    var schemaUrl: String?

    func write(to writer: inout ProtobufWriter) {
        if let scope { writer.writeMessage(1) { scope.write(to: &$0) } }
        for span in spans ?? [] { writer.writeMessage(2) { span.write(to: &$0) } }
        if let schemaUrl, !schemaUrl.isEmpty { writer.writeStringField(3, schemaUrl) }
    }
}

private struct JSONScope: Decodable {
    var name: String?
    var version: String?
    var attributes: [JSONKeyValue]?

    func write(to writer: inout ProtobufWriter) {
        if let name, !name.isEmpty { writer.writeStringField(1, name) }
        if let version, !version.isEmpty { writer.writeStringField(2, version) }
        for attribute in attributes ?? [] { writer.writeMessage(3) { attribute.write(to: &$0) } }
    }
}

private struct JSONSpan: Decodable {
    var traceId: JSONHexID?
    var spanId: JSONHexID?
    var traceState: String?
    var parentSpanId: JSONHexID?
    var flags: JSONInteger?
    var name: String?
    var kind: JSONEnum<SpanKindNames>?
    var startTimeUnixNano: JSONInteger?
    var endTimeUnixNano: JSONInteger?
    var attributes: [JSONKeyValue]?
    var droppedAttributesCount: JSONInteger?
    var events: [JSONEvent]?
    var droppedEventsCount: JSONInteger?
    var links: [JSONLink]?
    var droppedLinksCount: JSONInteger?
    var status: JSONStatus?

    func write(to writer: inout ProtobufWriter) {
        if let id = traceId?.bytes, !id.isEmpty { writer.writeBytesField(1, id) }
        if let id = spanId?.bytes, !id.isEmpty { writer.writeBytesField(2, id) }
        if let traceState, !traceState.isEmpty { writer.writeStringField(3, traceState) }
        if let id = parentSpanId?.bytes, !id.isEmpty { writer.writeBytesField(4, id) }
        if let name, !name.isEmpty { writer.writeStringField(5, name) }
        if let kind = kind?.value, kind != 0 { writer.writeVarintField(6, UInt64(bitPattern: kind)) }
        if let start = startTimeUnixNano?.value, start != 0 {
            writer.writeTag(7, .fixed64)
            writer.writeFixed64(start)
        }
        if let end = endTimeUnixNano?.value, end != 0 {
            writer.writeTag(8, .fixed64)
            writer.writeFixed64(end)
        }
        for attribute in attributes ?? [] { writer.writeMessage(9) { attribute.write(to: &$0) } }
        if let count = droppedAttributesCount?.value, count != 0 { writer.writeVarintField(10, count) }
        for event in events ?? [] { writer.writeMessage(11) { event.write(to: &$0) } }
        if let count = droppedEventsCount?.value, count != 0 { writer.writeVarintField(12, count) }
        for link in links ?? [] { writer.writeMessage(13) { link.write(to: &$0) } }
        if let count = droppedLinksCount?.value, count != 0 { writer.writeVarintField(14, count) }
        if let status { writer.writeMessage(15) { status.write(to: &$0) } }
        if let flags = flags?.value, flags != 0 {
            writer.writeTag(16, .fixed32)
            writer.writeFixed32(UInt32(truncatingIfNeeded: flags))
        }
    }
}

private struct JSONEvent: Decodable {
    var timeUnixNano: JSONInteger?
    var name: String?
    var attributes: [JSONKeyValue]?
    var droppedAttributesCount: JSONInteger?

    func write(to writer: inout ProtobufWriter) {
        if let time = timeUnixNano?.value, time != 0 {
            writer.writeTag(1, .fixed64)
            writer.writeFixed64(time)
        }
        if let name, !name.isEmpty { writer.writeStringField(2, name) }
        for attribute in attributes ?? [] { writer.writeMessage(3) { attribute.write(to: &$0) } }
        if let count = droppedAttributesCount?.value, count != 0 { writer.writeVarintField(4, count) }
    }
}

private struct JSONLink: Decodable {
    var traceId: JSONHexID?
    var spanId: JSONHexID?
    var traceState: String?
    var attributes: [JSONKeyValue]?
    var droppedAttributesCount: JSONInteger?
    var flags: JSONInteger?

    func write(to writer: inout ProtobufWriter) {
        if let id = traceId?.bytes, !id.isEmpty { writer.writeBytesField(1, id) }
        if let id = spanId?.bytes, !id.isEmpty { writer.writeBytesField(2, id) }
        if let traceState, !traceState.isEmpty { writer.writeStringField(3, traceState) }
        for attribute in attributes ?? [] { writer.writeMessage(4) { attribute.write(to: &$0) } }
        if let count = droppedAttributesCount?.value, count != 0 { writer.writeVarintField(5, count) }
        if let flags = flags?.value, flags != 0 {
            writer.writeTag(6, .fixed32)
            writer.writeFixed32(UInt32(truncatingIfNeeded: flags))
        }
    }
}

private struct JSONStatus: Decodable {
    var message: String?
    var code: JSONEnum<StatusCodeNames>?

    func write(to writer: inout ProtobufWriter) {
        if let message, !message.isEmpty { writer.writeStringField(2, message) }
        if let code = code?.value, code != 0 { writer.writeVarintField(3, UInt64(bitPattern: code)) }
    }
}

private struct JSONKeyValue: Decodable {
    var key: String?
    var value: JSONAnyValue?

    func write(to writer: inout ProtobufWriter) {
        if let key, !key.isEmpty { writer.writeStringField(1, key) }
        if let value { writer.writeMessage(2) { value.write(to: &$0) } }
    }
}

private indirect enum JSONAnyValue: Decodable {
    case string(String)
    case bool(Bool)
    case int(UInt64)
    case double(Double)
    case array([JSONAnyValue])
    case keyValueList([JSONKeyValue])
    case bytes([UInt8])
    case empty

    private enum CodingKeys: String, CodingKey {
        case stringValue, boolValue, intValue, doubleValue, arrayValue, kvlistValue, bytesValue
    }
    private struct ValueList<Element: Decodable>: Decodable { var values: [Element]? }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let value = try container.decodeIfPresent(String.self, forKey: .stringValue) {
            self = .string(value)
        } else if let value = try container.decodeIfPresent(Bool.self, forKey: .boolValue) {
            self = .bool(value)
        } else if let value = try container.decodeIfPresent(JSONInteger.self, forKey: .intValue) {
            self = .int(value.value)
        } else if let value = try container.decodeIfPresent(JSONDouble.self, forKey: .doubleValue) {
            self = .double(value.value)
        } else if let value = try container.decodeIfPresent(ValueList<JSONAnyValue>.self, forKey: .arrayValue) {
            self = .array(value.values ?? [])
        } else if let value = try container.decodeIfPresent(ValueList<JSONKeyValue>.self, forKey: .kvlistValue) {
            self = .keyValueList(value.values ?? [])
        } else if let value = try container.decodeIfPresent(String.self, forKey: .bytesValue) {
            guard let data = Data(base64Encoded: value) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .bytesValue,
                    in: container,
                    debugDescription: "bytesValue is not base64"
                )
            }
            self = .bytes(Array(data))
        } else {
            self = .empty
        }
    }

    func write(to writer: inout ProtobufWriter) {
        switch self {
        case .string(let value): writer.writeStringField(1, value)
        case .bool(let value): writer.writeVarintField(2, value ? 1 : 0)
        case .int(let value): writer.writeVarintField(3, value)
        case .double(let value): writer.writeDoubleField(4, value)
        case .array(let values):
            writer.writeMessage(5) { list in
                for value in values { list.writeMessage(1) { value.write(to: &$0) } }
            }
        case .keyValueList(let pairs):
            writer.writeMessage(6) { list in
                for pair in pairs { list.writeMessage(1) { pair.write(to: &$0) } }
            }
        case .bytes(let value): writer.writeBytesField(7, value)
        case .empty: break
        }
    }
}

// MARK: - OTLP/JSON scalar forms

/// A 64-bit integer sent as a JSON number or a decimal string; negative values keep their two's-complement bits.
private struct JSONInteger: Decodable {
    var value: UInt64

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(UInt64.self) {
            value = number
        } else if let number = try? container.decode(Int64.self) {
            value = UInt64(bitPattern: number)
        } else if let text = try? container.decode(String.self),
            let number = UInt64(text) ?? Int64(text).map(UInt64.init(bitPattern:))
        {
            value = number
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected an integer")
        }
    }
}

/// A double sent as a JSON number or as a string (`"NaN"`, `"Infinity"`, `"1.5"`).
private struct JSONDouble: Decodable {
    var value: Double

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            value = number
        } else if let text = try? container.decode(String.self),
            let number = Double(text == "Infinity" ? "inf" : text == "-Infinity" ? "-inf" : text)
        {
            value = number
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected a number")
        }
    }
}

/// Trace or span id bytes, sent as hex.
private struct JSONHexID: Decodable {
    var bytes: [UInt8]

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let bytes = Self.decodeHex(text) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "\(ClientText.quoted(text)) is not hex"
            )
        }
        self.bytes = bytes
    }

    static func decodeHex(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// The names an enum may be sent as in OTLP/JSON.
private protocol EnumNames { static var names: [String] { get } }
private enum SpanKindNames: EnumNames {
    static let names = [
        "SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER",
        "SPAN_KIND_CONSUMER",
    ]
}
private enum StatusCodeNames: EnumNames {
    static let names = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"]
}

/// An enum sent as its number or its name.
private struct JSONEnum<Names: EnumNames>: Decodable {
    var value: Int64

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int64.self) {
            value = number
        } else if let name = try? container.decode(String.self), let index = Names.names.firstIndex(of: name) {
            value = Int64(index)
        } else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "expected a number or one of \(Names.names.joined(separator: ", "))"
            )
        }
    }
}
