import Foundation
import MetronomeWire
import OTLPProto
import SwiftProtobuf
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
        histograms: NativeHistogramSettings.Mode = .classic,
        configure: (inout ServiceGraphsProcessor.Configuration) -> Void = { _ in }
    ) -> Generator {
        var configuration = Generator.Configuration()
        configuration.processors = processors
        configuration.nativeHistograms.mode = histograms
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
        if expire { results.append(generator.expire(nowMs: nowMs + 60_000).serviceGraphs) }
        return (Fixtures.collect(generator, at: nowMs + 60_000), results)
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
        let on = Self.run(
            Self.generator { $0.enableMessagingSystemLatencyHistogram = true },
            [Self.fixture("trace-with-queue-database")]
        )
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

    @Test func test8_tooManySpans() {
        let generator = Self.generator { $0.maxItems = 1 }
        let (_, results) = Self.run(generator, [Self.fixture("trace-with-queue-database")])
        #expect(results[0].droppedSpans > 0)
        #expect(generator.pending.count == 1)
    }

    @Test func test9_virtualNodes() {
        let generator = Self.generator { $0.waitMs = 0 }
        let (sink, _) = Self.run(generator, [Self.fixture("trace-with-virtual-nodes")], expire: true)
        for (client, server) in [
            ("user", "mythical-server"), ("mythical-requester", "external-payments-platform"),
            ("external-producer", "internal-consumer"),
        ] {
            let labels = ["client": client, "server": server, "connection_type": "virtual_node"]
            #expect(sink.value(Self.total, labels) == 1, "\(client) -> \(server)")
            #expect(sink.value(Self.failed, labels) == 0)
        }
    }

    @Test func test10_exemplarsCarryTheTraceID() throws {
        let generator = Self.generator {
            $0.histogramBuckets = [1]
            $0.waitMs = 0
        }
        let (sink, _) = Self.run(
            generator,
            [Self.fixture("trace-with-queue-database"), Self.fixture("trace-with-virtual-nodes")],
            expire: true
        )
        for labels in [Self.requesterToServer, ["client": "user", "server": "mythical-server"]] {
            for histogram in [Self.client, Self.server] {
                let exemplars = sink.find(histogram + "_bucket", labels).compactMap(\.exemplar)
                #expect(exemplars.count == 1)
                #expect(exemplars.first?.traceID == "af7651916cd43dd8448eb211c80319c")
                #expect(exemplars.first?.label == "traceID")
            }
        }
    }

    @Test func test11_classicHistogramsEmitValuesAndOneExemplarEach() throws {
        // A producer (0–50 ms) and its consumer (60–90 ms): client 0.05 s, server 0.03 s, messaging 0.01 s.
        var producer = TraceBuilder.Span(id: 1, kind: .producer)
        producer.startOffsetNanos = 0
        producer.durationNanos = 50_000_000
        var consumer = TraceBuilder.Span(id: 2, parent: 1, kind: .consumer)
        consumer.startOffsetNanos = 60_000_000
        consumer.durationNanos = 30_000_000
        let generator = Self.generator {
            $0.histogramBuckets = [0.04]
            $0.enableMessagingSystemLatencyHistogram = true
        }
        let (sink, _) = Self.run(generator, [TraceBuilder.batch([("svc-a", [producer]), ("svc-b", [consumer])])])
        let edge = ["client": "svc-a", "server": "svc-b", "connection_type": "messaging_system"]
        #expect(sink.value(Self.total, edge) == 1)
        for (histogram, sum, below) in [(Self.client, 0.05, 0.0), (Self.server, 0.03, 1), (Self.messaging, 0.01, 1)] {
            #expect(abs(try #require(sink.value(histogram + "_sum", edge)) - sum) < 1e-12)
            #expect(sink.value(histogram + "_bucket", edge.merging(["le": "0.04"]) { $1 }) == below)
            #expect(sink.value(histogram + "_bucket", edge.merging(["le": "+Inf"]) { $1 }) == 1)
            let exemplars = sink.find(histogram + "_bucket", edge).compactMap(\.exemplar)
            #expect(exemplars.count == 1)
            #expect(abs((exemplars.first?.value ?? 0) - sum) < 1e-12)
        }
        // Float samples: counters 2 each (initial zero + value) — the failed counter exists from the first request,
        // at 0 (Tempo makes it at the first failure) — and 7 per histogram: count zero and value, sum, and two
        // buckets × (zero + value).
        #expect(sink.series.reduce(0) { $0 + $1.samples.count } == 2 + 2 + 3 * 7)
    }

    @Test(arguments: [NativeHistogramSettings.Mode.native, .both])
    func test11_nativeHistogramsEmitValuesAndOneExemplarEach(mode: NativeHistogramSettings.Mode) throws {
        var producer = TraceBuilder.Span(id: 1, kind: .producer)
        producer.startOffsetNanos = 0
        producer.durationNanos = 50_000_000
        var consumer = TraceBuilder.Span(id: 2, parent: 1, kind: .consumer)
        consumer.startOffsetNanos = 60_000_000
        consumer.durationNanos = 30_000_000
        let generator = Self.generator(histograms: mode) {
            $0.histogramBuckets = [0.04]
            $0.enableMessagingSystemLatencyHistogram = true
        }
        let (sink, _) = Self.run(generator, [TraceBuilder.batch([("svc-a", [producer]), ("svc-b", [consumer])])])
        let edge = ["client": "svc-a", "server": "svc-b", "connection_type": "messaging_system"]
        #expect(sink.value(Self.total, edge) == 1)
        var exemplars = 0
        for (histogram, sum) in [(Self.client, 0.05), (Self.server, 0.03), (Self.messaging, 0.01)] {
            let native = try #require(sink.histograms(histogram, edge).first)
            // An empty histogram at the end of the previous minute, then the value.
            #expect(native.histograms.map(\.count) == [0, 1])
            #expect(abs(native.histograms[1].sum - sum) < 1e-12)
            #expect(native.histograms.allSatisfy { $0.schema == 3 && $0.zeroThreshold == 0x1p-128 })
            exemplars += native.exemplars.count + sink.find(histogram + "_bucket", edge).compactMap(\.exemplar).count
            #expect(sink.find(histogram + "_bucket", edge).isEmpty == (mode == .native))
            if mode == .native { #expect(native.exemplars.map(\.value) == [native.histograms[1].sum]) }
        }
        #expect(exemplars == 3)
        #expect(sink.histogramSeries.reduce(0) { $0 + $1.histograms.count } == 6)
        #expect(sink.series.reduce(0) { $0 + $1.samples.count } == (mode == .native ? 4 : 4 + 3 * 7))
    }

    @Test func subprocessorNames() {
        #expect(ServiceGraphsProcessor.Metrics.enabled(by: ["service-graphs"]) == [.request, .latency])
        #expect(
            ServiceGraphsProcessor.Metrics.enabled(by: ["service-graphs", "service-graphs-connection-info"])
                == [.request, .latency, .connectionInfo]
        )
        #expect(ServiceGraphsProcessor.Metrics.enabled(by: ["service-graphs-request"]) == [.request])
        #expect(ServiceGraphsProcessor.Metrics.enabled(by: ["service-graphs-latency"]) == [.latency])
        #expect(ServiceGraphsProcessor.Metrics.enabled(by: ["span-metrics", "service-graphs-unknown"]).isEmpty)
        #expect(Self.generator(["span-metrics"]).processor(ServiceGraphsProcessor.self) == nil)
    }

    @Test func test12_virtualNodeLabel() {
        let generator = Self.generator {
            $0.waitMs = 0
            $0.enableVirtualNodeLabel = true
        }
        let (sink, _) = Self.run(generator, [Self.fixture("trace-with-virtual-nodes")], expire: true)
        #expect(sink.value(Self.total, ["client": "user", "server": "mythical-server", "virtual_node": "client"]) == 1)
        #expect(
            sink.value(
                Self.total,
                ["client": "mythical-requester", "server": "external-payments-platform", "virtual_node": "server"]
            ) == 1
        )
    }

    @Test func test13_expiredEdges() {
        let generator = Self.generator { $0.waitMs = 0 }
        let (sink, results) = Self.run(generator, [Self.fixture("trace-with-expired-edges")], expire: true)
        #expect(results.last?.expiredByKind == [SpanKind.server: 1])
        #expect(Self.sum(results, \.newEdges) == 4)
        #expect(Self.sum(results, \.droppedSpans) == 0)
        #expect(sink.value(Self.total, ["client": "mythical-requester", "server": "mythical-backend"]) == 1)
        #expect(sink.value(Self.total, ["client": "mythical-requester", "server": "mysql"]) == 1)
        #expect(sink.value(Self.total, ["client": "user", "server": "mythical-server"]) == 1)
    }

    @Test func test14_expiredEdgesByUnmatchedSpanKind() {
        let spans = [
            TraceBuilder.Span(id: 1, kind: .client), TraceBuilder.Span(id: 2, parent: 99, kind: .server),
            TraceBuilder.Span(id: 3, kind: .producer), TraceBuilder.Span(id: 4, parent: 98, kind: .consumer),
        ]
        let generator = Self.generator { $0.waitMs = 0 }
        let (_, results) = Self.run(generator, [TraceBuilder.batch([("svc-a", spans)])], expire: true)
        #expect(
            results.last?.expiredByKind
                == [SpanKind.client: 1, SpanKind.server: 1, SpanKind.producer: 1, SpanKind.consumer: 1]
        )
    }

    static func excludeService(_ service: String) -> (inout ServiceGraphsProcessor.Configuration) -> Void {
        { $0.filterPolicies = [try! Self.servicePolicy(include: false, service)] }
    }

    @Test func test15and16_aFilteredClientDropsItsServerCounterpart() {
        let generator = Self.generator(configure: Self.excludeService("svc-a"))
        let reports = [
            TraceBuilder.batch([("svc-a", [TraceBuilder.Span(id: 1, kind: .client)])]),
            TraceBuilder.batch([("svc-b", [TraceBuilder.Span(id: 2, parent: 1, kind: .server)])]),
        ].map { generator.push($0, nowMs: Self.nowMs) }
        #expect(Self.sum(reports.map(\.serviceGraphs), \.droppedEdges) == 1)
        #expect(reports.map { $0.discarded(by: ServiceGraphsProcessor.name, "service_graphs_filtered") } == [1, 0])
        #expect(Fixtures.collect(generator, at: Self.nowMs + 60_000).find(Self.total).isEmpty)
        #expect(generator.pending.count == 0)
    }

    @Test func test17_aFilteredSpanDropsTheBufferedCounterpart() {
        let generator = Self.generator(configure: Self.excludeService("svc-a"))
        let (_, results) = Self.run(
            generator,
            [
                TraceBuilder.batch([("svc-b", [TraceBuilder.Span(id: 2, parent: 1, kind: .server)])]),
                TraceBuilder.batch([("svc-a", [TraceBuilder.Span(id: 1, kind: .client)])]),
            ]
        )
        #expect(Self.sum(results, \.droppedEdges) == 1)
        #expect(generator.pending.count == 0)
    }

    @Test func test18_aFilteredRootServerSpanLeavesNoMarker() {
        let generator = Self.generator(configure: Self.excludeService("svc-a"))
        Self.run(generator, [TraceBuilder.batch([("svc-a", [TraceBuilder.Span(id: 1, kind: .server)])])])
        #expect(
            generator.processor(ServiceGraphsProcessor.self)?.edges.withShard(0) { state, _, _ in state.markerCount }
                == 0
        )
        let total = (0..<EdgeStore.shardCount).reduce(0) { total, shard in
            total
                + (generator.processor(ServiceGraphsProcessor.self)?.edges.withShard(shard) { state, _, _ in
                    state.markerCount
                } ?? 0)
        }
        #expect(total == 0)
    }

    @Test(arguments: [
        ("trace-with-virtual-nodes", "mythical-database", 0.0),
        ("trace-without-database-name", "mythical-database", 1),
        ("trace-with-queue-database", "postgres", 1),
        ("trace-with-queue-database2", "mythical-database", 1),
        ("trace-with-queue-database3", "mythical-database", 1),
        ("trace-with-queue-database4", "mythical-database:5432", 1),
        ("trace-with-queue-database5", "mythical-database", 1),
        ("trace-with-db-namespace", "mydb", 1),
        ("trace-with-both-db-attributes", "priority-db", 1),
        ("trace-with-db-system-name", "postgresql", 1),
        ("trace-with-db-system-and-system-name", "mssql", 1),
    ])
    func test19_databaseServerNames(fixture: String, server: String, total: Double) {
        let (sink, _) = Self.run(Self.generator(), [Self.fixture(fixture)])
        let labels = ["server": server, "connection_type": "database"]
        #expect((sink.value(Self.total, labels) ?? 0) == total)
        #expect((sink.value(Self.client + "_count", labels) ?? 0) == total)
        #expect((sink.value(Self.server + "_count", labels) ?? 0) == total)
        #expect((sink.value(Self.failed, labels) ?? 0) == 0)
    }

    @Test func test20_prefixDimensionsWithTheVirtualNodeLabel() {
        let generator = Self.generator {
            $0.dimensions = ["db.system", "messaging.system"]
            $0.enableClientServerPrefix = true
            $0.enableVirtualNodeLabel = true
        }
        let (sink, _) = Self.run(generator, [Self.fixture("trace-with-queue-database")])
        #expect(
            sink.value(
                Self.total,
                Self.requesterToRecorder.merging([
                    "client_messaging_system": "rabbitmq", "server_messaging_system": "rabbitmq",
                ]) { $1 }
            ) == 1
        )
        #expect(sink.value(Self.total, Self.serverToDatabase.merging(["client_db_system": "postgresql"]) { $1 }) == 1)
    }

    @Test func test21_databaseNameAttributes() {
        let generator = Self.generator { $0.databaseNameAttributes = ["db.system"] }
        let (sink, _) = Self.run(generator, [Self.fixture("trace-with-queue-database")])
        #expect(sink.value(Self.total, ["client": "mythical-server", "server": "postgresql"]) == 1)
    }

    @Test func test22_connectionInfo() {
        let fixture = Self.fixture("trace-with-queue-database")
        let edges = [Self.requesterToServer, Self.serverToDatabase, Self.requesterToRecorder]
        // (a) on: a presence gauge on every edge, counters unchanged.
        let on = Self.run(Self.generator([ServiceGraphsProcessor.name, "service-graphs-connection-info"]), [fixture])
        for edge in edges {
            #expect(on.sink.value(Self.connectionInfo, edge) == 1)
            #expect(on.sink.value(Self.total, edge) == 1)
        }
        // (b) off by default.
        #expect(Self.run(Self.generator(), [fixture]).sink.find(Self.connectionInfo).isEmpty)
        // (c) a multiplier doubles the counters, not the gauge.
        let multiplied = Self.run(
            Self.generator([ServiceGraphsProcessor.name, "service-graphs-connection-info"]) {
                $0.spanMultiplierKey = "sampler.param"
            },
            [
                TraceBuilder.batch(
                    [
                        ("svc-a", [TraceBuilder.Span(id: 1, kind: .client, attributes: ["sampler.param": 0.5])]),
                        (
                            "svc-b",
                            [TraceBuilder.Span(id: 2, parent: 1, kind: .server, attributes: ["sampler.param": 0.5])]
                        ),
                    ]
                )
            ]
        )
        #expect(multiplied.sink.value(Self.total, ["client": "svc-a", "server": "svc-b"]) == 2)
        #expect(multiplied.sink.value(Self.connectionInfo, ["client": "svc-a", "server": "svc-b"]) == 1)
        // (d) only connection info.
        let only = Self.run(Self.generator(["service-graphs-connection-info"]), [fixture])
        #expect(only.sink.value(Self.connectionInfo, Self.requesterToServer) == 1)
        #expect(only.sink.find(Self.total).isEmpty && only.sink.find(Self.client + "_count").isEmpty)
        // (e) virtual nodes too.
        let virtual = Self.run(
            Self.generator(["service-graphs-connection-info"]) { $0.waitMs = 0 },
            [Self.fixture("trace-with-virtual-nodes")],
            expire: true
        )
        #expect(virtual.sink.value(Self.connectionInfo, ["client": "user", "server": "mythical-server"]) == 1)
    }

    @Test func test23_aNonRootServerSpansPeerDoesNotChangeTheSeries() {
        let (sink, _) = Self.run(
            Self.generator(),
            [
                TraceBuilder.batch(
                    [
                        ("svc-a", [TraceBuilder.Span(id: 1, kind: .client)]),
                        (
                            "svc-b",
                            [
                                TraceBuilder.Span(
                                    id: 2,
                                    parent: 1,
                                    kind: .server,
                                    attributes: ["peer.service": "external-peer"]
                                )
                            ]
                        ),
                    ]
                )
            ]
        )
        #expect(sink.value(Self.total, ["client": "svc-a", "server": "svc-b"]) == 1)
        #expect(!sink.series.contains { $0.labels.values.contains("external-peer") })
    }

    @Test func test24_theServersPeerSurvivesAClientDatabaseUpdate() {
        let generator = Self.generator { $0.waitMs = 0 }
        let (sink, results) = Self.run(
            generator,
            [
                TraceBuilder.batch([
                    (
                        "svc-b",
                        [
                            TraceBuilder.Span(
                                id: 2,
                                parent: 1,
                                kind: .server,
                                attributes: ["peer.service": "external-peer"]
                            )
                        ]
                    )
                ]),
                TraceBuilder.batch([
                    (
                        "svc-a",
                        [
                            TraceBuilder.Span(
                                id: 1,
                                kind: .client,
                                attributes: ["db.namespace": "db", "server.address": ""]
                            )
                        ]
                    )
                ]),
            ],
            expire: true
        )
        #expect(
            sink.value(Self.total, ["client": "svc-a", "server": "external-peer", "connection_type": "virtual_node"])
                == 1
        )
        #expect(results.allSatisfy { $0.expiredByKind.isEmpty })
    }

    @Test func test25_dbSystemNameAsPeerAttribute() {
        for key in ["db.system", "db.system.name"] {
            let generator = Self.generator {
                $0.waitMs = 0
                $0.databaseNameAttributes = []
            }
            let (sink, _) = Self.run(
                generator,
                [
                    TraceBuilder.batch([
                        ("svc-a", [TraceBuilder.Span(id: 1, kind: .client, attributes: [key: "postgresql"])])
                    ])
                ],
                expire: true
            )
            #expect(
                sink.value(Self.total, ["client": "svc-a", "server": "postgresql", "connection_type": "virtual_node"])
                    == 1
            )
        }
    }

    @Test func test26_anEmptyServiceNameServerInfersTheVirtualNodeFromItsPeer() {
        for (clientKind, serverKind) in [(TraceBuilder.Kind.client, TraceBuilder.Kind.server), (.producer, .consumer)] {
            for clientFirst in [true, false] {
                let client = TraceBuilder.batch([("svc-a", [TraceBuilder.Span(id: 1, kind: clientKind)])])
                let server = TraceBuilder.batch(
                    [
                        (
                            "",
                            [
                                TraceBuilder.Span(
                                    id: 2,
                                    parent: 1,
                                    kind: serverKind,
                                    attributes: ["peer.service": "external-peer"]
                                )
                            ]
                        )
                    ]
                )
                let generator = Self.generator { $0.waitMs = 0 }
                let (sink, _) = Self.run(generator, clientFirst ? [client, server] : [server, client], expire: true)
                #expect(
                    sink.value(
                        Self.total,
                        ["client": "svc-a", "server": "external-peer", "connection_type": "virtual_node"]
                    ) == 1
                )
            }
        }
    }

    @Test func halvesPairAcrossBatchesAndTheStoreEmpties() {
        let generator = Self.generator()
        let (sink, results) = Self.run(
            generator,
            [
                TraceBuilder.batch([("svc-b", [TraceBuilder.Span(id: 2, parent: 1, kind: .server)])]),
                TraceBuilder.batch([("svc-a", [TraceBuilder.Span(id: 1, kind: .client)])]),
            ]
        )
        #expect(results.map(\.newEdges) == [1, 0])
        #expect(sink.value(Self.total, ["client": "svc-a", "server": "svc-b"]) == 1)
        #expect(generator.pending.count == 0 && generator.pending.bytes == 0)
    }

    @Test func aResourceWithoutServiceNameIsSkipped() {
        let generator = Self.generator()
        let (_, results) = Self.run(generator, [TraceBuilder.batch([(nil, [TraceBuilder.Span(id: 1, kind: .client)])])])
        #expect(results[0].newEdges == 0 && generator.pending.count == 0)
    }

    @Test func serverToServerEdgesAreOptIn() {
        // svc-a SERVER (id 1) → svc-b SERVER (id 2, parent 1), as behind an uninstrumented proxy.
        let spans = [
            ("svc-b", [TraceBuilder.Span(id: 2, parent: 1, kind: .server)]),
            ("svc-a", [TraceBuilder.Span(id: 1, kind: .server)]),
        ]
        for order in [spans, spans.reversed()] {
            let on = Self.generator {
                $0.enableServerToServerEdges = true
                $0.waitMs = 0
            }
            let (sink, results) = Self.run(on, [TraceBuilder.batch(order)], expire: true)
            #expect(sink.value(Self.total, ["client": "svc-a", "server": "svc-b"]) == 1)
            #expect(sink.value(Self.total, ["client": "user", "server": "svc-a"]) == 1, "the root keeps its user edge")
            #expect(results.allSatisfy { $0.expiredByKind.isEmpty }, "an unused parent offer expires silently")
        }
        let off = Self.run(Self.generator { $0.waitMs = 0 }, [TraceBuilder.batch(spans)], expire: true)
        #expect(off.sink.find(Self.total, ["client": "svc-a", "server": "svc-b"]).isEmpty)
        #expect(off.results.last?.expiredByKind == [SpanKind.server: 1])
    }

    @Test func nestedServerSpansOfOneServiceMakeNoServerToServerEdge() {
        let generator = Self.generator {
            $0.enableServerToServerEdges = true
            $0.waitMs = 0
        }
        let spans = [TraceBuilder.Span(id: 1, kind: .server), TraceBuilder.Span(id: 3, parent: 1, kind: .server)]
        let (sink, results) = Self.run(generator, [TraceBuilder.batch([("svc-a", spans)])], expire: true)
        #expect(sink.find(Self.total, ["client": "svc-a", "server": "svc-a"]).isEmpty)
        #expect(results.allSatisfy { $0.expiredByKind.isEmpty })
    }

    @Test func pendingEdgesExpireOnlyAfterWait() {
        let generator = Self.generator()
        let client = TraceBuilder.batch([("svc-a", [TraceBuilder.Span(id: 1, kind: .client)])])
        _ = generator.push(client, nowMs: Self.nowMs)
        #expect(generator.expire(nowMs: Self.nowMs + 5_000).serviceGraphs.expiredByKind.isEmpty == true)
        #expect(generator.pending.count == 1)
        #expect(generator.expire(nowMs: Self.nowMs + 11_000).serviceGraphs.expiredByKind == [SpanKind.client: 1])
        #expect(generator.pending.count == 0)
    }

    @Test func countersContinueAcrossACheckpoint() throws {
        let first = Self.generator()
        Self.run(first, [Self.fixture("trace-with-queue-database")])
        let restored = Self.generator()
        #expect(
            restored.restore(Fixtures.checkpoint(first).decoded, nowMs: Self.nowMs) == [ServiceGraphsProcessor.name]
        )
        let (sink, _) = Self.run(restored, [Self.fixture("trace-with-queue-database")])
        #expect(sink.value(Self.total, Self.requesterToServer) == 2)
    }
}

