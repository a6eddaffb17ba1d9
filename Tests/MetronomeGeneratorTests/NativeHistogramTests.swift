import Foundation
import MetronomeWire
import OTLPProto
import SwiftProtobuf
import Testing

@testable import MetronomeGenerator

/// Spec §5.4 and Prometheus' definition of native histograms: bucket `i` of schema `s` holds the values in
/// `(2^((i-1)·2^-s), 2^(i·2^-s)]`.
struct NativeHistogramTests {
    private static func settings(maxBuckets: Int = 100, minResetMs: Int64 = 15 * 60_000) -> NativeHistogramSettings {
        var settings = NativeHistogramSettings()
        settings.mode = .native
        settings.maxBucketNumber = maxBuckets
        settings.minResetDurationMs = minResetMs
        return settings
    }

    @Test func theSchemaComesFromTheBucketFactor() {
        // -floor(log2(log2(factor))), within -4…8.
        #expect(NativeHistogram.schema(forBucketFactor: 1.1) == 3)
        #expect(NativeHistogram.schema(forBucketFactor: 2) == 0)
        #expect(NativeHistogram.schema(forBucketFactor: 4) == -1)
        #expect(NativeHistogram.schema(forBucketFactor: 1.0001) == 8)
        #expect(NativeHistogram.schema(forBucketFactor: 1e300) == -4)
        #expect(NativeHistogram.schema(forBucketFactor: 1.2) == 2)
    }

    @Test(arguments: -4...8)
    func bucketIndexesAroundBoundariesFollowTheDefinition(schema: Int32) {
        let width = pow(2, -Double(schema))  // log2 of a bucket's growth
        for boundary in [-40, -9, -1, 0, 1, 2, 7, 33] {
            // The upper bound of bucket `boundary`; a value just above it is in the next bucket.
            let bound = exp2(Double(boundary) * width)
            guard bound.isFinite && bound > 0x1p-128 else { continue }
            #expect(NativeHistogram.bucketIndex(of: bound * (1 + 1e-9), schema: schema) == Int32(boundary + 1))
            #expect(NativeHistogram.bucketIndex(of: bound * (1 - 1e-9), schema: schema) == Int32(boundary))
        }
        // Powers of two are exact: 2^j is in bucket ceil(j·2^s), and where j·2^s is whole it is that bucket's upper
        // bound, so the next double up is in the next bucket.
        for power in [-20, -3, -1, 0, 1, 5, 16, 17] {
            let position = Double(power) * pow(2, Double(schema))
            let expected = Int32(position.rounded(.up))
            #expect(NativeHistogram.bucketIndex(of: exp2(Double(power)), schema: schema) == expected)
            let next = NativeHistogram.bucketIndex(of: exp2(Double(power)).nextUp, schema: schema)
            #expect(next == (position == position.rounded() ? expected + 1 : expected))
        }
    }

    @Test func zeroAndTinyValuesGoToTheZeroBucketAndNegativeValuesToTheNegativeBuckets() {
        var histogram = NativeHistogram(schema: 3, nowMs: 0)
        let settings = Self.settings()
        for value in [0, 1e-40, -1e-40, 1e-38, -1, -0.5] {
            histogram.observe(value, times: 1, exemplar: nil, nowMs: 0, settings: settings)
        }
        #expect(histogram.zeroCount == 3)
        #expect(histogram.positive == [.init(index: NativeHistogram.bucketIndex(of: 1e-38, schema: 3), count: 1)])
        // |−1| = 2^0 → bucket 0; |−0.5| = 2^-1 → bucket −8 at schema 3.
        #expect(histogram.negative == [.init(index: -8, count: 1), .init(index: 0, count: 1)])
        #expect(histogram.count == 6 && histogram.sum == 1e-38 - 1.5)
    }

