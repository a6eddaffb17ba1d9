import MetronomeWire
import OTLPProto
import SwiftProtobuf
import Testing

@testable import MetronomeGenerator

/// Spec §5.6 and §9.5/§9.6: the series and entity limiters and the overflow series.
struct LimitsTests {
    /// One span per service name in `services`.
    private func push(_ generator: Generator, _ services: [String], nowMs: Int64 = Fixtures.nowMs)
        -> ProcessorReport
    {
        var total = ProcessorReport()
        for service in services {
            let result = generator.push(Fixtures.makeBatch(1, service: service), nowMs: nowMs)
            total.overflowed[SpanMetricsProcessor.name, default: 0] += result.spanMetricsOverflowed
        }
        return total
    }

    @Test func labelSetsBeyondTheLimitGoToTheOverflowSeries() {
        // Default layout: 1 calls + 1 size + (2 buckets + 3) latency = 7 series per label set.
        let generator = Fixtures.generator { $0.limits.maxActiveSeries = 14 }
        let result = push(generator, ["a", "b", "c", "d"])
        #expect(result.spanMetricsOverflowed == 2)
        _ = push(generator, ["a", "c"])  // an existing series keeps updating at the limit; c overflows again
        let sink = Fixtures.collect(generator)
        #expect(sink.value("traces_spanmetrics_calls_total", ["service": "a"]) == 2)
        #expect(sink.value("traces_spanmetrics_calls_total", ["service": "b"]) == 1)
        #expect(sink.find("traces_spanmetrics_calls_total", ["service": "c"]).isEmpty)
        let overflow = sink.find("traces_spanmetrics_calls_total", ["metric_overflow": "true"])
        #expect(overflow.count == 1)
        #expect(overflow.first?.samples.map(\.value) == [0, 3])
        #expect(overflow.first?.labels.keys.sorted() == ["__metrics_gen_instance", "__name__", "metric_overflow"])
        #expect(sink.find("traces_spanmetrics_latency_bucket", ["metric_overflow": "true"]).count == 3)
        #expect(sink.value("traces_spanmetrics_latency_count", ["metric_overflow": "true"]) == 3)
        let statistics = generator.limiter.statistics
        #expect(statistics.active == 14 && statistics.added == 14 && statistics.limited == 21)
    }

    @Test func removingStaleSeriesMakesRoomAgain() {
        let generator = Fixtures.generator {
            $0.limits.maxActiveSeries = 7
            $0.registry.staleDurationMs = 1_000
        }
        _ = push(generator, ["a"])
        #expect(push(generator, ["b"]).spanMetricsOverflowed == 1)
        _ = Fixtures.collect(generator, at: Fixtures.nowMs + 500)  // a's first collection
        _ = Fixtures.collect(generator, at: Fixtures.nowMs + 5_000)  // a is stale: removed
        #expect(generator.limiter.statistics.active == 0)
        #expect(generator.limiter.statistics.removed == 7)
        #expect(push(generator, ["b"], nowMs: Fixtures.nowMs + 6_000).spanMetricsOverflowed == 0)
        let sink = Fixtures.collect(generator, at: Fixtures.nowMs + 7_000)
        #expect(sink.value("traces_spanmetrics_calls_total", ["service": "b"]) == 1)
    }

    @Test func entityModeCountsLabelSetsNotSeries() {
        let generator = Fixtures.generator {
            $0.limits.mode = .entity
            $0.limits.maxActiveEntities = 3
        }
        #expect(push(generator, ["a", "b", "c", "d", "a"]).spanMetricsOverflowed == 1)
        #expect(generator.limiter.statistics.active == 3)
        let sink = Fixtures.collect(generator)
        #expect(sink.value("traces_spanmetrics_calls_total", ["service": "a"]) == 2)
        #expect(sink.value("traces_spanmetrics_calls_total", ["metric_overflow": "true"]) == 1)
    }

    @Test func noLimitMeansNoOverflow() {
        let generator = Fixtures.generator()
        #expect(push(generator, (0..<100).map { "s\($0)" }).spanMetricsOverflowed == 0)
        #expect(generator.limiter.statistics.active == 700)
    }

    @Test func limiterArithmetic() {
        let limiter = SeriesLimiter(mode: .series, maximum: 10)
        #expect((0..<10).allSatisfy { _ in limiter.reserve(1) })
        #expect(!limiter.reserve(1))
        limiter.release(1)
        #expect(limiter.reserve(1))
        let pairs = SeriesLimiter(mode: .series, maximum: 10)
        #expect((0..<5).allSatisfy { _ in pairs.reserve(2) })
        #expect(!pairs.reserve(1))
        pairs.release(100)  // never below zero
        #expect(pairs.statistics.active == 0)
    }
}
