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
}
