import MetronomeWire

/// One shard of a processor's series: an open-addressing table from label values to entries, with every entry's
/// label-value ids and metric values in flat arrays (struct of arrays).
///
/// An entry is one label set; every metric a processor derives from it (a counter, a histogram's sum, count and
/// buckets) lives in its `valueWidth` consecutive doubles (ARCHITECTURE.md, hot-path rule 3). Lookup hashes the
/// values, then compares them byte for byte with the stored ones (rule 2).
struct SeriesTable {
    let columnCount: Int
    let valueWidth: Int
    /// The schema of each of an entry's native histograms; empty when it has none.
    private let nativeSchemas: [Int32]
    var nativeWidth: Int { nativeSchemas.count }
    private(set) var interner = LabelValueInterner()
    /// `columnCount` interned value ids per entry; 0 is an absent label.
    private(set) var keys: [UInt32] = []
    private(set) var hashes: [UInt64] = []
    /// `valueWidth` doubles per entry, laid out as the processor's ``MetricLayout`` says.
    private(set) var values: [Double] = []
    /// ``nativeWidth`` native histograms per entry.
    private(set) var natives: [NativeHistogram] = []
    private(set) var lastUpdatedMs: [Int64] = []
    /// Entries that have not been collected yet and so still owe their initial zero (spec §5.2).
    private(set) var isNew: [Bool] = []
    /// Per entry, the start of its block of `valueWidth` exemplar slots in ``exemplarPool``, or -1: only entries
    /// observed since the last collection have a block, so exemplars cost no memory for idle series.
    private var exemplarBlocks: [Int32] = []
    /// The latest exemplar per histogram-bucket value slot since the last collection, which emits and clears them
    /// (spec §5.3). An all-zero trace id marks an empty slot.
    private var exemplarPool: [StoredExemplar] = []
    /// Entry index per slot, -1 when empty. At most half full.
    private var slots: [Int32] = Array(repeating: -1, count: 64)

    init(columnCount: Int, valueWidth: Int, nativeSchemas: [Int32] = []) {
        self.columnCount = columnCount
        self.valueWidth = valueWidth
        self.nativeSchemas = nativeSchemas
    }

    /// The number of entries (label sets).
    var count: Int { hashes.count }

    /// Why a new label set could not become an entry.
    enum Rejection: Error {
        case invalidUTF8
        /// The limiter had no room for a new label set.
        case overLimit
    }

