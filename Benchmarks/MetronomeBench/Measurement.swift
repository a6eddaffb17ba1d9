import Foundation

/// Wall and CPU time of a measured loop, turned into the figures our goals are written in.
struct Measurement {
    var wallNanos: UInt64
    var cpuNanos: UInt64
    var spans: Int

    /// Runs `body` `iterations` times (after `warmup` unmeasured runs); `body` returns the spans it processed.
    static func run(iterations: Int, warmup: Int = 3, _ body: () -> Int) -> Measurement {
        for _ in 0..<warmup { _ = body() }
        let wallStart = clock(CLOCK_MONOTONIC)
        let cpuStart = clock(CLOCK_PROCESS_CPUTIME_ID)
        var spans = 0
        for _ in 0..<iterations { spans += body() }
        return Measurement(
            wallNanos: clock(CLOCK_MONOTONIC) - wallStart,
            cpuNanos: clock(CLOCK_PROCESS_CPUTIME_ID) - cpuStart,
            spans: spans
        )
    }

    var nanosPerSpan: Double { Double(cpuNanos) / Double(max(spans, 1)) }
    var spansPerCPUSecond: Double { Double(spans) / (Double(cpuNanos) / 1e9) }

    func report(_ name: String) {
        let perSpan = String(format: "%.1f", nanosPerSpan)
        let perSecond = String(format: "%.0f", spansPerCPUSecond)
        print("\(name): \(perSpan) ns/span (CPU), \(perSecond) spans per CPU-second, \(spans) spans")
    }

    static func clock(_ id: clockid_t) -> UInt64 {
        var time = timespec()
        clock_gettime(id, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
