import MetronomeWire

/// How much one span counts for: the inverse of its sampling probability (spec §2.7), applied to calls and latency
/// observations (not to size). Shared by span metrics and, later, service graphs.
///
/// Sources in order: the W3C `tracestate` OpenTelemetry threshold (`ot=th:…`, OTEP 235) when enabled; then the first
/// span attribute, else resource attribute, named `key` holding a double > 0 (its inverse; Tempo ignores ints);
/// else 1.
struct SpanMultiplier: Sendable {
    /// The attribute holding the sampling ratio; empty for none.
    let key: [UInt8]
    let useTraceState: Bool

    var isEnabled: Bool { !key.isEmpty || useTraceState }

    /// The multiplier of `span`, whose resource's attributes are `resourceAttributes`.
    func multiplier(
        of span: SpanRecord,
        resourceAttributes: Range<Int>,
        batch: SpanBatch,
        bytes: UnsafeRawBufferPointer
    ) -> Double {
        if useTraceState,
            let count = Self.adjustedCount(traceState: UnsafeRawBufferPointer(rebasing: bytes[span.traceState.range]))
        {
            return count
        }
        if !key.isEmpty {
            if let ratio = ratio(in: span.attributes, batch: batch, bytes: bytes) { return 1 / ratio }
            if let ratio = ratio(in: resourceAttributes, batch: batch, bytes: bytes) { return 1 / ratio }
        }
        return 1
    }

    private func ratio(in range: Range<Int>, batch: SpanBatch, bytes: UnsafeRawBufferPointer) -> Double? {
        for index in range {
            let attribute = batch.attributes[index]
            guard attribute.type == .double, attribute.doubleValue > 0,
                bytes.bytes(at: attribute.key, equal: key)
            else { continue }
            return attribute.doubleValue
        }
        return nil
    }

    /// The adjusted count (1 / sampling probability) from a W3C tracestate's `ot` member, or nil when it has no
    /// valid threshold. A fractional count is rounded to floor or ceiling by the `rv` randomness, so the mean is kept.
    /// Scans the bytes in place: nothing is allocated.
    static func adjustedCount(traceState bytes: UnsafeRawBufferPointer) -> Double? {
        guard let member = firstMember(of: bytes, keyed: "ot=") else { return nil }
        var threshold: UInt64?
        var randomness: UInt64?
        forEachPart(of: bytes, in: member, separator: UInt8(ascii: ";")) { field in
            guard field.count > 3, bytes[field.lowerBound + 2] == UInt8(ascii: ":") else { return }
            let value = (field.lowerBound + 3)..<field.upperBound
            if bytes[field.lowerBound] == UInt8(ascii: "t") && bytes[field.lowerBound + 1] == UInt8(ascii: "h") {
                threshold = hex56(bytes, value, exactLength: false)
            } else if bytes[field.lowerBound] == UInt8(ascii: "r") && bytes[field.lowerBound + 1] == UInt8(ascii: "v") {
                randomness = hex56(bytes, value, exactLength: true)
            }
        }
        guard let threshold else { return nil }
        let total = Double(UInt64(1) << 56)
        let count = total / (total - Double(threshold))
        let floor = count.rounded(.down)
        guard count != floor, let randomness else { return count }
        // Top 53 bits of the 56-bit randomness, as a fraction in [0, 1).
        let fraction = Double(randomness >> 3) / Double(UInt64(1) << 53)
        return fraction < count - floor ? floor + 1 : floor
    }

    /// The value range of the first comma-separated member starting with `key` (whitespace around members trimmed).
    private static func firstMember(of bytes: UnsafeRawBufferPointer, keyed key: StaticString) -> Range<Int>? {
        var found: Range<Int>?
        forEachPart(of: bytes, in: 0..<bytes.count, separator: UInt8(ascii: ",")) { member in
            guard found == nil, member.count >= key.utf8CodeUnitCount else { return }
            let prefix = UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
            if bytes[member.lowerBound..<(member.lowerBound + prefix.count)].elementsEqual(prefix) {
                found = (member.lowerBound + prefix.count)..<member.upperBound
            }
        }
        return found
    }

    /// Calls `body` with each `separator`-delimited part of `bytes[range]`, spaces and tabs trimmed.
    private static func forEachPart(
        of bytes: UnsafeRawBufferPointer,
        in range: Range<Int>,
        separator: UInt8,
        _ body: (Range<Int>) -> Void
    ) {
        var start = range.lowerBound
        while start <= range.upperBound {
            var end = start
            while end < range.upperBound && bytes[end] != separator { end += 1 }
            var low = start
            var high = end
            while low < high && (bytes[low] == 0x20 || bytes[low] == 0x09) { low += 1 }
            while high > low && (bytes[high - 1] == 0x20 || bytes[high - 1] == 0x09) { high -= 1 }
            body(low..<high)
            start = end + 1
        }
    }

    /// 1 to 14 lowercase hex digits, padded on the right to 56 bits (a threshold), or exactly 14 (randomness).
    private static func hex56(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, exactLength: Bool) -> UInt64? {
        guard !range.isEmpty, range.count <= 14, !exactLength || range.count == 14 else { return nil }
        var value: UInt64 = 0
        for index in range {
            let digit = bytes[index]
            let nibble: UInt8
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = digit - UInt8(ascii: "a") + 10
            default: return nil
            }
            value = value << 4 | UInt64(nibble)
        }
        return value << (4 * UInt64(14 - range.count))
    }
}
