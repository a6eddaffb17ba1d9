import Logging
import Metrics
import MetronomeSelfMetrics
import NIOCore
import Synchronization

/// The open connections of one listener, bounded by its `max_connections`: a connection past the limit is closed as
/// soon as it is accepted, counted in `metronome_connections_refused_total{listener}`, and logged at most once
/// every 10 s. `metronome_connections{listener}` is the number open.
final class ConnectionCount: Sendable {
    let listener: String
    let limit: Int
    private let open = Atomic<Int>(0)
    private let gauge: Gauge
    private let refused: Counter
    private let logger: Logger

    init(listener: String, limit: Int, logger: Logger) {
        self.listener = listener
        self.limit = limit
        self.logger = logger
        gauge = SelfMetric.connections.gauge(listener)
        refused = SelfMetric.connectionsRefused.counter(listener)
        gauge.record(0)
    }

    /// Counts a new connection if there is room; a connection refused here must be closed and not ended.
    func opened() -> Bool {
        let count = open.add(1, ordering: .relaxed).newValue
        guard count <= limit else {
            open.subtract(1, ordering: .relaxed)
            refused.increment()
            if LogThrottle.perPush.allows("connections \(listener)") {
                logger.warning(
                    "refused a connection: the listener's max_connections are open (one line every 10 s)",
                    metadata: ["listener": "\(listener)", "max_connections": "\(limit)"]
                )
            }
            return false
        }
        gauge.record(count)
        return true
    }

    /// Ends a connection counted by ``opened()``.
    func closed() {
        gauge.record(open.subtract(1, ordering: .relaxed).newValue)
    }

    /// Counts and logs a connection closed because its client was too slow in `phase`.
    func timedOut(phase: String, after timeout: Duration) {
        SelfMetric.connectionsTimedOut.counter(listener, phase).increment()
        guard LogThrottle.perPush.allows("timed out \(listener) \(phase)") else { return }
        logger.info(
            "closed a slow connection (one line per listener and phase every 10 s)",
            metadata: ["listener": "\(listener)", "phase": "\(phase)", "timeout": "\(timeout)"]
        )
    }
}

extension ConnectionCount {
    /// One connection's place in the count, held by the handler first in its pipeline: taken as the handler is
    /// added (the connection is closed when there is no room), given back once when it ends.
    struct Slot {
        private var held = false

        /// Takes a place for the connection of `context`, or closes it; returns whether it got one.
        mutating func take(in count: ConnectionCount, _ context: ChannelHandlerContext) -> Bool {
            guard count.opened() else {
                context.close(promise: nil)
                return false
            }
            held = true
            return true
        }

        /// Gives the place back, if one was taken and not given back yet.
        mutating func giveBack(to count: ConnectionCount) {
            if held { count.closed() }
            held = false
        }
    }
}
