import MetronomeWire

/// The metrics one entry of a processor's table carries, and where each keeps its values among the entry's doubles.
///
/// A counter or a gauge takes one double; a classic histogram takes its sum, its count and one non-cumulative count per bucket
/// (the last is `+Inf`), made cumulative only at collection so an observation is two additions and one bucket add.
struct MetricLayout: Sendable {
    enum Kind: Sendable {
        /// Cumulative; a new series first emits an initial zero (spec §5.2).
        case counter
        /// Set, not added; no initial zero (spec §5.5).
        case gauge
        case histogram(bounds: [Double])
    }

    struct Metric: Sendable {
        let name: String
        let kind: Kind
        /// Offset of the metric's first double within an entry.
        let offset: Int
    }

    let metrics: [Metric]
    /// Doubles per entry.
    let width: Int
    /// `__name__` values (counter names; histogram `_count`, `_sum`, `_bucket` names) and `le` values.
    let names: StaticBytes
    private let nameIndex: [Int]

    init(_ definitions: [(name: String, kind: Kind)]) {
        var metrics: [Metric] = []
        var offset = 0
        var strings: [String] = []
        var nameIndex: [Int] = []
        for definition in definitions {
            metrics.append(Metric(name: definition.name, kind: definition.kind, offset: offset))
            nameIndex.append(strings.count)
            switch definition.kind {
            case .counter, .gauge:
                offset += 1
                strings.append(definition.name)
            case .histogram(let bounds):
                offset += 2 + bounds.count + 1
                strings += [definition.name + "_sum", definition.name + "_count", definition.name + "_bucket"]
                strings += bounds.map(DecimalFormatter.string) + ["+Inf"]
            }
        }
        self.metrics = metrics
        self.width = offset
        self.names = StaticBytes(strings)
        self.nameIndex = nameIndex
    }

    /// Where the metric named `name` keeps its values in an entry, or -1 when the layout has no such metric (a
    /// disabled sub-processor).
    func offset(of name: String) -> Int { metrics.first { $0.name == name }?.offset ?? -1 }

    /// The number of Prometheus series one entry emits (Tempo's series cost: 1 per counter or gauge, buckets + 3
    /// per histogram, spec §5.3).
    var seriesPerEntry: Int {
        metrics.reduce(0) { total, metric in
            switch metric.kind {
            case .counter, .gauge: total + 1
            case .histogram(let bounds): total + bounds.count + 3
            }
        }
    }

    /// Emits every series of one entry.
    /// - Parameters:
    ///   - values: the entry's doubles.
    ///   - initialZeroMs: when the entry is new, the time of its initial zero sample (spec §5.2, §5.3).
    ///   - exemplar: the exemplar stored for a value slot of the entry (histogram buckets), if any.
    ///   - stale: the entry is being removed for staleness: every series gets one staleness marker instead.
    func emit(
        values: UnsafeBufferPointer<Double>,
        plan: LabelPlan,
        timestampMs: Int64,
        initialZeroMs: Int64?,
        stale: Bool = false,
        scratch: inout CollectionScratch,
        column: (Int) -> UnsafeRawBufferPointer,
        exemplar: (Int) -> StoredExemplar?,
        into sink: inout some SampleSink
    ) {
        func series(
            _ metric: Metric,
            _ type: MetricType,
            name: Int,
            bound: UnsafeRawBufferPointer? = nil,
            _ value: Double,
            zero: Int64?,
            exemplar: StoredExemplar? = nil
        ) {
            let sample = CollectionScratch.Series(
                family: metric.name,
                type: type,
                name: names[name],
                bucketBound: bound,
                value: stale ? Sample.staleMarkerValue : value,
                timestampMs: timestampMs,
                initialZeroMs: stale ? nil : zero,
                exemplar: stale ? nil : exemplar
            )
            scratch.emit(sample, plan: plan, column: column, into: &sink)
        }
        for (metricIndex, metric) in metrics.enumerated() {
            let first = nameIndex[metricIndex]
            switch metric.kind {
            case .counter:
                series(metric, .counter, name: first, values[metric.offset], zero: initialZeroMs)
            case .gauge:
                series(metric, .gauge, name: first, values[metric.offset], zero: nil)
            case .histogram(let bounds):
                series(metric, .histogram, name: first + 1, values[metric.offset + 1], zero: initialZeroMs)
                // Tempo gives `_sum` no initial zero (spec §5.3).
                series(metric, .histogram, name: first, values[metric.offset], zero: nil)
                var cumulative = 0.0
                for bucket in 0...bounds.count {
                    let slot = metric.offset + 2 + bucket
                    cumulative += values[slot]
                    series(
                        metric,
                        .histogram,
                        name: first + 2,
                        bound: names[first + 3 + bucket],
                        cumulative,
                        zero: initialZeroMs,
                        exemplar: exemplar(slot)
                    )
                }
            }
        }
    }
}
