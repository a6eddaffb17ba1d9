/// The 64-bit hash of series label values: fast, seedless, and only ever used together with an exact byte
/// comparison (a collision never merges two series; ARCHITECTURE.md, hot-path rule 2).
public enum SeriesHash {
    /// The hash every series starts from.
    public static let seed: UInt64 = 0x243F_6A88_85A3_08D3

    /// Hashes bytes eight at a time.
    @inlinable
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash = seed ^ (UInt64(bytes.count) &* 0x9E37_79B9_7F4A_7C15)
        var offset = 0
        let count = bytes.count
        while offset + 8 <= count {
            hash = mix(hash ^ bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            offset += 8
        }
        if offset < count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while offset < count {
                tail |= UInt64(bytes[offset]) << shift
                shift += 8
                offset += 1
            }
            hash = mix(hash ^ tail)
        }
        return hash
    }

    /// Folds the hash of the value in column `column` into a series hash, so equal values in different columns
    /// give different series hashes.
    @inlinable
    public static func combine(_ seriesHash: UInt64, _ valueHash: UInt64, column: Int) -> UInt64 {
        mix(seriesHash ^ (valueHash &+ UInt64(truncatingIfNeeded: column + 1) &* 0x9E37_79B9_7F4A_7C15))
    }

    /// MurmurHash3's 64-bit finalizer.
    @inlinable
    public static func mix(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x >> 33
        x &*= 0xFF51_AFD7_ED55_8CCD
        x ^= x >> 33
        x &*= 0xC4CE_B9FE_1A85_EC53
        x ^= x >> 33
        return x
    }
}
