import MetronomeWire
import Synchronization

/// One tenant's metrics generator: its processors and their series (spec §1.2, "instance").
///
/// Created for a tenant's first spans, and again, continuing the previous one, when the tenant's settings change;
/// `push` is called concurrently from receivers, `collect` from the collection loop. Both are safe together: state
/// lives in the processors' sharded, locked stores.
public final class Generator: Sendable {
    public let tenant: TenantID
    public let configuration: Configuration
    /// The tenant's series (or entity) limit, shared by its processors.
    public let limiter: SeriesLimiter
    /// The enabled processors, in collection order.
    let processors: [any Processor]
    /// The limiter's `limited` count at the last collection, to report what was limited since.
    private let reportedLimited: Atomic<Int>
    /// Stores a reconfiguration left behind (their processor was removed, or its series changed identity): the next
    /// collection ends their series with staleness markers.
    private let retired: Mutex<[RetiredStore]>
    /// What became of the previous generator's processors, when this one continues it.
    public let continuation: Continuation

    /// - Parameters:
    ///   - nowMs: wall-clock time the cardinality sketches' windows start from.
    ///   - previous: the generator this one replaces after a change of the tenant's configuration. Series whose
    ///     identity (name, label names, buckets) is unchanged continue with their cumulative values; the others end
    ///     at the next collection with a staleness marker.
    public init(tenant: TenantID, configuration: Configuration, nowMs: Int64 = 0, continuing previous: Generator? = nil)
    {
        self.tenant = tenant
        var configuration = configuration
        configuration.registry.tenant = tenant.value
        self.configuration = configuration
        let limits = configuration.limits
        let maximum = limits.mode == .series ? limits.maxActiveSeries : limits.maxActiveEntities
        let limiter: SeriesLimiter
        if let previous, previous.limiter.mode == limits.mode {
            limiter = previous.limiter
            limiter.setMaximum(maximum)
        } else {
            limiter = SeriesLimiter(mode: limits.mode, maximum: maximum)
        }
        self.limiter = limiter
        func make<P: Processor>(_ type: P.Type) -> (any Processor)? {
            P.make(configuration, limiter: limiter, nowMs: nowMs, continuing: previous?.processor(P.self))
        }
        processors = ProcessorRegistry.all.compactMap { make($0) }
        reportedLimited = Atomic(previous.map { $0.reportedLimited.load(ordering: .relaxed) } ?? 0)
        let continuation = Continuation(from: previous?.processors ?? [], to: processors)
        self.continuation = continuation
        // The previous generator's stores still to be ended move here.
        let inherited = previous?.retired.withLock { stores in
            defer { stores = [] }
            return stores
        }
        retired = Mutex((inherited ?? []) + continuation.retired)
    }

    /// The processor of type `type`, if enabled.
    func processor<P: Processor>(_ type: P.Type) -> P? {
        processors.lazy.compactMap { $0 as? P }.first
    }

    /// Feeds a batch (already validated and slack-filtered by the distributor) to every processor.
    public func push(_ batch: SpanBatch, nowMs: Int64) -> ProcessorReport {
        var report = ProcessorReport()
        for processor in processors { processor.push(batch, nowMs: nowMs, report: &report) }
        return report
    }

    /// Runs the processors' periodic work between pushes (service graphs expire edges whose other half did not come
    /// within `wait`).
    public func expire(nowMs: Int64) -> ProcessorReport {
        var report = ProcessorReport()
        for processor in processors { processor.expire(nowMs: nowMs, report: &report) }
        return report
    }

    /// State the processors hold while waiting for more spans (service graphs' unpaired half-edges), and its
    /// estimated heap bytes.
    public var pending: (count: Int, bytes: Int) {
        processors.reduce((0, 0)) { total, processor in
            let pending = processor.pending
            return (total.0 + pending.count, total.1 + pending.bytes)
        }
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
        /// With span-name sanitization on (either mode), the estimated series after it (spec §5.7).
        public var postSanitizationDemand: Int? = nil
        /// Native-histogram observations since the previous collection that passed
        /// `native_histogram_max_bucket_number` and reset the histogram, or halved its resolution.
        public var nativeBucketLimitResets = 0
        public var nativeBucketLimitHalvings = 0
    }

