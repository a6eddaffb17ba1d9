import MetronomeWire

/// Decides which spans a processor counts, from its filter policies (spec §2.8).
///
/// No policies: every span. Otherwise a span is rejected when any `exclude` matches; accepted when any `include_any`
/// matches; else accepted when there are `include` matches and every one of them matches; else (only `include_any`
/// present) rejected. Strict string comparisons run on the request's bytes.
struct SpanFilter: Sendable {
    private let includes: [PolicyMatch]
    private let includeAnys: [PolicyMatch]
    private let excludes: [PolicyMatch]

    init(_ policies: [FilterPolicy]) {
        includes = policies.compactMap(\.include)
        includeAnys = policies.compactMap(\.includeAny)
        excludes = policies.compactMap(\.exclude)
    }

    /// Whether any policy is configured (no policies accept everything without looking).
    var isEnabled: Bool { !(includes.isEmpty && includeAnys.isEmpty && excludes.isEmpty) }

    /// Whether `span` passes. `memo` remembers regex results for the values of one batch.
    func accepts(
        _ span: SpanRecord,
        resourceAttributes: Range<Int>,
        attributes: UnsafeBufferPointer<AttributeRecord>,
        bytes: UnsafeRawBufferPointer,
        memo: RegexMemo
    ) -> Bool {
        let context = SpanContext(
            span: span,
            resourceAttributes: resourceAttributes,
            attributes: attributes,
            bytes: bytes,
            memo: memo
        )
        if excludes.contains(where: { $0.matches(context) }) { return false }
        if includeAnys.contains(where: { $0.matches(context) }) { return true }
        if !includes.isEmpty { return includes.allSatisfy { $0.matches(context) } }
        return includeAnys.isEmpty
    }
}

/// What a condition can look at.
struct SpanContext {
    let span: SpanRecord
    let resourceAttributes: Range<Int>
    /// The batch's attributes, borrowed (no reference counting per span).
    let attributes: UnsafeBufferPointer<AttributeRecord>
    let bytes: UnsafeRawBufferPointer
    let memo: RegexMemo
}

/// Regex results for the values of one batch: span names and attribute values repeat across a batch's spans, and
/// a regex search costs far more than a hash lookup. Entries are verified byte for byte, so a hash collision can
/// never borrow another value's result. Made per batch and used by one thread.
final class RegexMemo {
    private struct Key: Hashable {
        let regex: ObjectIdentifier
        let hash: UInt64
    }

    private var results: [Key: (value: ByteRange, matches: Bool)] = [:]

    func matches(_ regex: FilterRegex, _ value: ByteRange, in bytes: UnsafeRawBufferPointer) -> Bool {
        let text = UnsafeRawBufferPointer(rebasing: bytes[value.range])
        let key = Key(regex: ObjectIdentifier(regex), hash: SeriesHash.hash(text))
        if let known = results[key], bytes.bytes(at: known.value, equal: text) { return known.matches }
        let matches = regex.contains(String(decoding: text, as: UTF8.self))
        results[key] = (value, matches)
        return matches
    }
}
