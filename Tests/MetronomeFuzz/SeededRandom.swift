/// A deterministic generator (SplitMix64), so a failing mutation can be reproduced from its seed.
public struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension SeededRandom {
    /// `input` with `edits` random one-byte edits (replace, remove, insert); an edit that empties it starts again from
    /// `input`.
    public mutating func mutated(_ input: [UInt8], edits: Int) -> [UInt8] {
        var bytes = input
        for _ in 0..<edits {
            let index = Int(next() % UInt64(bytes.count))
            switch next() % 3 {
            case 0: bytes[index] = UInt8(truncatingIfNeeded: next())
            case 1: bytes.remove(at: index)
            default: bytes.insert(UInt8(truncatingIfNeeded: next()), at: index)
            }
            if bytes.isEmpty { bytes = input }
        }
        return bytes
    }
}
