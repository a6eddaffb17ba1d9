import MetronomeWire

/// Derives Tempo's span metrics — `traces_spanmetrics_calls_total`, `traces_spanmetrics_latency` (a classic or
/// native histogram, or both) and `traces_spanmetrics_size_total` — from span batches (spec §2).
///
/// Per batch, in two phases: first every span's label values are located (as offsets into the request or into a
/// small per-batch scratch buffer for stringified values) and hashed, and the update is queued for the shard its
/// hash selects; then each shard with updates is locked once and its updates applied. Nothing is allocated per span
/// and a `String` is made only when a new series appears (ARCHITECTURE.md, hot-path rules 1–5).
public final class SpanMetricsProcessor: Processor {
    /// The processor's name in `overrides…processors`.
    public static let name = "span-metrics"
    static let enablingNames = [name] + Metrics.subProcessors.map(\.name)

    public let configuration: Configuration
    let store: SeriesStore
    private let locator: SpanLabelLocator
    /// The names of the labels, in column order (for per-label self-metrics).
    let labelNames: [String]
    private let selection: SpanSelection
    /// Per-label cardinality limits and demand estimates.
    let cardinality: CardinalityGuard
    /// `span_name_sanitization` (spec §5.7), and its DRAIN state once it has been on, while there is a `span_name`
    /// label.
    let sanitization: SpanNameSanitization
    let sanitizer: SpanNameSanitizer?
    /// The sanitizer, while the mode is on.
    private var activeSanitizer: SpanNameSanitizer? { sanitization == .disabled ? nil : sanitizer }
    /// The `span_name` label's column, or -1.
    private let spanNameColumn: Int
    /// `traces_target_info`, when enabled.
    let targetInfo: (labels: TargetInfoLabels, store: InfoStore)?
    /// Where each enabled metric keeps its values in an entry; -1 for a disabled one.
    private let callsOffset: Int
    private let sizeOffset: Int
    private let latency: LatencyHistogram

    /// Makes the processor; `configuration` should have passed ``Configuration/validate()`` (the configuration loader
    /// does that), though nothing breaks if it did not.
    /// - Parameter previous: the processor this one replaces after a reconfiguration: its series continue where
    ///   their identity is unchanged.
    public init(
        configuration: Configuration,
        registry: RegistryConfiguration,
        limiter: SeriesLimiter = SeriesLimiter(),
        maxCardinalityPerLabel: Int = 0,
        sanitization: SpanNameSanitization = .disabled,
        histograms: NativeHistogramSettings = NativeHistogramSettings(),
        nowMs: Int64 = 0,
        continuing previous: SpanMetricsProcessor? = nil
    ) {
        self.configuration = configuration
        let columns = configuration.columns
        spanNameColumn = columns.firstIndex { $0.source == .spanName } ?? -1
        self.sanitization = sanitization
        // The clusters outlive a change of mode (as in Tempo, which keeps them while disabled) or of labels: they
        // are about names, not series.
        if spanNameColumn < 0 {
            sanitizer = nil
        } else {
            sanitizer = previous?.sanitizer ?? (sanitization == .disabled ? nil : SpanNameSanitizer())
        }
        locator = SpanLabelLocator(columns: columns, maxValueLength: registry.maxLabelValueLength)
        labelNames = columns.map(\.name)
        selection = SpanSelection(
            filterPolicies: configuration.filterPolicies,
            spanMultiplierKey: configuration.spanMultiplierKey,
            useTraceState: configuration.enableTracestateSpanMultiplier
        )
        let bounds = HistogramBounds(configuration.histogramBuckets)
        var metrics: [(String, MetricLayout.Kind)] = []
        if configuration.metrics.contains(.calls) { metrics.append(("traces_spanmetrics_calls_total", .counter)) }
        if configuration.metrics.contains(.size) { metrics.append(("traces_spanmetrics_size_total", .counter)) }
        if configuration.metrics.contains(.latency) {
            metrics.append(("traces_spanmetrics_latency", .histogram(bounds: bounds.upperBounds, native: histograms)))
        }
        let layout = MetricLayout(metrics)
        callsOffset = layout.offset(of: "traces_spanmetrics_calls_total")
        sizeOffset = layout.offset(of: "traces_spanmetrics_size_total")
        latency = LatencyHistogram("traces_spanmetrics_latency", layout: layout, bounds: bounds, settings: histograms)
        store = SeriesStore.continuing(
            previous?.store,
            columnNames: labelNames,
            layout: layout,
            registry: registry,
            limiter: limiter
        )
        if let previous, previous.store === store, previous.cardinality.maxPerLabel == maxCardinalityPerLabel {
            cardinality = previous.cardinality
        } else {
            cardinality = CardinalityGuard(
                columns: columns.count,
                maxPerLabel: maxCardinalityPerLabel,
                windowMs: registry.staleDurationMs,
                nowMs: nowMs
            )
        }
        if configuration.enableTargetInfo {
            let labels = TargetInfoLabels(
                excludedKeys: configuration.targetInfoExcludedDimensions,
                instanceLabel: configuration.enableInstanceLabel,
                registry: registry
            )
            // target_info's series keep their identity while the keys they leave out stay the same.
            let kept = previous.flatMap { previous in
                previous.configuration.targetInfoExcludedDimensions == configuration.targetInfoExcludedDimensions
                    && previous.configuration.enableInstanceLabel == configuration.enableInstanceLabel
                    ? previous.targetInfo?.store : nil
            }
            targetInfo = (
                labels, kept ?? InfoStore(metricName: "traces_target_info", registry: registry, limiter: limiter)
            )
        } else {
            targetInfo = nil
        }
    }

