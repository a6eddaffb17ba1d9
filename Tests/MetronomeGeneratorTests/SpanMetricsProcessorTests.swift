import MetronomeWire
import OTLPProto
import SwiftProtobuf
import Testing

@testable import MetronomeGenerator

/// Spec §9.1: the span-metrics cases that apply to the intrinsic dimensions.
struct SpanMetricsProcessorTests {
    let labels = [
        "service": "test-service", "span_name": "test", "span_kind": "SPAN_KIND_CLIENT",
        "status_code": "STATUS_CODE_OK",
    ]

    @Test func tempoTestSpanMetricsCountsCallsLatencyAndSize() {
        let generator = Fixtures.generator()
        let batch = Fixtures.makeBatch(10)
        _ = generator.push(batch, nowMs: Fixtures.nowMs)
        let sink = Fixtures.collect(generator)
        #expect(sink.value("traces_spanmetrics_calls_total", labels) == 10)
        #expect(sink.value("traces_spanmetrics_latency_bucket", labels.merging(["le": "0.5"]) { $1 }) == 0)
        #expect(sink.value("traces_spanmetrics_latency_bucket", labels.merging(["le": "1"]) { $1 }) == 10)
        #expect(sink.value("traces_spanmetrics_latency_bucket", labels.merging(["le": "+Inf"]) { $1 }) == 10)
        #expect(sink.value("traces_spanmetrics_latency_count", labels) == 10)
        #expect(sink.value("traces_spanmetrics_latency_sum", labels) == 10)
        let sizes = batch.spans.reduce(0) { $0 + Double($1.encodedSize) }
        #expect(sink.value("traces_spanmetrics_size_total", labels) == sizes)
        // One label set: 1 calls + 1 size + (2 buckets + 3) latency series.
        #expect(sink.series.count == 7)
    }

    @Test func statusMessageIsALabelOnlyWhenEnabled() {
        let off = Fixtures.generator()
        _ = off.push(Fixtures.makeBatch(1), nowMs: Fixtures.nowMs)
        #expect(Fixtures.collect(off).series.allSatisfy { $0.labels["status_message"] == nil })

        let on = Fixtures.generator { $0.spanMetrics.intrinsicDimensions.statusMessage = true }
        _ = on.push(Fixtures.makeBatch(3), nowMs: Fixtures.nowMs)
        #expect(Fixtures.collect(on).value("traces_spanmetrics_calls_total", ["status_message": "OK"]) == 3)
    }

    @Test func disabledIntrinsicsAreAbsentAndMergeSeries() {
        let generator = Fixtures.generator { $0.spanMetrics.intrinsicDimensions.spanName = false }
        _ = generator.push(Fixtures.makeBatch(2), nowMs: Fixtures.nowMs)
        _ = generator.push(
            Fixtures.batch([
                OTLPFixtures.resourceSpans(
                    [OTLPFixtures.attribute("service.name", "test-service")],
                    [OTLPFixtures.span(name: "other", kind: .client, status: .ok, nowNanos: Fixtures.nowNanos)]
                )
            ]),
            nowMs: Fixtures.nowMs
        )
        let calls = Fixtures.collect(generator).find("traces_spanmetrics_calls_total")
        #expect(calls.count == 1)
        #expect(calls.first?.labels["span_name"] == nil)
        #expect(calls.first?.samples.last?.value == 3)
    }

    @Test func tempoTestSpanMetricsNegativeLatencyObservesZero() {
        // Empty resource; span with start 1, end 0, no name, kind or status.
        var span = OTLPFixtures.Span()
        span.traceID = OTLPFixtures.ids(1).trace
        span.spanID = OTLPFixtures.ids(1).span
        span.startTimeUnixNano = 1
        span.endTimeUnixNano = 0
        let generator = Fixtures.generator()
        _ = generator.push(Fixtures.batch([OTLPFixtures.resourceSpans([], [span])]), nowMs: Fixtures.nowMs)
        let sink = Fixtures.collect(generator)
        let expected = ["span_kind": "SPAN_KIND_UNSPECIFIED", "status_code": "STATUS_CODE_UNSET"]
        let calls = sink.find("traces_spanmetrics_calls_total")
        #expect(calls.count == 1)
        #expect(calls.first?.labels.filter { $0.key != "__name__" && $0.key != "__metrics_gen_instance" } == expected)
        #expect(calls.first?.samples.last?.value == 1)
        for bound in ["0.5", "1", "+Inf"] {
            #expect(sink.value("traces_spanmetrics_latency_bucket", ["le": bound]) == 1)
        }
        #expect(sink.value("traces_spanmetrics_latency_count") == 1)
        #expect(sink.value("traces_spanmetrics_latency_sum") == 0)
    }

