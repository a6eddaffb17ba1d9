import MetronomeWire
import OTLPProto
import SwiftProtobuf
import Testing

@testable import MetronomeGenerator

/// Spec §2.7 and §9.4: the span multiplier from tracestate thresholds and sampling-ratio attributes.
struct SpanMultiplierTests {
    private func count(_ traceState: String) -> Double? {
        Array(traceState.utf8).withUnsafeBytes { SpanMultiplier.adjustedCount(traceState: $0) }
    }

    @Test func thresholdsGiveTheInverseProbability() throws {
        #expect(count("ot=th:0") == 1)
        #expect(count("ot=th:8") == 2)
        #expect(count("ot=th:c") == 4)
        #expect(abs(try #require(count("ot=th:fd70a4")) - 100) < 0.01)
    }

    @Test func theOtMemberIsFoundAmongVendorsWithWhitespace() {
        #expect(count("vendor=abc, ot=th:8 ,other=x") == 2)
        #expect(count("ot=foo:1;th:c;bar:2") == 4)
        #expect(count("not=th:8") == nil)
        #expect(count("vendor=th:8") == nil)
    }

    @Test func invalidThresholdsAreIgnored() {
        for bad in ["ot=th:", "ot=th:xyz", "ot=th:123456789012345", "ot=", "", "ot=rv:00000000000000", "ot=th:C"] {
            #expect(count(bad) == nil, "\(bad)")
        }
    }

    @Test func randomnessKeepsIntegralCountsAndRoundsFractionalOnes() {
        #expect(count("ot=th:8;rv:ffffffffffffff") == 2)
        // th:4 → probability 3/4 → count 4/3: rounds to 1 or 2, deterministically per rv.
        #expect(count("ot=th:4;rv:00000000000000") == 2)
        #expect(count("ot=th:4;rv:ffffffffffffff") == 1)
        #expect(count("ot=th:4;rv:ffffffffffffff") == count("ot=th:4;rv:ffffffffffffff"))
        var total = 0.0
        let samples = 3000
        for index in 0..<samples {
            let rv = String(UInt64(index) * ((UInt64(1) << 56) / UInt64(samples)), radix: 16)
            total += count("ot=th:4;rv:" + String(repeating: "0", count: 14 - rv.count) + rv)!
        }
        #expect(abs(total / Double(samples) - 4.0 / 3.0) < 0.01)
        // Without rv a fractional count stays fractional.
        #expect(abs(count("ot=th:4")! - 4.0 / 3.0) < 1e-12)
    }

    private func spanWith(_ attributes: [OTLPFixtures.KeyValue] = [], traceState: String = "", seconds: UInt64 = 1)
        -> OTLPFixtures.Span
    {
        var span = OTLPFixtures.span(
            name: "m",
            nowNanos: Fixtures.nowNanos,
            durationNanos: seconds * 1_000_000_000,
            attributes: attributes
        )
        span.traceState = traceState
        return span
    }

    private func ratio(_ key: String, _ value: Double) -> OTLPFixtures.KeyValue {
        .with {
            $0.key = key
            $0.value.doubleValue = value
        }
    }

    @Test func tempoTraceStateMultiplierCountsASampledSpanTwice() {
        let generator = Fixtures.generator { $0.spanMetrics.enableTracestateSpanMultiplier = true }
        _ = generator.push(
            Fixtures.batch([OTLPFixtures.resourceSpans([], [spanWith(traceState: "ot=th:8")])]),
            nowMs: Fixtures.nowMs
        )
        let sink = Fixtures.collect(generator)
        #expect(sink.value("traces_spanmetrics_calls_total") == 2)
        #expect(sink.value("traces_spanmetrics_latency_count") == 2)
        #expect(sink.value("traces_spanmetrics_latency_sum") == 2)
    }

    @Test func tempoAttributeRatiosAndTheirPrecedence() {
        func calls(
            _ configure: (inout Generator.Configuration) -> Void,
            _ span: OTLPFixtures.Span,
            resource: [OTLPFixtures.KeyValue] = []
        ) -> Double? {
            let generator = Fixtures.generator(configure: configure)
            _ = generator.push(Fixtures.batch([OTLPFixtures.resourceSpans(resource, [span])]), nowMs: Fixtures.nowMs)
            return Fixtures.collect(generator).value("traces_spanmetrics_calls_total")
        }
        let byKey: (inout Generator.Configuration) -> Void = { $0.spanMetrics.spanMultiplierKey = "sampling.ratio" }
        let both: (inout Generator.Configuration) -> Void = {
            $0.spanMetrics.spanMultiplierKey = "sampling.ratio"
            $0.spanMetrics.enableTracestateSpanMultiplier = true
        }
        #expect(calls(byKey, spanWith([ratio("sampling.ratio", 0.5)])) == 2)
        #expect(calls(both, spanWith([ratio("sampling.ratio", 0.5)], traceState: "ot=th:c")) == 4)
        #expect(calls(both, spanWith([ratio("sampling.ratio", 0.5)], traceState: "ot=th:zz")) == 2)
        #expect(calls(byKey, spanWith([ratio("sampling.ratio", 0.5)], traceState: "ot=th:c")) == 2)
        #expect(calls(byKey, spanWith(), resource: [ratio("sampling.ratio", 0.25)]) == 4)
        #expect(calls(byKey, spanWith([ratio("sampling.ratio", 0.5)]), resource: [ratio("sampling.ratio", 0.25)]) == 2)
        let intRatio = OTLPFixtures.KeyValue.with {
            $0.key = "sampling.ratio"
            $0.value.intValue = 2
        }
        #expect(calls(byKey, spanWith([intRatio])) == 1)
        #expect(calls(byKey, spanWith([ratio("sampling.ratio", 0)])) == 1)
        #expect(calls({ _ in }, spanWith([ratio("sampling.ratio", 0.5)], traceState: "ot=th:8")) == 1)
    }

    @Test func tempoHistogramSpanMultiplierWeighsCountSumAndBuckets() {
        let generator = Fixtures.generator(buckets: [1, 2]) { $0.spanMetrics.spanMultiplierKey = "w" }
        let spans = [spanWith([ratio("w", 1 / 1.5)], seconds: 1), spanWith([ratio("w", 1 / 5.0)], seconds: 2)]
        let batch = Fixtures.batch([OTLPFixtures.resourceSpans([], spans)])
        _ = generator.push(batch, nowMs: Fixtures.nowMs)
        let sink = Fixtures.collect(generator)
        #expect(abs(sink.value("traces_spanmetrics_latency_count")! - 6.5) < 1e-9)
        #expect(abs(sink.value("traces_spanmetrics_latency_sum")! - 11.5) < 1e-9)
        #expect(abs(sink.value("traces_spanmetrics_latency_bucket", ["le": "1"])! - 1.5) < 1e-9)
        #expect(abs(sink.value("traces_spanmetrics_latency_bucket", ["le": "2"])! - 6.5) < 1e-9)
        // Size is not multiplied.
        #expect(sink.value("traces_spanmetrics_size_total") == batch.spans.reduce(0) { $0 + Double($1.encodedSize) })
    }
}
