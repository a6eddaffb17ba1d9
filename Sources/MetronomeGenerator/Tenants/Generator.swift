import MetronomeWire
import Synchronization

/// One tenant's metrics generator: its processors and their series (spec §1.2, "instance").
///
/// Created by the distributor on a tenant's first spans; `push` is called concurrently from receivers, `collect`
/// from the collection loop. Both are safe together: state lives in the processors' sharded, locked stores.
public final class Generator: Sendable {
    public let tenant: TenantID
    public let configuration: Configuration
    /// The tenant's series (or entity) limit, shared by its processors.
    public let limiter: SeriesLimiter
    let spanMetrics: SpanMetricsProcessor?
    let serviceGraphs: ServiceGraphsProcessor?
    /// The limiter's `limited` count at the last collection, to report what was limited since.
    private let reportedLimited = Atomic<Int>(0)

    /// - Parameter nowMs: wall-clock time the cardinality sketches' windows start from.
    public init(tenant: TenantID, configuration: Configuration, nowMs: Int64 = 0) {
        self.tenant = tenant
        var configuration = configuration
        configuration.registry.tenant = tenant.value
        self.configuration = configuration
        let limits = configuration.limits
        limiter = SeriesLimiter(
            mode: limits.mode,
            maximum: limits.mode == .series ? limits.maxActiveSeries : limits.maxActiveEntities
        )
        var spanMetricsConfiguration = configuration.spanMetrics
        spanMetricsConfiguration.metrics = .enabled(by: configuration.processors)
        spanMetrics =
            spanMetricsConfiguration.metrics.isEmpty
            ? nil
            : SpanMetricsProcessor(
                configuration: spanMetricsConfiguration,
                registry: configuration.registry,
                limiter: limiter,
                maxCardinalityPerLabel: configuration.limits.maxCardinalityPerLabel,
                nowMs: nowMs
            )
        var serviceGraphsConfiguration = configuration.serviceGraphs
        serviceGraphsConfiguration.metrics = .enabled(by: configuration.processors)
        serviceGraphs =
            serviceGraphsConfiguration.metrics.isEmpty
            ? nil
            : ServiceGraphsProcessor(
                configuration: serviceGraphsConfiguration,
                registry: configuration.registry,
                limiter: limiter
            )
    }

    /// What a push did, for self-metrics.
    public struct PushResult: Sendable, Equatable {
        /// Spans dropped by span metrics because a new series' label was not valid UTF-8.
        public var spanMetricsInvalidUTF8 = 0
        /// Spans span metrics' filter policies rejected.
        public var spanMetricsFiltered = 0
        /// Spans counted in span metrics' overflow series because of the series limit.
        public var spanMetricsOverflowed = 0
        /// Label values replaced by `__cardinality_overflow__`, by label name.
        public var labelValuesLimited: [String: Int] = [:]
        /// What service graphs did.
        public var serviceGraphs = ServiceGraphsProcessor.Result()
    }

    /// Feeds a batch (already validated and slack-filtered by the distributor) to every processor.
    public func push(_ batch: SpanBatch, nowMs: Int64) -> PushResult {
        var result = PushResult()
        if let spanMetrics {
            let pushed = spanMetrics.push(batch, nowMs: nowMs)
            result.spanMetricsInvalidUTF8 = pushed.invalidUTF8
            result.spanMetricsFiltered = pushed.filtered
            result.spanMetricsOverflowed = pushed.overflowed
            for (column, count) in pushed.labelValuesLimited.enumerated() where count > 0 {
                result.labelValuesLimited[spanMetrics.labelNames[column], default: 0] += count
            }
        }
        if let serviceGraphs { result.serviceGraphs = serviceGraphs.push(batch, nowMs: nowMs) }
        return result
    }

    /// Expires service-graph edges whose other half did not come within `wait`; nil without service graphs.
    public func expireEdges(nowMs: Int64) -> ServiceGraphsProcessor.Result? {
        serviceGraphs?.expire(nowMs: nowMs)
    }

    /// Pending service-graph half-edges and their estimated heap bytes.
    public var pendingEdges: (count: Int, bytes: Int) {
        (serviceGraphs?.edges.pendingCount ?? 0, serviceGraphs?.edges.pendingBytes ?? 0)
    }

    /// What a collection did, for self-metrics.
    public struct CollectionResult: Sendable, Equatable {
        /// Prometheus series alive after the run (a histogram label set counts its buckets + 3, spec §5.3).
        public var activeSeries = 0
        /// Series removed for being idle longer than the stale duration.
        public var removedSeries = 0
        /// Series (or entities, in entity mode) the limit redirected to overflow since the previous collection.
        public var newlyLimited = 0
        /// The estimated number of series the spans of the stale window would make without limits.
        public var activeSeriesDemand = 0
        /// Estimated distinct values per label, with a per-label limit set.
        public var labelCardinalityDemand: [String: Int] = [:]
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
        /// Collects one processor's store into `sink`, adding its series to the result.
        func collect(_ store: SeriesStore) {
            let counts = store.collect(mode, timestampMs: timestampMs, staleBeforeMs: staleBefore, into: &sink)
            result.activeSeries += counts.entries * store.layout.seriesPerEntry
            result.removedSeries += counts.removed * store.layout.seriesPerEntry
        }
        if let spanMetrics {
            collect(spanMetrics.store)
            let perEntry = spanMetrics.store.layout.seriesPerEntry
            let demand = spanMetrics.cardinality.demand
            result.activeSeriesDemand += demand.labelSets * perEntry
            for (column, estimate) in demand.labels.enumerated() {
                result.labelCardinalityDemand[spanMetrics.labelNames[column]] = estimate
            }
            if let info = spanMetrics.targetInfo?.store {
                let infoCounts = info.collect(mode, timestampMs: timestampMs, staleBeforeMs: staleBefore, into: &sink)
                result.activeSeries += infoCounts.entries
                result.removedSeries += infoCounts.removed
            }
        }
        if let serviceGraphs { collect(serviceGraphs.store) }
        if mode == .collect {
            let limited = limiter.statistics.limited
            result.newlyLimited = limited - reportedLimited.exchange(limited, ordering: .relaxed)
        }
        return result
    }