    @Test func tempoTestEnumStringsMatchProtoNames() {
        let kinds: [OTLPFixtures.Span.SpanKind] = [
            .unspecified, .internal, .server, .client, .producer, .consumer, .UNRECOGNIZED(9),
        ]
        let statuses: [Opentelemetry_Proto_Trace_V1_Status.StatusCode] = [.unset, .ok, .error, .UNRECOGNIZED(7)]
        var spans: [OTLPFixtures.Span] = []
        for (index, kind) in kinds.enumerated() {
            spans.append(
                OTLPFixtures.span(
                    name: "k",
                    kind: kind,
                    status: statuses[index % statuses.count],
                    seed: index,
                    nowNanos: Fixtures.nowNanos
                )
            )
        }
        let generator = Fixtures.generator()
        _ = generator.push(Fixtures.batch([OTLPFixtures.resourceSpans([], spans)]), nowMs: Fixtures.nowMs)
        let calls = Fixtures.collect(generator).find("traces_spanmetrics_calls_total")
        #expect(
            Set(calls.compactMap { $0.labels["span_kind"] }) == [
                "SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT",
                "SPAN_KIND_PRODUCER",
                "SPAN_KIND_CONSUMER", "9",
            ]
        )
        #expect(
            Set(calls.compactMap { $0.labels["status_code"] }) == [
                "STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR", "7",
            ]
        )
    }

    @Test func serviceNameIsTheFirstOccurrenceStringified() {
        let attributes = [
            OTLPFixtures.KeyValue.with {
                $0.key = "service.name"; $0.value.intValue = 42
            },
            OTLPFixtures.attribute("service.name", "second"),
        ]
        let generator = Fixtures.generator()
        _ = generator.push(
            Fixtures.batch([
                OTLPFixtures.resourceSpans(attributes, [OTLPFixtures.span(name: "a", nowNanos: Fixtures.nowNanos)])
            ]),
            nowMs: Fixtures.nowMs
        )
        #expect(Fixtures.collect(generator).value("traces_spanmetrics_calls_total", ["service": "42"]) == 1)
    }

    @Test func invalidUTF8SpanNamesAreDroppedAndCountedWithoutLosingValidSpans() {
        var bad = OTLPFixtures.span(name: "x", seed: 1, nowNanos: Fixtures.nowNanos)
        // Replace the name with invalid UTF-8 by editing the serialized bytes: SwiftProtobuf strings must be valid.
        let good = OTLPFixtures.span(name: "fine", seed: 2, nowNanos: Fixtures.nowNanos)
        bad.name = "\u{FFFF}"  // three bytes EF BF BF, rewritten below to FF FF FF
        var request = Array(
            try! OTLPFixtures.Request.with {
                $0.resourceSpans = [OTLPFixtures.resourceSpans([], [bad, good])]
            }.serializedData()
        )
        let marker: [UInt8] = [0xEF, 0xBF, 0xBF]
        let position = (0...(request.count - 3)).first { Array(request[$0..<($0 + 3)]) == marker }!
        request.replaceSubrange(position..<(position + 3), with: [0xFF, 0xFF, 0xFF])
        let generator = Fixtures.generator()
        let result = generator.push(try! SpanBatch(protobuf: request), nowMs: Fixtures.nowMs)
        #expect(result.spanMetricsInvalidUTF8 == 1)
        let calls = Fixtures.collect(generator).find("traces_spanmetrics_calls_total")
        #expect(calls.map { $0.labels["span_name"] } == ["fine"])
    }

    @Test func labelValuesAreCutOnACharacterBoundary() {
        let generator = Fixtures.generator { $0.registry.maxLabelValueLength = 5 }
        // "héllo wörld": h(1) é(2) l l → 5 bytes "héll"; a cut at 3 bytes would also keep "hé".
        _ = generator.push(
            Fixtures.batch([
                OTLPFixtures.resourceSpans(
                    [OTLPFixtures.attribute("service.name", "aaaaé")],
                    [OTLPFixtures.span(name: "héllo wörld", nowNanos: Fixtures.nowNanos)]
                )
            ]),
            nowMs: Fixtures.nowMs
        )
        let calls = Fixtures.collect(generator).find("traces_spanmetrics_calls_total")
        #expect(calls.first?.labels["span_name"] == "héll")
        // "aaaaé" is 6 bytes: the cut falls inside é, so it steps back to "aaaa".
        #expect(calls.first?.labels["service"] == "aaaa")
    }

    @Test func customBucketsAreSortedAndFormatted() {
        let generator = Fixtures.generator(buckets: [5, 0.5, 2, 1])
        _ = generator.push(Fixtures.makeBatch(1), nowMs: Fixtures.nowMs)
        let bounds = Fixtures.collect(generator).find("traces_spanmetrics_latency_bucket").compactMap {
            $0.labels["le"]
        }
        #expect(bounds == ["0.5", "1", "2", "5", "+Inf"])
    }

    @Test func everyDistinctSpanNameIsItsOwnSeries() {
        let spans = (0..<5000).map { OTLPFixtures.span(name: "op-\($0)", seed: $0, nowNanos: Fixtures.nowNanos) }
        let generator = Fixtures.generator()
        _ = generator.push(Fixtures.batch([OTLPFixtures.resourceSpans([], spans)]), nowMs: Fixtures.nowMs)
        _ = generator.push(Fixtures.batch([OTLPFixtures.resourceSpans([], spans)]), nowMs: Fixtures.nowMs)
        let calls = Fixtures.collect(generator).find("traces_spanmetrics_calls_total")
        #expect(calls.count == 5000)
        #expect(calls.allSatisfy { $0.samples.last?.value == 2 })
        #expect(Set(calls.compactMap { $0.labels["span_name"] }).count == 5000)
    }
}

