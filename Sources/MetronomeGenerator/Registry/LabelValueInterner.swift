import MetronomeWire

/// Stores each distinct label value once and names it by a small integer id.
///
/// Series keep ids, not strings (ARCHITECTURE.md, hot-path rule 3): a service name shared by ten thousand series is
/// stored once. Id 0 is the empty value (an absent label). The interner of a table is rebuilt when series are
/// removed, so values of removed series do not accumulate.
struct LabelValueInterner {
    private(set) var arena: [UInt8] = []
    private var offsets: [UInt32] = [0]
    private var lengths: [UInt32] = [0]
    private var hashes: [UInt64] = [0]
    /// Open addressing over ids; 0 marks an empty slot. Kept at most half full.
    private var slots: [UInt32] = Array(repeating: 0, count: 64)

    /// The arena range of value `id`.
    @inline(__always)
    func range(of id: UInt32) -> Range<Int> {
        let start = Int(offsets[Int(id)])
        return start..<(start + Int(lengths[Int(id)]))
    }

    /// Returns the id of `value`, storing it if it is new.
    mutating func intern(_ value: UnsafeRawBufferPointer, hash: UInt64) -> UInt32 {
        if value.isEmpty { return 0 }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let id = slots[slot]
            if id == 0 { break }
            if hashes[Int(id)] == hash && matches(id, value) { return id }
            slot = (slot + 1) & mask
        }
        let id = UInt32(offsets.count)
        offsets.append(UInt32(arena.count))
        lengths.append(UInt32(value.count))
        hashes.append(hash)
        arena.append(contentsOf: value)
        slots[slot] = id
        if offsets.count * 2 > slots.count { grow() }
        return id
    }

    /// Whether value `id` equals `value`, byte for byte.
    @inline(__always)
    func matches(_ id: UInt32, _ value: UnsafeRawBufferPointer) -> Bool {
        let stored = ByteRange(offset: offsets[Int(id)], count: lengths[Int(id)])
        guard Int(stored.count) == value.count else { return false }
        return arena.withUnsafeBytes { $0.bytes(at: stored, equal: value) }
    }

    /// Approximate heap bytes held.
    var memoryBytes: Int {
        arena.capacity + offsets.capacity * 4 + lengths.capacity * 4 + hashes.capacity * 8 + slots.capacity * 4
    }

    private mutating func grow() {
        var newSlots = [UInt32](repeating: 0, count: slots.count * 2)
        let mask = newSlots.count - 1
        for id in 1..<offsets.count {
            var slot = Int(truncatingIfNeeded: hashes[id]) & mask
            while newSlots[slot] != 0 { slot = (slot + 1) & mask }
            newSlots[slot] = UInt32(id)
        }
        slots = newSlots
    }
}
