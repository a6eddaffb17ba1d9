import Foundation
import MetronomeWire
import OTLPProto
import Testing

@testable import MetronomeGenerator

/// Spec §9.2: Tempo's service-graph tests, on OTLP/JSON fixtures written from the spec's descriptions
/// (`Fixtures/ServiceGraphs`), plus the pairing store's own cases and Metronome's server-to-server edges.
struct ServiceGraphsTests {
    static let total = "traces_service_graph_request_total"
    static let failed = "traces_service_graph_request_failed_total"
    static let client = "traces_service_graph_request_client_seconds"
    static let server = "traces_service_graph_request_server_seconds"
    static let messaging = "traces_service_graph_request_messaging_system_seconds"
    static let connectionInfo = "traces_service_graph_connection_info"
    static let nowMs = Int64(1_700_000_001_000)

    static func fixture(_ name: String) -> SpanBatch {
        let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures/ServiceGraphs")!
        return try! SpanBatch(protobuf: OTLPJSONTranscoder.protobuf(fromJSON: Data(contentsOf: url)))
    }

    static func generator(
        _ processors: [String] = [ServiceGraphsProcessor.name],
        configure: (inout ServiceGraphsProcessor.Configuration) -> Void = { _ in }
    ) -> Generator {
        var configuration = Generator.Configuration()
        configuration.processors = processors
        configuration.registry.instanceLabel = "test-host"
        configure(&configuration.serviceGraphs)
        return Generator(tenant: .singleTenant, configuration: configuration)
    }

    /// Pushes the fixtures, optionally expires everything, and collects.
    @discardableResult
    static func run(
        _ generator: Generator,
        _ batches: [SpanBatch],
        expire: Bool = false
    ) -> (sink: CapturingSink, results: [ServiceGraphsProcessor.Result]) {
        var results = batches.map { generator.push($0, nowMs: nowMs).serviceGraphs }
        if expire, let expired = generator.expireEdges(nowMs: nowMs + 3_600_000) { results.append(expired) }
        return (Fixtures.collect(generator, at: nowMs + 3_600_000), results)
    }

    static func sum(_ results: [ServiceGraphsProcessor.Result], _ field: KeyPath<ServiceGraphsProcessor.Result, Int>)
        -> Int
    {
        results.reduce(0) { $0 + $1[keyPath: field] }
    }

    static let requesterToServer = ["client": "mythical-requester", "server": "mythical-server"]
    static let serverToDatabase = ["client": "mythical-server", "server": "postgres", "connection_type": "database"]
    static let requesterToRecorder = [
        "client": "mythical-requester", "server": "mythical-recorder", "connection_type": "messaging_system",
    ]

    @Test func test1_semconvKeysAnd2_defaultDatabaseAttributeOrder() {
        let configuration = ServiceGraphsProcessor.Configuration()
        #expect(configuration.peerAttributes == ["peer.service", "db.name", "db.system", "db.system.name"])
        #expect(configuration.databaseNameAttributes == ["db.namespace", "db.name", "db.system", "db.system.name"])
        #expect(configuration.waitMs == 10_000)
        #expect(configuration.histogramBuckets == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8])
    }