/// Spec §2.1 and §9.6: the span-metrics sub-processors.
struct SpanMetricsSubprocessorTests {
    private func families(_ processors: [String]) -> Set<String> {
        let generator = Fixtures.generator(buckets: [0.5, 1]) { $0.processors = processors }
        _ = generator.push(Fixtures.makeBatch(2), nowMs: Fixtures.nowMs)
        return Set(Fixtures.collect(generator).series.compactMap { $0.labels["__name__"] })
    }

    static let latency: Set<String> = [
        "traces_spanmetrics_latency_bucket", "traces_spanmetrics_latency_sum", "traces_spanmetrics_latency_count",
    ]

    @Test func eachSubprocessorEnablesItsMetricOnly() {
        #expect(families(["span-metrics-count"]) == ["traces_spanmetrics_calls_total"])
        #expect(families(["span-metrics-size"]) == ["traces_spanmetrics_size_total"])
        #expect(families(["span-metrics-latency"]) == Self.latency)
        #expect(
            families(["span-metrics-count", "span-metrics-size"]) == [
                "traces_spanmetrics_calls_total", "traces_spanmetrics_size_total",
            ]
        )
    }

    @Test func bareSpanMetricsOrAllThreeEnableEverything() {
        let all = Self.latency.union(["traces_spanmetrics_calls_total", "traces_spanmetrics_size_total"])
        #expect(families(["span-metrics"]) == all)
        #expect(families(["span-metrics-count", "span-metrics-latency", "span-metrics-size"]) == all)
        #expect(families(["span-metrics", "span-metrics-count"]) == all)
    }

    @Test func noneOrMixedCaseNamesEnableNothing() {
        #expect(families([]).isEmpty)
        #expect(families(["Span-Metrics-Count", "service-graphs"]).isEmpty)
    }

    @Test func configuredBucketsApplyInSubprocessorMode() {
        // Deliberate deviation from Tempo, which forces its default buckets here.
        let generator = Fixtures.generator(buckets: [0.5, 1]) { $0.processors = ["span-metrics-latency"] }
        _ = generator.push(Fixtures.makeBatch(1), nowMs: Fixtures.nowMs)
        let bounds = Fixtures.collect(generator).find("traces_spanmetrics_latency_bucket").compactMap {
            $0.labels["le"]
        }
        #expect(bounds == ["0.5", "1", "+Inf"])
    }
}
