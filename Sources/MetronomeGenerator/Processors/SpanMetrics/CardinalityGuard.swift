import Synchronization

/// Estimates the cardinality of each label and of the series of one processor, and caps labels that grow past
/// `max_cardinality_per_label` (spec §5.6, per-label limiter and demand estimates).
///
/// Each label keeps a sliding HyperLogLog of its value hashes over the stale duration. Every 15 s the estimates are
/// compared with the limit; while a label is over it, its values are replaced by `__cardinality_overflow__` (other
/// labels untouched). Original values keep feeding the sketch, so a label recovers once old sketches rotate out.
/// Work is at batch granularity: one lock to read the flags, one to feed the sketches.
final class CardinalityGuard: Sendable {
    /// The value that replaces an over-limit label's values.
    static let overflowValue = "__cardinality_overflow__"
    static let checkIntervalMs: Int64 = 15_000

    let maxPerLabel: Int
    private let state: Mutex<State>

    private struct State {
        var labels: [SlidingHyperLogLog]
        var series: SlidingHyperLogLog
        /// Label sets after span-name sanitization (spec §5.7).
        var sanitizedSeries: SlidingHyperLogLog
        var overLimit: [Bool]
        var lastCheckMs: Int64
        var estimates: [Int]
    }

    init(columns: Int, maxPerLabel: Int, windowMs: Int64, nowMs: Int64) {
        self.maxPerLabel = maxPerLabel
        state = Mutex(
            State(
                labels: Array(repeating: SlidingHyperLogLog(windowMs: windowMs, nowMs: nowMs), count: columns),
                series: SlidingHyperLogLog(windowMs: windowMs, nowMs: nowMs),
                sanitizedSeries: SlidingHyperLogLog(windowMs: windowMs, nowMs: nowMs),
                overLimit: Array(repeating: false, count: columns),
                lastCheckMs: nowMs,
                estimates: Array(repeating: 0, count: columns)
            )
        )
    }

    /// The labels whose values are to be replaced for this batch (empty when no limit is set).
    func overLimitLabels() -> [Bool] {
        guard maxPerLabel > 0 else { return [] }
        return state.withLock { $0.overLimit }
    }

    /// Feeds a batch's value hashes (`columns` per span, span-major), series hashes and label-set hashes after
    /// span-name sanitization, and every 15 s re-checks the limit.
    func record(valueHashes: [UInt64], seriesHashes: [UInt64], sanitizedHashes: [UInt64] = [], nowMs: Int64) {
        state.withLock { state in
            let columns = state.labels.count
            if maxPerLabel > 0 && columns > 0 {
                for column in 0..<columns {
                    state.labels[column].rotate(nowMs: nowMs)
                    var index = column
                    while index < valueHashes.count {
                        state.labels[column].insert(valueHashes[index], nowMs: nowMs)
                        index += columns
                    }
                }
            }
            state.series.rotate(nowMs: nowMs)
            for hash in seriesHashes { state.series.insert(hash, nowMs: nowMs) }
            state.sanitizedSeries.rotate(nowMs: nowMs)
            for hash in sanitizedHashes { state.sanitizedSeries.insert(hash, nowMs: nowMs) }
            if maxPerLabel > 0 && nowMs - state.lastCheckMs >= Self.checkIntervalMs {
                check(&state, nowMs: nowMs)
            }
        }
    }

    private func check(_ state: inout State, nowMs: Int64) {
        state.lastCheckMs = nowMs
        for column in state.labels.indices {
            state.estimates[column] = state.labels[column].estimate
            state.overLimit[column] = state.estimates[column] > maxPerLabel
        }
    }

    /// Per-label estimates as of the last check (empty without a per-label limit), and the estimated number of
    /// distinct label sets, before and after span-name sanitization.
    var demand: (labels: [Int], labelSets: Int, sanitizedLabelSets: Int) {
        state.withLock { state in
            (maxPerLabel > 0 ? state.estimates : [], state.series.estimate, state.sanitizedSeries.estimate)
        }
    }
}
