import MetronomeWire
import Synchronization

/// The span-name sanitizer of one tenant's span metrics (spec §5.7): DRAIN clustering behind one lock, taken once
/// per batch (ARCHITECTURE.md, hot-path rule 5), with a memo in front of it so a name seen before costs a hash probe
/// and a byte compare, not a tokenization and a tree walk.
///
/// A memo entry remembers which cluster gathered a name and that cluster's version; when the cluster's template has
/// changed since (it gathered a name that differs somewhere) or it was evicted, the name is clustered again. Unlike
/// Tempo, which re-clusters every span, a repeated name thus keeps the cluster it joined even if a more similar one
/// appears later in the same leaf; the template it gets is always that cluster's current one.
final class SpanNameSanitizer: Sendable {
    private let state: Mutex<State>

    fileprivate struct State {
        var drain: Drain
        var memo = Memo()
        /// Tempo's `drain_patterns_detected_total` and `…_evicted_total` at the last report.
        var reportedDetected = 0
        var reportedEvicted: [Drain.Eviction: Int] = [:]
        /// Per cluster slot, the batch (``batch``) and version whose scratch buffer holds its template, and where.
        var copies: [(batch: UInt64, version: UInt32, value: SpanLabelLocator.LocatedValue)] = []
        var batch: UInt64 = 0
        /// The DRAIN use count when this batch began.
        var batchStartTick: UInt64 = 0
    }

    init(limits: Drain.Limits = Drain.Limits()) {
        state = Mutex(State(drain: Drain(limits: limits)))
    }

    /// The sanitized name of each of `names` (values located in `bytes`), or nil where the name stays as it is.
    /// Templates are copied into `scratch` once per cluster per batch.
    func sanitize(
        _ names: [SpanLabelLocator.LocatedValue],
        bytes: UnsafeRawBufferPointer,
        scratch: inout [UInt8]
    ) -> (values: [SpanLabelLocator.LocatedValue?], counts: SpanNameSanitization.Counts) {
        var values = [SpanLabelLocator.LocatedValue?](repeating: nil, count: names.count)
        var result = SpanNameSanitization.Counts()
        var tooFew = 0
        var tooMany = 0
        state.withLock { state in
            state.batch &+= 1
            state.batchStartTick = state.drain.currentTick
            for (index, located) in names.enumerated() {
                let name = bytes.bytes(offset: located.ref.offset, count: located.ref.count)
                let (outcome, changesName) = state.resolve(name, hash: located.hash)
                guard case .cluster(let slot) = outcome else {
                    if outcome == .tooFewTokens { tooFew += 1 } else { tooMany += 1 }
                    continue
                }
                guard changesName else { continue }
                result.sanitized += 1
                values[index] = state.template(of: slot, in: &scratch)
            }
            result.patternsDetected = state.drain.detected - state.reportedDetected
            state.reportedDetected = state.drain.detected
            for (reason, count) in state.drain.evicted where count > state.reportedEvicted[reason, default: 0] {
                result.patternsEvicted[reason.rawValue] = count - state.reportedEvicted[reason, default: 0]
            }
            state.reportedEvicted = state.drain.evicted
        }
        if tooFew > 0 { result.skipped["too_few_tokens"] = tooFew }
        if tooMany > 0 { result.skipped["too_many_tokens"] = tooMany }
        return (values, result)
    }

    /// Learns sanitized span names (with `<_>`) as clusters, so names they gather are sanitized from their first
    /// occurrence: after a restart, the restored series' names.
    func learn(_ templates: [[UInt8]]) {
        state.withLock { state in
            for template in templates { template.withUnsafeBytes { state.drain.learn($0) } }
            state.reportedDetected = state.drain.detected
        }
    }

    /// Clusters alive and their heap bytes (with the memo's).
    var statistics: (clusters: Int, bytes: Int) {
        state.withLock { ($0.drain.clusterCount, $0.drain.heapBytes + $0.memo.heapBytes) }
    }
}