    static func make(
        _ configuration: Generator.Configuration,
        limiter: SeriesLimiter,
        nowMs: Int64,
        continuing previous: SpanMetricsProcessor?
    ) -> SpanMetricsProcessor? {
        var own = configuration.spanMetrics
        own.metrics = .enabled(by: configuration.processors)
        guard !own.metrics.isEmpty else { return nil }
        return SpanMetricsProcessor(
            configuration: own,
            registry: configuration.registry,
            limiter: limiter,
            maxCardinalityPerLabel: configuration.limits.maxCardinalityPerLabel,
            sanitization: configuration.spanNameSanitization,
            histograms: configuration.nativeHistograms,
            nowMs: nowMs,
            continuing: previous
        )
    }

    var latencyHistograms: [LatencyHistogram] { [latency] }

    var stores: ProcessorStores {
        ProcessorStores(series: [(Self.name, store)], info: targetInfo.map { [$0.store] } ?? [])
    }

    func addDemand(to result: inout Generator.CollectionResult) {
        let demand = cardinality.demand
        result.activeSeriesDemand += demand.labelSets * store.layout.seriesPerEntry
        for (column, estimate) in demand.labels.enumerated() {
            result.labelCardinalityDemand[labelNames[column]] = estimate
        }
        if activeSanitizer != nil {
            result.postSanitizationDemand = demand.sanitizedLabelSets * store.layout.seriesPerEntry
        }
    }

    var auxiliaryBytes: Int { sanitizer?.statistics.bytes ?? 0 }

    /// Relearns the clusters of the restored series' sanitized span names (spec §5.7 has the tree rebuilt from
    /// traffic, so each pattern's first span after a restart would get a series of its own).
    func restored() {
        guard let sanitizer else { return }
        var templates = Set<[UInt8]>()
        for shard in 0..<SeriesStore.shardCount {
            store.withShard(shard) { table in
                table.forEachEntry { _, value in
                    let name = value(spanNameColumn)
                    if name.containsWildcard { templates.insert(Array(name)) }
                }
            }
        }
        sanitizer.learn(templates.sorted { $0.lexicographicallyPrecedes($1) })
    }

