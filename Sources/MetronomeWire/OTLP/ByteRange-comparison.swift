#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension UnsafeRawBufferPointer {
    /// Whether the bytes at `range` equal `other`: a length check, then `memcmp` (far cheaper on the per-span path
    /// than the generic `elementsEqual`).
    @inlinable
    public func bytes(at range: ByteRange, equal other: UnsafeRawBufferPointer) -> Bool {
        guard Int(range.count) == other.count else { return false }
        guard other.count > 0 else { return true }
        return memcmp(baseAddress! + Int(range.offset), other.baseAddress!, other.count) == 0
    }

    /// Whether these bytes equal `other`: a length check, then `memcmp`.
    @inlinable
    public func bytesEqual(_ other: UnsafeRawBufferPointer) -> Bool {
        guard count == other.count else { return false }
        guard count > 0 else { return true }
        return memcmp(baseAddress!, other.baseAddress!, count) == 0
    }

    /// The `count` bytes from `offset`, borrowed.
    @inlinable
    public func bytes(offset: UInt32, count: UInt32) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self[Int(offset)..<(Int(offset) + Int(count))])
    }

    /// Whether the bytes at `range` equal `other`.
    @inlinable
    public func bytes(at range: ByteRange, equal other: [UInt8]) -> Bool {
        other.withUnsafeBytes { bytes(at: range, equal: $0) }
    }
}
