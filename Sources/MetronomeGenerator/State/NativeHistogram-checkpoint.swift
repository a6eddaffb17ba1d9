import MetronomeWire

/// A native histogram in a checkpoint: `NativeHistogram { sint schema = 1; count = 2; double sum = 3;
/// zero count = 4; packed positive buckets = 5; packed negative buckets = 6; last reset ms = 7; reset due ms = 8 }`,
/// a bucket being its index (zigzag) then its count, both varints. Exemplars are not kept (they go with the next
/// collection).
extension NativeHistogram {
    func encodeCheckpoint(field: UInt32, into writer: inout ProtobufWriter) {
        writer.writeMessage(field) { message in
            message.writeVarintField(1, Self.zigzag(Int64(schema)))
            message.writeVarintField(2, count)
            message.writeDoubleField(3, sum)
            message.writeVarintField(4, zeroCount)
            for (field, buckets) in [(UInt32(5), positive), (6, negative)] where !buckets.isEmpty {
                message.writeMessage(field) { packed in
                    for bucket in buckets {
                        packed.writeVarint(Self.zigzag(Int64(bucket.index)))
                        packed.writeVarint(bucket.count)
                    }
                }
            }
            message.writeVarintField(7, UInt64(bitPattern: lastResetMs))
            message.writeVarintField(8, UInt64(bitPattern: resetDueMs))
        }
    }

    /// Reads one histogram written by ``encodeCheckpoint(field:into:)``.
    /// - Returns: nil for well-formed protobuf that is no histogram (a schema out of range, buckets out of order).
    static func decodeCheckpoint(_ raw: UnsafeRawBufferPointer, _ range: ByteRange) throws(WireError) -> Self? {
        var reader = ProtobufReader(bytes: raw, range: range.range)
        var schema: Int32 = 0
        var count: UInt64 = 0
        var sum = 0.0
        var zeroCount: UInt64 = 0
        var positive: [Bucket] = []
        var negative: [Bucket] = []
        var lastResetMs: Int64 = 0
        var resetDueMs: Int64 = 0
        func varint(_ tag: ProtobufReader.Tag) throws(WireError) -> UInt64 {
            try reader.expect(tag, .varint, in: "NativeHistogram")
            return try reader.readVarint()
        }
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1: schema = Int32(clamping: unzigzag(try varint(tag)))
            case 2: count = try varint(tag)
            case 3:
                try reader.expect(tag, .fixed64, in: "NativeHistogram")
                sum = Double(bitPattern: try reader.readFixed64())
            case 4: zeroCount = try varint(tag)
            case 5, 6:
                var packed = ProtobufReader(bytes: raw, range: try reader.readBytes(tag, in: "NativeHistogram").range)
                var buckets: [Bucket] = []
                while !packed.isAtEnd {
                    let index = Int32(clamping: unzigzag(try packed.readVarint()))
                    buckets.append(Bucket(index: index, count: try packed.readVarint()))
                }
                guard zip(buckets, buckets.dropFirst()).allSatisfy({ $0.index < $1.index }) else { return nil }
                if tag.fieldNumber == 5 { positive = buckets } else { negative = buckets }
            case 7: lastResetMs = Int64(bitPattern: try varint(tag))
            case 8: resetDueMs = Int64(bitPattern: try varint(tag))
            default: try reader.skip(tag.wireType)
            }
        }
        guard (-4...8).contains(schema) else { return nil }
        return NativeHistogram(
            schema: schema,
            count: count,
            sum: sum,
            zeroCount: zeroCount,
            positive: positive,
            negative: negative,
            lastResetMs: lastResetMs,
            resetDueMs: resetDueMs
        )
    }

    private static func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }
    private static func unzigzag(_ value: UInt64) -> Int64 { Int64(bitPattern: value >> 1) ^ -Int64(value & 1) }
}
