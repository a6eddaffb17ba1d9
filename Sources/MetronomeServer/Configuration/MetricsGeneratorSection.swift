import MetronomeGenerator
import MetronomeRemoteWrite

/// `metrics_generator`: ingestion window, registry, storage (remote write) and processor settings.
public struct MetricsGeneratorSection: Decodable, Sendable, Equatable {
    /// Spans ending further than this from now are dropped (spec §1.3; default 30 s).
    public var metricsIngestionTimeRangeSlack = ConfigDuration(milliseconds: 30_000)
    public var registry = Registry()
    public var storage = Storage()
    public var processor = Processor()
    /// What the active-series limit counts: `series` (default) or `entity` (spec §5.6).
    public var limiterType = SeriesLimiter.Mode.series

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case metricsIngestionTimeRangeSlack = "metrics_ingestion_time_range_slack"
        case registry, storage, processor
        case limiterType = "limiter_type"
    }

    public init(from decoder: any Decoder) throws {
        let keys = try decoder.strictContainer(CodingKeys.self)
        metricsIngestionTimeRangeSlack = try keys.value(
            .metricsIngestionTimeRangeSlack,
            or: metricsIngestionTimeRangeSlack
        )
        registry = try keys.value(.registry, or: Registry())
        storage = try keys.value(.storage, or: Storage())
        processor = try keys.value(.processor, or: Processor())
        let limiter = try keys.value(.limiterType, or: "series")
        guard let mode = SeriesLimiter.Mode(rawValue: limiter) else {
            throw ConfigurationError(
                path: ConfigurationError.path(decoder.codingPath + [CodingKeys.limiterType]),
                message: "'\(limiter)' is not a limiter type; use series or entity"
            )
        }
        limiterType = mode
    }

    /// `metrics_generator.registry`.
    public struct Registry: Decodable, Sendable, Equatable {
        public var collectionInterval = ConfigDuration(milliseconds: 15_000)
        public var staleDuration = ConfigDuration(milliseconds: 15 * 60_000)
        public var externalLabels: [String: String] = [:]
        public var maxLabelNameLength = 1024
        public var maxLabelValueLength = 2048
        public var injectTenantIDAs = ""

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case injectTenantIDAs = "inject_tenant_id_as"
            case collectionInterval = "collection_interval"
            case staleDuration = "stale_duration"
            case externalLabels = "external_labels"
            case maxLabelNameLength = "max_label_name_length"
            case maxLabelValueLength = "max_label_value_length"
        }

        public init(from decoder: any Decoder) throws {
            let keys = try decoder.strictContainer(CodingKeys.self)
            collectionInterval = try keys.value(.collectionInterval, or: collectionInterval)
            staleDuration = try keys.value(.staleDuration, or: staleDuration)
            externalLabels = try keys.value(.externalLabels, or: [:])
            maxLabelNameLength = try keys.value(.maxLabelNameLength, or: maxLabelNameLength)
            maxLabelValueLength = try keys.value(.maxLabelValueLength, or: maxLabelValueLength)
            injectTenantIDAs = try keys.value(.injectTenantIDAs, or: "")
            guard collectionInterval.milliseconds >= 100 else {
                throw ConfigurationError(
                    path: ConfigurationError.path(decoder.codingPath + [CodingKeys.collectionInterval]),
                    message: "must be at least 100ms"
                )
            }
            guard maxLabelNameLength > 0, maxLabelValueLength > 0 else {
                throw ConfigurationError(
                    path: ConfigurationError.path(decoder.codingPath),
                    message: "label length limits must be positive"
                )
            }
        }
    }

    /// `metrics_generator.storage`: the data directory (WAL and checkpoints), the WAL's bounds and the remote-write
    /// endpoints.
    public struct Storage: Decodable, Sendable, Equatable {
        /// Where per-tenant state lives: `<path>/<tenant>/wal/` and `<path>/<tenant>/checkpoint`.
        public var path = "./data"
        public var wal = WAL()
        public var remoteWrite: [RemoteWrite] = []
        public var remoteWriteFlushDeadline = ConfigDuration(milliseconds: 60_000)
        public var remoteWriteAddOrgIDHeader = true
        /// Send shards per endpoint (Metronome's): series are partitioned by a hash of their labels, each shard
        /// sends its series in order, shards send in parallel.
        public var remoteWriteShards = 4

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case path, wal
            case remoteWrite = "remote_write"
            case remoteWriteFlushDeadline = "remote_write_flush_deadline"
            case remoteWriteAddOrgIDHeader = "remote_write_add_org_id_header"
            case remoteWriteShards = "remote_write_shards"
        }

        public init(from decoder: any Decoder) throws {
            let keys = try decoder.strictContainer(CodingKeys.self)
            let path = { (key: CodingKeys) in ConfigurationError.path(decoder.codingPath + [key]) }
            self.path = try keys.value(.path, or: self.path)
            wal = try keys.value(.wal, or: WAL())
            remoteWrite = try keys.value(.remoteWrite, or: [])
            remoteWriteFlushDeadline = try keys.value(.remoteWriteFlushDeadline, or: remoteWriteFlushDeadline)
            remoteWriteAddOrgIDHeader = try keys.value(.remoteWriteAddOrgIDHeader, or: true)
            remoteWriteShards = try keys.value(.remoteWriteShards, or: remoteWriteShards)
            guard (1...64).contains(remoteWriteShards) else {
                throw ConfigurationError(path: path(.remoteWriteShards), message: "must be between 1 and 64")
            }
            if !remoteWrite.isEmpty && self.path.isEmpty {
                throw ConfigurationError(
                    path: path(.path),
                    message: "remote_write needs a data directory for its WAL; set storage.path"
                )
            }
            var keysSeen: Set<String> = []
            for endpoint in remoteWrite where !keysSeen.insert(endpoint.endpoint.key).inserted {
                throw ConfigurationError(
                    path: path(.remoteWrite),
                    message: "two endpoints named '\(endpoint.endpoint.key)'; give each a distinct url or name"
                )
            }
        }
    }

    /// `metrics_generator.storage.wal`: Metronome's bounds, plus Tempo's Prometheus-agent keys, accepted so a Tempo
    /// config loads (`wal_segment_size` sets the segment size; the others do not apply to Metronome's WAL).
    public struct WAL: Decodable, Sendable, Equatable {
        public var maxBytes = ConfigByteSize(bytes: 1 << 30)
        public var maxAge = ConfigDuration(milliseconds: 2 * 3_600_000)
        public var segmentSize = ConfigByteSize(bytes: 16 << 20)

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case maxBytes = "max_bytes"
            case maxAge = "max_age"
            case segmentSize = "segment_size"
            case walSegmentSize = "wal_segment_size"
            case walCompression = "wal_compression"
            case stripeSize = "stripe_size"
            case truncateFrequency = "truncate_frequency"
            case minWALTime = "min_wal_time"
            case maxWALTime = "max_wal_time"
            case noLockfile = "no_lockfile"
        }

        public init(from decoder: any Decoder) throws {
            let keys = try decoder.strictContainer(CodingKeys.self)
            let path = { (key: CodingKeys) in ConfigurationError.path(decoder.codingPath + [key]) }
            maxBytes = try keys.value(.maxBytes, or: maxBytes)
            maxAge = try keys.value(.maxAge, or: maxAge)
            segmentSize = try keys.value(.segmentSize, or: keys.value(.walSegmentSize, or: segmentSize))
            guard segmentSize.bytes >= 64 << 10 else {
                throw ConfigurationError(path: path(.segmentSize), message: "must be at least 64KiB")
            }
            guard maxBytes.bytes >= segmentSize.bytes else {
                throw ConfigurationError(path: path(.maxBytes), message: "must be at least the segment size")
            }
            guard maxAge.milliseconds > 0 else {
                throw ConfigurationError(path: path(.maxAge), message: "must be positive")
            }
        }

        /// The bounds as the WAL takes them.
        public var limits: WriteAheadLog.Limits {
            var limits = WriteAheadLog.Limits()
            limits.maxBytes = maxBytes.bytes
            limits.maxAgeMs = maxAge.milliseconds
            limits.segmentBytes = segmentSize.bytes
            return limits
        }
    }

    /// `metrics_generator.processor`.
    public struct Processor: Decodable, Sendable, Equatable {
        public var spanMetrics = SpanMetrics()
        public var serviceGraphs = ServiceGraphs()

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case spanMetrics = "span_metrics"
            case serviceGraphs = "service_graphs"
        }

        public init(from decoder: any Decoder) throws {
            let keys = try decoder.strictContainer(CodingKeys.self)
            spanMetrics = try keys.value(.spanMetrics, or: SpanMetrics())
            serviceGraphs = try keys.value(.serviceGraphs, or: ServiceGraphs())
        }
    }

    /// `metrics_generator.processor.span_metrics`.
    public struct SpanMetrics: Decodable, Sendable, Equatable {
        public var histogramBuckets = SpanMetricsProcessor.Configuration.defaultHistogramBuckets
        public var intrinsicDimensions = SpanMetricsProcessor.IntrinsicDimensions()
        public var dimensions: [String] = []
        public var dimensionMappings: [SpanMetricsProcessor.DimensionMapping] = []
        public var spanMultiplierKey = ""
        public var enableTracestateSpanMultiplier = false
        public var filterPolicies: [FilterPolicy] = []
        public var enableTargetInfo = false
        public var targetInfoExcludedDimensions: [String] = []
        public var enableInstanceLabel = true

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case histogramBuckets = "histogram_buckets"
            case intrinsicDimensions = "intrinsic_dimensions"
            case dimensions
            case dimensionMappings = "dimension_mappings"
            case spanMultiplierKey = "span_multiplier_key"
            case enableTracestateSpanMultiplier = "enable_tracestate_span_multiplier"
            case filterPolicies = "filter_policies"
            case enableTargetInfo = "enable_target_info"
            case targetInfoExcludedDimensions = "target_info_excluded_dimensions"
            case enableInstanceLabel = "enable_instance_label"
        }

        enum MappingKeys: String, CodingKey, CaseIterable {
            case name
            case sourceLabels = "source_labels"
            case join
        }

        /// The processor configuration these settings make.
        public var processorConfiguration: SpanMetricsProcessor.Configuration {
            var configuration = SpanMetricsProcessor.Configuration()
            configuration.histogramBuckets = histogramBuckets
            configuration.intrinsicDimensions = intrinsicDimensions
            configuration.dimensions = dimensions
            configuration.dimensionMappings = dimensionMappings
            configuration.spanMultiplierKey = spanMultiplierKey
            configuration.enableTracestateSpanMultiplier = enableTracestateSpanMultiplier
            configuration.filterPolicies = filterPolicies
            configuration.enableTargetInfo = enableTargetInfo
            configuration.targetInfoExcludedDimensions = targetInfoExcludedDimensions
            configuration.enableInstanceLabel = enableInstanceLabel
            return configuration
        }

        enum IntrinsicKeys: String, CodingKey, CaseIterable {
            case service
            case spanName = "span_name"
            case spanKind = "span_kind"
            case statusCode = "status_code"
            case statusMessage = "status_message"
        }

        public init(from decoder: any Decoder) throws {
            let keys = try decoder.strictContainer(CodingKeys.self)
            histogramBuckets = try keys.value(.histogramBuckets, or: histogramBuckets)
            try ServiceGraphs.checkBuckets(
                histogramBuckets,
                path: ConfigurationError.path(decoder.codingPath + [CodingKeys.histogramBuckets])
            )
            if keys.contains(.intrinsicDimensions) {
                let intrinsics = try keys.superDecoder(forKey: .intrinsicDimensions).strictContainer(IntrinsicKeys.self)
                intrinsicDimensions.service = try intrinsics.value(.service, or: true)
                intrinsicDimensions.spanName = try intrinsics.value(.spanName, or: true)
                intrinsicDimensions.spanKind = try intrinsics.value(.spanKind, or: true)
                intrinsicDimensions.statusCode = try intrinsics.value(.statusCode, or: true)
                intrinsicDimensions.statusMessage = try intrinsics.value(.statusMessage, or: false)
            }
            dimensions = try keys.value(.dimensions, or: [])
            spanMultiplierKey = try keys.value(.spanMultiplierKey, or: "")
            enableTracestateSpanMultiplier = try keys.value(.enableTracestateSpanMultiplier, or: false)
            filterPolicies = try keys.value(.filterPolicies, or: [FilterPolicySection]()).map(\.policy)
            enableTargetInfo = try keys.value(.enableTargetInfo, or: false)
            targetInfoExcludedDimensions = try keys.value(.targetInfoExcludedDimensions, or: [])
            enableInstanceLabel = try keys.value(.enableInstanceLabel, or: true)
            if keys.contains(.dimensionMappings) {
                var list = try keys.nestedUnkeyedContainer(forKey: .dimensionMappings)
                while !list.isAtEnd {
                    let mapping = try list.superDecoder().strictContainer(MappingKeys.self)
                    let path = ConfigurationError.path(mapping.codingPath)
                    let name = try mapping.value(.name, or: "")
                    let sources = try mapping.value(.sourceLabels, or: [String]())
                    guard !name.isEmpty, !sources.isEmpty else {
                        throw ConfigurationError(
                            path: path,
                            message: "a dimension mapping needs a name and source_labels"
                        )
                    }
                    dimensionMappings.append(
                        .init(name: name, sourceLabels: sources, join: try mapping.value(.join, or: ""))
                    )
                }
            }
            do {
                try processorConfiguration.validate()
            } catch {
                throw ConfigurationError(path: ConfigurationError.path(decoder.codingPath), message: error.message)
            }
        }
    }
}

