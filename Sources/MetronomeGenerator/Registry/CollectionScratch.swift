import MetronomeWire

/// Buffers reused across the series of one collection run.
struct CollectionScratch {
    /// One series to emit.
    struct Series {
        var family: String
        var type: MetricType
        var name: UnsafeRawBufferPointer
        var bucketBound: UnsafeRawBufferPointer?
        var value: Double
        var timestampMs: Int64
        var initialZeroMs: Int64?
        var exemplar: StoredExemplar?
    }

    var labels: [LabelRef] = []
    var samples: [Sample] = []
    var traceIDHex: [UInt8] = []
    /// A native series' samples, their arrays reused from series to series.
    var histograms: [NativeHistogramSample] = []
    /// A native series' exemplars' trace ids in hex, back to back, and where each ends.
    var exemplarHex: [UInt8] = []
    var exemplarEnds: [Int] = []
    var exemplarRefs: [ExemplarRef] = []
    /// The exemplar label name (`trace_id_label_name`, default `traceID`).
    let exemplarLabel: StaticBytes

    init(exemplarLabel: String) {
        self.exemplarLabel = StaticBytes([exemplarLabel])
    }

    mutating func emit(
        _ series: Series,
        plan: LabelPlan,
        column: (Int) -> UnsafeRawBufferPointer,
        into sink: inout some SampleSink
    ) {
        samples.removeAll(keepingCapacity: true)
        if let zero = series.initialZeroMs { samples.append(Sample(value: 0, timestampMs: zero)) }
        samples.append(Sample(value: series.value, timestampMs: series.timestampMs))
        let samples = self.samples
        let hasExemplar = series.exemplar.map { $0.appendTraceIDHex(to: &traceIDHex) } ?? false
        let hex = traceIDHex
        let label = exemplarLabel[0]
        plan.withLabels(name: series.name, bucketBound: series.bucketBound, scratch: &labels, column: column) {
            labels in
            samples.withUnsafeBufferPointer { samples in
                hex.withUnsafeBytes { hex in
                    let exemplar =
                        hasExemplar
                        ? ExemplarRef(
                            labelName: label,
                            labelValue: hex,
                            value: series.exemplar!.value,
                            timestampMs: series.timestampMs
                        ) : nil
                    sink.append(
                        family: series.family,
                        type: series.type,
                        labels: labels,
                        samples: samples,
                        exemplar: exemplar
                    )
                }
            }
        }
    }

    /// Emits a native-histogram series: for a new series an empty histogram of the same schema at `initialZeroMs`,
    /// then `histogram` at `timestampMs`, with its exemplars sorted by value when `exemplars` (spec §5.4).
    mutating func emitNative(
        _ histogram: NativeHistogram,
        family: String,
        name: UnsafeRawBufferPointer,
        timestampMs: Int64,
        initialZeroMs: Int64?,
        exemplars: Bool,
        plan: LabelPlan,
        column: (Int) -> UnsafeRawBufferPointer,
        into sink: inout some SampleSink
    ) {
        let sampleCount = initialZeroMs == nil ? 1 : 2
        while histograms.count < sampleCount {
            histograms.append(NativeHistogramSample(schema: 0, zeroThreshold: 0, timestampMs: 0))
        }
        if let zero = initialZeroMs {
            NativeHistogram(schema: histogram.schema, nowMs: zero).export(timestampMs: zero, into: &histograms[0])
        }
        histogram.export(timestampMs: timestampMs, into: &histograms[sampleCount - 1])
        exemplarHex.removeAll(keepingCapacity: true)
        exemplarEnds.removeAll(keepingCapacity: true)
        var values: [Double] = []
        if exemplars && !histogram.exemplars.isEmpty {
            for exemplar in histogram.exemplars.sorted(by: { $0.value < $1.value })
            where exemplar.appendTraceIDHex(to: &traceIDHex) {
                exemplarHex += traceIDHex
                exemplarEnds.append(exemplarHex.count)
                values.append(exemplar.value)
            }
        }
        let label = exemplarLabel[0]
        let hex = exemplarHex
        let ends = exemplarEnds
        let samples = histograms
        var refs = exemplarRefs
        plan.withLabels(name: name, bucketBound: nil, scratch: &labels, column: column) { labels in
            hex.withUnsafeBytes { hex in
                refs.removeAll(keepingCapacity: true)
                var start = 0
                for (index, end) in ends.enumerated() {
                    refs.append(
                        ExemplarRef(
                            labelName: label,
                            labelValue: UnsafeRawBufferPointer(rebasing: hex[start..<end]),
                            value: values[index],
                            timestampMs: timestampMs
                        )
                    )
                    start = end
                }
                samples.withUnsafeBufferPointer { samples in
                    refs.withUnsafeBufferPointer { refs in
                        sink.appendHistogram(
                            family: family,
                            labels: labels,
                            histograms: UnsafeBufferPointer(rebasing: samples[0..<sampleCount]),
                            exemplars: refs
                        )
                    }
                }
            }
        }
        exemplarRefs = refs
    }
}
