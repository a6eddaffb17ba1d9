extension ProtobufWriter {
    /// Writes a native histogram's bucket spans as repeated `BucketSpan { sint32 offset = 1; uint32 length = 2 }`
    /// messages in `field`: the same message in remote write (`prompb`) and in the exposition format
    /// (`io.prometheus.client`), under different field numbers.
    mutating func writeBucketSpans(_ field: UInt32, _ spans: [NativeHistogramSample.BucketSpan]) {
        for span in spans {
            writeMessage(field) { message in
                if span.offset != 0 { message.writeVarintField(1, Self.zigzag(Int64(span.offset))) }
                message.writeVarintField(2, UInt64(span.length))
            }
        }
    }

    /// Writes bucket-count deltas as one packed `repeated sint64` field (nothing when there are none).
    mutating func writePackedDeltas(_ field: UInt32, _ deltas: [Int64]) {
        guard !deltas.isEmpty else { return }
        writeMessage(field) { packed in
            for delta in deltas { packed.writeVarint(Self.zigzag(delta)) }
        }
    }

    /// The zigzag encoding of a signed integer (`sint32`, `sint64`).
    static func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }
}
