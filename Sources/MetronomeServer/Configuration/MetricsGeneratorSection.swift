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

    /// `metrics_generator.registry`, decoded onto the registry's own defaults.
    public struct Registry: Decodable, Sendable, Equatable {
        public var configuration = RegistryConfiguration()

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
            var registry = RegistryConfiguration()
            registry.collectionIntervalMs = try keys.value(
                .collectionInterval,
                or: ConfigDuration(milliseconds: registry.collectionIntervalMs)
            ).milliseconds
            registry.staleDurationMs = try keys.value(
                .staleDuration,
                or: ConfigDuration(milliseconds: registry.staleDurationMs)
            ).milliseconds
            registry.externalLabels = try keys.value(.externalLabels, or: registry.externalLabels)
            registry.maxLabelNameLength = try keys.value(.maxLabelNameLength, or: registry.maxLabelNameLength)
            registry.maxLabelValueLength = try keys.value(.maxLabelValueLength, or: registry.maxLabelValueLength)
            registry.injectTenantIDAs = try keys.value(.injectTenantIDAs, or: registry.injectTenantIDAs)
            guard registry.collectionIntervalMs >= 100 else {
                throw ConfigurationError(
                    path: ConfigurationError.path(decoder.codingPath + [CodingKeys.collectionInterval]),
                    message: "must be at least 100ms"
                )
            }
            guard registry.maxLabelNameLength > 0, registry.maxLabelValueLength > 0 else {
                throw ConfigurationError(
                    path: ConfigurationError.path(decoder.codingPath),
                    message: "label length limits must be positive"
                )
            }
            configuration = registry
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
    /// config loads (`wal_segment_size` sets the segment size; the others do not apply to Metronome's WAL). Decoded
    /// onto the WAL's own defaults.
    public struct WAL: Decodable, Sendable, Equatable {
        public var limits = WriteAheadLog.Limits()

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
            var limits = WriteAheadLog.Limits()
            limits.maxBytes = try keys.value(.maxBytes, or: ConfigByteSize(bytes: limits.maxBytes)).bytes
            limits.maxAgeMs = try keys.value(.maxAge, or: ConfigDuration(milliseconds: limits.maxAgeMs)).milliseconds
            let segmentSize = try keys.value(.walSegmentSize, or: ConfigByteSize(bytes: limits.segmentBytes))
            limits.segmentBytes = try keys.value(.segmentSize, or: segmentSize).bytes
            guard limits.segmentBytes >= 64 << 10 else {
                throw ConfigurationError(path: path(.segmentSize), message: "must be at least 64KiB")
            }
            guard limits.maxBytes >= limits.segmentBytes else {
                throw ConfigurationError(path: path(.maxBytes), message: "must be at least the segment size")
            }
            guard limits.maxAgeMs > 0 else {
                throw ConfigurationError(path: path(.maxAge), message: "must be positive")
            }
            self.limits = limits
        }
    }

    /// `metrics_generator.processor`.
    public struct Processor: Decodable, Sendable, Equatable {
        public var spanMetrics = SpanMetrics()
        public var serviceGraphs = ServiceGraphs()
        public var hostInfo = HostInfo()

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case spanMetrics = "span_metrics"
            case serviceGraphs = "service_graphs"
            case hostInfo = "host_info"
        }

        public init(from decoder: any Decoder) throws {
            let keys = try decoder.strictContainer(CodingKeys.self)
            spanMetrics = try keys.value(.spanMetrics, or: SpanMetrics())
            serviceGraphs = try keys.value(.serviceGraphs, or: ServiceGraphs())
            hostInfo = try keys.value(.hostInfo, or: HostInfo())
        }

        /// The settings every tenant's processors start from, for the overrides' processor sections.
        var base: ProcessorSectionBase {
            ProcessorSectionBase(
                spanMetrics: spanMetrics.processorConfiguration,
                serviceGraphs: serviceGraphs.processorConfiguration,
                hostInfo: hostInfo.processorConfiguration
            )
        }
    }
}
