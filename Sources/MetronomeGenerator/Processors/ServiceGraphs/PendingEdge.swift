import MetronomeWire

/// Identifies an edge: the trace, and the client span's id — which is the server span's parent id (spec §3.4).
struct EdgeKey: Hashable, Sendable {
    var traceHigh: UInt64
    var traceLow: UInt64
    var spanID: UInt64
    /// A server span without a parent: its edge can only end in a virtual `user` client (spec §3.8).
    var isRoot: Bool

    /// The key of a span id (8 bytes as a number; another length hashed, so it can never match an 8-byte id's key
    /// by accident except through a 64-bit hash collision) in the trace at `traceID`.
    init(trace traceID: ByteRange, span spanID: ByteRange, bytes: UnsafeRawBufferPointer) {
        traceHigh = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: Int(traceID.offset), as: UInt64.self))
        traceLow = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: Int(traceID.offset) + 8, as: UInt64.self))
        isRoot = spanID.count == 0
        if spanID.count == 8 {
            self.spanID = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: Int(spanID.offset), as: UInt64.self))
        } else {
            self.spanID = isRoot ? 0 : SeriesHash.hash(UnsafeRawBufferPointer(rebasing: bytes[spanID.range]))
        }
    }

    /// The shard of the pairing store this key lives in.
    var shard: Int { Int(truncatingIfNeeded: SeriesHash.mix(traceLow ^ spanID) >> 60) }
}

/// `connection_type` (spec §3.7): empty for CLIENT/SERVER, or what made the edge special. The raw values index the
/// label values in ``CompletedEdges``.
enum ConnectionType: UInt8, Sendable {
    case none, messagingSystem, database, virtualNode
}

/// Where a string of a pending edge is in its shard's byte arena; `count == 0` is empty or absent.
struct ArenaRef: Sendable {
    var offset: UInt32 = 0
    var count: UInt32 = 0
}

/// One buffered edge: the half (or halves) seen so far, waiting for the other. Its strings (service names, peer,
/// dimension values) live in the shard's arena, at `stringsStart` among the shard's ``ArenaRef``s.
struct PendingEdge: Sendable {
    var key: EdgeKey
    var expiresAtMs: Int64
    /// Bumped each time the slot is reused, so stale expiry-queue entries are recognized.
    var generation: UInt32 = 0
    var inUse = false
    /// The client half came from a SERVER span offering itself as the parent of a SERVER child (server-to-server
    /// edges); such a half expires silently.
    var clientIsServerParent = false
    var connectionType = ConnectionType.none
    /// The span kind of the side applied last (`unmatched_span_kind` on expiry).
    var kind: Int32 = 0
    var failed = false
    var multiplier = 1.0
    var clientLatency = 0.0
    var serverLatency = 0.0
    var clientEndNanos: UInt64 = 0
    var serverStartNanos: UInt64 = 0
    /// Estimated heap bytes, counted against `max_pending_bytes`.
    var accountedBytes = 0
}
