extension SpanMetricsProcessor {
    /// The `metrics_generator.processor.span_metrics` settings (spec §2).
    public struct Configuration: Sendable, Equatable {
        /// Tempo's default latency buckets in seconds: 0.002 × 2^k for k in 0..<14 (spec §2.1).
        public static let defaultHistogramBuckets: [Double] = (0..<14).map { 0.002 * Double(1 << $0) }

        /// Upper bounds of the latency histogram, seconds; sorted ascending when the processor is made, `+Inf`
        /// implied.
        public var histogramBuckets: [Double] = Self.defaultHistogramBuckets
        /// Which intrinsic labels series carry.
        public var intrinsicDimensions = IntrinsicDimensions()

        public init() {}
    }

    /// The intrinsic labels and whether each is on (spec §2.3: all but `status_message` by default).
    public struct IntrinsicDimensions: Sendable, Equatable {
        public var service = true
        public var spanName = true
        public var spanKind = true
        public var statusCode = true
        public var statusMessage = false

        public init() {}
    }
}
