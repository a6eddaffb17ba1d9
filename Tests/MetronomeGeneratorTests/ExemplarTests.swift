import Foundation
import MetronomeWire
import OTLPProto
import SwiftProtobuf
import Testing

@testable import MetronomeGenerator

/// Spec §2.9, §5.3 and §9.5 Test_histogram: the latest exemplar per bucket, emitted once.
struct ExemplarTests {
    private func span(_ seconds: Double, trace: Data) -> OTLPFixtures.Span {
        var span = OTLPFixtures.span(name: "e", nowNanos: Fixtures.nowNanos, durationNanos: UInt64(seconds * 1e9))
        span.traceID = trace
        return span
    }

    private func trace(_ bytes: [UInt8]) -> Data { Data(repeating: 0, count: 16 - bytes.count) + Data(bytes) }

    @Test func latestObservationPerBucketBecomesItsExemplarOnce() {
        let generator = Fixtures.generator(buckets: [1, 2])
        let spans = [
            span(1.0, trace: trace([0x01])), span(1.5, trace: trace([0x0a, 0xbc])),
            span(1.8, trace: trace([0x0d, 0xef])),
            span(2.5, trace: trace([0xff])),
        ]
        _ = generator.push(Fixtures.batch([OTLPFixtures.resourceSpans([], spans)]), nowMs: Fixtures.nowMs)
        let sink = Fixtures.collect(generator)
        func exemplar(_ le: String) -> (String, String, Double, Int64)? {
            guard let found = sink.find("traces_spanmetrics_latency_bucket", ["le": le]).first?.exemplar else {
                return nil
            }
            return (found.label, found.traceID, found.value, found.timestampMs)
        }
        #expect(exemplar("1").map { [$0.0, $0.1] } == ["traceID", "1"])
        #expect(exemplar("1")?.2 == 1.0)
        // The latest of two observations in (1, 2] wins; leading zeros are stripped from the hex.
        #expect(exemplar("2")?.1 == "def")
        #expect(exemplar("2")?.2 == 1.8)
        #expect(exemplar("+Inf")?.1 == "ff")
        #expect(exemplar("2")?.3 == Fixtures.nowMs)
        // Counters, sums and counts carry none.
        #expect(sink.series.filter { $0.labels["le"] == nil }.allSatisfy { $0.exemplar == nil })

        let again = Fixtures.collect(generator, at: Fixtures.nowMs + 15_000)
        #expect(again.series.allSatisfy { $0.exemplar == nil })
    }

    @Test func anAllZeroTraceIDGivesNoExemplar() {
        let generator = Fixtures.generator(buckets: [1, 2])
        _ = generator.push(
            Fixtures.batch([OTLPFixtures.resourceSpans([], [span(1, trace: Data(count: 16))])]),
            nowMs: Fixtures.nowMs
        )
        #expect(Fixtures.collect(generator).series.allSatisfy { $0.exemplar == nil })
    }

    @Test func theLabelNameIsConfigurable() {
        let generator = Fixtures.generator(buckets: [1]) { $0.registry.traceIDLabelName = "trace_id" }
        _ = generator.push(
            Fixtures.batch([OTLPFixtures.resourceSpans([], [span(0.5, trace: trace([0x12, 0x34]))])]),
            nowMs: Fixtures.nowMs
        )
        let bucket = Fixtures.collect(generator).find("traces_spanmetrics_latency_bucket", ["le": "1"]).first
        #expect(bucket?.exemplar?.label == "trace_id")
        #expect(bucket?.exemplar?.traceID == "1234")
    }

    @Test func snapshotsDoNotConsumeExemplars() {
        let generator = Fixtures.generator(buckets: [1])
        _ = generator.push(
            Fixtures.batch([OTLPFixtures.resourceSpans([], [span(0.5, trace: trace([0x12]))])]),
            nowMs: Fixtures.nowMs
        )
        var snapshot = CapturingSink()
        _ = generator.collect(.snapshot, timestampMs: Fixtures.nowMs, into: &snapshot)
        #expect(
            Fixtures.collect(generator).find("traces_spanmetrics_latency_bucket", ["le": "1"]).first?.exemplar?.traceID
                == "12"
        )
    }
}