    @Test func overTheBucketLimitTheResolutionHalvesAndAResetIsScheduled() {
        var histogram = NativeHistogram(schema: 0, nowMs: 0)
        var settings = Self.settings(maxBuckets: 4, minResetMs: 10_000)
        settings.bucketFactor = 2
        for value in [1.0, 2, 4, 8] {
            histogram.observe(value, times: 1, exemplar: nil, nowMs: 1_000, settings: settings)
        }
        #expect(histogram.schema == 0 && histogram.bucketCount == 4)
        // A fifth bucket (index 4) passes the limit before the minimum reset duration: bucket i → ceil(i/2).
        histogram.observe(16, times: 1, exemplar: nil, nowMs: 1_000, settings: settings)
        #expect(histogram.schema == -1)
        #expect(
            histogram.positive == [.init(index: 0, count: 1), .init(index: 1, count: 2), .init(index: 2, count: 2)]
        )
        #expect(histogram.count == 5 && histogram.resetDueMs == 10_000)
        // The scheduled reset happens once due (the client's timer), back at the configured schema.
        histogram.resetIfDue(nowMs: 9_999, settings: settings)
        #expect(histogram.count == 5)
        histogram.resetIfDue(nowMs: 10_000, settings: settings)
        #expect(histogram.count == 0 && histogram.bucketCount == 0 && histogram.schema == 0)
        #expect(histogram.lastResetMs == 10_000 && histogram.resetDueMs == 0)
    }

    @Test func overTheLimitAfterTheMinimumResetDurationTheHistogramResetsKeepingTheObservation() {
        var histogram = NativeHistogram(schema: 0, nowMs: 0)
        var settings = Self.settings(maxBuckets: 2, minResetMs: 1_000)
        settings.bucketFactor = 2
        histogram.observe(1, times: 1, exemplar: nil, nowMs: 2_000, settings: settings)
        histogram.observe(2, times: 1, exemplar: nil, nowMs: 2_000, settings: settings)
        histogram.observe(4, times: 3, exemplar: nil, nowMs: 2_000, settings: settings)
        #expect(histogram.count == 3 && histogram.sum == 12)
        #expect(histogram.positive == [.init(index: 2, count: 3)])
        #expect(histogram.lastResetMs == 2_000 && histogram.schema == 0)
    }

    @Test func halvingMergesNegativeIndexesTowardsZero() {
        var histogram = NativeHistogram(schema: 1, nowMs: 0)
        // Schema 1: 2^(-3/2) … bucket −3, 2^(-1) bucket −2, 2^(-1/2) bucket −1, 1 bucket 0, 2^(1/2) bucket 1.
        for index in -3...1 {
            histogram.observe(exp2(Double(index) / 2), times: 1, exemplar: nil, nowMs: 0, settings: Self.settings())
        }
        histogram.halveResolution()
        // ceil(i/2): −3 → −1, −2 → −1, −1 → 0, 0 → 0, 1 → 1.
        #expect(
            histogram.positive == [.init(index: -1, count: 2), .init(index: 0, count: 2), .init(index: 1, count: 1)]
        )
    }

    @Test func bucketsAreExportedAsSpansAndDeltasBridgingGapsOfUpToTwo() {
        var histogram = NativeHistogram(schema: 0, nowMs: 0)
        var settings = Self.settings()
        settings.bucketFactor = 2
        // Buckets 0 (×1), 1 (×3), 3 (×2), 10 (×5): a gap of one is bridged, a gap of six starts a span.
        for (power, times) in [(0, 1), (1, 3), (3, 2), (10, 5)] {
            histogram.observe(exp2(Double(power)), times: UInt64(times), exemplar: nil, nowMs: 0, settings: settings)
        }
        var sample = NativeHistogramSample(schema: 0, zeroThreshold: 0, timestampMs: 0)
        histogram.export(timestampMs: 42, into: &sample)
        #expect(sample.positiveSpans == [.init(offset: 0, length: 4), .init(offset: 6, length: 1)])
        #expect(sample.positiveDeltas == [1, 2, -3, 2, 3])
        #expect(sample.negativeSpans.isEmpty && sample.count == 11 && sample.timestampMs == 42)
        #expect(
            NativeHistogramSample.buckets(spans: sample.positiveSpans, deltas: sample.positiveDeltas).map(\.count)
                == [1, 3, 0, 2, 5]
        )
    }

    @Test func aFractionalMultiplierIsObservedRoundedUpAsTempoDoes() {
        #expect(LatencyHistogram.observations(1.5) == 2)
        #expect(LatencyHistogram.observations(0.3) == 1)
        #expect(LatencyHistogram.observations(3) == 3)
        #expect(LatencyHistogram.observations(0) == 0 && LatencyHistogram.observations(-.infinity) == 0)
        #expect(LatencyHistogram.observations(.nan) == 0)
        #expect(LatencyHistogram.observations(1e300) == 1 << 40)
    }

    // MARK: - Through the generator

    private static func generator(_ mode: NativeHistogramSettings.Mode, maxActiveSeries: Int = 0) -> Generator {
        Fixtures.generator {
            $0.nativeHistograms.mode = mode
            $0.limits.maxActiveSeries = maxActiveSeries
        }
    }

    private static func batch(durations: [UInt64], multiplier: Double? = nil) -> SpanBatch {
        let attributes =
            multiplier.map { ratio in
                [
                    OTLPFixtures.KeyValue.with {
                        $0.key = "ratio"; $0.value.doubleValue = ratio
                    }
                ]
            } ?? []
        let spans = durations.enumerated().map { index, nanos in
            OTLPFixtures.span(
                name: "op",
                kind: .client,
                seed: index + 1,
                nowNanos: Fixtures.nowNanos,
                durationNanos: nanos,
                attributes: attributes
            )
        }
        return Fixtures.batch([OTLPFixtures.resourceSpans([OTLPFixtures.attribute("service.name", "svc")], spans)])
    }

    @Test func nativeModeWritesOneSeriesWithItsExemplarsAndNoClassicSeries() throws {
        let generator = Self.generator(.native)
        _ = generator.push(Self.batch(durations: [250_000_000, 1_000_000_000, 1_000_000_000]), nowMs: Fixtures.nowMs)
        let sink = Fixtures.collect(generator)
        #expect(sink.find("traces_spanmetrics_latency_bucket").isEmpty)
        #expect(sink.find("traces_spanmetrics_latency_count").isEmpty)
        let series = try #require(sink.histograms("traces_spanmetrics_latency", ["span_name": "op"]).first)
        let zeroMs = (Fixtures.nowMs / 60_000) * 60_000 - 1_000
        #expect(series.histograms.map(\.timestampMs) == [zeroMs, Fixtures.nowMs])
        #expect(series.histograms[0].count == 0 && series.histograms[0].positiveSpans.isEmpty)
        let histogram = series.histograms[1]
        #expect(histogram.count == 3 && histogram.sum == 2.25 && histogram.schema == 3)
        // 0.25 = 2^-2 → bucket −16; 1 → bucket 0.
        #expect(
            NativeHistogramSample.buckets(spans: histogram.positiveSpans, deltas: histogram.positiveDeltas).map {
                [$0.index, Int32($0.count)]
            } == [[-16, 1], [0, 2]]
        )
        // Up to 10 exemplars, sorted by value, emitted once.
        #expect(series.exemplars.map(\.value) == [0.25, 1, 1])
        #expect(series.exemplars.allSatisfy { $0.timestampMs == Fixtures.nowMs })
        let next = Fixtures.collect(generator, at: Fixtures.nowMs + 15_000)
        let again = try #require(next.histograms("traces_spanmetrics_latency").first)
        #expect(again.histograms.map(\.count) == [3] && again.exemplars.isEmpty)
        // Series cost: 1 per native histogram, 2 for the counters.
        #expect(generator.limiter.statistics.active == 3)
    }

    @Test func bothModeWritesClassicAndNativeSeriesThatAgree() throws {
        let generator = Self.generator(.both)
        _ = generator.push(Self.batch(durations: [250_000_000, 1_000_000_000]), nowMs: Fixtures.nowMs)
        let sink = Fixtures.collect(generator)
        let native = try #require(sink.histograms("traces_spanmetrics_latency").first?.histograms.last)
        #expect(sink.value("traces_spanmetrics_latency_count") == Double(native.count))
        #expect(sink.value("traces_spanmetrics_latency_sum") == native.sum)
        #expect(sink.histograms("traces_spanmetrics_latency").first?.exemplars.isEmpty == true)
        #expect(!sink.find("traces_spanmetrics_latency_bucket").compactMap(\.exemplar).isEmpty)
        // Classic 2 + 2 buckets + 1, native + 1, and the two counters.
        #expect(generator.limiter.statistics.active == 5 + 1 + 2)
    }

    @Test func weightedSpansCountCeilOfTheMultiplierInTheNativeHistogram() throws {
        let generator = Fixtures.generator {
            $0.nativeHistograms.mode = .both
            $0.spanMetrics.spanMultiplierKey = "ratio"
        }
        // A sampling ratio of 0.4 weighs the span 2.5.
        _ = generator.push(Self.batch(durations: [1_000_000_000], multiplier: 0.4), nowMs: Fixtures.nowMs)
        let sink = Fixtures.collect(generator)
        #expect(sink.value("traces_spanmetrics_latency_count") == 2.5)
        let native = try #require(sink.histograms("traces_spanmetrics_latency").first?.histograms.last)
        #expect(native.count == 3 && native.sum == 3)
    }

    @Test func collectionReportsTheBucketLimitsHalvingsAndResets() {
        let generator = Fixtures.generator {
            $0.nativeHistograms.mode = .native
            $0.nativeHistograms.maxBucketNumber = 4
            $0.nativeHistograms.minResetDurationMs = 60_000
        }
        // Six latencies a factor 2 apart: six buckets at schema 3, past the limit of 4 at the 5th and the 6th.
        let durations: [UInt64] = (0..<6).map { 1_000_000 << $0 }
        func spans(_ name: String, _ durations: [UInt64]) -> SpanBatch {
            let spans = durations.enumerated().map { index, nanos in
                OTLPFixtures.span(
                    name: name,
                    kind: .client,
                    seed: index + 1,
                    nowNanos: Fixtures.nowNanos,
                    durationNanos: nanos
                )
            }
            return Fixtures.batch([OTLPFixtures.resourceSpans([OTLPFixtures.attribute("service.name", "svc")], spans)])
        }
        _ = generator.push(spans("early", durations), nowMs: Fixtures.nowMs)
        _ = generator.push(spans("late", [durations[0]]), nowMs: Fixtures.nowMs)
        var sink = CapturingSink()
        var result = generator.collect(.collect, timestampMs: Fixtures.nowMs, into: &sink)
        #expect(result.nativeBucketLimitHalvings >= 1 && result.nativeBucketLimitResets == 0)
        // Counted once: the next collection reports only what happened since.
        result = generator.collect(.collect, timestampMs: Fixtures.nowMs + 1_000, into: &sink)
        #expect(result.nativeBucketLimitHalvings == 0 && result.nativeBucketLimitResets == 0)
        // Past the minimum reset duration, a histogram that passes the limit starts over (once) instead.
        let later = Fixtures.nowMs + 61_000
        _ = generator.push(spans("late", Array(durations.dropFirst())), nowMs: later)
        result = generator.collect(.collect, timestampMs: later, into: &sink)
        #expect(result.nativeBucketLimitResets == 1 && result.nativeBucketLimitHalvings == 0)
    }

    @Test func aSpanEndingBeforeItStartsObservesZero() throws {
        let generator = Self.generator(.native)
        var span = OTLPFixtures.span(name: "op", nowNanos: Fixtures.nowNanos)
        span.endTimeUnixNano = span.startTimeUnixNano - 5
        _ = generator.push(
            Fixtures.batch([OTLPFixtures.resourceSpans([OTLPFixtures.attribute("service.name", "svc")], [span])]),
            nowMs: Fixtures.nowMs
        )
        let native = try #require(Fixtures.collect(generator).histograms("traces_spanmetrics_latency").first)
        #expect(native.histograms.last?.zeroCount == 1 && native.histograms.last?.positiveSpans.isEmpty == true)
    }

    @Test func theOverflowSeriesGathersNativeObservationsToo() throws {
        // Limit 3: the first label set (2 counters + 1 native) fits, the second overflows.
        let generator = Self.generator(.native, maxActiveSeries: 3)
        _ = generator.push(Self.batch(durations: [1_000_000_000]), nowMs: Fixtures.nowMs)
        let other = OTLPFixtures.span(name: "other", nowNanos: Fixtures.nowNanos, durationNanos: 500_000_000)
        _ = generator.push(
            Fixtures.batch([OTLPFixtures.resourceSpans([OTLPFixtures.attribute("service.name", "svc")], [other])]),
            nowMs: Fixtures.nowMs
        )
        let sink = Fixtures.collect(generator)
        let overflow = try #require(sink.histograms("traces_spanmetrics_latency", ["metric_overflow": "true"]).first)
        #expect(overflow.histograms.last?.count == 1 && overflow.histograms.last?.sum == 0.5)
        #expect(overflow.exemplars.isEmpty)
    }

    @Test func nativeStateSurvivesACheckpoint() throws {
        let original = Self.generator(.native, maxActiveSeries: 3)
        _ = original.push(Self.batch(durations: [250_000_000, 1_000_000_000]), nowMs: Fixtures.nowMs)
        let other = OTLPFixtures.span(name: "other", nowNanos: Fixtures.nowNanos, durationNanos: 500_000_000)
        _ = original.push(
            Fixtures.batch([OTLPFixtures.resourceSpans([OTLPFixtures.attribute("service.name", "svc")], [other])]),
            nowMs: Fixtures.nowMs
        )
        _ = Fixtures.collect(original)
        let restored = Self.generator(.native, maxActiveSeries: 3)
        #expect(restored.restore(Fixtures.checkpoint(original).decoded, nowMs: Fixtures.nowMs) == ["span-metrics"])
        _ = restored.push(Self.batch(durations: [1_000_000_000]), nowMs: Fixtures.nowMs + 1_000)
        let sink = Fixtures.collect(restored, at: Fixtures.nowMs + 15_000)
        let series = try #require(sink.histograms("traces_spanmetrics_latency", ["span_name": "op"]).first)
        // No second empty histogram, and the counts continue.
        #expect(series.histograms.map(\.count) == [3])
        #expect(series.histograms[0].sum == 2.25)
        let overflow = try #require(sink.histograms("traces_spanmetrics_latency", ["metric_overflow": "true"]).first)
        #expect(overflow.histograms.map(\.count) == [1])
        // Another schema is another shape: not loaded.
        let coarser = Fixtures.generator {
            $0.nativeHistograms.mode = .native
            $0.nativeHistograms.bucketFactor = 2
        }
        #expect(coarser.restore(Fixtures.checkpoint(original).decoded, nowMs: Fixtures.nowMs).isEmpty)
    }
}
