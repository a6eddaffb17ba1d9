import MetronomeWire
import Synchronization

/// A processor's series, sharded by series hash, each shard a ``SeriesTable`` behind its own `Mutex`.
///
/// Writers group a batch's updates by shard and take each shard's lock once per batch (ARCHITECTURE.md, hot-path
/// rule 5); collection takes each lock once per run.
final class SeriesStore: Sendable {
    /// A power of two; the shard of a series is the top bits of its hash, its table slot the low bits.
    static let shardCount = 16
    static let shardShift: UInt64 = 60

    private final class Shard: Sendable {
        let table: Mutex<SeriesTable>
        init(_ table: SeriesTable) { self.table = Mutex(table) }
    }

    let layout: MetricLayout
    let plan: LabelPlan
    let columnCount: Int
    let columnNames: [String]
    /// The tenant's limiter, shared with its other stores.
    let limiter: SeriesLimiter
    /// What one new entry costs the limiter.
    let entryCost: Int
    /// The values of label sets the limiter turned away, emitted as `{metric_overflow="true"}` (spec §5.6).
    private let overflow: Mutex<OverflowEntry>
    private let overflowPlan: LabelPlan
    private static let overflowValue = StaticBytes(["true"])
    /// Set once the store's series were ended (``end(timestampMs:into:)``): a push still holding the store from
    /// before a reconfiguration then records nothing, so no entry is left holding limiter room.
    let isEnded = Atomic<Bool>(false)
    /// The exemplar label (`trace_id_label_name`), which a tenant's overrides may change while it runs.
    let exemplarLabel: Mutex<String>
    private let shards: [Shard]

    init(
        columnNames: [String],
        layout: MetricLayout,
        registry: RegistryConfiguration,
        limiter: SeriesLimiter = SeriesLimiter()
    ) {
        self.layout = layout
        self.limiter = limiter
        self.entryCost = limiter.cost(seriesPerEntry: layout.seriesPerEntry)
        self.overflow = Mutex(OverflowEntry(layout: layout))
        self.overflowPlan = LabelPlan(columnNames: ["metric_overflow"], registry: registry)
        self.columnCount = columnNames.count
        self.columnNames = columnNames
        self.exemplarLabel = Mutex(registry.traceIDLabelName)
        self.plan = LabelPlan(columnNames: columnNames.map(registry.truncatedName), registry: registry)
        shards = (0..<Self.shardCount).map { _ in
            Shard(
                SeriesTable(
                    columnCount: columnNames.count,
                    valueWidth: layout.width,
                    nativeSchemas: layout.nativeSettings.map(\.schema)
                )
            )
        }
    }

    /// The shard a series hash belongs to.
    @inline(__always)
    static func shard(of hash: UInt64) -> Int { Int(truncatingIfNeeded: hash >> shardShift) }

    /// What became of a label set offered to a shard's table.
    enum Admission {
        /// Its entry, existing or new.
        case entry(Int)
        /// New, and the limiter had no room: the observation belongs in the overflow series.
        case overLimit
        /// New, with a value that is not valid UTF-8: dropped.
        case invalidUTF8
    }

    /// The entry for the label values `columns` (with precomputed `hash`) in `table`, one of this store's shards,
    /// created when new and the limiter grants room.
    @inline(__always)
    func admit(
        _ columns: UnsafeBufferPointer<UnsafeRawBufferPointer>,
        hash: UInt64,
        into table: inout SeriesTable,
        nowMs: Int64
    ) -> Admission {
        do {
            return .entry(try table.entry(hash: hash, columns: columns, nowMs: nowMs) { limiter.reserve(entryCost) })
        } catch .overLimit {
            return .overLimit
        } catch {
            return .invalidUTF8
        }
    }

    /// Runs `body` with exclusive access to one shard's table.
    @inline(__always)
    func withShard<R>(_ shard: Int, _ body: (inout SeriesTable) throws -> R) rethrows -> R {
        try shards[shard].table.withLock { try body(&$0) }
    }

