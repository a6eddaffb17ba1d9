import CZlib

/// CRC-32 (IEEE 802.3, the polynomial zlib and PNG use), to detect torn or corrupted files: checkpoints and WAL
/// records. zlib computes it (several GB/s, where a table-driven loop in Swift does about one).
public enum CRC32 {
    /// The checksum of `bytes`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        update(0, bytes)
    }

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// Continues `crc` (a previous result, 0 to start) over `bytes`.
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard var address = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return crc }
        var result = UInt(crc)
        var left = bytes.count
        // zlib takes 32-bit lengths.
        while left > 0 {
            let chunk = min(left, 1 << 30)
            result = crc32(result, address, UInt32(chunk))
            address += chunk
            left -= chunk
        }
        return UInt32(truncatingIfNeeded: result)
    }
}
