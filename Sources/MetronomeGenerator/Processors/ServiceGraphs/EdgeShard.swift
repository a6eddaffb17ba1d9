import MetronomeWire

/// One shard of the pairing store: pending edges in a slab indexed by key, their strings in a byte arena, an expiry
/// queue in insertion (= expiry) order, and the dropped-side markers of filtered spans (spec §3.4, §3.6).
///
/// Nothing here allocates per span once the arrays have grown: slots are reused, strings are appended to the arena
/// (compacted when more than half of it is garbage), and expiry pops the queue's head without scanning.
struct EdgeShard {
    private var index = EdgeIndex()
    private var edges: [PendingEdge] = []
    private var strings: [ArenaRef] = []
    private var free: [Int32] = []
    private var arena: [UInt8] = []
    private var liveArenaBytes = 0
    private var queue: [(expiresAtMs: Int64, slot: Int32, generation: UInt32)] = []
    private var queueHead = 0
    private var markers: [EdgeKey: (side: EdgeSide, expiresAtMs: Int64)] = [:]
    /// The estimated heap bytes of the indexed edges, counted against `max_pending_bytes`.
    private(set) var accountedBytes = 0

    let labels: EdgeLabels

    init(labels: EdgeLabels) {
        self.labels = labels
    }

    var pendingCount: Int { index.count }
    var markerCount: Int { markers.count }

    /// What happened to one update.
    enum Outcome: Equatable {
        /// It met its other half, or completed on its own (a database call); emitted.
        case completed(new: Bool)
        /// Stored, waiting for the other half.
        case buffered(new: Bool)
        /// The other half was filtered out (spec §3.6): `…dropped_edges`.
        case droppedSide
        /// The store is full: `…dropped_spans`.
        case tooManyItems
        /// A server-to-server parent offer that met a child of its own service: no edge.
        case ignored
    }

    /// Applies `update`; a completed edge is appended to `completed`.
    mutating func upsert(
        _ update: SideUpdate,
        bytes: SideBytes,
        dimensions: UnsafeBufferPointer<SideValue>,
        nowMs: Int64,
        waitMs: Int64,
        admit: (Int) -> Bool,
        completed: inout CompletedEdges
    ) -> Outcome {
        if let slot = indexed(update.key) {
            apply(update, to: slot, bytes: bytes, dimensions: dimensions)
            return finishIfComplete(slot, new: false, completed: &completed) ?? .buffered(new: false)
        }
        if !markers.isEmpty, let marker = markers[update.key], marker.expiresAtMs > nowMs,
            (marker.side == .server) != (update.side == .server)
        {
            return .droppedSide
        }
        let slot = allocate(key: update.key, expiresAtMs: ((nowMs + waitMs) / 1000) * 1000)
        apply(update, to: slot, bytes: bytes, dimensions: dimensions)
        if let outcome = finishIfComplete(slot, new: true, completed: &completed) { return outcome }
        let cost = Self.fixedBytes(labels) + liveBytes(of: slot)
        guard admit(cost) else {
            release(slot)
            return .tooManyItems
        }
        edges[slot].accountedBytes = cost
        accountedBytes += cost
        index.insert(update.key, slot: slot) { edges[$0].key }
        queue.append((edges[slot].expiresAtMs, Int32(slot), edges[slot].generation))
        return .buffered(new: true)
    }

    /// Emits and frees the edge in `slot` when both services are known; nil when it must wait.
    private mutating func finishIfComplete(_ slot: Int, new: Bool, completed: inout CompletedEdges) -> Outcome? {
        let outcome = arena.withUnsafeBytes { arena -> Outcome? in
            let client = string(slot, EdgeLabels.clientSlot, arena)
            let server = string(slot, EdgeLabels.serverSlot, arena)
            guard !client.isEmpty, !server.isEmpty else { return nil }
            if edges[slot].clientIsServerParent && client.elementsEqual(server) { return .ignored }
            completed.append(edges[slot], strings: { string(slot, $0, arena) }, virtualNode: .none, labels: labels)
            return .completed(new: new)
        }
        if outcome != nil { remove(slot) }
        return outcome
    }

    /// The bytes each pending edge costs beyond its strings: slab entry, string refs, index slots (4 bytes each, at
    /// most half full, so up to 4 per edge after a doubling) and its expiry-queue entry.
    static func fixedBytes(_ labels: EdgeLabels) -> Int {
        MemoryLayout<PendingEdge>.stride + labels.stringsPerEdge * MemoryLayout<ArenaRef>.stride + 4 * 4
            + MemoryLayout<(Int64, Int32, UInt32)>.stride
    }

