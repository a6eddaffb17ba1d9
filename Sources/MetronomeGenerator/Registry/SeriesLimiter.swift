import Synchronization

/// Caps a tenant's active series (spec §5.6), shared by all of its processors.
///
/// `series` mode counts Prometheus series (a histogram label set costs its buckets + 3, spec §5.3); `entity` mode
/// counts label sets, each entity holding all metrics of one label set (`limiter_type: entity`). A label set that
/// does not fit goes to its processor's overflow series (`metric_overflow="true"`), so its spans still count.
public final class SeriesLimiter: Sendable {
    /// What the limit counts.
    public enum Mode: String, Sendable, Equatable {
        case series, entity
    }

    public let mode: Mode
    /// The most series (or entities) that may be active; 0 means no limit. A tenant's overrides may change it while
    /// it runs: series over a lowered limit stay, and new ones wait for room.
    public var maximum: Int { maximumValue.load(ordering: .relaxed) }
    private let maximumValue: Atomic<Int>
    private let active = Atomic<Int>(0)
    private let added = Atomic<Int>(0)
    private let removed = Atomic<Int>(0)
    private let limited = Atomic<Int>(0)

    public init(mode: Mode = .series, maximum: Int = 0) {
        self.mode = mode
        self.maximumValue = Atomic(maximum)
    }

    /// Sets a new limit (see ``maximum``).
    func setMaximum(_ maximum: Int) {
        maximumValue.store(maximum, ordering: .relaxed)
    }

    /// What a new label set of `seriesPerEntry` series costs in this mode.
    func cost(seriesPerEntry: Int) -> Int { mode == .series ? seriesPerEntry : 1 }

    /// Takes room for a new label set, or counts it as limited and returns false.
    func reserve(_ cost: Int) -> Bool {
        let maximum = self.maximum
        if maximum == 0 {
            active.add(cost, ordering: .relaxed)
            added.add(cost, ordering: .relaxed)
            return true
        }
        var current = active.load(ordering: .relaxed)
        while current + cost <= maximum {
            let (exchanged, original) = active.compareExchange(
                expected: current,
                desired: current + cost,
                ordering: .relaxed
            )
            if exchanged {
                added.add(cost, ordering: .relaxed)
                return true
            }
            current = original
        }
        limited.add(cost, ordering: .relaxed)
        return false
    }

    /// Gives back the room of removed label sets.
    func release(_ cost: Int) {
        guard cost > 0 else { return }
        removed.add(cost, ordering: .relaxed)
        var current = active.load(ordering: .relaxed)
        while true {
            let (exchanged, original) = active.compareExchange(
                expected: current,
                desired: max(0, current - cost),
                ordering: .relaxed
            )
            if exchanged { return }
            current = original
        }
    }

    /// The limiter's counters, for self-metrics.
    public struct Statistics: Sendable, Equatable {
        public var active: Int
        public var added: Int
        public var removed: Int
        /// Series (or entities) that were redirected to overflow instead of created.
        public var limited: Int
    }

    public var statistics: Statistics {
        Statistics(
            active: active.load(ordering: .relaxed),
            added: added.load(ordering: .relaxed),
            removed: removed.load(ordering: .relaxed),
            limited: limited.load(ordering: .relaxed)
        )
    }
}
