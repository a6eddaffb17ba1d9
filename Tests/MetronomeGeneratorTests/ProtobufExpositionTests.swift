import MetronomeWire
import OTLPProto
import SwiftProtobuf
import Testing

@testable import MetronomeGenerator

/// The protobuf exposition of `/metrics/generated`, decoded by SwiftProtobuf from `scripts/metrics.proto`.
struct ProtobufExpositionTests {
    private typealias Family = Io_Prometheus_Client_MetricFamily

    private static let scrapeMs = Fixtures.nowMs + 1_000

    private static func generator(_ mode: NativeHistogramSettings.Mode) -> Generator {
        let generator = Fixtures.generator { $0.nativeHistograms.mode = mode }
        let spans = [250_000_000, 1_000_000_000, 1_000_000_000].enumerated().map { index, nanos in
            OTLPFixtures.span(
                name: "op",
                kind: .client,
                seed: index + 1,
                nowNanos: Fixtures.nowNanos,
                durationNanos: UInt64(nanos)
            )
        }
        let other = OTLPFixtures.span(name: "other", kind: .client, seed: 9, nowNanos: Fixtures.nowNanos)
        _ = generator.push(
            Fixtures.batch([
                OTLPFixtures.resourceSpans([OTLPFixtures.attribute("service.name", "svc")], spans + [other])
            ]),
            nowMs: Fixtures.nowMs
        )
        return generator
    }

    /// What a scrape returns: each family slice by slice, as `/metrics/generated` renders it, decoded.
    private static func scrape(_ generator: Generator) throws -> [Family] {
        var bytes: [UInt8] = []
        for family in generator.families {
            for slice in 0..<Generator.snapshotSlices {
                var encoder = PrometheusProtobufEncoder(onlyFamily: family.name)
                generator.snapshot(slice: slice, timestampMs: scrapeMs, into: &encoder)
                bytes += encoder.render()
            }
        }
        return try decodeDelimited(bytes)
    }

    private static func decodeDelimited(_ bytes: [UInt8]) throws -> [Family] {
        var families: [Family] = []
        var position = 0
        while position < bytes.count {
            var length = 0
            var shift = 0
            while true {
                let byte = bytes[position]
                position += 1
                length |= Int(byte & 0x7F) << shift
                shift += 7
                if byte < 0x80 { break }
            }
            families.append(try Family(serializedBytes: Array(bytes[position..<(position + length)])))
            position += length
        }
        return families
    }

    /// The metrics of the family named `name`, from every message of that name.
    private static func metrics(_ families: [Family], _ name: String) -> [Io_Prometheus_Client_Metric] {
        families.filter { $0.name == name }.flatMap(\.metric)
    }

