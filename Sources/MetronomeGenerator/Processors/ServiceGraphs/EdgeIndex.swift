import MetronomeWire

/// The open-addressing index of a pairing shard: edge key → slab slot, linear probing on a 64-bit mix of the key
/// (no `Hasher` per lookup), deletion by backward shift so no tombstones pile up as edges come and go.
struct EdgeIndex {
    private var slots = [Int32](repeating: -1, count: 64)
    private(set) var count = 0

    static func hash(_ key: EdgeKey) -> UInt64 {
        SeriesHash.mix(key.traceHigh ^ SeriesHash.mix(key.traceLow ^ (key.spanID &* 0x9E37_79B9_7F4A_7C15)))
            ^ (key.isRoot ? 1 : 0)
    }

    /// The slot of the edge with `key`; `keyOf` gives a slot's key.
    func find(_ key: EdgeKey, keyOf: (Int) -> EdgeKey) -> Int? {
        let mask = slots.count - 1
        var position = Int(truncatingIfNeeded: Self.hash(key)) & mask
        while slots[position] >= 0 {
            let slot = Int(slots[position])
            if keyOf(slot) == key { return slot }
            position = (position + 1) & mask
        }
        return nil
    }

    /// Indexes `slot` under `key`, which is not indexed yet.
    mutating func insert(_ key: EdgeKey, slot: Int, keyOf: (Int) -> EdgeKey) {
        if (count + 1) * 2 > slots.count { rebuild(capacity: slots.count * 2, keyOf: keyOf) }
        let mask = slots.count - 1
        var position = Int(truncatingIfNeeded: Self.hash(key)) & mask
        while slots[position] >= 0 { position = (position + 1) & mask }
        slots[position] = Int32(slot)
        count += 1
    }

    /// Removes `slot`, indexed under `key`.
    mutating func remove(_ key: EdgeKey, slot: Int, keyOf: (Int) -> EdgeKey) {
        let mask = slots.count - 1
        var hole = Int(truncatingIfNeeded: Self.hash(key)) & mask
        while Int(slots[hole]) != slot {
            guard slots[hole] >= 0 else { return }
            hole = (hole + 1) & mask
        }
        slots[hole] = -1
        count -= 1
        // Backward shift: move later entries of the probe run into the hole when their home allows it.
        var next = hole
        while true {
            next = (next + 1) & mask
            guard slots[next] >= 0 else { return }
            let home = Int(truncatingIfNeeded: Self.hash(keyOf(Int(slots[next])))) & mask
            let stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next)
            if stays { continue }
            slots[hole] = slots[next]
            slots[next] = -1
            hole = next
        }
    }

    private mutating func rebuild(capacity: Int, keyOf: (Int) -> EdgeKey) {
        let old = slots
        slots = [Int32](repeating: -1, count: capacity)
        let mask = capacity - 1
        for slot in old where slot >= 0 {
            var position = Int(truncatingIfNeeded: Self.hash(keyOf(Int(slot)))) & mask
            while slots[position] >= 0 { position = (position + 1) & mask }
            slots[position] = slot
        }
    }
}