/// `overrides`: per-tenant processor selection and limits. Only `defaults` for now; per-tenant blocks and the
/// overrides file with hot reload come with their own issue.
public struct OverridesSection: Decodable, Sendable, Equatable {
    /// `overrides.defaults.metrics_generator.processors`.
    public var processors: [String] = [SpanMetricsProcessor.name, "service-graphs"]
    /// `overrides.defaults.metrics_generator.trace_id_label_name`: the exemplar label (default `traceID`).
    public var traceIDLabelName = "traceID"
    /// `max_active_series`: 0 is unlimited.
    public var maxActiveSeries = 0
    /// `max_active_entities` (with `limiter_type: entity`): 0 is unlimited.
    public var maxActiveEntities = 0
    /// `disable_collection`: a dry run that keeps and limits series but sends nothing.
    public var disableCollection = false
    /// `max_cardinality_per_label`: 0 is unlimited.
    public var maxCardinalityPerLabel = 0
    /// `overrides.defaults.ingestion`: each tenant's ingestion rate limit (`rate_limit_bytes`, `burst_size_bytes`;
    /// `rate_strategy` is `local`, and `global` is read as `local`: one instance is the whole cluster).
    var ingestion = IngestionRateLimiter.Configuration()

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable { case defaults }
    enum DefaultsKeys: String, CodingKey, CaseIterable {
        case metricsGenerator = "metrics_generator"
        case ingestion
    }
    enum IngestionKeys: String, CodingKey, CaseIterable {
        case rateLimitBytes = "rate_limit_bytes"
        case burstSizeBytes = "burst_size_bytes"
        case rateStrategy = "rate_strategy"
    }
    enum GeneratorKeys: String, CodingKey, CaseIterable {
        case processors
        case traceIDLabelName = "trace_id_label_name"
        case maxActiveSeries = "max_active_series"
        case maxActiveEntities = "max_active_entities"
        case disableCollection = "disable_collection"
        case maxCardinalityPerLabel = "max_cardinality_per_label"
    }

