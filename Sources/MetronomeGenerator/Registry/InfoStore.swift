import MetronomeWire
import Synchronization

/// Info series: gauges of value 1 whose label names vary from series to series (`traces_target_info`, spec §2.5),
/// so they cannot live in a fixed-column ``SeriesStore``.
///
/// Updated once per resource, not per span, so a dictionary keyed by the encoded labels is cheap enough. Unlike
/// Tempo, traffic refreshes a live series (Tempo lets it go stale and re-creates it every 15–20 minutes).
final class InfoStore: Sendable {
    let metricName: String
    private let registry: RegistryConfiguration
    private let limiter: SeriesLimiter
    private let series = Mutex<[[UInt8]: InfoSeries]>([:])
    /// Set, under the lock, once an end-mode collection ended every series: no series is made after that.
    private let isEnded = Atomic<Bool>(false)

    init(metricName: String, registry: RegistryConfiguration, limiter: SeriesLimiter) {
        self.metricName = metricName
        self.registry = registry
        self.limiter = limiter
    }

    private struct InfoSeries {
        var labels: [(name: String, value: String)]
        var lastUpdatedMs: Int64
        /// Not collected yet: it sends its value before it may end with a staleness marker.
        var isNew = true
    }

    /// Marks the series with `labels` (sorted by name) as alive at `nowMs`, creating it if the limiter has room.
    /// - Returns: false when the limiter refused a new series.
    func touch(_ labels: [(name: String, value: String)], nowMs: Int64) -> Bool {
        var key: [UInt8] = []
        for label in labels {
            key += Array(label.name.utf8) + [0] + Array(label.value.utf8) + [0]
        }
        return series.withLock { series in
            guard !isEnded.load(ordering: .relaxed) else { return true }
            if series[key] != nil {
                series[key]!.lastUpdatedMs = nowMs
                return true
            }
            guard limiter.reserve(1) else { return false }
            series[key] = InfoSeries(labels: labels, lastUpdatedMs: nowMs)
            return true
        }
    }

    /// Emits every series with value 1, then (in collect mode) removes those idle longer than the stale duration,
    /// which send a staleness marker instead; in end mode, every series collected before sends a staleness marker
    /// and all are removed.
    /// - Returns: the number of series left and removed.
    @discardableResult
    func collect(
        _ mode: CollectionMode,
        timestampMs: Int64,
        staleBeforeMs: Int64,
        into sink: inout some SampleSink
    ) -> (entries: Int, removed: Int) {
        let constants = registry.constantLabels
        return series.withLock { series in
            // Under the lock: no series is made once the store is ended.
            if mode == .end { isEnded.store(true, ordering: .relaxed) }
            for entry in series.values where !(mode == .end && entry.isNew) {
                let stale = mode == .end || (mode == .collect && !entry.isNew && entry.lastUpdatedMs < staleBeforeMs)
                emit(entry, value: stale ? Sample.staleMarkerValue : 1, constants, timestampMs, into: &sink)
            }
            guard mode != .snapshot else { return (series.count, 0) }
            let before = series.count
            series = series.filter { mode != .end && ($0.value.isNew || $0.value.lastUpdatedMs >= staleBeforeMs) }
            for key in series.keys { series[key]!.isNew = false }
            limiter.release(before - series.count)
            return (series.count, before - series.count)
        }
    }

    /// Ends every series (their processor no longer makes them): see ``collect(_:timestampMs:staleBeforeMs:into:)``.
    /// - Returns: the number of series ended.
    @discardableResult
    func end(timestampMs: Int64, into sink: inout some SampleSink) -> Int {
        collect(.end, timestampMs: timestampMs, staleBeforeMs: .max, into: &sink).removed
    }

    /// Whether the store holds no series.
    var isEmpty: Bool { series.withLock { $0.isEmpty } }

    private func emit(
        _ entry: InfoSeries,
        value: Double,
        _ constants: [(name: String, value: String)],
        _ timestampMs: Int64,
        into sink: inout some SampleSink
    ) {
        var labels = entry.labels.filter { label in !constants.contains { $0.name == label.name } }
        labels += constants.filter { !$0.value.isEmpty }
        labels.append((name: "__name__", value: metricName))
        labels.sort { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
        Self.withLabelRefs(labels) { refs in
            [Sample(value: value, timestampMs: timestampMs)].withUnsafeBufferPointer { samples in
                sink.append(family: metricName, type: .gauge, labels: refs, samples: samples, exemplar: nil)
            }
        }
    }

    /// Calls `body` with borrowed label references to `labels`, laid out in one buffer.
    private static func withLabelRefs(
        _ labels: [(name: String, value: String)],
        _ body: (UnsafeBufferPointer<LabelRef>) -> Void
    ) {
        var storage: [UInt8] = []
        var ranges: [(Range<Int>, Range<Int>)] = []
        for label in labels {
            let nameStart = storage.count
            storage += Array(label.name.utf8)
            let valueStart = storage.count
            storage += Array(label.value.utf8)
            ranges.append((nameStart..<valueStart, valueStart..<storage.count))
        }
        storage.withUnsafeBytes { bytes in
            let refs = ranges.map {
                LabelRef(
                    name: UnsafeRawBufferPointer(rebasing: bytes[$0.0]),
                    value: UnsafeRawBufferPointer(rebasing: bytes[$0.1])
                )
            }
            refs.withUnsafeBufferPointer(body)
        }
    }
}
