import Metrics
import MetronomeSelfMetrics
import Synchronization

/// The bytes of requests being read, decoded and processed, across every receiver, bounded by
/// `distributor.max_inflight_bytes` (the model: the OpenTelemetry Collector's memory limiter, Tempo's ingestion limits).
///
/// A receiver reserves a request's bytes before it reads the body (its declared length, or the size limit when none is
/// declared) and again for what decompression adds; over the budget the request is refused with HTTP 429 /
/// `RESOURCE_EXHAUSTED` and a retry hint instead of being read. One request is always let through when nothing else is
/// in flight, and may go on growing past the limit while it stays alone for what the request size limit bounds (a
/// compressed body reserves its bytes, then the size limit for decompression), so a limit below the request size
/// limit still serves one request at a time; what translation adds stays within the limit.
final class InflightBudget: Sendable {
    /// The most bytes in flight.
    let limit: Int
    private let used = Atomic<Int>(0)
    private let gauge = SelfMetric.inflightBytes.gauge()

    init(limit: Int) {
        self.limit = limit
        SelfMetric.inflightBytesLimit.gauge().record(limit)
        gauge.record(0)
    }

    /// Reserves `bytes` if they fit, or if the only bytes in flight are the caller's own `held` ones; returns whether
    /// they were reserved. A successful reservation must be released.
    func reserve(_ bytes: Int, holding held: Int = 0) -> Bool {
        var current = used.load(ordering: .relaxed)
        while true {
            guard current == held || current + bytes <= limit else { return false }
            let (exchanged, original) = used.compareExchange(
                expected: current,
                desired: current + bytes,
                ordering: .acquiringAndReleasing
            )
            if exchanged {
                gauge.record(current + bytes)
                return true
            }
            current = original
        }
    }

    /// Returns bytes reserved earlier.
    func release(_ bytes: Int) {
        let remaining = used.subtract(bytes, ordering: .acquiringAndReleasing).newValue
        gauge.record(remaining)
    }

    /// The bytes reserved now.
    var inUse: Int { used.load(ordering: .relaxed) }
}

/// What one request holds of the ``InflightBudget``; released when the request is answered.
struct InflightReservation: ~Copyable {
    private let budget: InflightBudget
    private(set) var bytes = 0

    init(_ budget: InflightBudget) {
        self.budget = budget
    }

    /// Adds `bytes` to the reservation if the budget has room (or nothing is in flight).
    mutating func grow(by bytes: Int) -> Bool {
        grow(by: bytes, holding: 0)
    }

    /// Adds `bytes`, which the request size limit bounds (a body of its declared length, its decompressed copy), to
    /// the reservation if the budget has room, or past the limit if this is the only request holding any of it.
    mutating func growWithinSizeLimit(by bytes: Int) -> Bool {
        grow(by: bytes, holding: self.bytes)
    }

    private mutating func grow(by bytes: Int, holding held: Int) -> Bool {
        guard bytes > 0 else { return true }
        guard budget.reserve(bytes, holding: held) else { return false }
        self.bytes += bytes
        return true
    }

    /// Gives back what the reservation holds beyond `bytes` (once the actual size is known).
    mutating func shrink(to bytes: Int) {
        guard bytes < self.bytes else { return }
        budget.release(self.bytes - bytes)
        self.bytes = bytes
    }

    /// Hands what is reserved to a hold that can outlive this scope (a request answered asynchronously).
    mutating func hold() -> InflightHold {
        defer { bytes = 0 }
        return InflightHold(budget: budget, bytes: bytes)
    }

    deinit {
        if bytes > 0 { budget.release(bytes) }
    }
}

/// What a request answered asynchronously holds of the ``InflightBudget``; released when the last reference goes.
final class InflightHold: Sendable {
    private let budget: InflightBudget
    private let bytes: Int

    fileprivate init(budget: InflightBudget, bytes: Int) {
        self.budget = budget
        self.bytes = bytes
    }

    deinit {
        if bytes > 0 { budget.release(bytes) }
    }
}