extension SpanNameSanitizer.State {
    /// The template of the cluster in `slot` as a label value in this batch's `scratch`, copied there once per
    /// batch and version.
    @inline(__always)
    mutating func template(of slot: Int32, in scratch: inout [UInt8]) -> SpanLabelLocator.LocatedValue {
        let index = Int(slot)
        let version = drain.versions[index]
        if index < copies.count && copies[index].batch == batch && copies[index].version == version {
            return copies[index].value
        }
        if index >= copies.count {
            copies += repeatElement((0, 0, .absent), count: index + 1 - copies.count)
        }
        let start = scratch.count
        let value = drain.withCluster(slot) { cluster in
            scratch.append(contentsOf: cluster.template)
            return SpanLabelLocator.LocatedValue(
                ref: ValueRef(inScratch: true, offset: UInt32(start), count: UInt32(cluster.template.count)),
                hash: cluster.templateHash
            )
        }
        copies[index] = (batch, version, value)
        return value
    }

    /// The outcome for a name, from the memo while its cluster is unchanged, else from DRAIN; and whether the
    /// cluster's template differs from the name.
    @inline(__always)
    mutating func resolve(_ name: UnsafeRawBufferPointer, hash: UInt64) -> (Drain.Outcome, Bool) {
        if let entry = memo.entry(for: name, hash: hash) {
            switch entry.outcome {
            case .cluster(let slot) where drain.versions[Int(slot)] == entry.version:
                drain.touch(slot, ifNotUsedSince: batchStartTick)
                return (entry.outcome, entry.changesName)
            case .tooFewTokens, .tooManyTokens:
                return (entry.outcome, false)
            case .cluster:
                break
            }
        }
        let outcome = drain.train(name)
        var changesName = false
        var version: UInt32 = 0
        if case .cluster(let slot) = outcome {
            changesName = !drain.withCluster(slot) { $0.isTemplate(name) }
            version = drain.versions[Int(slot)]
        }
        memo.store(name, hash: hash, outcome: outcome, version: version, changesName: changesName)
        return (outcome, changesName)
    }
}

/// A bounded, two-way set-associative memo from span names (at most ``maxNameBytes`` long) to DRAIN outcomes.
private struct Memo {
    static let slotCount = 1 << 14
    static let maxNameBytes = 256

    struct Entry {
        var name: [UInt8] = []
        var outcome = Drain.Outcome.tooFewTokens
        var version: UInt32 = 0
        var changesName = false
    }

    private var hashes = [UInt64](repeating: 0, count: slotCount)
    private var used = [Bool](repeating: false, count: slotCount)
    private var entries = [Entry](repeating: Entry(), count: slotCount)

    var heapBytes: Int {
        Self.slotCount * (MemoryLayout<UInt64>.stride + 1 + MemoryLayout<Entry>.stride)
            + entries.reduce(0) { $0 + $1.name.capacity }
    }

    /// The outcome remembered for `name`, with the cluster version and whether it changed the name.
    @inline(__always)
    func entry(for name: UnsafeRawBufferPointer, hash: UInt64) -> (
        outcome: Drain.Outcome, version: UInt32, changesName: Bool
    )? {
        let first = Int(truncatingIfNeeded: hash) & (Self.slotCount - 1)
        let slot = holds(first, name, hash) ? first : holds(first ^ 1, name, hash) ? first ^ 1 : -1
        guard slot >= 0 else { return nil }
        return (entries[slot].outcome, entries[slot].version, entries[slot].changesName)
    }

    @inline(__always)
    private func holds(_ slot: Int, _ name: UnsafeRawBufferPointer, _ hash: UInt64) -> Bool {
        used[slot] && hashes[slot] == hash && entries[slot].name.withUnsafeBytes { $0.bytesEqual(name) }
    }

    /// Stores an outcome in the name's first slot, moving what was there to the second.
    mutating func store(
        _ name: UnsafeRawBufferPointer,
        hash: UInt64,
        outcome: Drain.Outcome,
        version: UInt32,
        changesName: Bool
    ) {
        guard name.count <= Self.maxNameBytes else { return }
        let first = Int(truncatingIfNeeded: hash) & (Self.slotCount - 1)
        let second = first ^ 1
        if used[first] && !holds(first, name, hash) {
            hashes.swapAt(first, second)
            used.swapAt(first, second)
            entries.swapAt(first, second)
        }
        hashes[first] = hash
        used[first] = true
        entries[first].name.removeAll(keepingCapacity: true)
        entries[first].name.append(contentsOf: name)
        entries[first].outcome = outcome
        entries[first].version = version
        entries[first].changesName = changesName
    }
}