    @Test func test3_serviceGraphs() throws {
        let generator = Self.generator {
            $0.histogramBuckets = [0.04]
            $0.dimensions = ["beast", "god"]
            $0.enableMessagingSystemLatencyHistogram = true
        }
        let (sink, _) = Self.run(generator, [Self.fixture("trace-with-queue-database")])
        let edge = Self.requesterToServer.merging(["beast": "manticore", "god": "zeus"]) { $1 }
        #expect(sink.value(Self.total, edge) == 1)
        #expect(sink.value(Self.failed, edge) == 0)
        #expect(sink.value(Self.client + "_bucket", edge.merging(["le": "0.04"]) { $1 }) == 0)
        #expect(sink.value(Self.client + "_bucket", edge.merging(["le": "+Inf"]) { $1 }) == 1)
        #expect(sink.value(Self.client + "_count", edge) == 1)
        #expect(abs(try #require(sink.value(Self.client + "_sum", edge)) - 0.045834) < 1e-9)
        #expect(sink.value(Self.server + "_bucket", edge.merging(["le": "0.04"]) { $1 }) == 1)
        #expect(abs(try #require(sink.value(Self.server + "_sum", edge)) - 0.029986) < 1e-9)

        #expect(sink.value(Self.total, Self.serverToDatabase) == 1)
        #expect(abs(try #require(sink.value(Self.client + "_sum", Self.serverToDatabase)) - 0.023781) < 1e-9)
        #expect(abs(try #require(sink.value(Self.server + "_sum", Self.serverToDatabase)) - 0.023781) < 1e-9)
        #expect(sink.value(Self.server + "_bucket", Self.serverToDatabase.merging(["le": "0.04"]) { $1 }) == 1)

        let messaging = Self.requesterToRecorder.merging(["god": ""]) { $1 }.filter { !$0.value.isEmpty }
        #expect(sink.value(Self.total, messaging) == 1)
        #expect(abs(try #require(sink.value(Self.client + "_sum", messaging)) - 0.0000688) < 1e-12)
        #expect(abs(try #require(sink.value(Self.server + "_sum", messaging)) - 0.000693) < 1e-12)
        #expect(sink.value(Self.messaging + "_count", messaging) == 1)
        #expect(sink.value(Self.messaging + "_sum", messaging) == 0.0098816)
    }

    @Test func test4_prefixDimensions() {
        let generator = Self.generator {
            $0.dimensions = ["beast", "god"]
            $0.enableClientServerPrefix = true
        }
        let (sink, _) = Self.run(generator, [Self.fixture("trace-with-queue-database")])
        let labels = Self.requesterToServer.merging([
            "client_beast": "manticore", "server_beast": "manticore", "client_god": "ares", "server_god": "zeus",
        ]) { $1 }
        #expect(sink.value(Self.total, labels) == 1)
    }

    @Test func test5_messagingSystemLatencyHistogramOnlyWhenEnabled() {
        let on = Self.run(Self.generator { $0.enableMessagingSystemLatencyHistogram = true }, [Self.fixture("trace-with-queue-database")])
        #expect(on.sink.value(Self.messaging + "_count", Self.requesterToRecorder) == 1)
        let off = Self.run(Self.generator(), [Self.fixture("trace-with-queue-database")])
        #expect(off.sink.find(Self.messaging + "_count").isEmpty)
    }

    @Test func test6_failedRequests() {
        let (sink, _) = Self.run(Self.generator(), [Self.fixture("trace-with-failed-requests")])
        #expect(sink.value(Self.total, Self.requesterToServer) == 1)
        #expect(sink.value(Self.failed, Self.requesterToServer) == 1)
        #expect(sink.value(Self.total, Self.serverToDatabase) == 1)
        #expect(sink.value(Self.failed, Self.serverToDatabase) == 1)
    }

    static func servicePolicy(include: Bool, _ service: String) throws -> FilterPolicy {
        let match = try PolicyMatch(matchType: .strict, attributes: [("resource.service.name", .string(service))])
        return try include ? FilterPolicy(include: match) : FilterPolicy(exclude: match)
    }

    @Test func test7_applyFilterPolicy() throws {
        let cases: [([FilterPolicy], [Double])] = [
            ([], [1, 1, 1]),
            ([try Self.servicePolicy(include: true, "mythical-requester")], [0, 0, 0]),
            ([try Self.servicePolicy(include: true, "mythical-server")], [0, 1, 0]),
            ([try Self.servicePolicy(include: false, "mythical-requester")], [0, 1, 0]),
        ]
        for (policies, expected) in cases {
            let generator = Self.generator { $0.filterPolicies = policies }
            let (sink, _) = Self.run(generator, [Self.fixture("trace-with-queue-database")])
            let values = [Self.requesterToServer, Self.serverToDatabase, Self.requesterToRecorder].map {
                sink.value(Self.total, $0) ?? 0
            }
            #expect(values == expected, "\(policies)")
        }
    }
}
