/// One label of an emitted series: name and value bytes, valid only during the ``SampleSink`` call that receives it.
public struct LabelRef {
    public var name: UnsafeRawBufferPointer
    public var value: UnsafeRawBufferPointer

    @inlinable
    public init(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        self.name = name
        self.value = value
    }
}

/// One sample: a value at a time in milliseconds since the Unix epoch.
public struct Sample: Equatable, Sendable {
    public var value: Double
    public var timestampMs: Int64

    @inlinable
    public init(value: Double, timestampMs: Int64) {
        self.value = value
        self.timestampMs = timestampMs
    }

    /// Prometheus' staleness marker: a NaN with this exact bit pattern ends a series at once, instead of after the
    /// 5-minute lookback.
    public static let staleMarkerValue = Double(bitPattern: 0x7FF0_0000_0000_0002)

    /// Whether this sample is a staleness marker.
    public var isStaleMarker: Bool { value.bitPattern == Self.staleMarkerValue.bitPattern }

    public static func == (lhs: Sample, rhs: Sample) -> Bool {
        lhs.value.bitPattern == rhs.value.bitPattern && lhs.timestampMs == rhs.timestampMs
    }
}

/// An exemplar attached to a series' sample: one label (the trace id), a value and a time; borrowed like ``LabelRef``.
public struct ExemplarRef {
    public var labelName: UnsafeRawBufferPointer
    public var labelValue: UnsafeRawBufferPointer
    public var value: Double
    public var timestampMs: Int64

    @inlinable
    public init(
        labelName: UnsafeRawBufferPointer,
        labelValue: UnsafeRawBufferPointer,
        value: Double,
        timestampMs: Int64
    ) {
        self.labelName = labelName
        self.labelValue = labelValue
        self.value = value
        self.timestampMs = timestampMs
    }
}

/// The kind of a metric family, as the Prometheus text format names it.
public enum MetricType: String, Sendable {
    case counter, gauge, histogram
}

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
}
