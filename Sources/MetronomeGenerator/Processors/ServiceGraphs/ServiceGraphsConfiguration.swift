extension ServiceGraphsProcessor {
    /// The `metrics_generator.processor.service_graphs` settings (spec §3.1), plus Metronome's own.
    public struct Configuration: Sendable, Equatable {
        /// Tempo's latency buckets in seconds: 0.1 × 2^k for k in 0..<8.
        public static let defaultHistogramBuckets: [Double] = (0..<8).map { 0.1 * Double(1 << $0) }

        /// How long a half-edge waits for its other half (`wait`, default 10 s).
        public var waitMs: Int64 = 10_000
        /// Pending half-edges at most (`max_items`); Metronome's default is 1,000,000 where Tempo's 10,000 loses edges
        /// under load. Also the capacity for dropped-side markers.
        public var maxItems = 1_000_000
        /// Heap bytes the pending half-edges may hold at most (Metronome's `max_pending_bytes`, default 512 MiB).
        public var maxPendingBytes = 512 << 20
        /// Upper bounds of the latency histograms, seconds.
        public var histogramBuckets: [Double] = Self.defaultHistogramBuckets
        /// Attribute keys (resource first, then span) whose values become labels (spec §3.7).
        public var dimensions: [String] = []
        /// Whether each dimension becomes `client_<d>` and `server_<d>`, valued from each side's span.
        public var enableClientServerPrefix = false
        /// Whether `traces_service_graph_request_messaging_system_seconds` is made.
        public var enableMessagingSystemLatencyHistogram = false
        /// Span attributes naming the peer of a span, for virtual nodes (spec §3.8), first present wins.
        public var peerAttributes = ["peer.service", "db.name", "db.system", "db.system.name"]
        /// Attributes marking a client span as a database call and naming the database (spec §3.5).
        public var databaseNameAttributes = ["db.namespace", "db.name", "db.system", "db.system.name"]
        /// The attribute holding a span's sampling ratio (spec §3.10).
        public var spanMultiplierKey = ""
        /// Whether the W3C tracestate `ot=th:` threshold sets the multiplier.
        public var enableTracestateSpanMultiplier = false
        /// Whether edges to and from virtual nodes get `virtual_node="client"|"server"`.
        public var enableVirtualNodeLabel = false
        /// Which spans take part (spec §3.3, §3.6); none means all.
        public var filterPolicies: [FilterPolicy] = []
        /// Metronome's: a SERVER span whose parent is a SERVER span of another service (no client span between,
        /// e.g. behind an uninstrumented proxy) makes an edge between the two services.
        public var enableServerToServerEdges = false
        /// Which metrics are made (the sub-processors).
        public var metrics: Metrics = [.request, .latency]

        public init() {}
    }

    /// The service-graph metrics, by sub-processor (spec §3.1).
    public struct Metrics: OptionSet, Sendable, Equatable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// `…_request_total` and `…_request_failed_total` (`service-graphs-request`).
        public static let request = Metrics(rawValue: 1)
        /// The latency histograms (`service-graphs-latency`).
        public static let latency = Metrics(rawValue: 2)
        /// `traces_service_graph_connection_info` (`service-graphs-connection-info`).
        public static let connectionInfo = Metrics(rawValue: 4)

        /// The metrics a processor list enables: `service-graphs` means request and latency; each sub-processor name
        /// adds its own. Empty when service graphs are off.
        public static func enabled(by processors: [String]) -> Metrics {
            var metrics: Metrics = processors.contains(ServiceGraphsProcessor.name) ? [.request, .latency] : []
            for sub in subProcessors where processors.contains(sub.name) { metrics.insert(sub.metrics) }
            return metrics
        }

        /// The sub-processor names and the metrics each enables.
        static let subProcessors: [(name: String, metrics: Metrics)] = [
            ("service-graphs-request", .request), ("service-graphs-latency", .latency),
            ("service-graphs-connection-info", .connectionInfo),
        ]
    }
}

extension ServiceGraphsProcessor.Configuration {
    /// Checks that the processor can be made from these settings.
    /// - Throws: ``ConfigurationProblem`` naming what is wrong.
    public func validate() throws(ConfigurationProblem) {
        try HistogramBounds.validate(histogramBuckets)
        guard maxItems > 0 else { throw ConfigurationProblem("must be positive", key: "max_items") }
        guard waitMs > 0 else { throw ConfigurationProblem("must be positive", key: "wait") }
    }
}
