import MetronomeGenerator
import MetronomeWire

/// The `metrics_generator` block of a tenant's overrides (Tempo's `MetricsGeneratorOverrides`, spec §6), as written:
/// zero values are Tempo's "not set" where Tempo reads them so (collection interval, slack, trace id label).
///
/// Processor settings are decoded onto the main file's (``ProcessorSectionBase``), so they are already the tenant's
/// effective processor configuration.
public struct GeneratorOverrides: Decodable, Sendable, Equatable {
    /// Enabled processors. Absent in `overrides.defaults`: span metrics and service graphs; absent in a tenant's
    /// block: none (the block replaces the defaults wholesale, as in Tempo).
    public var processors: [String]
    public var maxActiveSeries = 0
    public var maxActiveEntities = 0
    public var maxCardinalityPerLabel = 0
    /// 0 keeps `metrics_generator.registry.collection_interval`.
    public var collectionIntervalMs: Int64 = 0
    public var disableCollection = false
    /// Empty means `traceID`.
    public var traceIDLabelName = ""
    /// 0 keeps `metrics_generator.metrics_ingestion_time_range_slack`.
    public var ingestionTimeRangeSlackMs: Int64 = 0
    /// Extra headers on this tenant's remote-write requests.
    public var remoteWriteHeaders: [String: String] = [:]
    /// `span_name_sanitization`; `.disabled` (`""`) in a tenant's block falls back to `overrides.defaults` (spec §6).
    public var spanNameSanitization = SpanNameSanitization.disabled
    /// `generate_native_histograms` and the `native_histogram_*` keys; unset ones fall back to `overrides.defaults`.
    public var nativeHistograms = NativeHistogramOverrides()
    public var spanMetrics: SpanMetricsProcessor.Configuration
    public var serviceGraphs: ServiceGraphsProcessor.Configuration
    public var hostInfo: HostInfoProcessor.Configuration
    /// Dotted paths (under `metrics_generator`) of the keys set here that Metronome accepts and does not apply.
    public var notApplied: [String] = []

    /// The defaults block as the main file leaves it when it says nothing.
    public init() {
        let base = ProcessorSectionBase.current
        processors = base.isTenantBlock ? [] : [SpanMetricsProcessor.name, ServiceGraphsProcessor.name]
        spanMetrics = base.spanMetrics
        serviceGraphs = base.serviceGraphs
        hostInfo = base.hostInfo
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case processors
        case maxActiveSeries = "max_active_series"
        case maxActiveEntities = "max_active_entities"
        case maxCardinalityPerLabel = "max_cardinality_per_label"
        case collectionInterval = "collection_interval"
        case disableCollection = "disable_collection"
        case traceIDLabelName = "trace_id_label_name"
        case ingestionTimeRangeSlack = "ingestion_time_range_slack"
        case remoteWriteHeaders = "remote_write_headers"
        case processor
        case generateNativeHistograms = "generate_native_histograms"
        case nativeHistogramBucketFactor = "native_histogram_bucket_factor"
        case nativeHistogramMaxBucketNumber = "native_histogram_max_bucket_number"
        case nativeHistogramMinResetDuration = "native_histogram_min_reset_duration"
        case spanNameSanitization = "span_name_sanitization"
        case ringSize = "ring_size"
        case forwarder

        /// Keys with no meaning for a single-instance generator.
        static let ignored: [Self] = [.ringSize, .forwarder]
    }

    enum ProcessorKeys: String, CodingKey, CaseIterable {
        case spanMetrics = "span_metrics"
        case serviceGraphs = "service_graphs"
        case hostInfo = "host_info"
        case localBlocks = "local_blocks"
    }

