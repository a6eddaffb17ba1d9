import MetronomeWire
import OTLPProto
import SwiftProtobuf
import Testing

@testable import MetronomeGenerator

/// Spec §2.5 and §9.1 cases 2, 5, 7–20, 24 and 28: traces_target_info and the job/instance labels.
struct TargetInfoTests {
    typealias Attribute = OTLPFixtures.KeyValue

    private func a(_ key: String, _ value: String) -> Attribute { OTLPFixtures.attribute(key, value) }

    private func generator(
        enabled: Bool = true,
        excluded: [String] = [],
        instanceLabel: Bool = true,
        dimensions: [String] = []
    ) -> Generator {
        Fixtures.generator {
            $0.spanMetrics.enableTargetInfo = enabled
            $0.spanMetrics.targetInfoExcludedDimensions = excluded
            $0.spanMetrics.enableInstanceLabel = instanceLabel
            $0.spanMetrics.dimensions = dimensions
        }
    }

    private func push(_ generator: Generator, _ resource: [Attribute], spans: Int = 1, spanAttributes: [Attribute] = [])
    {
        let spans = (0..<spans).map {
            OTLPFixtures.span(
                name: "test",
                kind: .client,
                seed: $0,
                nowNanos: Fixtures.nowNanos,
                attributes: spanAttributes
            )
        }
        _ = generator.push(Fixtures.batch([OTLPFixtures.resourceSpans(resource, spans)]), nowMs: Fixtures.nowMs)
    }

    /// The target_info series' labels, without `__name__` and `__metrics_gen_instance`.
    private func targetInfo(_ generator: Generator) -> [[String: String]] {
        Fixtures.collect(generator).find("traces_target_info").map { series in
            #expect(series.samples.map(\.value) == [1])
            return series.labels.filter { !["__name__", "__metrics_gen_instance"].contains($0.key) }
        }
    }