    /// Returns the entry for the label values `columns` (with precomputed `hash`), creating it if it is new and
    /// `reserve` grants room for it.
    ///
    /// - Throws: ``Rejection/invalidUTF8`` when a new entry's value is not valid UTF-8. Only new values are
    ///   checked: an existing entry's values are known to be valid and a match is byte-identical.
    ///   ``Rejection/overLimit`` when `reserve` refuses a new entry.
    @inline(__always)
    mutating func entry(
        hash: UInt64,
        columns: UnsafeBufferPointer<UnsafeRawBufferPointer>,
        nowMs: Int64,
        reserve: () -> Bool = { true }
    ) throws(Rejection) -> Int {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = Int(slots[slot])
            if entry < 0 { break }
            if hashes[entry] == hash && keysMatch(entry, columns) { return entry }
            slot = (slot + 1) & mask
        }
        for value in columns where !value.isEmpty {
            guard UTF8Validation.isValid(value) else { throw .invalidUTF8 }
        }
        guard reserve() else { throw .overLimit }
        let entry = hashes.count
        for value in columns { keys.append(interner.intern(value, hash: SeriesHash.hash(value))) }
        hashes.append(hash)
        values.append(contentsOf: repeatElement(0, count: valueWidth))
        for schema in nativeSchemas { natives.append(NativeHistogram(schema: schema, nowMs: nowMs)) }
        lastUpdatedMs.append(nowMs)
        isNew.append(true)
        exemplarBlocks.append(-1)
        slots[slot] = Int32(entry)
        if hashes.count * 2 > slots.count { rebuildSlots(capacity: slots.count * 2) }
        return entry
    }

    /// Lets `update` change the doubles and native histograms of `entry`, and marks it updated at `nowMs`.
    @inline(__always)
    mutating func updateEntry(
        _ entry: Int,
        nowMs: Int64,
        _ update: (UnsafeMutableBufferPointer<Double>, UnsafeMutableBufferPointer<NativeHistogram>) -> Void
    ) {
        let start = entry * valueWidth
        let nativeStart = entry * nativeWidth
        let nativeWidth = nativeWidth
        values.withUnsafeMutableBufferPointer { values in
            natives.withUnsafeMutableBufferPointer { natives in
                update(
                    UnsafeMutableBufferPointer(rebasing: values[start..<(start + valueWidth)]),
                    UnsafeMutableBufferPointer(rebasing: natives[nativeStart..<(nativeStart + nativeWidth)])
                )
            }
        }
        lastUpdatedMs[entry] = nowMs
    }

    /// Puts back a checkpointed entry's doubles and native histograms; it was collected before the checkpoint, so it
    /// owes no initial zero.
    mutating func restoreEntry(_ entry: Int, values restored: [Double], natives restoredNatives: [NativeHistogram]) {
        for offset in 0..<valueWidth { values[entry * valueWidth + offset] = restored[offset] }
        for slot in 0..<min(nativeWidth, restoredNatives.count) {
            natives[entry * nativeWidth + slot] = restoredNatives[slot]
        }
        isNew[entry] = false
    }

    /// Settles the native histograms after a collection: their exemplars were emitted, and a reset the bucket limit
    /// scheduled happens once due.
    mutating func settleNatives(nowMs: Int64, settings: [NativeHistogramSettings]) {
        guard nativeWidth > 0 else { return }
        for index in natives.indices {
            natives[index].clearExemplars()
            natives[index].resetIfDue(nowMs: nowMs, settings: settings[index % nativeWidth])
        }
    }

    /// Marks every entry collected: none owes its initial zero any more.
    mutating func markCollected() {
        for entry in isNew.indices { isNew[entry] = false }
    }

    /// Records `exemplar` as the latest of value slot `slot` of `entry`.
    @inline(__always)
    mutating func setExemplar(_ exemplar: StoredExemplar, entry: Int, slot: Int) {
        var block = Int(exemplarBlocks[entry])
        if block < 0 {
            block = exemplarPool.count
            exemplarPool.append(contentsOf: repeatElement(StoredExemplar.empty, count: valueWidth))
            exemplarBlocks[entry] = Int32(block)
        }
        exemplarPool[block + slot] = exemplar
    }

    /// The exemplar of value slot `slot` of `entry`, if one was recorded since the last ``clearExemplars()``.
    func exemplar(entry: Int, slot: Int) -> StoredExemplar? {
        let block = Int(exemplarBlocks[entry])
        guard block >= 0 else { return nil }
        let exemplar = exemplarPool[block + slot]
        return exemplar.isEmpty ? nil : exemplar
    }

    /// Forgets every exemplar (after a collection emitted them).
    mutating func clearExemplars() {
        guard !exemplarPool.isEmpty else { return }
        exemplarPool.removeAll(keepingCapacity: true)
        for entry in exemplarBlocks.indices { exemplarBlocks[entry] = -1 }
    }

    /// Calls `body` with every entry's column values resolved to bytes; used by collection.
    func forEachEntry(_ body: (Int, (Int) -> UnsafeRawBufferPointer) -> Void) {
        interner.arena.withUnsafeBytes { arena in
            keys.withUnsafeBufferPointer { keys in
                for entry in 0..<count {
                    body(entry) { column in
                        UnsafeRawBufferPointer(rebasing: arena[interner.range(of: keys[entry * columnCount + column])])
                    }
                }
            }
        }
    }

    /// Removes the entries for which `shouldRemove` is true, then rebuilds the slots and the interner so that
    /// removed values release their memory.
    /// - Returns: the number of entries removed.
    @discardableResult
    mutating func removeEntries(where shouldRemove: (Int) -> Bool) -> Int {
        var kept = 0
        var newInterner = LabelValueInterner()
        for entry in 0..<count where !shouldRemove(entry) {
            for column in 0..<columnCount {
                let id = interner.arena.withUnsafeBytes { arena in
                    let value = UnsafeRawBufferPointer(
                        rebasing: arena[interner.range(of: keys[entry * columnCount + column])]
                    )
                    return newInterner.intern(value, hash: SeriesHash.hash(value))
                }
                keys[kept * columnCount + column] = id
            }
            hashes[kept] = hashes[entry]
            for offset in 0..<valueWidth { values[kept * valueWidth + offset] = values[entry * valueWidth + offset] }
            for slot in 0..<nativeWidth where kept != entry {
                natives.swapAt(kept * nativeWidth + slot, entry * nativeWidth + slot)
            }
            lastUpdatedMs[kept] = lastUpdatedMs[entry]
            isNew[kept] = isNew[entry]
            exemplarBlocks[kept] = exemplarBlocks[entry]
            kept += 1
        }
        let removed = count - kept
        guard removed > 0 else { return 0 }
        keys.removeLast(removed * columnCount)
        hashes.removeLast(removed)
        values.removeLast(removed * valueWidth)
        natives.removeLast(removed * nativeWidth)
        lastUpdatedMs.removeLast(removed)
        isNew.removeLast(removed)
        exemplarBlocks.removeLast(removed)
        interner = newInterner
        var capacity = 64
        while capacity < kept * 2 + 2 { capacity *= 2 }
        rebuildSlots(capacity: capacity)
        return removed
    }

    /// Approximate heap bytes held by this table.
    var memoryBytes: Int {
        interner.memoryBytes + keys.capacity * 4 + hashes.capacity * 8 + values.capacity * 8
            + lastUpdatedMs.capacity * 8 + isNew.capacity + slots.capacity * 4 + exemplarBlocks.capacity * 4
            + exemplarPool.capacity * MemoryLayout<StoredExemplar>.stride
            + natives.capacity * MemoryLayout<NativeHistogram>.stride + natives.reduce(0) { $0 + $1.heapBytes }
    }

    @inline(__always)
    private func keysMatch(_ entry: Int, _ columns: UnsafeBufferPointer<UnsafeRawBufferPointer>) -> Bool {
        let base = entry * columnCount
        for column in 0..<columnCount where !interner.matches(keys[base + column], columns[column]) {
            return false
        }
        return true
    }

    private mutating func rebuildSlots(capacity: Int) {
        var newSlots = [Int32](repeating: -1, count: capacity)
        let mask = capacity - 1
        for entry in 0..<hashes.count {
            var slot = Int(truncatingIfNeeded: hashes[entry]) & mask
            while newSlots[slot] >= 0 { slot = (slot + 1) & mask }
            newSlots[slot] = Int32(entry)
        }
        slots = newSlots
    }
}

