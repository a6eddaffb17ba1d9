import MetronomeWire

/// DRAIN clustering of span names, as Tempo's `pkg/drain` does it (spec §5.7): names with the same token count
/// descend a prefix tree by their first tokens (a token that looks like data, or one past a node's 1,000th child,
/// takes the `<_>` branch) to a leaf whose clusters they are compared with; the most similar cluster at 0.3 or more
/// gathers the name, turning the differing positions into `<_>`, else the name starts a cluster of its own.
///
/// Memory is bounded by construction: at most ``Limits/maxClusters`` clusters (Tempo's 100,000) and
/// ``Limits/maxBytes`` of cluster and tree storage, the least recently used cluster evicted first; the tree is
/// pruned of an evicted cluster at once (Tempo prunes every 5 minutes). Deviation, for hostile input: a leaf holds
/// at most ``Limits/maxClustersPerLeaf`` clusters (its least recently used one makes room), so a name is compared
/// with at most that many clusters; Tempo's leaves are unbounded.
///
/// Not thread-safe: ``SpanNameSanitizer`` owns it behind a lock.
struct Drain {
    /// Bounds of the cluster cache.
    struct Limits: Sendable {
        var maxClusters = 100_000
        var maxBytes = 64 << 20
        var maxClustersPerLeaf = 64
    }

    static let minTokens = 3
    static let maxTokens = 80
    /// Tempo's cluster depth 30, less the root and the token-count level.
    static let maxNodeDepth = 28
    static let maxChildren = 1000
    static let similarityThreshold = 0.3
    /// Nodes one lookup may visit while it backtracks between `<_>` and literal branches (Tempo's bound).
    static let maxDescendSteps = 256
    /// Heap bytes counted per tree node.
    static let nodeBytes = 160
    private static let wildcardKey = DrainCluster.wildcard.withUnsafeBytes { SeriesHash.hash($0) }

    /// Why a cluster was evicted.
    enum Eviction: String, CaseIterable, Sendable {
        case maxClusters = "max_clusters"
        case maxBytes = "max_bytes"
        case leafFull = "leaf_full"
    }

    /// What became of a name.
    enum Outcome: Equatable {
        case tooFewTokens
        case tooManyTokens
        /// The cluster that gathered it, by slot.
        case cluster(Int32)
    }

    private struct Node {
        /// Children by token hash (`wildcardKey` for `<_>`), or by token count under the root.
        var children: [UInt64: Int32] = [:]
        /// Clusters listed at a leaf, by slot.
        var clusters: [Int32] = []
        var parent: Int32
        var key: UInt64
    }

    let limits: Limits
    private var nodes: [Node] = [Node(parent: -1, key: 0)]
    private var freeNodes: [Int32] = []
    private var slots: [DrainCluster?] = []
    /// Per slot: bumped when its cluster's template changes or the slot is freed.
    private(set) var versions: [UInt32] = []
    /// Per slot, the tick of its last use; and a least-recently-used list through `older` / `newer`.
    private var lastUsed: [UInt64] = []
    private var older: [Int32] = []
    private var newer: [Int32] = []
    private var newest: Int32 = -1
    private var oldest: Int32 = -1
    private var tick: UInt64 = 0
    private var freeSlots: [Int32] = []
    private(set) var clusterCount = 0
    private var clusterBytes = 0
    private var tokenizer = DrainTokenizer()
    /// Clusters made, and evicted by reason, since the start.
    private(set) var detected = 0
    private(set) var evicted: [Eviction: Int] = [:]

    init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Heap bytes held by clusters and the tree.
    var heapBytes: Int { clusterBytes + (nodes.count - freeNodes.count) * Self.nodeBytes }

    /// Reads the cluster in `slot` (which an ``Outcome`` named and whose version is current) in place.
    @inline(__always)
    func withCluster<R>(_ slot: Int32, _ body: (borrowing DrainCluster) -> R) -> R { body(slots[Int(slot)]!) }

