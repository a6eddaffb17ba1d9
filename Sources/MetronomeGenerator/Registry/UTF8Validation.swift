/// Checks label bytes for valid UTF-8 before they become a series: Prometheus rejects a whole remote-write request
/// for one invalid label, so an invalid value must never reach an encoder.
enum UTF8Validation {
    static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        // Fast path: ASCII only.
        if !bytes.contains(where: { $0 >= 0x80 }) { return true }
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// The largest prefix length of `bytes` not above `limit` that does not cut a multi-byte character.
    static func truncatedLength(_ bytes: UnsafeRawBufferPointer, limit: Int) -> Int {
        guard bytes.count > limit else { return bytes.count }
        var length = limit
        // Step back over continuation bytes (10xxxxxx) so the cut falls before a character's first byte.
        while length > 0 && bytes[length] & 0xC0 == 0x80 { length -= 1 }
        return length
    }
}
