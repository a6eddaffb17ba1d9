import MetronomeWire
import Testing

/// Series hashes pick a series' remote-write send shard, so its samples keep travelling in one WAL shard, in order,
/// across versions: a faster way of computing one must give the same values.
struct SeriesHashTests {
    /// The hash as first written: eight bytes at a time, then the tail byte by byte.
    private func reference(_ bytes: [UInt8]) -> UInt64 {
        var hash = SeriesHash.seed ^ (UInt64(bytes.count) &* 0x9E37_79B9_7F4A_7C15)
        var offset = 0
        while offset + 8 <= bytes.count {
            var word: UInt64 = 0
            for index in 0..<8 { word |= UInt64(bytes[offset + index]) << (8 * index) }
            hash = SeriesHash.mix(hash ^ word)
            offset += 8
        }
        if offset < bytes.count {
            var tail: UInt64 = 0
            for (index, byte) in bytes[offset...].enumerated() { tail |= UInt64(byte) << (8 * index) }
            hash = SeriesHash.mix(hash ^ tail)
        }
        return hash
    }

    @Test func everyLengthHashesAsTheByteByByteDefinition() {
        var state: UInt64 = 0x1234_5678
        for length in 0...70 {
            for _ in 0..<20 {
                let bytes = (0..<length).map { _ in
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    return UInt8(truncatingIfNeeded: state >> 56)
                }
                #expect(bytes.withUnsafeBytes(SeriesHash.hash) == reference(bytes), "\(bytes)")
            }
        }
    }

    @Test func knownValuesStayTheSame() {
        #expect(Array("SPAN_KIND_SERVER".utf8).withUnsafeBytes(SeriesHash.hash) == 0x57F5_18BD_9CB9_A938)
        #expect(Array("0.005".utf8).withUnsafeBytes(SeriesHash.hash) == 0x2355_382C_08A8_5D24)
        #expect([UInt8]().withUnsafeBytes(SeriesHash.hash) == SeriesHash.seed)
    }
}
