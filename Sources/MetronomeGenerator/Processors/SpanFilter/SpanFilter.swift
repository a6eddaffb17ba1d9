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

    /// Whether `span` passes.
    func accepts(
        _ span: SpanRecord,
        resourceAttributes: Range<Int>,
        batch: SpanBatch,
        bytes: UnsafeRawBufferPointer
    ) -> Bool {
        let context = SpanContext(span: span, resourceAttributes: resourceAttributes, batch: batch, bytes: bytes)
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
    let batch: SpanBatch
    let bytes: UnsafeRawBufferPointer
}