    /// Emits every series into `sink`; a ``CollectionMode/collect`` run then settles initial zeros and removes
    /// entries idle for longer than the stale duration, an ``CollectionMode/end`` run removes them all.
    /// - Parameter shardRange: the shards to emit (a snapshot may go shard by shard); the overflow series comes with
    ///   the last shard. A collection takes them all.
    /// - Returns: the number of entries left and the number removed.
    func collect(
        _ mode: CollectionMode,
        timestampMs: Int64,
        staleBeforeMs: Int64,
        shardRange: Range<Int> = 0..<shardCount,
        into sink: inout some SampleSink
    ) -> (entries: Int, removed: Int) {
        precondition(mode == .snapshot || shardRange == 0..<Self.shardCount, "a collection takes every shard")
        // Spec §5.2: a new series' zero goes one second before the start of the current minute.
        let initialZeroMs = (timestampMs / 60_000) * 60_000 - 1_000
        var scratch = CollectionScratch(exemplarLabel: exemplarLabel.withLock { $0 })
        var entries = 0
        var removed = 0
        for shard in shards[shardRange] {
            // The shard is held only to take a copy-on-write snapshot and settle what the run changes: the series
            // are emitted from the snapshot with the lock released, so pushes to the shard go on meanwhile (the first
            // one copies the values it changes, once per collection).
            let table = shard.table.withLock { table in
                let snapshot = table
                if mode != .snapshot {
                    removed += table.removeEntries { mode == .end || Self.isStale(snapshot, $0, before: staleBeforeMs) }
                    table.markCollected()
                    table.clearExemplars()
                    table.settleNatives(nowMs: timestampMs, settings: layout.nativeSettings)
                }
                entries += table.count
                return snapshot
            }
            let nativeWidth = table.nativeWidth
            table.values.withUnsafeBufferPointer { values in
                table.natives.withUnsafeBufferPointer { natives in
                    table.forEachEntry { entry, column in
                        // A series never collected has no samples for `.end` to end.
                        if mode == .end && table.isNew[entry] { return }
                        let start = entry * layout.width
                        let nativeStart = entry * nativeWidth
                        layout.emit(
                            values: UnsafeBufferPointer(rebasing: values[start..<(start + layout.width)]),
                            natives: UnsafeBufferPointer(rebasing: natives[nativeStart..<(nativeStart + nativeWidth)]),
                            plan: plan,
                            timestampMs: timestampMs,
                            initialZeroMs: mode == .collect && table.isNew[entry] ? initialZeroMs : nil,
                            stale: mode == .end
                                || (mode == .collect && Self.isStale(table, entry, before: staleBeforeMs)),
                            scratch: &scratch,
                            column: column,
                            exemplar: { slot in mode == .end ? nil : table.exemplar(entry: entry, slot: slot) },
                            into: &sink
                        )
                    }
                }
            }
        }
        limiter.release(removed * entryCost)
        guard shardRange.upperBound == Self.shardCount else { return (entries, removed) }
        collectOverflow(
            mode,
            timestampMs: timestampMs,
            initialZeroMs: initialZeroMs,
            staleBeforeMs: staleBeforeMs,
            scratch: &scratch,
            into: &sink
        )
        return (entries, removed)
    }

    /// The overflow series' values and native histograms, when it is in use.
    func overflowState() -> (values: [Double], natives: [NativeHistogram])? {
        overflow.withLock { $0.used ? ($0.values, $0.natives) : nil }
    }

    /// Puts back the overflow series' values from a checkpoint (already collected: no initial zero).
    func restoreOverflow(_ values: [Double], natives: [NativeHistogram], nowMs: Int64) {
        guard values.count == layout.width, natives.count == layout.nativeSettings.count else { return }
        overflow.withLock { overflow in
            overflow.values = values
            overflow.natives = natives
            overflow.used = true
            overflow.isNew = false
            overflow.lastUpdatedMs = nowMs
        }
    }