    /// Emits every series at `timestampMs` into `sink`; in ``CollectionMode/collect`` mode, then drops series idle
    /// longer than the stale duration.
    public func collect(
        _ mode: CollectionMode = .collect,
        timestampMs: Int64,
        into sink: inout some SampleSink
    ) -> CollectionResult {
        var result = CollectionResult()
        if mode == .collect {
            let ending = retired.withLock { stores in
                defer { stores = [] }
                return stores
            }
            for store in ending {
                result.removedSeries += store.end(timestampMs: timestampMs, into: &sink)
            }
        }
        let staleBefore = timestampMs - configuration.registry.staleDurationMs
        for processor in processors {
            let stores = processor.stores
            for (_, store) in stores.series {
                let counts = store.collect(mode, timestampMs: timestampMs, staleBeforeMs: staleBefore, into: &sink)
                result.activeSeries += counts.entries * store.layout.seriesPerEntry
                result.removedSeries += counts.removed * store.layout.seriesPerEntry
            }
            for info in stores.info {
                let counts = info.collect(mode, timestampMs: timestampMs, staleBeforeMs: staleBefore, into: &sink)
                result.activeSeries += counts.entries
                result.removedSeries += counts.removed
            }
            processor.addDemand(to: &result)
            guard mode == .collect else { continue }
            for histogram in processor.latencyHistograms {
                let events = histogram.bucketLimitEvents.take()
                result.nativeBucketLimitResets += events.resets
                result.nativeBucketLimitHalvings += events.halvings
            }
        }
        if mode == .collect {
            let limited = limiter.statistics.limited
            result.newlyLimited = limited - reportedLimited.exchange(limited, ordering: .relaxed)
        }
        return result
    }

    /// The metric families of this tenant's series, in collection order, with their types.
    public var families: [(name: String, type: MetricType)] {
        var families: [(name: String, type: MetricType)] = []
        for processor in processors {
            let stores = processor.stores
            for (_, store) in stores.series {
                for metric in store.layout.metrics {
                    switch metric.kind {
                    case .counter: families.append((metric.name, .counter))
                    case .gauge: families.append((metric.name, .gauge))
                    case .histogram: families.append((metric.name, .histogram))
                    }
                }
            }
            families += stores.info.map { ($0.metricName, .gauge) }
        }
        return families
    }

    /// The number of slices ``snapshot(slice:into:)`` cuts the series into.
    public static let snapshotSlices = SeriesStore.shardCount

    /// Emits the current value of one slice of the series (one shard of each series store, info series with the
    /// first), changing nothing: `/metrics/generated` renders the slices one at a time, so it never holds more than
    /// one slice's text.
    /// - Parameter timestampMs: the time of the look, which exemplars carry (the series themselves carry none).
    public func snapshot(slice: Int, timestampMs: Int64 = 0, into sink: inout some SampleSink) {
        for processor in processors {
            let stores = processor.stores
            for (_, store) in stores.series {
                _ = store.collect(
                    .snapshot,
                    timestampMs: timestampMs,
                    staleBeforeMs: 0,
                    shardRange: slice..<(slice + 1),
                    into: &sink
                )
            }
            guard slice == 0 else { continue }
            for info in stores.info {
                _ = info.collect(.snapshot, timestampMs: timestampMs, staleBeforeMs: 0, into: &sink)
            }
        }
    }

    /// Every series store by its checkpoint name.
    private var checkpointedStores: [(name: String, store: SeriesStore)] {
        processors.flatMap { $0.stores.series }
    }

    /// Encodes the cumulative state of every processor's series as a ``Checkpoint``, handing the bytes to `emit` a
    /// registry shard at a time (so a checkpoint of millions of series never sits in memory whole).
    public func encodeCheckpoint(_ emit: ([UInt8]) throws -> Void) rethrows {
        try Checkpoint.encode(checkpointedStores, emit: emit)
    }

    /// Loads a checkpoint into this new generator. Stores whose shape changed since (other buckets or labels) are
    /// skipped, so a configuration change restarts only the affected counters.
    /// - Returns: the names of the stores restored.
    @discardableResult
    public func restore(_ checkpoint: Checkpoint, nowMs: Int64) -> [String] {
        let restored: [String] = checkpointedStores.compactMap { name, store in
            guard let snapshot = checkpoint.stores[name], store.restore(snapshot, nowMs: nowMs) else { return nil }
            return name
        }
        for processor in processors { processor.restored() }
        return restored
    }

    /// Whether the tenant holds nothing: no series, no series left to end, no half-edges waiting (after a collection
    /// removed its stale series, such a tenant can be let go).
    public var isIdle: Bool {
        pending.count == 0 && retired.withLock { $0.isEmpty }
            && processors.allSatisfy { processor in
                let stores = processor.stores
                return stores.series.allSatisfy { $0.store.isEmpty } && stores.info.allSatisfy(\.isEmpty)
            }
    }

    /// Approximate heap bytes held by this tenant's series, pending and auxiliary state.
    public var memoryBytes: Int {
        checkpointedStores.reduce(pending.bytes) { $0 + $1.store.memoryBytes }
            + processors.reduce(0) { $0 + $1.auxiliaryBytes }
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
        public var hostInfo = HostInfoProcessor.Configuration()
        public var limits = Limits()
        /// Dry run (`disable_collection`): series are kept and limited, but nothing is sent (spec §1.4).
        public var disableCollection = false
        /// Spans ending further than this from now are not counted (spec §1.3; `ingestion_time_range_slack`).
        public var ingestionTimeRangeSlackMs: Int64 = 30_000
        /// `span_name_sanitization`: DRAIN clustering of span metrics' `span_name` label (spec §5.7).
        public var spanNameSanitization = SpanNameSanitization.disabled
        /// `generate_native_histograms` and the native histograms' parameters (spec §5.4).
        public var nativeHistograms = NativeHistogramSettings()

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
