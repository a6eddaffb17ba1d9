import MetronomeGenerator

extension MetricsGeneratorSection {
    /// `metrics_generator.processor.service_graphs`, and the same keys in an overrides block: Tempo's keys
    /// (`workers` is accepted and has no effect: expiry runs every second), plus Metronome's `max_pending_bytes` and
    /// `enable_server_to_server_edges`, decoded onto ``ProcessorSectionBase/current``. An overrides block takes only
    /// the keys Tempo lets a tenant override.
    public struct ServiceGraphs: Decodable, Sendable, Equatable {
        public var processorConfiguration = ServiceGraphsProcessor.Configuration()

        public init(_ processorConfiguration: ServiceGraphsProcessor.Configuration = .init()) {
            self.processorConfiguration = processorConfiguration
        }

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

            /// The keys Tempo's per-tenant overrides have (spec §6).
            static let overridable: [Self] = [
                .histogramBuckets, .dimensions, .peerAttributes, .filterPolicies, .enableClientServerPrefix,
                .enableMessagingSystemLatencyHistogram, .enableVirtualNodeLabel, .spanMultiplierKey,
                .enableTracestateSpanMultiplier,
            ]
        }

        public init(from decoder: any Decoder) throws {
            let base = ProcessorSectionBase.current
            let keys = try decoder.strictContainer(
                CodingKeys.self,
                allowed: base.isOverride ? CodingKeys.overridable : nil
            )
            var configuration = base.serviceGraphs
            configuration.waitMs = try keys.value(.wait, or: ConfigDuration(milliseconds: configuration.waitMs))
                .milliseconds
            configuration.maxItems = try keys.value(.maxItems, or: configuration.maxItems)
            configuration.maxPendingBytes = try keys.value(
                .maxPendingBytes,
                or: ConfigByteSize(bytes: configuration.maxPendingBytes)
            ).bytes
            _ = try keys.value(.workers, or: 0)
            configuration.histogramBuckets = try keys.value(.histogramBuckets, or: configuration.histogramBuckets)
            configuration.dimensions = try keys.value(.dimensions, or: configuration.dimensions)
            let prefix = try keys.value(.enableClientServerPrefix, or: configuration.enableClientServerPrefix)
            // Tempo applies only `true` from an override (spec §6).
            configuration.enableClientServerPrefix =
                base.isOverride ? configuration.enableClientServerPrefix || prefix : prefix
            configuration.enableMessagingSystemLatencyHistogram = try keys.value(
                .enableMessagingSystemLatencyHistogram,
                or: configuration.enableMessagingSystemLatencyHistogram
            )
            configuration.peerAttributes = try keys.value(.peerAttributes, or: configuration.peerAttributes)
            configuration.databaseNameAttributes = try keys.value(
                .databaseNameAttributes,
                or: configuration.databaseNameAttributes
            )
            let multiplierKey = try keys.value(.spanMultiplierKey, or: configuration.spanMultiplierKey)
            if !(base.isOverride && multiplierKey.isEmpty) { configuration.spanMultiplierKey = multiplierKey }
            configuration.enableTracestateSpanMultiplier = try keys.value(
                .enableTracestateSpanMultiplier,
                or: configuration.enableTracestateSpanMultiplier
            )
            configuration.enableVirtualNodeLabel = try keys.value(
                .enableVirtualNodeLabel,
                or: configuration.enableVirtualNodeLabel
            )
            if keys.contains(.filterPolicies) {
                configuration.filterPolicies = try keys.value(.filterPolicies, or: [FilterPolicySection]()).map(
                    \.policy
                )
            }
            configuration.enableServerToServerEdges = try keys.value(
                .enableServerToServerEdges,
                or: configuration.enableServerToServerEdges
            )
            do {
                try configuration.validate()
            } catch {
                throw ConfigurationError(problem: error, in: decoder.codingPath)
            }
            processorConfiguration = configuration
        }
    }
}
