extension SeriesStore {
    /// What ``record(_:nowMs:labels:observe:)`` did with a batch's observations.
    struct Recorded: Equatable {
        /// Observations counted in the `{metric_overflow="true"}` series: their label set was new and the limiter
        /// had no room (spec §5.6).
        var overflowed = 0
        /// Observations dropped because their new label set was not valid UTF-8.
        var invalidUTF8 = 0
    }

    /// The exemplars one observation leaves: the value slots of the histogram buckets it fell in, with the observed
    /// values, and the trace id they carry. Reused from one observation to the next.
    struct Exemplars {
        /// The 16-byte trace id as big-endian halves; nil leaves no exemplar.
        var traceID: (high: UInt64, low: UInt64)?
        fileprivate(set) var slots: [(slot: Int, value: Double)] = []

        /// Keeps `value` as the latest exemplar of value slot `slot` (spec §5.3).
        @inline(__always)
        mutating func add(slot: Int, value: Double) { slots.append((slot, value)) }

        fileprivate mutating func reset() {
            traceID = nil
            slots.removeAll(keepingCapacity: true)
        }
    }

    /// Records a batch's observations, grouped by the shard of their label set (`byShard[s]` for shard `s`), taking
    /// each shard's lock once (ARCHITECTURE.md, hot-path rule 5).
    ///
    /// For each observation, `labels` fills in its label values (one per column) and returns their hash; the label
    /// set's entry is found, or created when its values are valid UTF-8 and the limiter has room; then `observe` adds
    /// the observation to the entry's doubles (laid out as ``layout`` says) and names its exemplars. When the
    /// limiter has no room, `observe` adds to the overflow series instead, which keeps no exemplars. `admitted` hears
    /// of each observation recorded in an entry of its own (not in overflow, not dropped).
    @inline(__always)
    func record<Observation>(
        _ byShard: [[Observation]],
        nowMs: Int64,
        labels: (Observation, inout [UnsafeRawBufferPointer]) -> UInt64,
        observe: (Observation, UnsafeMutableBufferPointer<Double>, inout Exemplars) -> Void,
        admitted: (Observation) -> Void = { _ in }
    ) -> Recorded {
        var recorded = Recorded()
        var columns = [UnsafeRawBufferPointer](
            repeating: UnsafeRawBufferPointer(start: nil, count: 0),
            count: columnCount
        )
        var exemplars = Exemplars()
        var overflow: [Double] = []
        for (shard, observations) in byShard.enumerated() where !observations.isEmpty {
            withShard(shard) { table in
                for observation in observations {
                    let hash = labels(observation, &columns)
                    exemplars.reset()
                    switch admit(columns, hash: hash, into: &table, nowMs: nowMs) {
                    case .entry(let entry):
                        table.updateEntry(entry, nowMs: nowMs) { values in observe(observation, values, &exemplars) }
                        admitted(observation)
                        if let traceID = exemplars.traceID {
                            for (slot, value) in exemplars.slots {
                                table.setExemplar(
                                    StoredExemplar(traceIDHigh: traceID.high, traceIDLow: traceID.low, value: value),
                                    entry: entry,
                                    slot: slot
                                )
                            }
                        }
                    case .overLimit:
                        if overflow.isEmpty { overflow = Array(repeating: 0, count: layout.width) }
                        overflow.withUnsafeMutableBufferPointer { observe(observation, $0, &exemplars) }
                        recorded.overflowed += 1
                    case .invalidUTF8:
                        recorded.invalidUTF8 += 1
                    }
                }
            }
        }
        if !overflow.isEmpty { addToOverflow(overflow, nowMs: nowMs) }
        return recorded
    }
}