/// The latest observation of a histogram bucket that carried a trace id.
struct StoredExemplar: Equatable, Sendable {
    /// The trace id's 16 bytes, big-endian halves.
    var traceIDHigh: UInt64
    var traceIDLow: UInt64
    /// The observed value (seconds), unweighted.
    var value: Double

    static let empty = StoredExemplar(traceIDHigh: 0, traceIDLow: 0, value: 0)
    var isEmpty: Bool { traceIDHigh == 0 && traceIDLow == 0 }

    /// Writes the trace id as lowercase hex without leading zeros (Tempo's `pkg/util/traceid.go`) into `output`,
    /// replacing its contents.
    /// - Returns: false for an all-zero trace id, which gets no exemplar.
    func appendTraceIDHex(to output: inout [UInt8]) -> Bool {
        output.removeAll(keepingCapacity: true)
        guard traceIDHigh != 0 || traceIDLow != 0 else { return false }
        let digits = Array("0123456789abcdef".utf8)
        var started = false
        for half in [traceIDHigh, traceIDLow] {
            for shift in stride(from: 60, through: 0, by: -4) {
                let nibble = Int((half >> UInt64(shift)) & 0xF)
                if nibble != 0 { started = true }
                if started { output.append(digits[nibble]) }
            }
        }
        return true
    }
}