    public init(from decoder: any Decoder) throws {
        self.init()
        let keys = try decoder.strictContainer(CodingKeys.self)
        let path = { (key: CodingKeys) in ConfigurationError.path(decoder.codingPath + [key]) }
        processors = try keys.value(.processors, or: processors)
        let implemented = Set(ProcessorRegistry.enablingNames)
        notApplied += processors.filter { !implemented.contains($0) }.map { "processors: \($0)" }
        maxActiveSeries = try keys.value(.maxActiveSeries, or: 0)
        maxActiveEntities = try keys.value(.maxActiveEntities, or: 0)
        maxCardinalityPerLabel = try keys.value(.maxCardinalityPerLabel, or: 0)
        guard maxActiveSeries >= 0, maxActiveEntities >= 0, maxCardinalityPerLabel >= 0 else {
            throw ConfigurationError(
                path: ConfigurationError.path(decoder.codingPath),
                message: "limits must not be negative"
            )
        }
        collectionIntervalMs = try keys.value(.collectionInterval, or: ConfigDuration(milliseconds: 0)).milliseconds
        guard collectionIntervalMs == 0 || collectionIntervalMs >= 100 else {
            throw ConfigurationError(
                path: path(.collectionInterval),
                message: "must be at least 100ms (or 0: the main file's)"
            )
        }
        disableCollection = try keys.value(.disableCollection, or: false)
        traceIDLabelName = try keys.value(.traceIDLabelName, or: "")
        guard traceIDLabelName.isEmpty || PrometheusName.isLabelName(traceIDLabelName) else {
            throw ConfigurationError(
                path: path(.traceIDLabelName),
                message: "'\(traceIDLabelName)' is not a valid label name"
            )
        }
        ingestionTimeRangeSlackMs = try keys.value(.ingestionTimeRangeSlack, or: ConfigDuration(milliseconds: 0))
            .milliseconds
        guard (0...12 * 3_600_000).contains(ingestionTimeRangeSlackMs) else {
            throw ConfigurationError(path: path(.ingestionTimeRangeSlack), message: "must be between 0 and 12h")
        }
        remoteWriteHeaders = try keys.value(.remoteWriteHeaders, or: [:])
        let sanitization = try keys.value(.spanNameSanitization, or: "")
        guard let mode = SpanNameSanitization(rawValue: sanitization) else {
            throw ConfigurationError(
                path: path(.spanNameSanitization),
                message: "'\(sanitization)' is not a mode; use \"\" (off), dry_run or enabled"
            )
        }
        spanNameSanitization = mode
        nativeHistograms = try NativeHistogramOverrides(from: keys, location: path)
        for key in CodingKeys.ignored where keys.contains(key) { notApplied.append(key.stringValue) }
        guard keys.contains(.processor) else { return }
        let processor = try keys.superDecoder(forKey: .processor).strictContainer(ProcessorKeys.self)
        spanMetrics = try processor.value(
            .spanMetrics,
            or: MetricsGeneratorSection.SpanMetrics(spanMetrics)
        ).processorConfiguration
        serviceGraphs = try processor.value(
            .serviceGraphs,
            or: MetricsGeneratorSection.ServiceGraphs(serviceGraphs)
        ).processorConfiguration
        hostInfo = try processor.value(.hostInfo, or: MetricsGeneratorSection.HostInfo(hostInfo)).processorConfiguration
        if processor.contains(.localBlocks) { notApplied.append("processor.local_blocks") }
    }

    /// The tenant's generator configuration: the main file's (`base`), with this block's settings.
    public func apply(to base: Generator.Configuration) -> Generator.Configuration {
        var configuration = base
        configuration.processors = processors
        configuration.limits.maxActiveSeries = maxActiveSeries
        configuration.limits.maxActiveEntities = maxActiveEntities
        configuration.limits.maxCardinalityPerLabel = maxCardinalityPerLabel
        if collectionIntervalMs > 0 { configuration.registry.collectionIntervalMs = collectionIntervalMs }
        configuration.disableCollection = disableCollection
        configuration.registry.traceIDLabelName = traceIDLabelName.isEmpty ? "traceID" : traceIDLabelName
        if ingestionTimeRangeSlackMs > 0 { configuration.ingestionTimeRangeSlackMs = ingestionTimeRangeSlackMs }
        configuration.spanMetrics = spanMetrics
        configuration.serviceGraphs = serviceGraphs
        configuration.hostInfo = hostInfo
        configuration.spanNameSanitization = spanNameSanitization
        configuration.nativeHistograms = nativeHistograms.settings
        return configuration
    }
}