    public init(from decoder: any Decoder) throws {
        let keys = try decoder.strictContainer(CodingKeys.self)
        guard keys.contains(.defaults) else { return }
        let defaults = try keys.superDecoder(forKey: .defaults).strictContainer(DefaultsKeys.self)
        if defaults.contains(.ingestion) {
            ingestion = try Self.ingestion(
                defaults.superDecoder(forKey: .ingestion).strictContainer(IngestionKeys.self)
            )
        }
        guard defaults.contains(.metricsGenerator) else { return }
        let generator = try defaults.superDecoder(forKey: .metricsGenerator).strictContainer(GeneratorKeys.self)
        processors = try generator.value(.processors, or: processors)
        traceIDLabelName = try generator.value(.traceIDLabelName, or: "")
        maxActiveSeries = try generator.value(.maxActiveSeries, or: 0)
        maxActiveEntities = try generator.value(.maxActiveEntities, or: 0)
        disableCollection = try generator.value(.disableCollection, or: false)
        maxCardinalityPerLabel = try generator.value(.maxCardinalityPerLabel, or: 0)
        guard maxActiveSeries >= 0, maxActiveEntities >= 0, maxCardinalityPerLabel >= 0 else {
            throw ConfigurationError(
                path: ConfigurationError.path(generator.codingPath),
                message: "limits must not be negative"
            )
        }
        if traceIDLabelName.isEmpty { traceIDLabelName = "traceID" }
        guard
            traceIDLabelName.unicodeScalars.allSatisfy({
                $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0))
            }),
            !("0"..."9").contains(traceIDLabelName.unicodeScalars.first!)
        else {
            throw ConfigurationError(
                path: ConfigurationError.path(generator.codingPath + [GeneratorKeys.traceIDLabelName]),
                message: "'\(traceIDLabelName)' is not a valid label name"
            )
        }
    }

    private static func ingestion(_ keys: KeyedDecodingContainer<IngestionKeys>) throws
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
}
