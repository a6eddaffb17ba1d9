/// Receives the series of one collection run, each with its labels sorted by name and its samples in time order.
///
/// Collection calls a sink while it holds a registry shard's lock, handing it borrowed label bytes, so producing
/// remote-write protobuf or Prometheus text costs no intermediate objects.
public protocol SampleSink {
    /// Appends one series.
    /// - Parameters:
    ///   - family: the metric family's name (a histogram's base name for its `_bucket`, `_sum` and `_count`).
    ///   - type: the family's type.
    ///   - labels: every label including `__name__`, sorted by name.
    ///   - samples: one or more samples in ascending time order.
    ///   - exemplar: an exemplar for the series (histogram buckets), if any.
    mutating func append(
        family: String,
        type: MetricType,
        labels: UnsafeBufferPointer<LabelRef>,
        samples: UnsafeBufferPointer<Sample>,
        exemplar: ExemplarRef?
    )

    /// Appends one native-histogram series.
    /// - Parameters:
    ///   - family: the metric family's name, which is also the series' `__name__`.
    ///   - labels: every label including `__name__`, sorted by name.
    ///   - histograms: one or more samples in ascending time order.
    ///   - exemplars: the series' exemplars, sorted by value.
    mutating func appendHistogram(
        family: String,
        labels: UnsafeBufferPointer<LabelRef>,
        histograms: UnsafeBufferPointer<NativeHistogramSample>,
        exemplars: UnsafeBufferPointer<ExemplarRef>
    )
}
