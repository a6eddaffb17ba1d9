extension SpanBatch {
    /// Removes the spans for which `shouldRemove` is true, keeping the order of the rest and every resource (a
    /// resource may be left with no spans). Compacts in place; allocates nothing.
    /// - Returns: the number of spans removed.
    @discardableResult
    public mutating func removeSpans(where shouldRemove: (SpanRecord) -> Bool) -> Int {
        // The common case removes nothing: check before writing, so the span array is not copied on write.
        guard spans.contains(where: shouldRemove) else { return 0 }
        var kept = 0
        for resourceIndex in resources.indices {
            let range = resources[resourceIndex].spans
            let start = Int32(kept)
            for spanIndex in range where !shouldRemove(spans[Int(spanIndex)]) {
                spans[kept] = spans[Int(spanIndex)]
                kept += 1
            }
            resources[resourceIndex].spans = start..<Int32(kept)
        }
        let removed = spans.count - kept
        spans.removeLast(removed)
        return removed
    }
}
