import MetronomeWire

/// Derives Tempo's span metrics — `traces_spanmetrics_calls_total`, `traces_spanmetrics_latency` (classic
/// histogram) and `traces_spanmetrics_size_total` — from span batches (spec §2).
///
/// Per batch, in two phases: first every span's label values are located (as offsets into the request or into a
/// small per-batch scratch buffer for stringified values) and hashed, and the update is queued for the shard its
/// hash selects; then each shard with updates is locked once and its updates applied. Nothing is allocated per span
/// and a `String` is made only when a new series appears (ARCHITECTURE.md, hot-path rules 1–5).
public final class SpanMetricsProcessor: Sendable {
    /// The processor's name in `overrides…processors`.
    public static let name = "span-metrics"

    public let configuration: Configuration
    let store: SeriesStore
    private let locator: SpanLabelLocator
    private let multiplier: SpanMultiplier
    private let filter: SpanFilter
    /// Per-label cardinality limits and demand estimates.
    let cardinality: CardinalityGuard
    /// `traces_target_info`, when enabled.
    let targetInfo: (labels: TargetInfoLabels, store: InfoStore)?
    private let bounds: [Double]
    /// Where each enabled metric keeps its values in an entry; -1 for a disabled one.
    private let callsOffset: Int
    private let sizeOffset: Int
    private let latencyOffset: Int

    /// Makes the processor; `configuration` should have passed ``Configuration/validate()`` (the configuration loader
    /// does that), though nothing breaks if it did not.
    public init(
        configuration: Configuration,
        registry: RegistryConfiguration,
        limiter: SeriesLimiter = SeriesLimiter(),
        maxCardinalityPerLabel: Int = 0,
        nowMs: Int64 = 0
    ) {
        self.configuration = configuration
        let columns = configuration.columns
        locator = SpanLabelLocator(columns: columns, maxValueLength: registry.maxLabelValueLength)
        filter = SpanFilter(configuration.filterPolicies)
        multiplier = SpanMultiplier(
            key: Array(configuration.spanMultiplierKey.utf8),
            useTraceState: configuration.enableTracestateSpanMultiplier
        )
        bounds = configuration.histogramBuckets.sorted()
        var metrics: [(String, MetricLayout.Kind)] = []
        if configuration.metrics.contains(.calls) { metrics.append(("traces_spanmetrics_calls_total", .counter)) }
        if configuration.metrics.contains(.size) { metrics.append(("traces_spanmetrics_size_total", .counter)) }
        if configuration.metrics.contains(.latency) {
            metrics.append(("traces_spanmetrics_latency", .histogram(bounds: bounds)))
        }
        let layout = MetricLayout(metrics)
        func offset(_ name: String) -> Int { layout.metrics.first { $0.name == name }?.offset ?? -1 }
        callsOffset = offset("traces_spanmetrics_calls_total")
        sizeOffset = offset("traces_spanmetrics_size_total")
        latencyOffset = offset("traces_spanmetrics_latency")
        store = SeriesStore(columnNames: columns.map(\.name), layout: layout, registry: registry, limiter: limiter)
        cardinality = CardinalityGuard(
            columns: columns.count,
            maxPerLabel: maxCardinalityPerLabel,
            windowMs: registry.staleDurationMs,
            nowMs: nowMs
        )
        targetInfo =
            configuration.enableTargetInfo
            ? (
                TargetInfoLabels(
                    excludedKeys: configuration.targetInfoExcludedDimensions,
                    instanceLabel: configuration.enableInstanceLabel,
                    registry: registry
                ),
                InfoStore(metricName: "traces_target_info", registry: registry, limiter: limiter)
            ) : nil
    }

    /// What one push did.
    public struct PushResult: Sendable, Equatable {
        /// Spans dropped because a label value of a new series was not valid UTF-8.
        public var invalidUTF8 = 0
        /// Spans the filter policies rejected.
        public var filtered = 0
        /// Spans counted in the overflow series because their label set did not fit under the limit.
        public var overflowed = 0
        /// Per label (column), values replaced by `__cardinality_overflow__`; empty without a per-label limit.
        public var labelValuesLimited: [Int] = []
    }

