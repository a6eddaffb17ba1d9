import MetronomeWire
import Synchronization

extension SeriesStore {
    /// The store a reconfigured processor keeps its series in: `previous` when its series have the same identity
    /// (metric names, kinds, buckets and label names), so their cumulative values continue, else a new, empty store.
    static func continuing(
        _ previous: SeriesStore?,
        columnNames: [String],
        layout: MetricLayout,
        registry: RegistryConfiguration,
        limiter: SeriesLimiter
    ) -> SeriesStore {
        let store = SeriesStore(columnNames: columnNames, layout: layout, registry: registry, limiter: limiter)
        guard let previous, previous.signature == store.signature, previous.limiter === limiter else { return store }
        previous.exemplarLabel.withLock { $0 = registry.traceIDLabelName }
        return previous
    }

    /// Ends every series of a store its processor no longer uses (the processor was removed, or its series changed
    /// identity): each gets one staleness marker at `timestampMs`, then the store is emptied and its room in the
    /// limiter given back. Series never collected have no samples to end and are dropped silently.
    /// - Returns: the number of entries ended.
    @discardableResult
    func end(timestampMs: Int64, into sink: inout some SampleSink) -> Int {
        // Before any shard is ended: a recording that takes a shard's lock after this sees it (see `record`).
        isEnded.store(true, ordering: .relaxed)
        return collect(.end, timestampMs: timestampMs, staleBeforeMs: .max, into: &sink).removed
    }
}