    private static func metric(
        _ families: [Family],
        _ name: String,
        spanName: String
    ) throws -> Io_Prometheus_Client_Metric {
        try #require(
            metrics(families, name).first { metric in
                metric.label.contains { $0.name == "span_name" && $0.value == spanName }
            }
        )
    }

    @Test func bothModeIsOneHistogramMessageWithClassicBucketsAndNativeSpans() throws {
        let families = try Self.scrape(Self.generator(.both))
        #expect(families.filter { $0.name == "traces_spanmetrics_latency" }.allSatisfy { $0.type == .histogram })
        #expect(Self.metrics(families, "traces_spanmetrics_latency").count == 2)
        let metric = try Self.metric(families, "traces_spanmetrics_latency", spanName: "op")
        #expect(!metric.label.contains { $0.name == "__name__" || $0.name == "le" })
        #expect(metric.label.contains { $0.name == "service" && $0.value == "svc" })
        let histogram = metric.histogram
        #expect(histogram.sampleCount == 3 && histogram.sampleSum == 2.25)
        // Classic: buckets 0.5, 1 and +Inf, cumulative, each with its exemplar.
        #expect(histogram.bucket.map(\.upperBound) == [0.5, 1, .infinity])
        #expect(histogram.bucket.map(\.cumulativeCount) == [1, 3, 3])
        #expect(histogram.bucket[0].exemplar.value == 0.25)
        #expect(histogram.bucket[0].exemplar.label.map(\.name) == ["traceID"])
        #expect(histogram.bucket[0].exemplar.timestamp.seconds == Self.scrapeMs / 1000)
        // Native: schema 3; 0.25 = 2^-2 is bucket −16, 1 is bucket 0: spans (−16, 1), (15, 1), deltas 1, +1.
        #expect(histogram.schema == 3 && histogram.zeroThreshold == 0x1p-128 && histogram.zeroCount == 0)
        #expect(histogram.positiveSpan.map { [$0.offset, Int32($0.length)] } == [[-16, 1], [15, 1]])
        #expect(histogram.positiveDelta == [1, 1])
        #expect(histogram.exemplars.isEmpty)
        // The counters: one family named as the series, a COUNTER.
        let calls = try Self.metric(families, "traces_spanmetrics_calls_total", spanName: "op")
        #expect(calls.counter.value == 3)
        #expect(families.first { $0.name == "traces_spanmetrics_calls_total" }?.type == .counter)
    }

    @Test func nativeModeHasNoClassicBucketsAndCarriesItsExemplarsWithTimes() throws {
        let families = try Self.scrape(Self.generator(.native))
        let histogram = try Self.metric(families, "traces_spanmetrics_latency", spanName: "op").histogram
        #expect(histogram.bucket.isEmpty)
        #expect(histogram.sampleCount == 3 && histogram.sampleSum == 2.25 && histogram.schema == 3)
        #expect(histogram.exemplars.map(\.value) == [0.25, 1, 1])
        #expect(histogram.exemplars.allSatisfy { $0.hasTimestamp && $0.timestamp.seconds == Self.scrapeMs / 1000 })
        #expect(Self.metrics(families, "traces_spanmetrics_latency_bucket").isEmpty)
    }

    @Test func classicModeIsAClassicHistogramOnly() throws {
        let families = try Self.scrape(Self.generator(.classic))
        let histogram = try Self.metric(families, "traces_spanmetrics_latency", spanName: "other").histogram
        #expect(histogram.sampleCount == 1 && histogram.sampleSum == 1)
        #expect(histogram.bucket.map(\.cumulativeCount) == [0, 1, 1])
        // Nothing that makes a parser read it as native.
        #expect(histogram.zeroThreshold == 0 && histogram.positiveSpan.isEmpty && histogram.schema == 0)
    }

    @Test func anEmptyNativeHistogramIsMarkedByANoOpSpan() throws {
        var encoder = PrometheusProtobufEncoder()
        let name = Array("__name__".utf8)
        let value = Array("empty".utf8)
        name.withUnsafeBytes { name in
            value.withUnsafeBytes { value in
                let labels = [LabelRef(name: name, value: value)]
                let sample = NativeHistogramSample(schema: 3, zeroThreshold: 0x1p-128, timestampMs: 1)
                labels.withUnsafeBufferPointer { labels in
                    [sample].withUnsafeBufferPointer { samples in
                        encoder.appendHistogram(
                            family: "empty",
                            labels: labels,
                            histograms: samples,
                            exemplars: .init(start: nil, count: 0)
                        )
                    }
                }
            }
        }
        let families = try Self.decodeDelimited(encoder.render())
        #expect(families.map(\.name) == ["empty"] && families[0].type == .histogram)
        let histogram = families[0].metric[0].histogram
        #expect(histogram.sampleCount == 0 && histogram.positiveSpan.map(\.length) == [0])
        #expect(families[0].metric[0].label.isEmpty)
    }

    @Test func nothingToExposeRendersNothing() {
        var encoder = PrometheusProtobufEncoder(onlyFamily: "absent")
        _ = Self.generator(.both).collect(.snapshot, timestampMs: 0, into: &encoder)
        #expect(encoder.render().isEmpty)
    }
}
