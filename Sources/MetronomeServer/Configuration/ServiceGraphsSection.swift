import MetronomeGenerator

extension MetricsGeneratorSection {
    /// `metrics_generator.processor.service_graphs`: Tempo's keys (`workers` is accepted and has no effect: expiry
    /// runs every second), plus Metronome's `max_pending_bytes` and `enable_server_to_server_edges`.
    public struct ServiceGraphs: Decodable, Sendable, Equatable {
        public var processorConfiguration = ServiceGraphsProcessor.Configuration()

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case wait
            case maxItems = "max_items"
            case maxPendingBytes = "max_pending_bytes"
            case workers
            case histogramBuckets = "histogram_buckets"
            case dimensions
            case enableClientServerPrefix = "enable_client_server_prefix"
            case enableMessagingSystemLatencyHistogram = "enable_messaging_system_latency_histogram"
            case peerAttributes = "peer_attributes"
            case databaseNameAttributes = "database_name_attributes"
            case spanMultiplierKey = "span_multiplier_key"
            case enableTracestateSpanMultiplier = "enable_tracestate_span_multiplier"
            case enableVirtualNodeLabel = "enable_virtual_node_label"
            case filterPolicies = "filter_policies"
            case enableServerToServerEdges = "enable_server_to_server_edges"
        }

        public init(from decoder: any Decoder) throws {
            let keys = try decoder.strictContainer(CodingKeys.self)
            let path = { (key: CodingKeys) in ConfigurationError.path(decoder.codingPath + [key]) }
            var configuration = ServiceGraphsProcessor.Configuration()
            configuration.waitMs = try keys.value(.wait, or: ConfigDuration(milliseconds: configuration.waitMs))
                .milliseconds
            configuration.maxItems = try keys.value(.maxItems, or: configuration.maxItems)
            configuration.maxPendingBytes = try keys.value(
                .maxPendingBytes,
                or: ConfigByteSize(bytes: configuration.maxPendingBytes)
            ).bytes
            _ = try keys.value(.workers, or: 0)
            configuration.histogramBuckets = try keys.value(.histogramBuckets, or: configuration.histogramBuckets)
            try Self.checkBuckets(configuration.histogramBuckets, path: path(.histogramBuckets))
            configuration.dimensions = try keys.value(.dimensions, or: [])
            configuration.enableClientServerPrefix = try keys.value(.enableClientServerPrefix, or: false)
            configuration.enableMessagingSystemLatencyHistogram = try keys.value(
                .enableMessagingSystemLatencyHistogram,
                or: false
            )
            configuration.peerAttributes = try keys.value(.peerAttributes, or: configuration.peerAttributes)
            configuration.databaseNameAttributes = try keys.value(
                .databaseNameAttributes,
                or: configuration.databaseNameAttributes
            )
            configuration.spanMultiplierKey = try keys.value(.spanMultiplierKey, or: "")
            configuration.enableTracestateSpanMultiplier = try keys.value(.enableTracestateSpanMultiplier, or: false)
            configuration.enableVirtualNodeLabel = try keys.value(.enableVirtualNodeLabel, or: false)
            configuration.filterPolicies = try keys.value(.filterPolicies, or: [FilterPolicySection]()).map(\.policy)
            configuration.enableServerToServerEdges = try keys.value(.enableServerToServerEdges, or: false)
            guard configuration.maxItems > 0 else {
                throw ConfigurationError(path: path(.maxItems), message: "must be positive")
            }
            processorConfiguration = configuration
        }

        /// Histogram buckets must be finite and distinct (their order does not matter).
        static func checkBuckets(_ buckets: [Double], path: String) throws {
            let sorted = buckets.sorted()
            guard zip(sorted, sorted.dropFirst()).allSatisfy({ $0 < $1 }), sorted.allSatisfy(\.isFinite) else {
                throw ConfigurationError(path: path, message: "buckets must be finite and distinct")
            }
        }
    }
}
