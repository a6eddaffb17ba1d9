import MetronomeWire

extension SpanBatch {
    /// The index of the first attribute in `range` whose key is `key` (resource and span attributes are ranges of
    /// the batch's attribute list).
    @inline(__always)
    func firstAttribute(_ key: UnsafeRawBufferPointer, in range: Range<Int>, bytes: UnsafeRawBufferPointer) -> Int? {
        for index in range where bytes.bytes(at: attributes[index].key, equal: key) { return index }
        return nil
    }
}
