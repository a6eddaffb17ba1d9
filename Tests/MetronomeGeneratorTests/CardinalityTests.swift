import MetronomeWire
import OTLPProto
import SwiftProtobuf
import Testing

@testable import MetronomeGenerator

/// Spec §5.6 and §9.5 (per_label_limiter_test, demand tests): HyperLogLog estimates and the per-label limit.
struct CardinalityTests {
    private func hash(_ value: Int) -> UInt64 {
        Array("value-\(value)".utf8).withUnsafeBytes { SeriesHash.hash($0) }
    }

    @Test(arguments: [0, 1, 10, 100, 1_000, 10_000, 100_000])
    func estimatesAreWithinAFewPercent(count: Int) {
        var sketch = HyperLogLog()
        for value in 0..<count { sketch.insert(hash(value)) }
        for value in 0..<count where value % 3 == 0 { sketch.insert(hash(value)) }  // repeats change nothing
        let error = abs(Double(sketch.estimate - count)) / Double(max(count, 1))
        #expect(error <= (count <= 100 ? 0.02 : 0.08), "estimate \(sketch.estimate) for \(count)")
    }

    @Test func slidingWindowsForgetOldValues() {
        var window = SlidingHyperLogLog(windowMs: 15 * 60_000, nowMs: 0)
        for value in 0..<1_000 { window.insert(hash(value), nowMs: 0) }
        #expect(abs(window.estimate - 1_000) < 60)
        window.rotate(nowMs: 10 * 60_000)
        #expect(abs(window.estimate - 1_000) < 60)  // still inside the window
        window.rotate(nowMs: 21 * 60_000)  // four 5-minute sketches later
        #expect(window.estimate == 0)
        for value in 0..<10 { window.insert(hash(value), nowMs: 60 * 60_000) }
        #expect(window.estimate == 10)
    }

    /// A generator with default buckets, a 15-minute stale window and at most 5 values per label.
    private func limitedGenerator(dimensions: [String], nowMs: Int64) -> Generator {
        var configuration = Generator.Configuration()
        configuration.processors = [SpanMetricsProcessor.name]
        configuration.spanMetrics.dimensions = dimensions
        configuration.limits.maxCardinalityPerLabel = 5
        configuration.registry.staleDurationMs = 15 * 60_000
        return Generator(tenant: .singleTenant, configuration: configuration, nowMs: nowMs)
    }

    private func push(_ generator: Generator, urls: Range<Int>, nowMs: Int64) -> ProcessorReport {
        let spans = urls.map {
            OTLPFixtures.span(
                name: "GET",
                seed: $0,
                nowNanos: Fixtures.nowNanos,
                attributes: [OTLPFixtures.attribute("url", "/item/\($0)"), OTLPFixtures.attribute("method", "GET")]
            )
        }
        return generator.push(Fixtures.batch([OTLPFixtures.resourceSpans([], spans)]), nowMs: nowMs)
    }

    @Test func tempoPerLabelLimitReplacesOnlyTheHighCardinalityLabel() {
        let start = Fixtures.nowMs
        let generator = limitedGenerator(dimensions: ["url", "method"], nowMs: start)
        // Under the limit until the first check: 10 distinct urls make 10 series.
        #expect(push(generator, urls: 0..<10, nowMs: start).labelValuesLimited.isEmpty)
        // The check 15 s later flags url (estimate 10 > 5); method (1 value) stays.
        _ = push(generator, urls: 0..<1, nowMs: start + 15_000)
        let limited = push(generator, urls: 10..<20, nowMs: start + 16_000)
        #expect(limited.labelValuesLimited == ["url": 10])
        let sink = Fixtures.collect(generator, at: start + 17_000)
        let calls = sink.find("traces_spanmetrics_calls_total")
        #expect(calls.count == 11)
        let overflow = sink.find("traces_spanmetrics_calls_total", ["url": "__cardinality_overflow__"])
        #expect(overflow.first?.samples.last?.value == 10)
        #expect(overflow.first?.labels["method"] == "GET")
        var demandSink = CapturingSink()
        let result = generator.collect(.snapshot, timestampMs: start + 17_000, into: &demandSink)
        #expect(result.labelCardinalityDemand["url"].map { abs($0 - 10) <= 1 } == true)
        #expect(result.labelCardinalityDemand["method"] == 1)
        // 11 distinct label sets were made (10 urls + the overflow one) × 19 series each (default buckets).
        #expect(result.activeSeriesDemand == 11 * 19)
    }

    @Test func theLimitLiftsOnceOldValuesRotateOut() {
        let start = Fixtures.nowMs
        let generator = limitedGenerator(dimensions: ["url"], nowMs: start)
        _ = push(generator, urls: 0..<10, nowMs: start)
        _ = push(generator, urls: 0..<1, nowMs: start + 15_000)
        #expect(push(generator, urls: 0..<1, nowMs: start + 16_000).labelValuesLimited == ["url": 1])
        // 20 minutes later the old sketches have rotated out; the next check clears the flag.
        _ = push(generator, urls: 0..<1, nowMs: start + 20 * 60_000)
        #expect(push(generator, urls: 0..<1, nowMs: start + 20 * 60_000 + 1).labelValuesLimited.isEmpty)
    }
}
