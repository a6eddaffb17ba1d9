import MetronomeWire

/// One tenant's metrics generator: its processors and their series (spec §1.2, "instance").
///
/// Created by the distributor on a tenant's first spans; `push` is called concurrently from receivers, `collect`
/// from the collection loop. Both are safe together: state lives in the processors' sharded, locked stores.
public final class Generator: Sendable {
    public let tenant: TenantID
    public let configuration: Configuration
    let spanMetrics: SpanMetricsProcessor?

    public init(tenant: TenantID, configuration: Configuration) {
        self.tenant = tenant
        self.configuration = configuration
        var spanMetricsConfiguration = configuration.spanMetrics
        spanMetricsConfiguration.metrics = .enabled(by: configuration.processors)
        spanMetrics =
            spanMetricsConfiguration.metrics.isEmpty
            ? nil : SpanMetricsProcessor(configuration: spanMetricsConfiguration, registry: configuration.registry)
    }

    /// What a push did, for self-metrics.
    public struct PushResult: Sendable, Equatable {
        /// Spans dropped by span metrics because a new series' label was not valid UTF-8.
        public var spanMetricsInvalidUTF8 = 0
        /// Spans span metrics' filter policies rejected.
        public var spanMetricsFiltered = 0
    }

    /// Feeds a batch (already validated and slack-filtered by the distributor) to every processor.
    public func push(_ batch: SpanBatch, nowMs: Int64) -> PushResult {
        var result = PushResult()
        if let spanMetrics {
            let pushed = spanMetrics.push(batch, nowMs: nowMs)
            result.spanMetricsInvalidUTF8 = pushed.invalidUTF8
            result.spanMetricsFiltered = pushed.filtered
        }
        return result
    }

    /// What a collection did, for self-metrics.
    public struct CollectionResult: Sendable, Equatable {
        /// Prometheus series alive after the run (a histogram label set counts its buckets + 3, spec §5.3).
        public var activeSeries = 0
        /// Series removed for being idle longer than the stale duration.
        public var removedSeries = 0
    }

    /// Emits every series at `timestampMs` into `sink`; in ``CollectionMode/collect`` mode, then drops series idle
    /// longer than the stale duration.
    public func collect(
        _ mode: CollectionMode = .collect,
        timestampMs: Int64,
        into sink: inout some SampleSink
    ) -> CollectionResult {
        var result = CollectionResult()
        let staleBefore = timestampMs - configuration.registry.staleDurationMs
        if let spanMetrics {
            let counts = spanMetrics.store.collect(
                mode,
                timestampMs: timestampMs,
                staleBeforeMs: staleBefore,
                into: &sink
            )
            let perEntry = spanMetrics.store.layout.seriesPerEntry
            result.activeSeries += counts.entries * perEntry
            result.removedSeries += counts.removed * perEntry
        }
        return result
    }

    /// Approximate heap bytes held by this tenant's series.
    public var memoryBytes: Int { spanMetrics?.store.memoryBytes ?? 0 }
}

extension Generator {
    /// Everything a tenant's generator is made from.
    public struct Configuration: Sendable, Equatable {
        /// Enabled processor names (`overrides.defaults.metrics_generator.processors`).
        public var processors: [String] = [SpanMetricsProcessor.name, "service-graphs"]
        public var registry = RegistryConfiguration()
        public var spanMetrics = SpanMetricsProcessor.Configuration()

        public init() {}
    }
}