    @Test func tempoTargetInfoWithJobInstanceAndShadowedNames() {
        let generator = generator(excluded: ["random.res.attr"])
        push(
            generator,
            [
                a("service.name", "test-service"), a("random.res.attr", "x"), a("job", "dummy-job"),
                a("service.instance.id", "instance"), a("instance", "dummy-instance"),
            ],
            spans: 10
        )
        #expect(
            targetInfo(generator) == [
                ["job": "test-service", "__job": "dummy-job", "instance": "instance", "__instance": "dummy-instance"]
            ]
        )
        let sink = Fixtures.collect(generator)
        #expect(sink.value("traces_spanmetrics_calls_total", ["job": "test-service", "instance": "instance"]) == 10)
    }

    @Test func tempoJobIncludesTheNamespace() {
        let generator = generator()
        push(
            generator,
            [
                a("service.name", "test-service"), a("service.namespace", "test-namespace"),
                a("service.instance.id", "abc"),
            ]
        )
        let calls = Fixtures.collect(generator).find("traces_spanmetrics_calls_total")
        #expect(calls.first?.labels["job"] == "test-namespace/test-service")
        #expect(calls.first?.labels["instance"] == "abc")
    }

    @Test func tempoNoServiceNameMeansNoServiceOrJobLabel() {
        let generator = generator()
        push(generator, [a("service.namespace", "test-namespace")])
        let calls = Fixtures.collect(generator).find("traces_spanmetrics_calls_total")
        #expect(calls.first?.labels["service"] == nil && calls.first?.labels["job"] == nil)
        #expect(targetInfo(generator).isEmpty)
    }

    @Test func tempoTargetInfoEnabledAndDisabled() {
        let resource = [
            a("service.name", "svc"), a("service.instance.id", "i-1"), a("cluster", "eu-west-0"), a("ip", "1.1.1.1"),
        ]
        let on = generator()
        push(on, resource)
        #expect(targetInfo(on) == [["job": "svc", "instance": "i-1", "cluster": "eu-west-0", "ip": "1.1.1.1"]])
        let off = generator(enabled: false)
        push(off, resource)
        #expect(targetInfo(off).isEmpty)
        #expect(Fixtures.collect(off).series.allSatisfy { $0.labels["job"] == nil })
    }

    @Test func tempoEmptyKeysEmptyValuesDigitsAndExclusionsAreSkipped() {
        let generator = generator(excluded: ["container", "container.id"])
        push(
            generator,
            [
                a("service.name", "svc"), a("service.instance.id", "i"), a("", "no-key"), a("host.id", ""),
                a("cluster-id", "c"), a("target.ip", "t"), a("5badlabel", "x"), a("container", "k"),
                a("container.id", "k2"),
            ]
        )
        #expect(targetInfo(generator) == [["job": "svc", "instance": "i", "cluster_id": "c", "target_ip": "t"]])
    }

    @Test func tempoOnlyIdentifyingAttributesGiveNoTargetInfo() {
        let generator = generator()
        push(
            generator,
            [a("service.name", "svc"), a("service.instance.id", "i"), a("host.id", ""), a("container.id", "")]
        )
        #expect(targetInfo(generator).isEmpty)
    }

    @Test func tempoTargetInfoWithDifferentBatches() {
        let generator = generator()
        push(generator, [a("service.name", "svc")])
        push(generator, [a("service.name", "svc"), a("service.instance.id", "i"), a("cluster", "c")])
        push(generator, [a("service.name", "svc"), a("ip", "1.2.3.4")])
        let found = targetInfo(generator).sorted { $0.count > $1.count }
        #expect(found == [["job": "svc", "instance": "i", "cluster": "c"], ["job": "svc", "ip": "1.2.3.4"]])
    }

    @Test func tempoInstanceLabelOffMergesInstances() {
        let generator = generator(instanceLabel: false, dimensions: ["http.method", "foo"])
        let spanAttributes = [a("http.method", "GET"), a("foo", "bar")]
        for instance in ["one", "two"] {
            push(
                generator,
                [a("service.name", "test-service"), a("service.instance.id", instance), a("cluster", "c")],
                spans: 10,
                spanAttributes: spanAttributes
            )
        }
        #expect(targetInfo(generator) == [["job": "test-service", "cluster": "c"]])
        let sink = Fixtures.collect(generator)
        let calls = sink.find("traces_spanmetrics_calls_total")
        #expect(calls.count == 1)
        #expect(calls.first?.labels["http_method"] == "GET" && calls.first?.labels["instance"] == nil)
        #expect(calls.first?.samples.last?.value == 20)
    }

    @Test func tempoInstanceLabelOnKeepsInstancesApart() {
        let generator = generator()
        for instance in ["one", "two"] {
            push(
                generator,
                [a("service.name", "svc"), a("service.instance.id", instance), a("cluster", "c")],
                spans: 10
            )
        }
        #expect(targetInfo(generator).count == 2)
        let calls = Fixtures.collect(generator).find("traces_spanmetrics_calls_total")
        #expect(Set(calls.compactMap { $0.labels["instance"] }) == ["one", "two"])
        #expect(calls.allSatisfy { $0.samples.last?.value == 10 })
    }

    @Test func liveTargetInfoIsRefreshedByTraffic() {
        // Deliberate fix: Tempo lets a live target_info series go stale and re-creates it.
        let generator = Fixtures.generator {
            $0.spanMetrics.enableTargetInfo = true
            $0.registry.staleDurationMs = 60_000
        }
        let resource = [a("service.name", "svc"), a("cluster", "c")]
        push(generator, resource)
        _ = generator.push(
            Fixtures.batch([
                OTLPFixtures.resourceSpans(resource, [OTLPFixtures.span(name: "test", nowNanos: Fixtures.nowNanos)])
            ]),
            nowMs: Fixtures.nowMs + 50_000
        )
        let later = Fixtures.collect(generator, at: Fixtures.nowMs + 70_000)
        #expect(later.find("traces_target_info").count == 1)
        // Idle past the stale duration: emitted one last time by the run that removes it, then gone.
        _ = Fixtures.collect(generator, at: Fixtures.nowMs + 200_000)
        #expect(Fixtures.collect(generator, at: Fixtures.nowMs + 215_000).find("traces_target_info").isEmpty)
    }
}

