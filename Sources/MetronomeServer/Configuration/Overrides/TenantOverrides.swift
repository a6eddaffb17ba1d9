import Foundation
import MetronomeGenerator

/// One block of overrides in Tempo's scoped format: `overrides.defaults` in the main file, or a tenant's (or `*`'s)
/// block in the per-tenant overrides file. Every key of Tempo's overrides schema is accepted; those Metronome does
/// not apply are listed in ``notApplied``.
public struct TenantOverrides: Decodable, Sendable, Equatable {
    /// `ingestion`: the tenant's rate limit (`rate_limit_bytes`, `burst_size_bytes`; `rate_strategy` is `local`,
    /// and `global` is read as `local`: one instance is the whole cluster).
    var ingestion = IngestionRateLimiter.Configuration()
    /// `metrics_generator`.
    public var generator = GeneratorOverrides()
    /// `forwarders`: the names of the `distributor.forwarders` the tenant's requests go to.
    public var forwarders: [String] = []
    /// Dotted paths of the keys set here that Metronome accepts and does not apply.
    public var notApplied: [String] = []

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case ingestion
        case metricsGenerator = "metrics_generator"
        case read, compaction, global, storage, forwarders
        case costAttribution = "cost_attribution"

        /// Sections of Tempo's schema for parts Metronome does not have (queries, compaction, trace storage):
        /// their contents are accepted as they are.
        static let otherComponents: [Self] = [.read, .compaction, .global, .storage, .costAttribution]
    }

    enum IngestionKeys: String, CodingKey, CaseIterable {
        case rateStrategy = "rate_strategy"
        case rateLimitBytes = "rate_limit_bytes"
        case burstSizeBytes = "burst_size_bytes"
        case maxTracesPerUser = "max_traces_per_user"
        case maxGlobalTracesPerUser = "max_global_traces_per_user"
        case tenantShardSize = "tenant_shard_size"
        case maxAttributeBytes = "max_attribute_bytes"
        case artificialDelay = "artificial_delay"
        case retryInfoEnabled = "retry_info_enabled"

        static let applied: Set<Self> = [.rateStrategy, .rateLimitBytes, .burstSizeBytes]
    }

    public init(from decoder: any Decoder) throws {
        try Self.rejectLegacyKeys(decoder)
        let keys = try decoder.strictContainer(CodingKeys.self)
        if keys.contains(.ingestion) {
            let ingestion = try keys.superDecoder(forKey: .ingestion).strictContainer(IngestionKeys.self)
            self.ingestion = try Self.rateLimit(ingestion)
            for key in IngestionKeys.allCases where ingestion.contains(key) && !IngestionKeys.applied.contains(key) {
                notApplied.append("ingestion.\(key.stringValue)")
            }
        }
        generator = try keys.value(.metricsGenerator, or: GeneratorOverrides())
        forwarders = try keys.value(.forwarders, or: [])
        notApplied += generator.notApplied.map { "metrics_generator.\($0)" }
        for key in CodingKeys.otherComponents where keys.contains(key) { notApplied.append(key.stringValue) }
    }

    private static func rateLimit(_ keys: KeyedDecodingContainer<IngestionKeys>) throws
        -> IngestionRateLimiter.Configuration
    {
        var ingestion = IngestionRateLimiter.Configuration()
        ingestion.rateLimitBytes = try keys.decodeIfPresent(ConfigByteSize.self, forKey: .rateLimitBytes)?.bytes ?? 0
        ingestion.burstSizeBytes = try keys.decodeIfPresent(ConfigByteSize.self, forKey: .burstSizeBytes)?.bytes ?? 0
        let strategy = try keys.value(.rateStrategy, or: "local")
        guard strategy == "local" || strategy == "global" else {
            throw ConfigurationError(
                path: ConfigurationError.path(keys.codingPath + [IngestionKeys.rateStrategy]),
                message: "'\(strategy)' is not a rate strategy; use local or global"
            )
        }
        return ingestion
    }

    /// Tempo's legacy flat keys (`metrics_generator_processors`, `ingestion_rate_limit_bytes`, …) get an error that
    /// says how to write them in the scoped format.
    private static func rejectLegacyKeys(_ decoder: any Decoder) throws {
        let all = try decoder.container(keyedBy: AnyCodingKey.self)
        for key in all.allKeys {
            let name = key.stringValue
            let scoped: String
            if name.hasPrefix("metrics_generator_") {
                scoped =
                    "metrics_generator."
                    + name.dropFirst("metrics_generator_".count)
                    .replacingOccurrences(of: "processor_span_metrics_", with: "processor.span_metrics.")
                    .replacingOccurrences(of: "processor_service_graphs_", with: "processor.service_graphs.")
            } else if name.hasPrefix("ingestion_") {
                scoped = "ingestion." + name.dropFirst("ingestion_".count)
            } else {
                continue
            }
            throw ConfigurationError(
                path: ConfigurationError.path(decoder.codingPath + [key]),
                message: "'\(name)' is Tempo's legacy flat format, which Metronome does not read; write it scoped, as "
                    + "\(scoped) (for example metrics_generator: {processors: [span-metrics]})"
            )
        }
    }
}
