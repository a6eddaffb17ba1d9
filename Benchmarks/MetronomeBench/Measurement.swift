import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Wall and CPU time of a measured loop, turned into the figures our goals are written in.
struct Measurement {
    var wall: Duration
    var cpuNanos: UInt64
    var spans: Int

    /// Runs `body` `iterations` times (after `warmup` unmeasured runs); `body` returns the spans it processed.
    static func run(iterations: Int, warmup: Int = 3, _ body: () -> Int) -> Measurement {
        for _ in 0..<warmup { _ = body() }
        let wallStart = ContinuousClock.now
        let cpuStart = cpuNanos()
        var spans = 0
        for _ in 0..<iterations { spans += body() }
        return Measurement(wall: ContinuousClock.now - wallStart, cpuNanos: cpuNanos() - cpuStart, spans: spans)
    }

    var nanosPerSpan: Double { Double(cpuNanos) / Double(max(spans, 1)) }
    var spansPerCPUSecond: Double { Double(spans) / (Double(cpuNanos) / 1e9) }

    func report(_ name: String) {
        let perSpan = String(format: "%.1f", nanosPerSpan)
        let perSecond = String(format: "%.0f", spansPerCPUSecond)
        print("\(name): \(perSpan) ns/span (CPU), \(perSecond) spans per CPU-second, \(spans) spans in \(wall)")
    }

    /// CPU time used by this process (all threads), from libc's `clock()` (microsecond resolution on Linux).
    static func cpuNanos() -> UInt64 {
        UInt64(clock()) * (1_000_000_000 / UInt64(CLOCKS_PER_SEC))
    }
}