/// Small traces built in code: one trace, spans with numeric ids, as OTLP protobuf.
enum TraceBuilder {
    enum Kind: Int {
        case server = 2, client = 3, producer = 4, consumer = 5
    }

    struct Span {
        var id: UInt64
        var parent: UInt64 = 0
        var kind: Kind
        var attributes: [String: any Sendable] = [:]
        var startOffsetNanos: UInt64 = 0
        var durationNanos: UInt64 = 10_000_000
    }

    static func spanID(_ id: UInt64) -> Data { withUnsafeBytes(of: id.bigEndian) { Data($0) } }

    /// One resource per entry (`service.name` = the name; nil for none), all spans in one trace.
    static func batch(_ resources: [(service: String?, spans: [Span])]) -> SpanBatch {
        let trace = Data((1...16).map { UInt8($0) })
        let start = UInt64(1_700_000_000_000_000_000)
        let resourceSpans = resources.map { resource in
            OTLPFixtures.ResourceSpans.with {
                if let service = resource.service {
                    $0.resource.attributes = [OTLPFixtures.attribute("service.name", service)]
                }
                $0.scopeSpans = [
                    .with {
                        $0.spans = resource.spans.map { span in
                            OTLPFixtures.Span.with {
                                $0.traceID = trace
                                $0.spanID = spanID(span.id)
                                if span.parent != 0 { $0.parentSpanID = spanID(span.parent) }
                                $0.name = "op"
                                $0.kind = .init(rawValue: span.kind.rawValue)!
                                $0.startTimeUnixNano = start + span.startOffsetNanos
                                $0.endTimeUnixNano = start + span.startOffsetNanos + span.durationNanos
                                $0.attributes = span.attributes.sorted { $0.key < $1.key }.map { key, value in
                                    .with {
                                        $0.key = key
                                        if let double = value as? Double {
                                            $0.value.doubleValue = double
                                        } else {
                                            $0.value.stringValue = "\(value)"
                                        }
                                    }
                                }
                            }
                        }
                    }
                ]
            }
        }
        return Fixtures.batch(resourceSpans)
    }
}
