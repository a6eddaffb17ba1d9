import Foundation
import MetronomeWire
import OTLPProto
import SwiftProtobuf

@testable import MetronomeGenerator

/// A series as collected: labels by name and its samples.
struct CollectedSeries: Equatable, CustomStringConvertible {
    var labels: [String: String]
    var samples: [Sample]
    /// Label names in the order the sink received them.
    var labelOrder: [String]
    /// The exemplar's label value, value and time, if the series had one.
    var exemplar: (label: String, traceID: String, value: Double, timestampMs: Int64)? = nil

    static func == (lhs: CollectedSeries, rhs: CollectedSeries) -> Bool {
        lhs.labels == rhs.labels && lhs.samples == rhs.samples && lhs.labelOrder == rhs.labelOrder
    }

    var description: String { "\(labels) \(samples.map { "\($0.value)@\($0.timestampMs)" })" }
}

/// A native-histogram series as collected.
struct CollectedHistogramSeries {
    var labels: [String: String]
    var histograms: [NativeHistogramSample]
    /// (trace id, value, time) of each exemplar, in the order given.
    var exemplars: [(traceID: String, value: Double, timestampMs: Int64)]
}

/// A sink that keeps everything it is given, for assertions.
struct CapturingSink: SampleSink {
    var series: [CollectedSeries] = []
    var histogramSeries: [CollectedHistogramSeries] = []

    mutating func appendHistogram(
        family: String,
        labels: UnsafeBufferPointer<LabelRef>,
        histograms: UnsafeBufferPointer<NativeHistogramSample>,
        exemplars: UnsafeBufferPointer<ExemplarRef>
    ) {
        let pairs = labels.map {
            (String(decoding: $0.name, as: UTF8.self), String(decoding: $0.value, as: UTF8.self))
        }
        histogramSeries.append(
            CollectedHistogramSeries(
                labels: Dictionary(uniqueKeysWithValues: pairs),
                histograms: Array(histograms),
                exemplars: exemplars.map { (String(decoding: $0.labelValue, as: UTF8.self), $0.value, $0.timestampMs) }
            )
        )
    }

    /// The native-histogram series named `name` whose labels include all of `matching`.
    func histograms(_ name: String, _ matching: [String: String] = [:]) -> [CollectedHistogramSeries] {
        histogramSeries.filter { series in
            series.labels["__name__"] == name && matching.allSatisfy { series.labels[$0.key] == $0.value }
        }
    }

    mutating func append(
        family: String,
        type: MetricType,
        labels: UnsafeBufferPointer<LabelRef>,
        samples: UnsafeBufferPointer<Sample>,
        exemplar: ExemplarRef?
    ) {
        let pairs = labels.map {
            (String(decoding: $0.name, as: UTF8.self), String(decoding: $0.value, as: UTF8.self))
        }
        var collected = CollectedSeries(
            labels: Dictionary(uniqueKeysWithValues: pairs),
            samples: Array(samples),
            labelOrder: pairs.map(\.0)
        )
        if let exemplar {
            collected.exemplar = (
                String(decoding: exemplar.labelName, as: UTF8.self),
                String(decoding: exemplar.labelValue, as: UTF8.self),
                exemplar.value, exemplar.timestampMs
            )
        }
        series.append(collected)
    }

    /// The series with `__name__` equal to `name` whose labels include all of `matching`.
    func find(_ name: String, _ matching: [String: String] = [:]) -> [CollectedSeries] {
        series.filter { series in
            series.labels["__name__"] == name && matching.allSatisfy { series.labels[$0.key] == $0.value }
        }
    }

    /// The last sample value of the single series matching, or nil when there is not exactly one.
    func value(_ name: String, _ matching: [String: String] = [:]) -> Double? {
        let found = find(name, matching)
        return found.count == 1 ? found[0].samples.last?.value : nil
    }
}

enum Fixtures {
    static let nowNanos: UInt64 = 1_700_000_012_345_000_000
    static let nowMs = Int64(nowNanos / 1_000_000)

    /// Tempo's `MakeBatch(n)`: one resource (`service.name=test-service` and a random attribute), n CLIENT spans named
    /// `test`, status OK with message `OK`, lasting exactly 1 s.
    static func makeBatch(
        _ count: Int,
        service: String = "test-service",
        resourceAttributes: [OTLPFixtures.KeyValue] = [],
        spanAttributes: [OTLPFixtures.KeyValue] = []
    ) -> SpanBatch {
        let spans = (0..<count).map {
            OTLPFixtures.span(
                name: "test",
                kind: .client,
                status: .ok,
                message: "OK",
                seed: $0,
                nowNanos: nowNanos,
                attributes: spanAttributes
            )
        }
        let resource = [
            OTLPFixtures.attribute("service.name", service), OTLPFixtures.attribute("random.res.attr", "\(UUID())"),
        ]
        return batch([OTLPFixtures.resourceSpans(resource + resourceAttributes, spans)])
    }

    static func batch(_ resourceSpans: [OTLPFixtures.ResourceSpans]) -> SpanBatch {
        let request = OTLPFixtures.Request.with { $0.resourceSpans = resourceSpans }
        return try! SpanBatch(protobuf: Array(try! request.serializedData()))
    }

    static func generator(
        buckets: [Double] = [0.5, 1],
        configure: (inout Generator.Configuration) -> Void = { _ in }
    ) -> Generator {
        var configuration = Generator.Configuration()
        configuration.processors = [SpanMetricsProcessor.name]
        configuration.registry.instanceLabel = "test-host"
        configuration.spanMetrics.histogramBuckets = buckets
        configure(&configuration)
        return Generator(tenant: .singleTenant, configuration: configuration)
    }

    /// The checkpoint file's bytes for `generator`, and the checkpoint they decode to.
    static func checkpoint(_ generator: Generator) -> (bytes: [UInt8], decoded: Checkpoint) {
        var bytes: [UInt8] = []
        generator.encodeCheckpoint { bytes += $0 }
        return (bytes, try! Checkpoint(decoding: bytes))
    }

    static func collect(_ generator: Generator, at timestampMs: Int64 = nowMs) -> CapturingSink {
        var sink = CapturingSink()
        _ = generator.collect(.collect, timestampMs: timestampMs, into: &sink)
        return sink
    }
}

extension ProcessorReport {
    /// Spans span metrics' filter policies rejected.
    var spanMetricsFiltered: Int { discarded(by: SpanMetricsProcessor.name, "span_metrics_filtered") }
    /// Spans span metrics dropped for a label value that is not valid UTF-8.
    var spanMetricsInvalidUTF8: Int { discarded(by: SpanMetricsProcessor.name, "invalid_utf8") }
    /// Spans span metrics counted in the overflow series.
    var spanMetricsOverflowed: Int { overflowed[SpanMetricsProcessor.name] ?? 0 }
}
