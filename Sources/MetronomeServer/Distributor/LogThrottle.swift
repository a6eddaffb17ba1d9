import Synchronization

/// Lets a per-push warning through at most once per interval for each key (a tenant and a reason), so a flood of
/// bad spans or a full pairing store logs a line every few seconds instead of one per request; the self-metrics
/// still count every occurrence.
final class LogThrottle: Sendable {
    private let intervalNanos: Int64
    private let lastLogged = Mutex<[String: ContinuousClock.Instant]>([:])

    init(seconds: Int64 = 10) {
        intervalNanos = seconds * 1_000_000_000
    }

    /// Whether a line for `key` may be logged now; if so, the interval starts again.
    func allows(_ key: String) -> Bool {
        let now = ContinuousClock.now
        return lastLogged.withLock { last in
            if let previous = last[key], now - previous < .nanoseconds(intervalNanos) { return false }
            last[key] = now
            return true
        }
    }

    /// Shared by the receivers' push path and the expiry loop.
    static let perPush = LogThrottle()
}