    /// Runs `body` on the overflow entry's doubles and native histograms, marking it in use: a batch's turned-away
    /// label sets are recorded there under one lock.
    func updateOverflow(
        nowMs: Int64,
        _ body: (UnsafeMutableBufferPointer<Double>, UnsafeMutableBufferPointer<NativeHistogram>) -> Void
    ) {
        overflow.withLock { overflow in
            overflow.values.withUnsafeMutableBufferPointer { values in
                overflow.natives.withUnsafeMutableBufferPointer { natives in body(values, natives) }
            }
            overflow.used = true
            overflow.lastUpdatedMs = nowMs
        }
    }

    private func collectOverflow(
        _ mode: CollectionMode,
        timestampMs: Int64,
        initialZeroMs: Int64,
        staleBeforeMs: Int64,
        scratch: inout CollectionScratch,
        into sink: inout some SampleSink
    ) {
        overflow.withLock { overflow in
            guard overflow.used else { return }
            let stale = !overflow.isNew && overflow.lastUpdatedMs < staleBeforeMs
            if !(mode == .end && overflow.isNew) {
                overflow.values.withUnsafeBufferPointer { values in
                    overflow.natives.withUnsafeBufferPointer { natives in
                        layout.emit(
                            values: values,
                            natives: natives,
                            plan: overflowPlan,
                            timestampMs: timestampMs,
                            initialZeroMs: mode == .collect && overflow.isNew ? initialZeroMs : nil,
                            stale: mode == .end || (mode == .collect && stale),
                            scratch: &scratch,
                            column: { _ in Self.overflowValue[0] },
                            exemplar: { _ in nil },
                            into: &sink
                        )
                    }
                }
            }
            guard mode != .snapshot else { return }
            overflow.isNew = false
            if mode == .end || stale {
                overflow = OverflowEntry(layout: layout)
            }
            for slot in overflow.natives.indices {
                overflow.natives[slot].resetIfDue(nowMs: timestampMs, settings: layout.nativeSettings[slot])
            }
        }
    }

    /// An entry idle since before `before` that has been collected at least once: its removal run sends staleness
    /// markers (a new entry first sends its values, so its series exists before it ends).
    private static func isStale(_ table: SeriesTable, _ entry: Int, before: Int64) -> Bool {
        !table.isNew[entry] && table.lastUpdatedMs[entry] < before
    }

    /// Whether the store holds no series, the overflow series included.
    var isEmpty: Bool {
        shards.allSatisfy { shard in shard.table.withLock { $0.count == 0 } } && overflowState() == nil
    }

    /// Approximate heap bytes held by all shards.
    var memoryBytes: Int {
        shards.reduce(0) { total, shard in total + shard.table.withLock { $0.memoryBytes } }
    }
}

/// Whether a collection is the periodic one, which changes state, or a read-only look (for `/metrics/generated`).
public enum CollectionMode: Sendable {
    /// Emits initial zeros for new series, then marks them seen and removes stale series (spec §5.2, §5.8).
    case collect
    /// Emits current values only and changes nothing.
    case snapshot
    /// Ends every series: one staleness marker for each series collected before, then all are removed (a store
    /// whose processor was removed or whose series changed identity).
    case end
}

/// The overflow series of a store: one entry's values, outside the tables and the limit. It keeps no exemplars.
struct OverflowEntry {
    var values: [Double]
    var natives: [NativeHistogram]
    var used = false
    var isNew = true
    var lastUpdatedMs: Int64 = 0
}

extension OverflowEntry {
    /// An unused overflow entry of `layout`.
    init(layout: MetricLayout) {
        self.init(values: Array(repeating: 0, count: layout.width), natives: layout.newNativeHistograms(nowMs: 0))
    }
}