    /// Updates the series of every span in `batch`.
    func push(_ batch: SpanBatch, nowMs: Int64, report: inout ProcessorReport) {
        var visitor = LabelVisitor(
            locator: locator,
            bounds: latency.bounds,
            work: BatchWork(
                constants: locator.constantBytes,
                spanCount: batch.spanCount,
                columnCount: locator.columns.count
            )
        )
        visitor.work.tracksValueHashes = cardinality.maxPerLabel > 0
        visitor.work.overLimit = cardinality.overLimitLabels()
        visitor.work.labelValuesLimited = Array(repeating: 0, count: visitor.work.overLimit.count)
        visitor.work.defersLabels = activeSanitizer != nil
        batch.withBytes { bytes in selection.walk(batch, bytes: bytes, &visitor) }
        var work = visitor.work
        if let sanitizer = activeSanitizer {
            report.spanNames = batch.withBytes { bytes in sanitizeNames(&work, sanitizer: sanitizer, bytes: bytes) }
        }
        cardinality.record(
            valueHashes: work.valueHashes,
            seriesHashes: work.pending.flatMap { $0.map(\.hash) },
            sanitizedHashes: work.sanitizedHashes,
            nowMs: nowMs
        )
        report.discard(work.filtered, processor: Self.name, reason: "span_metrics_filtered")
        for (column, count) in work.labelValuesLimited.enumerated() where count > 0 {
            report.labelValuesLimited[labelNames[column], default: 0] += count
        }
        var acceptedPerResource = [Int](repeating: 0, count: targetInfo == nil ? 0 : batch.resources.count)
        let recorded = batch.withBytes { bytes in
            work.scratch.withUnsafeBytes { scratch in
                record(work, batchBytes: bytes, scratchBytes: scratch, nowMs: nowMs, accepted: &acceptedPerResource)
            }
        }
        report.overflow(recorded.overflowed, processor: Self.name)
        var invalidUTF8 = recorded.invalidUTF8
        if let targetInfo {
            batch.withBytes { bytes in
                invalidUTF8 += registerTargetInfo(
                    targetInfo,
                    batch: batch,
                    bytes: bytes,
                    acceptedPerResource: acceptedPerResource,
                    nowMs: nowMs
                )
            }
        }
        report.discard(invalidUTF8, processor: Self.name, reason: "invalid_utf8")
    }

    /// Spec §2.2 d: a resource with at least one accepted span keeps its target_info series alive; if that series'
    /// labels are not valid UTF-8, each of its accepted spans counts as invalid.
    /// - Returns: the spans counted as invalid.
    private func registerTargetInfo(
        _ targetInfo: (labels: TargetInfoLabels, store: InfoStore),
        batch: SpanBatch,
        bytes: UnsafeRawBufferPointer,
        acceptedPerResource: [Int],
        nowMs: Int64
    ) -> Int {
        var invalid = 0
        for (index, accepted) in acceptedPerResource.enumerated() where accepted > 0 {
            switch targetInfo.labels.outcome(for: batch.resources[index], batch: batch, bytes: bytes) {
            case .none: break
            case .invalidUTF8: invalid += accepted
            case .labels(let labels):
                _ = targetInfo.store.touch(labels.map { (name: $0.name, value: $0.value) }, nowMs: nowMs)
            }
        }
        return invalid
    }

    // MARK: - Phase 1: locate and hash label values

    /// Locates and hashes each selected span's label values and queues its update for its shard.
    private struct LabelVisitor: SpanVisitor {
        let locator: SpanLabelLocator
        let bounds: HistogramBounds
        var work: BatchWork

        mutating func beginResource(_ resource: ResourceRecord, batch: SpanBatch, bytes: UnsafeRawBufferPointer)
            -> Bool
        {
            locator.beginResource(resource, batch: batch, bytes: bytes, work: &work)
            return true
        }

        func takesPart(_ span: SpanRecord) -> Bool { true }

        mutating func filteredOut(_ span: SpanRecord, bytes: UnsafeRawBufferPointer) { work.filtered += 1 }

        @inline(__always)
        mutating func visit(_ span: SpanRecord, weight: Double, batch: SpanBatch, bytes: UnsafeRawBufferPointer) {
            let refStart = Int32(work.refs.count)
            let hash: UInt64
            if work.defersLabels {
                locator.locateValues(span, batch: batch, bytes: bytes, work: &work)
                hash = 0
            } else {
                hash = locator.locate(span, batch: batch, bytes: bytes, work: &work)
            }
            let latency = span.durationSeconds
            let update = PendingUpdate(
                hash: hash,
                refStart: refStart,
                bucket: Int32(bounds.bucket(of: latency)),
                latency: latency,
                size: Double(span.encodedSize),
                weight: weight,
                traceID: span.traceID.count == 16 ? span.traceID.offset : UInt32.max,
                resource: span.resourceIndex
            )
            if work.defersLabels { work.deferredUpdates.append(update) } else { work.enqueue(update) }
        }
    }

