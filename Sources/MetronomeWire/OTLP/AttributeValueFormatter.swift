/// Turns OTLP attribute values into label-value bytes, as Tempo's `pkg/util/attributes.go` does (spec §2.6).
///
/// string → as is; bool → `true`/`false`; int → base 10; double → ``DecimalFormatter``; array → `[` + elements with
/// no separator + `]`; kvlist → `{` + `key:value` pairs with no separator + `}`; bytes or empty → nothing.
public enum AttributeValueFormatter {
    /// Appends the label form of `attribute`'s value to `output`, reading payloads from `bytes` (the batch's).
    public static func append(
        _ attribute: AttributeRecord,
        bytes: UnsafeRawBufferPointer,
        to output: inout [UInt8]
    ) {
        switch attribute.type {
        case .string: output.append(contentsOf: bytes[attribute.value.range])
        case .bool: output.append(contentsOf: (attribute.boolValue ? "true" : "false").utf8)
        case .int: output.append(contentsOf: String(attribute.intValue).utf8)
        case .double: DecimalFormatter.append(attribute.doubleValue, to: &output)
        case .array:
            output.append(UInt8(ascii: "["))
            forEachNested(field: 1, in: attribute.value, bytes: bytes) { element in
                var value = AttributeRecord(key: .empty, type: .empty, value: .empty, scalar: 0)
                guard (try? SpanBatchDecoder.decodeAnyValue(element, into: &value)) != nil else { return }
                append(value, bytes: bytes, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .keyValueList:
            output.append(UInt8(ascii: "{"))
            forEachNested(field: 1, in: attribute.value, bytes: bytes) { pair in
                appendKeyValue(pair, bytes: bytes, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        case .bytes, .empty: break
        }
    }

    private static func appendKeyValue(
        _ reader: ProtobufReader,
        bytes: UnsafeRawBufferPointer,
        to output: inout [UInt8]
    ) {
        var reader = reader
        var key = ByteRange.empty
        var value = AttributeRecord(key: .empty, type: .empty, value: .empty, scalar: 0)
        while let tag = try? reader.nextTag() {
            guard tag.wireType == .lengthDelimited, let range = try? reader.readLengthDelimited() else {
                guard (try? reader.skip(tag.wireType)) != nil else { return }
                continue
            }
            if tag.fieldNumber == 1 { key = ByteRange(range) }
            if tag.fieldNumber == 2 {
                _ = try? SpanBatchDecoder.decodeAnyValue(ProtobufReader(bytes: bytes, range: range), into: &value)
            }
        }
        output.append(contentsOf: bytes[key.range])
        output.append(UInt8(ascii: ":"))
        append(value, bytes: bytes, to: &output)
    }

    /// Calls `body` with a reader over each length-delimited field `field` of the message at `range`. The batch was
    /// validated when decoded only at the top level, so nested payloads that do not parse are skipped, not trusted.
    private static func forEachNested(
        field: UInt32,
        in range: ByteRange,
        bytes: UnsafeRawBufferPointer,
        _ body: (ProtobufReader) -> Void
    ) {
        var reader = ProtobufReader(bytes: bytes, range: range.range)
        while let tag = try? reader.nextTag() {
            if tag.fieldNumber == field && tag.wireType == .lengthDelimited {
                guard let nested = try? reader.readLengthDelimited() else { return }
                body(ProtobufReader(bytes: bytes, range: nested))
            } else if (try? reader.skip(tag.wireType)) == nil {
                return
            }
        }
    }
}
