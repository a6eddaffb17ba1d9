/// A HyperLogLog cardinality sketch of precision 10 (1,024 one-byte registers, ~3 % standard error), fed with
/// 64-bit hashes that are already well mixed (``SeriesHash``).
struct HyperLogLog: Sendable {
    static let precision = 10
    static let registerCount = 1 << precision
    private(set) var registers = [UInt8](repeating: 0, count: registerCount)

    @inline(__always)
    mutating func insert(_ hash: UInt64) {
        let index = Int(truncatingIfNeeded: hash >> UInt64(64 - Self.precision))
        let rest = hash << UInt64(Self.precision) | (1 << UInt64(Self.precision - 1))
        let rank = UInt8(rest.leadingZeroBitCount + 1)
        if rank > registers[index] { registers[index] = rank }
    }

    /// Keeps, per register, the larger of the two: the sketch of the union.
    mutating func merge(_ other: HyperLogLog) {
        for index in registers.indices where other.registers[index] > registers[index] {
            registers[index] = other.registers[index]
        }
    }

    /// The estimated number of distinct hashes inserted.
    var estimate: Int {
        let m = Double(Self.registerCount)
        var sum = 0.0
        var zeros = 0
        for register in registers {
            sum += 1 / Double(UInt64(1) << UInt64(register))
            if register == 0 { zeros += 1 }
        }
        let alpha = 0.7213 / (1 + 1.079 / m)
        let raw = alpha * m * m / sum
        // Small range: linear counting is more accurate while registers are still empty.
        if raw <= 2.5 * m && zeros > 0 { return Int((m * _log(m / Double(zeros))).rounded()) }
        return Int(raw.rounded())
    }
}

/// A sliding window of HyperLogLog sketches: the estimate covers roughly the last `window`, in `step`-long
/// sketches, so values that stopped arriving age out (Tempo: window = stale duration, 5-minute sketches).
struct SlidingHyperLogLog: Sendable {
    private var sketches: [HyperLogLog]
    private let stepMs: Int64
    private var currentStartMs: Int64

    init(windowMs: Int64, stepMs: Int64 = 5 * 60_000, nowMs: Int64) {
        let step = max(1, stepMs)
        sketches = Array(repeating: HyperLogLog(), count: Int(max(1, windowMs / step)) + 1)
        self.stepMs = step
        currentStartMs = nowMs
    }

    /// Inserts into the newest sketch, first rotating out sketches older than the window.
    @inline(__always)
    mutating func insert(_ hash: UInt64, nowMs: Int64) {
        rotate(nowMs: nowMs)
        sketches[sketches.count - 1].insert(hash)
    }

    mutating func rotate(nowMs: Int64) {
        guard nowMs - currentStartMs >= stepMs else { return }
        let steps = Int((nowMs - currentStartMs) / stepMs)
        if steps >= sketches.count {
            sketches = Array(repeating: HyperLogLog(), count: sketches.count)
            currentStartMs = nowMs
            return
        }
        sketches.removeFirst(steps)
        sketches.append(contentsOf: repeatElement(HyperLogLog(), count: steps))
        currentStartMs += Int64(steps) * stepMs
    }

    var estimate: Int {
        var union = HyperLogLog()
        for sketch in sketches { union.merge(sketch) }
        return union.estimate
    }
}

#if canImport(Glibc)
    import Glibc
    private func _log(_ x: Double) -> Double { Glibc.log(x) }
#elseif canImport(Darwin)
    import Darwin
    private func _log(_ x: Double) -> Double { Darwin.log(x) }
#endif