    /// The names of the labels, in column order (for per-label self-metrics).
    var labelNames: [String] { locator.columns.map(\.name) }

    /// Updates the series of every span in `batch`.
    public func push(_ batch: SpanBatch, nowMs: Int64) -> PushResult {
        var work = BatchWork(
            constants: locator.constantBytes,
            spanCount: batch.spanCount,
            columnCount: locator.columns.count
        )
        work.tracksValueHashes = cardinality.maxPerLabel > 0
        work.overLimit = cardinality.overLimitLabels()
        work.labelValuesLimited = Array(repeating: 0, count: work.overLimit.count)
        batch.withBytes { bytes in locateLabels(batch, bytes: bytes, into: &work) }
        cardinality.record(
            valueHashes: work.valueHashes,
            seriesHashes: work.pending.flatMap { $0.map(\.hash) },
            nowMs: nowMs
        )
        var result = PushResult(filtered: work.filtered, labelValuesLimited: work.labelValuesLimited)
        var acceptedPerResource = [Int](repeating: 0, count: targetInfo == nil ? 0 : batch.resources.count)
        batch.withBytes { bytes in
            work.scratch.withUnsafeBytes { scratch in
                apply(
                    work,
                    batchBytes: bytes,
                    scratchBytes: scratch,
                    nowMs: nowMs,
                    result: &result,
                    acceptedPerResource: &acceptedPerResource
                )
            }
        }
        if let targetInfo {
            batch.withBytes { bytes in
                registerTargetInfo(
                    targetInfo,
                    batch: batch,
                    bytes: bytes,
                    acceptedPerResource: acceptedPerResource,
                    nowMs: nowMs,
                    result: &result
                )
            }
        }
        return result
    }

    /// Spec §2.2 d: a resource with at least one accepted span keeps its target_info series alive; if that series'
    /// labels are not valid UTF-8, each of its accepted spans counts as invalid.
    private func registerTargetInfo(
        _ targetInfo: (labels: TargetInfoLabels, store: InfoStore),
        batch: SpanBatch,
        bytes: UnsafeRawBufferPointer,
        acceptedPerResource: [Int],
        nowMs: Int64,
        result: inout PushResult
    ) {
        for (index, accepted) in acceptedPerResource.enumerated() where accepted > 0 {
            switch targetInfo.labels.outcome(for: batch.resources[index], batch: batch, bytes: bytes) {
            case .none: break
            case .invalidUTF8: result.invalidUTF8 += accepted
            case .labels(let labels):
                _ = targetInfo.store.touch(labels.map { (name: $0.name, value: $0.value) }, nowMs: nowMs)
            }
        }
    }

    // MARK: - Phase 1: locate and hash label values

    private func locateLabels(_ batch: SpanBatch, bytes: UnsafeRawBufferPointer, into work: inout BatchWork) {
        batch.attributes.withUnsafeBufferPointer { attributes in
            locateLabels(batch, attributes: attributes, bytes: bytes, into: &work)
        }
    }

    private func locateLabels(
        _ batch: SpanBatch,
        attributes: UnsafeBufferPointer<AttributeRecord>,
        bytes: UnsafeRawBufferPointer,
        into work: inout BatchWork
    ) {
        let memo = RegexMemo()
        for resource in batch.resources where !resource.spans.isEmpty {
            locator.beginResource(resource, batch: batch, bytes: bytes, work: &work)
            let resourceAttributes = Int(resource.attributes.lowerBound)..<Int(resource.attributes.upperBound)
            for spanIndex in resource.spans {
                let span = batch.spans[Int(spanIndex)]
                if filter.isEnabled
                    && !filter.accepts(
                        span,
                        resourceAttributes: resourceAttributes,
                        attributes: attributes,
                        bytes: bytes,
                        memo: memo
                    )
                {
                    work.filtered += 1
                    continue
                }
                let refStart = Int32(work.refs.count)
                let hash = locator.locate(span, batch: batch, bytes: bytes, work: &work)
                // Spec §2.7: a span ending before it starts is observed as 0 s.
                let latency =
                    span.endTimeUnixNano > span.startTimeUnixNano
                    ? Double(span.endTimeUnixNano - span.startTimeUnixNano) / 1e9 : 0
                var bucket = 0
                while bucket < bounds.count && latency > bounds[bucket] { bucket += 1 }
                let weight =
                    multiplier.isEnabled
                    ? multiplier.multiplier(
                        of: span,
                        resourceAttributes: resourceAttributes,
                        batch: batch,
                        bytes: bytes
                    )
                    : 1
                work.enqueue(
                    PendingUpdate(
                        hash: hash,
                        refStart: refStart,
                        bucket: Int32(bucket),
                        latency: latency,
                        size: Double(span.encodedSize),
                        weight: weight,
                        traceID: span.traceID.count == 16 ? span.traceID.offset : UInt32.max,
                        resource: span.resourceIndex
                    )
                )
            }
        }
    }