    /// The metric families of this tenant's series, in collection order, with their types.
    public var families: [(name: String, type: MetricType)] {
        var families: [(name: String, type: MetricType)] = []
        func add(_ layout: MetricLayout) {
            for metric in layout.metrics {
                switch metric.kind {
                case .counter: families.append((metric.name, .counter))
                case .gauge: families.append((metric.name, .gauge))
                case .histogram: families.append((metric.name, .histogram))
                }
            }
        }
        if let spanMetrics {
            add(spanMetrics.store.layout)
            if let info = spanMetrics.targetInfo?.store { families.append((info.metricName, .gauge)) }
        }
        if let serviceGraphs { add(serviceGraphs.store.layout) }
        return families
    }

    /// The number of slices ``snapshot(slice:into:)`` cuts the series into.
    public static let snapshotSlices = SeriesStore.shardCount

    /// Emits the current value of one slice of the series (one shard of each processor's store, target_info with
    /// the first), changing nothing: `/metrics/generated` renders the slices one at a time, so it never holds more
    /// than one slice's text.
    public func snapshot(slice: Int, into sink: inout some SampleSink) {
        let shards = slice..<(slice + 1)
        if let spanMetrics {
            _ = spanMetrics.store.collect(.snapshot, timestampMs: 0, staleBeforeMs: 0, shardRange: shards, into: &sink)
            if slice == 0, let info = spanMetrics.targetInfo?.store {
                _ = info.collect(.snapshot, timestampMs: 0, staleBeforeMs: 0, into: &sink)
            }
        }
        if let serviceGraphs {
            _ = serviceGraphs.store.collect(
                .snapshot,
                timestampMs: 0,
                staleBeforeMs: 0,
                shardRange: shards,
                into: &sink
            )
        }
    }

    /// Encodes the cumulative state of every processor's series as a ``Checkpoint``, handing the bytes to `emit` a
    /// registry shard at a time (so a checkpoint of millions of series never sits in memory whole).
    public func encodeCheckpoint(_ emit: ([UInt8]) throws -> Void) rethrows {
        var stores: [(name: String, store: SeriesStore)] = []
        if let spanMetrics { stores.append((SpanMetricsProcessor.name, spanMetrics.store)) }
        if let serviceGraphs { stores.append((ServiceGraphsProcessor.name, serviceGraphs.store)) }
        try Checkpoint.encode(stores, emit: emit)
    }

    /// Loads a checkpoint into this new generator. Stores whose shape changed since (other buckets or labels) are
    /// skipped, so a configuration change restarts only the affected counters.
    /// - Returns: the names of the stores restored.
    @discardableResult
    public func restore(_ checkpoint: Checkpoint, nowMs: Int64) -> [String] {
        var restored: [String] = []
        if let spanMetrics, let snapshot = checkpoint.stores[SpanMetricsProcessor.name],
            spanMetrics.store.restore(snapshot, nowMs: nowMs)
        {
            restored.append(SpanMetricsProcessor.name)
        }
        if let serviceGraphs, let snapshot = checkpoint.stores[ServiceGraphsProcessor.name],
            serviceGraphs.store.restore(snapshot, nowMs: nowMs)
        {
            restored.append(ServiceGraphsProcessor.name)
        }
        return restored
    }

    /// Approximate heap bytes held by this tenant's series.
    public var memoryBytes: Int {
        (spanMetrics?.store.memoryBytes ?? 0) + (serviceGraphs?.store.memoryBytes ?? 0) + pendingEdges.bytes
    }
}

extension Generator {
    /// Everything a tenant's generator is made from.
    public struct Configuration: Sendable, Equatable {
        /// Enabled processor names (`overrides.defaults.metrics_generator.processors`).
        public var processors: [String] = [SpanMetricsProcessor.name, ServiceGraphsProcessor.name]
        public var registry = RegistryConfiguration()
        public var spanMetrics = SpanMetricsProcessor.Configuration()
        public var serviceGraphs = ServiceGraphsProcessor.Configuration()
        public var limits = Limits()
        /// Dry run (`disable_collection`): series are kept and limited, but nothing is sent (spec §1.4).
        public var disableCollection = false

        public init() {}
    }
}

extension Generator {
    /// A tenant's series limits (spec §5.6).
    public struct Limits: Sendable, Equatable {
        /// `metrics_generator.limiter_type`: what the limit counts.
        public var mode = SeriesLimiter.Mode.series
        /// `max_active_series` (series mode); 0 is unlimited.
        public var maxActiveSeries = 0
        /// `max_active_entities` (entity mode); 0 is unlimited.
        public var maxActiveEntities = 0
        /// `max_cardinality_per_label`: values of a label beyond this many become `__cardinality_overflow__`.
        public var maxCardinalityPerLabel = 0

        public init() {}
    }
}