/// Spec §9.1 case 28: invalid UTF-8 with target_info on.
struct TargetInfoInvalidUTF8Tests {
    /// A request whose bytes `\u{FFFF}` (EF BF BF) in `marker`-bearing strings are replaced by invalid FF FF FF.
    private func poisoned(_ resource: [OTLPFixtures.KeyValue], spanNames: [String]) -> SpanBatch {
        let spans = spanNames.enumerated().map {
            OTLPFixtures.span(name: $0.element, seed: $0.offset, nowNanos: Fixtures.nowNanos)
        }
        var bytes = Array(
            try! OTLPFixtures.Request.with { $0.resourceSpans = [OTLPFixtures.resourceSpans(resource, spans)] }
                .serializedData()
        )
        var index = 0
        while index + 3 <= bytes.count {
            if bytes[index..<(index + 3)].elementsEqual([0xEF, 0xBF, 0xBF]) {
                bytes.replaceSubrange(index..<(index + 3), with: [0xFF, 0xFF, 0xFF])
            }
            index += 1
        }
        return try! SpanBatch(protobuf: bytes)
    }

    private func generator() -> Generator {
        Fixtures.generator { $0.spanMetrics.enableTargetInfo = true }
    }

    private let resource = [OTLPFixtures.attribute("service.name", "svc"), OTLPFixtures.attribute("cluster", "c")]

    @Test func tempoAllSpanNamesInvalidGivesNothing() {
        let generator = generator()
        let result = generator.push(poisoned(resource, spanNames: ["a\u{FFFF}", "b\u{FFFF}"]), nowMs: Fixtures.nowMs)
        #expect(result.spanMetricsInvalidUTF8 == 2)
        #expect(Fixtures.collect(generator).series.isEmpty)
    }

    @Test func tempoOneValidSpanRegistersTargetInfo() {
        let generator = generator()
        let result = generator.push(poisoned(resource, spanNames: ["a\u{FFFF}", "fine"]), nowMs: Fixtures.nowMs)
        #expect(result.spanMetricsInvalidUTF8 == 1)
        let sink = Fixtures.collect(generator)
        #expect(sink.find("traces_target_info").count == 1)
        #expect(sink.value("traces_spanmetrics_calls_total") == 1)
    }

    @Test func tempoInvalidResourceAttributeDropsOnlyTargetInfo() {
        let generator = generator()
        let bad = resource + [OTLPFixtures.attribute("note", "x\u{FFFF}")]
        let result = generator.push(poisoned(bad, spanNames: ["a", "a"]), nowMs: Fixtures.nowMs)
        #expect(result.spanMetricsInvalidUTF8 == 2)
        let sink = Fixtures.collect(generator)
        #expect(sink.find("traces_target_info").isEmpty)
        #expect(sink.value("traces_spanmetrics_calls_total") == 2)
    }
}

/// Spec §9.1 case 8: batches with different resources keep their job/instance series apart.
struct TargetInfoBatchesTests {
    @Test func tempoLabelsWithDifferentBatches() {
        let generator = Fixtures.generator { $0.spanMetrics.enableTargetInfo = true }
        let plain = [OTLPFixtures.attribute("service.name", "test-service")]
        let namespaced =
            plain + [
                OTLPFixtures.attribute("service.namespace", "test-namespace"),
                OTLPFixtures.attribute("service.instance.id", "abc-instance-id-test-def"),
            ]
        for resource in [plain, namespaced, plain] {
            let spans = (0..<10).map { OTLPFixtures.span(name: "test", seed: $0, nowNanos: Fixtures.nowNanos) }
            _ = generator.push(Fixtures.batch([OTLPFixtures.resourceSpans(resource, spans)]), nowMs: Fixtures.nowMs)
        }
        let sink = Fixtures.collect(generator)
        #expect(sink.value("traces_spanmetrics_calls_total", ["job": "test-service"]) == 20)
        #expect(
            sink.value(
                "traces_spanmetrics_calls_total",
                ["job": "test-namespace/test-service", "instance": "abc-instance-id-test-def"]
            ) == 10
        )
    }
}
