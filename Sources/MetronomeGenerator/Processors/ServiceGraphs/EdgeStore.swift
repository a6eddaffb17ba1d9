import Synchronization

/// The pairing store: 16 ``EdgeShard``s by edge key, each behind its own `Mutex`, with process-wide counts for the
/// `max_items` and `max_pending_bytes` bounds.
final class EdgeStore: Sendable {
    static let shardCount = 16

    private final class Shard: Sendable {
        let state: Mutex<EdgeShard>
        init(_ shard: EdgeShard) { state = Mutex(shard) }
    }

    let maxItems: Int
    let maxBytes: Int
    private let shards: [Shard]
    private let items = Atomic(0)
    private let bytes = Atomic(0)
    private let markers = Atomic(0)

    init(labels: EdgeLabels, maxItems: Int, maxBytes: Int) {
        self.maxItems = maxItems
        self.maxBytes = maxBytes
        shards = (0..<Self.shardCount).map { _ in Shard(EdgeShard(labels: labels)) }
    }

    /// Pending half-edges now.
    var pendingCount: Int { items.load(ordering: .relaxed) }
    /// Their estimated heap bytes.
    var pendingBytes: Int { bytes.load(ordering: .relaxed) }

    /// Whether one more edge of `cost` bytes fits, given what this shard operation already admitted.
    private func admits(cost: Int, admitted: (items: Int, bytes: Int)) -> Bool {
        items.load(ordering: .relaxed) + admitted.items < maxItems
            && bytes.load(ordering: .relaxed) + admitted.bytes + cost <= maxBytes
    }

    /// Runs `body` on one shard under its lock; `admit` (given to `body`) checks the bounds for a new edge.
    func withShard<R>(_ shard: Int, _ body: (inout EdgeShard, _ admit: (Int) -> Bool, _ admitMarker: () -> Bool) -> R)
        -> R
    {
        shards[shard].state.withLock { state in
            let before = (state.pendingCount, state.accountedBytes, state.markerCount)
            var admitted = (items: 0, bytes: 0, markers: 0)
            let result = body(
                &state,
                { cost in
                    guard self.admits(cost: cost, admitted: (admitted.items, admitted.bytes)) else { return false }
                    admitted.items += 1
                    admitted.bytes += cost
                    return true
                },
                {
                    guard self.markers.load(ordering: .relaxed) + admitted.markers < self.maxItems else { return false }
                    admitted.markers += 1
                    return true
                }
            )
            items.add(state.pendingCount - before.0, ordering: .relaxed)
            bytes.add(state.accountedBytes - before.1, ordering: .relaxed)
            markers.add(state.markerCount - before.2, ordering: .relaxed)
            return result
        }
    }
}
