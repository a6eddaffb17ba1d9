import MetronomeWire

/// The metrics one entry of a processor's table carries, and where each keeps its values among the entry's doubles.
///
/// A counter or a gauge takes one double; a classic histogram takes its sum, its count and one non-cumulative count per bucket
/// (the last is `+Inf`), made cumulative only at collection so an observation is two additions and one bucket add. A
/// native histogram (`native` or `both` mode) takes one ``NativeHistogram`` of the entry's native slots.
struct MetricLayout: Sendable {
    enum Kind: Sendable {
        /// Cumulative; a new series first emits an initial zero (spec §5.2).
        case counter
        /// Set, not added; no initial zero (spec §5.5).
        case gauge
        /// A latency histogram: classic with `bounds`, native, or both, as `native.mode` says.
        case histogram(bounds: [Double], native: NativeHistogramSettings = NativeHistogramSettings())
    }

    struct Metric: Sendable {
        let name: String
        let kind: Kind
        /// Offset of the metric's first double within an entry; -1 for a native-only histogram.
        let offset: Int
        /// The metric's native-histogram slot within an entry, or -1.
        let nativeSlot: Int
    }

    let metrics: [Metric]
    /// Doubles per entry.
    let width: Int
    /// Native histograms per entry, and the settings of each.
    let nativeSettings: [NativeHistogramSettings]
    /// `__name__` values (counter names; histogram `_count`, `_sum`, `_bucket` names) and `le` values.
    let names: StaticBytes
    private let nameIndex: [Int]

    init(_ definitions: [(name: String, kind: Kind)]) {
        var metrics: [Metric] = []
        var offset = 0
        var strings: [String] = []
        var nameIndex: [Int] = []
        var nativeSettings: [NativeHistogramSettings] = []
        for definition in definitions {
            nameIndex.append(strings.count)
            switch definition.kind {
            case .counter, .gauge:
                metrics.append(Metric(name: definition.name, kind: definition.kind, offset: offset, nativeSlot: -1))
                offset += 1
                strings.append(definition.name)
            case .histogram(let bounds, let native):
                let nativeSlot = native.writesNative ? nativeSettings.count : -1
                if native.writesNative { nativeSettings.append(native) }
                metrics.append(
                    Metric(
                        name: definition.name,
                        kind: definition.kind,
                        offset: native.writesClassic ? offset : -1,
                        nativeSlot: nativeSlot
                    )
                )
                // The native series is named as the family; the classic names follow it.
                strings.append(definition.name)
                guard native.writesClassic else { continue }
                offset += 2 + bounds.count + 1
                strings += [definition.name + "_sum", definition.name + "_count", definition.name + "_bucket"]
                strings += bounds.map(DecimalFormatter.string) + ["+Inf"]
            }
        }
        self.metrics = metrics
        self.width = offset
        self.nativeSettings = nativeSettings
        self.names = StaticBytes(strings)
        self.nameIndex = nameIndex
    }

    /// Where the metric named `name` keeps its values in an entry, or -1 when the layout has no such metric (a
    /// disabled sub-processor).
    func offset(of name: String) -> Int { metrics.first { $0.name == name }?.offset ?? -1 }

    /// The native-histogram slot of the metric named `name`, or -1 when it has none.
    func nativeSlot(of name: String) -> Int { metrics.first { $0.name == name }?.nativeSlot ?? -1 }

    /// An entry's native histograms when it is created.
    func newNativeHistograms(nowMs: Int64) -> [NativeHistogram] {
        nativeSettings.map { NativeHistogram(schema: $0.schema, nowMs: nowMs) }
    }

    /// The number of Prometheus series one entry emits (Tempo's series cost: 1 per counter or gauge, buckets + 3
    /// per classic histogram, 1 per native one, spec §5.3, §5.4).
    var seriesPerEntry: Int {
        metrics.reduce(0) { total, metric in
            switch metric.kind {
            case .counter, .gauge: total + 1
            case .histogram(let bounds, let native):
                total + (native.writesClassic ? bounds.count + 3 : 0) + (native.writesNative ? 1 : 0)
            }
        }
    }

    /// Emits every series of one entry.
    /// - Parameters:
    ///   - values: the entry's doubles.
    ///   - natives: the entry's native histograms.
    ///   - initialZeroMs: when the entry is new, the time of its initial zero sample (spec §5.2, §5.3).
    ///   - exemplar: the exemplar stored for a value slot of the entry (histogram buckets), if any.
    ///   - stale: the entry is being removed for staleness: every series gets one staleness marker instead.
    func emit(
        values: UnsafeBufferPointer<Double>,
        natives: UnsafeBufferPointer<NativeHistogram>,
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
            case .histogram(let bounds, let native):
                if metric.offset >= 0 {
                    // Spec §5.4: in `both` mode the classic series come first.
                    let first = first + 1
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
                guard metric.nativeSlot >= 0 else { continue }
                if stale {
                    series(metric, .histogram, name: first, 0, zero: nil)
                    continue
                }
                scratch.emitNative(
                    natives[metric.nativeSlot],
                    family: metric.name,
                    name: names[first],
                    timestampMs: timestampMs,
                    initialZeroMs: initialZeroMs,
                    // Spec §5.4: in `both` mode the exemplars are the classic buckets'.
                    exemplars: native.mode == .native,
                    plan: plan,
                    column: column,
                    into: &sink
                )
            }
        }
    }
}
