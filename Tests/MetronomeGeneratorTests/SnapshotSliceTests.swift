import MetronomeWire
import OTLPProto
import Testing

@testable import MetronomeGenerator

struct SnapshotSliceTests {
    @Test func theSlicesFamilyByFamilyHoldExactlyTheSnapshotsLines() {
        let generator = Fixtures.generator {
            $0.processors = [SpanMetricsProcessor.name, "service-graphs"]
            $0.spanMetrics.enableTargetInfo = true
        }
        let spans = (0..<300).map { index in
            OTLPFixtures.span(name: "op-\(index)", kind: .server, seed: index, nowNanos: Fixtures.nowNanos)
        }
        _ = generator.push(
            Fixtures.batch([OTLPFixtures.resourceSpans([OTLPFixtures.attribute("service.name", "s")], spans)]),
            nowMs: Fixtures.nowMs
        )
        var whole = PrometheusTextEncoder()
        _ = generator.collect(.snapshot, timestampMs: 0, into: &whole)
        let expected = Set(String(decoding: whole.render(typeLines: false), as: UTF8.self).split(separator: "\n"))

        var sliced: [Substring] = []
        for family in generator.families {
            for slice in 0..<Generator.snapshotSlices {
                var encoder = PrometheusTextEncoder(onlyFamily: family.name)
                generator.snapshot(slice: slice, into: &encoder)
                sliced += String(decoding: encoder.render(typeLines: false), as: UTF8.self).split(separator: "\n")
            }
        }
        #expect(expected.count > 300 * 5)
        #expect(sliced.count == expected.count)
        #expect(Set(sliced) == expected)
        #expect(generator.families.map(\.name).contains("traces_target_info"))
    }
}