    /// Clusters `name`.
    mutating func train(_ name: UnsafeRawBufferPointer) -> Outcome {
        tokenizer.tokenize(name, limit: Self.maxTokens)
        let count = tokenizer.tokenCount
        if count < Self.minTokens { return .tooFewTokens }
        if count > Self.maxTokens { return .tooManyTokens }
        if let slot = match(name) {
            touch(slot)
            let before = slots[Int(slot)]!.heapBytes
            if slots[Int(slot)]!.absorb(name, tokenizer) {
                versions[Int(slot)] &+= 1
                clusterBytes += slots[Int(slot)]!.heapBytes - before
            }
            return .cluster(slot)
        }
        return .cluster(insert(name))
    }

    /// Learns a template — a sanitized span name, such as a restored series' — as a cluster whose `<_>` are
    /// wildcards, unless a cluster with that template is there.
    mutating func learn(_ template: UnsafeRawBufferPointer) {
        tokenizer.tokenize(template, limit: Self.maxTokens)
        tokenizer.markWildcards(in: template)
        guard (Self.minTokens...Self.maxTokens).contains(tokenizer.tokenCount) else { return }
        if let slot = match(template), slots[Int(slot)]!.isTemplate(template) { return }
        _ = insert(template)
    }

    /// A count of uses, for ``touch(_:ifNotUsedSince:)``.
    var currentTick: UInt64 { tick }

    /// Marks the cluster in `slot` as just used, unless it was used after `since` already (once per batch is enough
    /// for the least-recently-used order, and cheaper on the per-span path).
    @inline(__always)
    mutating func touch(_ slot: Int32, ifNotUsedSince since: UInt64) {
        if lastUsed[Int(slot)] <= since { touch(slot) }
    }

    /// Marks the cluster in `slot` as just used.
    mutating func touch(_ slot: Int32) {
        tick += 1
        lastUsed[Int(slot)] = tick
        guard newest != slot else { return }
        unlink(slot)
        linkNewest(slot)
    }

    // MARK: - Lookup

    private func match(_ name: UnsafeRawBufferPointer) -> Int32? {
        guard let countNode = nodes[0].children[UInt64(tokenizer.tokenCount)] else { return nil }
        var budget = Self.maxDescendSteps
        return descend(countNode, depth: 1, name, budget: &budget)
    }

    /// Tries the `<_>` branch, then the literal one, backtracking on a dead end. Recursion is at most
    /// ``maxNodeDepth`` deep and visits at most ``maxDescendSteps`` nodes.
    private func descend(_ node: Int32, depth: Int, _ name: UnsafeRawBufferPointer, budget: inout Int) -> Int32? {
        guard budget > 0 else { return nil }
        budget -= 1
        if depth >= Self.maxNodeDepth || depth == tokenizer.tokenCount { return bestCluster(at: node, name) }
        let children = nodes[Int(node)].children
        if let wildcard = children[Self.wildcardKey],
            let found = descend(wildcard, depth: depth + 1, name, budget: &budget)
        {
            return found
        }
        let key = tokenHash(depth - 1, name)
        guard key != Self.wildcardKey, let literal = children[key] else { return nil }
        return descend(literal, depth: depth + 1, name, budget: &budget)
    }

    /// The most similar cluster of a leaf (ties: more wildcards), if similar enough.
    private func bestCluster(at leaf: Int32, _ name: UnsafeRawBufferPointer) -> Int32? {
        var best: Int32? = nil
        var bestShare = -1.0
        var bestWildcards = -1
        for slot in nodes[Int(leaf)].clusters {
            let (share, wildcards) = slots[Int(slot)]!.similarity(to: name, tokenizer)
            if share > bestShare || (share == bestShare && wildcards > bestWildcards) {
                (best, bestShare, bestWildcards) = (slot, share, wildcards)
                if share == 1 { break }
            }
        }
        return bestShare >= Self.similarityThreshold ? best : nil
    }

    @inline(__always)
    private func tokenHash(_ index: Int, _ name: UnsafeRawBufferPointer) -> UInt64 {
        SeriesHash.hash(
            UnsafeRawBufferPointer(rebasing: name[Int(tokenizer.starts[index])..<Int(tokenizer.ends[index])])
        )
    }

    // MARK: - Insertion and eviction