    private func liveBytes(of slot: Int) -> Int {
        (0..<labels.stringsPerEdge).reduce(0) { $0 + Int(strings[slot * labels.stringsPerEdge + $1].count) }
    }

    private func hasString(_ slot: Int, _ index: Int) -> Bool {
        strings[slot * labels.stringsPerEdge + index].count > 0
    }

    // MARK: Applying a side

    private mutating func apply(
        _ update: SideUpdate,
        to slot: Int,
        bytes: SideBytes,
        dimensions: UnsafeBufferPointer<SideValue>
    ) {
        edges[slot].kind = update.kind
        edges[slot].failed = edges[slot].failed || update.failed
        edges[slot].multiplier = update.multiplier
        if update.peer.present && update.side != .serverParent {
            setString(slot, EdgeLabels.peerSlot, bytes[update.peer.ref])
        }
        for dimension in 0..<labels.dimensionCount {
            let value = dimensions[Int(update.dimensionsStart) + dimension]
            if value.present {
                setString(slot, labels.dimensionSlot(dimension, side: update.side), bytes[value.ref])
            }
        }
        switch update.side {
        case .client, .serverParent:
            edges[slot].clientIsServerParent = update.side == .serverParent
            if update.side == .client {
                edges[slot].connectionType = update.kind == SpanKind.producer ? .messagingSystem : .none
            }
            setString(slot, EdgeLabels.clientSlot, bytes[update.service])
            edges[slot].clientLatency = update.latency
            edges[slot].clientEndNanos = update.timeNanos
            if update.isDatabase {
                // Spec §3.5: the client span stands for the database; QUIRK kept: it overwrites a server half.
                edges[slot].connectionType = .database
                edges[slot].serverLatency = update.latency
                if update.databaseServer.present {
                    setString(slot, EdgeLabels.serverSlot, bytes[update.databaseServer.ref])
                }
            }
        case .server:
            edges[slot].connectionType = update.kind == SpanKind.consumer ? .messagingSystem : .none
            setString(slot, EdgeLabels.serverSlot, bytes[update.service])
            edges[slot].serverLatency = update.latency
            edges[slot].serverStartNanos = update.timeNanos
        }
    }

    // MARK: Dropped-side markers

    /// Remembers that a filtered span's side of `key` will never come (spec §3.6). A buffered edge waiting for that
    /// side is deleted: returns true (`…dropped_edges`). `admit` says whether a new marker fits.
    mutating func addMarker(
        _ key: EdgeKey,
        side: EdgeSide,
        nowMs: Int64,
        waitMs: Int64,
        admit: () -> Bool
    ) -> (droppedEdge: Bool, overflow: Bool) {
        var overflow = false
        if markers[key] != nil || admit() {
            markers[key] = (side, nowMs + waitMs)
        } else {
            overflow = true
        }
        guard let slot = indexed(key) else { return (false, overflow) }
        let bufferedSide: EdgeSide = hasString(slot, EdgeLabels.serverSlot) ? .server : .client
        guard (bufferedSide == .server) != (side == .server) else { return (false, overflow) }
        remove(slot)
        return (true, overflow)
    }

    // MARK: Expiry

    /// Pops every edge whose time has come (spec §3.8): a root server edge gets a virtual client (the peer or
    /// `user`), a client edge with a peer a virtual server; the rest are counted by the kind of the side seen.
    /// - Returns: how many markers expired.
    mutating func expire(
        nowMs: Int64,
        virtualNodeLabel: Bool,
        completed: inout CompletedEdges,
        expiredKinds: inout [Int32: Int]
    ) -> Int {
        // Entries of edges already completed or dropped are popped whatever their time, so they never hold up
        // the live ones behind them.
        while queueHead < queue.count {
            let (expiresAtMs, slot32, generation) = queue[queueHead]
            let slot = Int(slot32)
            let live = edges[slot].inUse && edges[slot].generation == generation
            if live && expiresAtMs > nowMs { break }
            queueHead += 1
            if live {
                expireEdge(slot, virtualNodeLabel: virtualNodeLabel, completed: &completed, expiredKinds: &expiredKinds)
            }
        }
        if queueHead > 1024 && queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
        let markersBefore = markers.count
        if !markers.isEmpty { markers = markers.filter { $0.value.expiresAtMs > nowMs } }
        return markersBefore - markers.count
    }

