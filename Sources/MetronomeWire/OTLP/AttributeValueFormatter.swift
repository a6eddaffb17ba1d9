/// Turns OTLP attribute values into label-value bytes, as Tempo's `pkg/util/attributes.go` does (spec §2.6).
///
/// string → as is; bool → `true`/`false`; int → base 10; double → ``DecimalFormatter``; array → `[` + elements with
/// no separator + `]`; kvlist → `{` + `key:value` pairs with no separator + `}`; bytes or empty → nothing.
///
/// Nested values are walked with an explicit stack, not recursion, so no shape of value can exhaust the thread's
/// stack; the decoder has already bounded their depth (``SpanBatch/Limits/maxValueDepth``).
public enum AttributeValueFormatter {
    /// Appends the label form of `attribute`'s value to `output`, reading payloads from `bytes` (the batch's).
    public static func append(
        _ attribute: AttributeRecord,
        bytes: UnsafeRawBufferPointer,
        to output: inout [UInt8]
    ) {
        guard attribute.type == .array || attribute.type == .keyValueList else {
            appendScalar(attribute, bytes: bytes, to: &output)
            return
        }
        var open: [NestedValue] = []
        open.append(NestedValue(attribute, bytes: bytes, to: &output))
        while !open.isEmpty {
            guard let (key, value) = open[open.count - 1].nextElement() else {
                output.append(open.removeLast().closingBracket)
                continue
            }
            if let key {
                output.append(contentsOf: bytes[key.range])
                output.append(UInt8(ascii: ":"))
            }
            if value.type == .array || value.type == .keyValueList {
                open.append(NestedValue(value, bytes: bytes, to: &output))
            } else {
                appendScalar(value, bytes: bytes, to: &output)
            }
        }
    }

    private static func appendScalar(
        _ attribute: AttributeRecord,
        bytes: UnsafeRawBufferPointer,
        to output: inout [UInt8]
    ) {
        switch attribute.type {
        case .string: output.append(contentsOf: bytes[attribute.value.range])
        case .bool: output.append(contentsOf: (attribute.boolValue ? "true" : "false").utf8)
        case .int: output.append(contentsOf: String(attribute.intValue).utf8)
        case .double: DecimalFormatter.append(attribute.doubleValue, to: &output)
        case .array, .keyValueList, .bytes, .empty: break
        }
    }

    /// An array or key-value list being written: a reader over its remaining elements.
    private struct NestedValue {
        var reader: ProtobufReader
        let isArray: Bool

        /// Starts writing `attribute` (an array or a key-value list): appends its opening bracket.
        init(_ attribute: AttributeRecord, bytes: UnsafeRawBufferPointer, to output: inout [UInt8]) {
            reader = ProtobufReader(bytes: bytes, range: attribute.value.range)
            isArray = attribute.type == .array
            output.append(UInt8(ascii: isArray ? "[" : "{"))
        }

        var closingBracket: UInt8 { UInt8(ascii: isArray ? "]" : "}") }

        /// The next element's key (for a key-value list) and value, or nil after the last. The decoder checked every
        /// nested message, so a part that still does not parse ends the value instead of being trusted.
        mutating func nextElement() -> (key: ByteRange?, value: AttributeRecord)? {
            while let tag = try? reader.nextTag() {
                guard tag.fieldNumber == 1, tag.wireType == .lengthDelimited else {
                    guard (try? reader.skip(tag.wireType)) != nil else { return nil }
                    continue
                }
                guard let element = try? reader.readLengthDelimited() else { return nil }
                return isArray ? (nil, Self.value(in: element, of: reader)) : Self.pair(in: element, of: reader)
            }
            return nil
        }

        private static func value(in range: Range<Int>, of reader: ProtobufReader) -> AttributeRecord {
            var value = AttributeRecord(key: .empty, type: .empty, value: .empty, scalar: 0)
            try? SpanBatchDecoder.decodeOneof(ProtobufReader(bytes: reader.base, range: range), into: &value)
            return value
        }

        private static func pair(in range: Range<Int>, of reader: ProtobufReader) -> (ByteRange?, AttributeRecord) {
            var pair = ProtobufReader(bytes: reader.base, range: range)
            var key = ByteRange.empty
            var value = AttributeRecord(key: .empty, type: .empty, value: .empty, scalar: 0)
            while let tag = try? pair.nextTag() {
                guard tag.wireType == .lengthDelimited, let field = try? pair.readLengthDelimited() else {
                    guard (try? pair.skip(tag.wireType)) != nil else { break }
                    continue
                }
                if tag.fieldNumber == 1 { key = ByteRange(field) }
                if tag.fieldNumber == 2 { value = Self.value(in: field, of: pair) }
            }
            return (key, value)
        }
    }
}
