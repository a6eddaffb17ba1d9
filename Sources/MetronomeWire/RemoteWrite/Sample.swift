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