    // MARK: - Phase 2: apply per shard, one lock each

    private func apply(
        _ work: BatchWork,
        batchBytes: UnsafeRawBufferPointer,
        scratchBytes: UnsafeRawBufferPointer,
        nowMs: Int64,
        result: inout PushResult,
        acceptedPerResource: inout [Int]
    ) {
        let columnCount = locator.columns.count
        var columnValues = [UnsafeRawBufferPointer](
            repeating: UnsafeRawBufferPointer(start: nil, count: 0),
            count: columnCount
        )
        var overflow: [Double] = []
        for (shard, updates) in work.pending.enumerated() where !updates.isEmpty {
            store.withShard(shard) { table in
                let width = table.valueWidth
                for update in updates {
                    for column in 0..<columnCount {
                        let ref = work.refs[Int(update.refStart) + column]
                        let base = ref.inScratch ? scratchBytes : batchBytes
                        columnValues[column] = UnsafeRawBufferPointer(
                            rebasing: base[Int(ref.offset)..<(Int(ref.offset) + Int(ref.count))]
                        )
                    }
                    let entry: Int
                    switch store.admit(columnValues, hash: update.hash, into: &table, nowMs: nowMs) {
                    case .entry(let admitted): entry = admitted
                    case .overLimit:
                        if overflow.isEmpty { overflow = Array(repeating: 0, count: width) }
                        record(update, into: &overflow, at: 0)
                        result.overflowed += 1
                        continue
                    case .invalidUTF8:
                        result.invalidUTF8 += 1
                        continue
                    }
                    let base = entry * width
                    record(update, into: &table.values, at: base)
                    if latencyOffset >= 0 && update.traceID != UInt32.max {
                        // Spec §5.3: the latest observation per bucket is its exemplar.
                        let offset = Int(update.traceID)
                        let exemplar = StoredExemplar(
                            traceIDHigh: UInt64(
                                bigEndian: batchBytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                            ),
                            traceIDLow: UInt64(
                                bigEndian: batchBytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)
                            ),
                            value: update.latency
                        )
                        table.setExemplar(exemplar, entry: entry, slot: latencyOffset + 2 + Int(update.bucket))
                    }
                    table.lastUpdatedMs[entry] = nowMs
                    if !acceptedPerResource.isEmpty { acceptedPerResource[Int(update.resource)] += 1 }
                }
            }
        }
        if !overflow.isEmpty { store.addToOverflow(overflow, nowMs: nowMs) }
    }

    /// Adds one span's contribution to the entry whose doubles start at `base`.
    @inline(__always)
    private func record(_ update: PendingUpdate, into values: inout [Double], at base: Int) {
        // Spec §2.7: the multiplier weighs calls and latency, not size.
        if callsOffset >= 0 { values[base + callsOffset] += update.weight }
        if sizeOffset >= 0 { values[base + sizeOffset] += update.size }
        if latencyOffset >= 0 {
            values[base + latencyOffset] += update.latency * update.weight
            values[base + latencyOffset + 1] += update.weight
            values[base + latencyOffset + 2 + Int(update.bucket)] += update.weight
        }
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