    private mutating func expireEdge(
        _ slot: Int,
        virtualNodeLabel: Bool,
        completed: inout CompletedEdges,
        expiredKinds: inout [Int32: Int]
    ) {
        var edge = edges[slot]
        edge.connectionType = .virtualNode
        arena.withUnsafeBytes { arena in
            let client = string(slot, EdgeLabels.clientSlot, arena)
            let server = string(slot, EdgeLabels.serverSlot, arena)
            let peer = string(slot, EdgeLabels.peerSlot, arena)
            if edge.clientIsServerParent && server.isEmpty { return }
            if client.isEmpty && edge.key.isRoot {
                let name = peer.isEmpty ? Self.user[0] : peer
                completed.append(
                    edge,
                    strings: { $0 == EdgeLabels.clientSlot ? name : string(slot, $0, arena) },
                    virtualNode: virtualNodeLabel ? .client : .none,
                    labels: labels
                )
            } else if !client.isEmpty && server.isEmpty && !peer.isEmpty {
                completed.append(
                    edge,
                    strings: { $0 == EdgeLabels.serverSlot ? peer : string(slot, $0, arena) },
                    virtualNode: virtualNodeLabel ? .server : .none,
                    labels: labels
                )
            } else {
                expiredKinds[edge.kind, default: 0] += 1
            }
        }
        remove(slot)
    }

    /// The virtual client of a root server span without a peer attribute.
    private static let user = StaticBytes(["user"])

    // MARK: Slots and strings

    private mutating func allocate(key: EdgeKey, expiresAtMs: Int64) -> Int {
        let slot: Int
        if let reused = free.popLast() {
            slot = Int(reused)
            let generation = edges[slot].generation &+ 1
            edges[slot] = PendingEdge(key: key, expiresAtMs: expiresAtMs)
            edges[slot].generation = generation
            for index in 0..<labels.stringsPerEdge { strings[slot * labels.stringsPerEdge + index] = ArenaRef() }
        } else {
            slot = edges.count
            edges.append(PendingEdge(key: key, expiresAtMs: expiresAtMs))
            strings.append(contentsOf: repeatElement(ArenaRef(), count: labels.stringsPerEdge))
        }
        edges[slot].inUse = true
        return slot
    }

    /// Frees a slot whose edge was never indexed.
    private mutating func release(_ slot: Int) {
        clearStrings(slot)
        edges[slot].inUse = false
        free.append(Int32(slot))
    }

    /// The slot of the indexed edge with `key`.
    private func indexed(_ key: EdgeKey) -> Int? {
        index.find(key) { edges[$0].key }
    }

    /// Frees an edge: index, strings, slot.
    private mutating func remove(_ slot: Int) {
        if indexed(edges[slot].key) == slot {
            let key = edges[slot].key
            index.remove(key, slot: slot) { edges[$0].key }
            accountedBytes -= edges[slot].accountedBytes
        }
        release(slot)
    }

    private mutating func clearStrings(_ slot: Int) {
        for index in 0..<labels.stringsPerEdge {
            liveArenaBytes -= Int(strings[slot * labels.stringsPerEdge + index].count)
            strings[slot * labels.stringsPerEdge + index] = ArenaRef()
        }
    }

    /// A pending edge's string, within `arena` (the shard's arena, borrowed by the caller).
    @inline(__always)
    private func string(_ slot: Int, _ index: Int, _ arena: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let ref = strings[slot * labels.stringsPerEdge + index]
        return UnsafeRawBufferPointer(rebasing: arena[Int(ref.offset)..<(Int(ref.offset) + Int(ref.count))])
    }

    private mutating func setString(_ slot: Int, _ index: Int, _ bytes: UnsafeRawBufferPointer) {
        let position = slot * labels.stringsPerEdge + index
        liveArenaBytes += bytes.count - Int(strings[position].count)
        if arena.count > 65_536 && arena.count > 2 * liveArenaBytes { compactArena() }
        strings[position] = ArenaRef(offset: UInt32(arena.count), count: UInt32(bytes.count))
        arena.append(contentsOf: bytes)
    }

    /// Copies the live strings into a fresh arena.
    private mutating func compactArena() {
        var compacted: [UInt8] = []
        compacted.reserveCapacity(liveArenaBytes * 2)
        for position in strings.indices where strings[position].count > 0 {
            let ref = strings[position]
            strings[position].offset = UInt32(compacted.count)
            compacted.append(contentsOf: arena[Int(ref.offset)..<(Int(ref.offset) + Int(ref.count))])
        }
        arena = compacted
    }
}

/// The OTLP span kinds (`Span.SpanKind`) service graphs look at.
enum SpanKind {
    static let server: Int32 = 2
    static let client: Int32 = 3
    static let producer: Int32 = 4
    static let consumer: Int32 = 5
}
