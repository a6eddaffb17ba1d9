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
    private let columns: [SpanLabelSource]
    private let bounds: [Double]
    private let maxValueLength: Int
    /// Span kind and status code names, stored at the start of every batch's scratch buffer.
    private let constantBytes: [UInt8]
    private let kindRefs: [ValueRef]
    private let statusRefs: [ValueRef]
    private let kindHashes: [UInt64]
    private let statusHashes: [UInt64]

    private static let callsOffset = 0
    private static let sizeOffset = 1
    private static let latencyOffset = 2

    public init(configuration: Configuration, registry: RegistryConfiguration) {
        self.configuration = configuration
        columns = SpanLabelSource.columns(for: configuration.intrinsicDimensions)
        bounds = configuration.histogramBuckets.sorted()
        maxValueLength = registry.maxLabelValueLength
        let layout = MetricLayout([
            ("traces_spanmetrics_calls_total", .counter),
            ("traces_spanmetrics_size_total", .counter),
            ("traces_spanmetrics_latency", .histogram(bounds: bounds)),
        ])
        store = SeriesStore(columnNames: columns.map(\.labelName), layout: layout, registry: registry)

        var bytes: [UInt8] = []
        func constant(_ name: String) -> (ValueRef, UInt64) {
            let ref = ValueRef(inScratch: true, offset: UInt32(bytes.count), count: UInt32(name.utf8.count))
            bytes.append(contentsOf: name.utf8)
            let hash = Array(name.utf8).withUnsafeBytes { SeriesHash.hash($0) }
            return (ref, hash)
        }
        let kinds = OTLPEnumNames.spanKinds.map(constant)
        let statuses = OTLPEnumNames.statusCodes.map(constant)
        constantBytes = bytes
        kindRefs = kinds.map(\.0)
        kindHashes = kinds.map(\.1)
        statusRefs = statuses.map(\.0)
        statusHashes = statuses.map(\.1)
    }

    /// What one push did.
    public struct PushResult: Sendable, Equatable {
        /// Spans that updated a series.
        public var accepted = 0
        /// Spans dropped because a label value of a new series was not valid UTF-8.
        public var invalidUTF8 = 0
    }

    /// Updates the series of every span in `batch`.
    public func push(_ batch: SpanBatch, nowMs: Int64) -> PushResult {
        var work = BatchWork(constants: constantBytes, spanCount: batch.spanCount, columnCount: columns.count)
        batch.withBytes { bytes in locateLabels(batch, bytes: bytes, into: &work) }
        var result = PushResult()
        batch.withBytes { bytes in
            work.scratch.withUnsafeBytes { scratch in
                apply(work, batchBytes: bytes, scratchBytes: scratch, nowMs: nowMs, result: &result)
            }
        }
        return result
    }

    // MARK: - Phase 1: locate and hash label values

    private func locateLabels(_ batch: SpanBatch, bytes: UnsafeRawBufferPointer, into work: inout BatchWork) {
        for resource in batch.resources where !resource.spans.isEmpty {
            let service = serviceName(of: resource, in: batch, bytes: bytes, scratch: &work.scratch)
            for spanIndex in resource.spans {
                let span = batch.spans[Int(spanIndex)]
                var hash = SeriesHash.seed
                let refStart = Int32(work.refs.count)
                for (column, source) in columns.enumerated() {
                    let (ref, valueHash): (ValueRef, UInt64)
                    switch source {
                    case .service: (ref, valueHash) = service
                    case .spanName: (ref, valueHash) = located(span.name, bytes)
                    case .statusMessage: (ref, valueHash) = located(span.statusMessage, bytes)
                    case .spanKind:
                        (ref, valueHash) = enumValue(span.kind, refs: kindRefs, hashes: kindHashes, &work.scratch)
                    case .statusCode:
                        (ref, valueHash) = enumValue(
                            span.statusCode,
                            refs: statusRefs,
                            hashes: statusHashes,
                            &work.scratch
                        )
                    }
                    work.refs.append(ref)
                    hash = SeriesHash.combine(hash, valueHash, column: column)
                }
                // Spec §2.7: a span ending before it starts is observed as 0 s.
                let latency =
                    span.endTimeUnixNano > span.startTimeUnixNano
                    ? Double(span.endTimeUnixNano - span.startTimeUnixNano) / 1e9 : 0
                var bucket = 0
                while bucket < bounds.count && latency > bounds[bucket] { bucket += 1 }
                work.enqueue(
                    PendingUpdate(
                        hash: hash,
                        refStart: refStart,
                        bucket: Int32(bucket),
                        latency: latency,
                        size: Double(span.encodedSize)
                    )
                )
            }
        }
    }

    /// The `service` label of a resource: its first `service.name` attribute, stringified (spec §2.2).
    private func serviceName(
        of resource: ResourceRecord,
        in batch: SpanBatch,
        bytes: UnsafeRawBufferPointer,
        scratch: inout [UInt8]
    ) -> (ValueRef, UInt64) {
        for index in resource.attributes {
            let attribute = batch.attributes[Int(index)]
            guard bytes[attribute.key.range].elementsEqual("service.name".utf8) else { continue }
            if attribute.type == .string { return located(attribute.value, bytes) }
            let start = scratch.count
            AttributeValueFormatter.append(attribute, bytes: bytes, to: &scratch)
            return scratchValue(from: start, &scratch)
        }
        return (ValueRef.absent, SeriesHash.hash(UnsafeRawBufferPointer(start: nil, count: 0)))
    }

    @inline(__always)
    private func located(_ range: ByteRange, _ bytes: UnsafeRawBufferPointer) -> (ValueRef, UInt64) {
        let slice = UnsafeRawBufferPointer(rebasing: bytes[range.range])
        let length = UTF8Validation.truncatedLength(slice, limit: maxValueLength)
        let ref = ValueRef(inScratch: false, offset: range.offset, count: UInt32(length))
        return (ref, SeriesHash.hash(UnsafeRawBufferPointer(rebasing: slice[0..<length])))
    }

    /// An enum's name, or its decimal number for values the OTLP schema does not define (spec §2.3).
    @inline(__always)
    private func enumValue(
        _ value: Int32,
        refs: [ValueRef],
        hashes: [UInt64],
        _ scratch: inout [UInt8]
    ) -> (ValueRef, UInt64) {
        if value >= 0 && Int(value) < refs.count { return (refs[Int(value)], hashes[Int(value)]) }
        let start = scratch.count
        scratch.append(contentsOf: String(value).utf8)
        return scratchValue(from: start, &scratch)
    }

    private func scratchValue(from start: Int, _ scratch: inout [UInt8]) -> (ValueRef, UInt64) {
        scratch.withUnsafeBytes { all in
            let slice = UnsafeRawBufferPointer(rebasing: all[start...])
            let length = UTF8Validation.truncatedLength(slice, limit: maxValueLength)
            let ref = ValueRef(inScratch: true, offset: UInt32(start), count: UInt32(length))
            return (ref, SeriesHash.hash(UnsafeRawBufferPointer(rebasing: slice[0..<length])))
        }
    }

    // MARK: - Phase 2: apply per shard, one lock each

    private func apply(
        _ work: BatchWork,
        batchBytes: UnsafeRawBufferPointer,
        scratchBytes: UnsafeRawBufferPointer,
        nowMs: Int64,
        result: inout PushResult
    ) {
        let columnCount = columns.count
        var columnValues = [UnsafeRawBufferPointer](
            repeating: UnsafeRawBufferPointer(start: nil, count: 0),
            count: columnCount
        )
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
                    do {
                        entry = try columnValues.withUnsafeBufferPointer {
                            try table.entry(hash: update.hash, columns: $0, nowMs: nowMs)
                        }
                    } catch {
                        result.invalidUTF8 += 1
                        continue
                    }
                    let base = entry * width
                    table.values[base + Self.callsOffset] += 1
                    table.values[base + Self.sizeOffset] += update.size
                    table.values[base + Self.latencyOffset] += update.latency
                    table.values[base + Self.latencyOffset + 1] += 1
                    table.values[base + Self.latencyOffset + 2 + Int(update.bucket)] += 1
                    table.lastUpdatedMs[entry] = nowMs
                    result.accepted += 1
                }
            }
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
}

/// The per-batch buffers of a push: allocated once per batch, sized from the span count.
struct BatchWork {
    var scratch: [UInt8]
    var refs: [ValueRef] = []
    var pending: [[PendingUpdate]]

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
