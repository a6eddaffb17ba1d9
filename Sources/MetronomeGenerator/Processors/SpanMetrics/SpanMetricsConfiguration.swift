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
        /// Attribute keys whose values become labels (resource first, then span; spec §2.4).
        public var dimensions: [String] = []
        /// Labels made by joining several attributes' values (spec §2.4).
        public var dimensionMappings: [DimensionMapping] = []
        /// The attribute holding a span's sampling ratio; calls and latency count `1 / ratio` (spec §2.7).
        public var spanMultiplierKey = ""
        /// Whether the W3C tracestate `ot=th:` sampling threshold sets the multiplier (spec §2.7).
        public var enableTracestateSpanMultiplier = false
        /// Which spans count (spec §2.8); none means all.
        public var filterPolicies: [FilterPolicy] = []
        /// Which of the three metrics are made (the sub-processors of spec §2.1).
        public var metrics = Metrics.all
        /// Whether resources get a `traces_target_info` series and span series get `job`/`instance` (spec §2.5).
        public var enableTargetInfo = false
        /// Resource attribute keys left out of target_info.
        public var targetInfoExcludedDimensions: [String] = []
        /// Whether `instance` (from `service.instance.id`) is a label, with target_info on.
        public var enableInstanceLabel = true

        public init() {}
    }

    /// The span-metrics metrics, each enabled by its sub-processor name or all by `span-metrics` (spec §2.1).
    public struct Metrics: OptionSet, Sendable, Equatable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// `traces_spanmetrics_calls_total` (`span-metrics-count`).
        public static let calls = Metrics(rawValue: 1)
        /// `traces_spanmetrics_latency` (`span-metrics-latency`).
        public static let latency = Metrics(rawValue: 2)
        /// `traces_spanmetrics_size_total` (`span-metrics-size`).
        public static let size = Metrics(rawValue: 4)
        public static let all: Metrics = [.calls, .latency, .size]

        /// The metrics a processor list enables: all for `span-metrics`, else those of the listed sub-processors
        /// (exact-case names, as Tempo matches them). Empty when span metrics are off.
        ///
        /// Deliberate deviation: Tempo forces default buckets in sub-processor mode (spec §2.1 QUIRK); configured
        /// buckets apply here.
        public static func enabled(by processors: [String]) -> Metrics {
            if processors.contains(SpanMetricsProcessor.name) { return .all }
            return subProcessors.reduce(into: []) { metrics, sub in
                if processors.contains(sub.name) { metrics.insert(sub.metrics) }
            }
        }

        /// The sub-processor names and the metric each enables.
        static let subProcessors: [(name: String, metrics: Metrics)] = [
            ("span-metrics-count", .calls), ("span-metrics-latency", .latency), ("span-metrics-size", .size),
        ]
    }

    /// A `dimension_mappings` entry: label `name` = the present values of `sourceLabels`, joined by `join`.
    public struct DimensionMapping: Sendable, Equatable {
        public var name: String
        public var sourceLabels: [String]
        public var join: String

        public init(name: String, sourceLabels: [String], join: String = "") {
            self.name = name
            self.sourceLabels = sourceLabels
            self.join = join
        }
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