    // MARK: - Phase 1b: sanitize span names, then make the labels

    /// Sanitizes the deferred spans' names under the sanitizer's lock, once for the batch, then makes each span's
    /// labels — with the sanitized name when enabled, the original in dry run — and queues its update. Either way
    /// the label set after sanitization feeds the post-sanitization demand estimate.
    private func sanitizeNames(_ work: inout BatchWork, sanitizer: SpanNameSanitizer, bytes: UnsafeRawBufferPointer)
        -> SpanNameSanitization.Counts
    {
        let columnCount = locator.columns.count
        let names = stride(from: spanNameColumn, to: work.deferredValues.count, by: columnCount).map {
            work.deferredValues[$0]
        }
        let (sanitized, counts) = sanitizer.sanitize(names, bytes: bytes, scratch: &work.scratch)
        let replaces = sanitization == .enabled
        // Enabled and with no label over its limit, the labels are the sanitized label set: its hash is the series'.
        let demandIsSeries = replaces && work.overLimit.isEmpty
        let updates = work.deferredUpdates
        let located = work.deferredValues
        work.sanitizedHashes.reserveCapacity(updates.count)
        located.withUnsafeBufferPointer { located in
            for (span, var update) in updates.enumerated() {
                let first = span * columnCount
                var hash = SeriesHash.seed
                var demandHash = SeriesHash.seed
                update.refStart = Int32(work.refs.count)
                for column in 0..<columnCount {
                    var value = located[first + column]
                    if column == spanNameColumn, let name = sanitized[span] {
                        if replaces { value = name }
                        if !demandIsSeries { demandHash = SeriesHash.combine(demandHash, name.hash, column: column) }
                    } else if !demandIsSeries {
                        demandHash = SeriesHash.combine(demandHash, value.hash, column: column)
                    }
                    hash = locator.label(value, column: column, hash: hash, work: &work)
                }
                update.hash = hash
                work.sanitizedHashes.append(demandIsSeries ? hash : demandHash)
                work.enqueue(update)
            }
        }
        return counts
    }

    // MARK: - Phase 2: record per shard, one lock each

    private func record(
        _ work: BatchWork,
        batchBytes: UnsafeRawBufferPointer,
        scratchBytes: UnsafeRawBufferPointer,
        nowMs: Int64,
        accepted acceptedPerResource: inout [Int]
    ) -> SeriesStore.Recorded {
        work.refs.withUnsafeBufferPointer { refs in
            acceptedPerResource.withUnsafeMutableBufferPointer { accepted in
                var recorder = Recorder(
                    refs: refs,
                    batchBytes: batchBytes,
                    scratchBytes: scratchBytes,
                    accepted: accepted,
                    callsOffset: callsOffset,
                    sizeOffset: sizeOffset,
                    latency: latency,
                    nowMs: nowMs
                )
                return store.record(work.pending, nowMs: nowMs, &recorder)
            }
        }
    }

    /// Records queued span updates: label values from the request or the scratch buffer, calls, size and latency.
    private struct Recorder: SeriesRecorder {
        let refs: UnsafeBufferPointer<ValueRef>
        let batchBytes: UnsafeRawBufferPointer
        let scratchBytes: UnsafeRawBufferPointer
        /// Accepted spans per resource (for target_info); empty without it.
        let accepted: UnsafeMutableBufferPointer<Int>
        let callsOffset: Int
        let sizeOffset: Int
        let latency: LatencyHistogram
        let nowMs: Int64

        @inline(__always)
        func labels(of update: PendingUpdate, into columns: UnsafeMutableBufferPointer<UnsafeRawBufferPointer>)
            -> UInt64
        {
            for column in columns.indices {
                let ref = refs[Int(update.refStart) + column]
                columns[column] = (ref.inScratch ? scratchBytes : batchBytes).bytes(
                    offset: ref.offset,
                    count: ref.count
                )
            }
            return update.hash
        }

