import MetronomeWire
import Synchronization

/// What a processor records in a ``SeriesStore``: for each of its observations, the label values and their hash,
/// and what the observation adds to its series' doubles.
///
/// A concrete type per processor, so ``SeriesStore/record(_:nowMs:_:)`` is specialized for it and its methods are
/// inlined into the loop: no closure context and no reference counting per observation (ARCHITECTURE.md, hot-path
/// rules).
protocol SeriesRecorder {
    associatedtype Observation
    /// Writes the observation's label values (one per column) into `columns` and returns their hash.
    func labels(of observation: Observation, into columns: UnsafeMutableBufferPointer<UnsafeRawBufferPointer>)
        -> UInt64
    /// Adds the observation to an entry's doubles and native histograms (laid out as the store's ``MetricLayout``
    /// says), and names the exemplars it leaves in the doubles' histogram buckets.
    func observe(
        _ observation: Observation,
        into values: UnsafeMutableBufferPointer<Double>,
        natives: UnsafeMutableBufferPointer<NativeHistogram>,
        exemplars: inout SeriesStore.Exemplars
    )
    /// Hears of each observation recorded in an entry of its own (not in overflow, not dropped).
    mutating func admitted(_ observation: Observation)
}

extension SeriesRecorder {
    mutating func admitted(_ observation: Observation) {}
}

extension SeriesStore {
    /// What ``record(_:nowMs:_:)`` did with a batch's observations.
    struct Recorded: Equatable {
        /// Observations counted in the `{metric_overflow="true"}` series: their label set was new and the limiter
        /// had no room (spec §5.6).
        var overflowed = 0
        /// Observations dropped because their new label set was not valid UTF-8.
        var invalidUTF8 = 0
    }

    /// The exemplars one observation leaves: the value slots of the histogram buckets it fell in, with the observed
    /// values, and the trace id they carry. Reused from one observation to the next, in storage the store owns for
    /// the call.
    struct Exemplars {
        /// The 16-byte trace id as big-endian halves; nil leaves no exemplar.
        var traceID: (high: UInt64, low: UInt64)?
        fileprivate let storage: UnsafeMutableBufferPointer<(slot: Int, value: Double)>
        fileprivate var count = 0

        /// Keeps `value` as the latest exemplar of value slot `slot` (spec §5.3); one per histogram at most.
        @inline(__always)
        mutating func add(slot: Int, value: Double) {
            guard count < storage.count else { return }
            storage[count] = (slot, value)
            count += 1
        }

        fileprivate mutating func reset() {
            traceID = nil
            count = 0
        }
    }

    /// Records a batch's observations, grouped by the shard of their label set (`byShard[s]` for shard `s`), taking
    /// each shard's lock once (ARCHITECTURE.md, hot-path rule 5).
    ///
    /// For each observation, the recorder gives its label values and their hash; the label set's entry is found, or
    /// created when its values are valid UTF-8 and the limiter has room; then the recorder adds the observation to the
    /// entry's doubles and names its exemplars. When the limiter has no room, the observation goes to the overflow
    /// series instead, which keeps no exemplars.
    @inline(__always)
    func record<Recorder: SeriesRecorder>(
        _ byShard: [[Recorder.Observation]],
        nowMs: Int64,
        _ recorder: inout Recorder
    ) -> Recorded {
        var recorded = Recorded()
        let columns = UnsafeMutableBufferPointer<UnsafeRawBufferPointer>.allocate(capacity: columnCount)
        columns.initialize(repeating: UnsafeRawBufferPointer(start: nil, count: 0))
        let exemplarStorage = UnsafeMutableBufferPointer<(slot: Int, value: Double)>.allocate(
            capacity: max(1, layout.metrics.count)
        )
        defer {
            columns.deallocate()
            exemplarStorage.deallocate()
        }
        var exemplars = Exemplars(storage: exemplarStorage)
        var overflow: [Recorder.Observation] = []
        for (shard, observations) in byShard.enumerated() where !observations.isEmpty {
            withShard(shard) { table in
                // Checked under the shard's lock: either this shard's entries are still to be ended, or none is made.
                guard !isEnded.load(ordering: .relaxed) else { return }
                for observation in observations {
                    let hash = recorder.labels(of: observation, into: columns)
                    exemplars.reset()
                    switch admit(UnsafeBufferPointer(columns), hash: hash, into: &table, nowMs: nowMs) {
                    case .entry(let entry):
                        table.updateEntry(entry, nowMs: nowMs) { values, natives in
                            recorder.observe(observation, into: values, natives: natives, exemplars: &exemplars)
                        }
                        recorder.admitted(observation)
                        if let traceID = exemplars.traceID {
                            for index in 0..<exemplars.count {
                                let (slot, value) = exemplarStorage[index]
                                table.setExemplar(
                                    StoredExemplar(traceIDHigh: traceID.high, traceIDLow: traceID.low, value: value),
                                    entry: entry,
                                    slot: slot
                                )
                            }
                        }
                    case .overLimit:
                        overflow.append(observation)
                        recorded.overflowed += 1
                    case .invalidUTF8:
                        recorded.invalidUTF8 += 1
                    }
                }
            }
        }
        if !overflow.isEmpty {
            // The overflow series keeps no exemplars: those the observations leave are dropped.
            updateOverflow(nowMs: nowMs) { values, natives in
                for observation in overflow {
                    exemplars.reset()
                    recorder.observe(observation, into: values, natives: natives, exemplars: &exemplars)
                }
                for slot in natives.indices { natives[slot].clearExemplars() }
            }
        }
        return recorded
    }
}
