import MetronomeWire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension SpanBatch {
    /// The index of the first attribute in `range` whose key is `key` (resource and span attributes are ranges of
    /// the batch's attribute list).
    @inline(__always)
    func firstAttribute(_ key: UnsafeRawBufferPointer, in range: Range<Int>, bytes: UnsafeRawBufferPointer) -> Int? {
        for index in range {
            let candidate = attributes[index].key
            if Int(candidate.count) == key.count
                && (key.isEmpty || memcmp(bytes.baseAddress! + Int(candidate.offset), key.baseAddress!, key.count) == 0)
            {
                return index
            }
        }
        return nil
    }
}