    private mutating func insert(_ name: UnsafeRawBufferPointer) -> Int32 {
        let tokenCount = tokenizer.tokenCount
        let needed = name.count * 2 + tokenCount * MemoryLayout<DrainCluster.Token>.stride + 96
        while clusterCount > 0 && clusterCount >= limits.maxClusters { evict(oldest, .maxClusters) }
        while clusterCount > 0 && heapBytes + needed + Self.maxNodeDepth * Self.nodeBytes > limits.maxBytes {
            evict(oldest, .maxBytes)
        }
        var node = child(of: 0, key: UInt64(tokenCount))
        var depth = 1
        while depth < min(Self.maxNodeDepth, tokenCount) {
            let token = UnsafeRawBufferPointer(
                rebasing: name[Int(tokenizer.starts[depth - 1])..<Int(tokenizer.ends[depth - 1])]
            )
            let isWildcard = tokenizer.isWildcard(depth - 1) || DrainTokenizer.isLikelyData(token)
            var key = isWildcard ? Self.wildcardKey : SeriesHash.hash(token)
            if nodes[Int(node)].children.count + 1 >= Self.maxChildren { key = Self.wildcardKey }
            node = child(of: node, key: key)
            depth += 1
        }
        if nodes[Int(node)].clusters.count >= max(2, limits.maxClustersPerLeaf) {
            let leastUsed = nodes[Int(node)].clusters.min { lastUsed[Int($0)] < lastUsed[Int($1)] }!
            evict(leastUsed, .leafFull)
        }
        let cluster = DrainCluster(name: name, tokenizer: tokenizer, leaf: node)
        let slot = allocateSlot(cluster)
        nodes[Int(node)].clusters.append(slot)
        detected += 1
        return slot
    }

    /// The child of `parent` under `key`, made if missing.
    private mutating func child(of parent: Int32, key: UInt64) -> Int32 {
        if let existing = nodes[Int(parent)].children[key] { return existing }
        let made: Int32
        if let reused = freeNodes.popLast() {
            made = reused
            nodes[Int(made)] = Node(parent: parent, key: key)
        } else {
            made = Int32(nodes.count)
            nodes.append(Node(parent: parent, key: key))
        }
        nodes[Int(parent)].children[key] = made
        return made
    }

    private mutating func allocateSlot(_ cluster: DrainCluster) -> Int32 {
        let slot: Int32
        if let reused = freeSlots.popLast() {
            slot = reused
            slots[Int(slot)] = cluster
        } else {
            slot = Int32(slots.count)
            slots.append(cluster)
            versions.append(0)
            lastUsed.append(0)
            older.append(-1)
            newer.append(-1)
        }
        clusterCount += 1
        clusterBytes += cluster.heapBytes
        tick += 1
        lastUsed[Int(slot)] = tick
        linkNewest(slot)
        return slot
    }

    /// Removes a cluster, and every tree node left without clusters or children.
    private mutating func evict(_ slot: Int32, _ reason: Eviction) {
        let cluster = slots[Int(slot)]!
        var node = cluster.leaf
        nodes[Int(node)].clusters.removeAll { $0 == slot }
        while node != 0 && nodes[Int(node)].clusters.isEmpty && nodes[Int(node)].children.isEmpty {
            let parent = nodes[Int(node)].parent
            nodes[Int(parent)].children[nodes[Int(node)].key] = nil
            nodes[Int(node)] = Node(parent: -1, key: 0)
            freeNodes.append(node)
            node = parent
        }
        unlink(slot)
        slots[Int(slot)] = nil
        versions[Int(slot)] &+= 1
        freeSlots.append(slot)
        clusterCount -= 1
        clusterBytes -= cluster.heapBytes
        evicted[reason, default: 0] += 1
    }

    private mutating func unlink(_ slot: Int32) {
        let (previous, next) = (older[Int(slot)], newer[Int(slot)])
        if previous >= 0 { newer[Int(previous)] = next } else if oldest == slot { oldest = next }
        if next >= 0 { older[Int(next)] = previous } else if newest == slot { newest = previous }
        older[Int(slot)] = -1
        newer[Int(slot)] = -1
    }

    private mutating func linkNewest(_ slot: Int32) {
        older[Int(slot)] = newest
        newer[Int(slot)] = -1
        if newest >= 0 { newer[Int(newest)] = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
    }
}
