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
    func emit(
        values: UnsafeBufferPointer<Double>,
        plan: LabelPlan,
        timestampMs: Int64,
        initialZeroMs: Int64?,
        scratch: inout CollectionScratch,
        column: (Int) -> UnsafeRawBufferPointer,
        into sink: inout some SampleSink
    ) {
        for (metricIndex, metric) in metrics.enumerated() {
            let first = nameIndex[metricIndex]
            switch metric.kind {
            case .counter:
                scratch.emit(
                    family: metric.name,
                    type: .counter,
                    name: names[first],
                    bucketBound: nil,
                    value: values[metric.offset],
                    timestampMs: timestampMs,
                    initialZeroMs: initialZeroMs,
                    plan: plan,
                    column: column,
                    into: &sink
                )
            case .gauge:
                scratch.emit(
                    family: metric.name,
                    type: .gauge,
                    name: names[first],
                    bucketBound: nil,
                    value: values[metric.offset],
                    timestampMs: timestampMs,
                    initialZeroMs: nil,
                    plan: plan,
                    column: column,
                    into: &sink
                )
            case .histogram(let bounds):
                let sum = values[metric.offset]
                let count = values[metric.offset + 1]
                scratch.emit(
                    family: metric.name,
                    type: .histogram,
                    name: names[first + 1],
                    bucketBound: nil,
                    value: count,
                    timestampMs: timestampMs,
                    initialZeroMs: initialZeroMs,
                    plan: plan,
                    column: column,
                    into: &sink
                )
                // Tempo gives `_sum` no initial zero (spec §5.3).
                scratch.emit(
                    family: metric.name,
                    type: .histogram,
                    name: names[first],
                    bucketBound: nil,
                    value: sum,
                    timestampMs: timestampMs,
                    initialZeroMs: nil,
                    plan: plan,
                    column: column,
                    into: &sink
                )
                var cumulative = 0.0
                for bucket in 0...bounds.count {
                    cumulative += values[metric.offset + 2 + bucket]
                    scratch.emit(
                        family: metric.name,
                        type: .histogram,
                        name: names[first + 2],
                        bucketBound: names[first + 3 + bucket],
                        value: cumulative,
                        timestampMs: timestampMs,
                        initialZeroMs: initialZeroMs,
                        plan: plan,
                        column: column,
                        into: &sink
                    )
                }
            }
        }
    }
}

/// Buffers reused across the series of one collection run.
struct CollectionScratch {
    var labels: [LabelRef] = []
    var samples: [Sample] = []

    mutating func emit(
        family: String,
        type: MetricType,
        name: UnsafeRawBufferPointer,
        bucketBound: UnsafeRawBufferPointer?,
        value: Double,
        timestampMs: Int64,
        initialZeroMs: Int64?,
        plan: LabelPlan,
        column: (Int) -> UnsafeRawBufferPointer,
        into sink: inout some SampleSink
    ) {
        samples.removeAll(keepingCapacity: true)
        if let initialZeroMs { samples.append(Sample(value: 0, timestampMs: initialZeroMs)) }
        samples.append(Sample(value: value, timestampMs: timestampMs))
        let samples = self.samples
        plan.withLabels(name: name, bucketBound: bucketBound, scratch: &labels, column: column) { labels in
            samples.withUnsafeBufferPointer { samples in
                sink.append(family: family, type: type, labels: labels, samples: samples)
            }
        }
    }
}
