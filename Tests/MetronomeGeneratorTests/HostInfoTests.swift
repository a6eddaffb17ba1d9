import MetronomeWire
import OTLPProto
import SwiftProtobuf
import Testing

@testable import MetronomeGenerator

/// Spec §4 and §9.3: the host-info processor.
struct HostInfoTests {
    static let metric = "traces_host_info"

    static func generator(_ configure: (inout HostInfoProcessor.Configuration) -> Void = { _ in }) -> Generator {
        var configuration = Generator.Configuration()
        configuration.processors = [HostInfoProcessor.name]
        configuration.registry.instanceLabel = "test-host"
        configure(&configuration.hostInfo)
        return Generator(tenant: .singleTenant, configuration: configuration)
    }

    static func batch(_ resource: [(String, String)], spans: Int = 1) -> SpanBatch {
        Fixtures.makeBatch(spans, resourceAttributes: resource.map { OTLPFixtures.attribute($0.0, $0.1) })
    }

    @Test func test_HostInfo_eachHostIsAGaugeOfOne() {
        let generator = Self.generator()
        _ = generator.push(Self.batch([("host.id", "test0")]), nowMs: Fixtures.nowMs)
        _ = generator.push(Self.batch([("host.id", "test1")]), nowMs: Fixtures.nowMs)
        let sink = Fixtures.collect(generator)
        for host in ["test0", "test1"] {
            #expect(sink.value(Self.metric, ["grafana_host_id": host, "host_source": "host.id"]) == 1)
        }
        #expect(sink.find(Self.metric).count == 2)
        #expect(sink.find(Self.metric).allSatisfy { $0.labels["__metrics_gen_instance"] == "test-host" })
    }

    @Test func test_HostInfoHostSource_theFirstIdentifierPresentWins() {
        let generator = Self.generator()
        _ = generator.push(Self.batch([("host.id", "id-0"), ("k8s.node.name", "node-0")]), nowMs: Fixtures.nowMs)
        _ = generator.push(Self.batch([("host.id", "id-1")]), nowMs: Fixtures.nowMs)
        let sink = Fixtures.collect(generator)
        #expect(sink.value(Self.metric, ["grafana_host_id": "node-0", "host_source": "k8s.node.name"]) == 1)
        #expect(sink.value(Self.metric, ["grafana_host_id": "id-1", "host_source": "host.id"]) == 1)
        #expect(sink.find(Self.metric).count == 2)
    }

    @Test func resourcesWithoutAHostOrWithAnEmptyOneMakeNoSeries() {
        let generator = Self.generator()
        _ = generator.push(Self.batch([("host.name", "x"), ("host.id", "")]), nowMs: Fixtures.nowMs)
        #expect(Fixtures.collect(generator).find(Self.metric).isEmpty)
    }

    @Test func aConfiguredIdentifierAndNameApply() throws {
        let generator = Self.generator {
            $0.hostIdentifiers = ["cloud.instance.id"]
            $0.metricName = "hosts"
        }
        _ = generator.push(Self.batch([("cloud.instance.id", "i-1"), ("host.id", "h")]), nowMs: Fixtures.nowMs)
        let sink = Fixtures.collect(generator)
        #expect(sink.value("hosts", ["grafana_host_id": "i-1", "host_source": "cloud.instance.id"]) == 1)
        var bad = HostInfoProcessor.Configuration()
        bad.metricName = "0bad"
        #expect(throws: ConfigurationProblem.self) { try bad.validate() }
        bad = HostInfoProcessor.Configuration()
        bad.hostIdentifiers = []
        #expect(throws: ConfigurationProblem.self) { try bad.validate() }
    }

    @Test func invalidUTF8IsCountedAsDiscardedByHostInfo() {
        let generator = Self.generator()
        let request = OTLPFixtures.Request.with {
            $0.resourceSpans = [
                OTLPFixtures.resourceSpans(
                    [
                        .with {
                            $0.key = "host.id"
                            $0.value.stringValue = "marker-host-value"
                        }
                    ],
                    [OTLPFixtures.span(name: "s", seed: 1, nowNanos: Fixtures.nowNanos)]
                )
            ]
        }
        var bytes = Array(try! request.serializedData())
        // Make the value invalid UTF-8 (same length).
        let marker = Array("marker-host-value".utf8)
        let index = bytes.indices.first { Array(bytes[$0..<min(bytes.count, $0 + marker.count)]) == marker }!
        bytes[index] = 0xFF
        let report = generator.push(try! SpanBatch(protobuf: bytes), nowMs: Fixtures.nowMs)
        #expect(report.discarded(by: HostInfoProcessor.name, "invalid_utf8") == 1)
        #expect(Fixtures.collect(generator).find(Self.metric).isEmpty)
    }

    @Test func idleHostsEndWithAStalenessMarkerAndPushesRefreshThem() {
        let generator = Self.generator()
        _ = generator.push(Self.batch([("host.id", "h")]), nowMs: Fixtures.nowMs)
        _ = Fixtures.collect(generator)
        // Refreshed by a push 10 minutes later: still alive after 15 minutes from the first.
        _ = generator.push(Self.batch([("host.id", "h")]), nowMs: Fixtures.nowMs + 10 * 60_000)
        #expect(Fixtures.collect(generator, at: Fixtures.nowMs + 16 * 60_000).value(Self.metric) == 1)
        let ended = Fixtures.collect(generator, at: Fixtures.nowMs + 26 * 60_000).find(Self.metric)
        #expect(ended.map { $0.samples.map(\.isStaleMarker) } == [[true]])
    }
}