        @inline(__always)
        func observe(
            _ update: PendingUpdate,
            into values: UnsafeMutableBufferPointer<Double>,
            natives: UnsafeMutableBufferPointer<NativeHistogram>,
            exemplars: inout SeriesStore.Exemplars
        ) {
            // Spec §2.7: the multiplier weighs calls and latency, not size.
            if callsOffset >= 0 { values[callsOffset] += update.weight }
            if sizeOffset >= 0 { values[sizeOffset] += update.size }
            guard latency.isEnabled else { return }
            var traceID: (high: UInt64, low: UInt64)?
            if update.traceID != UInt32.max {
                let offset = Int(update.traceID)
                traceID = (
                    UInt64(bigEndian: batchBytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)),
                    UInt64(bigEndian: batchBytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
                )
            }
            latency.observe(
                update.latency,
                weight: update.weight,
                bucket: Int(update.bucket),
                traceID: traceID,
                values: values,
                natives: natives,
                exemplars: &exemplars,
                nowMs: nowMs
            )
        }

        @inline(__always)
        func admitted(_ update: PendingUpdate) {
            if !accepted.isEmpty { accepted[Int(update.resource)] += 1 }
        }
    }
}

extension UnsafeRawBufferPointer {
    /// Whether the bytes hold DRAIN's `<_>`.
    fileprivate var containsWildcard: Bool {
        guard count >= 3 else { return false }
        for index in 0...(count - 3)
        where self[index] == UInt8(ascii: "<") && self[index + 1] == UInt8(ascii: "_")
            && self[index + 2] == UInt8(ascii: ">")
        {
            return true
        }
        return false
    }
}

/// Where a label value's bytes are: in the request, or in the batch's scratch buffer (constants and stringified
/// values). 12 bytes; resolved to a pointer only under the shard lock.
struct ValueRef {
    var inScratch: Bool
    var offset: UInt32
    var count: UInt32

    static let absent = ValueRef(inScratch: false, offset: 0, count: 0)
}

/// One span's update, queued for its shard.
struct PendingUpdate {
    var hash: UInt64
    var refStart: Int32
    var bucket: Int32
    var latency: Double
    var size: Double
    /// The span multiplier (spec §2.7); 1 unless sampling-aware counting is configured.
    var weight: Double
    /// Offset of the span's 16-byte trace id in the request, or `UInt32.max` when it has none (no exemplar).
    var traceID: UInt32
    /// The span's resource in the batch.
    var resource: Int32
}

/// The per-batch buffers of a push: allocated once per batch, sized from the span count.
struct BatchWork {
    var scratch: [UInt8]
    var refs: [ValueRef] = []
    var pending: [[PendingUpdate]]
    /// Per column, the value the current resource fixes, or nil where each span decides.
    var resourceValues: [SpanLabelLocator.LocatedValue?] = []
    /// Per mapping source key of the current resource, the index of its resource attribute or -1.
    var resourceMappingAttributes: [Int32] = []
    /// Spans the filter policies rejected.
    var filtered = 0
    /// Whether label value hashes are kept for the per-label cardinality sketches.
    var tracksValueHashes = false
    /// Every located value's hash, span-major, when ``tracksValueHashes``.
    var valueHashes: [UInt64] = []
    /// Per column, whether its values are replaced by `__cardinality_overflow__` in this batch (empty: none).
    var overLimit: [Bool] = []
    /// Per column, how many values were replaced.
    var labelValuesLimited: [Int] = []
    /// Whether labels wait for span-name sanitization: the walk locates values into ``deferredValues`` (columns
    /// per span, span-major) and queues updates in ``deferredUpdates``, without hash or label references yet.
    var defersLabels = false
    var deferredValues: [SpanLabelLocator.LocatedValue] = []
    var deferredUpdates: [PendingUpdate] = []
    /// Per deferred span, the hash of its label set after sanitization.
    var sanitizedHashes: [UInt64] = []

    init(constants: [UInt8], spanCount: Int, columnCount: Int) {
        scratch = constants
        refs.reserveCapacity(spanCount * columnCount)
        pending = Array(repeating: [], count: SeriesStore.shardCount)
    }

    @inline(__always)
    mutating func enqueue(_ update: PendingUpdate) {
        pending[SeriesStore.shard(of: update.hash)].append(update)
    }
}
