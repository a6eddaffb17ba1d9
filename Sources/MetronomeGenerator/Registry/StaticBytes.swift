/// Strings fixed for a processor's lifetime (label names, metric names, constant values), stored in one allocation
/// so that collection can hand out stable pointers to them without copying.
///
/// `@unchecked Sendable`: the storage is written only in `init` and read-only afterwards; it is freed in `deinit`,
/// when no reader can hold the object.
final class StaticBytes: @unchecked Sendable {
    private let storage: UnsafeMutableRawBufferPointer
    private let ranges: [Range<Int>]

    init(_ strings: [String]) {
        let joined = strings.flatMap { Array($0.utf8) }
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(joined.count, 1), alignment: 8)
        storage.copyBytes(from: joined)
        var ranges: [Range<Int>] = []
        var offset = 0
        for string in strings {
            ranges.append(offset..<(offset + string.utf8.count))
            offset += string.utf8.count
        }
        self.storage = storage
        self.ranges = ranges
    }

    deinit { storage.deallocate() }

    /// The bytes of the `index`th string.
    @inline(__always)
    subscript(index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: storage[ranges[index]])
    }
}
